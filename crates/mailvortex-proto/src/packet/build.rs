//! Building headers and packets (the sender's side, and the reply-block creator's).

use rand_core::{CryptoRng, RngCore};
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::Zeroize;

use crate::descriptor::validate_address;
use crate::error::Error;
use crate::identity::{EpochPublic, NodeId};
use crate::puzzle::Challenge;

use crate::address_proof::AddressProof;

use super::slot::{Command, DeliverKind, PROVEN_SLOT_LEN, RoutingSlot};
use super::{
    BETA_LEN, HEADER_LEN, HopKeys, MAX_HOPS, PACKET_LEN, PACKET_VERSION, PAYLOAD_LEN, SLOT_LEN,
    header_mac, xor_keystream, xor_keystreams,
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
    /// This hop's address proof, written into the previous hop's slot (command 0x03) so that
    /// a relay forwards to it without knowing it. [`crate::send::hops_for`] sets it for the
    /// destination; `None` for relays (every relay knows the relay list).
    pub proof: Option<&'a AddressProof>,
}

/// The routing-block bytes hop `i` consumes: two slots when it forwards to a hop with a proof.
fn slot_len(hops: &[HopSpec<'_>], i: usize) -> usize {
    match hops.get(i + 1) {
        Some(next) if next.proof.is_some() => PROVEN_SLOT_LEN,
        _ => SLOT_LEN,
    }
}

/// Routing-block bytes the hops before the last consume (the filler's length); the route fits
/// when this plus one slot for the last hop is at most [`BETA_LEN`].
fn consumed_before_last(hops: &[HopSpec<'_>]) -> usize {
    (0..hops.len().saturating_sub(1))
        .map(|i| slot_len(hops, i))
        .sum()
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
        // All layers chunk by chunk (XOR commutes, so this is every keystream in turn).
        xor_keystreams(&self.payload_keys, &mut packet[HEADER_LEN..]);
        packet
    }
}

/// Where [`build_header`] takes its random values from, in this order: one 32-byte X25519
/// secret per hop (first hop first, each right before its key exchange), then one `u64`
/// puzzle start per hop, then the padding of the last hop's slot.
pub(crate) trait HeaderDraws {
    /// The next hop's ephemeral secret (32 bytes from `fill_bytes`).
    fn secret(&mut self) -> StaticSecret;
    /// The next hop's puzzle start (`next_u64`).
    fn puzzle_start(&mut self) -> u64;
    /// The random padding after the last hop's slot (`fill_bytes`).
    fn padding(&mut self, buf: &mut [u8]);
}

/// Draws straight from the caller's RNG.
pub(crate) struct FromRng<'r, R>(pub(crate) &'r mut R);

impl<R: RngCore + CryptoRng> HeaderDraws for FromRng<'_, R> {
    fn secret(&mut self) -> StaticSecret {
        // What `StaticSecret::random_from_rng` does: 32 bytes from one `fill_bytes`.
        let mut bytes = [0u8; 32];
        self.0.fill_bytes(&mut bytes);
        let s = StaticSecret::from(bytes);
        bytes.zeroize();
        s
    }

    fn puzzle_start(&mut self) -> u64 {
        self.0.next_u64()
    }

    fn padding(&mut self, buf: &mut [u8]) {
        self.0.fill_bytes(buf);
    }
}

/// The random values of one header, drawn ahead (same calls, same order) so the header can be
/// computed later, on any thread, with the same result as drawing while building.
#[cfg(feature = "parallel")]
pub(crate) struct Drawn {
    secrets: std::collections::VecDeque<StaticSecret>,
    starts: std::collections::VecDeque<u64>,
    padding: Vec<u8>,
}

#[cfg(feature = "parallel")]
impl Drawn {
    /// Draws what [`build_header`] would draw for `hops` (a route that fits, 1..=MAX_HOPS).
    pub(crate) fn draw<R: RngCore + CryptoRng>(hops: &[HopSpec<'_>], rng: &mut R) -> Self {
        let mut from = FromRng(rng);
        let secrets = (0..hops.len()).map(|_| from.secret()).collect();
        let starts = (0..hops.len()).map(|_| from.puzzle_start()).collect();
        let mut padding = vec![0u8; padding_len(hops)];
        from.padding(&mut padding);
        Drawn {
            secrets,
            starts,
            padding,
        }
    }
}

#[cfg(feature = "parallel")]
impl HeaderDraws for Drawn {
    fn secret(&mut self) -> StaticSecret {
        // `draw` made one per hop and `build_header_with` takes one per hop.
        self.secrets
            .pop_front()
            .unwrap_or_else(|| StaticSecret::from([0u8; 32]))
    }

    fn puzzle_start(&mut self) -> u64 {
        self.starts.pop_front().unwrap_or(0)
    }

