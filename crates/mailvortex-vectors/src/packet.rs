//! Packet and reply-block vectors: build through the proto API, recompute every intermediate
//! value from the spec, walk the route through `open_packet`, record what each hop sees.

use std::collections::BTreeSet;

use anyhow::{Context, bail, ensure};
use mailvortex_proto::Error;
use mailvortex_proto::address_proof::{ADDRESS_PROOF_LEN, AddressProof};
use mailvortex_proto::message::Receipt;
use mailvortex_proto::packet::{
    BETA_LEN, Command, DeliverKind, EpochKeyring, HEADER_LEN, HopSpec, MAX_HOPS, PACKET_VERSION,
    PAYLOAD_LEN, PROVEN_SLOT_LEN, Routing, RoutingSlot, SLOT_LEN, build_packet, open_packet,
};
use mailvortex_proto::puzzle::Challenge;
use mailvortex_proto::surb::{build_reply, create_surb, open_reply};
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};

use crate::crypto::{
    HopKeys, challenge, digest, fixed_seed, header_mac, kdf, keystream, repeat_pattern, xor_into,
};
use crate::format::Vector;
use crate::nodes::Node;

/// The payload every packet vector carries, repeated to 32768 bytes.
pub(crate) const PAYLOAD_PATTERN: &[u8] = b"MailVortex test payload. ";

/// One hop of a route in a vector.
#[derive(Debug, Clone)]
pub(crate) struct HopCfg {
    /// Index into the vector's node list.
    pub(crate) node: usize,
    pub(crate) epoch: u32,
    pub(crate) delay_ms: u32,
    pub(crate) difficulty: u8,
    /// Solve this hop's puzzle for another node's id (a sender mistake or a forged packet).
    pub(crate) puzzle_node: Option<usize>,
    /// This hop's address proof, written into the previous hop's slot (command 0x03).
    pub(crate) proof: Option<AddressProof>,
}

impl HopCfg {
    pub(crate) fn new(node: usize, epoch: u32, delay_ms: u32, difficulty: u8) -> Self {
        HopCfg {
            node,
            epoch,
            delay_ms,
            difficulty,
            puzzle_node: None,
            proof: None,
        }
    }
}

/// Routing-block bytes hop `i` of `route` consumes: two slots when the next hop has a proof.
pub(crate) fn slot_len(route: &[HopCfg], i: usize) -> usize {
    match route.get(i + 1) {
        Some(next) if next.proof.is_some() => PROVEN_SLOT_LEN,
        _ => SLOT_LEN,
    }
}

/// A change to the packet arriving at one hop, or a second delivery of it.
#[derive(Debug, Clone)]
pub(crate) enum Mutation {
    /// XOR bytes in at an offset.
    Xor(usize, Vec<u8>),
    /// Overwrite bytes at an offset.
    Set(usize, Vec<u8>),
    /// Keep only the first bytes.
    Truncate(usize),
    /// Append bytes.
    Append(Vec<u8>),
    /// Deliver the same packet twice.
    Replay,
}

impl Mutation {
    fn describe(&self) -> String {
        match self {
            Mutation::Xor(o, b) => format!("xor {o} {}", hex::encode(b)),
            Mutation::Set(o, b) => format!("set {o} {}", hex::encode(b)),
            Mutation::Truncate(n) => format!("truncate {n}"),
            Mutation::Append(b) => format!("append {}", hex::encode(b)),
            Mutation::Replay => "replay".to_string(),
        }
    }

    fn apply(&self, packet: &[u8]) -> anyhow::Result<Vec<u8>> {
        let mut p = packet.to_vec();
        match self {
            Mutation::Xor(o, b) => {
                let t = p.get_mut(*o..o + b.len()).context("xor out of range")?;
                xor_into(t, b);
            }
            Mutation::Set(o, b) => {
                p.get_mut(*o..o + b.len())
                    .context("set out of range")?
                    .copy_from_slice(b);
            }
            Mutation::Truncate(n) => p.truncate(*n),
            Mutation::Append(b) => p.extend_from_slice(b),
            Mutation::Replay => {}
        }
        Ok(p)
    }
}

