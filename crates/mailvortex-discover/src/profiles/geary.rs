//! Geary: one directory per account (`~/.config/geary/account_NN/`, older versions
//! `~/.local/share/geary/<address>/`), each with a GLib key file `geary.ini`.
//!
//! Current files (`[Metadata] version=1`): `[Account] sender_mailboxes` (a `;`-separated list of
//! `Name <address>`), `service_provider` (`other`, `gmail`, `outlook`, `yahoo`),
//! `[Incoming]`/`[Outgoing]` with `host`, `port`, `login`, and `transport_security`
//! (`none`, `start-tls`, `transport`) or the booleans `ssl`/`starttls`. Older files keep all in
//! `[AccountInformation]` (`primary_email`, `real_name`, `imap_host`, `imap_port`, `imap_ssl`,
//! `imap_starttls`, `imap_username`, `smtp_…`). For the big providers Geary stores no hosts;
//! their well-known servers are filled in with a hint about the sign-in.

use std::path::{Path, PathBuf};

use super::{LocalRoots, LocalScan, parse_mailbox, read_settings_file, security_or_guess};
use crate::hints::{self, Provider};
use crate::keyfile::{Group, KeyFile};
use crate::model::{
    DiscoveredAccount, Protocol, Security, ServerSetting, Skipped, Source, SourceKind,
};

/// Geary's account directories: XDG config and data, native and Flatpak.
pub fn locations(roots: &LocalRoots) -> Vec<PathBuf> {
    let flatpak = roots.flatpak("org.gnome.Geary");
    vec![
        roots.config_home.join("geary"),
        roots.data_home.join("geary"),
        flatpak.join("config").join("geary"),
        flatpak.join("data").join("geary"),
    ]
}

/// Reads `geary.ini` in every subdirectory of `dir`.
pub fn scan_dir(dir: &Path, scan: &mut LocalScan) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path().join("geary.ini")))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    for f in files {
        match read_settings_file(&f) {
            Ok(text) => scan.extend(account_from_ini(&text, &f.display().to_string())),
            Err(e) => scan.unreadable(SourceKind::Geary, &f, &e),
        }
    }
}

fn security(
    g: &Group,
    key: &str,
    ssl: &str,
    starttls: &str,
    port: Option<u16>,
    protocol: Protocol,
) -> (Security, Option<String>) {
    let raw = g.get(key);
    let stated = match raw.as_deref().map(str::to_ascii_lowercase).as_deref() {
        Some("none") => Some(Security::Plain),
        Some("start-tls" | "starttls") => Some(Security::StartTls),
        Some("transport" | "ssl" | "tls") => Some(Security::Tls),
        Some(_) => None,
        None => match (g.get_bool(ssl), g.get_bool(starttls)) {
            (Some(true), _) => Some(Security::Tls),
            (_, Some(true)) => Some(Security::StartTls),
            (Some(false), Some(false)) => Some(Security::Plain),
            _ => None,
        },
    };
    // Geary's default for a new account is TLS.
    security_or_guess(
        stated,
        raw.as_deref(),
        port,
        protocol,
        "Geary",
        Security::Tls,
    )
}

struct Side<'a> {
    group: &'a Group,
    host: &'static str,
    port: &'static str,
    login: &'static str,
    security: &'static str,
    ssl: &'static str,
    starttls: &'static str,
}

fn server(side: &Side<'_>, protocol: Protocol, notes: &mut Vec<String>) -> Option<ServerSetting> {
    let g = side.group;
    let host = g.get(side.host)?;
    let port = g.get_port(side.port);
    let (sec, note) = security(g, side.security, side.ssl, side.starttls, port, protocol);
    notes.extend(note);
    if sec == Security::Plain {
        notes.push(super::plain_note(protocol, &host));
    }
    Some(ServerSetting::new(
        &host,
        port.unwrap_or(protocol.default_port(sec)),
        sec,
    ))
}

