//! The tags report (`-tags`): for each label key, the share of the total carried by
//! each of its values.

use std::fmt::Write as _;
use std::io::Write;

use profile::{Result, StrId};

use crate::graph::{FxMap, TextMap};
use crate::measurement::{percentage, LabelScaler};
use crate::report::Report;
use crate::tabwriter::{align_right, cell_width, is_one_cell};
use crate::write_error;

/// Writes the tags report.
pub fn print_tags(w: &mut dyn Write, rpt: &Report) -> Result<()> {
    let p = rpt.prof;
    // Values are summed per label set, then per distinct label (key and value as ids),
    // and only then per printed key and value: no string is made per sample.
    let (set_sums, set_used) = sums_by_label_set(p, rpt.options.sample_index);
    let by_key = sums_by_label(p, &set_sums, &set_used);
    let mut text = String::new();
    for tag in tags(rpt, by_key) {
        tag.write(rpt, &mut text);
    }
    w.write_all(text.as_bytes()).map_err(write_error)
}

/// The sum of value `index` of the samples of each label set, and whether any sample
/// has the set.
fn sums_by_label_set(p: &profile::Profile, index: usize) -> (Vec<i64>, Vec<bool>) {
    let samples = &p.samples;
    let mut sums = vec![0i64; samples.label_set_count()];
    let mut used = vec![false; samples.label_set_count()];
    if index < samples.width() {
        samples.for_each_value(index, 0..samples.len(), |i, v| {
            let set = samples.label_set_of(i) as usize;
            sums[set] = sums[set].wrapping_add(v);
            used[set] = true;
        });
    } else {
        for i in 0..samples.len() {
            used[samples.label_set_of(i) as usize] = true;
        }
    }
    (sums, used)
}

/// The sums of one label key id: per string value id, and per number (in increasing
/// order of the numbers, each once).
struct KeySums {
    key: StrId,
    strings: FxMap<StrId, i64>,
    numbers: Vec<(i64, i64)>,
}

/// The sums per number of one label key id as they are gathered: in a table while the
/// numbers are few or mostly met again (a size label of a dozen values, met on every
/// sample), then, once they are many and mostly new, listed as they come, to be sorted
/// and summed at the end (a table of a hundred thousand numbers misses the processor's
/// cache at every look, while a list holds each number as often as it is met).
enum NumberSums {
    /// The sums, and how many numbers were added.
    Table(FxMap<i64, i64>, usize),
    List(Vec<(i64, i64)>),
}

impl NumberSums {
    /// Distinct numbers always kept in a table.
    const TABLED: usize = 1 << 12;

    fn add(&mut self, num: i64, v: i64) {
        match self {
            NumberSums::Table(table, added) => {
                let sum = table.entry(num).or_insert(0);
                *sum = sum.wrapping_add(v);
                *added += 1;
                // Listed once more than a quarter of the numbers added were new.
                if table.len() > Self::TABLED && table.len() * 4 > *added {
                    let mut list: Vec<(i64, i64)> = table.drain().collect();
                    list.reserve(list.len());
                    *self = NumberSums::List(list);
                }
            }
            NumberSums::List(list) => list.push((num, v)),
        }
    }

    /// The sums, in increasing order of the numbers.
    fn in_order(self) -> Vec<(i64, i64)> {
        match self {
            NumberSums::Table(table, _) => {
                let mut list: Vec<(i64, i64)> = table.into_iter().collect();
                list.sort_unstable_by_key(|&(num, _)| num);
                list
            }
            NumberSums::List(list) => summed_in_order(list),
        }
    }
}

