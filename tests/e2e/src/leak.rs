//! The leak check: what the providers and relays hold must not reveal who talks to whom,
//! nor what they say.
//!
//! The rule (the same as `mailvortex_engine::localnet::leak_report`): an end's address (the
//! sender's or the recipient's) may appear only in a mail whose own envelope it is (the
//! first hop's mail from the sender, the last hop's mail to the recipient, the receipt's
//! hops likewise) and in log lines about that mail or about that account's own session;
//! the subject and the content may appear nowhere.
//!
//! Each string is searched in these forms: plain text (ASCII case-insensitive),
//! quoted-printable (`=40`, `=C3=BC`, `_` or `=20` for spaces; soft line breaks removed),
//! URL encoding (`%40`, `+` or `%20` for spaces), and base64 at all three byte alignments
//! (line breaks removed).

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use base64::Engine as _;

use crate::mail::{StoredMail, maildir_files};

/// What to look for.
#[derive(Debug, Clone)]
pub struct LeakSpec {
    /// The two ends' addresses (sender, recipient).
    pub ends: Vec<String>,
    /// Strings that may appear nowhere (subject, content markers, file name), with a label.
    pub secrets: Vec<(String, String)>,
}

/// What the check looked at and found.
#[derive(Debug, Default)]
pub struct LeakReport {
    /// Mail files read (including expunged ones).
    pub mails: usize,
    /// Of those, in the folder of expunged mails.
    pub expunged_mails: usize,
    /// Other files read (indexes, queue files, relay homes).
    pub other_files: usize,
    /// Log files read.
    pub logs: usize,
    /// Log lines read.
    pub log_lines: usize,
    /// Bytes read in all.
    pub bytes: u64,
    /// Mails that name an end in their own envelope (allowed; shows the check can see it).
    pub own_envelope_mentions: usize,
    /// Violations, one line each.
    pub findings: Vec<String>,
}

#[derive(Debug, Clone)]
struct Pattern {
    /// Index into the needle list (ends first, then secrets).
    needle: usize,
    form: &'static str,
}

struct Matcher {
    labels: Vec<String>,
    n_ends: usize,
    text: AhoCorasick,
    text_pats: Vec<Pattern>,
    b64: AhoCorasick,
    b64_pats: Vec<Pattern>,
}

/// Quoted-printable (RFC 2045 bodies, RFC 2047 "Q" words): bytes that are not
/// alphanumeric and not in `keep` become `=XX`, spaces become `space`.
fn qp(s: &str, space: &str, keep: &[u8]) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b' ' => out.push_str(space),
            b if b.is_ascii_alphanumeric() || (keep.contains(&b) && b != b'=') => {
                out.push(b as char)
            }
            b => out.push_str(&format!("={b:02X}")),
        }
    }
    out
}

