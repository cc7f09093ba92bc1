//! The discrete-event engine: users write messages and cover loops, packets hop from mail
//! account to mail account, the adversary watches.
//!
//! Per packet and hop: the sending account submits one e-mail (counted against its daily quota;
//! over quota it waits for the next provider day), the e-mail is lost with probability `loss` or
//! arrives after a lognormal transit time, waits in the mailbox until the account's next poll,
//! and, at a relay, waits the exponential delay the sender drew with
//! `mailvortex_proto::send::sample_delay_ms`. Routes come from `mailvortex_proto::route::plan_paths`
//! with the relays the directory believes up. The recipient rebuilds a message from any `k`
//! of its shards and returns a receipt through the reply block the sender planned; without a
//! receipt the sender retransmits fresh shards over fresh paths after a timeout.

use std::time::Instant;

use mailvortex_proto::level::LevelParams;
use mailvortex_proto::route::{RelayCandidate, RouteEnds, plan_paths};
use mailvortex_proto::send::sample_delay_ms;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

use crate::adversary::{Adversary, Belief, LinkedPackets, Pool};
use crate::events::{Clock, Event};
use crate::metrics::{
    Anonymity, Delivery, Disclosure, Guessing, Latency, Params, Quota, RunResult, Traffic,
    entropy_bits, erlang_quantile, mean, percentile, precision_at_k,
};
use crate::model::{
    DAY, MINUTE, Network, Owner, Scenario, account_of, below, data_shards, email_bytes,
    envelope_overhead, exponential, normal, uniform,
};

/// Delivered packets per message whose sender posterior is examined (the message's figure is
/// the weakest of them).
const SAMPLED_PACKETS: u8 = 8;
/// Fraction of its daily quota after which a relay asks not to be put on new paths.
const FULL_AT: f64 = 0.9;
/// Packets of one tracked message that get their own receiver-anonymity label.
const TRACKED_PER_MESSAGE: usize = 4;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Real { msg: u32, attempt: u32 },
    Receipt { msg: u32 },
    Cover,
}

#[derive(Debug)]
struct Packet {
    kind: Kind,
    /// Accounts after the origin: relays, then the final recipient.
    route: Vec<u32>,
    /// Mixing delay at each relay of `route`, ms.
    delays: Vec<u32>,
    /// Index into `route` of the account that holds the packet or that it travels to.
    hop: usize,
    /// What the adversary believes about the e-mail that carries it.
    belief: Belief,
}

#[derive(Debug, Default)]
struct Account {
    mailbox: Vec<u32>,
    fetch_at: Option<u64>,
    phase: u64,
    /// Packets fetched and not yet sent (relays).
    members: Vec<u32>,
    pool: Pool,
    /// Packets whose send waits for the next provider day.
    deferred: Vec<u32>,
    sent_today: u32,
    daily: Vec<u32>,
    generation: u32,
}

#[derive(Debug)]
struct Attempt {
    relays: Vec<u32>,
    surb_route: Vec<u32>,
    surb_delays: Vec<u32>,
    receipt_sent: bool,
}

#[derive(Debug)]
struct Msg {
    sender: u32,
    recipient: u32,
    created: u64,
    bytes: u64,
    k: usize,
    n: usize,
    measured: bool,
    /// Created early enough that 24 hours of its life are inside the run.
    timed: bool,
    tracked: Vec<u32>,
    attempts: Vec<Attempt>,
    delivered: usize,
    completed: Option<u64>,
    acked: bool,
    sampled: u8,
    min_h: f64,
    min_minh: f64,
    /// Highest posterior the adversary gave the true sender over the sampled packets.
    max_p_true: f64,
    /// Whether the adversary's best guess was right for any sampled packet.
    top1: bool,
    /// The linking adversary's evidence so far (multi-packet messages, until `joint` is set).
    linked: Option<LinkedPackets>,
    /// The linking adversary's figures: (entropy, min-entropy, P(true), top guess right), over
    /// the first `min(k, 8)` delivered packets.
    joint: Option<(f64, f64, f64, bool)>,
}

#[derive(Debug, Default)]
struct Counters {
    real: u64,
    retransmit: u64,
    receipt: u64,
    cover: u64,
    lost_transit: u64,
    lost_failure: u64,
    relay_deferred: u64,
    user_deferred: u64,
    plan_failures: u64,
}

/// One simulation run.
struct Sim<'a> {
    sc: &'a Scenario,
    p: LevelParams,
    loop_p: LevelParams,
    net: Network,
    rng: ChaCha20Rng,
    clock: Clock,
    accounts: Vec<Account>,
    packets: Vec<Option<Packet>>,
    free: Vec<u32>,
    msgs: Vec<Msg>,
    adv: Adversary,
    /// Every relay as the planner sees it; the first `n_avail` are the ones the directory
    /// lists as usable (up and not full). Kept as a permutation so that sampling needs no copies.
    cands: Vec<RelayCandidate>,
    /// Position of each relay in `cands`.
    pos: Vec<u32>,
    n_avail: usize,
    relay_up: Vec<bool>,
    dir_up: Vec<bool>,
    /// Relays that announced they are close to today's quota (avoided until the next day).
    full: Vec<bool>,
    overhead: usize,
    timeout_ms: u64,
    target_prob: f64,
    next_target: usize,
    c: Counters,
}

