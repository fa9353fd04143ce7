//! What every number of every report is: one table from field name to [`Unit`], which fills a
//! report's `units` (columns) and `summary_units` (summary fields, by dotted path: a list of
//! records' fields as `list.field`), so a program reading the JSON and the table renderer read
//! the same declaration.
//!
//! Why one table rather than a unit beside each `columns` list: the reports' columns are built
//! in a dozen modules with shared names (`arr`, `health`, `customers`…) that mean the same
//! thing everywhere, and a table keeps each meaning written once. Where a name means different
//! things in two reports (`month` is a calendar month in `mrr`, an offset in `cohorts`), the
//! report's own entry comes first. The test `every_number_has_a_unit` runs every report and
//! fails on a numeric field this table does not name.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::Report;

/// The unit of one field. JSON carries the value in this unit; tables format it for people.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    /// An amount in major units (dollars, not cents) of the report's `currency`.
    Money,
    /// A share or rate as a fraction: 0.25 is 25% (tables show a percentage).
    Fraction,
    /// One amount over another of the same kind (quick ratio, LTV:CAC, ROAS, odds ratio).
    Multiple,
    /// Accounts, events, snapshots…: whole, or fractional when credit-weighted (`--model`).
    Count,
    /// A duration in days (fractional: milliseconds ÷ 86,400,000).
    Days,
    /// A duration in months.
    Months,
    /// A health score, 0 to 100.
    Score,
    /// A dimensionless statistic (a coefficient, a test statistic, a p-value, ROC AUC).
    Number,
    /// A calendar month, `YYYY-MM`.
    Month,
    /// An instant, RFC 3339 in UTC with milliseconds.
    Time,
    /// Yes or no.
    Flag,
    /// A list of names.
    List,
    /// A name or a sentence.
    Text,
}

impl Unit {
    /// Whether a table right-aligns the field.
    pub fn is_numeric(self) -> bool {
        matches!(
            self,
            Unit::Money
                | Unit::Fraction
                | Unit::Multiple
                | Unit::Count
                | Unit::Days
                | Unit::Months
                | Unit::Score
                | Unit::Number
        )
    }
}

/// Fills `report.units` for its columns and `report.summary_units` for every field of its
/// summary (dotted paths, array positions left out: `groups.median_days`).
pub(crate) fn declare(report: &mut Report) {
    let metric = metric_unit(report);
    report.units = report
        .columns
        .iter()
        .map(|c| {
            let unit = column(report.report, c, report.by.as_deref(), metric).unwrap_or(Unit::Text);
            (c.clone(), unit)
        })
        .collect();
    // Each field's unit by its first non-null value (a list's records share their paths).
    let mut fields: std::collections::BTreeMap<String, Value> = Default::default();
    for (path, value) in summary_fields(report) {
        let seen = fields.entry(path).or_insert(Value::Null);
        if seen.is_null() {
            *seen = value;
        }
    }
    report.summary_units = fields
        .into_iter()
        .map(|(path, value)| {
            let unit = summary(report.report, &path, metric).unwrap_or(fallback(&value));
            (path, unit)
        })
        .collect();
}

/// Every field of the summary with its dotted path: a list's fields once per record.
fn summary_fields(report: &Report) -> Vec<(String, Value)> {
    let (scalars, lists) = crate::render::sections(report.summary.as_ref());
    let mut out = scalars;
    for (list, records) in lists {
        for record in records {
            out.extend(record.into_iter().map(|(k, v)| (format!("{list}.{k}"), v)));
        }
    }
    out
}

/// A field the table does not name: text, a flag or a list by its JSON type (a number here is
/// a missing declaration, which `every_number_has_a_unit` catches).
fn fallback(value: &Value) -> Unit {
    match value {
        Value::Bool(_) => Unit::Flag,
        Value::Array(_) => Unit::List,
        Value::Number(_) => Unit::Number,
        _ => Unit::Text,
    }
}

