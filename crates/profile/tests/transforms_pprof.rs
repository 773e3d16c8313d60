//! The transforms run in pprof's driver order on the conformance inputs must give the
//! profile pprof itself wrote with `-proto` for the same options (files under
//! tests/data/transforms, written by `go tool pprof -proto -symbolize=none ...`).

use std::fmt::Write as _;
use std::path::PathBuf;

use profile::{merge, parse, Profile, TagFilter, DIFF_BASE_LABEL};
use regex::Regex;

fn inputs_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/conformance/differential/inputs")
}

fn load_input(name: &str) -> Profile {
    let path = inputs_dir().join(name);
    let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    parse(&data).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn load_expected(name: &str) -> Profile {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/transforms")
        .join(format!("{name}.pb.gz"));
    let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    parse(&data).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The options of one pprof run that the transforms implement.
#[derive(Default)]
struct Options<'a> {
    sources: &'a [&'a str],
    base: Option<&'a str>,
    diff_base: bool,
    normalize: bool,
    focus: Option<&'a str>,
    ignore: Option<&'a str>,
    hide: Option<&'a str>,
    show: Option<&'a str>,
    show_from: Option<&'a str>,
    tag_focus: Option<&'a str>,
    tag_ignore: Option<&'a str>,
    tag_show: Option<&'a str>,
    tag_hide: Option<&'a str>,
    prune_from: Option<&'a str>,
    tag_root: &'a [&'a str],
    tag_leaf: &'a [&'a str],
    unit: Option<&'a str>,
    no_inlines: bool,
}

/// Runs the transforms as pprof's driver does for `-proto`.
fn run(o: &Options<'_>) -> Profile {
    let rx = |s: Option<&str>| s.map(|s| Regex::new(s).expect("test regex"));
    let sources: Vec<Profile> = o.sources.iter().map(|s| load_input(s)).collect();
    let mut p = if sources.len() == 1 {
        sources.into_iter().next().expect("one source")
    } else {
        merge(sources).expect("merge")
    };
    if let Some(base) = o.base {
        let mut pbase = load_input(base);
        if o.diff_base {
            pbase.set_label(DIFF_BASE_LABEL, &["true"]);
        }
        if o.normalize {
            p.normalize(&pbase).expect("normalize");
        }
        pbase.scale(-1.0);
        p = merge(vec![p, pbase]).expect("merge with base");
    }
    p.remove_uninteresting().expect("remove_uninteresting");
    let (units, _) = p.num_label_units();
    let roots: Vec<String> = o.tag_root.iter().map(|s| s.to_string()).collect();
    let leaves: Vec<String> = o.tag_leaf.iter().map(|s| s.to_string()).collect();
    p.add_label_frames(&roots, &leaves, o.unit.unwrap_or("minimum"));
    p.filter_samples_by_name(
        rx(o.focus).as_ref(),
        rx(o.ignore).as_ref(),
        rx(o.hide).as_ref(),
        rx(o.show).as_ref(),
    );
    if let Some(re) = rx(o.show_from) {
        p.show_from(&re);
    }
    let tag = |name: &str, v: Option<&str>| {
        v.map(|v| TagFilter::parse(name, v, &units).expect("tag filter"))
    };
    let focus = tag("tagfocus", o.tag_focus);
    let ignore = tag("tagignore", o.tag_ignore);
    p.filter_samples_by_tag(focus.as_ref(), ignore.as_ref());
    p.filter_tags_by_name(rx(o.tag_show).as_ref(), rx(o.tag_hide).as_ref());
    if let Some(re) = rx(o.prune_from) {
        p.prune_from(&re);
    }
    // -proto forces address granularity: only -noinlines aggregates.
    if o.no_inlines {
        p.aggregate(false, true, true, true, false, true)
            .expect("aggregate");
    }
    p
}

