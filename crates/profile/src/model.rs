//! The in-memory profile: pprof's data model laid out for size and speed.
//!
//! Entities (mappings, locations, functions) live in vectors and refer to each other by
//! dense index; the ids of the input are kept only to be printed and written back.
//! Samples are columnar: one flat array of location indices with offsets, one flat array
//! of values, one flat array of labels with offsets, so a profile with millions of samples
//! makes a handful of allocations, not millions.

use crate::strings::{StrId, StringTable};

/// A (type, unit) pair naming what a sample value or the period measures, such as
/// `cpu`/`nanoseconds` or `alloc_space`/`bytes`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct ValueType {
    /// The measured quantity, e.g. `samples`, `cpu`, `inuse_space`.
    pub ty: StrId,
    /// The unit of the quantity, e.g. `count`, `nanoseconds`, `bytes`.
    pub unit: StrId,
}

/// A memory mapping of a binary or shared library in the profiled process.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Mapping {
    /// The id this mapping had in the input (non-zero, unique within the profile).
    pub id: u64,
    /// Start address of the mapping in the process.
    pub memory_start: u64,
    /// End address (exclusive) of the mapping in the process.
    pub memory_limit: u64,
    /// Offset of the mapping in the mapped file.
    pub file_offset: u64,
    /// Path of the mapped file.
    pub filename: StrId,
    /// Build id of the mapped file, usually hex.
    pub build_id: StrId,
    /// The locations of this mapping have function names.
    pub has_functions: bool,
    /// The locations of this mapping have file names.
    pub has_filenames: bool,
    /// The locations of this mapping have line numbers.
    pub has_line_numbers: bool,
    /// The locations of this mapping have inline frames.
    pub has_inline_frames: bool,
}

/// A function: a name, its system (mangled) name, its source file and first line.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Function {
    /// The id this function had in the input (non-zero, unique within the profile).
    pub id: u64,
    /// Human-readable (demangled) name.
    pub name: StrId,
    /// Name as the system knows it, such as a mangled C++ name.
    pub system_name: StrId,
    /// Source file that defines the function.
    pub filename: StrId,
    /// Line of the function's start in `filename`.
    pub start_line: i64,
}

/// One frame of source at a location: a function and a line within it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Line {
    /// Index into [`Profile::functions`].
    pub function: u32,
    /// Line number in the function's source file (0 when unknown).
    pub line: i64,
    /// Column number (0 when unknown).
    pub column: i64,
}

/// A program counter, with the source lines it maps to; the last line is the caller,
/// the ones before it are inlined into it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Location {
    /// The id this location had in the input (non-zero, unique within the profile).
    pub id: u64,
    /// Index into [`Profile::mappings`], if the location has a mapping.
    pub mapping: Option<u32>,
    /// Instruction address (0 when unknown).
    pub address: u64,
    /// Source frames at this address, innermost (inlined callee) first.
    pub lines: Vec<Line>,
    /// Several distinct functions were folded into this location (identical code folding).
    pub is_folded: bool,
}

/// A label of a sample: a key with a string value or a numeric value (with a unit).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Label {
    /// Label key.
    pub key: StrId,
    /// String value; [`StrId::EMPTY`] for a numeric label.
    pub str: StrId,
    /// Numeric value, used when `str` is empty.
    pub num: i64,
    /// Unit of `num`, such as `bytes`; may be empty.
    pub num_unit: StrId,
}

impl Label {
    /// Whether this is a numeric label (its string value is empty).
    pub fn is_numeric(&self) -> bool {
        self.str.is_empty()
    }
}

