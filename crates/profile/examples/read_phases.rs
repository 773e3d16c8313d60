//! Times the parts of reading profiles, each on one core and apart from the others, in
//! one process: inflating the gzipped files given on the command line (with
//! libdeflate, the fastest inflater measured on profiles, whole file into whole buffer;
//! and with profkit's own whole-buffer reader), then decoding the inflated bytes (with
//! the whole-buffer decoder, and with the streaming decoder on one thread). With
//! many files (a merge's sources), each figure is the sum over all of them. Every part
//! runs several times (`-n RUNS`, 7 unless given) and prints its fastest and median
//! runs. These are the parts of a lower bound on reading: a program that reads the
//! files does at least this much work, wherever it overlaps it.
//!
//! `cargo run --release -p profile --example read_phases -- [-n RUNS] FILE.pb.gz...`

use std::time::Instant;

/// The fastest and the median of `times` (milliseconds), as text.
fn fastest_and_median(mut times: Vec<f64>) -> String {
    times.sort_by(f64::total_cmp);
    format!("{:.1} ms (median {:.1})", times[0], times[times.len() / 2])
}

/// Milliseconds that `work` takes, once.
fn time_ms(work: impl FnOnce()) -> f64 {
    let start = Instant::now();
    work();
    start.elapsed().as_secs_f64() * 1e3
}

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut runs = 7;
    if args.first().map(String::as_str) == Some("-n") {
        runs = args.get(1).and_then(|n| n.parse().ok()).unwrap_or(0);
        args.drain(..2.min(args.len()));
    }
    if args.is_empty() || runs == 0 {
        eprintln!("usage: read_phases [-n RUNS] FILE.pb.gz...");
        std::process::exit(2);
    }
    let mut gzipped = Vec::new();
    let mut inflated = Vec::new();
    for path in &args {
        let bytes = std::fs::read(path).unwrap_or_else(|e| {
            eprintln!("{path}: {e}");
            std::process::exit(1)
        });
        let raw = profile::gunzip(&bytes, u64::MAX).unwrap_or_else(|e| {
            eprintln!("{path}: {e}");
            std::process::exit(1)
        });
        gzipped.push(bytes);
        inflated.push(raw);
    }

    let (mut libdeflate, mut own) = (Vec::new(), Vec::new());
    let (mut decode, mut stream) = (Vec::new(), Vec::new());
    let one_thread = profile::ParseOptions {
        one_thread: true,
        ..Default::default()
    };
    let mut inflater = libdeflater::Decompressor::new();
    let mut out: Vec<Vec<u8>> = inflated.iter().map(|raw| vec![0; raw.len()]).collect();
    for _ in 0..runs {
        libdeflate.push(time_ms(|| {
            for (gz, out) in gzipped.iter().zip(&mut out) {
                let made = inflater.gzip_decompress(gz, out).expect("inflate");
                assert_eq!(made, out.len(), "one gzip member per file");
            }
        }));
        own.push(time_ms(|| {
            for gz in &gzipped {
                std::hint::black_box(profile::gunzip(gz, u64::MAX).expect("inflate"));
            }
        }));
        decode.push(time_ms(|| {
            for raw in &inflated {
                std::hint::black_box(profile::parse_uncompressed(raw).expect("decode"));
            }
        }));
        stream.push(time_ms(|| {
            for raw in &inflated {
                let p = profile::parse_stream_with(&raw[..], &one_thread).expect("decode");
                std::hint::black_box(p);
            }
        }));
    }
    let total: usize = inflated.iter().map(Vec::len).sum();
    println!(
        "{} files, {:.1} MB inflated: inflate (libdeflate) {}, inflate (profkit, whole) {}, decode (whole) {}, decode (streaming) {}, {runs} runs",
        args.len(),
        total as f64 / 1e6,
        fastest_and_median(libdeflate),
        fastest_and_median(own),
        fastest_and_median(decode),
        fastest_and_median(stream),
    );
}