/// The retransmission timeout: the `q`-quantile of the round trip's mixing delays plus, per
/// hop each way, a full polling period and a 99th-percentile transit; at least 30 minutes.
pub fn timeout_ms(sc: &Scenario, p: &LevelParams) -> u64 {
    let relays = u32::from(p.relays_per_path);
    let mix = erlang_quantile(2 * relays, p.mean_delay_ms as f64, sc.timeout_quantile);
    let transit99 = sc.transit_median_ms as f64 * (2.326 * sc.transit_sigma).exp();
    let per_hop = sc.poll_ms as f64 + transit99;
    let t = mix + 2.0 * f64::from(relays + 1) * per_hop;
    (t as u64).max(30 * MINUTE)
}

/// Runs one scenario to the end and measures it.
pub fn run(sc: &Scenario) -> RunResult {
    let started = Instant::now();
    let mut sim = Sim::new(sc);
    sim.start();
    let end = sc.end_ms();
    while let Some(ev) = sim.clock.next_until(end) {
        sim.handle(ev);
    }
    let mut r = sim.results();
    r.runtime_s = started.elapsed().as_secs_f64();
    r
}

impl<'a> Sim<'a> {
    fn new(sc: &'a Scenario) -> Self {
        let mut rng = ChaCha20Rng::seed_from_u64(sc.seed);
        let net = Network::build(sc, &mut rng);
        let p = sc.params();
        let mut loop_p = p;
        loop_p.parallel_paths = 1;
        let accounts_n = net.users + net.relays;
        let mut accounts: Vec<Account> = (0..accounts_n).map(|_| Account::default()).collect();
        for a in &mut accounts {
            a.phase = if sc.poll_ms > 0 {
                (uniform(&mut rng) * sc.poll_ms as f64) as u64
            } else {
                0
            };
        }
        let candidates: Vec<RelayCandidate> = (0..net.relays)
            .map(|j| {
                let a = net.relay_account(j);
                RelayCandidate {
                    node_id: net.node_ids[a],
                    provider: net.provider_names[usize::from(net.provider[a])].clone(),
                }
            })
            .collect();
        let targets = sc.target_packets;
        let window_days = (sc.window_ms.min(DAY) as f64 / DAY as f64).max(1e-9);
        let expected = sc.users as f64 * sc.msgs_per_user_per_day * window_days;
        let target_prob = ((targets as f64 / 2.5) / expected.max(1.0)).min(1.0);
        Sim {
            sc,
            p,
            loop_p,
            adv: Adversary::new(net.users, targets),
            relay_up: vec![true; net.relays],
            dir_up: vec![true; net.relays],
            full: vec![false; net.relays],
            pos: (0..net.relays as u32).collect(),
            n_avail: net.relays,
            net,
            rng,
            clock: Clock::new(),
            accounts,
            packets: Vec::new(),
            free: Vec::new(),
            msgs: Vec::new(),
            cands: candidates,
            overhead: envelope_overhead(),
            timeout_ms: timeout_ms(sc, &p),
            target_prob,
            next_target: 0,
            c: Counters::default(),
        }
    }

    fn start(&mut self) {
        let sc = self.sc;
        let msg_gap = DAY as f64 / sc.msgs_per_user_per_day.max(1e-9);
        let cover = self.p.cover_packets_per_day;
        for u in 0..self.net.users as u32 {
            if sc.msgs_per_user_per_day > 0.0 {
                let d = exponential(&mut self.rng, msg_gap) as u64;
                self.clock.after(d, Event::NewMessage { user: u });
            }
            if cover > 0 {
                let d = exponential(&mut self.rng, DAY as f64 / f64::from(cover)) as u64;
                self.clock.after(d, Event::NewCover { user: u });
            }
        }
        if sc.relay_down_fraction > 0.0 {
            for j in 0..self.net.relays as u32 {
                if uniform(&mut self.rng) < sc.relay_down_fraction {
                    self.relay_up[j as usize] = false;
                    self.dir_up[j as usize] = false;
                    self.update_avail(j as usize);
                    let d = exponential(&mut self.rng, sc.relay_mean_down_ms as f64) as u64;
                    self.clock.after(d, Event::RelayUp { relay: j });
                } else {
                    let mean_up = self.mean_up();
                    let d = exponential(&mut self.rng, mean_up) as u64;
                    self.clock.after(d, Event::RelayDown { relay: j });
                }
            }
        }
        let mut day = DAY;
        while day <= sc.end_ms() {
            self.clock.at(day, Event::DayStart);
            day += DAY;
        }
    }

