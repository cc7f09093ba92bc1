//! What a user asks of a message after it exists: send a failed one again, stop one still on
//! its way, answer a received one. Front ends (the desktop app's buttons, the bridge) call
//! these; none of them needs the message's content again, only what the node keeps sealed.

use mailvortex_store::DeliveryState;

use super::compose::{SendMeta, subject_key};
use super::retransmit::{RetryReason, send_meta_key};
use super::{Node, lock};
use crate::api::{MessageStatus, SendRequest, hex, parse_message_id};
use crate::error::{EngineError, Result};
use crate::events::Event;

/// The timeline detail and event reason of a message the user stopped.
pub const CANCELLED: &str = "cancelled";

fn parse_id(s: &str) -> Result<[u8; 16]> {
    parse_message_id(s).ok_or_else(|| EngineError::Invalid("message id: 32 hex digits".into()))
}

/// "Re: " once, however often a conversation goes back and forth.
pub fn reply_subject(subject: &str) -> String {
    let trimmed = subject.trim_start();
    if trimmed.len() >= 3 && trimmed[..3].eq_ignore_ascii_case("re:") {
        trimmed.to_string()
    } else {
        format!("Re: {trimmed}")
    }
}

impl Node {
    /// Sends a message that failed once more, over fresh paths, with a fresh round of
    /// attempts. Only a failed message can be retried (one still waiting for its receipt is
    /// retried by the node itself); one that was cancelled or is too old to have its packets
    /// kept is refused with [`EngineError::Invalid`].
    pub fn retry_message(&self, message_id: &str) -> Result<MessageStatus> {
        let id = message_id_checked(self, message_id, &[DeliveryState::Failed])?;
        let key = send_meta_key(&id);
        let mut meta: SendMeta = lock(&self.inner.store)
            .kv_get(&key)?
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or_else(|| {
                EngineError::Invalid(
                    "this message can no longer be sent again (it was stopped, or its packets \
                     were not kept): write it anew"
                        .into(),
                )
            })?;
        self.resend(&id, &mut meta, 0, "sent again at your request")?;
        lock(&self.inner.store).kv_set(&key, &super::compose::json(&meta)?)?;
        self.inner.events.emit(Event::MessageRetried {
            message_id: hex(&id),
            attempt: 0,
            reason: RetryReason::Requested,
        });
        self.status(message_id)
    }

    /// Stops a message that is not delivered yet: its packets still queued never leave, the
    /// node stops waiting for its receipt and drops what it kept to send it again. Packets
    /// already handed to the mail server cannot be called back; if enough of them arrive the
    /// recipient still gets it (and a receipt may still come). A delivered message is
    /// refused with [`EngineError::Invalid`].
    pub fn cancel_message(&self, message_id: &str) -> Result<MessageStatus> {
        let id = message_id_checked(
            self,
            message_id,
            &[
                DeliveryState::Queued,
                DeliveryState::Sent,
                DeliveryState::Retry,
                DeliveryState::Failed,
            ],
        )?;
        let now_ms = self.inner.clock.now_ms() as i64;
        {
            let store = lock(&self.inner.store);
            let withdrawn = store.withdraw_queued(&id, CANCELLED)?;
            store.record_delivery_event(
                &id,
                DeliveryState::Failed,
                now_ms,
                Some(&format!(
                    "{CANCELLED} at your request ({withdrawn} packets not sent)"
                )),
            )?;
            store.kv_delete(&send_meta_key(&id))?;
        }
        self.drop_sealed(&id)?;
        self.inner.events.emit(Event::MessageFailed {
            message_id: hex(&id),
            reason: CANCELLED.into(),
        });
        self.status(message_id)
    }

    /// Answers a received message: `body` goes back to its sender, anonymously, at `level`,
    /// with the subject "Re: …". Returns the new message's id. Fails with
    /// [`EngineError::Invalid`] if the message does not say who sent it (a sender who did not
    /// include their invite cannot be answered).
    pub fn reply(
        &self,
        message_id: &str,
        body: Vec<u8>,
        level: mailvortex_proto::level::LevelName,
    ) -> Result<String> {
        let id = parse_id(message_id)?;
        let original = self.read_inner(&id, false)?;
        let to = original.summary.from.ok_or_else(|| {
            EngineError::Invalid(
                "this message does not say who sent it, so it cannot be answered".into(),
            )
        })?;
        self.send(SendRequest {
            to,
            subject: reply_subject(&original.summary.subject),
            body,
            file_name: None,
            level,
        })
    }

    /// The subject of a message this node sent (kept sealed in the store).
    pub(crate) fn sent_subject(&self, id: &[u8; 16]) -> Option<String> {
        let sealed = lock(&self.inner.store).kv_get(&subject_key(id)).ok()??;
        let plain = self.open_local(&sealed)?;
        String::from_utf8(plain.to_vec()).ok()
    }
}

/// The id of a sent message in one of `states`, or a plain error saying why not.
fn message_id_checked(node: &Node, s: &str, states: &[DeliveryState]) -> Result<[u8; 16]> {
    let id = parse_id(s)?;
    let m = lock(&node.inner.store)
        .message_out(&id)?
        .ok_or_else(|| EngineError::NotFound(format!("message {s}")))?;
    if !states.contains(&m.state) {
        return Err(EngineError::Invalid(match m.state {
            DeliveryState::Delivered => "this message was already delivered".into(),
            DeliveryState::Failed => "this message has already stopped".into(),
            _ => "this message is still on its way; the node sends it again by itself".into(),
        }));
    }
    Ok(id)
}
