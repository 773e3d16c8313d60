//! Getting the profiles to analyze: reading files and fetching URLs, merging several
//! sources, and combining them with a base profile (`-base`, `-diff_base`).

use std::thread;

mod merge_as_read;
use merge_as_read::merge_files_as_read;

use crate::body_copy::BodyCopy;

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
    /// The binary named before the sources, for symbolization.
    pub exec_name: Option<String>,
    /// `-buildid`: the build id to assume for the main binary.
    pub build_id: Option<String>,
    /// The report needs the samples' labels. When it does not, a profile read from a
    /// file leaves them out (keeping the units of numeric labels for pprof's unit
    /// warnings), which saves their memory and time on large profiles.
    pub labels: bool,
    /// With `labels`, the report needs the numeric labels too. When it does not (its
    /// tag filters are regular expressions, which match string labels), a profile read
    /// from a file leaves them out, keeping their units.
    pub numeric_labels: bool,
    /// The report needs the samples' stacks. When it does not (`-tags`), a profile
    /// read from a file leaves them out, which saves most of its memory.
    pub stacks: bool,
    /// With `labels`, the report needs each sample's labels in pprof's canonical
    /// order. When it only sums values by label (`-tags`), a profile read from a file
    /// leaves them in their input order.
    pub ordered_labels: bool,
    /// The TLS files for fetching from servers (`-tls_cert`, `-tls_key`, `-tls_ca`).
    pub tls: crate::http::TlsFiles,
}

/// Fetches, merges and combines every source as pprof does, returning the profile to
/// report on. Problems with individual sources are printed to stderr.
pub fn fetch_profiles(s: &Sources) -> std::result::Result<Profile, String> {
    let (p, base) = thread::scope(|scope| {
        let base = (!s.bases.is_empty()).then(|| scope.spawn(|| grab_all(&s.bases, s)));
        let p = grab_all(&s.sources, s);
        (
            p,
            base.map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err("fetching base profiles failed".into()))
            }),
        )
    });
    let (mut p, mut remote) = match p {
        Err(e) => return Err(format!("problem fetching source profiles: {e}")),
        Ok(None) => return Err("failed to fetch any source profiles".into()),
        Ok(Some(p)) => p,
    };
    if let Some(base) = base {
        let mut base = match base {
            Err(e) => return Err(format!("problem fetching base profiles: {e},")),
            Ok(None) => return Err("failed to fetch any base profiles".into()),
            Ok(Some((b, r))) => {
                join_sources(&mut remote, r);
                b
            }
        };
        forget_bodies(&mut remote);
        if s.diff_base {
            base.set_label("pprof::base", &["true"]);
        }
        if s.normalize {
            p.normalize(&base).map_err(|e| e.to_string())?;
        }
        base.scale(-1.0);
        p = combine(vec![p, base]).map_err(|e| e.to_string())?;
    }
    // Only dropping frames changes the samples after fetching (see `AsSent`): any
    // other step that did would have to forget the body as merging does.
    let as_sent = remote.as_mut().and_then(|r| r.as_sent.take());
    if s.all_frames {
        p.drop_frames = profile::StrId::EMPTY;
        p.keep_frames = profile::StrId::EMPTY;
    }
    let (mut options, warnings) = symbolize::SymbolizeOptions::parse(&s.symbolize);
    if !s.stacks && remote.is_none() {
        // Without stacks no function name is shown or matched: demangling is moot,
        // unless the profile is saved, as pprof saves it, demangled.
        options.demangle = symbolize::DemangleMode::None;
    }
    for w in warnings {
        eprintln!("{w}");
    }
    if !options.none {
        let mut post = |url: &str, body: &str| post_bytes(url, body, &s.tls);
        let with_remote = remote
            .as_ref()
            .map(|r| -> symbolize::Remote<'_> { (&r.sources, &mut post) });
        let report = symbolize::symbolize_with_remote(&mut p, &options, with_remote)
            .map_err(|e| e.to_string())?;
        for m in report.messages {
            eprintln!("{m}");
        }
    }
    p.remove_uninteresting().map_err(|e| e.to_string())?;
    symbolize::unsource_mappings(&mut p);
    if !s.comment.is_empty() {
        let c = p.intern(&s.comment);
        p.comments.push(c);
    }
    if remote.is_some() {
        save_fetched(&p, as_sent.filter(|f| f.is_still(&p)).map(|f| f.body));
    }
    Ok(p)
}

