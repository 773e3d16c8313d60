//! The views of the web UI. Each builds a configuration from the command line's options
//! refined by the URL parameters, runs the driver's report pipeline on the loaded
//! profile (see [`prepare`]) and wraps the result in the UI's page.

use std::fmt::Write as _;

use report::flame::{self, BuildOptions, FlameGraph, Orientation, RenderOptions};
use report::measurement::percentage;

use super::page::{self, escape, Page};
use super::server::{Request, Response};
use super::State;
use crate::commands;
use crate::config::{Config, FIELDS};
use crate::driver::{self, Failure};
use profile::{Profile, Samples};
use std::sync::MutexGuard;

/// Rows of the top table (pprof's web UI shows as many).
const TOP_ROWS: i64 = 500;

/// The command line's options refined by the request's URL parameters.
pub fn config_from_url(base: &Config, req: &Request) -> Result<Config, String> {
    let mut cfg = base.clone();
    cfg.output.clear();
    for f in FIELDS {
        let Some(param) = f.url_param else { continue };
        let value = req.param(param);
        if value.is_empty() {
            continue;
        }
        cfg.set(f.name, value)
            .map_err(|e| format!("error setting config field {}: {e}", f.name))?;
    }
    Ok(cfg)
}

/// A report prepared for a view, holding the render lock until it is dropped. When the
/// view's sample filters only select samples (focus, ignore, tag focus, tag ignore), its
/// profile has the loaded profile's samples on loan (the filters leave the samples they
/// drop stored, and otherwise preparing a report changes only metadata), and they are
/// given back whole on drop, even when preparing or rendering fails or panics.
struct Prepared<'a> {
    /// The profile after filters and aggregation.
    profile: Profile,
    /// The report options.
    options: report::Options,
    /// The total percentages are relative to.
    total: i64,
    /// The loaded profile, locked; `lent` says whether `profile` holds its samples.
    loaded: MutexGuard<'a, Profile>,
    /// `profile` holds the loaded profile's samples.
    lent: bool,
}

impl Drop for Prepared<'_> {
    fn drop(&mut self) {
        if self.lent {
            let mut samples = std::mem::take(&mut self.profile.samples);
            samples.clear_selection();
            self.loaded.samples = samples;
        }
    }
}

/// Samples handed to the report pipeline at a time when filtering a copy.
const FILTER_BLOCK: usize = 1 << 16;

/// The samples of `loaded` that pass the `focus` and `ignore` name filters. They are
/// selected a block at a time on `shell` (a copy of the metadata of `loaded`, which
/// these filters leave unchanged), so that only the survivors are ever copied whole.
fn focused_samples(
    loaded: &Profile,
    shell: &mut Profile,
    focus: Option<&regex::Regex>,
    ignore: Option<&regex::Regex>,
) -> Samples {
    let all = &loaded.samples;
    let mut kept = Samples::new(all.width());
    let mut start = 0;
    while start < all.len() {
        let end = (start + FILTER_BLOCK).min(all.len());
        let mut block = Samples::new(all.width());
        for i in start..end {
            let s = all.get(i);
            block.push_stack(s.values, s.locations, s.labels);
        }
        shell.samples = block;
        shell.filter_samples_by_name(focus, ignore, None, None);
        for s in shell.samples.iter() {
            kept.push_stack(s.values, s.locations, s.labels);
        }
        start = end;
    }
    shell.samples = Samples::new(all.width());
    kept
}

/// The `focus` and `ignore` regexes of `cfg` when the samples can be pre-selected by
/// them: one of them is set, both compile, and no label frames are added before
/// filtering (they would change the stacks the filters see).
fn name_prefilter(cfg: &Config) -> Option<(Option<regex::Regex>, Option<regex::Regex>)> {
    if (cfg.focus.is_empty() && cfg.ignore.is_empty())
        || !cfg.tag_root.is_empty()
        || !cfg.tag_leaf.is_empty()
    {
        return None;
    }
    let compile = |v: &str| -> Result<Option<regex::Regex>, ()> {
        if v.is_empty() {
            Ok(None)
        } else {
            crate::regexp::compile(v).map(Some).map_err(|_| ())
        }
    };
    Some((compile(&cfg.focus).ok()?, compile(&cfg.ignore).ok()?))
}

