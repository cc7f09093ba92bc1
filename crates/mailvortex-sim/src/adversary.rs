//! The global passive adversary: what it sees and what it concludes.
//!
//! It sees every e-mail (sending account, receiving account, time), every mailbox fetch and
//! every departure, and it knows the delay law. It cannot see inside a relay, so it reasons
//! about each relay account as a pool: the packets fetched and not yet sent. Because every
//! delay is exponential (memoryless), each departure is equally likely to be any packet in the
//! pool, so the departing e-mail's label is the pool's average label and the pool keeps the rest
//! (the Loopix/Nym label propagation, exact here). Packets fetched in one poll enter together,
//! so polling is a timed pool for free. Cover loops look exactly like real packets and are
//! labelled by their sender like everything else a user submits. Colluding relays reveal their
//! true input→output mapping: a packet leaves them with its own label.
//!
//! Two label spaces run side by side:
//! - **sender**: one dimension per user; a submission by user `u` is the unit vector `e_u`. The
//!   label of a packet delivered to a recipient is the adversary's posterior over its sender.
//! - **targets**: one dimension per tracked packet; the tracked packet starts as a unit vector
//!   and its mass ends up spread over the recipients the adversary cannot tell apart
//!   (receiver anonymity).
//!
//! For long-term correspondent discovery (statistical disclosure) the adversary adds up, per
//! recipient, the sender posteriors of everything delivered to it, over one day and over the
//! whole window.

/// A dense probability (or mass) vector.
pub type Buf = Box<[f32]>;

/// Sparse vectors with more entries than this become dense.
const SPARSE_MAX: usize = 40;

/// What the adversary knows about one e-mail in one label space.
#[derive(Debug, Default)]
pub enum Label {
    /// Nothing in this space (a packet that is not tracked).
    #[default]
    None,
    /// All mass on one index.
    One(u32),
    /// A few weighted indices (the labels near the start of a path).
    Sparse(Vec<(u32, f32)>),
    /// A dense vector.
    Dense(Buf),
}

impl Label {
    /// Calls `f(index, weight)` for every non-zero entry.
    pub fn for_each(&self, mut f: impl FnMut(usize, f32)) {
        match self {
            Label::None => {}
            Label::One(i) => f(*i as usize, 1.0),
            Label::Sparse(v) => v.iter().for_each(|(i, w)| f(*i as usize, *w)),
            Label::Dense(d) => d
                .iter()
                .enumerate()
                .filter(|(_, w)| **w != 0.0)
                .for_each(|(i, w)| f(i, *w)),
        }
    }

    /// The entry at `i`.
    pub fn get(&self, i: usize) -> f32 {
        match self {
            Label::None => 0.0,
            Label::One(j) => f32::from(u8::from(*j as usize == i)),
            Label::Sparse(v) => v
                .iter()
                .filter(|(j, _)| *j as usize == i)
                .map(|(_, w)| *w)
                .sum(),
            Label::Dense(d) => d.get(i).copied().unwrap_or(0.0),
        }
    }

    /// Shannon entropy, min-entropy (bits) and the normalised weight of index `truth`.
    pub fn entropy_and_truth(&self, truth: usize) -> (f64, f64, f64, bool) {
        match self {
            Label::None => (0.0, 0.0, 0.0, false),
            Label::Dense(d) => {
                let (h, m) = crate::metrics::entropy_bits(d);
                let total: f32 = d.iter().sum();
                let best = d.iter().copied().fold(0.0f32, f32::max);
                let t = self.get(truth);
                (h, m, f64::from(t / total.max(1e-30)), t >= best && t > 0.0)
            }
            _ => {
                let mut w: Vec<f32> = Vec::new();
                self.for_each(|_, x| w.push(x));
                let (h, m) = crate::metrics::entropy_bits(&w);
                let total: f32 = w.iter().sum();
                let best = w.iter().copied().fold(0.0f32, f32::max);
                let t = self.get(truth);
                (h, m, f64::from(t / total.max(1e-30)), t >= best && t > 0.0)
            }
        }
    }
}

