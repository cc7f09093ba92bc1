#!/usr/bin/env bash
# mailservers-down.sh DIR [--purge]
#
# Stops the Postfix and Dovecot instances that mailservers-up.sh started for DIR,
# and only those: processes are found through the pid files under DIR and verified
# (Postfix master: cwd = DIR's queue directory; Dovecot master: started with
# DIR's dovecot.conf), and their children are recorded before signalling and
# matched by start time. The system's own postfix/dovecot are never touched.
# Mail, logs, certificates and passwords stay in DIR unless --purge is given,
# which then deletes DIR (only if it carries the harness marker).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"

usage() { echo "usage: $0 DIR [--purge]   (or: $0 -d DIR [-p|--purge])" >&2; exit 2; }

main() {
  local purge=0 args=()
  for a in "$@"; do
    case $a in -p | --purge) purge=1 ;; *) args+=("$a") ;; esac
  done
  ((${#args[@]})) || usage
  local d=${args[0]}
  [[ $d == -d ]] && d=${args[1]:-}
  # Nothing to stop in a directory that does not exist (and do not create it).
  [[ -n $d ]] || usage
  [[ -d $d ]] || { mt_log "$d does not exist; nothing to stop"; exit 0; }
  mt_parse_dir "${args[@]}" || usage
  ((${#MT_ARGS[@]} == 0)) || usage
  mt_require_marker

  # Stop all providers in parallel (a Dovecot master needs up to ~1 s to exit).
  local dom pids=() rc=0
  while read -r dom; do
    { mt_pf_stop "$dom"; mt_dc_stop "$dom"; } & pids+=($!)
  done < <(mt_providers)
  for p in "${pids[@]}"; do wait "$p" || rc=1; done

  # Verify: nothing of ours may remain.
  while read -r dom; do
    if mt_pf_master_pid "$dom" >/dev/null || mt_dc_master_pid "$dom" >/dev/null; then
      mt_log "provider $dom is still running"; rc=1
    fi
  done < <(mt_providers)
  ((rc == 0)) || mt_die "could not stop everything under $MT_DIR"

  if ((purge)); then
    rm -rf -- "$MT_DIR"
    mt_log "stopped and deleted $MT_DIR"
  else
    mt_log "stopped (data kept in $MT_DIR)"
  fi
}

main "$@"
