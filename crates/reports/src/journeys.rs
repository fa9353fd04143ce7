//! Journeys (SPEC §3, Attribution): the touches that led an account to convert, as the
//! attribution models read them.
//!
//! A converting account's journey is its touchpoints strictly before its conversion within the
//! lookback (none: one `direct` touch at conversion), with its lead and opportunity milestones.
//! Non-converting journeys (for `markov`): the touchpoints within the lookback ending at `as_of`
//! of every account that has not converted, and of every person or anonymous id linked to no
//! account.

use std::collections::{HashMap, HashSet};

use tenure_attribution::{Journey, Model, Touch};
use tenure_core::{AccountId, DealKind, Timestamp};
use tenure_engine::{Model as Derived, Touchpoint, DIRECT};

use crate::revenue::{dimension_value, Revenue, DAY_MS};
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

fn touches<'t>(
    list: impl Iterator<Item = &'t Touchpoint>,
    from: Timestamp,
    before: Timestamp,
    by: &str,
    inclusive: bool,
) -> Vec<Touch> {
    list.filter(|t| {
        t.occurred_at >= from && (t.occurred_at < before || (inclusive && t.occurred_at == before))
    })
    .map(|t| Touch {
        at: t.occurred_at.millis(),
        state: dimension_value(t, by),
        direct: t.channel == DIRECT,
    })
    .collect()
}

/// The state a journey with no touchpoint gets (SPEC: one `direct` touch at conversion).
fn direct_state(by: &str) -> &'static str {
    if by == "channel" {
        DIRECT
    } else {
        "(none)"
    }
}

/// The journey of an account that converted at `at`, with its milestones.
pub(crate) fn converting_journey(
    model: &Derived,
    settings: &ReportSettings,
    account: &AccountId,
    at: Timestamp,
    by: &str,
) -> Journey {
    let lookback = i64::from(settings.attribution.lookback_days) * DAY_MS;
    let usage = model.usage();
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
    let opportunity = [
        usage.first_of(account, &settings.attribution.opportunity_events),
        deal_created,
    ]
    .into_iter()
    .flatten()
    .min();
    Journey {
        touches: touches(list.iter(), at.plus_millis(-lookback), at, by, false),
        converted_at: Some(at.millis()),
        lead_at: usage
            .first_of(account, &settings.attribution.lead_events)
            .map(Timestamp::millis),
        opportunity_at: opportunity.map(Timestamp::millis),
    }
    .with_direct_fallback(direct_state(by))
}

/// Converting journeys (with their accounts) and non-converting ones.
pub(crate) struct Journeys {
    pub converting: Vec<(usize, Journey)>,
    pub other: Vec<Journey>,
}

pub(crate) fn journeys<'a>(
    model: &'a Derived,
    revenue: &Revenue,
    settings: &ReportSettings,
    by: &str,
) -> Journeys {
    let lookback = i64::from(settings.attribution.lookback_days) * DAY_MS;
    let all = model.account_journeys();
    let mut converting = Vec::new();
    let mut converted: HashSet<&AccountId> = HashSet::new();
    for (i, a) in revenue.accounts.iter().enumerate() {
        let Some(at) = a.converted_at else { continue };
        converted.insert(&a.account);
        converting.push((i, converting_journey(model, settings, &a.account, at, by)));
    }
    let as_of = revenue.as_of;
    let mut other = Vec::new();
    // Who a touchpoint is from, borrowed: there are millions of touchpoints.
    #[derive(PartialEq, Eq, Hash, PartialOrd, Ord)]
    enum Who<'a> {
        Person(&'a str),
        Anonymous(&'a str),
    }
    let who = |t: &'a Touchpoint| match (&t.person, &t.anonymous_id) {
        (Some(p), _) => Some(Who::Person(p.as_str())),
        (None, Some(a)) => Some(Who::Anonymous(a.as_str())),
        (None, None) => None,
    };
    let mut linked: HashSet<Who> = HashSet::new();
    for (account, list) in all {
        linked.extend(list.iter().filter_map(who));
        if converted.contains(account) {
            continue;
        }
        let journey = Journey {
            touches: touches(list.iter(), as_of.plus_millis(-lookback), as_of, by, true),
            ..Journey::default()
        };
        if !journey.touches.is_empty() {
            other.push(journey);
        }
    }
    // Grouped in a hash map (a tree of a million string keys was most of this report's time),
    // then visited in key order so that credits are summed in the same order every time.
    let mut unlinked: HashMap<Who, Vec<&Touchpoint>> = HashMap::new();
    for t in model.touchpoints() {
        let Some(key) = who(t) else { continue };
        if t.account.is_none() && !linked.contains(&key) {
            unlinked.entry(key).or_default().push(t);
        }
    }
    let mut unlinked: Vec<(Who, Vec<&Touchpoint>)> = unlinked.into_iter().collect();
    unlinked.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    for (_, list) in &unlinked {
        let journey = Journey {
            touches: touches(
                list.iter().copied(),
                as_of.plus_millis(-lookback),
                as_of,
                by,
                true,
            ),
            ..Journey::default()
        };
        if !journey.touches.is_empty() {
            other.push(journey);
        }
    }
    Journeys { converting, other }
}
