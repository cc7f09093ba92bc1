//! The [`Vault`]: create, open, read and change the secrets of one node home.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use keyring_core::CredentialStore;
use secrecy::{ExposeSecret, SecretString};

use crate::crypto::{self, Argon2Params, Key32, SALT_LEN};
use crate::error::{UnlockMethod, VaultError};
use crate::format::{self, ID_LEN, KEY_CHECK, MAGIC, Meta, MetaUnlock};
use crate::fsio;
use crate::keychain::{KEYCHAIN_SERVICE, KeychainSlot, platform_store};
use crate::secret::SecretBytes;

/// File name of the encrypted secrets inside the node directory.
pub const VAULT_FILE: &str = "vault.bin";
/// File name of the plaintext metadata inside the node directory.
pub const META_FILE: &str = "vault.meta";

/// How to unlock (or protect, at creation) the master key.
#[non_exhaustive]
pub enum Unlock {
    /// This platform's OS keychain (Secret Service on Linux).
    Keychain,
    /// A given `keyring-core` credential store, e.g. `keyring_core::mock::Store`
    /// in tests. Recorded as [`UnlockMethod::Keychain`].
    KeychainStore(Arc<CredentialStore>),
    /// A passphrase, stretched with Argon2id.
    Passphrase(SecretString),
}

impl Unlock {
    /// The method this unlock value stands for.
    pub fn method(&self) -> UnlockMethod {
        match self {
            Unlock::Keychain | Unlock::KeychainStore(_) => UnlockMethod::Keychain,
            Unlock::Passphrase(_) => UnlockMethod::Passphrase,
        }
    }
}

impl fmt::Debug for Unlock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unlock::Keychain => f.write_str("Unlock::Keychain"),
            Unlock::KeychainStore(s) => write!(f, "Unlock::KeychainStore({})", s.vendor()),
            Unlock::Passphrase(_) => f.write_str("Unlock::Passphrase([REDACTED])"),
        }
    }
}

/// The open vault of one node directory.
///
/// Secrets are held in memory in [`SecretBytes`] (wiped on drop). Every change
/// ([`Vault::set`], [`Vault::remove`]) is written to disk atomically before it
/// returns; if writing fails, the in-memory state is rolled back.
pub struct Vault {
    dir: PathBuf,
    meta: Meta,
    master: Key32,
    secrets: BTreeMap<String, SecretBytes>,
    store: Option<Arc<CredentialStore>>,
}

impl fmt::Debug for Vault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Vault")
            .field("dir", &self.dir)
            .field("unlock_method", &self.unlock_method())
            .field("secrets", &self.secrets.len())
            .finish_non_exhaustive()
    }
}

impl Vault {
    /// Creates a new, empty vault in `dir` (created with mode 0700 if missing),
    /// with the default Argon2id parameters for passphrase vaults.
    ///
    /// Refuses with [`VaultError::AlreadyExists`] if a vault file is already
    /// there. For [`Unlock::Keychain`] the master key is written to the keychain
    /// first (and read back); if any later step fails the entry is removed
    /// again.
    pub fn create(dir: impl AsRef<Path>, unlock: Unlock) -> Result<Vault, VaultError> {
        Vault::create_with_kdf(dir, unlock, Argon2Params::default())
    }

