//! Inflate speed on gzipped profiles: fdeflate as profkit's reader runs it (pieces of
//! 256 KiB after the 32 KiB before them, in a reused buffer, so the inflated bytes can
//! be decoded as they come), zlib-rs the same way (through flate2, as profkit did
//! before), and libdeflate, which inflates only a whole buffer into another.
//!
//! `cargo run --release --manifest-path bench/inflaters/Cargo.toml -- FILE.pb.gz...`
//! prints, per file, the best of seven runs of each.

use std::io::Read;
use std::time::{Duration, Instant};

const RUNS: usize = 7;

/// Bytes of history a piece carries: the farthest back a deflate match reaches.
const HISTORY: usize = 32 << 10;

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
        // fdeflate reads zlib streams: a zlib header, then the deflate stream after the
        // gzip header (a bare 10 bytes in the benchmark profiles).
        let body = &gz[10..];
        let mut ring = vec![1u8; HISTORY + (1 << 18)];
        let fdeflate = best_of(|| {
            assert_eq!(gz[3], 0, "{path}: a gzip header with optional fields");
            let mut d = fdeflate::Decompressor::new();
            d.ignore_adler32();
            let (mut pos, mut total) = (0, 0);
            for mut input in [&[0x78u8, 0x01][..], body] {
                while !d.is_done() && !input.is_empty() {
                    let (used, made) = d
                        .read(input, &mut ring, pos, false)
                        .unwrap_or_else(|e| panic!("{path}: {e:?}"));
                    input = &input[used..];
                    pos += made;
                    total += made;
                    if pos == ring.len() {
                        ring.copy_within(pos - HISTORY..pos, 0);
                        pos = HISTORY;
                    }
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
            "{path}: {mb:.1} MB inflated; fdeflate in pieces {:.1} ms ({:.0} MB/s), zlib-rs in pieces {:.1} ms ({:.0} MB/s), libdeflate whole {:.1} ms ({:.0} MB/s)",
            fdeflate.as_secs_f64() * 1e3,
            rate(fdeflate),
            zlib_rs.as_secs_f64() * 1e3,
            rate(zlib_rs),
            libdeflate.as_secs_f64() * 1e3,
            rate(libdeflate)
        );
    }
}
