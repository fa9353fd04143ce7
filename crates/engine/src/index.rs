//! Lists kept for good: how they grow, and the numbers of their values found by hash.

use std::borrow::Borrow;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hash};
use std::marker::PhantomData;
use std::num::NonZeroU32;

use hashbrown::HashTable;
use serde::{Deserialize, Serialize};

/// The inverse of a list of distinct values (`value -> its position`) that keeps no second copy
/// of the values: a hash table of positions alone, hashed and compared through the list itself
/// (`hashbrown`'s `HashTable`), so a lookup is exact whatever the hashes.
///
/// An identity graph of millions of ids, or a table of hundreds of thousands of page facts,
/// held each value twice in a `HashMap<V, u32>` beside the list; this holds a position (and a
/// control byte) per value.
#[derive(Debug, Clone)]
pub(crate) struct HashIndex<V> {
    hasher: RandomState,
    positions: HashTable<u32>,
    values: PhantomData<V>,
}

impl<V> Default for HashIndex<V> {
    fn default() -> Self {
        HashIndex {
            hasher: RandomState::new(),
            positions: HashTable::new(),
            values: PhantomData,
        }
    }
}

impl<V: Hash + Eq> HashIndex<V> {
    /// The index of `values`, each at its position.
    pub(crate) fn of(values: &[V]) -> Self {
        let mut index = HashIndex::default();
        index.positions.reserve(values.len(), |&at| {
            index.hasher.hash_one(&values[at as usize])
        });
        for (i, v) in values.iter().enumerate() {
            let i = u32::try_from(i).expect("fewer than 2^32 values");
            index.insert(v, i, values);
        }
        index
    }

    /// The position of `value` in `values` (the list this indexes), if it is there; `value`
    /// may be a borrowed form of the values (a `str` of `String`s), which hashes alike.
    pub(crate) fn get<Q: Hash + Eq + ?Sized>(&self, value: &Q, values: &[V]) -> Option<u32>
    where
        V: Borrow<Q>,
    {
        self.positions
            .find(self.hasher.hash_one(value), |&at| {
                values[at as usize].borrow() == value
            })
            .copied()
    }

    /// Records that `value`, not yet indexed, is at position `at` of `values`.
    pub(crate) fn insert(&mut self, value: &V, at: u32, values: &[V]) {
        let hasher = &self.hasher;
        self.positions
            .insert_unique(hasher.hash_one(value), at, |&i| {
                hasher.hash_one(&values[i as usize])
            });
    }
}

/// A position in a list in four bytes, leaving `Option` room for its none (kept as position
/// + 1): millions of page views each hold two.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub(crate) struct Number(NonZeroU32);

impl Number {
    pub(crate) fn of(position: usize) -> Number {
        let n = u32::try_from(position + 1)
            .ok()
            .and_then(NonZeroU32::new)
            .expect("fewer than 2^32 - 1 values");
        Number(n)
    }

    pub(crate) fn position(self) -> usize {
        self.0.get() as usize - 1
    }
}

/// Distinct values numbered in the order first seen, each kept once, with their index: user
/// ids and event names (hundreds of thousands), the accounts page views name.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(bound(deserialize = "V: Deserialize<'de>"))]
pub(crate) struct Numbered<V> {
    values: Vec<V>,
    /// Not serialized: rebuilt by [`Numbered::reindex`].
    #[serde(skip)]
    index: HashIndex<V>,
}

impl<V> Default for Numbered<V> {
    fn default() -> Self {
        Numbered {
            values: Vec::new(),
            index: HashIndex::default(),
        }
    }
}

impl<V: Hash + Eq> Numbered<V> {
    /// The number of `value` (or of a borrowed form of it), numbered now if it is new.
    pub(crate) fn id<Q>(&mut self, value: &Q) -> u32
    where
        V: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = V> + ?Sized,
    {
        if let Some(id) = self.get(value) {
            return id;
        }
        let id = u32::try_from(self.values.len()).expect("fewer than 2^32 values");
        self.values.push(value.to_owned());
        self.index
            .insert(&self.values[id as usize], id, &self.values);
        id
    }

    /// The number of `value`, if it has one.
    pub(crate) fn get<Q: Hash + Eq + ?Sized>(&self, value: &Q) -> Option<u32>
    where
        V: Borrow<Q>,
    {
        self.index.get(value, &self.values)
    }

    /// The value numbered `id`.
    pub(crate) fn value(&self, id: u32) -> &V {
        &self.values[id as usize]
    }

    /// Rebuilds the index, after deserializing.
    pub(crate) fn reindex(&mut self) {
        self.index = HashIndex::of(&self.values);
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

#[cfg(test)]
mod tests {
    use std::hash::Hasher;

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

    #[test]
    fn finds_a_value_by_its_borrowed_form() {
        let names: Vec<String> = ["signup", "login", "invite"].map(String::from).to_vec();
        let index = HashIndex::of(&names);
        assert_eq!(index.get("login", &names), Some(1));
        assert_eq!(index.get(&"invite".to_owned(), &names), Some(2));
        assert_eq!(index.get("logout", &names), None);
    }
}