/// Sums every label of the used label sets by key id and value, each set's sum once
/// per label. A large profile's sets (hundreds of thousands, with a hundred thousand
/// distinct numbers) are summed on every core, a part each, merged in order. A key of
/// many numbers has them listed rather than looked up in a table (see
/// [`NumberSums`]), sorted and summed at the end of each part, in the order in which
/// they are printed.
fn sums_by_label(p: &profile::Profile, set_sums: &[i64], set_used: &[bool]) -> Vec<KeySums> {
    const MIN_SETS_PER_PART: usize = 1 << 15;
    let samples = &p.samples;
    let parts = profile::parallel::on_each_part(set_used.len(), MIN_SETS_PER_PART, |sets| {
        let mut keys = KeySlots::default();
        let mut numbers: Vec<NumberSums> = Vec::new();
        for set in sets.filter(|&set| set_used[set]) {
            let v = set_sums[set];
            for l in samples.label_set(set as u32) {
                let (slot, sums) = keys.of(l.key);
                if l.is_numeric() {
                    if slot >= numbers.len() {
                        numbers.resize_with(slot + 1, || NumberSums::Table(FxMap::default(), 0));
                    }
                    numbers[slot].add(l.num, v);
                } else {
                    let sum = sums.strings.entry(l.str).or_insert(0);
                    *sum = sum.wrapping_add(v);
                }
            }
        }
        let mut keys = keys.sums;
        for (k, numbers) in keys.iter_mut().zip(numbers) {
            k.numbers = numbers.in_order();
        }
        keys
    });
    let mut parts = parts.into_iter();
    let mut all = KeySlots {
        sums: parts.next().unwrap_or_default(),
        ..KeySlots::default()
    };
    for part in parts {
        for sums in part {
            let (_, into) = all.of(sums.key);
            add_into(&mut into.strings, sums.strings);
            into.numbers = merged(std::mem::take(&mut into.numbers), sums.numbers);
        }
    }
    all.sums
}

/// The sums of each key id met so far, found by key: by a look at each while they are
/// few (a profile's handful of label keys), then through a table.
#[derive(Default)]
struct KeySlots {
    sums: Vec<KeySums>,
    slot_of_key: FxMap<StrId, usize>,
}

impl KeySlots {
    /// Keys looked for one by one before the table is used.
    const SCANNED: usize = 8;

    /// The slot of `key` (keys get slots in the order they are met) and its sums, new
    /// ones if it has none yet.
    fn of(&mut self, key: StrId) -> (usize, &mut KeySums) {
        let slot = if self.sums.len() <= Self::SCANNED {
            self.sums.iter().position(|k| k.key == key)
        } else {
            if self.slot_of_key.is_empty() {
                self.slot_of_key = (self.sums.iter().enumerate())
                    .map(|(slot, k)| (k.key, slot))
                    .collect();
            }
            self.slot_of_key.get(&key).copied()
        };
        let slot = slot.unwrap_or_else(|| {
            self.sums.push(KeySums {
                key,
                strings: FxMap::default(),
                numbers: Vec::new(),
            });
            if !self.slot_of_key.is_empty() {
                self.slot_of_key.insert(key, self.sums.len() - 1);
            }
            self.sums.len() - 1
        });
        (slot, &mut self.sums[slot])
    }
}

/// `numbers` sorted by number, the sums of equal numbers added into one.
fn summed_in_order(mut numbers: Vec<(i64, i64)>) -> Vec<(i64, i64)> {
    numbers.sort_unstable_by_key(|&(num, _)| num);
    numbers.dedup_by(|later, kept| {
        let same = later.0 == kept.0;
        if same {
            kept.1 = kept.1.wrapping_add(later.1);
        }
        same
    });
    numbers
}

/// The union of two lists of [`summed_in_order`], still in order, the sums of a number
/// in both added.
fn merged(a: Vec<(i64, i64)>, b: Vec<(i64, i64)>) -> Vec<(i64, i64)> {
    if a.is_empty() || b.is_empty() {
        return if a.is_empty() { b } else { a };
    }
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        let (x, y) = (a[i], b[j]);
        match x.0.cmp(&y.0) {
            std::cmp::Ordering::Less => {
                out.push(x);
                i += 1;
            }
            std::cmp::Ordering::Greater => {
                out.push(y);
                j += 1;
            }
            std::cmp::Ordering::Equal => {
                out.push((x.0, x.1.wrapping_add(y.1)));
                i += 1;
                j += 1;
            }
        }
    }
    out.extend_from_slice(&a[i..]);
    out.extend_from_slice(&b[j..]);
    out
}

/// Adds the sums of `from` to those of `into`.
fn add_into<K: std::hash::Hash + Eq>(into: &mut FxMap<K, i64>, from: FxMap<K, i64>) {
    into.reserve(from.len());
    for (k, v) in from {
        let sum = into.entry(k).or_insert(0);
        *sum = sum.wrapping_add(v);
    }
}

/// Spaces after the widest cell of a column.
const PADDING: usize = 1;

