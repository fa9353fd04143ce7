//! Product usage: every non-reserved `track`, by whom and when. Activation (SPEC §3) is
//! evaluated from it.
//!
//! A product event belongs to the account its message names; one that names none belongs to
//! every account its sender is linked to, whenever they were linked (SPEC §2.1), as
//! touchpoints do. Each event is kept once: in [`UsageStore`] under the account it names
//! (which its user id makes someone's usage), or else with its sender's identity
//! ([`HeldUsage`], kept by the model) — which is where a message naming no account, or one with no
//! user id, waits for the identity's links — and [`Usage`] reads an account's events from both
//! at once: an account some identity holds events for has them merged with its own once per
//! change ([`Model::merged_usage`]); every other account's are read from its own list.
//!
//! Names and users are interned so that millions of events stay small (16 bytes each), and
//! events are kept sorted by (time, user, name) so that the result does not depend on arrival
//! order.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::{Deserialize, Serialize};
use tenure_core::{AccountId, Timestamp};

use crate::index::Numbered;
use crate::model::Model;

/// Events SPEC §2.1 reserves: they are milestones, support, surveys and account-team touches,
/// not product usage.
pub const RESERVED_EVENTS: &[&str] = &[
    "Lead Created",
    "Demo Requested",
    "Trial Started",
    "Opportunity Created",
    "Ticket Created",
    "Ticket Solved",
    "NPS Submitted",
    "CSAT Submitted",
    "CSM Touch",
    "Referral Made",
    "Review Published",
    "Case Study Published",
];

/// The activation rule (`[activation]`): at least one activation event and at least
/// `min_users` distinct active users within any `window_days`-day window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ActivationSettings {
    /// Product events that count as activation. The default names the simulated company's;
    /// set your product's own.
    pub events: Vec<String>,
    pub min_users: u32,
    pub window_days: u32,
}

impl Default for ActivationSettings {
    fn default() -> Self {
        Self {
            events: vec!["Report Created".into()],
            min_users: 2,
            window_days: 14,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub(crate) struct UsageEvent {
    at: i64,
    user: u32,
    name: u32,
}

/// The user of an event sent with no user id: whoever its sender's identity turns out to be
/// (SPEC §2.1: anonymous activity is the person's once the ids are linked).
const SENDER: u32 = u32::MAX;

/// Product events sorted by (time, user, name), each once.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct Events(Vec<UsageEvent>);

impl Events {
    fn insert(&mut self, e: UsageEvent) {
        if let Err(i) = self.0.binary_search(&e) {
            crate::index::grow_gently(&mut self.0);
            self.0.insert(i, e);
        }
    }

    /// Moves `other`'s events in.
    fn absorb(&mut self, mut other: Events) {
        if other.0.len() > self.0.len() {
            std::mem::swap(self, &mut other);
        }
        if other.0.is_empty() {
            return;
        }
        self.0.extend(other.0);
        // Two sorted runs: the stable sort merges them in linear time.
        self.0.sort();
        self.0.dedup();
    }

    /// Sorts and dedups events added out of order (by [`UsageStore::merge_held`]).
    pub(crate) fn settle(&mut self) {
        self.0.sort_unstable();
        self.0.dedup();
    }

    /// The events in `(from, to]` (milliseconds).
    fn window(&self, from: i64, to: i64) -> &[UsageEvent] {
        let start = self.0.partition_point(|e| e.at <= from);
        let end = self.0.partition_point(|e| e.at <= to);
        &self.0[start..end.max(start)]
    }
}

/// The product events of one identity that no account's own list holds: those naming no
/// account, which count for every account the identity is linked to, and, by the account they
/// named, those sent with no user id, which count for that account only, as the identity's
/// person.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct HeldUsage {
    unnamed: Events,
    named: BTreeMap<AccountId, Events>,
}

impl HeldUsage {
    pub(crate) fn insert(&mut self, account: Option<&AccountId>, e: UsageEvent) {
        match account {
            None => self.unnamed.insert(e),
            Some(a) => self.named.entry(a.clone()).or_default().insert(e),
        }
    }

    pub(crate) fn absorb(&mut self, other: HeldUsage) {
        self.unnamed.absorb(other.unnamed);
        for (account, events) in other.named {
            self.named.entry(account).or_default().absorb(events);
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.unnamed.0.is_empty() && self.named.is_empty()
    }

    /// The lists that count for `account`.
    pub(crate) fn of<'a>(&'a self, account: &AccountId) -> impl Iterator<Item = &'a Events> {
        std::iter::once(&self.unnamed).chain(self.named.get(account))
    }
}

/// One product event of an account, as [`Usage::between`] gives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UsageRecord<'a> {
    pub at: Timestamp,
    pub user: &'a str,
    pub event: &'a str,
    /// The user's and the event name's interned numbers: equal numbers are equal names, so
    /// a caller can count distinct users or features without hashing strings.
    pub user_id: u32,
    pub event_id: u32,
}

/// The interned users and event names, and the product events that named an account and
/// a user.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct UsageStore {
    users: Numbered<String>,
    names: Numbered<String>,
    accounts: BTreeMap<AccountId, Events>,
}

impl UsageStore {
    /// Rebuilds the interners' numbers of names after deserializing.
    pub(crate) fn reindex(&mut self) {
        self.users.reindex();
        self.names.reindex();
    }

