//! Drawing a [`FlameGraph`] as one self-contained, interactive SVG (or an HTML page
//! around it): frames sized by value and coloured by package (or by growth and shrink
//! for a diff), a tooltip and a details line on hover, click to zoom, a regex search
//! that highlights matches and reports their share, reset, and a flip between flame
//! (root at the bottom) and icicle (root at the top) orientations.
//!
//! The script is embedded; nothing is loaded from the network. Every name from the
//! profile is escaped.

use std::fmt::Write as _;

use super::{FlameGraph, Frame};
use crate::measurement;

/// The script driving the drawing; it finds everything it needs in the SVG elements.
const SCRIPT: &str = include_str!("flame.js");

/// Which way the stacks grow.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Orientation {
    /// Root at the bottom, stacks growing up (a flame graph).
    #[default]
    Flame,
    /// Root at the top, stacks growing down (an icicle graph).
    Icicle,
}

/// How to draw a flame graph.
#[derive(Clone, Debug)]
pub struct RenderOptions {
    /// Title drawn above the graph.
    pub title: String,
    /// Unit of the values, as the profile spells it (`nanoseconds`, `bytes`, `count`).
    pub unit: String,
    /// Orientation of the stacks.
    pub orientation: Orientation,
    /// Width of the drawing in pixels.
    pub width: u32,
}

impl Default for RenderOptions {
    fn default() -> Self {
        RenderOptions {
            title: "Flame Graph".to_string(),
            unit: String::new(),
            orientation: Orientation::Flame,
            width: 1200,
        }
    }
}

const FRAME_HEIGHT: f64 = 16.0;
const FONT_SIZE: f64 = 12.0;
const FONT_WIDTH: f64 = 0.59;
const PAD_X: f64 = 10.0;
const PAD_TOP: f64 = 54.0;
const PAD_BOTTOM: f64 = 30.0;
/// Frames narrower than this many pixels are not drawn (nor their descendants).
const MIN_WIDTH: f64 = 0.1;

/// Escapes `s` for XML text and attribute values.
pub(crate) fn escape_xml(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Characters XML 1.0 does not allow.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
}

/// The package part of a function name: the Go import path before the first `.` after
/// the last `/`, or the first `::` component of C++ and Rust names.
fn package_of(name: &str) -> &str {
    let name = name.trim_start_matches(['(', '*', '&', '<']);
    if let Some(i) = name.find("::") {
        return &name[..i];
    }
    let head_end = name.find(['(', ' ', '[']).unwrap_or(name.len());
    let head = &name[..head_end];
    let start = head.rfind('/').map_or(0, |i| i + 1);
    match head[start..].find('.') {
        Some(i) => &name[..start + i],
        None => head,
    }
}

