//! Lists kept for good: how they grow, and the numbers of their values found by hash.

use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, Hash, Hasher};

/// The inverse of a list of distinct values (`value -> its position`) that keeps no second copy
/// of the values: a map from each value's 64-bit hash to its position, the list itself telling
/// whether the value there is the one asked for. A value whose hash another value took first
/// is kept in a small map of its own, so a lookup is exact whatever the hashes: the list is
/// always consulted before a position is trusted.
///
/// An identity graph of millions of ids, or a table of hundreds of thousands of page facts,
/// held each value twice in a `HashMap<V, u32>` beside the list; this holds 12 bytes a value.
#[derive(Debug)]
pub(crate) struct HashIndex<V> {
    hasher: RandomState,
    /// By hash: the position of the first value seen with that hash.
    first: HashMap<u64, u32, BuildHasherDefault<Prehashed>>,
    /// The values whose hash another value holds in `first`.
    others: HashMap<V, u32>,
}

impl<V> Default for HashIndex<V> {
    fn default() -> Self {
        HashIndex {
            hasher: RandomState::new(),
            first: HashMap::default(),
            others: HashMap::new(),
        }
    }
}

impl<V: Hash + Eq + Clone> HashIndex<V> {
    /// The index of `values`, each at its position.
    pub(crate) fn of(values: &[V]) -> Self {
        let mut index = HashIndex::default();
        index.first.reserve(values.len());
        for (i, v) in values.iter().enumerate() {
            let i = u32::try_from(i).expect("fewer than 2^32 values");
            index.insert(v, i, values);
        }
        index
    }

    /// The position of `value` in `values` (the list this indexes), if it is there.
    pub(crate) fn get(&self, value: &V, values: &[V]) -> Option<u32> {
        let at = *self.first.get(&self.hasher.hash_one(value))?;
        if values[at as usize] == *value {
            Some(at)
        } else {
            self.others.get(value).copied()
        }
    }

    /// Records that `value`, not yet indexed, is at position `at` of `values`.
    pub(crate) fn insert(&mut self, value: &V, at: u32, values: &[V]) {
        let hash = self.hasher.hash_one(value);
        match self.first.get(&hash) {
            Some(&taken) if values[taken as usize] != *value => {
                self.others.insert(value.clone(), at);
            }
            Some(_) => {}
            None => {
                self.first.insert(hash, at);
            }
        }
    }
}

/// Makes room for one more element, growing by a quarter rather than doubling (and from one
/// element rather than four): millions of small lists (an anonymous visitor's one or two page
/// views) and a few long ones (an account's product events) are filled one element at a time
/// and kept for good, so a doubling `Vec` would hold a third more than it uses on average.
/// Still geometric, so a push stays amortised O(1).
pub(crate) fn grow_gently<T>(list: &mut Vec<T>) {
    if list.len() == list.capacity() {
        list.reserve_exact((list.len() / 4).max(1));
    }
}

/// A hasher of keys that are hashes already.
#[derive(Debug, Default)]
pub(crate) struct Prehashed(u64);

impl Hasher for Prehashed {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A value whose hash is chosen, to force collisions.
    #[derive(Debug, Clone, PartialEq, Eq)]
    struct Collide(u32, &'static str);

    impl Hash for Collide {
        fn hash<H: Hasher>(&self, state: &mut H) {
            self.0.hash(state);
        }
    }

    #[test]
    fn finds_every_value_and_no_other_even_when_hashes_collide() {
        let values = vec![
            Collide(1, "a"),
            Collide(1, "b"),
            Collide(2, "c"),
            Collide(1, "d"),
        ];
        let mut index = HashIndex::default();
        let mut list = Vec::new();
        for v in &values {
            assert_eq!(index.get(v, &list), None);
            list.push(v.clone());
            index.insert(v, u32::try_from(list.len() - 1).unwrap(), &list);
        }
        let rebuilt = HashIndex::of(&list);
        for index in [&index, &rebuilt] {
            for (i, v) in values.iter().enumerate() {
                assert_eq!(index.get(v, &list), Some(u32::try_from(i).unwrap()));
            }
            assert_eq!(index.get(&Collide(1, "e"), &list), None);
            assert_eq!(index.get(&Collide(3, "a"), &list), None);
        }
    }
}
