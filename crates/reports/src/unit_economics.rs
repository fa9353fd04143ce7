//! `unit-economics`: spend, new customers, CAC, LTV:CAC, payback and ROAS per acquisition
//! group (SPEC §3, Acquisition costs). Spend comes from spend.csv matched on channel (on source
//! or campaign when grouped by them) over the window (`--from`/`--to`, default all time to
//! `as_of`); new customers are the conversions in the same window, grouped by the first touch
//! of their journey. A group with no spend has CAC 0 and no ROAS; a group with spend and no
//! customer has no CAC (null, not infinity).

use std::collections::BTreeSet;

use serde_json::{Map, Value};
use tenure_engine::Model;

use crate::attribution::{cost_per, roas, spend_by, AcquisitionWindow};
use crate::ltv::ltv;
use crate::revenue::{Revenue, NOT_CONVERTED};
use crate::{
    count, major, ratio, AccountRevenue, Report, ReportError, ReportParams, ReportSettings,
};

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
        let mut row = Map::new();
        row.insert(by.clone(), Value::String(name));
        row.insert("spend".into(), major(cost, c));
        row.insert("new_customers".into(), count(new_customers));
        row.insert(
            "cac".into(),
            cac.map_or(Value::Null, |v| major(v.round() as i64, c)),
        );
        row.insert(
            "arpa".into(),
            l.arpa.map_or(Value::Null, |v| major(v.round() as i64, c)),
        );
        row.insert(
            "predicted_ltv".into(),
            l.predicted
                .map_or(Value::Null, |v| major(v.round() as i64, c)),
        );
        row.insert(
            "ltv_to_cac".into(),
            ratio(
                l.predicted
                    .zip(cac.filter(|v| *v > 0.0))
                    .map(|(l, c)| l / c),
            ),
        );
        row.insert(
            "payback_months".into(),
            ratio(
                cac.zip(l.arpa.filter(|a| *a > 0.0))
                    .map(|(c, a)| c / (a * margin)),
            ),
        );
        row.insert("roas_realized".into(), ratio(per_dollar(Some(realized))));
        row.insert(
            "roas_predicted".into(),
            ratio(per_dollar(l.predicted.map(|p| p * new_customers))),
        );
        rows.push(row);
    }
    Ok(Report::new(
        "unit-economics",
        params,
        Some(by),
        columns,
        rows,
    ))
}
