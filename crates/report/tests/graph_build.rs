//! Behaviour of the call graph builder on small hand-made profiles.

use profile::{Function, Line, Location, Profile, ValueType};
use report::graph::{Graph, GraphOptions, NodeOrder, NodeTotals};

/// A profile with one function per name and one location per function; each sample is
/// a stack of function indices, leaf first, with one value.
fn profile(names: &[&str], samples: &[(&[u32], i64)]) -> Profile {
    let mut p = Profile::new(1);
    let ty = p.intern("samples");
    let unit = p.intern("count");
    p.sample_types.push(ValueType { ty, unit });
    for (i, name) in names.iter().enumerate() {
        let name = p.intern(name);
        p.functions.push(Function {
            id: i as u64 + 1,
            name,
            ..Function::default()
        });
        p.locations.push(Location {
            id: i as u64 + 1,
            lines: vec![Line {
                function: i as u32,
                line: 0,
                column: 0,
            }]
            .into(),
            ..Location::default()
        });
    }
    for (stack, v) in samples {
        p.samples.push(&[*v], stack, &[]);
    }
    p
}

fn node<'g>(g: &'g Graph, name: &str) -> &'g report::graph::Node {
    let id = g
        .nodes
        .iter()
        .copied()
        .find(|&n| g.node(n).name == name)
        .unwrap_or_else(|| panic!("no node {name}"));
    g.node(id)
}

/// The identities of the nodes of `g` but the one named `name`: a kept set.
fn identities_but(g: &Graph, name: &str) -> report::graph::NodeSet {
    g.nodes
        .iter()
        .filter(|&&n| g.node(n).name != name)
        .map(|&n| g.node(n).info.clone())
        .collect()
}

#[test]
fn cum_counts_a_recursive_function_once_per_sample() {
    // main -> f -> f -> g
    let p = profile(&["main", "f", "g"], &[(&[2, 1, 1, 0], 5), (&[1, 0], 3)]);
    let g = Graph::new(&p, &GraphOptions::default());
    let f = node(&g, "f");
    assert_eq!((f.flat, f.cum), (3, 8));
    assert_eq!(node(&g, "main").cum, 8);
    assert_eq!((node(&g, "g").flat, node(&g, "g").cum), (5, 5));
}

#[test]
fn edges_sum_the_samples_through_each_call_once() {
    let p = profile(&["main", "f", "g"], &[(&[2, 1, 1, 0], 5), (&[2, 0], 2)]);
    let g = Graph::new(&p, &GraphOptions::default());
    let main = node(&g, "main");
    let weights: Vec<(String, i64)> = g
        .sorted_edges(&main.out_edges)
        .into_iter()
        .map(|e| (g.node(g.edge(e).dest).name.clone(), g.edge(e).weight))
        .collect();
    assert_eq!(weights, vec![("f".to_string(), 5), ("g".to_string(), 2)]);
    // The self edge f -> f is not recorded.
    assert!(!node(&g, "f")
        .out_edges
        .values()
        .any(|e| g.edge(e).dest == g.edge(e).src));
}

#[test]
fn flat_order_breaks_ties_by_name() {
    let p = profile(&["main", "b", "a"], &[(&[1, 0], 4), (&[2, 0], 4)]);
    let mut g = Graph::new(&p, &GraphOptions::default());
    g.sort_nodes_by(NodeOrder::FlatName);
    let names: Vec<&str> = g.nodes.iter().map(|&n| g.node(n).name.as_str()).collect();
    assert_eq!(names, vec!["a", "b", "main"]);
    g.sort_nodes_by(NodeOrder::CumName);
    assert_eq!(g.node(g.nodes[0]).name, "main");
}

#[test]
fn kept_nodes_leave_residual_edges_over_dropped_frames() {
    let p = profile(&["main", "mid", "leaf"], &[(&[2, 1, 0], 7)]);
    let full = Graph::new(&p, &GraphOptions::default());
    let kept = identities_but(&full, "mid");
    let g = Graph::new(
        &p,
        &GraphOptions {
            kept_nodes: Some(&kept),
            ..GraphOptions::default()
        },
    );
    assert_eq!(g.nodes.len(), 2);
    let main = node(&g, "main");
    let e = g.edge(main.out_edges.values().next().expect("an edge"));
    assert!(e.residual);
    assert_eq!(e.weight, 7);
}

#[test]
fn dropped_leaf_frames_take_the_flat_value_from_every_node() {
    // The leaf of the first stack is dropped: that sample's value counts in the cum of
    // its kept callers but in no node's flat, in the graph and in the node totals.
    let p = profile(&["main", "mid", "leaf"], &[(&[2, 1, 0], 7), (&[1, 0], 3)]);
    let full = Graph::new(&p, &GraphOptions::default());
    let kept = identities_but(&full, "leaf");
    let o = GraphOptions {
        kept_nodes: Some(&kept),
        ..GraphOptions::default()
    };
    let g = Graph::new(&p, &o);
    assert_eq!(g.nodes.len(), 2);
    assert_eq!((node(&g, "mid").flat, node(&g, "mid").cum), (3, 10));
    assert_eq!((node(&g, "main").flat, node(&g, "main").cum), (0, 10));
    let totals = NodeTotals::new(&p, &o);
    let mut values: Vec<(String, i64, i64)> = totals
        .nodes_named(|_| true)
        .map(|(info, flat, cum)| (info.name, flat, cum))
        .collect();
    values.sort();
    assert_eq!(
        values,
        vec![("main".to_string(), 0, 10), ("mid".to_string(), 3, 10)]
    );
}

