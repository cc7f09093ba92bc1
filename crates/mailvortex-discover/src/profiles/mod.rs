//! Mail accounts already set up in the user's mail programs, read from their settings files.
//!
//! Only settings are read, never passwords: the files opened are named one by one
//! (`profiles.ini`, `installs.ini`, `prefs.js`, `*.source`, `accounts.conf`, `geary.ini`,
//! `akonadi_*_resource_*rc`, `mailtransports`, `emailidentities`), and [`read_settings_file`]
//! refuses the files where programs keep secrets (`logins.json`, `key4.db`, keyrings…) even if
//! asked. Nothing is written.
//!
//! Every directory comes from a [`LocalRoots`], so tests (and callers) decide which home is
//! searched; [`LocalRoots::from_env`] is the only place that reads the environment.

pub mod evolution;
pub mod geary;
pub mod goa;
pub mod kmail;
pub mod prefs;
pub mod thunderbird;

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::model::{DiscoveredAccount, Protocol, Security, Skipped, SourceKind, dedupe};

/// The operating system whose directory layout is searched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Platform {
    /// Linux and the BSDs (XDG directories, Flatpak and Snap).
    Linux,
    /// Windows (`%APPDATA%`).
    Windows,
    /// macOS (`~/Library`).
    MacOs,
}

impl Platform {
    /// The platform this program was built for.
    pub fn current() -> Platform {
        if cfg!(target_os = "windows") {
            Platform::Windows
        } else if cfg!(target_os = "macos") {
            Platform::MacOs
        } else {
            Platform::Linux
        }
    }
}

/// The directories local discovery searches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalRoots {
    /// Which layout to expect.
    pub platform: Platform,
    /// The home directory (`$HOME`, `%USERPROFILE%`).
    pub home: PathBuf,
    /// `$XDG_CONFIG_HOME`, normally `~/.config` (Linux).
    pub config_home: PathBuf,
    /// `$XDG_DATA_HOME`, normally `~/.local/share` (Linux).
    pub data_home: PathBuf,
    /// `%APPDATA%`, normally `%USERPROFILE%\AppData\Roaming` (Windows).
    pub appdata: PathBuf,
}

impl LocalRoots {
    /// A Linux home with the default XDG directories.
    pub fn linux(home: impl Into<PathBuf>) -> LocalRoots {
        let home = home.into();
        LocalRoots {
            platform: Platform::Linux,
            config_home: home.join(".config"),
            data_home: home.join(".local").join("share"),
            appdata: home.join("AppData").join("Roaming"),
            home,
        }
    }

    /// A Windows profile: `home` is `%USERPROFILE%`, `appdata` is `%APPDATA%`.
    pub fn windows(home: impl Into<PathBuf>, appdata: impl Into<PathBuf>) -> LocalRoots {
        let home = home.into();
        LocalRoots {
            platform: Platform::Windows,
            config_home: home.join(".config"),
            data_home: home.join(".local").join("share"),
            appdata: appdata.into(),
            home,
        }
    }

    /// A macOS home.
    pub fn macos(home: impl Into<PathBuf>) -> LocalRoots {
        let mut r = LocalRoots::linux(home);
        r.platform = Platform::MacOs;
        r
    }

    /// The current user's directories from the environment (`HOME`/`USERPROFILE`,
    /// `XDG_CONFIG_HOME`, `XDG_DATA_HOME`, `APPDATA`); `None` without a home directory.
    pub fn from_env() -> Option<LocalRoots> {
        let var = |k: &str| {
            std::env::var_os(k)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
                .filter(|p| p.is_absolute())
        };
        let platform = Platform::current();
        let home = match platform {
            Platform::Windows => var("USERPROFILE").or_else(|| var("HOME"))?,
            _ => var("HOME")?,
        };
        let mut roots = match platform {
            Platform::Linux => LocalRoots::linux(&home),
            Platform::MacOs => LocalRoots::macos(&home),
            Platform::Windows => {
                let appdata =
                    var("APPDATA").unwrap_or_else(|| home.join("AppData").join("Roaming"));
                LocalRoots::windows(&home, appdata)
            }
        };
        if platform == Platform::Linux {
            if let Some(c) = var("XDG_CONFIG_HOME") {
                roots.config_home = c;
            }
            if let Some(d) = var("XDG_DATA_HOME") {
                roots.data_home = d;
            }
        }
        Some(roots)
    }

    /// Where Flatpak keeps an app's `~/.config`-like and `~/.local/share`-like directories.
    pub(crate) fn flatpak(&self, app_id: &str) -> PathBuf {
        self.home.join(".var").join("app").join(app_id)
    }

    /// Where Snap keeps an app's home (`~/snap/<name>/current` for per-revision data).
    pub(crate) fn snap(&self, name: &str, which: &str) -> PathBuf {
        self.home.join("snap").join(name).join(which)
    }
}

