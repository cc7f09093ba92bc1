//! On-disk formats: the plaintext metadata file and the encrypted vault file.
//!
//! `vault.meta` (plaintext, UTF-8, `key = value` lines):
//!
//! ```text
//! # MailVortex vault metadata ...
//! format = 1
//! vault_id = <16 bytes hex>
//! unlock = keychain | passphrase
//! keychain_service = mailvortex          (keychain only)
//! keychain_user = <vault_id hex>         (keychain only)
//! kdf = argon2id-v19                     (passphrase only)
//! kdf_m_kib = 65536                      (passphrase only)
//! kdf_t = 3                              (passphrase only)
//! kdf_p = 1                              (passphrase only)
//! kdf_salt = <16 bytes hex>              (passphrase only)
//! wrapped_master_key = <hex>             (passphrase only: seal(KEK, master key))
//! key_check = <hex>                      (seal(master key, KEY_CHECK || vault_id))
//! ```
//!
//! `vault.bin`: `MAGIC (8) || nonce (24) || XSalsa20-Poly1305(master key,
//! payload)` where payload = `vault_id (16) || count (u32 BE) || count ×
//! (name_len (u8) || name (UTF-8) || value_len (u32 BE) || value)`, names in
//! byte order. The vault id inside the payload binds the file to its metadata.

use std::collections::BTreeMap;
use std::path::Path;

use secrecy::ExposeSecret;
use zeroize::Zeroizing;

use crate::crypto::{Argon2Params, SALT_LEN};
use crate::error::VaultError;
use crate::secret::SecretBytes;

/// First bytes of `vault.bin`.
pub(crate) const MAGIC: &[u8; 8] = b"MVVAULT\x01";
/// Plaintext sealed into `key_check` (followed by the vault id).
pub(crate) const KEY_CHECK: &[u8] = b"mailvortex-vault key check v1";
/// Length of the random vault id.
pub(crate) const ID_LEN: usize = 16;
const FORMAT: &str = "1";
const KDF_NAME: &str = "argon2id-v19";

/// How the master key of a vault is protected, as recorded in the metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum MetaUnlock {
    Keychain {
        service: String,
        user: String,
    },
    Passphrase {
        params: Argon2Params,
        salt: [u8; SALT_LEN],
        wrapped: Vec<u8>,
    },
}

/// The parsed metadata file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Meta {
    pub(crate) vault_id: [u8; ID_LEN],
    pub(crate) unlock: MetaUnlock,
    pub(crate) key_check: Vec<u8>,
}

impl Meta {
    pub(crate) fn encode(&self) -> String {
        let mut s = String::from(
            "# MailVortex vault metadata. Not secret, but vault.bin cannot be opened without it.\n\
             # Do not edit. Back it up together with vault.bin.\n",
        );
        let mut line = |k: &str, v: &str| {
            s.push_str(k);
            s.push_str(" = ");
            s.push_str(v);
            s.push('\n');
        };
        line("format", FORMAT);
        line("vault_id", &hex::encode(self.vault_id));
        match &self.unlock {
            MetaUnlock::Keychain { service, user } => {
                line("unlock", "keychain");
                line("keychain_service", service);
                line("keychain_user", user);
            }
            MetaUnlock::Passphrase {
                params,
                salt,
                wrapped,
            } => {
                line("unlock", "passphrase");
                line("kdf", KDF_NAME);
                line("kdf_m_kib", &params.m_kib().to_string());
                line("kdf_t", &params.t().to_string());
                line("kdf_p", &params.p().to_string());
                line("kdf_salt", &hex::encode(salt));
                line("wrapped_master_key", &hex::encode(wrapped));
            }
        }
        line("key_check", &hex::encode(&self.key_check));
        s
    }

