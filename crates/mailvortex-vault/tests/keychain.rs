//! Keychain vaults against a REAL Secret Service (gnome-keyring), Linux only.
//!
//! Each test runs its body inside a throwaway D-Bus session: when the
//! environment does not already provide what the test needs, the test binary
//! re-executes itself (`--exact <test name>`) under `dbus-run-session` with a
//! temporary `HOME` and `XDG_RUNTIME_DIR`, after starting gnome-keyring with
//! an unlocked login keyring (the recipe of `tauri-env.md` §7). So a plain
//! `cargo test` exercises the real keychain; without gnome-keyring installed
//! these tests FAIL and name the Debian packages to install.
//!
//! * [`Session::Shared`] tests only need *some* unlocked Secret Service: if
//!   `DBUS_SESSION_BUS_ADDRESS` is set they run on that bus (a desktop session
//!   or a CI job already inside `dbus-run-session`), else they re-execute.
//! * [`Session::Private`], [`Session::NoSecretService`] and [`Session::NoBus`]
//!   tests always re-execute: they lock the keyring or hide it.
#![cfg(target_os = "linux")]

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mailvortex_vault::keyring_core::{self, CredentialStore, Entry};
use mailvortex_vault::{
    ExposeSecret, KEYCHAIN_SERVICE, META_FILE, Unlock, UnlockMethod, Vault, VaultError,
};

type TestResult = Result<(), Box<dyn std::error::Error>>;
/// File name and contents of every file in a directory, sorted.
type Snapshot = Vec<(String, Vec<u8>)>;

/// Set in the re-executed child to the name of the test it must run.
const CHILD_ENV: &str = "MAILVORTEX_VAULT_KEYRING_CHILD";
/// Password of the throwaway login keyring.
const KEYRING_PASSWORD: &str = "mailvortex-test-keyring";
/// A re-executed test that takes longer than this is killed.
const CHILD_TIMEOUT: Duration = Duration::from_secs(90);
const INSTALL_HINT: &str = "the keychain tests need a real Secret Service: install the Debian \
     packages `gnome-keyring` and `dbus` (apt-get install gnome-keyring dbus)";

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Session {
    /// Any session bus with an unlocked Secret Service.
    Shared,
    /// A private bus with an unlocked gnome-keyring of our own.
    Private,
    /// A private bus on which no Secret Service can be activated.
    NoSecretService,
    /// No session bus at all.
    NoBus,
}

/// Runs `body` in the environment `session` asks for (re-executing the test
/// binary when necessary). `name` must be the test function's name.
fn in_session(name: &str, session: Session, body: impl FnOnce() -> TestResult) -> TestResult {
    if std::env::var(CHILD_ENV).as_deref() == Ok(name) {
        return body();
    }
    if session == Session::Shared && std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some() {
        return body();
    }
    reexec(name, session)
}

fn on_path(tool: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()))
}

