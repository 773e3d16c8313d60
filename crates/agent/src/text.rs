//! Go's legacy text profiles, served with `?debug=1`: heap, mutex and thread stacks.
//!
//! Each record is a line of values, `@` and the raw stack addresses (return addresses
//! as the stack holds them), then one `#` line per source frame (`pc name+offset
//! file:line`, inlined frames first) and a blank line. Like Go's, the text goes through
//! a tab aligner (Go's `tabwriter` with min width 1, tab width 8, padding 1, tab as
//! padding character), and pprof reads it back as a legacy profile. Unlike Go's, the
//! text ends with the process's executable mappings (`--- Memory map: ---` and the
//! lines of `/proc/self/maps`), so a reader can symbolize the addresses: Go's readers
//! have the Go symbol table; pprof reads this section of legacy profiles.

use std::collections::HashMap;
use std::fmt::Write as _;

use profile::Profile;

use crate::builder::symbol_at;

/// Writes ` @ addr addr...` and the `#` frame lines of one sample's stack, then a blank
/// line. `leaf_is_exact` says the first location is the interrupted instruction (so it
/// is printed as is); other locations hold call sites, printed back as return addresses.
pub(crate) fn write_record_stack(
    out: &mut String,
    p: &Profile,
    locations: profile::Stack<'_>,
    leaf_is_exact: bool,
    entries: &mut HashMap<u64, u64>,
) {
    out.push_str(" @");
    for (i, l) in locations.iter().enumerate() {
        let Some(loc) = p.locations.get(l as usize) else {
            continue;
        };
        let raw = if i == 0 && leaf_is_exact {
            loc.address
        } else {
            loc.address.wrapping_add(1)
        };
        let _ = write!(out, " {raw:#x}");
    }
    out.push('\n');
    for l in locations {
        let Some(loc) = p.locations.get(l as usize) else {
            continue;
        };
        if loc.lines.is_empty() {
            let _ = writeln!(out, "#\t{:#x}", loc.address);
            continue;
        }
        let entry = *entries
            .entry(loc.address)
            .or_insert_with(|| symbol_at(loc.address).map_or(0, |s| s.1));
        for line in &loc.lines {
            let Some(f) = p.functions.get(line.function as usize) else {
                continue;
            };
            let _ = writeln!(
                out,
                "#\t{:#x}\t{}+{:#x}\t{}:{}",
                loc.address,
                p.str(f.name),
                loc.address.wrapping_sub(entry),
                p.str(f.filename),
                line.line
            );
        }
    }
    out.push('\n');
}

/// Appends the `--- Memory map: ---` section: the executable lines of `/proc/self/maps`.
pub(crate) fn append_memory_map(out: &mut String) {
    let Ok(maps) = std::fs::read_to_string("/proc/self/maps") else {
        return;
    };
    out.push_str("\n--- Memory map: ---\n");
    for line in maps.lines() {
        let executable = line
            .split_whitespace()
            .nth(1)
            .is_some_and(|perms| perms.contains('x'));
        if executable {
            out.push_str(line);
            out.push('\n');
        }
    }
}

/// Aligns tab-separated cells as Go's `tabwriter.NewWriter(w, 1, 8, 1, '\t', 0)` does:
/// in each block of consecutive lines that have a cell in a column, the column is
/// padded with tabs to the widest cell plus one, rounded up to a multiple of 8. The last
/// cell of a line (after its last tab) is not aligned.
pub(crate) fn align_tabs(text: &str) -> String {
    const TAB_WIDTH: usize = 8;
    let lines: Vec<Vec<&str>> = text.split('\n').map(|l| l.split('\t').collect()).collect();
    // widths[i][j]: the padded width of cell j of line i.
    let mut widths: Vec<Vec<usize>> = lines.iter().map(|l| vec![0; l.len()]).collect();
    fn format(lines: &[Vec<&str>], widths: &mut [Vec<usize>], range: (usize, usize), col: usize) {
        let (mut line, end) = range;
        while line < end {
            if col + 1 >= lines[line].len() {
                line += 1;
                continue;
            }
            let start = line;
            let mut width = 1;
            while line < end && col + 1 < lines[line].len() {
                width = width.max(lines[line][col].chars().count() + 1);
                line += 1;
            }
            for w in &mut widths[start..line] {
                w[col] = width;
            }
            format(lines, widths, (start, line), col + 1);
        }
    }
    format(&lines, &mut widths, (0, lines.len()), 0);
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    for (i, (cells, w)) in lines.iter().zip(&widths).enumerate() {
        if i > 0 {
            out.push('\n');
        }
        for (j, cell) in cells.iter().enumerate() {
            out.push_str(cell);
            if j + 1 < cells.len() {
                let cell_width = w[j].div_ceil(TAB_WIDTH) * TAB_WIDTH;
                let pad = cell_width - cell.chars().count().min(cell_width);
                for _ in 0..pad.div_ceil(TAB_WIDTH) {
                    out.push('\t');
                }
            }
        }
    }
    out
}