    pub(crate) fn decode(path: &Path, bytes: &[u8]) -> Result<Meta, VaultError> {
        let corrupt = |reason: String| VaultError::corrupt(path, reason);
        let text = std::str::from_utf8(bytes).map_err(|_| corrupt("not UTF-8".into()))?;
        let mut fields = BTreeMap::new();
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (k, v) = line
                .split_once('=')
                .ok_or_else(|| corrupt(format!("line without '=': {line:?}")))?;
            if fields.insert(k.trim(), v.trim()).is_some() {
                return Err(corrupt(format!("duplicate field {:?}", k.trim())));
            }
        }
        let mut take = |k: &str| {
            fields
                .remove(k)
                .ok_or_else(|| corrupt(format!("missing field {k:?}")))
        };
        let format = take("format")?;
        if format != FORMAT {
            return Err(corrupt(format!(
                "format {format:?} is not supported (written by a newer MailVortex?)"
            )));
        }
        let vault_id =
            hex_array::<ID_LEN>(take("vault_id")?).ok_or_else(|| corrupt("bad vault_id".into()))?;
        let unlock = match take("unlock")? {
            "keychain" => MetaUnlock::Keychain {
                service: take("keychain_service")?.to_owned(),
                user: take("keychain_user")?.to_owned(),
            },
            "passphrase" => {
                let kdf = take("kdf")?;
                if kdf != KDF_NAME {
                    return Err(corrupt(format!("unknown kdf {kdf:?}")));
                }
                let num = |v: &str, k: &str| {
                    v.parse::<u32>()
                        .map_err(|_| corrupt(format!("bad number in {k}")))
                };
                let m = num(take("kdf_m_kib")?, "kdf_m_kib")?;
                let t = num(take("kdf_t")?, "kdf_t")?;
                let p = num(take("kdf_p")?, "kdf_p")?;
                let params = Argon2Params::new(m, t, p)
                    .map_err(|e| corrupt(format!("kdf parameters out of range: {e}")))?;
                let salt = hex_array::<SALT_LEN>(take("kdf_salt")?)
                    .ok_or_else(|| corrupt("bad kdf_salt".into()))?;
                let wrapped = hex::decode(take("wrapped_master_key")?)
                    .map_err(|_| corrupt("bad wrapped_master_key".into()))?;
                MetaUnlock::Passphrase {
                    params,
                    salt,
                    wrapped,
                }
            }
            other => return Err(corrupt(format!("unknown unlock method {other:?}"))),
        };
        let key_check =
            hex::decode(take("key_check")?).map_err(|_| corrupt("bad key_check".into()))?;
        if let Some(k) = fields.keys().next() {
            return Err(corrupt(format!("unknown field {k:?}")));
        }
        Ok(Meta {
            vault_id,
            unlock,
            key_check,
        })
    }
}

fn hex_array<const N: usize>(s: &str) -> Option<[u8; N]> {
    hex::decode(s).ok()?.try_into().ok()
}

/// Serialises the secrets map into the vault payload (before encryption).
///
/// The buffer is allocated once with its final size, so no partial copies of
/// the secrets are left in freed memory; it is wiped on drop.
pub(crate) fn encode_payload(
    vault_id: &[u8; ID_LEN],
    secrets: &BTreeMap<String, SecretBytes>,
) -> Result<Zeroizing<Vec<u8>>, VaultError> {
    let mut len = ID_LEN + 4;
    for (name, value) in secrets {
        len = len.saturating_add(1 + name.len() + 4 + value.len());
    }
    let count = u32::try_from(secrets.len()).map_err(|_| VaultError::VaultTooLarge)?;
    let mut out = Zeroizing::new(Vec::with_capacity(len));
    out.extend_from_slice(vault_id);
    out.extend_from_slice(&count.to_be_bytes());
    for (name, value) in secrets {
        let name_len = u8::try_from(name.len()).map_err(|_| VaultError::InvalidName {
            name: name.clone(),
            reason: "longer than 255 bytes",
        })?;
        let value_len = u32::try_from(value.len())
            .map_err(|_| VaultError::SecretTooLarge { name: name.clone() })?;
        out.push(name_len);
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(&value_len.to_be_bytes());
        out.extend_from_slice(value.expose_secret());
    }
    Ok(out)
}

