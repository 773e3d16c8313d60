//! The samples of a profile, stored by column and compacted for size.
//!
//! Samples are the bulk of a large profile: 800,000 samples of 40 frames each hold 32
//! million location references. They are kept as
//! - values: one row per sample, packed in blocks of rows, each column of a block in
//!   as many bits as its largest value needs ([`values`]);
//! - stacks: the location indices of all samples concatenated and bit-packed in as
//!   many bits as the largest index needs ([`packed`]), with one offset per sample;
//! - labels: label sets that samples repeat stored once ([`label_sets`]), one set id
//!   per sample.
//!
//! So a profile with millions of samples takes a handful of allocations and about
//! half the memory of plain `u32` stacks and per-sample labels.
//!
//! Filters that only drop samples can [`select`](Samples::select) instead of removing
//! them: the samples left out stay stored, invisible, until the selection is cleared or
//! an operation that rewrites the storage removes them for good. That is what lets a
//! long-lived profile (the web UI's) lend its samples to a focused view and get them
//! back whole.

mod frame_packer;
mod label_sets;
mod packed;
mod values;

use std::fmt;

use crate::model::Label;
use crate::strings::StrId;
pub(crate) use frame_packer::FramePacker;
pub(crate) use label_sets::NumericUnits;
use label_sets::{LabelSets, SetIds};
use packed::PackedU32s;
pub use packed::{Stack, StackIter};
use values::ValueRows;
pub use values::{Values, ValuesIter};

/// Sample sets with fewer frames than this are worked through on one thread.
const PARALLEL_MIN_FRAMES: usize = 1 << 18;

/// All samples of a profile in columnar form.
///
/// Sample `i` has values `values[i*width..(i+1)*width]`, a stack of location indices
/// (leaf first, into [`Profile::locations`](crate::Profile::locations)) read with
/// [`locations`](Self::locations), and labels read with [`labels`](Self::labels).
#[derive(Clone)]
pub struct Samples {
    /// Number of values per sample (the number of sample types).
    width: usize,
    /// Values of all stored samples, a row of `width` per sample (selected or not).
    values: ValueRows,
    /// Location indices of all samples, concatenated, leaf first.
    frames: PackedU32s,
    /// `len() + 1` offsets into `frames`.
    frame_offsets: Vec<u32>,
    /// The label sets.
    label_sets: LabelSets,
    /// The label set of each sample.
    sample_labels: SetIds,
    /// When a [`select`](Self::select) left some samples out: the stored indices of the
    /// samples that count, increasing.
    selection: Option<Vec<u32>>,
}

impl Default for Samples {
    fn default() -> Self {
        Samples::new(0)
    }
}

impl PartialEq for Samples {
    /// Samples are equal when they hold the same samples in the same order, however
    /// their storage is laid out.
    fn eq(&self, other: &Samples) -> bool {
        self.width == other.width
            && self.len() == other.len()
            && (0..self.len()).all(|i| {
                self.values(i) == other.values(i)
                    && self.locations(i) == other.locations(i)
                    && self.labels(i) == other.labels(i)
            })
    }
}

impl Eq for Samples {}

impl fmt::Debug for Samples {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Samples")
            .field("width", &self.width)
            .field("samples", &self.iter().collect::<Vec<_>>())
            .finish()
    }
}

use crate::prefetch::prefetch;

/// One sample, borrowed from [`Samples`].
#[derive(Clone, Copy, Debug)]
pub struct SampleRef<'a> {
    /// The sample's values, one per sample type.
    pub values: Values<'a>,
    /// The sample's stack as location indices, leaf first.
    pub locations: Stack<'a>,
    /// The sample's labels.
    pub labels: &'a [Label],
}

impl Samples {
    /// An empty sample set whose samples have `width` values each.
    pub fn new(width: usize) -> Samples {
        Samples {
            width,
            values: ValueRows::new(width),
            frames: PackedU32s::new(),
            frame_offsets: vec![0],
            label_sets: LabelSets::new(),
            sample_labels: SetIds::default(),
            selection: None,
        }
    }

    /// Number of values per sample (the number of sample types).
    pub fn width(&self) -> usize {
        self.width
    }

    /// Sets the number of values per sample of a sample set that has none stored.
    pub(crate) fn set_width(&mut self, width: usize) {
        assert_eq!(self.stored_len(), 0, "the width of stored samples is fixed");
        self.width = width;
        self.values = ValueRows::new(width);
    }

