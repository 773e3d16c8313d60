//! Merging profiles of the same kind into one, and compacting a profile (a merge of
//! one), with pprof's deduplication and id numbering.
//!
//! The merged profile gets fresh ids: mappings, locations and functions are numbered
//! 1, 2, ... in the order they are first reached (the first mapping of the first
//! source that has mappings, then samples in order, each stack leaf first). Samples
//! with equal stacks and labels are summed; samples whose values are all zero are
//! dropped. No step allocates per sample: candidates are found by hash and compared
//! against the merged data itself.

use std::collections::HashMap;

use crate::error::{Error, Result};
use crate::key_index::KeyIndex;
use crate::model::{
    Function, Label, Line, Lines, Location, Mapping, MappingIndex, Profile, ValueType,
};
use crate::samples::{SampleRef, Values};
use crate::strings::StrId;

/// Marks an entry of an index map that has no value yet.
const NONE: u32 = u32::MAX;

/// Merges compatible profiles into one, as pprof's `profile.Merge` does.
///
/// All profiles must have the same period type and sample types (see
/// [`Profile::compatible`]). The result takes the drop/keep frames and the period type
/// of the first profile, the largest period, the earliest time (as pprof computes it),
/// the sum of the durations, the distinct comments in order, and the first non-empty
/// default sample type and doc URL.
pub fn merge(profiles: Vec<Profile>) -> Result<Profile> {
    let first = profiles
        .first()
        .ok_or_else(|| Error::new("no profiles to merge"))?;
    for other in &profiles[1..] {
        first.compatible(other)?;
    }
    let mut merge = Merge::new(first);
    // Each profile is freed once added: the merge holds only the profiles not yet in.
    for src in profiles {
        merge.add(&src)?;
    }
    Ok(merge.finish())
}

/// A merge that takes its profiles one at a time, in order, so that only the merged
/// profile is held and each source can be dropped once added: merging many profiles
/// read one after another takes the memory of their merge, not of all of them.
///
/// Adding profiles `a, b, c, ...` and finishing gives what [`merge`] gives for the
/// same profiles in the same order, byte for byte.
pub struct Merge {
    merger: Merger,
}

impl Merge {
    /// A merge of profiles like `first` (its period type and sample types); `first`
    /// itself is not added.
    pub fn new(first: &Profile) -> Merge {
        Merge {
            merger: Merger::new(first),
        }
    }

    /// Checks that `src` can be added: that it has the period type and sample types
    /// of the first profile (see [`Profile::compatible`]).
    pub fn check(&self, src: &Profile) -> Result<()> {
        self.merger.out.compatible(src)
    }

    /// Adds the samples of `src` and its header (time, duration, period, comments).
    /// Fails, adding nothing, when `src` is not compatible with the first profile
    /// (see [`Profile::compatible`]).
    pub fn add(&mut self, src: &Profile) -> Result<()> {
        self.check(src)?;
        self.merger.add(src);
        Ok(())
    }

    /// The merged profile.
    pub fn finish(self) -> Profile {
        self.merger.finish()
    }
}

impl Profile {
    /// Checks that `other` can be merged with or compared to this profile: same period
    /// type and same sample types, in order. The error names both type lists.
    pub fn compatible(&self, other: &Profile) -> Result<()> {
        let same = |a: &ValueType, b: &ValueType, pa: &Profile, pb: &Profile| {
            pa.str(a.ty) == pb.str(b.ty) && pa.str(a.unit) == pb.str(b.unit)
        };
        if !same(&self.period_type, &other.period_type, self, other) {
            return Err(Error::new(format!(
                "incompatible period types {} and {}",
                self.value_type_text(&self.period_type),
                other.value_type_text(&other.period_type)
            )));
        }
        if self.sample_types.len() != other.sample_types.len()
            || self
                .sample_types
                .iter()
                .zip(&other.sample_types)
                .any(|(a, b)| !same(a, b, self, other))
        {
            return Err(Error::new(format!(
                "incompatible sample types {} and {}",
                self.sample_types_text(),
                other.sample_types_text()
            )));
        }
        Ok(())
    }

