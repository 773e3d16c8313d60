//! The interactive shell, driven as a person would: through a pty (made by `script`)
//! with commands typed one at a time, each waiting for the next `(pprof) ` prompt; and with
//! commands piped on stdin. Expected reports were produced by `go tool pprof` running the
//! same commands on the same profile.

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const PROMPT: &str = "(pprof) ";

const TOP5_CUM: &str = r#"Showing nodes accounting for 17.85MB, 90.24% of 19.78MB total
Dropped 36 nodes (cum <= 0.10MB)
Showing top 5 nodes out of 13
      flat  flat%   sum%        cum   cum%
         0     0%     0%    19.77MB   100%  runtime.main
         0     0%     0%    19.77MB 99.94%  main.main
    0.03MB  0.17%  0.17%    17.98MB 90.89%  main.retainBatch
         0     0%  0.17%    17.94MB 90.72%  main.buildChain
   17.81MB 90.06% 90.24%    17.94MB 90.72%  main.newItem
"#;

const FOCUS_MAIN_TOP3: &str = r#"Active filters:
   focus=main
Showing nodes accounting for 19582.21kB, 96.69% of 20253.51kB total
Dropped 34 nodes (cum <= 101.27kB)
Showing top 3 nodes out of 13
      flat  flat%   sum%        cum   cum%
18241.29kB 90.06% 90.06% 18373.55kB 90.72%  main.newItem
  701.22kB  3.46% 93.53%  1340.92kB  6.62%  main.mapsWork
  639.70kB  3.16% 96.69%   639.70kB  3.16%  internal/bytealg.MakeNoZero
"#;

const ALLOC_SPACE_TOP2: &str = r#"Showing nodes accounting for 62.52MB, 28.28% of 221.07MB total
Dropped 67 nodes (cum <= 1.11MB)
Showing top 2 nodes out of 77
      flat  flat%   sum%        cum   cum%
   32.59MB 14.74% 14.74%    33.31MB 15.07%  example.com/demo/internal/tasks.MapWork
   29.93MB 13.54% 28.28%    30.13MB 13.63%  main.newItem
"#;

const HELP_TOP: &str = r#"Outputs top entries in text form
  Usage:
    top [n] [focus_regex]* [-ignore_regex]* [-cum] >f
    Include up to n samples
    Include samples matching focus_regex, and exclude ignore_regex.
    -cum sorts the output by cumulative weight
    Optionally save the report on the file f

"#;

fn heap() -> String {
    format!(
        "{}/../../testdata/conformance/differential/inputs/heap.pb.gz",
        env!("CARGO_MANIFEST_DIR")
    )
}

mod scratch;
use scratch::ScratchDir;

/// A fresh empty directory for one test, removed when dropped.
fn scratch_dir(tag: &str) -> ScratchDir {
    ScratchDir::new(&format!("profkit-shell-{tag}"))
}

