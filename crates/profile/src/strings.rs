//! The string table: every string of a profile in one arena, addressed by [`StrId`].

use std::collections::HashMap;

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
    index: Option<HashMap<Box<str>, StrId>>,
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
        let id = StrId(self.ends.len() as u32);
        self.buf.push_str(s);
        self.ends.push(self.buf.len() as u32);
        if let Some(index) = &mut self.index {
            index.entry(s.into()).or_insert(id);
        }
        id
    }

    /// The id of `s`, adding it when it is not in the table yet.
    pub fn intern(&mut self, s: &str) -> StrId {
        if s.is_empty() {
            return StrId::EMPTY;
        }
        if self.index.is_none() {
            let mut index = HashMap::with_capacity(self.len());
            for i in (1..self.len()).rev() {
                let id = StrId(i as u32);
                index.insert(self.get(id).into(), id);
            }
            self.index = Some(index);
        }
        if let Some(&id) = self.index.as_ref().and_then(|m| m.get(s)) {
            return id;
        }
        self.push(s)
    }

    /// The id of `s` if the table has it.
    pub fn find(&self, s: &str) -> Option<StrId> {
        if s.is_empty() {
            return Some(StrId::EMPTY);
        }
        match &self.index {
            Some(index) => index.get(s).copied(),
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
}
