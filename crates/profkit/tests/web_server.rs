//! The web UI over real HTTP: the binary is started with `-http=127.0.0.1:0` and every
//! view is fetched.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const INPUTS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../testdata/conformance/differential/inputs"
);

/// A running `profkit -http` process, killed when dropped.
struct Server {
    child: Child,
    addr: String,
}

impl Server {
    fn start(args: &[&str]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_profkit"))
            .arg("-http=127.0.0.1:0")
            .arg("-no_browser")
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("profkit starts");
        let stderr = child.stderr.take().expect("stderr is piped");
        let mut lines = BufReader::new(stderr).lines();
        let addr = loop {
            let line = lines
                .next()
                .expect("server prints its address")
                .expect("stderr is readable");
            if let Some(url) = line.strip_prefix("Serving web UI on http://") {
                break url.trim().to_string();
            }
        };
        // Keep draining stderr so the server never blocks on it.
        std::thread::spawn(move || for _ in lines {});
        Server { child, addr }
    }

    /// GETs `path`, returning the status, the headers and the body.
    fn get(&self, path: &str) -> (u16, String, Vec<u8>) {
        let mut s = TcpStream::connect(&self.addr).expect("connects");
        s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            self.addr
        )
        .unwrap();
        let mut raw = Vec::new();
        s.read_to_end(&mut raw).expect("response");
        let split = raw
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("response head");
        let head = String::from_utf8_lossy(&raw[..split]).to_string();
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .expect("status code");
        (status, head, raw[split + 4..].to_vec())
    }

    fn page(&self, path: &str) -> (u16, String) {
        let (status, _, body) = self.get(path);
        (status, String::from_utf8(body).expect("UTF-8 page"))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn input(name: &str) -> String {
    format!("{INPUTS}/{name}")
}

#[test]
fn every_view_is_served_from_the_loaded_profile() {
    let srv = Server::start(&[&input("cpu.pb.gz")]);

    let (status, page) = srv.page("/ui/");
    assert_eq!(status, 200);
    assert!(page.contains("<svg") && page.contains("class=\"flame\""));
    assert!(page.contains("main.worker"));
    assert!(page.contains("id=\"sample-index\""));

    let (status, flame) = srv.page("/ui/flamegraph");
    assert_eq!(status, 200);
    assert_eq!(
        flame.matches("</title><rect").count(),
        page.matches("</title><rect").count()
    );

    let (status, top) = srv.page("/ui/top");
    assert_eq!(status, 200);
    assert!(top.contains("id=\"toptable\""));
    assert!(top.contains("runtime.asyncPreempt"));
    assert!(top.contains("Type: cpu"));

    let (status, peek) = srv.page("/ui/peek?f=memmove");
    assert_eq!(status, 200);
    assert!(peek.contains("id=\"report\""));
    assert!(peek.contains("runtime.memmove"));

    let (status, source) = srv.page("/ui/source?f=memmove");
    assert_eq!(status, 200);
    assert!(source.contains("ROUTINE ======================== runtime.memmove"));

    let (status, hint) = srv.page("/ui/source");
    assert_eq!(status, 200);
    assert!(hint.contains("id=\"hint\""));

    let (status, graph) = srv.page("/ui/graph");
    if status == 200 {
        assert!(graph.contains("<svg"));
        assert!(graph.contains("class=\"node\""));
    } else {
        assert_eq!(status, 501);
        assert!(graph.contains("may need to install graphviz"));
    }

    let (status, head, body) = srv.get("/ui/download");
    assert_eq!(status, 200);
    assert!(head.contains("attachment;filename=profile.pb.gz"));
    let downloaded = profile::parse(&body).expect("download is a profile");
    let original = profile::parse(&std::fs::read(input("cpu.pb.gz")).unwrap()).unwrap();
    assert_eq!(downloaded.samples.len(), original.samples.len());
}

#[test]
fn url_parameters_refine_the_views() {
    let srv = Server::start(&[&input("cpu.pb.gz")]);
    let rows = |page: &str| page.matches("<tr data-flat=").count();
    let (_, all) = srv.page("/ui/top");
    let (status, focused) = srv.page("/ui/top?f=sort%5C.");
    assert_eq!(status, 200);
    assert!(rows(&focused) < rows(&all));
    assert!(focused.contains("sort.Slice"));
    assert!(focused.contains("focus=sort\\."));

    let (_, ignored) = srv.page("/ui/top?i=sort%5C.");
    assert!(!ignored.contains(">sort.Slice<"));

    let (_, hidden) = srv.page("/ui/top?h=runtime");
    assert!(!hidden.contains(">runtime."));

    let (_, samples) = srv.page("/ui/top?si=samples");
    assert!(samples.contains("Type: samples"));
    let (_, flame_samples) = srv.page("/ui/flamegraph?si=samples&f=sort");
    assert!(flame_samples.contains("samples \u{2014}"));

    let (_, files) = srv.page("/ui/top?g=files");
    assert!(files.contains("sort.go") || files.contains(".go"));

    let (status, bad) = srv.page("/ui/top?f=(");
    assert_eq!(status, 400);
    assert!(bad.contains("id=\"error\""));
    assert!(bad.contains("focus"));

    let (status, bad_si) = srv.page("/ui/flamegraph?si=nosuchtype");
    assert_eq!(status, 400);
    assert!(bad_si.contains("nosuchtype"));
}

#[test]
fn root_redirects_and_unknown_paths_are_not_found() {
    let srv = Server::start(&[&input("cpu.pb.gz")]);
    let (status, head, _) = srv.get("/?f=main");
    assert_eq!(status, 307);
    assert!(head.contains("Location: /ui/?f=main"));
    let (status, head, _) = srv.get("/ui/flamegraph2?f=x");
    assert_eq!(status, 301);
    assert!(head.contains("Location: flamegraph?f=x"));
    assert_eq!(srv.get("/ui/nothing").0, 404);
    assert_eq!(srv.get("/etc/passwd").0, 404);
}

#[test]
fn diff_base_serves_a_differential_flame_graph() {
    let srv = Server::start(&[
        &format!("-diff_base={}", input("cpu_a.pb.gz")),
        &input("cpu_b.pb.gz"),
    ]);
    let (status, page) = srv.page("/ui/flamegraph");
    assert_eq!(status, 200);
    assert!(page.contains("id=\"diff-banner\""));
    assert!(page.contains(", base "));
    assert!(page.contains(", change "));
    let (status, top) = srv.page("/ui/top");
    assert_eq!(status, 200);
    assert!(top.contains("id=\"toptable\""));
}

#[test]
fn names_from_the_profile_are_escaped_in_every_view() {
    let path = std::env::temp_dir().join(format!("profkit-web-escape-{}.pb", std::process::id()));
    let mut p = profile::Profile::new(1);
    let ty = p.intern("samples");
    let unit = p.intern("count");
    p.sample_types.push(profile::ValueType { ty, unit });
    let evil = p.intern("<script>alert('pwned')</script>\"&");
    let main = p.intern("main");
    let sys = p.intern("_Zsys");
    for (i, name) in [main, evil].into_iter().enumerate() {
        p.functions.push(profile::Function {
            id: i as u64 + 1,
            name,
            // A system name of its own keeps the name from being re-demangled.
            system_name: sys,
            ..Default::default()
        });
        p.locations.push(profile::Location {
            id: i as u64 + 1,
            lines: vec![profile::Line {
                function: i as u32,
                line: 0,
                column: 0,
            }],
            ..Default::default()
        });
    }
    p.samples.push(&[5], &[1, 0], &[]);
    std::fs::write(&path, profile::proto::encode(&p)).unwrap();

    let srv = Server::start(&[path.to_str().unwrap()]);
    for view in [
        "/ui/flamegraph",
        "/ui/top",
        "/ui/peek?f=script",
        "/ui/source?f=script",
    ] {
        let (status, page) = srv.page(view);
        assert_eq!(status, 200, "{view}");
        assert!(!page.contains("<script>alert"), "{view} leaks markup");
        assert!(
            page.contains("&lt;script&gt;alert"),
            "{view} shows the name: {}",
            &page[page.find("<main").unwrap_or(0)..]
        );
    }
    let _ = std::fs::remove_file(&path);
}
