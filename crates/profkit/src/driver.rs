//! The driver: turns a command line into sources, options and a report, as pprof's
//! driver does, and runs the pipeline source → profile → filters → report → output.

use std::io::Write;

use profile::Profile;
use regex::Regex;
use report::OutputFormat;

use crate::commands::{self, Command, PostProcess};
use crate::config::{Config, Kind, FIELDS};
use crate::fetch::{self, Sources};
use crate::flags::{self, FlagKind};

/// What the command line asks for.
#[derive(Debug)]
pub struct Invocation {
    /// Where the profiles come from.
    pub sources: Sources,
    /// Report options.
    pub config: Config,
    /// The report to produce, with its regex argument; `None` for the shell or web UI.
    pub command: Option<(&'static Command, Option<String>)>,
    /// `-http` host:port.
    pub http: String,
    /// `-no_browser`.
    pub no_browser: bool,
}

/// An error that ends the program: its message goes to stderr.
#[derive(Debug)]
pub struct Failure(pub String);

impl<E: std::fmt::Display> From<E> for Failure {
    fn from(e: E) -> Failure {
        Failure(e.to_string())
    }
}

/// Flags with a value; as in pprof, `-base` and `-diff_base` keep only their last value.
const SOURCE_VALUE_FLAGS: &[&str] = &[
    "base",
    "diff_base",
    "symbolize",
    "buildid",
    "timeout",
    "add_comment",
    "seconds",
    "tls_ca",
    "tls_cert",
    "tls_key",
    "tools",
    "http",
];
const SOURCE_BOOL_FLAGS: &[&str] = &[
    "all_frames",
    "no_browser",
    "inuse_space",
    "inuse_objects",
    "alloc_space",
    "alloc_objects",
    "total_delay",
    "contentions",
    "mean_delay",
];

fn flag_kind(name: &str) -> Option<FlagKind> {
    if SOURCE_VALUE_FLAGS.contains(&name) {
        return Some(FlagKind::Value);
    }
    if SOURCE_BOOL_FLAGS.contains(&name) {
        return Some(FlagKind::Bool);
    }
    if let Some(c) = commands::find(name) {
        return Some(if c.has_param {
            FlagKind::Value
        } else {
            FlagKind::Bool
        });
    }
    for f in FIELDS {
        if f.name == name {
            // A choice group (granularity, sort) is set by its choices' own flags.
            return match f.kind {
                Kind::Bool => Some(FlagKind::Bool),
                Kind::Choice(_) => None,
                _ => Some(FlagKind::Value),
            };
        }
        if let Kind::Choice(choices) = f.kind {
            if choices.contains(&name) {
                return Some(FlagKind::Bool);
            }
        }
    }
    None
}

/// Parses the command line (without the program name).
pub fn parse_invocation(args: &[String]) -> Result<Invocation, Failure> {
    let parsed = flags::parse(args, flag_kind).map_err(Failure)?;
    let mut config = Config::default();
    // Options, including choice words used as booleans.
    for f in FIELDS {
        if let Some(v) = parsed.get(f.name) {
            config.set(f.name, v).map_err(|_| {
                Failure(format!(
                    "invalid value {v:?} for flag -{}: parse error",
                    f.name
                ))
            })?;
        }
        if let Kind::Choice(choices) = f.kind {
            let set: Vec<&str> = choices
                .iter()
                .copied()
                .filter(|c| parsed.is_true(c))
                .collect();
            match set.len() {
                0 => {}
                1 => config.set(f.name, set[0]).map_err(Failure::from)?,
                _ => {
                    return Err(Failure(format!(
                        "conflicting options set: [{}]",
                        set.join(" ")
                    )))
                }
            }
        }
    }
    if parsed.args.is_empty() {
        return Err(Failure("no profile source specified".into()));
    }
    let mut command = None;
    for c in commands::COMMANDS {
        let chosen = if c.has_param {
            parsed
                .get(c.name)
                .filter(|v| !v.is_empty())
                .map(|v| Some(v.to_string()))
        } else {
            parsed.is_true(c.name).then_some(None)
        };
        if let Some(arg) = chosen {
            if command.is_some() {
                return Err(Failure("must set at most one output format".into()));
            }
            command = Some((c, arg));
        }
    }
    let http = parsed.get("http").unwrap_or("").to_string();
    let no_browser = parsed.is_true("no_browser");
    if command.is_some() && !http.is_empty() {
        return Err(Failure(
            "-http is not compatible with an output format on the command line".into(),
        ));
    }
    if no_browser && http.is_empty() {
        return Err(Failure("-no_browser only makes sense with -http".into()));
    }
    for (flag, sample_type) in [
        ("total_delay", "delay"),
        ("mean_delay", "delay"),
        ("contentions", "contentions"),
        ("inuse_space", "inuse_space"),
        ("inuse_objects", "inuse_objects"),
        ("alloc_space", "alloc_space"),
        ("alloc_objects", "alloc_objects"),
    ] {
        if parsed.is_true(flag) {
            if config.sample_index.is_empty() {
                config.sample_index = sample_type.to_string();
            } else {
                eprintln!("Multiple value selections, ignoring -{flag}");
            }
        }
    }
    if parsed.is_true("mean_delay") {
        config.mean = true;
    }
    let int_flag = |name: &str| -> Result<i64, Failure> {
        match parsed.get(name) {
            None => Ok(-1),
            Some(v) => parse_go_int(v).ok_or_else(|| {
                Failure(format!("invalid value {v:?} for flag -{name}: parse error"))
            }),
        }
    };
    // pprof keeps the last -base (or -diff_base) given; an empty one is none.
    let nonempty = |name: &str| -> Vec<String> {
        parsed
            .get(name)
            .filter(|s| !s.is_empty())
            .map(String::from)
            .into_iter()
            .collect()
    };
    let (base, diff_base) = (nonempty("base"), nonempty("diff_base"));
    if !base.is_empty() && !diff_base.is_empty() {
        return Err(Failure(
            "-base and -diff_base flags cannot both be specified".into(),
        ));
    }
    let mut sources = Sources {
        sources: parsed.args.clone(),
        diff_base: !diff_base.is_empty(),
        bases: if diff_base.is_empty() {
            base
        } else {
            diff_base
        },
        normalize: config.normalize,
        seconds: int_flag("seconds")?,
        timeout: int_flag("timeout")?,
        all_frames: parsed.is_true("all_frames"),
        comment: parsed.get("add_comment").unwrap_or("").to_string(),
        symbolize: parsed.get("symbolize").unwrap_or("").to_string(),
        exec_name: None,
        build_id: parsed
            .get("buildid")
            .filter(|b| !b.is_empty())
            .map(String::from),
        labels: true,
        numeric_labels: true,
        stacks: true,
        ordered_labels: true,
        tls: crate::http::TlsFiles {
            cert: parsed.get("tls_cert").unwrap_or("").to_string(),
            key: parsed.get("tls_key").unwrap_or("").to_string(),
            ca: parsed.get("tls_ca").unwrap_or("").to_string(),
        },
    };
    if sources.normalize && sources.bases.is_empty() {
        return Err(Failure("must have base profile to normalize by".into()));
    }
    // A first argument that is a binary names the executable, not a profile.
    if sources.sources.len() > 1 && is_object_file(&sources.sources[0]) {
        sources.exec_name = Some(sources.sources.remove(0));
    }
    let read = sample_parts_read(command.as_ref().map(|(c, _)| *c), &config, &sources);
    sources.labels = read.labels;
    sources.numeric_labels = read.numeric_labels;
    sources.stacks = read.stacks;
    sources.ordered_labels = read.ordered_labels;
    Ok(Invocation {
        sources,
        config,
        command,
        http,
        no_browser,
    })
}

/// The parts of the samples a run reads (see [`sample_parts_read`]).
struct PartsRead {
    labels: bool,
    /// Numeric labels, when labels are read at all.
    numeric_labels: bool,
    stacks: bool,
    /// Labels in pprof's canonical order, when labels are read at all.
    ordered_labels: bool,
}

/// Which parts of the samples a run reads, so that the others can be left out when
/// decoding. Everything, unless the run makes one report of a single profile (the shell
/// and the web UI may run any report; merged and compared profiles are matched sample
/// by sample). Labels are read by tag options and by the reports that print labels or
/// tags (-tags, -traces, -raw, -proto, drawings, callgrind); numeric labels only by
/// those reports, numeric ranges, label frames and the key filters (`-tagfocus=1kb:`,
/// `-tagroot`, `-tagshow`), not by the regular expressions of `-tagfocus` and
/// `-tagignore`, which match string labels; stacks by every report but -tags, and by
/// the options that select samples or frames by their stacks; labels in their canonical
/// order by every report but -tags, which only sums values by label, and by the options
/// that rewrite labels or make frames of them.
fn sample_parts_read(command: Option<&Command>, cfg: &Config, s: &Sources) -> PartsRead {
    let everything = PartsRead {
        labels: true,
        numeric_labels: true,
        stacks: true,
        ordered_labels: true,
    };
    let Some(command) = command else {
        return everything;
    };
    if s.sources.len() != 1 || !s.bases.is_empty() {
        return everything;
    }
    let any_set = |options: &[&String]| options.iter().any(|v| !v.is_empty());
    let prints_labels = !matches!(
        command.format,
        OutputFormat::Text
            | OutputFormat::Tree
            | OutputFormat::List
            | OutputFormat::Dis
            | OutputFormat::WebList
            | OutputFormat::FlameGraph
            | OutputFormat::FlameGraphHtml
            | OutputFormat::Folded
            | OutputFormat::Comments
            | OutputFormat::TopProto
    );
    let labels = prints_labels
        || any_set(&[
            &cfg.tag_focus,
            &cfg.tag_ignore,
            &cfg.tag_show,
            &cfg.tag_hide,
            &cfg.tag_root,
            &cfg.tag_leaf,
        ]);
    let ranges = [("tagfocus", &cfg.tag_focus), ("tagignore", &cfg.tag_ignore)]
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .any(|(name, v)| {
            // A filter that does not parse fails the run later; read everything.
            profile::TagFilter::parse(name, v, &Default::default()).map_or(true, |f| f.is_range())
        });
    // Label frames are made of numeric labels too, and `-tagshow`/`-taghide` match the
    // keys of both kinds (pprof warns when one matches none).
    let numeric_labels = prints_labels
        || ranges
        || any_set(&[&cfg.tag_root, &cfg.tag_leaf, &cfg.tag_show, &cfg.tag_hide]);
    let stacks = any_set(&[
        &cfg.focus,
        &cfg.ignore,
        &cfg.hide,
        &cfg.show,
        &cfg.show_from,
        &cfg.prune_from,
        &cfg.tag_root,
        &cfg.tag_leaf,
    ]) || command.format != OutputFormat::Tags;
    let ordered_labels = command.format != OutputFormat::Tags
        || any_set(&[&cfg.tag_root, &cfg.tag_leaf, &cfg.tag_show, &cfg.tag_hide]);
    PartsRead {
        labels,
        numeric_labels,
        stacks,
        ordered_labels,
    }
}

/// Parses an integer as Go's flag package does (decimal, 0x hex, 0 octal, 0b binary).
fn parse_go_int(v: &str) -> Option<i64> {
    let (neg, digits) = match v.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, v.strip_prefix('+').unwrap_or(v)),
    };
    let n = if let Some(h) = digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        i64::from_str_radix(h, 16).ok()?
    } else if let Some(b) = digits
        .strip_prefix("0b")
        .or_else(|| digits.strip_prefix("0B"))
    {
        i64::from_str_radix(b, 2).ok()?
    } else if digits.len() > 1 && digits.starts_with('0') {
        i64::from_str_radix(digits.trim_start_matches("0o"), 8).ok()?
    } else {
        digits.parse().ok()?
    };
    Some(if neg { -n } else { n })
}

