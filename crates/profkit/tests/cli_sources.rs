//! Where profiles come from: several files merged, a base profile subtracted or compared,
//! and URLs served by a real HTTP server on 127.0.0.1 (`http://…` and `host:port/path`,
//! `-seconds`, fetched profiles saved under `$PPROF_TMPDIR`). Expected reports were
//! produced by `go tool pprof` with the same arguments.

use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::mpsc::{self, Receiver};
use std::thread::JoinHandle;
use std::time::Duration;

fn inputs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/conformance/differential")
}

mod http_head;
mod scratch;
use scratch::ScratchDir;

fn input(name: &str) -> String {
    inputs_dir().join("inputs").join(name).display().to_string()
}

/// A fresh empty directory for one test, removed when dropped.
fn scratch_dir(tag: &str) -> ScratchDir {
    ScratchDir::new(&format!("profkit-cli-sources-{tag}"))
}

/// Runs profkit in the conformance directory (so `inputs/x` paths read as in pprof's
/// runs) with `$PPROF_TMPDIR` set to `tmpdir`.
fn profkit(args: &[&str], tmpdir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_profkit"))
        .args(args)
        .current_dir(inputs_dir())
        .env("PPROF_TMPDIR", tmpdir)
        .output()
        .unwrap()
}

fn stdout(out: &Output) -> String {
    assert_eq!(
        out.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Accepts one connection on `listener` and reads its request head; the stream and the
/// request line, `None` when no connection comes.
fn accept_request(listener: &TcpListener) -> Option<(std::net::TcpStream, String)> {
    let (mut stream, _) = listener.accept().ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let line = http_head::read_request_head(&mut stream)
        .lines()
        .next()
        .unwrap_or("")
        .to_string();
    Some((stream, line))
}

/// An HTTP server on 127.0.0.1 that answers `connections` requests with `body`, sending
/// each request line it saw on the returned channel.
fn profile_server(body: Vec<u8>, connections: usize) -> (String, Receiver<String>, JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let (tx, rx) = mpsc::channel();
    let handle = std::thread::spawn(move || {
        for _ in 0..connections {
            let Some((mut stream, line)) = accept_request(&listener) else {
                return;
            };
            let _ = tx.send(line);
            let reply = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n\
                 Content-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(reply.as_bytes());
            let _ = stream.write_all(&body);
        }
    });
    (addr, rx, handle)
}

/// An HTTP server on 127.0.0.1 that answers one request with `body` sent a few hundred
/// bytes at a time with pauses between, and no length: the body ends when the
/// connection closes.
fn trickling_server(body: Vec<u8>) -> (String, JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let handle = std::thread::spawn(move || {
        let Some((mut stream, _)) = accept_request(&listener) else {
            return;
        };
        let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n");
        for (i, piece) in body.chunks(997).enumerate() {
            if stream
                .write_all(piece)
                .and_then(|_| stream.flush())
                .is_err()
            {
                return;
            }
            if i % 8 == 0 {
                std::thread::sleep(Duration::from_millis(1));
            }
        }
    });
    (addr, handle)
}

const HEAP_AND_HEAP2_TOP3: &str = r#"File: heapprof
Build ID: 012de1b451791e9f19af2972d77cdacd3ca8b322
Type: inuse_space
Time: 2026-11-29 09:14:31 UTC
Showing nodes accounting for 51.19MB, 96.48% of 53.05MB total
Dropped 47 nodes (cum <= 0.27MB)
Showing top 3 nodes out of 13
      flat  flat%   sum%        cum   cum%
   47.46MB 89.46% 89.46%    47.80MB 90.09%  main.newItem
    1.94MB  3.66% 93.12%     3.73MB  7.02%  main.mapsWork
    1.78MB  3.36% 96.48%     1.78MB  3.36%  internal/bytealg.MakeNoZero
"#;

const THREE_SOURCES_LAST_BASE_TOP4: &str = r#"File: cpuprof
Build ID: 207cbf23759a44cb9a2a6e93a6af001da93a50ef
Type: cpu
Time: 2026-11-29 09:14:24 UTC
Duration: 11.97s, Total samples = 8910ms (74.44%)
Showing nodes accounting for 2300ms, 25.81% of 8910ms total
Dropped 188 nodes (cum <= 44.55ms)
Showing top 4 nodes out of 337
      flat  flat%   sum%        cum   cum%
    1330ms 14.93% 14.93%     1330ms 14.93%  runtime.asyncPreempt
     360ms  4.04% 18.97%      640ms  7.18%  example.com/demo/internal/tasks.mix
     320ms  3.59% 22.56%      360ms  4.04%  runtime.tryDeferToSpanScan
     290ms  3.25% 25.81%      290ms  3.25%  runtime.memclrNoHeapPointers
"#;

const DIFF_BASE_TWO_SOURCES_TOP4: &str = r#"File: cpuprof
Build ID: 207cbf23759a44cb9a2a6e93a6af001da93a50ef
Type: cpu
Time: 2026-11-29 09:14:24 UTC
Duration: 9.02s, Total samples = 2450ms (27.18%)
Showing nodes accounting for 1060ms, 43.27% of 2450ms total
Dropped 157 nodes (cum <= 12.25ms)
Showing top 4 nodes out of 254
      flat  flat%   sum%        cum   cum%
     580ms 23.67% 23.67%      580ms 23.67%  runtime.asyncPreempt
     230ms  9.39% 33.06%      340ms 13.88%  example.com/demo/internal/tasks.mix
     130ms  5.31% 38.37%      360ms 14.69%  example.com/demo/internal/tasks.(*tree).insert
     120ms  4.90% 43.27%      120ms  4.90%  runtime.memclrNoHeapPointers
"#;

const HEAP_SAVED_NAME: &str = "pprof.heapprof.alloc_objects.alloc_space.inuse_objects.inuse_space";

#[test]
fn several_files_are_merged() {
    let tmp = scratch_dir("merge");
    let out = profkit(
        &[
            "-symbolize=none",
            "-top",
            "-nodecount=3",
            "inputs/heap.pb.gz",
            "inputs/heap2.pb.gz",
        ],
        &tmp,
    );
    assert_eq!(stdout(&out), HEAP_AND_HEAP2_TOP3);
    assert_eq!(stderr(&out), "");
}

#[test]
fn base_is_subtracted_from_several_sources_and_the_last_base_flag_wins() {
    let tmp = scratch_dir("base");
    let out = profkit(
        &[
            "-symbolize=none",
            "-top",
            "-nodecount=4",
            "-base=inputs/missing.pb.gz",
            "-base=inputs/cpu_a.pb.gz",
            "inputs/cpu_b.pb.gz",
            "inputs/cpu_b.pb.gz",
            "inputs/cpu_b.pb.gz",
        ],
        &tmp,
    );
    assert_eq!(stdout(&out), THREE_SOURCES_LAST_BASE_TOP4);
}

#[test]
fn diff_base_compares_against_several_merged_sources() {
    let tmp = scratch_dir("diff");
    let out = profkit(
        &[
            "-symbolize=none",
            "-top",
            "-nodecount=4",
            "-diff_base=inputs/cpu_a.pb.gz",
            "inputs/cpu_b.pb.gz",
            "inputs/cpu_a.pb.gz",
        ],
        &tmp,
    );
    assert_eq!(stdout(&out), DIFF_BASE_TWO_SOURCES_TOP4);
}

#[test]
fn base_that_cannot_be_read_fails() {
    let tmp = scratch_dir("nobase");
    let out = profkit(
        &["-top", "-base=inputs/missing.pb.gz", "inputs/cpu_b.pb.gz"],
        &tmp,
    );
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out),
        "inputs/missing.pb.gz: stat inputs/missing.pb.gz: no such file or directory\n\
         failed to fetch any base profiles\n"
    );
}

