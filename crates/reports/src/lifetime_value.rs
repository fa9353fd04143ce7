//! Each account's predicted lifetime value: the revenue it has brought since conversion plus
//! the revenue it is expected to bring until the LTV horizon (counted from its conversion), from
//! a model of that account, at the gross margin and discounted as `[revenue]` says, with a 90%
//! interval. `attribution --metric predicted_ltv`, `unit-economics`, `predicted-ltv` and the
//! conversions sent with `predicted_ltv` all read it, and `ltv-backtest` checks it.
//!
//! The model of an account, month by month from the instant of the prediction:
//! - it churns with the churn model's probability for its own features (monthly payers: the
//!   90-day probability spread over 3 months; accounts under a contract: the probability of
//!   leaving at renewal, at each contract end, a year apart), scaled by how its acquisition
//!   campaign's customers churned against the model's predictions;
//! - a churned account comes back with the company's monthly reactivation rate, at the MRR it
//!   left with, and once back churns at the company's monthly rate (scaled by its campaign's
//!   hazard ratio): its lapsed facts say why it left, not how it will do once back;
//! - its MRR grows (or shrinks) linearly at its own net expansion rate, shrunk towards its
//!   acquisition campaign's by [`GROWTH_PRIOR_MONTHS`] months of the campaign's weight (the
//!   campaign's rate itself shrunk towards the company's by [`GROUP_PRIOR_MONTHS`]).
//!
//! Without a churn model (too little history or churn to train it) every account churns at
//! the company's monthly rate. The interval is that of the month of churn (reactivation left
//! out, so it is a little narrow upwards); a group's interval adds its accounts' variances.

use std::collections::HashMap;

use rayon::prelude::*;
use serde::Serialize;
use tenure_core::{AccountId, Timestamp};
use tenure_engine::Model;
use tenure_health::{bound_by_contract, churn_features, Facts, DAY_MS};
use utoipa::ToSchema;

use crate::account_revenue::MovementKind;
use crate::account_state::AccountInputs;
use crate::accounts::ungrouped_in_turn;
use crate::calendar::prev_month;
use crate::churn::{ChurnModel, Predicted};
use crate::grouping::{first_touch, touch_value};
use crate::revenue::Revenue;
use crate::row::{deciles, money_f, rate, to_rows, to_summary};
use crate::survival::DAYS_PER_MONTH;
use crate::{
    AccountRevenue, Lifecycles, Report, ReportError, ReportParams, ReportSettings, WithModel,
};

/// A month of the model, in milliseconds.
const MONTH_MS: f64 = DAYS_PER_MONTH * DAY_MS as f64;
/// Months of company history the company's rates are measured over.
const RATE_WINDOW_MONTHS: usize = 12;
/// How many months of its own history an account needs before its own net expansion rate
/// counts as much as the company's.
pub const GROWTH_PRIOR_MONTHS: f64 = 12.0;
/// Below this many customers a group's figures are flagged as too few to rank by.
pub const SMALL_SAMPLE_CUSTOMERS: f64 = 30.0;
/// The normal quantile of a two-sided 90% interval.
pub(crate) const Z_90: f64 = 1.644_853_626_951_472_2;
/// Accounts predicted per turn with the model.
const ACCOUNTS_PER_TURN: usize = 256;
/// Paying account-months of the company's weight in an acquisition campaign's net expansion
/// rate: ten accounts' year.
const GROUP_PRIOR_MONTHS: f64 = 120.0;
/// Churns of prior weight on an acquisition campaign's observed ÷ predicted churn: a campaign
/// with few churns keeps close to what the churn model predicts for its customers.
const CALIBRATION_PRIOR_CHURNS: f64 = 10.0;

/// The company's monthly rates, measured over the 12 months before the prediction.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct CompanyRates {
    /// Churned ÷ paying account-months.
    pub churn: f64,
    /// Reactivated ÷ churned account-months (accounts at MRR 0 after having paid).
    pub reactivation: f64,
    /// Net MRR change (expansion and contraction) ÷ MRR-months of the paying accounts.
    pub growth: f64,
    /// The standard deviation of an account's relative MRR change over a calendar month,
    /// among the accounts paying at both its ends: how far MRR wanders from its trend.
    pub growth_sd: f64,
    /// How far accounts grow: the 99th percentile, over the accounts that paid, of their
    /// highest MRR ÷ their first. No account's MRR is projected past its first MRR times this.
    pub growth_ceiling: f64,
}

impl CompanyRates {
    /// The rates of `accounts` over the 12 calendar months before `at`.
    pub fn of<'a>(accounts: impl Iterator<Item = &'a AccountRevenue>, at: Timestamp) -> Self {
        let mut from = at;
        let mut month_ends = vec![at];
        for _ in 0..RATE_WINDOW_MONTHS {
            from = prev_month(from);
            month_ends.push(from);
        }
        let mut ends = Vec::new();
        let mut grown = Vec::new();
        let (mut paying, mut churned_months, mut mrr_months) = (0.0, 0.0, 0.0);
        let (mut churns, mut reactivations, mut change) = (0.0, 0.0, 0.0);
        for a in accounts {
            let Some((first, _)) = a.first_paid.filter(|(t, _)| *t < at) else {
                continue;
            };
            let first_mrr = a.first_paid.map_or(0, |(_, m)| m);
            let highest = a
                .series
                .iter()
                .take_while(|(t, _)| *t <= at)
                .map(|(_, m)| *m)
                .max()
                .unwrap_or(0);
            if first_mrr > 0 {
                grown.push(highest as f64 / first_mrr as f64);
            }
            for pair in month_ends.windows(2) {
                let (after, before) = (a.mrr_at(pair[0]), a.mrr_at(pair[1]));
                if before > 0 && after > 0 {
                    ends.push(after as f64 / before as f64 - 1.0);
                }
            }
            let start = from.max(first);
            let span = ms_between(start, at) / MONTH_MS;
            let paid = paying_months(a, start, at);
            paying += paid;
            churned_months += span - paid;
            let (changed, months) = net_change(a, start, at);
            change += changed;
            mrr_months += months;
            for m in a.movements.iter().filter(|m| m.at > start && m.at <= at) {
                match m.kind {
                    MovementKind::Churn => churns += 1.0,
                    MovementKind::Reactivation => reactivations += 1.0,
                    _ => {}
                }
            }
        }
        let ratio = |n: f64, d: f64| if d > 0.0 { n / d } else { 0.0 };
        Self {
            churn: ratio(churns, paying).min(1.0),
            reactivation: ratio(reactivations, churned_months).min(1.0),
            growth: ratio(change, mrr_months),
            growth_sd: monthly_change_sd(&ends),
            growth_ceiling: percentile_99(grown).max(1.0),
        }
    }
}

