//! `funnel`: the lifecycle stages in order, with the customers that entered each, are in it,
//! and went on, how long they stayed, activation, time to value and milestones, over every
//! customer's daily [`Course`](crate::lifecycle::Course) (which [`Lifecycles`] keeps between
//! reports).

use std::collections::BTreeMap;

use rayon::prelude::*;
use serde::Serialize;
use tenure_core::Timestamp;
use tenure_health::DAY_MS;
use utoipa::ToSchema;

use crate::account_revenue::AccountRevenue;
use crate::lifecycle::{kept_course, stage_rules, Course, Entry, Lifecycles, MILESTONES};
use crate::revenue::Revenue;
use crate::row::{grouped_rows, rate, to_rows, to_summary};
use crate::{Report, ReportError, ReportParams, ReportSettings, ShouldStop, WithModel};

/// Customers whose daily lifecycle `funnel` computes per turn with the model. Fewer turns are
/// faster; shorter ones keep live statuses closer behind (`BENCHMARKS.md`: at 20,000 accounts,
/// 64 gave a p99 of 84 ms against 253 ms for 256, for a report 20% slower).
const FUNNEL_ACCOUNTS_PER_TURN: usize = 64;

/// The `q`-quantile of sorted values, interpolating linearly between closest ranks (numpy's
/// default, "type 7").
fn quantile(sorted: &[f64], q: f64) -> Option<f64> {
    let last = sorted.len().checked_sub(1)?;
    let h = q * last as f64;
    let (lo, hi) = (h.floor() as usize, h.ceil() as usize);
    Some(sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo]))
}

fn days_between(from: Timestamp, to: Timestamp) -> f64 {
    (to.millis() - from.millis()) as f64 / DAY_MS as f64
}

/// Time to value, in days, by these upper bounds; the last bucket is open.
const TTV_BUCKETS: &[(f64, &str)] = &[
    (7.0, "0-7"),
    (14.0, "7-14"),
    (30.0, "14-30"),
    (60.0, "30-60"),
    (90.0, "60-90"),
    (f64::INFINITY, "90+"),
];

/// One lifecycle stage of the `funnel` (of one group, under the grouping's name, with `--by`):
/// how many customers entered it, are in it, went on to the next stage, and how long they
/// stayed.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct FunnelRow {
    /// The stage.
    pub stage: String,
    /// Customers that were ever in it.
    pub entered: usize,
    /// Customers in it at `as_of`.
    pub now: usize,
    /// The next stage in lifecycle order; null for the last.
    pub next_stage: Option<String>,
    /// Customers that entered the next stage after first entering this one; null for the last
    /// stage.
    pub reached_next: Option<usize>,
    /// reached_next ÷ entered, 0–1; null for the last stage and when none entered.
    pub conversion_to_next: Option<f64>,
    /// Spells in the stage that ended (a customer can be in a stage more than once).
    pub spells_completed: usize,
    /// Spells in the stage still going on at `as_of`.
    pub spells_ongoing: usize,
    /// Median length of the completed spells, in days.
    pub median_days_in_stage: Option<f64>,
    /// Mean length of the completed spells, in days.
    pub mean_days_in_stage: Option<f64>,
}

/// The summary of `funnel`: activation, time to value and milestones of the customers.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct FunnelSummary {
    /// Customers converted by `as_of`.
    pub customers: usize,
    /// Their activation within the activation window.
    pub activation: FunnelActivation,
    /// Days from conversion to activation of the customers that activated (activation during
    /// a trial counts as day 0).
    pub time_to_value_days: FunnelTimeToValue,
    /// Per milestone (`activated`, `adopted`, `first_expansion`, …): how many customers reached
    /// it, and how soon.
    pub milestones: BTreeMap<String, FunnelMilestone>,
    /// With `--by`, each group's customers and activation; absent without.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub groups: Option<Vec<FunnelGroup>>,
}

/// The activation rate within the activation window of conversion (SPEC §3), over the
/// customers converted at least that long before `as_of`.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct FunnelActivation {
    /// The window, in days (`[signals] activation_days`).
    pub within_days: u32,
    /// Customers converted at least that many days before `as_of`.
    pub eligible: usize,
    /// Those that activated within the window.
    pub activated: usize,
    /// activated ÷ eligible, 0–1; null without eligible customers.
    pub rate: Option<f64>,
}

/// The distribution of time to value, in days.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct FunnelTimeToValue {
    /// Customers that activated.
    pub activated: usize,
    /// 25th percentile; null without activated customers.
    pub p25: Option<f64>,
    /// Median.
    pub median: Option<f64>,
    /// 75th percentile.
    pub p75: Option<f64>,
    /// 90th percentile.
    pub p90: Option<f64>,
    /// Mean.
    pub mean: Option<f64>,
    /// Customers per bucket of days, shortest first.
    pub histogram: Vec<FunnelTtvBucket>,
}

/// Customers whose time to value falls in one bucket.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct FunnelTtvBucket {
    /// The bucket, in days: `0-7`, `7-14`, `14-30`, `30-60`, `60-90` or `90+` (lower end
    /// included).
    pub days: &'static str,
    /// Customers in it.
    pub accounts: usize,
}

