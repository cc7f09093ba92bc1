//! Passphrase-mode vault tests: round trip, wrong passphrase, tampering,
//! no plaintext on disk, permissions, and the mock keychain store.

use std::fs;
use std::path::Path;
use std::sync::Arc;

use mailvortex_vault::keyring_core::{self, CredentialStore};
use mailvortex_vault::{
    Argon2Params, ExposeSecret, META_FILE, SecretString, Unlock, UnlockMethod, VAULT_FILE, Vault,
    VaultError,
};

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// Cheap Argon2id parameters: tests must stay fast. Never ship these.
fn cheap() -> Argon2Params {
    Argon2Params::new(256, 1, 1).unwrap_or_default()
}

fn pass(s: &str) -> Unlock {
    Unlock::Passphrase(SecretString::from(s))
}

fn snapshot(dir: &Path) -> Result<Vec<(String, Vec<u8>)>, std::io::Error> {
    let mut files = Vec::new();
    for e in fs::read_dir(dir)? {
        let e = e?;
        files.push((
            e.file_name().to_string_lossy().into_owned(),
            fs::read(e.path())?,
        ));
    }
    files.sort();
    Ok(files)
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

const SECRET_A: &[u8] = b"imap-password-Zq8#unique-marker-1";
const SECRET_B: &[u8] = b"\x01\x02epoch-secret-key-unique-marker-2\xff";

#[test]
fn passphrase_round_trip() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let dir = tmp.path().join("node");
    let mut v = Vault::create_with_kdf(&dir, pass("correct horse battery"), cheap())?;
    assert_eq!(v.unlock_method(), UnlockMethod::Passphrase);
    v.set("account/alice/password", SECRET_A)?;
    v.set("epoch/7/secret", SECRET_B.to_vec())?;
    v.set("to-remove", b"x")?;
    assert!(v.remove("to-remove")?);
    assert!(!v.remove("to-remove")?);
    drop(v);

    assert_eq!(Vault::probe(&dir)?, UnlockMethod::Passphrase);
    let v = Vault::open(&dir, pass("correct horse battery"))?;
    assert_eq!(
        v.names().collect::<Vec<_>>(),
        ["account/alice/password", "epoch/7/secret"]
    );
    assert_eq!(
        v.get("account/alice/password").map(|s| s.expose_secret()),
        Some(SECRET_A)
    );
    assert_eq!(
        v.get("epoch/7/secret").map(|s| s.expose_secret()),
        Some(SECRET_B)
    );
    assert!(v.get("to-remove").is_none());
    let dbg = format!("{v:?}");
    assert!(!dbg.contains("unique-marker"), "{dbg}");
    Ok(())
}

#[test]
fn default_kdf_parameters_work() -> TestResult {
    // One run with the shipped parameters (64 MiB, t=3, p=1).
    let tmp = tempfile::tempdir()?;
    let mut v = Vault::create(tmp.path(), pass("pw"))?;
    v.set("k", b"v")?;
    drop(v);
    let meta = fs::read_to_string(tmp.path().join(META_FILE))?;
    assert!(meta.contains("kdf_m_kib = 65536"), "{meta}");
    assert!(meta.contains("kdf_t = 3"), "{meta}");
    assert!(meta.contains("kdf_p = 1"), "{meta}");
    let v = Vault::open(tmp.path(), pass("pw"))?;
    assert_eq!(v.get("k").map(|s| s.expose_secret()), Some(&b"v"[..]));
    Ok(())
}

#[test]
fn wrong_passphrase_changes_nothing() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let mut v = Vault::create_with_kdf(tmp.path(), pass("right"), cheap())?;
    v.set("a", SECRET_A)?;
    drop(v);
    let before = snapshot(tmp.path())?;
    match Vault::open(tmp.path(), pass("wrong")) {
        Err(e @ VaultError::WrongPassphrase { .. }) => {
            assert!(e.to_string().contains("nothing was changed"), "{e}");
        }
        other => panic!("expected WrongPassphrase, got {other:?}"),
    }
    assert_eq!(snapshot(tmp.path())?, before);
    assert!(Vault::open(tmp.path(), pass("right"))?.get("a").is_some());
    Ok(())
}