/// FNV-1a: a stable hash so a package gets the same colour in every drawing.
fn fnv(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// The warm colour of a package.
fn package_colour(name: &str) -> (u8, u8, u8) {
    let h = fnv(package_of(name));
    let r = 205 + (h % 50) as u8;
    let g = ((h >> 16) % 200) as u8 + 20;
    let b = ((h >> 32) % 55) as u8;
    (r, g, b)
}

/// Red for growth, blue for shrink, white for no change; `t` in [-1, 1].
fn diff_colour(t: f64) -> (u8, u8, u8) {
    let t = t.clamp(-1.0, 1.0);
    let fade = (235.0 - 185.0 * t.abs().sqrt()).round() as u8;
    if t > 0.0 {
        (255, fade, fade)
    } else if t < 0.0 {
        (fade, fade, 255)
    } else {
        (235, 235, 235)
    }
}

/// Formats a signed percentage change with two decimals.
fn change_percent(delta: i64, base: i64) -> String {
    if base == 0 {
        return if delta == 0 { "0%" } else { "new" }.to_string();
    }
    format!("{:+.2}%", delta as f64 * 100.0 / base as f64)
}

struct Layout {
    /// Left edge of each frame, in value units from the left of the root.
    x: Vec<f64>,
}

impl Layout {
    fn of(fg: &FlameGraph) -> Layout {
        let n = fg.frames.len();
        let mut x = vec![0.0; n];
        let mut cursor = vec![0.0; n];
        for (i, f) in fg.frames.iter().enumerate().skip(1) {
            let p = f.parent as usize;
            if p < n {
                x[i] = cursor[p];
                cursor[p] += width_value(fg, f) as f64;
                cursor[i] = x[i];
            }
        }
        Layout { x }
    }
}

/// The value a frame's width shows: its own value (the new profile's, for a diff),
/// never negative.
fn width_value(_fg: &FlameGraph, f: &Frame) -> i64 {
    f.value.max(0)
}

/// Draws `fg` as a standalone SVG document.
pub fn render_svg(fg: &FlameGraph, opts: &RenderOptions) -> String {
    let mut out = String::with_capacity(256 * fg.frames.len().min(1 << 20) + 16 * 1024);
    out.push_str("<?xml version=\"1.0\" standalone=\"no\"?>\n");
    write_svg(&mut out, fg, opts, true);
    out
}

/// Draws `fg` as a standalone HTML page: a search box and buttons above the SVG.
pub fn render_html(fg: &FlameGraph, opts: &RenderOptions) -> String {
    let mut out = String::with_capacity(256 * fg.frames.len().min(1 << 20) + 16 * 1024);
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<link rel=\"icon\" href=\"data:,\">\n<title>");
    escape_xml(&mut out, &opts.title);
    out.push_str("</title>\n<style>body{margin:0;font-family:Verdana,sans-serif}");
    out.push_str(HTML_STYLE);
    out.push_str("</style>\n</head>\n<body>\n");
    write_toolbar(&mut out);
    write_svg(&mut out, fg, opts, false);
    out.push_str("</body>\n</html>\n");
    out
}

/// Draws `fg` as an `<svg>` element to embed in an HTML page; the page provides the
/// controls (elements with ids `flame-reset`, `flame-flip`, `flame-search` and
/// `flame-matched`, all optional).
pub fn svg_element(fg: &FlameGraph, opts: &RenderOptions) -> String {
    let mut out = String::with_capacity(256 * fg.frames.len().min(1 << 20) + 16 * 1024);
    write_svg(&mut out, fg, opts, false);
    out
}

/// CSS of the toolbar of HTML pages showing a flame graph.
pub const HTML_STYLE: &str = ".flame-bar{display:flex;gap:8px;align-items:center;padding:6px 10px;\
font-size:13px;background:#f4f4f4;border-bottom:1px solid #ddd}\
.flame-bar input{width:24em}.flame-bar .flame-matched{color:#a0a}\
svg.flame{display:block;width:100%;height:auto}";

/// Writes the HTML toolbar that drives the flame graph on the same page.
pub fn write_toolbar(out: &mut String) {
    out.push_str(
        "<div class=\"flame-bar\">\
<input id=\"flame-search\" type=\"search\" placeholder=\"Search (regexp)\" aria-label=\"Search\">\
<button id=\"flame-reset\" type=\"button\">Reset zoom</button>\
<button id=\"flame-flip\" type=\"button\">Flip</button>\
<span id=\"flame-matched\" class=\"flame-matched\"></span></div>\n",
    );
}

