//! The annotated source listing (`-list`): for every function whose name matches the
//! symbol regex, the lines of its source around the lines that have samples, each with
//! its flat and cumulative value.

mod reader;

use std::collections::HashMap;
use std::io::Write;

use profile::{Error, Result};

use crate::graph::NodeInfo;
use crate::measurement;
use crate::report::Report;

pub use reader::SourceReader;

/// Lines shown before the first and after the last line with samples.
const MARGIN: i64 = 5;

/// Writes the annotated source of every function with samples whose name matches the
/// report's symbol regex, sorted by name, one `ROUTINE` per source file of the function.
/// Files are searched in the source path (the working directory when it is empty).
pub fn print_source(w: &mut dyn Write, rpt: &Report) -> Result<()> {
    let o = &rpt.options;
    // Node identities and values are all a listing needs: no graph is built.
    let totals = rpt.node_totals();

    // The nodes of each matching function, functions in order of first appearance.
    let matching: Vec<(NodeInfo, i64, i64)> = totals
        .nodes_named(|name| o.symbol.as_ref().is_none_or(|re| re.is_match(name)))
        .collect();
    let mut functions: Vec<&str> = Vec::new();
    let mut function_nodes: HashMap<&str, Vec<&(NodeInfo, i64, i64)>> = HashMap::new();
    for node in &matching {
        let name = node.0.name.as_str();
        function_nodes
            .entry(name)
            .or_insert_with(|| {
                functions.push(name);
                Vec::new()
            })
            .push(node);
    }
    if functions.is_empty() {
        let pattern = o.symbol.as_ref().map_or("", |re| re.as_str());
        return Err(Error::new(format!(
            "no matches found for regexp: {pattern}"
        )));
    }
    functions.sort_unstable();

    let source_path = if o.source_path.is_empty() {
        std::env::current_dir()
            .map_err(|e| Error::new(format!("could not stat current dir: {e}")))?
            .to_string_lossy()
            .into_owned()
    } else {
        o.source_path.clone()
    };
    let mut reader = SourceReader::new(&source_path, &o.trim_path);

    let io = |e: std::io::Error| Error::new(format!("writing source listing: {e}"));
    writeln!(w, "Total: {}", rpt.format_value(rpt.total)).map_err(io)?;
    let format = |v: i64| rpt.format_value(v);
    let percent = |v: i64| measurement::percentage(v, rpt.total);
    for name in functions {
        // The nodes of this function in each of its source files.
        let mut files: Vec<&str> = Vec::new();
        let mut file_nodes: HashMap<&str, Vec<SourceNode>> = HashMap::new();
        for &&(ref info, flat, cum) in function_nodes.get(name).map_or(&[][..], Vec::as_slice) {
            let file = info.file.as_str();
            if file.is_empty() {
                continue;
            }
            file_nodes
                .entry(file)
                .or_insert_with(|| {
                    files.push(file);
                    Vec::new()
                })
                .push(SourceNode {
                    start_line: info.start_line,
                    lineno: info.lineno,
                    flat,
                    cum,
                });
        }
        if files.is_empty() {
            writeln!(w, "No source information for {name}").map_err(io)?;
            continue;
        }
        files.sort_unstable();
        for file in files {
            let nodes = file_nodes.get(file).map_or(&[][..], Vec::as_slice);
            write_file_listing(w, &mut reader, name, file, nodes, &format, &percent)?;
        }
    }
    Ok(())
}

/// One graph node of a listed function in one file: where it is and its values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SourceNode {
    /// First line of the function (0 when unknown).
    pub start_line: i64,
    /// Line of the node.
    pub lineno: i64,
    /// Flat value.
    pub flat: i64,
    /// Cumulative value.
    pub cum: i64,
}

/// The lines of a file a listing shows for `nodes` (non-empty): from the function's start
/// (or a margin before the first sampled line) to a margin after the last sampled line,
/// never before line 1. Returns `(first, last)`, both included.
pub fn listing_range(nodes: &[SourceNode]) -> (i64, i64) {
    let Some(first) = nodes.first() else {
        return (1, 0);
    };
    let mut start = if first.start_line != 0 {
        first.start_line
    } else {
        first.lineno.saturating_sub(MARGIN)
    };
    let mut end = first.lineno.saturating_add(MARGIN);
    for n in nodes {
        let node_start = if n.start_line != 0 {
            n.start_line
        } else {
            n.lineno.saturating_sub(MARGIN)
        };
        let node_end = n.lineno.saturating_add(MARGIN);
        // pprof widens the end only for nodes that do not also widen the start.
        if node_start < start {
            start = node_start;
        } else if node_end > end {
            end = node_end;
        }
    }
    (start.max(1), end)
}