/// Whether `path` is an executable or shared object (ELF or Mach-O).
fn is_object_file(path: &str) -> bool {
    use std::io::Read;
    let mut magic = [0u8; 4];
    let Ok(mut f) = std::fs::File::open(path) else {
        return false;
    };
    if f.read_exact(&mut magic).is_err() {
        return false;
    }
    magic == *b"\x7fELF"
        || matches!(
            u32::from_le_bytes(magic),
            0xfeedface | 0xfeedfacf | 0xcefaedfe | 0xcffaedfe | 0xcafebabe
        )
}

/// Runs profkit with these arguments; returns the process exit status.
pub fn run(args: &[String]) -> i32 {
    // `-h` prints the usage and succeeds, as Go's flag package does.
    if flags::parse(args, flag_kind).is_ok_and(|p| p.help) {
        eprintln!("{}", crate::usage::command_line_usage().trim_end());
        return 0;
    }
    let outcome = run_inner(args);
    crate::viewer::remove_shown_files();
    match outcome {
        Ok(()) => 0,
        Err(Failure(message)) => {
            let message = message.trim_end();
            if !message.is_empty() {
                eprintln!("{message}");
            }
            2
        }
    }
}

fn run_inner(args: &[String]) -> Result<(), Failure> {
    let inv = parse_invocation(args)?;
    if inv.command.is_none() && !inv.http.is_empty() {
        crate::web::share_one_allocator_arena();
    }
    let profile = fetch::fetch_profiles(&inv.sources).map_err(Failure)?;
    match inv.command {
        Some((command, arg))
            if command.post == PostProcess::None
                && (command.viewer.is_none() || !inv.config.output.is_empty()) =>
        {
            // Text and binary reports stream into their destination.
            let prepared = prepare_report(profile, command, arg.as_deref(), &inv.config)?;
            let mut out = crate::output::Output::for_report(command, &inv.config)?;
            render(prepared, out.writer())?;
            out.finish()
        }
        Some((command, arg)) => {
            let out = generate_report(profile, command, arg.as_deref(), &inv.config)?;
            crate::output::write_report(&out, command, &inv.config)
        }
        None if !inv.http.is_empty() => crate::web::serve(
            profile,
            inv.config,
            &inv.http,
            inv.no_browser,
            inv.sources.diff_base,
        ),
        None => crate::shell::run(profile, inv.config),
    }
}

