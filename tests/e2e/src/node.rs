//! One MailVortex node: a home directory driven by the real `mailvortex` binary, and its
//! daemon (`mailvortex --json run`) as a child process whose events are collected.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde_json::Value;

/// Protocol time shared by every process of a network: `--time-factor F` with the same
/// `--time-origin` (unix ms), so that a `send`, a restarted daemon and every other node
/// agree on protocol time.
#[derive(Debug, Clone, Copy)]
pub struct ClockCfg {
    /// Protocol time runs this many times faster than real time.
    pub factor: f64,
    /// Unix ms at which protocol time equals real time.
    pub origin_ms: u64,
}

impl ClockCfg {
    /// A clock starting now.
    pub fn starting_now(factor: f64) -> ClockCfg {
        let origin_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        ClockCfg { factor, origin_ms }
    }
}

/// One JSON event line of a daemon.
#[derive(Debug, Clone)]
pub struct Event {
    /// When the line was read.
    pub at: Instant,
    /// Which run of the daemon printed it (0 = first start, +1 per restart).
    pub run: u32,
    /// The event (`{"event": "packet_relayed", ...}`). Non-JSON lines become
    /// `{"event": "_line", "line": ...}`; the end of the daemon's output `{"event": "_eof"}`.
    pub json: Value,
}

impl Event {
    /// The event's kind (`packet_relayed`).
    pub fn kind(&self) -> &str {
        self.json["event"].as_str().unwrap_or("")
    }

    /// A string field.
    pub fn field(&self, key: &str) -> Option<&str> {
        self.json[key].as_str()
    }

    /// Whether this is a `kind` event whose `message_id` is `id`.
    pub fn is(&self, kind: &str, id: &str) -> bool {
        self.kind() == kind && self.field("message_id") == Some(id)
    }
}

#[derive(Debug, Default)]
struct LogState {
    events: Vec<Event>,
    /// Run number of the daemon started last.
    run: u32,
    /// Whether that run should still be alive (false after a deliberate kill).
    alive: bool,
}

/// Every event a node's daemon printed, over all its runs.
#[derive(Debug)]
pub struct EventLog {
    name: String,
    stderr: PathBuf,
    state: Mutex<LogState>,
    cv: Condvar,
}

impl EventLog {
    fn lock(&self) -> MutexGuard<'_, LogState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn push(&self, e: Event) {
        self.lock().events.push(e);
        self.cv.notify_all();
    }

    /// Whether the daemon is meant to be running (started, not deliberately killed).
    pub fn expected_alive(&self) -> bool {
        self.lock().alive
    }

    /// Number of events so far (a mark for [`EventLog::wait_from`]).
    pub fn len(&self) -> usize {
        self.lock().events.len()
    }

    /// Whether no event arrived yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A copy of all events.
    pub fn snapshot(&self) -> Vec<Event> {
        self.lock().events.clone()
    }

    /// How many events match.
    pub fn count(&self, pred: impl Fn(&Event) -> bool) -> usize {
        self.lock().events.iter().filter(|e| pred(e)).count()
    }

    /// Whether some event matches.
    pub fn any(&self, pred: impl Fn(&Event) -> bool) -> bool {
        self.lock().events.iter().any(pred)
    }

    /// Events of one kind.
    pub fn of_kind(&self, kind: &str) -> Vec<Event> {
        self.lock()
            .events
            .iter()
            .filter(|e| e.kind() == kind)
            .cloned()
            .collect()
    }

    /// Waits up to `timeout` for the first event at index `from` or later that matches.
    /// `Err(true)` if the daemon died meanwhile without being killed on purpose,
    /// `Err(false)` on timeout.
    pub fn try_wait_from(
        &self,
        from: usize,
        timeout: Duration,
        pred: impl Fn(&Event) -> bool,
    ) -> Result<Event, bool> {
        let deadline = Instant::now() + timeout;
        let mut st = self.lock();
        loop {
            if let Some(e) = st.events.iter().skip(from).find(|e| pred(e)) {
                return Ok(e.clone());
            }
            let died = st.alive
                && st
                    .events
                    .iter()
                    .any(|e| e.run == st.run && e.kind() == "_eof");
            if died {
                return Err(true);
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(false);
            }
            st = self
                .cv
                .wait_timeout(st, (deadline - now).min(Duration::from_millis(500)))
                .map(|(g, _)| g)
                .unwrap_or_else(|e| e.into_inner().0);
        }
    }

    /// A failure message: what was awaited, the last events, the end of the stderr log.
    pub fn failure(&self, what: &str, why: &str) -> String {
        let last: Vec<String> = self
            .snapshot()
            .iter()
            .rev()
            .take(12)
            .map(|e| format!("  [run {}] {}", e.run, e.json))
            .collect();
        format!(
            "{}: waiting for {what}: {why}.\nLast events (newest first):\n{}\nEnd of its stderr ({}):\n{}",
            self.name,
            last.join("\n"),
            self.stderr.display(),
            tail(&self.stderr, 25)
        )
    }

    /// Waits for the first event at index `from` or later that matches; panics after
    /// `timeout`, or at once if the daemon died without being killed on purpose.
    pub fn wait_from(
        &self,
        from: usize,
        timeout: Duration,
        what: &str,
        pred: impl Fn(&Event) -> bool,
    ) -> Event {
        match self.try_wait_from(from, timeout, pred) {
            Ok(e) => e,
            Err(true) => panic!("{}", self.failure(what, "its daemon exited unexpectedly")),
            Err(false) => panic!(
                "{}",
                self.failure(what, &format!("timed out after {timeout:?}"))
            ),
        }
    }

    /// [`EventLog::wait_from`] over all events.
    pub fn wait(&self, timeout: Duration, what: &str, pred: impl Fn(&Event) -> bool) -> Event {
        self.wait_from(0, timeout, what, pred)
    }
}

