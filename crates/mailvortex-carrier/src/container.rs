//! The file around the packet: a real, valid PDF or ZIP file whose content
//! is the packet, so that the attachment's bytes match its declared type.
//!
//! Layouts (everything not shown is fixed text; `W`, `H`, `N`, offsets and
//! lengths are decimal without leading zeros):
//!
//! ```text
//! PDF  %PDF-1.4 \n %âãÏÓ \n
//!      1 0 obj <</Type/XObject/Subtype/Image/Width W/Height H
//!               /ColorSpace/DeviceGray/BitsPerComponent 8/Length N>> stream \n
//!        N = W·H bytes of 8-bit grey image samples: packet ‖ random padding
//!      \n endstream endobj
//!      2 catalog, 3 page tree, 4 page (MediaBox 595 × H·595/W, draws 1 as /Im0),
//!      5 content stream, 6 info (CreationDate/ModDate), xref, trailer (/ID random),
//!      startxref, %%EOF
//! ZIP  one STORED entry `<attachment stem>.pdf` holding the PDF above:
//!      local header (no extra field) ‖ PDF ‖ central directory ‖ end record
//!      (no comment); CRC-32 and sizes correct, DOS time = the file's time.
//! ```
//!
//! The packet always starts within the first 200 bytes of the attachment.

use rand_core::RngCore;

use crate::build::uniform;
use crate::date::LocalTime;
use crate::{MAX_ATTACHMENT_BYTES, MAX_PACKET_LEN, MIN_ATTACHMENT_BYTES};

/// Why an attachment is not a carrier container (for
/// [`open_container`]). Every variant means "not a carrier".
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ContainerError {
    /// `packet_len` is zero or larger than
    /// [`MAX_PACKET_LEN`](crate::MAX_PACKET_LEN).
    #[error("packet length {len} is not in 1..={max}")]
    InvalidPacketLength {
        /// Length asked for.
        len: usize,
        /// [`MAX_PACKET_LEN`](crate::MAX_PACKET_LEN).
        max: usize,
    },
    /// The attachment's length is outside
    /// [`MIN_ATTACHMENT_BYTES`](crate::MIN_ATTACHMENT_BYTES)..=[`MAX_ATTACHMENT_BYTES`](crate::MAX_ATTACHMENT_BYTES).
    #[error("attachment of {len} bytes is outside {min}..={max}")]
    Size {
        /// Length of the attachment.
        len: usize,
        /// [`MIN_ATTACHMENT_BYTES`](crate::MIN_ATTACHMENT_BYTES).
        min: usize,
        /// [`MAX_ATTACHMENT_BYTES`](crate::MAX_ATTACHMENT_BYTES).
        max: usize,
    },
    /// Neither `%PDF-` nor `PK\x03\x04` at the start.
    #[error("attachment is neither a PDF nor a ZIP file")]
    UnknownFormat,
    /// A PDF or ZIP file, but not laid out as a carrier container.
    #[error("{format} file is not a carrier container: {reason}")]
    Malformed {
        /// `"PDF"` or `"ZIP"`.
        format: &'static str,
        /// What does not match.
        reason: &'static str,
    },
    /// The container's content is shorter than the packet asked for.
    #[error("container holds {available} bytes, fewer than the packet length {packet_len}")]
    TooShort {
        /// Content bytes in the container.
        available: usize,
        /// Packet length asked for.
        packet_len: usize,
    },
}

/// The file formats a carrier attachment can have.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Pdf,
    Zip,
}

/// MIME type and (lower-case) file name extension of each [`Kind`].
pub(crate) const KINDS: [(Kind, &str, &str); 2] = [
    (Kind::Pdf, "application/pdf", "pdf"),
    (Kind::Zip, "application/zip", "zip"),
];

