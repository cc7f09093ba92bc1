#!/usr/bin/env bash
# Launches MailVortex. Until the desktop app lands this runs the self-contained demo: a local
# network of five relays and two users in one process, one message shown hop by hop.
# Installs what is missing (a C compiler), builds in release mode, then runs.
# Any arguments go to `mailvortex demo` (e.g. --level maximum --size 1000000).
set -euo pipefail
cd "$(dirname "$0")"
scripts/install-deps.sh build
scripts/check-toolchain.sh
cargo build --release --locked -q -p mailvortex-cli
target_dir=${CARGO_TARGET_DIR:-target}
exec "$target_dir/release/mailvortex" demo "$@"
