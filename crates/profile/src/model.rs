//! The in-memory profile: pprof's data model laid out for size and speed.
//!
//! Entities (mappings, locations, functions) live in vectors and refer to each other by
//! dense index; the ids of the input are kept only to be printed and written back.
//! Samples are columnar and compacted (see [`Samples`]), so a profile with millions of
//! samples makes a handful of allocations, not millions.

use crate::samples::Samples;
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
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
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
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
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
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Line {
    /// Index into [`Profile::functions`].
    pub function: u32,
    /// Line number in the function's source file (0 when unknown).
    pub line: i64,
    /// Column number (0 when unknown).
    pub column: i64,
}

/// The source lines of a [`Location`]: most locations have one, which is kept inline
/// (no allocation of its own); inlined frames spill to the heap.
pub type Lines = smallvec::SmallVec<[Line; 1]>;

/// The index of a location's mapping in [`Profile::mappings`], held in four bytes:
/// `Option<MappingIndex>` takes four too, where `Option<u32>` takes eight (a profile
/// has hundreds of thousands of locations).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MappingIndex(std::num::NonZeroU32);

impl MappingIndex {
    /// The mapping at `index` in [`Profile::mappings`]; `index` is below `u32::MAX`.
    pub fn new(index: u32) -> MappingIndex {
        match index.checked_add(1).and_then(std::num::NonZeroU32::new) {
            Some(n) => MappingIndex(n),
            None => panic!("mapping index {index} out of range"),
        }
    }

    /// The index in [`Profile::mappings`].
    pub fn index(self) -> usize {
        self.0.get() as usize - 1
    }
}

/// A program counter, with the source lines it maps to; the last line is the caller,
/// the ones before it are inlined into it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Location {
    /// The id this location had in the input (non-zero, unique within the profile).
    pub id: u64,
    /// Its mapping, if the location has one.
    pub mapping: Option<MappingIndex>,
    /// Instruction address (0 when unknown).
    pub address: u64,
    /// Source frames at this address, innermost (inlined callee) first.
    pub lines: Lines,
    /// Several distinct functions were folded into this location (identical code folding).
    pub is_folded: bool,
}

/// A label of a sample: a key with a string value or a numeric value (with a unit).
///
/// Packed to 4-byte alignment (20 bytes instead of 24): label sets of large profiles
/// hold millions of labels. Fields are read by value.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[repr(C, packed(4))]
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
    /// The key and unit of each numeric label the decoder was asked to leave out of
    /// the samples ([`ParseOptions::keep_labels`](crate::ParseOptions::keep_labels)),
    /// once each, in order of first appearance: what pprof's label unit checks need.
    pub dropped_label_units: Vec<(StrId, StrId)>,
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

    /// A copy of this profile's tables and metadata with no samples (as many values per
    /// sample): what a report needs beside samples it borrows for a while.
    pub fn clone_without_samples(&self) -> Profile {
        Profile {
            strings: self.strings.clone(),
            sample_types: self.sample_types.clone(),
            samples: Samples::new(self.samples.width()),
            mappings: self.mappings.clone(),
            locations: self.locations.clone(),
            functions: self.functions.clone(),
            drop_frames: self.drop_frames,
            keep_frames: self.keep_frames,
            time_nanos: self.time_nanos,
            duration_nanos: self.duration_nanos,
            period_type: self.period_type,
            period: self.period,
            comments: self.comments.clone(),
            default_sample_type: self.default_sample_type,
            dropped_label_units: self.dropped_label_units.clone(),
            doc_url: self.doc_url,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mapping_index_gives_back_its_index() {
        for i in [0, 1, 7, u32::MAX - 1] {
            assert_eq!(MappingIndex::new(i).index(), i as usize);
        }
    }

    #[test]
    fn locations_stay_small() {
        // Profiles hold hundreds of thousands of locations: an optional mapping takes
        // four bytes, and a location with one line allocates nothing.
        assert_eq!(std::mem::size_of::<Option<MappingIndex>>(), 4);
        assert!(std::mem::size_of::<Location>() <= 56);
    }
}
