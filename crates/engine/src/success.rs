//! Customer-success facts per account, from the reserved `track` events of SPEC §2.1: support
//! tickets, NPS and CSAT answers, account-team touches and advocacy.
//!
//! A fact belongs to the account its message names; one that names none belongs to every
//! account its sender is linked to, whenever they were linked (SPEC §2.1), as product usage and
//! touchpoints do. Facts that named an account with a user id are kept in [`SuccessStore`]
//! under it; the others wait with their sender's identity ([`HeldSuccess`], kept by the model)
//! and are merged into each of its accounts' facts when a report reads them ([`Success`]).
//!
//! Facts are kept in sets keyed by (time, message id), and a ticket's fields by rules that
//! do not depend on which event came first, so that the result does not depend on the order
//! entries arrive in or on how the facts were split between stores (replay equals live).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tenure_core::{AccountId, CompactString, Timestamp};

use crate::sorted::Sorted;

/// A support ticket: opened by its first `Ticket Created`, solved by its last `Ticket Solved`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Ticket {
    pub id: String,
    pub opened_at: Option<Timestamp>,
    pub solved_at: Option<Timestamp>,
    /// From the earliest `Ticket Created` that states one.
    pub priority: Option<String>,
    /// 1–5, from the latest event (`Ticket Solved` or `Ticket Created`) that states one.
    pub csat: Option<u8>,
    priority_at: Option<Timestamp>,
    csat_at: Option<Timestamp>,
}

impl Ticket {
    /// Open at `t`: opened at or before it and not solved by then.
    pub fn open_at(&self, t: Timestamp) -> bool {
        self.opened_at.is_some_and(|o| o <= t) && self.solved_at.is_none_or(|s| s > t)
    }

    fn opened(&mut self, at: Timestamp) {
        if self.opened_at.is_none_or(|o| at < o) {
            self.opened_at = Some(at);
        }
    }

    fn solved(&mut self, at: Timestamp) {
        if self.solved_at.is_none_or(|s| at > s) {
            self.solved_at = Some(at);
        }
    }

    /// Keeps the earliest stated priority (at one instant, the greatest text, so that the
    /// order events arrive in cannot choose).
    fn prioritised(&mut self, at: Timestamp, priority: String) {
        let earlier = self.priority_at.is_none_or(|p| at < p)
            || (self.priority_at == Some(at) && self.priority.as_ref() < Some(&priority));
        if earlier {
            self.priority = Some(priority);
            self.priority_at = Some(at);
        }
    }

    /// Keeps the latest stated rating (at one instant, the higher).
    fn rated(&mut self, at: Timestamp, csat: u8) {
        let later = self.csat_at.is_none_or(|c| at > c)
            || (self.csat_at == Some(at) && self.csat < Some(csat));
        if later {
            self.csat = Some(csat);
            self.csat_at = Some(at);
        }
    }

    fn absorb(&mut self, other: &Ticket) {
        if let Some(at) = other.opened_at {
            self.opened(at);
        }
        if let Some(at) = other.solved_at {
            self.solved(at);
        }
        if let (Some(at), Some(priority)) = (other.priority_at, &other.priority) {
            self.prioritised(at, priority.clone());
        }
        if let (Some(at), Some(csat)) = (other.csat_at, other.csat) {
            self.rated(at, csat);
        }
    }
}

/// One survey answer.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Answer {
    pub at: Timestamp,
    /// The user who answered ("" when the message had no user id).
    pub person: CompactString,
    pub score: u8,
}

/// Which survey an answer belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SurveyKind {
    /// 0–10.
    Nps,
    /// 1–5.
    Csat,
}

/// An account-team touch (`CSM Touch`) or an advocacy event, by time and name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Moment {
    pub at: Timestamp,
    /// The `kind` of a CSM touch, or the event name of an advocacy event.
    pub what: CompactString,
}

/// The success facts of one account. Facts are keyed by the id of the message that gave them
/// (kept in place: see [`CompactString`]), so the same fact applied twice is kept once.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountSuccess {
    tickets: Sorted<String, Ticket>,
    nps: Sorted<(Answer, CompactString), ()>,
    csat: Sorted<(Answer, CompactString), ()>,
    csm_touches: Sorted<(Moment, CompactString), ()>,
    advocacy: Sorted<(Moment, CompactString), ()>,
}

impl AccountSuccess {
    pub fn tickets(&self) -> impl Iterator<Item = &Ticket> {
        self.tickets.values()
    }