/// The unit of `attribution`'s credited outcome (`--metric`), which names its column (and
/// every model's column under `--compare`).
fn metric_unit(report: &Report) -> Option<Unit> {
    if report.report != "attribution" && report.report != "campaign-accounts" {
        return None;
    }
    let metric = report.summary.as_ref()?.get("metric")?.as_str()?;
    Some(match metric {
        "initial_arr" | "realized_revenue" | "expansion_revenue" | "predicted_ltv" => Unit::Money,
        "nrr" => Unit::Fraction,
        _ => Unit::Count,
    })
}

/// The unit of column `name` of `report` (grouped `by`), if declared.
fn column(report: &str, name: &str, by: Option<&str>, metric: Option<Unit>) -> Option<Unit> {
    if by == Some(name) {
        return Some(Unit::Text);
    }
    let own = match (report, name) {
        ("cohorts", "month") => Some(Unit::Count),
        ("mrr", "month") => Some(Unit::Month),
        ("attribution", "share") => Some(Unit::Fraction),
        ("attribution", "spend") => Some(Unit::Money),
        // Spend per one of a count (a conversion, an activated account…) is money; spend per
        // dollar of a money metric is a ratio of two amounts, the inverse of ROAS.
        ("attribution", "cost_per") if metric == Some(Unit::Money) => Some(Unit::Multiple),
        ("attribution", "cost_per") => Some(Unit::Money),
        ("attribution", "roas") => Some(Unit::Multiple),
        ("attribution", "customers") => Some(Unit::Count),
        ("attribution", "small_sample") => Some(Unit::Flag),
        ("attribution", _) if name != "channel" => metric,
        ("accounts" | "renewals", "risk") => Some(Unit::Count),
        ("renewals", "window") => Some(Unit::Days),
        ("churn-model", "coefficient" | "std_error") => Some(Unit::Number),
        ("churn-model", "rank") => Some(Unit::Count),
        ("adoption", "adopting") => Some(Unit::Flag),
        ("journey" | "campaign-accounts", "credit") => Some(Unit::Fraction),
        ("campaign-accounts", "touches" | "journey_touches") => Some(Unit::Count),
        ("campaign-accounts", "outcome" | "credited") => metric,
        ("funnel", "now") => Some(Unit::Count),
        ("predicted-ltv", "active") => Some(Unit::Flag),
        ("ltv-backtest", "error") => Some(Unit::Fraction),
        ("experiment", "control") => Some(Unit::Flag),
        _ => None,
    };
    own.or_else(|| by_name(name))
}

/// The unit of summary field `path` (dotted, no array positions) of `report`, if declared.
fn summary(report: &str, path: &str, metric: Option<Unit>) -> Option<Unit> {
    let last = path.rsplit('.').next().unwrap_or(path);
    let own = match (report, path) {
        ("adoption", "adopting" | "key_features") => Some(Unit::Count),
        ("adoption", p) if p.starts_with("feature_reach.") => Some(Unit::Fraction),
        ("accounts", p) if p.starts_with("by_band.") || p.starts_with("by_stage.") => {
            Some(Unit::Count)
        }
        ("survival", p) if p.starts_with("groups.at_risk.") => Some(Unit::Count),
        ("experiment", p) if p.starts_with("expected_shares.") => Some(Unit::Fraction),
        ("funnel", "time_to_value_days.histogram.days") => Some(Unit::Text),
        ("funnel", "time_to_value_days.histogram.accounts") => Some(Unit::Count),
        ("funnel", p) if p.starts_with("time_to_value_days.") && last != "activated" => {
            Some(Unit::Days)
        }
        ("funnel", p) if p.starts_with("milestones.") && last == "accounts" => Some(Unit::Count),
        ("forecast", "backtest.error") => Some(Unit::Fraction),
        ("ltv-backtest", "error") => Some(Unit::Fraction),
        ("ltv-backtest", "calibration.decile") => Some(Unit::Count),
        ("ltv-backtest", "calibration.predicted" | "calibration.actual") => Some(Unit::Money),
        ("forecast", "backtest.expected_renewals" | "backtest.actual_renewals") => {
            Some(Unit::Count)
        }
        ("account", "health.components.input") => Some(Unit::Number),
        ("account", "health.components.score" | "health_history.health") => Some(Unit::Score),
        ("account", "health.components.weight") => Some(Unit::Fraction),
        ("account", "facts.mrr") => Some(Unit::Money),
        ("account", "facts.nps.score") => Some(Unit::Count),
        ("account", p) if p.starts_with("milestones.") => Some(Unit::Time),
        ("account", p) if p.starts_with("facts.") => facts(last),
        ("churn-model", "calibration.decile" | "newton_iterations") => Some(Unit::Count),
        ("churn-model", "l2") => Some(Unit::Number),
        ("health-backtest", "month_ends") => Some(Unit::Count),
        ("attribution", "lookback_days") => Some(Unit::Days),
        ("journey", "converted_at") => Some(Unit::Time),
        ("campaign-accounts", "credited") => metric,
        _ => None,
    };
    own.or_else(|| by_name(last))
}