fn write_svg(out: &mut String, fg: &FlameGraph, opts: &RenderOptions, standalone: bool) {
    let width = f64::from(opts.width.max(200));
    let depth = f64::from(fg.max_depth + 1);
    let height = PAD_TOP + depth * FRAME_HEIGHT + PAD_BOTTOM;
    let total = fg.frames.first().map_or(0, |f| width_value(fg, f));
    let scale = if total > 0 {
        (width - 2.0 * PAD_X) / total as f64
    } else {
        0.0
    };
    let icicle = opts.orientation == Orientation::Icicle;
    let _ = write!(
        out,
        "<svg version=\"1.1\" class=\"flame\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" \
xmlns=\"http://www.w3.org/2000/svg\" data-top=\"{top}\" data-bottom=\"{bottom}\" \
data-fh=\"{FRAME_HEIGHT}\" data-pad=\"{PAD_X}\" data-orient=\"{orient}\" data-total=\"{total}\" \
data-unit=\"",
        w = width,
        h = height,
        top = PAD_TOP,
        bottom = height - PAD_BOTTOM,
        orient = if icicle { "icicle" } else { "flame" },
    );
    escape_xml(out, &opts.unit);
    out.push_str("\">\n<style>");
    out.push_str(SVG_STYLE);
    out.push_str("</style>\n");
    let _ = writeln!(
        out,
        "<rect x=\"0\" y=\"0\" width=\"{width}\" height=\"{height}\" fill=\"#fdfdf6\"/>"
    );
    let _ = write!(
        out,
        "<text id=\"title\" x=\"{}\" y=\"24\" text-anchor=\"middle\" font-size=\"17\">",
        width / 2.0
    );
    escape_xml(out, &opts.title);
    out.push_str("</text>\n");
    if standalone {
        let _ = writeln!(
            out,
            "<text id=\"reset\" class=\"ctl\" x=\"{PAD_X}\" y=\"24\">Reset Zoom</text>\
<text id=\"flip\" class=\"ctl\" x=\"{}\" y=\"24\">Flip</text>\
<text id=\"search\" class=\"ctl\" x=\"{}\" y=\"24\" text-anchor=\"end\">Search</text>",
            PAD_X + 100.0,
            width - PAD_X,
        );
    }
    let _ = writeln!(
        out,
        "<text id=\"matched\" x=\"{}\" y=\"{}\" text-anchor=\"end\"></text>\
<text id=\"details\" x=\"{PAD_X}\" y=\"{}\"> </text>",
        width - PAD_X,
        height - 10.0,
        height - 10.0,
    );

    let layout = Layout::of(fg);
    let max_delta = fg
        .frames
        .iter()
        .skip(1)
        .map(|f| (f.value - f.base).abs())
        .max()
        .unwrap_or(0);
    out.push_str("<g id=\"frames\">\n");
    let mut name_buf = String::new();
    let mut i = 0;
    while i < fg.frames.len() {
        let f = &fg.frames[i];
        let w = width_value(fg, f) as f64 * scale;
        if w < MIN_WIDTH {
            // Its descendants are no wider.
            i = (f.end as usize).max(i + 1);
            continue;
        }
        let x = PAD_X + layout.x[i] * scale;
        let y = if icicle {
            PAD_TOP + f64::from(f.depth) * FRAME_HEIGHT
        } else {
            height - PAD_BOTTOM - (f64::from(f.depth) + 1.0) * FRAME_HEIGHT
        };
        let name = fg.name(i);
        let (r, g, b) = if fg.diff {
            let t = if max_delta > 0 {
                (f.value - f.base) as f64 / max_delta as f64
            } else {
                0.0
            };
            diff_colour(t)
        } else if i == 0 || f.aggregated > 0 {
            (200, 200, 200)
        } else {
            package_colour(name)
        };
        let short = crate::graph::shorten_function_name(name);
        let short = if short != name { Some(short) } else { None };
        match &short {
            Some(s) => {
                out.push_str("<g data-s=\"");
                escape_xml(out, s);
                out.push_str("\"><title>");
            }
            None => out.push_str("<g><title>"),
        }
        escape_xml(out, name);
        out.push('\n');
        write_stats(out, fg, f, total, &opts.unit);
        let _ = write!(
            out,
            "</title><rect x=\"{x:.2}\" y=\"{y}\" width=\"{w:.2}\" height=\"{}\" fill=\"#{r:02x}{g:02x}{b:02x}\"/>",
            FRAME_HEIGHT - 1.0
        );
        name_buf.clear();
        fit_label(&mut name_buf, name, short.as_deref(), w);
        if !name_buf.is_empty() {
            let _ = write!(out, "<text x=\"{:.2}\" y=\"{}\">", x + 3.0, y + 11.5);
            escape_xml(out, &name_buf);
            out.push_str("</text>");
        }
        out.push_str("</g>\n");
        i += 1;
    }
    out.push_str("</g>\n<script type=\"text/ecmascript\"><![CDATA[\n");
    out.push_str(SCRIPT);
    out.push_str("\n]]></script>\n</svg>\n");
}

