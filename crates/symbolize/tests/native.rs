//! Symbolization of real binaries built by gcc and rustc, checked against binutils'
//! `addr2line -i -f -C` (skipped with a message when a tool is missing).

use std::path::{Path, PathBuf};
use std::process::Command;

use object::{Object, ObjectSegment};
use profile::{Location, Mapping, Profile};
use symbolize::{symbolize, DemangleMode, SymbolizeOptions};

// The command line's tests' scratch directories, shared rather than written twice.
#[path = "../../profkit/tests/scratch/mod.rs"]
mod scratch;
use scratch::ScratchDir;

const C_PROGRAM: &str = r#"
#include <stdio.h>
static int sq(int x) { return x * x; }
static inline int helper(int x) { return sq(x) + 1; }
__attribute__((noinline)) int work(int n) {
  int s = 0;
  for (int i = 0; i < n; i++) s += helper(i) ^ (s >> 3);
  return s;
}
__attribute__((noinline)) int other(int n) { return work(n) * 3 + n; }
int main(int argc, char **argv) { printf("%d\n", other(argc * 1000)); return 0; }
"#;

const RUST_PROGRAM: &str = r#"
#[inline(always)]
fn square(x: u64) -> u64 { x.wrapping_mul(x) }
#[inline(never)]
fn work(n: u64) -> u64 {
    let mut s = 0u64;
    for i in 0..n { s = s.wrapping_add(square(i) ^ (s >> 3)); }
    s
}
pub struct Acc { v: Vec<u64> }
impl Acc {
    #[inline(never)]
    pub fn push_all(&mut self, n: u64) { for i in 0..n { self.v.push(work(i)); } }
}
fn main() {
    let mut a = Acc { v: Vec::new() };
    a.push_all(std::env::args().count() as u64 * 100);
    println!("{}", a.v.len());
}
"#;

fn have(tool: &str) -> bool {
    Command::new(tool).arg("--version").output().is_ok()
}

/// A fresh empty directory for one test, removed when dropped.
fn scratch(name: &str) -> ScratchDir {
    ScratchDir::new(&format!("symbolize-test-{name}"))
}

fn run(cmd: &mut Command) {
    let out = cmd.output().expect("run tool");
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn build_c(dir: &Path, name: &str, flags: &[&str]) -> PathBuf {
    let src = dir.join("prog.c");
    std::fs::write(&src, C_PROGRAM).expect("write source");
    let bin = dir.join(name);
    run(Command::new("gcc")
        .args(flags)
        .arg("-o")
        .arg(&bin)
        .arg(&src));
    bin
}

fn build_rust(dir: &Path, name: &str, flags: &[&str]) -> PathBuf {
    let src = dir.join("prog.rs");
    std::fs::write(&src, RUST_PROGRAM).expect("write source");
    let bin = dir.join(name);
    run(Command::new("rustc")
        .args(flags)
        .arg("-o")
        .arg(&bin)
        .arg(&src));
    bin
}

/// Function symbols of `bin` with their size, from `nm`.
fn nm_functions(bin: &Path) -> Vec<(String, u64, u64)> {
    let out = Command::new("nm")
        .args(["--print-size", "--defined-only"])
        .arg(bin)
        .output()
        .expect("nm");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            if f.len() != 4 || !matches!(f[2], "T" | "t") {
                return None;
            }
            Some((
                f[3].to_string(),
                u64::from_str_radix(f[0], 16).ok()?,
                u64::from_str_radix(f[1], 16).ok()?,
            ))
        })
        .collect()
}

/// Addresses inside the functions of `bin`: start, a third in, and two thirds in.
fn sample_addresses(bin: &Path, wanted: &[&str]) -> Vec<u64> {
    let mut out = Vec::new();
    for (name, addr, size) in nm_functions(bin) {
        if wanted.iter().any(|w| name.contains(w)) && size > 0 {
            out.extend([addr, addr + size / 3, addr + 2 * size / 3]);
        }
    }
    out.sort();
    out.dedup();
    out
}

