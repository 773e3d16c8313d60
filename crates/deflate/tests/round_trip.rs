//! Every stream the compressor makes inflates, by zlib-rs, to its input.

use std::io::Read;

use profkit_deflate::Compressor;

fn deflate(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    Compressor::new().compress(input, &mut out);
    out
}

/// `stream` inflated, checking that it ends at its last byte.
fn inflate(stream: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut inflate = flate2::Decompress::new(false);
    loop {
        out.reserve(1 << 16);
        let at = inflate.total_in() as usize;
        let status = inflate
            .decompress_vec(&stream[at..], &mut out, flate2::FlushDecompress::None)
            .expect("a valid deflate stream");
        if status == flate2::Status::StreamEnd {
            break;
        }
        assert!(
            at < stream.len() || out.len() < out.capacity(),
            "the stream ends early"
        );
    }
    assert_eq!(
        inflate.total_in(),
        stream.len() as u64,
        "bytes after the stream's end"
    );
    out
}

fn assert_round_trip(input: &[u8]) -> Vec<u8> {
    let stream = deflate(input);
    let back = inflate(&stream);
    assert!(
        back == input,
        "{} bytes came back as {}",
        input.len(),
        back.len()
    );
    stream
}

/// Deterministic pseudo-random bytes.
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

#[test]
fn empty_and_tiny_inputs_make_valid_streams() {
    for input in [&b""[..], b"a", b"ab", b"abc", b"abcd", b"aaaaaaaa"] {
        assert_round_trip(input);
    }
}

#[test]
fn repeated_text_compresses_to_a_small_fraction() {
    let input = b"profile.proto message Sample { repeated uint64 location_id = 1; } ".repeat(5000);
    let stream = assert_round_trip(&input);
    assert!(
        stream.len() * 50 < input.len(),
        "{} of {}",
        stream.len(),
        input.len()
    );
}

#[test]
fn runs_are_coded_as_the_longest_matches() {
    let input = vec![7u8; 1 << 20];
    let stream = assert_round_trip(&input);
    // 4,065 matches of 258 bytes, each a few bits with the block's codes.
    assert!(stream.len() < 6000, "{}", stream.len());
}

#[test]
fn incompressible_input_is_stored_with_little_overhead() {
    let input = noise(300_000, 42);
    let stream = assert_round_trip(&input);
    assert!(
        stream.len() <= input.len() + input.len() / 1000 + 64,
        "{}",
        stream.len()
    );
}

#[test]
fn inputs_of_many_blocks_mixing_matches_literals_and_noise() {
    // Stretches of noise, of repeats near and far (up to the whole window back) and of
    // short matches, so that blocks end in each kind and codes change between them.
    let mut input = Vec::new();
    let mut seed = 1;
    while input.len() < 3 << 20 {
        seed += 1;
        let kind = seed % 4;
        let start = input.len();
        match kind {
            0 => input.extend(noise(5000 + (seed as usize * 997) % 20000, seed)),
            1 if start > 40_000 => {
                let dist = 32768 - (seed as usize % 5);
                for k in 0..3000 {
                    let b = input[start + k - dist];
                    input.push(b);
                }
            }
            2 => {
                for k in 0..20_000u32 {
                    input.extend_from_slice(&(k % 300).to_le_bytes()[..2]);
                }
            }
            _ => input.extend(std::iter::repeat_n(seed as u8, 1 + seed as usize % 700)),
        }
    }
    assert_round_trip(&input);
}

#[test]
fn copies_of_every_length_and_at_every_distance_code_round_trip() {
    // Each copy follows fresh noise, so the only earlier place its first four bytes
    // occur is its source: the matcher finds exactly that length or distance.
    let mut input = noise(1000, 9);
    let mut seed = 100;
    let mut fresh = |n: usize| {
        seed += 1;
        noise(n, seed)
    };
    // Lengths 4 to 258 (3 is never looked for), each at a distance one past it.
    for len in 4..=258usize {
        let source = fresh(len);
        let gap = source[0] ^ 0x55;
        input.extend_from_slice(&source);
        input.push(gap);
        input.extend_from_slice(&source);
        input.push(gap ^ 0xff);
    }
    // The shortest distance of each distance code, and the longest distance.
    for dist in [
        1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537,
        2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577, 32768,
    ] {
        if dist <= 10 {
            // A period of `dist` bytes, repeated.
            input.extend_from_slice(&fresh(dist));
            for _ in 0..14 {
                input.push(input[input.len() - dist]);
            }
        } else {
            // Ten bytes, zeros up to the distance (whose positions fill other slots
            // of the table than the ten's), then the ten again.
            let source = fresh(10);
            input.extend_from_slice(&source);
            input.resize(input.len() + dist - 10, 0);
            input.extend_from_slice(&source);
        }
        input.extend_from_slice(&fresh(8));
    }
    assert_round_trip(&input);
}

#[test]
fn a_real_profile_compresses_to_under_a_quarter_of_its_size() {
    let gz = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../testdata/conformance/differential/inputs/heap_big.pb.gz"
    ))
    .expect("the test profile");
    let mut raw = Vec::new();
    flate2::read::GzDecoder::new(&gz[..])
        .read_to_end(&mut raw)
        .expect("gzip");
    let mut c = Compressor::new();
    let mut total = 0;
    for piece in raw.chunks(1 << 20) {
        let mut out = Vec::new();
        c.compress(piece, &mut out);
        assert!(inflate(&out) == piece);
        total += out.len();
    }
    assert!(total * 4 < raw.len(), "{total} of {}", raw.len());
}

#[test]
fn output_is_appended_after_what_the_buffer_holds() {
    let mut out = b"header".to_vec();
    Compressor::new().compress(b"some bytes, some bytes, some bytes", &mut out);
    assert_eq!(&out[..6], b"header");
    assert_eq!(inflate(&out[6..]), b"some bytes, some bytes, some bytes");
}

#[test]
fn runs_of_the_rarest_literals_round_trip_with_codes_cut_to_the_limit() {
    // 60,000 bytes of 64 values, few matches among them, then 128 values seen
    // nowhere else, once each: in an unlimited Huffman code they would be 16 bits
    // long. Cut to the limit, they are literals of the longest codes one after another.
    let mut input: Vec<u8> = noise(60_000, 7).iter().map(|&b| b & 63).collect();
    input.extend(128..=255u8);
    input.extend(noise(3_000, 9).iter().map(|&b| b & 63));
    assert_round_trip(&input);
}
