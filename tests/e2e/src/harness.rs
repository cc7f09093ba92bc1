//! The real mail providers: `tests/harness/mailservers-*.sh` driven from Rust.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use crate::binary::workspace_root;

/// How to start the providers.
#[derive(Debug, Clone)]
pub struct HarnessOptions {
    /// Short name used in the temporary directory (`/tmp/mvx-NAME.XXXXXX`).
    pub name: String,
    /// `MAILTEST_IP_PREFIX` (`127.0.N`): each test uses its own, so that a harness left
    /// running by a killed test run cannot block the next test's ports.
    pub ip_prefix: String,
    /// Keep every expunged mail (`MAILTEST_LAZY_EXPUNGE=yes`), for leak checks and replays.
    pub keep_expunged: bool,
}

/// One mail account of the harness.
#[derive(Debug, Clone)]
pub struct Account {
    /// `relay1@a.test`
    pub address: String,
    /// Its password.
    pub password: String,
    /// Its provider's IP address.
    pub host: String,
    /// Its provider's domain (`a.test`).
    pub domain: String,
}

/// Running providers. Stopped (and their directory deleted) on drop; on a panic the
/// directory is kept and its path printed, as with `MVX_E2E_KEEP=1`.
#[derive(Debug)]
pub struct Harness {
    /// The harness directory (≤ 60 characters).
    pub dir: PathBuf,
    /// `harness.env`, parsed.
    pub env: HashMap<String, String>,
    scripts: PathBuf,
}

/// Panics unless we are root: the harness starts daemons that switch users.
pub fn require_root() {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let uid = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap_or("?");
    assert_eq!(
        uid, "0",
        "the e2e tests start real Postfix and Dovecot (tests/harness) and need root (effective uid is {uid}); \
         run `sudo -E cargo test -p mailvortex-e2e`"
    );
}

/// Parses a `harness.env` file (KEY=value lines, `#` comments).
pub fn parse_env(text: &str) -> HashMap<String, String> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

