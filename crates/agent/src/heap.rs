//! The heap profiler: a [`GlobalAlloc`] wrapper that samples allocations.
//!
//! As Go's runtime does, each thread counts down a random number of bytes drawn from an
//! exponential distribution whose mean is the sampling rate (512 KiB by default); the
//! allocation that crosses zero is sampled: its stack is captured and counted in a bucket
//! keyed by (stack, size). Frees of sampled blocks are found through a lock-free table of
//! live sampled addresses, so the in-use figures are current. When the profile is
//! written the counts are unbiased the way Go's `scaleHeapSample` does, by
//! `1 / (1 - exp(-size / rate))`.
//!
//! The sampler never samples re-entrantly: a thread-local flag is set while it runs, so
//! allocations made by stack capture or by the bucket table go straight to the wrapped
//! allocator.

use std::alloc::{GlobalAlloc, Layout};
use std::cell::Cell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicPtr, AtomicU64, AtomicU8, AtomicUsize, Ordering};

use parking_lot::Mutex;
use profile::Profile;

use crate::builder::ProfileBuilder;

/// Go's default heap sampling rate: on average one sample every 512 KiB allocated.
pub const DEFAULT_MEM_PROFILE_RATE: usize = 512 * 1024;

/// Deepest stack recorded for an allocation.
const MAX_DEPTH: usize = 64;

static RATE: AtomicUsize = AtomicUsize::new(DEFAULT_MEM_PROFILE_RATE);

/// Sets the heap sampling rate: on average one allocation is sampled per `bytes`
/// allocated (1 samples every allocation, 0 turns sampling off), like Go's
/// `runtime.MemProfileRate`.
pub fn set_mem_profile_rate(bytes: usize) {
    RATE.store(bytes, Ordering::Relaxed);
    NEXT_SAMPLE_EPOCH.fetch_add(1, Ordering::Relaxed);
}

/// The heap sampling rate in bytes (see [`set_mem_profile_rate`]).
pub fn mem_profile_rate() -> usize {
    RATE.load(Ordering::Relaxed)
}

/// A global allocator that samples the allocations of the allocator it wraps.
///
/// ```no_run
/// #[global_allocator]
/// static ALLOC: profkit_agent::Sampled<std::alloc::System> =
///     profkit_agent::Sampled::new(std::alloc::System);
/// ```
#[derive(Debug, Default)]
pub struct Sampled<A> {
    inner: A,
}

impl<A> Sampled<A> {
    /// Wraps `inner`, sampling its allocations.
    pub const fn new(inner: A) -> Sampled<A> {
        Sampled { inner }
    }
}

