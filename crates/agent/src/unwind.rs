//! Stack walking: [`walk`], safe in a signal handler, and [`capture`], for ordinary
//! code (the allocation and lock paths of the heap and contention profilers).
//!
//! [`walk`] unwinds with DWARF call-frame information (see [`crate::dwarf`]) and falls
//! back to frame pointers when that cannot be used. The frame-pointer walk follows the
//! chain of saved frame pointers from the interrupted registers.
//! It allocates nothing and takes no lock. Each frame is checked before it is read: it
//! must lie above the previous one, inside a window above the stack pointer, be aligned,
//! and be on a page known to be readable. Readability is learnt once per page with a
//! `process_vm_readv` probe on the process itself (a syscall that fails with `EFAULT`
//! instead of faulting), and the readable range of the thread's stack is remembered in a
//! thread-local, so a walk on a known stack costs no syscall.
//!
//! The same readability check guards every stack read of the DWARF unwinder.

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

/// How far above the stack pointer a frame may be (the largest stack walked).
pub(crate) const STACK_WINDOW: usize = 64 << 20;
const PAGE: usize = 4096;

thread_local! {
    /// A range of this thread's memory known to be readable: [start, end).
    static SAFE: Cell<(usize, usize)> = const { Cell::new((0, 0)) };
}

static PID: AtomicI32 = AtomicI32::new(0);
static PROBE_BROKEN: AtomicBool = AtomicBool::new(false);

/// Prepares the unwinder for use in signal handlers (caches the process id).
pub(crate) fn init() {
    // SAFETY: getpid has no preconditions.
    PID.store(unsafe { libc::getpid() }, Ordering::Relaxed);
}

/// Fills `stack` with the program counters of the calling thread's stack, innermost
/// first, as far as it holds; returns how many. The first are the unwinder's own
/// frames and the caller's, which profiles trim. Inlined, so that it takes no frame of
/// its own from a deep stack. Uses the `backtrace` crate's unwinder, which is not safe
/// in a signal handler (use [`walk`] there).
#[inline(always)]
pub(crate) fn capture(stack: &mut [u64]) -> usize {
    if stack.is_empty() {
        return 0;
    }
    let mut depth = 0;
    // SAFETY: on Linux the unwinder is thread-safe; the callback only writes `stack`.
    unsafe {
        backtrace::trace_unsynchronized(|frame| {
            stack[depth] = frame.ip() as u64;
            depth += 1;
            depth < stack.len()
        });
    }
    depth
}

/// Whether `len` bytes at `addr` can be read, without faulting.
pub(crate) fn readable(addr: usize, len: usize) -> bool {
    let end = match addr.checked_add(len) {
        Some(e) => e,
        None => return false,
    };
    let (lo, hi) = SAFE.try_with(|s| s.get()).unwrap_or((0, 0));
    if lo <= addr && end <= hi {
        return true;
    }
    if PROBE_BROKEN.load(Ordering::Relaxed) {
        return false;
    }
    let mut buf = [0u8; 16];
    let local = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: len.min(16),
    };
    let remote = libc::iovec {
        iov_base: addr as *mut libc::c_void,
        iov_len: len.min(16),
    };
    // SAFETY: the local buffer is ours and large enough; the kernel checks the remote range.
    let n =
        unsafe { libc::process_vm_readv(PID.load(Ordering::Relaxed), &local, 1, &remote, 1, 0) };
    if n != len.min(16) as isize {
        // SAFETY: reading errno of this thread.
        let err = unsafe { *libc::__errno_location() };
        if err == libc::ENOSYS || err == libc::EPERM {
            PROBE_BROKEN.store(true, Ordering::Relaxed);
        }
        return false;
    }
    let page_lo = addr & !(PAGE - 1);
    let page_hi = (end + PAGE - 1) & !(PAGE - 1);
    let _ = SAFE.try_with(|s| {
        let (lo, hi) = s.get();
        if lo < hi && page_lo <= hi && page_hi >= lo {
            s.set((lo.min(page_lo), hi.max(page_hi)));
        } else {
            s.set((page_lo, page_hi));
        }
    });
    true
}

