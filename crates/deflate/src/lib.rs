//! A fast deflate compressor (RFC 1951) for large outputs, where the time to compress
//! matters more than the last tenth of the size.
//!
//! One pass finds matches greedily, through a table of the last position (and the
//! last two of each match) whose four bytes hash to each slot, and keeps only the
//! matches and how many literals come before each; the bytes are not copied. A second
//! pass counts the symbols of a block (65,535 of them, as many as a stored block holds
//! bytes), makes Huffman codes for it and writes it, or stores it when that is smaller.
//!
//! One core, 1 MiB pieces (`bench/deflaters`): on the generated benchmark profiles,
//! mostly literals, about twice as fast as libdeflate's fastest level, to 2 to 3 %
//! more bytes; on a real heap profile, mostly short matches, 1.25 times as fast, to
//! 12 % more bytes; on a hundred real CPU profiles merged, as fast, to 5 % more.

mod bits;
mod huffman;

use bits::BitWriter;

/// The farthest back a match may reach.
const WINDOW: usize = 32 * 1024;
/// The shortest match looked for (deflate allows 3 bytes; 4 are found by one word).
const MIN_MATCH: usize = 4;
/// The longest match deflate codes.
const MAX_MATCH: usize = 258;
/// Bits of the hash of four bytes.
const HASH_BITS: u32 = 15;
/// Symbols gathered before a block is written: a block's codes follow the frequencies
/// of its part of the input. As many as a stored block holds bytes, so that a block of
/// literals only is stored whole.
const BLOCK_SYMBOLS: usize = STORED_MAX;
/// Most bytes compressed with one table of positions (kept in 32 bits); small in unit
/// tests, so that inputs of several segments are tried.
const SEGMENT: usize = if cfg!(test) { 1 << 17 } else { 1 << 30 };
/// Most bytes of a stored block.
const STORED_MAX: usize = u16::MAX as usize;

/// Literal/length symbols: 256 literals, the end of a block, 29 length codes.
const LITLEN_SYMBOLS: usize = 286;
/// Distance symbols.
const DIST_SYMBOLS: usize = 30;
/// The longest literal/length code made (deflate allows 15): four literals then fit
/// in the 57 bits a store may add, and a code shorter by a bit costs next to nothing.
const LITLEN_MAX_BITS: u8 = 14;
/// The symbol that ends a block.
const END_OF_BLOCK: usize = 256;

/// The shortest length of each length code, and its extra bits.
const LEN_BASE: [u16; 29] = [
    3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131,
    163, 195, 227, 258,
];
const LEN_EXTRA: [u8; 29] = [
    0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
];
/// The shortest distance of each distance code, and its extra bits.
const DIST_BASE: [u16; 30] = [
    1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537,
    2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577,
];
const DIST_EXTRA: [u8; 30] = [
    0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13,
    13,
];

/// The length code (0 to 28) of each match length minus 3.
const LEN_CODE: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut code = 0;
    while code < 29 {
        let start = LEN_BASE[code] as usize - 3;
        let end = if code == 28 {
            256
        } else {
            LEN_BASE[code + 1] as usize - 3
        };
        let mut l = start;
        while l < end {
            table[l] = code as u8;
            l += 1;
        }
        code += 1;
    }
    table
};

/// The distance code of each distance minus 1 below 256, then of each distance minus 1
/// shifted right by 7 (from 256 on).
const DIST_CODE: [u8; 512] = {
    let mut table = [0u8; 512];
    let mut code = 0;
    while code < 30 {
        let start = DIST_BASE[code] as usize - 1;
        let end = if code == 29 {
            WINDOW
        } else {
            DIST_BASE[code + 1] as usize - 1
        };
        let mut d = start;
        while d < end {
            if d < 256 {
                table[d] = code as u8;
            } else {
                table[256 + (d >> 7)] = code as u8;
            }
            d += 1;
        }
        code += 1;
    }
    table
};

