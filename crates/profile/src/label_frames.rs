//! Label values as frames (pprof's `-tagroot` and `-tagleaf`): each sample gets one
//! extra frame per listed label key, named after the sample's values for that key,
//! above its root or below its leaf.

use std::collections::HashMap;

use crate::model::{Function, Label, Line, Lines, Location, Profile};
use crate::strings::StrId;
use crate::units::scaled_label;

impl Profile {
    /// Adds label frames as pprof's `addLabelNodes` does: for each sample, one frame
    /// per key of `root_keys` above the root (the first key outermost) and one per key
    /// of `leaf_keys` below the leaf (the last key innermost). A frame's function is
    /// named by the sample's values for the key joined with `,` (numeric values scaled
    /// to `output_unit`) and its file name is the key; samples without the key get a
    /// frame with an empty name. New functions and locations are numbered after the
    /// largest existing ids. Returns whether some sample had a root key and whether
    /// some sample had a leaf key.
    pub fn add_label_frames(
        &mut self,
        root_keys: &[String],
        leaf_keys: &[String],
        output_unit: &str,
    ) -> (bool, bool) {
        if root_keys.is_empty() && leaf_keys.is_empty() {
            return (false, false);
        }
        let mut next_location_id = self.locations.iter().map(|l| l.id).max().unwrap_or(0) + 1;
        let mut next_function_id = self.functions.iter().map(|f| f.id).max().unwrap_or(0) + 1;
        let root_key_ids: Vec<StrId> = root_keys.iter().map(|k| self.intern(k)).collect();
        let leaf_key_ids: Vec<StrId> = leaf_keys.iter().map(|k| self.intern(k)).collect();

        // Frames by (name, key), created in the order pprof creates them.
        let mut frames: HashMap<(StrId, StrId), u32> = HashMap::new();
        let mut roots: Vec<u32> = Vec::new();
        let mut leaves: Vec<u32> = Vec::new();
        let (mut root_matched, mut leaf_matched) = (false, false);
        let mut text = String::new();
        let mut samples = std::mem::take(&mut self.samples);
        samples.rewrite_stacks(|_, stack, labels, new_stack| {
            for (keys, key_ids, out, matched) in [
                (root_keys, &root_key_ids, &mut roots, &mut root_matched),
                (leaf_keys, &leaf_key_ids, &mut leaves, &mut leaf_matched),
            ] {
                out.clear();
                for (key, &key_id) in keys.iter().zip(key_ids).rev() {
                    if self.label_values_text(labels, key, output_unit, &mut text) {
                        *matched = true;
                    }
                    let name = self.intern(&text);
                    let index = *frames.entry((name, key_id)).or_insert_with(|| {
                        let function = self.functions.len() as u32;
                        self.functions.push(Function {
                            id: next_function_id,
                            name,
                            filename: key_id,
                            ..Function::default()
                        });
                        next_function_id += 1;
                        let location = self.locations.len() as u32;
                        self.locations.push(Location {
                            id: next_location_id,
                            lines: Lines::from_buf([Line {
                                function,
                                line: 0,
                                column: 0,
                            }]),
                            ..Location::default()
                        });
                        next_location_id += 1;
                        location
                    });
                    out.push(index);
                }
            }
            new_stack.extend_from_slice(&leaves);
            new_stack.extend_from_slice(stack);
            new_stack.extend_from_slice(&roots);
            true
        });
        self.samples = samples;
        (root_matched, leaf_matched)
    }

    /// Writes the values of label `key` among `labels` into `text`, joined with `,`:
    /// string values first, then numeric values scaled to `output_unit` (or unscaled
    /// when none of them has a unit). Returns whether there was any value.
    fn label_values_text(
        &self,
        labels: &[Label],
        key: &str,
        output_unit: &str,
        text: &mut String,
    ) -> bool {
        text.clear();
        let mut count = 0;
        let mut push = |text: &mut String, value: &str| {
            if count > 0 {
                text.push(',');
            }
            text.push_str(value);
            count += 1;
        };
        let of_key = |numeric: bool| {
            labels
                .iter()
                .filter(move |l| l.is_numeric() == numeric && self.str(l.key) == key)
        };
        for l in of_key(false) {
            push(text, self.str(l.str));
        }
        let has_units = of_key(true).any(|l| !l.num_unit.is_empty());
        for l in of_key(true) {
            let value = if has_units {
                scaled_label(l.num, self.str(l.num_unit), output_unit)
            } else {
                scaled_label(l.num, "", "")
            };
            push(text, &value);
        }
        count > 0
    }
}
