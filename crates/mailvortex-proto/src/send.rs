//! The sender's whole job in one call: plan routes, seal, code and wrap every shard.

use rand_core::{CryptoRng, RngCore};

use crate::descriptor::Descriptor;
use crate::error::Error;
use crate::level::LevelParams;
use crate::message::{Envelope, SenderKeys, seal_message};
use crate::packet::{HopSpec, PAYLOAD_LEN, build_packet};
use crate::route::{RelayCandidate, RouteEnds, plan_paths};

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
    for d in relays.iter().copied().chain(core::iter::once(destination)) {
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
        });
    }
    Ok(hops)
}

/// Plans routes for `level` over `relays`, seals `envelope` for `recipient` and builds every packet.
///
/// Each packet gets its own exponential delays per relay (mean from the level); shard `i`
/// takes path `i mod paths`. The recipient's epoch key valid at `now` is used end to end.
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
    let planned = plan_paths(level, &ends, &pool, rng)?;
    let mut paths: Vec<Vec<HopSpec<'_>>> = Vec::with_capacity(planned.len());
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
    let sealed = seal_message(sender, recipient_epoch, envelope, level.redundancy, rng)?;
    let mut packets = Vec::with_capacity(sealed.n);
    for (i, payload) in sealed.payloads.iter().enumerate() {
        let path = i % paths.len();
        let mut hops = paths[path].clone();
        let last = hops.len() - 1;
        for hop in &mut hops[..last] {
            hop.delay_ms = sample_delay_ms(level.mean_delay_ms, rng);
        }
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
