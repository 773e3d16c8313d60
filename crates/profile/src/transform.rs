//! Whole-profile value and label transforms: scaling, normalizing against a base,
//! setting and removing labels, and the units of numeric labels.

use std::collections::{BTreeSet, HashMap, HashSet};

use crate::error::{Error, Result};
use crate::model::{Label, Profile};
use crate::proto::canonical_label_order;
use crate::samples::{NumericUnits, SampleRef};
use crate::strings::StrId;

/// The label key pprof puts on the samples of a `-diff_base` profile.
pub const DIFF_BASE_LABEL: &str = "pprof::base";

impl Profile {
    /// Multiplies every sample value by `ratio` (rounded half away from zero) and drops
    /// the samples left with only zeros, as pprof's `Scale`.
    pub fn scale(&mut self, ratio: f64) {
        if ratio == 1.0 {
            return;
        }
        let ratios = vec![ratio; self.width()];
        // The ratio list has the profile's width, so this cannot fail.
        let _ = self.scale_n(&ratios);
    }

    /// Multiplies the values of sample type `i` by `ratios[i]`, rounding half away from
    /// zero, as pprof's `ScaleN`. A sample is kept only when one of the values that were
    /// scaled (ratio not 1) is non-zero afterwards.
    pub fn scale_n(&mut self, ratios: &[f64]) -> Result<()> {
        if ratios.len() != self.width() {
            return Err(Error::new(format!(
                "mismatched scale ratios, got {}, want {}",
                ratios.len(),
                self.width()
            )));
        }
        if ratios.iter().all(|&r| r == 1.0) {
            return Ok(());
        }
        self.samples.map_values(|values| {
            for (v, &r) in values.iter_mut().zip(ratios) {
                if r != 1.0 {
                    *v = (*v as f64 * r).round() as i64;
                }
            }
        });
        let keep: Vec<bool> = (0..self.samples.len())
            .map(|i| {
                self.samples
                    .values(i)
                    .iter()
                    .zip(ratios)
                    .any(|(v, &r)| r != 1.0 && v != 0)
            })
            .collect();
        if keep.iter().all(|&k| k) {
            return Ok(());
        }
        self.samples.retain(|i, _| keep[i]);
        Ok(())
    }

    /// Scales each sample type so that its total equals the total of the same type in
    /// `base` (a type whose total is zero here gets ratio 0), as pprof's `Normalize`.
    pub fn normalize(&mut self, base: &Profile) -> Result<()> {
        self.compatible(base)?;
        let totals = |p: &Profile| {
            let mut sums = vec![0i64; self.width()];
            for s in p.samples.iter() {
                for (sum, v) in sums.iter_mut().zip(s.values.iter()) {
                    *sum = sum.wrapping_add(v);
                }
            }
            sums
        };
        let base_totals = totals(base);
        let own_totals = totals(self);
        let ratios: Vec<f64> = base_totals
            .iter()
            .zip(&own_totals)
            .map(|(&b, &s)| if s == 0 { 0.0 } else { b as f64 / s as f64 })
            .collect();
        self.scale_n(&ratios)
    }

    /// Gives every sample the string label `key` with exactly `values` (replacing the
    /// values it had), as pprof's `SetLabel`. Empty values are skipped: the model
    /// cannot hold a string label with an empty value.
    pub fn set_label(&mut self, key: &str, values: &[&str]) {
        let key_id = self.intern(key);
        let new: Vec<Label> = values
            .iter()
            .filter(|v| !v.is_empty())
            .map(|v| Label {
                key: key_id,
                str: self.strings.intern(v),
                num: 0,
                num_unit: StrId::EMPTY,
            })
            .collect();
        let strings = &self.strings;
        self.samples.rewrite_labels(|labels, out| {
            let start = out.len();
            out.extend(
                labels
                    .iter()
                    .filter(|l| l.is_numeric() || l.key != key_id && strings.get(l.key) != key),
            );
            out.extend_from_slice(&new);
            canonical_label_order(&mut out[start..], strings);
        });
    }

