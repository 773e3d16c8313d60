//! Sample values, bit-packed in blocks of rows.
//!
//! A sample has one value per sample type, and most values are far smaller than the
//! 64 bits an `i64` takes: a heap profile's four columns (objects and bytes, allocated
//! and in use) of 800,000 samples need 18 to 33 bits each. Rows are gathered in blocks
//! of [`BLOCK`]; a full block is packed with each column in as many bits as its largest
//! value in the block needs, zigzag-encoded so that small negative values (a profile
//! subtracted from another) stay small too. Widths are decided once per block, when it
//! is full, so appending never repacks what is stored; a value set later that does not
//! fit repacks its block only. The last rows, until they fill a block, stay unpacked.

/// Rows per packed block.
const BLOCK: usize = 4096;

/// The values of a sample set: rows of `width` values, packed a block at a time.
#[derive(Clone, Default)]
pub(super) struct ValueRows {
    /// Values per row.
    width: usize,
    /// Number of rows.
    count: usize,
    /// The full blocks, in order.
    blocks: Vec<Block>,
    /// The rows after the last full block, `width` values each.
    tail: Vec<i64>,
}

/// [`BLOCK`] rows, each column bit-packed.
#[derive(Clone)]
struct Block {
    /// Where each column starts in a row, in bits, and last the bits of a row: the
    /// width of column `c` is `offsets[c + 1] - offsets[c]`.
    offsets: Box<[usize]>,
    /// The rows, one after another.
    words: Box<[u64]>,
}

impl Block {
    /// The rows of `values` (`width` values each), packed.
    fn pack(values: &[i64], width: usize) -> Block {
        let mut widths = vec![0u32; width];
        for row in values.chunks_exact(width.max(1)) {
            for (w, &v) in widths.iter_mut().zip(row) {
                *w = (*w).max(bits_of(zigzag(v)));
            }
        }
        Block::pack_in(values, &widths)
    }

    /// The rows of `values` packed in columns of `widths[c]` bits each (at least what
    /// each value of the column needs).
    fn pack_in(values: &[i64], widths: &[u32]) -> Block {
        let width = widths.len();
        let mut offsets = vec![0usize; width + 1];
        for (c, &w) in widths.iter().enumerate() {
            offsets[c + 1] = offsets[c] + w as usize;
        }
        let rows = values.len().checked_div(width).unwrap_or(0);
        let mut words = vec![0u64; (rows * offsets[width]).div_ceil(64)];
        let mut at = 0;
        for row in values.chunks_exact(width.max(1)) {
            for (&bits, &v) in widths.iter().zip(row) {
                write_bits(&mut words, at, bits, zigzag(v));
                at += bits as usize;
            }
        }
        Block {
            offsets: offsets.into_boxed_slice(),
            words: words.into_boxed_slice(),
        }
    }

    /// Bits of column `c` (at most 64).
    #[inline]
    fn bits(&self, c: usize) -> u32 {
        (self.offsets[c + 1] - self.offsets[c]) as u32
    }

    /// Where row `r` starts, in bits.
    #[inline]
    fn row_start(&self, r: usize) -> usize {
        r * self.offsets.last().copied().unwrap_or(0)
    }

    /// Value `c` of row `r`.
    #[inline]
    fn get(&self, r: usize, c: usize) -> i64 {
        let at = self.row_start(r) + self.offsets[c];
        unzigzag(read_bits(&self.words, at, self.bits(c)))
    }

    /// The rows (a block holds [`BLOCK`]), unpacked, `width` values each.
    fn unpack(&self, width: usize) -> Vec<i64> {
        let mut values = Vec::with_capacity(BLOCK * width);
        for r in 0..BLOCK {
            for c in 0..width {
                values.push(self.get(r, c));
            }
        }
        values
    }
}

/// A value as the rows store it: zigzag-encoded, small magnitudes small.
#[inline]
fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

