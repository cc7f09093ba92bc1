//! Small shared types: ids and the enums stored as text.

use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef};

/// A message id (16 bytes).
pub type MessageId = [u8; 16];
/// A node id (32 bytes, e.g. a hash of the node's identity key).
pub type NodeId = [u8; 32];
/// A replay tag (32 bytes).
pub type ReplayTag = [u8; 32];

macro_rules! text_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vm])* $variant),+
        }

        impl $name {
            /// The text stored in the database.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            fn parse(s: &str) -> Option<Self> {
                match s {
                    $($text => Some($name::$variant),)+
                    _ => None,
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ToSql for $name {
            fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
                Ok(ToSqlOutput::from(self.as_str()))
            }
        }

        impl FromSql for $name {
            fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
                let s = value.as_str()?;
                $name::parse(s).ok_or_else(|| {
                    FromSqlError::Other(format!("unknown {} {s:?}", stringify!($name)).into())
                })
            }
        }
    };
}

text_enum! {
    /// What an outbox packet is.
    PacketKind {
        /// A packet of one of our own messages.
        Message = "message",
        /// A packet we forward for others (a mix hop).
        Relay = "relay",
        /// Cover traffic (no message).
        Cover = "cover",
    }
}

text_enum! {
    /// State of an outbox packet: `queued → sending → sent | failed`, and
    /// `sending → queued` on retry.
    OutboxState {
        /// Waiting for `not_before_ms`.
        Queued = "queued",
        /// Handed to SMTP; not yet confirmed.
        Sending = "sending",
        /// Accepted by the SMTP server (the packet bytes are erased).
        Sent = "sent",
        /// Given up.
        Failed = "failed",
    }
}

text_enum! {
    /// State of a sent message, and of each event in its timeline.
    DeliveryState {
        /// Created, packets queued.
        Queued = "queued",
        /// All packets handed to SMTP.
        Sent = "sent",
        /// Confirmed delivered (e.g. by an acknowledgement).
        Delivered = "delivered",
        /// Given up.
        Failed = "failed",
        /// A retry is scheduled.
        Retry = "retry",
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}