/// The adversary that links the packets of one message (they reach the same recipient close
/// together) and combines their sender posteriors as independent evidence: the product of the
/// posteriors, kept as a sum of logarithms. A sender outside one packet's anonymity set is
/// (practically) excluded from the message's.
#[derive(Debug)]
pub struct LinkedPackets {
    log_posterior: Buf,
}

/// Posterior below this counts as "excluded" (a floor keeps the logarithms finite).
const LOG_FLOOR: f32 = 1e-12;

impl LinkedPackets {
    /// No packet seen yet (a flat prior over `users`).
    pub fn new(users: usize) -> Self {
        LinkedPackets {
            log_posterior: vec![0.0; users].into_boxed_slice(),
        }
    }

    /// Adds one delivered packet's sender label.
    pub fn add(&mut self, label: &Label) {
        let mut total = 0.0f32;
        label.for_each(|_, w| total += w);
        if total <= 0.0 {
            return;
        }
        let mut p = vec![0.0f32; self.log_posterior.len()];
        label.for_each(|i, w| {
            if let Some(x) = p.get_mut(i) {
                *x += w / total;
            }
        });
        for (acc, x) in self.log_posterior.iter_mut().zip(&p) {
            *acc += x.max(LOG_FLOOR).ln();
        }
    }

    /// Shannon entropy, min-entropy (bits), posterior of `truth` and whether it is the top guess.
    pub fn figures(&self, truth: usize) -> (f64, f64, f64, bool) {
        let max = self
            .log_posterior
            .iter()
            .copied()
            .fold(f32::NEG_INFINITY, f32::max);
        let post: Vec<f32> = self.log_posterior.iter().map(|l| (l - max).exp()).collect();
        Label::Dense(post.into_boxed_slice()).entropy_and_truth(truth)
    }
}

/// Recycled vectors of one dimension.
#[derive(Debug)]
pub struct Bufs {
    dim: usize,
    free: Vec<Buf>,
}

impl Bufs {
    /// Vectors of `dim` entries.
    pub fn new(dim: usize) -> Self {
        Bufs {
            dim,
            free: Vec::new(),
        }
    }

    /// A vector with arbitrary contents.
    fn raw(&mut self) -> Buf {
        self.free
            .pop()
            .unwrap_or_else(|| vec![0.0; self.dim].into_boxed_slice())
    }

    /// A zero vector.
    fn zeroed(&mut self) -> Buf {
        let mut b = self.raw();
        b.fill(0.0);
        b
    }

    /// Hands a vector back.
    pub fn give(&mut self, b: Buf) {
        if self.free.len() < 4096 {
            self.free.push(b);
        }
    }

    /// Hands a label's vector back, if it has one.
    pub fn give_label(&mut self, l: Label) {
        if let Label::Dense(b) = l {
            self.give(b);
        }
    }
}

/// Largest number of relays a packet can have passed, plus one.
pub const MAX_POS: usize = mailvortex_proto::packet::MAX_HOPS + 1;

/// What the adversary believes about one e-mail in flight. Every level fixes the number of
/// relays on a path and the adversary knows it, so it also tracks how many relays the packet
/// may already have passed (`h`): `mass[h]` is the probability of `h`, and `s[h]`/`t[h]` are the
/// sender and target labels jointly with it (their entries add up to `mass[h]` in the sender
/// space). A packet straight from a user has `h = 0` for sure.
#[derive(Debug, Default)]
pub struct Belief {
    /// Probability of each number of relays passed.
    pub mass: [f32; MAX_POS],
    /// Sender labels, per number of relays passed.
    pub s: [Label; MAX_POS],
    /// Target labels, per number of relays passed.
    pub t: [Label; MAX_POS],
}

impl Belief {
    /// A packet a user submits: sender known, no relay passed.
    pub fn submitted(sender: u32, target: Option<u32>) -> Self {
        let mut b = Belief::default();
        b.mass[0] = 1.0;
        b.s[0] = Label::One(sender);
        if let Some(t) = target {
            b.t[0] = Label::One(t);
        }
        b
    }

