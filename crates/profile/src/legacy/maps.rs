//! The memory map that ends most legacy profiles (`/proc/self/maps` lines, or the
//! brief `start-end file (@offset) buildid` form), and pprof's clean-up of it.

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::Regex;

use super::text::{compile, is_memory_map_sentinel, Lines};
use super::Failure;

/// A mapping as read from the text, before it joins a profile.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct RawMapping {
    pub(super) start: u64,
    pub(super) limit: u64,
    pub(super) offset: u64,
    pub(super) file: String,
    pub(super) build_id: String,
}

// Go's `\s` and `\S` are ASCII-only; spelled out so the Rust patterns mean the same.
macro_rules! sp {
    () => {
        r"[\t\n\f\r ]"
    };
}
macro_rules! hex_range {
    () => {
        concat!(
            sp!(),
            "*(?:0x)?([[:xdigit:]]+)[\t\n\x0c\r -]?",
            sp!(),
            "*(?:0x)?([[:xdigit:]]+):?"
        )
    };
}
macro_rules! perm {
    () => {
        concat!("(?:", sp!(), "+([-rwxp]+))?")
    };
}

static PROC_MAPS: LazyLock<Regex> = LazyLock::new(|| {
    compile(concat!(
        "^",
        hex_range!(),
        perm!(),
        "(?:",
        sp!(),
        "+([[:xdigit:]]+))?",
        sp!(),
        "+[[:xdigit:]]+:[[:xdigit:]]+",
        sp!(),
        "+[[:digit:]]+",
        "(?:",
        sp!(),
        r"+([^\t\n\f\r ]+))?"
    ))
});

static BRIEF_MAPS: LazyLock<Regex> = LazyLock::new(|| {
    compile(concat!(
        "^",
        hex_range!(),
        perm!(),
        "(?:",
        sp!(),
        r"+([^\t\n\f\r ]+))?",
        "(?:",
        sp!(),
        r"+\(@([[:xdigit:]]+)\))?",
        "(?:",
        sp!(),
        "+([[:xdigit:]]+))?"
    ))
});

/// A glog prefix: `... file:line] `.
static LOG_PREFIX: LazyLock<Regex> =
    LazyLock::new(|| compile(concat!(r"^[^\[\]]+:[0-9]+\]", sp!())));

/// Shared-library file names.
static LIBRARY: LazyLock<Regex> = LazyLock::new(|| compile(r"([.]so$|[.]so[._][0-9]+)"));

/// Reads mapping lines until the end of the input, skipping lines that are not
/// mappings; `name=value` lines define `$name` for the lines after them.
pub(super) fn parse(lines: &mut Lines<'_>) -> Result<Vec<RawMapping>, Failure> {
    let mut mappings = Vec::new();
    let mut vars: Vec<(String, String)> = Vec::new();
    while lines.scan() {
        let raw = lines.text();
        let raw = match LOG_PREFIX.find(raw) {
            Some(m) => &raw[m.end()..],
            None => raw,
        };
        let line = substitute(raw, &vars);
        match entry(&line) {
            Some(Some(m)) => mappings.push(m),
            Some(None) => {}
            None => {
                if let Some((name, value)) = line.split_once('=') {
                    vars.push((format!("${}", name.trim()), value.trim().to_string()));
                }
            }
        }
    }
    if let Some(e) = lines.error() {
        return Err(Failure::Malformed(e));
    }
    Ok(mappings)
}

/// Skips to the memory map (past any other sections) and reads it.
pub(super) fn parse_after_sections(lines: &mut Lines<'_>) -> Result<Vec<RawMapping>, Failure> {
    while !is_memory_map_sentinel(lines.text()) && lines.scan() {}
    if let Some(e) = lines.error() {
        return Err(Failure::Malformed(e));
    }
    parse(lines)
}

/// Replaces each `$name` defined so far; where several names match at one place the
/// earliest defined wins.
fn substitute<'a>(line: &'a str, vars: &[(String, String)]) -> Cow<'a, str> {
    if vars.is_empty() || !line.contains('$') {
        return Cow::Borrowed(line);
    }
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(c) = rest.chars().next() {
        match vars
            .iter()
            .find(|(name, _)| rest.starts_with(name.as_str()))
        {
            Some((name, value)) => {
                out.push_str(value);
                rest = &rest[name.len()..];
            }
            None => {
                out.push(c);
                rest = &rest[c.len_utf8()..];
            }
        }
    }
    Cow::Owned(out)
}

