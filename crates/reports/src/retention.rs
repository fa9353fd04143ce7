//! `retention`: NRR, GRR and logo retention over `[t0, t1]` (SPEC §3): the cohort is the
//! accounts with MRR > 0 at t0; NRR = Σ MRR(t1) ÷ Σ MRR(t0); GRR = Σ min(MRR(t1), MRR(t0)) ÷
//! Σ MRR(t0); logo retention = share of the cohort with MRR > 0 at t1. Default window: the
//! twelve months before `as_of` (or `--to`).

use chrono::Months;
use serde::Serialize;
use tenure_core::Timestamp;
use utoipa::ToSchema;

use crate::revenue::Revenue;
use crate::row::{grouped_rows, money_f, rate, Count};
use crate::{Report, ReportError, ReportParams};

/// Retention over the report's window (`from` to `to`) of one group, under the grouping's
/// name (`group` without `--by`; the first row, `all`, is every account). The cohort is the
/// accounts paying at the window's start. Money in the report's currency.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct RetentionRow {
    /// Accounts with MRR > 0 at the window's start (credit-weighted under `--model`).
    pub accounts: Count,
    /// Their MRR at the window's start.
    pub mrr_start: f64,
    /// Their MRR at the window's end.
    pub mrr_end: f64,
    /// Net revenue retention, MRR at the end ÷ MRR at the start; null without MRR at the start.
    pub nrr: Option<f64>,
    /// Gross revenue retention, Σ min(MRR at the end, MRR at the start) ÷ MRR at the start, 0–1.
    pub grr: Option<f64>,
    /// Share of the cohort still paying at the window's end, 0–1; null for an empty cohort.
    pub logo_retention: Option<f64>,
}

/// The figures of one group over the window, in minor units; sums weighted by each account's
/// weight in the group (whole numbers without `--model`).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Retention {
    pub accounts: f64,
    pub retained: f64,
    pub mrr_start: f64,
    pub mrr_end: f64,
    pub mrr_kept: f64,
}

impl Retention {
    pub fn nrr(&self) -> Option<f64> {
        (self.mrr_start > 0.0).then(|| self.mrr_end / self.mrr_start)
    }

    pub fn grr(&self) -> Option<f64> {
        (self.mrr_start > 0.0).then(|| self.mrr_kept / self.mrr_start)
    }

    pub fn logo(&self) -> Option<f64> {
        (self.accounts > 0.0).then(|| self.retained / self.accounts)
    }
}

pub fn window(params: &ReportParams) -> (Timestamp, Timestamp) {
    let t1 = params.to.unwrap_or(params.as_of).min(params.as_of);
    let t0 = params.from.unwrap_or_else(|| {
        Timestamp::from_datetime(
            t1.to_datetime()
                .checked_sub_months(Months::new(12))
                .expect("twelve months before a real date"),
        )
    });
    (t0, t1)
}

pub fn retention<'a>(
    accounts: impl Iterator<Item = (&'a crate::AccountRevenue, f64)>,
    t0: Timestamp,
    t1: Timestamp,
) -> Retention {
    let mut r = Retention::default();
    for (a, weight) in accounts {
        let start = a.mrr_at(t0);
        if start <= 0 {
            continue;
        }
        let end = a.mrr_at(t1);
        r.accounts += weight;
        r.retained += if end > 0 { weight } else { 0.0 };
        r.mrr_start += weight * start as f64;
        r.mrr_end += weight * end as f64;
        r.mrr_kept += weight * end.min(start) as f64;
    }
    r
}

pub(crate) fn report(revenue: &Revenue, params: &ReportParams) -> Result<Report, ReportError> {
    let (t0, t1) = window(params);
    let label = revenue.by.clone().unwrap_or_else(|| "group".to_owned());
    let columns: Vec<String> = [
        label.as_str(),
        "accounts",
        "mrr_start",
        "mrr_end",
        "nrr",
        "grr",
        "logo_retention",
    ]
    .map(str::to_owned)
    .to_vec();
    let mut groups = vec![("all".to_owned(), retention(revenue.all(), t0, t1))];
    if revenue.by.is_some() {
        for g in revenue.group_names() {
            let r = retention(revenue.in_group(&g), t0, t1);
            groups.push((g, r));
        }
    }
    let rows = grouped_rows(
        Some(&label),
        groups.into_iter().map(|(name, r)| {
            let row = RetentionRow {
                accounts: Count(r.accounts),
                mrr_start: money_f(r.mrr_start, revenue.currency),
                mrr_end: money_f(r.mrr_end, revenue.currency),
                nrr: rate(r.nrr()),
                grr: rate(r.grr()),
                logo_retention: rate(r.logo()),
            };
            (name, row)
        }),
    );
    let mut report = Report::new("retention", params, revenue.by.clone(), columns, rows);
    report.from = Some(t0);
    report.to = Some(t1);
    Ok(report)
}
