//! Properties of built carriers and of `extract_packets` on any input.

use std::collections::{BTreeSet, HashMap};

use mail_parser::{MessageParser, MimeHeaders};
use mailvortex_carrier::{
    AttachmentTemplate, CarrierError, CarrierParams, CarrierTemplates, MAX_ATTACHMENT_BYTES,
    MAX_CANDIDATES, MAX_DEPTH, MAX_HEADER_BYTES, MAX_MAIL_BYTES, MAX_PACKET_LEN,
    MIN_ATTACHMENT_BYTES, MIN_CARRIER_BYTES, MailDate, Theme, build_carrier, extract_packets,
    is_candidate, open_container,
};
use proptest::prelude::*;
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::{RngCore, SeedableRng};

type TestResult = Result<(), Box<dyn std::error::Error>>;

const PACKET_LEN: usize = 34_567;

fn params<'a>(packet: &'a [u8], date: MailDate) -> CarrierParams<'a> {
    CarrierParams {
        from: "alice.example@mail.example.org",
        from_name: Some("Alice Example"),
        to: "bob@example.net",
        to_name: None,
        date,
        packet,
    }
}

fn date() -> MailDate {
    MailDate {
        unix_seconds: 1_717_761_802,
        utc_offset_minutes: 120,
    }
}

fn random_packet(rng: &mut ChaCha20Rng, len: usize) -> Vec<u8> {
    let mut p = vec![0u8; len];
    rng.fill_bytes(&mut p);
    p
}

fn build(seed: u64, packet: &[u8]) -> Result<Vec<u8>, CarrierError> {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    build_carrier(
        &params(packet, date()),
        &CarrierTemplates::default(),
        &mut rng,
    )
}

/// A template set with non-ASCII text, to exercise the other encodings.
fn german() -> Result<CarrierTemplates, mailvortex_carrier::TemplateError> {
    CarrierTemplates::new(vec![Theme {
        name: "de".into(),
        subjects: vec!["Grüße vom {weekday} – Fotos".into()],
        bodies: vec!["Hallo,\n\nanbei das Foto von gestern. Schöne Grüße!\n".into()],
        attachments: vec![AttachmentTemplate::new("Foto_{n}.pdf", "application/pdf")],
    }])
}

/// Splits a mail into header and body at the first empty line.
fn split_head(mail: &[u8]) -> (&[u8], &[u8]) {
    let pos = mail
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(mail.len());
    (&mail[..pos], &mail[(pos + 4).min(mail.len())..])
}

/// Checks the wire-format rules every carrier must follow.
fn assert_wire_format(mail: &[u8]) {
    // CRLF everywhere: every LF is preceded by CR, no bare CR.
    for (i, &b) in mail.iter().enumerate() {
        if b == b'\n' {
            assert_eq!(mail.get(i.wrapping_sub(1)), Some(&b'\r'), "bare LF at {i}");
        }
        if b == b'\r' {
            assert_eq!(mail.get(i + 1), Some(&b'\n'), "bare CR at {i}");
        }
    }
    assert!(mail.ends_with(b"\r\n"));
    // The whole mail is 7-bit ASCII (headers, text and base64 alike).
    assert!(mail.is_ascii(), "non-ASCII byte in mail");
    let text = std::str::from_utf8(mail).unwrap_or_default();
    for line in text.split("\r\n") {
        assert!(line.len() <= 998, "line of {} bytes", line.len());
        assert!(
            !line.ends_with([' ', '\t']),
            "trailing white space: {line:?}"
        );
        assert!(
            line.len() <= 78
                || line
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+/=".contains(c)),
            "header/text line over 78 chars: {line}"
        );
    }
    // Top-level headers: no X- headers, nothing unexpected.
    let (head, _) = split_head(mail);
    let head = std::str::from_utf8(head).unwrap_or_default();
    let names: Vec<&str> = head
        .split("\r\n")
        .filter(|l| !l.starts_with([' ', '\t']))
        .filter_map(|l| l.split_once(':').map(|(n, _)| n))
        .collect();
    assert_eq!(
        names,
        [
            "Date",
            "From",
            "To",
            "Subject",
            "Message-ID",
            "MIME-Version",
            "Content-Type"
        ]
    );
    // base64 body of the attachment: all full lines are exactly 76 chars.
    let lines: Vec<&str> = text.split("\r\n").collect();
    let start = lines
        .iter()
        .rposition(|l| *l == "Content-Transfer-Encoding: base64")
        .unwrap_or(0)
        + 2;
    let end = lines
        .iter()
        .skip(start)
        .position(|l| l.is_empty() || l.starts_with("--"))
        .map_or(lines.len(), |p| p + start);
    let b64 = &lines[start..end];
    assert!(b64.len() > 600, "base64 block not found");
    for l in &b64[..b64.len() - 1] {
        assert_eq!(l.len(), 76, "base64 line {l}");
    }
    assert!(!b64[b64.len() - 1].is_empty() && b64[b64.len() - 1].len() <= 76);
}

