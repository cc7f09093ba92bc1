//! The node: one typed API for every front end, and the loops that move packets.
//!
//! Front ends call the synchronous methods (`send`, `status`, `inbox`, `import_invite`...) and
//! subscribe to [`crate::events::Event`]s; [`Node::run`] drives receiving, relaying, sending,
//! retransmission, cover traffic and key rotation until shut down. All state lives in the node
//! home: `config.json` (no secrets), `vault/` (secrets, encrypted), `store.sqlite` (queues,
//! replay tags, messages encrypted at rest).

mod check;
mod compose;
mod control;
mod introduce;
mod load;
mod maintenance;
mod outbox;
mod receive;
mod retransmit;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use crypto_secretbox::aead::{Aead, KeyInit};
use crypto_secretbox::{Nonce, XSalsa20Poly1305};
use mailvortex_proto::descriptor::{Descriptor, PeerType};
use mailvortex_proto::identity::NodeId;
use mailvortex_store::{Store, StoreKey};
use mailvortex_vault::{Argon2Params, ExposeSecret, Unlock, Vault};
use rand::RngCore;
use rand::rngs::OsRng;
use tokio::sync::Notify;
use zeroize::Zeroizing;

use crate::api::{
    MessageStatus, ReceivedMessageView, ReceivedSummary, RelayHealth, TimelineEntry, hex,
    parse_message_id,
};
use crate::clock::Clock;
use crate::config::{AccountConfig, NodeConfig};
use crate::directory::{
    PeerSummary, RelayListImport, SkippedRelay, check_descriptor, invite_uri, parse_invite,
};
use crate::error::{EngineError, Result};
use crate::events::EventBus;
use crate::keys::NodeKeys;
use crate::transport::memory::MemoryProvider;

pub use check::AccountCheck;
pub use control::{CANCELLED, reply_subject};
pub use retransmit::{MAX_ATTEMPTS, RetryReason};

const STORE_KEY: &str = "store-key";
const SURB_KEY: &str = "surb-key";

/// Where mail really goes.
#[derive(Clone, Debug)]
pub enum TransportChoice {
    /// The accounts' own SMTP and IMAP servers.
    Accounts,
    /// An in-process provider (demo, fast tests).
    Memory(MemoryProvider),
}

/// How to run a node.
#[derive(Clone, Debug)]
pub struct NodeOptions {
    /// Protocol time (scaled in tests and the demo).
    pub clock: Clock,
    /// Where mail goes.
    pub transport: TransportChoice,
}

impl Default for NodeOptions {
    fn default() -> Self {
        NodeOptions {
            clock: Clock::system(),
            transport: TransportChoice::Accounts,
        }
    }
}

/// How to create a node.
pub struct CreateOptions {
    /// Role of the node.
    pub peer_type: PeerType,
    /// How its vault is unlocked.
    pub unlock: Unlock,
    /// Cheap Argon2id parameters (tests and the demo only: weak against guessing).
    pub fast_kdf: bool,
}

/// A MailVortex node. Cheap to clone; all clones share state.
#[derive(Clone)]
pub struct Node {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Node({})", self.inner.home.display())
    }
}

pub(crate) struct Inner {
    pub(crate) home: PathBuf,
    pub(crate) config: Mutex<NodeConfig>,
    pub(crate) vault: Mutex<Vault>,
    pub(crate) store: Mutex<Store>,
    pub(crate) keys: Mutex<NodeKeys>,
    pub(crate) clock: Clock,
    pub(crate) events: EventBus,
    pub(crate) transport: TransportChoice,
    pub(crate) surb_key: Zeroizing<[u8; 32]>,
    pub(crate) wake_outbox: Notify,
    pub(crate) load: Mutex<load::LoadMeter>,
    /// The node home's lock, if this process holds it. Only the holder rotates keys and runs
    /// the loops; other processes (a `mailvortex send` while the daemon runs) share the store.
    pub(crate) home_lock: Option<std::fs::File>,
}

