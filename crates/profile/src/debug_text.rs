//! The debugging dump of a profile, byte for byte as pprof's `Profile.String()` (which
//! `pprof -raw` prints).

use std::fmt::Write;

use crate::model::{Label, Location, Mapping, Profile};

impl Profile {
    /// The profile as text, exactly as pprof's `Profile.String()` writes it: header
    /// fields, sample types, one line per sample (values, location ids, then labels),
    /// the locations with their lines, and the mappings.
    ///
    /// Times are printed in UTC. The `PeriodType:` line is always printed (this model
    /// does not tell an absent period type from an empty one).
    pub fn debug_string(&self) -> String {
        let mut text = Vec::new();
        // Writing into a Vec cannot fail.
        let _ = self.write_debug_text(&mut text);
        String::from_utf8(text)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
    }

    /// Writes [`Profile::debug_string`]'s text to `w` piece by piece, so a profile of
    /// any size is dumped in bounded memory.
    pub fn write_debug_text(&self, w: &mut dyn std::io::Write) -> std::io::Result<()> {
        let threads = crate::parallel::cores();
        self.write_debug_text_on(w, threads)
    }

    /// [`write_debug_text`](Self::write_debug_text), formatting samples on `threads`
    /// threads.
    fn write_debug_text_on(
        &self,
        w: &mut dyn std::io::Write,
        threads: usize,
    ) -> std::io::Result<()> {
        let mut out = String::new();
        for &c in &self.comments {
            let _ = writeln!(out, "Comment: {}", self.str(c));
        }
        if !self.doc_url.is_empty() {
            let _ = writeln!(out, "Doc: {}", self.str(self.doc_url));
        }
        let _ = writeln!(
            out,
            "PeriodType: {} {}",
            self.str(self.period_type.ty),
            self.str(self.period_type.unit)
        );
        let _ = writeln!(out, "Period: {}", self.period);
        if self.time_nanos != 0 {
            let _ = writeln!(out, "Time: {}", utc_time(self.time_nanos));
        }
        if self.duration_nanos != 0 {
            let d: String = go_duration(self.duration_nanos).chars().take(4).collect();
            let _ = writeln!(out, "Duration: {d}");
        }

        out.push_str("Samples:\n");
        let mut types = String::new();
        for st in &self.sample_types {
            let ty = self.str(st.ty);
            let default = if ty == self.str(self.default_sample_type) {
                "[dflt]"
            } else {
                ""
            };
            let _ = write!(types, "{}/{}{} ", ty, self.str(st.unit), default);
        }
        out.push_str(types.trim());
        out.push('\n');

        // Each location's id as printed in a stack, made once: stacks repeat them
        // millions of times.
        let ids = LocationIds::of_locations(&self.locations);
        w.write_all(out.as_bytes())?;
        out.clear();

        // Samples, then locations, formatted in blocks on every thread as one run of
        // blocks, so no thread waits between the two.
        // About what a sample's line takes: its values, a location id per frame and its
        // labels (a location's lines take about 150 bytes).
        let frames_per_sample = self.samples.frame_count() / self.samples.len().max(1);
        let sample_bytes = 11 * self.width() + 8 * frames_per_sample + 32;
        let sample_blocks = Blocks::of(self.samples.len(), threads, sample_bytes);
        let location_blocks = Blocks::of(self.locations.len(), threads, 150);
        write_in_blocks(
            w,
            sample_blocks.count + location_blocks.count,
            threads,
            &|b, out| {
                if b < sample_blocks.count {
                    self.format_samples(sample_blocks.range(b), &ids, out);
                    return;
                }
                let b = b - sample_blocks.count;
                if b == 0 {
                    out.extend_from_slice(b"Locations\n");
                }
                for loc in &self.locations[location_blocks.range(b)] {
                    self.write_location(out, loc);
                }
            },
        )?;
        if location_blocks.count == 0 {
            out.push_str("Locations\n");
        }
        out.push_str("Mappings\n");
        for m in &self.mappings {
            self.write_mapping(&mut out, m);
        }
        w.write_all(out.as_bytes())
    }