/// Appends a tag's lines to `text`, in columns aligned to the right as pprof aligns
/// them (see [`align_right`]), for a tag whose key, names and printed sums each make one
/// cell ([`is_one_cell`]): `key:`,
/// then `header` after it; a line per value, its `shown` sum and percentage (of at most
/// `shown_width` characters) and its name; then a blank line. Column widths are known
/// beforehand, so no line is taken apart into cells again.
fn write_aligned<'a>(
    text: &mut String,
    key: &str,
    header: &str,
    shown_width: usize,
    values: impl Iterator<Item = (&'a str, &'a str)>,
) {
    // The first column holds `key:` on the first line and a space on the others; the
    // second, on the lines of values, `shown:`.
    let key_width = cell_width(key) + 1;
    let first = key_width.max(1) + PADDING;
    let second = shown_width + 1 + PADDING;
    push_spaces(text, first - key_width);
    for part in [key, ": ", header, "\n"] {
        text.push_str(part);
    }
    for (shown, name) in values {
        push_spaces(text, first + second - (cell_width(shown) + 1));
        for part in [shown, ": ", name, "\n"] {
            text.push_str(part);
        }
    }
    text.push('\n');
}

/// Appends `n` spaces to `text`.
fn push_spaces(text: &mut String, mut n: usize) {
    const SPACES: &str = "                                ";
    while n > 0 {
        let some = n.min(SPACES.len());
        text.push_str(&SPACES[..some]);
        n -= some;
    }
}

/// One label key of the tags report, as printed: the sums of its key ids' values
/// (keys whose text is the same are one), their total, and how its numbers print.
struct Tag<'p> {
    key: &'p str,
    strings: Vec<(StrId, i64)>,
    numbers: Vec<(i64, i64)>,
    total: i64,
    scaler: LabelScaler<'p>,
}

/// The report's tags, by key text: a numeric value is printed in the unit of its key,
/// whatever unit the label names.
fn tags<'r>(rpt: &'r Report, by_key: Vec<KeySums>) -> Vec<Tag<'r>> {
    let (p, o) = (rpt.prof, &rpt.options);
    let mut tags: Vec<Tag> = Vec::new();
    let mut tag_of_text: TextMap<&str, usize> = TextMap::default();
    for sums in by_key {
        let text = p.str(sums.key);
        let t = *tag_of_text.entry(text).or_insert_with(|| {
            let unit = o.num_label_units.get(text).map_or("", String::as_str);
            tags.push(Tag {
                key: text,
                strings: Vec::new(),
                numbers: Vec::new(),
                total: 0,
                scaler: LabelScaler::new(unit, &o.output_unit),
            });
            tags.len() - 1
        });
        let tag = &mut tags[t];
        let numbers = sums.numbers.iter().map(|&(_, v)| v);
        for v in sums.strings.values().copied().chain(numbers) {
            tag.total = tag.total.wrapping_add(v);
        }
        tag.strings.extend(sums.strings);
        tag.numbers.extend(sums.numbers);
    }
    tags.sort_unstable_by(|a, b| a.key.cmp(b.key));
    tags
}

