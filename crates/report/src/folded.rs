//! Collapsed stacks (`-folded`): one line per distinct stack, frames from the root to
//! the leaf separated by `;`, then a space and the stack's value; the input format of
//! flamegraph.pl, inferno and speedscope.

use std::io::Write;

use profile::Result;

use crate::flame::for_each_stack;
use crate::report::Report;
use crate::write_error;

/// Writes the distinct stacks of the report's profile with their values, sorted by
/// their frames. Stacks whose value sums to zero are left out; with a diff base the
/// value is the difference (new minus base).
pub fn print_folded(w: &mut dyn Write, rpt: &Report) -> Result<()> {
    let o = &rpt.options;
    let ratio = if o.ratio > 0.0 && o.ratio != 1.0 {
        Some(o.ratio)
    } else {
        None
    };
    let mut out = std::io::BufWriter::with_capacity(1 << 16, w);
    let mut line = String::new();
    for_each_stack(rpt.prof, o.sample_index, |stack| {
        let mut value = stack.value - stack.base;
        if let Some(r) = ratio {
            value = (value as f64 * r) as i64;
        }
        if value == 0 || stack.frames.is_empty() {
            return Ok(());
        }
        line.clear();
        for (j, name) in stack.frame_names().enumerate() {
            if j > 0 {
                line.push(';');
            }
            line.push_str(name);
        }
        writeln!(out, "{line} {value}").map_err(write_error)
    })?;
    out.flush().map_err(write_error)
}
