//! The report configuration: pprof's options (`nodecount`, `focus`, `unit`, …), set from
//! command-line flags, shell `name=value` commands and web UI URLs.

use std::fmt;

/// Every report option, with pprof's defaults.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// Output file for the report; stdout when empty.
    pub output: String,
    /// Build a context-sensitive call tree.
    pub call_tree: bool,
    /// Percentages relative to the focused subgraph.
    pub relative_percentages: bool,
    /// Unit to show values in.
    pub unit: String,
    /// Shorter legends.
    pub compact_labels: bool,
    /// Search path for source files.
    pub source_path: String,
    /// Path prefixes to trim from source paths.
    pub trim_path: String,
    /// Disassemble in Intel syntax.
    pub intel_syntax: bool,
    /// Show mean value per sample.
    pub mean: bool,
    /// Sample value to show, by name or index.
    pub sample_index: String,
    /// Divide every value by this number.
    pub divide_by: f64,
    /// Scale the profile to the base profile's total.
    pub normalize: bool,
    /// `flat` or `cum`.
    pub sort: String,
    /// Label keys to add as root frames.
    pub tag_root: String,
    /// Label keys to add as leaf frames.
    pub tag_leaf: String,
    /// Ignore negative differences.
    pub drop_negative: bool,
    /// Maximum number of nodes; -1 means the report's default.
    pub node_count: i64,
    /// Hide nodes below this fraction of the total.
    pub node_fraction: f64,
    /// Hide edges below this fraction of the total.
    pub edge_fraction: f64,
    /// Honor nodecount, nodefraction and edgefraction.
    pub trim: bool,
    /// Restrict to samples going through a matching frame.
    pub focus: String,
    /// Drop samples going through a matching frame.
    pub ignore: String,
    /// Drop frames above (callers of) matching frames.
    pub prune_from: String,
    /// Hide matching frames.
    pub hide: String,
    /// Show only matching frames.
    pub show: String,
    /// Drop frames above the highest matching frame.
    pub show_from: String,
    /// Restrict to samples with a matching tag.
    pub tag_focus: String,
    /// Drop samples with a matching tag.
    pub tag_ignore: String,
    /// Show only matching tags.
    pub tag_show: String,
    /// Hide matching tags.
    pub tag_hide: String,
    /// Attribute inlined functions to their callers.
    pub no_inlines: bool,
    /// Show column numbers at line granularity.
    pub show_columns: bool,
    /// `functions`, `filefunctions`, `files`, `lines`, `addresses`, or empty for the
    /// report's default.
    pub granularity: String,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            output: String::new(),
            call_tree: false,
            relative_percentages: false,
            unit: "minimum".into(),
            compact_labels: false,
            source_path: String::new(),
            trim_path: String::new(),
            intel_syntax: false,
            mean: false,
            sample_index: String::new(),
            divide_by: 1.0,
            normalize: false,
            sort: "flat".into(),
            tag_root: String::new(),
            tag_leaf: String::new(),
            drop_negative: false,
            node_count: -1,
            node_fraction: 0.005,
            edge_fraction: 0.001,
            trim: true,
            focus: String::new(),
            ignore: String::new(),
            prune_from: String::new(),
            hide: String::new(),
            show: String::new(),
            show_from: String::new(),
            tag_focus: String::new(),
            tag_ignore: String::new(),
            tag_show: String::new(),
            tag_hide: String::new(),
            no_inlines: false,
            show_columns: false,
            granularity: String::new(),
        }
    }
}

/// The kind of value an option holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// true/false.
    Bool,
    /// An integer.
    Int,
    /// A floating-point number.
    Float,
    /// Free text.
    Text,
    /// One of a fixed set of words, each also usable as a boolean flag.
    Choice(&'static [&'static str]),
}

