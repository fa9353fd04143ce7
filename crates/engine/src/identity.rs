//! Identity: which user ids and anonymous ids are the same person (SPEC §2.1, §2.2).
//!
//! A union-find over ids. Links only ever join components, so the final components depend only
//! on the set of links, not on their order; and the person's id is chosen from the component's
//! members (its smallest user id), never from which link came first. That is what lets a replay
//! of the log, in any batching, reproduce the live state exactly.
//!
//! `alias` names a `previousId` that may be an anonymous id or an older user id; the graph links
//! both readings as "ghost" nodes. A ghost counts for nothing (no person, no anonymous id) until
//! the same id is seen in its own role, when it simply becomes real — again independent of order.

use std::fmt;

use serde::{Deserialize, Serialize};
use tenure_core::{AnonymousId, UserId};

use crate::index::HashIndex;

/// A person: the smallest user id of an identity component.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PersonId(UserId);

impl PersonId {
    pub fn user_id(&self) -> &UserId {
        &self.0
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

impl fmt::Display for PersonId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub(crate) enum IdKey {
    User(UserId),
    Anon(AnonymousId),
}

/// Two roots merged: `kept` is the new root, `absorbed` is no longer one.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Merge {
    pub kept: usize,
    pub absorbed: usize,
}

/// No node: the smallest user or anonymous id of a component without one.
const NONE: u32 = u32::MAX;

/// The ids by node, each once: nodes are numbered `u32`s (the model hands them out as
/// `usize`), and a root's smallest ids are the nodes that hold them, not copies of the ids.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct IdentityGraph {
    /// The inverse of `keys` (by hash): not serialized, rebuilt by [`IdentityGraph::reindex`].
    #[serde(skip)]
    index: HashIndex<IdKey>,
    keys: Vec<IdKey>,
    seen: Vec<bool>,
    parent: Vec<u32>,
    size: Vec<u32>,
    /// At roots: the node of the smallest seen user id of the component, or [`NONE`].
    min_user: Vec<u32>,
    /// At roots: the node of the smallest seen anonymous id of the component, or [`NONE`].
    min_anon: Vec<u32>,
    persons: u64,
    anonymous_ids: u64,
}

fn node_number(i: usize) -> u32 {
    u32::try_from(i)
        .ok()
        .filter(|&n| n != NONE)
        .expect("fewer than 2^32 - 1 ids")
}

impl IdentityGraph {
    /// Rebuilds the index of ids from `keys`, after deserializing, and trims the lists to
    /// their length (deserializing grows a long list by doubling: a third again, on average,
    /// of millions of nodes).
    pub fn reindex(&mut self) {
        self.keys.shrink_to_fit();
        self.seen.shrink_to_fit();
        self.parent.shrink_to_fit();
        self.size.shrink_to_fit();
        self.min_user.shrink_to_fit();
        self.min_anon.shrink_to_fit();
        self.index = HashIndex::of(&self.keys);
    }

    pub fn lookup(&self, key: &IdKey) -> Option<usize> {
        self.index.get(key, &self.keys).map(|i| i as usize)
    }

    /// The node of an id, created as a ghost if it is new.
    pub fn node(&mut self, key: IdKey) -> usize {
        if let Some(i) = self.lookup(&key) {
            return i;
        }
        let i = self.keys.len();
        let n = node_number(i);
        self.keys.push(key);
        self.index.insert(&self.keys[i], n, &self.keys);
        self.seen.push(false);
        self.parent.push(n);
        self.size.push(1);
        self.min_user.push(NONE);
        self.min_anon.push(NONE);
        i
    }

    /// Whether the node's id was seen in its own role (not only as an alias's `previousId`).
    pub fn is_seen(&self, node: usize) -> bool {
        self.seen[node]
    }

    /// The user id of a node that holds one.
    fn user(&self, node: u32) -> Option<&UserId> {
        match self.keys.get(node as usize)? {
            IdKey::User(u) => Some(u),
            IdKey::Anon(_) => None,
        }
    }

    /// The anonymous id of a node that holds one.
    fn anon(&self, node: u32) -> Option<&AnonymousId> {
        match self.keys.get(node as usize)? {
            IdKey::Anon(a) => Some(a),
            IdKey::User(_) => None,
        }
    }

