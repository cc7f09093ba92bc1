//! [`SecretBytes`]: a secret value that is wiped from memory on drop and is
//! never printed.

use std::fmt;

use secrecy::{ExposeSecret, SecretSlice};

/// A secret byte string (a password, a private key, ...).
///
/// The bytes are zeroized when the value is dropped, and `Debug` prints
/// `SecretBytes([REDACTED])`. Read them with [`ExposeSecret::expose_secret`].
pub struct SecretBytes(SecretSlice<u8>);

impl SecretBytes {
    /// Wraps `bytes` (takes ownership, so no copy is left behind).
    pub fn new(bytes: Vec<u8>) -> Self {
        SecretBytes(SecretSlice::from(bytes))
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.0.expose_secret().len()
    }

    /// Whether the secret is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl ExposeSecret<[u8]> for SecretBytes {
    fn expose_secret(&self) -> &[u8] {
        self.0.expose_secret()
    }
}

impl Clone for SecretBytes {
    fn clone(&self) -> Self {
        SecretBytes::new(self.expose_secret().to_vec())
    }
}

impl From<Vec<u8>> for SecretBytes {
    fn from(bytes: Vec<u8>) -> Self {
        SecretBytes::new(bytes)
    }
}

impl From<&[u8]> for SecretBytes {
    fn from(bytes: &[u8]) -> Self {
        SecretBytes::new(bytes.to_vec())
    }
}

impl<const N: usize> From<&[u8; N]> for SecretBytes {
    fn from(bytes: &[u8; N]) -> Self {
        SecretBytes::new(bytes.to_vec())
    }
}

impl fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretBytes([REDACTED])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted() {
        let s = SecretBytes::from(b"hunter2-very-secret");
        let printed = format!("{s:?} {s:#?}");
        assert!(!printed.contains("hunter2"), "{printed}");
        assert!(printed.contains("REDACTED"));
        assert_eq!(s.expose_secret(), b"hunter2-very-secret");
        assert_eq!(s.clone().len(), 19);
    }
}