// SAFETY: every method forwards to the wrapped allocator with the caller's arguments and
// returns its result unchanged; the bookkeeping around it never touches the blocks.
unsafe impl<A: GlobalAlloc> GlobalAlloc for Sampled<A> {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded contract.
        let p = unsafe { self.inner.alloc(layout) };
        if !p.is_null() {
            on_alloc(p, layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded contract.
        let p = unsafe { self.inner.alloc_zeroed(layout) };
        if !p.is_null() {
            on_alloc(p, layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        on_free(ptr);
        // SAFETY: forwarded contract.
        unsafe { self.inner.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        on_free(ptr);
        // SAFETY: forwarded contract.
        let p = unsafe { self.inner.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            on_alloc(p, new_size);
        }
        p
    }
}

/// Marks "not drawn yet" in a thread's countdown.
const UNDRAWN: i64 = i64::MIN;

/// Bumped when the rate changes, so threads draw a new countdown.
static NEXT_SAMPLE_EPOCH: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// Bytes this thread may still allocate before the next sample, and the epoch the
    /// countdown was drawn in; one slot, so the allocation path touches one
    /// thread-local.
    static COUNTDOWN: Countdown = const {
        Countdown {
            left: Cell::new(UNDRAWN),
            epoch: Cell::new(0),
        }
    };
    /// Set while this thread runs the sampler (or resolves symbols), to not re-enter it.
    static IN_SAMPLER: Cell<bool> = const { Cell::new(false) };
    /// This thread's random state.
    static RNG: Cell<u64> = const { Cell::new(0) };
}

/// A thread's sampling countdown.
struct Countdown {
    left: Cell<i64>,
    epoch: Cell<usize>,
}

/// Runs `f` with heap sampling suspended on this thread.
pub(crate) fn without_sampling<R>(f: impl FnOnce() -> R) -> R {
    let was = IN_SAMPLER.try_with(|g| g.replace(true)).unwrap_or(true);
    let r = f();
    let _ = IN_SAMPLER.try_with(|g| g.set(was));
    r
}

/// A uniform random number in (0, 1] from this thread's xorshift state.
fn uniform() -> f64 {
    let x = RNG
        .try_with(|r| {
            let mut x = r.get();
            if x == 0 {
                // Seed from the thread's stack address and the clock.
                let t = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(1, |d| d.as_nanos() as u64);
                x = (r as *const _ as u64) ^ t.rotate_left(32) | 1;
            }
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            r.set(x);
            x
        })
        .unwrap_or(0x9e37_79b9_7f4a_7c15);
    ((x >> 11) as f64 + 1.0) / (1u64 << 53) as f64
}

/// Bytes until the next sample: exponentially distributed with mean `rate`.
fn draw(rate: usize) -> i64 {
    if rate <= 1 {
        return 0;
    }
    let v = -uniform().ln() * rate as f64;
    v.min((1u64 << 40) as f64) as i64
}

#[inline]
fn on_alloc(p: *mut u8, size: usize) {
    let rate = RATE.load(Ordering::Relaxed);
    if rate == 0 {
        return;
    }
    let due = COUNTDOWN
        .try_with(|c| {
            let mut left = c.left.get();
            let epoch = NEXT_SAMPLE_EPOCH.load(Ordering::Relaxed);
            if left == UNDRAWN || c.epoch.get() != epoch {
                c.epoch.set(epoch);
                left = draw(rate);
            }
            if (size as i64) < left {
                c.left.set(left - size as i64);
                false
            } else {
                c.left.set(draw(rate));
                true
            }
        })
        .unwrap_or(false);
    if due {
        sample(p as usize, size);
    }
}

#[cold]
fn sample(addr: usize, size: usize) {
    if IN_SAMPLER.try_with(|g| g.replace(true)).unwrap_or(true) {
        return;
    }
    let mut stack = [0u64; MAX_DEPTH];
    let depth = crate::unwind::capture(&mut stack);
    let bucket = bucket_for(&stack[..depth], size);
    bucket.allocs.fetch_add(1, Ordering::Relaxed);
    LIVE.insert(addr, bucket);
    let _ = IN_SAMPLER.try_with(|g| g.set(false));
}

/// Counts of one (stack, size) bucket.
struct Bucket {
    stack: Box<[u64]>,
    size: usize,
    allocs: AtomicU64,
    frees: AtomicU64,
}

type BucketMap = HashMap<(Box<[u64]>, usize), &'static Bucket>;

static BUCKETS: Mutex<Option<BucketMap>> = Mutex::new(None);

fn bucket_for(stack: &[u64], size: usize) -> &'static Bucket {
    let mut guard = BUCKETS.lock();
    let map = guard.get_or_insert_with(HashMap::new);
    if let Some(b) = map.get(&(Box::<[u64]>::from(stack), size)) {
        return b;
    }
    let b: &'static Bucket = Box::leak(Box::new(Bucket {
        stack: stack.into(),
        size,
        allocs: AtomicU64::new(0),
        frees: AtomicU64::new(0),
    }));
    map.insert((stack.into(), size), b);
    b
}

#[inline]
fn on_free(p: *mut u8) {
    if LIVE.count.load(Ordering::Relaxed) == 0 {
        return;
    }
    if let Some(bucket) = LIVE.remove(p as usize) {
        bucket.frees.fetch_add(1, Ordering::Relaxed);
    }
}

