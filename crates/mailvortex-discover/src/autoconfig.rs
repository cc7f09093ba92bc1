//! Mozilla's autoconfig format (`clientConfig` version 1.1), as served by
//! `https://autoconfig.<domain>/mail/config-v1.1.xml`, by
//! `https://<domain>/.well-known/autoconfig/mail/config-v1.1.xml` and by Thunderbird's ISP
//! database, and the HTTPS fetch of those files.
//!
//! An `emailProvider` lists `incomingServer` (`type="imap"`, `"pop3"`, …) and
//! `outgoingServer` (`type="smtp"`) elements in the provider's order of preference, each with
//! `hostname`, `port`, `socketType` (`SSL`, `STARTTLS`, `plain`), `username` (with the
//! placeholders `%EMAILADDRESS%`, `%EMAILLOCALPART%`, `%EMAILDOMAIN%`) and one or more
//! `authentication` methods (`password-cleartext`, `password-encrypted`, `OAuth2`, …), plus
//! optional `documentation url=` and `enable visiturl=` elements. [`parse`] is pure and never
//! panics; [`to_account`] picks the first IMAP and SMTP server MailVortex can use.

use std::time::Duration;

use serde::Deserialize;

use crate::model::{
    AuthHint, AuthHintKind, DiscoveredAccount, Protocol, Security, ServerSetting, Source,
};

#[derive(Debug, Default, Deserialize)]
struct XConfig {
    #[serde(rename = "emailProvider", default)]
    providers: Vec<XProvider>,
}

#[derive(Debug, Default, Deserialize)]
struct XProvider {
    #[serde(rename = "@id")]
    id: Option<String>,
    #[serde(rename = "domain", default)]
    domains: Vec<String>,
    #[serde(rename = "displayName")]
    display_name: Option<String>,
    #[serde(rename = "displayShortName")]
    short_name: Option<String>,
    #[serde(rename = "incomingServer", default)]
    incoming: Vec<XServer>,
    #[serde(rename = "outgoingServer", default)]
    outgoing: Vec<XServer>,
    #[serde(rename = "documentation", default)]
    documentation: Vec<XDoc>,
    #[serde(rename = "enable", default)]
    enable: Vec<XEnable>,
}

#[derive(Debug, Default, Deserialize)]
struct XServer {
    #[serde(rename = "@type")]
    kind: Option<String>,
    hostname: Option<String>,
    port: Option<String>,
    #[serde(rename = "socketType")]
    socket_type: Option<String>,
    username: Option<String>,
    #[serde(rename = "authentication", default)]
    auth: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
struct XDoc {
    #[serde(rename = "@url")]
    url: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct XEnable {
    #[serde(rename = "@visiturl")]
    visit_url: Option<String>,
    #[serde(rename = "instruction", default)]
    instructions: Vec<XText>,
}

#[derive(Debug, Default, Deserialize)]
struct XText {
    #[serde(rename = "@lang")]
    lang: Option<String>,
    #[serde(rename = "$text")]
    text: Option<String>,
}

/// One `incomingServer` or `outgoingServer` as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigServer {
    /// `type=`: `imap`, `pop3`, `smtp`, `exchange`, …, lower-cased.
    pub kind: String,
    /// `hostname`.
    pub host: Option<String>,
    /// `port`, if a valid port number.
    pub port: Option<u16>,
    /// `socketType` understood (`SSL` → TLS, `STARTTLS`, `plain`); `None` when odd or absent.
    pub security: Option<Security>,
    /// `socketType` as written.
    pub socket_type: Option<String>,
    /// `username`, placeholders not yet replaced.
    pub username: Option<String>,
    /// `authentication` methods in order, as written.
    pub auth: Vec<String>,
}

impl ConfigServer {
    fn has_password_auth(&self) -> bool {
        self.auth.is_empty()
            || self.auth.iter().any(|a| {
                matches!(
                    a.trim().to_ascii_lowercase().as_str(),
                    "password-cleartext" | "password-encrypted" | "plain" | "secure"
                )
            })
    }