    fn mean_up(&self) -> f64 {
        let f = self.sc.relay_down_fraction.clamp(1e-9, 0.999);
        self.sc.relay_mean_down_ms as f64 * (1.0 - f) / f
    }

    fn handle(&mut self, ev: Event) {
        match ev {
            Event::NewMessage { user } => self.new_message(user),
            Event::NewCover { user } => self.new_cover(user),
            Event::Submit { account, packet } => self.send(account as usize, packet),
            Event::Arrive { account, packet } => self.arrive(account as usize, packet),
            Event::Fetch { account } => self.fetch(account as usize),
            Event::Depart {
                account,
                packet,
                generation,
            } => {
                if self.accounts[account as usize].generation == generation {
                    self.send(account as usize, packet);
                }
            }
            Event::DayStart => self.day_start(),
            Event::RelayDown { relay } => self.relay_down(relay as usize),
            Event::RelayUp { relay } => self.relay_recovers(relay as usize),
            Event::Directory { relay, up } => {
                let j = relay as usize;
                if self.relay_up[j] == up && self.dir_up[j] != up {
                    self.dir_up[j] = up;
                    self.update_avail(j);
                }
            }
            Event::Timeout { msg, attempt } => {
                let m = &self.msgs[msg as usize];
                if m.acked || m.attempts.len() != attempt as usize + 1 {
                    return;
                }
                // The timer runs from the moment the attempt's last packet left the sender's
                // own account: packets still waiting for the sender's quota restart it.
                let sender = m.sender as usize;
                let waiting = self.accounts[sender].deferred.iter().any(|pk| {
                    self.packets[*pk as usize]
                        .as_ref()
                        .is_some_and(|p| p.kind == Kind::Real { msg, attempt })
                });
                if waiting {
                    self.clock
                        .after(self.timeout_ms, Event::Timeout { msg, attempt });
                } else {
                    self.start_attempt(msg);
                }
            }
        }
    }

    // ---- time windows -------------------------------------------------------------------

    fn in_window(&self, t: u64) -> bool {
        t >= self.sc.burn_in_ms && t < self.sc.burn_in_ms + self.sc.window_ms
    }

    fn in_first_day(&self, t: u64) -> bool {
        t >= self.sc.burn_in_ms && t < self.sc.burn_in_ms + self.sc.window_ms.min(DAY)
    }

    // ---- packets --------------------------------------------------------------------------

    fn alloc(&mut self, p: Packet) -> u32 {
        if let Some(i) = self.free.pop() {
            self.packets[i as usize] = Some(p);
            i
        } else {
            self.packets.push(Some(p));
            (self.packets.len() - 1) as u32
        }
    }

    fn release(&mut self, i: u32) {
        if let Some(p) = self.packets.get_mut(i as usize).and_then(Option::take) {
            p.belief.recycle(&mut self.adv.sbufs, &mut self.adv.tbufs);
            self.free.push(i);
        }
    }

    fn delays(&mut self, relays: usize, mean: u64) -> Vec<u32> {
        (0..relays)
            .map(|_| sample_delay_ms(mean, &mut self.rng))
            .collect()
    }

    // ---- routes ---------------------------------------------------------------------------

    fn swap_cands(&mut self, a: usize, b: usize) {
        if a == b {
            return;
        }
        self.cands.swap(a, b);
        let (ja, jb) = (self.relay_index(a), self.relay_index(b));
        self.pos[ja] = a as u32;
        self.pos[jb] = b as u32;
    }

    fn relay_index(&self, position: usize) -> usize {
        account_of(&self.cands[position].node_id) - self.net.users
    }

    /// Moves relay `j` across the usable/unusable boundary after a status change.
    fn update_avail(&mut self, j: usize) {
        let usable = self.dir_up[j] && !self.full[j];
        let p = self.pos[j] as usize;
        let listed = p < self.n_avail;
        if usable && !listed {
            self.swap_cands(p, self.n_avail);
            self.n_avail += 1;
        } else if !usable && listed {
            self.swap_cands(p, self.n_avail - 1);
            self.n_avail -= 1;
        }
    }

    /// Puts a uniform random sample of `m` usable relays at the front of `cands` (partial
    /// Fisher–Yates over the usable prefix) and returns `m`.
    fn sample_front(&mut self, m: usize) -> usize {
        let n = self.n_avail;
        let m = m.min(n);
        for i in 0..m {
            let j = i + below(&mut self.rng, n - i);
            self.swap_cands(i, j);
        }
        m
    }

