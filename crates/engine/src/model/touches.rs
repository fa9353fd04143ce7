//! Touchpoints grouped by whose they are, and the journeys read from them, kept up to date as
//! entries arrive: a new page view recomputes its identity's touchpoints and the journeys of
//! that identity's accounts, not every account's.

mod tally;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::OnceLock;

use tenure_core::AccountId;

use super::{EventKey, Model, Owner, Who};
use crate::sessions::{Keyed, TouchField, Touchpoint, TouchpointOrigin};
pub use tally::TouchGroup;
pub(crate) use tally::{Counts, Tally};

/// What changed, since the touchpoints were last grouped, that they depend on.
#[derive(Debug, Default)]
pub(super) struct TouchChanges {
    /// Nodes whose identity's touchpoints, person, name or accounts may have changed; a node
    /// that is no longer a root had its identity absorbed by another.
    pub nodes: HashSet<usize>,
    /// Offline rows added.
    pub rows: Vec<EventKey>,
    /// Whether an offline row may belong to someone else: ids were linked or seen, or an
    /// e-mail given.
    pub owners: bool,
}

/// Every touchpoint, by whose it is, and the account and visitor journeys made of them.
#[derive(Debug, Default)]
pub(super) struct Touches {
    /// Each owner's touchpoints in time order (then origin, then tie-break), persons filled in,
    /// but for the owners listed in `visitors`, whose touchpoints are there. Owners without any
    /// are left out.
    owned: HashMap<Owner, Vec<Keyed>>,
    /// Each offline row's owner.
    row_owner: HashMap<EventKey, Owner>,
    /// The offline rows of each owner.
    rows_of: HashMap<Owner, BTreeSet<EventKey>>,
    /// The offline rows naming each account.
    rows_naming: HashMap<AccountId, BTreeSet<EventKey>>,
    /// See [`Model::account_journeys`].
    journeys: BTreeMap<AccountId, Vec<Touchpoint>>,
    /// The touchpoints of the owners whose touchpoints make a visitor's journey (see
    /// [`Model::visitor_journeys`]), by who they are and in that order (`listed` says whose):
    /// held here rather than in `owned` so that reading every visitor's journey (each
    /// attribution report does) does not look each up in a hash table of a million owners, a
    /// cache miss apiece.
    visitors: BTreeMap<Who, Vec<Keyed>>,
    /// Under which name each owner in `visitors` is listed there.
    listed: HashMap<Owner, Who>,
    /// Every touchpoint counted, for [`Model::summary`].
    counts: Counts,
    /// Touchpoints counted by each touch grouping ([`TouchField::ALL`]'s order), for the
    /// `touchpoints` report: counted on the first read of a grouping, then kept.
    tallies: [OnceLock<Tally>; 5],
}

impl Touches {
    /// Groups every touchpoint of the model.
    pub(super) fn build(model: &Model) -> Touches {
        let mut touches = Touches::default();
        let everything = TouchChanges {
            nodes: model.components.keys().copied().collect(),
            rows: model.offline.keys().cloned().collect(),
            owners: false,
        };
        touches.update(model, everything);
        touches
    }

