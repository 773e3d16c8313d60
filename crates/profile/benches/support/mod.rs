//! What the benchmarks of this crate share: the allocator settings of profkit's
//! binary, where the benchmark profiles are, and a timer that takes the median of several runs.

use std::path::PathBuf;
use std::time::{Duration, Instant};

/// The folder of the benchmark profiles: `PROFKIT_BENCH_DATA`, else the workspace's
/// `target/benchdata`.
pub fn bench_data() -> PathBuf {
    std::env::var_os("PROFKIT_BENCH_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../target/benchdata"
            ))
        })
}

/// The allocator settings profkit's `main` makes, so that the figures are the
/// binary's: blocks of 512 KiB and more mapped apart (and given back when freed), one
/// heap for all threads.
pub fn allocate_as_profkit_does() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes an allocator setting; called first thing, while the
    // process has one thread.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 512 << 10);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 16 << 20);
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }
}

/// CPU time (user + system) of this process so far, from /proc (10 ms resolution);
/// zero where /proc is missing.
pub fn cpu_time() -> Duration {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return Duration::ZERO;
    };
    // Fields after the command name (which may hold spaces): utime is the 12th, stime the 13th.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let ticks: u64 = rest
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|x| x.parse::<u64>().ok())
        .sum();
    Duration::from_millis(ticks * 10)
}

/// Median wall time of `f` over at least 3 and at most 20 runs or ~5 seconds, and the
/// mean CPU time of a run (the steadier figure on a shared machine).
pub fn median_of(mut f: impl FnMut()) -> (Duration, Duration) {
    let mut times = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(5);
    let cpu_start = cpu_time();
    while times.len() < 3 || (Instant::now() < deadline && times.len() < 20) {
        let t = Instant::now();
        f();
        times.push(t.elapsed());
    }
    let cpu = (cpu_time().saturating_sub(cpu_start)) / times.len() as u32;
    times.sort();
    (times[times.len() / 2], cpu)
}
