//! Behaviour of each transform on small hand-built profiles.

use std::collections::HashMap;

use profile::{
    merge, Function, Label, Line, Location, Mapping, MappingIndex, Profile, StrId, TagFilter,
    ValueType,
};
use regex::Regex;

/// A profile with sample types `types` (all `count`), one function and location per
/// name (ids 1, 2, ...; location `i` calls nothing, stacks name them leaf first), and
/// one mapping.
fn profile_with(types: &[&str], names: &[&str]) -> Profile {
    let mut p = Profile::new(types.len());
    for t in types {
        let ty = p.intern(t);
        let unit = p.intern("count");
        p.sample_types.push(ValueType { ty, unit });
    }
    let file = p.intern("/bin/app");
    p.mappings.push(Mapping {
        id: 1,
        memory_start: 0x1000,
        memory_limit: 0x9000,
        filename: file,
        has_functions: true,
        ..Mapping::default()
    });
    for (i, name) in names.iter().enumerate() {
        let name = p.intern(name);
        let filename = p.intern("app.go");
        p.functions.push(Function {
            id: i as u64 + 1,
            name,
            system_name: name,
            filename,
            start_line: 1,
        });
        p.locations.push(Location {
            id: i as u64 + 1,
            mapping: Some(MappingIndex::new(0)),
            address: 0x1000 + 0x10 * i as u64,
            lines: vec![Line {
                function: i as u32,
                line: 10,
                column: 0,
            }]
            .into(),
            is_folded: false,
        });
    }
    p
}

fn label(p: &mut Profile, key: &str, value: &str) -> Label {
    Label {
        key: p.intern(key),
        str: p.intern(value),
        num: 0,
        num_unit: StrId::EMPTY,
    }
}

fn num_label(p: &mut Profile, key: &str, num: i64, unit: &str) -> Label {
    Label {
        key: p.intern(key),
        str: StrId::EMPTY,
        num,
        num_unit: p.intern(unit),
    }
}

/// Stacks of all samples as function names, leaf first.
fn stacks(p: &Profile) -> Vec<Vec<String>> {
    p.samples
        .iter()
        .map(|s| {
            s.locations
                .iter()
                .flat_map(|l| {
                    p.locations[l as usize]
                        .lines
                        .iter()
                        .map(|ln| p.str(p.functions[ln.function as usize].name).to_string())
                })
                .collect()
        })
        .collect()
}

fn values(p: &Profile) -> Vec<Vec<i64>> {
    p.samples.iter().map(|s| s.values.to_vec()).collect()
}

#[test]
fn merge_sums_values_of_identical_stacks() {
    let mut a = profile_with(&["samples"], &["leaf", "main"]);
    a.samples.push(&[3], &[0, 1], &[]);
    a.samples.push(&[4], &[1], &[]);
    let mut b = profile_with(&["samples"], &["leaf", "main"]);
    b.samples.push(&[5], &[0, 1], &[]);
    let merged = merge(vec![a, b]).unwrap();
    assert_eq!(values(&merged), vec![vec![8], vec![4]]);
    assert_eq!(merged.locations.len(), 2);
    assert_eq!(merged.functions.len(), 2);
    assert_eq!(merged.mappings.len(), 1);
}

#[test]
fn merge_of_many_samples_sums_each_key_in_order_of_first_appearance() {
    // Hundreds of samples, with repeats near (in the same run of samples) and far
    // (in another profile), zero values among them: every key's values are summed
    // into the sample that first had it, in order.
    let names: Vec<String> = (0..12).map(|i| format!("f{i}")).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let mut expected: Vec<((Vec<u32>, String), i64)> = Vec::new();
    let mut profiles = Vec::new();
    for source in 0..3u32 {
        let mut p = profile_with(&["samples"], &names);
        for i in 0..300u32 {
            let key = (i * 7 + source * 3) % 97;
            let stack: Vec<u32> = (0..1 + key % 5).map(|d| (key + d) % 12).collect();
            let task = format!("t{}", key % 4);
            let value = if i % 11 == 0 { 0 } else { i as i64 + 1 };
            let l = label(&mut p, "task", &task);
            p.samples.push(&[value], &stack, &[l]);
            if value == 0 {
                continue;
            }
            let key = (stack, task);
            match expected.iter_mut().find(|(k, _)| *k == key) {
                Some((_, sum)) => *sum += value,
                None => expected.push((key, value)),
            }
        }
        profiles.push(p);
    }
    let merged = merge(profiles).unwrap();
    let got: Vec<((Vec<String>, String), i64)> = merged
        .samples
        .iter()
        .zip(stacks(&merged))
        .map(|(s, stack)| {
            let task = merged.str(s.labels[0].str).to_string();
            ((stack, task), s.values.to_vec()[0])
        })
        .collect();
    let want: Vec<((Vec<String>, String), i64)> = expected
        .into_iter()
        .map(|((stack, task), sum)| {
            let stack = stack.iter().map(|&l| format!("f{l}")).collect();
            ((stack, task), sum)
        })
        .collect();
    assert_eq!(got, want);
}

