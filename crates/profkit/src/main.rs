//! profkit: a fast, drop-in `go tool pprof`.

mod body_copy;
mod commands;
mod config;
mod driver;
mod fetch;
mod flags;
mod graphviz;
mod http;
mod objtool;
mod output;
mod regexp;
mod shell;
mod tempfile;
mod usage;
mod viewer;
mod web;

fn main() {
    map_large_blocks_apart();
    let args: Vec<String> = std::env::args().skip(1).collect();
    std::process::exit(driver::run(&args));
}

/// Has glibc's malloc give every block of 512 KiB or more a mapping of its own, keep
/// up to 16 MiB freed at the top of its heap for reuse, and serve every thread from
/// one heap. By default the mapping
/// threshold rises each time such a block is freed, after which blocks of megabytes
/// come from the heap: growing one copies it, and freeing it leaves its memory to the
/// heap. Fixed, growing is a remapping and freeing returns the memory: `-dot` on a
/// 111 MB profile peaks 30 MB lower in the same time. (At 256 KiB, merging a hundred
/// small files took 10 % longer: each file's inflate buffers would be fresh mappings.)
/// By default each thread that allocates gets a heap of its own (up to eight per core),
/// and what one thread frees only that heap can reuse: the decoding thread's pieces
/// and tables, the formatting threads' blocks. One heap for all takes 1 to 2 MB less
/// at the peak of the commands on 8 to 32 MB profiles (`-tags` on bench-s 17.7 →
/// 15.5 MB, `-top` on bench-m 47.5 → 46.4 MB) in the same time: the threads rarely
/// allocate at once, so its lock is seldom waited for.
fn map_large_blocks_apart() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes an allocator setting; it is called first thing,
    // while the process has one thread.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 512 << 10);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 16 << 20);
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }
}