/// The 99th percentile of `values` (the nearest rank); 1 for none.
fn percentile_99(mut values: Vec<f64>) -> f64 {
    if values.is_empty() {
        return 1.0;
    }
    values.sort_by(f64::total_cmp);
    let rank = (0.99 * values.len() as f64).ceil() as usize;
    values[rank.clamp(1, values.len()) - 1]
}

/// The standard deviation of the relative MRR change over each month between consecutive
/// `ends`, of the accounts paying at both.
fn monthly_change_sd(changes: &[f64]) -> f64 {
    let n = changes.len() as f64;
    if n < 2.0 {
        return 0.0;
    }
    let mean = changes.iter().sum::<f64>() / n;
    (changes.iter().map(|c| (c - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt()
}

/// The account's net MRR change (expansion and contraction) within `(from, to]`, and its
/// MRR-months over `[from, to]`.
fn net_change(a: &AccountRevenue, from: Timestamp, to: Timestamp) -> (f64, f64) {
    let change = a
        .movements
        .iter()
        .filter(|m| m.at > from && m.at <= to)
        .filter(|m| matches!(m.kind, MovementKind::Expansion | MovementKind::Contraction))
        .map(|m| m.amount as f64)
        .sum();
    (change, a.mrr_days(from, to) / DAYS_PER_MONTH)
}

fn ms_between(from: Timestamp, to: Timestamp) -> f64 {
    (to.millis() - from.millis()).max(0) as f64
}

/// Months with MRR above 0 within `[from, to]`.
fn paying_months(a: &AccountRevenue, from: Timestamp, to: Timestamp) -> f64 {
    let mut total = 0.0;
    let mut at = from;
    let mut paying = a.mrr_at(from) > 0;
    for &(t, mrr) in a.series.iter().filter(|(t, _)| *t > from && *t < to) {
        if paying {
            total += ms_between(at, t);
        }
        at = t;
        paying = mrr > 0;
    }
    if paying {
        total += ms_between(at, to);
    }
    total / MONTH_MS
}

/// One account's predicted lifetime value at the model's instant, in minor units of the
/// reporting currency. `predicted`, `low`, `high` and `variance` are at the gross margin and
/// discounted; `realized` and `future` are revenue as it comes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AccountLtv {
    /// Revenue realized from the first MRR to the instant.
    pub realized: f64,
    /// Expected revenue from the instant to the horizon, before margin and discounting.
    pub future: f64,
    /// Gross margin × (realized + discounted expected future revenue).
    pub predicted: f64,
    /// The 90% interval of the value.
    pub low: f64,
    pub high: f64,
    /// The variance of the value (squared minor units), which a group's interval adds up.
    pub variance: f64,
    /// Whether the account pays at the instant.
    pub active: bool,
    /// Its probability of churning in the next month (for an account under contract, the
    /// probability of leaving at renewal spread over the year; for a lapsed account, once
    /// back); null without MRR.
    pub monthly_churn: Option<f64>,
    /// Its net MRR change per month per unit of MRR.
    pub monthly_growth: f64,
}

/// How an account can churn in the months ahead.
#[derive(Debug, Clone, Copy)]
enum Exit {
    /// In any month, with this probability.
    Monthly(f64),
    /// Only at contract ends: the first after this many months, then every 12 months, each
    /// with this probability.
    AtRenewal { first_in: f64, probability: f64 },
}

impl Exit {
    /// The probability of churning in month `k` (1-based) of the prediction.
    fn in_month(self, k: usize) -> f64 {
        match self {
            Exit::Monthly(p) => p,
            Exit::AtRenewal {
                first_in,
                probability,
            } => {
                let due = first_in.ceil().max(1.0) as usize;
                if k >= due && (k - due).is_multiple_of(12) {
                    probability
                } else {
                    0.0
                }
            }
        }
    }

    /// The monthly equivalent, for display.
    fn monthly(self) -> f64 {
        match self {
            Exit::Monthly(p) => p,
            Exit::AtRenewal { probability, .. } => 1.0 - (1.0 - probability).powf(1.0 / 12.0),
        }
    }
}

/// What an account's predicted value is made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LtvMethod {
    /// Each account's churn from the churn model's probability for its own features.
    ChurnModel,
    /// Every account's churn at the company's monthly rate: the churn model could not be
    /// trained.
    CompanyChurnRate,
}

/// What an acquisition campaign says of its customers that their own features do not.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Acquisition {
    /// How its customers churned against what the churn model predicted for them (observed ÷
    /// predicted, shrunk towards 1).
    hazard_ratio: f64,
    /// Its customers' net MRR change per month per unit of MRR, shrunk towards the company's
    /// by [`GROUP_PRIOR_MONTHS`]: what an account's own rate is shrunk towards. Campaigns bring
    /// customers who grow differently (an account-based campaign's customers expand, a
    /// discount's hardly), and a young account has too little history of its own to say.
    growth: f64,
}

/// The model behind every account's predicted lifetime value at one instant.
pub struct LifetimeValueModel {
    at: Timestamp,
    churn: Option<ChurnModel>,
    /// Per converted account, what its acquisition campaign says of its customers.
    acquisition: HashMap<AccountId, Acquisition>,
    /// Why there is no churn model, when there is none.
    pub without_churn_model: Option<String>,
    pub rates: CompanyRates,
    horizon_months: f64,
    margin: f64,
    /// The discount factor of one month.
    monthly_discount: f64,
}

impl std::fmt::Debug for LifetimeValueModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LifetimeValueModel")
            .field("at", &self.at)
            .field("method", &self.method())
            .field("rates", &self.rates)
            .finish_non_exhaustive()
    }
}

impl LifetimeValueModel {
    /// The model of what was known at `at`: the churn model trained then (see
    /// [`ChurnModel::known_at`]) and the company's rates of the 12 months before.
    pub(crate) fn known_at(
        with_model: WithModel,
        settings: &ReportSettings,
        revenue: &Revenue,
        at: Timestamp,
        kept: Option<&Lifecycles>,
    ) -> Self {
        let (churn, outcomes, without_churn_model) =
            match ChurnModel::known_at_with_outcomes(with_model, settings, revenue, at, kept) {
                Ok((model, outcomes)) => (Some(model), outcomes, None),
                Err(ReportError::Cancelled) => (None, Vec::new(), Some("cancelled".to_owned())),
                Err(e) => (None, Vec::new(), Some(e.to_string())),
            };
        let campaigns = acquisition_campaigns(with_model, settings, revenue);
        let r = &settings.revenue;
        let rates = CompanyRates::of(revenue.accounts.iter(), at);
        Self {
            at,
            churn,
            acquisition: acquisitions(revenue, &campaigns, &outcomes, at, rates.growth),
            without_churn_model,
            rates,
            horizon_months: f64::from(r.ltv_horizon_months),
            margin: r.gross_margin,
            monthly_discount: (1.0 + r.annual_discount_rate).powf(-1.0 / 12.0),
        }
    }

