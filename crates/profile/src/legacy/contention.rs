//! Lock contention profiles in text: gperftools' `--- contentionz`, and Go's
//! `--- mutex:` and `--- contention:` (the mutex and block profiles `runtime/pprof`
//! writes with `debug=1`): `name = value` attributes, then `delay count @ pc…` lines.

use std::sync::LazyLock;

use regex::Regex;

use super::builder::Builder;
use super::text::{compile, hex_addresses, is_space_or_comment, parse_int, Lines};
use super::{maps, Failure};
use crate::error::Error;
use crate::model::Profile;

static SAMPLE: LazyLock<Regex> = LazyLock::new(|| compile(r"([0-9]+) *([0-9]+) @([ x0-9a-f]*)"));

/// Parses a contention profile.
pub(super) fn parse(text: &str) -> Result<Profile, Failure> {
    let mut lines = Lines::new(text);
    let first = lines.header()?;
    if !(first.starts_with("--- contentionz ")
        || first.starts_with("--- mutex:")
        || first.starts_with("--- contention:"))
    {
        return Err(Failure::Unrecognized(None));
    }
    let mut b = Builder::new(
        &[("contentions", "count"), ("delay", "nanoseconds")],
        ("contentions", "count"),
        1,
    );

    // Attributes.
    let mut cpu_hz: i64 = 0;
    while lines.scan() {
        let line = lines.text().trim();
        if is_space_or_comment(line) {
            continue;
        }
        if line.starts_with("---") {
            break;
        }
        let Some((key, value)) = line.split_once('=') else {
            break;
        };
        let (key, value) = (key.trim(), value.trim());
        let at = lines.number();
        let number = || {
            parse_int(value, true).map_err(|e| {
                Failure::Unrecognized(Some(Error::new(format!(
                    "contention profile: attribute {key:?}: {} (line {at})",
                    e.describe(value)
                ))))
            })
        };
        match key {
            "cycles/second" => cpu_hz = number()?,
            "sampling period" => b.profile.period = number()?,
            "ms since reset" => {
                b.profile.duration_nanos = number()?.wrapping_mul(1_000_000);
            }
            "discarded samples" => {}
            // "format" and "resolution" mark Java profiles, read by another parser.
            _ => return Err(Failure::Unrecognized(None)),
        }
    }
    if let Some(e) = lines.error() {
        return Err(Failure::Malformed(e));
    }

    // Samples, starting with the line that ended the attributes.
    let period = b.profile.period;
    let mut caps = SAMPLE.capture_locations();
    loop {
        let line = lines.text().trim();
        if line.starts_with("---") {
            break;
        }
        if !is_space_or_comment(line) {
            let at = lines.number();
            if SAMPLE.captures_read(&mut caps, line).is_none() {
                let why = format!(
                    "contention profile: line {at} is not `delay count @ 0xaddress...`: {line:?}"
                );
                return Err(Failure::Unrecognized(Some(Error::new(why))));
            }
            let g = |i: usize| caps.get(i).map_or("", |(s, e)| &line[s..e]);
            let malformed = |e: String| {
                Failure::Malformed(Error::new(format!(
                    "malformed sample: {line}: {e} (line {at})"
                )))
            };
            let number = |s: &str| parse_int(s, false).map_err(|e| malformed(e.describe(s)));
            let mut delay = number(g(1))?;
            let mut count = number(g(2))?;
            if period > 0 {
                if cpu_hz > 0 {
                    let cpu_ghz = cpu_hz as f64 / 1e9;
                    delay = super::text::f64_to_i64(delay as f64 * period as f64 / cpu_ghz);
                }
                count = count.wrapping_mul(period);
            }
            b.stack.clear();
            // Return addresses: step back onto the call instruction.
            hex_addresses(g(3), |a| b.push_frame(a.wrapping_sub(1))).map_err(malformed)?;
            b.push_sample(&[count, delay], &[]);
        }
        if !lines.scan() {
            break;
        }
    }
    if let Some(e) = lines.error() {
        return Err(Failure::Malformed(e));
    }
    let mappings = maps::parse_after_sections(&mut lines)?;
    Ok(b.finish(mappings))
}
