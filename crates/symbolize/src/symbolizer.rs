//! pprof's local symbolization of a profile: which mappings and locations are
//! symbolized, how functions are created and shared, and what is reported.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use profile::{Function, Line, Profile, Result, StrId};

use crate::address::{self, ProcessMapping};
use crate::binary::{Binary, DebugSearch};
use crate::demangle::{demangle_profile, DemangleMode};
use crate::frames::Frame;

/// What `-symbolize=` asks for, parsed from pprof's syntax
/// `[local|fastlocal|remote|none][:force][:demangle=none|full|templates|default]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SymbolizeOptions {
    /// Symbolize nothing and demangle nothing (`none` or `no`).
    pub none: bool,
    /// Symbolize with local binaries (`local`, `fastlocal` or the default).
    pub local: bool,
    /// Use only the symbol table, for function names only (`fastlocal`).
    pub fast: bool,
    /// Ask the profile's source server (`remote` or the default); see
    /// [`symbolize_with_remote`].
    pub remote: bool,
    /// Symbolize mappings that already have symbols and demangle names again (`force`,
    /// implied by `demangle=`).
    pub force: bool,
    /// How names are demangled.
    pub demangle: DemangleMode,
    /// Directories holding separate debug files (`.build-id/xx/yyyy.debug` and
    /// `.gnu_debuglink` targets); `/usr/lib/debug` by default.
    pub debug_dirs: Vec<PathBuf>,
}

impl Default for SymbolizeOptions {
    fn default() -> Self {
        SymbolizeOptions {
            none: false,
            local: true,
            fast: false,
            remote: true,
            force: false,
            demangle: DemangleMode::Simplified,
            debug_dirs: vec![PathBuf::from("/usr/lib/debug")],
        }
    }
}

impl SymbolizeOptions {
    /// Parses the value of `-symbolize` (case-insensitive, `:`-separated). Unknown
    /// parts are ignored with pprof's two warning lines, returned for stderr.
    pub fn parse(mode: &str) -> (SymbolizeOptions, Vec<String>) {
        let mut o = SymbolizeOptions::default();
        let mut warnings = Vec::new();
        for part in mode.to_lowercase().split(':') {
            match part {
                "" => {}
                "none" | "no" => {
                    o.none = true;
                    return (o, warnings);
                }
                "local" => (o.remote, o.local) = (false, true),
                "fastlocal" => (o.remote, o.local, o.fast) = (false, true, true),
                "remote" => (o.remote, o.local) = (true, false),
                "force" => o.force = true,
                _ => {
                    let d = part.strip_prefix("demangle=").unwrap_or(part);
                    let demangle = match d {
                        "full" => Some(DemangleMode::Full),
                        "none" => Some(DemangleMode::None),
                        "templates" => Some(DemangleMode::Templates),
                        "default" => continue,
                        _ => None,
                    };
                    match demangle {
                        Some(m) => {
                            o.demangle = m;
                            o.force = true;
                        }
                        None => {
                            warnings.push(format!(
                                "ignoring unrecognized symbolization option: {mode}"
                            ));
                            warnings.push("expecting -symbolize=[local|fastlocal|remote|none][:force][:demangle=[none|full|templates|default]".to_string());
                        }
                    }
                }
            }
        }
        (o, warnings)
    }
}

/// What a symbolization did: the messages pprof prints on stderr, in order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// One message per entry, without a trailing newline.
    pub messages: Vec<String>,
    /// Number of locations that were given lines.
    pub symbolized_locations: usize,
}

/// Symbolizes the locations of `p` with local binaries and demangles its function
/// names, as pprof's symbolizer does for `options` (remote symbolization excepted).
///
/// Mappings are symbolized when they have locations, no symbols yet (or `force`), a
/// file name that is not a pseudo-file (`[vdso]`, `//anon`…) or URL, and a readable
/// ELF file whose build id matches. Each symbolized location gets one line per
/// frame, innermost inlined function first; functions are created once per distinct
/// (name, system name, file, start line), with ids following the existing ones. The
/// mapping's `has_*` flags record what was found. Per-mapping failures are reported
/// in [`Report::messages`], not as errors.
pub fn symbolize(p: &mut Profile, options: &SymbolizeOptions) -> Result<Report> {
    symbolize_with_remote(p, options, None)
}