/// One place that was looked at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Checked {
    /// The program whose settings would be there.
    pub kind: SourceKind,
    /// The directory or file.
    pub path: String,
    /// Whether it exists.
    pub found: bool,
}

/// Everything a local scan found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LocalScan {
    /// Usable accounts, duplicates merged, in the order found (Thunderbird, Evolution, GNOME
    /// Online Accounts, Geary, KMail; within a program, its own order of preference).
    pub accounts: Vec<DiscoveredAccount>,
    /// Entries that were found but are not offered (POP-only, disabled, no address…).
    pub skipped: Vec<Skipped>,
    /// Every place looked at, found or not.
    pub checked: Vec<Checked>,
}

impl LocalScan {
    pub(crate) fn check(&mut self, kind: SourceKind, path: &Path) -> bool {
        let found = path.exists();
        self.checked.push(Checked {
            kind,
            path: path.display().to_string(),
            found,
        });
        found
    }

    pub(crate) fn extend(&mut self, (accounts, skipped): (Vec<DiscoveredAccount>, Vec<Skipped>)) {
        self.accounts.extend(accounts);
        self.skipped.extend(skipped);
    }

    pub(crate) fn unreadable(&mut self, kind: SourceKind, path: &Path, err: &std::io::Error) {
        self.skipped.push(Skipped::new(
            crate::model::Source::new(kind, path.display().to_string()),
            path.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            format!("could not read the file: {err}"),
        ));
    }
}

/// Searches every mail program's settings under `roots`. Reads files only; never fails (an
/// unreadable file is listed in [`LocalScan::skipped`]).
pub fn scan_local(roots: &LocalRoots) -> LocalScan {
    let mut scan = LocalScan::default();
    for dir in thunderbird::locations(roots) {
        if scan.check(SourceKind::Thunderbird, &dir) {
            thunderbird::scan_dir(&dir, &mut scan);
        }
    }
    if roots.platform == Platform::Linux {
        for dir in evolution::locations(roots) {
            if scan.check(SourceKind::Evolution, &dir) {
                evolution::scan_dir(&dir, &mut scan);
            }
        }
        for file in goa::locations(roots) {
            if scan.check(SourceKind::Goa, &file) {
                goa::scan_file(&file, &mut scan);
            }
        }
        for dir in geary::locations(roots) {
            if scan.check(SourceKind::Geary, &dir) {
                geary::scan_dir(&dir, &mut scan);
            }
        }
        for dir in kmail::locations(roots) {
            kmail::scan_dir(&dir, &mut scan);
        }
    }
    scan.accounts = dedupe(std::mem::take(&mut scan.accounts));
    scan
}

/// The largest settings file read (`prefs.js` of a busy profile is a few hundred KiB).
pub const MAX_SETTINGS_FILE: u64 = 16 * 1024 * 1024;

/// File names where mail programs keep passwords or keys: never opened.
const SECRET_FILES: &[&str] = &[
    "logins.json",
    "logins-backup.json",
    "key4.db",
    "key3.db",
    "cert9.db",
    "signons.sqlite",
    "signons.txt",
    "login.keyring",
    "kdewallet.kwl",
    "kdewallet.salt",
];

/// True for a file this crate must never open.
pub fn is_secret_file(path: &Path) -> bool {
    let Some(name) = path.file_name().map(|n| n.to_string_lossy().to_lowercase()) else {
        return false;
    };
    SECRET_FILES.contains(&name.as_str())
        || name.ends_with(".keyring")
        || name.ends_with(".kwl")
        || path.components().any(|c| {
            let c = c.as_os_str().to_string_lossy().to_lowercase();
            c == "keyrings" || c == "kwalletd"
        })
}

