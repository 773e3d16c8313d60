//! Flame graph data, collapsed stacks and the flame graph drawings, on hand-built
//! profiles and on a shipped one.

use std::collections::HashMap;

use profile::{Function, Label, Line, Location, Profile, StrId, ValueType, DIFF_BASE_LABEL};
use report::flame::{self, BuildOptions, FlameGraph, RenderOptions};
use report::{Options, OutputFormat};

/// Builds profiles from stacks written root first, `a;b;c`.
struct Builder {
    p: Profile,
    funcs: HashMap<String, u32>,
}

impl Builder {
    fn new(types: &[&str]) -> Builder {
        let mut p = Profile::new(types.len());
        for t in types {
            let ty = p.intern(t);
            let unit = p.intern("count");
            p.sample_types.push(ValueType { ty, unit });
        }
        Builder {
            p,
            funcs: HashMap::new(),
        }
    }

    fn function(&mut self, name: &str) -> u32 {
        if let Some(&f) = self.funcs.get(name) {
            return f;
        }
        let id = self.p.functions.len() as u32;
        let name_id = self.p.intern(name);
        self.p.functions.push(Function {
            id: u64::from(id) + 1,
            name: name_id,
            system_name: name_id,
            ..Function::default()
        });
        self.funcs.insert(name.to_string(), id);
        id
    }

    /// A location whose frames are `names`, innermost (inlined) first.
    fn location(&mut self, names: &[&str]) -> u32 {
        let lines = names
            .iter()
            .map(|n| Line {
                function: self.function(n),
                line: 0,
                column: 0,
            })
            .collect();
        let id = self.p.locations.len() as u32;
        self.p.locations.push(Location {
            id: u64::from(id) + 1,
            lines,
            ..Location::default()
        });
        id
    }

    /// Adds a sample of stack `stack` (root first, `;`-separated) with `values`.
    fn sample(&mut self, stack: &str, values: &[i64], labels: &[Label]) {
        let mut locs: Vec<u32> = stack.split(';').map(|f| self.location(&[f])).collect();
        locs.reverse();
        self.p.samples.push(values, &locs, labels);
    }

    fn base_label(&mut self) -> Label {
        Label {
            key: self.p.intern(DIFF_BASE_LABEL),
            str: self.p.intern("true"),
            num: 0,
            num_unit: StrId::EMPTY,
        }
    }
}

fn render(p: &mut Profile, format: OutputFormat, sample_index: usize) -> String {
    let options = Options::new(format, p, sample_index);
    let mut out = Vec::new();
    report::generate(&mut out, p, &options).expect("report renders");
    String::from_utf8(out).expect("report is UTF-8")
}

#[test]
fn folded_prints_each_distinct_stack_once_root_first() {
    let mut b = Builder::new(&["samples"]);
    b.sample("main;a;b", &[3], &[]);
    b.sample("main;c", &[5], &[]);
    b.sample("main;a;b", &[2], &[]);
    b.sample("main;a", &[1], &[]);
    let out = render(&mut b.p, OutputFormat::Folded, 0);
    assert_eq!(out, "main;a 1\nmain;a;b 5\nmain;c 5\n");
}

#[test]
fn folded_sums_the_selected_sample_value() {
    let mut b = Builder::new(&["count", "bytes"]);
    b.sample("main;alloc", &[1, 100], &[]);
    b.sample("main;alloc", &[2, 50], &[]);
    assert_eq!(
        render(&mut b.p, OutputFormat::Folded, 1),
        "main;alloc 150\n"
    );
    assert_eq!(render(&mut b.p, OutputFormat::Folded, 0), "main;alloc 3\n");
}

#[test]
fn folded_expands_inlined_frames_caller_first() {
    let mut b = Builder::new(&["samples"]);
    let main = b.location(&["main"]);
    let inl = b.location(&["inner", "outer"]);
    b.p.samples.push(&[7], &[inl, main], &[]);
    assert_eq!(
        render(&mut b.p, OutputFormat::Folded, 0),
        "main;outer;inner 7\n"
    );
}

