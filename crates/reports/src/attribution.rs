//! `attribution` and `journey`: credit each channel (source, medium, campaign, content) with
//! lifetime outcomes of the customers it brought, under any model (SPEC §3, Attribution).
//!
//! The journeys credited are those of [`crate::journeys`].
//!
//! Outcomes credited per converting account: conversions, initial ARR, realized revenue,
//! expansion revenue, predicted LTV, activated, retained at 90 and 365 days, renewed; and NRR,
//! credit-weighted (Σ credit × MRR(t1) ÷ Σ credit × MRR(t0) over the accounts paying at t0).

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Serialize;
use tenure_attribution::{credit, weights, Journey, Model, States};
use tenure_core::{AccountId, DealKind, DealStatus, Timestamp};
use tenure_engine::{Model as Derived, TouchpointOrigin, DIRECT};
use utoipa::ToSchema;

use crate::account_revenue::MovementKind;
use crate::calendar::DAY_MS;
use crate::grouping::TOUCH_GROUPINGS;
use crate::journeys::{converting_journey, journeys, model_of, Journeys};
use crate::lifetime_value::{
    account_values, AccountLtv, AccountValues, SMALL_SAMPLE_CUSTOMERS, Z_90,
};
use crate::retention::window;
use crate::revenue::Revenue;
use crate::row::{grouped_rows, money, money_f, rate, to_rows, to_summary};
use crate::{
    in_one_turn, AccountRevenue, Lifecycles, Report, ReportError, ReportParams, ReportSettings,
    ShouldStop, WithModel,
};

/// One channel (or source, medium, campaign, content: the value is under the grouping's name)
/// with what one model credits it, and what it cost.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct AttributionRow {
    /// One key, the metric's name (`conversions`, `initial_arr`, …, `nrr`), holding what the
    /// model credits the group: money in the report's currency for `initial_arr`,
    /// `realized_revenue`, `expansion_revenue` and `predicted_ltv`; for `nrr`, the credited
    /// MRR at the window's end ÷ the credited MRR at its start (null without it); else a
    /// credit-weighted count of accounts. (Beside the group's value under the grouping's
    /// name, a string: hence any value in the schema.)
    #[serde(flatten)]
    #[schema(value_type = BTreeMap<String, serde_json::Value>)]
    pub metric: BTreeMap<String, Option<f64>>,
    /// The group's share of the metric credited to every group, 0–1; null for `nrr` and when
    /// nothing was credited.
    pub share: Option<f64>,
    /// Spend of the group in the window, in the report's currency; null for the groupings
    /// spend.csv does not have (medium, content).
    pub spend: Option<f64>,
    /// Spend ÷ the credited metric: per unit of money (a ratio) for a money metric, in the
    /// report's currency per account for a count; 0 without spend, null for spend that
    /// brought nothing, and for `nrr`.
    pub cost_per: Option<f64>,
    /// The credited money metric ÷ spend; null for the other metrics and without spend.
    pub roas: Option<f64>,
    /// Converting accounts credited to the group (credit-weighted; for `nrr`, those paying at
    /// the window's start).
    pub customers: f64,
    /// Whether fewer than 30 customers are credited to the group: too few to rank it by.
    pub small_sample: bool,
    /// Lower end of the 90% interval of the credited metric, for `predicted_ltv` (null for
    /// the others, which are facts rather than predictions).
    pub low_90: Option<f64>,
    /// Upper end of that interval.
    pub high_90: Option<f64>,
}

/// One channel (or source, medium, campaign, content: the value is under the grouping's name)
/// with what every model credits it (`attribution --compare`).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct AttributionCompareRow {
    /// One key per attribution model (`first_touch`, …, `shapley`), holding what it credits the
    /// group, in the metric's unit as without `--compare`. (Beside the group's value under
    /// the grouping's name, a string: hence any value in the schema.)
    #[serde(flatten)]
    #[schema(value_type = BTreeMap<String, serde_json::Value>)]
    pub models: BTreeMap<String, Option<f64>>,
}

