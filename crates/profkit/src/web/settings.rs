//! pprof's settings file: the web UI's named configurations, kept in
//! `pprof/settings.json` under the user's config directory and shared with
//! `go tool pprof -http`.
//!
//! The file is `{"configs":[{"name":…, <option>: <value>, …}]}`, one object per saved
//! configuration, with pprof's option names as keys (`focus`, `nodecount`, `trim`, …) and
//! an option left out when it holds its type's zero value. It is read the way Go's JSON
//! decoder reads it (keys match case-insensitively, `null` leaves a value alone, keys it
//! does not know are ignored), and written the way pprof writes it (two-space
//! indentation, keys in pprof's order, `<`, `>` and `&` escaped), so that either program
//! reads what the other saved. Keys this program does not know are kept on rewrite.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::Value;

use crate::config::{Config, Field, Kind, FIELDS};

/// Options that are not saved in settings (they belong to one session or one command).
const NOT_SAVED: &[&str] = &[
    "output",
    "source_path",
    "trim_path",
    "sample_index",
    "divide_by",
];

/// The options saved in settings, in pprof's order.
pub fn saved_fields() -> impl Iterator<Item = &'static Field> {
    FIELDS.iter().filter(|f| !NOT_SAVED.contains(&f.name))
}

/// Where the settings file is: `pprof/settings.json` under the user's config directory
/// (`$XDG_CONFIG_HOME`, else `$HOME/.config`; the platform's directory on macOS and
/// Windows), as pprof finds it.
pub fn location() -> Result<PathBuf, String> {
    Ok(user_config_dir()?.join("pprof").join("settings.json"))
}

/// The user's config directory, as Go's `os.UserConfigDir` finds it.
fn user_config_dir() -> Result<PathBuf, String> {
    let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    if cfg!(windows) {
        return var("AppData")
            .map(PathBuf::from)
            .ok_or_else(|| "%AppData% is not defined".to_string());
    }
    if cfg!(target_os = "macos") {
        return var("HOME")
            .map(|h| PathBuf::from(h).join("Library/Application Support"))
            .ok_or_else(|| "$HOME is not defined".to_string());
    }
    match var("XDG_CONFIG_HOME") {
        Some(dir) => {
            let dir = PathBuf::from(dir);
            if dir.is_absolute() {
                Ok(dir)
            } else {
                Err("path in $XDG_CONFIG_HOME is relative".into())
            }
        }
        None => var("HOME")
            .map(|h| PathBuf::from(h).join(".config"))
            .ok_or_else(|| "neither $XDG_CONFIG_HOME nor $HOME are defined".to_string()),
    }
}

/// The value of one saved option.
#[derive(Clone, Debug, PartialEq)]
pub enum OptionValue {
    /// A boolean option.
    Bool(bool),
    /// An integer option.
    Int(i64),
    /// A floating-point option.
    Float(f64),
    /// A text or choice option.
    Text(String),
}

impl OptionValue {
    /// The zero value of an option of `kind` (what a key missing from the file means).
    fn zero(kind: Kind) -> OptionValue {
        match kind {
            Kind::Bool => OptionValue::Bool(false),
            Kind::Int => OptionValue::Int(0),
            Kind::Float => OptionValue::Float(0.0),
            Kind::Text | Kind::Choice(_) => OptionValue::Text(String::new()),
        }
    }

    /// Whether this is its type's zero value (left out of the file).
    fn is_zero(&self) -> bool {
        match self {
            OptionValue::Bool(b) => !b,
            OptionValue::Int(i) => *i == 0,
            OptionValue::Float(f) => *f == 0.0,
            OptionValue::Text(s) => s.is_empty(),
        }
    }

    /// The value as a URL parameter: booleans shortened to `t`/`f`, numbers as Go
    /// prints them.
    pub fn url_text(&self) -> String {
        match self {
            OptionValue::Bool(b) => (if *b { "t" } else { "f" }).to_string(),
            OptionValue::Int(i) => i.to_string(),
            OptionValue::Float(f) => go_print_float(*f),
            OptionValue::Text(s) => s.clone(),
        }
    }