impl Tag<'_> {
    /// Appends the tag's lines to `text`: its total, then each printed value with its
    /// sum, by decreasing magnitude and then by name (as the graph sorts tags).
    fn write(mut self, rpt: &Report, text: &mut String) {
        let profile_total = rpt.total;
        // Values are summed by their text: numbers that print alike, or strings that
        // appear twice in the table, are one value.
        let (printed, numbers) = self.printed_numbers();
        let numbers = numbers
            .iter()
            .map(|&(start, end, v)| (&printed[start..end], v));
        let mut sorted: Vec<SortedValue> = if self.strings.is_empty() {
            numbers.map(|(name, v)| SortedValue::new(name, v)).collect()
        } else {
            let mut by_text: TextMap<&str, i64> = TextMap::default();
            by_text.reserve(self.strings.len() + self.numbers.len());
            let strings = self.strings.iter().map(|&(s, v)| (rpt.prof.str(s), v));
            for (name, v) in strings.chain(numbers) {
                let sum = by_text.entry(name).or_insert(0);
                *sum = sum.wrapping_add(v);
            }
            by_text
                .into_iter()
                .map(|(name, v)| SortedValue::new(name, v))
                .collect()
        };
        sorted.sort_unstable();

        let total = self.total;
        let mut header = format!(
            "Total {} of {}",
            rpt.format_value(total),
            rpt.format_value(profile_total)
        );
        if profile_total > 0 {
            let _ = write!(header, " ({})", percentage(total, profile_total));
        }
        // Values sorted by magnitude come in runs of equal ones (thousands of numbers
        // that a handful of samples carry): each run's value is printed once, into
        // one buffer, at `runs`' places.
        let mut shown = String::new();
        let mut runs: Vec<(i64, usize, usize)> = Vec::new();
        let printer = rpt.value_printer();
        for v in &sorted {
            if runs.last().is_some_and(|&(value, ..)| value == v.value) {
                continue;
            }
            let start = shown.len();
            printer.push(v.value, &mut shown);
            if profile_total > 0 {
                let _ = write!(shown, " ({})", percentage(v.value, profile_total));
            }
            runs.push((v.value, start, shown.len()));
        }
        let values = sorted.iter().scan(0, |run, v| {
            if runs[*run].0 != v.value {
                *run += 1;
            }
            let (_, start, end) = runs[*run];
            Some((&shown[start..end], v.name))
        });
        // The unit of `-unit` is printed as given, in the header and the sums.
        if [self.key, &header, &shown].into_iter().all(is_one_cell)
            && sorted.iter().all(|v| is_one_cell(v.name))
        {
            let widths = runs
                .iter()
                .map(|&(_, start, end)| cell_width(&shown[start..end]));
            let shown_width = widths.max().unwrap_or(0);
            write_aligned(text, self.key, &header, shown_width, values);
        } else {
            // Tabs or line ends in a name or a unit make cells and lines of their own,
            // as pprof's aligning makes them. The blank line that ends a tag ends every
            // column, so the tag is aligned alone as it would be with the others.
            let mut cells = format!("{}:\t {header}\n", self.key);
            for (shown, name) in values {
                for part in [" \t", shown, ":\t ", name, "\n"] {
                    cells.push_str(part);
                }
            }
            cells.push('\n');
            text.push_str(&align_right(&cells, PADDING));
        }
    }

    /// The numbers printed one after another into one buffer, those that print alike
    /// summed into one: each text's place in the buffer and its sum. The numbers are
    /// taken in increasing order, in which those that print alike are next to each
    /// other: a number's text is its unit (chosen by magnitude, larger for larger
    /// magnitudes) and its value in that unit rounded to two decimals, so the numbers
    /// of one text are a run of consecutive integers. No table of the texts is made,
    /// which cost a cache miss a number on a large profile's hundred thousand.
    fn printed_numbers(&mut self) -> (String, Vec<(usize, usize, i64)>) {
        // In order already, unless several key ids have this text.
        self.numbers.sort_unstable_by_key(|&(num, _)| num);
        // A large profile's hundred thousand numbers are printed a part on each core,
        // the parts joined in order.
        const MIN_NUMBERS_PER_PART: usize = 1 << 14;
        let (numbers, scaler) = (&self.numbers, &self.scaler);
        let parts = profile::parallel::on_each_part(numbers.len(), MIN_NUMBERS_PER_PART, |r| {
            print_numbers(scaler, &numbers[r])
        });
        let mut parts = parts.into_iter();
        let (mut printed, mut texts) = parts.next().unwrap_or_default();
        for (part, part_texts) in parts {
            let offset = printed.len();
            let mut part_texts = part_texts.into_iter().peekable();
            // A part's first text may be its predecessor's last.
            if let (Some(last), Some(&(start, end, v))) = (texts.last_mut(), part_texts.peek()) {
                if printed[last.0..last.1] == part[start..end] {
                    last.2 = last.2.wrapping_add(v);
                    part_texts.next();
                }
            }
            printed.push_str(&part);
            texts.extend(part_texts.map(|(start, end, v)| (start + offset, end + offset, v)));
        }
        (printed, texts)
    }
}

/// `numbers`, in increasing order, printed one after another into one buffer, those
/// that print alike summed into one: each text's place in the buffer and its sum.
fn print_numbers(
    scaler: &LabelScaler,
    numbers: &[(i64, i64)],
) -> (String, Vec<(usize, usize, i64)>) {
    let mut printed = String::with_capacity(numbers.len() * 8);
    let mut texts: Vec<(usize, usize, i64)> = Vec::with_capacity(numbers.len());
    for &(num, v) in numbers {
        let start = printed.len();
        scaler.push(num, &mut printed);
        match texts.last_mut() {
            Some((a, b, sum)) if printed[*a..*b] == printed[start..] => {
                printed.truncate(start);
                *sum = sum.wrapping_add(v);
            }
            _ => texts.push((start, printed.len(), v)),
        }
    }
    (printed, texts)
}

/// A printed value and its sum, ordered by decreasing magnitude and then by name. The
/// first eight bytes of the name, as a number, settle most ties between names without
/// comparing the strings.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct SortedValue<'a> {
    /// The magnitude (`wrapping_abs`, as the graph orders tags), made an unsigned
    /// number that grows as the magnitude falls.
    descending: u64,
    prefix: u64,
    name: &'a str,
    value: i64,
}