/// The heap profile in Go's `?debug=1` text form: a `heap profile:` header with the
/// totals and `heap/<2 × rate>`, then one record per (stack, block size) of sampled,
/// not unbiased, counts: `inuse_objects: inuse_bytes [alloc_objects: alloc_bytes] @ ...`,
/// in increasing order of bytes in use, as Go 1.27 writes them.
pub fn heap_text() -> String {
    let (p, rate) = crate::heap::sampled_heap_profile();
    let mut records: Vec<(usize, [i64; 4])> = p
        .samples
        .iter()
        .enumerate()
        .map(|(i, s)| {
            (
                i,
                [
                    s.values.at(0),
                    s.values.at(1),
                    s.values.at(2),
                    s.values.at(3),
                ],
            )
        })
        .collect();
    records.sort_by_key(|&(i, v)| (v[3], i));
    let mut total = [0i64; 4];
    for (_, v) in &records {
        for (t, x) in total.iter_mut().zip(v) {
            *t += x;
        }
    }
    // Go keeps the header's alloc and inuse bytes apart, so pprof reads four columns.
    let alloc_bytes = if total[1] == total[3] {
        total[1] + 1
    } else {
        total[1]
    };
    let mut out = format!(
        "heap profile: {}: {} [{}: {}] @ heap/{}\n",
        total[2],
        total[3],
        total[0],
        alloc_bytes,
        2 * rate
    );
    let mut entries = HashMap::new();
    for (i, v) in records {
        let _ = write!(out, "{}: {} [{}: {}]", v[2], v[3], v[0], v[1]);
        let s = p.samples.get(i);
        write_record_stack(&mut out, &p, s.locations, false, &mut entries);
    }
    let mut out = align_tabs(&out);
    append_memory_map(&mut out);
    out
}

/// The mutex profile in Go's `?debug=1` text form: `--- mutex:`, `cycles/second`
/// (delays are in nanoseconds, so 1e9), `sampling period` (the profile fraction), then
/// `delay count @ ...` per releasing stack, largest delay first, with values divided
/// back by the sampling period as Go's records are (pprof multiplies them again).
pub fn mutex_text() -> String {
    let period = crate::set_mutex_profile_fraction(-1);
    let p = crate::mutex_profile();
    let mut order: Vec<usize> = (0..p.samples.len()).collect();
    order.sort_by_key(|&i| (std::cmp::Reverse(p.samples.get(i).values.at(1)), i));
    let mut out = format!(
        "--- mutex:\ncycles/second={}\nsampling period={period}\n",
        1_000_000_000
    );
    let mut entries = HashMap::new();
    for i in order {
        let s = p.samples.get(i);
        let period = i64::from(period.max(1));
        let _ = write!(
            out,
            "{} {}",
            s.values.at(1) / period,
            s.values.at(0) / period
        );
        write_record_stack(&mut out, &p, s.locations, false, &mut entries);
    }
    let mut out = align_tabs(&out);
    append_memory_map(&mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tabs_align_each_column_within_its_block_as_go_tabwriter_does() {
        let text = "1 @ 0x1\n#\t0x1\tf+0x1\ta.rs:1\n#\t0x22\tlonger_name+0x10\tb.rs:2\n\nx\n";
        assert_eq!(
            align_tabs(text),
            "1 @ 0x1\n#\t0x1\tf+0x1\t\t\ta.rs:1\n#\t0x22\tlonger_name+0x10\tb.rs:2\n\nx\n"
        );
        // A cell of exactly 8 characters is padded to 16 columns: one tab.
        assert_eq!(align_tabs("12345678\tx\n"), "12345678\tx\n");
        // Lines without tabs end a block.
        assert_eq!(
            align_tabs("a\tb\nc\ndddddddddd\te\n"),
            "a\tb\nc\ndddddddddd\te\n"
        );
    }

    #[test]
    fn mutex_text_has_gos_header() {
        let text = mutex_text();
        assert!(
            text.starts_with("--- mutex:\ncycles/second=1000000000\nsampling period="),
            "{text}"
        );
    }
}