/// The attachment as decoded by mail-parser: (content type, file name, bytes).
fn attachment_of(mail: &[u8]) -> Option<(String, String, Vec<u8>)> {
    let msg = MessageParser::new().parse(mail)?;
    let att = msg.attachment(0)?;
    let ct = att.content_type()?;
    Some((
        format!("{}/{}", ct.ctype(), ct.subtype()?),
        att.attachment_name()?.to_string(),
        att.contents().to_vec(),
    ))
}

#[test]
fn one_carrier_round_trips_and_is_well_formed() -> TestResult {
    let mut rng = ChaCha20Rng::seed_from_u64(99);
    let packet = random_packet(&mut rng, PACKET_LEN);
    let mail = build(1, &packet)?;
    assert_wire_format(&mail);
    assert!(is_candidate(&mail));
    assert_eq!(extract_packets(&mail, PACKET_LEN)?, vec![packet.clone()]);

    // mail-parser's view of the headers.
    let msg = MessageParser::new().parse(&mail).ok_or("unparsable")?;
    assert_eq!(msg.date().map(|d| d.to_timestamp()), Some(1_717_761_802));
    assert_eq!(
        msg.from().and_then(|a| a.first()).and_then(|a| a.address()),
        Some("alice.example@mail.example.org")
    );
    assert_eq!(
        msg.from().and_then(|a| a.first()).and_then(|a| a.name()),
        Some("Alice Example")
    );
    assert_eq!(
        msg.to().and_then(|a| a.first()).and_then(|a| a.address()),
        Some("bob@example.net")
    );
    assert!(
        msg.message_id()
            .is_some_and(|id| id.ends_with("@mail.example.org") && id.len() == 36 + 1 + 16)
    );
    assert_eq!(msg.text_body.len(), 1);
    assert_eq!(msg.attachments.len(), 1);
    let (_, _, bytes) = attachment_of(&mail).ok_or("no attachment")?;
    assert!((MIN_ATTACHMENT_BYTES..=MAX_ATTACHMENT_BYTES).contains(&bytes.len()));
    assert_eq!(open_container(&bytes, PACKET_LEN)?, &packet[..]);
    Ok(())
}

/// Header names of the top level and of each part, in order: the mail's
/// shape without any of its values.
fn skeleton(parsed: &mailparse::ParsedMail<'_>) -> Vec<Vec<String>> {
    let mut out = vec![parsed.headers.iter().map(|h| h.get_key()).collect()];
    for p in &parsed.subparts {
        out.push(p.headers.iter().map(|h| h.get_key()).collect());
    }
    out
}

