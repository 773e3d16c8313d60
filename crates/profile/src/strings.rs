//! The string table: every string of a profile in one arena, addressed by [`StrId`].

use std::hash::BuildHasher;

/// Index of a string in a profile's [`StringTable`]. Id 0 is always the empty string.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StrId(pub u32);

impl StrId {
    /// The id of the empty string.
    pub const EMPTY: StrId = StrId(0);

    /// Whether this is the id of the empty string.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The id as an index into the table.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// The strings of a profile, stored back to back in one buffer.
///
/// Lookups by id are two slice reads. Interning (finding or adding a string) builds a
/// hash index on first use, so decoding, which only appends, never pays for it.
#[derive(Clone, Debug)]
pub struct StringTable {
    buf: String,
    ends: Vec<u32>,
    index: Option<TextIndex>,
}

/// The ids of a table's strings by the hash of their text: open addressing over ids,
/// four bytes a slot, where a map would hold a copy of every string. The hash is
/// seeded per process, so no input can be made to collide on purpose.
#[derive(Clone, Debug)]
struct TextIndex {
    hasher: foldhash::fast::RandomState,
    /// An id per slot, 0 (the empty string, never indexed) for none; a power of two
    /// long, at most half full.
    slots: Vec<u32>,
    len: usize,
}

impl TextIndex {
    fn with_capacity(strings: usize) -> TextIndex {
        TextIndex {
            hasher: foldhash::fast::RandomState::default(),
            slots: vec![0; (strings.max(8) * 2).next_power_of_two()],
            len: 0,
        }
    }

    /// The slot to probe first for `hash`.
    #[inline]
    fn first_slot(&self, hash: u64) -> usize {
        (hash >> (64 - self.slots.len().trailing_zeros())) as usize
    }
}

impl Default for StringTable {
    fn default() -> Self {
        StringTable::new()
    }
}

impl PartialEq for StringTable {
    fn eq(&self, other: &Self) -> bool {
        self.buf == other.buf && self.ends == other.ends
    }
}

impl StringTable {
    /// Gives back the room beyond the strings held.
    pub fn shrink_to_fit(&mut self) {
        self.buf.shrink_to_fit();
        self.ends.shrink_to_fit();
    }

    /// A table holding only the empty string, at id 0.
    pub fn new() -> StringTable {
        StringTable {
            buf: String::new(),
            ends: vec![0],
            index: None,
        }
    }

    /// A table with room for `count` strings of `bytes` bytes in all.
    pub fn with_capacity(count: usize, bytes: usize) -> StringTable {
        let mut ends = Vec::with_capacity(count.max(1));
        ends.push(0);
        StringTable {
            buf: String::with_capacity(bytes),
            ends,
            index: None,
        }
    }

    /// Number of strings, the empty string included.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Whether the table holds only the empty string.
    pub fn is_empty(&self) -> bool {
        self.ends.len() <= 1
    }

    /// The text of `id`; the empty string for an id out of range.
    pub fn get(&self, id: StrId) -> &str {
        let i = id.index();
        if i == 0 || i >= self.ends.len() {
            return "";
        }
        &self.buf[self.ends[i - 1] as usize..self.ends[i] as usize]
    }

    /// Appends `s` without looking for an equal string (as a decoded table does).
    /// The first string pushed onto a new table becomes id 1; id 0 stays empty.
    pub fn push(&mut self, s: &str) -> StrId {
        let id = self.append(s);
        // The index keeps the first of equal strings: this one only if it is that.
        if self.index.is_some() && !s.is_empty() && self.indexed(s).is_none() {
            self.index_id(id);
        }
        id
    }

    /// Appends `s`, leaving the index as it is.
    fn append(&mut self, s: &str) -> StrId {
        let id = StrId(self.ends.len() as u32);
        self.buf.push_str(s);
        self.ends.push(self.buf.len() as u32);
        id
    }

    /// The id of `s`, adding it when it is not in the table yet.
    pub fn intern(&mut self, s: &str) -> StrId {
        if s.is_empty() {
            return StrId::EMPTY;
        }
        if self.index.is_none() {
            self.index = Some(TextIndex::with_capacity(self.len()));
            // In id order, so that the first of equal strings is the one found.
            for i in 1..self.len() {
                let id = StrId(i as u32);
                if !self.get(id).is_empty() && self.indexed(self.get(id)).is_none() {
                    self.index_id(id);
                }
            }
        }
        match self.indexed(s) {
            Some(id) => id,
            None => {
                let id = self.append(s);
                self.index_id(id);
                id
            }
        }
    }

