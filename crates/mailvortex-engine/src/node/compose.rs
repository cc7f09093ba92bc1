//! Sending: plan routes, seal, build packets, queue them durably.

use mailvortex_proto::descriptor::Descriptor;
use mailvortex_proto::level::LevelParams;
use mailvortex_proto::message::{Envelope, MessageContent, SenderKeys, seal_message};
use mailvortex_proto::packet::{HopSpec, PAYLOAD_LEN, build_packet};
use mailvortex_proto::route::{RelayCandidate, RouteEnds, plan_paths};
use mailvortex_proto::send::{hops_for, sample_delay_ms};
use mailvortex_proto::surb::create_surb;
use mailvortex_store::{DeliveryState, NewMessageOut, NewPacket, PacketKind};
use rand::rngs::OsRng;
use serde::{Deserialize, Serialize};

use super::{Node, lock};
use crate::api::{SendRequest, hex};
use crate::error::{EngineError, Result};
use crate::events::Event;

/// Bookkeeping for a message we sent, kept until its receipt arrives or we give up.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct SendMeta {
    pub(crate) to: String,
    pub(crate) level: String,
    pub(crate) n: usize,
    pub(crate) k: usize,
    pub(crate) attempt: u32,
    pub(crate) deadline_ms: u64,
    pub(crate) relays: Vec<String>,
}

/// What a reply block we made is for.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct SurbMeta {
    pub(crate) purpose: String,
    pub(crate) relays: Vec<String>,
}

/// Where a sent message's subject is kept (sealed with the node's local key).
pub(crate) fn subject_key(id: &[u8; 16]) -> String {
    format!("subject:{}", hex(id))
}

/// The outbox rows of a message's packets (`(first hop, packet)`), to leave from `now_ms` on.
pub(crate) fn message_rows<'a>(
    id: &[u8; 16],
    account: &'a str,
    packets: &'a [(String, Vec<u8>)],
    now_ms: u64,
) -> Vec<NewPacket<'a>> {
    packets
        .iter()
        .map(|(first_hop, packet)| NewPacket {
            message_id: Some(*id),
            kind: PacketKind::Message,
            account,
            to_address: first_hop,
            packet,
            not_before_ms: now_ms as i64,
            created_ms: now_ms as i64,
        })
        .collect()
}

pub(crate) fn sealed_key(id: &[u8; 16], index: usize) -> String {
    format!("sealed:{}:{index}", hex(id))
}

impl Node {
    /// Usable relays (public, checked, not avoided) other than `exclude`.
    pub(crate) fn relay_pool(&self, exclude: &[&Descriptor]) -> Result<Vec<Descriptor>> {
        let me = self.node_id();
        Ok(self
            .known_descriptors(true)?
            .into_iter()
            .filter(|d| {
                d.peer_type.relays()
                    && d.node_id != me
                    && !exclude.iter().any(|x| x.node_id == d.node_id)
            })
            .collect())
    }

    /// Plans the paths of a message of `packets` packets between `from` and `to`
    /// (provider-aware, [`LevelParams::paths_for`] of them). When the relays recently avoided
    /// leave `pool` too small for the level, it plans over every checked relay instead: a
    /// path through a relay that may be slow beats no path.
    pub(crate) fn plan(
        &self,
        level: &LevelParams,
        packets: usize,
        from: &Descriptor,
        to: &Descriptor,
        pool: &[Descriptor],
    ) -> Result<Vec<Vec<Descriptor>>> {
        let mut spread = *level;
        spread.parallel_paths = level.paths_for(packets);
        let (fp, tp) = (from.provider(), to.provider());
        let ends = RouteEnds {
            sender: (&from.node_id, &fp),
            recipient: (&to.node_id, &tp),
        };
        let cands: Vec<RelayCandidate> = pool.iter().map(RelayCandidate::from).collect();
        let (planned, pool) = match plan_paths(&spread, &ends, &cands, &mut OsRng) {
            Ok(planned) => (planned, pool.to_vec()),
            Err(mailvortex_proto::Error::Route(_)) => {
                let me = self.node_id();
                let all: Vec<Descriptor> = self
                    .known_descriptors(false)?
                    .into_iter()
                    .filter(|d| d.peer_type.relays() && d.node_id != me)
                    .collect();
                let cands: Vec<RelayCandidate> = all.iter().map(RelayCandidate::from).collect();
                (plan_paths(&spread, &ends, &cands, &mut OsRng)?, all)
            }
            Err(e) => return Err(e.into()),
        };
        Ok(planned
            .into_iter()
            .map(|p| {
                p.relays
                    .iter()
                    .filter_map(|id| pool.iter().find(|d| d.node_id == *id).cloned())
                    .collect()
            })
            .collect())
    }