#[test]
fn second_parser_agrees_and_shape_is_fixed() -> TestResult {
    let mut rng = ChaCha20Rng::seed_from_u64(5);
    let mut shapes = BTreeSet::new();
    for seed in 0..24 {
        let packet = random_packet(&mut rng, PACKET_LEN);
        let mail = build(seed, &packet)?;
        let parsed = mailparse::parse_mail(&mail)?;
        assert_eq!(parsed.ctype.mimetype, "multipart/mixed");
        assert_eq!(parsed.subparts.len(), 2);
        let text = &parsed.subparts[0];
        assert_eq!(text.ctype.mimetype, "text/plain");
        assert!(!text.get_body()?.trim().is_empty());
        let att = &parsed.subparts[1];
        let disp = att.get_content_disposition();
        assert_eq!(disp.disposition, mailparse::DispositionType::Attachment);
        let (ct, name, bytes) = attachment_of(&mail).ok_or("mail-parser failed")?;
        assert_eq!(att.ctype.mimetype, ct);
        assert_eq!(disp.params.get("filename"), Some(&name));
        assert_eq!(att.ctype.params.get("name"), Some(&name));
        let raw = att.get_body_raw()?;
        assert_eq!(raw, bytes, "the two parsers decode different bytes");
        assert_eq!(open_container(&raw, PACKET_LEN)?, &packet[..]);
        // Headers agree too.
        let date = mailparse::dateparse(
            &parsed
                .headers
                .iter()
                .find(|h| h.get_key() == "Date")
                .ok_or("no Date")?
                .get_value(),
        )?;
        assert_eq!(date, 1_717_761_802);
        shapes.insert(skeleton(&parsed));
    }
    // Whatever theme, subject, body, file name and bucket were drawn, the
    // mail has the same headers in the same order in every part.
    assert_eq!(shapes.len(), 1, "{shapes:?}");
    Ok(())
}

#[test]
fn non_ascii_templates_stay_ascii_on_the_wire() -> TestResult {
    let t = german()?;
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    let packet = random_packet(&mut rng, 1000);
    let mut p = params(&packet, date());
    p.from_name = Some("Jürgen \"Jo\" Müller-Lüdenscheidt von Ober-Unterhausen am See");
    let mail = build_carrier(&p, &t, &mut rng)?;
    assert_wire_format(&mail);
    let msg = MessageParser::new().parse(&mail).ok_or("unparsable")?;
    assert_eq!(msg.subject(), Some("Grüße vom Friday – Fotos"));
    assert_eq!(
        msg.from().and_then(|a| a.first()).and_then(|a| a.name()),
        p.from_name
    );
    assert!(
        msg.body_text(0)
            .is_some_and(|b| b.contains("Schöne Grüße!"))
    );
    let parsed = mailparse::parse_mail(&mail)?;
    assert!(parsed.subparts[0].get_body()?.contains("Schöne Grüße!"));
    assert_eq!(extract_packets(&mail, 1000)?, vec![packet]);
    Ok(())
}

