//! Flame graph data: the samples of a profile folded into a tree of frames, root first,
//! with each frame's cumulative value, self value and (for `-diff_base` profiles) the
//! values of the base profile, ready to be drawn or written as collapsed stacks.
//!
//! The tree is built depth first, root first, children sorted by name, by partitioning
//! the samples level by level on their next frame (module `stacks`); frames too narrow to see
//! can be aggregated into one frame per parent, and are then never expanded, so that
//! both the drawing of a huge profile and the memory it takes to build stay small.

mod stacks;
mod svg;

use std::collections::HashMap;

use profile::Profile;

pub use stacks::{for_each_stack, StackRef};
use stacks::{Group, StackPartition};

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

/// Work left in the depth-first construction of a flame graph.
enum Task {
    /// Make a frame of the group and build its subtree.
    Enter {
        group: Group,
        parent: u32,
        depth: u32,
    },
    /// Complete kept frame `index`, whose children are done, with the aggregate of its
    /// small children.
    Finish {
        index: u32,
        small_value: i64,
        small_base: i64,
        small_count: u32,
    },
}

impl FlameGraph {
    /// Builds the flame graph of `prof`'s samples, summing the value at
    /// `opts.sample_index`.
    ///
    /// The frame tree is built root first, one level at a time: the samples of a kept
    /// frame are grouped by their next frame (see `StackPartition`), and only groups
    /// at or above the threshold become frames and are split further; the others are
    /// summed into their parent's aggregate. Memory is a few words per sample plus the
    /// frames kept, however many distinct stacks the profile has.
    pub fn from_profile(prof: &Profile, opts: &BuildOptions) -> FlameGraph {
        let mut part = StackPartition::new(prof, opts.sample_index);
        let (total_value, total_base) = part.total();
        let grand_total = total_value.abs().max(total_base.abs());
        let threshold = if opts.min_fraction > 0.0 {
            ((grand_total as f64) * opts.min_fraction).ceil() as i64
        } else {
            0
        };
        let mut names = part.take_names();
        let mut small_names: HashMap<u32, u32> = HashMap::new();
        let mut out: Vec<Frame> = Vec::new();
        let mut groups: Vec<Group> = Vec::new();
        let mut todo = vec![Task::Enter {
            group: Group {
                name: 0,
                start: 0,
                end: part.len() as u32,
                value: total_value,
                base: total_base,
            },
            parent: NO_PARENT,
            depth: 0,
        }];
        while let Some(task) = todo.pop() {
            match task {
                Task::Enter {
                    group,
                    parent,
                    depth,
                } => {
                    let index = out.len() as u32;
                    groups.clear();
                    let ends = part.split(group.start, group.end, &mut groups);
                    out.push(Frame {
                        name: group.name,
                        parent,
                        depth,
                        value: group.value,
                        self_value: ends.value,
                        base: group.base,
                        self_base: ends.base,
                        ..Frame::default()
                    });
                    let (mut small_value, mut small_base, mut small_count) = (0, 0, 0);
                    for g in &groups {
                        if g.value.abs().max(g.base.abs()) < threshold {
                            small_value += g.value;
                            small_base += g.base;
                            small_count += 1;
                        }
                    }
                    todo.push(Task::Finish {
                        index,
                        small_value,
                        small_base,
                        small_count,
                    });
                    for g in groups.iter().rev() {
                        if g.value.abs().max(g.base.abs()) >= threshold {
                            todo.push(Task::Enter {
                                group: *g,
                                parent: index,
                                depth: depth + 1,
                            });
                        }
                    }
                }
                Task::Finish {
                    index,
                    small_value,
                    small_base,
                    small_count,
                } => {
                    let i = index as usize;
                    if small_count > 0
                        && small_value.abs().max(small_base.abs()) >= threshold.max(1)
                    {
                        let name = *small_names.entry(small_count).or_insert_with(|| {
                            names.push(format!("[{small_count} small frames]"));
                            (names.len() - 1) as u32
                        });
                        let end = out.len() as u32 + 1;
                        out.push(Frame {
                            name,
                            parent: index,
                            depth: out[i].depth + 1,
                            end,
                            value: small_value,
                            self_value: small_value,
                            base: small_base,
                            self_base: small_base,
                            aggregated: small_count,
                        });
                    }
                    out[i].end = out.len() as u32;
                }
            }
        }
        let max_depth = out.iter().map(|f| f.depth).max().unwrap_or(0);
        FlameGraph {
            names,
            frames: out,
            diff: part.diff(),
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
