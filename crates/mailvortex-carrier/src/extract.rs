//! Finding packet candidates in any received mail.

use mail_parser::{Encoding, MessageParser, PartType};

use crate::container::open_container;
use crate::{
    CarrierError, MAX_CANDIDATES, MAX_DEPTH, MAX_HEADER_BYTES, MAX_MAIL_BYTES, MAX_PACKET_LEN,
    MAX_PARTS, MIN_CARRIER_BYTES,
};

/// Cheap pre-check, no parsing: `false` means [`extract_packets`] would
/// certainly find nothing, so the mail can be skipped.
///
/// True when the mail's size is within
/// [`MIN_CARRIER_BYTES`]..=[`MAX_MAIL_BYTES`] and the text `base64` occurs
/// somewhere (any case). Ordinary mail without a larger base64 attachment
/// is rejected here; a `true` is only a hint.
pub fn is_candidate(raw_mail: &[u8]) -> bool {
    (MIN_CARRIER_BYTES..=MAX_MAIL_BYTES).contains(&raw_mail.len())
        && raw_mail
            .windows(6)
            .any(|w| w.eq_ignore_ascii_case(b"base64"))
}

/// Returns the packet of every base64 attachment of `raw_mail` that is a
/// carrier container (a PDF or ZIP file laid out exactly as this crate
/// writes them, see [`open_container`]): the candidates a node then tries
/// to decrypt. Ordinary mail, including ordinary PDF and ZIP attachments,
/// gives `Ok(vec![])`.
///
/// Lenient (any RFC 5322 mail, LF or CRLF) and bounded:
/// - mails for which [`is_candidate`] is false (outside
///   [`MIN_CARRIER_BYTES`]..=[`MAX_MAIL_BYTES`], or no `base64` anywhere)
///   are not parsed at all and give `Ok(vec![])`;
/// - a top-level header section longer than [`MAX_HEADER_BYTES`] gives
///   [`CarrierError::HeadersTooLarge`];
/// - more than [`MAX_PARTS`] MIME parts give [`CarrierError::TooManyParts`],
///   multiparts nested deeper than [`MAX_DEPTH`] give
///   [`CarrierError::NestingTooDeep`];
/// - attached messages (`message/rfc822`) are not looked into;
/// - at most [`MAX_CANDIDATES`] candidates are returned (the first ones).
///
/// Never panics. Any error means "not a carrier".
pub fn extract_packets(raw_mail: &[u8], packet_len: usize) -> Result<Vec<Vec<u8>>, CarrierError> {
    if packet_len == 0 || packet_len > MAX_PACKET_LEN {
        return Err(CarrierError::InvalidPacketLength {
            len: packet_len,
            max: MAX_PACKET_LEN,
        });
    }
    // Also guarantees what `is_candidate` promises, even for exotic
    // spellings of the transfer encoding (RFC 2047 words) that we never send.
    if !is_candidate(raw_mail) {
        return Ok(Vec::new());
    }
    if header_section_len(raw_mail).is_none() {
        return Err(CarrierError::HeadersTooLarge {
            limit: MAX_HEADER_BYTES,
        });
    }
    let message = MessageParser::new()
        .parse(raw_mail)
        .ok_or(CarrierError::Malformed("no header section"))?;
    if message.parts.len() > MAX_PARTS {
        return Err(CarrierError::TooManyParts { limit: MAX_PARTS });
    }
    check_depth(&message.parts)?;

    let mut out = Vec::new();
    for part in &message.parts {
        if part.encoding != Encoding::Base64 || part.is_encoding_problem {
            continue;
        }
        let bytes = match &part.body {
            PartType::Binary(b) | PartType::InlineBinary(b) => b,
            _ => continue,
        };
        if let Ok(packet) = open_container(bytes, packet_len) {
            out.push(packet.to_vec());
            if out.len() == MAX_CANDIDATES {
                break;
            }
        }
    }
    Ok(out)
}

/// Length of the top-level header section (up to and including the empty
/// line), if it ends within [`MAX_HEADER_BYTES`] bytes or the mail has no
/// body at all within that window.
fn header_section_len(raw: &[u8]) -> Option<usize> {
    let window = raw.get(..MAX_HEADER_BYTES.min(raw.len()))?;
    let mut line_start = 0;
    for (i, &b) in window.iter().enumerate() {
        if b == b'\n' {
            let line = window.get(line_start..i).unwrap_or_default();
            if line.is_empty() || line == b"\r" {
                return Some(i + 1);
            }
            line_start = i + 1;
        }
    }
    // No empty line in the window: fine only if that was the whole mail.
    (raw.len() <= MAX_HEADER_BYTES).then_some(raw.len())
}

/// Rejects multipart trees deeper than [`MAX_DEPTH`] (walked iteratively,
/// every part visited at most once).
fn check_depth(parts: &[mail_parser::MessagePart<'_>]) -> Result<(), CarrierError> {
    if parts.is_empty() {
        return Ok(());
    }
    let mut visited = vec![false; parts.len()];
    let mut stack = vec![(0usize, 0usize)];
    while let Some((id, depth)) = stack.pop() {
        let Some(seen) = visited.get_mut(id) else {
            return Err(CarrierError::Malformed("MIME part reference out of range"));
        };
        if *seen {
            return Err(CarrierError::Malformed("MIME part referenced twice"));
        }
        *seen = true;
        if let Some(PartType::Multipart(children)) = parts.get(id).map(|p| &p.body) {
            if depth + 1 > MAX_DEPTH {
                return Err(CarrierError::NestingTooDeep { limit: MAX_DEPTH });
            }
            stack.extend(children.iter().map(|&c| (c as usize, depth + 1)));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_section_detection() {
        assert_eq!(header_section_len(b"A: b\r\n\r\nbody"), Some(8));
        assert_eq!(header_section_len(b"A: b\n\nbody"), Some(6));
        assert_eq!(header_section_len(b"A: b\r\n"), Some(6));
        let mut huge = b"X: ".to_vec();
        huge.resize(MAX_HEADER_BYTES + 10, b'a');
        huge.extend_from_slice(b"\r\n\r\nbody");
        assert_eq!(header_section_len(&huge), None);
    }

    #[test]
    fn bad_packet_len_is_an_error() {
        assert!(matches!(
            extract_packets(b"", 0),
            Err(CarrierError::InvalidPacketLength { .. })
        ));
        assert!(matches!(
            extract_packets(b"", MAX_PACKET_LEN + 1),
            Err(CarrierError::InvalidPacketLength { .. })
        ));
    }
}
