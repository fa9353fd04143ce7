//! A small ordered map (or set, with `()` values) in one list.

use std::borrow::Borrow;

use serde::{Deserialize, Serialize};

use crate::index::grow_gently;

/// Values in order of their keys, each key once, in one list. Why not a `BTreeMap`: most
/// identities have a handful of page views, and most accounts a handful of tickets and survey
/// answers, and a B-tree's smallest node has room for eleven, which was most of the model's
/// bytes (a heap profile at 20,000 accounts: 557 MB of half-empty leaves of page views; at
/// 100,000 accounts, 231 MB of success facts). Entries mostly arrive in time order, so an
/// insert is mostly a push.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub(crate) struct Sorted<K, V>(Vec<(K, V)>);

impl<K, V> Default for Sorted<K, V> {
    fn default() -> Self {
        Sorted(Vec::new())
    }
}

impl<K: Ord, V> Sorted<K, V> {
    /// Where `key` is (`Ok`) or would go (`Err`); a key past the last, as most are, without a
    /// search.
    fn find(&self, key: &K) -> Result<usize, usize> {
        match self.0.last() {
            Some((last, _)) if last < key => Err(self.0.len()),
            _ => self.0.binary_search_by(|(k, _)| k.cmp(key)),
        }
    }

    fn insert_at(&mut self, i: usize, key: K, value: V) {
        grow_gently(&mut self.0);
        self.0.insert(i, (key, value));
    }

    /// Inserts the value unless the key is there already; whether it was new.
    pub(crate) fn insert(&mut self, key: K, value: impl FnOnce() -> V) -> bool {
        match self.find(&key) {
            Ok(_) => false,
            Err(i) => {
                self.insert_at(i, key, value());
                true
            }
        }
    }

    /// The value of `key`, inserted by `value` first if the key is not there.
    pub(crate) fn get_or_insert_with(&mut self, key: K, value: impl FnOnce() -> V) -> &mut V {
        let i = match self.find(&key) {
            Ok(i) => i,
            Err(i) => {
                self.insert_at(i, key, value());
                i
            }
        };
        &mut self.0[i].1
    }

    /// Adds the entries (a key already there, or given twice, is kept once: the first).
    pub(crate) fn extend(&mut self, entries: impl IntoIterator<Item = (K, V)>) {
        let before = self.0.len();
        self.0.extend(entries);
        if self.0.len() == before {
            return;
        }
        // Stable: of equal keys the one already there, or given first, stays first; and two
        // sorted runs (an absorbed list) merge in linear time.
        self.0.sort_by(|a, b| a.0.cmp(&b.0));
        self.0.dedup_by(|later, first| later.0 == first.0);
        self.0.shrink_to_fit();
    }

    pub(crate) fn get<Q: Ord + ?Sized>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
    {
        let i = self.0.binary_search_by(|(k, _)| k.borrow().cmp(key)).ok()?;
        Some(&self.0[i].1)
    }

    pub(crate) fn keys(&self) -> impl Iterator<Item = &K> {
        self.0.iter().map(|(k, _)| k)
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &(K, V)> {
        self.0.iter()
    }

    pub(crate) fn values(&self) -> impl Iterator<Item = &V> {
        self.0.iter().map(|(_, v)| v)
    }

    /// Moves `other`'s entries in (a key in both is kept once), the smaller list into the
    /// larger.
    pub(crate) fn absorb(&mut self, mut other: Sorted<K, V>) {
        if other.0.len() > self.0.len() {
            std::mem::swap(self, &mut other);
        }
        self.extend(other.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_keys_in_order_once_and_little_room_to_spare() {
        let mut sorted = Sorted::default();
        for k in [5, 1, 9, 1, 3, 7, 5, 2, 8, 4, 6, 0] {
            sorted.insert(k, || k * 10);
        }
        let keys: Vec<i32> = sorted.iter().map(|(k, _)| *k).collect();
        assert_eq!(keys, (0..10).collect::<Vec<_>>());
        assert!(sorted.values().zip(0..).all(|(v, k)| *v == k * 10));
        assert!(
            sorted.0.capacity() <= 12,
            "capacity {}",
            sorted.0.capacity()
        );
        let mut one = Sorted::default();
        one.insert(1, || ());
        assert_eq!(one.0.capacity(), 1);
    }

    #[test]
    fn extends_and_inserts_keeping_the_first_value_of_a_key() {
        let mut sorted = Sorted::default();
        sorted.insert(3, || "three");
        sorted.extend([(1, "one"), (3, "again"), (2, "two"), (1, "twice")]);
        let entries: Vec<(i32, &str)> = sorted.iter().copied().collect();
        assert_eq!(entries, [(1, "one"), (2, "two"), (3, "three")]);
        *sorted.get_or_insert_with(2, || "unused") = "TWO";
        *sorted.get_or_insert_with(0, || "zero") = "ZERO";
        let entries: Vec<(i32, &str)> = sorted.iter().copied().collect();
        assert_eq!(entries, [(0, "ZERO"), (1, "one"), (2, "TWO"), (3, "three")]);
        assert_eq!(sorted.get(&2), Some(&"TWO"));
        assert_eq!(sorted.get(&9), None);
    }
}
