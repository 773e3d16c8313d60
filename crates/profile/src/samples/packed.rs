//! Bit-packed location indices: the frames of all samples, each stored in as many bits
//! as the largest index needs (18 bits for a profile of 200,000 locations instead of
//! 32), and the [`Stack`] view of one sample's run of them.

use std::fmt;

/// A growable array of `u32`s, each stored in the same number of bits (`width`), which
/// grows as larger values are pushed.
///
/// Element `i` occupies bits `i*width .. (i+1)*width` of `words` (little-endian bit
/// order). `words` always has one word beyond the last element's bits, and every bit
/// past the last element is zero, so a read never needs a bounds branch of its own.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct PackedU32s {
    words: Vec<u64>,
    width: u32,
    len: usize,
}

impl Default for PackedU32s {
    fn default() -> Self {
        PackedU32s::new()
    }
}

impl fmt::Debug for PackedU32s {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries((0..self.len).map(|i| self.get(i)))
            .finish()
    }
}

/// Bits needed to store `v` (at least one).
#[inline]
fn bits_for(v: u32) -> u32 {
    (32 - v.leading_zeros()).max(1)
}

#[inline]
fn mask(width: u32) -> u64 {
    (1u64 << width) - 1
}

/// Reads the bits under `mask` at bit offset `bit` of `words`; `words` must have a
/// word past the one holding `bit`.
#[inline(always)]
fn read(words: &[u64], bit: usize, mask: u64) -> u32 {
    (read64(words, bit) & mask) as u32
}

/// The 64 bits from bit offset `bit` of `words` on (zero past the word after the one
/// holding `bit`, which must be there).
#[inline(always)]
fn read64(words: &[u64], bit: usize) -> u64 {
    let w = bit >> 6;
    let off = (bit & 63) as u32;
    let lo = words[w] >> off;
    // Shifting in two steps makes an offset of zero contribute nothing, without a branch.
    let hi = (words[w + 1] << 1) << (63 - off);
    lo | hi
}

/// Writes `values`, each in `width` bits, from bit offset `bit` of `words` on, whole
/// words at a time, keeping every bit outside the run; each value must fit.
///
/// Narrow values are first joined in groups that fit in a word (three of 19 bits in
/// 57), so that the work of placing them, a branch and a store per word, is done once
/// a group instead of once a value.
fn pack_into(words: &mut [u64], bit: usize, width: u32, values: &[u32]) {
    match width {
        0..=15 => pack_grouped::<4>(words, bit, width, values),
        16..=21 => pack_grouped::<3>(words, bit, width, values),
        22..=31 => pack_grouped::<2>(words, bit, width, values),
        _ => pack_grouped::<1>(words, bit, width, values),
    }
}

/// Reads `out.len()` values of `width` bits from bit offset `bit` of `words` on, the
/// reverse of [`pack_into`]: narrow values a group at a time from one 64-bit read.
fn unpack_into(words: &[u64], bit: usize, width: u32, out: &mut [u32]) {
    match width {
        0..=15 => unpack_grouped::<4>(words, bit, width, out),
        16..=21 => unpack_grouped::<3>(words, bit, width, out),
        22..=31 => unpack_grouped::<2>(words, bit, width, out),
        _ => unpack_grouped::<1>(words, bit, width, out),
    }
}

/// [`unpack_into`] with the values read `K` at a time (`K * width` must be below 64).
#[inline(always)]
fn unpack_grouped<const K: usize>(words: &[u64], mut bit: usize, width: u32, out: &mut [u32]) {
    let m = mask(width);
    let (groups, rest) = out.as_chunks_mut::<K>();
    for group in groups {
        // The word after the last element's is there.
        let joined = read64(words, bit);
        for (i, v) in group.iter_mut().enumerate() {
            *v = ((joined >> (i as u32 * width)) & m) as u32;
        }
        bit += K * width as usize;
    }
    for v in rest {
        *v = read(words, bit, m);
        bit += width as usize;
    }
}