    /// The value of option `field` in `cfg`.
    fn of(cfg: &Config, field: &Field) -> OptionValue {
        let text = cfg.get(field.name).unwrap_or_default();
        match field.kind {
            Kind::Bool => OptionValue::Bool(text == "true"),
            Kind::Int => OptionValue::Int(text.parse().unwrap_or(0)),
            Kind::Float => OptionValue::Float(text.parse().unwrap_or(0.0)),
            Kind::Text | Kind::Choice(_) => OptionValue::Text(text),
        }
    }

    /// The value as JSON, or why it has none.
    fn to_json(&self, field: &Field) -> Result<Value, String> {
        Ok(match self {
            OptionValue::Bool(b) => Value::Bool(*b),
            OptionValue::Int(i) => Value::from(*i),
            OptionValue::Float(f) => serde_json::Number::from_f64(*f)
                .map(Value::Number)
                .ok_or_else(|| {
                    format!(
                        "could not encode settings: {}: unsupported value: {}",
                        field.name,
                        go_print_float(*f)
                    )
                })?,
            OptionValue::Text(s) => Value::String(s.clone()),
        })
    }

    /// Reads option `field` from JSON `v`; `None` for `null` (the value stays as it was).
    fn from_json(field: &Field, v: &Value, at: &str) -> Result<Option<OptionValue>, String> {
        let wrong = |want: &str| {
            format!(
                "{at}.{}: cannot read {} as {want}",
                field.name,
                json_kind(v)
            )
        };
        if v.is_null() {
            return Ok(None);
        }
        Ok(Some(match field.kind {
            Kind::Bool => OptionValue::Bool(v.as_bool().ok_or_else(|| wrong("a boolean"))?),
            Kind::Int => OptionValue::Int(v.as_i64().ok_or_else(|| wrong("an integer"))?),
            Kind::Float => OptionValue::Float(v.as_f64().ok_or_else(|| wrong("a number"))?),
            Kind::Text | Kind::Choice(_) => {
                OptionValue::Text(v.as_str().ok_or_else(|| wrong("a string"))?.to_string())
            }
        }))
    }
}

/// What kind of JSON value `v` is, for messages.
fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_f64() => "a fractional number",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A saved configuration: its name and the value of every saved option.
#[derive(Clone, Debug, PartialEq)]
pub struct NamedConfig {
    /// The name shown in the Config menu.
    pub name: String,
    /// The value of each option of [`saved_fields`], in that order.
    values: Vec<OptionValue>,
    /// Keys of the file's object that name no option, kept as read.
    other: Vec<(String, Value)>,
}

impl NamedConfig {
    /// The saved options of `cfg`, named `name`.
    pub fn from_config(name: &str, cfg: &Config) -> NamedConfig {
        NamedConfig {
            name: name.to_string(),
            values: saved_fields().map(|f| OptionValue::of(cfg, f)).collect(),
            other: Vec::new(),
        }
    }

    /// pprof's default options, named `Default` (the first entry of the Config menu).
    pub fn default_config() -> NamedConfig {
        NamedConfig::from_config("Default", &Config::default())
    }

    /// A configuration with every option at its zero value (what an empty object in the
    /// file holds).
    fn zero(name: &str) -> NamedConfig {
        NamedConfig {
            name: name.to_string(),
            values: saved_fields().map(|f| OptionValue::zero(f.kind)).collect(),
            other: Vec::new(),
        }
    }

    /// The saved options with their values, in pprof's order.
    pub fn options(&self) -> impl Iterator<Item = (&'static Field, &OptionValue)> {
        saved_fields().zip(self.values.iter())
    }

    /// The value of option `name`, if it is a saved option.
    #[cfg(test)]
    pub fn value(&self, name: &str) -> Option<&OptionValue> {
        self.options().find(|(f, _)| f.name == name).map(|(_, v)| v)
    }

