//! The annotated disassembly (`-disasm`): for every symbol of the profile's binaries
//! whose name matches the symbol regex (or whose range holds the address the regex
//! spells) and that has samples, its instructions with their flat and cumulative
//! values and where in the source each comes from.
//!
//! The report reads no binary itself: the driver hands it an [`ObjTool`] that lists a
//! binary's symbols, maps process addresses into the binary and disassembles.

use std::collections::HashSet;
use std::io::Write;

use profile::{Error, Result};

use crate::graph::{Graph, NodeId};
use crate::measurement;
use crate::report::Report;
use profile::gopath::base_name;

/// One machine instruction of a binary, with where in the source it comes from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Inst {
    /// Address in the binary.
    pub addr: u64,
    /// The instruction as a disassembler prints it.
    pub text: String,
    /// Function the instruction belongs to (innermost inlined one), "" if unknown.
    pub function: String,
    /// Source file of the innermost frame, "" if unknown.
    pub file: String,
    /// Line in `file`, 0 if unknown.
    pub line: u32,
    /// Source file of the outermost frame (the function the code was compiled in).
    pub caller_file: String,
    /// Line in `caller_file`, 0 if unknown.
    pub caller_line: u32,
}

/// A symbol of a binary selected for disassembly.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BinarySymbol {
    /// Names of the symbol; the first is shown, the others are listed as aliases.
    pub names: Vec<String>,
    /// First address in the binary.
    pub start: u64,
    /// Last address in the binary (included).
    pub end: u64,
}

/// A mapping of a binary in the profiled process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MappedFile<'a> {
    /// Path of the binary.
    pub file: &'a str,
    /// Start address of the mapping.
    pub start: u64,
    /// End address of the mapping (exclusive).
    pub limit: u64,
    /// File offset of the mapping's start.
    pub offset: u64,
}

/// Access to the binaries of a profile, as reports showing machine code need it.
pub trait ObjTool {
    /// The symbols of the binary of `mapping` that a name matching `matches` (as it is
    /// or demangled) or, given an `address`, the symbol's range selects.
    fn symbols(
        &self,
        mapping: &MappedFile<'_>,
        matches: &dyn Fn(&str) -> bool,
        address: Option<u64>,
    ) -> Result<Vec<BinarySymbol>>;

    /// The base to subtract from process address `addr` of `mapping` to get an
    /// address in the binary.
    fn base(&self, mapping: &MappedFile<'_>, addr: u64) -> Result<u64>;

    /// The instructions of `file` in `[start, end]` (binary addresses).
    fn disassemble(&self, file: &str, start: u64, end: u64, intel: bool) -> Result<Vec<Inst>>;
}

/// Parses the symbol regex as an address the way Go's `strconv.ParseUint(s, 0, 64)`
/// reads it (`0x` hex, `0o`/leading-0 octal, `0b` binary, else decimal).
pub(crate) fn parse_address(s: &str) -> Option<u64> {
    let s = s.replace('_', "");
    let (digits, radix) = if let Some(h) = s.strip_prefix("0x").or(s.strip_prefix("0X")) {
        (h, 16)
    } else if let Some(b) = s.strip_prefix("0b").or(s.strip_prefix("0B")) {
        (b, 2)
    } else if let Some(o) = s.strip_prefix("0o").or(s.strip_prefix("0O")) {
        (o, 8)
    } else if s.len() > 1 && s.starts_with('0') {
        (&s[1..], 8)
    } else {
        (s.as_str(), 10)
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    u64::from_str_radix(digits, radix).ok()
}

/// A selected symbol, the binary it is in, and its nodes.
pub(crate) struct SymbolNodes<'a> {
    /// The symbol.
    pub sym: BinarySymbol,
    /// Its binary's mapping.
    pub mapping: MappedFile<'a>,
    /// Base from process addresses to binary addresses.
    pub base: u64,
    /// Graph nodes whose address falls in the symbol.
    pub nodes: Vec<NodeId>,
}

/// The symbols [`symbols_with_nodes`] selects.
pub(crate) struct SelectedSymbols<'a> {
    /// How many symbols matched, with samples or not.
    pub found: usize,
    /// The matching symbols with samples, and their nodes.
    pub symbols: Vec<SymbolNodes<'a>>,
    /// Why each binary that could not be read was passed over.
    pub unreadable: Vec<String>,
}