    fn has_oauth2(&self) -> bool {
        self.auth
            .iter()
            .any(|a| a.trim().eq_ignore_ascii_case("oauth2"))
    }

    fn usable(&self, protocol: Protocol, address: &str) -> Option<ServerSetting> {
        let host = expand(self.host.as_deref()?, address);
        let host = host.trim();
        if host.is_empty() || host.contains(['%', '/', ' ', '@', '?', '#']) {
            return None;
        }
        let security = self.security?;
        Some(ServerSetting::new(
            host,
            self.port.unwrap_or(protocol.default_port(security)),
            security,
        ))
    }
}

/// A parsed autoconfig file (its first `emailProvider`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AutoconfigFile {
    /// `emailProvider id=`.
    pub provider_id: Option<String>,
    /// The `domain` elements.
    pub domains: Vec<String>,
    /// `displayName` (or `displayShortName`).
    pub display_name: Option<String>,
    /// Incoming servers, most preferred first.
    pub incoming: Vec<ConfigServer>,
    /// Outgoing servers, most preferred first.
    pub outgoing: Vec<ConfigServer>,
    /// The first `documentation url=`.
    pub documentation: Option<String>,
    /// `enable visiturl=`: where IMAP access must be switched on first.
    pub enable_url: Option<String>,
    /// The English (or first) `enable/instruction`.
    pub enable_instruction: Option<String>,
}

fn server(x: XServer) -> ConfigServer {
    let socket_type = x.socket_type.map(|s| s.trim().to_string());
    let security = socket_type
        .as_deref()
        .and_then(|s| match s.to_ascii_uppercase().as_str() {
            "SSL" | "TLS" => Some(Security::Tls),
            "STARTTLS" => Some(Security::StartTls),
            "PLAIN" => Some(Security::Plain),
            _ => None,
        });
    ConfigServer {
        kind: x.kind.unwrap_or_default().trim().to_ascii_lowercase(),
        host: x.hostname.map(|h| h.trim().to_string()),
        port: x.port.as_deref().and_then(crate::keyfile::parse_port),
        security,
        socket_type,
        username: x.username.map(|u| u.trim().to_string()),
        auth: x.auth.into_iter().map(|a| a.trim().to_string()).collect(),
    }
}

/// Parses an autoconfig document. An error says why it is not one (bad XML, no provider).
pub fn parse(xml: &str) -> Result<AutoconfigFile, String> {
    let xml = xml.strip_prefix('\u{feff}').unwrap_or(xml);
    let trimmed = xml.trim_start();
    if !trimmed.starts_with('<') {
        return Err("not an XML document".into());
    }
    let x: XConfig = quick_xml::de::from_str(xml).map_err(|e| format!("malformed XML: {e}"))?;
    let p = x
        .providers
        .into_iter()
        .next()
        .ok_or("no emailProvider in the document")?;
    let enable = p.enable.into_iter().next();
    let enable_instruction = enable.as_ref().and_then(|e| {
        fn text(t: &XText) -> Option<&str> {
            t.text.as_deref().map(str::trim).filter(|s| !s.is_empty())
        }
        e.instructions
            .iter()
            .find(|t| t.lang.as_deref().is_none_or(|l| l.starts_with("en")))
            .and_then(text)
            .or_else(|| e.instructions.iter().find_map(text))
            .map(str::to_string)
    });
    Ok(AutoconfigFile {
        provider_id: p.id,
        domains: p
            .domains
            .into_iter()
            .map(|d| d.trim().to_string())
            .collect(),
        display_name: p
            .display_name
            .or(p.short_name)
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty()),
        incoming: p.incoming.into_iter().map(server).collect(),
        outgoing: p.outgoing.into_iter().map(server).collect(),
        documentation: p.documentation.into_iter().find_map(|d| d.url),
        enable_url: enable.as_ref().and_then(|e| e.visit_url.clone()),
        enable_instruction,
    })
}

