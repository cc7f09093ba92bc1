//! KMail: its IMAP accounts are Akonadi resources, each configured in
//! `~/.config/akonadi_imap_resource_<N>rc` (and `akonadi_gmail_resource_<N>rc`), KConfig files
//! with `[network] ImapServer`, `ImapPort`, `Safety=SSL|STARTTLS|NONE`, `UserName` and
//! `Authentication` (9 = XOAUTH2). The sending side is `~/.config/mailtransports`
//! (`[Transport <id>]` with `host`, `port`, `user`, `encryption=None|SSL|TLS`, where `TLS` means
//! STARTTLS; `[General] default-transport`), and the address is in `~/.config/emailidentities`
//! (`[Identity #N]` with `Email Address`, `Name`, `uoid`, `Transport`; `[Default] Default
//! Identity`). A resource names its identity with `AccountIdentity` when it does not use the
//! default one. Passwords are in KWallet, never read.

use std::path::{Path, PathBuf};

use super::{LocalRoots, LocalScan, read_settings_file, security_or_guess};
use crate::hints;
use crate::keyfile::{Group, KeyFile, split_host_port};
use crate::model::{
    DiscoveredAccount, Protocol, Security, ServerSetting, Skipped, Source, SourceKind,
};

/// KDE's config directories (native and the KMail Flatpak).
pub fn locations(roots: &LocalRoots) -> Vec<PathBuf> {
    vec![
        roots.config_home.clone(),
        roots.flatpak("org.kde.kmail2").join("config"),
    ]
}

/// The settings files KMail discovery reads from one config directory.
#[derive(Debug, Clone, Default)]
pub struct KmailFiles {
    /// `(location, text)` of each `akonadi_imap_resource_*rc` / `akonadi_gmail_resource_*rc`.
    pub resources: Vec<(String, String)>,
    /// `emailidentities`, if present.
    pub identities: Option<String>,
    /// `mailtransports` and its location, if present.
    pub transports: Option<(String, String)>,
}

/// Reads the resource files, `emailidentities` and `mailtransports` in `dir`.
pub fn scan_dir(dir: &Path, scan: &mut LocalScan) {
    let pattern = dir.join("akonadi_imap_resource_*rc");
    let Ok(entries) = std::fs::read_dir(dir) else {
        scan.check(SourceKind::KMail, &pattern);
        return;
    };
    let mut names: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                (n.starts_with("akonadi_imap_resource_")
                    || n.starts_with("akonadi_gmail_resource_"))
                    && n.ends_with("rc")
            })
        })
        .collect();
    scan.checked.push(super::Checked {
        kind: SourceKind::KMail,
        path: pattern.display().to_string(),
        found: !names.is_empty(),
    });
    if names.is_empty() {
        return;
    }
    names.sort();
    let mut files = KmailFiles::default();
    for p in names {
        match read_settings_file(&p) {
            Ok(t) => files.resources.push((p.display().to_string(), t)),
            Err(e) => scan.unreadable(SourceKind::KMail, &p, &e),
        }
    }
    files.identities = read_settings_file(&dir.join("emailidentities")).ok();
    let tp = dir.join("mailtransports");
    files.transports = read_settings_file(&tp)
        .ok()
        .map(|t| (tp.display().to_string(), t));
    scan.extend(accounts_from_files(&files));
}

