#![no_main]
//! Fuzz target `surb_secret`: see `mailvortex_proto_fuzz::surb_secret`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| mailvortex_proto_fuzz::surb_secret(data));
