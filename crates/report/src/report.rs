//! A report in the making: the profile, the options, the total the percentages are
//! relative to, and the steps every graph-based report shares (building the trimmed
//! graph, choosing the output unit, the legend lines).

use std::collections::HashSet;

use profile::Profile;

use crate::graph::{FrameTable, Graph, GraphOptions, NodeSet, NodeTotals, TagOptions, TagSets};
use crate::measurement::{self, go_float_to_int};
use crate::{Options, OutputFormat};

/// A profile with the options of the report made from it and the total of its
/// shown values.
#[derive(Clone, Debug)]
pub struct Report<'a> {
    /// The profile reported on.
    pub prof: &'a Profile,
    /// The report's options; `output_unit` is settled by [`Report::select_output_unit`].
    pub options: Options,
    /// Sum of the magnitudes of the shown values (of the diff base samples, when there
    /// are any), divided for mean reports.
    pub total: i64,
}

/// The graph of a peek (see [`Report::new_peek_graph`]).
pub struct PeekGraph {
    /// The matching nodes and their callers and callees, sorted as the report lists
    /// nodes.
    pub graph: Graph,
    /// The flat and cumulative values of every node of the whole graph.
    pub node_values: Vec<(i64, i64)>,
}

/// What the graphs of one report share once worked out: the first pass's frame
/// identities and the samples' tag sets.
#[derive(Clone, Copy, Default)]
struct Shared<'a> {
    frames: Option<&'a FrameTable<'a>>,
    tag_sets: Option<&'a TagSets<'a>>,
}

/// A graph trimmed as the report options ask, with the counts the legend reports.
#[derive(Clone, Debug)]
pub struct TrimmedGraph {
    /// The graph.
    pub graph: Graph,
    /// Number of nodes before the top-N selection.
    pub orig_count: usize,
    /// Number of nodes dropped for a low cumulative value.
    pub dropped_nodes: usize,
    /// Number of edges dropped for a low weight.
    pub dropped_edges: usize,
}

/// Prints a report's values in its output unit (see [`Report::value_printer`]).
pub struct ValuePrinter<'r> {
    /// The factor values are scaled by first (`-sample_index` ratios), when not 1.
    ratio: Option<f64>,
    scaler: measurement::LabelScaler<'r>,
}

impl ValuePrinter<'_> {
    /// Appends `v` as [`Report::format_value`] prints it.
    pub fn push(&self, v: i64, out: &mut String) {
        let v = match self.ratio {
            Some(ratio) => go_float_to_int(v as f64 * ratio),
            None => v,
        };
        self.scaler.push(v, out);
    }
}

impl<'a> Report<'a> {
    /// A report of `prof` with `options`, computing the total.
    pub fn new(prof: &'a Profile, options: Options) -> Report<'a> {
        let total = compute_total(prof, &options);
        Report::with_total(prof, options, total)
    }

    /// A report of `prof` with `options` and percentages relative to `total`.
    pub fn with_total(prof: &'a Profile, options: Options, total: i64) -> Report<'a> {
        Report {
            prof,
            options,
            total,
        }
    }

    /// Formats a value in the report's output unit, after applying the ratio.
    pub fn format_value(&self, v: i64) -> String {
        let mut s = String::new();
        self.value_printer().push(v, &mut s);
        s
    }

    /// What prints many values as [`format_value`](Self::format_value) does, its units
    /// looked up once.
    pub fn value_printer(&self) -> ValuePrinter<'_> {
        let o = &self.options;
        ValuePrinter {
            ratio: (o.ratio > 0.0 && o.ratio != 1.0).then_some(o.ratio),
            scaler: measurement::LabelScaler::new(&o.sample_unit, &o.output_unit),
        }
    }

    /// Whether the report builds a call tree (only drawings and callgrind do).
    pub fn call_tree(&self) -> bool {
        self.options.call_tree
            && matches!(
                self.options.format,
                OutputFormat::Dot | OutputFormat::Callgrind
            )
    }

    /// The identities and values of the report's graph's nodes, without building the
    /// graph.
    pub fn node_totals(&self) -> NodeTotals<'_> {
        NodeTotals::new(self.prof, &self.graph_options(None, true, 0))
    }

    /// Builds the report's graph of nodes, without edges or tags (the reports that call
    /// it read node identities and values only: source listings, disassembly), keeping
    /// only `kept` nodes when given.
    pub fn new_graph(&self, kept: Option<&NodeSet>) -> Graph {
        self.build_graph(kept, !self.call_tree(), 0, Shared::default())
    }