/// [`pack_into`] with the values joined `K` at a time (`K * width` must be below 64).
#[inline(always)]
fn pack_grouped<const K: usize>(words: &mut [u64], bit: usize, width: u32, values: &[u32]) {
    let mut out = BitWriter::new(words, bit);
    for_each_group::<K>(width, values, |v, bits| out.put(v, bits));
    out.finish();
}

/// Calls `put(joined, n)` for each group of `K` of `values` joined into `n = K * width`
/// bits (the first value lowest), then `put(v, width)` for each value left over;
/// `K * width` must be below 64.
#[inline(always)]
fn for_each_group<const K: usize>(width: u32, values: &[u32], mut put: impl FnMut(u64, u32)) {
    debug_assert!(K as u32 * width < 64);
    let (groups, rest) = values.as_chunks::<K>();
    for group in groups {
        let mut joined = 0u64;
        for (i, &v) in group.iter().enumerate() {
            joined |= (v as u64) << (i as u32 * width);
        }
        put(joined, K as u32 * width);
    }
    for &v in rest {
        put(v as u64, width);
    }
}

/// Bit fields joined into 64-bit words: the word being filled and how many of its bits
/// are, handing over each word as it fills.
struct WordFiller {
    /// Bits of `acc` filled.
    off: u32,
    /// The word being filled.
    acc: u64,
}

impl WordFiller {
    /// Adds the low `width` bits of `v` (1 to 63; no bit above them may be set); returns
    /// the word they filled, if they filled one.
    #[inline(always)]
    fn put(&mut self, v: u64, width: u32) -> Option<u64> {
        self.acc |= v << self.off;
        self.off += width;
        if self.off < 64 {
            return None;
        }
        let full = self.acc;
        self.off -= 64;
        // The bits of `v` that did not fit (none when `off` is zero).
        self.acc = v >> (width - self.off);
        Some(full)
    }
}

/// Appends bit fields to a run of words, one word stored as it fills.
struct BitWriter<'a> {
    words: &'a mut [u64],
    /// The word being filled.
    word: usize,
    bits: WordFiller,
}

impl<'a> BitWriter<'a> {
    /// A writer from bit offset `bit` of `words` on, keeping the bits below it.
    #[inline(always)]
    fn new(words: &'a mut [u64], bit: usize) -> BitWriter<'a> {
        let word = bit >> 6;
        let off = (bit & 63) as u32;
        let acc = words[word] & ((1u64 << off) - 1);
        BitWriter {
            words,
            word,
            bits: WordFiller { off, acc },
        }
    }

    /// Appends the low `width` bits of `v` (1 to 63; no bit above them may be set).
    #[inline(always)]
    fn put(&mut self, v: u64, width: u32) {
        if let Some(full) = self.bits.put(v, width) {
            self.words[self.word] = full;
            self.word += 1;
        }
    }

    /// Stores the last, partly filled word, keeping the bits above the run.
    #[inline(always)]
    fn finish(self) {
        let WordFiller { off, acc } = self.bits;
        if off > 0 {
            let w = &mut self.words[self.word];
            *w = (*w & !((1u64 << off) - 1)) | acc;
        }
    }
}

/// Appends bit fields at the end of a word array, from a bit offset in its last word
/// (which may hold no element yet), pushing each word as it fills: the words after
/// are not there before. [`finish`](Self::finish) must end the run: until then the
/// word being filled is held apart, not in the array.
struct Appender<'a> {
    words: &'a mut Vec<u64>,
    bits: WordFiller,
}

