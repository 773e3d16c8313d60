//! Command-line flags in Go's syntax, as pprof takes them: `-name`, `--name`,
//! `-name=value`, `-name value`; parsing stops at the first argument that is not a flag
//! or after `--`.

use std::collections::HashMap;

/// Whether a flag takes a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlagKind {
    /// A boolean: `-name` or `-name=false`.
    Bool,
    /// A flag with a value: `-name=v` or `-name v`; the last one given wins.
    Value,
}

/// The flags that were set, and the arguments after them.
#[derive(Debug, Default)]
pub struct Parsed {
    values: HashMap<String, String>,
    /// The positional arguments.
    pub args: Vec<String>,
    /// `-h` or `-help` was given.
    pub help: bool,
}

impl Parsed {
    /// The last value of flag `name`, if it was set.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// Whether boolean flag `name` was set to true.
    pub fn is_true(&self, name: &str) -> bool {
        self.get(name) == Some("true")
    }
}

/// Parses `args` against the flags `kind_of` knows; an unknown flag is an error worded as
/// Go's flag package words it.
pub fn parse(
    args: &[String],
    kind_of: impl Fn(&str) -> Option<FlagKind>,
) -> Result<Parsed, String> {
    let mut parsed = Parsed::default();
    let mut i = 0;
    while i < args.len() {
        let arg = &args[i];
        if arg.len() < 2 || !arg.starts_with('-') {
            break;
        }
        i += 1;
        let mut body = &arg[1..];
        if let Some(rest) = body.strip_prefix('-') {
            if rest.is_empty() {
                break; // "--" ends the flags
            }
            body = rest;
        }
        if body.starts_with('-') || body.starts_with('=') {
            return Err(format!("bad flag syntax: {arg}"));
        }
        let (name, inline) = match body.split_once('=') {
            Some((n, v)) => (n, Some(v)),
            None => (body, None),
        };
        if name == "h" || name == "help" {
            parsed.help = true;
            continue;
        }
        let Some(kind) = kind_of(name) else {
            return Err(format!("flag provided but not defined: -{name}"));
        };
        let value = match (kind, inline) {
            (FlagKind::Bool, None) => "true".to_string(),
            (FlagKind::Bool, Some(v)) => match go_parse_bool(v) {
                Some(b) => b.to_string(),
                None => {
                    return Err(format!(
                        "invalid boolean value {v:?} for -{name}: parse error"
                    ))
                }
            },
            (_, Some(v)) => v.to_string(),
            (_, None) => {
                let Some(v) = args.get(i) else {
                    return Err(format!("flag needs an argument: -{name}"));
                };
                i += 1;
                v.clone()
            }
        };
        parsed.values.insert(name.to_string(), value);
    }
    parsed.args = args[i..].to_vec();
    Ok(parsed)
}

/// Parses a boolean flag value as Go's `strconv.ParseBool` (which the flag package
/// uses): `1`, `t`, `T`, `TRUE`, `true`, `True` and their false counterparts.
fn go_parse_bool(value: &str) -> Option<bool> {
    match value {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(name: &str) -> Option<FlagKind> {
        match name {
            "top" | "cum" => Some(FlagKind::Bool),
            "nodecount" | "focus" => Some(FlagKind::Value),
            _ => None,
        }
    }

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn bool_flag_values_are_spelled_as_go_parses_them() {
        for v in ["1", "t", "T", "TRUE", "true", "True"] {
            let p = parse(&args(&[&format!("-cum={v}")]), kinds).unwrap();
            assert!(p.is_true("cum"), "{v}");
        }
        let p = parse(&args(&["-cum=False"]), kinds).unwrap();
        assert!(!p.is_true("cum"));
        for v in ["yes", "y", "", "tRUE", "maybe"] {
            assert_eq!(
                parse(&args(&[&format!("-cum={v}")]), kinds).err(),
                Some(format!("invalid boolean value {v:?} for -cum: parse error")),
            );
        }
    }

    #[test]
    fn accepts_go_flag_spellings() {
        let p = parse(
            &args(&[
                "-top",
                "--cum",
                "-nodecount",
                "10",
                "--focus=main",
                "x.pb.gz",
            ]),
            kinds,
        )
        .unwrap();
        assert!(p.is_true("top") && p.is_true("cum"));
        assert_eq!(p.get("nodecount"), Some("10"));
        assert_eq!(p.get("focus"), Some("main"));
        assert_eq!(p.args, args(&["x.pb.gz"]));
    }

    #[test]
    fn stops_at_the_first_positional_argument() {
        let p = parse(&args(&["a.pb.gz", "-top"]), kinds).unwrap();
        assert_eq!(p.args, args(&["a.pb.gz", "-top"]));
    }

    #[test]
    fn unknown_flag_is_named_in_the_error() {
        let e = parse(&args(&["-bogus", "x"]), kinds).unwrap_err();
        assert_eq!(e, "flag provided but not defined: -bogus");
    }

    #[test]
    fn value_flag_without_value_is_an_error() {
        let e = parse(&args(&["-nodecount"]), kinds).unwrap_err();
        assert_eq!(e, "flag needs an argument: -nodecount");
    }
}
