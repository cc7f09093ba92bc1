//! GNOME Online Accounts: `~/.config/goa-1.0/accounts.conf`, a GLib key file with one
//! `[Account account_<time>_<n>]` group per account.
//!
//! `Provider=imap_smtp` accounts carry their servers: `EmailAddress`, `Name`, `ImapHost`
//! (optionally `host:port`), `ImapUserName`, `ImapUseSsl` (TLS on 993), `ImapUseTls`
//! (STARTTLS on 143), and the same for `Smtp…` (TLS on 465, STARTTLS on 587, plain on 25).
//! `MailEnabled=false` switches mail off. `google` and `ms365`/`windows_live` accounts sign in
//! with OAuth2 through GOA: they are reported with the provider's servers and a plain
//! explanation of what MailVortex needs instead. Passwords are in the keyring, never read.

use std::path::{Path, PathBuf};

use super::{LocalRoots, LocalScan, read_settings_file};
use crate::hints::Provider;
use crate::keyfile::{Group, KeyFile, split_host_port};
use crate::model::{
    DiscoveredAccount, Protocol, Security, ServerSetting, Skipped, Source, SourceKind,
};

/// Where `accounts.conf` is.
pub fn locations(roots: &LocalRoots) -> Vec<PathBuf> {
    vec![roots.config_home.join("goa-1.0").join("accounts.conf")]
}

/// Reads one `accounts.conf`.
pub fn scan_file(path: &Path, scan: &mut LocalScan) {
    match read_settings_file(path) {
        Ok(text) => scan.extend(accounts_from_conf(&text, &path.display().to_string())),
        Err(e) => scan.unreadable(SourceKind::Goa, path, &e),
    }
}

/// The accounts in the text of an `accounts.conf`; `location` names the file. Pure.
pub fn accounts_from_conf(text: &str, location: &str) -> (Vec<DiscoveredAccount>, Vec<Skipped>) {
    let kf = KeyFile::parse(text);
    let mut accounts = Vec::new();
    let mut skipped = Vec::new();
    for g in kf.groups().filter(|g| g.name.starts_with("Account ")) {
        let id = g.name.trim_start_matches("Account ").trim();
        let source = Source::new(SourceKind::Goa, location).with_entry(id);
        let provider = g.get("Provider").unwrap_or_default();
        let address = g
            .get("EmailAddress")
            .or_else(|| g.get("PresentationIdentity"))
            .or_else(|| g.get("Identity"))
            .filter(|a| super::looks_like_address(a));
        let label = address.clone().unwrap_or_else(|| id.to_string());
        if g.get_bool("MailEnabled") == Some(false) {
            if matches!(
                provider.as_str(),
                "imap_smtp" | "google" | "ms365" | "windows_live"
            ) {
                skipped.push(Skipped::new(
                    source,
                    label,
                    "mail is switched off for this account",
                ));
            }
            continue;
        }
        let result = match provider.as_str() {
            "imap_smtp" => imap_smtp(g, address, source.clone()),
            "google" => known(address, source.clone(), Provider::Google, g),
            "ms365" => known(address, source.clone(), Provider::Microsoft365, g),
            "windows_live" => known(address, source.clone(), Provider::MicrosoftPersonal, g),
            "exchange" => Err("an Exchange account: MailVortex needs IMAP and SMTP".to_string()),
            // Accounts without mail (Nextcloud, Kerberos, …) are not reported.
            _ => continue,
        };
        match result {
            Ok(a) => accounts.push(a),
            Err(why) => skipped.push(Skipped::new(source, label, why)),
        }
    }
    (accounts, skipped)
}

fn server(
    g: &Group,
    prefix: &str,
    protocol: Protocol,
    notes: &mut Vec<String>,
) -> Option<ServerSetting> {
    let (host, port) = split_host_port(&g.get(&format!("{prefix}Host"))?);
    if host.is_empty() {
        return None;
    }
    let ssl = g.get_bool(&format!("{prefix}UseSsl")).unwrap_or(false);
    let tls = g.get_bool(&format!("{prefix}UseTls")).unwrap_or(false);
    let security = if ssl {
        Security::Tls
    } else if tls {
        Security::StartTls
    } else {
        notes.push(super::plain_note(protocol, &host));
        Security::Plain
    };
    if g.get_bool(&format!("{prefix}AcceptSslErrors")) == Some(true) {
        notes.push(format!(
            "GNOME Online Accounts accepts certificate errors for {host}; MailVortex does not, \
             so its certificate may need to be trusted first"
        ));
    }
    Some(ServerSetting::new(
        &host,
        port.unwrap_or(protocol.default_port(security)),
        security,
    ))
}

fn imap_smtp(
    g: &Group,
    address: Option<String>,
    source: Source,
) -> Result<DiscoveredAccount, String> {
    let address = address.ok_or("no mail address for this account")?;
    let mut a = DiscoveredAccount::new(&address, source);
    a.display_name = g.get("Name");
    let mut notes = Vec::new();
    a.imap = Some(
        server(g, "Imap", Protocol::Imap, &mut notes).ok_or("the IMAP server has no host name")?,
    );
    a.smtp = server(g, "Smtp", Protocol::Smtp, &mut notes);
    a.notes = notes;
    a.username = g.get("ImapUserName");
    let smtp_user = g.get("SmtpUserName");
    match (&a.username, smtp_user) {
        (None, Some(u)) => a.username = Some(u),
        (Some(i), Some(u)) if *i != u && g.get_bool("SmtpUseAuth") != Some(false) => a.notes.push(
            format!("The SMTP login ({u}) differs from the IMAP login ({i})"),
        ),
        _ => {}
    }
    if let Some(imap) = &a.imap {
        a.needs = crate::hints::for_host(&imap.host);
    }
    Ok(a)
}

/// A provider account GOA signs in to with OAuth2: its well-known servers and a hint.
fn known(
    address: Option<String>,
    source: Source,
    provider: Provider,
    g: &Group,
) -> Result<DiscoveredAccount, String> {
    let address = address.ok_or("no mail address for this account")?;
    let mut a = DiscoveredAccount::new(&address, source);
    a.display_name = g.get("Name");
    a.username = Some(address.clone());
    let (imap, smtp) = match provider {
        Provider::Google => (
            ServerSetting::new("imap.gmail.com", 993, Security::Tls),
            ServerSetting::new("smtp.gmail.com", 465, Security::Tls),
        ),
        Provider::MicrosoftPersonal => (
            ServerSetting::new("outlook.office365.com", 993, Security::Tls),
            ServerSetting::new("smtp-mail.outlook.com", 587, Security::StartTls),
        ),
        _ => (
            ServerSetting::new("outlook.office365.com", 993, Security::Tls),
            ServerSetting::new("smtp.office365.com", 587, Security::StartTls),
        ),
    };
    a.imap = Some(imap);
    a.smtp = Some(smtp);
    let mut hint = provider.password_hint();
    hint.explanation = format!(
        "GNOME Online Accounts signs in to this account through the provider's web page \
         (OAuth2). {}",
        hint.explanation
    );
    a.needs = Some(hint);
    Ok(a)
}
