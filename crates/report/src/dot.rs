//! The call graph in Graphviz dot (`-dot`): a legend, one box per node sized by its flat
//! value and coloured by its cumulative share, tag nodelets, and weighted edges.

mod style;

use std::fmt::Write as _;
use std::io::Write;

use profile::{Error, Result};

use crate::graph::{sort_tags, Graph, Node, NodeId, NodeInfo, Tag, MAX_NODELETS};
use crate::measurement;
use crate::report::{graph_total, Report};
use profile::gopath::base_name;

pub use style::{
    dot_color, edge_weight_and_width, escape_for_dot, font_size, multiline_function_name,
};

/// What a dot drawing needs besides the graph: its title, legend lines, how to format
/// values and the total that shares are relative to.
pub struct DotConfig<'a> {
    /// The graph's name; `unnamed` when empty.
    pub title: String,
    /// Legend lines; the first also names the legend box. No legend when empty.
    pub labels: Vec<String>,
    /// Formats a value for display.
    pub format_value: &'a dyn Fn(i64) -> String,
    /// The total the percentages and colours are relative to.
    pub total: i64,
}

/// Writes the report's call graph in dot: the graph trimmed as the options ask, its
/// values in the selected output unit, with pprof's full legend.
pub fn print_dot(w: &mut dyn Write, rpt: &Report) -> Result<()> {
    let trimmed = rpt.new_trimmed_graph();
    let mut rpt = rpt.clone();
    rpt.select_output_unit(&trimmed.graph);
    let g = &trimmed.graph;
    let labels = rpt.report_labels(
        graph_total(g),
        g.nodes.len(),
        trimmed.orig_count,
        trimmed.dropped_nodes,
        trimmed.dropped_edges,
        true,
    );
    let format_value = |v: i64| rpt.format_value(v);
    let config = DotConfig {
        title: rpt.options.title.clone(),
        labels,
        format_value: &format_value,
        total: rpt.total,
    };
    let mut out = String::new();
    compose_dot(&mut out, g, &config);
    w.write_all(out.as_bytes())
        .map_err(|e| Error::new(format!("writing dot graph: {e}")))
}

/// Appends the dot text of `g` to `out`: header, legend, nodes in graph order (numbered
/// from 1) each followed by its tag nodelets, then edges by decreasing weight.
pub fn compose_dot(out: &mut String, g: &Graph, c: &DotConfig) {
    let graph_name = if c.title.is_empty() {
        "unnamed"
    } else {
        &c.title
    };
    let _ = writeln!(out, "digraph \"{graph_name}\" {{");
    out.push_str("node [style=filled fillcolor=\"#f8f8f8\"]\n");
    write_legend(out, c);

    if !g.nodes.is_empty() {
        // Dot id of each arena node; 0 for nodes not in the graph.
        let mut dot_id = vec![0usize; g.arena.len()];
        for (i, &n) in g.nodes.iter().enumerate() {
            if let Some(slot) = dot_id.get_mut(n) {
                *slot = i + 1;
            }
        }
        let max_flat = g
            .nodes
            .iter()
            .map(|&n| g.node(n).flat_value().unsigned_abs())
            .max()
            .unwrap_or(0) as f64;

        let mut has_nodelets = vec![false; g.arena.len()];
        let mut edges = Vec::new();
        for (i, &n) in g.nodes.iter().enumerate() {
            let node = g.node(n);
            write_node(out, node, i + 1, max_flat, c);
            has_nodelets[n] = write_nodelets(out, node, i + 1, c);
            edges.extend(node.out_edges.values());
        }

        edges.sort_by(|&a, &b| g.compare_edges(a, b));
        for e in edges {
            write_edge(out, g, e, &dot_id, &has_nodelets, c);
        }
    }
    out.push_str("}\n");
}

/// The legend box: every label, left-justified, in one box named after the first.
fn write_legend(out: &mut String, c: &DotConfig) {
    let Some(first) = c.labels.first() else {
        return;
    };
    let lines: Vec<String> = c.labels.iter().map(|l| escape_for_dot(l)).collect();
    let _ = write!(
        out,
        "subgraph cluster_L {{ \"{}\" [shape=box fontsize=16 label=\"{}\\l\"",
        escape_for_dot(first),
        lines.join("\\l")
    );
    if !c.title.is_empty() {
        let _ = write!(out, " tooltip=\"{}\"", c.title);
    }
    out.push_str("] }\n");
}

