#!/usr/bin/env bash
# Runs every test: formatting, lints, unit and property tests, test vectors, the simulator's
# smoke scenario, the keychain tests against a real gnome-keyring, and the end-to-end tests
# against real Postfix and Dovecot on loopback. Installs what is missing first (as root).
set -euo pipefail
cd "$(dirname "$0")"
scripts/install-deps.sh build test
scripts/check-toolchain.sh
echo "== cargo fmt --check" >&2
cargo fmt --all -- --check
echo "== cargo clippy" >&2
cargo clippy --locked --workspace --all-targets -- -D warnings
echo "== cargo test" >&2
# install-deps.sh installed file, unzip, qpdf and poppler: tests that check carriers with
# them must not skip here.
export MAILVORTEX_REQUIRE_TOOLS=1
cargo test --locked --workspace --release