    /// Like [`Vault::create`], with explicit Argon2id parameters (used only by
    /// passphrase vaults; tests pass cheap ones).
    pub fn create_with_kdf(
        dir: impl AsRef<Path>,
        unlock: Unlock,
        kdf: Argon2Params,
    ) -> Result<Vault, VaultError> {
        let dir = dir.as_ref().to_path_buf();
        let meta_path = dir.join(META_FILE);
        let vault_path = dir.join(VAULT_FILE);
        for p in [&meta_path, &vault_path] {
            if fsio::exists(p) {
                return Err(VaultError::AlreadyExists { path: p.clone() });
            }
        }
        if let Unlock::Passphrase(p) = &unlock
            && p.expose_secret().is_empty()
        {
            return Err(VaultError::EmptyPassphrase);
        }
        let mut vault_id = [0u8; ID_LEN];
        crypto::fill_random(&mut vault_id)?;
        let master = Key32::random()?;
        let key_check = crypto::seal(&master, &key_check_plaintext(&vault_id))?;

        let (meta_unlock, store, slot) = match unlock {
            Unlock::Passphrase(pass) => {
                let mut salt = [0u8; SALT_LEN];
                crypto::fill_random(&mut salt)?;
                let kek = crypto::derive_kek(&pass, &salt, kdf)?;
                let wrapped = crypto::seal(&kek, master.as_bytes())?;
                let mu = MetaUnlock::Passphrase {
                    params: kdf,
                    salt,
                    wrapped,
                };
                (mu, None, None)
            }
            Unlock::Keychain | Unlock::KeychainStore(_) => {
                let store = match unlock {
                    Unlock::KeychainStore(s) => s,
                    _ => platform_store()?,
                };
                let user = hex::encode(vault_id);
                let slot = KeychainSlot::new(&store, KEYCHAIN_SERVICE, &user)?;
                slot.set(&master)?;
                let mu = MetaUnlock::Keychain {
                    service: KEYCHAIN_SERVICE.to_owned(),
                    user,
                };
                (mu, Some(store), Some(slot))
            }
        };
        let vault = Vault {
            dir,
            meta: Meta {
                vault_id,
                unlock: meta_unlock,
                key_check,
            },
            master,
            secrets: BTreeMap::new(),
            store,
        };
        let written = fsio::ensure_dir(&vault.dir)
            .and_then(|()| vault.write_vault_file())
            // The metadata is written last: its presence marks a complete vault.
            .and_then(|()| fsio::write_atomic(&meta_path, vault.meta.encode().as_bytes()));
        if let Err(e) = written {
            let _ignored = fsio::remove_if_present(&vault_path);
            if let Some(slot) = slot {
                let _ignored = slot.delete();
            }
            return Err(e);
        }
        Ok(vault)
    }

    /// Opens the vault in `dir`. Never writes anything: a locked or missing
    /// keychain, a wrong passphrase or a damaged file leave every file and
    /// keychain entry as it was.
    pub fn open(dir: impl AsRef<Path>, unlock: Unlock) -> Result<Vault, VaultError> {
        let dir = dir.as_ref().to_path_buf();
        let meta = read_meta(&dir)?;
        let vault_uses = method_of(&meta);
        if unlock.method() != vault_uses {
            return Err(VaultError::WrongUnlockMethod {
                dir,
                vault_uses,
                tried: unlock.method(),
            });
        }
        let vault_path = dir.join(VAULT_FILE);
        let sealed = fsio::read_optional(&vault_path)?.ok_or_else(|| {
            VaultError::corrupt(&vault_path, "missing although vault.meta exists")
        })?;
        let (master, store) = match (&meta.unlock, unlock) {
            (
                MetaUnlock::Passphrase {
                    params,
                    salt,
                    wrapped,
                },
                Unlock::Passphrase(pass),
            ) => {
                let kek = crypto::derive_kek(&pass, salt, *params)?;
                let raw = crypto::open(&kek, wrapped)
                    .ok_or_else(|| VaultError::WrongPassphrase { dir: dir.clone() })?;
                let master = Key32::from_slice(&raw).ok_or_else(|| {
                    VaultError::corrupt(dir.join(META_FILE), "wrapped master key has a bad length")
                })?;
                if !key_check_ok(&master, &meta) {
                    return Err(VaultError::corrupt(dir.join(META_FILE), "key check failed"));
                }
                (master, None)
            }
            (MetaUnlock::Keychain { service, user }, unlock) => {
                let store = match unlock {
                    Unlock::KeychainStore(s) => s,
                    _ => platform_store()?,
                };
                let master = KeychainSlot::new(&store, service, user)?.get()?;
                if !key_check_ok(&master, &meta) {
                    return Err(VaultError::KeychainKeyMismatch {
                        service: service.clone(),
                        user: user.clone(),
                    });
                }
                (master, Some(store))
            }
            // Excluded by the method check above.
            (_, unlock) => {
                return Err(VaultError::WrongUnlockMethod {
                    dir,
                    vault_uses,
                    tried: unlock.method(),
                });
            }
        };
        let body = sealed
            .strip_prefix(&MAGIC[..])
            .ok_or_else(|| VaultError::corrupt(&vault_path, "not a MailVortex vault file"))?;
        let payload = crypto::open(&master, body).ok_or_else(|| {
            VaultError::corrupt(&vault_path, "authentication failed (modified or truncated)")
        })?;
        let secrets = format::decode_payload(&vault_path, &meta.vault_id, &payload)?;
        Ok(Vault {
            dir,
            meta,
            master,
            secrets,
            store,
        })
    }