/// The summary of `attribution`.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct AttributionSummary {
    /// The metric credited.
    pub metric: String,
    /// The attribution models credited with it, in the columns' order.
    pub models: Vec<&'static str>,
    /// Journeys ending in a conversion credited (of the window; for `nrr`, of the accounts
    /// paying at its start).
    pub converting_journeys: usize,
    /// Journeys without a conversion, which the data-driven models (`markov`, `shapley`)
    /// learn from.
    pub non_converting_journeys: usize,
    /// How far before conversion a touch still belongs to the journey, in days.
    pub lookback_days: u32,
}

/// One touch of the `journey` report's account, up to `as_of`.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct JourneyRow {
    /// When it happened, RFC 3339.
    pub occurred_at: String,
    /// The channel it classifies as.
    pub channel: String,
    /// Its source (`utm_source`), if it has one.
    pub source: Option<String>,
    /// Its medium (`utm_medium`), if it has one.
    pub medium: Option<String>,
    /// Its campaign (`utm_campaign`), if it has one.
    pub campaign: Option<String>,
    /// Where it came from.
    pub origin: JourneyOrigin,
    /// Whether it is in the converting journey: before conversion, within the lookback.
    pub in_journey: bool,
    /// Its share of the conversion under the model, 0–1; null outside the journey.
    pub credit: Option<f64>,
}

/// Where a touch of a journey came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JourneyOrigin {
    /// A session of page views, described by its first page.
    Session,
    /// A `track` message carrying `context.campaign`.
    CampaignTrack,
    /// A row of `touchpoints.csv`.
    Offline,
    /// No touch: the journey of an account converted without one is a direct touch at
    /// conversion.
    Conversion,
}

impl From<TouchpointOrigin> for JourneyOrigin {
    fn from(origin: TouchpointOrigin) -> Self {
        match origin {
            TouchpointOrigin::Session => Self::Session,
            TouchpointOrigin::CampaignTrack => Self::CampaignTrack,
            TouchpointOrigin::Offline => Self::Offline,
        }
    }
}

/// The summary of `journey`.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct JourneySummary {
    /// The account.
    pub account: String,
    /// The attribution model of the credits.
    pub model: &'static str,
    /// When the account converted, RFC 3339; null for one that has not.
    pub converted_at: Option<String>,
}

/// One converting account whose journey the campaign touched (`campaign-accounts`).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct CampaignAccountsRow {
    /// The account's id.
    pub account: String,
    /// Its name, if known.
    pub name: Option<String>,
    /// When it converted, RFC 3339.
    pub converted_at: String,
    /// The campaign's touches in its converting journey.
    pub touches: usize,
    /// Every touch of its converting journey.
    pub journey_touches: usize,
    /// The share of its conversion the model credits to the campaign, 0–1: the weights of the
    /// campaign's touches, summed.
    pub credit: f64,
    /// The account's own value of the metric (money in the report's currency, else a count).
    pub outcome: f64,
    /// `credit` × `outcome`: what the account adds to the campaign's row of `attribution`.
    pub credited: f64,
}

/// The summary of `campaign-accounts`.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct CampaignAccountsSummary {
    /// The campaign.
    pub campaign: String,
    /// The attribution model of the credits.
    pub model: &'static str,
    /// The metric credited.
    pub metric: String,
    /// Accounts listed.
    pub accounts: usize,
    /// The rows' `credited`, summed: the campaign's value in `attribution --by campaign`
    /// with the same model, metric and window.
    pub credited: f64,
}

/// The outcomes an account can be credited with.
pub const METRICS: &[&str] = &[
    "conversions",
    "initial_arr",
    "realized_revenue",
    "expansion_revenue",
    "predicted_ltv",
    "activated",
    "retained_90d",
    "retained_365d",
    "renewed",
    "nrr",
];

/// Metrics in money (reported in major units, joined with spend as ROAS).
const MONEY: &[&str] = &[
    "initial_arr",
    "realized_revenue",
    "expansion_revenue",
    "predicted_ltv",
];

