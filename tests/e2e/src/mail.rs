//! Mails as the providers hold them: Maildir files, their envelopes, raw SMTP submission.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A mail file in some account's Maildir.
#[derive(Debug, Clone)]
pub struct StoredMail {
    /// The file.
    pub path: PathBuf,
    /// The account whose Maildir it is in (the envelope recipient).
    pub account: String,
    /// Envelope sender, from the `Return-Path:` header Dovecot's LMTP adds.
    pub from: Option<String>,
    /// Whether it lies in the folder of expunged mails.
    pub expunged: bool,
}

/// Every file below `maildirs/<domain>/<user>/Maildir` that is a mail (in `cur`, `new` or
/// `tmp` of any folder); other files (Dovecot indexes, uid lists) are returned in the
/// second list.
pub fn maildir_files(
    maildirs: &Path,
    expunged_folder: Option<&str>,
) -> (Vec<StoredMail>, Vec<PathBuf>) {
    let mut mails = Vec::new();
    let mut other = Vec::new();
    let mut stack = vec![maildirs.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in rd.flatten() {
            let p = entry.path();
            let Ok(ft) = entry.file_type() else { continue };
            if ft.is_dir() {
                stack.push(p);
                continue;
            }
            if !ft.is_file() {
                continue;
            }
            let parent = p
                .parent()
                .and_then(|x| x.file_name())
                .and_then(|x| x.to_str())
                .unwrap_or("");
            if !matches!(parent, "cur" | "new" | "tmp") {
                other.push(p);
                continue;
            }
            // maildirs/<domain>/<user>/Maildir[/.<folder>]/<cur|new|tmp>/<file>
            let rel = p.strip_prefix(maildirs).unwrap_or(&p);
            let parts: Vec<&str> = rel.iter().filter_map(|c| c.to_str()).collect();
            let (domain, user) = (
                parts.first().copied().unwrap_or("?"),
                parts.get(1).copied().unwrap_or("?"),
            );
            let folder = if parts.len() >= 6 { parts[3] } else { "" };
            mails.push(StoredMail {
                account: format!("{user}@{domain}"),
                from: return_path(&p),
                expunged: expunged_folder.is_some_and(|f| f == folder),
                path: p,
            });
        }
    }
    mails.sort_by(|a, b| a.path.cmp(&b.path));
    (mails, other)
}

/// The address in the first `Return-Path:` header of a mail file.
pub fn return_path(path: &Path) -> Option<String> {
    let f = std::fs::File::open(path).ok()?;
    for line in BufReader::new(f).lines().take(50) {
        let line = line.ok()?;
        if line.is_empty() {
            break;
        }
        if let Some(v) = line.strip_prefix("Return-Path:") {
            return Some(
                v.trim()
                    .trim_start_matches('<')
                    .trim_end_matches('>')
                    .to_string(),
            );
        }
    }
    None
}

/// The mails of one account's Maildir (all folders), oldest file first.
pub fn account_mails(maildir: &Path, expunged_folder: Option<&str>) -> Vec<StoredMail> {
    let maildirs = maildir
        .parent()
        .and_then(Path::parent)
        .and_then(Path::parent)
        .unwrap_or(maildir);
    let (mails, _) = maildir_files(maildirs, expunged_folder);
    mails
        .into_iter()
        .filter(|m| m.path.starts_with(maildir))
        .collect()
}

/// The headers Dovecot added on delivery (`Return-Path`, `Delivered-To`) are dropped, so
/// that the mail is as it was when it was first submitted (plus `Received` lines, which
/// any relay of mail adds anyway).
pub fn as_submitted(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len());
    let mut in_headers = true;
    let mut skipping = false;
    for line in raw.split_inclusive(|b| *b == b'\n') {
        if in_headers {
            if line == b"\n" || line == b"\r\n" {
                in_headers = false;
            } else if line.starts_with(b" ") || line.starts_with(b"\t") {
                if skipping {
                    continue;
                }
            } else {
                let lower = String::from_utf8_lossy(line).to_ascii_lowercase();
                skipping = lower.starts_with("return-path:") || lower.starts_with("delivered-to:");
                if skipping {
                    continue;
                }
            }
        }
        out.extend_from_slice(line);
    }
    out
}

