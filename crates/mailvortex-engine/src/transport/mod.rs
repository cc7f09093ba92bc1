//! Moving mail: SMTP out, IMAP in, or an in-process provider for the demo and fast tests.
//!
//! The engine only sees two small traits; a carrier mail is raw RFC 5322 bytes.

pub mod imap;
pub mod memory;
pub mod smtp;
pub mod tls;

use std::time::Duration;

use futures::future::BoxFuture;

/// Why a transport call failed, and whether trying again may help.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TransportError {
    /// Try again later (4xx, timeouts, dropped connections, server restarts).
    #[error("temporary failure: {0}")]
    Temporary(String),
    /// Retrying the same thing will not help (5xx, unknown recipient).
    #[error("permanent failure: {0}")]
    Permanent(String),
    /// The server refused our credentials.
    #[error("authentication failed: {0}")]
    Auth(String),
    /// TLS could not be established or the certificate is not trusted.
    #[error("TLS failure: {0}")]
    Tls(String),
}

impl TransportError {
    /// Whether a retry may succeed.
    pub fn is_temporary(&self) -> bool {
        matches!(self, TransportError::Temporary(_))
    }
}

/// A mail to submit.
#[derive(Debug, Clone)]
pub struct OutgoingMail {
    /// Envelope sender (our account).
    pub from: String,
    /// Envelope recipient (the next hop only).
    pub to: String,
    /// The RFC 5322 message.
    pub raw: Vec<u8>,
}

/// A mail found in the inbox.
#[derive(Debug, Clone)]
pub struct IncomingMail {
    /// Server-side id (IMAP UID), stable while the mailbox's UIDVALIDITY is.
    pub uid: u32,
    /// The RFC 5322 message.
    pub raw: Vec<u8>,
}

/// Submits mail for one account.
pub trait MailSender: Send + Sync {
    /// Sends one mail.
    fn send(&self, mail: OutgoingMail) -> BoxFuture<'_, Result<(), TransportError>>;
}

/// Reads one account's inbox.
pub trait MailReceiver: Send {
    /// Identifies the mailbox generation (IMAP UIDVALIDITY): UIDs are meaningful within it.
    fn generation(&self) -> u32;
    /// UIDs of every mail in the inbox now.
    fn list(&mut self) -> BoxFuture<'_, Result<Vec<u32>, TransportError>>;
    /// Fetches the given mails.
    fn fetch(&mut self, uids: &[u32]) -> BoxFuture<'_, Result<Vec<IncomingMail>, TransportError>>;
    /// Deletes the given mails (only ever called for carriers whose effect is stored).
    fn delete(&mut self, uids: &[u32]) -> BoxFuture<'_, Result<(), TransportError>>;
    /// Waits until new mail may have arrived or `max` passed (IMAP IDLE, or a sleep).
    fn wait(&mut self, max: Duration) -> BoxFuture<'_, Result<(), TransportError>>;
}
