//! Column alignment of tab-separated text, as Go's `text/tabwriter` does it with right
//! alignment and space padding (the layout of pprof's tags report).

/// Aligns the tab-terminated cells of `text` to the right in columns, each column as
/// wide as its widest cell plus `padding`. A line's last cell (not followed by a tab)
/// is not aligned. Columns are measured over runs of consecutive lines that have the
/// column; a line with a single cell ends the run of every column.
pub fn align_right(text: &str, padding: usize) -> String {
    let mut out = String::with_capacity(text.len() * 2);
    let mut block: Vec<Vec<&str>> = Vec::new();
    let mut terminated: Vec<bool> = Vec::new();
    for raw in text.split_inclusive('\n') {
        let (line, has_newline) = match raw.strip_suffix('\n') {
            Some(l) => (l, true),
            None => (raw, false),
        };
        let cells: Vec<&str> = line.split('\t').collect();
        let single = cells.len() == 1;
        block.push(cells);
        terminated.push(has_newline);
        if single && has_newline {
            format_block(&block, &terminated, padding, &mut out);
            block.clear();
            terminated.clear();
        }
    }
    format_block(&block, &terminated, padding, &mut out);
    out
}

fn format_block(lines: &[Vec<&str>], terminated: &[bool], padding: usize, out: &mut String) {
    let mut widths = Vec::new();
    format_columns(lines, terminated, 0, lines.len(), padding, &mut widths, out);
}

fn cell_width(cell: &str) -> usize {
    cell.chars().count()
}

fn format_columns(
    lines: &[Vec<&str>],
    terminated: &[bool],
    mut line0: usize,
    line1: usize,
    padding: usize,
    widths: &mut Vec<usize>,
    out: &mut String,
) {
    let column = widths.len();
    let mut this = line0;
    while this < line1 {
        if column + 1 >= lines[this].len() {
            this += 1;
            continue;
        }
        write_lines(lines, terminated, line0, this, widths, out);
        line0 = this;
        let mut width = 0;
        while this < line1 && column + 1 < lines[this].len() {
            width = width.max(cell_width(lines[this][column]) + padding);
            this += 1;
        }
        widths.push(width);
        format_columns(lines, terminated, line0, this, padding, widths, out);
        widths.pop();
        line0 = this;
    }
    write_lines(lines, terminated, line0, line1, widths, out);
}

fn write_lines(
    lines: &[Vec<&str>],
    terminated: &[bool],
    from: usize,
    to: usize,
    widths: &[usize],
    out: &mut String,
) {
    for i in from..to {
        for (j, cell) in lines[i].iter().enumerate() {
            if let Some(&w) = widths.get(j) {
                let cw = cell_width(cell);
                out.extend(std::iter::repeat_n(' ', w.saturating_sub(cw)));
            }
            out.push_str(cell);
        }
        if terminated[i] {
            out.push('\n');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligns_cells_right_within_runs_of_lines() {
        let text = "key:\t Total 10\n \t1 (10%):\t a\n \t100 (90%):\t bb\n\n";
        let want = " key: Total 10\n        1 (10%): a\n      100 (90%): bb\n\n";
        assert_eq!(align_right(text, 1), want);
    }
}
