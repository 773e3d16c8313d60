//! In-process profilers for Rust programs, writing pprof profiles, and the
//! `/debug/pprof/*` HTTP handlers that serve them (as Go's `net/http/pprof` does).
//!
//! - CPU: [`CpuProfiler`] (or [`cpu_profile`]) samples every thread on per-thread CPU-time
//!   timers, 100 Hz by default, with an async-signal-safe handler.
//! - Heap: install [`Sampled`] as the global allocator; [`heap_profile`] and
//!   [`allocs_profile`] give Go's four sample types, unbiased.
//! - Mutex contention: [`sync::Mutex`] and [`sync::RwLock`] with
//!   [`set_mutex_profile_fraction`] and [`mutex_profile`].
//! - Threads: [`threads_profile`] holds the current stack of every thread.
//! - HTTP: [`serve`] answers Go's `/debug/pprof/*` paths; [`http::handle`] is the
//!   framework-free handler behind it.
//! - axum (feature `axum`): `axum_router::router` mounts the same endpoints in a
//!   service's own server.
//! - Labels: [`with_labels`], [`set_labels`] and [`labeled`] tag CPU samples.
//!
//! Profiles carry real addresses, the process's mappings (with build ids and file
//! offsets) and symbolized functions with inline frames, so any pprof reader can use
//! them. CPU and thread stacks are walked in the signal handler with the DWARF
//! call-frame information of `.eh_frame` (falling back to frame pointers), so they are
//! complete without frame pointers.

#![warn(missing_docs)]

#[cfg(feature = "axum")]
pub mod axum_router;
mod builder;
mod cpu;
mod dwarf;
mod heap;
pub mod http;
mod labels;
pub mod sync;
mod text;
mod threads;
mod unwind;

pub use cpu::{cpu_profile, CpuProfiler, DEFAULT_CPU_HZ};
pub use heap::{
    allocs_profile, heap_profile, mem_profile_rate, set_mem_profile_rate, Sampled,
    DEFAULT_MEM_PROFILE_RATE,
};
pub use http::{serve, serve_with, Options as ServeOptions, Server};
pub use labels::{labeled, set_labels, with_labels, LabelGuard, Labeled};
pub use profile::Profile;
pub use sync::{mutex_profile, set_mutex_profile_fraction};
pub use text::{heap_text, mutex_text};
pub use threads::{thread_stacks, threads_profile, threads_text, ThreadStack};
