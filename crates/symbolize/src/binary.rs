//! An opened ELF binary: its load segments, build id, symbol table and DWARF.

use std::path::{Path, PathBuf};
use std::rc::Rc;

use object::{Object, ObjectSection, ObjectSegment, ObjectSymbol, SectionKind, SymbolKind};
use profile::{Error, Result};

/// The DWARF reader used for every binary: sections copied into reference-counted
/// buffers so the context owns its data.
pub(crate) type Reader = gimli::EndianRcSlice<gimli::RunTimeEndian>;

/// The ELF file type, as far as address arithmetic cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ElfType {
    /// `ET_EXEC`: a fixed-address executable.
    Exec,
    /// `ET_DYN`: a shared library or position-independent executable.
    Dyn,
    /// `ET_REL`: a relocatable object such as a kernel module.
    Rel,
    /// Any other type, kept for the error message.
    Other(u16),
}

/// A `PT_LOAD` program header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Segment {
    /// `p_offset`.
    pub offset: u64,
    /// `p_vaddr`.
    pub vaddr: u64,
    /// `p_filesz`.
    pub filesz: u64,
    /// `p_memsz`.
    pub memsz: u64,
    /// `p_align`.
    pub align: u64,
    /// Whether `PF_X` is set.
    pub executable: bool,
}

/// One entry of the symbol table, as a symbolizer uses it.
#[derive(Clone, Debug)]
pub(crate) struct Symbol {
    /// Start address.
    pub addr: u64,
    /// Size in bytes (0 when unknown).
    pub size: u64,
    /// Mangled name.
    pub name: String,
    /// The source file named by the `STT_FILE` symbol before a local symbol.
    pub file: String,
    /// Whether `nm` would list it as a data symbol (types `bBdDrRvVW`).
    pub nm_data: bool,
}

/// A binary opened for symbolization.
pub(crate) struct Binary {
    /// ELF file type.
    pub elf_type: ElfType,
    /// Loadable segments, in file order.
    pub segments: Vec<Segment>,
    /// The `PT_LOAD` segment holding `.text`, if any.
    pub text_segment: Option<Segment>,
    /// Build id as lowercase hex ("" when the binary has none).
    pub build_id: String,
    /// Symbols sorted by address, one per address (the one `llvm-symbolizer` picks).
    pub symbols: Vec<Symbol>,
    /// Symbols with a size, sorted by address then name, as `nm -n --print-size` lists them.
    pub sized_symbols: Vec<Symbol>,
    /// Address of the kernel relocation symbol `_stext`, if the binary has one.
    pub stext: Option<u64>,
    /// The DWARF of the binary or of its separate debug file once loaded (see
    /// [`load_dwarf`](Self::load_dwarf)), `None` inside when it has none, or why it
    /// could not be loaded.
    pub dwarf: std::cell::OnceCell<std::result::Result<Option<addr2line::Context<Reader>>, String>>,
}

/// Where to look for separate debug files.
#[derive(Clone, Debug)]
pub(crate) struct DebugSearch<'a> {
    /// Global debug directories, such as `/usr/lib/debug`.
    pub dirs: &'a [PathBuf],
}

fn parse_error(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::new(format!("error parsing {}: {e}", path.display()))
}

/// Reads the whole file, with pprof's messages for a missing or unreadable file.
pub(crate) fn read_file(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => Error::new(format!(
            "stat {}: no such file or directory",
            path.display()
        )),
        _ => Error::new(format!("error opening {}: {e}", path.display())),
    })
}

impl Binary {
    /// Opens `path` as an ELF binary; `load_dwarf` loads its DWARF, from the file or
    /// from a separate debug file (else [`load_dwarf`](Self::load_dwarf) may, later).
    pub fn open(path: &Path, load_dwarf: bool, debug: &DebugSearch<'_>) -> Result<Binary> {
        let data = read_file(path)?;
        if data.len() < 4 {
            return Err(Error::new(format!(
                "error reading magic number from {}: unexpected EOF",
                path.display()
            )));
        }
        if &data[..4] != b"\x7fELF" {
            return Err(Error::new(format!(
                "unrecognized binary format: {}",
                path.display()
            )));
        }
        let file = object::File::parse(&*data).map_err(|e| {
            Error::new(format!(
                "error reading ELF file {}: {}",
                path.display(),
                parse_error(path, e)
            ))
        })?;
        let elf_type = elf_type(&data);
        let segments: Vec<Segment> = file
            .segments()
            .map(|s| {
                let (offset, filesz) = s.file_range();
                let executable = match s.flags() {
                    object::SegmentFlags::Elf { p_flags } => p_flags & object::elf::PF_X != 0,
                    _ => false,
                };
                Segment {
                    offset,
                    vaddr: s.address(),
                    filesz,
                    memsz: s.size(),
                    align: s.align(),
                    executable,
                }
            })
            .collect();
        let text_segment = file.section_by_name(".text").and_then(|text| {
            let addr = text.address();
            segments
                .iter()
                .find(|p| p.executable && addr >= p.vaddr && addr < p.vaddr.wrapping_add(p.memsz))
                .copied()
        });
        let build_id = match file.build_id() {
            Ok(Some(id)) => hex(id),
            _ => String::new(),
        };
        let (symbols, sized_symbols, stext) = read_symbols(&file);
        let dwarf = std::cell::OnceCell::new();
        if load_dwarf {
            let _ = dwarf.set(Ok(load_dwarf_for(path, &file, &build_id, debug)?));
        }
        Ok(Binary {
            elf_type,
            segments,
            text_segment,
            build_id,
            symbols,
            sized_symbols,
            stext,
            dwarf,
        })
    }

