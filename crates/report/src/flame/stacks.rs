//! The samples of a profile as a tree of expanded frames, walked root first without
//! materializing the stacks.
//!
//! A node of the tree is a run of sample indices whose expanded stacks (every location
//! split into its inlined frames, caller first) share the node's path from the root.
//! [`StackPartition::split`] groups a node's samples by their next frame with a
//! counting sort (an MSD radix partition, one level at a time), summing their values,
//! so a caller descends only into the groups it keeps. Memory is a few words per
//! sample, whatever the depth and number of distinct stacks, and the work is
//! proportional to the frames of the nodes visited.

use std::collections::HashMap;

use profile::{Profile, Samples, StrId, DIFF_BASE_LABEL};

use crate::graph::{location_node_infos, GraphOptions};

/// The frames of each location as name ids, root-most (caller) first; name ids are
/// ranked by name, so frames order as their names do.
pub(super) struct LocationFrames {
    /// Frame names, sorted, `names[0]` being the root's (`root`).
    pub(super) names: Vec<String>,
    /// `locations.len() + 1` offsets into `frames`.
    offsets: Vec<u32>,
    /// Frame name ids of all locations, concatenated.
    frames: Vec<u32>,
}

impl LocationFrames {
    /// Names every frame of every location of `prof` with its printable node name.
    pub(super) fn of(prof: &Profile) -> LocationFrames {
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

    /// The frames of location `loc`, caller first (none for an unknown location).
    #[inline]
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

/// Where the walk of one sample's expanded stack stands: the next frame is frame `sub`
/// of the location `loc` places from the root.
#[derive(Clone, Copy, Default)]
struct Cursor {
    loc: u32,
    sub: u32,
}

/// The samples that share a node's path and continue with the same next frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Group {
    /// Name id of the frame.
    pub(super) name: u32,
    /// The group's run of positions in the partition, `start..end`.
    pub(super) start: u32,
    /// One past the group's last position.
    pub(super) end: u32,
    /// Sum of the values of the group's samples (diff base samples excluded).
    pub(super) value: i64,
    /// Sum of the values of the group's diff base samples, sign restored.
    pub(super) base: i64,
}

/// Sums of the samples of a node whose stacks end there.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Ends {
    /// Number of such samples.
    pub(super) count: u32,
    /// Sum of their values (diff base samples excluded).
    pub(super) value: i64,
    /// Sum of the values of the diff base samples among them, sign restored.
    pub(super) base: i64,
}

/// Marks, in the key buffer, a sample whose stack ended.
const END: u32 = u32::MAX;

/// The samples of a profile being partitioned into the tree of their expanded stacks.
pub(super) struct StackPartition<'a> {
    samples: &'a Samples,
    sample_index: usize,
    frames: LocationFrames,
    /// Whether each sample is a diff base sample; empty when none is.
    is_base: Vec<bool>,
    /// Sample indices; each node visited owns a contiguous run of them.
    order: Vec<u32>,
    /// Per sample, where its walk stands.
    cursors: Vec<Cursor>,
    /// Per position, the next frame of the sample there (during a split).
    keys: Vec<u32>,
    /// Scatter buffer, as long as `order`.
    scratch: Vec<u32>,
    /// Per name id, the number of samples of the node being split continuing with it
    /// (then the next position of that group); zero between splits.
    counts: Vec<u32>,
    /// Per name id, the value and base sums of the node being split; zero between splits.
    sums: Vec<(i64, i64)>,
    /// Name ids met by the split in progress.
    touched: Vec<u32>,
    /// Value and base sums over all samples.
    total: (i64, i64),
}

