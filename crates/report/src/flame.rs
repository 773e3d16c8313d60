//! Flame graph data: the samples of a profile folded into a tree of frames, root first,
//! with each frame's cumulative value, self value and (for `-diff_base` profiles) the
//! values of the base profile, ready to be drawn or written as collapsed stacks.
//!
//! The tree is built in one pass over the samples with one hash lookup per frame of a
//! stack and no allocation per sample. It is then laid out depth first, children sorted
//! by name, optionally aggregating frames too narrow to see into one frame per parent so
//! that the drawing of a huge profile stays small.

mod svg;

use std::collections::HashMap;

use profile::{Profile, StrId, DIFF_BASE_LABEL};

use crate::graph::{location_node_infos, GraphOptions};

pub use svg::{
    render_html, render_svg, svg_element, write_toolbar, Orientation, RenderOptions, HTML_STYLE,
};

/// Marks a missing parent (the root's).
const NO_PARENT: u32 = u32::MAX;

/// One frame of a flame graph: a function (or line, file, address, as the profile's
/// granularity left it) reached through one particular path from the root.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Frame {
    /// Index of the frame's name in [`FlameGraph::names`].
    pub name: u32,
    /// Index of the parent frame in [`FlameGraph::frames`]; `u32::MAX` for the root.
    pub parent: u32,
    /// Distance from the root (the root is at depth 0).
    pub depth: u32,
    /// One past the index of the frame's last descendant: the frame's subtree is
    /// `frames[i..end]`, and its next sibling (if any) is at `end`.
    pub end: u32,
    /// Sum of the values of the samples whose stack goes through this frame (the samples
    /// of the diff base excluded).
    pub value: i64,
    /// Sum of the values of the samples whose stack ends at this frame.
    pub self_value: i64,
    /// Like `value`, for the samples of the diff base, sign restored (0 without one).
    pub base: i64,
    /// Like `self_value`, for the samples of the diff base, sign restored.
    pub self_base: i64,
    /// Number of frames this one stands for when it aggregates frames too small to draw
    /// (0 for an ordinary frame).
    pub aggregated: u32,
}

/// A flame graph: frames in depth-first order, root first, siblings sorted by name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FlameGraph {
    /// Frame names; `names[0]` is the root's, `root`.
    pub names: Vec<String>,
    /// The frames; `frames[0]` is the root, whose value is the profile's total.
    pub frames: Vec<Frame>,
    /// Whether the profile had diff base samples (`-diff_base`).
    pub diff: bool,
    /// Depth of the deepest frame.
    pub max_depth: u32,
}

/// How to build a flame graph.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BuildOptions {
    /// Index of the sample value summed.
    pub sample_index: usize,
    /// Frames whose value (and base value) is below this fraction of the total are
    /// aggregated into one frame per parent; 0 keeps every frame.
    pub min_fraction: f64,
}

impl Default for BuildOptions {
    fn default() -> Self {
        BuildOptions {
            sample_index: 0,
            min_fraction: 0.0,
        }
    }
}

/// The frames of each location as name ids, root-most (caller) first.
struct LocationFrames {
    names: Vec<String>,
    offsets: Vec<u32>,
    frames: Vec<u32>,
}

impl LocationFrames {
    /// Names every frame of every location of `prof` with its printable node name.
    fn of(prof: &Profile) -> LocationFrames {
        let mut names = vec!["root".to_string()];
        let mut index: HashMap<String, u32> = HashMap::new();
        let mut offsets = Vec::with_capacity(prof.locations.len() + 1);
        let mut frames = Vec::with_capacity(prof.locations.len());
        offsets.push(0);
        let opts = GraphOptions::default();
        for infos in location_node_infos(prof, &opts) {
            // Infos list the innermost (inlined) frame first; stacks go root first.
            for info in infos.iter().rev() {
                let name = frame_name(&info.printable_name());
                let id = *index.entry(name).or_insert_with_key(|k| {
                    names.push(k.clone());
                    (names.len() - 1) as u32
                });
                frames.push(id);
            }
            offsets.push(frames.len() as u32);
        }
        LocationFrames {
            names,
            offsets,
            frames,
        }
    }

    /// The frames of location `loc`, caller first.
    fn get(&self, loc: u32) -> &[u32] {
        let i = loc as usize;
        match (self.offsets.get(i), self.offsets.get(i + 1)) {
            (Some(&a), Some(&b)) => &self.frames[a as usize..b as usize],
            _ => &[],
        }
    }
}

/// A frame name fit for one line of collapsed stacks: `;` separates frames there and a
/// line ends a stack, so both become other characters.
fn frame_name(name: &str) -> String {
    if name.contains([';', '\n', '\r']) {
        name.replace(';', ":").replace(['\n', '\r'], " ")
    } else {
        name.to_string()
    }
}