/// A process mapping of the executable segment of `bin` as the loader makes it,
/// at `load_base` for a position-independent binary; and the process address of
/// each binary address.
fn process_mapping(bin: &Path, load_base: u64) -> (u64, u64, u64) {
    let data = std::fs::read(bin).expect("read binary");
    let file = object::File::parse(&*data).expect("parse binary");
    let seg = file
        .segments()
        .find(|s| {
            matches!(s.flags(), object::SegmentFlags::Elf { p_flags } if p_flags & object::elf::PF_X != 0)
        })
        .expect("executable segment");
    let page = 0x1000u64;
    let start = load_base + (seg.address() & !(page - 1));
    let limit = (load_base + seg.address() + seg.size() + page - 1) & !(page - 1);
    let offset = seg.file_range().0 & !(page - 1);
    (start, limit, offset)
}

/// An unsymbolized profile: one sample per address, one location per address, one
/// mapping of `bin`.
fn unsymbolized_profile(bin: &Path, load_base: u64, addrs: &[u64], build_id: &str) -> Profile {
    let mut p = Profile::new(1);
    let (start, limit, offset) = process_mapping(bin, load_base);
    let filename = p.intern(&bin.to_string_lossy());
    let build_id = p.intern(build_id);
    p.mappings.push(Mapping {
        id: 1,
        memory_start: start,
        memory_limit: limit,
        file_offset: offset,
        filename,
        build_id,
        ..Mapping::default()
    });
    for (i, &a) in addrs.iter().enumerate() {
        p.locations.push(Location {
            id: i as u64 + 1,
            mapping: Some(profile::MappingIndex::new(0)),
            address: a + load_base,
            ..Location::default()
        });
        p.samples.push(&[1], &[i as u32], &[]);
    }
    p
}

/// `(function, file, line)` frames that `addr2line -i -f -C` prints for each address.
fn addr2line_frames(bin: &Path, addrs: &[u64]) -> Vec<Vec<(String, String, u32)>> {
    addrs
        .iter()
        .map(|a| {
            let out = Command::new("addr2line")
                .args(["-i", "-f", "-C", "-e"])
                .arg(bin)
                .arg(format!("{a:x}"))
                .output()
                .expect("addr2line");
            let text = String::from_utf8_lossy(&out.stdout).to_string();
            let lines: Vec<&str> = text.lines().collect();
            lines
                .chunks(2)
                .filter(|c| c.len() == 2)
                .map(|c| {
                    let fl = c[1].split(" (discriminator").next().unwrap_or("");
                    let (file, line) = fl.rsplit_once(':').unwrap_or((fl, "0"));
                    (
                        c[0].to_string(),
                        file.to_string(),
                        line.parse().unwrap_or(0),
                    )
                })
                .collect()
        })
        .collect()
}

fn full_demangling() -> SymbolizeOptions {
    let (mut o, _) = SymbolizeOptions::parse("local:demangle=full");
    o.debug_dirs = Vec::new();
    o
}

/// Our frames of location `i` as `(function, file, line)`.
fn our_frames(p: &Profile, i: usize) -> Vec<(String, String, u32)> {
    p.locations[i]
        .lines
        .iter()
        .map(|l| {
            let f = &p.functions[l.function as usize];
            (
                p.str(f.name).to_string(),
                p.str(f.filename).to_string(),
                l.line as u32,
            )
        })
        .collect()
}

/// Checks every location against addr2line: same inline chain, files and lines; the
/// outermost function may carry the symbol table's clone suffix (`.constprop.0`).
fn check_against_addr2line(bin: &Path, load_base: u64, wanted: &[&str]) {
    let addrs = sample_addresses(bin, wanted);
    assert!(!addrs.is_empty(), "no functions found in {}", bin.display());
    let mut p = unsymbolized_profile(bin, load_base, &addrs, "");
    let report = symbolize(&mut p, &full_demangling()).expect("symbolize");
    assert!(report.messages.is_empty(), "{:?}", report.messages);
    let expected = addr2line_frames(bin, &addrs);
    for (i, want) in expected.iter().enumerate() {
        let got = our_frames(&p, i);
        assert_eq!(
            got.len(),
            want.len(),
            "frames at {:#x}: {got:?} vs {want:?}",
            addrs[i]
        );
        for (j, (g, w)) in got.iter().zip(want).enumerate() {
            let outermost = j + 1 == got.len();
            let same_name = g.0 == w.0 || (outermost && g.0.starts_with(&format!("{}.", w.0)));
            assert!(same_name, "function at {:#x}: {g:?} vs {w:?}", addrs[i]);
            assert_eq!((&g.1, g.2), (&w.1, w.2), "line at {:#x}", addrs[i]);
        }
    }
    let m = &p.mappings[0];
    assert!(m.has_functions && m.has_filenames && m.has_line_numbers && m.has_inline_frames);
}