    pub fn method(&self) -> LtvMethod {
        if self.churn.is_some() {
            LtvMethod::ChurnModel
        } else {
            LtvMethod::CompanyChurnRate
        }
    }

    /// How the account can churn, from its facts at the model's instant and its acquisition
    /// campaign's hazard ratio.
    fn exit(&self, settings: &ReportSettings, facts: &Facts, ratio: f64) -> Exit {
        let days = settings.signals.activation_days;
        // A hazard ratio scales the cumulative hazard: P(stay) becomes P(stay)^ratio.
        let scaled = |p: f64| 1.0 - (1.0 - p).powf(ratio);
        let renewal_in = facts
            .contract_end
            .filter(|_| bound_by_contract(facts))
            .map(|end| (end - facts.as_of) as f64 / MONTH_MS);
        match (&self.churn, renewal_in) {
            (Some(churn), None) => {
                let p = scaled(churn.probability(&churn_features(facts, days), false));
                Exit::Monthly(1.0 - (1.0 - p).powf(1.0 / 3.0))
            }
            (Some(churn), Some(first_in)) => {
                // As the account will stand when its renewal is due: able to leave.
                let mut due = facts.clone();
                due.contract_end = Some(facts.as_of + 60 * DAY_MS);
                Exit::AtRenewal {
                    first_in,
                    probability: scaled(churn.probability(&churn_features(&due, days), false)),
                }
            }
            (None, None) => Exit::Monthly(self.rates.churn),
            (None, Some(first_in)) => Exit::AtRenewal {
                first_in,
                probability: 1.0 - (1.0 - self.rates.churn).powi(12),
            },
        }
    }

    /// The account's own net MRR change per month per unit of MRR, shrunk towards its
    /// acquisition campaign's (without one, the company's).
    fn growth(&self, a: &AccountRevenue, converted: Timestamp) -> f64 {
        let at = self.at;
        let months = paying_months(a, converted, at);
        let (change, mrr_months) = net_change(a, converted, at);
        let own = if mrr_months > 0.0 {
            change / mrr_months
        } else {
            0.0
        };
        let prior = self
            .acquisition
            .get(&a.account)
            .map_or(self.rates.growth, |c| c.growth);
        (GROWTH_PRIOR_MONTHS * prior + months * own) / (GROWTH_PRIOR_MONTHS + months)
    }

    /// The account's predicted value, or none for an account not converted by the instant.
    pub fn account(
        &self,
        model: &Model,
        settings: &ReportSettings,
        a: &AccountRevenue,
    ) -> Option<AccountLtv> {
        self.account_until(model, settings, a, None)
    }

    /// [`LifetimeValueModel::account`] with the months ahead ending at `until` if that comes
    /// before the horizon (the back-test's window).
    fn account_until(
        &self,
        model: &Model,
        settings: &ReportSettings,
        a: &AccountRevenue,
        until: Option<Timestamp>,
    ) -> Option<AccountLtv> {
        let at = self.at;
        let converted = a.converted_at.filter(|c| *c <= at)?;
        let mrr = a.mrr_at(at);
        // A churned account would come back at what it paid last.
        let last = a
            .series
            .iter()
            .take_while(|(t, _)| *t <= at)
            .filter(|(_, m)| *m > 0)
            .last()
            .map_or(0, |(_, m)| *m);
        let ratio = self
            .acquisition
            .get(&a.account)
            .map_or(1.0, |c| c.hazard_ratio);
        let exit = if mrr > 0 {
            let facts = AccountInputs::new(model, settings, a).facts_at(at);
            self.exit(settings, &facts, ratio)
        } else {
            // A lapsed account's facts say why it left, not how it will do once back: back,
            // it churns at the company's rate, scaled by its campaign's hazard ratio.
            Exit::Monthly(1.0 - (1.0 - self.rates.churn).powf(ratio))
        };
        let growth = self.growth(a, converted);
        let first_mrr = a.first_paid.filter(|(t, _)| *t <= at).map_or(0, |(_, m)| m);
        let realized = a.realized(at);
        let elapsed = ms_between(converted, at) / MONTH_MS;
        let to_horizon = self.horizon_months - elapsed;
        let to_until = until.map_or(f64::INFINITY, |u| ms_between(at, u) / MONTH_MS);
        let ahead = Ahead {
            months: to_horizon.min(to_until).max(0.0),
            mrr: last as f64,
            growth,
            ceiling: (first_mrr as f64 * self.rates.growth_ceiling).max(last as f64),
            growth_sd: self.rates.growth_sd,
            discount: self.monthly_discount,
        };
        let v = ahead.value(exit, mrr > 0, self.rates.reactivation);
        let m = self.margin;
        Some(AccountLtv {
            realized,
            future: v.undiscounted,
            predicted: m * (realized + v.mean),
            low: m * (realized + v.low),
            high: m * (realized + v.high.max(v.mean)),
            variance: m * m * v.variance,
            active: mrr > 0,
            monthly_churn: (last > 0).then(|| exit.monthly()),
            monthly_growth: growth,
        })
    }

    /// Every account's predicted value (none for those not converted), in `revenue`'s order,
    /// a few hundred accounts a turn with the model.
    pub(crate) fn accounts(
        &self,
        with_model: WithModel,
        settings: &ReportSettings,
        revenue: &Revenue,
    ) -> Vec<Option<AccountLtv>> {
        let mut out = Vec::with_capacity(revenue.accounts.len());
        for turn in revenue.accounts.chunks(ACCOUNTS_PER_TURN) {
            let mut found = None;
            with_model(&mut |model| {
                found = Some(
                    turn.par_iter()
                        .map(|a| self.account(model, settings, a))
                        .collect::<Vec<_>>(),
                );
            });
            match found {
                Some(found) => out.extend(found),
                None => out.extend(turn.iter().map(|_| None)),
            }
        }
        out
    }
}

/// Each account's acquisition campaign: the campaign of the first touch of its journey (SPEC
/// §3; `(none)` for a touch without one, `direct` without a touch); none for an account not
/// converted.
fn acquisition_campaigns(
    with_model: WithModel,
    settings: &ReportSettings,
    revenue: &Revenue,
) -> Vec<Option<String>> {
    let mut out = vec![None; revenue.accounts.len()];
    with_model(&mut |model| {
        let journeys = model.account_journeys();
        out = revenue
            .accounts
            .iter()
            .map(|a| {
                let converted = a.converted_at?;
                let touch = first_touch(
                    journeys.get(&a.account).map(Vec::as_slice),
                    converted,
                    settings.attribution.lookback_days,
                );
                Some(touch_value(touch, "campaign"))
            })
            .collect();
    });
    out
}