/// A text form of everything pprof's `-proto` output pins: header, samples in order,
/// and the entity tables with their ids.
fn dump(p: &Profile) -> String {
    let mut out = String::new();
    let vt = |v: &profile::ValueType| format!("{}/{}", p.str(v.ty), p.str(v.unit));
    let types: Vec<String> = p.sample_types.iter().map(vt).collect();
    let comments: Vec<&str> = p.comments.iter().map(|&c| p.str(c)).collect();
    let _ = writeln!(
        out,
        "types {:?} period {} {} time {} duration {} drop {:?} keep {:?} default {:?} comments {:?}",
        types,
        vt(&p.period_type),
        p.period,
        p.time_nanos,
        p.duration_nanos,
        p.str(p.drop_frames),
        p.str(p.keep_frames),
        p.str(p.default_sample_type),
        comments
    );
    for s in p.samples.iter() {
        let ids: Vec<u64> = s
            .locations
            .iter()
            .map(|l| p.locations[l as usize].id)
            .collect();
        let labels: Vec<String> = s
            .labels
            .iter()
            .map(|l| {
                if l.is_numeric() {
                    format!("{}={}{}", p.str(l.key), { l.num }, p.str(l.num_unit))
                } else {
                    format!("{}:{}", p.str(l.key), p.str(l.str))
                }
            })
            .collect();
        let _ = writeln!(out, "sample {:?} {:?} {:?}", s.values, ids, labels);
    }
    for m in &p.mappings {
        let _ = writeln!(
            out,
            "mapping {} {:#x}-{:#x} off {:#x} {:?} {:?} {}{}{}{}",
            m.id,
            m.memory_start,
            m.memory_limit,
            m.file_offset,
            p.str(m.filename),
            p.str(m.build_id),
            m.has_functions as u8,
            m.has_filenames as u8,
            m.has_line_numbers as u8,
            m.has_inline_frames as u8
        );
    }
    for l in &p.locations {
        let lines: Vec<String> = l
            .lines
            .iter()
            .map(|ln| {
                format!(
                    "{}:{}:{}",
                    p.functions[ln.function as usize].id, ln.line, ln.column
                )
            })
            .collect();
        let _ = writeln!(
            out,
            "location {} m{} {:#x} {:?} folded {}",
            l.id,
            l.mapping.map_or(0, |m| p.mappings[m.index()].id),
            l.address,
            lines,
            l.is_folded
        );
    }
    for f in &p.functions {
        let _ = writeln!(
            out,
            "function {} {:?} {:?} {:?} {}",
            f.id,
            p.str(f.name),
            p.str(f.system_name),
            p.str(f.filename),
            f.start_line
        );
    }
    out
}