/// Locks a mutex, recovering from poisoning (a panic elsewhere must not wedge the node).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn random_key() -> Zeroizing<[u8; 32]> {
    let mut k = Zeroizing::new([0u8; 32]);
    OsRng.fill_bytes(&mut *k);
    k
}

fn secret_32(vault: &Vault, name: &str) -> Result<Zeroizing<[u8; 32]>> {
    let v = vault
        .get(name)
        .ok_or_else(|| EngineError::Invalid(format!("the vault lacks {name}")))?;
    let mut k = Zeroizing::new([0u8; 32]);
    if v.expose_secret().len() != 32 {
        return Err(EngineError::Invalid(format!("corrupt {name} in the vault")));
    }
    k.copy_from_slice(v.expose_secret());
    Ok(k)
}

impl Node {
    /// Creates a node in `home` (which must not hold one yet).
    pub fn create(home: &Path, create: CreateOptions, options: NodeOptions) -> Result<Node> {
        if NodeConfig::path(home).exists() {
            return Err(EngineError::NodeExists(home.display().to_string()));
        }
        std::fs::create_dir_all(home).map_err(EngineError::io(home))?;
        restrict_dir(home)?;
        let kdf = if create.fast_kdf {
            Argon2Params::new(8 * 1024, 1, 1)?
        } else {
            Argon2Params::default()
        };
        let mut vault = Vault::create_with_kdf(home.join("vault"), create.unlock, kdf)?;
        let now = options.clock.now_secs();
        let keys = NodeKeys::create(&mut vault, now)?;
        vault.set(STORE_KEY, random_key().to_vec())?;
        vault.set(SURB_KEY, random_key().to_vec())?;
        let config = NodeConfig::new(match create.peer_type {
            PeerType::Public => "public",
            PeerType::Stealth => "stealth",
            PeerType::Passive => "passive",
        });
        config.save(home)?;
        let home_lock = lock_home(home)?;
        Self::assemble(home, config, vault, keys, options, home_lock)
    }

    /// Opens the node in `home`.
    pub fn open(home: &Path, unlock: Unlock, options: NodeOptions) -> Result<Node> {
        let config = NodeConfig::load(home)?;
        let mut vault = Vault::open(home.join("vault"), unlock)?;
        let mut keys = NodeKeys::load(&vault)?;
        let home_lock = lock_home(home)?;
        if home_lock.is_some() {
            keys.rotate(&mut vault, options.clock.now_secs())?;
        }
        Self::assemble(home, config, vault, keys, options, home_lock)
    }

    /// Which unlock method the node in `home` uses (without unlocking it).
    pub fn unlock_method(home: &Path) -> Result<mailvortex_vault::UnlockMethod> {
        NodeConfig::load(home)?;
        Ok(Vault::probe(home.join("vault"))?)
    }

    fn assemble(
        home: &Path,
        config: NodeConfig,
        vault: Vault,
        keys: NodeKeys,
        options: NodeOptions,
        home_lock: Option<std::fs::File>,
    ) -> Result<Node> {
        let store_key = secret_32(&vault, STORE_KEY)?;
        let surb_key = secret_32(&vault, SURB_KEY)?;
        let store = Store::open(home.join("store.sqlite"), StoreKey::from_bytes(*store_key))?;
        Ok(Node {
            inner: Arc::new(Inner {
                home: home.to_path_buf(),
                config: Mutex::new(config),
                vault: Mutex::new(vault),
                store: Mutex::new(store),
                keys: Mutex::new(keys),
                clock: options.clock,
                events: EventBus::default(),
                transport: options.transport,
                surb_key,
                wake_outbox: Notify::new(),
                load: Mutex::new(load::LoadMeter::default()),
                home_lock,
            }),
        })
    }