#[test]
fn folded_replaces_separators_inside_names() {
    let mut b = Builder::new(&["samples"]);
    let main = b.location(&["main"]);
    let odd = b.location(&["weird;name\nwith break"]);
    b.p.samples.push(&[1], &[odd, main], &[]);
    assert_eq!(
        render(&mut b.p, OutputFormat::Folded, 0),
        "main;weird:name with break 1\n"
    );
}

#[test]
fn folded_of_a_diff_is_new_minus_base_and_drops_unchanged_stacks() {
    let mut b = Builder::new(&["samples"]);
    let base = b.base_label();
    b.sample("main;grow", &[10], &[]);
    b.sample("main;grow", &[-4], &[base]);
    b.sample("main;same", &[3], &[]);
    b.sample("main;same", &[-3], &[base]);
    assert_eq!(render(&mut b.p, OutputFormat::Folded, 0), "main;grow 6\n");
}

#[test]
fn flame_graph_frames_are_depth_first_with_cumulative_and_self_values() {
    let mut b = Builder::new(&["samples"]);
    b.sample("main;b;x", &[4], &[]);
    b.sample("main;a", &[3], &[]);
    b.sample("main", &[1], &[]);
    let fg = FlameGraph::from_profile(&b.p, &BuildOptions::default());
    let names: Vec<&str> = (0..fg.frames.len()).map(|i| fg.name(i)).collect();
    assert_eq!(names, ["root", "main", "a", "b", "x"]);
    let values: Vec<(i64, i64)> = fg.frames.iter().map(|f| (f.value, f.self_value)).collect();
    assert_eq!(values, [(8, 0), (8, 1), (3, 3), (4, 0), (4, 4)]);
    let depths: Vec<u32> = fg.frames.iter().map(|f| f.depth).collect();
    assert_eq!(depths, [0, 1, 2, 2, 3]);
    assert_eq!(fg.children(1).collect::<Vec<_>>(), [2, 3]);
    assert_eq!(fg.frames[3].parent, 1);
    assert_eq!(fg.total(), 8);
    assert_eq!(fg.max_depth, 3);
    assert!(!fg.diff);
}

#[test]
fn recursion_makes_one_frame_per_path() {
    let mut b = Builder::new(&["samples"]);
    b.sample("main;f;f;f", &[2], &[]);
    let fg = FlameGraph::from_profile(&b.p, &BuildOptions::default());
    assert_eq!(fg.frames.len(), 5);
    assert!(fg.frames.iter().all(|f| f.value == 2));
}

#[test]
fn frames_below_the_minimum_fraction_are_aggregated_per_parent() {
    let mut b = Builder::new(&["samples"]);
    b.sample("main;big", &[10_000], &[]);
    for i in 0..2000 {
        b.sample(&format!("main;tiny{i}"), &[1], &[]);
    }
    let fg = FlameGraph::from_profile(
        &b.p,
        &BuildOptions {
            sample_index: 0,
            min_fraction: 0.001,
        },
    );
    let names: Vec<&str> = (0..fg.frames.len()).map(|i| fg.name(i)).collect();
    assert_eq!(names, ["root", "main", "big", "[2000 small frames]"]);
    let agg = &fg.frames[3];
    assert_eq!(
        (agg.value, agg.self_value, agg.aggregated),
        (2000, 2000, 2000)
    );
    assert_eq!(fg.frames[1].value, 12_000);
}

#[test]
fn diff_base_samples_become_base_values() {
    let mut b = Builder::new(&["samples"]);
    let base = b.base_label();
    b.sample("main;grow", &[10], &[]);
    b.sample("main;grow", &[-4], &[base]);
    b.sample("main;gone", &[-6], &[base]);
    let fg = FlameGraph::from_profile(&b.p, &BuildOptions::default());
    assert!(fg.diff);
    let by_name: HashMap<&str, (i64, i64)> = (0..fg.frames.len())
        .map(|i| (fg.name(i), (fg.frames[i].value, fg.frames[i].base)))
        .collect();
    assert_eq!(by_name["main"], (10, 10));
    assert_eq!(by_name["grow"], (10, 4));
    assert_eq!(by_name["gone"], (0, 6));
}

