//! Message vectors: envelope, sealing, erasure coding, shards, losses and rebuilding.

use anyhow::{Context, ensure};
use crypto_secretbox::aead::{Aead, KeyInit};
use crypto_secretbox::{Nonce, XSalsa20Poly1305};
use mailvortex_proto::descriptor::{Descriptor, Limits, PeerType};
use mailvortex_proto::level::{LevelName, Redundancy};
use mailvortex_proto::message::{
    Envelope, MessageContent, SHARD_LEN, SenderKeys, open_shard, rebuild, seal_message,
};
use mailvortex_proto::packet::{HopSpec, PAYLOAD_LEN};
use mailvortex_proto::surb::create_surb;
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};

use crate::crypto::{digest, fixed_seed, kdf, poly1305, repeat_pattern, x25519, x25519_public};
use crate::format::Vector;
use crate::nodes::{NOW, Node, current_epoch};
use crate::packet::expect_word;

/// The message body every message vector carries, repeated to the body length.
pub(crate) const BODY_PATTERN: &[u8] = b"Dear Bob, the quick brown fox jumps over the lazy dog. ";

/// XSalsa20-Poly1305 (NaCl secretbox): `tag || ciphertext`.
pub(crate) fn secretbox_seal(
    key: &[u8; 32],
    nonce: &[u8; 24],
    plain: &[u8],
) -> anyhow::Result<Vec<u8>> {
    XSalsa20Poly1305::new(key.into())
        .encrypt(Nonce::from_slice(nonce), plain)
        .map_err(|_| anyhow::anyhow!("secretbox seal"))
}

/// Opens a secretbox.
pub(crate) fn secretbox_open(
    key: &[u8; 32],
    nonce: &[u8],
    sealed: &[u8],
) -> anyhow::Result<Vec<u8>> {
    ensure!(nonce.len() == 24);
    XSalsa20Poly1305::new(key.into())
        .decrypt(Nonce::from_slice(nonce), sealed)
        .map_err(|_| anyhow::anyhow!("secretbox open"))
}

/// A message vector. Node 0 sends to node 1.
pub(crate) struct MessageCase {
    pub(crate) file: &'static str,
    pub(crate) description: &'static str,
    pub(crate) expect: &'static str,
    pub(crate) level: LevelName,
    pub(crate) redundancy: Redundancy,
    pub(crate) subject: &'static str,
    pub(crate) file_name: Option<&'static str>,
    pub(crate) body_len: usize,
    /// Put the sender's descriptor and two reply blocks into the envelope.
    pub(crate) extras: bool,
    /// Shard indices that never arrive.
    pub(crate) lost: Vec<usize>,
    /// `(shard index, offset, xor byte)` applied to a shard before it is opened.
    pub(crate) tamper: Option<(usize, usize, u8)>,
}

fn extras(sender: &Node) -> anyhow::Result<(Vec<u8>, [Vec<u8>; 2])> {
    let epoch = current_epoch();
    let descriptor = Descriptor {
        node_id: sender.id(),
        address: sender.address.clone(),
        peer_type: PeerType::Passive,
        puzzle_difficulty: 10,
        limits: Limits {
            packets_per_day: 2000,
            max_message_bytes: 64 << 20,
        },
        issued_at: NOW - 3600,
        expires_at: NOW + 14 * 86_400,
        epochs: vec![sender.epoch(epoch)?.public.clone()],
        address_proof: None,
    };
    let signed = descriptor.sign(&sender.identity)?;
    let relay = Node::new("message relay", "relay@relay.example", &[epoch], 0);
    let mut surbs = [Vec::new(), Vec::new()];
    for (i, s) in surbs.iter_mut().enumerate() {
        let hops = [
            HopSpec {
                node_id: relay.id(),
                address: &relay.address,
                epoch: &relay.epoch(epoch)?.public,
                delay_ms: 60_000,
                difficulty: 0,
                proof: None,
            },
            HopSpec {
                node_id: sender.id(),
                address: &sender.address,
                epoch: &sender.epoch(epoch)?.public,
                delay_ms: 0,
                difficulty: 0,
                proof: None,
            },
        ];
        let seed = fixed_seed(&format!("message extras surb {i}"));
        let (surb, _) = create_surb(&hops, &mut ChaCha20Rng::from_seed(seed))?;
        *s = surb.encode();
    }
    Ok((signed, surbs))
}

