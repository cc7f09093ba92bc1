#![no_main]
//! Fuzz target `envelope`: see `mailvortex_proto_fuzz::envelope`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| mailvortex_proto_fuzz::envelope(data));
