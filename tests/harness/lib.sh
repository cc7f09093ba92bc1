# shellcheck shell=bash
# Shared helpers for the MailVortex loopback mail-server harness
# (mailservers-up.sh, mailservers-down.sh, mailservers-fault.sh).
# Sourced, not executed. See docs/testing-mailservers.md.
#
# Layout of a harness directory DIR (everything lives here, nothing in /etc):
#   DIR/.mailtest                      marker: scripts refuse directories without it
#   DIR/harness.env, DIR/accounts.env  KEY=value files for tests (mode 0600, hold passwords)
#   DIR/bin/faultpolicy.sh             Postfix policy service used for SMTP fault injection
#   DIR/tls/                           test CA (ca.crt, ca.key) and one key+cert per provider
#   DIR/logs/                          <domain>-postfix.log, <domain>-dovecot.log, harness.log
#   DIR/maildirs/<domain>/<user>/Maildir
#   DIR/providers/<domain>/provider.env       DOMAIN=, IP=, LABEL=
#   DIR/providers/<domain>/postfix/           main.cf, master.cf, lookup tables
#   DIR/providers/<domain>/spool/, data/      Postfix queue_directory / data_directory
#   DIR/providers/<domain>/dovecot/           dovecot.conf, users (passwd-file)
#   DIR/providers/<domain>/run/, state/       Dovecot base_dir (sockets, master.pid) / state_dir
#   DIR/providers/<domain>/faults/            smtp-tempfail flag, smtp-rules (read per request)

MT_MARKER=.mailtest

mt_log() { printf '[mailtest %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
mt_die() { printf '[mailtest] ERROR: %s\n' "$*" >&2; exit 1; }

# mt_parse_dir ARGS... -> sets MT_DIR (absolute). Accepts "DIR" or "-d DIR"
# (the latter is the spelling used in shared/research/mailservers.md §9).
# Remaining arguments are left in MT_ARGS. DIR is created only if MT_CREATE=1.
mt_parse_dir() {
  MT_DIR="" MT_ARGS=()
  if [[ ${1:-} == -d ]]; then MT_DIR=${2:-}; shift 2 || true
  elif [[ -n ${1:-} ]]; then MT_DIR=$1; shift
  fi
  [[ -n $MT_DIR ]] || return 1
  # shellcheck disable=SC2034  # read by the scripts that source this file
  MT_ARGS=("$@")
  [[ ${MT_CREATE:-0} == 1 ]] && { mkdir -p "$MT_DIR" || mt_die "cannot create directory $MT_DIR"; }
  [[ -d $MT_DIR ]] || mt_die "no such directory: $MT_DIR"
  MT_DIR=$(cd "$MT_DIR" && pwd -P)
}

# mt_require_marker: refuse to operate on a directory the harness did not create.
mt_require_marker() {
  [[ -f $MT_DIR/$MT_MARKER ]] || mt_die "$MT_DIR is not a mail-test harness directory (no $MT_MARKER marker)"
}

# mt_providers: print the domains of all providers configured under DIR, one per line.
mt_providers() {
  local d
  for d in "$MT_DIR"/providers/*/provider.env; do
    [[ -f $d ]] || continue
    d=${d%/provider.env}
    printf '%s\n' "${d##*/}"
  done
}

# mt_resolve_provider NAME -> domain. NAME may be the domain (b.test), its label (b)
# or the provider's IP address.
mt_resolve_provider() {
  local want=$1 dom
  while read -r dom; do
    local DOMAIN="" IP="" LABEL=""
    # shellcheck disable=SC1090
    . "$MT_DIR/providers/$dom/provider.env"
    if [[ $want == "$DOMAIN" || $want == "$LABEL" || $want == "$IP" ]]; then
      printf '%s\n' "$DOMAIN"; return 0
    fi
  done < <(mt_providers)
  mt_die "unknown provider '$want' (known: $(mt_providers | tr '\n' ' '))"
}