impl<'a> Appender<'a> {
    /// An appender from bit offset `bit` on, which must lie in the last of `words`,
    /// whose bits from `bit` on must be zero.
    #[inline(always)]
    fn new(words: &'a mut Vec<u64>, bit: usize) -> Appender<'a> {
        debug_assert_eq!(words.len(), bit / 64 + 1);
        let acc = words.pop().unwrap_or(0);
        Appender {
            words,
            bits: WordFiller {
                off: (bit & 63) as u32,
                acc,
            },
        }
    }

    /// Appends the low `width` bits of `v` (1 to 63; no bit above them may be set).
    #[inline(always)]
    fn put(&mut self, v: u64, width: u32) {
        if let Some(full) = self.bits.put(v, width) {
            self.words.push(full);
        }
    }

    /// Pushes the last, partly filled word (if any) and the zero word that follows
    /// the last element's bits.
    #[inline(always)]
    fn finish(self) {
        if self.bits.off > 0 {
            self.words.push(self.bits.acc);
        }
        self.words.push(0);
    }
}

/// Overwrites `width` bits at bit offset `bit` of `words` with `v`, which must fit.
#[inline(always)]
fn write(words: &mut [u64], bit: usize, width: u32, v: u32) {
    let m = mask(width);
    let v = v as u64;
    let w = bit >> 6;
    let off = (bit & 63) as u32;
    words[w] = (words[w] & !(m << off)) | (v << off);
    if off + width > 64 {
        let spill = 64 - off;
        words[w + 1] = (words[w + 1] & !(m >> spill)) | (v >> spill);
    }
}

impl PackedU32s {
    /// Gives back the words beyond those in use.
    pub(crate) fn shrink_to_fit(&mut self) {
        self.words.shrink_to_fit();
    }

    /// An empty array of one-bit elements.
    pub(crate) fn new() -> PackedU32s {
        PackedU32s {
            words: vec![0; 1],
            width: 1,
            len: 0,
        }
    }

    /// Number of elements.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Bits per element.
    #[cfg(test)]
    pub(crate) fn width(&self) -> u32 {
        self.width
    }

    /// Bytes of memory the elements occupy.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.words.capacity() * 8
    }

    /// Words needed to hold `len` elements of `width` bits plus the read-ahead word.
    fn words_for(len: usize, width: u32) -> usize {
        (len * width as usize).div_ceil(64) + 1
    }

    /// Makes room for `additional` more elements of the current width.
    pub(crate) fn reserve(&mut self, additional: usize) {
        let need = Self::words_for(self.len + additional, self.width);
        self.words.reserve(need.saturating_sub(self.words.len()));
    }

    /// Element `i`; `i` must be less than [`len`](Self::len).
    #[inline]
    pub(crate) fn get(&self, i: usize) -> u32 {
        debug_assert!(i < self.len);
        read(&self.words, i * self.width as usize, mask(self.width))
    }

    /// Appends `v`, widening the elements if it needs more bits.
    #[inline]
    pub(crate) fn push(&mut self, v: u32) {
        if (v as u64) >> self.width != 0 {
            self.widen_for(v);
        }
        let bit = self.len * self.width as usize;
        let need = (bit + self.width as usize).div_ceil(64) + 1;
        if self.words.len() < need {
            self.words.resize(need, 0);
        }
        write(&mut self.words, bit, self.width, v);
        self.len += 1;
    }

    /// Appends every element of `values`.
    pub(crate) fn extend_from_slice(&mut self, values: &[u32]) {
        if values.is_empty() {
            return;
        }
        let any = values.iter().fold(0, |a, &v| a | v);
        if (any as u64) >> self.width != 0 {
            self.widen_for(any);
        }
        let start = self.len * self.width as usize;
        let need = (start + values.len() * self.width as usize).div_ceil(64) + 1;
        // The words past the one the run starts in hold no element: they are written
        // afresh, not zeroed first and then written.
        self.words.truncate(start / 64 + 1);
        self.words.reserve(need - self.words.len());
        let mut out = Appender::new(&mut self.words, start);
        let put = |v, bits| out.put(v, bits);
        match self.width {
            w @ 0..=15 => for_each_group::<4>(w, values, put),
            w @ 16..=21 => for_each_group::<3>(w, values, put),
            w @ 22..=31 => for_each_group::<2>(w, values, put),
            w => for_each_group::<1>(w, values, put),
        }
        out.finish();
        debug_assert_eq!(self.words.len(), need);
        self.len += values.len();
    }