    /// Hands the vectors back.
    pub fn recycle(self, sb: &mut Bufs, tb: &mut Bufs) {
        for l in self.s {
            sb.give_label(l);
        }
        for l in self.t {
            tb.give_label(l);
        }
    }

    /// A colluding relay reveals the packet: it leaves with its own belief, conditioned on the
    /// classes compatible with where it goes, one more relay passed.
    pub fn advance(
        mut self,
        classes: core::ops::Range<usize>,
        sb: &mut Bufs,
        tb: &mut Bufs,
    ) -> Self {
        let mut out = Belief::default();
        let total: f32 = classes
            .clone()
            .map(|h| self.mass.get(h).copied().unwrap_or(0.0))
            .sum();
        if total <= 1e-9 {
            // Inconsistent with the path length (cannot happen with one level): keep as is.
            return self;
        }
        for h in classes {
            if h + 1 >= MAX_POS || self.mass[h] <= 0.0 {
                continue;
            }
            out.mass[h + 1] = self.mass[h] / total;
            out.s[h + 1] = scale(std::mem::take(&mut self.s[h]), 1.0 / total);
            out.t[h + 1] = scale(std::mem::take(&mut self.t[h]), 1.0 / total);
        }
        self.recycle(sb, tb);
        out
    }

    /// The labels of a delivered packet (all classes merged; normally there is one).
    pub fn into_final(self, sb: &mut Bufs, tb: &mut Bufs) -> (Label, Label) {
        (merge(self.s, sb), merge(self.t, tb))
    }
}

fn scale(l: Label, f: f32) -> Label {
    if (f - 1.0).abs() < 1e-7 {
        return l;
    }
    match l {
        Label::Dense(mut v) => {
            v.iter_mut().for_each(|x| *x *= f);
            Label::Dense(v)
        }
        Label::Sparse(mut v) => {
            v.iter_mut().for_each(|(_, x)| *x *= f);
            Label::Sparse(v)
        }
        Label::One(i) => Label::Sparse(vec![(i, f)]),
        Label::None => Label::None,
    }
}

fn merge(parts: [Label; MAX_POS], bufs: &mut Bufs) -> Label {
    let mut out = Label::None;
    for p in parts {
        match (&out, &p) {
            (_, Label::None) => {}
            (Label::None, _) => out = p,
            _ => add_into(&mut out, p, bufs),
        }
    }
    out
}

/// The adversary's view of one honest relay account: per number of relays passed, the total
/// probability mass and the sum of the labels of the packets inside.
#[derive(Debug, Default)]
pub struct Pool {
    count: u32,
    mass: [f32; MAX_POS],
    s: [Label; MAX_POS],
    t: [Label; MAX_POS],
}

/// Adds `label` into the running sum `sum` (recycling the label's vector).
fn add_into(sum: &mut Label, label: Label, bufs: &mut Bufs) {
    match label {
        Label::None => {}
        Label::Dense(v) => match sum {
            Label::Dense(s) => {
                s.iter_mut().zip(v.iter()).for_each(|(a, b)| *a += *b);
                bufs.give(v);
            }
            _ => {
                let mut v = v;
                std::mem::take(sum).for_each(|i, w| {
                    if let Some(x) = v.get_mut(i) {
                        *x += w;
                    }
                });
                *sum = Label::Dense(v);
            }
        },
        small => match sum {
            Label::Dense(s) => small.for_each(|i, w| {
                if let Some(x) = s.get_mut(i) {
                    *x += w;
                }
            }),
            Label::None => {
                *sum = match small {
                    Label::One(i) => Label::Sparse(vec![(i, 1.0)]),
                    other => other,
                };
            }
            _ => {
                let mut v = match std::mem::take(sum) {
                    Label::Sparse(v) => v,
                    Label::One(i) => vec![(i, 1.0)],
                    _ => Vec::new(),
                };
                small.for_each(|i, w| match v.iter_mut().find(|(j, _)| *j as usize == i) {
                    Some(e) => e.1 += w,
                    None => v.push((i as u32, w)),
                });
                if v.len() > SPARSE_MAX {
                    let mut d = bufs.zeroed();
                    for (i, w) in v {
                        if let Some(x) = d.get_mut(i as usize) {
                            *x += w;
                        }
                    }
                    *sum = Label::Dense(d);
                } else {
                    *sum = Label::Sparse(v);
                }
            }
        },
    }
}

