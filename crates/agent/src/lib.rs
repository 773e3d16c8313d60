//! In-process profilers for Rust programs, writing pprof profiles, and the
//! `/debug/pprof/*` HTTP handlers that serve them (as Go's `net/http/pprof` does).
//!
//! - Heap: install [`Sampled`] as the global allocator; [`heap_profile`] and
//!   [`allocs_profile`] give Go's four sample types, unbiased.
//!
//! Profiles carry real addresses, the process's mappings (with build ids and file
//! offsets) and symbolized functions with inline frames, so any pprof reader can use
//! them.

#![warn(missing_docs)]

mod builder;
mod heap;

pub use heap::{
    allocs_profile, heap_profile, mem_profile_rate, set_mem_profile_rate, Sampled,
    DEFAULT_MEM_PROFILE_RATE,
};
pub use profile::Profile;
