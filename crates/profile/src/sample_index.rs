//! Choosing the sample value a report shows (pprof's `-sample_index`).

use crate::error::{Error, Result};
use crate::model::Profile;

impl Profile {
    /// The index of the sample type named `name`, as pprof's `SampleIndexByName`.
    ///
    /// An empty name selects the default sample type, or else the last one. A number
    /// is an index and must be in range. Otherwise the name must equal a sample type,
    /// possibly after dropping an `inuse_` prefix (for legacy `inuse_space`).
    pub fn sample_index_by_name(&self, name: &str) -> Result<usize> {
        let types = || {
            let names: Vec<&str> = self.sample_types.iter().map(|t| self.str(t.ty)).collect();
            format!("[{}]", names.join(" "))
        };
        if name.is_empty() {
            let default = self.str(self.default_sample_type);
            if !default.is_empty() {
                if let Some(i) = self
                    .sample_types
                    .iter()
                    .position(|t| self.str(t.ty) == default)
                {
                    return Ok(i);
                }
            }
            return self
                .sample_types
                .len()
                .checked_sub(1)
                .ok_or_else(|| Error::new("profile has no sample types"));
        }
        if let Ok(i) = name.parse::<i64>() {
            if i < 0 || i as u64 >= self.sample_types.len() as u64 {
                return Err(Error::new(format!(
                    "sample_index {name} is outside the range [0..{}]",
                    self.sample_types.len() as i64 - 1
                )));
            }
            return Ok(i as usize);
        }
        let no_inuse = name.strip_prefix("inuse_").unwrap_or(name);
        self.sample_types
            .iter()
            .position(|t| {
                let ty = self.str(t.ty);
                ty == name || ty == no_inuse
            })
            .ok_or_else(|| {
                Error::new(format!(
                    "sample_index {} must be one of: {}",
                    go_quote(name),
                    types()
                ))
            })
    }
}

/// `s` in double quotes with Go's escapes for quotes, backslashes and control
/// characters.
fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