/// The remote side of symbolization: where each mapping came from and the function
/// that POSTs a body to a URL and returns the answer.
pub type Remote<'a> = (
    &'a crate::remote::MappingSources,
    &'a mut dyn FnMut(&str, &str) -> Result<Vec<u8>>,
);

/// Symbolizes `p` as [`symbolize`] does and, when `options` asks for it and `remote`
/// is given, then through the symbol service of each mapping's source (see
/// [`crate::remote_symbolize`]) before demangling, as pprof does. An error of the
/// symbol service ends symbolization with that error.
pub fn symbolize_with_remote(
    p: &mut Profile,
    options: &SymbolizeOptions,
    remote: Option<Remote<'_>>,
) -> Result<Report> {
    let mut report = Report::default();
    if options.none {
        return Ok(report);
    }
    if options.local {
        local_symbolize(p, options, &mut report);
    }
    if options.remote {
        if let Some((sources, post)) = remote {
            crate::remote::remote_symbolize(p, options.force, sources, post)?;
        }
    }
    demangle_profile(p, options.force, options.demangle);
    Ok(report)
}

/// The frames `symbolize` gives each process address of `addrs` when `binary` is
/// mapped at `[start, limit)` from file offset `offset`; with all three 0, `addrs`
/// are addresses in the binary. For tools, tests and benchmarks.
pub fn binary_frames(
    binary: &Path,
    start: u64,
    limit: u64,
    offset: u64,
    addrs: &[u64],
    options: &SymbolizeOptions,
) -> Result<Vec<Vec<Frame>>> {
    let m = ProcessMapping {
        start,
        limit,
        offset,
    };
    let debug = DebugSearch {
        dirs: &options.debug_dirs,
    };
    let bin = Binary::open(binary, !options.fast, &debug)?;
    let mut mapped = MappedBinary::new(Rc::new(bin), m, binary.to_string_lossy().as_ref())?;
    if start == 0 && limit == 0 && offset == 0 {
        mapped.base = Some(Ok(0));
    }
    let mut out = Vec::with_capacity(addrs.len());
    let mut buf = Vec::new();
    for &a in addrs {
        mapped.frames(a, options.fast, &mut buf);
        out.push(buf.clone());
    }
    Ok(out)
}

/// A binary as one mapping of the process sees it; the base is computed from the
/// first address symbolized, as pprof does.
struct MappedBinary {
    bin: Rc<Binary>,
    m: ProcessMapping,
    stext: Option<u64>,
    name: String,
    base: Option<std::result::Result<u64, String>>,
}

impl MappedBinary {
    /// Checks that a base can be computed for the mapping (as pprof does when it
    /// opens a binary).
    fn new(bin: Rc<Binary>, m: ProcessMapping, name: &str) -> Result<MappedBinary> {
        let stext = if m.wants_kernel_offset(name) {
            bin.stext
        } else {
            None
        };
        address::base(&bin, bin.text_segment.as_ref(), stext, m)
            .map_err(|e| profile::Error::new(format!("could not identify base for {name}: {e}")))?;
        Ok(MappedBinary {
            bin,
            m,
            stext,
            name: name.to_string(),
            base: None,
        })
    }

    fn compute_base(&self, addr: u64) -> std::result::Result<u64, String> {
        if addr < self.m.start || addr >= self.m.limit {
            return Err(format!(
                "specified address {addr:x} is outside the mapping range [{:x}, {:x}] for file {:?}",
                self.m.start, self.m.limit, self.name
            ));
        }
        let seg = address::segment_for(&self.bin, self.stext, self.m, addr).map_err(|e| {
            format!(
                "failed to find program header for file {:?}: {e}",
                self.name
            )
        })?;
        address::base(&self.bin, seg.as_ref(), self.stext, self.m).map_err(|e| e.to_string())
    }

