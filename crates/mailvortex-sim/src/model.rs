//! The simulated world: scenario knobs, message sizes, the accounts and who writes to whom.
//!
//! Everything protocol-specific comes from `mailvortex-proto`: the level table, the shard size,
//! the packet size and the envelope encoding. Everything here is about the world around it
//! (users, mail providers, quotas, polling, transit, failures), with the assumptions named.

use mailvortex_proto::identity::NodeId;
use mailvortex_proto::level::{LevelName, LevelParams, Redundancy};
use mailvortex_proto::message::{Envelope, MessageContent, SHARD_LEN};
use mailvortex_proto::packet::{HEADER_LEN, PACKET_LEN};
use mailvortex_proto::surb::Surb;
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use serde::Serialize;

/// One minute of virtual time (the clock counts milliseconds).
pub const MINUTE: u64 = 60_000;
/// One hour of virtual time.
pub const HOUR: u64 = 60 * MINUTE;
/// One day of virtual time. Provider quotas reset at every multiple of it.
pub const DAY: u64 = 24 * HOUR;

/// Bytes of MIME headers and boundaries around one packet e-mail (an assumption: typical
/// provider-added Received/DKIM/ARC headers plus our own).
pub const EMAIL_HEADER_BYTES: u64 = 1_500;

/// Bytes on the wire for one packet e-mail: the packet base64-encoded in 76-character lines
/// plus [`EMAIL_HEADER_BYTES`].
pub fn email_bytes() -> u64 {
    let b64 = (PACKET_LEN as u64).div_ceil(3) * 4;
    b64 + b64.div_ceil(76) * 2 + EMAIL_HEADER_BYTES
}

/// Bytes the sealed message adds to the body: the envelope encoding with a receipt and a reply
/// block (as `mailvortex-proto` encodes it) plus the 24-byte nonce and 16-byte tag.
pub fn envelope_overhead() -> usize {
    let surb = || Surb {
        first_hop: "relay-0000@provider.example".to_string(),
        header: vec![0; HEADER_LEN],
        key: [0; 32],
    };
    let env = Envelope {
        created_at: 0,
        level: LevelName::Standard,
        content: MessageContent {
            subject: "a subject line of typical length".to_string(),
            file_name: None,
            body: Vec::new(),
        },
        sender_descriptor: None,
        receipt_surb: Some(surb()),
        reply_surb: Some(surb()),
    };
    // The encoding of this fixed envelope cannot fail; fall back to a generous estimate anyway.
    env.encode().map_or(4 * HEADER_LEN, |v| v.len()) + 24 + 16
}

/// Data shards `k` for a message body of `len` bytes (the real shard size, see
/// `mailvortex_proto::message::SHARD_LEN`).
pub fn data_shards(len: u64, overhead: usize) -> usize {
    (len as usize + overhead).div_ceil(SHARD_LEN).max(1)
}

/// Message size distribution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SizeMix {
    /// 85 % text mails (lognormal, median 6 KB, one packet), 12 % with attachments of
    /// 32 KB–1 MB, 3 % of 1–5 MB (both log-uniform). Mean ≈ 110 KB.
    Realistic,
    /// Every message fits one packet (the prototype's assumption).
    SinglePacket,
}

impl SizeMix {
    /// Draws a body size in bytes.
    pub fn sample<R: RngCore>(self, rng: &mut R) -> u64 {
        let text =
            |rng: &mut R| (6_000.0 * (0.8 * normal(rng)).exp()).clamp(300.0, 28_000.0) as u64;
        match self {
            SizeMix::SinglePacket => text(rng),
            SizeMix::Realistic => {
                let u = uniform(rng);
                if u < 0.85 {
                    text(rng)
                } else if u < 0.97 {
                    log_uniform(rng, 32_000.0, 1_000_000.0) as u64
                } else {
                    log_uniform(rng, 1_000_000.0, 5_000_000.0) as u64
                }
            }
        }
    }
}

