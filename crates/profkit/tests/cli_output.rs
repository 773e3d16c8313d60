//! Where reports go: `-output` files written whole, binary formats sent to
//! `profileNNN.<ext>` when stdout is a terminal (driven through a pty with `script`), and
//! graphical formats rendered by graphviz's `dot`, with a clear error when it is missing.

use std::path::Path;
use std::process::{Command, Output};

mod scratch;
use scratch::ScratchDir;

fn input(name: &str) -> String {
    format!(
        "{}/../../testdata/conformance/differential/inputs/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

/// A fresh empty directory for one test, removed when dropped.
fn scratch_dir(tag: &str) -> ScratchDir {
    ScratchDir::new(&format!("profkit-cli-output-{tag}"))
}

fn profkit(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_profkit"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

fn file_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Whether a program can be started from PATH.
fn installed(program: &str) -> bool {
    Command::new(program)
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Runs profkit with its stdout on a terminal (a pty made by `script`); returns what the
/// terminal showed.
fn profkit_on_terminal(args: &[&str], dir: &Path) -> Option<String> {
    if Command::new("script").arg("-V").output().is_err() {
        eprintln!("skipped: `script` (util-linux) is not installed");
        return None;
    }
    let mut command = String::from(env!("CARGO_BIN_EXE_profkit"));
    for a in args {
        command.push_str(&format!(" '{a}'"));
    }
    let out = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    Some(String::from_utf8_lossy(&out.stdout).replace("\r\n", "\n"))
}

#[test]
fn output_flag_writes_the_report_to_the_file() {
    let dir = scratch_dir("output");
    let cpu = input("cpu.pb.gz");
    let to_stdout = profkit(&["-top", &cpu], &dir).stdout;
    let out = profkit(&["-top", "-output=report.txt", &cpu], &dir);
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty());
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "Generating report in report.txt\n"
    );
    assert_eq!(std::fs::read(dir.join("report.txt")).unwrap(), to_stdout);
    // The file is written through a temporary that is renamed into place: none is left.
    assert_eq!(file_names(&dir), ["report.txt"]);
}

#[test]
fn output_flag_replaces_an_existing_file_only_on_success() {
    let dir = scratch_dir("replace");
    let target = dir.join("report.txt");
    std::fs::write(&target, "previous\n").unwrap();
    let cpu = input("cpu.pb.gz");
    let failed = profkit(&["-top", "-output=report.txt", "-focus=(", &cpu], &dir);
    assert_eq!(failed.status.code(), Some(2));
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "previous\n");

    let ok = profkit(&["-top", "-output=report.txt", &cpu], &dir);
    assert_eq!(ok.status.code(), Some(0));
    assert!(std::fs::read_to_string(&target)
        .unwrap()
        .starts_with("File: cpuprof\n"));
    assert_eq!(file_names(&dir), ["report.txt"]);
}

#[test]
fn binary_formats_on_a_terminal_go_to_numbered_files() {
    let dir = scratch_dir("terminal");
    let cpu = input("cpu.pb.gz");
    let cases = [
        ("-proto", "profile001.pb.gz"),
        ("-callgrind", "profile001.callgraph.out"),
        ("-topproto", "profile002.pb.gz"),
    ];
    for (flag, file) in cases {
        let Some(shown) = profkit_on_terminal(&[flag, &cpu], &dir) else {
            return;
        };
        assert_eq!(shown, format!("Generating report in {file}\n"), "{flag}");
        assert!(dir.join(file).exists(), "{flag}: no {file}");
    }
    // The protobuf file is a gzipped profile that reads back.
    let proto = std::fs::read(dir.join("profile001.pb.gz")).unwrap();
    assert_eq!(&proto[..2], &[0x1f, 0x8b]);
    let again = profkit(&["-top", "profile001.pb.gz"], &dir);
    assert_eq!(again.status.code(), Some(0));
    assert_eq!(
        again.stdout,
        profkit(&["-top", &cpu], &dir).stdout,
        "the written profile reports as the original"
    );
}

#[test]
fn text_reports_on_a_terminal_are_printed() {
    let dir = scratch_dir("terminal-text");
    let Some(shown) = profkit_on_terminal(&["-top", "-nodecount=2", &input("cpu.pb.gz")], &dir)
    else {
        return;
    };
    assert!(shown.starts_with("File: cpuprof\n"), "{shown}");
    assert!(file_names(&dir).is_empty());
}

#[test]
fn binary_formats_off_a_terminal_go_to_stdout() {
    let dir = scratch_dir("pipe");
    let out = profkit(&["-proto", &input("cpu.pb.gz")], &dir);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(&out.stdout[..2], &[0x1f, 0x8b]);
    assert!(file_names(&dir).is_empty());
}

#[test]
fn graph_images_are_rendered_by_graphviz() {
    if !installed("dot") {
        eprintln!("skipped: graphviz's dot is not installed");
        return;
    }
    let dir = scratch_dir("graphviz");
    let cpu = input("cpu.pb.gz");
    let magic: [(&str, &[u8]); 4] = [
        ("-png", b"\x89PNG"),
        ("-pdf", b"%PDF"),
        ("-gif", b"GIF8"),
        ("-ps", b"%!PS"),
    ];
    for (flag, head) in magic {
        let out = profkit(&[flag, "-nodecount=10", &cpu], &dir);
        assert_eq!(out.status.code(), Some(0), "{flag}: {out:?}");
        assert!(out.stdout.starts_with(head), "{flag}");
    }
}

#[test]
fn svg_output_has_pan_and_zoom() {
    if !installed("dot") {
        eprintln!("skipped: graphviz's dot is not installed");
        return;
    }
    let dir = scratch_dir("svg");
    let out = profkit(&["-svg", "-nodecount=10", &input("cpu.pb.gz")], &dir);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let svg = String::from_utf8(out.stdout).unwrap();
    assert!(svg.contains(r#"<svg width="100%" height="100%""#));
    assert!(!svg.contains("viewBox="));
    let script = svg
        .find("<script type=\"text/ecmascript\"><![CDATA[")
        .unwrap();
    let viewport = svg.find("<g id=\"viewport\"").unwrap();
    let graph = svg.find("<g id=\"graph0\"").unwrap();
    assert!(script < viewport && viewport < graph);
    assert!(svg.trim_end().ends_with("</g></svg>"));
    assert_eq!(svg.matches("<g ").count(), svg.matches("</g>").count());
}

#[test]
fn missing_graphviz_is_a_clear_error_and_leaves_no_file() {
    let dir = scratch_dir("nodot");
    let empty_path = dir.join("bin");
    std::fs::create_dir_all(&empty_path).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_profkit"))
        .args(["-svg", "-output=graph.svg", &input("cpu.pb.gz")])
        .current_dir(&dir)
        .env("PATH", &empty_path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        err,
        "failed to execute dot. Is Graphviz installed? Error: exec: \"dot\": \
         executable file not found in $PATH (install the graphviz package)\n"
    );
    assert!(!dir.join("graph.svg").exists());
    assert!(out.stdout.is_empty());
}

#[test]
fn help_flag_lists_formats_options_and_sources_and_succeeds() {
    let dir = scratch_dir("help");
    let out = profkit(&["-h"], &dir);
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty());
    let help = String::from_utf8_lossy(&out.stderr);
    // The sections of pprof's -h, in pprof's order.
    let sections = [
        "usage:",
        "  Output formats (select at most one):",
        "  Options:",
        "  Option groups (only set one per group):",
        "  Source options:",
        "  Misc options:",
        "  Legacy convenience options:",
        "  Environment Variables:",
    ];
    let mut at = 0;
    for s in sections {
        let found = help[at..].find(&format!("{s}\n"));
        assert!(found.is_some(), "missing or out of order: {s:?}\n{help}");
        at += found.unwrap_or(0);
    }
    for flag in [
        "    -top ",
        "    -nodecount ",
        "    -sample_index ",
        "      -cum ",
    ] {
        assert!(help.contains(flag), "{flag:?} not listed");
    }
}

#[test]
fn output_to_a_device_writes_through_it_and_leaves_it_a_device() {
    use std::os::unix::fs::FileTypeExt;
    let dir = scratch_dir("device");
    let out = profkit(
        &[
            "-symbolize=none",
            "-raw",
            "-output=/dev/null",
            &input("cpu.pb.gz"),
        ],
        &dir,
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta = std::fs::metadata("/dev/null").unwrap();
    assert!(
        meta.file_type().is_char_device(),
        "/dev/null is no longer a device"
    );
}

/// A report piped into a reader that has gone (`profkit -top p | head`) ends profkit as
/// it ends a Go program, killed by `SIGPIPE`, with nothing on stderr; a streamed report
/// and one written whole (-proto) alike.
#[cfg(unix)]
#[test]
fn a_report_whose_reader_has_gone_ends_quietly_by_sigpipe() {
    use std::os::unix::process::ExitStatusExt;
    let dir = scratch_dir("pipe");
    for args in [&["-top", "-nodecount=1000"][..], &["-proto"]] {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let out = Command::new(env!("CARGO_BIN_EXE_profkit"))
            .args(args)
            .arg(input("cpu.pb.gz"))
            .current_dir(&*dir)
            .stdout(writer)
            .output()
            .unwrap();
        assert_eq!(out.status.signal(), Some(13), "{args:?}: {:?}", out.status);
        assert_eq!(String::from_utf8_lossy(&out.stderr), "", "{args:?}");
    }
}
