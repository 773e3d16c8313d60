//! The callgrind report (`-callgrind`): the graph in the format of valgrind's
//! callgrind tool, readable by KCachegrind.

use std::io::Write;

use profile::Result;

use crate::graph::{FxMap, Graph, NodeId, NodeInfo, TextMap};
use crate::measurement::{go_float_to_int, scale};
use crate::report::Report;
use crate::write_error;

/// Bytes of report gathered before they are written out.
const WRITE_AT: usize = 1 << 20;

/// Writes the callgrind report; it never trims nodes or edges.
pub fn print_callgrind(w: &mut dyn Write, rpt: &mut Report) -> Result<()> {
    rpt.options.node_fraction = 0.0;
    rpt.options.edge_fraction = 0.0;
    rpt.options.node_count = 0;
    let t = rpt.new_trimmed_graph();
    let g = &t.graph;
    rpt.select_output_unit(g);
    let o = &rpt.options;
    let node_names = disambiguated_names(g);
    // A callee the graph does not list (pprof drops nodes without a value) has no name.
    let node_name = |id: NodeId| -> &str {
        match node_names.get(&id) {
            Some(Some(name)) => name,
            Some(None) => &g.node(id).info.name,
            None => "",
        }
    };
    let mut out: Vec<u8> = Vec::with_capacity(WRITE_AT + (WRITE_AT >> 2));
    out.extend_from_slice(b"positions: instr line\n");
    let _ = writeln!(out, "events: {}({})", o.sample_type, o.output_unit);
    let mut objfiles = CompressedNames::default();
    let mut files = CompressedNames::default();
    let mut names = CompressedNames::default();
    // The ids of each callee's file and name once written: most nodes are the callee
    // of many edges, and their names are long.
    let mut callee_files = vec![0; g.node_id_limit()];
    let mut callee_names = vec![0; g.node_id_limit()];
    let mut prev: Option<&NodeInfo> = None;
    for &id in &g.nodes {
        let n = g.node(id);
        let info = &n.info;
        let new_function = prev.is_none_or(|p| {
            info.objfile != p.objfile || info.file != p.file || info.name != p.name
        });
        if new_function {
            out.extend_from_slice(b"\nob=");
            objfiles.write(&mut out, &info.objfile);
            out.extend_from_slice(b"\nfl=");
            files.write(&mut out, &info.file);
            out.extend_from_slice(b"\nfn=");
            names.write(&mut out, &info.name);
            out.push(b'\n');
        }
        let (sv, _) = scale(n.flat_value(), &o.sample_unit, &o.output_unit);
        write_address(&mut out, prev, info.address);
        let _ = writeln!(out, " {} {}", info.lineno, go_float_to_int(sv));
        for e in g.sorted_edges(&n.out_edges) {
            let e = g.edge(e);
            let (c, _) = scale(e.weight, &o.sample_unit, &o.output_unit);
            let callee = g.node(e.dest);
            out.extend_from_slice(b"cfl=");
            files.write_known(&mut out, &callee.info.file, &mut callee_files[e.dest]);
            out.extend_from_slice(b"\ncfn=");
            names.write_known(&mut out, node_name(e.dest), &mut callee_names[e.dest]);
            out.extend_from_slice(b"\ncalls=0 ");
            write_address(&mut out, prev, callee.info.address);
            let _ = writeln!(out, " {}\n* * {}", callee.info.lineno, go_float_to_int(c));
        }
        prev = Some(info);
        if out.len() >= WRITE_AT {
            w.write_all(&out).map_err(write_error)?;
            out.clear();
        }
    }
    w.write_all(&out).map_err(write_error)
}

/// The graph's nodes, each with the name it needs in place of its own, if any: its
/// name with ` [i/n]` appended when several functions share its file and name.
fn disambiguated_names(g: &Graph) -> FxMap<NodeId, Option<String>> {
    let mut index: TextMap<(&str, &str), FxMap<usize, usize>> = TextMap::default();
    for &id in &g.nodes {
        let n = g.node(id);
        let p = index
            .entry((n.info.file.as_str(), n.info.name.as_str()))
            .or_default();
        let next = p.len();
        p.entry(n.function).or_insert(next);
    }
    g.nodes
        .iter()
        .map(|&id| {
            let n = g.node(id);
            let shared = index
                .get(&(n.info.file.as_str(), n.info.name.as_str()))
                .filter(|p| p.len() > 1);
            let name = shared.map(|p| {
                let i = p.get(&n.function).copied().unwrap_or(0);
                format!("{} [{}/{}]", n.info.name, i + 1, p.len())
            });
            (id, name)
        })
        .collect()
}