/// Walks the stack from the interrupted registers, writing `pc` then each return
/// address into `out`; returns the number of addresses written. Uses DWARF call-frame
/// information where it can, frame pointers otherwise. Async-signal-safe.
pub(crate) fn walk(regs: &Registers, out: &mut [u64]) -> usize {
    if out.is_empty() {
        return 0;
    }
    // A stack the cache does not cover means the thread switched stacks: forget it.
    let sp = regs.sp;
    let _ = SAFE.try_with(|s| {
        let (lo, hi) = s.get();
        if !(lo <= sp && sp < hi) {
            s.set((0, 0));
        }
    });
    match crate::dwarf::walk(regs, out) {
        Some(n) if n > 1 => n,
        _ => frame_pointers(regs.pc, regs.fp, regs.sp, out),
    }
}

/// Walks the frame-pointer chain starting at the interrupted `pc`, frame pointer `fp`
/// and stack pointer `sp`, writing `pc` then each return address into `out`. Returns the
/// number of addresses written.
fn frame_pointers(pc: usize, fp: usize, sp: usize, out: &mut [u64]) -> usize {
    if out.is_empty() {
        return 0;
    }
    out[0] = pc as u64;
    let mut n = 1;
    let limit = sp.saturating_add(STACK_WINDOW);
    let mut lower = sp;
    let mut fp = fp;
    while n < out.len() {
        if fp < lower || fp >= limit || !fp.is_multiple_of(std::mem::align_of::<usize>()) {
            break;
        }
        if !readable(fp, 2 * std::mem::size_of::<usize>()) {
            break;
        }
        // SAFETY: the two words at fp were just checked to be readable.
        let (next, ret) = unsafe { (*(fp as *const usize), *((fp + 8) as *const usize)) };
        if ret == 0 {
            break;
        }
        out[n] = ret as u64;
        n += 1;
        if next <= fp {
            break;
        }
        lower = fp + 16;
        fp = next;
    }
    n
}

/// The registers a stack walk starts from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Registers {
    /// The program counter.
    pub pc: usize,
    /// The stack pointer.
    pub sp: usize,
    /// The frame pointer (rbp, x29).
    pub fp: usize,
    /// The link register (aarch64's x30; unused on x86-64).
    pub lr: usize,
}

/// The registers saved in a signal handler's `ucontext`.
///
/// # Safety
/// `uc` must be the context pointer the kernel passed to a `SA_SIGINFO` handler.
pub(crate) unsafe fn registers(uc: *mut libc::c_void) -> Registers {
    if uc.is_null() {
        return Registers::default();
    }
    // SAFETY: per the contract, uc points to a ucontext_t.
    let uc = unsafe { &*(uc as *const libc::ucontext_t) };
    #[cfg(target_arch = "x86_64")]
    {
        let g = &uc.uc_mcontext.gregs;
        Registers {
            pc: g[libc::REG_RIP as usize] as usize,
            sp: g[libc::REG_RSP as usize] as usize,
            fp: g[libc::REG_RBP as usize] as usize,
            lr: 0,
        }
    }
    #[cfg(target_arch = "aarch64")]
    {
        let m = &uc.uc_mcontext;
        Registers {
            pc: m.pc as usize,
            sp: m.sp as usize,
            fp: m.regs[29] as usize,
            lr: m.regs[30] as usize,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[inline(never)]
    fn current_fp() -> usize {
        let fp: usize;
        // SAFETY: reads a register.
        #[cfg(target_arch = "x86_64")]
        unsafe {
            std::arch::asm!("mov {}, rbp", out(reg) fp)
        };
        #[cfg(target_arch = "aarch64")]
        unsafe {
            std::arch::asm!("mov {}, x29", out(reg) fp)
        };
        fp
    }

    #[test]
    fn walk_stops_at_unreadable_or_descending_frames() {
        init();
        let mut out = [0u64; 8];
        // A frame pointer outside the window stops the walk after the pc.
        assert_eq!(frame_pointers(0x1234, 0x10, 0x1000, &mut out), 1);
        assert_eq!(out[0], 0x1234);
        // A frame pointer on an unmapped page is not read.
        let sp = 0x7000_0000_0000usize;
        assert_eq!(frame_pointers(1, sp + 64, sp, &mut out), 1);
    }

    #[test]
    fn walk_follows_this_threads_frame_chain() {
        init();
        let fp = current_fp();
        let mut out = [0u64; 32];
        let n = frame_pointers(1, fp, fp - 64, &mut out);
        assert!(n > 3, "walked {n} frames");
    }

    #[test]
    fn readable_rejects_null_and_accepts_the_stack() {
        init();
        assert!(!readable(8, 16));
        let x = [0u64; 4];
        assert!(readable(x.as_ptr() as usize, 16));
    }
}
