//! `mailvortex demo`: a whole network in one process, one message shown hop by hop.

use std::time::Duration;

use anyhow::{Context, Result, bail};
use mailvortex_engine::localnet::LocalNetwork;
use mailvortex_engine::{Clock, Event, Node, SendRequest};
use mailvortex_proto::level::LevelName;

use crate::cli::DemoArgs;

/// Elapsed time, aligned for the demo's columns.
fn fmt_time(ms: u64) -> String {
    let s = ms / 1000;
    if s < 60 {
        format!("{s:>3} s   ")
    } else if s < 3600 {
        format!("{:>3} min {:>2} s", s / 60, s % 60)
    } else {
        format!("{:>2} h {:>2} min", s / 3600, (s % 3600) / 60)
    }
}

/// The event in plain words (the engine's narration).
pub(crate) fn describe(e: &Event) -> Option<String> {
    e.narrate().map(|n| n.text)
}

pub(crate) async fn run(args: DemoArgs, json: bool) -> Result<()> {
    let level: LevelName = args.level.parse()?;
    if !(1.0..=1_000_000.0).contains(&args.speed) {
        bail!("--speed must be between 1 and 1000000");
    }
    let tmp = tempfile::tempdir().context("creating a temporary directory")?;
    let base = args
        .keep
        .clone()
        .unwrap_or_else(|| tmp.path().to_path_buf());
    let clock = Clock::scaled(args.speed);
    let start = clock.now_ms();
    let net = LocalNetwork::create(&base, 5, 2, clock.clone())?;
    let p = level.params();
    if !json {
        println!(
            "MailVortex demo: one in-process mail provider, 5 relays (r1-r3.example), alice@a.example and bob@b.example."
        );
        println!(
            "Level {level}: {} relays per path, {} path(s){}, redundancy {}/{}, mean mixing delay {} per relay. Time runs {}x faster.\n",
            p.relays_per_path,
            p.parallel_paths,
            if p.packets_per_path == 1 {
                " (one per packet for bigger messages)"
            } else {
                ""
            },
            p.redundancy.num,
            p.redundancy.den,
            fmt_time(p.mean_delay_ms).trim(),
            args.speed
        );
    }
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let (line_tx, mut line_rx) = tokio::sync::mpsc::unbounded_channel::<(u64, String, Event)>();
    let mut tasks = Vec::new();
    for node in net.nodes() {
        let name = node
            .address()
            .unwrap_or_default()
            .split('@')
            .next()
            .unwrap_or_default()
            .to_string();
        let mut events = node.subscribe();
        let tx = line_tx.clone();
        let clock = clock.clone();
        tokio::spawn(async move {
            while let Ok(e) = events.recv().await {
                let _ = tx.send((clock.now_ms().saturating_sub(start), name.clone(), e));
            }
        });
        let n: Node = node.clone();
        let rx = stop_rx.clone();
        tasks.push(tokio::spawn(async move { n.run(rx).await }));
    }
    let (alice, bob) = (&net.users[0], &net.users[1]);
    let body: Vec<u8> = (0..args.size)
        .map(|i| b"MailVortex demo message. "[i % 25])
        .collect();
    let id = alice.send(SendRequest {
        to: "bob@b.example".into(),
        subject: "Hello Bob".into(),
        body: body.clone(),
        file_name: None,
        level,
    })?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(300);
    let mut delivered = false;
    while !delivered && tokio::time::Instant::now() < deadline {
        match tokio::time::timeout(Duration::from_millis(200), line_rx.recv()).await {
            Ok(Some((t, who, e))) => {
                delivered |= matches!(e, Event::MessageDelivered { .. });
                if json {
                    println!(
                        "{}",
                        serde_json::json!({ "t_ms": t, "node": who, "event": e })
                    );
                } else if let Some(text) = describe(&e) {
                    println!("[{}] {who:<7} {text}", fmt_time(t));
                }
            }
            Ok(None) => break,
            Err(_) => {}
        }
    }
    let _ = stop_tx.send(true);
    for t in tasks {
        let _ = tokio::time::timeout(Duration::from_secs(5), t).await;
    }
    let status = alice.status(&id)?;
    let received = bob.read(&id).ok();
    let intact = received.as_ref().is_some_and(|m| m.body == body);
    let seen = net.provider.submissions();
    let leaks = mailvortex_engine::localnet::leak_report(
        &seen,
        ["alice@a.example", "bob@b.example"],
        &["MailVortex demo message", "Hello Bob"],
    );
    let leaked = !leaks.is_empty();
    for l in &leaks {
        eprintln!("leak: {l}");
    }
    if json {
        println!(
            "{}",
            serde_json::json!({ "status": status, "intact": intact, "carriers": seen.len(), "leak": leaked })
        );
    } else {
        println!(
            "\nResult: {} (message {}), body {} at bob, {} carrier mails crossed the provider, none showing the subject, the text, or the far end: {}.",
            status.state,
            status.message_id,
            if intact { "intact" } else { "MISSING" },
            seen.len(),
            if leaked { "LEAK FOUND" } else { "checked" }
        );
    }
    if status.state != "delivered" || !intact || leaked {
        bail!("the demo message was not delivered intact and unlinkable");
    }
    Ok(())
}