    /// Answers in time order.
    pub fn answers(&self, kind: SurveyKind) -> impl Iterator<Item = &Answer> {
        match kind {
            SurveyKind::Nps => &self.nps,
            SurveyKind::Csat => &self.csat,
        }
        .keys()
        .map(|(a, _)| a)
    }

    /// Each person's latest answer at or before `at` (SPEC §3, NPS), by person.
    pub fn latest_answers(&self, kind: SurveyKind, at: Timestamp) -> BTreeMap<&str, &Answer> {
        let mut latest = BTreeMap::new();
        for a in self.answers(kind).take_while(|a| a.at <= at) {
            latest.insert(a.person.as_str(), a);
        }
        latest
    }

    pub fn csm_touches(&self) -> impl Iterator<Item = &Moment> {
        self.csm_touches.keys().map(|(m, _)| m)
    }

    pub fn advocacy(&self) -> impl Iterator<Item = &Moment> {
        self.advocacy.keys().map(|(m, _)| m)
    }
}

fn text(properties: &Map<String, Value>, key: &str) -> Option<String> {
    match properties.get(key)? {
        Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A whole-number score within `range`; anything else (missing, fractional, out of range) is no
/// answer rather than a wrong one.
fn score(properties: &Map<String, Value>, key: &str, range: (u8, u8)) -> Option<u8> {
    let v = properties.get(key)?;
    let n = v
        .as_u64()
        .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))?;
    u8::try_from(n)
        .ok()
        .filter(|n| (range.0..=range.1).contains(n))
}

const TICKET_CREATED: &str = "Ticket Created";
const TICKET_SOLVED: &str = "Ticket Solved";
const NPS_SUBMITTED: &str = "NPS Submitted";
const CSAT_SUBMITTED: &str = "CSAT Submitted";
const CSM_TOUCH: &str = "CSM Touch";
const REFERRAL_MADE: &str = "Referral Made";
const REVIEW_PUBLISHED: &str = "Review Published";
const CASE_STUDY_PUBLISHED: &str = "Case Study Published";

/// The reserved events this module keeps, each handled by [`AccountSuccess::track`].
const SUCCESS_EVENTS: &[&str] = &[
    TICKET_CREATED,
    TICKET_SOLVED,
    NPS_SUBMITTED,
    CSAT_SUBMITTED,
    CSM_TOUCH,
    REFERRAL_MADE,
    REVIEW_PUBLISHED,
    CASE_STUDY_PUBLISHED,
];

/// Whether `event` is one of the reserved events this module keeps.
pub(crate) fn is_success_event(event: &str) -> bool {
    SUCCESS_EVENTS.contains(&event)
}

impl AccountSuccess {
    /// Applies one `track`; events other than tickets, surveys, CSM touches and advocacy are
    /// ignored. `key` identifies the message (its id), so the same fact applied twice is kept
    /// once.
    pub(crate) fn track(
        &mut self,
        user: Option<&str>,
        event: &str,
        properties: &Map<String, Value>,
        at: Timestamp,
        key: &str,
    ) {
        match event {
            TICKET_CREATED | TICKET_SOLVED => {
                // A ticket without an id is still a ticket: the message is its id.
                let id = text(properties, "ticket_id").unwrap_or_else(|| key.to_owned());
                let t = self.tickets.get_or_insert_with(id.clone(), || Ticket {
                    id,
                    ..Ticket::default()
                });
                if event == TICKET_CREATED {
                    t.opened(at);
                    if let Some(priority) = text(properties, "priority") {
                        t.prioritised(at, priority);
                    }
                } else {
                    t.solved(at);
                }
                if let Some(csat) = score(properties, "csat", (1, 5)) {
                    t.rated(at, csat);
                }
            }
            NPS_SUBMITTED | CSAT_SUBMITTED => {
                let person = CompactString::new(user.unwrap_or_default());
                let (set, range) = if event == NPS_SUBMITTED {
                    (&mut self.nps, (0, 10))
                } else {
                    (&mut self.csat, (1, 5))
                };
                if let Some(score) = score(properties, "score", range) {
                    set.insert(
                        (Answer { at, person, score }, CompactString::new(key)),
                        || (),
                    );
                }
            }
            CSM_TOUCH => {
                let what =
                    text(properties, "kind").map_or_else(|| "touch".into(), CompactString::from);
                self.csm_touches
                    .insert((Moment { at, what }, CompactString::new(key)), || ());
            }
            REFERRAL_MADE | REVIEW_PUBLISHED | CASE_STUDY_PUBLISHED => {
                let what = CompactString::new(event);
                self.advocacy
                    .insert((Moment { at, what }, CompactString::new(key)), || ());
            }
            _ => {}
        }
    }