/// Changes to a level's parameters, for trade-off sweeps (the reference uses none).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct LevelOverrides {
    /// Relays per path.
    pub relays_per_path: Option<u8>,
    /// Parallel paths.
    pub parallel_paths: Option<u8>,
    /// Redundancy `num/den`.
    pub redundancy: Option<(u16, u16)>,
    /// Mean mixing delay per hop, milliseconds.
    pub mean_delay_ms: Option<u64>,
    /// Cover loops per user per day.
    pub cover_packets_per_day: Option<u32>,
    /// Most packets of one message per path.
    pub packets_per_path: Option<u16>,
    /// Mean gap between a message's packets at the sender, milliseconds (exponential, the
    /// first leaves at once). Not a protocol parameter: simulated to show it is not worth it.
    pub pacing_gap_ms: Option<u64>,
}

/// Every knob of one simulation run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Scenario {
    /// Short label (used in tables and plots).
    pub label: String,
    /// The level every user sends at.
    #[serde(serialize_with = "ser_level")]
    pub level: LevelName,
    /// Changes to the level's parameters (sweeps only).
    pub overrides: LevelOverrides,
    /// Users (each a node with its own mail account).
    pub users: usize,
    /// Real messages per user per day (Poisson).
    pub msgs_per_user_per_day: f64,
    /// Regular contacts per user (a random graph; every message goes to one of them).
    pub contacts_per_user: usize,
    /// Message sizes.
    pub size_mix: SizeMix,
    /// Sends per account per calendar day allowed by the provider.
    pub quota_per_day: u32,
    /// Mail accounts each relay node mixes in one pool (1 today). A node with `m` accounts
    /// receives on all of them and sends from whichever has quota left, so its pool sees `m`
    /// accounts' traffic; the adversary knows which accounts belong together (descriptors are
    /// public), so it is modelled as one relay account with `m × quota_per_day`.
    pub accounts_per_relay: u32,
    /// Relay accounts; `None` sizes the pool from the expected load and `relay_utilisation`.
    pub relay_accounts: Option<usize>,
    /// Target mean daily sends per relay account as a fraction of the quota (when sizing).
    pub relay_utilisation: f64,
    /// Mail providers (users follow market shares, relays are spread evenly).
    pub providers: usize,
    /// Mailbox polling period of every account, ms (0 = push).
    pub poll_ms: u64,
    /// Median SMTP transit time, ms (lognormal).
    pub transit_median_ms: u64,
    /// Shape of the lognormal transit time.
    pub transit_sigma: f64,
    /// Probability that one e-mail is lost.
    pub loss: f64,
    /// Long-run fraction of relays that are down.
    pub relay_down_fraction: f64,
    /// Mean length of a relay outage, ms.
    pub relay_mean_down_ms: u64,
    /// Time until the directory notices that a relay went down or came back, ms.
    pub detection_ms: u64,
    /// End-to-end receipts through reply blocks, with retransmission on timeout.
    pub receipts: bool,
    /// Transmission attempts per message (first one included).
    pub max_attempts: u32,
    /// The retransmission timeout is this quantile of the round-trip time.
    pub timeout_quantile: f64,
    /// Fraction of relays that collude with the adversary.
    pub colluding_fraction: f64,
    /// Virtual time before measuring, ms.
    pub burn_in_ms: u64,
    /// Measurement window, ms: anonymity of messages created in it, correspondent discovery
    /// from deliveries in it, traffic sent in it. Latency and delivery are measured for the
    /// messages created in it whose first 24 hours fall inside the run.
    pub window_ms: u64,
    /// Time after the window so that its last messages can finish, ms.
    pub drain_ms: u64,
    /// Relays handed to the route planner per call: a uniform sample of the known-up pool
    /// (0 = all). Sampling keeps the planner's choice uniform while keeping runs fast.
    pub planner_sample: usize,
    /// Packets tracked individually for receiver anonymity.
    pub target_packets: usize,
    /// Seed of the run.
    pub seed: u64,
}

fn ser_level<S: serde::Serializer>(level: &LevelName, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(level.as_str())
}

