//! Feeds arbitrary bytes (seeded with gzipped profiles) to the reader that decodes a
//! file as it reads and inflates it, and compares it with the whole-buffer reader:
//! whatever the streaming path accepts, the whole path must accept and read to the
//! same profile.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some(streamed) = profile::parse_stream(data, 1 << 26) else {
        return;
    };
    let whole = profile::parse(data).expect("the streaming reader accepted what parse rejects");
    assert_eq!(streamed.debug_string(), whole.debug_string());
});