const LIVE_BITS: u32 = 16;
const LIVE_SLOTS: usize = 1 << LIVE_BITS;
/// Longest probe sequence of the live table; an insert that finds no room is dropped.
const MAX_PROBE: usize = 64;
const EMPTY: usize = 0;
const TOMBSTONE: usize = 1;

/// The live sampled blocks: a lock-free open-addressing table from address to bucket,
/// with a counting filter (one byte per home slot) that lets most frees skip it.
struct LiveTable {
    addrs: [AtomicUsize; LIVE_SLOTS],
    buckets: [AtomicPtr<Bucket>; LIVE_SLOTS],
    filter: [AtomicU8; LIVE_SLOTS],
    count: AtomicUsize,
}

static LIVE: LiveTable = LiveTable {
    addrs: [const { AtomicUsize::new(EMPTY) }; LIVE_SLOTS],
    buckets: [const { AtomicPtr::new(std::ptr::null_mut()) }; LIVE_SLOTS],
    filter: [const { AtomicU8::new(0) }; LIVE_SLOTS],
    count: AtomicUsize::new(0),
};

fn home(addr: usize) -> usize {
    ((addr as u64 >> 4).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> (64 - LIVE_BITS)) as usize
}

impl LiveTable {
    fn insert(&self, addr: usize, bucket: &'static Bucket) {
        let h = home(addr);
        for i in 0..MAX_PROBE {
            let slot = (h + i) & (LIVE_SLOTS - 1);
            let cur = self.addrs[slot].load(Ordering::Relaxed);
            if cur != EMPTY && cur != TOMBSTONE {
                continue;
            }
            // Claim the slot with a marker no real address has, fill it, then publish.
            if self.addrs[slot]
                .compare_exchange(cur, 2, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
            {
                self.buckets[slot].store(bucket as *const Bucket as *mut Bucket, Ordering::Relaxed);
                let f = &self.filter[h];
                let _ = f.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |c| {
                    (c < u8::MAX).then_some(c + 1)
                });
                self.count.fetch_add(1, Ordering::Relaxed);
                self.addrs[slot].store(addr, Ordering::Release);
                return;
            }
        }
    }

    fn remove(&self, addr: usize) -> Option<&'static Bucket> {
        let h = home(addr);
        if self.filter[h].load(Ordering::Relaxed) == 0 {
            return None;
        }
        for i in 0..MAX_PROBE {
            let slot = (h + i) & (LIVE_SLOTS - 1);
            let cur = self.addrs[slot].load(Ordering::Acquire);
            if cur == EMPTY {
                return None;
            }
            if cur != addr {
                continue;
            }
            let bucket = self.buckets[slot].load(Ordering::Relaxed);
            if self.addrs[slot]
                .compare_exchange(addr, TOMBSTONE, Ordering::AcqRel, Ordering::Relaxed)
                .is_err()
            {
                return None;
            }
            let _ = self.filter[h].fetch_update(Ordering::Relaxed, Ordering::Relaxed, |c| {
                (c != 0 && c != u8::MAX).then(|| c - 1)
            });
            self.count.fetch_sub(1, Ordering::Relaxed);
            // SAFETY: buckets are leaked, so the pointer stays valid forever.
            return unsafe { bucket.as_ref() };
        }
        None
    }
}

/// Go's `scaleHeapSample`: unbiases `count` sampled blocks totalling `size` bytes.
pub(crate) fn scale_heap_sample(count: i64, size: i64, rate: i64) -> (i64, i64) {
    if count == 0 || size == 0 {
        return (0, 0);
    }
    if rate <= 1 {
        return (count, size);
    }
    let avg = size as f64 / count as f64;
    let scale = 1.0 / (1.0 - (-avg / rate as f64).exp());
    ((count as f64 * scale) as i64, (size as f64 * scale) as i64)
}

/// Frames of the allocator machinery dropped from the leaf end of heap stacks.
const HEAP_TRIM: &[&str] = &[
    "backtrace::",
    "profkit_agent::",
    "<profkit_agent::",
    "_Unwind",
    "__rust_",
    "__rustc::",
    "__rdl_",
    "__rg_",
    "alloc::alloc::",
    "std::alloc::",
];