/// A node of the tree while it is being built.
#[derive(Clone, Copy)]
struct RawNode {
    name: u32,
    value: i64,
    self_value: i64,
    base: i64,
    self_base: i64,
}

/// The tree as built from the samples: nodes in creation order, children found by hash.
struct RawTree {
    nodes: Vec<RawNode>,
    parents: Vec<u32>,
    diff: bool,
}

impl RawTree {
    fn build(prof: &Profile, frames: &LocationFrames, sample_index: usize) -> RawTree {
        let root = RawNode {
            name: 0,
            value: 0,
            self_value: 0,
            base: 0,
            self_base: 0,
        };
        let mut nodes = vec![root];
        let mut parents = vec![NO_PARENT];
        let mut children: HashMap<(u32, u32), u32> = HashMap::new();
        let base_key = prof.strings.find(DIFF_BASE_LABEL);
        let base_true = prof.strings.find("true");
        let mut diff = false;
        for s in prof.samples.iter() {
            let Some(&v) = s.values.get(sample_index) else {
                continue;
            };
            let is_base = match (base_key, base_true) {
                (Some(k), Some(t)) => is_base_sample(s.labels, k, t),
                _ => false,
            };
            diff |= is_base;
            let (dv, db) = if is_base { (0, -v) } else { (v, 0) };
            let mut node = 0u32;
            nodes[0].value += dv;
            nodes[0].base += db;
            for &loc in s.locations.iter().rev() {
                for &name in frames.get(loc) {
                    let next = *children.entry((node, name)).or_insert_with(|| {
                        nodes.push(RawNode { name, ..root });
                        parents.push(node);
                        (nodes.len() - 1) as u32
                    });
                    node = next;
                    let n = &mut nodes[node as usize];
                    n.value += dv;
                    n.base += db;
                }
            }
            let n = &mut nodes[node as usize];
            n.self_value += dv;
            n.self_base += db;
        }
        RawTree {
            nodes,
            parents,
            diff,
        }
    }

    /// Children of every node, as offsets into one flat list (compressed rows).
    fn child_lists(&self) -> (Vec<u32>, Vec<u32>) {
        let n = self.nodes.len();
        let mut offsets = vec![0u32; n + 1];
        for &p in &self.parents[1..] {
            offsets[p as usize + 1] += 1;
        }
        for i in 0..n {
            offsets[i + 1] += offsets[i];
        }
        let mut fill = offsets.clone();
        let mut list = vec![0u32; n.saturating_sub(1)];
        for (i, &p) in self.parents.iter().enumerate().skip(1) {
            let slot = &mut fill[p as usize];
            list[*slot as usize] = i as u32;
            *slot += 1;
        }
        (offsets, list)
    }
}

fn is_base_sample(labels: &[profile::Label], key: StrId, value: StrId) -> bool {
    labels
        .iter()
        .any(|l| l.key == key && l.str == value && !l.is_numeric())
}