#[test]
fn a_location_with_one_kept_frame_of_several_is_walked() {
    // One location holds `inner` inlined into `outer`; only `inner` is kept.
    let mut p = profile(&["main", "outer", "inner"], &[]);
    p.locations[1].lines = vec![
        Line {
            function: 2,
            line: 0,
            column: 0,
        },
        Line {
            function: 1,
            line: 0,
            column: 0,
        },
    ]
    .into();
    p.samples.push(&[5], &[1, 0], &[]);
    let full = Graph::new(&p, &GraphOptions::default());
    let kept = identities_but(&full, "outer");
    let g = Graph::new(
        &p,
        &GraphOptions {
            kept_nodes: Some(&kept),
            ..GraphOptions::default()
        },
    );
    let inner = node(&g, "inner");
    assert_eq!((inner.flat, inner.cum), (5, 5));
    let e = g.edge(inner.in_edges.values().next().expect("an edge into inner"));
    assert_eq!(g.node(e.src).name, "main");
    assert!(e.residual && e.inline);
}

#[test]
fn call_tree_makes_a_node_per_calling_context() {
    // leaf reached from two callers: two tree nodes, one graph node.
    let p = profile(
        &["main", "a", "b", "leaf"],
        &[(&[3, 1, 0], 1), (&[3, 2, 0], 2)],
    );
    let tree = Graph::new(
        &p,
        &GraphOptions {
            call_tree: true,
            ..GraphOptions::default()
        },
    );
    let leaves = tree
        .nodes
        .iter()
        .filter(|&&n| tree.node(n).name == "leaf")
        .count();
    assert_eq!(leaves, 2);
    let graph = Graph::new(&p, &GraphOptions::default());
    assert_eq!(node(&graph, "leaf").flat, 3);
}

#[test]
fn zero_valued_samples_are_ignored_and_negative_nodes_can_be_dropped() {
    let p = profile(&["main", "f", "g"], &[(&[1, 0], 0), (&[2, 0], -4)]);
    let g = Graph::new(
        &p,
        &GraphOptions {
            drop_negative: true,
            ..GraphOptions::default()
        },
    );
    assert!(g.nodes.is_empty());
    let g = Graph::new(&p, &GraphOptions::default());
    let names: Vec<&str> = g.nodes.iter().map(|&n| g.node(n).name.as_str()).collect();
    assert!(!names.contains(&"f"));
    assert_eq!(node(&g, "g").flat, -4);
}

#[test]
fn node_totals_agree_with_a_graph_of_nodes_only() {
    // Negative values (a diff) exercise the dropping of negative nodes too.
    let p = profile(
        &["main", "a", "b", "c", "unused"],
        &[(&[1, 0], 5), (&[2, 1, 0], 3), (&[3, 0], -4), (&[2, 0], 1)],
    );
    for drop_negative in [false, true] {
        let o = GraphOptions {
            nodes_only: true,
            drop_negative,
            ..GraphOptions::default()
        };
        let g = Graph::new(&p, &o);
        let totals = NodeTotals::new(&p, &o);
        assert_eq!(totals.len(), g.nodes.len());
        assert_eq!(totals.sum(), g.sum());
        for cutoff in [0, 1, 4, 5, 9, 100] {
            assert_eq!(
                totals.discard_low_frequency_nodes(cutoff),
                g.discard_low_frequency_nodes(cutoff),
                "cutoff {cutoff}, drop_negative {drop_negative}"
            );
        }
    }
}

/// Frames of a location, innermost first, as (function, line, column).
type Frames = &'static [(u32, i64, i64)];

/// A profile of one binary, `/bin/server`: a function per name, a location per
/// (address, frames), and samples of location stacks (leaf first) with one value.
fn profile_of_one_binary(
    names: &[&str],
    locations: &[(u64, Frames)],
    samples: &[(&[u32], i64)],
) -> Profile {
    let mut p = Profile::new(1);
    let ty = p.intern("samples");
    let unit = p.intern("count");
    p.sample_types.push(ValueType { ty, unit });
    for (i, name) in names.iter().enumerate() {
        let name = p.intern(name);
        p.functions.push(Function {
            id: i as u64 + 1,
            name,
            ..Function::default()
        });
    }
    let filename = p.intern("/bin/server");
    p.mappings.push(profile::Mapping {
        id: 1,
        memory_limit: 0x1000,
        filename,
        ..profile::Mapping::default()
    });
    for (i, (address, frames)) in locations.iter().enumerate() {
        p.locations.push(Location {
            id: i as u64 + 1,
            mapping: Some(profile::MappingIndex::new(0)),
            address: *address,
            lines: frames
                .iter()
                .map(|&(function, line, column)| Line {
                    function,
                    line,
                    column,
                })
                .collect(),
            ..Location::default()
        });
    }
    for (stack, v) in samples {
        p.samples.push(&[*v], stack, &[]);
    }
    p
}

/// A profile whose locations have addresses, line numbers and inlined frames, so that
/// line-level identities and their function nodes interleave.
fn inlined_profile() -> Profile {
    profile_of_one_binary(
        &["main", "a", "b", "c"],
        &[
            (0x10, &[(2, 12, 0), (1, 5, 0)]),
            (0x20, &[(1, 7, 0)]),
            (0x30, &[(0, 3, 0)]),
            (0x40, &[(3, 1, 0), (2, 14, 0), (0, 4, 0)]),
            (0x50, &[(2, 12, 0), (1, 5, 0)]),
        ],
        &[
            (&[0, 1, 2], 5),
            (&[1, 2], 3),
            (&[3, 2], 7),
            (&[4, 0, 1, 2], 2),
            (&[3, 4, 2], -1),
            (&[2], 4),
            // Values that cancel: calling contexts whose cumulative value is zero.
            (&[1, 4, 2], 6),
            (&[1, 4, 2], -6),
        ],
    )
}

