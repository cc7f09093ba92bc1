//! A self-contained local network: one in-process mail provider, relays and users, all real
//! nodes with their own homes, vaults and stores. Used by `mailvortex demo` and engine tests.

use std::path::Path;

use mailvortex_proto::descriptor::PeerType;
use mailvortex_vault::{SecretString, Unlock};
use zeroize::Zeroizing;

use crate::clock::Clock;
use crate::config::{AccountConfig, ServerConfig};
use crate::error::Result;
use crate::node::{CreateOptions, Node, NodeOptions, TransportChoice};
use crate::transport::memory::MemoryProvider;
use crate::transport::tls::Security;

/// The nodes of a local network.
#[derive(Debug)]
pub struct LocalNetwork {
    /// The shared provider (inspect it to see what a provider sees).
    pub provider: MemoryProvider,
    /// Relays, `relay1@rN.example` ...
    pub relays: Vec<Node>,
    /// Users, `alice@a.example`, `bob@b.example` ...
    pub users: Vec<Node>,
}

const USER_NAMES: [&str; 4] = ["alice", "bob", "carol", "dave"];

fn memory_account(address: &str) -> AccountConfig {
    let server = ServerConfig {
        host: "memory.invalid".into(),
        port: 0,
        security: Security::Tls,
        connect_ip: None,
    };
    AccountConfig {
        name: "main".into(),
        address: address.into(),
        username: address.into(),
        imap: Some(server.clone()),
        smtp: Some(server),
        ca_file: None,
        daily_send_budget: 2000,
    }
}

fn new_node(
    home: &Path,
    address: &str,
    peer_type: PeerType,
    provider: &MemoryProvider,
    clock: &Clock,
) -> Result<Node> {
    let options = NodeOptions {
        clock: clock.clone(),
        transport: TransportChoice::Memory(provider.clone()),
    };
    let create = CreateOptions {
        peer_type,
        unlock: Unlock::Passphrase(SecretString::from("local network demo passphrase")),
        fast_kdf: true,
    };
    let node = Node::create(home, create, options)?;
    node.add_account(memory_account(address), Zeroizing::new("unused".into()))?;
    Ok(node)
}

impl LocalNetwork {
    /// Creates `relays` public relays (spread over three providers) and `users` passive users
    /// under `base`, introduced as a relay list and invites would: relays know only relays.
    pub fn create(base: &Path, relays: usize, users: usize, clock: Clock) -> Result<LocalNetwork> {
        let provider = MemoryProvider::new();
        let make = |dir: &str, address: &str, peer_type: PeerType| {
            new_node(&base.join(dir), address, peer_type, &provider, &clock)
        };
        let relay_nodes = (1..=relays)
            .map(|i| {
                make(
                    &format!("relay{i}"),
                    &format!("relay{i}@r{}.example", (i - 1) % 3 + 1),
                    PeerType::Public,
                )
            })
            .collect::<Result<Vec<_>>>()?;
        let user_nodes = (0..users.min(USER_NAMES.len()))
            .map(|i| {
                let name = USER_NAMES[i];
                make(
                    name,
                    &format!("{name}@{}.example", &name[..1]),
                    PeerType::Passive,
                )
            })
            .collect::<Result<Vec<_>>>()?;
        // As a real network is set up (docs/running-a-node.md): everyone knows the relays (a
        // relay list), users know each other (invites), and no relay knows any user: the last
        // relay forwards to a recipient on the strength of the address proof in the packet.
        let all: Vec<&Node> = relay_nodes.iter().chain(user_nodes.iter()).collect();
        for relay in &relay_nodes {
            let (_, bytes) = relay.descriptor()?;
            for b in all.iter().filter(|b| b.node_id() != relay.node_id()) {
                b.import_descriptor(&bytes)?;
            }
        }
        for user in &user_nodes {
            let (_, bytes) = user.descriptor()?;
            for b in user_nodes.iter().filter(|b| b.node_id() != user.node_id()) {
                b.import_descriptor(&bytes)?;
            }
        }
        Ok(LocalNetwork {
            provider,
            relays: relay_nodes,
            users: user_nodes,
        })
    }

    /// A further node on the same provider, introduced to nobody.
    pub fn stranger(&self, home: &Path, address: &str, peer_type: PeerType) -> Result<Node> {
        let clock = self
            .users
            .first()
            .or(self.relays.first())
            .map(|n| n.clock().clone())
            .unwrap_or_else(Clock::system);
        new_node(home, address, peer_type, &self.provider, &clock)
    }

    /// Every node.
    pub fn nodes(&self) -> impl Iterator<Item = &Node> {
        self.relays.iter().chain(self.users.iter())
    }
}

/// Checks what providers saw: no carrier may contain any of `secrets` (subject, content), and
/// an end's address (`ends`: the two correspondents) may appear only in a mail whose own
/// envelope it is (the first relay's provider sees the sender, the last one's the recipient). Returns one line per violation.
pub fn leak_report(
    seen: &[crate::transport::OutgoingMail],
    ends: [&str; 2],
    secrets: &[&str],
) -> Vec<String> {
    let mut problems = Vec::new();
    for m in seen {
        let text = String::from_utf8_lossy(&m.raw).to_lowercase();
        for s in secrets {
            if text.contains(&s.to_lowercase()) {
                problems.push(format!("a mail from {} to {} contains {s:?}", m.from, m.to));
            }
        }
        for end in ends {
            let own_envelope = m.from.eq_ignore_ascii_case(end) || m.to.eq_ignore_ascii_case(end);
            if !own_envelope && text.contains(&end.to_lowercase()) {
                problems.push(format!("a mail from {} to {} names {end}", m.from, m.to));
            }
        }
    }
    problems.sort();
    problems.dedup();
    problems
}
