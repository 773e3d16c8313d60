//! Turning raw stacks of program counters into a symbolized [`Profile`].
//!
//! Every profiler of this crate records stacks as bare addresses (cheap, and possible in
//! a signal handler). Writing a profile maps them here, once per distinct address: the
//! loaded objects become Mappings (with build ids and file offsets), each address a
//! Location, and the source frames at an address (inlined ones first) its Lines.

use std::collections::HashMap;
use std::ffi::CStr;
use std::time::{SystemTime, UNIX_EPOCH};

use profile::{Function, Label, Line, Location, Mapping, Profile, StrId, ValueType};

/// One executable segment of a loaded object.
#[derive(Clone, Debug)]
pub(crate) struct Module {
    /// First address of the segment.
    pub start: u64,
    /// One past the last address of the segment.
    pub limit: u64,
    /// Offset of the segment's first byte in its file.
    pub file_offset: u64,
    /// Path of the object's file.
    pub filename: String,
    /// Hex GNU build id of the object, or empty.
    pub build_id: String,
    /// Load bias: what was added to the object's link-time addresses.
    pub bias: u64,
}

/// The executable segments of every object loaded in this process, in load order (the
/// main executable first).
pub(crate) fn loaded_modules() -> Vec<Module> {
    crate::heap::without_sampling(|| {
        let mut out: Vec<Module> = Vec::new();
        // SAFETY: the callback only reads the program headers the loader hands it, for
        // the duration of the call, and `data` points to `out`, alive across the call.
        unsafe {
            libc::dl_iterate_phdr(
                Some(collect_module),
                &mut out as *mut Vec<Module> as *mut libc::c_void,
            );
        }
        out
    })
}

unsafe extern "C" fn collect_module(
    info: *mut libc::dl_phdr_info,
    _size: libc::size_t,
    data: *mut libc::c_void,
) -> libc::c_int {
    // SAFETY: the loader passes a valid `info`; `data` is the Vec given above.
    let (info, out) = unsafe { (&*info, &mut *(data as *mut Vec<Module>)) };
    let name = if info.dlpi_name.is_null() {
        String::new()
    } else {
        // SAFETY: a non-null dlpi_name is a NUL-terminated string owned by the loader.
        unsafe { CStr::from_ptr(info.dlpi_name) }
            .to_string_lossy()
            .into_owned()
    };
    let name = if name.is_empty() && out.is_empty() {
        std::fs::read_link("/proc/self/exe")
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default()
    } else {
        name
    };
    if name.is_empty() || name.starts_with("linux-vdso") {
        return 0;
    }
    let headers: &[libc::Elf64_Phdr] = if info.dlpi_phdr.is_null() {
        &[]
    } else {
        // SAFETY: dlpi_phdr points to dlpi_phnum program headers.
        unsafe { std::slice::from_raw_parts(info.dlpi_phdr, info.dlpi_phnum as usize) }
    };
    let base = info.dlpi_addr;
    let mut build_id = String::new();
    for h in headers.iter().filter(|h| h.p_type == libc::PT_NOTE) {
        let start = base.wrapping_add(h.p_vaddr) as *const u8;
        // SAFETY: PT_NOTE segments are mapped with the object and p_filesz long.
        let notes = unsafe { std::slice::from_raw_parts(start, h.p_filesz as usize) };
        if let Some(id) = gnu_build_id(notes) {
            build_id = id;
            break;
        }
    }
    for h in headers {
        if h.p_type != libc::PT_LOAD || h.p_flags & libc::PF_X == 0 {
            continue;
        }
        let page = 4096u64;
        let start = base.wrapping_add(h.p_vaddr);
        let aligned = start & !(page - 1);
        out.push(Module {
            start: aligned,
            limit: start.wrapping_add(h.p_memsz),
            file_offset: h.p_offset.saturating_sub(start - aligned),
            filename: name.clone(),
            build_id: build_id.clone(),
            bias: base,
        });
    }
    0
}

/// The GNU build id in a block of ELF notes, hex encoded.
fn gnu_build_id(mut notes: &[u8]) -> Option<String> {
    const NT_GNU_BUILD_ID: u32 = 3;
    let word = |b: &[u8], at: usize| -> Option<u32> {
        Some(u32::from_ne_bytes(b.get(at..at + 4)?.try_into().ok()?))
    };
    let align4 = |n: usize| (n + 3) & !3;
    while notes.len() >= 12 {
        let namesz = word(notes, 0)? as usize;
        let descsz = word(notes, 4)? as usize;
        let ty = word(notes, 8)?;
        let name_end = 12 + align4(namesz);
        let desc_end = name_end.checked_add(align4(descsz))?;
        let name = notes.get(12..12 + namesz)?;
        let desc = notes.get(name_end..name_end + descsz)?;
        if ty == NT_GNU_BUILD_ID && name == b"GNU\0" {
            return Some(desc.iter().map(|b| format!("{b:02x}")).collect());
        }
        notes = notes.get(desc_end..)?;
    }
    None
}