/// The identities among `infos` that `mask` picks: bit `i` for each of the first ten,
/// bit 10 for all the others.
fn subset(infos: &[report::graph::NodeInfo], mask: u32) -> report::graph::NodeSet {
    infos
        .iter()
        .enumerate()
        .filter(|&(i, _)| mask & (1 << i.min(10)) != 0)
        .map(|(_, info)| info.clone())
        .collect()
}

#[test]
fn graphs_from_a_first_pass_frame_table_lent_or_handed_over_equal_graphs_built_alone() {
    let p = inlined_profile();
    let full = Graph::new(&p, &GraphOptions::default());
    let infos: Vec<_> = full.arena.iter().map(|n| n.info.clone()).collect();
    assert!(infos.len() >= 10, "{} identities", infos.len());
    let totals = NodeTotals::new(&p, &GraphOptions::default());
    // Every subset of the first ten identities, plus the rest or not.
    for mask in 0u32..(1 << 11) {
        let kept = subset(&infos, mask);
        for call_tree in [false, true] {
            let alone = GraphOptions {
                kept_nodes: Some(&kept),
                call_tree,
                ..GraphOptions::default()
            };
            let shared = GraphOptions {
                frames: Some(totals.frames()),
                ..alone.clone()
            };
            let built_alone = format!("{:?}", Graph::new(&p, &alone));
            assert_eq!(
                format!("{:?}", Graph::new(&p, &shared)),
                built_alone,
                "kept set {mask:#b}, call tree {call_tree}"
            );
            // A table handed over to the graph gives the same graph.
            let handed_over = NodeTotals::new(&p, &GraphOptions::default()).into_frames();
            assert_eq!(
                format!("{:?}", Graph::with_frames(&p, &alone, handed_over)),
                built_alone,
                "handed over, kept set {mask:#b}, call tree {call_tree}"
            );
        }
    }
    let shared = GraphOptions {
        frames: Some(totals.frames()),
        ..GraphOptions::default()
    };
    assert_eq!(
        format!("{:?}", Graph::new(&p, &shared)),
        format!("{:?}", full)
    );
}

#[test]
fn a_walk_for_node_values_alone_sums_as_the_walk_that_makes_edges() {
    let mut p = inlined_profile();
    // A recursive stack (location 1 twice) and a sample of value zero.
    p.samples.push(&[9], &[1, 2, 1, 2], &[]);
    p.samples.push(&[0], &[3, 2], &[]);
    let full = Graph::new(&p, &GraphOptions::default());
    let infos: Vec<_> = full.arena.iter().map(|n| n.info.clone()).collect();
    let values = |g: &Graph| -> Vec<_> {
        g.nodes
            .iter()
            .map(|&n| {
                let n = g.node(n);
                (n.info.clone(), n.flat, n.cum)
            })
            .collect()
    };
    // Every subset of the first ten identities, plus the rest or not: frames left out
    // of the walk, the leaf among them.
    for mask in 0u32..(1 << 11) {
        let kept = subset(&infos, mask);
        let with_edges = GraphOptions {
            kept_nodes: Some(&kept),
            ..GraphOptions::default()
        };
        let nodes_only = GraphOptions {
            nodes_only: true,
            ..with_edges.clone()
        };
        let alone = Graph::new(&p, &nodes_only);
        assert!(alone.edges.is_empty());
        assert_eq!(
            values(&alone),
            values(&Graph::new(&p, &with_edges)),
            "kept set {mask:#b}"
        );
    }
}

#[test]
fn graphs_with_inline_mark_edges_only_mark_nodes_as_graphs_with_every_edge() {
    let p = inlined_profile();
    let full = Graph::new(&p, &GraphOptions::default());
    let infos: Vec<_> = full.arena.iter().map(|n| n.info.clone()).collect();
    let marks = |g: &Graph| -> Vec<String> {
        let mut listed: Vec<String> = g
            .nodes
            .iter()
            .map(|&n| {
                let node = g.node(n);
                let mark = report::inline_mark(g, n);
                format!("{:?} {}/{} {mark}", node.info, node.flat, node.cum)
            })
            .collect();
        listed.sort();
        listed
    };
    let mut marked = 0;
    // Every subset of the first ten identities, plus the rest or not, and every edge
    // cutoff that drops a different set of edges (a dropped edge gives no mark).
    let mut cutoffs: Vec<i64> = full
        .edges
        .iter()
        .flat_map(|e| [e.weight.wrapping_abs(), e.weight.wrapping_abs() + 1])
        .chain([0])
        .collect();
    cutoffs.sort();
    cutoffs.dedup();
    assert!(cutoffs.len() >= 6, "{cutoffs:?}");
    for mask in 0u32..(1 << 11) {
        let kept = subset(&infos, mask);
        let every_edge = GraphOptions {
            kept_nodes: Some(&kept),
            ..GraphOptions::default()
        };
        let marking = GraphOptions {
            inline_mark_edges_only: true,
            ..every_edge.clone()
        };
        for &cutoff in &cutoffs {
            let mut expected = Graph::new(&p, &every_edge);
            expected.trim_low_frequency_edges(cutoff);
            let mut g = Graph::new(&p, &marking);
            g.trim_low_frequency_edges(cutoff);
            assert_eq!(
                marks(&g),
                marks(&expected),
                "kept {mask:#b}, cutoff {cutoff}"
            );
            assert!(g.edges.len() <= expected.edges.len());
            marked += g
                .nodes
                .iter()
                .filter(|&&n| !report::inline_mark(&g, n).is_empty())
                .count();
        }
    }
    assert!(marked > 0, "no node was ever marked");
    // Nodes called only as the outermost frame of their locations get no edges in.
    let g = Graph::new(
        &p,
        &GraphOptions {
            inline_mark_edges_only: true,
            ..GraphOptions::default()
        },
    );
    assert!(g.edges.len() < full.edges.len());
}