impl Kind {
    /// The kind whose MIME type is `mime` and whose extension `name` ends
    /// in (any case); `None` if there is none.
    pub(crate) fn for_attachment(mime: &str, name: &str) -> Option<Self> {
        let ext = name.rsplit_once('.')?.1;
        KINDS
            .iter()
            .find(|(_, m, e)| *m == mime && ext.eq_ignore_ascii_case(e))
            .map(|(k, _, _)| *k)
    }
}

/// Image widths drawn (inclusive); the step between possible lengths.
const MIN_WIDTH: u32 = 150;
const MAX_WIDTH: u32 = 260;

/// Bytes the target length may exceed the minimum by, at least: more than
/// the widest image row, so the result never falls below the minimum.
const TARGET_MARGIN: usize = 512;

/// Longest PDF tail (everything after the image object) accepted.
const MAX_PDF_TAIL: usize = 1024;

/// ZIP bytes around the entry's data, without the two copies of its name.
const ZIP_FIXED: usize = 30 + 46 + 22;

/// More than the PDF's bytes besides the image samples (head and tail; a
/// unit test checks it).
const PDF_OVERHEAD_BOUND: usize = 1000;

/// Offset of `1 0 obj`: after `%PDF-1.x\n%` and four bytes and `\n`.
const PDF_FIRST_OBJ: usize = 15;

// The largest packet, with a full image row, the PDF and ZIP overhead and
// the longest entry name, always fits under the smallest target: the image
// height is then never clamped, and the length lands in
// (target - width, target].
const _: () = assert!(
    MAX_PACKET_LEN + MAX_WIDTH as usize + PDF_OVERHEAD_BOUND + ZIP_FIXED + 2 * 40
        <= MIN_ATTACHMENT_BYTES + TARGET_MARGIN
);

/// Builds the attachment: a `kind` file carrying `packet`, of a random
/// length in `MIN_ATTACHMENT_BYTES..=MAX_ATTACHMENT_BYTES` (independent of
/// the packet's length). `file_name` is the attachment's name (a ZIP entry
/// is named after it), `when` the file's modification time.
pub(crate) fn build<R: RngCore + ?Sized>(
    kind: Kind,
    packet: &[u8],
    file_name: &str,
    when: &LocalTime,
    rng: &mut R,
) -> Vec<u8> {
    let span = (MAX_ATTACHMENT_BYTES - MIN_ATTACHMENT_BYTES - TARGET_MARGIN) as u32;
    let target = MIN_ATTACHMENT_BYTES + TARGET_MARGIN + uniform(rng, span + 1) as usize;
    match kind {
        Kind::Pdf => pdf(packet, target, when, rng),
        Kind::Zip => {
            let stem = file_name.rsplit_once('.').map_or(file_name, |(s, _)| s);
            let inner_name = format!("{stem}.pdf");
            let inner_target = target.saturating_sub(ZIP_FIXED + 2 * inner_name.len());
            let inner = pdf(packet, inner_target, when, rng);
            zip(&inner_name, &inner, when)
        }
    }
}

/// `%PDF-` date: `D:YYYYMMDDHHmmSS+HH'mm'`.
fn pdf_date(t: &LocalTime) -> String {
    let off = i32::from(t.offset_minutes);
    let sign = if off < 0 { '-' } else { '+' };
    let off = off.abs();
    format!(
        "D:{:04}{:02}{:02}{:02}{:02}{:02}{sign}{:02}'{:02}'",
        t.year,
        t.month,
        t.day,
        t.hour,
        t.minute,
        t.second,
        off / 60,
        off % 60
    )
}

/// `%PDF-1.` then a version digit in `PDF_MINOR`, then `\n%`, four random
/// bytes of 0x80..=0xFF (the customary "binary file" comment), `\n`.
const PDF_MAGIC: &[u8] = b"%PDF-1.";
const PDF_MINOR: std::ops::RangeInclusive<u8> = b'4'..=b'7';
/// After the binary comment: the first object up to the image width.
const PDF_OBJ1: &[u8] = b"1 0 obj\n<</Type/XObject/Subtype/Image/Width ";
const PDF_HEIGHT: &[u8] = b"/Height ";
const PDF_LENGTH: &[u8] = b"/ColorSpace/DeviceGray/BitsPerComponent 8/Length ";
const PDF_STREAM: &[u8] = b">>\nstream\n";
const PDF_END_IMAGE: &[u8] = b"\nendstream\nendobj\n";
const PDF_EOF: &[u8] = b"\n%%EOF\n";