    /// Appends the lines of samples `range` to `out`.
    fn format_samples(&self, range: std::ops::Range<usize>, ids: &LocationIds, out: &mut Vec<u8>) {
        let mut entries = LabelEntries::default();
        let mut number = itoa::Buffer::new();
        let mut frames = Vec::new();
        for i in range {
            let s = self.samples.get(i);
            for v in s.values {
                let text = number.format(v);
                // Right-aligned in 10 columns, after a space.
                out.resize(out.len() + 1 + 10usize.saturating_sub(text.len()), b' ');
                out.extend_from_slice(text.as_bytes());
            }
            out.extend_from_slice(b": ");
            s.locations.unpack(&mut frames);
            ids.push_all(&frames, out);
            out.push(b'\n');
            let (strs, nums) = s
                .labels
                .split_at(s.labels.partition_point(|l| !l.is_numeric()));
            for (labels, numeric) in [(strs, false), (nums, true)] {
                if labels.is_empty() {
                    continue;
                }
                self.label_entries(labels, numeric, &mut entries);
                out.extend_from_slice(b"                ");
                entries.append_sorted(out);
                out.push(b'\n');
            }
        }
    }

    /// One `key:[values]` entry per key of `labels` (all string or all numeric labels
    /// of a sample, grouped by key).
    fn label_entries(&self, labels: &[Label], numeric: bool, out: &mut LabelEntries) {
        out.text.clear();
        out.ends.clear();
        let e = &mut out.text;
        let mut number = itoa::Buffer::new();
        let mut rest = labels;
        while let Some(first) = rest.first() {
            let n = rest.iter().take_while(|l| l.key == first.key).count();
            let (group, tail) = rest.split_at(n);
            rest = tail;
            e.extend_from_slice(self.str(first.key).as_bytes());
            e.extend_from_slice(b":[");
            let with_units = numeric && group.iter().any(|l| !l.num_unit.is_empty());
            for (i, l) in group.iter().enumerate() {
                if i > 0 {
                    e.push(b' ');
                }
                if !numeric {
                    e.extend_from_slice(self.str(l.str).as_bytes());
                } else {
                    e.extend_from_slice(number.format(l.num).as_bytes());
                    if with_units {
                        e.push(b' ');
                        e.extend_from_slice(self.str(l.num_unit).as_bytes());
                    }
                }
            }
            e.push(b']');
            out.ends.push(e.len());
        }
    }

    /// Appends a location's lines (`    id: 0xaddr M=n name file:line:col s=start`),
    /// without the formatting machinery: locations are most of a large dump.
    fn write_location(&self, out: &mut Vec<u8>, loc: &Location) {
        let mut number = itoa::Buffer::new();
        let id = number.format(loc.id);
        // Right-aligned in 6 columns.
        out.resize(out.len() + 6usize.saturating_sub(id.len()), b' ');
        out.extend_from_slice(id.as_bytes());
        out.extend_from_slice(b": ");
        push_hex(out, loc.address);
        out.push(b' ');
        if let Some(m) = loc.mapping.and_then(|m| self.mappings.get(m.index())) {
            out.extend_from_slice(b"M=");
            out.extend_from_slice(number.format(m.id).as_bytes());
            out.push(b' ');
        }
        if loc.is_folded {
            out.extend_from_slice(b"[F] ");
        }
        if loc.lines.is_empty() {
            out.push(b'\n');
        }
        // The head goes on the first line; the others are indented.
        for (i, line) in loc.lines.iter().enumerate() {
            if i > 0 {
                out.extend_from_slice(b"             ");
            }
            match self.functions.get(line.function as usize) {
                Some(f) => {
                    let name = self.str(f.name);
                    let system_name = self.str(f.system_name);
                    out.extend_from_slice(name.as_bytes());
                    out.push(b' ');
                    out.extend_from_slice(self.str(f.filename).as_bytes());
                    out.push(b':');
                    out.extend_from_slice(number.format(line.line).as_bytes());
                    out.push(b':');
                    out.extend_from_slice(number.format(line.column).as_bytes());
                    out.extend_from_slice(b" s=");
                    out.extend_from_slice(number.format(f.start_line).as_bytes());
                    if name != system_name {
                        out.push(b'(');
                        out.extend_from_slice(system_name.as_bytes());
                        out.push(b')');
                    }
                }
                None => out.extend_from_slice(b"??"),
            }
            out.push(b'\n');
        }
    }

    fn write_mapping(&self, out: &mut String, m: &Mapping) {
        let mut bits = String::new();
        for (has, tag) in [
            (m.has_functions, "[FN]"),
            (m.has_filenames, "[FL]"),
            (m.has_line_numbers, "[LN]"),
            (m.has_inline_frames, "[IN]"),
        ] {
            if has {
                bits.push_str(tag);
            }
        }
        let _ = writeln!(
            out,
            "{}: {:#x}/{:#x}/{:#x} {} {} {}",
            m.id,
            m.memory_start,
            m.memory_limit,
            m.file_offset,
            self.str(m.filename),
            self.str(m.build_id),
            bits
        );
    }
}