#[test]
fn inline_marks_of_a_node_with_many_callers_survive_edge_cutoffs_as_with_every_edge() {
    // `x` is inlined into `a` (1) and `b` (10), and called from `c` (2) and `d` (20):
    // which of its edges a cutoff keeps decides its mark.
    let mut p = profile(&["x", "a", "b", "c", "d", "main"], &[]);
    let frames = |functions: &[u32]| -> Vec<Line> {
        functions
            .iter()
            .map(|&function| Line {
                function,
                line: 0,
                column: 0,
            })
            .collect()
    };
    for (id, functions) in [(7u64, [0u32, 1]), (8, [0, 2])] {
        p.locations.push(Location {
            id,
            lines: frames(&functions).into(),
            ..Location::default()
        });
    }
    for (stack, v) in [
        (&[6u32, 5][..], 1),
        (&[7, 5], 10),
        (&[0, 3, 5], 2),
        (&[0, 4, 5], 20),
    ] {
        p.samples.push(&[v], stack, &[]);
    }
    let x = |g: &Graph| g.nodes.iter().copied().find(|&n| g.node(n).name == "x");
    let mut marks = Vec::new();
    for cutoff in 0..=21 {
        let mut every_edge = Graph::new(&p, &GraphOptions::default());
        every_edge.trim_low_frequency_edges(cutoff);
        let mut marking = Graph::new(
            &p,
            &GraphOptions {
                inline_mark_edges_only: true,
                ..GraphOptions::default()
            },
        );
        marking.trim_low_frequency_edges(cutoff);
        let expected = report::inline_mark(&every_edge, x(&every_edge).unwrap());
        assert_eq!(
            report::inline_mark(&marking, x(&marking).unwrap()),
            expected,
            "cutoff {cutoff}"
        );
        marks.push(expected);
    }
    // Past the lighter calls of each kind the mark stays; past the inlined ones it goes.
    assert_eq!(marks[0], "(partial-inline)");
    assert_eq!(marks[5], "(partial-inline)");
    assert_eq!(marks[15], "");
}

#[test]
fn graphs_keeping_a_first_pass_nodes_by_number_equal_graphs_keeping_them_by_identity() {
    let p = inlined_profile();
    let o = GraphOptions::default();
    let totals = NodeTotals::new(&p, &o);
    let mut cutoffs: Vec<i64> = Graph::new(&p, &o)
        .arena
        .iter()
        .map(|n| n.cum.wrapping_abs())
        .collect();
    cutoffs.sort();
    cutoffs.dedup();
    assert!(cutoffs.len() >= 4, "{cutoffs:?}");
    for cutoff in cutoffs.iter().map(|c| c + 1).chain([0]) {
        let (keep, count) = totals.reaching(cutoff);
        let kept = totals.discard_low_frequency_nodes(cutoff);
        assert_eq!(count, kept.len(), "cutoff {cutoff}");
        for inline_mark_edges_only in [false, true] {
            let o = GraphOptions {
                inline_mark_edges_only,
                ..GraphOptions::default()
            };
            let by_identity = GraphOptions {
                kept_nodes: Some(&kept),
                ..o.clone()
            };
            let frames = || NodeTotals::new(&p, &GraphOptions::default()).into_frames();
            assert_eq!(
                format!("{:?}", Graph::with_frames_keeping(&p, &o, frames(), &keep)),
                format!("{:?}", Graph::with_frames(&p, &by_identity, frames())),
                "cutoff {cutoff}"
            );
        }
    }
}

#[test]
fn a_frame_table_made_with_other_name_options_is_not_used() {
    let p = inlined_profile();
    let totals = NodeTotals::new(&p, &GraphOptions::default());
    let o = GraphOptions {
        obj_names: true,
        orig_fn_names: true,
        ..GraphOptions::default()
    };
    let shared = GraphOptions {
        frames: Some(totals.frames()),
        ..o.clone()
    };
    let g = Graph::new(&p, &shared);
    assert!(g.arena.iter().all(|n| n.info.objfile == "/bin/server"));
    assert_eq!(format!("{g:?}"), format!("{:?}", Graph::new(&p, &o)));
}

/// A graph's listed nodes in order, each with its values, its function node and its
/// edges (by the identities at their ends), for comparing graphs whose arenas differ.
fn listed(g: &Graph) -> Vec<String> {
    let describe = |n: usize| {
        let node = g.node(n);
        format!("{:?}@{}/{}", node.info, node.flat, node.cum)
    };
    g.nodes
        .iter()
        .map(|&n| {
            let node = g.node(n);
            let edges = |m: &report::graph::EdgeMap| -> Vec<String> {
                m.iter()
                    .map(|(other, e)| {
                        let e = g.edge(e);
                        format!(
                            "{} w{}/{} r{} i{}",
                            describe(other),
                            e.weight,
                            e.weight_div,
                            e.residual,
                            e.inline
                        )
                    })
                    .collect()
            };
            format!(
                "{} div {}/{} fn {} in {:?} out {:?}",
                describe(n),
                node.flat_div,
                node.cum_div,
                describe(node.function),
                edges(&node.in_edges),
                edges(&node.out_edges)
            )
        })
        .collect()
}

