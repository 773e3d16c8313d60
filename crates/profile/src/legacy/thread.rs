//! Thread dumps (`--- threadz N ---`, then `--- Thread ID (name: NAME/TID) stack: ---`
//! sections of addresses, symbolized or not), ending with a memory map.

use std::sync::LazyLock;

use regex::Regex;

use super::builder::{drop_duplicate_leaves, Builder};
use super::text::{compile, hex_addresses, is_memory_map_sentinel, is_space_or_comment, Lines};
use super::{maps, Failure};
use crate::error::Error;
use crate::model::Profile;

static THREADZ_START: LazyLock<Regex> = LazyLock::new(|| compile(r"--- threadz [0-9]+ ---"));
static THREAD_START: LazyLock<Regex> =
    LazyLock::new(|| compile(r"--- Thread ([[:xdigit:]]+) \(name: (.*)/([0-9]+)\) stack: ---"));

/// Parses a thread dump.
pub(super) fn parse(text: &str) -> Result<Profile, Failure> {
    let mut lines = Lines::new(text);
    while lines.scan() && is_space_or_comment(lines.text()) {}
    let mut line = lines.text();
    if THREADZ_START.is_match(line) {
        // Skip comments up to the first thread.
        while lines.scan() {
            line = lines.text();
            if is_memory_map_sentinel(line) || line.starts_with('-') {
                break;
            }
        }
    } else if !THREAD_START.is_match(line) {
        return Err(Failure::Unrecognized(None));
    }

    let mut b = Builder::new(&[("thread", "count")], ("thread", "count"), 1);
    let mut addresses: Vec<u64> = Vec::new();
    while !is_memory_map_sentinel(line) {
        if line.starts_with("---- no stack trace for") {
            break;
        }
        if !THREAD_START.is_match(line) {
            let why = format!(
                "thread dump: expected `--- Thread ...` at line {}, found {line:?}",
                lines.number()
            );
            return Err(Failure::Unrecognized(Some(Error::new(why))));
        }
        let same_as_previous;
        (line, same_as_previous) = read_stack(&mut lines, &mut addresses)?;
        if same_as_previous || addresses.is_empty() {
            let samples = &mut b.profile.samples;
            if let Some(last) = samples.len().checked_sub(1) {
                samples.set_value(last, 0, samples.value(last, 0).wrapping_add(1));
            }
            continue;
        }
        b.stack.clear();
        for (i, &a) in addresses.iter().enumerate() {
            // Callers' return addresses: step back onto the call instruction.
            b.push_frame(if i > 0 { a.wrapping_sub(1) } else { a });
        }
        b.push_sample(&[1], &[]);
    }
    let mappings = maps::parse_after_sections(&mut lines)?;
    let mut p = b.finish(mappings);
    drop_duplicate_leaves(&mut p);
    Ok(p)
}

/// Reads the addresses of one thread's stack into `addresses`, up to the next `---`
/// line or the end; returns that last line (trimmed) and whether the stack was
/// "same as previous thread".
fn read_stack<'a>(
    lines: &mut Lines<'a>,
    addresses: &mut Vec<u64>,
) -> Result<(&'a str, bool), Failure> {
    addresses.clear();
    let mut line = "";
    let mut same_as_previous = false;
    while lines.scan() {
        line = lines.text().trim();
        if line.is_empty() {
            continue;
        }
        if line.starts_with("---") {
            break;
        }
        if line.contains("same as previous thread") {
            same_as_previous = true;
            continue;
        }
        hex_addresses(line, |a| addresses.push(a)).map_err(|e| {
            Failure::Malformed(Error::new(format!(
                "malformed sample: {line}: {e} (line {})",
                lines.number()
            )))
        })?;
    }
    if let Some(e) = lines.error() {
        return Err(Failure::Malformed(e));
    }
    Ok((line, same_as_previous))
}
