//! The sender's whole job in one call: plan routes, seal, code and wrap every shard.

use rand_core::{CryptoRng, RngCore};

use crate::descriptor::Descriptor;
use crate::error::Error;
use crate::level::LevelParams;
use crate::message::{Envelope, SealedMessage, SenderKeys, seal_message_with};
use crate::packet::{HopSpec, PAYLOAD_LEN, build_packet};
use crate::route::{PlannedPath, RelayCandidate, RouteEnds, plan_paths};

/// One packet ready for the first hop.
#[derive(Debug)]
pub struct OutgoingPacket {
    /// Shard index it carries.
    pub shard_index: u16,
    /// Which planned path it takes.
    pub path: usize,
    /// The first hop's mail address.
    pub first_hop: String,
    /// [`crate::packet::PACKET_LEN`] bytes.
    pub packet: Vec<u8>,
}

/// A message turned into packets.
#[derive(Debug)]
pub struct PreparedMessage {
    /// Message id (the receipt refers to it).
    pub message_id: [u8; 16],
    /// Shards needed to rebuild.
    pub k: usize,
    /// Shards sent.
    pub n: usize,
    /// The relays of each path (node ids), for bookkeeping.
    pub paths: Vec<Vec<crate::identity::NodeId>>,
    /// The packets, shard order.
    pub packets: Vec<OutgoingPacket>,
}

/// Draws an exponential mixing delay with mean `mean_ms`, capped at 20 means (and `u32::MAX`).
pub fn sample_delay_ms<R: RngCore>(mean_ms: u64, rng: &mut R) -> u32 {
    if mean_ms == 0 {
        return 0;
    }
    // 53 random bits give a uniform u in (0, 1].
    let u = ((rng.next_u64() >> 11) + 1) as f64 / (1u64 << 53) as f64;
    let d = -(mean_ms as f64) * u.ln();
    d.min(mean_ms as f64 * 20.0).min(u32::MAX as f64) as u32
}

/// Builds the hop list relays → recipient for the epoch keys valid at `now`.
pub fn hops_for<'a>(
    relays: &[&'a Descriptor],
    destination: &'a Descriptor,
    now: u64,
) -> Result<Vec<HopSpec<'a>>, Error> {
    let mut hops = Vec::with_capacity(relays.len() + 1);
    for (i, d) in relays
        .iter()
        .copied()
        .chain(core::iter::once(destination))
        .enumerate()
    {
        let epoch = d.epoch_for(now).ok_or(Error::Expired {
            what: "epoch key",
            from: 0,
            until: 0,
            now,
        })?;
        hops.push(HopSpec {
            node_id: d.node_id,
            address: &d.address,
            epoch,
            delay_ms: 0,
            difficulty: d.puzzle_difficulty,
            // The last relay may not know the destination: prove it is a MailVortex node.
            proof: if i == relays.len() {
                d.address_proof.as_ref()
            } else {
                None
            },
        });
    }
    Ok(hops)
}

/// Plans routes for `level` over `relays`, seals `envelope` for `recipient` and builds every packet.
///
/// Each packet gets its own exponential delays per relay (mean from the level); the message
/// is spread over [`LevelParams::paths_for`] paths and shard `i` takes path `i mod paths`.
/// The recipient's epoch key valid at `now` is used end to end.
///
/// Random values are drawn in this order: sealing ([`crate::message::seal_message`]), route
/// planning ([`plan_paths`]), then per packet in shard order its relays' delays (one `next_u64`
/// each, first relay first, none when the level has no delay) followed by what
/// [`crate::packet::build_header`] draws for it.
// Every argument is a distinct input of the one job; a parameter struct would only rename them.
#[allow(clippy::too_many_arguments)]
pub fn prepare_message<R: RngCore + CryptoRng>(
    sender: SenderKeys<'_>,
    sender_provider: &str,
    recipient: &Descriptor,
    envelope: &Envelope,
    level: &LevelParams,
    relays: &[&Descriptor],
    now: u64,
    rng: &mut R,
) -> Result<PreparedMessage, Error> {
    let (planned, paths, sealed) = plan_and_seal(
        sender,
        sender_provider,
        recipient,
        envelope,
        level,
        relays,
        now,
        rng,
        false,
    )?;
    let mut packets = Vec::with_capacity(sealed.n);
    for (i, payload) in sealed.payloads.iter().enumerate() {
        let (path, hops) = packet_hops(&paths, i, level, rng);
        let payload: &[u8; PAYLOAD_LEN] = payload;
        packets.push(OutgoingPacket {
            shard_index: i as u16,
            path,
            first_hop: hops[0].address.to_string(),
            packet: build_packet(&hops, payload, rng)?,
        });
    }
    Ok(PreparedMessage {
        message_id: sealed.message_id,
        k: sealed.k,
        n: sealed.n,
        paths: planned.into_iter().map(|p| p.relays).collect(),
        packets,
    })
}

