//! Feeds arbitrary bytes to `open_container` (the decoded attachment).
//! Properties: never panics; a packet returned has exactly the length asked
//! for and lies inside the input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mailvortex_carrier::open_container;

fuzz_target!(|data: &[u8]| {
    // The first two bytes choose the packet length (0 and too-large included);
    // the third picks a start (a PDF or ZIP signature, or none) so the fuzzer
    // gets past the magic check at once.
    let (len, start, rest) = match data {
        [a, b, s, rest @ ..] => (usize::from(u16::from_le_bytes([*a, *b])), *s, rest),
        _ => (34_097, 0, data),
    };
    let head: &[u8] = match start % 3 {
        0 => b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<</Type/XObject/Subtype/Image/Width ",
        1 => b"PK\x03\x04\x0a\x00\x00\x00\x00\x00",
        _ => b"",
    };
    let input = [head, rest].concat();
    if let Ok(packet) = open_container(&input, len) {
        assert_eq!(packet.len(), len);
        assert!(packet.len() <= input.len());
    }
});