#[inline(always)]
fn dist_code(dist_minus_1: usize) -> usize {
    if dist_minus_1 < 256 {
        DIST_CODE[dist_minus_1] as usize
    } else {
        DIST_CODE[256 + (dist_minus_1 >> 7)] as usize
    }
}

/// The order in which the lengths of the code-length code are sent.
const CODE_LENGTH_ORDER: [usize; 19] = [
    16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15,
];

/// A deflate compressor, reused from input to input to keep its tables.
pub struct Compressor {
    /// The last position in the segment (as `u32`) whose four bytes hashed to each
    /// slot; 0 for a slot not set yet.
    table: Box<[u32; 1 << HASH_BITS]>,
    /// The current block's matches.
    matches: Vec<Match>,
}

impl Default for Compressor {
    fn default() -> Self {
        Self::new()
    }
}

#[inline(always)]
fn read_u32(data: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(data[at..at + 4].try_into().unwrap())
}

#[inline(always)]
fn read_u64(data: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(data[at..at + 8].try_into().unwrap())
}

#[inline(always)]
fn hash(four: u32) -> usize {
    (four.wrapping_mul(0x9E37_79B1) >> (32 - HASH_BITS)) as usize
}

/// How many bytes from `earlier` and `at` are equal, up to `max`.
#[inline(always)]
fn match_length(data: &[u8], earlier: usize, at: usize, max: usize) -> usize {
    let mut len = MIN_MATCH;
    while len + 8 <= max {
        let diff = read_u64(data, earlier + len) ^ read_u64(data, at + len);
        if diff != 0 {
            return len + (diff.trailing_zeros() / 8) as usize;
        }
        len += 8;
    }
    while len < max && data[earlier + len] == data[at + len] {
        len += 1;
    }
    len
}

impl Compressor {
    /// A compressor with empty tables.
    pub fn new() -> Compressor {
        Compressor {
            table: Box::new([0; 1 << HASH_BITS]),
            matches: Vec::new(),
        }
    }

    /// Appends `input` to `out` as one complete deflate stream.
    pub fn compress(&mut self, input: &[u8], out: &mut Vec<u8>) {
        let mut w = BitWriter::new(out);
        // Positions are kept in 32 bits: a larger input is cut into segments whose
        // matches stay within them.
        let mut segments = input.chunks(SEGMENT).peekable();
        if segments.peek().is_none() {
            self.compress_segment(&mut w, &[], true);
        }
        while let Some(segment) = segments.next() {
            self.compress_segment(&mut w, segment, segments.peek().is_none());
        }
        w.finish();
    }

    /// The share of `sample`'s bytes that matches cover, from 0 to 1, when matched as
    /// [`Self::compress`] matches: a quick look at how repetitive bytes are, before
    /// choosing how to compress a larger input that starts with them. Nothing is
    /// written.
    pub fn matched_share(&mut self, sample: &[u8]) -> f64 {
        let sample = &sample[..sample.len().min(SEGMENT)];
        let table: &mut [u32; 1 << HASH_BITS] = &mut self.table;
        table.fill(0);
        let n = sample.len();
        let mut matched = 0;
        let mut i = 0;
        while i + MIN_MATCH <= n {
            let (len, _) = find_match(table, sample, i);
            if len > 0 {
                remember_end(table, sample, i + len);
                matched += len;
                i += len;
            } else {
                i += 1;
            }
        }
        if n == 0 {
            0.0
        } else {
            matched as f64 / n as f64
        }
    }