/// Replaces `%EMAILADDRESS%`, `%EMAILLOCALPART%` and `%EMAILDOMAIN%`.
pub fn expand(template: &str, address: &str) -> String {
    let (local, domain) = address.rsplit_once('@').unwrap_or((address, ""));
    template
        .replace("%EMAILADDRESS%", address)
        .replace("%EMAILLOCALPART%", local)
        .replace("%EMAILDOMAIN%", domain)
}

fn pick<'a>(
    servers: &'a [ConfigServer],
    kind: &str,
    protocol: Protocol,
    address: &str,
) -> Option<(&'a ConfigServer, ServerSetting)> {
    let candidates: Vec<(&ConfigServer, ServerSetting)> = servers
        .iter()
        .filter(|s| s.kind == kind)
        .filter_map(|s| s.usable(protocol, address).map(|u| (s, u)))
        .collect();
    // The first one a password works with; else the first one at all.
    candidates
        .iter()
        .position(|(s, _)| s.has_password_auth())
        .or(if candidates.is_empty() { None } else { Some(0) })
        .map(|i| candidates[i].clone())
}

/// The account `file` describes for `address`: the first IMAP and SMTP server MailVortex can
/// use, a hint when only OAuth2 is offered or IMAP must be switched on first. An error says
/// why there is none (only POP3, no usable server).
pub fn to_account(
    file: &AutoconfigFile,
    address: &str,
    source: Source,
) -> Result<DiscoveredAccount, String> {
    let address = crate::model::normalize_address(address);
    let imap = pick(&file.incoming, "imap", Protocol::Imap, &address);
    let smtp = pick(&file.outgoing, "smtp", Protocol::Smtp, &address);
    let Some((imap_entry, imap_setting)) = imap else {
        let kinds: Vec<&str> = file.incoming.iter().map(|s| s.kind.as_str()).collect();
        return Err(if kinds.contains(&"pop3") {
            "the provider offers only POP3; MailVortex needs IMAP".into()
        } else if kinds.is_empty() {
            "the file lists no incoming server".into()
        } else {
            "no usable IMAP server in the file".into()
        });
    };
    let mut a = DiscoveredAccount::new(&address, source);
    let user = imap_entry
        .username
        .as_deref()
        .map(|u| expand(u, &a.address));
    a.username = user.filter(|u| !u.is_empty());
    let provider = file.display_name.clone();
    let oauth_only = !imap_entry.has_password_auth() && imap_entry.has_oauth2()
        || smtp
            .as_ref()
            .is_some_and(|(s, _)| !s.has_password_auth() && s.has_oauth2());
    if let Some((s, _)) = &smtp
        && let Some(u) = s.username.as_deref().map(|u| expand(u, &a.address))
        && !u.is_empty()
        && a.username.as_deref().is_some_and(|i| i != u)
    {
        a.notes
            .push(format!("The SMTP login ({u}) differs from the IMAP login"));
    }
    for (p, s) in [
        (Protocol::Imap, Some(&imap_setting)),
        (Protocol::Smtp, smtp.as_ref().map(|x| &x.1)),
    ] {
        if let Some(s) = s
            && s.security == Security::Plain
        {
            a.notes.push(crate::profiles::plain_note(p, &s.host));
        }
    }
    a.imap = Some(imap_setting.clone());
    a.smtp = smtp.map(|(_, s)| s);
    if oauth_only {
        let name = provider.clone().unwrap_or_else(|| "This provider".into());
        let known = crate::hints::for_host(&imap_setting.host);
        a.needs = Some(AuthHint {
            kind: AuthHintKind::OAuth2,
            provider: provider
                .clone()
                .or_else(|| known.as_ref().and_then(|k| k.provider.clone())),
            explanation: format!(
                "{name} only allows signing in through its own web page (OAuth2), which \
                 MailVortex cannot do yet. If it offers app passwords, create one and use it \
                 instead of your password."
            ),
            link: file
                .documentation
                .clone()
                .or_else(|| known.and_then(|k| k.link)),
        });
    } else if file.enable_url.is_some() || file.enable_instruction.is_some() {
        a.needs = Some(AuthHint {
            kind: AuthHintKind::EnableAccess,
            provider,
            explanation: file.enable_instruction.clone().unwrap_or_else(|| {
                "Switch on IMAP access in your mail provider's web settings first.".into()
            }),
            link: file
                .enable_url
                .clone()
                .or_else(|| file.documentation.clone()),
        });
    } else if let Some(mut h) = crate::hints::for_host(&imap_setting.host) {
        if let Some(doc) = &file.documentation {
            h.link.get_or_insert_with(|| doc.clone());
        }
        a.needs = Some(h);
    }
    Ok(a)
}