/// `addr` as `backtrace::resolve` wants it: the resolver takes its argument for a return
/// address and looks up the byte before it, so ask for the byte after `addr`.
fn resolvable(addr: u64) -> *mut libc::c_void {
    addr.wrapping_add(1) as *mut libc::c_void
}

/// The name of the function containing `addr`, with the function's start address.
pub(crate) fn symbol_at(addr: u64) -> Option<(String, u64)> {
    let mut found = None;
    backtrace::resolve(resolvable(addr), |sym| {
        if let Some(name) = sym.name() {
            // The outermost (non-inlined) frame comes last; keep it.
            found = Some((
                format!("{name:#}"),
                sym.addr().map(|a| a as u64).unwrap_or(0),
            ));
        }
    });
    // The resolver gives the symbol's link-time address; relocate it.
    let (name, entry) = found?;
    if entry == 0 || entry > addr {
        return Some((name, entry));
    }
    let bias = loaded_modules()
        .into_iter()
        .find(|m| m.start <= addr && addr < m.limit)
        .map_or(0, |m| m.bias);
    let relocated = entry.wrapping_add(bias);
    Some((name, if relocated <= addr { relocated } else { entry }))
}

/// The source frames at `addr`, innermost (inlined) first: name, mangled name, file, line,
/// column.
pub(crate) fn frames_at(addr: u64) -> Vec<(String, String, String, i64, i64)> {
    let mut frames = Vec::new();
    backtrace::resolve(resolvable(addr), |sym| {
        let (name, system) = match sym.name() {
            Some(n) => (
                format!("{n:#}"),
                String::from_utf8_lossy(n.as_bytes()).into_owned(),
            ),
            None => (String::new(), String::new()),
        };
        let file = sym
            .filename()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default();
        frames.push((
            name,
            system,
            file,
            sym.lineno().map_or(0, i64::from),
            sym.colno().map_or(0, i64::from),
        ));
    });
    frames
}

/// Builds a profile from stacks of addresses, symbolizing each distinct address once.
pub(crate) struct ProfileBuilder {
    profile: Profile,
    modules: Vec<Module>,
    module_mapping: Vec<Option<u32>>,
    locations: HashMap<u64, u32>,
    functions: HashMap<(StrId, StrId), u32>,
    /// Leading frames whose function name starts with one of these are dropped.
    trim_prefixes: &'static [&'static str],
    stack: Vec<u32>,
}

