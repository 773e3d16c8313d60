//! Times in-process symbolization of many distinct addresses of a binary against
//! binutils' `addr2line` and `llvm-symbolizer` (when installed), on the same
//! addresses, and prints the times and ratios.
//!
//! `bench_symbolize [BINARY] [COUNT]`: BINARY defaults to this program itself, COUNT
//! to 100000 addresses spread over the binary's function symbols.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use object::{Object, ObjectSymbol, SymbolKind};

fn addresses(bin: &Path, count: usize) -> Vec<u64> {
    let data = std::fs::read(bin).expect("read binary");
    let file = object::File::parse(&*data).expect("parse binary");
    let mut funcs: Vec<(u64, u64)> = file
        .symbols()
        .filter(|s| s.kind() == SymbolKind::Text && s.size() > 0)
        .map(|s| (s.address(), s.size()))
        .collect();
    funcs.sort();
    funcs.dedup();
    let total: u64 = funcs.iter().map(|f| f.1).sum();
    let mut out = Vec::with_capacity(count);
    // Spread `count` addresses evenly over the bytes of all functions.
    let step = (total / count as u64).max(1);
    let mut next = 0u64;
    let mut seen = 0u64;
    for (addr, size) in funcs {
        while next < seen + size && out.len() < count {
            out.push(addr + (next - seen));
            next += step;
        }
        seen += size;
    }
    out.sort();
    out.dedup();
    out
}

/// Runs `cmd` with one hex address a line on stdin; returns the seconds it took, or
/// `None` when the tool is missing.
fn time_tool(cmd: &mut Command, addrs: &[u64], prefix: &str) -> Option<f64> {
    let mut input = String::with_capacity(addrs.len() * 20);
    for a in addrs {
        input.push_str(&format!("{prefix}0x{a:x}\n"));
    }
    let t = Instant::now();
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let mut stdin = child.stdin.take()?;
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(input.as_bytes());
    });
    let out = child.wait_with_output().ok()?;
    let _ = writer.join();
    if !out.status.success() {
        return None;
    }
    Some(t.elapsed().as_secs_f64())
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let bin = args
        .first()
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::current_exe().expect("current exe"));
    let count: usize = args.get(1).and_then(|c| c.parse().ok()).unwrap_or(100_000);
    let addrs = addresses(&bin, count);
    let size = std::fs::metadata(&bin).map(|m| m.len()).unwrap_or(0);
    println!(
        "binary: {} ({:.1} MB), {} distinct addresses",
        bin.display(),
        size as f64 / 1e6,
        addrs.len()
    );
    let (options, _) = symbolize::SymbolizeOptions::parse("local");
    let t = Instant::now();
    let frames = symbolize::binary_frames(&bin, 0, 0, 0, &addrs, &options).expect("symbolize");
    let ours = t.elapsed().as_secs_f64();
    if let Ok(path) = std::env::var("BENCH_DUMP") {
        // One line an address: frames as function|file|line|column, `;`-separated.
        let mut out = String::new();
        for (a, fs) in addrs.iter().zip(&frames) {
            out.push_str(&format!("0x{a:x}\t"));
            let parts: Vec<String> = fs
                .iter()
                .map(|f| format!("{}|{}|{}|{}", f.function, f.file, f.line, f.column))
                .collect();
            out.push_str(&parts.join(";"));
            out.push('\n');
        }
        std::fs::write(path, out).expect("write dump");
    }
    let n_frames: usize = frames.iter().map(Vec::len).sum();
    println!("profkit symbolize:  {ours:8.3} s ({n_frames} frames)");
    let a2l = time_tool(
        Command::new("addr2line")
            .arg("-i")
            .arg("-f")
            .arg("-e")
            .arg(&bin),
        &addrs,
        "",
    );
    match a2l {
        Some(s) => println!("binutils addr2line: {s:8.3} s  ({:.1}x slower)", s / ours),
        None => println!("binutils addr2line: not installed"),
    }
    let llvm = time_tool(
        Command::new("llvm-symbolizer")
            .arg("--inlining")
            .arg("-demangle=false")
            .arg("--output-style=JSON")
            .arg(format!("--obj={}", bin.display())),
        &addrs,
        "",
    );
    match llvm {
        Some(s) => println!("llvm-symbolizer:    {s:8.3} s  ({:.1}x slower)", s / ours),
        None => println!("llvm-symbolizer:    not installed"),
    }
}
