//! `-disasm`, `-weblist` and `-list` on native profiles: a C program built by gcc, an
//! unsymbolized profile of it, and profkit symbolizing locally (skipped with a message
//! when gcc is missing).

use std::path::{Path, PathBuf};
use std::process::Command;

use object::{Object, ObjectSegment, ObjectSymbol};
use profile::{Location, Mapping, Profile, ValueType};

const C_PROGRAM: &str = r#"#include <stdio.h>
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

/// Where a position-independent binary is loaded in the made-up process.
const LOAD_BASE: u64 = 0x5555_5555_4000;

mod scratch;
use scratch::ScratchDir;

/// A fresh empty directory for one test, removed when dropped.
fn scratch(name: &str) -> ScratchDir {
    ScratchDir::new(&format!("profkit-disasm-{name}"))
}

fn have_gcc() -> bool {
    let ok = Command::new("gcc").arg("--version").output().is_ok();
    if !ok {
        eprintln!("skipping: gcc is not installed");
    }
    ok
}

/// Builds the program with `flags` (PIE, with DWARF) in `dir`.
fn build(dir: &Path, flags: &[&str]) -> PathBuf {
    std::fs::write(dir.join("prog.c"), C_PROGRAM).expect("write source");
    let bin = dir.join("prog");
    let out = Command::new("gcc")
        .args(flags)
        .args(["-g", "-fPIE", "-pie", "-o"])
        .arg(&bin)
        .arg(dir.join("prog.c"))
        .output()
        .expect("run gcc");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    bin
}

/// Start and size of a function symbol.
fn function(bin: &Path, name: &str) -> (u64, u64) {
    let data = std::fs::read(bin).expect("read binary");
    let file = object::File::parse(&*data).expect("parse binary");
    let sym = file
        .symbols()
        .find(|s| s.name() == Ok(name))
        .expect("function symbol");
    (sym.address(), sym.size())
}

/// An unsymbolized CPU profile of `bin`: for every instruction of `work`, a sample of
/// stack work → other → main whose count is 1 + the instruction's index (mod 5), plus
/// one sample leaf in `other`. Returns the profile and the total per function.
fn unsymbolized_profile(bin: &Path) -> (Profile, i64, i64) {
    let data = std::fs::read(bin).expect("read binary");
    let file = object::File::parse(&*data).expect("parse binary");
    let seg = file
        .segments()
        .find(|s| {
            matches!(s.flags(), object::SegmentFlags::Elf { p_flags } if p_flags & object::elf::PF_X != 0)
        })
        .expect("executable segment");
    let page = 0x1000u64;
    let start = LOAD_BASE + (seg.address() & !(page - 1));
    let limit = (LOAD_BASE + seg.address() + seg.size() + page - 1) & !(page - 1);
    let offset = seg.file_range().0 & !(page - 1);

    let mut p = Profile::new(2);
    let (samples, count) = (p.intern("samples"), p.intern("count"));
    let (cpu, ns) = (p.intern("cpu"), p.intern("nanoseconds"));
    p.sample_types = vec![
        ValueType {
            ty: samples,
            unit: count,
        },
        ValueType { ty: cpu, unit: ns },
    ];
    p.period_type = ValueType { ty: cpu, unit: ns };
    p.period = 10_000_000;
    let filename = p.intern(&bin.to_string_lossy());
    p.mappings.push(Mapping {
        id: 1,
        memory_start: start,
        memory_limit: limit,
        file_offset: offset,
        filename,
        ..Mapping::default()
    });
    let add_location = |p: &mut Profile, addr: u64| -> u32 {
        let id = p.locations.len() as u64 + 1;
        p.locations.push(Location {
            id,
            mapping: Some(profile::MappingIndex::new(0)),
            address: LOAD_BASE + addr,
            ..Location::default()
        });
        (id - 1) as u32
    };
    let (work, work_size) = function(bin, "work");
    let (other, _) = function(bin, "other");
    let (main, _) = function(bin, "main");
    let insts =
        symbolize::disassemble(bin, work, work + work_size - 1, false).expect("disassemble");
    // Return addresses: one byte into the callers is enough for symbolization.
    let other_ret = add_location(&mut p, other + 5);
    let main_ret = add_location(&mut p, main + 1);
    let mut work_total = 0;
    for (i, inst) in insts.iter().enumerate() {
        let leaf = add_location(&mut p, inst.addr);
        let n = 1 + (i as i64 % 5);
        work_total += n;
        p.samples
            .push(&[n, n * 10_000_000], &[leaf, other_ret, main_ret], &[]);
    }
    let other_leaf = add_location(&mut p, other + 6);
    p.samples
        .push(&[3, 30_000_000], &[other_leaf, main_ret], &[]);
    (p, work_total, 3)
}

