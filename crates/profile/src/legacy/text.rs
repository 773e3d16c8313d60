//! Reading the text formats as pprof does: line by line, with Go's number syntax.

use regex::Regex;

use super::Failure;
use crate::error::Error;

/// Longest line pprof's line reader accepts, in bytes (its 64 KiB buffer must also
/// hold the newline).
const MAX_LINE: usize = 64 * 1024 - 1;

/// A line reader with the semantics of Go's `bufio.Scanner` splitting lines: `\n`
/// ends a line, one `\r` before it is dropped, the last line needs no newline, and
/// after the end (or an error) the current text is empty.
pub(super) struct Lines<'a> {
    rest: &'a str,
    text: &'a str,
    number: usize,
    too_long: bool,
}

impl<'a> Lines<'a> {
    /// A reader positioned before the first line of `text`.
    pub(super) fn new(text: &'a str) -> Lines<'a> {
        Lines {
            rest: text,
            text: "",
            number: 0,
            too_long: false,
        }
    }

    /// Advances to the next line; false at the end of the input or on a line too long.
    pub(super) fn scan(&mut self) -> bool {
        self.text = "";
        if self.too_long || self.rest.is_empty() {
            return false;
        }
        let (line, rest) = match self.rest.find('\n') {
            Some(i) => (&self.rest[..i], &self.rest[i + 1..]),
            None => (self.rest, ""),
        };
        self.number += 1;
        if line.len() > MAX_LINE {
            self.too_long = true;
            return false;
        }
        self.rest = rest;
        self.text = line.strip_suffix('\r').unwrap_or(line);
        true
    }

    /// The current line, without its line terminator; empty before the first and
    /// after the last line.
    pub(super) fn text(&self) -> &'a str {
        self.text
    }

    /// The 1-based number of the current line.
    pub(super) fn number(&self) -> usize {
        self.number
    }

    /// Reads the first line, the header that names a text format, and returns it (to be
    /// called first, before [`scan`](Self::scan)): an input without one is not in the
    /// format, and one whose first line is too long is malformed.
    pub(super) fn header(&mut self) -> Result<&'a str, Failure> {
        if self.scan() {
            return Ok(self.text);
        }
        Err(match self.error() {
            Some(e) => Failure::Malformed(e),
            None => Failure::Unrecognized(None),
        })
    }

    /// The error that stopped reading, if any.
    pub(super) fn error(&self) -> Option<Error> {
        self.too_long.then(|| {
            Error::new(format!(
                "line {} is longer than {MAX_LINE} bytes",
                self.number
            ))
        })
    }
}

/// Whether a line is blank or a `#` comment.
pub(super) fn is_space_or_comment(line: &str) -> bool {
    let t = line.trim();
    t.is_empty() || t.starts_with('#')
}

/// Whether a line announces the memory map that ends a text profile.
pub(super) fn is_memory_map_sentinel(line: &str) -> bool {
    line.contains("--- Memory map: ---") || line.contains("MAPPED_LIBRARIES:")
}

/// Compiles one of this module's fixed patterns.
pub(super) fn compile(pattern: &str) -> Regex {
    match Regex::new(pattern) {
        Ok(re) => re,
        // The patterns are constants, checked by the tests.
        Err(e) => panic!("invalid built-in pattern {pattern}: {e}"),
    }
}

/// Appends every `0x…` hexadecimal number of `s` (lower-case digits, as pprof's
/// pattern `0x[0-9a-f]+` finds them) to `out`; fails on a number that does not fit in
/// 64 bits, naming it.
pub(super) fn hex_addresses(s: &str, mut out: impl FnMut(u64)) -> Result<(), String> {
    let b = s.as_bytes();
    let is_digit = |c: u8| c.is_ascii_digit() || (b'a'..=b'f').contains(&c);
    let mut i = 0;
    while i + 2 < b.len() {
        if b[i] != b'0' || b[i + 1] != b'x' || !is_digit(b[i + 2]) {
            i += 1;
            continue;
        }
        let start = i + 2;
        let mut end = start;
        while end < b.len() && is_digit(b[end]) {
            end += 1;
        }
        match u64::from_str_radix(&s[start..end], 16) {
            Ok(a) => out(a),
            Err(_) => {
                return Err(format!(
                    "failed to parse as hex 64-bit number: {}",
                    &s[i..end]
                ))
            }
        }
        i = end;
    }
    Ok(())
}

