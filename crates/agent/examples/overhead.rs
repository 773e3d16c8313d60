//! Overhead figures of the agent, printed as a table. Run in release mode:
//! `cargo run --release -p profkit-agent --example overhead`.
//!
//! - CPU profiling at 100 Hz: work done per second of each thread's own CPU time by a
//!   CPU-bound loop on 2 threads, profiled and not (the signal handler runs on the
//!   thread's CPU time, so its cost shows; time the thread spends descheduled on a busy
//!   machine does not). Runs alternate and the medians are compared.
//! - Mutex: ns per uncontended lock/unlock, profkit's `sync::Mutex` (profile on) against
//!   parking_lot's.
//! - Heap: ns per allocate/free pair, and the time of an allocation-heavy workload,
//!   with sampling at 512 KiB against sampling off (the wrapper is installed in both
//!   runs; off, it costs two relaxed atomic loads per call).

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

/// CPU time the calling thread has used, in seconds.
fn thread_cpu_seconds() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into the timespec we own.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}

/// Iterations of `spin` per second of thread CPU time, over `threads` threads that each
/// run for `cpu_secs` of their own CPU time.
fn throughput(threads: usize, cpu_secs: f64) -> f64 {
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            std::thread::spawn(move || {
                let start = thread_cpu_seconds();
                let mut n = 0u64;
                while thread_cpu_seconds() - start < cpu_secs {
                    black_box(spin(100_000));
                    n += 100_000;
                }
                (n, thread_cpu_seconds() - start)
            })
        })
        .collect();
    let (mut work, mut cpu) = (0u64, 0f64);
    for h in handles {
        let (n, c) = h.join().unwrap_or((0, 0.0));
        work += n;
        cpu += c;
    }
    work as f64 / cpu
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn per_op(n: u64, f: impl Fn()) -> f64 {
    let start = Instant::now();
    for _ in 0..n {
        f();
    }
    start.elapsed().as_nanos() as f64 / n as f64
}

fn main() {
    let (secs, rounds) = (1.0, 5);
    let (mut bases, mut profileds, mut samples) = (Vec::new(), Vec::new(), 0i64);
    for _ in 0..rounds {
        bases.push(throughput(2, secs));
        let profiler = profkit_agent::CpuProfiler::start(100).expect("start cpu profile");
        profileds.push(throughput(2, secs));
        let p = profiler.stop();
        samples += p.samples.iter().map(|s| s.values.at(0)).sum::<i64>();
    }
    let (base, profiled) = (median(bases), median(profileds));
    println!(
        "cpu 100 Hz, 2 threads, {rounds} alternating rounds of {secs} s of CPU time per thread:"
    );
    println!(
        "  work per CPU-second unprofiled {base:.4e}, profiled {profiled:.4e} (medians), cost {:.2}%",
        (1.0 - profiled / base) * 100.0
    );
    println!(
        "  samples {samples} (expected {:.0} = 2 threads x {rounds} x {secs} s x 100 Hz)",
        2.0 * rounds as f64 * secs * 100.0
    );

    profkit_agent::set_mutex_profile_fraction(1);
    let ours = profkit_agent::sync::Mutex::new(0u64);
    let theirs = parking_lot::Mutex::new(0u64);
    let n = 20_000_000;
    let (mut aa, mut bb) = (Vec::new(), Vec::new());
    for _ in 0..5 {
        aa.push(per_op(n / 5, || *black_box(&ours).lock() += 1));
        bb.push(per_op(n / 5, || *black_box(&theirs).lock() += 1));
    }
    let (a, b) = (median(aa), median(bb));
    println!(
        "mutex uncontended lock+unlock: profkit {a:.2} ns, parking_lot {b:.2} ns, extra {:.2} ns",
        a - b
    );

    let n = 5_000_000;
    let alloc = || {
        black_box(Vec::<u8>::with_capacity(black_box(64)));
    };
    let (mut offs, mut ons) = (Vec::new(), Vec::new());
    for _ in 0..5 {
        profkit_agent::set_mem_profile_rate(0);
        offs.push(per_op(n / 5, alloc));
        profkit_agent::set_mem_profile_rate(512 * 1024);
        ons.push(per_op(n / 5, alloc));
    }
    let (off, on) = (median(offs), median(ons));
    std::thread::sleep(Duration::from_millis(10));
    println!(
        "heap alloc+free of 64 B: sampling off {off:.2} ns, at 512 KiB {on:.2} ns, cost {:.1}%",
        (on / off - 1.0) * 100.0
    );

    // An allocation-heavy workload: a map of formatted keys to small vectors, built and
    // dropped; every step allocates.
    let workload = || {
        let mut map = std::collections::HashMap::new();
        for i in 0..50_000u32 {
            map.insert(format!("key-{i}"), vec![i as u8; (i % 200) as usize]);
        }
        black_box(map.len());
    };
    let time_of = |f: &dyn Fn()| {
        let start = Instant::now();
        f();
        start.elapsed().as_secs_f64() * 1e3
    };
    let (mut offs, mut ons) = (Vec::new(), Vec::new());
    for _ in 0..9 {
        profkit_agent::set_mem_profile_rate(0);
        offs.push(time_of(&workload));
        profkit_agent::set_mem_profile_rate(512 * 1024);
        ons.push(time_of(&workload));
    }
    let (off, on) = (median(offs), median(ons));
    println!(
        "heap, map of 50k formatted keys to vectors: sampling off {off:.2} ms, at 512 KiB {on:.2} ms, cost {:.1}%",
        (on / off - 1.0) * 100.0
    );
}