/// What a terminal shows, without escape sequences and carriage returns.
fn plain(raw: &[u8]) -> String {
    let text = String::from_utf8_lossy(raw);
    let mut out = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => {
                // CSI: ESC [ parameters… final letter (or ~).
                if chars.peek() == Some(&'[') {
                    chars.next();
                    for c in chars.by_ref() {
                        if c.is_ascii_alphabetic() || c == '~' {
                            break;
                        }
                    }
                }
            }
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

/// profkit's shell running on a pty.
struct Terminal {
    child: Child,
    keys: Option<ChildStdin>,
    screen: Arc<Mutex<Vec<u8>>>,
    prompts_seen: usize,
}

impl Terminal {
    /// Starts the shell on `profile` in `dir`; `None` when `script` is not installed.
    fn start(profile: &str, dir: &Path) -> Option<Terminal> {
        if Command::new("script").arg("-V").output().is_err() {
            eprintln!("skipped: `script` (util-linux) is not installed");
            return None;
        }
        let command = format!("{} '{profile}'", env!("CARGO_BIN_EXE_profkit"));
        let mut child = Command::new("script")
            .args(["-qec", &command, "/dev/null"])
            .current_dir(dir)
            .env("TERM", "xterm")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let keys = child.stdin.take();
        let mut stdout = child.stdout.take().unwrap();
        let screen = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&screen);
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stdout.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        let mut t = Terminal {
            child,
            keys,
            screen,
            prompts_seen: 0,
        };
        t.wait_for_prompt();
        Some(t)
    }

    fn text(&self) -> String {
        plain(&self.screen.lock().unwrap())
    }

    /// Waits until one more prompt than before is on screen; returns the screen.
    fn wait_for_prompt(&mut self) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let text = self.text();
            if text.matches(PROMPT).count() > self.prompts_seen {
                self.prompts_seen += 1;
                return text;
            }
            assert!(Instant::now() < deadline, "no prompt; screen:\n{text}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Types `line` and Enter; returns what was printed before the next prompt.
    fn run(&mut self, line: &str) -> String {
        let keys = self.keys.as_mut().unwrap();
        keys.write_all(line.as_bytes()).unwrap();
        keys.write_all(b"\r").unwrap();
        keys.flush().unwrap();
        let text = self.wait_for_prompt();
        let start = nth_prompt_end(&text, self.prompts_seen - 1);
        let end = text[start..]
            .rfind(PROMPT)
            .map_or(text.len(), |i| start + i);
        let printed = &text[start..end];
        // Drop the echo of the typed line.
        let printed = printed.strip_prefix(line).unwrap_or(printed);
        printed.strip_prefix('\n').unwrap_or(printed).to_string()
    }

    /// Types `quit` and waits for the shell to exit; returns its exit status.
    fn quit(mut self) -> Option<i32> {
        let mut keys = self.keys.take().unwrap();
        keys.write_all(b"quit\r").unwrap();
        keys.flush().unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("shell did not quit; screen:\n{}", self.text());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The byte offset just after the `n`th prompt (1-based) in `text`.
fn nth_prompt_end(text: &str, n: usize) -> usize {
    text.match_indices(PROMPT)
        .nth(n - 1)
        .map_or(0, |(i, _)| i + PROMPT.len())
}

#[test]
fn terminal_session_runs_reports_options_help_and_redirection() {
    let dir = scratch_dir("pty");
    let Some(mut t) = Terminal::start(&heap(), &dir) else {
        return;
    };
    let greeting = t.text();
    assert!(greeting.starts_with("File: heapprof\n"), "{greeting}");
    assert!(greeting
        .contains("Entering interactive mode (type \"help\" for commands, \"o\" for options)\n"));

    let top = t.run("top");
    assert!(top.starts_with("Showing nodes accounting for"), "{top}");
    assert!(top.contains("Showing top 10 nodes out of 13"), "{top}");

    assert_eq!(t.run("top5 -cum"), TOP5_CUM);
    assert_eq!(t.run("focus=main"), "");
    assert_eq!(t.run("top3"), FOCUS_MAIN_TOP3);

    let options = t.run("o");
    assert!(
        options.contains("  focus                     = main"),
        "{options}"
    );
    assert!(options.contains(
        "  sample_index              = inuse_space          //: [alloc_objects | alloc_space | inuse_objects | inuse_space]"
    ));

    let help = t.run("help");
    assert!(help.contains("  Commands:\n"), "{help}");
    assert!(help.contains("    q/quit/exit/^D   Exit pprof\n"));
    assert_eq!(t.run("help top"), HELP_TOP);

    assert_eq!(t.run("top3 >out.txt"), "Generating report in out.txt\n");
    assert_eq!(
        std::fs::read_to_string(dir.join("out.txt")).unwrap(),
        FOCUS_MAIN_TOP3
    );

    assert_eq!(t.run("focus="), "");
    assert_eq!(t.run("sample_index=alloc_space"), "");
    assert_eq!(t.run("top2"), ALLOC_SPACE_TOP2);

    assert_eq!(
        t.run("frobnicate"),
        "unrecognized command: \"frobnicate\"\n"
    );
    assert_eq!(t.quit(), Some(0));
}

/// Runs the shell on the heap profile in `dir` with `input` piped to it.
fn piped_shell(input: &str, dir: &Path) -> std::process::Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_profkit"))
        .arg(heap())
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn piped_commands_run_without_a_terminal() {
    let dir = scratch_dir("pipe");
    let out = piped_shell(
        "top5 -cum\nfocus=main\ntop3\nsample_index=alloc_space\nfocus=\ntop2\nquit\n",
        &dir,
    );
    assert_eq!(out.status.code(), Some(0));
    // Without a terminal the prompt is printed to stdout before each command is read.
    let expected = format!(
        "{PROMPT}{TOP5_CUM}{PROMPT}{PROMPT}{FOCUS_MAIN_TOP3}{PROMPT}{PROMPT}{PROMPT}{ALLOC_SPACE_TOP2}{PROMPT}"
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), expected);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err
        .ends_with("Entering interactive mode (type \"help\" for commands, \"o\" for options)\n"));
}

/// A shell whose stdout has gone ends at its first prompt as pprof's does, killed by
/// `SIGPIPE`, before it runs a command.
#[cfg(unix)]
#[test]
fn a_shell_whose_reader_has_gone_ends_by_sigpipe() {
    use std::os::unix::process::ExitStatusExt;
    let dir = scratch_dir("gone");
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let mut child = Command::new(env!("CARGO_BIN_EXE_profkit"))
        .arg(heap())
        .current_dir(&*dir)
        .stdin(Stdio::piped())
        .stdout(writer)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The input may be left unread: the shell is gone before it reads it.
    let _ = child.stdin.take().unwrap().write_all(b"frobnicate\nquit\n");
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.signal(), Some(13), "{:?}", out.status);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.ends_with("for options)\n"), "{err}");
    assert!(!err.contains("frobnicate"), "{err}");
}