    /// The node's id.
    pub fn node_id(&self) -> NodeId {
        lock(&self.inner.keys).identity.node_id()
    }

    /// The node's receiving address, once an account is configured.
    pub fn address(&self) -> Option<String> {
        lock(&self.inner.config)
            .receiving_account()
            .map(|a| a.address.clone())
    }

    /// The configuration (no secrets in it).
    pub fn config(&self) -> NodeConfig {
        lock(&self.inner.config).clone()
    }

    /// Changes settings that are not accounts (cover rate, puzzle difficulty, forwarding policy).
    pub fn update_config(&self, f: impl FnOnce(&mut NodeConfig)) -> Result<()> {
        let mut c = lock(&self.inner.config);
        let accounts = c.accounts.clone();
        f(&mut c);
        c.accounts = accounts;
        c.save(&self.inner.home)
    }

    /// Subscribes to events.
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<crate::events::Event> {
        self.inner.events.subscribe()
    }

    /// The node's clock.
    pub fn clock(&self) -> &Clock {
        &self.inner.clock
    }

    /// Adds (or replaces) an account; its password goes to the vault. Nothing is tried on the
    /// servers: call [`Node::check_account`] first for that.
    pub fn add_account(&self, account: AccountConfig, password: Zeroizing<String>) -> Result<()> {
        check::validate_account(&account)?;
        lock(&self.inner.vault).set(&password_name(&account.name), password.as_bytes().to_vec())?;
        let mut c = lock(&self.inner.config);
        c.accounts.retain(|a| a.name != account.name);
        c.accounts.push(account);
        c.save(&self.inner.home)
    }

    pub(crate) fn account_password(&self, name: &str) -> Result<Zeroizing<String>> {
        let vault = lock(&self.inner.vault);
        let v = vault
            .get(&password_name(name))
            .ok_or_else(|| EngineError::NotFound(format!("password of account {name}")))?;
        String::from_utf8(v.expose_secret().to_vec())
            .map(Zeroizing::new)
            .map_err(|_| EngineError::Invalid("stored password is not UTF-8".into()))
    }

    /// This node's signed descriptor, valid now (advertising the difficulty its load asks for).
    pub fn descriptor(&self) -> Result<(Descriptor, Vec<u8>)> {
        let now = self.inner.clock.now_secs();
        let mut config = lock(&self.inner.config).clone();
        config.puzzle_difficulty = self.difficulties().0;
        lock(&self.inner.keys).descriptor(&config, now)
    }

    /// (advertised, required) puzzle difficulty under the current load.
    pub(crate) fn difficulties(&self) -> (u8, u8) {
        let (base, budget) = {
            let c = lock(&self.inner.config);
            (
                c.puzzle_difficulty,
                c.accounts.iter().map(|a| a.daily_send_budget).sum::<u32>(),
            )
        };
        let recent = lock(&self.inner.load).last_hour(self.inner.clock.now_ms());
        load::difficulties(base, recent, budget)
    }

    /// The invite link (`mailvortex:...`) to hand to correspondents.
    pub fn invite(&self) -> Result<String> {
        Ok(invite_uri(&self.descriptor()?.1))
    }

    /// Imports a correspondent's or relay's invite link.
    pub fn import_invite(&self, uri: &str) -> Result<PeerSummary> {
        let (d, bytes) = parse_invite(uri, self.inner.clock.now_secs())?;
        self.remember_peer(&d, &bytes)
    }

    /// Imports a signed descriptor (raw bytes).
    pub fn import_descriptor(&self, bytes: &[u8]) -> Result<PeerSummary> {
        let d = check_descriptor(bytes, self.inner.clock.now_secs())?;
        self.remember_peer(&d, bytes)
    }

