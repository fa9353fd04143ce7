//! `attribution` and `journey`: credit each channel (source, medium, campaign, content) with
//! lifetime outcomes of the customers it brought, under any model (SPEC §3, Attribution).
//!
//! The journeys credited are those of [`crate::journeys`].
//!
//! Outcomes credited per converting account: conversions, initial ARR, realized revenue,
//! expansion revenue, predicted LTV, activated, retained at 90 and 365 days, renewed; and NRR,
//! credit-weighted (Σ credit × MRR(t1) ÷ Σ credit × MRR(t0) over the accounts paying at t0).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Map, Value};
use tenure_attribution::{credit, weights, Journey, Model, States};
use tenure_core::{DealKind, DealStatus, Timestamp};
use tenure_engine::{Model as Derived, DIRECT};
use tenure_survival::KaplanMeier;

use crate::journeys::{converting_journey, journeys, model_of, Journeys};
use crate::retention::window;
use crate::revenue::{MovementKind, Revenue, DAY_MS, TOUCH_GROUPINGS};
use crate::survival::{observations, DAYS_PER_MONTH};
use crate::{major, ratio, AccountRevenue, Report, ReportError, ReportParams, ReportSettings};

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
pub struct Outcomes<'a> {
    model: &'a Derived,
    revenue: &'a Revenue,
    settings: &'a ReportSettings,
    rmst_months: f64,
}

impl<'a> Outcomes<'a> {
    pub fn new(model: &'a Derived, revenue: &'a Revenue, settings: &'a ReportSettings) -> Self {
        let obs = observations(revenue.all(), revenue.as_of);
        let horizon = f64::from(settings.revenue.ltv_horizon_months) * DAYS_PER_MONTH;
        let rmst_months = if obs.is_empty() {
            0.0
        } else {
            KaplanMeier::fit(&obs).rmst(horizon) / DAYS_PER_MONTH
        };
        Self {
            model,
            revenue,
            settings,
            rmst_months,
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
            // The account's first MRR for the group's expected lifetime: the survival form of
            // SPEC's predicted LTV, one account at a time.
            "predicted_ltv" => initial * self.settings.revenue.gross_margin * self.rmst_months,
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
        all.push(j);
    }
    all.extend(other);
    values.resize(all.len(), 0.0);
    let bases = (metric == "nrr").then(|| {
        bases.resize(all.len(), 0.0);
        bases
    });
    Inputs {
        journeys: all,
        values,
        bases,
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

fn value_json(metric: &str, v: f64, revenue: &Revenue) -> Value {
    if MONEY.contains(&metric) {
        major(v.round() as i64, revenue.currency)
    } else {
        ratio(Some(v))
    }
}

pub(crate) fn report(
    model: &Derived,
    settings: &ReportSettings,
    params: &ReportParams,
) -> Result<Report, ReportError> {
    let by = dimension(params)?;
    let metric = metric_of(params)?;
    let revenue = Revenue::ungrouped(model, settings, params)?;
    let window = AcquisitionWindow::of(params);
    // The conversions of the window are credited, as its spend is counted; NRR's window is
    // the one it measures MRR over, and it credits the accounts paying at its start.
    let Journeys {
        converting,
        other,
        states,
    } = journeys(model, &revenue, settings, &by, |at| {
        metric == "nrr" || window.contains(at)
    });
    let (converting_count, non_converting) = (converting.len(), other.len());
    let outcomes = Outcomes::new(model, &revenue, settings);
    let inputs = inputs(converting, other, &revenue, &outcomes, &metric, params);
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
    let mut rows = Vec::new();
    if params.compare {
        columns.extend(models.iter().map(|m| m.name().to_owned()));
        for s in &names {
            let mut row = Map::new();
            row.insert(by.clone(), Value::String(s.clone()));
            for (m, r) in models.iter().zip(&results) {
                let (num, den) = figure(r, s);
                let v = if metric == "nrr" {
                    ratio((den > 0.0).then(|| num / den))
                } else {
                    value_json(&metric, num, &revenue)
                };
                row.insert(m.name().to_owned(), v);
            }
            rows.push(row);
        }
    } else {
        let r = &results[0];
        let total: f64 = r.iter().map(|(n, _)| n).sum();
        columns.extend([metric.as_str(), "share", "spend", "cost_per", "roas"].map(str::to_owned));
        for s in &names {
            let (num, den) = figure(r, s);
            let cost = spend.as_ref().map(|sp| sp.get(s).copied().unwrap_or(0));
            let mut row = Map::new();
            row.insert(by.clone(), Value::String(s.clone()));
            if metric == "nrr" {
                row.insert(metric.clone(), ratio((den > 0.0).then(|| num / den)));
                row.insert("share".into(), Value::Null);
            } else {
                row.insert(metric.clone(), value_json(&metric, num, &revenue));
                row.insert("share".into(), ratio((total > 0.0).then(|| num / total)));
            }
            row.insert("spend".into(), cost.map_or(Value::Null, |v| major(v, c)));
            let money = MONEY.contains(&metric.as_str());
            // Spend per dollar of a money metric, else in major units per one of the count.
            let per = cost.and_then(|s| cost_per(s, num)).map(|per| {
                if money {
                    per
                } else {
                    per / 10f64.powi(c.exponent() as i32)
                }
            });
            row.insert(
                "cost_per".into(),
                ratio(if metric == "nrr" { None } else { per }),
            );
            row.insert(
                "roas".into(),
                ratio(if money {
                    cost.and_then(|s| roas(s, num))
                } else {
                    None
                }),
            );
            rows.push(row);
        }
    }
    let mut report = Report::new("attribution", params, Some(by), columns, rows);
    report.summary = Some(json!({
        "metric": metric,
        "models": models.iter().map(Model::name).collect::<Vec<_>>(),
        "converting_journeys": converting_count,
        "non_converting_journeys": non_converting,
        "lookback_days": settings.attribution.lookback_days,
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
        let mut row = Map::new();
        row.insert(
            "occurred_at".into(),
            Value::String(t.occurred_at.to_string()),
        );
        row.insert("channel".into(), Value::String(t.channel().to_string()));
        row.insert("source".into(), t.source().map(|s| s.as_str()).into());
        row.insert("medium".into(), t.medium().map(|m| m.as_str()).into());
        row.insert("campaign".into(), t.campaign().map(|c| c.as_str()).into());
        row.insert(
            "origin".into(),
            serde_json::to_value(t.origin).unwrap_or(Value::Null),
        );
        row.insert("in_journey".into(), in_journey.into());
        row.insert("credit".into(), ratio(credit));
        rows.push(row);
    }
    // A journey without touchpoints is one direct touch at conversion.
    for (at, w) in credited {
        let mut row = Map::new();
        row.insert(
            "occurred_at".into(),
            Value::String(Timestamp::from_millis(at).to_string()),
        );
        row.insert("channel".into(), Value::String(DIRECT.into()));
        for k in ["source", "medium", "campaign"] {
            row.insert(k.into(), Value::Null);
        }
        row.insert("origin".into(), Value::String("conversion".into()));
        row.insert("in_journey".into(), true.into());
        row.insert("credit".into(), ratio(Some(w)));
        rows.push(row);
    }
    let mut report = Report::new("journey", params, None, columns, rows);
    report.summary = Some(json!({
        "account": account.as_str(),
        "model": attribution_model.name(),
        "converted_at": converted.map(|t| t.to_string()),
    }));
    Ok(report)
}