/// The account in the text of one `geary.ini`; `location` names the file. Pure.
pub fn account_from_ini(text: &str, location: &str) -> (Vec<DiscoveredAccount>, Vec<Skipped>) {
    let kf = KeyFile::parse(text);
    let source = Source::new(SourceKind::Geary, location);
    let skip = |what: &str, why: &str| (vec![], vec![Skipped::new(source.clone(), what, why)]);
    let legacy = kf.group("AccountInformation");
    let account = kf.group("Account");
    let (name, address) = match (account, legacy) {
        (Some(a), _) if a.get("sender_mailboxes").is_some() => {
            let list = a.get("sender_mailboxes").unwrap_or_default();
            match list.split(';').find_map(parse_mailbox) {
                Some((n, addr)) => (n, addr),
                None => return skip(&list, "no mail address for this account"),
            }
        }
        (_, Some(l)) => match l
            .get("primary_email")
            .filter(|a| super::looks_like_address(a))
        {
            Some(addr) => (l.get("real_name"), addr),
            None => return skip(location, "no mail address for this account"),
        },
        _ => return skip(location, "no mail address for this account"),
    };
    let mut a = DiscoveredAccount::new(&address, source.clone());
    a.display_name = name;
    let provider = account
        .and_then(|g| g.get("service_provider"))
        .or_else(|| legacy.and_then(|g| g.get("service_provider")))
        .unwrap_or_default()
        .to_ascii_lowercase();
    let known = match provider.as_str() {
        "gmail" => Some(Provider::Google),
        "outlook" => Some(Provider::MicrosoftPersonal),
        "yahoo" => Some(Provider::Yahoo),
        _ => None,
    };
    let mut notes = Vec::new();
    if let Some(p) = known {
        let (imap, smtp) = match p {
            Provider::Google => (
                ("imap.gmail.com", 993, Security::Tls),
                ("smtp.gmail.com", 465, Security::Tls),
            ),
            Provider::Yahoo => (
                ("imap.mail.yahoo.com", 993, Security::Tls),
                ("smtp.mail.yahoo.com", 465, Security::Tls),
            ),
            _ => (
                ("outlook.office365.com", 993, Security::Tls),
                ("smtp-mail.outlook.com", 587, Security::StartTls),
            ),
        };
        a.imap = Some(ServerSetting::new(imap.0, imap.1, imap.2));
        a.smtp = Some(ServerSetting::new(smtp.0, smtp.1, smtp.2));
        a.username = Some(address.clone());
        a.needs = Some(p.password_hint());
    } else if let Some(inc) = kf.group("Incoming") {
        let side = |group| Side {
            group,
            host: "host",
            port: "port",
            login: "login",
            security: "transport_security",
            ssl: "ssl",
            starttls: "starttls",
        };
        a.imap = server(&side(inc), Protocol::Imap, &mut notes);
        a.username = inc.get(side(inc).login);
        if let Some(out) = kf.group("Outgoing") {
            a.smtp = server(&side(out), Protocol::Smtp, &mut notes);
            let same = out.get("credentials").is_none_or(|c| c == "use-incoming");
            if !same
                && let (Some(i), Some(o)) = (&a.username, out.get("login"))
                && *i != o
            {
                notes.push(format!(
                    "The SMTP login ({o}) differs from the IMAP login ({i})"
                ));
            }
        }
    } else if let Some(l) = legacy {
        let side = |host, port, login, ssl, starttls| Side {
            group: l,
            host,
            port,
            login,
            security: "transport_security",
            ssl,
            starttls,
        };
        let imap = side(
            "imap_host",
            "imap_port",
            "imap_username",
            "imap_ssl",
            "imap_starttls",
        );
        a.imap = server(&imap, Protocol::Imap, &mut notes);
        a.username = l.get(imap.login);
        let smtp = side(
            "smtp_host",
            "smtp_port",
            "smtp_username",
            "smtp_ssl",
            "smtp_starttls",
        );
        a.smtp = server(&smtp, Protocol::Smtp, &mut notes);
    }
    a.notes = notes;
    let Some(host) = a.imap.as_ref().map(|s| s.host.clone()) else {
        return skip(&address, "the IMAP server has no host name");
    };
    if a.needs.is_none() {
        a.needs = hints::for_host(&host);
    }
    (vec![a], vec![])
}