/// One option: its name, kind, web UI URL parameter and help text.
#[derive(Clone, Copy, Debug)]
pub struct Field {
    /// Option name, as in `-name=value` and `name=value`.
    pub name: &'static str,
    /// What values it takes.
    pub kind: Kind,
    /// Web UI URL parameter name, if any.
    pub url_param: Option<&'static str>,
    /// Help text; the first line is the summary.
    pub help: &'static str,
}

const SORT_CHOICES: &[&str] = &["cum", "flat"];
const GRANULARITY_CHOICES: &[&str] = &["functions", "filefunctions", "files", "lines", "addresses"];

/// Every option, in pprof's order.
pub const FIELDS: &[Field] = &[
    Field { name: "output", kind: Kind::Text, url_param: None, help: "Output filename for file-based outputs" },
    Field { name: "call_tree", kind: Kind::Bool, url_param: Some("calltree"), help: "Create a context-sensitive call tree\nTreat locations reached through different paths as separate." },
    Field { name: "relative_percentages", kind: Kind::Bool, url_param: Some("rel"), help: "Show percentages relative to focused subgraph\nIf unset, percentages are relative to full graph before focusing\nto facilitate comparison with original graph." },
    Field { name: "unit", kind: Kind::Text, url_param: Some("unit"), help: "Measurement units to display\nScale the sample values to this unit.\nFor time-based profiles, use seconds, milliseconds, nanoseconds, etc.\nFor memory profiles, use megabytes, kilobytes, bytes, etc.\nUsing auto will scale each value independently to the most natural unit." },
    Field { name: "compact_labels", kind: Kind::Bool, url_param: Some("compact"), help: "Show minimal headers" },
    Field { name: "source_path", kind: Kind::Text, url_param: None, help: "Search path for source files" },
    Field { name: "trim_path", kind: Kind::Text, url_param: None, help: "Path to trim from source paths before search" },
    Field { name: "intel_syntax", kind: Kind::Bool, url_param: Some("intel"), help: "Show assembly in Intel syntax\nOnly applicable to commands `disasm` and `weblist`" },
    Field { name: "mean", kind: Kind::Bool, url_param: Some("mean"), help: "Average sample value over first value (count)\nFor memory profiles, report average memory per allocation.\nFor time-based profiles, report average time per event." },
    Field { name: "sample_index", kind: Kind::Text, url_param: Some("si"), help: "Sample value to report (0-based index or name)\nProfiles contain multiple values per sample.\nUse sample_index=i to select the ith value (starting at 0)." },
    Field { name: "divide_by", kind: Kind::Float, url_param: None, help: "Ratio to divide all samples before visualization\nDivide all samples values by a constant, eg the number of processors or jobs." },
    Field { name: "normalize", kind: Kind::Bool, url_param: Some("norm"), help: "Scales profile based on the base profile." },
    Field { name: "sort", kind: Kind::Choice(SORT_CHOICES), url_param: Some("sort"), help: "" },
    Field { name: "tagroot", kind: Kind::Text, url_param: None, help: "Adds pseudo stack frames for labels key/value pairs at the callstack root.\nComma separated list of label keys.\nThe first key creates frames at the new root." },
    Field { name: "tagleaf", kind: Kind::Text, url_param: None, help: "Adds pseudo stack frames for labels key/value pairs at the callstack leaf.\nComma separated list of label keys.\nThe last key creates frames at the new leaf." },
    Field { name: "drop_negative", kind: Kind::Bool, url_param: Some("dropneg"), help: "Ignore negative differences\nDo not show any locations with values <0." },
    Field { name: "nodecount", kind: Kind::Int, url_param: Some("n"), help: "Max number of nodes to show\nUses heuristics to limit the number of locations to be displayed.\nOn graphs, dotted edges represent paths through nodes that have been removed." },
    Field { name: "nodefraction", kind: Kind::Float, url_param: Some("nf"), help: "Hide nodes below <f>*total" },
    Field { name: "edgefraction", kind: Kind::Float, url_param: Some("ef"), help: "Hide edges below <f>*total" },
    Field { name: "trim", kind: Kind::Bool, url_param: Some("trim"), help: "Honor nodefraction/edgefraction/nodecount defaults\nSet to false to get the full profile, without any trimming." },
    Field { name: "focus", kind: Kind::Text, url_param: Some("f"), help: "Restricts to samples going through a node matching regexp\nDiscard samples that do not include a node matching this regexp.\nMatching includes the function name, filename or object name." },
    Field { name: "ignore", kind: Kind::Text, url_param: Some("i"), help: "Skips paths going through any nodes matching regexp\nIf set, discard samples that include a node matching this regexp.\nMatching includes the function name, filename or object name." },
    Field { name: "prune_from", kind: Kind::Text, url_param: Some("prunefrom"), help: "Drops any functions below the matched frame.\nIf set, any frames matching the specified regexp and any frames\nbelow it will be dropped from each sample." },
    Field { name: "hide", kind: Kind::Text, url_param: Some("h"), help: "Skips nodes matching regexp\nDiscard nodes that match this location.\nOther nodes from samples that include this location will be shown.\nMatching includes the function name, filename or object name." },
    Field { name: "show", kind: Kind::Text, url_param: Some("s"), help: "Only show nodes matching regexp\nIf set, only show nodes that match this location.\nMatching includes the function name, filename or object name." },
    Field { name: "show_from", kind: Kind::Text, url_param: Some("sf"), help: "Drops functions above the highest matched frame.\nIf set, all frames above the highest match are dropped from every sample.\nMatching includes the function name, filename or object name." },
    Field { name: "tagfocus", kind: Kind::Text, url_param: Some("tf"), help: "Restricts to samples with tags in range or matched by regexp\nUse name=value syntax to limit the matching to a specific tag.\nNumeric tag filter examples: 1kb, 1kb:10kb, memory=32mb:\nString tag filter examples: foo, foo.*bar, mytag=foo.*bar" },
    Field { name: "tagignore", kind: Kind::Text, url_param: Some("ti"), help: "Discard samples with tags in range or matched by regexp\nUse name=value syntax to limit the matching to a specific tag.\nNumeric tag filter examples: 1kb, 1kb:10kb, memory=32mb:\nString tag filter examples: foo, foo.*bar, mytag=foo.*bar" },
    Field { name: "tagshow", kind: Kind::Text, url_param: Some("ts"), help: "Only consider tags matching this regexp\nDiscard tags that do not match this regexp" },
    Field { name: "taghide", kind: Kind::Text, url_param: Some("th"), help: "Skip tags matching this regexp\nDiscard tags that match this regexp" },
    Field { name: "noinlines", kind: Kind::Bool, url_param: Some("noinlines"), help: "Ignore inlines.\nAttributes inlined functions to their first out-of-line caller." },
    Field { name: "showcolumns", kind: Kind::Bool, url_param: Some("showcolumns"), help: "Show column numbers at the source code line level." },
    Field { name: "granularity", kind: Kind::Choice(GRANULARITY_CHOICES), url_param: Some("g"), help: "" },
];

