//! The `/debug/pprof/*` endpoints of Go's `net/http/pprof`, as a framework-free handler
//! ([`handle`]) and a small background server on `std::net` ([`serve`]).
//!
//! | path | answer |
//! |---|---|
//! | `/debug/pprof/` | an HTML index |
//! | `/debug/pprof/profile?seconds=N` | a CPU profile of N seconds (default 30) |
//! | `/debug/pprof/heap`, `/debug/pprof/allocs` | the heap profile; `?debug=1` for text |
//! | `/debug/pprof/mutex` | the mutex contention profile; `?debug=1` for text |
//! | `/debug/pprof/threads` (alias `goroutine`) | every thread's stack; `?debug=1` for text |
//! | `/debug/pprof/symbol` | GET: `num_symbols: 1`; POST `0xaddr+0xaddr`: their names |
//! | `/debug/pprof/cmdline` | the command line, NUL separated |
//!
//! The server binds to loopback addresses only unless told otherwise, and can require a
//! bearer token.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crate::builder::symbol_at;
use crate::{
    allocs_profile, cpu_profile, heap_profile, heap_text, mutex_profile, mutex_text,
    threads_profile, threads_text, DEFAULT_CPU_HZ,
};

/// An HTTP request, reduced to what the handler needs.
#[derive(Clone, Debug, Default)]
pub struct Request {
    /// The method, such as `GET`.
    pub method: String,
    /// The request target: path and query, such as `/debug/pprof/profile?seconds=5`.
    pub target: String,
    /// The value of the `Authorization` header, if any.
    pub authorization: Option<String>,
    /// The request body.
    pub body: Vec<u8>,
}

/// An HTTP response from the handler.
#[derive(Clone, Debug)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// The content type.
    pub content_type: &'static str,
    /// Extra headers (name, value).
    pub headers: Vec<(&'static str, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Response {
    fn text(status: u16, body: impl Into<String>) -> Response {
        Response {
            status,
            content_type: "text/plain; charset=utf-8",
            headers: vec![("X-Content-Type-Options", "nosniff".into())],
            body: body.into().into_bytes(),
        }
    }

    fn profile(name: &str, p: &profile::Profile) -> Response {
        Response {
            status: 200,
            content_type: "application/octet-stream",
            headers: vec![
                ("X-Content-Type-Options", "nosniff".into()),
                (
                    "Content-Disposition",
                    format!("attachment; filename=\"{name}\""),
                ),
            ],
            // Compressed for speed, as Go's runtime serves profiles: the time is taken
            // from the program being profiled.
            body: profile::proto::encode_gzip_fast(p),
        }
    }
}

/// Options of the handler and the server.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// When set, every request must carry `Authorization: Bearer <token>`.
    pub token: Option<String>,
    /// Allow binding to addresses other than loopback ones.
    pub allow_remote: bool,
}

/// The value of query parameter `key` in `query` (no percent-decoding: the
/// parameters used are numbers).
fn query_param<'a>(query: &'a str, key: &str) -> Option<&'a str> {
    query
        .split('&')
        .filter_map(|kv| kv.split_once('=').or(Some((kv, ""))))
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v)
}

const INDEX: &str = "<html>
<head><title>/debug/pprof/</title></head>
<body>
/debug/pprof/<br>
<br>
Types of profiles available:
<table>
<thead><td>Count</td><td>Profile</td></thead>
<tr><td></td><td><a href='allocs'>allocs</a></td></tr>
<tr><td></td><td><a href='cmdline'>cmdline</a></td></tr>
<tr><td></td><td><a href='goroutine?debug=1'>goroutine</a></td></tr>
<tr><td></td><td><a href='heap'>heap</a></td></tr>
<tr><td></td><td><a href='mutex'>mutex</a></td></tr>
<tr><td></td><td><a href='profile'>profile</a></td></tr>
<tr><td></td><td><a href='symbol'>symbol</a></td></tr>
<tr><td></td><td><a href='threads?debug=1'>threads</a></td></tr>
</table>
<ul>
<li><div class=profile-name>allocs: </div> A sampling of all past memory allocations</li>
<li><div class=profile-name>cmdline: </div> The command line invocation of the current program</li>
<li><div class=profile-name>goroutine: </div> Stack traces of all current threads (alias of threads)</li>
<li><div class=profile-name>heap: </div> A sampling of memory allocations of live objects</li>
<li><div class=profile-name>mutex: </div> Stack traces of holders of contended mutexes</li>
<li><div class=profile-name>profile: </div> CPU profile. You can specify the duration in the seconds GET parameter.</li>
<li><div class=profile-name>threads: </div> Stack traces of all current threads</li>
</ul>
</body>
</html>
";

