//! The Java agent's profiles: `--- heapz 1 ---` and `--- contentionz 1 ---` in text
//! (attributes, `value1 value2 @ 0xid…` samples, then a symbol table), and the symbol
//! table that follows the samples of its binary CPU profile.

use std::sync::LazyLock;

use regex::Regex;

use super::builder::Builder;
use super::heap::scale_heap_sample;
use super::text::{compile, hex_addresses, parse_int};
use super::Failure;
use crate::error::Error;
use crate::model::Profile;

static ATTRIBUTE: LazyLock<Regex> = LazyLock::new(|| compile(r"([0-9A-Za-z_ ]+)=([0-9A-Za-z_ ]+)"));
static SAMPLE: LazyLock<Regex> =
    LazyLock::new(|| compile(r" *([0-9]+) +([0-9]+) +@ +([ x0-9a-f]*)"));
static LOCATION: LazyLock<Regex> =
    LazyLock::new(|| compile(r"^[\t\n\f\r ]*0x([[:xdigit:]]+)[\t\n\f\r ]+(.*)[\t\n\f\r ]*$"));
static LOCATION_FILE_LINE: LazyLock<Regex> =
    LazyLock::new(|| compile(r"^(.*)[\t\n\f\r ]+\((.+):(-?[[:digit:]]+)\)$"));
static LOCATION_PATH: LazyLock<Regex> = LazyLock::new(|| compile(r"^(.*)[\t\n\f\r ]+\((.*)\)$"));

/// Sampling interval of the Java heap profiler, in bytes.
const HEAP_SAMPLING_RATE: i64 = 512 * 1024;

/// What a Java text profile measures.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Heap,
    Contention,
}

/// Splits off the first line of `text`, newline included; `None` when no newline
/// is left (an unterminated last line is not a line here).
fn split_line(text: &str) -> Option<(&str, &str)> {
    let i = text.find('\n')?;
    Some((&text[..=i], &text[i + 1..]))
}

/// Parses a Java heap or contention profile.
pub(super) fn parse(text: &str) -> Result<Profile, Failure> {
    let Some((header, rest)) = split_line(text) else {
        return Err(Failure::Unrecognized(None));
    };
    let kind = match header.trim() {
        "--- heapz 1 ---" => Kind::Heap,
        "--- contentionz 1 ---" => Kind::Contention,
        _ => return Err(Failure::Unrecognized(None)),
    };
    let mut b = Builder::new(&[], ("", ""), 0);
    let rest = parse_header(kind, rest, &mut b)?;
    let rest = parse_samples(kind, rest, &mut b)?;
    finish(b, rest)
}

/// Reads the `name = value` attributes; returns the text from the first line that
/// is not one.
fn parse_header<'a>(kind: Kind, mut text: &'a str, b: &mut Builder) -> Result<&'a str, Failure> {
    while let Some((raw, rest)) = split_line(text) {
        let line = raw.trim();
        if !line.is_empty() {
            let Some(c) = ATTRIBUTE.captures(line) else {
                return Ok(text);
            };
            let name = c.get(1).map_or("", |m| m.as_str()).trim();
            let value = c.get(2).map_or("", |m| m.as_str()).trim();
            let number = || {
                parse_int(value, true).map_err(|e| {
                    Failure::Malformed(Error::new(format!(
                        "failed to parse attribute {line}: {}",
                        e.describe(value)
                    )))
                })
            };
            match (kind, name) {
                (_, "format") => {
                    if value != "java" {
                        return Err(Failure::Unrecognized(None));
                    }
                }
                (Kind::Heap, "resolution") => {
                    b.set_sample_types(&[("inuse_objects", "count"), ("inuse_space", value)]);
                }
                (Kind::Contention, "resolution") => {
                    b.set_sample_types(&[("contentions", "count"), ("delay", value)]);
                }
                (Kind::Contention, "sampling period") => {
                    let ty = b.profile.intern("contentions");
                    let unit = b.profile.intern("count");
                    b.profile.period_type = crate::model::ValueType { ty, unit };
                    b.profile.period = number()?;
                }
                (Kind::Contention, "ms since reset") => {
                    b.profile.duration_nanos = number()?.wrapping_mul(1_000_000);
                }
                _ => return Err(Failure::Unrecognized(None)),
            }
        }
        text = rest;
    }
    Ok(text)
}