/// Appends `v` as `{:#x}` writes it: `0x` and lowercase hex digits, `0x0` for zero.
fn push_hex(out: &mut Vec<u8>, v: u64) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut buf = [0u8; 16];
    let mut i = buf.len();
    let mut v = v;
    loop {
        i -= 1;
        buf[i] = DIGITS[(v & 0xf) as usize];
        v >>= 4;
        if v == 0 {
            break;
        }
    }
    out.extend_from_slice(b"0x");
    out.extend_from_slice(&buf[i..]);
}

/// A duration as Go's `time.Duration.String()` writes it: `1h2m3.5s`, `1.5ms`, `0s`.
pub(crate) fn go_duration(nanos: i64) -> String {
    let negative = nanos < 0;
    let u = nanos.unsigned_abs();
    let mut s = String::new();
    if negative {
        s.push('-');
    }
    if u == 0 {
        return "0s".to_string();
    }
    if u < 1_000_000_000 {
        let (precision, unit) = match u {
            0..1_000 => (0, "ns"),
            1_000..1_000_000 => (3, "µs"),
            _ => (6, "ms"),
        };
        push_decimal(&mut s, u, precision);
        s.push_str(unit);
        return s;
    }
    let seconds = u / 1_000_000_000;
    let minutes = seconds / 60;
    let hours = minutes / 60;
    if hours > 0 {
        let _ = write!(s, "{hours}h");
    }
    if minutes > 0 {
        let _ = write!(s, "{}m", minutes % 60);
    }
    push_decimal(
        &mut s,
        (seconds % 60) * 1_000_000_000 + u % 1_000_000_000,
        9,
    );
    s.push('s');
    s
}

/// Writes `v / 10^precision` with its fraction, trailing zeros (and a bare point)
/// omitted.
fn push_decimal(s: &mut String, v: u64, precision: u32) {
    let scale = 10u64.pow(precision);
    let _ = write!(s, "{}", v / scale);
    let frac = v % scale;
    if frac != 0 {
        let digits = format!("{:0width$}", frac, width = precision as usize);
        s.push('.');
        s.push_str(digits.trim_end_matches('0'));
    }
}

/// A time as Go's `time.Time.String()` writes it in UTC:
/// `2006-01-02 15:04:05.999999999 +0000 UTC`.
pub(crate) fn utc_time(nanos: i64) -> String {
    let seconds = nanos.div_euclid(1_000_000_000);
    let frac = nanos.rem_euclid(1_000_000_000);
    let days = seconds.div_euclid(86_400);
    let secs_of_day = seconds.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    let mut s = format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        year,
        month,
        day,
        secs_of_day / 3600,
        secs_of_day / 60 % 60,
        secs_of_day % 60
    );
    if frac != 0 {
        let digits = format!("{frac:09}");
        s.push('.');
        s.push_str(digits.trim_end_matches('0'));
    }
    s.push_str(" +0000 UTC");
    s
}

/// The proleptic Gregorian (year, month, day) of a day count since 1970-01-01.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// How a run of items is cut into blocks for [`write_in_blocks`]: small enough that
/// every thread gets several (and reuses its buffers) and that the text in flight stays
/// small, large enough that handing blocks over costs little.
#[derive(Clone, Copy)]
struct Blocks {
    items: usize,
    size: usize,
    count: usize,
}

/// About how many bytes of text a block holds at most: each thread fills two buffers
/// in turn, so the text in flight stays near half a megabyte however large the profile
/// (it was up to 4,096 samples a block, 5 MB or more of buffers on bench-s; blocks of
/// 256 KiB held 0.5 MB more at the peak of `-raw` on bench-s, in the same time).
const BLOCK_BYTES: usize = 128 << 10;

impl Blocks {
    /// Blocks of `items` items of about `item_bytes` bytes of text each, for `threads`
    /// threads: at least eight per thread, of at most [`BLOCK_BYTES`] of text and
    /// 4,096 items, and at least 16 items.
    fn of(items: usize, threads: usize, item_bytes: usize) -> Blocks {
        let most = (BLOCK_BYTES / item_bytes.max(1)).clamp(16, 4096);
        let size = items.div_ceil(threads.max(1) * 8).clamp(16, most);
        Blocks {
            items,
            size,
            count: items.div_ceil(size),
        }
    }

