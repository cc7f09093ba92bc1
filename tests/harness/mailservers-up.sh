#!/usr/bin/env bash
# mailservers-up.sh DIR
#
# Starts several throw-away mail "providers" on loopback, each a REAL Postfix + Dovecot
# pair whose whole configuration, queue, mailboxes, TLS material and logs live under
# DIR. Installs the Debian packages first if they are missing (needs root).
# Writes DIR/harness.env and DIR/accounts.env (see docs/testing-mailservers.md).
#
# Running it again on the same DIR restarts the servers cleanly, keeping the CA,
# certificates, passwords and mail. Stop with mailservers-down.sh DIR.
#
# Knobs (environment):
#   MAILTEST_NPROVIDERS   number of providers, 3..9 (default 3): a.test, b.test, c.test, ...
#   MAILTEST_IP_PREFIX    first three octets of the providers' addresses (default 127.0.0);
#                         provider n listens on PREFIX.(10+n), e.g. 127.0.0.11, .12, .13.
#                         Use another prefix (127.0.1) to run a second harness in parallel.
#   MAILTEST_SMTP_PORT, MAILTEST_SUBMISSION_PORT, MAILTEST_SUBMISSIONS_PORT,
#   MAILTEST_IMAP_PORT, MAILTEST_IMAPS_PORT   (defaults 2525 2587 2465 1143 1993)
#   MAILTEST_SENDER_CHECK=no   allow authenticated users to use any envelope sender
#   MAILTEST_AUTH_PENALTY=yes  keep Dovecot's failed-login slowdown (2 s delay per failure
#                              plus a per-IP penalty of up to 15 s on LATER logins, even
#                              correct ones); default no: failures answer within ~0.5 s
#   MAILTEST_NO_INSTALL=1      never call apt-get (fail if something is missing)
#   MAILTEST_LAZY_EXPUNGE=yes  keep a copy of every mail a client expunges (Dovecot's
#                              lazy_expunge plugin): it is moved, as a hard link, into the
#                              account's mailbox "Expunged" (Maildir/.Expunged/), which IMAP
#                              clients that only use INBOX never see. With it, the Maildirs
#                              hold every mail ever delivered (e2e leak checks, replays).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"

usage() { echo "usage: $0 DIR   (or: $0 -d DIR)" >&2; exit 2; }

NPROV=${MAILTEST_NPROVIDERS:-3}
IP_PREFIX=${MAILTEST_IP_PREFIX:-127.0.0}
SMTP_PORT=${MAILTEST_SMTP_PORT:-2525}
SUBMISSION_PORT=${MAILTEST_SUBMISSION_PORT:-2587}
SUBMISSIONS_PORT=${MAILTEST_SUBMISSIONS_PORT:-2465}
IMAP_PORT=${MAILTEST_IMAP_PORT:-1143}
IMAPS_PORT=${MAILTEST_IMAPS_PORT:-1993}
SENDER_CHECK=${MAILTEST_SENDER_CHECK:-yes}
AUTH_PENALTY=${MAILTEST_AUTH_PENALTY:-no}
LAZY_EXPUNGE=${MAILTEST_LAZY_EXPUNGE:-no}
NRELAYS=7
PORTS=("$SMTP_PORT" "$SUBMISSION_PORT" "$SUBMISSIONS_PORT" "$IMAP_PORT" "$IMAPS_PORT")

# Debian packages providing what we run. dovecot-lmtpd: Postfix hands mail to Dovecot
# over LMTP, so Dovecot writes the Maildirs and indexes (no separate delivery agent).
PACKAGES=(postfix dovecot-core dovecot-imapd dovecot-lmtpd openssl)

# ======================================================================= install

pkg_installed() {
  [[ $(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) == "install ok installed" ]]
}

# system_daemon_pids: PIDs of the *system* postfix/dovecot masters (default config),
# so that we can tell whether the package installation started them.
system_daemon_pids() {
  local f pid
  for f in /var/spool/postfix/pid/master.pid /run/dovecot/master.pid; do
    [[ -r $f ]] || continue
    read -r pid < "$f" || continue
    if [[ $pid =~ ^[0-9]+$ ]] && mt_pid_alive "$pid"; then printf '%s:%s\n' "$f" "$pid"; fi
  done
  return 0
}

