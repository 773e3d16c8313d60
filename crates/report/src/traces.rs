//! The traces report (`-traces`): every sample's stack with its value and labels.
//!
//! The report is as long as the profile's stacks are (2.3 GB for a profile of 31
//! million frames), so it is written as it is made, each location's frame lines made
//! once for all the samples that go through it.

use std::io::Write;

use profile::{Label, Profile, Result};

use crate::graph::{location_node_infos, GraphOptions};
use crate::measurement::label;
use crate::report::Report;
use crate::write_error;

const SEPARATOR: &str = "-----------+-------------------------------------------------------";

/// Width of the value column; the frame lines of a sample after its first leave it
/// blank.
const VALUE_WIDTH: usize = 10;

/// Bytes of report gathered before they are written out.
const WRITE_AT: usize = 1 << 20;

/// Writes the traces report.
pub fn print_traces(w: &mut dyn Write, rpt: &Report) -> Result<()> {
    let prof = rpt.prof;
    let o = &rpt.options;
    let mut out: Vec<u8> = Vec::with_capacity(WRITE_AT + (WRITE_AT >> 2));
    out.extend_from_slice(rpt.profile_labels().join("\n").as_bytes());
    out.push(b'\n');
    let frames = FrameLines::new(prof);
    let mut labels = LabelWriter::default();
    for s in prof.samples.iter() {
        let mut stack = s.locations.iter().filter_map(|l| frames.of(l));
        let Some(first) = stack.next() else {
            continue;
        };
        out.extend_from_slice(SEPARATOR.as_bytes());
        out.push(b'\n');
        labels.write(&mut out, s.labels, prof, &o.num_label_units);
        let mut v = s.values.get(o.sample_index).unwrap_or(0);
        if o.mean {
            let d = s.values.first().unwrap_or(0);
            if d != 0 {
                v = v.wrapping_div(d);
            }
        }
        // The value takes the blank column of the sample's first frame line.
        let _ = write!(out, "{:>VALUE_WIDTH$}", rpt.format_value(v));
        out.extend_from_slice(&first[VALUE_WIDTH..]);
        for lines in stack {
            out.extend_from_slice(lines);
        }
        if out.len() >= WRITE_AT {
            w.write_all(&out).map_err(write_error)?;
            out.clear();
        }
    }
    out.extend_from_slice(SEPARATOR.as_bytes());
    out.push(b'\n');
    w.write_all(&out).map_err(write_error)
}

/// The printed lines of every location's frames (innermost first, each after a blank
/// value column), one text for all locations.
struct FrameLines {
    text: Vec<u8>,
    /// `locations + 1` offsets into `text`.
    ends: Vec<usize>,
}

impl FrameLines {
    fn new(prof: &Profile) -> FrameLines {
        let mut text = Vec::new();
        let mut ends = Vec::with_capacity(prof.locations.len() + 1);
        ends.push(0);
        for frames in location_node_infos(prof, &GraphOptions::default()) {
            for (i, info) in frames.iter().enumerate() {
                let inline = if i + 1 < frames.len() {
                    " (inline)"
                } else {
                    ""
                };
                let _ = writeln!(
                    text,
                    "{:VALUE_WIDTH$}   {}{inline}",
                    "",
                    info.printable_name()
                );
            }
            ends.push(text.len());
        }
        FrameLines { text, ends }
    }

    /// The lines of location `loc`; `None` when it has none (or there is no such
    /// location).
    fn of(&self, loc: u32) -> Option<&[u8]> {
        let i = loc as usize;
        match (self.ends.get(i), self.ends.get(i + 1)) {
            (Some(&a), Some(&b)) if a < b => Some(&self.text[a..b]),
            _ => None,
        }
    }
}

/// Writes a sample's label lines: one line per key (string keys first, then numeric
/// ones, each group sorted), a key's values in their order. Label sets rarely repeat
/// (a request's labels usually name it), so the lines are made for each sample, in
/// buffers kept from one sample to the next.
#[derive(Default)]
struct LabelWriter {
    lines: Vec<u8>,
    string_lines: Vec<std::ops::Range<usize>>,
    numeric_lines: Vec<std::ops::Range<usize>>,
}