impl FlameGraph {
    /// Builds the flame graph of `prof`'s samples, summing the value at
    /// `opts.sample_index`.
    pub fn from_profile(prof: &Profile, opts: &BuildOptions) -> FlameGraph {
        let frames = LocationFrames::of(prof);
        let raw = RawTree::build(prof, &frames, opts.sample_index);
        let mut names = frames.names;
        let root = raw.nodes[0];
        let total = root.value.abs().max(root.base.abs());
        let threshold = if opts.min_fraction > 0.0 {
            ((total as f64) * opts.min_fraction).ceil() as i64
        } else {
            0
        };
        let (offsets, list) = raw.child_lists();
        let mut out: Vec<Frame> =
            Vec::with_capacity(if threshold > 0 { 1024 } else { raw.nodes.len() });
        let mut max_depth = 0;

        // Depth-first layout with an explicit stack: deep stacks must not overflow ours.
        // A pending entry is either a node to emit or the close of an emitted frame.
        enum Step {
            Open {
                node: u32,
                parent: u32,
                depth: u32,
            },
            Small {
                parent: u32,
                depth: u32,
                agg: RawNode,
                count: u32,
            },
            Close(u32),
        }
        let mut stack = vec![Step::Open {
            node: 0,
            parent: NO_PARENT,
            depth: 0,
        }];
        let mut kept: Vec<u32> = Vec::new();
        while let Some(step) = stack.pop() {
            let (frame, node) = match step {
                Step::Close(i) => {
                    let end = out.len() as u32;
                    out[i as usize].end = end;
                    continue;
                }
                Step::Small {
                    parent,
                    depth,
                    agg,
                    count,
                } => {
                    names.push(format!("[{count} small frames]"));
                    let f = Frame {
                        name: (names.len() - 1) as u32,
                        parent,
                        depth,
                        end: out.len() as u32 + 1,
                        value: agg.value,
                        self_value: agg.self_value,
                        base: agg.base,
                        self_base: agg.self_base,
                        aggregated: count,
                    };
                    max_depth = max_depth.max(depth);
                    out.push(f);
                    continue;
                }
                Step::Open {
                    node,
                    parent,
                    depth,
                } => {
                    let n = raw.nodes[node as usize];
                    (
                        Frame {
                            name: n.name,
                            parent,
                            depth,
                            end: 0,
                            value: n.value,
                            self_value: n.self_value,
                            base: n.base,
                            self_base: n.self_base,
                            aggregated: 0,
                        },
                        node,
                    )
                }
            };
            let index = out.len() as u32;
            let depth = frame.depth;
            max_depth = max_depth.max(depth);
            out.push(frame);
            stack.push(Step::Close(index));

            let kids = &list[offsets[node as usize] as usize..offsets[node as usize + 1] as usize];
            kept.clear();
            let mut small = RawNode {
                name: 0,
                value: 0,
                self_value: 0,
                base: 0,
                self_base: 0,
            };
            let mut small_count = 0u32;
            for &k in kids {
                let n = &raw.nodes[k as usize];
                if n.value.abs().max(n.base.abs()) >= threshold {
                    kept.push(k);
                } else {
                    small.value += n.value;
                    small.self_value += n.value;
                    small.base += n.base;
                    small.self_base += n.base;
                    small_count += 1;
                }
            }
            kept.sort_by(|&a, &b| {
                names[raw.nodes[a as usize].name as usize]
                    .cmp(&names[raw.nodes[b as usize].name as usize])
            });
            // Pushed in reverse so they pop in order; the aggregate frame goes last.
            if small_count > 0 && small.value.abs().max(small.base.abs()) >= threshold.max(1) {
                stack.push(Step::Small {
                    parent: index,
                    depth: depth + 1,
                    agg: small,
                    count: small_count,
                });
            }
            for &k in kept.iter().rev() {
                stack.push(Step::Open {
                    node: k,
                    parent: index,
                    depth: depth + 1,
                });
            }
        }
        FlameGraph {
            names,
            frames: out,
            diff: raw.diff,
            max_depth,
        }
    }

    /// The root frame's value: the total of the samples drawn.
    pub fn total(&self) -> i64 {
        self.frames.first().map_or(0, |f| f.value)
    }

    /// The name of frame `i`.
    pub fn name(&self, i: usize) -> &str {
        self.frames
            .get(i)
            .and_then(|f| self.names.get(f.name as usize))
            .map_or("", String::as_str)
    }

    /// Indices of the children of frame `i`, in order.
    pub fn children(&self, i: usize) -> impl Iterator<Item = usize> + '_ {
        let end = self.frames.get(i).map_or(0, |f| f.end as usize);
        let mut next = i + 1;
        std::iter::from_fn(move || {
            if next >= end {
                return None;
            }
            let c = next;
            next = self.frames[c].end as usize;
            Some(c)
        })
    }
}

/// Fraction of the total below which frames of a drawn flame graph are aggregated.
pub const DRAWN_MIN_FRACTION: f64 = 0.001;

/// The title of a flame graph of the report's profile: the sample type, and the binary
/// when known.
pub fn title(rpt: &crate::Report) -> String {
    let o = &rpt.options;
    let mut t = if o.sample_type.is_empty() {
        "Flame Graph".to_string()
    } else {
        o.sample_type.clone()
    };
    if !o.title.is_empty() {
        t.push_str(" \u{2014} ");
        t.push_str(&o.title);
    }
    t
}

/// Writes the flame graph of the report's profile (`-flamegraph`): an SVG document, or
/// an HTML page when `html`.
pub fn print_flame_graph(
    w: &mut dyn std::io::Write,
    rpt: &crate::Report,
    html: bool,
) -> profile::Result<()> {
    let o = &rpt.options;
    let fg = FlameGraph::from_profile(
        rpt.prof,
        &BuildOptions {
            sample_index: o.sample_index,
            min_fraction: DRAWN_MIN_FRACTION,
        },
    );
    let ropts = RenderOptions {
        title: title(rpt),
        unit: o.sample_unit.clone(),
        ..RenderOptions::default()
    };
    let doc = if html {
        render_html(&fg, &ropts)
    } else {
        render_svg(&fg, &ropts)
    };
    w.write_all(doc.as_bytes()).map_err(crate::write_error)
}
