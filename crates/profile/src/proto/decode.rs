//! Decoding profile.proto bytes into a [`Profile`].
//!
//! The top level of the message is scanned twice: the first pass decodes the string
//! table and the entity tables (mappings, functions, locations) and maps their ids to
//! dense indices; the second pass decodes samples straight into the columnar arrays,
//! already pointing at location indices.

use std::collections::HashMap;

use super::wire::{self, Reader, Value};
use crate::error::{Error, Result};
use crate::model::{
    Function, Label, Line, Lines, Location, Mapping, MappingIndex, Profile, ValueType,
};
use crate::samples::Samples;
use crate::strings::{StrId, StringTable};

/// Maps the ids of one entity table to dense indices.
pub(super) enum IdMap {
    /// Ids 1, 2, 3… up to this count, each entity's position plus one: what pprof and
    /// Go's runtime write, found with no table.
    Positions(u64),
    Dense(Vec<u32>),
    Sparse(HashMap<u64, u32>),
}

impl IdMap {
    const NONE: u32 = u32::MAX;

    /// Builds the map for entities with these ids; fails on a zero or repeated id.
    pub(super) fn new(
        ids: impl ExactSizeIterator<Item = u64> + Clone,
        what: &str,
    ) -> Result<IdMap> {
        let count = ids.len();
        if ids.clone().enumerate().all(|(i, id)| id == i as u64 + 1) {
            return Ok(IdMap::Positions(count as u64));
        }
        let max = ids.clone().max().unwrap_or(0);
        let mut map = if max <= (count as u64) * 2 + 16 {
            IdMap::Dense(vec![Self::NONE; max as usize + 1])
        } else {
            IdMap::Sparse(HashMap::with_capacity(count))
        };
        for (index, id) in ids.enumerate() {
            if id == 0 {
                return Err(Error::new(format!("found {what} with reserved id=0")));
            }
            let previous = match &mut map {
                IdMap::Dense(v) => std::mem::replace(&mut v[id as usize], index as u32),
                IdMap::Sparse(m) => m.insert(id, index as u32).unwrap_or(Self::NONE),
                IdMap::Positions(_) => unreachable!("positions are found before"),
            };
            if previous != Self::NONE {
                return Err(Error::new(format!("multiple {what}s with same id: {id}")));
            }
        }
        Ok(map)
    }

    /// Whether the ids are 1, 2, 3…, each entity's position plus one.
    pub(super) fn are_positions(&self) -> bool {
        matches!(self, IdMap::Positions(_))
    }

    /// The index of the entity with id `id`.
    #[inline]
    pub(super) fn get(&self, id: u64) -> Option<u32> {
        let index = match self {
            IdMap::Positions(count) => return (id.wrapping_sub(1) < *count).then(|| id as u32 - 1),
            IdMap::Dense(v) => *v.get(id as usize)?,
            IdMap::Sparse(m) => *m.get(&id)?,
        };
        (index != Self::NONE).then_some(index)
    }
}

