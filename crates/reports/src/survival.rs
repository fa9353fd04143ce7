//! `survival`: Kaplan–Meier curves of customer lifetime (days from conversion to churn,
//! censored at `as_of`) with the 95% band, at-risk counts, median lifetime and restricted mean
//! (RMST) per group, and the log-rank test across the groups (SPEC §3).

use std::collections::BTreeMap;

use serde::Serialize;
use tenure_survival::{log_rank, KaplanMeier, Observation};
use utoipa::ToSchema;

use crate::calendar::DAY_MS;
use crate::revenue::Revenue;
use crate::row::{grouped_rows, rate, to_summary, Count};
use crate::{AccountRevenue, Report, ReportError, ReportParams, ReportSettings};

/// One step of a group's Kaplan–Meier curve (the group under the grouping's name, `group`
/// without `--by`): a time at which customers churned or were censored. Counts are
/// credit-weighted under `--model`.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct SurvivalRow {
    /// Days from conversion.
    pub time_days: Option<f64>,
    /// Customers still observed at that time (lifetime ≥ it), who could churn at it.
    pub at_risk: Count,
    /// Customers who churned at that time.
    pub events: Count,
    /// Customers whose observation ended at that time still paying (at `as_of`).
    pub censored: Count,
    /// The share still a customer after that time, 0–1.
    pub survival: Option<f64>,
    /// Lower end of the 95% band of `survival` (exponential Greenwood), 0–1.
    pub lower_95: Option<f64>,
    /// Upper end of the 95% band of `survival`, 0–1.
    pub upper_95: Option<f64>,
}

/// The summary of `survival`: each group's lifetimes and the test of whether the groups'
/// curves differ.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct SurvivalSummary {
    /// The horizon of the restricted mean, in days: the LTV horizon (months) × 365.25 ÷ 12.
    pub horizon_days: Option<f64>,
    /// One per group with a converted account, in the rows' order.
    pub groups: Vec<SurvivalGroup>,
    /// The log-rank test across the groups; null with fewer than two groups, and under
    /// `--model`, where an account in several groups makes them dependent samples.
    pub log_rank: Option<SurvivalLogRank>,
}

/// One group's lifetimes in the `survival` summary. Counts are credit-weighted under `--model`.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct SurvivalGroup {
    /// One key: the grouping's name (`group` without `--by`), holding the group's value.
    #[serde(flatten)]
    pub group: BTreeMap<String, String>,
    /// Converted accounts of the group.
    pub customers: Count,
    /// Those that churned by `as_of`.
    pub churned: Count,
    /// Median lifetime in days, where the curve first reaches 0.5; null when it never does.
    pub median_days: Option<f64>,
    /// Restricted mean lifetime in days: the area under the curve up to the horizon.
    pub rmst_days: Option<f64>,
    /// Customers still at risk at days 0, 90, 180, 365, 730 and 1095 after conversion, keyed
    /// `day_0` … `day_1095`.
    pub at_risk: BTreeMap<String, Count>,
}

/// The k-sample log-rank test of "all groups share one survival curve".
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct SurvivalLogRank {
    /// The χ² statistic.
    pub statistic: Option<f64>,
    /// k − 1, with k the number of groups.
    pub degrees_of_freedom: u32,
    /// P(χ²(k − 1) > statistic), unrounded.
    pub p_value: f64,
}

/// Days in an average month, to turn the LTV horizon into days and RMST into months.
pub const DAYS_PER_MONTH: f64 = 365.25 / 12.0;

/// Days at which the summary shows how many customers were still at risk.
const AT_RISK_DAYS: [f64; 6] = [0.0, 90.0, 180.0, 365.0, 730.0, 1095.0];

/// Lifetimes of the converted accounts: time to first churn, or to `as_of` if still a customer;
/// each weighted by the account's weight in its group.
pub fn observations<'a>(
    accounts: impl Iterator<Item = (&'a AccountRevenue, f64)>,
    as_of: tenure_core::Timestamp,
) -> Vec<Observation> {
    accounts
        .filter_map(|(a, weight)| {
            let start = a.converted_at?;
            let (end, event) = match a.churned_at {
                Some(churn) if churn <= as_of => (churn, true),
                _ => (as_of, false),
            };
            Some(Observation {
                time: ((end.millis() - start.millis()).max(0)) as f64 / DAY_MS as f64,
                event,
                weight,
            })
        })
        .collect()
}

pub(crate) fn report(
    revenue: &Revenue,
    settings: &ReportSettings,
    params: &ReportParams,
) -> Result<Report, ReportError> {
    let label = revenue.by.clone().unwrap_or_else(|| "group".to_owned());
    let horizon = f64::from(settings.revenue.ltv_horizon_months) * DAYS_PER_MONTH;
    let columns: Vec<String> = [
        label.as_str(),
        "time_days",
        "at_risk",
        "events",
        "censored",
        "survival",
        "lower_95",
        "upper_95",
    ]
    .map(str::to_owned)
    .to_vec();
    let mut rows = Vec::new();
    let mut groups = Vec::new();
    let mut samples = Vec::new();
    for group in revenue.group_names() {
        let obs = observations(revenue.in_group(&group), params.as_of);
        if obs.is_empty() {
            continue;
        }
        let km = KaplanMeier::fit(&obs);
        for p in &km.points {
            let row = SurvivalRow {
                time_days: rate(Some(p.time)),
                at_risk: Count(p.at_risk),
                events: Count(p.events),
                censored: Count(p.censored),
                survival: rate(Some(p.survival)),
                lower_95: rate(Some(p.lower)),
                upper_95: rate(Some(p.upper)),
            };
            rows.push((group.clone(), row));
        }
        let at_risk = km
            .at_risk_table(&AT_RISK_DAYS)
            .into_iter()
            .map(|(day, n)| (format!("day_{day}"), Count(n)))
            .collect();
        groups.push(SurvivalGroup {
            group: BTreeMap::from([(label.clone(), group)]),
            customers: Count(obs.iter().map(|o| o.weight).sum()),
            churned: Count(obs.iter().filter(|o| o.event).map(|o| o.weight).sum()),
            median_days: rate(km.median()),
            rmst_days: rate(Some(km.rmst(horizon))),
            at_risk,
        });
        samples.push(obs);
    }
    let refs: Vec<&[Observation]> = samples.iter().map(Vec::as_slice).collect();
    // Under --model an account is in several groups at once, so the groups are not the
    // independent samples the log-rank test assumes: no p-value rather than a wrong one.
    let test = if revenue.model.is_some() {
        None
    } else {
        log_rank(&refs)
    }
    .map(|t| SurvivalLogRank {
        statistic: rate(Some(t.statistic)),
        degrees_of_freedom: t.degrees_of_freedom,
        p_value: t.p_value,
    });
    let rows = grouped_rows(Some(&label), rows);
    let mut report = Report::new("survival", params, revenue.by.clone(), columns, rows);
    report.summary = Some(to_summary(&SurvivalSummary {
        horizon_days: rate(Some(horizon)),
        groups,
        log_rank: test,
    }));
    Ok(report)
}