fn dimension(params: &ReportParams) -> Result<String, ReportError> {
    let by = params.by.clone().unwrap_or_else(|| "channel".to_owned());
    if TOUCH_GROUPINGS.contains(&by.as_str()) {
        Ok(by)
    } else {
        Err(ReportError::Grouping {
            report: "attribution",
            by,
            expected: TOUCH_GROUPINGS.join(", "),
        })
    }
}

/// One account's value of `metric`, in minor units for money.
#[derive(Debug)]
pub(crate) struct Outcomes<'a> {
    model: &'a Derived,
    revenue: &'a Revenue,
    settings: &'a ReportSettings,
    ltv: Option<&'a HashMap<AccountId, AccountLtv>>,
}

impl<'a> Outcomes<'a> {
    /// `ltv` holds the accounts' predicted values when the metric is `predicted_ltv`.
    pub(crate) fn new(
        model: &'a Derived,
        revenue: &'a Revenue,
        settings: &'a ReportSettings,
        ltv: Option<&'a HashMap<AccountId, AccountLtv>>,
    ) -> Self {
        Self {
            model,
            revenue,
            settings,
            ltv,
        }
    }

    fn ltv(&self, a: &AccountRevenue) -> Option<&AccountLtv> {
        self.ltv.and_then(|values| values.get(&a.account))
    }

    /// The variance of the account's value of `metric`: that of its predicted LTV, else 0 (a
    /// fact, not a prediction).
    fn variance(&self, metric: &str, a: &AccountRevenue) -> f64 {
        match metric {
            "predicted_ltv" => self.ltv(a).map_or(0.0, |v| v.variance),
            _ => 0.0,
        }
    }

    pub fn value(&self, metric: &str, a: &AccountRevenue) -> f64 {
        let as_of = self.revenue.as_of;
        let converted = a.converted_at.unwrap_or(as_of);
        let initial = a.first_paid.map_or(0, |(_, m)| m) as f64;
        let retained = |days: i64| {
            let at = converted.plus_millis(days * DAY_MS);
            f64::from(u8::from(at <= as_of && a.mrr_at(at) > 0))
        };
        match metric {
            "conversions" => 1.0,
            "initial_arr" => 12.0 * initial,
            "realized_revenue" => a.realized(as_of),
            "expansion_revenue" => a
                .movements
                .iter()
                .filter(|m| m.kind == MovementKind::Expansion && m.at >= converted)
                .map(|m| m.amount as f64)
                .sum(),
            "predicted_ltv" => self.ltv(a).map_or(0.0, |v| v.predicted),
            "activated" => f64::from(u8::from(
                self.model
                    .usage()
                    .activated_at(&a.account, &self.settings.activation, as_of)
                    .is_some(),
            )),
            "retained_90d" => retained(90),
            "retained_365d" => retained(365),
            "renewed" => f64::from(u8::from(
                self.model.ledger().account(&a.account).is_some_and(|l| {
                    l.deals().any(|d| {
                        d.kind == DealKind::Renewal
                            && d.status == DealStatus::Won
                            && d.closed_at.is_some_and(|t| t <= as_of)
                    })
                }),
            )),
            _ => 0.0,
        }
    }
}

/// Spend per unit of outcome (SPEC §3, Acquisition costs): nothing spent costs 0 per unit
/// whatever came of it, while spend that brought nothing has no cost per unit (not infinity).
/// `unit-economics` computes CAC with it.
pub(crate) fn cost_per(spend: i64, outcome: f64) -> Option<f64> {
    match spend {
        0 => Some(0.0),
        _ if outcome <= 0.0 => None,
        s => Some(s as f64 / outcome),
    }
}

/// Value returned per unit spent: none without spend (nothing to return on), 0 for spend that
/// returned nothing.
pub(crate) fn roas(spend: i64, value: f64) -> Option<f64> {
    (spend > 0).then(|| value / spend as f64)
}

/// The report window of acquisition costs (SPEC §3): from `--from` (default: all time) to
/// `--to` (default, and at most, `as_of`), both included. Spend and the customers it is
/// divided by are counted in the same window, or cost per customer mixes periods.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AcquisitionWindow {
    from: Option<Timestamp>,
    to: Timestamp,
}

