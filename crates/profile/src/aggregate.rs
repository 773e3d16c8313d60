//! Aggregating a profile at a granularity (pprof's `Profile.Aggregate`): forgetting
//! the attributes of functions and locations a report does not distinguish.

use std::collections::HashSet;

use crate::error::{Error, Result};
use crate::model::Profile;
use crate::strings::StrId;

impl Profile {
    /// Keeps only the requested attributes, as pprof's `Aggregate`: without
    /// `inline_frame` a location keeps only its last (caller) line; without `function`
    /// functions lose their names; without `filename` their files; without
    /// `linenumber` lines lose line and column numbers; without `columnnumber` their
    /// columns; without `address` locations lose their addresses. The mappings' `has_*`
    /// flags are cleared to match. Locations are not merged; the profile is then
    /// checked as pprof's `CheckValid` does.
    pub fn aggregate(
        &mut self,
        inline_frame: bool,
        function: bool,
        filename: bool,
        linenumber: bool,
        columnnumber: bool,
        address: bool,
    ) -> Result<()> {
        for m in &mut self.mappings {
            m.has_inline_frames &= inline_frame;
            m.has_functions &= function;
            m.has_filenames &= filename;
            m.has_line_numbers &= linenumber;
        }
        if !function || !filename {
            for f in &mut self.functions {
                if !function {
                    f.name = StrId::EMPTY;
                    f.system_name = StrId::EMPTY;
                }
                if !filename {
                    f.filename = StrId::EMPTY;
                }
            }
        }
        if !inline_frame || !address || !linenumber || !columnnumber {
            for l in &mut self.locations {
                if !inline_frame && l.lines.len() > 1 {
                    l.lines.drain(..l.lines.len() - 1);
                }
                for line in &mut l.lines {
                    if !linenumber {
                        line.line = 0;
                    }
                    if !linenumber || !columnnumber {
                        line.column = 0;
                    }
                }
                if !address {
                    l.address = 0;
                }
            }
        }
        self.check_valid()
    }

    /// Checks what pprof's `CheckValid` checks that the model does not already
    /// guarantee: sample types present when there are samples, and unique non-zero ids.
    pub fn check_valid(&self) -> Result<()> {
        if self.sample_types.is_empty() && !self.samples.is_empty() {
            return Err(Error::new("missing sample type information"));
        }
        if self.samples.width() != self.sample_types.len() && !self.samples.is_empty() {
            return Err(Error::new(format!(
                "mismatch: sample has {} values vs. {} types",
                self.samples.width(),
                self.sample_types.len()
            )));
        }
        unique_ids(self.mappings.iter().map(|m| m.id), "mapping", "ID")?;
        unique_ids(self.functions.iter().map(|f| f.id), "function", "ID")?;
        unique_ids(self.locations.iter().map(|l| l.id), "location", "id")
    }
}

/// Fails on a zero id or an id seen twice, with pprof's messages.
fn unique_ids(
    ids: impl ExactSizeIterator<Item = u64> + Clone,
    what: &str,
    id_word: &str,
) -> Result<()> {
    // Ids that rise are unique: the usual case (writers number entities 1, 2, 3…),
    // checked without hashing.
    let mut last = 0;
    if ids.clone().all(|id| {
        let rises = id > last;
        last = id;
        rises
    }) {
        return Ok(());
    }
    let mut seen = HashSet::with_capacity(ids.len());
    for id in ids {
        if id == 0 {
            return Err(Error::new(format!(
                "found {what} with reserved {id_word}=0"
            )));
        }
        if !seen.insert(id) {
            return Err(Error::new(format!("multiple {what}s with same id: {id}")));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::{Function, Profile};

    fn with_function_ids(ids: &[u64]) -> Profile {
        Profile {
            functions: ids
                .iter()
                .map(|&id| Function {
                    id,
                    ..Function::default()
                })
                .collect(),
            ..Profile::default()
        }
    }

    #[test]
    fn check_valid_accepts_unique_ids_in_any_order() {
        assert!(with_function_ids(&[1, 2, 3, 7]).check_valid().is_ok());
        assert!(with_function_ids(&[9, 2, 5, 1]).check_valid().is_ok());
    }

    #[test]
    fn check_valid_refuses_repeated_and_zero_ids_wherever_they_are() {
        let e = with_function_ids(&[4, 1, 2, 4]).check_valid().unwrap_err();
        assert_eq!(e.to_string(), "multiple functions with same id: 4");
        let e = with_function_ids(&[1, 2, 2]).check_valid().unwrap_err();
        assert_eq!(e.to_string(), "multiple functions with same id: 2");
        let e = with_function_ids(&[1, 2, 0]).check_valid().unwrap_err();
        assert_eq!(e.to_string(), "found function with reserved ID=0");
    }
}
