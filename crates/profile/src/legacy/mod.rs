//! The legacy formats pprof still reads, recognized by content.

use crate::error::Error;
use crate::model::Profile;

/// Why no legacy parser produced a profile.
#[derive(Debug)]
pub enum LegacyError {
    /// No legacy parser recognized the input.
    Unrecognized,
    /// A parser recognized the input but it is malformed.
    Malformed(Error),
}

/// Tries each legacy parser in pprof's order.
pub fn parse(_data: &[u8]) -> Result<Profile, LegacyError> {
    Err(LegacyError::Unrecognized)
}