#[test]
fn no_marker_and_fresh_random_values() -> TestResult {
    // Fresh random packets, as in real use, for the marker checks.
    let mut rng = ChaCha20Rng::seed_from_u64(1234);
    let mails: Vec<String> = (0..40)
        .map(|seed| {
            let packet = random_packet(&mut rng, PACKET_LEN);
            build(seed, &packet).map(|m| String::from_utf8_lossy(&m).into_owned())
        })
        .collect::<Result<_, _>>()?;
    for m in &mails {
        assert!(!m.to_ascii_lowercase().contains("vortex"));
        let lower = m.to_ascii_lowercase();
        for word in [
            "mail-builder",
            "stalwart",
            "\r\nx-",
            "user-agent",
            "localhost",
        ] {
            assert!(!lower.contains(word), "{word:?} in mail");
        }
    }
    // No constant marker: any line that is in every mail must be a standard
    // MIME line that every client writes.
    let allowed: BTreeSet<&str> = [
        "",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=\"UTF-8\"",
        "Content-Transfer-Encoding: 7bit",
        "Content-Transfer-Encoding: base64",
        "To: bob@example.net",
        "From: Alice Example <alice.example@mail.example.org>",
        "Date: Fri, 7 Jun 2024 14:03:22 +0200",
    ]
    .into_iter()
    .collect();
    let mut count: HashMap<&str, usize> = HashMap::new();
    for m in &mails {
        let lines: BTreeSet<&str> = m.split("\r\n").collect();
        for l in lines {
            *count.entry(l).or_default() += 1;
        }
    }
    for (line, n) in &count {
        if *n == mails.len() {
            assert!(
                allowed.contains(line),
                "constant line in every carrier: {line:?}"
            );
        }
    }
    // Per-mail random values differ between carriers of the same packet.
    let packet = random_packet(&mut rng, PACKET_LEN);
    let mails: Vec<String> = (100..140)
        .map(|seed| build(seed, &packet).map(|m| String::from_utf8_lossy(&m).into_owned()))
        .collect::<Result<_, _>>()?;
    let field = |m: &str, name: &str| {
        m.split("\r\n")
            .find(|l| l.starts_with(name))
            .map(str::to_string)
            .unwrap_or_default()
    };
    let ids: BTreeSet<String> = mails.iter().map(|m| field(m, "Message-ID:")).collect();
    let bounds: BTreeSet<String> = mails
        .iter()
        .map(|m| field(m, "Content-Type: multipart/mixed;"))
        .collect();
    let subjects: BTreeSet<String> = mails.iter().map(|m| field(m, "Subject:")).collect();
    let names: BTreeSet<String> = mails
        .iter()
        .map(|m| field(m, "Content-Disposition:"))
        .collect();
    assert_eq!(ids.len(), mails.len());
    assert_eq!(bounds.len(), mails.len());
    assert!(subjects.len() >= 12, "only {} subjects", subjects.len());
    assert!(names.len() >= 12, "only {} file names", names.len());
    // Two carriers of the same packet differ in their attachment bytes
    // besides the packet (fresh container values and padding).
    let a = attachment_of(mails[0].as_bytes()).ok_or("a")?;
    let b = attachment_of(mails[1].as_bytes()).ok_or("b")?;
    assert_ne!(a.2.get(..64), b.2.get(..64));
    assert_ne!(a.2.get(a.2.len() - 64..), b.2.get(b.2.len() - 64..));
    Ok(())
}

#[test]
fn sizes_are_in_the_documented_range_and_independent_of_packet_and_type() -> TestResult {
    let mut rng = ChaCha20Rng::seed_from_u64(11);
    let mut sizes = BTreeSet::new();
    let mut per_type: HashMap<String, BTreeSet<usize>> = HashMap::new();
    for seed in 0..200 {
        let len = 1 + (rng.next_u32() as usize % MAX_PACKET_LEN);
        let packet = random_packet(&mut rng, len);
        let mail = build(seed, &packet)?;
        let (ct, _, bytes) = attachment_of(&mail).ok_or("no attachment")?;
        assert_eq!(open_container(&bytes, len)?, &packet[..]);
        assert!((MIN_ATTACHMENT_BYTES..=MAX_ATTACHMENT_BYTES).contains(&bytes.len()));
        sizes.insert(bytes.len());
        per_type.entry(ct).or_default().insert(bytes.len());
    }
    assert!(sizes.len() >= 190, "only {} distinct sizes", sizes.len());
    // Every attachment type is seen with many sizes: the size does not
    // follow the template.
    for (ct, s) in per_type {
        assert!(s.len() >= 20, "{ct} has only sizes {s:?}");
    }
    Ok(())
}

#[test]
fn bad_parameters_are_typed_errors() {
    let t = CarrierTemplates::default();
    let mut rng = ChaCha20Rng::seed_from_u64(0);
    let big = vec![1u8; MAX_PACKET_LEN + 1];
    let ok = vec![1u8; 10];
    type Case<'a> = (CarrierParams<'a>, fn(&CarrierError) -> bool);
    let cases: Vec<Case<'_>> = vec![
        (params(&[], date()), |e| {
            matches!(e, CarrierError::EmptyPacket)
        }),
        (params(&big, date()), |e| {
            matches!(e, CarrierError::PacketTooLarge { .. })
        }),
        (
            CarrierParams {
                to: "bob@example.net\r\nBcc: eve@example.com",
                ..params(&ok, date())
            },
            |e| matches!(e, CarrierError::InvalidAddress { field: "To", .. }),
        ),
        (
            CarrierParams {
                from: "alice",
                ..params(&ok, date())
            },
            |e| matches!(e, CarrierError::InvalidAddress { field: "From", .. }),
        ),
        (
            CarrierParams {
                to_name: Some("Bob\nBcc: x"),
                ..params(&ok, date())
            },
            |e| matches!(e, CarrierError::InvalidDisplayName { field: "To", .. }),
        ),
        (
            params(
                &ok,
                MailDate {
                    unix_seconds: -5,
                    utc_offset_minutes: 0,
                },
            ),
            |e| matches!(e, CarrierError::InvalidDate { .. }),
        ),
    ];
    for (p, check) in cases {
        match build_carrier(&p, &t, &mut rng) {
            Ok(_) => panic!("accepted {p:?}"),
            Err(e) => assert!(check(&e), "wrong error {e:?}"),
        }
    }
}

