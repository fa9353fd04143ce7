//! `experiment`: the customers of each variant of an experiment — activation within the
//! activation window, time to value, 90-day retention, expansion and MRR — and how each variant
//! differs from the control, with 95% intervals and tests ([`crate::significance`]), and
//! whether the accounts were split as meant (the sample-ratio check).
//!
//! An account's variant is its group trait named by `--by` when any account has that trait,
//! otherwise the variant of the first `Experiment Viewed` event (at or before `as_of`) whose
//! experiment is `--by`. The customers are the accounts converted by `as_of` that have one.

use std::collections::BTreeMap;

use serde::Serialize;
use tenure_core::Timestamp;
use tenure_engine::Model;
use tenure_survival::{log_rank, Observation};
use utoipa::ToSchema;

use crate::account_revenue::{AccountRevenue, MovementKind};
use crate::calendar::DAY_MS;
use crate::revenue::Revenue;
use crate::row::{money, rate, to_rows, to_summary};
use crate::significance::{mann_whitney, proportion_difference, sample_ratio};
use crate::survival::observations;
use crate::{Report, ReportError, ReportParams, ReportSettings};

/// Days after conversion at which a customer counts as retained.
const RETENTION_DAYS: i64 = 90;

/// The name of the variant taken as the control when `--control` names none.
const CONTROL: &str = "control";

/// One variant's customers, and how they differ from the control's (the differences and
/// p-values are null on the control's own row, and where either side has no customer to
/// count). Money in the report's currency.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ExperimentRow {
    /// The variant.
    pub variant: String,
    /// Whether it is the control the others are compared with.
    pub control: bool,
    /// Customers with this variant.
    pub accounts: usize,
    /// Their share of the experiment's customers, 0–1.
    pub share: Option<f64>,
    /// Customers converted at least the activation window before `as_of`.
    pub activation_eligible: usize,
    /// Those that activated within the window of their conversion.
    pub activated: usize,
    /// activated ÷ activation_eligible, 0–1.
    pub activation_rate: Option<f64>,
    /// activation_rate minus the control's.
    pub activation_difference: Option<f64>,
    /// Lower end of its 95% interval (Newcombe's hybrid score interval).
    pub activation_difference_low_95: Option<f64>,
    /// Upper end of its 95% interval.
    pub activation_difference_high_95: Option<f64>,
    /// The two-proportion z-test of "the rates are equal", two-sided, unrounded.
    pub activation_p_value: Option<f64>,
    /// Of the activation_eligible customers, those activated by `as_of`, however long after
    /// converting.
    pub activated_to_date: usize,
    /// activated_to_date ÷ activation_eligible, 0–1: whether customers activate at all, where
    /// activation_rate also counts how soon.
    pub activation_to_date_rate: Option<f64>,
    /// activation_to_date_rate minus the control's.
    pub activation_to_date_difference: Option<f64>,
    /// Lower end of its 95% interval (Newcombe's hybrid score interval).
    pub activation_to_date_difference_low_95: Option<f64>,
    /// Upper end of its 95% interval.
    pub activation_to_date_difference_high_95: Option<f64>,
    /// The two-proportion z-test of "the rates are equal", two-sided, unrounded.
    pub activation_to_date_p_value: Option<f64>,
    /// Median days from conversion to activation of the customers activated by `as_of`
    /// (activation before conversion counts as day 0).
    pub median_time_to_value_days: Option<f64>,
    /// The Mann–Whitney U test of "times to value are alike" against the control's,
    /// two-sided, unrounded.
    pub time_to_value_p_value: Option<f64>,
    /// Customers converted at least 90 days before `as_of`.
    pub retention_eligible: usize,
    /// Those that had not churned 90 days after their conversion.
    pub retained_90d: usize,
    /// retained_90d ÷ retention_eligible, 0–1.
    pub retention_90d: Option<f64>,
    /// retention_90d minus the control's.
    pub retention_difference: Option<f64>,
    /// Lower end of its 95% interval (Newcombe's hybrid score interval).
    pub retention_difference_low_95: Option<f64>,
    /// Upper end of its 95% interval.
    pub retention_difference_high_95: Option<f64>,
    /// The two-proportion z-test of "the retentions are equal", two-sided, unrounded.
    pub retention_p_value: Option<f64>,
    /// Customers that churned by `as_of`.
    pub churned: usize,
    /// The log-rank test of "the time to churn is alike" against the control's, unrounded.
    pub time_to_churn_p_value: Option<f64>,
    /// Customers with an expansion by `as_of`.
    pub expanded: usize,
    /// expanded ÷ accounts, 0–1.
    pub expanded_share: Option<f64>,
    /// The sum of the customers' expansion movements by `as_of`.
    pub expansion_mrr: f64,
    /// The customers' mean MRR at `as_of` (0 for those that left).
    pub mean_mrr: Option<f64>,
}