fn tools_or_skip(tools: &[&str]) -> bool {
    for t in tools {
        if !have(t) {
            eprintln!("skipping: {t} is not installed");
            return false;
        }
    }
    true
}

#[test]
fn c_pie_with_inlining_matches_addr2line() {
    if !tools_or_skip(&["gcc", "nm", "addr2line"]) {
        return;
    }
    let dir = scratch("c-pie");
    let bin = build_c(&dir, "prog", &["-O2", "-g", "-fPIE", "-pie"]);
    check_against_addr2line(&bin, 0x5555_5555_0000, &["work", "other", "main"]);
}

#[test]
fn c_non_pie_matches_addr2line() {
    if !tools_or_skip(&["gcc", "nm", "addr2line"]) {
        return;
    }
    let dir = scratch("c-nopie");
    let bin = build_c(&dir, "prog", &["-O2", "-g", "-fno-PIE", "-no-pie"]);
    check_against_addr2line(&bin, 0, &["work", "other", "main"]);
}

#[test]
fn c_without_optimization_matches_addr2line() {
    if !tools_or_skip(&["gcc", "nm", "addr2line"]) {
        return;
    }
    let dir = scratch("c-o0");
    let bin = build_c(&dir, "prog", &["-O0", "-g"]);
    check_against_addr2line(
        &bin,
        0x7f00_0000_0000,
        &["work", "other", "main", "sq", "helper"],
    );
}

#[test]
fn rust_with_inlining_matches_addr2line() {
    if !tools_or_skip(&["rustc", "nm", "addr2line"]) {
        return;
    }
    let dir = scratch("rust");
    let bin = build_rust(&dir, "prog", &["-O", "-g"]);
    check_against_addr2line(&bin, 0x5555_5555_0000, &["4work", "8push_all"]);
}

#[test]
fn binary_without_debug_info_gets_symbol_table_names() {
    if !tools_or_skip(&["gcc", "nm"]) {
        return;
    }
    let dir = scratch("c-nodebug");
    let bin = build_c(&dir, "prog", &["-O2", "-g0"]);
    let addrs = sample_addresses(&bin, &["work", "other"]);
    let mut p = unsymbolized_profile(&bin, 0x5555_5555_0000, &addrs, "");
    symbolize(&mut p, &full_demangling()).expect("symbolize");
    for i in 0..addrs.len() {
        let frames = our_frames(&p, i);
        assert_eq!(frames.len(), 1);
        assert!(
            ["work", "other"].contains(&frames[0].0.as_str()),
            "{frames:?}"
        );
        assert_eq!((frames[0].1.as_str(), frames[0].2), ("", 0));
    }
    let m = &p.mappings[0];
    assert!(m.has_functions && !m.has_filenames && !m.has_line_numbers);
}

#[test]
fn rust_names_are_demangled_and_simplified_by_default() {
    if !tools_or_skip(&["rustc", "nm"]) {
        return;
    }
    let dir = scratch("rust-names");
    let bin = build_rust(&dir, "prog", &["-O", "-g"]);
    let addrs = sample_addresses(&bin, &["8push_all"]);
    let mut p = unsymbolized_profile(&bin, 0x5555_5555_0000, &addrs, "");
    let (mut o, _) = SymbolizeOptions::parse("local");
    o.debug_dirs = Vec::new();
    symbolize(&mut p, &o).expect("symbolize");
    let frames = our_frames(&p, 0);
    assert_eq!(
        frames.last().map(|f| f.0.as_str()),
        Some("prog::Acc::push_all")
    );
    let f = &p.functions[p.locations[0].lines.last().map_or(0, |l| l.function) as usize];
    assert!(p.str(f.system_name).starts_with("_ZN4prog3Acc8push_all17h"));
}

#[test]
fn fastlocal_gives_function_names_only() {
    if !tools_or_skip(&["gcc", "nm"]) {
        return;
    }
    let dir = scratch("fastlocal");
    let bin = build_c(&dir, "prog", &["-O2", "-g"]);
    let addrs = sample_addresses(&bin, &["work"]);
    let mut p = unsymbolized_profile(&bin, 0x5555_5555_0000, &addrs, "");
    let (mut o, _) = SymbolizeOptions::parse("fastlocal");
    o.debug_dirs = Vec::new();
    symbolize(&mut p, &o).expect("symbolize");
    for i in 0..addrs.len() {
        assert_eq!(
            our_frames(&p, i),
            vec![("work".to_string(), String::new(), 0)]
        );
    }
}