    /// Brings the grouping up to date with `model` after `changes`: recomputes the touchpoints
    /// of the owners they name or move offline rows between, and the journeys of those owners'
    /// accounts and of the accounts the moved rows name.
    pub(super) fn update(&mut self, model: &Model, changes: TouchChanges) {
        let mut owners: HashSet<Owner> = HashSet::new();
        let mut accounts: BTreeSet<AccountId> = BTreeSet::new();
        for node in changes.nodes {
            let root = model.ids.root(node);
            if root != node {
                owners.insert(Owner::Identity(node));
            }
            owners.insert(Owner::Identity(root));
        }
        if changes.owners {
            for (key, row) in &model.offline {
                let Some(old) = self.row_owner.get(key) else {
                    continue;
                };
                let owner = model.offline_owner(row);
                if *old == owner {
                    continue;
                }
                let old = old.clone();
                self.forget_row(key, &old);
                self.file_row(key.clone(), owner.clone());
                owners.extend([old, owner]);
                accounts.extend(row.account_id.clone());
            }
        }
        for key in changes.rows {
            if self.row_owner.contains_key(&key) {
                continue;
            }
            let row = &model.offline[&key];
            let owner = model.offline_owner(row);
            if let Some(account) = &row.account_id {
                self.rows_naming
                    .entry(account.clone())
                    .or_default()
                    .insert(key.clone());
                accounts.insert(account.clone());
            }
            self.file_row(key, owner.clone());
            owners.insert(owner);
        }
        // Unlisted first: two owners may swap names (one absorbing the other takes its name).
        let mut old_lists: HashMap<Owner, Vec<Keyed>> = HashMap::new();
        for owner in &owners {
            if let Some(who) = self.listed.remove(owner) {
                if let Some(list) = self.visitors.remove(&who) {
                    old_lists.insert(owner.clone(), list);
                }
            }
            if let Some(list) = self.owned.remove(owner) {
                old_lists.insert(owner.clone(), list);
            }
        }
        let owners: Vec<Owner> = owners.into_iter().collect();
        let lists = each(&owners, |owner| self.list_of(model, owner));
        for (owner, list) in owners.into_iter().zip(lists) {
            if let Owner::Identity(root) = owner {
                accounts.extend(model.accounts_of_root(root).iter().cloned());
            }
            // Its rows are in the journeys of the accounts they name, whoever it is linked to.
            accounts.extend(
                list.iter()
                    .filter(|k| k.touchpoint.origin == TouchpointOrigin::Offline)
                    .filter_map(|k| k.touchpoint.account.clone()),
            );
            // The new ones counted before the old ones go: most are both, and a group's first
            // or last instant is then never left without a touchpoint on the way.
            for k in &list {
                self.count(&k.touchpoint, true);
            }
            for k in old_lists.remove(&owner).iter().flatten() {
                self.count(&k.touchpoint, false);
            }
            if let Some(who) = visitor(model, &owner, &list) {
                self.listed.insert(owner.clone(), who.clone());
                let replaced = self.visitors.insert(who, list);
                debug_assert!(replaced.is_none(), "two owners listed under one name");
            } else if !list.is_empty() {
                self.owned.insert(owner, list);
            }
        }
        for tally in &mut self.tallies {
            if tally.get().is_some_and(Tally::is_lost) {
                tally.take();
            }
        }
        let accounts: Vec<AccountId> = accounts.into_iter().collect();
        let journeys = each(&accounts, |account| self.journey(model, account));
        for (account, journey) in accounts.into_iter().zip(journeys) {
            match journey {
                Some(journey) => self.journeys.insert(account, journey),
                None => self.journeys.remove(&account),
            };
        }
    }

    /// Counts a touchpoint in, or out, of the counts and the tallies read so far.
    fn count(&mut self, t: &Touchpoint, add: bool) {
        if add {
            self.counts.add(t);
        } else {
            self.counts.remove(t);
        }
        for tally in self.tallies.iter_mut().filter_map(OnceLock::get_mut) {
            if add {
                tally.add(t);
            } else {
                tally.remove(t);
            }
        }
    }

    fn file_row(&mut self, key: EventKey, owner: Owner) {
        self.rows_of
            .entry(owner.clone())
            .or_default()
            .insert(key.clone());
        self.row_owner.insert(key, owner);
    }

    fn forget_row(&mut self, key: &EventKey, owner: &Owner) {
        if let Some(rows) = self.rows_of.get_mut(owner) {
            rows.remove(key);
            if rows.is_empty() {
                self.rows_of.remove(owner);
            }
        }
    }

    /// The owner's touchpoints in order: an identity's sessions and campaign tracks, with its
    /// person, and the offline rows that are the owner's. None for a node no longer a root.
    fn list_of(&self, model: &Model, owner: &Owner) -> Vec<Keyed> {
        let mut list = Vec::new();
        if let Owner::Identity(root) = *owner {
            if model.ids.root(root) != root {
                return list;
            }
            if let Some(component) = model.components.get(&root) {
                let person = model.ids.person_of_root(root);
                list = component.touchpoints(model);
                for keyed in &mut list {
                    keyed.touchpoint.person.clone_from(&person);
                }
            }
        }
        for key in self.rows_of.get(owner).into_iter().flatten() {
            list.push(model.offline_keyed(key, &model.offline[key], owner));
        }
        list.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
        // Kept for good, and grown past its length by the tracks and rows appended.
        list.shrink_to_fit();
        list
    }

