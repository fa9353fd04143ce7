//! The milestones each account reached, as a rule sends them: one [`Occurrence`] per time the
//! milestone happened, named so that reading the history again names it the same, and valued
//! as the reports value the account.

use serde::Serialize;
use sha2::{Digest, Sha256};
use tenure_core::{AccountId, Timestamp};
use tenure_reports::{AccountRevenue, MovementKind};

use crate::rule::{Milestone, Rule, ValueKind};

const DAY_MS: i64 = Timestamp::MS_PER_DAY;

/// One account's history as the conversions read it. The runtime fills it from the live
/// models; every figure is one a report shows.
#[derive(Debug, Clone)]
pub struct History<'a> {
    pub revenue: &'a AccountRevenue,
    /// Minor units per major unit of the reporting currency (100 for USD).
    pub minor_per_major: f64,
    pub activated_at: Option<Timestamp>,
    /// Won renewal deals: `(deal id, closed at)`.
    pub renewals: Vec<(String, Timestamp)>,
    /// Entries into stages: `(stage, at)`, as the lifecycle dates its transitions.
    pub stage_entries: Vec<(String, Timestamp)>,
    /// The account's playbook firings: `(playbook, firing key, fired at)`.
    pub firings: Vec<(String, String, Timestamp)>,
    /// The account's predicted lifetime value now, in major units, as `attribution --metric
    /// predicted_ltv` credits it.
    pub predicted_ltv: Option<f64>,
}

/// One time an account reached a rule's milestone.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Occurrence {
    pub rule: String,
    pub account: AccountId,
    /// Names it among the rule's occurrences for the account, from the facts alone: `first`,
    /// `renewal:<deal>`, `expansion@<ms>`, `stage@<ms>`, `firing:<key>`.
    pub key: String,
    pub at: Timestamp,
    /// In major units of the reporting currency; none for a rule without value.
    pub value: Option<f64>,
}

/// Every occurrence of `rule`'s milestone in `history` up to `now`, oldest first.
pub fn occurrences(
    rule: &Rule,
    account: &AccountId,
    history: &History<'_>,
    now: Timestamp,
) -> Vec<Occurrence> {
    let revenue = history.revenue;
    let converted = revenue.converted_at.filter(|c| *c <= now);
    let mut found: Vec<(String, Timestamp, Option<i64>)> = Vec::new();
    match &rule.milestone {
        Milestone::FirstPayment => {
            if let Some(c) = converted {
                found.push(("first".into(), c, None));
            }
        }
        Milestone::Activated => {
            if let Some(a) = history.activated_at.filter(|a| *a <= now) {
                found.push(("first".into(), a, None));
            }
        }
        Milestone::Retained90d => {
            if let Some(c) = converted {
                let at = c.plus_millis(90 * DAY_MS);
                if at <= now && revenue.mrr_at(at) > 0 {
                    found.push(("first".into(), at, None));
                }
            }
        }
        Milestone::Renewed => {
            for (deal, at) in history.renewals.iter().filter(|(_, at)| *at <= now) {
                found.push((format!("renewal:{deal}"), *at, None));
            }
        }
        Milestone::Expanded => {
            for m in &revenue.movements {
                let after_conversion = converted.is_some_and(|c| m.at >= c);
                if m.kind == MovementKind::Expansion && after_conversion && m.at <= now {
                    found.push((format!("expansion@{}", m.at.millis()), m.at, Some(m.amount)));
                }
            }
        }
        Milestone::StageEntered { stage } => {
            for (s, at) in &history.stage_entries {
                if s == stage && *at <= now {
                    found.push((format!("stage@{}", at.millis()), *at, None));
                }
            }
        }
        Milestone::PlaybookFired { playbook } => {
            for (p, key, at) in &history.firings {
                if p == playbook && *at <= now {
                    found.push((format!("firing:{key}"), *at, None));
                }
            }
        }
    }
    found.sort_by_key(|(_, at, _)| *at);
    found
        .into_iter()
        .map(|(key, at, expansion)| Occurrence {
            rule: rule.name.clone(),
            account: account.clone(),
            value: value(rule.value, history, at, expansion),
            key,
            at,
        })
        .collect()
}

/// What the occurrence at `at` is worth; `expansion` is the MRR an `expanded` occurrence added.
fn value(
    kind: ValueKind,
    history: &History<'_>,
    at: Timestamp,
    expansion: Option<i64>,
) -> Option<f64> {
    let revenue = history.revenue;
    let major = |minor: f64| round_cents(minor / history.minor_per_major);
    match kind {
        ValueKind::None => None,
        ValueKind::Fixed(v) => Some(v),
        ValueKind::InitialArr => revenue.first_paid.map(|(_, mrr)| major(12.0 * mrr as f64)),
        ValueKind::RealizedRevenue => Some(major(revenue.realized(at))),
        ValueKind::ExpansionArr => Some(major(
            12.0 * match expansion {
                Some(mrr) => mrr as f64,
                None => revenue
                    .movements
                    .iter()
                    .filter(|m| {
                        m.kind == MovementKind::Expansion
                            && revenue.converted_at.is_some_and(|c| m.at >= c)
                            && m.at <= at
                    })
                    .map(|m| m.amount as f64)
                    .sum(),
            },
        )),
        ValueKind::PredictedLtv => history.predicted_ltv.map(round_cents),
    }
}

/// Money to the cent, as every platform takes it.
fn round_cents(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

/// The first time the account stopped paying in `(after, until]`: a churn inside a
/// conversion's window.
pub fn churn_within(
    revenue: &AccountRevenue,
    after: Timestamp,
    until: Timestamp,
) -> Option<Timestamp> {
    let paying_before = revenue.mrr_at(after) > 0;
    let mut paying = paying_before;
    for &(t, mrr) in revenue
        .series
        .iter()
        .filter(|(t, _)| *t > after && *t <= until)
    {
        if paying && mrr <= 0 {
            return Some(t);
        }
        paying = mrr > 0;
    }
    None
}

/// The conversion's id on every platform (Meta's `event_id`, Google's order / transaction id,
/// LinkedIn's `eventId`): derived from (workspace, rule, account, occurrence) alone, so a
/// retry, a replay or a second server names the same conversion the same. 32 hex digits of
/// SHA-256 behind `tn-`: short enough for every platform's field, and no account id in clear.
pub fn event_id(workspace: &str, rule: &str, account: &str, occurrence: &str) -> String {
    let mut hash = Sha256::new();
    for part in [workspace, rule, account, occurrence] {
        // Length-prefixed, so ("a/b", "c") and ("a", "b/c") never hash alike.
        hash.update((part.len() as u64).to_be_bytes());
        hash.update(part.as_bytes());
    }
    let digest = hex::encode(hash.finalize());
    format!("tn-{}", &digest[..32])
}