    /// Writes the blocks of `input`, the stream's last if `last`.
    fn compress_segment(&mut self, w: &mut BitWriter, input: &[u8], last: bool) {
        let table: &mut [u32; 1 << HASH_BITS] = &mut self.table;
        table.fill(0);
        let matches = &mut self.matches;
        matches.clear();
        let n = input.len();
        // Symbols of the current block so far: literals and matches.
        let mut symbols = 0;
        let mut block_start = 0;
        // Where the literals before the next match start.
        let mut literals = 0;
        let mut i = 0;
        while i + MIN_MATCH <= n {
            if symbols >= BLOCK_SYMBOLS {
                write_block(w, input, block_start..i, matches, false);
                matches.clear();
                block_start = i;
                literals = i;
                symbols = 0;
            }
            let (len, dist) = find_match(table, input, i);
            if len > 0 {
                matches.push(Match {
                    literals: (i - literals) as u32,
                    code: ((len - 3) as u32) << 15 | (dist - 1) as u32,
                });
                remember_end(table, input, i + len);
                i += len;
                literals = i;
            } else {
                i += 1;
            }
            symbols += 1;
        }
        write_block(w, input, block_start..n, matches, last);
    }
}

/// The match the table gives for the bytes at `i` (of which there are at least
/// [`MIN_MATCH`]), as its length and distance, or a length of 0 if there is none; `i`
/// is remembered in the table either way.
#[inline(always)]
fn find_match(table: &mut [u32; 1 << HASH_BITS], input: &[u8], i: usize) -> (usize, usize) {
    let four = read_u32(input, i);
    let slot = hash(four);
    // Every position in the table is at or before `i` (0 for a slot not set yet): a
    // distance of 0 fails the window's test below.
    let dist = i - table[slot] as usize;
    table[slot] = i as u32;
    // One test, mostly failed, where two would often be mispredicted: the bytes differ,
    // or the distance is out of reach.
    let differ = (read_u32(input, i - dist) ^ four) | (dist.wrapping_sub(1) >= WINDOW) as u32;
    if differ == 0 {
        let len = match_length(input, i - dist, i, MAX_MATCH.min(input.len() - i));
        (len, dist)
    } else {
        (0, dist)
    }
}

/// Remembers the last two positions of a match that ends at `end`: the next match
/// often starts within the bytes just matched.
#[inline(always)]
fn remember_end(table: &mut [u32; 1 << HASH_BITS], input: &[u8], end: usize) {
    for p in [end - 2, end - 1] {
        if p + MIN_MATCH <= input.len() {
            table[hash(read_u32(input, p))] = p as u32;
        }
    }
}

/// A match and the literals before it, as the parse found them.
#[derive(Clone, Copy)]
struct Match {
    /// Literals between the previous match (or the block's start) and this one.
    literals: u32,
    /// The length minus 3 in bits 15 to 22, the distance minus 1 in bits 0 to 14.
    code: u32,
}

impl Match {
    #[inline(always)]
    fn len_minus_3(self) -> usize {
        (self.code >> 15) as usize
    }

    #[inline(always)]
    fn dist_minus_1(self) -> usize {
        (self.code & 0x7fff) as usize
    }
}

/// Counts each byte of `bytes` into four tables, a byte in four to each, so that
/// repeated bytes do not wait on one counter.
#[inline(always)]
fn count_bytes(bytes: &[u8], tables: &mut [[u32; 256]; 4]) {
    let mut quads = bytes.chunks_exact(4);
    for q in &mut quads {
        tables[0][q[0] as usize] += 1;
        tables[1][q[1] as usize] += 1;
        tables[2][q[2] as usize] += 1;
        tables[3][q[3] as usize] += 1;
    }
    for &b in quads.remainder() {
        tables[0][b as usize] += 1;
    }
}

