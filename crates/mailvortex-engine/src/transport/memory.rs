//! An in-process mail provider: mailboxes in memory, delivery at once.
//!
//! Used by `mailvortex demo` and fast engine tests. It records every submission so tests can
//! check what a provider would see.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use futures::future::BoxFuture;
use tokio::sync::Notify;

use super::{IncomingMail, MailReceiver, MailSender, OutgoingMail, TransportError};

#[derive(Default)]
struct Mailbox {
    next_uid: u32,
    mails: BTreeMap<u32, Vec<u8>>,
    notify: Arc<Notify>,
}

#[derive(Default)]
struct State {
    boxes: HashMap<String, Mailbox>,
    submissions: Vec<OutgoingMail>,
    tempfail: bool,
}

/// The provider. Cloning shares it.
#[derive(Clone, Default)]
pub struct MemoryProvider {
    state: Arc<Mutex<State>>,
}

impl std::fmt::Debug for MemoryProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MemoryProvider")
    }
}

impl MemoryProvider {
    /// An empty provider.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A poisoned lock only means a panic elsewhere in a test; the data is still usable.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A sender for `account`.
    pub fn sender(&self) -> MemorySender {
        MemorySender {
            provider: self.clone(),
        }
    }

    /// A receiver for `address`'s inbox (created empty if new).
    pub fn receiver(&self, address: &str) -> MemoryReceiver {
        self.lock().boxes.entry(address.to_string()).or_default();
        MemoryReceiver {
            provider: self.clone(),
            address: address.to_string(),
        }
    }

    /// Every mail ever submitted (what the providers and the wire saw).
    pub fn submissions(&self) -> Vec<OutgoingMail> {
        self.lock().submissions.clone()
    }

    /// Mails currently in `address`'s inbox.
    pub fn inbox(&self, address: &str) -> Vec<Vec<u8>> {
        self.lock()
            .boxes
            .get(address)
            .map(|b| b.mails.values().cloned().collect())
            .unwrap_or_default()
    }

    /// Puts a mail straight into a mailbox (tests: ordinary mail, replays).
    pub fn deliver(&self, to: &str, raw: Vec<u8>) {
        let mut s = self.lock();
        let mb = s.boxes.entry(to.to_string()).or_default();
        mb.next_uid += 1;
        let uid = mb.next_uid;
        mb.mails.insert(uid, raw);
        mb.notify.notify_one();
    }

    /// Makes every submission fail with a temporary error (fault injection).
    pub fn set_tempfail(&self, on: bool) {
        self.lock().tempfail = on;
    }
}

/// Submits into a [`MemoryProvider`].
#[derive(Debug, Clone)]
pub struct MemorySender {
    provider: MemoryProvider,
}

impl MailSender for MemorySender {
    fn send(&self, mail: OutgoingMail) -> BoxFuture<'_, Result<(), TransportError>> {
        Box::pin(async move {
            {
                let mut s = self.provider.lock();
                if s.tempfail {
                    return Err(TransportError::Temporary(
                        "451 4.3.0 try again later".into(),
                    ));
                }
                s.submissions.push(mail.clone());
            }
            self.provider.deliver(&mail.to, mail.raw);
            Ok(())
        })
    }
}

/// Reads a mailbox of a [`MemoryProvider`].
#[derive(Debug)]
pub struct MemoryReceiver {
    provider: MemoryProvider,
    address: String,
}

impl MailReceiver for MemoryReceiver {
    fn generation(&self) -> u32 {
        1
    }

    fn list(&mut self) -> BoxFuture<'_, Result<Vec<u32>, TransportError>> {
        Box::pin(async move {
            Ok(self
                .provider
                .lock()
                .boxes
                .get(&self.address)
                .map(|b| b.mails.keys().copied().collect())
                .unwrap_or_default())
        })
    }

    fn fetch(&mut self, uids: &[u32]) -> BoxFuture<'_, Result<Vec<IncomingMail>, TransportError>> {
        let uids = uids.to_vec();
        Box::pin(async move {
            let s = self.provider.lock();
            let Some(b) = s.boxes.get(&self.address) else {
                return Ok(Vec::new());
            };
            Ok(uids
                .iter()
                .filter_map(|u| {
                    b.mails.get(u).map(|raw| IncomingMail {
                        uid: *u,
                        raw: raw.clone(),
                    })
                })
                .collect())
        })
    }

    fn delete(&mut self, uids: &[u32]) -> BoxFuture<'_, Result<(), TransportError>> {
        let uids = uids.to_vec();
        Box::pin(async move {
            let mut s = self.provider.lock();
            if let Some(b) = s.boxes.get_mut(&self.address) {
                for u in uids {
                    b.mails.remove(&u);
                }
            }
            Ok(())
        })
    }

    fn wait(&mut self, max: Duration) -> BoxFuture<'_, Result<(), TransportError>> {
        Box::pin(async move {
            let notify = self
                .provider
                .lock()
                .boxes
                .entry(self.address.clone())
                .or_default()
                .notify
                .clone();
            let _ = tokio::time::timeout(max, notify.notified()).await;
            Ok(())
        })
    }
}