install_packages() {
  local missing=() p status
  # One dpkg-query for all packages (each call costs ~20 ms).
  declare -A status_of=()
  while IFS='|' read -r p status; do status_of[$p]=$status; done < <(
    dpkg-query -W -f='${Package}|${Status}\n' "${PACKAGES[@]}" 2>/dev/null || true)
  for p in "${PACKAGES[@]}"; do
    [[ ${status_of[$p]:-} == "install ok installed" ]] || missing+=("$p")
  done
  ((${#missing[@]})) || return 0
  [[ ${MAILTEST_NO_INSTALL:-0} != 1 ]] || mt_die "missing packages: ${missing[*]} (MAILTEST_NO_INSTALL=1)"
  ((EUID == 0)) || mt_die "missing packages: ${missing[*]}; run as root to install them"
  mt_log "installing ${missing[*]}"

  # The postfix package asks (debconf) what kind of mail system this is.
  # "No configuration" installs the binaries without /etc/postfix/main.cf, so the
  # distribution's own Postfix never starts and is never used by the harness.
  printf '%s\n' \
    "postfix postfix/main_mailer_type select No configuration" \
    "postfix postfix/mailname string localhost" | debconf-set-selections

  # Keep the packages' own services from starting during installation: a
  # policy-rc.d that exits 101 tells invoke-rc.d/deb-systemd-invoke "not allowed".
  # Only created if absent (Docker images often ship one), removed afterwards.
  # The trap removes it even if apt-get is interrupted.
  local made_policy=0
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
    printf '#!/bin/sh\n# temporary, created by MailVortex mailservers-up.sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    made_policy=1
  fi
  local before
  before=$(system_daemon_pids)

  local apt_opts=(-o DPkg::Lock::Timeout=120 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
  local rc=0
  {
    apt-get "${apt_opts[@]}" update -q &&
    DEBIAN_FRONTEND=noninteractive apt-get "${apt_opts[@]}" install -y -q --no-install-recommends "${missing[@]}"
  } </dev/null >>"$MT_DIR/logs/install.log" 2>&1 || rc=$?
  if ((made_policy)); then rm -f /usr/sbin/policy-rc.d; trap - EXIT; fi
  if ((rc != 0)); then
    tail -n 30 "$MT_DIR/logs/install.log" >&2
    mt_die "apt-get failed (full output in $MT_DIR/logs/install.log)"
  fi

  # If the installation nevertheless started the system's postfix/dovecot (e.g. a
  # systemd host whose policy layer ignored policy-rc.d), stop those: only they, and
  # only if they were not running before we installed.
  local entry f
  for entry in $(system_daemon_pids); do
    grep -qxF "$entry" <<< "$before" && continue
    f=${entry%%:*}
    mt_log "stopping the system's own daemon ($f) that the package installation started"
    if [[ -d /run/systemd/system ]]; then
      case $f in
        *postfix*) systemctl stop postfix.service || true ;;
        *dovecot*) systemctl stop dovecot.service || true ;;
      esac
    fi
    case $f in
      *postfix*) postfix stop </dev/null >/dev/null 2>&1 || true ;;
      *dovecot*) dovecot stop </dev/null >/dev/null 2>&1 || true ;;
    esac
  done
  for p in "${PACKAGES[@]}"; do pkg_installed "$p" || mt_die "package $p still not installed"; done
}

# ======================================================================= layout

