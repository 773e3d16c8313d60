//! The tags report (`-tags`): for each label key, the share of the total carried by
//! each of its values.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::io::Write;

use profile::{Result, StrId};

use crate::graph::{FxMap, TextMap};
use crate::measurement::{percentage, LabelScaler};
use crate::report::Report;
use crate::tabwriter::align_right;
use crate::write_error;

/// One label key of the tags report: the sum of each printed value, their total, and
/// how the key's numbers print.
struct Tag<'p> {
    key: &'p str,
    values: TextMap<Cow<'p, str>, i64>,
    total: i64,
    scaler: LabelScaler<'p>,
}

/// Writes the tags report.
pub fn print_tags(w: &mut dyn Write, rpt: &Report) -> Result<()> {
    let p = rpt.prof;
    let o = &rpt.options;
    // Values are summed per label set, then per distinct label (key and value as ids),
    // and only then per printed key and value: no string is made per sample.
    let samples = &p.samples;
    let mut set_sums = vec![0i64; samples.label_set_count()];
    let mut set_used = vec![false; samples.label_set_count()];
    for i in 0..samples.len() {
        let v = samples.values(i).get(o.sample_index).unwrap_or(0);
        let set = samples.label_set_of(i) as usize;
        set_sums[set] = set_sums[set].wrapping_add(v);
        set_used[set] = true;
    }
    // (key, string value or numeric value) -> sum; a numeric value is printed in the
    // unit of its key, whatever unit the label names. A large profile's sets (hundreds
    // of thousands, with tens of thousands of distinct numbers) are summed on every
    // core, a table each.
    const MIN_SETS_PER_PART: usize = 1 << 15;
    let parts = profile::parallel::on_each_part(set_used.len(), MIN_SETS_PER_PART, |sets| {
        let mut sums: FxMap<(StrId, StrId, i64), i64> = FxMap::default();
        for set in sets.filter(|&set| set_used[set]) {
            let v = set_sums[set];
            for l in samples.label_set(set as u32) {
                let id = if l.is_numeric() {
                    (l.key, StrId::EMPTY, l.num)
                } else {
                    (l.key, l.str, 0)
                };
                let sum = sums.entry(id).or_insert(0);
                *sum = sum.wrapping_add(v);
            }
        }
        sums
    });
    let mut parts = parts.into_iter();
    let mut label_sums = parts.next().unwrap_or_default();
    for part in parts {
        for (id, v) in part {
            let sum = label_sums.entry(id).or_insert(0);
            *sum = sum.wrapping_add(v);
        }
    }
    // key -> (printed value -> sum, total). Values are summed by their text: numbers
    // that print alike, or strings that appear twice in the table, are one value.
    // Each key id is looked up by text once; a number is printed into a reused buffer
    // and its text copied only when first seen.
    let mut tags: Vec<Tag> = Vec::new();
    let mut tag_of_text: TextMap<&str, usize> = TextMap::default();
    let mut tag_of_key: FxMap<StrId, usize> = FxMap::default();
    let mut printed = String::new();
    for (&(key, str, num), &v) in &label_sums {
        let t = *tag_of_key.entry(key).or_insert_with(|| {
            let text = p.str(key);
            *tag_of_text.entry(text).or_insert_with(|| {
                let unit = o.num_label_units.get(text).map_or("", String::as_str);
                tags.push(Tag {
                    key: text,
                    values: TextMap::default(),
                    total: 0,
                    scaler: LabelScaler::new(unit, &o.output_unit),
                });
                tags.len() - 1
            })
        });
        let tag = &mut tags[t];
        let value = if str.is_empty() {
            printed.clear();
            tag.scaler.push(num, &mut printed);
            printed.as_str()
        } else {
            p.str(str)
        };
        match tag.values.get_mut(value) {
            Some(sum) => *sum = sum.wrapping_add(v),
            None => {
                let text = if str.is_empty() {
                    Cow::Owned(printed.clone())
                } else {
                    Cow::Borrowed(p.str(str))
                };
                tag.values.insert(text, v);
            }
        }
        tag.total = tag.total.wrapping_add(v);
    }
    tags.sort_unstable_by(|a, b| a.key.cmp(b.key));
    let profile_total = rpt.total;
    let mut text = String::new();
    for Tag {
        key,
        values,
        total: tag_total,
        ..
    } in &tags
    {
        let tag_total = *tag_total;
        // By decreasing magnitude, then by name (as the graph sorts tags).
        let mut sorted: Vec<(&str, i64)> = values.iter().map(|(n, &v)| (&**n, v)).collect();
        sorted.sort_unstable_by(|a, b| {
            b.1.wrapping_abs()
                .cmp(&a.1.wrapping_abs())
                .then_with(|| a.0.cmp(b.0))
        });
        if profile_total > 0 {
            let _ = writeln!(
                text,
                "{key}:\t Total {} of {} ({})",
                rpt.format_value(tag_total),
                rpt.format_value(profile_total),
                percentage(tag_total, profile_total)
            );
        } else {
            let _ = writeln!(
                text,
                "{key}:\t Total {} of {}",
                rpt.format_value(tag_total),
                rpt.format_value(profile_total)
            );
        }
        // Values sorted by magnitude come in runs of equal ones (thousands of numbers
        // that a handful of samples carry): each run's value is printed once.
        let mut printed: Option<(i64, String)> = None;
        for (name, flat) in sorted {
            let value = match &printed {
                Some((v, text)) if *v == flat => text,
                _ => {
                    let text = if profile_total > 0 {
                        format!(
                            "{} ({})",
                            rpt.format_value(flat),
                            percentage(flat, profile_total)
                        )
                    } else {
                        rpt.format_value(flat)
                    };
                    &printed.insert((flat, text)).1
                }
            };
            let _ = writeln!(text, " \t{value}:\t {name}");
        }
        text.push('\n');
    }
    w.write_all(align_right(&text, 1).as_bytes())
        .map_err(write_error)
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
}
