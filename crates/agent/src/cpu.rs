//! The CPU profiler: per-thread CPU-time timers delivering `SIGPROF`, a signal handler
//! that records stacks into a preallocated lock-free ring, and a sampler thread that
//! drains the ring and keeps one timer per thread of the process.
//!
//! Like Go since 1.18, each thread gets its own timer on its CPU-time clock
//! (`timer_create` on the thread's clock with `SIGEV_THREAD_ID`), so busy threads are
//! sampled fairly and no sample is lost to signal coalescing. The sampler thread lists
//! `/proc/self/task` every few milliseconds, so threads started before or during a
//! profile are covered. Where per-thread timers are unavailable, a process-wide
//! `setitimer(ITIMER_PROF)` is used instead.
//!
//! The handler allocates nothing and takes no lock: it reads the interrupted registers,
//! walks the stack (DWARF call-frame information, else frame pointers: see
//! [`crate::unwind`]) and claims a ring slot with one atomic
//! operation. Symbolization happens when the profile is built.

use std::cell::UnsafeCell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Once};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use profile::{Error, Profile, Result};

use crate::builder::ProfileBuilder;
use crate::{dwarf, labels, threads, unwind};

/// Go's default CPU sampling rate, in samples per second of CPU time.
pub const DEFAULT_CPU_HZ: u32 = 100;

/// Deepest stack recorded by the signal handler.
pub(crate) const MAX_DEPTH: usize = 64;
const RING_SLOTS: usize = 4096;
/// How often the sampler thread drains the ring and looks for new threads.
const POLL: Duration = Duration::from_millis(10);

/// One sample in the ring.
struct Slot {
    /// Vyukov's sequence number: `pos` when free for the writer at `pos`, `pos + 1` when
    /// written and ready for the reader.
    seq: AtomicUsize,
    data: UnsafeCell<SlotData>,
}

#[derive(Clone, Copy)]
struct SlotData {
    tid: i32,
    /// Timer periods this sample stands for (1 plus the timer's overruns).
    weight: u32,
    labels: u64,
    depth: usize,
    frames: [u64; MAX_DEPTH],
}

// SAFETY: `data` is written only by the producer that claimed the slot through `seq`, and
// read only by the single consumer after `seq` says it is complete.
unsafe impl Sync for Slot {}

/// A bounded multi-producer, single-consumer queue of samples (Vyukov's design).
struct Ring {
    slots: [Slot; RING_SLOTS],
    head: AtomicUsize,
    tail: AtomicUsize,
}

static RING: Ring = Ring {
    slots: {
        let mut slots = [const {
            Slot {
                seq: AtomicUsize::new(0),
                data: UnsafeCell::new(SlotData {
                    tid: 0,
                    weight: 0,
                    labels: 0,
                    depth: 0,
                    frames: [0; MAX_DEPTH],
                }),
            }
        }; RING_SLOTS];
        let mut i = 0;
        while i < RING_SLOTS {
            slots[i].seq = AtomicUsize::new(i);
            i += 1;
        }
        slots
    },
    head: AtomicUsize::new(0),
    tail: AtomicUsize::new(0),
};

impl Ring {
    /// Claims a slot and fills it with `fill`; false when the ring is full.
    fn push(&self, fill: impl FnOnce(&mut SlotData)) -> bool {
        let mut pos = self.head.load(Ordering::Relaxed);
        loop {
            let slot = &self.slots[pos % RING_SLOTS];
            let seq = slot.seq.load(Ordering::Acquire);
            if seq == pos {
                match self.head.compare_exchange_weak(
                    pos,
                    pos + 1,
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => {
                        // SAFETY: the compare-exchange gave this producer the slot.
                        fill(unsafe { &mut *slot.data.get() });
                        slot.seq.store(pos + 1, Ordering::Release);
                        return true;
                    }
                    Err(p) => pos = p,
                }
            } else if seq < pos {
                return false;
            } else {
                pos = self.head.load(Ordering::Relaxed);
            }
        }
    }

    /// Takes the oldest complete sample, if any. Only the sampler thread calls this.
    fn pop(&self) -> Option<SlotData> {
        let pos = self.tail.load(Ordering::Relaxed);
        let slot = &self.slots[pos % RING_SLOTS];
        if slot.seq.load(Ordering::Acquire) != pos + 1 {
            return None;
        }
        // SAFETY: the slot is complete and no producer touches it until seq moves on.
        let data = unsafe { *slot.data.get() };
        slot.seq.store(pos + RING_SLOTS, Ordering::Release);
        self.tail.store(pos + 1, Ordering::Relaxed);
        Some(data)
    }
}

