//! Fetching profiles over HTTP, with pprof's URL rules (`host:port/path` means http, a URL
//! without a path asks for Go's CPU profile handler, `-seconds` becomes `?seconds=N`, the
//! timeout follows the duration, `https+insecure://` is https without checking the
//! server's certificate).
//!
//! `-tls_cert`, `-tls_key` and `-tls_ca` apply to every request, profiles and
//! symbols, as pprof's help says they do (`go tool pprof` fetches profiles through a
//! client of its own that leaves them out, and uses them for symbols only).

use std::time::Duration;

use profile::{Error, Profile, Result};

use crate::body_copy::BodyCopy;
use url::Url;

/// The path of Go's CPU profile handler, asked for when a URL has no path.
const CPU_PROFILE_HANDLER: &str = "/debug/pprof/profile";

/// Largest response body accepted, in bytes.
const MAX_BODY: u64 = 4 << 30;

/// The URL to fetch for a source that is not a file, with `seconds` applied, and the
/// timeout to use; `None` when the source is not a URL either.
///
/// `seconds` and `timeout` are the flags' values, -1 when unset.
pub fn adjust_url(source: &str, seconds: i64, timeout: i64) -> Option<(String, Duration)> {
    let mut url = match Url::parse(source) {
        Ok(u) if u.has_host() => u,
        Ok(u) if u.scheme() == "file" => return None,
        // `host:port/path` parses as scheme `host`: put http:// before it.
        Ok(_) => Url::parse(&format!("http://{source}")).ok()?,
        Err(url::ParseError::RelativeUrlWithoutBase) => {
            // A plain path is not a URL, but `127.0.0.1:6060/x` (a colon in the first
            // segment) is a host and port.
            let first = source.split('/').next().unwrap_or("");
            if !first.contains(':') {
                return None;
            }
            Url::parse(&format!("http://{source}")).ok()?
        }
        Err(_) => Url::parse(&format!("http://{source}")).ok()?,
    };
    if !url.has_host() || url.host_str() == Some("") {
        return None;
    }
    // A server named without a path is asked for a CPU profile, Go's handler for it.
    if matches!(url.path(), "" | "/") {
        url.set_path(CPU_PROFILE_HANDLER);
    }
    let mut pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let mut duration = 0i64;
    if seconds > 0 {
        pairs.retain(|(k, _)| k != "seconds");
        pairs.push(("seconds".into(), seconds.to_string()));
        duration = seconds;
    } else if let Some((_, v)) = pairs.iter().find(|(k, _)| k == "seconds") {
        duration = v.parse::<i32>().map(i64::from).unwrap_or(0);
    }
    let timeout = if timeout > 0 {
        Duration::from_secs(timeout as u64)
    } else if duration > 0 {
        Duration::from_millis((duration as u64) * 1500)
    } else {
        Duration::from_secs(60)
    };
    // Go re-encodes the query with its keys sorted.
    pairs.sort_by(|a, b| a.0.cmp(&b.0));
    if pairs.is_empty() {
        url.set_query(None);
    } else {
        url.query_pairs_mut().clear().extend_pairs(pairs);
    }
    if duration > 0 {
        eprintln!("Fetching profile over HTTP from {url}");
        eprintln!("Please wait... ({})", go_duration(duration));
    } else {
        eprintln!("Fetching profile over HTTP from {url}");
    }
    Some((url.to_string(), timeout))
}

/// Formats whole seconds as Go's `time.Duration` prints them (`30s`, `1m30s`, `1h0m0s`).
fn go_duration(seconds: i64) -> String {
    let (h, m, s) = (seconds / 3600, (seconds % 3600) / 60, seconds % 60);
    if h > 0 {
        format!("{h}h{m}m{s}s")
    } else if m > 0 {
        format!("{m}m{s}s")
    } else {
        format!("{s}s")
    }
}

/// The files of pprof's `-tls_cert`, `-tls_key` and `-tls_ca` (empty when not given):
/// a client certificate and its key to present to servers, and the certificate
/// authorities to trust instead of the usual ones.
#[derive(Clone, Debug, Default)]
pub struct TlsFiles {
    /// PEM file of the client certificate (and its chain).
    pub cert: String,
    /// PEM file of the client certificate's private key.
    pub key: String,
    /// PEM file of the certificate authorities to trust.
    pub ca: String,
}

