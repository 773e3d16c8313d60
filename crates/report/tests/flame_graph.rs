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
    let total: i64 = p.samples.iter().map(|s| s.values.at(1)).sum();
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

#[test]
fn folded_merges_stacks_that_expand_to_the_same_frames() {
    let mut b = Builder::new(&["samples"]);
    let main = b.location(&["main"]);
    let inlined = b.location(&["inner", "outer"]);
    let outer = b.location(&["outer"]);
    let inner = b.location(&["inner"]);
    b.p.samples.push(&[2], &[inlined, main], &[]);
    b.p.samples.push(&[3], &[inner, outer, main], &[]);
    b.p.samples.push(&[1], &[outer, main], &[]);
    assert_eq!(
        render(&mut b.p, OutputFormat::Folded, 0),
        "main;outer 1\nmain;outer;inner 5\n"
    );
}

#[test]
fn folded_lists_a_stack_before_the_longer_stacks_it_begins() {
    let mut b = Builder::new(&["samples"]);
    b.sample("main;b;c", &[1], &[]);
    b.sample("main;b", &[2], &[]);
    b.sample("main;a;z;z", &[3], &[]);
    b.sample("main", &[4], &[]);
    b.sample("main;b;c", &[5], &[]);
    b.sample("main;a", &[6], &[]);
    assert_eq!(
        render(&mut b.p, OutputFormat::Folded, 0),
        "main 4\nmain;a 6\nmain;a;z;z 3\nmain;b 2\nmain;b;c 6\n"
    );
}

#[test]
fn a_small_frame_is_aggregated_with_its_subtree_even_when_a_child_is_large_in_a_diff() {
    // In a diff, `main;gone` nets to 0 new value and 1 base, below the threshold of 2,
    // while its child alone moves by 100 each way: the child goes with its parent.
    let mut b = Builder::new(&["samples"]);
    let base = b.base_label();
    b.sample("main;big", &[1000], &[]);
    b.sample("main;gone;churn", &[100], &[]);
    b.sample("main;gone", &[-100], &[]);
    b.sample("main;gone;churn", &[-1], &[base]);
    let fg = FlameGraph::from_profile(
        &b.p,
        &BuildOptions {
            sample_index: 0,
            min_fraction: 0.002,
        },
    );
    let names: Vec<&str> = (0..fg.frames.len()).map(|i| fg.name(i)).collect();
    assert_eq!(names, ["root", "main", "big"]);
    assert_eq!(fg.frames[1].value, 1000);
    assert_eq!(fg.frames[1].end, 3);
}

/// A small deterministic generator (64-bit LCG) for profiles of many random stacks.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }
}

/// A profile of random stacks over a few function names (recursion and shared prefixes
/// common), some locations with inlined frames, values of very different sizes and,
/// with `diff`, some diff base samples.
fn random_profile(seed: u64, diff: bool) -> Profile {
    let mut rng = Lcg(seed);
    let mut b = Builder::new(&["samples"]);
    let base = b.base_label();
    let fns = ["a", "b", "c", "d", "e", "f", "g"];
    let mut locs = Vec::new();
    for i in 0..12 {
        let n = 1 + (i % 3);
        let names: Vec<&str> = (0..n).map(|_| fns[rng.below(7) as usize]).collect();
        locs.push(b.location(&names));
    }
    for _ in 0..400 {
        let depth = rng.below(9) as usize;
        let stack: Vec<u32> = (0..depth).map(|_| locs[rng.below(12) as usize]).collect();
        let value = match rng.below(4) {
            0 => 1 + rng.below(3) as i64,
            1 => 50 + rng.below(500) as i64,
            _ => 1 + rng.below(40) as i64,
        };
        if diff && rng.below(3) == 0 {
            b.p.samples
                .push(&[-value], &stack, std::slice::from_ref(&base));
        } else {
            b.p.samples.push(&[value], &stack, &[]);
        }
    }
    b.p
}