/// Why a number did not parse, worded as Go's `strconv` does.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum NumError {
    /// Not a number in the expected syntax.
    Syntax,
    /// A number too large for 64 bits.
    Range,
}

impl NumError {
    /// The message Go's `strconv.ParseInt` gives for input `s`.
    pub(super) fn describe(&self, s: &str) -> String {
        let why = match self {
            NumError::Syntax => "invalid syntax",
            NumError::Range => "value out of range",
        };
        format!("strconv.ParseInt: parsing {s:?}: {why}")
    }
}

/// Parses a signed 64-bit integer like Go's `strconv.ParseInt(s, base, 64)` for base
/// 10, or for base 0 (a `0x`, `0o`, `0b` or `0` prefix picks the base, and `_` may
/// separate digits).
pub(super) fn parse_int(s: &str, base0: bool) -> Result<i64, NumError> {
    let (negative, unsigned) = match s.as_bytes().first() {
        Some(b'+') => (false, &s[1..]),
        Some(b'-') => (true, &s[1..]),
        _ => (false, s),
    };
    let magnitude = parse_uint(unsigned, base0)?;
    if negative {
        if magnitude > 1 << 63 {
            return Err(NumError::Range);
        }
        Ok((magnitude as i64).wrapping_neg())
    } else {
        i64::try_from(magnitude).map_err(|_| NumError::Range)
    }
}

/// Parses an unsigned integer like Go's `strconv.ParseUint(s, base, 64)` for base 10
/// or base 0.
fn parse_uint(s: &str, base0: bool) -> Result<u64, NumError> {
    if s.is_empty() {
        return Err(NumError::Syntax);
    }
    let bytes = s.as_bytes();
    let (radix, digits) = if base0 && bytes[0] == b'0' {
        match bytes.get(1).map(u8::to_ascii_lowercase) {
            Some(b'b') if bytes.len() >= 3 => (2, &bytes[2..]),
            Some(b'o') if bytes.len() >= 3 => (8, &bytes[2..]),
            Some(b'x') if bytes.len() >= 3 => (16, &bytes[2..]),
            _ => (8, &bytes[1..]),
        }
    } else {
        (10, bytes)
    };
    let mut n: u64 = 0;
    let mut underscores = false;
    for &c in digits {
        let d = match c {
            b'_' if base0 => {
                underscores = true;
                continue;
            }
            b'0'..=b'9' => c - b'0',
            b'a'..=b'z' => c - b'a' + 10,
            b'A'..=b'Z' => c - b'A' + 10,
            _ => return Err(NumError::Syntax),
        };
        if u32::from(d) >= radix {
            return Err(NumError::Syntax);
        }
        n = n
            .checked_mul(u64::from(radix))
            .and_then(|n| n.checked_add(u64::from(d)))
            .ok_or(NumError::Range)?;
    }
    if underscores && !underscores_ok(s) {
        return Err(NumError::Syntax);
    }
    Ok(n)
}