/// The decoded attachment of a real carrier.
fn real_container(seed: u64) -> Result<Vec<u8>, Box<dyn std::error::Error>> {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let packet = random_packet(&mut rng, PACKET_LEN);
    let mail = build(seed, &packet)?;
    Ok(attachment_of(&mail).ok_or("no attachment")?.2)
}

/// A plain mail with one attachment of random bytes, as a client would send it.
fn ordinary_mail(attachment_len: usize, transfer_encoding: &str) -> Vec<u8> {
    let mut rng = ChaCha20Rng::seed_from_u64(attachment_len as u64);
    let data = random_packet(&mut rng, attachment_len);
    mail_with_attachment(&data, transfer_encoding)
}

/// A plain mail with `data` as its one attachment.
fn mail_with_attachment(data: &[u8], transfer_encoding: &str) -> Vec<u8> {
    let data = data.to_vec();
    let body = if transfer_encoding == "base64" {
        let mut out = Vec::new();
        mail_builder::encoders::base64::base64_encode_mime(&data, &mut out, false)
            .unwrap_or_default();
        out
    } else {
        data
    };
    let mut m = b"From: Carol <carol@example.com>\r\n\
To: dave@example.org\r\n\
Subject: Slides from today\r\n\
Date: Mon, 3 Jun 2024 09:12:00 +0000\r\n\
Message-ID: <abc@example.com>\r\n\
MIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"XYZ\"\r\n\
\r\n\
--XYZ\r\n\
Content-Type: text/plain; charset=UTF-8\r\n\
\r\n\
Slides attached.\r\n\
--XYZ\r\n\
Content-Type: application/pdf; name=\"slides.pdf\"\r\n\
Content-Disposition: attachment; filename=\"slides.pdf\"\r\n\
Content-Transfer-Encoding: "
        .to_vec();
    m.extend_from_slice(transfer_encoding.as_bytes());
    m.extend_from_slice(b"\r\n\r\n");
    m.extend_from_slice(&body);
    m.extend_from_slice(b"\r\n--XYZ--\r\n");
    m
}

#[test]
fn ordinary_mail_yields_no_candidates() -> TestResult {
    // Attachments of any size, carrier-sized ones included, that are not
    // carrier containers.
    for len in [36_863, 36_865, 40_960, 45_000, 120_345, 400_000] {
        let mail = ordinary_mail(len, "base64");
        assert_eq!(
            extract_packets(&mail, PACKET_LEN)?,
            Vec::<Vec<u8>>::new(),
            "{len}"
        );
    }
    // A plain text mail is not even a candidate.
    let text = b"From: a@example.com\r\nTo: b@example.org\r\nSubject: hi\r\n\r\nHello\r\n";
    assert!(!is_candidate(text));
    assert!(extract_packets(text, PACKET_LEN)?.is_empty());
    // A carrier container is a candidate, whoever sent it (the node's
    // decryption then decides), but only when base64-encoded.
    let container = real_container(3)?;
    let mail = mail_with_attachment(&container, "base64");
    let got = extract_packets(&mail, PACKET_LEN)?;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].len(), PACKET_LEN);
    assert!(extract_packets(&mail_with_attachment(&container, "binary"), PACKET_LEN)?.is_empty());
    // Too big to be a carrier: not parsed, no candidates.
    let huge = ordinary_mail(MAX_MAIL_BYTES, "base64");
    assert!(!is_candidate(&huge));
    assert!(extract_packets(&huge, PACKET_LEN)?.is_empty());
    Ok(())
}

