//! In-band introductions: asking a known mail address for its descriptor in an
//! ordinary-looking mail, and answering such requests.
//!
//! The attachment is `kind (1) || length (2) || signed descriptor || random padding`, the same
//! size as a packet, so the mail looks like any carrier. It is not encrypted (the asker has no
//! key yet): the two providers involved can tell that both addresses run MailVortex. Invite
//! links avoid that and are preferred; this is for when only an address is known.
//! Stealth nodes never answer.

use mailvortex_proto::descriptor::PeerType;
use mailvortex_proto::packet::PACKET_LEN;
use mailvortex_store::{NewPacket, PacketKind};
use rand::RngCore;
use rand::rngs::OsRng;

use super::receive::Outcome;
use super::{Node, lock};
use crate::directory::check_descriptor;
use crate::error::{EngineError, Result};
use crate::events::Event;

const REQUEST: u8 = 0x51;
const RESPONSE: u8 = 0x52;

fn blob(kind: u8, descriptor: &[u8]) -> Result<Vec<u8>> {
    if descriptor.len() + 3 > PACKET_LEN {
        return Err(EngineError::Invalid(
            "descriptor too large for an introduction".into(),
        ));
    }
    let mut b = vec![0u8; PACKET_LEN];
    OsRng.fill_bytes(&mut b);
    b[0] = kind;
    b[1..3].copy_from_slice(&(descriptor.len() as u16).to_be_bytes());
    b[3..3 + descriptor.len()].copy_from_slice(descriptor);
    Ok(b)
}

fn parse(candidate: &[u8]) -> Option<(u8, &[u8])> {
    let kind = *candidate.first()?;
    if kind != REQUEST && kind != RESPONSE {
        return None;
    }
    let len = usize::from(u16::from_be_bytes([*candidate.get(1)?, *candidate.get(2)?]));
    Some((kind, candidate.get(3..3 + len)?))
}

impl Node {
    /// Asks `address` for its descriptor; the answer is imported when it arrives.
    pub fn request_descriptor(&self, address: &str) -> Result<()> {
        mailvortex_proto::descriptor::validate_address(address)?;
        let (_, mine) = self.descriptor()?;
        self.queue_introduction(address, REQUEST, &mine)?;
        lock(&self.inner.store).kv_set(&format!("asked:{}", address.to_ascii_lowercase()), &[])?;
        Ok(())
    }

    fn queue_introduction(&self, to: &str, kind: u8, descriptor: &[u8]) -> Result<()> {
        let packet = blob(kind, descriptor)?;
        let account = self.send_account()?;
        let now_ms = self.inner.clock.now_ms() as i64;
        lock(&self.inner.store).enqueue(&NewPacket {
            message_id: None,
            kind: PacketKind::Cover,
            account: &account,
            to_address: to,
            packet: &packet,
            not_before_ms: now_ms,
            created_ms: now_ms,
        })?;
        self.inner.wake_outbox.notify_one();
        Ok(())
    }

    /// Handles introduction attachments; `None` if there were none.
    pub(crate) fn handle_introduction(&self, candidates: &[Vec<u8>]) -> Result<Option<Outcome>> {
        let now = self.inner.clock.now_secs();
        for c in candidates {
            let Some((kind, bytes)) = parse(c) else {
                continue;
            };
            let Ok(d) = check_descriptor(bytes, now) else {
                continue;
            };
            if d.node_id == self.node_id() {
                continue;
            }
            let asked_key = format!("asked:{}", d.address.to_ascii_lowercase());
            match kind {
                REQUEST => {
                    if lock(&self.inner.config).peer_type() == PeerType::Stealth {
                        tracing::info!("stealth node: descriptor request not answered");
                        return Ok(Some(Outcome::Consumed));
                    }
                    self.remember_peer(&d, bytes)?;
                    let (_, mine) = self.descriptor()?;
                    self.queue_introduction(&d.address, RESPONSE, &mine)?;
                }
                _ => {
                    // Only answers to our own questions are taken.
                    if lock(&self.inner.store).kv_get(&asked_key)?.is_none() {
                        continue;
                    }
                    self.remember_peer(&d, bytes)?;
                    lock(&self.inner.store).kv_delete(&asked_key)?;
                }
            }
            self.inner.events.emit(Event::PeerIntroduced {
                node_id: d.node_id.short(),
                answered: kind == REQUEST,
            });
            return Ok(Some(Outcome::Consumed));
        }
        Ok(None)
    }
}