impl AcquisitionWindow {
    pub(crate) fn of(params: &ReportParams) -> Self {
        Self {
            from: params.from,
            to: params.to.unwrap_or(params.as_of).min(params.as_of),
        }
    }

    pub(crate) fn contains(&self, at: Timestamp) -> bool {
        at <= self.to && self.from.is_none_or(|f| at >= f)
    }
}

/// The groupings `spend.csv` has: spend can be matched by these only.
pub(crate) const SPEND_GROUPINGS: &[&str] = &["channel", "source", "campaign"];

/// Spend per value of `by` in the window, for the groupings spend.csv has (`None` for the
/// others: there is no spend to match).
pub(crate) fn spend_by(
    model: &Derived,
    settings: &ReportSettings,
    window: AcquisitionWindow,
    by: &str,
) -> Option<BTreeMap<String, i64>> {
    if !SPEND_GROUPINGS.contains(&by) {
        return None;
    }
    let mut spend = BTreeMap::new();
    for row in model.ledger().spend() {
        if !window.contains(row.date) {
            continue;
        }
        // A cost in a currency without a rate is left out, as if absent (the report warns).
        let Ok(cost) = settings.convert(row.cost) else {
            continue;
        };
        let key = match by {
            "channel" => Some(row.channel.clone()),
            "source" => row.source.clone(),
            _ => row.campaign.clone(),
        };
        *spend
            .entry(key.unwrap_or_else(|| "(none)".to_owned()))
            .or_insert(0) += cost;
    }
    Some(spend)
}

/// What the models credit: every journey (converting first), each converting journey's value
/// of the metric, and for NRR the MRR at the window's start as a second value.
struct Inputs {
    journeys: Vec<Journey>,
    values: Vec<f64>,
    bases: Option<Vec<f64>>,
    /// 1 for each journey credited, to count customers by the same weights.
    counted: Vec<f64>,
    /// The variance of each journey's value.
    variances: Vec<f64>,
}

fn inputs(
    converting: Vec<(usize, Journey)>,
    other: Vec<Journey>,
    revenue: &Revenue,
    outcomes: &Outcomes,
    metric: &str,
    params: &ReportParams,
) -> Inputs {
    let mut all: Vec<Journey> = Vec::with_capacity(converting.len() + other.len());
    let mut values = Vec::new();
    let mut bases = Vec::new();
    let mut variances = Vec::new();
    let (t0, t1) = window(params);
    for (i, j) in converting {
        let a = &revenue.accounts[i];
        if metric == "nrr" {
            let start = a.mrr_at(t0);
            if start <= 0 {
                continue;
            }
            values.push(a.mrr_at(t1) as f64);
            bases.push(start as f64);
        } else {
            values.push(outcomes.value(metric, a));
        }
        variances.push(outcomes.variance(metric, a));
        all.push(j);
    }
    let mut counted = vec![1.0; all.len()];
    all.extend(other);
    values.resize(all.len(), 0.0);
    counted.resize(all.len(), 0.0);
    variances.resize(all.len(), 0.0);
    let bases = (metric == "nrr").then(|| {
        bases.resize(all.len(), 0.0);
        bases
    });
    Inputs {
        journeys: all,
        values,
        bases,
        counted,
        variances,
    }
}

/// Credits the metric under `model`: per state id, the credited value (minor units for money)
/// and, for NRR, the credited MRR at the window's start.
fn credited(model: &Model, inputs: &Inputs) -> Result<Vec<(f64, f64)>, ReportError> {
    let err = |e: tenure_attribution::AttributionError| ReportError::Parameter {
        name: "model",
        reason: e.to_string(),
    };
    let numerator = credit(model, &inputs.journeys, &inputs.values).map_err(err)?;
    let denominator = match &inputs.bases {
        Some(bases) => credit(model, &inputs.journeys, bases).map_err(err)?,
        None => Vec::new(),
    };
    Ok(numerator
        .iter()
        .enumerate()
        .map(|(s, &n)| (n, denominator.get(s).copied().unwrap_or(0.0)))
        .collect())
}