/// Writes the profile of the program built with `flags` and returns the directory,
/// binary, profile path and the sample totals of `work` and `other`.
fn setup(name: &str, flags: &[&str]) -> (ScratchDir, PathBuf, PathBuf, i64, i64) {
    let dir = scratch(name);
    let bin = build(&dir, flags);
    let (p, work, other) = unsymbolized_profile(&bin);
    let prof = dir.join("prof.pb.gz");
    std::fs::write(&prof, profile::proto::encode_gzip(&p)).expect("write profile");
    (dir, bin, prof, work, other)
}

fn profkit(dir: &Path, args: &[&str]) -> (String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_profkit"))
        .args(args)
        .current_dir(dir)
        .env("PPROF_BINARY_PATH", dir)
        .env("HOME", dir)
        .output()
        .expect("run profkit");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "profkit {args:?} failed: {stderr}");
    (stdout, stderr)
}

/// The instruction lines of a `-disasm` routine: `(flat, cum, address, text)`.
fn instruction_lines(routine: &str) -> Vec<(i64, i64, u64, String)> {
    routine
        .lines()
        .filter_map(|l| {
            let (head, text) = l.split_once(": ")?;
            let f: Vec<&str> = head.split_whitespace().collect();
            if f.len() != 3 {
                return None;
            }
            let num = |s: &str| if s == "." { Some(0) } else { s.parse().ok() };
            let text = text.split(';').next().unwrap_or("").trim_end().to_string();
            Some((
                num(f[0])?,
                num(f[1])?,
                u64::from_str_radix(f[2], 16).ok()?,
                text,
            ))
        })
        .collect()
}

/// The text of the routine of `name` in a `-disasm` report.
fn routine<'a>(report: &'a str, name: &str) -> &'a str {
    let head = format!("ROUTINE ======================== {name}\n");
    let start = report
        .find(&head)
        .unwrap_or_else(|| panic!("no routine {name} in:\n{report}"));
    let rest = &report[start + head.len()..];
    let end = rest.find("ROUTINE ====").unwrap_or(rest.len());
    &rest[..end]
}

