//! Reports of a profile: measurement units, the call graph at a granularity, and every
//! pprof report (text/top, tree, peek, traces, tags, raw, comments, list, callgrind, dot,
//! proto, topproto) rendered from a profile that the driver has already filtered and
//! aggregated.

#![warn(missing_docs)]

mod callgrind;
pub mod disasm;
pub mod dot;
pub mod flame;
mod folded;
pub mod graph;
pub mod measurement;
mod protos;
mod report;
pub mod source;
mod tabwriter;
mod tags;
mod text;
mod traces;
mod tree;
pub mod weblist;

use std::collections::HashMap;
use std::io::Write;

use profile::{Error, Profile, Result};
use regex::Regex;

pub use report::{
    compute_total, format_time_utc, graph_total, trim_function_paths, trim_path, Report,
    TrimmedGraph,
};
pub use text::{inline_mark, text_items, TextItem};

/// A report format; each renders the profile differently.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputFormat {
    /// callgrind's text format (`-callgrind`).
    Callgrind,
    /// The profile's comments (`-comments`).
    Comments,
    /// Annotated disassembly (`-disasm`).
    Dis,
    /// Graphviz dot (`-dot`, and the graphical formats made from it).
    Dot,
    /// An interactive flame graph as a standalone SVG document (`-flamegraph`).
    FlameGraph,
    /// An interactive flame graph as a standalone HTML page (`-flamegraph` written to a
    /// `.html` file).
    FlameGraphHtml,
    /// Collapsed stacks, one `root;...;leaf value` line per stack (`-folded`).
    Folded,
    /// Annotated source listing (`-list`).
    List,
    /// The profile itself, gzipped profile.proto (`-proto`).
    Proto,
    /// pprof's debug text of the profile (`-raw`).
    Raw,
    /// Tag (label) histograms (`-tags`).
    Tags,
    /// The top entries table (`-top`, `-text`).
    Text,
    /// The top entries as a profile.proto (`-topproto`).
    TopProto,
    /// Every distinct stack with its value (`-traces`).
    Traces,
    /// Callers and callees of each entry (`-tree`, `-peek`).
    Tree,
    /// Source and disassembly as a web page (`-weblist`).
    WebList,
}

/// How to render a report: pprof's report options, chosen by the driver.
#[derive(Clone, Debug)]
pub struct Options {
    /// The report format.
    pub format: OutputFormat,
    /// Sort entries by cumulative value instead of flat value.
    pub cum_sort: bool,
    /// Build a call tree instead of a graph (dot and callgrind only).
    pub call_tree: bool,
    /// Drop nodes whose value is negative.
    pub drop_negative: bool,
    /// Shorten the legend of graph reports.
    pub compact_labels: bool,
    /// Multiplies every value before it is formatted (`1 / divide_by`).
    pub ratio: f64,
    /// Report title; pprof uses the base name of the main binary.
    pub title: String,
    /// Extra legend lines.
    pub profile_labels: Vec<String>,
    /// The filters in force, as `name=value`, for the legend.
    pub active_filters: Vec<String>,
    /// Unit of each numeric label key.
    pub num_label_units: HashMap<String, String>,
    /// Keep at most this many nodes (0: all).
    pub node_count: usize,
    /// Drop nodes whose cumulative value is below this fraction of the total.
    pub node_fraction: f64,
    /// Drop edges whose value is below this fraction of the total.
    pub edge_fraction: f64,
    /// Index of the sample value shown.
    pub sample_index: usize,
    /// Show the mean value per sample: divide by the value at index 0.
    pub mean: bool,
    /// Name of the shown sample type (`mean_` prefixed when `mean`).
    pub sample_type: String,
    /// Unit of the shown sample values, as the profile spells it.
    pub sample_unit: String,
    /// Unit to show values in: a unit name, `auto` or `minimum`.
    pub output_unit: String,
    /// Functions to list or disassemble (`-list`, `-disasm`, `-peek` regex).
    pub symbol: Option<Regex>,
    /// Search path for source files.
    pub source_path: String,
    /// Path prefixes to trim from source file names.
    pub trim_path: String,
    /// Print assembly in Intel syntax.
    pub intel_syntax: bool,
    /// Disassemble at most this many functions, those with the largest flat values
    /// first (the web UI's limit); `None`: every matching function, by name.
    pub max_functions: Option<usize>,
    /// Whether the `-weblist` page is a whole HTML document; else only the listing,
    /// with its style and script, to be placed in another page (the web UI's).
    pub standalone: bool,
}