    /// Removes everything no sample uses and renumbers mappings, locations and
    /// functions from 1, as pprof's `Compact` (a merge of one profile) does.
    pub fn compact(self) -> Profile {
        let mut merger = Merger::new(&self);
        merger.add(&self);
        merger.finish()
    }

    /// A value type the way pprof's error messages print one: `&{type unit 0 0}`.
    fn value_type_text(&self, vt: &ValueType) -> String {
        format!("&{{{} {} 0 0}}", self.str(vt.ty), self.str(vt.unit))
    }

    /// The sample types as `[&{type unit 0 0} ...]` (pprof prints addresses there,
    /// which cannot be reproduced).
    fn sample_types_text(&self) -> String {
        let types: Vec<String> = self
            .sample_types
            .iter()
            .map(|vt| self.value_type_text(vt))
            .collect();
        format!("[{}]", types.join(" "))
    }
}

/// Whether every value is zero.
fn is_zero(values: Values<'_>) -> bool {
    values.iter().all(|v| v == 0)
}

/// Folds `v` into the running hash `h`.
#[inline]
fn mix(h: u64, v: u64) -> u64 {
    (h.rotate_left(5) ^ v).wrapping_mul(0x517c_c1b7_2722_0a95)
}

/// Entries (samples or locations) of the merged profile by the hashes of their keys,
/// which are compared against the merged data itself.
#[derive(Default)]
struct EntryIndex {
    positions: KeyIndex,
    /// The hash of each entry's key, in entry order.
    hashes: Vec<u64>,
}

impl EntryIndex {
    /// The entry with this key `hash` that `matches` accepts; when there is none,
    /// `new`, which must be the next entry, is recorded under it and `None` returned.
    #[inline]
    fn find_or_insert(
        &mut self,
        hash: u64,
        new: u32,
        matches: impl Fn(u32) -> bool,
    ) -> Option<u32> {
        debug_assert_eq!(new as usize, self.hashes.len());
        let hashes = &self.hashes;
        let found = self.positions.get_or_insert(
            hash,
            new,
            |i| hashes[i as usize] == hash && matches(i),
            |i| hashes[i as usize],
        );
        if found.is_none() {
            self.hashes.push(hash);
        }
        found
    }
}

/// What identifies a mapping across profiles: its size rounded up to 4 KiB, its file
/// offset and its build id (or file name when it has none).
type MappingKey = (u64, u64, StrId);

/// What identifies a function: start line, name, system name and file name.
type FunctionKey = (i64, StrId, StrId, StrId);

/// How one source profile's entities map into the merged profile.
struct SourceMap {
    strings: Vec<u32>,
    /// Merged mapping index and the address offset to apply, per source mapping.
    mappings: Vec<Option<(u32, i64)>>,
    functions: Vec<u32>,
    locations: Vec<u32>,
}

impl SourceMap {
    fn new(src: &Profile) -> SourceMap {
        SourceMap {
            strings: vec![NONE; src.strings.len()],
            mappings: vec![None; src.mappings.len()],
            functions: vec![NONE; src.functions.len()],
            locations: vec![NONE; src.locations.len()],
        }
    }
}

/// Samples looked up among the merged samples together (see [`Merger::add`]).
const BATCH: usize = 16;

/// Samples of a source mapped into the merged profile's ids, ahead of their lookup.
#[derive(Default)]
struct Batch {
    /// The samples' stacks, one after another.
    frames: Vec<u32>,
    /// The samples' labels, one after another.
    labels: Vec<Label>,
    /// Where each sample's stack and labels end.
    ends: Vec<(usize, usize)>,
    /// The hash of each sample's key.
    hashes: Vec<u64>,
}

impl Batch {
    fn clear(&mut self) {
        self.frames.clear();
        self.labels.clear();
        self.ends.clear();
        self.hashes.clear();
    }

    /// The stack and labels of sample `i`.
    fn sample(&self, i: usize) -> (&[u32], &[Label]) {
        let (frames_start, labels_start) = match i {
            0 => (0, 0),
            _ => self.ends[i - 1],
        };
        let (frames_end, labels_end) = self.ends[i];
        (
            &self.frames[frames_start..frames_end],
            &self.labels[labels_start..labels_end],
        )
    }
}

