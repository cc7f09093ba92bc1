#![no_main]
//! Fuzz target `receipt`: see `mailvortex_proto_fuzz::receipt`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| mailvortex_proto_fuzz::receipt(data));
