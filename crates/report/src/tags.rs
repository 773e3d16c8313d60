//! The tags report (`-tags`): for each label key, the share of the total carried by
//! each of its values.

use std::fmt::Write as _;
use std::io::Write;

use profile::{Result, StrId};

use crate::graph::{FxMap, TextMap};
use crate::measurement::{percentage, LabelScaler};
use crate::report::Report;
use crate::tabwriter::align_right;
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
    w.write_all(align_right(&text, 1).as_bytes())
        .map_err(write_error)
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

/// The sums of one label key id: per string value id, and per number.
struct KeySums {
    key: StrId,
    strings: FxMap<StrId, i64>,
    numbers: FxMap<i64, i64>,
}

/// Sums every label of the used label sets by key id and value, each set's sum once
/// per label. A large profile's sets (hundreds of thousands, with tens of thousands of
/// distinct numbers) are summed on every core, a table each, merged in order.
fn sums_by_label(p: &profile::Profile, set_sums: &[i64], set_used: &[bool]) -> Vec<KeySums> {
    const MIN_SETS_PER_PART: usize = 1 << 15;
    let samples = &p.samples;
    let parts = profile::parallel::on_each_part(set_used.len(), MIN_SETS_PER_PART, |sets| {
        let mut slot_of_key: FxMap<StrId, usize> = FxMap::default();
        let mut keys: Vec<KeySums> = Vec::new();
        for set in sets.filter(|&set| set_used[set]) {
            let v = set_sums[set];
            for l in samples.label_set(set as u32) {
                let slot = *slot_of_key.entry(l.key).or_insert_with(|| {
                    keys.push(KeySums {
                        key: l.key,
                        strings: FxMap::default(),
                        numbers: FxMap::default(),
                    });
                    keys.len() - 1
                });
                let sum = if l.is_numeric() {
                    keys[slot].numbers.entry(l.num).or_insert(0)
                } else {
                    keys[slot].strings.entry(l.str).or_insert(0)
                };
                *sum = sum.wrapping_add(v);
            }
        }
        keys
    });
    let mut parts = parts.into_iter();
    let mut all = parts.next().unwrap_or_default();
    let mut slot_of_key: FxMap<StrId, usize> = all
        .iter()
        .enumerate()
        .map(|(slot, k)| (k.key, slot))
        .collect();
    for part in parts {
        for sums in part {
            match slot_of_key.get(&sums.key) {
                Some(&slot) => {
                    add_into(&mut all[slot].strings, sums.strings);
                    add_into(&mut all[slot].numbers, sums.numbers);
                }
                None => {
                    slot_of_key.insert(sums.key, all.len());
                    all.push(sums);
                }
            }
        }
    }
    all
}

/// Adds the sums of `from` to those of `into`.
fn add_into<K: std::hash::Hash + Eq>(into: &mut FxMap<K, i64>, from: FxMap<K, i64>) {
    into.reserve(from.len());
    for (k, v) in from {
        let sum = into.entry(k).or_insert(0);
        *sum = sum.wrapping_add(v);
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
        for &v in sums.strings.values().chain(sums.numbers.values()) {
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
        if profile_total > 0 {
            let _ = writeln!(
                text,
                "{}:\t Total {} of {} ({})",
                self.key,
                rpt.format_value(total),
                rpt.format_value(profile_total),
                percentage(total, profile_total)
            );
        } else {
            let _ = writeln!(
                text,
                "{}:\t Total {} of {}",
                self.key,
                rpt.format_value(total),
                rpt.format_value(profile_total)
            );
        }
        // Values sorted by magnitude come in runs of equal ones (thousands of numbers
        // that a handful of samples carry): each run's value is printed once.
        let mut printed: Option<(i64, String)> = None;
        for &SortedValue { name, value, .. } in &sorted {
            let shown = match &printed {
                Some((v, shown)) if *v == value => shown,
                _ => {
                    let shown = if profile_total > 0 {
                        format!(
                            "{} ({})",
                            rpt.format_value(value),
                            percentage(value, profile_total)
                        )
                    } else {
                        rpt.format_value(value)
                    };
                    &printed.insert((value, shown)).1
                }
            };
            for part in [" \t", shown, ":\t ", name, "\n"] {
                text.push_str(part);
            }
        }
        text.push('\n');
    }

    /// The numbers printed one after another into one buffer, those that print alike
    /// summed into one: each text's place in the buffer and its sum. The numbers are
    /// taken in increasing order, in which those that print alike are next to each
    /// other: a number's text is its unit (chosen by magnitude, larger for larger
    /// magnitudes) and its value in that unit rounded to two decimals, so the numbers
    /// of one text are a run of consecutive integers. No table of the texts is made,
    /// which cost a cache miss a number on a large profile's hundred thousand.
    fn printed_numbers(&mut self) -> (String, Vec<(usize, usize, i64)>) {
        self.numbers.sort_unstable_by_key(|&(num, _)| num);
        let mut printed = String::with_capacity(self.numbers.len() * 8);
        let mut texts: Vec<(usize, usize, i64)> = Vec::with_capacity(self.numbers.len());
        for &(num, v) in &self.numbers {
            let start = printed.len();
            self.scaler.push(num, &mut printed);
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
}
