//! Every account's revenue history in the reporting currency, as of the report instant: the
//! base of the `mrr`, `retention`, `cohorts`, `survival`, `ltv` and `unit-economics` reports.
//!
//! Built from the ledger per report call (it is linear in the number of changes), so that
//! `as_of` is honoured exactly: nothing effective after it is seen.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate, TimeZone, Utc};
use serde::Serialize;
use tenure_core::{AccountId, Timestamp};
use tenure_engine::{Model, Stream, TouchField, Touchpoint};

use tenure_attribution::{weights, StateId, States};

use crate::journeys::{converting_journey, direct_state, model_of};
use crate::{ReportError, ReportParams, ReportSettings};

pub const DAY_MS: i64 = 86_400_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MovementKind {
    New,
    Expansion,
    Contraction,
    Churn,
    Reactivation,
}

impl MovementKind {
    pub const ALL: [MovementKind; 5] = [
        MovementKind::New,
        MovementKind::Expansion,
        MovementKind::Contraction,
        MovementKind::Churn,
        MovementKind::Reactivation,
    ];

    pub fn name(self) -> &'static str {
        match self {
            MovementKind::New => "new",
            MovementKind::Expansion => "expansion",
            MovementKind::Contraction => "contraction",
            MovementKind::Churn => "churn",
            MovementKind::Reactivation => "reactivation",
        }
    }
}

/// A change of an account's total MRR, signed (churn and contraction negative).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Movement {
    pub at: Timestamp,
    pub kind: MovementKind,
    pub amount: i64,
}

/// One account's revenue, in minor units of the reporting currency.
#[derive(Debug, Clone, PartialEq)]
pub struct AccountRevenue {
    pub account: AccountId,
    /// `(t, mrr)`: from `t` on (until the next point) the account's MRR is `mrr`. Only points
    /// where the total changes.
    pub series: Vec<(Timestamp, i64)>,
    pub movements: Vec<Movement>,
    /// First MRR > 0, or the close of the first won new-business deal if earlier.
    pub converted_at: Option<Timestamp>,
    /// First change to MRR 0 after MRR > 0.
    pub churned_at: Option<Timestamp>,
    /// The account's first MRR > 0, and when.
    pub first_paid: Option<(Timestamp, i64)>,
}

impl AccountRevenue {
    /// One account's MRR series, movements, conversion and churn as of `as_of`, in the
    /// reporting currency; none for an account that never paid nor won a deal.
    pub fn of(
        account: &AccountId,
        ledger: &tenure_engine::AccountLedger,
        settings: &ReportSettings,
        as_of: Timestamp,
    ) -> Result<Option<AccountRevenue>, ReportError> {
        let mut streams: BTreeMap<&Stream, i64> = BTreeMap::new();
        let mut total = 0i64;
        let mut series = Vec::new();
        let mut movements = Vec::new();
        let mut ever_paid = false;
        let mut churned_at = None;
        let mut first_paid = None;
        for change in ledger.changes().take_while(|c| c.at <= as_of) {
            // An amount in a currency without a rate is left out, as if it were not in the
            // ledger: every report says so in its warnings.
            let Ok(value) = settings.convert(change.mrr) else {
                continue;
            };
            let before = total;
            total += value - streams.insert(&change.stream, value).unwrap_or(0);
            if total == before {
                continue;
            }
            let kind = match (before, total) {
                (0, _) if ever_paid => MovementKind::Reactivation,
                (0, _) => MovementKind::New,
                (_, 0) => MovementKind::Churn,
                (b, t) if t > b => MovementKind::Expansion,
                _ => MovementKind::Contraction,
            };
            if before > 0 && total == 0 && churned_at.is_none() {
                churned_at = Some(change.at);
            }
            if total > 0 && first_paid.is_none() {
                first_paid = Some((change.at, total));
            }
            ever_paid |= total > 0;
            movements.push(Movement {
                at: change.at,
                kind,
                amount: total - before,
            });
            series.push((change.at, total));
        }
        let won = ledger.first_won_new_business().filter(|t| *t <= as_of);
        let converted_at = match (first_paid.map(|(t, _)| t), won) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        if series.is_empty() && converted_at.is_none() {
            return Ok(None);
        }
        Ok(Some(AccountRevenue {
            account: account.clone(),
            series,
            movements,
            converted_at,
            churned_at,
            first_paid,
        }))
    }

    /// MRR at instant `t`: the latest point at or before it.
    pub fn mrr_at(&self, t: Timestamp) -> i64 {
        match self.series.partition_point(|(at, _)| *at <= t) {
            0 => 0,
            i => self.series[i - 1].1,
        }
    }

    /// MRR integrated over `[from, to]`, in minor-unit-days.
    pub fn mrr_days(&self, from: Timestamp, to: Timestamp) -> f64 {
        if to <= from {
            return 0.0;
        }
        let mut total = 0.0;
        let mut at = from;
        let mut mrr = self.mrr_at(from);
        for &(t, value) in self.series.iter().filter(|(t, _)| *t > from && *t < to) {
            total += mrr as f64 * (t.millis() - at.millis()) as f64;
            at = t;
            mrr = value;
        }
        total += mrr as f64 * (to.millis() - at.millis()) as f64;
        total / DAY_MS as f64
    }