    /// Loads the DWARF of the binary opened from `path`, once (a failure is kept and
    /// given again). The file is read a second time, from the page cache: a binary
    /// left unused (its build id not the profile's, its base not found) costs no
    /// DWARF, and [`open`](Self::open) keeps no copy of the file meanwhile.
    pub fn load_dwarf(&self, path: &Path, debug: &DebugSearch<'_>) -> Result<()> {
        let loaded = self.dwarf.get_or_init(|| {
            let data = read_file(path).map_err(|e| e.to_string())?;
            let file = object::File::parse(&*data).map_err(|e| parse_error(path, e).to_string())?;
            let build_id = match file.build_id() {
                Ok(Some(id)) => hex(id),
                _ => String::new(),
            };
            if build_id != self.build_id {
                return Err(format!("{} changed while it was read", path.display()));
            }
            load_dwarf_for(path, &file, &self.build_id, debug).map_err(|e| e.to_string())
        });
        loaded
            .as_ref()
            .map(|_| ())
            .map_err(|e| Error::new(e.clone()))
    }

    /// The DWARF of the binary, if loaded and present.
    pub fn dwarf(&self) -> Option<&addr2line::Context<Reader>> {
        self.dwarf
            .get()
            .and_then(|d| d.as_ref().ok())
            .and_then(Option::as_ref)
    }

    /// The symbol `llvm-symbolizer` names for `addr`: the last symbol at or before it,
    /// unless `addr` lies past the end of a symbol whose size is known.
    pub fn symbol_at(&self, addr: u64) -> Option<&Symbol> {
        let i = self.symbols.partition_point(|s| s.addr <= addr);
        let s = self.symbols.get(i.checked_sub(1)?)?;
        if s.size != 0 && addr >= s.addr.wrapping_add(s.size) {
            return None;
        }
        Some(s)
    }

    /// The symbol pprof's `nm`-based lookup names for `addr` (`-symbolize=fastlocal`).
    pub fn nm_symbol_at(&self, addr: u64) -> Option<&Symbol> {
        let m = &self.sized_symbols;
        let last = m.last()?;
        if addr < m[0].addr || addr >= last.addr.wrapping_add(last.size) {
            return None;
        }
        // The same bisection as pprof, so that ties between symbols at one address
        // resolve the same way.
        let (mut low, mut high) = (0usize, m.len());
        while low + 1 < high {
            let mid = (low + high) / 2;
            let v = m[mid].addr;
            if addr == v {
                low = mid;
                break;
            } else if addr > v {
                low = mid;
            } else {
                high = mid;
            }
        }
        let s = &m[low];
        if s.nm_data && addr >= s.addr.wrapping_add(s.size) {
            return None;
        }
        Some(s)
    }
}

fn elf_type(data: &[u8]) -> ElfType {
    // e_type is at offset 16; e_ident[EI_DATA] (offset 5) gives the byte order.
    let (Some(&ei_data), Some(bytes)) = (data.get(5), data.get(16..18)) else {
        return ElfType::Other(0);
    };
    let t = if ei_data == 2 {
        u16::from_be_bytes([bytes[0], bytes[1]])
    } else {
        u16::from_le_bytes([bytes[0], bytes[1]])
    };
    match t {
        object::elf::ET_EXEC => ElfType::Exec,
        object::elf::ET_DYN => ElfType::Dyn,
        object::elf::ET_REL => ElfType::Rel,
        t => ElfType::Other(t),
    }
}

