//! The tables of a profile.proto message (everything but its samples) decoded one
//! top-level field at a time, as they arrive, for the streaming decoder.
//!
//! Locations come before the functions they refer to, so they are decoded with raw
//! function and mapping ids, resolved once every table is in. The result, and what is
//! accepted, is what [`decode`](fn@super::decode) makes of the same fields; its error
//! messages are not, since the streaming decoder hands any input it fails on to the
//! ordinary path, which words the error.

use super::decode::{function, location_with, mapping, str_id, value_type, IdMap};
use super::wire::{self, Reader};
use crate::error::{Error, Result};
use crate::model::{Line, MappingIndex, Profile};
use crate::strings::StrId;

/// The tables decoded so far; see the module documentation.
#[derive(Default)]
pub(super) struct TableFields {
    /// The profile being built, without samples; its locations hold raw ids.
    profile: Profile,
    /// Number of string table entries seen, the empty first one included.
    strings_seen: usize,
    /// Scratch space for the lines of one location.
    lines: Vec<Line>,
    /// Whether any field arrived.
    any: bool,
    /// With [`without_locations`](Self::without_locations): what is kept of the
    /// locations instead of them.
    unkept: Option<UnkeptLocations>,
}

/// What tables made [`without_locations`](TableFields::without_locations) keep of
/// the locations: enough to check them, and one location per mapping.
#[derive(Default)]
struct UnkeptLocations {
    /// The id of each location.
    ids: Vec<u64>,
    /// The raw function ids of their lines.
    functions: Vec<u32>,
    /// The raw ids of the mappings a kept location refers to. One location of each
    /// mapping, and one of no mapping, stays in the profile: symbolization reports on
    /// the mappings that locations use (a binary it cannot find, or the fake mapping a
    /// profile without mappings gets), as it would with every location.
    mappings: std::collections::HashSet<MappingIndex>,
    /// Whether a location of no mapping was kept.
    unmapped: bool,
    /// The mapping of the location before (most locations share their neighbour's),
    /// whose first location was kept already; `None` before the first location.
    last_mapping: Option<Option<MappingIndex>>,
}

/// A raw id as stored until the tables are complete.
fn raw_id(id: u64) -> Result<u32> {
    u32::try_from(id).map_err(|_| Error::new(format!("id {id} beyond 32 bits")))
}

impl TableFields {
    /// Tables that check locations (their ids, their lines' functions) without
    /// storing them, for samples whose stacks are left out.
    pub(super) fn without_locations() -> TableFields {
        TableFields {
            unkept: Some(UnkeptLocations::default()),
            ..TableFields::default()
        }
    }

    /// Whether any field arrived.
    pub(super) fn is_empty(&self) -> bool {
        !self.any
    }