    /// Reads one configuration from the file's object `obj`; `at` names it in messages.
    fn from_json(obj: &serde_json::Map<String, Value>, at: &str) -> Result<NamedConfig, String> {
        let mut cfg = NamedConfig::zero("");
        for (key, v) in obj {
            if key.eq_ignore_ascii_case("name") {
                match v {
                    Value::Null => {}
                    Value::String(s) => cfg.name = s.clone(),
                    _ => {
                        return Err(format!(
                            "{at}.name: cannot read {} as a string",
                            json_kind(v)
                        ))
                    }
                }
                continue;
            }
            let known = saved_fields()
                .enumerate()
                .find(|(_, f)| f.name.eq_ignore_ascii_case(key));
            match known {
                Some((i, field)) => {
                    if let Some(value) = OptionValue::from_json(field, v, at)? {
                        cfg.values[i] = value;
                    }
                }
                None => cfg.other.push((key.clone(), v.clone())),
            }
        }
        Ok(cfg)
    }

    /// The configuration as the file's object: name, then every option not at its zero
    /// value, then the keys kept from the file.
    fn to_json(&self) -> Result<Vec<(String, Value)>, String> {
        let mut out = vec![("name".to_string(), Value::String(self.name.clone()))];
        for (field, v) in self.options() {
            if !v.is_zero() {
                out.push((field.name.to_string(), v.to_json(field)?));
            }
        }
        out.extend(self.other.iter().cloned());
        Ok(out)
    }

    /// The query of the URL that shows the current view (`query`, as `raw_query`) with
    /// this configuration's options, and whether any option changed it: an option at
    /// pprof's default is left out of the URL, any other is set to this configuration's
    /// value. Options without a URL parameter are not part of it.
    pub fn apply_to_query(&self, query: &[(String, String)], raw_query: &str) -> (String, bool) {
        let defaults = NamedConfig::default_config();
        let mut q: Vec<(String, String)> = query.to_vec();
        let mut changed = false;
        for ((field, v), default) in self.options().zip(defaults.values.iter()) {
            let Some(param) = field.url_param else {
                continue;
            };
            let want = if v == default {
                String::new()
            } else {
                v.url_text()
            };
            let have = q
                .iter()
                .find(|(k, _)| k == param)
                .map_or("", |(_, v)| v.as_str());
            if have == want {
                continue;
            }
            changed = true;
            q.retain(|(k, _)| k != param);
            if !want.is_empty() {
                q.push((param.to_string(), want));
            }
        }
        if !changed {
            return (raw_query.to_string(), false);
        }
        (encode_query(&mut q), true)
    }
}

/// Encodes query parameters as Go's `url.Values.Encode` does: sorted by key (values of a
/// key in order), each part escaped with `+` for a space.
fn encode_query(q: &mut [(String, String)]) -> String {
    q.sort_by(|a, b| a.0.cmp(&b.0));
    let mut out = String::new();
    for (k, v) in q.iter() {
        if !out.is_empty() {
            out.push('&');
        }
        query_escape(&mut out, k);
        out.push('=');
        query_escape(&mut out, v);
    }
    out
}

/// Appends `s` escaped for a URL query as Go's `url.QueryEscape` does.
fn query_escape(out: &mut String, s: &str) {
    for &b in s.as_bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => {
                const HEX: &[u8; 16] = b"0123456789ABCDEF";
                out.push('%');
                out.push(HEX[(b >> 4) as usize] as char);
                out.push(HEX[(b & 15) as usize] as char);
            }
        }
    }
}