/// The value a stored `z` stands for.
#[inline]
fn unzigzag(z: u64) -> i64 {
    ((z >> 1) as i64) ^ -((z & 1) as i64)
}

/// The significant bits of `z`.
#[inline]
fn bits_of(z: u64) -> u32 {
    64 - z.leading_zeros()
}

/// The `bits` bits (at most 64) of `words` from bit `at` on.
#[inline]
fn read_bits(words: &[u64], at: usize, bits: u32) -> u64 {
    if bits == 0 {
        return 0;
    }
    let (word, shift) = (at / 64, (at % 64) as u32);
    let mut z = words[word] >> shift;
    if shift + bits > 64 {
        z |= words[word + 1] << (64 - shift);
    }
    if bits < 64 {
        z &= (1 << bits) - 1;
    }
    z
}

/// Writes `z` (which fits in `bits` bits) as the `bits` bits of `words` from bit `at`
/// on, over what was there.
#[inline]
fn write_bits(words: &mut [u64], at: usize, bits: u32, z: u64) {
    if bits == 0 {
        return;
    }
    let mask = if bits < 64 { (1u64 << bits) - 1 } else { !0 };
    let (word, shift) = (at / 64, (at % 64) as u32);
    words[word] = (words[word] & !(mask << shift)) | (z << shift);
    if shift + bits > 64 {
        let spill = 64 - shift;
        words[word + 1] = (words[word + 1] & !(mask >> spill)) | (z >> spill);
    }
}

impl ValueRows {
    /// No rows, of `width` values each.
    pub(super) fn new(width: usize) -> ValueRows {
        ValueRows {
            width,
            count: 0,
            blocks: Vec::new(),
            tail: Vec::new(),
        }
    }

    /// Bytes of memory the rows occupy.
    pub(super) fn heap_bytes(&self) -> usize {
        self.blocks
            .iter()
            .map(|b| b.words.len() * 8 + b.offsets.len() * 8)
            .sum::<usize>()
            + self.blocks.capacity() * std::mem::size_of::<Block>()
            + self.tail.capacity() * 8
    }

    /// Gives back the room the rows grew into beyond what they hold.
    pub(super) fn shrink_to_fit(&mut self) {
        self.blocks.shrink_to_fit();
        self.tail.shrink_to_fit();
    }

    /// Makes room for `rows` more rows.
    pub(super) fn reserve(&mut self, rows: usize) {
        self.blocks
            .reserve((self.count + rows) / BLOCK - self.blocks.len());
    }

    /// Value `c` of row `i`.
    #[inline]
    pub(super) fn get(&self, i: usize, c: usize) -> i64 {
        match self.blocks.get(i / BLOCK) {
            Some(block) => block.get(i % BLOCK, c),
            None => self.tail[(i % BLOCK) * self.width + c],
        }
    }

    /// Calls `f` with each row of `rows` and its value `c` (below the width), in row
    /// order: a column is read block by block, without looking up each row's block.
    pub(super) fn for_each_in_column(
        &self,
        c: usize,
        rows: std::ops::Range<usize>,
        mut f: impl FnMut(usize, i64),
    ) {
        debug_assert!(c < self.width && rows.end <= self.count);
        let mut r = rows.start;
        while r < rows.end {
            let (b, first) = (r / BLOCK, r % BLOCK);
            let end = rows.end.min((b + 1) * BLOCK);
            match self.blocks.get(b) {
                Some(block) => {
                    let (bits, row_bits) = (block.bits(c), block.row_start(1));
                    let mut at = block.row_start(first) + block.offsets[c];
                    for row in r..end {
                        f(row, unzigzag(read_bits(&block.words, at, bits)));
                        at += row_bits;
                    }
                }
                None => {
                    for row in r..end {
                        f(row, self.tail[(row % BLOCK) * self.width + c]);
                    }
                }
            }
            r = end;
        }
    }