# ---------------------------------------------------------------- processes

# mt_pid_alive PID: true if PID exists and is not a zombie. (Research pitfall 6:
# PID 1 in containers may reap late, so `kill -0` alone is fooled by zombies.)
mt_pid_alive() {
  local st
  st=$(awk '/^State:/{print $2; exit}' "/proc/$1/status" 2>/dev/null) || return 1
  [[ -n $st && $st != Z && $st != X ]]
}

# mt_starttime PID: the process start time (field 22 of /proc/PID/stat), used to
# make sure a recorded PID still names the same process before signalling it.
mt_starttime() {
  local line rest
  { read -r line < "/proc/$1/stat"; } 2>/dev/null || return 1
  rest=${line##*) }          # strip "pid (comm) " (comm may contain spaces/parens)
  # shellcheck disable=SC2086
  set -- $rest               # $1 = state (field 3) ... field 22 = $20
  printf '%s\n' "${20}"
}

# mt_descendants PID: print "pid starttime" for every descendant of PID.
mt_descendants() {
  local root=$1 f line rest pid ppid
  declare -A kids=()
  for f in /proc/[0-9]*/stat; do
    { read -r line < "$f"; } 2>/dev/null || continue
    pid=${line%% *}
    rest=${line##*) }
    ppid=${rest#* }; ppid=${ppid%% *}
    kids[$ppid]+="$pid "
  done
  local queue=("$root") cur c
  while ((${#queue[@]})); do
    cur=${queue[0]}; queue=("${queue[@]:1}")
    for c in ${kids[$cur]:-}; do
      printf '%s %s\n' "$c" "$(mt_starttime "$c" 2>/dev/null || echo 0)"
      queue+=("$c")
    done
  done
}

# mt_session PID: the session id of PID (field 6 of /proc/PID/stat).
mt_session() {
  local line rest
  { read -r line < "/proc/$1/stat"; } 2>/dev/null || return 1
  rest=${line##*) }
  # shellcheck disable=SC2086
  set -- $rest               # $1 = state, $2 = ppid, $3 = pgrp, $4 = session
  printf '%s\n' "$4"
}

# mt_session_members SID: print "pid starttime" for every process in session SID.
mt_session_members() {
  local sid=$1 f line rest pid
  for f in /proc/[0-9]*/stat; do
    { read -r line < "$f"; } 2>/dev/null || continue
    pid=${line%% *}
    rest=${line##*) }
    # shellcheck disable=SC2086
    set -- $rest
    [[ ${4:-} == "$sid" ]] || continue
    printf '%s %s\n' "$pid" "$(mt_starttime "$pid" 2>/dev/null || echo 0)"
  done
}

# mt_kill_recorded SIGNAL < "pid starttime" lines: signal only processes whose
# start time still matches (never a recycled PID).
mt_kill_recorded() {
  local sig=$1 pid st
  while read -r pid st; do
    [[ -n $pid ]] || continue
    [[ $(mt_starttime "$pid" 2>/dev/null) == "$st" ]] || continue
    kill "-$sig" "$pid" 2>/dev/null || true
  done
}

# mt_wait_gone SECONDS "pid starttime"...: wait until none of the processes is alive.
mt_wait_gone() {
  local secs=$1; shift
  local deadline=$((SECONDS + secs)) rec pid st alive
  while :; do
    alive=0
    for rec in "$@"; do
      pid=${rec%% *}; st=${rec#* }
      [[ -n $pid ]] || continue
      if mt_pid_alive "$pid" && [[ $(mt_starttime "$pid" 2>/dev/null) == "$st" ]]; then alive=1; break; fi
    done
    ((alive)) || return 0
    ((SECONDS < deadline)) || return 1
    sleep 0.05
  done
}

# ---------------------------------------------------------------- Postfix

mt_pf_conf() { printf '%s\n' "$MT_DIR/providers/$1/postfix"; }

# mt_pf_master_pid DOMAIN: PID of this provider's Postfix master, verified.
# The pid file alone is not trusted: the process must be called "master" and have
# its cwd in this provider's queue directory (Postfix master chdirs there).
mt_pf_master_pid() {
  local spool="$MT_DIR/providers/$1/spool" pid
  [[ -r $spool/pid/master.pid ]] || return 1
  read -r pid < "$spool/pid/master.pid" || return 1
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  mt_pid_alive "$pid" || return 1
  [[ $(cat "/proc/$pid/comm" 2>/dev/null) == master ]] || return 1
  [[ $(readlink "/proc/$pid/cwd" 2>/dev/null) == "$spool" ]] || return 1
  printf '%s\n' "$pid"
}

mt_pf_start() {
  local dom=$1 conf log
  conf=$(mt_pf_conf "$dom")
  log="$MT_DIR/logs/harness.log"
  # Pitfall 3: daemons must not inherit our stdout/stderr, or callers that capture
  # output (subprocess.run(capture_output=True), Command::output()) hang forever.
  if ! postfix -c "$conf" start </dev/null >>"$log" 2>&1; then
    # Pitfall 1: without a tty, postfix fatals go to syslog only (and there is no
    # syslog here). `script` provides a pty so the reason is printed.
    mt_log "postfix for $dom failed to start; postfix check says:"
    script -qec "postfix -c '$conf' check" /dev/null >&2 </dev/null || true
    tail -n 20 "$MT_DIR/logs/$dom-postfix.log" >&2 2>/dev/null || true
    mt_die "postfix for $dom did not start"
  fi
}

mt_pf_stop() {
  local dom=$1 pid recs=()
  pid=$(mt_pf_master_pid "$dom") || return 0
  mapfile -t recs < <(printf '%s %s\n' "$pid" "$(mt_starttime "$pid")"; mt_descendants "$pid")
  postfix -c "$(mt_pf_conf "$dom")" stop </dev/null >>"$MT_DIR/logs/harness.log" 2>&1 || kill -TERM "$pid" 2>/dev/null || true
  if ! mt_wait_gone 5 "${recs[@]}"; then
    printf '%s\n' "${recs[@]}" | mt_kill_recorded KILL
    mt_wait_gone 2 "${recs[@]}" || mt_log "warning: some Postfix processes of $dom survived SIGKILL"
  fi
}

mt_pf_flush() {
  mt_pf_master_pid "$1" >/dev/null || return 0
  postqueue -c "$(mt_pf_conf "$1")" -f </dev/null >>"$MT_DIR/logs/harness.log" 2>&1 || true
}

# ---------------------------------------------------------------- Dovecot

mt_dc_conf() { printf '%s\n' "$MT_DIR/providers/$1/dovecot/dovecot.conf"; }

# mt_dc_master_pid DOMAIN: PID of this provider's Dovecot master, verified by its
# command line (it was started as `dovecot -c <this conf>`).
mt_dc_master_pid() {
  local run="$MT_DIR/providers/$1/run" conf pid
  conf=$(mt_dc_conf "$1")
  [[ -r $run/master.pid ]] || return 1
  read -r pid < "$run/master.pid" || return 1
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  mt_pid_alive "$pid" || return 1
  [[ $(cat "/proc/$pid/comm" 2>/dev/null) == dovecot ]] || return 1
  tr '\0' '\n' < "/proc/$pid/cmdline" 2>/dev/null | grep -qxF -- "$conf" || return 1
  printf '%s\n' "$pid"
}

mt_dc_start() {
  local dom=$1
  if ! dovecot -c "$(mt_dc_conf "$dom")" </dev/null >>"$MT_DIR/logs/harness.log" 2>&1; then
    tail -n 20 "$MT_DIR/logs/harness.log" "$MT_DIR/logs/$dom-dovecot.log" >&2 2>/dev/null || true
    mt_die "dovecot for $dom did not start"
  fi
  # Disable Dovecot's per-IP auth penalty (see write_dovecot_conf): it cannot be
  # switched off by a setting, but the auth process turns it off silently when the
  # anvil-auth-penalty socket does not exist (ENOENT is the one error it hides).
  # The auth process starts lazily at the first login, i.e. after this removal.
  # A permission-denied socket (mode = 0) instead logs errors and retries ~5 s.
  if ! grep -qx 'AUTH_PENALTY=yes' "$MT_DIR/providers/$dom/provider.env" 2>/dev/null; then
    rm -f "$MT_DIR/providers/$dom/run/anvil-auth-penalty"
  fi
}

# mt_dc_stop DOMAIN: stop this provider's Dovecot.
# Pitfall 10: on SIGTERM the Dovecot master keeps existing IMAP sessions alive for
# ~10 s (clients then get "* BYE Server shutting down."). We also terminate the
# instance's own child processes (recorded before the signal, verified by start
# time) so clients see EOF immediately, like a crashed/restarted server.
mt_dc_stop() {
  local dom=$1 pid recs=() late=() leader=0
  pid=$(mt_dc_master_pid "$dom") || return 0
  # The daemonized master leads its own session (checked, never assumed: killing the
  # session of the shell that started it would take the test run down with it).
  [[ $(mt_session "$pid" 2>/dev/null) == "$pid" ]] && leader=1
  mapfile -t recs < <(printf '%s %s\n' "$pid" "$(mt_starttime "$pid")"; mt_descendants "$pid")
  printf '%s\n' "${recs[@]}" | mt_kill_recorded TERM
  if ! mt_wait_gone 5 "${recs[@]}"; then
    printf '%s\n' "${recs[@]}" | mt_kill_recorded KILL
    mt_wait_gone 2 "${recs[@]}" || mt_log "warning: some Dovecot processes of $dom survived SIGKILL"
  fi
  # A child forked between the listing above and the signal (an lmtp process for mail
  # arriving just then) is not in `recs`; it inherited the listening sockets, so the
  # next start would fail with "Socket already exists". Whatever is left in the master's
  # session belongs to this instance.
  if ((leader)); then
    mapfile -t late < <(mt_session_members "$pid")
    if ((${#late[@]})); then
      printf '%s\n' "${late[@]}" | mt_kill_recorded KILL
      mt_wait_gone 2 "${late[@]}" || mt_log "warning: late Dovecot processes of $dom survived SIGKILL"
    fi
  fi
  rm -f "$MT_DIR/providers/$dom/run/master.pid"
  # No master runs now: a socket file left behind (held open by a process we could not
  # see) must not stop the next start; Dovecot creates fresh ones.
  find "$MT_DIR/providers/$dom/run" -maxdepth 2 -type s -delete 2>/dev/null || true
}

# ---------------------------------------------------------------- sockets

# mt_hexaddr IP PORT -> the local_address form used by /proc/net/tcp (x86: IP bytes reversed).
mt_hexaddr() {
  local IFS=. a b c d
  read -r a b c d <<< "$1"
  printf '%02X%02X%02X%02X:%04X' "$d" "$c" "$b" "$a" "$2"
}

# mt_listening IP PORT: true if some socket listens on exactly IP:PORT.
# Reads /proc/net/tcp instead of connecting (a probe connection would be logged
# as a client session and, for smtpd, costs a process).
mt_listening() {
  awk -v a="$(mt_hexaddr "$1" "$2")" '$2 == a && $4 == "0A" { f = 1 } END { exit !f }' /proc/net/tcp
}

# mt_port_taken IP PORT: true if IP:PORT or 0.0.0.0:PORT is taken.
mt_port_taken() {
  mt_listening "$1" "$2" || mt_listening 0.0.0.0 "$2"
}