/// Formats `v` as Go's `fmt.Sprint` does: shortest digits, an exponent (at least two
/// digits) below 1e-4 and from 1e21 on.
pub fn go_print_float(v: f64) -> String {
    if !v.is_finite() {
        return if v.is_nan() {
            "NaN".into()
        } else if v > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    let a = v.abs();
    if a == 0.0 || (1e-4..1e21).contains(&a) {
        return format!("{v}");
    }
    let e = format!("{v:e}");
    let (mantissa, exp) = e.split_once('e').unwrap_or((&e, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let sign = if exp < 0 { '-' } else { '+' };
    format!("{mantissa}e{sign}{:02}", exp.unsigned_abs())
}

/// Formats a finite `v` as Go's JSON encoder does: plain digits, an exponent below 1e-6
/// and from 1e21 on.
fn go_json_float(v: f64) -> String {
    let a = v.abs();
    if a == 0.0 || (1e-6..1e21).contains(&a) {
        return format!("{v}");
    }
    let e = format!("{v:e}");
    match e.split_once('e') {
        Some((m, x)) if !x.starts_with('-') => format!("{m}e+{x}"),
        _ => e,
    }
}

/// pprof's settings: the saved configurations, in the order they were first saved.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Settings {
    /// The saved configurations.
    pub configs: Vec<NamedConfig>,
    /// Top-level keys other than `configs`, kept as read.
    other: Vec<(String, Value)>,
}

impl Settings {
    /// Reads the settings file at `path`; no file (or no directory for it) means no
    /// settings.
    pub fn read(path: &Path) -> Result<Settings, String> {
        match fs::read(path) {
            Ok(data) => Settings::parse(&data)
                .map_err(|e| format!("could not parse settings {}: {e}", path.display())),
            // A file under a path that is not a directory cannot exist either.
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
                ) =>
            {
                Ok(Settings::default())
            }
            Err(e) => Err(format!("could not read settings {}: {e}", path.display())),
        }
    }

    /// Parses the contents of a settings file.
    pub fn parse(data: &[u8]) -> Result<Settings, String> {
        let root: Value = serde_json::from_slice(data).map_err(|e| e.to_string())?;
        let mut settings = Settings::default();
        let obj = match root {
            Value::Null => return Ok(settings),
            Value::Object(obj) => obj,
            other => return Err(format!("cannot read {} as settings", json_kind(&other))),
        };
        for (key, v) in obj {
            if !key.eq_ignore_ascii_case("configs") {
                settings.other.push((key, v));
                continue;
            }
            let list = match v {
                Value::Null => continue,
                Value::Array(list) => list,
                other => {
                    return Err(format!(
                        "configs: cannot read {} as a list",
                        json_kind(&other)
                    ))
                }
            };
            settings.configs.clear();
            for (i, item) in list.iter().enumerate() {
                let at = format!("configs[{i}]");
                settings.configs.push(match item {
                    Value::Null => NamedConfig::zero(""),
                    Value::Object(obj) => NamedConfig::from_json(obj, &at)?,
                    other => {
                        return Err(format!(
                            "{at}: cannot read {} as a config",
                            json_kind(other)
                        ))
                    }
                });
            }
        }
        Ok(settings)
    }

    /// The settings as pprof writes them.
    pub fn to_json(&self) -> Result<String, String> {
        let mut configs = Vec::with_capacity(self.configs.len());
        for c in &self.configs {
            configs.push(c.to_json()?);
        }
        let mut out = String::with_capacity(256 * (configs.len() + 1));
        out.push_str("{\n  \"configs\": ");
        if configs.is_empty() {
            out.push_str("[]");
        } else {
            out.push_str("[\n");
            for (i, members) in configs.iter().enumerate() {
                out.push_str("    ");
                write_object(&mut out, members.iter().map(|(k, v)| (k.as_str(), v)), 2);
                out.push_str(if i + 1 < configs.len() { ",\n" } else { "\n" });
            }
            out.push_str("  ]");
        }
        for (k, v) in &self.other {
            out.push_str(",\n  ");
            write_string(&mut out, k);
            out.push_str(": ");
            write_value(&mut out, v, 1);
        }
        out.push_str("\n}");
        Ok(out)
    }

    /// Writes the settings to `path` atomically (a temporary file in the same directory,
    /// then a rename), creating the directory (mode 0700) if it is missing. A symbolic
    /// link at `path` is kept: the file it points to is replaced.
    pub fn write(&self, path: &Path) -> Result<(), String> {
        let data = self.to_json()?;
        let target = match fs::symlink_metadata(path) {
            Ok(m) if m.file_type().is_symlink() => {
                fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
            }
            _ => path.to_path_buf(),
        };
        let dir = target.parent().unwrap_or(Path::new("."));
        create_dir(dir)
            .map_err(|e| format!("failed to create settings directory {}: {e}", dir.display()))?;
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let file_name = target
            .file_name()
            .map_or_else(|| "settings.json".into(), |n| n.to_string_lossy());
        let temp = dir.join(format!(
            ".{file_name}.{}.{}.tmp",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let written =
            write_new_file(&temp, data.as_bytes()).and_then(|()| fs::rename(&temp, &target));
        if let Err(e) = written {
            let _ = fs::remove_file(&temp);
            return Err(format!(
                "failed to write settings {}: {e}",
                target.display()
            ));
        }
        Ok(())
    }

    /// Reads the settings at `path`, lets `edit` change them and writes them back. A
    /// file that cannot be read or parsed is left as it is.
    pub fn edit(
        path: &Path,
        edit: impl FnOnce(&mut Settings) -> Result<(), ConfigError>,
    ) -> Result<(), ConfigError> {
        let mut settings = Settings::read(path).map_err(ConfigError::Storage)?;
        edit(&mut settings)?;
        settings.write(path).map_err(ConfigError::Storage)
    }

    /// Saves `config`, replacing the configuration of the same name if there is one
    /// (in its place), else adding it last.
    pub fn save(&mut self, config: NamedConfig) {
        match self.configs.iter_mut().find(|c| c.name == config.name) {
            Some(existing) => {
                existing.values = config.values;
            }
            None => self.configs.push(config),
        }
    }

    /// Removes the configuration named `name`.
    pub fn remove(&mut self, name: &str) -> Result<(), ConfigError> {
        let i = self
            .configs
            .iter()
            .position(|c| c.name == name)
            .ok_or_else(|| ConfigError::Request(format!("config {name} not found")))?;
        self.configs.remove(i);
        Ok(())
    }
}

/// Why saving or deleting a configuration failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigError {
    /// The request was wrong (a bad name, an unknown configuration, a bad option value).
    Request(String),
    /// The settings file could not be read, parsed or written.
    Storage(String),
}

/// Creates `dir` and its missing parents, private to the user as pprof makes them.
fn create_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

/// Writes `data` to a new file at `path` (mode 0644) and flushes it to disk.
fn write_new_file(path: &Path, data: &[u8]) -> std::io::Result<()> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o644);
    }
    let mut f = options.open(path)?;
    f.write_all(data)?;
    f.sync_all()
}