    /// Decodes one complete top-level field other than a sample, key included:
    /// `data[start..end]`. The bytes of `data` after `end` are never decoded, but
    /// varints near the field's end are read a word at a time through them.
    pub(super) fn field(&mut self, data: &[u8], start: usize, end: usize) -> Result<()> {
        self.any = true;
        let mut r = Reader::span(data, 0, start, end.saturating_sub(start));
        let (number, _, value) = r.field()?;
        let p = &mut self.profile;
        match number {
            1 => {
                let vt = value_type(r.nested(wire::bytes(value, "sample_type")?))?;
                p.sample_types.push(vt);
            }
            3 => p
                .mappings
                .push(mapping(r.nested(wire::bytes(value, "mapping")?))?),
            4 => {
                let fields = r.nested(wire::bytes(value, "location")?);
                let (mut loc, mapping_id) = location_with(fields, &mut self.lines, raw_id)?;
                // The mapping's id for now (minus one, so that every id fits),
                // its index once the mappings are known.
                loc.mapping = match mapping_id {
                    0 => None,
                    id => Some(MappingIndex::new(raw_id(id)? - 1)),
                };
                match &mut self.unkept {
                    Some(unkept) => {
                        unkept.ids.push(loc.id);
                        unkept
                            .functions
                            .extend(loc.lines.iter().map(|l| l.function));
                        if unkept.last_mapping != Some(loc.mapping) {
                            unkept.last_mapping = Some(loc.mapping);
                            let first = match loc.mapping {
                                Some(m) => unkept.mappings.insert(m),
                                None => !std::mem::replace(&mut unkept.unmapped, true),
                            };
                            if first {
                                p.locations.push(loc);
                            }
                        }
                    }
                    None => p.locations.push(loc),
                }
            }
            5 => p
                .functions
                .push(function(r.nested(wire::bytes(value, "function")?))?),
            6 => {
                let (bytes, _) = wire::bytes(value, "string_table")?;
                if self.strings_seen == 0 {
                    if !bytes.is_empty() {
                        return Err(Error::new("string_table[0] must be ''"));
                    }
                } else {
                    let text = wire::text(bytes);
                    if !p.strings.has_room_for(text.len()) {
                        return Err(Error::new("string_table: more than 4 GiB of strings"));
                    }
                    p.strings.push(&text);
                }
                self.strings_seen += 1;
            }
            7 => p.drop_frames = str_id(wire::int(value, "drop_frames")?),
            8 => p.keep_frames = str_id(wire::int(value, "keep_frames")?),
            9 => p.time_nanos = wire::int(value, "time_nanos")? as i64,
            10 => p.duration_nanos = wire::int(value, "duration_nanos")? as i64,
            11 => p.period_type = value_type(r.nested(wire::bytes(value, "period_type")?))?,
            12 => p.period = wire::int(value, "period")? as i64,
            13 => {
                let comments = &mut p.comments;
                r.for_each_int(value, |v| comments.push(str_id(v)))?
            }
            14 => p.default_sample_type = str_id(wire::int(value, "default_sample_type")?),
            15 => p.doc_url = str_id(wire::int(value, "doc_url")?),
            _ => {}
        }
        Ok(())
    }

    /// Checks every reference, resolves the raw ids, and returns the profile (without
    /// samples, and without locations if so made) and how to find its locations.
    pub(super) fn finish(self) -> Result<(Profile, LocationIndex)> {
        let mut p = self.profile;
        let nstrings = p.strings.len();
        let out_of_range = |id: StrId| id.index() >= nstrings;
        let mut ids = [
            p.drop_frames,
            p.keep_frames,
            p.default_sample_type,
            p.doc_url,
        ]
        .into_iter()
        .chain(p.comments.iter().copied())
        .chain([p.period_type.ty, p.period_type.unit])
        .chain(p.sample_types.iter().flat_map(|vt| [vt.ty, vt.unit]))
        .chain(p.mappings.iter().flat_map(|m| [m.filename, m.build_id]))
        .chain(
            p.functions
                .iter()
                .flat_map(|f| [f.name, f.system_name, f.filename]),
        );
        if ids.any(out_of_range) {
            return Err(Error::new("string index out of range"));
        }
        let mapping_ids = IdMap::new(p.mappings.iter().map(|m| m.id), "mapping")?;
        let function_ids = IdMap::new(p.functions.iter().map(|f| f.id), "function")?;
        let missing_function = || Error::new("line refers to a missing function");
        for loc in &mut p.locations {
            loc.mapping = loc
                .mapping
                .and_then(|id| mapping_ids.get(id.index() as u64 + 1))
                .map(MappingIndex::new);
            for line in &mut loc.lines {
                line.function = function_ids
                    .get(line.function as u64)
                    .ok_or_else(missing_function)?;
            }
        }
        if let Some(unkept) = &self.unkept {
            if unkept
                .functions
                .iter()
                .any(|&f| function_ids.get(f as u64).is_none())
            {
                return Err(missing_function());
            }
            return Ok((p, LocationIndex::of(unkept.ids.iter().copied())?));
        }
        let index = LocationIndex::of(p.locations.iter().map(|l| l.id))?;
        Ok((p, index))
    }
}

/// How the locations of decoded tables are found by id.
pub(super) struct LocationIndex {
    /// The index of each location id ([`IdMap::are_positions`] when the ids are 1, 2,
    /// 3…, each location's position plus one).
    pub(super) ids: IdMap,
    /// Number of locations.
    pub(super) count: usize,
}

impl LocationIndex {
    fn of(ids: impl ExactSizeIterator<Item = u64> + Clone) -> Result<LocationIndex> {
        Ok(LocationIndex {
            count: ids.len(),
            ids: IdMap::new(ids, "location")?,
        })
    }
}
