//! Decoding profile.proto while it is still arriving (from an inflater on another
//! thread), without keeping the bytes of the samples.
//!
//! Samples are the bulk of a large profile and come before the tables they refer to
//! (pprof writes the string table and the locations after them), so they are decoded
//! as they arrive into the columns, with location ids not yet mapped and labels not
//! yet ordered. Every other top-level field is copied to a small side buffer and
//! decoded by [`decode`](fn@super::decode) at the end, after which location ids are mapped
//! to indices and labels put in canonical order.
//!
//! The result is exactly what [`decode`](fn@super::decode) makes of the same bytes. Any
//! input this path cannot vouch for (an error of any kind, concatenated messages,
//! location ids beyond 32 bits, samples of unequal widths) makes it give up with
//! [`Unsupported`], and the caller decodes the whole input the ordinary way, which
//! also words the error as usual.

use std::collections::HashSet;

use super::decode::LabelOrderer;
use super::tables::TableFields;
use super::wire::{self, LEN};
use crate::model::{Label, Profile};
use crate::samples::{FramePacker, Samples};
use crate::strings::StrId;

/// The streaming decoder could not decode this input; decode it whole instead.
#[derive(Debug)]
pub struct Unsupported;

/// A profile.proto message decoded as it arrives; see the module documentation.
pub struct StreamDecoder {
    /// Bytes received but not yet decoded (at most one incomplete field).
    pending: Vec<u8>,
    /// Every top-level field but the samples, decoded as they come.
    tables: TableFields,
    /// The samples so far: location *ids*, labels in input order; their frames are
    /// in `frames`.
    samples: Samples,
    /// The samples' frames, packed on a thread of their own (see [`FramePacker`]).
    frames: FramePacker,
    /// Values per sample, once a sample was seen.
    width: Option<usize>,
    /// The largest string id a label refers to.
    max_label_string: u32,
    /// The largest location id minus one the samples refer to.
    max_frame: u32,
    /// Whether any sample refers to a location (its stack kept or not).
    any_frame: bool,
    /// Number of the previous top-level field, to notice concatenated messages.
    last_field: u32,
    /// A string table entry was seen since the last restart of field numbers.
    has_strings: bool,
    /// Reused for the labels of one sample.
    labels: Vec<Label>,
    /// Reused for the values of one sample.
    values: Vec<i64>,
    /// Store the samples' labels (else only the units of numeric ones).
    keep_labels: bool,
    /// With `keep_labels`, store the numeric labels too (else only their units).
    keep_numeric_labels: bool,
    /// Store the samples' stacks (else only check their location ids).
    keep_stacks: bool,
    /// Put the labels of each sample in pprof's canonical order at the end.
    order_labels: bool,
    /// With labels left out: each numeric label's key and unit, once, in order.
    dropped_label_units: Vec<(StrId, StrId)>,
    /// The pairs of `dropped_label_units` once they are more than a few, to find them
    /// again.
    dropped_seen: HashSet<(StrId, StrId)>,
}

impl Default for StreamDecoder {
    fn default() -> Self {
        StreamDecoder::new()
    }
}

impl StreamDecoder {
    /// A decoder that has seen no bytes yet.
    pub fn new() -> StreamDecoder {
        StreamDecoder {
            pending: Vec::new(),
            tables: TableFields::default(),
            samples: Samples::new(0),
            frames: FramePacker::new(),
            width: None,
            max_label_string: 0,
            max_frame: 0,
            any_frame: false,
            last_field: 0,
            has_strings: false,
            labels: Vec::new(),
            values: Vec::new(),
            keep_labels: true,
            keep_numeric_labels: true,
            keep_stacks: true,
            order_labels: true,
            dropped_label_units: Vec::new(),
            dropped_seen: HashSet::new(),
        }
    }

    /// Records the key and unit of a numeric label left out, once per pair. Profiles
    /// have a few pairs and a label or two on each of millions of samples: the list
    /// is searched while it is short, a hash set of the pairs once it is not.
    fn note_dropped_unit(&mut self, units: (StrId, StrId)) {
        const SEARCHED: usize = 8;
        let list = &mut self.dropped_label_units;
        let seen = if list.len() <= SEARCHED {
            list.contains(&units)
        } else {
            self.dropped_seen.contains(&units)
        };
        if seen {
            return;
        }
        list.push(units);
        if list.len() == SEARCHED + 1 {
            self.dropped_seen.extend(list.iter().copied());
        } else if list.len() > SEARCHED {
            self.dropped_seen.insert(units);
        }
    }

    /// A decoder that leaves the samples' labels out, recording only the key and unit
    /// of numeric labels (see [`ParseOptions::keep_labels`](crate::ParseOptions::keep_labels)).
    pub fn without_labels() -> StreamDecoder {
        StreamDecoder {
            keep_labels: false,
            ..StreamDecoder::new()
        }
    }

