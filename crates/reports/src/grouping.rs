//! Which group of a report's `--by` each account is in: the first touch of its journey (or,
//! with `--model`, every touch of it by credit), an account attribute or group trait, or its
//! stage or band at the report instant. Kept apart from the revenue it groups, as it reads
//! the journeys and the accounts' state.

use tenure_attribution::{weights, StateId, States};
use tenure_core::Timestamp;
use tenure_engine::{Model, Touchpoint};

use crate::account_revenue::AccountRevenue;
use crate::calendar::DAY_MS;
use crate::journeys::{converting_journey, dimension_str, direct_state, model_of};
use crate::{ReportError, ReportParams, ReportSettings};

/// Groupings by acquisition, from the first touch of the account's journey.
pub const TOUCH_GROUPINGS: &[&str] = &["channel", "source", "medium", "campaign", "content"];

/// The first touch of the journey SPEC §3 defines: touchpoints strictly before conversion,
/// within the lookback; none means a `direct` touch.
pub fn first_touch(
    journey: Option<&[Touchpoint]>,
    converted_at: Timestamp,
    lookback_days: u32,
) -> Option<&Touchpoint> {
    let earliest = converted_at.plus_millis(-(i64::from(lookback_days) * DAY_MS));
    let journey = journey?;
    // Journeys are in time order: the first touch in the lookback is found by bisection.
    let first = journey.partition_point(|t| t.occurred_at < earliest);
    journey.get(first).filter(|t| t.occurred_at < converted_at)
}

/// The group of an account by its first touch; no touch is a `direct` one (SPEC §3).
pub(crate) fn touch_value(touch: Option<&Touchpoint>, by: &str) -> String {
    match touch {
        Some(t) => dimension_str(t, by).to_owned(),
        None => direct_state(by).to_owned(),
    }
}

/// Each account's groups with their weights.
pub(crate) type Shares = Vec<(String, f64)>;

fn whole(group: String) -> Shares {
    vec![(group, 1.0)]
}

pub(crate) fn group_accounts(
    model: &Model,
    settings: &ReportSettings,
    params: &ReportParams,
    accounts: &[AccountRevenue],
) -> Result<Vec<Shares>, ReportError> {
    let Some(by) = params.by.as_deref() else {
        if params.model.is_some() {
            return Err(model_needs_touch_grouping());
        }
        return Ok(vec![whole("all".to_owned()); accounts.len()]);
    };
    if TOUCH_GROUPINGS.contains(&by) {
        if let Some(name) = params.model.as_deref() {
            return credit_shares(model, settings, name, by, accounts);
        }
        let journeys = model.account_journeys();
        return Ok(accounts
            .iter()
            .map(|a| match a.converted_at {
                Some(converted) => whole(touch_value(
                    first_touch(
                        journeys.get(&a.account).map(Vec::as_slice),
                        converted,
                        settings.attribution.lookback_days,
                    ),
                    by,
                )),
                None => whole(NOT_CONVERTED.to_owned()),
            })
            .collect());
    }
    if params.model.is_some() {
        return Err(model_needs_touch_grouping());
    }
    if by == "stage" || by == "band" {
        // The account's stage or health band at the report instant; only a paying account
        // has a band.
        let stages = crate::lifecycle::stage_rules(settings)?;
        return Ok(accounts
            .iter()
            .map(|a| {
                // Only the stage and band are read: the signals need no dating.
                let s = crate::account_state::AccountInputs::new(model, settings, a)
                    .state_at(&stages, params.as_of);
                let value = match by {
                    "stage" => s.stage,
                    _ => s
                        .band()
                        .filter(|_| s.facts.mrr > 0)
                        .map(|b| b.name().to_owned()),
                };
                whole(value.unwrap_or_else(|| "(none)".to_owned()))
            })
            .collect());
    }
    Ok(accounts
        .iter()
        .map(|a| {
            let value = if by == "plan" {
                model
                    .ledger()
                    .account(&a.account)
                    .and_then(|l| l.plan_at(params.as_of))
                    .map(str::to_owned)
            } else {
                model
                    .profiles()
                    .get(&a.account)
                    .and_then(|p| p.get(by))
                    .map(str::to_owned)
            };
            whole(value.unwrap_or_else(|| "(none)".to_owned()))
        })
        .collect())
}

/// The group of accounts that have not converted, under touch groupings.
pub const NOT_CONVERTED: &str = "(not converted)";

fn model_needs_touch_grouping() -> ReportError {
    ReportError::Parameter {
        name: "model",
        reason: format!(
            "splits accounts over the touches of their journeys, so it needs --by {}",
            TOUCH_GROUPINGS.join(", --by ")
        ),
    }
}

/// Each converted account split over the values of `by` its journey touched, by the credit
/// `model_name` gives each touch (SPEC §3, Attribution).
fn credit_shares(
    model: &Model,
    settings: &ReportSettings,
    model_name: &str,
    by: &str,
    accounts: &[AccountRevenue],
) -> Result<Vec<Shares>, ReportError> {
    let attribution = model_of(model_name, settings)?;
    if !attribution.is_per_journey() {
        return Err(ReportError::Parameter {
            name: "model",
            reason: format!(
                "{} credits totals over all journeys, not single accounts, so it cannot split \
                 accounts into groups; use `report attribution --model {}`, or a per-journey \
                 model here",
                attribution.name(),
                attribution.name()
            ),
        });
    }
    let mut states = States::new();
    accounts
        .iter()
        .map(|a| {
            let Some(at) = a.converted_at else {
                return Ok(whole(NOT_CONVERTED.to_owned()));
            };
            let journey = converting_journey(model, settings, &a.account, at, by, &mut states);
            let weights = weights(&attribution, &journey).map_err(|e| ReportError::Parameter {
                name: "model",
                reason: e.to_string(),
            })?;
            let mut shares: Vec<(StateId, f64)> = Vec::new();
            for (touch, w) in journey.touches.iter().zip(weights) {
                if w <= 0.0 {
                    continue;
                }
                match shares.iter_mut().find(|(s, _)| *s == touch.state) {
                    Some((_, total)) => *total += w,
                    None => shares.push((touch.state, w)),
                }
            }
            Ok(shares
                .into_iter()
                .map(|(s, w)| (states.name(s).to_owned(), w))
                .collect())
        })
        .collect()
}
