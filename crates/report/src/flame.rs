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
        // Renumber frames in name order, so stacks sort as their names do.
        let mut order: Vec<u32> = (1..names.len() as u32).collect();
        order.sort_unstable_by(|&a, &b| names[a as usize].cmp(&names[b as usize]));
        let mut rank = vec![0u32; names.len()];
        for (r, &id) in order.iter().enumerate() {
            rank[id as usize] = r as u32 + 1;
        }
        for f in &mut frames {
            *f = rank[*f as usize];
        }
        let mut sorted = Vec::with_capacity(names.len());
        sorted.push(std::mem::take(&mut names[0]));
        for &id in &order {
            sorted.push(std::mem::take(&mut names[id as usize]));
        }
        LocationFrames {
            names: sorted,
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

/// The distinct stacks of a profile with their summed values, sorted by frame names
/// (root first): the input of collapsed stacks and of flame graph layout.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stacks {
    /// Frame names, sorted; frame ids index this list.
    pub names: Vec<String>,
    /// Frame ids of all stacks, concatenated, each stack root first.
    frames: Vec<u32>,
    /// `len() + 1` offsets into `frames`.
    offsets: Vec<u32>,
    /// Sum of the values of each stack's samples (diff base samples excluded).
    pub values: Vec<i64>,
    /// Sum of the values of each stack's diff base samples, sign restored.
    pub bases: Vec<i64>,
    /// Whether the profile had diff base samples.
    pub diff: bool,
}

impl Stacks {
    /// Collects the distinct stacks of `prof`, summing the value at `sample_index`.
    ///
    /// One hash lookup per sample (no allocation unless the stack is new), then one sort
    /// of the distinct stacks.
    pub fn from_profile(prof: &Profile, sample_index: usize) -> Stacks {
        let frames = LocationFrames::of(prof);
        let base_key = prof.strings.find(DIFF_BASE_LABEL);
        let base_true = prof.strings.find("true");
        let mut diff = false;
        let mut index: HashMap<Box<[u32]>, (i64, i64), BuildStackHasher> = HashMap::default();
        let mut buf: Vec<u32> = Vec::new();
        for s in prof.samples.iter() {
            let Some(&v) = s.values.get(sample_index) else {
                continue;
            };
            let is_base = match (base_key, base_true) {
                (Some(k), Some(t)) => is_base_sample(s.labels, k, t),
                _ => false,
            };
            diff |= is_base;
            buf.clear();
            for loc in s.locations.iter().rev() {
                buf.extend_from_slice(frames.get(loc));
            }
            let acc = match index.get_mut(buf.as_slice()) {
                Some(acc) => acc,
                None => index.entry(buf.clone().into_boxed_slice()).or_default(),
            };
            if is_base {
                acc.1 -= v;
            } else {
                acc.0 += v;
            }
        }
        let mut sorted: Vec<_> = index.into_iter().collect();
        sorted.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        let total: usize = sorted.iter().map(|(k, _)| k.len()).sum();
        let mut out = Stacks {
            names: frames.names,
            frames: Vec::with_capacity(total),
            offsets: Vec::with_capacity(sorted.len() + 1),
            values: Vec::with_capacity(sorted.len()),
            bases: Vec::with_capacity(sorted.len()),
            diff,
        };
        out.offsets.push(0);
        for (stack, (v, b)) in sorted {
            out.frames.extend_from_slice(&stack);
            out.offsets.push(out.frames.len() as u32);
            out.values.push(v);
            out.bases.push(b);
        }
        out
    }

    /// Number of distinct stacks.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether there are no stacks.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The frame ids of stack `i`, root first.
    pub fn frames(&self, i: usize) -> &[u32] {
        match (self.offsets.get(i), self.offsets.get(i + 1)) {
            (Some(&a), Some(&b)) => &self.frames[a as usize..b as usize],
            _ => &[],
        }
    }
}

fn is_base_sample(labels: &[profile::Label], key: StrId, value: StrId) -> bool {
    labels
        .iter()
        .any(|l| l.key == key && l.str == value && !l.is_numeric())
}

/// A fast hasher for stacks of frame ids (multiply-rotate, as rustc's FxHasher): the
/// keys come from the profile's own structure, and SipHash's flooding resistance is not
/// worth its cost on millions of stacks.
#[derive(Default)]
struct StackHasher(u64);

impl std::hash::Hasher for StackHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(c);
            self.add(u64::from_le_bytes(word));
        }
        for &b in chunks.remainder() {
            self.add(u64::from(b));
        }
    }

    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }

    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
}

impl StackHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

type BuildStackHasher = std::hash::BuildHasherDefault<StackHasher>;

/// A frame on the path being built, with the frames aggregated away below it.
struct Open {
    index: usize,
    small_value: i64,
    small_base: i64,
    small_count: u32,
}

