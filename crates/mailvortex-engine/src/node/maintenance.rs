//! Background duties: running the loops, retransmitting over fresh paths, cover traffic,
//! key rotation.

use std::collections::HashMap;
use std::sync::Arc;

use mailvortex_proto::descriptor::Descriptor;
use mailvortex_proto::level::LevelName;
use mailvortex_proto::packet::{HopSpec, PAYLOAD_LEN, build_packet};
use mailvortex_proto::send::{hops_for, sample_delay_ms};
use mailvortex_proto::surb::{build_reply, create_surb};
use mailvortex_store::{NewPacket, PacketKind};
use rand::rngs::OsRng;
use rand::{Rng, RngCore};

use super::compose::{SurbMeta, json};
use super::{Node, TransportChoice, lock};
use crate::api::{hex, parse_message_id};
use crate::error::{EngineError, Result};
use crate::events::Event;
use crate::transport::imap::{ImapReceiver, ImapSettings};
use crate::transport::smtp::{SmtpSender, SmtpSettings};
use crate::transport::{MailReceiver, MailSender};

impl Node {
    /// Runs the node until `stop` turns true: receive loops per account, the outbox, retransmission,
    /// cover traffic and key rotation.
    pub async fn run(&self, stop: tokio::sync::watch::Receiver<bool>) -> Result<()> {
        if self.inner.home_lock.is_none() {
            return Err(EngineError::Invalid(format!(
                "another process is already running the node in {}",
                self.inner.home.display()
            )));
        }
        let accounts = lock(&self.inner.config).accounts.clone();
        if accounts.is_empty() {
            return Err(EngineError::NoAccount("at all"));
        }
        let _ = lock(&self.inner.store).recover_interrupted()?;
        let mut senders: HashMap<String, Arc<dyn MailSender>> = HashMap::new();
        let mut tasks = tokio::task::JoinSet::new();
        for account in &accounts {
            let ca = match &account.ca_file {
                Some(p) => Some(crate::transport::tls::load_ca_pem(p)?),
                None => None,
            };
            if let Some(smtp) = &account.smtp {
                let sender: Arc<dyn MailSender> = match &self.inner.transport {
                    TransportChoice::Memory(p) => Arc::new(p.sender()),
                    TransportChoice::Accounts => Arc::new(SmtpSender::new(
                        &SmtpSettings {
                            host: smtp.host.clone(),
                            port: smtp.port,
                            security: smtp.security,
                            username: account.username.clone(),
                            ca_pem: ca.clone(),
                            connect_ip: smtp.connect_ip.clone(),
                        },
                        self.account_password(&account.name)?,
                    )?),
                };
                senders.insert(account.name.clone(), sender);
            }
            if let Some(imap) = &account.imap {
                let receiver: Box<dyn MailReceiver> = match &self.inner.transport {
                    TransportChoice::Memory(p) => Box::new(p.receiver(&account.address)),
                    TransportChoice::Accounts => {
                        let settings = ImapSettings {
                            host: imap.host.clone(),
                            port: imap.port,
                            security: imap.security,
                            username: account.username.clone(),
                            ca_pem: ca.clone(),
                            connect_ip: imap.connect_ip.clone(),
                        };
                        Box::new(
                            connect_with_retry(
                                settings,
                                self.account_password(&account.name)?,
                                stop.clone(),
                            )
                            .await?,
                        )
                    }
                };
                tasks.spawn(
                    self.clone()
                        .receive_loop(account.clone(), receiver, stop.clone()),
                );
            }
        }
        tasks.spawn(self.clone().outbox_loop(senders, stop.clone()));
        tasks.spawn(self.clone().duty_loop(stop.clone()));
        tasks.spawn(self.clone().cover_loop(stop.clone()));
        while let Some(r) = tasks.join_next().await {
            if let Err(e) = r {
                tracing::error!(error = %e, "a node task ended abnormally");
            }
        }
        Ok(())
    }

    /// Once a protocol minute: rotate keys, retransmit overdue messages.
    async fn duty_loop(self, mut stop: tokio::sync::watch::Receiver<bool>) {
        loop {
            if *stop.borrow() {
                return;
            }
            if let Err(e) = self.rotate_keys() {
                tracing::error!(error = %e, "key rotation failed");
            }
            if let Err(e) = self.retransmit_overdue() {
                tracing::error!(error = %e, "retransmission failed");
            }
            tokio::select! {
                _ = self.inner.clock.sleep(60_000) => {}
                _ = stop.changed() => {}
            }
        }
    }

