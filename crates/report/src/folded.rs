//! Collapsed stacks (`-folded`): one line per distinct stack, frames from the root to
//! the leaf separated by `;`, then a space and the stack's value; the input format of
//! flamegraph.pl, inferno and speedscope.

use std::io::Write;

use profile::Result;

use crate::flame::Stacks;
use crate::report::Report;
use crate::write_error;

/// Writes the distinct stacks of the report's profile with their values, sorted by
/// their frames. Stacks whose value sums to zero are left out; with a diff base the
/// value is the difference (new minus base).
pub fn print_folded(w: &mut dyn Write, rpt: &Report) -> Result<()> {
    let o = &rpt.options;
    let stacks = Stacks::from_profile(rpt.prof, o.sample_index);
    let ratio = if o.ratio > 0.0 && o.ratio != 1.0 {
        Some(o.ratio)
    } else {
        None
    };
    let mut out = std::io::BufWriter::with_capacity(1 << 16, w);
    let mut line = String::new();
    for i in 0..stacks.len() {
        let mut value = stacks.values[i] - stacks.bases[i];
        if let Some(r) = ratio {
            value = (value as f64 * r) as i64;
        }
        let frames = stacks.frames(i);
        if value == 0 || frames.is_empty() {
            continue;
        }
        line.clear();
        for (j, &name) in frames.iter().enumerate() {
            if j > 0 {
                line.push(';');
            }
            line.push_str(stacks.names.get(name as usize).map_or("", String::as_str));
        }
        writeln!(out, "{line} {value}").map_err(write_error)?;
    }
    out.flush().map_err(write_error)
}
