//! Heap profiles in text: gperftools' `heapz`, Go's `heap profile: … @ heap/N`
//! (written by `runtime/pprof` with `debug=1`), `growthz` and `fragmentationz`.

use std::sync::LazyLock;

use regex::Regex;

use super::builder::Builder;
use super::text::{
    compile, f64_to_i64, hex_addresses, is_memory_map_sentinel, is_space_or_comment, Lines,
};
use super::{maps, Failure};
use crate::error::Error;
use crate::model::Profile;

static HEAP_HEADER: LazyLock<Regex> = LazyLock::new(|| {
    compile(
        r"heap profile: *([0-9]+): *([0-9]+) *\[ *([0-9]+): *([0-9]+) *\] *@ *(heap[_a-z0-9]*)/?([0-9]*)",
    )
});
static HEAP_SAMPLE: LazyLock<Regex> = LazyLock::new(|| {
    compile(r"(-?[0-9]+): *(-?[0-9]+) *\[ *([0-9]+): *([0-9]+) *\] @([ x0-9a-f]*)")
});
static GROWTH_HEADER: LazyLock<Regex> = LazyLock::new(|| {
    compile(r"heap profile: *([0-9]+): *([0-9]+) *\[ *([0-9]+): *([0-9]+) *\] @ growthz?")
});
static FRAGMENTATION_HEADER: LazyLock<Regex> = LazyLock::new(|| {
    compile(r"heap profile: *([0-9]+): *([0-9]+) *\[ *([0-9]+): *([0-9]+) *\] @ fragmentationz?")
});

/// How a heap profile's samples were taken, which decides how they are scaled.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Sampling {
    /// Counts are exact (or their scaling is unknown).
    Exact,
    /// Poisson sampling with the profile's period as the mean interval.
    Poisson,
}

/// Parses a heap profile in text.
pub(super) fn parse(text: &str) -> Result<Profile, Failure> {
    let mut lines = Lines::new(text);
    let header = lines.header()?;
    let (sampling, period, has_alloc) = if let Some(c) = HEAP_HEADER.captures(header) {
        let g = |i: usize| c.get(i).map_or("", |m| m.as_str());
        let mut period: i64 = 0;
        if !g(6).is_empty() {
            period = g(6).parse().map_err(|_| {
                Failure::Unrecognized(Some(Error::new(format!(
                    "heap profile header: sampling period {:?} is out of range (line 1)",
                    g(6)
                ))))
            })?;
        }
        let has_alloc = (g(3) != g(1) && g(3) != "0") || (g(4) != g(2) && g(4) != "0");
        match g(5) {
            "heapz_v2" | "heap_v2" => (Sampling::Poisson, period, has_alloc),
            "heapprofile" => (Sampling::Exact, 1, has_alloc),
            "heap" => (Sampling::Poisson, period / 2, has_alloc),
            other => {
                return Err(Failure::Unrecognized(Some(Error::new(format!(
                    "heap profile header: unknown profile kind {other:?} (line 1)"
                )))))
            }
        }
    } else if GROWTH_HEADER.is_match(header) || FRAGMENTATION_HEADER.is_match(header) {
        (Sampling::Exact, 1, false)
    } else {
        return Err(Failure::Unrecognized(None));
    };

    let mut b = if has_alloc {
        // Alloc before inuse, so that reports choose inuse_space by default.
        Builder::new(
            &[
                ("alloc_objects", "count"),
                ("alloc_space", "bytes"),
                ("inuse_objects", "count"),
                ("inuse_space", "bytes"),
            ],
            ("space", "bytes"),
            period,
        )
    } else {
        Builder::new(
            &[("objects", "count"), ("space", "bytes")],
            ("space", "bytes"),
            period,
        )
    };
    let bytes_key = b.num_label("bytes", 0);

    let mut caps = HEAP_SAMPLE.capture_locations();
    let mut values = Vec::with_capacity(4);
    while lines.scan() {
        let line = lines.text().trim();
        if is_space_or_comment(line) {
            continue;
        }
        if is_memory_map_sentinel(line) {
            break;
        }
        let at = lines.number();
        let malformed = |msg: String| Failure::Malformed(Error::new(format!("{msg} (line {at})")));
        if HEAP_SAMPLE.captures_read(&mut caps, line).is_none() {
            return Err(malformed(
                "unexpected number of sample values: got 0, want 6".to_string(),
            ));
        }
        let g = |i: usize| caps.get(i).map_or("", |(s, e)| &line[s..e]);
        values.clear();
        let mut block_size = 0;
        let mut add = |count: &str, size: &str, what: &str| -> Result<(), Failure> {
            let number = |s: &str| {
                s.parse::<i64>().map_err(|e| {
                    let why = match e.kind() {
                        std::num::IntErrorKind::PosOverflow
                        | std::num::IntErrorKind::NegOverflow => "value out of range",
                        _ => "invalid syntax",
                    };
                    malformed(format!(
                        "malformed sample: {line}: strconv.ParseInt: parsing {s:?}: {why}"
                    ))
                })
            };
            let (mut count, mut size) = (number(count)?, number(size)?);
            if count == 0 && size != 0 {
                return Err(malformed(format!(
                    "{what} count was 0 but {what} bytes was {size}"
                )));
            }
            if count != 0 {
                block_size = size.wrapping_div(count);
                if sampling == Sampling::Poisson {
                    (count, size) = scale_heap_sample(count, size, period);
                }
            }
            values.push(count);
            values.push(size);
            Ok(())
        };
        if has_alloc {
            add(g(3), g(4), "allocation")?;
        }
        add(g(1), g(2), "inuse")?;
        let stack = g(5);
        b.stack.clear();
        // Return addresses: step back onto the call instruction.
        hex_addresses(stack, |a| b.push_frame(a.wrapping_sub(1)))
            .map_err(|e| malformed(format!("malformed sample: {line}: {e}")))?;
        let label = crate::model::Label {
            num: block_size,
            ..bytes_key
        };
        b.push_sample(&values, &[label]);
    }
    if let Some(e) = lines.error() {
        return Err(Failure::Malformed(e));
    }
    let mappings = maps::parse_after_sections(&mut lines)?;
    Ok(b.finish(mappings))
}

/// Estimates the unsampled count and size of a heap sample taken with Poisson
/// sampling at mean interval `rate` bytes: each is divided by the probability
/// `1 - exp(-avg/rate)` that an allocation of the average size was sampled.
pub(super) fn scale_heap_sample(count: i64, size: i64, rate: i64) -> (i64, i64) {
    if count == 0 || size == 0 {
        return (0, 0);
    }
    if rate <= 1 {
        // Every allocation was sampled, or the rate is unknown.
        return (count, size);
    }
    let average = size as f64 / count as f64;
    let scale = 1.0 / (1.0 - (-average / rate as f64).exp());
    (
        f64_to_i64(count as f64 * scale),
        f64_to_i64(size as f64 * scale),
    )
}