    fn rotate_keys(&self) -> Result<()> {
        let now = self.inner.clock.now_secs();
        let mut keys = lock(&self.inner.keys);
        let mut vault = lock(&self.inner.vault);
        if keys.rotate(&mut vault, now)?
            && let Some(oldest) = keys.epochs.iter().map(|e| e.public.epoch).min()
        {
            lock(&self.inner.store).prune_replay_tags(oldest)?;
        }
        Ok(())
    }

    /// Cover traffic: loops (out through relays and back to us) and drops (to a relay that
    /// discards them), as a Poisson process at the configured rate, within the send budget.
    async fn cover_loop(self, mut stop: tokio::sync::watch::Receiver<bool>) {
        loop {
            let rate = lock(&self.inner.config).cover_packets_per_day;
            let wait_ms = if rate == 0 {
                3_600_000
            } else {
                let u: f64 = OsRng.gen_range(f64::EPSILON..1.0);
                (-(86_400_000.0 / f64::from(rate)) * u.ln()) as u64
            };
            tokio::select! {
                _ = self.inner.clock.sleep(wait_ms.max(1)) => {}
                _ = stop.changed() => {}
            }
            if *stop.borrow() {
                return;
            }
            if rate > 0
                && let Err(e) = self.send_cover()
            {
                tracing::debug!(error = %e, "no cover packet this time");
            }
        }
    }

    /// Sends one cover packet if the budget allows (cover never uses more than 80 % of it).
    pub fn send_cover(&self) -> Result<()> {
        let now_ms = self.inner.clock.now_ms();
        let now = now_ms / 1000;
        let account = self.send_account()?;
        let budget = lock(&self.inner.config)
            .accounts
            .iter()
            .find(|a| a.name == account)
            .map(|a| a.daily_send_budget)
            .unwrap_or(0);
        let used = lock(&self.inner.store).sends_since(&account, now_ms as i64 - 86_400_000)?;
        if used * 5 >= u64::from(budget) * 4 {
            return Err(EngineError::Invalid("cover skipped: send budget".into()));
        }
        let (me, _) = self.descriptor()?;
        let pool = self.relay_pool(&[&me])?;
        let level = LevelName::Standard.params();
        let path = self
            .plan(&level, 1, &me, &me, &pool)?
            .into_iter()
            .next()
            .unwrap_or_default();
        if path.is_empty() {
            return Err(EngineError::Invalid("cover needs relays".into()));
        }
        let refs: Vec<&Descriptor> = path.iter().collect();
        let (first_hop, packet, kind) = if OsRng.gen_bool(0.5) {
            // Loop: a reply block to ourselves, used at once.
            let mut hops = hops_for(&refs, &me, now)?;
            randomize_delays(&mut hops, level.mean_delay_ms);
            let (surb, secret) = create_surb(&hops, &mut OsRng)?;
            let meta = SurbMeta {
                purpose: "loop".into(),
                relays: path.iter().map(|d| d.node_id.to_hex()).collect(),
            };
            {
                let store = lock(&self.inner.store);
                store.kv_set(
                    &format!("surb:{}", hex(&secret.id)),
                    &self.seal_local(&secret.encode()),
                )?;
                store.kv_set(&format!("surbmeta:{}", hex(&secret.id)), &json(&meta)?)?;
            }
            let (first, packet) = build_reply(&surb, &[], &mut OsRng)?;
            (first, packet, "loop")
        } else {
            // Drop: the last relay is the destination and discards the random payload.
            let (dest, relays) = refs
                .split_last()
                .ok_or_else(|| EngineError::Invalid("empty path".into()))?;
            let mut hops: Vec<HopSpec<'_>> = hops_for(relays, dest, now)?;
            randomize_delays(&mut hops, level.mean_delay_ms);
            let mut payload = Box::new([0u8; PAYLOAD_LEN]);
            OsRng.fill_bytes(&mut payload[..]);
            (
                hops[0].address.to_string(),
                build_packet(&hops, &payload, &mut OsRng)?,
                "drop",
            )
        };
        lock(&self.inner.store).enqueue(&NewPacket {
            message_id: None,
            kind: PacketKind::Cover,
            account: &account,
            to_address: &first_hop,
            packet: &packet,
            not_before_ms: now_ms as i64,
            created_ms: now_ms as i64,
        })?;
        self.inner
            .events
            .emit(Event::CoverSent { kind: kind.into() });
        self.inner.wake_outbox.notify_one();
        Ok(())
    }

