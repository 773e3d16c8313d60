//! Compresses arbitrary bytes with profkit's deflater, one compressor reused as the
//! writer reuses it, and checks that zlib-rs inflates each stream back to its input,
//! the stream ending at its last byte; and that the share of the bytes matches cover is
//! a share.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut compressor = profkit_deflate::Compressor::new();
    // The whole input, then its second half, with the compressor's buffers reused.
    for input in [data, &data[data.len() / 2..]] {
        let share = compressor.matched_share(input);
        assert!((0.0..=1.0).contains(&share), "{share}");
        let mut stream = Vec::new();
        compressor.compress(input, &mut stream);
        let mut inflate = flate2::Decompress::new(false);
        let mut back = Vec::with_capacity(input.len() + 1);
        let status = inflate
            .decompress_vec(&stream, &mut back, flate2::FlushDecompress::Finish)
            .expect("a valid deflate stream");
        assert_eq!(status, flate2::Status::StreamEnd);
        assert!(back == input, "{} bytes came back as {}", input.len(), back.len());
        assert_eq!(inflate.total_in(), stream.len() as u64, "the stream's end");
    }
});
