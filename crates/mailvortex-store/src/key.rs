//! [`StoreKey`] and the sealing of encrypted columns.
//!
//! A sealed column is `nonce (24) || XSalsa20-Poly1305(key, plaintext)` with
//! a fresh random nonce per write. The plaintext starts with a 4-byte domain
//! label and the row's key (for example the message id), which are checked on
//! decryption: a sealed blob copied into another row, or another column, does
//! not open. (`crypto_secretbox` has no associated data, hence this binding.)

use std::fmt;

use crypto_secretbox::aead::rand_core::RngCore;
use crypto_secretbox::aead::{Aead, KeyInit, OsRng};
use crypto_secretbox::{Key, Nonce, XSalsa20Poly1305};
use zeroize::Zeroizing;

use crate::error::StoreError;

const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;

/// Domain labels of sealed columns.
pub(crate) const DOMAIN_KEY_CHECK: &[u8; 4] = b"KCK1";
pub(crate) const DOMAIN_MESSAGE_IN: &[u8; 4] = b"MIN1";
pub(crate) const DOMAIN_SHARD: &[u8; 4] = b"SHD1";

/// The 32-byte key that encrypts the store's sensitive columns
/// (`messages_in.sealed`, `inbound_shards.sealed`).
///
/// Keep it in the vault (`mailvortex-vault`); wiped on drop, never printed.
pub struct StoreKey(Zeroizing<[u8; 32]>);

impl StoreKey {
    /// Wraps 32 key bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        StoreKey(Zeroizing::new(bytes))
    }

    /// From a slice; `None` unless it is exactly 32 bytes.
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        let arr: [u8; 32] = bytes.try_into().ok()?;
        Some(StoreKey::from_bytes(arr))
    }

    /// A fresh random key from the operating system's CSPRNG.
    pub fn generate() -> Result<Self, StoreError> {
        let mut k = Zeroizing::new([0u8; 32]);
        fill_random(&mut k[..])?;
        Ok(StoreKey(k))
    }

    /// The key bytes (to store them in the vault).
    pub fn expose_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    fn cipher(&self) -> XSalsa20Poly1305 {
        XSalsa20Poly1305::new(Key::from_slice(&self.0[..]))
    }

    /// Seals `body` for the row identified by `domain` and `binding`.
    pub(crate) fn seal(
        &self,
        domain: &[u8; 4],
        binding: &[u8],
        body: &[u8],
    ) -> Result<Vec<u8>, StoreError> {
        let mut plain = Zeroizing::new(Vec::with_capacity(4 + binding.len() + body.len()));
        plain.extend_from_slice(domain);
        plain.extend_from_slice(binding);
        plain.extend_from_slice(body);
        let mut nonce = [0u8; NONCE_LEN];
        fill_random(&mut nonce)?;
        let ct = self
            .cipher()
            .encrypt(Nonce::from_slice(&nonce), plain.as_slice())
            .map_err(|_| StoreError::InvalidInput {
                what: "value too large to encrypt",
            })?;
        let mut out = Vec::with_capacity(NONCE_LEN + ct.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        Ok(out)
    }

    /// Opens a sealed blob; `Err(reason)` if it does not authenticate or is
    /// bound to another row.
    pub(crate) fn open(
        &self,
        domain: &[u8; 4],
        binding: &[u8],
        sealed: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, &'static str> {
        let (nonce, ct) = sealed
            .split_at_checked(NONCE_LEN)
            .filter(|(_, ct)| ct.len() >= TAG_LEN)
            .ok_or("too short")?;
        let plain = Zeroizing::new(
            self.cipher()
                .decrypt(Nonce::from_slice(nonce), ct)
                .map_err(|_| "authentication failed (wrong key or modified)")?,
        );
        let prefix_len = 4 + binding.len();
        match plain.split_at_checked(prefix_len) {
            Some((prefix, body))
                if prefix.get(..4) == Some(&domain[..]) && prefix.get(4..) == Some(binding) =>
            {
                Ok(Zeroizing::new(body.to_vec()))
            }
            _ => Err("bound to another row (rows swapped?)"),
        }
    }
}

impl fmt::Debug for StoreKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StoreKey([REDACTED])")
    }
}

pub(crate) fn fill_random(buf: &mut [u8]) -> Result<(), StoreError> {
    OsRng.try_fill_bytes(buf).map_err(|e| StoreError::Random {
        detail: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binding_is_checked() -> Result<(), StoreError> {
        let k = StoreKey::generate()?;
        let sealed = k.seal(DOMAIN_MESSAGE_IN, b"id-1", b"body")?;
        assert_eq!(
            k.open(DOMAIN_MESSAGE_IN, b"id-1", &sealed)
                .map(|b| b.to_vec()),
            Ok(b"body".to_vec())
        );
        assert!(k.open(DOMAIN_MESSAGE_IN, b"id-2", &sealed).is_err());
        assert!(k.open(DOMAIN_SHARD, b"id-1", &sealed).is_err());
        assert!(
            StoreKey::generate()?
                .open(DOMAIN_MESSAGE_IN, b"id-1", &sealed)
                .is_err()
        );
        assert!(!format!("{k:?}").contains(&format!("{:?}", k.expose_bytes())));
        Ok(())
    }
}
