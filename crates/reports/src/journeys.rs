//! Journeys (SPEC §3, Attribution): the touches that led an account to convert, as the
//! attribution models read them.
//!
//! A converting account's journey is its touchpoints strictly before its conversion within the
//! lookback (none: one `direct` touch at conversion), with its lead and opportunity milestones.
//! Non-converting journeys (for `markov`): the touchpoints within the lookback ending at `as_of`
//! of every account that has not converted, and of every person, anonymous id or prospect (an
//! offline row's e-mail that matches no one) linked to no account.

use std::collections::HashSet;

use tenure_attribution::{Journey, Model, States, Touch};
use tenure_core::{AccountId, DealKind, Timestamp};
use tenure_engine::{Model as Derived, TouchField, Touchpoint, DIRECT};

use crate::account_revenue::AccountRevenue;
use crate::calendar::DAY_MS;
use crate::{ReportError, ReportSettings};

/// The attribution model called `name`, with the configured half-life and Markov order.
pub(crate) fn model_of(name: &str, settings: &ReportSettings) -> Result<Model, ReportError> {
    let half_life_ms = (settings.attribution.half_life_days * DAY_MS as f64).round() as i64;
    Model::parse(name, half_life_ms, settings.attribution.markov_order).map_err(|e| {
        ReportError::Parameter {
            name: "model",
            reason: e.to_string(),
        }
    })
}

/// The touchpoints of `list` in `[from, before)` (or `[from, before]` when `inclusive`), each
/// as a touch of its value of `by`.
fn touches<'t>(
    list: impl Iterator<Item = &'t Touchpoint>,
    from: Timestamp,
    before: Timestamp,
    by: &str,
    inclusive: bool,
    states: &mut States,
) -> Vec<Touch> {
    list.filter(|t| {
        t.occurred_at >= from && (t.occurred_at < before || (inclusive && t.occurred_at == before))
    })
    .map(|t| Touch {
        at: t.occurred_at.millis(),
        state: states.intern(dimension_str(t, by)),
        direct: t.channel() == DIRECT,
    })
    .collect()
}

/// The state a journey with no touchpoint gets (SPEC: one `direct` touch at conversion), and
/// so the first-touch group of an account without touchpoints.
pub(crate) fn direct_state(by: &str) -> &'static str {
    if by == "channel" {
        DIRECT
    } else {
        "(none)"
    }
}

/// The journey of an account that converted at `at`, with its milestones; its states are
/// numbered in `states`.
pub(crate) fn converting_journey(
    model: &Derived,
    settings: &ReportSettings,
    account: &AccountId,
    at: Timestamp,
    by: &str,
    states: &mut States,
) -> Journey {
    let lookback = i64::from(settings.attribution.lookback_days) * DAY_MS;
    let list = model
        .account_journeys()
        .get(account)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let deal_created = model.ledger().account(account).and_then(|l| {
        l.deals()
            .filter(|d| d.kind == DealKind::NewBusiness)
            .map(|d| d.created_at)
            .min()
    });
    // Milestones are the first of any of the account's people, whether or not the message named
    // the account (many are sent before the person is grouped with it).
    let opportunity = [
        model.first_event(account, &settings.attribution.opportunity_events),
        deal_created,
    ]
    .into_iter()
    .flatten()
    .min();
    // Journeys are in time order: the lookback's first touch is found by bisection.
    let from = at.plus_millis(-lookback);
    let first = list.partition_point(|t| t.occurred_at < from);
    let journey = Journey {
        touches: touches(list[first..].iter(), from, at, by, false, states),
        converted_at: Some(at.millis()),
        lead_at: model
            .first_event(account, &settings.attribution.lead_events)
            .map(Timestamp::millis),
        opportunity_at: opportunity.map(Timestamp::millis),
    };
    if journey.touches.is_empty() {
        journey.with_direct_fallback(states.intern(direct_state(by)))
    } else {
        journey
    }
}

/// A touchpoint's value of a touch grouping (`channel`, `source`, `medium`, `campaign`,
/// `content`); "(none)" where the touch has none.
pub fn dimension_str<'t>(t: &'t Touchpoint, by: &str) -> &'t str {
    TouchField::parse(by)
        .unwrap_or(TouchField::Content)
        .value(t)
}

/// Converting journeys (with their accounts' indices in the revenue) and non-converting ones,
/// and the names of the states on them.
pub(crate) struct Journeys {
    pub converting: Vec<(usize, Journey)>,
    pub other: Vec<Journey>,
    pub states: States,
}

/// The journeys of the accounts whose conversion `credited` accepts (a report window's), and
/// the non-converting ones. An account converted outside the window is in neither: it did
/// convert, only not when the report asks about.
pub(crate) fn journeys(
    model: &Derived,
    accounts: &[AccountRevenue],
    as_of: Timestamp,
    settings: &ReportSettings,
    by: &str,
    credited: impl Fn(Timestamp) -> bool,
) -> Journeys {
    let lookback = i64::from(settings.attribution.lookback_days) * DAY_MS;
    let mut states = States::new();
    let mut converting = Vec::new();
    let mut converted: HashSet<&AccountId> = HashSet::new();
    for (i, a) in accounts.iter().enumerate() {
        let Some(at) = a.converted_at else { continue };
        converted.insert(&a.account);
        if !credited(at) {
            continue;
        }
        let journey = converting_journey(model, settings, &a.account, at, by, &mut states);
        converting.push((i, journey));
    }
    let from = as_of.plus_millis(-lookback);
    let mut other = Vec::new();
    for (account, list) in model.account_journeys() {
        if converted.contains(account) {
            continue;
        }
        let touches = touches(list.iter(), from, as_of, by, true, &mut states);
        if !touches.is_empty() {
            other.push(Journey {
                touches,
                ..Journey::default()
            });
        }
    }
    for visitor in model.visitor_journeys() {
        let touches = touches(visitor, from, as_of, by, true, &mut states);
        if !touches.is_empty() {
            other.push(Journey {
                touches,
                ..Journey::default()
            });
        }
    }
    Journeys {
        converting,
        other,
        states,
    }
}