/// Parses one mapping line: `None` when it is not one, `Some(None)` for a mapping
/// that is not executable (and so is skipped).
fn entry(line: &str) -> Option<Option<RawMapping>> {
    fn group<'t>(c: &regex::Captures<'t>, i: usize) -> &'t str {
        c.get(i).map_or("", |m| m.as_str())
    }
    let (start, end, perm, file, offset, build_id);
    if let Some(c) = PROC_MAPS.captures(line) {
        (start, end, perm, offset, file) = (
            group(&c, 1),
            group(&c, 2),
            group(&c, 3),
            group(&c, 4),
            group(&c, 5),
        );
        build_id = "";
    } else if let Some(c) = BRIEF_MAPS.captures(line) {
        (start, end, perm, file, offset, build_id) = (
            group(&c, 1),
            group(&c, 2),
            group(&c, 3),
            group(&c, 4),
            group(&c, 5),
            group(&c, 6),
        );
    } else {
        return None;
    }
    if !perm.is_empty() && !perm.contains('x') {
        return Some(None);
    }
    let hex = |s: &str| u64::from_str_radix(s, 16).ok();
    let offset = if offset.is_empty() { 0 } else { hex(offset)? };
    Some(Some(RawMapping {
        start: hex(start)?,
        limit: hex(end)?,
        offset,
        file: file.to_string(),
        build_id: build_id.to_string(),
    }))
}

/// pprof's heuristics on a parsed memory map: adjacent pieces of one file become one
/// mapping, and the first mapping that looks like the main binary moves to the front.
pub(super) fn massage(mappings: Vec<RawMapping>) -> Vec<RawMapping> {
    let mut merged: Vec<RawMapping> = Vec::with_capacity(mappings.len());
    for m in mappings {
        match merged.last_mut() {
            Some(last) if adjacent(last, &m) => {
                last.limit = m.limit;
                if !m.file.is_empty() {
                    last.file = m.file;
                }
                if !m.build_id.is_empty() {
                    last.build_id = m.build_id;
                }
            }
            _ => merged.push(m),
        }
    }
    let main = merged.iter().position(|m| {
        let file = m.file.replace("(deleted)", "");
        let file = file.trim();
        !file.is_empty() && !LIBRARY.is_match(file) && !file.starts_with('[')
    });
    if let Some(i) = main {
        merged.swap(0, i);
    }
    merged
}

/// Whether `b` continues `a`: same file and build id where both are known, `b`
/// starting where `a` ends, at the matching file offset where both have one.
fn adjacent(a: &RawMapping, b: &RawMapping) -> bool {
    if !a.file.is_empty() && !b.file.is_empty() && a.file != b.file {
        return false;
    }
    if !a.build_id.is_empty() && !b.build_id.is_empty() && a.build_id != b.build_id {
        return false;
    }
    if a.limit != b.start {
        return false;
    }
    if a.offset != 0 && b.offset != 0 {
        let expected = a.offset.wrapping_add(a.limit.wrapping_sub(a.start));
        if expected != b.offset {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_text(text: &str) -> Vec<RawMapping> {
        match parse(&mut Lines::new(text)) {
            Ok(m) => m,
            Err(_) => panic!("mapping text failed to parse"),
        }
    }

    #[test]
    fn proc_maps_lines_keep_only_executable_mappings() {
        let m = parse_text(
            "00400000-00fcb000 r-xp 00000000 08:01 123 /bin/server\n\
             01000000-01100000 rw-p 00000000 08:01 123 /bin/server\n\
             7f0000000000-7f0000001000 r-xp 00001000 08:01 9 /lib/libc.so.6\n",
        );
        assert_eq!(m.len(), 2);
        assert_eq!(
            (m[0].start, m[0].limit, m[0].offset),
            (0x400000, 0xfcb000, 0)
        );
        assert_eq!(m[0].file, "/bin/server");
        assert_eq!(m[1].offset, 0x1000);
    }

    #[test]
    fn brief_lines_carry_offset_and_build_id_and_variables_expand() {
        let m = parse_text(
            "root=/opt\n\
             0x40000-0x80000 $root/bin (@ff00) abc123\n",
        );
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].file, "/opt/bin");
        assert_eq!(m[0].offset, 0xff00);
        assert_eq!(m[0].build_id, "abc123");
    }

    #[test]
    fn massage_merges_adjacent_pieces_and_moves_the_binary_first() {
        let m = |start, limit, file: &str| RawMapping {
            start,
            limit,
            file: file.to_string(),
            ..RawMapping::default()
        };
        let out = massage(vec![
            m(0x1000, 0x2000, "/lib/libc.so.6"),
            m(0x2000, 0x3000, "/lib/libc.so.6"),
            m(0x5000, 0x6000, "[vdso]"),
            m(0x8000, 0x9000, "/bin/app"),
        ]);
        assert_eq!(out.len(), 3);
        // The binary swaps places with the first mapping.
        assert_eq!(out[0].file, "/bin/app");
        assert_eq!(out[1].file, "[vdso]");
        assert_eq!((out[2].start, out[2].limit), (0x1000, 0x3000));
    }
}