fn url(s: &str, space: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b' ' => out.push_str(space),
            b if b.is_ascii_alphanumeric() || b"-._~".contains(&b) => out.push(b as char),
            b => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// The base64 text that encodes `s` when it starts at byte offset `align` (0, 1, 2) of a
/// 3-byte group: only characters determined by `s` alone.
pub fn base64_forms(s: &[u8]) -> Vec<String> {
    (0..3)
        .filter_map(|align| {
            let mut data = vec![0u8; align];
            data.extend_from_slice(s);
            let enc = base64::engine::general_purpose::STANDARD_NO_PAD.encode(&data);
            let first = (8 * align).div_ceil(6);
            let last = (8 * (align + s.len())) / 6; // exclusive
            (last > first + 4).then(|| enc[first..last].to_string())
        })
        .collect()
}

impl Matcher {
    fn new(spec: &LeakSpec) -> Matcher {
        let mut labels: Vec<String> = spec.ends.clone();
        let mut texts: Vec<String> = spec.ends.clone();
        for (label, text) in &spec.secrets {
            labels.push(label.clone());
            texts.push(text.clone());
        }
        let mut text_needles: Vec<String> = Vec::new();
        let mut text_pats = Vec::new();
        let mut b64_needles: Vec<String> = Vec::new();
        let mut b64_pats = Vec::new();
        for (i, t) in texts.iter().enumerate() {
            let mut add = |n: String, form: &'static str| {
                if !text_needles.contains(&n) {
                    text_needles.push(n);
                    text_pats.push(Pattern { needle: i, form });
                }
            };
            add(t.clone(), "plain");
            // Bodies keep printable ASCII; header words keep less; encoders differ.
            let printable: Vec<u8> = (33u8..127).collect();
            for keep in [&printable[..], b".-", b""] {
                for space in [" ", "_", "=20"] {
                    add(qp(t, space, keep), "quoted-printable");
                }
            }
            add(url(t, "+"), "url-encoded");
            add(url(t, "%20"), "url-encoded");
            for f in base64_forms(t.as_bytes()) {
                b64_needles.push(f);
                b64_pats.push(Pattern {
                    needle: i,
                    form: "base64",
                });
            }
        }
        let text = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .build(&text_needles)
            .expect("building the text matcher");
        let b64 = AhoCorasick::new(&b64_needles).expect("building the base64 matcher");
        Matcher {
            labels,
            n_ends: spec.ends.len(),
            text,
            text_pats,
            b64,
            b64_pats,
        }
    }

    /// `(needle index, form)` of everything found in `data`.
    fn scan(&self, data: &[u8]) -> BTreeSet<(usize, &'static str)> {
        let mut found = BTreeSet::new();
        for m in self.text.find_overlapping_iter(data) {
            let p = &self.text_pats[m.pattern().as_usize()];
            found.insert((p.needle, p.form));
        }
        // Quoted-printable soft line breaks ("=\r\n") split words anywhere.
        if data.windows(2).any(|w| w == b"=\n" || w == b"=\r") {
            let unfolded = remove_all(&remove_all(data, b"=\r\n"), b"=\n");
            for m in self.text.find_overlapping_iter(&unfolded) {
                let p = &self.text_pats[m.pattern().as_usize()];
                found.insert((p.needle, p.form));
            }
        }
        // Base64 is wrapped at 76 characters: search with the line breaks removed.
        let joined: Vec<u8> = data
            .iter()
            .copied()
            .filter(|b| *b != b'\r' && *b != b'\n')
            .collect();
        for m in self.b64.find_overlapping_iter(&joined) {
            let p = &self.b64_pats[m.pattern().as_usize()];
            found.insert((p.needle, p.form));
        }
        found
    }

    fn is_end(&self, needle: usize) -> bool {
        needle < self.n_ends
    }
}

fn remove_all(data: &[u8], pat: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len());
    let mut i = 0;
    while i < data.len() {
        if data[i..].starts_with(pat) {
            i += pat.len();
        } else {
            out.push(data[i]);
            i += 1;
        }
    }
    out
}

/// Where to look.
#[derive(Debug, Clone)]
pub struct Places {
    /// `DIR/maildirs`.
    pub maildirs: PathBuf,
    /// Maildir folder of expunged mails (`.Expunged`), if kept.
    pub expunged_folder: Option<String>,
    /// `DIR/logs`.
    pub logs: PathBuf,
    /// Directories searched for the secrets only (Postfix queues, relay homes): there the
    /// ends' addresses may legitimately appear (descriptors, envelopes), the content not.
    pub secret_only: Vec<PathBuf>,
}