    /// The account's journey: the touchpoints of everyone linked to it and the offline rows
    /// naming it, in order; none for an account no one is linked to and no row names.
    fn journey(&self, model: &Model, account: &AccountId) -> Option<Vec<Touchpoint>> {
        let roots = model.roots_of(account);
        let named = self.rows_naming.get(account);
        if roots.is_empty() && named.is_none() {
            return None;
        }
        let others: Vec<Keyed> = named
            .into_iter()
            .flatten()
            .filter_map(|key| {
                let owner = &self.row_owner[key];
                let linked = matches!(owner, Owner::Identity(r) if roots.contains(r));
                (!linked).then(|| model.offline_keyed(key, &model.offline[key], owner))
            })
            .collect();
        let mut keyed: Vec<&Keyed> = roots
            .iter()
            .filter_map(|&root| self.list(&Owner::Identity(root)))
            .flatten()
            .chain(&others)
            .collect();
        keyed.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
        Some(keyed.into_iter().map(|k| k.touchpoint.clone()).collect())
    }

    pub(super) fn journeys(&self) -> &BTreeMap<AccountId, Vec<Touchpoint>> {
        &self.journeys
    }

    pub(super) fn counts(&self) -> &Counts {
        &self.counts
    }

    /// Every touchpoint counted by its value of `field`.
    pub(super) fn tally(&self, field: TouchField) -> &Tally {
        let i = TouchField::ALL
            .iter()
            .position(|f| *f == field)
            .expect("every field is in ALL");
        self.tallies[i].get_or_init(|| {
            let mut tally = Tally::new(field);
            for k in self.keyed() {
                tally.add(&k.touchpoint);
            }
            tally
        })
    }

    /// The owner's touchpoints, if it has any.
    fn list(&self, owner: &Owner) -> Option<&Vec<Keyed>> {
        match self.listed.get(owner) {
            Some(who) => self.visitors.get(who),
            None => self.owned.get(owner),
        }
    }

    /// Every touchpoint with its tie-break, owner by owner.
    pub(super) fn keyed(&self) -> impl Iterator<Item = &Keyed> {
        self.owned
            .values()
            .flatten()
            .chain(self.visitors.values().flatten())
    }

    /// The visitors' journeys, in the order of who they are.
    pub(super) fn visitors(
        &self,
    ) -> impl ExactSizeIterator<Item = impl Iterator<Item = &Touchpoint>> {
        self.visitors.values().map(|list| {
            list.iter()
                .map(|k| &k.touchpoint)
                .filter(|t| t.account.is_none())
        })
    }
}

/// `f` of every item, in order: on every core when the items are many (the first grouping of a
/// model computes a million owners' touchpoints), here when they are a few (an entry's).
/// Threads of its own rather than rayon's pool: this runs while a kept value (`model::kept`) is being
/// initialised, which rayon's workers may be waiting on (statuses are refreshed on them), and
/// work handed to a pool whose workers all wait would never be done.
fn each<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    const ALONE_BELOW: usize = 4096;
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    if threads == 1 || items.len() < ALONE_BELOW {
        return items.iter().map(f).collect();
    }
    let f = &f;
    std::thread::scope(|scope| {
        let parts: Vec<_> = items
            .chunks(items.len().div_ceil(threads))
            .map(|part| scope.spawn(move || part.iter().map(f).collect::<Vec<R>>()))
            .collect();
        parts
            .into_iter()
            .flat_map(|part| part.join().expect("a grouping thread does not panic"))
            .collect()
    })
}

/// Who the owner is listed as among visitors, if its touchpoints make one's journey: an
/// identity linked to no account, or a prospect, with a touchpoint naming no account.
fn visitor(model: &Model, owner: &Owner, list: &[Keyed]) -> Option<Who> {
    let who = match owner {
        Owner::Identity(root) if model.accounts_of_root(*root).is_empty() => model.who(*root)?,
        Owner::Prospect(email) => Who::Prospect(email.clone()),
        Owner::Identity(_) | Owner::Nobody => return None,
    };
    list.iter()
        .any(|k| k.touchpoint.account.is_none())
        .then_some(who)
}