#[test]
fn merge_keeps_samples_with_different_labels_apart() {
    let mut a = profile_with(&["samples"], &["main"]);
    let x = label(&mut a, "task", "x");
    let y = label(&mut a, "task", "y");
    a.samples.push(&[1], &[0], &[x]);
    a.samples.push(&[2], &[0], &[y]);
    a.samples.push(&[3], &[0], &[x]);
    let merged = merge(vec![a]).unwrap();
    assert_eq!(values(&merged), vec![vec![4], vec![2]]);
}

#[test]
fn merge_drops_samples_that_sum_to_zero_and_what_only_they_use() {
    let mut a = profile_with(&["samples"], &["kept", "gone"]);
    a.samples.push(&[5], &[0], &[]);
    a.samples.push(&[2], &[1], &[]);
    let mut b = profile_with(&["samples"], &["kept", "gone"]);
    b.samples.push(&[-2], &[1], &[]);
    let merged = merge(vec![a, b]).unwrap();
    assert_eq!(values(&merged), vec![vec![5]]);
    assert_eq!(merged.locations.len(), 1);
    assert_eq!(merged.functions.len(), 1);
    assert_eq!(merged.str(merged.functions[0].name), "kept");
}

#[test]
fn merge_numbers_entities_in_order_of_first_use() {
    let mut a = profile_with(&["samples"], &["unused", "b", "a"]);
    a.samples.push(&[1], &[2, 1], &[]);
    let merged = merge(vec![a]).unwrap();
    let ids: Vec<u64> = merged.locations.iter().map(|l| l.id).collect();
    assert_eq!(ids, vec![1, 2]);
    assert_eq!(stacks(&merged), vec![vec!["a", "b"]]);
    assert_eq!(merged.locations[0].address, 0x1020);
}

#[test]
fn merge_combines_headers_as_pprof_does() {
    let mut a = profile_with(&["samples"], &["main"]);
    a.period = 10;
    a.time_nanos = 200;
    a.duration_nanos = 5;
    let c = a.intern("first");
    a.comments.push(c);
    let mut b = profile_with(&["samples"], &["main"]);
    b.period = 30;
    b.time_nanos = 100;
    b.duration_nanos = 7;
    let c1 = b.intern("first");
    let c2 = b.intern("second");
    b.comments.extend([c1, c2]);
    let dst = b.intern("samples");
    b.default_sample_type = dst;
    let merged = merge(vec![a, b]).unwrap();
    assert_eq!(merged.period, 30);
    assert_eq!(merged.time_nanos, 100);
    assert_eq!(merged.duration_nanos, 12);
    let comments: Vec<&str> = merged.comments.iter().map(|&c| merged.str(c)).collect();
    assert_eq!(comments, ["first", "second"]);
    assert_eq!(merged.str(merged.default_sample_type), "samples");
}

#[test]
fn merge_refuses_profiles_with_different_sample_types() {
    let a = profile_with(&["samples"], &[]);
    let b = profile_with(&["cpu"], &[]);
    let err = merge(vec![a, b]).unwrap_err();
    assert!(
        err.message().starts_with("incompatible sample types"),
        "{err}"
    );
    assert_eq!(merge(vec![]).unwrap_err().message(), "no profiles to merge");
}

#[test]
fn a_merge_refuses_a_profile_of_other_types_and_stays_as_it_was() {
    let mut a = profile_with(&["samples"], &["main", "work"]);
    a.samples.push(&[3], &[1, 0], &[]);
    let mut other = profile_with(&["cpu"], &["main"]);
    other.samples.push(&[5], &[0], &[]);
    let mut merge = profile::merge::Merge::new(&a);
    merge.add(&a).unwrap();
    let err = merge.add(&other).unwrap_err();
    assert!(
        err.message().starts_with("incompatible sample types"),
        "{err}"
    );
    assert_eq!(
        profile::proto::encode(&merge.finish()),
        profile::proto::encode(&profile::merge(vec![a]).unwrap())
    );
}

