//! Column alignment of tab-separated text, as Go's `text/tabwriter` does it with right
//! alignment and space padding (the layout of pprof's tags report).

/// Aligns the tab-terminated cells of `text` to the right in columns, each column as
/// wide as its widest cell plus `padding`. A line's last cell (not followed by a tab)
/// is not aligned. Columns are measured over runs of consecutive lines that have the
/// column; a line with a single cell ends the run of every column.
pub fn align_right(text: &str, padding: usize) -> String {
    let mut out = String::with_capacity(text.len() * 2);
    let mut block = Block::default();
    for raw in text.split_inclusive('\n') {
        let (line, has_newline) = match raw.strip_suffix('\n') {
            Some(l) => (l, true),
            None => (raw, false),
        };
        let before = block.cells.len();
        block
            .cells
            .extend(line.split('\t').map(|c| (c, cell_width(c))));
        block.starts.push(block.cells.len());
        block.terminated.push(has_newline);
        if block.cells.len() - before == 1 && has_newline {
            block.format(padding, &mut out);
            block.clear();
        }
    }
    block.format(padding, &mut out);
    out
}

/// Lines up to one that ends every column, their cells (each with its width) in one
/// list.
struct Block<'t> {
    cells: Vec<(&'t str, usize)>,
    /// Where each line's cells end in `cells` (and the next line's start), after a
    /// leading 0.
    starts: Vec<usize>,
    /// Whether each line ended with a newline.
    terminated: Vec<bool>,
}

impl Default for Block<'_> {
    fn default() -> Self {
        Block {
            cells: Vec::new(),
            starts: vec![0],
            terminated: Vec::new(),
        }
    }
}

impl<'t> Block<'t> {
    fn len(&self) -> usize {
        self.terminated.len()
    }

    fn line(&self, i: usize) -> &[(&'t str, usize)] {
        &self.cells[self.starts[i]..self.starts[i + 1]]
    }

    fn clear(&mut self) {
        self.cells.clear();
        self.starts.truncate(1);
        self.terminated.clear();
    }

    fn format(&self, padding: usize, out: &mut String) {
        let mut widths = Vec::new();
        self.format_columns(0, self.len(), padding, &mut widths, out);
    }

    fn format_columns(
        &self,
        mut line0: usize,
        line1: usize,
        padding: usize,
        widths: &mut Vec<usize>,
        out: &mut String,
    ) {
        let column = widths.len();
        let mut this = line0;
        while this < line1 {
            if column + 1 >= self.line(this).len() {
                this += 1;
                continue;
            }
            self.write_lines(line0, this, widths, out);
            line0 = this;
            let mut width = 0;
            while this < line1 && column + 1 < self.line(this).len() {
                width = width.max(self.line(this)[column].1 + padding);
                this += 1;
            }
            widths.push(width);
            self.format_columns(line0, this, padding, widths, out);
            widths.pop();
            line0 = this;
        }
        self.write_lines(line0, line1, widths, out);
    }

    fn write_lines(&self, from: usize, to: usize, widths: &[usize], out: &mut String) {
        const SPACES: &str = "                                ";
        for i in from..to {
            for (j, &(cell, cw)) in self.line(i).iter().enumerate() {
                if let Some(&w) = widths.get(j) {
                    let mut pad = w.saturating_sub(cw);
                    while pad > 0 {
                        let n = pad.min(SPACES.len());
                        out.push_str(&SPACES[..n]);
                        pad -= n;
                    }
                }
                out.push_str(cell);
            }
            if self.terminated[i] {
                out.push('\n');
            }
        }
    }
}

/// The width of a cell: its characters.
pub(crate) fn cell_width(cell: &str) -> usize {
    if cell.is_ascii() {
        cell.len()
    } else {
        cell.chars().count()
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

    #[test]
    fn pads_by_characters_past_any_width() {
        let long = "x".repeat(70);
        let text = format!("\t{long}:\t a\n\tµs:\t b\n");
        // An empty first column one space wide, then the second as wide as its widest
        // cell (71 characters) and one space.
        let want = format!("  {long}: a\n{}µs: b\n", " ".repeat(70));
        assert_eq!(align_right(&text, 1), want);
    }
}