/// Runs the report pipeline of command `name` on the loaded profile, holding the render
/// lock.
///
/// When its sample filters only select samples, the pipeline runs on a copy of the
/// metadata with the samples on loan. Otherwise, with a focus or ignore filter, it runs
/// on a copy holding only the samples that pass them (the pipeline applies them again,
/// which changes nothing), with the label units and, unless percentages are relative,
/// the total of the whole profile; otherwise on a full copy.
fn prepare<'a>(
    state: &'a State,
    name: &str,
    arg: Option<&str>,
    cfg: &Config,
) -> Result<Prepared<'a>, String> {
    let command = commands::find(name).ok_or_else(|| format!("unknown command {name}"))?;
    // A panicking render gives the samples back before it lets go of the lock, so the
    // profile behind a poisoned lock is whole.
    let mut loaded = state
        .profile
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let lend = cfg.only_selects_samples();
    let prefilter = if lend { None } else { name_prefilter(cfg) };
    let mut units = None;
    let copy = if lend {
        let mut copy = loaded.clone_without_samples();
        copy.samples = std::mem::take(&mut loaded.samples);
        copy
    } else if let Some((focus, ignore)) = &prefilter {
        units = Some(loaded.num_label_units());
        let mut copy = loaded.clone_without_samples();
        copy.samples = focused_samples(&loaded, &mut copy, focus.as_ref(), ignore.as_ref());
        copy
    } else {
        loaded.clone()
    };
    let stored = copy.samples.stored_len();
    let mut prepared = Prepared {
        profile: copy,
        options: report::Options::new(report::OutputFormat::Text, &Profile::new(0), 0),
        total: 0,
        loaded,
        lent: lend,
    };
    let (options, mut total) =
        driver::prepare_report_in_place(&mut prepared.profile, command, arg, cfg, units)
            .map_err(|Failure(e)| e)?;
    if prefilter.is_some() && !cfg.relative_percentages {
        total = report::compute_total(&prepared.loaded, &options);
    }
    debug_assert!(!lend || prepared.profile.samples.stored_len() == stored);
    prepared.options = options;
    prepared.total = total;
    Ok(prepared)
}

/// Renders a prepared report to bytes (the report's text, or its dot source).
fn render(r: &mut Prepared<'_>) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    // The machine-code views read the profile's binaries, opened on demand.
    let binaries = crate::objtool::Binaries::default();
    report::generate_with_binaries(
        &mut out,
        &mut r.profile,
        &r.options,
        r.total,
        Some(&binaries),
    )
    .map_err(|e| e.to_string())?;
    Ok(out)
}

/// The legend lines of a prepared report.
fn legend(r: &Prepared<'_>) -> Vec<String> {
    report::profile_labels(&r.profile, &r.options)
}

/// The page of `view` with `body` in it.
fn page_view(state: &State, req: &Request, view: &str, legend: &[String], body: &str) -> Response {
    Response::html(page::render(state, req, &Page { view, legend, body }))
}

/// The page for a view that failed: the error in place of the view.
fn error_page(state: &State, req: &Request, view: &str, status: u16, message: &str) -> Response {
    let body = page::error_body(message);
    let html = page::render(
        state,
        req,
        &Page {
            view,
            legend: &[],
            body: &body,
        },
    );
    let mut resp = Response::html(html);
    resp.status = status;
    resp
}

macro_rules! try_view {
    ($state:expr, $req:expr, $view:expr, $e:expr) => {
        match $e {
            Ok(v) => v,
            Err(message) => return error_page($state, $req, $view, 400, &message),
        }
    };
}