#[test]
fn merge_takes_the_time_of_the_source_after_a_zero_time() {
    // pprof's rule: a source replaces the time when the time so far is zero or later.
    let with_time = |t| {
        let mut p = profile_with(&["samples"], &["main"]);
        p.time_nanos = t;
        p
    };
    let merged = merge(vec![with_time(300), with_time(0), with_time(500)]).unwrap();
    assert_eq!(merged.time_nanos, 500);
    let merged = merge(vec![with_time(300), with_time(100), with_time(500)]).unwrap();
    assert_eq!(merged.time_nanos, 100);
}

#[test]
fn merge_treats_mappings_of_the_same_file_at_other_addresses_as_one() {
    let mut a = profile_with(&["samples"], &["main"]);
    a.samples.push(&[1], &[0], &[]);
    let mut b = profile_with(&["samples"], &["main"]);
    // The same binary loaded 0x10000 higher: the location is the same.
    b.mappings[0].memory_start += 0x10000;
    b.mappings[0].memory_limit += 0x10000;
    b.locations[0].address += 0x10000;
    b.samples.push(&[2], &[0], &[]);
    let merged = merge(vec![a, b]).unwrap();
    assert_eq!(merged.mappings.len(), 1);
    assert_eq!(merged.locations.len(), 1);
    assert_eq!(values(&merged), vec![vec![3]]);
}

#[test]
fn compact_removes_unused_entities_and_renumbers() {
    let mut p = profile_with(&["samples"], &["x", "y", "z"]);
    p.samples.push(&[1], &[2], &[]);
    let p = p.compact();
    assert_eq!(p.locations.len(), 1);
    assert_eq!(p.locations[0].id, 1);
    assert_eq!(p.functions[0].id, 1);
    assert_eq!(p.str(p.functions[0].name), "z");
}

#[test]
fn scale_n_rounds_half_away_from_zero_and_drops_zeroed_samples() {
    let mut p = profile_with(&["a", "b"], &["main"]);
    p.samples.push(&[5, 1], &[0], &[]);
    p.samples.push(&[1, 100], &[0], &[]);
    p.samples.push(&[-5, 7], &[0], &[]);
    p.scale_n(&[0.5, 0.0]).unwrap();
    // 5*0.5 = 2.5 rounds to 3; 1*0.5 rounds to 1; -2.5 rounds to -3.
    assert_eq!(values(&p), vec![vec![3, 0], vec![1, 0], vec![-3, 0]]);
    p.scale_n(&[0.1, 1.0]).unwrap();
    assert!(p.samples.is_empty());
}

#[test]
fn scale_n_ignores_unscaled_columns_when_deciding_to_keep_a_sample() {
    let mut p = profile_with(&["a", "b"], &["main"]);
    p.samples.push(&[1, 50], &[0], &[]);
    p.scale_n(&[0.1, 1.0]).unwrap();
    assert!(p.samples.is_empty());
}

#[test]
fn scale_n_rejects_a_ratio_list_of_the_wrong_length() {
    let mut p = profile_with(&["a", "b"], &[]);
    let err = p.scale_n(&[1.0]).unwrap_err();
    assert_eq!(err.message(), "mismatched scale ratios, got 1, want 2");
}

#[test]
fn normalize_scales_each_type_to_the_base_total() {
    let mut p = profile_with(&["a"], &["main"]);
    p.samples.push(&[10], &[0], &[]);
    p.samples.push(&[30], &[0], &[]);
    let mut base = profile_with(&["a"], &["main"]);
    base.samples.push(&[20], &[0], &[]);
    p.normalize(&base).unwrap();
    assert_eq!(values(&p), vec![vec![5], vec![15]]);
}

#[test]
fn set_label_replaces_values_and_keeps_canonical_order() {
    let mut p = profile_with(&["a"], &["main"]);
    let z = label(&mut p, "zone", "eu");
    let old = label(&mut p, "pprof::base", "false");
    let n = num_label(&mut p, "bytes", 8, "bytes");
    p.samples.push(&[1], &[0], &[old, z, n]);
    p.set_label("pprof::base", &["true"]);
    let s = p.samples.get(0);
    let text: Vec<String> = s
        .labels
        .iter()
        .map(|l| format!("{}:{}:{}", p.str(l.key), p.str(l.str), { l.num }))
        .collect();
    assert_eq!(text, ["pprof::base:true:0", "zone:eu:0", "bytes::8"]);
    assert!(p.is_diff_base_sample(s));
    p.remove_label("pprof::base");
    assert!(!p.is_diff_base_sample(p.samples.get(0)));
    assert_eq!(p.samples.get(0).labels.len(), 2);
}