    /// Overwrites the elements from position `at` on with `values`, widening the
    /// elements if needed; the run must lie within the array.
    pub(crate) fn overwrite(&mut self, at: usize, values: &[u32]) {
        assert!(
            at + values.len() <= self.len,
            "run past the end of the array"
        );
        let any = values.iter().fold(0, |a, &v| a | v);
        if (any as u64) >> self.width != 0 {
            self.widen_for(any);
        }
        pack_into(
            &mut self.words,
            at * self.width as usize,
            self.width,
            values,
        );
    }

    /// Keeps the first `len` elements.
    pub(crate) fn truncate(&mut self, len: usize) {
        if len >= self.len {
            return;
        }
        self.len = len;
        self.clear_from(len * self.width as usize);
        self.words.truncate(Self::words_for(len, self.width));
    }

    /// Copies elements `src` to the positions starting at `dest`, front to back;
    /// `dest` must not be after `src.start`.
    pub(crate) fn copy_within(&mut self, src: std::ops::Range<usize>, dest: usize) {
        debug_assert!(dest <= src.start && src.end <= self.len);
        for (k, i) in src.enumerate() {
            let v = self.get(i);
            write(
                &mut self.words,
                (dest + k) * self.width as usize,
                self.width,
                v,
            );
        }
    }

    /// Widens the elements so that `v` fits. Once the array is large, where each
    /// widening rewrites much, it takes a bit more than needed: values grow steadily as
    /// they are appended (location ids in order of first use), so the spare bit
    /// usually spares the next rewrite.
    #[cold]
    fn widen_for(&mut self, v: u32) {
        let spare = (self.len >= 1 << 20) as u32;
        self.widen((bits_for(v) + spare).min(32));
    }

    /// Stores every element in `width` bits from now on (more than now).
    fn widen(&mut self, width: u32) {
        debug_assert!(width > self.width && width <= 32);
        let old = self.width;
        let need = Self::words_for(self.len, width);
        if self.words.len() < need {
            self.words.resize(need, 0);
        }
        // Blocks of elements, back to front, each read whole before it is written: a
        // block's new place starts at or after its old one and ends where the next
        // block's new place starts, and the earlier elements' old bits lie below it.
        // Long blocks keep the reads and writes streaming forward: widening 13.4 M
        // elements from 17 to 19 bits took 32 ms in blocks of 256, 17 ms in blocks of
        // 4,096 (a block read and packed forward alone is 13 ms).
        const BLOCK: usize = 4096;
        let mut block = [0u32; BLOCK];
        let mut end = self.len;
        while end > 0 {
            let start = end.saturating_sub(BLOCK);
            let run = &mut block[..end - start];
            unpack_into(&self.words, start * old as usize, old, run);
            pack_into(&mut self.words, start * width as usize, width, run);
            end = start;
        }
        self.clear_from(self.len * width as usize);
        self.width = width;
    }

    /// Zeroes every bit from bit `bit` on.
    fn clear_from(&mut self, bit: usize) {
        let w = bit / 64;
        let off = bit % 64;
        if w < self.words.len() {
            if off == 0 {
                self.words[w] = 0;
            } else {
                self.words[w] &= (1u64 << off) - 1;
            }
            for word in &mut self.words[w + 1..] {
                *word = 0;
            }
        }
    }

    /// Replaces every element `v` with `f(v)`, in place, stopping at the first `None`
    /// or at the first mapped value that needs more bits than `max_mapped` (the array
    /// is then partly rewritten).
    pub(crate) fn map_in_place(
        &mut self,
        max_mapped: u32,
        mut f: impl FnMut(u32) -> Option<u32>,
    ) -> Option<()> {
        let new = bits_for(max_mapped);
        if new > self.width {
            self.widen(new);
        }
        let old = self.width;
        // Front to back: an element's new place never overlaps a later element's old
        // place, since the new width is not larger.
        for i in 0..self.len {
            let v = read(&self.words, i * old as usize, mask(old));
            let mapped = f(v).filter(|&m| (m as u64) >> new == 0)?;
            write(&mut self.words, i * new as usize, new, mapped);
        }
        self.clear_from(self.len * new as usize);
        self.width = new;
        self.words.truncate(Self::words_for(self.len, new));
        Some(())
    }