/// Per state id: the customers credited, and the variance of the credited metric. A model that
/// splits an account credits its variance by the same weights, which for a share w below 1
/// counts w × variance where w² × variance would do: the interval errs wide.
fn spread(model: &Model, inputs: &Inputs) -> Result<(Vec<f64>, Vec<f64>), ReportError> {
    let err = |e: tenure_attribution::AttributionError| ReportError::Parameter {
        name: "model",
        reason: e.to_string(),
    };
    let customers = credit(model, &inputs.journeys, &inputs.counted).map_err(err)?;
    let variances = if inputs.variances.iter().any(|v| *v > 0.0) {
        credit(model, &inputs.journeys, &inputs.variances).map_err(err)?
    } else {
        Vec::new()
    };
    Ok((customers, variances))
}

fn metric_of(params: &ReportParams) -> Result<String, ReportError> {
    let metric = params
        .metric
        .clone()
        .unwrap_or_else(|| "conversions".to_owned());
    if METRICS.contains(&metric.as_str()) {
        Ok(metric)
    } else {
        Err(ReportError::Parameter {
            name: "metric",
            reason: format!(
                "{metric:?} is not a metric (expected one of {})",
                METRICS.join(", ")
            ),
        })
    }
}

/// A credited value of `metric` in minor units, as the report shows it.
fn shown(metric: &str, v: f64, revenue: &Revenue) -> Option<f64> {
    if MONEY.contains(&metric) {
        Some(money_f(v, revenue.currency))
    } else {
        rate(Some(v))
    }
}

/// A report crediting each account's value of the metric, given the accounts' revenue and
/// predicted values when the metric is `predicted_ltv`.
type Crediting = fn(
    &Derived,
    &ReportSettings,
    &ReportParams,
    Option<&AccountValues>,
) -> Result<Report, ReportError>;

/// The revenue the accounts' values were predicted from, or without values the revenue built
/// now.
fn revenue_of<'v>(
    model: &Derived,
    settings: &ReportSettings,
    params: &ReportParams,
    ltv: Option<&'v AccountValues>,
) -> Result<Cow<'v, Revenue>, ReportError> {
    match ltv {
        Some(v) => Ok(Cow::Borrowed(&v.revenue)),
        None => Revenue::ungrouped(model, settings, params).map(Cow::Owned),
    }
}

/// Runs `run`: the accounts' predicted values first, taken from the model in turns (for
/// `predicted_ltv` only), then the credit in one turn with the model.
fn values_then(
    run: Crediting,
    with_model: WithModel,
    settings: &ReportSettings,
    params: &ReportParams,
    kept: Option<&Lifecycles>,
) -> Result<Report, ReportError> {
    let values = (metric_of(params)? == "predicted_ltv")
        .then(|| account_values(with_model, settings, params, kept))
        .transpose()?;
    // The values' revenue is the one the credit reads: built once, not again in the turn.
    in_one_turn(with_model, |model| {
        run(model, settings, params, values.as_ref())
    })
}

/// `attribution`, through [`values_then`].
pub(crate) fn report_in_turns(
    with_model: WithModel,
    settings: &ReportSettings,
    params: &ReportParams,
    _: ShouldStop,
    kept: Option<&Lifecycles>,
) -> Result<Report, ReportError> {
    values_then(report, with_model, settings, params, kept)
}

/// `campaign-accounts`, through [`values_then`].
pub(crate) fn campaign_accounts_in_turns(
    with_model: WithModel,
    settings: &ReportSettings,
    params: &ReportParams,
    _: ShouldStop,
    kept: Option<&Lifecycles>,
) -> Result<Report, ReportError> {
    values_then(campaign_accounts_report, with_model, settings, params, kept)
}

