//! Label sets shared between samples: a sample refers to its labels by set id, and a
//! set that samples keep repeating is stored once.

use crate::model::Label;
use crate::strings::StrId;

/// The label sets of some samples. Set 0 is always the empty set.
///
/// Sharing is best effort, for speed: a set is found again if it was used recently
/// enough to still be in a small direct-mapped cache of sets by hash. That catches the
/// common case (samples that repeat a few label combinations, such as a handler and a
/// tenant) without the cache misses of a full hash table over millions of sets, at the
/// price of storing a rarely seen set more than once. Equal sets may therefore have
/// different ids; nothing outside this module relies on ids to compare labels.
#[derive(Clone)]
pub(crate) struct LabelSets {
    /// The labels of all sets, concatenated.
    labels: Vec<Label>,
    /// `count + 1` offsets into `labels`.
    offsets: Vec<u32>,
    /// Recently interned sets by the low bits of their hash.
    /// Empty until the first set is interned: most sample sets made along the way
    /// (copies, filtered views) never intern one.
    recent: Vec<Recent>,
    /// The set interned last (consecutive samples often share their labels).
    last: u32,
    /// The sets staged by [`intern_staged`](Self::intern_staged) and not yet
    /// interned, oldest first: the first `staged_count` of them.
    staged: [Staged; STAGED],
    staged_count: usize,
    /// The key and unit of the numeric labels of the sets, in set order, a pair
    /// listed only when its key's unit differs from the one listed last for the key.
    units: NumericUnits,
}

/// The key and unit of numeric labels as they are met, a pair listed only when its
/// key's unit differs from the one listed last for the key (as
/// [`LabelSets::numeric_units`] lists them): a profile repeats a handful of pairs
/// millions of times.
#[derive(Clone, Default)]
pub(crate) struct NumericUnits {
    pairs: Vec<(StrId, StrId)>,
    /// The unit listed last for each of the first keys met, looked through in turn.
    last: Vec<(StrId, StrId)>,
    /// The same for the keys met after them.
    more: std::collections::HashMap<StrId, StrId>,
}

impl NumericUnits {
    /// Keys whose last unit is found by a look at each.
    const SCANNED: usize = 16;

    /// Meets a numeric label of key `key` and unit `unit`.
    pub(crate) fn note(&mut self, key: StrId, unit: StrId) {
        let scanned = self.last.len();
        let last = match self.last.iter().position(|&(k, _)| k == key) {
            Some(at) => Some(&mut self.last[at].1),
            None if scanned < Self::SCANNED => {
                self.last.push((key, unit));
                None
            }
            None => match self.more.entry(key) {
                std::collections::hash_map::Entry::Occupied(e) => Some(e.into_mut()),
                std::collections::hash_map::Entry::Vacant(e) => {
                    e.insert(unit);
                    None
                }
            },
        };
        match last {
            Some(last) if *last == unit => {}
            Some(last) => {
                *last = unit;
                self.pairs.push((key, unit));
            }
            None => self.pairs.push((key, unit)),
        }
    }

    /// The pairs listed.
    pub(crate) fn into_pairs(self) -> Vec<(StrId, StrId)> {
        self.pairs
    }
}

/// How many sets [`LabelSets::intern_staged`] holds before interning the oldest: one
/// call to load the recent set's entry of the cache, one to load its labels.
const STAGED: usize = 2;

/// A set waiting in [`LabelSets::staged`]: its labels (the buffer kept between sets)
/// and its hash.
#[derive(Clone, Default)]
struct Staged {
    labels: Vec<Label>,
    hash: u32,
}

/// An entry of [`LabelSets::recent`]: a set, by its hash, id, and where its labels are
/// (so that comparing with it reads nothing else).
#[derive(Clone, Copy)]
struct Recent {
    hash: u32,
    id: u32,
    start: u32,
    len: u32,
}

/// Number of entries of [`LabelSets::recent`] (a power of two; 256 KiB of cache).
const RECENT: usize = 1 << 14;

/// An entry of [`LabelSets::recent`] that matches nothing: no set has this hash and
/// an empty label list.
const VACANT: Recent = Recent {
    hash: u32::MAX,
    id: 0,
    start: 0,
    len: 0,
};

