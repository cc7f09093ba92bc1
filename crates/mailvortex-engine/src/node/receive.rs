//! Receiving: carrier mails in, packets opened, effects stored, and only then mails deleted.

use std::collections::BTreeSet;

use mailvortex_carrier::{extract_packets, is_candidate};
use mailvortex_proto::message::{OpenedShard, Receipt, open_shard, rebuild};
use mailvortex_proto::packet::{
    DeliverKind, EpochKeyring, OpenedPacket, PACKET_LEN, Routing, open_packet,
};
use mailvortex_proto::surb::{SurbSecret, build_reply, open_reply};
use mailvortex_store::{DeliveryState, NewMessageIn, NewPacket, PacketKind, ShardAccept};
use rand::rngs::OsRng;

use super::compose::SurbMeta;
use super::{Node, lock};
use crate::api::hex;
use crate::config::AccountConfig;
use crate::directory::check_descriptor;
use crate::error::Result;
use crate::events::Event;
use crate::transport::MailReceiver;

/// What became of a mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Not ours (ordinary mail, or a candidate that did not authenticate): never touched.
    Foreign,
    /// A carrier whose effect is durably stored (or which was rejected): delete it.
    Consumed,
}

impl Node {
    fn reject(&self, reason: impl std::fmt::Display) {
        tracing::warn!(%reason, "carrier rejected");
        self.inner.events.emit(Event::PacketRejected {
            reason: reason.to_string(),
        });
    }

    /// Processes one mail. Returns `Consumed` only after its effect is committed.
    pub(crate) fn process_mail(&self, raw: &[u8]) -> Result<Outcome> {
        if !is_candidate(raw) {
            return Ok(Outcome::Foreign);
        }
        let Ok(candidates) = extract_packets(raw, PACKET_LEN) else {
            return Ok(Outcome::Foreign);
        };
        if candidates.is_empty() {
            return Ok(Outcome::Foreign);
        }
        let now = self.inner.clock.now_secs();
        let (_, difficulty) = self.difficulties();
        for candidate in &candidates {
            let opened = {
                let keys = lock(&self.inner.keys);
                let keyring = EpochKeyring {
                    node_id: keys.identity.node_id(),
                    epochs: keys.live_slice(now),
                    min_difficulty: difficulty,
                };
                open_packet(&keyring, candidate)
            };
            match opened {
                // Not a packet for us (junk, another node's, an introduction): look further.
                Err(
                    mailvortex_proto::Error::BadMac
                    | mailvortex_proto::Error::WeakKey
                    | mailvortex_proto::Error::Malformed { what: "packet", .. },
                ) => continue,
                Err(e) => {
                    self.reject(e);
                    return Ok(Outcome::Consumed);
                }
                Ok(p) => {
                    lock(&self.inner.load).record(self.inner.clock.now_ms());
                    return self.handle_opened(p);
                }
            }
        }
        if let Some(outcome) = self.handle_introduction(&candidates)? {
            return Ok(outcome);
        }
        self.reject("a carrier-sized attachment did not authenticate (tampered, or not for this node); left in the mailbox");
        Ok(Outcome::Foreign)
    }

    fn handle_opened(&self, opened: OpenedPacket) -> Result<Outcome> {
        let epoch = opened.epoch();
        let tag = *opened.replay_tag();
        let now_ms = self.inner.clock.now_ms();
        match opened.into_routing() {
            Routing::Forward(f) => {
                // No exit to arbitrary addresses: the next hop is a node we know, or the sender
                // proved it is one with its signed descriptor (an address proof, spec 6.3).
                let proven = f
                    .proof
                    .is_some_and(|p| p.verify(&f.next_address, now_ms / 1000).is_ok());
                let allowed = proven
                    || lock(&self.inner.config).forward_to_unknown
                    || self.is_known_address(&f.next_address)?;
                if !allowed {
                    lock(&self.inner.store).check_and_insert_replay_tag(epoch, &tag)?;
                    self.reject(if f.proof.is_some() {
                        "next hop's address proof is invalid or expired (no exit to arbitrary addresses)"
                    } else {
                        "next hop is not a known MailVortex node and the packet carries no address proof (no exit to arbitrary addresses)"
                    });
                    return Ok(Outcome::Consumed);
                }
                let account = self.send_account()?;
                let queued = lock(&self.inner.store).accept_relay(
                    epoch,
                    &tag,
                    &NewPacket {
                        message_id: None,
                        kind: PacketKind::Relay,
                        account: &account,
                        to_address: &f.next_address,
                        packet: &f.packet,
                        not_before_ms: (now_ms + u64::from(f.delay_ms)) as i64,
                        created_ms: now_ms as i64,
                    },
                )?;
                match queued {
                    Some(_) => {
                        self.inner.events.emit(Event::PacketQueuedForRelay {
                            delay_ms: f.delay_ms,
                        });
                        self.inner.wake_outbox.notify_one();
                    }
                    None => self.reject("replayed packet"),
                }
                Ok(Outcome::Consumed)
            }
            Routing::Deliver {
                kind: DeliverKind::Message,
                payload,
            } => self.accept_shard(epoch, &tag, &payload),
            Routing::Deliver {
                kind: DeliverKind::Reply(id),
                payload,
            } => self.accept_reply(epoch, &tag, &id, &payload),
        }
    }