#[test]
fn num_label_units_takes_the_first_unit_and_infers_missing_ones() {
    let mut p = profile_with(&["a"], &["main"]);
    let l1 = num_label(&mut p, "size", 1, "bytes");
    let l2 = num_label(&mut p, "size", 2, "kilobytes");
    let l3 = num_label(&mut p, "request", 3, "");
    let l4 = num_label(&mut p, "count", 4, "");
    p.samples.push(&[1], &[0], &[l1, l2]);
    p.samples.push(&[1], &[0], &[l3, l4]);
    let (units, ignored) = p.num_label_units();
    assert_eq!(units["size"], "bytes");
    assert_eq!(units["request"], "bytes");
    assert_eq!(units["count"], "count");
    assert_eq!(ignored["size"], vec!["kilobytes".to_string()]);
}

#[test]
fn num_label_units_are_those_of_the_samples_left_whatever_sets_were_stored_before() {
    let mut p = profile_with(&["a"], &["main"]);
    let warm = label(&mut p, "phase", "warm");
    let steady = label(&mut p, "phase", "steady");
    let kb = num_label(&mut p, "size", 1, "kB");
    let mb = num_label(&mut p, "size", 2, "MB");
    let plain = num_label(&mut p, "size", 3, "");
    p.samples.push(&[1], &[0], &[warm, kb]);
    p.samples.push(&[1], &[0], &[steady, mb]);
    p.samples.push(&[1], &[0], &[steady, plain]);
    p.samples.push(&[1], &[0], &[warm, kb]);
    let (units, ignored) = p.num_label_units();
    assert_eq!(units["size"], "kB");
    assert_eq!(ignored["size"], vec!["MB".to_string()]);
    // The first sample, whose set was stored first, is left out: its unit is no
    // longer the first one met.
    let f = TagFilter::parse("tagfocus", "phase=steady", &units).unwrap();
    p.filter_samples_by_tag(Some(&f), None);
    assert_eq!(p.samples.len(), 2);
    let (units, ignored) = p.num_label_units();
    assert_eq!(units["size"], "MB");
    assert!(ignored.is_empty(), "{ignored:?}");
}

fn tag_profile() -> Profile {
    let mut p = profile_with(&["a"], &["main"]);
    let io = label(&mut p, "pool", "io");
    let cpu = label(&mut p, "pool", "cpu");
    let steady = label(&mut p, "phase", "steady");
    let small = num_label(&mut p, "bytes", 512, "bytes");
    let big = num_label(&mut p, "bytes", 4096, "bytes");
    p.samples.push(&[1], &[0], &[steady, io, small]);
    p.samples.push(&[2], &[0], &[cpu, big]);
    p
}

fn units(p: &Profile) -> HashMap<String, String> {
    p.num_label_units().0
}

fn matching(p: &Profile, filter: &str) -> Vec<bool> {
    let f = TagFilter::parse("tagfocus", filter, &units(p)).unwrap();
    p.samples.iter().map(|s| f.matches(p, s)).collect()
}

#[test]
fn tag_filter_with_key_matches_any_of_its_expressions() {
    let p = tag_profile();
    assert_eq!(matching(&p, "pool=io,cpu"), [true, true]);
    assert_eq!(matching(&p, "pool=cpu"), [false, true]);
    assert_eq!(matching(&p, "phase=cpu"), [false, false]);
}

#[test]
fn tag_filter_without_key_needs_every_expression_on_key_value_pairs() {
    let p = tag_profile();
    assert_eq!(matching(&p, "io,steady"), [true, false]);
    assert_eq!(matching(&p, "pool:cpu"), [false, true]);
    // Many expressions: each must match (both samples have a pair with an `o`, only
    // the first one `steady`).
    for n in [2, 64, 65, 100] {
        let mut rx: Vec<String> = (0..n - 1).map(|i| format!("x{i}|o")).collect();
        rx.push("steady".into());
        assert_eq!(matching(&p, &rx.join(",")), [true, false], "{n}");
    }
}