/// Lowercase hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// Reads `.symtab` (or `.dynsym` when there is none) into the two lookup tables, and
/// finds `_stext`.
fn read_symbols(file: &object::File<'_>) -> (Vec<Symbol>, Vec<Symbol>, Option<u64>) {
    let mut all = Vec::new();
    let mut sized = Vec::new();
    let mut stext = None;
    let mut current_file = String::new();
    let mut saw_any = false;
    for (pass, iter) in [file.symbols(), file.dynamic_symbols()]
        .into_iter()
        .enumerate()
    {
        if pass == 1 && saw_any {
            break;
        }
        for sym in iter {
            saw_any = true;
            let Ok(name) = sym.name() else { continue };
            if sym.kind() == SymbolKind::File {
                current_file = name.to_string();
                continue;
            }
            if sym.is_undefined() || name.is_empty() {
                continue;
            }
            if name == "_stext" && stext.is_none() {
                stext = Some(sym.address());
            }
            let kind = sym.kind();
            if !matches!(
                kind,
                SymbolKind::Text | SymbolKind::Data | SymbolKind::Unknown
            ) {
                continue;
            }
            let section_kind = sym
                .section_index()
                .and_then(|i| file.section_by_index(i).ok())
                .map(|s| s.kind());
            // nm lists weak symbols as `V`/`W` and others by their section; pprof
            // treats `bBdDrRvVW` as data.
            let nm_data = sym.is_weak() || !matches!(section_kind, Some(SectionKind::Text) | None);
            let s = Symbol {
                addr: sym.address(),
                size: sym.size(),
                name: name.to_string(),
                file: if sym.is_local() {
                    current_file.clone()
                } else {
                    String::new()
                },
                nm_data,
            };
            if s.size > 0 && pass == 0 {
                sized.push(s.clone());
            }
            all.push(s);
        }
    }
    // One symbol per address, as llvm-symbolizer picks it: the largest, then the
    // last in table order.
    let mut indexed: Vec<(usize, Symbol)> = all.into_iter().enumerate().collect();
    indexed.sort_by(|(ia, a), (ib, b)| {
        a.addr
            .cmp(&b.addr)
            .then(b.size.cmp(&a.size))
            .then(ib.cmp(ia))
    });
    indexed.dedup_by(|later, first| later.1.addr == first.1.addr);
    let all: Vec<Symbol> = indexed.into_iter().map(|(_, s)| s).collect();
    sized.sort_by(|a, b| a.addr.cmp(&b.addr).then(a.name.cmp(&b.name)));
    (all, sized, stext)
}

fn has_dwarf(file: &object::File<'_>) -> bool {
    file.section_by_name(".debug_info")
        .or_else(|| file.section_by_name(".zdebug_info"))
        .is_some_and(|s| s.kind() != SectionKind::UninitializedData && s.size() > 0)
}

/// Loads DWARF from `file`, or from its separate debug file when `file` has none.
fn load_dwarf_for(
    path: &Path,
    file: &object::File<'_>,
    build_id: &str,
    debug: &DebugSearch<'_>,
) -> Result<Option<addr2line::Context<Reader>>> {
    if has_dwarf(file) {
        return dwarf_context(path, file).map(Some);
    }
    for candidate in debug_file_candidates(path, file, build_id, debug) {
        let Ok(data) = std::fs::read(&candidate) else {
            continue;
        };
        let Ok(dfile) = object::File::parse(&*data) else {
            continue;
        };
        if !build_id.is_empty() {
            if let Ok(Some(id)) = dfile.build_id() {
                if hex(id) != build_id {
                    continue;
                }
            }
        }
        if has_dwarf(&dfile) {
            return dwarf_context(&candidate, &dfile).map(Some);
        }
    }
    Ok(None)
}

/// Where GDB and binutils look for the separate debug file of `path`: by build id
/// under each debug directory, then by `.gnu_debuglink` next to the binary, in its
/// `.debug` directory and under each debug directory.
fn debug_file_candidates(
    path: &Path,
    file: &object::File<'_>,
    build_id: &str,
    debug: &DebugSearch<'_>,
) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if build_id.len() > 2 {
        for dir in debug.dirs {
            out.push(
                dir.join(".build-id")
                    .join(&build_id[..2])
                    .join(format!("{}.debug", &build_id[2..])),
            );
        }
    }
    if let Ok(Some((name, _crc))) = file.gnu_debuglink() {
        if let Ok(name) = std::str::from_utf8(name) {
            let bin_dir = path.parent().unwrap_or(Path::new(""));
            let abs_dir = std::fs::canonicalize(bin_dir).unwrap_or_else(|_| bin_dir.to_path_buf());
            out.push(bin_dir.join(name));
            out.push(bin_dir.join(".debug").join(name));
            for dir in debug.dirs {
                let rel = abs_dir.strip_prefix("/").unwrap_or(&abs_dir);
                out.push(dir.join(rel).join(name));
            }
        }
    }
    out.retain(|p| p.as_path() != path);
    out
}

fn dwarf_context(path: &Path, file: &object::File<'_>) -> Result<addr2line::Context<Reader>> {
    let endian = if file.is_little_endian() {
        gimli::RunTimeEndian::Little
    } else {
        gimli::RunTimeEndian::Big
    };
    let load = |id: gimli::SectionId| -> std::result::Result<Reader, Error> {
        let data: Rc<[u8]> = match file.section_by_name(id.name()) {
            Some(section) => match section.uncompressed_data() {
                Ok(d) => Rc::from(&*d),
                Err(e) => return Err(parse_error(path, format!("{}: {e}", id.name()))),
            },
            None => Rc::from(&[][..]),
        };
        Ok(gimli::EndianRcSlice::new(data, endian))
    };
    let dwarf = gimli::Dwarf::load(load)?;
    addr2line::Context::from_dwarf(dwarf).map_err(|e| parse_error(path, e))
}
