//! Decoding throughput: MB/s of uncompressed profile.proto decoded per second on one
//! core, gzip excluded, over the benchmark profiles.
//!
//! The profiles come from the benchmark generator (see BENCHMARKS.md); set
//! `PROFKIT_BENCH_DATA` to their folder (default `target/benchdata`).

use std::path::PathBuf;
use std::time::{Duration, Instant};

fn main() {
    let dir = std::env::var_os("PROFKIT_BENCH_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../target/benchdata"
            ))
        });
    let names = ["bench-s.pb.gz", "bench-m.pb.gz", "bench-l.pb.gz"];
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let mut ran = 0;
    for name in names {
        if !filter.is_empty() && !filter.iter().any(|f| name.contains(f.as_str())) {
            continue;
        }
        let path = dir.join(name);
        let Ok(gz) = std::fs::read(&path) else {
            eprintln!(
                "skipping {}: not found (generate the benchmark profiles first)",
                path.display()
            );
            continue;
        };
        let t = Instant::now();
        let raw = profile::gunzip(&gz, u64::MAX).expect("gunzip");
        let inflate = t.elapsed();
        let mut times = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(10);
        while times.len() < 3 || (Instant::now() < deadline && times.len() < 20) {
            let t = Instant::now();
            let p = profile::proto::decode(&raw).expect("decode");
            times.push(t.elapsed());
            std::hint::black_box(p.samples.len());
        }
        times.sort();
        let median = times[times.len() / 2];
        let mb = raw.len() as f64 / 1e6;
        println!(
            "decode {name}: {mb:.1} MB uncompressed, median {:.1} ms over {} runs = {:.0} MB/s (inflate alone: {:.1} ms)",
            median.as_secs_f64() * 1e3,
            times.len(),
            mb / median.as_secs_f64(),
            inflate.as_secs_f64() * 1e3
        );
        ran += 1;
    }
    if ran == 0 {
        eprintln!("no benchmark profiles found in {}", dir.display());
    }
}