    /// Starts loading row `i` into the cache (see [`super::prefetch`]).
    #[inline]
    pub(super) fn prefetch(&self, i: usize) {
        match self.blocks.get(i / BLOCK) {
            Some(block) => {
                let bit = block.row_start(i % BLOCK);
                if let Some(word) = block.words.get(bit / 64) {
                    super::prefetch(word);
                }
            }
            None => {
                if let Some(v) = self.tail.get((i % BLOCK) * self.width) {
                    super::prefetch(v);
                }
            }
        }
    }

    /// Appends a row; `values` has `width` values.
    #[inline]
    pub(super) fn push(&mut self, values: &[i64]) {
        debug_assert_eq!(values.len(), self.width);
        self.tail.extend_from_slice(values);
        self.count += 1;
        if self.count.is_multiple_of(BLOCK) {
            self.blocks.push(Block::pack(&self.tail, self.width));
            self.tail.clear();
        }
    }

    /// Sets value `c` of row `i` to `v`; a value its block's column cannot hold
    /// repacks the block.
    pub(super) fn set(&mut self, i: usize, c: usize, v: i64) {
        let width = self.width;
        let Some(block) = self.blocks.get_mut(i / BLOCK) else {
            self.tail[(i % BLOCK) * width + c] = v;
            return;
        };
        let z = zigzag(v);
        let bits = block.bits(c);
        if bits_of(z) <= bits {
            let at = block.row_start(i % BLOCK) + block.offsets[c];
            write_bits(&mut block.words, at, bits, z);
            return;
        }
        let mut values = block.unpack(width);
        values[(i % BLOCK) * width + c] = v;
        // The other columns keep their widths.
        let mut widths: Vec<u32> = (0..width).map(|k| block.bits(k)).collect();
        widths[c] = bits_of(z);
        *block = Block::pack_in(&values, &widths);
    }

    /// Copies row `from` over row `to`.
    pub(super) fn copy_row(&mut self, from: usize, to: usize) {
        if from != to {
            for c in 0..self.width {
                let v = self.get(from, c);
                self.set(to, c, v);
            }
        }
    }

    /// Keeps the first `len` rows.
    pub(super) fn truncate(&mut self, len: usize) {
        if len >= self.count {
            return;
        }
        let full = len / BLOCK;
        if full < self.blocks.len() {
            // The rows of the block `len` falls in become the tail.
            self.tail = self.blocks[full].unpack(self.width);
            self.blocks.truncate(full);
        }
        self.tail.truncate((len % BLOCK) * self.width);
        self.count = len;
    }
}

/// The values of one sample, read from its packed row: one per sample type.
#[derive(Clone, Copy)]
pub struct Values<'a> {
    rows: &'a ValueRows,
    row: usize,
}

impl<'a> Values<'a> {
    /// The values of row `row` of `rows`.
    pub(super) fn new(rows: &'a ValueRows, row: usize) -> Values<'a> {
        Values { rows, row }
    }

    /// Number of values (the number of sample types).
    pub fn len(&self) -> usize {
        self.rows.width
    }

    /// Whether there are no values.
    pub fn is_empty(&self) -> bool {
        self.rows.width == 0
    }

    /// Value `c`; panics when `c` is not below [`len`](Self::len).
    #[inline]
    pub fn at(&self, c: usize) -> i64 {
        assert!(c < self.rows.width, "value {c} of {}", self.rows.width);
        self.rows.get(self.row, c)
    }

    /// Value `c`, if there is one.
    #[inline]
    pub fn get(&self, c: usize) -> Option<i64> {
        (c < self.rows.width).then(|| self.rows.get(self.row, c))
    }

    /// The first value, if there is one.
    pub fn first(&self) -> Option<i64> {
        self.get(0)
    }

    /// The values in order.
    pub fn iter(&self) -> ValuesIter<'a> {
        let rows = self.rows;
        let r = self.row % BLOCK;
        let row = match rows.blocks.get(self.row / BLOCK) {
            Some(block) => Row::Packed {
                block,
                at: block.row_start(r),
            },
            None => Row::Plain(&rows.tail[r * rows.width..(r + 1) * rows.width]),
        };
        ValuesIter {
            row,
            next: 0,
            width: rows.width,
        }
    }

