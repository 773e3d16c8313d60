//! x86-64 disassembly of a binary's code, annotated with function and source line,
//! in the text GNU `objdump --disassemble --demangle --no-show-raw-insn --line-numbers`
//! prints and pprof reads for `-disasm` and `-weblist`; and the symbol table as
//! `nm -n` lists it, for choosing what to disassemble.

use std::path::{Path, PathBuf};

use iced_x86::{
    Decoder, DecoderError, DecoderOptions, FlowControl, Formatter, FormatterOutput,
    FormatterTextKind, GasFormatter, Instruction, IntelFormatter, MemorySizeOptions, OpKind,
};
use object::{Object, ObjectSection, ObjectSymbol, SectionKind, SymbolKind};
use profile::{Error, Result};

use crate::address::ProcessMapping;
use crate::binary::{Binary, DebugSearch};
use crate::demangle::{demangle, DemangleMode};
use crate::frames::Frame;

/// One disassembled instruction, as pprof's report code consumes it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Inst {
    /// Address of the instruction in the binary (not in the process).
    pub addr: u64,
    /// The instruction text as GNU objdump prints it: the mnemonic padded to six
    /// columns, a space, the operands; branch targets read `<addr> <symbol+0x<off>>`
    /// and RIP-relative operands end with `# <addr> <symbol>`.
    pub text: String,
    /// The name of the (innermost inlined) function the instruction belongs to as
    /// pprof reads it from objdump's output (demangled, with pprof's parsing quirks;
    /// "" if unknown).
    pub function: String,
    /// Source file of the instruction, innermost inlined frame ("" if unknown).
    pub file: String,
    /// Source line in `file` (0 if unknown).
    pub line: u32,
    /// Source file of the outermost frame: where the function the code was compiled
    /// in has the inlined call, or `file` when nothing is inlined ("" if unknown).
    pub caller_file: String,
    /// Line in `caller_file` (0 if unknown).
    pub caller_line: u32,
}

/// A symbol of a binary as pprof selects it for disassembly: the names `nm -n` lists
/// at one address, and the address range up to the next symbol.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Sym {
    /// The names shown for the symbol: the one that matched (demangled when the
    /// demangled form matched), or every name at the address when the address did.
    pub names: Vec<String>,
    /// First address of the symbol in the binary.
    pub start: u64,
    /// Last address of the symbol in the binary (included): the next symbol's
    /// address minus one (`u64::MAX` for the last symbol, as pprof computes it).
    pub end: u64,
}

/// Collects formatter output as plain text.
struct Text<'a>(&'a mut String);

impl FormatterOutput for Text<'_> {
    fn write(&mut self, text: &str, _kind: FormatterTextKind) {
        self.0.push_str(text);
    }
}

/// A binary opened for disassembly: its bytes, its symbols and its DWARF.
pub struct ObjectFile {
    path: PathBuf,
    data: Vec<u8>,
    bin: Binary,
    /// Every defined symbol as `nm -n` lists it: by address, then name; with whether
    /// it is global.
    nm: Vec<(u64, String, bool)>,
    /// The symbols objdump labels addresses with: `nm`'s and the PLT entries
    /// (`name@plt`), sorted the same way.
    labels: Vec<(u64, String, bool)>,
}

impl ObjectFile {
    /// Opens the ELF binary at `path`, with its DWARF (from the file or a separate
    /// debug file under `/usr/lib/debug`).
    pub fn open(path: &Path) -> Result<ObjectFile> {
        let dirs = [PathBuf::from("/usr/lib/debug")];
        let bin = Binary::open(path, true, &DebugSearch { dirs: &dirs })?;
        let data = crate::binary::read_file(path)?;
        let (nm, labels) = {
            let file = object::File::parse(&*data)
                .map_err(|e| Error::new(format!("error parsing {}: {e}", path.display())))?;
            let nm = nm_symbols(&file);
            let mut labels = nm.clone();
            labels.extend(plt_symbols(&file));
            labels.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
            (nm, labels)
        };
        Ok(ObjectFile {
            path: path.to_path_buf(),
            data,
            bin,
            nm,
            labels,
        })
    }

