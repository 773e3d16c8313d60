//! Soak test of the agent: CPU profiling at 1000 Hz while threads allocate, contend on
//! profiled mutexes, take DWARF backtraces and answer thread-stack requests, with the
//! CPU profile stopped and restarted every 5 s and every profile encoded. Prints the
//! resident set size after the first round and at the end, and fails on growth.
//!
//! `cargo run --release -p profkit-agent --example soak [SECONDS]` (default 60).

use std::alloc::System;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use profkit_agent::sync::Mutex;

#[global_allocator]
static ALLOC: profkit_agent::Sampled<System> = profkit_agent::Sampled::new(System);

/// Resident set size of this process, in KiB.
fn rss_kib() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    pages * 4
}

#[inline(never)]
fn churn(lock: &Mutex<Vec<u64>>, round: u64) {
    let v: Vec<u64> = (0..512).map(|i| i ^ round).collect();
    lock.lock().extend_from_slice(&v[..8]);
    if round.is_multiple_of(64) {
        let bt = backtrace::Backtrace::new();
        std::hint::black_box(bt.frames().len());
        lock.lock().clear();
    }
}

fn main() {
    let secs: u64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    profkit_agent::set_mutex_profile_fraction(1);
    let stop = Arc::new(AtomicBool::new(false));
    let lock = Arc::new(Mutex::new(Vec::new()));
    let workers: Vec<_> = (0..4)
        .map(|_| {
            let (stop, lock) = (stop.clone(), lock.clone());
            std::thread::spawn(move || {
                let mut round = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    churn(&lock, round);
                    round += 1;
                }
                round
            })
        })
        .collect();
    let start = Instant::now();
    let deadline = start + Duration::from_secs(secs);
    let (mut rounds, mut samples, mut lost, mut dumps) = (0u64, 0i64, 0u64, 0usize);
    let mut rss_after_first = 0;
    while Instant::now() < deadline {
        let profiler = profkit_agent::CpuProfiler::start(1000).expect("start");
        let round_end = (Instant::now() + Duration::from_secs(5)).min(deadline);
        while Instant::now() < round_end {
            dumps += profkit_agent::thread_stacks(Duration::from_millis(200)).len();
            std::thread::sleep(Duration::from_millis(100));
        }
        lost += profiler.lost_samples();
        let p = profiler.stop();
        samples += p.samples.iter().map(|s| s.values.at(0)).sum::<i64>();
        std::hint::black_box(profile::proto::encode_gzip(&p).len());
        std::hint::black_box(profile::proto::encode_gzip(&profkit_agent::heap_profile()).len());
        std::hint::black_box(profkit_agent::mutex_text().len());
        rounds += 1;
        eprintln!("round {rounds}: RSS {} KiB", rss_kib());
        if rounds == 1 {
            rss_after_first = rss_kib();
        }
    }
    stop.store(true, Ordering::Relaxed);
    let work: u64 = workers.into_iter().map(|w| w.join().unwrap_or(0)).sum();
    let rss_end = rss_kib();
    println!(
        "{:.0} s, {rounds} profiles at 1000 Hz, {samples} samples ({lost} lost), {dumps} thread stacks, {work} worker rounds",
        start.elapsed().as_secs_f64()
    );
    println!("RSS after the first profile {rss_after_first} KiB, at the end {rss_end} KiB");
    let growth = rss_end.saturating_sub(rss_after_first);
    assert!(
        growth < 16 * 1024,
        "resident memory grew by {growth} KiB over the soak"
    );
}