    /// The frames at process address `addr`; none when the base cannot be computed.
    fn frames(&mut self, addr: u64, fast: bool, out: &mut Vec<Frame>) {
        out.clear();
        let base = match &self.base {
            Some(b) => b.clone(),
            None => {
                let b = self.compute_base(addr);
                self.base = Some(b.clone());
                b
            }
        };
        let Ok(base) = base else { return };
        let a = addr.wrapping_sub(base);
        if fast {
            out.extend(self.bin.nm_frame(a));
        } else {
            self.bin.frames(a, out);
        }
    }
}

/// Whether pprof considers the mapping of `file` impossible to symbolize.
fn unsymbolizable(file: &str) -> bool {
    let base = Path::new(file)
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    base.starts_with('[')
        || base.starts_with("linux-vdso")
        || file.starts_with("/dev/dri/")
        || file == "//anon"
        || file.is_empty()
        || file.starts_with("/memfd:")
}

fn is_http_url(file: &str) -> bool {
    match file.split_once("://") {
        Some((scheme, _)) => {
            !scheme.is_empty()
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
                && scheme.to_lowercase().contains("http")
        }
        None => false,
    }
}

/// Go's `filepath.Base`.
pub(crate) fn go_base(path: &str) -> &str {
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() {
        return if path.is_empty() { "." } else { "/" };
    }
    match trimmed.rfind('/') {
        Some(i) => &trimmed[i + 1..],
        None => trimmed,
    }
}

#[derive(Hash, PartialEq, Eq)]
struct FunctionKey {
    name: StrId,
    filename: StrId,
    start_line: i64,
}