/// Sender-side values of one hop.
pub(crate) struct HopRecord {
    keys: HopKeys,
    challenge: [u8; 32],
    start: u64,
    nonce: u64,
    /// The plaintext slot, [`SLOT_LEN`] or [`PROVEN_SLOT_LEN`] bytes.
    slot: Vec<u8>,
    mac: [u8; 16],
}

/// Everything the header's creator computed.
pub(crate) struct SenderSide {
    hops: Vec<HopRecord>,
    filler: Vec<u8>,
    padding: Vec<u8>,
}

/// Recomputes the header's construction from the random values `rng` yields in the order
/// `build_header` draws them (per hop an X25519 secret; per hop a puzzle start; the padding)
/// and checks it against `header`, hop by hop.
fn sender_side(
    rng: &mut ChaCha20Rng,
    nodes: &[Node],
    route: &[HopCfg],
    header: &[u8],
) -> anyhow::Result<SenderSide> {
    let n = route.len();
    let mut keys = Vec::with_capacity(n);
    for hop in route {
        let mut eph = [0u8; 32];
        rng.fill_bytes(&mut eph);
        let epoch_key = nodes[hop.node].epoch(hop.epoch)?.public.key;
        keys.push(HopKeys::new(eph, &epoch_key)?);
    }
    let starts: Vec<u64> = route.iter().map(|_| rng.next_u64()).collect();
    let lens: Vec<usize> = (0..n).map(|i| slot_len(route, i)).collect();
    let consumed: usize = lens[..n - 1].iter().sum();
    ensure!(consumed + SLOT_LEN <= BETA_LEN, "route too long");
    const { assert!(MAX_HOPS * SLOT_LEN == BETA_LEN) };
    let mut padding = vec![0u8; BETA_LEN - consumed - SLOT_LEN];
    rng.fill_bytes(&mut padding);
    let streams: Vec<Vec<u8>> = keys
        .iter()
        .map(|k| keystream(&k.stream_key, BETA_LEN + PROVEN_SLOT_LEN))
        .collect();
    // phi_0 = empty; phi_{i+1} = (phi_i || 0^L_i) XOR S_i[R - |phi_i| .. R + L_i].
    let mut filler = Vec::new();
    for (i, stream) in streams.iter().enumerate().take(n - 1) {
        let old = filler.len();
        filler.resize(old + lens[i], 0);
        xor_into(&mut filler, &stream[BETA_LEN - old..BETA_LEN + lens[i]]);
    }
    ensure!(header.len() == HEADER_LEN && header[0] == PACKET_VERSION);
    let mut alpha: [u8; 32] = header[1..33].try_into()?;
    let mut mac: [u8; 16] = header[33..49].try_into()?;
    let mut beta = header[49..].to_vec();
    let mut hops = Vec::with_capacity(n);
    for (i, (k, hop)) in keys.into_iter().zip(route).enumerate() {
        ensure!(
            alpha == k.alpha,
            "hop {i}: alpha differs from the recomputed one"
        );
        let this_mac = mac;
        ensure!(
            header_mac(&k.mac_key, PACKET_VERSION, &alpha, &beta) == mac,
            "hop {i}: header MAC differs"
        );
        if i == n - 1 {
            ensure!(
                beta[BETA_LEN - filler.len()..] == filler[..],
                "filler differs"
            );
        }
        let mut dec = beta.clone();
        dec.extend_from_slice(&[0u8; PROVEN_SLOT_LEN]);
        xor_into(&mut dec, &streams[i]);
        let slot = dec[..lens[i]].to_vec();
        let nonce = u64::from_be_bytes(slot[6..14].try_into()?);
        let puzzle_node = nodes[hop.puzzle_node.unwrap_or(hop.node)].id();
        let ch = challenge(&k.replay_tag, puzzle_node.as_bytes(), hop.epoch)?;
        let api = Challenge::new(&k.replay_tag, &puzzle_node, hop.epoch);
        ensure!(
            api.solve(hop.difficulty, starts[i]) == nonce,
            "hop {i}: nonce is not the first solution from the start value"
        );
        let work = kdf("mv1 puzzle", &ch, &[&nonce.to_be_bytes()])?;
        ensure!(leading_zeros(&work) >= hop.difficulty, "hop {i}: puzzle");
        if i + 1 < n {
            alpha = slot[14..46].try_into()?;
            mac = slot[46..62].try_into()?;
        } else {
            ensure!(
                dec[SLOT_LEN..SLOT_LEN + padding.len()] == padding[..],
                "padding differs"
            );
        }
        hops.push(HopRecord {
            keys: k,
            challenge: ch,
            start: starts[i],
            nonce,
            slot,
            mac: this_mac,
        });
        beta = dec[lens[i]..lens[i] + BETA_LEN].to_vec();
    }
    Ok(SenderSide {
        hops,
        filler,
        padding,
    })
}