#[test]
fn wrong_method_names_the_right_one() -> TestResult {
    let tmp = tempfile::tempdir()?;
    Vault::create_with_kdf(tmp.path(), pass("pw"), cheap())?;
    let before = snapshot(tmp.path())?;
    let store: Arc<CredentialStore> = keyring_core::mock::Store::new()?;
    match Vault::open(tmp.path(), Unlock::KeychainStore(store)) {
        Err(e @ VaultError::WrongUnlockMethod { .. }) => {
            let msg = e.to_string();
            assert!(
                msg.contains("unlocked with a passphrase, not with the OS keychain"),
                "{msg}"
            );
        }
        other => panic!("expected WrongUnlockMethod, got {other:?}"),
    }
    assert_eq!(snapshot(tmp.path())?, before);
    Ok(())
}

#[test]
fn tampered_files_are_corrupt() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let mut v = Vault::create_with_kdf(tmp.path(), pass("pw"), cheap())?;
    v.set("a", SECRET_A)?;
    drop(v);
    let vault_path = tmp.path().join(VAULT_FILE);
    let good = fs::read(&vault_path)?;
    // Flip one bit anywhere after the magic, and truncate.
    for pos in [8, 8 + 24, good.len() / 2, good.len() - 1] {
        let mut bad = good.clone();
        if let Some(b) = bad.get_mut(pos) {
            *b ^= 0x10;
        }
        fs::write(&vault_path, &bad)?;
        assert!(
            matches!(
                Vault::open(tmp.path(), pass("pw")),
                Err(VaultError::Corrupt { .. })
            ),
            "bit flip at {pos} not detected"
        );
    }
    fs::write(&vault_path, &good[..good.len() - 5])?;
    assert!(matches!(
        Vault::open(tmp.path(), pass("pw")),
        Err(VaultError::Corrupt { .. })
    ));
    fs::write(&vault_path, b"garbage")?;
    assert!(matches!(
        Vault::open(tmp.path(), pass("pw")),
        Err(VaultError::Corrupt { .. })
    ));
    fs::remove_file(&vault_path)?;
    assert!(matches!(
        Vault::open(tmp.path(), pass("pw")),
        Err(VaultError::Corrupt { .. })
    ));
    fs::write(&vault_path, &good)?;
    assert!(Vault::open(tmp.path(), pass("pw")).is_ok());

    let meta_path = tmp.path().join(META_FILE);
    let meta = fs::read_to_string(&meta_path)?;
    fs::write(
        &meta_path,
        meta.replace("unlock = passphrase", "unlock = magic"),
    )?;
    assert!(matches!(
        Vault::open(tmp.path(), pass("pw")),
        Err(VaultError::Corrupt { .. })
    ));
    Ok(())
}

#[test]
fn swapped_vault_file_is_detected() -> TestResult {
    // vault.bin of another vault under the same passphrase must not be accepted.
    let tmp = tempfile::tempdir()?;
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    Vault::create_with_kdf(&a, pass("pw"), cheap())?.set("x", b"1")?;
    Vault::create_with_kdf(&b, pass("pw"), cheap())?.set("x", b"2")?;
    fs::copy(b.join(VAULT_FILE), a.join(VAULT_FILE))?;
    assert!(matches!(
        Vault::open(&a, pass("pw")),
        Err(VaultError::Corrupt { .. })
    ));
    Ok(())
}

#[test]
fn files_never_contain_secret_bytes_and_are_private() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let passphrase = "passphrase-unique-marker-3";
    let mut v = Vault::create_with_kdf(tmp.path(), pass(passphrase), cheap())?;
    v.set("a", SECRET_A)?;
    v.set("b", SECRET_B)?;
    drop(v);
    let files = snapshot(tmp.path())?;
    assert_eq!(files.len(), 2, "temporary files left behind: {files:?}");
    for (name, bytes) in &files {
        for needle in [SECRET_A, SECRET_B, passphrase.as_bytes(), b"unique-marker"] {
            assert!(!contains(bytes, needle), "{name} contains a secret");
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(tmp.path().join(name))?.permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{name}");
        }
    }
    Ok(())
}

#[test]
fn create_refuses_to_overwrite_and_open_needs_a_vault() -> TestResult {
    let tmp = tempfile::tempdir()?;
    assert!(matches!(
        Vault::open(tmp.path(), pass("pw")),
        Err(VaultError::NotFound { .. })
    ));
    Vault::create_with_kdf(tmp.path(), pass("pw"), cheap())?.set("a", SECRET_A)?;
    let before = snapshot(tmp.path())?;
    assert!(matches!(
        Vault::create_with_kdf(tmp.path(), pass("other"), cheap()),
        Err(VaultError::AlreadyExists { .. })
    ));
    assert_eq!(snapshot(tmp.path())?, before);
    assert!(matches!(
        Vault::create_with_kdf(tmp.path().join("n"), pass(""), cheap()),
        Err(VaultError::EmptyPassphrase)
    ));
    Ok(())
}

