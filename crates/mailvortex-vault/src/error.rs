//! The one error type of this crate.
//!
//! Every variant says what happened, what the user can do, and — for every
//! failure before a write — that nothing was changed. Messages never contain
//! secret bytes.

use std::fmt;
use std::io;
use std::path::PathBuf;

/// How a vault's master key is unlocked (recorded in the plaintext metadata).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UnlockMethod {
    /// The master key lives in the OS keychain (Secret Service, macOS Keychain,
    /// Windows Credential Manager).
    Keychain,
    /// The master key is wrapped under a key derived from a passphrase with
    /// Argon2id and stored in the metadata file.
    Passphrase,
}

impl fmt::Display for UnlockMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            UnlockMethod::Keychain => "the OS keychain",
            UnlockMethod::Passphrase => "a passphrase",
        })
    }
}

/// Everything that can go wrong with a vault.
///
/// Keychain failures never delete or rewrite anything: the vault files and the
/// keychain entry are left exactly as they were, so the user can fix the
/// keychain and retry.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VaultError {
    /// No keychain service could be reached (no D-Bus session bus, no Secret
    /// Service provider, or no keychain support on this platform).
    #[error(
        "no OS keychain is reachable: start a Secret Service provider such as gnome-keyring or \
         KeePassXC, or use a passphrase-protected vault instead; nothing was changed ({detail})"
    )]
    KeychainUnavailable {
        /// What the keychain layer reported.
        detail: String,
    },
    /// The keychain is reachable but locked, and unlocking it was refused or
    /// could not be prompted for.
    #[error("the OS keychain is locked — unlock it and retry; nothing was changed ({detail})")]
    KeychainLocked {
        /// What the keychain layer reported.
        detail: String,
    },
    /// The keychain is reachable and unlocked, but the entry holding this
    /// vault's master key is gone.
    #[error(
        "the OS keychain has no master key for this vault (service \"{service}\", user \"{user}\"): \
         it was deleted, or this node directory was copied from another account or machine; \
         restore that keychain entry from a backup and retry — the vault files were not changed"
    )]
    MasterKeyMissing {
        /// Keychain service name (always `mailvortex`).
        service: String,
        /// Keychain user name (the vault id from the metadata file).
        user: String,
    },
    /// The keychain entry exists but holds a different key than the one this
    /// vault was created with.
    #[error(
        "the OS keychain entry (service \"{service}\", user \"{user}\") holds a key that does not \
         open this vault; it was overwritten by another program or restored from the wrong \
         backup — nothing was changed"
    )]
    KeychainKeyMismatch {
        /// Keychain service name.
        service: String,
        /// Keychain user name.
        user: String,
    },
    /// The keychain entry is not a MailVortex master key (bad encoding, wrong
    /// length, or several entries match).
    #[error(
        "the OS keychain entry (service \"{service}\", user \"{user}\") is not a usable MailVortex \
         master key ({detail}); nothing was changed"
    )]
    KeychainEntryInvalid {
        /// Keychain service name.
        service: String,
        /// Keychain user name.
        user: String,
        /// What is wrong with it.
        detail: String,
    },
    /// Any other keychain failure.
    #[error("the OS keychain failed; nothing was changed ({detail})")]
    KeychainFailed {
        /// What the keychain layer reported.
        detail: String,
    },
    /// The passphrase does not unwrap the master key.
    #[error("wrong passphrase for the vault in {dir}; nothing was changed")]
    WrongPassphrase {
        /// The node directory.
        dir: PathBuf,
    },
    /// Passphrase vaults need a non-empty passphrase.
    #[error("the passphrase is empty; choose a passphrase (nothing was created)")]
    EmptyPassphrase,
    /// The vault was opened with the other unlock method.
    #[error(
        "the vault in {dir} is unlocked with {vault_uses}, not with {tried}; nothing was changed"
    )]
    WrongUnlockMethod {
        /// The node directory.
        dir: PathBuf,
        /// The method recorded in the vault metadata.
        vault_uses: UnlockMethod,
        /// The method that was tried.
        tried: UnlockMethod,
    },
    /// A vault file is damaged, truncated or was modified.
    #[error("{path} is damaged or was modified ({reason}); restore it from a backup")]
    Corrupt {
        /// The damaged file.
        path: PathBuf,
        /// What check failed.
        reason: String,
    },
    /// There is no vault in this directory.
    #[error("there is no vault in {dir} ({missing} is missing); create one first")]
    NotFound {
        /// The node directory.
        dir: PathBuf,
        /// The missing file.
        missing: PathBuf,
    },
    /// `create` found an existing vault file and refused to overwrite it.
    #[error("{path} already exists; refusing to overwrite an existing vault (nothing was changed)")]
    AlreadyExists {
        /// The existing file.
        path: PathBuf,
    },
    /// A file system operation failed.
    #[error("file system error on {path}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// Secret names are 1..=255 bytes of UTF-8.
    #[error("invalid secret name {name:?}: {reason}")]
    InvalidName {
        /// The rejected name.
        name: String,
        /// Why.
        reason: &'static str,
    },
    /// A secret is too large for the vault format (4 GiB).
    #[error("the secret {name:?} is too large for the vault")]
    SecretTooLarge {
        /// The secret's name.
        name: String,
    },
    /// The whole vault is too large to encrypt in one piece.
    #[error("the vault is too large to encrypt; store large data elsewhere")]
    VaultTooLarge,
    /// Argon2 parameters out of the accepted range.
    #[error("invalid Argon2id parameters: {reason}")]
    InvalidKdfParams {
        /// Why.
        reason: String,
    },
    /// The operating system's random number generator failed.
    #[error(
        "the operating system's random number generator failed ({detail}); nothing was changed"
    )]
    Random {
        /// What failed.
        detail: String,
    },
}

impl VaultError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: io::Error) -> Self {
        VaultError::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn corrupt(path: impl Into<PathBuf>, reason: impl Into<String>) -> Self {
        VaultError::Corrupt {
            path: path.into(),
            reason: reason.into(),
        }
    }
}