    /// The items of block `b`.
    fn range(&self, b: usize) -> std::ops::Range<usize> {
        b * self.size..((b + 1) * self.size).min(self.items)
    }
}

/// Writes the text `format` makes of blocks `0..blocks`: with several threads and
/// enough blocks, block `b` on thread `b % threads` (each filling two buffers in turn),
/// the blocks written in order as they come.
fn write_in_blocks(
    w: &mut dyn std::io::Write,
    blocks: usize,
    threads: usize,
    format: &(dyn Fn(usize, &mut Vec<u8>) + Sync),
) -> std::io::Result<()> {
    if threads < 2 || blocks < 4 {
        let mut out = Vec::new();
        for b in 0..blocks {
            out.clear();
            format(b, &mut out);
            w.write_all(&out)?;
        }
        return Ok(());
    }
    std::thread::scope(|scope| {
        let mut from_workers = Vec::with_capacity(threads);
        let mut to_workers = Vec::with_capacity(threads);
        for t in 0..threads {
            // Buffers go out full and come back empty, to be refilled.
            let (full_tx, full_rx) = std::sync::mpsc::sync_channel::<Vec<u8>>(2);
            let (empty_tx, empty_rx) = std::sync::mpsc::channel::<Vec<u8>>();
            for _ in 0..2 {
                let _ = empty_tx.send(Vec::new());
            }
            from_workers.push(full_rx);
            to_workers.push(empty_tx);
            scope.spawn(move || {
                for b in (t..blocks).step_by(threads) {
                    let Ok(mut out) = empty_rx.recv() else { return };
                    out.clear();
                    format(b, &mut out);
                    if full_tx.send(out).is_err() {
                        return;
                    }
                }
            });
        }
        for b in 0..blocks {
            let t = b % threads;
            // A worker ends early only by panicking, which the scope resumes.
            let Ok(text) = from_workers[t].recv() else {
                break;
            };
            let written = w.write_all(&text);
            let _ = to_workers[t].send(text);
            // Returning drops the channels, which stops the workers.
            written?;
        }
        Ok(())
    })
}

/// The `key:[values]` entries of one label line, made in one reused buffer.
#[derive(Default)]
struct LabelEntries {
    text: Vec<u8>,
    /// Where each entry ends in `text`.
    ends: Vec<usize>,
    /// Scratch: the entries' ranges, sorted.
    order: Vec<(usize, usize)>,
}

impl LabelEntries {
    /// Appends the entries to `out` in byte order, separated by spaces.
    fn append_sorted(&mut self, out: &mut Vec<u8>) {
        let text = &self.text;
        self.order.clear();
        let mut start = 0;
        for &end in &self.ends {
            self.order.push((start, end));
            start = end;
        }
        self.order
            .sort_unstable_by(|a, b| text[a.0..a.1].cmp(&text[b.0..b.1]));
        for (i, &(a, b)) in self.order.iter().enumerate() {
            if i > 0 {
                out.push(b' ');
            }
            out.extend_from_slice(&text[a..b]);
        }
    }
}

/// Each location's id followed by a space, as a stack prints it, by location index,
/// made once: stacks repeat them millions of times. The text of an id below 10^7 (with
/// its space, at most 8 bytes) is kept in one word, from its low byte up, the rest zero
/// (digits and spaces are never zero bytes), and written with one store rather than a
/// copy of a few bytes; a longer id is kept as 0 and printed from its location.
struct LocationIds<'p> {
    words: Vec<u64>,
    locations: &'p [Location],
}