/// The account's health facts (`account`'s `facts`): times, money, and counts.
fn facts(name: &str) -> Option<Unit> {
    Some(match name {
        "as_of" | "converted_at" | "activated_at" | "last_activity" | "last_csm_touch"
        | "failed_payment" | "usage_limit" | "churned_at" | "last_expansion" | "contract_end"
        | "at" => Unit::Time,
        "mrr" => Unit::Money,
        "plan" | "user" => Unit::Text,
        "features_30d" => Unit::List,
        _ => Unit::Count,
    })
}

/// Names that mean the same in every report.
fn by_name(name: &str) -> Option<Unit> {
    Some(match name {
        "mrr"
        | "arr"
        | "new"
        | "expansion"
        | "contraction"
        | "churn"
        | "reactivation"
        | "net_new_mrr"
        | "mrr_start"
        | "mrr_end"
        | "initial_mrr"
        | "realized_revenue"
        | "expansion_revenue"
        | "arpa"
        | "predicted_ltv"
        | "simple_ltv"
        | "spend"
        | "cac"
        | "expected_arr"
        | "actual_arr"
        | "arr_up_for_renewal"
        | "expected_renewal_arr"
        | "expected_renewal_arr_low_90"
        | "expected_renewal_arr_high_90"
        | "predicted_ltv_low_90"
        | "predicted_ltv_high_90"
        | "cac_low_90"
        | "cac_high_90"
        | "expected_future_revenue"
        | "total_predicted_ltv"
        | "predicted_revenue"
        | "actual_revenue"
        | "expansion_mrr"
        | "mean_mrr" => Unit::Money,
        "share"
        | "gross_mrr_churn_rate"
        | "net_mrr_churn_rate"
        | "nrr"
        | "grr"
        | "logo_retention"
        | "revenue_retention"
        | "survival"
        | "lower_95"
        | "upper_95"
        | "monthly_logo_churn"
        | "depth"
        | "adopting_share"
        | "mean_depth"
        | "conversion_to_next"
        | "churn_rate"
        | "churn_probability"
        | "rate"
        | "bound_churn_rate"
        | "holdout_base_rate"
        | "observed"
        | "predicted"
        | "monthly_churn"
        | "monthly_growth"
        | "interval_coverage"
        | "gross_margin"
        | "annual_discount_rate"
        | "company_monthly_churn"
        | "company_monthly_reactivation"
        | "company_monthly_growth"
        | "activation_rate"
        | "activation_difference"
        | "activation_difference_low_95"
        | "activation_difference_high_95"
        | "retention_90d"
        | "retention_difference"
        | "retention_difference_low_95"
        | "retention_difference_high_95"
        | "expanded_share"
        | "activation_to_date_rate"
        | "activation_to_date_difference"
        | "activation_to_date_difference_low_95"
        | "activation_to_date_difference_high_95" => Unit::Fraction,
        "quick_ratio" | "ltv_to_cac" | "roas" | "roas_realized" | "roas_predicted"
        | "odds_ratio_per_sd" | "odds_ratio_low_95" | "odds_ratio_high_95"
        | "ltv_to_cac_low_90" | "ltv_to_cac_high_90" => Unit::Multiple,
        "customers"
        | "accounts"
        | "active"
        | "at_risk"
        | "events"
        | "censored"
        | "new_customers"
        | "touchpoints"
        | "visitors"
        | "entered"
        | "reached_next"
        | "spells_completed"
        | "spells_ongoing"
        | "snapshots"
        | "churned_90d"
        | "churned"
        | "contracts"
        | "conversions"
        | "risk"
        | "activated"
        | "eligible"
        | "converting_journeys"
        | "non_converting_journeys"
        | "drivers_can_leave_snapshots"
        | "drivers_churned"
        | "drivers_snapshots"
        | "holdout_bound_snapshots"
        | "holdout_churned"
        | "holdout_snapshots"
        | "training_bound_snapshots"
        | "training_churned"
        | "training_snapshots"
        | "predictions"
        | "adopting"
        | "activation_eligible"
        | "retention_eligible"
        | "retained_90d"
        | "activated_to_date"
        | "expanded"
        | "without_variant" => Unit::Count,
        "time_days"
        | "median_days"
        | "rmst_days"
        | "horizon_days"
        | "days_left"
        | "lookback_days"
        | "median_days_in_stage"
        | "mean_days_in_stage"
        | "within_days"
        | "median_days_from_conversion"
        | "median_time_to_value_days"
        | "activation_window_days" => Unit::Days,
        "rmst_months" | "payback_months" | "horizon_months" => Unit::Months,
        "health" | "score" => Unit::Score,
        "roc_auc"
        | "holdout_roc_auc"
        | "holdout_roc_auc_can_leave"
        | "roc_auc_can_leave"
        | "training_roc_auc"
        | "holdout_brier"
        | "coefficient"
        | "std_error"
        | "statistic"
        | "p_value"
        | "degrees_of_freedom"
        | "calibration_slope"
        | "activation_p_value"
        | "activation_to_date_p_value"
        | "time_to_value_p_value"
        | "retention_p_value"
        | "time_to_churn_p_value" => Unit::Number,
        "at" | "started_at" | "first_at" | "last_at" | "contract_end" | "converted_at"
        | "occurred_at" | "holdout_from" | "forecast_at" | "predicted_at" => Unit::Time,
        "month" | "cohort" => Unit::Month,
        "significant" | "in_journey" | "small_sample" => Unit::Flag,
        "models" | "key_features" => Unit::List,
        _ => return None,
    })
}

/// The fields of `report` holding a number or an instant whose unit the table does not
/// declare (columns by name, summary fields by dotted path): empty when every figure is
/// explained. For the test over every report.
pub fn undeclared(report: &Report) -> Vec<String> {
    let needs_unit = |v: &Value| {
        v.is_number()
            || v.as_str()
                .is_some_and(|s| tenure_core::Timestamp::parse(s).is_ok())
    };
    let metric = metric_unit(report);
    let mut out: Vec<String> = report
        .columns
        .iter()
        .filter(|c| {
            report
                .rows
                .iter()
                .any(|r| r.get(*c).is_some_and(needs_unit))
        })
        .filter(|c| column(report.report, c, report.by.as_deref(), metric).is_none())
        .cloned()
        .collect();
    let fields = summary_fields(report);
    for (path, value) in fields {
        if needs_unit(&value)
            && summary(report.report, &path, metric).is_none()
            && !out.contains(&path)
        {
            out.push(path);
        }
    }
    out
}