/// Selects the symbols to show and the graph nodes of each (pprof's
/// `symbolsFromBinaries` and `nodesPerSymbol`). Nodes are matched to the symbols of
/// the binary of their own mapping; binaries that cannot be read are passed over.
/// `symbol_matches` selects symbols by name; the report's regex selects binaries.
pub(crate) fn symbols_with_nodes<'a>(
    rpt: &'a Report<'_>,
    g: &Graph,
    obj: &dyn ObjTool,
    address: Option<u64>,
    symbol_matches: &dyn Fn(&str) -> bool,
) -> SelectedSymbols<'a> {
    let prof = rpt.prof;
    let rx = rpt.options.symbol.as_ref();
    let matches = |s: &str| rx.is_none_or(|re| re.is_match(s));
    // Binaries with samples, and those with samples of a matching name.
    let mut sampled_files: HashSet<&str> = HashSet::new();
    let mut matched_files: HashSet<&str> = HashSet::new();
    for &n in &g.nodes {
        let info = &g.node(n).info;
        if info.objfile.is_empty() {
            continue;
        }
        sampled_files.insert(info.objfile.as_str());
        if matches(&info.printable_name()) {
            matched_files.insert(info.objfile.as_str());
        }
    }
    let mut found = 0;
    let mut out = Vec::new();
    let mut unreadable = Vec::new();
    for m in &prof.mappings {
        let file = prof.str(m.filename);
        // An address may also be one in the binary: look in every binary with samples.
        let has_samples =
            address.is_some() && g.nodes.iter().any(|&n| g.node(n).info.objfile == file);
        if !matched_files.contains(&file)
            && !has_samples
            && address.is_none_or(|a| m.memory_start > a || a > m.memory_limit)
        {
            continue;
        }
        let mapping = MappedFile {
            file,
            start: m.memory_start,
            limit: m.memory_limit,
            offset: m.file_offset,
        };
        // The nodes of this mapping, and the base computed from the first of them.
        let in_mapping: Vec<NodeId> = g
            .nodes
            .iter()
            .copied()
            .filter(|&n| {
                let info = &g.node(n).info;
                info.objfile == file
                    && info.address >= m.memory_start
                    && info.address < m.memory_limit
            })
            .collect();
        let base = match in_mapping.first() {
            Some(&n) => obj.base(&mapping, g.node(n).info.address).ok(),
            None => None,
        };
        // An address in the mapping is a process address: find it in the binary.
        let in_binary = address.map(|a| {
            if a >= m.memory_start && a < m.memory_limit {
                base.or_else(|| obj.base(&mapping, a).ok())
                    .map_or(a, |b| a.wrapping_sub(b))
            } else {
                a
            }
        });
        let syms = match obj.symbols(&mapping, symbol_matches, in_binary) {
            Ok(s) => s,
            Err(e) => {
                unreadable.push(e.to_string());
                continue;
            }
        };
        found += syms.len();
        for sym in syms {
            let nodes: Vec<NodeId> = match base {
                Some(base) => in_mapping
                    .iter()
                    .copied()
                    .filter(|&n| {
                        let a = g.node(n).info.address.wrapping_sub(base);
                        // pprof leaves out the symbol's last byte (the
                        // disassembly stops before it too).
                        a >= sym.start && a < sym.end
                    })
                    .collect(),
                None => Vec::new(),
            };
            if !nodes.is_empty() {
                out.push(SymbolNodes {
                    sym,
                    mapping,
                    base: base.unwrap_or(0),
                    nodes,
                });
            }
        }
    }
    SelectedSymbols {
        found,
        symbols: out,
        unreadable,
    }
}

