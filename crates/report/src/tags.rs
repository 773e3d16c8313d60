//! The tags report (`-tags`): for each label key, the share of the total carried by
//! each of its values.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::Write;

use profile::{Result, StrId};

use crate::graph::{sort_tags, Tag};
use crate::measurement::{percentage, scaled_label};
use crate::report::Report;
use crate::tabwriter::align_right;
use crate::write_error;

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
        let v = samples.values(i).get(o.sample_index).copied().unwrap_or(0);
        let set = samples.label_set_of(i) as usize;
        set_sums[set] = set_sums[set].wrapping_add(v);
        set_used[set] = true;
    }
    // (key, string value or numeric value) -> sum; a numeric value is printed in the
    // unit of its key, whatever unit the label names.
    let mut label_sums: HashMap<(StrId, StrId, i64), i64> = HashMap::new();
    for (set, _) in set_used.iter().enumerate().filter(|(_, &used)| used) {
        let v = set_sums[set];
        for l in samples.label_set(set as u32) {
            let id = if l.is_numeric() {
                (l.key, StrId::EMPTY, l.num)
            } else {
                (l.key, l.str, 0)
            };
            let sum = label_sums.entry(id).or_insert(0);
            *sum = sum.wrapping_add(v);
        }
    }
    // key -> (value -> sum), and key -> total
    let mut tag_map: HashMap<&str, HashMap<String, i64>> = HashMap::new();
    let mut tag_totals: HashMap<&str, i64> = HashMap::new();
    for (&(key, str, num), &v) in &label_sums {
        let key = p.str(key);
        let value = if str.is_empty() {
            let unit = o.num_label_units.get(key).map_or("", String::as_str);
            scaled_label(num, unit, &o.output_unit)
        } else {
            p.str(str).to_string()
        };
        let sum = tag_map.entry(key).or_default().entry(value).or_insert(0);
        *sum = sum.wrapping_add(v);
        let total = tag_totals.entry(key).or_insert(0);
        *total = total.wrapping_add(v);
    }
    let mut keys: Vec<&str> = tag_map.keys().copied().collect();
    keys.sort_unstable();
    let profile_total = rpt.total;
    let mut text = String::new();
    for key in keys {
        let values = &tag_map[key];
        let tags: Vec<Tag> = values
            .iter()
            .map(|(name, &flat)| Tag {
                name: name.clone(),
                flat,
                ..Tag::default()
            })
            .collect();
        let mut sorted: Vec<&Tag> = tags.iter().collect();
        sort_tags(&mut sorted, true);
        let tag_total = tag_totals[key];
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
        for t in sorted {
            if profile_total > 0 {
                let _ = writeln!(
                    text,
                    " \t{} ({}):\t {}",
                    rpt.format_value(t.flat_value()),
                    percentage(t.flat_value(), profile_total),
                    t.name
                );
            } else {
                let _ = writeln!(
                    text,
                    " \t{}:\t {}",
                    rpt.format_value(t.flat_value()),
                    t.name
                );
            }
        }
        text.push('\n');
    }
    w.write_all(align_right(&text, 1).as_bytes())
        .map_err(write_error)
}
