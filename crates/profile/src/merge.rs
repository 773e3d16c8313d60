//! Merging profiles of the same kind into one.

use crate::error::{Error, Result};
use crate::model::Profile;

/// Merges compatible profiles into one, as pprof's `profile.Merge` does.
pub fn merge(mut profiles: Vec<Profile>) -> Result<Profile> {
    if profiles.len() == 1 {
        return Ok(profiles.pop().unwrap());
    }
    Err(Error::new("merging profiles is not supported yet"))
}