/// Help of each choice word, shown for `-functions`, `-cum`, ….
pub fn choice_help(choice: &str) -> &'static str {
    match choice {
        "cum" => "Sort entries based on cumulative weight",
        "flat" => "Sort entries based on own weight",
        "functions" => "Aggregate at the function level.\nIgnores the filename where the function was defined.",
        "filefunctions" => "Aggregate at the function level.\nTakes into account the filename where the function was defined.",
        "files" => "Aggregate at the file level.",
        "lines" => "Aggregate at the source code line level.",
        "addresses" => "Aggregate at the address level.\nIncludes functions' addresses in the output.",
        _ => "",
    }
}

/// Why an option could not be set.
#[derive(Debug, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Parses a boolean option value as pprof does in the shell and in URLs (its
/// `stringToBool`): any case of `true`, `t`, `yes`, `y`, `1`, or nothing at all, is true;
/// `false`, `f`, `no`, `n`, `0` are false. (Command-line flags follow Go's
/// `strconv.ParseBool` instead.)
pub fn parse_bool(value: &str) -> Option<bool> {
    match value.to_ascii_lowercase().as_str() {
        "" | "1" | "t" | "true" | "y" | "yes" => Some(true),
        "0" | "f" | "false" | "n" | "no" => Some(false),
        _ => None,
    }
}

