#!/usr/bin/env bash
# run-smoke.sh - start the loopback mail providers in a temporary directory, run the
# real-client smoke test against them, stop them. Exit code = the smoke test's.
#
# Needs root the first time (installs postfix/dovecot) and for fault injection.
# MAILTEST_KEEP=1 keeps the directory (logs, mail) even on success; on failure it is
# always kept and its path printed.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

need_python() {
  command -v python3 >/dev/null 2>&1 && return 0
  ((EUID == 0)) || { echo "python3 is missing" >&2; exit 1; }
  apt-get -o DPkg::Lock::Timeout=120 update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=120 install -y -q python3 >/dev/null
}

main() {
  need_python
  # Short path: Unix socket paths below DIR must stay under 108 bytes.
  local dir rc=0
  dir=$(mktemp -d /tmp/mailtest.XXXXXX)
  # shellcheck disable=SC2317  # called via trap
  cleanup() {
    bash "$HERE/mailservers-down.sh" "$dir" >/dev/null 2>&1 || bash "$HERE/mailservers-down.sh" "$dir" || true
    if ((rc == 0)) && [[ ${MAILTEST_KEEP:-0} != 1 ]]; then
      rm -rf -- "$dir"
    else
      echo "run-smoke: harness directory kept: $dir (logs in $dir/logs)" >&2
    fi
  }
  trap cleanup EXIT

  local t0 t1
  t0=$(date +%s%N)
  bash "$HERE/mailservers-up.sh" "$dir" >/dev/null || { rc=$?; echo "run-smoke: mailservers-up.sh failed" >&2; exit "$rc"; }
  t1=$(date +%s%N)
  echo "run-smoke: mailservers-up.sh took $(((t1 - t0) / 1000000)) ms"
  python3 "$HERE/smoke_test.py" "$dir" || rc=$?
  if ((rc != 0)); then
    echo "run-smoke: FAILED (exit $rc); last server log lines:" >&2
    tail -n 5 "$dir"/logs/*-postfix.log "$dir"/logs/*-dovecot.log >&2 || true
  fi
  exit "$rc"
}

main "$@"
