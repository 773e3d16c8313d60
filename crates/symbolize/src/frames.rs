//! Source frames of one address of a binary, as `llvm-symbolizer --inlining` reports
//! them to pprof, or as pprof's `nm` lookup does for `-symbolize=fastlocal`.

use crate::binary::{Binary, Reader};

/// One source frame at an address: what pprof turns into a `Line` and its `Function`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Frame {
    /// The function's name as the binary spells it (mangled), or "" when unknown.
    pub function: String,
    /// The source file, or "" when unknown.
    pub file: String,
    /// The line in `file` (0 when unknown).
    pub line: u32,
    /// The column (0 when unknown).
    pub column: u32,
    /// The line where the function starts (`DW_AT_decl_line`, 0 when unknown).
    pub start_line: u32,
}

impl Binary {
    /// The frames at `addr` (an address in the binary, after the mapping's base is
    /// taken off), innermost inlined function first and the real function last.
    ///
    /// Follows `llvm-symbolizer`, which pprof prefers: the frames come from DWARF,
    /// the outermost frame takes its name from the symbol table when a symbol covers
    /// `addr` (and its file from the symbol's `STT_FILE` when DWARF has none); an
    /// address nothing knows gives one empty frame.
    pub fn frames(&self, addr: u64, out: &mut Vec<Frame>) {
        out.clear();
        if let Some(ctx) = self.dwarf() {
            dwarf_frames(ctx, addr, out);
        }
        if out.is_empty() {
            out.push(Frame::default());
        }
        if let Some(sym) = self.symbol_at(addr) {
            if let Some(last) = out.last_mut() {
                last.function.clone_from(&sym.name);
                if last.file.is_empty() && !sym.file.is_empty() {
                    last.file.clone_from(&sym.file);
                }
            }
        }
    }

    /// The single frame pprof's `nm` lookup gives for `addr` (function name only), if
    /// a sized symbol covers it.
    pub fn nm_frame(&self, addr: u64) -> Option<Frame> {
        self.nm_symbol_at(addr).map(|s| Frame {
            function: s.name.clone(),
            ..Frame::default()
        })
    }
}

fn dwarf_frames(ctx: &addr2line::Context<Reader>, addr: u64, out: &mut Vec<Frame>) {
    let Ok(mut iter) = ctx.find_frames(addr).skip_all_loads() else {
        return;
    };
    let unit = ctx.find_dwarf_and_unit(addr).skip_all_loads();
    while let Ok(Some(frame)) = iter.next() {
        let mut f = Frame::default();
        if let Some(name) = &frame.function {
            if let Ok(n) = name.raw_name() {
                f.function = n.into_owned();
            }
        }
        if let Some(loc) = &frame.location {
            f.file = loc.file.unwrap_or("").to_string();
            f.line = loc.line.unwrap_or(0);
            f.column = loc.column.unwrap_or(0);
        }
        if let (Some(unit), Some(offset)) = (unit, frame.dw_die_offset) {
            f.start_line = decl_line(unit, offset);
        }
        out.push(f);
    }
}

/// `DW_AT_decl_line` of a function DIE, following `DW_AT_abstract_origin` and
/// `DW_AT_specification` within the unit.
fn decl_line(unit: gimli::UnitRef<'_, Reader>, mut offset: gimli::UnitOffset) -> u32 {
    for _ in 0..8 {
        let Ok(entry) = unit.entry(offset) else {
            return 0;
        };
        if let Ok(Some(v)) = entry.attr_value(gimli::DW_AT_decl_line) {
            return v.udata_value().map_or(0, |l| l as u32);
        }
        let next = [gimli::DW_AT_abstract_origin, gimli::DW_AT_specification]
            .into_iter()
            .find_map(|a| match entry.attr_value(a) {
                Ok(Some(gimli::AttributeValue::UnitRef(o))) => Some(o),
                _ => None,
            });
        match next {
            Some(o) => offset = o,
            None => return 0,
        }
    }
    0
}