    /// Numbers a user id, so that every person an identity can turn out to be has one when
    /// an event sent with no user id is read as theirs.
    pub(crate) fn see_user(&mut self, user: &str) {
        self.users.id(user);
    }

    /// A `track` as product usage; none for a reserved event.
    pub(crate) fn event(
        &mut self,
        user: Option<&str>,
        event: &str,
        at: Timestamp,
    ) -> Option<UsageEvent> {
        if RESERVED_EVENTS.contains(&event) {
            return None;
        }
        Some(UsageEvent {
            at: at.millis(),
            user: user.map_or(SENDER, |u| self.users.id(u)),
            name: self.names.id(event),
        })
    }

    /// Adds `held`'s events to `account`'s list in `merged`, which starts as the account's own
    /// events: each sent with no user id read as `person`'s user, and dropped without one (it
    /// is no one's usage yet). An account none of whose held events is kept gets no list.
    /// [`Events::settle`] puts each list in order afterwards.
    pub(crate) fn merge_held(
        &self,
        merged: &mut BTreeMap<AccountId, Events>,
        account: &AccountId,
        held: &Events,
        person: Option<&str>,
    ) {
        let person = person.and_then(|p| self.users.get(p));
        let mut events = held
            .0
            .iter()
            .filter_map(|e| {
                if e.user != SENDER {
                    return Some(*e);
                }
                person.map(|user| UsageEvent { user, ..*e })
            })
            .peekable();
        if events.peek().is_none() {
            return;
        }
        merged
            .entry(account.clone())
            .or_insert_with(|| self.accounts.get(account).cloned().unwrap_or_default())
            .0
            .extend(events);
    }

    /// An event that named `account` and a user: the account's, whoever sent it.
    pub(crate) fn add(&mut self, account: &AccountId, e: UsageEvent) {
        debug_assert!(
            e.user != SENDER,
            "an event without a user waits with its sender"
        );
        self.accounts.entry(account.clone()).or_default().insert(e);
    }
}

/// Product usage per account as reports read it: the events that named the account, and those
/// of everyone linked to it that named none (see the module's documentation).
#[derive(Debug, Clone, Copy)]
pub struct Usage<'a> {
    store: &'a UsageStore,
    model: &'a Model,
}

impl<'a> Usage<'a> {
    pub(crate) fn new(store: &'a UsageStore, model: &'a Model) -> Self {
        Usage { store, model }
    }

    /// The account's events in `(from, to]` (milliseconds), sorted, each held event's user
    /// read as its identity's person (one without a person is no one's usage yet).
    fn window(&self, account: &AccountId, from: i64, to: i64) -> &'a [UsageEvent] {
        self.model
            .merged_usage()
            .get(account)
            .or_else(|| self.store.accounts.get(account))
            .map(|e| e.window(from, to))
            .unwrap_or_default()
    }

    /// The account's product events in `(from, to]`, in time order.
    pub fn between(
        &self,
        account: &AccountId,
        from: Timestamp,
        to: Timestamp,
    ) -> impl Iterator<Item = UsageRecord<'a>> + 'a {
        let store = self.store;
        let events = self.window(account, from.millis(), to.millis());
        (0..events.len()).map(move |i| {
            let e = events[i];
            UsageRecord {
                at: Timestamp::from_millis(e.at),
                user: store.users.value(e.user),
                event: store.names.value(e.name),
                user_id: e.user,
                event_id: e.name,
            }
        })
    }

    /// The interned number of a product event name, if anyone has sent it.
    pub fn event_id(&self, name: &str) -> Option<u32> {
        self.store.names.get(name)
    }

    /// The name of an interned product event number.
    pub fn event_name(&self, id: u32) -> &'a str {
        self.store.names.value(id)
    }

    /// The name of an interned user number.
    pub fn user_name(&self, id: u32) -> &'a str {
        self.store.users.value(id)
    }

    /// The account's last product event at or before `at`.
    pub fn last_before(&self, account: &AccountId, at: Timestamp) -> Option<Timestamp> {
        self.window(account, i64::MIN, at.millis())
            .last()
            .map(|e| Timestamp::from_millis(e.at))
    }

    /// When the account first met the activation rule, if it did by `as_of`: the instant the
    /// last condition was met within a window.
    pub fn activated_at(
        &self,
        account: &AccountId,
        rule: &ActivationSettings,
        as_of: Timestamp,
    ) -> Option<Timestamp> {
        let activation: HashSet<u32> = rule
            .events
            .iter()
            .filter_map(|e| self.store.names.get(e))
            .collect();
        if activation.is_empty() {
            return None;
        }
        let events = self.window(account, i64::MIN, as_of.millis());
        let window = i64::from(rule.window_days) * Timestamp::MS_PER_DAY;
        let mut users: HashMap<u32, u32> = HashMap::new();
        let mut activations = 0u32;
        let mut start = 0;
        for (end, e) in events.iter().enumerate() {
            *users.entry(e.user).or_default() += 1;
            activations += u32::from(activation.contains(&e.name));
            while events[start].at < e.at - window {
                let old = events[start];
                let n = users.get_mut(&old.user).expect("counted when it entered");
                *n -= 1;
                if *n == 0 {
                    users.remove(&old.user);
                }
                activations -= u32::from(activation.contains(&old.name));
                start += 1;
            }
            debug_assert!(start <= end);
            if activations > 0 && users.len() as u32 >= rule.min_users {
                return Some(Timestamp::from_millis(e.at));
            }
        }
        None
    }
}
