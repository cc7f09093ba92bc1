//! Thunderbird (and Betterbird): `profiles.ini` / `installs.ini` name the profiles, each
//! profile's `prefs.js` holds its accounts.
//!
//! Profiles are read in Thunderbird's order of preference: the default of an installation
//! (`[Install…]` groups in `profiles.ini`, then `installs.ini`), then the profile marked
//! `Default=1`, then the rest (a lone profile is the default by being alone). Every profile is
//! read, so an account in a second installation's profile is found too; duplicates are merged
//! later. `logins.json` and `key4.db`, where the passwords are, are never opened.
//!
//! In `prefs.js`: `mail.accountmanager.accounts` lists the accounts in use;
//! `mail.account.<a>.server` and `.identities` link an account to its incoming server and
//! identities; `mail.server.<s>.{type,hostname,realhostname,port,socketType,userName,
//! realuserName,authMethod}` describe the server (`socketType` 0 plain, 1 or 2 STARTTLS,
//! 3 TLS; `authMethod` 10 OAuth2); `mail.identity.<i>.{useremail,fullName,smtpServer}` the
//! address; `mail.smtpserver.<k>.{hostname,port,try_ssl,username,authMethod}` the outgoing
//! server, `mail.smtp.defaultserver` the default one. Values equal to Thunderbird's defaults
//! are not written, so a missing port or socketType means the default.

use std::path::{Path, PathBuf};

use super::prefs::Prefs;
use super::{LocalRoots, LocalScan, read_settings_file, security_or_guess};
use crate::hints;
use crate::keyfile::KeyFile;
use crate::model::{
    DiscoveredAccount, Protocol, Security, ServerSetting, Skipped, Source, SourceKind,
};

/// Why a profile is where it is in the order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ProfileRank {
    /// The default profile of an installation (`[Install…] Default=`).
    InstallDefault,
    /// Marked `Default=1`.
    DefaultFlag,
    /// The only profile.
    OnlyProfile,
    /// Any other profile.
    Other,
}

/// A profile named by `profiles.ini`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    /// `Name=` (or the directory name when absent).
    pub name: String,
    /// The profile directory, resolved against the directory of `profiles.ini` when relative.
    pub path: PathBuf,
    /// Its place in the order of preference.
    pub rank: ProfileRank,
}

/// Where Thunderbird keeps `profiles.ini` on Linux: `~/.thunderbird`, the XDG directory newer
/// builds may use, the Snap and the Flatpak.
pub fn linux_dirs(roots: &LocalRoots) -> Vec<PathBuf> {
    vec![
        roots.home.join(".thunderbird"),
        roots.config_home.join("thunderbird"),
        roots.snap("thunderbird", "common").join(".thunderbird"),
        roots
            .flatpak("org.mozilla.Thunderbird")
            .join(".thunderbird"),
        roots
            .flatpak("org.mozilla.thunderbird")
            .join(".thunderbird"),
    ]
}

/// Where Thunderbird keeps `profiles.ini` on Windows: `%APPDATA%\Thunderbird`.
pub fn windows_dirs(appdata: &Path) -> Vec<PathBuf> {
    vec![appdata.join("Thunderbird")]
}

/// Where Thunderbird keeps `profiles.ini` on macOS: `~/Library/Thunderbird`.
pub fn macos_dirs(home: &Path) -> Vec<PathBuf> {
    vec![home.join("Library").join("Thunderbird")]
}

/// The directories for `roots`' platform.
pub fn locations(roots: &LocalRoots) -> Vec<PathBuf> {
    match roots.platform {
        super::Platform::Linux => linux_dirs(roots),
        super::Platform::Windows => windows_dirs(&roots.appdata),
        super::Platform::MacOs => macos_dirs(&roots.home),
    }
}

fn is_absolute_text(p: &str) -> bool {
    let b = p.as_bytes();
    p.starts_with('/')
        || p.starts_with('\\')
        || (b.len() >= 3
            && b[0].is_ascii_alphabetic()
            && b[1] == b':'
            && (b[2] == b'\\' || b[2] == b'/'))
}

