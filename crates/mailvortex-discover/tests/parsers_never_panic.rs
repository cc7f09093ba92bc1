//! Property tests: every parser accepts any text without panicking, both fully random text
//! and text built from each format's own pieces (so the generator reaches deep into the
//! grammar: escapes, wrong value types, duplicate keys, odd sections). And two round trips:
//! a string escaped as libpref writes it reads back the same, and key-file values survive.

use mailvortex_discover::autoconfig;
use mailvortex_discover::keyfile::KeyFile;
use mailvortex_discover::model::{Source, SourceKind};
use mailvortex_discover::profiles::prefs::{PrefValue, Prefs};
use mailvortex_discover::profiles::{evolution, geary, goa, kmail, thunderbird};
use proptest::prelude::*;
use std::path::Path;

/// Text made of `pieces` and random characters.
fn text_of(pieces: &'static [&'static str]) -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        4 => proptest::sample::select(pieces).prop_map(str::to_string),
        1 => any::<char>().prop_map(|c| c.to_string()),
        1 => "[0-9]{1,12}",
        1 => "[ a-zA-Z.@:_-]{0,12}",
    ];
    proptest::collection::vec(piece, 0..80).prop_map(|v| v.concat())
}

const PREFS_PIECES: &[&str] = &[
    "user_pref(",
    "pref(",
    "sticky_pref(",
    ");\n",
    ", ",
    ", locked",
    "\"",
    "'",
    "\\",
    "\\u",
    "\\uD83D",
    "\\uDE00",
    "\\x4",
    "\\n",
    "true",
    "false",
    "-",
    "+",
    "//",
    "/*",
    "*/",
    "#",
    "\r\n",
    "\n",
    "\"mail.accountmanager.accounts\"",
    "\"account1,account2\"",
    "\"mail.account.account1.server\"",
    "\"server1\"",
    "\"mail.account.account1.identities\"",
    "\"id1,,id2\"",
    "\"mail.server.server1.type\"",
    "\"imap\"",
    "\"pop3\"",
    "\"none\"",
    "\"mail.server.server1.hostname\"",
    "\"mail.server.server1.realhostname\"",
    "\"mail.server.server1.port\"",
    "\"mail.server.server1.socketType\"",
    "\"mail.server.server1.authMethod\"",
    "\"mail.identity.id1.useremail\"",
    "\"a@b.c\"",
    "\"mail.identity.id1.smtpServer\"",
    "\"smtp1\"",
    "\"mail.smtpserver.smtp1.hostname\"",
    "\"mail.smtpserver.smtp1.port\"",
    "\"mail.smtpserver.smtp1.try_ssl\"",
    "\"mail.smtp.defaultserver\"",
    "\"mail.smtpservers\"",
    "99999999999",
    "65536",
    "993",
    "0",
    "3",
    "10",
];

const INI_PIECES: &[&str] = &[
    "[",
    "]",
    "=",
    "\n",
    "\r\n",
    "\u{feff}",
    "#",
    ";",
    "\\s",
    "\\n",
    "\\",
    ":",
    ";",
    "[Profile0]",
    "[Install1]",
    "[General]",
    "Path=",
    "IsRelative=0",
    "IsRelative=1",
    "Default=1",
    "Default=",
    "Name=",
    "/abs/path",
    "Profiles/x",
    "C:\\x",
    "[Data Source]",
    "[Mail Account]",
    "[Mail Identity]",
    "[Mail Transport]",
    "[Mail Submission]",
    "[Authentication]",
    "[Security]",
    "BackendName=imapx",
    "BackendName=smtp",
    "BackendName=pop",
    "IdentityUid=a",
    "TransportUid=b",
    "Parent=a",
    "Enabled=false",
    "Host=",
    "Port=",
    "User=",
    "Method=ssl-on-alternate-port",
    "Method=starttls-on-standard-port",
    "Method=none",
    "Method=XOAUTH2",
    "Address=a@b.c",
    "[Account account_1_0]",
    "Provider=imap_smtp",
    "Provider=google",
    "Provider=ms365",
    "EmailAddress=a@b.c",
    "ImapHost=h:99999",
    "ImapUseSsl=true",
    "ImapUseTls=true",
    "SmtpHost=",
    "MailEnabled=false",
    "[Account]",
    "[Incoming]",
    "[Outgoing]",
    "[AccountInformation]",
    "sender_mailboxes=",
    "<a@b.c>;",
    "\"N\" <",
    "host=",
    "port=",
    "transport_security=transport",
    "service_provider=gmail",
    "primary_email=a@b.c",
    "imap_host=",
    "[network]",
    "ImapServer=",
    "ImapPort=",
    "Safety=SSL",
    "Safety=STARTTLS",
    "Safety=bogus",
    "UserName=",
    "AccountIdentity=1",
    "[Identity #0]",
    "Email Address=a@b.c",
    "uoid=1",
    "Transport=1",
    "[Transport 1]",
    "encryption=TLS",
    "type=SMTP",
    "[Default]",
    "Default Identity=1",
];

