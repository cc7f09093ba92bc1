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