/// pprof's per-command adjustments of the options (granularity, trimming, node count).
pub fn apply_command_overrides(command: &Command, mut cfg: Config) -> Config {
    let mut trim = cfg.trim;
    match command.name {
        "disasm" => {
            trim = false;
            cfg.granularity = "addresses".into();
            cfg.no_inlines = true;
        }
        "weblist" => {
            trim = false;
            cfg.granularity = "addresses".into();
            cfg.no_inlines = false;
        }
        "peek" => trim = false,
        "list" => {
            trim = false;
            cfg.granularity = "lines".into();
        }
        "text" | "top" | "topproto" => {
            if cfg.node_count == -1 {
                cfg.node_count = 0;
            }
        }
        _ => {
            if cfg.node_count == -1 {
                cfg.node_count = 80;
            }
        }
    }
    if matches!(
        command.format,
        OutputFormat::Proto | OutputFormat::Raw | OutputFormat::Callgrind
    ) {
        trim = false;
        cfg.granularity = "addresses".into();
    }
    if !trim {
        cfg.node_count = 0;
        cfg.node_fraction = 0.0;
        cfg.edge_fraction = 0.0;
    }
    cfg
}

/// A profile filtered and aggregated for a report, with the report's options and the
/// total its percentages are relative to.
pub struct PreparedReport {
    /// The profile after filters and aggregation.
    pub profile: Profile,
    /// The report options.
    pub options: report::Options,
    /// The total percentages are relative to.
    pub total: i64,
}

