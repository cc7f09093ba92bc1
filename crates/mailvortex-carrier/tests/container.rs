//! The attachment is a real file of its declared type: checked with the real
//! `file` (libmagic), `unzip -t` and `qpdf --check`/`pdfinfo`; its length
//! spreads over several KiB; the packet comes back exactly; damaged
//! containers are typed errors.
//!
//! The external tools are only run when installed (`scripts/install-deps.sh
//! test` installs them); otherwise those checks are skipped with a message.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use mail_parser::{MessageParser, MimeHeaders};
use mailvortex_carrier::{
    CarrierParams, CarrierTemplates, ContainerError, MAX_ATTACHMENT_BYTES, MAX_PACKET_LEN,
    MIN_ATTACHMENT_BYTES, MailDate, build_carrier, extract_packets, open_container,
};
use proptest::prelude::*;
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::{RngCore, SeedableRng};

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// The real packet length (mailvortex-proto's `PACKET_LEN`).
const PACKET_LEN: usize = 34_097;

struct Carrier {
    mime: String,
    name: String,
    bytes: Vec<u8>,
    packet: Vec<u8>,
}

fn carrier(seed: u64, packet_len: usize) -> Result<Carrier, Box<dyn std::error::Error>> {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let mut packet = vec![0u8; packet_len];
    rng.fill_bytes(&mut packet);
    packet[0] = 0x01; // the version byte, as in every real packet
    let mail = build_carrier(
        &CarrierParams {
            from: "alice@example.org",
            from_name: None,
            to: "bob@example.net",
            to_name: None,
            date: MailDate {
                unix_seconds: 1_717_761_802 + seed as i64 * 3571,
                utc_offset_minutes: 120,
            },
            packet: &packet,
        },
        &CarrierTemplates::default(),
        &mut rng,
    )?;
    assert_eq!(extract_packets(&mail, packet_len)?, vec![packet.clone()]);
    let msg = MessageParser::new().parse(&mail).ok_or("unparsable")?;
    let att = msg.attachment(0).ok_or("no attachment")?;
    let ct = att.content_type().ok_or("no content type")?;
    Ok(Carrier {
        mime: format!("{}/{}", ct.ctype(), ct.subtype().ok_or("no subtype")?),
        name: att.attachment_name().ok_or("no name")?.to_string(),
        bytes: att.contents().to_vec(),
        packet,
    })
}

/// Whether `tool` can be run; prints why a check is skipped if not. With
/// `MAILVORTEX_REQUIRE_TOOLS` set (test.sh, after installing them) a missing tool fails.
fn have(tool: &str, version_arg: &str) -> bool {
    let ok = Command::new(tool)
        .arg(version_arg)
        .output()
        .is_ok_and(|o| o.status.success() || !o.stdout.is_empty() || !o.stderr.is_empty());
    assert!(
        ok || std::env::var_os("MAILVORTEX_REQUIRE_TOOLS").is_none(),
        "`{tool}` is not installed and MAILVORTEX_REQUIRE_TOOLS is set (scripts/install-deps.sh test)"
    );
    if !ok {
        eprintln!(
            "SKIPPED: `{tool}` is not installed, its checks are skipped \
             (scripts/install-deps.sh test installs it)"
        );
    }
    ok
}