/// Answers one request to a `/debug/pprof/` path.
pub fn handle(req: &Request, options: &Options) -> Response {
    if let Some(token) = &options.token {
        let want = format!("Bearer {token}");
        if req.authorization.as_deref() != Some(want.as_str()) {
            return Response::text(401, "Unauthorized\n");
        }
    }
    let (path, query) = req.target.split_once('?').unwrap_or((&req.target, ""));
    let Some(name) = path.strip_prefix("/debug/pprof/") else {
        return Response::text(404, "404 page not found\n");
    };
    let debug = query_param(query, "debug")
        .and_then(|d| d.parse::<i32>().ok())
        .unwrap_or(0);
    match name {
        "" => Response {
            status: 200,
            content_type: "text/html; charset=utf-8",
            headers: Vec::new(),
            body: INDEX.as_bytes().to_vec(),
        },
        "profile" => {
            let seconds = query_param(query, "seconds")
                .and_then(|s| s.parse::<u64>().ok())
                .filter(|&s| s > 0)
                .unwrap_or(30)
                .min(3600);
            match cpu_profile(Duration::from_secs(seconds), DEFAULT_CPU_HZ) {
                Ok(p) => Response::profile("profile", &p),
                Err(e) => Response::text(500, format!("Could not enable CPU profiling: {e}\n")),
            }
        }
        "heap" | "allocs" if debug > 0 => Response::text(200, heap_text()),
        "heap" => Response::profile("heap", &heap_profile()),
        "allocs" => Response::profile("allocs", &allocs_profile()),
        "mutex" if debug > 0 => Response::text(200, mutex_text()),
        "mutex" => Response::profile("mutex", &mutex_profile()),
        "threads" | "goroutine" if debug > 0 => Response::text(200, threads_text(name)),
        "threads" | "goroutine" => Response::profile(name, &threads_profile()),
        "symbol" => symbol(req, query),
        "cmdline" => Response::text(200, std::env::args().collect::<Vec<_>>().join("\0")),
        _ => Response::text(404, "Unknown profile\n"),
    }
}

/// Go's symbol endpoint: addresses separated by `+` (in a POST body or the query), each
/// answered as `0xaddr name`.
fn symbol(req: &Request, query: &str) -> Response {
    let words = if req.method == "POST" {
        String::from_utf8_lossy(&req.body).into_owned()
    } else {
        query.to_string()
    };
    let mut out = String::from("num_symbols: 1\n");
    for word in words.split('+').map(str::trim).filter(|w| !w.is_empty()) {
        let digits = word.trim_start_matches("0x").trim_start_matches("0X");
        let Ok(addr) = u64::from_str_radix(digits, 16) else {
            continue;
        };
        if let Some((name, _)) = symbol_at(addr) {
            out.push_str(&format!("{addr:#x} {name}\n"));
        }
    }
    Response::text(200, out)
}

/// A running background server; [`Server::shutdown`] stops it (dropping the handle
/// leaves it running, as Go's pprof server runs for the life of the process).
#[derive(Debug)]
pub struct Server {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting connections and waits for the accept loop to end.
    pub fn shutdown(mut self) {
        self.stop_now();
    }

    fn stop_now(&mut self) {
        self.stop.store(true, Ordering::Release);
        // Wake the accept loop.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_millis(200));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Serves `/debug/pprof/*` on `addr` (such as `127.0.0.1:6060`) from a background
/// thread. Only loopback addresses are accepted; see [`serve_with`].
pub fn serve(addr: &str) -> io::Result<Server> {
    serve_with(addr, Options::default())
}

/// Most connections served at once; more are refused with 503.
const MAX_CONNECTIONS: usize = 16;

/// Serves `/debug/pprof/*` on `addr` with `options`.
pub fn serve_with(addr: &str, options: Options) -> io::Result<Server> {
    let addrs: Vec<SocketAddr> = addr.to_socket_addrs()?.collect();
    if !options.allow_remote && addrs.iter().any(|a| !a.ip().is_loopback()) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{addr} is not a loopback address (set allow_remote to serve on it)"),
        ));
    }
    let listener = TcpListener::bind(&addrs[..])?;
    let local = listener.local_addr()?;
    let stop = Arc::new(AtomicBool::new(false));
    let stop2 = stop.clone();
    let options = Arc::new(options);
    let active = Arc::new(AtomicUsize::new(0));
    let thread = std::thread::Builder::new()
        .name("profkit-http".into())
        .spawn(move || {
            for conn in listener.incoming() {
                if stop2.load(Ordering::Acquire) {
                    break;
                }
                let Ok(mut stream) = conn else { continue };
                if active.fetch_add(1, Ordering::AcqRel) >= MAX_CONNECTIONS {
                    active.fetch_sub(1, Ordering::AcqRel);
                    let _ = write_response(&mut stream, &Response::text(503, "busy\n"));
                    continue;
                }
                let options = options.clone();
                let slot = active.clone();
                let spawned = std::thread::Builder::new()
                    .name("profkit-http-conn".into())
                    .spawn(move || {
                        let _ = serve_connection(stream, &options);
                        slot.fetch_sub(1, Ordering::AcqRel);
                    });
                if spawned.is_err() {
                    // The closure and its stream were dropped: the slot is free again.
                    active.fetch_sub(1, Ordering::AcqRel);
                }
            }
        })?;
    Ok(Server {
        addr: local,
        stop,
        thread: Some(thread),
    })
}