fn leading_zeros(h: &[u8; 32]) -> u8 {
    let mut bits = 0u32;
    for b in h {
        bits += b.leading_zeros();
        if *b != 0 {
            break;
        }
    }
    u8::try_from(bits).unwrap_or(u8::MAX)
}

impl SenderSide {
    fn write(&self, v: &mut Vector) {
        for (i, h) in self.hops.iter().enumerate() {
            let k = &h.keys;
            v.b(&format!("hop {i} ephemeral secret"), &k.ephemeral);
            v.b(&format!("hop {i} alpha"), &k.alpha);
            v.b(&format!("hop {i} shared secret"), &k.shared);
            v.b(&format!("hop {i} hop secret"), &k.hop_secret);
            v.b(&format!("hop {i} header mac key"), &k.mac_key);
            v.b(&format!("hop {i} header stream key"), &k.stream_key);
            v.b(&format!("hop {i} payload stream key"), &k.payload_key);
            v.b(&format!("hop {i} replay tag"), &k.replay_tag);
            v.b(&format!("hop {i} challenge"), &h.challenge);
            v.b(&format!("hop {i} puzzle start"), &h.start.to_be_bytes());
            v.b(&format!("hop {i} puzzle nonce"), &h.nonce.to_be_bytes());
            v.b(&format!("hop {i} slot"), &h.slot);
            v.b(&format!("hop {i} mac"), &h.mac);
        }
        v.b("filler", &self.filler);
        v.b("padding", &self.padding);
    }
}

/// Delivered `(kind, payload)`, or the hop that failed and its error.
type Outcome = Result<(DeliverKind, Vec<u8>), (usize, Error)>;

/// What happened along the route.
struct Trace {
    /// The packet arriving at each hop that was reached (before any mutation).
    arrivals: Vec<Vec<u8>>,
    /// The mutated bytes fed to the mutation hop, if any (not for replays).
    input: Option<(usize, Vec<u8>)>,
    /// Delivered `(kind, payload)`, or the hop that failed and its error; `None` when stopped early.
    outcome: Option<Outcome>,
}

/// The replay store of every node: `(node, epoch, tag)`.
type Replays = BTreeSet<(usize, u32, [u8; 32])>;