impl ProfileBuilder {
    /// A builder for a profile with the given (type, unit) sample types and period.
    pub fn new(sample_types: &[(&str, &str)], period_type: (&str, &str), period: i64) -> Self {
        let mut p = Profile::new(sample_types.len());
        for &(ty, unit) in sample_types {
            let vt = ValueType {
                ty: p.intern(ty),
                unit: p.intern(unit),
            };
            p.sample_types.push(vt);
        }
        p.period_type = ValueType {
            ty: p.intern(period_type.0),
            unit: p.intern(period_type.1),
        };
        p.period = period;
        p.time_nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as i64);
        let modules = loaded_modules();
        ProfileBuilder {
            module_mapping: vec![None; modules.len()],
            modules,
            profile: p,
            locations: HashMap::new(),
            functions: HashMap::new(),
            trim_prefixes: &[],
            stack: Vec::new(),
        }
    }

    /// Drops, from the leaf end of every stack, frames whose function starts with one of
    /// `prefixes` (the profiler's own frames).
    pub fn trim_leaf_frames(mut self, prefixes: &'static [&'static str]) -> Self {
        self.trim_prefixes = prefixes;
        self
    }

    /// Sets the profile's default sample type.
    pub fn default_sample_type(&mut self, ty: &str) {
        self.profile.default_sample_type = self.profile.intern(ty);
    }

    /// Sets the collection start time and duration.
    pub fn set_time(&mut self, start: SystemTime, duration_nanos: i64) {
        self.profile.time_nanos = start
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as i64);
        self.profile.duration_nanos = duration_nanos;
    }

    /// Interns a string in the profile being built.
    pub fn intern(&mut self, s: &str) -> StrId {
        self.profile.intern(s)
    }

    /// A string label `key=value`.
    pub fn str_label(&mut self, key: &str, value: &str) -> Label {
        Label {
            key: self.intern(key),
            str: self.intern(value),
            ..Label::default()
        }
    }

    /// A numeric label `key=num` with `unit`.
    pub fn num_label(&mut self, key: &str, num: i64, unit: &str) -> Label {
        Label {
            key: self.intern(key),
            num,
            num_unit: self.intern(unit),
            ..Label::default()
        }
    }

    /// Adds a sample. `addrs` are leaf first; `leaf_is_exact` says the first address is
    /// the interrupted instruction itself (a CPU sample) rather than a return address.
    /// Return addresses are recorded as the call instruction (address - 1), as pprof
    /// expects for symbolization. Labels are put in pprof's canonical order.
    pub fn add(&mut self, addrs: &[u64], leaf_is_exact: bool, values: &[i64], labels: &[Label]) {
        let mut stack = std::mem::take(&mut self.stack);
        stack.clear();
        let mut trimming = !self.trim_prefixes.is_empty();
        for (i, &a) in addrs.iter().enumerate() {
            if a == 0 {
                continue;
            }
            let pc = if i == 0 && leaf_is_exact {
                a
            } else {
                a.wrapping_sub(1)
            };
            let loc = self.location(pc);
            if trimming {
                if self.is_trimmed(loc) {
                    continue;
                }
                trimming = false;
            }
            stack.push(loc);
        }
        let mut labels = labels.to_vec();
        let strings = &self.profile.strings;
        labels.sort_by(|a, b| {
            (a.is_numeric(), strings.get(a.key)).cmp(&(b.is_numeric(), strings.get(b.key)))
        });
        self.profile.samples.push(values, &stack, &labels);
        self.stack = stack;
    }

    fn is_trimmed(&self, loc: u32) -> bool {
        let p = &self.profile;
        let Some(location) = p.locations.get(loc as usize) else {
            return false;
        };
        location.lines.iter().all(|l| {
            let name = p.str(p.functions[l.function as usize].name);
            self.trim_prefixes.iter().any(|t| name.starts_with(t))
        }) && !location.lines.is_empty()
    }

    fn location(&mut self, pc: u64) -> u32 {
        if let Some(&i) = self.locations.get(&pc) {
            return i;
        }
        let mapping = self.mapping_of(pc);
        let mut lines = Vec::new();
        for (name, system, file, line, column) in frames_at(pc) {
            if name.is_empty() {
                continue;
            }
            let name = self.profile.intern(&name);
            let file = self.profile.intern(&file);
            let function = match self.functions.get(&(name, file)) {
                Some(&f) => f,
                None => {
                    let system_name = self.profile.intern(&system);
                    let f = self.profile.functions.len() as u32;
                    self.profile.functions.push(Function {
                        id: f as u64 + 1,
                        name,
                        system_name,
                        filename: file,
                        start_line: 0,
                    });
                    self.functions.insert((name, file), f);
                    f
                }
            };
            lines.push(Line {
                function,
                line,
                column,
            });
        }
        let i = self.profile.locations.len() as u32;
        self.profile.locations.push(Location {
            id: i as u64 + 1,
            mapping: mapping.map(profile::MappingIndex::new),
            address: pc,
            lines: lines.into(),
            is_folded: false,
        });
        self.locations.insert(pc, i);
        i
    }

    fn mapping_of(&mut self, pc: u64) -> Option<u32> {
        let m = self
            .modules
            .iter()
            .position(|m| m.start <= pc && pc < m.limit)?;
        if let Some(i) = self.module_mapping[m] {
            return Some(i);
        }
        let module = self.modules[m].clone();
        let filename = self.profile.intern(&module.filename);
        let build_id = self.profile.intern(&module.build_id);
        let i = self.profile.mappings.len() as u32;
        self.profile.mappings.push(Mapping {
            id: i as u64 + 1,
            memory_start: module.start,
            memory_limit: module.limit,
            file_offset: module.file_offset,
            filename,
            build_id,
            has_functions: true,
            has_filenames: true,
            has_line_numbers: true,
            has_inline_frames: true,
        });
        self.module_mapping[m] = Some(i);
        Some(i)
    }

    /// The finished profile.
    pub fn finish(self) -> Profile {
        self.profile
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn main_executable_is_the_first_module_and_has_a_build_id_or_name() {
        let modules = loaded_modules();
        assert!(!modules.is_empty());
        let exe = std::fs::read_link("/proc/self/exe").unwrap();
        assert_eq!(modules[0].filename, exe.to_string_lossy());
        let here =
            main_executable_is_the_first_module_and_has_a_build_id_or_name as *const () as u64;
        assert!(modules[0].start <= here && here < modules[0].limit);
    }

    #[test]
    fn gnu_build_id_is_read_from_a_note() {
        let mut note = Vec::new();
        note.extend_from_slice(&4u32.to_ne_bytes());
        note.extend_from_slice(&3u32.to_ne_bytes());
        note.extend_from_slice(&3u32.to_ne_bytes());
        note.extend_from_slice(b"GNU\0");
        note.extend_from_slice(&[0xab, 0xcd, 0x01, 0]);
        assert_eq!(gnu_build_id(&note).as_deref(), Some("abcd01"));
        assert_eq!(gnu_build_id(&note[..10]), None);
    }

    #[inline(never)]
    fn known_function() -> u64 {
        let mut ip = 0;
        backtrace::trace(|f| {
            ip = f.ip() as u64;
            false
        });
        ip
    }

    #[test]
    fn builder_symbolizes_addresses_into_functions_and_mappings() {
        let mut b = ProfileBuilder::new(&[("samples", "count")], ("samples", "count"), 1);
        let ra = known_function();
        b.add(&[ra], false, &[1], &[]);
        let p = b.finish();
        assert_eq!(p.samples.len(), 1);
        assert_eq!(p.locations.len(), 1);
        assert_eq!(p.mappings.len(), 1);
        let names: Vec<&str> = p.functions.iter().map(|f| p.str(f.name)).collect();
        assert!(
            names.iter().any(|n| n.contains("trace")),
            "functions: {names:?}"
        );
    }
}