impl Scenario {
    /// The reference scenario of the issue: 1000 users, 20 messages a day each, 500 sends a day
    /// per account, 5-minute polling, 1-minute transit, 5 % relays down, 1 % loss, 7 days.
    pub fn reference(level: LevelName, seed: u64) -> Self {
        Scenario {
            label: level.as_str().to_string(),
            level,
            overrides: LevelOverrides::default(),
            users: 1000,
            msgs_per_user_per_day: 20.0,
            contacts_per_user: 5,
            size_mix: SizeMix::Realistic,
            quota_per_day: 500,
            accounts_per_relay: 1,
            relay_accounts: None,
            relay_utilisation: 0.7,
            providers: 8,
            poll_ms: 5 * MINUTE,
            transit_median_ms: MINUTE,
            transit_sigma: 0.5,
            loss: 0.01,
            relay_down_fraction: 0.05,
            relay_mean_down_ms: 2 * HOUR,
            detection_ms: HOUR,
            receipts: true,
            max_attempts: 4,
            timeout_quantile: 0.99,
            colluding_fraction: 0.0,
            burn_in_ms: 12 * HOUR,
            window_ms: 7 * DAY,
            drain_ms: 0,
            planner_sample: 32,
            target_packets: 512,
            seed,
        }
    }

    /// A tiny scenario for the test suite: 50 users, one-packet messages, 18 measured hours, no
    /// failures and no loss.
    pub fn smoke(level: LevelName, seed: u64) -> Self {
        Scenario {
            label: format!("smoke-{}", level.as_str()),
            users: 50,
            msgs_per_user_per_day: 20.0,
            size_mix: SizeMix::SinglePacket,
            loss: 0.0,
            relay_down_fraction: 0.0,
            burn_in_ms: 6 * HOUR,
            window_ms: 18 * HOUR,
            drain_ms: DAY,
            planner_sample: 0,
            target_packets: 128,
            ..Scenario::reference(level, seed)
        }
    }

    /// Daily sends of one relay node (all its accounts).
    pub fn relay_quota(&self) -> u32 {
        self.quota_per_day
            .saturating_mul(self.accounts_per_relay.max(1))
    }

    /// The level parameters in force: the real table from `mailvortex-proto` plus overrides.
    pub fn params(&self) -> LevelParams {
        let mut p = self.level.params();
        let o = &self.overrides;
        if let Some(v) = o.relays_per_path {
            p.relays_per_path = v;
        }
        if let Some(v) = o.parallel_paths {
            p.parallel_paths = v;
        }
        if let Some((num, den)) = o.redundancy {
            p.redundancy = Redundancy { num, den };
        }
        if let Some(v) = o.mean_delay_ms {
            p.mean_delay_ms = v;
        }
        if let Some(v) = o.cover_packets_per_day {
            p.cover_packets_per_day = v;
        }
        if let Some(v) = o.packets_per_path {
            p.packets_per_path = v;
        }

        p
    }

    /// Total virtual time simulated.
    pub fn end_ms(&self) -> u64 {
        self.burn_in_ms + self.window_ms + self.drain_ms
    }

    /// Expected packets a user sends per real message (all shards of the first attempt),
    /// estimated from 20 000 draws of the size distribution with a fixed seed.
    pub fn expected_packets_per_message(&self) -> f64 {
        let p = self.params();
        let overhead = envelope_overhead();
        let mut rng = ChaCha20Rng::seed_from_u64(0x5eed);
        let draws = 20_000;
        let total: usize = (0..draws)
            .map(|_| {
                p.redundancy
                    .total_shards(data_shards(self.size_mix.sample(&mut rng), overhead))
            })
            .sum();
        total as f64 / f64::from(draws)
    }

    /// Relay sends per day the whole population causes (forward packets, receipts, cover).
    pub fn expected_relay_sends_per_day(&self) -> f64 {
        let p = self.params();
        let per_user = self.msgs_per_user_per_day
            * (self.expected_packets_per_message() + if self.receipts { 1.0 } else { 0.0 })
            + f64::from(p.cover_packets_per_day);
        per_user * self.users as f64 * f64::from(p.relays_per_path)
    }