/// Walks `packet` along `route` like the nodes would (open, record the tag, route).
#[allow(clippy::too_many_arguments)]
fn travel(
    nodes: &[Node],
    route: &[HopCfg],
    sender: &SenderSide,
    packet: Vec<u8>,
    now: u64,
    mutation: Option<&(usize, Mutation)>,
    replays: &mut Replays,
    stop_after: Option<usize>,
) -> anyhow::Result<Trace> {
    let mut trace = Trace {
        arrivals: Vec::new(),
        input: None,
        outcome: None,
    };
    let mut packet = packet;
    for (i, hop) in route.iter().enumerate() {
        let node = &nodes[hop.node];
        trace.arrivals.push(packet.clone());
        let mut input = packet.clone();
        let mut replay_twice = false;
        if let Some((at, m)) = mutation
            && *at == i
        {
            input = m.apply(&packet)?;
            match m {
                Mutation::Replay => replay_twice = true,
                _ => trace.input = Some((i, input.clone())),
            }
        }
        let live = node.live_keys(now)?;
        let ring = EpochKeyring {
            node_id: node.id(),
            epochs: &live,
            min_difficulty: node.min_difficulty,
        };
        let opened = match open_packet(&ring, &input) {
            Ok(o) => o,
            Err(e) => {
                trace.outcome = Some(Err((i, e)));
                return Ok(trace);
            }
        };
        let rec = &sender.hops[i];
        ensure!(
            *opened.replay_tag() == rec.keys.replay_tag,
            "hop {i}: replay tag"
        );
        ensure!(
            opened.epoch() == hop.epoch,
            "hop {i}: opened by another epoch"
        );
        check_slot(opened.slot(), &rec.slot)?;
        if !replays.insert((hop.node, opened.epoch(), *opened.replay_tag())) {
            trace.outcome = Some(Err((i, Error::Replay)));
            return Ok(trace);
        }
        if replay_twice {
            let again = open_packet(&ring, &input).context("second open")?;
            ensure!(!replays.insert((hop.node, again.epoch(), *again.replay_tag())));
            trace.outcome = Some(Err((i, Error::Replay)));
            return Ok(trace);
        }
        if stop_after == Some(i) {
            return Ok(trace);
        }
        match opened.into_routing() {
            Routing::Forward(f) => {
                let next = route.get(i + 1).context("forwarded past the end")?;
                ensure!(
                    f.next_address == nodes[next.node].address,
                    "hop {i}: next address"
                );
                ensure!(f.delay_ms == hop.delay_ms, "hop {i}: delay");
                ensure!(f.proof == next.proof, "hop {i}: the next hop's proof");
                if let Some(p) = &f.proof {
                    p.verify(&f.next_address, now)
                        .context("the proof a relay checks")?;
                }
                packet = f.packet;
            }
            Routing::Deliver { kind, payload } => {
                ensure!(i + 1 == route.len(), "delivered before the end");
                trace.outcome = Some(Ok((kind, payload)));
                return Ok(trace);
            }
        }
    }
    bail!("route ended without delivery")
}

/// Checks the API's decoded slot against the recomputed plaintext slot.
fn check_slot(api: &RoutingSlot, plain: &[u8]) -> anyhow::Result<()> {
    ensure!(plain.len() == api.encoded_len(), "slot length");
    ensure!(u32::from_be_bytes(plain[1..5].try_into()?) == api.delay_ms);
    ensure!(plain[5] == api.difficulty);
    ensure!(u64::from_be_bytes(plain[6..14].try_into()?) == api.puzzle_nonce);
    match &api.command {
        Command::Relay {
            next_alpha,
            next_mac,
            next_address,
            proof: None,
        } => {
            ensure!(
                plain[0] == 1 && plain[14..46] == next_alpha[..] && plain[46..62] == next_mac[..]
            );
            let n = usize::from(plain[62]);
            ensure!(plain[63..63 + n] == *next_address.as_bytes());
        }
        Command::Deliver(kind) => {
            ensure!(plain[0] == 2);
            match kind {
                DeliverKind::Message => ensure!(plain[14] == 0),
                DeliverKind::Reply(id) => ensure!(plain[14] == 1 && plain[15..31] == id[..]),
            }
        }
        Command::Relay {
            next_alpha,
            next_mac,
            next_address,
            proof: Some(proof),
        } => {
            ensure!(
                plain[0] == 3 && plain[14..46] == next_alpha[..] && plain[46..62] == next_mac[..]
            );
            let n = usize::from(plain[62]);
            ensure!(plain[63..63 + n] == *next_address.as_bytes());
            ensure!(plain[63 + n..SLOT_LEN].iter().all(|b| *b == 0));
            ensure!(plain[SLOT_LEN..SLOT_LEN + ADDRESS_PROOF_LEN] == proof.encode()[..]);
            ensure!(
                plain[SLOT_LEN + ADDRESS_PROOF_LEN..]
                    .iter()
                    .all(|b| *b == 0)
            );
        }
    }
    Ok(())
}

