//! `mrr`: per calendar month, each movement kind, net new MRR, MRR, ARR and customers at the
//! end of the month, and the churn rates and quick ratio as ChartMogul defines them:
//! gross MRR churn = (churn + contraction) ÷ MRR at the start of the month;
//! net MRR churn = (churn + contraction − expansion − reactivation) ÷ MRR at the start;
//! quick ratio = (new + expansion + reactivation) ÷ (churn + contraction).

use serde::Serialize;
use tenure_core::Timestamp;
use utoipa::ToSchema;

use crate::account_revenue::MovementKind;
use crate::calendar::{month_label, month_start, next_month};
use crate::revenue::Revenue;
use crate::row::{grouped_rows, money_f, rate, Count};
use crate::{Report, ReportError, ReportParams};

/// One calendar month (of one group, with `--by`): its MRR movements, the MRR, ARR and
/// customers at its end, and its churn rates. Money in the report's currency.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct MrrRow {
    /// The month, `YYYY-MM`.
    pub month: String,
    /// MRR of accounts that had none before and never had any.
    pub new: f64,
    /// MRR gained by accounts that already paid.
    pub expansion: f64,
    /// MRR lost by accounts that still pay (negative).
    pub contraction: f64,
    /// MRR of accounts that stopped paying (negative).
    pub churn: f64,
    /// MRR of accounts that paid before, stopped, and pay again.
    pub reactivation: f64,
    /// The sum of the five movements.
    pub net_new_mrr: f64,
    /// MRR at the end of the month.
    pub mrr: f64,
    /// 12 × MRR at the end of the month.
    pub arr: f64,
    /// Paying accounts at the end of the month.
    pub customers: Count,
    /// (churn + contraction) ÷ MRR at the start of the month; null without MRR at the start.
    pub gross_mrr_churn_rate: Option<f64>,
    /// (churn + contraction − expansion − reactivation) ÷ MRR at the start of the month.
    pub net_mrr_churn_rate: Option<f64>,
    /// (new + expansion + reactivation) ÷ (churn + contraction); null without losses.
    pub quick_ratio: Option<f64>,
}

/// One month of one group, in minor units; sums weighted by each account's weight in the group
/// (whole numbers without `--model`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MonthFigures {
    /// Signed sums by kind, in [`MovementKind::ALL`] order.
    pub movements: [f64; 5],
    pub mrr_start: f64,
    pub mrr_end: f64,
    pub customers: f64,
}

impl MonthFigures {
    pub fn of(&self, kind: MovementKind) -> f64 {
        self.movements[MovementKind::ALL
            .iter()
            .position(|k| *k == kind)
            .expect("a kind")]
    }

    pub fn net_new(&self) -> f64 {
        self.movements.iter().sum()
    }
}

/// The months of the report: from `from` (default: the first month with a movement) to the
/// month of `to` or `as_of`, each ending at the earlier of its end and `as_of`.
pub fn months(revenue: &Revenue, params: &ReportParams) -> Vec<(Timestamp, Timestamp)> {
    let last = params.to.unwrap_or(params.as_of).min(params.as_of);
    let first = params.from.or_else(|| {
        revenue
            .accounts
            .iter()
            .filter_map(|a| a.movements.first().map(|m| m.at))
            .min()
    });
    let Some(first) = first else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut start = month_start(first);
    while start <= last {
        let next = next_month(start);
        out.push((start, next.plus_millis(-1).min(params.as_of)));
        start = next;
    }
    out
}

/// The figures of `group` for the month `[start, end]`.
pub fn month_figures(
    revenue: &Revenue,
    group: &str,
    start: Timestamp,
    end: Timestamp,
) -> MonthFigures {
    let mut f = MonthFigures::default();
    for (account, weight) in revenue.in_group(group) {
        f.mrr_start += weight * account.mrr_at(start.plus_millis(-1)) as f64;
        let at_end = account.mrr_at(end);
        f.mrr_end += weight * at_end as f64;
        f.customers += if at_end > 0 { weight } else { 0.0 };
        for m in account
            .movements
            .iter()
            .filter(|m| m.at >= start && m.at <= end)
        {
            let i = MovementKind::ALL
                .iter()
                .position(|k| *k == m.kind)
                .expect("a kind");
            f.movements[i] += weight * m.amount as f64;
        }
    }
    f
}

pub(crate) fn report(revenue: &Revenue, params: &ReportParams) -> Result<Report, ReportError> {
    let mut columns = vec!["month".to_owned()];
    if let Some(by) = &revenue.by {
        columns.push(by.clone());
    }
    columns.extend(MovementKind::ALL.iter().map(|k| k.name().to_owned()));
    columns.extend(
        [
            "net_new_mrr",
            "mrr",
            "arr",
            "customers",
            "gross_mrr_churn_rate",
            "net_mrr_churn_rate",
            "quick_ratio",
        ]
        .map(str::to_owned),
    );
    let groups = revenue.group_names();
    let mut rows = Vec::new();
    let c = revenue.currency;
    for (start, end) in months(revenue, params) {
        for group in &groups {
            let f = month_figures(revenue, group, start, end);
            let lost = -(f.of(MovementKind::Churn) + f.of(MovementKind::Contraction));
            let won_back = f.of(MovementKind::Expansion) + f.of(MovementKind::Reactivation);
            let start_mrr = (f.mrr_start > 0.0).then_some(f.mrr_start);
            let gained = f.of(MovementKind::New) + won_back;
            let row = MrrRow {
                month: month_label(start),
                new: money_f(f.of(MovementKind::New), c),
                expansion: money_f(f.of(MovementKind::Expansion), c),
                contraction: money_f(f.of(MovementKind::Contraction), c),
                churn: money_f(f.of(MovementKind::Churn), c),
                reactivation: money_f(f.of(MovementKind::Reactivation), c),
                net_new_mrr: money_f(f.net_new(), c),
                mrr: money_f(f.mrr_end, c),
                arr: money_f(12.0 * f.mrr_end, c),
                customers: Count(f.customers),
                gross_mrr_churn_rate: rate(start_mrr.map(|s| lost / s)),
                net_mrr_churn_rate: rate(start_mrr.map(|s| (lost - won_back) / s)),
                quick_ratio: rate((lost > 0.0).then(|| gained / lost)),
            };
            rows.push((group.clone(), row));
        }
    }
    let rows = grouped_rows(revenue.by.as_deref(), rows);
    Ok(Report::new(
        "mrr",
        params,
        revenue.by.clone(),
        columns,
        rows,
    ))
}
