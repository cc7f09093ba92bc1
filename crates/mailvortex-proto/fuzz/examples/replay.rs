//! Runs the fuzz targets without libFuzzer, on the stable toolchain.
//!
//! ```text
//! cargo run --release --example replay -- seeds corpus           # write seed corpora
//! cargo run --release --example replay -- run TARGET FILE|DIR... # replay inputs (crashes, corpora)
//! cargo run --release --example replay -- mutate TARGET SECONDS [DIR]
//!     # random mutations of the seeds (and of DIR's files) for SECONDS, all targets if TARGET = all
//! ```
//! A failing input panics with its path (run) or is written to `artifacts/TARGET/` (mutate).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use mailvortex_proto_fuzz::{TARGETS, seeds};

fn target(name: &str) -> fn(&[u8]) {
    TARGETS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, f)| *f)
        .unwrap_or_else(|| panic!("unknown target {name}; known: {:?}", names()))
}

fn names() -> Vec<&'static str> {
    TARGETS.iter().map(|(n, _)| *n).collect()
}

fn files(p: &Path) -> Vec<PathBuf> {
    if p.is_dir() {
        let mut v: Vec<PathBuf> = std::fs::read_dir(p)
            .expect("read dir")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file())
            .collect();
        v.sort();
        v
    } else {
        vec![p.to_path_buf()]
    }
}

/// xorshift64*: a small deterministic generator for mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn mutate(r: &mut Rng, input: &mut Vec<u8>) {
    for _ in 0..=r.below(4) {
        match r.below(6) {
            0 if !input.is_empty() => {
                let i = r.below(input.len());
                input[i] ^= 1 << r.below(8);
            }
            1 if !input.is_empty() => {
                let i = r.below(input.len());
                input[i] = r.next() as u8;
            }
            2 => {
                let i = r.below(input.len() + 1);
                input.insert(i, r.next() as u8);
            }
            3 if !input.is_empty() => {
                let i = r.below(input.len());
                input.remove(i);
            }
            4 => {
                let n = r.below(input.len() + 1);
                input.truncate(n);
            }
            _ => {
                let n = r.below(64);
                input.extend((0..n).map(|_| r.next() as u8));
            }
        }
    }
}

fn run_mutations(name: &str, f: fn(&[u8]), secs: u64, extra: Option<&Path>) -> u64 {
    let mut pool = seeds(name);
    if let Some(dir) = extra.map(|d| d.join(name)).filter(|d| d.is_dir()) {
        pool.extend(files(&dir).iter().filter_map(|p| std::fs::read(p).ok()));
    }
    if pool.is_empty() {
        pool.push(Vec::new());
    }
    let mut r = Rng(0x9e37_79b9_7f4a_7c15 ^ name.len() as u64);
    let start = Instant::now();
    let mut runs = 0u64;
    while start.elapsed() < Duration::from_secs(secs) {
        let mut input = pool[r.below(pool.len())].clone();
        mutate(&mut r, &mut input);
        let result = std::panic::catch_unwind(|| f(&input));
        if result.is_err() {
            let dir = Path::new("artifacts").join(name);
            std::fs::create_dir_all(&dir).expect("artifacts dir");
            let path = dir.join(format!("crash-{runs}"));
            std::fs::write(&path, &input).expect("write crash");
            panic!("{name}: crash, input saved to {}", path.display());
        }
        runs += 1;
    }
    runs
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("seeds") => {
            let root = PathBuf::from(args.get(1).map_or("corpus", String::as_str));
            for name in names() {
                let dir = root.join(name);
                std::fs::create_dir_all(&dir).expect("corpus dir");
                for (i, s) in seeds(name).iter().enumerate() {
                    std::fs::write(dir.join(format!("seed-{i}")), s).expect("write seed");
                }
            }
            println!("seed corpora written under {}", root.display());
        }
        Some("run") => {
            let f = target(args.get(1).expect("target name"));
            let mut n = 0;
            for p in &args[2..] {
                for file in files(Path::new(p)) {
                    let data = std::fs::read(&file).expect("read input");
                    eprintln!("{}", file.display());
                    f(&data);
                    n += 1;
                }
            }
            println!("{n} inputs ran without a failure");
        }
        Some("mutate") => {
            let which = args.get(1).map_or("all", String::as_str);
            let secs: u64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(10);
            let extra = args.get(3).map(PathBuf::from);
            let list: Vec<&str> = if which == "all" { names() } else { vec![which] };
            for name in list {
                let runs = run_mutations(name, target(name), secs, extra.as_deref());
                println!("{name}: {runs} mutated inputs, no failure");
            }
        }
        _ => {
            eprintln!(
                "usage: replay seeds [DIR] | run TARGET FILE|DIR... | mutate TARGET|all SECONDS [CORPUS_DIR]\ntargets: {:?}",
                names()
            );
            std::process::exit(2);
        }
    }
}
