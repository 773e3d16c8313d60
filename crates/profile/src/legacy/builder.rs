//! Assembling a legacy profile: locations found by address while samples are read,
//! then numbered, tied to mappings and functions the way pprof numbers them.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use super::maps::{self, RawMapping};
use crate::model::{Function, Label, Line, Location, Mapping, MappingIndex, Profile, ValueType};
use crate::samples::Samples;
use crate::strings::StrId;

/// A legacy profile being read: its header fields and samples in a [`Profile`], and
/// its locations as bare addresses until [`Builder::finish`] numbers them.
pub(super) struct Builder {
    /// The profile under construction; its entity tables stay empty until `finish`.
    pub(super) profile: Profile,
    addresses: Vec<u64>,
    by_address: HashMap<u64, u32, BuildHasherDefault<AddressHasher>>,
    /// Source line of each location, when known: (index into `functions`, line).
    lines: Vec<Option<(u32, i64)>>,
    functions: Vec<Function>,
    functions_by_name: HashMap<String, u32>,
    /// The stack of the sample being read, as location indices, leaf first.
    pub(super) stack: Vec<u32>,
}

impl Builder {
    /// A builder for a profile with these sample types and period.
    pub(super) fn new(
        sample_types: &[(&str, &str)],
        period_type: (&str, &str),
        period: i64,
    ) -> Builder {
        let mut profile = Profile::new(sample_types.len());
        for &(ty, unit) in sample_types {
            let vt = value_type(&mut profile, ty, unit);
            profile.sample_types.push(vt);
        }
        profile.period_type = value_type(&mut profile, period_type.0, period_type.1);
        profile.period = period;
        Builder {
            profile,
            addresses: Vec::new(),
            by_address: HashMap::default(),
            lines: Vec::new(),
            functions: Vec::new(),
            functions_by_name: HashMap::new(),
            stack: Vec::new(),
        }
    }

    /// Replaces the sample types (allowed only before the first sample).
    pub(super) fn set_sample_types(&mut self, sample_types: &[(&str, &str)]) {
        let p = &mut self.profile;
        p.sample_types.clear();
        for &(ty, unit) in sample_types {
            let vt = value_type(p, ty, unit);
            p.sample_types.push(vt);
        }
        p.samples = Samples::new(sample_types.len());
    }

    /// The index of the location at `address`, created on first use.
    pub(super) fn location(&mut self, address: u64) -> u32 {
        if let Some(&i) = self.by_address.get(&address) {
            return i;
        }
        let i = self.addresses.len() as u32;
        self.addresses.push(address);
        self.lines.push(None);
        self.by_address.insert(address, i);
        i
    }

    /// The index of the location at `address`, if a sample refers to it.
    pub(super) fn find_location(&self, address: u64) -> Option<u32> {
        self.by_address.get(&address).copied()
    }

    /// Pushes `address`'s location onto the current stack.
    pub(super) fn push_frame(&mut self, address: u64) {
        let i = self.location(address);
        self.stack.push(i);
    }

    /// Appends a sample with the current stack, then clears the stack.
    pub(super) fn push_sample(&mut self, values: &[i64], labels: &[Label]) {
        self.profile.samples.push(values, &self.stack, labels);
        self.stack.clear();
    }

    /// The address of location `index`.
    pub(super) fn address(&self, index: u32) -> u64 {
        self.addresses[index as usize]
    }

    /// Gives location `index` one source line in the function named `name` (one
    /// function per name: the first file seen for a name is kept).
    pub(super) fn set_line(&mut self, index: u32, name: &str, file: &str, line: i64) {
        let f = match self.functions_by_name.get(name) {
            Some(&f) => f,
            None => {
                let f = self.functions.len() as u32;
                let name_id = self.profile.intern(name);
                let file_id = self.profile.intern(file);
                self.functions.push(Function {
                    id: 0,
                    name: name_id,
                    system_name: name_id,
                    filename: file_id,
                    start_line: 0,
                });
                self.functions_by_name.insert(name.to_string(), f);
                f
            }
        };
        self.lines[index as usize] = Some((f, line));
        self.addresses[index as usize] = 0;
    }

    /// A numeric label, as the legacy heap formats attach to samples.
    pub(super) fn num_label(&mut self, key: &str, num: i64) -> Label {
        Label {
            key: self.profile.intern(key),
            str: StrId::EMPTY,
            num,
            num_unit: StrId::EMPTY,
        }
    }