/// A URL scheme pprof reads as https without checking the server's certificate.
const INSECURE_HTTPS: &str = "https+insecure://";

/// An agent for requests to `url` (whose scheme may be `https+insecure`) with `tls`,
/// and the URL to request; fails, worded as pprof, when the TLS files cannot be used.
pub fn agent_for(
    url: &str,
    tls: &TlsFiles,
    timeout: Duration,
) -> std::result::Result<(ureq::Agent, String), String> {
    use ureq::tls::{RootCerts, TlsConfig};
    let (url, insecure) = match url.strip_prefix(INSECURE_HTTPS) {
        Some(rest) => (format!("https://{rest}"), true),
        None => (url.to_string(), false),
    };
    let mut config = TlsConfig::builder().disable_verification(insecure);
    match (tls.cert.is_empty(), tls.key.is_empty()) {
        (false, false) => config = config.client_cert(Some(client_cert(tls)?)),
        (true, false) => {
            return Err("-tls_key is specified, so -tls_cert must also be specified".into())
        }
        (false, true) => {
            return Err("-tls_cert is specified, so -tls_key must also be specified".into())
        }
        (true, true) => {}
    }
    if !tls.ca.is_empty() {
        let pem = std::fs::read(&tls.ca).map_err(|e| {
            format!(
                "could not load CA specified by -tls_ca: open {}: {}",
                tls.ca,
                crate::fetch::os_error(&e)
            )
        })?;
        config = config.root_certs(RootCerts::new_with_certs(&pem_certificates(&pem)));
    }
    let agent = ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .http_status_as_error(false)
        .tls_config(config.build())
        .build()
        .into();
    Ok((agent, url))
}

/// The client certificate and key of `tls` (both given).
fn client_cert(tls: &TlsFiles) -> std::result::Result<ureq::tls::ClientCert, String> {
    use ureq::tls::{ClientCert, PemItem};
    let fail = |why: String| {
        format!("could not load certificate/key pair specified by -tls_cert and -tls_key: {why}")
    };
    let read = |path: &str| {
        std::fs::read(path)
            .map_err(|e| fail(format!("open {path}: {}", crate::fetch::os_error(&e))))
    };
    let certs = pem_certificates(&read(&tls.cert)?);
    if certs.is_empty() {
        return Err(fail(
            "tls: failed to find any PEM data in certificate input".into(),
        ));
    }
    let key = ureq::tls::parse_pem(&read(&tls.key)?)
        .find_map(|item| match item {
            Ok(PemItem::PrivateKey(k)) => Some(k),
            _ => None,
        })
        .ok_or_else(|| fail("tls: failed to find any PEM data in key input".into()))?;
    Ok(ClientCert::new_with_certs(&certs, key))
}

/// The certificates of a PEM file (other blocks, and blocks that do not parse, are
/// passed over, as Go's `AppendCertsFromPEM` passes them over).
fn pem_certificates(pem: &[u8]) -> Vec<ureq::tls::Certificate<'static>> {
    ureq::tls::parse_pem(pem)
        .filter_map(|item| match item {
            Ok(ureq::tls::PemItem::Certificate(c)) => Some(c),
            _ => None,
        })
        .collect()
}

/// Asks for `url`, allowing `timeout` plus five seconds; the response, once its status
/// is 200, and the URL asked for.
fn get(
    url: &str,
    tls: &TlsFiles,
    timeout: Duration,
) -> Result<(ureq::http::Response<ureq::Body>, String)> {
    let (agent, target) = agent_for(url, tls, timeout + Duration::from_secs(5))
        .map_err(|e| Error::new(format!("Get {url:?}: {e}")))?;
    let mut response = agent
        .get(&target)
        .call()
        .map_err(|e| Error::new(format!("Get {target:?}: {}", transport_error(&target, &e))))?;
    let status = response.status();
    if status.as_u16() != 200 {
        let line = format!(
            "{} {}",
            status.as_u16(),
            status.canonical_reason().unwrap_or("")
        );
        let headers = response.headers();
        let from_pprof = headers.contains_key("X-Go-Pprof")
            && headers
                .get("Content-Type")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.contains("text/plain"));
        if from_pprof {
            if let Ok(body) = response
                .body_mut()
                .with_config()
                .limit(1 << 20)
                .read_to_vec()
            {
                return Err(Error::new(format!(
                    "server response: {} - {}",
                    line.trim_end(),
                    String::from_utf8_lossy(&body).trim_end()
                )));
            }
        }
        return Err(Error::new(format!("server response: {}", line.trim_end())));
    }
    Ok((response, target))
}