fn resolve(base: &Path, path: &str, relative: Option<bool>) -> PathBuf {
    let relative = relative.unwrap_or(!is_absolute_text(path));
    if relative {
        // Thunderbird writes relative paths with '/', also on Windows.
        let mut p = base.to_path_buf();
        for part in path
            .split(['/', '\\'])
            .filter(|s| !s.is_empty() && *s != ".")
        {
            p.push(part);
        }
        p
    } else {
        PathBuf::from(path)
    }
}

fn same_path(a: &Path, b: &Path) -> bool {
    let norm = |p: &Path| {
        p.to_string_lossy()
            .replace('\\', "/")
            .trim_end_matches('/')
            .to_string()
    };
    norm(a) == norm(b)
}

/// The profiles named by `profiles_ini` (and `installs_ini`, if present), best first. `base`
/// is the directory holding the files. Pure; never fails.
pub fn parse_profiles(profiles_ini: &str, installs_ini: Option<&str>, base: &Path) -> Vec<Profile> {
    let ini = KeyFile::parse(profiles_ini);
    let mut profiles: Vec<Profile> = Vec::new();
    let mut default_flag: Vec<PathBuf> = Vec::new();
    for g in ini.groups().filter(|g| g.name.starts_with("Profile")) {
        let Some(raw) = g.raw("Path").filter(|p| !p.is_empty()) else {
            continue;
        };
        let path = resolve(base, raw, g.get_bool("IsRelative"));
        if profiles.iter().any(|p| same_path(&p.path, &path)) {
            continue;
        }
        if g.get_bool("Default") == Some(true) {
            default_flag.push(path.clone());
        }
        let name = g
            .raw("Name")
            .filter(|n| !n.is_empty())
            .map(str::to_string)
            .unwrap_or_else(|| dir_name(&path));
        profiles.push(Profile {
            name,
            path,
            rank: ProfileRank::Other,
        });
    }
    // Install defaults: profiles.ini's own [Install…] groups first, then installs.ini.
    let mut install_defaults: Vec<PathBuf> = Vec::new();
    let installs = installs_ini.map(KeyFile::parse);
    let install_groups = ini
        .groups()
        .filter(|g| g.name.starts_with("Install"))
        .chain(installs.iter().flat_map(|k| k.groups()));
    for g in install_groups {
        if let Some(raw) = g.raw("Default").filter(|p| !p.is_empty()) {
            let path = resolve(base, raw, None);
            if !install_defaults.iter().any(|p| same_path(p, &path)) {
                install_defaults.push(path);
            }
        }
    }
    for d in &install_defaults {
        match profiles.iter_mut().find(|p| same_path(&p.path, d)) {
            Some(p) => p.rank = ProfileRank::InstallDefault,
            None => profiles.push(Profile {
                name: dir_name(d),
                path: d.clone(),
                rank: ProfileRank::InstallDefault,
            }),
        }
    }
    for p in profiles.iter_mut() {
        if p.rank == ProfileRank::Other && default_flag.iter().any(|d| same_path(d, &p.path)) {
            p.rank = ProfileRank::DefaultFlag;
        }
    }
    if profiles.len() == 1 && profiles[0].rank == ProfileRank::Other {
        profiles[0].rank = ProfileRank::OnlyProfile;
    }
    // Stable: install defaults keep their installs' order, the rest keep file order.
    let order = |p: &Profile| {
        install_defaults
            .iter()
            .position(|d| same_path(d, &p.path))
            .unwrap_or(usize::MAX)
    };
    profiles.sort_by_key(|p| (p.rank, order(p)));
    profiles
}

fn dir_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| p.display().to_string())
}