    /// Number of samples (the selected ones, when some were left out).
    pub fn len(&self) -> usize {
        match &self.selection {
            Some(selected) => selected.len(),
            None => self.sample_labels.len(),
        }
    }

    /// The stored index of sample `i`.
    #[inline]
    fn at(&self, i: usize) -> usize {
        match &self.selection {
            Some(selected) => selected[i] as usize,
            None => i,
        }
    }

    /// Number of samples stored, the ones a selection leaves out included.
    pub fn stored_len(&self) -> usize {
        self.sample_labels.len()
    }

    /// Whether there are no samples.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of frames stored, over all samples.
    pub fn frame_count(&self) -> usize {
        self.frames.len()
    }

    /// Whether the samples (the selected ones, with a selection) have at least `count`
    /// frames in all; a selection is counted only as far as needed.
    pub fn has_frames(&self, count: usize) -> bool {
        match &self.selection {
            None => self.frames.len() >= count,
            Some(selected) => {
                let mut frames = 0;
                selected.iter().any(|&i| {
                    let i = i as usize;
                    frames += (self.frame_offsets[i + 1] - self.frame_offsets[i]) as usize;
                    frames >= count
                })
            }
        }
    }

    /// Where the frames of sample `i` start among the [`frame_count`](Self::frame_count)
    /// stored frames; it grows with `i`, and `frame_offset(len())` is `frame_count()`.
    pub fn frame_offset(&self, i: usize) -> usize {
        if i >= self.len() {
            return self.frames.len();
        }
        self.frame_offsets[self.at(i)] as usize
    }

    /// Bytes of memory the samples occupy, a measure for benchmarks.
    pub fn heap_bytes(&self) -> usize {
        self.values.heap_bytes()
            + self.frames.heap_bytes()
            + self.frame_offsets.capacity() * 4
            + self.label_sets.label_count() * std::mem::size_of::<Label>()
            + self.label_sets.len() * 8
            + self.sample_labels.heap_bytes()
            + self.selection.as_ref().map_or(0, |s| s.capacity() * 4)
    }

    /// Gives back the room the columns grew into beyond what they hold (a column that
    /// doubled holds up to half of it unused).
    pub fn shrink_to_fit(&mut self) {
        self.values.shrink_to_fit();
        self.frames.shrink_to_fit();
        self.frame_offsets.shrink_to_fit();
        self.label_sets.shrink_to_fit();
        self.sample_labels.shrink_to_fit();
    }

    /// Makes room for `samples` more samples of `frames` frames in all.
    pub fn reserve(&mut self, samples: usize, frames: usize) {
        self.apply_selection();
        self.values.reserve(samples);
        self.frames.reserve(frames);
        self.frame_offsets.reserve(samples);
        self.sample_labels.reserve(samples);
    }

    /// Appends a sample. `values` must have `width` elements.
    pub fn push(&mut self, values: &[i64], locations: &[u32], labels: &[Label]) {
        debug_assert_eq!(values.len(), self.width);
        self.apply_selection();
        self.frames.extend_from_slice(locations);
        self.end_sample(values, labels);
    }

    /// Appends a sample whose values and stack are read from another sample set.
    pub fn push_stack(&mut self, values: Values<'_>, locations: Stack<'_>, labels: &[Label]) {
        debug_assert_eq!(values.len(), self.width);
        self.apply_selection();
        self.frames.reserve(locations.len());
        for l in locations {
            self.frames.push(l);
        }
        let values: smallvec::SmallVec<[i64; 8]> = values.iter().collect();
        self.end_sample(&values, labels);
    }

    /// Replaces the values of every sample with `width` new ones that `f` computes
    /// from the old ones; stacks and labels stay.
    pub(crate) fn rewrite_values(&mut self, width: usize, mut f: impl FnMut(&[i64], &mut [i64])) {
        self.apply_selection();
        let mut values = ValueRows::new(width);
        values.reserve(self.len());
        let (mut old, mut new) = (Vec::new(), vec![0; width]);
        for i in 0..self.len() {
            self.values(i).copy_into(&mut old);
            new.fill(0);
            f(&old, &mut new);
            values.push(&new);
        }
        self.values = values;
        self.width = width;
    }