/// A failure to read the body of the response to `target`, its cause worded as Go's
/// HTTP client words its errors.
fn body_error(target: &str, e: std::io::Error) -> Error {
    // The body reader hands ureq's errors over inside I/O errors.
    let e = if e.get_ref().is_some_and(|inner| inner.is::<ureq::Error>()) {
        match e.into_inner().map(|inner| inner.downcast::<ureq::Error>()) {
            Some(Ok(inner)) => *inner,
            _ => return Error::new(format!("Get {target:?}: reading body")),
        }
    } else {
        ureq::Error::Io(e)
    };
    // The whole request's time ran out while the body was arriving.
    let e = match e {
        ureq::Error::Timeout(_) => ureq::Error::Timeout(ureq::Timeout::RecvBody),
        other => other,
    };
    Error::new(format!(
        "Get {target:?}: reading body: {}",
        transport_error(target, &e)
    ))
}

/// Why a request got no usable response, worded as Go's HTTP client words it.
fn transport_error(url: &str, e: &ureq::Error) -> String {
    let parsed = Url::parse(url).ok();
    let host = parsed
        .as_ref()
        .and_then(|u| u.host_str())
        .unwrap_or("")
        .to_string();
    let port = parsed
        .as_ref()
        .and_then(Url::port_or_known_default)
        .unwrap_or(80);
    match e {
        ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
            format!("dial tcp {host}:{port}: connect: connection refused")
        }
        ureq::Error::Io(io) => match io
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        {
            Some(tls) => tls_error(tls),
            None => crate::fetch::os_error(io),
        },
        ureq::Error::Rustls(tls) => tls_error(tls),
        ureq::Error::Timeout(ureq::Timeout::RecvBody) => {
            "context deadline exceeded (Client.Timeout exceeded while reading body)".into()
        }
        ureq::Error::Timeout(_) => "net/http: timeout awaiting response headers".into(),
        ureq::Error::HostNotFound => format!("dial tcp: lookup {host}: no such host"),
        ureq::Error::Protocol(p) => format!("malformed HTTP response: {p}"),
        other => other.to_string(),
    }
}

/// Why a TLS connection failed, worded as Go's `crypto/tls` and `crypto/x509` word the
/// usual causes.
fn tls_error(e: &rustls::Error) -> String {
    use rustls::{CertificateError as C, OtherError};
    let verify = |why: String| format!("tls: failed to verify certificate: x509: {why}");
    match e {
        rustls::Error::InvalidCertificate(c) => match c {
            C::UnknownIssuer | C::BadSignature => {
                verify("certificate signed by unknown authority".into())
            }
            // A self-signed certificate: its own authority, unknown.
            C::Other(OtherError(other)) if format!("{other:?}").contains("CaUsedAsEndEntity") => {
                verify("certificate signed by unknown authority".into())
            }
            C::Expired
            | C::ExpiredContext { .. }
            | C::NotValidYet
            | C::NotValidYetContext { .. } => {
                verify("certificate has expired or is not yet valid".into())
            }
            C::NotValidForNameContext {
                expected,
                presented,
            } => verify(format!(
                "certificate is valid for {}, not {}",
                presented.join(", "),
                expected.to_str()
            )),
            C::NotValidForName => verify("certificate is not valid for the server's name".into()),
            other => format!("tls: {other:?}"),
        },
        rustls::Error::AlertReceived(alert) => {
            let name = format!("{alert:?}");
            // Go names alerts in words: `CertificateRequired` is "certificate required".
            let mut words = String::new();
            for (i, ch) in name.chars().enumerate() {
                if ch.is_ascii_uppercase() && i > 0 {
                    words.push(' ');
                }
                words.push(ch.to_ascii_lowercase());
            }
            format!("remote error: tls: {words}")
        }
        other => format!("tls: {other}"),
    }
}

