//! CPU stacks are complete without frame pointers: the signal handler unwinds with the
//! call-frame information of `.eh_frame`. Run from the workspace root, whose builds keep
//! Rust's default (no frame pointers).

use std::time::Duration;

use profkit_agent::CpuProfiler;

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
fn chain_a(cpu: Duration) -> u64 {
    std::hint::black_box(chain_b(cpu)).wrapping_add(1)
}

#[inline(never)]
fn chain_b(cpu: Duration) -> u64 {
    std::hint::black_box(chain_c(cpu)).wrapping_add(2)
}

#[inline(never)]
fn chain_c(cpu: Duration) -> u64 {
    let start = thread_cpu_time();
    let mut x = 1u64;
    while thread_cpu_time() - start < cpu {
        for i in 0..1_000_000u64 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x = x.wrapping_add(i);
        }
        x = std::hint::black_box(x);
    }
    x
}

/// Function names of a sample's stack, leaf first (outermost frame per address).
fn stack_names(p: &profile::Profile, locations: profile::Stack<'_>) -> Vec<String> {
    locations
        .iter()
        .flat_map(|l| {
            p.locations[l as usize]
                .lines
                .iter()
                .map(|line| p.str(p.functions[line.function as usize].name).to_string())
        })
        .collect()
}

#[test]
fn hot_samples_carry_the_whole_call_chain_without_frame_pointers() {
    let profiler = CpuProfiler::start(250).expect("start");
    let worker = std::thread::spawn(|| chain_a(Duration::from_millis(1200)));
    std::hint::black_box(worker.join().unwrap());
    let p = profiler.stop();

    let (mut hot, mut complete) = (0i64, 0i64);
    for s in p.samples.iter() {
        let names = stack_names(&p, s.locations);
        let at = |f: &str| names.iter().position(|n| n.ends_with(f));
        let Some(c) = at("::chain_c") else { continue };
        hot += s.values.at(0);
        match (at("::chain_b"), at("::chain_a")) {
            (Some(b), Some(a)) if c < b && b < a => complete += s.values.at(0),
            _ => eprintln!("incomplete: {names:?}"),
        }
    }
    eprintln!("{complete} of {hot} hot samples complete");
    assert!(hot >= 100, "only {hot} samples in chain_c");
    assert!(
        complete as f64 >= 0.9 * hot as f64,
        "{complete} of {hot} hot samples have chain_a > chain_b > chain_c"
    );
}