#[test]
fn names_with_markup_are_escaped_in_svg_and_html() {
    let mut b = Builder::new(&["samples"]);
    b.sample("main;<script>alert(\"x&y\")</script>;it's", &[5], &[]);
    let fg = FlameGraph::from_profile(&b.p, &BuildOptions::default());
    for doc in [
        flame::render_svg(&fg, &RenderOptions::default()),
        flame::render_html(
            &fg,
            &RenderOptions {
                title: "<b>title</b>".into(),
                ..RenderOptions::default()
            },
        ),
    ] {
        assert!(!doc.contains("<script>alert"), "raw markup leaked");
        assert!(!doc.contains("<b>title"), "raw title leaked");
        assert!(doc.contains("&lt;script&gt;alert(&quot;x&amp;y&quot;)&lt;/script&gt;"));
        assert!(doc.contains("it&#39;s"));
        // The only script element is the drawing's own.
        assert_eq!(doc.matches("<script").count(), 1);
    }
}

#[test]
fn svg_draws_one_group_per_visible_frame_with_tooltip() {
    let mut b = Builder::new(&["samples"]);
    b.sample("main;work", &[3], &[]);
    b.sample("main;idle", &[1], &[]);
    let fg = FlameGraph::from_profile(&b.p, &BuildOptions::default());
    let svg = flame::render_svg(&fg, &RenderOptions::default());
    assert!(svg.starts_with("<?xml"));
    assert!(svg.trim_end().ends_with("</svg>"));
    assert_eq!(svg.matches("</title><rect").count(), 4);
    assert!(svg.contains("<title>work\n3 (75.00%), self 3 (75.00%)</title>"));
    assert!(svg.contains("data-orient=\"flame\""));
    let icicle = flame::render_svg(
        &fg,
        &RenderOptions {
            orientation: flame::Orientation::Icicle,
            ..RenderOptions::default()
        },
    );
    assert!(icicle.contains("data-orient=\"icicle\""));
}

#[test]
fn diff_svg_reports_base_and_change() {
    let mut b = Builder::new(&["samples"]);
    let base = b.base_label();
    b.sample("main;grow", &[10], &[]);
    b.sample("main;grow", &[-5], &[base]);
    let fg = FlameGraph::from_profile(&b.p, &BuildOptions::default());
    let svg = flame::render_svg(&fg, &RenderOptions::default());
    assert!(svg.contains("base 5, change +5 (+100.00%)"));
    // Growth is drawn in red.
    assert!(svg.contains("fill=\"#ff"));
}

#[test]
fn flamegraph_format_is_svg_and_html_variant_is_a_page() {
    let mut b = Builder::new(&["samples"]);
    b.sample("main;work", &[3], &[]);
    let svg = render(&mut b.p, OutputFormat::FlameGraph, 0);
    assert!(svg.starts_with("<?xml") && svg.contains("<svg"));
    let html = render(&mut b.p, OutputFormat::FlameGraphHtml, 0);
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("id=\"flame-search\""));
    assert!(html.contains("<svg"));
}

#[test]
fn folded_values_of_a_shipped_profile_sum_to_its_total() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../testdata/conformance/differential/inputs/cpu.pb.gz"
    );
    let data = std::fs::read(path).expect("shipped profile");
    let mut p = profile::parse(&data).expect("profile parses");
    let total: i64 = p.samples.iter().map(|s| s.values[1]).sum();
    let out = render(&mut p, OutputFormat::Folded, 1);
    let mut sum = 0;
    let mut lines = 0;
    let mut seen = std::collections::HashSet::new();
    for line in out.lines() {
        let (stack, value) = line.rsplit_once(' ').expect("stack and value");
        assert!(!stack.is_empty());
        assert!(stack.as_bytes()[0] != b';');
        sum += value.parse::<i64>().expect("integer value");
        assert!(seen.insert(stack.to_string()), "stacks are distinct");
        lines += 1;
    }
    assert_eq!(sum, total);
    assert!(lines > 50);
}
