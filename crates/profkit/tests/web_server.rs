//! The web UI over real HTTP: the binary is started with `-http=127.0.0.1:0` and every
//! view is fetched.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
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
        Server::start_in(args, None)
    }

    /// Starts the server with `XDG_CONFIG_HOME` (where pprof's settings file is) set to
    /// `config_home` when given.
    fn start_in(args: &[&str], config_home: Option<&Path>) -> Server {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_profkit"));
        if let Some(dir) = config_home {
            cmd.env("XDG_CONFIG_HOME", dir);
        }
        let mut child = cmd
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
        self.request("GET", path, "")
    }

    /// Sends `method path` with `headers` (each ending in CRLF) and no body, returning
    /// the status, the headers and the body.
    fn request(&self, method: &str, path: &str, headers: &str) -> (u16, String, Vec<u8>) {
        let mut s = TcpStream::connect(&self.addr).expect("connects");
        s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
        let length = if method == "POST" || method == "DELETE" {
            "Content-Length: 0\r\n"
        } else {
            ""
        };
        write!(
            s,
            "{method} {path} HTTP/1.1\r\nHost: {}\r\n{headers}{length}Connection: close\r\n\r\n",
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
    assert!(source.contains("<div class=\"weblist\">"), "{source}");
    assert!(source.contains("<h2>runtime.memmove</h2>"), "{source}");
    assert!(
        source.contains("id=\"sample-index\""),
        "the listing sits in the UI's page"
    );

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
    let file = p.intern("src/<script>alert('file')</script>.go");
    for (i, name) in [main, evil].into_iter().enumerate() {
        p.functions.push(profile::Function {
            id: i as u64 + 1,
            name,
            // A system name of its own keeps the name from being re-demangled.
            system_name: sys,
            filename: file,
            ..Default::default()
        });
        p.locations.push(profile::Location {
            id: i as u64 + 1,
            lines: vec![profile::Line {
                function: i as u32,
                line: 0,
                column: 0,
            }]
            .into(),
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

/// A fresh directory for `XDG_CONFIG_HOME`, removed when dropped.
struct ConfigHome(PathBuf);

impl ConfigHome {
    fn new(test: &str) -> ConfigHome {
        let dir = std::env::temp_dir().join(format!("profkit-{test}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        ConfigHome(dir)
    }

    fn settings(&self) -> PathBuf {
        self.0.join("pprof").join("settings.json")
    }
}

impl Drop for ConfigHome {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The Config menu of a page.
fn config_menu(page: &str) -> &str {
    let start = page
        .find("<details id=\"config-menu\"")
        .expect("page has a Config menu");
    let end = page[start..].find("</details>").expect("menu ends") + start;
    &page[start..end]
}

#[test]
fn configs_are_saved_listed_loaded_and_deleted() {
    let home = ConfigHome::new("config-cycle");
    let srv = Server::start_in(&[&input("cpu.pb.gz")], Some(&home.0));

    let (_, fresh) = srv.page("/ui/top");
    let menu = config_menu(&fresh);
    assert!(menu.contains("id=\"save-config\""));
    assert!(menu.contains("<a class=\"config-entry current\" href=\"?\" data-config=\"Default\""));
    assert!(
        !menu.contains("menu-delete-btn"),
        "Default cannot be deleted"
    );

    let (status, _, body) = srv.request(
        "POST",
        "/ui/saveconfig?f=sort%5C.&si=samples&config=sorting",
        "",
    );
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let saved = std::fs::read_to_string(home.settings()).expect("settings file written");
    assert!(saved.starts_with("{\n  \"configs\": [\n    {\n      \"name\": \"sorting\",\n"));
    assert!(saved.contains("\"focus\": \"sort\\\\.\""), "{saved}");
    assert!(
        !saved.contains("sample_index"),
        "the sample type is not saved: {saved}"
    );

    // The view seen before saving now lists the config (the menu is not cached).
    let (_, top) = srv.page("/ui/top");
    let menu = config_menu(&top);
    assert!(
        menu.contains("<a class=\"config-entry\" href=\"?f=sort%5C.\" data-config=\"sorting\">"),
        "{menu}"
    );
    assert!(menu.contains("class=\"menu-delete-btn\""));
    assert!(
        top.contains("<option value=\"sorting\">"),
        "the save dialog suggests the name"
    );

    // Its link carries the options: the view is focused and the config is current.
    let rows = |page: &str| page.matches("<tr data-flat=").count();
    let (status, loaded) = srv.page("/ui/top?f=sort%5C.");
    assert_eq!(status, 200);
    assert!(rows(&loaded) < rows(&top));
    assert!(loaded.contains("focus=sort\\."));
    let menu = config_menu(&loaded);
    assert!(
        menu.contains(
            "<a class=\"config-entry current\" href=\"?f=sort%5C.\" data-config=\"sorting\""
        ),
        "{menu}"
    );
    assert!(menu.contains("<a class=\"config-entry\" href=\"?\" data-config=\"Default\""));

    // Saving the same name again replaces the config.
    let (status, _, _) = srv.request("POST", "/ui/saveconfig?h=runtime&config=sorting", "");
    assert_eq!(status, 200);
    let saved = std::fs::read_to_string(home.settings()).unwrap();
    assert_eq!(saved.matches("\"name\"").count(), 1);
    assert!(saved.contains("\"hide\": \"runtime\"") && !saved.contains("focus"));

    let (status, _, _) = srv.request("DELETE", "/ui/deleteconfig?config=sorting", "");
    assert_eq!(status, 200);
    assert_eq!(
        std::fs::read_to_string(home.settings()).unwrap(),
        "{\n  \"configs\": []\n}"
    );
    let (_, after) = srv.page("/ui/top");
    assert!(!config_menu(&after).contains("sorting"));
}

#[test]
fn a_config_saved_by_pprof_is_listed_with_its_name_escaped() {
    let home = ConfigHome::new("config-pprof");
    std::fs::create_dir_all(home.settings().parent().unwrap()).unwrap();
    // As `go tool pprof -http` writes it.
    std::fs::write(
        home.settings(),
        "{\n  \"configs\": [\n    {\n      \"name\": \"\\u003cb\\u003ehot\\u003c/b\\u003e\",\n      \
\"unit\": \"minimum\",\n      \"sort\": \"cum\",\n      \"nodecount\": -1,\n      \
\"nodefraction\": 0.005,\n      \"edgefraction\": 0.001,\n      \"trim\": true,\n      \
\"focus\": \"main\\\\.worker\"\n    }\n  ]\n}",
    )
    .unwrap();
    let srv = Server::start_in(&[&input("cpu.pb.gz")], Some(&home.0));
    let (status, page) = srv.page("/ui/flamegraph?si=samples");
    assert_eq!(status, 200);
    let menu = config_menu(&page);
    assert!(!menu.contains("<b>hot"), "the name is escaped");
    assert!(
        menu.contains("href=\"?f=main%5C.worker&amp;si=samples&amp;sort=cum\" data-config=\"&lt;b&gt;hot&lt;/b&gt;\""),
        "{menu}"
    );
    // A config saved here is added after pprof's, in pprof's format.
    let (status, _, _) = srv.request("POST", "/ui/saveconfig?config=mine&i=gc", "");
    assert_eq!(status, 200);
    let saved = std::fs::read_to_string(home.settings()).unwrap();
    assert!(
        saved.contains("\"name\": \"\\u003cb\\u003ehot\\u003c/b\\u003e\""),
        "{saved}"
    );
    assert!(
        saved.ends_with("\"trim\": true,\n      \"ignore\": \"gc\"\n    }\n  ]\n}"),
        "{saved}"
    );
}

#[test]
fn a_corrupt_settings_file_is_a_clear_error_and_left_alone() {
    let home = ConfigHome::new("config-corrupt");
    std::fs::create_dir_all(home.settings().parent().unwrap()).unwrap();
    std::fs::write(
        home.settings(),
        "{\"configs\": [{\"name\": \"x\", \"trim\": \"yes\"}]}",
    )
    .unwrap();
    let srv = Server::start_in(&[&input("cpu.pb.gz")], Some(&home.0));

    let (status, _, body) = srv.request("POST", "/ui/saveconfig?config=y&f=main", "");
    assert_eq!(status, 500);
    let message = String::from_utf8_lossy(&body);
    assert!(
        message.starts_with("could not parse settings "),
        "{message}"
    );
    assert!(message.contains("configs[0].trim"), "{message}");
    let (status, _, _) = srv.request("DELETE", "/ui/deleteconfig?config=x", "");
    assert_eq!(status, 500);
    assert_eq!(
        std::fs::read_to_string(home.settings()).unwrap(),
        "{\"configs\": [{\"name\": \"x\", \"trim\": \"yes\"}]}"
    );

    // Views still render, with the problem in the menu.
    let (status, page) = srv.page("/ui/top");
    assert_eq!(status, 200);
    assert!(config_menu(&page).contains("id=\"config-error\""));
    assert!(config_menu(&page).contains("could not parse settings"));
}

#[test]
fn bad_names_methods_and_origins_are_refused() {
    let home = ConfigHome::new("config-refused");
    let srv = Server::start_in(&[&input("cpu.pb.gz")], Some(&home.0));
    let text = |r: (u16, String, Vec<u8>)| (r.0, String::from_utf8_lossy(&r.2).into_owned());

    assert_eq!(
        text(srv.request("POST", "/ui/saveconfig?f=main", "")),
        (400, "invalid config name".into())
    );
    assert_eq!(
        text(srv.request("POST", "/ui/saveconfig?config=a%0Ab", "")).0,
        400
    );
    assert_eq!(
        text(srv.request("DELETE", "/ui/deleteconfig?config=nope", "")),
        (400, "config nope not found".into())
    );
    let (status, body) = text(srv.request("POST", "/ui/saveconfig?config=a&n=many", ""));
    assert_eq!(status, 400);
    assert!(
        body.starts_with("error setting config field nodecount"),
        "{body}"
    );
    let (status, head, _) = srv.get("/ui/saveconfig?config=a");
    assert_eq!(status, 405, "saving needs POST");
    assert!(head.contains("Allow: POST"));
    assert_eq!(srv.request("POST", "/ui/top", "").0, 405);
    let evil = "Origin: http://attacker.example\r\n";
    assert_eq!(srv.request("POST", "/ui/saveconfig?config=a", evil).0, 403);
    assert!(!home.settings().exists(), "nothing was written");
    let own = format!("Origin: http://{}\r\n", srv.addr);
    assert_eq!(srv.request("POST", "/ui/saveconfig?config=a", &own).0, 200);
    assert_eq!(
        srv.request("POST", "/ui/deleteconfig?config=a", &own).0,
        200
    );
}

#[test]
fn an_unwritable_settings_directory_is_a_clear_error() {
    let home = ConfigHome::new("config-unwritable");
    // A file where the config directory should be: it cannot be created.
    let blocked = home.0.join("not-a-dir");
    std::fs::write(&blocked, "").unwrap();
    let srv = Server::start_in(&[&input("cpu.pb.gz")], Some(&blocked));
    let (status, _, body) = srv.request("POST", "/ui/saveconfig?config=a&f=main", "");
    assert_eq!(status, 500);
    let message = String::from_utf8_lossy(&body);
    assert!(
        message.starts_with("failed to create settings directory"),
        "{message}"
    );
    let (status, page) = srv.page("/ui/top");
    assert_eq!(status, 200, "views still work");
    assert!(config_menu(&page).contains("Default"));
}

#[test]
fn focused_views_leave_the_loaded_profile_whole() {
    let profile = input("cpu_labels.pb.gz");
    let srv = Server::start(&[&profile]);
    let (status, _, before) = srv.get("/ui/download");
    assert_eq!(status, 200);
    // The report part of a page: its rows and its legend, not the links that carry the URL.
    let report = |page: &str| -> Vec<String> {
        page.lines()
            .filter(|l| l.contains("<tr data-flat=") || l.contains("Showing nodes"))
            .map(str::to_string)
            .collect()
    };
    // Views whose filters select samples borrow the loaded samples; each, rendered
    // after the others, must be what a fresh server renders.
    let urls = [
        "/ui/top?f=tasks",
        "/ui/top?tf=phase%3Dwarmup",
        "/ui/top?f=tasks&tf=pool%3Dio&i=insert",
        "/ui/top?i=runtime&si=samples",
        "/ui/top?si=samples",
    ];
    let pages: Vec<Vec<String>> = urls.iter().map(|u| report(&srv.page(u).1)).collect();
    srv.page("/ui/?f=tasks");
    srv.page("/ui/peek?f=mix&tf=phase%3Dsteady");
    let (_, _, after) = srv.get("/ui/download");
    assert_eq!(before, after, "the loaded profile is unchanged");
    for (url, page) in urls.iter().zip(&pages) {
        let fresh = Server::start(&[&profile]);
        let expected = report(&fresh.page(url).1);
        assert!(!expected.is_empty(), "{url} has a report");
        assert_eq!(page, &expected, "{url}");
    }
    assert_ne!(pages[0], pages[4], "a focused view differs from the whole");
}
