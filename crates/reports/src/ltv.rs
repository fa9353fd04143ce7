//! `ltv`: realized revenue, expansion revenue, ARPA and predicted LTV per group (SPEC §3).
//! Predicted LTV = ARPA × gross margin × restricted mean lifetime in months (area under the
//! Kaplan–Meier curve to the horizon); the simple form ARPA × gross margin ÷ monthly logo churn
//! is shown beside it, monthly logo churn being the mean over the 6 full months before `as_of`
//! of (accounts churned in the month ÷ accounts active at its start).

use serde::Serialize;
use tenure_core::Timestamp;
use tenure_survival::KaplanMeier;
use utoipa::ToSchema;

use crate::account_revenue::MovementKind;
use crate::calendar::{month_start, prev_month};
use crate::revenue::Revenue;
use crate::row::{grouped_rows, money_f, rate, Count};
use crate::survival::{observations, DAYS_PER_MONTH};
use crate::{AccountRevenue, Report, ReportError, ReportParams, ReportSettings};

/// Lifetime value of one group's converted accounts (under the grouping's name, `group`
/// without `--by`; the first row, `all`, is every account). Money in the report's currency;
/// counts credit-weighted under `--model`.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct LtvRow {
    /// Converted accounts.
    pub customers: Count,
    /// Those paying at `as_of`.
    pub active: Count,
    /// Revenue realized from the first MRR to `as_of`: MRR × days × 12 ÷ 365.25.
    pub realized_revenue: f64,
    /// The sum of the expansion movements since conversion.
    pub expansion_revenue: f64,
    /// Average MRR per account paying at `as_of`; null when none pays.
    pub arpa: Option<f64>,
    /// Restricted mean lifetime in months: the area under the Kaplan–Meier curve up to the
    /// LTV horizon.
    pub rmst_months: Option<f64>,
    /// ARPA × gross margin × restricted mean lifetime in months.
    pub predicted_ltv: Option<f64>,
    /// Mean over the 6 full months before the month of `as_of` of accounts churned in the
    /// month ÷ accounts paying at its start, 0–1.
    pub monthly_logo_churn: Option<f64>,
    /// ARPA × gross margin ÷ monthly logo churn; null without churn.
    pub simple_ltv: Option<f64>,
}

/// LTV figures of one group, money in minor units; sums weighted by each account's weight in
/// the group (whole numbers without `--model`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Ltv {
    pub customers: f64,
    pub active: f64,
    pub realized: f64,
    pub expansion: f64,
    pub arpa: Option<f64>,
    pub rmst_months: Option<f64>,
    pub monthly_logo_churn: Option<f64>,
    pub predicted: Option<f64>,
    pub simple: Option<f64>,
}

/// Mean over the 6 full calendar months before the month of `as_of` of churned ÷ active at start.
pub fn monthly_logo_churn(accounts: &[(&AccountRevenue, f64)], as_of: Timestamp) -> Option<f64> {
    let mut start = month_start(as_of);
    let mut rates = Vec::new();
    for _ in 0..6 {
        let end = start;
        start = prev_month(start);
        let active: f64 = accounts
            .iter()
            .filter(|(a, _)| a.mrr_at(start.plus_millis(-1)) > 0)
            .map(|(_, w)| w)
            .sum();
        if active <= 0.0 {
            continue;
        }
        let churned: f64 = accounts
            .iter()
            .filter(|(a, _)| {
                a.movements
                    .iter()
                    .any(|m| m.kind == MovementKind::Churn && m.at >= start && m.at < end)
            })
            .map(|(_, w)| w)
            .sum();
        rates.push(churned / active);
    }
    (!rates.is_empty()).then(|| rates.iter().sum::<f64>() / rates.len() as f64)
}

pub fn ltv(
    accounts: &[(&AccountRevenue, f64)],
    settings: &ReportSettings,
    as_of: Timestamp,
) -> Ltv {
    let margin = settings.revenue.gross_margin;
    let converted: Vec<(&AccountRevenue, f64)> = accounts
        .iter()
        .copied()
        .filter(|(a, _)| a.converted_at.is_some())
        .collect();
    // (weight, MRR) of the accounts paying now.
    let mrr_now: Vec<(f64, f64)> = converted
        .iter()
        .map(|(a, w)| (*w, a.mrr_at(as_of) as f64))
        .filter(|(_, m)| *m > 0.0)
        .collect();
    let active: f64 = mrr_now.iter().map(|(w, _)| w).sum();
    let arpa = (active > 0.0).then(|| mrr_now.iter().map(|(w, m)| w * m).sum::<f64>() / active);
    let obs = observations(converted.iter().copied(), as_of);
    let horizon = f64::from(settings.revenue.ltv_horizon_months) * DAYS_PER_MONTH;
    let rmst_months =
        (!obs.is_empty()).then(|| KaplanMeier::fit(&obs).rmst(horizon) / DAYS_PER_MONTH);
    let churn = monthly_logo_churn(&converted, as_of);
    Ltv {
        customers: converted.iter().map(|(_, w)| w).sum(),
        active,
        realized: converted.iter().map(|(a, w)| w * a.realized(as_of)).sum(),
        expansion: converted
            .iter()
            .flat_map(|&(a, w)| {
                a.movements
                    .iter()
                    .filter(move |m| {
                        m.kind == MovementKind::Expansion
                            && a.converted_at.is_some_and(|c| m.at >= c)
                    })
                    .map(move |m| w * m.amount as f64)
            })
            .sum(),
        arpa,
        rmst_months,
        monthly_logo_churn: churn,
        predicted: arpa.zip(rmst_months).map(|(a, r)| a * margin * r),
        simple: arpa
            .zip(churn.filter(|c| *c > 0.0))
            .map(|(a, c)| a * margin / c),
    }
}

pub(crate) fn report(
    revenue: &Revenue,
    settings: &ReportSettings,
    params: &ReportParams,
) -> Result<Report, ReportError> {
    let label = revenue.by.clone().unwrap_or_else(|| "group".to_owned());
    let columns: Vec<String> = [
        label.as_str(),
        "customers",
        "active",
        "realized_revenue",
        "expansion_revenue",
        "arpa",
        "rmst_months",
        "predicted_ltv",
        "monthly_logo_churn",
        "simple_ltv",
    ]
    .map(str::to_owned)
    .to_vec();
    let mut groups = vec![("all".to_owned(), revenue.all().collect::<Vec<_>>())];
    if revenue.by.is_some() {
        for g in revenue.group_names() {
            let members = revenue.in_group(&g).collect();
            groups.push((g, members));
        }
    }
    let c = revenue.currency;
    let money = |v: Option<f64>| v.map(|v| money_f(v, c));
    let rows = grouped_rows(
        Some(&label),
        groups.into_iter().map(|(name, members)| {
            let l = ltv(&members, settings, params.as_of);
            let row = LtvRow {
                customers: Count(l.customers),
                active: Count(l.active),
                realized_revenue: money_f(l.realized, c),
                expansion_revenue: money_f(l.expansion, c),
                arpa: money(l.arpa),
                rmst_months: rate(l.rmst_months),
                predicted_ltv: money(l.predicted),
                monthly_logo_churn: rate(l.monthly_logo_churn),
                simple_ltv: money(l.simple),
            };
            (name, row)
        }),
    );
    Ok(Report::new(
        "ltv",
        params,
        revenue.by.clone(),
        columns,
        rows,
    ))
}
