//! What discovery finds: typed accounts, where each was found, and what the user still has to do.

use serde::Serialize;

/// How a connection to a mail server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Security {
    /// TLS from the first byte ("implicit TLS": IMAPS 993, submissions 465).
    Tls,
    /// A plain connection upgraded with STARTTLS before anything else (IMAP 143, submission 587).
    #[serde(rename = "starttls")]
    StartTls,
    /// No TLS at all. Reported when a profile says so; never chosen by probing.
    Plain,
}

impl Security {
    /// Plain words for a person.
    pub fn describe(self) -> &'static str {
        match self {
            Security::Tls => "TLS",
            Security::StartTls => "STARTTLS",
            Security::Plain => "no encryption",
        }
    }
}

/// The two kinds of server an account needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// Reading mail.
    Imap,
    /// Sending mail (submission).
    Smtp,
}

impl Protocol {
    /// "IMAP" or "SMTP".
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Imap => "IMAP",
            Protocol::Smtp => "SMTP",
        }
    }

    /// The port a client uses when a profile names none.
    pub fn default_port(self, security: Security) -> u16 {
        match (self, security) {
            (Protocol::Imap, Security::Tls) => 993,
            (Protocol::Imap, _) => 143,
            (Protocol::Smtp, Security::Tls) => 465,
            (Protocol::Smtp, Security::StartTls) => 587,
            (Protocol::Smtp, Security::Plain) => 25,
        }
    }
}

/// One server endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct ServerSetting {
    /// Host name (what the certificate is checked against).
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// How the connection is protected.
    pub security: Security,
}

impl ServerSetting {
    /// A setting; the host is trimmed and lower-cased so that equal servers compare equal.
    pub fn new(host: &str, port: u16, security: Security) -> Self {
        ServerSetting {
            host: host.trim().trim_end_matches('.').to_lowercase(),
            port,
            security,
        }
    }
}

impl std::fmt::Display for ServerSetting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{} ({})",
            self.host,
            self.port,
            self.security.describe()
        )
    }
}

/// Which mail program or method found an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum SourceKind {
    /// Thunderbird's `prefs.js` (also Betterbird, which keeps the same files).
    Thunderbird,
    /// Evolution's `sources/*.source` key files.
    Evolution,
    /// GNOME Online Accounts' `accounts.conf`.
    Goa,
    /// Geary's `geary.ini`.
    Geary,
    /// KMail: Akonadi IMAP resources, `mailtransports`, `emailidentities`.
    KMail,
    /// `https://autoconfig.<domain>/mail/config-v1.1.xml`.
    Autoconfig,
    /// `https://<domain>/.well-known/autoconfig/mail/config-v1.1.xml`.
    WellKnown,
    /// Thunderbird's ISP database.
    Ispdb,
    /// DNS SRV records (RFC 6186, RFC 8314).
    Srv,
    /// Connecting to common host names and ports.
    Probe,
}

impl SourceKind {
    /// The name a person knows it by.
    pub fn label(self) -> &'static str {
        match self {
            SourceKind::Thunderbird => "Thunderbird",
            SourceKind::Evolution => "Evolution",
            SourceKind::Goa => "GNOME Online Accounts",
            SourceKind::Geary => "Geary",
            SourceKind::KMail => "KMail",
            SourceKind::Autoconfig => "the provider's autoconfig server",
            SourceKind::WellKnown => "the domain's .well-known autoconfig file",
            SourceKind::Ispdb => "Thunderbird's ISP database",
            SourceKind::Srv => "DNS SRV records",
            SourceKind::Probe => "trying common server names",
        }
    }

    /// True for the local mail programs (as opposed to the network methods).
    pub fn is_local(self) -> bool {
        matches!(
            self,
            SourceKind::Thunderbird
                | SourceKind::Evolution
                | SourceKind::Goa
                | SourceKind::Geary
                | SourceKind::KMail
        )
    }
}

/// Where an account was found.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Source {
    /// The program or method.
    pub kind: SourceKind,
    /// The file (local profiles), URL (autoconfig) or DNS name / host list (SRV, probing).
    pub location: String,
    /// Which entry in that file: a Thunderbird account key, an Evolution source uid, a group name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entry: Option<String>,
}

impl Source {
    /// A source without an entry name.
    pub fn new(kind: SourceKind, location: impl Into<String>) -> Self {
        Source {
            kind,
            location: location.into(),
            entry: None,
        }
    }

    /// The same source, naming the entry in the file.
    pub fn with_entry(mut self, entry: impl Into<String>) -> Self {
        self.entry = Some(entry.into());
        self
    }
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.kind.label(), self.location)?;
        if let Some(e) = &self.entry {
            write!(f, " ({e})")?;
        }
        Ok(())
    }
}

/// What kind of step a person has to take before the password works.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AuthHintKind {
    /// The provider signs in through its web page only (OAuth2), which MailVortex cannot do yet.
    OAuth2,
    /// The ordinary password is refused; an app password made at the provider works.
    AppPassword,
    /// IMAP access must first be switched on in the provider's web settings.
    EnableAccess,
    /// The account uses something MailVortex cannot use at all (e.g. only Exchange Web Services).
    Unsupported,
}

/// A plain explanation, and where to read more, when a password alone will not do.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct AuthHint {
    /// The kind of step.
    pub kind: AuthHintKind,
    /// The provider's name, when known ("Google", "Microsoft").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// One or two sentences for a person with no technical background.
    pub explanation: String,
    /// A page at the provider that shows how.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
}