/// Builds the merged profile source by source.
struct Merger {
    out: Profile,
    /// The comments taken so far.
    seen_comments: std::collections::HashSet<String>,
    samples: EntryIndex,
    locations: EntryIndex,
    functions: HashMap<FunctionKey, u32, foldhash::fast::RandomState>,
    mappings: HashMap<MappingKey, u32>,
    /// Whether the values of a merged sample summed to zero: samples are added with
    /// values that are not all zero, so only a sum can make them so.
    summed_to_zero: bool,
    /// Scratch: the current sample's values.
    values: Vec<i64>,
    /// Scratch: the samples mapped ahead of their lookup.
    batch: Batch,
    /// Scratch: the current location's lines, mapped.
    lines: Vec<Line>,
}

impl Merger {
    /// A merger whose output has the sample types, period type and drop/keep frames
    /// of `first`, and room for about as much as `first` holds.
    fn new(first: &Profile) -> Merger {
        let mut out = Profile::new(first.width());
        let vt = |out: &mut Profile, vt: ValueType| ValueType {
            ty: out.strings.intern(first.str(vt.ty)),
            unit: out.strings.intern(first.str(vt.unit)),
        };
        for &st in &first.sample_types {
            let mapped = vt(&mut out, st);
            out.sample_types.push(mapped);
        }
        out.period_type = vt(&mut out, first.period_type);
        out.drop_frames = out.strings.intern(first.str(first.drop_frames));
        out.keep_frames = out.strings.intern(first.str(first.keep_frames));
        out.samples
            .reserve(first.samples.len(), first.samples.frame_count());
        out.locations.reserve(first.locations.len());
        out.functions.reserve(first.functions.len());
        Merger {
            out,
            seen_comments: std::collections::HashSet::new(),
            samples: EntryIndex::default(),
            locations: EntryIndex::default(),
            functions: HashMap::default(),
            mappings: HashMap::new(),
            summed_to_zero: false,
            values: Vec::new(),
            batch: Batch::default(),
            lines: Vec::new(),
        }
    }

    /// Folds `src`'s header into the merged one: the earliest time (as pprof computes
    /// it), the sum of the durations, the largest period, the distinct comments in
    /// order, the first non-empty default sample type and doc URL.
    fn add_header(&mut self, src: &Profile) {
        let out = &mut self.out;
        if out.time_nanos == 0 || src.time_nanos < out.time_nanos {
            out.time_nanos = src.time_nanos;
        }
        out.duration_nanos = out.duration_nanos.wrapping_add(src.duration_nanos);
        if out.period == 0 || out.period < src.period {
            out.period = src.period;
        }
        for &c in &src.comments {
            let text = src.str(c);
            if !self.seen_comments.contains(text) {
                self.seen_comments.insert(text.to_string());
                let id = out.strings.intern(text);
                out.comments.push(id);
            }
        }
        if out.default_sample_type.is_empty() {
            out.default_sample_type = out.strings.intern(src.str(src.default_sample_type));
        }
        if out.doc_url.is_empty() {
            out.doc_url = out.strings.intern(src.str(src.doc_url));
        }
    }

    /// The merged profile. When the values of a merged sample summed to zero, it is
    /// merged again, which drops those samples and anything only they used.
    fn finish(self) -> Profile {
        if self.summed_to_zero {
            return self.out.compact();
        }
        self.out
    }

    /// Adds the samples of `src` (and what they use) to the merged profile.
    ///
    /// Samples are mapped [`BATCH`] at a time before any of them is looked up among
    /// the merged samples, whose index is larger than the cache when the sources are
    /// many: the index slots of a batch are asked for together, and load at once.
    fn add(&mut self, src: &Profile) {
        self.add_header(src);
        let mut map = SourceMap::new(src);
        if self.out.mappings.is_empty() && !src.mappings.is_empty() {
            // The first mapping is the main binary: keep it first.
            self.map_mapping(src, &mut map, 0);
        }
        let mut batch = std::mem::take(&mut self.batch);
        let mut values = Vec::with_capacity(BATCH);
        let mut samples = src.samples.iter().filter(|s| !is_zero(s.values));
        loop {
            batch.clear();
            values.clear();
            for sample in samples.by_ref().take(BATCH) {
                let hash = self.map_sample(src, &mut map, &sample, &mut batch);
                self.samples.positions.prefetch(hash);
                values.push(sample.values);
            }
            if values.is_empty() {
                break;
            }
            for (i, values) in values.iter().enumerate() {
                self.add_mapped(&batch, i, *values);
            }
        }
        self.batch = batch;
    }