    /// The base to subtract from process addresses of the mapping `[start, limit)` at
    /// file `offset` to get addresses in this binary, computed for process address
    /// `addr` as pprof does (the segment holding `addr` decides).
    pub fn base(&self, start: u64, limit: u64, offset: u64, addr: u64) -> Result<u64> {
        let m = ProcessMapping {
            start,
            limit,
            offset,
        };
        let name = self.path.to_string_lossy();
        let stext = if m.wants_kernel_offset(&name) {
            self.bin.stext
        } else {
            None
        };
        if addr < start || addr >= limit {
            return Err(Error::new(format!(
                "specified address {addr:x} is outside the mapping range [{start:x}, {limit:x}] for file {name:?}"
            )));
        }
        let seg = crate::address::segment_for(&self.bin, stext, m, addr).map_err(|e| {
            Error::new(format!(
                "failed to find program header for file {name:?}: {e}"
            ))
        })?;
        crate::address::base(&self.bin, seg.as_ref(), stext, m)
    }

    /// The symbols pprof would disassemble: `nm -n`'s names grouped by address, kept
    /// when `address` (if given) lies in the group's range, or when a name matches
    /// `matches` as it is or demangled (fully, without parameters, or without
    /// parameters and template arguments).
    pub fn symbols(&self, matches: &dyn Fn(&str) -> bool, address: Option<u64>) -> Vec<Sym> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < self.nm.len() {
            let start = self.nm[i].0;
            let mut j = i;
            while j < self.nm.len() && self.nm[j].0 == start {
                j += 1;
            }
            let end = match self.nm.get(j) {
                Some(&(next, _, _)) => next.wrapping_sub(1),
                None => u64::MAX,
            };
            let names: Vec<&str> = self.nm[i..j].iter().map(|(_, n, _)| n.as_str()).collect();
            if let Some(names) = match_symbol(&names, start, end, matches, address) {
                out.push(Sym { names, start, end });
            }
            i = j;
        }
        out
    }

    /// Disassembles the code in `[start, end)` (binary addresses, as pprof passes them
    /// to objdump's `--start-address` and `--stop-address`), in AT&T syntax or, with
    /// `intel`, in Intel syntax.
    ///
    /// Like objdump, it skips runs of zero bytes (leaving them out of the result), and
    /// an instruction cut short by `end` reads as its first prefix's name or as
    /// `.byte 0x..`, one byte at a time.
    pub fn disassemble(&self, start: u64, end: u64, intel: bool) -> Result<Vec<Inst>> {
        let file = object::File::parse(&*self.data)
            .map_err(|e| Error::new(format!("error parsing {}: {e}", self.path.display())))?;
        if file.architecture() != object::Architecture::X86_64 {
            return Err(Error::new(format!(
                "cannot disassemble {}: unsupported architecture {:?}",
                self.path.display(),
                file.architecture()
            )));
        }
        let mut fmt = InstFormatter::new(intel);
        let mut out: Vec<Inst> = Vec::new();
        let mut frames: Vec<Frame> = Vec::new();
        let mut names = NameCache::default();
        for section in file.sections() {
            if section.kind() != SectionKind::Text {
                continue;
            }
            let (s_addr, s_size) = (section.address(), section.size());
            let lo = start.max(s_addr);
            let hi = end.min(s_addr.saturating_add(s_size));
            if lo >= hi {
                continue;
            }
            let Ok(bytes) = section.data() else { continue };
            let from = (lo - s_addr) as usize;
            let to = ((hi - s_addr) as usize).min(bytes.len());
            if from >= to {
                continue;
            }
            let code = &bytes[from..to];
            let mut decoder = Decoder::with_ip(64, code, lo, DecoderOptions::NONE);
            let mut inst = Instruction::default();
            let mut pos = 0usize;
            while pos < code.len() {
                if let Some(skip) = zeros_to_skip(&code[pos..]) {
                    pos += skip;
                    continue;
                }
                let ip = lo + pos as u64;
                if decoder.set_position(pos).is_err() {
                    break;
                }
                decoder.set_ip(ip);
                decoder.decode_out(&mut inst);
                let (text, len) = if decoder.last_error() == DecoderError::NoMoreBytes {
                    (truncated_text(code[pos]), 1)
                } else {
                    let text = fmt.format(&inst, &mut |a| self.describe(a, &mut names));
                    // objdump steps over an undecodable opcode byte by byte.
                    let len = if inst.is_invalid() { 1 } else { inst.len() };
                    (text, len.max(1))
                };
                pos += len;
                self.bin.frames(ip, &mut frames);
                let inner = frames.first();
                let mut function = inner
                    .filter(|f| !f.function.is_empty())
                    .map(|f| pprof_function_name(&f.function, &names.demangled(&f.function)))
                    .unwrap_or_default();
                // objdump prints a file only with a line number.
                let (mut file_name, mut line) = inner
                    .filter(|f| f.line != 0)
                    .map(|f| (f.file.clone(), f.line))
                    .unwrap_or_default();
                // objdump prints where an instruction is from only when it changes,
                // and pprof keeps the last one seen until the next symbol starts.
                let (mut caller_file, mut caller_line) = frames
                    .last()
                    .filter(|f| f.line != 0)
                    .map(|f| (f.file.clone(), f.line))
                    .unwrap_or_default();
                let starts_symbol = self.nm.binary_search_by(|(a, _, _)| a.cmp(&ip)).is_ok();
                if let (Some(prev), false) = (out.last(), starts_symbol) {
                    if function.is_empty() {
                        function.clone_from(&prev.function);
                    }
                    if line == 0 {
                        file_name.clone_from(&prev.file);
                        line = prev.line;
                        caller_file.clone_from(&prev.caller_file);
                        caller_line = prev.caller_line;
                    }
                }
                out.push(Inst {
                    addr: ip,
                    text,
                    function,
                    file: file_name,
                    line,
                    caller_file,
                    caller_line,
                });
            }
        }
        Ok(out)
    }

    /// `<symbol>` or `<symbol+0xoff>` for an address, from the nearest symbol at or
    /// before it, as objdump annotates branch targets and RIP-relative operands.
    fn describe(&self, addr: u64, names: &mut NameCache) -> Option<String> {
        let labels = &self.labels;
        let i = labels.partition_point(|(a, _, _)| *a <= addr);
        let sym_addr = labels.get(i.checked_sub(1)?)?.0;
        let first = labels.partition_point(|(a, _, _)| *a < sym_addr);
        let group = &labels[first..i];
        // objdump labels an address with a global symbol when there is one.
        let name = group
            .iter()
            .find(|(_, _, global)| *global)
            .or_else(|| group.first())
            .map(|(_, n, _)| n)?;
        let sym_addr = &sym_addr;
        let name = names.demangled(name);
        Some(if *sym_addr == addr {
            format!("<{name}>")
        } else {
            format!("<{name}+0x{:x}>", addr - sym_addr)
        })
    }
}