    /// Plans paths from account `from` to account `to` with the real planner, avoiding the
    /// relays in `exclude` where possible. Returns relay indices per path.
    fn plan(
        &mut self,
        level: LevelParams,
        from: usize,
        to: usize,
        exclude: &[u32],
    ) -> Option<Vec<Vec<u32>>> {
        if level.relays_per_path == 0 {
            return Some(vec![Vec::new()]);
        }
        // Enough candidates for disjoint paths when a big message is spread over many.
        let needed = 2 * usize::from(level.parallel_paths) * usize::from(level.relays_per_path);
        let want = if self.sc.planner_sample == 0 {
            self.n_avail
        } else {
            self.sc.planner_sample.max(needed)
        };
        let users = self.net.users;
        let (fid, tid) = (self.net.node_ids[from], self.net.node_ids[to]);
        let fp = self.net.provider_names[usize::from(self.net.provider[from])].clone();
        let tp = self.net.provider_names[usize::from(self.net.provider[to])].clone();
        let ends = RouteEnds {
            sender: (&fid, fp.as_str()),
            recipient: (&tid, tp.as_str()),
        };
        let to_indices = |paths: Vec<mailvortex_proto::route::PlannedPath>| -> Vec<Vec<u32>> {
            paths
                .into_iter()
                .map(|p| {
                    p.relays
                        .iter()
                        .map(|id| (account_of(id) - users) as u32)
                        .collect()
                })
                .collect()
        };
        if !exclude.is_empty() {
            let m = self.sample_front(want + exclude.len());
            let pool: Vec<RelayCandidate> = self.cands[..m]
                .iter()
                .filter(|c| !exclude.contains(&((account_of(&c.node_id) - users) as u32)))
                .cloned()
                .collect();
            if let Ok(paths) = plan_paths(&level, &ends, &pool, &mut self.rng) {
                return Some(to_indices(paths));
            }
        }
        let m = self.sample_front(want);
        plan_paths(&level, &ends, &self.cands[..m], &mut self.rng)
            .ok()
            .map(to_indices)
    }

    // ---- traffic sources ------------------------------------------------------------------

    fn new_message(&mut self, user: u32) {
        let gap = DAY as f64 / self.sc.msgs_per_user_per_day;
        let d = exponential(&mut self.rng, gap) as u64;
        self.clock.after(d, Event::NewMessage { user });
        let contacts = &self.net.contacts[user as usize];
        if contacts.is_empty() {
            return;
        }
        let recipient = contacts[below(&mut self.rng, contacts.len())];
        let bytes = self.sc.size_mix.sample(&mut self.rng);
        let k = data_shards(bytes, self.overhead);
        let n = self.p.redundancy.total_shards(k);
        let now = self.clock.now();
        let measured = self.in_window(now);
        let timed = measured && now + DAY <= self.sc.end_ms();
        let mut tracked = Vec::new();
        if self.in_first_day(now) && uniform(&mut self.rng) < self.target_prob {
            while tracked.len() < TRACKED_PER_MESSAGE.min(n) && self.next_target < self.adv.targets
            {
                tracked.push(self.next_target as u32);
                self.next_target += 1;
            }
        }
        self.msgs.push(Msg {
            sender: user,
            recipient,
            created: now,
            bytes,
            k,
            n,
            measured,
            timed,
            tracked,
            attempts: Vec::new(),
            delivered: 0,
            completed: None,
            acked: false,
            sampled: 0,
            min_h: f64::INFINITY,
            min_minh: f64::INFINITY,
            max_p_true: 0.0,
            top1: false,
            linked: None,
            joint: None,
        });
        self.start_attempt((self.msgs.len() - 1) as u32);
    }

    fn start_attempt(&mut self, mi: u32) {
        let (sender, recipient, n) = {
            let m = &self.msgs[mi as usize];
            (m.sender as usize, m.recipient as usize, m.n)
        };
        let attempt = self.msgs[mi as usize].attempts.len() as u32;
        let exclude: Vec<u32> = self.msgs[mi as usize]
            .attempts
            .iter()
            .flat_map(|a| a.relays.iter().copied())
            .collect();
        let mut level = self.p;
        level.parallel_paths = self.p.paths_for(n);
        let paths = self.plan(level, sender, recipient, &exclude);
        let surb = if self.sc.receipts {
            self.plan(self.loop_p, recipient, sender, &[])
        } else {
            None
        };
        let mean = self.p.mean_delay_ms;
        let (surb_route, surb_delays) = match surb {
            Some(mut s) if !s.is_empty() => {
                let relays: Vec<u32> = s.swap_remove(0);
                let delays = self.delays(relays.len(), mean);
                let mut route: Vec<u32> =
                    relays.iter().map(|j| (self.net.users as u32) + j).collect();
                route.push(sender as u32);
                (route, delays)
            }
            _ => (Vec::new(), Vec::new()),
        };
        let Some(paths) = paths else {
            self.c.plan_failures += 1;
            self.msgs[mi as usize].attempts.push(Attempt {
                relays: Vec::new(),
                surb_route,
                surb_delays,
                receipt_sent: false,
            });
            self.schedule_timeout(mi, attempt, 0);
            return;
        };
        let users = self.net.users as u32;
        let mut used = Vec::new();
        let gap = self.sc.overrides.pacing_gap_ms.unwrap_or(0) as f64;
        let mut offset = 0u64;
        for i in 0..n {
            if i > 0 && gap > 0.0 {
                offset += exponential(&mut self.rng, gap) as u64;
            }
            let path = &paths[i % paths.len()];
            used.extend(path.iter().copied());
            let mut route: Vec<u32> = path.iter().map(|j| users + j).collect();
            route.push(recipient as u32);
            let delays = self.delays(path.len(), mean);
            let target = if attempt == 0 {
                self.msgs[mi as usize].tracked.get(i).copied()
            } else {
                None
            };
            let pk = self.alloc(Packet {
                kind: Kind::Real { msg: mi, attempt },
                route,
                delays,
                hop: 0,
                belief: Belief::submitted(sender as u32, target),
            });
            if offset == 0 {
                self.send(sender, pk);
            } else {
                let account = sender as u32;
                self.clock.after(
                    offset,
                    Event::Submit {
                        account,
                        packet: pk,
                    },
                );
            }
        }
        used.sort_unstable();
        used.dedup();
        self.msgs[mi as usize].attempts.push(Attempt {
            relays: used,
            surb_route,
            surb_delays,
            receipt_sent: false,
        });
        self.schedule_timeout(mi, attempt, offset);
    }

