//! Deflate speed and output size on the bytes of gzipped profiles, cut into pieces of
//! 1 MiB as profkit cuts a large output: profkit's own deflater (what profkit uses, a
//! member per piece), libdeflate at level 1 (what profkit used before it), zlib-rs at
//! level 1 (what profkit used before that: its fastest level, static Huffman codes
//! only) and zlib-rs at level 6 (the default level, whose size is near that of pprof's
//! outputs). One core; the pieces are compressed one after another.
//!
//! `cargo run --release --manifest-path bench/deflaters/Cargo.toml -- FILE.pb.gz...`
//! prints, per file, the best of five runs of each.

use std::io::Read;
use std::time::{Duration, Instant};

const RUNS: usize = 5;

/// Bytes of input per piece, as profkit's writer cuts them.
const PIECE: usize = 1 << 20;

/// The shortest time of [`RUNS`] runs of `f`, and what the last run returned.
fn best_of(mut f: impl FnMut() -> usize) -> (Duration, usize) {
    let mut best = Duration::MAX;
    let mut out = 0;
    for _ in 0..RUNS {
        let t = Instant::now();
        out = f();
        best = best.min(t.elapsed());
    }
    (best, out)
}

/// Deflated size of `raw` in pieces, by zlib-rs at `level`.
fn zlib_rs(raw: &[u8], level: u32) -> usize {
    let mut c = flate2::Compress::new(flate2::Compression::new(level), false);
    let mut out = Vec::with_capacity(2 * PIECE);
    let mut total = 0;
    for piece in raw.chunks(PIECE) {
        c.reset();
        out.clear();
        c.compress_vec(piece, &mut out, flate2::FlushCompress::Finish)
            .expect("deflating into memory");
        total += out.len();
    }
    total
}

/// Deflated size of `raw` in pieces, by profkit's compressor.
fn profkit(raw: &[u8]) -> usize {
    let mut c = profkit_deflate::Compressor::new();
    let mut out = Vec::with_capacity(2 * PIECE);
    raw.chunks(PIECE)
        .map(|piece| {
            out.clear();
            c.compress(piece, &mut out);
            out.len()
        })
        .sum()
}

/// Deflated size of `raw` in pieces, by libdeflate at `level`.
fn libdeflate(raw: &[u8], level: i32) -> usize {
    let level = libdeflater::CompressionLvl::new(level).expect("a level");
    let mut c = libdeflater::Compressor::new(level);
    let mut out = vec![0; c.deflate_compress_bound(PIECE)];
    raw.chunks(PIECE)
        .map(|piece| c.deflate_compress(piece, &mut out).expect("room enough"))
        .sum()
}

fn main() {
    let paths: Vec<String> = std::env::args().skip(1).collect();
    if paths.is_empty() {
        eprintln!("usage: deflaters FILE.pb.gz...");
        std::process::exit(2);
    }
    for path in paths {
        let mut raw = Vec::new();
        let read = std::fs::File::open(&path)
            .and_then(|f| flate2::read::MultiGzDecoder::new(f).read_to_end(&mut raw));
        if let Err(e) = read {
            eprintln!("{path}: {e}");
            std::process::exit(1);
        }
        let mb = raw.len() as f64 / 1e6;
        println!("{path}: {mb:.1} MB");
        let rows: [(&str, &dyn Fn() -> usize); 4] = [
            ("profkit", &|| profkit(&raw)),
            ("libdeflate level 1", &|| libdeflate(&raw, 1)),
            ("zlib-rs level 1", &|| zlib_rs(&raw, 1)),
            ("zlib-rs level 6", &|| zlib_rs(&raw, 6)),
        ];
        for (name, deflate) in rows {
            let (time, size) = best_of(deflate);
            println!(
                "  {name:<18} {:>6.1} ms ({:>4.0} MB/s), {:>6.2} MB ({:.2} of the input)",
                time.as_secs_f64() * 1e3,
                mb / time.as_secs_f64(),
                size as f64 / 1e6,
                size as f64 / raw.len() as f64
            );
        }
    }
}
