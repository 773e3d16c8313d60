//! Overhead figures of the agent, printed as a table. Run in release mode:
//! `cargo run --release -p profkit-agent --example overhead`.
//!
//! - CPU profiling at 100 Hz: throughput of a CPU-bound loop on 2 threads, profiled
//!   and not, and the samples collected against the expected k·T·100.
//! - Mutex: ns per uncontended lock/unlock, profkit's `sync::Mutex` (profile on) against
//!   parking_lot's.
//! - Heap: ns per allocate/free pair with sampling at 512 KiB against sampling off
//!   (the wrapper is installed in both runs).

use std::alloc::System;
use std::hint::black_box;
use std::time::{Duration, Instant};

#[global_allocator]
static ALLOC: profkit_agent::Sampled<System> = profkit_agent::Sampled::new(System);

#[inline(never)]
fn spin(iterations: u64) -> u64 {
    let mut x = 1u64;
    for i in 0..iterations {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x = x.wrapping_add(i);
    }
    x
}

/// Iterations per second of `spin` on `threads` threads for `secs`.
fn throughput(threads: usize, secs: f64) -> f64 {
    let start = Instant::now();
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            std::thread::spawn(move || {
                let mut n = 0u64;
                while start.elapsed().as_secs_f64() < secs {
                    black_box(spin(100_000));
                    n += 100_000;
                }
                n
            })
        })
        .collect();
    let total: u64 = handles.into_iter().map(|h| h.join().unwrap_or(0)).sum();
    total as f64 / start.elapsed().as_secs_f64()
}

fn per_op(n: u64, f: impl Fn()) -> f64 {
    let start = Instant::now();
    for _ in 0..n {
        f();
    }
    start.elapsed().as_nanos() as f64 / n as f64
}

fn main() {
    let secs = 3.0;
    let base = throughput(2, secs);
    let profiler = profkit_agent::CpuProfiler::start(100).expect("start cpu profile");
    let profiled = throughput(2, secs);
    let p = profiler.stop();
    let samples: i64 = p.samples.iter().map(|s| s.values[0]).sum();
    println!("cpu 100 Hz, 2 threads, {secs} s each run:");
    println!(
        "  throughput unprofiled {base:.3e}/s, profiled {profiled:.3e}/s, cost {:.2}%",
        (1.0 - profiled / base) * 100.0
    );
    println!(
        "  samples {samples} (expected about {:.0} if both threads ran the whole time)",
        2.0 * secs * 100.0
    );

    profkit_agent::set_mutex_profile_fraction(1);
    let ours = profkit_agent::sync::Mutex::new(0u64);
    let theirs = parking_lot::Mutex::new(0u64);
    let n = 20_000_000;
    let a = per_op(n, || *black_box(&ours).lock() += 1);
    let b = per_op(n, || *black_box(&theirs).lock() += 1);
    println!(
        "mutex uncontended lock+unlock: profkit {a:.2} ns, parking_lot {b:.2} ns, extra {:.2} ns",
        a - b
    );

    let n = 5_000_000;
    let alloc = || {
        black_box(Vec::<u8>::with_capacity(black_box(64)));
    };
    profkit_agent::set_mem_profile_rate(0);
    let off = per_op(n, alloc);
    profkit_agent::set_mem_profile_rate(512 * 1024);
    let on = per_op(n, alloc);
    std::thread::sleep(Duration::from_millis(10));
    println!(
        "heap alloc+free of 64 B: sampling off {off:.2} ns, at 512 KiB {on:.2} ns, cost {:.1}%",
        (on / off - 1.0) * 100.0
    );
}