    /// Which unlock method the vault in `dir` uses, read from its metadata
    /// without unlocking anything (e.g. to decide whether to ask for a
    /// passphrase).
    pub fn probe(dir: impl AsRef<Path>) -> Result<UnlockMethod, VaultError> {
        read_meta(dir.as_ref()).map(|m| method_of(&m))
    }

    /// The unlock method of this vault.
    pub fn unlock_method(&self) -> UnlockMethod {
        method_of(&self.meta)
    }

    /// The node directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A secret by name.
    pub fn get(&self, name: &str) -> Option<&SecretBytes> {
        self.secrets.get(name)
    }

    /// Names of all stored secrets, in byte order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.secrets.keys().map(String::as_str)
    }

    /// Stores (or replaces) a secret and saves the vault atomically.
    ///
    /// Names are 1..=255 bytes of UTF-8 (for example `account/alice@example.org/password`).
    pub fn set(&mut self, name: &str, value: impl Into<SecretBytes>) -> Result<(), VaultError> {
        check_name(name)?;
        let value = value.into();
        if u32::try_from(value.len()).is_err() {
            return Err(VaultError::SecretTooLarge {
                name: name.to_owned(),
            });
        }
        let previous = self.secrets.insert(name.to_owned(), value);
        if let Err(e) = self.write_vault_file() {
            match previous {
                Some(p) => self.secrets.insert(name.to_owned(), p),
                None => self.secrets.remove(name),
            };
            return Err(e);
        }
        Ok(())
    }

    /// Removes a secret and saves the vault atomically. Returns whether it existed.
    pub fn remove(&mut self, name: &str) -> Result<bool, VaultError> {
        let Some(previous) = self.secrets.remove(name) else {
            return Ok(false);
        };
        if let Err(e) = self.write_vault_file() {
            self.secrets.insert(name.to_owned(), previous);
            return Err(e);
        }
        Ok(true)
    }

    /// Deletes the vault: its two files and, for keychain vaults, the keychain
    /// entry. The files go first; if the keychain entry cannot be removed the
    /// error says so (the stale entry is harmless and can be deleted by hand).
    pub fn destroy(self) -> Result<(), VaultError> {
        fsio::remove_if_present(&self.dir.join(META_FILE))?;
        fsio::remove_if_present(&self.dir.join(VAULT_FILE))?;
        if let (MetaUnlock::Keychain { service, user }, Some(store)) =
            (&self.meta.unlock, &self.store)
        {
            KeychainSlot::new(store, service, user)?.delete()?;
        }
        Ok(())
    }

    fn write_vault_file(&self) -> Result<(), VaultError> {
        let payload = format::encode_payload(&self.meta.vault_id, &self.secrets)?;
        let sealed = crypto::seal(&self.master, &payload)?;
        let mut file = Vec::with_capacity(MAGIC.len() + sealed.len());
        file.extend_from_slice(MAGIC);
        file.extend_from_slice(&sealed);
        fsio::write_atomic(&self.dir.join(VAULT_FILE), &file)
    }
}

fn read_meta(dir: &Path) -> Result<Meta, VaultError> {
    let meta_path = dir.join(META_FILE);
    let bytes = fsio::read_optional(&meta_path)?.ok_or_else(|| VaultError::NotFound {
        dir: dir.to_path_buf(),
        missing: meta_path.clone(),
    })?;
    Meta::decode(&meta_path, &bytes)
}

fn method_of(meta: &Meta) -> UnlockMethod {
    match meta.unlock {
        MetaUnlock::Keychain { .. } => UnlockMethod::Keychain,
        MetaUnlock::Passphrase { .. } => UnlockMethod::Passphrase,
    }
}

fn key_check_plaintext(vault_id: &[u8; ID_LEN]) -> Vec<u8> {
    let mut v = KEY_CHECK.to_vec();
    v.extend_from_slice(vault_id);
    v
}

fn key_check_ok(master: &Key32, meta: &Meta) -> bool {
    crypto::open(master, &meta.key_check)
        .is_some_and(|p| p[..] == key_check_plaintext(&meta.vault_id)[..])
}

fn check_name(name: &str) -> Result<(), VaultError> {
    let reason = if name.is_empty() {
        "empty"
    } else if name.len() > 255 {
        "longer than 255 bytes"
    } else if name.chars().any(char::is_control) {
        "contains control characters"
    } else {
        return Ok(());
    };
    Err(VaultError::InvalidName {
        name: name.chars().take(64).collect(),
        reason,
    })
}