fn assert_same(expected_name: &str, got: &Profile) {
    let want = dump(&load_expected(expected_name));
    let got = dump(got);
    if want != got {
        let first = want
            .lines()
            .zip(got.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(want.lines().count().min(got.lines().count()));
        let show = |s: &str| s.lines().skip(first).take(4).collect::<Vec<_>>().join("\n");
        panic!(
            "{expected_name}: differs from pprof at line {first}\n--- pprof\n{}\n--- ours\n{}",
            show(&want),
            show(&got)
        );
    }
}

#[test]
fn merge_of_two_profiles_matches_pprof() {
    let got = run(&Options {
        sources: &["cpu_a.pb.gz", "cpu_b.pb.gz"],
        ..Default::default()
    });
    assert_same("merge_ab", &got);
}

#[test]
fn merge_of_a_profile_with_itself_doubles_values_like_pprof() {
    let got = run(&Options {
        sources: &["cpu_a.pb.gz", "cpu_a.pb.gz"],
        ..Default::default()
    });
    assert_same("merge_aa", &got);
}

#[test]
fn diff_base_labels_and_negates_the_base_like_pprof() {
    let got = run(&Options {
        sources: &["cpu_b.pb.gz"],
        base: Some("cpu_a.pb.gz"),
        diff_base: true,
        ..Default::default()
    });
    assert_same("diff_base", &got);
}

#[test]
fn base_subtraction_drops_cancelled_samples_like_pprof() {
    let got = run(&Options {
        sources: &["cpu_b.pb.gz"],
        base: Some("cpu_a.pb.gz"),
        ..Default::default()
    });
    assert_same("base", &got);
}

#[test]
fn normalize_scales_to_the_base_total_like_pprof() {
    let got = run(&Options {
        sources: &["cpu_b.pb.gz"],
        base: Some("cpu_a.pb.gz"),
        diff_base: true,
        normalize: true,
        ..Default::default()
    });
    assert_same("normalize", &got);
}

#[test]
fn focus_and_ignore_select_samples_like_pprof() {
    let got = run(&Options {
        sources: &["cpu_labels.pb.gz"],
        focus: Some("mix"),
        ignore: Some("sort"),
        ..Default::default()
    });
    assert_same("focus", &got);
}

#[test]
fn hide_removes_frames_like_pprof() {
    let got = run(&Options {
        sources: &["cpu.pb.gz"],
        hide: Some(r"^runtime\."),
        ..Default::default()
    });
    assert_same("hide", &got);
}

#[test]
fn show_keeps_only_matching_frames_like_pprof() {
    let got = run(&Options {
        sources: &["cpu.pb.gz"],
        show: Some(r"tasks\."),
        ..Default::default()
    });
    assert_same("show", &got);
}

#[test]
fn show_from_cuts_callers_like_pprof() {
    let got = run(&Options {
        sources: &["cpu.pb.gz"],
        show_from: Some(r"tasks\.init\.func"),
        ..Default::default()
    });
    assert_same("show_from", &got);
}

#[test]
fn prune_from_cuts_callees_like_pprof() {
    let got = run(&Options {
        sources: &["cpu.pb.gz"],
        prune_from: Some(r"^runtime\.mallocgc$"),
        ..Default::default()
    });
    assert_same("prune_from", &got);
}

#[test]
fn tagfocus_without_key_requires_every_expression_like_pprof() {
    let got = run(&Options {
        sources: &["cpu_labels.pb.gz"],
        tag_focus: Some("io,steady"),
        ..Default::default()
    });
    assert_same("tagfocus_and", &got);
}

#[test]
fn tagfocus_with_key_accepts_any_expression_like_pprof() {
    let got = run(&Options {
        sources: &["cpu_labels.pb.gz"],
        tag_focus: Some("task=sort,json"),
        tag_ignore: Some("phase=warmup"),
        ..Default::default()
    });
    assert_same("tagfocus_or", &got);
}

#[test]
fn tagshow_and_taghide_remove_labels_like_pprof() {
    let got = run(&Options {
        sources: &["cpu_labels.pb.gz"],
        tag_show: Some("task"),
        tag_hide: Some("worker"),
        ..Default::default()
    });
    assert_same("tagshow", &got);
}

#[test]
fn tagroot_and_tagleaf_add_label_frames_like_pprof() {
    let got = run(&Options {
        sources: &["cpu_labels.pb.gz"],
        tag_root: &["pool", "task"],
        tag_leaf: &["phase"],
        ..Default::default()
    });
    assert_same("tagroot", &got);
}

#[test]
fn numeric_tagfocus_at_least_a_size_like_pprof() {
    let got = run(&Options {
        sources: &["heap.pb.gz"],
        tag_focus: Some("bytes=2kb:"),
        ..Default::default()
    });
    assert_same("heap_range", &got);
}

#[test]
fn numeric_tagfocus_at_most_a_size_like_pprof() {
    let got = run(&Options {
        sources: &["heap.pb.gz"],
        tag_focus: Some(":128b"),
        ..Default::default()
    });
    assert_same("heap_upto", &got);
}

#[test]
fn numeric_tagleaf_formats_values_in_the_output_unit_like_pprof() {
    let got = run(&Options {
        sources: &["heap.pb.gz"],
        tag_leaf: &["bytes"],
        unit: Some("kb"),
        ..Default::default()
    });
    assert_same("heap_tagleaf", &got);
}

#[test]
fn aggregate_without_inlines_keeps_only_caller_lines_like_pprof() {
    let got = run(&Options {
        sources: &["cpu.pb.gz"],
        no_inlines: true,
        ..Default::default()
    });
    assert_same("noinlines", &got);
}