/// A fresh directory for this test's files.
fn scratch(name: &str) -> Result<PathBuf, std::io::Error> {
    let dir =
        std::env::temp_dir().join(format!("mailvortex-carrier-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

fn run(cmd: &mut Command) -> Result<(bool, String), std::io::Error> {
    let o = cmd.output()?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    Ok((o.status.success(), text))
}

fn qpdf_check(path: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let (ok, out) = run(Command::new("qpdf").arg("--check").arg(path))?;
    // qpdf exits 0 without warnings, 3 with warnings: demand a clean pass.
    if !ok || out.contains("WARNING") || !out.contains("No syntax or stream encoding errors") {
        return Err(format!("qpdf --check {}: {out}", path.display()).into());
    }
    Ok(())
}

#[test]
fn attachments_are_valid_files_of_their_declared_type() -> TestResult {
    let dir = scratch("types")?;
    let mut files = Vec::new();
    let mut seen = BTreeMap::<String, usize>::new();
    for seed in 0..200 {
        let c = carrier(seed, PACKET_LEN)?;
        // The extension fits the declared type.
        let ext = c.name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
        let want_ext = match c.mime.as_str() {
            "application/pdf" => "pdf",
            "application/zip" => "zip",
            other => return Err(format!("unexpected type {other}").into()),
        };
        assert_eq!(ext.as_deref(), Some(want_ext), "{}", c.name);
        // The magic bytes fit it too, and the packet's version byte is not
        // the first byte.
        let magic: &[u8] = if want_ext == "pdf" {
            b"%PDF-1."
        } else {
            b"PK\x03\x04"
        };
        assert!(c.bytes.starts_with(magic), "{} {:?}", c.name, &c.bytes[..8]);
        *seen.entry(c.mime.clone()).or_default() += 1;
        let path = dir.join(format!("{seed:03}_{}", c.name.replace(' ', "_")));
        std::fs::write(&path, &c.bytes)?;
        files.push((path, c.mime));
    }
    println!("declared types: {seen:?}");
    assert_eq!(seen.len(), 2, "{seen:?}");

    if have("file", "--version") {
        let mut cmd = Command::new("file");
        cmd.arg("--brief").arg("--mime-type");
        cmd.args(files.iter().map(|(p, _)| p));
        let (ok, out) = run(&mut cmd)?;
        assert!(ok, "{out}");
        let got: Vec<&str> = out.lines().collect();
        assert_eq!(got.len(), files.len(), "{out}");
        let mut results = BTreeMap::<(String, String), usize>::new();
        for ((path, mime), g) in files.iter().zip(&got) {
            *results.entry((mime.clone(), g.to_string())).or_default() += 1;
            assert_eq!(g, mime, "file says {g} for {}", path.display());
        }
        println!("declared -> `file --mime-type`: {results:?}");
        // The human-readable description, for the record.
        for (path, _) in files.iter().take(2) {
            let (_, out) = run(Command::new("file").arg("--brief").arg(path))?;
            println!("file {}: {}", path.display(), out.trim());
        }
    }
    let zips: Vec<&PathBuf> = files
        .iter()
        .filter(|(_, m)| m == "application/zip")
        .map(|(p, _)| p)
        .collect();
    let pdfs: Vec<&PathBuf> = files
        .iter()
        .filter(|(_, m)| m == "application/pdf")
        .map(|(p, _)| p)
        .collect();
    if have("unzip", "-v") {
        for z in zips.iter().take(40) {
            let (ok, out) = run(Command::new("unzip").arg("-t").arg(z))?;
            assert!(
                ok && out.contains("No errors detected"),
                "unzip -t {}: {out}",
                z.display()
            );
        }
        // The entry is itself a valid PDF.
        if have("qpdf", "--version") {
            for (i, z) in zips.iter().take(10).enumerate() {
                let out = Command::new("unzip").arg("-p").arg(z).output()?;
                assert!(out.stdout.starts_with(b"%PDF-1."));
                let inner = dir.join(format!("inner_{i}.pdf"));
                std::fs::write(&inner, &out.stdout)?;
                qpdf_check(&inner)?;
            }
        }
    }
    if have("qpdf", "--version") {
        for p in pdfs.iter().take(40) {
            qpdf_check(p)?;
        }
    }
    if have("pdfinfo", "-v") {
        for p in pdfs.iter().take(10) {
            let (ok, out) = run(Command::new("pdfinfo").arg(p))?;
            let pages = out
                .lines()
                .find_map(|l| l.strip_prefix("Pages:"))
                .map(str::trim);
            assert!(ok && pages == Some("1"), "pdfinfo {}: {out}", p.display());
            assert!(!out.to_ascii_lowercase().contains("error"), "{out}");
        }
        // poppler renders the page without complaint.
        if have("pdftoppm", "-v") {
            for p in pdfs.iter().take(3) {
                let o = Command::new("pdftoppm")
                    .args(["-r", "10", "-gray"])
                    .arg(p)
                    .arg(dir.join("render"))
                    .output()?;
                assert!(
                    o.status.success() && o.stderr.is_empty(),
                    "pdftoppm {}: {}",
                    p.display(),
                    String::from_utf8_lossy(&o.stderr)
                );
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

#[test]
fn lengths_spread_over_several_kib() -> TestResult {
    const N: usize = 500;
    let mut lengths = Vec::with_capacity(N);
    let mut by_type = BTreeMap::<String, (usize, usize)>::new();
    for seed in 0..N as u64 {
        let c = carrier(10_000 + seed, PACKET_LEN)?;
        let len = c.bytes.len();
        assert!(
            (MIN_ATTACHMENT_BYTES..=MAX_ATTACHMENT_BYTES).contains(&len),
            "{len}"
        );
        let e = by_type.entry(c.mime).or_insert((usize::MAX, 0));
        *e = (e.0.min(len), e.1.max(len));
        lengths.push(len);
    }
    let mut exact = BTreeMap::<usize, usize>::new();
    let mut hist = BTreeMap::<usize, usize>::new();
    for &l in &lengths {
        *exact.entry(l).or_default() += 1;
        *hist.entry(l / 512 * 512).or_default() += 1;
    }
    println!("decoded attachment lengths of {N} carriers, 512-byte buckets:");
    for (b, n) in &hist {
        println!("{b:6}..{:6} {n:4} {}", b + 511, "#".repeat(*n));
    }
    let (min, max) = (lengths.iter().min(), lengths.iter().max());
    let most = exact.values().max().copied().unwrap_or(0);
    println!(
        "min {min:?}, max {max:?}, {} distinct lengths, most frequent length {most}x, per type (min, max) {by_type:?}",
        exact.len()
    );
    assert!(most * 100 <= N * 5, "one length in {most} of {N} carriers");
    assert!(most <= 3, "one length in {most} of {N} carriers");
    let spread = max.zip(min).map_or(0, |(a, b)| a - b);
    assert!(spread >= 10 * 1024, "spread only {spread} bytes");
    assert!(hist.len() >= 20, "only {} buckets used", hist.len());
    // No 512-byte bucket holds more than three times its fair share.
    let fair = N / hist.len();
    assert!(hist.values().all(|&n| n <= 3 * fair + 5), "{hist:?}");
    // Both types cover the range.
    for (t, (lo, hi)) in &by_type {
        assert!(hi - lo >= 8 * 1024, "{t}: {lo}..{hi}");
    }
    Ok(())
}

#[test]
fn packet_comes_back_exactly_at_any_length() -> TestResult {
    for (seed, len) in [
        (1, 1),
        (2, 100),
        (3, PACKET_LEN),
        (4, MAX_PACKET_LEN),
        (5, 20_000),
    ] {
        for s in 0..6 {
            let c = carrier(seed * 100 + s, len)?;
            assert_eq!(open_container(&c.bytes, len)?, &c.packet[..]);
            // The packet starts early (the e2e tamper test changes bytes 300..305).
            let at = c
                .bytes
                .windows(c.packet.len().min(64))
                .position(|w| w == &c.packet[..c.packet.len().min(64)]);
            assert!(at.is_some_and(|a| a < 200), "packet at {at:?}");
            // A shorter packet length is a prefix; a longer one may be
            // padding, but never more than the container holds.
            assert_eq!(open_container(&c.bytes, 1)?, &c.packet[..1]);
        }
    }
    Ok(())
}

#[test]
fn damaged_containers_are_typed_errors() -> TestResult {
    for seed in 0..12 {
        let c = carrier(500 + seed, PACKET_LEN)?;
        let b = &c.bytes;
        let at = b
            .windows(32)
            .position(|w| w == &c.packet[..32])
            .ok_or("packet not found")?;
        // Every byte before the packet is checked: any change is refused,
        // except within the PDF version digit (4..=7) and the binary
        // comment (any bytes >= 0x80), which are random by design.
        let pdf = if b.starts_with(b"PK") {
            30 + usize::from(u16::from_le_bytes([b[26], b[27]]))
        } else {
            0
        };
        for i in 0..at {
            for x in [0x01u8, 0x80] {
                let mut m = b.clone();
                m[i] ^= x;
                let r = open_container(&m, PACKET_LEN);
                if x == 0x01 && (i == pdf + 7 || (pdf + 10..pdf + 14).contains(&i)) {
                    assert_eq!(r?, &c.packet[..]);
                    continue;
                }
                assert!(
                    matches!(
                        r,
                        Err(ContainerError::Malformed { .. } | ContainerError::UnknownFormat)
                    ),
                    "{}: byte {i} ^ {x:#x} accepted: {r:?}",
                    c.name
                );
            }
        }
        // Every truncation and every extension is refused.
        for cut in (1..b.len()).step_by(97).chain(b.len() - 30..b.len()) {
            let r = open_container(&b[..cut], PACKET_LEN);
            assert!(r.is_err(), "{}: cut at {cut} accepted", c.name);
        }
        for extra in [1usize, 2, 22, 1000] {
            let mut m = b.clone();
            m.extend(std::iter::repeat_n(0u8, extra));
            assert!(open_container(&m, PACKET_LEN).is_err(), "+{extra} accepted");
        }
        // The end structure (ZIP end record, PDF startxref/%%EOF) is checked.
        for back in 1..=22 {
            let mut m = b.clone();
            let i = m.len() - back;
            m[i] ^= 0x5a;
            assert!(
                open_container(&m, PACKET_LEN).is_err(),
                "{}: change {back} bytes before the end accepted",
                c.name
            );
        }
        // Bad packet lengths are typed errors.
        assert!(matches!(
            open_container(b, 0),
            Err(ContainerError::InvalidPacketLength { .. })
        ));
        assert!(matches!(
            open_container(b, MAX_PACKET_LEN + 1),
            Err(ContainerError::InvalidPacketLength { .. })
        ));
    }
    // Random bytes, and real-looking but foreign files, are not carriers.
    let mut rng = ChaCha20Rng::seed_from_u64(9);
    let mut noise = vec![0u8; 40_000];
    rng.fill_bytes(&mut noise);
    assert!(matches!(
        open_container(&noise, PACKET_LEN),
        Err(ContainerError::UnknownFormat)
    ));
    noise[..8].copy_from_slice(b"%PDF-1.5");
    assert!(matches!(
        open_container(&noise, PACKET_LEN),
        Err(ContainerError::Malformed { format: "PDF", .. })
    ));
    noise[..4].copy_from_slice(b"PK\x03\x04");
    assert!(matches!(
        open_container(&noise, PACKET_LEN),
        Err(ContainerError::Malformed { format: "ZIP", .. })
    ));
    assert!(matches!(
        open_container(&noise[..1000], PACKET_LEN),
        Err(ContainerError::Size { .. })
    ));
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, .. ProptestConfig::default() })]

    /// Arbitrary bytes of carrier size, with a PDF or ZIP start, never panic.
    #[test]
    fn arbitrary_containers_never_panic(
        start in 0usize..3,
        body in proptest::collection::vec(any::<u8>(), MIN_ATTACHMENT_BYTES - 10..MIN_ATTACHMENT_BYTES + 100),
        len in 0usize..=MAX_PACKET_LEN + 1,
    ) {
        let head: &[u8] = [b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n".as_slice(), b"PK\x03\x04", b""][start];
        let data = [head, &body].concat();
        let _ = open_container(&data, len);
    }

    /// Mutated real containers never panic, and what they return is bounded.
    #[test]
    fn mutated_containers_never_panic(
        seed in 0u64..40,
        edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..16),
        cut in any::<usize>(),
    ) {
        let c = carrier(seed, 2000).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let mut m = c.bytes;
        for (pos, byte) in edits {
            let i = pos % m.len();
            m[i] = byte;
        }
        m.truncate(m.len() - cut % 64);
        if let Ok(p) = open_container(&m, 2000) {
            prop_assert_eq!(p.len(), 2000);
        }
    }
}
