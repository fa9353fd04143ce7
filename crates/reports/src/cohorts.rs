//! `cohorts`: logo and revenue retention by conversion month (SPEC §3). Cohort = calendar month
//! of the account's first MRR > 0; month 0 is 100% by definition; for k ≥ 1, logo retention =
//! share of the cohort with MRR > 0 at the end of month cohort+k, revenue retention = Σ MRR at
//! the end of month cohort+k ÷ Σ each account's first MRR > 0. Cells after `as_of` are absent.
//! Rows are long: one per (cohort, month), so CSV and tables stay flat.

use std::collections::BTreeMap;

use serde_json::{Map, Value};
use tenure_core::Timestamp;

use crate::revenue::{month_label, month_start, next_month, Revenue};
use crate::{major, ratio, AccountRevenue, Report, ReportError, ReportParams};

/// One cell of the matrix.
#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    pub cohort: Timestamp,
    pub month: u32,
    pub accounts: u64,
    pub logo: f64,
    pub revenue: f64,
}

pub fn matrix<'a>(
    accounts: impl Iterator<Item = &'a AccountRevenue>,
    as_of: Timestamp,
) -> Vec<Cell> {
    let mut cohorts: BTreeMap<Timestamp, Vec<&AccountRevenue>> = BTreeMap::new();
    for a in accounts {
        if let Some((t, _)) = a.first_paid {
            cohorts.entry(month_start(t)).or_default().push(a);
        }
    }
    let mut cells = Vec::new();
    for (cohort, members) in cohorts {
        let n = members.len() as u64;
        let initial: i64 = members
            .iter()
            .map(|a| a.first_paid.map_or(0, |(_, m)| m))
            .sum();
        cells.push(Cell {
            cohort,
            month: 0,
            accounts: n,
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
            let alive = members.iter().filter(|a| a.mrr_at(end) > 0).count() as f64;
            let mrr: i64 = members.iter().map(|a| a.mrr_at(end)).sum();
            cells.push(Cell {
                cohort,
                month: k,
                accounts: n,
                logo: alive / n as f64,
                revenue: if initial > 0 {
                    mrr as f64 / initial as f64
                } else {
                    0.0
                },
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
        let members: Vec<&AccountRevenue> = revenue.in_group(&group).collect();
        let initial_by_cohort: BTreeMap<Timestamp, i64> = members
            .iter()
            .filter_map(|a| a.first_paid)
            .fold(BTreeMap::new(), |mut m, (t, v)| {
                *m.entry(month_start(t)).or_insert(0) += v;
                m
            });
        for cell in matrix(members.into_iter(), params.as_of) {
            let mut row = Map::new();
            row.insert("cohort".into(), Value::String(month_label(cell.cohort)));
            if let Some(by) = &revenue.by {
                row.insert(by.clone(), Value::String(group.clone()));
            }
            row.insert("month".into(), cell.month.into());
            row.insert("accounts".into(), cell.accounts.into());
            row.insert(
                "initial_mrr".into(),
                major(initial_by_cohort[&cell.cohort], revenue.currency),
            );
            row.insert("logo_retention".into(), ratio(Some(cell.logo)));
            row.insert("revenue_retention".into(), ratio(Some(cell.revenue)));
            rows.push(row);
        }
    }
    Ok(Report::new(
        "cohorts",
        params,
        revenue.by.clone(),
        columns,
        rows,
    ))
}