/// A profile fetched over the network as its server sent it: its gzipped body, and a
/// digest of its tables as decoded from it.
struct AsSent {
    body: BodyCopy,
    tables: u64,
    /// Whether it had frames to drop (`drop_frames`), which changes its samples.
    drops_frames: bool,
}

impl AsSent {
    /// `p`, decoded from the gzipped `body`, before anything changes it.
    fn new(body: BodyCopy, p: &Profile) -> AsSent {
        AsSent {
            body,
            tables: tables_digest(p),
            drops_frames: !p.drop_frames.is_empty(),
        }
    }

    /// Whether `p`, this profile once its binaries are located, it is symbolized and
    /// given the options, is still the one the body holds: its samples keep their
    /// frames and its tables are unchanged.
    fn is_still(&self, p: &Profile) -> bool {
        !self.drops_frames && self.tables == tables_digest(p)
    }
}

/// A digest of everything in `p` but its samples and string table (entities refer to
/// strings by id, and strings are only ever added): what symbolizing a profile and the
/// options applied after fetching it may change, apart from dropping frames.
fn tables_digest(p: &Profile) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::hash::DefaultHasher::new();
    (&p.mappings, &p.locations, &p.functions, &p.sample_types).hash(&mut h);
    (p.drop_frames, p.keep_frames, &p.comments).hash(&mut h);
    (p.time_nanos, p.duration_nanos, p.period_type, p.period).hash(&mut h);
    (p.default_sample_type, p.doc_url).hash(&mut h);
    h.finish()
}

/// The directory fetched profiles are saved in: `$PPROF_TMPDIR`, by default `~/pprof`.
fn save_dir() -> String {
    std::env::var("PPROF_TMPDIR")
        .ok()
        .filter(|d| !d.is_empty())
        .unwrap_or_else(|| {
            let home = std::env::var("HOME").unwrap_or_else(|_| ".".into());
            format!("{home}/pprof")
        })
}

/// Saves a profile fetched over the network in [`save_dir`] as
/// `pprof.<binary>.<sample types>.NNN.pb.gz`, as pprof does: the copy of the gzipped
/// `body` the server sent when it is given (the profile unchanged), else the profile
/// encoded.
fn save_fetched(p: &Profile, body: Option<BodyCopy>) {
    let dir = save_dir();
    let mut prefix = String::from("pprof.");
    if let Some(m) = p.mappings.first() {
        let file = p.str(m.filename);
        if !file.is_empty() {
            prefix.push_str(file.rsplit('/').next().unwrap_or(file));
            prefix.push('.');
        }
    }
    for t in &p.sample_types {
        prefix.push_str(p.str(t.ty));
        prefix.push('.');
    }
    let result = std::fs::create_dir_all(&dir)
        .map_err(|e| format!("{dir}: {}", os_error(&e)))
        .and_then(|_| {
            let dir = std::path::Path::new(&dir);
            let saved = match body {
                Some(body) => body.save_in(dir, &prefix, ".pb.gz"),
                None => save_encoded(p, dir, &prefix),
            };
            saved.map_err(|e| format!("writing a profile in {}: {}", dir.display(), os_error(&e)))
        });
    match result {
        Ok(path) => eprintln!("Saved profile in {path}"),
        Err(e) => eprintln!("Could not save profile: {e}"),
    }
}

