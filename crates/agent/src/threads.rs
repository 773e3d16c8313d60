//! Thread stacks: the current stack of every thread of the process (Go's goroutine
//! profile, for threads).
//!
//! Each thread in turn is sent `SIGPROF` with `tgkill`; the handler (shared with the CPU
//! profiler, told apart by the signal's `SI_TKILL` code) walks its stack into a
//! single request buffer. Threads that do not answer in time (signal blocked) are
//! skipped. Blocking system calls interrupted by the signal are restarted
//! (`SA_RESTART`), or return `EINTR` where the kernel does not restart them.

use std::cell::UnsafeCell;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use profile::Profile;

use crate::builder::ProfileBuilder;
use crate::cpu::{gettid, install_handler, thread_ids, thread_name, MAX_DEPTH};
use crate::unwind;

/// The pending request: `generation << 32 | tid`, with [`BUSY`] set while the target
/// thread writes its stack; 0 when none is pending.
static REQUEST: AtomicU64 = AtomicU64::new(0);
const BUSY: u64 = 1 << 31;

struct DumpBuffer(UnsafeCell<[u64; MAX_DEPTH]>);
// SAFETY: written only by the thread holding the BUSY request, read by the requester
// after that thread released it.
unsafe impl Sync for DumpBuffer {}

static BUFFER: DumpBuffer = DumpBuffer(UnsafeCell::new([0; MAX_DEPTH]));
static DEPTH: AtomicUsize = AtomicUsize::new(0);
/// Serializes dumps (one request buffer).
static DUMPING: Mutex<u32> = Mutex::new(0);

/// Called by the signal handler on a `tgkill`ed `SIGPROF`. Async-signal-safe.
pub(crate) fn on_dump_signal(regs: &unwind::Registers) {
    let req = REQUEST.load(Ordering::Acquire);
    if req == 0 || req & BUSY != 0 || (req & 0x7fff_ffff) as i32 != gettid() {
        return;
    }
    if REQUEST
        .compare_exchange(req, req | BUSY, Ordering::AcqRel, Ordering::Relaxed)
        .is_err()
    {
        return;
    }
    // SAFETY: the BUSY flag gives this thread the buffer.
    let n = unwind::walk(regs, unsafe { &mut *BUFFER.0.get() });
    DEPTH.store(n, Ordering::Relaxed);
    REQUEST.store(0, Ordering::Release);
}

/// The current stack of one thread.
#[derive(Clone, Debug)]
pub struct ThreadStack {
    /// The thread's id.
    pub tid: i32,
    /// The thread's name.
    pub name: String,
    /// Program counters, leaf first: the interrupted instruction, then return addresses.
    pub stack: Vec<u64>,
}

/// The current stacks of every thread of the process that answers within `timeout`.
pub fn thread_stacks(timeout: Duration) -> Vec<ThreadStack> {
    install_handler();
    crate::dwarf::refresh();
    let mut generation = DUMPING.lock();
    // SAFETY: getpid has no preconditions.
    let pid = unsafe { libc::getpid() };
    let mut out = Vec::new();
    for tid in thread_ids() {
        *generation = generation.wrapping_add(1) & 0x7fff_ffff;
        let req = (u64::from(*generation).max(1) << 32) | tid as u32 as u64;
        REQUEST.store(req, Ordering::Release);
        // SAFETY: plain syscall; the handler is installed.
        let sent = unsafe { libc::syscall(libc::SYS_tgkill, pid, tid, libc::SIGPROF) } == 0;
        let answered = sent && wait_for_answer(req, Instant::now() + timeout);
        if !sent {
            REQUEST.store(0, Ordering::Release);
        }
        if answered {
            let n = DEPTH.load(Ordering::Relaxed).min(MAX_DEPTH);
            // SAFETY: the handler finished with the buffer (REQUEST is 0).
            let stack = unsafe { (&*BUFFER.0.get())[..n].to_vec() };
            out.push(ThreadStack {
                tid,
                name: thread_name(tid).unwrap_or_default(),
                stack,
            });
        }
    }
    out
}

/// Waits until the thread takes and completes request `req`; withdraws it at
/// `deadline` unless the thread is writing its stack. Whether the thread answered.
fn wait_for_answer(req: u64, deadline: Instant) -> bool {
    loop {
        let cur = REQUEST.load(Ordering::Acquire);
        if cur == 0 {
            return true;
        }
        if Instant::now() >= deadline
            && cur & BUSY == 0
            && REQUEST
                .compare_exchange(req, 0, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
        {
            return false;
        }
        std::thread::yield_now();
    }
}

/// Frames of the signal machinery dropped from the leaf end of thread stacks.
const THREAD_TRIM: &[&str] = &[
    "profkit_agent::threads::",
    "profkit_agent::cpu::",
    "__restore_rt",
];

/// The thread-stacks profile: one sample per distinct stack, counting the threads on it
/// (sample type `threads/count`, as Go's goroutine profile counts goroutines).
pub fn threads_profile() -> Profile {
    profile_from(&thread_stacks(Duration::from_millis(200)))
}

fn profile_from(stacks: &[ThreadStack]) -> Profile {
    let mut counts: HashMap<&[u64], i64> = HashMap::new();
    for t in stacks {
        *counts.entry(&t.stack).or_insert(0) += 1;
    }
    let mut counts: Vec<(&[u64], i64)> = counts.into_iter().collect();
    counts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let mut b = ProfileBuilder::new(&[("threads", "count")], ("threads", "count"), 1)
        .trim_leaf_frames(THREAD_TRIM);
    for (stack, n) in counts {
        b.add(stack, true, &[n], &[]);
    }
    b.finish()
}

/// The thread-stacks profile in Go's `?debug=1` text form: `NAME profile: total N`, then
/// for each distinct stack its count and addresses, and one `#` line per source frame.
pub fn threads_text(name: &str) -> String {
    let p = threads_profile();
    let total: i64 = p.samples.iter().map(|s| s.values.at(0)).sum();
    let mut out = format!("{name} profile: total {total}\n");
    let mut entries = HashMap::new();
    for s in p.samples.iter() {
        let _ = write!(out, "{}", s.values.at(0));
        crate::text::write_record_stack(&mut out, &p, s.locations, true, &mut entries);
    }
    let mut out = crate::text::align_tabs(&out);
    crate::text::append_memory_map(&mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    #[inline(never)]
    fn parked_in_known_function(rx: mpsc::Receiver<()>) {
        let _ = rx.recv();
    }

    #[test]
    fn every_thread_answers_with_its_stack() {
        let (tx, rx) = mpsc::channel();
        let t = std::thread::Builder::new()
            .name("known-thread".into())
            .spawn(move || parked_in_known_function(rx))
            .unwrap();
        std::thread::sleep(Duration::from_millis(50));
        let stacks = thread_stacks(Duration::from_millis(500));
        let me = gettid();
        assert!(stacks.iter().any(|s| s.tid == me), "the caller itself");
        let known = stacks
            .iter()
            .find(|s| s.name == "known-thread")
            .expect("the spawned thread");
        assert!(!known.stack.is_empty());
        tx.send(()).unwrap();
        t.join().unwrap();
    }
}