/// Splits `frac` of `sum` off as a departing label.
fn split_off(sum: &mut Label, frac: f32, bufs: &mut Bufs) -> Label {
    match sum {
        Label::None => Label::None,
        Label::One(i) => {
            let i = *i;
            *sum = Label::Sparse(vec![(i, 1.0 - frac)]);
            Label::Sparse(vec![(i, frac)])
        }
        Label::Sparse(v) => {
            let out: Vec<(u32, f32)> = v
                .iter_mut()
                .map(|(i, x)| {
                    let o = *x * frac;
                    *x -= o;
                    (*i, o)
                })
                .collect();
            Label::Sparse(out)
        }
        Label::Dense(s) => {
            let mut out = bufs.raw();
            // Eight independent lanes so that the loop vectorises.
            let mut lanes = [0.0f32; 8];
            for (oc, xc) in out.chunks_mut(8).zip(s.chunks_mut(8)) {
                for ((o, x), l) in oc.iter_mut().zip(xc.iter_mut()).zip(lanes.iter_mut()) {
                    *o = *x * frac;
                    *x -= *o;
                    *l += *o;
                }
            }
            let out_mass: f32 = lanes.iter().sum();
            if out_mass < 1e-9 {
                bufs.give(out);
                Label::None
            } else {
                Label::Dense(out)
            }
        }
    }
}

impl Pool {
    /// A packet enters (its belief is merged into the pool).
    pub fn add(&mut self, b: Belief, sb: &mut Bufs, tb: &mut Bufs) {
        self.count += 1;
        let Belief { mass, s, t } = b;
        for (h, (ls, lt)) in s.into_iter().zip(t).enumerate() {
            self.mass[h] += mass[h];
            add_into(&mut self.s[h], ls, sb);
            add_into(&mut self.t[h], lt, tb);
        }
    }

    /// A packet leaves towards a destination compatible with `classes` (numbers of relays
    /// passed): it is any compatible packet with equal probability (memoryless delays), so it
    /// carries the compatible classes' average and the pool keeps the rest.
    pub fn take(
        &mut self,
        classes: core::ops::Range<usize>,
        sb: &mut Bufs,
        tb: &mut Bufs,
    ) -> Belief {
        let mut out = Belief::default();
        if self.count == 0 {
            return out;
        }
        let mut range = classes;
        let mut total: f32 = range
            .clone()
            .map(|h| self.mass.get(h).copied().unwrap_or(0.0))
            .sum();
        if total <= 1e-6 {
            range = 0..MAX_POS - 1;
            total = self.mass[..MAX_POS - 1].iter().sum();
        }
        if total > 1e-6 {
            let frac = 1.0 / total;
            for h in range {
                if h + 1 >= MAX_POS || self.mass[h] <= 0.0 {
                    continue;
                }
                let m = self.mass[h] * frac;
                out.mass[h + 1] = m;
                self.mass[h] -= m;
                out.s[h + 1] = split_off(&mut self.s[h], frac, sb);
                out.t[h + 1] = split_off(&mut self.t[h], frac, tb);
                if self.mass[h] < 1e-6 {
                    self.drop_class(h, sb, tb);
                }
            }
        }
        self.count -= 1;
        if self.count == 0 {
            self.clear(sb, tb);
        }
        out
    }