/// Records the packets each hop saw: full hex for the first and last hop reached and for
/// mutated input, BLAKE2b-256 digests in between.
fn write_arrivals(v: &mut Vector, trace: &Trace) {
    let last = trace.arrivals.len() - 1;
    for (i, p) in trace.arrivals.iter().enumerate() {
        let mutated = matches!(&trace.input, Some((at, _)) if *at == i);
        if (i == 0 || i == last) && !mutated {
            v.b(&format!("hop {i} packet"), p);
        } else {
            v.b(&format!("hop {i} packet digest"), &digest(p));
        }
        if let Some((at, input)) = &trace.input
            && *at == i
        {
            v.b(&format!("hop {i} input"), input);
        }
    }
}

fn write_route_header(v: &mut Vector, nodes: &[Node], route: &[HopCfg], now: u64) {
    v.h("now", now);
    let ids: Vec<String> = route.iter().map(|h| h.node.to_string()).collect();
    v.h("route", ids.join(" "));
    for (n, node) in nodes.iter().enumerate() {
        node.header(v, n, true);
    }
    for (i, h) in route.iter().enumerate() {
        v.h(&format!("hop {i} epoch"), h.epoch);
        v.h(&format!("hop {i} delay ms"), h.delay_ms);
        v.h(&format!("hop {i} difficulty"), h.difficulty);
        if let Some(p) = h.puzzle_node {
            v.h(&format!("hop {i} puzzle node"), p);
        }
        if let Some(p) = &h.proof {
            v.hx(&format!("hop {i} address proof"), &p.encode());
        }
    }
}

fn hop_specs<'a>(nodes: &'a [Node], route: &'a [HopCfg]) -> anyhow::Result<Vec<HopSpec<'a>>> {
    route
        .iter()
        .map(|h| {
            let node = &nodes[h.node];
            Ok(HopSpec {
                node_id: nodes[h.puzzle_node.unwrap_or(h.node)].id(),
                address: &node.address,
                epoch: &node.epoch(h.epoch)?.public,
                delay_ms: h.delay_ms,
                difficulty: h.difficulty,
                proof: h.proof.as_ref(),
            })
        })
        .collect()
}

/// The vocabulary of `expect:` for an outcome.
pub(crate) fn expect_word(e: &Error) -> &'static str {
    use mailvortex_proto::DecodeError;
    match e {
        Error::BadMac => "bad mac",
        Error::Replay => "replay",
        Error::Expired { .. } => "expired",
        Error::BadPuzzle { .. } => "bad puzzle",
        Error::BadSignature(_) => "bad signature",
        Error::WeakKey => "weak key",
        Error::EndToEndAuth(_) => "end-to-end auth",
        Error::NotEnoughShards { .. } => "not enough shards",
        Error::Malformed { source, .. } => match source {
            DecodeError::Truncated { .. } => "truncated",
            DecodeError::TrailingBytes { .. } => "trailing bytes",
            DecodeError::UnsupportedVersion(_) => "unsupported version",
            _ => "invalid value",
        },
        _ => "other",
    }
}

/// Sets `expect`/`error` from an outcome and checks it against what the case promised.
fn finish_expect(v: &mut Vector, promised: &str, err: Option<&Error>) -> anyhow::Result<()> {
    let got = err.map_or("success", expect_word);
    ensure!(
        got == promised,
        "{}: promised {promised}, got {got} ({err:?})",
        v.file
    );
    if let Some(e) = err {
        v.h("error", format!("{e:?}"));
    }
    Ok(())
}