/// Reads the `value1 value2 @ 0xid…` samples; returns the text from the first line
/// that is not one.
fn parse_samples<'a>(kind: Kind, mut text: &'a str, b: &mut Builder) -> Result<&'a str, Failure> {
    let mut caps = SAMPLE.capture_locations();
    while let Some((raw, rest)) = split_line(text) {
        let line = raw.trim();
        if !line.is_empty() {
            if SAMPLE.captures_read(&mut caps, line).is_none() {
                return Ok(text);
            }
            let g = |i: usize| caps.get(i).map_or("", |(s, e)| &line[s..e]);
            let malformed =
                |e: String| Failure::Malformed(Error::new(format!("parsing sample {line}: {e}")));
            b.stack.clear();
            hex_addresses(g(3), |a| b.push_frame(a)).map_err(|e| {
                Failure::Malformed(Error::new(format!("malformed sample: {line}: {e}")))
            })?;
            // The columns are swapped relative to the other formats.
            let mut v0 = parse_int(g(2), true).map_err(|e| malformed(e.describe(g(2))))?;
            let mut v1 = parse_int(g(1), true).map_err(|e| malformed(e.describe(g(1))))?;
            let mut label = None;
            match kind {
                Kind::Heap => {
                    if v0 == 0 {
                        return Err(malformed("second value must be non-zero".to_string()));
                    }
                    label = Some(b.num_label("bytes", v1.wrapping_div(v0)));
                    (v0, v1) = scale_heap_sample(v0, v1, HEAP_SAMPLING_RATE);
                }
                Kind::Contention => {
                    let period = b.profile.period;
                    if period != 0 {
                        v0 = v0.wrapping_mul(period);
                        v1 = v1.wrapping_mul(period);
                    }
                }
            }
            if b.profile.samples.width() != 2 {
                return Err(Failure::Malformed(Error::new(
                    "missing sample type information",
                )));
            }
            b.push_sample(&[v0, v1], label.as_slice());
        }
        text = rest;
    }
    Ok(text)
}

/// Reads the symbol table (`0xid function (file:line)` lines) that names the
/// locations, and finishes the profile with addresses cleared, as pprof does so that
/// profiles merge by function.
pub(super) fn finish(mut b: Builder, text: &str) -> Result<Profile, Failure> {
    let mut caps = LOCATION.capture_locations();
    for raw in text.split_inclusive('\n') {
        let line = raw.trim();
        if line.is_empty() || LOCATION.captures_read(&mut caps, line).is_none() {
            continue;
        }
        let g = |i: usize| caps.get(i).map_or("", |(s, e)| &line[s..e]);
        let Ok(address) = u64::from_str_radix(g(1), 16) else {
            return Err(Failure::Malformed(Error::new(format!(
                "parsing sample {line}: strconv.ParseUint: parsing {:?}: value out of range",
                g(1)
            ))));
        };
        let Some(index) = b.find_location(address) else {
            continue;
        };
        let symbol = g(2);
        let (name, file, line_number) = if let Some(c) = LOCATION_FILE_LINE.captures(symbol) {
            let n = c.get(3).map_or("", |m| m.as_str());
            let line_number = match parse_int(n, false) {
                Ok(n) if n > 0 => n,
                _ => 0,
            };
            (
                c.get(1).map_or("", |m| m.as_str()),
                c.get(2).map_or("", |m| m.as_str()),
                line_number,
            )
        } else if let Some(c) = LOCATION_PATH.captures(symbol) {
            // A shared library: only its base name is of interest.
            let path = c.get(2).map_or("", |m| m.as_str());
            (
                c.get(1).map_or("", |m| m.as_str()),
                crate::gopath::base_name(path),
                0,
            )
        } else if symbol.contains("generated stub/JIT") {
            ("STUB", "", 0)
        } else {
            // Internal states of the agent, such as "GC" or "VM".
            (symbol, "", 0)
        };
        b.set_line(index, name, file, line_number);
    }
    if b.profile.samples.width() != b.profile.sample_types.len() {
        if !b.profile.samples.is_empty() {
            return Err(Failure::Malformed(Error::new(
                "missing sample type information",
            )));
        }
        b.profile.samples = crate::samples::Samples::new(b.profile.sample_types.len());
    }
    let mut p = b.finish(Vec::new());
    for loc in &mut p.locations {
        loc.address = 0;
    }
    Ok(p)
}
