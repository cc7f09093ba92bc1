//! Feeds arbitrary bytes to `extract_packets` and `is_candidate`.
//! Properties: never panics; candidates are bounded in number and length;
//! `is_candidate == false` implies no candidates.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mailvortex_carrier::{MAX_CANDIDATES, extract_packets, is_candidate};

fuzz_target!(|data: &[u8]| {
    // The first two bytes choose the packet length (0 and too-large included).
    let (len, mail) = match data {
        [a, b, rest @ ..] => (usize::from(u16::from_le_bytes([*a, *b])), rest),
        _ => (34_000, data),
    };
    let candidate = is_candidate(mail);
    if let Ok(packets) = extract_packets(mail, len) {
        assert!(packets.len() <= MAX_CANDIDATES);
        assert!(packets.iter().all(|p| p.len() == len));
        assert!(candidate || packets.is_empty());
    }
});
