//! Error edges of the command line, run through the built binary: each problem gets
//! pprof's one-line message (plus "failed to fetch any source profiles" where pprof
//! prints it), exit status 2, and no output file left behind.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Output};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

mod http_head;
mod scratch;
use http_head::read_request_head;
use scratch::ScratchDir;

fn input(name: &str) -> String {
    format!(
        "{}/../../testdata/conformance/differential/inputs/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

/// A fresh empty directory for one test, removed when dropped.
fn scratch_dir(tag: &str) -> ScratchDir {
    ScratchDir::new(&format!("profkit-cli-errors-{tag}"))
}

fn profkit(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_profkit"))
        .args(args)
        .current_dir(dir)
        .env("PPROF_TMPDIR", dir.join("saved"))
        .output()
        .unwrap()
}

/// Runs profkit with `-output=<dir>/out.txt` added and checks the failure: status 2,
/// nothing on stdout, no output file; returns stderr.
fn fails(args: &[&str], tag: &str) -> String {
    let dir = scratch_dir(tag);
    let out_file = dir.join("out.txt");
    let output_flag = format!("-output={}", out_file.display());
    let mut all = vec![output_flag.as_str()];
    all.extend_from_slice(args);
    let out = profkit(&all, &dir);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{args:?}: stderr {stderr}");
    assert!(out.stdout.is_empty(), "{args:?}: stdout not empty");
    assert!(!out_file.exists(), "{args:?}: left {}", out_file.display());
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n != "saved" && !n.starts_with("input"))
        .collect();
    assert!(leftovers.is_empty(), "{args:?}: left files {leftovers:?}");
    let _ = std::fs::remove_dir_all(&dir);
    stderr
}

/// A one-connection HTTP server on 127.0.0.1 that answers with `reply` (or never
/// answers when `reply` is `None`); returns its address and the thread serving.
fn one_shot_server(reply: Option<Vec<u8>>) -> (String, JoinHandle<()>) {
    server_holding(reply, false)
}

/// [`one_shot_server`] that, with `hold`, keeps the connection open after its reply
/// until the client gives up (or 30s pass).
fn server_holding(reply: Option<Vec<u8>>, hold: bool) -> (String, JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let handle = std::thread::spawn(move || {
        let Ok((mut stream, _)) = listener.accept() else {
            return;
        };
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        read_request_head(&mut stream);
        if let Some(bytes) = &reply {
            let _ = stream.write_all(bytes);
        }
        if reply.is_none() || hold {
            // Hold the connection open until the client gives up (or 30s pass).
            let mut sink = [0u8; 256];
            while matches!(stream.read(&mut sink), Ok(n) if n > 0) {}
        }
    });
    (addr, handle)
}

fn lines(s: &str) -> Vec<&str> {
    s.lines().collect()
}

#[test]
fn file_that_is_not_a_profile_fails_to_parse() {
    let dir = scratch_dir("notprof");
    let path = dir.join("input.txt");
    std::fs::write(&path, "hello world\n").unwrap();
    let p = path.display().to_string();
    let err = fails(&["-top", &p], "notprof");
    assert_eq!(
        lines(&err),
        [
            format!("{p}: parsing profile: unrecognized profile format"),
            "failed to fetch any source profiles".into()
        ]
    );
}

#[test]
fn empty_file_is_reported_as_empty() {
    let dir = scratch_dir("empty");
    let path = dir.join("input.pb.gz");
    std::fs::write(&path, b"").unwrap();
    let p = path.display().to_string();
    let err = fails(&["-top", &p], "empty");
    assert_eq!(
        lines(&err),
        [
            format!("{p}: parsing profile: empty input file"),
            "failed to fetch any source profiles".into()
        ]
    );
}

#[test]
fn missing_file_is_reported_by_stat() {
    let err = fails(&["-top", "missing.pb.gz"], "missing");
    assert_eq!(
        lines(&err),
        [
            "missing.pb.gz: stat missing.pb.gz: no such file or directory",
            "failed to fetch any source profiles"
        ]
    );
}

#[test]
fn directory_source_fails_when_read() {
    let err = fails(&["-top", "."], "directory");
    assert_eq!(
        lines(&err),
        [
            ".: read .: is a directory",
            "failed to fetch any source profiles"
        ]
    );
}

#[test]
fn bad_focus_and_ignore_regexes_are_worded_as_go() {
    let cpu = input("cpu.pb.gz");
    let err = fails(&["-top", "-focus=(", &cpu], "focus");
    assert_eq!(
        err,
        "parsing focus regexp: error parsing regexp: missing closing ): `(`\n"
    );
    let err = fails(&["-top", "-ignore=[", &cpu], "ignore");
    assert_eq!(
        err,
        "parsing ignore regexp: error parsing regexp: missing closing ]: `[`\n"
    );
    let err = fails(&["-top", "-tagfocus=(", &cpu], "tagfocus");
    assert_eq!(
        err,
        "parsing tagfocus regexp: error parsing regexp: missing closing ): `(`\n"
    );
}

#[test]
fn bad_list_regex_names_the_argument() {
    let err = fails(&["-list=(", &input("cpu.pb.gz")], "list");
    assert_eq!(
        err,
        "parsing argument regexp (: error parsing regexp: missing closing ): `(`\n"
    );
}

#[test]
fn peek_matching_nothing_prints_only_the_error() {
    // pprof renders a report whole before printing it: one that fails prints nothing.
    let dir = scratch_dir("peek-none");
    let out = profkit(
        &["-symbolize=none", "-peek=nomatch", &input("mutex.pb.gz")],
        &dir,
    );
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "");
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "no matches found for regexp: nomatch\n"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn failing_report_to_a_file_announces_nothing() {
    // pprof says "Generating report in FILE" only once the report is rendered.
    let err = fails(&["-peek=nomatch", &input("cpu.pb.gz")], "announce");
    assert_eq!(err, "no matches found for regexp: nomatch\n");
}

#[test]
fn disassembly_names_binaries_it_cannot_open_on_stdout() {
    // The profile's binary, /tmp/demo/bin/cpuprof, is not on this machine: pprof says
    // so on standard output, and prints nothing of the failed report.
    if std::path::Path::new("/tmp/demo/bin/cpuprof").exists() {
        return;
    }
    let dir = scratch_dir("disasm-missing");
    let out = profkit(
        &["-symbolize=none", "-disasm=main", &input("cpu.pb.gz")],
        &dir,
    );
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "open /tmp/demo/bin/cpuprof: no such file or directory\n"
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "no matches found for regexp main\n"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn unknown_option_is_named() {
    let err = fails(&["-bogus", &input("cpu.pb.gz")], "bogus");
    assert_eq!(err, "flag provided but not defined: -bogus\n");
    // Option groups are set through their choices, not by name.
    let err = fails(
        &["-top", "-granularity=lines", &input("cpu.pb.gz")],
        "group",
    );
    assert_eq!(err, "flag provided but not defined: -granularity\n");
}

#[test]
fn unknown_sample_type_lists_the_valid_ones() {
    let err = fails(&["-top", "-sample_index=foo", &input("heap.pb.gz")], "si");
    assert_eq!(
        err,
        "sample_index \"foo\" must be one of: [alloc_objects alloc_space inuse_objects inuse_space]\n"
    );
    let err = fails(&["-top", "-sample_index=9", &input("heap.pb.gz")], "si9");
    assert_eq!(err, "sample_index 9 is outside the range [0..3]\n");
}

#[test]
fn bad_flag_values_are_parse_errors() {
    let cpu = input("cpu.pb.gz");
    let cases = [
        (
            "-nodecount=abc",
            "invalid value \"abc\" for flag -nodecount: parse error\n",
        ),
        (
            "-nodefraction=x",
            "invalid value \"x\" for flag -nodefraction: parse error\n",
        ),
        (
            "-seconds=abc",
            "invalid value \"abc\" for flag -seconds: parse error\n",
        ),
        (
            "-call_tree=maybe",
            "invalid boolean value \"maybe\" for -call_tree: parse error\n",
        ),
        ("-divide_by=0", "zero divisor specified\n"),
    ];
    for (flag, want) in cases {
        assert_eq!(fails(&["-top", flag, &cpu], "value"), want, "{flag}");
    }
}

#[test]
fn two_output_formats_are_refused() {
    let err = fails(&["-top", "-list=x", &input("heap.pb.gz")], "two");
    assert_eq!(err, "must set at most one output format\n");
}

#[test]
fn url_that_refuses_is_one_line() {
    // Bind then drop a listener: nothing listens on that port any more.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/debug/pprof/heap");
    let err = fails(&["-top", &url], "refused");
    assert_eq!(
        lines(&err),
        [
            format!("Fetching profile over HTTP from {url}"),
            format!("{url}: Get \"{url}\": dial tcp 127.0.0.1:{port}: connect: connection refused"),
            "failed to fetch any source profiles".into()
        ]
    );
}

#[test]
fn server_that_never_answers_times_out() {
    let (addr, server) = one_shot_server(None);
    let url = format!("http://{addr}/debug/pprof/heap");
    let start = Instant::now();
    let err = fails(&["-top", "-timeout=1", &url], "hang");
    let took = start.elapsed();
    // pprof allows the timeout plus five seconds.
    assert!(took >= Duration::from_secs(5), "gave up after {took:?}");
    assert!(took < Duration::from_secs(20), "took {took:?}");
    assert_eq!(
        lines(&err),
        [
            format!("Fetching profile over HTTP from {url}"),
            format!("{url}: Get \"{url}\": net/http: timeout awaiting response headers"),
            "failed to fetch any source profiles".into()
        ]
    );
    server.join().unwrap();
}

#[test]
fn a_body_cut_short_is_a_failure_to_read_it() {
    let gz = std::fs::read(input("heap.pb.gz")).unwrap();
    let mut reply = format!(
        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        gz.len()
    )
    .into_bytes();
    reply.extend_from_slice(&gz[..gz.len() / 2]);
    let (addr, server) = one_shot_server(Some(reply));
    let url = format!("http://{addr}/debug/pprof/heap");
    let err = fails(&["-top", &url], "cut");
    let lines = lines(&err);
    assert!(
        lines[1].starts_with(&format!("{url}: Get \"{url}\": reading body: ")),
        "{err}"
    );
    assert_eq!(lines[2..], ["failed to fetch any source profiles"]);
    server.join().unwrap();
}

#[test]
fn a_body_that_stops_arriving_times_out_while_it_is_read() {
    let gz = std::fs::read(input("heap.pb.gz")).unwrap();
    let mut reply = format!(
        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        gz.len()
    )
    .into_bytes();
    reply.extend_from_slice(&gz[..gz.len() / 2]);
    let (addr, server) = server_holding(Some(reply), true);
    let url = format!("http://{addr}/debug/pprof/heap");
    let start = Instant::now();
    let err = fails(&["-top", "-timeout=1", &url], "stall");
    let took = start.elapsed();
    // The timeout plus five seconds, for the whole request.
    assert!(took >= Duration::from_secs(5), "gave up after {took:?}");
    assert!(took < Duration::from_secs(20), "took {took:?}");
    assert_eq!(
        lines(&err)[1..],
        [
            format!("{url}: Get \"{url}\": reading body: context deadline exceeded (Client.Timeout exceeded while reading body)"),
            "failed to fetch any source profiles".into()
        ]
    );
    server.join().unwrap();
}

#[test]
fn http_error_status_is_reported_with_the_server_message() {
    let (addr, server) = one_shot_server(Some(
        b"HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\nConnection: close\r\n\r\nnot found"
            .to_vec(),
    ));
    let url = format!("http://{addr}/debug/pprof/heap");
    let err = fails(&["-top", &url], "404");
    assert_eq!(
        lines(&err)[1..],
        [
            format!("{url}: server response: 404 Not Found"),
            "failed to fetch any source profiles".into()
        ]
    );
    server.join().unwrap();

    // A Go pprof handler's plain-text error body is shown after the status.
    let (addr, server) = one_shot_server(Some(
        b"HTTP/1.1 500 Internal Server Error\r\nX-Go-Pprof: 1\r\n\
          Content-Type: text/plain; charset=utf-8\r\nContent-Length: 14\r\n\
          Connection: close\r\n\r\nprofile broke\n"
            .to_vec(),
    ));
    let url = format!("http://{addr}/debug/pprof/profile");
    let err = fails(&["-top", &url], "500");
    assert_eq!(
        lines(&err)[1],
        format!("{url}: server response: 500 Internal Server Error - profile broke")
    );
    server.join().unwrap();
}

#[test]
fn server_sending_garbage_fails_to_parse() {
    let (addr, server) = one_shot_server(Some(
        b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\nConnection: close\r\n\r\nhello world".to_vec(),
    ));
    let url = format!("http://{addr}/debug/pprof/heap");
    let err = fails(&["-top", &url], "garbage");
    assert_eq!(
        lines(&err)[1..],
        [
            format!("{url}: parsing profile: unrecognized profile format"),
            "failed to fetch any source profiles".into()
        ]
    );
    server.join().unwrap();
}

#[test]
fn server_not_speaking_http_is_one_line() {
    let (addr, server) = one_shot_server(Some(b"SSH-2.0-OpenSSH\r\n".to_vec()));
    let url = format!("http://{addr}/debug/pprof/heap");
    let err = fails(&["-top", &url], "nothttp");
    let got = lines(&err);
    assert_eq!(got.len(), 3, "{err}");
    assert!(
        got[1].starts_with(&format!("{url}: Get \"{url}\": malformed HTTP response")),
        "{err}"
    );
    server.join().unwrap();
}

#[test]
fn one_bad_source_among_good_ones_is_skipped_with_a_count() {
    let dir = scratch_dir("partial");
    let out = profkit(&["-top", &input("cpu_a.pb.gz"), "missing.pb.gz"], &dir);
    assert_eq!(out.status.code(), Some(0));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        lines(&err),
        [
            "missing.pb.gz: stat missing.pb.gz: no such file or directory",
            "Fetched 1 source profiles out of 2"
        ]
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("flat%"));
}

#[test]
fn unwritable_output_leaves_nothing() {
    let dir = scratch_dir("unwritable");
    let target = dir.join("no-such-dir").join("out.txt");
    let flag = format!("-output={}", target.display());
    let out = profkit(&["-top", &flag, &input("cpu.pb.gz")], &dir);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.ends_with(&format!(
            "open {}: no such file or directory\n",
            target.display()
        )),
        "{err}"
    );
    assert!(!dir.join("no-such-dir").exists());
}