    /// The values, copied into a vector.
    pub fn to_vec(&self) -> Vec<i64> {
        self.iter().collect()
    }

    /// Writes the values into `out`, which is cleared first.
    pub fn copy_into(&self, out: &mut Vec<i64>) {
        out.clear();
        out.extend(self.iter());
    }
}

/// An iterator over the [`Values`] of a sample, in order.
#[derive(Clone)]
pub struct ValuesIter<'a> {
    row: Row<'a>,
    /// The column of the next value.
    next: usize,
    width: usize,
}

/// Where the values of a row are.
#[derive(Clone)]
enum Row<'a> {
    /// In a block, the next one from bit `at` on.
    Packed { block: &'a Block, at: usize },
    /// Not packed yet.
    Plain(&'a [i64]),
}

impl Iterator for ValuesIter<'_> {
    type Item = i64;

    #[inline]
    fn next(&mut self) -> Option<i64> {
        if self.next == self.width {
            return None;
        }
        let c = self.next;
        self.next += 1;
        Some(match &mut self.row {
            Row::Packed { block, at } => {
                let bits = block.bits(c);
                let z = read_bits(&block.words, *at, bits);
                *at += bits as usize;
                unzigzag(z)
            }
            Row::Plain(values) => values[c],
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.width - self.next;
        (n, Some(n))
    }
}

impl ExactSizeIterator for ValuesIter<'_> {}

impl<'a> IntoIterator for Values<'a> {
    type Item = i64;
    type IntoIter = ValuesIter<'a>;

    fn into_iter(self) -> ValuesIter<'a> {
        self.iter()
    }
}

impl PartialEq for Values<'_> {
    fn eq(&self, other: &Values<'_>) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl PartialEq<[i64]> for Values<'_> {
    fn eq(&self, other: &[i64]) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter().copied())
    }
}

impl<const N: usize> PartialEq<[i64; N]> for Values<'_> {
    fn eq(&self, other: &[i64; N]) -> bool {
        *self == other[..]
    }
}

impl PartialEq<&[i64]> for Values<'_> {
    fn eq(&self, other: &&[i64]) -> bool {
        *self == **other
    }
}

impl<const N: usize> PartialEq<&[i64; N]> for Values<'_> {
    fn eq(&self, other: &&[i64; N]) -> bool {
        *self == other[..]
    }
}