    fn drop_class(&mut self, h: usize, sb: &mut Bufs, tb: &mut Bufs) {
        self.mass[h] = 0.0;
        sb.give_label(std::mem::take(&mut self.s[h]));
        tb.give_label(std::mem::take(&mut self.t[h]));
    }

    /// The relay failed: its packets are gone.
    pub fn clear(&mut self, sb: &mut Bufs, tb: &mut Bufs) {
        self.count = 0;
        for h in 0..MAX_POS {
            self.drop_class(h, sb, tb);
        }
    }

    /// Packets inside.
    pub fn count(&self) -> u32 {
        self.count
    }
}

/// Everything the adversary accumulates over a run.
#[derive(Debug)]
pub struct Adversary {
    /// Users (dimension of the sender space).
    pub users: usize,
    /// Tracked packets (dimension of the target space).
    pub targets: usize,
    /// Vectors of the sender space.
    pub sbufs: Bufs,
    /// Vectors of the target space.
    pub tbufs: Bufs,
    /// Per recipient, summed sender posteriors over the first measured day (`users × users`).
    pub acc_day: Vec<f32>,
    /// Per recipient, summed sender posteriors over the whole window.
    pub acc_window: Vec<f32>,
    /// Ground truth: `truth_day[r * users + s]` when `s` sent a real message to `r` delivered
    /// in the first measured day.
    pub truth_day: Vec<bool>,
    /// Ground truth over the whole window.
    pub truth_window: Vec<bool>,
    /// Per tracked packet, mass that reached each recipient (`targets × users`).
    pub recv: Vec<f32>,
}

impl Adversary {
    /// An adversary for `users` users and `targets` tracked packets.
    pub fn new(users: usize, targets: usize) -> Self {
        Adversary {
            users,
            targets,
            sbufs: Bufs::new(users),
            tbufs: Bufs::new(targets.max(1)),
            acc_day: vec![0.0; users * users],
            acc_window: vec![0.0; users * users],
            truth_day: vec![false; users * users],
            truth_window: vec![false; users * users],
            recv: vec![0.0; targets.max(1) * users],
        }
    }

    /// An e-mail reaches user `r`'s mailbox and is fetched. `in_day`/`in_window` say whether
    /// the time falls into the long-term windows; `real_sender` is the ground truth for a real
    /// message packet.
    pub fn delivered(
        &mut self,
        r: usize,
        s: &Label,
        t: &Label,
        in_day: bool,
        in_window: bool,
        real_sender: Option<usize>,
    ) {
        let n = self.users;
        for (on, acc) in [
            (in_day, &mut self.acc_day),
            (in_window, &mut self.acc_window),
        ] {
            if !on {
                continue;
            }
            let row = &mut acc[r * n..(r + 1) * n];
            match s {
                Label::Dense(v) => row.iter_mut().zip(v.iter()).for_each(|(a, b)| *a += *b),
                other => other.for_each(|i, w| {
                    if let Some(x) = row.get_mut(i) {
                        *x += w;
                    }
                }),
            }
        }
        if let Some(sender) = real_sender {
            if in_day {
                self.truth_day[r * n + sender] = true;
            }
            if in_window {
                self.truth_window[r * n + sender] = true;
            }
        }
        let recv = &mut self.recv;
        t.for_each(|i, m| {
            if m > 0.0
                && let Some(x) = recv.get_mut(i * n + r)
            {
                *x += m;
            }
        });
    }