/// Runs the check.
pub fn check(spec: &LeakSpec, places: &Places) -> LeakReport {
    let m = Matcher::new(spec);
    let mut report = LeakReport::default();
    let (mails, others) = maildir_files(&places.maildirs, places.expunged_folder.as_deref());
    for mail in &mails {
        check_mail(&m, mail, &mut report);
    }
    for p in others {
        check_secret_only(&m, &p, &mut report);
    }
    for dir in &places.secret_only {
        for p in walk(dir) {
            check_secret_only(&m, &p, &mut report);
        }
    }
    for p in walk(&places.logs) {
        check_log(&m, &p, &mut report);
    }
    report.findings.sort();
    report.findings.dedup();
    report
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    if dir.is_file() {
        return vec![dir.to_path_buf()];
    }
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            match e.file_type() {
                Ok(t) if t.is_dir() => stack.push(e.path()),
                Ok(t) if t.is_file() => out.push(e.path()),
                _ => {}
            }
        }
    }
    out.sort();
    out
}

fn check_mail(m: &Matcher, mail: &StoredMail, report: &mut LeakReport) {
    let Ok(data) = std::fs::read(&mail.path) else {
        return;
    };
    report.mails += 1;
    report.expunged_mails += usize::from(mail.expunged);
    report.bytes += data.len() as u64;
    let envelope = |addr: &str| {
        mail.account.eq_ignore_ascii_case(addr)
            || mail
                .from
                .as_deref()
                .is_some_and(|f| f.eq_ignore_ascii_case(addr))
    };
    let mut own = false;
    for (needle, form) in m.scan(&data) {
        let label = &m.labels[needle];
        if m.is_end(needle) && envelope(label) {
            own = true;
            continue;
        }
        report.findings.push(format!(
            "mail {} (envelope {} -> {}) contains {label:?} ({form})",
            mail.path.display(),
            mail.from.as_deref().unwrap_or("?"),
            mail.account
        ));
    }
    report.own_envelope_mentions += usize::from(own);
}

fn check_secret_only(m: &Matcher, path: &Path, report: &mut LeakReport) {
    let Ok(data) = std::fs::read(path) else {
        return;
    };
    report.other_files += 1;
    report.bytes += data.len() as u64;
    for (needle, form) in m.scan(&data) {
        if !m.is_end(needle) {
            report.findings.push(format!(
                "{} contains {:?} ({form})",
                path.display(),
                m.labels[needle]
            ));
        }
    }
}

/// Addresses a log line names as its own envelope or session: `from=<x>`, `to=<x>`,
/// `orig_to=<x>`, `sasl_username=x`, `user=<x>`, `imap(x)`, `lmtp(x)`, `passwd-file(x,`.
fn line_owners(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    for key in ["from=<", "to=<", "orig_to=<", "user=<"] {
        let mut rest = line;
        while let Some(i) = rest.find(key) {
            rest = &rest[i + key.len()..];
            if let Some(j) = rest.find('>') {
                out.push(rest[..j].to_ascii_lowercase());
            }
        }
    }
    if let Some(i) = line.find("sasl_username=") {
        let v = &line[i + "sasl_username=".len()..];
        out.push(
            v.split([',', ' '])
                .next()
                .unwrap_or("")
                .to_ascii_lowercase(),
        );
    }
    for key in ["imap(", "lmtp(", "pop3(", "passwd-file(", "auth-worker("] {
        let mut rest = line;
        while let Some(i) = rest.find(key) {
            rest = &rest[i + key.len()..];
            let v: String = rest
                .chars()
                .take_while(|c| !matches!(c, ')' | ',' | ' '))
                .collect();
            if v.contains('@') {
                out.push(v.to_ascii_lowercase());
            }
        }
    }
    out
}

/// The Postfix queue id of a log line (`...]: 4AbC12DeF: ...`), if any.
fn queue_id(line: &str) -> Option<&str> {
    let i = line.find("]: ")?;
    let rest = &line[i + 3..];
    let id = rest.split(':').next()?;
    (id.len() >= 6
        && id.len() <= 20
        && id.chars().all(|c| c.is_ascii_alphanumeric())
        && id != "NOQUEUE"
        && id != "warning")
        .then_some(id)
}

