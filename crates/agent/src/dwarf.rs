//! DWARF call-frame unwinding that is safe in a signal handler.
//!
//! Code built without frame pointers (Rust's default) still describes every frame in
//! its `.eh_frame` section, indexed by `.eh_frame_hdr`: that is what the signal handler
//! walks here, with `framehop` over the loaded objects' own mapped sections.
//!
//! Everything that allocates happens outside the handler, in [`refresh`]: listing the
//! loaded objects, building the unwinder over their sections, and creating a fixed pool
//! of unwind caches (framehop's `MustNotAllocateDuringUnwind` policy, so evaluating
//! call-frame instructions needs no heap). The handler loads the current unwinder with
//! one atomic read, claims a free cache with one compare-exchange, and reads stack
//! memory only after [`crate::unwind`] has checked it readable. When no cache is free
//! or no unwinder is built yet, the caller falls back to frame pointers.
//!
//! An unwinder is never freed once published (a handler on another thread may still
//! hold it); a new one is built only when the set of loaded objects changes, so the
//! memory kept is bounded by the number of `dlopen`/`dlclose` changes observed.

use std::cell::UnsafeCell;
use std::ffi::CStr;
use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicPtr, Ordering};
use std::sync::OnceLock;

use framehop::{
    CacheNative, ExplicitModuleSectionInfo, Module, MustNotAllocateDuringUnwind, Unwinder,
    UnwinderNative,
};
use parking_lot::Mutex;

use crate::unwind::{readable, Registers, STACK_WINDOW};

/// Section data: bytes of a loaded object, mapped for as long as the object is loaded.
type Data = &'static [u8];
type Policy = MustNotAllocateDuringUnwind;

/// Handlers that can unwind with DWARF at the same moment; more fall back to frame
/// pointers.
const CACHES: usize = 8;
/// Bytes below the stack pointer that x86-64 code may use without moving it.
const RED_ZONE: usize = 128;

/// Stack the DWARF walk runs on. Evaluating call-frame rules takes several kilobytes of
/// stack (about 40 KiB unoptimized), more than a signal stack has.
const WALK_STACK: usize = 256 * 1024;

/// One unwind cache and the stack to use it on, claimed by one handler at a time.
struct CacheSlot {
    busy: AtomicBool,
    cache: UnsafeCell<CacheNative<Policy>>,
    /// 16-byte aligned stack memory.
    stack: UnsafeCell<Box<[u128]>>,
}

// SAFETY: `cache` and `stack` are only touched by the handler that set `busy` from false
// to true.
unsafe impl Sync for CacheSlot {}

/// An unwinder over the objects loaded when it was built.
struct State {
    /// (load bias, `.eh_frame_hdr` address) of each object, to notice loads and unloads.
    key: Vec<(u64, u64)>,
    unwinder: UnwinderNative<Data, Policy>,
}

static STATE: AtomicPtr<State> = AtomicPtr::new(std::ptr::null_mut());
static CACHE_POOL: OnceLock<Box<[CacheSlot]>> = OnceLock::new();
/// Serializes [`refresh`].
static REFRESHING: Mutex<()> = Mutex::new(());

/// What the unwinder needs of one loaded object.
struct Object {
    name: String,
    bias: u64,
    /// Addresses of the executable segments.
    text: Range<u64>,
    /// `.eh_frame_hdr` (from `PT_GNU_EH_FRAME`).
    eh_frame_hdr: Range<u64>,
    /// `.eh_frame`: from the address the header points to, up to the end of the segment
    /// holding it (the header's table gives each FDE's offset, so the exact end is not
    /// needed).
    eh_frame: Range<u64>,
}

