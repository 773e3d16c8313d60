//! Collapsed stacks (`-folded`): one line per distinct stack, frames from the root to
//! the leaf separated by `;`, then a space and the stack's value; the input format of
//! flamegraph.pl, inferno and speedscope.

use std::io::Write;

use profile::Result;

use crate::flame::{BuildOptions, FlameGraph};
use crate::report::Report;
use crate::write_error;

/// Writes the distinct stacks of the report's profile with their values, sorted by
/// their frames. Stacks whose value sums to zero are left out; with a diff base the
/// value is the difference (new minus base).
pub fn print_folded(w: &mut dyn Write, rpt: &Report) -> Result<()> {
    let o = &rpt.options;
    let fg = FlameGraph::from_profile(
        rpt.prof,
        &BuildOptions {
            sample_index: o.sample_index,
            min_fraction: 0.0,
        },
    );
    let ratio = if o.ratio > 0.0 && o.ratio != 1.0 {
        Some(o.ratio)
    } else {
        None
    };
    let mut out = std::io::BufWriter::with_capacity(1 << 16, w);
    let mut path: Vec<u32> = Vec::new();
    let mut line = String::new();
    for f in fg.frames.iter().skip(1) {
        path.truncate(f.depth.saturating_sub(1) as usize);
        path.push(f.name);
        let mut value = f.self_value - f.self_base;
        if let Some(r) = ratio {
            value = (value as f64 * r) as i64;
        }
        if value == 0 {
            continue;
        }
        line.clear();
        for (i, &name) in path.iter().enumerate() {
            if i > 0 {
                line.push(';');
            }
            line.push_str(fg.names.get(name as usize).map_or("", String::as_str));
        }
        writeln!(out, "{line} {value}").map_err(write_error)?;
    }
    out.flush().map_err(write_error)
}