#[test]
fn url_source_is_fetched_reported_and_saved_under_pprof_tmpdir() {
    let body = std::fs::read(input("heap.pb.gz")).unwrap();
    let (addr, requests, server) = profile_server(body, 2);
    let tmp = scratch_dir("url");
    let url = format!("http://{addr}/debug/pprof/heap");
    let from_file = stdout(&profkit(
        &["-symbolize=none", "-top", "inputs/heap.pb.gz"],
        &tmp,
    ));

    let out = profkit(&["-symbolize=none", "-top", &url], &tmp);
    assert_eq!(stdout(&out), from_file);
    let first = tmp.join(format!("{HEAP_SAVED_NAME}.001.pb.gz"));
    assert_eq!(
        stderr(&out),
        format!(
            "Fetching profile over HTTP from {url}\nSaved profile in {}\n",
            first.display()
        )
    );
    assert_eq!(requests.recv().unwrap(), "GET /debug/pprof/heap HTTP/1.1");

    // A second fetch takes the next number; the saved profile reads back the same.
    let out = profkit(&["-symbolize=none", "-top", &url], &tmp);
    let second = tmp.join(format!("{HEAP_SAVED_NAME}.002.pb.gz"));
    assert!(stderr(&out).ends_with(&format!("Saved profile in {}\n", second.display())));
    let saved = first.display().to_string();
    assert_eq!(
        stdout(&profkit(&["-symbolize=none", "-top", &saved], &tmp)),
        from_file
    );
    server.join().unwrap();
    let _ = std::fs::remove_dir_all(&tmp);
}