fn report(
    model: &Derived,
    settings: &ReportSettings,
    params: &ReportParams,
    ltv: Option<&AccountValues>,
) -> Result<Report, ReportError> {
    let by = dimension(params)?;
    let metric = metric_of(params)?;
    let revenue = revenue_of(model, settings, params, ltv)?;
    let revenue = revenue.as_ref();
    let ltv = ltv.map(|v| &v.values);
    let window = AcquisitionWindow::of(params);
    // The conversions of the window are credited, as its spend is counted; NRR's window is
    // the one it measures MRR over, and it credits the accounts paying at its start.
    let Journeys {
        converting,
        other,
        states,
    } = journeys(
        model,
        &revenue.accounts,
        revenue.as_of,
        settings,
        &by,
        |at| metric == "nrr" || window.contains(at),
    );
    let (converting_count, non_converting) = (converting.len(), other.len());
    let outcomes = Outcomes::new(model, revenue, settings, ltv);
    let inputs = inputs(converting, other, revenue, &outcomes, &metric, params);
    let models: Vec<Model> = if params.compare {
        Model::NAMES
            .iter()
            .map(|n| model_of(n, settings))
            .collect::<Result<_, _>>()?
    } else {
        vec![model_of(
            params.model.as_deref().unwrap_or("linear"),
            settings,
        )?]
    };
    let results: Vec<Vec<(f64, f64)>> = models
        .iter()
        .map(|m| credited(m, &inputs))
        .collect::<Result<_, _>>()?;
    // A state's figure under one model; 0 for a state no journey holds (spend only).
    let figure = |r: &Vec<(f64, f64)>, name: &str| {
        states
            .get(name)
            .and_then(|s| r.get(s as usize).copied())
            .unwrap_or_default()
    };
    let spend = spend_by(model, settings, window, &by);
    let mut names: BTreeSet<String> = (0..states.len())
        .map(|s| states.name(s as u32).to_owned())
        .collect();
    if let Some(spend) = &spend {
        names.extend(spend.keys().cloned());
    }
    let c = revenue.currency;
    let mut columns = vec![by.clone()];
    let rows = if params.compare {
        columns.extend(models.iter().map(|m| m.name().to_owned()));
        let rows = names.iter().map(|s| {
            let models = models
                .iter()
                .zip(&results)
                .map(|(m, r)| {
                    let (num, den) = figure(r, s);
                    let v = if metric == "nrr" {
                        rate((den > 0.0).then(|| num / den))
                    } else {
                        shown(&metric, num, revenue)
                    };
                    (m.name().to_owned(), v)
                })
                .collect();
            (s.clone(), AttributionCompareRow { models })
        });
        grouped_rows(Some(&by), rows)
    } else {
        let r = &results[0];
        let (customers, variances) = spread(&models[0], &inputs)?;
        let total: f64 = r.iter().map(|(n, _)| n).sum();
        columns.extend(
            [
                metric.as_str(),
                "share",
                "spend",
                "cost_per",
                "roas",
                "customers",
                "small_sample",
                "low_90",
                "high_90",
            ]
            .map(str::to_owned),
        );
        let at = |v: &Vec<f64>, name: &str| {
            states
                .get(name)
                .and_then(|s| v.get(s as usize).copied())
                .unwrap_or_default()
        };
        let rows = names.iter().map(|s| {
            let (num, den) = figure(r, s);
            let n = at(&customers, s);
            let half = (!variances.is_empty()).then(|| Z_90 * at(&variances, s).sqrt());
            let cost = spend.as_ref().map(|sp| sp.get(s).copied().unwrap_or(0));
            let (value, share) = if metric == "nrr" {
                (rate((den > 0.0).then(|| num / den)), None)
            } else {
                (
                    shown(&metric, num, revenue),
                    rate((total > 0.0).then(|| num / total)),
                )
            };
            let money_metric = MONEY.contains(&metric.as_str());
            // Spend per dollar of a money metric, else in major units per one of the count.
            let per = cost.and_then(|s| cost_per(s, num)).map(|per| {
                if money_metric {
                    per
                } else {
                    per / 10f64.powi(c.exponent() as i32)
                }
            });
            let row = AttributionRow {
                metric: BTreeMap::from([(metric.clone(), value)]),
                share,
                spend: cost.map(|v| money(v, c)),
                cost_per: rate(if metric == "nrr" { None } else { per }),
                roas: rate(if money_metric {
                    cost.and_then(|s| roas(s, num))
                } else {
                    None
                }),
                customers: rate(Some(n)).unwrap_or(0.0),
                small_sample: n < SMALL_SAMPLE_CUSTOMERS,
                low_90: half.and_then(|h| shown(&metric, (num - h).max(0.0), revenue)),
                high_90: half.and_then(|h| shown(&metric, num + h, revenue)),
            };
            (s.clone(), row)
        });
        grouped_rows(Some(&by), rows)
    };
    let mut report = Report::new("attribution", params, Some(by), columns, rows);
    report.summary = Some(to_summary(&AttributionSummary {
        metric,
        models: models.iter().map(Model::name).collect(),
        converting_journeys: converting_count,
        non_converting_journeys: non_converting,
        lookback_days: settings.attribution.lookback_days,
    }));
    Ok(report)
}