static ENABLED: AtomicBool = AtomicBool::new(false);
static IN_USE: AtomicBool = AtomicBool::new(false);
static LOST: AtomicU64 = AtomicU64::new(0);
static INSTALL: Once = Once::new();

/// The id of the calling thread. Async-signal-safe.
pub(crate) fn gettid() -> i32 {
    // SAFETY: gettid has no preconditions.
    unsafe { libc::syscall(libc::SYS_gettid) as i32 }
}

/// Installs the `SIGPROF` handler (once; it stays installed, ignoring stray signals).
pub(crate) fn install_handler() {
    INSTALL.call_once(|| {
        unwind::init();
        // SAFETY: the handler is async-signal-safe; the sigaction struct is fully set.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_sigprof as *const () as usize;
            sa.sa_flags = libc::SA_SIGINFO | libc::SA_RESTART | libc::SA_ONSTACK;
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(libc::SIGPROF, &sa, std::ptr::null_mut());
        }
    });
}

extern "C" fn on_sigprof(_sig: libc::c_int, info: *mut libc::siginfo_t, uc: *mut libc::c_void) {
    // SAFETY: errno is thread-local; it is restored before returning.
    let errno = unsafe { *libc::__errno_location() };
    // SAFETY: the kernel passes a valid siginfo and ucontext to SA_SIGINFO handlers.
    let code = if info.is_null() {
        0
    } else {
        unsafe { (*info).si_code }
    };
    // SAFETY: uc is the handler's context argument.
    let regs = unsafe { unwind::registers(uc) };
    if code == libc::SI_TKILL {
        threads::on_dump_signal(&regs);
    } else if ENABLED.load(Ordering::Relaxed) {
        let tid = gettid();
        let labels = labels::current();
        let weight = 1 + timer_overrun(info, code);
        let pushed = RING.push(|d| {
            d.tid = tid;
            d.weight = weight;
            d.labels = labels;
            d.depth = unwind::walk(&regs, &mut d.frames);
        });
        if !pushed {
            LOST.fetch_add(1, Ordering::Relaxed);
        }
    }
    // SAFETY: see above.
    unsafe { *libc::__errno_location() = errno };
}

/// The overrun count of a timer signal: expirations merged into this one because the
/// previous signal was still pending.
fn timer_overrun(info: *const libc::siginfo_t, code: libc::c_int) -> u32 {
    if info.is_null() || code != libc::SI_TIMER {
        return 0;
    }
    // The kernel's siginfo for timers: signo, errno, code, padding, then timer id and
    // overrun count as ints.
    // SAFETY: a SI_TIMER siginfo has the _timer union member at this offset.
    let overrun = unsafe { *(info as *const u8).add(20).cast::<i32>() };
    overrun.clamp(0, 1000) as u32
}

/// Samples counted per (stack, label set, thread).
type SampleKey = (Box<[u64]>, u64, i32);
type Counts = HashMap<SampleKey, i64>;

struct Collected {
    counts: Counts,
    names: HashMap<i32, String>,
}

fn drain(c: &mut Collected) {
    while let Some(d) = RING.pop() {
        let stack: Box<[u64]> = d.frames[..d.depth.min(MAX_DEPTH)].into();
        *c.counts.entry((stack, d.labels, d.tid)).or_insert(0) += i64::from(d.weight);
        c.names
            .entry(d.tid)
            .or_insert_with(|| thread_name(d.tid).unwrap_or_default());
    }
}

/// The name of thread `tid` of this process.
pub(crate) fn thread_name(tid: i32) -> Option<String> {
    let s = std::fs::read_to_string(format!("/proc/self/task/{tid}/comm")).ok()?;
    Some(s.trim_end().to_string())
}

/// The ids of the threads of this process.
pub(crate) fn thread_ids() -> Vec<i32> {
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else {
        return Vec::new();
    };
    let mut tids: Vec<i32> = dir
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    tids.sort_unstable();
    tids
}

/// The per-thread timers of a running profile.
struct Timers {
    period: libc::timespec,
    by_tid: HashMap<i32, libc::timer_t>,
    /// Per-thread timers failed; a process-wide itimer runs instead.
    itimer: bool,
}

impl Timers {
    fn new(hz: u32) -> Timers {
        let ns = 1_000_000_000 / i64::from(hz.max(1));
        Timers {
            period: libc::timespec {
                tv_sec: (ns / 1_000_000_000) as libc::time_t,
                tv_nsec: (ns % 1_000_000_000) as libc::c_long,
            },
            by_tid: HashMap::new(),
            itimer: false,
        }
    }

