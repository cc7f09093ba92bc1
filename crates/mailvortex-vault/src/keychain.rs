//! Access to the OS keychain through `keyring-core`.
//!
//! The platform store is chosen with `cfg`: the Secret Service over D-Bus on
//! Linux (`zbus-secret-service-keyring-store`, pure Rust), the login keychain
//! on macOS, the Credential Manager on Windows. Other platforms report
//! [`VaultError::KeychainUnavailable`]. No process-global default store is
//! installed: every entry is built from an explicit store, so an application
//! may use `keyring-core` for its own purposes without interference.
//!
//! The master key is stored as a 64-character lowercase hex *password*, not
//! as a binary secret, because some Secret Service providers (KDE Wallet)
//! only keep UTF-8.

use std::collections::HashMap;
use std::sync::Arc;

use keyring_core::{CredentialStore, Entry, Error as KrError};
use zeroize::Zeroizing;

use crate::crypto::{KEY_LEN, Key32};
use crate::error::VaultError;

/// Keychain service name of every MailVortex vault.
pub const KEYCHAIN_SERVICE: &str = "mailvortex";

/// Connects to this platform's keychain.
pub(crate) fn platform_store() -> Result<Arc<CredentialStore>, VaultError> {
    #[cfg(target_os = "linux")]
    {
        let store: Arc<CredentialStore> =
            zbus_secret_service_keyring_store::Store::new().map_err(unavailable)?;
        Ok(store)
    }
    #[cfg(target_os = "macos")]
    {
        let store: Arc<CredentialStore> =
            apple_native_keyring_store::keychain::Store::new().map_err(unavailable)?;
        Ok(store)
    }
    #[cfg(target_os = "windows")]
    {
        let store: Arc<CredentialStore> =
            windows_native_keyring_store::Store::new().map_err(unavailable)?;
        Ok(store)
    }
    #[cfg(not(any(target_os = "linux", target_os = "macos", target_os = "windows")))]
    {
        Err(VaultError::KeychainUnavailable {
            detail: "this build has no OS keychain support for this platform".to_owned(),
        })
    }
}

/// Any keychain error seen while connecting means "unavailable".
fn unavailable(e: KrError) -> VaultError {
    VaultError::KeychainUnavailable {
        detail: e.to_string(),
    }
}

/// One keychain entry: the master key of one vault.
pub(crate) struct KeychainSlot {
    entry: Entry,
    service: String,
    user: String,
}

impl KeychainSlot {
    pub(crate) fn new(
        store: &Arc<CredentialStore>,
        service: &str,
        user: &str,
    ) -> Result<Self, VaultError> {
        let label = format!("MailVortex vault master key ({user})");
        let mods = HashMap::from([("label", label.as_str())]);
        // Not every store accepts a label: retry without modifiers.
        let entry = match Entry::new_in_store_with_modifiers(store, service, user, &mods) {
            Ok(e) => e,
            Err(KrError::NotSupportedByStore(_) | KrError::Invalid(..)) => {
                Entry::new_in_store(store, service, user).map_err(|e| classify(e, service, user))?
            }
            Err(e) => return Err(classify(e, service, user)),
        };
        Ok(KeychainSlot {
            entry,
            service: service.to_owned(),
            user: user.to_owned(),
        })
    }

    fn classify(&self, e: KrError) -> VaultError {
        classify(e, &self.service, &self.user)
    }

    /// Reads the master key.
    pub(crate) fn get(&self) -> Result<Key32, VaultError> {
        let hex_key = Zeroizing::new(self.entry.get_password().map_err(|e| self.classify(e))?);
        let mut raw = Zeroizing::new([0u8; KEY_LEN]);
        hex::decode_to_slice(hex_key.as_bytes(), &mut raw[..]).map_err(|_| {
            VaultError::KeychainEntryInvalid {
                service: self.service.clone(),
                user: self.user.clone(),
                detail: format!("expected {} hex digits", 2 * KEY_LEN),
            }
        })?;
        Key32::from_slice(&raw[..]).ok_or_else(|| VaultError::KeychainEntryInvalid {
            service: self.service.clone(),
            user: self.user.clone(),
            detail: "wrong length".to_owned(),
        })
    }

    /// Stores the master key and reads it back, so that a store which accepts
    /// writes but keeps nothing is caught at creation time, not at next start.
    pub(crate) fn set(&self, key: &Key32) -> Result<(), VaultError> {
        let hex_key = Zeroizing::new(hex::encode(key.as_bytes()));
        self.entry
            .set_password(&hex_key)
            .map_err(|e| self.classify(e))?;
        match self.get() {
            Ok(back) if back.as_bytes() == key.as_bytes() => Ok(()),
            Ok(_) | Err(VaultError::MasterKeyMissing { .. }) => {
                // Do not leave a half-working entry behind.
                let _ignored = self.delete();
                Err(VaultError::KeychainFailed {
                    detail: "the keychain accepted the master key but did not return it".to_owned(),
                })
            }
            Err(e) => Err(e),
        }
    }

    /// Deletes the entry; a missing entry is not an error.
    pub(crate) fn delete(&self) -> Result<(), VaultError> {
        match self.entry.delete_credential() {
            Ok(()) | Err(KrError::NoEntry) => Ok(()),
            Err(e) => Err(self.classify(e)),
        }
    }
}

/// Maps a keyring-core error to the vault's error vocabulary.
fn classify(e: KrError, service: &str, user: &str) -> VaultError {
    let service = service.to_owned();
    let user = user.to_owned();
    match e {
        KrError::NoStorageAccess(inner) => VaultError::KeychainLocked {
            detail: inner.to_string(),
        },
        KrError::NoEntry => VaultError::MasterKeyMissing { service, user },
        KrError::PlatformFailure(inner) => VaultError::KeychainUnavailable {
            detail: inner.to_string(),
        },
        KrError::NoDefaultStore => VaultError::KeychainUnavailable {
            detail: "no credential store".to_owned(),
        },
        KrError::BadEncoding(_) => VaultError::KeychainEntryInvalid {
            service,
            user,
            detail: "not UTF-8".to_owned(),
        },
        KrError::BadDataFormat(_, inner) => VaultError::KeychainEntryInvalid {
            service,
            user,
            detail: inner.to_string(),
        },
        KrError::Ambiguous(entries) => VaultError::KeychainEntryInvalid {
            service,
            user,
            detail: format!(
                "{} entries match; delete the extra ones in the keychain manager",
                entries.len()
            ),
        },
        other => VaultError::KeychainFailed {
            detail: other.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_mapping() {
        let boxed = || -> Box<dyn std::error::Error + Send + Sync> { "x".into() };
        assert!(matches!(
            classify(KrError::NoStorageAccess(boxed()), "s", "u"),
            VaultError::KeychainLocked { .. }
        ));
        assert!(matches!(
            classify(KrError::NoEntry, "s", "u"),
            VaultError::MasterKeyMissing { .. }
        ));
        assert!(matches!(
            classify(KrError::PlatformFailure(boxed()), "s", "u"),
            VaultError::KeychainUnavailable { .. }
        ));
    }
}