fn reexec(name: &str, session: Session) -> TestResult {
    let needed: &[&str] = match session {
        Session::Shared | Session::Private => &["dbus-run-session", "gnome-keyring-daemon"],
        Session::NoSecretService => &["dbus-run-session"],
        Session::NoBus => &[],
    };
    for tool in needed {
        assert!(on_path(tool), "`{tool}` not found: {INSTALL_HINT}");
    }
    let tmp = tempfile::tempdir()?;
    let home = tmp.path().join("home");
    let run = tmp.path().join("run");
    fs::create_dir_all(&home)?;
    fs::create_dir_all(&run)?;
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&run, fs::Permissions::from_mode(0o700))?;
    }
    let exe = std::env::current_exe()?;
    let test_args = ["--exact", name, "--nocapture", "--test-threads=1"];
    let mut cmd = match session {
        Session::Shared | Session::Private => {
            let mut c = Command::new("dbus-run-session");
            c.args(["--", "sh", "-c"]).arg(
                "printf %s \"$MV_KEYRING_PASSWORD\" | \
                 gnome-keyring-daemon --unlock --components=secrets >/dev/null && exec \"$0\" \"$@\"",
            );
            c.arg(&exe).args(test_args);
            c
        }
        Session::NoSecretService => {
            let conf = tmp.path().join("bus.conf");
            fs::write(&conf, bus_config_without_services(&run))?;
            let mut c = Command::new("dbus-run-session");
            c.arg("--config-file")
                .arg(&conf)
                .arg("--")
                .arg(&exe)
                .args(test_args);
            c
        }
        Session::NoBus => {
            let mut c = Command::new(&exe);
            c.args(test_args);
            c
        }
    };
    let out_path = tmp.path().join("child.out");
    let out = fs::File::create(&out_path)?;
    cmd.env_remove("DBUS_SESSION_BUS_ADDRESS")
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .env("HOME", &home)
        .env("XDG_RUNTIME_DIR", &run)
        .env("XDG_DATA_HOME", home.join(".local/share"))
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env("MV_KEYRING_PASSWORD", KEYRING_PASSWORD)
        .env(CHILD_ENV, name)
        .stdin(Stdio::null())
        .stdout(out.try_clone()?)
        .stderr(out);
    let started = Instant::now();
    let mut child = cmd.spawn()?;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break Some(status);
        }
        if started.elapsed() > CHILD_TIMEOUT {
            child.kill()?;
            child.wait()?;
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let output = fs::read_to_string(&out_path)?;
    match status {
        None => panic!("{name}: the re-executed test timed out after {CHILD_TIMEOUT:?}:\n{output}"),
        Some(s) if !s.success() => panic!("{name}: the re-executed test failed ({s}):\n{output}"),
        // `--exact` with a wrong name runs nothing and still succeeds.
        Some(_) if !output.contains("test result: ok. 1 passed") => {
            panic!("{name}: the re-executed test binary did not run the test:\n{output}")
        }
        Some(_) => {
            eprintln!(
                "{name}: ran in a throwaway {session:?} session in {:?}",
                started.elapsed()
            );
            Ok(())
        }
    }
}

/// A session bus configuration with no service directories: nothing, in
/// particular no `org.freedesktop.secrets`, can be activated.
fn bus_config_without_services(dir: &Path) -> String {
    format!(
        r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:dir={}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"#,
        dir.display()
    )
}

// --- helpers used inside the sessions ---