    /// Creates timers for new threads and deletes those of threads gone.
    fn sync(&mut self, skip: i32) {
        if self.itimer {
            return;
        }
        let tids = thread_ids();
        self.by_tid.retain(|tid, timer| {
            if tids.binary_search(tid).is_ok() {
                return true;
            }
            // SAFETY: the timer was created by this struct and is deleted once.
            unsafe { libc::timer_delete(*timer) };
            false
        });
        for tid in tids {
            if tid == skip || self.by_tid.contains_key(&tid) {
                continue;
            }
            match self.create(tid) {
                Ok(t) => {
                    self.by_tid.insert(tid, t);
                }
                Err(e) if e == libc::ESRCH || e == libc::EINVAL && !self.by_tid.is_empty() => {}
                Err(_) => {
                    self.start_itimer();
                    return;
                }
            }
        }
    }

    fn create(&self, tid: i32) -> std::result::Result<libc::timer_t, i32> {
        // The kernel's clock id for a thread's CPU time (MAKE_THREAD_CPUCLOCK).
        let clock = ((!tid) << 3) | 6;
        // SAFETY: plain syscalls on zero-initialized, fully set structures.
        unsafe {
            let mut sev: libc::sigevent = std::mem::zeroed();
            sev.sigev_notify = libc::SIGEV_THREAD_ID;
            sev.sigev_signo = libc::SIGPROF;
            sev.sigev_notify_thread_id = tid;
            let mut timer: libc::timer_t = std::ptr::null_mut();
            if libc::timer_create(clock, &mut sev, &mut timer) != 0 {
                return Err(*libc::__errno_location());
            }
            let spec = libc::itimerspec {
                it_interval: self.period,
                it_value: self.period,
            };
            if libc::timer_settime(timer, 0, &spec, std::ptr::null_mut()) != 0 {
                let e = *libc::__errno_location();
                libc::timer_delete(timer);
                return Err(e);
            }
            Ok(timer)
        }
    }

    fn start_itimer(&mut self) {
        self.stop();
        self.itimer = true;
        let tv = libc::timeval {
            tv_sec: self.period.tv_sec,
            tv_usec: (self.period.tv_nsec / 1000) as libc::suseconds_t,
        };
        let it = libc::itimerval {
            it_interval: tv,
            it_value: tv,
        };
        // SAFETY: plain syscall on a fully set structure.
        unsafe { libc::setitimer(libc::ITIMER_PROF, &it, std::ptr::null_mut()) };
    }

    fn stop(&mut self) {
        for (_, timer) in self.by_tid.drain() {
            // SAFETY: each timer was created here and is deleted once.
            unsafe { libc::timer_delete(timer) };
        }
        if self.itimer {
            let zero = libc::itimerval {
                it_interval: libc::timeval {
                    tv_sec: 0,
                    tv_usec: 0,
                },
                it_value: libc::timeval {
                    tv_sec: 0,
                    tv_usec: 0,
                },
            };
            // SAFETY: plain syscall.
            unsafe { libc::setitimer(libc::ITIMER_PROF, &zero, std::ptr::null_mut()) };
        }
    }
}

/// A CPU profile being collected; [`CpuProfiler::stop`] ends it and returns the profile.
#[derive(Debug)]
pub struct CpuProfiler {
    hz: u32,
    started: Instant,
    started_wall: SystemTime,
    stop: Arc<AtomicBool>,
    sampler: Option<JoinHandle<CollectedCounts>>,
}

/// What the sampler thread hands back.
#[derive(Debug, Default)]
struct CollectedCounts {
    counts: Vec<(SampleKey, i64)>,
    names: HashMap<i32, String>,
}

impl CpuProfiler {
    /// Starts profiling every thread of the process at `hz` samples per CPU second.
    /// Fails when a CPU profile is already running (as Go's does).
    pub fn start(hz: u32) -> Result<CpuProfiler> {
        if !(1..=10_000).contains(&hz) {
            return Err(Error::new(format!(
                "cpu profile rate {hz} Hz is out of range 1..=10000"
            )));
        }
        if IN_USE.swap(true, Ordering::AcqRel) {
            return Err(Error::new("cpu profiling already in use"));
        }
        install_handler();
        dwarf::refresh();
        while RING.pop().is_some() {}
        LOST.store(0, Ordering::Relaxed);
        ENABLED.store(true, Ordering::Release);
        let stop = Arc::new(AtomicBool::new(false));
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let stop2 = stop.clone();
        let sampler = std::thread::Builder::new()
            .name("profkit-cpu".into())
            .spawn(move || sampler_loop(hz, stop2, ready_tx))
            .map_err(|e| {
                ENABLED.store(false, Ordering::Release);
                IN_USE.store(false, Ordering::Release);
                Error::new(format!("cannot start the cpu sampler thread: {e}"))
            })?;
        let _ = ready_rx.recv_timeout(Duration::from_secs(1));
        Ok(CpuProfiler {
            hz,
            started: Instant::now(),
            started_wall: SystemTime::now(),
            stop,
            sampler: Some(sampler),
        })
    }

