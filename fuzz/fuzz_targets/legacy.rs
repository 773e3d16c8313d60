//! Feeds arbitrary bytes to the legacy parsers: they must return a profile or an
//! error, never panic, and a profile they return must print.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = profile::legacy::parse(data) {
        let _ = p.debug_string();
    }
});