    /// Starts the attempt's retransmission timer once its last packet has left (`paced_ms`).
    fn schedule_timeout(&mut self, mi: u32, attempt: u32, paced_ms: u64) {
        if self.sc.receipts && attempt + 1 < self.sc.max_attempts {
            self.clock.after(
                paced_ms + self.timeout_ms,
                Event::Timeout { msg: mi, attempt },
            );
        }
    }

    fn new_cover(&mut self, user: u32) {
        let rate = self.p.cover_packets_per_day;
        let d = exponential(&mut self.rng, DAY as f64 / f64::from(rate.max(1))) as u64;
        self.clock.after(d, Event::NewCover { user });
        let u = user as usize;
        let Some(mut paths) = self.plan(self.loop_p, u, u, &[]) else {
            self.c.plan_failures += 1;
            return;
        };
        let relays = paths.swap_remove(0);
        let delays = self.delays(relays.len(), self.p.mean_delay_ms);
        let mut route: Vec<u32> = relays.iter().map(|j| self.net.users as u32 + j).collect();
        route.push(user);
        let pk = self.alloc(Packet {
            kind: Kind::Cover,
            route,
            delays,
            hop: 0,
            belief: Belief::submitted(user, None),
        });
        self.send(u, pk);
    }

    fn send_receipt(&mut self, mi: u32, attempt: u32) {
        if !self.sc.receipts {
            return;
        }
        let m = &mut self.msgs[mi as usize];
        let Some(a) = m.attempts.get_mut(attempt as usize) else {
            return;
        };
        if a.receipt_sent || a.surb_route.is_empty() {
            return;
        }
        a.receipt_sent = true;
        let (route, delays) = (a.surb_route.clone(), a.surb_delays.clone());
        let from = m.recipient;
        let pk = self.alloc(Packet {
            kind: Kind::Receipt { msg: mi },
            route,
            delays,
            hop: 0,
            belief: Belief::submitted(from, None),
        });
        self.send(from as usize, pk);
    }

    // ---- sending, transit, fetching -------------------------------------------------------

    /// Daily sends allowed to account `a` (a relay node's accounts together).
    fn quota_of(&self, a: usize) -> u32 {
        match self.net.owner(a) {
            Owner::User(_) => self.sc.quota_per_day,
            Owner::Relay(_) => self.sc.relay_quota(),
        }
    }

    /// Account `a` wants to send packet `pk` now: within quota it goes, else it waits.
    fn send(&mut self, a: usize, pk: u32) {
        if self.accounts[a].sent_today >= self.quota_of(a) {
            self.accounts[a].deferred.push(pk);
            match self.net.owner(a) {
                Owner::User(_) => self.c.user_deferred += 1,
                Owner::Relay(_) => self.c.relay_deferred += 1,
            }
            return;
        }
        self.emit(a, pk);
    }

