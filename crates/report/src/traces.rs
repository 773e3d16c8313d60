//! The traces report (`-traces`): every sample's stack with its value and labels.

use std::fmt::Write as _;
use std::io::Write;

use profile::Result;

use crate::graph::{location_node_infos, GraphOptions};
use crate::measurement::label;
use crate::report::Report;
use crate::write_error;

const SEPARATOR: &str = "-----------+-------------------------------------------------------";

/// Writes the traces report.
pub fn print_traces(w: &mut dyn Write, rpt: &Report) -> Result<()> {
    let prof = rpt.prof;
    let o = &rpt.options;
    let mut out = String::new();
    out.push_str(&rpt.profile_labels().join("\n"));
    out.push('\n');
    let infos = location_node_infos(prof, &GraphOptions::default());
    let names: Vec<Vec<String>> = infos
        .iter()
        .map(|frames| frames.iter().map(|i| i.printable_name()).collect())
        .collect();
    let mut string_labels: Vec<String> = Vec::new();
    let mut numeric_labels: Vec<String> = Vec::new();
    for s in prof.samples.iter() {
        let has_frames = s
            .locations
            .iter()
            .any(|l| names.get(l as usize).is_some_and(|f| !f.is_empty()));
        if !has_frames {
            continue;
        }
        out.push_str(SEPARATOR);
        out.push('\n');
        string_labels.clear();
        numeric_labels.clear();
        // Labels are grouped by key (string ones first); values of a key stay in order.
        let mut i = 0;
        while i < s.labels.len() {
            let l = s.labels[i];
            let numeric = l.is_numeric();
            let mut j = i;
            let mut values = Vec::new();
            while j < s.labels.len()
                && s.labels[j].key == l.key
                && s.labels[j].is_numeric() == numeric
            {
                let v = &s.labels[j];
                values.push(if numeric {
                    let key = prof.str(v.key);
                    let unit = o.num_label_units.get(key).map_or("", String::as_str);
                    label(v.num, unit)
                } else {
                    prof.str(v.str).to_string()
                });
                j += 1;
            }
            let line = format!("{:>10}:  {}\n", prof.str(l.key), values.join(" "));
            if numeric {
                numeric_labels.push(line);
            } else {
                string_labels.push(line);
            }
            i = j;
        }
        string_labels.sort();
        numeric_labels.sort();
        for l in string_labels.iter().chain(numeric_labels.iter()) {
            out.push_str(l);
        }
        let mut v = s.values.get(o.sample_index).copied().unwrap_or(0);
        if o.mean {
            let d = s.values.first().copied().unwrap_or(0);
            if d != 0 {
                v = v.wrapping_div(d);
            }
        }
        let mut first = true;
        for loc in s.locations {
            let Some(frames) = names.get(loc as usize) else {
                continue;
            };
            for (fi, name) in frames.iter().enumerate() {
                let vs = if first {
                    rpt.format_value(v)
                } else {
                    String::new()
                };
                first = false;
                let inline = if fi != frames.len() - 1 {
                    " (inline)"
                } else {
                    ""
                };
                let _ = writeln!(out, "{vs:>10}   {name}{inline}");
            }
        }
    }
    out.push_str(SEPARATOR);
    out.push('\n');
    w.write_all(out.as_bytes()).map_err(write_error)
}