    /// Imports a relay list signed by `signer`, all or nothing: every entry is checked first,
    /// and only if all check out are they stored, in one transaction. This node's own entry
    /// (a relay importing a list that names it) is skipped and reported in
    /// [`RelayListImport::skipped`]. An entry that does not check out fails the whole import
    /// with [`EngineError::Invalid`] naming it (position and address); nothing is stored then.
    pub fn import_relay_list(&self, bytes: &[u8], signer: &NodeId) -> Result<RelayListImport> {
        let list = mailvortex_proto::relay_list::open_relay_list(
            bytes,
            signer,
            self.inner.clock.now_secs(),
        )?;
        let own = self.node_id();
        let total = list.relays.len() + list.rejected.len();
        let mut skipped = Vec::new();
        let mut problems = Vec::new();
        for r in &list.rejected {
            let unchecked =
                mailvortex_proto::descriptor::UncheckedDescriptor::decode(&r.descriptor).ok();
            if unchecked
                .as_ref()
                .is_some_and(|u| u.claimed_node_id() == own)
            {
                skipped.push(SkippedRelay {
                    node_id: own.to_hex(),
                    address: unchecked
                        .map(|u| u.dangerously_assume_checked().address)
                        .unwrap_or_default(),
                    reason: "this node's own descriptor".into(),
                });
                continue;
            }
            let address = unchecked
                .map(|u| format!(" ({})", u.dangerously_assume_checked().address))
                .unwrap_or_default();
            problems.push(format!(
                "entry {} of {total}{address}: {}",
                r.index + 1,
                r.error
            ));
        }
        if !problems.is_empty() {
            return Err(EngineError::Invalid(format!(
                "relay list refused, nothing imported: {}",
                problems.join("; ")
            )));
        }
        let mut accepted = Vec::new();
        for (d, b) in &list.relays {
            if d.node_id == own {
                skipped.push(SkippedRelay {
                    node_id: own.to_hex(),
                    address: d.address.clone(),
                    reason: "this node's own descriptor".into(),
                });
            } else {
                accepted.push((d, b));
            }
        }
        let rows: Vec<_> = accepted
            .iter()
            .map(|(d, b)| (d.node_id.0, d.address.as_str(), b.as_slice()))
            .collect();
        let now_ms = self.inner.clock.now_ms() as i64;
        let new = lock(&self.inner.store).upsert_peers(&rows, now_ms)?;
        for s in &skipped {
            tracing::info!(address = %s.address, reason = %s.reason, "relay list entry skipped");
        }
        Ok(RelayListImport {
            imported: accepted
                .iter()
                .zip(new)
                .map(|((d, _), new)| PeerSummary::of(d, new))
                .collect(),
            skipped,
        })
    }

    /// Signs a relay list of checked descriptors with this node's identity (acting as a directory).
    pub fn sign_relay_list(&self, descriptors: &[Vec<u8>], days: u64) -> Result<Vec<u8>> {
        let now = self.inner.clock.now_secs();
        for d in descriptors {
            check_descriptor(d, now)?;
        }
        let keys = lock(&self.inner.keys);
        Ok(mailvortex_proto::relay_list::sign_relay_list(
            &keys.identity,
            descriptors,
            now,
            now + days * 86_400,
        )?)
    }

    pub(crate) fn remember_peer(&self, d: &Descriptor, bytes: &[u8]) -> Result<PeerSummary> {
        if d.node_id == self.node_id() {
            return Err(EngineError::Invalid(
                "that is this node's own descriptor".into(),
            ));
        }
        let now_ms = self.inner.clock.now_ms() as i64;
        let new = lock(&self.inner.store).upsert_peer(&d.node_id.0, &d.address, bytes, now_ms)?;
        Ok(PeerSummary::of(d, new))
    }

    /// Known peers with checked descriptors.
    pub fn peers(&self) -> Result<Vec<PeerSummary>> {
        Ok(self
            .known_descriptors(false)?
            .iter()
            .map(|d| PeerSummary::of(d, false))
            .collect())
    }

