//! The mutex contention profile on a lock with a known number of contended releases.

use std::sync::Arc;
use std::time::Duration;

use profkit_agent::sync::{Mutex, RwLock};
use profkit_agent::{mutex_profile, set_mutex_profile_fraction};

#[inline(never)]
fn release_after_hold<T>(guard: T) {
    std::thread::sleep(Duration::from_millis(30));
    drop(guard);
}

#[test]
fn each_contended_release_counts_once_with_its_delay_at_the_releasing_stack() {
    assert_eq!(set_mutex_profile_fraction(1), 0);
    const ROUNDS: i64 = 8;
    let lock = Arc::new(Mutex::new(0u64));
    let rw = Arc::new(RwLock::new(0u64));
    for _ in 0..ROUNDS {
        let guard = lock.lock();
        let l = lock.clone();
        let waiter = std::thread::spawn(move || *l.lock() += 1);
        // Time for the new thread to start waiting, even on a loaded machine.
        std::thread::sleep(Duration::from_millis(100));
        release_after_hold(guard);
        waiter.join().unwrap();

        let guard = rw.write();
        let r = rw.clone();
        let reader = std::thread::spawn(move || *r.read());
        // Time for the new thread to start waiting, even on a loaded machine.
        std::thread::sleep(Duration::from_millis(100));
        release_after_hold(guard);
        reader.join().unwrap();
    }
    // Uncontended use records nothing.
    for _ in 0..1000 {
        *lock.lock() += 1;
    }

    let p = mutex_profile();
    let types: Vec<(&str, &str)> = p
        .sample_types
        .iter()
        .map(|t| (p.str(t.ty), p.str(t.unit)))
        .collect();
    assert_eq!(types, [("contentions", "count"), ("delay", "nanoseconds")]);
    let mut count = 0;
    let mut delay = 0;
    for s in p.samples.iter() {
        let in_release = s.locations.iter().any(|l| {
            p.locations[l as usize].lines.iter().any(|line| {
                p.str(p.functions[line.function as usize].name)
                    .contains("release_after_hold")
            })
        });
        assert!(
            in_release,
            "every contention is charged to the releasing stack"
        );
        count += s.values.at(0);
        delay += s.values.at(1);
    }
    assert_eq!(count, 2 * ROUNDS);
    // Each waiter waited about 30 ms (at least the hold after it started waiting).
    assert!(delay >= 2 * ROUNDS * 25_000_000, "delay {delay}");
    // Generous on a loaded machine, where the releasing thread may wait for a core.
    assert!(delay <= 2 * ROUNDS * 1_000_000_000, "delay {delay}");
}
