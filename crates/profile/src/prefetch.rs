//! Hints to the processor's cache, for tables read in an order it cannot guess.

/// Asks the processor to start loading the cache line that holds `x` (a hint, with no
/// other effect).
#[inline(always)]
pub(crate) fn prefetch<T>(x: &T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch only moves a line into the cache; it cannot fault, and `x` is
    // a valid reference anyway.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(
            (x as *const T).cast(),
        )
    };
    #[cfg(not(target_arch = "x86_64"))]
    let _ = x;
}