    /// Relay accounts in the pool: fixed, or sized so that the mean daily sends per relay are
    /// `relay_utilisation × quota`; never fewer than three full sets of disjoint paths.
    pub fn relay_count(&self) -> usize {
        let p = self.params();
        let floor = 3 * usize::from(p.relays_per_path) * usize::from(p.parallel_paths.max(1));
        if let Some(w) = self.relay_accounts {
            return if p.relays_per_path == 0 {
                w
            } else {
                w.max(floor)
            };
        }
        if p.relays_per_path == 0 {
            return 0;
        }
        let cap = self.relay_utilisation * f64::from(self.relay_quota());
        ((self.expected_relay_sends_per_day() / cap).ceil() as usize).max(floor)
    }
}

/// Market shares of the simulated providers for user accounts (largest first); relays are spread
/// evenly. Eight values; fewer providers take the first ones renormalised.
const USER_PROVIDER_SHARES: [f64; 8] = [0.35, 0.20, 0.12, 0.10, 0.08, 0.06, 0.05, 0.04];

/// Who an account belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    /// A user's own account (index into users).
    User(u32),
    /// A relay account (index into relays).
    Relay(u32),
}

/// The static network: accounts, providers, contacts.
#[derive(Debug, Clone)]
pub struct Network {
    /// Number of users; accounts `0..users` are theirs.
    pub users: usize,
    /// Number of relay accounts; accounts `users..users + relays`.
    pub relays: usize,
    /// Provider index of every account.
    pub provider: Vec<u16>,
    /// Provider domain names.
    pub provider_names: Vec<String>,
    /// Node id of every account.
    pub node_ids: Vec<NodeId>,
    /// Each user's regular contacts (symmetric: if a writes to b, b writes to a).
    pub contacts: Vec<Vec<u32>>,
    /// Relays that collude with the adversary.
    pub colluding: Vec<bool>,
}

impl Network {
    /// Builds the network for a scenario from its own random stream.
    pub fn build<R: RngCore>(sc: &Scenario, rng: &mut R) -> Self {
        let users = sc.users;
        let relays = sc.relay_count();
        let np = sc.providers.clamp(1, USER_PROVIDER_SHARES.len());
        let shares = &USER_PROVIDER_SHARES[..np];
        let total: f64 = shares.iter().sum();
        let mut provider = Vec::with_capacity(users + relays);
        for _ in 0..users {
            let mut u = uniform(rng) * total;
            let mut pick = np - 1;
            for (i, s) in shares.iter().enumerate() {
                if u < *s {
                    pick = i;
                    break;
                }
                u -= s;
            }
            provider.push(pick as u16);
        }
        for j in 0..relays {
            provider.push((j % np) as u16);
        }
        let provider_names = (0..np).map(|i| format!("provider{i}.example")).collect();
        let node_ids = (0..users + relays).map(account_node_id).collect();
        let contacts = contact_graph(users, sc.contacts_per_user, rng);
        let mut colluding = vec![false; relays];
        let bad = (sc.colluding_fraction * relays as f64).round() as usize;
        for i in sample_distinct(rng, relays, bad.min(relays)) {
            colluding[i] = true;
        }
        Network {
            users,
            relays,
            provider,
            provider_names,
            node_ids,
            contacts,
            colluding,
        }
    }

    /// Account index of relay `j`.
    pub fn relay_account(&self, j: usize) -> usize {
        self.users + j
    }

    /// Who owns account `a`.
    pub fn owner(&self, a: usize) -> Owner {
        if a < self.users {
            Owner::User(a as u32)
        } else {
            Owner::Relay((a - self.users) as u32)
        }
    }
}

/// The node id the simulation gives account `a` (its index, little-endian, then a marker).
pub fn account_node_id(a: usize) -> NodeId {
    let mut b = [0u8; 32];
    b[..8].copy_from_slice(&(a as u64).to_le_bytes());
    b[31] = 0x5a;
    NodeId(b)
}

/// The account index behind a node id made by [`account_node_id`].
pub fn account_of(id: &NodeId) -> usize {
    let mut b = [0u8; 8];
    b.copy_from_slice(&id.0[..8]);
    u64::from_le_bytes(b) as usize
}

