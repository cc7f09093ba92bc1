//! Finding the real `mailvortex` binary.
//!
//! The binary belongs to another package (`mailvortex-cli`), so `CARGO_BIN_EXE_mailvortex`
//! is not available here. Instead, on first use, the tests run
//! `cargo build --release -p mailvortex-cli --bin mailvortex` into the same target directory
//! (a no-op of about a second when it is up to date; about 3-5 minutes from scratch on
//! 2 cores) and use `<target>/release/mailvortex`. Release, because the nodes do real
//! cryptography and erasure coding on tens of thousands of packets: a debug build would be
//! 10-50x slower in exactly the places the tests measure.
//!
//! `MAILVORTEX_BIN=/path/to/mailvortex` skips the build and uses that binary.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The workspace root (two levels above this crate).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap_or_else(|e| panic!("workspace root: {e}"))
}

/// The cargo target directory this test binary was built into.
pub fn target_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("CARGO_TARGET_DIR") {
        let d = PathBuf::from(d);
        return if d.is_absolute() {
            d
        } else {
            workspace_root().join(d)
        };
    }
    // <target>/<profile>/deps/<test> or <target>/<profile>/<bin> (maybe <target>/<triple>/...).
    if let Ok(exe) = std::env::current_exe() {
        for dir in exe.ancestors().skip(1) {
            if dir.join("CACHEDIR.TAG").is_file() {
                return dir.to_path_buf();
            }
        }
    }
    workspace_root().join("target")
}

/// Path of the release `mailvortex` binary, built on first call (see the module docs).
pub fn mailvortex_bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(p) = std::env::var_os("MAILVORTEX_BIN") {
            let p = PathBuf::from(p);
            assert!(p.is_file(), "MAILVORTEX_BIN={} is not a file", p.display());
            return p;
        }
        let target = target_dir();
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| env!("CARGO").into());
        eprintln!(
            "[e2e] building the release mailvortex binary (cargo build --release -p mailvortex-cli) into {}",
            target.display()
        );
        let status = Command::new(cargo)
            .args(["build", "--release", "-p", "mailvortex-cli", "--bin", "mailvortex"])
            .arg("--target-dir")
            .arg(&target)
            .current_dir(workspace_root())
            .status()
            .unwrap_or_else(|e| panic!("cannot run cargo to build mailvortex: {e}"));
        assert!(status.success(), "building mailvortex failed ({status})");
        let bin = target.join("release").join("mailvortex");
        assert!(bin.is_file(), "{} missing after the build", bin.display());
        bin
    })
    .clone()
}