/// The function name pprof reads from the line objdump prints before a function's
/// code: objdump writes a demangled name as is and a plain one with `()`, then a
/// colon; pprof takes the text before a last `():`, or else the text after a run of
/// leading hex digits and one blank (so `demo::f(int)` reads as `mo::f(int)`).
fn pprof_function_name(raw: &str, demangled: &str) -> String {
    let line = if demangled == raw {
        format!("{raw}():")
    } else {
        format!("{demangled}:")
    };
    let line = line.trim();
    let unprefixed = line.strip_prefix(';').unwrap_or(line);
    let unprefixed = strip_one_blank(unprefixed);
    if let Some(i) = unprefixed.rfind("():") {
        let name = &unprefixed[..i];
        if name.starts_with(|c: char| !c.is_whitespace()) {
            return name.to_string();
        }
    }
    let rest = line.trim_start_matches(|c: char| c.is_ascii_hexdigit());
    let rest = strip_one_blank(rest);
    rest.rfind(':')
        .map(|i| rest[..i].to_string())
        .unwrap_or_default()
}

/// `s` without its first character if that is a blank (`\s` in Go's regexps).
fn strip_one_blank(s: &str) -> &str {
    s.strip_prefix([' ', '\t', '\n', '\x0c', '\r']).unwrap_or(s)
}