#[test]
fn tag_filter_numeric_ranges_compare_in_the_range_unit() {
    let p = tag_profile();
    let f = TagFilter::parse("tagfocus", "1kb:", &units(&p)).unwrap();
    assert!(f.is_range());
    assert_eq!(matching(&p, "1kb:"), [false, true]);
    assert_eq!(matching(&p, ":1kb"), [true, false]);
    assert_eq!(matching(&p, "512b"), [true, false]);
    assert_eq!(matching(&p, "bytes=256b:1kb"), [true, false]);
    assert_eq!(matching(&p, "other=1b:"), [false, false]);
    // A range whose bounds are of different kinds is read as a regex.
    assert!(!TagFilter::parse("tagfocus", "1kb:2ms", &units(&p))
        .unwrap()
        .is_range());
}

#[test]
fn tag_filter_reports_a_bad_regex_with_the_option_name() {
    let err = TagFilter::parse("tagignore", "a(", &HashMap::new()).unwrap_err();
    assert!(
        err.message().starts_with("parsing tagignore regexp: "),
        "{err}"
    );
}

#[test]
fn filter_samples_by_tag_keeps_focused_and_not_ignored() {
    let mut p = tag_profile();
    let u = units(&p);
    let focus = TagFilter::parse("tagfocus", "pool=io|cpu", &u).unwrap();
    let ignore = TagFilter::parse("tagignore", "phase=steady", &u).unwrap();
    assert_eq!(
        p.filter_samples_by_tag(Some(&focus), Some(&ignore)),
        (true, true)
    );
    assert_eq!(values(&p), vec![vec![2]]);
}

#[test]
fn tag_filters_judge_many_samples_as_they_judge_each_sample_alone() {
    // Enough frames for the samples to be judged on every core, and labels that share
    // keys and values (one text both a key and a value) across thousands of sets.
    let mut p = profile_with(&["a"], &["main"]);
    let stack = vec![0u32; 100];
    let strings = ["io", "cpu", "pool", "steady", "phase", "io-2"];
    for i in 0..3000usize {
        let pick = |k: usize| strings[(i * 7 + k * 3 + i / 11) % strings.len()];
        let mut labels = vec![
            label(&mut p, pick(0), pick(1)),
            label(&mut p, "pool", pick(2)),
            num_label(&mut p, "bytes", (i as i64 % 9) * 300, "bytes"),
        ];
        if i % 5 == 0 {
            labels.push(label(&mut p, "phase", &format!("step{}", i % 13)));
        }
        p.samples.push(&[i as i64 + 1], &stack, &labels);
    }
    let u = units(&p);
    // 64 expressions, each to be matched by some pair, and 65.
    let many = |n: usize| -> String {
        let mut rx: Vec<String> = (0..n - 1).map(|i| format!("x{i}|o")).collect();
        rx.push("steady".into());
        rx.join(",")
    };
    let filters = [
        "pool=io",
        "pool=^io$,steady",
        "phase=step[0-3]",
        "io,pool",
        "phase:io",
        "pool",
        &many(64),
        &many(65),
        "1kb:",
        "bytes=:900b",
        "pool=1kb:",
    ];
    for focus in filters {
        for ignore in [None, Some("pool=cpu"), Some("2kb:")] {
            let focus = TagFilter::parse("tagfocus", focus, &u).unwrap();
            let ignore = ignore.map(|i| TagFilter::parse("tagignore", i, &u).unwrap());
            let expected: Vec<Vec<i64>> = p
                .samples
                .iter()
                .filter(|&s| {
                    focus.matches(&p, s) && !ignore.as_ref().is_some_and(|i| i.matches(&p, s))
                })
                .map(|s| s.values.to_vec())
                .collect();
            let mut q = p.clone();
            q.filter_samples_by_tag(Some(&focus), ignore.as_ref());
            assert_eq!(values(&q), expected, "{focus:?} {ignore:?}");
        }
    }
}

#[test]
fn filter_tags_by_name_removes_hidden_and_unshown_keys() {
    let mut p = tag_profile();
    let show = Regex::new("pool|bytes").unwrap();
    let hide = Regex::new("bytes").unwrap();
    assert_eq!(
        p.filter_tags_by_name(Some(&show), Some(&hide)),
        (true, true)
    );
    let keys: Vec<Vec<&str>> = p
        .samples
        .iter()
        .map(|s| s.labels.iter().map(|l| p.str(l.key)).collect())
        .collect();
    assert_eq!(keys, vec![vec!["pool"], vec!["pool"]]);
}