impl<'p> LocationIds<'p> {
    /// The printed ids of `locations`.
    fn of_locations(locations: &'p [Location]) -> LocationIds<'p> {
        let mut number = itoa::Buffer::new();
        let words = locations
            .iter()
            .map(|loc| {
                let digits = number.format(loc.id).as_bytes();
                let mut word = [0u8; 8];
                match word.get_mut(..digits.len() + 1) {
                    Some(text) => {
                        text[..digits.len()].copy_from_slice(digits);
                        text[digits.len()] = b' ';
                        u64::from_le_bytes(word)
                    }
                    None => 0,
                }
            })
            .collect();
        LocationIds { words, locations }
    }

    /// Appends the printed ids of the locations `indices` to `out`: each word stored
    /// whole at its place in room made once, the place then moved by its length.
    fn push_all(&self, indices: &[u32], out: &mut Vec<u8>) {
        let start = out.len();
        out.resize(start + indices.len() * 8, 0);
        let mut at = start;
        for (k, &index) in indices.iter().enumerate() {
            match self.words.get(index as usize) {
                Some(&word) if word != 0 => {
                    out[at..at + 8].copy_from_slice(&word.to_le_bytes());
                    at += 8 - (word.leading_zeros() / 8) as usize;
                }
                // An id of more than seven digits, or a location out of range: the
                // rest one by one.
                _ => {
                    out.truncate(at);
                    for &index in &indices[k..] {
                        self.push(index as usize, out);
                    }
                    return;
                }
            }
        }
        out.truncate(at);
    }

    /// Appends the printed id of location `index` to `out`, or `"? "` for an index out
    /// of range.
    #[inline]
    fn push(&self, index: usize, out: &mut Vec<u8>) {
        match self.words.get(index) {
            Some(&word) if word != 0 => {
                let len = 8 - (word.leading_zeros() / 8) as usize;
                out.extend_from_slice(&word.to_le_bytes());
                out.truncate(out.len() - 8 + len);
            }
            Some(_) => {
                let mut number = itoa::Buffer::new();
                out.extend_from_slice(number.format(self.locations[index].id).as_bytes());
                out.push(b' ');
            }
            None => out.extend_from_slice(b"? "),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::model::{Label, Location, ValueType};

    /// A profile of 50,000 samples and 20,000 locations (parallel formatting starts
    /// at 16,384 items), with string and numeric labels and location indices past the
    /// table.
    fn many_samples() -> Profile {
        let mut p = Profile::new(2);
        let ty = p.intern("alloc");
        let unit = p.intern("bytes");
        p.sample_types.push(ValueType { ty, unit });
        p.sample_types.push(ValueType { ty, unit });
        for i in 0..20_000u64 {
            p.locations.push(Location {
                id: i * 7 + 1,
                address: i * 16,
                ..Location::default()
            });
        }
        let (key, bytes, unit) = (p.intern("handler"), p.intern("bytes"), p.intern("B"));
        for i in 0..50_000u32 {
            let stack: Vec<u32> = (0..i % 9 + 1)
                .map(|d| {
                    if i % 1000 == 7 {
                        20_000 + d
                    } else {
                        (i + d * 13) % 101
                    }
                })
                .collect();
            let value = p.intern(&format!("/api/{}", i % 37));
            let labels = [
                Label {
                    key,
                    str: value,
                    ..Label::default()
                },
                Label {
                    key: bytes,
                    num: i as i64 % 4096,
                    num_unit: unit,
                    ..Label::default()
                },
            ];
            p.samples.push(
                &[i as i64, -(i as i64)],
                &stack,
                &labels[..(i % 3) as usize],
            );
        }
        p
    }

    #[test]
    fn samples_formatted_on_several_threads_print_as_on_one() {
        let p = many_samples();
        let mut one = Vec::new();
        p.write_debug_text_on(&mut one, 1).unwrap();
        for threads in [2, 3] {
            let mut several = Vec::new();
            p.write_debug_text_on(&mut several, threads).unwrap();
            assert!(several == one, "{threads} threads");
        }
        let text = String::from_utf8(one).unwrap();
        assert!(
            text.contains("\n          1         -1: 8 99 \n                handler:[/api/1]\n")
        );
        assert!(text.contains("? "), "the index past the table prints as ?");
    }

    #[test]
    fn samples_print_values_location_ids_and_labels_grouped_by_key() {
        let mut p = Profile::new(1);
        let ty = p.intern("samples");
        let unit = p.intern("count");
        p.sample_types.push(ValueType { ty, unit });
        p.default_sample_type = ty;
        p.locations.push(Location {
            id: 7,
            address: 0x10,
            ..Location::default()
        });
        let text = |p: &mut Profile, k: &str, v: &str| Label {
            key: p.intern(k),
            str: p.intern(v),
            ..Label::default()
        };
        let num = |p: &mut Profile, k: &str, n: i64, u: &str| Label {
            key: p.intern(k),
            num: n,
            num_unit: p.intern(u),
            ..Label::default()
        };
        let labels = [
            text(&mut p, "b", "x"),
            text(&mut p, "b", "y"),
            text(&mut p, "thread", "main"),
            num(&mut p, "bytes", 16, "bytes"),
            num(&mut p, "bytes", 32, ""),
            num(&mut p, "n", 3, ""),
        ];
        p.samples.push(&[42], &[0], &labels);
        assert_eq!(
            p.debug_string(),
            "PeriodType:  \nPeriod: 0\nSamples:\nsamples/count[dflt]\n         42: 7 \n\
             \x20               b:[x y] thread:[main]\n\
             \x20               bytes:[16 bytes 32 ] n:[3]\n\
             Locations\n     7: 0x10 \nMappings\n"
        );
    }

    #[test]
    fn stacks_print_location_ids_of_every_length() {
        let mut p = Profile::new(1);
        let ty = p.intern("samples");
        let unit = p.intern("count");
        p.sample_types.push(ValueType { ty, unit });
        // Ids that print in one to seven digits fit a word with their space; longer
        // ones are printed from their location.
        let ids = [1, 9_999_999, 10_000_000, 123_456_789_012, u64::MAX];
        for id in ids {
            p.locations.push(Location {
                id,
                ..Location::default()
            });
        }
        p.samples.push(&[1], &[0, 1, 2, 3, 4, 1, 0], &[]);
        let text = p.debug_string();
        let stack = text.lines().nth(4).expect("the sample's line");
        assert_eq!(
            stack,
            "          1: 1 9999999 10000000 123456789012 18446744073709551615 9999999 1 "
        );
    }

    #[test]
    fn locations_print_their_head_once_and_indent_inlined_lines() {
        use crate::model::{Function, Line, Mapping};
        let mut p = Profile::new(1);
        p.mappings.push(Mapping {
            id: 3,
            ..Mapping::default()
        });
        let (inner, outer, sys) = (p.intern("inner"), p.intern("outer"), p.intern("_Z5outerv"));
        let file = p.intern("a.cc");
        p.functions.push(Function {
            id: 1,
            name: inner,
            system_name: inner,
            filename: file,
            start_line: 4,
        });
        p.functions.push(Function {
            id: 2,
            name: outer,
            system_name: sys,
            filename: file,
            start_line: 9,
        });
        let line = |function, line, column| Line {
            function,
            line,
            column,
        };
        p.locations.push(Location {
            id: 1234567,
            address: 0xdead_beef,
            mapping: Some(crate::MappingIndex::new(0)),
            lines: vec![line(0, 5, 2), line(1, 11, 0), line(9, 1, 0)].into(),
            is_folded: true,
        });
        p.locations.push(Location {
            id: 2,
            ..Location::default()
        });
        let text = p.debug_string();
        let locations = &text[text.find("Locations").unwrap()..];
        assert_eq!(
            locations,
            "Locations\n\
             1234567: 0xdeadbeef M=3 [F] inner a.cc:5:2 s=4\n\
             \x20            outer a.cc:11:0 s=9(_Z5outerv)\n\
             \x20            ??\n\
             \x20    2: 0x0 \n\
             Mappings\n3: 0x0/0x0/0x0   \n"
        );
    }

    #[test]
    fn blocks_hold_a_bounded_amount_of_text_and_several_per_thread() {
        // A large profile: blocks of about BLOCK_BYTES of text, not of 4,096 items.
        let large = Blocks::of(1_000_000, 2, 1000);
        assert_eq!(large.size, BLOCK_BYTES / 1000);
        assert_eq!(large.count, 1_000_000usize.div_ceil(BLOCK_BYTES / 1000));
        // Short lines: at most 4,096 items a block.
        assert_eq!(Blocks::of(1_000_000, 2, 8).size, 4096);
        // A small run: eight blocks per thread, of 16 items at the least.
        assert_eq!(Blocks::of(1600, 2, 100).size, 100);
        assert_eq!(Blocks::of(100, 2, 100).size, 16);
        let b = Blocks::of(100, 2, 100);
        assert_eq!((b.count, b.range(6)), (7, 96..100));
    }

    #[test]
    fn durations_are_written_like_go() {
        assert_eq!(go_duration(0), "0s");
        assert_eq!(go_duration(999), "999ns");
        assert_eq!(go_duration(1_500), "1.5µs");
        assert_eq!(go_duration(2_980_000_000), "2.98s");
        assert_eq!(go_duration(3_000_000_000), "3s");
        assert_eq!(go_duration(16_502_830_000_000), "4h35m2.83s");
        assert_eq!(go_duration(-1_500_000), "-1.5ms");
        assert_eq!(go_duration(60_000_000_000), "1m0s");
    }

    #[test]
    fn times_are_written_like_go_in_utc() {
        assert_eq!(utc_time(1_000_000_000), "1970-01-01 00:00:01 +0000 UTC");
        assert_eq!(
            utc_time(1_795_943_658_274_582_788),
            "2026-11-29 09:14:18.274582788 +0000 UTC"
        );
    }
}