/// Writes the block of `input[range]`, whose `matches` the parse found, with codes
/// made for it (or as stored blocks, if smaller), the stream's last if `last`.
fn write_block(
    w: &mut BitWriter,
    input: &[u8],
    range: std::ops::Range<usize>,
    matches: &[Match],
    last: bool,
) {
    let mut litlen_freq = [0u32; LITLEN_SYMBOLS];
    let mut dist_freq = [0u32; DIST_SYMBOLS];
    let mut literal_freq = [[0u32; 256]; 4];
    let mut pos = range.start;
    for &m in matches {
        let literals = m.literals as usize;
        if literals > 0 {
            count_bytes(&input[pos..pos + literals], &mut literal_freq);
        }
        litlen_freq[END_OF_BLOCK + 1 + LEN_CODE[m.len_minus_3()] as usize] += 1;
        dist_freq[dist_code(m.dist_minus_1())] += 1;
        pos += literals + m.len_minus_3() + 3;
    }
    count_bytes(&input[pos..range.end], &mut literal_freq);
    for (b, f) in litlen_freq[..256].iter_mut().enumerate() {
        *f = literal_freq.iter().map(|t| t[b]).sum();
    }
    litlen_freq[END_OF_BLOCK] = 1;

    let mut litlen_lens = [0u8; LITLEN_SYMBOLS];
    let mut dist_lens = [0u8; DIST_SYMBOLS];
    huffman::code_lengths(&litlen_freq, LITLEN_MAX_BITS, &mut litlen_lens);
    huffman::code_lengths(&dist_freq, 15, &mut dist_lens);
    let header = Header::new(&litlen_lens, &dist_lens);

    let mut bits = header.bits;
    for (sym, (&f, &l)) in litlen_freq.iter().zip(&litlen_lens).enumerate() {
        let extra = if sym > END_OF_BLOCK {
            LEN_EXTRA[sym - END_OF_BLOCK - 1]
        } else {
            0
        };
        bits += f as u64 * (l + extra) as u64;
    }
    for (code, (&f, &l)) in dist_freq.iter().zip(&dist_lens).enumerate() {
        bits += f as u64 * (l + DIST_EXTRA[code]) as u64;
    }
    let bytes = &input[range.clone()];
    let stored_bits =
        (bytes.len() as u64 + 5 * bytes.len().div_ceil(STORED_MAX).max(1) as u64) * 8 + 7;
    if stored_bits < bits {
        write_stored(w, bytes, last);
    } else {
        w.ensure((bits / 8) as usize + 16);
        w.put(last as u64, 1);
        w.put(2, 2);
        header.write(w);
        Codes::new(&litlen_lens, &dist_lens).write(w, input, range, matches);
    }
}

/// The codes of a dynamic block, ready to write.
struct Codes {
    /// The code of each literal/length symbol (bit-reversed) and its length.
    litlen: [(u16, u8); LITLEN_SYMBOLS],
    /// Each match length minus 3 with its code and extra bits together, and their
    /// number.
    lengths: [(u32, u32); 256],
    dist: [(u16, u8); DIST_SYMBOLS],
}

impl Codes {
    fn new(litlen_lens: &[u8; LITLEN_SYMBOLS], dist_lens: &[u8; DIST_SYMBOLS]) -> Codes {
        let mut litlen_codes = [0u16; LITLEN_SYMBOLS];
        let mut dist_codes = [0u16; DIST_SYMBOLS];
        huffman::canonical_codes(litlen_lens, &mut litlen_codes);
        huffman::canonical_codes(dist_lens, &mut dist_codes);
        let mut codes = Codes {
            litlen: [(0, 0); LITLEN_SYMBOLS],
            lengths: [(0, 0); 256],
            dist: [(0, 0); DIST_SYMBOLS],
        };
        for (sym, entry) in codes.litlen.iter_mut().enumerate() {
            *entry = (litlen_codes[sym], litlen_lens[sym]);
        }
        for (code, entry) in codes.dist.iter_mut().enumerate() {
            *entry = (dist_codes[code], dist_lens[code]);
        }
        for (l, entry) in codes.lengths.iter_mut().enumerate() {
            let code = LEN_CODE[l] as usize;
            let sym = END_OF_BLOCK + 1 + code;
            let extra = (l + 3 - LEN_BASE[code] as usize) as u32;
            let n = litlen_lens[sym] as u32;
            *entry = (
                litlen_codes[sym] as u32 | extra << n,
                n + LEN_EXTRA[code] as u32,
            );
        }
        codes
    }

