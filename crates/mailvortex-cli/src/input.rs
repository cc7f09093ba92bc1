//! Secrets and bodies from the environment or standard input (never from arguments, which
//! other users can see in the process list).

use std::io::{BufRead, Read};

use anyhow::{Context, Result, bail};
use zeroize::Zeroizing;

/// Standard input, read once, handed out line by line and then as the rest.
#[derive(Debug, Default)]
pub(crate) struct Stdin {
    lines_taken: bool,
}

impl Stdin {
    /// The next line (without its newline).
    pub(crate) fn line(&mut self, what: &str) -> Result<Zeroizing<String>> {
        self.lines_taken = true;
        let mut line = Zeroizing::new(String::new());
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .with_context(|| format!("reading {what} from stdin"))?;
        let trimmed = Zeroizing::new(line.trim_end_matches(['\r', '\n']).to_string());
        if trimmed.is_empty() {
            bail!("{what} expected on standard input, got an empty line");
        }
        Ok(trimmed)
    }

    /// Everything left.
    pub(crate) fn rest(&mut self) -> Result<Vec<u8>> {
        let mut v = Vec::new();
        std::io::stdin()
            .lock()
            .read_to_end(&mut v)
            .context("reading standard input")?;
        Ok(v)
    }
}

/// A secret from an environment variable.
pub(crate) fn env_secret(name: &str) -> Option<Zeroizing<String>> {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .map(Zeroizing::new)
}
