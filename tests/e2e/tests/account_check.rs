//! `mailvortex account add` logs in on IMAP and SMTP before saving: a right password is
//! saved; a wrong password, a dead port and an untrusted certificate each fail with exit 5, a
//! message saying which, and nothing saved; `--no-check` saves without connecting.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use mailvortex_e2e::binary::mailvortex_bin;
use mailvortex_e2e::exclusive;
use mailvortex_e2e::harness::{Harness, HarnessOptions};

const PASSPHRASE: &str = "e2e passphrase of the account check";

fn mv(home: &Path, args: &[&str], password: &str) -> Output {
    Command::new(mailvortex_bin())
        .arg("--home")
        .arg(home)
        .args(args)
        .env("MAILVORTEX_PASSPHRASE", PASSPHRASE)
        .env("MAILVORTEX_ACCOUNT_PASSWORD", password)
        .env_remove("MAILVORTEX_HOME")
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run mailvortex: {e}"))
}

fn text(o: &Output) -> String {
    format!(
        "exit {:?}\nstdout: {}\nstderr: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn saved_accounts(home: &Path) -> Vec<String> {
    let o = mv(home, &["--json", "account", "list"], "");
    assert!(o.status.success(), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    v.as_array()
        .expect("array")
        .iter()
        .map(|a| a["name"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn account_add_logs_in_first_and_says_what_failed() {
    let _serial = exclusive();
    let h = Harness::start(&HarnessOptions {
        name: "acct".into(),
        ip_prefix: "127.0.27".into(),
        keep_expunged: false,
    });
    let acct = h.account("alice");
    let home = h.path("nodes/alice");
    std::fs::create_dir_all(home.parent().expect("parent")).expect("nodes dir");
    let o = mv(&home, &["init"], "");
    assert!(o.status.success(), "{}", text(&o));

    let ca = h.ca_cert().display().to_string();
    let imaps = h.var("MAILTEST_IMAPS_PORT").to_string();
    let smtps = h.var("MAILTEST_SUBMISSIONS_PORT").to_string();
    let base = |name: &'static str, imap_port: &str, with_ca: bool| -> Vec<String> {
        let mut v: Vec<String> = [
            "account",
            "add",
            "--name",
            name,
            "--address",
            &acct.address,
            "--imap-host",
            &acct.domain,
            "--imap-port",
            imap_port,
            "--smtp-host",
            &acct.domain,
            "--smtp-port",
            &smtps,
            "--connect-ip",
            &acct.host,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        if with_ca {
            v.extend(["--ca-file".to_string(), ca.clone()]);
        }
        v
    };
    let run = |args: &[String], password: &str| {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        mv(&home, &args, password)
    };

    // A wrong password: IMAP refuses it; exit 5, the message says so, nothing saved.
    let o = run(&base("main", &imaps, true), "not the password");
    assert_eq!(o.status.code(), Some(5), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(&format!("IMAP login refused for {}", acct.address))
            && err.contains("wrong password?"),
        "{}",
        text(&o)
    );
    assert!(saved_accounts(&home).is_empty());
    // The same as JSON, with a code to branch on.
    let mut json_args = vec!["--json".to_string()];
    json_args.extend(base("main", &imaps, true));
    let o = run(&json_args, "not the password");
    assert_eq!(o.status.code(), Some(5), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON error");
    assert_eq!(v["code"], "login_refused", "{v}");

    // A send-only account with a wrong password: SMTP refuses it.
    let mut smtp_only = base("send", &imaps, true);
    let i = smtp_only
        .iter()
        .position(|a| a == "--imap-host")
        .expect("imap host");
    smtp_only.drain(i..i + 4); // --imap-host H --imap-port P
    let o = run(&smtp_only, "not the password");
    assert_eq!(o.status.code(), Some(5), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("SMTP login refused for"),
        "{}",
        text(&o)
    );
    assert!(saved_accounts(&home).is_empty());

    // A dead port: nothing listens there.
    let o = run(&base("main", "1", true), &acct.password);
    assert_eq!(o.status.code(), Some(5), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr)
            .contains(&format!("cannot connect to {}:1", acct.domain)),
        "{}",
        text(&o)
    );
    assert!(saved_accounts(&home).is_empty());

    // No --ca-file: the test CA is not trusted.
    let o = run(&base("main", &imaps, false), &acct.password);
    assert_eq!(o.status.code(), Some(5), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr)
            .contains(&format!("certificate of {} is not trusted", acct.domain)),
        "{}",
        text(&o)
    );
    assert!(saved_accounts(&home).is_empty());

    // --no-check saves without connecting (the dead port is not noticed).
    let mut offline = base("offline", "1", true);
    offline.push("--no-check".into());
    let o = run(&offline, "whatever");
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(saved_accounts(&home), ["offline"]);

    // The right password: both servers let us in, and it is saved.
    let o = run(&base("main", &imaps, true), &acct.password);
    assert!(o.status.success(), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("IMAP") && out.contains("SMTP") && out.contains("accepted the login"),
        "{}",
        text(&o)
    );
    let mut saved = saved_accounts(&home);
    saved.sort();
    assert_eq!(saved, ["main", "offline"]);
}
