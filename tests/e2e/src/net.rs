//! A whole MailVortex network on the harness's providers: alice and bob (passive users) and
//! up to seven public relays, set up exactly as docs/running-a-node.md tells people to: a
//! directory node signs the relay list, every node imports it, the two ends exchange invites.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rand::{Rng, RngCore};

use crate::binary::mailvortex_bin;
use crate::harness::{Harness, HarnessOptions};
use crate::node::{ClockCfg, Node};

/// How to build a network.
#[derive(Debug, Clone)]
pub struct NetOptions {
    /// Test name (temporary directory name).
    pub name: String,
    /// `MAILTEST_IP_PREFIX` of the providers.
    pub ip_prefix: String,
    /// Relays to run (1..=7): relay1@a.test, relay2@b.test, ...
    pub relays: usize,
    /// Protocol time speed-up. Mixing delays shrink by this factor; so does the validity
    /// of the nodes' keys (one week per epoch): see [`Network::protocol_budget`].
    pub time_factor: f64,
    /// Keep expunged mails in the Maildirs (leak checks, replays).
    pub keep_expunged: bool,
}

impl NetOptions {
    /// Defaults: seven relays, time factor 1000, expunged mails not kept.
    pub fn new(name: &str, ip_prefix: &str) -> NetOptions {
        NetOptions {
            name: name.into(),
            ip_prefix: ip_prefix.into(),
            relays: 7,
            time_factor: 1000.0,
            keep_expunged: false,
        }
    }
}

/// A message that was sent.
#[derive(Debug, Clone)]
pub struct Sent {
    /// Message id (32 hex digits).
    pub id: String,
    /// Level.
    pub level: String,
    /// The file that was sent.
    pub file: PathBuf,
    /// Its subject.
    pub subject: String,
    /// Body size.
    pub size: u64,
    /// When `mailvortex send` was started.
    pub started: Instant,
    /// Packets it was split into (from the sender's status).
    pub packets: usize,
}

/// When a message arrived, and its receipt.
#[derive(Debug, Clone, Copy)]
pub struct Arrival {
    /// `message_received` at the recipient, after `send` started.
    pub received: Duration,
    /// `message_delivered` (the receipt) at the sender, after `send` started.
    pub receipt: Duration,
}

/// The running network. Dropping it kills every daemon and stops the providers.
#[derive(Debug)]
pub struct Network {
    /// Relays (relay1 ...).
    pub relays: Vec<Node>,
    /// The sender.
    pub alice: Node,
    /// The recipient.
    pub bob: Node,
    /// Shared protocol clock.
    pub clock: ClockCfg,
    /// When the network was created (protocol time origin).
    pub started: Instant,
    /// The providers (dropped last).
    pub harness: Harness,
}

