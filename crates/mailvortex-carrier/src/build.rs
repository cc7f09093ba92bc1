//! Building a carrier mail around one packet.

use mail_builder::MessageBuilder;
use mail_builder::encoders::base64::base64_encode;
use mail_builder::headers::Header;
use mail_builder::headers::content_type::ContentType;
use mail_builder::headers::text::Text;
use mail_builder::mime::{BodyPart, MimePart};
use rand_core::{CryptoRng, RngCore};

use crate::container::{self, Kind};
use crate::date::MailDate;
use crate::templates::{CarrierTemplates, RenderContext, render};
use crate::{CarrierError, MAX_ATTACHMENT_BYTES, MAX_PACKET_LEN};

/// What to wrap, from whom, to whom, and when.
#[derive(Clone, Copy, Debug)]
pub struct CarrierParams<'a> {
    /// Sender address, plain `local@domain` (ASCII). Its domain is also
    /// used for the `Message-ID`, as mail clients do.
    pub from: &'a str,
    /// Optional sender display name (`"Alice Example"`).
    pub from_name: Option<&'a str>,
    /// Recipient address, plain `local@domain` (ASCII).
    pub to: &'a str,
    /// Optional recipient display name.
    pub to_name: Option<&'a str>,
    /// Date and sender UTC offset for the `Date:` header and placeholders.
    pub date: MailDate,
    /// The packet: 1..=[`MAX_PACKET_LEN`] opaque bytes.
    pub packet: &'a [u8],
}

/// Builds a complete RFC 5322 mail (CRLF line ends) carrying `params.packet`
/// as the start of its only attachment.
///
/// Structure, always the same whatever the template:
///
/// ```text
/// Date / From / To / Subject / Message-ID / MIME-Version
/// Content-Type: multipart/mixed; boundary="------------<20 random alnum>"
///   text/plain; charset="UTF-8"             (template body)
///   <template MIME type>; name="<file>"     attachment, base64, 76-char lines
///     = a valid PDF (or a ZIP holding one) whose image samples are
///       packet ‖ random padding, of a random length within
///       MIN_ATTACHMENT_BYTES..=MAX_ATTACHMENT_BYTES
/// ```
///
/// Random choices (theme, subject, body, file name, `{n}`/`{id}`, length,
/// image width, file time, PDF /ID, boundary, Message-ID, padding) all come
/// from `rng` and are independent of each other; the length in particular
/// depends neither on the theme nor on the packet.
pub fn build_carrier<R>(
    params: &CarrierParams<'_>,
    templates: &CarrierTemplates,
    rng: &mut R,
) -> Result<Vec<u8>, CarrierError>
where
    R: RngCore + CryptoRng + ?Sized,
{
    let packet = params.packet;
    if packet.is_empty() {
        return Err(CarrierError::EmptyPacket);
    }
    if packet.len() > MAX_PACKET_LEN {
        return Err(CarrierError::PacketTooLarge {
            len: packet.len(),
            max: MAX_PACKET_LEN,
        });
    }
    let from_domain = check_address("From", params.from)?;
    check_address("To", params.to)?;
    check_display_name("From", params.from_name)?;
    check_display_name("To", params.to_name)?;
    let local = params.date.local()?;

    // Template choice: a theme, then one entry of each list.
    let themes = templates.themes();
    let theme = pick(rng, themes).ok_or(CarrierError::Malformed("no template themes"))?;
    let subject = pick(rng, &theme.subjects).ok_or(CarrierError::Malformed("no subjects"))?;
    let body = pick(rng, &theme.bodies).ok_or(CarrierError::Malformed("no bodies"))?;
    let attachment =
        pick(rng, &theme.attachments).ok_or(CarrierError::Malformed("no attachments"))?;
    let ctx = RenderContext {
        local,
        n: 1 + uniform(rng, 9999),
        id: 100_000 + uniform(rng, 900_000),
    };
    let subject = render(subject, &ctx);
    let mut body = render(body, &ctx);
    if !body.ends_with('\n') {
        body.push('\n');
    }
    let file_name = render(&attachment.name, &ctx);

    // Attachment bytes: a PDF or ZIP file around the packet. The file was
    // "last modified" up to two hours before the mail was sent.
    let kind = Kind::for_attachment(&attachment.mime, &attachment.name)
        .ok_or(CarrierError::Malformed("unsupported attachment type"))?;
    let file_time = MailDate {
        unix_seconds: params.date.unix_seconds - 60 - i64::from(uniform(rng, 7141)),
        ..params.date
    }
    .local()
    .unwrap_or(local);
    let content = container::build(kind, packet, &file_name, &file_time, rng);

    let boundary = random_boundary(rng);
    let message_id = format!("{}@{}", random_uuid(rng), from_domain);

    let text_part = MimePart::new(
        ContentType::new("text/plain").attribute("charset", "UTF-8"),
        BodyPart::Text(body.into()),
    );
    let attachment_part = MimePart::new(
        ContentType::new(attachment.mime.as_str()).attribute("name", file_name.as_str()),
        BodyPart::Binary(content.into()),
    )
    .attachment(file_name.as_str());

    // Top-level headers: written here (mail-builder's address writer puts
    // RFC 2047 words inside quotes and cannot fold them); the subject uses
    // mail-builder's RFC 2047 text encoder.
    let mut out =
        Vec::with_capacity(MAX_ATTACHMENT_BYTES / 3 * 4 + MAX_ATTACHMENT_BYTES / 38 + 2048);
    out.extend_from_slice(format!("Date: {}\r\n", local.rfc5322()).as_bytes());
    out.extend_from_slice(&mailbox_header("From", params.from_name, params.from));
    out.extend_from_slice(&mailbox_header("To", params.to_name, params.to));
    out.extend_from_slice(b"Subject: ");
    Text::new(subject)
        .write_header(&mut out, "Subject: ".len())
        .map_err(CarrierError::Build)?;
    out.extend_from_slice(format!("Message-ID: <{message_id}>\r\n").as_bytes());
    out.extend_from_slice(b"MIME-Version: 1.0\r\n");
    // Body: the multipart (with its Content-Type header) by mail-builder.
    MessageBuilder::new()
        .body(MimePart::new(
            ContentType::new("multipart/mixed").attribute("boundary", boundary),
            vec![text_part, attachment_part],
        ))
        .write_body(&mut out)
        .map_err(CarrierError::Build)?;
    Ok(out)
}

