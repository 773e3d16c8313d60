//! The source and disassembly web page (`-weblist`): for every function whose name
//! matches the symbol regex, its source lines with their flat and cumulative values;
//! clicking a line shows the machine instructions compiled from it, with theirs.
//!
//! The page is self-contained (inline style and script, nothing fetched) and every
//! name, path and line of source is HTML-escaped. The web UI's Source view places the
//! same listing in its own page (`Options::standalone` off).

use std::collections::HashMap;
use std::io::Write;

use profile::{Error, Result};

use crate::disasm::{self, ObjTool};
use crate::graph::{Graph, NodeId};
use crate::measurement;
use crate::report::Report;
use crate::source::{listing_range, SourceNode, SourceReader};
use profile::gopath::base_name;

/// An instruction shown under a source line.
struct AsmLine {
    addr: u64,
    text: String,
    flat: i64,
    cum: i64,
    /// `file:line` of the innermost frame when the code was inlined from elsewhere.
    inlined_from: Option<String>,
}

/// Writes the weblist page for the functions matching the report's symbol regex.
/// Without `obj`, or for code whose binary cannot be read, lines show no instructions.
pub fn print_weblist(w: &mut dyn Write, rpt: &Report<'_>, obj: Option<&dyn ObjTool>) -> Result<()> {
    let o = &rpt.options;
    let g = rpt.new_graph(None);
    let matches = |s: &str| o.symbol.as_ref().is_none_or(|re| re.is_match(s));

    // Nodes of each listed (function, file), functions in name order.
    let mut groups: HashMap<(&str, &str), Vec<NodeId>> = HashMap::new();
    for &n in &g.nodes {
        let info = &g.node(n).info;
        if info.file.is_empty() || !matches(&info.name) {
            continue;
        }
        groups
            .entry((info.name.as_str(), info.file.as_str()))
            .or_default()
            .push(n);
    }
    if groups.is_empty() {
        let pattern = o.symbol.as_ref().map_or("", |re| re.as_str());
        return Err(Error::new(format!(
            "no matches found for regexp: {pattern}"
        )));
    }
    let mut keys: Vec<(&str, &str)> = groups.keys().copied().collect();
    keys.sort_unstable();

    // The instructions of every symbol holding a sample, keyed by binary address,
    // with the per-address values of the samples.
    let mut code_of_symbols: Vec<SymbolCode> = Vec::new();
    if let Some(obj) = obj {
        let all = |_: &str| true;
        // Binaries that cannot be read are passed over in silence, as pprof's.
        let selected = disasm::symbols_with_nodes(rpt, &g, obj, None, &all);
        for s in selected.symbols {
            // Only symbols holding a node of a listed function.
            if !s.nodes.iter().any(|&n| matches(&g.node(n).info.name)) {
                continue;
            }
            let Ok(code) = obj.disassemble(s.mapping.file, s.sym.start, s.sym.end, o.intel_syntax)
            else {
                continue;
            };
            let values = values_per_address(&g, &s.nodes, s.base);
            let insts = code
                .into_iter()
                .map(|i| {
                    let (flat, cum) = values.get(&i.addr).copied().unwrap_or_default();
                    (i, flat, cum)
                })
                .collect();
            code_of_symbols.push(SymbolCode {
                base: s.base,
                insts,
            });
        }
    }

    let source_path = if o.source_path.is_empty() {
        std::env::current_dir()
            .map(|d| d.to_string_lossy().into_owned())
            .unwrap_or_default()
    } else {
        o.source_path.clone()
    };
    let mut reader = SourceReader::new(&source_path, &o.trim_path);
    let io = crate::write_error;
    let title = if o.title.is_empty() {
        "profkit"
    } else {
        &o.title
    };
    if o.standalone {
        write!(w, "{}", PAGE_HEAD.replace("{title}", &escape(title))).map_err(io)?;
        write!(
            w,
            "{STYLE_AND_SCRIPT}</head>\n<body>\n<div class=\"weblist\">\n"
        )
        .map_err(io)?;
        writeln!(w, "<h1>{}</h1>", escape(title)).map_err(io)?;
    } else {
        writeln!(w, "{STYLE_AND_SCRIPT}<div class=\"weblist\">").map_err(io)?;
    }
    writeln!(w, "{HINT}").map_err(io)?;
    writeln!(
        w,
        "<p class=\"legend\">Total: {}</p>",
        escape(&rpt.format_value(rpt.total))
    )
    .map_err(io)?;
    for (name, file) in keys {
        let nodes = &groups[&(name, file)];
        let source_nodes: Vec<SourceNode> = nodes
            .iter()
            .map(|&n| {
                let node = g.node(n);
                SourceNode {
                    start_line: node.info.start_line,
                    lineno: node.info.lineno,
                    flat: node.flat_value(),
                    cum: node.cum_value(),
                }
            })
            .collect();
        let (first, last) = listing_range(&source_nodes);
        let (flat_sum, cum_sum) = disasm::sums(&g, nodes);
        let mut per_line: HashMap<i64, (i64, i64)> = HashMap::new();
        for n in &source_nodes {
            let e = per_line.entry(n.lineno).or_default();
            e.0 = e.0.wrapping_add(n.flat);
            e.1 = e.1.wrapping_add(n.cum);
        }
        // Instructions of this function's code, by the line of this file they are under.
        let addresses: Vec<u64> = nodes.iter().map(|&n| g.node(n).info.address).collect();
        let asm = asm_by_line(&code_of_symbols, file, &addresses, first, last);

        writeln!(w, "<h2>{}</h2>", escape(name)).map_err(io)?;
        writeln!(w, "<p class=\"filename\">{}</p>", escape(file)).map_err(io)?;
        writeln!(w, "<pre onclick=\"pkToggle(event)\">").map_err(io)?;
        writeln!(
            w,
            "  Total:  {:>10} {:>10} (flat, cum) {}",
            escape(&rpt.format_value(flat_sum)),
            escape(&rpt.format_value(cum_sum)),
            escape(&measurement::percentage(cum_sum, rpt.total))
        )
        .map_err(io)?;
        for lineno in first..=last {
            let text = reader
                .line(file, lineno)
                .map(|b| String::from_utf8_lossy(b).into_owned());
            let lines = asm.get(&lineno);
            let Some(text) = text.or_else(|| lines.map(|_| "???".to_string())) else {
                continue;
            };
            let (flat, cum) = per_line.get(&lineno).copied().unwrap_or_default();
            let class = if lines.is_some() { "livesrc" } else { "nop" };
            writeln!(
                w,
                "<span class=\"line {class}\">{:>6} {:>10} {:>10} {}</span>",
                lineno,
                escape(&dot(rpt, flat)),
                escape(&dot(rpt, cum)),
                escape(&text)
            )
            .map_err(io)?;
            if let Some(lines) = lines {
                write!(w, "<span class=\"asm\">").map_err(io)?;
                for a in lines {
                    let from = a
                        .inlined_from
                        .as_deref()
                        .map(|f| format!(" <span class=\"inl\">{}</span>", escape(f)))
                        .unwrap_or_default();
                    writeln!(
                        w,
                        "       {:>10} {:>10} {:>8x}: {}{from}",
                        escape(&dot(rpt, a.flat)),
                        escape(&dot(rpt, a.cum)),
                        a.addr,
                        escape(&a.text)
                    )
                    .map_err(io)?;
                }
                write!(w, "</span>").map_err(io)?;
            }
        }
        if let Some(err) = reader.error(file) {
            writeln!(w, "Error: {}", escape(err)).map_err(io)?;
        }
        writeln!(w, "</pre>").map_err(io)?;
    }
    writeln!(w, "</div>").map_err(io)?;
    if o.standalone {
        write!(w, "{PAGE_TAIL}").map_err(io)?;
    }
    Ok(())
}