    /// Maps the stack and labels of `sample` into `batch`; returns the hash of the
    /// mapped sample's key.
    fn map_sample(
        &mut self,
        src: &Profile,
        map: &mut SourceMap,
        sample: &SampleRef<'_>,
        batch: &mut Batch,
    ) -> u64 {
        let stack_start = batch.frames.len();
        for l in sample.locations {
            let mapped = self.map_location(src, map, l);
            batch.frames.push(mapped);
        }
        let labels_start = batch.labels.len();
        for l in sample.labels {
            let mapped = Label {
                key: self.map_string(src, map, l.key),
                str: self.map_string(src, map, l.str),
                num: l.num,
                num_unit: self.map_string(src, map, l.num_unit),
            };
            batch.labels.push(mapped);
        }
        let stack = &batch.frames[stack_start..];
        let mut hash = mix(0, stack.len() as u64);
        for &l in stack {
            hash = mix(hash, l as u64);
        }
        for l in &batch.labels[labels_start..] {
            hash = mix(hash, l.key.0 as u64);
            hash = mix(hash, l.str.0 as u64);
            hash = mix(hash, l.num as u64);
            hash = mix(hash, l.num_unit.0 as u64);
        }
        batch.ends.push((batch.frames.len(), batch.labels.len()));
        batch.hashes.push(hash);
        hash
    }

    /// Adds the `i`th sample of `batch`, with `values`: to the merged sample of the
    /// same stack and labels, or as a new one.
    fn add_mapped(&mut self, batch: &Batch, i: usize, values: Values<'_>) {
        let (stack, labels) = batch.sample(i);
        let hash = batch.hashes[i];
        let samples = &self.out.samples;
        let index = samples.len() as u32;
        let found = self.samples.find_or_insert(hash, index, |i| {
            let s = samples.get(i as usize);
            s.locations == *stack && s.labels == labels
        });
        match found {
            Some(i) => {
                let samples = &mut self.out.samples;
                let mut all_zero = true;
                for (c, v) in values.iter().enumerate() {
                    let sum = samples.value(i as usize, c).wrapping_add(v);
                    samples.set_value(i as usize, c, sum);
                    all_zero &= sum == 0;
                }
                self.summed_to_zero |= all_zero;
            }
            None => {
                values.copy_into(&mut self.values);
                self.out.samples.push(&self.values, stack, labels);
            }
        }
    }

    fn map_string(&mut self, src: &Profile, map: &mut SourceMap, id: StrId) -> StrId {
        if id.is_empty() {
            return StrId::EMPTY;
        }
        match map.strings.get(id.index()) {
            Some(&mapped) if mapped != NONE => StrId(mapped),
            Some(_) => {
                let mapped = self.out.strings.intern(src.str(id));
                map.strings[id.index()] = mapped.0;
                mapped
            }
            None => StrId::EMPTY,
        }
    }

    /// The merged mapping for source mapping `index`, with the offset to add to the
    /// addresses of its locations.
    fn map_mapping(
        &mut self,
        src: &Profile,
        map: &mut SourceMap,
        index: u32,
    ) -> Option<(u32, i64)> {
        let i = index as usize;
        if let Some(&Some(known)) = map.mappings.get(i) {
            return Some(known);
        }
        let m = src.mappings.get(i)?;
        let size = m
            .memory_limit
            .wrapping_sub(m.memory_start)
            .wrapping_add(0xfff);
        let size = size - size % 0x1000;
        let name = if !m.build_id.is_empty() {
            m.build_id
        } else {
            m.filename
        };
        let key = (size, m.file_offset, self.map_string(src, map, name));
        let info = match self.mappings.get(&key) {
            Some(&existing) => {
                let start = self.out.mappings[existing as usize].memory_start;
                (existing, (start as i64).wrapping_sub(m.memory_start as i64))
            }
            None => {
                let filename = self.map_string(src, map, m.filename);
                let build_id = self.map_string(src, map, m.build_id);
                let index = self.out.mappings.len() as u32;
                self.out.mappings.push(Mapping {
                    id: index as u64 + 1,
                    filename,
                    build_id,
                    ..m.clone()
                });
                self.mappings.insert(key, index);
                (index, 0)
            }
        };
        map.mappings[i] = Some(info);
        Some(info)
    }