/// Percent-encodes everything but RFC 3986's unreserved characters (so `@` becomes `%40`
/// and `.` stays, as providers expect).
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Fills a URL template: `{domain}` and `{email}` (percent-encoded).
pub fn fill_url(template: &str, address: &str, domain: &str) -> String {
    template
        .replace("{domain}", domain)
        .replace("{email}", &percent_encode(address))
}

/// Why a fetch gave no document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchFailure {
    /// The server answered 404 or 410: there is no such file.
    NotFound(u16),
    /// Another HTTP status.
    Status(u16),
    /// No answer in time.
    Timeout,
    /// Connection, TLS or redirect failure, in words.
    Network(String),
    /// The body was larger than allowed.
    TooLarge,
}

impl std::fmt::Display for FetchFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FetchFailure::NotFound(c) => write!(f, "no such file (HTTP {c})"),
            FetchFailure::Status(c) => write!(f, "the server answered HTTP {c}"),
            FetchFailure::Timeout => write!(f, "no answer in time"),
            FetchFailure::Network(e) => write!(f, "{e}"),
            FetchFailure::TooLarge => write!(f, "the answer is too large to be an autoconfig file"),
        }
    }
}

/// An HTTPS client for autoconfig files: HTTPS only (redirects too), the crate's TLS roots,
/// a total timeout and a size cap.
#[derive(Debug, Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    max_bytes: usize,
}

impl Fetcher {
    /// A client with `tls` as its TLS configuration.
    pub fn new(
        tls: &rustls::ClientConfig,
        timeout: Duration,
        max_bytes: usize,
        system_proxy: bool,
    ) -> Result<Fetcher, crate::Error> {
        let mut tls = tls.clone();
        tls.alpn_protocols = vec![b"http/1.1".to_vec()];
        let mut b = reqwest::Client::builder()
            .use_preconfigured_tls(tls)
            .https_only(true)
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(reqwest::redirect::Policy::limited(5))
            .user_agent(concat!("MailVortex/", env!("CARGO_PKG_VERSION")));
        if !system_proxy {
            b = b.no_proxy();
        }
        let client = b.build().map_err(|e| crate::Error::Http(chain(&e)))?;
        Ok(Fetcher { client, max_bytes })
    }

