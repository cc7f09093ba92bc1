//! Local discovery over fixture homes written from each program's file formats: a Linux home
//! with Thunderbird (three profiles of two installs, a Snap and a Flatpak), Evolution (native
//! and Flatpak), GNOME Online Accounts, Geary (current and legacy) and KMail; a Windows
//! profile and a macOS home with Thunderbird. No test looks at the real home directory.

use std::path::{Path, PathBuf};

use mailvortex_discover::profiles::{Checked, thunderbird};
use mailvortex_discover::{
    AuthHintKind, DiscoveredAccount, LocalRoots, LocalScan, Security, ServerSetting, SourceKind,
    scan_local,
};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("fixtures")
}

fn find<'a>(scan: &'a LocalScan, address: &str) -> &'a DiscoveredAccount {
    let all: Vec<&str> = scan.accounts.iter().map(|a| a.address.as_str()).collect();
    scan.accounts
        .iter()
        .find(|a| a.address.eq_ignore_ascii_case(address))
        .unwrap_or_else(|| panic!("{address} not found among {all:?}"))
}

fn s(host: &str, port: u16, security: Security) -> Option<ServerSetting> {
    Some(ServerSetting::new(host, port, security))
}

fn linux_scan() -> LocalScan {
    scan_local(&LocalRoots::linux(fixtures().join("linux-home")))
}

#[test]
fn linux_home_finds_every_usable_account_once() {
    let scan = linux_scan();
    let mut got: Vec<String> = scan
        .accounts
        .iter()
        .map(|a| a.address.to_lowercase())
        .collect();
    got.sort();
    let mut want = vec![
        "alice@example.org",
        "zoe@example.net",
        "gus@gmail.com",
        "carol@example.com",
        "erin@example.org",
        "frank@example.org",
        "heidi@example.com",
        "kate@example.net",
        "ivan@example.org",
        "judy@gmail.com",
        "kim@contoso.example",
        "nora@plain.example",
        "lee@example.org",
        "mallory@gmail.com",
        "olga@example.net",
        "oscar@example.org",
        "pat@example.com",
    ];
    want.sort();
    assert_eq!(got, want);
    // Thunderbird's accounts come first, in the profile order (install default first).
    assert_eq!(scan.accounts[0].address, "alice@example.org");
    assert_eq!(scan.accounts[0].source.kind, SourceKind::Thunderbird);
    assert!(
        scan.accounts[0]
            .source
            .location
            .ends_with("main.default-release/prefs.js")
    );
    assert_eq!(scan.accounts[0].source.entry.as_deref(), Some("account1"));
}

#[test]
fn the_same_account_in_four_places_is_one_account_with_four_sources() {
    let scan = linux_scan();
    let alice = find(&scan, "alice@example.org");
    assert_eq!(alice.imap, s("imap.example.org", 993, Security::Tls));
    assert_eq!(alice.smtp, s("smtp.example.org", 465, Security::Tls));
    assert_eq!(alice.username.as_deref(), Some("alice"));
    assert_eq!(alice.display_name.as_deref(), Some("Alice Example"));
    let places: Vec<(SourceKind, String)> = alice
        .sources()
        .map(|s| (s.kind, s.location.clone()))
        .collect();
    assert_eq!(places.len(), 4, "{places:?}");
    assert!(places[1].1.ends_with("old.default/prefs.js"));
    assert!(places[2].1.contains(".var/app/org.mozilla.Thunderbird"));
    assert_eq!(places[3].0, SourceKind::Evolution);
    assert!(places[3].1.ends_with("1700000000.1234.1@host.source"));
    assert!(
        alice
            .notes
            .iter()
            .any(|n| n == "Also sends as: info@example.org")
    );
}