    fn emit(&mut self, a: usize, pk: u32) {
        let now = self.clock.now();
        self.accounts[a].sent_today += 1;
        let relay = match self.net.owner(a) {
            Owner::Relay(j) => Some(j as usize),
            Owner::User(_) => None,
        };
        if let Some(j) = relay {
            // A relay close to its quota tells the directory to stop routing new paths to it.
            if !self.full[j]
                && f64::from(self.accounts[a].sent_today)
                    >= FULL_AT * f64::from(self.sc.relay_quota())
            {
                self.full[j] = true;
                self.update_avail(j);
            }
            let acc = &mut self.accounts[a];
            if let Some(pos) = acc.members.iter().position(|x| *x == pk) {
                acc.members.swap_remove(pos);
            }
            // Which numbers of relays passed fit where the e-mail goes: to a user it must be the
            // path's last relay, to another relay any earlier one.
            let l = usize::from(self.p.relays_per_path).max(1);
            let to_user = self.packets[pk as usize]
                .as_ref()
                .and_then(|p| p.route.get(p.hop + 1))
                .is_some_and(|n| (*n as usize) < self.net.users);
            let classes = if to_user { l - 1..l } else { 0..l - 1 };
            let (sb, tb) = (&mut self.adv.sbufs, &mut self.adv.tbufs);
            if let Some(p) = self.packets[pk as usize].as_mut() {
                p.belief = if self.net.colluding[j] {
                    std::mem::take(&mut p.belief).advance(classes, sb, tb)
                } else {
                    acc.pool.take(classes, sb, tb)
                };
            }
        }
        let Some(p) = self.packets[pk as usize].as_mut() else {
            return;
        };
        if relay.is_some() {
            p.hop += 1;
        }
        let kind = p.kind;
        let next = p.route.get(p.hop).copied();
        if self.in_window(now) {
            match kind {
                Kind::Real { attempt: 0, .. } => self.c.real += 1,
                Kind::Real { .. } => self.c.retransmit += 1,
                Kind::Receipt { .. } => self.c.receipt += 1,
                Kind::Cover => self.c.cover += 1,
            }
        }
        let Some(next) = next else {
            self.release(pk);
            return;
        };
        if uniform(&mut self.rng) < self.sc.loss {
            self.c.lost_transit += 1;
            self.release(pk);
            return;
        }
        let transit = self.sc.transit_median_ms as f64
            * (self.sc.transit_sigma * normal(&mut self.rng)).exp();
        self.clock.after(
            transit as u64,
            Event::Arrive {
                account: next,
                packet: pk,
            },
        );
    }

    fn arrive(&mut self, a: usize, pk: u32) {
        if let Owner::Relay(j) = self.net.owner(a)
            && !self.relay_up[j as usize]
        {
            self.c.lost_failure += 1;
            self.release(pk);
            return;
        }
        let now = self.clock.now();
        let poll = self.sc.poll_ms;
        let acc = &mut self.accounts[a];
        acc.mailbox.push(pk);
        if acc.fetch_at.is_none() {
            let at = if poll == 0 {
                now
            } else {
                // The account's next poll tick at or after now.
                let since = now.saturating_sub(acc.phase);
                acc.phase + since.div_ceil(poll) * poll
            };
            acc.fetch_at = Some(at);
            self.clock.at(at, Event::Fetch { account: a as u32 });
        }
    }

    fn fetch(&mut self, a: usize) {
        let acc = &mut self.accounts[a];
        acc.fetch_at = None;
        let mail = std::mem::take(&mut acc.mailbox);
        match self.net.owner(a) {
            Owner::Relay(j) => {
                let colluding = self.net.colluding[j as usize];
                let generation = acc.generation;
                for pk in mail {
                    let Some(p) = self.packets[pk as usize].as_mut() else {
                        continue;
                    };
                    let delay = p.delays.get(p.hop).copied().unwrap_or(0);
                    if !colluding {
                        let b = std::mem::take(&mut p.belief);
                        let acc = &mut self.accounts[a];
                        acc.pool.add(b, &mut self.adv.sbufs, &mut self.adv.tbufs);
                    }
                    self.accounts[a].members.push(pk);
                    self.clock.after(
                        u64::from(delay),
                        Event::Depart {
                            account: a as u32,
                            packet: pk,
                            generation,
                        },
                    );
                }
            }
            Owner::User(r) => {
                for pk in mail {
                    self.deliver(r, pk);
                }
            }
        }
    }

    fn deliver(&mut self, r: u32, pk: u32) {
        let now = self.clock.now();
        let users = self.net.users;
        let Some(p) = self.packets[pk as usize].take() else {
            return;
        };
        self.free.push(pk);
        let real_sender = match p.kind {
            Kind::Real { msg, .. } => Some(self.msgs[msg as usize].sender as usize),
            _ => None,
        };
        let (in_day, in_window) = (self.in_first_day(now), self.in_window(now));
        let (ps, pt) = p
            .belief
            .into_final(&mut self.adv.sbufs, &mut self.adv.tbufs);
        self.adv
            .delivered(r as usize, &ps, &pt, in_day, in_window, real_sender);
        match p.kind {
            Kind::Real { msg, attempt } => {
                let m = &mut self.msgs[msg as usize];
                m.delivered += 1;
                if m.measured && m.sampled < SAMPLED_PACKETS {
                    let sender = m.sender as usize;
                    let (h, minh, p_true, top1) = ps.entropy_and_truth(sender);
                    m.sampled += 1;
                    m.min_h = m.min_h.min(h);
                    m.min_minh = m.min_minh.min(minh);
                    m.max_p_true = m.max_p_true.max(p_true);
                    m.top1 |= top1;
                    if m.joint.is_none() {
                        let need = m.k.min(usize::from(SAMPLED_PACKETS));
                        if need <= 1 {
                            m.joint = Some((h, minh, p_true, top1));
                        } else {
                            let linked = m.linked.get_or_insert_with(|| LinkedPackets::new(users));
                            linked.add(&ps);
                            if usize::from(m.sampled) >= need {
                                m.joint = Some(linked.figures(sender));
                                m.linked = None;
                            }
                        }
                    }
                }
                if m.completed.is_none() {
                    if m.delivered >= m.k {
                        m.completed = Some(now);
                        self.send_receipt(msg, attempt);
                    }
                } else {
                    // A retransmission of something already rebuilt: its receipt got lost.
                    self.send_receipt(msg, attempt);
                }
            }
            Kind::Receipt { msg } => self.msgs[msg as usize].acked = true,
            Kind::Cover => {}
        }
        self.adv.sbufs.give_label(ps);
        self.adv.tbufs.give_label(pt);
    }