/// Parses a decrypted vault payload, checking that it belongs to `vault_id`.
pub(crate) fn decode_payload(
    path: &Path,
    vault_id: &[u8; ID_LEN],
    payload: &[u8],
) -> Result<BTreeMap<String, SecretBytes>, VaultError> {
    let corrupt = |reason: &str| VaultError::corrupt(path, reason);
    let mut r = Reader(payload);
    let id = r.take(ID_LEN).ok_or_else(|| corrupt("truncated header"))?;
    if id != vault_id {
        return Err(corrupt(
            "vault.bin belongs to another vault than vault.meta (files mixed up?)",
        ));
    }
    let count = r.u32().ok_or_else(|| corrupt("truncated header"))?;
    let mut secrets = BTreeMap::new();
    for _ in 0..count {
        let name_len = r.take(1).and_then(|b| b.first().copied());
        let name = name_len
            .and_then(|n| r.take(usize::from(n)))
            .ok_or_else(|| corrupt("truncated entry name"))?;
        let name = std::str::from_utf8(name).map_err(|_| corrupt("entry name is not UTF-8"))?;
        let value_len = r.u32().ok_or_else(|| corrupt("truncated entry"))?;
        let value = usize::try_from(value_len)
            .ok()
            .and_then(|n| r.take(n))
            .ok_or_else(|| corrupt("truncated entry value"))?;
        if secrets
            .insert(name.to_owned(), SecretBytes::from(value))
            .is_some()
        {
            return Err(corrupt("duplicate entry name"));
        }
    }
    if !r.0.is_empty() {
        return Err(corrupt("trailing bytes after the last entry"));
    }
    Ok(secrets)
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, rest) = self.0.split_at_checked(n)?;
        self.0 = rest;
        Some(head)
    }

    fn u32(&mut self) -> Option<u32> {
        let b: [u8; 4] = self.take(4)?.try_into().ok()?;
        Some(u32::from_be_bytes(b))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample_meta(unlock: MetaUnlock) -> Meta {
        Meta {
            vault_id: [7; ID_LEN],
            unlock,
            key_check: vec![1, 2, 3],
        }
    }

    #[test]
    fn meta_round_trips() -> Result<(), VaultError> {
        let path = Path::new("vault.meta");
        for unlock in [
            MetaUnlock::Keychain {
                service: "mailvortex".into(),
                user: "0707".into(),
            },
            MetaUnlock::Passphrase {
                params: Argon2Params::default(),
                salt: [9; SALT_LEN],
                wrapped: vec![4; 72],
            },
        ] {
            let m = sample_meta(unlock);
            assert_eq!(Meta::decode(path, m.encode().as_bytes())?, m);
        }
        Ok(())
    }

    #[test]
    fn meta_rejects_unknown_and_missing_fields() {
        let path = Path::new("vault.meta");
        let good = sample_meta(MetaUnlock::Keychain {
            service: "mailvortex".into(),
            user: "u".into(),
        })
        .encode();
        let extra = format!("{good}surprise = 1\n");
        assert!(matches!(
            Meta::decode(path, extra.as_bytes()),
            Err(VaultError::Corrupt { .. })
        ));
        let missing = good.replace("key_check", "# key_check");
        assert!(matches!(
            Meta::decode(path, missing.as_bytes()),
            Err(VaultError::Corrupt { .. })
        ));
        let huge = sample_meta(MetaUnlock::Passphrase {
            params: Argon2Params::default(),
            salt: [0; SALT_LEN],
            wrapped: vec![],
        })
        .encode()
        .replace("kdf_m_kib = 65536", "kdf_m_kib = 4000000000");
        assert!(matches!(
            Meta::decode(path, huge.as_bytes()),
            Err(VaultError::Corrupt { .. })
        ));
    }

    #[test]
    fn payload_round_trips_and_rejects_truncation() -> Result<(), VaultError> {
        let path = Path::new("vault.bin");
        let id = [3; ID_LEN];
        let mut m = BTreeMap::new();
        m.insert("a".to_owned(), SecretBytes::from(b"one"));
        m.insert("empty".to_owned(), SecretBytes::from(Vec::new()));
        let bytes = encode_payload(&id, &m)?;
        assert_eq!(bytes.len(), bytes.capacity());
        let back = decode_payload(path, &id, &bytes)?;
        assert_eq!(back.len(), 2);
        assert_eq!(
            back.get("a").map(|s| s.expose_secret().to_vec()),
            Some(b"one".to_vec())
        );
        for cut in 0..bytes.len() {
            assert!(
                decode_payload(path, &id, &bytes[..cut]).is_err(),
                "cut {cut}"
            );
        }
        assert!(decode_payload(path, &[4; ID_LEN], &bytes).is_err());
        Ok(())
    }
}