    /// Writes the literals of `bytes`: four to a store (56 bits at most, as codes
    /// take at most [`LITLEN_MAX_BITS`]).
    #[inline(always)]
    fn write_literals(&self, w: &mut BitWriter, bytes: &[u8]) {
        let mut quads = bytes.chunks_exact(4);
        for q in &mut quads {
            for &b in q {
                let (code, n) = self.litlen[b as usize];
                w.put(code as u64, n as u32);
            }
            w.flush();
        }
        for &b in quads.remainder() {
            let (code, n) = self.litlen[b as usize];
            w.put(code as u64, n as u32);
        }
        w.flush();
    }

    /// Writes the symbols of `input[range]`: the literals and `matches`, then the
    /// block's end.
    fn write(
        &self,
        w: &mut BitWriter,
        input: &[u8],
        range: std::ops::Range<usize>,
        matches: &[Match],
    ) {
        let mut pos = range.start;
        for &m in matches {
            let literals = m.literals as usize;
            if literals > 0 {
                self.write_literals(w, &input[pos..pos + literals]);
            }
            let (bits, n) = self.lengths[m.len_minus_3()];
            w.put(bits as u64, n);
            let d = m.dist_minus_1();
            let code = dist_code(d);
            let extra = (d + 1 - DIST_BASE[code] as usize) as u64;
            let (dist_bits, n) = self.dist[code];
            w.put(
                dist_bits as u64 | extra << n,
                n as u32 + DIST_EXTRA[code] as u32,
            );
            w.flush();
            pos += literals + m.len_minus_3() + 3;
        }
        self.write_literals(w, &input[pos..range.end]);
        let (code, n) = self.litlen[END_OF_BLOCK];
        w.put(code as u64, n as u32);
        w.flush();
    }
}

/// `bytes` as stored blocks, the last of them the stream's last if `last`.
fn write_stored(w: &mut BitWriter, bytes: &[u8], last: bool) {
    // An empty input is one empty block.
    let mut chunks = bytes.chunks(STORED_MAX).peekable();
    loop {
        let chunk = chunks.next().unwrap_or(&[]);
        let final_chunk = chunks.peek().is_none();
        w.ensure(16);
        w.put((last && final_chunk) as u64, 1);
        w.put(0, 2);
        w.align();
        let len = chunk.len() as u16;
        w.bytes(&len.to_le_bytes());
        w.bytes(&(!len).to_le_bytes());
        w.bytes(chunk);
        if final_chunk {
            break;
        }
    }
}

/// The header of a dynamic block: its code lengths, run-length coded with the
/// code-length code.
struct Header {
    /// Literal/length codes sent (257 to 286) and distance codes (1 to 30).
    hlit: usize,
    hdist: usize,
    /// Code-length codes sent (4 to 19), in [`CODE_LENGTH_ORDER`].
    hclen: usize,
    /// The run-length coded lengths: a code-length symbol and its extra bits' value.
    runs: Vec<(u8, u8)>,
    cl_lens: [u8; 19],
    cl_codes: [u16; 19],
    /// Bits of the header, the block type's 3 bits included.
    bits: u64,
}

