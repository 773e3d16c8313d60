//! Merging: the time to merge the 100 small CPU profiles of the benchmark set
//! (`cpu-001.pb.gz` to `cpu-100.pb.gz`), read beforehand, one after another into one
//! profile, as `profkit -proto cpu-*.pb.gz` merges them; reading and writing excluded.
//!
//! The profiles come from the benchmark generator (see BENCHMARKS.md); set
//! `PROFKIT_BENCH_DATA` to their folder (default `target/benchdata`).

use std::time::Duration;

mod support;
use support::{allocate_as_profkit_does, bench_data, median_of};

fn main() {
    allocate_as_profkit_does();
    let dir = bench_data();
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
                    name.starts_with("cpu-") && name.ends_with(".pb.gz")
                })
                .collect()
        })
        .unwrap_or_default();
    paths.sort();
    if paths.is_empty() {
        eprintln!(
            "no cpu-*.pb.gz profiles in {} (generate the benchmark profiles first)",
            dir.display()
        );
        return;
    }
    let profiles: Vec<profile::Profile> = paths
        .iter()
        .map(|p| {
            let gz = std::fs::read(p).expect("read");
            profile::parse(&gz).expect("decode")
        })
        .collect();
    let samples: usize = profiles.iter().map(|p| p.samples.len()).sum();
    let mut merged_samples = 0;
    let (wall, cpu) = median_of(|| {
        let mut merge = profile::merge::Merge::new(&profiles[0]);
        for p in &profiles {
            merge.add(p).expect("compatible");
        }
        let merged = merge.finish();
        merged_samples = merged.samples.len();
        std::hint::black_box(&merged);
    });
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "merge {} profiles ({samples} samples into {merged_samples}): median {:.1} ms = {:.0} ns a sample; {:.0} ms cpu",
        profiles.len(),
        ms(wall),
        wall.as_secs_f64() * 1e9 / samples as f64,
        ms(cpu)
    );
}