#[test]
fn a_profile_fetched_alone_and_left_unchanged_is_saved_as_its_server_sent_it() {
    let body = std::fs::read(input("heap.pb.gz")).unwrap();
    let (addr, _requests, server) = profile_server(body.clone(), 2);
    let tmp = scratch_dir("as-sent");
    let url = format!("http://{addr}/debug/pprof/heap");
    let out = profkit(&["-symbolize=none", "-top", &url], &tmp);
    assert!(out.status.success(), "{}", stderr(&out));
    let first = tmp.join(format!("{HEAP_SAVED_NAME}.001.pb.gz"));
    assert!(std::fs::read(&first).unwrap() == body, "saved bytes differ");
    // A comment changes the profile: it is saved encoded, with the comment.
    let out = profkit(
        &["-symbolize=none", "-add_comment=hello", "-top", &url],
        &tmp,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let second = tmp.join(format!("{HEAP_SAVED_NAME}.002.pb.gz"));
    assert!(std::fs::read(&second).unwrap() != body, "saved as sent");
    let second = second.display().to_string();
    let comments = stdout(&profkit(&["-comments", &second], &tmp));
    assert_eq!(comments, "hello\n");
    // The body was copied beside where it is saved, and nothing else is left there.
    assert_eq!(
        file_names(&tmp),
        [
            format!("{HEAP_SAVED_NAME}.001.pb.gz"),
            format!("{HEAP_SAVED_NAME}.002.pb.gz")
        ]
    );
    server.join().unwrap();
    let _ = std::fs::remove_dir_all(&tmp);
}

#[test]
fn a_fetched_profile_saved_changed_keeps_every_label_whatever_its_report_reads() {
    // `-top` reads no labels, string (cpu_labels) or numeric (heap), and a regexp tag
    // filter no numeric ones: a comment changes the profile, which is saved encoded,
    // with all of them.
    for (name, report) in [
        ("cpu_labels.pb.gz", &["-top"][..]),
        ("heap.pb.gz", &["-top"][..]),
        ("heap.pb.gz", &["-top", "-tagfocus=.*"][..]),
    ] {
        let body = std::fs::read(input(name)).unwrap();
        let (addr, _requests, server) = profile_server(body, 1);
        let tmp = scratch_dir("labels-read-again");
        let url = format!("http://{addr}/debug/pprof/profile");
        let mut args = vec!["-symbolize=none", "-add_comment=hello"];
        args.extend(report);
        args.push(&url);
        let out = profkit(&args, &tmp);
        assert!(out.status.success(), "{}", stderr(&out));
        let saved = saved_profile(&tmp).display().to_string();
        let raw = |path: &str| stdout(&profkit(&["-symbolize=none", "-raw", path], &tmp));
        let original = format!("inputs/{name}");
        assert!(raw(&original).contains(":["), "{name} has no labels");
        assert_eq!(
            raw(&saved).replacen("Comment: hello\n", "", 1),
            raw(&original),
            "{name} {report:?}"
        );
        server.join().unwrap();
        let _ = std::fs::remove_dir_all(&tmp);
    }
}

#[test]
fn a_large_fetched_body_is_saved_as_sent_from_the_copy_written_as_it_came() {
    // More than the megabyte gathered before the copy is written out.
    let body = std::fs::read(input("heap_big.pb.gz")).unwrap();
    assert!(body.len() > 1 << 20);
    let (addr, _requests, server) = profile_server(body.clone(), 1);
    let tmp = scratch_dir("large-as-sent");
    let url = format!("http://{addr}/debug/pprof/heap");
    let out = profkit(&["-symbolize=none", "-top", &url], &tmp);
    let from_file = profkit(&["-symbolize=none", "-top", "inputs/heap_big.pb.gz"], &tmp);
    assert_eq!(stdout(&out), stdout(&from_file));
    assert_eq!(file_names(&tmp).len(), 1, "{:?}", file_names(&tmp));
    assert!(
        std::fs::read(saved_profile(&tmp)).unwrap() == body,
        "saved bytes differ"
    );
    server.join().unwrap();
}

#[test]
// The copy of the body is an unnamed file where the C library gives its flag.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn a_fetch_killed_while_its_body_arrives_leaves_nothing_in_the_save_folder() {
    // A server that sends part of a body, then waits to be told to close.
    let body = std::fs::read(input("heap_big.pb.gz")).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let (close, closing) = mpsc::channel::<()>();
    let server = std::thread::spawn(move || {
        let Some((mut stream, _)) = accept_request(&listener) else {
            return;
        };
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        let _ = stream.write_all(head.as_bytes());
        // More than the megabyte gathered before the copy's file is written to.
        let _ = stream.write_all(&body[..body.len() - 1000]);
        let _ = closing.recv_timeout(Duration::from_secs(60));
    });
    let tmp = scratch_dir("killed");
    let saves = tmp.join("saved");
    let url = format!("http://{addr}/debug/pprof/heap");
    let mut child = Command::new(env!("CARGO_BIN_EXE_profkit"))
        .args(["-symbolize=none", "-top", &url])
        .env("PPROF_TMPDIR", &saves)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // The save folder is made when the first bytes come, for their copy.
    let start = std::time::Instant::now();
    while !saves.is_dir() && start.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(saves.is_dir(), "no copy of the body was made");
    std::thread::sleep(Duration::from_millis(200));
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(file_names(&saves).is_empty(), "{:?}", file_names(&saves));
    let _ = close.send(());
    server.join().unwrap();
}