fn check_disasm_of_work(flags: &[&str], name: &str) {
    if !have_gcc() {
        return;
    }
    let (dir, bin, prof, work_total, _) = setup(name, flags);
    let (out, _) = profkit(
        &dir,
        &[
            "-disasm=work",
            "-sample_index=samples",
            "-symbolize=local",
            bin.to_str().unwrap(),
            prof.to_str().unwrap(),
        ],
    );
    assert!(out.starts_with("Total: "), "{out}");
    let r = routine(&out, "work");
    let header = r.lines().next().unwrap_or("");
    assert_eq!(
        header.split_whitespace().take(2).collect::<Vec<_>>(),
        [work_total.to_string(), work_total.to_string()],
        "{out}"
    );
    let lines = instruction_lines(r);
    let (start, size) = function(&bin, "work");
    let insts = symbolize::disassemble(&bin, start, start + size - 1, false).expect("disassemble");
    // Every instruction of work, in order, each with its own sample count.
    assert!(lines.len() >= insts.len(), "{out}");
    for (i, inst) in insts.iter().enumerate() {
        let (flat, cum, addr, text) = &lines[i];
        assert_eq!(*addr, inst.addr);
        assert_eq!(text.trim_end(), inst.text);
        assert_eq!((*flat, *cum), (1 + i as i64 % 5, 1 + i as i64 % 5), "{out}");
    }
    let flat_sum: i64 = lines.iter().map(|l| l.0).sum();
    assert_eq!(flat_sum, work_total);
    // Where each instruction comes from: function and file:line, first on line one.
    assert!(
        r.lines().nth(1).unwrap_or("").contains(";work prog.c:"),
        "{out}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn disasm_of_an_unoptimized_function_annotates_every_instruction() {
    check_disasm_of_work(&["-O0"], "o0");
}

#[test]
fn disasm_of_an_optimized_function_annotates_every_instruction_and_inlined_code() {
    check_disasm_of_work(&["-O2"], "o2");
}

#[test]
fn disasm_intel_syntax_prints_intel_operands() {
    if !have_gcc() {
        return;
    }
    let (dir, bin, prof, work_total, _) = setup("intel", &["-O2"]);
    let (out, _) = profkit(
        &dir,
        &[
            "-disasm=work",
            "-intel_syntax",
            "-sample_index=samples",
            "-symbolize=local",
            bin.to_str().unwrap(),
            prof.to_str().unwrap(),
        ],
    );
    let lines = instruction_lines(routine(&out, "work"));
    assert!(!lines.is_empty());
    assert!(lines.iter().all(|l| !l.3.contains('%')), "{out}");
    assert!(lines.iter().any(|l| l.3.starts_with("ret")), "{out}");
    assert_eq!(lines.iter().map(|l| l.0).sum::<i64>(), work_total);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn disasm_regex_selects_every_matching_function_sorted_by_name() {
    if !have_gcc() {
        return;
    }
    let (dir, bin, prof, work_total, other_total) = setup("both", &["-O2"]);
    let (out, _) = profkit(
        &dir,
        &[
            "-disasm=work|other",
            "-sample_index=samples",
            "-symbolize=local",
            bin.to_str().unwrap(),
            prof.to_str().unwrap(),
        ],
    );
    let other = out
        .find("ROUTINE ======================== other")
        .expect("other");
    let work = out
        .find("ROUTINE ======================== work")
        .expect("work");
    assert!(other < work, "{out}");
    // other: its own leaf sample is flat; work's samples pass through its call.
    let header = routine(&out, "other")
        .lines()
        .next()
        .unwrap_or("")
        .to_string();
    let cols: Vec<&str> = header.split_whitespace().collect();
    assert_eq!(cols[0], other_total.to_string(), "{out}");
    assert_eq!(cols[1], (other_total + work_total).to_string(), "{out}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn disasm_regex_spelling_an_address_selects_the_function_there() {
    if !have_gcc() {
        return;
    }
    let (dir, bin, prof, _, _) = setup("addr", &["-O2"]);
    let (start, _) = function(&bin, "work");
    // A process address (as -traces prints them) or an address in the binary.
    for addr in [LOAD_BASE + start + 2, start + 2] {
        let rx = format!("-disasm=0x{addr:x}");
        let (out, _) = profkit(
            &dir,
            &[
                &rx,
                "-sample_index=samples",
                "-symbolize=local",
                bin.to_str().unwrap(),
                prof.to_str().unwrap(),
            ],
        );
        assert!(
            out.contains("ROUTINE ======================== work\n"),
            "{out}"
        );
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn disasm_without_a_match_fails_with_pprofs_message() {
    if !have_gcc() {
        return;
    }
    let (dir, bin, prof, _, _) = setup("nomatch", &["-O2"]);
    let out = Command::new(env!("CARGO_BIN_EXE_profkit"))
        .args([
            "-disasm=nosuchfunction",
            "-symbolize=local",
            bin.to_str().unwrap(),
            prof.to_str().unwrap(),
        ])
        .current_dir(&dir)
        .env("HOME", dir.as_os_str())
        .output()
        .expect("run profkit");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("no matches found for regexp nosuchfunction"),
        "{stderr}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn list_of_a_native_profile_shows_source_lines_from_dwarf() {
    if !have_gcc() {
        return;
    }
    let (dir, bin, prof, work_total, _) = setup("list", &["-O0"]);
    let (out, _) = profkit(
        &dir,
        &[
            "-list=^work$",
            "-sample_index=samples",
            "-symbolize=local",
            bin.to_str().unwrap(),
            prof.to_str().unwrap(),
        ],
    );
    assert!(
        out.contains("ROUTINE ======================== work in "),
        "{out}"
    );
    assert!(out.contains("for (int i = 0; i < n; i++)"), "{out}");
    let header = out.lines().nth(2).unwrap_or("");
    assert!(
        header.trim_start().starts_with(&format!("{work_total} ")),
        "{out}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn weblist_page_shows_source_with_instructions_and_escapes_it() {
    if !have_gcc() {
        return;
    }
    let (dir, bin, prof, _, _) = setup("weblist", &["-O2"]);
    let html = dir.join("out.html");
    profkit(
        &dir,
        &[
            "-weblist=work",
            "-sample_index=samples",
            "-symbolize=local",
            "-output",
            html.to_str().unwrap(),
            bin.to_str().unwrap(),
            prof.to_str().unwrap(),
        ],
    );
    let page = std::fs::read_to_string(&html).expect("weblist output");
    assert!(page.starts_with("<!DOCTYPE html>"));
    assert!(page.contains("<h2>work</h2>"), "{page}");
    assert!(
        page.contains("#include &lt;stdio.h&gt;")
            || page.contains("s += helper(i) ^ (s &gt;&gt; 3);"),
        "{page}"
    );
    let (start, _) = function(&bin, "work");
    assert!(page.contains(&format!("{start:x}: ")), "{page}");
    assert!(!page.contains("src=\"http"), "no external assets");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn reports_that_read_no_stacks_still_warn_of_binaries_not_found() {
    let dir = scratch("missing-binary");
    let mut p = Profile::new(1);
    let (samples, count) = (p.intern("samples"), p.intern("count"));
    p.sample_types = vec![ValueType {
        ty: samples,
        unit: count,
    }];
    let filename = p.intern("/nonexistent/dir/prog");
    p.mappings.push(Mapping {
        id: 1,
        memory_start: 0x40_0000,
        memory_limit: 0x50_0000,
        filename,
        ..Mapping::default()
    });
    for i in 0..4u64 {
        p.locations.push(Location {
            id: i + 1,
            mapping: Some(profile::MappingIndex::new(0)),
            address: 0x40_1000 + 16 * i,
            ..Location::default()
        });
    }
    let (key, value) = (p.intern("handler"), p.intern("/api"));
    let label = profile::Label {
        key,
        str: value,
        ..profile::Label::default()
    };
    p.samples.push(&[5], &[0, 1], &[label]);
    p.samples.push(&[7], &[2, 3, 1], &[label]);
    let prof = dir.join("prof.pb.gz");
    std::fs::write(&prof, profile::proto::encode_gzip(&p)).expect("write profile");
    let prof = prof.to_string_lossy().into_owned();
    let warning = "Local symbolization failed for prog: stat /nonexistent/dir/prog";
    for report in ["-tags", "-top"] {
        let (stdout, stderr) = profkit(&dir, &[report, &prof]);
        assert!(stderr.contains(warning), "{report}: {stderr}");
        assert!(
            stderr.contains("Some binary filenames not available"),
            "{report}: {stderr}"
        );
        assert!(!stdout.is_empty());
    }
    let (tags, _) = profkit(&dir, &["-tags", &prof]);
    assert!(tags.contains("/api"), "{tags}");
}

/// GETs `path` from the web UI at `addr`: the status and the body.
fn http_get(addr: &str, path: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).expect("connects");
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).expect("response");
    let (head, body) = raw.split_once("\r\n\r\n").expect("response head");
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status");
    (status, body.to_string())
}

#[test]
fn web_disassembly_view_shows_the_heaviest_matching_functions() {
    use std::io::BufRead;
    if !have_gcc() {
        return;
    }
    let (dir, bin, prof, work_total, _) = setup("webdisasm", &["-O2"]);
    let mut child = Command::new(env!("CARGO_BIN_EXE_profkit"))
        .args([
            "-http=127.0.0.1:0",
            "-no_browser",
            "-sample_index=samples",
            "-symbolize=local",
            bin.to_str().unwrap(),
            prof.to_str().unwrap(),
        ])
        .current_dir(&*dir)
        .env("HOME", &*dir)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("profkit starts");
    let mut lines = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let addr = loop {
        let line = lines.next().expect("server prints its address").unwrap();
        if let Some(url) = line.strip_prefix("Serving web UI on http://") {
            break url.trim().to_string();
        }
    };
    std::thread::spawn(move || for _ in lines {});

    let (status, page) = http_get(&addr, "/ui/disasm?f=work");
    let (_, all) = http_get(&addr, "/ui/disasm");
    let (missing_status, missing) = http_get(&addr, "/ui/disasm?f=nosuchfunction");
    let _ = child.kill();
    let _ = child.wait();

    assert_eq!(status, 200, "{page}");
    assert!(
        page.contains("ROUTINE ======================== work"),
        "{page}"
    );
    assert!(page.contains(">Disassemble</a>"), "the view is in the menu");
    // Every function with samples when no regex is given, the heaviest first: `work`
    // holds every sample but those of `other`.
    let work_at = all.find("ROUTINE ======================== work");
    let other_at = all.find("ROUTINE ======================== other");
    assert!(work_at.is_some() && other_at.is_some(), "{all}");
    assert!(work_total > 0 && work_at < other_at, "{all}");
    assert_eq!(missing_status, 400);
    assert!(
        missing.contains("no matches found for regexp nosuchfunction"),
        "{missing}"
    );
}
