//! pprof's parser goldens: each profile in `testdata/conformance/parse/`, parsed, must
//! print exactly as pprof's `Profile.String()` printed it (`NAME.string`).

use std::path::{Path, PathBuf};

fn parse_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/conformance/parse")
}

/// Parses `name` and compares its dump with `name.string`, showing the first
/// differing line on failure.
fn check(name: &str) {
    let dir = parse_dir();
    let data = std::fs::read(dir.join(name)).unwrap_or_else(|e| panic!("reading {name}: {e}"));
    let want = std::fs::read_to_string(dir.join(format!("{name}.string")))
        .unwrap_or_else(|e| panic!("reading {name}.string: {e}"));
    let p = profile::parse(&data).unwrap_or_else(|e| panic!("parsing {name}: {e}"));
    let got = p.debug_string();
    if got != want {
        let line = got
            .lines()
            .zip(want.lines())
            .position(|(g, w)| g != w)
            .unwrap_or_else(|| got.lines().count().min(want.lines().count()));
        panic!(
            "{name}: dump differs from pprof's at line {}:\n got: {:?}\nwant: {:?}",
            line + 1,
            got.lines().nth(line),
            want.lines().nth(line)
        );
    }
}

#[test]
fn cppbench_contention_matches_pprof() {
    check("cppbench.contention");
}

#[test]
fn cppbench_cpu_matches_pprof() {
    check("cppbench.cpu");
}

#[test]
fn cppbench_heap_matches_pprof() {
    check("cppbench.heap");
}

#[test]
fn cppbench_thread_matches_pprof() {
    check("cppbench.thread");
}

#[test]
fn cppbench_thread_none_matches_pprof() {
    check("cppbench.thread.none");
}

#[test]
fn go_crc32_cpu_matches_pprof() {
    check("go.crc32.cpu");
}

#[test]
fn go_godoc_thread_matches_pprof() {
    check("go.godoc.thread");
}

#[test]
fn gobench_cpu_matches_pprof() {
    check("gobench.cpu");
}

#[test]
fn java_cpu_matches_pprof() {
    check("java.cpu");
}

#[test]
fn java_heap_matches_pprof() {
    check("java.heap");
}

#[test]
fn every_golden_in_the_directory_is_checked() {
    let checked = [
        "cppbench.contention",
        "cppbench.cpu",
        "cppbench.heap",
        "cppbench.thread",
        "cppbench.thread.none",
        "go.crc32.cpu",
        "go.godoc.thread",
        "gobench.cpu",
        "java.cpu",
        "java.heap",
    ];
    for entry in std::fs::read_dir(parse_dir()).expect("listing the parse goldens") {
        let name = entry.expect("reading the directory").file_name();
        let name = name.to_string_lossy();
        if let Some(input) = name.strip_suffix(".string") {
            assert!(checked.contains(&input), "golden {input} has no test");
        }
    }
}