/// A call tree built the plain way, a node made for every calling context as the
/// samples are walked: the behaviour the compact builder must reproduce.
fn plain_call_tree(p: &Profile, o: &GraphOptions) -> Graph {
    use report::graph::{Edge, EdgeMap, Node, NodeInfo};
    use std::collections::HashMap;
    let frames = report::graph::location_node_infos(p, o);
    let mut g = Graph::default();
    let mut children: HashMap<(usize, NodeInfo), usize> = HashMap::new();
    fn node(
        g: &mut Graph,
        children: &mut HashMap<(usize, NodeInfo), usize>,
        parent: usize,
        info: &NodeInfo,
    ) -> usize {
        if let Some(&n) = children.get(&(parent, info.clone())) {
            return n;
        }
        let id = g.arena.len();
        g.arena.push(Node {
            name: info.printable_name(),
            info: info.clone(),
            function: id,
            flat: 0,
            flat_div: 0,
            cum: 0,
            cum_div: 0,
            in_edges: EdgeMap::new(),
            out_edges: EdgeMap::new(),
            label_tags: Default::default(),
            numeric_tags: Default::default(),
        });
        children.insert((parent, info.clone()), id);
        if info.address != 0 || info.lineno != 0 {
            let function = NodeInfo {
                address: 0,
                lineno: 0,
                columnno: 0,
                ..info.clone()
            };
            g.arena[id].function = node(g, children, parent, &function);
        }
        id
    }
    const ROOT: usize = usize::MAX;
    for s in p.samples.iter() {
        let w = s.values.at(o.sample_index);
        let dw = if o.mean { s.values.at(0) } else { 0 };
        if w == 0 && dw == 0 {
            continue;
        }
        let mut parent = ROOT;
        for loc in s.locations.iter().rev() {
            let infos = &frames[loc as usize];
            for (i, info) in infos.iter().enumerate().rev() {
                let n = node(&mut g, &mut children, parent, info);
                g.arena[n].cum += w;
                g.arena[n].cum_div += dw;
                if parent != ROOT {
                    let inline = i != infos.len() - 1;
                    let e = match g.arena[parent].out_edges.get(&n) {
                        Some(e) => e,
                        None => {
                            g.edges.push(Edge {
                                src: parent,
                                dest: n,
                                weight: 0,
                                weight_div: 0,
                                residual: false,
                                inline,
                            });
                            let e = g.edges.len() - 1;
                            g.arena[parent].out_edges.insert(n, e);
                            g.arena[n].in_edges.insert(parent, e);
                            e
                        }
                    };
                    g.edges[e].weight += w;
                    g.edges[e].weight_div += dw;
                    g.edges[e].inline &= inline;
                }
                parent = n;
            }
        }
        if parent != ROOT {
            g.arena[parent].flat += w;
            g.arena[parent].flat_div += dw;
        }
    }
    g.nodes = (0..g.arena.len())
        .filter(|&n| {
            let (flat, cum) = (g.arena[n].flat, g.arena[n].cum);
            let negative = flat < 0 || (flat == 0 && cum < 0);
            (flat != 0 || cum != 0) && !(o.drop_negative && negative)
        })
        .collect();
    g
}

#[test]
fn trimmed_call_trees_equal_whole_trees_trimmed_afterwards() {
    let p = inlined_profile();
    for mean in [false, true] {
        for drop_negative in [false, true] {
            let o = GraphOptions {
                call_tree: true,
                mean,
                drop_negative,
                ..GraphOptions::default()
            };
            for cutoff in [0, 1, 2, 3, 4, 5, 7, 9, 12, 100] {
                let mut whole = plain_call_tree(&p, &o);
                assert_eq!(listed(&Graph::new(&p, &o)), listed(&whole));
                let kept = whole.discard_low_frequency_node_ids(cutoff);
                let dropped = whole.nodes.len() - kept.len();
                if cutoff > 0 && dropped > 0 {
                    whole.trim_tree(&kept);
                }
                let (trimmed, got_cutoff, got_dropped) =
                    Graph::new_trimmed_tree(&p, &o, |_| cutoff);
                assert_eq!(got_cutoff, cutoff);
                assert_eq!(
                    got_dropped,
                    if cutoff > 0 { dropped } else { 0 },
                    "cutoff {cutoff}"
                );
                assert_eq!(
                    listed(&trimmed),
                    listed(&whole),
                    "cutoff {cutoff}, mean {mean}, drop_negative {drop_negative}"
                );
            }
        }
    }
}

#[test]
fn a_trimmed_call_tree_makes_only_the_nodes_it_keeps() {
    // Two hundred distinct contexts under main, one heavy path.
    let names: Vec<String> = (0..202).map(|i| format!("f{i}")).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let mut samples: Vec<(Vec<u32>, i64)> = (2..202u32).map(|i| (vec![i, 1, 0], 1)).collect();
    samples.push((vec![1, 0], 1000));
    let samples: Vec<(&[u32], i64)> = samples.iter().map(|(s, v)| (&s[..], *v)).collect();
    let p = profile(&names, &samples);
    let o = GraphOptions {
        call_tree: true,
        ..GraphOptions::default()
    };
    let (g, cutoff, dropped) = Graph::new_trimmed_tree(&p, &o, |total| total / 100);
    assert_eq!(cutoff, 12);
    assert_eq!(dropped, 200);
    assert_eq!(g.arena.len(), 2, "main and f1 only");
    assert_eq!(node(&g, "f1").cum, 1200);
}