/// The heap profile as Go writes it for `/debug/pprof/heap`: sample types
/// alloc_objects/count, alloc_space/bytes, inuse_objects/count, inuse_space/bytes, the
/// period `space/bytes` at the sampling rate, a `bytes` label with the block size.
pub fn heap_profile() -> Profile {
    build_heap_profile("", true)
}

/// The same profile as [`heap_profile`], with `alloc_space` as the default sample type
/// (Go's `/debug/pprof/allocs`).
pub fn allocs_profile() -> Profile {
    build_heap_profile("alloc_space", true)
}

/// The heap profile with the sampled counts as they are (not unbiased), and the
/// sampling rate: what Go's `?debug=1` text shows.
pub(crate) fn sampled_heap_profile() -> (Profile, i64) {
    (build_heap_profile("", false), mem_profile_rate() as i64)
}

fn build_heap_profile(default_type: &str, unbias: bool) -> Profile {
    let buckets: Vec<&'static Bucket> = without_sampling(|| {
        BUCKETS
            .lock()
            .as_ref()
            .map(|m| m.values().copied().collect())
            .unwrap_or_default()
    });
    let rate = mem_profile_rate() as i64;
    let mut b = ProfileBuilder::new(
        &[
            ("alloc_objects", "count"),
            ("alloc_space", "bytes"),
            ("inuse_objects", "count"),
            ("inuse_space", "bytes"),
        ],
        ("space", "bytes"),
        rate,
    )
    .trim_leaf_frames(HEAP_TRIM);
    if !default_type.is_empty() {
        b.default_sample_type(default_type);
    }
    let mut sorted = buckets;
    sorted.sort_by(|a, b| (&a.stack, a.size).cmp(&(&b.stack, b.size)));
    for bucket in sorted {
        let allocs = bucket.allocs.load(Ordering::Relaxed) as i64;
        let frees = (bucket.frees.load(Ordering::Relaxed) as i64).min(allocs);
        let size = bucket.size as i64;
        let scale_rate = if unbias { rate } else { 1 };
        let (ao, ab) = scale_heap_sample(allocs, allocs * size, scale_rate);
        let (io, ib) = scale_heap_sample(allocs - frees, (allocs - frees) * size, scale_rate);
        if ao == 0 && ab == 0 {
            continue;
        }
        let label = b.num_label("bytes", size, "");
        b.add(&bucket.stack, false, &[ao, ab, io, ib], &[label]);
    }
    b.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scale_heap_sample_unbiases_small_blocks_and_keeps_large_ones() {
        // A block of the rate's size is sampled with probability 1 - 1/e.
        let (c, s) = scale_heap_sample(1, 512 * 1024, 512 * 1024);
        assert_eq!(c, 1);
        assert_eq!(s, (512.0 * 1024.0 / (1.0 - (-1f64).exp())) as i64);
        // Tiny blocks are scaled by about rate/size.
        let (c, _) = scale_heap_sample(1, 16, 512 * 1024);
        assert!((32_700..=32_800).contains(&c), "{c}");
        assert_eq!(scale_heap_sample(3, 30, 1), (3, 30));
        assert_eq!(scale_heap_sample(0, 0, 512), (0, 0));
    }

    #[test]
    fn exponential_draws_have_the_rate_as_mean() {
        let n = 20_000;
        let sum: i64 = (0..n).map(|_| draw(4096)).sum();
        let mean = sum as f64 / n as f64;
        assert!((mean - 4096.0).abs() < 4096.0 * 0.05, "mean {mean}");
    }

    #[test]
    fn live_table_finds_inserted_addresses_once() {
        let b: &'static Bucket = Box::leak(Box::new(Bucket {
            stack: Box::new([]),
            size: 8,
            allocs: AtomicU64::new(0),
            frees: AtomicU64::new(0),
        }));
        let addr = 0x7f00_dead_bee0;
        LIVE.insert(addr, b);
        assert!(std::ptr::eq(LIVE.remove(addr).unwrap(), b));
        assert!(LIVE.remove(addr).is_none());
        assert!(LIVE.remove(addr + 16).is_none());
    }
}