/// Where each account's variant was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum VariantSource {
    /// The account's group trait named `--by`.
    GroupTrait,
    /// The first `Experiment Viewed` event naming the account whose experiment is `--by`.
    ExperimentViewed,
}

/// How the control was chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ControlSource {
    /// Named by `--control`.
    Given,
    /// The variant called `control`.
    Named,
    /// No variant is called `control`: the first in sort order.
    FirstInOrder,
}

/// The summary of `experiment`: where the variants were read, which is the control, and the
/// sample-ratio check.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ExperimentSummary {
    /// Where the variants were read from.
    pub variant_source: VariantSource,
    /// The control variant; null without customers with a variant.
    pub control: Option<String>,
    /// How it was chosen.
    pub control_source: ControlSource,
    /// The activation window, in days (`[signals] activation_days`, as `funnel`).
    pub activation_window_days: u32,
    /// Customers with a variant.
    pub customers: usize,
    /// Customers converted by `as_of` without one.
    pub without_variant: usize,
    /// How the differences' intervals are computed: `newcombe_hybrid_score`.
    pub interval: &'static str,
    /// The share of the customers each variant was meant to have, 0–1: from
    /// `--expected-split`, else equal. A variant named there without customers counts with 0.
    pub expected_shares: BTreeMap<String, f64>,
    /// The χ² test of the variants' customer counts against the expected shares; null with
    /// fewer than two variants.
    pub sample_ratio: Option<ExperimentSampleRatio>,
}

/// The sample-ratio check: customers per variant against an equal split.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ExperimentSampleRatio {
    /// The χ² statistic, Σ (observed − expected)² ÷ expected.
    pub statistic: Option<f64>,
    /// The number of variants − 1.
    pub degrees_of_freedom: u32,
    /// P(χ² > statistic), unrounded.
    pub p_value: f64,
    /// Whether p < 0.001: the split is not what was meant (or not all of it is recorded),
    /// and the variants cannot be compared as they are.
    pub mismatch: bool,
}

/// One customer of the experiment, as the figures read it.
struct Customer<'a> {
    revenue: &'a AccountRevenue,
    converted: Timestamp,
    activated: Option<Timestamp>,
}

impl Customer<'_> {
    /// Days from conversion to activation; activation before conversion is day 0.
    fn time_to_value(&self) -> Option<f64> {
        let activated = self.activated?;
        Some((activated.millis() - self.converted.millis()).max(0) as f64 / DAY_MS as f64)
    }

    fn after(&self, days: i64) -> Timestamp {
        self.converted.plus_millis(days * DAY_MS)
    }
}

/// A variant's customers' counts, kept for the comparison with the control.
struct Figures<'a> {
    customers: Vec<Customer<'a>>,
    activation: (u64, u64),
    activation_to_date: (u64, u64),
    retention: (u64, u64),
    times_to_value: Vec<f64>,
    lifetimes: Vec<Observation>,
}