/// Appends JSON object `members` indented as Go's `json.MarshalIndent` does, at nesting
/// `depth` (the object's own line is already indented).
fn write_object<'a>(
    out: &mut String,
    members: impl ExactSizeIterator<Item = (&'a str, &'a Value)>,
    depth: usize,
) {
    if members.len() == 0 {
        out.push_str("{}");
        return;
    }
    out.push_str("{\n");
    let n = members.len();
    for (i, (k, v)) in members.enumerate() {
        push_indent(out, depth + 1);
        write_string(out, k);
        out.push_str(": ");
        write_value(out, v, depth + 1);
        out.push_str(if i + 1 < n { ",\n" } else { "\n" });
    }
    push_indent(out, depth);
    out.push('}');
}

/// Appends `v` as JSON at nesting `depth`, indented as Go's `json.MarshalIndent` does.
fn write_value(out: &mut String, v: &Value, depth: usize) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => out.push_str(&i.to_string()),
            (_, Some(u), _) => out.push_str(&u.to_string()),
            (_, _, Some(f)) => out.push_str(&go_json_float(f)),
            _ => out.push_str(&n.to_string()),
        },
        Value::String(s) => write_string(out, s),
        Value::Array(items) if items.is_empty() => out.push_str("[]"),
        Value::Array(items) => {
            out.push_str("[\n");
            for (i, item) in items.iter().enumerate() {
                push_indent(out, depth + 1);
                write_value(out, item, depth + 1);
                out.push_str(if i + 1 < items.len() { ",\n" } else { "\n" });
            }
            push_indent(out, depth);
            out.push(']');
        }
        Value::Object(obj) => write_object(out, obj.iter().map(|(k, v)| (k.as_str(), v)), depth),
    }
}

