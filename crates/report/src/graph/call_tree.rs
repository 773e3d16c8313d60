//! Call trees: a node per distinct calling context. The tree is first summed as plain
//! arrays (no names, edge maps or tags), so that a tree trimmed by a node cutoff makes
//! [`Node`]s only for the nodes it keeps: a large profile has millions of calling
//! contexts and a trimmed tree shows a few hundred of them.

use super::{
    frame_identities, is_shown, Edge, FxMap, Graph, GraphOptions, Identities, InfoTable, Node, NONE,
};
use profile::Profile;

/// The call tree of a profile as arrays indexed by tree node, nodes numbered in order
/// of creation (as [`Graph::new`] numbers a tree's nodes).
struct CompactTree {
    /// (parent or [`NONE`], identity) to node.
    children: FxMap<(u32, u32), u32>,
    parent: Vec<u32>,
    identity: Vec<u32>,
    /// The node of the function of each node's frame, under the same parent (the node
    /// itself for a function frame).
    function: Vec<u32>,
    flat: Vec<i64>,
    flat_div: Vec<i64>,
    cum: Vec<i64>,
    cum_div: Vec<i64>,
    /// Whether a sample reached the node from its parent, which makes the edge from the
    /// parent (weighted as the node's cumulative value).
    has_edge: Vec<bool>,
    /// Whether every such step was a call inlined into the parent's location.
    inline: Vec<bool>,
}

impl CompactTree {
    fn build(
        prof: &Profile,
        o: &GraphOptions,
        table: &InfoTable,
        locs: &super::LocationInfos,
    ) -> Self {
        let mut t = CompactTree {
            children: FxMap::default(),
            parent: Vec::new(),
            identity: Vec::new(),
            function: Vec::new(),
            flat: Vec::new(),
            flat_div: Vec::new(),
            cum: Vec::new(),
            cum_div: Vec::new(),
            has_edge: Vec::new(),
            inline: Vec::new(),
        };
        for si in 0..prof.samples.len() {
            let (w, dw) = Graph::sample_weights(o, prof.samples.values(si));
            if w == 0 && dw == 0 {
                continue;
            }
            let mut parent = NONE;
            for loc in prof.samples.locations(si).iter().rev() {
                let frames = locs.of(loc);
                for (li, &identity) in frames.iter().enumerate().rev() {
                    if identity == NONE {
                        continue;
                    }
                    let n = t.node(table, parent, identity) as usize;
                    t.cum[n] = t.cum[n].wrapping_add(w);
                    t.cum_div[n] = t.cum_div[n].wrapping_add(dw);
                    if parent != NONE {
                        let inline = li != frames.len() - 1;
                        if !t.has_edge[n] {
                            t.has_edge[n] = true;
                            t.inline[n] = inline;
                        } else if !inline {
                            t.inline[n] = false;
                        }
                    }
                    parent = n as u32;
                }
            }
            if parent != NONE {
                let n = parent as usize;
                t.flat[n] = t.flat[n].wrapping_add(w);
                t.flat_div[n] = t.flat_div[n].wrapping_add(dw);
            }
        }
        t
    }

    /// The node for `identity` under `parent`, made (with its function node) when
    /// missing.
    fn node(&mut self, table: &InfoTable, parent: u32, identity: u32) -> u32 {
        if let Some(&n) = self.children.get(&(parent, identity)) {
            return n;
        }
        let id = self.parent.len() as u32;
        self.children.insert((parent, identity), id);
        self.parent.push(parent);
        self.identity.push(identity);
        self.function.push(id);
        self.flat.push(0);
        self.flat_div.push(0);
        self.cum.push(0);
        self.cum_div.push(0);
        self.has_edge.push(false);
        self.inline.push(false);
        let f = table.function_of[identity as usize];
        if f != identity {
            let fid = self.node(table, parent, f);
            self.function[id as usize] = fid;
        }
        id
    }

    fn len(&self) -> usize {
        self.parent.len()
    }

    /// The node a trimmed tree connects node `n` to, with whether the connection skips
    /// removed nodes (a residual edge) and whether every call on it is inlined; `None`
    /// when `n` has no parent edge or its removed ancestors reach a root.
    ///
    /// This is what [`Graph::trim_tree`] leaves: removing a node moves the edges to its
    /// children up to its own parent, marked residual and inline when both edges were;
    /// removing a node without a parent makes its children roots.
    fn trimmed_parent(&self, n: usize, removed: &[bool]) -> Option<(usize, bool, bool)> {
        if !self.has_edge[n] {
            return None;
        }
        let (mut p, mut residual, mut inline) = (self.parent[n] as usize, false, self.inline[n]);
        while removed[p] {
            if !self.has_edge[p] {
                return None;
            }
            inline &= self.inline[p];
            residual = true;
            p = self.parent[p] as usize;
        }
        Some((p, residual, inline))
    }
}