    /// A decoder that keeps the samples' labels and stacks as `options` asks (see
    /// [`ParseOptions`](crate::ParseOptions)). Left-out stacks are empty; their
    /// location ids are still checked.
    pub fn with_options(options: &crate::ParseOptions) -> StreamDecoder {
        StreamDecoder {
            keep_labels: options.keep_labels,
            keep_numeric_labels: options.keep_numeric_labels,
            keep_stacks: options.keep_stacks,
            order_labels: options.order_labels,
            // No stack refers to a location: they are checked, not stored.
            tables: if options.keep_stacks {
                TableFields::default()
            } else {
                TableFields::without_locations()
            },
            ..StreamDecoder::new()
        }
    }

    /// Has the samples' frames bit-packed on a thread of their own, in batches, once
    /// they are more than one batch: for an input that inflates much faster than it
    /// decodes, whose inflating thread would otherwise wait for the decoder half of
    /// the time. Call before feeding.
    pub fn pack_frames_elsewhere(&mut self, elsewhere: bool) {
        self.frames.elsewhere(elsewhere);
    }

    /// Decodes the complete fields of `chunk` (after what came before); keeps an
    /// incomplete last field for the next call.
    pub fn feed(&mut self, mut chunk: &[u8]) -> Result<(), Unsupported> {
        // First complete the field left over from the last chunk, copying only its
        // missing bytes, so that the bulk of `chunk` is decoded where it lies.
        while !self.pending.is_empty() {
            let want = match field_extent(&self.pending)? {
                Some((_, _, header, len)) => header + len,
                // The key or length is cut off: a few more bytes.
                None => self.pending.len() + 16,
            };
            if self.pending.len() < want {
                if chunk.is_empty() {
                    return Ok(());
                }
                let take = (want - self.pending.len()).min(chunk.len());
                self.pending.extend_from_slice(&chunk[..take]);
                chunk = &chunk[take..];
                continue;
            }
            let pending = std::mem::take(&mut self.pending);
            let consumed = self.decode_fields(&pending);
            self.pending = pending;
            self.pending.drain(..consumed?);
        }
        let n = self.decode_fields(chunk)?;
        self.pending.extend_from_slice(&chunk[n..]);
        Ok(())
    }

    /// Decodes the complete top-level fields at the start of `data`; returns how many
    /// bytes they took.
    fn decode_fields(&mut self, data: &[u8]) -> Result<usize, Unsupported> {
        let mut pos = 0;
        while pos < data.len() {
            let Some((field, wire_type, header, len)) = field_extent(&data[pos..])? else {
                break;
            };
            let end = pos + header + len;
            if self.has_strings && field < self.last_field {
                // A second message follows: leave the split to the ordinary path.
                return Err(Unsupported);
            }
            self.last_field = field;
            match field {
                2 if wire_type == LEN => self.sample(data, pos + header, end)?,
                2 => return Err(Unsupported),
                _ => {
                    if field == 6 && wire_type == LEN {
                        self.has_strings = true;
                    }
                    self.tables.field(data, pos, end).map_err(|_| Unsupported)?;
                }
            }
            pos = end;
        }
        Ok(pos)
    }

    /// Decodes one sample message, `data[start..end]`, into the columns. Bytes of
    /// `data` past `end` may be read ahead but are never decoded.
    fn sample(&mut self, data: &[u8], start: usize, end: usize) -> Result<(), Unsupported> {
        self.values.clear();
        self.labels.clear();
        let mut pos = start;
        while pos < end {
            let key = read_varint(data, &mut pos, end)?;
            match key {
                // location_id, packed
                0x0a => {
                    let (a, b) = read_len(data, &mut pos, end)?;
                    let max = push_ids(data, a, b, &mut self.frames, self.keep_stacks)?;
                    self.max_frame = self.max_frame.max(max);
                    self.any_frame |= b > a;
                }
                // location_id, one
                0x08 => {
                    let id = read_varint(data, &mut pos, end)?;
                    let frame = u32::try_from(id).map_err(|_| Unsupported)?.wrapping_sub(1);
                    self.max_frame = self.max_frame.max(frame);
                    self.any_frame = true;
                    if self.keep_stacks {
                        self.frames.extend(&[frame]);
                    }
                }
                // value, packed
                0x12 => {
                    let (a, b) = read_len(data, &mut pos, end)?;
                    push_values(data, a, b, &mut self.values)?;
                }
                // value, one
                0x10 => {
                    let v = read_varint(data, &mut pos, end)?;
                    self.values.push(v as i64);
                }
                // label
                0x1a => {
                    let (a, b) = read_len(data, &mut pos, end)?;
                    let l = label(data, a, b)?;
                    self.max_label_string = self
                        .max_label_string
                        .max(l.key.0)
                        .max(l.str.0)
                        .max(l.num_unit.0);
                    if !l.str.is_empty() || l.num != 0 || !l.num_unit.is_empty() {
                        let numeric = l.str.is_empty();
                        if self.keep_labels && (self.keep_numeric_labels || !numeric) {
                            self.labels.push(l);
                        } else if numeric {
                            self.note_dropped_unit((l.key, l.num_unit));
                        }
                    }
                }
                _ => skip_unknown(data, &mut pos, end, key)?,
            }
        }
        let n = self.values.len();
        if self.width.is_none() {
            self.samples.set_width(n);
        }
        if *self.width.get_or_insert(n) != n
            || !self.samples.has_room_for_sample()
            || self.frames.len() > u32::MAX as usize
        {
            return Err(Unsupported);
        }
        self.samples
            .end_sample_at(self.frames.len(), &self.values, &self.labels);
        Ok(())
    }

