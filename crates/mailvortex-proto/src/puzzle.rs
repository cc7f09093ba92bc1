//! Per-hop proof of work (hashcash over keyed BLAKE2b).
//!
//! The sender solves one puzzle per hop; the hop checks it with one BLAKE2b call (well under
//! a microsecond). The challenge binds the hop's replay tag (unique per packet and hop), the
//! hop's node id and its epoch, so a solution is worth exactly one packet at one hop.
//!
//! Why hashcash and not Equi-X or Argon2: verification must cost microseconds on every
//! candidate (Argon2 verifies as slowly as it solves), and a one-hash check with an
//! adjustable number of leading zero bits is simple to specify and to re-implement.
//! Its weakness (GPUs solve faster) is bounded by keeping difficulties low between
//! MailVortex users and raising them only under load. See docs/spec, section "Puzzles".

use crate::identity::NodeId;
use crate::kdf::{self, PUZZLE};

/// The highest difficulty a descriptor may ask for.
pub const MAX_DIFFICULTY: u8 = 40;

/// Difficulty a node publishes when it is not under load.
pub const DEFAULT_DIFFICULTY: u8 = 10;

/// The challenge of one hop of one packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Challenge([u8; 32]);

impl Challenge {
    /// Binds the hop's replay tag, node and epoch.
    pub fn new(replay_tag: &[u8; 32], node: &NodeId, epoch: u32) -> Self {
        Challenge(kdf::derive(
            PUZZLE,
            replay_tag,
            &[node.as_bytes(), &epoch.to_be_bytes()],
        ))
    }

    /// Leading zero bits of the work hash for `nonce`.
    pub fn work(&self, nonce: u64) -> u8 {
        let h = kdf::derive(PUZZLE, &self.0, &[&nonce.to_be_bytes()]);
        leading_zero_bits(&h)
    }

    /// Whether `nonce` meets `difficulty`.
    pub fn check(&self, nonce: u64, difficulty: u8) -> bool {
        self.work(nonce) >= difficulty
    }

    /// Finds a nonce meeting `difficulty`, starting at `start` (pass a random value).
    /// Expected work: `2^difficulty` hashes.
    pub fn solve(&self, difficulty: u8, start: u64) -> u64 {
        let mut nonce = start;
        while !self.check(nonce, difficulty) {
            nonce = nonce.wrapping_add(1);
        }
        nonce
    }
}

fn leading_zero_bits(h: &[u8; 32]) -> u8 {
    let mut bits = 0u32;
    for b in h {
        if *b == 0 {
            bits += 8;
        } else {
            bits += b.leading_zeros();
            break;
        }
    }
    u8::try_from(bits).unwrap_or(u8::MAX)
}

/// The difficulty a hop asks for under a given load.
///
/// `base` is the published difficulty; each doubling of the packet rate above `capacity`
/// (packets in the last hour versus what the node can take per hour) adds one bit, capped
/// at [`MAX_DIFFICULTY`]. Packets solved against the published value stay valid for
/// `grace` extra bits below the current one so senders with an old descriptor are not cut off
/// at once; the caller applies that.
pub fn difficulty_under_load(base: u8, packets_last_hour: u64, capacity_per_hour: u64) -> u8 {
    let capacity = capacity_per_hour.max(1);
    let mut extra = 0u8;
    let mut threshold = capacity;
    while packets_last_hour > threshold && extra < MAX_DIFFICULTY {
        extra += 1;
        threshold = threshold.saturating_mul(2);
    }
    base.saturating_add(extra).min(MAX_DIFFICULTY)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn solve_and_check() {
        let c = Challenge::new(&[3; 32], &NodeId([4; 32]), 9);
        for d in [0u8, 4, 8, 12] {
            let n = c.solve(d, 1234);
            assert!(c.check(n, d));
            assert!(c.work(n) >= d);
        }
        let other = Challenge::new(&[3; 32], &NodeId([5; 32]), 9);
        let n = c.solve(12, 0);
        assert!(!other.check(n, 12) || other.work(n) >= 12);
    }

    #[test]
    fn load_raises_difficulty() {
        assert_eq!(difficulty_under_load(10, 50, 100), 10);
        assert_eq!(difficulty_under_load(10, 150, 100), 11);
        assert_eq!(difficulty_under_load(10, 401, 100), 13);
        assert_eq!(difficulty_under_load(39, u64::MAX, 1), MAX_DIFFICULTY);
    }

    #[test]
    fn zero_bits() {
        let mut h = [0xffu8; 32];
        assert_eq!(leading_zero_bits(&h), 0);
        h[0] = 0;
        h[1] = 0x10;
        assert_eq!(leading_zero_bits(&h), 11);
        assert_eq!(leading_zero_bits(&[0; 32]), 255);
    }
}