/// Reads a settings file as text (invalid UTF-8 replaced), refusing secret stores, anything
/// that is not a regular file and files over [`MAX_SETTINGS_FILE`].
pub fn read_settings_file(path: &Path) -> std::io::Result<String> {
    use std::io::{Error, ErrorKind, Read};
    if is_secret_file(path) {
        return Err(Error::new(
            ErrorKind::PermissionDenied,
            "MailVortex never opens files that hold passwords",
        ));
    }
    let meta = std::fs::metadata(path)?;
    if !meta.is_file() {
        return Err(Error::new(ErrorKind::InvalidInput, "not a regular file"));
    }
    if meta.len() > MAX_SETTINGS_FILE {
        return Err(Error::new(ErrorKind::InvalidData, "file too large"));
    }
    let mut bytes = Vec::new();
    std::fs::File::open(path)?
        .take(MAX_SETTINGS_FILE)
        .read_to_end(&mut bytes)?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// The security a profile states, or what its port implies when the value is missing or
/// unknown. Returns the security and, when it was guessed, a note saying so.
pub(crate) fn security_or_guess(
    stated: Option<Security>,
    raw: Option<&str>,
    port: Option<u16>,
    protocol: Protocol,
    program: &str,
    fallback: Security,
) -> (Security, Option<String>) {
    if let Some(s) = stated {
        return (s, None);
    }
    let implicit = matches!(
        (protocol, port),
        (Protocol::Imap, Some(993)) | (Protocol::Smtp, Some(465))
    );
    match raw {
        // Missing: the program's own default, unless the port says otherwise (a TLS default
        // on a port that is not an implicit-TLS port means STARTTLS there).
        None => {
            let s = match (implicit, port, fallback) {
                (true, _, _) => Security::Tls,
                (false, Some(_), Security::Tls) => Security::StartTls,
                _ => fallback,
            };
            (s, None)
        }
        Some(v) => {
            let s = if implicit {
                Security::Tls
            } else {
                Security::StartTls
            };
            (
                s,
                Some(format!(
                    "{program} names an unknown {} security setting ({v:?}); assumed {}",
                    protocol.name(),
                    s.describe()
                )),
            )
        }
    }
}

/// The note for a server a profile sets up without encryption.
pub(crate) fn plain_note(protocol: Protocol, host: &str) -> String {
    format!(
        "{} server {host} is set up without encryption: the password would cross the network \
         readable. Check whether it offers TLS or STARTTLS.",
        protocol.name()
    )
}

/// Splits an RFC 5322 mailbox (`Name <addr>` or a bare address) into name and address.
pub(crate) fn parse_mailbox(raw: &str) -> Option<(Option<String>, String)> {
    let raw = raw.trim();
    let (name, addr) = match (raw.rfind('<'), raw.rfind('>')) {
        (Some(l), Some(r)) if l < r => {
            let name = raw[..l].trim().trim_matches('"').trim();
            (
                (!name.is_empty()).then(|| name.to_string()),
                raw[l + 1..r].trim(),
            )
        }
        _ => (None, raw),
    };
    looks_like_address(addr).then(|| (name, addr.to_string()))
}

/// A cheap plausibility check: one `@` with something on both sides and no spaces.
pub(crate) fn looks_like_address(s: &str) -> bool {
    match s.rsplit_once('@') {
        Some((l, d)) => {
            !l.is_empty()
                && !d.is_empty()
                && !d.contains('@')
                && !s.chars().any(|c| c.is_whitespace() || c == '<' || c == '>')
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_files_are_refused_by_name() {
        for p in [
            "/h/.thunderbird/x.default/logins.json",
            "/h/.thunderbird/x.default/KEY4.DB",
            "/h/.local/share/keyrings/login.keyring",
            "/h/.local/share/keyrings/anything",
            "/h/.local/share/kwalletd/kdewallet.kwl",
        ] {
            assert!(is_secret_file(Path::new(p)), "{p}");
            let err = read_settings_file(Path::new(p)).expect_err("refused");
            assert_eq!(err.kind(), std::io::ErrorKind::PermissionDenied);
        }
        assert!(!is_secret_file(Path::new(
            "/h/.thunderbird/x.default/prefs.js"
        )));
    }

    #[test]
    fn mailboxes() {
        assert_eq!(
            parse_mailbox("\"Zoë Ünïcode\" <zoe@example.org>"),
            Some((Some("Zoë Ünïcode".into()), "zoe@example.org".into()))
        );
        assert_eq!(
            parse_mailbox("bob@example.org"),
            Some((None, "bob@example.org".into()))
        );
        assert_eq!(parse_mailbox("no address"), None);
        assert_eq!(parse_mailbox("<>"), None);
        assert_eq!(parse_mailbox("a@b@"), None);
    }

    #[test]
    fn guessed_security_says_so() {
        let (s, n) = security_or_guess(
            None,
            Some("7"),
            Some(993),
            Protocol::Imap,
            "X",
            Security::Plain,
        );
        assert_eq!(s, Security::Tls);
        assert!(n.expect("note").contains("unknown"));
        let (s, n) = security_or_guess(None, None, Some(143), Protocol::Imap, "X", Security::Plain);
        assert_eq!((s, n), (Security::Plain, None));
        let (s, _) = security_or_guess(None, None, Some(143), Protocol::Imap, "X", Security::Tls);
        assert_eq!(s, Security::StartTls);
        let (s, _) = security_or_guess(None, None, None, Protocol::Imap, "X", Security::Tls);
        assert_eq!(s, Security::Tls);
        let (s, _) = security_or_guess(None, Some("?"), None, Protocol::Smtp, "X", Security::Plain);
        assert_eq!(s, Security::StartTls);
    }

    #[test]
    fn roots_layouts() {
        let r = LocalRoots::linux("/home/u");
        assert_eq!(r.config_home, PathBuf::from("/home/u/.config"));
        assert_eq!(r.data_home, PathBuf::from("/home/u/.local/share"));
        let w = LocalRoots::windows("/c/Users/u", "/c/Users/u/AppData/Roaming");
        assert_eq!(w.platform, Platform::Windows);
        assert_eq!(w.appdata, PathBuf::from("/c/Users/u/AppData/Roaming"));
    }
}
