//! The top entries table (`-top`, `-text`): one line per node with flat and cumulative
//! values and percentages.

use std::fmt::Write as _;
use std::io::Write;

use profile::Result;

use crate::graph::{Graph, NodeId};
use crate::measurement::percentage;
use crate::report::{graph_total, Report};
use crate::write_error;

/// One line of the text report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TextItem {
    /// The node's printed name.
    pub name: String,
    /// `(inline)` or `(partial-inline)` when calls to the node were inlined, else empty.
    pub inline_label: String,
    /// Flat value.
    pub flat: i64,
    /// Cumulative value.
    pub cum: i64,
    /// Flat value, formatted.
    pub flat_format: String,
    /// Cumulative value, formatted.
    pub cum_format: String,
}

/// The entries of the text report and its legend lines; settles the report's output
/// unit.
pub fn text_items(rpt: &mut Report) -> (Vec<TextItem>, Vec<String>) {
    let t = rpt.new_trimmed_graph();
    let g = &t.graph;
    rpt.select_output_unit(g);
    let labels = rpt.report_labels(
        graph_total(g),
        g.nodes.len(),
        t.orig_count,
        t.dropped_nodes,
        0,
        false,
    );
    let items = g
        .nodes
        .iter()
        .map(|&id| {
            let n = g.node(id);
            let (flat, cum) = (n.flat_value(), n.cum_value());
            TextItem {
                name: n.name.clone(),
                inline_label: inline_mark(g, id).to_string(),
                flat,
                cum,
                flat_format: rpt.format_value(flat),
                cum_format: rpt.format_value(cum),
            }
        })
        .collect();
    (items, labels)
}

/// The mark a text report gives node `id` of `g` by its callers' edges: `(inline)` when
/// every edge into it is an inlined call, `(partial-inline)` when some are, else empty.
pub fn inline_mark(g: &Graph, id: NodeId) -> &'static str {
    let (mut inline, mut noinline) = (false, false);
    for e in g.node(id).in_edges.values() {
        if g.edge(e).inline {
            inline = true;
        } else {
            noinline = true;
        }
    }
    match (inline, noinline) {
        (true, true) => "(partial-inline)",
        (true, false) => "(inline)",
        _ => "",
    }
}

/// Writes the text report.
pub fn print_text(w: &mut dyn Write, rpt: &mut Report) -> Result<()> {
    let (items, labels) = text_items(rpt);
    let mut out = String::with_capacity(64 * (items.len() + labels.len() + 1));
    out.push_str(&labels.join("\n"));
    out.push('\n');
    let _ = writeln!(
        out,
        "{:>10} {:>5}% {:>5}% {:>10} {:>5}%",
        "flat", "flat", "sum", "cum", "cum"
    );
    let total = rpt.total;
    let mut flat_sum = 0i64;
    for item in &items {
        flat_sum = flat_sum.wrapping_add(item.flat);
        let inl = if item.inline_label.is_empty() {
            String::new()
        } else {
            format!(" {}", item.inline_label)
        };
        let _ = writeln!(
            out,
            "{:>10} {} {} {:>10} {}  {}{}",
            item.flat_format,
            percentage(item.flat, total),
            percentage(flat_sum, total),
            item.cum_format,
            percentage(item.cum, total),
            item.name,
            inl
        );
    }
    w.write_all(out.as_bytes()).map_err(write_error)
}
