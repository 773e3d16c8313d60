//! The legacy formats pprof still reads, recognized by content.
//!
//! Each parser follows pprof's: the same formats are accepted, the same profile
//! comes out (sample types, values and their scaling, location, function and mapping
//! ids), and the parsers are tried in pprof's order: binary CPU, heap, Go count
//! profiles, thread dumps, contention, Java text profiles.

mod builder;
mod contention;
mod count;
mod cpu;
mod heap;
mod java;
mod maps;
mod text;
mod thread;

use crate::error::Error;
use crate::model::Profile;

/// Why no legacy parser produced a profile.
#[derive(Debug)]
pub enum LegacyError {
    /// No legacy parser recognized the input.
    Unrecognized,
    /// A parser recognized the input but it is malformed.
    Malformed(Error),
}

/// Why one parser produced no profile.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The input is not in this parser's format (so the next parser may try); when
    /// it looked like this format, the reason it was refused.
    Unrecognized(Option<Error>),
    /// The input is in this parser's format but malformed: no other parser tries.
    Malformed(Error),
}

/// A parser of one of the text formats.
type TextParser = fn(&str) -> Result<Profile, Failure>;

/// Tries each legacy parser in pprof's order.
///
/// When every parser declines but one of them had recognized the start of the input
/// (a binary CPU profile cut short, say), its reason is returned as
/// [`LegacyError::Malformed`]; pprof accepts and refuses exactly the same inputs.
pub fn parse(data: &[u8]) -> Result<Profile, LegacyError> {
    let mut reason: Option<Error> = None;
    let mut outcome = cpu::parse(data);
    if matches!(outcome, Err(Failure::Unrecognized(_))) {
        let text = String::from_utf8_lossy(data);
        let parsers: [TextParser; 5] = [
            heap::parse,
            count::parse,
            thread::parse,
            contention::parse,
            java::parse,
        ];
        for parser in parsers {
            if let Err(Failure::Unrecognized(why)) = outcome {
                reason = reason.or(why);
                outcome = parser(&text);
            }
        }
    }
    match outcome {
        Ok(mut p) => {
            add_frame_filters(&mut p);
            Ok(p)
        }
        Err(Failure::Malformed(e)) => Err(LegacyError::Malformed(e)),
        Err(Failure::Unrecognized(why)) => match reason.or(why) {
            Some(e) => Err(LegacyError::Malformed(e)),
            None => Err(LegacyError::Unrecognized),
        },
    }
}

/// Sets the profile's `drop_frames` and `keep_frames` to pprof's defaults for its
/// kind: allocator frames for heap profiles, lock internals for contention profiles,
/// profiler signal handlers otherwise.
fn add_frame_filters(p: &mut Profile) {
    const HEAP_TYPES: [&[&str]; 5] = [
        &["allocations", "size"],
        &["objects", "space"],
        &["inuse_objects", "inuse_space"],
        &["alloc_objects", "alloc_space"],
        &[
            "alloc_objects",
            "alloc_space",
            "inuse_objects",
            "inuse_space",
        ],
    ];
    let is = |types: &[&str]| {
        types.len() == p.sample_types.len()
            && types
                .iter()
                .zip(&p.sample_types)
                .all(|(t, st)| p.str(st.ty) == *t)
    };
    let (drop, keep) = if HEAP_TYPES.iter().any(|t| is(t)) {
        (ALLOCATOR_FRAMES.join("|"), ALLOCATOR_KEEP_FRAMES.join("|"))
    } else if is(&["contentions", "delay"]) {
        (LOCK_FRAMES.join("|"), String::new())
    } else {
        (PROFILER_FRAMES.join("|"), String::new())
    };
    p.drop_frames = p.intern(&drop);
    p.keep_frames = p.intern(&keep);
}

/// Frames of memory allocators, dropped from the leaf end of heap profile stacks.
const ALLOCATOR_FRAMES: &[&str] = &[
    // POSIX
    "calloc",
    "cfree",
    "malloc",
    "free",
    "memalign",
    "do_memalign",
    "(__)?posix_memalign",
    "pvalloc",
    "valloc",
    "realloc",
    // tcmalloc
    "tcmalloc::.*",
    "tc_calloc",
    "tc_cfree",
    "tc_malloc",
    "tc_free",
    "tc_memalign",
    "tc_posix_memalign",
    "tc_pvalloc",
    "tc_valloc",
    "tc_realloc",
    "tc_new",
    "tc_delete",
    "tc_newarray",
    "tc_deletearray",
    "tc_new_nothrow",
    "tc_newarray_nothrow",
    // macOS
    "malloc_zone_malloc",
    "malloc_zone_calloc",
    "malloc_zone_valloc",
    "malloc_zone_realloc",
    "malloc_zone_memalign",
    "malloc_zone_free",
    // Go
    r"runtime\..*",
    // others
    "BaseArena::.*",
    "(::)?do_malloc_no_errno",
    "(::)?do_malloc_pages",
    "(::)?do_malloc",
    "DoSampledAllocation",
    "MallocedMemBlock::MallocedMemBlock",
    "_M_allocate",
    "__builtin_(vec_)?delete",
    "__builtin_(vec_)?new",
    "__gnu_cxx::new_allocator::allocate",
    "__libc_malloc",
    "__malloc_alloc_template::allocate",
    "allocate",
    "cpp_alloc",
    r"operator new(\[\])?",
    "simple_alloc::allocate",
];

/// Go runtime frames kept although they match [`ALLOCATOR_FRAMES`].
const ALLOCATOR_KEEP_FRAMES: &[&str] = &[
    r"runtime\.panic",
    r"runtime\.reflectcall",
    r"runtime\.call[0-9]*",
];

/// Frames of the CPU profiler's signal handler.
const PROFILER_FRAMES: &[&str] = &[
    "ProfileData::Add",
    "ProfileData::prof_handler",
    "CpuProfiler::prof_handler",
    "__pthread_sighandler",
    "__restore",
];

/// Frames of lock implementations, dropped from contention profile stacks.
const LOCK_FRAMES: &[&str] = &[
    "RecordLockProfileData",
    "(base::)?RecordLockProfileData.*",
    "(base::)?SubmitMutexProfileData.*",
    "(base::)?SubmitSpinLockProfileData.*",
    "(base::Mutex::)?AwaitCommon.*",
    "(base::Mutex::)?Unlock.*",
    "(base::Mutex::)?UnlockSlow.*",
    "(base::Mutex::)?ReaderUnlock.*",
    "(base::MutexLock::)?~MutexLock.*",
    "(Mutex::)?AwaitCommon.*",
    "(Mutex::)?Unlock.*",
    "(Mutex::)?UnlockSlow.*",
    "(Mutex::)?ReaderUnlock.*",
    "(MutexLock::)?~MutexLock.*",
    "(SpinLock::)?Unlock.*",
    "(SpinLock::)?SlowUnlock.*",
    "(SpinLockHolder::)?~SpinLockHolder.*",
];
