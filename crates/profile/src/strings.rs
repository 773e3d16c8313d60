//! The string table: every string of a profile in one arena, addressed by [`StrId`].

use std::hash::BuildHasher;

use crate::key_index::KeyIndex;

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

/// The ids of a table's strings by the hash of their text (a [`KeyIndex`] of ids, where
/// a map would hold a copy of every string). The hash is seeded per process, so no input
/// can be made to collide on purpose. Id 0, the empty string, is never indexed.
#[derive(Clone, Debug, Default)]
struct TextIndex {
    hasher: foldhash::fast::RandomState,
    ids: KeyIndex,
}

/// The text of string `id` in a table's `buf` and `ends` (see [`StringTable::get`]).
fn text_of<'t>(buf: &'t str, ends: &[u32], id: u32) -> &'t str {
    let i = id as usize;
    if i == 0 || i >= ends.len() {
        return "";
    }
    &buf[ends[i - 1] as usize..ends[i] as usize]
}

impl TextIndex {
    /// The id of the table's string `text`; when there is none, records `id` for it
    /// and returns `None`. `buf` and `ends` hold the table's strings (`id`'s among
    /// them or not yet).
    fn add(&mut self, text: &str, id: u32, buf: &str, ends: &[u32]) -> Option<u32> {
        let hasher = &self.hasher;
        self.ids.get_or_insert(
            hasher.hash_one(text),
            id,
            |i| text_of(buf, ends, i) == text,
            |i| hasher.hash_one(text_of(buf, ends, i)),
        )
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
        text_of(&self.buf, &self.ends, id.0)
    }

    /// Appends `s` without looking for an equal string (as a decoded table does).
    /// The first string pushed onto a new table becomes id 1; id 0 stays empty.
    pub fn push(&mut self, s: &str) -> StrId {
        if !s.is_empty() {
            // The index keeps the first of equal strings: this one only if it is that.
            self.index_new(s);
        }
        self.append(s)
    }

    /// The id of `s`, adding it when it is not in the table yet.
    pub fn intern(&mut self, s: &str) -> StrId {
        if s.is_empty() {
            return StrId::EMPTY;
        }
        if self.index.is_none() {
            let mut index = TextIndex {
                hasher: Default::default(),
                ids: KeyIndex::with_capacity(self.len()),
            };
            // In id order, so that the first of equal strings is the one kept.
            for id in 1..self.len() as u32 {
                let text = text_of(&self.buf, &self.ends, id);
                if !text.is_empty() {
                    index.add(text, id, &self.buf, &self.ends);
                }
            }
            self.index = Some(index);
        }
        match self.index_new(s) {
            Some(id) => id,
            None => self.append(s),
        }
    }

    /// The id the index has for `s` (not empty); when it has none, records `s` as the
    /// string appended next and returns `None`. Nothing without an index.
    fn index_new(&mut self, s: &str) -> Option<StrId> {
        let next = self.ends.len() as u32;
        let index = self.index.as_mut()?;
        index.add(s, next, &self.buf, &self.ends).map(StrId)
    }

    /// Whether a string of `len` bytes can be added: strings are addressed by 32-bit
    /// ids and offsets, which hold 4 GiB of text. Decoders check it before adding.
    pub fn has_room_for(&self, len: usize) -> bool {
        self.buf.len().saturating_add(len) <= u32::MAX as usize
            && self.ends.len() < u32::MAX as usize
    }

    /// Appends `s`, leaving the index as it is.
    fn append(&mut self, s: &str) -> StrId {
        let id = StrId(self.ends.len() as u32);
        self.buf.push_str(s);
        self.ends.push(self.buf.len() as u32);
        id
    }

    /// The id of `s` if the table has it.
    pub fn find(&self, s: &str) -> Option<StrId> {
        if s.is_empty() {
            return Some(StrId::EMPTY);
        }
        match &self.index {
            Some(index) => index
                .ids
                .find(index.hasher.hash_one(s), |i| {
                    text_of(&self.buf, &self.ends, i) == s
                })
                .map(StrId),
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
    fn a_table_holds_at_most_four_gib_of_text() {
        let mut t = StringTable::new();
        assert!(t.has_room_for(u32::MAX as usize));
        assert!(!t.has_room_for(u32::MAX as usize + 1));
        t.push("abc");
        assert!(t.has_room_for(u32::MAX as usize - 3));
        assert!(!t.has_room_for(u32::MAX as usize - 2));
        assert!(!t.has_room_for(usize::MAX));
    }

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
