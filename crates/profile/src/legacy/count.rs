//! Go's text count profiles (`goroutine profile: total N`, `threadcreate profile:
//! total N`, as `runtime/pprof` writes with `debug=1`): `count @ pc…` lines.

use std::sync::LazyLock;

use regex::Regex;

use super::builder::Builder;
use super::text::{compile, hex_addresses, is_space_or_comment, parse_int, Lines};
use super::{maps, Failure};
use crate::error::Error;
use crate::model::Profile;

static COUNT_START: LazyLock<Regex> =
    LazyLock::new(|| compile(r"\A([^\t\n\f\r ]+) profile: total [0-9]+\z"));
static COUNT: LazyLock<Regex> = LazyLock::new(|| compile(r"\A([0-9]+) @(( 0x[0-9a-f]+)+)\z"));

/// Parses a Go count profile.
pub(super) fn parse(text: &str) -> Result<Profile, Failure> {
    let mut lines = Lines::new(text);
    while lines.scan() && is_space_or_comment(lines.text()) {}
    if let Some(e) = lines.error() {
        return Err(Failure::Malformed(e));
    }
    let Some(c) = COUNT_START.captures(lines.text()) else {
        return Err(Failure::Unrecognized(None));
    };
    let kind = c.get(1).map_or("", |m| m.as_str());
    let mut b = Builder::new(&[(kind, "count")], (kind, "count"), 1);

    let mut caps = COUNT.capture_locations();
    while lines.scan() {
        let line = lines.text();
        if is_space_or_comment(line) {
            continue;
        }
        if line.starts_with("---") {
            break;
        }
        let at = lines.number();
        let malformed = || {
            Failure::Malformed(Error::new(format!(
                "malformed profile format: line {at} is not `count @ 0xaddress...`"
            )))
        };
        if COUNT.captures_read(&mut caps, line).is_none() {
            return Err(malformed());
        }
        let g = |i: usize| caps.get(i).map_or("", |(s, e)| &line[s..e]);
        let n = parse_int(g(1), true).map_err(|_| malformed())?;
        b.stack.clear();
        // Return addresses: step back onto the call instruction.
        hex_addresses(g(2), |a| b.push_frame(a.wrapping_sub(1))).map_err(|_| malformed())?;
        b.push_sample(&[n], &[]);
    }
    if let Some(e) = lines.error() {
        return Err(Failure::Malformed(e));
    }
    let mappings = maps::parse_after_sections(&mut lines)?;
    Ok(b.finish(mappings))
}