/// The last `n` lines of a file.
pub fn tail(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// A node.
#[derive(Debug)]
pub struct Node {
    /// `alice`, `bob`, `relay3`.
    pub name: String,
    /// Its mail address.
    pub address: String,
    /// Its home directory.
    pub home: PathBuf,
    /// Events of its daemon.
    pub events: Arc<EventLog>,
    bin: PathBuf,
    passphrase: String,
    clock: ClockCfg,
    child: Arc<Mutex<Option<Child>>>,
    runs: u32,
    stderr: PathBuf,
}

impl Node {
    /// A node whose home will be `home` (nothing is created yet).
    pub fn new(name: &str, address: &str, home: PathBuf, bin: PathBuf, clock: ClockCfg) -> Node {
        let stderr = home.with_extension("stderr");
        Node {
            name: name.to_string(),
            address: address.to_string(),
            events: Arc::new(EventLog {
                name: name.to_string(),
                stderr: stderr.clone(),
                state: Mutex::new(LogState::default()),
                cv: Condvar::new(),
            }),
            home,
            bin,
            passphrase: format!("e2e passphrase of {name}"),
            clock,
            child: Arc::new(Mutex::new(None)),
            runs: 0,
            stderr,
        }
    }

    fn command(&self) -> Command {
        let mut c = Command::new(&self.bin);
        c.arg("--home")
            .arg(&self.home)
            .arg("--time-factor")
            .arg(self.clock.factor.to_string())
            .arg("--time-origin")
            .arg(self.clock.origin_ms.to_string())
            .env("MAILVORTEX_PASSPHRASE", &self.passphrase)
            .env_remove("MAILVORTEX_HOME")
            .stdin(Stdio::null());
        c
    }

    /// Runs `mailvortex --json ARGS` (with `envs`) and returns its JSON output.
    pub fn cli_env(&self, args: &[&str], envs: &[(&str, &str)]) -> Value {
        let out = self.cli_raw(true, args, envs);
        serde_json::from_str(&out).unwrap_or_else(|e| {
            panic!(
                "{}: `mailvortex {}` printed no JSON ({e}): {out}",
                self.name,
                args.join(" ")
            )
        })
    }

    /// Runs `mailvortex --json ARGS` and returns its JSON output.
    pub fn cli(&self, args: &[&str]) -> Value {
        self.cli_env(args, &[])
    }

    /// Runs `mailvortex [--json] ARGS`; panics with its output if it fails; returns stdout.
    pub fn cli_raw(&self, json: bool, args: &[&str], envs: &[(&str, &str)]) -> String {
        let mut c = self.command();
        if json {
            c.arg("--json");
        }
        c.args(args);
        for (k, v) in envs {
            c.env(k, v);
        }
        let out = c
            .output()
            .unwrap_or_else(|e| panic!("{}: cannot run {}: {e}", self.name, self.bin.display()));
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        if !out.status.success() {
            panic!(
                "{}: `mailvortex {}` failed ({}):\n{stdout}{}",
                self.name,
                args.join(" "),
                out.status,
                String::from_utf8_lossy(&out.stderr)
            );
        }
        stdout
    }

    /// Starts the daemon (`mailvortex --json run`).
    pub fn start(&mut self) {
        assert!(
            self.child_slot().is_none(),
            "{} is already running",
            self.name
        );
        let stderr = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.stderr)
            .unwrap_or_else(|e| panic!("{}: {e}", self.stderr.display()));
        let mut c = self.command();
        c.arg("--json")
            .arg("run")
            .env(
                "MAILVORTEX_LOG",
                std::env::var("MVX_E2E_NODE_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdout(Stdio::piped())
            .stderr(stderr);
        let mut child = c
            .spawn()
            .unwrap_or_else(|e| panic!("{}: cannot start the daemon: {e}", self.name));
        let stdout = child.stdout.take().expect("piped stdout");
        let run = self.runs;
        self.runs += 1;
        {
            let mut st = self.events.lock();
            st.run = run;
            st.alive = true;
        }
        *self.child_slot() = Some(child);
        let log = self.events.clone();
        let slot = self.child.clone();
        std::thread::Builder::new()
            .name(format!("{}-events", self.name))
            .spawn(move || {
                for line in BufReader::new(stdout).lines() {
                    let Ok(line) = line else { break };
                    let json = serde_json::from_str::<Value>(&line)
                        .unwrap_or_else(|_| serde_json::json!({"event": "_line", "line": line}));
                    log.push(Event {
                        at: Instant::now(),
                        run,
                        json,
                    });
                }
                // Record how the daemon ended (it may take a moment to exit after closing
                // its output); a deliberate kill9 has already taken the child.
                let mut status = String::from("killed by the test");
                for _ in 0..100 {
                    let mut g = slot.lock().unwrap_or_else(|e| e.into_inner());
                    match g.as_mut().map(Child::try_wait) {
                        Some(Ok(Some(st))) => {
                            status = st.to_string();
                            break;
                        }
                        Some(Ok(None)) => status = "closed its output but still runs".into(),
                        Some(Err(e)) => {
                            status = e.to_string();
                            break;
                        }
                        None => break,
                    }
                    drop(g);
                    std::thread::sleep(Duration::from_millis(20));
                }
                log.push(Event {
                    at: Instant::now(),
                    run,
                    json: serde_json::json!({"event": "_eof", "status": status}),
                });
            })
            .expect("spawning a reader thread");
    }

    fn child_slot(&self) -> MutexGuard<'_, Option<Child>> {
        self.child.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Kills the daemon with SIGKILL (no chance to clean up) and reaps it.
    pub fn kill9(&mut self) {
        self.events.lock().alive = false;
        let taken = self.child_slot().take();
        if let Some(mut child) = taken {
            let _ = child.kill(); // SIGKILL on Unix
            let _ = child.wait();
        }
    }

    /// Starts the daemon again after [`Node::kill9`].
    pub fn restart(&mut self) {
        self.kill9();
        self.start();
    }

    /// Whether the daemon runs.
    pub fn is_running(&self) -> bool {
        match self.child_slot().as_mut() {
            Some(c) => matches!(c.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// The daemon's process id.
    pub fn pid(&self) -> Option<u32> {
        self.child_slot().as_ref().map(Child::id)
    }

    /// Panics (with its stderr) if the daemon should run but does not.
    pub fn assert_running(&self) {
        if self.events.expected_alive() && !self.is_running() {
            let last: Vec<String> = self
                .events
                .snapshot()
                .iter()
                .rev()
                .take(5)
                .map(|e| e.json.to_string())
                .collect();
            panic!(
                "{}: the daemon is not running; last events: {last:?}\nEnd of its stderr ({}):\n{}",
                self.name,
                self.stderr.display(),
                tail(&self.stderr, 25)
            );
        }
    }

    /// Path of the daemon's stderr log.
    pub fn stderr_path(&self) -> &Path {
        &self.stderr
    }

    /// The clock settings.
    pub fn clock(&self) -> ClockCfg {
        self.clock
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// A line of `/proc/PID/status` in kB (`VmHWM`, `VmRSS`).
pub fn proc_status_kb(pid: u32, key: &str) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

/// Resets the peak RSS (`VmHWM`) of a process to its current RSS (Linux ≥ 4.0, needs
/// permission to write `/proc/PID/clear_refs`).
pub fn reset_peak_rss(pid: u32) -> bool {
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5").is_ok()
}