/// A forward packet vector.
pub(crate) struct PacketCase {
    pub(crate) file: &'static str,
    pub(crate) description: &'static str,
    pub(crate) expect: &'static str,
    pub(crate) nodes: Vec<Node>,
    pub(crate) route: Vec<HopCfg>,
    pub(crate) now: u64,
    pub(crate) mutation: Option<(usize, Mutation)>,
}

/// Builds a forward packet and walks it along the route.
pub(crate) fn packet_vector(case: &PacketCase) -> anyhow::Result<Vector> {
    let seed = fixed_seed(case.file);
    let payload: [u8; PAYLOAD_LEN] = repeat_pattern(PAYLOAD_PATTERN, PAYLOAD_LEN)
        .try_into()
        .map_err(|_| anyhow::anyhow!("payload length"))?;
    let hops = hop_specs(&case.nodes, &case.route)?;
    let packet = build_packet(&hops, &payload, &mut ChaCha20Rng::from_seed(seed))?;
    let sender = sender_side(
        &mut ChaCha20Rng::from_seed(seed),
        &case.nodes,
        &case.route,
        &packet[..HEADER_LEN],
    )?;
    let mut replays = Replays::new();
    let trace = travel(
        &case.nodes,
        &case.route,
        &sender,
        packet,
        case.now,
        case.mutation.as_ref(),
        &mut replays,
        None,
    )?;

    let mut v = Vector::new(case.file, case.description, "packet", case.expect);
    let outcome = trace.outcome.as_ref().context("no outcome")?;
    finish_expect(&mut v, case.expect, outcome.as_ref().err().map(|(_, e)| e))?;
    if let Err((hop, _)) = outcome {
        v.h("error hop", hop);
    }
    v.hx("rng seed", &seed);
    v.hx("payload pattern", PAYLOAD_PATTERN);
    write_route_header(&mut v, &case.nodes, &case.route, case.now);
    if let Some((at, m)) = &case.mutation {
        v.h("mutation hop", at);
        v.h("mutation", m.describe());
    }
    for (n, node) in case.nodes.iter().enumerate() {
        node.body(&mut v, n);
    }
    sender.write(&mut v);
    write_arrivals(&mut v, &trace);
    if let Ok((kind, delivered)) = outcome {
        ensure!(*kind == DeliverKind::Message && delivered[..] == payload[..]);
        v.b("delivered payload digest", &digest(delivered));
    }
    Ok(v)
}

/// A reply-block vector: node 0 creates the block, the last hop of `route` must be node 0.
pub(crate) struct SurbCase {
    pub(crate) file: &'static str,
    pub(crate) description: &'static str,
    pub(crate) expect: &'static str,
    pub(crate) nodes: Vec<Node>,
    pub(crate) route: Vec<HopCfg>,
    pub(crate) receipt: Receipt,
    /// Use the block a second time at the first hop.
    pub(crate) reuse: bool,
}