/// Renders `command` on `p` with `cfg`, returning the report's bytes (post-processed for
/// graphical formats).
pub fn generate_report(
    mut p: Profile,
    command: &Command,
    arg: Option<&str>,
    cfg: &Config,
) -> Result<Vec<u8>, Failure> {
    generate_report_in_place(&mut p, command, arg, cfg)
}

/// [`generate_report`] on a profile the caller keeps: the filters select its samples,
/// aggregation and the report rewrite its tables (and, unless
/// [`Config::only_selects_samples`] and the report is not `-proto`, its samples).
pub fn generate_report_in_place(
    p: &mut Profile,
    command: &Command,
    arg: Option<&str>,
    cfg: &Config,
) -> Result<Vec<u8>, Failure> {
    let (options, total) = prepare_report_in_place(p, command, arg, cfg, None)?;
    let mut out = Vec::new();
    render_in_place(p, &options, total, &mut out)?;
    match command.post {
        PostProcess::None => Ok(out),
        PostProcess::Dot(format) => crate::graphviz::render(&out, format).map_err(Failure),
        PostProcess::Svg => crate::graphviz::render_svg(&out).map_err(Failure),
    }
}

/// Renders a prepared report into `w`, with the local binaries at hand for disassembly.
///
/// The profile is not freed: the process ends with the report, and freeing a large
/// profile after a report that made and freed many small blocks has glibc's malloc
/// consolidate them all first (50 to 80 ms after `-callgrind`).
fn render(prepared: PreparedReport, w: &mut dyn Write) -> Result<(), Failure> {
    let PreparedReport {
        profile: mut p,
        options,
        total,
    } = prepared;
    render_in_place(&mut p, &options, total, w)?;
    std::mem::forget(p);
    Ok(())
}

