//! What each command does.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use mailvortex_engine::config::{AccountConfig, ServerConfig};
use mailvortex_engine::{Clock, CreateOptions, Node, NodeOptions, Security, SendRequest};
use mailvortex_proto::descriptor::PeerType;
use mailvortex_proto::identity::NodeId;
use mailvortex_proto::level::LevelName;
use mailvortex_vault::{SecretString, Unlock, UnlockMethod};
use serde::Serialize;

use crate::cli::{AccountCommand, Cli, Command, PeerTypeArg, RelaysCommand, SecurityArg};
use crate::human;
use crate::input::{Stdin, env_secret};

const PASSPHRASE_ENV: &str = "MAILVORTEX_PASSPHRASE";

struct Ctx {
    home: PathBuf,
    json: bool,
    passphrase_stdin: bool,
    clock: Clock,
    stdin: Stdin,
}

impl Ctx {
    fn passphrase(&mut self) -> Result<Option<SecretString>> {
        if self.passphrase_stdin {
            let p = self.stdin.line("the vault passphrase")?;
            return Ok(Some(SecretString::from(p.to_string())));
        }
        Ok(env_secret(PASSPHRASE_ENV).map(|p| SecretString::from(p.to_string())))
    }

    fn open(&mut self) -> Result<Node> {
        let unlock = match Node::unlock_method(&self.home)? {
            UnlockMethod::Keychain => Unlock::Keychain,
            UnlockMethod::Passphrase => Unlock::Passphrase(
                self.passphrase()?
                    .with_context(|| format!("this node's vault needs its passphrase: set {PASSPHRASE_ENV} or use --passphrase-stdin"))?,
            ),
        };
        Ok(Node::open(
            &self.home,
            unlock,
            NodeOptions {
                clock: self.clock.clone(),
                ..NodeOptions::default()
            },
        )?)
    }

    fn print<T: Serialize>(&self, value: &T, text: impl FnOnce(&T) -> String) -> Result<()> {
        if self.json {
            println!("{}", serde_json::to_string_pretty(value)?);
        } else {
            let t = text(value);
            if !t.is_empty() {
                println!("{t}");
            }
        }
        Ok(())
    }
}

fn default_home() -> PathBuf {
    if let Some(d) = std::env::var_os("XDG_DATA_HOME") {
        return PathBuf::from(d).join("mailvortex");
    }
    std::env::var_os("HOME")
        .map(|h| PathBuf::from(h).join(".local/share/mailvortex"))
        .unwrap_or_else(|| PathBuf::from(".mailvortex"))
}

