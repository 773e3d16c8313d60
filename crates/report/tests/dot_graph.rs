//! The dot report on small hand-made profiles, checked against what pprof prints for
//! the same profiles (at line granularity, which `generate` keeps as decoded).

use profile::{Function, Label, Line, Location, Profile, ValueType};
use report::{generate, Options, OutputFormat};

/// One sample: its stack of function indices (leaf first), value and string labels.
type SampleSpec<'a> = (&'a [u32], i64, &'a [(&'a str, &'a str)]);

/// A profile of `samples`/`count` where `main.main` (main.go) calls `main.f` and
/// `main.g`; each sample is (stack of function indices, leaf first; value; labels).
fn profile_with(samples: &[SampleSpec]) -> Profile {
    let mut p = Profile::new(1);
    let ty = p.intern("samples");
    let unit = p.intern("count");
    p.sample_types.push(ValueType { ty, unit });
    let file = p.intern("/src/main.go");
    for (i, name) in ["main.main", "main.f", "main.g"].iter().enumerate() {
        let name = p.intern(name);
        p.functions.push(Function {
            id: i as u64 + 1,
            name,
            system_name: name,
            filename: file,
            start_line: 1,
        });
        p.locations.push(Location {
            id: i as u64 + 1,
            lines: vec![Line {
                function: i as u32,
                line: 10 * (i as i64 + 1),
                column: 0,
            }]
            .into(),
            ..Location::default()
        });
    }
    for (stack, value, labels) in samples {
        let labels: Vec<Label> = labels
            .iter()
            .map(|(k, v)| Label {
                key: p.intern(k),
                str: p.intern(v),
                ..Label::default()
            })
            .collect();
        p.samples.push(&[*value], stack, &labels);
    }
    p
}

fn dot_of(mut p: Profile) -> String {
    let o = Options::new(OutputFormat::Dot, &p, 0);
    let mut out = Vec::new();
    generate(&mut out, &mut p, &o).expect("dot report");
    String::from_utf8(out).expect("utf-8 output")
}

#[test]
fn dot_draws_nodes_by_entropy_order_and_edges_by_weight() {
    let p = profile_with(&[(&[1, 0], 10, &[]), (&[0], 5, &[]), (&[2, 0], 3, &[])]);
    // What pprof prints for this profile with -dot -lines.
    let want = r##"digraph "unnamed" {
node [style=filled fillcolor="#f8f8f8"]
subgraph cluster_L { "Type: samples" [shape=box fontsize=16 label="Type: samples\lShowing nodes accounting for 18, 100% of 18 total\l\lSee https://git.io/JfYMW for how to read the graph\l"] }
N1 [label="main\nmain\nmain.go:10\n5 (27.78%)\nof 18 (100%)" id="node1" fontsize=20 shape=box tooltip="main.main /src/main.go:10 (18)" color="#b20000" fillcolor="#edd5d5"]
N2 [label="main\nf\nmain.go:20\n10 (55.56%)" id="node2" fontsize=24 shape=box tooltip="main.f /src/main.go:20 (10)" color="#b21c00" fillcolor="#edd9d5"]
N3 [label="main\ng\nmain.go:30\n3 (16.67%)" id="node3" fontsize=17 shape=box tooltip="main.g /src/main.go:30 (3)" color="#b25b1d" fillcolor="#ede1d9"]
N1 -> N2 [label=" 10" weight=56 penwidth=3 color="#b21c00" tooltip="main.main /src/main.go:10 -> main.f /src/main.go:20 (10)" labeltooltip="main.main /src/main.go:10 -> main.f /src/main.go:20 (10)"]
N1 -> N3 [label=" 3" weight=17 color="#b25b1d" tooltip="main.main /src/main.go:10 -> main.g /src/main.go:30 (3)" labeltooltip="main.main /src/main.go:10 -> main.g /src/main.go:30 (3)"]
}
"##;
    assert_eq!(dot_of(p), want);
}

#[test]
fn dot_hangs_label_nodelets_off_nodes_and_lengthens_their_edges() {
    let p = profile_with(&[
        (&[1, 0], 10, &[("task", "a")]),
        (&[1, 0], 4, &[("task", "b")]),
        (&[0], 6, &[("task", "a")]),
    ]);
    // What pprof prints for this profile with -dot -lines.
    let want = r##"digraph "unnamed" {
node [style=filled fillcolor="#f8f8f8"]
subgraph cluster_L { "Type: samples" [shape=box fontsize=16 label="Type: samples\lShowing nodes accounting for 20, 100% of 20 total\l\lSee https://git.io/JfYMW for how to read the graph\l"] }
N1 [label="main\nmain\nmain.go:10\n6 (30.00%)\nof 20 (100%)" id="node1" fontsize=19 shape=box tooltip="main.main /src/main.go:10 (20)" color="#b20000" fillcolor="#edd5d5"]
N1_0 [label = "task:a" id="N1_0" fontsize=8 shape=box3d tooltip="6"]
N1 -> N1_0 [label=" 6" weight=100 tooltip="6" labeltooltip="6"]
N2 [label="main\nf\nmain.go:20\n14 (70.00%)" id="node2" fontsize=24 shape=box tooltip="main.f /src/main.go:20 (14)" color="#b21200" fillcolor="#edd7d5"]
N2_0 [label = "task:a" id="N2_0" fontsize=8 shape=box3d tooltip="10"]
N2 -> N2_0 [label=" 10" weight=100 tooltip="10" labeltooltip="10"]
N2_1 [label = "task:b" id="N2_1" fontsize=8 shape=box3d tooltip="4"]
N2 -> N2_1 [label=" 4" weight=100 tooltip="4" labeltooltip="4"]
N1 -> N2 [label=" 14" weight=71 penwidth=4 color="#b21200" tooltip="main.main /src/main.go:10 -> main.f /src/main.go:20 (14)" labeltooltip="main.main /src/main.go:10 -> main.f /src/main.go:20 (14)" minlen=2]
}
"##;
    assert_eq!(dot_of(p), want);
}

#[test]
fn dot_of_a_profile_without_samples_has_only_header_and_legend() {
    let p = profile_with(&[]);
    let want = r##"digraph "unnamed" {
node [style=filled fillcolor="#f8f8f8"]
subgraph cluster_L { "Type: samples" [shape=box fontsize=16 label="Type: samples\lShowing nodes accounting for 0, 0% of 0 total\l\lSee https://git.io/JfYMW for how to read the graph\l"] }
}
"##;
    assert_eq!(dot_of(p), want);
}