/// `/ui/flamegraph` (and `/ui/`): the flame graph, frames below 0.1% aggregated.
pub fn flame_graph(state: &State, req: &Request) -> Response {
    let view = "flamegraph";
    let cfg = try_view!(state, req, view, config_from_url(&state.config, req));
    let r = try_view!(state, req, view, prepare(state, "flamegraph", None, &cfg));
    let fg = FlameGraph::from_profile(
        &r.profile,
        &BuildOptions {
            sample_index: r.options.sample_index,
            min_fraction: flame::DRAWN_MIN_FRACTION,
        },
    );
    let orientation = if req.param("orient") == "icicle" {
        Orientation::Icicle
    } else {
        Orientation::Flame
    };
    let rpt = report::Report::with_total(&r.profile, r.options.clone(), r.total);
    let opts = RenderOptions {
        title: flame::title(&rpt),
        unit: r.options.sample_unit.clone(),
        orientation,
        width: 1200,
    };
    let mut body = String::from(
        "<div class=\"flame-bar\"><button id=\"flame-reset\" type=\"button\">Reset zoom</button>\
<button id=\"flame-flip\" type=\"button\">Flip</button>\
<span id=\"flame-matched\" class=\"flame-matched\"></span></div>\n",
    );
    body.push_str(&flame::svg_element(&fg, &opts));
    let legend = legend(&r);
    page_view(state, req, view, &legend, &body)
}

/// `/ui/top`: the top entries as a sortable table.
pub fn top(state: &State, req: &Request) -> Response {
    let view = "top";
    let mut cfg = try_view!(state, req, view, config_from_url(&state.config, req));
    cfg.node_count = TOP_ROWS;
    let r = try_view!(state, req, view, prepare(state, "top", None, &cfg));
    let mut rpt = report::Report::with_total(&r.profile, r.options.clone(), r.total);
    let (items, legend) = report::text_items(&mut rpt);
    let total = rpt.total;
    let mut body = String::with_capacity(items.len() * 200 + 1024);
    body.push_str(
        "<table id=\"toptable\" class=\"top\"><thead><tr>\
<th data-sort=\"flat\" class=\"num\">Flat</th><th data-sort=\"flat\" class=\"num\">Flat%</th>\
<th class=\"num\">Sum%</th><th data-sort=\"cum\" class=\"num\">Cum</th>\
<th data-sort=\"cum\" class=\"num\">Cum%</th><th data-sort=\"name\">Name</th><th>Inlined?</th>\
</tr></thead><tbody>\n",
    );
    let mut sum = 0i64;
    for item in &items {
        sum += item.flat;
        let _ = writeln!(
            body,
            "<tr data-flat=\"{}\" data-cum=\"{}\"><td class=\"num\">{}</td><td class=\"num\">{}</td>\
<td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
<td class=\"name\">{}</td><td>{}</td></tr>",
            item.flat,
            item.cum,
            escape(&item.flat_format),
            percentage(item.flat, total).trim(),
            percentage(sum, total).trim(),
            escape(&item.cum_format),
            percentage(item.cum, total).trim(),
            escape(&item.name),
            escape(&item.inline_label),
        );
    }
    body.push_str("</tbody></table>");
    page_view(state, req, view, &legend, &body)
}

/// A text report in a `<pre>`.
fn text_view(state: &State, req: &Request, view: &str, legend: &[String], text: &[u8]) -> Response {
    let body = format!(
        "<pre class=\"report\" id=\"report\">{}</pre>",
        escape(&String::from_utf8_lossy(text))
    );
    page_view(state, req, view, legend, &body)
}