fn check_log(m: &Matcher, path: &Path, report: &mut LeakReport) {
    let Ok(data) = std::fs::read(path) else {
        return;
    };
    report.logs += 1;
    report.bytes += data.len() as u64;
    let text = String::from_utf8_lossy(&data);
    // Pass 1: the envelope of every Postfix queue id.
    let mut envelopes: HashMap<String, BTreeSet<String>> = HashMap::new();
    for line in text.lines() {
        if let Some(id) = queue_id(line) {
            envelopes
                .entry(id.to_string())
                .or_default()
                .extend(line_owners(line));
        }
    }
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("?");
    for (no, line) in text.lines().enumerate() {
        report.log_lines += 1;
        let found = m.scan(line.as_bytes());
        if found.is_empty() {
            continue;
        }
        let mut allowed: BTreeSet<String> = line_owners(line).into_iter().collect();
        if let Some(env) = queue_id(line).and_then(|id| envelopes.get(id)) {
            allowed.extend(env.iter().cloned());
        }
        for (needle, form) in found {
            let label = &m.labels[needle];
            if m.is_end(needle) && allowed.contains(&label.to_ascii_lowercase()) {
                continue;
            }
            let shown: String = line.chars().take(300).collect();
            report.findings.push(format!(
                "{name} line {}: contains {label:?} ({form}); its envelope/session is {allowed:?}: {shown}",
                no + 1
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> LeakSpec {
        LeakSpec {
            ends: vec!["alice@a.test".into()],
            secrets: vec![("subject".into(), "Secret plan Ünï".into())],
        }
    }

    fn found(data: &[u8]) -> Vec<(String, &'static str)> {
        let m = Matcher::new(&spec());
        m.scan(data)
            .into_iter()
            .map(|(i, f)| (m.labels[i].clone(), f))
            .collect()
    }

    #[test]
    fn finds_every_encoding() {
        let b64 = |pre: &[u8]| {
            let mut d = pre.to_vec();
            d.extend_from_slice("xx Secret plan Ünï yy".as_bytes());
            base64::engine::general_purpose::STANDARD.encode(d)
        };
        for (data, form) in [
            ("To: ALICE@a.test".to_string(), "plain"),
            (
                "Subject: =?utf-8?q?Secret_plan_=C3=9Cn=C3=AF?=".into(),
                "quoted-printable",
            ),
            (
                "body: Secret plan =C3=9Cn=\r\n=C3=AF".to_string(),
                "quoted-printable",
            ),
            ("q=Secret+plan+%C3%9Cn%C3%AF".into(), "url-encoded"),
            ("u=alice%40a.test".into(), "url-encoded"),
            (b64(b""), "base64"),
            (b64(b"1"), "base64"),
            (b64(b"12"), "base64"),
        ] {
            let f = found(data.as_bytes());
            assert!(f.iter().any(|(_, x)| *x == form), "{data:?}: {f:?}");
        }
        // Base64 wrapped over lines.
        let long = b64(b"0123456789012345678901234567890123456789012345678901234567");
        let wrapped: String = long
            .as_bytes()
            .chunks(76)
            .map(|c| format!("{}\r\n", String::from_utf8_lossy(c)))
            .collect();
        assert!(
            found(wrapped.as_bytes())
                .iter()
                .any(|(_, x)| *x == "base64")
        );
        assert!(found(b"nothing to see here: alice at a dot test").is_empty());
    }

    #[test]
    fn log_lines_name_their_own_envelope() {
        let l =
            "Nov 28 mail postfix-a.test/qmgr[1]: 4AB12CD3E: from=<alice@a.test>, size=1, nrcpt=1";
        assert_eq!(queue_id(l), Some("4AB12CD3E"));
        assert!(line_owners(l).contains(&"alice@a.test".to_string()));
        let d = "Nov 28 imap(bob@b.test)<12><x>: Info: Logged out in=1";
        assert!(line_owners(d).contains(&"bob@b.test".to_string()));
        assert_eq!(
            queue_id("Nov 28 mail postfix-a.test/smtpd[1]: NOQUEUE: reject: RCPT"),
            None
        );
    }
}
