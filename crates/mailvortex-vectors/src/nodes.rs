//! Deterministic nodes: an identity and epoch keys drawn from a fixed ChaCha20Rng seed.

use anyhow::Context;
use mailvortex_proto::identity::{EpochSchedule, EpochSecret, Identity, NodeId};
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use x25519_dalek::StaticSecret;

use crate::crypto::fixed_seed;
use crate::format::Vector;

/// The reference time of the vectors (unix seconds): 2027-01-15T08:00:00Z.
pub(crate) const NOW: u64 = 1_800_000_000;

/// The epoch current at [`NOW`] under the default schedule (7 days, 2 days grace).
pub(crate) fn current_epoch() -> u32 {
    EpochSchedule::default().epoch_at(NOW)
}

/// A node as the vectors describe it.
pub(crate) struct Node {
    pub(crate) address: String,
    pub(crate) identity_seed: [u8; 32],
    pub(crate) identity: Identity,
    /// `(epoch, secret bytes, signed key)`, oldest first.
    pub(crate) epochs: Vec<(u32, [u8; 32], EpochSecret)>,
    pub(crate) min_difficulty: u8,
}

impl Node {
    /// Node `name` (the seed tag) at `address` holding keys for `epochs` (default windows).
    pub(crate) fn new(name: &str, address: &str, epochs: &[u32], min_difficulty: u8) -> Self {
        let mut rng = ChaCha20Rng::from_seed(fixed_seed(&format!("node {name}")));
        let mut identity_seed = [0u8; 32];
        rng.fill_bytes(&mut identity_seed);
        let identity = Identity::from_secret_bytes(&identity_seed);
        let schedule = EpochSchedule::default();
        let epochs = epochs
            .iter()
            .map(|&e| {
                let mut secret = [0u8; 32];
                rng.fill_bytes(&mut secret);
                let (from, until) = schedule.window(e);
                let signed = identity.certify_epoch_key(StaticSecret::from(secret), e, from, until);
                (e, secret, signed)
            })
            .collect();
        Node {
            address: address.to_string(),
            identity_seed,
            identity,
            epochs,
            min_difficulty,
        }
    }

    /// The node id.
    pub(crate) fn id(&self) -> NodeId {
        self.identity.node_id()
    }

    /// The signed key of epoch `e`.
    pub(crate) fn epoch(&self, e: u32) -> anyhow::Result<&EpochSecret> {
        self.epochs
            .iter()
            .find(|(n, _, _)| *n == e)
            .map(|(_, _, s)| s)
            .with_context(|| format!("node has no epoch {e}"))
    }

    /// The keyring at `now`: every epoch key valid at `now`, newest first.
    pub(crate) fn live_keys(&self, now: u64) -> anyhow::Result<Vec<EpochSecret>> {
        let mut live: Vec<&(u32, [u8; 32], EpochSecret)> = self
            .epochs
            .iter()
            .filter(|(_, _, s)| s.public.is_valid_at(now))
            .collect();
        live.sort_by_key(|e| core::cmp::Reverse(e.0));
        live.into_iter()
            .map(|(_, secret, s)| {
                EpochSecret::from_parts(*secret, s.public.clone()).context("epoch key parts")
            })
            .collect()
    }

    /// Header lines `node N ...` (inputs).
    pub(crate) fn header(&self, v: &mut Vector, n: usize, with_difficulty: bool) {
        v.h(&format!("node {n} address"), &self.address);
        v.hx(&format!("node {n} identity seed"), &self.identity_seed);
        for (e, secret, s) in &self.epochs {
            v.hx(&format!("node {n} epoch {e} secret"), secret);
            v.h(
                &format!("node {n} epoch {e} window"),
                format!("{} {}", s.public.valid_from, s.public.valid_until),
            );
        }
        if with_difficulty {
            v.h(&format!("node {n} min difficulty"), self.min_difficulty);
        }
    }

    /// Body lines `node N id` and `node N epoch E key` (derived).
    pub(crate) fn body(&self, v: &mut Vector, n: usize) {
        v.b(&format!("node {n} id"), self.id().as_bytes());
        for (e, _, s) in &self.epochs {
            v.b(&format!("node {n} epoch {e} key"), &s.public.key);
        }
    }
}