    /// Stops profiling and builds the profile (Go's layout: sample types
    /// samples/count and cpu/nanoseconds, period cpu/nanoseconds).
    pub fn stop(mut self) -> Profile {
        self.finish()
    }

    fn finish(&mut self) -> Profile {
        self.stop.store(true, Ordering::Release);
        let collected = self
            .sampler
            .take()
            .and_then(|h| {
                h.thread().unpark();
                h.join().ok()
            })
            .unwrap_or_default();
        let duration = self.started.elapsed().as_nanos() as i64;
        IN_USE.store(false, Ordering::Release);
        build_cpu_profile(self.hz, self.started_wall, duration, collected)
    }

    /// Samples dropped so far because the ring was full.
    pub fn lost_samples(&self) -> u64 {
        LOST.load(Ordering::Relaxed)
    }
}

impl Drop for CpuProfiler {
    fn drop(&mut self) {
        if self.sampler.is_some() {
            let _ = self.finish();
        }
    }
}

fn sampler_loop(
    hz: u32,
    stop: Arc<AtomicBool>,
    ready: std::sync::mpsc::Sender<()>,
) -> CollectedCounts {
    let me = gettid();
    let mut timers = Timers::new(hz);
    let mut c = Collected {
        counts: HashMap::new(),
        names: HashMap::new(),
    };
    timers.sync(me);
    let _ = ready.send(());
    while !stop.load(Ordering::Acquire) {
        std::thread::park_timeout(POLL);
        timers.sync(me);
        dwarf::refresh();
        drain(&mut c);
    }
    timers.stop();
    ENABLED.store(false, Ordering::Release);
    // Let handlers already running finish their slot.
    std::thread::sleep(Duration::from_millis(2));
    drain(&mut c);
    CollectedCounts {
        counts: c.counts.into_iter().collect(),
        names: c.names,
    }
}

/// Frames of the signal machinery dropped from the leaf end of CPU stacks.
const CPU_TRIM: &[&str] = &["__restore_rt"];

fn build_cpu_profile(hz: u32, start: SystemTime, duration: i64, mut c: CollectedCounts) -> Profile {
    let period = 1_000_000_000 / i64::from(hz);
    let mut b = ProfileBuilder::new(
        &[("samples", "count"), ("cpu", "nanoseconds")],
        ("cpu", "nanoseconds"),
        period,
    )
    .trim_leaf_frames(CPU_TRIM);
    b.set_time(start, duration);
    c.counts.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    let mut sets = HashMap::new();
    for ((stack, set, tid), n) in &c.counts {
        let mut labels = Vec::new();
        let set = sets.entry(*set).or_insert_with(|| labels::label_set(*set));
        for (k, v) in set.iter().flat_map(|s| s.iter()) {
            labels.push(b.str_label(k, v));
        }
        if let Some(name) = c.names.get(tid).filter(|n| !n.is_empty()) {
            labels.push(b.str_label("thread", name));
        }
        b.add(stack, true, &[*n, *n * period], &labels);
    }
    b.finish()
}

/// Profiles the CPU for `duration` at `hz` and returns the profile (blocking), like Go's
/// `/debug/pprof/profile?seconds=N`.
pub fn cpu_profile(duration: Duration, hz: u32) -> Result<Profile> {
    let p = CpuProfiler::start(hz)?;
    std::thread::sleep(duration);
    Ok(p.stop())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ring_returns_samples_in_order_and_refuses_when_full() {
        // The ring is shared with the handler; the profiler is off in unit tests.
        while RING.pop().is_some() {}
        assert!(RING.push(|d| {
            d.tid = 7;
            d.depth = 1;
            d.frames[0] = 42;
        }));
        assert!(RING.push(|d| d.tid = 8));
        assert_eq!(RING.pop().map(|d| (d.tid, d.frames[0])), Some((7, 42)));
        assert_eq!(RING.pop().map(|d| d.tid), Some(8));
        assert!(RING.pop().is_none());
        let mut pushed = 0;
        while RING.push(|_| {}) {
            pushed += 1;
        }
        assert_eq!(pushed, RING_SLOTS);
        while RING.pop().is_some() {}
    }

    #[test]
    fn rates_out_of_range_are_refused() {
        assert!(CpuProfiler::start(0).is_err());
        assert!(CpuProfiler::start(1_000_000).is_err());
    }
}
