//! Evolution: one GLib key file per "source" in `~/.config/evolution/sources/<uid>.source`.
//!
//! A mail account is a source with a `[Mail Account]` group (`BackendName=imapx` for IMAP,
//! `pop` for POP3, `none` or `local` for "On This Computer") and an `IdentityUid`. Its
//! `[Authentication]` group has `Host`, `Port`, `User`, `Method` and its `[Security]` group
//! `Method=none|ssl-on-alternate-port|starttls-on-standard-port`. The identity source has
//! `[Mail Identity] Address`, `Name` and `[Mail Submission] TransportUid`; the transport source
//! has `[Mail Transport] BackendName=smtp` with its own `[Authentication]` and `[Security]`.
//! Sources link by uid (the file name without `.source`), and by `[Data Source] Parent`.
//! `[Data Source] Enabled=false` marks a switched-off account.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::{LocalRoots, LocalScan, read_settings_file, security_or_guess};
use crate::hints;
use crate::keyfile::KeyFile;
use crate::model::{
    DiscoveredAccount, Protocol, Security, ServerSetting, Skipped, Source, SourceKind,
};

/// Evolution's `sources` directories: native, Flatpak and Snap.
pub fn locations(roots: &LocalRoots) -> Vec<PathBuf> {
    vec![
        roots.config_home.join("evolution").join("sources"),
        roots
            .flatpak("org.gnome.Evolution")
            .join("config")
            .join("evolution")
            .join("sources"),
        roots
            .snap("evolution", "current")
            .join(".config")
            .join("evolution")
            .join("sources"),
    ]
}

/// Reads every `*.source` file in `dir`.
pub fn scan_dir(dir: &Path, scan: &mut LocalScan) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut sources: BTreeMap<String, (String, String)> = BTreeMap::new();
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for path in paths {
        let Some(uid) = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".source"))
        else {
            continue;
        };
        match read_settings_file(&path) {
            Ok(text) => {
                sources.insert(uid.to_string(), (path.display().to_string(), text));
            }
            Err(e) => scan.unreadable(SourceKind::Evolution, &path, &e),
        }
    }
    let refs: Vec<(&str, &str, &str)> = sources
        .iter()
        .map(|(uid, (loc, text))| (uid.as_str(), loc.as_str(), text.as_str()))
        .collect();
    scan.extend(accounts_from_sources(&refs));
}

struct Src<'a> {
    uid: &'a str,
    location: &'a str,
    kf: KeyFile,
}

impl Src<'_> {
    fn get(&self, group: &str, key: &str) -> Option<String> {
        self.kf.get(group, key)
    }
    fn parent(&self) -> Option<String> {
        self.get("Data Source", "Parent")
    }
}