    /// Starts loading the element at `start` and the next cache line into the cache
    /// (see [`super::prefetch`]).
    #[inline]
    pub(crate) fn prefetch(&self, start: usize) {
        let word = start * self.width as usize / 64;
        if let Some(w) = self.words.get(word) {
            super::prefetch(w);
        }
        if let Some(w) = self.words.get(word + 8) {
            super::prefetch(w);
        }
    }

    /// The elements `start..start+len` as a [`Stack`].
    #[inline]
    pub(crate) fn stack(&self, start: usize, len: usize) -> Stack<'_> {
        debug_assert!(start + len <= self.len);
        Stack {
            words: &self.words,
            start: start * self.width as usize,
            len,
            width: self.width,
        }
    }
}

/// The stack of one sample: its location indices (into the profile's `locations`),
/// leaf first, read from the bit-packed frames of all samples.
///
/// Behaves like a read-only slice of `u32`: [`len`](Self::len), [`get`](Self::get),
/// [`iter`](Self::iter) (double-ended, so `.iter().rev()` walks from the root).
#[derive(Clone, Copy)]
pub struct Stack<'a> {
    words: &'a [u64],
    /// Bit offset of the first element.
    start: usize,
    len: usize,
    width: u32,
}

impl<'a> Stack<'a> {
    /// Number of frames.
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the stack has no frames.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Frame `k` (0 is the leaf), if there is one.
    #[inline]
    pub fn get(&self, k: usize) -> Option<u32> {
        (k < self.len).then(|| {
            read(
                self.words,
                self.start + k * self.width as usize,
                mask(self.width),
            )
        })
    }

    /// The leaf frame.
    #[inline]
    pub fn first(&self) -> Option<u32> {
        self.get(0)
    }

    /// The root frame.
    #[inline]
    pub fn last(&self) -> Option<u32> {
        self.len.checked_sub(1).and_then(|k| self.get(k))
    }

    /// The frames, leaf first.
    #[inline]
    pub fn iter(&self) -> StackIter<'a> {
        StackIter {
            words: self.words,
            front: self.start,
            back: self.start + self.len * self.width as usize,
            width: self.width as usize,
            mask: mask(self.width),
        }
    }

    /// Replaces `out` with the frames, leaf first: several at a time from one read
    /// where they are narrow, faster than [`iter`](Self::iter) for a caller that
    /// wants them all.
    pub fn unpack(&self, out: &mut Vec<u32>) {
        out.clear();
        out.resize(self.len, 0);
        unpack_into(self.words, self.start, self.width, out);
    }

    /// The frames in a vector, leaf first.
    pub fn to_vec(&self) -> Vec<u32> {
        self.iter().collect()
    }
}

impl fmt::Debug for Stack<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl PartialEq for Stack<'_> {
    fn eq(&self, other: &Stack<'_>) -> bool {
        self.len == other.len && self.iter().eq(other.iter())
    }
}

impl Eq for Stack<'_> {}

impl PartialEq<[u32]> for Stack<'_> {
    fn eq(&self, other: &[u32]) -> bool {
        self.len == other.len() && self.iter().eq(other.iter().copied())
    }
}

impl<const N: usize> PartialEq<[u32; N]> for Stack<'_> {
    fn eq(&self, other: &[u32; N]) -> bool {
        *self == other[..]
    }
}

impl<'a> IntoIterator for Stack<'a> {
    type Item = u32;
    type IntoIter = StackIter<'a>;

    fn into_iter(self) -> StackIter<'a> {
        self.iter()
    }
}

