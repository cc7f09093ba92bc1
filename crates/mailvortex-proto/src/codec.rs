//! Canonical binary encoding: big-endian integers, explicit lengths, no floats.
//!
//! [`Reader`] never panics: every read is bounds-checked and fails with [`DecodeError`].
//! [`Reader::finish`] rejects trailing bytes, so each structure has exactly one encoding.

use crate::error::DecodeError;

/// A cursor over untrusted bytes.
#[derive(Debug)]
pub struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    /// Starts reading `bytes`.
    pub fn new(bytes: &'a [u8]) -> Self {
        Reader { rest: bytes }
    }

    /// Bytes not yet read.
    pub fn remaining(&self) -> usize {
        self.rest.len()
    }

    /// Takes the next `n` bytes.
    pub fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if self.rest.len() < n {
            return Err(DecodeError::Truncated {
                needed: n - self.rest.len(),
            });
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }

    /// Takes a fixed-size array.
    pub fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    /// Reads one byte.
    pub fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.array::<1>()?[0])
    }

    /// Reads a big-endian u16.
    pub fn u16(&mut self) -> Result<u16, DecodeError> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    /// Reads a big-endian u32.
    pub fn u32(&mut self) -> Result<u32, DecodeError> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    /// Reads a big-endian u64.
    pub fn u64(&mut self) -> Result<u64, DecodeError> {
        Ok(u64::from_be_bytes(self.array()?))
    }

    /// Reads bytes prefixed by a u8 length.
    pub fn bytes_u8(&mut self) -> Result<&'a [u8], DecodeError> {
        let n = self.u8()? as usize;
        self.take(n)
    }

    /// Reads bytes prefixed by a u16 length.
    pub fn bytes_u16(&mut self) -> Result<&'a [u8], DecodeError> {
        let n = self.u16()? as usize;
        self.take(n)
    }

    /// Reads bytes prefixed by a u32 length.
    pub fn bytes_u32(&mut self) -> Result<&'a [u8], DecodeError> {
        let n = self.u32()? as usize;
        self.take(n)
    }

    /// Reads a u8-length-prefixed UTF-8 string.
    pub fn str_u8(&mut self, field: &'static str) -> Result<&'a str, DecodeError> {
        core::str::from_utf8(self.bytes_u8()?).map_err(|_| DecodeError::InvalidValue {
            field,
            reason: "not UTF-8",
        })
    }

    /// Reads a u16-length-prefixed UTF-8 string.
    pub fn str_u16(&mut self, field: &'static str) -> Result<&'a str, DecodeError> {
        core::str::from_utf8(self.bytes_u16()?).map_err(|_| DecodeError::InvalidValue {
            field,
            reason: "not UTF-8",
        })
    }

    /// Reads a boolean encoded as 0x00 or 0x01 (anything else is rejected).
    pub fn bool(&mut self, field: &'static str) -> Result<bool, DecodeError> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(DecodeError::InvalidValue {
                field,
                reason: "boolean must be 0 or 1",
            }),
        }
    }

    /// Ends reading: fails if bytes are left over.
    pub fn finish(self) -> Result<(), DecodeError> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(DecodeError::TrailingBytes {
                count: self.rest.len(),
            })
        }
    }
}

/// Appends canonical encodings to a byte vector. Encoding cannot fail except on
/// over-long variable fields, which callers validate in typed constructors first.
#[derive(Debug, Default)]
pub struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    /// An empty writer.
    pub fn new() -> Self {
        Writer::default()
    }

    /// An empty writer with room for `n` bytes.
    pub fn with_capacity(n: usize) -> Self {
        Writer {
            buf: Vec::with_capacity(n),
        }
    }

    /// Appends raw bytes.
    pub fn put(&mut self, bytes: &[u8]) -> &mut Self {
        self.buf.extend_from_slice(bytes);
        self
    }

    /// Appends one byte.
    pub fn u8(&mut self, v: u8) -> &mut Self {
        self.buf.push(v);
        self
    }

    /// Appends a big-endian u16.
    pub fn u16(&mut self, v: u16) -> &mut Self {
        self.put(&v.to_be_bytes())
    }

    /// Appends a big-endian u32.
    pub fn u32(&mut self, v: u32) -> &mut Self {
        self.put(&v.to_be_bytes())
    }

    /// Appends a big-endian u64.
    pub fn u64(&mut self, v: u64) -> &mut Self {
        self.put(&v.to_be_bytes())
    }

    /// Appends a boolean as 0x00/0x01.
    pub fn bool(&mut self, v: bool) -> &mut Self {
        self.u8(u8::from(v))
    }

    /// Appends bytes with a u8 length prefix. Callers guarantee `bytes.len() <= 255`.
    pub fn bytes_u8(&mut self, bytes: &[u8]) -> &mut Self {
        let len = u8::try_from(bytes.len()).unwrap_or(u8::MAX);
        self.u8(len).put(&bytes[..usize::from(len)])
    }

    /// Appends bytes with a u16 length prefix. Callers guarantee `bytes.len() <= 65535`.
    pub fn bytes_u16(&mut self, bytes: &[u8]) -> &mut Self {
        let len = u16::try_from(bytes.len()).unwrap_or(u16::MAX);
        self.u16(len).put(&bytes[..usize::from(len)])
    }

    /// Appends bytes with a u32 length prefix. Callers guarantee `bytes.len() <= u32::MAX`.
    pub fn bytes_u32(&mut self, bytes: &[u8]) -> &mut Self {
        let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
        self.u32(len).put(&bytes[..len as usize])
    }

    /// The bytes written so far.
    pub fn as_slice(&self) -> &[u8] {
        &self.buf
    }

    /// Returns the encoding.
    pub fn into_vec(self) -> Vec<u8> {
        self.buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_strictness() {
        let mut w = Writer::new();
        w.u8(7)
            .u16(0x0102)
            .u32(3)
            .u64(4)
            .bytes_u8(b"ab")
            .bytes_u16(b"cde")
            .bool(true);
        let bytes = w.into_vec();
        let mut r = Reader::new(&bytes);
        assert_eq!(r.u8(), Ok(7));
        assert_eq!(r.u16(), Ok(0x0102));
        assert_eq!(r.u32(), Ok(3));
        assert_eq!(r.u64(), Ok(4));
        assert_eq!(r.bytes_u8(), Ok(&b"ab"[..]));
        assert_eq!(r.bytes_u16(), Ok(&b"cde"[..]));
        assert_eq!(r.bool("b"), Ok(true));
        assert_eq!(r.finish(), Ok(()));

        let mut r = Reader::new(&bytes[..3]);
        r.u8().ok();
        assert_eq!(r.u32(), Err(DecodeError::Truncated { needed: 2 }));
        let r = Reader::new(&bytes);
        assert_eq!(
            r.finish(),
            Err(DecodeError::TrailingBytes { count: bytes.len() })
        );
        assert!(Reader::new(&[2]).bool("b").is_err());
    }
}