/// All samples of a profile in columnar form.
///
/// Sample `i` has values `values[i*n..(i+1)*n]` where `n` is the number of sample
/// types, locations `locations[loc_offsets[i]..loc_offsets[i+1]]` (leaf first, as
/// indices into [`Profile::locations`]) and labels
/// `labels[label_offsets[i]..label_offsets[i+1]]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Samples {
    /// Number of values per sample (the number of sample types).
    pub width: usize,
    /// Values of all samples, `width` per sample.
    pub values: Vec<i64>,
    /// Location indices of all samples, concatenated, leaf first.
    pub locations: Vec<u32>,
    /// `len() + 1` offsets into `locations`.
    pub loc_offsets: Vec<u32>,
    /// Labels of all samples, concatenated, in input order.
    pub labels: Vec<Label>,
    /// `len() + 1` offsets into `labels`.
    pub label_offsets: Vec<u32>,
}

impl Default for Samples {
    fn default() -> Self {
        Samples::new(0)
    }
}

/// One sample, borrowed from [`Samples`].
#[derive(Clone, Copy, Debug)]
pub struct SampleRef<'a> {
    /// The sample's values, one per sample type.
    pub values: &'a [i64],
    /// The sample's stack as location indices, leaf first.
    pub locations: &'a [u32],
    /// The sample's labels.
    pub labels: &'a [Label],
}

impl Samples {
    /// An empty sample set whose samples have `width` values each.
    pub fn new(width: usize) -> Samples {
        Samples {
            width,
            values: Vec::new(),
            locations: Vec::new(),
            loc_offsets: vec![0],
            labels: Vec::new(),
            label_offsets: vec![0],
        }
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.loc_offsets.len() - 1
    }

    /// Whether there are no samples.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends a sample. `values` must have `width` elements.
    pub fn push(&mut self, values: &[i64], locations: &[u32], labels: &[Label]) {
        debug_assert_eq!(values.len(), self.width);
        self.values.extend_from_slice(values);
        self.locations.extend_from_slice(locations);
        self.loc_offsets.push(self.locations.len() as u32);
        self.labels.extend_from_slice(labels);
        self.label_offsets.push(self.labels.len() as u32);
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
    pub fn values(&self, i: usize) -> &[i64] {
        &self.values[i * self.width..(i + 1) * self.width]
    }

    /// Mutable values of sample `i`.
    pub fn values_mut(&mut self, i: usize) -> &mut [i64] {
        &mut self.values[i * self.width..(i + 1) * self.width]
    }

    /// Location indices of sample `i`, leaf first.
    pub fn locations(&self, i: usize) -> &[u32] {
        &self.locations[self.loc_offsets[i] as usize..self.loc_offsets[i + 1] as usize]
    }

    /// Labels of sample `i`.
    pub fn labels(&self, i: usize) -> &[Label] {
        &self.labels[self.label_offsets[i] as usize..self.label_offsets[i + 1] as usize]
    }

    /// Iterates over all samples in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = SampleRef<'_>> + '_ {
        (0..self.len()).map(move |i| self.get(i))
    }

