//! Feeds arbitrary bytes, as profile.proto, to the decoder, and every profile it accepts
//! to the text reports at a few granularities and options: a report of a hostile
//! profile may be empty or fail, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use report::{Options, OutputFormat};

/// The reports that need neither binaries nor source files.
const FORMATS: [OutputFormat; 9] = [
    OutputFormat::Text,
    OutputFormat::Tree,
    OutputFormat::Dot,
    OutputFormat::Traces,
    OutputFormat::Tags,
    OutputFormat::Callgrind,
    OutputFormat::Folded,
    OutputFormat::FlameGraph,
    OutputFormat::TopProto,
];

fuzz_target!(|input: &[u8]| {
    // The first byte picks options; the rest is the profile.
    let Some((&pick, data)) = input.split_first() else {
        return;
    };
    let Ok(mut p) = profile::proto::decode(data) else {
        return;
    };
    if p.sample_types.is_empty() {
        return;
    }
    match pick % 4 {
        1 => {
            let _ = p.aggregate(true, true, true, true, false, false);
        }
        2 => {
            let _ = p.aggregate(false, true, false, false, false, false);
        }
        _ => {}
    }
    for format in FORMATS {
        let mut o = Options::new(format, &p, usize::from(pick >> 4) % p.sample_types.len());
        o.mean = pick & 4 != 0;
        o.call_tree = pick & 8 != 0;
        o.cum_sort = pick & 2 != 0;
        o.node_count = usize::from(pick & 3) * 3;
        o.edge_fraction = 0.0;
        if format == OutputFormat::Tree && pick & 1 != 0 {
            o.symbol = regex::Regex::new(".").ok();
        }
        let _ = report::generate(&mut std::io::sink(), &mut p.clone(), &o);
    }
});