/// CSS inside the SVG.
const SVG_STYLE: &str = "text{font-family:Verdana,sans-serif;font-size:12px;fill:#000}\
#frames text{pointer-events:none}#frames g{cursor:pointer}#frames rect{stroke:#fdfdf6;stroke-width:0.5}\
#frames g:hover rect{stroke:#000;stroke-width:0.8}.ctl{cursor:pointer;fill:#446}.ctl:hover{fill:#a00}\
#matched{fill:#a0a}.hidden{display:none}.parent rect{opacity:0.55}";

/// Writes a frame's value and share (and, for a diff, its base and change).
fn write_stats(out: &mut String, fg: &FlameGraph, f: &Frame, total: i64, unit: &str) {
    let pct = |v: i64| {
        if total != 0 {
            v as f64 * 100.0 / total as f64
        } else {
            0.0
        }
    };
    let v = measurement::scaled_label(f.value, unit, "auto");
    let s = measurement::scaled_label(f.self_value, unit, "auto");
    let _ = write!(
        out,
        "{v} ({:.2}%), self {s} ({:.2}%)",
        pct(f.value),
        pct(f.self_value)
    );
    if fg.diff {
        let b = measurement::scaled_label(f.base, unit, "auto");
        let d = f.value - f.base;
        let dl = measurement::scaled_label(d, unit, "auto");
        let sign = if d > 0 { "+" } else { "" };
        let _ = write!(
            out,
            ", base {b}, change {sign}{dl} ({})",
            change_percent(d, f.base)
        );
    }
    if f.aggregated > 0 {
        let _ = write!(out, ", {} frames too small to draw", f.aggregated);
    }
}

/// The part of `name` that fits in a frame `w` pixels wide: all of it, else its short
/// form (`short`, package path dropped) or a prefix of it ending in `..`, or nothing.
fn fit_label(out: &mut String, name: &str, short: Option<&str>, w: f64) {
    let fit = ((w - 6.0) / (FONT_SIZE * FONT_WIDTH)).floor();
    if fit < 3.0 {
        return;
    }
    let fit = fit as usize;
    let mut count = name.chars().count();
    let mut name = name;
    if count > fit {
        if let Some(s) = short {
            name = s;
            count = s.chars().count();
        }
    }
    if count <= fit {
        out.push_str(name);
    } else {
        out.extend(name.chars().take(fit - 2));
        out.push_str("..");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_of_go_and_cpp_names() {
        assert_eq!(package_of("runtime.mallocgc"), "runtime");
        assert_eq!(package_of("github.com/a/b.(*T).Method"), "github.com/a/b");
        assert_eq!(package_of("std::vec::Vec<T>::push"), "std");
        assert_eq!(package_of("main"), "main");
    }

    #[test]
    fn labels_are_truncated_to_fit() {
        let mut s = String::new();
        fit_label(&mut s, "abcdefghijklmnopqrstuvwxyz", None, 60.0);
        assert_eq!(s, "abcde..");
        s.clear();
        fit_label(&mut s, "abc", None, 10.0);
        assert_eq!(s, "");
        s.clear();
        fit_label(&mut s, "github.com/a/tasks.Work", Some("tasks.Work"), 90.0);
        assert_eq!(s, "tasks.Work");
        s.clear();
        fit_label(&mut s, "main.f", Some("f"), 90.0);
        assert_eq!(s, "main.f");
    }

    #[test]
    fn escape_xml_escapes_markup_and_quotes() {
        let mut s = String::new();
        escape_xml(&mut s, "<script>\"a\"&'b'");
        assert_eq!(s, "&lt;script&gt;&quot;a&quot;&amp;&#39;b&#39;");
    }
}
