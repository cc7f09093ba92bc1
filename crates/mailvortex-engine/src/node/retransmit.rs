//! Attempts and their deadlines: each attempt of a message waits for its receipt until a
//! deadline taken from the level (its round trip at the 99th percentile, every mail hop given
//! a poll period and a provider's transit), then the message goes out again over fresh paths
//! that avoid the relays of the failed attempt, and its timeline says why. After
//! [`MAX_ATTEMPTS`] attempts it is reported failed.
//!
//! A sender never learns *why* packets got lost downstream (a relay that refuses them does
//! not know who sent them, by design), so the reason classes are what the sender can see
//! itself: no receipt in time ([`RetryReason::NoReceipt`]), or its own mail server not taking
//! the packets ([`RetryReason::MailServer`]).

use mailvortex_proto::level::{LevelName, LevelParams};
use mailvortex_proto::packet::PAYLOAD_LEN;
use mailvortex_store::DeliveryState;
use serde::Serialize;

use super::compose::{SendMeta, build_shard_packets, json, message_rows, sealed_key};
use super::{Node, lock};
use crate::api::hex;
use crate::error::{EngineError, Result};
use crate::events::Event;
use crate::human::human_duration;

/// Attempts per message before it is reported failed.
pub const MAX_ATTEMPTS: u32 = 3;

/// The share of round trips an attempt's deadline covers: later than this, the attempt is
/// presumed lost and the message goes out again.
const RECEIPT_QUANTILE: f64 = 0.99;

/// Why a message is being sent again, as front ends show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RetryReason {
    /// Every packet left, but no receipt came back before the attempt's deadline: a relay on
    /// the way is down, slow, or refused the packets.
    NoReceipt,
    /// The sender's own mail server did not take the packets yet (the outbox tries again).
    MailServer,
    /// The user asked for a failed message to be sent again ([`Node::retry_message`]).
    Requested,
}

impl RetryReason {
    /// Stable code for front ends (`no_receipt`, `mail_server`).
    pub fn code(self) -> &'static str {
        match self {
            RetryReason::NoReceipt => "no_receipt",
            RetryReason::MailServer => "mail_server",
            RetryReason::Requested => "requested",
        }
    }
}

/// Prefix of the timeline detail of a mail-server delay, to record it once per episode.
const MAIL_SERVER_DETAIL: &str = "your mail server did not take the packets yet";

impl Node {
    /// How long one attempt of a message at `level` waits for its receipt, in protocol ms:
    /// [`LevelParams::receipt_deadline_ms`] at the 99th percentile, each mail hop allowed the
    /// poll period plus `mail_transit_seconds`. Those two are about mail servers, so they are
    /// real time: with a scaled clock they are `factor` times as many protocol seconds, or a
    /// fast test clock would resend messages still in transit.
    pub fn receipt_wait_ms(&self, level: &LevelParams) -> u64 {
        let (poll, transit) = {
            let c = lock(&self.inner.config);
            (c.poll_seconds, c.mail_transit_seconds)
        };
        let per_hop_real_ms = poll.saturating_add(transit).saturating_mul(1000);
        let per_hop = (per_hop_real_ms as f64 * self.inner.clock.factor()) as u64;
        level.receipt_deadline_ms(RECEIPT_QUANTILE, per_hop)
    }

    /// Sends overdue messages again over fresh paths, or gives up after [`MAX_ATTEMPTS`].
    pub(crate) fn retransmit_overdue(&self) -> Result<()> {
        let now_ms = self.inner.clock.now_ms();
        let pending: Vec<[u8; 16]> = lock(&self.inner.store)
            .messages_out(1000)?
            .into_iter()
            .filter(|m| {
                matches!(
                    m.state,
                    DeliveryState::Sent | DeliveryState::Retry | DeliveryState::Queued
                )
            })
            .map(|m| m.message_id)
            .collect();
        for id in pending {
            let key = send_meta_key(&id);
            let Some(mut meta) = lock(&self.inner.store)
                .kv_get(&key)?
                .and_then(|b| serde_json::from_slice::<SendMeta>(&b).ok())
            else {
                continue;
            };
            if now_ms < meta.deadline_ms {
                continue;
            }
            let level: LevelName = meta.level.parse()?;
            let wait_ms = self.receipt_wait_ms(&level.params());
            // The timer runs from the moment the attempt's last packet left: packets still
            // waiting (a daily send budget, an SMTP server refusing for a while) restart it,
            // or a big message held back by the budget would be sent again and again.
            if lock(&self.inner.store).unsent_packets(&id)? > 0 {
                meta.deadline_ms = now_ms + wait_ms;
                lock(&self.inner.store).kv_set(&key, &json(&meta)?)?;
                continue;
            }
            // The relays used did not bring a receipt back in time: avoid them for a while.
            {
                let store = lock(&self.inner.store);
                for r in &meta.relays {
                    if let Ok(n) = mailvortex_proto::identity::NodeId::from_hex(r) {
                        let _ = store.record_peer_failure(&n.0, (now_ms + 3_600_000) as i64);
                    }
                }
            }
            let waited = human_duration(wait_ms as i64);
            if meta.attempt + 1 >= MAX_ATTEMPTS {
                let detail = format!(
                    "no receipt after {MAX_ATTEMPTS} attempts, each given {waited}: the \
                     recipient's node may be offline, or the relays refused the packets"
                );
                // The sealed packets stay, so the user can send it again
                // ([`Node::retry_message`]); cancelling drops them.
                lock(&self.inner.store).record_delivery_event(
                    &id,
                    DeliveryState::Failed,
                    now_ms as i64,
                    Some(&detail),
                )?;
                self.inner.events.emit(Event::MessageFailed {
                    message_id: hex(&id),
                    reason: "no receipt".into(),
                });
                continue;
            }
            let why = format!(
                "no receipt within {waited} (a relay on the way may be down or have refused \
                 the packets)"
            );
            let next = meta.attempt + 1;
            match self.resend(&id, &mut meta, next, &why) {
                Ok(()) => {
                    lock(&self.inner.store).kv_set(&key, &json(&meta)?)?;
                    self.inner.events.emit(Event::MessageRetried {
                        message_id: hex(&id),
                        attempt: meta.attempt,
                        reason: RetryReason::NoReceipt,
                    });
                }
                Err(e) => tracing::warn!(error = %e, "could not retransmit yet"),
            }
        }
        Ok(())
    }