/// Seals, codes, loses, tampers, opens and rebuilds one message.
pub(crate) fn message_vector(case: &MessageCase) -> anyhow::Result<Vector> {
    let epoch = current_epoch();
    let sender = Node::new("alice", "alice@a.example", &[epoch], 0);
    let recipient = Node::new("bob", "bob@b.example", &[epoch], 0);
    let seed = fixed_seed(case.file);
    let body = repeat_pattern(BODY_PATTERN, case.body_len);
    let (descriptor, surbs) = if case.extras {
        let (d, s) = extras(&sender)?;
        (Some(d), Some(s))
    } else {
        (None, None)
    };
    let decode_surb = |b: &Vec<u8>| mailvortex_proto::surb::Surb::decode(b);
    let envelope = Envelope {
        created_at: NOW - 60,
        level: case.level,
        content: MessageContent {
            subject: case.subject.to_string(),
            file_name: case.file_name.map(str::to_string),
            body,
        },
        sender_descriptor: descriptor.clone(),
        receipt_surb: surbs.as_ref().map(|s| decode_surb(&s[0])).transpose()?,
        reply_surb: surbs.as_ref().map(|s| decode_surb(&s[1])).transpose()?,
    };
    let encoded = envelope.encode()?;
    let s_epoch = sender.epoch(epoch)?;
    let r_epoch = recipient.epoch(epoch)?;
    let sealed = seal_message(
        SenderKeys {
            node_id: sender.id(),
            epoch: s_epoch,
        },
        &r_epoch.public,
        &envelope,
        case.redundancy,
        &mut ChaCha20Rng::from_seed(seed),
    )?;

    // The same computation from the spec.
    let mut rng = ChaCha20Rng::from_seed(seed);
    let mut eph = [0u8; 32];
    rng.fill_bytes(&mut eph);
    let mut nonce = [0u8; 24];
    rng.fill_bytes(&mut nonce);
    let mut message_id = [0u8; 16];
    rng.fill_bytes(&mut message_id);
    ensure!(message_id == sealed.message_id);
    let rk = r_epoch.public.key;
    let sk = s_epoch.public.key;
    let eph_pub = x25519_public(&eph);
    let dh_eph = x25519(&eph, &rk)?;
    let dh_static = x25519(&s_epoch.secret_bytes(), &rk)?;
    let k_anon = kdf("mv1 e2e anon", &dh_eph, &[&eph_pub, &rk])?;
    let k_msg = kdf(
        "mv1 e2e message",
        &dh_eph,
        &[&dh_static, &eph_pub, &sk, &rk],
    )?;
    let mut sender_ref = sender.id().as_bytes().to_vec();
    sender_ref.extend_from_slice(&epoch.to_be_bytes());
    sender_ref.extend_from_slice(&sk);
    let sender_box = secretbox_seal(&k_anon, &[0u8; 24], &sender_ref)?;
    let mut ciphertext = nonce.to_vec();
    ciphertext.extend(secretbox_seal(&k_msg, &nonce, &encoded)?);
    let ct_len = u32::try_from(ciphertext.len())?;
    let k = ciphertext.len().div_ceil(SHARD_LEN);
    let n = case.redundancy.total_shards(k);
    ensure!(k == sealed.k && n == sealed.n);
    let mut padded = ciphertext.clone();
    padded.resize(k * SHARD_LEN, 0);
    let originals: Vec<&[u8]> = padded.chunks(SHARD_LEN).collect();
    let recovery = if n > k {
        reed_solomon_simd::encode(k, n - k, &originals)?
    } else {
        Vec::new()
    };
    let mut tag_keys = Vec::with_capacity(n);
    for (i, data) in originals
        .iter()
        .copied()
        .chain(recovery.iter().map(Vec::as_slice))
        .enumerate()
    {
        let index = u16::try_from(i)?;
        let mut p = eph_pub.to_vec();
        p.extend_from_slice(&sender_box);
        p.extend_from_slice(&message_id);
        p.extend_from_slice(&u16::try_from(k)?.to_be_bytes());
        p.extend_from_slice(&u16::try_from(n)?.to_be_bytes());
        p.extend_from_slice(&index.to_be_bytes());
        p.extend_from_slice(&ct_len.to_be_bytes());
        p.extend_from_slice(data);
        let tag_key = kdf(
            "mv1 e2e shard",
            &k_msg,
            &[&message_id, &index.to_be_bytes()],
        )?;
        p.extend_from_slice(&poly1305(&tag_key, &p));
        ensure!(
            p.len() == PAYLOAD_LEN && p[..] == sealed.payloads[i][..],
            "shard {i}"
        );
        tag_keys.push(tag_key);
    }

    // The recipient: open what arrives (in index order), then rebuild.
    let mut opened = Vec::new();
    let mut failure = None;
    for (i, p) in sealed.payloads.iter().enumerate() {
        if case.lost.contains(&i) {
            continue;
        }
        let mut p = p.to_vec();
        if let Some((t, off, x)) = case.tamper
            && t == i
        {
            *p.get_mut(off).context("tamper offset")? ^= x;
        }
        match open_shard(&r_epoch_secret(&recipient, epoch)?, &p) {
            Ok(s) => opened.push(s),
            Err(e) => {
                failure = Some(e);
                break;
            }
        }
    }
    let rebuilt = match failure {
        Some(e) => Err(e),
        None => rebuild(&opened),
    };

    let mut v = Vector::new(case.file, case.description, "message", case.expect);
    let got = rebuilt.as_ref().err().map_or("success", expect_word);
    ensure!(
        got == case.expect,
        "{}: got {got} ({:?})",
        case.file,
        rebuilt.err()
    );
    if let Err(e) = &rebuilt {
        v.h("error", format!("{e:?}"));
    }
    v.hx("rng seed", &seed);
    sender.header(&mut v, 0, false);
    recipient.header(&mut v, 1, false);
    v.h("sender epoch", epoch);
    v.h("recipient epoch", epoch);
    v.h("created at", envelope.created_at);
    v.h("level", case.level);
    v.h("subject", case.subject);
    v.h("file name", case.file_name.unwrap_or(""));
    v.h("body length", case.body_len);
    v.hx("body pattern", BODY_PATTERN);
    v.h(
        "redundancy",
        format!("{}/{}", case.redundancy.num, case.redundancy.den),
    );
    let lost: Vec<String> = case.lost.iter().map(usize::to_string).collect();
    v.h("lost", lost.join(" "));
    if let Some((t, off, x)) = case.tamper {
        v.h("tamper", format!("{t} {off} {x:02x}"));
    }
    sender.body(&mut v, 0);
    recipient.body(&mut v, 1);
    if let Some(d) = &descriptor {
        v.b("envelope sender descriptor", d);
    }
    if let Some([receipt, reply]) = &surbs {
        v.b("envelope receipt surb", receipt);
        v.b("envelope reply surb", reply);
    }
    v.b("envelope", &encoded);
    v.b("ephemeral secret", &eph);
    v.b("ephemeral public", &eph_pub);
    v.b("dh ephemeral", &dh_eph);
    v.b("dh static", &dh_static);
    v.b("anon key", &k_anon);
    v.b("message key", &k_msg);
    v.b("sender reference", &sender_ref);
    v.b("sender box", &sender_box);
    v.b("nonce", &nonce);
    v.b("message id", &message_id);
    v.b("ciphertext length", &ct_len.to_be_bytes());
    v.b("ciphertext digest", &digest(&ciphertext));
    v.b("k", &u16::try_from(k)?.to_be_bytes());
    v.b("n", &u16::try_from(n)?.to_be_bytes());
    for (i, p) in sealed.payloads.iter().enumerate() {
        v.b(&format!("shard {i} tag key"), &tag_keys[i]);
        if case.lost.contains(&i) {
            v.b(&format!("shard {i} payload digest"), &digest(&p[..]));
        } else {
            v.b(&format!("shard {i} payload"), &p[..]);
        }
    }
    if let Ok(msg) = &rebuilt {
        ensure!(msg.envelope == envelope && msg.message_id == message_id);
        ensure!(msg.sender.node_id == sender.id() && msg.sender.epoch_key == sk);
        v.b("rebuilt envelope digest", &digest(&msg.envelope.encode()?));
    }
    Ok(v)
}

fn r_epoch_secret(
    node: &Node,
    epoch: u32,
) -> anyhow::Result<mailvortex_proto::identity::EpochSecret> {
    let mut live = node.live_keys(NOW)?;
    let pos = live
        .iter()
        .position(|s| s.public.epoch == epoch)
        .context("recipient epoch not live")?;
    Ok(live.swap_remove(pos))
}
