//! A small HTTP/1.1 server on `std::net`: one thread per connection, one request per
//! connection; GET and HEAD, and POST and DELETE with a small form body at most (for the
//! Config menu), from the server's own pages only. The web UI needs nothing more, and it
//! keeps the binary free of an async runtime.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::time::Duration;

/// Longest request head (request line and headers) accepted.
const MAX_HEAD: usize = 64 * 1024;

/// Longest request body accepted.
const MAX_BODY: usize = 64 * 1024;

/// A parsed request: its method, path and decoded query parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// `GET`, `HEAD`, `POST` or `DELETE`.
    pub method: String,
    /// The path, without the query.
    pub path: String,
    /// The raw query string (without `?`), as sent.
    pub raw_query: String,
    /// Decoded query parameters, in order.
    pub query: Vec<(String, String)>,
    /// Decoded parameters of an `application/x-www-form-urlencoded` body, in order.
    pub form: Vec<(String, String)>,
    /// The `Host` header, if sent.
    pub host: Option<String>,
    /// The `Origin` header, if sent.
    pub origin: Option<String>,
}

impl Request {
    /// A request without body or headers, for `method` and `path?raw_query`.
    pub fn new(method: &str, path: &str, raw_query: &str) -> Request {
        Request {
            method: method.into(),
            path: path.into(),
            raw_query: raw_query.into(),
            query: url::form_urlencoded::parse(raw_query.as_bytes())
                .into_owned()
                .collect(),
            form: Vec::new(),
            host: None,
            origin: None,
        }
    }

    /// Whether the request changes state and comes from a page of another site: its
    /// `Origin` is not this server (`http://` and its `Host`).
    pub fn is_cross_origin(&self) -> bool {
        match (&self.origin, &self.host) {
            (None, _) => false,
            (Some(origin), Some(host)) => !origin
                .strip_prefix("http://")
                .is_some_and(|o| o.eq_ignore_ascii_case(host)),
            (Some(_), None) => true,
        }
    }

    /// The first value of query parameter `name`, or `""`.
    pub fn param(&self, name: &str) -> &str {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    }

    /// `?query` when the request had one, else `""`.
    pub fn query_suffix(&self) -> String {
        if self.raw_query.is_empty() {
            String::new()
        } else {
            format!("?{}", self.raw_query)
        }
    }
}

/// A response to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// HTTP status code.
    pub status: u16,
    /// Extra headers (Content-Type, Location, …).
    pub headers: Vec<(&'static str, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Response {
    /// A 200 response with an HTML body.
    pub fn html(body: String) -> Response {
        Response::with_status(200, "text/html; charset=utf-8", body.into_bytes())
    }

    /// A plain-text response with `status`.
    pub fn text(status: u16, body: &str) -> Response {
        Response::with_status(
            status,
            "text/plain; charset=utf-8",
            body.as_bytes().to_vec(),
        )
    }

    /// A response with `status`, a content type and a body.
    pub fn with_status(status: u16, content_type: &str, body: Vec<u8>) -> Response {
        Response {
            status,
            headers: vec![("Content-Type", content_type.to_string())],
            body,
        }
    }

    /// A 405 response naming the methods allowed.
    pub fn method_not_allowed(allow: &str) -> Response {
        let mut resp = Response::text(405, "method not allowed");
        resp.headers.push(("Allow", allow.to_string()));
        resp
    }

    /// A redirect to `location` (relative to the request's URL).
    pub fn redirect(status: u16, location: String) -> Response {
        Response {
            status,
            headers: vec![("Location", location)],
            body: Vec::new(),
        }
    }
}