/// How many zero bytes at the start of `code` objdump skips (printing `...`, which
/// pprof ignores) rather than disassembling: a run of at least 8 (cut to a multiple
/// of 4 unless it reaches the end), or fewer than 3 at the end.
fn zeros_to_skip(code: &[u8]) -> Option<usize> {
    let run = code.iter().take_while(|&&b| b == 0).count();
    let at_end = run == code.len();
    let run = if at_end { run } else { run & !3 };
    (run > 0 && (run >= 8 || (at_end && run < 3))).then_some(run)
}

/// What objdump prints for an instruction cut short by the stop address: the name of
/// its first byte if that is a prefix, else the byte itself.
fn truncated_text(first: u8) -> String {
    let name = match first {
        0x26 => "es",
        0x2e => "cs",
        0x36 => "ss",
        0x3e => "ds",
        0x64 => "fs",
        0x65 => "gs",
        0x66 => "data16",
        0x67 => "addr32",
        0xf0 => "lock",
        0xf2 => "repnz",
        0xf3 => "repz",
        0x40..=0x4f => {
            let bits = [(8, 'W'), (4, 'R'), (2, 'X'), (1, 'B')];
            let mut s = String::from("rex");
            if first & 0xf != 0 {
                s.push('.');
                s.extend(bits.iter().filter(|(b, _)| first & b != 0).map(|(_, c)| c));
            }
            return s;
        }
        _ => return format!(".byte {first:#x}"),
    };
    name.to_string()
}

/// The names to show for a group of symbol names at `[start, end]`, if it is
/// selected (pprof's `matchSymbol`).
fn match_symbol(
    names: &[&str],
    start: u64,
    end: u64,
    matches: &dyn Fn(&str) -> bool,
    address: Option<u64>,
) -> Option<Vec<String>> {
    if let Some(a) = address {
        if a != 0 && a >= start && a <= end {
            return Some(names.iter().map(|n| n.to_string()).collect());
        }
    }
    for name in names {
        if matches(name) {
            return Some(vec![name.to_string()]);
        }
        for mode in [
            DemangleMode::Full,
            DemangleMode::Templates,
            DemangleMode::Simplified,
        ] {
            if let Some(d) = demangle(name, mode) {
                if matches(&d) {
                    return Some(vec![d]);
                }
            }
        }
    }
    None
}

/// Every defined, named symbol of `file` that `nm` lists (no file or section
/// symbols), sorted by address then name; `.dynsym` when there is no `.symtab`.
fn nm_symbols(file: &object::File<'_>) -> Vec<(u64, String, bool)> {
    let mut out = defined_symbols(file.symbols());
    if out.is_empty() {
        out = defined_symbols(file.dynamic_symbols());
    }
    out.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
    out.dedup_by(|a, b| (a.0, &a.1) == (b.0, &b.1));
    out
}

/// The synthetic `name@plt` symbols objdump gives PLT entries: each entry's indirect
/// jump reads a GOT slot, which a dynamic relocation names.
fn plt_symbols(file: &object::File<'_>) -> Vec<(u64, String, bool)> {
    use object::read::ObjectSymbolTable;
    let mut got: std::collections::HashMap<u64, String> = std::collections::HashMap::new();
    if let (Some(relocs), Some(dynsym)) = (file.dynamic_relocations(), file.dynamic_symbol_table())
    {
        for (offset, r) in relocs {
            if let object::RelocationTarget::Symbol(index) = r.target() {
                if let Ok(name) = dynsym
                    .symbol_by_index(index)
                    .and_then(|s| s.name().map(String::from))
                {
                    if !name.is_empty() {
                        got.insert(offset, name);
                    }
                }
            }
        }
    }
    let mut out = Vec::new();
    if got.is_empty() {
        return out;
    }
    for (name, entry) in [(".plt", 16u64), (".plt.sec", 16), (".plt.got", 8)] {
        let Some(section) = file.section_by_name(name) else {
            continue;
        };
        let Ok(bytes) = section.data() else { continue };
        let base = section.address();
        let mut decoder = Decoder::with_ip(64, bytes, base, DecoderOptions::NONE);
        let mut inst = Instruction::default();
        while decoder.can_decode() {
            decoder.decode_out(&mut inst);
            if inst.flow_control() != FlowControl::IndirectBranch
                || !inst.is_ip_rel_memory_operand()
            {
                continue;
            }
            if let Some(target) = got.get(&inst.ip_rel_memory_address()) {
                let start = base + (inst.ip() - base) / entry * entry;
                out.push((start, format!("{target}@plt"), true));
            }
        }
    }
    out
}