impl<'a> StackPartition<'a> {
    /// Prepares the walk of `prof`'s samples, summing the value at `sample_index`
    /// (no sample at all when the samples have no such value). The root node is
    /// `0..self.len()`.
    pub(super) fn new(prof: &'a Profile, sample_index: usize) -> StackPartition<'a> {
        let samples = &prof.samples;
        let frames = LocationFrames::of(prof);
        let n = if sample_index < samples.width() {
            samples.len()
        } else {
            0
        };
        let is_base = match (
            prof.strings.find(DIFF_BASE_LABEL),
            prof.strings.find("true"),
        ) {
            (Some(k), Some(t)) => {
                let flags: Vec<bool> = (0..n)
                    .map(|i| is_base_sample(samples.labels(i), k, t))
                    .collect();
                if flags.contains(&true) {
                    flags
                } else {
                    Vec::new()
                }
            }
            _ => Vec::new(),
        };
        let names = frames.names.len();
        let mut p = StackPartition {
            samples,
            sample_index,
            frames,
            is_base,
            order: (0..n as u32).collect(),
            cursors: vec![Cursor::default(); n],
            keys: vec![0; n],
            scratch: vec![0; n],
            counts: vec![0; names],
            sums: vec![(0, 0); names],
            touched: Vec::new(),
            total: (0, 0),
        };
        let mut total = (0i64, 0i64);
        for i in 0..n {
            let (v, b) = p.value_of(i);
            total.0 += v;
            total.1 += b;
        }
        p.total = total;
        p
    }

    /// Number of samples walked.
    pub(super) fn len(&self) -> usize {
        self.order.len()
    }

    /// The frame names; name ids index them.
    pub(super) fn names(&self) -> &[String] {
        &self.frames.names
    }

    /// Takes the frame names, leaving none.
    pub(super) fn take_names(&mut self) -> Vec<String> {
        std::mem::take(&mut self.frames.names)
    }

    /// Whether some samples are diff base samples.
    pub(super) fn diff(&self) -> bool {
        !self.is_base.is_empty()
    }

    /// Value and base sums over all samples (the root node's).
    pub(super) fn total(&self) -> (i64, i64) {
        self.total
    }

    /// The value and base of sample `i`: a diff base sample counts in the base, with
    /// its sign restored.
    #[inline]
    fn value_of(&self, i: usize) -> (i64, i64) {
        let v = self.samples.values(i).get(self.sample_index).unwrap_or(0);
        if self.is_base.get(i).copied().unwrap_or(false) {
            (0, -v)
        } else {
            (v, 0)
        }
    }

    /// The next frame of sample `i`'s expanded stack, advancing its walk; `None` once
    /// the stack has ended.
    #[inline]
    fn next_frame(&mut self, i: usize) -> Option<u32> {
        let stack = self.samples.locations(i);
        let c = &mut self.cursors[i];
        loop {
            let pos = c.loc as usize;
            if pos >= stack.len() {
                return None;
            }
            let loc = stack.get(stack.len() - 1 - pos)?;
            if let Some(&f) = self.frames.get(loc).get(c.sub as usize) {
                c.sub += 1;
                return Some(f);
            }
            c.loc += 1;
            c.sub = 0;
        }
    }

    /// The sample at position `pos` (the only one of a node `pos..pos+1`).
    pub(super) fn sample_at(&self, pos: u32) -> usize {
        self.order[pos as usize] as usize
    }

    /// The remaining frames of sample `i`'s stack, appended to `out`, ending its walk.
    pub(super) fn drain_frames(&mut self, i: usize, out: &mut Vec<u32>) {
        while let Some(f) = self.next_frame(i) {
            out.push(f);
        }
    }

    /// The value and base of sample `i` (see [`value_of`](Self::value_of)).
    pub(super) fn sample_value(&self, i: usize) -> (i64, i64) {
        self.value_of(i)
    }

    /// Splits the node holding positions `start..end` (samples whose walks all stand at
    /// the node's depth) by the samples' next frames: appends to `groups` one group per
    /// next frame, in name order, and returns the sums of the samples whose stacks end
    /// at the node. The node's positions are reordered so each group is one run; the
    /// walks of the groups' samples stand one frame deeper afterwards.
    pub(super) fn split(&mut self, start: u32, end: u32, groups: &mut Vec<Group>) -> Ends {
        let (start, end) = (start as usize, end as usize);
        let mut ends = Ends::default();
        self.touched.clear();
        for pos in start..end {
            let i = self.order[pos] as usize;
            let (v, b) = self.value_of(i);
            let key = match self.next_frame(i) {
                Some(f) => f,
                None => {
                    ends.count += 1;
                    ends.value += v;
                    ends.base += b;
                    END
                }
            };
            self.keys[pos] = key;
            if key != END {
                let k = key as usize;
                if self.counts[k] == 0 {
                    self.touched.push(key);
                }
                self.counts[k] += 1;
                let s = &mut self.sums[k];
                s.0 += v;
                s.1 += b;
            }
        }
        self.touched.sort_unstable();
        // Positions of the groups: the ended samples first, then each group in order.
        let mut next = (start + ends.count as usize) as u32;
        for &key in &self.touched {
            let k = key as usize;
            let count = self.counts[k];
            let (value, base) = std::mem::take(&mut self.sums[k]);
            groups.push(Group {
                name: key,
                start: next,
                end: next + count,
                value,
                base,
            });
            self.counts[k] = next;
            next += count;
        }
        // One group and nothing ended: the run is already in place.
        let in_place = self.touched.len() <= 1 && (ends.count == 0 || self.touched.is_empty());
        if !in_place {
            let mut ended = start;
            for pos in start..end {
                let key = self.keys[pos];
                let to = if key == END {
                    ended += 1;
                    ended - 1
                } else {
                    let slot = &mut self.counts[key as usize];
                    *slot += 1;
                    (*slot - 1) as usize
                };
                self.scratch[to] = self.order[pos];
            }
            self.order[start..end].copy_from_slice(&self.scratch[start..end]);
        }
        for &key in &self.touched {
            self.counts[key as usize] = 0;
        }
        ends
    }
}

fn is_base_sample(labels: &[profile::Label], key: StrId, value: StrId) -> bool {
    labels
        .iter()
        .any(|l| l.key == key && l.str == value && !l.is_numeric())
}

/// One distinct stack of a profile, as [`for_each_stack`] visits it.
#[derive(Clone, Copy, Debug)]
pub struct StackRef<'s> {
    /// All frame names; `frames` index them.
    pub names: &'s [String],
    /// The stack's frame name ids, root first.
    pub frames: &'s [u32],
    /// Sum of the values of the stack's samples (diff base samples excluded).
    pub value: i64,
    /// Sum of the values of the stack's diff base samples, sign restored.
    pub base: i64,
}