    /// Finishes the profile with these mappings, as pprof does after reading a
    /// memory map: mappings cleaned up, locations numbered in order of first use by
    /// the samples (unused ones dropped), functions in order of first use by the
    /// locations, and each location tied to the mapping holding its address (a
    /// catch-all mapping is made for addresses no mapping holds).
    pub(super) fn finish(self, mappings: Vec<RawMapping>) -> Profile {
        let Builder {
            mut profile,
            addresses,
            lines,
            functions,
            ..
        } = self;
        let mut mappings = maps::massage(mappings);

        // Locations, in order of first appearance in the samples.
        const NONE: u32 = u32::MAX;
        let mut renumber = vec![NONE; addresses.len()];
        let mut order: Vec<u32> = Vec::new();
        let max_index = addresses.len().saturating_sub(1) as u32;
        profile.samples.map_locations(max_index, |loc| {
            let slot = &mut renumber[loc as usize];
            if *slot == NONE {
                *slot = order.len() as u32;
                order.push(loc);
            }
            Some(*slot)
        });

        // Functions, in order of first appearance in the locations.
        let mut function_index = vec![NONE; functions.len()];
        let mut function_order: Vec<u32> = Vec::new();
        for &old in &order {
            if let Some((f, _)) = lines[old as usize] {
                if function_index[f as usize] == NONE {
                    function_index[f as usize] = function_order.len() as u32;
                    function_order.push(f);
                }
            }
        }
        profile.functions = function_order
            .iter()
            .enumerate()
            .map(|(i, &f)| Function {
                id: i as u64 + 1,
                ..functions[f as usize].clone()
            })
            .collect();

        // Mapping fix-ups for quirks of old profile handlers.
        if mappings.len() > 1
            && mappings[0].file.starts_with("/anon_hugepage")
            && mappings[0].limit == mappings[1].start
        {
            mappings.remove(0);
        }
        if let Some(m) = mappings.first_mut() {
            const EXPECTED_START: u64 = 0x400000;
            if m.start.wrapping_sub(m.offset) == EXPECTED_START {
                m.start = EXPECTED_START;
                m.offset = 0;
            }
        }

        let mut fake: Option<u32> = None;
        let mut locations = Vec::with_capacity(order.len());
        for (i, &old) in order.iter().enumerate() {
            let address = addresses[old as usize];
            let mapping = if address == 0 {
                None
            } else if let Some(m) = mappings
                .iter()
                .position(|m| m.start <= address && address < m.limit)
            {
                Some(m as u32)
            } else if let Some(m) = mappings.iter().position(|m| {
                m.offset != 0 && m.start.wrapping_sub(m.offset) <= address && address < m.start
            }) {
                // The first part of a mapping split in two was not written out.
                let mm = &mut mappings[m];
                mm.start = mm.start.wrapping_sub(mm.offset);
                mm.offset = 0;
                Some(m as u32)
            } else {
                Some(*fake.get_or_insert_with(|| {
                    mappings.push(RawMapping {
                        limit: u64::MAX,
                        ..RawMapping::default()
                    });
                    mappings.len() as u32 - 1
                }))
            };
            let lines = match lines[old as usize] {
                Some((f, line)) => vec![Line {
                    function: function_index[f as usize],
                    line,
                    column: 0,
                }],
                None => Vec::new(),
            };
            locations.push(Location {
                id: i as u64 + 1,
                mapping: mapping.map(MappingIndex::new),
                address,
                lines: lines.into(),
                is_folded: false,
            });
        }
        profile.locations = locations;
        profile.mappings = mappings
            .into_iter()
            .enumerate()
            .map(|(i, m)| Mapping {
                id: i as u64 + 1,
                memory_start: m.start,
                memory_limit: m.limit,
                file_offset: m.offset,
                filename: profile.strings.intern(&m.file),
                build_id: profile.strings.intern(&m.build_id),
                ..Mapping::default()
            })
            .collect();
        profile
    }
}

/// A fast hash for addresses (the map's keys come from the profile, but a collision
/// flood costs only time, as it would in pprof's own maps).
#[derive(Default)]
pub(super) struct AddressHasher(u64);

impl Hasher for AddressHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }

    fn write_u64(&mut self, v: u64) {
        // Fibonacci hashing, folded so the table's low bits see the high ones.
        let h = (self.0 ^ v).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        self.0 = h ^ (h >> 32);
    }
}

/// Interns a (type, unit) pair.
fn value_type(p: &mut Profile, ty: &str, unit: &str) -> ValueType {
    ValueType {
        ty: p.intern(ty),
        unit: p.intern(unit),
    }
}

/// Removes the second frame of every sample for which `drop(leaf, second)` holds.
pub(super) fn drop_second_frame(samples: &mut Samples, mut drop: impl FnMut(u32, u32) -> bool) {
    samples.rewrite_stacks(|_, stack, _, out| {
        match stack {
            [leaf, second, rest @ ..] if drop(*leaf, *second) => {
                out.push(*leaf);
                out.extend_from_slice(rest);
            }
            _ => out.extend_from_slice(stack),
        }
        true
    });
}

/// Drops the duplicate of the leaf frame some profile handlers record (the same
/// address, once from the signal context and once, minus one, from unwinding).
pub(super) fn drop_duplicate_leaves(p: &mut Profile) {
    let Profile {
        samples, locations, ..
    } = p;
    drop_second_frame(samples, |leaf, second| {
        locations[leaf as usize].address == locations[second as usize].address.wrapping_add(1)
    });
}
