//! [`EdgeMap`]: the edges of one node, keyed by the node at their other end.

use super::{EdgeId, NodeId};

/// The edges of a node, keyed by the node at their other end, in key order.
///
/// A sorted vector of `(node, edge)` pairs, 8 bytes each: most nodes have a handful of
/// edges, and a graph of a large profile has hundreds of thousands of nodes, for which
/// a tree map per node would cost a hundred bytes or more even when nearly empty.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EdgeMap {
    entries: Vec<(u32, u32)>,
}

impl EdgeMap {
    /// An empty map.
    pub fn new() -> EdgeMap {
        EdgeMap::default()
    }

    /// Number of edges.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no edges.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn find(&self, node: NodeId) -> Result<usize, usize> {
        self.entries
            .binary_search_by_key(&(node as u32), |&(n, _)| n)
    }

    /// The edge to or from `node`, if any.
    pub fn get(&self, node: &NodeId) -> Option<EdgeId> {
        self.find(*node).ok().map(|i| self.entries[i].1 as EdgeId)
    }

    /// Sets the edge to or from `node`; returns the edge it replaces.
    pub fn insert(&mut self, node: NodeId, edge: EdgeId) -> Option<EdgeId> {
        debug_assert!(node <= u32::MAX as usize && edge <= u32::MAX as usize);
        match self.find(node) {
            Ok(i) => Some(std::mem::replace(&mut self.entries[i].1, edge as u32) as EdgeId),
            Err(i) => {
                self.entries.insert(i, (node as u32, edge as u32));
                None
            }
        }
    }

    /// Removes the edge to or from `node`; returns it.
    pub fn remove(&mut self, node: &NodeId) -> Option<EdgeId> {
        let i = self.find(*node).ok()?;
        Some(self.entries.remove(i).1 as EdgeId)
    }

    /// The edges, in the order of the nodes at their other end.
    pub fn values(&self) -> impl DoubleEndedIterator<Item = EdgeId> + '_ {
        self.entries.iter().map(|&(_, e)| e as EdgeId)
    }

    /// The nodes at the other end, in order.
    pub fn keys(&self) -> impl DoubleEndedIterator<Item = NodeId> + '_ {
        self.entries.iter().map(|&(n, _)| n as NodeId)
    }

    /// `(node at the other end, edge)` pairs, in node order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (NodeId, EdgeId)> + '_ {
        self.entries
            .iter()
            .map(|&(n, e)| (n as NodeId, e as EdgeId))
    }
}

impl FromIterator<(NodeId, EdgeId)> for EdgeMap {
    /// Collects pairs; a node given twice keeps its last edge.
    fn from_iter<I: IntoIterator<Item = (NodeId, EdgeId)>>(iter: I) -> EdgeMap {
        let mut entries: Vec<(u32, u32)> = iter
            .into_iter()
            .map(|(n, e)| (n as u32, e as u32))
            .collect();
        if !entries.is_sorted_by_key(|&(n, _)| n) {
            entries.sort_by_key(|&(n, _)| n);
        }
        // Of equal keys, keep the last, as inserting them in turn would.
        entries.reverse();
        entries.dedup_by_key(|&mut (n, _)| n);
        entries.reverse();
        entries.shrink_to_fit();
        EdgeMap { entries }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edges_stay_in_node_order_through_inserts_and_removals() {
        let mut m = EdgeMap::new();
        assert_eq!(m.insert(5, 50), None);
        assert_eq!(m.insert(1, 10), None);
        assert_eq!(m.insert(3, 30), None);
        assert_eq!(m.insert(3, 31), Some(30));
        assert_eq!(m.keys().collect::<Vec<_>>(), vec![1, 3, 5]);
        assert_eq!(m.values().collect::<Vec<_>>(), vec![10, 31, 50]);
        assert_eq!(m.get(&5), Some(50));
        assert_eq!(m.get(&4), None);
        assert_eq!(m.remove(&1), Some(10));
        assert_eq!(m.remove(&1), None);
        assert_eq!(m.iter().collect::<Vec<_>>(), vec![(3, 31), (5, 50)]);
        assert_eq!(m.len(), 2);
    }

    #[test]
    fn collected_pairs_are_sorted_and_the_last_of_a_node_wins() {
        let m: EdgeMap = [(4, 1), (2, 2), (4, 3)].into_iter().collect();
        assert_eq!(m.iter().collect::<Vec<_>>(), vec![(2, 2), (4, 3)]);
    }
}