    fn map_function(&mut self, src: &Profile, map: &mut SourceMap, index: u32) -> u32 {
        let i = index as usize;
        if let Some(&known) = map.functions.get(i) {
            if known != NONE {
                return known;
            }
        }
        let Some(f) = src.functions.get(i) else {
            return NONE;
        };
        let key = (
            f.start_line,
            self.map_string(src, map, f.name),
            self.map_string(src, map, f.system_name),
            self.map_string(src, map, f.filename),
        );
        let mapped = match self.functions.get(&key) {
            Some(&existing) => existing,
            None => {
                let index = self.out.functions.len() as u32;
                self.out.functions.push(Function {
                    id: index as u64 + 1,
                    name: key.1,
                    system_name: key.2,
                    filename: key.3,
                    start_line: key.0,
                });
                self.functions.insert(key, index);
                index
            }
        };
        map.functions[i] = mapped;
        mapped
    }

    fn map_location(&mut self, src: &Profile, map: &mut SourceMap, index: u32) -> u32 {
        let i = index as usize;
        if let Some(&known) = map.locations.get(i) {
            if known != NONE {
                return known;
            }
        }
        let Some(loc) = src.locations.get(i) else {
            return NONE;
        };
        let (mapping, offset) = match loc.mapping {
            Some(m) => match self.map_mapping(src, map, m.index() as u32) {
                Some((merged, offset)) => (Some(MappingIndex::new(merged)), offset),
                None => (None, 0),
            },
            None => (None, 0),
        };
        let address = (loc.address as i64).wrapping_add(offset) as u64;
        let mut lines = std::mem::take(&mut self.lines);
        lines.clear();
        for line in &loc.lines {
            lines.push(Line {
                function: self.map_function(src, map, line.function),
                ..*line
            });
        }
        // pprof's location key: the address relative to the mapping start, the
        // mapping, the folded flag, each line's function and line number, and the
        // column of the last line only.
        let start = mapping.map_or(0, |m| self.out.mappings[m.index()].memory_start);
        let key_address = address.wrapping_sub(start);
        let mut hash = mix(
            mix(key_address, mapping.map_or(0, |m| m.index() as u64 + 1)),
            loc.is_folded as u64,
        );
        hash = mix(hash, lines.len() as u64);
        for l in &lines {
            hash = mix(mix(hash, l.function as u64), l.line as u64);
        }
        hash = mix(hash, lines.last().map_or(0, |l| l.column as u64));
        let out = &self.out;
        let index = out.locations.len() as u32;
        let found = self.locations.find_or_insert(hash, index, |c| {
            let other = &out.locations[c as usize];
            other.mapping == mapping
                && other.is_folded == loc.is_folded
                && other.address.wrapping_sub(start) == key_address
                && same_key_lines(&other.lines, &lines)
        });
        let mapped = match found {
            Some(existing) => existing,
            None => {
                self.out.locations.push(Location {
                    id: index as u64 + 1,
                    mapping,
                    address,
                    lines: Lines::from_slice(&lines),
                    is_folded: loc.is_folded,
                });
                index
            }
        };
        self.lines = lines;
        map.locations[i] = mapped;
        mapped
    }
}

/// Whether two line lists are equal as pprof's location key sees them: functions and
/// line numbers of all lines, the column of the last line only.
fn same_key_lines(a: &[Line], b: &[Line]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| x.function == y.function && x.line == y.line)
        && a.last().map(|l| l.column) == b.last().map(|l| l.column)
}