/// The accounts in a set of sources given as `(uid, location, text)`. Pure; never fails.
pub fn accounts_from_sources(
    sources: &[(&str, &str, &str)],
) -> (Vec<DiscoveredAccount>, Vec<Skipped>) {
    let srcs: Vec<Src<'_>> = sources
        .iter()
        .map(|(uid, location, text)| Src {
            uid,
            location,
            kf: KeyFile::parse(text),
        })
        .collect();
    let by_uid = |uid: &str| srcs.iter().find(|s| s.uid == uid);
    let mut accounts = Vec::new();
    let mut skipped = Vec::new();
    for acct in srcs.iter().filter(|s| s.kf.group("Mail Account").is_some()) {
        let source = Source::new(SourceKind::Evolution, acct.location).with_entry(acct.uid);
        let identity = acct
            .get("Mail Account", "IdentityUid")
            .and_then(|u| by_uid(&u))
            .or_else(|| {
                srcs.iter().find(|s| {
                    s.kf.group("Mail Identity").is_some() && s.parent().as_deref() == Some(acct.uid)
                })
            });
        let address = identity.and_then(|i| i.get("Mail Identity", "Address"));
        let label = address
            .clone()
            .or_else(|| acct.get("Data Source", "DisplayName"))
            .unwrap_or_else(|| acct.uid.to_string());
        let backend = acct
            .get("Mail Account", "BackendName")
            .unwrap_or_default()
            .to_ascii_lowercase();
        match backend.as_str() {
            "imapx" | "imap" => {}
            "" | "none" | "local" | "maildir" | "mbox" | "spool" | "vfolder" => continue,
            "pop" | "pop3" => {
                skipped.push(Skipped::new(
                    source,
                    label,
                    "a POP3 account: MailVortex reads mail over IMAP",
                ));
                continue;
            }
            "ews" | "mapi" => {
                skipped.push(Skipped::new(
                    source,
                    label,
                    "an Exchange account: MailVortex needs IMAP and SMTP",
                ));
                continue;
            }
            other => {
                skipped.push(Skipped::new(
                    source,
                    label,
                    format!("an account of unknown type {other:?}"),
                ));
                continue;
            }
        }
        if acct
            .kf
            .group("Data Source")
            .and_then(|g| g.get_bool("Enabled"))
            == Some(false)
        {
            skipped.push(Skipped::new(source, label, "switched off in Evolution"));
            continue;
        }
        let Some(address) = address.filter(|a| super::looks_like_address(a)) else {
            skipped.push(Skipped::new(
                source,
                label,
                "no mail address for this account",
            ));
            continue;
        };
        let Some(imap) = server(acct, Protocol::Imap) else {
            skipped.push(Skipped::new(
                source,
                address,
                "the IMAP server has no host name",
            ));
            continue;
        };
        let mut a = DiscoveredAccount::new(&address, source);
        a.display_name = identity.and_then(|i| i.get("Mail Identity", "Name"));
        a.username = acct.get("Authentication", "User");
        let (imap, notes, oauth) = imap;
        a.notes.extend(notes);
        if oauth {
            a.needs = Some(hints::oauth2(&imap.host, "Evolution"));
        }
        let host = imap.host.clone();
        a.imap = Some(imap);
        let transport = identity
            .and_then(|i| i.get("Mail Submission", "TransportUid"))
            .and_then(|u| by_uid(&u))
            .or_else(|| {
                srcs.iter().find(|s| {
                    s.kf.group("Mail Transport").is_some()
                        && s.parent().as_deref() == Some(acct.uid)
                })
            });
        if let Some(t) = transport {
            let backend = t.get("Mail Transport", "BackendName").unwrap_or_default();
            if backend.eq_ignore_ascii_case("smtp") {
                if let Some((smtp, notes, oauth)) = server(t, Protocol::Smtp) {
                    a.notes.extend(notes);
                    if oauth && a.needs.is_none() {
                        a.needs = Some(hints::oauth2(&smtp.host, "Evolution"));
                    }
                    let user = t.get("Authentication", "User");
                    match (&a.username, user) {
                        (None, Some(u)) => a.username = Some(u),
                        (Some(i), Some(u)) if *i != u => a.notes.push(format!(
                            "The SMTP login ({u}) differs from the IMAP login ({i})"
                        )),
                        _ => {}
                    }
                    a.smtp = Some(smtp);
                }
            } else if !backend.is_empty() {
                a.notes.push(format!(
                    "Evolution sends this account's mail with {backend:?}, not SMTP"
                ));
            }
        }
        if a.needs.is_none() {
            a.needs = hints::for_host(&host);
        }
        accounts.push(a);
    }
    (accounts, skipped)
}

/// The server of an account or transport source: setting, notes, and whether it uses OAuth2.
fn server(s: &Src<'_>, protocol: Protocol) -> Option<(ServerSetting, Vec<String>, bool)> {
    let auth = s.kf.group("Authentication")?;
    let host = auth.get("Host")?;
    let port = auth.get_port("Port");
    let raw = s.get("Security", "Method");
    let stated = raw
        .as_deref()
        .and_then(|m| match m.to_ascii_lowercase().as_str() {
            "none" => Some(Security::Plain),
            "ssl-on-alternate-port" => Some(Security::Tls),
            "starttls-on-standard-port" => Some(Security::StartTls),
            _ => None,
        });
    let (security, note) = security_or_guess(
        stated,
        raw.as_deref(),
        port,
        protocol,
        "Evolution",
        Security::Plain,
    );
    let mut notes: Vec<String> = note.into_iter().collect();
    if security == Security::Plain {
        notes.push(super::plain_note(protocol, &host));
    }
    let method = auth.get("Method").unwrap_or_default().to_ascii_lowercase();
    let oauth = matches!(method.as_str(), "xoauth2" | "oauth2" | "google" | "outlook");
    let port = port.unwrap_or(protocol.default_port(security));
    Some((ServerSetting::new(&host, port, security), notes, oauth))
}
