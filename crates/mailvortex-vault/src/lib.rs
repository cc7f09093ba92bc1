//! MailVortex secret vault: the secrets of one node home, encrypted at rest.
//!
//! A node home directory holds two files:
//!
//! * `vault.meta` — plaintext metadata: a random vault id, the unlock method,
//!   and for passphrase vaults the Argon2id parameters, the salt and the
//!   wrapped master key (see [Files](crate#files) below);
//! * `vault.bin` — all named secrets (account passwords, identity and epoch
//!   secret keys, the store key, ...) as one map `name → bytes`, encrypted as a
//!   whole with XSalsa20-Poly1305 (`crypto_secretbox`) under a 32-byte random
//!   **master key**, rewritten atomically (temporary file, fsync, rename, fsync
//!   of the directory) with mode 0600 on every change.
//!
//! The master key is unlocked in one of two ways ([`Unlock`]):
//!
//! * **OS keychain** ([`Unlock::Keychain`]): the key is an entry with service
//!   `mailvortex` and user = the vault id, in the Secret Service (Linux, via
//!   D-Bus), the macOS login keychain or the Windows Credential Manager.
//!   Only the Linux store is exercised by this crate's tests; the macOS and
//!   Windows stores are compiled behind `cfg` and have not been built here.
//! * **Passphrase** ([`Unlock::Passphrase`]), for headless nodes: Argon2id
//!   (m = 64 MiB, t = 3, p = 1 by default, see [`Argon2Params`]) turns the
//!   passphrase and a random 16-byte salt into a key-encryption key that
//!   unwraps the master key stored in `vault.meta`.
//!
//! # What this crate must never do
//!
//! * write a secret, the master key or a passphrase to disk unencrypted, or
//!   print one (`Debug` of every secret-holding type is redacted);
//! * delete or rewrite anything because the keychain is locked, unreachable or
//!   missing the entry: those are errors that say "nothing was changed";
//! * install a process-global `keyring-core` default store;
//! * touch the network.
//!
//! # Threat model
//!
//! Protected: the secrets against anyone who gets a copy of the node directory
//! (a backup, a stolen disk, another user on the machine who can read the
//! files) but not the keychain entry or the passphrase. Tampering with either
//! file is detected ([`VaultError::Corrupt`]); `vault.bin` is bound to its
//! metadata by the vault id inside the encrypted payload.
//!
//! Not protected:
//!
//! * code running as the same OS user while the vault is open, or while the
//!   keychain is unlocked (a desktop keychain hands the key to any process of
//!   the user that asks; Secret Service has no per-application access control);
//! * **rollback**: an attacker who can write the directory can put back an
//!   older, validly encrypted `vault.bin` (for example one with a retired
//!   epoch key); detect this at a higher layer if it matters;
//! * secrets in swap, core dumps or copies made by the keychain libraries
//!   (the master key passes through `keyring-core` as a `String`); this crate
//!   zeroizes its own buffers only;
//! * metadata: the number and total size of secrets is visible from the file
//!   length, and `vault.meta` reveals the unlock method.
//!
//! The **headless passphrase mode** trades the keychain's "unlocked with the
//! login session" convenience for a secret the user must type (or a service
//! manager must supply) at every start. Its strength is the passphrase's
//! entropy multiplied by the Argon2id cost: an attacker with the files can
//! guess offline at roughly one guess per 64 MiB × 3 passes; a weak
//! passphrase falls quickly. A passphrase kept in a plaintext file next to the
//! vault protects nothing. The keychain mode, conversely, loses the vault if
//! the keychain entry is lost (new machine, reset keyring): back up both, or
//! prefer the passphrase mode where the keychain is not backed up.
//!
//! # Files
//!
//! The exact byte formats are documented in the private `format` module;
//! they are versioned (`format = 1`, magic `MVVAULT\x01`).

mod crypto;
mod error;
mod format;
mod fsio;
mod keychain;
mod secret;
mod vault;

pub use crate::crypto::Argon2Params;
pub use crate::error::{UnlockMethod, VaultError};
pub use crate::keychain::KEYCHAIN_SERVICE;
pub use crate::secret::SecretBytes;
pub use crate::vault::{META_FILE, Unlock, VAULT_FILE, Vault};
/// Re-exported so callers can build [`Unlock::KeychainStore`] values.
pub use keyring_core;
/// Re-exported: [`SecretString`] for passphrases, [`ExposeSecret`] to read
/// [`SecretBytes`].
pub use secrecy::{ExposeSecret, SecretString};
