#![no_main]
//! Fuzz target `round_trip`: see `mailvortex_proto_fuzz::round_trip`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| mailvortex_proto_fuzz::round_trip(data));