/// Saves `p` in `dir` as the file `prefixNNN.pb.gz` no file has, compressed into it as
/// it is encoded (the gzipped profile is never held whole); returns its path.
fn save_encoded(p: &Profile, dir: &std::path::Path, prefix: &str) -> std::io::Result<String> {
    let mut new = crate::tempfile::NewFile::create(dir)?;
    let mut out = std::io::BufWriter::with_capacity(1 << 16, new.file());
    profile::proto::write_gzip(p, &mut out).map_err(|e| std::io::Error::other(e.to_string()))?;
    std::io::Write::flush(&mut out)?;
    drop(out);
    new.name(prefix, ".pb.gz")
}

/// What reading and merging sources gives: the merged profile and where its mappings
/// came from, `None` when no source could be read, or the error that stopped the merge.
type Grabbed = std::result::Result<Option<(Profile, Fetched)>, String>;

/// Reads every source (two at a time) and merges those that could be read; prints an
/// error line for each that could not. `Ok(None)` when none could be read.
fn grab_all(sources: &[String], s: &Sources) -> Grabbed {
    let local_files = || sources.iter().all(|src| std::fs::metadata(src).is_ok());
    if sources.len() > 1 && local_files() {
        if let Some(grabbed) = merge_files_as_read(sources, s) {
            return grabbed;
        }
        // Their types differ: merging needs them all at once. Files can be read again.
    }
    grab_all_at_once(sources, s)
}

/// Reads every source (two at a time), then merges those that could be read.
fn grab_all_at_once(sources: &[String], s: &Sources) -> Grabbed {
    let mut results: Vec<Option<Result<(Profile, Fetched)>>> =
        (0..sources.len()).map(|_| None).collect();
    let workers = profile::parallel::cores().min(sources.len().max(1));
    // A profile that is the only one keeps its body for saving (see `AsSent`).
    let alone = sources.len() == 1 && s.bases.is_empty();
    thread::scope(|scope| {
        let chunk = sources.len().div_ceil(workers).max(1);
        for (srcs, out) in sources.chunks(chunk).zip(results.chunks_mut(chunk)) {
            scope.spawn(move || {
                for (src, slot) in srcs.iter().zip(out.iter_mut()) {
                    *slot = Some(grab(src, s, workers > 1, alone));
                }
            });
        }
    });
    let mut profiles = Vec::new();
    let mut remote = None;
    for (src, r) in sources.iter().zip(results) {
        match r {
            Some(Ok((p, r))) => {
                profiles.push(p);
                join_sources(&mut remote, r);
            }
            Some(Err(e)) => eprintln!("{src}: {e}"),
            None => {}
        }
    }
    if profiles.is_empty() {
        return Ok(None);
    }
    if profiles.len() > 1 {
        forget_bodies(&mut remote);
    }
    let fetched = profiles.len();
    let p = combine(profiles).map_err(|e| e.to_string())?;
    if fetched != sources.len() {
        eprintln!("Fetched {fetched} source profiles out of {}", sources.len());
    }
    Ok(Some((p, remote)))
}

/// What came with profiles fetched over the network; `None` when all were read from
/// files.
type Fetched = Option<FromNetwork>;

/// What came with profiles fetched over the network.
struct FromNetwork {
    /// Where their mappings came from, for remote symbolization.
    sources: symbolize::MappingSources,
    /// The one profile of the sources, no base with it, as its server sent it (when
    /// its body was gzip decoded as it came, see [`crate::http::fetch_profile`]).
    as_sent: Option<AsSent>,
}

/// Adds the mapping sources of a profile merged into another.
fn join_sources(into: &mut Fetched, other: Fetched) {
    match (into.as_mut(), other) {
        (Some(a), Some(b)) => a.sources.extend(b.sources),
        (None, b) => *into = b,
        (Some(_), None) => {}
    }
}

/// Forgets the bodies of fetched profiles that were merged: no server sent the merge.
fn forget_bodies(remote: &mut Fetched) {
    if let Some(r) = remote {
        r.as_sent = None;
    }
}

