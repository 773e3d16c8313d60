//! Compiling user regexes (focus, ignore, list arguments, …) with errors worded as Go's
//! `regexp` package words them, so a bad pattern gets the message pprof prints:
//! ``error parsing regexp: missing closing ): `(` ``.

use regex::Regex;
use regex_syntax::ast::ErrorKind;

/// Compiles `pattern`; on failure returns Go's wording of the problem.
pub fn compile(pattern: &str) -> Result<Regex, String> {
    Regex::new(pattern).map_err(|e| describe(pattern, &e))
}

/// Go's description of why `pattern` does not compile (`e` is the regex crate's error).
fn describe(pattern: &str, e: &regex::Error) -> String {
    let (kind, span) = match regex_syntax::Parser::new().parse(pattern) {
        Err(regex_syntax::Error::Parse(err)) => (Some(err.kind().clone()), *err.span()),
        // Translation errors are about classes (an unknown Unicode property and the like).
        Err(regex_syntax::Error::Translate(err)) => (None, *err.span()),
        // The syntax is fine; the pattern is refused for another reason (its size): keep
        // the regex crate's last line.
        _ => {
            let text = e.to_string();
            let last = text.lines().map(str::trim).rfind(|l| !l.is_empty());
            return format!(
                "error parsing regexp: {}: `{pattern}`",
                last.unwrap_or("invalid expression")
                    .trim_start_matches("error: ")
            );
        }
    };
    let at = |start: usize, end: usize| pattern.get(start..end).unwrap_or(pattern);
    let mut spanned = at(span.start.offset, span.end.offset);
    if spanned.is_empty() {
        // An empty span points at the character in question.
        let rest = &pattern[span.start.offset.min(pattern.len())..];
        spanned = rest.char_indices().nth(1).map_or(rest, |(i, _)| &rest[..i]);
    }
    // Go names a group's text from its `(?` up to the offending part.
    let group = pattern[..span.start.offset.min(pattern.len())]
        .rfind("(?")
        .map_or(spanned, |open| at(open, span.end.offset.max(open)));
    let Some(kind) = kind else {
        return format!("error parsing regexp: invalid character class range: `{spanned}`");
    };
    let (code, expr) = match kind {
        ErrorKind::GroupUnclosed => ("missing closing )", pattern),
        ErrorKind::GroupUnopened => ("unexpected )", pattern),
        ErrorKind::ClassUnclosed => ("missing closing ]", at(span.start.offset, pattern.len())),
        ErrorKind::ClassRangeInvalid | ErrorKind::ClassRangeLiteral => {
            ("invalid character class range", spanned)
        }
        ErrorKind::UnicodeClassInvalid => ("invalid character class range", spanned),
        ErrorKind::ClassEscapeInvalid
        | ErrorKind::EscapeUnrecognized
        | ErrorKind::EscapeHexEmpty
        | ErrorKind::EscapeHexInvalid
        | ErrorKind::EscapeHexInvalidDigit
        | ErrorKind::UnsupportedBackreference => ("invalid escape sequence", spanned),
        ErrorKind::EscapeUnexpectedEof => ("trailing backslash at end of expression", ""),
        ErrorKind::RepetitionMissing => ("missing argument to repetition operator", spanned),
        ErrorKind::RepetitionCountInvalid
        | ErrorKind::RepetitionCountDecimalEmpty
        | ErrorKind::RepetitionCountUnclosed
        | ErrorKind::DecimalEmpty
        | ErrorKind::DecimalInvalid => ("invalid repeat count", spanned),
        ErrorKind::GroupNameDuplicate { .. }
        | ErrorKind::GroupNameEmpty
        | ErrorKind::GroupNameInvalid
        | ErrorKind::GroupNameUnexpectedEof => ("invalid named capture", spanned),
        ErrorKind::UnsupportedLookAround => {
            let rest = &pattern[span.start.offset.min(pattern.len())..];
            let end = rest.find(')').map_or(rest.len(), |i| i + 1);
            ("invalid named capture", &rest[..end])
        }
        ErrorKind::NestLimitExceeded(_) => ("expression nests too deeply", pattern),
        ErrorKind::CaptureLimitExceeded => ("expression too large", pattern),
        ErrorKind::FlagUnrecognized
        | ErrorKind::FlagDanglingNegation
        | ErrorKind::FlagDuplicate { .. }
        | ErrorKind::FlagRepeatedNegation { .. }
        | ErrorKind::FlagUnexpectedEof => ("invalid or unsupported Perl syntax", group),
        _ => ("invalid or unsupported Perl syntax", spanned),
    };
    format!("error parsing regexp: {code}: `{expr}`")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error_of(pattern: &str) -> String {
        compile(pattern).unwrap_err()
    }

    #[test]
    fn unclosed_group_names_the_whole_pattern() {
        assert_eq!(
            error_of("("),
            "error parsing regexp: missing closing ): `(`"
        );
    }

    #[test]
    fn unopened_group_names_the_whole_pattern() {
        assert_eq!(error_of("a)"), "error parsing regexp: unexpected ): `a)`");
    }

    #[test]
    fn unclosed_class_names_the_rest_from_the_bracket() {
        assert_eq!(
            error_of("x[a"),
            "error parsing regexp: missing closing ]: `[a`"
        );
    }

    #[test]
    fn repetition_without_operand_names_the_operator() {
        assert_eq!(
            error_of("*a"),
            "error parsing regexp: missing argument to repetition operator: `*`"
        );
    }

    #[test]
    fn bad_escape_and_trailing_backslash_are_worded_as_go() {
        assert_eq!(
            error_of(r"x\q"),
            r"error parsing regexp: invalid escape sequence: `\q`"
        );
        assert_eq!(
            error_of("a\\"),
            "error parsing regexp: trailing backslash at end of expression: ``"
        );
    }

    #[test]
    fn bad_ranges_and_counts_name_the_offending_part() {
        assert_eq!(
            error_of("[z-a]"),
            "error parsing regexp: invalid character class range: `z-a`"
        );
        assert_eq!(
            error_of("a{2,1}"),
            "error parsing regexp: invalid repeat count: `{2,1}`"
        );
    }

    #[test]
    fn unsupported_groups_name_the_group_text() {
        assert_eq!(
            error_of("(?z)"),
            "error parsing regexp: invalid or unsupported Perl syntax: `(?z`"
        );
        assert_eq!(
            error_of("(?<=a)"),
            "error parsing regexp: invalid named capture: `(?<=a)`"
        );
    }

    #[test]
    fn unknown_unicode_class_is_a_bad_class_range() {
        assert_eq!(
            error_of(r"\pX"),
            r"error parsing regexp: invalid character class range: `\pX`"
        );
    }

    #[test]
    fn valid_patterns_compile() {
        assert!(compile("main\\.(foo|bar)").is_ok());
    }
}