#[test]
fn focus_ignore_hide_and_show_filter_by_frame_name() {
    let mut p = profile_with(&["a"], &["leaf", "mid", "main"]);
    p.samples.push(&[1], &[0, 1, 2], &[]);
    p.samples.push(&[2], &[1, 2], &[]);
    p.samples.push(&[4], &[2], &[]);
    let mut q = p.clone();
    let m = p.filter_samples_by_name(
        Some(&Regex::new("mid").unwrap()),
        Some(&Regex::new("leaf").unwrap()),
        None,
        None,
    );
    assert!(m.focus && m.ignore && !m.hide && !m.show);
    assert_eq!(values(&p), vec![vec![2]]);

    let m = q.filter_samples_by_name(None, None, Some(&Regex::new("main").unwrap()), None);
    assert!(m.focus && m.hide);
    assert_eq!(stacks(&q), vec![vec!["leaf", "mid"], vec!["mid"]]);
}

#[test]
fn filters_match_the_mapping_file_name() {
    let mut p = profile_with(&["a"], &["main"]);
    p.samples.push(&[1], &[0], &[]);
    let m = p.filter_samples_by_name(Some(&Regex::new("^/bin/app$").unwrap()), None, None, None);
    assert!(m.focus);
    assert_eq!(p.samples.len(), 1);
}

#[test]
fn show_from_drops_callers_of_the_rootmost_match() {
    let mut p = profile_with(&["a"], &["leaf", "handler", "main"]);
    p.samples.push(&[1], &[0, 1, 2], &[]);
    p.samples.push(&[2], &[0, 2], &[]);
    assert!(p.show_from(&Regex::new("handler").unwrap()));
    assert_eq!(stacks(&p), vec![vec!["leaf", "handler"]]);
}

#[test]
fn prune_drops_matching_frames_and_their_callees_but_not_the_root() {
    let mut p = profile_with(
        &["a"],
        &[
            "runtime.mallocgc",
            "runtime.newobject",
            "main.f",
            "runtime.main",
        ],
    );
    p.samples.push(&[1], &[0, 1, 2, 3], &[]);
    p.samples.push(&[2], &[0, 1], &[]);
    p.prune(&Regex::new("^runtime\\..*$").unwrap(), None);
    // The root frames match too but come before the first user frame: kept.
    assert_eq!(
        stacks(&p),
        vec![
            vec!["main.f", "runtime.main"],
            vec!["runtime.mallocgc", "runtime.newobject"]
        ]
    );
}

#[test]
fn prune_spares_frames_matching_keep() {
    let mut p = profile_with(&["a"], &["runtime.mallocgc", "runtime.newobject", "main.f"]);
    p.samples.push(&[1], &[0, 1, 2], &[]);
    p.prune(
        &Regex::new("^runtime\\..*$").unwrap(),
        Some(&Regex::new("mallocgc").unwrap()),
    );
    assert_eq!(stacks(&p), vec![vec!["main.f"]]);
}

#[test]
fn remove_uninteresting_uses_the_profile_drop_frames_anchored() {
    let mut p = profile_with(&["a"], &["malloc", "xmalloc_wrapper", "main"]);
    p.samples.push(&[1], &[0, 1, 2], &[]);
    let drop = p.intern("malloc");
    p.drop_frames = drop;
    p.remove_uninteresting().unwrap();
    assert_eq!(stacks(&p), vec![vec!["xmalloc_wrapper", "main"]]);
    let bad = p.intern("(");
    p.drop_frames = bad;
    let err = p.remove_uninteresting().unwrap_err();
    assert!(
        err.message().starts_with("failed to compile regexp (: "),
        "{err}"
    );
}

#[test]
fn prune_from_drops_callees_of_the_leafmost_match() {
    let mut p = profile_with(&["a"], &["memmove", "copy", "main"]);
    p.samples.push(&[1], &[0, 1, 2], &[]);
    p.prune_from(&Regex::new("^copy$").unwrap());
    assert_eq!(stacks(&p), vec![vec!["copy", "main"]]);
}

#[test]
fn sample_index_by_name_accepts_names_numbers_and_inuse_aliases() {
    let mut p = profile_with(&["objects", "space"], &[]);
    assert_eq!(p.sample_index_by_name("").unwrap(), 1);
    let dst = p.intern("objects");
    p.default_sample_type = dst;
    assert_eq!(p.sample_index_by_name("").unwrap(), 0);
    assert_eq!(p.sample_index_by_name("1").unwrap(), 1);
    assert_eq!(p.sample_index_by_name("inuse_space").unwrap(), 1);
    assert_eq!(
        p.sample_index_by_name("2").unwrap_err().message(),
        "sample_index 2 is outside the range [0..1]"
    );
    assert_eq!(
        p.sample_index_by_name("cpu").unwrap_err().message(),
        "sample_index \"cpu\" must be one of: [objects space]"
    );
}