impl Default for LabelSets {
    fn default() -> Self {
        LabelSets::new()
    }
}

/// 32-bit hash of a label set.
fn hash(labels: &[Label]) -> u32 {
    #[inline]
    fn mix(h: u64, v: u64) -> u64 {
        (h.rotate_left(5) ^ v).wrapping_mul(0x517c_c1b7_2722_0a95)
    }
    let mut h = mix(0, labels.len() as u64);
    for l in labels {
        h = mix(h, (l.key.0 as u64) << 32 | l.str.0 as u64);
        h = mix(h, l.num as u64);
        h = mix(h, l.num_unit.0 as u64);
    }
    (h ^ (h >> 32)) as u32
}

impl LabelSets {
    /// Gives back the room beyond the sets held, and the cache of recent sets (made
    /// again if more sets are interned).
    pub(crate) fn shrink_to_fit(&mut self) {
        self.labels.shrink_to_fit();
        self.offsets.shrink_to_fit();
        self.recent = Vec::new();
    }

    /// Only the empty set.
    pub(crate) fn new() -> LabelSets {
        LabelSets {
            labels: Vec::new(),
            offsets: vec![0, 0],
            recent: Vec::new(),
            last: 0,
            staged: Default::default(),
            staged_count: 0,
            units: NumericUnits::default(),
        }
    }

    /// Number of sets.
    pub(crate) fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    /// Number of labels over all sets.
    pub(crate) fn label_count(&self) -> usize {
        self.labels.len()
    }

    /// The labels of set `id`.
    #[inline]
    pub(crate) fn get(&self, id: u32) -> &[Label] {
        let i = id as usize;
        &self.labels[self.offsets[i] as usize..self.offsets[i + 1] as usize]
    }

    /// The id of a set holding exactly `labels` (in this order): a recent equal set,
    /// or a new one.
    pub(crate) fn intern(&mut self, labels: &[Label]) -> u32 {
        self.intern_hashed(labels, hash)
    }

    /// [`intern`](Self::intern) two sets behind, for a caller that has the next sets
    /// ready before it needs the id of this one: stages `labels`, and returns the id of
    /// the set staged two calls before, if any (the sets still staged are interned by
    /// [`end_staged`](Self::end_staged)). The ids are those that interning each set in
    /// turn gives. Meanwhile the memory an intern compares with, the cache entry of a
    /// set's hash and then the labels of the recent set found there (often far back in
    /// memory), is loaded into the processor's cache: the entry when a set is staged,
    /// the labels one call later.
    pub(crate) fn intern_staged(&mut self, labels: &[Label]) -> Option<u32> {
        let done = if self.staged_count == STAGED {
            self.intern_oldest()
        } else {
            None
        };
        if let Some(waiting) = self.staged[..self.staged_count].last() {
            self.prefetch_recent_labels(waiting.hash);
        }
        let h = hash(labels);
        let next = &mut self.staged[self.staged_count];
        next.labels.clear();
        next.labels.extend_from_slice(labels);
        next.hash = h;
        self.staged_count += 1;
        if let Some(entry) = self.recent.get(h as usize & (RECENT - 1)) {
            super::prefetch(entry);
        }
        done
    }

    /// Starts loading the labels of the recent set with hash `h`, if the cache has one.
    fn prefetch_recent_labels(&self, h: u32) {
        let Some(seen) = self.recent.get(h as usize & (RECENT - 1)) else {
            return;
        };
        if seen.hash == h {
            let start = seen.start as usize;
            let end = start + seen.len as usize;
            if let (Some(first), Some(last)) =
                (self.labels.get(start), self.labels.get(end.wrapping_sub(1)))
            {
                super::prefetch(first);
                super::prefetch(last);
            }
        }
    }

    /// Interns the oldest staged set and returns its id (`None`: none is staged).
    fn intern_oldest(&mut self) -> Option<u32> {
        if self.staged_count == 0 {
            return None;
        }
        let Staged { labels, hash: h } = std::mem::take(&mut self.staged[0]);
        let id = self.intern_hashed(&labels, |_| h);
        self.staged.rotate_left(1);
        self.staged_count -= 1;
        self.staged[self.staged_count] = Staged { labels, hash: 0 };
        Some(id)
    }