/// Flat and cumulative value per binary address: flat summed over the frames at an
/// address (only the innermost has any), cum the largest of them (every frame of an
/// inlined call carries the same samples).
fn values_per_address(g: &Graph, nodes: &[NodeId], base: u64) -> HashMap<u64, (i64, i64)> {
    let mut out: HashMap<u64, (i64, i64)> = HashMap::new();
    for &n in nodes {
        let node = g.node(n);
        let e = out.entry(node.info.address.wrapping_sub(base)).or_default();
        e.0 = e.0.wrapping_add(node.flat_value());
        e.1 = e.1.max(node.cum_value());
    }
    out
}

/// The disassembly of one symbol, with the values at each instruction.
struct SymbolCode {
    /// Base from process addresses to binary addresses.
    base: u64,
    /// Instructions with their flat and cumulative values.
    insts: Vec<(disasm::Inst, i64, i64)>,
}

/// The instructions listed under each line of `file` in `[first, last]`: those of
/// the symbols holding one of the function's sampled `addresses` (process addresses),
/// under the line of `file` their outermost frame is at, else their innermost.
fn asm_by_line(
    symbols: &[SymbolCode],
    file: &str,
    addresses: &[u64],
    first: i64,
    last: i64,
) -> HashMap<i64, Vec<AsmLine>> {
    let same_file = |f: &str| !f.is_empty() && (f == file || base_name(f) == base_name(file));
    let in_range = |l: u32| (first..=last).contains(&i64::from(l));
    let mut out: HashMap<i64, Vec<AsmLine>> = HashMap::new();
    for sym in symbols {
        let holds_sample = sym
            .insts
            .iter()
            .any(|(i, _, _)| addresses.contains(&i.addr.wrapping_add(sym.base)));
        if !holds_sample {
            continue;
        }
        for (i, flat, cum) in &sym.insts {
            let line = if same_file(&i.caller_file) && in_range(i.caller_line) {
                i.caller_line
            } else if same_file(&i.file) && in_range(i.line) {
                i.line
            } else {
                continue;
            };
            let inlined_from = (i.file != i.caller_file || i.line != i.caller_line)
                .then(|| format!("{}:{}", base_name(&i.file), i.line))
                .filter(|_| !i.file.is_empty());
            out.entry(i64::from(line)).or_default().push(AsmLine {
                addr: i.addr,
                text: i.text.clone(),
                flat: *flat,
                cum: *cum,
                inlined_from,
            });
        }
    }
    out
}

