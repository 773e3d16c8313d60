//! Drop-in [`Mutex`] and [`RwLock`] (parking_lot's, through `lock_api`) that feed the
//! mutex contention profile.
//!
//! As Go does for `sync.Mutex`, a waiter notes when it started to wait and the delay is
//! charged when the lock is released, to the stack of the releasing thread (Go's docs:
//! the profile shows "stack traces of holders of contended mutexes"). Each release
//! charges the time every current waiter waited since it started or since the previous
//! release, whichever is later. One release event in `rate` is recorded (see
//! [`set_mutex_profile_fraction`]), and its count and delay are multiplied by `rate`, as
//! Go's runtime does, so the profile estimates the totals.
//!
//! Uncontended locking costs one failed-or-not `try_lock` and, on release, one relaxed
//! load more than parking_lot's.

use std::cell::UnsafeCell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU32, Ordering};
use std::sync::OnceLock;
use std::time::Instant;

use lock_api::GuardSend;
use parking_lot::Mutex as PlMutex;
use profile::Profile;

use crate::builder::ProfileBuilder;

static FRACTION: AtomicI32 = AtomicI32::new(0);

/// Sets the fraction of mutex contention events recorded: on average 1 in `rate` (0 turns
/// the profile off, the default); a negative rate only reads. Returns the previous rate.
/// Like Go's `runtime.SetMutexProfileFraction`.
pub fn set_mutex_profile_fraction(rate: i32) -> i32 {
    if rate < 0 {
        return FRACTION.load(Ordering::Relaxed);
    }
    FRACTION.swap(rate, Ordering::Relaxed)
}

fn now_ns() -> u64 {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    EPOCH.get_or_init(Instant::now).elapsed().as_nanos() as u64 + 1
}

/// Wait accounting of one lock: how many threads wait and since when.
#[derive(Default)]
struct Waits {
    /// Number of waiting threads; read without the spin lock on release.
    waiters: AtomicU32,
    busy: AtomicBool,
    /// Sum over waiters of max(start, last charge), and the last charge time.
    state: UnsafeCell<(u64, u64)>,
}

// SAFETY: `state` is only accessed with `busy` held.
unsafe impl Sync for Waits {}
// SAFETY: as above; the cell holds plain integers.
unsafe impl Send for Waits {}

impl Waits {
    const fn new() -> Waits {
        Waits {
            waiters: AtomicU32::new(0),
            busy: AtomicBool::new(false),
            state: UnsafeCell::new((0, 0)),
        }
    }

    fn with<R>(&self, f: impl FnOnce(&mut (u64, u64)) -> R) -> R {
        while self
            .busy
            .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            std::hint::spin_loop();
        }
        // SAFETY: `busy` is held.
        let r = f(unsafe { &mut *self.state.get() });
        self.busy.store(false, Ordering::Release);
        r
    }

    fn enter(&self, start: u64) {
        self.with(|(sum, _)| *sum += start);
        self.waiters.fetch_add(1, Ordering::AcqRel);
    }

    fn leave(&self, start: u64) {
        self.with(|(sum, last)| *sum = sum.saturating_sub(start.max(*last)));
        self.waiters.fetch_sub(1, Ordering::AcqRel);
    }

    /// The delay accumulated by the current waiters since their start or the last charge.
    #[cold]
    fn charge(&self) -> u64 {
        let now = now_ns();
        self.with(|(sum, last)| {
            let n = u64::from(self.waiters.load(Ordering::Acquire));
            let delay = (n * now).saturating_sub(*sum);
            *sum = n * now;
            *last = now;
            delay
        })
    }

    #[inline]
    fn release(&self) {
        if self.waiters.load(Ordering::Relaxed) != 0 {
            let delay = self.charge();
            if delay > 0 {
                record_contention(delay);
            }
        }
    }
}

/// Deepest stack recorded for a contention event.
const MAX_DEPTH: usize = 64;

/// Contentions and delay per releasing stack.
type Record = (Box<[u64]>, (i64, i64));
type Records = HashMap<Box<[u64]>, (i64, i64)>;
static RECORDS: PlMutex<Option<Records>> = PlMutex::new(None);