    // ---- quotas and failures --------------------------------------------------------------

    fn day_start(&mut self) {
        for acc in &mut self.accounts {
            acc.daily.push(acc.sent_today);
            acc.sent_today = 0;
        }
        for j in 0..self.net.relays {
            if self.full[j] {
                self.full[j] = false;
                self.update_avail(j);
            }
        }
        for a in 0..self.accounts.len() {
            let quota = self.quota_of(a);
            while self.accounts[a].sent_today < quota && !self.accounts[a].deferred.is_empty() {
                // Waiting packets are indistinguishable: the account sends them in random order.
                let i = below(&mut self.rng, self.accounts[a].deferred.len());
                let pk = self.accounts[a].deferred.swap_remove(i);
                self.emit(a, pk);
            }
        }
    }

    fn relay_down(&mut self, j: usize) {
        let a = self.net.relay_account(j);
        self.relay_up[j] = false;
        let acc = &mut self.accounts[a];
        acc.generation = acc.generation.wrapping_add(1);
        acc.pool.clear(&mut self.adv.sbufs, &mut self.adv.tbufs);
        acc.deferred.clear();
        let lost: Vec<u32> = acc.mailbox.drain(..).chain(acc.members.drain(..)).collect();
        self.c.lost_failure += lost.len() as u64;
        for pk in lost {
            self.release(pk);
        }
        let detect = self.sc.detection_ms;
        self.clock.after(
            detect,
            Event::Directory {
                relay: j as u32,
                up: false,
            },
        );
        let d = exponential(&mut self.rng, self.sc.relay_mean_down_ms as f64) as u64;
        self.clock.after(d, Event::RelayUp { relay: j as u32 });
    }

    fn relay_recovers(&mut self, j: usize) {
        self.relay_up[j] = true;
        self.clock.after(
            self.sc.detection_ms,
            Event::Directory {
                relay: j as u32,
                up: true,
            },
        );
        let mean_up = self.mean_up();
        let d = exponential(&mut self.rng, mean_up) as u64;
        self.clock.after(d, Event::RelayDown { relay: j as u32 });
    }

    // ---- results --------------------------------------------------------------------------