/// `journey ACCOUNT`: the account's path to conversion with each touch's credit under a
/// per-journey model.
pub(crate) fn journey_report(
    model: &Derived,
    settings: &ReportSettings,
    params: &ReportParams,
) -> Result<Report, ReportError> {
    let account = params.account_id("journey")?;
    let attribution_model = model_of(params.model.as_deref().unwrap_or("linear"), settings)?;
    let revenue = Revenue::ungrouped(model, settings, params)?;
    let index = revenue.accounts.iter().position(|a| a.account == account);
    let converted = index.and_then(|i| revenue.accounts[i].converted_at);
    let all = model.account_journeys();
    let list = all.get(&account).map(Vec::as_slice).unwrap_or_default();
    let lookback = i64::from(settings.attribution.lookback_days) * DAY_MS;
    let columns: Vec<String> = [
        "occurred_at",
        "channel",
        "source",
        "medium",
        "campaign",
        "origin",
        "in_journey",
        "credit",
    ]
    .map(str::to_owned)
    .to_vec();
    let mut rows = Vec::new();
    let mut credited: Vec<(i64, f64)> = match converted {
        Some(at) => {
            let j =
                converting_journey(model, settings, &account, at, "channel", &mut States::new());
            let w = weights(&attribution_model, &j).map_err(|e| ReportError::Parameter {
                name: "model",
                reason: e.to_string(),
            })?;
            j.touches.iter().map(|t| t.at).zip(w).collect()
        }
        None => Vec::new(),
    };
    for t in list {
        let in_journey = converted
            .is_some_and(|at| t.occurred_at < at && t.occurred_at >= at.plus_millis(-lookback));
        let credit = if in_journey {
            let pos = credited
                .iter()
                .position(|(at, _)| *at == t.occurred_at.millis());
            pos.map(|p| credited.remove(p).1)
        } else {
            None
        };
        rows.push(JourneyRow {
            occurred_at: t.occurred_at.to_string(),
            channel: t.channel().to_string(),
            source: t.source().map(|s| s.as_str().to_owned()),
            medium: t.medium().map(|m| m.as_str().to_owned()),
            campaign: t.campaign().map(|c| c.as_str().to_owned()),
            origin: t.origin.into(),
            in_journey,
            credit: rate(credit),
        });
    }
    // A journey without touchpoints is one direct touch at conversion.
    for (at, w) in credited {
        rows.push(JourneyRow {
            occurred_at: Timestamp::from_millis(at).to_string(),
            channel: DIRECT.into(),
            source: None,
            medium: None,
            campaign: None,
            origin: JourneyOrigin::Conversion,
            in_journey: true,
            credit: rate(Some(w)),
        });
    }
    let mut report = Report::new("journey", params, None, columns, to_rows(rows));
    report.summary = Some(to_summary(&JourneySummary {
        account: account.as_str().to_owned(),
        model: attribution_model.name(),
        converted_at: converted.map(|t| t.to_string()),
    }));
    Ok(report)
}