/// A string label `(key, value)` and a numeric label `(key, number, unit)`.
fn string_and_bytes_labels(
    (key, value): (profile::StrId, profile::StrId),
    (num_key, num, num_unit): (profile::StrId, i64, profile::StrId),
) -> [profile::Label; 2] {
    [
        profile::Label {
            key,
            str: value,
            ..profile::Label::default()
        },
        profile::Label {
            key: num_key,
            num,
            num_unit,
            ..profile::Label::default()
        },
    ]
}

#[test]
fn graphs_with_tags_built_from_shared_tag_sets_equal_graphs_built_alone() {
    use report::graph::{TagOptions, TagSets};
    let mut p = profile(&["main", "a", "b"], &[]);
    let (handler, bytes, unit) = (p.intern("handler"), p.intern("bytes"), p.intern("B"));
    for (i, stack) in [&[1u32, 0][..], &[2, 1, 0], &[2, 0], &[1, 0]]
        .iter()
        .enumerate()
    {
        let value = p.intern(["/a", "/b"][i % 2]);
        let labels = string_and_bytes_labels((handler, value), (bytes, 512 << i, unit));
        p.samples.push(&[i as i64 + 1], stack, &labels);
    }
    let to = TagOptions {
        bytes_unit: "bytes".into(),
        output_unit: "auto".into(),
    };
    let other = TagOptions {
        bytes_unit: "bytes".into(),
        output_unit: "kB".into(),
    };
    let sets = TagSets::new(&p, &to);
    for tags in [to.clone(), other] {
        let alone = GraphOptions {
            tags: Some(tags),
            ..GraphOptions::default()
        };
        let shared = GraphOptions {
            tag_sets: Some(&sets),
            ..alone.clone()
        };
        let g = Graph::new(&p, &shared);
        assert!(!node(&g, "a").numeric_tags.is_empty());
        assert_eq!(format!("{g:?}"), format!("{:?}", Graph::new(&p, &alone)));
    }
}

#[test]
fn mean_tags_sum_the_divisors_of_their_samples_on_every_core() {
    use report::graph::TagOptions;
    // Two values per sample, a count and bytes; a mean graph divides by the count.
    let mut p = profile(&["main", "a", "b"], &[]);
    p.sample_types.push(p.sample_types[0]);
    p.samples = profile::Samples::new(2);
    let (handler, bytes, unit) = (p.intern("handler"), p.intern("bytes"), p.intern("B"));
    let (slash_a, slash_b) = (p.intern("/a"), p.intern("/b"));
    // Enough frames (3 × 100,000) for the samples to be summed on both cores.
    let n = 100_000i64;
    for i in 0..n {
        let (stack, value, count): (&[u32], _, _) = if i % 2 == 0 {
            (&[1, 2, 0], slash_a, 2)
        } else {
            (&[2, 1, 0], slash_b, 3)
        };
        let labels = string_and_bytes_labels((handler, value), (bytes, 4096, unit));
        p.samples.push(&[count, 10 * count], stack, &labels);
    }
    let tags = TagOptions {
        bytes_unit: "bytes".into(),
        output_unit: "auto".into(),
    };
    let o = GraphOptions {
        tags: Some(tags),
        sample_index: 1,
        mean: true,
        ..GraphOptions::default()
    };
    let g = Graph::new(&p, &o);
    let a = node(&g, "a");
    // "a" is the leaf of the even samples (count 2) and a caller in the odd ones (3).
    let half = n / 2;
    let (flat, flat_div) = (half * 20, half * 2);
    let (cum, cum_div) = (half * 20 + half * 30, half * 2 + half * 3);
    assert_eq!(
        (a.flat, a.flat_div, a.cum, a.cum_div),
        (flat, flat_div, cum, cum_div)
    );
    let label_tags: Vec<_> = a.label_tags.values().collect();
    assert_eq!(label_tags.len(), 2, "{label_tags:?}");
    let by_count: i64 = label_tags.iter().map(|t| t.cum_div).sum();
    assert_eq!(by_count, cum_div);
    assert_eq!(label_tags.iter().map(|t| t.flat_div).sum::<i64>(), flat_div);
    let numeric: Vec<_> = a.numeric_tags.values().flat_map(|m| m.values()).collect();
    assert_eq!(numeric.iter().map(|t| t.cum_div).sum::<i64>(), cum_div);
    assert_eq!(numeric.iter().map(|t| t.cum).sum::<i64>(), cum);
}

/// A profile whose function `f` has two locations, the first used only by samples a
/// filter leaves out: main (location 3) calls f through location 0 (value 5), g
/// through location 1 (3), f through location 2 (3) and h through location 4 (1).
/// With `selected`, the samples through locations 0 and 4 are stored and left out by
/// a selection; without, they are not in the profile at all.
fn profile_with_unused_first_locations(selected: bool) -> Profile {
    profile_with_unused_first_locations_repeated(selected, 1)
}

