//! The interactive shell: pprof's commands at a prompt.

use profile::Profile;

use crate::config::Config;
use crate::driver::Failure;

/// Runs the interactive shell on `profile` until the user quits.
pub fn run(profile: Profile, config: Config) -> Result<(), Failure> {
    let _ = (profile, config);
    Err(Failure("interactive mode is not available yet: name a report, such as -top".into()))
}
