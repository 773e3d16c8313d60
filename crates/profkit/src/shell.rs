//! The interactive shell: pprof's commands at a `(pprof)` prompt, `name=value` options,
//! `topN`, `-cum`, focus/ignore regexes, `>file` redirection, `help` and `options`.
//!
//! On a terminal it edits lines with rustyline (history, completion of commands and
//! options); otherwise it reads commands from stdin, one per line, so scripts can drive it.

use std::io::{BufRead, IsTerminal, Write};

use profile::Profile;
use rustyline::completion::{Completer, Pair};
use rustyline::error::ReadlineError;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::validate::Validator;
use rustyline::{Context, Editor, Helper};

use crate::commands::{self, COMMANDS};
use crate::config::{self, Config, Kind, FIELDS};
use crate::driver::{self, Failure};

/// Marks the start of a comment after an option value.
const COMMENT_START: &str = "//:";

/// Runs the interactive shell on `profile` until the user quits or input ends.
pub fn run(profile: Profile, mut config: Config) -> Result<(), Failure> {
    config.compact_labels = true;
    let mut shell = Shell { profile, config };
    eprintln!("{}", shell.greeting());
    if std::io::stdin().is_terminal() {
        let mut editor: Editor<ShellHelper, rustyline::history::DefaultHistory> =
            Editor::new().map_err(|e| Failure(format!("starting line editor: {e}")))?;
        editor.set_helper(Some(ShellHelper::new(&shell.profile)));
        loop {
            match editor.readline("(pprof) ") {
                Ok(line) => {
                    if !line.trim().is_empty() {
                        let _ = editor.add_history_entry(line.as_str());
                    }
                    if shell.execute(&line) == Flow::Quit {
                        return Ok(());
                    }
                }
                Err(ReadlineError::Interrupted) => continue,
                Err(ReadlineError::Eof) => return Ok(()),
                Err(e) => return Err(Failure(format!("reading input: {e}"))),
            }
        }
    }
    let stdin = std::io::stdin();
    let mut lines = stdin.lock();
    loop {
        // A prompt to a reader that has gone ends the shell as a report would.
        let mut prompt = crate::output::Stdout;
        let _ = prompt.write_all(b"(pprof) ").and_then(|_| prompt.flush());
        let mut line = String::new();
        match lines.read_line(&mut line) {
            Ok(0) => return Ok(()),
            Ok(_) => {
                if shell.execute(&line) == Flow::Quit {
                    return Ok(());
                }
            }
            Err(e) => return Err(Failure(format!("reading input: {e}"))),
        }
    }
}

/// Whether the shell goes on after a command.
#[derive(Debug, PartialEq, Eq)]
enum Flow {
    Continue,
    Quit,
}

/// The shell's state: the profile as loaded and the current options.
struct Shell {
    profile: Profile,
    config: Config,
}

impl Shell {
    fn greeting(&self) -> String {
        let mut out = String::new();
        let (units, _) = self.profile.num_label_units();
        if let Ok(options) = driver::report_options(&self.profile, units, &self.config) {
            let labels = report::profile_labels(&self.profile, &options);
            out.push_str(&labels.join("\n"));
            out.push('\n');
            if report::compute_total(&self.profile, &options) == 0
                && self.profile.sample_types.len() > 1
            {
                out.push_str("No samples were found with the default sample value type.\n");
                out.push_str(
                    "Try \"sample_index\" command to analyze different sample values.\n\n",
                );
            }
        }
        out.push_str("Entering interactive mode (type \"help\" for commands, \"o\" for options)");
        out
    }

    /// The lines a shortcut stands for: `:` clears the filters, a sample type name selects
    /// it, `total_X`/`mean_X` select it without or with `mean`.
    fn expand(&self, input: &str) -> Vec<String> {
        let input = input.trim();
        if input == ":" {
            return ["focus=", "ignore=", "hide=", "tagfocus=", "tagignore="]
                .iter()
                .map(|s| s.to_string())
                .collect();
        }
        for t in &self.profile.sample_types {
            let ty = self.profile.str(t.ty);
            let select = format!("sample_index={ty}");
            if input == ty {
                return vec![select];
            }
            if input.strip_prefix("total_") == Some(ty) {
                return vec!["mean=0".into(), select];
            }
            if input.strip_prefix("mean_") == Some(ty) {
                return vec!["mean=1".into(), select];
            }
        }
        vec![input.to_string()]
    }