impl FlameGraph {
    /// Builds the flame graph of `prof`'s samples, summing the value at
    /// `opts.sample_index`.
    pub fn from_profile(prof: &Profile, opts: &BuildOptions) -> FlameGraph {
        FlameGraph::from_stacks(Stacks::from_profile(prof, opts.sample_index), opts)
    }

    /// Builds the flame graph of distinct `stacks`.
    ///
    /// Sorted stacks visit the tree depth first, so each frame is made once, when its
    /// path first appears, and is final when the walk leaves it; a frame too small to
    /// keep is then cut off the end of the list (its subtree is what follows it) and
    /// added to its parent's aggregate.
    pub fn from_stacks(stacks: Stacks, opts: &BuildOptions) -> FlameGraph {
        let mut names = stacks.names;
        let grand_total = stacks
            .values
            .iter()
            .sum::<i64>()
            .abs()
            .max(stacks.bases.iter().sum::<i64>().abs());
        let threshold = if opts.min_fraction > 0.0 {
            ((grand_total as f64) * opts.min_fraction).ceil() as i64
        } else {
            0
        };
        let mut out: Vec<Frame> = vec![Frame {
            parent: NO_PARENT,
            ..Frame::default()
        }];
        let mut path: Vec<Open> = vec![Open {
            index: 0,
            small_value: 0,
            small_base: 0,
            small_count: 0,
        }];
        let mut small_names: HashMap<u32, u32> = HashMap::new();
        let mut prev: &[u32] = &[];
        for i in 0..stacks.values.len() {
            let stack = &stacks.frames[stacks.offsets[i] as usize..stacks.offsets[i + 1] as usize];
            let (v, b) = (stacks.values[i], stacks.bases[i]);
            let common = prev.iter().zip(stack).take_while(|(a, b)| a == b).count();
            while path.len() > common + 1 {
                close(&mut out, &mut path, &mut names, &mut small_names, threshold);
            }
            for (d, &name) in stack.iter().enumerate().skip(common) {
                let parent = path.last().map_or(0, |o| o.index) as u32;
                out.push(Frame {
                    name,
                    parent,
                    depth: d as u32 + 1,
                    ..Frame::default()
                });
                path.push(Open {
                    index: out.len() - 1,
                    small_value: 0,
                    small_base: 0,
                    small_count: 0,
                });
            }
            for o in &path {
                let f = &mut out[o.index];
                f.value += v;
                f.base += b;
            }
            if let Some(o) = path.last() {
                let f = &mut out[o.index];
                f.self_value += v;
                f.self_base += b;
            }
            prev = stack;
        }
        while path.len() > 1 {
            close(&mut out, &mut path, &mut names, &mut small_names, threshold);
        }
        // The root is never cut; it still gets its aggregate frame and its end.
        if let Some(root) = path.pop() {
            finish(&mut out, root, &mut names, &mut small_names, threshold);
        }
        let max_depth = out.iter().map(|f| f.depth).max().unwrap_or(0);
        FlameGraph {
            names,
            frames: out,
            diff: stacks.diff,
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

/// Leaves the deepest frame on `path`: keeps it (with an aggregate of its small
/// children) or cuts it and its subtree, adding them to the parent's aggregate.
fn close(
    out: &mut Vec<Frame>,
    path: &mut Vec<Open>,
    names: &mut Vec<String>,
    small_names: &mut HashMap<u32, u32>,
    threshold: i64,
) {
    let Some(o) = path.pop() else { return };
    let f = &out[o.index];
    if f.value.abs().max(f.base.abs()) < threshold {
        let (value, base) = (f.value, f.base);
        out.truncate(o.index);
        if let Some(parent) = path.last_mut() {
            parent.small_value += value;
            parent.small_base += base;
            parent.small_count += 1;
        }
        return;
    }
    finish(out, o, names, small_names, threshold);
}

/// Completes a kept frame: appends the aggregate of its small children, when it is
/// worth drawing, and records where its subtree ends.
fn finish(
    out: &mut Vec<Frame>,
    o: Open,
    names: &mut Vec<String>,
    small_names: &mut HashMap<u32, u32>,
    threshold: i64,
) {
    if o.small_count > 0 && o.small_value.abs().max(o.small_base.abs()) >= threshold.max(1) {
        let name = *small_names.entry(o.small_count).or_insert_with(|| {
            names.push(format!("[{} small frames]", o.small_count));
            (names.len() - 1) as u32
        });
        let depth = out[o.index].depth + 1;
        let end = out.len() as u32 + 1;
        out.push(Frame {
            name,
            parent: o.index as u32,
            depth,
            end,
            value: o.small_value,
            self_value: o.small_value,
            base: o.small_base,
            self_base: o.small_base,
            aggregated: o.small_count,
        });
    }
    out[o.index].end = out.len() as u32;
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