impl<'a> SortedValue<'a> {
    fn new(name: &'a str, value: i64) -> SortedValue<'a> {
        // Signed order kept by flipping the sign bit; then reversed.
        let descending = !((value.wrapping_abs() as u64) ^ (1 << 63));
        let mut head = [0u8; 8];
        let n = name.len().min(8);
        head[..n].copy_from_slice(&name.as_bytes()[..n]);
        SortedValue {
            descending,
            prefix: u64::from_be_bytes(head),
            name,
            value,
        }
    }
}

#[cfg(test)]
mod tests {
    use profile::{Label, Location, Profile, StrId, ValueType};

    use crate::{generate, Options, OutputFormat};

    /// A label: key, string value (empty for a numeric label) and number.
    type TestLabel<'a> = (&'a str, &'a str, i64);

    /// Samples of one location with the given value and labels.
    fn profile(samples: &[(i64, &[TestLabel])]) -> Profile {
        let mut p = Profile::new(1);
        let (ty, unit) = (p.intern("samples"), p.intern("count"));
        p.sample_types.push(ValueType { ty, unit });
        p.locations.push(Location {
            id: 1,
            ..Location::default()
        });
        for &(value, labels) in samples {
            let labels: Vec<Label> = labels
                .iter()
                .map(|&(key, str, num)| Label {
                    key: p.intern(key),
                    str: if str.is_empty() {
                        StrId::EMPTY
                    } else {
                        p.intern(str)
                    },
                    num,
                    num_unit: StrId::EMPTY,
                })
                .collect();
            p.samples.push(&[value], &[0], &labels);
        }
        p
    }

