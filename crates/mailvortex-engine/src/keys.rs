//! The node's key material: its identity and epoch keys, kept in the vault, rotated by the clock.

use mailvortex_proto::descriptor::{Descriptor, Limits};
use mailvortex_proto::identity::{EpochPublic, EpochSchedule, EpochSecret, Identity};
use mailvortex_vault::{ExposeSecret, Vault};
use rand::rngs::OsRng;

use crate::config::NodeConfig;
use crate::error::{EngineError, Result};

const IDENTITY: &str = "identity";
const EPOCH_PREFIX: &str = "epoch-";

/// Identity plus the epoch keys the node still holds.
pub struct NodeKeys {
    /// Long-term identity.
    pub identity: Identity,
    /// Epoch keys, newest first.
    pub epochs: Vec<EpochSecret>,
    /// The rotation schedule.
    pub schedule: EpochSchedule,
}

impl std::fmt::Debug for NodeKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "NodeKeys({:?}, {} epochs)",
            self.identity.node_id(),
            self.epochs.len()
        )
    }
}

fn encode_epoch(e: &EpochSecret) -> Vec<u8> {
    let p = &e.public;
    let mut v = e.secret_bytes().to_vec();
    v.extend_from_slice(&p.epoch.to_be_bytes());
    v.extend_from_slice(&p.valid_from.to_be_bytes());
    v.extend_from_slice(&p.valid_until.to_be_bytes());
    v.extend_from_slice(&p.key);
    v.extend_from_slice(&p.signature);
    v
}

fn decode_epoch(b: &[u8]) -> Result<EpochSecret> {
    let bad = || EngineError::Invalid("corrupt epoch key in the vault".into());
    if b.len() != 32 + 4 + 8 + 8 + 32 + 64 {
        return Err(bad());
    }
    let arr = |r: std::ops::Range<usize>| b.get(r).ok_or_else(bad);
    let mut secret = [0u8; 32];
    secret.copy_from_slice(arr(0..32)?);
    let num = |r| -> Result<u64> {
        let s: &[u8] = arr(r)?;
        Ok(s.iter().fold(0u64, |acc, x| (acc << 8) | u64::from(*x)))
    };
    let mut key = [0u8; 32];
    key.copy_from_slice(arr(52..84)?);
    let mut signature = [0u8; 64];
    signature.copy_from_slice(arr(84..148)?);
    let public = EpochPublic {
        epoch: u32::try_from(num(32..36)?).map_err(|_| bad())?,
        valid_from: num(36..44)?,
        valid_until: num(44..52)?,
        key,
        signature,
    };
    Ok(EpochSecret::from_parts(secret, public)?)
}

impl NodeKeys {
    /// Creates a new identity and stores it.
    pub fn create(vault: &mut Vault, now: u64) -> Result<Self> {
        let identity = Identity::generate(&mut OsRng);
        vault.set(IDENTITY, identity.secret_bytes().to_vec())?;
        let mut keys = NodeKeys {
            identity,
            epochs: Vec::new(),
            schedule: EpochSchedule::default(),
        };
        keys.rotate(vault, now)?;
        Ok(keys)
    }

    /// Loads the identity and epoch keys from the vault.
    pub fn load(vault: &Vault) -> Result<Self> {
        let seed = vault
            .get(IDENTITY)
            .ok_or_else(|| EngineError::Invalid("the vault holds no identity".into()))?;
        let seed: [u8; 32] = seed
            .expose_secret()
            .try_into()
            .map_err(|_| EngineError::Invalid("corrupt identity in the vault".into()))?;
        let identity = Identity::from_secret_bytes(&seed);
        let mut epochs = Vec::new();
        for name in vault.names().filter(|n| n.starts_with(EPOCH_PREFIX)) {
            if let Some(b) = vault.get(name) {
                epochs.push(decode_epoch(b.expose_secret())?);
            }
        }
        epochs.sort_by_key(|e| std::cmp::Reverse(e.public.epoch));
        Ok(NodeKeys {
            identity,
            epochs,
            schedule: EpochSchedule::default(),
        })
    }

    /// Makes sure the current and the next epoch have keys, and deletes expired secrets
    /// (forward secrecy). Returns whether anything changed (the descriptor must be re-signed).
    pub fn rotate(&mut self, vault: &mut Vault, now: u64) -> Result<bool> {
        let mut changed = false;
        let current = self.schedule.epoch_at(now);
        for epoch in [current, current.saturating_add(1)] {
            if !self.epochs.iter().any(|e| e.public.epoch == epoch) {
                let (from, until) = self.schedule.window(epoch);
                let e = self.identity.new_epoch_key(&mut OsRng, epoch, from, until);
                vault.set(&format!("{EPOCH_PREFIX}{epoch}"), encode_epoch(&e))?;
                self.epochs.push(e);
                changed = true;
            }
        }
        let expired: Vec<u32> = self
            .epochs
            .iter()
            .filter(|e| e.public.valid_until <= now)
            .map(|e| e.public.epoch)
            .collect();
        for epoch in expired {
            vault.remove(&format!("{EPOCH_PREFIX}{epoch}"))?;
            self.epochs.retain(|e| e.public.epoch != epoch);
            changed = true;
        }
        self.epochs
            .sort_by_key(|e| std::cmp::Reverse(e.public.epoch));
        Ok(changed)
    }

    /// Epoch secrets accepting packets at `now`, newest first.
    pub fn live_epochs(&self, now: u64) -> Vec<&EpochSecret> {
        self.live_slice(now).iter().collect()
    }

    /// The live epoch secrets as one slice, newest first. Windows start and end in epoch
    /// order, so in the newest-first list the live keys are contiguous: future keys before
    /// them, expired ones after.
    pub fn live_slice(&self, now: u64) -> &[EpochSecret] {
        let start = self
            .epochs
            .iter()
            .position(|e| e.public.valid_from <= now)
            .unwrap_or(self.epochs.len());
        let len = self.epochs[start..]
            .iter()
            .take_while(|e| e.public.is_valid_at(now))
            .count();
        &self.epochs[start..start + len]
    }

    /// The epoch secret for `epoch`.
    pub fn epoch(&self, epoch: u32) -> Option<&EpochSecret> {
        self.epochs.iter().find(|e| e.public.epoch == epoch)
    }

    /// This node's signed descriptor at `now`.
    pub fn descriptor(&self, config: &NodeConfig, now: u64) -> Result<(Descriptor, Vec<u8>)> {
        let account = config
            .receiving_account()
            .ok_or(EngineError::NoAccount("to receive mail"))?;
        let epochs: Vec<EpochPublic> = self
            .epochs
            .iter()
            .filter(|e| e.public.valid_until > now)
            .map(|e| e.public.clone())
            .collect();
        let expires_at = epochs
            .iter()
            .map(|e| e.valid_until)
            .max()
            .unwrap_or(now + 1);
        let d = Descriptor {
            node_id: self.identity.node_id(),
            address: account.address.clone(),
            peer_type: config.peer_type(),
            puzzle_difficulty: config.puzzle_difficulty,
            limits: Limits {
                packets_per_day: config.accounts.iter().map(|a| a.daily_send_budget).sum(),
                max_message_bytes: mailvortex_proto::message::MAX_MESSAGE_LEN as u64,
            },
            issued_at: now.saturating_sub(60),
            expires_at,
            epochs,
            address_proof: None,
        };
        let signed = d.sign(&self.identity)?;
        // Checked once more so it carries its address proof (for the reply blocks we build).
        let d = mailvortex_proto::descriptor::UncheckedDescriptor::decode(&signed)?.check(now)?;
        Ok((d, signed))
    }
}
