//! Plain data types at the engine's boundary (CLI `--json`, the desktop app, the bridge).

use serde::Serialize;

/// What to send.
#[derive(Debug, Clone)]
pub struct SendRequest {
    /// Recipient mail address (a MailVortex user we have a descriptor for).
    pub to: String,
    /// Subject.
    pub subject: String,
    /// Body bytes (text or a file's content).
    pub body: Vec<u8>,
    /// File name when sending a file.
    pub file_name: Option<String>,
    /// Anonymity level.
    pub level: mailvortex_proto::level::LevelName,
}

/// One step of a message's delivery timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TimelineEntry {
    /// queued, sent, retry, delivered or failed.
    pub state: String,
    /// When (unix ms, protocol time).
    pub at_ms: i64,
    /// Details (counts, reasons).
    pub detail: Option<String>,
}

/// A sent message and where it stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MessageStatus {
    /// Message id (hex).
    pub message_id: String,
    /// Recipient.
    pub to: String,
    /// Subject (kept sealed by the sender's node; absent for messages sent before it was kept).
    pub subject: Option<String>,
    /// Level.
    pub level: String,
    /// Body size in bytes.
    pub size: u64,
    /// Current state: queued, sent, retry (being sent again), delivered or failed.
    pub state: String,
    /// The attempt it is on, from 1 (the last one it made once delivered or failed).
    pub attempt: u32,
    /// Attempts it gets before it is reported failed.
    pub max_attempts: u32,
    /// While it waits for its receipt: when the current attempt's deadline passes and it is
    /// sent again (unix ms, protocol time).
    pub receipt_due_ms: Option<i64>,
    /// Every step so far.
    pub timeline: Vec<TimelineEntry>,
}

/// A relay this node knows and how it has done (see [`crate::Node::relays`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RelayHealth {
    /// Node id (hex).
    pub node_id: String,
    /// Its mail address.
    pub address: String,
    /// Left out of new paths for a while after a lost attempt went through it.
    pub resting: bool,
    /// Until when it rests (unix ms, protocol time).
    pub resting_until_ms: Option<i64>,
    /// Attempts through it that brought no receipt.
    pub failures: u32,
    /// Receipts that came back through it.
    pub successes: u32,
    /// When it last did its part (unix ms), if ever.
    pub last_seen_ms: Option<i64>,
}

/// A received message in a listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReceivedSummary {
    /// Message id (hex).
    pub message_id: String,
    /// Sender's address (from the descriptor they sent), if known.
    pub from: Option<String>,
    /// Sender's node id (hex), if known.
    pub from_node: Option<String>,
    /// Subject.
    pub subject: String,
    /// Arrival (unix ms).
    pub received_ms: i64,
    /// Whether it was read.
    pub read: bool,
    /// Body size.
    pub size: usize,
}

/// A received message, whole.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReceivedMessageView {
    /// Listing data.
    pub summary: ReceivedSummary,
    /// File name, if a file was sent.
    pub file_name: Option<String>,
    /// Level the sender chose.
    pub level: String,
    /// When the sender created it (unix seconds).
    pub created_at: u64,
    /// The body.
    #[serde(skip)]
    pub body: Vec<u8>,
}

/// Parses a 32-hex-digit message id.
pub fn parse_message_id(s: &str) -> Option<[u8; 16]> {
    if s.len() != 32 {
        return None;
    }
    let mut out = [0u8; 16];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// Hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
