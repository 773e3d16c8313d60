//! Decoding throughput: MB/s of uncompressed profile.proto decoded per second on one
//! core, gzip excluded, over the benchmark profiles.
//!
//! The profiles come from the benchmark generator (see BENCHMARKS.md); set
//! `PROFKIT_BENCH_DATA` to their folder (default `target/benchdata`).

use std::time::{Duration, Instant};

mod support;
use support::{allocate_as_profkit_does, bench_data, median_of};

/// Inflates the deflate stream that starts `body` (followed by a gzip trailer) with
/// fdeflate, in pieces of 256 KiB after the 32 KiB before them; returns the inflated
/// size.
fn inflate_in_pieces(body: &[u8]) -> usize {
    const HISTORY: usize = 32 << 10;
    let mut d = fdeflate::Decompressor::new();
    d.ignore_adler32();
    let mut buf = vec![0u8; HISTORY + (1 << 18)];
    let (mut pos, mut total) = (0, 0);
    // fdeflate reads zlib streams: a zlib header before the deflate stream.
    for mut input in [&[0x78u8, 0x01][..], body] {
        while !d.is_done() && !input.is_empty() {
            let (used, made) = d.read(input, &mut buf, pos, false).expect("inflate");
            input = &input[used..];
            pos += made;
            total += made;
            if pos == buf.len() {
                buf.copy_within(pos - HISTORY..pos, 0);
                pos = HISTORY;
            }
        }
    }
    assert!(d.is_done(), "deflate stream not ended");
    total
}

/// A figure of this process from /proc/self/status, in kB (0 where missing).
fn status_kb(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// In a child process of its own (`--peak FILE`): decodes FILE as profkit loads a file
/// (streamed from disk, inflated on a second thread) and prints how far the peak
/// resident memory rose above what the process held before, in bytes.
fn measure_peak(path: &str) {
    let before = status_kb("VmRSS:");
    let file = std::fs::File::open(path).expect("open");
    let p = profile::parse_stream(std::io::BufReader::new(file), u64::MAX).expect("decode");
    let peak = status_kb("VmHWM:");
    std::hint::black_box(p.samples.len());
    println!("{}", peak.saturating_sub(before) * 1024);
}

/// Peak memory of decoding `path`, measured in a fresh process.
fn peak_of(path: &std::path::Path) -> Option<u64> {
    let out = std::process::Command::new(std::env::current_exe().ok()?)
        .arg("--peak")
        .arg(path)
        .output()
        .ok()?;
    String::from_utf8(out.stdout).ok()?.trim().parse().ok()
}

fn main() {
    allocate_as_profkit_does();
    let args: Vec<String> = std::env::args().collect();
    if let [_, flag, path] = args.as_slice() {
        if flag == "--peak" {
            measure_peak(path);
            return;
        }
    }
    let dir = bench_data();
    let names = ["bench-s.pb.gz", "bench-m.pb.gz", "bench-l.pb.gz"];
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let mut ran = 0;
    for name in names {
        if !filter.is_empty() && !filter.iter().any(|f| name.contains(f.as_str())) {
            continue;
        }
        let path = dir.join(name);
        let Ok(gz) = std::fs::read(&path) else {
            eprintln!(
                "skipping {}: not found (generate the benchmark profiles first)",
                path.display()
            );
            continue;
        };
        let raw = profile::gunzip(&gz, u64::MAX).expect("gunzip");
        // Inflating alone, as the reader's inflating thread does it: fdeflate into
        // pieces that carry the 32 KiB before them, in one reused buffer (not into
        // fresh memory, whose first touches would be most of the figure on a large
        // profile). The generator's files have a bare 10-byte header.
        assert_eq!(gz[3], 0, "{name}: a gzip header with optional fields");
        let (inflate, _) = median_of(|| assert_eq!(inflate_in_pieces(&gz[10..]), raw.len()));
        let mut times = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(10);
        while times.len() < 3 || (Instant::now() < deadline && times.len() < 20) {
            let t = Instant::now();
            let p = profile::proto::decode(&raw).expect("decode");
            times.push(t.elapsed());
            std::hint::black_box(p.samples.len());
        }
        times.sort();
        let median = times[times.len() / 2];
        let mb = raw.len() as f64 / 1e6;
        println!(
            "decode {name}: {mb:.1} MB uncompressed, median {:.1} ms over {} runs = {:.0} MB/s (inflate alone: median {:.1} ms)",
            median.as_secs_f64() * 1e3,
            times.len(),
            mb / median.as_secs_f64(),
            inflate.as_secs_f64() * 1e3
        );
        // The streaming decoder alone, fed 1 MB at a time as the inflater feeds it.
        let (stream, stream_cpu) = median_of(|| {
            let mut d = profile::proto::StreamDecoder::new();
            for chunk in raw.chunks(1 << 20) {
                d.feed(chunk).expect("feed");
            }
            let p = d.finish().expect("finish");
            std::hint::black_box(p.samples.len());
        });
        println!(
            "  stream decode (one core): median {:.1} ms = {:.0} MB/s wall; {:.0} ms cpu = {:.0} MB/s per core",
            stream.as_secs_f64() * 1e3,
            mb / stream.as_secs_f64(),
            stream_cpu.as_secs_f64() * 1e3,
            mb / stream_cpu.as_secs_f64().max(1e-3)
        );
        // Inflate and decode together from the compressed bytes, on two threads.
        let (both, both_cpu) = median_of(|| {
            let p = profile::parse_stream(&gz[..], u64::MAX).expect("stream");
            std::hint::black_box(p.samples.len());
        });
        println!(
            "  inflate + stream decode overlapped: median {:.1} ms = {:.0} MB/s of uncompressed profile; {:.0} ms cpu",
            both.as_secs_f64() * 1e3,
            mb / both.as_secs_f64(),
            both_cpu.as_secs_f64() * 1e3
        );
        if let Some(peak) = peak_of(&path) {
            println!(
                "  peak memory while decoding the file (a fresh process): {:.1} MB = {:.2}x the uncompressed size",
                peak as f64 / 1e6,
                peak as f64 / raw.len() as f64
            );
        }
        ran += 1;
    }
    if ran == 0 {
        eprintln!("no benchmark profiles found in {}", dir.display());
    }
}