/// Renders the report `options` ask for of the prepared profile `p` into `w`.
fn render_in_place(
    p: &mut Profile,
    options: &report::Options,
    total: i64,
    w: &mut dyn Write,
) -> Result<(), Failure> {
    let binaries = crate::objtool::Binaries::default();
    report::generate_with_binaries(w, p, options, total, Some(&binaries))?;
    Ok(())
}

/// Applies `cfg` to `p` for `command` as pprof does before rendering (label frames,
/// filters, aggregation) and settles the report options and total.
pub fn prepare_report(
    mut p: Profile,
    command: &Command,
    arg: Option<&str>,
    cfg: &Config,
) -> Result<PreparedReport, Failure> {
    let (options, total) = prepare_report_in_place(&mut p, command, arg, cfg, None)?;
    Ok(PreparedReport {
        profile: p,
        options,
        total,
    })
}

/// The units of a profile's numeric labels: the unit of each key, and the other units
/// seen with it (what [`Profile::num_label_units`] returns).
pub type LabelUnits = (
    std::collections::HashMap<String, String>,
    std::collections::HashMap<String, Vec<String>>,
);

/// [`prepare_report`] on a profile the caller keeps, even when it fails: returns the
/// report options and the total. `units` are the numeric label units of the profile
/// the samples were taken from (computed from `p` when `None`).
pub fn prepare_report_in_place(
    p: &mut Profile,
    command: &Command,
    arg: Option<&str>,
    cfg: &Config,
    units: Option<LabelUnits>,
) -> Result<(report::Options, i64), Failure> {
    let (num_label_units, ignored_units) = units.unwrap_or_else(|| p.num_label_units());
    let mut ignored: Vec<_> = ignored_units.into_iter().collect();
    ignored.sort();
    for (key, units) in ignored {
        eprintln!(
            "For tag {key} used unit {}, also encountered unit(s) {}",
            num_label_units.get(&key).map(String::as_str).unwrap_or(""),
            units.join(", ")
        );
    }
    let cfg = apply_command_overrides(command, cfg.clone());

    let split_keys = |s: &str| -> Vec<String> {
        s.split(',')
            .filter(|k| !k.is_empty())
            .map(String::from)
            .collect()
    };
    let (root_keys, leaf_keys) = (split_keys(&cfg.tag_root), split_keys(&cfg.tag_leaf));
    if !root_keys.is_empty() || !leaf_keys.is_empty() {
        let (rootm, leafm) = p.add_label_frames(&root_keys, &leaf_keys, &cfg.unit);
        warn_no_matches(cfg.tag_root.is_empty() || rootm, "TagRoot");
        warn_no_matches(cfg.tag_leaf.is_empty() || leafm, "TagLeaf");
    }

    let relative = cfg.relative_percentages;
    if relative {
        apply_focus(p, &num_label_units, &cfg)?;
    }
    let mut options = report_options(p, num_label_units.clone(), &cfg)?;
    options.format = command.format;
    if options.format == OutputFormat::FlameGraph && cfg.output.ends_with(".html") {
        options.format = OutputFormat::FlameGraphHtml;
    }
    if let Some(arg) = arg {
        let rx = crate::regexp::compile(arg)
            .map_err(|e| Failure(format!("parsing argument regexp {arg}: {e}")))?;
        options.symbol = Some(rx);
    }
    // The total is computed before focusing unless percentages are relative.
    let total = report::compute_total(p, &options);
    if !relative {
        apply_focus(p, &num_label_units, &cfg)?;
    }
    aggregate(p, &cfg)?;
    Ok((options, total))
}