fn snapshot(dir: &Path) -> Result<Snapshot, std::io::Error> {
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

fn keychain_user(dir: &Path) -> Result<String, Box<dyn std::error::Error>> {
    let meta = fs::read_to_string(dir.join(META_FILE))?;
    Ok(meta
        .lines()
        .find_map(|l| l.strip_prefix("keychain_user = "))
        .ok_or("no keychain_user in vault.meta")?
        .to_owned())
}

fn secret_service() -> Result<Arc<CredentialStore>, Box<dyn std::error::Error>> {
    let store: Arc<CredentialStore> = zbus_secret_service_keyring_store::Store::new()?;
    Ok(store)
}

/// The raw keychain entry of a vault, read directly from the Secret Service.
fn raw_entry(dir: &Path) -> Result<Entry, Box<dyn std::error::Error>> {
    Ok(Entry::new_in_store(
        &secret_service()?,
        KEYCHAIN_SERVICE,
        &keychain_user(dir)?,
    )?)
}

fn lock_login_collection() -> TestResult {
    let status = Command::new("dbus-send")
        .args([
            "--session",
            "--print-reply",
            "--dest=org.freedesktop.secrets",
            "/org/freedesktop/secrets",
            "org.freedesktop.Secret.Service.Lock",
            "array:objpath:/org/freedesktop/secrets/collection/login",
        ])
        .stdout(Stdio::null())
        .status()?;
    assert!(status.success(), "dbus-send Lock failed: {status}");
    Ok(())
}

/// gnome-keyring cannot be unlocked again without a prompt; replacing the
/// daemon with one that unlocks the login keyring from stdin does it.
fn unlock_login_collection() -> TestResult {
    let mut child = Command::new("gnome-keyring-daemon")
        .args(["--replace", "--unlock", "--components=secrets"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()?;
    child
        .stdin
        .take()
        .ok_or("no stdin")?
        .write_all(KEYRING_PASSWORD.as_bytes())?;
    assert!(
        child.wait()?.success(),
        "gnome-keyring-daemon --replace failed"
    );
    // Wait until the new daemon serves the login collection unlocked.
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        let out = Command::new("dbus-send")
            .args([
                "--session",
                "--print-reply",
                "--dest=org.freedesktop.secrets",
                "/org/freedesktop/secrets/collection/login",
                "org.freedesktop.DBus.Properties.Get",
                "string:org.freedesktop.Secret.Collection",
                "string:Locked",
            ])
            .output()?;
        if String::from_utf8_lossy(&out.stdout).contains("boolean false") {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Err("the login keyring did not come back unlocked".into())
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

const SECRET: &[u8] = b"smtp-password-keychain-unique-marker";

// --- the tests ---

#[test]
fn keychain_round_trip() -> TestResult {
    in_session("keychain_round_trip", Session::Shared, || {
        let tmp = tempfile::tempdir()?;
        let dir = tmp.path().join("node");
        let mut v = Vault::create(&dir, Unlock::Keychain)?;
        assert_eq!(v.unlock_method(), UnlockMethod::Keychain);
        v.set("account/bob/password", SECRET)?;
        drop(v);
        assert_eq!(Vault::probe(&dir)?, UnlockMethod::Keychain);

        // The key is in the Secret Service under service "mailvortex" and
        // user = the vault id, as 64 hex digits; it is not in any file.
        let master_hex = raw_entry(&dir)?.get_password()?;
        assert_eq!(master_hex.len(), 64);
        let master = hex::decode(&master_hex)?;
        for (name, bytes) in snapshot(&dir)? {
            assert!(!contains(&bytes, SECRET), "{name} contains the secret");
            assert!(
                !contains(&bytes, master_hex.as_bytes()),
                "{name} contains the master key"
            );
            assert!(
                !contains(&bytes, &master),
                "{name} contains the raw master key"
            );
        }

        let v = Vault::open(&dir, Unlock::Keychain)?;
        assert_eq!(
            v.get("account/bob/password").map(|s| s.expose_secret()),
            Some(SECRET)
        );
        let entry = raw_entry(&dir)?;
        v.destroy()?;
        assert!(snapshot(&dir)?.is_empty());
        assert!(
            matches!(entry.get_password(), Err(keyring_core::Error::NoEntry)),
            "destroy left the keychain entry behind"
        );
        Ok(())
    })
}

#[test]
fn keychain_entry_deleted_or_replaced() -> TestResult {
    in_session(
        "keychain_entry_deleted_or_replaced",
        Session::Shared,
        || {
            let tmp = tempfile::tempdir()?;
            let mut v = Vault::create(tmp.path(), Unlock::Keychain)?;
            v.set("a", SECRET)?;
            drop(v);
            let before = snapshot(tmp.path())?;
            let entry = raw_entry(tmp.path())?;
            let original = entry.get_password()?;

            entry.set_password(&"ab".repeat(32))?;
            assert!(matches!(
                Vault::open(tmp.path(), Unlock::Keychain),
                Err(VaultError::KeychainKeyMismatch { .. })
            ));
            entry.set_password("not a key")?;
            assert!(matches!(
                Vault::open(tmp.path(), Unlock::Keychain),
                Err(VaultError::KeychainEntryInvalid { .. })
            ));
            entry.delete_credential()?;
            match Vault::open(tmp.path(), Unlock::Keychain) {
                Err(e @ VaultError::MasterKeyMissing { .. }) => {
                    assert!(
                        e.to_string().contains("vault files were not changed"),
                        "{e}"
                    );
                }
                other => panic!("expected MasterKeyMissing, got {other:?}"),
            }
            assert_eq!(
                snapshot(tmp.path())?,
                before,
                "a failed open changed the files"
            );

            // Restoring the entry (e.g. from a keychain backup) restores access.
            entry.set_password(&original)?;
            let v = Vault::open(tmp.path(), Unlock::Keychain)?;
            assert_eq!(v.get("a").map(|s| s.expose_secret()), Some(SECRET));
            v.destroy()?;
            Ok(())
        },
    )
}

#[test]
fn keychain_locked_wipes_nothing() -> TestResult {
    in_session("keychain_locked_wipes_nothing", Session::Private, || {
        let tmp = tempfile::tempdir()?;
        let dir = tmp.path().join("node");
        Vault::create(&dir, Unlock::Keychain)?.set("a", SECRET)?;
        let before = snapshot(&dir)?;

        lock_login_collection()?;
        let started = Instant::now();
        match Vault::open(&dir, Unlock::Keychain) {
            Err(e @ VaultError::KeychainLocked { .. }) => {
                let msg = e.to_string();
                eprintln!("locked keychain reported as: {msg}");
                assert!(
                    msg.contains("locked — unlock it and retry; nothing was changed"),
                    "{msg}"
                );
            }
            other => panic!("expected KeychainLocked, got {other:?}"),
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "open hung on the prompt"
        );
        assert_eq!(
            snapshot(&dir)?,
            before,
            "a locked keychain changed the vault files"
        );

        // Creating a vault while the keychain is locked fails and leaves nothing.
        let dir2 = tmp.path().join("node2");
        assert!(matches!(
            Vault::create(&dir2, Unlock::Keychain),
            Err(VaultError::KeychainLocked { .. })
        ));
        assert!(!dir2.join(META_FILE).exists());
        assert!(!dir2.exists() || snapshot(&dir2)?.is_empty());

        unlock_login_collection()?;
        let v = Vault::open(&dir, Unlock::Keychain)?;
        assert_eq!(v.get("a").map(|s| s.expose_secret()), Some(SECRET));
        v.destroy()?;
        Ok(())
    })
}

/// Writes a keychain-mode vault whose key sits in a mock store, so that the
/// real keychain of the session does not have it.
fn keychain_vault_files(dir: &Path) -> Result<Snapshot, Box<dyn std::error::Error>> {
    let mock: Arc<CredentialStore> = keyring_core::mock::Store::new()?;
    Vault::create(dir, Unlock::KeychainStore(mock))?.set("a", SECRET)?;
    Ok(snapshot(dir)?)
}

fn assert_unavailable(dir: &Path, before: &Snapshot) -> TestResult {
    match Vault::open(dir, Unlock::Keychain) {
        Err(e @ VaultError::KeychainUnavailable { .. }) => {
            let msg = e.to_string();
            eprintln!("unreachable keychain reported as: {msg}");
            assert!(msg.contains("no OS keychain is reachable"), "{msg}");
            assert!(msg.contains("nothing was changed"), "{msg}");
        }
        other => panic!("expected KeychainUnavailable, got {other:?}"),
    }
    assert_eq!(
        snapshot(dir)?,
        *before,
        "an unreachable keychain changed the files"
    );
    let fresh: PathBuf = dir.join("fresh");
    assert!(matches!(
        Vault::create(&fresh, Unlock::Keychain),
        Err(VaultError::KeychainUnavailable { .. })
    ));
    assert!(!fresh.exists());
    Ok(())
}

#[test]
fn dbus_without_secret_service_is_unavailable() -> TestResult {
    in_session(
        "dbus_without_secret_service_is_unavailable",
        Session::NoSecretService,
        || {
            assert!(std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some());
            let tmp = tempfile::tempdir()?;
            let before = keychain_vault_files(tmp.path())?;
            assert_unavailable(tmp.path(), &before)
        },
    )
}

#[test]
fn no_dbus_is_unavailable() -> TestResult {
    in_session("no_dbus_is_unavailable", Session::NoBus, || {
        assert!(std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_none());
        let tmp = tempfile::tempdir()?;
        let before = keychain_vault_files(tmp.path())?;
        assert_unavailable(tmp.path(), &before)
    })
}