/// The PDF head (up to the image samples) for a `w` × `h` image; `start`
/// is the version digit and binary comment line ([`PDF_FIRST_OBJ`] bytes).
fn pdf_head(start: &[u8; PDF_FIRST_OBJ], w: usize, h: usize) -> Vec<u8> {
    let mut v = start.to_vec();
    v.extend_from_slice(PDF_OBJ1);
    v.extend_from_slice(w.to_string().as_bytes());
    v.extend_from_slice(PDF_HEIGHT);
    v.extend_from_slice(h.to_string().as_bytes());
    v.extend_from_slice(PDF_LENGTH);
    v.extend_from_slice((w * h).to_string().as_bytes());
    v.extend_from_slice(PDF_STREAM);
    v
}

/// Everything after the image samples; `start` is their offset.
fn pdf_tail(w: usize, h: usize, start: usize, id: &str, date: &str) -> Vec<u8> {
    let page_h = (595 * h + w / 2) / w;
    let mut offsets = Vec::with_capacity(6);
    offsets.push(PDF_FIRST_OBJ);
    let base = start + w * h;
    let mut t = String::from_utf8_lossy(PDF_END_IMAGE).into_owned();
    let content = format!("q\n595 0 0 {page_h} 0 0 cm\n/Im0 Do\nQ\n");
    let objects = [
        "2 0 obj\n<</Type/Catalog/Pages 3 0 R>>\nendobj\n".to_string(),
        "3 0 obj\n<</Type/Pages/Kids[4 0 R]/Count 1>>\nendobj\n".to_string(),
        format!(
            "4 0 obj\n<</Type/Page/Parent 3 0 R/MediaBox[0 0 595 {page_h}]\
             /Resources<</XObject<</Im0 1 0 R>>>>/Contents 5 0 R>>\nendobj\n"
        ),
        format!(
            "5 0 obj\n<</Length {}>>\nstream\n{content}endstream\nendobj\n",
            content.len()
        ),
        format!("6 0 obj\n<</CreationDate({date})/ModDate({date})>>\nendobj\n"),
    ];
    for o in &objects {
        offsets.push(base + t.len());
        t.push_str(o);
    }
    let xref = base + t.len();
    t.push_str("xref\n0 7\n0000000000 65535 f \n");
    for o in offsets {
        t.push_str(&format!("{o:010} 00000 n \n"));
    }
    t.push_str(&format!(
        "trailer\n<</Size 7/Root 2 0 R/Info 6 0 R/ID[<{id}><{id}>]>>\nstartxref\n{xref}"
    ));
    let mut v = t.into_bytes();
    v.extend_from_slice(PDF_EOF);
    v
}