#[test]
fn aggregate_forgets_what_the_granularity_does_not_show() {
    let mut p = profile_with(&["a"], &["inlined", "caller"]);
    let inner = Line {
        function: 0,
        line: 5,
        column: 3,
    };
    p.locations[1].lines.insert(0, inner);
    p.samples.push(&[1], &[1], &[]);
    p.aggregate(false, true, false, false, false, false)
        .unwrap();
    let loc = &p.locations[1];
    assert_eq!(loc.lines.len(), 1);
    assert_eq!(loc.lines[0].line, 0);
    assert_eq!(loc.address, 0);
    assert!(p.functions.iter().all(|f| f.filename == StrId::EMPTY));
    assert!(!p.mappings[0].has_filenames && p.mappings[0].has_functions);
}

#[test]
fn label_frames_wrap_stacks_with_one_frame_per_key() {
    let mut p = tag_profile();
    let (root, leaf) = p.add_label_frames(&["pool".to_string()], &["bytes".to_string()], "kb");
    assert!(root && leaf);
    assert_eq!(
        stacks(&p),
        vec![vec!["0.50kB", "main", "io"], vec!["4kB", "main", "cpu"]]
    );
    let new_ids: Vec<u64> = p.locations.iter().map(|l| l.id).collect();
    assert_eq!(new_ids, [1, 2, 3, 4, 5]);
    let file = p.str(p.functions[p.locations[1].lines[0].function as usize].filename);
    assert_eq!(file, "pool");
}

#[test]
fn label_frames_for_a_missing_key_have_empty_names() {
    let mut p = tag_profile();
    let (root, _) = p.add_label_frames(&["absent".to_string()], &[], "minimum");
    assert!(!root);
    assert_eq!(stacks(&p), vec![vec!["main", ""], vec!["main", ""]]);
}

/// Sample `i`'s values in [`many_valued_samples`]: a growing count, a large negative
/// number, and now and then one of 50 bits.
fn values_of(i: i64) -> [i64; 3] {
    let rare = if i % 1000 == 0 { 1 << 50 } else { 1 };
    [i, -(i * 1_000_003), rare]
}

/// 10,000 samples, each with its own stack, with [`values_of`].
fn many_valued_samples() -> Profile {
    let names: Vec<String> = (0..100).map(|i| format!("f{i}")).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let mut p = profile_with(&["a", "b", "c"], &names);
    for i in 0..10_000u32 {
        p.samples
            .push(&values_of(i as i64), &[i % 100, i / 100], &[]);
    }
    p
}

#[test]
fn values_of_many_samples_survive_encoding_merging_scaling_and_filtering() {
    let p = many_valued_samples();
    let expected: Vec<Vec<i64>> = (0..10_000).map(|i| values_of(i).to_vec()).collect();
    assert_eq!(values(&p), expected);
    let decoded = profile::parse(&profile::proto::encode(&p)).unwrap();
    assert_eq!(values(&decoded), expected);

    // Merged with itself, every sample's values double.
    let doubled = merge(vec![p.clone(), p.clone()]).unwrap();
    let twice: Vec<Vec<i64>> = expected
        .iter()
        .map(|v| v.iter().map(|x| x * 2).collect())
        .collect();
    assert_eq!(values(&doubled), twice);

    // Scaled by -1 (as a base is), every value changes sign.
    let mut negated = p.clone();
    negated.scale(-1.0);
    let minus: Vec<Vec<i64>> = expected
        .iter()
        .map(|v| v.iter().map(|x| -x).collect())
        .collect();
    assert_eq!(values(&negated), minus);

    // Samples removed from the middle of the blocks leave the others' values as they were.
    let mut odd = p.clone();
    odd.samples.retain(|i, _| i % 2 == 1);
    let odd_expected: Vec<Vec<i64>> = expected.iter().skip(1).step_by(2).cloned().collect();
    assert_eq!(values(&odd), odd_expected);
}

