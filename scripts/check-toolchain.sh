#!/usr/bin/env bash
# Fails early, with a clear message, if no recent enough Rust toolchain is installed.
set -euo pipefail
need=1.89
if ! command -v cargo >/dev/null; then
  echo "Rust is not installed: install it with rustup (https://rustup.rs), stable $need or newer." >&2
  exit 1
fi
have=$(rustc --version | awk '{print $2}')
if [[ $(printf '%s\n%s\n' "$need" "$have" | sort -V | head -n1) != "$need" ]]; then
  echo "rustc $have is too old: MailVortex needs $need or newer (rustup update stable)." >&2
  exit 1
fi