    /// Keeps only the samples for which `keep(index, sample)` is true, preserving order.
    ///
    /// Works in place: the kept samples move to the front of the columns, and nothing
    /// moves when every sample is kept.
    pub fn retain(&mut self, mut keep: impl FnMut(usize, SampleRef<'_>) -> bool) {
        let kept: Vec<bool> = (0..self.len()).map(|i| keep(i, self.get(i))).collect();
        let Some(first_dropped) = kept.iter().position(|&k| !k) else {
            return;
        };
        let w = self.width;
        let mut out = first_dropped;
        let mut values_end = out * w;
        let mut locations_end = self.loc_offsets[out] as usize;
        let mut labels_end = self.label_offsets[out] as usize;
        for (i, _) in kept
            .iter()
            .enumerate()
            .skip(first_dropped + 1)
            .filter(|(_, &k)| k)
        {
            let (l0, l1) = (
                self.loc_offsets[i] as usize,
                self.loc_offsets[i + 1] as usize,
            );
            let (b0, b1) = (
                self.label_offsets[i] as usize,
                self.label_offsets[i + 1] as usize,
            );
            self.values.copy_within(i * w..(i + 1) * w, values_end);
            self.locations.copy_within(l0..l1, locations_end);
            self.labels.copy_within(b0..b1, labels_end);
            values_end += w;
            locations_end += l1 - l0;
            labels_end += b1 - b0;
            out += 1;
            self.loc_offsets[out] = locations_end as u32;
            self.label_offsets[out] = labels_end as u32;
        }
        self.values.truncate(values_end);
        self.locations.truncate(locations_end);
        self.labels.truncate(labels_end);
        self.loc_offsets.truncate(out + 1);
        self.label_offsets.truncate(out + 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn three_samples() -> Samples {
        let mut s = Samples::new(1);
        let l = |k| Label {
            key: StrId(k),
            ..Label::default()
        };
        s.push(&[1], &[1, 2], &[l(1)]);
        s.push(&[2], &[3], &[]);
        s.push(&[3], &[4, 5, 6], &[l(2), l(3)]);
        s
    }

    #[test]
    fn retain_compacts_kept_samples_in_order() {
        let mut s = three_samples();
        s.retain(|i, _| i != 0);
        let mut expected = Samples::new(1);
        expected.push(&[2], &[3], &[]);
        let l = |k| Label {
            key: StrId(k),
            ..Label::default()
        };
        expected.push(&[3], &[4, 5, 6], &[l(2), l(3)]);
        assert_eq!(s, expected);
    }

    #[test]
    fn retain_keeping_everything_changes_nothing() {
        let mut s = three_samples();
        s.retain(|_, _| true);
        assert_eq!(s, three_samples());
        s.retain(|_, sample| sample.values[0] == 2);
        assert_eq!(s.len(), 1);
        assert_eq!(s.locations(0), &[3]);
        s.retain(|_, _| false);
        assert!(s.is_empty());
        assert!(s.values.is_empty() && s.locations.is_empty() && s.labels.is_empty());
    }
}

/// A profile: pprof's `Profile` message, decoded.
#[derive(Clone, Debug, Default)]
pub struct Profile {
    /// Every string of the profile; entities refer to it by [`StrId`].
    pub strings: StringTable,
    /// What each sample value measures; samples have one value per entry.
    pub sample_types: Vec<ValueType>,
    /// The samples.
    pub samples: Samples,
    /// Memory mappings.
    pub mappings: Vec<Mapping>,
    /// Locations (program counters with their source lines).
    pub locations: Vec<Location>,
    /// Functions.
    pub functions: Vec<Function>,
    /// Regex of frames to drop from stacks (pprof's `drop_frames`).
    pub drop_frames: StrId,
    /// Regex of frames to keep despite `drop_frames`.
    pub keep_frames: StrId,
    /// Time of collection, in nanoseconds since the epoch.
    pub time_nanos: i64,
    /// Duration of collection, in nanoseconds.
    pub duration_nanos: i64,
    /// What the period measures (empty type and unit when the profile has no period).
    pub period_type: ValueType,
    /// The sampling period, in units of `period_type`.
    pub period: i64,
    /// Free-form comments.
    pub comments: Vec<StrId>,
    /// The sample type a report should show when none is asked for.
    pub default_sample_type: StrId,
    /// Documentation link for this profile type.
    pub doc_url: StrId,
}

impl Profile {
    /// An empty profile whose samples have `width` values.
    pub fn new(width: usize) -> Profile {
        Profile {
            samples: Samples::new(width),
            ..Profile::default()
        }
    }

    /// The text of string `id`.
    pub fn str(&self, id: StrId) -> &str {
        self.strings.get(id)
    }

    /// The id of `s` in this profile's string table, adding it if needed.
    pub fn intern(&mut self, s: &str) -> StrId {
        self.strings.intern(s)
    }

    /// Number of values per sample.
    pub fn width(&self) -> usize {
        self.sample_types.len()
    }
}
