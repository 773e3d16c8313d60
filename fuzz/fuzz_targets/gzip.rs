//! Feeds arbitrary bytes (seeded with gzipped profiles), as a file, to the reader that
//! decodes a file as it reads and inflates it, and compares it with the whole-buffer
//! reader: whatever the streaming path accepts, the whole path must accept and read to
//! the same profile, whether the file is read on one thread or with threads of its own.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = std::env::temp_dir().join(format!("profkit-fuzz-gzip-{}", std::process::id()));
    std::fs::write(&path, data).expect("writing the input to a temporary file");
    let options = profile::ParseOptions {
        max_decompressed: 1 << 26,
        // On one thread or with threads of its own, as the input's length is odd or even.
        one_thread: data.len() % 2 == 1,
        ..profile::ParseOptions::default()
    };
    let streamed = profile::parse_stream_file(&path, &options);
    let _ = std::fs::remove_file(&path);
    let Some(streamed) = streamed else {
        return;
    };
    let whole = profile::parse(data).expect("the streaming reader accepted what parse rejects");
    assert_eq!(streamed.debug_string(), whole.debug_string());
});