/// Writes the listing of `file` for one function: a `ROUTINE` header with the function's
/// totals, then each line of the range with its values (`.` for zero), or an `Error:`
/// line when the file cannot be read. `format` formats a value; `percent_of_total` is
/// the cumulative share already formatted.
pub fn write_file_listing(
    w: &mut dyn Write,
    reader: &mut SourceReader,
    function: &str,
    file: &str,
    nodes: &[SourceNode],
    format: &dyn Fn(i64) -> String,
    percent_of_total: &dyn Fn(i64) -> String,
) -> Result<()> {
    let (start, end) = listing_range(nodes);
    let mut per_line: HashMap<i64, (i64, i64)> = HashMap::with_capacity(nodes.len());
    let (mut flat_sum, mut cum_sum) = (0i64, 0i64);
    for n in nodes {
        let e = per_line.entry(n.lineno).or_default();
        e.0 = e.0.wrapping_add(n.flat);
        e.1 = e.1.wrapping_add(n.cum);
        flat_sum = flat_sum.wrapping_add(n.flat);
        cum_sum = cum_sum.wrapping_add(n.cum);
    }

    // Read the lines first: the header comes before any error about the file.
    let mut last = start - 1;
    let mut lineno = start;
    while lineno <= end && reader.line(file, lineno).is_some() {
        last = lineno;
        lineno += 1;
    }

    let io = |e: std::io::Error| Error::new(format!("writing source listing: {e}"));
    writeln!(w, "ROUTINE ======================== {function} in {file}").map_err(io)?;
    writeln!(
        w,
        "{:>10} {:>10} (flat, cum) {} of Total",
        format(flat_sum),
        format(cum_sum),
        percent_of_total(cum_sum)
    )
    .map_err(io)?;
    if let Some(err) = reader.error(file) {
        writeln!(w, " Error: {err}").map_err(io)?;
        return Ok(());
    }
    let dot_or = |v: i64| if v == 0 { ".".to_string() } else { format(v) };
    for lineno in start..=last {
        let (flat, cum) = per_line.get(&lineno).copied().unwrap_or_default();
        write!(w, "{:>10} {:>10} {:>6}:", dot_or(flat), dot_or(cum), lineno).map_err(io)?;
        w.write_all(reader.line(file, lineno).unwrap_or_default())
            .map_err(io)?;
        w.write_all(b"\n").map_err(io)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(start_line: i64, lineno: i64) -> SourceNode {
        SourceNode {
            start_line,
            lineno,
            flat: 0,
            cum: 1,
        }
    }

    #[test]
    fn range_starts_at_the_function_start_and_ends_after_the_last_sample() {
        assert_eq!(listing_range(&[node(22, 33)]), (22, 38));
        assert_eq!(listing_range(&[node(22, 25), node(22, 40)]), (22, 45));
    }

    #[test]
    fn range_without_start_line_uses_a_margin_and_never_precedes_line_one() {
        assert_eq!(listing_range(&[node(0, 20), node(0, 12)]), (7, 25));
        assert_eq!(listing_range(&[node(0, 3)]), (1, 8));
    }

    #[test]
    fn listing_marks_zero_values_with_dots_and_sums_lines() {
        let dir = std::env::temp_dir().join(format!("source-listing-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let text: String = (1..=12).map(|i| format!("line {i}\n")).collect();
        std::fs::write(dir.join("f.go"), text).unwrap();
        let mut reader = SourceReader::new(dir.to_str().unwrap(), "");
        let nodes = [
            SourceNode {
                start_line: 2,
                lineno: 4,
                flat: 1,
                cum: 3,
            },
            SourceNode {
                start_line: 2,
                lineno: 4,
                flat: 0,
                cum: 2,
            },
        ];
        let mut out = Vec::new();
        let fmt = |v: i64| format!("{v}s");
        let pct = |_: i64| "50%".to_string();
        write_file_listing(&mut out, &mut reader, "main.f", "f.go", &nodes, &fmt, &pct).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        let want = "ROUTINE ======================== main.f in f.go\n\
                    \x20       1s         5s (flat, cum) 50% of Total\n\
                    \x20        .          .      2:line 2\n\
                    \x20        .          .      3:line 3\n\
                    \x20       1s         5s      4:line 4\n\
                    \x20        .          .      5:line 5\n\
                    \x20        .          .      6:line 6\n\
                    \x20        .          .      7:line 7\n\
                    \x20        .          .      8:line 8\n\
                    \x20        .          .      9:line 9\n";
        assert_eq!(String::from_utf8(out).unwrap(), want);
    }

    #[test]
    fn listing_of_a_missing_file_prints_the_header_and_the_error() {
        let mut reader = SourceReader::new("/nonexistent-dir-for-test", "");
        let mut out = Vec::new();
        let fmt = |v: i64| v.to_string();
        let pct = |_: i64| "100%".to_string();
        write_file_listing(
            &mut out,
            &mut reader,
            "f",
            "a.go",
            &[node(0, 3)],
            &fmt,
            &pct,
        )
        .unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.ends_with(" Error: could not find file a.go on path /nonexistent-dir-for-test\n")
        );
        assert!(text.starts_with("ROUTINE ======================== f in a.go\n"));
    }
}