    /// Decodes the tables and completes the samples.
    pub fn finish(self) -> Result<Profile, Unsupported> {
        if !self.pending.is_empty() || (self.tables.is_empty() && self.samples.is_empty()) {
            return Err(Unsupported);
        }
        let (mut p, locations) = self.tables.finish().map_err(|_| Unsupported)?;
        let mut samples = self.samples;
        samples.end_samples();
        samples.set_frames(self.frames.finish().ok_or(Unsupported)?);
        let width = p.sample_types.len();
        if !samples.is_empty() && self.width != Some(width) {
            return Err(Unsupported);
        }
        if samples.stored_len() == 0 {
            samples.set_width(width);
        }
        if self.max_label_string as usize >= p.strings.len() && !samples.is_empty() {
            return Err(Unsupported);
        }
        // Location ids to indices.
        let count = locations.count as u32;
        // The samples hold each location id minus one, which is the index when the ids
        // are positions.
        let mapped = if locations.ids.are_positions() {
            (!self.any_frame || self.max_frame < count).then_some(())
        } else if !self.keep_stacks {
            // Ids that are not positions are checked through the frames, which were
            // left out: the whole-buffer decoder checks them instead.
            None
        } else {
            samples.map_locations(count.saturating_sub(1), |frame| {
                locations.ids.get(frame.wrapping_add(1) as u64)
            })
        };
        mapped.ok_or(Unsupported)?;
        if self.order_labels {
            let strings = &p.strings;
            samples.reorder_labels(|| {
                let mut orderer = LabelOrderer::new(strings);
                move |labels: &mut [Label]| orderer.order(labels)
            });
        }
        p.samples = samples;
        p.dropped_label_units = self.dropped_label_units;
        // The tables and columns grew by doubling; what they hold now stays for the
        // life of the profile.
        p.samples.shrink_to_fit();
        p.locations.shrink_to_fit();
        p.functions.shrink_to_fit();
        p.strings.shrink_to_fit();
        Ok(p)
    }
}

/// The number, wire type, header length and payload length of the field at the start
/// of `data`; `None` when the field is not complete yet.
fn field_extent(data: &[u8]) -> Result<Option<(u32, u8, usize, usize)>, Unsupported> {
    // Every field of profile.proto has a one-byte key.
    let (key, mut pos) = match data.first() {
        Some(&b) if b < 0x80 => (b as u64, 1),
        _ => match varint(data, 0)? {
            Some(found) => found,
            None => return Ok(None),
        },
    };
    let number = key >> 3;
    if number == 0 || number > u32::MAX as u64 {
        return Err(Unsupported);
    }
    let wire_type = (key & 7) as u8;
    let len = match wire_type {
        wire::VARINT => match varint(data, pos)? {
            Some((_, end)) => end - pos,
            None => return Ok(None),
        },
        wire::FIXED64 => 8,
        wire::FIXED32 => 4,
        LEN => match varint(data, pos)? {
            Some((len, end)) => {
                pos = end;
                usize::try_from(len).map_err(|_| Unsupported)?
            }
            None => return Ok(None),
        },
        _ => return Err(Unsupported),
    };
    if data.len() - pos < len {
        return Ok(None);
    }
    Ok(Some((number as u32, wire_type, pos, len)))
}

/// The varint at `data[pos..]` and the position after it; `None` when it is cut off.
#[inline]
fn varint(data: &[u8], mut pos: usize) -> Result<Option<(u64, usize)>, Unsupported> {
    if let Some(found) = wire::varint_word(data, pos) {
        return Ok(Some(found));
    }
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let Some(&b) = data.get(pos) else {
            return Ok(None);
        };
        pos += 1;
        if shift == 63 && b > 1 {
            return Err(Unsupported);
        }
        value |= ((b & 0x7f) as u64) << shift;
        if b < 0x80 {
            return Ok(Some((value, pos)));
        }
    }
    Err(Unsupported)
}