    /// Changes the values of every sample in place: `f` gets each sample's values
    /// and may change them.
    pub fn map_values(&mut self, mut f: impl FnMut(&mut [i64])) {
        let mut row = Vec::with_capacity(self.width);
        for i in 0..self.len() {
            self.values(i).copy_into(&mut row);
            f(&mut row);
            let at = self.at(i);
            for (c, &v) in row.iter().enumerate() {
                self.values.set(at, c, v);
            }
        }
    }

    /// Appends frames to the sample being built by a decoder;
    /// [`end_sample`](Self::end_sample) ends it.
    #[inline]
    pub(crate) fn push_frames(&mut self, locations: &[u32]) {
        self.frames.extend_from_slice(locations);
    }

    /// Whether the sample being built can end: frame offsets and sample indices are
    /// 32-bit, which holds 4 billion frames (at least 4 GB of location ids on the wire).
    /// Decoders check it before [`end_sample`](Self::end_sample).
    pub(crate) fn has_room_for_sample(&self) -> bool {
        self.frames.len() <= u32::MAX as usize && self.frame_offsets.len() < u32::MAX as usize
    }

    /// Ends the sample being built, with the frames pushed since the last one,
    /// `values` (`width` of them) and `labels`.
    pub(crate) fn end_sample(&mut self, values: &[i64], labels: &[Label]) {
        debug_assert!(self.selection.is_none() && !self.label_sets.has_staged());
        self.values.push(values);
        self.frame_offsets.push(self.frames.len() as u32);
        let set = self.label_sets.intern(labels);
        self.sample_labels.push(set);
    }

    /// [`end_sample`](Self::end_sample) for a decoder that packs the frames
    /// elsewhere ([`FramePacker`]): the sample's frames end at `frames_end` of them,
    /// which [`set_frames`](Self::set_frames) installs once all are read. The labels
    /// are given their set two samples behind (see [`LabelSets::intern_staged`]):
    /// [`end_samples`](Self::end_samples) gives the last samples theirs.
    pub(crate) fn end_sample_at(&mut self, frames_end: usize, values: &[i64], labels: &[Label]) {
        debug_assert!(self.selection.is_none());
        self.values.push(values);
        self.frame_offsets.push(frames_end as u32);
        if let Some(id) = self.label_sets.intern_staged(labels) {
            // The set of the sample two before this one (this one is not stored yet).
            let i = self.sample_labels.len() - 2;
            self.sample_labels.set(i, id);
        }
        self.sample_labels.push(0);
    }

    /// Gives the last samples ended by [`end_sample_at`](Self::end_sample_at) their
    /// label sets.
    pub(crate) fn end_samples(&mut self) {
        let staged: Vec<u32> = self.label_sets.end_staged().collect();
        let first = self.sample_labels.len() - staged.len();
        for (i, id) in (first..).zip(staged) {
            self.sample_labels.set(i, id);
        }
    }

    /// Installs the frames of every sample, packed by a [`FramePacker`] as a decoder
    /// read them: as many as the samples' offsets say (see
    /// [`end_sample_at`](Self::end_sample_at)).
    pub(crate) fn set_frames(&mut self, frames: PackedU32s) {
        debug_assert_eq!(
            self.frame_offsets.last().copied().unwrap_or(0) as usize,
            frames.len()
        );
        self.frames = frames;
    }