/// The error when no symbol with samples was selected.
pub(crate) fn no_match_error(rpt: &Report<'_>, address: Option<u64>, found: usize) -> Error {
    let pattern = rpt.options.symbol.as_ref().map_or("", |re| re.as_str());
    match address {
        None => Error::new(format!("no matches found for regexp {pattern}")),
        Some(a) if found == 0 => Error::new(format!("no matches found for address 0x{a:x}")),
        Some(a) => Error::new(format!(
            "address 0x{a:x} found in binary, but the corresponding symbols do not have samples in the profile"
        )),
    }
}

/// An instruction with the values of the samples at it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct AnnotatedInst {
    /// The instruction.
    pub inst: Inst,
    /// Flat value (divided for mean reports).
    pub flat: i64,
    /// Cumulative value (divided for mean reports).
    pub cum: i64,
}

/// Gives each instruction the samples at addresses from it up to the next instruction
/// (pprof's `annotateAssembly`); a sample's function, file and line fill in what the
/// disassembly lacks. File names are reduced to their base name.
pub(crate) fn annotate(
    insts: Vec<Inst>,
    g: &Graph,
    nodes: &[NodeId],
    base: u64,
) -> Vec<AnnotatedInst> {
    let mut sorted = nodes.to_vec();
    // pprof sorts by address; nodes at one address are rare (one node per address at
    // this granularity), the name keeps their order stable.
    sorted.sort_by(|&a, &b| {
        let (a, b) = (&g.node(a).info, &g.node(b).info);
        a.address.cmp(&b.address).then_with(|| a.name.cmp(&b.name))
    });
    let mut s = 0;
    let mut out = Vec::with_capacity(insts.len());
    let addrs: Vec<u64> = insts.iter().map(|i| i.addr).collect();
    for (ix, mut inst) in insts.into_iter().enumerate() {
        let next = addrs.get(ix + 1).copied().unwrap_or(u64::MAX);
        if !inst.file.is_empty() {
            inst.file = base_name(&inst.file).to_string();
        }
        let (mut flat, mut flat_div, mut cum, mut cum_div) = (0i64, 0i64, 0i64, 0i64);
        while let Some(&n) = sorted.get(s) {
            let node = g.node(n);
            if node.info.address.wrapping_sub(base) >= next {
                break;
            }
            flat = flat.wrapping_add(node.flat);
            flat_div = flat_div.wrapping_add(node.flat_div);
            cum = cum.wrapping_add(node.cum);
            cum_div = cum_div.wrapping_add(node.cum_div);
            if inst.file.is_empty() && !node.info.file.is_empty() {
                inst.file = base_name(&node.info.file).to_string();
            }
            if inst.line == 0 && node.info.lineno != 0 {
                inst.line = node.info.lineno as u32;
            }
            if inst.function.is_empty() && !node.info.name.is_empty() {
                inst.function.clone_from(&node.info.name);
            }
            s += 1;
        }
        let div = |v: i64, d: i64| if d != 0 { v / d } else { v };
        out.push(AnnotatedInst {
            inst,
            flat: div(flat, flat_div),
            cum: div(cum, cum_div),
        });
    }
    out
}

