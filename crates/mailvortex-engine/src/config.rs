//! The node's non-secret settings, kept as `config.json` in the node home.
//! Passwords are never here: they live in the vault under `account/<name>/password`.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{EngineError, Result};
use crate::transport::tls::Security;

/// One server endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerConfig {
    /// Host name (checked against the certificate).
    pub host: String,
    /// Port.
    pub port: u16,
    /// TLS mode.
    pub security: Security,
    /// Connect to this address instead of resolving `host` (loopback test providers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connect_ip: Option<String>,
}

/// A mail account the node uses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountConfig {
    /// Short name (unique in the node).
    pub name: String,
    /// The account's mail address.
    pub address: String,
    /// Login name (often the address).
    pub username: String,
    /// Where to read mail; `None` for a send-only account.
    pub imap: Option<ServerConfig>,
    /// Where to send mail; `None` for a receive-only account.
    pub smtp: Option<ServerConfig>,
    /// Extra CA certificate to trust (PEM file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
    /// Most mails the node may send from this account per 24 hours (provider quota).
    pub daily_send_budget: u32,
}

/// How the node takes part.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeConfig {
    /// Config format version.
    pub version: u32,
    /// passive, stealth or public.
    pub peer_type: String,
    /// Puzzle difficulty asked of packets (bits).
    pub puzzle_difficulty: u8,
    /// Forward to addresses of nodes we do not know (off: no exit to arbitrary addresses).
    #[serde(default)]
    pub forward_to_unknown: bool,
    /// Cover packets per day (0: none).
    #[serde(default)]
    pub cover_packets_per_day: u32,
    /// Mailbox poll period when IDLE is unavailable (seconds).
    #[serde(default = "default_poll")]
    pub poll_seconds: u64,
    /// How long one mail may take from a node's SMTP submission to the next node's mailbox
    /// (seconds, a generous 99th percentile). With the poll period it sets, per mail hop, how
    /// long a sender waits for a receipt before it sends again ([`crate::Node::receipt_wait_ms`]).
    #[serde(default = "default_mail_transit")]
    pub mail_transit_seconds: u64,
    /// The protection level a message gets when its sender does not choose one (the app's
    /// compose screen, the local SMTP bridge).
    /// A level name (`direct` ... `maximum`); read it with [`NodeConfig::level_by_default`].
    #[serde(default = "default_level")]
    pub default_level: String,
    /// Accounts.
    pub accounts: Vec<AccountConfig>,
}

fn default_level() -> String {
    mailvortex_proto::level::LevelName::Standard.to_string()
}

fn default_poll() -> u64 {
    60
}

fn default_mail_transit() -> u64 {
    300
}

impl NodeConfig {
    /// A fresh configuration.
    pub fn new(peer_type: &str) -> Self {
        NodeConfig {
            version: 1,
            peer_type: peer_type.to_string(),
            puzzle_difficulty: mailvortex_proto::puzzle::DEFAULT_DIFFICULTY,
            forward_to_unknown: false,
            cover_packets_per_day: 0,
            poll_seconds: default_poll(),
            mail_transit_seconds: default_mail_transit(),
            default_level: default_level(),
            accounts: Vec::new(),
        }
    }

    /// The level of messages whose sender chose none (`standard` if the setting is not a
    /// level's name).
    pub fn level_by_default(&self) -> mailvortex_proto::level::LevelName {
        self.default_level.parse().unwrap_or_default()
    }

    /// Path of the file in `home`.
    pub fn path(home: &Path) -> PathBuf {
        home.join("config.json")
    }

    /// Reads it.
    pub fn load(home: &Path) -> Result<Self> {
        let path = Self::path(home);
        let bytes = std::fs::read(&path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                EngineError::NoNode(home.display().to_string())
            } else {
                EngineError::io(&path)(e)
            }
        })?;
        serde_json::from_slice(&bytes)
            .map_err(|e| EngineError::Invalid(format!("{}: {e}", path.display())))
    }

    /// Writes it atomically.
    pub fn save(&self, home: &Path) -> Result<()> {
        let path = Self::path(home);
        let tmp = home.join("config.json.tmp");
        let json =
            serde_json::to_vec_pretty(self).map_err(|e| EngineError::Invalid(e.to_string()))?;
        std::fs::write(&tmp, json).map_err(EngineError::io(&tmp))?;
        std::fs::rename(&tmp, &path).map_err(EngineError::io(&path))
    }

    /// The account whose address is the node's address (the first that can receive).
    pub fn receiving_account(&self) -> Option<&AccountConfig> {
        self.accounts.iter().find(|a| a.imap.is_some())
    }

    /// The peer type.
    pub fn peer_type(&self) -> mailvortex_proto::descriptor::PeerType {
        use mailvortex_proto::descriptor::PeerType;
        match self.peer_type.as_str() {
            "public" => PeerType::Public,
            "stealth" => PeerType::Stealth,
            _ => PeerType::Passive,
        }
    }
}