impl Options {
    /// Options for `format` with pprof's defaults, showing the sample value at `sample_index`
    /// of `profile`.
    pub fn new(format: OutputFormat, profile: &Profile, sample_index: usize) -> Options {
        let (sample_type, sample_unit) = profile
            .sample_types
            .get(sample_index)
            .map(|t| {
                (
                    profile.str(t.ty).to_string(),
                    profile.str(t.unit).to_string(),
                )
            })
            .unwrap_or_default();
        Options {
            format,
            cum_sort: false,
            call_tree: false,
            drop_negative: false,
            compact_labels: false,
            ratio: 1.0,
            title: String::new(),
            profile_labels: Vec::new(),
            active_filters: Vec::new(),
            num_label_units: HashMap::new(),
            node_count: 0,
            node_fraction: 0.0,
            edge_fraction: 0.0,
            sample_index,
            mean: false,
            sample_type,
            sample_unit,
            output_unit: "minimum".to_string(),
            symbol: None,
            source_path: String::new(),
            trim_path: String::new(),
            intel_syntax: false,
            max_functions: None,
            standalone: true,
        }
    }
}

/// Renders the report `options` asks for, writing it to `w`.
///
/// `profile` is the profile after the driver's filtering and aggregation; some reports
/// adjust it further (file names trimmed by `trim_path`, for one).
pub fn generate(w: &mut dyn Write, profile: &mut Profile, options: &Options) -> Result<()> {
    let total = compute_total(profile, options);
    generate_with_total(w, profile, options, total)
}

/// Renders the report `options` asks for with percentages relative to `total`.
///
/// pprof computes the total before focusing the profile (unless percentages are
/// relative), so the driver computes it with [`compute_total`] before filtering.
pub fn generate_with_total(
    w: &mut dyn Write,
    profile: &mut Profile,
    options: &Options,
    total: i64,
) -> Result<()> {
    generate_with_binaries(w, profile, options, total, None)
}

/// Renders the report `options` asks for with percentages relative to `total`, reading
/// machine code through `obj` for the reports that show it (`-disasm`, `-weblist`).
pub fn generate_with_binaries(
    w: &mut dyn Write,
    profile: &mut Profile,
    options: &Options,
    total: i64,
    obj: Option<&dyn disasm::ObjTool>,
) -> Result<()> {
    use OutputFormat as F;
    if matches!(
        options.format,
        F::Text | F::Tree | F::Dot | F::Callgrind | F::TopProto | F::List | F::WebList | F::Dis
    ) {
        trim_function_paths(profile, &options.trim_path, &options.source_path);
    }
    if options.format == F::Proto {
        return protos::print_proto(w, profile, options);
    }
    let mut rpt = Report::with_total(profile, options.clone(), total);
    let result = match options.format {
        F::Comments => print_comments(w, &rpt),
        F::Text => text::print_text(w, &mut rpt),
        F::Tree => tree::print_tree(w, &mut rpt),
        F::Traces => traces::print_traces(w, &rpt),
        F::Tags => tags::print_tags(w, &rpt),
        F::Callgrind => callgrind::print_callgrind(w, &mut rpt),
        F::TopProto => protos::print_top_proto(w, &mut rpt),
        F::Raw => rpt.prof.write_debug_text(w).map_err(write_error),
        F::Dot => dot::print_dot(w, &rpt),
        F::List => source::print_source(w, &rpt),
        F::Dis => match obj {
            Some(obj) => disasm::print_assembly(w, &rpt, obj),
            None => Err(Error::new("cannot disassemble: no binaries available")),
        },
        F::WebList => weblist::print_weblist(w, &rpt, obj),
        F::FlameGraph => flame::print_flame_graph(w, &rpt, false),
        F::FlameGraphHtml => flame::print_flame_graph(w, &rpt, true),
        F::Folded => folded::print_folded(w, &rpt),
        F::Proto => Err(Error::new(format!(
            "unexpected output format {:?}",
            options.format
        ))),
    };
    result
}

/// The legend lines describing `profile` (file, build id, comments, type, time,
/// duration and total), as the report for `options` would print them.
pub fn profile_labels(profile: &Profile, options: &Options) -> Vec<String> {
    Report::new(profile, options.clone()).profile_labels()
}

/// Writes the profile's comments, one a line.
fn print_comments(w: &mut dyn Write, rpt: &Report) -> Result<()> {
    for &c in &rpt.prof.comments {
        writeln!(w, "{}", rpt.prof.str(c)).map_err(write_error)?;
    }
    Ok(())
}

/// The error for a failed write of report output.
pub(crate) fn write_error(e: std::io::Error) -> Error {
    Error::new(format!("writing report: {e}"))
}