/// Appends the packed varints of `data[pos..end]`, 32-bit location ids, as the ids
/// minus one; returns the largest of those.
#[inline]
fn push_ids(
    data: &[u8],
    mut pos: usize,
    end: usize,
    out: &mut FramePacker,
    keep: bool,
) -> Result<u32, Unsupported> {
    // Ids go through a small local buffer so that the loop keeps no vector state.
    let mut buf = [0u32; 64];
    let mut n = 0;
    let mut max = 0;
    // Every bit any id has, to find one too large for 32 bits once at the end.
    let mut bits = 0u64;
    // Room is kept for the eight ids of a word, or of two blocks of four.
    let limit = buf.len() - 8;
    #[cfg(target_arch = "x86_64")]
    let simd = super::masked_vbyte::available() && !scalar_only();
    while pos < end {
        if n > limit {
            max = buf[..n].iter().fold(max, |m, &v| m.max(v));
            if keep {
                out.extend(&buf[..n]);
            }
            n = 0;
        }
        #[cfg(target_arch = "x86_64")]
        if simd {
            // SAFETY: the processor has the instructions, checked before the loop.
            let (next, more) =
                unsafe { super::masked_vbyte::decode(data, pos, end, &mut buf, n, limit) };
            if more > n {
                // Ids of at most three bytes: none too large.
                (pos, n) = (next, more);
                continue;
            }
        }
        let got = word_varints(data, pos, end, |id| {
            bits |= id;
            buf[n] = (id as u32).wrapping_sub(1);
            n += 1;
        });
        if got > 0 {
            pos += got;
            continue;
        }
        // A varint longer than the word, or too near the end of `data`: alone.
        let id = read_varint(data, &mut pos, end)?;
        bits |= id;
        buf[n] = (id as u32).wrapping_sub(1);
        n += 1;
    }
    if bits > u32::MAX as u64 {
        return Err(Unsupported);
    }
    max = buf[..n].iter().fold(max, |m, &v| m.max(v));
    if keep {
        out.extend(&buf[..n]);
    }
    Ok(max)
}

