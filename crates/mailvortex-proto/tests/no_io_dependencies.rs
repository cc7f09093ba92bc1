//! The protocol core stays sans-I/O: its normal dependency tree holds no runtime, database,
//! mail or networking crate. (`cargo tree` is the source of truth; this test reads it.)

use std::process::Command;

const FORBIDDEN: &[&str] = &[
    "tokio",
    "async-std",
    "smol",
    "mio",
    "socket2",
    "rusqlite",
    "libsqlite3-sys",
    "lettre",
    "async-imap",
    "imap",
    "hyper",
    "reqwest",
    "rustls",
    "native-tls",
    "openssl",
    "keyring",
    "tracing",
    "rayon-core-net",
];

#[test]
fn dependency_tree_has_no_io_crates() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args([
            "tree",
            "-p",
            "mailvortex-proto",
            "-e",
            "normal",
            "--prefix",
            "none",
            "--format",
            "{p}",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo tree runs");
    assert!(
        out.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tree = String::from_utf8_lossy(&out.stdout);
    let names: Vec<&str> = tree
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert!(
        names.contains(&"x25519-dalek"),
        "unexpected cargo tree output:\n{tree}"
    );
    for bad in FORBIDDEN {
        assert!(
            !names.contains(bad),
            "mailvortex-proto must stay sans-I/O but depends on {bad}"
        );
    }
}