#[test]
fn thunderbird_odd_cases() {
    let scan = linux_scan();
    // realhostname wins over hostname; the default SMTP server is used when the identity
    // names none; a different SMTP login is noted; escapes and surrogate pairs decoded.
    let zoe = find(&scan, "zoe@example.net");
    assert_eq!(zoe.imap, s("mail.example.net", 143, Security::StartTls));
    assert_eq!(zoe.smtp, s("mail.example.net", 587, Security::StartTls));
    assert_eq!(zoe.display_name.as_deref(), Some("Zoë 山田 😀"));
    assert!(
        zoe.notes
            .iter()
            .any(|n| n.contains("SMTP login (zoe@example.net) differs"))
    );
    // OAuth2 in Thunderbird at Google: told to make an app password, with Google's page.
    let gus = find(&scan, "gus@gmail.com");
    let hint = gus.needs.as_ref().expect("hint");
    assert_eq!(hint.kind, AuthHintKind::AppPassword);
    assert_eq!(hint.provider.as_deref(), Some("Google"));
    assert!(
        hint.link
            .as_deref()
            .is_some_and(|l| l.starts_with("https://support.google.com/"))
    );
    // An unknown socketType on 993 is taken as TLS, and said so; a missing SMTP port with
    // try_ssl=3 is 465.
    let carol = find(&scan, "carol@example.com");
    assert_eq!(carol.imap, s("imap.example.com", 993, Security::Tls));
    assert_eq!(carol.smtp, s("smtp.example.com", 465, Security::Tls));
    assert!(
        carol
            .notes
            .iter()
            .any(|n| n.contains("unknown IMAP security setting (\"7\")"))
    );
    // No socketType, no port, no SMTP server: plain IMAP on 143, with a warning.
    let erin = find(&scan, "erin@example.org");
    assert_eq!(erin.imap, s("imap.example.org", 143, Security::Plain));
    assert_eq!(erin.smtp, None);
    assert_eq!(erin.display_name.as_deref(), Some("Erin 'Beta' Tester"));
    assert!(erin.notes.iter().any(|n| n.contains("without encryption")));
    // The Snap's profile.
    let frank = find(&scan, "frank@example.org");
    assert!(
        frank
            .source
            .location
            .contains("snap/thunderbird/common/.thunderbird")
    );
    assert_eq!(frank.smtp, s("smtp.example.org", 587, Security::StartTls));
}

#[test]
fn skipped_entries_say_why() {
    let scan = linux_scan();
    let reason = |what: &str| {
        scan.skipped
            .iter()
            .find(|s| s.what == what)
            .map(|s| (s.source.kind, s.reason.clone()))
            .unwrap_or_else(|| panic!("{what} not skipped: {:?}", scan.skipped))
    };
    let (k, r) = reason("bob@pop.example");
    assert_eq!(k, SourceKind::Thunderbird);
    assert!(r.contains("POP3"));
    let (_, r) = reason("dave@example.org");
    assert!(r.contains("not in Thunderbird's list"));
    let (k, r) = reason("ivy@pop.example");
    assert_eq!(k, SourceKind::Evolution);
    assert!(r.contains("POP3"));
    let (_, r) = reason("grace@oldjob.example");
    assert!(r.contains("switched off"));
    let (_, r) = reason("work@corp.example");
    assert!(r.contains("Exchange"));
    let (k, r) = reason("leo@example.net");
    assert_eq!(k, SourceKind::Goa);
    assert!(r.contains("switched off"));
    let (k, r) = reason("akonadi_imap_resource_2");
    assert_eq!(k, SourceKind::KMail);
    assert!(r.contains("no host name"));
    assert_eq!(scan.skipped.len(), 7, "{:?}", scan.skipped);
    // Local Folders, "On This Computer" and a Nextcloud account are not reported at all.
    assert!(
        !scan
            .skipped
            .iter()
            .any(|s| s.what.contains("Local Folders") || s.what.contains("mike"))
    );
}

#[test]
fn evolution_links_by_uid_and_by_parent() {
    let scan = linux_scan();
    let heidi = find(&scan, "heidi@example.com");
    // BOM + CRLF file, no ports: STARTTLS defaults 143 and 587; duplicate key: last wins.
    assert_eq!(heidi.imap, s("mail.example.com", 143, Security::StartTls));
    assert_eq!(heidi.smtp, s("mail.example.com", 587, Security::StartTls));
    assert_eq!(heidi.display_name.as_deref(), Some("Heidi Müller"));
    assert_eq!(heidi.username.as_deref(), Some("heidi"));
    let kate = find(&scan, "kate@example.net");
    assert!(kate.source.location.contains("org.gnome.Evolution"));
    assert_eq!(
        kate.needs.as_ref().map(|h| h.kind),
        Some(AuthHintKind::OAuth2)
    );
    assert!(
        kate.needs
            .as_ref()
            .is_some_and(|h| h.explanation.contains("Evolution"))
    );
}