impl<'a> Figures<'a> {
    fn of(customers: Vec<Customer<'a>>, window_days: u32, as_of: Timestamp) -> Self {
        let window = i64::from(window_days);
        let eligible = |c: &&Customer, days: i64| c.after(days) <= as_of;
        let activation_eligible: Vec<&Customer> =
            customers.iter().filter(|c| eligible(c, window)).collect();
        let activated = activation_eligible
            .iter()
            .filter(|c| c.activated.is_some_and(|t| t <= c.after(window)))
            .count();
        let activated_to_date = activation_eligible
            .iter()
            .filter(|c| c.activated.is_some())
            .count();
        let retention_eligible: Vec<&Customer> = customers
            .iter()
            .filter(|c| eligible(c, RETENTION_DAYS))
            .collect();
        let retained = retention_eligible
            .iter()
            .filter(|c| {
                c.revenue
                    .churned_at
                    .is_none_or(|t| t > c.after(RETENTION_DAYS))
            })
            .count();
        let mut times_to_value: Vec<f64> = customers
            .iter()
            .filter_map(Customer::time_to_value)
            .collect();
        times_to_value.sort_by(f64::total_cmp);
        let lifetimes = observations(customers.iter().map(|c| (c.revenue, 1.0)), as_of);
        Figures {
            activation: (activated as u64, activation_eligible.len() as u64),
            activation_to_date: (activated_to_date as u64, activation_eligible.len() as u64),
            retention: (retained as u64, retention_eligible.len() as u64),
            times_to_value,
            lifetimes,
            customers,
        }
    }
}

fn ratio((part, whole): (u64, u64)) -> Option<f64> {
    rate((whole > 0).then(|| part as f64 / whole as f64))
}

fn median(sorted: &[f64]) -> Option<f64> {
    let n = sorted.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(sorted[n / 2]),
        _ => Some((sorted[n / 2 - 1] + sorted[n / 2]) / 2.0),
    }
}

/// Each converted customer's variant: from the group trait `by` when some account has it,
/// else from the first `Experiment Viewed` of experiment `by` at or before `as_of`.
fn variants<'a>(
    model: &Model,
    revenue: &'a Revenue,
    by: &str,
    as_of: Timestamp,
) -> (VariantSource, Vec<(&'a AccountRevenue, Option<String>)>) {
    let profiles = model.profiles();
    let source = if profiles.has_attribute(by) {
        VariantSource::GroupTrait
    } else {
        VariantSource::ExperimentViewed
    };
    let customers = revenue
        .accounts
        .iter()
        .filter(|a| a.converted_at.is_some())
        .map(|a| {
            let variant = match source {
                VariantSource::GroupTrait => profiles.get(&a.account).and_then(|p| p.get(by)),
                VariantSource::ExperimentViewed => model
                    .exposure(&a.account, by)
                    .filter(|(at, _)| *at <= as_of)
                    .map(|(_, variant)| variant),
            };
            (a, variant.map(str::to_owned))
        })
        .collect();
    (source, customers)
}

/// The weights of `--expected-split` (`control=50,guided=50`) by variant.
fn parse_split(text: &str) -> Result<BTreeMap<String, f64>, ReportError> {
    let refuse = |reason: String| ReportError::Parameter {
        name: "expected_split",
        reason,
    };
    let mut weights = BTreeMap::new();
    for part in text.split(',') {
        let (name, weight) = part.split_once('=').ok_or_else(|| {
            refuse(format!(
                "{part:?} is not VARIANT=WEIGHT: give the split as e.g. control=50,guided=50"
            ))
        })?;
        let name = name.trim();
        let weight = weight
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|w| w.is_finite() && *w > 0.0)
            .ok_or_else(|| refuse(format!("the weight of {name:?} is not a positive number")))?;
        if name.is_empty() {
            return Err(refuse(format!("{part:?} names no variant")));
        }
        if weights.insert(name.to_owned(), weight).is_some() {
            return Err(refuse(format!("{name:?} is given twice")));
        }
    }
    Ok(weights)
}