/// A one-page PDF showing a grey `W` × `H` image whose samples are `packet`
/// followed by random bytes, as close to `target` bytes as the image rows
/// allow (never more, unless the packet alone needs more).
fn pdf<R: RngCore + ?Sized>(
    packet: &[u8],
    target: usize,
    when: &LocalTime,
    rng: &mut R,
) -> Vec<u8> {
    let w = (MIN_WIDTH + uniform(rng, MAX_WIDTH - MIN_WIDTH + 1)) as usize;
    let mut start = [0u8; PDF_FIRST_OBJ];
    let (magic, rest) = start.split_at_mut(PDF_MAGIC.len());
    magic.copy_from_slice(PDF_MAGIC);
    let minor =
        PDF_MINOR.start() + uniform(rng, u32::from(PDF_MINOR.end() - PDF_MINOR.start()) + 1) as u8;
    let mut comment = [0u8; 4];
    rng.fill_bytes(&mut comment);
    let [a, b, c, d] = comment.map(|x| x | 0x80);
    rest.copy_from_slice(&[minor, b'\n', b'%', a, b, c, d, b'\n']);
    let mut idb = [0u8; 16];
    rng.fill_bytes(&mut idb);
    let id: String = idb.iter().map(|b| format!("{b:02X}")).collect();
    let date = pdf_date(when);
    let total = |h: usize| {
        let head = pdf_head(&start, w, h).len();
        head + w * h + pdf_tail(w, h, head, &id, &date).len()
    };
    let h_min = packet.len().div_ceil(w).max(1);
    let mut h = (target / w).max(h_min);
    while h > h_min && total(h) > target {
        h -= 1;
    }
    while total(h + 1) <= target {
        h += 1;
    }
    let mut out = pdf_head(&start, w, h);
    let samples = out.len();
    out.extend_from_slice(packet);
    let mut pad = vec![0u8; w * h - packet.len()];
    rng.fill_bytes(&mut pad);
    out.extend_from_slice(&pad);
    out.extend_from_slice(&pdf_tail(w, h, samples, &id, &date));
    out
}

/// DOS time and date of `t` (clamped to 1980..=2107, 2-second steps).
fn dos_time(t: &LocalTime) -> (u16, u16) {
    if t.year < 1980 {
        return (0, (1 << 5) | 1);
    }
    let year = (t.year.min(2107) - 1980) as u16;
    let time = ((t.hour as u16) << 11) | ((t.minute as u16) << 5) | (t.second as u16 / 2);
    let date = (year << 9) | ((t.month as u16) << 5) | t.day as u16;
    (time, date)
}

/// A ZIP archive holding `data` as its one STORED entry `name`.
fn zip(name: &str, data: &[u8], when: &LocalTime) -> Vec<u8> {
    let crc = crc32fast::hash(data);
    let (time, date) = dos_time(when);
    // Sizes are below MAX_ATTACHMENT_BYTES and names below 64 bytes.
    let size = data.len() as u32;
    let name_len = name.len() as u16;
    let mut v = Vec::with_capacity(ZIP_FIXED + 2 * name.len() + data.len());
    let le16 = |v: &mut Vec<u8>, x: u16| v.extend_from_slice(&x.to_le_bytes());
    let le32 = |v: &mut Vec<u8>, x: u32| v.extend_from_slice(&x.to_le_bytes());
    // Local file header.
    le32(&mut v, 0x0403_4b50);
    le16(&mut v, 10); // version needed: 1.0 (stored)
    le16(&mut v, 0); // flags
    le16(&mut v, 0); // method: stored
    le16(&mut v, time);
    le16(&mut v, date);
    le32(&mut v, crc);
    le32(&mut v, size);
    le32(&mut v, size);
    le16(&mut v, name_len);
    le16(&mut v, 0); // extra field length
    v.extend_from_slice(name.as_bytes());
    v.extend_from_slice(data);
    // Central directory.
    let cd_offset = v.len() as u32;
    le32(&mut v, 0x0201_4b50);
    le16(&mut v, 20); // made by: MS-DOS/FAT, 2.0
    le16(&mut v, 10);
    le16(&mut v, 0);
    le16(&mut v, 0);
    le16(&mut v, time);
    le16(&mut v, date);
    le32(&mut v, crc);
    le32(&mut v, size);
    le32(&mut v, size);
    le16(&mut v, name_len);
    le16(&mut v, 0); // extra
    le16(&mut v, 0); // comment
    le16(&mut v, 0); // disk number start
    le16(&mut v, 0); // internal attributes
    le32(&mut v, 0x20); // external attributes: archive
    le32(&mut v, 0); // local header offset
    v.extend_from_slice(name.as_bytes());
    let cd_size = v.len() as u32 - cd_offset;
    // End of central directory.
    le32(&mut v, 0x0605_4b50);
    le16(&mut v, 0);
    le16(&mut v, 0);
    le16(&mut v, 1);
    le16(&mut v, 1);
    le32(&mut v, cd_size);
    le32(&mut v, cd_offset);
    le16(&mut v, 0); // comment length
    v
}

