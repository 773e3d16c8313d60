//! Showing a finished report in a program (pprof's visualizers: `web`, `weblist`, `gv`,
//! `evince`, `eog`, `kcachegrind`): the report is saved as `pprofNNN.<suffix>` in the
//! temporary directory and the viewers are tried in turn until one starts. The files are
//! removed when the run ends ([`remove_shown_files`]), by when a viewer has read its
//! file: each start is followed by a second's wait for that.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::Duration;

use crate::driver::Failure;

/// How a report command's output is shown when no `-output` is given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Viewer {
    /// The suffix of the file the report is saved in (`svg`, `html`, `grind`, …).
    pub suffix: &'static str,
    /// The program, with its arguments, that shows the file; `None` for a web browser.
    pub program: Option<&'static str>,
}

/// Whether the run waits for the viewer to exit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wait {
    /// A single report: the run ends when the viewer does, and fails when it fails.
    ForExit,
    /// The shell: the viewer runs on while other commands are given.
    No,
}

/// The report files handed to viewers so far, removed by [`remove_shown_files`].
static SHOWN: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// How long a started viewer is given to open its file.
const OPEN_TIME: Duration = Duration::from_secs(1);

/// Saves `report` for `viewer` and starts the first of its programs that can be started.
/// Fails with the last program's start error when none can, and (with
/// [`Wait::ForExit`]) when the viewer exits unsuccessfully.
pub fn show(report: &[u8], viewer: Viewer, wait: Wait) -> Result<(), Failure> {
    let dir = std::env::temp_dir();
    let (path, mut file) = crate::tempfile::create_new(
        &dir.to_string_lossy(),
        "pprof",
        &format!(".{}", viewer.suffix),
    )?;
    if let Ok(mut shown) = SHOWN.lock() {
        shown.push(PathBuf::from(&path));
    }
    file.write_all(report)
        .and_then(|()| file.flush())
        .map_err(|e| Failure(format!("writing {path}: {e}")))?;
    drop(file);
    let mut error = Failure("no program to show the report with".into());
    for candidate in candidates(viewer) {
        let program = candidate.split(' ').next().unwrap_or_default();
        match start(&candidate, &path) {
            Ok(mut child) => {
                let outcome = match wait {
                    Wait::ForExit => match child.wait() {
                        Ok(status) if status.success() => Ok(()),
                        Ok(status) => Err(Failure(exit_text(status))),
                        Err(e) => Err(Failure(e.to_string())),
                    },
                    Wait::No => Ok(()),
                };
                std::thread::sleep(OPEN_TIME);
                return outcome;
            }
            Err(e) => error = Failure(start_error(program, &e)),
        }
    }
    Err(error)
}

/// Starts `command_line` (a program and its arguments, split at spaces, as pprof splits
/// them) on `target`, with no input and its output discarded.
pub fn start(command_line: &str, target: &str) -> std::io::Result<std::process::Child> {
    let mut words = command_line.split(' ');
    let program = words.next().unwrap_or_default();
    Command::new(program)
        .args(words)
        .arg(target)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
}

/// Removes the report files handed to viewers.
pub fn remove_shown_files() {
    if let Ok(mut shown) = SHOWN.lock() {
        for path in shown.drain(..) {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// The command lines tried for `viewer`, in order (for a web browser, `$BROWSER`, then
/// the common browsers, then `xdg-open` in a desktop session, as pprof tries them).
fn candidates(viewer: Viewer) -> Vec<String> {
    match viewer.program {
        Some(program) => vec![program.to_string()],
        None => browsers(),
    }
}

/// The command lines that may open a web page, in the order pprof tries them.
pub fn browsers() -> Vec<String> {
    let mut list = Vec::new();
    if let Some(browser) = std::env::var("BROWSER").ok().filter(|b| !b.is_empty()) {
        list.push(browser);
    }
    if cfg!(target_os = "macos") {
        list.push("/usr/bin/open".to_string());
    } else if cfg!(windows) {
        list.push("cmd /c start".to_string());
    } else {
        // Browsers come before xdg-open, which may open an SVG in an image viewer that
        // does not run its pan and zoom script.
        list.extend(
            [
                "chrome",
                "google-chrome",
                "chromium",
                "firefox",
                "sensible-browser",
            ]
            .map(String::from),
        );
        if std::env::var_os("DISPLAY").is_some_and(|d| !d.is_empty()) {
            list.push("xdg-open".to_string());
        }
    }
    list
}

/// The error of a program that could not be started, worded as Go's `os/exec`.
fn start_error(program: &str, e: &std::io::Error) -> String {
    if e.kind() == std::io::ErrorKind::NotFound && !program.contains('/') {
        format!("exec: {program:?}: executable file not found in $PATH")
    } else {
        format!("fork/exec {program}: {}", crate::fetch::os_error(e))
    }
}

/// An unsuccessful exit, worded as Go's `os/exec` (`exit status 3`, `signal: killed`).
fn exit_text(status: std::process::ExitStatus) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return format!("signal: {}", signal_name(signal));
        }
    }
    match status.code() {
        Some(code) => format!("exit status {code}"),
        None => status.to_string(),
    }
}

/// Go's name of a signal, for the signals that end viewers (their numbers are the same
/// on every Unix).
#[cfg(unix)]
fn signal_name(signal: i32) -> String {
    match signal {
        1 => "hangup".into(),
        2 => "interrupt".into(),
        3 => "quit".into(),
        6 => "aborted".into(),
        9 => "killed".into(),
        11 => "segmentation fault".into(),
        13 => "broken pipe".into(),
        15 => "terminated".into(),
        n => format!("signal {n}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_named_viewer_is_the_only_candidate() {
        let v = Viewer {
            suffix: "ps",
            program: Some("gv --noantialias"),
        };
        assert_eq!(candidates(v), ["gv --noantialias"]);
    }

    #[test]
    fn start_errors_are_worded_as_go() {
        let missing = std::io::Error::from(std::io::ErrorKind::NotFound);
        assert_eq!(
            start_error("gv", &missing),
            "exec: \"gv\": executable file not found in $PATH"
        );
        // ENOENT, 2 on every Unix.
        let missing = std::io::Error::from_raw_os_error(2);
        assert_eq!(
            start_error("/opt/gv", &missing),
            "fork/exec /opt/gv: no such file or directory"
        );
    }
}