/// The option (field) a name refers to: the field itself or one of its choice words.
pub fn lookup(name: &str) -> Option<&'static Field> {
    FIELDS
        .iter()
        .find(|f| f.name == name || matches!(f.kind, Kind::Choice(c) if c.contains(&name)))
}

impl Config {
    /// Whether the sample filters of these options can only select samples (focus,
    /// ignore, tag focus and tag ignore leave the samples they drop stored): no filter
    /// that rewrites stacks or labels (hide, show, show_from, prune_from, tag show and
    /// hide) and no label frames. A report under such options can run on samples it
    /// borrows and gives back unchanged.
    pub fn only_selects_samples(&self) -> bool {
        [
            &self.hide,
            &self.show,
            &self.show_from,
            &self.tag_show,
            &self.tag_hide,
            &self.prune_from,
            &self.tag_root,
            &self.tag_leaf,
        ]
        .iter()
        .all(|v| v.is_empty())
    }

    /// The value of option `name` as text (as the shell's `options` command shows it).
    pub fn get(&self, name: &str) -> Option<String> {
        Some(match name {
            "output" => self.output.clone(),
            "call_tree" => self.call_tree.to_string(),
            "relative_percentages" => self.relative_percentages.to_string(),
            "unit" => self.unit.clone(),
            "compact_labels" => self.compact_labels.to_string(),
            "source_path" => self.source_path.clone(),
            "trim_path" => self.trim_path.clone(),
            "intel_syntax" => self.intel_syntax.to_string(),
            "mean" => self.mean.to_string(),
            "sample_index" => self.sample_index.clone(),
            "divide_by" => format_float(self.divide_by),
            "normalize" => self.normalize.to_string(),
            "sort" => self.sort.clone(),
            "tagroot" => self.tag_root.clone(),
            "tagleaf" => self.tag_leaf.clone(),
            "drop_negative" => self.drop_negative.to_string(),
            "nodecount" => self.node_count.to_string(),
            "nodefraction" => format_float(self.node_fraction),
            "edgefraction" => format_float(self.edge_fraction),
            "trim" => self.trim.to_string(),
            "focus" => self.focus.clone(),
            "ignore" => self.ignore.clone(),
            "prune_from" => self.prune_from.clone(),
            "hide" => self.hide.clone(),
            "show" => self.show.clone(),
            "show_from" => self.show_from.clone(),
            "tagfocus" => self.tag_focus.clone(),
            "tagignore" => self.tag_ignore.clone(),
            "tagshow" => self.tag_show.clone(),
            "taghide" => self.tag_hide.clone(),
            "noinlines" => self.no_inlines.to_string(),
            "showcolumns" => self.show_columns.to_string(),
            "granularity" => self.granularity.clone(),
            _ => return None,
        })
    }

