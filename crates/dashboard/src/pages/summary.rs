//! Reading a report's summary: one figure by its dotted path, with the unit the report declares
//! for it (its lists are tables: `Table::of_list`).

use serde_json::Value;
use tenure_reports::{Report, Unit};

use crate::docs::Link;
use crate::format::cell;
use crate::{Select, Tile};

/// The summary's value at `path` (`log_rank.p_value`).
pub(crate) fn at<'a>(report: &'a Report, path: &str) -> Option<&'a Value> {
    path.split('.')
        .try_fold(report.summary.as_ref()?, |value, key| value.get(key))
}

/// The summary's number at `path`.
pub(crate) fn number(report: &Report, path: &str) -> Option<f64> {
    at(report, path).and_then(Value::as_f64)
}

/// The summary's figure at `path` as a person reads it (`n/a` when absent).
pub(crate) fn text(report: &Report, path: &str) -> String {
    match at(report, path) {
        Some(value) if !value.is_null() => {
            match report
                .summary_units
                .get(path)
                .copied()
                .unwrap_or(Unit::Text)
            {
                // Days say so: a tile of "8.7" alone reads as anything.
                Unit::Days => match value.as_f64() {
                    Some(d) if d.fract() == 0.0 => format!("{d:.0} days"),
                    Some(d) => format!("{d:.1} days"),
                    None => cell(value, Unit::Days, report.currency),
                },
                unit => cell(value, unit, report.currency),
            }
        }
        _ => "n/a".to_owned(),
    }
}

/// A tile of the summary's figure at `path`.
pub(crate) fn tile(report: &Report, label: &str, path: &str, how: Link) -> Tile {
    Tile {
        label: label.to_owned(),
        value: text(report, path),
        change: None,
        how,
    }
}

/// A selector of `name` among `options` (value, label), the first of which is "any".
pub(crate) fn select(
    name: &'static str,
    label: &'static str,
    options: &[(&str, &str)],
    selected: &str,
) -> Select {
    Select {
        name,
        label,
        options: options
            .iter()
            .map(|(v, l)| ((*v).to_owned(), (*l).to_owned()))
            .collect(),
        selected: selected.to_owned(),
    }
}

/// The groupings the revenue reports (cohorts, survival) take from an account's acquisition
/// and attributes, for a "Group by" selector.
pub(crate) const GROUPINGS: &[(&str, &str)] = &[
    ("", "Nobody apart (all customers)"),
    ("channel", "Channel"),
    ("source", "Source"),
    ("campaign", "Campaign"),
    ("tier", "Tier"),
    ("plan", "Plan"),
    ("industry", "Industry"),
    ("csm_owner", "CSM owner"),
];

/// A report from its JSON, for the tests (the report's name is `&'static`, so the text is
/// leaked, as the CLI does).
#[cfg(test)]
pub(crate) fn report_of(json: Value) -> Report {
    let text: &'static str = Box::leak(json.to_string().into_boxed_str());
    serde_json::from_str(text).expect("a report")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_summary_list_is_a_table_in_its_units() {
        let report = report_of(json!({
            "report": "churn-model", "as_of": "2026-11-30T23:59:59.999Z", "as_of_source": "given",
            "from": null, "to": null, "by": null, "currency": "USD", "columns": [], "units": {},
            "rows": [], "warnings": [],
            "summary": {"calibration": [{"decile": 1, "predicted": 0.1, "observed": 0.2}],
                        "log_rank": {"p_value": 0.004}, "horizon_days": 90.0, "median": 8.657},
            "summary_units": {"calibration.decile": "count", "calibration.predicted": "fraction",
                              "log_rank.p_value": "number", "horizon_days": "days", "median": "days"}
        }));
        let table = crate::Table::of_list(&report, "calibration", &["decile", "predicted"]);
        assert_eq!(table.columns[1].unit, Unit::Fraction);
        assert_eq!(table.rows, vec![vec![json!(1), json!(0.1)]]);
        assert_eq!(number(&report, "log_rank.p_value"), Some(0.004));
        assert_eq!(text(&report, "missing.path"), "n/a");
        assert_eq!(text(&report, "horizon_days"), "90 days");
        assert_eq!(text(&report, "median"), "8.7 days");
    }
}
