//! Feeds arbitrary bytes to `profile::parse` (gzip, profile.proto, then the legacy
//! formats): it must return a profile or an error, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let options = profile::ParseOptions {
        max_decompressed: 64 << 20,
        ..Default::default()
    };
    if let Ok(p) = profile::parse_with(data, &options) {
        let _ = p.debug_string();
    }
});