/// Reads `dir/profiles.ini` (and `installs.ini`) and every profile's `prefs.js`.
pub fn scan_dir(dir: &Path, scan: &mut LocalScan) {
    let ini_path = dir.join("profiles.ini");
    let ini = match read_settings_file(&ini_path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return,
        Err(e) => return scan.unreadable(SourceKind::Thunderbird, &ini_path, &e),
    };
    let installs = read_settings_file(&dir.join("installs.ini")).ok();
    for profile in parse_profiles(&ini, installs.as_deref(), dir) {
        let prefs_path = profile.path.join("prefs.js");
        match read_settings_file(&prefs_path) {
            Ok(text) => {
                let prefs = Prefs::parse(&text);
                scan.extend(accounts_from_prefs(
                    &prefs,
                    &prefs_path.display().to_string(),
                ));
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => scan.unreadable(SourceKind::Thunderbird, &prefs_path, &e),
        }
    }
}

fn natural_key(k: &str) -> (String, u64) {
    let digits: String = k.chars().rev().take_while(char::is_ascii_digit).collect();
    let n = digits
        .chars()
        .rev()
        .collect::<String>()
        .parse()
        .unwrap_or(0);
    (k[..k.len() - digits.len()].to_string(), n)
}

/// The accounts in one parsed `prefs.js`; `location` names the file in each [`Source`].
/// Pure; never fails.
pub fn accounts_from_prefs(
    prefs: &Prefs,
    location: &str,
) -> (Vec<DiscoveredAccount>, Vec<Skipped>) {
    let listed = prefs.get_list("mail.accountmanager.accounts");
    let mut all: Vec<String> = prefs
        .names_with_prefix("mail.account.")
        .filter_map(|n| n.strip_prefix("mail.account.")?.strip_suffix(".server"))
        .map(str::to_string)
        .collect();
    all.sort_by_key(|k| natural_key(k));
    all.dedup();
    let mut accounts = Vec::new();
    let mut skipped = Vec::new();
    let in_use: Vec<String> = if listed.is_empty() {
        all.clone()
    } else {
        listed.clone()
    };
    for key in &in_use {
        let source = Source::new(SourceKind::Thunderbird, location).with_entry(key.clone());
        match account(prefs, key, source.clone()) {
            Ok(Some(a)) => accounts.push(a),
            Ok(None) => {}
            Err((what, why)) => skipped.push(Skipped::new(source, what, why)),
        }
    }
    for key in all.iter().filter(|k| !in_use.contains(k)) {
        let source = Source::new(SourceKind::Thunderbird, location).with_entry(key.clone());
        if let Ok(Some(a)) = account(prefs, key, source.clone()) {
            skipped.push(Skipped::new(
                source,
                a.address,
                "not in Thunderbird's list of accounts (removed or switched off)",
            ));
        }
    }
    (accounts, skipped)
}

type Outcome = Result<Option<DiscoveredAccount>, (String, String)>;

fn account(prefs: &Prefs, key: &str, source: Source) -> Outcome {
    let server = prefs
        .get_str(&format!("mail.account.{key}.server"))
        .ok_or_else(|| (key.to_string(), "the account names no server".to_string()))?;
    let sp = |field: &str| format!("mail.server.{server}.{field}");
    let identities = prefs.get_list(&format!("mail.account.{key}.identities"));
    let identity = identities.iter().find(|id| {
        prefs
            .get_str(&format!("mail.identity.{id}.useremail"))
            .is_some()
    });
    let address = identity.and_then(|id| prefs.get_str(&format!("mail.identity.{id}.useremail")));
    let label = address
        .clone()
        .or_else(|| prefs.get_str(&sp("name")))
        .unwrap_or_else(|| key.to_string());
    let kind = prefs.get_str(&sp("type")).map(|t| t.to_ascii_lowercase());
    match kind.as_deref() {
        Some("imap") => {}
        // Local Folders, newsgroups and feeds are not mail accounts.
        Some("none" | "nntp" | "rss" | "movemail") => return Ok(None),
        Some("pop3") => {
            return Err((
                label,
                "a POP3 account: MailVortex reads mail over IMAP (discovery from the address may \
                 find the provider's IMAP server)"
                    .into(),
            ));
        }
        Some("ews" | "owl" | "exchange") => {
            return Err((
                label,
                "an Exchange account: MailVortex needs IMAP and SMTP".into(),
            ));
        }
        Some(other) => return Err((label, format!("an account of unknown type {other:?}"))),
        None => return Err((label, "the account's server has no type".into())),
    }
    let Some(address) = address else {
        return Err((label, "no mail address (identity) for this account".into()));
    };
    if !super::looks_like_address(&address) {
        return Err((label, format!("{address:?} is not a mail address")));
    }
    let host = prefs
        .get_str(&sp("realhostname"))
        .or_else(|| prefs.get_str(&sp("hostname")))
        .ok_or_else(|| {
            (
                address.clone(),
                "the IMAP server has no host name".to_string(),
            )
        })?;
    let mut acct = DiscoveredAccount::new(&address, source);
    let id = identity.map(String::as_str).unwrap_or_default();
    acct.display_name = prefs.get_str(&format!("mail.identity.{id}.fullName"));
    acct.username = prefs
        .get_str(&sp("realuserName"))
        .or_else(|| prefs.get_str(&sp("userName")));
    let imap = server_setting(
        prefs,
        &sp("port"),
        &[sp("socketType")],
        &host,
        Protocol::Imap,
        &mut acct.notes,
    );
    if prefs.get_int(&sp("authMethod")) == Some(10) {
        acct.needs = Some(hints::oauth2(&host, "Thunderbird"));
    }
    acct.imap = Some(imap);

    let others: Vec<String> = identities
        .iter()
        .filter(|i| Some(*i) != identity)
        .filter_map(|i| prefs.get_str(&format!("mail.identity.{i}.useremail")))
        .filter(|a| !a.eq_ignore_ascii_case(&address))
        .collect();
    if !others.is_empty() {
        acct.notes
            .push(format!("Also sends as: {}", others.join(", ")));
    }

    let smtp_key = prefs
        .get_str(&format!("mail.identity.{id}.smtpServer"))
        .or_else(|| prefs.get_str("mail.smtp.defaultserver"))
        .or_else(|| prefs.get_list("mail.smtpservers").into_iter().next());
    if let Some(k) = smtp_key {
        smtp(prefs, &k, &mut acct);
    }
    if acct.needs.is_none() {
        acct.needs = hints::for_host(&host);
    }
    Ok(Some(acct))
}

fn smtp(prefs: &Prefs, k: &str, acct: &mut DiscoveredAccount) {
    let p = |field: &str| format!("mail.smtpserver.{k}.{field}");
    if let Some(t) = prefs.get_str(&p("type"))
        && !t.eq_ignore_ascii_case("smtp")
    {
        acct.notes.push(format!(
            "Thunderbird sends this account's mail through a {t:?} server, not SMTP"
        ));
        return;
    }
    let Some(host) = prefs.get_str(&p("hostname")) else {
        return;
    };
    let setting = server_setting(
        prefs,
        &p("port"),
        &[p("try_ssl"), p("socketType")],
        &host,
        Protocol::Smtp,
        &mut acct.notes,
    );
    let user = prefs.get_str(&p("username"));
    match (&acct.username, &user) {
        (None, Some(u)) => acct.username = Some(u.clone()),
        (Some(i), Some(u)) if i != u => acct.notes.push(format!(
            "The SMTP login ({u}) differs from the IMAP login ({i})"
        )),
        _ => {}
    }
    if prefs.get_int(&p("authMethod")) == Some(10) && acct.needs.is_none() {
        acct.needs = Some(hints::oauth2(&host, "Thunderbird"));
    }
    acct.smtp = Some(setting);
}

/// Port and security from the prefs, with Thunderbird's defaults (IMAP 143/993; SMTP 25/465,
/// which is what Thunderbird itself uses for a port of 0).
fn server_setting(
    prefs: &Prefs,
    port_key: &str,
    security_keys: &[String],
    host: &str,
    protocol: Protocol,
    notes: &mut Vec<String>,
) -> ServerSetting {
    let port = prefs
        .get_int(port_key)
        .and_then(|p| u16::try_from(p).ok())
        .filter(|p| *p != 0);
    let key = security_keys.iter().find(|k| prefs.get(k).is_some());
    let raw = key.and_then(|k| prefs.get(k));
    let stated = key.and_then(|k| match prefs.get_int(k) {
        Some(0) => Some(Security::Plain),
        Some(1 | 2) => Some(Security::StartTls),
        Some(3) => Some(Security::Tls),
        _ => None,
    });
    let raw_text = raw.map(|v| match v {
        super::prefs::PrefValue::Str(s) => s.clone(),
        super::prefs::PrefValue::Int(i) => i.to_string(),
        super::prefs::PrefValue::Bool(b) => b.to_string(),
    });
    let (security, note) = security_or_guess(
        stated,
        raw_text.as_deref(),
        port,
        protocol,
        "Thunderbird",
        Security::Plain,
    );
    notes.extend(note);
    let port = port.unwrap_or(match (protocol, security) {
        (Protocol::Smtp, Security::Tls) => 465,
        (Protocol::Smtp, _) => 25,
        (Protocol::Imap, s) => protocol.default_port(s),
    });
    if security == Security::Plain {
        notes.push(super::plain_note(protocol, host));
    }
    ServerSetting::new(host, port, security)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_order_install_default_then_default_flag_then_rest() {
        let ini = "[Profile2]\nName=old\nIsRelative=1\nPath=Profiles/old.default\nDefault=1\n\n\
                   [Profile1]\nName=abs\nIsRelative=0\nPath=/srv/mail/tb-profile\n\n\
                   [Profile0]\nName=default-release\nIsRelative=1\nPath=Profiles/new.default-release\n\n\
                   [General]\nStartWithLastProfile=1\nVersion=2\n";
        let installs = "[8216C80C92C4E828]\nDefault=/srv/mail/tb-profile\nLocked=1\n\n\
                        [4F96D1932A9F858E]\nDefault=Profiles/new.default-release\n";
        let base = Path::new("/home/u/.thunderbird");
        let p = parse_profiles(ini, Some(installs), base);
        let got: Vec<_> = p.iter().map(|p| (p.name.as_str(), p.rank)).collect();
        assert_eq!(
            got,
            [
                ("abs", ProfileRank::InstallDefault),
                ("default-release", ProfileRank::InstallDefault),
                ("old", ProfileRank::DefaultFlag),
            ]
        );
        assert_eq!(p[0].path, PathBuf::from("/srv/mail/tb-profile"));
        assert_eq!(
            p[1].path,
            PathBuf::from("/home/u/.thunderbird/Profiles/new.default-release")
        );
    }

    #[test]
    fn a_lone_profile_is_the_default_and_windows_paths_resolve() {
        let ini = "[Profile0]\r\nName=default\r\nIsRelative=1\r\nPath=Profiles/ab12.default\r\n";
        let p = parse_profiles(ini, None, Path::new("/appdata/Thunderbird"));
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].rank, ProfileRank::OnlyProfile);
        assert_eq!(
            p[0].path,
            PathBuf::from("/appdata/Thunderbird/Profiles/ab12.default")
        );
        let abs = "[Profile0]\nName=d\nIsRelative=0\nPath=D:\\Mail\\Profile\n";
        let p = parse_profiles(abs, None, Path::new("/appdata/Thunderbird"));
        assert_eq!(p[0].path, PathBuf::from("D:\\Mail\\Profile"));
        assert!(is_absolute_text("D:\\Mail"));
        assert!(!is_absolute_text("Profiles/x"));
    }

    #[test]
    fn natural_order_of_account_keys() {
        let mut k = vec!["account10", "account2", "account1"];
        k.sort_by_key(|k| natural_key(k));
        assert_eq!(k, ["account1", "account2", "account10"]);
        assert_eq!(natural_key("x"), ("x".into(), 0));
    }
}
