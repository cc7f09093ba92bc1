#![no_main]
//! Fuzz target `open_shard`: see `mailvortex_proto_fuzz::open_shard_target`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| mailvortex_proto_fuzz::open_shard_target(data));