    /// Interns the sets [`intern_staged`](Self::intern_staged) still holds, oldest
    /// first, and returns their ids in that order (none, one or two).
    pub(crate) fn end_staged(&mut self) -> impl Iterator<Item = u32> {
        let mut ids = [None; STAGED];
        for id in &mut ids {
            *id = self.intern_oldest();
        }
        ids.into_iter().flatten()
    }

    /// Whether a set is staged and not yet interned.
    pub(crate) fn has_staged(&self) -> bool {
        self.staged_count > 0
    }

    /// [`intern`](Self::intern), with `hash_of` giving the set's hash; it is asked only
    /// for a set that is neither empty nor the last one interned.
    fn intern_hashed(&mut self, labels: &[Label], hash_of: impl FnOnce(&[Label]) -> u32) -> u32 {
        if labels.is_empty() {
            return 0;
        }
        if self.get(self.last) == labels {
            return self.last;
        }
        let h = hash_of(labels);
        if self.recent.is_empty() {
            self.recent = vec![VACANT; RECENT];
        }
        let slot = h as usize & (RECENT - 1);
        let seen = self.recent[slot];
        if seen.hash == h
            && self
                .labels
                .get(seen.start as usize..(seen.start + seen.len) as usize)
                == Some(labels)
        {
            self.last = seen.id;
            return seen.id;
        }
        let id = self.len() as u32;
        let start = self.labels.len() as u32;
        for l in labels.iter().filter(|l| l.is_numeric()) {
            self.units.note(l.key, l.num_unit);
        }
        self.labels.extend_from_slice(labels);
        self.offsets.push(self.labels.len() as u32);
        self.recent[slot] = Recent {
            hash: h,
            id,
            start,
            len: labels.len() as u32,
        };
        self.last = id;
        id
    }

    /// The key and unit of each numeric label of the sets, in set order and, within a
    /// set, in the order of its labels of that key; a pair is left out when the pair
    /// listed last for its key has the same unit. Reordering keeps this list: it keeps
    /// the order of the labels of one key.
    pub(crate) fn numeric_units(&self) -> &[(StrId, StrId)] {
        &self.units.pairs
    }

    /// Reorders the labels within each set with an orderer `orderer` makes, which must
    /// keep them the same labels. The sets are cut into consecutive parts, one per core
    /// when there are many, each reordered on a thread of its own with its own orderer.
    pub(crate) fn reorder<O: FnMut(&mut [Label])>(&mut self, orderer: impl Fn() -> O + Sync) {
        /// Fewer sets than this per part take less time than starting a thread.
        const MIN_SETS_PER_PART: usize = 1 << 16;
        let offsets = &self.offsets;
        let mut rest: &mut [Label] = &mut self.labels;
        let mut pieces = Vec::new();
        for sets in crate::parallel::parts(offsets.len() - 1, MIN_SETS_PER_PART) {
            let start = offsets[sets.start] as usize;
            let (piece, tail) = rest.split_at_mut(offsets[sets.end] as usize - start);
            rest = tail;
            pieces.push((sets, start, piece));
        }
        let reorder = |(sets, start, piece): (std::ops::Range<usize>, usize, &mut [Label])| {
            let mut order = orderer();
            for i in sets {
                let (a, b) = (offsets[i] as usize - start, offsets[i + 1] as usize - start);
                if b - a > 1 {
                    order(&mut piece[a..b]);
                }
            }
        };
        let last = pieces.pop();
        std::thread::scope(|scope| {
            for piece in pieces {
                scope.spawn(|| reorder(piece));
            }
            if let Some(piece) = last {
                reorder(piece);
            }
        });
        // The cache is keyed by the hash of the old order.
        self.recent.fill(VACANT);
    }
}

/// The label set of each stored sample. Nothing is stored while every sample has the
/// empty set (id 0), as when a profile is read without its labels: one id per sample
/// is made only once some sample has another set.
#[derive(Clone, Default)]
pub(crate) struct SetIds {
    /// Empty, or one id per sample.
    ids: Vec<u32>,
    /// Number of samples.
    len: usize,
}

