//! Compiling user regexes (focus, ignore, list arguments, …) with errors worded as Go's
//! `regexp` package words them, so a bad pattern gets the message pprof prints:
//! ``error parsing regexp: missing closing ): `(` ``.

use regex::Regex;
use regex_syntax::ast::{self, ErrorKind};

/// Compiles `pattern`; on failure returns Go's wording of the problem.
pub fn compile(pattern: &str) -> Result<Regex, String> {
    Regex::new(pattern).map_err(|e| describe(pattern, &e))
}

/// Go's description of why `pattern` does not compile (`e` is the regex crate's error).
fn describe(pattern: &str, e: &regex::Error) -> String {
    let ast_error = match ast::parse::Parser::new().parse(pattern) {
        Err(err) => err,
        // The syntax is fine; the pattern is refused for another reason (size, Unicode
        // classes): keep the regex crate's last line.
        Ok(_) => {
            let text = e.to_string();
            let last = text.lines().map(str::trim).rfind(|l| !l.is_empty());
            return format!(
                "error parsing regexp: {}: `{pattern}`",
                last.unwrap_or("invalid expression")
                    .trim_start_matches("error: ")
            );
        }
    };
    let span = ast_error.span();
    let at = |start: usize, end: usize| pattern.get(start..end).unwrap_or(pattern);
    let spanned = at(span.start.offset, span.end.offset);
    let (code, expr) = match ast_error.kind() {
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
        | ErrorKind::GroupNameUnexpectedEof
        | ErrorKind::UnsupportedLookAround => ("invalid named capture", spanned),
        ErrorKind::NestLimitExceeded(_) => ("expression nests too deeply", pattern),
        ErrorKind::CaptureLimitExceeded => ("expression too large", pattern),
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
    fn valid_patterns_compile() {
        assert!(compile("main\\.(foo|bar)").is_ok());
    }
}
