//! The `mailvortex` program as scripts use it: non-interactive, `--json`, meaningful exit codes.

use std::path::Path;
use std::process::{Command, Output};

fn mv(home: &Path, pass: &str, args: &[&str]) -> Output {
    mv_env(home, pass, args, &[])
}

fn mv_env(home: &Path, pass: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mailvortex"))
        .arg("--home")
        .arg(home)
        .args(args)
        .env_remove("NO_COLOR")
        .envs(env.iter().copied())
        .env("MAILVORTEX_PASSPHRASE", pass)
        .env("MAILVORTEX_ACCOUNT_PASSWORD", "account secret")
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .output()
        .expect("mailvortex runs")
}

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&o.stdout)))
}

fn init(home: &Path, pass: &str, address: &str, peer_type: &str) {
    let o = mv(home, pass, &["--json", "init", "--peer-type", peer_type]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = mv(
        home,
        pass,
        &[
            "account",
            "add",
            "--address",
            address,
            "--imap-host",
            "imap.example.org",
            "--smtp-host",
            "smtp.example.org",
            "--no-check",
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn a_script_can_drive_every_step() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    init(&a, "pass a", "alice@a.example", "passive");
    init(&b, "pass b", "bob@b.example", "public");

    // Invites travel as text; importing twice updates instead of duplicating.
    let invite = json(&mv(&b, "pass b", &["--json", "invite"]))["invite"]
        .as_str()
        .expect("invite")
        .to_string();
    assert!(invite.starts_with("mailvortex:"));
    let first = json(&mv(&a, "pass a", &["--json", "import", &invite]));
    assert_eq!(first[0]["address"], "bob@b.example");
    assert_eq!(first[0]["new"], true);
    assert_eq!(
        json(&mv(&a, "pass a", &["--json", "import", &invite]))[0]["new"],
        false
    );

    // Sending at "direct" needs no relays; the message is queued with its timeline.
    let sent = json(&mv(
        &a,
        "pass a",
        &[
            "--json",
            "send",
            "--to",
            "bob@b.example",
            "--text",
            "hi",
            "--level",
            "direct",
        ],
    ));
    let id = sent["message_id"].as_str().expect("id").to_string();
    assert_eq!(sent["state"], "queued");
    let status = json(&mv(&a, "pass a", &["--json", "status", &id]));
    assert_eq!(status["timeline"][0]["state"], "queued");
    // JSON keeps protocol ms; text shows a local date-time instead.
    let at_ms = status["timeline"][0]["at_ms"].as_i64().expect("at_ms");
    assert!(at_ms > 1_600_000_000_000, "{status}");
    let text = mv(&a, "pass a", &["status", &id]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(!text.contains(&at_ms.to_string()), "raw ms in: {text}");
    let queued = text
        .lines()
        .find(|l| l.contains("queued "))
        .unwrap_or_else(|| panic!("no queued line in: {text}"));
    let stamp: Vec<char> = queued.trim_start().chars().take(19).collect();
    let shape: String = stamp
        .iter()
        .map(|c| if c.is_ascii_digit() { '9' } else { *c })
        .collect();
    assert_eq!(shape, "9999-99-99 99:99:99", "{queued}");

    // Secrets never reach the config file.
    let config = std::fs::read_to_string(a.join("config.json")).expect("config");
    assert!(!config.contains("account secret") && !config.contains("pass a"));
    let accounts = json(&mv(&a, "pass a", &["--json", "account", "list"]));
    assert_eq!(accounts[0]["address"], "alice@a.example");
}

#[test]
fn failures_have_distinct_exit_codes_and_json_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let a = dir.path().join("a");
    // No node yet.
    let o = mv(&a, "x", &["--json", "inbox"]);
    assert_eq!(
        o.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    assert_eq!(json(&o)["code"], "no_node");
    init(&a, "right", "alice@a.example", "passive");
    // Wrong passphrase: the vault says so, and nothing is changed.
    let before = std::fs::read(a.join("vault").join("vault.bin")).expect("vault");
    let o = mv(&a, "wrong", &["--json", "inbox"]);
    assert_eq!(o.status.code(), Some(4));
    assert_eq!(json(&o)["code"], "vault");
    assert_eq!(
        std::fs::read(a.join("vault").join("vault.bin")).expect("vault"),
        before
    );
    // Unknown recipient: final delivery only to MailVortex users.
    let o = mv(
        &a,
        "right",
        &[
            "--json",
            "send",
            "--to",
            "stranger@x.example",
            "--text",
            "hi",
        ],
    );
    assert_eq!(o.status.code(), Some(6));
    assert_eq!(json(&o)["code"], "unknown_recipient");
    // Unknown message.
    let o = mv(&a, "right", &["status", "00000000000000000000000000000000"]);
    assert_eq!(o.status.code(), Some(3));
    // Usage errors are clap's.
    let o = mv(&a, "right", &["send"]);
    assert_eq!(o.status.code(), Some(2));
    // A damaged invite is refused clearly.
    let o = mv(&a, "right", &["import", "mailvortex:not-a-descriptor"]);
    assert_eq!(o.status.code(), Some(6));
    assert!(String::from_utf8_lossy(&o.stderr).contains("invite"));
}

#[test]
fn levels_describe_the_measured_figures_without_a_node() {
    let dir = tempfile::tempdir().expect("tempdir");
    let home = dir.path().join("none");
    let o = mv(&home, "", &["levels"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8_lossy(&o.stdout);
    for level in ["direct", "fast", "standard", "strong", "maximum"] {
        assert!(text.contains(level), "{level} missing:\n{text}");
    }
    assert!(text.contains("hides you among about"), "{text}");
    let o = mv(&home, "", &["--json", "levels"]);
    let v = json(&o);
    let levels = v.as_array().expect("array");
    assert_eq!(levels.len(), 5);
    assert_eq!(levels[2]["level"], "standard");
    assert!(levels[2]["sender_entropy_bits"].as_f64().expect("bits") > 1.0);
    assert!(!home.exists(), "describing levels must not create a node");
}

#[test]
fn a_relay_imports_a_list_that_names_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (r1, r2, d) = (
        dir.path().join("r1"),
        dir.path().join("r2"),
        dir.path().join("d"),
    );
    init(&r1, "p", "relay1@r1.example", "public");
    init(&r2, "p", "relay2@r2.example", "public");
    init(&d, "p", "dir@d.example", "public");
    let (f1, f2, list) = (
        dir.path().join("r1.desc"),
        dir.path().join("r2.desc"),
        dir.path().join("relays.bin"),
    );
    for (home, f) in [(&r1, &f1), (&r2, &f2)] {
        let o = mv(home, "p", &["export-descriptor", f.to_str().expect("path")]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let signed = json(&mv(
        &d,
        "p",
        &[
            "--json",
            "relays",
            "sign",
            "--out",
            list.to_str().expect("path"),
            f1.to_str().expect("path"),
            f2.to_str().expect("path"),
        ],
    ));
    let signer = signed["signer"].as_str().expect("signer").to_string();
    let o = mv(
        &r1,
        "p",
        &[
            "--json",
            "relays",
            "import",
            list.to_str().expect("path"),
            "--signer",
            &signer,
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));
    let out = json(&o);
    assert_eq!(out["imported"][0]["address"], "relay2@r2.example");
    assert_eq!(out["imported"].as_array().map(Vec::len), Some(1));
    assert_eq!(out["skipped"][0]["address"], "relay1@r1.example");
    // Text output; with stderr a pipe (as here), log lines carry no colour codes.
    let text = mv_env(
        &r1,
        "p",
        &[
            "relays",
            "import",
            list.to_str().expect("path"),
            "--signer",
            &signer,
        ],
        &[("MAILVORTEX_LOG", "info")],
    );
    assert!(text.status.success());
    let stdout = String::from_utf8_lossy(&text.stdout);
    assert!(stdout.contains("1 relays imported"), "{stdout}");
    assert!(stdout.contains("skipped relay1@r1.example"), "{stdout}");
    let stderr = String::from_utf8_lossy(&text.stderr);
    assert!(stderr.contains("relay list entry skipped"), "{stderr}");
    assert!(
        !stderr.contains("\x1b["),
        "colour codes in piped logs: {stderr:?}"
    );
}

#[test]
fn help_shows_the_options_an_operator_may_need() {
    let o = Command::new(env!("CARGO_BIN_EXE_mailvortex"))
        .arg("--help")
        .output()
        .expect("mailvortex runs");
    assert!(o.status.success());
    let help = String::from_utf8_lossy(&o.stdout);
    for needle in [
        "--time-factor",
        "tests and simulations",
        "--time-origin",
        "MAILVORTEX_TIME_ORIGIN",
        "MAILVORTEX_HOME",
    ] {
        assert!(
            help.contains(needle),
            "{needle} missing from --help:\n{help}"
        );
    }
}

#[test]
fn account_add_refuses_a_server_it_cannot_reach_and_saves_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let a = dir.path().join("a");
    let o = mv(&a, "p", &["init"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = mv(
        &a,
        "p",
        &[
            "account",
            "add",
            "--address",
            "alice@a.example",
            "--imap-host",
            "imap.example.org",
            "--imap-port",
            "1",
            "--smtp-host",
            "smtp.example.org",
            "--connect-ip",
            "127.0.0.1",
        ],
    );
    assert_eq!(o.status.code(), Some(5), "{o:?}");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("cannot connect to imap.example.org:1 (at 127.0.0.1)"),
        "{err}"
    );
    let accounts = json(&mv(&a, "p", &["--json", "account", "list"]));
    assert_eq!(accounts.as_array().map(Vec::len), Some(0), "{accounts}");
}
