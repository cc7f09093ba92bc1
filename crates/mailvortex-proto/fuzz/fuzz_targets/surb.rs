#![no_main]
//! Fuzz target `surb`: see `mailvortex_proto_fuzz::surb`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| mailvortex_proto_fuzz::surb(data));