    fn tags(mut p: Profile, units: &[(&str, &str)]) -> String {
        let mut options = Options::new(OutputFormat::Tags, &p, 0);
        for &(key, unit) in units {
            options.num_label_units.insert(key.into(), unit.into());
        }
        let mut out = Vec::new();
        generate(&mut out, &mut p, &options).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn tag_values_that_print_alike_are_summed_and_sorted_by_value_then_name() {
        let p = profile(&[
            (1, &[("size", "", 1024), ("handler", "/b", 0)]),
            (2, &[("size", "", 1025), ("handler", "/a", 0)]),
            (3, &[("size", "", 4096), ("handler", "/c", 0)]),
            (3, &[("handler", "/a", 0)]),
        ]);
        assert_eq!(
            tags(p, &[("size", "bytes")]),
            " handler: Total 9 of 9 (  100%)\n\
             \x20         5 (55.56%): /a\n\
             \x20         3 (33.33%): /c\n\
             \x20         1 (11.11%): /b\n\
             \n\
             \x20size: Total 6 of 9 (66.67%)\n\
             \x20      3 (33.33%): 1kB\n\
             \x20      3 (33.33%): 4kB\n\n"
        );
    }

    #[test]
    fn numbers_that_print_alike_are_summed_whatever_their_order_and_sign() {
        // Given out of order: 2047 and 2048 bytes print "2kB" (rounded), 1 and 1023
        // bytes apart; -1024 and -1025 print "-1kB"; 5 MiB is in another unit.
        let p = profile(&[
            (1, &[("size", "", 2048)]),
            (2, &[("size", "", -1025)]),
            (4, &[("size", "", 1)]),
            (8, &[("size", "", 2047)]),
            (16, &[("size", "", 5 << 20)]),
            (32, &[("size", "", -1024)]),
            (64, &[("size", "", 1023)]),
        ]);
        assert_eq!(
            tags(p, &[("size", "bytes")]),
            " size: Total 127 of 127 (  100%)\n\
             \x20      64 (50.39%): 1023B\n\
             \x20      34 (26.77%): -1kB\n\
             \x20      16 (12.60%): 5MB\n\
             \x20       9 ( 7.09%): 2kB\n\
             \x20       4 ( 3.15%): 1B\n\n"
        );
    }

    #[test]
    fn a_string_and_a_number_that_print_alike_are_one_value() {
        let p = profile(&[
            (2, &[("shard", "7", 0)]),
            (3, &[("shard", "", 7)]),
            (1, &[("shard", "", 8)]),
        ]);
        assert_eq!(
            tags(p, &[]),
            " shard: Total 6 of 6 (  100%)\n\
             \x20       5 (83.33%): 7\n\
             \x20       1 (16.67%): 8\n\n"
        );
    }

    #[test]
    fn values_of_equal_sums_sort_by_whole_name_past_a_shared_prefix() {
        let p = profile(&[
            (1, &[("path", "/api/v1/users/b", 0)]),
            (1, &[("path", "/api/v1/users", 0)]),
            (1, &[("path", "/api/v1/users/a", 0)]),
            (1, &[("path", "/api/v1/", 0)]),
        ]);
        assert_eq!(
            tags(p, &[]),
            " path: Total 4 of 4 (  100%)\n\
             \x20      1 (25.00%): /api/v1/\n\
             \x20      1 (25.00%): /api/v1/users\n\
             \x20      1 (25.00%): /api/v1/users/a\n\
             \x20      1 (25.00%): /api/v1/users/b\n\n"
        );
    }

    #[test]
    fn a_name_with_a_tab_makes_a_cell_of_its_own_as_pprof_aligns_it() {
        let p = profile(&[
            (2, &[("handler", "/c", 0)]),
            (1, &[("handler", "/a\tb", 0)]),
        ]);
        assert_eq!(
            tags(p, &[]),
            " handler: Total 3 of 3 (  100%)\n\
             \x20         2 (66.67%): /c\n\
             \x20         1 (33.33%):  /ab\n\n"
        );
    }

    #[test]
    fn a_label_of_many_numbers_is_summed_per_number_across_parts() {
        // More numbers than a part keeps in a table, over more label sets than one
        // part sums: each number is met twice, in samples far apart.
        const NUMBERS: i64 = 40_000;
        let mut samples: Vec<(i64, Vec<TestLabel>)> = Vec::new();
        for round in 0..2 {
            for n in 0..NUMBERS {
                let value = if round == 0 { n } else { 1 };
                samples.push((value, vec![("shard", "", n), ("round", "", round)]));
            }
        }
        let samples: Vec<(i64, &[TestLabel])> =
            samples.iter().map(|(v, l)| (*v, l.as_slice())).collect();
        let out = tags(profile(&samples), &[]);
        let shard = out
            .split("\n\n")
            .find(|t| t.starts_with(" shard:"))
            .unwrap();
        let mut lines = 0;
        for line in shard.lines().skip(1) {
            let (sum, name) = line.trim_start().split_once(" (").unwrap();
            let name: i64 = name.rsplit_once(": ").unwrap().1.parse().unwrap();
            assert_eq!(sum.parse::<i64>().unwrap(), name + 1, "{line}");
            lines += 1;
        }
        assert_eq!(lines, NUMBERS);
    }

    #[test]
    fn numbers_that_print_alike_are_one_value_however_many_there_are() {
        // Forty thousand sizes, all printed as one number of gigabytes: more than one
        // core prints, and the text ends one part and starts the next.
        const NUMBERS: i64 = 40_000;
        let labels: Vec<[TestLabel; 1]> = (0..NUMBERS)
            .map(|n| [("size", "", 10_000_000_000 + n)])
            .collect();
        let samples: Vec<(i64, &[TestLabel])> = labels.iter().map(|l| (1, &l[..])).collect();
        let out = tags(profile(&samples), &[("size", "bytes")]);
        let want = [
            " size: Total 40000 of 40000 (  100%)",
            "       40000 (  100%): 9.31GB",
            "",
            "",
        ];
        assert_eq!(out, want.join("\n"));
    }

    #[test]
    fn a_unit_with_a_tab_makes_cells_of_its_own_as_pprof_aligns_it() {
        let mut p = profile(&[(2, &[("handler", "/c", 0)]), (1, &[("handler", "/a", 0)])]);
        let mut options = Options::new(OutputFormat::Tags, &p, 0);
        options.output_unit = "x\ty".into();
        let mut out = Vec::new();
        generate(&mut out, &mut p, &options).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            " handler:  Total 3x     y of 3xy (  100%)\n\
             \x20                2x y (66.67%): /c\n\
             \x20                1x y (33.33%): /a\n\n"
        );
    }

    #[test]
    fn a_name_with_a_form_feed_ends_its_line_and_columns_as_pprof_aligns_it() {
        let p = profile(&[
            (2, &[("handler", "/c", 0)]),
            (1, &[("handler", "a\x0cb", 0)]),
        ]);
        assert_eq!(
            tags(p, &[]),
            " handler: Total 3 of 3 (  100%)\n\
             \x20         2 (66.67%): /c\n\
             \x20         1 (33.33%): a\nb\n\n"
        );
    }
}