    /// Sets option `name` (a field name or a choice word such as `cum`) from text.
    pub fn set(&mut self, name: &str, value: &str) -> Result<(), ConfigError> {
        let Some(field) = lookup(name) else {
            return Err(ConfigError(format!("unknown config field {name:?}")));
        };
        if field.name != name {
            // A choice word: `cum=true` selects it.
            return match parse_bool(value) {
                Some(true) => self.set(field.name, name),
                _ => Err(ConfigError(format!("unknown config field {name:?}"))),
            };
        }
        let bool_value = || {
            parse_bool(value)
                .ok_or_else(|| ConfigError(format!("illegal value \"{value}\" for bool variable")))
        };
        let float_value = || {
            value.trim().parse::<f64>().map_err(|_| {
                ConfigError(format!(
                    "strconv.ParseFloat: parsing {value:?}: invalid syntax"
                ))
            })
        };
        if let Kind::Choice(choices) = field.kind {
            if !choices.contains(&value) {
                return Err(ConfigError(format!(
                    "invalid {:?} value {value:?}",
                    field.name
                )));
            }
        }
        match name {
            "output" => self.output = value.into(),
            "call_tree" => self.call_tree = bool_value()?,
            "relative_percentages" => self.relative_percentages = bool_value()?,
            "unit" => self.unit = value.into(),
            "compact_labels" => self.compact_labels = bool_value()?,
            "source_path" => self.source_path = value.into(),
            "trim_path" => self.trim_path = value.into(),
            "intel_syntax" => self.intel_syntax = bool_value()?,
            "mean" => self.mean = bool_value()?,
            "sample_index" => self.sample_index = value.into(),
            "divide_by" => self.divide_by = float_value()?,
            "normalize" => self.normalize = bool_value()?,
            "sort" => self.sort = value.into(),
            "tagroot" => self.tag_root = value.into(),
            "tagleaf" => self.tag_leaf = value.into(),
            "drop_negative" => self.drop_negative = bool_value()?,
            "nodecount" => {
                self.node_count = value.trim().parse().map_err(|_| {
                    ConfigError(format!("strconv.Atoi: parsing {value:?}: invalid syntax"))
                })?
            }
            "nodefraction" => self.node_fraction = float_value()?,
            "edgefraction" => self.edge_fraction = float_value()?,
            "trim" => self.trim = bool_value()?,
            "focus" => self.focus = value.into(),
            "ignore" => self.ignore = value.into(),
            "prune_from" => self.prune_from = value.into(),
            "hide" => self.hide = value.into(),
            "show" => self.show = value.into(),
            "show_from" => self.show_from = value.into(),
            "tagfocus" => self.tag_focus = value.into(),
            "tagignore" => self.tag_ignore = value.into(),
            "tagshow" => self.tag_show = value.into(),
            "taghide" => self.tag_hide = value.into(),
            "noinlines" => self.no_inlines = bool_value()?,
            "showcolumns" => self.show_columns = bool_value()?,
            "granularity" => self.granularity = value.into(),
            _ => return Err(ConfigError(format!("unknown config field {name:?}"))),
        }
        Ok(())
    }
}

/// Formats a float as Go's `fmt.Sprint` does for the values options hold.
pub fn format_float(v: f64) -> String {
    if v == v.trunc() && v.abs() < 1e21 {
        format!("{}", v as i64)
    } else {
        let s = format!("{v}");
        if v.abs() < 1e-4 && v != 0.0 {
            format!("{v:e}")
        } else {
            s
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn option_bools_take_pprofs_spellings_and_nothing_means_true() {
        let mut c = Config::default();
        for (v, want) in [("", true), ("NO", false), ("Yes", true), ("f", false)] {
            c.set("mean", v).unwrap();
            assert_eq!(c.mean, want, "{v:?}");
        }
        assert_eq!(
            c.set("mean", "maybe"),
            Err(ConfigError(
                "illegal value \"maybe\" for bool variable".into()
            ))
        );
    }

    #[test]
    fn choice_words_select_their_field() {
        let mut c = Config::default();
        c.set("cum", "true").unwrap();
        assert_eq!(c.sort, "cum");
        c.set("granularity", "lines").unwrap();
        assert_eq!(c.granularity, "lines");
    }

    #[test]
    fn invalid_choice_is_rejected_with_the_field_name() {
        let mut c = Config::default();
        let e = c.set("granularity", "bytes").unwrap_err();
        assert_eq!(e.0, "invalid \"granularity\" value \"bytes\"");
    }

    #[test]
    fn unknown_option_is_rejected() {
        let mut c = Config::default();
        assert!(c.set("nodecolor", "1").is_err());
    }

    #[test]
    fn floats_print_like_go() {
        assert_eq!(format_float(0.005), "0.005");
        assert_eq!(format_float(1.0), "1");
    }
}