    /// Removes the string labels with key `key` from every sample, as pprof's
    /// `RemoveLabel` (numeric labels are left alone).
    pub fn remove_label(&mut self, key: &str) {
        let strings = &self.strings;
        self.samples.rewrite_labels(|labels, out| {
            out.extend(
                labels
                    .iter()
                    .filter(|l| l.is_numeric() || strings.get(l.key) != key),
            )
        });
    }

    /// Whether `sample` comes from a `-diff_base` profile: it has the label
    /// `pprof::base` with value `true`.
    pub fn is_diff_base_sample(&self, sample: SampleRef<'_>) -> bool {
        sample.labels.iter().any(|l| {
            !l.is_numeric() && self.str(l.key) == DIFF_BASE_LABEL && self.str(l.str) == "true"
        })
    }

    /// The unit of each numeric label key, and the other units seen for a key, as
    /// pprof's `NumLabelUnits`.
    ///
    /// A key's unit is the first non-empty unit seen with it; other units seen with it
    /// are listed, sorted, in the second map. A key seen without any unit gets `bytes`
    /// for `alignment` and `request`, and its own name otherwise.
    pub fn num_label_units(&self) -> (HashMap<String, String>, HashMap<String, Vec<String>>) {
        let mut units: HashMap<&str, &str> = HashMap::new();
        let mut ignored: HashMap<&str, BTreeSet<&str>> = HashMap::new();
        let mut keys: HashSet<&str> = HashSet::new();
        // The pairs as the sets were stored, when the samples use the sets in that
        // order (as decoded); else found by a walk over the samples.
        let walked;
        let pairs = match self.samples.numeric_label_units() {
            Some(pairs) => pairs,
            None => {
                walked = self.numeric_label_units_by_walk();
                &walked
            }
        };
        for &(key, unit) in self.dropped_label_units.iter().chain(pairs) {
            let key = self.str(key);
            let unit = self.str(unit);
            keys.insert(key);
            if unit.is_empty() {
                continue;
            }
            match units.get(key) {
                None => {
                    units.insert(key, unit);
                }
                Some(&want) if want != unit => {
                    ignored.entry(key).or_default().insert(unit);
                }
                Some(_) => {}
            }
        }
        let mut result = HashMap::with_capacity(keys.len());
        for key in keys {
            let unit = match units.get(key) {
                Some(u) => u.to_string(),
                None => match key {
                    "alignment" | "request" => "bytes".to_string(),
                    _ => key.to_string(),
                },
            };
            result.insert(key.to_string(), unit);
        }
        let ignored = ignored
            .into_iter()
            .map(|(k, set)| (k.to_string(), set.into_iter().map(str::to_string).collect()))
            .collect();
        (result, ignored)
    }

    /// The key and unit of the samples' numeric labels, as
    /// [`Samples::numeric_label_units`](crate::Samples::numeric_label_units) lists
    /// them, found by a walk over the samples and their sets.
    fn numeric_label_units_by_walk(&self) -> Vec<(StrId, StrId)> {
        // Only the first unit of each key and the set of its units matter, so the pairs
        // may be gathered on every core, a part of the samples each, and a pair seen
        // again, in its part or an earlier one, changes nothing.
        const MIN_SAMPLES_PER_PART: usize = 1 << 16;
        let samples = &self.samples;
        crate::parallel::on_each_part(samples.len(), MIN_SAMPLES_PER_PART, |range| {
            let mut seen = vec![false; samples.label_set_count()];
            let mut units = NumericUnits::default();
            for i in range {
                let set = samples.label_set_of(i);
                if std::mem::replace(&mut seen[set as usize], true) {
                    continue;
                }
                for l in samples.label_set(set).iter().filter(|l| l.is_numeric()) {
                    units.note(l.key, l.num_unit);
                }
            }
            units.into_pairs()
        })
        .concat()
    }
}