/// [`profile_with_unused_first_locations`] with each sample repeated `times` times.
fn profile_with_unused_first_locations_repeated(selected: bool, times: usize) -> Profile {
    let mut p = profile(&["main", "f", "g", "h"], &[]);
    let f = p.locations[1].clone();
    p.locations = vec![
        Location { id: 1, ..f.clone() },
        Location {
            id: 2,
            ..p.locations[2].clone()
        },
        Location { id: 3, ..f },
        Location {
            id: 4,
            ..p.locations[0].clone()
        },
        Location {
            id: 5,
            ..p.locations[3].clone()
        },
    ];
    let samples: [(&[u32], i64, bool); 4] = [
        (&[0, 3], 5, false),
        (&[1, 3], 3, true),
        (&[2, 3], 3, true),
        (&[4, 3], 1, false),
    ];
    for (stack, v, kept) in samples {
        if selected || kept {
            for _ in 0..times {
                p.samples.push(&[v], stack, &[]);
            }
        }
    }
    if selected {
        p.samples.select(|i, _| samples[i / times].2);
    }
    p
}

/// The same profile with its selected samples holding many frames per location, which
/// the graphs identify all locations for rather than find the ones they use.
fn profile_with_unused_first_locations_many_times(selected: bool) -> Profile {
    profile_with_unused_first_locations_repeated(selected, 100)
}

/// The report `format` of `p` (with `main` as the symbol regex of reports that take
/// one), as text.
fn report_of(mut p: Profile, format: report::OutputFormat) -> String {
    let mut o = report::Options::new(format, &p, 0);
    o.symbol = Some(regex::Regex::new("main").unwrap());
    let mut out = Vec::new();
    report::generate(&mut out, &mut p, &o).expect("report");
    String::from_utf8(out).expect("utf-8 report")
}

/// The reports `formats` of `profile(true)` (samples stored, some left out by a
/// selection), each checked equal to the same report of `profile(false)` (only the
/// samples selected).
fn reports_selected_and_alone(
    profile: fn(bool) -> Profile,
    formats: &[report::OutputFormat],
) -> Vec<String> {
    formats
        .iter()
        .map(|&format| {
            let selected = report_of(profile(true), format);
            assert_eq!(selected, report_of(profile(false), format), "{format:?}");
            selected
        })
        .collect()
}

#[test]
fn reports_of_selected_samples_equal_reports_of_those_samples_alone() {
    use report::OutputFormat as F;
    let formats = [F::Text, F::Dot, F::Tree, F::Callgrind, F::Traces];
    for profile in [
        profile_with_unused_first_locations,
        profile_with_unused_first_locations_many_times,
    ] {
        for report in reports_selected_and_alone(profile, &formats) {
            assert!(report.contains(" f"), "{report}");
        }
    }
}

/// A profile in which main calls code of two libraries of one name, `/a/libx.so` and
/// `/b/libx.so`, frames without symbols that print alike, equally often; the first
/// location of `/a/libx.so`'s code is used only by a sample through `other`. With
/// `selected`, that sample is stored and left out by a selection; without, it is not
/// in the profile.
fn profile_with_callees_that_print_alike(selected: bool) -> Profile {
    let mut p = profile(&["main", "other"], &[]);
    for (i, file) in ["/a/libx.so", "/b/libx.so"].iter().enumerate() {
        let filename = p.intern(file);
        p.mappings.push(profile::Mapping {
            id: i as u64 + 1,
            memory_start: 0x1000 + 0x2000 * i as u64,
            memory_limit: 0x2000 + 0x2000 * i as u64,
            filename,
            ..profile::Mapping::default()
        });
    }
    let (main, other) = (p.locations[0].clone(), p.locations[1].clone());
    let lib = |id, mapping, address| Location {
        id,
        mapping: Some(profile::MappingIndex::new(mapping)),
        address,
        ..Location::default()
    };
    p.locations = vec![
        lib(1, 0, 0x1100),
        lib(2, 1, 0x3200),
        lib(3, 0, 0x1300),
        Location { id: 4, ..main },
        Location { id: 5, ..other },
    ];
    let samples: [(&[u32], i64, bool); 3] =
        [(&[0, 4], 7, false), (&[1, 3], 3, true), (&[2, 3], 3, true)];
    for (stack, v, kept) in samples {
        if selected || kept {
            p.samples.push(&[v], stack, &[]);
        }
    }
    if selected {
        p.samples.select(|i, _| samples[i].2);
    }
    p.aggregate(true, true, false, false, false, false)
        .expect("valid profile");
    p
}

#[test]
fn edges_whose_ends_print_alike_are_ordered_by_identity_not_by_numbering() {
    use report::OutputFormat as F;
    let formats = [F::Dot, F::Tree, F::Callgrind];
    reports_selected_and_alone(profile_with_callees_that_print_alike, &formats);
}

/// A profile at the granularity of functions (no addresses or line numbers) whose
/// locations use functions out of their order, with inlined frames, and whose string
/// table holds one name twice: functions 1 and 4 are both `f`, under two string ids.
fn function_level_profile() -> Profile {
    let mut p = Profile::new(1);
    let ty = p.intern("samples");
    let unit = p.intern("count");
    p.sample_types.push(ValueType { ty, unit });
    let file = p.intern("/src/app.go");
    for (i, name) in ["main", "f", "g", "h", "f"].iter().enumerate() {
        // Appended as a decoded table appends, without looking for an equal string.
        let name = p.strings.push(name);
        p.functions.push(Function {
            id: i as u64 + 1,
            name,
            filename: file,
            ..Function::default()
        });
    }
    // Frames innermost first, by function index.
    let locations: [&[u32]; 5] = [&[3], &[2, 4], &[0], &[4], &[1, 2]];
    for (i, frames) in locations.iter().enumerate() {
        p.locations.push(Location {
            id: i as u64 + 1,
            lines: frames
                .iter()
                .map(|&function| Line {
                    function,
                    line: 0,
                    column: 0,
                })
                .collect(),
            ..Location::default()
        });
    }
    for (stack, v) in [
        (&[0u32, 1, 2][..], 5),
        (&[3, 2], 3),
        (&[4, 1, 2], 7),
        (&[1, 2], 2),
    ] {
        p.samples.push(&[v], stack, &[]);
    }
    p
}

