//! Every `/debug/pprof/*` endpoint fetched over real HTTP on 127.0.0.1.

use std::alloc::System;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};

use profkit_agent::{serve, serve_with, Sampled, ServeOptions};

#[global_allocator]
static ALLOC: Sampled<System> = Sampled::new(System);

/// A plain HTTP/1.1 exchange: the status code and the body.
fn fetch(addr: SocketAddr, method: &str, target: &str, extra: &str, body: &[u8]) -> (u16, Vec<u8>) {
    let mut s = TcpStream::connect(addr).expect("connect");
    write!(
        s,
        "{method} {target} HTTP/1.1\r\nHost: {addr}\r\n{extra}Content-Length: {}\r\n\r\n",
        body.len()
    )
    .unwrap();
    s.write_all(body).unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("header end");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    (status, raw[split + 4..].to_vec())
}

#[inline(never)]
fn keep_allocating() -> Vec<Vec<u8>> {
    (0..64).map(|_| vec![0u8; 256 * 1024]).collect()
}

#[test]
fn every_endpoint_answers_over_http_and_profiles_parse() {
    let _kept = keep_allocating();
    profkit_agent::set_mutex_profile_fraction(1);
    let server = serve("127.0.0.1:0").expect("serve");
    let addr = server.local_addr();

    let (status, index) = fetch(addr, "GET", "/debug/pprof/", "", b"");
    assert_eq!(status, 200);
    assert!(String::from_utf8_lossy(&index).contains("profile"));

    for (path, first_type) in [
        ("/debug/pprof/profile?seconds=1", "samples"),
        ("/debug/pprof/heap", "alloc_objects"),
        ("/debug/pprof/allocs", "alloc_objects"),
        ("/debug/pprof/mutex", "contentions"),
        ("/debug/pprof/threads", "threads"),
        ("/debug/pprof/goroutine", "threads"),
    ] {
        let (status, body) = fetch(addr, "GET", path, "", b"");
        assert_eq!(status, 200, "{path}");
        let p = profile::parse(&body).unwrap_or_else(|e| panic!("{path}: {e}"));
        assert_eq!(p.str(p.sample_types[0].ty), first_type, "{path}");
        if path.ends_with("heap") {
            let inuse: i64 = p.samples.iter().map(|s| s.values.at(3)).sum();
            assert!(inuse >= 8 << 20, "heap in use {inuse}");
        }
        if path.ends_with("threads") {
            let threads: i64 = p.samples.iter().map(|s| s.values.at(0)).sum();
            assert!(threads >= 2, "threads {threads}");
        }
    }

    let (status, text) = fetch(addr, "GET", "/debug/pprof/goroutine?debug=1", "", b"");
    assert_eq!(status, 200);
    let text = String::from_utf8(text).unwrap();
    assert!(text.starts_with("goroutine profile: total "), "{text}");
    assert!(text.contains("\n#\t0x"), "{text}");

    let (status, text) = fetch(addr, "GET", "/debug/pprof/heap?debug=1", "", b"");
    assert_eq!(status, 200);
    let text = String::from_utf8(text).unwrap();
    assert!(text.starts_with("heap profile: "), "{text}");
    assert!(text.contains(" @ heap/1048576\n"), "{text}");
    let p = profile::parse(text.as_bytes()).expect("heap text parses as a legacy profile");
    assert_eq!(p.str(p.sample_types[3].ty), "inuse_space");
    assert!(!p.mappings.is_empty(), "the memory map section is read");

    let (status, text) = fetch(addr, "GET", "/debug/pprof/mutex?debug=1", "", b"");
    assert_eq!(status, 200);
    let text = String::from_utf8(text).unwrap();
    assert!(
        text.starts_with("--- mutex:\ncycles/second=1000000000\nsampling period=1\n"),
        "{text}"
    );
    let p = profile::parse(text.as_bytes()).expect("mutex text parses as a legacy profile");
    assert_eq!(p.str(p.sample_types[1].ty), "delay");

    let (status, body) = fetch(addr, "GET", "/debug/pprof/symbol", "", b"");
    assert_eq!((status, body.as_slice()), (200, &b"num_symbols: 1\n"[..]));
    let here = keep_allocating as *const () as usize;
    let (status, body) = fetch(
        addr,
        "POST",
        "/debug/pprof/symbol",
        "",
        format!("{here:#x}").as_bytes(),
    );
    assert_eq!(status, 200);
    let body = String::from_utf8(body).unwrap();
    assert!(
        body.contains(&format!("{here:#x} ")) && body.contains("keep_allocating"),
        "{body}"
    );

    let (status, cmdline) = fetch(addr, "GET", "/debug/pprof/cmdline", "", b"");
    assert_eq!(status, 200);
    let exe = std::env::args().next().unwrap();
    assert!(String::from_utf8_lossy(&cmdline).starts_with(&exe));

    let (status, _) = fetch(addr, "GET", "/debug/pprof/nothing", "", b"");
    assert_eq!(status, 404);
    server.shutdown();
}

#[test]
fn a_token_protected_server_wants_the_bearer_token() {
    let server = serve_with(
        "127.0.0.1:0",
        ServeOptions {
            token: Some("s3cret".into()),
            ..ServeOptions::default()
        },
    )
    .expect("serve");
    let addr = server.local_addr();
    assert_eq!(fetch(addr, "GET", "/debug/pprof/cmdline", "", b"").0, 401);
    let auth = "Authorization: Bearer s3cret\r\n";
    assert_eq!(fetch(addr, "GET", "/debug/pprof/cmdline", auth, b"").0, 200);
    server.shutdown();
}
