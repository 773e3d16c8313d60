//! The callgrind report (`-callgrind`): the graph in the format of valgrind's
//! callgrind tool, readable by KCachegrind.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::Write;

use profile::Result;

use crate::graph::{Graph, NodeId, NodeInfo};
use crate::measurement::{go_float_to_int, scale};
use crate::report::Report;
use crate::write_error;

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
    let mut out = String::new();
    out.push_str("positions: instr line\n");
    let _ = writeln!(out, "events: {}({})", o.sample_type, o.output_unit);
    let mut objfiles = HashMap::new();
    let mut files = HashMap::new();
    let mut names = HashMap::new();
    let mut prev: Option<&NodeInfo> = None;
    for &id in &g.nodes {
        let n = g.node(id);
        let info = &n.info;
        let new_function = prev.is_none_or(|p| {
            info.objfile != p.objfile || info.file != p.file || info.name != p.name
        });
        if new_function {
            out.push('\n');
            let _ = writeln!(out, "ob={}", compressed_name(&mut objfiles, &info.objfile));
            let _ = writeln!(out, "fl={}", compressed_name(&mut files, &info.file));
            let _ = writeln!(out, "fn={}", compressed_name(&mut names, &info.name));
        }
        let (sv, _) = scale(n.flat_value(), &o.sample_unit, &o.output_unit);
        let _ = writeln!(
            out,
            "{} {} {}",
            address(prev, info.address),
            info.lineno,
            go_float_to_int(sv)
        );
        for e in g.sorted_edges(&n.out_edges) {
            let e = g.edge(e);
            let (c, _) = scale(e.weight, &o.sample_unit, &o.output_unit);
            let callee = g.node(e.dest);
            let _ = writeln!(
                out,
                "cfl={}",
                compressed_name(&mut files, &callee.info.file)
            );
            let _ = writeln!(
                out,
                "cfn={}",
                compressed_name(
                    &mut names,
                    node_names.get(&e.dest).map_or("", String::as_str)
                )
            );
            let _ = writeln!(
                out,
                "calls=0 {} {}",
                address(prev, callee.info.address),
                callee.info.lineno
            );
            let _ = writeln!(out, "* * {}", go_float_to_int(c));
        }
        prev = Some(info);
    }
    w.write_all(out.as_bytes()).map_err(write_error)
}

/// Names of the graph's nodes, with ` [i/n]` appended when several functions share a
/// file and name.
fn disambiguated_names(g: &Graph) -> HashMap<NodeId, String> {
    let mut index: HashMap<(&str, &str), HashMap<NodeId, usize>> = HashMap::new();
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
            let mut name = n.info.name.clone();
            if let Some(p) = index.get(&(n.info.file.as_str(), n.info.name.as_str())) {
                if p.len() > 1 {
                    let _ = write!(name, " [{}/{}]", p[&n.function] + 1, p.len());
                }
            }
            (id, name)
        })
        .collect()
}

/// callgrind's name compression: `(id) name` the first time, `(id)` afterwards.
fn compressed_name(names: &mut HashMap<String, usize>, name: &str) -> String {
    if name.is_empty() {
        return String::new();
    }
    if let Some(id) = names.get(name) {
        return format!("({id})");
    }
    let id = names.len() + 1;
    names.insert(name.to_string(), id);
    format!("({id}) {name}")
}

/// An address relative to the previous node's when that is shorter, `*` when equal.
fn address(prev: Option<&NodeInfo>, curr: u64) -> String {
    let abs = format!("{curr:#x}");
    let Some(prev) = prev else {
        return abs;
    };
    if prev.address == curr {
        return "*".to_string();
    }
    let diff = curr.wrapping_sub(prev.address) as i64;
    let relative = format!("{diff:+}");
    if relative.len() < abs.len() {
        relative
    } else {
        abs
    }
}