/// Each converted account's [`Acquisition`], from its campaign's (`campaigns`, in `revenue`'s
/// order).
fn acquisitions(
    revenue: &Revenue,
    campaigns: &[Option<String>],
    outcomes: &[Predicted],
    at: Timestamp,
    growth: f64,
) -> HashMap<AccountId, Acquisition> {
    let ratios = hazard_ratios(campaigns, outcomes);
    let growths = campaign_growths(&revenue.accounts, campaigns, at, growth);
    revenue
        .accounts
        .iter()
        .zip(campaigns)
        .filter_map(|(a, c)| {
            let c = c.as_deref()?;
            let acquisition = Acquisition {
                hazard_ratio: ratios.get(c).copied().unwrap_or(1.0),
                growth: growths.get(c).copied().unwrap_or(growth),
            };
            Some((a.account.clone(), acquisition))
        })
        .collect()
}

/// Each acquisition campaign's net MRR change per month per unit of MRR over the 12 months
/// before `at` (its customers' net change ÷ their MRR-months, as [`CompanyRates`] measures the
/// company's), shrunk towards the company's `growth` by [`GROUP_PRIOR_MONTHS`] paying
/// account-months.
fn campaign_growths<'c>(
    accounts: &[AccountRevenue],
    campaigns: &'c [Option<String>],
    at: Timestamp,
    growth: f64,
) -> HashMap<&'c str, f64> {
    let from = (0..RATE_WINDOW_MONTHS).fold(at, |t, _| prev_month(t));
    // Per campaign: net change, MRR-months and paying months of its customers.
    let mut sums: HashMap<&str, [f64; 3]> = HashMap::new();
    for (a, c) in accounts.iter().zip(campaigns) {
        let (Some(c), Some((first, _))) = (c, a.first_paid.filter(|(t, _)| *t < at)) else {
            continue;
        };
        let start = from.max(first);
        let (change, mrr_months) = net_change(a, start, at);
        let s = sums.entry(c).or_default();
        s[0] += change;
        s[1] += mrr_months;
        s[2] += paying_months(a, start, at);
    }
    sums.into_iter()
        .map(|(c, [change, mrr_months, paying])| {
            let own = if mrr_months > 0.0 {
                change / mrr_months
            } else {
                0.0
            };
            (
                c,
                (paying * own + GROUP_PRIOR_MONTHS * growth) / (paying + GROUP_PRIOR_MONTHS),
            )
        })
        .collect()
}

/// Each acquisition campaign's hazard ratio: its customers' churns over what the churn model
/// predicted for their snapshots (`outcomes`: account, probability, churned), both with
/// [`CALIBRATION_PRIOR_CHURNS`] added.
fn hazard_ratios<'c>(
    campaigns: &'c [Option<String>],
    outcomes: &[Predicted],
) -> HashMap<&'c str, f64> {
    let mut by_campaign: HashMap<&str, (f64, f64)> = HashMap::new();
    for &(i, p, churned) in outcomes {
        if let Some(c) = campaigns.get(i).and_then(Option::as_deref) {
            let e = by_campaign.entry(c).or_default();
            e.0 += f64::from(u8::from(churned));
            e.1 += p;
        }
    }
    by_campaign
        .into_iter()
        .map(|(c, (observed, predicted))| (c, shrunk_ratio(observed, predicted)))
        .collect()
}

/// Observed ÷ predicted churns, each with [`CALIBRATION_PRIOR_CHURNS`] added.
fn shrunk_ratio(observed: f64, predicted: f64) -> f64 {
    (observed + CALIBRATION_PRIOR_CHURNS) / (predicted + CALIBRATION_PRIOR_CHURNS)
}

/// Every converted account's predicted lifetime value at `revenue.as_of`, by account, as
/// `attribution --metric predicted_ltv` credits it, from every account's `revenue` (see
/// [`Revenue::of_accounts`]); the model taken in turns, going on from what `kept` holds of the
/// churn model's snapshots.
pub fn predicted_ltvs(
    with_model: WithModel,
    settings: &ReportSettings,
    revenue: &Revenue,
    kept: Option<&Lifecycles>,
) -> HashMap<AccountId, AccountLtv> {
    let model = LifetimeValueModel::known_at(with_model, settings, revenue, revenue.as_of, kept);
    by_account(revenue, model.accounts(with_model, settings, revenue))
}

/// Each converted account's value, by account, from the values in `revenue`'s order.
fn by_account(
    revenue: &Revenue,
    values: Vec<Option<AccountLtv>>,
) -> HashMap<AccountId, AccountLtv> {
    revenue
        .accounts
        .iter()
        .zip(values)
        .filter_map(|(a, v)| Some((a.account.clone(), v?)))
        .collect()
}

/// Every account's revenue as of the report instant, and every converted account's predicted
/// value then, by account: a report crediting the values reads the same revenue rather than
/// building it again.
pub(crate) struct AccountValues {
    pub revenue: Revenue,
    pub values: HashMap<AccountId, AccountLtv>,
}

/// Every converted account's predicted value as of the report instant, with the revenue it was
/// predicted from.
pub(crate) fn account_values(
    with_model: WithModel,
    settings: &ReportSettings,
    params: &ReportParams,
    kept: Option<&Lifecycles>,
) -> Result<AccountValues, ReportError> {
    let (revenue, _, values) = predicted(with_model, settings, params, kept)?;
    let values = by_account(&revenue, values);
    Ok(AccountValues { revenue, values })
}

/// Every account's revenue, the model as of the report instant, and each account's predicted
/// value in the revenue's order (none for those not converted).
fn predicted(
    with_model: WithModel,
    settings: &ReportSettings,
    params: &ReportParams,
    kept: Option<&Lifecycles>,
) -> Result<(Revenue, LifetimeValueModel, Vec<Option<AccountLtv>>), ReportError> {
    let revenue = ungrouped_in_turn(with_model, settings, params)?;
    let model = LifetimeValueModel::known_at(with_model, settings, &revenue, params.as_of, kept);
    let values = model.accounts(with_model, settings, &revenue);
    Ok((revenue, model, values))
}

/// The months from the prediction to the horizon, and what an account paying through them
/// would bring.
#[derive(Debug, Clone, Copy)]
struct Ahead {
    /// Months to the horizon, the last possibly partial.
    months: f64,
    /// MRR now, or the last MRR of a churned account.
    mrr: f64,
    /// Net MRR change per month per unit of MRR.
    growth: f64,
    /// The MRR no month is projected past.
    ceiling: f64,
    /// How far the relative MRR wanders from that trend in a month (standard deviation).
    growth_sd: f64,
    /// The discount factor of one month.
    discount: f64,
}

