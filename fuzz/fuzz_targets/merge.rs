//! Feeds two arbitrary profile.proto messages (the first byte says where the input
//! splits) to the merge, one at a time as a merge of many files takes them: a merge
//! of hostile profiles may fail, never panic. A merge that succeeds keeps each sample
//! type's total, and encodes to a profile that reads back the same.
#![no_main]

use libfuzzer_sys::fuzz_target;

/// Each column's values summed, as the merge sums them (wrapping).
fn totals(p: &profile::Profile) -> Vec<i64> {
    let mut sums = vec![0i64; p.width()];
    for s in p.samples.iter() {
        for (sum, v) in sums.iter_mut().zip(s.values.iter()) {
            *sum = sum.wrapping_add(v);
        }
    }
    sums
}

fuzz_target!(|input: &[u8]| {
    let Some((&split, data)) = input.split_first() else {
        return;
    };
    let cut = usize::from(split) * data.len() / 256;
    let (a, b) = data.split_at(cut);
    let (Ok(a), Ok(b)) = (profile::proto::decode(a), profile::proto::decode(b)) else {
        return;
    };
    let mut merge = profile::merge::Merge::new(&a);
    if merge.add(&a).is_err() || merge.add(&b).is_err() {
        return;
    }
    let merged = merge.finish();
    let expected: Vec<i64> = totals(&a)
        .iter()
        .zip(totals(&b))
        .map(|(x, y)| x.wrapping_add(y))
        .collect();
    assert_eq!(totals(&merged), expected);
    let back = profile::parse(&profile::proto::encode_gzip(&merged)).expect("the merge reads back");
    assert_eq!(back.debug_string(), merged.debug_string());
});
