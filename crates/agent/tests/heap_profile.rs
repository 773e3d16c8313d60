//! The heap profiler, installed as this test binary's global allocator.

use std::alloc::System;

use profile::Profile;
use profkit_agent::{heap_profile, set_mem_profile_rate, Sampled};

#[global_allocator]
static ALLOC: Sampled<System> = Sampled::new(System);

const BLOCK: usize = 64 * 1024;
const BLOCKS: usize = 2000;

#[inline(never)]
fn allocate_known_site() -> Vec<Vec<u8>> {
    (0..BLOCKS).map(|_| vec![1u8; BLOCK]).collect()
}

/// Sums `index` over the samples whose stack has a function named like `name`.
fn total_for(p: &Profile, name: &str, index: usize) -> i64 {
    p.samples
        .iter()
        .filter(|s| {
            s.locations.iter().any(|l| {
                p.locations[l as usize].lines.iter().any(|line| {
                    p.str(p.functions[line.function as usize].name)
                        .contains(name)
                })
            })
        })
        .map(|s| s.values.at(index))
        .sum()
}

#[test]
fn known_allocation_site_dominates_with_the_right_byte_count() {
    set_mem_profile_rate(32 * 1024);
    let kept = allocate_known_site();
    let p = heap_profile();
    let want = (BLOCK * BLOCKS) as f64;

    let names: Vec<&str> = p.sample_types.iter().map(|t| p.str(t.ty)).collect();
    assert_eq!(
        names,
        [
            "alloc_objects",
            "alloc_space",
            "inuse_objects",
            "inuse_space"
        ]
    );
    assert_eq!(p.str(p.period_type.ty), "space");
    assert_eq!(p.period, 32 * 1024);

    let inuse = total_for(&p, "allocate_known_site", 3) as f64;
    let alloc = total_for(&p, "allocate_known_site", 1) as f64;
    assert!(
        (inuse - want).abs() < want * 0.10,
        "inuse {inuse} want {want}"
    );
    assert!(
        (alloc - want).abs() < want * 0.10,
        "alloc {alloc} want {want}"
    );
    let all_inuse: i64 = p.samples.iter().map(|s| s.values.at(3)).sum();
    assert!(
        inuse > all_inuse as f64 * 0.8,
        "site {inuse} of {all_inuse}"
    );

    // Freed blocks leave in-use space but stay in allocated space.
    drop(kept);
    let p = heap_profile();
    let inuse = total_for(&p, "allocate_known_site", 3) as f64;
    let alloc = total_for(&p, "allocate_known_site", 1) as f64;
    assert!(inuse < want * 0.01, "inuse after free {inuse}");
    assert!(
        (alloc - want).abs() < want * 0.10,
        "alloc after free {alloc}"
    );

    // The profile survives an encode/parse round trip.
    let bytes = profile::proto::encode_gzip(&p);
    let back = profile::parse(&bytes).expect("parse");
    assert_eq!(back.samples.len(), p.samples.len());
    assert!(!back.mappings.is_empty());
}