/// [`prepare_message`] on every core (rayon's global pool): the same result, byte for byte,
/// for the same arguments and the same RNG, which is left in the same state.
///
/// How: every random value is drawn on the calling thread, in exactly the order
/// [`prepare_message`] draws it (sealing, route planning, then per packet its delays and its
/// header's ephemeral secrets, puzzle starts and padding); only the deterministic work (key
/// exchanges, keystreams, MACs, puzzle solving) runs in parallel. An error (a weak epoch key,
/// a bad address) is the one [`prepare_message`] returns, that of the first failing packet,
/// but the RNG has then advanced further (every packet's values were drawn first): with one
/// packet per path, building each path's first packet up front would leave nothing to
/// parallelise. Only with the `parallel` feature.
#[cfg(feature = "parallel")]
#[allow(clippy::too_many_arguments)] // the same arguments as `prepare_message`
pub fn prepare_message_parallel<R: RngCore + CryptoRng>(
    sender: SenderKeys<'_>,
    sender_provider: &str,
    recipient: &Descriptor,
    envelope: &Envelope,
    level: &LevelParams,
    relays: &[&Descriptor],
    now: u64,
    rng: &mut R,
) -> Result<PreparedMessage, Error> {
    use crate::packet::{DeliverKind, Drawn, build_header_with};
    use rayon::prelude::*;

    let (planned, paths, sealed) = plan_and_seal(
        sender,
        sender_provider,
        recipient,
        envelope,
        level,
        relays,
        now,
        rng,
        true,
    )?;
    let mut jobs = Vec::with_capacity(sealed.n);
    for i in 0..sealed.payloads.len() {
        let (path, hops) = packet_hops(&paths, i, level, rng);
        let drawn = Drawn::draw(&hops, rng);
        jobs.push((i, path, hops, drawn));
    }
    let payloads = &sealed.payloads;
    let built: Vec<Result<OutgoingPacket, Error>> = jobs
        .into_par_iter()
        .map(|(i, path, hops, mut drawn)| {
            let packet = build_header_with(&hops, DeliverKind::Message, &mut drawn)?
                .seal_payload(&payloads[i]);
            Ok(OutgoingPacket {
                shard_index: i as u16,
                path,
                first_hop: hops[0].address.to_string(),
                packet,
            })
        })
        .collect();
    let packets = built.into_iter().collect::<Result<Vec<_>, _>>()?;
    Ok(PreparedMessage {
        message_id: sealed.message_id,
        k: sealed.k,
        n: sealed.n,
        paths: planned.into_iter().map(|p| p.relays).collect(),
        packets,
    })
}

/// Packet `i`'s path index and hops, with fresh delays for its relays (drawn from `rng`).
fn packet_hops<'a, R: RngCore>(
    paths: &[Vec<HopSpec<'a>>],
    i: usize,
    level: &LevelParams,
    rng: &mut R,
) -> (usize, Vec<HopSpec<'a>>) {
    let path = i % paths.len();
    let mut hops = paths[path].clone();
    let last = hops.len() - 1;
    for hop in &mut hops[..last] {
        hop.delay_ms = sample_delay_ms(level.mean_delay_ms, rng);
    }
    (path, hops)
}

type Planned<'a> = (Vec<PlannedPath>, Vec<Vec<HopSpec<'a>>>, SealedMessage);

/// Sealing and route planning, the part of [`prepare_message`] before the packets
/// (`parallel`: build the shard payloads on all cores, same bytes).
#[allow(clippy::too_many_arguments)]
fn plan_and_seal<'a, R: RngCore + CryptoRng>(
    sender: SenderKeys<'_>,
    sender_provider: &str,
    recipient: &'a Descriptor,
    envelope: &Envelope,
    level: &LevelParams,
    relays: &[&'a Descriptor],
    now: u64,
    rng: &mut R,
    parallel: bool,
) -> Result<Planned<'a>, Error> {
    let recipient_epoch = recipient.epoch_for(now).ok_or(Error::Expired {
        what: "recipient epoch key",
        from: 0,
        until: 0,
        now,
    })?;
    let pool: Vec<RelayCandidate> = relays
        .iter()
        .filter(|d| d.peer_type.relays() && d.epoch_for(now).is_some())
        .map(|d| RelayCandidate::from(*d))
        .collect();
    let recipient_provider = recipient.provider();
    let ends = RouteEnds {
        sender: (&sender.node_id, sender_provider),
        recipient: (&recipient.node_id, &recipient_provider),
    };
    let sealed = seal_message_with(
        sender,
        recipient_epoch,
        envelope,
        level.redundancy,
        rng,
        parallel,
    )?;
    // The number of paths depends on the number of packets (`packets_per_path`).
    let mut spread = *level;
    spread.parallel_paths = level.paths_for(sealed.n);
    let planned = plan_paths(&spread, &ends, &pool, rng)?;
    let mut paths: Vec<Vec<HopSpec<'a>>> = Vec::with_capacity(planned.len());
    for p in &planned {
        let chosen: Vec<&Descriptor> = p
            .relays
            .iter()
            .map(|id| {
                relays
                    .iter()
                    .copied()
                    .find(|d| d.node_id == *id)
                    .ok_or(Error::Route("planned relay vanished"))
            })
            .collect::<Result<_, _>>()?;
        paths.push(hops_for(&chosen, recipient, now)?);
    }
    Ok((planned, paths, sealed))
}