    /// GETs `url`; the body as text when the status is 2xx.
    pub async fn get(&self, url: &str) -> Result<String, FetchFailure> {
        let mut resp = self.client.get(url).send().await.map_err(fail)?;
        let status = resp.status().as_u16();
        if status == 404 || status == 410 {
            return Err(FetchFailure::NotFound(status));
        }
        if !resp.status().is_success() {
            return Err(FetchFailure::Status(status));
        }
        if resp
            .content_length()
            .is_some_and(|l| l > self.max_bytes as u64)
        {
            return Err(FetchFailure::TooLarge);
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(fail)? {
            if body.len() + chunk.len() > self.max_bytes {
                return Err(FetchFailure::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        Ok(String::from_utf8_lossy(&body).into_owned())
    }
}

fn fail(e: reqwest::Error) -> FetchFailure {
    if e.is_timeout() {
        FetchFailure::Timeout
    } else {
        FetchFailure::Network(chain(&e))
    }
}

/// An error with its causes, as one line.
pub(crate) fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let t = c.to_string();
        if !s.contains(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        cur = c.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::SourceKind;

    const SAMPLE: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<clientConfig version="1.1">
  <emailProvider id="example.com">
    <domain>example.com</domain>
    <displayName>Example Mail</displayName>
    <incomingServer type="pop3">
      <hostname>pop.example.com</hostname><port>995</port><socketType>SSL</socketType>
      <username>%EMAILADDRESS%</username><authentication>password-cleartext</authentication>
    </incomingServer>
    <incomingServer type="imap">
      <hostname>imap.example.com</hostname><port>993</port><socketType>SSL</socketType>
      <username>%EMAILLOCALPART%</username>
      <authentication>OAuth2</authentication>
      <authentication>password-cleartext</authentication>
    </incomingServer>
    <outgoingServer type="smtp">
      <hostname>smtp.%EMAILDOMAIN%</hostname><port>587</port><socketType>STARTTLS</socketType>
      <username>%EMAILLOCALPART%</username><authentication>password-encrypted</authentication>
    </outgoingServer>
    <incomingServer type="imap">
      <hostname>imap2.example.com</hostname><port>143</port><socketType>STARTTLS</socketType>
    </incomingServer>
    <documentation url="https://example.com/help"><descr lang="en">Help</descr></documentation>
  </emailProvider>
</clientConfig>"#;

    #[test]
    fn parses_servers_in_order_even_when_interleaved() {
        let f = parse(SAMPLE).expect("parse");
        assert_eq!(f.provider_id.as_deref(), Some("example.com"));
        assert_eq!(f.display_name.as_deref(), Some("Example Mail"));
        let kinds: Vec<_> = f.incoming.iter().map(|s| s.kind.as_str()).collect();
        assert_eq!(kinds, ["pop3", "imap", "imap"]);
        assert_eq!(f.incoming[1].auth, ["OAuth2", "password-cleartext"]);
        assert_eq!(f.documentation.as_deref(), Some("https://example.com/help"));
        let a = to_account(
            &f,
            "jo@example.com",
            Source::new(SourceKind::Autoconfig, "u"),
        )
        .expect("account");
        assert_eq!(
            a.imap,
            Some(ServerSetting::new("imap.example.com", 993, Security::Tls))
        );
        // Placeholders are replaced in host names too, as Thunderbird does.
        assert_eq!(
            a.smtp,
            Some(ServerSetting::new(
                "smtp.example.com",
                587,
                Security::StartTls
            ))
        );
        assert_eq!(a.username.as_deref(), Some("jo"));
        assert_eq!(a.needs, None);
    }

    #[test]
    fn placeholders_and_url_templates() {
        assert_eq!(
            expand("%EMAILLOCALPART%+x@%EMAILDOMAIN%", "a.b@ex.org"),
            "a.b+x@ex.org"
        );
        assert_eq!(
            fill_url(
                "https://autoconfig.{domain}/mail/config-v1.1.xml?emailaddress={email}",
                "a.b+c@ex.org",
                "ex.org"
            ),
            "https://autoconfig.ex.org/mail/config-v1.1.xml?emailaddress=a.b%2Bc%40ex.org"
        );
    }

    #[test]
    fn odd_documents_are_errors() {
        assert!(parse("").is_err());
        assert!(parse("<html><body>hi</body></html>").is_err());
        assert!(parse("<clientConfig><emailProvider><incomingServer>").is_err());
        assert!(parse("{\"json\": true}").is_err());
    }
}