    fn execute(&mut self, line: &str) -> Flow {
        for input in self.expand(line) {
            if self.try_option(&input) {
                continue;
            }
            let tokens: Vec<&str> = input.split_whitespace().collect();
            let Some(&first) = tokens.first() else {
                continue;
            };
            match first {
                "o" | "options" => {
                    eprintln!("{}", self.options_text());
                    continue;
                }
                "exit" | "quit" | "q" => return Flow::Quit,
                "help" => {
                    self.help(&tokens[1..].join(" "));
                    continue;
                }
                _ => {}
            }
            if let Err(Failure(e)) = self.run_command(&tokens) {
                eprintln!("{e}");
            }
        }
        Flow::Continue
    }

    /// Handles `name=value` (and a bare boolean option name); false when `input` is not an
    /// option assignment.
    fn try_option(&mut self, input: &str) -> bool {
        let (name, value) = match input.split_once('=') {
            Some((n, v)) => {
                let v = match v.rfind(COMMENT_START) {
                    Some(i) => &v[..i],
                    None => v,
                };
                (n.trim(), Some(v.trim()))
            }
            None => (input.trim(), None),
        };
        let Some(field) = config::lookup(name) else {
            return false;
        };
        let is_bool = field.name != name || field.kind == Kind::Bool;
        let value = match value {
            Some(v) => v.to_string(),
            None if is_bool => "true".to_string(),
            None => {
                eprintln!("please specify a value, e.g. {name}=<val>");
                return true;
            }
        };
        let mut value = value;
        if name == "sample_index" {
            match self.profile.sample_index_by_name(&value) {
                Ok(i) if i < self.profile.sample_types.len() => {
                    value = self
                        .profile
                        .str(self.profile.sample_types[i].ty)
                        .to_string();
                }
                Ok(_) => {
                    eprintln!("invalid sample_index {value:?}");
                    return true;
                }
                Err(e) => {
                    eprintln!("{e}");
                    return true;
                }
            }
        }
        if let Err(e) = self.config.set(name, &value) {
            eprintln!("{e}");
        }
        true
    }

    fn run_command(&mut self, tokens: &[&str]) -> Result<(), Failure> {
        let (command, arg, cfg) = parse_command_line(tokens, &self.config)?;
        let out = if cfg.only_selects_samples() && command.format != report::OutputFormat::Proto {
            // The report runs on a copy of the tables with the samples on loan, given
            // back unchanged: no copy of the samples per command.
            let mut copy = self.profile.clone_without_samples();
            copy.samples = std::mem::take(&mut self.profile.samples);
            let stored = copy.samples.stored_len();
            let out = driver::generate_report_in_place(&mut copy, command, arg.as_deref(), &cfg);
            debug_assert_eq!(copy.samples.stored_len(), stored);
            let mut samples = std::mem::take(&mut copy.samples);
            samples.clear_selection();
            self.profile.samples = samples;
            out?
        } else {
            driver::generate_report(self.profile.clone(), command, arg.as_deref(), &cfg)?
        };
        if let Some(viewer) = command.viewer.filter(|_| cfg.output.is_empty()) {
            return crate::viewer::show(&out, viewer, crate::viewer::Wait::No);
        }
        if cfg.output.is_empty() && command.file_extension.is_some() {
            // Binary reports never go to the terminal in the shell.
            let ext = command.file_extension.unwrap_or("out");
            let path = crate::tempfile::new_path(".", "profile", &format!(".{ext}"))?;
            eprintln!("Generating report in {path}");
            return crate::output::write_file(&path, &out);
        }
        crate::output::write_report(&out, command, &cfg)
    }

    fn options_text(&self) -> String {
        let types: Vec<&str> = self
            .profile
            .sample_types
            .iter()
            .map(|t| self.profile.str(t.ty))
            .collect();
        let mut lines = Vec::new();
        for f in FIELDS {
            let mut value = self.config.get(f.name).unwrap_or_default();
            let mut comment = String::new();
            match f.kind {
                Kind::Choice(choices) => {
                    let mut c: Vec<&str> = choices.to_vec();
                    c.sort();
                    comment = format!("[{}]", c.join(" | "));
                }
                _ if f.name == "sample_index" => {
                    if value.is_empty() {
                        value = types.last().unwrap_or(&"").to_string();
                    }
                    comment = format!("[{}]", types.join(" | "));
                }
                _ if f.name == "source_path" => continue,
                _ if f.name == "nodecount" && value == "-1" => comment = "default".into(),
                _ if value.is_empty() => value = "\"\"".into(),
                _ => {}
            }
            if f.name == "granularity" && value.is_empty() {
                value = "(default)".into();
            }
            if !comment.is_empty() {
                comment = format!("{COMMENT_START} {comment}");
            }
            lines.push(format!("  {:<25} = {:<20} {comment}", f.name, value));
        }
        lines.sort();
        lines.join("\n")
    }