    /// Sends message `id` again over fresh paths as attempt `attempt` (0 for the first).
    pub(crate) fn resend(
        &self,
        id: &[u8; 16],
        meta: &mut SendMeta,
        attempt: u32,
        why: &str,
    ) -> Result<()> {
        let now_ms = self.inner.clock.now_ms();
        let now = now_ms / 1000;
        let level: LevelName = meta.level.parse()?;
        let params = level.params();
        let recipient = self
            .known_descriptors(false)?
            .into_iter()
            .find(|d| d.address.eq_ignore_ascii_case(&meta.to))
            .ok_or_else(|| EngineError::UnknownRecipient(meta.to.clone()))?;
        let (me, _) = self.descriptor()?;
        let mut payloads: Vec<Box<[u8; PAYLOAD_LEN]>> = Vec::with_capacity(meta.n);
        {
            let store = lock(&self.inner.store);
            for i in 0..meta.n {
                if let Some(b) = store.kv_get(&sealed_key(id, i))? {
                    let arr: Box<[u8; PAYLOAD_LEN]> = b
                        .into_boxed_slice()
                        .try_into()
                        .map_err(|_| EngineError::Invalid("corrupt stored shard".into()))?;
                    payloads.push(arr);
                }
            }
        }
        let pool = self.relay_pool(&[&recipient, &me])?;
        let paths = self.plan(&params, payloads.len(), &me, &recipient, &pool)?;
        let packets = build_shard_packets(
            &params,
            &paths,
            &recipient,
            &payloads.iter().map(|p| &**p).collect::<Vec<_>>(),
            now,
        )?;
        let account = self.send_account()?;
        meta.attempt = attempt;
        meta.deadline_ms = now_ms + self.receipt_wait_ms(&params);
        meta.relays = paths
            .iter()
            .flatten()
            .map(|d| d.node_id.to_hex())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        let rows = message_rows(id, &account, &packets, now_ms);
        let store = lock(&self.inner.store);
        store.enqueue_batch(&[], &rows)?;
        store.record_delivery_event(
            id,
            DeliveryState::Retry,
            now_ms as i64,
            Some(&format!(
                "attempt {} of {MAX_ATTEMPTS}: {why}; {} packets over fresh paths",
                meta.attempt + 1,
                packets.len()
            )),
        )?;
        drop(store);
        self.inner.wake_outbox.notify_one();
        Ok(())
    }

    /// The outbox could not hand a packet of message `id` to our mail server and will try
    /// again in `retry_in_ms` (protocol time): shown once per episode in the timeline, so a
    /// message does not sit at "queued" with no hint while the server refuses.
    pub(crate) fn note_mail_server_delay(&self, id: &[u8; 16], detail: &str, retry_in_ms: u64) {
        let store = lock(&self.inner.store);
        let Ok(Some(m)) = store.message_out(id) else {
            return;
        };
        if !matches!(m.state, DeliveryState::Queued | DeliveryState::Retry) {
            return;
        }
        let shown = store
            .delivery_timeline(id)
            .ok()
            .and_then(|t| t.last().and_then(|e| e.detail.clone()))
            .is_some_and(|d| d.starts_with(MAIL_SERVER_DETAIL));
        if shown {
            return;
        }
        let retry_in = human_duration(retry_in_ms as i64);
        let now_ms = self.inner.clock.now_ms() as i64;
        let _ = store.record_delivery_event(
            id,
            DeliveryState::Retry,
            now_ms,
            Some(&format!(
                "{MAIL_SERVER_DETAIL} ({detail}); trying again in {retry_in}"
            )),
        );
        drop(store);
        self.inner.events.emit(Event::MessageRetried {
            message_id: hex(id),
            attempt: self.attempt_of(id).map_or(0, |(attempt, _)| attempt),
            reason: RetryReason::MailServer,
        });
    }

    /// The attempt a sent message is on (0 for the first) and when its receipt is due
    /// (protocol ms), while it waits for one.
    pub(crate) fn attempt_of(&self, id: &[u8; 16]) -> Option<(u32, u64)> {
        lock(&self.inner.store)
            .kv_get(&send_meta_key(id))
            .ok()
            .flatten()
            .and_then(|b| serde_json::from_slice::<SendMeta>(&b).ok())
            .map(|m| (m.attempt, m.deadline_ms))
    }
}

pub(crate) fn send_meta_key(id: &[u8; 16]) -> String {
    format!("sendmeta:{}", hex(id))
}