/// Fetches and parses a profile from `url`, allowing `timeout` plus five seconds.
///
/// The body is decoded as it arrives, as a file is read (read and inflated on other
/// threads while the rest is still on its way), so that a large profile from a slow
/// server is decoded by the time its last byte comes. A body that path does not read
/// (a legacy format, an error anywhere) is then read to its end and parsed whole, which
/// words any error: every byte received is kept in `copy` for that.
///
/// Returns the profile and, when the body was a gzip stream decoded as it arrived, its
/// copy: the profile as the server wrote it, which saving it can write as it is.
pub fn fetch_profile(
    url: &str,
    tls: &TlsFiles,
    timeout: Duration,
    mut copy: BodyCopy,
) -> Result<(Profile, Option<BodyCopy>)> {
    let (mut response, target) = get(url, tls, timeout)?;
    // As it arrives, a gzipped body may inflate to the default limit (its length, which
    // the server only claims, is not trusted with more); past that, it is parsed whole
    // under the limit for the bytes that came.
    let mut body = response.body_mut().with_config().limit(MAX_BODY).reader();
    let mut failure = None;
    let streamed = profile::parse_stream_with(
        Kept {
            from: &mut body,
            copy: &mut copy,
            failure: &mut failure,
        },
        &profile::ParseOptions {
            max_decompressed: profile::decompression_limit(0),
            ..profile::ParseOptions::default()
        },
    );
    if let Some(p) = streamed {
        let as_sent = (copy.is_gzip() && copy.is_whole()).then_some(copy);
        return Ok((p, as_sent));
    }
    if let Some(e) = failure {
        return Err(body_error(&target, e));
    }
    // Taking the copy fails no write: any error is the body's.
    std::io::copy(&mut body, &mut copy).map_err(|e| body_error(&target, e))?;
    let received = copy.into_bytes().map_err(|e| {
        Error::new(format!(
            "Get {target:?}: keeping the body: {}",
            crate::fetch::os_error(&e)
        ))
    })?;
    let options = profile::ParseOptions {
        max_decompressed: profile::decompression_limit(received.len() as u64),
        ..profile::ParseOptions::default()
    };
    Ok((profile::parse_with(&received, &options)?, None))
}

/// A reader that puts a copy of every byte it passes on in a [`BodyCopy`], and keeps
/// the first error it meets (nothing reads after it): what a body decoded as it
/// arrives needs, to be parsed again whole, or saved as it came.
struct Kept<'a, R> {
    from: R,
    copy: &'a mut BodyCopy,
    failure: &'a mut Option<std::io::Error>,
}

impl<R: std::io::Read> std::io::Read for Kept<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self.from.read(buf) {
            Ok(n) => {
                self.copy.push(&buf[..n]);
                Ok(n)
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => Err(e),
            Err(e) => {
                let kind = e.kind();
                *self.failure = Some(e);
                Err(kind.into())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_port_sources_become_http_urls() {
        let (u, t) = adjust_url("localhost:6060/debug/pprof/heap", -1, -1).unwrap();
        assert_eq!(u, "http://localhost:6060/debug/pprof/heap");
        assert_eq!(t, Duration::from_secs(60));
        let (u, _) = adjust_url("127.0.0.1:6060/debug/pprof/heap", -1, -1).unwrap();
        assert_eq!(u, "http://127.0.0.1:6060/debug/pprof/heap");
    }

    #[test]
    fn seconds_flag_sets_the_query_and_the_timeout() {
        let (u, t) = adjust_url("http://h:1/debug/pprof/profile?a=1", 30, -1).unwrap();
        assert_eq!(u, "http://h:1/debug/pprof/profile?a=1&seconds=30");
        assert_eq!(t, Duration::from_secs(45));
    }

    #[test]
    fn a_server_without_a_path_is_asked_for_a_cpu_profile() {
        for source in ["127.0.0.1:6060", "http://127.0.0.1:6060/", "localhost:6060"] {
            let (u, _) = adjust_url(source, -1, -1).unwrap();
            assert!(u.ends_with(":6060/debug/pprof/profile"), "{source}: {u}");
        }
        let (u, _) = adjust_url("http://h:1/debug/pprof/heap", -1, -1).unwrap();
        assert_eq!(u, "http://h:1/debug/pprof/heap");
    }

    #[test]
    fn plain_paths_are_not_urls() {
        assert!(adjust_url("inputs/missing.pb.gz", -1, -1).is_none());
        assert!(adjust_url("missing", -1, -1).is_none());
    }
}