    fn help(&self, topic: &str) {
        if topic.is_empty() {
            eprintln!(
                "{}\n  :   Clear focus/ignore/hide/tagfocus/tagignore\n\n  type \"help <cmd|option>\" for more information",
                crate::usage::usage(false)
            );
            return;
        }
        if let Some(c) = commands::find(topic) {
            // The description, then the usage lines indented under "Usage:".
            let mut text = format!("{}\n", c.description);
            if let Some(usage) = command_usage(c) {
                text.push_str("  Usage:\n");
                for line in usage.lines() {
                    text.push_str(&format!("    {line}\n"));
                }
            }
            eprintln!("{text}");
            return;
        }
        if let Some(f) = FIELDS.iter().find(|f| f.name == topic) {
            eprintln!("{}\n", f.help);
            return;
        }
        let choice = config::choice_help(topic);
        if !choice.is_empty() {
            eprintln!("{choice}\n");
            return;
        }
        eprintln!("Unknown command: {topic}");
    }
}

/// How a report command is used, as `help <command>` shows it; `None` for commands
/// without options.
fn command_usage(c: &commands::Command) -> Option<String> {
    use report::OutputFormat as F;
    if c.has_param {
        if c.name == "peek" {
            return Some(
                "peek func_regex\nDisplay callers and callees of functions matching func_regex."
                    .into(),
            );
        }
        // pprof offers `>f` for disasm only.
        let redirect = c.name == "disasm";
        let mut h = vec![
            format!(
                "{}<func_regex|address> [-focus_regex]* [-ignore_regex]*",
                c.name
            ),
            "Include functions matching func_regex, or including the address specified.".into(),
            "Include samples matching focus_regex, and exclude ignore_regex.".into(),
        ];
        if redirect {
            h[0].push_str(" >f");
            h.push("Optionally save the report on the file f".into());
        }
        return Some(h.join("\n"));
    }
    match c.format {
        F::Comments | F::Raw | F::Traces | F::Proto | F::TopProto => None,
        F::Tags => Some("tags [tag_regex]* [-ignore_regex]* [>file]\nList tags with key:value matching tag_regex and exclude ignore_regex.".into()),
        _ => {
            let cum = matches!(c.name, "text" | "top" | "tree");
            let mut h = vec![
                format!("{} [n] [focus_regex]* [-ignore_regex]*", c.name),
                "Include up to n samples".to_string(),
                "Include samples matching focus_regex, and exclude ignore_regex.".to_string(),
            ];
            if cum {
                h[0].push_str(" [-cum]");
                h.push("-cum sorts the output by cumulative weight".into());
            }
            h[0].push_str(" >f");
            h.push("Optionally save the report on the file f".into());
            Some(h.join("\n"))
        }
    }
}

/// Parses a shell command line (`top10 -cum main >out.txt`) into the command, its regex
/// argument, and the options it runs with.
fn parse_command_line(
    tokens: &[&str],
    current: &Config,
) -> Result<(&'static commands::Command, Option<String>, Config), Failure> {
    let mut name = tokens[0].to_string();
    let mut args: Vec<String> = tokens[1..].iter().map(|s| s.to_string()).collect();
    let mut command = commands::find(&name);
    if command.is_none() {
        let digits = name.len() - name.trim_end_matches(|c: char| c.is_ascii_digit()).len();
        if digits > 0 && digits < name.len() {
            let count = name[name.len() - digits..].to_string();
            name.truncate(name.len() - digits);
            args.insert(0, count);
            command = commands::find(&name);
        }
    }
    let Some(command) = command else {
        if config::lookup(&name).is_some() {
            let value = args.first().map(String::as_str).unwrap_or("<val>");
            return Err(Failure(format!("did you mean: {name}={value}")));
        }
        return Err(Failure(format!("unrecognized command: {name:?}")));
    };
    let mut arg = None;
    if command.has_param {
        if args.is_empty() {
            return Err(Failure(format!("command {name} requires an argument")));
        }
        arg = Some(args.remove(0));
    }
    let mut cfg = current.clone();
    let (mut focus, mut ignore) = (String::new(), String::new());
    let cat = |a: &mut String, b: &str| {
        if !a.is_empty() && !b.is_empty() {
            a.push('|');
        }
        a.push_str(b);
    };
    let mut i = 0;
    while i < args.len() {
        let t = &args[i];
        i += 1;
        if let Ok(n) = t.parse::<i32>() {
            cfg.node_count = n as i64;
            continue;
        }
        if let Some(file) = t.strip_prefix('>') {
            let file = if file.is_empty() {
                let Some(next) = args.get(i) else {
                    return Err(Failure("unexpected end of line after >".into()));
                };
                i += 1;
                next.as_str()
            } else {
                file
            };
            cfg.output = file.to_string();
        } else if let Some(rest) = t.strip_prefix('-') {
            if t == "-cum" || t == "--cum" {
                cfg.sort = "cum".into();
                continue;
            }
            cat(&mut ignore, rest);
        } else {
            cat(&mut focus, t);
        }
    }
    if name == "tags" {
        if !focus.is_empty() {
            cfg.tag_focus = focus;
        }
        if !ignore.is_empty() {
            cfg.tag_ignore = ignore;
        }
    } else {
        if !focus.is_empty() {
            cfg.focus = focus;
        }
        if !ignore.is_empty() {
            cfg.ignore = ignore;
        }
    }
    if cfg.node_count == -1 && (name == "text" || name == "top") {
        cfg.node_count = 10;
    }
    Ok((command, arg, cfg))
}