#[test]
fn lf_only_mail_is_still_understood() -> TestResult {
    // Some delivery agents store mail with bare LF line ends.
    let mut rng = ChaCha20Rng::seed_from_u64(8);
    let packet = random_packet(&mut rng, PACKET_LEN);
    let mail = build(4, &packet)?;
    let lf: Vec<u8> = mail.iter().copied().filter(|&b| b != b'\r').collect();
    assert_eq!(extract_packets(&lf, PACKET_LEN)?, vec![packet]);
    Ok(())
}

#[test]
fn candidates_are_capped() -> TestResult {
    let mut rng = ChaCha20Rng::seed_from_u64(21);
    let mut m = b"From: a@example.com\r\nTo: b@example.org\r\nSubject: many\r\n\
MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"B\"\r\n\r\n"
        .to_vec();
    let data = real_container(rng.next_u64())?;
    for i in 0..12 {
        m.extend_from_slice(
            format!(
                "--B\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; \
                 filename=\"{i}.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
            )
            .as_bytes(),
        );
        mail_builder::encoders::base64::base64_encode_mime(&data, &mut m, false)?;
    }
    m.extend_from_slice(b"--B--\r\n");
    assert_eq!(extract_packets(&m, PACKET_LEN)?.len(), MAX_CANDIDATES);
    Ok(())
}

/// `depth` nested multiparts around a carrier container, base64.
fn nested_mail(depth: usize) -> Vec<u8> {
    let mut m = b"From: a@example.com\r\nTo: b@example.org\r\nMIME-Version: 1.0\r\n".to_vec();
    for i in 0..depth {
        m.extend_from_slice(
            format!("Content-Type: multipart/mixed; boundary=\"b{i}\"\r\n\r\n--b{i}\r\n")
                .as_bytes(),
        );
    }
    m.extend_from_slice(
        b"Content-Type: application/zip\r\nContent-Transfer-Encoding: base64\r\n\r\n",
    );
    let data = real_container(depth as u64).unwrap_or_default();
    let _ = mail_builder::encoders::base64::base64_encode_mime(&data, &mut m, false);
    for i in (0..depth).rev() {
        m.extend_from_slice(format!("--b{i}--\r\n").as_bytes());
    }
    m
}

#[test]
fn deep_nesting_is_rejected() -> TestResult {
    // Within the limit the attachment is found ...
    let ok = nested_mail(MAX_DEPTH);
    assert_eq!(extract_packets(&ok, PACKET_LEN)?.len(), 1);
    // ... one level more is refused ...
    let r = extract_packets(&nested_mail(MAX_DEPTH + 1), PACKET_LEN);
    assert!(
        matches!(r, Err(CarrierError::NestingTooDeep { .. })),
        "{r:?}"
    );
    // ... and so is absurd nesting, quickly (part count or depth).
    let start = std::time::Instant::now();
    let r = extract_packets(&nested_mail(5000), PACKET_LEN);
    assert!(
        matches!(
            r,
            Err(CarrierError::NestingTooDeep { .. } | CarrierError::TooManyParts { .. })
        ),
        "{r:?}"
    );
    assert!(start.elapsed().as_secs() < 5);
    Ok(())
}

