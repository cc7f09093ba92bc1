//! `mailvortex-vectors generate | check [--dir DIR]`
//!
//! Writes (or checks) the test vectors of docs/spec/vectors. All randomness comes from
//! ChaCha20Rng (rand_chacha 0.3) with fixed seeds, so every run produces the same bytes.
//! `check` regenerates in memory and fails on any difference, missing or extra file.

mod crypto;
mod format;
mod message;
mod misc;
mod nodes;
mod packet;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use mailvortex_proto::level::LevelName;
use mailvortex_proto::message::{Receipt, SHARD_LEN};
use mailvortex_proto::packet::PACKET_LEN;

use format::Vector;
use message::{MessageCase, message_vector};
use nodes::{NOW, Node, current_epoch};
use packet::{HopCfg, Mutation, PacketCase, SurbCase, packet_vector, surb_vector};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let default_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/spec/vectors");
    let (command, dir) = match args.as_slice() {
        [c] => (c.as_str(), default_dir),
        [c, flag, d] if flag == "--dir" => (c.as_str(), PathBuf::from(d)),
        _ => bail!("usage: mailvortex-vectors generate|check [--dir DIR]"),
    };
    let vectors = all_vectors()?;
    let mut files = BTreeMap::new();
    for v in &vectors {
        if files.insert(v.file.clone(), v.render()).is_some() {
            bail!("two vectors named {}", v.file);
        }
    }
    let existing = existing_files(&dir)?;
    match command {
        "generate" => {
            std::fs::create_dir_all(&dir)?;
            for stale in existing.iter().filter(|f| !files.contains_key(*f)) {
                std::fs::remove_file(dir.join(stale))?;
                println!("removed {stale}");
            }
            let mut total = 0;
            for (name, text) in &files {
                std::fs::write(dir.join(name), text).with_context(|| format!("writing {name}"))?;
                total += text.len();
            }
            println!(
                "wrote {} vectors ({total} bytes) to {}",
                files.len(),
                dir.display()
            );
        }
        "check" => {
            let mut bad = Vec::new();
            for (name, text) in &files {
                match std::fs::read_to_string(dir.join(name)) {
                    Ok(on_disk) if on_disk == *text => {}
                    Ok(on_disk) => {
                        bad.push(format!("{name}: {}", first_difference(&on_disk, text)))
                    }
                    Err(_) => bad.push(format!("{name}: missing")),
                }
            }
            for extra in existing.iter().filter(|f| !files.contains_key(*f)) {
                bad.push(format!("{extra}: not produced by the generator"));
            }
            if !bad.is_empty() {
                for b in &bad {
                    eprintln!("{b}");
                }
                eprintln!(
                    "{} vector files differ; if the wire change is intended, run \
                     `cargo run -p mailvortex-vectors -- generate` and review the diff",
                    bad.len()
                );
                std::process::exit(1);
            }
            println!("{} vectors match", files.len());
        }
        other => bail!("unknown command {other}; use generate or check"),
    }
    Ok(())
}

fn existing_files(dir: &Path) -> anyhow::Result<Vec<String>> {
    let mut out = Vec::new();
    if dir.exists() {
        for entry in std::fs::read_dir(dir)? {
            let name = entry?.file_name().to_string_lossy().into_owned();
            if name.ends_with(".txt") {
                out.push(name);
            }
        }
    }
    Ok(out)
}

fn first_difference(a: &str, b: &str) -> String {
    for (i, (x, y)) in a.lines().zip(b.lines()).enumerate() {
        if x != y {
            let field = y.split(':').next().unwrap_or("");
            return format!("line {} ({field}) differs", i + 1);
        }
    }
    format!(
        "{} lines on disk, {} generated",
        a.lines().count(),
        b.lines().count()
    )
}

/// Relay `i` of the packet vectors.
fn relay(i: usize, min_difficulty: u8) -> Node {
    Node::new(
        &format!("relay {i}"),
        &format!("relay{i}@r{i}.example"),
        &[current_epoch()],
        min_difficulty,
    )
}

/// The recipient of the packet vectors.
fn bob(epochs: &[u32], min_difficulty: u8) -> Node {
    Node::new("bob", "bob@b.example", epochs, min_difficulty)
}

/// Relays `0..hops-1` then the recipient; the first hop's sender pays one bit more than asked.
fn forward_route(hops: usize) -> (Vec<Node>, Vec<HopCfg>) {
    let e = current_epoch();
    let mut nodes: Vec<Node> = (0..hops - 1).map(|i| relay(i, 4 + (i % 3) as u8)).collect();
    nodes.push(bob(&[e], 6));
    let route = nodes
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let last = i + 1 == hops;
            let delay = if last {
                0
            } else {
                60_000 * (i as u32 + 1) + 123
            };
            let extra = u8::from(i == 0);
            HopCfg::new(i, e, delay, n.min_difficulty + extra)
        })
        .collect();
    (nodes, route)
}