/// Makes sure the handler's unwinder covers the objects loaded now. Allocates: call it
/// outside signal handlers (the CPU profiler calls it when starting and as it polls).
pub(crate) fn refresh() {
    crate::heap::without_sampling(|| {
        let _serial = REFRESHING.lock();
        CACHE_POOL.get_or_init(|| {
            (0..CACHES)
                .map(|_| CacheSlot {
                    busy: AtomicBool::new(false),
                    cache: UnsafeCell::new(CacheNative::<Policy>::new_in()),
                    stack: UnsafeCell::new(vec![0u128; WALK_STACK / 16].into_boxed_slice()),
                })
                .collect()
        });
        let objects = loaded_objects();
        let key: Vec<(u64, u64)> = objects
            .iter()
            .map(|o| (o.bias, o.eh_frame_hdr.start))
            .collect();
        let current = STATE.load(Ordering::Acquire);
        // SAFETY: published states are never freed.
        if !current.is_null() && unsafe { &(*current).key } == &key {
            return;
        }
        let mut unwinder = UnwinderNative::<Data, Policy>::new();
        for o in objects {
            // SAFETY: both ranges lie in segments of an object that is loaded now; the
            // slices stay valid until it is unloaded, which the next refresh notices.
            let (hdr, frames) = unsafe { (bytes(&o.eh_frame_hdr), bytes(&o.eh_frame)) };
            let svma = |r: &Range<u64>| r.start - o.bias..r.end - o.bias;
            let info = ExplicitModuleSectionInfo {
                base_svma: 0,
                text_svma: Some(svma(&o.text)),
                eh_frame_svma: Some(svma(&o.eh_frame)),
                eh_frame: Some(frames),
                eh_frame_hdr_svma: Some(svma(&o.eh_frame_hdr)),
                eh_frame_hdr: Some(hdr),
                ..ExplicitModuleSectionInfo::default()
            };
            unwinder.add_module(Module::new(o.name, o.text, o.bias, info));
        }
        let state = Box::into_raw(Box::new(State { key, unwinder }));
        // The previous state is deliberately leaked: a handler may still be using it.
        STATE.store(state, Ordering::Release);
    });
}

/// The bytes at `r` in this process.
///
/// # Safety
/// `r` must be mapped readable for as long as the slice is used.
unsafe fn bytes(r: &Range<u64>) -> Data {
    // SAFETY: per the contract.
    unsafe { std::slice::from_raw_parts(r.start as *const u8, (r.end - r.start) as usize) }
}

/// Unwinds from the interrupted registers with DWARF call-frame information, writing
/// the pc then each return address into `out`. `None` when DWARF unwinding cannot be
/// used right now (not prepared, or every cache busy). Async-signal-safe.
pub(crate) fn walk(regs: &Registers, out: &mut [u64]) -> Option<usize> {
    let state = STATE.load(Ordering::Acquire);
    if state.is_null() {
        return None;
    }
    // SAFETY: published states are never freed.
    let state = unsafe { &*state };
    let slot = CACHE_POOL.get()?.iter().find(|s| {
        s.busy
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
    })?;
    // SAFETY: the compare-exchange above gave this handler the cache and the stack.
    let (cache, stack) = unsafe { (&mut *slot.cache.get(), &mut *slot.stack.get()) };
    let mut n = 0;
    let mut run = || n = walk_with(&state.unwinder, cache, regs, out);
    // SAFETY: the stack is this handler's, 16-byte aligned, and `run` cannot unwind
    // (it panics nowhere: every index is checked).
    unsafe { call_on_stack(stack.as_mut_ptr_range().end.cast(), &mut run) };
    slot.busy.store(false, Ordering::Release);
    Some(n)
}

