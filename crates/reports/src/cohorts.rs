//! `cohorts`: logo and revenue retention by conversion month (SPEC §3). Cohort = calendar month
//! of the account's first MRR > 0; month 0 is 100% by definition; for k ≥ 1, logo retention =
//! share of the cohort with MRR > 0 at the end of month cohort+k, revenue retention = Σ MRR at
//! the end of month cohort+k ÷ Σ each account's first MRR > 0. Cells after `as_of` are absent.
//! Rows are long: one per (cohort, month), so CSV and tables stay flat.

use std::collections::BTreeMap;

use serde::Serialize;
use tenure_core::Timestamp;
use utoipa::ToSchema;

use crate::calendar::{month_label, month_start, next_month};
use crate::revenue::Revenue;
use crate::row::{grouped_rows, money_f, rate, Count};
use crate::{AccountRevenue, Report, ReportError, ReportParams};

/// One cell of the cohort matrix: a conversion month (of one group, with `--by`) at one month
/// after it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct CohortsRow {
    /// The cohort, the month of its accounts' first MRR > 0, `YYYY-MM`.
    pub cohort: String,
    /// Months after the cohort's month; 0 is the cohort's month itself.
    pub month: u32,
    /// Accounts in the cohort (credit-weighted under `--model`).
    pub accounts: Count,
    /// The sum of the cohort's accounts' first MRR > 0, in the report's currency.
    pub initial_mrr: f64,
    /// Share of the cohort with MRR > 0 at the end of the month, 0–1 (1 in month 0).
    pub logo_retention: Option<f64>,
    /// MRR of the cohort at the end of the month ÷ its initial MRR (1 in month 0; 0 without
    /// initial MRR).
    pub revenue_retention: Option<f64>,
}

/// One cell of the matrix; counts and sums weighted by each account's weight in the group
/// (whole numbers without `--model`).
#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    pub cohort: Timestamp,
    pub month: u32,
    pub accounts: f64,
    /// Σ first MRR of the cohort, minor units.
    pub initial_mrr: f64,
    pub logo: f64,
    pub revenue: f64,
}

pub fn matrix<'a>(
    accounts: impl Iterator<Item = (&'a AccountRevenue, f64)>,
    as_of: Timestamp,
) -> Vec<Cell> {
    let mut cohorts: BTreeMap<Timestamp, Vec<(&AccountRevenue, f64)>> = BTreeMap::new();
    for (a, weight) in accounts {
        if let Some((t, _)) = a.first_paid {
            cohorts.entry(month_start(t)).or_default().push((a, weight));
        }
    }
    let mut cells = Vec::new();
    for (cohort, members) in cohorts {
        let n: f64 = members.iter().map(|(_, w)| w).sum();
        let initial: f64 = members
            .iter()
            .map(|(a, w)| w * a.first_paid.map_or(0, |(_, m)| m) as f64)
            .sum();
        cells.push(Cell {
            cohort,
            month: 0,
            accounts: n,
            initial_mrr: initial,
            logo: 1.0,
            revenue: 1.0,
        });
        let mut k = 1;
        let mut start = next_month(cohort);
        loop {
            let end = next_month(start).plus_millis(-1);
            if end > as_of {
                break;
            }
            let alive: f64 = members
                .iter()
                .filter(|(a, _)| a.mrr_at(end) > 0)
                .map(|(_, w)| w)
                .sum();
            let mrr: f64 = members.iter().map(|(a, w)| w * a.mrr_at(end) as f64).sum();
            cells.push(Cell {
                cohort,
                month: k,
                accounts: n,
                initial_mrr: initial,
                logo: alive / n,
                revenue: if initial > 0.0 { mrr / initial } else { 0.0 },
            });
            k += 1;
            start = next_month(start);
        }
    }
    cells
}

pub(crate) fn report(revenue: &Revenue, params: &ReportParams) -> Result<Report, ReportError> {
    let mut columns = vec!["cohort".to_owned()];
    if let Some(by) = &revenue.by {
        columns.push(by.clone());
    }
    columns.extend(
        [
            "month",
            "accounts",
            "initial_mrr",
            "logo_retention",
            "revenue_retention",
        ]
        .map(str::to_owned),
    );
    let mut rows = Vec::new();
    for group in revenue.group_names() {
        for cell in matrix(revenue.in_group(&group), params.as_of) {
            let row = CohortsRow {
                cohort: month_label(cell.cohort),
                month: cell.month,
                accounts: Count(cell.accounts),
                initial_mrr: money_f(cell.initial_mrr, revenue.currency),
                logo_retention: rate(Some(cell.logo)),
                revenue_retention: rate(Some(cell.revenue)),
            };
            rows.push((group.clone(), row));
        }
    }
    let rows = grouped_rows(revenue.by.as_deref(), rows);
    Ok(Report::new(
        "cohorts",
        params,
        revenue.by.clone(),
        columns,
        rows,
    ))
}