/// `/ui/peek`: callers and callees of the functions matching `f` (all when empty), at
/// line granularity as pprof shows them.
pub fn peek(state: &State, req: &Request) -> Response {
    let view = "peek";
    let mut cfg = try_view!(state, req, view, config_from_url(&state.config, req));
    cfg.granularity = "lines".into();
    let arg = req.param("f");
    let mut r = try_view!(state, req, view, prepare(state, "peek", Some(arg), &cfg));
    let legend = legend(&r);
    let text = try_view!(state, req, view, render(&mut r));
    text_view(state, req, view, &legend, &text)
}

/// `/ui/source`: the annotated source and machine code (`-weblist`) of the functions
/// matching `f`; a hint when `f` is empty.
pub fn source(state: &State, req: &Request) -> Response {
    let view = "source";
    let cfg = try_view!(state, req, view, config_from_url(&state.config, req));
    let arg = req.param("f");
    if arg.is_empty() {
        let r = try_view!(state, req, view, prepare(state, "top", None, &cfg));
        let body =
            "<p class=\"hint\" id=\"hint\">Type a function regexp in the search box and press \
<b>Focus</b> to list the source of the matching functions.</p>";
        let legend = legend(&r);
        return page_view(state, req, view, &legend, body);
    }
    // pprof's Source view is its `weblist`: source lines, each with the instructions
    // compiled from it.
    let mut r = try_view!(state, req, view, prepare(state, "weblist", Some(arg), &cfg));
    r.options.standalone = false;
    let legend = legend(&r);
    let listing = try_view!(state, req, view, render(&mut r));
    page_view(
        state,
        req,
        view,
        &legend,
        &String::from_utf8_lossy(&listing),
    )
}

/// `/ui/disasm`: the annotated disassembly (`-disasm`) of the functions matching `f`
/// (all when empty), at most [`DISASM_FUNCTIONS`] of them, the heaviest first, as pprof
/// shows it.
pub fn disasm(state: &State, req: &Request) -> Response {
    let view = "disasm";
    let cfg = try_view!(state, req, view, config_from_url(&state.config, req));
    let mut r = try_view!(
        state,
        req,
        view,
        prepare(state, "disasm", Some(req.param("f")), &cfg)
    );
    r.options.max_functions = Some(DISASM_FUNCTIONS);
    let legend = legend(&r);
    let text = try_view!(state, req, view, render(&mut r));
    text_view(state, req, view, &legend, &text)
}

/// The most functions `/ui/disasm` shows (pprof's limit for its web views).
const DISASM_FUNCTIONS: usize = 50;

/// `/ui/graph`: the call graph, drawn by graphviz.
pub fn graph(state: &State, req: &Request) -> Response {
    let view = "graph";
    let cfg = try_view!(state, req, view, config_from_url(&state.config, req));
    let mut r = try_view!(state, req, view, prepare(state, "svg", None, &cfg));
    let legend = legend(&r);
    let dot = try_view!(state, req, view, render(&mut r));
    let svg = match crate::graphviz::render_svg(&dot) {
        Ok(svg) => svg,
        Err(e) if e.contains("execute dot") => {
            return error_page(
                state,
                req,
                view,
                501,
                "Could not execute dot; may need to install graphviz.",
            )
        }
        Err(e) => return error_page(state, req, view, 400, &e),
    };
    let svg = String::from_utf8_lossy(&svg);
    // Keep only the <svg> element; graphviz writes an unescaped `&;` in some labels.
    let start = svg.find("<svg").unwrap_or(0);
    let svg = svg[start..].replace("&;", "&amp;;");
    let body = format!("<div id=\"graph\" class=\"graph\">{svg}</div>");
    page_view(state, req, view, &legend, &body)
}