/// Where each length-delimited table of the top-level message was found.
#[derive(Default)]
struct Tables<'a> {
    sample_types: Vec<(&'a [u8], usize)>,
    mappings: Vec<(&'a [u8], usize)>,
    locations: Vec<(&'a [u8], usize)>,
    functions: Vec<(&'a [u8], usize)>,
    period_type: Option<(&'a [u8], usize)>,
    samples: usize,
}

/// Decodes one uncompressed profile.proto message.
///
/// Protobuf semantics apply: repeated fields may be packed or not, unknown fields are
/// skipped, the last of a repeated scalar wins. Every reference is checked, so the
/// result needs no further validation.
pub fn decode(data: &[u8]) -> Result<Profile> {
    decode_at(data, 0)
}

/// Decodes a message that starts at byte `base` of the input (for error offsets).
pub fn decode_at(data: &[u8], base: usize) -> Result<Profile> {
    let mut p = Profile::default();
    let mut tables = Tables::default();
    let mut strings_seen = 0usize;
    let mut string_bytes = 0usize;
    let mut comments = Vec::new();

    // Pass 1: scalars, the string table, and where the other tables are.
    let mut r = Reader::new(data, base);
    while !r.is_empty() {
        let (field, _, value) = r.field()?;
        match field {
            1 => tables.sample_types.push(wire::bytes(value, "sample_type")?),
            2 => tables.samples += 1,
            3 => tables.mappings.push(wire::bytes(value, "mapping")?),
            4 => tables.locations.push(wire::bytes(value, "location")?),
            5 => tables.functions.push(wire::bytes(value, "function")?),
            6 => {
                let (bytes, at) = wire::bytes(value, "string_table")?;
                if strings_seen == 0 {
                    if !bytes.is_empty() {
                        return Err(Error::new(format!(
                            "string_table[0] must be '' (byte offset {at})"
                        )));
                    }
                } else {
                    string_bytes += bytes.len();
                    let text = wire::text(bytes);
                    if !p.strings.has_room_for(text.len()) {
                        return Err(Error::new(format!(
                            "string_table: more than 4 GiB of strings (byte offset {at})"
                        )));
                    }
                    p.strings.push(&text);
                }
                strings_seen += 1;
            }
            7 => p.drop_frames = str_id(wire::int(value, "drop_frames")?),
            8 => p.keep_frames = str_id(wire::int(value, "keep_frames")?),
            9 => p.time_nanos = wire::int(value, "time_nanos")? as i64,
            10 => p.duration_nanos = wire::int(value, "duration_nanos")? as i64,
            11 => tables.period_type = Some(wire::bytes(value, "period_type")?),
            12 => p.period = wire::int(value, "period")? as i64,
            13 => r.for_each_int(value, |v| comments.push(str_id(v)))?,
            14 => p.default_sample_type = str_id(wire::int(value, "default_sample_type")?),
            15 => p.doc_url = str_id(wire::int(value, "doc_url")?),
            _ => {}
        }
    }
    let _ = string_bytes;
    p.comments = comments;
    let root = Reader::new(data, base);
    let nstrings = p.strings.len();
    let check = |id: StrId, what: &str| -> Result<StrId> {
        if id.index() < nstrings {
            Ok(id)
        } else {
            Err(Error::new(format!(
                "{what}: string index {} out of range (string table has {nstrings} entries)",
                id.0
            )))
        }
    };
    check(p.drop_frames, "drop_frames")?;
    check(p.keep_frames, "keep_frames")?;
    check(p.default_sample_type, "default_sample_type")?;
    check(p.doc_url, "doc_url")?;
    for &c in &p.comments {
        check(c, "comment")?;
    }

    for &field in &tables.sample_types {
        let vt = value_type(root.nested(field))?;
        check(vt.ty, "sample_type.type")?;
        check(vt.unit, "sample_type.unit")?;
        p.sample_types.push(vt);
    }
    if let Some(field) = tables.period_type {
        let vt = value_type(root.nested(field))?;
        check(vt.ty, "period_type.type")?;
        check(vt.unit, "period_type.unit")?;
        p.period_type = vt;
    }

    p.mappings.reserve(tables.mappings.len());
    for &field in &tables.mappings {
        let m = mapping(root.nested(field))?;
        check(m.filename, "mapping.filename")?;
        check(m.build_id, "mapping.build_id")?;
        p.mappings.push(m);
    }
    let mapping_ids = IdMap::new(p.mappings.iter().map(|m| m.id), "mapping")?;

    p.functions.reserve(tables.functions.len());
    for &field in &tables.functions {
        let f = function(root.nested(field))?;
        check(f.name, "function.name")?;
        check(f.system_name, "function.system_name")?;
        check(f.filename, "function.filename")?;
        p.functions.push(f);
    }
    let function_ids = IdMap::new(p.functions.iter().map(|f| f.id), "function")?;

    p.locations.reserve(tables.locations.len());
    let mut lines = Vec::new();
    for &field in &tables.locations {
        p.locations.push(location(
            root.nested(field),
            &mapping_ids,
            &function_ids,
            &mut lines,
        )?);
    }
    let location_ids = IdMap::new(p.locations.iter().map(|l| l.id), "location")?;

    // Pass 2: samples, straight into columns.
    let width = p.sample_types.len();
    let mut samples = Samples::new(width);
    samples.reserve(tables.samples, 0);
    let mut labels: Vec<Label> = Vec::new();
    let mut values: Vec<i64> = Vec::new();
    let mut orderer = LabelOrderer::new(&p.strings);
    let mut r = Reader::new(data, base);
    while !r.is_empty() {
        let (field, _, value) = r.field()?;
        if field != 2 {
            continue;
        }
        let (bytes, at) = wire::bytes(value, "sample")?;
        values.clear();
        labels.clear();
        let mut sr = r.nested((bytes, at));
        while !sr.is_empty() {
            let (f, _, v) = sr.field()?;
            match f {
                1 => {
                    let mut missing = None;
                    // Indices go through a small local buffer, appended in runs.
                    let mut buf = [0u32; 64];
                    let mut n = 0;
                    sr.for_each_int(v, |id| match location_ids.get(id) {
                        Some(index) => {
                            buf[n] = index;
                            n += 1;
                            if n == buf.len() {
                                samples.push_frames(&buf);
                                n = 0;
                            }
                        }
                        None => missing = Some(id),
                    })?;
                    samples.push_frames(&buf[..n]);
                    if let Some(id) = missing {
                        return Err(Error::new(format!(
                            "sample at byte offset {at} refers to location id {id}, which does not exist"
                        )));
                    }
                }
                2 => sr.for_each_int(v, |x| values.push(x as i64))?,
                3 => {
                    let l = label(sr.nested(wire::bytes(v, "sample.label")?))?;
                    check(l.key, "label.key")?;
                    check(l.str, "label.str")?;
                    check(l.num_unit, "label.num_unit")?;
                    // pprof keeps a label only if it has a string value, a number or a unit.
                    if !l.str.is_empty() || l.num != 0 || !l.num_unit.is_empty() {
                        labels.push(l);
                    }
                }
                _ => {}
            }
        }
        let nvalues = values.len();
        if nvalues != width {
            if width == 0 {
                return Err(Error::new("missing sample type information"));
            }
            return Err(Error::new(format!(
                "mismatch: sample at byte offset {at} has {nvalues} values vs. {width} types"
            )));
        }
        if labels.len() > 1 {
            orderer.order(&mut labels);
        }
        if !samples.has_room_for_sample() {
            return Err(Error::new(format!(
                "sample at byte offset {at}: more than 4294967295 samples or frames in one profile"
            )));
        }
        samples.end_sample(&values, &labels);
    }
    p.samples = samples;
    Ok(p)
}

/// Orders labels as pprof's model holds them: string labels before numeric ones, each
/// group by key, values of one key in input order.
pub(crate) fn canonical_label_order(labels: &mut [Label], strings: &StringTable) {
    let ordered = labels.windows(2).all(|w| {
        let (a, b) = (&w[0], &w[1]);
        (a.is_numeric(), strings.get(a.key)) <= (b.is_numeric(), strings.get(b.key))
    });
    if !ordered {
        labels.sort_by(|a, b| {
            (a.is_numeric(), strings.get(a.key)).cmp(&(b.is_numeric(), strings.get(b.key)))
        });
    }
}

/// Puts many label sets in [`canonical_label_order`], remembering how it ordered the
/// last sequence of keys it met: most sets repeat the keys of the one before (a handler
/// and a tenant on every sample, in the writer's order), and are then put in order by
/// comparing ids, not texts.
pub(crate) struct LabelOrderer<'s> {
    strings: &'s StringTable,
    /// Whether each label is numeric, and its key, of the last set met, as met.
    keys: Vec<(bool, StrId)>,
    /// The positions of that set's labels in canonical order.
    order: Vec<usize>,
    /// Room for a set being reordered.
    scratch: Vec<Label>,
}

impl<'s> LabelOrderer<'s> {
    /// An orderer of labels whose keys are strings of `strings`.
    pub(crate) fn new(strings: &'s StringTable) -> LabelOrderer<'s> {
        LabelOrderer {
            strings,
            keys: Vec::new(),
            order: Vec::new(),
            scratch: Vec::new(),
        }
    }

    /// Puts `labels` in canonical order.
    pub(crate) fn order(&mut self, labels: &mut [Label]) {
        let same_keys = labels.len() == self.keys.len()
            && labels
                .iter()
                .zip(&self.keys)
                .all(|(l, &k)| (l.is_numeric(), l.key) == k);
        if !same_keys {
            self.keys.clear();
            self.keys
                .extend(labels.iter().map(|l| (l.is_numeric(), l.key)));
            self.order.clear();
            self.order.extend(0..labels.len());
            let strings = self.strings;
            let keys = &self.keys;
            // Stable, as canonical_label_order's sort: values of one key keep their order.
            self.order.sort_by(|&a, &b| {
                let (a, b) = (keys[a], keys[b]);
                (a.0, strings.get(a.1)).cmp(&(b.0, strings.get(b.1)))
            });
        }
        if self.order.iter().enumerate().all(|(i, &at)| i == at) {
            return;
        }
        self.scratch.clear();
        self.scratch.extend(self.order.iter().map(|&at| labels[at]));
        labels.copy_from_slice(&self.scratch);
    }
}

#[inline]
pub(super) fn str_id(v: u64) -> StrId {
    StrId(v.min(u32::MAX as u64) as u32)
}

pub(super) fn value_type(mut r: Reader<'_>) -> Result<ValueType> {
    let mut vt = ValueType::default();
    while !r.is_empty() {
        let (f, _, v) = r.field()?;
        match f {
            1 => vt.ty = str_id(wire::int(v, "value_type.type")?),
            2 => vt.unit = str_id(wire::int(v, "value_type.unit")?),
            _ => {}
        }
    }
    Ok(vt)
}

pub(super) fn mapping(mut r: Reader<'_>) -> Result<Mapping> {
    let mut m = Mapping::default();
    while !r.is_empty() {
        let (f, _, v) = r.field()?;
        let x = || wire::int(v, "mapping");
        match f {
            1 => m.id = x()?,
            2 => m.memory_start = x()?,
            3 => m.memory_limit = x()?,
            4 => m.file_offset = x()?,
            5 => m.filename = str_id(x()?),
            6 => m.build_id = str_id(x()?),
            7 => m.has_functions = x()? != 0,
            8 => m.has_filenames = x()? != 0,
            9 => m.has_line_numbers = x()? != 0,
            10 => m.has_inline_frames = x()? != 0,
            _ => {}
        }
    }
    Ok(m)
}

pub(super) fn function(mut r: Reader<'_>) -> Result<Function> {
    let mut func = Function::default();
    while !r.is_empty() {
        let (f, _, v) = r.field()?;
        let x = || wire::int(v, "function");
        match f {
            1 => func.id = x()?,
            2 => func.name = str_id(x()?),
            3 => func.system_name = str_id(x()?),
            4 => func.filename = str_id(x()?),
            5 => func.start_line = x()? as i64,
            _ => {}
        }
    }
    Ok(func)
}

/// Decodes a location; its lines are gathered in `lines` (scratch space reused across
/// locations) and copied out in one allocation of the exact size.
fn location(
    r: Reader<'_>,
    mappings: &IdMap,
    functions: &IdMap,
    lines: &mut Vec<Line>,
) -> Result<Location> {
    let at = r.offset();
    let (mut loc, mapping_id) = location_with(r, lines, |function_id| {
        functions.get(function_id).ok_or_else(|| {
            Error::new(format!(
                "location at byte offset {at} has a line with function id {function_id}, which does not exist"
            ))
        })
    })?;
    // pprof leaves a location whose mapping id resolves to nothing without a mapping.
    loc.mapping = mappings.get(mapping_id).map(MappingIndex::new);
    Ok(loc)
}

/// Decodes a location, each line's function id through `function`; returns it (without
/// its mapping) and its mapping id.
pub(super) fn location_with(
    mut r: Reader<'_>,
    lines: &mut Vec<Line>,
    mut function: impl FnMut(u64) -> Result<u32>,
) -> Result<(Location, u64)> {
    lines.clear();
    let mut loc = Location::default();
    let mut mapping_id = 0;
    while !r.is_empty() {
        let (f, _, v) = r.field()?;
        match f {
            1 => loc.id = wire::int(v, "location.id")?,
            2 => mapping_id = wire::int(v, "location.mapping_id")?,
            3 => loc.address = wire::int(v, "location.address")?,
            4 => {
                let mut lr = r.nested(wire::bytes(v, "location.line")?);
                let mut function_id = 0;
                let mut line = Line::default();
                while !lr.is_empty() {
                    let (lf, _, lv) = lr.field()?;
                    match lf {
                        1 => function_id = wire::int(lv, "line.function_id")?,
                        2 => line.line = wire::int(lv, "line.line")? as i64,
                        3 => line.column = wire::int(lv, "line.column")? as i64,
                        _ => {}
                    }
                }
                line.function = function(function_id)?;
                lines.push(line);
            }
            5 => loc.is_folded = wire::int(v, "location.is_folded")? != 0,
            _ => {}
        }
    }
    loc.lines = Lines::from_slice(lines);
    Ok((loc, mapping_id))
}

fn label(mut r: Reader<'_>) -> Result<Label> {
    let mut l = Label::default();
    while !r.is_empty() {
        let (f, _, v) = r.field()?;
        let x = || wire::int(v, "label");
        match f {
            1 => l.key = str_id(x()?),
            2 => l.str = str_id(x()?),
            3 => l.num = x()? as i64,
            4 => l.num_unit = str_id(x()?),
            _ => {}
        }
    }
    Ok(l)
}

/// Splits the top level of `data` where one profile.proto message ends and another
/// begins: at each field whose number is lower than the one before it, once a string
/// table was seen. The split is used only when every part has its own string table;
/// otherwise the whole input is one message. Returns `(start, end)` byte ranges.
pub(crate) fn split_concatenated(data: &[u8]) -> Result<Vec<(usize, usize)>> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut last = 0;
    let mut has_strings = false;
    let mut r = Reader::new(data, 0);
    while !r.is_empty() {
        let at = r.offset();
        let (field, _, value) = r.field()?;
        if field < last && has_strings {
            parts.push((start, at));
            start = at;
            has_strings = false;
        }
        if field == 6 {
            if let Value::Bytes(..) = value {
                has_strings = true;
            }
        }
        last = field;
    }
    if parts.is_empty() || !has_strings {
        return Ok(vec![(0, data.len())]);
    }
    parts.push((start, data.len()));
    Ok(parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_that_are_positions_map_as_a_table_of_them_would() {
        let ids = [1u64, 2, 3, 4];
        let map = IdMap::new(ids.iter().copied(), "location").unwrap();
        assert!(map.are_positions());
        let got: Vec<_> = (0..7).map(|id| map.get(id)).collect();
        assert_eq!(got, [None, Some(0), Some(1), Some(2), Some(3), None, None]);
        assert!(IdMap::new(std::iter::empty(), "location")
            .unwrap()
            .are_positions());
        // Ids in another order, with a gap, or far apart are found through a table.
        for (ids, missing) in [(&[2u64, 1, 3][..], 4), (&[1, 2, 4], 3), (&[1, 1 << 40], 2)] {
            let map = IdMap::new(ids.iter().copied(), "location").unwrap();
            assert!(!map.are_positions(), "{ids:?}");
            for (index, &id) in ids.iter().enumerate() {
                assert_eq!(map.get(id), Some(index as u32), "{ids:?}");
            }
            assert_eq!((map.get(0), map.get(missing)), (None, None), "{ids:?}");
        }
        assert!(IdMap::new([1u64, 0].into_iter(), "location").is_err());
        assert!(IdMap::new([1u64, 2, 2].into_iter(), "location").is_err());
    }

    #[test]
    fn label_orderer_orders_each_set_as_canonical_order_does() {
        let mut strings = StringTable::new();
        let [a, b, bytes, x, y, z] = ["a", "b", "bytes", "x", "y", "z"].map(|s| strings.push(s));
        let text = |k: StrId, v: StrId| Label {
            key: k,
            str: v,
            ..Label::default()
        };
        let number = |k: StrId, n: i64| Label {
            key: k,
            num: n,
            ..Label::default()
        };
        // Sets in turn: repeating key sequences, in order or not, values of one key in
        // input order, numeric labels after string ones.
        let sets = vec![
            vec![text(b, x), text(a, y)],
            vec![text(b, z), text(a, z)],
            vec![text(a, z), text(b, y)],
            vec![text(b, y), text(a, x)],
            vec![text(b, z), text(b, x), text(a, y)],
            vec![number(bytes, 4), text(b, x)],
            vec![text(b, y), number(bytes, 4)],
            vec![number(bytes, 2), number(bytes, 1), text(a, x)],
            vec![number(bytes, 3), number(bytes, 5), text(a, y)],
            vec![text(b, x), text(a, y)],
        ];
        let mut orderer = LabelOrderer::new(&strings);
        for set in sets {
            let mut expected = set.clone();
            canonical_label_order(&mut expected, &strings);
            let mut got = set.clone();
            orderer.order(&mut got);
            assert_eq!(got, expected, "{set:?}");
        }
    }
}