    /// Builds the report's graph; `nodes_only` leaves out edges and tags, and tags
    /// below `tag_cutoff` are not made.
    fn build_graph(
        &self,
        kept: Option<&NodeSet>,
        nodes_only: bool,
        tag_cutoff: i64,
        shared: Shared,
    ) -> Graph {
        let gopt = GraphOptions {
            frames: shared.frames,
            tag_sets: shared.tag_sets,
            ..self.graph_options(kept, nodes_only, tag_cutoff)
        };
        Graph::new(self.prof, &gopt)
    }

    /// The options of the report's graph; see [`build_graph`](Self::build_graph).
    fn graph_options<'k>(
        &'k self,
        kept: Option<&'k NodeSet>,
        nodes_only: bool,
        tag_cutoff: i64,
    ) -> GraphOptions<'k> {
        let o = &self.options;
        let tags = (o.format == OutputFormat::Dot).then(|| TagOptions {
            bytes_unit: o.num_label_units.get("bytes").cloned().unwrap_or_default(),
            output_unit: o.output_unit.clone(),
        });
        let gopt = GraphOptions {
            sample_index: o.sample_index,
            mean: o.mean,
            tags,
            obj_names: matches!(
                o.format,
                OutputFormat::Raw
                    | OutputFormat::List
                    | OutputFormat::WebList
                    | OutputFormat::Dis
                    | OutputFormat::Callgrind
            ),
            orig_fn_names: false,
            call_tree: self.call_tree(),
            drop_negative: o.drop_negative,
            kept_nodes: kept,
            nodes_only: nodes_only && !self.call_tree(),
            tag_cutoff,
            // A tree report with a symbol regex (`-peek`) shows the edges of the
            // matching nodes only.
            edge_ends: match o.format {
                OutputFormat::Tree if !self.call_tree() => o.symbol.as_ref(),
                _ => None,
            },
            // A text report shows of edges only the inline marks they give nodes.
            inline_mark_edges_only: o.format == OutputFormat::Text && !self.call_tree(),
            frames: None,
            tag_sets: None,
        };
        gopt
    }

    /// For a tree report of the nodes matching a symbol regex, without trimming
    /// (`-peek`): the graph of the matching nodes and of their callers and callees only,
    /// with what the report needs of the whole graph (its nodes' values, for the legend
    /// and the output unit). `None` for any other report.
    ///
    /// A line-granularity graph of a large profile has hundreds of thousands of nodes;
    /// a peek shows a few of them.
    pub fn new_peek_graph(&self) -> Option<PeekGraph> {
        let o = &self.options;
        let rx = o.symbol.as_ref()?;
        let untrimmed = o.node_fraction == 0.0 && o.edge_fraction == 0.0 && o.node_count == 0;
        if o.format != OutputFormat::Tree || self.call_tree() || !untrimmed {
            return None;
        }
        let totals = NodeTotals::with_neighbors(self.prof, &self.graph_options(None, false, 0), rx);
        let node_values: Vec<(i64, i64)> = totals.node_values().collect();
        let kept = totals.neighborhood();
        let shared = Shared {
            frames: Some(totals.frames()),
            tag_sets: None,
        };
        let mut graph = self.build_graph(Some(&kept), false, 0, shared);
        drop(totals);
        graph.sort_nodes(o.cum_sort, false);
        Some(PeekGraph { graph, node_values })
    }

    /// Builds the graph and trims it by node and edge fractions and node count, sorted
    /// as the report lists nodes.
    pub fn new_trimmed_graph(&self) -> TrimmedGraph {
        let o = &self.options;
        let visual = o.format == OutputFormat::Dot;
        let call_tree = self.call_tree();
        // A first graph without edges only decides which nodes stay; the full graph is
        // built once the kept nodes are known.
        let first_pass = !call_tree && o.node_fraction > 0.0;
        let mut dropped_nodes = 0;
        let mut defer_tags = false;
        // The first pass's frame identities, for the graphs built after it.
        let mut first_frames: Option<FrameTable> = None;
        let (mut g, node_cutoff, edge_cutoff) = if first_pass {
            // The first pass only decides which nodes stay: node values without nodes.
            let totals = NodeTotals::new(self.prof, &self.graph_options(None, true, 0));
            let (total, _) = totals.sum();
            let node_cutoff = go_float_to_int(total as f64 * o.node_fraction).wrapping_abs();
            let edge_cutoff = go_float_to_int(total as f64 * o.edge_fraction).wrapping_abs();
            // The kept nodes by their number in the first pass's table.
            let keep = (node_cutoff > 0)
                .then(|| totals.reaching(node_cutoff))
                .filter(|&(_, count)| count != totals.len());
            let nodes = keep.as_ref().map_or(totals.len(), |&(_, count)| count);
            dropped_nodes = totals.len() - nodes;
            // A drawing with more nodes than it shows is built again for the ones it
            // shows; this graph's tags then matter for its first nodes only, which get
            // them below, not for all (a node's tags can take far more memory than it).
            defer_tags = visual && o.node_count > 0 && nodes > o.node_count;
            // Graphs of fewer nodes may follow, built from the same identities, and
            // given their kept nodes by identity; a text report builds no other.
            let kept: Option<NodeSet> = keep
                .as_ref()
                .filter(|_| o.node_count > 0)
                .map(|_| totals.discard_low_frequency_nodes(node_cutoff));
            // The values are no longer needed, only the frames' identities.
            let frames = totals.into_frames();
            let mut gopt = self.graph_options(kept.as_ref(), false, node_cutoff);
            if defer_tags {
                gopt.tags = None;
            }
            let g = if o.node_count > 0 {
                gopt.frames = Some(first_frames.insert(frames));
                Graph::new(self.prof, &gopt)
            } else if let Some((keep, _)) = &keep {
                Graph::with_frames_keeping(self.prof, &gopt, frames, keep)
            } else {
                Graph::with_frames(self.prof, &gopt, frames)
            };
            (g, node_cutoff, edge_cutoff)
        } else if call_tree {
            // A call tree makes nodes only for the calling contexts the cutoff keeps.
            let mut edge_cutoff = 0;
            let gopt = self.graph_options(None, false, 0);
            let (g, node_cutoff, dropped) = Graph::new_trimmed_tree(self.prof, &gopt, |total| {
                edge_cutoff = go_float_to_int(total as f64 * o.edge_fraction).wrapping_abs();
                go_float_to_int(total as f64 * o.node_fraction).wrapping_abs()
            });
            dropped_nodes = dropped;
            (g, node_cutoff, edge_cutoff)
        } else {
            let mut g = self.build_graph(None, false, 0, Shared::default());
            let (total, _) = g.sum();
            let node_cutoff = go_float_to_int(total as f64 * o.node_fraction).wrapping_abs();
            let edge_cutoff = go_float_to_int(total as f64 * o.edge_fraction).wrapping_abs();
            if node_cutoff > 0 {
                let kept = g.discard_low_frequency_nodes(node_cutoff);
                if kept.len() != g.nodes.len() {
                    dropped_nodes = g.nodes.len() - kept.len();
                    drop(std::mem::take(&mut g));
                    g = self.build_graph(Some(&kept), false, node_cutoff, Shared::default());
                }
            }
            (g, node_cutoff, edge_cutoff)
        };
        let mut shared = Shared {
            frames: first_frames.as_ref(),
            tag_sets: None,
        };
        let tag_sets;
        let orig_count = g.nodes.len();
        g.sort_nodes(o.cum_sort, visual);
        if o.node_count > 0 {
            g.trim_low_frequency_tags(node_cutoff);
            g.trim_low_frequency_edges(edge_cutoff);
            if call_tree {
                let kept: HashSet<usize> = g.select_top_node_ids(o.node_count, visual);
                if kept.len() != g.nodes.len() {
                    g.trim_tree(&kept);
                    g.sort_nodes(o.cum_sort, visual);
                }
            } else if defer_tags {
                // The tags of the first nodes, from a graph of those nodes alone; it is
                // the graph to show when they are the ones kept.
                let first: NodeSet = g.nodes[..o.node_count.min(g.nodes.len())]
                    .iter()
                    .map(|&n| g.node(n).info.clone())
                    .collect();
                // Worked out once for this graph and the one that may follow.
                tag_sets = self
                    .graph_options(None, false, 0)
                    .tags
                    .map(|to| TagSets::new(self.prof, &to));
                shared.tag_sets = tag_sets.as_ref();
                let mut tagged = self.build_graph(Some(&first), false, node_cutoff, shared);
                tagged.trim_low_frequency_tags(node_cutoff);
                let kept = g.select_top_nodes_tagged_by(o.node_count, &tagged);
                drop(std::mem::take(&mut g));
                g = if kept == first {
                    tagged
                } else {
                    drop(tagged);
                    self.build_graph(Some(&kept), false, node_cutoff, shared)
                };
                g.sort_nodes(o.cum_sort, visual);
            } else {
                let kept = g.select_top_nodes(o.node_count, visual);
                if kept.len() != g.nodes.len() {
                    g = self.build_graph(Some(&kept), false, node_cutoff, shared);
                    g.sort_nodes(o.cum_sort, visual);
                }
            }
        }
        g.trim_low_frequency_tags(node_cutoff);
        let dropped_edges = g.trim_low_frequency_edges(edge_cutoff);
        if visual {
            g.remove_redundant_edges();
        }
        TrimmedGraph {
            graph: g,
            orig_count,
            dropped_nodes,
            dropped_edges,
        }
    }

    /// Settles an output unit of `minimum`: the unit that shows the smallest non-zero
    /// node value (or a hundred times it, when values span units) without fractions.
    pub fn select_output_unit(&mut self, g: &Graph) {
        self.select_output_unit_from(
            g.nodes
                .iter()
                .map(|&n| (g.node(n).flat_value(), g.node(n).cum_value())),
        );
    }

    /// [`select_output_unit`](Self::select_output_unit) from the flat and cumulative
    /// values of a graph's nodes.
    pub fn select_output_unit_from(&mut self, node_values: impl Iterator<Item = (i64, i64)>) {
        let o = &self.options;
        if o.output_unit != "minimum" {
            return;
        }
        let mut node_values = node_values.peekable();
        if node_values.peek().is_none() {
            return;
        }
        let mut min_value = 0i64;
        for (flat, cum) in node_values {
            let mut node_min = flat.wrapping_abs();
            if node_min == 0 {
                node_min = cum.wrapping_abs();
            }
            if node_min > 0 && (min_value == 0 || node_min < min_value) {
                min_value = node_min;
            }
        }
        let mut max_value = self.total;
        if min_value == 0 {
            min_value = max_value;
        }
        if o.ratio > 0.0 && o.ratio != 1.0 {
            min_value = go_float_to_int(min_value as f64 * o.ratio);
            max_value = go_float_to_int(max_value as f64 * o.ratio);
        }
        let (_, min_unit) = measurement::scale(min_value, &o.sample_unit, "minimum");
        let (_, max_unit) = measurement::scale(max_value, &o.sample_unit, "minimum");
        let mut unit = min_unit.clone();
        if min_unit != max_unit
            && min_value.wrapping_mul(100) < max_value
            && o.format != OutputFormat::Callgrind
        {
            unit = measurement::scale(min_value.wrapping_mul(100), &o.sample_unit, "minimum").1;
        }
        self.options.output_unit = if unit.is_empty() {
            o.sample_unit.clone()
        } else {
            unit
        };
    }

    /// The legend lines describing the profile: file, build id, comments, type, doc
    /// link, time, duration and total.
    pub fn profile_labels(&self) -> Vec<String> {
        let prof = self.prof;
        let o = &self.options;
        let mut label = Vec::new();
        if let Some(m) = prof.mappings.first() {
            let file = prof.str(m.filename);
            if !file.is_empty() {
                label.push(format!("File: {}", profile::gopath::base_name(file)));
            }
            let build_id = prof.str(m.build_id);
            if !build_id.is_empty() {
                label.push(format!("Build ID: {build_id}"));
            }
        }
        for &c in &prof.comments {
            let c = prof.str(c);
            if !c.starts_with('#') {
                label.push(c.to_string());
            }
        }
        if !o.sample_type.is_empty() {
            label.push(format!("Type: {}", o.sample_type));
        }
        let doc = prof.str(prof.doc_url);
        if !doc.is_empty() {
            label.push(format!("Doc: {doc}"));
        }
        if prof.time_nanos != 0 {
            label.push(format!("Time: {}", format_time_utc(prof.time_nanos)));
        }
        if prof.duration_nanos != 0 {
            let duration = measurement::label(prof.duration_nanos, "nanoseconds");
            let (total_nanos, total_unit) =
                measurement::scale(self.total, &o.sample_unit, "nanoseconds");
            let ratio = if total_unit == "ns" && total_nanos != 0.0 {
                format!(
                    "({})",
                    measurement::percentage(go_float_to_int(total_nanos), prof.duration_nanos)
                )
            } else {
                String::new()
            };
            label.push(format!(
                "Duration: {duration}, Total samples = {} {ratio}",
                self.format_value(self.total)
            ));
        }
        label
    }

    /// The legend of a graph report: profile labels (or the caller's), active filters,
    /// what is shown of the total, and what was dropped.
    pub fn report_labels(
        &self,
        shown_total: i64,
        node_count: usize,
        orig_count: usize,
        dropped_nodes: usize,
        dropped_edges: usize,
        full_headers: bool,
    ) -> Vec<String> {
        let o = &self.options;
        let mut label = Vec::new();
        if !o.profile_labels.is_empty() {
            label.extend(o.profile_labels.iter().cloned());
        } else if full_headers || !o.compact_labels {
            label = self.profile_labels();
        }
        if !o.active_filters.is_empty() {
            label.push("Active filters:".to_string());
            for f in &o.active_filters {
                let f = if f.len() > 80 {
                    let mut cut = 80;
                    while !f.is_char_boundary(cut) {
                        cut -= 1;
                    }
                    format!("{}…", &f[..cut])
                } else {
                    f.clone()
                };
                label.push(format!("   {f}"));
            }
        }
        label.push(format!(
            "Showing nodes accounting for {}, {} of {} total",
            self.format_value(shown_total),
            measurement::percentage(shown_total, self.total).trim(),
            self.format_value(self.total)
        ));
        if self.total != 0 {
            if dropped_nodes > 0 {
                let cut = go_float_to_int(self.total as f64 * o.node_fraction).wrapping_abs();
                label.push(dropped_label(
                    dropped_nodes,
                    "node",
                    "cum",
                    &self.format_value(cut),
                ));
            }
            if dropped_edges > 0 {
                let cut = go_float_to_int(self.total as f64 * o.edge_fraction).wrapping_abs();
                label.push(dropped_label(
                    dropped_edges,
                    "edge",
                    "freq",
                    &self.format_value(cut),
                ));
            }
            if node_count > 0 && node_count < orig_count {
                label.push(format!(
                    "Showing top {node_count} nodes out of {orig_count}"
                ));
            }
        }
        if full_headers {
            label.push("\nSee https://git.io/JfYMW for how to read the graph".to_string());
        }
        label
    }
}

