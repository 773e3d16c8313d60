//! Finding local copies of a profile's binaries: pprof's `$PPROF_BINARY_PATH` search
//! and the explicit binary of the command line.

use std::path::{Path, PathBuf};

use profile::{Location, Mapping, Profile};

use crate::address::ProcessMapping;
use crate::binary::{Binary, DebugSearch};

/// Where [`locate_binaries`] looks, and what the command line overrides.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LocateOptions {
    /// The search path, `:`-separated; `None` reads `$PPROF_BINARY_PATH`, and when that
    /// is unset or empty, `$HOME/pprof/binaries`.
    pub search_path: Option<String>,
    /// The binary named on the command line: it replaces the file of the first
    /// mapping.
    pub exec_name: Option<String>,
    /// A build id for the first mapping, applied only when it has none.
    pub build_id: Option<String>,
}

/// Points each mapping of `p` at a local copy of its binary, as pprof does for each
/// profile it reads, and returns the messages pprof prints.
///
/// For every directory `d` of the search path, candidates are, in order: with a build
/// id `b`, `d/b/<base name>`, every `d/b/*`, `d/<file>/b` (perf's layout) and
/// `d/b[..2]/b[2..].debug`; with a file name, `d/<base name>`, `d/<file>`,
/// `d/<file>.debug`, `d/<dir>/.debug/<base name>.debug` and
/// `d/usr/lib/debug/<dir>/<base name>.debug`. The first candidate that is a readable
/// ELF file with a matching build id becomes the mapping's file; one whose build id
/// differs is skipped with a message. A profile without mappings gets a fake one
/// holding every location. Then the explicit binary and build id of `options` apply
/// to the first mapping.
pub fn locate_binaries(p: &mut Profile, options: &LocateOptions) -> Vec<String> {
    let mut messages = Vec::new();
    let search_path = match &options.search_path {
        Some(s) => s.clone(),
        None => match std::env::var("PPROF_BINARY_PATH") {
            Ok(s) if !s.is_empty() => s,
            _ => {
                let home = std::env::var("HOME").unwrap_or_default();
                profile::gopath::join(&[&home, "pprof", "binaries"])
            }
        },
    };
    let no_debug: [PathBuf; 0] = [];
    let debug = DebugSearch { dirs: &no_debug };
    for mi in 0..p.mappings.len() {
        let m = &p.mappings[mi];
        let file = p.str(m.filename).to_string();
        let build_id = p.str(m.build_id).to_string();
        let pm = ProcessMapping {
            start: m.memory_start,
            limit: m.memory_limit,
            offset: m.file_offset,
        };
        let base_name = if file.is_empty() {
            String::new()
        } else {
            crate::symbolizer::go_base(&file).to_string()
        };
        let dir_name = if file.is_empty() {
            String::new()
        } else {
            profile::gopath::dir(&file)
        };
        let mut found = None;
        'dirs: for dir in search_path.split(':') {
            let mut candidates = Vec::new();
            if !build_id.is_empty() {
                candidates.push(profile::gopath::join(&[dir, &build_id, &base_name]));
                candidates.extend(glob_dir(&profile::gopath::join(&[dir, &build_id])));
                candidates.push(profile::gopath::join(&[dir, &file, &build_id]));
                if build_id.len() >= 2 {
                    candidates.push(profile::gopath::join(&[
                        dir,
                        &build_id[..2],
                        &format!("{}.debug", &build_id[2..]),
                    ]));
                }
            }
            if !file.is_empty() {
                candidates.push(profile::gopath::join(&[dir, &base_name]));
                candidates.push(profile::gopath::join(&[dir, &file]));
                candidates.push(profile::gopath::join(&[dir, &format!("{file}.debug")]));
                candidates.push(profile::gopath::join(&[
                    dir,
                    &dir_name,
                    ".debug",
                    &format!("{base_name}.debug"),
                ]));
                candidates.push(profile::gopath::join(&[
                    dir,
                    "usr",
                    "lib",
                    "debug",
                    &dir_name,
                    &format!("{base_name}.debug"),
                ]));
            }
            for name in candidates {
                let Ok(bin) = Binary::open(Path::new(&name), false, &debug) else {
                    continue;
                };
                let stext = if pm.wants_kernel_offset(&name) {
                    bin.stext
                } else {
                    None
                };
                if crate::address::base(&bin, bin.text_segment.as_ref(), stext, pm).is_err() {
                    continue;
                }
                if !build_id.is_empty() && build_id != bin.build_id {
                    messages.push(format!(
                        "Ignoring local file {name}: build-id mismatch ({build_id} != {})",
                        bin.build_id
                    ));
                    continue;
                }
                found = Some(name);
                break 'dirs;
            }
        }
        if let Some(name) = found {
            let id = p.intern(&name);
            p.mappings[mi].filename = id;
        }
    }
    if p.mappings.is_empty() {
        p.mappings.push(Mapping {
            id: 1,
            ..Mapping::default()
        });
        for l in &mut p.locations {
            let l: &mut Location = l;
            l.mapping = Some(profile::MappingIndex::new(0));
        }
    }
    let exec = options.exec_name.as_deref().unwrap_or("");
    let bid = options.build_id.as_deref().unwrap_or("");
    if !exec.is_empty() || !bid.is_empty() {
        let exec_id = p.intern(exec);
        let bid_id = p.intern(bid);
        let m = &mut p.mappings[0];
        if !exec.is_empty() {
            m.filename = exec_id;
        }
        if !bid.is_empty() && m.build_id.is_empty() {
            m.build_id = bid_id;
        }
    }
    messages
}

/// The entries of directory `dir`, sorted, as Go's `filepath.Glob(dir + "/*")`.
fn glob_dir(dir: &str) -> Vec<String> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut names: Vec<String> = rd
        .filter_map(|e| e.ok())
        .map(|e| profile::gopath::join(&[dir, &e.file_name().to_string_lossy()]))
        .collect();
    names.sort();
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_cleans_like_go() {
        assert_eq!(
            profile::gopath::join(&["/d", "/usr/bin/ls", "abc"]),
            "/d/usr/bin/ls/abc"
        );
        assert_eq!(profile::gopath::join(&["d/", "./x", "..", "y"]), "d/y");
        assert_eq!(profile::gopath::dir("/usr/bin/ls"), "/usr/bin");
        assert_eq!(profile::gopath::dir("ls"), ".");
    }

    #[test]
    fn no_mappings_get_a_fake_one() {
        let mut p = Profile::new(1);
        p.locations.push(Location {
            id: 1,
            address: 0x1000,
            ..Location::default()
        });
        let msgs = locate_binaries(
            &mut p,
            &LocateOptions {
                search_path: Some("/nonexistent".into()),
                exec_name: Some("/bin/true".into()),
                build_id: None,
            },
        );
        assert!(msgs.is_empty());
        assert_eq!(p.mappings.len(), 1);
        assert_eq!(p.locations[0].mapping, Some(profile::MappingIndex::new(0)));
        assert_eq!(p.str(p.mappings[0].filename), "/bin/true");
    }
}
