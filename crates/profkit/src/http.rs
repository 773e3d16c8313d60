//! Fetching profiles over HTTP, with pprof's URL rules (`host:port/path` means http, `-seconds`
//! becomes `?seconds=N`, the timeout follows the duration).

use std::time::Duration;

use profile::{Error, Profile, Result};
use url::Url;

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

/// Fetches the bytes at `url`, allowing `timeout` plus five seconds.
pub fn fetch_bytes(url: &str, timeout: Duration) -> Result<Vec<u8>> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(timeout + Duration::from_secs(5)))
        .http_status_as_error(false)
        .build()
        .into();
    let mut response = agent
        .get(url)
        .call()
        .map_err(|e| Error::new(format!("Get {url:?}: {}", transport_error(url, &e))))?;
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
    response
        .body_mut()
        .with_config()
        .limit(MAX_BODY)
        .read_to_vec()
        .map_err(|e| {
            Error::new(format!(
                "Get {url:?}: reading body: {}",
                transport_error(url, &e)
            ))
        })
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
        ureq::Error::Io(io) => crate::fetch::os_error(io),
        ureq::Error::Timeout(ureq::Timeout::RecvBody) => {
            "context deadline exceeded (Client.Timeout exceeded while reading body)".into()
        }
        ureq::Error::Timeout(_) => "net/http: timeout awaiting response headers".into(),
        ureq::Error::HostNotFound => format!("dial tcp: lookup {host}: no such host"),
        ureq::Error::Protocol(p) => format!("malformed HTTP response: {p}"),
        other => other.to_string(),
    }
}

/// Fetches and parses a profile from `url`.
pub fn fetch_profile(url: &str, timeout: Duration) -> Result<Profile> {
    let data = fetch_bytes(url, timeout)?;
    let options = profile::ParseOptions {
        max_decompressed: profile::decompression_limit(data.len() as u64),
        ..profile::ParseOptions::default()
    };
    profile::parse_with(&data, &options)
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
    fn plain_paths_are_not_urls() {
        assert!(adjust_url("inputs/missing.pb.gz", -1, -1).is_none());
        assert!(adjust_url("missing", -1, -1).is_none());
    }
}
