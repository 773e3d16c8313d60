//! Making the sample types of several profiles agree before they are merged.

use crate::error::{Error, Result};
use crate::model::Profile;

/// Keeps in every profile only the sample types that all of them have, in the order of
/// the first profile (pprof's `CompatibilizeSampleTypes`).
pub fn compatibilize_sample_types(profiles: &mut [Profile]) -> Result<()> {
    let Some(first) = profiles.first() else {
        return Ok(());
    };
    let common: Vec<String> = first
        .sample_types
        .iter()
        .map(|t| first.str(t.ty).to_string())
        .filter(|ty| {
            profiles
                .iter()
                .all(|p| p.sample_types.iter().any(|t| p.str(t.ty) == ty))
        })
        .collect();
    if common.is_empty() {
        return Err(Error::new("profiles have empty common sample type list"));
    }
    for p in profiles.iter_mut() {
        keep_sample_types(p, &common)?;
    }
    Ok(())
}

/// Reorders and drops `p`'s sample value columns so they are exactly `types`.
fn keep_sample_types(p: &mut Profile, types: &[String]) -> Result<()> {
    let mut default = types[0].clone();
    let mut remap = Vec::with_capacity(types.len());
    for ty in types {
        if ty == p.str(p.default_sample_type) {
            default = ty.clone();
        }
        let Some(index) = p.sample_types.iter().position(|t| p.str(t.ty) == ty) else {
            return Err(Error::new(format!(
                "{ty:?} sample type is not found in profile"
            )));
        };
        remap.push(index);
    }
    let identity = remap.iter().enumerate().all(|(i, &j)| i == j);
    if identity && types.len() == p.sample_types.len() {
        return Ok(());
    }
    p.default_sample_type = p.intern(&default);
    p.sample_types = remap.iter().map(|&i| p.sample_types[i]).collect();
    p.samples.rewrite_values(types.len(), |old, new| {
        for (v, &i) in new.iter_mut().zip(&remap) {
            *v = old[i];
        }
    });
    Ok(())
}