impl Network {
    /// Starts the providers, creates and introduces the nodes, starts every daemon.
    pub fn start(opts: &NetOptions) -> Network {
        let started = Instant::now();
        let bin = mailvortex_bin();
        let harness = Harness::start(&HarnessOptions {
            name: opts.name.clone(),
            ip_prefix: opts.ip_prefix.clone(),
            keep_expunged: opts.keep_expunged,
        });
        let clock = ClockCfg::starting_now(opts.time_factor);
        let nodes_dir = harness.path("nodes");
        let desc_dir = harness.path("descriptors");
        for d in [&nodes_dir, &desc_dir] {
            std::fs::create_dir_all(d).unwrap_or_else(|e| panic!("{}: {e}", d.display()));
        }
        assert!((1..=7).contains(&opts.relays), "1..=7 relays");
        let mut specs: Vec<(String, bool)> = vec![("alice".into(), false), ("bob".into(), false)];
        specs.extend((1..=opts.relays).map(|i| (format!("relay{i}"), true)));

        // Create the nodes, two at a time (each CLI call derives the vault key with Argon2id).
        let mut made: Vec<Node> = Vec::new();
        for pair in specs.chunks(2) {
            let pair_nodes: Vec<Node> = std::thread::scope(|s| {
                let handles: Vec<_> = pair
                    .iter()
                    .map(|(name, public)| {
                        let (h, bin, nodes_dir, desc_dir) = (&harness, &bin, &nodes_dir, &desc_dir);
                        s.spawn(move || {
                            create_node(h, bin, clock, nodes_dir, desc_dir, name, *public)
                        })
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
                    .collect()
            });
            made.extend(pair_nodes);
        }
        // As docs/running-a-node.md and README.md tell people: a directory node signs the
        // relays' descriptors into a relay list, every node imports that list naming the
        // directory, and the two ends exchange invite links. Nothing else: no relay knows
        // alice or bob beforehand (the sender's route carries the recipient's address proof).
        let directory = Node::new(
            "directory",
            "directory@invalid.test",
            nodes_dir.join("directory"),
            bin.clone(),
            clock,
        );
        directory.cli(&["init"]);
        let list = harness.path("relays.bin");
        let list_s = list.display().to_string();
        let mut sign: Vec<String> = ["relays", "sign", "--out", &list_s, "--days", "30"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        sign.extend(
            made.iter()
                .filter(|n| n.name.starts_with("relay"))
                .map(|n| {
                    desc_dir
                        .join(format!("{}.descriptor", n.name))
                        .display()
                        .to_string()
                }),
        );
        let refs: Vec<&str> = sign.iter().map(String::as_str).collect();
        let signed = directory.cli(&refs);
        let signer = signed["signer"]
            .as_str()
            .unwrap_or_else(|| panic!("relays sign printed no signer: {signed}"))
            .to_string();
        for chunk in made.chunks(2) {
            std::thread::scope(|s| {
                for node in chunk {
                    let (list_s, signer) = (&list_s, &signer);
                    s.spawn(move || {
                        let r = node.cli(&["relays", "import", list_s, "--signer", signer]);
                        assert!(
                            r["imported"].as_array().is_some_and(|a| !a.is_empty()),
                            "{}: {r}",
                            node.name
                        );
                    });
                }
            });
        }
        let invite = |n: &Node| -> String {
            let v = n.cli(&["invite"]);
            v["invite"]
                .as_str()
                .unwrap_or_else(|| panic!("{}: invite printed no link: {v}", n.name))
                .to_string()
        };
        let (alice_link, bob_link) = (invite(&made[0]), invite(&made[1]));
        made[0].cli(&["import", &bob_link]);
        made[1].cli(&["import", &alice_link]);
        let mut alice = made.remove(0);
        let mut bob = made.remove(0);
        let mut relays = made;
        alice.start();
        bob.start();
        for r in &mut relays {
            r.start();
        }
        std::thread::sleep(Duration::from_millis(300));
        for n in [&alice, &bob].into_iter().chain(relays.iter()) {
            n.assert_running();
        }
        crate::progress(
            started,
            format!("network of {} nodes running", relays.len() + 2),
        );
        Network {
            relays,
            alice,
            bob,
            clock,
            started,
            harness,
        }
    }

    /// How much longer (real time) the network can run before protocol time passes the
    /// end of the keys the descriptors were exchanged with (8 protocol days: each epoch
    /// key lives one week plus two days' grace, and the descriptor holds the current and
    /// the next one).
    pub fn protocol_budget(&self) -> Duration {
        let total = Duration::from_secs_f64(8.0 * 86_400.0 / self.clock.factor);
        total.saturating_sub(self.started.elapsed())
    }

    /// Panics if a daemon that should run has died (with its exit status and stderr).
    pub fn assert_all_running(&self) {
        for n in self.nodes() {
            n.assert_running();
        }
    }

    /// Waits for an event of `node` (from event index `from` on), checking every second that
    /// no daemon of the network died meanwhile.
    pub fn wait_event(
        &self,
        node: &Node,
        from: usize,
        timeout: Duration,
        what: &str,
        pred: impl Fn(&crate::node::Event) -> bool,
    ) -> crate::node::Event {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let step = left.min(Duration::from_secs(1));
            match node.events.try_wait_from(from, step, &pred) {
                Ok(e) => return e,
                Err(true) => panic!(
                    "{}",
                    node.events.failure(what, "its daemon exited unexpectedly")
                ),
                Err(false) if left <= step => {
                    panic!(
                        "{}",
                        node.events
                            .failure(what, &format!("timed out after {timeout:?}"))
                    )
                }
                Err(false) => self.assert_all_running(),
            }
        }
    }

    /// One line per node: when (seconds after `since`) its first and last event of each kind
    /// happened after `since`, and how many there were. For finding where time goes.
    pub fn timeline(&self, since: Instant) -> String {
        let mut out = String::new();
        for n in self.nodes() {
            let mut kinds: Vec<(String, f64, f64, usize)> = Vec::new();
            for e in n.events.snapshot().iter().filter(|e| e.at >= since) {
                let t = e.at.duration_since(since).as_secs_f64();
                match kinds.iter_mut().find(|k| k.0 == e.kind()) {
                    Some(k) => {
                        k.2 = t;
                        k.3 += 1;
                    }
                    None => kinds.push((e.kind().to_string(), t, t, 1)),
                }
            }
            let parts: Vec<String> = kinds
                .iter()
                .map(|(k, a, b, c)| format!("{k} x{c} {a:.2}..{b:.2}s"))
                .collect();
            out.push_str(&format!("  {:7} {}\n", n.name, parts.join(", ")));
        }
        out
    }

    /// Every node, mutably.
    pub fn nodes_mut(&mut self) -> Vec<&mut Node> {
        let mut v: Vec<&mut Node> = vec![&mut self.alice, &mut self.bob];
        v.extend(self.relays.iter_mut());
        v
    }

    /// Every node.
    pub fn nodes(&self) -> Vec<&Node> {
        let mut v: Vec<&Node> = vec![&self.alice, &self.bob];
        v.extend(self.relays.iter());
        v
    }

    /// Writes a payload file of `size` bytes below the harness directory: random bytes, or
    /// (with `marker`) text lines that each contain `marker`, for leak checks.
    pub fn payload(
        &self,
        name: &str,
        size: usize,
        marker: Option<&str>,
        rng: &mut impl RngCore,
    ) -> PathBuf {
        let dir = self.harness.path("payloads");
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
        let path = dir.join(name);
        let mut data = Vec::with_capacity(size + 128);
        match marker {
            None => {
                data.resize(size, 0);
                rng.fill_bytes(&mut data);
            }
            Some(m) => {
                const WORDS: [&str; 8] = [
                    "lorem", "ipsum", "dolor", "sit", "amet", "vortex", "mail", "onion",
                ];
                let mut line = 0u64;
                while data.len() < size {
                    let w1 = WORDS[rng.gen_range(0..WORDS.len())];
                    let w2 = WORDS[rng.gen_range(0..WORDS.len())];
                    let pad = rng.gen_range(0..3);
                    data.extend_from_slice(
                        format!("{:pad$}{line:07} {w1} {m} {w2} ü\n", "", pad = pad).as_bytes(),
                    );
                    line += 1;
                }
                data.truncate(size);
            }
        }
        std::fs::write(&path, &data).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        path
    }

    /// `alice` sends `file` to bob at `level`; returns what was sent.
    pub fn send(&self, file: &Path, subject: &str, level: &str) -> Sent {
        self.send_with(file, subject, level, &[])
    }

    /// [`Network::send`] with extra `send` arguments (`--mean-delay-ms 0`).
    pub fn send_with(&self, file: &Path, subject: &str, level: &str, extra: &[&str]) -> Sent {
        let started = Instant::now();
        let file_s = file.display().to_string();
        let mut args = vec![
            "send",
            "--to",
            &self.bob.address,
            "--subject",
            subject,
            "--file",
            &file_s,
            "--level",
            level,
        ];
        args.extend_from_slice(extra);
        let out = self.alice.cli(&args);
        let id = out["message_id"]
            .as_str()
            .unwrap_or_else(|| panic!("send printed no message_id: {out}"))
            .to_string();
        // The queued entry's detail reads "N packets, any K rebuild it".
        let packets = out["timeline"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| e["detail"].as_str())
            .find(|d| d.contains("packets"))
            .and_then(|d| d.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        let size = std::fs::metadata(file).map(|m| m.len()).unwrap_or(0);
        crate::progress(
            self.started,
            format!(
                "sent {} at {level}: {id} ({packets} packets)",
                crate::human(size)
            ),
        );
        Sent {
            id,
            level: level.into(),
            file: file.to_path_buf(),
            subject: subject.into(),
            size,
            started,
            packets,
        }
    }

    /// Waits until bob has received every message and alice has its receipt; returns when
    /// each happened. Panics after `timeout` (capped by [`Network::protocol_budget`]).
    pub fn await_delivery(&self, sent: &[Sent], timeout: Duration) -> Vec<Arrival> {
        let timeout = timeout.min(self.protocol_budget());
        let deadline = Instant::now() + timeout;
        let mut out = Vec::new();
        for s in sent {
            let left = deadline.saturating_duration_since(Instant::now());
            let r = self.wait_event(
                &self.bob,
                0,
                left,
                &format!(
                    "message_received of {} ({} at {})",
                    s.id,
                    crate::human(s.size),
                    s.level
                ),
                |e| e.is("message_received", &s.id),
            );
            crate::progress(
                self.started,
                format!(
                    "bob received {} ({} at {})",
                    s.id,
                    crate::human(s.size),
                    s.level
                ),
            );
            let left = deadline.saturating_duration_since(Instant::now());
            let d = self.wait_event(
                &self.alice,
                0,
                left,
                &format!(
                    "message_delivered (receipt) of {} ({} at {})",
                    s.id,
                    crate::human(s.size),
                    s.level
                ),
                |e| e.is("message_delivered", &s.id),
            );
            crate::progress(self.started, format!("alice got the receipt for {}", s.id));
            out.push(Arrival {
                received: r.at.saturating_duration_since(s.started),
                receipt: d.at.saturating_duration_since(s.started),
            });
        }
        out
    }

    /// Checks that bob's copy of `s` is intact: same bytes, subject, sender, file name.
    pub fn verify_received(&self, s: &Sent) {
        let out = self.harness.path(format!("payloads/{}.received", s.id));
        let out_s = out.display().to_string();
        self.bob
            .cli_raw(false, &["read", &s.id, "--out", &out_s], &[]);
        let got = std::fs::read(&out).unwrap_or_else(|e| panic!("{out_s}: {e}"));
        let want = std::fs::read(&s.file).unwrap_or_else(|e| panic!("{}: {e}", s.file.display()));
        if got != want {
            let first = got
                .iter()
                .zip(&want)
                .position(|(a, b)| a != b)
                .unwrap_or(got.len().min(want.len()));
            panic!(
                "message {} ({} at {}) arrived corrupted: {} bytes, expected {}; first difference at byte {first}",
                s.id,
                crate::human(s.size),
                s.level,
                got.len(),
                want.len()
            );
        }
        let _ = std::fs::remove_file(&out);
        let inbox = self.inbox();
        let entry = inbox
            .iter()
            .find(|m| m["message_id"] == s.id.as_str())
            .unwrap_or_else(|| panic!("{} is not in bob's inbox: {inbox:?}", s.id));
        assert_eq!(entry["subject"], s.subject.as_str(), "subject of {}", s.id);
        assert_eq!(
            entry["from"],
            self.alice.address.as_str(),
            "sender of {}",
            s.id
        );
        assert_eq!(entry["size"], s.size, "size of {}", s.id);
        let status = self.alice.cli(&["status", &s.id]);
        assert_eq!(
            status["state"], "delivered",
            "alice's status of {}: {status}",
            s.id
        );
    }

    /// Bob's inbox (`inbox --json`).
    pub fn inbox(&self) -> Vec<serde_json::Value> {
        match self.bob.cli(&["inbox"]) {
            serde_json::Value::Array(v) => v,
            other => panic!("inbox --json printed {other}"),
        }
    }

    /// Checks that bob's inbox holds exactly the messages `sent`, each exactly once.
    pub fn verify_exactly_once(&self, sent: &[Sent]) {
        let inbox = self.inbox();
        let mut counts: HashMap<String, usize> = HashMap::new();
        for m in &inbox {
            *counts
                .entry(m["message_id"].as_str().unwrap_or("?").to_string())
                .or_default() += 1;
        }
        for s in sent {
            assert_eq!(
                counts.get(&s.id).copied().unwrap_or(0),
                1,
                "message {} must be in bob's inbox exactly once; inbox: {counts:?}",
                s.id
            );
        }
        assert_eq!(
            inbox.len(),
            sent.len(),
            "bob's inbox must hold exactly the {} messages sent; it has {counts:?}",
            sent.len()
        );
        for s in sent {
            let n = self.bob.events.count(|e| e.is("message_received", &s.id));
            assert!(n <= 1, "bob announced message {} {n} times", s.id);
        }
    }

    /// Events of every node that match, as `(node, event)`.
    pub fn events_where(
        &self,
        pred: impl Fn(&crate::node::Event) -> bool,
    ) -> Vec<(String, crate::node::Event)> {
        self.nodes()
            .iter()
            .flat_map(|n| {
                n.events
                    .snapshot()
                    .into_iter()
                    .filter(|e| pred(e))
                    .map(|e| (n.name.clone(), e))
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    /// Fails if a relay has a peer entry for alice or bob. A network set up as the docs say
    /// has none: relays know the relay list only, so a delivery afterwards shows that the
    /// route's address proof let the last relay reach a recipient it was never told about.
    pub fn assert_relays_do_not_know_the_ends(&self) {
        for r in &self.relays {
            let peers = r.cli(&["peers"]);
            let list = peers
                .as_array()
                .unwrap_or_else(|| panic!("{}: peers printed no list: {peers}", r.name));
            assert!(
                list.iter().all(|p| p["peer_type"] == "public"),
                "{}: knows a node that is not a relay: {peers}",
                r.name
            );
            for end in [&self.alice, &self.bob] {
                assert!(
                    !list.iter().any(|p| p["address"]
                        .as_str()
                        .is_some_and(|a| a.eq_ignore_ascii_case(&end.address))),
                    "{} knows {} beforehand: {peers}",
                    r.name,
                    end.address
                );
            }
        }
    }

    /// Fails if any node rejected a packet (for tests that inject nothing that should be
    /// rejected), listing the reasons. Replays of packets a crashed relay had sent but not
    /// yet marked sent are allowed with `allow_replays`.
    pub fn assert_no_rejections(&self, allow_replays: bool) {
        let bad: Vec<String> = self
            .events_where(|e| e.kind() == "packet_rejected")
            .into_iter()
            .filter(|(_, e)| !(allow_replays && e.field("reason").unwrap_or("").contains("replay")))
            .map(|(n, e)| format!("{n}: {}", e.json))
            .collect();
        assert!(bad.is_empty(), "packets were rejected:\n{}", bad.join("\n"));
    }
}

fn create_node(
    h: &Harness,
    bin: &Path,
    clock: ClockCfg,
    nodes_dir: &Path,
    desc_dir: &Path,
    name: &str,
    public: bool,
) -> Node {
    let acct = h.account(name);
    let node = Node::new(
        name,
        &acct.address,
        nodes_dir.join(name),
        bin.to_path_buf(),
        clock,
    );
    node.cli(&[
        "init",
        "--peer-type",
        if public { "public" } else { "passive" },
    ]);
    let ca = h.ca_cert().display().to_string();
    // Relays with an even number use STARTTLS (IMAP 1143, submission 2587), the others
    // implicit TLS (IMAPS 1993, submissions 2465): both ways of both transports are used.
    let starttls = name
        .strip_prefix("relay")
        .and_then(|n| n.parse::<u32>().ok())
        .is_some_and(|n| n % 2 == 0);
    let (imap_port, smtp_port, security) = if starttls {
        (
            h.var("MAILTEST_IMAP_PORT"),
            h.var("MAILTEST_SUBMISSION_PORT"),
            "starttls",
        )
    } else {
        (
            h.var("MAILTEST_IMAPS_PORT"),
            h.var("MAILTEST_SUBMISSIONS_PORT"),
            "tls",
        )
    };
    let (imaps, smtps) = (imap_port.to_string(), smtp_port.to_string());
    node.cli_env(
        &[
            "account",
            "add",
            "--address",
            &acct.address,
            "--imap-host",
            &acct.domain,
            "--imap-port",
            &imaps,
            "--imap-security",
            security,
            "--smtp-host",
            &acct.domain,
            "--smtp-port",
            &smtps,
            "--smtp-security",
            security,
            "--connect-ip",
            &acct.host,
            "--ca-file",
            &ca,
            "--daily-budget",
            "1000000",
        ],
        &[("MAILVORTEX_ACCOUNT_PASSWORD", &acct.password)],
    );
    let file = desc_dir.join(format!("{name}.descriptor"));
    node.cli(&["export-descriptor", &file.display().to_string()]);
    node
}