    /// The sample at index `i`.
    pub fn get(&self, i: usize) -> SampleRef<'_> {
        SampleRef {
            values: self.values(i),
            locations: self.locations(i),
            labels: self.labels(i),
        }
    }

    /// Values of sample `i`.
    #[inline]
    pub fn values(&self, i: usize) -> Values<'_> {
        Values::new(&self.values, self.at(i))
    }

    /// Value `c` of sample `i` (`c` below [`width`](Self::width)).
    #[inline]
    pub fn value(&self, i: usize, c: usize) -> i64 {
        debug_assert!(c < self.width);
        self.values.get(self.at(i), c)
    }

    /// Calls `f` with the index and value `c` (below [`width`](Self::width)) of each
    /// sample in `range`, in order: faster than [`value`](Self::value) sample by sample
    /// when there is no selection.
    pub fn for_each_value(
        &self,
        c: usize,
        range: std::ops::Range<usize>,
        mut f: impl FnMut(usize, i64),
    ) {
        assert!(c < self.width, "value {c} of {}", self.width);
        match &self.selection {
            None => self.values.for_each_in_column(c, range, f),
            Some(_) => range.for_each(|i| f(i, self.value(i, c))),
        }
    }

    /// Sets value `c` of sample `i` to `v`.
    pub fn set_value(&mut self, i: usize, c: usize, v: i64) {
        assert!(c < self.width, "value {c} of {}", self.width);
        let at = self.at(i);
        self.values.set(at, c, v);
    }

    /// Location indices of sample `i`, leaf first.
    #[inline]
    pub fn locations(&self, i: usize) -> Stack<'_> {
        let i = self.at(i);
        let start = self.frame_offsets[i] as usize;
        let end = self.frame_offsets[i + 1] as usize;
        self.frames.stack(start, end - start)
    }

    /// Starts loading what reading sample `i` (below [`len`](Self::len)) touches
    /// first, its values and where its stack is, into the cache, for a loop that reads
    /// scattered samples (a selection) to call some samples ahead, and
    /// [`prefetch_stack`](Self::prefetch_stack) of a nearer one. Reading a selected
    /// sample costs a few cache misses; waited for one sample after another, they take
    /// longer than the work on its frames.
    #[inline]
    pub fn prefetch(&self, i: usize) {
        if let Some(&at) = self.selection.as_ref().and_then(|s| s.get(i)) {
            let at = at as usize;
            self.values.prefetch(at);
            if let Some(offset) = self.frame_offsets.get(at) {
                prefetch(offset);
            }
        }
    }

    /// Starts loading the stack of sample `i` into the cache, for a loop that reads the
    /// stacks of scattered samples (a selection, or the samples a filter picks) to call
    /// some samples ahead. For a selected sample, [`prefetch`](Self::prefetch) should
    /// have been called earlier.
    #[inline]
    pub fn prefetch_stack(&self, i: usize) {
        let at = match &self.selection {
            Some(selected) => match selected.get(i) {
                Some(&at) => at as usize,
                None => return,
            },
            None => i,
        };
        if let Some(&start) = self.frame_offsets.get(at) {
            self.frames.prefetch(start as usize);
        }
    }

    /// Labels of sample `i`.
    #[inline]
    pub fn labels(&self, i: usize) -> &[Label] {
        debug_assert!(!self.label_sets.has_staged(), "a set is still staged");
        self.label_sets.get(self.sample_labels.get(self.at(i)))
    }

    /// The id of the label set of sample `i` (see [`label_set`](Self::label_set)).
    ///
    /// Samples with the same id have the same labels, so work that depends on the
    /// labels alone can be done once per id. The converse does not hold: equal label
    /// sets may have different ids.
    #[inline]
    pub fn label_set_of(&self, i: usize) -> u32 {
        debug_assert!(!self.label_sets.has_staged(), "a set is still staged");
        self.sample_labels.get(self.at(i))
    }

    /// The key and unit of the samples' numeric labels, in the order the samples first
    /// use their label sets and, within a set, in the order of its labels of that key,
    /// a pair left out when the pair listed last for its key has the same unit: what a
    /// walk over the samples would list, found without one when every set stored is
    /// first used in the order it was stored (as decoding stores them). `None` when
    /// that does not hold (some set unused, or a set used before an earlier one).
    pub fn numeric_label_units(&self) -> Option<&[(StrId, StrId)]> {
        debug_assert!(!self.label_sets.has_staged(), "a set is still staged");
        // The empty set, 0, has no labels: where it is first used does not matter.
        let used = match &self.selection {
            None => self.sample_labels.used_in_order(),
            Some(selected) => label_sets::first_used_in_order(
                selected.iter().map(|&i| self.sample_labels.get(i as usize)),
            ),
        }?;
        (used as usize == self.label_sets.len()).then(|| self.label_sets.numeric_units())
    }

    /// The labels of label set `id`.
    #[inline]
    pub fn label_set(&self, id: u32) -> &[Label] {
        self.label_sets.get(id)
    }

    /// Number of label set ids (one more than the largest id a sample may have).
    pub fn label_set_count(&self) -> usize {
        self.label_sets.len()
    }

    /// Iterates over all samples in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = SampleRef<'_>> + '_ {
        (0..self.len()).map(move |i| self.get(i))
    }

    /// The label sets samples have, in the order samples first use them; every
    /// sample's labels are among them. Equal sets may come more than once.
    pub fn distinct_label_sets(&self) -> impl Iterator<Item = &[Label]> + '_ {
        let mut seen = vec![false; self.label_sets.len()];
        (0..self.len()).filter_map(move |i| {
            let set = self.label_set_of(i);
            let first = !std::mem::replace(&mut seen[set as usize], true);
            first.then(|| self.label_sets.get(set))
        })
    }

    /// Replaces every location index `l` with `f(l)`, which must not exceed `max`;
    /// gives up at the first `None` (the stacks are then partly rewritten).
    pub(crate) fn map_locations(
        &mut self,
        max: u32,
        f: impl FnMut(u32) -> Option<u32>,
    ) -> Option<()> {
        self.apply_selection();
        self.frames.map_in_place(max, f)
    }

    /// Reorders the labels of each label set with orderers `orderer` makes (see
    /// [`LabelSets::reorder`]; they must keep the labels the same).
    pub(crate) fn reorder_labels<O: FnMut(&mut [Label])>(
        &mut self,
        orderer: impl Fn() -> O + Sync,
    ) {
        self.apply_selection();
        self.label_sets.reorder(orderer);
    }

    /// Rebuilds the labels: `f` gets a label set some sample has and pushes the labels
    /// that samples with this set should have instead. `f` is called once per stored
    /// set in use (so at most once per sample, usually far less).
    pub(crate) fn rewrite_labels(&mut self, mut f: impl FnMut(&[Label], &mut Vec<Label>)) {
        self.apply_selection();
        const UNSEEN: u32 = u32::MAX;
        let mut new_sets = LabelSets::new();
        let mut remap = vec![UNSEEN; self.label_sets.len()];
        let mut out = Vec::new();
        let old_sets = &self.label_sets;
        self.sample_labels.map(|set| {
            let slot = &mut remap[set as usize];
            if *slot == UNSEEN {
                out.clear();
                f(old_sets.get(set), &mut out);
                *slot = new_sets.intern(&out);
            }
            *slot
        });
        self.label_sets = new_sets;
    }

    /// Rebuilds the stacks: `f` gets each sample's index, stack and labels and pushes
    /// the new stack onto its output; a sample for which `f` returns false is
    /// dropped.
    ///
    /// Works in place as long as the new stacks are not longer in all than the old
    /// ones up to each sample (filters and pruning only ever shorten them); a longer
    /// stack moves the rest of the work to a new array.
    pub(crate) fn rewrite_stacks(
        &mut self,
        mut f: impl FnMut(usize, &[u32], &[Label], &mut Vec<u32>) -> bool,
    ) {
        self.apply_selection();
        let mut stack = Vec::new();
        let mut out = Vec::new();
        // Set once a new stack would overwrite stacks not read yet.
        let mut moved: Option<PackedU32s> = None;
        let mut written = 0usize;
        let mut kept = 0;
        let mut start = 0usize;
        for i in 0..self.len() {
            // Read before `frame_offsets[kept + 1]` (which may be this slot) is written.
            let end = self.frame_offsets[i + 1] as usize;
            stack.clear();
            stack.extend(self.frames.stack(start, end - start).iter());
            start = end;
            out.clear();
            if !f(i, &stack, self.labels(i), &mut out) {
                continue;
            }
            match &mut moved {
                None if written + out.len() <= end => self.frames.overwrite(written, &out),
                None => {
                    let mut new = PackedU32s::new();
                    new.reserve(written + out.len());
                    for k in 0..written {
                        new.push(self.frames.get(k));
                    }
                    new.extend_from_slice(&out);
                    moved = Some(new);
                }
                Some(new) => new.extend_from_slice(&out),
            }
            written += out.len();
            self.frame_offsets[kept + 1] = written as u32;
            self.values.copy_row(i, kept);
            self.sample_labels.set(kept, self.sample_labels.get(i));
            kept += 1;
        }
        match moved {
            Some(new) => self.frames = new,
            None => self.frames.truncate(written),
        }
        self.frame_offsets.truncate(kept + 1);
        self.values.truncate(kept);
        self.sample_labels.truncate(kept);
    }

    /// Keeps only the samples for which `keep(index, sample)` is true, preserving order.
    ///
    /// Works in place: the kept samples move to the front of the columns, and nothing
    /// moves when every sample is kept.
    pub fn retain(&mut self, mut keep: impl FnMut(usize, SampleRef<'_>) -> bool) {
        // Stored samples a selection left out are not kept either.
        let mut stored = vec![false; self.stored_len()];
        for i in 0..self.len() {
            stored[self.at(i)] = keep(i, self.get(i));
        }
        self.selection = None;
        self.compact(&stored);
    }

    /// Splits the samples into contiguous ranges of about equal frame counts, one per
    /// core when there is enough work (the samples, selected ones only, have at least
    /// 256 Ki frames), else one range of them all.
    pub fn parallel_ranges(&self) -> Vec<std::ops::Range<usize>> {
        let n = self.len();
        let frames = self.frame_count();
        let parts = crate::parallel::cores();
        if parts < 2 || !self.has_frames(PARALLEL_MIN_FRAMES) {
            return std::iter::once(0..n).collect();
        }
        let mut ranges = Vec::with_capacity(parts);
        let mut start = 0;
        for k in 1..parts {
            let target = frames / parts * k;
            // The first sample that starts at or past the target frame.
            let (mut lo, mut hi) = (0, n);
            while lo < hi {
                let mid = lo + (hi - lo) / 2;
                if self.frame_offset(mid) < target {
                    lo = mid + 1;
                } else {
                    hi = mid;
                }
            }
            let end = lo.max(start);
            ranges.push(start..end);
            start = end;
        }
        ranges.push(start..n);
        ranges
    }

    /// Whether `keep(index, sample)` holds for each sample, worked out on every core
    /// (over [`parallel_ranges`](Self::parallel_ranges)) when there is enough work.
    pub fn decide(&self, keep: impl Fn(usize, SampleRef<'_>) -> bool + Sync) -> Vec<bool> {
        self.on_each_range(|range| -> Vec<bool> { range.map(|i| keep(i, self.get(i))).collect() })
            .concat()
    }

    /// `work` on each of the [`parallel_ranges`](Self::parallel_ranges), each on a
    /// thread of its own when there are several, the results in range order.
    pub fn on_each_range<T: Send>(
        &self,
        work: impl Fn(std::ops::Range<usize>) -> T + Sync,
    ) -> Vec<T> {
        crate::parallel::on_each(self.parallel_ranges(), work)
    }

    /// Leaves out the samples for which `keep(index, sample)` is false, without moving
    /// anything: they stay stored, and come back with
    /// [`clear_selection`](Self::clear_selection) unless an operation that rewrites
    /// the storage (pushing, rewriting stacks or labels) removes them first.
    pub fn select(&mut self, mut keep: impl FnMut(usize, SampleRef<'_>) -> bool) {
        if let Some(selected) = self.selection_where(|i| keep(i, self.get(i))) {
            self.selection = Some(selected);
        }
    }

    /// [`select`](Self::select) by a decision per sample: sample `i` stays when
    /// `keep[i]` (as [`decide`](Self::decide) gives them).
    pub fn select_by(&mut self, keep: &[bool]) {
        assert_eq!(keep.len(), self.len(), "one decision per sample");
        if let Some(selected) = self.selection_where(|i| keep[i]) {
            self.selection = Some(selected);
        }
    }

    /// The stored indices of the samples `i` for which `kept(i)`, or `None` when it
    /// keeps every sample (which then costs no list: the list starts at the first
    /// sample left out).
    fn selection_where(&self, mut kept: impl FnMut(usize) -> bool) -> Option<Vec<u32>> {
        let mut selected: Option<Vec<u32>> = None;
        for i in 0..self.len() {
            let kept = kept(i);
            match &mut selected {
                Some(list) if kept => list.push(self.at(i) as u32),
                Some(_) => {}
                None if kept => {}
                None => selected = Some((0..i).map(|j| self.at(j) as u32).collect()),
            }
        }
        selected
    }

    /// Whether a [`select`](Self::select) left samples out.
    pub fn has_selection(&self) -> bool {
        self.selection.is_some()
    }

    /// Brings back every stored sample a [`select`](Self::select) left out.
    pub fn clear_selection(&mut self) {
        self.selection = None;
    }

    /// Removes the samples a selection left out from the storage.
    fn apply_selection(&mut self) {
        if self.selection.is_some() {
            self.retain(|_, _| true);
        }
    }

    /// Keeps the stored samples `i` for which `kept[i]`, moving them to the front.
    fn compact(&mut self, kept: &[bool]) {
        let Some(first_dropped) = kept.iter().position(|&k| !k) else {
            return;
        };
        let mut out = first_dropped;
        let mut frames_end = self.frame_offsets[out] as usize;
        for (i, _) in kept
            .iter()
            .enumerate()
            .skip(first_dropped + 1)
            .filter(|(_, &k)| k)
        {
            let (a, b) = (
                self.frame_offsets[i] as usize,
                self.frame_offsets[i + 1] as usize,
            );
            self.values.copy_row(i, out);
            self.frames.copy_within(a..b, frames_end);
            self.sample_labels.set(out, self.sample_labels.get(i));
            frames_end += b - a;
            out += 1;
            self.frame_offsets[out] = frames_end as u32;
        }
        self.values.truncate(out);
        self.frames.truncate(frames_end);
        self.frame_offsets.truncate(out + 1);
        self.sample_labels.truncate(out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strings::StrId;

    fn l(k: u32) -> Label {
        Label {
            key: StrId(k),
            ..Label::default()
        }
    }

    fn three_samples() -> Samples {
        let mut s = Samples::new(1);
        s.push(&[1], &[1, 2], &[l(1)]);
        s.push(&[2], &[3], &[]);
        s.push(&[3], &[4, 5, 6], &[l(2), l(3)]);
        s
    }

    /// 30,000 samples of 10 frames: enough frames to be worked through on every core.
    fn many_samples() -> Samples {
        let mut s = Samples::new(1);
        for i in 0..30_000u32 {
            let stack: Vec<u32> = (0..10).map(|d| (i * 7 + d) % 1000).collect();
            s.push(&[i as i64], &stack, &[]);
        }
        s
    }

    #[test]
    fn samples_ended_by_a_decoder_get_their_own_labels_however_many_there_are() {
        // A decoder's samples get their sets two samples behind; the last ones when
        // the samples end. Runs of every length up to a few past the delay, each
        // sample's set different from its neighbours' but some repeated.
        for count in 0..6u32 {
            let labels: Vec<Vec<Label>> = (0..count)
                .map(|i| match i % 3 {
                    0 => vec![],
                    1 => vec![l(1 + i)],
                    _ => vec![l(1), l(2)],
                })
                .collect();
            let mut s = Samples::new(1);
            let mut frames = PackedU32s::default();
            for (i, set) in labels.iter().enumerate() {
                frames.extend_from_slice(&[i as u32]);
                s.end_sample_at(frames.len(), &[i as i64], set);
            }
            s.end_samples();
            s.set_frames(frames);
            assert_eq!(s.len(), count as usize);
            for (i, set) in labels.iter().enumerate() {
                assert_eq!(s.labels(i), set.as_slice(), "{count} samples: sample {i}");
            }
        }
    }

    #[test]
    fn parallel_ranges_cover_every_sample_once_in_order() {
        let s = many_samples();
        assert!(s.frame_count() >= PARALLEL_MIN_FRAMES);
        let ranges = s.parallel_ranges();
        assert_eq!(ranges.first().map(|r| r.start), Some(0));
        assert_eq!(ranges.last().map(|r| r.end), Some(s.len()));
        assert!(ranges.windows(2).all(|w| w[0].end == w[1].start));
        assert_eq!(three_samples().parallel_ranges().len(), 1);
    }

    #[test]
    fn a_small_selection_of_many_samples_is_worked_through_on_one_thread() {
        let cores = crate::parallel::cores();
        let mut few = many_samples();
        few.select(|i, _| i % 1000 == 0);
        assert_eq!(few.parallel_ranges(), vec![0..few.len()]);
        let mut most = many_samples();
        most.select(|i, _| i % 1000 != 0);
        let ranges = most.parallel_ranges();
        if cores >= 2 {
            assert!(ranges.len() >= 2, "{ranges:?}");
        }
        assert_eq!(ranges.last().map(|r| r.end), Some(most.len()));
    }

    #[test]
    fn decisions_on_every_core_select_what_a_sequential_select_does() {
        let keep = |_: usize, s: SampleRef<'_>| s.locations.iter().any(|l| l % 13 == 0);
        let mut by_decisions = many_samples();
        let decisions = by_decisions.decide(keep);
        assert_eq!(decisions.len(), by_decisions.len());
        by_decisions.select_by(&decisions);
        let mut sequential = many_samples();
        sequential.select(keep);
        assert!(by_decisions.has_selection());
        assert_eq!(by_decisions, sequential);
    }

    #[test]
    fn select_keeping_every_sample_leaves_no_selection() {
        let mut s = three_samples();
        s.select(|_, _| true);
        assert!(!s.has_selection());
        assert_eq!(s, three_samples());
    }

    #[test]
    fn select_within_a_selection_keeps_the_samples_both_keep() {
        let mut s = three_samples();
        s.select(|i, _| i != 1);
        // Index 1 is now the third stored sample.
        s.select(|i, _| i != 0);
        assert!(s.has_selection());
        assert_eq!(s.len(), 1);
        assert_eq!(s.values(0), &[3]);
        s.select(|_, _| true);
        assert_eq!(s.len(), 1);
    }

    #[test]
    fn retain_compacts_kept_samples_in_order() {
        let mut s = three_samples();
        s.retain(|i, _| i != 0);
        let mut expected = Samples::new(1);
        expected.push(&[2], &[3], &[]);
        expected.push(&[3], &[4, 5, 6], &[l(2), l(3)]);
        assert_eq!(s, expected);
    }

    #[test]
    fn retain_keeping_everything_changes_nothing() {
        let mut s = three_samples();
        s.retain(|_, _| true);
        assert_eq!(s, three_samples());
        s.retain(|_, sample| sample.values.at(0) == 2);
        assert_eq!(s.len(), 1);
        assert_eq!(s.locations(0), [3]);
        s.retain(|_, _| false);
        assert!(s.is_empty());
        assert!(s.stored_len() == 0 && s.frame_count() == 0);
    }

    #[test]
    fn samples_with_equal_labels_share_one_label_set() {
        let mut s = Samples::new(1);
        for i in 0..100 {
            s.push(&[i], &[i as u32], &[l(1), l(2)]);
        }
        assert_eq!(s.label_sets.len(), 2);
        assert_eq!(s.label_sets.label_count(), 2);
        assert_eq!(s.labels(99), &[l(1), l(2)]);
        assert_eq!(s.distinct_label_sets().count(), 1);
    }

    #[test]
    fn distinct_label_sets_come_in_the_order_samples_first_use_them() {
        let mut s = Samples::new(1);
        let sets = [
            vec![l(2)],
            vec![l(1)],
            vec![l(2)],
            vec![l(3), l(4)],
            vec![l(1)],
        ];
        for (i, set) in sets.iter().cycle().take(50).enumerate() {
            s.push(&[i as i64], &[], set);
        }
        let distinct: Vec<&[Label]> = s.distinct_label_sets().collect();
        assert_eq!(distinct, [&[l(2)][..], &[l(1)], &[l(3), l(4)]]);
        // A set no visible sample uses is not listed.
        let keep: Vec<bool> = (0..50).map(|i| i % 5 != 3).collect();
        s.select_by(&keep);
        let distinct: Vec<&[Label]> = s.distinct_label_sets().collect();
        assert_eq!(distinct, [&[l(2)][..], &[l(1)]]);
    }

    #[test]
    fn rewrite_labels_visits_each_used_set_once() {
        let mut s = three_samples();
        s.push(&[4], &[7], &[l(1)]);
        s.retain(|i, _| i != 2);
        let mut calls = Vec::new();
        s.rewrite_labels(|labels, out| {
            calls.push(labels.to_vec());
            out.extend(labels.iter().map(|x| l(x.key.0 + 10)));
        });
        assert_eq!(calls, vec![vec![l(1)], vec![]]);
        assert_eq!(s.labels(0), &[l(11)]);
        assert_eq!(s.labels(2), &[l(11)]);
    }

    #[test]
    fn rewrite_stacks_grows_stacks_past_the_old_ones() {
        let mut s = three_samples();
        s.rewrite_stacks(|_, stack, _, out| {
            out.extend_from_slice(stack);
            out.extend_from_slice(stack);
            out.push(1 << 20);
            true
        });
        let mut expected = Samples::new(1);
        expected.push(&[1], &[1, 2, 1, 2, 1 << 20], &[l(1)]);
        expected.push(&[2], &[3, 3, 1 << 20], &[]);
        expected.push(&[3], &[4, 5, 6, 4, 5, 6, 1 << 20], &[l(2), l(3)]);
        assert_eq!(s, expected);
    }

    #[test]
    fn rewrite_stacks_drops_and_rewrites_samples() {
        let mut s = three_samples();
        s.rewrite_stacks(|i, stack, _, out| {
            out.extend(stack.iter().map(|x| x * 10));
            i != 1
        });
        let mut expected = Samples::new(1);
        expected.push(&[1], &[10, 20], &[l(1)]);
        expected.push(&[3], &[40, 50, 60], &[l(2), l(3)]);
        assert_eq!(s, expected);
    }
}