    fn is_known_address(&self, address: &str) -> Result<bool> {
        Ok(lock(&self.inner.store)
            .peers()?
            .iter()
            .any(|p| p.address.eq_ignore_ascii_case(address)))
    }

    /// Opens a shard with whichever of our epoch keys it was sealed to.
    fn open_any_epoch(
        &self,
        payload: &[u8],
    ) -> std::result::Result<OpenedShard, mailvortex_proto::Error> {
        let keys = lock(&self.inner.keys);
        let mut last = mailvortex_proto::Error::EndToEndAuth("shard");
        for e in keys.epochs.iter().rev() {
            match open_shard(e, payload) {
                Ok(s) => return Ok(s),
                Err(err) => last = err,
            }
        }
        Err(last)
    }

    fn accept_shard(&self, epoch: u32, tag: &[u8; 32], payload: &[u8]) -> Result<Outcome> {
        let now_ms = self.inner.clock.now_ms() as i64;
        let shard = match self.open_any_epoch(payload) {
            Ok(s) => s,
            Err(e) => {
                lock(&self.inner.store).check_and_insert_replay_tag(epoch, tag)?;
                self.reject(format!("shard dropped: {e}"));
                return Ok(Outcome::Consumed);
            }
        };
        let id = shard.message_id;
        let done = lock(&self.inner.store)
            .kv_get(&format!("done:{}", hex(&id)))?
            .is_some();
        if done {
            // The message is complete: a fresh packet is a late duplicate, a seen one a replay.
            if !lock(&self.inner.store).check_and_insert_replay_tag(epoch, tag)? {
                self.reject("replayed packet");
            }
            return Ok(Outcome::Consumed);
        }
        let accepted = lock(&self.inner.store).accept_shard(
            epoch,
            tag,
            &id,
            u32::from(shard.index),
            payload,
            now_ms,
        )?;
        let count = match accepted {
            ShardAccept::Replayed => {
                self.reject("replayed packet");
                return Ok(Outcome::Consumed);
            }
            ShardAccept::Duplicate { count } | ShardAccept::New { count } => count,
        };
        self.inner.events.emit(Event::ShardReceived {
            message_id: hex(&id),
            have: count as usize,
            needed: usize::from(shard.k),
        });
        if count >= u32::from(shard.k) {
            self.complete_message(&id)?;
        }
        Ok(Outcome::Consumed)
    }