/// `campaign-accounts --campaign C`: the accounts converting in the window whose journeys
/// touched the campaign, each with the share of its conversion the model credits the campaign
/// and its value of the metric. The rows' credited values add up to the campaign's row of
/// `attribution --by campaign` under the same model, metric and window.
fn campaign_accounts_report(
    model: &Derived,
    settings: &ReportSettings,
    params: &ReportParams,
    ltv: Option<&AccountValues>,
) -> Result<Report, ReportError> {
    let campaign = params
        .campaign
        .clone()
        .ok_or_else(|| ReportError::Parameter {
            name: "campaign",
            reason: "the campaign-accounts report needs a campaign".into(),
        })?;
    let metric = metric_of(params)?;
    if metric == "nrr" {
        // NRR is a ratio of two credited sums, not a sum of each account's share.
        return Err(ReportError::Parameter {
            name: "metric",
            reason: "nrr is a ratio over the campaign's accounts, not credited account by \
                     account: choose another metric"
                .into(),
        });
    }
    let attribution_model = model_of(params.model.as_deref().unwrap_or("linear"), settings)?;
    if !attribution_model.is_per_journey() {
        return Err(ReportError::Parameter {
            name: "model",
            reason: format!(
                "{} credits the journeys together, not one by one, so it gives no account its \
                 share: choose a per-journey model",
                attribution_model.name()
            ),
        });
    }
    let revenue = revenue_of(model, settings, params, ltv)?;
    let revenue = revenue.as_ref();
    let ltv = ltv.map(|v| &v.values);
    let window = AcquisitionWindow::of(params);
    let Journeys {
        converting, states, ..
    } = journeys(
        model,
        &revenue.accounts,
        revenue.as_of,
        settings,
        "campaign",
        |at| window.contains(at),
    );
    let outcomes = Outcomes::new(model, revenue, settings, ltv);
    let c = revenue.currency;
    let money_metric = MONEY.contains(&metric.as_str());
    let major = |minor: f64| {
        if money_metric {
            money_f(minor, c)
        } else {
            minor
        }
    };
    let mut found: Vec<(f64, CampaignAccountsRow)> = Vec::new();
    if let Some(state) = states.get(&campaign) {
        for (i, journey) in &converting {
            let touches = journey.touches.iter().filter(|t| t.state == state).count();
            if touches == 0 {
                continue;
            }
            let w = weights(&attribution_model, journey).map_err(|e| ReportError::Parameter {
                name: "model",
                reason: e.to_string(),
            })?;
            let credit: f64 = journey
                .touches
                .iter()
                .zip(&w)
                .filter(|(t, _)| t.state == state)
                .map(|(_, w)| w)
                .sum();
            let a = &revenue.accounts[*i];
            let outcome = outcomes.value(&metric, a);
            let credited = credit * outcome;
            found.push((
                credited,
                CampaignAccountsRow {
                    account: a.account.as_str().to_owned(),
                    name: model
                        .profiles()
                        .get(&a.account)
                        .and_then(|p| p.get("name"))
                        .map(str::to_owned),
                    converted_at: a.converted_at.map(|t| t.to_string()).unwrap_or_default(),
                    touches,
                    journey_touches: journey.touches.len(),
                    credit: rate(Some(credit)).unwrap_or(0.0),
                    outcome: rate(Some(major(outcome))).unwrap_or(0.0),
                    credited: rate(Some(major(credited))).unwrap_or(0.0),
                },
            ));
        }
    }
    // Most credited first; then by id, so equal credits list the same way every time.
    found.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.account.cmp(&b.1.account)));
    let total: f64 = found.iter().map(|(v, _)| v).sum();
    let columns: Vec<String> = [
        "account",
        "name",
        "converted_at",
        "touches",
        "journey_touches",
        "credit",
        "outcome",
        "credited",
    ]
    .map(str::to_owned)
    .to_vec();
    let accounts = found.len();
    let rows = to_rows(found.into_iter().map(|(_, row)| row));
    let mut report = Report::new("campaign-accounts", params, None, columns, rows);
    report.summary = Some(to_summary(&CampaignAccountsSummary {
        campaign,
        model: attribution_model.name(),
        metric,
        accounts,
        credited: rate(Some(major(total))).unwrap_or(0.0),
    }));
    Ok(report)
}