const XML_PIECES: &[&str] = &[
    "<clientConfig version=\"1.1\">",
    "</clientConfig>",
    "<emailProvider id=\"x\">",
    "</emailProvider>",
    "<incomingServer type=\"imap\">",
    "<incomingServer type=\"pop3\">",
    "</incomingServer>",
    "<outgoingServer type=\"smtp\">",
    "</outgoingServer>",
    "<hostname>",
    "</hostname>",
    "<port>",
    "</port>",
    "<socketType>",
    "</socketType>",
    "SSL",
    "STARTTLS",
    "plain",
    "<username>",
    "</username>",
    "%EMAILADDRESS%",
    "%EMAILLOCALPART%",
    "%EMAILDOMAIN%",
    "<authentication>",
    "</authentication>",
    "OAuth2",
    "password-cleartext",
    "<documentation url=\"u\">",
    "</documentation>",
    "<enable visiturl=\"v\">",
    "<instruction lang=\"en\">",
    "</instruction>",
    "</enable>",
    "<![CDATA[",
    "]]>",
    "&amp;",
    "&#x1F600;",
    "&bogus;",
    "<!--",
    "-->",
    "<?xml version=\"1.0\"?>",
    "<",
    ">",
    "/>",
    "\"",
    "=",
];

fn exercise_profiles(text: &str) {
    let kf = KeyFile::parse(text);
    for g in kf.groups() {
        for (k, _) in g.entries() {
            let _ = g.get(k);
            let _ = g.get_bool(k);
            let _ = g.get_port(k);
        }
    }
    let _ = thunderbird::parse_profiles(text, Some(text), Path::new("/base"));
    let _ = evolution::accounts_from_sources(&[("a", "/a.source", text), ("b", "/b.source", text)]);
    let _ = goa::accounts_from_conf(text, "/accounts.conf");
    let _ = geary::account_from_ini(text, "/geary.ini");
    let files = kmail::KmailFiles {
        resources: vec![("/akonadi_imap_resource_0rc".into(), text.to_string())],
        identities: Some(text.to_string()),
        transports: Some(("/mailtransports".into(), text.to_string())),
    };
    let _ = kmail::accounts_from_files(&files);
}

fn exercise_prefs(text: &str) {
    let p = Prefs::parse(text);
    let _ = thunderbird::accounts_from_prefs(&p, "/prefs.js");
}

fn exercise_xml(text: &str) {
    if let Ok(f) = autoconfig::parse(text) {
        let _ = autoconfig::to_account(
            &f,
            "jo@example.org",
            Source::new(SourceKind::Autoconfig, "u"),
        );
    }
}

/// Escapes as libpref writes strings: `\\`, `\"`, `\n`, `\r`, and non-ASCII as `\uXXXX`
/// (UTF-16, so astral characters become surrogate pairs).
fn libpref_escape(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if c.is_ascii() && !c.is_ascii_control() => out.push(c),
            c => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    out.push_str(&format!("\\u{unit:04X}"));
                }
            }
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn random_text_never_panics(text in any::<String>()) {
        exercise_prefs(&text);
        exercise_profiles(&text);
        exercise_xml(&text);
    }

    #[test]
    fn prefs_like_text_never_panics(text in text_of(PREFS_PIECES)) {
        exercise_prefs(&text);
    }

    #[test]
    fn ini_like_text_never_panics(text in text_of(INI_PIECES)) {
        exercise_profiles(&text);
    }

    #[test]
    fn xml_like_text_never_panics(text in text_of(XML_PIECES)) {
        exercise_xml(&text);
    }

    #[test]
    fn libpref_strings_round_trip(value in any::<String>(), name in "[a-z][a-z0-9.]{0,20}") {
        let text = format!("user_pref(\"{name}\", \"{}\");\n", libpref_escape(&value));
        let p = Prefs::parse(&text);
        prop_assert_eq!(p.errors, 0);
        prop_assert_eq!(p.get(&name), Some(&PrefValue::Str(value)));
    }

    #[test]
    fn libpref_integers_round_trip(v in i32::MIN..=i32::MAX) {
        let p = Prefs::parse(&format!("user_pref(\"n\", {v});"));
        prop_assert_eq!(p.get_int("n"), Some(i64::from(v)));
    }

    #[test]
    fn keyfile_values_round_trip(
        group in "[A-Za-z][A-Za-z0-9 #_-]{0,15}",
        key in "[A-Za-z][A-Za-z0-9_-]{0,15}",
        value in "[^\\\\\r\n]{0,40}",
        crlf in any::<bool>(),
    ) {
        let nl = if crlf { "\r\n" } else { "\n" };
        let text = format!("# c{nl}[{group}]{nl}{key}={value}{nl}");
        let kf = KeyFile::parse(&text);
        let want = value.trim();
        prop_assert_eq!(kf.group(&group).and_then(|g| g.raw(&key)), Some(want));
    }
}