/// `/ui/download`: the loaded profile as gzipped profile.proto.
pub fn download(state: &State) -> Response {
    let mut resp = Response::with_status(200, "application/vnd.google.protobuf+gzip", {
        // Compressed as it is encoded: only the compressed bytes are held.
        profile::proto::encode_gzip(
            &state
                .profile
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    });
    resp.headers.push((
        "Content-Disposition",
        "attachment;filename=profile.pb.gz".to_string(),
    ));
    resp
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use profile::{Function, Line, Location, ValueType};

    use super::*;

    fn one_function_profile() -> Profile {
        let mut p = Profile::new(1);
        let ty = p.intern("samples");
        let unit = p.intern("count");
        p.sample_types.push(ValueType { ty, unit });
        let name = p.intern("main.work");
        p.functions.push(Function {
            id: 1,
            name,
            ..Function::default()
        });
        p.locations.push(Location {
            id: 1,
            lines: vec![Line {
                function: 0,
                line: 3,
                column: 0,
            }]
            .into(),
            ..Location::default()
        });
        p.samples.push(&[5], &[0], &[]);
        p.samples.push(&[7], &[0], &[]);
        p
    }

    /// `main.work` (5) and `main.rest` (7), each alone on its stack.
    fn two_function_profile() -> Profile {
        let mut p = one_function_profile();
        let name = p.intern("main.rest");
        p.functions.push(Function {
            id: 2,
            name,
            ..Function::default()
        });
        p.locations.push(Location {
            id: 2,
            lines: vec![Line {
                function: 1,
                line: 9,
                column: 0,
            }]
            .into(),
            ..Location::default()
        });
        p.samples = Samples::new(1);
        p.samples.push(&[5], &[0], &[]);
        p.samples.push(&[7], &[1], &[]);
        p
    }

    fn state_of(p: Profile) -> State {
        State {
            sample_types: super::super::sample_types_only(&p),
            profile: Mutex::new(p),
            config: Config::default(),
            diff: false,
            settings: super::super::config_menu::SettingsFile::new(Err("none in tests".into())),
            cache: Mutex::default(),
            renders: None,
        }
    }

    fn get(path: &str, query: &[(&str, &str)]) -> Request {
        Request {
            method: "GET".into(),
            path: path.into(),
            raw_query: String::new(),
            query: query
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..Request::new("GET", path, "")
        }
    }

    #[test]
    fn unfiltered_view_gives_the_lent_samples_back() {
        let state = state_of(one_function_profile());
        let resp = top(&state, &get("/ui/top", &[]));
        assert_eq!(resp.status, 200);
        assert!(String::from_utf8_lossy(&resp.body).contains("main.work"));
        let loaded = state.profile.lock().unwrap();
        assert_eq!(loaded.samples, one_function_profile().samples);
    }

    #[test]
    fn failing_view_gives_the_lent_samples_back() {
        let state = state_of(one_function_profile());
        let resp = top(&state, &get("/ui/top", &[("si", "no_such_type")]));
        assert_eq!(resp.status, 400);
        let loaded = state.profile.lock().unwrap();
        assert_eq!(loaded.samples, one_function_profile().samples);
    }

    #[test]
    fn focused_view_shows_percentages_of_the_whole_profile() {
        let state = state_of(two_function_profile());
        let resp = top(&state, &get("/ui/top", &[("f", "main\\.work")]));
        let body = String::from_utf8_lossy(&resp.body);
        assert!(body.contains("main.work"));
        assert!(!body.contains("main.rest"));
        assert!(body.contains("41.67%"), "{body}");
        let resp = top(
            &state,
            &get("/ui/top", &[("f", "main\\.work"), ("rel", "true")]),
        );
        assert!(String::from_utf8_lossy(&resp.body).contains("100%"));
        let loaded = state.profile.lock().unwrap();
        assert_eq!(loaded.samples, two_function_profile().samples);
    }

    #[test]
    fn filtered_view_leaves_the_loaded_samples_whole() {
        let state = state_of(one_function_profile());
        let resp = flame_graph(&state, &get("/ui/", &[("f", "no_such_function")]));
        assert_eq!(resp.status, 200);
        let loaded = state.profile.lock().unwrap();
        assert_eq!(loaded.samples, one_function_profile().samples);
    }
}
