//! Fetching profiles over HTTP.

use std::time::Duration;

use profile::{Error, Profile, Result};

/// The URL to fetch for a source that is not a file, with `seconds` applied, and the
/// timeout to use; `None` when the source is not a URL either.
pub fn adjust_url(source: &str, seconds: i64, timeout: i64) -> Option<(String, Duration)> {
    let _ = (source, seconds, timeout);
    None
}

/// Fetches and parses a profile from `url`.
pub fn fetch_profile(url: &str, timeout: Duration) -> Result<Profile> {
    let _ = timeout;
    Err(Error::new(format!("http fetch: {url}: not supported yet")))
}