/// POSTs `body` to `url` for remote symbolization, with pprof's error wording.
fn post_bytes(url: &str, body: &str, tls: &crate::http::TlsFiles) -> Result<Vec<u8>> {
    let (agent, target) = crate::http::agent_for(url, tls, std::time::Duration::from_secs(60))
        .map_err(|e| profile::Error::new(format!("http post {url}: {e}")))?;
    let mut response = agent
        .post(&target)
        .content_type("application/octet-stream")
        .send(body.as_bytes())
        .map_err(|e| profile::Error::new(format!("http post {url}: {e}")))?;
    let status = response.status();
    if status.as_u16() != 200 {
        return Err(profile::Error::new(format!(
            "http post {url}: server response: {} {}",
            status.as_u16(),
            status.canonical_reason().unwrap_or("")
        )));
    }
    response
        .body_mut()
        .with_config()
        .limit(1 << 30)
        .read_to_vec()
        .map_err(|e| profile::Error::new(format!("http post {url}: {e}")))
}

/// Reads one source: a file if one exists at that path, else a URL, whose mapping
/// sources are recorded for remote symbolization, and whose body is kept for saving
/// when the profile is `alone` (no other source or base to merge with). A file is read
/// on the caller's thread alone when `one_thread` (as when each core reads a source of
/// its own).
fn grab(source: &str, s: &Sources, one_thread: bool, alone: bool) -> Result<(Profile, Fetched)> {
    match std::fs::metadata(source) {
        Ok(metadata) => {
            let options = profile::ParseOptions {
                keep_labels: s.labels,
                keep_numeric_labels: s.numeric_labels,
                keep_stacks: s.stacks,
                order_labels: s.ordered_labels,
                max_decompressed: profile::decompression_limit(metadata.len()),
                one_thread,
            };
            // profile.proto, gzipped or not, is read (and inflated) on one core and
            // decoded on the other as it arrives (or both on this thread, when each
            // core reads a file of its own); anything else (or any problem) is read
            // whole and parsed as usual. A pipe cannot be read twice: it is read
            // whole first.
            if metadata.is_file() {
                // A file that does not open fails below, with the reason.
                if let Some(p) = profile::parse_stream_file(source.as_ref(), &options) {
                    return Ok((locate_binaries(p, s), None));
                }
            }
            let data = std::fs::read(source).map_err(|e| {
                // A directory opens, as in Go, and fails when read.
                let op = if e.kind() == std::io::ErrorKind::IsADirectory {
                    "read"
                } else {
                    "open"
                };
                profile::Error::new(format!("{op} {source}: {}", os_error(&e)))
            })?;
            Ok((
                locate_binaries(profile::parse_with(&data, &options)?, s),
                None,
            ))
        }
        Err(stat_error) => match crate::http::adjust_url(source, s.seconds, s.timeout) {
            Some((url, timeout)) => {
                // The body of a profile that may be saved as it came is copied to
                // where it would be saved, rather than held in memory.
                let copy = if alone {
                    BodyCopy::in_dir(&save_dir())
                } else {
                    BodyCopy::in_memory()
                };
                let (p, body) = crate::http::fetch_profile(&url, &s.tls, timeout, copy)?;
                let as_sent = body.filter(|_| alone).map(|body| AsSent::new(body, &p));
                let mut p = locate_binaries(p, s);
                let sources = symbolize::MappingSources::collect(&mut p, &url);
                Ok((p, Some(FromNetwork { sources, as_sent })))
            }
            None => Err(profile::Error::new(format!(
                "stat {source}: {}",
                os_error(&stat_error)
            ))),
        },
    }
}

