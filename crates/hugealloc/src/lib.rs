//! The system allocator, asking the kernel to back large blocks with transparent huge
//! pages.
//!
//! A large profile decodes into a few columns of hundreds of megabytes that are
//! written once, front to back. With 4 KiB pages, filling them costs one page fault
//! per 4 KiB (tens of thousands of faults, about a sixth of the decoding time); with
//! 2 MiB pages it costs one per 2 MiB. Kernels that only give huge pages to memory
//! marked for them (`/sys/kernel/mm/transparent_hugepage/enabled` = `madvise`, a common
//! default) need `madvise(MADV_HUGEPAGE)` on it.
//!
//! [`HugePages`] therefore maps blocks of at least [`THRESHOLD`] bytes itself, each in
//! its own anonymous mapping marked for huge pages, grows them with `mremap` (which
//! moves page tables, never bytes), and leaves smaller blocks to
//! [`std::alloc::System`]. (Marking a block the system allocator mapped would split its
//! mapping, after which the system allocator can no longer grow it in place.) On other
//! systems than Linux it is the system allocator unchanged.
//!
//! The trade-off: a kernel that compacts memory at fault time for marked mappings (the
//! `madvise` and `defer+madvise` defragmentation settings) can stall on them when free
//! memory is fragmented. On the machine the benchmarks run on, decoding a 111 MB
//! profile right after another process had freed a few gigabytes took 0.51 to 0.53 s
//! (0.26 to 0.35 s of it in the kernel) against 0.30 s with small pages; in steady
//! state huge pages decode about a quarter faster per core (441 against 356 MB/s) and
//! are as fast end to end, where inflating is the bound.
//!
//! ```
//! #[global_allocator]
//! static ALLOC: hugealloc::HugePages = hugealloc::HugePages;
//! ```

#![warn(missing_docs)]

use std::alloc::{GlobalAlloc, Layout, System};

/// Blocks of at least this many bytes get a mapping of their own, marked for huge
/// pages.
pub const THRESHOLD: usize = 4 << 20;

/// The system allocator, with large blocks in mappings marked for transparent huge
/// pages.
#[derive(Clone, Copy, Debug, Default)]
pub struct HugePages;

#[cfg(target_os = "linux")]
mod mapped {
    //! Large blocks, each an anonymous mapping of its own.

    use std::alloc::Layout;

    /// Whether a block of this layout gets its own mapping (mappings are page aligned,
    /// so larger alignments stay with the system allocator).
    pub(super) fn is_large(layout: Layout) -> bool {
        layout.size() >= super::THRESHOLD && layout.align() <= 4096
    }

    /// A new zeroed mapping of `size` bytes marked for huge pages; null on failure.
    pub(super) fn map(size: usize) -> *mut u8 {
        // SAFETY: an anonymous private mapping touches no existing memory.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                size,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return std::ptr::null_mut();
        }
        // SAFETY: `p..p+size` is the mapping just made. A failure (huge pages
        // disabled) only means small pages.
        unsafe { libc::madvise(p, size, libc::MADV_HUGEPAGE) };
        p.cast()
    }

    /// Grows or shrinks the mapping at `ptr` from `old` to `new` bytes, moving it if
    /// needed; null on failure (the old mapping is then left as it was).
    ///
    /// # Safety
    /// `ptr..ptr+old` must be a mapping made by [`map`].
    pub(super) unsafe fn remap(ptr: *mut u8, old: usize, new: usize) -> *mut u8 {
        // SAFETY: the caller guarantees the mapping; the advice travels with it.
        let p = unsafe { libc::mremap(ptr.cast(), old, new, libc::MREMAP_MAYMOVE) };
        if p == libc::MAP_FAILED {
            std::ptr::null_mut()
        } else {
            p.cast()
        }
    }

    /// Unmaps the mapping at `ptr`.
    ///
    /// # Safety
    /// `ptr..ptr+size` must be a mapping made by [`map`], not used afterwards.
    pub(super) unsafe fn unmap(ptr: *mut u8, size: usize) {
        // SAFETY: guaranteed by the caller.
        unsafe { libc::munmap(ptr.cast(), size) };
    }
}

