#!/usr/bin/env bash
# mailservers-fault.sh DIR COMMAND [ARGS] [PROVIDER]
#
# Fault injection for the loopback mail providers started by mailservers-up.sh.
# PROVIDER is a domain (b.test), its label (b) or its IP; omitted = all providers.
#
#   smtp-tempfail on|off [PROVIDER]
#       on:  every RCPT on every SMTP port of the provider (submission 2587/2465 AND
#            inbound MX 2525, i.e. deliveries from other providers) is answered
#            "451 4.3.0 ...". Submitting clients see a 4xx; other providers defer
#            the mail and retry (backoff 2..10 s).
#       off: back to normal, then flushes every provider's queue so deferred mail
#            goes out at once.
#       Takes effect at the next RCPT, also in already-open SMTP sessions (the
#       policy service re-reads the flag per request; no postfix reload involved).
#   smtp-fault 'RULE' [PROVIDER]   append a rule (see faultpolicy.sh), e.g.
#            'bob@b.test 451 4.3.0 later', '@b.test 421 4.3.2 bye', 'data:* 452 4.3.1 full'
#   smtp-fault-clear [PROVIDER]    remove all rules and the tempfail flag
#   imap-restart [PROVIDER]        restart Dovecot: open IMAP connections are cut (EOF),
#                                  new ones are accepted again when this returns
#   imap-stop | imap-start [PROVIDER]
#   smtp-stop | smtp-start [PROVIDER]   stop/start Postfix (connection refused meanwhile)
#   flush [PROVIDER]               retry deferred mail now (postqueue -f)
#   queue [PROVIDER]               show queued mail (postqueue -j, JSON lines)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"

usage() {
  sed -n '2,30p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

# set_targets [PROVIDER]: TARGETS = the domains a command applies to.
set_targets() {
  TARGETS=()
  if [[ -n ${1:-} ]]; then
    local d
    d=$(mt_resolve_provider "$1") || exit 1
    TARGETS=("$d")
  else
    mapfile -t TARGETS < <(mt_providers)
  fi
  ((${#TARGETS[@]})) || mt_die "no providers under $MT_DIR"
}

# wait_port_state IP PORT up|down: poll /proc/net/tcp (max 10 s).
wait_port_state() {
  local ip=$1 port=$2 want=$3 deadline=$((SECONDS + 10))
  while :; do
    local now=down
    if mt_listening "$ip" "$port"; then now=up; fi
    if [[ $now == "$want" ]]; then return 0; fi
    ((SECONDS < deadline)) || mt_die "$ip:$port did not go $want within 10 s"
    sleep 0.02
  done
}

provider_var() { # provider_var DOMAIN NAME -> value from provider.env
  local DOMAIN="" IP="" LABEL=""
  # shellcheck disable=SC1090
  . "$MT_DIR/providers/$1/provider.env"
  printf '%s\n' "${!2}"
}

env_port() { # env_port NAME DEFAULT -> port from harness.env
  local v
  v=$(sed -n "s/^$1=//p" "$MT_DIR/harness.env" 2>/dev/null | head -n 1)
  printf '%s\n' "${v:-$2}"
}

imap_wait() {
  local dom=$1 want=$2 ip
  ip=$(provider_var "$dom" IP)
  wait_port_state "$ip" "$(env_port MAILTEST_IMAP_PORT 1143)" "$want"
  wait_port_state "$ip" "$(env_port MAILTEST_IMAPS_PORT 1993)" "$want"
}

smtp_wait() {
  local dom=$1 want=$2 ip p
  ip=$(provider_var "$dom" IP)
  for p in MAILTEST_SMTP_PORT:2525 MAILTEST_SUBMISSION_PORT:2587 MAILTEST_SUBMISSIONS_PORT:2465; do
    wait_port_state "$ip" "$(env_port "${p%:*}" "${p#*:}")" "$want"
  done
}

main() {
  mt_parse_dir "$@" || usage
  mt_require_marker
  set -- "${MT_ARGS[@]}"
  local cmd=${1:-} arg="" dom
  shift || true
  case $cmd in smtp-tempfail | smtp-fault) arg=${1:-}; shift || true ;; esac
  (($# <= 1)) || usage
  set_targets "${1:-}"
  case $cmd in
    smtp-tempfail)
      local mode=$arg
      [[ $mode == on || $mode == off ]] || usage
      for dom in "${TARGETS[@]}"; do
        if [[ $mode == on ]]; then
          echo "451 4.3.0 Temporary failure, please try again later (mailtest smtp-tempfail)" \
            > "$MT_DIR/providers/$dom/faults/smtp-tempfail.tmp"
          chmod 0644 "$MT_DIR/providers/$dom/faults/smtp-tempfail.tmp"
          mv -f "$MT_DIR/providers/$dom/faults/smtp-tempfail.tmp" "$MT_DIR/providers/$dom/faults/smtp-tempfail"
        else
          rm -f "$MT_DIR/providers/$dom/faults/smtp-tempfail"
        fi
      done
      if [[ $mode == off ]]; then
        # Deferred mail anywhere (e.g. a.test holding mail for b.test) goes out now.
        for dom in $(mt_providers); do mt_pf_flush "$dom"; done
      fi
      ;;
    smtp-fault)
      local rule=$arg
      [[ -n $rule ]] || usage
      for dom in "${TARGETS[@]}"; do
        printf '%s\n' "$rule" >> "$MT_DIR/providers/$dom/faults/smtp-rules"
        chmod 0644 "$MT_DIR/providers/$dom/faults/smtp-rules"
      done
      ;;
    smtp-fault-clear)
      for dom in "${TARGETS[@]}"; do
        rm -f "$MT_DIR/providers/$dom/faults/smtp-rules" "$MT_DIR/providers/$dom/faults/smtp-tempfail"
      done
      for dom in $(mt_providers); do mt_pf_flush "$dom"; done
      ;;
    imap-restart)
      for dom in "${TARGETS[@]}"; do
        mt_dc_stop "$dom"
        imap_wait "$dom" down
        mt_dc_start "$dom"
        imap_wait "$dom" up
        # Postfix's cached LMTP connection to the old Dovecot is gone; mail that
        # got deferred meanwhile is retried now instead of after the backoff.
        mt_pf_flush "$dom"
      done
      ;;
    imap-stop)
      for dom in "${TARGETS[@]}"; do mt_dc_stop "$dom"; imap_wait "$dom" down; done ;;
    imap-start)
      for dom in "${TARGETS[@]}"; do
        mt_dc_master_pid "$dom" >/dev/null || mt_dc_start "$dom"
        imap_wait "$dom" up; mt_pf_flush "$dom"
      done ;;
    smtp-stop)
      for dom in "${TARGETS[@]}"; do mt_pf_stop "$dom"; smtp_wait "$dom" down; done ;;
    smtp-start)
      for dom in "${TARGETS[@]}"; do
        mt_pf_master_pid "$dom" >/dev/null || mt_pf_start "$dom"
        smtp_wait "$dom" up
      done
      for dom in $(mt_providers); do mt_pf_flush "$dom"; done ;;
    flush)
      for dom in "${TARGETS[@]}"; do mt_pf_flush "$dom"; done ;;
    queue)
      for dom in "${TARGETS[@]}"; do
        mt_pf_master_pid "$dom" >/dev/null || mt_die "postfix for $dom is not running"
        postqueue -c "$(mt_pf_conf "$dom")" -j </dev/null
      done ;;
    *) usage ;;
  esac
}

main "$@"