/// Points the profile's mappings at local binaries (and gives a profile without
/// mappings a fake one), as pprof does for every profile it reads.
fn locate_binaries(mut p: Profile, s: &Sources) -> Profile {
    let options = symbolize::LocateOptions {
        search_path: None,
        exec_name: s.exec_name.clone(),
        build_id: s.build_id.clone(),
    };
    for m in symbolize::locate_binaries(&mut p, &options) {
        eprintln!("{m}");
    }
    p
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
    profile::compatibilize_sample_types(&mut profiles)?;
    report::measurement::scale_profiles(&mut profiles)?;
    if profiles.len() == 1 {
        return Ok(profiles.pop().expect("one profile"));
    }
    profile::merge::merge(profiles)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(name: &str) -> String {
        format!(
            "{}/../../testdata/conformance/differential/inputs/{name}",
            env!("CARGO_MANIFEST_DIR")
        )
    }

    fn sources(names: &[&str]) -> (Vec<String>, Sources) {
        let s = Sources {
            labels: true,
            numeric_labels: true,
            stacks: true,
            ordered_labels: true,
            ..Sources::default()
        };
        (names.iter().map(|n| input(n)).collect(), s)
    }

    fn encoded(grabbed: Grabbed) -> Vec<u8> {
        let (p, _) = grabbed.unwrap().unwrap();
        profile::proto::encode(&p)
    }

    #[test]
    fn files_merged_as_read_equal_files_merged_at_once() {
        for names in [
            &["cpu_a.pb.gz", "cpu_b.pb.gz"][..],
            &[
                "heap.pb.gz",
                "heap2.pb.gz",
                "heap.pb.gz",
                "heap_big.pb.gz",
                "heap2.pb.gz",
            ],
            &[
                "cpu_b.pb.gz",
                "cpu.pb.gz",
                "cpu_a.pb.gz",
                "cpu_labels.pb.gz",
            ],
        ] {
            let (files, s) = sources(names);
            let as_read = merge_files_as_read(&files, &s).expect("same types");
            assert_eq!(
                encoded(as_read),
                encoded(grab_all_at_once(&files, &s)),
                "{names:?}"
            );
        }
    }

    #[test]
    fn many_files_merged_as_read_equal_files_merged_at_once() {
        // More files than the readers take ahead of the merge, of several sizes (so
        // that they are read out of turn), some that cannot be read among them.
        let names = ["heap.pb.gz", "heap_big.pb.gz", "heap2.pb.gz"];
        let (mut files, s) = sources(&names);
        files = (0..23).map(|i| files[i * 7 % 3].clone()).collect();
        for at in [4, 11, 12] {
            files[at] = input("no-such-profile.pb.gz");
        }
        let readable: Vec<String> = files
            .iter()
            .filter(|f| !f.contains("no-such"))
            .cloned()
            .collect();
        assert_eq!(
            encoded(merge_files_as_read(&files, &s).unwrap()),
            encoded(grab_all_at_once(&readable, &s))
        );
    }

    #[test]
    fn a_file_of_other_types_late_in_the_list_stops_the_merge_as_read() {
        let (mut files, s) = sources(&["heap.pb.gz"]);
        files = vec![files[0].clone(); 9];
        files.push(input("cpu_a.pb.gz"));
        files.extend(vec![files[0].clone(); 5]);
        assert!(merge_files_as_read(&files, &s).is_none());
    }

    #[test]
    fn files_of_other_types_are_not_merged_as_read() {
        let (files, s) = sources(&["cpu_a.pb.gz", "heap.pb.gz"]);
        assert!(merge_files_as_read(&files, &s).is_none());
    }

    #[test]
    fn files_merged_as_read_skip_the_unreadable_ones() {
        let (mut files, s) = sources(&["cpu_a.pb.gz", "cpu_b.pb.gz"]);
        files.insert(1, input("no-such-profile.pb.gz"));
        let readable = [files[0].clone(), files[2].clone()];
        assert_eq!(
            encoded(merge_files_as_read(&files, &s).unwrap()),
            encoded(grab_all_at_once(&readable, &s))
        );
    }
}