impl std::fmt::Debug for Values<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Row `i` of a test set: values of every size and sign, four columns.
    fn row(i: i64) -> Vec<i64> {
        vec![
            i % 7 - 3,
            i * 1001,
            i.wrapping_mul(0x1E37_79B9_7F4A_7C15),
            -i % 100,
        ]
    }

    /// `n` rows of [`row`].
    fn rows(n: usize) -> (ValueRows, Vec<Vec<i64>>) {
        let mut r = ValueRows::new(4);
        let expected: Vec<Vec<i64>> = (0..n as i64).map(row).collect();
        for values in &expected {
            r.push(values);
        }
        (r, expected)
    }

    fn all(r: &ValueRows) -> Vec<Vec<i64>> {
        (0..r.count).map(|i| Values::new(r, i).to_vec()).collect()
    }

    #[test]
    fn values_of_any_size_and_sign_read_back_as_pushed() {
        let extremes = [i64::MAX, i64::MIN, 0, -1];
        let mut r = ValueRows::new(4);
        r.push(&extremes);
        assert_eq!(Values::new(&r, 0), extremes);
        // Across several full blocks and the unpacked rows after them, by value and
        // by iteration.
        let (r, expected) = rows(3 * BLOCK + 100);
        assert_eq!(r.blocks.len(), 3);
        assert_eq!(all(&r), expected);
        for i in [0, BLOCK - 1, BLOCK, 2 * BLOCK + 7, 3 * BLOCK + 99] {
            for (c, &v) in expected[i].iter().enumerate() {
                assert_eq!(r.get(i, c), v);
            }
        }
    }

    #[test]
    fn a_column_read_over_any_range_of_rows_gives_each_rows_value() {
        let (r, expected) = rows(3 * BLOCK + 100);
        for range in [
            0..r.count,
            5..BLOCK,
            BLOCK - 3..2 * BLOCK + 2,
            3 * BLOCK + 1..r.count,
            7..7,
        ] {
            for c in 0..r.width {
                let mut seen = Vec::new();
                r.for_each_in_column(c, range.clone(), |i, v| seen.push((i, v)));
                let want: Vec<(usize, i64)> = expected[range.clone()]
                    .iter()
                    .zip(range.clone())
                    .map(|(row, i)| (i, row[c]))
                    .collect();
                assert_eq!(seen, want, "column {c} of rows {range:?}");
            }
        }
    }

    #[test]
    fn a_block_packs_each_column_in_the_bits_its_largest_value_needs() {
        let mut r = ValueRows::new(3);
        for i in 0..BLOCK as i64 {
            // zigzag: up to 2 * 3 + 1 = 7 needs 3 bits; 2 * 70000 needs 18; zeros none.
            r.push(&[i % 4 - 3, if i == 9 { 70000 } else { i }, 0]);
        }
        let block = &r.blocks[0];
        assert_eq!((block.bits(0), block.bits(1), block.bits(2)), (3, 18, 0));
        assert_eq!(block.words.len(), (BLOCK * 21).div_ceil(64));
        assert!(r.tail.is_empty());
        assert_eq!(r.get(9, 1), 70000);
    }

    #[test]
    fn setting_a_value_too_wide_for_its_block_repacks_that_block_only() {
        let (mut r, mut expected) = rows(2 * BLOCK + 10);
        let second = r.blocks[1].words.clone();
        for (i, c, v) in [
            (5, 0, -(1 << 50)),
            (6, 3, i64::MIN),
            (2 * BLOCK + 3, 1, 1 << 62),
        ] {
            r.set(i, c, v);
            expected[i][c] = v;
        }
        // Values that fit are written in place.
        r.set(BLOCK + 1, 0, 2);
        expected[BLOCK + 1][0] = 2;
        assert_eq!(all(&r), expected);
        assert_eq!(r.blocks[0].bits(0), 51);
        assert_eq!(r.blocks[1].bits(0), 3);
        assert_eq!(r.blocks[1].words.len(), second.len());
    }

    #[test]
    fn rows_copied_and_truncated_leave_the_rest_as_it_was() {
        let (mut r, mut expected) = rows(2 * BLOCK + 10);
        for (from, to) in [(2 * BLOCK + 9, 0), (BLOCK + 3, 1), (2 * BLOCK, BLOCK)] {
            r.copy_row(from, to);
            expected[to] = expected[from].clone();
        }
        // Into the middle of a block: its rows before the cut become the tail.
        r.truncate(BLOCK + 5);
        expected.truncate(BLOCK + 5);
        assert_eq!(all(&r), expected);
        assert_eq!(r.blocks.len(), 1);
        // Rows pushed after it fill the block again.
        for i in 0..BLOCK as i64 {
            r.push(&row(-i));
            expected.push(row(-i));
        }
        assert_eq!(r.blocks.len(), 2);
        assert_eq!(all(&r), expected);
        r.truncate(3);
        assert_eq!(all(&r), expected[..3].to_vec());
    }

    #[test]
    fn rows_of_no_values_take_no_memory() {
        let mut r = ValueRows::new(0);
        for _ in 0..2 * BLOCK {
            r.push(&[]);
        }
        assert_eq!(r.count, 2 * BLOCK);
        assert!(r.blocks.iter().all(|b| b.words.is_empty()));
        assert!(Values::new(&r, 2 * BLOCK - 1).is_empty());
    }
}