thread_local! {
    static RNG: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

fn one_in(rate: i32) -> bool {
    if rate <= 1 {
        return true;
    }
    let x = RNG.with(|r| {
        let mut x = r.get();
        if x == 0 {
            x = now_ns().wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        }
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        r.set(x);
        x
    });
    x.is_multiple_of(rate as u64)
}

#[cold]
fn record_contention(delay: u64) {
    let rate = FRACTION.load(Ordering::Relaxed);
    if rate <= 0 || !one_in(rate) {
        return;
    }
    let mut stack = [0u64; MAX_DEPTH];
    let depth = crate::unwind::capture(&mut stack);
    let rate = i64::from(rate);
    let mut records = RECORDS.lock();
    let entry = records
        .get_or_insert_with(HashMap::new)
        .entry(stack[..depth].into())
        .or_insert((0, 0));
    entry.0 += rate;
    entry.1 += rate * delay as i64;
}

/// Frames of the lock machinery dropped from the leaf end of contention stacks.
const MUTEX_TRIM: &[&str] = &["backtrace::", "profkit_agent::", "<profkit_agent::"];

/// The mutex contention profile as Go writes it: sample types contentions/count and
/// delay/nanoseconds, one sample per releasing stack.
pub fn mutex_profile() -> Profile {
    let mut records: Vec<Record> = RECORDS
        .lock()
        .as_ref()
        .map(|r| r.iter().map(|(k, v)| (k.clone(), *v)).collect())
        .unwrap_or_default();
    records.sort();
    let mut b = ProfileBuilder::new(
        &[("contentions", "count"), ("delay", "nanoseconds")],
        ("contentions", "count"),
        1,
    )
    .trim_leaf_frames(MUTEX_TRIM);
    for (stack, (count, delay)) in records {
        b.add(&stack, false, &[count, delay], &[]);
    }
    b.finish()
}

/// A raw mutex: parking_lot's, with contention accounting.
pub struct RawMutex {
    inner: parking_lot::RawMutex,
    waits: Waits,
}

// SAFETY: locking is delegated to parking_lot's RawMutex, which upholds the contract.
unsafe impl lock_api::RawMutex for RawMutex {
    #[allow(clippy::declare_interior_mutable_const)]
    const INIT: RawMutex = RawMutex {
        inner: parking_lot::RawMutex::INIT,
        waits: Waits::new(),
    };
    type GuardMarker = GuardSend;

    #[inline]
    fn lock(&self) {
        if self.inner.try_lock() {
            return;
        }
        if FRACTION.load(Ordering::Relaxed) <= 0 {
            self.inner.lock();
            return;
        }
        let start = now_ns();
        self.waits.enter(start);
        self.inner.lock();
        self.waits.leave(start);
    }

    #[inline]
    fn try_lock(&self) -> bool {
        self.inner.try_lock()
    }

    #[inline]
    unsafe fn unlock(&self) {
        self.waits.release();
        // SAFETY: forwarded contract: the caller holds the lock.
        unsafe { self.inner.unlock() }
    }

    #[inline]
    fn is_locked(&self) -> bool {
        self.inner.is_locked()
    }
}

/// A raw reader-writer lock: parking_lot's, with contention accounting.
pub struct RawRwLock {
    inner: parking_lot::RawRwLock,
    waits: Waits,
}

impl RawRwLock {
    #[inline]
    fn wait(&self, try_lock: impl Fn() -> bool, lock: impl Fn()) {
        if try_lock() {
            return;
        }
        if FRACTION.load(Ordering::Relaxed) <= 0 {
            lock();
            return;
        }
        let start = now_ns();
        self.waits.enter(start);
        lock();
        self.waits.leave(start);
    }
}

// SAFETY: locking is delegated to parking_lot's RawRwLock, which upholds the contract.
unsafe impl lock_api::RawRwLock for RawRwLock {
    #[allow(clippy::declare_interior_mutable_const)]
    const INIT: RawRwLock = RawRwLock {
        inner: parking_lot::RawRwLock::INIT,
        waits: Waits::new(),
    };
    type GuardMarker = GuardSend;

    #[inline]
    fn lock_shared(&self) {
        self.wait(|| self.inner.try_lock_shared(), || self.inner.lock_shared());
    }

    #[inline]
    fn try_lock_shared(&self) -> bool {
        self.inner.try_lock_shared()
    }

    #[inline]
    unsafe fn unlock_shared(&self) {
        self.waits.release();
        // SAFETY: forwarded contract.
        unsafe { self.inner.unlock_shared() }
    }

    #[inline]
    fn lock_exclusive(&self) {
        self.wait(
            || self.inner.try_lock_exclusive(),
            || self.inner.lock_exclusive(),
        );
    }

    #[inline]
    fn try_lock_exclusive(&self) -> bool {
        self.inner.try_lock_exclusive()
    }

    #[inline]
    unsafe fn unlock_exclusive(&self) {
        self.waits.release();
        // SAFETY: forwarded contract.
        unsafe { self.inner.unlock_exclusive() }
    }

    #[inline]
    fn is_locked(&self) -> bool {
        self.inner.is_locked()
    }
}

/// A mutual exclusion lock (parking_lot's) whose contention is profiled.
pub type Mutex<T> = lock_api::Mutex<RawMutex, T>;
/// The guard of a [`Mutex`].
pub type MutexGuard<'a, T> = lock_api::MutexGuard<'a, RawMutex, T>;
/// A reader-writer lock (parking_lot's) whose contention is profiled.
pub type RwLock<T> = lock_api::RwLock<RawRwLock, T>;
/// The shared guard of a [`RwLock`].
pub type RwLockReadGuard<'a, T> = lock_api::RwLockReadGuard<'a, RawRwLock, T>;
/// The exclusive guard of a [`RwLock`].
pub type RwLockWriteGuard<'a, T> = lock_api::RwLockWriteGuard<'a, RawRwLock, T>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_charge_the_time_every_waiter_waited_once() {
        let w = Waits::new();
        w.enter(now_ns());
        w.enter(now_ns());
        std::thread::sleep(std::time::Duration::from_millis(20));
        let first = w.charge();
        assert!(first >= 40_000_000, "two waiters for 20ms: {first}");
        w.leave(0);
        let second = w.charge();
        assert!(
            second < first / 2,
            "only time since the last charge: {second}"
        );
        w.leave(0);
        assert_eq!(w.waiters.load(Ordering::Relaxed), 0);
        assert_eq!(w.charge(), 0);
    }

    #[test]
    fn one_in_one_always_samples() {
        assert!((0..100).all(|_| one_in(1)));
        let hits = (0..10_000).filter(|_| one_in(10)).count();
        assert!((800..1200).contains(&hits), "{hits}");
    }
}