/// Uniform integer in `0..n` (rejection sampling, no modulo bias); 0 if n = 0.
pub(crate) fn uniform<R: RngCore + ?Sized>(rng: &mut R, n: u32) -> u32 {
    if n == 0 {
        return 0;
    }
    // Largest multiple of n that fits in u32's range.
    let zone = u32::MAX - (u32::MAX - n + 1) % n;
    loop {
        let v = rng.next_u32();
        if v <= zone {
            return v % n;
        }
    }
}

fn pick<'a, T, R: RngCore + ?Sized>(rng: &mut R, items: &'a [T]) -> Option<&'a T> {
    let n = u32::try_from(items.len()).ok()?;
    items.get(uniform(rng, n) as usize)
}

const ALNUM: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Boundary in the common desktop style: twelve dashes and 20 random
/// letters/digits (~119 bits). 32 characters, so that the top-level
/// `Content-Type: multipart/mixed; boundary="..."` line needs no folding.
fn random_boundary<R: RngCore + ?Sized>(rng: &mut R) -> String {
    let mut s = String::with_capacity(32);
    s.push_str("------------");
    for _ in 0..20 {
        let i = uniform(rng, 62) as usize;
        s.push(char::from(ALNUM.get(i).copied().unwrap_or(b'0')));
    }
    s
}

/// A random (version 4) UUID, lower-case, as used for Message-IDs by common
/// desktop clients.
fn random_uuid<R: RngCore + ?Sized>(rng: &mut R) -> String {
    let mut b = [0u8; 16];
    rng.fill_bytes(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let mut s = String::with_capacity(36);
    for (i, byte) in b.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            s.push('-');
        }
        s.push_str(&format!("{byte:02x}"));
    }
    s
}

/// A `From:`/`To:` header line holding one RFC 5322 `mailbox`, as desktop
/// clients write it: the bare address, `Name <addr>` for plain names, a
/// quoted string for ASCII names with specials, and RFC 2047 `B`
/// encoded-words (at most 45 bytes of UTF-8 each, split at character
/// boundaries) for anything else. Folded so that no line exceeds 78
/// characters unless a single token does.
fn mailbox_header(field: &str, name: Option<&str>, addr: &str) -> Vec<u8> {
    let angle = format!("<{addr}>");
    let mut tokens: Vec<String> = Vec::new();
    match name {
        None => tokens.push(addr.to_string()),
        Some(name) => {
            let atext = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c);
            if name.chars().all(|c| c == ' ' || atext(c)) {
                tokens.extend(name.split(' ').filter(|w| !w.is_empty()).map(String::from));
            } else if name.is_ascii() {
                let mut q = String::from("\"");
                for c in name.chars() {
                    if c == '"' || c == '\\' {
                        q.push('\\');
                    }
                    q.push(c);
                }
                q.push('"');
                tokens.push(q);
            } else {
                let mut chunk = String::new();
                for c in name.chars() {
                    if chunk.len() + c.len_utf8() > 45 {
                        tokens.push(encoded_word(&chunk));
                        chunk.clear();
                    }
                    chunk.push(c);
                }
                if !chunk.is_empty() {
                    tokens.push(encoded_word(&chunk));
                }
            }
            tokens.push(angle);
        }
    }
    let mut line = format!("{field}:");
    let mut out = String::new();
    let mut on_line = 0usize;
    for tok in tokens {
        if on_line > 0 && line.len() + 1 + tok.len() > 78 {
            out.push_str(&line);
            out.push_str("\r\n");
            line.clear();
            on_line = 0;
        }
        line.push(' ');
        line.push_str(&tok);
        on_line += 1;
    }
    out.push_str(&line);
    out.push_str("\r\n");
    out.into_bytes()
}