/// Each variant's customers and the weight it was meant to have: from `split` when given
/// (which must name every variant with customers), else equal.
fn expected(
    counts: &BTreeMap<&String, u64>,
    split: Option<&str>,
) -> Result<Vec<(String, u64, f64)>, ReportError> {
    let Some(text) = split else {
        return Ok(counts
            .iter()
            .map(|(v, n)| ((*v).clone(), *n, 1.0))
            .collect());
    };
    let weights = parse_split(text)?;
    let unnamed: Vec<&str> = counts
        .keys()
        .filter(|v| !weights.contains_key(v.as_str()))
        .map(|v| v.as_str())
        .collect();
    if !unnamed.is_empty() {
        return Err(ReportError::Parameter {
            name: "expected_split",
            reason: format!("it gives no weight to variant {}", unnamed.join(", ")),
        });
    }
    Ok(weights
        .into_iter()
        .map(|(v, w)| {
            let n = counts.get(&v).copied().unwrap_or(0);
            (v, n, w)
        })
        .collect())
}

/// The control among `names` (in sort order): `--control`, else `control`, else the first.
fn control_of(
    names: &[&String],
    given: Option<&str>,
) -> Result<(Option<String>, ControlSource), ReportError> {
    if let Some(given) = given {
        return match names.iter().find(|n| n.as_str() == given) {
            Some(name) => Ok((Some((*name).clone()), ControlSource::Given)),
            None => Err(ReportError::Parameter {
                name: "control",
                reason: format!(
                    "{given:?} is not a variant of this experiment (its customers' variants: {})",
                    names
                        .iter()
                        .map(|n| n.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            }),
        };
    }
    Ok(match names.iter().find(|n| n.as_str() == CONTROL) {
        Some(name) => (Some((*name).clone()), ControlSource::Named),
        None => (
            names.first().map(|n| (*n).clone()),
            ControlSource::FirstInOrder,
        ),
    })
}

pub(crate) fn report(
    model: &Model,
    settings: &ReportSettings,
    params: &ReportParams,
) -> Result<Report, ReportError> {
    let by = params.by.as_deref().ok_or_else(|| ReportError::Parameter {
        name: "by",
        reason: "the experiment report needs --by: the group trait or the experiment".into(),
    })?;
    let as_of = params.as_of;
    let window = settings.signals.activation_days;
    let revenue = Revenue::ungrouped(model, settings, params)?;
    let (variant_source, customers) = variants(model, &revenue, by, as_of);
    let without_variant = customers.iter().filter(|(_, v)| v.is_none()).count();
    let usage = model.usage();
    let mut by_variant: BTreeMap<String, Vec<Customer>> = BTreeMap::new();
    for (a, variant) in customers {
        let (Some(variant), Some(converted)) = (variant, a.converted_at) else {
            continue;
        };
        by_variant.entry(variant).or_default().push(Customer {
            revenue: a,
            converted,
            activated: usage.activated_at(&a.account, &settings.activation, as_of),
        });
    }
    let names: Vec<&String> = by_variant.keys().collect();
    let (control, control_source) = control_of(&names, params.control.as_deref())?;
    let counts: BTreeMap<&String, u64> = by_variant
        .iter()
        .map(|(v, c)| (v, c.len() as u64))
        .collect();
    let total: u64 = counts.values().sum();
    let split = expected(&counts, params.expected_split.as_deref())?;
    let scale: f64 = split.iter().map(|(_, _, w)| w).sum();
    let expected_shares = split
        .iter()
        .filter_map(|(v, _, w)| Some((v.clone(), rate(Some(w / scale))?)))
        .collect();
    let (observed, weights): (Vec<u64>, Vec<f64>) = split.iter().map(|(_, n, w)| (*n, *w)).unzip();
    let srm = sample_ratio(&observed, &weights).map(|s| ExperimentSampleRatio {
        statistic: rate(Some(s.statistic)),
        degrees_of_freedom: s.degrees_of_freedom,
        p_value: s.p_value,
        mismatch: s.mismatch,
    });
    let figures: BTreeMap<String, Figures> = by_variant
        .into_iter()
        .map(|(name, customers)| (name, Figures::of(customers, window, as_of)))
        .collect();
    let base = control.as_ref().and_then(|c| figures.get(c));
    // The control first, then the others in sort order.
    let mut ordered: Vec<(&String, &Figures)> = figures.iter().collect();
    ordered.sort_by_key(|(name, _)| Some(*name) != control.as_ref());
    let rows: Vec<ExperimentRow> = ordered
        .into_iter()
        .map(|(name, f)| {
            let is_control = Some(name) == control.as_ref();
            let against = base.filter(|_| !is_control);
            row(name, is_control, f, against, total, as_of, settings)
        })
        .collect();
    let columns = [
        "variant",
        "control",
        "accounts",
        "share",
        "activation_eligible",
        "activated",
        "activation_rate",
        "activation_difference",
        "activation_difference_low_95",
        "activation_difference_high_95",
        "activation_p_value",
        "activated_to_date",
        "activation_to_date_rate",
        "activation_to_date_difference",
        "activation_to_date_difference_low_95",
        "activation_to_date_difference_high_95",
        "activation_to_date_p_value",
        "median_time_to_value_days",
        "time_to_value_p_value",
        "retention_eligible",
        "retained_90d",
        "retention_90d",
        "retention_difference",
        "retention_difference_low_95",
        "retention_difference_high_95",
        "retention_p_value",
        "churned",
        "time_to_churn_p_value",
        "expanded",
        "expanded_share",
        "expansion_mrr",
        "mean_mrr",
    ]
    .map(str::to_owned)
    .to_vec();
    let mut report = Report::new(
        "experiment",
        params,
        Some(by.to_owned()),
        columns,
        to_rows(rows),
    );
    report.summary = Some(to_summary(&ExperimentSummary {
        variant_source,
        control,
        control_source,
        activation_window_days: window,
        customers: total as usize,
        without_variant,
        interval: "newcombe_hybrid_score",
        expected_shares,
        sample_ratio: srm,
    }));
    Ok(report)
}

/// One variant's row, compared with `control`'s figures unless it is the control.
fn row(
    name: &str,
    is_control: bool,
    f: &Figures,
    control: Option<&Figures>,
    total: u64,
    as_of: Timestamp,
    settings: &ReportSettings,
) -> ExperimentRow {
    let n = f.customers.len();
    let against = |mine: (u64, u64), theirs: fn(&Figures) -> (u64, u64)| {
        control.and_then(|c| {
            let theirs = theirs(c);
            proportion_difference(mine.0, mine.1, theirs.0, theirs.1)
        })
    };
    let activation = against(f.activation, |c| c.activation);
    let to_date = against(f.activation_to_date, |c| c.activation_to_date);
    let retention = against(f.retention, |c| c.retention);
    let ttv = control.and_then(|c| mann_whitney(&f.times_to_value, &c.times_to_value));
    let churn = control.and_then(|c| log_rank(&[&f.lifetimes, &c.lifetimes]));
    let expansions: Vec<i64> = f
        .customers
        .iter()
        .map(|c| {
            c.revenue
                .movements
                .iter()
                .filter(|m| m.kind == MovementKind::Expansion)
                .map(|m| m.amount)
                .sum()
        })
        .collect();
    let expanded = expansions.iter().filter(|e| **e > 0).count();
    let as_of_mrr: i64 = f.customers.iter().map(|c| c.revenue.mrr_at(as_of)).sum();
    let currency = settings.currency;
    ExperimentRow {
        variant: name.to_owned(),
        control: is_control,
        accounts: n,
        share: ratio((n as u64, total)),
        activation_eligible: f.activation.1 as usize,
        activated: f.activation.0 as usize,
        activation_rate: ratio(f.activation),
        activation_difference: rate(activation.map(|d| d.difference)),
        activation_difference_low_95: rate(activation.map(|d| d.low_95)),
        activation_difference_high_95: rate(activation.map(|d| d.high_95)),
        activation_p_value: activation.map(|d| d.p_value),
        activated_to_date: f.activation_to_date.0 as usize,
        activation_to_date_rate: ratio(f.activation_to_date),
        activation_to_date_difference: rate(to_date.map(|d| d.difference)),
        activation_to_date_difference_low_95: rate(to_date.map(|d| d.low_95)),
        activation_to_date_difference_high_95: rate(to_date.map(|d| d.high_95)),
        activation_to_date_p_value: to_date.map(|d| d.p_value),
        median_time_to_value_days: rate(median(&f.times_to_value)),
        time_to_value_p_value: ttv.map(|t| t.p_value),
        retention_eligible: f.retention.1 as usize,
        retained_90d: f.retention.0 as usize,
        retention_90d: ratio(f.retention),
        retention_difference: rate(retention.map(|d| d.difference)),
        retention_difference_low_95: rate(retention.map(|d| d.low_95)),
        retention_difference_high_95: rate(retention.map(|d| d.high_95)),
        retention_p_value: retention.map(|d| d.p_value),
        churned: f.lifetimes.iter().filter(|o| o.event).count(),
        time_to_churn_p_value: churn.map(|t| t.p_value),
        expanded,
        expanded_share: ratio((expanded as u64, n as u64)),
        expansion_mrr: money(expansions.iter().sum(), currency),
        mean_mrr: rate((n > 0).then(|| money(as_of_mrr, currency) / n as f64)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_control_is_the_one_given_else_the_one_called_control_else_the_first() {
        let (a, control, guided) = ("a".to_owned(), "control".to_owned(), "guided".to_owned());
        let names = [&a, &control, &guided];
        assert_eq!(
            control_of(&names, Some("guided")).unwrap(),
            (Some(guided.clone()), ControlSource::Given)
        );
        assert_eq!(
            control_of(&names, None).unwrap(),
            (Some(control.clone()), ControlSource::Named)
        );
        assert_eq!(
            control_of(&[&a, &guided], None).unwrap(),
            (Some(a.clone()), ControlSource::FirstInOrder)
        );
        match control_of(&names, Some("guidd")) {
            Err(ReportError::Parameter { name, reason }) => {
                assert_eq!(name, "control");
                assert!(reason.contains("a, control, guided"), "{reason}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_expected_split_names_every_variant_with_a_positive_weight() {
        let (control, guided) = ("control".to_owned(), "guided".to_owned());
        let counts = BTreeMap::from([(&control, 60), (&guided, 40)]);
        assert_eq!(
            expected(&counts, None).unwrap(),
            [("control".into(), 60, 1.0), ("guided".into(), 40, 1.0)]
        );
        // A variant named without customers counts with none.
        assert_eq!(
            expected(&counts, Some("control = 3, guided=2,video=1")).unwrap(),
            [
                ("control".into(), 60, 3.0),
                ("guided".into(), 40, 2.0),
                ("video".into(), 0, 1.0)
            ]
        );
        for (text, says) in [
            ("control=1", "no weight to variant guided"),
            ("control=1,guided=0", "not a positive number"),
            ("control=1,guided", "is not VARIANT=WEIGHT"),
            ("control=1,control=2,guided=1", "given twice"),
            ("=1,control=1,guided=1", "names no variant"),
        ] {
            match expected(&counts, Some(text)) {
                Err(ReportError::Parameter {
                    name: "expected_split",
                    reason,
                }) => assert!(reason.contains(says), "{text}: {reason}"),
                other => panic!("{text}: {other:?}"),
            }
        }
    }

    #[test]
    fn median_of_even_and_odd() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[1.0, 5.0, 9.0]), Some(5.0));
        assert_eq!(median(&[1.0, 5.0, 7.0, 9.0]), Some(6.0));
    }
}
