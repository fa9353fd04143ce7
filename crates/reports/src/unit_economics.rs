//! `unit-economics`: spend, new customers, CAC, LTV:CAC, payback and ROAS per acquisition
//! group (SPEC §3, Acquisition costs). Spend comes from spend.csv matched on channel (on source
//! or campaign when grouped by them) over the window (`--from`/`--to`, default all time to
//! `as_of`); new customers are the conversions in the same window, grouped by the first touch
//! of their journey. A group with no spend has CAC 0 and no ROAS; a group with spend and no
//! customer has no CAC (null, not infinity).

use std::collections::BTreeSet;

use serde::Serialize;
use tenure_engine::Model;
use utoipa::ToSchema;

use crate::attribution::{cost_per, roas, spend_by, AcquisitionWindow};
use crate::grouping::NOT_CONVERTED;
use crate::ltv::ltv;
use crate::revenue::Revenue;
use crate::row::{grouped_rows, money, money_f, rate, Count};
use crate::{AccountRevenue, Report, ReportError, ReportParams, ReportSettings};

/// One acquisition group (its value under the grouping's name: `channel` by default): what it
/// cost, the customers it brought in the window, and what they are worth. Money in the
/// report's currency.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct UnitEconomicsRow {
    /// Spend of the group in the window (spend.csv).
    pub spend: f64,
    /// Customers converted in the window whose journey's first touch is in the group
    /// (credit-weighted under `--model`).
    pub new_customers: Count,
    /// Customer acquisition cost, spend ÷ new customers: 0 without spend, null for spend that
    /// brought no customer.
    pub cac: Option<f64>,
    /// Average MRR per account paying at `as_of`, over the group's converted accounts; null
    /// when none pays.
    pub arpa: Option<f64>,
    /// ARPA × gross margin × restricted mean lifetime in months (Kaplan–Meier to the LTV
    /// horizon).
    pub predicted_ltv: Option<f64>,
    /// Predicted LTV ÷ CAC; null without a CAC above 0.
    pub ltv_to_cac: Option<f64>,
    /// Months of gross-margin ARPA to earn back the CAC, CAC ÷ (ARPA × gross margin).
    pub payback_months: Option<f64>,
    /// Revenue realized to `as_of` by the new customers ÷ spend; null without spend.
    pub roas_realized: Option<f64>,
    /// Predicted LTV × new customers ÷ spend; null without spend.
    pub roas_predicted: Option<f64>,
}

pub(crate) fn report(
    model: &Model,
    revenue: &Revenue,
    settings: &ReportSettings,
    params: &ReportParams,
) -> Result<Report, ReportError> {
    // The catalog has checked `--by` is one of the spend groupings.
    let by = revenue.by.clone().unwrap_or_else(|| "channel".to_owned());
    let window = AcquisitionWindow::of(params);
    let spend = spend_by(model, settings, window, &by).unwrap_or_default();
    let mut names: BTreeSet<String> = spend.keys().cloned().collect();
    names.extend(
        revenue
            .group_names()
            .into_iter()
            .filter(|g| g != NOT_CONVERTED),
    );
    let margin = settings.revenue.gross_margin;
    let c = revenue.currency;
    let columns: Vec<String> = [
        by.as_str(),
        "spend",
        "new_customers",
        "cac",
        "arpa",
        "predicted_ltv",
        "ltv_to_cac",
        "payback_months",
        "roas_realized",
        "roas_predicted",
    ]
    .map(str::to_owned)
    .to_vec();
    let mut rows = Vec::new();
    for name in names {
        let members: Vec<(&AccountRevenue, f64)> = revenue.in_group(&name).collect();
        let new: Vec<(&AccountRevenue, f64)> = members
            .iter()
            .copied()
            .filter(|(a, _)| a.converted_at.is_some_and(|t| window.contains(t)))
            .collect();
        let new_customers: f64 = new.iter().map(|(_, w)| w).sum();
        let cost = spend.get(&name).copied().unwrap_or(0);
        let l = ltv(&members, settings, params.as_of);
        let cac = cost_per(cost, new_customers);
        let realized: f64 = new.iter().map(|(a, w)| w * a.realized(params.as_of)).sum();
        let per_dollar = |value: Option<f64>| value.and_then(|v| roas(cost, v));
        let row = UnitEconomicsRow {
            spend: money(cost, c),
            new_customers: Count(new_customers),
            cac: cac.map(|v| money_f(v, c)),
            arpa: l.arpa.map(|v| money_f(v, c)),
            predicted_ltv: l.predicted.map(|v| money_f(v, c)),
            ltv_to_cac: rate(
                l.predicted
                    .zip(cac.filter(|v| *v > 0.0))
                    .map(|(l, c)| l / c),
            ),
            payback_months: rate(
                cac.zip(l.arpa.filter(|a| *a > 0.0))
                    .map(|(c, a)| c / (a * margin)),
            ),
            roas_realized: rate(per_dollar(Some(realized))),
            roas_predicted: rate(per_dollar(l.predicted.map(|p| p * new_customers))),
        };
        rows.push((name, row));
    }
    let rows = grouped_rows(Some(&by), rows);
    Ok(Report::new(
        "unit-economics",
        params,
        Some(by),
        columns,
        rows,
    ))
}
