//! Product usage per account: every non-reserved `track` with an account, by whom and when, and
//! the first time each event name was seen. Activation (SPEC §3) is evaluated from it.
//!
//! Names and users are interned so that millions of events stay small (16 bytes each), and
//! events are kept sorted by (time, user, name) so that the result does not depend on arrival
//! order.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::{Deserialize, Serialize};
use tenure_core::{AccountId, Timestamp};

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

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct UsageEvent {
    at: i64,
    user: u32,
    name: u32,
}

#[derive(Debug, Clone, Default)]
struct AccountUsage {
    /// Sorted by (time, user, name).
    events: Vec<UsageEvent>,
}

#[derive(Debug, Clone, Default)]
struct Interner {
    ids: HashMap<String, u32>,
    names: Vec<String>,
}

impl Interner {
    fn id(&mut self, name: &str) -> u32 {
        if let Some(id) = self.ids.get(name) {
            return *id;
        }
        let id = self.names.len() as u32;
        self.ids.insert(name.to_owned(), id);
        self.names.push(name.to_owned());
        id
    }

    fn get(&self, name: &str) -> Option<u32> {
        self.ids.get(name).copied()
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

/// Usage and milestones of every account of a workspace.
#[derive(Debug, Clone, Default)]
pub struct Usage {
    users: Interner,
    names: Interner,
    accounts: BTreeMap<AccountId, AccountUsage>,
    /// Account -> event name -> first time seen (every track, reserved or not).
    firsts: BTreeMap<AccountId, BTreeMap<String, Timestamp>>,
}

impl Usage {
    pub(crate) fn track(
        &mut self,
        account: &AccountId,
        user: Option<&str>,
        event: &str,
        at: Timestamp,
    ) {
        let firsts = self.firsts.entry(account.clone()).or_default();
        match firsts.get_mut(event) {
            Some(first) if *first <= at => {}
            Some(first) => *first = at,
            None => {
                firsts.insert(event.to_owned(), at);
            }
        }
        let Some(user) = user else { return };
        if RESERVED_EVENTS.contains(&event) {
            return;
        }
        let e = UsageEvent {
            at: at.millis(),
            user: self.users.id(user),
            name: self.names.id(event),
        };
        let events = &mut self.accounts.entry(account.clone()).or_default().events;
        match events.binary_search(&e) {
            Ok(_) => {}
            Err(i) => events.insert(i, e),
        }
    }

    /// The account's product events in `(from, to]`, in time order.
    pub fn between(
        &self,
        account: &AccountId,
        from: Timestamp,
        to: Timestamp,
    ) -> impl Iterator<Item = UsageRecord<'_>> + '_ {
        let events = self
            .accounts
            .get(account)
            .map(|a| a.events.as_slice())
            .unwrap_or_default();
        let start = events.partition_point(|e| e.at <= from.millis());
        let end = events.partition_point(|e| e.at <= to.millis());
        events[start..end.max(start)].iter().map(|e| UsageRecord {
            at: Timestamp::from_millis(e.at),
            user: &self.users.names[e.user as usize],
            event: &self.names.names[e.name as usize],
            user_id: e.user,
            event_id: e.name,
        })
    }

    /// The interned number of a product event name, if any account has sent it.
    pub fn event_id(&self, name: &str) -> Option<u32> {
        self.names.get(name)
    }

    /// The name of an interned product event number.
    pub fn event_name(&self, id: u32) -> &str {
        &self.names.names[id as usize]
    }

    /// The name of an interned user number.
    pub fn user_name(&self, id: u32) -> &str {
        &self.users.names[id as usize]
    }

    /// The account's last product event at or before `at`.
    pub fn last_before(&self, account: &AccountId, at: Timestamp) -> Option<Timestamp> {
        let events = &self.accounts.get(account)?.events;
        let end = events.partition_point(|e| e.at <= at.millis());
        end.checked_sub(1)
            .map(|i| Timestamp::from_millis(events[i].at))
    }

    /// The first time the account sent `event` (any track, reserved or not).
    pub fn first(&self, account: &AccountId, event: &str) -> Option<Timestamp> {
        self.firsts.get(account)?.get(event).copied()
    }

    /// The first of several events.
    pub fn first_of(&self, account: &AccountId, events: &[String]) -> Option<Timestamp> {
        events.iter().filter_map(|e| self.first(account, e)).min()
    }

    /// When the account first met the activation rule, if it did by `as_of`: the instant the
    /// last condition was met within a window.
    pub fn activated_at(
        &self,
        account: &AccountId,
        rule: &ActivationSettings,
        as_of: Timestamp,
    ) -> Option<Timestamp> {
        let events = &self.accounts.get(account)?.events;
        let activation: HashSet<u32> = rule
            .events
            .iter()
            .filter_map(|e| self.names.get(e))
            .collect();
        if activation.is_empty() {
            return None;
        }
        let window = i64::from(rule.window_days) * Timestamp::MS_PER_DAY;
        let mut users: HashMap<u32, u32> = HashMap::new();
        let mut activations = 0u32;
        let mut start = 0;
        for (end, e) in events.iter().enumerate() {
            if e.at > as_of.millis() {
                break;
            }
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

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = Timestamp::MS_PER_DAY;

    fn usage(events: &[(i64, &str, &str)]) -> Usage {
        let mut u = Usage::default();
        let a = AccountId::parse("a").unwrap();
        for (day, user, event) in events {
            u.track(&a, Some(user), event, Timestamp::from_millis(day * DAY));
        }
        u
    }

    fn activated(events: &[(i64, &str, &str)]) -> Option<i64> {
        usage(events)
            .activated_at(
                &AccountId::parse("a").unwrap(),
                &ActivationSettings::default(),
                Timestamp::from_millis(1_000 * DAY),
            )
            .map(|t| t.millis() / DAY)
    }

    #[test]
    fn activation_rule_cases() {
        // one user, however active: not activated
        assert_eq!(
            activated(&[(1, "u1", "Report Created"), (2, "u1", "Logged In")]),
            None
        );
        // two users within 14 days and an activation event: activated when the second arrives
        assert_eq!(
            activated(&[(1, "u1", "Report Created"), (5, "u2", "Logged In")]),
            Some(5)
        );
        // exactly 14 days apart still counts; 15 does not
        assert_eq!(
            activated(&[(1, "u1", "Report Created"), (15, "u2", "Logged In")]),
            Some(15)
        );
        assert_eq!(
            activated(&[(1, "u1", "Report Created"), (16, "u2", "Logged In")]),
            None
        );
        // two users but no activation event
        assert_eq!(
            activated(&[(1, "u1", "Logged In"), (2, "u2", "Logged In")]),
            None
        );
        // reserved events are not usage
        assert_eq!(
            activated(&[(1, "u1", "Report Created"), (2, "u2", "Ticket Created")]),
            None
        );
        // order of arrival does not matter
        assert_eq!(
            activated(&[(5, "u2", "Logged In"), (1, "u1", "Report Created")]),
            Some(5)
        );
    }

    #[test]
    fn firsts_keep_the_earliest() {
        let u = usage(&[(9, "u1", "Demo Requested"), (3, "u2", "Demo Requested")]);
        let a = AccountId::parse("a").unwrap();
        assert_eq!(
            u.first(&a, "Demo Requested"),
            Some(Timestamp::from_millis(3 * DAY))
        );
    }
}