    fn results(&self) -> RunResult {
        let sc = self.sc;
        let users = self.net.users;
        let p = &self.p;
        // Sender anonymity and latency, messages created in the window.
        let mut sender = Vec::new();
        let mut guess: Vec<(f64, bool)> = Vec::new();
        let mut joint = Vec::new();
        let mut joint_guess: Vec<(f64, bool)> = Vec::new();
        let mut lat_all = Vec::new();
        let mut lat_single = Vec::new();
        let mut lat_multi = Vec::new();
        let (mut created, mut in24, mut ever, mut retx) = (0usize, 0usize, 0usize, 0usize);
        let mut delivered_bytes = 0u64;
        for m in self.msgs.iter().filter(|m| m.measured) {
            let multi = m.k > 1;
            if m.sampled > 0 {
                sender.push((m.min_h, m.min_minh, multi));
                guess.push((m.max_p_true, m.top1));
                // Not enough packets arrived for a full link: what the adversary has.
                let linked = m.linked.as_ref().map(|l| l.figures(m.sender as usize));
                if let Some((h, minh, p_true, top1)) = m.joint.or(linked) {
                    joint.push((h, minh, multi));
                    joint_guess.push((p_true, top1));
                }
            }
            if let Some(t) = m.completed
                && self.in_window(t)
            {
                delivered_bytes += m.bytes;
            }
            if !m.timed {
                continue;
            }
            created += 1;
            if m.attempts.len() > 1 {
                retx += 1;
            }
            let lat = m
                .completed
                .map_or(f64::INFINITY, |t| (t - m.created) as f64 / MINUTE as f64);
            if lat <= 24.0 * 60.0 {
                in24 += 1;
            }
            if m.completed.is_some() {
                ever += 1;
            }
            lat_all.push(lat);
            if multi {
                lat_multi.push(lat);
            } else {
                lat_single.push(lat);
            }
        }
        // Receiver anonymity: tracked packets, weakest per message.
        let mut receiver = Vec::new();
        for m in self.msgs.iter().filter(|m| !m.tracked.is_empty()) {
            let mut worst: Option<(f64, f64)> = None;
            for t in &m.tracked {
                let mass = self.adv.recipient_mass(*t as usize);
                if mass.iter().map(|x| f64::from(*x)).sum::<f64>() < 0.5 {
                    continue; // mostly lost: nothing to attribute
                }
                let (h, mh) = entropy_bits(mass);
                worst = Some(worst.map_or((h, mh), |(a, b)| (a.min(h), b.min(mh))));
            }
            if let Some((h, mh)) = worst {
                receiver.push((h, mh, m.k > 1));
            }
        }
        // Long-term disclosure.
        let disclose = |acc: &[f32], truth: &[bool]| {
            let (mut ps, mut bs, mut ks) = (Vec::new(), Vec::new(), Vec::new());
            for r in 0..users {
                let row = &acc[r * users..(r + 1) * users];
                let t = &truth[r * users..(r + 1) * users];
                if let Some((prec, base)) = precision_at_k(row, t, r) {
                    ps.push(prec);
                    bs.push(base);
                    ks.push(t.iter().filter(|x| **x).count() as f64);
                }
            }
            (mean(&ps), mean(&bs), mean(&ks))
        };
        let (pd, bd, _) = disclose(&self.adv.acc_day, &self.adv.truth_day);
        let (pw, bw, kw) = disclose(&self.adv.acc_window, &self.adv.truth_window);
        // Quotas over complete days.
        let complete_days = (sc.end_ms() / DAY) as usize;
        let mut relay_days = Vec::new();
        let mut user_days = Vec::new();
        for (a, acc) in self.accounts.iter().enumerate() {
            for d in acc.daily.iter().take(complete_days) {
                match self.net.owner(a) {
                    Owner::Relay(_) => relay_days.push(f64::from(*d)),
                    Owner::User(_) => user_days.push(f64::from(*d)),
                }
            }
        }
        let quota = sc.relay_quota();
        let max_of = |v: &[f64]| v.iter().copied().fold(0.0, f64::max) as u32;
        let emails = self.c.real + self.c.retransmit + self.c.receipt + self.c.cover;
        let window_msgs = self.msgs.iter().filter(|m| m.measured).count();
        RunResult {
            label: sc.label.clone(),
            level: sc.level.as_str().to_string(),
            seed: sc.seed,
            params: Params {
                relays_per_path: p.relays_per_path,
                parallel_paths: p.parallel_paths,
                packets_per_path: p.packets_per_path,
                redundancy: (p.redundancy.num, p.redundancy.den),
                mean_delay_min: p.mean_delay_ms as f64 / MINUTE as f64,
                cover_per_day: p.cover_packets_per_day,
            },
            users,
            packets_per_message: {
                let ns: Vec<f64> = self
                    .msgs
                    .iter()
                    .filter(|m| m.measured)
                    .map(|m| m.n as f64)
                    .collect();
                mean(&ns)
            },
            timeout_min: self.timeout_ms as f64 / MINUTE as f64,
            sender: Anonymity::from_samples(&sender, users),
            sender_guess: Guessing::from_samples(&guess, users),
            sender_linked: Anonymity::from_samples(&joint, users),
            sender_linked_guess: Guessing::from_samples(&joint_guess, users),
            receiver: Anonymity::from_samples(&receiver, users),
            disclosure: Disclosure {
                precision_day: pd,
                baseline_day: bd,
                precision_window: pw,
                baseline_window: bw,
                mean_k_window: kw,
            },
            latency: Latency {
                median_min: percentile(&lat_all, 0.5),
                p95_min: percentile(&lat_all, 0.95),
                median_single_min: percentile(&lat_single, 0.5),
                median_multi_min: percentile(&lat_multi, 0.5),
                p95_multi_min: percentile(&lat_multi, 0.95),
            },
            delivery: Delivery {
                messages: created,
                within_24h: in24 as f64 / created.max(1) as f64,
                eventually: ever as f64 / created.max(1) as f64,
                retransmitted: retx as f64 / created.max(1) as f64,
                plan_failures: self.c.plan_failures,
            },
            traffic: Traffic {
                bytes_per_byte: (emails * email_bytes()) as f64 / delivered_bytes.max(1) as f64,
                emails_per_message: emails as f64 / window_msgs.max(1) as f64,
                real_emails: self.c.real,
                retransmit_emails: self.c.retransmit,
                receipt_emails: self.c.receipt,
                cover_emails: self.c.cover,
                lost_in_transit: self.c.lost_transit,
                lost_to_failures: self.c.lost_failure,
            },
            quota: Quota {
                quota,
                relays: self.net.relays,
                relay_max: max_of(&relay_days),
                relay_mean: mean(&relay_days),
                relay_p99: percentile(&relay_days, 0.99),
                relay_days_at_quota: relay_days
                    .iter()
                    .filter(|d| **d >= f64::from(quota))
                    .count() as u64,
                relay_deferred: self.c.relay_deferred,
                user_max: max_of(&user_days),
                user_mean: mean(&user_days),
                user_deferred: self.c.user_deferred,
            },
            events: self.clock.processed(),
            runtime_s: 0.0,
        }
    }
}
