//! The event stream: what front ends (CLI, desktop app, local IMAP) show as it happens.

use serde::Serialize;

/// Something the engine did, in the order it did it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Event {
    /// A message was prepared and its packets queued.
    MessageQueued {
        message_id: String,
        packets: usize,
        needed: usize,
        level: String,
    },
    /// One packet left through SMTP.
    PacketSent {
        message_id: Option<String>,
        shard: Option<u16>,
        account: String,
    },
    /// This node relayed a packet (after its mixing delay).
    PacketRelayed { account: String, delay_ms: u32 },
    /// A packet reached this node for relaying and is waiting out its delay.
    PacketQueuedForRelay { delay_ms: u32 },
    /// A carrier mail was rejected (replay, tampering, bad puzzle...).
    PacketRejected { reason: String },
    /// A shard of an incoming message arrived.
    ShardReceived {
        message_id: String,
        have: usize,
        needed: usize,
    },
    /// A whole message arrived and was stored.
    MessageReceived {
        message_id: String,
        from: String,
        subject_len: usize,
    },
    /// The end-to-end receipt for a sent message arrived.
    MessageDelivered { message_id: String },
    /// A message is being sent again: over fresh paths after no receipt came in time
    /// (`no_receipt`, `attempt` counts from 0), or its packets wait for our mail server
    /// (`mail_server`).
    MessageRetried {
        message_id: String,
        attempt: u32,
        reason: crate::node::RetryReason,
    },
    /// A message could not be delivered.
    MessageFailed { message_id: String, reason: String },
    /// A transport problem (will be retried).
    TransportTrouble { account: String, detail: String },
    /// A cover packet left.
    CoverSent { kind: String },
    /// A loop cover packet came back.
    LoopReturned,
    /// A node introduced itself in-band (we answered its request, or it answered ours).
    PeerIntroduced { node_id: String, answered: bool },
}

/// What kind of step an event is, for a front end's icons and colours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StepKind {
    /// The message was prepared.
    Queued,
    /// A packet left the sender.
    Sent,
    /// A relay held or passed on a packet.
    Relay,
    /// A packet reached the recipient.
    Arrived,
    /// The whole message is at the recipient.
    Received,
    /// The receipt is back at the sender.
    Delivered,
    /// Something went wrong or is being retried.
    Problem,
}

/// A plain-language line about an event (what `mailvortex demo` and `run` print, and what
/// the app's demo shows). No secret, address of a far end, subject or content is in it:
/// only what the event itself carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Narration {
    /// The kind of step.
    pub kind: StepKind,
    /// One line, for people who have never heard of mix networks.
    pub text: String,
}

impl Event {
    /// The event told in plain words, or `None` for housekeeping (cover traffic, loops).
    pub fn narrate(&self) -> Option<Narration> {
        use crate::node::RetryReason;
        let (kind, text) = match self {
            Event::MessageQueued {
                packets,
                needed,
                level,
                ..
            } => (
                StepKind::Queued,
                format!(
                    "sealed the message into {packets} packets (any {needed} rebuild it) at level {level}"
                ),
            ),
            Event::PacketSent { .. } => (
                StepKind::Sent,
                "sent a packet to its first relay, as an ordinary-looking mail".into(),
            ),
            Event::PacketQueuedForRelay { delay_ms } => (
                StepKind::Relay,
                format!(
                    "removed one layer of wrapping; holding the packet for {} so its timing gives nothing away",
                    crate::human::human_duration(i64::from(*delay_ms))
                ),
            ),
            Event::PacketRelayed { .. } => (
                StepKind::Relay,
                "passed the packet on to the next stop".into(),
            ),
            Event::ShardReceived { have, needed, .. } => (
                StepKind::Arrived,
                format!("a packet arrived ({have} of {needed} needed)"),
            ),
            Event::MessageReceived { from, .. } => (
                StepKind::Received,
                format!("message rebuilt and checked (from node {from}); sending the receipt back"),
            ),
            Event::MessageDelivered { .. } => {
                (StepKind::Delivered, "the receipt arrived: delivered".into())
            }
            Event::PacketRejected { reason } => {
                (StepKind::Problem, format!("refused a packet: {reason}"))
            }
            Event::MessageRetried {
                attempt,
                reason: RetryReason::NoReceipt,
                ..
            } => (
                StepKind::Problem,
                format!(
                    "no receipt in time: sent again over fresh paths (attempt {})",
                    attempt + 1
                ),
            ),
            Event::MessageRetried {
                reason: RetryReason::MailServer,
                ..
            } => (
                StepKind::Problem,
                "the mail server did not take the packets yet: trying again".into(),
            ),
            Event::MessageRetried {
                reason: RetryReason::Requested,
                ..
            } => (StepKind::Sent, "sent again at the user's request".into()),
            Event::MessageFailed { reason, .. } => {
                (StepKind::Problem, format!("gave up: {reason}"))
            }
            Event::TransportTrouble { detail, .. } => {
                (StepKind::Problem, format!("mail server trouble: {detail}"))
            }
            _ => return None,
        };
        Some(Narration { kind, text })
    }
}

/// A broadcast channel of [`Event`]s; slow subscribers miss old events, never block the engine.
#[derive(Debug, Clone)]
pub struct EventBus {
    tx: tokio::sync::broadcast::Sender<Event>,
}

impl Default for EventBus {
    fn default() -> Self {
        let (tx, _) = tokio::sync::broadcast::channel(4096);
        EventBus { tx }
    }
}

impl EventBus {
    /// Publishes an event (and logs it at debug level).
    pub fn emit(&self, event: Event) {
        tracing::debug!(?event, "event");
        let _ = self.tx.send(event);
    }

    /// A new subscription, starting now.
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<Event> {
        self.tx.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn narration_is_plain_and_classifies_steps() {
        let queued = Event::MessageQueued {
            message_id: "m".into(),
            packets: 3,
            needed: 1,
            level: "standard".into(),
        };
        let n = queued.narrate().expect("narrated");
        assert_eq!(n.kind, StepKind::Queued);
        assert!(
            n.text
                .contains("3 packets (any 1 rebuild it) at level standard")
        );
        let held = Event::PacketQueuedForRelay { delay_ms: 90_000 }
            .narrate()
            .expect("narrated");
        assert_eq!(held.kind, StepKind::Relay);
        assert!(held.text.contains("1 min 30 s"), "{}", held.text);
        let delivered = Event::MessageDelivered {
            message_id: "m".into(),
        };
        assert_eq!(
            delivered.narrate().map(|n| n.kind),
            Some(StepKind::Delivered)
        );
        assert_eq!(
            Event::CoverSent {
                kind: "drop".into()
            }
            .narrate(),
            None
        );
        for e in [
            queued,
            Event::PacketRelayed {
                account: "a".into(),
                delay_ms: 1,
            },
        ] {
            let text = e.narrate().expect("narrated").text;
            assert!(
                !text.contains("onion") && !text.contains("mixing"),
                "{text}"
            );
        }
    }
}