#[cfg(test)]
thread_local! {
    /// Set by tests to decode ids without SSSE3, as on processors that lack it.
    static SCALAR_ONLY: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Whether ids are to be decoded without SSSE3 (only ever in tests).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn scalar_only() -> bool {
    #[cfg(test)]
    return SCALAR_ONLY.with(|s| s.get());
    #[cfg(not(test))]
    false
}

/// Decodes every varint that ends within the 8 bytes at `data[pos..]` and by `end`,
/// from one load, giving each to `each`; returns how many bytes they took (none when
/// fewer than 8 bytes remain or the first varint does not end in them).
///
/// Reading ids one by one, each next load waits for the length of the varint before
/// it; here a load serves the two or three ids of 18 bits that fit in a word.
#[inline(always)]
fn word_varints(data: &[u8], pos: usize, end: usize, mut each: impl FnMut(u64)) -> usize {
    let Some(word) = data.get(pos..pos + 8) else {
        return 0;
    };
    let w = u64::from_le_bytes(word.try_into().unwrap_or_default());
    // High bit clear marks the last byte of a varint; bytes past `end` are not ours.
    let mut stops = !w & 0x8080_8080_8080_8080;
    let room = end - pos;
    if room < 8 {
        stops &= (1u64 << (room * 8)) - 1;
    }
    // The payload bits of all eight bytes side by side, once for every varint in
    // them: 7-bit groups closed into 14-bit pairs, into 28-bit quads, into 56 bits.
    let mut p = w & 0x7f7f_7f7f_7f7f_7f7f;
    p = (p & 0x007f_007f_007f_007f) | ((p & 0x7f00_7f00_7f00_7f00) >> 1);
    p = (p & 0x0000_3fff_0000_3fff) | ((p & 0x3fff_0000_3fff_0000) >> 2);
    p = (p & 0x0000_0000_0fff_ffff) | ((p & 0x0fff_ffff_0000_0000) >> 4);
    // Where the varint being decoded starts, in payload bits, and where the last one
    // ended, in bytes.
    let mut from = 0;
    let mut bytes = 0;
    while stops != 0 {
        // Just past its last byte, in bits of the word and in payload bits.
        let to_bit = stops.trailing_zeros() + 1;
        let to = to_bit - to_bit / 8;
        each((p & (u64::MAX >> (64 - to))) >> from);
        from = to;
        bytes = to_bit / 8;
        stops &= stops - 1;
    }
    bytes as usize
}

/// Appends the packed varints of `data[pos..end]` as values.
#[inline]
fn push_values(
    data: &[u8],
    mut pos: usize,
    end: usize,
    out: &mut Vec<i64>,
) -> Result<(), Unsupported> {
    while pos < end {
        let v = read_varint(data, &mut pos, end)?;
        out.push(v as i64);
    }
    Ok(())
}

/// Decodes the label message `data[pos..end]`.
fn label(data: &[u8], mut pos: usize, end: usize) -> Result<Label, Unsupported> {
    let mut l = Label::default();
    let id = |v: u64| StrId(v.min(u32::MAX as u64) as u32);
    while pos < end {
        let key = read_varint(data, &mut pos, end)?;
        match key {
            0x08 => l.key = id(read_varint(data, &mut pos, end)?),
            0x10 => l.str = id(read_varint(data, &mut pos, end)?),
            0x18 => l.num = read_varint(data, &mut pos, end)? as i64,
            0x20 => l.num_unit = id(read_varint(data, &mut pos, end)?),
            _ => skip_unknown(data, &mut pos, end, key)?,
        }
    }
    Ok(l)
}

/// Reads a varint at `*pos` that must end by `end`, moving past it.
#[inline(always)]
fn read_varint(data: &[u8], pos: &mut usize, end: usize) -> Result<u64, Unsupported> {
    let at = *pos;
    if at < end {
        if let Some(&b) = data.get(at) {
            if b < 0x80 {
                *pos = at + 1;
                return Ok(b as u64);
            }
        }
    }
    if let Some((v, next)) = wire::varint_word(data, at) {
        if next > end {
            return Err(Unsupported);
        }
        *pos = next;
        return Ok(v);
    }
    let (v, next) = varint(data.get(..end).ok_or(Unsupported)?, at)?.ok_or(Unsupported)?;
    *pos = next;
    Ok(v)
}

/// Reads the length of a length-delimited payload at `*pos` (after its key), moving
/// past the payload; returns where the payload starts and ends.
#[inline(always)]
fn read_len(data: &[u8], pos: &mut usize, end: usize) -> Result<(usize, usize), Unsupported> {
    let len = read_varint(data, pos, end)?;
    let start = *pos;
    let stop = usize::try_from(len)
        .ok()
        .and_then(|l| start.checked_add(l))
        .filter(|&e| e <= end)
        .ok_or(Unsupported)?;
    *pos = stop;
    Ok((start, stop))
}

/// Skips a field of a number the caller does not read. Known fields in an unusual
/// encoding (which the ordinary path may still accept) give up instead.
fn skip_unknown(data: &[u8], pos: &mut usize, end: usize, key: u64) -> Result<(), Unsupported> {
    let number = key >> 3;
    if number <= 4 || number > u32::MAX as u64 {
        return Err(Unsupported);
    }
    match (key & 7) as u8 {
        wire::VARINT => read_varint(data, pos, end).map(drop),
        LEN => read_len(data, pos, end).map(drop),
        wire::FIXED64 | wire::FIXED32 => {
            let n = if key & 7 == 1 { 8 } else { 4 };
            if end.saturating_sub(*pos) < n {
                return Err(Unsupported);
            }
            *pos += n;
            Ok(())
        }
        _ => Err(Unsupported),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::decode;

    /// A real heap profile with labels, inflated.
    fn sample_profile() -> Vec<u8> {
        let gz = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../testdata/conformance/pprof-goldens/inputs/heap_sizetags.pb.gz"
        ))
        .expect("test profile");
        crate::gunzip(&gz, u64::MAX).expect("gunzip")
    }

    /// Runs `test` with ids decoded the fastest way the processor allows, then without
    /// SSSE3.
    fn with_and_without_simd(test: impl Fn()) {
        for scalar in [false, true] {
            SCALAR_ONLY.with(|s| s.set(scalar));
            test();
        }
        SCALAR_ONLY.with(|s| s.set(false));
    }

    #[test]
    fn packed_location_ids_of_every_length_read_back_up_to_the_field_end() {
        with_and_without_simd(packed_location_ids_read_back);
    }

    fn packed_location_ids_read_back() {
        // Ids of one to five bytes, in runs that cross words every way; past the
        // field's end, bytes that would read as more ids.
        let ids: Vec<u64> = (0..600u64)
            .map(|i| match i % 7 {
                0 => 1 + i % 127,
                1 => 128 + i,
                2 => 16_384 + i * 3,
                3 => 2_097_152 + i * 101,
                4 => 268_435_456 + i * 7_777,
                5 => u32::MAX as u64,
                _ => 1 + (i * 2_654_435_761) % 200_000,
            })
            .collect();
        let mut field = Vec::new();
        for &id in &ids {
            varint(id, &mut field);
        }
        for cut in [0, 1, 2, 3, 5, 8, 13, field.len() - 1, field.len()] {
            // The field ends `cut` bytes early (at a varint's end or inside one).
            let end = field.len() - cut;
            let mut data = field[..end].to_vec();
            data.extend_from_slice(&[0x05; 12]);
            let mut frames = FramePacker::new();
            let got = push_ids(&data, 0, end, &mut frames, true);
            let mut pos = 0;
            let mut expected = Vec::new();
            let mut whole = true;
            while pos < end {
                match super::varint(&data[..end], pos) {
                    Ok(Some((id, next))) => {
                        expected.push((id as u32).wrapping_sub(1));
                        pos = next;
                    }
                    _ => {
                        whole = false;
                        break;
                    }
                }
            }
            if !whole {
                assert!(got.is_err(), "a varint cut at {end} bytes");
                continue;
            }
            let max = got.expect("ids");
            assert_eq!(max, expected.iter().copied().max().unwrap_or(0));
            let mut samples = Samples::new(1);
            samples.end_sample_at(frames.len(), &[1], &[]);
            samples.end_samples();
            samples.set_frames(frames.finish().expect("packed"));
            assert_eq!(samples.locations(0).to_vec(), expected, "cut {cut}");
        }
        // An id beyond 32 bits is not a location id.
        let mut wide = Vec::new();
        varint(1 << 33, &mut wide);
        varint(5, &mut wide);
        wide.extend_from_slice(&[0; 8]);
        let end = wide.len() - 8;
        assert!(push_ids(&wide, 0, end, &mut FramePacker::new(), true).is_err());
    }

    #[test]
    fn streamed_decode_equals_whole_decode_at_every_chunk_size() {
        with_and_without_simd(streamed_decode_equals_whole_decode);
    }

    fn streamed_decode_equals_whole_decode() {
        let bytes = sample_profile();
        let whole = decode(&bytes).expect("decode");
        for chunk in [1usize, 7, 64, 4096, bytes.len()] {
            let mut d = StreamDecoder::new();
            for c in bytes.chunks(chunk) {
                d.feed(c).expect("feed");
            }
            let p = d.finish().expect("finish");
            assert_eq!(p.samples, whole.samples, "chunk {chunk}");
            assert_eq!(p.strings, whole.strings);
            assert_eq!(p.locations, whole.locations);
            assert_eq!(p.functions, whole.functions);
            assert_eq!(p.mappings, whole.mappings);
            assert_eq!(p.sample_types, whole.sample_types);
            assert_eq!(p.comments, whole.comments);
            assert_eq!(
                (p.period_type, p.period, p.time_nanos, p.duration_nanos),
                (
                    whole.period_type,
                    whole.period,
                    whole.time_nanos,
                    whole.duration_nanos
                )
            );
            assert!(p.samples.iter().any(|s| !s.labels.is_empty()));
        }
    }

    /// Streams `bytes` in 1000-byte chunks.
    fn stream(bytes: &[u8]) -> Result<Profile, Unsupported> {
        let mut d = StreamDecoder::new();
        for c in bytes.chunks(1000) {
            d.feed(c)?;
        }
        d.finish()
    }

    #[test]
    fn ids_that_are_not_positions_are_resolved_like_the_whole_decode() {
        let mut p = decode(&sample_profile()).expect("decode");
        let n = p.locations.len() as u64;
        for (i, l) in p.locations.iter_mut().enumerate() {
            l.id = (n - i as u64) * 10 + 3;
        }
        for (i, f) in p.functions.iter_mut().enumerate() {
            f.id = 1000 + 7 * i as u64;
        }
        for (i, m) in p.mappings.iter_mut().enumerate() {
            m.id = 50 - i as u64;
        }
        let bytes = crate::proto::encode(&p);
        let whole = decode(&bytes).expect("decode");
        let streamed = stream(&bytes).expect("stream");
        assert_eq!(streamed.samples, whole.samples);
        assert_eq!(streamed.locations, whole.locations);
        assert_eq!(streamed.functions, whole.functions);
        assert_eq!(streamed.mappings, whole.mappings);
    }

    #[test]
    fn invalid_tables_are_left_to_the_ordinary_path() {
        let good = decode(&sample_profile()).expect("decode");
        let mut dup = good.clone();
        let id = dup.functions[0].id;
        dup.functions[1].id = id;
        let mut zero = good.clone();
        zero.locations[0].id = 0;
        let mut cases: Vec<Vec<u8>> = [dup, zero].iter().map(crate::proto::encode).collect();
        // drop_frames (field 7) naming a string past the end of the table.
        let mut bad_string = crate::proto::encode(&good);
        bad_string.extend_from_slice(&[0x38, 0x80, 0x80, 0x40]);
        cases.push(bad_string);
        // One more location (its id its position) whose line names function 12345,
        // which does not exist.
        let mut line = vec![0x08];
        varint(12345, &mut line);
        let mut location = vec![0x08];
        varint(good.locations.len() as u64 + 1, &mut location);
        location.push(0x22);
        varint(line.len() as u64, &mut location);
        location.extend_from_slice(&line);
        let mut positions = good.clone();
        for (i, l) in positions.locations.iter_mut().enumerate() {
            l.id = i as u64 + 1;
        }
        assert!(stream_without_stacks(&crate::proto::encode(&positions)).is_ok());
        let encoded = crate::proto::encode(&positions);
        // After the last location: before the first top-level field past 4.
        let mut at = 0;
        while let Ok(Some((field, _, header, len))) = field_extent(&encoded[at..]) {
            if field > 4 {
                break;
            }
            at += header + len;
        }
        let mut missing_function = encoded[..at].to_vec();
        missing_function.push(0x22);
        varint(location.len() as u64, &mut missing_function);
        missing_function.extend_from_slice(&location);
        missing_function.extend_from_slice(&encoded[at..]);
        cases.push(missing_function);
        for bytes in cases {
            assert!(decode(&bytes).is_err());
            assert!(stream(&bytes).is_err());
            assert!(stream_without_stacks(&bytes).is_err());
        }
    }

    #[test]
    fn a_decoder_without_labels_keeps_everything_else_and_the_label_units() {
        let bytes = sample_profile();
        let whole = decode(&bytes).expect("decode");
        let mut d = StreamDecoder::without_labels();
        d.feed(&bytes).expect("feed");
        let p = d.finish().expect("finish");
        assert_eq!(p.samples.len(), whole.samples.len());
        for i in 0..p.samples.len() {
            assert!(p.samples.labels(i).is_empty());
            assert_eq!(p.samples.values(i), whole.samples.values(i));
            assert_eq!(p.samples.locations(i), whole.samples.locations(i));
        }
        assert!(!p.dropped_label_units.is_empty());
        assert_eq!(p.num_label_units(), whole.num_label_units());
    }

    #[test]
    fn a_decoder_without_numeric_labels_keeps_the_string_ones_and_every_unit() {
        // Samples with string labels and numeric ones, in two units for one key.
        let mut p = crate::Profile::new(1);
        let (ty, unit) = (p.intern("alloc_space"), p.intern("bytes"));
        p.sample_types.push(crate::ValueType { ty, unit });
        let handler = p.intern("handler");
        let bytes = p.intern("bytes");
        let kib = p.intern("kilobytes");
        let paths = [p.intern("/a"), p.intern("/b")];
        for i in 0..40i64 {
            let mut labels = vec![Label {
                key: handler,
                str: paths[(i % 2) as usize],
                ..Label::default()
            }];
            if i % 3 != 0 {
                labels.push(Label {
                    key: bytes,
                    num: i * 8,
                    num_unit: if i % 5 == 0 { kib } else { unit },
                    ..Label::default()
                });
            }
            p.samples.push(&[i + 1], &[], &labels);
        }
        let encoded = crate::proto::encode(&p);
        let whole = decode(&encoded).expect("decode");
        let mut d = StreamDecoder::with_options(&crate::ParseOptions {
            keep_numeric_labels: false,
            ..crate::ParseOptions::default()
        });
        d.feed(&encoded).expect("feed");
        let q = d.finish().expect("finish");
        assert_eq!(q.samples.len(), whole.samples.len());
        let mut dropped = 0;
        for i in 0..q.samples.len() {
            let strings: Vec<Label> = whole
                .samples
                .labels(i)
                .iter()
                .filter(|l| !l.is_numeric())
                .copied()
                .collect();
            dropped += whole.samples.labels(i).len() - strings.len();
            assert_eq!(q.samples.labels(i), &strings[..], "sample {i}");
            assert_eq!(q.samples.values(i), whole.samples.values(i));
        }
        assert!(dropped > 0);
        // The units of the numeric labels left out, and pprof's warning about the second.
        assert_eq!(q.num_label_units(), whole.num_label_units());
        assert!(!q.num_label_units().1.is_empty());
    }

    #[test]
    fn labels_left_unordered_keep_the_order_of_the_input() {
        let mut p = crate::Profile::new(1);
        let (ty, unit) = (p.intern("alloc_space"), p.intern("bytes"));
        p.sample_types.push(crate::ValueType { ty, unit });
        let (zone, app, size) = (p.intern("zone"), p.intern("app"), p.intern("size"));
        let (b, x) = (p.intern("b"), p.intern("x"));
        // A numeric label first, then string labels out of the order of their keys.
        let labels = [
            Label {
                key: size,
                num: 8,
                num_unit: unit,
                ..Label::default()
            },
            Label {
                key: zone,
                str: b,
                ..Label::default()
            },
            Label {
                key: app,
                str: x,
                ..Label::default()
            },
        ];
        p.samples.push(&[1], &[], &labels);
        let encoded = crate::proto::encode(&p);
        let decoded = |order_labels| {
            let mut d = StreamDecoder::with_options(&crate::ParseOptions {
                order_labels,
                ..crate::ParseOptions::default()
            });
            d.feed(&encoded).expect("feed");
            d.finish().expect("finish")
        };
        let (unordered, ordered) = (decoded(false), decoded(true));
        assert_eq!(unordered.samples.labels(0), &labels[..]);
        let canonical = [labels[2], labels[1], labels[0]];
        assert_eq!(ordered.samples.labels(0), &canonical[..]);
        assert_eq!(
            ordered.samples.labels(0),
            decode(&encoded).unwrap().samples.labels(0)
        );
    }

    #[test]
    fn label_units_left_out_are_recorded_once_among_many_keys() {
        // Twenty numeric keys, each in two units, repeated over the samples: more
        // pairs than the decoder searches in its list.
        let mut p = crate::Profile::new(1);
        let (ty, unit) = (p.intern("samples"), p.intern("count"));
        p.sample_types.push(crate::ValueType { ty, unit });
        let keys: Vec<StrId> = (0..20).map(|k| p.intern(&format!("key{k}"))).collect();
        let units = [p.intern("bytes"), p.intern("seconds")];
        for i in 0..200i64 {
            let labels: Vec<Label> = (0..3)
                .map(|j| Label {
                    key: keys[((i + j * 7) % 20) as usize],
                    num: i,
                    num_unit: units[((i / 20 + j) % 2) as usize],
                    ..Label::default()
                })
                .collect();
            p.samples.push(&[1], &[], &labels);
        }
        let encoded = crate::proto::encode(&p);
        let whole = decode(&encoded).expect("decode");
        let mut d = StreamDecoder::without_labels();
        d.feed(&encoded).expect("feed");
        let q = d.finish().expect("finish");
        let mut pairs = q.dropped_label_units.clone();
        assert_eq!(pairs.len(), 40, "each key and unit once");
        pairs.sort();
        pairs.dedup();
        assert_eq!(pairs.len(), 40);
        assert_eq!(q.num_label_units(), whole.num_label_units());
    }

    /// Streams `bytes` keeping everything but the samples' stacks.
    fn stream_without_stacks(bytes: &[u8]) -> Result<Profile, Unsupported> {
        let mut d = StreamDecoder::with_options(&crate::ParseOptions {
            keep_stacks: false,
            ..crate::ParseOptions::default()
        });
        d.feed(bytes)?;
        d.finish()
    }

    fn varint(mut v: u64, out: &mut Vec<u8>) {
        while v >= 0x80 {
            out.push(v as u8 | 0x80);
            v >>= 7;
        }
        out.push(v as u8);
    }

    #[test]
    fn a_decoder_without_stacks_keeps_a_location_of_no_mapping_too() {
        // Locations of no mapping among mapped ones: a profile without mappings gets
        // a fake one, which symbolization reports on as on any mapping locations use.
        let mut whole = decode(&sample_profile()).expect("decode");
        for (i, l) in whole.locations.iter_mut().enumerate() {
            l.id = i as u64 + 1;
            if i % 3 != 1 {
                l.mapping = None;
            }
        }
        let p = stream_without_stacks(&crate::proto::encode(&whole)).expect("stream");
        let unmapped: Vec<&crate::Location> =
            p.locations.iter().filter(|l| l.mapping.is_none()).collect();
        assert_eq!(unmapped, [&whole.locations[0]]);
        assert_eq!(p.locations[0], whole.locations[0]);
        assert!(p.locations.iter().any(|l| l.mapping.is_some()));

        // Without any mapping at all.
        whole.mappings.clear();
        for l in &mut whole.locations {
            l.mapping = None;
        }
        let p = stream_without_stacks(&crate::proto::encode(&whole)).expect("stream");
        assert_eq!(p.locations, [whole.locations[0].clone()]);
    }

    #[test]
    fn a_decoder_without_stacks_keeps_values_and_labels_and_checks_location_ids() {
        // Location ids that are their positions, as pprof writes them.
        let mut whole = decode(&sample_profile()).expect("decode");
        for (i, l) in whole.locations.iter_mut().enumerate() {
            l.id = i as u64 + 1;
        }
        let bytes = crate::proto::encode(&whole);
        let p = stream_without_stacks(&bytes).expect("stream");
        assert_eq!(p.samples.len(), whole.samples.len());
        assert_eq!(p.samples.frame_count(), 0);
        for i in 0..p.samples.len() {
            assert!(p.samples.locations(i).is_empty());
            assert_eq!(p.samples.values(i), whole.samples.values(i));
            assert_eq!(p.samples.labels(i), whole.samples.labels(i));
        }
        // Nothing refers to the locations: they were checked, and only the first
        // location of each mapping, and of no mapping, kept (symbolization reports on
        // the mappings locations use).
        let mut mappings: Vec<Option<crate::MappingIndex>> = Vec::new();
        for l in &whole.locations {
            if !mappings.contains(&l.mapping) {
                mappings.push(l.mapping);
            }
        }
        let kept: Vec<Option<crate::MappingIndex>> =
            p.locations.iter().map(|l| l.mapping).collect();
        assert_eq!(kept, mappings);
        assert!(p.locations.len() < whole.locations.len());
        for l in &p.locations {
            assert!(whole.locations.contains(l));
        }
        assert_eq!(p.functions, whole.functions);

        // A sample naming a location past the table, packed and unpacked.
        let width = whole.sample_types.len() as u64;
        let missing = whole.locations.len() as u64 + 5;
        for packed in [true, false] {
            let mut sample = Vec::new();
            if packed {
                sample.push(0x0a);
                let mut ids = Vec::new();
                varint(1, &mut ids);
                varint(missing, &mut ids);
                varint(ids.len() as u64, &mut sample);
                sample.extend_from_slice(&ids);
            } else {
                sample.push(0x08);
                varint(missing, &mut sample);
            }
            for _ in 0..width {
                sample.push(0x10);
                varint(1, &mut sample);
            }
            // First, before the tables, as pprof places samples (after them, the
            // decoder would take it for a second message and give up regardless).
            let mut bad = vec![0x12];
            varint(sample.len() as u64, &mut bad);
            bad.extend_from_slice(&sample);
            bad.extend_from_slice(&bytes);
            assert!(decode(&bad).is_err());
            assert!(stream_without_stacks(&bad).is_err(), "packed {packed}");
        }

        // Ids that are not positions are left to the whole-buffer decoder.
        let mut renumbered = whole.clone();
        for l in &mut renumbered.locations {
            l.id += 100;
        }
        let bytes = crate::proto::encode(&renumbered);
        assert!(stream(&bytes).is_ok());
        assert!(stream_without_stacks(&bytes).is_err());
    }

    #[test]
    fn truncated_input_is_left_to_the_ordinary_path() {
        let bytes = sample_profile();
        let mut d = StreamDecoder::new();
        d.feed(&bytes[..bytes.len() - 3]).expect("feed");
        assert!(d.finish().is_err());
    }
}