    /// Queues a message; returns its id (hex). Packets leave when [`Node::run`] is running.
    pub fn send(&self, req: SendRequest) -> Result<String> {
        let mean_delay_ms = req.level.params().mean_delay_ms;
        self.send_with_mean_delay(req, mean_delay_ms)
    }

    /// [`Node::send`] with the level's mean mixing delay replaced by `mean_delay_ms`, for
    /// benchmarks and tests (0: through the level's relays without mixing delays; the
    /// receipt's way back too). Retransmissions, if any, use the level's own delays.
    pub fn send_with_mean_delay(&self, req: SendRequest, mean_delay_ms: u64) -> Result<String> {
        let now = self.inner.clock.now_secs();
        let now_ms = self.inner.clock.now_ms();
        let mut level = req.level.params();
        level.mean_delay_ms = mean_delay_ms;
        let recipient = self
            .known_descriptors(false)?
            .into_iter()
            .find(|d| d.address.eq_ignore_ascii_case(&req.to))
            .ok_or_else(|| EngineError::UnknownRecipient(req.to.clone()))?;
        let (me, my_signed) = self.descriptor()?;
        let account = self.send_account()?;
        let pool = self.relay_pool(&[&recipient, &me])?;

        // The receipt comes back through a reply block over the level's relays.
        let back = self
            .plan(&level, 1, &recipient, &me, &pool)?
            .into_iter()
            .next()
            .unwrap_or_default();
        let back_refs: Vec<&Descriptor> = back.iter().collect();
        let mut back_hops = hops_for(&back_refs, &me, now)?;
        for h in back_hops.iter_mut().rev().skip(1) {
            h.delay_ms = sample_delay_ms(level.mean_delay_ms, &mut OsRng);
        }
        let (surb, surb_secret) = create_surb(&back_hops, &mut OsRng)?;

        let envelope = Envelope {
            created_at: now,
            level: req.level,
            content: MessageContent {
                subject: req.subject,
                file_name: req.file_name,
                body: req.body,
            },
            sender_descriptor: Some(my_signed),
            receipt_surb: Some(surb),
            reply_surb: None,
        };
        let recipient_epoch = recipient
            .epoch_for(now)
            .ok_or(mailvortex_proto::Error::Expired {
                what: "recipient's epoch key (ask them for a fresh invite)",
                from: 0,
                until: 0,
                now,
            })?;
        let sealed = {
            let keys = lock(&self.inner.keys);
            let epoch = keys
                .live_epochs(now)
                .into_iter()
                .next()
                .ok_or(EngineError::Invalid("no live epoch key".into()))?;
            seal_message(
                SenderKeys {
                    node_id: me.node_id,
                    epoch,
                },
                recipient_epoch,
                &envelope,
                level.redundancy,
                &mut OsRng,
            )?
        };
        let id = sealed.message_id;
        let paths = self.plan(&level, sealed.payloads.len(), &me, &recipient, &pool)?;
        let packets = build_shard_packets(
            &level,
            &paths,
            &recipient,
            &sealed.payloads.iter().map(|p| &**p).collect::<Vec<_>>(),
            now,
        )?;
        // Each relay once (a big message crosses the same relays on many of its paths).
        let relays: Vec<String> = paths
            .iter()
            .flatten()
            .chain(back.iter())
            .map(|d| d.node_id.to_hex())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        let meta = SendMeta {
            to: recipient.address.clone(),
            level: req.level.to_string(),
            n: sealed.n,
            k: sealed.k,
            attempt: 0,
            deadline_ms: now_ms + self.receipt_wait_ms(&level),
            relays: relays.clone(),
        };
        let surb_meta = SurbMeta {
            purpose: format!("receipt:{}", hex(&id)),
            relays,
        };
        {
            let surb_key = format!("surb:{}", hex(&surb_secret.id));
            let surb_meta_key = format!("surbmeta:{}", hex(&surb_secret.id));
            let send_meta_key = format!("sendmeta:{}", hex(&id));
            let sealed_surb = self.seal_local(&surb_secret.encode());
            // The subject, for the sender's own outbox, sealed like everything it keeps.
            let subject_key = subject_key(&id);
            let sealed_subject = self.seal_local(envelope.content.subject.as_bytes());
            let (surb_meta, meta) = (json(&surb_meta)?, json(&meta)?);
            let shard_keys: Vec<String> = (0..sealed.payloads.len())
                .map(|i| sealed_key(&id, i))
                .collect();
            let mut values: Vec<(&str, &[u8])> = vec![
                (&surb_key, &sealed_surb),
                (&surb_meta_key, &surb_meta),
                (&send_meta_key, &meta),
                (&subject_key, &sealed_subject),
            ];
            values.extend(
                shard_keys
                    .iter()
                    .map(String::as_str)
                    .zip(sealed.payloads.iter().map(|p| &p[..])),
            );
            let rows = message_rows(&id, &account, &packets, now_ms);
            let store = lock(&self.inner.store);
            // One transaction: the message, its bookkeeping and every packet, or nothing.
            store.queue_outgoing(
                &NewMessageOut {
                    message_id: id,
                    to_address: &recipient.address,
                    level: req.level.as_str(),
                    size: envelope.content.body.len() as u64,
                    created_ms: now_ms as i64,
                },
                &values,
                &rows,
            )?;
            store.record_delivery_event(
                &id,
                DeliveryState::Queued,
                now_ms as i64,
                Some(&format!(
                    "{} packets, any {} rebuild it",
                    sealed.n, sealed.k
                )),
            )?;
        }
        self.inner.events.emit(Event::MessageQueued {
            message_id: hex(&id),
            packets: sealed.n,
            needed: sealed.k,
            level: req.level.to_string(),
        });
        self.inner.wake_outbox.notify_one();
        Ok(hex(&id))
    }