#[cfg(all(test, feature = "parallel"))]
mod tests {
    use super::*;
    use crate::descriptor::{Limits, PeerType};
    use crate::identity::{EpochSecret, Identity};
    use crate::level::LevelName;
    use crate::message::MessageContent;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    const NOW: u64 = 1_800_000_000;

    fn node(
        seed: u64,
        address: &str,
        peer_type: PeerType,
        difficulty: u8,
    ) -> (Descriptor, EpochSecret) {
        let mut r = ChaCha20Rng::seed_from_u64(seed);
        let id = Identity::generate(&mut r);
        let epoch = id.new_epoch_key(&mut r, 1, NOW - 10, NOW + 1000);
        let d = Descriptor {
            node_id: id.node_id(),
            address: address.to_string(),
            peer_type,
            puzzle_difficulty: difficulty,
            limits: Limits {
                packets_per_day: 10,
                max_message_bytes: 1 << 26,
            },
            issued_at: NOW - 10,
            expires_at: NOW + 1000,
            epochs: vec![epoch.public.clone()],
            address_proof: None,
        };
        (d, epoch)
    }

    fn digest(p: &Result<PreparedMessage, Error>) -> Vec<u8> {
        match p {
            Ok(p) => {
                let mut v = p.message_id.to_vec();
                for o in &p.packets {
                    v.extend_from_slice(&o.shard_index.to_be_bytes());
                    v.extend_from_slice(&o.path.to_be_bytes());
                    v.extend_from_slice(o.first_hop.as_bytes());
                    v.extend_from_slice(&o.packet);
                }
                v
            }
            Err(e) => format!("{e:?}").into_bytes(),
        }
    }

    #[test]
    fn parallel_is_byte_identical_and_leaves_the_rng_alike() {
        let (_, sender_epoch) = node(1, "alice@a.test", PeerType::Passive, 0);
        let (sender_desc, _) = node(1, "alice@a.test", PeerType::Passive, 0);
        let (recipient, _) = node(2, "bob@b.test", PeerType::Passive, 0);
        let mut relays: Vec<Descriptor> = (0..12u64)
            .map(|i| {
                node(
                    10 + i,
                    &format!("r{i}@p{i}.test"),
                    PeerType::Public,
                    (i % 3) as u8 * 2,
                )
                .0
            })
            .collect();
        let sender = SenderKeys {
            node_id: sender_desc.node_id,
            epoch: &sender_epoch,
        };
        let env = |level, len: usize| Envelope {
            created_at: NOW,
            level,
            content: MessageContent {
                subject: "s".into(),
                file_name: None,
                body: vec![7; len],
            },
            sender_descriptor: None,
            receipt_surb: None,
            reply_surb: None,
        };
        for (round, level) in LevelName::ALL.into_iter().enumerate() {
            for len in [10usize, 200_000] {
                let e = env(level, len);
                let refs: Vec<&Descriptor> = relays.iter().collect();
                let mut r1 = ChaCha20Rng::seed_from_u64(round as u64 * 7 + len as u64);
                let mut r2 = r1.clone();
                let a = prepare_message(
                    sender,
                    "a.test",
                    &recipient,
                    &e,
                    &level.params(),
                    &refs,
                    NOW,
                    &mut r1,
                );
                let b = prepare_message_parallel(
                    sender,
                    "a.test",
                    &recipient,
                    &e,
                    &level.params(),
                    &refs,
                    NOW,
                    &mut r2,
                );
                assert!(a.is_ok(), "{level}");
                assert_eq!(digest(&a), digest(&b), "{level} {len}");
                assert_eq!(r1.next_u64(), r2.next_u64(), "{level} {len}: RNG state");
            }
        }
        // A weak epoch key on one relay: the same error (the RNG may have advanced further).
        for r in &mut relays {
            r.epochs[0].key = [0; 32];
        }
        relays[0].epochs[0].key = recipient.epochs[0].key;
        let e = env(LevelName::Maximum, 300_000);
        let refs: Vec<&Descriptor> = relays.iter().collect();
        let mut r1 = ChaCha20Rng::seed_from_u64(99);
        let mut r2 = r1.clone();
        let level = LevelName::Maximum.params();
        let a = prepare_message(
            sender, "a.test", &recipient, &e, &level, &refs, NOW, &mut r1,
        );
        let b = prepare_message_parallel(
            sender, "a.test", &recipient, &e, &level, &refs, NOW, &mut r2,
        );
        assert!(matches!(a, Err(Error::WeakKey)), "{a:?}");
        assert_eq!(digest(&a), digest(&b));
    }
}
