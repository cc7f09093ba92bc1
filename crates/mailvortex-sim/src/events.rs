//! The virtual clock: a binary heap of timed events, ties broken by insertion order so that a
//! run is a pure function of its seed.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// Something that happens at a point of virtual time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// A user writes a real message.
    NewMessage {
        /// The writer.
        user: u32,
    },
    /// A user sends a cover loop.
    NewCover {
        /// The sender (and final recipient) of the loop.
        user: u32,
    },
    /// A paced packet of a message leaves its sender (see `LevelOverrides::pacing_gap_ms`).
    Submit {
        /// The sender's account.
        account: u32,
        /// The packet.
        packet: u32,
    },
    /// An e-mail reaches an account's mailbox.
    Arrive {
        /// Receiving account.
        account: u32,
        /// The packet.
        packet: u32,
    },
    /// An account polls its mailbox.
    Fetch {
        /// The polling account.
        account: u32,
    },
    /// A packet's mixing delay at a relay ends.
    Depart {
        /// The relay account.
        account: u32,
        /// The packet.
        packet: u32,
        /// The account's failure generation when the packet entered (stale events are ignored).
        generation: u32,
    },
    /// A new provider day: quotas reset and deferred sends go out.
    DayStart,
    /// A relay fails (its mailbox and pool are lost).
    RelayDown {
        /// Relay index.
        relay: u32,
    },
    /// A relay comes back, empty.
    RelayUp {
        /// Relay index.
        relay: u32,
    },
    /// The directory learns a relay's state.
    Directory {
        /// Relay index.
        relay: u32,
        /// The state it publishes.
        up: bool,
    },
    /// The sender's retransmission timer for one attempt of a message.
    Timeout {
        /// Message index.
        msg: u32,
        /// Attempt number (0-based).
        attempt: u32,
    },
}

#[derive(Debug, PartialEq, Eq)]
struct Scheduled {
    time: u64,
    seq: u64,
    event: Event,
}

impl Ord for Scheduled {
    fn cmp(&self, other: &Self) -> Ordering {
        // Reversed: the heap pops the earliest (time, seq) first.
        (other.time, other.seq).cmp(&(self.time, self.seq))
    }
}

impl PartialOrd for Scheduled {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// The event queue and the current virtual time (ms).
#[derive(Debug, Default)]
pub struct Clock {
    heap: BinaryHeap<Scheduled>,
    seq: u64,
    now: u64,
    processed: u64,
}

impl Clock {
    /// An empty queue at time 0.
    pub fn new() -> Self {
        Self::default()
    }

    /// Current virtual time in ms.
    pub fn now(&self) -> u64 {
        self.now
    }

    /// Events processed so far.
    pub fn processed(&self) -> u64 {
        self.processed
    }

    /// Schedules `event` at `time` (never before now).
    pub fn at(&mut self, time: u64, event: Event) {
        let time = time.max(self.now);
        self.seq += 1;
        self.heap.push(Scheduled {
            time,
            seq: self.seq,
            event,
        });
    }

    /// Schedules `event` after `delay` ms.
    pub fn after(&mut self, delay: u64, event: Event) {
        self.at(self.now.saturating_add(delay), event);
    }

    /// Pops the next event not later than `end` and advances the clock to it.
    pub fn next_until(&mut self, end: u64) -> Option<Event> {
        if self.heap.peek().is_none_or(|s| s.time > end) {
            return None;
        }
        let s = self.heap.pop()?;
        self.now = s.time;
        self.processed += 1;
        Some(s.event)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pops_in_time_then_insertion_order() {
        let mut c = Clock::new();
        c.at(10, Event::DayStart);
        c.at(5, Event::Fetch { account: 1 });
        c.at(10, Event::Fetch { account: 2 });
        c.at(3, Event::Fetch { account: 3 });
        let mut got = Vec::new();
        while let Some(e) = c.next_until(100) {
            got.push((c.now(), e));
        }
        assert_eq!(
            got,
            vec![
                (3, Event::Fetch { account: 3 }),
                (5, Event::Fetch { account: 1 }),
                (10, Event::DayStart),
                (10, Event::Fetch { account: 2 }),
            ]
        );
    }

    #[test]
    fn stops_at_the_end() {
        let mut c = Clock::new();
        c.at(50, Event::DayStart);
        assert_eq!(c.next_until(49), None);
        assert_eq!(c.next_until(50), Some(Event::DayStart));
    }
}