/// What [`Ahead::value`] finds, in minor units, discounted (but `undiscounted`).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Value {
    mean: f64,
    undiscounted: f64,
    low: f64,
    high: f64,
    variance: f64,
}

impl Ahead {
    /// Month `k`'s (1-based) revenue if paying all of it, discounted to the instant, and not.
    fn month(&self, k: usize) -> (f64, f64) {
        let whole = self.months.floor() as usize;
        let share = if k <= whole {
            1.0
        } else {
            self.months - whole as f64
        };
        let mid = k as f64 - 0.5;
        let revenue = share * (self.mrr * (1.0 + self.growth * mid)).clamp(0.0, self.ceiling);
        (revenue * self.discount.powf(mid), revenue)
    }

    /// The expected revenue ahead of an account `active` now that leaves as `exit` says and
    /// comes back at `reactivation` a month, with the interval and variance of an account that
    /// does not come back.
    fn value(&self, exit: Exit, active: bool, reactivation: f64) -> Value {
        let n = self.months.ceil() as usize;
        let months: Vec<(f64, f64)> = (1..=n).map(|k| self.month(k)).collect();
        // The expected share of each month paid: paying at its start, leaving mid-month.
        let (mut mean, mut undiscounted) = (0.0, 0.0);
        let mut paying = f64::from(u8::from(active));
        for (k, &(r, raw)) in months.iter().enumerate() {
            let q = exit.in_month(k + 1);
            let next = paying * (1.0 - q) + (1.0 - paying) * reactivation;
            let share = (paying + next) / 2.0;
            mean += share * r;
            undiscounted += share * raw;
            paying = next;
        }
        if !active {
            // Nothing, or (if it comes back) at most every month ahead: the widest spread of a
            // value with this mean.
            let most: f64 = months.iter().map(|(r, _)| r).sum();
            let variance = (mean * (most - mean)).max(0.0);
            return Value {
                mean,
                undiscounted,
                low: 0.0,
                high: (mean + Z_90 * variance.sqrt()).min(most),
                variance,
            };
        }
        // Without coming back, the value is that of the months paid through: the months
        // survived, T, has P(T ≥ t) = S(t), the survival to the end of month t.
        let mut survival = Vec::with_capacity(n + 1);
        survival.push(1.0);
        for k in 1..=n {
            survival.push(survival[k - 1] * (1.0 - exit.in_month(k)));
        }
        let mut paid_through = vec![0.0; n + 1];
        for k in 1..=n {
            paid_through[k] = paid_through[k - 1] + months[k - 1].0;
        }
        // E[V] = Σ R_k S_k; E[V²] = Σ_k R_k S_k (R_k + 2 Σ_{j<k} R_j).
        let (mut first, mut second) = (0.0, 0.0);
        for k in 1..=n {
            let r = months[k - 1].0;
            first += r * survival[k];
            second += r * survival[k] * (r + 2.0 * paid_through[k - 1]);
        }
        // The q-quantile of T: the fewest months t with P(T ≤ t) = 1 − S(t + 1) ≥ q.
        let quantile = |q: f64| {
            (0..=n)
                .find(|&t| t == n || 1.0 - survival[t + 1] >= q)
                .unwrap_or(n)
        };
        // MRR wanders from its trend as a random walk (a month's relative change of standard
        // deviation σ): month k's revenue has variance (σ × MRR)² × k, months j and k share
        // min(j, k) of it, each weighed by the chance of paying then. Σ_j Σ_k min(j, k) p_j p_k
        // = Σ_t (Σ_{k ≥ t} p_k)².
        let mut tail = 0.0;
        let mut walk = 0.0;
        for k in (1..=n).rev() {
            tail += survival[k] * months[k - 1].0;
            walk += tail * tail;
        }
        let wander = self.growth_sd * self.growth_sd * walk;
        let spread = Z_90 * wander.sqrt();
        Value {
            mean,
            undiscounted,
            low: (paid_through[quantile(0.05)] - spread).max(0.0),
            high: paid_through[quantile(0.95)] + spread,
            variance: (second - first * first).max(0.0) + wander,
        }
    }
}

/// A group's predicted lifetime value per customer: the weighted mean of its accounts' values
/// and its 90% interval, in minor units.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct GroupLtv {
    pub customers: f64,
    pub mean: Option<f64>,
    pub low: Option<f64>,
    pub high: Option<f64>,
}

impl GroupLtv {
    /// Over `(value, weight)` of the group's customers: the interval is that of the mean of
    /// what the customers will have brought, each independent of the others.
    pub fn of<'a>(values: impl Iterator<Item = (&'a AccountLtv, f64)>) -> Self {
        let (mut n, mut sum, mut variance) = (0.0, 0.0, 0.0);
        for (v, w) in values {
            n += w;
            sum += w * v.predicted;
            variance += w * w * v.variance;
        }
        if n <= 0.0 {
            return Self::default();
        }
        let mean = sum / n;
        let half = Z_90 * variance.sqrt() / n;
        Self {
            customers: n,
            mean: Some(mean),
            low: Some((mean - half).max(0.0)),
            high: Some(mean + half),
        }
    }

    /// Whether the group has too few customers to rank by.
    pub fn small_sample(&self) -> bool {
        self.customers < SMALL_SAMPLE_CUSTOMERS
    }
}

/// One converted account's predicted lifetime value (`predicted-ltv`), money in the report's
/// currency.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct PredictedLtvRow {
    /// The account's id.
    pub account: String,
    /// Whether it pays at `as_of`.
    pub active: bool,
    /// Revenue realized from its first MRR to `as_of`.
    pub realized_revenue: f64,
    /// Revenue expected from `as_of` to the LTV horizon after its conversion (not discounted,
    /// before the gross margin).
    pub expected_future_revenue: f64,
    /// Gross margin × (realized revenue + the expected future revenue discounted to `as_of`).
    pub predicted_ltv: f64,
    /// Lower end of the 90% interval of its predicted LTV.
    pub predicted_ltv_low_90: f64,
    /// Upper end of the 90% interval of its predicted LTV.
    pub predicted_ltv_high_90: f64,
    /// Its probability of churning in a month, 0–1 (under a contract: the probability of
    /// leaving at renewal spread over the year; for a lapsed account: once back); null for an
    /// account that never paid.
    pub monthly_churn: Option<f64>,
    /// Its net MRR change a month per unit of MRR (its own, shrunk towards its acquisition
    /// campaign's).
    pub monthly_growth: Option<f64>,
}