#[test]
fn huge_headers_and_many_parts_are_rejected() {
    // A header section longer than the limit, with a real carrier body.
    let packet = vec![3u8; PACKET_LEN];
    let Ok(mail) = build(1, &packet) else {
        panic!("build failed")
    };
    let mut m = Vec::new();
    for i in 0..(MAX_HEADER_BYTES / 60 + 10) {
        m.extend_from_slice(
            format!("Received: from relay{i}.example.com by mx.example.org; {i:040}\r\n")
                .as_bytes(),
        );
    }
    m.extend_from_slice(&mail);
    assert!(matches!(
        extract_packets(&m, PACKET_LEN),
        Err(CarrierError::HeadersTooLarge { .. })
    ));
    // One endless header line, too.
    let mut m = b"Subject: ".to_vec();
    m.resize(MAX_HEADER_BYTES + 100, b'a');
    m.extend_from_slice(b" base64\r\n\r\nbody\r\n");
    assert!(matches!(
        extract_packets(&m, PACKET_LEN),
        Err(CarrierError::HeadersTooLarge { .. })
    ));
    // Thousands of tiny parts.
    let mut m =
        b"From: a@example.com\r\nContent-Type: multipart/mixed; boundary=\"P\"\r\n\r\n".to_vec();
    while m.len() < MIN_CARRIER_BYTES + 100 {
        m.extend_from_slice(b"--P\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\nAAAA\r\n");
    }
    m.extend_from_slice(b"--P--\r\n");
    assert!(matches!(
        extract_packets(&m, PACKET_LEN),
        Err(CarrierError::TooManyParts { .. })
    ));
}

#[test]
fn garbage_of_carrier_size_is_handled() {
    // Big hostile inputs that pass the cheap pre-check.
    let mut rng = ChaCha20Rng::seed_from_u64(77);
    let mut noise = random_packet(&mut rng, MIN_CARRIER_BYTES + 1000);
    noise[..6].copy_from_slice(b"base64");
    let _ = extract_packets(&noise, PACKET_LEN);
    let only_newlines = [b"base64".as_slice(), &vec![b'\n'; MIN_CARRIER_BYTES]].concat();
    let _ = extract_packets(&only_newlines, PACKET_LEN);
    let boundaries =
        b"Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\n".repeat(MIN_CARRIER_BYTES / 40);
    let _ = extract_packets(&[b"base64 ".as_slice(), &boundaries].concat(), PACKET_LEN);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, .. ProptestConfig::default() })]

    /// extract(build(p)) == [p] for random packets, templates, dates and offsets.
    #[test]
    fn round_trip(
        seed in any::<u64>(),
        len in 1usize..=MAX_PACKET_LEN,
        unix_seconds in 0i64..4_102_444_800, // 1970..2100
        utc_offset_minutes in -720i16..=840,
        german_templates in any::<bool>(),
    ) {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let packet = random_packet(&mut rng, len);
        let templates = if german_templates {
            german().map_err(|e| TestCaseError::fail(e.to_string()))?
        } else {
            CarrierTemplates::default()
        };
        let d = MailDate { unix_seconds, utc_offset_minutes };
        let mail = build_carrier(&params(&packet, d), &templates, &mut rng)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert!(is_candidate(&mail));
        let got = extract_packets(&mail, len).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(got, vec![packet]);
        let msg = MessageParser::new().parse(&mail);
        prop_assert_eq!(msg.and_then(|m| m.date().map(|d| d.to_timestamp())), Some(unix_seconds));
    }

    /// Arbitrary bytes never panic; `is_candidate == false` means no candidates.
    #[test]
    fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..4096),
                                   len in 0usize..=MAX_PACKET_LEN + 1) {
        let r = extract_packets(&data, len);
        if !is_candidate(&data) {
            prop_assert!(r.map_or(true, |v| v.is_empty()));
        }
    }

    /// Mutated carriers (bytes flipped, cut, spliced) never panic either.
    #[test]
    fn mutated_carriers_never_panic(seed in any::<u64>(),
                                    edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..64),
                                    cut in any::<usize>()) {
        let packet = vec![9u8; 2000];
        let mut mail = build(seed, &packet).map_err(|e| TestCaseError::fail(e.to_string()))?;
        for (pos, byte) in edits {
            let i = pos % mail.len();
            mail[i] = byte;
        }
        mail.truncate(MIN_CARRIER_BYTES + cut % (mail.len() - MIN_CARRIER_BYTES + 1));
        let r = extract_packets(&mail, packet.len());
        if let Ok(c) = r {
            prop_assert!(c.len() <= 1);
            prop_assert!(c.iter().all(|p| p.len() == packet.len()));
        }
    }
}