#[test]
fn functions_whose_names_are_one_text_under_two_ids_make_one_node() {
    let p = function_level_profile();
    let g = Graph::new(&p, &GraphOptions::default());
    let values = |name: &str| -> Vec<(i64, i64)> {
        g.nodes
            .iter()
            .filter(|&&n| g.node(n).info.name == name)
            .map(|&n| (g.node(n).flat, g.node(n).cum))
            .collect()
    };
    // One `f` is the leaf of the second sample, the other of the third; the third goes
    // through both, and is counted once.
    assert_eq!(values("f"), [(10, 17)]);
    assert_eq!(values("g"), [(2, 14)]);
}

#[test]
fn identities_known_by_function_are_numbered_as_when_each_frame_is_keyed() {
    let p = function_level_profile();
    let by_function = Graph::new(&p, &GraphOptions::default());
    // A kept set of every identity has each frame keyed and judged on its own.
    let every: report::graph::NodeSet = by_function.arena.iter().map(|n| n.info.clone()).collect();
    let keyed = Graph::new(
        &p,
        &GraphOptions {
            kept_nodes: Some(&every),
            ..GraphOptions::default()
        },
    );
    assert_eq!(format!("{by_function:?}"), format!("{keyed:?}"));
    // Numbered in order of first use: location 0 uses h, location 1 g then f, ...
    let order: Vec<&str> = by_function
        .arena
        .iter()
        .map(|n| n.info.name.as_str())
        .collect();
    assert_eq!(order, ["h", "g", "f", "main"]);
}

#[test]
fn functions_without_names_are_told_apart_by_their_object_files() {
    let mut p = profile(&["main"], &[]);
    p.functions.push(Function {
        id: 2,
        ..Function::default()
    });
    for (i, file) in ["/lib/a.so", "/lib/b.so"].iter().enumerate() {
        let filename = p.intern(file);
        p.mappings.push(profile::Mapping {
            id: i as u64 + 1,
            filename,
            ..profile::Mapping::default()
        });
        p.locations.push(Location {
            id: i as u64 + 2,
            mapping: Some(profile::MappingIndex::new(i as u32)),
            lines: vec![Line {
                function: 1,
                line: 0,
                column: 0,
            }]
            .into(),
            ..Location::default()
        });
    }
    p.samples.push(&[2], &[1, 0], &[]);
    p.samples.push(&[3], &[2, 0], &[]);
    let g = Graph::new(&p, &GraphOptions::default());
    let mut objfiles: Vec<(String, i64)> = g
        .nodes
        .iter()
        .map(|&n| (g.node(n).info.objfile.clone(), g.node(n).flat))
        .filter(|(objfile, _)| !objfile.is_empty())
        .collect();
    objfiles.sort();
    assert_eq!(
        objfiles,
        [("/lib/a.so".to_string(), 2), ("/lib/b.so".to_string(), 3)]
    );
}

/// A profile whose frames are known in every way a frame can be: by function alone,
/// by line, by column alone, by address, by a nameless function's object file, and
/// with no lines at all.
fn mixed_frames_profile() -> Profile {
    profile_of_one_binary(
        &["main", "a", "b", ""],
        &[
            (0, &[(1, 0, 3)]),
            (0, &[(1, 5, 0), (0, 0, 0)]),
            (0, &[(1, 0, 0)]),
            (0x10, &[(2, 0, 0)]),
            (0, &[(1, 6, 2), (2, 0, 0)]),
            (0x20, &[(3, 0, 0)]),
            (0x30, &[]),
            (0, &[(1, 0, 3)]),
            (0, &[(0, 0, 0)]),
        ],
        &[
            (&[0, 1], 5),
            (&[2, 3, 8], 3),
            (&[4, 6, 8], 7),
            (&[5, 7, 2, 1], 2),
        ],
    )
}

#[test]
fn frames_interned_a_few_frames_behind_get_the_ids_interning_at_once_gives() {
    let p = mixed_frames_profile();
    for obj_names in [false, true] {
        let o = GraphOptions {
            obj_names,
            ..GraphOptions::default()
        };
        let ahead = Graph::new(&p, &o);
        // A kept set of every identity has each frame interned as it is met.
        let every: report::graph::NodeSet = ahead.arena.iter().map(|n| n.info.clone()).collect();
        let at_once = Graph::new(
            &p,
            &GraphOptions {
                kept_nodes: Some(&every),
                ..o.clone()
            },
        );
        assert_eq!(format!("{ahead:?}"), format!("{at_once:?}"));
        let at = |n: usize| {
            let info = &ahead.arena[n].info;
            (info.name.as_str(), info.lineno, info.columnno)
        };
        let functions: Vec<_> = (0..ahead.arena.len())
            .map(|n| (at(n), at(ahead.arena[n].function)))
            .collect();
        // A frame by column alone is its own function node; one by line is given
        // its function's node.
        assert!(
            functions.contains(&(("a", 0, 3), ("a", 0, 3))),
            "{functions:?}"
        );
        assert!(
            functions.contains(&(("a", 5, 0), ("a", 0, 0))),
            "{functions:?}"
        );
        assert!(
            functions.contains(&(("a", 6, 2), ("a", 0, 0))),
            "{functions:?}"
        );
    }
}