#[test]
fn goa_accounts_and_providers() {
    let scan = linux_scan();
    let ivan = find(&scan, "ivan@example.org");
    assert_eq!(ivan.imap, s("mail.example.org", 1993, Security::Tls));
    assert_eq!(ivan.smtp, s("mail.example.org", 587, Security::StartTls));
    assert_eq!(ivan.display_name.as_deref(), Some("Ivan Иванов"));
    assert!(
        ivan.notes
            .iter()
            .any(|n| n.contains("accepts certificate errors"))
    );
    assert_eq!(ivan.source.entry.as_deref(), Some("account_1700000001_0"));
    let judy = find(&scan, "judy@gmail.com");
    assert_eq!(judy.imap, s("imap.gmail.com", 993, Security::Tls));
    let h = judy.needs.as_ref().expect("hint");
    assert_eq!(h.kind, AuthHintKind::AppPassword);
    assert!(h.explanation.starts_with("GNOME Online Accounts signs in"));
    let kim = find(&scan, "kim@contoso.example");
    assert_eq!(
        kim.needs.as_ref().map(|h| h.kind),
        Some(AuthHintKind::OAuth2)
    );
    assert_eq!(kim.smtp, s("smtp.office365.com", 587, Security::StartTls));
    let nora = find(&scan, "nora@plain.example");
    assert_eq!(nora.imap, s("imap.plain.example", 143, Security::Plain));
    assert_eq!(nora.smtp, s("smtp.plain.example", 25, Security::Plain));
    assert_eq!(
        nora.notes
            .iter()
            .filter(|n| n.contains("without encryption"))
            .count(),
        2
    );
}

#[test]
fn geary_current_legacy_and_provider_accounts() {
    let scan = linux_scan();
    let lee = find(&scan, "lee@example.org");
    assert_eq!(lee.display_name.as_deref(), Some("Lee Geary"));
    assert_eq!(lee.imap, s("imap.example.org", 993, Security::Tls));
    assert_eq!(lee.smtp, s("smtp.example.org", 587, Security::StartTls));
    assert!(
        lee.notes
            .iter()
            .any(|n| n.contains("SMTP login (lee-smtp)"))
    );
    let mallory = find(&scan, "mallory@gmail.com");
    assert_eq!(mallory.smtp, s("smtp.gmail.com", 465, Security::Tls));
    assert_eq!(
        mallory.needs.as_ref().map(|h| h.kind),
        Some(AuthHintKind::AppPassword)
    );
    let olga = find(&scan, "olga@example.net");
    assert!(
        olga.source
            .location
            .contains(".local/share/geary/olga@example.net")
    );
    assert_eq!(olga.imap, s("imap.example.net", 143, Security::StartTls));
    assert_eq!(olga.smtp, s("smtp.example.net", 465, Security::Tls));
    assert_eq!(olga.username.as_deref(), Some("olga"));
}

#[test]
fn kmail_resources_identities_and_transports() {
    let scan = linux_scan();
    let oscar = find(&scan, "oscar@example.org");
    assert_eq!(oscar.display_name.as_deref(), Some("Oscar Ökonom"));
    assert_eq!(oscar.imap, s("imap.example.org", 993, Security::Tls));
    assert_eq!(oscar.smtp, s("smtp.example.org", 465, Security::Tls));
    assert_eq!(
        oscar.source.entry.as_deref(),
        Some("akonadi_imap_resource_0")
    );
    // Default identity, host:port in ImapServer, the default transport (TLS = STARTTLS).
    let pat = find(&scan, "pat@example.com");
    assert_eq!(pat.imap, s("mail.example.com", 143, Security::StartTls));
    assert_eq!(pat.smtp, s("mail.example.com", 587, Security::StartTls));
    assert_eq!(pat.username.as_deref(), Some("pat"));
}

#[test]
fn every_location_is_listed_as_checked() {
    let scan = linux_scan();
    let found = |kind: SourceKind| -> Vec<&Checked> {
        scan.checked
            .iter()
            .filter(|c| c.kind == kind && c.found)
            .collect()
    };
    assert_eq!(found(SourceKind::Thunderbird).len(), 3); // native, Snap, Flatpak
    assert_eq!(found(SourceKind::Evolution).len(), 2); // native, Flatpak
    assert_eq!(found(SourceKind::Goa).len(), 1);
    assert_eq!(found(SourceKind::Geary).len(), 2); // ~/.config/geary, ~/.local/share/geary
    assert_eq!(found(SourceKind::KMail).len(), 1);
    assert!(
        scan.checked
            .iter()
            .any(|c| !c.found && c.path.ends_with(".config/thunderbird"))
    );
}