/// Sum of the flat values of the graph's nodes.
pub fn graph_total(g: &Graph) -> i64 {
    g.nodes.iter().map(|&n| g.node(n).flat_value()).sum()
}

fn dropped_label(count: usize, noun: &str, what: &str, value: &str) -> String {
    let s = if count > 1 { "s" } else { "" };
    format!("Dropped {count} {noun}{s} ({what} <= {value})")
}

/// The report total: the sum of the shown values' magnitudes, over the diff base
/// samples only when there are any, divided for mean reports.
pub fn compute_total(prof: &Profile, o: &Options) -> i64 {
    // A profile without the key (nearly every one) has no base samples: "true" is
    // not looked for (a string table read without its index is searched in full).
    let base = prof
        .strings
        .find("pprof::base")
        .and_then(|key| Some((key, prof.strings.find("true")?)));
    let (mut div, mut total, mut diff_div, mut diff_total) = (0i64, 0i64, 0i64, 0i64);
    // Values (and labels when a base may be marked) only: no sample views.
    let samples = &prof.samples;
    if base.is_none() && !o.mean {
        // The one column summed, read as a column, a part of a large profile's samples
        // on each core.
        const MIN_SAMPLES_PER_PART: usize = 1 << 18;
        if o.sample_index >= samples.width() {
            return 0;
        }
        let parts = profile::parallel::on_each_part(samples.len(), MIN_SAMPLES_PER_PART, |r| {
            let mut total = 0i64;
            samples.for_each_value(o.sample_index, r, |_, v| {
                total = total.wrapping_add(v.wrapping_abs());
            });
            total
        });
        return parts.into_iter().fold(0, i64::wrapping_add);
    }
    for i in 0..samples.len() {
        let values = samples.values(i);
        let v = values.get(o.sample_index).unwrap_or(0).wrapping_abs();
        let d = if o.mean {
            values.first().unwrap_or(0)
        } else {
            0
        };
        total = total.wrapping_add(v);
        div = div.wrapping_add(d);
        let is_base =
            base.is_some_and(|(k, t)| samples.labels(i).iter().any(|l| l.key == k && l.str == t));
        if is_base {
            diff_total = diff_total.wrapping_add(v);
            diff_div = diff_div.wrapping_add(d);
        }
    }
    if diff_total > 0 {
        total = diff_total;
        div = diff_div;
    }
    if div != 0 {
        total.wrapping_div(div)
    } else {
        total
    }
}