impl<'s> StackRef<'s> {
    /// The stack's frame names, root first.
    pub fn frame_names(&self) -> impl Iterator<Item = &'s str> + 's {
        let names = self.names;
        self.frames
            .iter()
            .map(move |&f| names.get(f as usize).map_or("", String::as_str))
    }
}

/// Calls `f` on every distinct expanded stack of `prof` (locations split into their
/// inlined frames), summing the value at `sample_index`, in the order of their frame
/// names (root first, a stack before the longer stacks it begins); stops at the first
/// error `f` returns.
///
/// The stacks are never all held at once: memory is a few words per sample plus the
/// longest stack.
pub fn for_each_stack<E>(
    prof: &Profile,
    sample_index: usize,
    mut f: impl FnMut(StackRef<'_>) -> Result<(), E>,
) -> Result<(), E> {
    let mut part = StackPartition::new(prof, sample_index);
    let mut path: Vec<u32> = Vec::new();
    let mut groups: Vec<Group> = Vec::new();
    // Nodes to visit, last first: (depth, name, start, end); the root has depth 0.
    let mut todo: Vec<(u32, u32, u32, u32)> = vec![(0, 0, 0, part.len() as u32)];
    while let Some((depth, name, start, end)) = todo.pop() {
        path.truncate(depth.saturating_sub(1) as usize);
        if depth > 0 {
            path.push(name);
        }
        if end - start == 1 {
            // A single sample: the rest of its stack is one chain.
            let i = part.sample_at(start);
            let (value, base) = part.sample_value(i);
            part.drain_frames(i, &mut path);
            f(StackRef {
                names: part.names(),
                frames: &path,
                value,
                base,
            })?;
            continue;
        }
        groups.clear();
        let ends = part.split(start, end, &mut groups);
        if ends.count > 0 {
            f(StackRef {
                names: part.names(),
                frames: &path,
                value: ends.value,
                base: ends.base,
            })?;
        }
        for g in groups.iter().rev() {
            todo.push((depth + 1, g.name, g.start, g.end));
        }
    }
    Ok(())
}