/// A node's label: its short multi-line name, then its flat and cumulative values.
fn write_node(out: &mut String, node: &Node, id: usize, max_flat: f64, c: &DotConfig) {
    let (flat, cum) = (node.flat_value(), node.cum_value());
    let mut label = multiline_name(&node.info);
    let flat_text = (c.format_value)(flat);
    if flat != 0 {
        let _ = write!(
            label,
            "{flat_text} ({})",
            measurement::percentage(flat, c.total).trim()
        );
    } else {
        label.push('0');
    }
    let mut cum_text = flat_text;
    if cum != flat {
        label.push_str(if flat != 0 { "\\n" } else { " " });
        cum_text = (c.format_value)(cum);
        let _ = write!(
            label,
            "of {cum_text} ({})",
            measurement::percentage(cum, c.total).trim()
        );
    }
    let share = cum as f64 / c.total.unsigned_abs() as f64;
    let _ = writeln!(
        out,
        "N{id} [label=\"{label}\" id=\"node{id}\" fontsize={} shape=box tooltip=\"{} ({cum_text})\" color=\"{}\" fillcolor=\"{}\"]",
        font_size(flat, max_flat),
        escape_for_dot(&node.name),
        dot_color(share, false),
        dot_color(share, true),
    );
}

/// The name components of a node, one per line (function name broken further at `.`
/// and `::`, file as a base name), each followed by a literal `\n`.
fn multiline_name(info: &NodeInfo) -> String {
    let mut short = info.clone();
    short.name = multiline_function_name(&info.name);
    if !short.file.is_empty() {
        short.file = base_name(&info.file).to_string();
    }
    let mut s = short.name_components().join("\\n");
    s.push_str("\\n");
    s
}

/// The tag nodelets of a node: its heaviest string tags, each with the numeric tags of
/// its samples, and the numeric tags of samples without string tags. Leaves show
/// cumulative tag values, inner nodes flat ones. Returns whether any was written.
fn write_nodelets(out: &mut String, node: &Node, id: usize, c: &DotConfig) -> bool {
    let start = out.len();
    let flat_tags = !node.out_edges.is_empty();

    let mut tags: Vec<&Tag> = node.label_tags.values().collect();
    sort_tags(&mut tags, flat_tags);
    tags.truncate(MAX_NODELETS);
    for (i, t) in tags.iter().enumerate() {
        let w = if flat_tags {
            t.flat_value()
        } else {
            t.cum_value()
        };
        if w == 0 {
            continue;
        }
        let weight = (c.format_value)(w);
        let _ = writeln!(
            out,
            "N{id}_{i} [label = \"{}\" id=\"N{id}_{i}\" fontsize=8 shape=box3d tooltip=\"{weight}\"]",
            t.name
        );
        let _ = writeln!(
            out,
            "N{id} -> N{id}_{i} [label=\" {weight}\" weight=100 tooltip=\"{weight}\" labeltooltip=\"{weight}\"]"
        );
        if let Some(numeric) = node.numeric_tags.get(&t.name).filter(|m| !m.is_empty()) {
            let numeric: Vec<&Tag> = numeric.values().collect();
            write_numeric_nodelets(out, &numeric, flat_tags, &format!("N{id}_{i}"), c);
        }
    }
    if let Some(numeric) = node.numeric_tags.get("").filter(|m| !m.is_empty()) {
        let numeric: Vec<&Tag> = numeric.values().collect();
        write_numeric_nodelets(out, &numeric, flat_tags, &format!("N{id}"), c);
    }
    out.len() != start
}

/// Nodelets for numeric tags hanging off `source`, collapsed into at most
/// [`MAX_NODELETS`] ranges. A cumulative-only value is drawn dotted.
fn write_numeric_nodelets(
    out: &mut String,
    tags: &[&Tag],
    flat_tags: bool,
    source: &str,
    c: &DotConfig,
) {
    for (j, t) in collapsed_tags(tags, MAX_NODELETS, flat_tags)
        .iter()
        .enumerate()
    {
        let (w, attr) = if flat_tags || t.flat_value() == t.cum_value() {
            (t.flat_value(), "")
        } else {
            (t.cum_value(), " style=\"dotted\"")
        };
        if w == 0 {
            continue;
        }
        let weight = (c.format_value)(w);
        // pprof names these nodelets with the source's name after an extra `N`.
        let _ = writeln!(
            out,
            "N{source}_{j} [label = \"{}\" id=\"N{source}_{j}\" fontsize=8 shape=box3d tooltip=\"{weight}\"]",
            t.name
        );
        let _ = writeln!(
            out,
            "{source} -> N{source}_{j} [label=\" {weight}\" weight=100 tooltip=\"{weight}\" labeltooltip=\"{weight}\"{attr}]"
        );
    }
}

