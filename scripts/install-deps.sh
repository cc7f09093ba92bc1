#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages MailVortex needs, only those missing, with one
# `apt-get update`. Usage: scripts/install-deps.sh [build|test|bench]...
#   build  a C compiler for the crates that build C (SQLite, ring)
#   test   + real Postfix/Dovecot (configured by tests/harness, never the system's own),
#            gnome-keyring and D-Bus for the keychain tests, Python for the mail-client checks,
#            file/unzip/qpdf/poppler-utils to check that carrier attachments are valid files
#   bench  + gnupg and age, the references the benchmarks compare against
#   app    + what the desktop app builds against (WebKitGTK 4.1, GTK, the tray library, librsvg),
#            Node.js and npm for ui/, and for its tests Xvfb, WebKitWebDriver, ImageMagick
#            (screenshots) and D-Bus with gnome-keyring
set -euo pipefail

want=(build-essential pkg-config ca-certificates)
for group in "$@"; do
  case $group in
    build) ;;
    test) want+=(postfix dovecot-core dovecot-imapd dovecot-lmtpd openssl python3 gnome-keyring dbus procps file unzip qpdf poppler-utils) ;;
    bench) want+=(gnupg age) ;;
    app) want+=(libwebkit2gtk-4.1-dev libgtk-3-dev libayatana-appindicator3-dev librsvg2-dev librsvg2-bin libxdo-dev libssl-dev
                file curl xvfb xauth webkit2gtk-driver imagemagick dbus dbus-x11 gnome-keyring libsecret-tools)
         # Node.js from Debian unless one is installed already (e.g. from NodeSource).
         command -v npm >/dev/null || want+=(nodejs npm) ;;
    *) echo "unknown group: $group" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
((${#missing[@]})) || exit 0
if ((EUID != 0)); then
  echo "missing packages: ${missing[*]} (run as root, or: sudo apt-get install ${missing[*]})" >&2
  exit 1
fi
echo "installing: ${missing[*]}" >&2
# Postfix asks what kind of mail system this is: "No configuration" installs only the
# binaries; the test harness runs its own instances from a private directory.
printf '%s\n' "postfix postfix/main_mailer_type select No configuration" \
  "postfix postfix/mailname string localhost" | debconf-set-selections
# Keep packaged services from starting during installation (removed again afterwards).
made_policy=0
if [[ ! -e /usr/sbin/policy-rc.d ]]; then
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
  chmod 755 /usr/sbin/policy-rc.d
  made_policy=1
fi
opts=(-o DPkg::Lock::Timeout=120 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
apt-get "${opts[@]}" update -q >/dev/null
DEBIAN_FRONTEND=noninteractive apt-get "${opts[@]}" install -y -q --no-install-recommends "${missing[@]}" >/dev/null
((made_policy)) && rm -f /usr/sbin/policy-rc.d
exit 0