/// The accounts described by KMail's files. Pure; never fails.
pub fn accounts_from_files(files: &KmailFiles) -> (Vec<DiscoveredAccount>, Vec<Skipped>) {
    let identities = files
        .identities
        .as_deref()
        .map(KeyFile::parse)
        .unwrap_or_default();
    let transports = files
        .transports
        .as_ref()
        .map(|(_, t)| KeyFile::parse(t))
        .unwrap_or_default();
    let ids: Vec<&Group> = identities
        .groups()
        .filter(|g| g.name.starts_with("Identity"))
        .collect();
    let default_uoid = identities.get("Default", "Default Identity");
    let mut accounts = Vec::new();
    let mut skipped = Vec::new();
    for (location, text) in &files.resources {
        let kf = KeyFile::parse(text);
        let name = Path::new(location)
            .file_name()
            .map(|n| n.to_string_lossy().trim_end_matches("rc").to_string())
            .unwrap_or_default();
        let source = Source::new(SourceKind::KMail, location.clone()).with_entry(name.clone());
        let Some(net) = kf.group("network") else {
            skipped.push(Skipped::new(
                source,
                name,
                "the resource has no [network] settings",
            ));
            continue;
        };
        let Some((host, inline_port)) = net.get("ImapServer").map(|h| split_host_port(&h)) else {
            skipped.push(Skipped::new(
                source,
                name,
                "the IMAP server has no host name",
            ));
            continue;
        };
        let user = net.get("UserName");
        // The identity: named by the resource, else KMail's default, else the only one.
        let uoid = kf
            .groups()
            .find_map(|g| g.get("AccountIdentity"))
            .filter(|_| kf.groups().find_map(|g| g.get_bool("UseDefaultIdentity")) != Some(true));
        let identity = uoid
            .as_deref()
            .or(default_uoid.as_deref())
            .and_then(|u| ids.iter().find(|g| g.get("uoid").as_deref() == Some(u)))
            .or_else(|| if ids.len() == 1 { ids.first() } else { None })
            .copied();
        let address = identity
            .and_then(|i| i.get("Email Address"))
            .or_else(|| user.clone())
            .filter(|a| super::looks_like_address(a));
        let Some(address) = address else {
            skipped.push(Skipped::new(
                source,
                host,
                "no mail address for this account",
            ));
            continue;
        };
        let mut a = DiscoveredAccount::new(&address, source);
        a.display_name = identity.and_then(|i| i.get("Name"));
        a.username = user;
        let port = net.get_port("ImapPort").or(inline_port);
        let raw = net.get("Safety");
        let stated = raw
            .as_deref()
            .and_then(|s| match s.to_ascii_uppercase().as_str() {
                "SSL" => Some(Security::Tls),
                "STARTTLS" => Some(Security::StartTls),
                "NONE" => Some(Security::Plain),
                _ => None,
            });
        let imap = server(
            &host,
            port,
            stated,
            raw.as_deref(),
            Protocol::Imap,
            &mut a.notes,
        );
        a.imap = Some(imap);
        let gmail = name.starts_with("akonadi_gmail_resource_");
        if gmail || net.get("Authentication").as_deref() == Some("9") {
            a.needs = Some(hints::oauth2(&host, "KMail"));
        }
        // The transport: the identity's, else the default, else the only one.
        let tid = identity
            .and_then(|i| i.get("Transport"))
            .or_else(|| transports.get("General", "default-transport"));
        let all: Vec<&Group> = transports
            .groups()
            .filter(|g| g.name.starts_with("Transport "))
            .collect();
        let t = tid
            .and_then(|id| {
                all.iter().find(|g| {
                    g.get("id").as_deref() == Some(&id) || g.name == format!("Transport {id}")
                })
            })
            .or_else(|| if all.len() == 1 { all.first() } else { None })
            .copied();
        if let Some(t) = t {
            transport(t, &mut a);
        }
        if a.needs.is_none() {
            a.needs = hints::for_host(&host);
        }
        accounts.push(a);
    }
    (accounts, skipped)
}

fn transport(t: &Group, a: &mut DiscoveredAccount) {
    let kind = t.get("type").unwrap_or_else(|| "SMTP".into());
    if !(kind.eq_ignore_ascii_case("smtp") || kind == "0") {
        a.notes.push(format!(
            "KMail sends this account's mail with {kind:?}, not SMTP"
        ));
        return;
    }
    let Some((host, inline_port)) = t.get("host").map(|h| split_host_port(&h)) else {
        return;
    };
    let port = t.get_port("port").or(inline_port);
    let raw = t.get("encryption");
    let stated = raw
        .as_deref()
        .and_then(|e| match e.to_ascii_uppercase().as_str() {
            "SSL" => Some(Security::Tls),
            "TLS" => Some(Security::StartTls),
            "NONE" => Some(Security::Plain),
            _ => None,
        });
    let smtp = server(
        &host,
        port,
        stated,
        raw.as_deref(),
        Protocol::Smtp,
        &mut a.notes,
    );
    let user = t.get("user");
    match (&a.username, user) {
        (None, Some(u)) => a.username = Some(u),
        (Some(i), Some(u)) if *i != u && t.get_bool("auth") != Some(false) => a.notes.push(
            format!("The SMTP login ({u}) differs from the IMAP login ({i})"),
        ),
        _ => {}
    }
    a.smtp = Some(smtp);
}

/// A server from KMail's stated security (or the guess, noted), warning about no encryption.
/// KMail's own defaults: TLS for IMAP, none for SMTP.
fn server(
    host: &str,
    port: Option<u16>,
    stated: Option<Security>,
    raw: Option<&str>,
    protocol: Protocol,
    notes: &mut Vec<String>,
) -> ServerSetting {
    let fallback = match protocol {
        Protocol::Imap => Security::Tls,
        Protocol::Smtp => Security::Plain,
    };
    let (sec, note) = security_or_guess(stated, raw, port, protocol, "KMail", fallback);
    notes.extend(note);
    if sec == Security::Plain {
        notes.push(super::plain_note(protocol, host));
    }
    ServerSetting::new(host, port.unwrap_or(protocol.default_port(sec)), sec)
}