    /// Adds `other`'s facts; an answer given with no user id becomes `person`'s, the person
    /// its sender turned out to be (SPEC §2.1).
    pub(crate) fn absorb(&mut self, other: &AccountSuccess, person: Option<&str>) {
        for (id, ticket) in other.tickets.iter() {
            self.tickets
                .get_or_insert_with(id.clone(), || Ticket {
                    id: id.clone(),
                    ..Ticket::default()
                })
                .absorb(ticket);
        }
        for (mine, theirs) in [(&mut self.nps, &other.nps), (&mut self.csat, &other.csat)] {
            mine.extend(theirs.keys().map(|(answer, key)| {
                let mut answer = answer.clone();
                if answer.person.is_empty() {
                    answer.person = CompactString::new(person.unwrap_or_default());
                }
                ((answer, key.clone()), ())
            }));
        }
        self.csm_touches.extend(other.csm_touches.iter().cloned());
        self.advocacy.extend(other.advocacy.iter().cloned());
    }

    fn is_empty(&self) -> bool {
        *self == AccountSuccess::default()
    }
}

/// The success facts of messages that named an account and a user.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct SuccessStore {
    accounts: BTreeMap<AccountId, AccountSuccess>,
}

impl SuccessStore {
    pub(crate) fn facts_of(&mut self, account: &AccountId) -> &mut AccountSuccess {
        self.accounts.entry(account.clone()).or_default()
    }

    pub(crate) fn get(&self, account: &AccountId) -> Option<&AccountSuccess> {
        self.accounts.get(account)
    }
}

/// The success facts of one identity that no account's own facts hold: those naming no
/// account, which count for every account the identity is linked to, and, by the account they
/// named, those sent with no user id, which count for that account only.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct HeldSuccess {
    unnamed: AccountSuccess,
    named: BTreeMap<AccountId, AccountSuccess>,
}

impl HeldSuccess {
    pub(crate) fn facts_of(&mut self, account: Option<&AccountId>) -> &mut AccountSuccess {
        match account {
            None => &mut self.unnamed,
            Some(a) => self.named.entry(a.clone()).or_default(),
        }
    }

    pub(crate) fn absorb(&mut self, other: HeldSuccess) {
        self.unnamed.absorb(&other.unnamed, None);
        for (account, facts) in other.named {
            self.named.entry(account).or_default().absorb(&facts, None);
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.unnamed.is_empty() && self.named.values().all(AccountSuccess::is_empty)
    }

    /// The facts that count for `account`.
    pub(crate) fn of<'a>(
        &'a self,
        account: &AccountId,
    ) -> impl Iterator<Item = &'a AccountSuccess> {
        std::iter::once(&self.unnamed).chain(self.named.get(account))
    }
}

/// Success facts per account as reports read them: those that named the account, merged with
/// those of everyone linked to it that named none.
#[derive(Debug, Clone, Copy)]
pub struct Success<'a> {
    store: &'a SuccessStore,
    /// The accounts some identity's held facts count for, their own facts merged in.
    merged: &'a BTreeMap<AccountId, AccountSuccess>,
}

impl<'a> Success<'a> {
    pub(crate) fn new(
        store: &'a SuccessStore,
        merged: &'a BTreeMap<AccountId, AccountSuccess>,
    ) -> Self {
        Success { store, merged }
    }

    pub fn account(&self, account: &AccountId) -> Option<&'a AccountSuccess> {
        self.merged.get(account).or_else(|| self.store.get(account))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const DAY: i64 = Timestamp::MS_PER_DAY;