impl Header {
    fn new(litlen_lens: &[u8; LITLEN_SYMBOLS], dist_lens: &[u8; DIST_SYMBOLS]) -> Header {
        let hlit = 257
            + litlen_lens[257..]
                .iter()
                .rposition(|&l| l > 0)
                .map_or(0, |p| p + 1);
        let hdist = 1 + dist_lens.iter().rposition(|&l| l > 0).unwrap_or(0);
        let lens: Vec<u8> = litlen_lens[..hlit]
            .iter()
            .chain(&dist_lens[..hdist])
            .copied()
            .collect();
        let mut runs = Vec::with_capacity(lens.len());
        let mut i = 0;
        while i < lens.len() {
            let len = lens[i];
            let mut run = 1;
            while i + run < lens.len() && lens[i + run] == len {
                run += 1;
            }
            let mut left = run;
            if len == 0 {
                while left >= 11 {
                    let n = left.min(138);
                    runs.push((18, (n - 11) as u8));
                    left -= n;
                }
                if left >= 3 {
                    runs.push((17, (left - 3) as u8));
                    left = 0;
                }
            } else {
                runs.push((len, 0));
                left -= 1;
                while left >= 3 {
                    let n = left.min(6);
                    runs.push((16, (n - 3) as u8));
                    left -= n;
                }
            }
            for _ in 0..left {
                runs.push((len, 0));
            }
            i += run;
        }
        let mut cl_freq = [0u32; 19];
        for &(sym, _) in &runs {
            cl_freq[sym as usize] += 1;
        }
        let mut cl_lens = [0u8; 19];
        huffman::code_lengths(&cl_freq, 7, &mut cl_lens);
        let mut cl_codes = [0u16; 19];
        huffman::canonical_codes(&cl_lens, &mut cl_codes);
        let hclen = 4.max(
            1 + CODE_LENGTH_ORDER
                .iter()
                .rposition(|&s| cl_lens[s] > 0)
                .unwrap_or(0),
        );
        let mut bits = 3 + 5 + 5 + 4 + 3 * hclen as u64;
        for &(sym, _) in &runs {
            bits += cl_lens[sym as usize] as u64 + RUN_EXTRA[sym as usize] as u64;
        }
        Header {
            hlit,
            hdist,
            hclen,
            runs,
            cl_lens,
            cl_codes,
            bits,
        }
    }

    fn write(&self, w: &mut BitWriter) {
        w.put((self.hlit - 257) as u64, 5);
        w.put((self.hdist - 1) as u64, 5);
        w.put((self.hclen - 4) as u64, 4);
        w.flush();
        for &sym in &CODE_LENGTH_ORDER[..self.hclen] {
            w.put(self.cl_lens[sym] as u64, 3);
            w.flush();
        }
        for &(sym, extra) in &self.runs {
            let s = sym as usize;
            w.put(self.cl_codes[s] as u64, self.cl_lens[s] as u32);
            w.put(extra as u64, RUN_EXTRA[s] as u32);
            w.flush();
        }
    }
}

/// Extra bits of each code-length symbol: 16 repeats the last length 3 to 6 times,
/// 17 and 18 give 3 to 10 and 11 to 138 zeros.
const RUN_EXTRA: [u8; 19] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 3, 7];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matched_share_is_near_1_for_repeats_and_near_0_for_noise() {
        let mut c = Compressor::new();
        let repeats = b"location_id 17 ".repeat(2000);
        assert!(c.matched_share(&repeats) > 0.99);
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let noise: Vec<u8> = (0..30_000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        assert!(c.matched_share(&noise) < 0.01);
        // Half noise, half a copy of it.
        let half = [&noise[..15_000], &noise[..15_000]].concat();
        let share = c.matched_share(&half);
        assert!((0.49..=0.51).contains(&share), "{share}");
        assert_eq!(c.matched_share(b""), 0.0);
        assert_eq!(c.matched_share(b"abc"), 0.0);
    }

    #[test]
    fn inputs_of_several_segments_make_one_stream() {
        // Text repeated across the segments' edges, and a last segment of a few bytes.
        let text = b"samples of several segments, ".repeat(3 * SEGMENT / 29);
        for input in [&text[..], &text[..2 * SEGMENT + 3], &text[..SEGMENT]] {
            let mut stream = Vec::new();
            Compressor::new().compress(input, &mut stream);
            let mut inflate = flate2::Decompress::new(false);
            let mut back = Vec::with_capacity(input.len() + 1);
            let status = inflate
                .decompress_vec(&stream, &mut back, flate2::FlushDecompress::Finish)
                .unwrap();
            assert_eq!(status, flate2::Status::StreamEnd);
            assert_eq!(inflate.total_in(), stream.len() as u64);
            assert!(back == input, "{} bytes", input.len());
        }
    }
}