/// Returns the packet (the first `packet_len` content bytes) carried by
/// `attachment`, a decoded attachment, if it is a carrier container: a PDF
/// or ZIP file laid out exactly as this crate writes them (see the crate
/// documentation), of a length in
/// [`MIN_ATTACHMENT_BYTES`](crate::MIN_ATTACHMENT_BYTES)..=[`MAX_ATTACHMENT_BYTES`](crate::MAX_ATTACHMENT_BYTES).
///
/// Strict and cheap: only the fixed structure, the lengths and the offsets
/// are checked (a few hundred bytes are looked at). The ZIP CRC-32 is not
/// checked: the packet authenticates itself, and a damaged packet is better
/// reported by the node as "did not authenticate" than silently ignored.
/// Never panics.
pub fn open_container(attachment: &[u8], packet_len: usize) -> Result<&[u8], ContainerError> {
    if packet_len == 0 || packet_len > MAX_PACKET_LEN {
        return Err(ContainerError::InvalidPacketLength {
            len: packet_len,
            max: MAX_PACKET_LEN,
        });
    }
    let len = attachment.len();
    if !(MIN_ATTACHMENT_BYTES..=MAX_ATTACHMENT_BYTES).contains(&len) {
        return Err(ContainerError::Size {
            len,
            min: MIN_ATTACHMENT_BYTES,
            max: MAX_ATTACHMENT_BYTES,
        });
    }
    let content = if attachment.starts_with(b"%PDF-") {
        open_pdf(attachment)?
    } else if attachment.starts_with(b"PK\x03\x04") {
        open_pdf(open_zip(attachment)?)?
    } else {
        return Err(ContainerError::UnknownFormat);
    };
    content.get(..packet_len).ok_or(ContainerError::TooShort {
        available: content.len(),
        packet_len,
    })
}

/// A cursor over a byte slice; every read is checked.
struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
    format: &'static str,
}

impl<'a> Cursor<'a> {
    fn err(&self, reason: &'static str) -> ContainerError {
        ContainerError::Malformed {
            format: self.format,
            reason,
        }
    }

    fn expect(&mut self, lit: &[u8], reason: &'static str) -> Result<(), ContainerError> {
        let end = self.pos.checked_add(lit.len()).ok_or(self.err(reason))?;
        if self.bytes.get(self.pos..end) != Some(lit) {
            return Err(self.err(reason));
        }
        self.pos = end;
        Ok(())
    }

    /// A decimal number of 1..=`max_digits` digits, no leading zero.
    fn decimal(
        &mut self,
        max_digits: usize,
        reason: &'static str,
    ) -> Result<usize, ContainerError> {
        let rest = self.bytes.get(self.pos..).unwrap_or_default();
        let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        if digits == 0 || digits > max_digits || rest.first() == Some(&b'0') {
            return Err(self.err(reason));
        }
        let mut n = 0usize;
        for &d in rest.get(..digits).unwrap_or_default() {
            n = n * 10 + usize::from(d - b'0');
        }
        self.pos += digits;
        Ok(n)
    }