fn forward(
    file: &'static str,
    description: &'static str,
    expect: &'static str,
    hops: usize,
    mutation: Option<(usize, Mutation)>,
) -> PacketCase {
    let (nodes, route) = forward_route(hops);
    PacketCase {
        file,
        description,
        expect,
        nodes,
        route,
        now: NOW,
        mutation,
    }
}

/// Like [`forward`], with the recipient's address proof in the last relay's slot, as the
/// engine sends every message (relays need not know the recipient).
fn forward_with_proof(
    file: &'static str,
    description: &'static str,
    hops: usize,
) -> anyhow::Result<PacketCase> {
    let mut case = forward(file, description, "success", hops, None);
    let last = case.route.len() - 1;
    let recipient = case.route[last].node;
    case.route[last].proof = Some(misc::address_proof_of(&case.nodes[recipient])?);
    Ok(case)
}

fn packet_cases() -> anyhow::Result<Vec<PacketCase>> {
    let e = current_epoch();
    let (_, grace_end) = mailvortex_proto::identity::EpochSchedule::default().window(e - 1);
    let mut cases = vec![
        forward(
            "packet-1-hop.txt",
            "forward packet, 1 hop: straight to the recipient",
            "success",
            1,
            None,
        ),
        forward(
            "packet-2-hops.txt",
            "forward packet, 2 hops: 1 relay, then the recipient",
            "success",
            2,
            None,
        ),
        forward(
            "packet-3-hops.txt",
            "forward packet, 3 hops: 2 relays (level fast), then the recipient",
            "success",
            3,
            None,
        ),
        forward(
            "packet-4-hops.txt",
            "forward packet, 4 hops: 3 relays (level standard), then the recipient",
            "success",
            4,
            None,
        ),
        forward(
            "packet-5-hops.txt",
            "forward packet, 5 hops: 4 relays (level strong), then the recipient",
            "success",
            5,
            None,
        ),
        forward(
            "packet-8-hops.txt",
            "forward packet, 8 hops: the longest route (no padding, 7 slots of filler)",
            "success",
            8,
            None,
        ),
        forward_with_proof(
            "packet-4-hops-proof.txt",
            "forward packet, 4 hops (level standard) with the recipient's address proof in the last relay's slot (command 0x03)",
            4,
        )?,
        forward_with_proof(
            "packet-7-hops-proof.txt",
            "forward packet, 7 hops with an address proof: the longest route that has one (its slot takes two of the 8)",
            7,
        )?,
        forward(
            "packet-bad-mac.txt",
            "one bit of beta flipped before the first hop: the header MAC fails there",
            "bad mac",
            2,
            Some((0, Mutation::Xor(49 + 100, vec![0x01]))),
        ),
        forward(
            "packet-bad-mac-next-hop.txt",
            "the first relay forwards a packet whose last header byte it altered: the second hop's MAC fails",
            "bad mac",
            3,
            Some((
                1,
                Mutation::Xor(mailvortex_proto::packet::HEADER_LEN - 1, vec![0x80]),
            )),
        ),
        forward(
            "packet-replay.txt",
            "the same packet delivered twice to the first hop: the second is a replay",
            "replay",
            2,
            Some((0, Mutation::Replay)),
        ),
        forward(
            "packet-truncated.txt",
            "a packet one byte short",
            "truncated",
            1,
            Some((0, Mutation::Truncate(PACKET_LEN - 1))),
        ),
        forward(
            "packet-trailing-bytes.txt",
            "a packet one byte long",
            "trailing bytes",
            1,
            Some((0, Mutation::Append(vec![0]))),
        ),
        forward(
            "packet-unsupported-version.txt",
            "a packet with version byte 0x02",
            "unsupported version",
            1,
            Some((0, Mutation::Set(0, vec![0x02]))),
        ),
        forward(
            "packet-weak-key.txt",
            "alpha replaced by the all-zero point: the X25519 output is zero",
            "weak key",
            1,
            Some((0, Mutation::Set(1, vec![0; 32]))),
        ),
    ];
    // Epoch keys: the previous epoch during its grace period, and after it.
    for (file, description, expect, now) in [
        (
            "packet-grace-period.txt",
            "a packet for the previous epoch key during the grace period: the node tries its newest key, then the previous one",
            "success",
            NOW,
        ),
        (
            "packet-expired-epoch.txt",
            "the same packet after the previous epoch's grace period: its key is gone, the packet is junk",
            "bad mac",
            grace_end,
        ),
    ] {
        cases.push(PacketCase {
            file,
            description,
            expect,
            nodes: vec![bob(&[e - 1, e], 6)],
            route: vec![HopCfg::new(0, e - 1, 0, 6)],
            now,
            mutation: None,
        });
    }
    // Puzzles.
    cases.push(PacketCase {
        file: "packet-bad-puzzle-low-claim.txt",
        description: "the slot claims 4 bits of work, the node now requires 8",
        expect: "bad puzzle",
        nodes: vec![bob(&[e], 8)],
        route: vec![HopCfg::new(0, e, 0, 4)],
        now: NOW,
        mutation: None,
    });
    let mut wrong = HopCfg::new(0, e, 0, 8);
    wrong.puzzle_node = Some(1);
    cases.push(PacketCase {
        file: "packet-bad-puzzle-wrong-node.txt",
        description: "8 bits of work solved for another node id: the challenge at the real node differs",
        expect: "bad puzzle",
        nodes: vec![bob(&[e], 8), relay(0, 0)],
        route: vec![wrong],
        now: NOW,
        mutation: None,
    });
    Ok(cases)
}

