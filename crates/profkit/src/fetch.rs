//! Getting the profiles to analyze: reading files and fetching URLs, merging several
//! sources, and combining them with a base profile (`-base`, `-diff_base`).

use std::thread;

use profile::{Profile, Result};

/// Where profiles come from and how to combine them.
#[derive(Clone, Debug, Default)]
pub struct Sources {
    /// Profile sources (files or URLs), merged.
    pub sources: Vec<String>,
    /// Base profile sources.
    pub bases: Vec<String>,
    /// The bases are for comparison (`-diff_base`) rather than subtraction (`-base`).
    pub diff_base: bool,
    /// Scale the profile to the base's total first.
    pub normalize: bool,
    /// Duration of a profile to collect from a URL, in seconds (-1: unset).
    pub seconds: i64,
    /// Timeout for fetching, in seconds (-1: unset).
    pub timeout: i64,
    /// Ignore the profile's drop_frames and keep_frames.
    pub all_frames: bool,
    /// A comment to add to the profile.
    pub comment: String,
    /// Symbolization mode (`-symbolize`).
    pub symbolize: String,
}

/// Fetches, merges and combines every source as pprof does, returning the profile to
/// report on. Problems with individual sources are printed to stderr.
pub fn fetch_profiles(s: &Sources) -> std::result::Result<Profile, String> {
    let (p, base) = thread::scope(|scope| {
        let base = (!s.bases.is_empty()).then(|| scope.spawn(|| grab_all(&s.bases, s)));
        let p = grab_all(&s.sources, s);
        (p, base.map(|h| h.join().unwrap_or_else(|_| Err("fetching base profiles failed".into()))))
    });
    let mut p = match p {
        Err(e) => return Err(format!("problem fetching source profiles: {e}")),
        Ok(None) => return Err("failed to fetch any source profiles".into()),
        Ok(Some(p)) => p,
    };
    if let Some(base) = base {
        let mut base = match base {
            Err(e) => return Err(format!("problem fetching base profiles: {e},")),
            Ok(None) => return Err("failed to fetch any base profiles".into()),
            Ok(Some(b)) => b,
        };
        if s.diff_base {
            base.set_label("pprof::base", &["true"]);
        }
        if s.normalize {
            p.normalize(&base).map_err(|e| e.to_string())?;
        }
        base.scale(-1.0);
        p = combine(vec![p, base]).map_err(|e| e.to_string())?;
    }
    if s.all_frames {
        p.drop_frames = profile::StrId::EMPTY;
        p.keep_frames = profile::StrId::EMPTY;
    }
    p.remove_uninteresting().map_err(|e| e.to_string())?;
    if !s.comment.is_empty() {
        let c = p.intern(&s.comment);
        p.comments.push(c);
    }
    Ok(p)
}

/// Reads every source (two at a time) and merges those that could be read; prints an
/// error line for each that could not. `Ok(None)` when none could be read.
fn grab_all(sources: &[String], s: &Sources) -> std::result::Result<Option<Profile>, String> {
    let mut results: Vec<Option<Result<Profile>>> = (0..sources.len()).map(|_| None).collect();
    let workers = thread::available_parallelism().map_or(1, |n| n.get()).min(sources.len().max(1));
    thread::scope(|scope| {
        let chunk = sources.len().div_ceil(workers).max(1);
        for (srcs, out) in sources.chunks(chunk).zip(results.chunks_mut(chunk)) {
            scope.spawn(move || {
                for (src, slot) in srcs.iter().zip(out.iter_mut()) {
                    *slot = Some(grab(src, s));
                }
            });
        }
    });
    let mut profiles = Vec::new();
    for (src, r) in sources.iter().zip(results) {
        match r {
            Some(Ok(p)) => profiles.push(p),
            Some(Err(e)) => eprintln!("{src}: {e}"),
            None => {}
        }
    }
    if profiles.is_empty() {
        return Ok(None);
    }
    let fetched = profiles.len();
    let p = combine(profiles).map_err(|e| e.to_string())?;
    if fetched != sources.len() {
        eprintln!("Fetched {fetched} source profiles out of {}", sources.len());
    }
    Ok(Some(p))
}

/// Reads one source: a file if one exists at that path, else a URL.
fn grab(source: &str, s: &Sources) -> Result<Profile> {
    match std::fs::metadata(source) {
        Ok(_) => {
            let data = std::fs::read(source)
                .map_err(|e| profile::Error::new(format!("open {source}: {}", os_error(&e))))?;
            profile::parse(&data)
        }
        Err(stat_error) => match crate::http::adjust_url(source, s.seconds, s.timeout) {
            Some((url, timeout)) => crate::http::fetch_profile(&url, timeout),
            None => Err(profile::Error::new(format!(
                "stat {source}: {}",
                os_error(&stat_error)
            ))),
        },
    }
}

/// An OS error worded as Go words it ("no such file or directory").
pub fn os_error(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => {
            let msg = &s[..i];
            let mut c = msg.chars();
            match c.next() {
                Some(f) => f.to_lowercase().collect::<String>() + c.as_str(),
                None => msg.to_string(),
            }
        }
        None => s,
    }
}

/// Makes sample types compatible, scales units to a common one and merges.
pub fn combine(mut profiles: Vec<Profile>) -> Result<Profile> {
    profile::merge::compatibilize_sample_types(&mut profiles)?;
    report::measurement::scale_profiles(&mut profiles)?;
    if profiles.len() == 1 {
        return Ok(profiles.pop().expect("one profile"));
    }
    profile::merge::merge(profiles)
}