/// A profile of 12,000 samples of 24 frames (enough for the filters to split them over
/// the cores), over eight functions, each sample labelled `handler` with one of four
/// values. Samples whose handler is `h1` mostly go through `rare`, which few others do.
fn filtered_profile() -> Profile {
    let names = ["main", "serve", "a", "b", "rare", "leaf", "x", "y"];
    let mut p = profile_with(&["samples"], &names);
    let handlers: Vec<Label> = (0..4)
        .map(|h| label(&mut p, "handler", &format!("h{h}")))
        .collect();
    for i in 0..12_000u32 {
        let h = (i * 7 + i / 13) % 4;
        let rare = if h == 1 { i % 50 != 0 } else { i % 997 == 0 };
        let stack: Vec<u32> = (0..24)
            .map(|d| match d {
                23 => 0,
                22 => 1,
                0 if rare => 4,
                0 => 5,
                _ => [2, 3, 6, 7][((i as usize) * 31 + d * 17) % 4],
            })
            .collect();
        p.samples
            .push(&[i as i64 + 1], &stack, &[handlers[h as usize]]);
    }
    p
}

#[test]
fn name_and_tag_filters_together_select_and_warn_as_applied_in_turn() {
    let base = filtered_profile();
    let u = units(&base);
    let rx = |s: &str| Regex::new(s).unwrap();
    let tag = |name: &str, s: &str| TagFilter::parse(name, s, &u).unwrap();
    let focuses = [None, Some(rx("rare")), Some(rx("^x$")), Some(rx("nothing"))];
    let ignores = [None, Some(rx("rare")), Some(rx("^y$")), Some(rx("nothing"))];
    let tag_focuses = [
        None,
        Some(tag("tagfocus", "handler=h1")),
        Some(tag("tagfocus", "handler=h[02]")),
        Some(tag("tagfocus", "handler=none")),
    ];
    let tag_ignores = [
        None,
        Some(tag("tagignore", "handler=h1")),
        Some(tag("tagignore", "handler=h3")),
        Some(tag("tagignore", "handler=none")),
    ];
    let mut kept_some = 0;
    for focus in &focuses {
        for ignore in &ignores {
            for tag_focus in &tag_focuses {
                for tag_ignore in &tag_ignores {
                    let mut in_turn = base.clone();
                    let names =
                        in_turn.filter_samples_by_name(focus.as_ref(), ignore.as_ref(), None, None);
                    let tags =
                        in_turn.filter_samples_by_tag(tag_focus.as_ref(), tag_ignore.as_ref());
                    let mut together = base.clone();
                    let got = together.filter_samples_by_name_and_tag(
                        focus.as_ref(),
                        ignore.as_ref(),
                        tag_focus.as_ref(),
                        tag_ignore.as_ref(),
                    );
                    let case = format!("{focus:?} {ignore:?} {tag_focus:?} {tag_ignore:?}");
                    assert_eq!(got, (names, tags), "{case}");
                    assert_eq!(values(&together), values(&in_turn), "{case}");
                    kept_some += usize::from(!in_turn.samples.is_empty());
                }
            }
        }
    }
    assert!(kept_some > 50, "only {kept_some} cases keep samples");
}

#[test]
fn numeric_label_units_of_many_samples_are_those_of_the_first_samples_to_use_them() {
    // 140,000 samples of 24 frames: enough to be read, and their labels' units
    // gathered, on several cores. `size` is in kB in the first half and MB in the
    // second; `wait` has a unit only from sample 105,000 on; `count` never has one;
    // `bytes` comes only in the second half.
    let names = ["main", "a", "b"];
    let mut p = profile_with(&["samples"], &names);
    for i in 0..140_000i64 {
        let mut labels = vec![num_label(
            &mut p,
            "size",
            i,
            if i < 70_000 { "kB" } else { "MB" },
        )];
        labels.push(num_label(
            &mut p,
            "wait",
            i % 7,
            if i < 105_000 { "" } else { "seconds" },
        ));
        labels.push(num_label(&mut p, "count", 1, ""));
        if i >= 70_000 {
            labels.push(num_label(&mut p, "bytes", i % 13, "B"));
        }
        let stack: Vec<u32> = (0..24).map(|d| (d % 3) as u32).collect();
        p.samples.push(&[1], &stack, &labels);
    }
    let (units, ignored) = p.num_label_units();
    let want = |k: &str, u: &str| (k.to_string(), u.to_string());
    let mut units: Vec<_> = units.into_iter().collect();
    units.sort();
    assert_eq!(
        units,
        vec![
            want("bytes", "B"),
            want("count", "count"),
            want("size", "kB"),
            want("wait", "seconds")
        ]
    );
    let mut ignored: Vec<_> = ignored.into_iter().collect();
    ignored.sort();
    assert_eq!(ignored, vec![("size".to_string(), vec!["MB".to_string()])]);
}