fn local_symbolize(p: &mut Profile, options: &SymbolizeOptions, report: &mut Report) {
    // Mappings that have symbols already are left alone (unless forced): most
    // profiles' mappings all do, and their locations need not be gathered.
    let wanted: Vec<bool> = p
        .mappings
        .iter()
        .map(|m| options.force || !(m.has_functions || m.has_filenames || m.has_line_numbers))
        .collect();
    if !wanted.contains(&true) {
        return;
    }
    let mut mapping_locs: Vec<Vec<u32>> = vec![Vec::new(); p.mappings.len()];
    for (i, l) in p.locations.iter().enumerate() {
        if let Some(m) = l.mapping.filter(|m| wanted.get(m.index()) == Some(&true)) {
            mapping_locs[m.index()].push(i as u32);
        }
    }
    let debug = DebugSearch {
        dirs: &options.debug_dirs,
    };
    let mut functions: HashMap<FunctionKey, u32> = HashMap::new();
    let mut binaries: HashMap<String, std::result::Result<Rc<Binary>, String>> = HashMap::new();
    let mut missing = false;
    let mut frames = Vec::new();
    for (midx, locs) in mapping_locs.into_iter().enumerate() {
        if locs.is_empty() {
            continue;
        }
        let m = &p.mappings[midx];
        if !options.force && (m.has_functions || m.has_filenames || m.has_line_numbers) {
            continue;
        }
        let file = p.str(m.filename).to_string();
        if file.is_empty() {
            if midx == 0 {
                report
                    .messages
                    .push("Main binary filename not available.".to_string());
                continue;
            }
            missing = true;
            continue;
        }
        if unsymbolizable(&file) {
            continue;
        }
        let build_id = p.str(m.build_id).to_string();
        if build_id.is_empty() && is_http_url(&file) {
            continue;
        }
        let mut name = go_base(&file).to_string();
        if !build_id.is_empty() {
            name.push_str(&format!(" (build ID {build_id})"));
        }
        let pm = ProcessMapping {
            start: m.memory_start,
            limit: m.memory_limit,
            offset: m.file_offset,
        };
        // The DWARF is loaded only once the binary is known to be the profile's (as
        // pprof opens a binary: its segments and build id first).
        let opened = binaries
            .entry(file.clone())
            .or_insert_with(|| {
                Binary::open(Path::new(&file), false, &debug)
                    .map(Rc::new)
                    .map_err(|e| e.to_string())
            })
            .clone()
            .and_then(|bin| MappedBinary::new(bin, pm, &file).map_err(|e| e.to_string()));
        let mut mapped = match opened {
            Ok(b) => b,
            Err(e) => {
                report
                    .messages
                    .push(format!("Local symbolization failed for {name}: {e}"));
                missing = true;
                continue;
            }
        };
        let fid = &mapped.bin.build_id;
        if !build_id.is_empty() && !fid.is_empty() && *fid != build_id {
            report.messages.push(format!(
                "Local symbolization failed for {name}: build ID mismatch"
            ));
            continue;
        }
        if !options.fast {
            if let Err(e) = mapped.bin.load_dwarf(Path::new(&file), &debug) {
                report
                    .messages
                    .push(format!("Local symbolization failed for {name}: {e}"));
                missing = true;
                continue;
            }
        }
        for &li in &locs {
            let addr = p.locations[li as usize].address;
            mapped.frames(addr, options.fast, &mut frames);
            if frames.is_empty() {
                continue;
            }
            let mut lines = Vec::with_capacity(frames.len());
            let mut flags = [false; 3];
            for f in &frames {
                flags[0] |= !f.function.is_empty();
                flags[1] |= !f.file.is_empty();
                flags[2] |= f.line != 0;
                let fname = p.intern(&f.function);
                let filename = p.intern(&f.file);
                let key = FunctionKey {
                    name: fname,
                    filename,
                    start_line: i64::from(f.start_line),
                };
                let next = p.functions.len() as u32;
                let fi = *functions.entry(key).or_insert(next);
                if fi == next {
                    p.functions.push(Function {
                        id: u64::from(next) + 1,
                        name: fname,
                        system_name: fname,
                        filename,
                        start_line: i64::from(f.start_line),
                    });
                }
                lines.push(Line {
                    function: fi,
                    line: i64::from(f.line),
                    column: i64::from(f.column),
                });
            }
            let loc = &mut p.locations[li as usize];
            loc.lines = lines.into();
            loc.is_folded = false;
            let m = &mut p.mappings[midx];
            m.has_functions |= flags[0];
            m.has_filenames |= flags[1];
            m.has_line_numbers |= flags[2];
            m.has_inline_frames = true;
            report.symbolized_locations += 1;
        }
    }
    if missing {
        report.messages.push(
            "Some binary filenames not available. Symbolization may be incomplete.\n\
             Try setting PPROF_BINARY_PATH to the search path for local binaries."
                .to_string(),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_reads_pprof_modes() {
        let (o, w) = SymbolizeOptions::parse("fastlocal:force");
        assert!(o.local && o.fast && o.force && !o.remote && w.is_empty());
        let (o, _) = SymbolizeOptions::parse("demangle=templates");
        assert_eq!(o.demangle, DemangleMode::Templates);
        assert!(o.force && o.local && o.remote);
        let (o, _) = SymbolizeOptions::parse("None");
        assert!(o.none);
        let (_, w) = SymbolizeOptions::parse("bogus");
        assert_eq!(w.len(), 2);
        assert_eq!(w[0], "ignoring unrecognized symbolization option: bogus");
    }

    #[test]
    fn pseudo_files_are_unsymbolizable() {
        assert!(unsymbolizable("[vdso]"));
        assert!(unsymbolizable("//anon"));
        assert!(unsymbolizable("/memfd:x (deleted)"));
        assert!(!unsymbolizable("/usr/lib/libc.so.6"));
        assert!(is_http_url("https://example.com/x"));
        assert!(!is_http_url("/bin/ls"));
    }
}