/// [`SetIds::used_in_order`] of the ids `ids`, in sample order.
pub(crate) fn first_used_in_order(ids: impl Iterator<Item = u32>) -> Option<u32> {
    // Without a branch per id: new sets come in no pattern a branch would follow.
    let mut next = 1u32;
    let mut in_order = true;
    for id in ids {
        in_order &= id <= next;
        next += (id == next) as u32;
    }
    in_order.then_some(next)
}

impl SetIds {
    /// Number of samples.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The set of sample `i` (below [`len`](Self::len)).
    #[inline]
    pub(crate) fn get(&self, i: usize) -> u32 {
        debug_assert!(i < self.len);
        self.ids.get(i).copied().unwrap_or(0)
    }

    /// One more than the largest set id of the samples (at least 1), when each set
    /// but the empty one (0) is first used after every set of a lower id: no set
    /// is used before the one stored before it. `None` otherwise.
    pub(crate) fn used_in_order(&self) -> Option<u32> {
        first_used_in_order(self.ids.iter().copied())
    }

    /// Gives every sample its own id, from then on (the samples so far have set 0
    /// unless they have theirs already).
    fn materialize(&mut self) {
        self.ids.resize(self.len, 0);
    }

    /// Appends a sample of set `id`.
    #[inline]
    pub(crate) fn push(&mut self, id: u32) {
        if id != 0 || !self.ids.is_empty() {
            self.materialize();
            self.ids.push(id);
        }
        self.len += 1;
    }

    /// Gives sample `i` set `id`.
    pub(crate) fn set(&mut self, i: usize, id: u32) {
        if id != 0 {
            self.materialize();
        }
        if let Some(slot) = self.ids.get_mut(i) {
            *slot = id;
        }
    }

    /// Replaces every sample's set `id` with `f(id)`.
    pub(crate) fn map(&mut self, mut f: impl FnMut(u32) -> u32) {
        if self.ids.is_empty() && self.len > 0 && f(0) != 0 {
            self.materialize();
        }
        for id in &mut self.ids {
            *id = f(*id);
        }
    }

    /// Keeps the first `len` samples.
    pub(crate) fn truncate(&mut self, len: usize) {
        self.ids.truncate(len);
        self.len = self.len.min(len);
    }

    /// Makes room for `samples` more samples.
    pub(crate) fn reserve(&mut self, samples: usize) {
        if !self.ids.is_empty() {
            self.ids.reserve(samples);
        }
    }

    /// Gives back the room beyond the ids held.
    pub(crate) fn shrink_to_fit(&mut self) {
        self.ids.shrink_to_fit();
    }

    /// Bytes of memory the ids occupy.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.ids.capacity() * 4
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn label(key: u32, str: u32) -> Label {
        Label {
            key: StrId(key),
            str: StrId(str),
            ..Label::default()
        }
    }

    #[test]
    fn samples_without_labels_store_no_set_ids() {
        let mut ids = SetIds::default();
        for _ in 0..1000 {
            ids.push(0);
        }
        ids.set(5, 0);
        ids.map(|id| id);
        assert_eq!((ids.len(), ids.heap_bytes()), (1000, 0));
        assert_eq!(ids.get(999), 0);
    }

    #[test]
    fn the_first_sample_with_labels_gives_the_earlier_ones_the_empty_set() {
        let mut ids = SetIds::default();
        ids.push(0);
        ids.push(0);
        ids.push(3);
        ids.push(0);
        assert_eq!((0..4).map(|i| ids.get(i)).collect::<Vec<_>>(), [0, 0, 3, 0]);
        // Setting a set, or mapping the empty set to another, stores ids too.
        let mut set = SetIds::default();
        set.push(0);
        set.push(0);
        set.set(1, 7);
        assert_eq!((set.get(0), set.get(1)), (0, 7));
        let mut mapped = SetIds::default();
        mapped.push(0);
        mapped.push(0);
        mapped.map(|id| id + 2);
        assert_eq!((mapped.get(0), mapped.get(1)), (2, 2));
        mapped.truncate(1);
        assert_eq!(mapped.len(), 1);
    }