/// Where the base64 attachment of a carrier mail lies: the byte range of the longest run
/// of base64 lines (the packet is the only large part of a carrier).
pub fn base64_body_range(raw: &[u8]) -> Option<std::ops::Range<usize>> {
    let mut best: Option<std::ops::Range<usize>> = None;
    let mut start: Option<usize> = None;
    let mut pos = 0;
    for line in raw.split_inclusive(|b| *b == b'\n') {
        let content = line.strip_suffix(b"\n").unwrap_or(line);
        let content = content.strip_suffix(b"\r").unwrap_or(content);
        let is_b64 = content.len() >= 60
            && content
                .iter()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'/' | b'='));
        match (is_b64, start) {
            (true, None) => start = Some(pos),
            (false, Some(s)) => {
                if best.as_ref().is_none_or(|b| b.len() < pos - s) {
                    best = Some(s..pos);
                }
                start = None;
            }
            _ => {}
        }
        pos += line.len();
    }
    if let Some(s) = start
        && best.as_ref().is_none_or(|b| b.len() < pos - s)
    {
        best = Some(s..pos);
    }
    best
}

/// Changes `count` base64 characters at `offset..` (counted in base64 characters, line
/// breaks skipped) of the carrier's attachment to other valid base64 characters, so the
/// mail still parses but the packet bytes differ.
pub fn tamper_base64(raw: &[u8], offset: usize, count: usize) -> Vec<u8> {
    let range = base64_body_range(raw).expect("no base64 attachment in the mail");
    let mut out = raw.to_vec();
    let mut seen = 0;
    let mut changed = 0;
    for b in &mut out[range] {
        if b.is_ascii_alphanumeric() || *b == b'+' || *b == b'/' {
            if seen >= offset && changed < count {
                *b = if *b == b'A' { b'B' } else { b'A' };
                changed += 1;
            }
            seen += 1;
        }
    }
    assert_eq!(changed, count, "attachment too short to tamper with");
    out
}

/// Submits `raw` to an SMTP server without authentication (a provider's MX port, as any
/// other mail server would): EHLO, MAIL FROM, RCPT TO, DATA. Line ends become CRLF and
/// lines starting with a dot are dot-stuffed.
pub fn smtp_send(ip: &str, port: u16, from: &str, to: &str, raw: &[u8]) -> Result<(), String> {
    let stream = TcpStream::connect((ip, port)).map_err(|e| format!("connect {ip}:{port}: {e}"))?;
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .map_err(|e| e.to_string())?;
    let mut reader = BufReader::new(stream.try_clone().map_err(|e| e.to_string())?);
    let mut w = stream;
    let read_reply = |r: &mut BufReader<TcpStream>| -> Result<(u16, String), String> {
        let mut all = String::new();
        loop {
            let mut line = String::new();
            r.read_line(&mut line).map_err(|e| format!("read: {e}"))?;
            if line.is_empty() {
                return Err("connection closed".into());
            }
            all.push_str(&line);
            if line.len() < 4 || line.as_bytes()[3] != b'-' {
                let code = line.get(..3).and_then(|c| c.parse().ok()).unwrap_or(0);
                return Ok((code, all));
            }
        }
    };
    let expect = |w: &mut TcpStream,
                  r: &mut BufReader<TcpStream>,
                  cmd: Option<String>,
                  want: u16|
     -> Result<(), String> {
        if let Some(c) = &cmd {
            w.write_all(c.as_bytes())
                .map_err(|e| format!("write: {e}"))?;
        }
        let (code, text) = read_reply(r)?;
        if code != want {
            return Err(format!(
                "{} -> {}",
                cmd.as_deref().unwrap_or("greeting").trim(),
                text.trim()
            ));
        }
        Ok(())
    };
    expect(&mut w, &mut reader, None, 220)?;
    expect(
        &mut w,
        &mut reader,
        Some("EHLO replay.e2e.invalid\r\n".into()),
        250,
    )?;
    expect(
        &mut w,
        &mut reader,
        Some(format!("MAIL FROM:<{from}>\r\n")),
        250,
    )?;
    expect(
        &mut w,
        &mut reader,
        Some(format!("RCPT TO:<{to}>\r\n")),
        250,
    )?;
    expect(&mut w, &mut reader, Some("DATA\r\n".into()), 354)?;
    let mut data = Vec::with_capacity(raw.len() + raw.len() / 50);
    for line in raw.split_inclusive(|b| *b == b'\n') {
        let content = line.strip_suffix(b"\n").unwrap_or(line);
        let content = content.strip_suffix(b"\r").unwrap_or(content);
        if content.first() == Some(&b'.') {
            data.push(b'.');
        }
        data.extend_from_slice(content);
        data.extend_from_slice(b"\r\n");
    }
    data.extend_from_slice(b".\r\n");
    w.write_all(&data).map_err(|e| format!("write: {e}"))?;
    expect(&mut w, &mut reader, None, 250)?;
    let _ = w.write_all(b"QUIT\r\n");
    Ok(())
}