fn push_indent(out: &mut String, depth: usize) {
    for _ in 0..depth {
        out.push_str("  ");
    }
}

/// Appends `s` as a JSON string escaped as Go's encoder does (HTML characters and the
/// line and paragraph separators as `\u` escapes).
fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || matches!(c, '<' | '>' | '&' | '\u{2028}' | '\u{2029}') => {
                out.push_str(&format!("\\u{:04x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn focused(name: &str, focus: &str) -> NamedConfig {
        let cfg = Config {
            focus: focus.into(),
            ..Config::default()
        };
        NamedConfig::from_config(name, &cfg)
    }

    /// A file `go tool pprof -http` wrote (two configs saved from its web UI).
    const WRITTEN_BY_PPROF: &str = "{
  \"configs\": [
    {
      \"name\": \"mine\",
      \"unit\": \"minimum\",
      \"sort\": \"flat\",
      \"nodecount\": -1,
      \"nodefraction\": 0.1,
      \"edgefraction\": 0.001,
      \"focus\": \"main\\u003cx\"
    },
    {
      \"name\": \"two\",
      \"unit\": \"minimum\",
      \"sort\": \"flat\",
      \"nodecount\": -1,
      \"nodefraction\": 0.005,
      \"edgefraction\": 0.001,
      \"trim\": true,
      \"hide\": \"runtime\"
    }
  ]
}";

    #[test]
    fn a_file_written_by_pprof_is_rewritten_byte_for_byte() {
        let s = Settings::parse(WRITTEN_BY_PPROF.as_bytes()).unwrap();
        let names: Vec<&str> = s.configs.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["mine", "two"]);
        assert_eq!(
            s.configs[0].value("focus"),
            Some(&OptionValue::Text("main<x".into()))
        );
        assert_eq!(s.to_json().unwrap(), WRITTEN_BY_PPROF);
    }

    #[test]
    fn settings_are_written_in_pprofs_layout() {
        let mut s = Settings::default();
        s.save(focused("mine", "a<b"));
        let json = s.to_json().unwrap();
        assert_eq!(
            json,
            "{\n  \"configs\": [\n    {\n      \"name\": \"mine\",\n      \"unit\": \"minimum\",\n      \
\"sort\": \"flat\",\n      \"nodecount\": -1,\n      \"nodefraction\": 0.005,\n      \
\"edgefraction\": 0.001,\n      \"trim\": true,\n      \"focus\": \"a\\u003cb\"\n    }\n  ]\n}"
        );
        assert_eq!(Settings::parse(json.as_bytes()).unwrap(), s);
    }

    #[test]
    fn empty_settings_are_an_empty_list() {
        assert_eq!(
            Settings::default().to_json().unwrap(),
            "{\n  \"configs\": []\n}"
        );
    }

    #[test]
    fn keys_match_case_insensitively_and_missing_options_are_zero() {
        let s =
            Settings::parse(br#"{"Configs":[{"NAME":"x","Focus":"main","trim":null}]}"#).unwrap();
        let c = &s.configs[0];
        assert_eq!(c.name, "x");
        assert_eq!(c.value("focus"), Some(&OptionValue::Text("main".into())));
        assert_eq!(c.value("trim"), Some(&OptionValue::Bool(false)));
        assert_eq!(c.value("nodecount"), Some(&OptionValue::Int(0)));
    }

    #[test]
    fn unknown_keys_survive_a_rewrite() {
        let s = Settings::parse(
            br#"{"configs":[{"name":"x","future_option":[1,{"a":2}]}],"theme":"dark"}"#,
        )
        .unwrap();
        let back = Settings::parse(s.to_json().unwrap().as_bytes()).unwrap();
        assert_eq!(back, s);
        assert!(s.to_json().unwrap().contains("\"theme\": \"dark\""));
    }

    #[test]
    fn values_of_the_wrong_type_are_errors_naming_the_option() {
        let e = Settings::parse(br#"{"configs":[{"name":"x","trim":"yes"}]}"#).unwrap_err();
        assert_eq!(e, "configs[0].trim: cannot read a string as a boolean");
        let e = Settings::parse(br#"{"configs":[{"name":"x","nodecount":1.5}]}"#).unwrap_err();
        assert!(e.contains("nodecount"), "{e}");
        assert!(Settings::parse(b"{\"configs\":[").is_err());
        assert!(Settings::parse(b"[]").is_err());
        assert!(Settings::parse(b"").is_err());
    }

    #[test]
    fn saving_an_existing_name_replaces_it_in_place() {
        let mut s = Settings::default();
        s.save(focused("a", "1"));
        s.save(focused("b", "2"));
        s.save(focused("a", "3"));
        let names: Vec<&str> = s.configs.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["a", "b"]);
        assert_eq!(
            s.configs[0].value("focus"),
            Some(&OptionValue::Text("3".into()))
        );
        assert!(s.remove("a").is_ok());
        assert_eq!(
            s.remove("a"),
            Err(ConfigError::Request("config a not found".into()))
        );
    }

    #[test]
    fn query_gets_the_options_that_differ_from_the_defaults() {
        let cfg = Config {
            focus: "main loop".into(),
            trim: false,
            node_fraction: 0.1,
            ..Config::default()
        };
        let c = NamedConfig::from_config("x", &cfg);
        let query = vec![("si".to_string(), "alloc".to_string())];
        let (q, changed) = c.apply_to_query(&query, "si=alloc");
        assert!(changed);
        assert_eq!(q, "f=main+loop&nf=0.1&si=alloc&trim=f");
        let parsed: Vec<(String, String)> = url::form_urlencoded::parse(q.as_bytes())
            .into_owned()
            .collect();
        assert_eq!(c.apply_to_query(&parsed, &q), (q.clone(), false));
        let (default_q, _) = NamedConfig::default_config().apply_to_query(&parsed, &q);
        assert_eq!(default_q, "si=alloc");
    }

    #[test]
    fn floats_print_as_go_prints_them() {
        assert_eq!(go_print_float(0.005), "0.005");
        assert_eq!(go_print_float(1e-5), "1e-05");
        assert_eq!(go_print_float(2e21), "2e+21");
        assert_eq!(go_json_float(1e-7), "1e-7");
        assert_eq!(go_json_float(1e21), "1e+21");
        assert_eq!(go_json_float(0.001), "0.001");
    }

    #[test]
    fn write_creates_the_directory_and_replaces_the_file() {
        let dir = std::env::temp_dir().join(format!("profkit-settings-{}", std::process::id()));
        let path = dir.join("pprof").join("settings.json");
        let mut s = Settings::default();
        s.save(focused("a", "x"));
        s.write(&path).unwrap();
        s.save(focused("b", "y"));
        s.write(&path).unwrap();
        assert_eq!(Settings::read(&path).unwrap(), s);
        let leftovers = fs::read_dir(path.parent().unwrap()).unwrap().count();
        assert_eq!(leftovers, 1, "no temporary file is left behind");
        let _ = fs::remove_dir_all(&dir);
    }
}