/// Whether the underscores of a base-0 number only separate digits (or follow the
/// base prefix), as Go requires.
fn underscores_ok(s: &str) -> bool {
    let mut b = s.as_bytes();
    if let Some(b'+' | b'-') = b.first() {
        b = &b[1..];
    }
    // What came last: None for the start, Some('0') a digit or prefix, Some('_') an
    // underscore, Some('!') anything else.
    let mut last = None;
    let mut hex = false;
    let mut i = 0;
    if b.len() >= 2 && b[0] == b'0' && matches!(b[1].to_ascii_lowercase(), b'b' | b'o' | b'x') {
        i = 2;
        last = Some('0');
        hex = b[1].eq_ignore_ascii_case(&b'x');
    }
    for &c in &b[i..] {
        if c.is_ascii_digit() || (hex && c.is_ascii_hexdigit()) {
            last = Some('0');
        } else if c == b'_' {
            if last != Some('0') {
                return false;
            }
            last = Some('_');
        } else {
            if last == Some('_') {
                return false;
            }
            last = Some('!');
        }
    }
    last != Some('_')
}

/// Converts a float to an integer as Go does on amd64: truncation toward zero, and
/// the minimum integer for NaN or a value out of range.
pub(super) fn f64_to_i64(x: f64) -> i64 {
    /// 2^63, exactly representable.
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    if (-LIMIT..LIMIT).contains(&x) {
        x as i64
    } else {
        i64::MIN
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_strip_carriage_returns_and_end_with_empty_text() {
        let mut l = Lines::new("a\r\nb\n\nc");
        let mut seen = Vec::new();
        while l.scan() {
            seen.push(l.text());
        }
        assert_eq!(seen, ["a", "b", "", "c"]);
        assert_eq!(l.text(), "");
        assert!(!l.scan());
        assert!(l.error().is_none());
    }

    #[test]
    fn lines_refuse_a_line_longer_than_64k() {
        let long = format!("x\n{}\ny", "a".repeat(MAX_LINE + 1));
        let mut l = Lines::new(&long);
        assert!(l.scan());
        assert!(!l.scan());
        assert_eq!(
            l.error().map(|e| e.to_string()),
            Some("line 2 is longer than 65535 bytes".to_string())
        );
    }

    #[test]
    fn parse_int_base0_follows_go_prefixes_and_underscores() {
        assert_eq!(parse_int("0x10", true), Ok(16));
        assert_eq!(parse_int("010", true), Ok(8));
        assert_eq!(parse_int("0", true), Ok(0));
        assert_eq!(parse_int("0b101", true), Ok(5));
        assert_eq!(parse_int("1_000", true), Ok(1000));
        assert_eq!(parse_int("-12", true), Ok(-12));
        assert_eq!(parse_int("09", true), Err(NumError::Syntax));
        assert_eq!(parse_int("1__0", true), Err(NumError::Syntax));
        assert_eq!(parse_int("1_000", false), Err(NumError::Syntax));
        assert_eq!(parse_int("010", false), Ok(10));
        assert_eq!(
            parse_int("9223372036854775808", false),
            Err(NumError::Range)
        );
        assert_eq!(parse_int("-9223372036854775808", false), Ok(i64::MIN));
        assert_eq!(parse_int("", false), Err(NumError::Syntax));
    }

    #[test]
    fn hex_addresses_rejects_numbers_wider_than_64_bits() {
        let mut v = Vec::new();
        assert!(hex_addresses("@ 0x10 0xff 0x 0xg 00x7 0x1A", |a| v.push(a)).is_ok());
        // "0x1A" is 0x1 followed by text: pprof's pattern takes lower-case digits only.
        assert_eq!(v, [0x10, 0xff, 0x7, 0x1]);
        assert_eq!(
            hex_addresses("0x11112222333344445", |_| {}),
            Err("failed to parse as hex 64-bit number: 0x11112222333344445".to_string())
        );
    }

    #[test]
    fn float_conversion_matches_go_on_overflow() {
        assert_eq!(f64_to_i64(1.9), 1);
        assert_eq!(f64_to_i64(-1.9), -1);
        assert_eq!(f64_to_i64(f64::NAN), i64::MIN);
        assert_eq!(f64_to_i64(1e300), i64::MIN);
    }
}