/// Line-editing help: completes command and option names, and function names in
/// a report command's arguments.
struct ShellHelper {
    functions: Vec<String>,
}

impl ShellHelper {
    fn new(p: &Profile) -> ShellHelper {
        let mut functions: Vec<String> = p
            .functions
            .iter()
            .map(|f| p.str(f.name).to_string())
            .collect();
        functions.sort();
        functions.dedup();
        ShellHelper { functions }
    }

    fn words() -> impl Iterator<Item = &'static str> {
        COMMANDS
            .iter()
            .map(|c| c.name)
            .chain(FIELDS.iter().flat_map(|f| {
                let choices: &'static [&'static str] = match f.kind {
                    Kind::Choice(c) => c,
                    _ => &[],
                };
                std::iter::once(f.name).chain(choices.iter().copied())
            }))
    }
}

impl Completer for ShellHelper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let before = &line[..pos];
        let start = before.rfind(char::is_whitespace).map_or(0, |i| i + 1);
        let word = &before[start..];
        let pair = |s: &str| Pair {
            display: s.to_string(),
            replacement: s.to_string(),
        };
        if start == 0 || before.starts_with("help ") {
            let lower = word.to_lowercase();
            let mut found: Vec<Pair> = Self::words()
                .filter(|w| w.starts_with(&lower))
                .map(pair)
                .collect();
            found.dedup_by(|a, b| a.display == b.display);
            return Ok((start, found));
        }
        let (offset, needle) = match word.strip_prefix('-') {
            Some(rest) => (1, rest),
            None => (0, word),
        };
        let found: Vec<Pair> = self
            .functions
            .iter()
            .filter(|f| !needle.is_empty() && f.contains(needle))
            .take(100)
            .map(|f| pair(f))
            .collect();
        Ok((start + offset, found))
    }
}

impl Hinter for ShellHelper {
    type Hint = String;
}
impl Highlighter for ShellHelper {}
impl Validator for ShellHelper {}
impl Helper for ShellHelper {}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str) -> (String, Option<String>, Config) {
        let tokens: Vec<&str> = line.split_whitespace().collect();
        let (c, a, cfg) = parse_command_line(&tokens, &Config::default()).unwrap();
        (c.name.to_string(), a, cfg)
    }

    #[test]
    fn top_with_trailing_digits_sets_the_node_count() {
        let (name, _, cfg) = parse("top20");
        assert_eq!(name, "top");
        assert_eq!(cfg.node_count, 20);
    }

    #[test]
    fn plain_top_shows_ten_nodes() {
        assert_eq!(parse("top").2.node_count, 10);
    }

    #[test]
    fn words_become_focus_and_dashed_words_ignore() {
        let (_, _, cfg) = parse("top main worker -runtime -cum");
        assert_eq!(cfg.focus, "main|worker");
        assert_eq!(cfg.ignore, "runtime");
        assert_eq!(cfg.sort, "cum");
    }

    #[test]
    fn redirection_sets_the_output_file() {
        assert_eq!(parse("top >out.txt").2.output, "out.txt");
        assert_eq!(parse("top > out.txt").2.output, "out.txt");
    }

    #[test]
    fn tags_words_filter_tags() {
        let (_, _, cfg) = parse("tags bytes -thread");
        assert_eq!(cfg.tag_focus, "bytes");
        assert_eq!(cfg.tag_ignore, "thread");
    }

    #[test]
    fn list_takes_its_regex_argument() {
        let (name, arg, _) = parse("list main.worker");
        assert_eq!(name, "list");
        assert_eq!(arg.as_deref(), Some("main.worker"));
    }

    #[test]
    fn option_names_used_as_commands_suggest_assignment() {
        let tokens = ["nodecount", "5"];
        let e = parse_command_line(&tokens, &Config::default()).unwrap_err();
        assert_eq!(e.0, "did you mean: nodecount=5");
    }

    #[test]
    fn unknown_commands_are_named() {
        let e = parse_command_line(&["frobnicate"], &Config::default()).unwrap_err();
        assert_eq!(e.0, "unrecognized command: \"frobnicate\"");
    }
}