    fn padding(&mut self, buf: &mut [u8]) {
        let n = buf.len().min(self.padding.len());
        buf[..n].copy_from_slice(&self.padding[..n]);
    }
}

#[cfg(feature = "parallel")]
impl Drop for Drawn {
    fn drop(&mut self) {
        self.padding.zeroize();
    }
}

/// Random padding bytes after the last hop's slot (zero for a route that does not fit).
#[cfg(feature = "parallel")]
fn padding_len(hops: &[HopSpec<'_>]) -> usize {
    BETA_LEN.saturating_sub(consumed_before_last(hops) + SLOT_LEN)
}

/// Builds a header for `hops` (the last one is the destination) ending in `deliver`.
///
/// Random values are drawn from `rng` in this order: 32 bytes (`fill_bytes`) per hop for its
/// ephemeral X25519 secret, first hop first; one `next_u64` per hop for its puzzle start;
/// then one `fill_bytes` for the padding of the last hop's routing block. Test vectors rely on it.
pub fn build_header<R: RngCore + CryptoRng>(
    hops: &[HopSpec<'_>],
    deliver: DeliverKind,
    rng: &mut R,
) -> Result<PacketBuilder, Error> {
    build_header_with(hops, deliver, &mut FromRng(rng))
}

/// [`build_header`] with its random values from `draws`.
pub(crate) fn build_header_with<D: HeaderDraws>(
    hops: &[HopSpec<'_>],
    deliver: DeliverKind,
    draws: &mut D,
) -> Result<PacketBuilder, Error> {
    let n = hops.len();
    if n == 0 || n > MAX_HOPS {
        return Err(Error::InvalidArgument("a route has 1 to 8 hops"));
    }
    for hop in hops {
        validate_address(hop.address)?;
    }
    let filler_len = consumed_before_last(hops);
    if filler_len + SLOT_LEN > BETA_LEN {
        return Err(Error::InvalidArgument(
            "route too long: each address proof takes one of the 8 slots",
        ));
    }
    // Per hop: a fresh ephemeral key, the shared secret and the derived keys.
    let mut alphas = Vec::with_capacity(n);
    let mut keys = Vec::with_capacity(n);
    for hop in hops {
        let x = draws.secret();
        let alpha = PublicKey::from(&x).to_bytes();
        let dh = x.diffie_hellman(&PublicKey::from(hop.epoch.key));
        if !dh.was_contributory() {
            return Err(Error::WeakKey);
        }
        let secret = HopKeys::hop_secret(dh.as_bytes(), &alpha, &hop.epoch.key);
        alphas.push(alpha);
        keys.push(HopKeys::derive(&secret));
    }
    // Header keystreams (R + 2 slots each, room for the longest slot) and the filler.
    let streams: Vec<[u8; BETA_LEN + PROVEN_SLOT_LEN]> = keys
        .iter()
        .map(|k| {
            let mut s = [0u8; BETA_LEN + PROVEN_SLOT_LEN];
            xor_keystream(&k.header_stream, &mut s);
            s
        })
        .collect();
    // Hop i appends L_i zero bytes and decrypts: the filler grows by L_i and takes the tail of
    // that hop's stream, S_i[R - |F_i| .. R + L_i].
    let mut filler = [0u8; BETA_LEN];
    let mut len = 0;
    for (i, stream) in streams.iter().enumerate().take(n - 1) {
        let start = BETA_LEN - len;
        len += slot_len(hops, i);
        for (f, s) in filler[..len].iter_mut().zip(&stream[start..]) {
            *f ^= s;
        }
    }
    // Slots with puzzle solutions.
    let mut slots = Vec::with_capacity(n);
    for (i, hop) in hops.iter().enumerate() {
        let challenge = Challenge::new(&keys[i].replay_tag, &hop.node_id, hop.epoch.epoch);
        let puzzle_nonce = challenge.solve(hop.difficulty, draws.puzzle_start());
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
    let mut beta = [0u8; BETA_LEN];
    let open_len = BETA_LEN - filler_len;
    beta[..SLOT_LEN].copy_from_slice(&last_slot.encode()[..SLOT_LEN]);
    draws.padding(&mut beta[SLOT_LEN..open_len]);
    for (b, s) in beta[..open_len].iter_mut().zip(&streams[last]) {
        *b ^= s;
    }
    beta[open_len..].copy_from_slice(&filler[..filler_len]);
    let mut mac = header_mac(&keys[last].header_mac, &alphas[last], &beta);
    // Wrap the earlier hops, last to first: shift beta right by the slot's length in place,
    // put the slot in front, encrypt.
    for i in (0..last).rev() {
        let slot = RoutingSlot {
            command: Command::Relay {
                next_alpha: alphas[i + 1],
                next_mac: mac,
                next_address: hops[i + 1].address.to_string(),
                proof: hops[i + 1].proof.copied(),
            },
            ..slots[i].clone()
        };
        let l = slot.encoded_len();
        beta.copy_within(..BETA_LEN - l, l);
        beta[..l].copy_from_slice(&slot.encode()[..l]);
        for (b, s) in beta.iter_mut().zip(&streams[i]) {
            *b ^= s;
        }
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