/// Iterator over the frames of a [`Stack`], leaf first (or root first, reversed).
#[derive(Clone)]
pub struct StackIter<'a> {
    words: &'a [u64],
    /// Bit offset of the next frame from the front.
    front: usize,
    /// Bit offset just past the next frame from the back.
    back: usize,
    width: usize,
    mask: u64,
}

impl Iterator for StackIter<'_> {
    type Item = u32;

    #[inline]
    fn next(&mut self) -> Option<u32> {
        if self.front >= self.back {
            return None;
        }
        let v = read(self.words, self.front, self.mask);
        self.front += self.width;
        Some(v)
    }

    #[inline]
    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = (self.back - self.front) / self.width;
        (n, Some(n))
    }
}

impl DoubleEndedIterator for StackIter<'_> {
    #[inline]
    fn next_back(&mut self) -> Option<u32> {
        if self.front >= self.back {
            return None;
        }
        self.back -= self.width;
        Some(read(self.words, self.back, self.mask))
    }
}

impl ExactSizeIterator for StackIter<'_> {}

impl std::iter::FusedIterator for StackIter<'_> {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_elements_read_back_across_word_boundaries_and_widenings() {
        let mut p = PackedU32s::new();
        let values: Vec<u32> = (0..1000u32)
            .map(|i| i.wrapping_mul(2_654_435_761) >> (i % 32))
            .collect();
        for &v in &values {
            p.push(v);
        }
        assert_eq!(p.len(), values.len());
        for (i, &v) in values.iter().enumerate() {
            assert_eq!(p.get(i), v, "element {i}");
        }
        let s = p.stack(10, 100);
        assert_eq!(s.to_vec(), values[10..110].to_vec());
        assert!(s.iter().rev().eq(values[10..110].iter().rev().copied()));
    }

    #[test]
    fn unpacked_stacks_hold_the_frames_of_every_width_and_offset() {
        // Every width (narrow ones are unpacked several from a read), stacks of every
        // length up to a few groups from every start, and a reused buffer.
        let mut out = vec![7u32; 3];
        for bits in 1..=32u32 {
            let top = u32::MAX >> (32 - bits);
            let values: Vec<u32> = (0..200u32)
                .map(|i| i.wrapping_mul(2_654_435_761) & top)
                .collect();
            let mut p = PackedU32s::new();
            p.extend_from_slice(&values);
            for start in 0..70 {
                for len in [0, 1, 2, 3, 4, 5, 11, 64, 129] {
                    let s = p.stack(start, len);
                    s.unpack(&mut out);
                    assert_eq!(out, s.to_vec(), "{bits} bits, {len} from {start}");
                    assert_eq!(out, values[start..start + len], "{bits} bits");
                }
            }
        }
    }

    #[test]
    fn widening_a_long_array_keeps_every_element_and_zeroes_the_tail() {
        // Runs of growing values, appended as the decoder does: each larger run
        // widens thousands of elements (blocks of them, back to front).
        let mut p = PackedU32s::new();
        let mut expected = Vec::new();
        for bits in 1..=32u32 {
            let top = if bits == 32 {
                u32::MAX
            } else {
                (1u32 << bits) - 1
            };
            let run: Vec<u32> = (0..777u32)
                .map(|i| i.wrapping_mul(2_654_435_761) & top)
                .collect();
            p.extend_from_slice(&run);
            expected.extend_from_slice(&run);
            assert_eq!(p.stack(0, p.len()).to_vec(), expected, "after {bits} bits");
        }
        // The bits past the last element stay zero: an appended zero reads back.
        p.truncate(expected.len() - 5);
        p.push(0);
        assert_eq!(p.get(expected.len() - 5), 0);
    }

    #[test]
    fn runs_of_every_length_and_width_append_whole_from_every_bit_offset() {
        // Values are joined in groups before they are placed; runs that end inside a
        // group, values with every bit set, and every offset in a word.
        for bits in 1..=32u32 {
            let top = u32::MAX >> (32 - bits);
            let mut p = PackedU32s::new();
            p.extend_from_slice(&[top]);
            let mut expected = vec![top];
            for len in 0..=70u32 {
                let run: Vec<u32> = (0..len)
                    .map(|i| {
                        if i % 3 == 0 {
                            top
                        } else {
                            i.wrapping_mul(2_654_435_761) & top
                        }
                    })
                    .collect();
                p.extend_from_slice(&run);
                expected.extend_from_slice(&run);
            }
            assert_eq!(p.width(), bits);
            assert_eq!(p.stack(0, p.len()).to_vec(), expected, "{bits} bits");
        }
    }

    #[test]
    fn runs_appended_after_a_truncation_or_a_narrowing_follow_the_last_element() {
        // Truncating and narrowing clear the bits past the last element; a run appended
        // after them continues in the last element's word, and the bits past the run
        // stay zero (an appended zero reads back).
        let mut p = PackedU32s::new();
        let mut expected: Vec<u32> = (0..500u32).map(|i| i * 7919 % 100_000).collect();
        p.extend_from_slice(&expected);
        p.truncate(123);
        expected.truncate(123);
        let run: Vec<u32> = (0..300u32).map(|i| i * 31 % 5000).collect();
        p.extend_from_slice(&run);
        expected.extend_from_slice(&run);
        assert_eq!(p.stack(0, p.len()).to_vec(), expected);
        p.map_in_place(15, |v| Some(v % 16)).unwrap();
        expected.iter_mut().for_each(|v| *v %= 16);
        assert_eq!(p.width(), 4);
        p.extend_from_slice(&[15; 77]);
        expected.extend_from_slice(&[15; 77]);
        p.push(0);
        expected.push(0);
        assert_eq!(p.stack(0, p.len()).to_vec(), expected);
    }

    #[test]
    fn overwriting_a_run_keeps_its_neighbours() {
        let mut p = PackedU32s::new();
        let values: Vec<u32> = (0..300u32).map(|i| i * 37 % 1000).collect();
        p.extend_from_slice(&values);
        p.overwrite(61, &[999; 70]);
        let mut expected = values.clone();
        expected[61..131].fill(999);
        assert_eq!(p.stack(0, 300).to_vec(), expected);
        // A run that needs more bits widens the whole array first.
        p.overwrite(0, &[1 << 20]);
        expected[0] = 1 << 20;
        assert_eq!(p.stack(0, 300).to_vec(), expected);
    }

    #[test]
    fn small_values_take_few_bits() {
        let mut p = PackedU32s::new();
        for i in 0..1000 {
            p.push(i % 7);
        }
        assert_eq!(p.width(), 3);
        p.push(1 << 17);
        assert_eq!(p.width(), 18);
        assert_eq!(p.get(999), 999 % 7);
        assert_eq!(p.get(1000), 1 << 17);
    }

    #[test]
    fn map_in_place_narrows_and_truncate_clears_the_tail() {
        let mut p = PackedU32s::new();
        p.extend_from_slice(&[1000, 2000, 3000, 70_000]);
        p.truncate(3);
        p.map_in_place(3, |v| Some(v / 1000 - 1)).unwrap();
        assert_eq!(p.width(), 2);
        assert_eq!(p.stack(0, 3).to_vec(), vec![0, 1, 2]);
        p.truncate(2);
        p.push(3);
        assert_eq!(p.stack(0, 3).to_vec(), vec![0, 1, 3]);
        assert!(p.map_in_place(3, |v| (v != 1).then_some(v)).is_none());
    }

    #[test]
    fn copy_within_moves_elements_forward() {
        let mut p = PackedU32s::new();
        p.extend_from_slice(&[5, 6, 7, 8, 9]);
        p.copy_within(2..5, 0);
        p.truncate(3);
        assert_eq!(p.stack(0, 3), [7, 8, 9]);
    }

    #[test]
    fn empty_stack_iterates_nothing() {
        let p = PackedU32s::new();
        let s = p.stack(0, 0);
        assert!(s.is_empty());
        assert_eq!(s.iter().next(), None);
        assert_eq!(s.first(), None);
        assert_eq!(s.last(), None);
    }
}