/// The defined, named symbols among `syms`, with their addresses.
fn defined_symbols<'d: 'f, 'f>(
    syms: impl Iterator<Item = object::Symbol<'d, 'f>>,
) -> Vec<(u64, String, bool)> {
    syms.filter(|s| {
        !s.is_undefined() && !matches!(s.kind(), SymbolKind::File | SymbolKind::Section)
    })
    .filter_map(|s| match s.name() {
        Ok(name) if !name.is_empty() => Some((s.address(), name.to_string(), s.is_global())),
        _ => None,
    })
    .collect()
}

/// Demangled names, cached: a disassembly asks for the same few names many times.
#[derive(Default)]
struct NameCache(Vec<(String, String)>);

impl NameCache {
    /// The fully demangled form of `name` (itself when it is not mangled).
    fn demangled(&mut self, name: &str) -> String {
        if let Some((_, d)) = self.0.iter().find(|(n, _)| n == name) {
            return d.clone();
        }
        // objdump demangles the name before a `@plt` or `@VERSION` suffix.
        let (base, suffix) = match name.find('@') {
            Some(i) if i > 0 => name.split_at(i),
            _ => (name, ""),
        };
        let d = demangle(base, DemangleMode::Full)
            .map(|d| d + suffix)
            .unwrap_or_else(|| name.to_string());
        if self.0.len() >= 32 {
            self.0.remove(0);
        }
        self.0.push((name.to_string(), d.clone()));
        d
    }
}

/// Formats instructions as GNU objdump does, in one syntax.
struct InstFormatter {
    intel: bool,
    gas: GasFormatter,
    intel_fmt: IntelFormatter,
}

impl InstFormatter {
    fn new(intel: bool) -> InstFormatter {
        let mut gas = GasFormatter::new();
        let o = gas.options_mut();
        o.set_gas_show_mnemonic_size_suffix(false);
        o.set_space_after_operand_separator(false);
        o.set_gas_naked_registers(false);
        o.set_uppercase_hex(false);
        o.set_small_hex_numbers_in_decimal(false);
        o.set_rip_relative_addresses(true);
        o.set_always_show_scale(true);
        o.set_show_zero_displacements(true);
        o.set_branch_leading_zeros(false);
        o.set_show_useless_prefixes(true);
        let mut intel_fmt = IntelFormatter::new();
        let o = intel_fmt.options_mut();
        o.set_space_after_operand_separator(false);
        o.set_uppercase_hex(false);
        o.set_uppercase_keywords(true);
        o.set_small_hex_numbers_in_decimal(false);
        o.set_hex_prefix("0x");
        o.set_hex_suffix("");
        o.set_rip_relative_addresses(true);
        o.set_always_show_scale(true);
        o.set_show_zero_displacements(true);
        o.set_memory_size_options(MemorySizeOptions::Always);
        o.set_branch_leading_zeros(false);
        o.set_show_useless_prefixes(true);
        InstFormatter {
            intel,
            gas,
            intel_fmt,
        }
    }

