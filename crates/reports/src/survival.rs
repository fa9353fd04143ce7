//! `survival`: Kaplan–Meier curves of customer lifetime (days from conversion to churn,
//! censored at `as_of`) with the 95% band, at-risk counts, median lifetime and restricted mean
//! (RMST) per group, and the log-rank test across the groups (SPEC §3).

use serde_json::{json, Map, Value};
use tenure_survival::{log_rank, KaplanMeier, Observation};

use crate::revenue::{Revenue, DAY_MS};
use crate::{count, ratio, AccountRevenue, Report, ReportError, ReportParams, ReportSettings};

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
            let mut row = Map::new();
            row.insert(label.clone(), Value::String(group.clone()));
            row.insert("time_days".into(), ratio(Some(p.time)));
            row.insert("at_risk".into(), count(p.at_risk));
            row.insert("events".into(), count(p.events));
            row.insert("censored".into(), count(p.censored));
            row.insert("survival".into(), ratio(Some(p.survival)));
            row.insert("lower_95".into(), ratio(Some(p.lower)));
            row.insert("upper_95".into(), ratio(Some(p.upper)));
            rows.push(row);
        }
        let at_risk: Map<String, Value> = km
            .at_risk_table(&AT_RISK_DAYS)
            .into_iter()
            .map(|(day, n)| (format!("day_{day}"), count(n)))
            .collect();
        groups.push(json!({
            label.clone(): group,
            "customers": count(obs.iter().map(|o| o.weight).sum()),
            "churned": count(obs.iter().filter(|o| o.event).map(|o| o.weight).sum()),
            "median_days": ratio(km.median()),
            "rmst_days": ratio(Some(km.rmst(horizon))),
            "at_risk": at_risk,
        }));
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
    .map(|t| {
        json!({"statistic": ratio(Some(t.statistic)), "degrees_of_freedom": t.degrees_of_freedom, "p_value": t.p_value})
    });
    let mut report = Report::new("survival", params, revenue.by.clone(), columns, rows);
    report.summary =
        Some(json!({"horizon_days": ratio(Some(horizon)), "groups": groups, "log_rank": test}));
    Ok(report)
}
