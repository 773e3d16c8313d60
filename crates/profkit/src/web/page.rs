//! The HTML around every view: the menu of views, the sample type menu, the search box
//! with the refine buttons, the legend and the active filters.

use std::fmt::Write as _;

use super::server::Request;
use super::State;

const UI_CSS: &str = include_str!("../../assets/ui.css");
const UI_JS: &str = include_str!("../../assets/ui.js");
/// Style of the Config menu and its dialogs.
const CONFIG_CSS: &str = include_str!("config_menu.css");
/// Script of the Config menu: the save and delete dialogs.
const CONFIG_JS: &str = include_str!("config_menu.js");

/// Escapes `s` for HTML text and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The views in the menu: URL path (relative to `/ui/`), label, id.
const VIEWS: &[(&str, &str, &str)] = &[
    ("flamegraph", "Flame graph", "flamegraph"),
    ("top", "Top", "top"),
    ("graph", "Graph", "graph"),
    ("peek", "Peek", "peek"),
    ("source", "Source", "source"),
    ("disasm", "Disassemble", "disasm"),
];

/// URL parameters that filter the profile, with the names shown for them.
const FILTER_PARAMS: &[(&str, &str)] = &[
    ("f", "focus"),
    ("i", "ignore"),
    ("h", "hide"),
    ("s", "show"),
    ("sf", "show_from"),
    ("tf", "tagfocus"),
    ("ti", "tagignore"),
    ("g", "granularity"),
];

/// A page to render: which view, its legend and its content.
pub struct Page<'a> {
    /// Id of the view (`flamegraph`, `top`, …).
    pub view: &'a str,
    /// Lines describing the profile (File, Type, Time, …).
    pub legend: &'a [String],
    /// The view's HTML.
    pub body: &'a str,
}

/// Renders `page` inside the UI chrome.
pub fn render(state: &State, req: &Request, page: &Page) -> String {
    let q = escape(&req.query_suffix());
    let title = legend_value(page.legend, "Type: ").unwrap_or("profile");
    let file = legend_value(page.legend, "File: ").unwrap_or("");
    let mut out = String::with_capacity(page.body.len() + 16 * 1024);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
<link rel=\"icon\" href=\"data:,\">\n\
<title>{} {} \u{2014} profkit</title>\n<style>{UI_CSS}{CONFIG_CSS}{}</style>\n</head>\n\
<body data-view=\"{}\">\n<header class=\"bar\">\n<a class=\"brand\" href=\"./{q}\">profkit</a>\n<nav id=\"views\">",
        escape(file),
        escape(title),
        report::flame::HTML_STYLE,
        escape(page.view),
    );
    for (path, label, id) in VIEWS {
        let cur = if *id == page.view {
            " class=\"current\""
        } else {
            ""
        };
        let _ = write!(
            out,
            "<a id=\"view-{id}\" href=\"./{path}{q}\"{cur}>{label}</a>"
        );
    }
    out.push_str("<a id=\"view-download\" href=\"./download\">Download</a></nav>\n");
    out.push_str(super::config_menu::MARK);
    out.push('\n');

    let types = &state.sample_types.sample_types;
    if !types.is_empty() {
        out.push_str("<select id=\"sample-index\" aria-label=\"Sample type\">");
        let chosen = req.param("si");
        let chosen = if chosen.is_empty() {
            state.config.sample_index.as_str()
        } else {
            chosen
        };
        let default_index = state
            .sample_types
            .sample_index_by_name(chosen)
            .unwrap_or(types.len().saturating_sub(1));
        for (i, t) in types.iter().enumerate() {
            let name = state.sample_types.str(t.ty);
            let sel = if i == default_index { " selected" } else { "" };
            let _ = write!(
                out,
                "<option value=\"{}\"{sel}>{}</option>",
                escape(name),
                escape(name)
            );
        }
        out.push_str("</select>\n");
    }
    out.push_str(
        "<input id=\"search\" type=\"search\" placeholder=\"Search regexp\" aria-label=\"Search\" autocomplete=\"off\">\n\
<span id=\"refine\">\
<button type=\"button\" data-param=\"f\" title=\"Keep only samples through matching frames\">Focus</button>\
<button type=\"button\" data-param=\"i\" title=\"Drop samples through matching frames\">Ignore</button>\
<button type=\"button\" data-param=\"h\" title=\"Hide matching frames\">Hide</button>\
<button type=\"button\" data-param=\"s\" title=\"Show only matching frames\">Show</button>\
<button type=\"button\" data-param=\"sf\" title=\"Drop frames above the highest match\">Show from</button>\
<button type=\"button\" data-param=\"tf\" title=\"Keep only samples with a matching label (key=regexp, or a range such as bytes=1kb:)\">Tag focus</button>\
<button type=\"button\" data-param=\"ti\" title=\"Drop samples with a matching label (key=regexp, or a range)\">Tag ignore</button>\
<button type=\"button\" id=\"reset-config\" title=\"Show the entire profile\">Reset</button></span>\n\
<span id=\"search-status\"></span>\n</header>\n",
    );
    if state.diff {
        out.push_str(
            "<div class=\"banner\" id=\"diff-banner\">Differential profile: values are the change \
from the base profile. Flame graph widths show the new profile; red grew, blue shrank.</div>\n",
        );
    }
    let filters: Vec<String> = FILTER_PARAMS
        .iter()
        .filter(|(p, _)| !req.param(p).is_empty())
        .map(|(p, name)| {
            format!(
                "<span class=\"chip\" data-param=\"{p}\">{name}={}<a href=\"#\" class=\"chip-x\" title=\"Remove\">\u{00d7}</a></span>",
                escape(req.param(p))
            )
        })
        .collect();
    out.push_str("<div id=\"legend\"><details><summary>");
    let _ = write!(out, "{} {}", escape(file), escape(title));
    out.push_str("</summary><div class=\"legend-lines\">");
    for l in page.legend {
        let _ = write!(out, "<div>{}</div>", escape(l));
    }
    out.push_str("</div></details>");
    if !filters.is_empty() {
        out.push_str("<span id=\"filters\">");
        for f in &filters {
            out.push_str(f);
        }
        out.push_str("</span>");
    }
    out.push_str("</div>\n<main id=\"content\">\n");
    out.push_str(page.body);
    out.push_str("\n</main>\n<script>");
    out.push_str(UI_JS);
    out.push_str(CONFIG_JS);
    out.push_str("</script>\n</body>\n</html>\n");
    out
}

/// The rest of the legend line starting with `prefix`.
fn legend_value<'a>(legend: &'a [String], prefix: &str) -> Option<&'a str> {
    legend.iter().find_map(|l| l.strip_prefix(prefix))
}

/// A page showing an error message instead of a view.
pub fn error_body(message: &str) -> String {
    format!(
        "<pre class=\"error\" id=\"error\">{}</pre>",
        escape(message)
    )
}