# check_dir: refuse foreign directories before writing anything into them.
check_dir() {
  if [[ ! -f $MT_DIR/$MT_MARKER ]]; then
    if [[ -n $(ls -A "$MT_DIR") ]]; then
      mt_die "$MT_DIR is not empty and not a harness directory; refusing to use it"
    fi
    : > "$MT_DIR/$MT_MARKER"
  fi
  # Unix socket paths are limited to 108 bytes (e.g. DIR/providers/a.test/run/auth-postfix,
  # dovecot's DIR/providers/a.test/run/login/imap-...); Postfix/Dovecot config
  # values cannot contain spaces in all places we use them.
  ((${#MT_DIR} <= 60)) || mt_die "DIR path too long (${#MT_DIR} > 60 characters): $MT_DIR"
  [[ $MT_DIR != *[[:space:],=\;\"\'\$\\]* ]] || mt_die "DIR must not contain spaces or , = ; quotes \$ \\: $MT_DIR"
  mkdir -p "$MT_DIR/logs"
}

# prepare_dir: permissions and sub-directories (needs the packages' users).
prepare_dir() {
  # The unprivileged daemons must reach files below DIR: Postfix (user postfix) the
  # LMTP/auth sockets, Dovecot (user mail) the Maildirs, the fault policy (user
  # nobody) the fault files. mktemp -d makes 0700 directories, so open DIR for
  # traversal (not listing) and check that every parent is traversable too.
  chmod 0711 "$MT_DIR"
  local p=$MT_DIR
  while [[ $p != / ]]; do
    p=$(dirname "$p")
    [[ $(( 0$(stat -c %a "$p") & 1 )) == 1 ]] || mt_die "parent directory $p is not world-traversable (o+x); choose another DIR"
  done

  mkdir -p "$MT_DIR"/{bin,tls,logs,maildirs,providers}
  chmod 0755 "$MT_DIR"/{bin,logs,maildirs,providers}
  chmod 0755 "$MT_DIR/tls"   # smtp (user postfix) reads ca.crt; all keys are 0600 root
  install -m 0755 "$HERE/faultpolicy.sh" "$MT_DIR/bin/faultpolicy.sh"
}

# ======================================================================= providers and accounts

LABELS=(a b c d e f g h i)
DOMAINS=() IPS=()
declare -A ACC_DOMAIN=() ACC_PASS=()
ACCOUNTS=()   # addresses in a fixed order

define_providers() {
  [[ $NPROV =~ ^[3-9]$ ]] || mt_die "MAILTEST_NPROVIDERS must be 3..9"
  [[ $IP_PREFIX =~ ^127\.[0-9]{1,3}\.[0-9]{1,3}$ ]] || mt_die "MAILTEST_IP_PREFIX must be 127.x.y (loopback only)"
  local i
  for ((i = 0; i < NPROV; i++)); do
    DOMAINS+=("${LABELS[i]}.test")
    IPS+=("$IP_PREFIX.$((11 + i))")
  done
}

add_account() { ACCOUNTS+=("$1@$2"); ACC_DOMAIN["$1@$2"]=$2; }

define_accounts() {
  local i
  add_account alice "${DOMAINS[0]}"
  add_account bob "${DOMAINS[1]}"
  # relayN on provider (N-1) mod NPROV: relay1@a, relay2@b, relay3@c, relay4@a, ...
  for ((i = 1; i <= NRELAYS; i++)); do add_account "relay$i" "${DOMAINS[(i - 1) % NPROV]}"; done
  # one spare account per provider: spare1@a.test, spare2@b.test, ...
  for ((i = 1; i <= NPROV; i++)); do add_account "spare$i" "${DOMAINS[i - 1]}"; done
}

random_password() {
  # 20 characters from [A-Za-z0-9]: no shell, config-file or SASL special characters.
  local p=""
  while ((${#p} < 20)); do p+=$(head -c 48 /dev/urandom | base64 | tr -dc 'A-Za-z0-9'); done
  printf '%s\n' "${p:0:20}"
}

# Passwords are random per harness directory and reused when up runs again on the
# same DIR (so running tests keep working). They are only written to accounts.env,
# harness.env (both 0600) and Dovecot's passwd-file (0640 root:dovecot), never logged.
load_or_make_passwords() {
  local line key val addr
  if [[ -f $MT_DIR/accounts.env ]]; then
    while IFS= read -r line; do
      [[ $line == MAILTEST_ACCOUNT_*=* ]] || continue
      val=${line#*=}
      addr=${val%%,*}; val=${val#*,}
      ACC_PASS[$addr]=${val%%,*}
    done < "$MT_DIR/accounts.env"
  fi
  for key in "${ACCOUNTS[@]}"; do
    [[ -n ${ACC_PASS[$key]:-} ]] || ACC_PASS[$key]=$(random_password)
  done
}

# ======================================================================= TLS

# One test CA (EC P-256) signs a server certificate per provider.
# Server certs: CA:FALSE + extendedKeyUsage serverAuth (rustls/webpki reject a CA
# certificate used as a server certificate), SANs = the provider's domain names AND
# its IP address, so clients may verify against either (Python ssl and rustls both
# match IP SANs when connecting to an IP).
make_ca() {
  local t=$MT_DIR/tls
  if [[ -s $t/ca.crt && -s $t/ca.key ]] && openssl x509 -in "$t/ca.crt" -noout -checkend 86400 >/dev/null 2>&1; then
    return 0
  fi
  mt_log "creating test CA"
  openssl ecparam -name prime256v1 -genkey -noout -out "$t/ca.key" 2>/dev/null
  chmod 0600 "$t/ca.key"
  openssl req -x509 -new -key "$t/ca.key" -sha256 -days 30 \
    -subj "/O=MailVortex test/CN=MailVortex mailtest CA $(date +%s)" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -addext "subjectKeyIdentifier=hash" \
    -out "$t/ca.crt" 2>/dev/null
  chmod 0644 "$t/ca.crt"
  rm -f "$t"/*.test.crt   # a new CA invalidates all server certificates
}

make_server_cert() {
  local dom=$1 ip=$2 t=$MT_DIR/tls
  local san="DNS:$dom,DNS:mail.$dom,DNS:smtp.$dom,DNS:imap.$dom,DNS:mx.$dom,DNS:localhost,IP:$ip"
  if [[ -s $t/$dom.crt && -s $t/$dom.key && $(cat "$t/$dom.san" 2>/dev/null) == "$san" ]] &&
     openssl x509 -in "$t/$dom.crt" -noout -checkend 86400 >/dev/null 2>&1; then
    return 0
  fi
  openssl ecparam -name prime256v1 -genkey -noout -out "$t/$dom.key" 2>/dev/null
  chmod 0600 "$t/$dom.key"
  openssl req -new -key "$t/$dom.key" -subj "/O=MailVortex test/CN=mail.$dom" -out "$t/$dom.csr" 2>/dev/null
  printf '%s\n' \
    "basicConstraints=critical,CA:FALSE" \
    "keyUsage=critical,digitalSignature" \
    "extendedKeyUsage=serverAuth" \
    "subjectKeyIdentifier=hash" \
    "authorityKeyIdentifier=keyid" \
    "subjectAltName=$san" > "$t/$dom.ext"
  openssl x509 -req -in "$t/$dom.csr" -CA "$t/ca.crt" -CAkey "$t/ca.key" -CAcreateserial \
    -days 30 -sha256 -extfile "$t/$dom.ext" -out "$t/$dom.crt" 2>/dev/null
  chmod 0644 "$t/$dom.crt"
  printf '%s\n' "$san" > "$t/$dom.san"
  rm -f "$t/$dom.csr" "$t/$dom.ext"
}

# ======================================================================= config writers

# write_file PATH MODE: write stdin to PATH. All files are backdated by 10 s
# (pitfall 2: `postfix start/check/reload` wait up to ~2 s whenever main.cf or a
# lookup table is younger than ~2 s).
write_file() {
  local path=$1 mode=$2
  cat > "$path.tmp"
  chmod "$mode" "$path.tmp"
  touch -d "@$(($(date +%s) - 10))" "$path.tmp"
  mv -f "$path.tmp" "$path"
}

write_dovecot_conf() {
  local i=$1 dom=${DOMAINS[$1]} ip=${IPS[$1]}
  local P=$MT_DIR/providers/$dom mail_uid mail_gid
  mail_uid=$(id -u mail) mail_gid=$(id -g mail)
  mkdir -p "$P/dovecot" "$P/run" "$P/state"

  # passwd-file: user:{PLAIN}password (userdb fields come from default_fields below).
  # Readable by the Dovecot auth process, which runs as user "dovecot".
  local addr
  for addr in "${ACCOUNTS[@]}"; do
    [[ ${ACC_DOMAIN[$addr]} == "$dom" ]] || continue
    printf '%s:{PLAIN}%s::::::\n' "$addr" "${ACC_PASS[$addr]}"
    # Mail is stored as the system user "mail" (exists on every Debian; no useradd,
    # so nothing in /etc/passwd is touched). Homes are pre-created for it.
    install -d -o mail -g mail -m 0700 "$MT_DIR/maildirs/$dom" "$MT_DIR/maildirs/$dom/${addr%@*}"
  done | write_file "$P/dovecot/users" 0640
  chown root:dovecot "$P/dovecot/users"
  chown mail:mail "$MT_DIR/maildirs/$dom"; chmod 0755 "$MT_DIR/maildirs/$dom"

  local dh=""
  if [[ -s /usr/share/dovecot/dh.pem ]]; then dh="ssl_dh = </usr/share/dovecot/dh.pem"; fi
  # Failed logins: Dovecot answers after auth_failure_delay (2 s) and, worse, records
  # a penalty per client IP in anvil that delays the NEXT logins from that IP (also
  # correct ones, also SMTP AUTH via Postfix) by 2, 4, 8, 15 s. All test clients come
  # from 127.0.0.1, so one wrong-password test slows down everything after it.
  # The delay is a setting; the penalty is not (see mt_dc_start in lib.sh).
  local failure_delay="auth_failure_delay = 0"
  if [[ $AUTH_PENALTY == yes ]]; then failure_delay="# auth_failure_delay: default (2 s)"; fi
  # MAILTEST_LAZY_EXPUNGE=yes: an expunged mail is not deleted but moved (hard link) into
  # the mailbox "Expunged" of the same account, so tests can still read every mail that
  # was ever delivered, also those that clients deleted.
  local lazy_expunge="# lazy_expunge: off (MAILTEST_LAZY_EXPUNGE=yes keeps expunged mail)"
  if [[ $LAZY_EXPUNGE == yes ]]; then
    lazy_expunge="mail_plugins = \$mail_plugins lazy_expunge
namespace inbox {
  inbox = yes
  mailbox Expunged {
    auto = create
  }
}
plugin {
  lazy_expunge = Expunged
}"
  fi

  write_file "$P/dovecot/dovecot.conf" 0644 <<EOF
# Dovecot for provider $dom ($ip) - generated by mailservers-up.sh; do not edit.
# A private instance: own base_dir (sockets, pid file), state_dir, log, listeners.
instance_name = mailtest-$dom
base_dir = $P/run
state_dir = $P/state
log_path = $MT_DIR/logs/$dom-dovecot.log
info_log_path = $MT_DIR/logs/$dom-dovecot.log
hostname = mail.$dom

protocols = imap lmtp
# Loopback only: every listener below binds this one address.
listen = $ip

ssl = yes
ssl_cert = <$MT_DIR/tls/$dom.crt
ssl_key = <$MT_DIR/tls/$dom.key
ssl_min_protocol = TLSv1.2
$dh
# LOGIN/AUTHENTICATE only after STARTTLS (or on IMAPS), like a real provider.
# Note: Dovecot treats connections whose local and remote IP are equal as secure.
disable_plaintext_auth = yes
auth_mechanisms = plain login
$failure_delay

passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%Lu $P/dovecot/users
}
userdb {
  driver = passwd-file
  args = username_format=%Lu $P/dovecot/users
  default_fields = uid=$mail_uid gid=$mail_gid home=$MT_DIR/maildirs/%Ld/%Ln
}
# Dovecot refuses to run mail processes for uids below first_valid_uid (default
# 500); "mail" is uid $mail_uid, so allow exactly that uid/gid.
first_valid_uid = $mail_uid
last_valid_uid = $mail_uid
first_valid_gid = $mail_gid
last_valid_gid = $mail_gid
mail_location = maildir:~/Maildir
$lazy_expunge

# bob+tag@b.test is delivered to bob's INBOX.
recipient_delimiter = +
lmtp_save_to_detail_mailbox = no

protocol imap {
  # many parallel test clients from 127.0.0.1 (default 10)
  mail_max_userip_connections = 200
}

service imap-login {
  inet_listener imap {
    address = $ip
    port = $IMAP_PORT
  }
  inet_listener imaps {
    address = $ip
    port = $IMAPS_PORT
    ssl = yes
  }
}
service lmtp {
  # Postfix (user postfix) delivers here: virtual_transport = lmtp:unix:$P/run/lmtp
  unix_listener lmtp {
    mode = 0600
    user = postfix
    group = postfix
  }
}
service auth {
  # Postfix smtpd asks Dovecot to check SMTP AUTH: smtpd_sasl_path = $P/run/auth-postfix
  unix_listener auth-postfix {
    mode = 0600
    user = postfix
    group = postfix
  }
}
service stats {
  # imap/lmtp run as user "mail", which is not in group dovecot; without this they
  # log "net_connect_unix(stats-writer) failed: Permission denied".
  unix_listener stats-writer {
    mode = 0666
  }
}
EOF
}

write_postfix_conf() {
  local i=$1 dom=${DOMAINS[$1]} ip=${IPS[$1]}
  local P=$MT_DIR/providers/$dom C=$MT_DIR/providers/$dom/postfix
  mkdir -p "$C" "$P/spool" "$P/data" "$P/faults"
  chmod 0755 "$P" "$P/faults"
  chown postfix:postfix "$P/data"   # data_directory must belong to mail_owner

  # Recipients that exist (others: "550 5.1.1 ... User unknown" at RCPT).
  # texthash: read directly from the text file, no postmap/.db needed.
  local addr
  for addr in "${ACCOUNTS[@]}"; do
    [[ ${ACC_DOMAIN[$addr]} == "$dom" ]] || continue
    printf '%s OK\n' "$addr"
  done | write_file "$C/vmailbox" 0644

  # Which SASL login may use which envelope sender (reject_sender_login_mismatch).
  for addr in "${ACCOUNTS[@]}"; do
    [[ ${ACC_DOMAIN[$addr]} == "$dom" ]] || continue
    printf '%s %s\n' "$addr" "$addr"
  done | write_file "$C/sender_login" 0644

  # Routing without DNS: every OTHER provider's domain goes to that provider's
  # loopback address. Brackets = use this host as is, no MX lookup.
  # Pitfall 7: never list our own domain here (it would loop back into ourselves;
  # our own domain is a virtual_mailbox_domain delivered over LMTP).
  # TLS to the other providers is mandatory and verified against our test CA:
  # "secure" with match= names that are in the peer's certificate.
  local j
  for ((j = 0; j < NPROV; j++)); do
    ((j == i)) && continue
    printf '%s smtp:[%s]:%s\n' "${DOMAINS[j]}" "${IPS[j]}" "$SMTP_PORT"
  done | write_file "$C/transport" 0644
  for ((j = 0; j < NPROV; j++)); do
    ((j == i)) && continue
    printf '[%s]:%s secure match=mx.%s:%s\n' "${IPS[j]}" "$SMTP_PORT" "${DOMAINS[j]}" "${DOMAINS[j]}"
  done | write_file "$C/tls_policy" 0644

  local sender_restr=""
  if [[ $SENDER_CHECK == yes ]]; then sender_restr="reject_sender_login_mismatch"; fi

  write_file "$C/main.cf" 0644 <<EOF
# Postfix for provider $dom ($ip) - generated by mailservers-up.sh; do not edit.
# Started as \`postfix -c $C start\`; nothing in /etc/postfix is read or written.
compatibility_level = 3.6
queue_directory = $P/spool
data_directory = $P/data
mail_owner = postfix
setgid_group = postdrop

myhostname = mail.$dom
mydomain = $dom
myorigin = \$mydomain
# No local(8) delivery at all: every domain we host is virtual (below).
mydestination =
alias_maps =
alias_database =
local_recipient_maps =
mynetworks = 127.0.0.0/8
smtpd_banner = \$myhostname ESMTP MailVortex mailtest ($dom)
biff = no
append_dot_mydomain = no
recipient_delimiter = +

# Logging to a file (there is no syslog): needs the postlog service in master.cf.
# Pitfall 1: maillog_file must lie under one of maillog_file_prefixes, otherwise
# postfix dies with a fatal that is invisible without a tty.
maillog_file = $MT_DIR/logs/$dom-postfix.log
maillog_file_prefixes = $MT_DIR/logs
syslog_name = postfix-$dom

# Listening: the addresses are in master.cf service names ($ip:PORT).
# Pitfall 4: inet_interfaces = $ip fails with "fatal: no local interface found"
# (127.0.0.x other than .1 is routable on lo but not an interface address).
inet_interfaces = all
inet_protocols = ipv4
# Outgoing SMTP to other providers leaves from our own address.
smtp_bind_address = $ip

# No DNS anywhere (no resolver here; lookups would just time out):
smtp_dns_support_level = disabled
smtp_host_lookup = native
smtpd_peername_lookup = no
# Other providers: transport_maps. Everything else: fail fast with a bounce
# instead of deferring for days.
transport_maps = texthash:$C/transport
default_transport = error:5.1.2 mailtest: no route to this domain
relay_transport = \$default_transport

# Our own domain: mailboxes in Dovecot, delivered over LMTP.
virtual_mailbox_domains = $dom
virtual_mailbox_maps = texthash:$C/vmailbox
virtual_transport = lmtp:unix:$P/run/lmtp

# SMTP AUTH is checked by Dovecot; enabled only on the submission ports (master.cf).
smtpd_sasl_type = dovecot
smtpd_sasl_path = $P/run/auth-postfix
smtpd_sasl_auth_enable = no
smtpd_sasl_security_options = noanonymous
smtpd_sasl_tls_security_options = noanonymous
# AUTH (PLAIN/LOGIN) is only offered after TLS.
smtpd_tls_auth_only = yes
smtpd_sender_login_maps = texthash:$C/sender_login

# Relaying: authenticated clients may send anywhere; port $SMTP_PORT otherwise
# behaves like a public MX (accepts mail for $dom only, "554 5.7.1 Relay access denied").
smtpd_relay_restrictions = permit_sasl_authenticated, reject_unauth_destination
# Fault injection hook (mailservers-fault.sh): a policy service that re-reads
# $P/faults on every request. It is evaluated on every port, including inbound
# mail from other providers, which then gets the same 4xx and defers.
smtpd_recipient_restrictions = check_policy_service unix:private/faultpolicy
smtpd_end_of_data_restrictions = check_policy_service unix:private/faultpolicy
faultpolicy_time_limit = 3600s
# If the policy service is broken, answer 451 (visible in tests) rather than accept.
smtpd_policy_service_default_action = 451 4.3.5 mailtest fault policy unavailable

# TLS server side (STARTTLS on $SMTP_PORT/$SUBMISSION_PORT, implicit on $SUBMISSIONS_PORT).
smtpd_tls_cert_file = $MT_DIR/tls/$dom.crt
smtpd_tls_key_file = $MT_DIR/tls/$dom.key
smtpd_tls_security_level = may
smtpd_tls_loglevel = 1
smtpd_tls_received_header = yes
# TLS client side (to other providers): mandatory+verified via tls_policy.
smtp_tls_security_level = may
smtp_tls_CAfile = $MT_DIR/tls/ca.crt
smtp_tls_policy_maps = texthash:$C/tls_policy
smtp_tls_loglevel = 1

# Fast retries so tests see deferred mail go out within seconds.
queue_run_delay = 2s
minimal_backoff_time = 2s
maximal_backoff_time = 10s
smtp_connect_timeout = 5s
lmtp_connect_timeout = 5s
maximal_queue_lifetime = 1h
bounce_queue_lifetime = 1h
EOF

  # master.cf. Columns: service type private unpriv chroot wakeup maxproc command.
  # Nothing is chrooted (Debian's default master.cf chroots; we have no jail).
  # Listeners carry the provider IP in the service name (pitfall 4).
  local sub_opts="-o smtpd_sasl_auth_enable=yes
  -o smtpd_client_restrictions=permit_sasl_authenticated,reject
  -o smtpd_sender_restrictions=$sender_restr"
  write_file "$C/master.cf" 0644 <<EOF
# Postfix services for provider $dom - generated by mailservers-up.sh; do not edit.
# MX port: no AUTH, STARTTLS offered; receives mail from other providers.
$ip:$SMTP_PORT      inet  n       -       n       -       -       smtpd
# Submission: STARTTLS required before anything else (encrypt), AUTH required.
$ip:$SUBMISSION_PORT      inet  n       -       n       -       -       smtpd
  -o syslog_name=postfix-$dom/submission
  -o smtpd_tls_security_level=encrypt
  $sub_opts
# Submissions: implicit TLS (TLS from the first byte), AUTH required.
$ip:$SUBMISSIONS_PORT      inet  n       -       n       -       -       smtpd
  -o syslog_name=postfix-$dom/submissions
  -o smtpd_tls_wrappermode=yes
  $sub_opts
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
# Writes maillog_file (no syslog).
postlog   unix-dgram n  -       n       -       1       postlogd
# Fault injection policy (see faultpolicy.sh). spawn refuses root and mail_owner,
# so it runs as nobody; it only reads $P/faults.
faultpolicy unix -      n       n       -       0       spawn
  user=nobody argv=/bin/sh $MT_DIR/bin/faultpolicy.sh $P/faults
EOF

  printf 'DOMAIN=%s\nIP=%s\nLABEL=%s\nAUTH_PENALTY=%s\n' "$dom" "$ip" "${LABELS[i]}" "$AUTH_PENALTY" |
    write_file "$P/provider.env" 0644
}

# ======================================================================= start

check_ports_free() {
  local i port
  for ((i = 0; i < NPROV; i++)); do
    for port in "${PORTS[@]}"; do
      if mt_port_taken "${IPS[i]}" "$port"; then
        mt_die "port ${IPS[i]}:$port is already in use by another program (another harness? use MAILTEST_IP_PREFIX)"
      fi
    done
  done
}

wait_listening() {
  local deadline=$((SECONDS + 15)) i port missing
  while :; do
    missing=""
    for ((i = 0; i < NPROV; i++)); do
      for port in "${PORTS[@]}"; do
        mt_listening "${IPS[i]}" "$port" || missing+=" ${IPS[i]}:$port"
      done
    done
    [[ -z $missing ]] && return 0
    ((SECONDS < deadline)) || mt_die "not listening after 15 s:$missing (see $MT_DIR/logs)"
    sleep 0.05
  done
}

# ======================================================================= env files

account_id() { local l=${1%@*}; printf '%s\n' "${l^^}"; }

account_line() {
  local addr=$1 dom=${ACC_DOMAIN[$1]} i ip=""
  for ((i = 0; i < NPROV; i++)); do
    if [[ ${DOMAINS[i]} == "$dom" ]]; then ip=${IPS[i]}; fi
  done
  printf 'MAILTEST_ACCOUNT_%s=%s,%s,%s,%s,%s,%s,%s\n' "$(account_id "$addr")" "$addr" \
    "${ACC_PASS[$addr]}" "$ip" "$SUBMISSION_PORT" "$SUBMISSIONS_PORT" "$IMAP_PORT" "$IMAPS_PORT"
}

join_by() { local IFS=$1; shift; printf '%s\n' "$*"; }

write_env_files() {
  local i addr provs=() relays=() users=()
  for ((i = 0; i < NPROV; i++)); do provs+=("${DOMAINS[i]}=${IPS[i]}"); done
  for addr in "${ACCOUNTS[@]}"; do
    case $addr in relay*) relays+=("$addr") ;; alice@* | bob@*) users+=("$addr") ;; esac
  done
  {
    echo "# MailVortex loopback mail harness: accounts (generated; contains passwords)"
    echo "# MAILTEST_ACCOUNT_<ID>=address,password,host,submission_port,submissions_port,imap_port,imaps_port"
    echo "MAILTEST_ACCOUNTS=$(join_by , "${ACCOUNTS[@]}")"
    for addr in "${ACCOUNTS[@]}"; do account_line "$addr"; done
  } | write_file "$MT_DIR/accounts.env" 0600
  {
    echo "# MailVortex loopback mail harness (generated by mailservers-up.sh; contains passwords)."
    echo "# Format: KEY=value, no quoting, no spaces; see docs/testing-mailservers.md."
    echo "MAILTEST_VERSION=1"
    echo "MAILTEST_DIR=$MT_DIR"
    echo "MAILTEST_CA_CERT=$MT_DIR/tls/ca.crt"
    echo "MAILTEST_PROVIDERS=$(join_by , "${provs[@]}")"
    echo "MAILTEST_SMTP_PORT=$SMTP_PORT"
    echo "MAILTEST_SUBMISSION_PORT=$SUBMISSION_PORT"
    echo "MAILTEST_SUBMISSIONS_PORT=$SUBMISSIONS_PORT"
    echo "MAILTEST_IMAP_PORT=$IMAP_PORT"
    echo "MAILTEST_IMAPS_PORT=$IMAPS_PORT"
    echo "MAILTEST_LOGS=$MT_DIR/logs"
    echo "MAILTEST_MAILDIRS=$MT_DIR/maildirs"
    echo "MAILTEST_FAULT_CMD=$HERE/mailservers-fault.sh"
    # Maildir folder (below each account's Maildir) holding expunged mails; empty: not kept.
    if [[ $LAZY_EXPUNGE == yes ]]; then echo "MAILTEST_EXPUNGED_FOLDER=.Expunged"; else echo "MAILTEST_EXPUNGED_FOLDER="; fi
    for ((i = 0; i < NPROV; i++)); do
      printf 'MAILTEST_PROVIDER_%s=%s,%s,%s,%s,%s,%s,%s\n' "${LABELS[i]^^}" "${DOMAINS[i]}" "${IPS[i]}" \
        "$SMTP_PORT" "$SUBMISSION_PORT" "$SUBMISSIONS_PORT" "$IMAP_PORT" "$IMAPS_PORT"
      printf 'MAILTEST_POSTFIX_CONFIG_%s=%s\n' "${LABELS[i]^^}" "$MT_DIR/providers/${DOMAINS[i]}/postfix"
      printf 'MAILTEST_DOVECOT_CONFIG_%s=%s\n' "${LABELS[i]^^}" "$MT_DIR/providers/${DOMAINS[i]}/dovecot/dovecot.conf"
    done
    echo "MAILTEST_USERS=$(join_by , "${users[@]}")"
    echo "MAILTEST_RELAYS=$(join_by , "${relays[@]}")"
    echo "MAILTEST_ACCOUNTS=$(join_by , "${ACCOUNTS[@]}")"
    echo "# MAILTEST_ACCOUNT_<ID>=address,password,host,submission_port,submissions_port,imap_port,imaps_port"
    for addr in "${ACCOUNTS[@]}"; do account_line "$addr"; done
  } | write_file "$MT_DIR/harness.env" 0600
}

# ======================================================================= main

main() {
  MT_CREATE=1 mt_parse_dir "$@" || usage
  ((${#MT_ARGS[@]} == 0)) || usage
  local start_ns
  start_ns=$(date +%s%N)
  check_dir
  install_packages
  prepare_dir
  define_providers
  define_accounts

  # Idempotent: whatever runs from a previous `up` on this DIR is stopped first
  # (in parallel: Dovecot's shutdown takes up to ~1 s per instance).
  local dom pids=()
  while read -r dom; do
    { mt_pf_stop "$dom"; mt_dc_stop "$dom"; } & pids+=($!)
  done < <(mt_providers)
  ((${#pids[@]})) && { wait "${pids[@]}" || mt_die "stopping the previous instances failed"; }
  # Our own ports are free now; anything still listening belongs to someone else.
  check_ports_free

  load_or_make_passwords
  make_ca
  local i
  for ((i = 0; i < NPROV; i++)); do
    make_server_cert "${DOMAINS[i]}" "${IPS[i]}"
    write_dovecot_conf "$i"
    write_postfix_conf "$i"
  done

  # Dovecot first: Postfix connects to its LMTP and auth sockets.
  for ((i = 0; i < NPROV; i++)); do mt_dc_start "${DOMAINS[i]}"; done
  pids=()
  for ((i = 0; i < NPROV; i++)); do mt_pf_start "${DOMAINS[i]}" & pids+=($!); done
  wait "${pids[@]}" || mt_die "starting Postfix failed"
  for ((i = 0; i < NPROV; i++)); do
    mt_pf_master_pid "${DOMAINS[i]}" >/dev/null || mt_die "postfix for ${DOMAINS[i]} is not running (pitfall 5: see $MT_DIR/logs/${DOMAINS[i]}-postfix.log)"
    mt_dc_master_pid "${DOMAINS[i]}" >/dev/null || mt_die "dovecot for ${DOMAINS[i]} is not running (see $MT_DIR/logs/${DOMAINS[i]}-dovecot.log)"
  done
  wait_listening
  write_env_files

  local ms=$((($(date +%s%N) - start_ns) / 1000000))
  mt_log "up in ${ms} ms: $(for ((i = 0; i < NPROV; i++)); do printf '%s=%s ' "${DOMAINS[i]}" "${IPS[i]}"; done)"
  mt_log "ports smtp=$SMTP_PORT submission=$SUBMISSION_PORT submissions=$SUBMISSIONS_PORT imap=$IMAP_PORT imaps=$IMAPS_PORT"
  mt_log "env: $MT_DIR/harness.env (accounts and passwords: $MT_DIR/accounts.env)"
  printf '%s\n' "$MT_DIR/harness.env"
}

main "$@"