/// Formats a time in nanoseconds since the epoch as `2006-01-02 15:04:05 UTC`.
pub fn format_time_utc(nanos: i64) -> String {
    let secs = nanos.div_euclid(1_000_000_000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// The proleptic Gregorian (year, month, day) of a day count since 1970-01-01.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Trims a source file name for display: strips the part up to a search path's base
/// directory name or a configured (or `/proc/self/cwd/`) prefix.
pub fn trim_path(path: &str, trim_path: &str, search_path: &str) -> String {
    PathTrimmer::new(trim_path, search_path)
        .trim(path)
        .to_string()
}

/// What [`trim_path`] strips, worked out once for many paths.
struct PathTrimmer {
    /// `/base/` of each search path directory: a path loses everything up to it.
    search_bases: Vec<String>,
    /// Prefixes a path loses, each ending in `/`.
    prefixes: Vec<String>,
}

impl PathTrimmer {
    fn new(trim_path: &str, search_path: &str) -> PathTrimmer {
        let search_bases = if trim_path.is_empty() {
            search_path
                .split(':')
                .filter(|d| !d.is_empty())
                .map(|dir| format!("/{}/", profile::gopath::base_name(dir)))
                .collect()
        } else {
            Vec::new()
        };
        let prefixes = trim_path
            .split(':')
            .filter(|p| !p.is_empty())
            .chain(["/proc/self/cwd/./", "/proc/self/cwd/"])
            .map(|p| {
                let mut p = p.to_string();
                if !p.ends_with('/') {
                    p.push('/');
                }
                p
            })
            .collect();
        PathTrimmer {
            search_bases,
            prefixes,
        }
    }

    fn trim<'a>(&self, path: &'a str) -> &'a str {
        for want in &self.search_bases {
            if let Some(found) = path.find(want.as_str()) {
                return &path[found + want.len()..];
            }
        }
        for prefix in &self.prefixes {
            if let Some(rest) = path.strip_prefix(prefix.as_str()) {
                return rest;
            }
        }
        path
    }
}