    #[test]
    fn numeric_units_list_a_keys_unit_each_time_a_stored_set_changes_it() {
        let num = |key: u32, num: i64, unit: u32| Label {
            key: StrId(key),
            str: StrId::EMPTY,
            num,
            num_unit: StrId(unit),
        };
        let mut sets = LabelSets::new();
        sets.intern(&[label(1, 5), num(2, 1, 10)]);
        sets.intern(&[num(2, 2, 10), num(3, 1, 0)]);
        // A set met again lists nothing.
        sets.intern(&[label(1, 5), num(2, 1, 10)]);
        sets.intern(&[num(2, 3, 11), num(2, 4, 10)]);
        let pairs: Vec<(u32, u32)> = sets
            .numeric_units()
            .iter()
            .map(|&(k, u)| (k.0, u.0))
            .collect();
        assert_eq!(pairs, [(2, 10), (3, 0), (2, 11), (2, 10)]);
    }

    #[test]
    fn sets_are_used_in_order_when_each_is_first_used_after_those_stored_before() {
        assert_eq!(
            first_used_in_order([0, 1, 1, 0, 2, 1, 3].into_iter()),
            Some(4)
        );
        assert_eq!(first_used_in_order([].into_iter()), Some(1));
        assert_eq!(first_used_in_order([1, 3, 2].into_iter()), None);
        assert_eq!(first_used_in_order([2, 1].into_iter()), None);
    }

    #[test]
    fn a_repeated_label_set_is_stored_once() {
        let mut sets = LabelSets::new();
        let a = sets.intern(&[label(1, 2), label(3, 4)]);
        let b = sets.intern(&[label(1, 2)]);
        assert_eq!(sets.intern(&[label(1, 2), label(3, 4)]), a);
        assert_ne!(a, b);
        assert_eq!(sets.intern(&[]), 0);
        assert_eq!(sets.get(a), &[label(1, 2), label(3, 4)]);
        assert_eq!(sets.get(0), &[]);
        assert_eq!(sets.label_count(), 3);
    }

    #[test]
    fn reordered_sets_keep_their_ids_and_are_found_again() {
        let mut sets = LabelSets::new();
        let a = sets.intern(&[label(3, 4), label(1, 2)]);
        sets.reorder(|| |labels: &mut [Label]| labels.sort_by_key(|l| l.key.0));
        assert_eq!(sets.get(a), &[label(1, 2), label(3, 4)]);
        let again = sets.intern(&[label(1, 2), label(3, 4)]);
        assert_eq!(sets.get(again), sets.get(a));
    }

    #[test]
    fn sets_interned_behind_get_the_ids_that_interning_in_turn_gives() {
        // Sets that repeat right away, a while later, much later (past the cache of
        // recent sets), and that collide in the cache, with empty sets between.
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move |n: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % n
        };
        let sets: Vec<Vec<Label>> = (0..60_000)
            .map(|i| {
                let kind = next(4);
                let base = match kind {
                    0 => i as u64,
                    1 => next(100),
                    2 => next(40_000),
                    _ => return Vec::new(),
                };
                (0..1 + base % 3)
                    .map(|k| label(k as u32, base as u32))
                    .collect()
            })
            .collect();
        let mut in_turn = LabelSets::new();
        let expected: Vec<u32> = sets.iter().map(|s| in_turn.intern(s)).collect();
        let mut behind = LabelSets::new();
        let mut got = Vec::new();
        for s in &sets {
            got.extend(behind.intern_staged(s));
            assert!(behind.has_staged());
        }
        got.extend(behind.end_staged());
        assert!(!behind.has_staged() && behind.end_staged().next().is_none());
        assert_eq!(got, expected);
        assert_eq!(behind.len(), in_turn.len());
        assert!(
            behind.len() < sets.len() / 2,
            "{} sets stored",
            behind.len()
        );
        for id in 0..in_turn.len() as u32 {
            assert_eq!(behind.get(id), in_turn.get(id));
        }
    }
}