/// The DWARF walk proper, on whatever stack the caller chose.
fn walk_with(
    unwinder: &UnwinderNative<Data, Policy>,
    cache: &mut CacheNative<Policy>,
    regs: &Registers,
    out: &mut [u64],
) -> usize {
    let low = regs.sp.saturating_sub(RED_ZONE);
    let high = regs.sp.saturating_add(STACK_WINDOW);
    let mut read_stack = |addr: u64| -> Result<u64, ()> {
        let a = usize::try_from(addr).map_err(|_| ())?;
        if a < low || a >= high.saturating_sub(8) || !readable(a, 8) {
            return Err(());
        }
        // SAFETY: the 8 bytes at `a` were just checked to be readable.
        Ok(unsafe { (a as *const u64).read_unaligned() })
    };
    #[cfg(target_arch = "x86_64")]
    let unwind_regs =
        framehop::UnwindRegsNative::new(regs.pc as u64, regs.sp as u64, regs.fp as u64);
    #[cfg(target_arch = "aarch64")]
    let unwind_regs =
        framehop::UnwindRegsNative::new(regs.lr as u64, regs.sp as u64, regs.fp as u64);
    let mut frames = unwinder.iter_frames(regs.pc as u64, unwind_regs, cache, &mut read_stack);
    let mut n = 0;
    while n < out.len() {
        match frames.next() {
            Ok(Some(f)) => {
                out[n] = f.address();
                n += 1;
            }
            _ => break,
        }
    }
    n
}

/// Calls `f` with the stack pointer set to `top`, then switches back.
///
/// # Safety
/// `top` must be the 16-byte aligned end of memory that nothing else uses while `f`
/// runs, large enough for `f`; `f` must not unwind.
unsafe fn call_on_stack<F: FnMut()>(top: *mut u8, f: &mut F) {
    extern "C" fn trampoline<F: FnMut()>(data: *mut u8) {
        // SAFETY: `data` is the `&mut F` passed below, alive across the call.
        let f = unsafe { &mut *data.cast::<F>() };
        f();
    }
    let entry: extern "C" fn(*mut u8) = trampoline::<F>;
    let data = (f as *mut F).cast::<u8>();
    // SAFETY: per the contract; the callee-saved register keeps the old stack pointer
    // across the call, and every caller-saved register is declared clobbered.
    #[cfg(target_arch = "x86_64")]
    unsafe {
        std::arch::asm!(
            "mov r12, rsp",
            "mov rsp, rsi",
            "call rax",
            "mov rsp, r12",
            in("rdi") data,
            in("rsi") top,
            in("rax") entry,
            out("r12") _,
            clobber_abi("C"),
        );
    }
    // SAFETY: as above.
    #[cfg(target_arch = "aarch64")]
    unsafe {
        std::arch::asm!(
            "mov x20, sp",
            "mov sp, x2",
            "blr x1",
            "mov sp, x20",
            in("x0") data,
            in("x1") entry,
            in("x2") top,
            out("x20") _,
            clobber_abi("C"),
        );
    }
}

/// The loaded objects (the vDSO included) that have `.eh_frame_hdr`.
fn loaded_objects() -> Vec<Object> {
    let mut out: Vec<Object> = Vec::new();
    // SAFETY: the callback only reads the program headers the loader hands it, during
    // the call, and `data` points to `out`, alive across the call.
    unsafe {
        libc::dl_iterate_phdr(
            Some(collect_object),
            &mut out as *mut Vec<Object> as *mut libc::c_void,
        );
    }
    out.sort_by_key(|o| o.text.start);
    // framehop wants disjoint address ranges.
    out.dedup_by(|later, earlier| later.text.start < earlier.text.end);
    out
}

unsafe extern "C" fn collect_object(
    info: *mut libc::dl_phdr_info,
    _size: libc::size_t,
    data: *mut libc::c_void,
) -> libc::c_int {
    // SAFETY: the loader passes a valid `info`; `data` is the Vec given above.
    let (info, out) = unsafe { (&*info, &mut *(data as *mut Vec<Object>)) };
    let headers: &[libc::Elf64_Phdr] = if info.dlpi_phdr.is_null() {
        &[]
    } else {
        // SAFETY: dlpi_phdr points to dlpi_phnum program headers.
        unsafe { std::slice::from_raw_parts(info.dlpi_phdr, info.dlpi_phnum as usize) }
    };
    let name = if info.dlpi_name.is_null() {
        String::new()
    } else {
        // SAFETY: a non-null dlpi_name is a NUL-terminated string owned by the loader.
        unsafe { CStr::from_ptr(info.dlpi_name) }
            .to_string_lossy()
            .into_owned()
    };
    // SAFETY: the headers describe the object's mapped segments.
    if let Some(o) = unsafe { object_from(name, info.dlpi_addr, headers) } {
        out.push(o);
    }
    0
}