/// The summary of `predicted-ltv`: the model behind the values.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct PredictedLtvSummary {
    /// How each account's churn is predicted.
    pub method: LtvMethod,
    /// Why the churn model could not be used, when it could not.
    pub without_churn_model: Option<String>,
    /// Months after conversion the value is counted to.
    pub horizon_months: u32,
    /// Gross margin applied.
    pub gross_margin: f64,
    /// Annual rate future revenue is discounted at.
    pub annual_discount_rate: f64,
    /// The company's churned ÷ paying account-months over the 12 months before `as_of`.
    pub company_monthly_churn: Option<f64>,
    /// Its reactivated ÷ churned account-months over the same months.
    pub company_monthly_reactivation: Option<f64>,
    /// Its net MRR change ÷ MRR-months over the same months.
    pub company_monthly_growth: Option<f64>,
    /// Converted accounts.
    pub customers: usize,
    /// The sum of their predicted LTVs.
    pub total_predicted_ltv: f64,
}

/// `predicted-ltv`: every converted account's predicted lifetime value, highest first.
pub(crate) fn report(
    with_model: WithModel,
    settings: &ReportSettings,
    params: &ReportParams,
    kept: Option<&Lifecycles>,
) -> Result<Report, ReportError> {
    let (revenue, model, values) = predicted(with_model, settings, params, kept)?;
    let c = revenue.currency;
    let mut found: Vec<(&AccountRevenue, AccountLtv)> = revenue
        .accounts
        .iter()
        .zip(values)
        .filter_map(|(a, v)| Some((a, v?)))
        .collect();
    found.sort_by(|(a, x), (b, y)| {
        y.predicted
            .total_cmp(&x.predicted)
            .then_with(|| a.account.cmp(&b.account))
    });
    let total: f64 = found.iter().map(|(_, v)| v.predicted).sum();
    let customers = found.len();
    let columns: Vec<String> = [
        "account",
        "active",
        "realized_revenue",
        "expected_future_revenue",
        "predicted_ltv",
        "predicted_ltv_low_90",
        "predicted_ltv_high_90",
        "monthly_churn",
        "monthly_growth",
    ]
    .map(str::to_owned)
    .to_vec();
    let rows = to_rows(found.into_iter().map(|(a, v)| PredictedLtvRow {
        account: a.account.as_str().to_owned(),
        active: v.active,
        realized_revenue: money_f(v.realized, c),
        expected_future_revenue: money_f(v.future, c),
        predicted_ltv: money_f(v.predicted, c),
        predicted_ltv_low_90: money_f(v.low, c),
        predicted_ltv_high_90: money_f(v.high, c),
        monthly_churn: rate(v.monthly_churn),
        monthly_growth: rate(Some(v.monthly_growth)),
    }));
    let mut report = Report::new("predicted-ltv", params, None, columns, rows);
    let r = &settings.revenue;
    report.summary = Some(to_summary(&PredictedLtvSummary {
        method: model.method(),
        without_churn_model: model.without_churn_model.clone(),
        horizon_months: r.ltv_horizon_months,
        gross_margin: r.gross_margin,
        annual_discount_rate: r.annual_discount_rate,
        company_monthly_churn: rate(Some(model.rates.churn)),
        company_monthly_reactivation: rate(Some(model.rates.reactivation)),
        company_monthly_growth: rate(Some(model.rates.growth)),
        customers,
        total_predicted_ltv: money_f(total, c),
    }));
    Ok(report)
}

/// One past instant of `ltv-backtest`: what the model then predicted each account would bring
/// by `as_of`, against what it brought. Money in the report's currency, before the gross margin
/// and not discounted.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct LtvBacktestRow {
    /// The month end the prediction was made at, RFC 3339.
    pub predicted_at: String,
    /// How each account's churn was predicted then.
    pub method: LtvMethod,
    /// Accounts converted by then.
    pub accounts: usize,
    /// Σ the revenue they were expected to bring from then to `as_of` (or to their horizon).
    pub predicted_revenue: f64,
    /// Σ the revenue they brought.
    pub actual_revenue: f64,
    /// predicted ÷ actual − 1; null without actual revenue.
    pub error: Option<f64>,
    /// The slope of actual on predicted revenue across the accounts (least squares): 1 when
    /// the predictions are calibrated, below 1 when they spread too far.
    pub calibration_slope: Option<f64>,
    /// The share of accounts whose actual revenue fell within their 90% interval, 0–1.
    pub interval_coverage: Option<f64>,
}

/// One tenth of the back-test's predictions (every instant together), lowest first.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct LtvCalibrationBin {
    /// 1 to 10.
    pub decile: usize,
    /// Predictions in it.
    pub accounts: usize,
    /// Their mean predicted revenue, in the report's currency.
    pub predicted: f64,
    /// Their mean actual revenue.
    pub actual: f64,
}

/// The summary of `ltv-backtest`: every instant's predictions together.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct LtvBacktestSummary {
    /// Predictions compared (an account at an instant).
    pub predictions: usize,
    /// The slope of actual on predicted revenue over all of them.
    pub calibration_slope: Option<f64>,
    /// Σ predicted ÷ Σ actual − 1 over all of them.
    pub error: Option<f64>,
    /// The share whose actual revenue fell within the 90% interval, 0–1.
    pub interval_coverage: Option<f64>,
    /// The predictions by decile of predicted revenue.
    pub calibration: Vec<LtvCalibrationBin>,
}

/// Instants of the back-test: the month ends 3, 6, 9 and 12 months before `as_of`.
const BACKTEST_QUARTERS: usize = 4;

/// (predicted, actual, low, high) of one account over the back-test's window.
type Prediction = (f64, f64, f64, f64);

fn slope(points: &[Prediction]) -> Option<f64> {
    let n = points.len() as f64;
    if n < 2.0 {
        return None;
    }
    let (mx, my) = points
        .iter()
        .fold((0.0, 0.0), |(x, y), p| (x + p.0 / n, y + p.1 / n));
    let (mut sxy, mut sxx) = (0.0, 0.0);
    for p in points {
        sxy += (p.0 - mx) * (p.1 - my);
        sxx += (p.0 - mx) * (p.0 - mx);
    }
    (sxx > 0.0).then(|| sxy / sxx)
}

fn coverage(points: &[Prediction]) -> Option<f64> {
    (!points.is_empty()).then(|| {
        points
            .iter()
            .filter(|p| p.1 >= p.2 - 0.5 && p.1 <= p.3 + 0.5)
            .count() as f64
            / points.len() as f64
    })
}

fn error(points: &[Prediction]) -> Option<f64> {
    let predicted: f64 = points.iter().map(|p| p.0).sum();
    let actual: f64 = points.iter().map(|p| p.1).sum();
    (actual > 0.0).then(|| predicted / actual - 1.0)
}

