//! An index of keys that live in a vector elsewhere: open addressing over the keys'
//! positions, four bytes a slot, where a hash map would hold a second copy of every key
//! (a string of the string table; a report's frame identity, 48 bytes, of which a
//! line-level profile has hundreds of thousands).

/// Positions of keys, found by the keys' hashes; the keys themselves stay with the
/// caller, who says how to compare and rehash them.
#[derive(Clone, Debug, Default)]
pub struct KeyIndex {
    /// A position per slot, or [`EMPTY`]; a power of two long, at most half full.
    slots: Vec<u32>,
    len: usize,
}

const EMPTY: u32 = u32::MAX;

impl KeyIndex {
    /// An index that holds `keys` keys without growing.
    pub fn with_capacity(keys: usize) -> KeyIndex {
        KeyIndex {
            slots: vec![EMPTY; Self::slots_for(keys)],
            len: 0,
        }
    }

    fn slots_for(keys: usize) -> usize {
        (keys.max(8) * 2).next_power_of_two()
    }

    /// The slot to probe first for `hash`: its top bits, which a multiplying hash
    /// mixes best.
    #[inline]
    fn first_slot(&self, hash: u64) -> usize {
        let bits = self.slots.len().trailing_zeros();
        (hash >> (64 - bits)) as usize
    }

    /// The position of the key `is_key` accepts among those with this `hash`; when
    /// there is none, `new` is recorded as that key's position and `None` returned.
    /// `hash_of` gives the hash of the key at a position, for growing.
    #[inline]
    pub fn get_or_insert(
        &mut self,
        hash: u64,
        new: u32,
        is_key: impl Fn(u32) -> bool,
        hash_of: impl Fn(u32) -> u64,
    ) -> Option<u32> {
        if (self.len + 1) * 2 > self.slots.len() {
            self.grow(&hash_of);
        }
        let mask = self.slots.len() - 1;
        let mut slot = self.first_slot(hash);
        loop {
            match self.slots[slot] {
                EMPTY => {
                    self.slots[slot] = new;
                    self.len += 1;
                    return None;
                }
                pos if is_key(pos) => return Some(pos),
                _ => slot = (slot + 1) & mask,
            }
        }
    }

    /// Starts loading the slot that a lookup of `hash` probes first (a hint, with no
    /// other effect): a caller that knows the hashes of the next few keys can have
    /// their slots, in a table larger than the cache, loaded at once.
    #[inline]
    pub fn prefetch(&self, hash: u64) {
        if let Some(slot) = self.slots.get(self.first_slot(hash)) {
            crate::prefetch::prefetch(slot);
        }
    }

    /// The position of the key `is_key` accepts among those with this `hash`.
    #[inline]
    pub fn find(&self, hash: u64, is_key: impl Fn(u32) -> bool) -> Option<u32> {
        if self.slots.is_empty() {
            return None;
        }
        let mask = self.slots.len() - 1;
        let mut slot = self.first_slot(hash);
        loop {
            match self.slots[slot] {
                EMPTY => return None,
                pos if is_key(pos) => return Some(pos),
                _ => slot = (slot + 1) & mask,
            }
        }
    }

    fn grow(&mut self, hash_of: &impl Fn(u32) -> u64) {
        let old = std::mem::replace(&mut self.slots, vec![EMPTY; Self::slots_for(self.len + 1)]);
        let mask = self.slots.len() - 1;
        for pos in old.into_iter().filter(|&p| p != EMPTY) {
            let mut slot = self.first_slot(hash_of(pos));
            while self.slots[slot] != EMPTY {
                slot = (slot + 1) & mask;
            }
            self.slots[slot] = pos;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Interns `words` through an index that starts empty and grows, returning each
    /// word's position.
    fn intern_all(words: &[&str], hash: impl Fn(&str) -> u64) -> (Vec<String>, Vec<u32>) {
        let mut keys: Vec<String> = Vec::new();
        let mut index = KeyIndex::default();
        let mut positions = Vec::new();
        for w in words {
            let found = index.get_or_insert(
                hash(w),
                keys.len() as u32,
                |p| keys[p as usize] == *w,
                |p| hash(&keys[p as usize]),
            );
            positions.push(found.unwrap_or_else(|| {
                keys.push(w.to_string());
                keys.len() as u32 - 1
            }));
        }
        (keys, positions)
    }

    #[test]
    fn equal_keys_get_the_first_position_through_growth() {
        let words: Vec<String> = (0..1000).map(|i| format!("w{}", i % 300)).collect();
        let words: Vec<&str> = words.iter().map(String::as_str).collect();
        let fx = |s: &str| {
            s.bytes().fold(0u64, |h, b| {
                (h.rotate_left(5) ^ b as u64).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95)
            })
        };
        let (keys, positions) = intern_all(&words, fx);
        assert_eq!(keys.len(), 300);
        for (w, p) in words.iter().zip(&positions) {
            assert_eq!(keys[*p as usize], *w);
        }
    }

    #[test]
    fn keys_that_share_a_hash_are_told_apart() {
        let (keys, positions) = intern_all(&["a", "b", "a", "c", "b"], |_| 7);
        assert_eq!(keys, ["a", "b", "c"]);
        assert_eq!(positions, [0, 1, 0, 2, 1]);
    }
}