fn warn_no_matches(matched: bool, option: &str) {
    if !matched {
        eprintln!("{option} expression matched no samples");
    }
}

/// Compiles a filter regex option, pprof's way.
fn regex_option(name: &str, value: &str) -> Result<Option<Regex>, Failure> {
    if value.is_empty() {
        return Ok(None);
    }
    crate::regexp::compile(value)
        .map(Some)
        .map_err(|e| Failure(format!("parsing {name} regexp: {e}")))
}

/// Applies the focus, ignore, hide, show, show_from, tag and prune_from filters.
fn apply_focus(
    p: &mut Profile,
    num_label_units: &std::collections::HashMap<String, String>,
    cfg: &Config,
) -> Result<(), Failure> {
    let focus = regex_option("focus", &cfg.focus)?;
    let ignore = regex_option("ignore", &cfg.ignore)?;
    let hide = regex_option("hide", &cfg.hide)?;
    let show = regex_option("show", &cfg.show)?;
    let show_from = regex_option("show_from", &cfg.show_from)?;
    let tag_filter = |name: &str, value: &str| -> Result<Option<profile::TagFilter>, Failure> {
        if value.is_empty() {
            return Ok(None);
        }
        // A bad regex gets Go's wording of the first part that does not compile.
        let regexes = value.split_once('=').map_or(value, |(_, v)| v);
        for part in regexes.split(',') {
            if let Err(e) = crate::regexp::compile(part) {
                if profile::TagFilter::parse(name, value, num_label_units).is_err() {
                    return Err(Failure(format!("parsing {name} regexp: {e}")));
                }
            }
        }
        let f = profile::TagFilter::parse(name, value, num_label_units)?;
        if f.is_range() {
            let text = value.split_once('=').map_or(value, |(_, v)| v);
            eprintln!("{name}:Interpreted '{text}' as range, not regexp");
        }
        Ok(Some(f))
    };
    let tag_focus = tag_filter("tagfocus", &cfg.tag_focus)?;
    let tag_ignore = tag_filter("tagignore", &cfg.tag_ignore)?;
    let prune_from = regex_option("prune_from", &cfg.prune_from)?;

    // Name filters that only select samples, and tag filters, are applied together.
    let together = (focus.is_some() || ignore.is_some())
        && (tag_focus.is_some() || tag_ignore.is_some())
        && hide.is_none()
        && show.is_none()
        && show_from.is_none();
    let (m, tags) = if together {
        let (m, tags) = p.filter_samples_by_name_and_tag(
            focus.as_ref(),
            ignore.as_ref(),
            tag_focus.as_ref(),
            tag_ignore.as_ref(),
        );
        (m, Some(tags))
    } else {
        let m = p.filter_samples_by_name(
            focus.as_ref(),
            ignore.as_ref(),
            hide.as_ref(),
            show.as_ref(),
        );
        (m, None)
    };
    warn_no_matches(focus.is_none() || m.focus, "Focus");
    warn_no_matches(ignore.is_none() || m.ignore, "Ignore");
    warn_no_matches(hide.is_none() || m.hide, "Hide");
    warn_no_matches(show.is_none() || m.show, "Show");
    if let Some(sf) = &show_from {
        let matched = p.show_from(sf);
        warn_no_matches(matched, "ShowFrom");
    }
    let (tfm, tim) =
        tags.unwrap_or_else(|| p.filter_samples_by_tag(tag_focus.as_ref(), tag_ignore.as_ref()));
    warn_no_matches(tag_focus.is_none() || tfm, "TagFocus");
    warn_no_matches(tag_ignore.is_none() || tim, "TagIgnore");

    let tag_show = regex_option("tagshow", &cfg.tag_show)?;
    let tag_hide = regex_option("taghide", &cfg.tag_hide)?;
    if tag_show.is_some() || tag_hide.is_some() {
        let (tns, tnh) = p.filter_tags_by_name(tag_show.as_ref(), tag_hide.as_ref());
        warn_no_matches(tag_show.is_none() || tns, "TagShow");
        warn_no_matches(tag_hide.is_none() || tnh, "TagHide");
    }
    if let Some(pf) = &prune_from {
        p.prune_from(pf);
    }
    Ok(())
}

