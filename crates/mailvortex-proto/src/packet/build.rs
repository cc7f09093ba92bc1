//! Building headers and packets (the sender's side, and the reply-block creator's).

use rand_core::{CryptoRng, RngCore};
use x25519_dalek::{PublicKey, StaticSecret};

use crate::descriptor::validate_address;
use crate::error::Error;
use crate::identity::{EpochPublic, NodeId};
use crate::puzzle::Challenge;

use super::slot::{Command, DeliverKind, RoutingSlot};
use super::{
    BETA_LEN, HEADER_LEN, HopKeys, MAX_HOPS, PACKET_LEN, PACKET_VERSION, PAYLOAD_LEN, SLOT_LEN,
    header_mac, xor_keystream,
};

/// One hop of a route, as the sender sees it.
#[derive(Debug, Clone, Copy)]
pub struct HopSpec<'a> {
    /// The hop's node.
    pub node_id: NodeId,
    /// The hop's mail address (written into the previous hop's slot).
    pub address: &'a str,
    /// The epoch key to encrypt to.
    pub epoch: &'a EpochPublic,
    /// Mixing delay asked of this hop, in milliseconds.
    pub delay_ms: u32,
    /// Puzzle difficulty this hop requires.
    pub difficulty: u8,
}

/// A header and the secrets its creator keeps.
pub struct PacketBuilder {
    /// The encoded header, [`HEADER_LEN`] bytes.
    pub header: Vec<u8>,
    /// Each hop's payload keystream key, first hop first.
    pub payload_keys: Vec<[u8; 32]>,
}

impl core::fmt::Debug for PacketBuilder {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "PacketBuilder({} hops)", self.payload_keys.len())
    }
}

impl Drop for PacketBuilder {
    fn drop(&mut self) {
        use zeroize::Zeroize;
        for k in &mut self.payload_keys {
            k.zeroize();
        }
    }
}

impl PacketBuilder {
    /// Layers `payload` for the route (XOR with every hop's keystream) and returns the packet.
    pub fn seal_payload(&self, payload: &[u8; PAYLOAD_LEN]) -> Vec<u8> {
        let mut packet = Vec::with_capacity(PACKET_LEN);
        packet.extend_from_slice(&self.header);
        packet.extend_from_slice(payload);
        let body = &mut packet[HEADER_LEN..];
        for key in &self.payload_keys {
            xor_keystream(key, body);
        }
        packet
    }
}

/// Builds a header for `hops` (the last one is the destination) ending in `deliver`.
pub fn build_header<R: RngCore + CryptoRng>(
    hops: &[HopSpec<'_>],
    deliver: DeliverKind,
    rng: &mut R,
) -> Result<PacketBuilder, Error> {
    let n = hops.len();
    if n == 0 || n > MAX_HOPS {
        return Err(Error::InvalidArgument("a route has 1 to 8 hops"));
    }
    for hop in hops {
        validate_address(hop.address)?;
    }
    // Per hop: a fresh ephemeral key, the shared secret and the derived keys.
    let mut alphas = Vec::with_capacity(n);
    let mut keys = Vec::with_capacity(n);
    for hop in hops {
        let x = StaticSecret::random_from_rng(&mut *rng);
        let alpha = PublicKey::from(&x).to_bytes();
        let dh = x.diffie_hellman(&PublicKey::from(hop.epoch.key));
        if !dh.was_contributory() {
            return Err(Error::WeakKey);
        }
        let secret = HopKeys::hop_secret(dh.as_bytes(), &alpha, &hop.epoch.key);
        alphas.push(alpha);
        keys.push(HopKeys::derive(&secret));
    }
    // Header keystreams (R+1 slots each) and the filler.
    let streams: Vec<Vec<u8>> = keys
        .iter()
        .map(|k| {
            let mut s = vec![0u8; BETA_LEN + SLOT_LEN];
            xor_keystream(&k.header_stream, &mut s);
            s
        })
        .collect();
    let mut filler: Vec<u8> = Vec::with_capacity((n - 1) * SLOT_LEN);
    for (i, stream) in streams.iter().enumerate().take(n - 1) {
        filler.extend_from_slice(&[0u8; SLOT_LEN]);
        let start = (MAX_HOPS - i) * SLOT_LEN;
        for (f, s) in filler.iter_mut().zip(&stream[start..]) {
            *f ^= s;
        }
    }
    // Slots with puzzle solutions.
    let mut slots = Vec::with_capacity(n);
    for (i, hop) in hops.iter().enumerate() {
        let challenge = Challenge::new(&keys[i].replay_tag, &hop.node_id, hop.epoch.epoch);
        let puzzle_nonce = challenge.solve(hop.difficulty, rng.next_u64());
        slots.push(RoutingSlot {
            command: Command::Deliver(deliver),
            delay_ms: hop.delay_ms,
            difficulty: hop.difficulty,
            puzzle_nonce,
        });
    }
    // The last hop's beta: its slot, random padding, encrypted, then the filler.
    let last = n - 1;
    let mut last_slot = slots[last].clone();
    last_slot.delay_ms = 0;
    let mut beta = vec![0u8; BETA_LEN];
    let open_len = BETA_LEN - last * SLOT_LEN;
    beta[..SLOT_LEN].copy_from_slice(&last_slot.encode());
    rng.fill_bytes(&mut beta[SLOT_LEN..open_len]);
    for (b, s) in beta[..open_len].iter_mut().zip(&streams[last]) {
        *b ^= s;
    }
    beta[open_len..].copy_from_slice(&filler);
    let mut mac = header_mac(&keys[last].header_mac, &alphas[last], &beta);
    // Wrap the earlier hops, last to first.
    for i in (0..last).rev() {
        let slot = RoutingSlot {
            command: Command::Relay {
                next_alpha: alphas[i + 1],
                next_mac: mac,
                next_address: hops[i + 1].address.to_string(),
            },
            ..slots[i].clone()
        };
        let mut next = vec![0u8; BETA_LEN];
        next[..SLOT_LEN].copy_from_slice(&slot.encode());
        next[SLOT_LEN..].copy_from_slice(&beta[..BETA_LEN - SLOT_LEN]);
        for (b, s) in next.iter_mut().zip(&streams[i]) {
            *b ^= s;
        }
        beta = next;
        mac = header_mac(&keys[i].header_mac, &alphas[i], &beta);
    }
    let mut header = Vec::with_capacity(HEADER_LEN);
    header.push(PACKET_VERSION);
    header.extend_from_slice(&alphas[0]);
    header.extend_from_slice(&mac);
    header.extend_from_slice(&beta);
    Ok(PacketBuilder {
        header,
        payload_keys: keys.iter().map(|k| k.payload_stream).collect(),
    })
}

/// Builds a forward packet carrying `payload` along `hops` to the last hop.
pub fn build_packet<R: RngCore + CryptoRng>(
    hops: &[HopSpec<'_>],
    payload: &[u8; PAYLOAD_LEN],
    rng: &mut R,
) -> Result<Vec<u8>, Error> {
    Ok(build_header(hops, DeliverKind::Message, rng)?.seal_payload(payload))
}
