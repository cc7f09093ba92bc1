#![no_main]
//! Fuzz target `descriptor`: see `mailvortex_proto_fuzz::descriptor`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| mailvortex_proto_fuzz::descriptor(data));