    fn take(&mut self, n: usize, reason: &'static str) -> Result<&'a [u8], ContainerError> {
        let end = self.pos.checked_add(n).ok_or(self.err(reason))?;
        let s = self.bytes.get(self.pos..end).ok_or(self.err(reason))?;
        self.pos = end;
        Ok(s)
    }
}

/// The image samples of a carrier PDF.
fn open_pdf(pdf: &[u8]) -> Result<&[u8], ContainerError> {
    let mut c = Cursor {
        bytes: pdf,
        pos: 0,
        format: "PDF",
    };
    c.expect(PDF_MAGIC, "unexpected header")?;
    let head = c.take(PDF_FIRST_OBJ - PDF_MAGIC.len(), "truncated header")?;
    let ok = matches!(head, [v, b'\n', b'%', p, q, r, s, b'\n']
        if PDF_MINOR.contains(v) && [p, q, r, s].iter().all(|x| **x >= 0x80));
    if !ok {
        return Err(c.err("unexpected header"));
    }
    c.expect(PDF_OBJ1, "unexpected first object")?;
    let w = c.decimal(4, "bad image width")?;
    c.expect(PDF_HEIGHT, "unexpected image dictionary")?;
    let h = c.decimal(4, "bad image height")?;
    c.expect(PDF_LENGTH, "unexpected image dictionary")?;
    let n = c.decimal(6, "bad stream length")?;
    c.expect(PDF_STREAM, "unexpected image dictionary")?;
    if w.checked_mul(h) != Some(n) {
        return Err(c.err("stream length is not width x height"));
    }
    let samples = c.take(n, "truncated image stream")?;
    c.expect(
        PDF_END_IMAGE,
        "image stream does not end where its length says",
    )?;
    let tail_start = c.pos;
    let tail = pdf.get(tail_start..).unwrap_or_default();
    if tail.len() > MAX_PDF_TAIL || !tail.is_ascii() {
        return Err(c.err("unexpected data after the image"));
    }
    let body = tail
        .strip_suffix(PDF_EOF)
        .ok_or(c.err("does not end in %%EOF"))?;
    let at = body
        .windows(b"startxref\n".len())
        .rposition(|w| w == b"startxref\n")
        .ok_or(c.err("no startxref"))?;
    let mut x = Cursor {
        bytes: body,
        pos: at + b"startxref\n".len(),
        format: "PDF",
    };
    let xref = x.decimal(6, "bad startxref")?;
    if x.pos != body.len()
        || xref < tail_start
        || pdf.get(xref..xref.saturating_add(5)) != Some(b"xref\n".as_slice())
    {
        return Err(c.err("startxref does not point to the xref table"));
    }
    Ok(samples)
}

fn le16(b: &[u8], at: usize) -> Option<usize> {
    let s = b.get(at..at.checked_add(2)?)?;
    Some(usize::from(u16::from_le_bytes([*s.first()?, *s.get(1)?])))
}

fn le32(b: &[u8], at: usize) -> Option<u32> {
    let s: [u8; 4] = b.get(at..at.checked_add(4)?)?.try_into().ok()?;
    Some(u32::from_le_bytes(s))
}

/// The data of the one STORED entry of a carrier ZIP.
fn open_zip(zip: &[u8]) -> Result<&[u8], ContainerError> {
    let bad = |reason| ContainerError::Malformed {
        format: "ZIP",
        reason,
    };
    let len = zip.len();
    let eocd = len.checked_sub(22).ok_or(bad("too short"))?;
    let f16 = |at: usize| le16(zip, at).ok_or(bad("truncated"));
    let f32 = |at: usize| le32(zip, at).ok_or(bad("truncated"));
    if f32(eocd)? != 0x0605_4b50 || f16(eocd + 20)? != 0 {
        return Err(bad("no end record without comment at the end"));
    }
    if f16(eocd + 4)? != 0 || f16(eocd + 6)? != 0 || f16(eocd + 8)? != 1 || f16(eocd + 10)? != 1 {
        return Err(bad("not a single-entry, single-disk archive"));
    }
    let cd_size = f32(eocd + 12)? as usize;
    let cd = f32(eocd + 16)? as usize;
    if cd.checked_add(cd_size) != Some(eocd) {
        return Err(bad("central directory does not end at the end record"));
    }
    if f32(cd)? != 0x0201_4b50 {
        return Err(bad("no central directory header"));
    }
    let name_len = f16(cd + 28)?;
    if cd_size != 46 + name_len
        || f16(cd + 8)? != 0
        || f16(cd + 10)? != 0
        || f16(cd + 30)? != 0
        || f16(cd + 32)? != 0
        || f16(cd + 34)? != 0
        || f32(cd + 42)? != 0
    {
        return Err(bad("unexpected central directory entry"));
    }
    let (crc, size) = (f32(cd + 16)?, f32(cd + 20)?);
    if f32(cd + 24)? != size {
        return Err(bad("entry is not stored"));
    }
    if f16(cd + 6)? != 10
        || f32(0)? != 0x0403_4b50
        || f16(4)? != 10
        || f16(6)? != 0
        || f16(8)? != 0
        || f16(10)? != f16(cd + 12)?
        || f16(12)? != f16(cd + 14)?
        || f32(14)? != crc
        || f32(18)? != size
        || f32(22)? != size
        || f16(26)? != name_len
        || f16(28)? != 0
    {
        return Err(bad("local header does not match the central directory"));
    }
    let start = 30 + name_len;
    if zip.get(30..start) != zip.get(cd + 46..cd + 46 + name_len) {
        return Err(bad("entry names differ"));
    }
    if start.checked_add(size as usize) != Some(cd) {
        return Err(bad("entry data does not end at the central directory"));
    }
    zip.get(start..cd).ok_or(bad("truncated"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    fn when() -> LocalTime {
        LocalTime {
            year: 2024,
            month: 6,
            day: 7,
            weekday: 5,
            hour: 14,
            minute: 3,
            second: 22,
            offset_minutes: -150,
        }
    }

    #[test]
    fn pdf_overhead_and_first_object_are_as_documented() {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        for seed in 0..50 {
            let packet = vec![seed as u8; MAX_PACKET_LEN - seed];
            let pdf = pdf(
                &packet,
                MIN_ATTACHMENT_BYTES + TARGET_MARGIN,
                &when(),
                &mut rng,
            );
            assert_eq!(
                pdf.get(PDF_FIRST_OBJ..PDF_FIRST_OBJ + 8),
                Some(&b"1 0 obj\n"[..])
            );
            let samples = open_pdf(&pdf).unwrap_or_default();
            assert!(pdf.len() - samples.len() < PDF_OVERHEAD_BOUND);
            assert_eq!(samples.get(..packet.len()), Some(&packet[..]));
            assert!(pdf.len() <= MIN_ATTACHMENT_BYTES + TARGET_MARGIN);
        }
    }

    #[test]
    fn lengths_stay_in_range_for_any_packet_length() {
        let mut rng = ChaCha20Rng::seed_from_u64(2);
        for len in [1, 2, 1000, 34_097, MAX_PACKET_LEN] {
            for kind in [Kind::Pdf, Kind::Zip] {
                for _ in 0..20 {
                    let packet = vec![1u8; len];
                    let name = "a_file_name_of_31_characters.zip";
                    let b = build(kind, &packet, name, &when(), &mut rng);
                    assert!(
                        (MIN_ATTACHMENT_BYTES..=MAX_ATTACHMENT_BYTES).contains(&b.len()),
                        "{kind:?} {len}: {}",
                        b.len()
                    );
                    assert_eq!(open_container(&b, len).ok(), Some(&packet[..]));
                }
            }
        }
    }

    #[test]
    fn dates() {
        assert_eq!(pdf_date(&when()), "D:20240607140322-02'30'");
        let (t, d) = dos_time(&when());
        assert_eq!(t, (14 << 11) | (3 << 5) | 11);
        assert_eq!(d, (44 << 9) | (6 << 5) | 7);
        let old = LocalTime {
            year: 1975,
            ..when()
        };
        assert_eq!(dos_time(&old), (0, (1 << 5) | 1));
        assert_eq!(
            Kind::for_attachment("application/zip", "x.ZIP"),
            Some(Kind::Zip)
        );
        assert_eq!(Kind::for_attachment("application/pdf", "x.zip"), None);
    }
}