/// `ltv-backtest`: the model made at the month ends 3 to 12 months back, each predicting every
/// converted account's revenue from then to `as_of`, against the revenue it brought.
pub(crate) fn backtest_report(
    with_model: WithModel,
    settings: &ReportSettings,
    params: &ReportParams,
    kept: Option<&Lifecycles>,
) -> Result<Report, ReportError> {
    let revenue = ungrouped_in_turn(with_model, settings, params)?;
    let c = revenue.currency;
    let as_of = params.as_of;
    let mut rows = Vec::new();
    let mut all: Vec<Prediction> = Vec::new();
    let mut at = crate::calendar::month_start(as_of);
    for _ in 0..BACKTEST_QUARTERS {
        for _ in 0..3 {
            at = prev_month(at);
        }
        let at_end = at.plus_millis(-1);
        let mut model = LifetimeValueModel::known_at(with_model, settings, &revenue, at_end, kept);
        // Revenue as it comes: the back-test compares money, not value.
        model.margin = 1.0;
        model.monthly_discount = 1.0;
        let mut points: Vec<Prediction> = Vec::new();
        for turn in revenue.accounts.chunks(ACCOUNTS_PER_TURN) {
            with_model(&mut |m| {
                points.par_extend(turn.par_iter().filter_map(|a| {
                    let v = model.account_until(m, settings, a, Some(as_of))?;
                    let actual = a.mrr_days(at_end, as_of) * 12.0 / 365.25;
                    Some((
                        v.predicted - v.realized,
                        actual,
                        v.low - v.realized,
                        v.high - v.realized,
                    ))
                }));
            });
        }
        rows.push(LtvBacktestRow {
            predicted_at: at_end.to_string(),
            method: model.method(),
            accounts: points.len(),
            predicted_revenue: money_f(points.iter().map(|p| p.0).sum(), c),
            actual_revenue: money_f(points.iter().map(|p| p.1).sum(), c),
            error: rate(error(&points)),
            calibration_slope: rate(slope(&points)),
            interval_coverage: rate(coverage(&points)),
        });
        all.extend(points);
    }
    let pairs: Vec<(f64, f64)> = all.iter().map(|p| (p.0, p.1)).collect();
    let calibration = deciles(&pairs)
        .into_iter()
        .map(|d| LtvCalibrationBin {
            decile: d.decile,
            accounts: d.count,
            predicted: money_f(d.predicted, c),
            actual: money_f(d.actual, c),
        })
        .collect();
    let columns: Vec<String> = [
        "predicted_at",
        "method",
        "accounts",
        "predicted_revenue",
        "actual_revenue",
        "error",
        "calibration_slope",
        "interval_coverage",
    ]
    .map(str::to_owned)
    .to_vec();
    let mut report = Report::new("ltv-backtest", params, None, columns, to_rows(rows));
    report.summary = Some(to_summary(&LtvBacktestSummary {
        predictions: all.len(),
        calibration_slope: rate(slope(&all)),
        error: rate(error(&all)),
        interval_coverage: rate(coverage(&all)),
        calibration,
    }));
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ahead(months: f64, mrr: f64) -> Ahead {
        Ahead {
            months,
            mrr,
            growth: 0.0,
            ceiling: f64::INFINITY,
            growth_sd: 0.0,
            discount: 1.0,
        }
    }

    /// Constant monthly churn q over n months, no growth or discounting: the expected months
    /// paid are Σ_{k=1..n} ((1−q)^{k−1} + (1−q)^k) / 2, and the variance of the months paid
    /// through, T capped at n with P(T ≥ t) = (1−q)^t, by hand.
    #[test]
    fn a_constant_hazard_by_hand() {
        let q: f64 = 0.1;
        let v = ahead(3.0, 100.0).value(Exit::Monthly(q), true, 0.0);
        // S = 1, 0.9, 0.81, 0.729: mean shares (1+.9)/2, (.9+.81)/2, (.81+.729)/2.
        let expected = 100.0 * (0.95 + 0.855 + 0.7695);
        assert!((v.mean - expected).abs() < 1e-9, "{}", v.mean);
        // Months paid through: 0 w.p. 0.1, 1 w.p. 0.09, 2 w.p. 0.081, 3 w.p. 0.729.
        let p = [0.1, 0.09, 0.081, 0.729];
        let m: f64 = p.iter().enumerate().map(|(t, p)| p * t as f64).sum();
        let m2: f64 = p.iter().enumerate().map(|(t, p)| p * (t * t) as f64).sum();
        let variance = 100.0 * 100.0 * (m2 - m * m);
        assert!((v.variance - variance).abs() < 1e-6, "{}", v.variance);
        // P(T ≤ 0) = 0.1 ≥ 0.05: the 5% quantile is 0 months; P(T ≤ 2) = 0.271 < 0.95, so the
        // 95% quantile is all 3.
        assert_eq!((v.low, v.high), (0.0, 300.0));
        assert_eq!(v.undiscounted, v.mean);
    }

    /// Under contract, churn comes only at renewal: with 14.5 months ahead and the contract
    /// ending in 2.5 months, months 3 and 15 are the only chances to leave, and half of month
    /// 15 is within the horizon.
    #[test]
    fn under_contract_churn_comes_only_at_renewal() {
        let exit = Exit::AtRenewal {
            first_in: 2.5,
            probability: 0.2,
        };
        assert_eq!(
            (1..=16).map(|k| exit.in_month(k)).collect::<Vec<_>>(),
            [0., 0., 0.2, 0., 0., 0., 0., 0., 0., 0., 0., 0., 0., 0., 0.2, 0.]
        );
        let v = ahead(14.5, 10.0).value(exit, true, 0.0);
        // Months 1–2 whole, month 3 at (1 + 0.8) / 2, months 4–14 at 0.8, half of month 15
        // at (0.8 + 0.64) / 2.
        let expected = 10.0 * (2.0 + 0.9 + 11.0 * 0.8 + 0.5 * 0.72);
        assert!((v.mean - expected).abs() < 1e-9, "{} {expected}", v.mean);
        assert!((exit.monthly() - (1.0 - 0.8f64.powf(1.0 / 12.0))).abs() < 1e-12);
    }

    /// A churned account comes back at the reactivation rate: its expected share paid in month
    /// k is the chance it is back, 1 − (1 − r)^k, averaged over the month.
    #[test]
    fn a_churned_account_is_worth_its_chance_of_coming_back() {
        let r: f64 = 0.05;
        let v = ahead(2.0, 100.0).value(Exit::Monthly(0.0), false, r);
        let expected = 100.0 * ((0.0 + r) / 2.0 + (r + (1.0 - (1.0 - r) * (1.0 - r))) / 2.0);
        assert!((v.mean - expected).abs() < 1e-9, "{}", v.mean);
        assert_eq!(v.low, 0.0);
        assert!(v.high > v.mean && v.high <= 200.0);
    }

    /// MRR wandering from its trend: with no churn over 2 months of revenue R, the months
    /// share min(j, k): Σ_t (Σ_{k≥t} R)² = (2R)² + R², times σ².
    #[test]
    fn wandering_mrr_widens_the_interval() {
        let still = ahead(2.0, 100.0).value(Exit::Monthly(0.0), true, 0.0);
        let a = Ahead {
            growth_sd: 0.1,
            ..ahead(2.0, 100.0)
        };
        let v = a.value(Exit::Monthly(0.0), true, 0.0);
        let wander = 0.01 * (200.0f64.powi(2) + 100.0f64.powi(2));
        assert!((v.variance - still.variance - wander).abs() < 1e-6);
        assert!((v.high - (200.0 + Z_90 * wander.sqrt())).abs() < 1e-9);
        assert_eq!(v.mean, still.mean);
        assert!((monthly_change_sd(&[0.0, 0.1, 0.2]) - 0.1).abs() < 1e-12);
    }

    /// Growth is linear at the month's middle, up to the ceiling, and discounting applies from
    /// the instant.
    #[test]
    fn growth_and_discounting() {
        let a = Ahead {
            months: 2.0,
            mrr: 100.0,
            growth: 0.1,
            ceiling: 112.0,
            growth_sd: 0.0,
            discount: 0.99,
        };
        let (d1, r1) = a.month(1);
        let (d2, r2) = a.month(2);
        // 115 in month 2 is past the ceiling of 112.
        assert!((r1 - 105.0).abs() < 1e-9 && (r2 - 112.0).abs() < 1e-9);
        assert!((d1 - 105.0 * 0.99f64.powf(0.5)).abs() < 1e-9);
        assert!((d2 - 112.0 * 0.99f64.powf(1.5)).abs() < 1e-9);
        assert_eq!(percentile_99((1..=200).map(f64::from).collect()), 198.0);
        assert_eq!(percentile_99(Vec::new()), 1.0);
    }

    /// 50 churns where the model predicted 30: (50 + 10) ÷ (30 + 10) = 1.5; none predicted and
    /// none seen is 1; 2 churns against 1 predicted barely moves (12 ÷ 11).
    #[test]
    fn hazard_ratios_are_shrunk_towards_one() {
        assert_eq!(shrunk_ratio(50.0, 30.0), 1.5);
        assert_eq!(shrunk_ratio(0.0, 0.0), 1.0);
        assert!((shrunk_ratio(2.0, 1.0) - 12.0 / 11.0).abs() < 1e-12);
    }

    /// Least squares by hand: actual = 2 × predicted + 1 has slope 2.
    #[test]
    fn calibration_slope_by_hand() {
        let points: Vec<Prediction> = [1.0, 2.0, 4.0]
            .iter()
            .map(|&x| (x, 2.0 * x + 1.0, 0.0, 100.0))
            .collect();
        assert!((slope(&points).unwrap() - 2.0).abs() < 1e-12);
        // Predicted 7 against actual 17.
        assert!((error(&points).unwrap() - (7.0 / 17.0 - 1.0)).abs() < 1e-12);
        assert_eq!(coverage(&points), Some(1.0));
        assert_eq!(slope(&points[..1]), None);
    }

    /// Two campaigns over the year before 2026-01-01 (365 days, m = 365 ÷ 30.436875 paying
    /// months each), the company's rate 0.01: a flat account's campaign gets (m · 0 + 120 ·
    /// 0.01) ÷ (m + 120); one that doubled from 1,000 to 2,000 after 182 days grew 1,000 over
    /// (1,000 · 182 + 2,000 · 183) ÷ 30.436875 MRR-months. An account without a campaign adds
    /// none (the company's rate applies to it).
    #[test]
    fn campaign_growth_by_hand() {
        let t = |raw: &str| Timestamp::parse(raw).unwrap();
        let id = |raw: &str| AccountId::parse(raw).unwrap();
        let account = |name: &str, series: Vec<(Timestamp, i64)>| {
            let movements = series
                .windows(2)
                .map(|w| crate::account_revenue::Movement {
                    at: w[1].0,
                    kind: MovementKind::Expansion,
                    amount: w[1].1 - w[0].1,
                })
                .collect();
            AccountRevenue {
                account: id(name),
                first_paid: Some(series[0]),
                converted_at: Some(series[0].0),
                churned_at: None,
                series,
                movements,
            }
        };
        let start = t("2024-06-01");
        let accounts = vec![
            account("flat", vec![(start, 1_000)]),
            account("grew", vec![(start, 1_000), (t("2025-07-02"), 2_000)]),
            account("none", vec![(start, 1_000)]),
        ];
        let campaigns = vec![Some("flat".to_owned()), Some("grew".to_owned()), None];
        let g = campaign_growths(&accounts, &campaigns, t("2026-01-01"), 0.01);
        let m = 365.0 / DAYS_PER_MONTH;
        let flat = 120.0 * 0.01 / (m + 120.0);
        let own = 1_000.0 / ((1_000.0 * 182.0 + 2_000.0 * 183.0) / DAYS_PER_MONTH);
        let grew = (m * own + 120.0 * 0.01) / (m + 120.0);
        assert!((g["flat"] - flat).abs() < 1e-12, "{g:?}");
        assert!((g["grew"] - grew).abs() < 1e-12, "{g:?}");
        assert_eq!(g.len(), 2, "{g:?}");
    }

    #[test]
    fn a_group_interval_adds_its_accounts_variances() {
        let one = AccountLtv {
            realized: 0.0,
            future: 0.0,
            predicted: 1_000.0,
            low: 0.0,
            high: 0.0,
            variance: 400.0,
            active: true,
            monthly_churn: None,
            monthly_growth: 0.0,
        };
        let two = AccountLtv {
            predicted: 3_000.0,
            variance: 500.0,
            ..one
        };
        let g = GroupLtv::of([(&one, 1.0), (&two, 0.5)].into_iter());
        // Mean (1000 + 1500) / 1.5; sd of the mean √(400 + 0.25 · 500) / 1.5.
        let mean = 2_500.0 / 1.5;
        let half = Z_90 * (525.0f64).sqrt() / 1.5;
        assert!((g.mean.unwrap() - mean).abs() < 1e-9);
        assert!((g.high.unwrap() - (mean + half)).abs() < 1e-9);
        assert!((g.low.unwrap() - (mean - half)).abs() < 1e-9);
        assert!(g.small_sample());
    }
}