pub(crate) async fn dispatch(cli: Cli) -> Result<()> {
    let mut ctx = Ctx {
        home: cli.home.clone().unwrap_or_else(default_home),
        json: cli.json,
        passphrase_stdin: cli.passphrase_stdin,
        clock: match cli.time_origin {
            Some(origin) => Clock::scaled_since(cli.time_factor, origin),
            None => Clock::scaled(cli.time_factor),
        },
        stdin: Stdin::default(),
    };
    match cli.command {
        Command::Init(args) => {
            let peer_type = match args.peer_type {
                PeerTypeArg::Passive => PeerType::Passive,
                PeerTypeArg::Stealth => PeerType::Stealth,
                PeerTypeArg::Public => PeerType::Public,
            };
            let unlock = match (args.keychain, ctx.passphrase()?) {
                (false, Some(p)) => Unlock::Passphrase(p),
                (true, Some(_)) => bail!("choose either --keychain or a passphrase"),
                (_, None) => Unlock::Keychain,
            };
            let method = if matches!(unlock, Unlock::Keychain) {
                "OS keychain"
            } else {
                "passphrase"
            };
            let node = Node::create(
                &ctx.home,
                CreateOptions {
                    peer_type,
                    unlock,
                    fast_kdf: false,
                },
                NodeOptions::default(),
            )?;
            let out = serde_json::json!({ "home": ctx.home, "node_id": node.node_id().to_hex(), "vault": method });
            ctx.print(&out, |_| {
                format!(
                    "created node {} in {} (vault unlocked by {method})",
                    node.node_id().short(),
                    ctx.home.display()
                )
            })
        }
        Command::Account(AccountCommand::Add(a)) => {
            let node = ctx.open()?;
            let password = if a.password_stdin {
                ctx.stdin.line("the account password")?
            } else {
                env_secret(&a.password_env)
                    .with_context(|| format!("set {} or use --password-stdin", a.password_env))?
            };
            let sec = |s: SecurityArg| match s {
                SecurityArg::Tls => Security::Tls,
                SecurityArg::Starttls => Security::Starttls,
            };
            let server = |host: &Option<String>, port, s| {
                host.as_ref().map(|h| ServerConfig {
                    host: h.clone(),
                    port,
                    security: sec(s),
                    connect_ip: a.connect_ip.clone(),
                })
            };
            let account = AccountConfig {
                name: a.name.clone(),
                address: a.address.clone(),
                username: a.username.clone().unwrap_or_else(|| a.address.clone()),
                imap: server(&a.imap_host, a.imap_port, a.imap_security),
                smtp: server(&a.smtp_host, a.smtp_port, a.smtp_security),
                ca_file: a.ca_file.clone().map(|p| absolute(&p)),
                daily_send_budget: a.daily_budget,
            };
            let check = if a.no_check {
                None
            } else {
                Some(node.check_account(&account, &password).await?)
            };
            node.add_account(account, password)?;
            let out =
                serde_json::json!({ "account": a.name, "address": a.address, "checked": check });
            ctx.print(&out, |_| {
                let tried: Vec<String> = check
                    .iter()
                    .flat_map(|c| {
                        [
                            c.imap.as_ref().map(|s| format!("IMAP {s}")),
                            c.smtp.as_ref().map(|s| format!("SMTP {s}")),
                        ]
                    })
                    .flatten()
                    .collect();
                let how = if tried.is_empty() {
                    "not checked on the servers".to_string()
                } else {
                    format!("{} accepted the login", tried.join(" and "))
                };
                format!(
                    "account {} ({}) saved; {how}; its password is in the vault",
                    a.name, a.address
                )
            })
        }
        Command::Account(AccountCommand::List) => {
            let node = ctx.open()?;
            let accounts = node.config().accounts;
            ctx.print(&accounts, |accs| {
                accs.iter()
                    .map(|a| {
                        format!(
                            "{}\t{}\timap:{}\tsmtp:{}\tbudget {}/day",
                            a.name,
                            a.address,
                            a.imap.is_some(),
                            a.smtp.is_some(),
                            a.daily_send_budget
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            })
        }
        Command::Invite => {
            let node = ctx.open()?;
            let uri = node.invite()?;
            ctx.print(&serde_json::json!({ "invite": uri }), |_| uri.clone())
        }
        Command::Import(args) => {
            let node = ctx.open()?;
            let mut out = Vec::new();
            for item in &args.items {
                let peer = if item.trim_start().starts_with("mailvortex:") {
                    node.import_invite(item)?
                } else {
                    let bytes = std::fs::read(item).with_context(|| format!("reading {item}"))?;
                    match std::str::from_utf8(&bytes)
                        .ok()
                        .filter(|s| s.trim_start().starts_with("mailvortex:"))
                    {
                        Some(uri) => node.import_invite(uri)?,
                        None => node.import_descriptor(&bytes)?,
                    }
                };
                out.push(peer);
            }
            ctx.print(&out, |peers| {
                peers
                    .iter()
                    .map(|p| {
                        format!(
                            "{} {} ({}, {})",
                            if p.new { "added" } else { "updated" },
                            p.address,
                            p.peer_type,
                            &p.node_id[..8]
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            })
        }
        Command::RequestDescriptor { address } => {
            let node = ctx.open()?;
            node.request_descriptor(&address)?;
            ctx.print(&serde_json::json!({ "asked": address }), |_| {
                format!("asked {address} for its descriptor; the answer is imported while `mailvortex run` is running")
            })
        }
        Command::ExportDescriptor { out } => {
            let node = ctx.open()?;
            let (_, bytes) = node.descriptor()?;
            std::fs::write(&out, &bytes).with_context(|| format!("writing {}", out.display()))?;
            ctx.print(
                &serde_json::json!({ "file": out, "bytes": bytes.len() }),
                |_| format!("descriptor written to {}", out.display()),
            )
        }
        Command::Relays(RelaysCommand::Sign {
            out,
            days,
            descriptors,
        }) => {
            let node = ctx.open()?;
            let ds = descriptors
                .iter()
                .map(|p| std::fs::read(p).with_context(|| format!("reading {}", p.display())))
                .collect::<Result<Vec<_>>>()?;
            let bytes = node.sign_relay_list(&ds, days)?;
            std::fs::write(&out, &bytes).with_context(|| format!("writing {}", out.display()))?;
            let signer = node.node_id().to_hex();
            ctx.print(
                &serde_json::json!({ "file": out, "relays": ds.len(), "signer": signer }),
                |_| {
                    format!(
                        "relay list with {} relays written to {}; importers pass --signer {signer}",
                        ds.len(),
                        out.display()
                    )
                },
            )
        }
        Command::Relays(RelaysCommand::Import { file, signer }) => {
            let node = ctx.open()?;
            let signer = NodeId::from_hex(&signer).map_err(|e| anyhow::anyhow!("--signer: {e}"))?;
            let bytes =
                std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let result = node.import_relay_list(&bytes, &signer)?;
            ctx.print(&result, |r| {
                let mut lines = vec![format!("{} relays imported", r.imported.len())];
                for s in &r.skipped {
                    lines.push(format!("skipped {} ({})", s.address, s.reason));
                }
                lines.join("\n")
            })
        }
        Command::Settings(a) => {
            let node = ctx.open()?;
            if a.puzzle_difficulty
                .is_some_and(|d| d > mailvortex_proto::puzzle::MAX_DIFFICULTY)
            {
                bail!(
                    "--puzzle-difficulty must be at most {}",
                    mailvortex_proto::puzzle::MAX_DIFFICULTY
                );
            }
            node.update_config(|c| {
                if let Some(v) = a.cover_per_day {
                    c.cover_packets_per_day = v;
                }
                if let Some(v) = a.puzzle_difficulty {
                    c.puzzle_difficulty = v;
                }
                if let Some(v) = a.forward_to_unknown {
                    c.forward_to_unknown = v;
                }
                if let Some(v) = a.poll_seconds {
                    c.poll_seconds = v.max(1);
                }
                if let Some(v) = a.mail_transit_seconds {
                    c.mail_transit_seconds = v;
                }
            })?;
            let mut c = node.config();
            c.accounts.clear();
            ctx.print(&c, |c| {
                format!(
                    "peer type {}, puzzle difficulty {}, cover {}/day, forward to unknown: {}, poll every {} s, mail transit allowance {} s per hop",
                    c.peer_type, c.puzzle_difficulty, c.cover_packets_per_day, c.forward_to_unknown, c.poll_seconds, c.mail_transit_seconds
                )
            })
        }
        Command::Templates => {
            let toml = mailvortex_engine::default_templates_toml()?;
            print!("{toml}");
            Ok(())
        }
        Command::Levels => {
            let figures = mailvortex_engine::level_figures()?;
            ctx.print(&figures, |fs| {
                fs.iter()
                    .map(|f| {
                        let p = f.level.parse::<LevelName>().map(LevelName::params).ok();
                        let shape = p.map_or_else(String::new, |p| {
                            if p.relays_per_path == 0 {
                                return " (straight to the recipient)".to_string();
                            }
                            format!(
                                " ({} relays, {} min mean delay per relay)",
                                p.relays_per_path,
                                p.mean_delay_ms / 60_000
                            )
                        });
                        format!("{}{shape}\n  {}", f.level, f.summary())
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            })
        }
        Command::Peers => {
            let node = ctx.open()?;
            let peers = node.peers()?;
            ctx.print(&peers, |ps| {
                ps.iter()
                    .map(|p| format!("{}\t{}\t{}", &p.node_id[..8], p.peer_type, p.address))
                    .collect::<Vec<_>>()
                    .join("\n")
            })
        }
        Command::Send(args) => {
            let level: LevelName = args.level.parse()?;
            let node = ctx.open()?;
            let (body, file_name) = match (&args.text, &args.file) {
                (Some(t), _) => (t.clone().into_bytes(), None),
                (None, Some(f)) => (
                    std::fs::read(f).with_context(|| format!("reading {}", f.display()))?,
                    f.file_name().map(|n| n.to_string_lossy().into_owned()),
                ),
                (None, None) => (ctx.stdin.rest()?, None),
            };
            let request = SendRequest {
                to: args.to.clone(),
                subject: args.subject.clone(),
                body,
                file_name,
                level,
            };
            let id = match args.mean_delay_ms {
                Some(ms) => node.send_with_mean_delay(request, ms)?,
                None => node.send(request)?,
            };
            let status = node.status(&id)?;
            ctx.print(&status, |s| {
                format!(
                    "queued {} for {} at level {} ({}); it leaves when `mailvortex run` is running",
                    s.message_id,
                    s.to,
                    s.level,
                    s.timeline
                        .first()
                        .and_then(|e| e.detail.clone())
                        .unwrap_or_default()
                )
            })
        }
        Command::Status { id } => {
            let node = ctx.open()?;
            match id {
                Some(id) => {
                    let s = node.status(&id)?;
                    ctx.print(&s, format_status)
                }
                None => {
                    let all = node.outgoing()?;
                    ctx.print(&all, |v| {
                        v.iter().map(format_status).collect::<Vec<_>>().join("\n\n")
                    })
                }
            }
        }
        Command::Inbox => {
            let node = ctx.open()?;
            let inbox = node.inbox()?;
            ctx.print(&inbox, |v| {
                v.iter()
                    .map(|m| {
                        format!(
                            "{}  {}  {}  {}  {}",
                            m.message_id,
                            human::local_time(m.received_ms),
                            if m.read { " " } else { "*" },
                            m.from.as_deref().unwrap_or("(unknown)"),
                            m.subject
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            })
        }
        Command::Read { id, out } => {
            let node = ctx.open()?;
            let m = node.read(&id)?;
            if let Some(out) = &out {
                std::fs::write(out, &m.body)
                    .with_context(|| format!("writing {}", out.display()))?;
            }
            if ctx.json {
                let mut v = serde_json::to_value(&m)?;
                v["body"] =
                    serde_json::Value::String(String::from_utf8_lossy(&m.body).into_owned());
                println!("{}", serde_json::to_string_pretty(&v)?);
            } else {
                println!(
                    "From: {}\nSubject: {}\nLevel: {}\nWritten: {}\nReceived: {}",
                    m.summary.from.as_deref().unwrap_or("(unknown)"),
                    m.summary.subject,
                    m.level,
                    human::local_time(
                        i64::try_from(m.created_at)
                            .unwrap_or(i64::MAX)
                            .saturating_mul(1000)
                    ),
                    human::local_time(m.summary.received_ms),
                );
                if let Some(f) = &m.file_name {
                    println!("File: {f} ({} bytes)", m.body.len());
                }
                if out.is_none() {
                    println!("\n{}", String::from_utf8_lossy(&m.body));
                }
            }
            Ok(())
        }
        Command::Run => run(&mut ctx).await,
        Command::Demo(args) => crate::demo::run(args, ctx.json).await,
    }
}

/// A message's status for people: local date-times, and each step's time since it was queued.
fn format_status(s: &mailvortex_engine::MessageStatus) -> String {
    let start = s.timeline.first().map(|e| e.at_ms);
    let state = match (s.state.as_str(), start, s.timeline.last()) {
        ("delivered" | "failed", Some(t0), Some(last)) => {
            let verb = if s.state == "delivered" {
                "delivered after"
            } else {
                "failed after"
            };
            format!("{verb} {}", human::duration(last.at_ms - t0))
        }
        ("retry", ..) => format!("retrying, attempt {} of {}", s.attempt, s.max_attempts),
        ("sent", ..) if s.attempt > 1 => {
            format!("sent again, attempt {} of {}", s.attempt, s.max_attempts)
        }
        _ => s.state.clone(),
    };
    let state = match s.receipt_due_ms {
        Some(due) if s.attempt < s.max_attempts => format!(
            "{state}; sent again if no receipt by {}",
            human::local_time(due)
        ),
        Some(due) => format!(
            "{state}; reported failed if no receipt by {}",
            human::local_time(due)
        ),
        None => state,
    };
    let mut out = format!(
        "{}  to {}  level {}  {} bytes  [{state}]",
        s.message_id, s.to, s.level, s.size
    );
    for e in &s.timeline {
        let since = match start {
            Some(t0) if e.at_ms != t0 => format!("after {}", human::duration(e.at_ms - t0)),
            _ => String::new(),
        };
        let detail = e.detail.as_deref().unwrap_or("");
        let sep = if !since.is_empty() && !detail.is_empty() {
            ": "
        } else {
            ""
        };
        out.push_str(&format!(
            "\n  {}  {:<9} {since}{sep}{detail}",
            human::local_time(e.at_ms),
            e.state,
        ));
    }
    out
}

async fn run(ctx: &mut Ctx) -> Result<()> {
    let node = ctx.open()?;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut events = node.subscribe();
    let json = ctx.json;
    let clock = node.clock().clone();
    tokio::spawn(async move {
        loop {
            let e = match events.recv().await {
                Ok(e) => e,
                // A burst outran this printer: say so and go on (stopping here would silence
                // every later event of a long-running daemon).
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                    eprintln!("warning: {n} events were not printed (output too slow)");
                    continue;
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
            };
            if json {
                if let Ok(s) = serde_json::to_string(&e) {
                    println!("{s}");
                }
            } else {
                let now = human::local_time(clock.now_ms() as i64);
                match crate::demo::describe(&e) {
                    Some(text) => eprintln!("{now}  {text}"),
                    None => eprintln!("{now}  {e:?}"),
                }
            }
        }
    });
    tokio::spawn(async move {
        shutdown_signal().await;
        let _ = stop_tx.send(true);
    });
    eprintln!("node {} running; Ctrl-C to stop", node.node_id().short());
    node.run(stop_rx).await?;
    Ok(())
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

fn absolute(p: &Path) -> PathBuf {
    std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf())
}