    /// The node of an id seen in its own role (`userId`, `anonymousId`, a CSV column).
    pub fn see(&mut self, key: IdKey) -> usize {
        let i = self.node(key);
        if !self.seen[i] {
            self.seen[i] = true;
            let root = self.find(i);
            let n = node_number(i);
            match &self.keys[i] {
                IdKey::User(u) => {
                    let current = self.min_user[root];
                    match self.user(current) {
                        None => {
                            self.persons += 1;
                            self.min_user[root] = n;
                        }
                        Some(current) if u < current => self.min_user[root] = n,
                        Some(_) => {}
                    }
                }
                IdKey::Anon(a) => {
                    self.anonymous_ids += 1;
                    if self
                        .anon(self.min_anon[root])
                        .is_none_or(|current| a < current)
                    {
                        self.min_anon[root] = n;
                    }
                }
            }
        }
        i
    }

    pub fn find(&mut self, mut i: usize) -> usize {
        while self.parent[i] as usize != i {
            self.parent[i] = self.parent[self.parent[i] as usize];
            i = self.parent[i] as usize;
        }
        i
    }

    /// The root without path compression, for `&self` queries (depth is O(log n) by union by
    /// size).
    pub fn root(&self, mut i: usize) -> usize {
        while self.parent[i] as usize != i {
            i = self.parent[i] as usize;
        }
        i
    }

    pub fn union(&mut self, a: usize, b: usize) -> Option<Merge> {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra == rb {
            return None;
        }
        let (kept, absorbed) = if self.size[ra] >= self.size[rb] {
            (ra, rb)
        } else {
            (rb, ra)
        };
        self.parent[absorbed] = node_number(kept);
        self.size[kept] += self.size[absorbed];
        let absorbed_user = std::mem::replace(&mut self.min_user[absorbed], NONE);
        if self.user(absorbed_user).is_some() {
            let kept_user = self.min_user[kept];
            if self.user(kept_user).is_some() {
                self.persons -= 1;
                if self.user(absorbed_user) < self.user(kept_user) {
                    self.min_user[kept] = absorbed_user;
                }
            } else {
                self.min_user[kept] = absorbed_user;
            }
        }
        let absorbed_anon = std::mem::replace(&mut self.min_anon[absorbed], NONE);
        if let Some(a) = self.anon(absorbed_anon) {
            if self
                .anon(self.min_anon[kept])
                .is_none_or(|current| a < current)
            {
                self.min_anon[kept] = absorbed_anon;
            }
        }
        Some(Merge { kept, absorbed })
    }

    /// The person of a root, if its component holds a seen user id.
    pub fn person_of_root(&self, root: usize) -> Option<PersonId> {
        self.user(self.min_user[root]).cloned().map(PersonId)
    }

    /// The smallest anonymous id of a root's component.
    pub fn anonymous_of_root(&self, root: usize) -> Option<AnonymousId> {
        self.anon(self.min_anon[root]).cloned()
    }

    /// The anonymous id of a node, if it is one's.
    pub fn anonymous_at(&self, node: usize) -> Option<&AnonymousId> {
        self.anon(u32::try_from(node).ok()?)
    }

    pub fn person_of(&self, node: usize) -> Option<PersonId> {
        self.person_of_root(self.root(node))
    }

    pub fn persons(&self) -> u64 {
        self.persons
    }

    pub fn anonymous_ids(&self) -> u64 {
        self.anonymous_ids
    }

    /// Every id seen in its own role, with its node.
    pub fn seen_ids(&self) -> impl Iterator<Item = (usize, &IdKey)> + '_ {
        self.keys.iter().enumerate().filter(|(i, _)| self.seen[*i])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(s: &str) -> IdKey {
        IdKey::User(UserId::parse(s).unwrap())
    }

    fn anon(s: &str) -> IdKey {
        IdKey::Anon(AnonymousId::parse(s).unwrap())
    }

    #[test]
    fn person_is_smallest_user_whatever_the_link_order() {
        for order in [[0, 1], [1, 0]] {
            let mut g = IdentityGraph::default();
            let b = g.see(user("b"));
            let a = g.see(user("a"));
            let x = g.see(anon("x"));
            let links = [(b, x), (a, x)];
            for i in order {
                g.union(links[i].0, links[i].1);
            }
            assert_eq!(g.person_of(x).unwrap().as_str(), "a");
            assert_eq!(g.persons(), 1);
            assert_eq!(g.anonymous_ids(), 1);
        }
    }

    #[test]
    fn ghosts_count_only_once_seen() {
        let mut g = IdentityGraph::default();
        let u = g.see(user("u"));
        let ghost = g.node(user("old"));
        g.union(u, ghost);
        assert_eq!(g.persons(), 1);
        assert_eq!(g.person_of(u).unwrap().as_str(), "u");
        g.see(user("old"));
        assert_eq!(g.persons(), 1);
        assert_eq!(g.person_of(u).unwrap().as_str(), "old");
    }
}