#[test]
fn functions_are_shared_between_locations() {
    if !tools_or_skip(&["gcc", "nm"]) {
        return;
    }
    let dir = scratch("shared-functions");
    let bin = build_c(&dir, "prog", &["-O0", "-g"]);
    let addrs = sample_addresses(&bin, &["other"]);
    let mut p = unsymbolized_profile(&bin, 0x5555_5555_0000, &addrs, "");
    symbolize(&mut p, &full_demangling()).expect("symbolize");
    assert_eq!(p.functions.len(), 1);
    assert_eq!(p.functions[0].id, 1);
    assert!(p.functions[0].start_line > 0);
    assert!(p
        .locations
        .iter()
        .all(|l| l.lines.len() == 1 && l.lines[0].function == 0));
}

fn build_id_of(bin: &Path) -> String {
    let data = std::fs::read(bin).expect("read");
    let file = object::File::parse(&*data).expect("parse");
    let id = file.build_id().ok().flatten().expect("build id");
    id.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn stripped_binary_uses_debug_file_found_by_build_id() {
    if !tools_or_skip(&["gcc", "nm", "objcopy", "addr2line"]) {
        return;
    }
    let dir = scratch("stripped");
    let bin = build_c(&dir, "prog", &["-O2", "-g", "-Wl,--build-id"]);
    let addrs = sample_addresses(&bin, &["work", "other"]);
    let expected = addr2line_frames(&bin, &addrs);
    let id = build_id_of(&bin);
    let debug_root = dir.join("debug");
    let debug_file = debug_root
        .join(".build-id")
        .join(&id[..2])
        .join(format!("{}.debug", &id[2..]));
    std::fs::create_dir_all(debug_file.parent().expect("parent")).expect("mkdir");
    run(Command::new("objcopy")
        .arg("--only-keep-debug")
        .arg(&bin)
        .arg(&debug_file));
    let stripped = dir.join("prog.stripped");
    run(Command::new("objcopy")
        .arg("--strip-all")
        .arg(&bin)
        .arg(&stripped));

    let mut p = unsymbolized_profile(&stripped, 0x5555_5555_0000, &addrs, &id);
    let mut o = full_demangling();
    o.debug_dirs = vec![debug_root];
    let report = symbolize(&mut p, &o).expect("symbolize");
    assert!(report.messages.is_empty(), "{:?}", report.messages);
    for (i, want) in expected.iter().enumerate() {
        let got = our_frames(&p, i);
        let got_lines: Vec<_> = got.iter().map(|g| (&g.1, g.2)).collect();
        let want_lines: Vec<_> = want.iter().map(|w| (&w.1, w.2)).collect();
        assert_eq!(got_lines, want_lines, "at {:#x}", addrs[i]);
    }
}

#[test]
fn build_id_mismatch_is_reported_and_leaves_locations_alone() {
    if !tools_or_skip(&["gcc", "nm"]) {
        return;
    }
    let dir = scratch("mismatch");
    let bin = build_c(&dir, "prog", &["-O2", "-g", "-Wl,--build-id"]);
    let addrs = sample_addresses(&bin, &["work"]);
    let mut p = unsymbolized_profile(&bin, 0x5555_5555_0000, &addrs, "0123abcd");
    let report = symbolize(&mut p, &full_demangling()).expect("symbolize");
    assert_eq!(
        report.messages,
        vec![
            "Local symbolization failed for prog (build ID 0123abcd): build ID mismatch"
                .to_string()
        ]
    );
    assert!(p.locations.iter().all(|l| l.lines.is_empty()));
    assert!(p.functions.is_empty());
}

#[test]
fn missing_binary_is_reported() {
    let mut p = Profile::new(1);
    let f = p.intern("/nonexistent/dir/prog");
    p.mappings.push(Mapping {
        id: 1,
        memory_start: 0x1000,
        memory_limit: 0x2000,
        filename: f,
        ..Mapping::default()
    });
    p.locations.push(Location {
        id: 1,
        mapping: Some(profile::MappingIndex::new(0)),
        address: 0x1100,
        ..Location::default()
    });
    let report = symbolize(&mut p, &full_demangling()).expect("symbolize");
    assert_eq!(
        report.messages,
        vec![
            "Local symbolization failed for prog: stat /nonexistent/dir/prog: no such file or directory".to_string(),
            "Some binary filenames not available. Symbolization may be incomplete.\nTry setting PPROF_BINARY_PATH to the search path for local binaries.".to_string(),
        ]
    );
}

#[test]
fn pprof_binary_path_finds_binary_by_build_id() {
    if !tools_or_skip(&["gcc"]) {
        return;
    }
    let dir = scratch("locate");
    let bin = build_c(&dir, "prog", &["-O2", "-g", "-Wl,--build-id"]);
    let id = build_id_of(&bin);
    let store = dir.join("store").join(&id);
    std::fs::create_dir_all(&store).expect("mkdir");
    std::fs::copy(&bin, store.join("prog")).expect("copy");
    let mut p = unsymbolized_profile(&bin, 0, &[], &id);
    let renamed = p.intern("/opt/app/prog");
    p.mappings[0].filename = renamed;
    let opts = symbolize::LocateOptions {
        search_path: Some(format!("/nonexistent:{}", dir.join("store").display())),
        ..Default::default()
    };
    let msgs = symbolize::locate_binaries(&mut p, &opts);
    assert!(msgs.is_empty(), "{msgs:?}");
    assert_eq!(
        p.str(p.mappings[0].filename),
        store.join("prog").to_string_lossy()
    );

    // A file with another build id is skipped with pprof's message.
    let mut p = unsymbolized_profile(&bin, 0, &[], "feed");
    p.mappings[0].filename = p.intern("/opt/app/prog");
    let opts = symbolize::LocateOptions {
        search_path: Some(dir.to_string_lossy().into_owned()),
        ..Default::default()
    };
    let msgs = symbolize::locate_binaries(&mut p, &opts);
    assert_eq!(
        msgs,
        vec![format!(
            "Ignoring local file {}: build-id mismatch (feed != {id})",
            dir.join("prog").display()
        )]
    );
    assert_eq!(p.str(p.mappings[0].filename), "/opt/app/prog");
}

#[test]
fn demangle_none_keeps_mangled_names() {
    if !tools_or_skip(&["rustc", "nm"]) {
        return;
    }
    let dir = scratch("demangle-none");
    let bin = build_rust(&dir, "prog", &["-O", "-g"]);
    let addrs = sample_addresses(&bin, &["8push_all"]);
    let mut p = unsymbolized_profile(&bin, 0x5555_5555_0000, &addrs, "");
    let (mut o, _) = SymbolizeOptions::parse("local:demangle=none");
    o.debug_dirs = Vec::new();
    assert_eq!(o.demangle, DemangleMode::None);
    symbolize(&mut p, &o).expect("symbolize");
    let frames = our_frames(&p, 0);
    assert!(frames
        .last()
        .is_some_and(|f| f.0.starts_with("_ZN4prog3Acc8push_all")));
}

#[test]
fn a_binary_of_another_build_is_not_read_for_its_dwarf() {
    if !tools_or_skip(&["gcc", "nm", "objcopy"]) {
        return;
    }
    let dir = scratch("mismatch-bad-dwarf");
    let bin = build_c(&dir, "prog", &["-O2", "-g", "-Wl,--build-id"]);
    let addrs = sample_addresses(&bin, &["work"]);
    // DWARF that cannot be read: reading it would fail the binary with its error.
    let garbage = dir.join("garbage");
    std::fs::write(&garbage, [0xffu8; 64]).unwrap();
    run(Command::new("objcopy")
        .arg(format!(
            "--update-section=.debug_info={}",
            garbage.display()
        ))
        .arg(&bin));
    let own_id = build_id_of(&bin);
    let mut p = unsymbolized_profile(&bin, 0x5555_5555_0000, &addrs, &own_id);
    let report = symbolize(&mut p, &full_demangling()).expect("symbolize");
    let failed = format!("Local symbolization failed for prog (build ID {own_id}): error parsing");
    assert!(
        report
            .messages
            .first()
            .is_some_and(|m| m.starts_with(&failed)),
        "{:?}",
        report.messages
    );
    // The same binary under another build id is left before its DWARF is read.
    let mut p = unsymbolized_profile(&bin, 0x5555_5555_0000, &addrs, "0123abcd");
    let report = symbolize(&mut p, &full_demangling()).expect("symbolize");
    assert_eq!(
        report.messages,
        vec!["Local symbolization failed for prog (build ID 0123abcd): build ID mismatch"]
    );
}
