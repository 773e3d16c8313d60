//! The tree report (`-tree`, and `-peek` with a symbol regex): each node with its
//! callers above and callees below, with the weights of those calls.

use std::fmt::Write as _;
use std::io::Write;

use profile::{Error, Result};

use crate::measurement::percentage;
use crate::report::{graph_total, Report};
use crate::write_error;

const SEPARATOR: &str = "----------------------------------------------------------+-------------";
const LEGEND: &str = "      flat  flat%   sum%        cum   cum%   calls calls% + context \t \t ";

/// Writes the tree report; with a symbol regex only the matching nodes are shown, and
/// no match is an error.
pub fn print_tree(w: &mut dyn Write, rpt: &mut Report) -> Result<()> {
    // A peek builds only the matching nodes and their neighbours; the legend and the
    // output unit still come from every node.
    let (graph, shown_total, shown_count, orig_count, dropped_nodes) = match rpt.new_peek_graph() {
        Some(peek) => {
            rpt.select_output_unit_from(peek.node_values.iter().copied());
            let total = peek.node_values.iter().map(|&(flat, _)| flat).sum::<i64>();
            let count = peek.node_values.len();
            (peek.graph, total, count, count, 0)
        }
        None => {
            let t = rpt.new_trimmed_graph();
            rpt.select_output_unit(&t.graph);
            let (total, count) = (graph_total(&t.graph), t.graph.nodes.len());
            (t.graph, total, count, t.orig_count, t.dropped_nodes)
        }
    };
    let g = &graph;
    let labels = rpt.report_labels(
        shown_total,
        shown_count,
        orig_count,
        dropped_nodes,
        0,
        false,
    );
    let mut out = String::new();
    out.push_str(&labels.join("\n"));
    out.push('\n');
    out.push_str(SEPARATOR);
    out.push('\n');
    out.push_str(LEGEND);
    out.push('\n');
    let total = rpt.total;
    let rx = rpt.options.symbol.clone();
    let mut flat_sum = 0i64;
    let mut matched = 0;
    for &id in &g.nodes {
        let n = g.node(id);
        if let Some(rx) = &rx {
            if !rx.is_match(&n.name) {
                continue;
            }
        }
        matched += 1;
        let (flat, cum) = (n.flat_value(), n.cum_value());
        out.push_str(SEPARATOR);
        out.push('\n');
        // A caller's or callee's line: the edge's weight, its share of the node's, and
        // the node at its other end.
        let edge_line = |out: &mut String, weight: i64, other: &str, inline: bool| {
            let _ = writeln!(
                out,
                "{:>50} {} |   {}{}",
                rpt.format_value(weight),
                percentage(weight, cum),
                other,
                if inline { " (inline)" } else { "" }
            );
        };
        for e in g.sorted_edges(&n.in_edges) {
            let e = g.edge(e);
            edge_line(&mut out, e.weight, &g.node(e.src).name, e.inline);
        }
        flat_sum = flat_sum.wrapping_add(flat);
        let _ = writeln!(
            out,
            "{:>10} {} {} {:>10} {}                | {}",
            rpt.format_value(flat),
            percentage(flat, total),
            percentage(flat_sum, total),
            rpt.format_value(cum),
            percentage(cum, total),
            n.name
        );
        for e in g.sorted_edges(&n.out_edges) {
            let e = g.edge(e);
            edge_line(&mut out, e.weight, &g.node(e.dest).name, e.inline);
        }
    }
    if shown_count > 0 {
        out.push_str(SEPARATOR);
        out.push('\n');
    }
    // A report that fails prints nothing, as pprof's, which renders into a buffer.
    if let Some(rx) = rx {
        if matched == 0 {
            return Err(Error::new(format!("no matches found for regexp: {rx}")));
        }
    }
    w.write_all(out.as_bytes()).map_err(write_error)
}
