//! profkit: a fast, drop-in `go tool pprof`.

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
mod web;

/// Large profiles decode into large columns; huge pages make filling them cheaper.
#[global_allocator]
static ALLOC: hugealloc::HugePages = hugealloc::HugePages;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    std::process::exit(driver::run(&args));
}