    /// The text of `inst`: mnemonic padded to six columns and a space, then the
    /// operands; `describe` labels an address with its symbol.
    fn format(
        &mut self,
        inst: &Instruction,
        describe: &mut dyn FnMut(u64) -> Option<String>,
    ) -> String {
        let mut mnemonic = String::new();
        let mut operands = String::new();
        if self.intel {
            self.intel_fmt
                .format_mnemonic(inst, &mut Text(&mut mnemonic));
        } else {
            self.gas.format_mnemonic(inst, &mut Text(&mut mnemonic));
        }
        let target = branch_target(inst);
        if let Some(t) = target {
            operands = format!("{t:x}");
            if let Some(label) = describe(t) {
                operands.push(' ');
                operands.push_str(&label);
            }
        } else if self.intel {
            self.intel_fmt
                .format_all_operands(inst, &mut Text(&mut operands));
        } else {
            self.gas.format_all_operands(inst, &mut Text(&mut operands));
            // Scale shown only with an index register, as objdump does.
            operands = operands.replace(",)", ")");
            if operands.starts_with('*') {
                // Indirect calls and jumps read `call *...`, `jmp *...`.
                if let Some(m) = mnemonic.strip_suffix('q') {
                    if m == "call" || m == "jmp" {
                        mnemonic.truncate(m.len());
                    }
                }
            }
        }
        objdump_operands(inst, self.intel, &mut operands);
        let mut text = mnemonic;
        if !operands.is_empty() {
            while text.len() < 6 {
                text.push(' ');
            }
            text.push(' ');
            text.push_str(&operands);
        }
        if target.is_none() && inst.is_ip_rel_memory_operand() {
            let addr = inst.ip_rel_memory_address();
            text.push_str(&format!("        # {addr:x}"));
            if let Some(label) = describe(addr) {
                text.push(' ');
                text.push_str(&label);
            }
        }
        text
    }
}

/// Adjusts iced's operands where objdump spells them differently: the register
/// operand `imul` repeats, shifts by one without the count in AT&T syntax (`1` in
/// Intel's), and negative RIP-relative displacements as 64-bit numbers in Intel's.
fn objdump_operands(inst: &Instruction, intel: bool, operands: &mut String) {
    let code = format!("{:?}", inst.code());
    if code.starts_with("Imul_r")
        && inst.op_count() == 3
        && inst.op0_kind() == OpKind::Register
        && inst.op1_kind() == OpKind::Register
        && inst.op0_register() == inst.op1_register()
    {
        if let Some((a, b)) = operands.split_once(',') {
            *operands = if intel {
                format!("{a},{a},{b}")
            } else {
                format!("{a},{b},{b}")
            };
        }
        return;
    }
    let shift_by_one = [
        "Rol_", "Ror_", "Rcl_", "Rcr_", "Shl_", "Shr_", "Sal_", "Sar_",
    ]
    .iter()
    .any(|p| code.starts_with(p))
        && code.ends_with("_1");
    if shift_by_one {
        if intel {
            if let Some(rest) = operands.strip_suffix(",0x1") {
                *operands = format!("{rest},1");
            }
        } else if let Some(rest) = operands.strip_prefix("$0x1,") {
            *operands = rest.to_string();
        }
        return;
    }
    if intel && inst.is_ip_rel_memory_operand() {
        if let Some(i) = operands.find("[rip-0x") {
            let digits_at = i + "[rip-0x".len();
            let len = operands[digits_at..]
                .chars()
                .take_while(char::is_ascii_hexdigit)
                .count();
            if let Ok(v) = u64::from_str_radix(&operands[digits_at..digits_at + len], 16) {
                let replaced = format!("[rip+0x{:x}", v.wrapping_neg());
                operands.replace_range(i..digits_at + len, &replaced);
            }
        }
    }
}

/// The target of a direct near branch or call.
fn branch_target(inst: &Instruction) -> Option<u64> {
    match inst.flow_control() {
        FlowControl::UnconditionalBranch
        | FlowControl::ConditionalBranch
        | FlowControl::Call
        | FlowControl::XbeginXabortXend => match inst.op0_kind() {
            OpKind::NearBranch16 | OpKind::NearBranch32 | OpKind::NearBranch64 => {
                Some(inst.near_branch_target())
            }
            _ => None,
        },
        _ => None,
    }
}