const MAX_HEADER_BYTES: usize = 64 * 1024;
const MAX_BODY_BYTES: usize = 1 << 20;

fn serve_connection(stream: TcpStream, options: &Options) -> io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut writer = stream;
    let response = match read_request(&mut reader) {
        Ok(req) => handle(&req, options),
        Err(e) => Response::text(400, format!("bad request: {e}\n")),
    };
    write_response(&mut writer, &response)
}

fn read_request(r: &mut impl BufRead) -> io::Result<Request> {
    let bad = |m: &str| io::Error::new(io::ErrorKind::InvalidData, m.to_string());
    let mut line = String::new();
    let mut total = r.take(MAX_HEADER_BYTES as u64).read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let method = parts
        .next()
        .ok_or_else(|| bad("empty request line"))?
        .to_string();
    let target = parts
        .next()
        .ok_or_else(|| bad("request line has no target"))?
        .to_string();
    let mut req = Request {
        method,
        target,
        ..Request::default()
    };
    let mut content_length = 0usize;
    loop {
        line.clear();
        let n = r.take(MAX_HEADER_BYTES as u64).read_line(&mut line)?;
        total += n;
        if n == 0 || total > MAX_HEADER_BYTES {
            return Err(bad("headers too long or cut short"));
        }
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        let Some((name, value)) = l.split_once(':') else {
            return Err(bad("header line without a colon"));
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            content_length = value.parse().map_err(|_| bad("bad Content-Length"))?;
        } else if name.eq_ignore_ascii_case("authorization") {
            req.authorization = Some(value.to_string());
        }
    }
    if content_length > MAX_BODY_BYTES {
        return Err(bad("body too large"));
    }
    req.body = vec![0; content_length];
    r.read_exact(&mut req.body)?;
    Ok(req)
}

fn write_response(w: &mut impl Write, resp: &Response) -> io::Result<()> {
    let reason = match resp.status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        503 => "Service Unavailable",
        _ => "Internal Server Error",
    };
    let mut head = format!(
        "HTTP/1.1 {} {reason}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n",
        resp.status,
        resp.content_type,
        resp.body.len()
    );
    for (k, v) in &resp.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    w.write_all(head.as_bytes())?;
    w.write_all(&resp.body)?;
    w.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_parsed_with_their_body_and_authorization() {
        let raw = b"POST /debug/pprof/symbol HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer t\r\nContent-Length: 5\r\n\r\n0x1+2";
        let req = read_request(&mut &raw[..]).unwrap();
        assert_eq!(req.method, "POST");
        assert_eq!(req.target, "/debug/pprof/symbol");
        assert_eq!(req.authorization.as_deref(), Some("Bearer t"));
        assert_eq!(req.body, b"0x1+2");
        assert!(read_request(&mut &b"GET\r\n\r\n"[..]).is_err());
    }

    #[test]
    fn a_wrong_token_is_refused_and_unknown_paths_are_not_found() {
        let opts = Options {
            token: Some("secret".into()),
            ..Options::default()
        };
        let mut req = Request {
            method: "GET".into(),
            target: "/debug/pprof/cmdline".into(),
            ..Request::default()
        };
        assert_eq!(handle(&req, &opts).status, 401);
        req.authorization = Some("Bearer secret".into());
        assert_eq!(handle(&req, &opts).status, 200);
        req.target = "/debug/pprof/nope".into();
        assert_eq!(handle(&req, &opts).status, 404);
    }

    #[test]
    fn non_loopback_addresses_are_refused_by_default() {
        let err = serve("0.0.0.0:0").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    }
}