/// How many customers reached a milestone, and how soon.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct FunnelMilestone {
    /// Customers that reached it.
    pub accounts: usize,
    /// Median days from conversion to reaching it (0 when reached before); null when none did.
    pub median_days_from_conversion: Option<f64>,
}

/// One group's customers and activation in the `funnel` summary.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct FunnelGroup {
    /// One key: the grouping's name, holding the group's value.
    #[serde(flatten)]
    pub group: BTreeMap<String, String>,
    /// Customers of the group converted by `as_of`.
    pub customers: usize,
    /// Their activation within the activation window.
    pub activation: FunnelActivation,
}

/// `funnel`: for each stage in lifecycle order, how many customers entered it, are in it now,
/// went on to the next stage, and how long they stayed; in the summary, the activation rate
/// within N days (only accounts converted at least N days before `as_of`), the time-to-value
/// distribution and the milestones reached.
pub(crate) fn funnel_report(
    with_model: WithModel,
    settings: &ReportSettings,
    params: &ReportParams,
    should_stop: ShouldStop,
    lifecycles: Option<&Lifecycles>,
) -> Result<Report, ReportError> {
    let stages = stage_rules(settings)?;
    // Grouped as every other report groups accounts (`--by` a touch grouping, an account
    // attribute or trait, stage or band); each account whole, in one group, since the catalog
    // takes no `--model` for the funnel: it follows accounts, it does not split them by credit.
    let mut revenue = None;
    with_model(&mut |model| revenue = Some(Revenue::build(model, settings, params)));
    let revenue = revenue.ok_or(ReportError::Cancelled)??;
    let as_of = params.as_of;
    let converted: Vec<&AccountRevenue> = revenue
        .accounts
        .iter()
        .filter(|a| a.converted_at.is_some_and(|c| c <= as_of))
        .collect();
    // Each account's days are independent of the others': one account per task, and a few
    // hundred accounts per turn with the model, so a caller that locks it lets writers in.
    let mut lives: Vec<(&AccountRevenue, Course)> = Vec::with_capacity(converted.len());
    for turn in converted.chunks(FUNNEL_ACCOUNTS_PER_TURN) {
        let mut kept: Vec<Option<Entry>> = match lifecycles {
            Some(l) => l.take(settings, turn),
            None => turn.iter().map(|_| None).collect(),
        };
        let mut done: Vec<(Option<Course>, Option<Entry>)> = Vec::new();
        with_model(&mut |model| {
            done = turn
                .par_iter()
                .zip(std::mem::take(&mut kept))
                .map(|(a, entry)| {
                    // Asked before each customer too, so a stop takes effect within one
                    // customer's days; what is kept so far is given back all the same.
                    if should_stop() {
                        return (None, entry);
                    }
                    let (course, entry) = kept_course(model, settings, &stages, a, as_of, entry);
                    (Some(course), Some(entry))
                })
                .collect();
        });
        // Not taken with the model (the caller stopped): the entries go back untouched.
        done.extend(kept.into_iter().map(|entry| (None, entry)));
        let mut back = Vec::new();
        for (a, (course, entry)) in turn.iter().zip(done) {
            if let Some(course) = course {
                lives.push((a, course));
            }
            back.extend(entry.map(|e| (a.account.clone(), e)));
        }
        if let Some(l) = lifecycles {
            l.give_back(settings, back);
        }
        if should_stop() {
            return Err(ReportError::Cancelled);
        }
    }

    let names: Vec<&str> = stages.names().collect();
    let all: Vec<&(&AccountRevenue, Course)> = lives.iter().collect();
    let window = settings.signals.activation_days;
    let mut rows = Vec::new();
    let mut groups = Vec::new();
    match &revenue.by {
        None => rows = to_rows(stage_rows(&names, &all)),
        Some(by) => {
            let index: std::collections::HashMap<&tenure_core::AccountId, usize> = lives
                .iter()
                .enumerate()
                .map(|(i, (a, _))| (&a.account, i))
                .collect();
            for group in revenue.group_names() {
                let members: Vec<&(&AccountRevenue, Course)> = revenue
                    .in_group(&group)
                    .filter_map(|(a, _)| index.get(&a.account).map(|i| &lives[*i]))
                    .collect();
                if members.is_empty() {
                    continue;
                }
                let stages = stage_rows(&names, &members);
                rows.extend(grouped_rows(
                    Some(by),
                    stages.into_iter().map(|row| (group.clone(), row)),
                ));
                groups.push(FunnelGroup {
                    group: BTreeMap::from([(by.clone(), group.clone())]),
                    customers: members.len(),
                    activation: activation(&members, window, as_of),
                });
            }
        }
    }

    // Time to value: conversion to activation; activation during a trial counts as day 0.
    let mut ttv: Vec<f64> = lives
        .iter()
        .filter_map(|(a, life)| {
            let converted = a.converted_at?;
            life.milestone("activated")
                .map(|t| days_between(converted, t).max(0.0))
        })
        .collect();
    ttv.sort_by(f64::total_cmp);
    let mut histogram = Vec::new();
    let mut lower = 0.0;
    for (upper, label) in TTV_BUCKETS {
        let n = ttv.iter().filter(|d| **d >= lower && **d < *upper).count();
        histogram.push(FunnelTtvBucket {
            days: label,
            accounts: n,
        });
        lower = *upper;
    }
    let milestones = MILESTONES
        .iter()
        .map(|m| {
            let mut days: Vec<f64> = lives
                .iter()
                .filter_map(|(a, life)| {
                    Some(days_between(a.converted_at?, life.milestone(m)?).max(0.0))
                })
                .collect();
            days.sort_by(f64::total_cmp);
            let milestone = FunnelMilestone {
                accounts: days.len(),
                median_days_from_conversion: rate(quantile(&days, 0.5)),
            };
            ((*m).to_owned(), milestone)
        })
        .collect();
    let columns: Vec<String> = [
        "stage",
        "entered",
        "now",
        "next_stage",
        "reached_next",
        "conversion_to_next",
        "spells_completed",
        "spells_ongoing",
        "median_days_in_stage",
        "mean_days_in_stage",
    ]
    .map(str::to_owned)
    .to_vec();
    let mut columns = columns;
    if let Some(by) = &revenue.by {
        columns.insert(0, by.clone());
    }
    let mut report = Report::new("funnel", params, revenue.by.clone(), columns, rows);
    report.summary = Some(to_summary(&FunnelSummary {
        customers: lives.len(),
        activation: activation(&all, window, as_of),
        time_to_value_days: FunnelTimeToValue {
            activated: ttv.len(),
            p25: rate(quantile(&ttv, 0.25)),
            median: rate(quantile(&ttv, 0.5)),
            p75: rate(quantile(&ttv, 0.75)),
            p90: rate(quantile(&ttv, 0.9)),
            mean: rate((!ttv.is_empty()).then(|| ttv.iter().sum::<f64>() / ttv.len() as f64)),
            histogram,
        },
        milestones,
        groups: revenue.by.is_some().then_some(groups),
    }));
    Ok(report)
}