/// Disassembles the x86-64 code of `binary` in the address range `[start, end)`
/// (binary addresses), in AT&T syntax or, with `intel`, in Intel syntax; see
/// [`ObjectFile::disassemble`].
pub fn disassemble(binary: &Path, start: u64, end: u64, intel: bool) -> Result<Vec<Inst>> {
    ObjectFile::open(binary)?.disassemble(start, end, intel)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn function_names_read_as_pprof_parses_objdump_lines() {
        assert_eq!(pprof_function_name("work", "work"), "work");
        assert_eq!(
            pprof_function_name("_ZN4demo3runEv", "demo::run()"),
            "demo::run"
        );
        assert_eq!(
            pprof_function_name(
                "_ZN4demo3AccIlE8push_allEi",
                "demo::Acc<long>::push_all(int)"
            ),
            "mo::Acc<long>::push_all(int)"
        );
        assert_eq!(
            pprof_function_name("_Z4mainii", "main(int, int)"),
            "main(int, int)"
        );
    }

    #[test]
    fn objdump_skips_long_and_short_trailing_zero_runs() {
        assert_eq!(zeros_to_skip(&[0, 0]), Some(2));
        assert_eq!(zeros_to_skip(&[0, 0, 0]), None);
        assert_eq!(zeros_to_skip(&[0; 9]), Some(9));
        assert_eq!(zeros_to_skip(&[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]), Some(8));
        assert_eq!(zeros_to_skip(&[0, 0, 0, 0, 0, 0, 0, 1]), None);
        assert_eq!(zeros_to_skip(&[1, 0]), None);
    }

    #[test]
    fn cut_instructions_read_as_prefix_names_or_bytes() {
        assert_eq!(truncated_text(0x66), "data16");
        assert_eq!(truncated_text(0x2e), "cs");
        assert_eq!(truncated_text(0x49), "rex.WB");
        assert_eq!(truncated_text(0x40), "rex");
        assert_eq!(truncated_text(0x0f), ".byte 0xf");
    }

    #[test]
    fn address_selects_every_name_of_its_symbol() {
        let never = |_: &str| false;
        let got = match_symbol(&["a", "b"], 0x10, 0x1f, &never, Some(0x18));
        assert_eq!(got, Some(vec!["a".to_string(), "b".to_string()]));
        assert_eq!(match_symbol(&["a"], 0x10, 0x1f, &never, Some(0x20)), None);
    }

    #[test]
    fn regex_selects_the_first_matching_name_demangled_if_needed() {
        let is_foo = |s: &str| s.starts_with("ns::foo");
        let got = match_symbol(&["bar", "_ZN2ns3fooEi"], 0, 9, &is_foo, None);
        assert_eq!(got, Some(vec!["ns::foo(int)".to_string()]));
        let exact = |s: &str| s == "ns::foo";
        let got = match_symbol(&["_ZN2ns3fooEi"], 0, 9, &exact, None);
        assert_eq!(got, Some(vec!["ns::foo".to_string()]));
    }

    #[test]
    fn mnemonic_is_padded_to_objdump_columns() {
        // 48 83 ec 08: sub $0x8,%rsp; c3: ret; e8 rel32: call.
        let bytes = [0x48, 0x83, 0xec, 0x08, 0xc3, 0xe8, 0x00, 0x00, 0x00, 0x00];
        let mut decoder = Decoder::with_ip(64, &bytes, 0x1000, DecoderOptions::NONE);
        let mut fmt = InstFormatter::new(false);
        let mut label = |a: u64| Some(format!("<f+0x{:x}>", a - 0x1000));
        let texts: Vec<String> = std::iter::from_fn(|| {
            decoder
                .can_decode()
                .then(|| fmt.format(&decoder.decode(), &mut label))
        })
        .collect();
        assert_eq!(texts, ["sub    $0x8,%rsp", "ret", "call   100a <f+0xa>"]);
    }
}