/// callgrind's name compression: `(id) name` the first time a name is written,
/// `(id)` afterwards.
#[derive(Default)]
struct CompressedNames<'a> {
    ids: TextMap<&'a str, usize>,
}

impl<'a> CompressedNames<'a> {
    /// Writes `name` compressed (nothing for an empty name).
    fn write(&mut self, out: &mut Vec<u8>, name: &'a str) {
        let mut known = 0;
        self.write_known(out, name, &mut known);
    }

    /// [`write`](Self::write), with `known` the id of `name` if already looked up (0
    /// when not), which the lookup sets.
    fn write_known(&mut self, out: &mut Vec<u8>, name: &'a str, known: &mut usize) {
        if *known != 0 {
            let _ = write!(out, "({known})");
            return;
        }
        if name.is_empty() {
            return;
        }
        let next = self.ids.len() + 1;
        let id = *self.ids.entry(name).or_insert(next);
        *known = id;
        let _ = write!(out, "({id})");
        if id == next {
            out.push(b' ');
            out.extend_from_slice(name.as_bytes());
        }
    }
}

/// Writes an address relative to the previous node's when that is shorter, `*` when
/// equal.
fn write_address(out: &mut Vec<u8>, prev: Option<&NodeInfo>, curr: u64) {
    match prev {
        Some(prev) if prev.address == curr => out.push(b'*'),
        Some(prev) => {
            let diff = curr.wrapping_sub(prev.address) as i64;
            // "+d" or "-d" against "0x" and the hex digits.
            let relative_len = 1 + decimal_digits(diff.unsigned_abs());
            let abs_len = 2 + (64 - curr.leading_zeros()).div_ceil(4).max(1) as usize;
            if relative_len < abs_len {
                let _ = write!(out, "{diff:+}");
            } else {
                let _ = write!(out, "{curr:#x}");
            }
        }
        None => {
            let _ = write!(out, "{curr:#x}");
        }
    }
}

/// The number of decimal digits of `v`.
fn decimal_digits(v: u64) -> usize {
    v.checked_ilog10().map_or(1, |d| d as usize + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn address(prev: Option<u64>, curr: u64) -> String {
        let prev = prev.map(|address| NodeInfo {
            address,
            ..NodeInfo::default()
        });
        let mut out = Vec::new();
        write_address(&mut out, prev.as_ref(), curr);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn addresses_are_relative_to_the_previous_node_when_shorter() {
        assert_eq!(address(None, 0x1234), "0x1234");
        assert_eq!(address(None, 0), "0x0");
        assert_eq!(address(Some(0x1234), 0x1234), "*");
        assert_eq!(address(Some(0x1000), 0x1010), "+16");
        assert_eq!(address(Some(0x1010), 0x1000), "-16");
        // "-1000" is longer than "0x10": the absolute form wins, and on a tie too.
        assert_eq!(address(Some(0x3f8), 0x10), "0x10");
        assert_eq!(address(Some(0x10), 0), "0x0");
        assert_eq!(address(Some(0), 0x10), "+16");
        assert_eq!(address(Some(1), 0), "-1");
        assert_eq!(address(Some(0x100), 0x10000), "+65280");
        assert_eq!(address(Some(0x10000 - 9), 0x10000), "+9");
        // Differences wrap around as 64-bit integers.
        assert_eq!(address(Some(u64::MAX), 0), "+1");
        assert_eq!(address(Some(0), 1 << 63), "0x8000000000000000");
        assert_eq!(address(Some(0), u64::MAX), "-1");
    }

    #[test]
    fn names_are_numbered_the_first_time_and_referred_to_after() {
        let mut names = CompressedNames::default();
        let mut out = Vec::new();
        for name in ["main", "f", "", "main", "f", "g"] {
            names.write(&mut out, name);
            out.push(b'|');
        }
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "(1) main|(2) f||(1)|(2)|(3) g|"
        );
        // A name looked up once is written by its id from then on.
        let (mut out, mut known) = (Vec::new(), 0);
        names.write_known(&mut out, "f", &mut known);
        assert_eq!(known, 2);
        names.write_known(&mut out, "h", &mut known);
        let (mut h, mut out_h) = (0, Vec::new());
        names.write_known(&mut out_h, "h", &mut h);
        assert_eq!(String::from_utf8(out).unwrap(), "(2)(2)");
        assert_eq!(String::from_utf8(out_h).unwrap(), "(4) h");
    }
}