fn encoded_word(text: &str) -> String {
    let b64 = base64_encode(text.as_bytes()).unwrap_or_default();
    format!("=?UTF-8?B?{}?=", String::from_utf8_lossy(&b64))
}

/// Checks a plain `local@domain` address; returns the domain.
///
/// Deliberately narrower than RFC 5321: dot-atom local part, LDH domain
/// labels. Anything that could break out of the header (spaces, CR/LF,
/// angle brackets, quotes, non-ASCII) is refused.
fn check_address<'a>(field: &'static str, addr: &'a str) -> Result<&'a str, CarrierError> {
    let bad = |reason| CarrierError::InvalidAddress { field, reason };
    if addr.len() > 254 {
        return Err(bad("longer than 254 bytes"));
    }
    let (local, domain) = addr.rsplit_once('@').ok_or_else(|| bad("no '@'"))?;
    if local.is_empty() || local.len() > 64 {
        return Err(bad("local part must be 1 to 64 bytes"));
    }
    let atext = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c);
    if local
        .split('.')
        .any(|atom| atom.is_empty() || !atom.chars().all(atext))
    {
        return Err(bad(
            "local part must be dot-separated ASCII atoms (no spaces, quotes, brackets)",
        ));
    }
    let labels: Vec<&str> = domain.split('.').collect();
    if labels.len() < 2
        || labels.iter().any(|l| {
            l.is_empty()
                || l.len() > 63
                || l.starts_with('-')
                || l.ends_with('-')
                || !l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
    {
        return Err(bad(
            "domain must be a dotted name of ASCII letters, digits and '-'",
        ));
    }
    Ok(domain)
}

fn check_display_name(field: &'static str, name: Option<&str>) -> Result<(), CarrierError> {
    let Some(name) = name else {
        return Ok(());
    };
    let bad = |reason| CarrierError::InvalidDisplayName { field, reason };
    if name.trim().is_empty() || name.trim() != name {
        return Err(bad("must not be empty or start/end with spaces"));
    }
    if name.chars().count() > 64 {
        return Err(bad("longer than 64 characters"));
    }
    if name.chars().any(char::is_control) {
        return Err(bad("contains control characters"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    #[test]
    fn uniform_is_in_range_and_covers_it() {
        let mut rng = ChaCha20Rng::seed_from_u64(7);
        let mut seen = [0u32; 5];
        for _ in 0..1000 {
            let v = uniform(&mut rng, 5) as usize;
            if let Some(c) = seen.get_mut(v) {
                *c += 1;
            }
        }
        assert!(seen.iter().all(|&c| c > 150), "{seen:?}");
        assert_eq!(uniform(&mut rng, 1), 0);
        assert_eq!(uniform(&mut rng, 0), 0);
        assert!(uniform(&mut rng, u32::MAX) < u32::MAX);
    }

    #[test]
    fn uuid_and_boundary_shapes() {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let u = random_uuid(&mut rng);
        assert_eq!(u.len(), 36);
        assert_eq!(u.as_bytes().get(14), Some(&b'4'));
        assert!(u.chars().all(|c| c == '-' || c.is_ascii_hexdigit()));
        let b = random_boundary(&mut rng);
        assert_eq!(b.len(), 32);
        assert!(b.starts_with("------------"));
        assert!(b[12..].chars().all(|c| c.is_ascii_alphanumeric()));
    }

    #[test]
    fn addresses() {
        assert_eq!(
            check_address("From", "a.b+c@mail.example.org").ok(),
            Some("mail.example.org")
        );
        for bad in [
            "",
            "nobody",
            "@example.org",
            "a@b",
            "a b@example.org",
            "a@exa mple.org",
            "a@example.org\r\nBcc: x@y.z",
            "<a@example.org>",
            "\"a\"@example.org",
            "a..b@example.org",
            "a@-example.org",
            "ä@example.org",
        ] {
            assert!(check_address("To", bad).is_err(), "{bad:?}");
        }
        assert!(check_display_name("From", Some("Alice Müller")).is_ok());
        assert!(check_display_name("From", Some("Eve\r\nBcc: x")).is_err());
        assert!(check_display_name("From", Some(" ")).is_err());
    }
}