/// A mail account's settings as found, ready for the user to confirm.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DiscoveredAccount {
    /// The mail address (lower-case domain; the local part as written).
    pub address: String,
    /// The name the user sends as, when a profile has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Where to read mail.
    pub imap: Option<ServerSetting>,
    /// Where to send mail.
    pub smtp: Option<ServerSetting>,
    /// The login name, when known; `None` means try the address, then its local part.
    pub username: Option<String>,
    /// Where it was found first (the most preferred source).
    pub source: Source,
    /// Other places the same account was found (same address and servers).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub also_found: Vec<Source>,
    /// What the user must do beyond typing the password, if anything.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub needs: Option<AuthHint>,
    /// Things worth telling the user (a guessed port, a different SMTP login, an off-domain server).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl DiscoveredAccount {
    /// An account with only an address and a source; the rest is filled in by the finder.
    pub fn new(address: &str, source: Source) -> Self {
        DiscoveredAccount {
            address: normalize_address(address),
            display_name: None,
            imap: None,
            smtp: None,
            username: None,
            source,
            also_found: Vec::new(),
            needs: None,
            notes: Vec::new(),
        }
    }

    /// Every source, the first one first.
    pub fn sources(&self) -> impl Iterator<Item = &Source> {
        std::iter::once(&self.source).chain(self.also_found.iter())
    }

    /// True when the account can both read and send.
    pub fn is_complete(&self) -> bool {
        self.imap.is_some() && self.smtp.is_some()
    }

    fn same_account(&self, other: &DiscoveredAccount) -> bool {
        self.address.eq_ignore_ascii_case(&other.address)
            && self.imap == other.imap
            && self.smtp == other.smtp
    }

    fn absorb(&mut self, other: DiscoveredAccount) {
        for s in std::iter::once(other.source).chain(other.also_found) {
            if !self.sources().any(|have| *have == s) {
                self.also_found.push(s);
            }
        }
        if self.display_name.is_none() {
            self.display_name = other.display_name;
        }
        if self.username.is_none() {
            self.username = other.username;
        }
        if self.needs.is_none() {
            self.needs = other.needs;
        }
        for n in other.notes {
            if !self.notes.contains(&n) {
                self.notes.push(n);
            }
        }
    }
}

/// Lower-cases the domain of an address and trims it; the local part keeps its case.
pub fn normalize_address(address: &str) -> String {
    let a = address.trim();
    match a.rsplit_once('@') {
        Some((local, domain)) => format!("{local}@{}", domain.to_lowercase()),
        None => a.to_string(),
    }
}

/// Merges accounts with the same address and the same servers, keeping the first one's place
/// in the list and every source.
pub fn dedupe(accounts: Vec<DiscoveredAccount>) -> Vec<DiscoveredAccount> {
    let mut out: Vec<DiscoveredAccount> = Vec::with_capacity(accounts.len());
    for a in accounts {
        match out.iter_mut().find(|have| have.same_account(&a)) {
            Some(have) => have.absorb(a),
            None => out.push(a),
        }
    }
    out
}

/// An account-like entry that was found but not offered, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skipped {
    /// Where it was found.
    pub source: Source,
    /// The address or account name, as far as known.
    pub what: String,
    /// Why it was not offered, in plain words.
    pub reason: String,
}

impl Skipped {
    /// A skipped entry.
    pub fn new(source: Source, what: impl Into<String>, reason: impl Into<String>) -> Self {
        Skipped {
            source,
            what: what.into(),
            reason: reason.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acct(addr: &str, kind: SourceKind, imap_host: &str) -> DiscoveredAccount {
        let mut a = DiscoveredAccount::new(addr, Source::new(kind, format!("/{kind:?}")));
        a.imap = Some(ServerSetting::new(imap_host, 993, Security::Tls));
        a.smtp = Some(ServerSetting::new("smtp.example.org", 465, Security::Tls));
        a
    }

    #[test]
    fn dedupe_merges_same_address_and_servers_and_keeps_every_source() {
        let mut second = acct(
            "Alice@EXAMPLE.org",
            SourceKind::Evolution,
            "IMAP.example.org",
        );
        second.display_name = Some("Alice".into());
        second.notes.push("n".into());
        let out = dedupe(vec![
            acct(
                "Alice@example.org",
                SourceKind::Thunderbird,
                "imap.example.org",
            ),
            acct(
                "bob@example.org",
                SourceKind::Thunderbird,
                "imap.example.org",
            ),
            second,
            acct("Alice@example.org", SourceKind::Goa, "other.example.org"),
        ]);
        assert_eq!(out.len(), 3);
        assert_eq!(out[0].source.kind, SourceKind::Thunderbird);
        assert_eq!(out[0].also_found.len(), 1);
        assert_eq!(out[0].also_found[0].kind, SourceKind::Evolution);
        assert_eq!(out[0].display_name.as_deref(), Some("Alice"));
        assert_eq!(out[0].notes, vec!["n".to_string()]);
        assert_eq!(out[1].address, "bob@example.org");
        assert_eq!(out[2].source.kind, SourceKind::Goa);
    }

    #[test]
    fn default_ports_follow_the_rfcs() {
        assert_eq!(Protocol::Imap.default_port(Security::Tls), 993);
        assert_eq!(Protocol::Imap.default_port(Security::StartTls), 143);
        assert_eq!(Protocol::Smtp.default_port(Security::Tls), 465);
        assert_eq!(Protocol::Smtp.default_port(Security::StartTls), 587);
        assert_eq!(Protocol::Smtp.default_port(Security::Plain), 25);
    }

    #[test]
    fn server_setting_is_normalised_and_serialises_in_lower_case() {
        let s = ServerSetting::new(" Mail.Example.ORG. ", 143, Security::StartTls);
        assert_eq!(s.host, "mail.example.org");
        let json = serde_json::to_string(&s).expect("serialise");
        assert_eq!(
            json,
            r#"{"host":"mail.example.org","port":143,"security":"starttls"}"#
        );
    }
}