/// A random symmetric contact graph where every user has about `degree` contacts
/// (configuration model: stubs paired at random, self-pairs and duplicates dropped).
fn contact_graph<R: RngCore>(users: usize, degree: usize, rng: &mut R) -> Vec<Vec<u32>> {
    let mut contacts: Vec<Vec<u32>> = vec![Vec::new(); users];
    if users < 2 {
        return contacts;
    }
    let mut stubs: Vec<u32> = (0..users as u32)
        .flat_map(|u| std::iter::repeat_n(u, degree))
        .collect();
    shuffle(rng, &mut stubs);
    for pair in stubs.chunks_exact(2) {
        let (a, b) = (pair[0], pair[1]);
        if a != b && !contacts[a as usize].contains(&b) {
            contacts[a as usize].push(b);
            contacts[b as usize].push(a);
        }
    }
    // Nobody is left without a contact.
    for u in 0..users {
        if contacts[u].is_empty() {
            let v = ((u + 1 + below(rng, users - 1)) % users) as u32;
            contacts[u].push(v);
            contacts[v as usize].push(u as u32);
        }
    }
    contacts
}

/// Uniform in [0, 1).
pub fn uniform<R: RngCore>(rng: &mut R) -> f64 {
    (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
}

/// Uniform integer below `n` (`n > 0`).
pub fn below<R: RngCore>(rng: &mut R, n: usize) -> usize {
    ((uniform(rng) * n as f64) as usize).min(n.saturating_sub(1))
}

/// Standard normal (Box–Muller).
pub fn normal<R: RngCore>(rng: &mut R) -> f64 {
    let u1 = 1.0 - uniform(rng);
    let u2 = uniform(rng);
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// Exponential with the given mean.
pub fn exponential<R: RngCore>(rng: &mut R, mean: f64) -> f64 {
    -mean * (1.0 - uniform(rng)).ln()
}

/// Log-uniform between `lo` and `hi`.
pub fn log_uniform<R: RngCore>(rng: &mut R, lo: f64, hi: f64) -> f64 {
    (lo.ln() + uniform(rng) * (hi.ln() - lo.ln())).exp()
}

/// Fisher–Yates shuffle.
pub fn shuffle<R: RngCore, T>(rng: &mut R, v: &mut [T]) {
    for i in (1..v.len()).rev() {
        let j = below(rng, i + 1);
        v.swap(i, j);
    }
}

/// `k` distinct indices below `n`, uniformly.
pub fn sample_distinct<R: RngCore>(rng: &mut R, n: usize, k: usize) -> Vec<usize> {
    let mut all: Vec<usize> = (0..n).collect();
    let k = k.min(n);
    for i in 0..k {
        let j = i + below(rng, n - i);
        all.swap(i, j);
    }
    all.truncate(k);
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_ids_round_trip() {
        for a in [0usize, 1, 999, 123_456] {
            assert_eq!(account_of(&account_node_id(a)), a);
        }
    }

    #[test]
    fn contact_graph_is_symmetric() {
        let mut rng = ChaCha20Rng::seed_from_u64(7);
        let g = contact_graph(200, 5, &mut rng);
        for (u, cs) in g.iter().enumerate() {
            assert!(!cs.is_empty());
            assert!(!cs.contains(&(u as u32)));
            for &v in cs {
                assert!(g[v as usize].contains(&(u as u32)));
            }
        }
        let mean = g.iter().map(Vec::len).sum::<usize>() as f64 / 200.0;
        assert!((4.0..=5.5).contains(&mean), "mean degree {mean}");
    }

    #[test]
    fn sizes_and_shards_are_plausible() {
        let overhead = envelope_overhead();
        assert!(overhead > 2 * HEADER_LEN && overhead < 4 * HEADER_LEN);
        assert_eq!(data_shards(1_000, overhead), 1);
        assert!(data_shards(5_000_000, overhead) > 150);
        let sc = Scenario::reference(LevelName::Standard, 1);
        let n = sc.expected_packets_per_message();
        assert!((3.0..10.0).contains(&n), "packets per message {n}");
        let single = Scenario {
            size_mix: SizeMix::SinglePacket,
            ..sc
        };
        // One data shard plus one recovery shard at 4/3.
        assert!((single.expected_packets_per_message() - 2.0).abs() < 1e-9);
    }
}
