//! End to end: this test process serves its own `/debug/pprof/*` with profkit-agent, and
//! the profkit binary fetches each profile over HTTP and names the known functions.

use std::alloc::System;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use profkit_agent::sync::Mutex;
use profkit_agent::Sampled;

#[global_allocator]
static ALLOC: Sampled<System> = Sampled::new(System);

#[inline(never)]
fn e2e_hot_function(stop: &AtomicBool) -> u64 {
    let mut x = 1u64;
    while !stop.load(Ordering::Relaxed) {
        for i in 0..100_000u64 {
            x ^= x << 13;
            x ^= x >> 7;
            x = x.wrapping_add(i);
        }
        x = std::hint::black_box(x);
    }
    x
}

#[inline(never)]
fn e2e_allocating_function() -> Vec<Vec<u8>> {
    (0..64).map(|_| vec![1u8; 256 * 1024]).collect()
}

#[inline(never)]
fn e2e_lock_holder(lock: &Mutex<u64>) {
    let mut g = lock.lock();
    std::thread::sleep(Duration::from_millis(2));
    *g += 1;
}

#[inline(never)]
fn e2e_parked_thread(stop: &AtomicBool) {
    while !stop.load(Ordering::Relaxed) {
        std::thread::park_timeout(Duration::from_millis(50));
    }
}

/// Runs `profkit -top ARGS...` and returns its standard output.
fn profkit_top(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_profkit"))
        .arg("-top")
        .args(args)
        .output()
        .expect("run profkit");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "profkit {args:?} failed: {}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[test]
fn profkit_reads_every_profile_the_agent_serves() {
    let server = profkit_agent::serve("127.0.0.1:0").expect("serve");
    let base = format!("http://{}/debug/pprof", server.local_addr());
    profkit_agent::set_mutex_profile_fraction(1);

    let stop = Arc::new(AtomicBool::new(false));
    let hot = {
        let stop = stop.clone();
        std::thread::spawn(move || e2e_hot_function(&stop))
    };
    let parked = {
        let stop = stop.clone();
        std::thread::spawn(move || e2e_parked_thread(&stop))
    };
    let kept = e2e_allocating_function();
    let lock = Arc::new(Mutex::new(0u64));
    let contenders: Vec<_> = (0..3)
        .map(|_| {
            let lock = lock.clone();
            std::thread::spawn(move || {
                for _ in 0..20 {
                    e2e_lock_holder(&lock);
                }
            })
        })
        .collect();
    for c in contenders {
        c.join().unwrap();
    }

    let cpu = profkit_top(&[&format!("{base}/profile?seconds=1")]);
    assert!(cpu.contains("e2e_hot_function"), "cpu:\n{cpu}");
    let heap = profkit_top(&["-sample_index=inuse_space", &format!("{base}/heap")]);
    assert!(heap.contains("e2e_allocating_function"), "heap:\n{heap}");
    let heap_text = profkit_top(&["-sample_index=inuse_space", &format!("{base}/heap?debug=1")]);
    assert!(
        heap_text.contains("e2e_allocating_function"),
        "heap text:\n{heap_text}"
    );
    let mutex = profkit_top(&[&format!("{base}/mutex")]);
    assert!(mutex.contains("e2e_lock_holder"), "mutex:\n{mutex}");
    let mutex_text = profkit_top(&[&format!("{base}/mutex?debug=1")]);
    assert!(
        mutex_text.contains("e2e_lock_holder"),
        "mutex text:\n{mutex_text}"
    );
    let threads = profkit_top(&[&format!("{base}/threads")]);
    assert!(threads.contains("e2e_parked_thread"), "threads:\n{threads}");

    stop.store(true, Ordering::Relaxed);
    parked.thread().unpark();
    hot.join().unwrap();
    parked.join().unwrap();
    drop(kept);
    server.shutdown();
}
