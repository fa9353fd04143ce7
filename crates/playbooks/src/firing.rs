//! Whether a playbook fires for an account, and the key that makes each firing happen once.
//!
//! # The firing key
//!
//! A firing is keyed by `(playbook, version, account, period)`, and the store holds the keys
//! under a unique constraint: two servers, a restart or a replay that decide the same firing
//! compute the same key, and only the first insert wins. So `period` must be computed from
//! facts both deciders share, never from when each happened to look:
//!
//! - `once_per = "ever"`: one constant period, `ever`.
//! - `once_per = "contract"`: the contract, named by its end date (`contract:<end>`); a renewal
//!   moves the end date and opens the next period. An account without a contract end does not
//!   fire.
//! - `once_per = "30d"` and `max = N, period = "30d"` mean "in any 30 days", not "in each
//!   30-day bucket of the calendar": buckets would let two firings a minute apart straddle a
//!   bucket's edge. A sliding window cannot be a column value, so the period names the
//!   firing's *predecessor*: `first` for the first firing of the playbook for the account,
//!   `after:<instant of the latest earlier firing>` for later ones. The caller gives the
//!   earlier firings' instants (from the store); whether the window allows one more is decided
//!   from them, and two deciders that read the same history compute the same key, so only one
//!   of them inserts: a chain in which each firing can have one successor.
//! - `every_match = true`: the identity of what matched (`match:<identity>`), built from its
//!   own facts: a signal and its start, a stage change and its time, an event's message id, a
//!   state and since when it held, a calendar date and when it fell due. Replaying the same
//!   change gives the same key.
//!
//! The version is in the key, so an edited playbook starts afresh; the runtime treats a new
//! version like a switch-on (`on_enable`), so an edit does not flood either.

use serde::Serialize;
use tenure_core::{AccountId, Timestamp};

use crate::config::{Limit, Playbook};
use crate::filter::Check;
use crate::schedule::schedule;
use crate::status::{AccountDate, Change, Status};

/// Every condition of a playbook checked against one account, in order: the trigger's (for a
/// state or calendar trigger), then churn, then each `for_whom` filter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Match {
    pub checks: Vec<Check>,
}

impl Match {
    /// Whether every condition held.
    pub fn held(&self) -> bool {
        self.checks.iter().all(|c| c.held)
    }
}

/// Whether `status` meets `playbook`'s conditions, each explained. A change trigger is not
/// among them: no status says whether a change happened; [`fires`] checks it.
pub fn matches(playbook: &Playbook, status: &Status) -> Match {
    let mut checks = Vec::new();
    if let Some((check, _)) = playbook.trigger.holding(status) {
        checks.push(check);
    }
    if !playbook.for_whom.include_churned {
        checks.push(Check {
            condition: "not churned".into(),
            held: !status.churned,
            found: if status.churned {
                "churned"
            } else {
                "not churned"
            }
            .into(),
        });
    }
    checks.extend(playbook.for_whom.checks(status));
    Match { checks }
}

/// What a playbook is evaluated on: a change of the account (the live path), or the account's
/// status at a tick of the scheduler (state and calendar triggers).
#[derive(Debug, Clone, Copy)]
pub enum Occasion<'a> {
    Change(&'a Change),
    Tick,
}

/// The part of a firing key that the limit decides; see the module note.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Period {
    Ever,
    Contract(Timestamp),
    First,
    After(Timestamp),
    Match(String),
}

impl std::fmt::Display for Period {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Period::Ever => f.write_str("ever"),
            Period::Contract(end) => write!(f, "contract:{end}"),
            Period::First => f.write_str("first"),
            Period::After(t) => write!(f, "after:{t}"),
            Period::Match(identity) => write!(f, "match:{identity}"),
        }
    }
}

/// What the store's unique constraint is over.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct FiringKey {
    pub playbook: String,
    pub version: String,
    pub account: AccountId,
    pub period: Period,
}

impl std::fmt::Display for FiringKey {
    /// One text for a single-column constraint: `playbook/version/account/period`. Playbook
    /// names and versions hold no `/`; an account id may, which is why it is not last but the
    /// period, whose own text starts with a fixed word, follows it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}/{}/{}/{}",
            self.playbook, self.version, self.account, self.period
        )
    }
}

/// A decision to fire: the key, what caused it, and when each action is due.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Firing {
    pub key: FiringKey,
    /// When it was decided.
    pub at: Timestamp,
    /// The identity of what matched (see [`Change::identity`]).
    pub cause: String,
    /// The due instant of each action, in the playbook's order ([`schedule`]).
    pub due: Vec<Timestamp>,
}

/// Whether `playbook` fires for the account of `status` on `occasion` at `now`, given the
/// instants of the playbook's earlier firings for this account (`earlier`, any version, from
/// the store). `None` when the playbook is off, the trigger does not fire, a condition fails,
/// or the limit's window is still closed. The caller still inserts the key under the unique
/// constraint and checks the per-account cap
/// ([`PlaybookSettings::allows`](crate::PlaybookSettings::allows)).
pub fn fires(
    playbook: &Playbook,
    status: &Status,
    occasion: Occasion<'_>,
    earlier: &[Timestamp],
    now: Timestamp,
) -> Option<Firing> {
    if !playbook.enabled {
        return None;
    }
    let cause = match (&occasion, playbook.trigger.holding(status)) {
        (Occasion::Change(change), None) => playbook
            .trigger
            .fires_on(change)
            .then(|| change.identity())?,
        (_, Some((_, held))) => format!("{}@{}", trigger_word(playbook), held?),
        (Occasion::Tick, None) => return None,
    };
    if !matches(playbook, status).held() {
        return None;
    }
    let latest = earlier.iter().filter(|t| **t <= now).max().copied();
    let chained = |latest: Option<Timestamp>| latest.map_or(Period::First, Period::After);
    let period = match playbook.limit {
        Limit::Ever => Period::Ever,
        Limit::Contract => Period::Contract(*status.dates.get(&AccountDate::ContractEnd)?),
        Limit::EveryMatch => Period::Match(cause.clone()),
        Limit::OncePer(window) => {
            if latest.is_some_and(|l| now < l.plus_millis(window.millis())) {
                return None;
            }
            chained(latest)
        }
        Limit::Max { count, per } => {
            let since = now.plus_millis(-per.millis());
            let within = earlier.iter().filter(|t| since < **t && **t <= now).count();
            if within >= count as usize {
                return None;
            }
            chained(latest)
        }
    };
    Some(Firing {
        key: FiringKey {
            playbook: playbook.name.clone(),
            version: playbook.version().to_owned(),
            account: status.account.clone(),
            period,
        },
        at: now,
        cause,
        due: schedule(playbook, now),
    })
}

fn trigger_word(playbook: &Playbook) -> &'static str {
    match playbook.trigger {
        crate::Trigger::Calendar(_) => "calendar",
        _ => "state",
    }
}