/// Creates a reply block, answers through it, walks the reply home and opens it.
pub(crate) fn surb_vector(case: &SurbCase) -> anyhow::Result<Vector> {
    let now = crate::nodes::NOW;
    let surb_seed = fixed_seed(&format!("{} surb", case.file));
    let reply_seed = fixed_seed(&format!("{} reply", case.file));
    let second_seed = fixed_seed(&format!("{} second reply", case.file));
    let hops = hop_specs(&case.nodes, &case.route)?;
    ensure!(case.route.last().map(|h| h.node) == Some(0));
    let (surb, secret) = create_surb(&hops, &mut ChaCha20Rng::from_seed(surb_seed))?;

    let mut rng = ChaCha20Rng::from_seed(surb_seed);
    let mut id = [0u8; 16];
    rng.fill_bytes(&mut id);
    let mut key = [0u8; 32];
    rng.fill_bytes(&mut key);
    ensure!(id == secret.id && key == secret.key && key == surb.key);
    let sender = sender_side(&mut rng, &case.nodes, &case.route, &surb.header)?;

    // Independent encodings of the block and of the creator's secret.
    let mut surb_bytes = vec![u8::try_from(surb.first_hop.len())?];
    surb_bytes.extend_from_slice(surb.first_hop.as_bytes());
    surb_bytes.extend_from_slice(&surb.header);
    surb_bytes.extend_from_slice(&key);
    ensure!(surb_bytes == surb.encode(), "surb encoding");
    let mut secret_bytes = id.to_vec();
    secret_bytes.extend_from_slice(&key);
    secret_bytes.push(u8::try_from(case.route.len())?);
    for h in &sender.hops {
        secret_bytes.extend_from_slice(&h.keys.payload_key);
    }
    ensure!(
        secret_bytes[..] == secret.encode()[..],
        "surb secret encoding"
    );

    let content = case.receipt.encode();
    let (first, reply) = build_reply(&surb, &content, &mut ChaCha20Rng::from_seed(reply_seed))?;
    ensure!(first == case.nodes[case.route[0].node].address);
    let mut nonce = [0u8; 24];
    ChaCha20Rng::from_seed(reply_seed).fill_bytes(&mut nonce);
    ensure!(reply[HEADER_LEN..HEADER_LEN + 24] == nonce);

    let mut replays = Replays::new();
    let stop = case.reuse.then_some(0);
    let trace = travel(
        &case.nodes,
        &case.route,
        &sender,
        reply,
        now,
        None,
        &mut replays,
        stop,
    )?;
    let mut second = None;
    let outcome = if case.reuse {
        let (_, again) = build_reply(&surb, &content, &mut ChaCha20Rng::from_seed(second_seed))?;
        let t = travel(
            &case.nodes,
            &case.route,
            &sender,
            again.clone(),
            now,
            None,
            &mut replays,
            None,
        )?;
        second = Some(again);
        t.outcome.context("no outcome")?
    } else {
        trace.outcome.clone().context("no outcome")?
    };

    let mut v = Vector::new(case.file, case.description, "surb", case.expect);
    finish_expect(&mut v, case.expect, outcome.as_ref().err().map(|(_, e)| e))?;
    if let Err((hop, _)) = &outcome {
        v.h("error hop", hop);
    }
    v.hx("surb rng seed", &surb_seed);
    v.hx("reply rng seed", &reply_seed);
    if case.reuse {
        v.hx("second reply rng seed", &second_seed);
    }
    v.hx("receipt message id", &case.receipt.message_id);
    v.h("receipt shards received", case.receipt.shards_received);
    write_route_header(&mut v, &case.nodes, &case.route, now);
    for (n, node) in case.nodes.iter().enumerate() {
        node.body(&mut v, n);
    }
    v.b("surb id", &id);
    v.b("surb key", &key);
    sender.write(&mut v);
    v.b("surb", &surb_bytes);
    v.b("surb secret", &secret_bytes);
    v.b("receipt", &content);
    v.b("reply nonce", &nonce);
    write_arrivals(&mut v, &trace);
    if let Some(again) = &second {
        v.b("second reply packet", again);
    }
    if let Ok((kind, delivered)) = &outcome {
        ensure!(*kind == DeliverKind::Reply(id));
        let recovered = open_reply(&secret, delivered)?;
        ensure!(recovered == content);
        // Independently: strip every layer, open the secretbox, read the length prefix.
        let mut p = delivered.clone();
        for h in &sender.hops {
            xor_into(&mut p, &keystream(&h.keys.payload_key, PAYLOAD_LEN));
        }
        let plain = crate::message::secretbox_open(&key, &p[..24], &p[24..])?;
        let len = usize::try_from(u32::from_be_bytes(plain[..4].try_into()?))?;
        ensure!(plain[4..4 + len] == content[..] && plain[4 + len..].iter().all(|b| *b == 0));
        v.b("delivered payload digest", &digest(delivered));
        v.b("recovered content", &recovered);
    }
    Ok(v)
}