#[test]
fn profiles_fetched_at_once_into_one_folder_are_each_saved_under_a_name_of_their_own() {
    // Saved as sent, then encoded again (with a comment): no run replaces another's.
    let body = std::fs::read(input("heap.pb.gz")).unwrap();
    const RUNS: usize = 6;
    let (addr, _requests, server) = profile_server(body.clone(), 2 * RUNS);
    let tmp = scratch_dir("at-once");
    let url = format!("http://{addr}/debug/pprof/heap");
    for extra in ["-symbolize=none", "-add_comment=x"] {
        let runs: Vec<_> = (0..RUNS)
            .map(|_| {
                Command::new(env!("CARGO_BIN_EXE_profkit"))
                    .args([extra, "-symbolize=none", "-top", &url])
                    .env("PPROF_TMPDIR", &*tmp)
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        let mut saved: Vec<String> = runs
            .into_iter()
            .map(|run| {
                let out = run.wait_with_output().unwrap();
                assert!(out.status.success(), "{}", stderr(&out));
                stderr(&out)
                    .lines()
                    .find_map(|l| l.strip_prefix("Saved profile in "))
                    .expect("saved")
                    .to_string()
            })
            .collect();
        saved.sort();
        saved.dedup();
        assert_eq!(saved.len(), RUNS, "{saved:?}");
    }
    assert_eq!(file_names(&tmp).len(), 2 * RUNS, "{:?}", file_names(&tmp));
    server.join().unwrap();
}

#[test]
fn a_fetched_body_read_whole_is_read_from_its_copy_and_leaves_none_behind() {
    // A legacy text profile is not decoded as it arrives: it is parsed whole from
    // the copy of its body, and saved encoded.
    let body = std::fs::read(input("heap.txt")).unwrap();
    let (addr, _requests, server) = profile_server(body, 1);
    let tmp = scratch_dir("read-whole");
    let url = format!("http://{addr}/debug/pprof/heap");
    let from_file = stdout(&profkit(
        &["-symbolize=none", "-top", "inputs/heap.txt"],
        &tmp,
    ));
    let out = profkit(&["-symbolize=none", "-top", &url], &tmp);
    assert_eq!(stdout(&out), from_file);
    let saved = saved_profile(&tmp).display().to_string();
    assert_eq!(
        stdout(&profkit(&["-symbolize=none", "-top", &saved], &tmp)),
        from_file
    );
    assert_eq!(file_names(&tmp).len(), 1, "{:?}", file_names(&tmp));
    // A body that is no profile fails, and leaves nothing.
    let (addr, _requests, bad) = profile_server(b"\x1f\x8bnot a profile".to_vec(), 1);
    let empty = scratch_dir("read-whole-bad");
    let url = format!("http://{addr}/debug/pprof/heap");
    let saves = empty.join("saved");
    let out = profkit(&["-symbolize=none", "-top", &url], &saves);
    assert!(!out.status.success());
    // Not even the save folder, which a fetch that saves nothing does not make.
    assert!(!saves.exists(), "{:?}", file_names(&saves));
    server.join().unwrap();
    bad.join().unwrap();
}

#[test]
fn a_fetched_profile_given_a_binary_is_saved_with_it() {
    // The binary named before the source becomes the main mapping's file, in the
    // profile reported on and in the copy saved.
    let body = std::fs::read(input("heap.pb.gz")).unwrap();
    let (addr, _requests, server) = profile_server(body.clone(), 1);
    let tmp = scratch_dir("binary");
    let url = format!("http://{addr}/debug/pprof/heap");
    let binary = env!("CARGO_BIN_EXE_profkit");
    let out = profkit(&["-symbolize=none", "-top", binary, &url], &tmp);
    assert!(out.status.success(), "{}", stderr(&out));
    let saved = saved_profile(&tmp);
    assert!(std::fs::read(&saved).unwrap() != body, "saved as sent");
    let saved = saved.display().to_string();
    let raw = stdout(&profkit(&["-symbolize=none", "-raw", &saved], &tmp));
    let mapping = raw.lines().skip_while(|l| *l != "Mappings").nth(1);
    assert!(mapping.is_some_and(|m| m.contains(binary)), "{raw}");
    server.join().unwrap();
}

#[test]
fn a_profile_fetched_for_its_tags_is_saved_demangled_as_for_any_report() {
    let mut p = functions_profile("samples", "count", &["_ZN3foo3barEv"]);
    // A name not demangled yet is its system name too.
    p.functions[0].system_name = p.functions[0].name;
    give_a_mapping(&mut p);
    p.samples.push(&[5], &[0], &[]);
    let body = profile::proto::encode_gzip(&p);
    let (addr, _requests, server) = profile_server(body, 1);
    let tmp = scratch_dir("tags-demangled");
    let url = format!("http://{addr}/debug/pprof/profile");
    let out = profkit(&["-symbolize=local", "-tags", &url], &tmp);
    assert!(out.status.success(), "{}", stderr(&out));
    let saved = saved_profile(&tmp);
    let saved = saved.display().to_string();
    let top = stdout(&profkit(&["-symbolize=none", "-top", &saved], &tmp));
    assert!(top.contains(" foo::bar\n"), "{top}");
    server.join().unwrap();
}

#[test]
fn a_fetched_profile_with_frames_to_drop_is_saved_without_them() {
    // main calls runtime.drop, which the profile's drop_frames names: fetched, the
    // sample keeps main alone, and so does the saved copy.
    let mut p = functions_profile("samples", "count", &["main", "runtime.drop"]);
    p.drop_frames = p.intern("runtime\\.drop");
    give_a_mapping(&mut p);
    p.samples.push(&[5], &[1, 0], &[]);
    let body = profile::proto::encode_gzip(&p);
    let (addr, _requests, server) = profile_server(body.clone(), 1);
    let tmp = scratch_dir("drop-frames");
    let url = format!("http://{addr}/debug/pprof/profile");
    let out = profkit(&["-symbolize=none", "-traces", &url], &tmp);
    let saved = saved_profile(&tmp);
    assert!(std::fs::read(&saved).unwrap() != body, "saved as sent");
    let saved = saved.display().to_string();
    let from_saved = stdout(&profkit(&["-symbolize=none", "-raw", &saved], &tmp));
    assert!(from_saved.contains("          5: 1 \n"), "{from_saved}");
    assert!(!stdout(&out).contains("runtime.drop"), "{}", stdout(&out));
    server.join().unwrap();
}

#[test]
fn profiles_arriving_in_pieces_without_a_length_report_as_from_their_files() {
    let tmp = scratch_dir("trickle");
    // A gzipped profile.proto is decoded as it arrives; a legacy text profile is read
    // to its end and parsed whole once that decoder gives up on it.
    for name in ["heap.pb.gz", "heap.txt"] {
        let expected = stdout(&profkit(
            &["-symbolize=none", "-top", &format!("inputs/{name}")],
            &tmp,
        ));
        let (addr, server) = trickling_server(std::fs::read(input(name)).unwrap());
        let url = format!("http://{addr}/debug/pprof/heap");
        let out = profkit(&["-symbolize=none", "-top", &url], &tmp);
        assert_eq!(stdout(&out), expected, "{name}");
        assert!(
            stderr(&out).contains("Saved profile in "),
            "{name}: {}",
            stderr(&out)
        );
        server.join().unwrap();
    }
}

#[test]
fn host_port_path_with_seconds_asks_for_that_duration() {
    let body = std::fs::read(input("heap.pb.gz")).unwrap();
    let (addr, requests, server) = profile_server(body, 1);
    let tmp = scratch_dir("seconds");
    let source = format!("{addr}/debug/pprof/heap?debug=0");
    let out = profkit(&["-symbolize=none", "-top", "-seconds=2", &source], &tmp);
    assert!(stdout(&out).contains("Type: inuse_space"));
    let err = stderr(&out);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(
        lines[..2],
        [
            format!(
                "Fetching profile over HTTP from http://{addr}/debug/pprof/heap?debug=0&seconds=2"
            ),
            "Please wait... (2s)".to_string()
        ]
    );
    assert_eq!(
        requests.recv().unwrap(),
        "GET /debug/pprof/heap?debug=0&seconds=2 HTTP/1.1"
    );
    server.join().unwrap();
    let _ = std::fs::remove_dir_all(&tmp);
}

#[test]
fn url_and_file_sources_merge_and_count_as_remote() {
    let body = std::fs::read(input("heap2.pb.gz")).unwrap();
    let (addr, _requests, server) = profile_server(body, 1);
    let tmp = scratch_dir("mixed");
    let url = format!("http://{addr}/debug/pprof/heap");
    let out = profkit(
        &[
            "-symbolize=none",
            "-top",
            "-nodecount=3",
            "inputs/heap.pb.gz",
            &url,
        ],
        &tmp,
    );
    assert_eq!(stdout(&out), HEAP_AND_HEAP2_TOP3);
    assert!(stderr(&out).contains(&format!(
        "Saved profile in {}",
        tmp.join(format!("{HEAP_SAVED_NAME}.001.pb.gz")).display()
    )));
    server.join().unwrap();
    let _ = std::fs::remove_dir_all(&tmp);
}

/// The names of the files in `dir`, hidden ones too, sorted (none if there is no
/// `dir`).
fn file_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// The one profile saved in `dir`.
fn saved_profile(dir: &Path) -> PathBuf {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .find(|e| e.file_name().to_string_lossy().ends_with(".pb.gz"))
        .expect("saved profile")
        .path()
}

/// Puts every location of `p` in one mapping of its own, with function names, so that
/// none is made up for it when it is read.
fn give_a_mapping(p: &mut profile::Profile) {
    let filename = p.intern("/nonexistent/server");
    p.mappings.push(profile::Mapping {
        id: 1,
        memory_limit: 0x1000,
        filename,
        has_functions: true,
        ..profile::Mapping::default()
    });
    for loc in &mut p.locations {
        loc.mapping = Some(profile::MappingIndex::new(0));
    }
}

/// A profile of one sample type and no samples, with one location per function of
/// `names` (location `i` in function `i`, both with id `i + 1`).
fn functions_profile(ty: &str, unit: &str, names: &[&str]) -> profile::Profile {
    use profile::{Function, Line, Location, Profile, ValueType};
    let mut p = Profile::new(1);
    let (ty, unit) = (p.intern(ty), p.intern(unit));
    p.sample_types.push(ValueType { ty, unit });
    for (i, name) in names.iter().enumerate() {
        let name = p.intern(name);
        p.functions.push(Function {
            id: i as u64 + 1,
            name,
            ..Function::default()
        });
        p.locations.push(Location {
            id: i as u64 + 1,
            lines: [Line {
                function: i as u32,
                line: 1,
                column: 0,
            }]
            .into(),
            ..Location::default()
        });
    }
    p
}

/// A profile whose numeric label `size` comes with two units.
fn mixed_units_profile(dir: &Path) -> String {
    use profile::{Label, StrId};
    let mut p = functions_profile("samples", "count", &["main"]);
    let (key, bytes, kb) = (p.intern("size"), p.intern("bytes"), p.intern("kilobytes"));
    let size = |num_unit| Label {
        key,
        str: StrId::EMPTY,
        num: 3,
        num_unit,
    };
    let handler = p.intern("handler");
    let path = |str| Label {
        key: handler,
        str,
        ..Label::default()
    };
    let (a, b) = (p.intern("/a"), p.intern("/b"));
    p.samples.push(&[1], &[0], &[path(a), size(bytes)]);
    p.samples.push(&[2], &[0], &[path(b), size(kb)]);
    let path = dir.join("mixed_units.pb.gz");
    std::fs::write(&path, profile::proto::encode_gzip(&p)).unwrap();
    path.display().to_string()
}

#[test]
fn label_unit_warnings_hold_whether_or_not_the_report_keeps_labels() {
    let dir = scratch_dir("units");
    let file = mixed_units_profile(&dir);
    // -top leaves the labels out when decoding, -tags keeps them, -top with a regexp
    // tag filter keeps the string ones only: pprof warns for all three.
    for report in [&["-top"][..], &["-tags"], &["-top", "-tagfocus=handler=/a"]] {
        let mut args = report.to_vec();
        args.push(&file);
        let out = profkit(&args, &dir);
        assert!(out.status.success(), "{report:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("For tag size used unit bytes, also encountered unit(s) kilobytes"),
            "{report:?}: {stderr}"
        );
    }
    let focused = profkit(&["-top", "-tagfocus=handler=/a", &file], &dir);
    assert!(
        String::from_utf8_lossy(&focused.stdout)
            .contains("Showing nodes accounting for 1, 33.33% of 3 total"),
        "{}",
        String::from_utf8_lossy(&focused.stdout)
    );
    let tags = profkit(&["-tags", &file], &dir);
    assert!(String::from_utf8_lossy(&tags.stdout).contains("size:"));
}

#[test]
fn tag_key_filters_see_numeric_labels_in_reports_that_print_none() {
    let dir = scratch_dir("tagkeys");
    let file = mixed_units_profile(&dir);
    // `size` is a numeric label: pprof warns only about a key no label has.
    for (flag, warns) in [
        ("-tagshow=size", false),
        ("-taghide=size", false),
        ("-taghide=nosuchkey", true),
    ] {
        let out = profkit(&["-top", "-tagfocus=handler=/a", flag, &file], &dir);
        assert!(out.status.success(), "{flag}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            stderr.contains("expression matched no samples"),
            warns,
            "{flag}: {stderr}"
        );
    }
}

/// Two functions; `main` alone carries handler `/a`, `main -> work` handler `/b`.
fn two_handlers_profile(dir: &std::path::Path) -> String {
    use profile::Label;
    let mut p = functions_profile("samples", "count", &["main", "work"]);
    let key = p.intern("handler");
    let (a, b) = (p.intern("/a"), p.intern("/b"));
    let handler = |str| Label {
        key,
        str,
        ..Label::default()
    };
    p.samples.push(&[3], &[0], &[handler(a)]);
    p.samples.push(&[5], &[1, 0], &[handler(b)]);
    let path = dir.join("two_handlers.pb.gz");
    std::fs::write(&path, profile::proto::encode_gzip(&p)).unwrap();
    path.display().to_string()
}

#[test]
fn tags_read_without_stacks_still_honour_filters_on_stacks() {
    let dir = scratch_dir("tags_stacks");
    let file = two_handlers_profile(&dir);
    let text = |args: &[&str]| {
        let out = profkit(args, &dir);
        assert!(out.status.success(), "{args:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    // Alone, -tags decodes the profile without its stacks.
    let all = text(&["-tags", &file]);
    assert!(all.contains("/a") && all.contains("/b"), "{all}");
    for filter in ["-focus=work", "-show_from=work"] {
        let focused = text(&["-tags", filter, &file]);
        assert!(focused.contains("/b"), "{filter}: {focused}");
        assert!(!focused.contains("/a"), "{filter}: {focused}");
    }
    let ignored = text(&["-tags", "-ignore=work", &file]);
    assert!(
        ignored.contains("/a") && !ignored.contains("/b"),
        "{ignored}"
    );
}

#[test]
fn tags_read_without_stacks_report_on_the_fake_mapping_as_other_reports_do() {
    // A profile without mappings gets a fake one holding every location, and pprof
    // says its file is not known, whatever the report (and -tags decodes no stacks).
    let dir = scratch_dir("tags_mapping");
    let file = two_handlers_profile(&dir);
    for report in ["-tags", "-top", "-raw"] {
        let out = profkit(&[report, &file], &dir);
        assert!(out.status.success(), "{report}");
        assert_eq!(
            stderr(&out),
            "Main binary filename not available.\n",
            "{report}"
        );
    }
}

/// A one-function CPU profile whose samples are in `unit`.
fn cpu_profile_in(dir: &Path, unit: &str, values: &[i64]) -> String {
    let mut p = functions_profile("cpu", unit, &["main"]);
    p.period_type = p.sample_types[0];
    p.period = 1;
    for &v in values {
        p.samples.push(&[v], &[0], &[]);
    }
    let path = dir.join(format!("cpu_{unit}.pb.gz"));
    std::fs::write(&path, profile::proto::encode_gzip(&p)).unwrap();
    path.display().to_string()
}

#[test]
fn files_in_other_units_are_merged_in_the_finest() {
    let dir = scratch_dir("merge_units");
    let ns = cpu_profile_in(&dir, "nanoseconds", &[1_500_000]);
    let ms = cpu_profile_in(&dir, "milliseconds", &[2, 3]);
    // Read one after another, the second file's units differ from the first's: all
    // are read again and scaled to nanoseconds, as when merged at once.
    for files in [[&ns, &ms, &ns], [&ms, &ns, &ms]] {
        let out = profkit(&["-raw", files[0], files[1], files[2]], &dir);
        let raw = stdout(&out);
        assert!(raw.contains("\ncpu/nanoseconds\n"), "{raw}");
        let total: i64 = if files[0] == &ns {
            8_000_000
        } else {
            11_500_000
        };
        assert!(raw.contains(&format!("{total}: 1 \n")), "{files:?}: {raw}");
    }
}

/// Runs profkit with `/dev/stdin` as the source, fed `input` through a pipe.
fn profkit_from_pipe(args: &[&str], input: Vec<u8>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_profkit"))
        .args(args)
        .arg("/dev/stdin")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    out
}

#[test]
fn profiles_read_from_a_pipe_report_as_from_their_file() {
    let tmp = scratch_dir("pipe");
    let gz = std::fs::read(input("heap.pb.gz")).unwrap();
    let plain_path = tmp.join("heap.pb");
    std::fs::write(&plain_path, profile::gunzip(&gz, 1 << 30).unwrap()).unwrap();
    for (name, path) in [
        ("gzipped proto", input("heap.pb.gz")),
        ("plain proto", plain_path.display().to_string()),
        ("legacy text", input("heap.txt")),
    ] {
        let expected = stdout(&profkit(&["-top", &path], &tmp));
        let piped = profkit_from_pipe(&["-top"], std::fs::read(&path).unwrap());
        assert_eq!(stdout(&piped), expected, "{name}");
    }
}