#[test]
fn windows_appdata_thunderbird() {
    let home = fixtures().join("windows").join("Users").join("quinn");
    let appdata = home.join("AppData").join("Roaming");
    let dirs = thunderbird::windows_dirs(&appdata);
    assert_eq!(dirs, vec![appdata.join("Thunderbird")]);
    let scan = scan_local(&LocalRoots::windows(&home, &appdata));
    assert_eq!(scan.accounts.len(), 1, "{:?}", scan.accounts);
    let q = &scan.accounts[0];
    assert_eq!(q.address, "quinn@example.org");
    assert_eq!(q.imap, s("imap.example.org", 993, Security::Tls));
    assert_eq!(q.smtp, s("smtp.example.org", 587, Security::StartTls));
    assert!(q.source.location.contains("w1x2y3z4.default-release"));
    // Only Thunderbird is looked for on Windows.
    assert!(
        scan.checked
            .iter()
            .all(|c| c.kind == SourceKind::Thunderbird)
    );
}

#[test]
fn macos_library_thunderbird() {
    let home = fixtures().join("macos").join("Users").join("rita");
    assert_eq!(
        thunderbird::macos_dirs(&home),
        vec![home.join("Library").join("Thunderbird")]
    );
    let scan = scan_local(&LocalRoots::macos(&home));
    assert_eq!(scan.accounts.len(), 1);
    let r = &scan.accounts[0];
    assert_eq!(r.address, "rita@icloud.com");
    assert_eq!(r.smtp, s("smtp.mail.me.com", 587, Security::StartTls));
    let h = r
        .needs
        .as_ref()
        .expect("iCloud needs an app-specific password");
    assert_eq!(h.kind, AuthHintKind::AppPassword);
    assert_eq!(h.provider.as_deref(), Some("Apple iCloud"));
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, text).expect("write");
}

const ONE_ACCOUNT: &str = "user_pref(\"mail.account.account1.identities\", \"id1\");\n\
    user_pref(\"mail.account.account1.server\", \"server1\");\n\
    user_pref(\"mail.identity.id1.useremail\", \"abs@example.org\");\n\
    user_pref(\"mail.server.server1.hostname\", \"imap.example.org\");\n\
    user_pref(\"mail.server.server1.socketType\", 3);\n\
    user_pref(\"mail.server.server1.type\", \"imap\");\n";

#[test]
fn an_absolute_profile_path_outside_the_thunderbird_directory() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let elsewhere = tmp.path().join("data").join("my profile ü");
    write(&elsewhere.join("prefs.js"), ONE_ACCOUNT);
    write(
        &tmp.path().join("home/.thunderbird/profiles.ini"),
        &format!(
            "[Profile0]\nName=moved\nIsRelative=0\nPath={}\nDefault=1\n",
            elsewhere.display()
        ),
    );
    let scan = scan_local(&LocalRoots::linux(tmp.path().join("home")));
    assert_eq!(scan.accounts.len(), 1);
    assert_eq!(scan.accounts[0].address, "abs@example.org");
    assert_eq!(
        scan.accounts[0].source.location,
        elsewhere.join("prefs.js").display().to_string()
    );
}

#[cfg(unix)]
#[test]
fn password_stores_are_never_opened() {
    // logins.json and key4.db are named pipes here: opening one for reading would block
    // until a writer comes, so a scan that touched them would never finish.
    let tmp = tempfile::tempdir().expect("tempdir");
    let profile = tmp.path().join("home/.thunderbird/p.default");
    write(&profile.join("prefs.js"), ONE_ACCOUNT);
    write(
        &tmp.path().join("home/.thunderbird/profiles.ini"),
        "[Profile0]\nName=p\nIsRelative=1\nPath=p.default\n",
    );
    for f in ["logins.json", "key4.db"] {
        let st = std::process::Command::new("mkfifo")
            .arg(profile.join(f))
            .status()
            .expect("mkfifo");
        assert!(st.success());
    }
    let roots = LocalRoots::linux(tmp.path().join("home"));
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(scan_local(&roots));
    });
    let scan = rx
        .recv_timeout(std::time::Duration::from_secs(20))
        .expect("the scan finished without opening the password files");
    assert_eq!(scan.accounts.len(), 1);
    assert!(
        mailvortex_discover::profiles::read_settings_file(&profile.join("logins.json")).is_err()
    );
}

#[test]
fn results_serialise_for_the_cli() {
    let scan = linux_scan();
    let json = serde_json::to_value(find(&scan, "gus@gmail.com")).expect("json");
    assert_eq!(json["imap"]["security"], "tls");
    assert_eq!(json["source"]["kind"], "Thunderbird");
    assert_eq!(json["needs"]["kind"], "app-password");
    assert!(json.get("also_found").is_none());
}