    /// The account used for sending (the first with SMTP).
    pub(crate) fn send_account(&self) -> Result<String> {
        lock(&self.inner.config)
            .accounts
            .iter()
            .find(|a| a.smtp.is_some())
            .map(|a| a.name.clone())
            .ok_or(EngineError::NoAccount("to send mail"))
    }
}

pub(crate) fn json<T: Serialize>(v: &T) -> Result<Vec<u8>> {
    serde_json::to_vec(v).map_err(|e| EngineError::Invalid(e.to_string()))
}

/// Wraps each sealed payload for its path (shard `i` on path `i mod paths`), with fresh delays.
pub(crate) fn build_shard_packets(
    level: &LevelParams,
    paths: &[Vec<Descriptor>],
    recipient: &Descriptor,
    payloads: &[&[u8; PAYLOAD_LEN]],
    now: u64,
) -> Result<Vec<(String, Vec<u8>)>> {
    let hop_lists: Vec<Vec<HopSpec<'_>>> = paths
        .iter()
        .map(|p| hops_for(&p.iter().collect::<Vec<_>>(), recipient, now))
        .collect::<std::result::Result<_, _>>()?;
    let mut out = Vec::with_capacity(payloads.len());
    for (i, payload) in payloads.iter().enumerate() {
        let mut hops = hop_lists[i % hop_lists.len().max(1)].clone();
        let last = hops.len() - 1;
        for h in &mut hops[..last] {
            h.delay_ms = sample_delay_ms(level.mean_delay_ms, &mut OsRng);
        }
        out.push((
            hops[0].address.to_string(),
            build_packet(&hops, payload, &mut OsRng)?,
        ));
    }
    Ok(out)
}