/// Parses the request (head, and body if any) read from `r`.
pub fn read_request(r: &mut impl BufRead) -> Result<Request, String> {
    let mut head = Vec::new();
    let mut line = Vec::new();
    let mut first = String::new();
    let mut headers: Vec<(String, String)> = Vec::new();
    loop {
        line.clear();
        let n = r
            .by_ref()
            .take((MAX_HEAD - head.len() + 1) as u64)
            .read_until(b'\n', &mut line)
            .map_err(|e| format!("reading request: {e}"))?;
        if n == 0 {
            return Err("connection closed before the end of the request head".into());
        }
        head.extend_from_slice(&line);
        if head.len() > MAX_HEAD {
            return Err("request head too large".into());
        }
        if first.is_empty() {
            first = String::from_utf8_lossy(&line).trim().to_string();
            if first.is_empty() {
                // Tolerate blank lines before the request line.
                continue;
            }
        } else if line == b"\r\n" || line == b"\n" {
            break;
        } else if let Some((k, v)) = String::from_utf8_lossy(&line).split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    if header("transfer-encoding").is_some() {
        return Err("request bodies with a transfer encoding are not supported".into());
    }
    let length = match header("content-length") {
        None => 0,
        Some(v) => v
            .parse::<usize>()
            .map_err(|_| format!("invalid Content-Length {v:?}"))?,
    };
    if length > MAX_BODY {
        return Err(format!("request body too large ({length} bytes)"));
    }
    let mut body = vec![0; length];
    r.read_exact(&mut body)
        .map_err(|e| format!("reading request body: {e}"))?;
    let is_form = header("content-type").is_some_and(|t| {
        t.split(';').next().is_some_and(|t| {
            t.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
    });
    let form = if is_form {
        url::form_urlencoded::parse(&body).into_owned().collect()
    } else {
        Vec::new()
    };
    let mut parts = first.split_ascii_whitespace();
    let (Some(method), Some(target)) = (parts.next(), parts.next()) else {
        return Err(format!("malformed request line {first:?}"));
    };
    let (path, raw_query) = target.split_once('?').unwrap_or((target, ""));
    let query = url::form_urlencoded::parse(raw_query.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    Ok(Request {
        method: method.to_string(),
        path: path.to_string(),
        raw_query: raw_query.to_string(),
        query,
        form,
        host: header("host"),
        origin: header("origin"),
    })
}

/// The reason phrase of a status code.
fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        301 => "Moved Permanently",
        307 => "Temporary Redirect",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        _ => "",
    }
}

/// Writes `resp` to `w` (without the body for HEAD requests).
pub fn write_response(w: &mut impl Write, resp: &Response, head_only: bool) -> std::io::Result<()> {
    let mut head = format!("HTTP/1.1 {} {}\r\n", resp.status, reason(resp.status));
    for (k, v) in &resp.headers {
        // Header values never carry line breaks, whatever a URL held.
        let v: String = v.chars().filter(|c| !matches!(c, '\r' | '\n')).collect();
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str(&format!(
        "Content-Length: {}\r\nCache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n",
        resp.body.len()
    ));
    w.write_all(head.as_bytes())?;
    if !head_only {
        w.write_all(&resp.body)?;
    }
    w.flush()
}

/// Whether `ip` is a loopback address.
pub fn is_loopback(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => {
            v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    }
}

/// Serves requests on `listener` forever, answering each with `handler`. With
/// `loopback_only`, clients not on a loopback address get 403.
pub fn run<H>(listener: TcpListener, loopback_only: bool, handler: H)
where
    H: Fn(&Request) -> Response + Send + Sync + 'static,
{
    let handler = Arc::new(handler);
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        let handler = Arc::clone(&handler);
        let spawned = std::thread::Builder::new()
            .name("web".into())
            .spawn(move || handle(stream, loopback_only, &*handler));
        if let Err(e) = spawned {
            eprintln!("web UI: cannot start a thread: {e}");
        }
    }
}

fn handle<H>(stream: TcpStream, loopback_only: bool, handler: &H)
where
    H: Fn(&Request) -> Response,
{
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let peer: Option<SocketAddr> = stream.peer_addr().ok();
    let mut writer = match stream.try_clone() {
        Ok(w) => w,
        Err(_) => return,
    };
    let mut reader = BufReader::new(stream);
    let req = match read_request(&mut reader) {
        Ok(r) => r,
        Err(e) => {
            let _ = write_response(&mut writer, &Response::text(400, &e), false);
            return;
        }
    };
    let head_only = req.method == "HEAD";
    let resp = if loopback_only && !peer.is_some_and(|p| is_loopback(p.ip())) {
        Response::text(403, "permission denied")
    } else if !matches!(req.method.as_str(), "GET" | "HEAD" | "POST" | "DELETE") {
        Response::method_not_allowed("GET, HEAD, POST, DELETE")
    } else if req.method != "GET" && !head_only && req.is_cross_origin() {
        Response::text(403, "cross-origin request refused")
    } else {
        handler(&req)
    };
    let _ = write_response(&mut writer, &resp, head_only);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_line_and_query_are_parsed_and_decoded() {
        let raw = b"GET /ui/top?f=main%5C.run&si=alloc+space HTTP/1.1\r\nHost: x\r\n\r\n";
        let req = read_request(&mut &raw[..]).unwrap();
        assert_eq!(req.method, "GET");
        assert_eq!(req.path, "/ui/top");
        assert_eq!(req.param("f"), "main\\.run");
        assert_eq!(req.param("si"), "alloc space");
        assert_eq!(req.param("missing"), "");
    }

    #[test]
    fn form_body_and_origin_are_read() {
        let raw = b"POST /ui/saveconfig?config=a HTTP/1.1\r\nHost: 127.0.0.1:9\r\n\
Origin: http://127.0.0.1:9\r\nContent-Type: application/x-www-form-urlencoded\r\n\
Content-Length: 7\r\n\r\nf=x%2By";
        let req = read_request(&mut &raw[..]).unwrap();
        assert_eq!(req.form, [("f".to_string(), "x+y".to_string())]);
        assert!(!req.is_cross_origin());
        let mut other = req.clone();
        other.origin = Some("http://evil.example".into());
        assert!(other.is_cross_origin());
    }

    #[test]
    fn oversized_or_chunked_bodies_are_refused() {
        let big = format!(
            "POST / HTTP/1.1\r\nContent-Length: {}\r\n\r\n",
            MAX_BODY + 1
        );
        assert!(read_request(&mut big.as_bytes()).is_err());
        let chunked = b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
        assert!(read_request(&mut &chunked[..]).is_err());
    }

    #[test]
    fn truncated_request_is_an_error() {
        let raw = b"GET / HTTP/1.1\r\nHost: x\r\n";
        assert!(read_request(&mut &raw[..]).is_err());
        assert!(read_request(&mut &b"garbage\r\n\r\n"[..]).is_err());
    }

    #[test]
    fn header_values_lose_line_breaks() {
        let resp = Response::redirect(307, "/ui/\r\nSet-Cookie: x".into());
        let mut out = Vec::new();
        write_response(&mut out, &resp, false).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("Location: /ui/Set-Cookie: x\r\n"));
    }

    #[test]
    fn loopback_addresses_are_recognised() {
        assert!(is_loopback("127.0.0.1".parse().unwrap()));
        assert!(is_loopback("127.3.2.1".parse().unwrap()));
        assert!(is_loopback("::1".parse().unwrap()));
        assert!(is_loopback("::ffff:127.0.0.1".parse().unwrap()));
        assert!(!is_loopback("10.0.0.1".parse().unwrap()));
    }
}