/// Aggregates the profile at the configured granularity.
fn aggregate(p: &mut Profile, cfg: &Config) -> Result<(), Failure> {
    let inlines = !cfg.no_inlines;
    let (function, filename, line, address) = match cfg.granularity.as_str() {
        "" | "functions" => (true, false, false, false),
        "addresses" => {
            if inlines {
                return Ok(());
            }
            (true, true, true, true)
        }
        "lines" => (true, true, true, false),
        "files" => (false, true, false, false),
        "filefunctions" => (true, true, false, false),
        _ => return Err(Failure("unexpected granularity".into())),
    };
    p.aggregate(inlines, function, filename, line, cfg.show_columns, address)?;
    Ok(())
}

/// The report options for `p` under `cfg` (pprof's reportOptions).
pub fn report_options(
    p: &Profile,
    num_label_units: std::collections::HashMap<String, String>,
    cfg: &Config,
) -> Result<report::Options, Failure> {
    if p.sample_types.is_empty() {
        return Err(Failure("profile has no samples".into()));
    }
    let index = p.sample_index_by_name(&cfg.sample_index)?;
    let mut o = report::Options::new(OutputFormat::Text, p, index);
    if cfg.mean {
        o.sample_type = format!("mean_{}", o.sample_type);
        o.mean = true;
    }
    if cfg.divide_by == 0.0 {
        return Err(Failure("zero divisor specified".into()));
    }
    let mut filters = Vec::new();
    for (k, v) in [
        ("focus", &cfg.focus),
        ("ignore", &cfg.ignore),
        ("hide", &cfg.hide),
        ("show", &cfg.show),
        ("show_from", &cfg.show_from),
        ("tagfocus", &cfg.tag_focus),
        ("tagignore", &cfg.tag_ignore),
        ("tagshow", &cfg.tag_show),
        ("taghide", &cfg.tag_hide),
    ] {
        if !v.is_empty() {
            filters.push(format!("{k}={v}"));
        }
    }
    o.cum_sort = cfg.sort == "cum";
    o.call_tree = cfg.call_tree;
    o.drop_negative = cfg.drop_negative;
    o.compact_labels = cfg.compact_labels;
    o.ratio = 1.0 / cfg.divide_by;
    o.node_count = cfg.node_count.max(0) as usize;
    o.node_fraction = cfg.node_fraction;
    o.edge_fraction = cfg.edge_fraction;
    o.active_filters = filters;
    o.num_label_units = num_label_units;
    o.output_unit = cfg.unit.clone();
    o.source_path = cfg.source_path.clone();
    o.trim_path = cfg.trim_path.clone();
    o.intel_syntax = cfg.intel_syntax;
    if let Some(m) = p.mappings.first() {
        let file = p.str(m.filename);
        if !file.is_empty() {
            o.title = file.rsplit('/').next().unwrap_or(file).to_string();
        }
    }
    Ok(o)
}