impl LabelWriter {
    fn write(
        &mut self,
        out: &mut Vec<u8>,
        labels: &[Label],
        prof: &Profile,
        units: &std::collections::HashMap<String, String>,
    ) {
        if labels.is_empty() {
            return;
        }
        self.lines.clear();
        self.string_lines.clear();
        self.numeric_lines.clear();
        let mut i = 0;
        while i < labels.len() {
            let l = labels[i];
            let numeric = l.is_numeric();
            let unit = match numeric {
                true => units.get(prof.str(l.key)).map_or("", String::as_str),
                false => "",
            };
            let start = self.lines.len();
            let _ = write!(self.lines, "{:>10}:  ", prof.str(l.key));
            let mut j = i;
            while j < labels.len() && labels[j].key == l.key && labels[j].is_numeric() == numeric {
                if j > i {
                    self.lines.push(b' ');
                }
                let v = labels[j];
                if numeric {
                    self.lines.extend_from_slice(label(v.num, unit).as_bytes());
                } else {
                    self.lines.extend_from_slice(prof.str(v.str).as_bytes());
                }
                j += 1;
            }
            self.lines.push(b'\n');
            let range = start..self.lines.len();
            match numeric {
                true => self.numeric_lines.push(range),
                false => self.string_lines.push(range),
            }
            i = j;
        }
        let text = &self.lines;
        self.string_lines
            .sort_unstable_by(|a, b| text[a.clone()].cmp(&text[b.clone()]));
        self.numeric_lines
            .sort_unstable_by(|a, b| text[a.clone()].cmp(&text[b.clone()]));
        for line in self.string_lines.iter().chain(&self.numeric_lines) {
            out.extend_from_slice(&text[line.clone()]);
        }
    }
}

#[cfg(test)]
mod tests {
    use profile::{Function, Label, Line, Location, Profile, ValueType};

    use super::*;
    use crate::{Options, OutputFormat};

    /// A profile of `samples` samples of `main.main` calling `main.work`, in which
    /// `main.work` is inlined into `main.loop`, each with the labels `labels`.
    fn profile(samples: usize, labels: &[(&str, &str, i64)]) -> Profile {
        let mut p = Profile::new(1);
        let ty = p.intern("samples");
        let unit = p.intern("count");
        p.sample_types.push(ValueType { ty, unit });
        for (i, name) in ["main.main", "main.loop", "main.work"].iter().enumerate() {
            let name = p.intern(name);
            p.functions.push(Function {
                id: i as u64 + 1,
                name,
                ..Function::default()
            });
        }
        let line = |function| Line {
            function,
            line: 0,
            column: 0,
        };
        p.locations.push(Location {
            id: 1,
            lines: vec![line(0)].into(),
            ..Location::default()
        });
        p.locations.push(Location {
            id: 2,
            lines: vec![line(2), line(1)].into(),
            ..Location::default()
        });
        let labels: Vec<Label> = labels
            .iter()
            .map(|&(key, text, num)| Label {
                key: p.intern(key),
                str: p.intern(text),
                num,
                ..Label::default()
            })
            .collect();
        for i in 0..samples {
            p.samples.push(&[i as i64 + 1], &[1, 0], &labels);
        }
        p
    }

    /// Runs the report into a writer that keeps each write apart.
    fn writes_of(p: &Profile) -> Vec<Vec<u8>> {
        struct Writes(Vec<Vec<u8>>);
        impl Write for Writes {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                self.0.push(buf.to_vec());
                Ok(buf.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let rpt = Report::new(p, Options::new(OutputFormat::Traces, p, 0));
        let mut w = Writes(Vec::new());
        print_traces(&mut w, &rpt).expect("traces report");
        w.0
    }

    /// String labels come before numeric ones, each group sorted as printed lines
    /// (right-aligned keys: shorter keys first), as pprof sorts them.
    #[test]
    fn traces_print_each_sample_with_its_value_labels_and_inlined_frames() {
        let p = profile(
            2,
            &[("tenant", "b", 0), ("bytes", "", 64), ("handler", "/x", 0)],
        );
        let text = String::from_utf8(writes_of(&p).concat()).unwrap();
        let sample = |value: &str| {
            format!(
                "{SEPARATOR}\n    tenant:  b\n   handler:  /x\n     bytes:  64\n\
                 {value:>10}   main.work (inline)\n             main.loop\n             main.main\n"
            )
        };
        assert!(
            text.ends_with(&format!("{}{}{SEPARATOR}\n", sample("1"), sample("2"))),
            "{text}"
        );
    }

    #[test]
    fn traces_are_written_as_they_are_made() {
        // About 150 bytes a sample: some 15 MB of report.
        let p = profile(100_000, &[("handler", "/x", 0)]);
        let writes = writes_of(&p);
        assert!(writes.len() > 10, "{} writes", writes.len());
        assert!(writes.iter().all(|w| w.len() < WRITE_AT + 4096));
        let text = writes.concat();
        assert_eq!(
            text.iter().filter(|&&b| b == b'\n').count(),
            1 + 100_000 * 5 + 1
        );
    }
}