    /// Whether a message id refers to a message we sent.
    pub fn is_outgoing(&self, message_id: &str) -> bool {
        parse_message_id(message_id).is_some_and(|id| {
            lock(&self.inner.store)
                .message_out(&id)
                .ok()
                .flatten()
                .is_some()
        })
    }
}

fn randomize_delays(hops: &mut [HopSpec<'_>], mean_ms: u64) {
    let n = hops.len();
    for h in hops.iter_mut().take(n.saturating_sub(1)) {
        h.delay_ms = sample_delay_ms(mean_ms, &mut OsRng);
    }
}

async fn connect_with_retry(
    settings: ImapSettings,
    password: zeroize::Zeroizing<String>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> Result<ImapReceiver> {
    let mut backoff = std::time::Duration::from_millis(500);
    loop {
        match ImapReceiver::connect(settings.clone(), password.clone()).await {
            Ok(r) => return Ok(r),
            Err(e) if e.is_temporary() => {
                tracing::warn!(error = %e, "IMAP not reachable yet; retrying");
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    _ = stop.changed() => return Err(e.into()),
                }
                backoff = (backoff * 2).min(std::time::Duration::from_secs(60));
            }
            Err(e) => return Err(e.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use mailvortex_proto::level::LevelName;

    use super::super::compose::SendMeta;
    use super::lock;
    use crate::api::SendRequest;
    use crate::clock::Clock;
    use crate::localnet::LocalNetwork;

    fn meta(node: &super::Node, id: &str) -> SendMeta {
        let bytes = lock(&node.inner.store)
            .kv_get(&format!("sendmeta:{id}"))
            .expect("kv")
            .expect("send meta");
        serde_json::from_slice(&bytes).expect("json")
    }

    /// Moves the receipt deadline of `id` into the past.
    fn expire(node: &super::Node, id: &str) {
        let mut m = meta(node, id);
        m.deadline_ms = 0;
        lock(&node.inner.store)
            .kv_set(
                &format!("sendmeta:{id}"),
                &serde_json::to_vec(&m).expect("json"),
            )
            .expect("kv");
    }

    #[test]
    fn packets_still_waiting_to_leave_are_not_overdue() {
        let dir = tempfile::tempdir().expect("tempdir");
        let net = LocalNetwork::create(dir.path(), 4, 2, Clock::scaled(1.0)).expect("net");
        let alice = &net.users[0];
        // Nothing runs, so every packet stays in the outbox (as behind a daily budget).
        let id = alice
            .send(SendRequest {
                to: "bob@b.example".into(),
                subject: "s".into(),
                body: vec![7; 100_000],
                file_name: None,
                level: LevelName::Standard,
            })
            .expect("send");
        let m = meta(alice, &id);
        assert!(m.n >= 4 && m.attempt == 0);
        // The receipt deadline passes while the packets still wait.
        expire(alice, &id);
        alice.retransmit_overdue().expect("maintenance");
        let after = meta(alice, &id);
        assert_eq!(
            after.attempt, 0,
            "no retransmission while the first copy waits"
        );
        assert!(
            after.deadline_ms > alice.inner.clock.now_ms(),
            "timer re-armed"
        );
        let status = alice.status(&id).expect("status");
        assert!(status.timeline.iter().all(|e| e.state != "retry"));
        let message_id = crate::api::parse_message_id(&id).expect("id");
        {
            let store = lock(&alice.inner.store);
            assert_eq!(
                store.unsent_packets(&message_id).expect("count"),
                m.n as u64
            );
            // Now every packet leaves...
            for p in store.due(i64::MAX, 1000).expect("due") {
                store.mark_sending(p.id).expect("sending");
                store.mark_sent(p.id, 1).expect("sent");
            }
            assert_eq!(store.unsent_packets(&message_id).expect("count"), 0);
        }
        // ...and when the deadline passes without a receipt, the message goes again.
        expire(alice, &id);
        alice.retransmit_overdue().expect("maintenance");
        assert_eq!(
            meta(alice, &id).attempt,
            1,
            "retransmitted over fresh paths"
        );
    }
}
