//! Every fuzz target on its seeds and on a few thousand cheap mutations of them, on the stable
//! toolchain (`cargo test` in this directory). Real fuzzing: docs/fuzzing.md.

use mailvortex_proto_fuzz::{TARGETS, seeds};

#[test]
fn seeds_pass_every_target() {
    for (name, f) in TARGETS {
        let s = seeds(name);
        assert!(!s.is_empty(), "{name} has no seeds");
        for input in &s {
            f(input);
        }
    }
}

#[test]
fn mutated_seeds_do_not_panic() {
    let mut state = 0x1234_5678_9abc_def0u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for (name, f) in TARGETS {
        // Packets cost a few key exchanges each: fewer rounds for the expensive targets.
        let rounds = match *name {
            "round_trip" | "routing_slot" | "open_packet" | "open_shard" => 60,
            _ => 2000,
        };
        let s = seeds(name);
        for i in 0..rounds {
            let mut input = s[i % s.len()].clone();
            for _ in 0..1 + next() % 4 {
                let r = next();
                match r % 4 {
                    0 if !input.is_empty() => {
                        let p = (r >> 8) as usize % input.len();
                        input[p] ^= 1 << ((r >> 40) % 8);
                    }
                    1 => input.truncate((r >> 8) as usize % (input.len() + 1)),
                    2 => input.push((r >> 8) as u8),
                    _ => {
                        if !input.is_empty() {
                            let p = (r >> 8) as usize % input.len();
                            input[p] = (r >> 32) as u8;
                        }
                    }
                }
            }
            f(&input);
        }
    }
}