/// Applies [`trim_path`] to the file name of every function of `prof`.
pub fn trim_function_paths(prof: &mut Profile, trim: &str, search_path: &str) {
    let trimmer = PathTrimmer::new(trim, search_path);
    // The trimmed name of each file name string, worked out once per string.
    let mut trimmed_of: Vec<Option<profile::StrId>> = vec![None; prof.strings.len()];
    for i in 0..prof.functions.len() {
        let filename = prof.functions[i].filename;
        let trimmed = match trimmed_of.get(filename.index()).copied().flatten() {
            Some(t) => t,
            None => {
                let name = prof.str(filename);
                let t = trimmer.trim(name);
                let t = if t.len() == name.len() {
                    filename
                } else {
                    let t = t.to_string();
                    prof.intern(&t)
                };
                if let Some(slot) = trimmed_of.get_mut(filename.index()) {
                    *slot = Some(t);
                }
                t
            }
        };
        prof.functions[i].filename = trimmed;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_time_utc_matches_go_layout() {
        assert_eq!(format_time_utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(
            format_time_utc(1_700_000_000_123_000_000),
            "2023-11-14 22:13:20 UTC"
        );
    }

    #[test]
    fn trim_path_strips_proc_self_cwd_and_configured_prefixes() {
        assert_eq!(trim_path("/proc/self/cwd/a/b.c", "", ""), "a/b.c");
        assert_eq!(trim_path("/src/x/y.go", "/src", ""), "x/y.go");
        assert_eq!(trim_path("/r/p/my-proj/f.c", "", "/l/my-proj"), "f.c");
        assert_eq!(trim_path("/other/f.c", "", ""), "/other/f.c");
    }

    #[test]
    fn trim_function_paths_trims_each_function_file_once_shared_or_not() {
        let mut p = Profile::new(1);
        let files = [
            "/src/x/a.go",
            "/src/x/a.go",
            "/other/b.go",
            "",
            "/proc/self/cwd/c.go",
        ];
        for (i, f) in files.iter().enumerate() {
            let filename = p.intern(f);
            p.functions.push(profile::Function {
                id: i as u64 + 1,
                filename,
                ..profile::Function::default()
            });
        }
        trim_function_paths(&mut p, "/src", "");
        let got: Vec<&str> = p.functions.iter().map(|f| p.str(f.filename)).collect();
        assert_eq!(got, ["x/a.go", "x/a.go", "/other/b.go", "", "c.go"]);
    }
}