    /// The relays this node knows, with how they have done lately (for a "helpers" screen).
    pub fn relays(&self) -> Result<Vec<RelayHealth>> {
        let now_ms = self.inner.clock.now_ms();
        let records = lock(&self.inner.store).peers()?;
        Ok(records
            .iter()
            .filter_map(|r| {
                let d = check_descriptor(&r.descriptor, now_ms / 1000).ok()?;
                d.peer_type.relays().then(|| RelayHealth {
                    node_id: d.node_id.to_hex(),
                    address: d.address,
                    resting: r.avoided_until_ms > now_ms as i64,
                    resting_until_ms: (r.avoided_until_ms > now_ms as i64)
                        .then_some(r.avoided_until_ms),
                    failures: r.failures,
                    successes: r.successes,
                    last_seen_ms: r.last_seen_ms,
                })
            })
            .collect())
    }

    /// Bytes the node home takes on disk (configuration, vault, store, logs).
    pub fn disk_usage(&self) -> u64 {
        fn walk(p: &Path) -> u64 {
            let Ok(entries) = std::fs::read_dir(p) else {
                return 0;
            };
            entries
                .flatten()
                .map(|e| match e.file_type() {
                    Ok(t) if t.is_dir() => walk(&e.path()),
                    Ok(t) if t.is_file() => e.metadata().map_or(0, |m| m.len()),
                    _ => 0,
                })
                .sum()
        }
        walk(&self.inner.home)
    }

    /// The node home directory.
    pub fn home(&self) -> &Path {
        &self.inner.home
    }

    /// Descriptors of known peers that check out now (optionally only those not avoided).
    pub(crate) fn known_descriptors(&self, usable_only: bool) -> Result<Vec<Descriptor>> {
        let now_ms = self.inner.clock.now_ms();
        let records = {
            let store = lock(&self.inner.store);
            if usable_only {
                store.usable_peers(now_ms as i64)?
            } else {
                store.peers()?
            }
        };
        Ok(records
            .iter()
            .filter_map(|r| check_descriptor(&r.descriptor, now_ms / 1000).ok())
            .collect())
    }

    /// Status and timeline of a sent message.
    pub fn status(&self, message_id: &str) -> Result<MessageStatus> {
        let id = parse_message_id(message_id)
            .ok_or_else(|| EngineError::Invalid("message id: 32 hex digits".into()))?;
        let store = lock(&self.inner.store);
        let m = store
            .message_out(&id)?
            .ok_or_else(|| EngineError::NotFound(format!("message {message_id}")))?;
        let timeline = store
            .delivery_timeline(&id)?
            .into_iter()
            .map(|e| TimelineEntry {
                state: e.state.to_string(),
                at_ms: e.at_ms,
                detail: e.detail,
            })
            .collect();
        drop(store);
        use mailvortex_store::DeliveryState;
        let waiting = matches!(
            m.state,
            DeliveryState::Queued | DeliveryState::Sent | DeliveryState::Retry
        );
        let attempt = self.attempt_of(&id);
        Ok(MessageStatus {
            message_id: hex(&id),
            to: m.to_address,
            subject: self.sent_subject(&id),
            level: m.level,
            size: m.size,
            state: m.state.to_string(),
            attempt: attempt.map_or(0, |(a, _)| a) + 1,
            max_attempts: MAX_ATTEMPTS,
            receipt_due_ms: attempt
                .filter(|_| waiting)
                .map(|(_, due)| i64::try_from(due).unwrap_or(i64::MAX)),
            timeline,
        })
    }

    /// Sent messages, newest first.
    pub fn outgoing(&self) -> Result<Vec<MessageStatus>> {
        let ids: Vec<[u8; 16]> = lock(&self.inner.store)
            .messages_out(1000)?
            .iter()
            .map(|m| m.message_id)
            .collect();
        ids.iter().map(|id| self.status(&hex(id))).collect()
    }