    /// The id the index has for `s` (not empty).
    fn indexed(&self, s: &str) -> Option<StrId> {
        let index = self.index.as_ref()?;
        let mask = index.slots.len() - 1;
        let mut slot = index.first_slot(index.hasher.hash_one(s));
        loop {
            match index.slots[slot] {
                0 => return None,
                id if self.get(StrId(id)) == s => return Some(StrId(id)),
                _ => slot = (slot + 1) & mask,
            }
        }
    }

    /// Adds `id` to the index, whose text it must not hold yet.
    fn index_id(&mut self, id: StrId) {
        let Some(mut index) = self.index.take() else {
            return;
        };
        if (index.len + 1) * 2 > index.slots.len() {
            let doubled = vec![0; index.slots.len() * 2];
            let old = std::mem::replace(&mut index.slots, doubled);
            for other in old.into_iter().filter(|&i| i != 0) {
                self.place(&mut index, StrId(other));
            }
        }
        self.place(&mut index, id);
        index.len += 1;
        self.index = Some(index);
    }

    /// Puts `id` in the first free slot of its probe sequence.
    fn place(&self, index: &mut TextIndex, id: StrId) {
        let mask = index.slots.len() - 1;
        let mut slot = index.first_slot(index.hasher.hash_one(self.get(id)));
        while index.slots[slot] != 0 {
            slot = (slot + 1) & mask;
        }
        index.slots[slot] = id.0;
    }

    /// The id of `s` if the table has it.
    pub fn find(&self, s: &str) -> Option<StrId> {
        if s.is_empty() {
            return Some(StrId::EMPTY);
        }
        match &self.index {
            Some(_) => self.indexed(s),
            None => (1..self.len())
                .map(|i| StrId(i as u32))
                .find(|&id| self.get(id) == s),
        }
    }

    /// Iterates over all strings in id order, the empty string first.
    pub fn iter(&self) -> impl Iterator<Item = &str> + '_ {
        (0..self.len()).map(move |i| self.get(StrId(i as u32)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_zero_is_the_empty_string() {
        let t = StringTable::new();
        assert_eq!(t.get(StrId::EMPTY), "");
        assert_eq!(t.len(), 1);
    }

    #[test]
    fn intern_returns_the_same_id_for_equal_strings() {
        let mut t = StringTable::new();
        let a = t.intern("main");
        let b = t.intern("runtime.mallocgc");
        assert_ne!(a, b);
        assert_eq!(t.intern("main"), a);
        assert_eq!(t.get(b), "runtime.mallocgc");
        assert_eq!(t.intern(""), StrId::EMPTY);
    }

    #[test]
    fn intern_finds_strings_pushed_before_the_index_existed() {
        let mut t = StringTable::new();
        let a = t.push("x");
        t.push("x");
        assert_eq!(t.intern("x"), a);
        assert_eq!(t.find("x"), Some(a));
        assert_eq!(t.find("y"), None);
    }

    #[test]
    fn the_first_of_equal_strings_is_found_through_growth() {
        let mut t = StringTable::new();
        let first: Vec<StrId> = (0..3000).map(|i| t.push(&format!("s{i}"))).collect();
        // Duplicates pushed before and after the index exists, and new strings
        // interned until the index has grown several times.
        t.push("s7");
        assert_eq!(t.intern("s5"), first[5]);
        t.push("s9");
        let more: Vec<StrId> = (3000..20_000).map(|i| t.intern(&format!("s{i}"))).collect();
        for (i, &id) in first.iter().enumerate() {
            assert_eq!(t.find(&format!("s{i}")), Some(id));
            assert_eq!(t.intern(&format!("s{i}")), id);
        }
        for (i, &id) in more.iter().enumerate() {
            assert_eq!(t.get(id), format!("s{}", i + 3000));
            assert_eq!(t.intern(&format!("s{}", i + 3000)), id);
        }
        assert_eq!(t.len(), 1 + 3000 + 2 + 17_000);
    }
}
