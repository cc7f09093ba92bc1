//! Sending queued packets: carriers built, per-account daily budgets respected, retries with backoff.

use std::collections::HashMap;
use std::sync::Arc;

use mailvortex_carrier::{CarrierParams, CarrierTemplates, MailDate, build_carrier};
use mailvortex_store::{DeliveryState, OutboxPacket, PacketKind};
use rand::rngs::OsRng;

use super::{Node, lock};
use crate::api::hex;
use crate::events::Event;
use crate::transport::{MailSender, OutgoingMail, TransportError};

const DAY_MS: u64 = 86_400_000;

impl Node {
    /// Sends every due packet, then sleeps until the next is due or new work arrives.
    pub(crate) async fn outbox_loop(
        self,
        senders: HashMap<String, Arc<dyn MailSender>>,
        mut stop: tokio::sync::watch::Receiver<bool>,
    ) {
        let templates = self.carrier_templates();
        loop {
            if *stop.borrow() {
                return;
            }
            let now_ms = self.inner.clock.now_ms();
            let due = lock(&self.inner.store).due(now_ms as i64, 32);
            let due = match due {
                Ok(d) => d,
                Err(e) => {
                    tracing::error!(error = %e, "reading the outbox failed");
                    Vec::new()
                }
            };
            for p in &due {
                self.send_one(p, &senders, &templates).await;
            }
            if !due.is_empty() {
                continue;
            }
            let next = lock(&self.inner.store).next_due_ms().ok().flatten();
            // Look at the store at least once a real second: packets queued by another process
            // (`mailvortex send` next to a running daemon) cannot wake this loop, and must not
            // wait for the next protocol minute (60 s at real time).
            let one_real_second = (1000.0 * self.inner.clock.factor()) as u64;
            let wait_ms = next
                .map(|n| (n - now_ms as i64).max(0) as u64)
                .unwrap_or(60_000)
                .min(60_000)
                .min(one_real_second.max(1));
            tokio::select! {
                _ = self.inner.clock.sleep(wait_ms.max(1)) => {}
                _ = self.inner.wake_outbox.notified() => {}
                _ = stop.changed() => {}
            }
        }
    }

    async fn send_one(
        &self,
        p: &OutboxPacket,
        senders: &HashMap<String, Arc<dyn MailSender>>,
        templates: &CarrierTemplates,
    ) {
        let now_ms = self.inner.clock.now_ms();
        let account = lock(&self.inner.config)
            .accounts
            .iter()
            .find(|a| a.name == p.account)
            .cloned();
        let (Some(account), Some(sender)) = (account, senders.get(&p.account)) else {
            let _ = lock(&self.inner.store).mark_failed(p.id, "no such sending account");
            return;
        };
        let sent_today = lock(&self.inner.store)
            .sends_since(&account.name, now_ms as i64 - DAY_MS as i64)
            .unwrap_or(0);
        if sent_today >= u64::from(account.daily_send_budget) {
            // The provider's quota is never exceeded: wait for the window to move.
            let _ = lock(&self.inner.store).mark_retry(
                p.id,
                "daily send budget reached",
                (now_ms + DAY_MS / 24) as i64,
            );
            return;
        }
        let attempts = match lock(&self.inner.store).mark_sending(p.id) {
            Ok(a) => a,
            Err(e) => {
                tracing::error!(error = %e, "outbox");
                return;
            }
        };
        let date = MailDate {
            unix_seconds: (now_ms / 1000) as i64,
            utc_offset_minutes: 0,
        };
        let params = CarrierParams {
            from: &account.address,
            from_name: None,
            to: &p.to_address,
            to_name: None,
            date,
            packet: &p.packet,
        };
        let raw = match build_carrier(&params, templates, &mut OsRng) {
            Ok(r) => r,
            Err(e) => {
                let _ = lock(&self.inner.store).mark_failed(p.id, &e.to_string());
                return;
            }
        };
        let mail = OutgoingMail {
            from: account.address.clone(),
            to: p.to_address.clone(),
            raw,
        };
        match sender.send(mail).await {
            Ok(()) => {
                let store = lock(&self.inner.store);
                // mark_sent also logs the send for the daily budget, in the same transaction.
                let _ = store.mark_sent(p.id, now_ms as i64);
                if let (Some(id), PacketKind::Message) = (p.message_id, p.kind)
                    && let Ok(Some(m)) = store.message_out(&id)
                    && (m.state == DeliveryState::Queued || m.state == DeliveryState::Retry)
                {
                    let _ = store.record_delivery_event(
                        &id,
                        DeliveryState::Sent,
                        now_ms as i64,
                        Some("first packets left"),
                    );
                }
                drop(store);
                match p.kind {
                    PacketKind::Relay => self.inner.events.emit(Event::PacketRelayed {
                        account: account.name.clone(),
                        delay_ms: 0,
                    }),
                    PacketKind::Cover => self.inner.events.emit(Event::CoverSent {
                        kind: "cover".into(),
                    }),
                    PacketKind::Message => self.inner.events.emit(Event::PacketSent {
                        message_id: p.message_id.map(|m| hex(&m)),
                        shard: None,
                        account: account.name.clone(),
                    }),
                }
            }
            Err(e) => {
                let detail = e.to_string();
                self.inner.events.emit(Event::TransportTrouble {
                    account: account.name.clone(),
                    detail: detail.clone(),
                });
                let store = lock(&self.inner.store);
                if e.is_temporary() || matches!(e, TransportError::Tls(_)) {
                    let backoff = (1000u64 << attempts.min(10)).min(15 * 60_000);
                    let retry_in = self.scaled_backoff(backoff);
                    let _ = store.mark_retry(
                        p.id,
                        &detail,
                        (self.inner.clock.now_ms() + retry_in) as i64,
                    );
                    drop(store);
                    if let (Some(id), PacketKind::Message) = (p.message_id, p.kind) {
                        self.note_mail_server_delay(&id, &detail, retry_in);
                    }
                } else {
                    let _ = store.mark_failed(p.id, &detail);
                    if let Some(id) = p.message_id {
                        let _ = store.record_delivery_event(
                            &id,
                            DeliveryState::Failed,
                            now_ms as i64,
                            Some(&detail),
                        );
                    }
                }
            }
        }
    }

    /// The carrier templates: `templates.toml` in the node home if present and valid, else
    /// the built-in set.
    fn carrier_templates(&self) -> CarrierTemplates {
        let path = self.inner.home.join("templates.toml");
        match std::fs::read_to_string(&path) {
            Ok(text) => match CarrierTemplates::from_toml(&text) {
                Ok(t) => t,
                Err(e) => {
                    tracing::error!(error = %e, path = %path.display(), "invalid carrier templates; using the built-in ones");
                    CarrierTemplates::default()
                }
            },
            Err(_) => CarrierTemplates::default(),
        }
    }

    /// Backoff is about real servers recovering, so it is real time expressed in protocol time.
    fn scaled_backoff(&self, real_ms: u64) -> u64 {
        (real_ms as f64 * self.inner.clock.factor()) as u64
    }
}