/// The funnel's rows over some customers' lifecycles: for each stage in lifecycle order, how
/// many entered it, are in it now, went on to the next stage, and how long they stayed.
fn stage_rows(names: &[&str], lives: &[&(&AccountRevenue, Course)]) -> Vec<FunnelRow> {
    let mut rows = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let mut entered = 0usize;
        let mut now = 0usize;
        let mut reached_next = 0usize;
        let mut completed: Vec<f64> = Vec::new();
        let mut ongoing = 0usize;
        for (_, life) in lives {
            let spells = life.spells();
            let Some(first) = spells.iter().find(|s| s.0 == i) else {
                continue;
            };
            entered += 1;
            if life.stage == Some(i) {
                now += 1;
            }
            if spells.iter().any(|s| s.0 == i + 1 && s.1 > first.1) {
                reached_next += 1;
            }
            for (stage, from, to) in spells.iter().filter(|s| s.0 == i) {
                debug_assert_eq!(*stage, i);
                match to {
                    Some(to) => completed.push(days_between(*from, *to)),
                    None => ongoing += 1,
                }
            }
        }
        completed.sort_by(f64::total_cmp);
        let next = names.get(i + 1);
        rows.push(FunnelRow {
            stage: (*name).to_owned(),
            entered,
            now,
            next_stage: next.map(|n| (*n).to_owned()),
            reached_next: next.map(|_| reached_next),
            conversion_to_next: rate(
                next.and_then(|_| (entered > 0).then(|| reached_next as f64 / entered as f64)),
            ),
            spells_completed: completed.len(),
            spells_ongoing: ongoing,
            median_days_in_stage: rate(quantile(&completed, 0.5)),
            mean_days_in_stage: rate(
                (!completed.is_empty())
                    .then(|| completed.iter().sum::<f64>() / completed.len() as f64),
            ),
        });
    }

    rows
}

/// The activation rate within `window` days of conversion, over the customers converted at
/// least that long before `as_of` (SPEC §3).
fn activation(
    lives: &[&(&AccountRevenue, Course)],
    window: u32,
    as_of: Timestamp,
) -> FunnelActivation {
    let eligible: Vec<&(&AccountRevenue, Course)> = lives
        .iter()
        .copied()
        .filter(|(a, _)| {
            a.converted_at
                .is_some_and(|c| c.plus_millis(i64::from(window) * DAY_MS) <= as_of)
        })
        .collect();
    let activated_within = eligible
        .iter()
        .filter(|(a, life)| {
            let c = a.converted_at.expect("converted");
            life.milestone("activated")
                .is_some_and(|t| t <= c.plus_millis(i64::from(window) * DAY_MS))
        })
        .count();
    FunnelActivation {
        within_days: window,
        eligible: eligible.len(),
        activated: activated_within,
        rate: rate((!eligible.is_empty()).then(|| activated_within as f64 / eligible.len() as f64)),
    }
}
