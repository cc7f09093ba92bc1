//! The vector file format (see docs/spec/vectors/README.md).
//!
//! ```text
//! description: free text
//! kind: packet
//! expect: success
//! other-input: value
//!
//! field: 0123abcd
//! ```
//! Header values are text (decimal integers, UTF-8 strings, lowercase hex for byte strings);
//! every body value is lowercase hex.

use core::fmt::Display;

/// One vector file being built.
#[derive(Debug, Clone)]
pub(crate) struct Vector {
    /// File name without the directory, e.g. `packet-3-hops.txt`.
    pub(crate) file: String,
    header: Vec<(String, String)>,
    body: Vec<(String, Vec<u8>)>,
}

impl Vector {
    /// Starts a vector with the three mandatory header lines.
    pub(crate) fn new(file: &str, description: &str, kind: &str, expect: &str) -> Self {
        let mut v = Vector {
            file: file.to_string(),
            header: Vec::new(),
            body: Vec::new(),
        };
        v.h("description", description);
        v.h("kind", kind);
        v.h("expect", expect);
        v
    }

    /// Adds a header line.
    pub(crate) fn h(&mut self, key: &str, value: impl Display) {
        self.header.push((key.to_string(), value.to_string()));
    }

    /// Adds a header line holding hex.
    pub(crate) fn hx(&mut self, key: &str, bytes: &[u8]) {
        self.h(key, hex::encode(bytes));
    }

    /// Adds a body line.
    pub(crate) fn b(&mut self, key: &str, bytes: &[u8]) {
        self.body.push((key.to_string(), bytes.to_vec()));
    }

    /// The file's text.
    pub(crate) fn render(&self) -> String {
        let mut out = String::new();
        for (k, v) in &self.header {
            push_line(&mut out, k, v);
        }
        out.push('\n');
        for (k, v) in &self.body {
            push_line(&mut out, k, &hex::encode(v));
        }
        out
    }
}

fn push_line(out: &mut String, key: &str, value: &str) {
    out.push_str(key);
    out.push(':');
    if !value.is_empty() {
        out.push(' ');
        out.push_str(value);
    }
    out.push('\n');
}