#[test]
fn end_of_input_ends_the_shell() {
    let dir = scratch_dir("eof");
    let out = Command::new(env!("CARGO_BIN_EXE_profkit"))
        .arg(heap())
        .current_dir(&dir)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stdout), PROMPT);
}

/// The outputs of `commands` typed into a shell on the heap profile, one per command
/// (empty for commands that only set options).
fn shell_outputs(commands: &[&str], dir: &Path) -> Vec<String> {
    let mut input: String = commands.iter().map(|c| format!("{c}\n")).collect();
    input.push_str("quit\n");
    let out = piped_shell(&input, dir);
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    // The prompt is printed before each command is read: the output of command i
    // follows prompt i.
    let outputs: Vec<String> = stdout.split(PROMPT).skip(1).map(String::from).collect();
    assert_eq!(outputs.len(), commands.len() + 1, "{stdout}");
    outputs
}

#[test]
fn each_shell_command_reports_as_in_a_fresh_shell_whatever_ran_before() {
    let dir = scratch_dir("sequence");
    // Options set, a report, options cleared. Filters that only select samples run on
    // the loaded samples, lent; the others on a copy of the profile: neither may leave
    // a trace on the reports that follow.
    let steps: &[(&[&str], &str, &[&str])] = &[
        (&[], "top", &[]),
        (&[], "top main", &[]),
        (&["tagfocus=bytes=1kb:"], "top", &["tagfocus="]),
        (&["hide=runtime"], "top", &["hide="]),
        (&["lines"], "top", &["functions"]),
        (&["divide_by=2"], "top", &["divide_by=1"]),
        (&["focus=main"], "peek main", &["focus="]),
        (&["focus=main"], "tags", &["focus="]),
        (&["tagfocus=bytes=1kb:"], "traces", &["tagfocus="]),
        (&["focus=main"], "list newItem", &["focus="]),
        // These write files, printing nothing.
        (&["focus=main"], "topproto", &["focus="]),
        (&["focus=main"], "callgrind", &["focus="]),
        // Writes a file, printing nothing; scales the values it writes.
        (
            &["divide_by=2", "output=scaled.pb.gz"],
            "proto",
            &["divide_by=1", "output="],
        ),
        (&[], "top", &[]),
        (&[], "raw", &[]),
    ];
    let mut sequence = Vec::new();
    let mut reports = Vec::new();
    for (set, report, clear) in steps {
        sequence.extend_from_slice(set);
        reports.push(sequence.len());
        sequence.push(report);
        sequence.extend_from_slice(clear);
    }
    let outputs = shell_outputs(&sequence, &dir);
    for ((set, report, _), &at) in steps.iter().zip(&reports) {
        let mut alone: Vec<&str> = set.to_vec();
        alone.push(report);
        let fresh = shell_outputs(&alone, &dir);
        assert!(
            matches!(*report, "proto" | "topproto" | "callgrind") || !fresh[set.len()].is_empty(),
            "{set:?} {report}: no report"
        );
        assert_eq!(outputs[at], fresh[set.len()], "{set:?} {report}");
    }
}
