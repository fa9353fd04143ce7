//! Customer-success facts per account, from the reserved `track` events of SPEC §2.1: support
//! tickets, NPS and CSAT answers, account-team touches and advocacy.
//!
//! Facts are kept in sets keyed by (time, message id), so that the result does not depend on the
//! order entries arrive in (replay equals live).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};
use tenure_core::{AccountId, Timestamp};

/// A support ticket: opened by its first `Ticket Created`, solved by its last `Ticket Solved`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Ticket {
    pub id: String,
    pub opened_at: Option<Timestamp>,
    pub solved_at: Option<Timestamp>,
    pub priority: Option<String>,
    /// 1–5, from the `Ticket Solved` (or `Ticket Created`) event.
    pub csat: Option<u8>,
}

impl Ticket {
    /// Open at `t`: opened at or before it and not solved by then.
    pub fn open_at(&self, t: Timestamp) -> bool {
        self.opened_at.is_some_and(|o| o <= t) && self.solved_at.is_none_or(|s| s > t)
    }
}

/// One survey answer.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Answer {
    pub at: Timestamp,
    /// The user who answered ("" when the message had no user id).
    pub person: String,
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
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Moment {
    pub at: Timestamp,
    /// The `kind` of a CSM touch, or the event name of an advocacy event.
    pub what: String,
}

/// The success facts of one account.
#[derive(Debug, Clone, Default)]
pub struct AccountSuccess {
    tickets: BTreeMap<String, Ticket>,
    nps: BTreeSet<(Answer, String)>,
    csat: BTreeSet<(Answer, String)>,
    csm_touches: BTreeSet<(Moment, String)>,
    advocacy: BTreeSet<(Moment, String)>,
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
        .iter()
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
        self.csm_touches.iter().map(|(m, _)| m)
    }

    pub fn advocacy(&self) -> impl Iterator<Item = &Moment> {
        self.advocacy.iter().map(|(m, _)| m)
    }
}

/// Success facts of every account of a workspace.
#[derive(Debug, Clone, Default)]
pub struct Success {
    accounts: BTreeMap<AccountId, AccountSuccess>,
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

impl Success {
    /// Applies one `track` of an account; events other than tickets, surveys, CSM touches and
    /// advocacy are ignored.
    /// `key` identifies the message (its id), so the same fact applied twice is kept once.
    pub(crate) fn track(
        &mut self,
        account: &AccountId,
        user: Option<&str>,
        event: &str,
        properties: &Map<String, Value>,
        at: Timestamp,
        key: &str,
    ) {
        match event {
            "Ticket Created" | "Ticket Solved" => {
                let a = self.facts_of(account);
                // A ticket without an id is still a ticket: the message is its id.
                let id = text(properties, "ticket_id").unwrap_or_else(|| key.to_owned());
                let t = a.tickets.entry(id.clone()).or_insert_with(|| Ticket {
                    id,
                    ..Ticket::default()
                });
                if event == "Ticket Created" {
                    if t.opened_at.is_none_or(|o| at < o) {
                        t.opened_at = Some(at);
                        t.priority = text(properties, "priority").or(t.priority.take());
                    }
                } else if t.solved_at.is_none_or(|s| at > s) {
                    t.solved_at = Some(at);
                }
                if let Some(csat) = score(properties, "csat", (1, 5)) {
                    t.csat = Some(csat);
                }
            }
            "NPS Submitted" | "CSAT Submitted" => {
                let a = self.facts_of(account);
                let person = user.unwrap_or_default().to_owned();
                let (set, range) = if event == "NPS Submitted" {
                    (&mut a.nps, (0, 10))
                } else {
                    (&mut a.csat, (1, 5))
                };
                if let Some(score) = score(properties, "score", range) {
                    set.insert((Answer { at, person, score }, key.to_owned()));
                }
            }
            "CSM Touch" => {
                let what = text(properties, "kind").unwrap_or_else(|| "touch".to_owned());
                self.facts_of(account)
                    .csm_touches
                    .insert((Moment { at, what }, key.to_owned()));
            }
            "Referral Made" | "Review Published" | "Case Study Published" => {
                let what = event.to_owned();
                self.facts_of(account)
                    .advocacy
                    .insert((Moment { at, what }, key.to_owned()));
            }
            _ => {}
        }
    }

    /// The account's facts, made on first use: only for the events this module keeps.
    fn facts_of(&mut self, account: &AccountId) -> &mut AccountSuccess {
        self.accounts.entry(account.clone()).or_default()
    }

    pub fn account(&self, account: &AccountId) -> Option<&AccountSuccess> {
        self.accounts.get(account)
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

    fn apply(events: &[(i64, &str, &str, Value, &str)]) -> Success {
        let mut s = Success::default();
        let a = AccountId::parse("a").unwrap();
        for (day, user, event, p, key) in events {
            s.track(
                &a,
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
            let a = s.account(&AccountId::parse("a").unwrap()).unwrap();
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
        let a = s.account(&AccountId::parse("a").unwrap()).unwrap();
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
        let a = s.account(&AccountId::parse("a").unwrap()).unwrap();
        assert_eq!(
            a.csm_touches().map(|m| m.what.as_str()).collect::<Vec<_>>(),
            ["qbr"]
        );
        assert_eq!(
            a.advocacy().map(|m| m.what.as_str()).collect::<Vec<_>>(),
            ["Review Published"]
        );
    }
}
