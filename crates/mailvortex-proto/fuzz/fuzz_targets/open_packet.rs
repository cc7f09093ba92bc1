#![no_main]
//! Fuzz target `open_packet`: see `mailvortex_proto_fuzz::open_packet`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| mailvortex_proto_fuzz::open_packet(data));
