//! Column alignment of tab-separated text, as Go's `text/tabwriter` does it with right
//! alignment and space padding (the layout of pprof's tags report).

/// Aligns the tab-terminated cells of `text` to the right in columns, each column as
/// wide as its widest cell plus `padding`, as Go's tab writer does. A line's last cell
/// (not followed by a tab) is not aligned. Columns are measured over runs of consecutive
/// lines that have the column; a line with a single cell ends the run of every column.
/// A vertical tab ends a cell as a tab does; a form feed ends a line as a newline does
/// (and is written as one), and ends the run of every column whatever the line.
pub fn align_right(text: &str, padding: usize) -> String {
    const FORM_FEED: u8 = 0x0c;
    let mut out = String::with_capacity(text.len() * 2);
    let mut block = Block::default();
    let mut rest = text;
    while !rest.is_empty() {
        let (line, end) = match rest.find(['\n', '\x0c']) {
            Some(i) => {
                let line = (&rest[..i], Some(rest.as_bytes()[i]));
                rest = &rest[i + 1..];
                line
            }
            None => (std::mem::take(&mut rest), None),
        };
        let before = block.cells.len();
        block
            .cells
            .extend(line.split(['\t', '\x0b']).map(|c| (c, cell_width(c))));
        block.starts.push(block.cells.len());
        block.terminated.push(end.is_some());
        if end == Some(FORM_FEED) || (block.cells.len() - before == 1 && end.is_some()) {
            block.format(padding, &mut out);
            block.clear();
        }
    }
    block.format(padding, &mut out);
    out
}

/// Whether `text` holds none of the characters that make cells or lines in
/// [`align_right`] (tabs, vertical tabs, newlines, form feeds).
pub(crate) fn is_one_cell(text: &str) -> bool {
    !text.contains(['\t', '\x0b', '\n', '\x0c'])
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
    fn a_vertical_tab_ends_a_cell_as_a_tab_does() {
        let text = "k:\t T\n \t1 (10%):\t a\x0bb\n \t100 (90%):\t c\x0bdd\n\n";
        assert_eq!(
            align_right(text, 1),
            align_right(&text.replace('\x0b', "\t"), 1)
        );
        assert_eq!(
            align_right(text, 1),
            " k: T\n      1 (10%):  ab\n    100 (90%):  cdd\n\n"
        );
    }

    #[test]
    fn a_form_feed_ends_the_line_and_every_column() {
        let text = "k:\t T\n \t1:\t a\x0cb\n \t22:\t c\n\n";
        assert_eq!(align_right(text, 1), " k: T\n    1: a\nb\n   22: c\n\n");
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