#[cfg(target_os = "linux")]
// SAFETY: small blocks are forwarded to `System` unchanged; large blocks are whole
// mappings, page aligned (at least the alignment asked for), of at least the size
// asked for, zeroed when new, and released only through this allocator.
unsafe impl GlobalAlloc for HugePages {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if mapped::is_large(layout) {
            return mapped::map(layout.size());
        }
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if mapped::is_large(layout) {
            // New anonymous mappings read as zeros.
            return mapped::map(layout.size());
        }
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if mapped::is_large(layout) {
            // SAFETY: a large layout means `alloc` mapped this block.
            unsafe { mapped::unmap(ptr, layout.size()) }
        } else {
            // SAFETY: forwarded with the caller's guarantees.
            unsafe { System.dealloc(ptr, layout) }
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller guarantees `new_size`, rounded to the alignment, does not
        // overflow, which is all `from_size_align_unchecked` asks.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        match (mapped::is_large(layout), mapped::is_large(new_layout)) {
            // SAFETY: a large layout means `alloc` mapped this block.
            (true, true) => unsafe { mapped::remap(ptr, layout.size(), new_size) },
            // SAFETY: forwarded with the caller's guarantees.
            (false, false) => unsafe { System.realloc(ptr, layout, new_size) },
            _ => {
                // SAFETY: `new_layout` has a non-zero size (at least one side is large
                // or the old block had bytes) and the caller's alignment.
                let new = unsafe { self.alloc(new_layout) };
                if !new.is_null() {
                    // SAFETY: both blocks are valid for the smaller size and distinct;
                    // the old block is released once copied.
                    unsafe {
                        std::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
                        self.dealloc(ptr, layout);
                    }
                }
                new
            }
        }
    }
}

#[cfg(not(target_os = "linux"))]
// SAFETY: every call is forwarded to `System` unchanged.
unsafe impl GlobalAlloc for HugePages {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The tests' own allocations go through it too.
    #[global_allocator]
    static ALLOC: HugePages = HugePages;

    #[test]
    fn blocks_of_every_size_keep_their_bytes_through_growth_and_shrinking() {
        let sizes = [16, 4096, THRESHOLD - 1, THRESHOLD, THRESHOLD * 3 + 5];
        for &size in &sizes {
            for &new_size in &sizes {
                let layout = Layout::from_size_align(size, 8).unwrap();
                unsafe {
                    let p = HugePages.alloc(layout);
                    assert!(!p.is_null());
                    p.write_bytes(0xab, size);
                    let q = HugePages.realloc(p, layout, new_size);
                    assert!(!q.is_null());
                    let kept = size.min(new_size);
                    assert!(std::slice::from_raw_parts(q, kept)
                        .iter()
                        .all(|&b| b == 0xab));
                    HugePages.dealloc(q, Layout::from_size_align(new_size, 8).unwrap());
                }
            }
        }
    }

    #[test]
    fn zeroed_blocks_read_as_zeros() {
        for size in [16, THRESHOLD, THRESHOLD * 2 + 1] {
            let layout = Layout::from_size_align(size, 8).unwrap();
            unsafe {
                let z = HugePages.alloc_zeroed(layout);
                assert!(std::slice::from_raw_parts(z, size).iter().all(|&b| b == 0));
                HugePages.dealloc(z, layout);
            }
        }
    }

    #[test]
    fn vectors_grow_past_the_threshold_and_keep_their_elements() {
        let mut v: Vec<u64> = Vec::new();
        for i in 0..(THRESHOLD as u64) {
            v.push(i);
        }
        assert!(v.iter().enumerate().all(|(i, &x)| x == i as u64));
        v.truncate(10);
        v.shrink_to_fit();
        assert_eq!(v, (0..10).collect::<Vec<u64>>());
    }
}