/// The unwinder's view of an object loaded at `bias` with program `headers`.
///
/// # Safety
/// The loadable segments the headers describe must be mapped at `bias`.
unsafe fn object_from(name: String, bias: u64, headers: &[libc::Elf64_Phdr]) -> Option<Object> {
    let segment = |h: &libc::Elf64_Phdr| {
        let start = bias.wrapping_add(h.p_vaddr);
        start..start.wrapping_add(h.p_memsz)
    };
    let text = headers
        .iter()
        .filter(|h| h.p_type == libc::PT_LOAD && h.p_flags & libc::PF_X != 0)
        .map(segment)
        .reduce(|a, b| a.start.min(b.start)..a.end.max(b.end))?;
    let eh_frame_hdr = headers
        .iter()
        .find(|h| h.p_type == libc::PT_GNU_EH_FRAME)
        .map(segment)?;
    if eh_frame_hdr.end <= eh_frame_hdr.start || text.end <= text.start {
        return None;
    }
    // SAFETY: PT_GNU_EH_FRAME lies in a loaded, readable segment.
    let hdr = unsafe { bytes(&eh_frame_hdr) };
    let eh_frame_start = eh_frame_address(hdr, eh_frame_hdr.start)?;
    let eh_frame_end = headers
        .iter()
        .filter(|h| h.p_type == libc::PT_LOAD)
        .map(|h| {
            let start = bias.wrapping_add(h.p_vaddr);
            start..start.wrapping_add(h.p_filesz)
        })
        .find(|r| r.contains(&eh_frame_start))?
        .end;
    // framehop addresses code by a 32-bit offset from the bias.
    if text.end - bias > u64::from(u32::MAX) || eh_frame_start < bias {
        return None;
    }
    Some(Object {
        name,
        bias,
        text,
        eh_frame_hdr,
        eh_frame: eh_frame_start..eh_frame_end,
    })
}

/// The address of `.eh_frame` that an `.eh_frame_hdr` at address `at` points to.
fn eh_frame_address(hdr: &[u8], at: u64) -> Option<u64> {
    const OMIT: u8 = 0xff;
    let (&version, rest) = hdr.split_first()?;
    let &encoding = rest.first()?;
    if version != 1 || encoding == OMIT {
        return None;
    }
    let field = hdr.get(4..)?;
    let field_at = at + 4;
    let value: i128 = match encoding & 0x0f {
        0x00 | 0x04 => u64::from_le_bytes(field.get(..8)?.try_into().ok()?).into(),
        0x0c => i64::from_le_bytes(field.get(..8)?.try_into().ok()?).into(),
        0x03 => u32::from_le_bytes(field.get(..4)?.try_into().ok()?).into(),
        0x0b => i32::from_le_bytes(field.get(..4)?.try_into().ok()?).into(),
        _ => return None,
    };
    let base: i128 = match encoding & 0x70 {
        0x00 => 0,
        0x10 => field_at.into(),
        0x30 => at.into(),
        _ => return None,
    };
    u64::try_from(base + value).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eh_frame_pointer_encodings_are_decoded() {
        // pcrel | sdata4: relative to the field, which sits 4 bytes into the header.
        let hdr = [1, 0x1b, 0x03, 0x3b, 0xf0, 0xff, 0xff, 0xff];
        assert_eq!(eh_frame_address(&hdr, 0x1000), Some(0x1004 - 0x10));
        // datarel | udata4: relative to the header.
        let hdr = [1, 0x33, 0x03, 0x3b, 0x20, 0, 0, 0];
        assert_eq!(eh_frame_address(&hdr, 0x1000), Some(0x1020));
        // absptr.
        let hdr = [1, 0x00, 0, 0, 0x44, 0x33, 0x22, 0x11, 0, 0, 0, 0];
        assert_eq!(eh_frame_address(&hdr, 0x1000), Some(0x1122_3344));
        // Unknown version, omitted pointer, truncated field.
        assert_eq!(eh_frame_address(&[2, 0x1b, 0, 0, 0, 0, 0, 0], 0), None);
        assert_eq!(eh_frame_address(&[1, 0xff, 0, 0], 0), None);
        assert_eq!(eh_frame_address(&[1, 0x1b, 0, 0, 1], 0), None);
    }

    #[test]
    fn the_executable_and_libc_have_unwind_tables() {
        let objects = loaded_objects();
        let here = the_executable_and_libc_have_unwind_tables as *const () as u64;
        assert!(
            objects.iter().any(|o| o.text.contains(&here)),
            "no object holds this test's code"
        );
        for o in &objects {
            assert!(o.eh_frame.start < o.eh_frame.end, "{}", o.name);
        }
    }
}