/// Expected frames of a flame graph, built the plain way: every distinct stack (as
/// collapsed stacks print them) into a full tree, then frames below `threshold` cut
/// with their subtrees and summed into one aggregate per parent.
fn reference_frames(p: &mut Profile, threshold: i64) -> Vec<(String, u32, i64, i64, i64, i64)> {
    #[derive(Default)]
    struct Node {
        value: i64,
        base: i64,
        self_value: i64,
        self_base: i64,
        children: std::collections::BTreeMap<String, Node>,
    }
    let mut root = Node::default();
    for s in p.samples.iter() {
        let is_base = !s.labels.is_empty();
        let (v, b) = if is_base {
            (0, -s.values.at(0))
        } else {
            (s.values.at(0), 0)
        };
        let mut node = &mut root;
        node.value += v;
        node.base += b;
        for loc in s.locations.iter().rev() {
            for line in p.locations[loc as usize].lines.iter().rev() {
                let name = p.str(p.functions[line.function as usize].name).to_string();
                node = node.children.entry(name).or_default();
                node.value += v;
                node.base += b;
            }
        }
        node.self_value += v;
        node.self_base += b;
    }
    fn walk(
        name: &str,
        n: &Node,
        depth: u32,
        threshold: i64,
        out: &mut Vec<(String, u32, i64, i64, i64, i64)>,
    ) {
        out.push((
            name.to_string(),
            depth,
            n.value,
            n.self_value,
            n.base,
            n.self_base,
        ));
        let (mut sv, mut sb, mut count) = (0, 0, 0);
        for (child, c) in &n.children {
            if c.value.abs().max(c.base.abs()) < threshold {
                sv += c.value;
                sb += c.base;
                count += 1;
            } else {
                walk(child, c, depth + 1, threshold, out);
            }
        }
        if count > 0 && sv.abs().max(sb.abs()) >= threshold.max(1) {
            out.push((format!("[{count} small frames]"), depth + 1, sv, sv, sb, sb));
        }
    }
    let mut out = Vec::new();
    walk("root", &root, 0, threshold, &mut out);
    out
}

#[test]
fn flame_graph_matches_the_full_tree_with_small_frames_aggregated() {
    let mut aggregates = 0;
    for seed in 0..20 {
        for diff in [false, true] {
            let mut p = random_profile(seed, diff);
            for min_fraction in [0.0, 0.001, 0.01, 0.05, 0.2] {
                let fg = FlameGraph::from_profile(
                    &p,
                    &BuildOptions {
                        sample_index: 0,
                        min_fraction,
                    },
                );
                let total = fg.frames[0].value.abs().max(fg.frames[0].base.abs());
                let threshold = (total as f64 * min_fraction).ceil() as i64;
                let got: Vec<_> = fg
                    .frames
                    .iter()
                    .enumerate()
                    .map(|(i, f)| {
                        let n = fg.name(i).to_string();
                        (n, f.depth, f.value, f.self_value, f.base, f.self_base)
                    })
                    .collect();
                aggregates += fg.frames.iter().filter(|f| f.aggregated > 0).count();
                assert_eq!(
                    got,
                    reference_frames(&mut p, threshold),
                    "seed {seed}, diff {diff}, min_fraction {min_fraction}"
                );
                // Parents and subtree ends agree with the depth-first order.
                for (i, f) in fg.frames.iter().enumerate().skip(1) {
                    let parent = &fg.frames[f.parent as usize];
                    assert_eq!(parent.depth + 1, f.depth);
                    assert!((f.parent as usize) < i && i < parent.end as usize);
                    assert!(f.end as usize <= parent.end as usize);
                }
            }
        }
    }
    assert!(aggregates > 20, "the profiles exercise aggregation");
}

#[test]
fn folded_matches_the_distinct_stacks_sorted_by_name() {
    for seed in 0..10 {
        let mut p = random_profile(seed, seed % 2 == 1);
        let mut sums: std::collections::BTreeMap<Vec<String>, i64> = Default::default();
        for s in p.samples.iter() {
            let mut names = Vec::new();
            for loc in s.locations.iter().rev() {
                for line in p.locations[loc as usize].lines.iter().rev() {
                    names.push(p.str(p.functions[line.function as usize].name).to_string());
                }
            }
            *sums.entry(names).or_default() += s.values.at(0);
        }
        let expected: String = sums
            .iter()
            .filter(|(k, v)| !k.is_empty() && **v != 0)
            .map(|(k, v)| format!("{} {v}\n", k.join(";")))
            .collect();
        assert_eq!(
            render(&mut p, OutputFormat::Folded, 0),
            expected,
            "seed {seed}"
        );
    }
}