    fn complete_message(&self, id: &[u8; 16]) -> Result<()> {
        let stored = lock(&self.inner.store).shards(id)?;
        let count = stored.len();
        let opened: Vec<OpenedShard> = stored
            .iter()
            .filter_map(|s| self.open_any_epoch(&s.data).ok())
            .collect();
        let msg = match rebuild(&opened) {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!(error = %e, "message could not be rebuilt yet");
                return Ok(());
            }
        };
        let now_ms = self.inner.clock.now_ms();
        // Learn (or refresh) the sender's descriptor if it is theirs.
        let known_before = lock(&self.inner.store)
            .peer(&msg.sender.node_id.0)?
            .is_some();
        if let Some(bytes) = &msg.envelope.sender_descriptor
            && let Ok(d) = check_descriptor(bytes, now_ms / 1000)
            && msg.sender_matches(&d)
            && d.node_id != self.node_id()
        {
            lock(&self.inner.store).upsert_peer(&d.node_id.0, &d.address, bytes, now_ms as i64)?;
        }
        let body = msg.envelope.encode()?;
        // The receipt is built first and queued in the same transaction that stores the
        // message: a crash in between cannot leave a delivered message without its receipt.
        let stealth =
            lock(&self.inner.config).peer_type() == mailvortex_proto::descriptor::PeerType::Stealth;
        let receipt = match &msg.envelope.receipt_surb {
            Some(_) if stealth && !known_before => {
                tracing::info!("stealth node: no receipt to an unknown sender");
                None
            }
            Some(surb) => {
                let receipt = Receipt {
                    message_id: *id,
                    shards_received: count.min(usize::from(u16::MAX)) as u16,
                };
                match (
                    build_reply(surb, &receipt.encode(), &mut OsRng),
                    self.send_account(),
                ) {
                    (Ok((first_hop, packet)), Ok(account)) => Some((first_hop, packet, account)),
                    (Err(e), _) => {
                        tracing::warn!(error = %e, "unusable receipt reply block");
                        None
                    }
                    (_, Err(e)) => {
                        tracing::warn!(error = %e, "no account to send the receipt from");
                        None
                    }
                }
            }
            None => None,
        };
        let receipt_rows: Vec<NewPacket<'_>> = receipt
            .iter()
            .map(|(first_hop, packet, account)| NewPacket {
                message_id: None,
                kind: PacketKind::Message,
                account,
                to_address: first_hop,
                packet,
                not_before_ms: now_ms as i64,
                created_ms: now_ms as i64,
            })
            .collect();
        let done_key = format!("done:{}", hex(id));
        let new = {
            let store = lock(&self.inner.store);
            let new = store.complete_inbound_with(
                &NewMessageIn {
                    message_id: *id,
                    from_node_id: Some(msg.sender.node_id.0),
                    received_ms: now_ms as i64,
                    body: &body,
                },
                &[(&done_key, &[])],
                &receipt_rows,
            )?;
            if !new {
                // Stored by an earlier run: make sure later shards see it as done.
                store.kv_set(&done_key, &[])?;
            }
            new
        };
        if !new {
            return Ok(());
        }
        self.inner.events.emit(Event::MessageReceived {
            message_id: hex(id),
            from: msg.sender.node_id.short(),
            subject_len: msg.envelope.content.subject.len(),
        });
        if !receipt_rows.is_empty() {
            self.inner.wake_outbox.notify_one();
        }
        Ok(())
    }

    fn accept_reply(
        &self,
        epoch: u32,
        tag: &[u8; 32],
        id: &[u8; 16],
        payload: &[u8],
    ) -> Result<Outcome> {
        let key = format!("surb:{}", hex(id));
        let sealed = lock(&self.inner.store).kv_get(&key)?;
        let secret = sealed
            .as_deref()
            .and_then(|s| self.open_local(s))
            .and_then(|p| SurbSecret::decode(&p).ok());
        let Some(secret) = secret else {
            lock(&self.inner.store).check_and_insert_replay_tag(epoch, tag)?;
            self.reject("reply through an unknown or used reply block");
            return Ok(Outcome::Consumed);
        };
        let content = match open_reply(&secret, payload) {
            Ok(c) => c,
            Err(e) => {
                lock(&self.inner.store).check_and_insert_replay_tag(epoch, tag)?;
                self.reject(format!("reply dropped: {e}"));
                return Ok(Outcome::Consumed);
            }
        };
        let meta: Option<SurbMeta> = lock(&self.inner.store)
            .kv_get(&format!("surbmeta:{}", hex(id)))?
            .and_then(|b| serde_json::from_slice(&b).ok());
        let now_ms = self.inner.clock.now_ms() as i64;
        // Effects first, then the reply block is forgotten, then the replay tag: a crash at any
        // point leaves either the whole effect or a re-fetch that repeats it idempotently.
        if let Some(meta) = &meta {
            self.credit_relays(&meta.relays, now_ms)?;
            if let Some(msg) = meta.purpose.strip_prefix("receipt:") {
                if let (Ok(receipt), Some(mid)) =
                    (Receipt::decode(&content), crate::api::parse_message_id(msg))
                    && receipt.message_id == mid
                {
                    let already = lock(&self.inner.store)
                        .message_out(&mid)?
                        .is_some_and(|m| m.state == DeliveryState::Delivered);
                    if !already {
                        let store = lock(&self.inner.store);
                        store.record_delivery_event(
                            &mid,
                            DeliveryState::Delivered,
                            now_ms,
                            Some(&format!(
                                "receipt: {} shards arrived",
                                receipt.shards_received
                            )),
                        )?;
                        store.kv_delete(&format!("sendmeta:{msg}"))?;
                        drop(store);
                        self.drop_sealed(&mid)?;
                        self.inner.events.emit(Event::MessageDelivered {
                            message_id: msg.to_string(),
                        });
                    }
                }
            } else if meta.purpose == "loop" {
                self.inner.events.emit(Event::LoopReturned);
            }
        }
        {
            let store = lock(&self.inner.store);
            store.kv_delete(&key)?;
            store.kv_delete(&format!("surbmeta:{}", hex(id)))?;
            if !store.check_and_insert_replay_tag(epoch, tag)? {
                drop(store);
                self.reject("replayed packet");
            }
        }
        Ok(Outcome::Consumed)
    }

    pub(crate) fn credit_relays(&self, relays: &[String], now_ms: i64) -> Result<()> {
        let store = lock(&self.inner.store);
        for r in relays {
            if let Ok(id) = mailvortex_proto::identity::NodeId::from_hex(r) {
                let _ = store.record_peer_success(&id.0, now_ms);
            }
        }
        Ok(())
    }

    pub(crate) fn drop_sealed(&self, id: &[u8; 16]) -> Result<()> {
        let store = lock(&self.inner.store);
        let mut i = 0;
        while store.kv_delete(&super::compose::sealed_key(id, i))? {
            i += 1;
        }
        Ok(())
    }

    /// The receive loop of one account: list, fetch new mails, process, delete consumed ones, wait.
    pub(crate) async fn receive_loop(
        self,
        account: AccountConfig,
        mut receiver: Box<dyn MailReceiver>,
        mut stop: tokio::sync::watch::Receiver<bool>,
    ) {
        let foreign_key = |generation: u32| format!("foreign:{}:{generation}", account.name);
        let mut generation = receiver.generation();
        let mut foreign: BTreeSet<u32> = self.load_foreign(&foreign_key(generation));
        let poll = self
            .inner
            .clock
            .real_duration(lock(&self.inner.config).poll_seconds * 1000)
            .max(std::time::Duration::from_millis(20));
        let mut backoff = std::time::Duration::from_millis(200);
        // After consuming mail, poll every BURST_POLL for BURST before going back to IDLE.
        const BURST: std::time::Duration = std::time::Duration::from_secs(2);
        const BURST_POLL: std::time::Duration = std::time::Duration::from_millis(100);
        let mut busy_until = std::time::Instant::now();
        loop {
            if *stop.borrow() {
                return;
            }
            // Ok(true): mails were consumed, so look again at once: mail that arrived while
            // this round ran was already announced to the session, and an IDLE started now
            // would not report it before the next arrival or the poll timeout.
            let round: Result<bool, crate::transport::TransportError> = async {
                let mut any_consumed = false;
                if receiver.generation() != generation {
                    generation = receiver.generation();
                    foreign = self.load_foreign(&foreign_key(generation));
                }
                let uids = receiver.list().await?;
                foreign.retain(|u| uids.contains(u));
                let fresh: Vec<u32> = uids.into_iter().filter(|u| !foreign.contains(u)).collect();
                for chunk in fresh.chunks(16) {
                    let mails = receiver.fetch(chunk).await?;
                    let mut consumed = Vec::new();
                    for m in mails {
                        match self.process_mail(&m.raw) {
                            Ok(Outcome::Consumed) => consumed.push(m.uid),
                            Ok(Outcome::Foreign) => {
                                foreign.insert(m.uid);
                            }
                            Err(e) => tracing::error!(error = %e, "processing a mail failed; it stays in the mailbox"),
                        }
                    }
                    any_consumed |= !consumed.is_empty();
                    receiver.delete(&consumed).await?;
                }
                self.save_foreign(&foreign_key(generation), &foreign);
                Ok(any_consumed)
            }
            .await;
            match round {
                Ok(true) => {
                    backoff = std::time::Duration::from_millis(200);
                    busy_until = std::time::Instant::now() + BURST;
                }
                Ok(false) if std::time::Instant::now() < busy_until => {
                    // Carriers come in bursts (a message is many packets): right after one,
                    // look again shortly instead of waiting for IDLE, which servers report
                    // late (Dovecot: 0.5 s after delivery) and which would cost that much per
                    // hop and per batch.
                    tokio::select! {
                        _ = tokio::time::sleep(BURST_POLL.min(poll)) => {}
                        _ = stop.changed() => {}
                    }
                }
                Ok(false) => {
                    backoff = std::time::Duration::from_millis(200);
                    tokio::select! {
                        r = receiver.wait(poll) => if let Err(e) = r { tracing::debug!(error = %e, "wait") },
                        _ = stop.changed() => {}
                    }
                }
                Err(e) => {
                    self.inner.events.emit(Event::TransportTrouble {
                        account: account.name.clone(),
                        detail: e.to_string(),
                    });
                    tokio::select! {
                        _ = tokio::time::sleep(backoff) => {}
                        _ = stop.changed() => {}
                    }
                    backoff = (backoff * 2).min(std::time::Duration::from_secs(60));
                }
            }
        }
    }

    fn load_foreign(&self, key: &str) -> BTreeSet<u32> {
        lock(&self.inner.store)
            .kv_get(key)
            .ok()
            .flatten()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    fn save_foreign(&self, key: &str, set: &BTreeSet<u32>) {
        if let Ok(b) = serde_json::to_vec(set)
            && let Err(e) = lock(&self.inner.store).kv_set(key, &b)
        {
            tracing::warn!(error = %e, "could not remember foreign mails");
        }
    }
}