    /// Realized revenue up to `to`: MRR × days × 12 / 365.25 (SPEC §3).
    pub fn realized(&self, to: Timestamp) -> f64 {
        let start = self.series.first().map_or(to, |(t, _)| *t);
        self.mrr_days(start, to) * 12.0 / 365.25
    }
}

/// All accounts' revenue and the groups they fall in.
///
/// An account belongs to one group with weight 1, except under `--model` with a touch
/// grouping: then it belongs to every group its journey touched, weighted by the model's credit
/// (its weights sum to 1), and every figure of a group is the credit-weighted sum over its
/// members.
#[derive(Debug, Clone)]
pub struct Revenue {
    pub as_of: Timestamp,
    pub currency: tenure_core::Currency,
    pub accounts: Vec<AccountRevenue>,
    pub by: Option<String>,
    /// The attribution model splitting accounts over groups, if any.
    pub model: Option<String>,
    /// Group -> (index into `accounts`, weight), so a group is found without scanning every
    /// account.
    members: BTreeMap<String, Vec<(usize, f64)>>,
}

/// Groupings by acquisition, from the first touch of the account's journey.
pub const TOUCH_GROUPINGS: &[&str] = &["channel", "source", "medium", "campaign", "content"];

impl Revenue {
    pub fn build(
        model: &Model,
        settings: &ReportSettings,
        params: &ReportParams,
    ) -> Result<Revenue, ReportError> {
        let as_of = params.as_of;
        let mut accounts = Vec::new();
        for (account, ledger) in model.ledger().accounts() {
            if let Some(a) = AccountRevenue::of(account, ledger, settings, as_of)? {
                accounts.push(a);
            }
        }
        let groups = group_accounts(model, settings, params, &accounts)?;
        let mut members: BTreeMap<String, Vec<(usize, f64)>> = BTreeMap::new();
        for (i, shares) in groups.into_iter().enumerate() {
            for (group, weight) in shares {
                members.entry(group).or_default().push((i, weight));
            }
        }
        Ok(Revenue {
            as_of,
            currency: settings.currency,
            accounts,
            by: params.by.clone(),
            model: params.model.clone(),
            members,
        })
    }

    /// Every account's revenue, in one group: for the reports that credit or score accounts
    /// one by one rather than group them (`attribution`, `journey`, the account reports).
    pub fn ungrouped(
        model: &Model,
        settings: &ReportSettings,
        params: &ReportParams,
    ) -> Result<Revenue, ReportError> {
        Revenue::build(
            model,
            settings,
            &ReportParams {
                by: None,
                model: None,
                ..params.clone()
            },
        )
    }

    /// The distinct groups, in order.
    pub fn group_names(&self) -> Vec<String> {
        self.members.keys().cloned().collect()
    }

    /// The accounts of group `name`, each with its weight in the group.
    pub fn in_group<'a>(
        &'a self,
        name: &str,
    ) -> impl Iterator<Item = (&'a AccountRevenue, f64)> + 'a {
        self.members
            .get(name)
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .map(|&(i, w)| (&self.accounts[i], w))
    }

    /// Every account, each with weight 1.
    pub fn all(&self) -> impl Iterator<Item = (&AccountRevenue, f64)> + '_ {
        self.accounts.iter().map(|a| (a, 1.0))
    }
}

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

/// A touchpoint's value of a touch grouping (`channel`, `source`, `medium`, `campaign`,
/// `content`); "(none)" where the touch has none.
pub fn dimension_str<'t>(t: &'t Touchpoint, by: &str) -> &'t str {
    TouchField::parse(by)
        .unwrap_or(TouchField::Content)
        .value(t)
}

/// The group of an account by its first touch; no touch is a `direct` one (SPEC §3).
fn touch_value(touch: Option<&Touchpoint>, by: &str) -> String {
    match touch {
        Some(t) => dimension_str(t, by).to_owned(),
        None => direct_state(by).to_owned(),
    }
}

/// Each account's groups with their weights.
type Shares = Vec<(String, f64)>;

fn whole(group: String) -> Shares {
    vec![(group, 1.0)]
}

fn group_accounts(
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
                let s = crate::accounts::AccountInputs::new(model, settings, a)
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

/// The first instant of the calendar month (UTC) containing `t`.
pub fn month_start(t: Timestamp) -> Timestamp {
    let d = t.to_datetime().date_naive();
    month_of(d.year(), d.month())
}

/// The first instant of month `month` (1–12) of `year`; months past 12 roll into later years.
pub fn month_of(year: i32, month: u32) -> Timestamp {
    let (y, m) = (year + ((month - 1) / 12) as i32, (month - 1) % 12 + 1);
    let date = NaiveDate::from_ymd_opt(y, m, 1).expect("the first of a month exists");
    Timestamp::from_datetime(Utc.from_utc_datetime(&date.and_hms_opt(0, 0, 0).expect("midnight")))
}

/// The month after the one starting at `start`.
pub fn next_month(start: Timestamp) -> Timestamp {
    let d = start.to_datetime().date_naive();
    month_of(d.year(), d.month() + 1)
}

/// `YYYY-MM` of the month containing `t`.
pub fn month_label(t: Timestamp) -> String {
    t.to_string()[..7].to_owned()
}

/// The month before the one starting at `start`.
pub fn prev_month(start: Timestamp) -> Timestamp {
    let d = start.to_datetime().date_naive();
    if d.month() == 1 {
        month_of(d.year() - 1, 12)
    } else {
        month_of(d.year(), d.month() - 1)
    }
}