fn surb_cases() -> Vec<SurbCase> {
    let e = current_epoch();
    let alice = || Node::new("alice", "alice@a.example", &[e], 5);
    let receipt = Receipt {
        message_id: crypto::fixed_seed("receipt message id")[..16]
            .try_into()
            .unwrap_or([0; 16]),
        shards_received: 3,
    };
    vec![
        SurbCase {
            file: "surb-reply.txt",
            description: "a reply block over 2 relays back to its creator, used once to carry a receipt",
            expect: "success",
            nodes: vec![alice(), relay(0, 4), relay(1, 5)],
            route: vec![
                HopCfg::new(1, e, 300_000, 4),
                HopCfg::new(2, e, 420_000, 5),
                HopCfg::new(0, e, 0, 5),
            ],
            receipt,
            reuse: false,
        },
        SurbCase {
            file: "surb-reuse.txt",
            description: "a reply block used twice: the second reply has the same header, a replay at the first hop",
            expect: "replay",
            nodes: vec![alice(), relay(0, 4)],
            route: vec![HopCfg::new(1, e, 300_000, 4), HopCfg::new(0, e, 0, 5)],
            receipt,
            reuse: true,
        },
    ]
}

fn message_cases() -> Vec<MessageCase> {
    use mailvortex_proto::level::Redundancy;
    vec![
        MessageCase {
            file: "message-split.txt",
            description: "a 3-shard message coded to 5 shards (level strong, 3/2); shards 0 and 2 are lost and rebuilt",
            expect: "success",
            level: LevelName::Strong,
            redundancy: LevelName::Strong.params().redundancy,
            subject: "Quarterly figures",
            file_name: None,
            body_len: SHARD_LEN * 5 / 2,
            extras: false,
            lost: vec![0, 2],
            tamper: None,
        },
        MessageCase {
            file: "message-envelope-full.txt",
            description: "a 1-shard message with file name, sender descriptor, receipt and reply blocks (level standard, 4/3 gives 2 shards); shard 0 is lost",
            expect: "success",
            level: LevelName::Standard,
            redundancy: LevelName::Standard.params().redundancy,
            subject: "Notes from Tuesday \u{2014} draft",
            file_name: Some("notes.txt"),
            body_len: 1000,
            extras: true,
            lost: vec![0],
            tamper: None,
        },
        MessageCase {
            file: "message-tampered-shard.txt",
            description: "a 1-shard message (level direct) with one data byte flipped in transit: the shard tag fails",
            expect: "end-to-end auth",
            level: LevelName::Direct,
            redundancy: Redundancy { num: 1, den: 1 },
            subject: "hi",
            file_name: None,
            body_len: 100,
            extras: false,
            lost: vec![],
            tamper: Some((0, 200, 0x01)),
        },
        MessageCase {
            file: "message-not-enough-shards.txt",
            description: "a 2-shard message coded to 3 (level fast, 5/4); shards 0 and 1 are lost: one shard cannot rebuild it",
            expect: "not enough shards",
            level: LevelName::Fast,
            redundancy: LevelName::Fast.params().redundancy,
            subject: "Photos",
            file_name: Some("photos.zip"),
            body_len: SHARD_LEN + 1000,
            extras: false,
            lost: vec![0, 1],
            tamper: None,
        },
    ]
}

fn all_vectors() -> anyhow::Result<Vec<Vector>> {
    let mut out = vec![
        misc::kdf_vector()?,
        misc::puzzle_vector()?,
        misc::descriptor_vector()?,
        misc::epoch_key_expired()?,
    ];
    out.extend(misc::descriptor_failures()?);
    out.extend(misc::address_proof_failures()?);
    for case in packet_cases()? {
        out.push(packet_vector(&case).with_context(|| case.file)?);
    }
    for case in surb_cases() {
        out.push(surb_vector(&case).with_context(|| case.file)?);
    }
    for case in message_cases() {
        out.push(message_vector(&case).with_context(|| case.file)?);
    }
    Ok(out)
}
