//! Remote symbolization: a profile fetched over HTTP whose mappings have no symbols is
//! symbolized through its server's `/debug/pprof/symbol`, served here by a tiny HTTP
//! server on 127.0.0.1.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};

use profile::{Location, Mapping, Profile, ValueType};

/// An unsymbolized profile: three locations at 0x1000, 0x2000, 0x3000 of one mapping
/// named `file`, one sample each with values 1, 2 and 4.
fn unsymbolized_profile(file: &str) -> Vec<u8> {
    let mut p = Profile::new(1);
    let (samples, count) = (p.intern("samples"), p.intern("count"));
    p.sample_types = vec![ValueType {
        ty: samples,
        unit: count,
    }];
    let filename = p.intern(file);
    p.mappings.push(Mapping {
        id: 1,
        memory_start: 0x1000,
        memory_limit: 0x4000,
        filename,
        ..Mapping::default()
    });
    for (i, addr) in [0x1000u64, 0x2000, 0x3000].into_iter().enumerate() {
        p.locations.push(Location {
            id: i as u64 + 1,
            mapping: Some(profile::MappingIndex::new(0)),
            address: addr,
            ..Location::default()
        });
        p.samples.push(&[1 << i], &[i as u32], &[]);
    }
    profile::proto::encode_gzip(&p)
}

/// What the server saw: the bodies POSTed to the symbol handler.
type Posts = Arc<Mutex<Vec<String>>>;

/// Serves `profile` at `/debug/pprof/profile` and names 0x1000 and 0x2000 at
/// `/debug/pprof/symbol` (answering `0x3000` with nothing); returns the address.
fn serve(profile: Vec<u8>) -> (String, Posts) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("address").to_string();
    let posts: Posts = Arc::default();
    let seen = posts.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            handle(stream, &profile, &seen);
        }
    });
    (addr, posts)
}

fn handle(mut stream: TcpStream, profile: &[u8], posts: &Posts) {
    let mut reader = BufReader::new(stream.try_clone().expect("clone stream"));
    let mut request = String::new();
    if reader.read_line(&mut request).is_err() {
        return;
    }
    let mut length = 0usize;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).is_err() || header.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = header.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                length = v.trim().parse().unwrap_or(0);
            }
        }
    }
    let mut body = vec![0; length];
    let _ = reader.read_exact(&mut body);
    let parts: Vec<&str> = request.split_whitespace().collect();
    let (status, reply): (&str, Vec<u8>) = match (parts.first(), parts.get(1)) {
        (Some(&"GET"), Some(path)) if path.starts_with("/debug/pprof/profile") => {
            ("200 OK", profile.to_vec())
        }
        (Some(&"POST"), Some(&"/debug/pprof/symbol")) => {
            let body = String::from_utf8_lossy(&body).into_owned();
            posts.lock().expect("lock").push(body.clone());
            let mut answer = String::from("num_symbols: 1\n");
            for a in body.split('+') {
                match a {
                    "0x1000" => answer.push_str("0x1000 main.alpha\n"),
                    "0x2000" => answer.push_str("0x2000 main.(*T).beta\n"),
                    _ => {}
                }
            }
            ("200 OK", answer.into_bytes())
        }
        _ => ("404 Not Found", b"not found".to_vec()),
    };
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        reply.len()
    );
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(&reply);
}

mod scratch;
use scratch::ScratchDir;

/// A fresh empty directory for one test, removed when dropped.
fn scratch(name: &str) -> ScratchDir {
    ScratchDir::new(&format!("profkit-remote-{name}"))
}

fn profkit(dir: &Path, args: &[&str]) -> (String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_profkit"))
        .args(args)
        .current_dir(dir)
        .env("PPROF_TMPDIR", dir)
        .env("HOME", dir)
        .output()
        .expect("run profkit");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "profkit {args:?} failed: {stderr}");
    (stdout, stderr)
}

#[test]
fn fetched_profile_without_symbols_is_symbolized_by_its_server() {
    let (addr, posts) = serve(unsymbolized_profile(""));
    let dir = scratch("default");
    let url = format!("http://{addr}/debug/pprof/profile");
    let (out, err) = profkit(&dir, &["-top", &url]);
    assert_eq!(posts.lock().unwrap().as_slice(), ["0x1000+0x2000+0x3000"]);
    assert!(out.contains(" main.alpha\n"), "{out}\n{err}");
    assert!(out.contains(" main.(*T).beta\n"), "{out}");
    // The address the server did not name stays unnamed; its mapping had only the
    // URL as file name, which is cleared again.
    assert!(out.contains("  <unknown>\n"), "{out}");
    // The mapping was named after the URL only for symbolization.
    assert!(err.contains("Saved profile in"), "{err}");
    let saved = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .find(|n| n.ends_with(".pb.gz"))
        .expect("saved profile");
    assert!(saved.starts_with("pprof.samples."), "{saved}");
    // What is saved is the profile symbolized, not the body the server sent.
    let saved = dir.join(saved).display().to_string();
    let (from_saved, _) = profkit(&dir, &["-top", "-symbolize=none", &saved]);
    assert!(from_saved.contains(" main.alpha\n"), "{from_saved}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn remote_mode_asks_the_server_for_a_mapping_with_a_missing_binary() {
    let (addr, posts) = serve(unsymbolized_profile("/nonexistent/server-binary"));
    let dir = scratch("remote");
    let url = format!("{addr}/debug/pprof/profile");
    let (out, _) = profkit(&dir, &["-top", "-symbolize=remote", &url]);
    assert_eq!(posts.lock().unwrap().len(), 1);
    assert!(out.contains(" main.alpha\n"), "{out}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn local_mode_never_asks_the_server() {
    let (addr, posts) = serve(unsymbolized_profile(""));
    let dir = scratch("local");
    let url = format!("http://{addr}/debug/pprof/profile");
    let (out, _) = profkit(&dir, &["-top", "-symbolize=local", &url]);
    assert!(posts.lock().unwrap().is_empty());
    assert!(!out.contains("main.alpha"), "{out}");
    std::fs::remove_dir_all(&dir).ok();
}
