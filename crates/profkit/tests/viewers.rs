//! Reports shown in a viewer program (`-web`, `-weblist`, `-gv`, `-evince`, `-eog`,
//! `-kcachegrind`): the report saved as `pprofNNN.<suffix>` in the temporary
//! directory, handed to the first viewer that starts, waited for, and removed when the
//! run ends; and the web UI opened in the same browsers. The viewers are shell scripts
//! standing in for the real programs.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod scratch;
use scratch::ScratchDir;

fn input(name: &str) -> String {
    format!(
        "{}/../../testdata/conformance/differential/inputs/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

/// A test's directory: `tmp` is the run's temporary directory, `bin` its only PATH
/// entry besides graphviz's, `seen` where a stand-in viewer copies the file it gets.
struct Setup {
    dir: ScratchDir,
    tmp: PathBuf,
    bin: PathBuf,
    seen: PathBuf,
}

impl Setup {
    fn new(tag: &str) -> Setup {
        let dir = ScratchDir::new(&format!("profkit-viewers-{tag}"));
        let (tmp, bin) = (dir.join("tmp"), dir.join("bin"));
        std::fs::create_dir_all(&tmp).unwrap();
        std::fs::create_dir_all(&bin).unwrap();
        // Graphviz renders the drawings; it stays reachable through a link.
        if let Some(dot) = find_in_path("dot") {
            std::os::unix::fs::symlink(dot, bin.join("dot")).unwrap();
        }
        let seen = dir.join("seen");
        Setup {
            dir,
            tmp,
            bin,
            seen,
        }
    }

    /// A stand-in viewer named `name` in `bin` that records its arguments, copies the
    /// file it is given to `seen` and exits with `status`.
    fn viewer(&self, name: &str, status: i32) -> PathBuf {
        let path = self.bin.join(name);
        let script = format!(
            "#!/bin/sh\nPATH=/usr/bin:/bin\nfor last; do :; done\necho \"$@\" > '{seen}.args'\ncp \"$last\" '{seen}'\nexit {status}\n",
            seen = self.seen.display()
        );
        std::fs::write(&path, script).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    fn profkit(&self, args: &[&str], browser: Option<&Path>) -> Output {
        let mut c = Command::new(env!("CARGO_BIN_EXE_profkit"));
        c.args(args)
            .current_dir(&*self.dir)
            .env("TMPDIR", &self.tmp)
            .env("PATH", &self.bin)
            .env_remove("DISPLAY")
            .env_remove("BROWSER");
        if let Some(b) = browser {
            c.env("BROWSER", b);
        }
        c.output().unwrap()
    }

    /// The text the viewer was given, and the arguments it was started with.
    fn shown(&self) -> (String, String) {
        let text = std::fs::read_to_string(&self.seen).expect("the viewer got no file");
        let args = std::fs::read_to_string(self.seen.with_extension("args")).unwrap();
        (text, args.trim_end().to_string())
    }

    /// The files left in the temporary directory.
    fn left_in_tmp(&self) -> Vec<String> {
        std::fs::read_dir(&self.tmp)
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect()
    }
}

fn find_in_path(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(program))
            .find(|p| p.is_file())
    })
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn web_shows_the_svg_in_the_browser_and_removes_it_when_done() {
    let s = Setup::new("web");
    if find_in_path("dot").is_none() {
        eprintln!("skipped: graphviz is not installed");
        return;
    }
    let browser = s.viewer("browser", 0);
    let out = s.profkit(
        &["-symbolize=none", "-web", &input("cpu.pb.gz")],
        Some(&browser),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(out.stdout.is_empty());
    let (svg, args) = s.shown();
    let expected = s.profkit(&["-symbolize=none", "-svg", &input("cpu.pb.gz")], None);
    assert_eq!(
        svg.as_bytes(),
        expected.stdout,
        "the browser gets what -svg prints"
    );
    assert_eq!(args, s.tmp.join("pprof001.svg").display().to_string());
    assert!(s.left_in_tmp().is_empty(), "left {:?}", s.left_in_tmp());
}

#[test]
fn browsers_are_tried_in_turn_after_the_one_named_by_browser() {
    let s = Setup::new("browsers");
    // $BROWSER names no program: the common browsers come next.
    let missing = s.bin.join("no-such-browser");
    s.viewer("chromium", 0);
    let out = s.profkit(
        &["-symbolize=none", "-weblist=main", &input("cpu.pb.gz")],
        Some(&missing),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let (html, args) = s.shown();
    assert!(html.starts_with("<!DOCTYPE html>"), "{html}");
    assert!(args.ends_with("pprof001.html"), "{args}");
}

#[test]
fn kcachegrind_gets_the_callgrind_report() {
    let s = Setup::new("kcachegrind");
    s.viewer("kcachegrind", 0);
    let out = s.profkit(
        &["-symbolize=none", "-kcachegrind", &input("cpu.pb.gz")],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let (grind, args) = s.shown();
    let expected = s.profkit(
        &["-symbolize=none", "-callgrind", &input("cpu.pb.gz")],
        None,
    );
    assert_eq!(grind.as_bytes(), expected.stdout);
    assert!(args.ends_with("pprof001.grind"), "{args}");
}

#[test]
fn gv_is_started_with_its_option() {
    let s = Setup::new("gv");
    if find_in_path("dot").is_none() {
        eprintln!("skipped: graphviz is not installed");
        return;
    }
    s.viewer("gv", 0);
    let out = s.profkit(&["-symbolize=none", "-gv", &input("cpu.pb.gz")], None);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let (ps, args) = s.shown();
    assert!(ps.starts_with("%!PS"), "{}", &ps[..ps.len().min(40)]);
    assert_eq!(
        args,
        format!("--noantialias {}", s.tmp.join("pprof001.ps").display())
    );
}

#[test]
fn a_viewer_that_fails_fails_the_run_with_its_exit_status() {
    let s = Setup::new("fails");
    s.viewer("kcachegrind", 3);
    let out = s.profkit(
        &["-symbolize=none", "-kcachegrind", &input("cpu.pb.gz")],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(stderr(&out), "exit status 3\n");
    assert!(s.left_in_tmp().is_empty(), "left {:?}", s.left_in_tmp());
}

#[test]
fn a_missing_viewer_is_named_as_go_names_it() {
    let s = Setup::new("missing");
    let out = s.profkit(
        &["-symbolize=none", "-kcachegrind", &input("cpu.pb.gz")],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out),
        "exec: \"kcachegrind\": executable file not found in $PATH\n"
    );
    assert!(s.left_in_tmp().is_empty(), "left {:?}", s.left_in_tmp());
}

#[test]
fn an_output_file_is_written_instead_of_shown() {
    let s = Setup::new("output");
    s.viewer("kcachegrind", 0);
    let file = s.dir.join("out.grind");
    let flag = format!("-output={}", file.display());
    let out = s.profkit(
        &[
            "-symbolize=none",
            "-kcachegrind",
            &flag,
            &input("cpu.pb.gz"),
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(!s.seen.exists(), "the viewer was started");
    let expected = s.profkit(
        &["-symbolize=none", "-callgrind", &input("cpu.pb.gz")],
        None,
    );
    assert_eq!(std::fs::read(&file).unwrap(), expected.stdout);
}

/// Starts `profkit -http=127.0.0.1:0` (no `-no_browser`) on a profile with `browser`
/// as `$BROWSER`; returns the server, the URL it serves and the rest of its stderr.
fn web_ui(
    s: &Setup,
    browser: &Path,
) -> (
    std::process::Child,
    String,
    std::io::Lines<std::io::BufReader<std::process::ChildStderr>>,
) {
    use std::io::BufRead;
    let mut child = Command::new(env!("CARGO_BIN_EXE_profkit"))
        .args(["-http=127.0.0.1:0", "-symbolize=none", &input("cpu.pb.gz")])
        .current_dir(&*s.dir)
        .env("TMPDIR", &s.tmp)
        .env("PATH", &s.bin)
        .env("BROWSER", browser)
        .env_remove("DISPLAY")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let url = loop {
        let line = lines.next().expect("the server's address").unwrap();
        if let Some(url) = line.strip_prefix("Serving web UI on ") {
            break url.to_string();
        }
    };
    (child, url, lines)
}

#[test]
fn the_web_ui_opens_in_the_browser() {
    let s = Setup::new("webui");
    let browser = s.viewer("browser", 0);
    let (mut child, url, _) = web_ui(&s, &browser);
    // The browser is started a moment after the server listens.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !s.seen.with_extension("args").exists() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    let args = std::fs::read_to_string(s.seen.with_extension("args")).expect("no browser");
    assert_eq!(args.trim_end(), format!("{url}/ui/"));
}

#[test]
fn the_web_ui_prints_its_url_when_no_browser_starts() {
    let s = Setup::new("webui-nobrowser");
    let (mut child, url, mut lines) = web_ui(&s, &s.bin.join("no-such-browser"));
    let next = lines.next().map(|l| l.unwrap());
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(next, Some(format!("{url}/ui/")));
}

#[test]
fn the_shell_shows_reports_in_viewers_and_goes_on() {
    use std::io::Write as _;
    let s = Setup::new("shell");
    s.viewer("kcachegrind", 0);
    let mut child = Command::new(env!("CARGO_BIN_EXE_profkit"))
        .args(["-symbolize=none", &input("cpu.pb.gz")])
        .current_dir(&*s.dir)
        .env("TMPDIR", &s.tmp)
        .env("PATH", &s.bin)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"kcachegrind\ntop 1\nquit\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let (grind, args) = s.shown();
    assert!(grind.starts_with("positions: instr line"), "{grind}");
    assert!(args.ends_with("pprof001.grind"), "{args}");
    // The next command ran, and the file is gone once the shell has ended.
    assert!(String::from_utf8_lossy(&out.stdout).contains("Showing top 1 nodes"));
    assert!(s.left_in_tmp().is_empty(), "left {:?}", s.left_in_tmp());
}
