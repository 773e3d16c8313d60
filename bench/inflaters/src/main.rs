//! Inflate speed on gzipped profiles: zlib-rs as profkit's reader runs it (pieces of
//! 256 KiB into a reused buffer, so the inflated bytes can be decoded as they come)
//! against libdeflate, which is faster but inflates only a whole buffer into another.
//!
//! `cargo run --release --manifest-path bench/inflaters/Cargo.toml -- FILE.pb.gz...`
//! prints, per file, the best of seven runs of each.

use std::io::Read;
use std::time::{Duration, Instant};

const RUNS: usize = 7;

fn best_of(mut f: impl FnMut()) -> Duration {
    (0..RUNS)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .min()
        .unwrap_or_default()
}

fn main() {
    let paths: Vec<String> = std::env::args().skip(1).collect();
    if paths.is_empty() {
        eprintln!("usage: inflaters FILE.pb.gz...");
        std::process::exit(2);
    }
    for path in paths {
        let gz = match std::fs::read(&path) {
            Ok(gz) if gz.len() >= 18 => gz,
            Ok(_) => {
                eprintln!("{path}: too short for a gzip stream");
                std::process::exit(1);
            }
            Err(e) => {
                eprintln!("{path}: {e}");
                std::process::exit(1);
            }
        };
        // The trailer's size (modulo 2^32) sizes libdeflate's output buffer, which is
        // touched once before timing so that both inflaters write to resident memory.
        let size = u32::from_le_bytes(gz[gz.len() - 4..].try_into().expect("4 bytes")) as usize;
        let mut whole = vec![1u8; size];
        let mut piece = vec![1u8; 1 << 18];
        let zlib_rs = best_of(|| {
            let mut reader = flate2::read::MultiGzDecoder::new(&gz[..]);
            let mut total = 0;
            loop {
                match reader.read(&mut piece) {
                    Ok(0) => break,
                    Ok(n) => total += n,
                    Err(e) => panic!("{path}: {e}"),
                }
            }
            assert_eq!(total, size, "{path}: inflated size");
        });
        let libdeflate = best_of(|| {
            let mut d = libdeflater::Decompressor::new();
            let n = d
                .gzip_decompress(&gz, &mut whole)
                .unwrap_or_else(|e| panic!("{path}: {e:?}"));
            assert_eq!(n, size, "{path}: inflated size");
        });
        let mb = size as f64 / 1e6;
        let rate = |d: Duration| mb / d.as_secs_f64();
        println!(
            "{path}: {mb:.1} MB inflated; zlib-rs in pieces {:.1} ms ({:.0} MB/s), libdeflate whole {:.1} ms ({:.0} MB/s)",
            zlib_rs.as_secs_f64() * 1e3,
            rate(zlib_rs),
            libdeflate.as_secs_f64() * 1e3,
            rate(libdeflate)
        );
    }
}