    /// The recipient distribution of tracked packet `i` (unnormalised mass per user).
    pub fn recipient_mass(&self, i: usize) -> &[f32] {
        &self.recv[i * self.users..(i + 1) * self.users]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dense(l: &Label) -> Vec<f32> {
        let mut v = vec![0.0; 3];
        l.for_each(|i, w| {
            if i >= v.len() {
                v.resize(i + 1, 0.0);
            }
            v[i] += w;
        });
        v
    }

    fn sender_part(b: &Belief, h: usize) -> Vec<f32> {
        dense(&b.s[h])
    }

    #[test]
    fn pool_departures_take_the_average() {
        let (mut sb, mut tb) = (Bufs::new(3), Bufs::new(1));
        let mut pool = Pool::default();
        let any = 0..MAX_POS - 1;
        pool.add(Belief::submitted(0, None), &mut sb, &mut tb);
        pool.add(Belief::submitted(1, None), &mut sb, &mut tb);
        // First departure: 1/2 each, and it has passed one relay.
        let b = pool.take(any.clone(), &mut sb, &mut tb);
        assert_eq!(sender_part(&b, 1), vec![0.5, 0.5, 0.0]);
        assert!((b.mass[1] - 1.0).abs() < 1e-6 && matches!(b.t[1], Label::None));
        // A third packet joins the remaining one (itself 1/2, 1/2).
        pool.add(Belief::submitted(2, None), &mut sb, &mut tb);
        let b = pool.take(any.clone(), &mut sb, &mut tb);
        assert_eq!(sender_part(&b, 1), vec![0.25, 0.25, 0.5]);
        let b = pool.take(any, &mut sb, &mut tb);
        assert_eq!(sender_part(&b, 1), vec![0.25, 0.25, 0.5]);
        assert_eq!(pool.count(), 0);
    }

    #[test]
    fn departures_respect_the_number_of_relays_passed() {
        // Two-relay paths. The pool holds a fresh packet from user 0 (passed 0 relays) and a
        // forwarded one from user 1 (passed 1). A departure to a user account must be the
        // forwarded one, whatever the pool average says.
        let (mut sb, mut tb) = (Bufs::new(2), Bufs::new(1));
        let mut pool = Pool::default();
        pool.add(Belief::submitted(0, None), &mut sb, &mut tb);
        let mut fwd = Belief::submitted(1, None);
        fwd = fwd.advance(0..1, &mut sb, &mut tb);
        assert!((fwd.mass[1] - 1.0).abs() < 1e-6);
        pool.add(fwd, &mut sb, &mut tb);
        let to_user = pool.take(1..2, &mut sb, &mut tb);
        let (s, _) = to_user.into_final(&mut sb, &mut tb);
        assert_eq!(dense(&s), vec![0.0, 1.0, 0.0]);
        // The one left is the fresh packet of user 0.
        let to_relay = pool.take(0..1, &mut sb, &mut tb);
        assert_eq!(sender_part(&to_relay, 1), vec![1.0, 0.0, 0.0]);
    }

    #[test]
    fn linking_intersects_the_packets_anonymity_sets() {
        // Packet 1 could be from users 0, 1 or 2; packet 2 from 2 or 3: together only 2.
        let mut linked = LinkedPackets::new(4);
        linked.add(&Label::Sparse(vec![(0, 1.0), (1, 1.0), (2, 1.0)]));
        let (h, _, p_true, top) = linked.figures(2);
        assert!((h - 3f64.log2()).abs() < 1e-3, "{h}");
        assert!((p_true - 1.0 / 3.0).abs() < 1e-3 && top);
        linked.add(&Label::Sparse(vec![(2, 0.5), (3, 0.5)]));
        let (h, minh, p_true, top) = linked.figures(2);
        assert!(h < 1e-3 && minh < 1e-3, "{h} {minh}");
        assert!(p_true > 0.999 && top);
    }

    #[test]
    fn delivered_accumulates_rows() {
        let mut a = Adversary::new(3, 2);
        a.delivered(2, &Label::One(1), &Label::One(1), true, true, Some(1));
        a.delivered(
            2,
            &Label::Dense(vec![0.5, 0.5, 0.0].into_boxed_slice()),
            &Label::None,
            false,
            true,
            None,
        );
        assert_eq!(&a.acc_day[6..9], &[0.0, 1.0, 0.0]);
        assert_eq!(&a.acc_window[6..9], &[0.5, 1.5, 0.0]);
        assert!(a.truth_day[7] && a.truth_window[7] && !a.truth_window[6]);
        assert_eq!(a.recipient_mass(1), &[0.0, 0.0, 1.0]);
    }
}