#[cfg(all(test, target_arch = "x86_64"))]
mod hidden_frame_pointer_tests {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    use crate::builder::symbol_at;

    // A leaf that saves rbp, zeroes it while it spins, and says so in its call-frame
    // information: a frame-pointer walk stops at it, a DWARF walk does not.
    std::arch::global_asm!(
        ".globl profkit_spin_with_rbp_zeroed",
        ".type profkit_spin_with_rbp_zeroed,@function",
        "profkit_spin_with_rbp_zeroed:",
        ".cfi_startproc",
        "push rbp",
        ".cfi_adjust_cfa_offset 8",
        ".cfi_offset rbp, -16",
        "xor ebp, ebp",
        "2:",
        "dec rdi",
        "jnz 2b",
        "pop rbp",
        ".cfi_adjust_cfa_offset -8",
        ".cfi_restore rbp",
        "ret",
        ".cfi_endproc",
        ".size profkit_spin_with_rbp_zeroed, .-profkit_spin_with_rbp_zeroed",
    );

    extern "C" {
        fn profkit_spin_with_rbp_zeroed(iterations: u64);
    }

    #[inline(never)]
    fn outer_caller_of_spin(stop: &AtomicBool) {
        inner_caller_of_spin(stop);
        std::hint::black_box(());
    }

    #[inline(never)]
    fn inner_caller_of_spin(stop: &AtomicBool) {
        while !stop.load(Ordering::Relaxed) {
            // SAFETY: the function only counts down its argument in registers.
            unsafe { profkit_spin_with_rbp_zeroed(50_000_000) };
        }
        std::hint::black_box(());
    }

    #[test]
    fn a_stack_hiding_its_frame_pointer_is_walked_through_call_frame_information() {
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = stop.clone();
        let spinner = std::thread::Builder::new()
            .name("rbp-zeroed".into())
            .spawn(move || outer_caller_of_spin(&stop2))
            .unwrap();
        std::thread::sleep(Duration::from_millis(20));
        let mut in_spin = 0;
        let mut complete = 0;
        for _ in 0..20 {
            let stacks = crate::thread_stacks(Duration::from_millis(500));
            let Some(t) = stacks.iter().find(|t| t.name == "rbp-zeroed") else {
                continue;
            };
            let names: Vec<String> = t
                .stack
                .iter()
                .enumerate()
                .map(|(i, &a)| {
                    let at = if i == 0 { a } else { a.saturating_sub(1) };
                    symbol_at(at).map_or(String::new(), |s| s.0)
                })
                .collect();
            if !names[0].contains("profkit_spin_with_rbp_zeroed") {
                continue;
            }
            in_spin += 1;
            let inner = names
                .iter()
                .position(|n| n.contains("inner_caller_of_spin"));
            let outer = names
                .iter()
                .position(|n| n.contains("outer_caller_of_spin"));
            if matches!((inner, outer), (Some(i), Some(o)) if i < o) {
                complete += 1;
            } else {
                eprintln!("incomplete stack: {names:?}");
            }
        }
        stop.store(true, Ordering::Relaxed);
        spinner.join().unwrap();
        assert!(in_spin >= 5, "only {in_spin} dumps landed in the spin");
        assert_eq!(complete, in_spin, "complete stacks");
    }
}
