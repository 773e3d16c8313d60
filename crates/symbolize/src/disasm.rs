//! x86-64 disassembly of a binary's code, annotated with function and source line,
//! as pprof reads it from `llvm-objdump --disassemble --line-numbers` for `-disasm`
//! and `-weblist`.

use std::path::Path;

use iced_x86::{
    Decoder, DecoderOptions, FlowControl, Formatter, FormatterOutput, FormatterTextKind,
    GasFormatter, Instruction, IntelFormatter, OpKind,
};
use object::{Object, ObjectSection, SectionKind};
use profile::{Error, Result};

use crate::binary::{Binary, DebugSearch};
use crate::demangle::{demangle, DemangleMode};

/// One disassembled instruction, as pprof's report code consumes it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Inst {
    /// Address of the instruction in the binary (not in the process).
    pub addr: u64,
    /// The instruction text: mnemonic, a tab, the operands; branch targets read
    /// `0x<addr> <symbol+0x<off>>`.
    pub text: String,
    /// The demangled name of the function the instruction belongs to ("" if unknown).
    pub function: String,
    /// Source file of the instruction, innermost inlined frame ("" if unknown).
    pub file: String,
    /// Source line in `file` (0 if unknown).
    pub line: u32,
}

/// Collects formatter output as plain text.
struct Text<'a>(&'a mut String);

impl FormatterOutput for Text<'_> {
    fn write(&mut self, text: &str, _kind: FormatterTextKind) {
        self.0.push_str(text);
    }
}

/// Disassembles the x86-64 code of `binary` in the address range `[start, end]`
/// (binary addresses, as pprof passes them to objdump's `--start-address` and
/// `--stop-address`), in AT&T syntax or, with `intel`, in Intel syntax.
///
/// Each instruction carries the function its address falls in (from the symbol table,
/// demangled) and the file and line of its innermost source frame (from DWARF).
pub fn disassemble(binary: &Path, start: u64, end: u64, intel: bool) -> Result<Vec<Inst>> {
    let data = crate::binary::read_file(binary)?;
    let file = object::File::parse(&*data)
        .map_err(|e| Error::new(format!("error parsing {}: {e}", binary.display())))?;
    if file.architecture() != object::Architecture::X86_64 {
        return Err(Error::new(format!(
            "cannot disassemble {}: unsupported architecture {:?}",
            binary.display(),
            file.architecture()
        )));
    }
    let dirs = [std::path::PathBuf::from("/usr/lib/debug")];
    let bin = Binary::open(binary, true, &DebugSearch { dirs: &dirs })?;
    let mut gas = GasFormatter::new();
    gas.options_mut().set_gas_show_mnemonic_size_suffix(true);
    gas.options_mut().set_space_after_operand_separator(true);
    gas.options_mut().set_gas_naked_registers(false);
    let mut intel_fmt = IntelFormatter::new();
    intel_fmt
        .options_mut()
        .set_space_after_operand_separator(true);
    intel_fmt
        .options_mut()
        .set_space_between_memory_add_operators(true);
    intel_fmt
        .options_mut()
        .set_memory_size_options(iced_x86::MemorySizeOptions::Always);
    let mut out = Vec::new();
    let mut names: Vec<(u64, String)> = Vec::new();
    for section in file.sections() {
        if section.kind() != SectionKind::Text {
            continue;
        }
        let (s_addr, s_size) = (section.address(), section.size());
        let lo = start.max(s_addr);
        let hi = end.min(s_addr.saturating_add(s_size).saturating_sub(1));
        if lo > hi {
            continue;
        }
        let Ok(bytes) = section.data() else { continue };
        let from = (lo - s_addr) as usize;
        let to = ((hi - s_addr) as usize + 1).min(bytes.len());
        if from >= to {
            continue;
        }
        let mut decoder = Decoder::with_ip(64, &bytes[from..to], lo, DecoderOptions::NONE);
        let mut inst = Instruction::default();
        while decoder.can_decode() {
            decoder.decode_out(&mut inst);
            let mut text = String::new();
            let mnemonic_only =
                format_instruction(&inst, intel, &mut gas, &mut intel_fmt, &mut text);
            if let Some(target) = branch_target(&inst) {
                text = mnemonic_only;
                text.push('\t');
                text.push_str(&format!("0x{target:x}"));
                if let Some(sym) = bin.symbol_at(target) {
                    let name = cached_demangle(&mut names, sym.addr, &sym.name);
                    text.push_str(&format!(" <{name}+0x{:x}>", target - sym.addr));
                }
            }
            let function = bin
                .symbol_at(inst.ip())
                .map(|s| cached_demangle(&mut names, s.addr, &s.name))
                .unwrap_or_default();
            let (file_name, line) = bin
                .dwarf
                .as_ref()
                .and_then(|ctx| ctx.find_location(inst.ip()).ok().flatten())
                .map(|l| (l.file.unwrap_or("").to_string(), l.line.unwrap_or(0)))
                .unwrap_or_default();
            out.push(Inst {
                addr: inst.ip(),
                text,
                function,
                file: file_name,
                line,
            });
        }
    }
    Ok(out)
}

/// Formats `inst` into `text` as mnemonic, tab, operands; returns the mnemonic alone.
fn format_instruction(
    inst: &Instruction,
    intel: bool,
    gas: &mut GasFormatter,
    intel_fmt: &mut IntelFormatter,
    text: &mut String,
) -> String {
    let mut mnemonic = String::new();
    let mut operands = String::new();
    if intel {
        intel_fmt.format_mnemonic(inst, &mut Text(&mut mnemonic));
        intel_fmt.format_all_operands(inst, &mut Text(&mut operands));
    } else {
        gas.format_mnemonic(inst, &mut Text(&mut mnemonic));
        gas.format_all_operands(inst, &mut Text(&mut operands));
    }
    text.push_str(&mnemonic);
    if !operands.is_empty() {
        text.push('\t');
        text.push_str(&operands);
    }
    mnemonic
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

/// The fully demangled name of the symbol at `addr`, cached for the last symbol seen.
fn cached_demangle(cache: &mut Vec<(u64, String)>, addr: u64, name: &str) -> String {
    if let Some((_, n)) = cache.iter().find(|(a, _)| *a == addr) {
        return n.clone();
    }
    let n = demangle(name, DemangleMode::Full).unwrap_or_else(|| name.to_string());
    if cache.len() >= 16 {
        cache.remove(0);
    }
    cache.push((addr, n.clone()));
    n
}