/// Writes the annotated disassembly of every selected symbol with samples, sorted by
/// name then address (pprof's `PrintAssembly`).
pub fn print_assembly(w: &mut dyn Write, rpt: &Report<'_>, obj: &dyn ObjTool) -> Result<()> {
    let o = &rpt.options;
    let g = rpt.new_graph(None);
    let address = o.symbol.as_ref().and_then(|re| parse_address(re.as_str()));
    let io = crate::write_error;
    let rx = o.symbol.as_ref();
    let matches = |s: &str| rx.is_none_or(|re| re.is_match(s));
    let selected = symbols_with_nodes(rpt, &g, obj, address, &matches);
    // pprof prints why a binary could not be read on standard output as it meets it,
    // ahead of the report (which it renders whole before printing).
    for e in &selected.unreadable {
        println!("{e}");
    }
    let mut syms = selected.symbols;
    // By name then address; with a limit, the largest flat values first. The keys are
    // worked out once per symbol.
    let name = |s: &SymbolNodes<'_>| s.sym.names.first().cloned().unwrap_or_default();
    match o.max_functions {
        None => syms.sort_by_cached_key(|s| (name(s), s.sym.start)),
        Some(max) => {
            let flat = |s: &SymbolNodes<'_>| sums(&g, &s.nodes).0;
            syms.sort_by_cached_key(|s| (std::cmp::Reverse(flat(s)), name(s), s.sym.start));
            syms.truncate(max);
        }
    }
    if syms.is_empty() {
        return Err(no_match_error(rpt, address, selected.found));
    }
    writeln!(w, "Total: {}", rpt.format_value(rpt.total)).map_err(io)?;
    let dot = |v: i64| {
        if v == 0 {
            ".".to_string()
        } else {
            rpt.format_value(v)
        }
    };
    for s in &syms {
        let (flat_sum, cum_sum) = sums(&g, &s.nodes);
        let insts = obj.disassemble(s.mapping.file, s.sym.start, s.sym.end, o.intel_syntax)?;
        let annotated = annotate(insts, &g, &s.nodes, s.base);
        let mut names = s.sym.names.iter();
        writeln!(
            w,
            "ROUTINE ======================== {}",
            names.next().map_or("", String::as_str)
        )
        .map_err(io)?;
        for alias in names {
            writeln!(w, "    AKA ======================== {alias}").map_err(io)?;
        }
        writeln!(
            w,
            "{:>10} {:>10} (flat, cum) {} of Total",
            rpt.format_value(flat_sum),
            rpt.format_value(cum_sum),
            measurement::percentage(cum_sum, rpt.total)
        )
        .map_err(io)?;
        let mut last: (&str, &str, u32) = ("", "", 0);
        for a in &annotated {
            let i = &a.inst;
            let mut loc = String::new();
            if (i.function.as_str(), i.file.as_str(), i.line) != last {
                last = (&i.function, &i.file, i.line);
                if !i.function.is_empty() {
                    loc.push_str(&i.function);
                    loc.push(' ');
                }
                if !i.file.is_empty() {
                    loc.push_str(&i.file);
                    if i.line != 0 {
                        loc.push_str(&format!(":{}", i.line));
                    }
                }
            }
            let (flat, cum) = (dot(a.flat), dot(a.cum));
            if loc.is_empty() {
                writeln!(w, "{flat:>10} {cum:>10} {:>10x}: {}", i.addr, i.text)
            } else if i.text.chars().count() < 40 {
                writeln!(
                    w,
                    "{flat:>10} {cum:>10} {:>10x}: {:<40};{loc}",
                    i.addr, i.text
                )
            } else {
                writeln!(w, "{:74};{loc}", "")
                    .and_then(|_| writeln!(w, "{flat:>10} {cum:>10} {:>10x}: {}", i.addr, i.text))
            }
            .map_err(io)?;
        }
    }
    Ok(())
}

/// Flat and cumulative sums of `nodes`.
pub(crate) fn sums(g: &Graph, nodes: &[NodeId]) -> (i64, i64) {
    nodes.iter().fold((0i64, 0i64), |(f, c), &n| {
        let node = g.node(n);
        (f.wrapping_add(node.flat), c.wrapping_add(node.cum))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regex_spelling_an_address_is_parsed_as_go_does() {
        assert_eq!(parse_address("0x401136"), Some(0x401136));
        assert_eq!(parse_address("4198710"), Some(4198710));
        assert_eq!(parse_address("010"), Some(8));
        assert_eq!(parse_address("main"), None);
        assert_eq!(parse_address("0x"), None);
    }
}