impl Graph {
    /// The call tree `o` describes (see [`GraphOptions::call_tree`]), without the nodes
    /// whose cumulative magnitude is below the cutoff `cutoff` computes from the sum
    /// of the tree's flat values, as [`Graph::trim_tree`] would drop them from the
    /// whole tree. Returns the tree, the cutoff and the number of nodes dropped.
    ///
    /// Only the kept nodes become [`Node`]s, so the memory is that of the trimmed tree
    /// (and of a few dozen bytes per calling context while summing).
    pub fn new_trimmed_tree(
        prof: &Profile,
        o: &GraphOptions,
        cutoff: impl FnOnce(i64) -> i64,
    ) -> (Graph, i64, usize) {
        let Identities { names, table, locs } = frame_identities(prof, o, None, None);
        let tree = CompactTree::build(prof, o, &table, &locs);
        let shown: Vec<bool> = (0..tree.len())
            .map(|n| is_shown(tree.flat[n], tree.cum[n], o.drop_negative))
            .collect();
        let total = (0..tree.len())
            .filter(|&n| shown[n])
            .fold(0i64, |t, n| t.wrapping_add(tree.flat[n]));
        let cutoff = cutoff(total);
        // Nodes trimming removes: shown ones under the cutoff (hidden ones stay, as
        // `trim_tree` leaves nodes outside the graph's list alone).
        let removed: Vec<bool> = (0..tree.len())
            .map(|n| cutoff > 0 && shown[n] && tree.cum[n].wrapping_abs() < cutoff)
            .collect();
        let dropped = removed.iter().filter(|&&r| r).count();
        let trimmed = dropped > 0;

        // The nodes to make: those not removed that are listed, the hidden nodes the
        // kept ones hang from and those that hang from a node made (a whole tree keeps
        // hidden nodes, with their edges), and the function nodes of all these.
        let mut made = vec![false; tree.len()];
        for n in 0..tree.len() {
            if !shown[n] || removed[n] {
                continue;
            }
            made[n] = true;
            made[tree.function[n] as usize] = true;
            let mut m = n;
            while let Some((p, _, _)) = tree.trimmed_parent(m, &removed) {
                if made[p] {
                    break;
                }
                made[p] = true;
                made[tree.function[p] as usize] = true;
                m = p;
            }
        }
        for n in 0..tree.len() {
            if !shown[n]
                && tree
                    .trimmed_parent(n, &removed)
                    .is_some_and(|(p, _, _)| made[p])
            {
                made[n] = true;
                made[tree.function[n] as usize] = true;
            }
        }
        let mut id_of = vec![NONE; tree.len()];
        let mut g = Graph::default();
        for n in (0..tree.len()).filter(|&n| made[n]) {
            id_of[n] = g.arena.len() as u32;
            let info = names.info(&table.keys[tree.identity[n] as usize]);
            let mut node = Node::new(info, g.arena.len());
            node.flat = tree.flat[n];
            node.flat_div = tree.flat_div[n];
            node.cum = tree.cum[n];
            node.cum_div = tree.cum_div[n];
            g.arena.push(node);
        }
        for n in (0..tree.len()).filter(|&n| made[n]) {
            let id = id_of[n] as usize;
            g.arena[id].function = id_of[tree.function[n] as usize] as usize;
            let Some((p, residual, inline)) = tree.trimmed_parent(n, &removed) else {
                continue;
            };
            let src = id_of[p] as usize;
            let e = g.edges.len();
            g.edges.push(Edge {
                src,
                dest: id,
                weight: tree.cum[n],
                weight_div: tree.cum_div[n],
                residual,
                inline,
            });
            g.arena[src].out_edges.insert(id, e);
            g.arena[id].in_edges.insert(src, e);
        }
        if o.tags.is_some() {
            // Tags of the nodes made, from a second walk of the samples.
            for sample in prof.samples.iter() {
                let (w, dw) = Graph::sample_weights(o, sample.values);
                if w == 0 && dw == 0 {
                    continue;
                }
                let Some(tags) = Graph::sample_tags(prof, o, sample.labels) else {
                    continue;
                };
                let mut parent = NONE;
                for loc in sample.locations.iter().rev() {
                    for &identity in locs.of(loc).iter().rev() {
                        if identity == NONE {
                            continue;
                        }
                        let Some(&n) = tree.children.get(&(parent, identity)) else {
                            break;
                        };
                        if made[n as usize] {
                            g.add_sample_tags(id_of[n as usize] as usize, dw, w, &tags, o, false);
                        }
                        parent = n;
                    }
                }
                if parent != NONE && made[parent as usize] {
                    g.add_sample_tags(id_of[parent as usize] as usize, dw, w, &tags, o, true);
                }
            }
        }
        drop(locs);
        g.nodes = (0..tree.len())
            .filter(|&n| made[n] && shown[n] && !removed[n])
            .map(|n| id_of[n] as usize)
            .collect();
        if trimmed {
            g.remove_redundant_edges();
        }
        (g, cutoff, dropped)
    }
}
