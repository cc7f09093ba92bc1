//! Shared fixtures: deterministic nodes with identities, epoch keys and descriptors.
#![allow(dead_code, unreachable_pub)]

use mailvortex_proto::Error;
use mailvortex_proto::descriptor::{Descriptor, Limits, PeerType, UncheckedDescriptor};
use mailvortex_proto::identity::{EpochSecret, Identity};
use mailvortex_proto::packet::{EpochKeyring, HopSpec, OpenedPacket, Routing, open_packet};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use std::collections::BTreeSet;

pub const NOW: u64 = 1_800_000_000;

pub struct TestNode {
    pub identity: Identity,
    pub epoch: EpochSecret,
    pub descriptor: Descriptor,
    pub signed: Vec<u8>,
    pub seen: BTreeSet<[u8; 32]>,
    pub min_difficulty: u8,
}

pub fn rng(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}

impl TestNode {
    pub fn new(seed: u64, address: &str, peer_type: PeerType) -> Self {
        let mut r = rng(seed);
        let identity = Identity::generate(&mut r);
        let epoch = identity.new_epoch_key(&mut r, 1, NOW - 3600, NOW + 7 * 86_400);
        let descriptor = Descriptor {
            node_id: identity.node_id(),
            address: address.to_string(),
            peer_type,
            puzzle_difficulty: 0,
            limits: Limits {
                packets_per_day: 2000,
                max_message_bytes: 64 << 20,
            },
            issued_at: NOW - 3600,
            expires_at: NOW + 30 * 86_400,
            epochs: vec![epoch.public.clone()],
            address_proof: None,
        };
        let signed = descriptor.sign(&identity).expect("sign");
        let descriptor = UncheckedDescriptor::decode(&signed)
            .expect("decode")
            .check(NOW)
            .expect("check");
        TestNode {
            identity,
            epoch,
            descriptor,
            signed,
            seen: BTreeSet::new(),
            min_difficulty: 0,
        }
    }

    pub fn hop(&self) -> HopSpec<'_> {
        HopSpec {
            node_id: self.descriptor.node_id,
            address: &self.descriptor.address,
            epoch: &self.epoch.public,
            delay_ms: 0,
            difficulty: self.descriptor.puzzle_difficulty,
            proof: None,
        }
    }

    pub fn open(&self, packet: &[u8]) -> Result<OpenedPacket, Error> {
        let keys = EpochKeyring {
            node_id: self.descriptor.node_id,
            epochs: std::slice::from_ref(&self.epoch),
            min_difficulty: self.min_difficulty,
        };
        open_packet(&keys, packet)
    }

    /// Opens, checks the replay tag like a node's store would, and routes.
    pub fn process(&mut self, packet: &[u8]) -> Result<Routing, Error> {
        let opened = self.open(packet)?;
        if !self.seen.insert(*opened.replay_tag()) {
            return Err(Error::Replay);
        }
        Ok(opened.into_routing())
    }
}

/// A sender, a recipient and `relays` public relays on distinct providers.
pub fn network(relays: usize) -> (TestNode, TestNode, Vec<TestNode>) {
    let sender = TestNode::new(1, "alice@a.test", PeerType::Passive);
    let recipient = TestNode::new(2, "bob@b.test", PeerType::Passive);
    let relays = (0..relays)
        .map(|i| {
            TestNode::new(
                100 + i as u64,
                &format!("relay{i}@r{i}.test"),
                PeerType::Public,
            )
        })
        .collect();
    (sender, recipient, relays)
}