#[test]
fn invalid_names_are_rejected() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let mut v = Vault::create_with_kdf(tmp.path(), pass("pw"), cheap())?;
    for bad in [String::new(), "x".repeat(256), "a\nb".to_owned()] {
        assert!(matches!(
            v.set(&bad, b"v"),
            Err(VaultError::InvalidName { .. })
        ));
    }
    v.set(&"x".repeat(255), b"v")?;
    Ok(())
}

#[test]
fn destroy_removes_files() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let v = Vault::create_with_kdf(tmp.path(), pass("pw"), cheap())?;
    v.destroy()?;
    assert!(snapshot(tmp.path())?.is_empty());
    Ok(())
}

// --- keyring-core mock store: the keychain code path without D-Bus ---

#[test]
fn mock_keychain_round_trip_and_missing_entry() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let store: Arc<CredentialStore> = keyring_core::mock::Store::new()?;
    let mut v = Vault::create(tmp.path(), Unlock::KeychainStore(store.clone()))?;
    assert_eq!(v.unlock_method(), UnlockMethod::Keychain);
    v.set("a", SECRET_A)?;
    drop(v);
    let v = Vault::open(tmp.path(), Unlock::KeychainStore(store.clone()))?;
    assert_eq!(v.get("a").map(|s| s.expose_secret()), Some(SECRET_A));
    drop(v);

    // Wrong method the other way round.
    assert!(matches!(
        Vault::open(tmp.path(), pass("pw")),
        Err(VaultError::WrongUnlockMethod {
            vault_uses: UnlockMethod::Keychain,
            ..
        })
    ));

    // A fresh (empty) store has no entry: MasterKeyMissing, files untouched.
    let before = snapshot(tmp.path())?;
    let empty: Arc<CredentialStore> = keyring_core::mock::Store::new()?;
    match Vault::open(tmp.path(), Unlock::KeychainStore(empty)) {
        Err(e @ VaultError::MasterKeyMissing { .. }) => {
            assert!(e.to_string().contains("service \"mailvortex\""), "{e}");
        }
        other => panic!("expected MasterKeyMissing, got {other:?}"),
    }
    assert_eq!(snapshot(tmp.path())?, before);
    Vault::open(tmp.path(), Unlock::KeychainStore(store.clone()))?.destroy()?;
    assert!(snapshot(tmp.path())?.is_empty());
    Ok(())
}

#[test]
fn mock_keychain_locked_wipes_nothing() -> TestResult {
    use keyring_core::mock::Cred;
    let tmp = tempfile::tempdir()?;
    let store: Arc<CredentialStore> = keyring_core::mock::Store::new()?;
    Vault::create(tmp.path(), Unlock::KeychainStore(store.clone()))?.set("a", SECRET_A)?;
    let before = snapshot(tmp.path())?;
    let meta = fs::read_to_string(tmp.path().join(META_FILE))?;
    let user = meta
        .lines()
        .find_map(|l| l.strip_prefix("keychain_user = "))
        .ok_or("no keychain_user")?;
    // The mock returns the same credential for the same service/user:
    // make its next operation fail as a locked keychain does.
    let entry = keyring_core::Entry::new_in_store(&store, "mailvortex", user)?;
    let cred = entry
        .as_any()
        .downcast_ref::<Cred>()
        .ok_or("not a mock credential")?;
    cred.set_error(keyring_core::Error::NoStorageAccess(
        "collection is locked".into(),
    ));
    match Vault::open(tmp.path(), Unlock::KeychainStore(store.clone())) {
        Err(e @ VaultError::KeychainLocked { .. }) => {
            let msg = e.to_string();
            assert!(
                msg.contains("unlock it and retry; nothing was changed"),
                "{msg}"
            );
        }
        other => panic!("expected KeychainLocked, got {other:?}"),
    }
    assert_eq!(snapshot(tmp.path())?, before);
    // "Unlocked" again: everything is still there.
    let v = Vault::open(tmp.path(), Unlock::KeychainStore(store))?;
    assert_eq!(v.get("a").map(|s| s.expose_secret()), Some(SECRET_A));
    Ok(())
}