/// A value, or `.` for zero.
fn dot(rpt: &Report<'_>, v: i64) -> String {
    if v == 0 {
        ".".to_string()
    } else {
        rpt.format_value(v)
    }
}

/// `s` with the HTML special characters escaped.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The page up to its style: the document's head.
const PAGE_HEAD: &str = r#"<!DOCTYPE html>
<html>
<head>
<meta charset="utf-8">
<title>{title}</title>
"#;

/// The listing's style and script (scoped to `.weblist` so that the listing can sit
/// in another page).
const STYLE_AND_SCRIPT: &str = r#"<style>
.weblist { font-family: sans-serif; margin: 1em 2em; }
.weblist h1 { font-size: 1.4em; }
.weblist h2 { font-size: 1.1em; margin: 1.5em 0 0.2em; font-family: monospace; }
.weblist .legend, .weblist .filename { color: #555; margin: 0.2em 0; }
.weblist pre { font-size: 0.9em; border: 1px solid #ccc; padding: 0.5em; overflow-x: auto; }
.weblist .line { display: block; }
.weblist .livesrc { cursor: pointer; color: #000; }
.weblist .livesrc:hover { background: #eef; }
.weblist .nop { color: #888; }
.weblist .asm { display: none; color: #006; background: #f4f4f8; }
.weblist .asm.open { display: block; }
.weblist .inl { color: #a60; }
</style>
<script>
function pkToggle(e) {
  var line = e.target.closest ? e.target.closest('.livesrc') : null;
  if (!line) return;
  var asm = line.nextElementSibling;
  if (asm && asm.classList.contains('asm')) asm.classList.toggle('open');
}
</script>
"#;

/// How to read the listing, above it.
const HINT: &str =
    r#"<p class="legend">Click a line of source to show or hide its instructions.</p>"#;

/// The end of the page.
const PAGE_TAIL: &str = "</body>\n</html>\n";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_neutralizes_markup() {
        assert_eq!(escape("a<b>&\"c'"), "a&lt;b&gt;&amp;&#34;c&#39;");
    }
}