impl Harness {
    /// Installs Postfix and Dovecot if missing and starts the providers.
    pub fn start(options: &HarnessOptions) -> Harness {
        require_root();
        let started = Instant::now();
        let scripts = workspace_root().join("tests/harness");
        stop_stale(&scripts, &options.name);
        let dir = tempfile::Builder::new()
            .prefix(&format!("mvx-{}.", options.name))
            .tempdir_in("/tmp")
            .unwrap_or_else(|e| panic!("cannot create a temporary directory: {e}"))
            .keep();
        assert!(
            dir.as_os_str().len() <= 60,
            "harness directory path too long: {}",
            dir.display()
        );
        let out = Command::new("bash")
            .arg(scripts.join("mailservers-up.sh"))
            .arg(&dir)
            .env("MAILTEST_IP_PREFIX", &options.ip_prefix)
            .env(
                "MAILTEST_LAZY_EXPUNGE",
                if options.keep_expunged { "yes" } else { "no" },
            )
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run mailservers-up.sh: {e}"));
        if !out.status.success() {
            panic!(
                "mailservers-up.sh {} failed ({}):\n{}{}",
                dir.display(),
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let text = std::fs::read_to_string(dir.join("harness.env"))
            .unwrap_or_else(|e| panic!("reading harness.env: {e}"));
        let env = parse_env(&text);
        eprintln!(
            "[e2e] mail providers up in {:.1} s: {} ({})",
            started.elapsed().as_secs_f64(),
            dir.display(),
            env.get("MAILTEST_PROVIDERS")
                .map(String::as_str)
                .unwrap_or("?")
        );
        Harness { dir, env, scripts }
    }

    /// A value of `harness.env`.
    pub fn var(&self, key: &str) -> &str {
        self.env
            .get(key)
            .map(String::as_str)
            .unwrap_or_else(|| panic!("harness.env has no {key}"))
    }

    /// The test CA's certificate (PEM).
    pub fn ca_cert(&self) -> PathBuf {
        PathBuf::from(self.var("MAILTEST_CA_CERT"))
    }

    /// `DIR/logs`.
    pub fn logs(&self) -> PathBuf {
        PathBuf::from(self.var("MAILTEST_LOGS"))
    }

    /// `DIR/maildirs`.
    pub fn maildirs(&self) -> PathBuf {
        PathBuf::from(self.var("MAILTEST_MAILDIRS"))
    }

    /// The Maildir of an account (`maildirs/<domain>/<local>/Maildir`).
    pub fn maildir(&self, address: &str) -> PathBuf {
        let (local, domain) = address.split_once('@').unwrap_or((address, ""));
        self.maildirs().join(domain).join(local).join("Maildir")
    }

    /// The Maildir sub-folder with expunged mails (`.Expunged`), if they are kept.
    pub fn expunged_folder(&self) -> Option<&str> {
        self.env
            .get("MAILTEST_EXPUNGED_FOLDER")
            .map(String::as_str)
            .filter(|s| !s.is_empty())
    }

    /// An account by local part (`alice`, `relay3`).
    pub fn account(&self, local: &str) -> Account {
        let v = self.var(&format!("MAILTEST_ACCOUNT_{}", local.to_uppercase()));
        let f: Vec<&str> = v.split(',').collect();
        assert_eq!(
            f.len(),
            7,
            "MAILTEST_ACCOUNT_{local} has {} fields",
            f.len()
        );
        Account {
            address: f[0].to_string(),
            password: f[1].to_string(),
            host: f[2].to_string(),
            domain: f[0].split_once('@').map(|x| x.1).unwrap_or("").to_string(),
        }
    }

    /// The relay accounts (`relay1@a.test`, ...).
    pub fn relay_addresses(&self) -> Vec<String> {
        self.var("MAILTEST_RELAYS")
            .split(',')
            .map(String::from)
            .collect()
    }

    /// `(domain, ip)` of every provider.
    pub fn providers(&self) -> Vec<(String, String)> {
        self.var("MAILTEST_PROVIDERS")
            .split(',')
            .filter_map(|p| p.split_once('='))
            .map(|(d, ip)| (d.to_string(), ip.to_string()))
            .collect()
    }

    /// The IP address of a provider.
    pub fn provider_ip(&self, domain: &str) -> String {
        self.providers()
            .into_iter()
            .find(|(d, _)| d == domain)
            .map(|(_, ip)| ip)
            .unwrap_or_else(|| panic!("no provider {domain}"))
    }

    /// The inbound SMTP (MX) port.
    pub fn smtp_port(&self) -> u16 {
        self.var("MAILTEST_SMTP_PORT").parse().unwrap_or(2525)
    }

    /// Runs `mailservers-fault.sh DIR ARGS...` and returns its standard output. The fault
    /// is in effect when this returns.
    pub fn fault(&self, args: &[&str]) -> String {
        let out = Command::new("bash")
            .arg(self.scripts.join("mailservers-fault.sh"))
            .arg(&self.dir)
            .args(args)
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run mailservers-fault.sh: {e}"));
        assert!(
            out.status.success(),
            "mailservers-fault.sh {args:?} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Mails still queued at any provider (one JSON line each, from `postqueue -j`).
    pub fn queued(&self) -> Vec<String> {
        self.fault(&["queue"])
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(String::from)
            .collect()
    }

    /// Stops the providers (keeps the directory).
    pub fn stop(&self) {
        let _ = Command::new("bash")
            .arg(self.scripts.join("mailservers-down.sh"))
            .arg(&self.dir)
            .stdin(std::process::Stdio::null())
            .output();
    }

    /// Whether to keep the directory after the test.
    fn keep(&self) -> bool {
        std::thread::panicking() || std::env::var("MVX_E2E_KEEP").is_ok_and(|v| v == "1")
    }

    /// A path below the harness directory (node homes, payload files...).
    pub fn path(&self, rel: impl AsRef<Path>) -> PathBuf {
        self.dir.join(rel)
    }
}

/// Stops the providers of earlier runs of the same test that were killed before they could
/// clean up (e.g. by a timeout): their fixed ports would block this run. Their directories
/// are kept. Callers hold [`crate::exclusive`], so no other run of this test is active.
fn stop_stale(scripts: &Path, name: &str) {
    let prefix = format!("mvx-{name}.");
    let Ok(rd) = std::fs::read_dir("/tmp") else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        let is_ours = p
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with(&prefix));
        let running = std::fs::read_dir(p.join("providers")).is_ok_and(|d| {
            d.flatten().any(|x| {
                ["spool/pid/master.pid", "run/master.pid"]
                    .iter()
                    .any(|f| pid_file_alive(&x.path().join(f)))
            })
        });
        if is_ours && p.join(".mailtest").is_file() && running {
            eprintln!(
                "[e2e] stopping the providers of an earlier, interrupted run: {}",
                p.display()
            );
            let _ = Command::new("bash")
                .arg(scripts.join("mailservers-down.sh"))
                .arg(&p)
                .stdin(std::process::Stdio::null())
                .output();
        }
    }
}

/// Whether the process named in a pid file is alive (and not a zombie).
fn pid_file_alive(path: &Path) -> bool {
    let Ok(text) = std::fs::read_to_string(path) else {
        return false;
    };
    let Ok(pid) = text.trim().parse::<u32>() else {
        return false;
    };
    std::fs::read_to_string(format!("/proc/{pid}/status")).is_ok_and(|s| {
        s.lines()
            .find_map(|l| l.strip_prefix("State:"))
            .is_some_and(|st| !st.trim_start().starts_with('Z'))
    })
}

impl Drop for Harness {
    fn drop(&mut self) {
        self.stop();
        if self.keep() {
            eprintln!(
                "[e2e] kept {} (mailboxes, logs, node homes: node stderr in nodes/*.stderr)",
                self.dir.display()
            );
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}
