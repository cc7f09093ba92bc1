#![no_main]
//! Fuzz target `routing_slot`: see `mailvortex_proto_fuzz::routing_slot`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| mailvortex_proto_fuzz::routing_slot(data));
