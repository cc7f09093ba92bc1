//! Plain explanations for providers and sign-in methods that need more than a password.

use crate::model::{AuthHint, AuthHintKind};

/// Known large providers whose sign-in rules are worth explaining.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Provider {
    Google,
    MicrosoftPersonal,
    Microsoft365,
    Yahoo,
    Icloud,
}

impl Provider {
    fn name(self) -> &'static str {
        match self {
            Provider::Google => "Google",
            Provider::MicrosoftPersonal => "Microsoft (Outlook.com)",
            Provider::Microsoft365 => "Microsoft 365",
            Provider::Yahoo => "Yahoo",
            Provider::Icloud => "Apple iCloud",
        }
    }

    fn app_password_link(self) -> &'static str {
        match self {
            Provider::Google => "https://support.google.com/accounts/answer/185833",
            Provider::MicrosoftPersonal | Provider::Microsoft365 => {
                "https://support.microsoft.com/account-billing/how-to-get-and-use-app-passwords-5896ed9b-4263-e681-128a-a6f2979a7944"
            }
            Provider::Yahoo => "https://help.yahoo.com/kb/SLN15241.html",
            Provider::Icloud => "https://support.apple.com/en-us/102654",
        }
    }

    /// Recognises a provider by a server host name or a mail domain.
    pub(crate) fn from_host(host: &str) -> Option<Provider> {
        let h = host.trim().trim_end_matches('.').to_ascii_lowercase();
        let ends = |d: &str| h == d || h.ends_with(&format!(".{d}"));
        if ends("gmail.com") || ends("googlemail.com") || ends("google.com") {
            Some(Provider::Google)
        } else if ends("office365.com") {
            Some(Provider::Microsoft365)
        } else if ends("outlook.com") || ends("hotmail.com") || ends("live.com") || ends("msn.com")
        {
            Some(Provider::MicrosoftPersonal)
        } else if ends("yahoo.com") || ends("ymail.com") {
            Some(Provider::Yahoo)
        } else if ends("icloud.com") || ends("me.com") || ends("mac.com") {
            Some(Provider::Icloud)
        } else {
            None
        }
    }

    /// What the provider asks of a program that signs in with a password.
    pub(crate) fn password_hint(self) -> AuthHint {
        let (kind, explanation) = match self {
            Provider::MicrosoftPersonal => (
                AuthHintKind::OAuth2,
                "Outlook.com accepts only its own web sign-in (OAuth2) from mail programs, \
                 which MailVortex cannot do yet. Use another mail account with MailVortex."
                    .to_string(),
            ),
            Provider::Microsoft365 => (
                AuthHintKind::OAuth2,
                "Microsoft 365 usually accepts only its web sign-in (OAuth2). If your \
                 organisation allows app passwords, create one and use it here; otherwise ask \
                 your administrator or use another account."
                    .to_string(),
            ),
            other => (
                AuthHintKind::AppPassword,
                format!(
                    "{} does not accept your normal password from mail programs. Turn on \
                     two-step verification, create an app password, and type that here instead.",
                    other.name()
                ),
            ),
        };
        AuthHint {
            kind,
            provider: Some(self.name().to_string()),
            explanation,
            link: Some(self.app_password_link().to_string()),
        }
    }
}

/// The hint for an account that a mail program set up with OAuth2 (a web sign-in).
pub(crate) fn oauth2(host: &str, program: &str) -> AuthHint {
    match Provider::from_host(host) {
        Some(p) => p.password_hint(),
        None => AuthHint {
            kind: AuthHintKind::OAuth2,
            provider: None,
            explanation: format!(
                "{program} signs in to this account through the provider's web page (OAuth2), \
                 which MailVortex cannot do yet. If the provider offers app passwords, create \
                 one and use it here."
            ),
            link: None,
        },
    }
}

/// The hint for a large provider known to refuse plain passwords, if `host` is one.
pub(crate) fn for_host(host: &str) -> Option<AuthHint> {
    Provider::from_host(host).map(Provider::password_hint)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn providers_are_recognised_by_host_and_domain() {
        assert_eq!(
            Provider::from_host("imap.gmail.com"),
            Some(Provider::Google)
        );
        assert_eq!(Provider::from_host("GMAIL.COM."), Some(Provider::Google));
        assert_eq!(
            Provider::from_host("outlook.office365.com"),
            Some(Provider::Microsoft365)
        );
        assert_eq!(
            Provider::from_host("smtp-mail.outlook.com"),
            Some(Provider::MicrosoftPersonal)
        );
        assert_eq!(Provider::from_host("notgmail.com"), None);
        let h = oauth2("imap.example.org", "Thunderbird");
        assert_eq!(h.kind, AuthHintKind::OAuth2);
        assert!(h.explanation.contains("Thunderbird"));
        let g = oauth2("imap.gmail.com", "Thunderbird");
        assert_eq!(g.kind, AuthHintKind::AppPassword);
        assert!(g.link.is_some());
    }
}
