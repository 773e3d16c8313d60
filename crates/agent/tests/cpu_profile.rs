//! The CPU profiler on busy threads.

use std::sync::{Arc, Barrier};
use std::time::Duration;

use profile::Profile;
use profkit_agent::{with_labels, CpuProfiler};

/// CPU time consumed by the calling thread.
fn thread_cpu_time() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: plain syscall writing `ts`.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

#[inline(never)]
fn busy_known_function(cpu: Duration) -> u64 {
    let start = thread_cpu_time();
    let mut x = 0u64;
    while thread_cpu_time() - start < cpu {
        // Plain shifts and xors: no calls, so the samples land in this function even
        // where frame pointers are missing.
        let mut i = 0u64;
        while i < 2_000_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x ^= i;
            i += 1;
        }
        std::hint::black_box(x);
    }
    x
}

fn samples_in(p: &Profile, name: &str) -> i64 {
    p.samples
        .iter()
        .filter(|s| {
            s.locations.iter().any(|l| {
                p.locations[l as usize].lines.iter().any(|line| {
                    p.str(p.functions[line.function as usize].name)
                        .contains(name)
                })
            })
        })
        .map(|s| s.values.at(0))
        .sum()
}

/// The profiler is process-wide: the tests of this file run one at a time.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[test]
fn busy_threads_get_one_sample_per_period_of_cpu_time_and_the_hot_function_dominates() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    const THREADS: usize = 2;
    const CPU: Duration = Duration::from_millis(1500);
    let barrier = Arc::new(Barrier::new(THREADS + 1));
    let workers: Vec<_> = (0..THREADS)
        .map(|_| {
            let b = barrier.clone();
            std::thread::spawn(move || {
                b.wait();
                busy_known_function(CPU)
            })
        })
        .collect();
    let profiler = CpuProfiler::start(100).expect("start");
    std::thread::sleep(Duration::from_millis(50));
    barrier.wait();
    for w in workers {
        w.join().unwrap();
    }
    let lost = profiler.lost_samples();
    let p = profiler.stop();

    let types: Vec<(&str, &str)> = p
        .sample_types
        .iter()
        .map(|t| (p.str(t.ty), p.str(t.unit)))
        .collect();
    assert_eq!(types, [("samples", "count"), ("cpu", "nanoseconds")]);
    assert_eq!(p.period, 10_000_000);
    assert!(p.duration_nanos > 0);

    let hot = samples_in(&p, "busy_known_function");
    let total: i64 = p.samples.iter().map(|s| s.values.at(0)).sum();
    let want = (THREADS as f64) * CPU.as_secs_f64() * 100.0;
    eprintln!("hot {hot} total {total} want {want} lost {lost}");
    assert_eq!(lost, 0);
    assert!(
        (hot as f64 - want).abs() <= want * 0.05,
        "hot {hot}, want {want}"
    );
    assert!(hot as f64 >= total as f64 * 0.9, "hot {hot} of {total}");

    // Mappings carry the executable; the profile round-trips through profile.proto.
    let exe = std::fs::read_link("/proc/self/exe").unwrap();
    assert!(p
        .mappings
        .iter()
        .any(|m| p.str(m.filename) == exe.to_string_lossy()));
    let back = profile::parse(&profile::proto::encode_gzip(&p)).unwrap();
    assert_eq!(back.samples.len(), p.samples.len());
}

#[test]
fn samples_carry_the_labels_in_force_and_the_thread_name() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let profiler = CpuProfiler::start(250).expect("start");
    let worker = std::thread::Builder::new()
        .name("labelled-worker".into())
        .spawn(|| {
            // The sampler notices new threads within milliseconds; give it time on a
            // loaded machine.
            std::thread::sleep(Duration::from_millis(100));
            with_labels(&[("route", "/api")], || {
                busy_known_function(Duration::from_millis(400))
            })
        })
        .unwrap();
    worker.join().unwrap();
    let p = profiler.stop();
    let labelled: i64 = p
        .samples
        .iter()
        .filter(|s| {
            let has = |k: &str, v: &str| {
                s.labels
                    .iter()
                    .any(|l| p.str(l.key) == k && p.str(l.str) == v)
            };
            has("route", "/api") && has("thread", "labelled-worker")
        })
        .map(|s| s.values.at(0))
        .sum();
    let total: i64 = p.samples.iter().map(|s| s.values.at(0)).sum();
    assert!(labelled >= 70, "labelled samples {labelled} of {total}");
}

#[test]
fn a_second_profile_cannot_start_while_one_runs() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let first = CpuProfiler::start(100).expect("start");
    let err = CpuProfiler::start(100).unwrap_err();
    assert!(err.message().contains("already in use"));
    drop(first);
    CpuProfiler::start(100).expect("restart after stop").stop();
}

#[test]
fn handler_runs_while_threads_allocate_lock_and_unwind_without_deadlock() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let profiler = CpuProfiler::start(1000).expect("start");
    let lock = Arc::new(profkit_agent::sync::Mutex::new(Vec::<u64>::new()));
    let deadline = std::time::Instant::now() + Duration::from_millis(800);
    let workers: Vec<_> = (0..3)
        .map(|t| {
            let lock = lock.clone();
            std::thread::spawn(move || {
                let mut rounds = 0u64;
                while std::time::Instant::now() < deadline {
                    let v: Vec<u64> = (0..256).map(|i| i * t).collect();
                    lock.lock().extend_from_slice(&v[..4]);
                    if rounds.is_multiple_of(50) {
                        let bt = backtrace::Backtrace::new();
                        assert!(!bt.frames().is_empty());
                        lock.lock().clear();
                    }
                    rounds += 1;
                }
                rounds
            })
        })
        .collect();
    let threads = profkit_agent::thread_stacks(Duration::from_millis(200));
    for w in workers {
        assert!(w.join().unwrap() > 0);
    }
    let p = profiler.stop();
    assert!(threads.len() >= 4, "{} threads answered", threads.len());
    assert!(p.samples.iter().map(|s| s.values.at(0)).sum::<i64>() > 100);
}