    /// Received messages, newest first.
    pub fn inbox(&self) -> Result<Vec<ReceivedSummary>> {
        let metas = lock(&self.inner.store).messages_in()?;
        metas
            .iter()
            .map(|m| self.read_inner(&m.message_id, false).map(|v| v.summary))
            .collect()
    }

    /// Reads a received message (and marks it read).
    pub fn read(&self, message_id: &str) -> Result<ReceivedMessageView> {
        let id = parse_message_id(message_id)
            .ok_or_else(|| EngineError::Invalid("message id: 32 hex digits".into()))?;
        self.read_inner(&id, true)
    }

    fn read_inner(&self, id: &[u8; 16], mark_read: bool) -> Result<ReceivedMessageView> {
        let store = lock(&self.inner.store);
        let m = store
            .message_in(id)?
            .ok_or_else(|| EngineError::NotFound(format!("message {}", hex(id))))?;
        if mark_read && !m.meta.read {
            store.set_message_in_read(id, true)?;
        }
        let env = mailvortex_proto::message::Envelope::decode(&m.body)?;
        let from = env
            .sender_descriptor
            .as_ref()
            .and_then(|d| {
                check_descriptor(d, 0).ok().or_else(|| {
                    mailvortex_proto::descriptor::UncheckedDescriptor::decode(d)
                        .ok()
                        .map(|u| u.dangerously_assume_checked())
                })
            })
            .filter(|d| Some(d.node_id.0) == m.meta.from_node_id)
            .map(|d| d.address);
        Ok(ReceivedMessageView {
            summary: ReceivedSummary {
                message_id: hex(id),
                from,
                from_node: m.meta.from_node_id.map(|n| hex(&n)),
                subject: env.content.subject.clone(),
                received_ms: m.meta.received_ms,
                read: m.meta.read || mark_read,
                size: env.content.body.len(),
            },
            file_name: env.content.file_name.clone(),
            level: env.level.to_string(),
            created_at: env.created_at,
            body: env.content.body,
        })
    }

    /// Seals a small secret (reply-block secrets) for the store.
    pub(crate) fn seal_local(&self, plain: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; 24];
        OsRng.fill_bytes(&mut nonce);
        let mut out = nonce.to_vec();
        // Encryption with a valid 32-byte key cannot fail.
        out.extend(
            XSalsa20Poly1305::new((&*self.inner.surb_key).into())
                .encrypt(&Nonce::from(nonce), plain)
                .unwrap_or_default(),
        );
        out
    }

    pub(crate) fn open_local(&self, sealed: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
        if sealed.len() < 24 {
            return None;
        }
        let (nonce, ct) = sealed.split_at(24);
        XSalsa20Poly1305::new((&*self.inner.surb_key).into())
            .decrypt(Nonce::from_slice(nonce), ct)
            .ok()
            .map(Zeroizing::new)
    }
}

/// The built-in carrier templates as editable TOML (save as `templates.toml` in the node home).
pub fn default_templates_toml() -> Result<String> {
    mailvortex_carrier::CarrierTemplates::default()
        .to_toml()
        .map_err(|e| EngineError::Invalid(e.to_string()))
}

/// Takes the node home's lock file if free (`None` if another process holds it).
fn lock_home(home: &Path) -> Result<Option<std::fs::File>> {
    let path = home.join("node.lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(EngineError::io(&path))?;
    match file.try_lock() {
        Ok(()) => Ok(Some(file)),
        Err(std::fs::TryLockError::WouldBlock) => Ok(None),
        Err(std::fs::TryLockError::Error(e)) => Err(EngineError::io(&path)(e)),
    }
}

fn password_name(account: &str) -> String {
    format!("account/{account}/password")
}

#[cfg(unix)]
fn restrict_dir(dir: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
        .map_err(EngineError::io(dir))
}

#[cfg(not(unix))]
fn restrict_dir(_dir: &Path) -> Result<()> {
    Ok(())
}