/// `tags` sorted by weight; when there are more than `count`, the lightest are grouped
/// with the nearest (by value) of the `count` heaviest, and each group becomes one tag
/// named after its value range.
fn collapsed_tags(tags: &[&Tag], count: usize, flat_tags: bool) -> Vec<Tag> {
    let mut sorted: Vec<&Tag> = tags.to_vec();
    sort_tags(&mut sorted, flat_tags);
    if sorted.len() <= count || count == 0 {
        return sorted.into_iter().cloned().collect();
    }
    let mut groups: Vec<Vec<&Tag>> = sorted[..count].iter().map(|&t| vec![t]).collect();
    for &t in &sorted[count..] {
        let mut best = 0;
        let mut best_distance = tag_distance(t, groups[0][0]);
        for (i, g) in groups.iter().enumerate().skip(1) {
            let d = tag_distance(t, g[0]);
            if d < best_distance {
                best = i;
                best_distance = d;
            }
        }
        groups[best].push(t);
    }
    let collapsed: Vec<Tag> = groups.iter().map(|g| group_tag(g)).collect();
    let mut order: Vec<&Tag> = collapsed.iter().collect();
    sort_tags(&mut order, flat_tags);
    order.into_iter().cloned().collect()
}

/// How far the value of `u` is from that of `t`, in `t`'s unit.
fn tag_distance(t: &Tag, u: &Tag) -> f64 {
    let (v, _) = measurement::scale(u.value, &u.unit, &t.unit);
    (t.value as f64 - v).abs()
}

/// One tag standing for a group: named `min..max` (or the single value), with the
/// group's summed (and divided) values.
fn group_tag(group: &[&Tag]) -> Tag {
    let first = group[0];
    if group.len() == 1 {
        return Tag {
            name: measurement::label(first.value, &first.unit),
            flat: first.flat_value(),
            cum: first.cum_value(),
            ..Tag::default()
        };
    }
    let (mut min, mut max) = (first, first);
    let (mut flat, mut flat_div, mut cum, mut cum_div) =
        (first.flat, first.flat_div, first.cum, first.cum_div);
    for &t in &group[1..] {
        if (measurement::scale(t.value, &t.unit, &min.unit).0 as i64) < min.value {
            min = t;
        }
        if (measurement::scale(t.value, &t.unit, &max.unit).0 as i64) > max.value {
            max = t;
        }
        flat = flat.wrapping_add(t.flat);
        flat_div = flat_div.wrapping_add(t.flat_div);
        cum = cum.wrapping_add(t.cum);
        cum_div = cum_div.wrapping_add(t.cum_div);
    }
    if flat_div != 0 {
        flat = flat.wrapping_div(flat_div);
    }
    if cum_div != 0 {
        cum = cum.wrapping_div(cum_div);
    }
    Tag {
        name: format!(
            "{}..{}",
            measurement::label(min.value, &min.unit),
            measurement::label(max.value, &max.unit)
        ),
        flat,
        cum,
        ..Tag::default()
    }
}

/// An edge: its weight as label (marked when inlined), layout weight, pen width and
/// colour by share, a tooltip naming both ends; residual edges are dotted, and edges
/// from nodes with nodelets are kept longer.
fn write_edge(
    out: &mut String,
    g: &Graph,
    e: usize,
    dot_id: &[usize],
    has_nodelets: &[bool],
    c: &DotConfig,
) {
    let edge = g.edge(e);
    let weight = edge.weight_value();
    let w = (c.format_value)(weight);
    let inline = if edge.inline { "\\n (inline)" } else { "" };
    let mut attr = format!("label=\" {w}{inline}\"");
    if c.total != 0 {
        let (layout_weight, pen_width) = edge_weight_and_width(weight, c.total);
        if layout_weight > 1 {
            let _ = write!(attr, " weight={layout_weight}");
        }
        if pen_width > 1 {
            let _ = write!(attr, " penwidth={pen_width}");
        }
        let share = weight as f64 / c.total.unsigned_abs() as f64;
        let _ = write!(attr, " color=\"{}\"", dot_color(share, false));
    }
    let arrow = if edge.residual { "..." } else { "->" };
    let tooltip = format!(
        "\"{} {arrow} {} ({w})\"",
        escape_for_dot(&g.node(edge.src).name),
        escape_for_dot(&g.node(edge.dest).name)
    );
    let _ = write!(attr, " tooltip={tooltip} labeltooltip={tooltip}");
    if edge.residual {
        attr.push_str(" style=\"dotted\"");
    }
    if has_nodelets.get(edge.src).copied().unwrap_or(false) {
        attr.push_str(" minlen=2");
    }
    let id = |n: NodeId| dot_id.get(n).copied().unwrap_or(0);
    let _ = writeln!(out, "N{} -> N{} [{attr}]", id(edge.src), id(edge.dest));
}