    fn props(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    fn apply(events: &[(i64, &str, &str, Value, &str)]) -> AccountSuccess {
        let mut s = AccountSuccess::default();
        for (day, user, event, p, key) in events {
            s.track(
                Some(user),
                event,
                &props(p.clone()),
                Timestamp::from_millis(day * DAY),
                key,
            );
        }
        s
    }

    #[test]
    fn tickets_open_and_solve_in_any_order() {
        let events = [
            (
                5,
                "u",
                "Ticket Solved",
                json!({"ticket_id": "t1", "csat": 4}),
                "m2",
            ),
            (
                1,
                "u",
                "Ticket Created",
                json!({"ticket_id": "t1", "priority": "high"}),
                "m1",
            ),
            (3, "u", "Ticket Created", json!({"ticket_id": "t2"}), "m3"),
        ];
        let mut reversed = events.clone();
        reversed.reverse();
        for order in [&events, &reversed] {
            let s = apply(order);
            let a = &s;
            let t: Vec<&Ticket> = a.tickets().collect();
            assert_eq!(t.len(), 2);
            assert_eq!(t[0].priority.as_deref(), Some("high"));
            assert_eq!(t[0].csat, Some(4));
            let day = |d: i64| Timestamp::from_millis(d * DAY);
            assert!(t[0].open_at(day(1)) && t[0].open_at(day(4)) && !t[0].open_at(day(5)));
            assert!(!t[1].open_at(day(2)) && t[1].open_at(day(100)));
        }
    }

    #[test]
    fn answers_keep_valid_scores_and_each_persons_latest() {
        let s = apply(&[
            (1, "p1", "NPS Submitted", json!({"score": 3}), "m1"),
            (2, "p1", "NPS Submitted", json!({"score": 10}), "m2"),
            (3, "p2", "NPS Submitted", json!({"score": "6"}), "m3"),
            (4, "p3", "NPS Submitted", json!({"score": 11}), "m4"),
            (5, "p3", "NPS Submitted", json!({"score": 7.5}), "m5"),
            (6, "p1", "CSAT Submitted", json!({"score": 5}), "m6"),
            (6, "p1", "CSAT Submitted", json!({"score": 5}), "m6"),
        ]);
        let a = &s;
        let latest = a.latest_answers(SurveyKind::Nps, Timestamp::from_millis(10 * DAY));
        let scores: Vec<(&str, u8)> = latest.iter().map(|(p, a)| (*p, a.score)).collect();
        assert_eq!(scores, [("p1", 10), ("p2", 6)]);
        let earlier = a.latest_answers(SurveyKind::Nps, Timestamp::from_millis(DAY));
        assert_eq!(earlier["p1"].score, 3);
        assert_eq!(a.answers(SurveyKind::Csat).count(), 1, "same message once");
    }

    #[test]
    fn touches_and_advocacy_are_moments() {
        let s = apply(&[
            (2, "csm", "CSM Touch", json!({"kind": "qbr"}), "m1"),
            (4, "p", "Review Published", json!({}), "m2"),
            (5, "p", "Logged In", json!({}), "m3"),
        ]);
        let a = &s;
        assert_eq!(
            a.csm_touches().map(|m| m.what.as_str()).collect::<Vec<_>>(),
            ["qbr"]
        );
        assert_eq!(
            a.advocacy().map(|m| m.what.as_str()).collect::<Vec<_>>(),
            ["Review Published"]
        );
    }

    #[test]
    fn facts_split_between_stores_merge_to_the_same_facts_in_either_order() {
        // A ticket opened at day 1 (high), given low at day 3 by a second Created, rated 2 at
        // day 4 and 5 at day 6, solved at day 6: the earliest stated priority and the latest
        // rating win however the events are split and merged.
        let events = [
            (
                1,
                "u",
                "Ticket Created",
                json!({"ticket_id": "t", "priority": "high"}),
                "m1",
            ),
            (
                3,
                "u",
                "Ticket Created",
                json!({"ticket_id": "t", "priority": "low"}),
                "m2",
            ),
            (
                4,
                "u",
                "Ticket Solved",
                json!({"ticket_id": "t", "csat": 2}),
                "m3",
            ),
            (
                6,
                "u",
                "Ticket Solved",
                json!({"ticket_id": "t", "csat": 5}),
                "m4",
            ),
            (2, "u", "NPS Submitted", json!({"score": 9}), "m5"),
        ];
        let whole = apply(&events);
        let t = whole.tickets().next().unwrap();
        assert_eq!(t.priority.as_deref(), Some("high"));
        assert_eq!(t.csat, Some(5));
        assert_eq!(t.solved_at, Some(Timestamp::from_millis(6 * DAY)));
        for split in 0..=events.len() {
            let (x, y) = (apply(&events[..split]), apply(&events[split..]));
            let (mut xy, mut yx) = (x.clone(), y.clone());
            xy.absorb(&y, None);
            yx.absorb(&x, None);
            assert_eq!(xy, whole, "split at {split}");
            assert_eq!(yx, whole, "split at {split}, merged the other way");
        }
    }

    #[test]
    fn an_answer_without_a_user_becomes_the_senders_person_when_merged() {
        let mut held = AccountSuccess::default();
        let score = props(json!({"score": 4}));
        held.track(
            None,
            "NPS Submitted",
            &score,
            Timestamp::from_millis(DAY),
            "m1",
        );
        let mut account = AccountSuccess::default();
        account.absorb(&held, Some("u1"));
        let persons: Vec<&str> = account
            .answers(SurveyKind::Nps)
            .map(|a| a.person.as_str())
            .collect();
        assert_eq!(persons, ["u1"]);
    }
}
