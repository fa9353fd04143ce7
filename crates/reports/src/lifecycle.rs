//! Each customer's lifecycle (SPEC §4): its health, band and stage at the end of every day since
//! conversion, the stage transitions that history holds, and its first-time milestones.
//!
//! The history is a function of the log like every other figure: replaying the log gives the
//! same days, transitions and milestones as live ingestion. Days are evaluated at their last
//! millisecond (UTC) and the last one at the report instant, so a transition's time is the end of
//! the day it was first seen. While an account is not paying, nothing is evaluated until its
//! next revenue movement: the default rules place a non-paying account only in `churned`.
//!
//! **What one account's lifecycle depends on**, which is what lets [`Lifecycles`] keep it
//! between reports:
//! - its own facts only: its ledger (MRR changes, invoices, deals), its product usage and
//!   success facts (its own and those of the identities linked to it), read through
//!   [`AccountInputs`]. Nothing company-wide: no peer percentile, no other account's figure.
//!   The workspace's interned event and user names are read only to match and name the
//!   account's own events, and they never change once given;
//! - the report settings (currency and rates, activation, adoption, health, signals, stages);
//! - time only through the instants evaluated: the end of each day from the day of conversion
//!   on (while paying; while not, the end of the day of the next revenue movement), and the
//!   report instant. An evaluation at `at` reads only what happened at or before `at`, and
//!   [`AccountRevenue`] as of a later instant agrees with it up to the earlier one, so the
//!   days before one report instant are the days before any later one: a later instant only
//!   adds days. What an evaluation passes to the next is the stage it found and the rules that
//!   held ([`Holding`], for the rules that `stay`); the milestones seen so far are a minimum.
//!
//! So a lifecycle evaluated through some day, with that carry (`Walk`), extends to a later
//! instant by evaluating only the new days, and stays right until the account's facts change,
//! which [`Model::generation`] tells.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, PoisonError};

use rayon::prelude::*;
use serde::Serialize;
use tenure_core::{AccountId, DealKind, DealStatus, Timestamp};
use tenure_engine::model::Generation;
use tenure_engine::Model;
use tenure_health::{Band, Holding, Stages, ADOPTING_DEPTH, DAY_MS};
use utoipa::ToSchema;

use crate::account_revenue::AccountRevenue;
use crate::accounts::{AccountInputs, State};
use crate::revenue::Revenue;
use crate::row::{grouped_rows, rate, to_rows, to_summary};
use crate::{
    MovementKind, Report, ReportError, ReportParams, ReportSettings, ShouldStop, WithModel,
};

/// The first-time milestones SPEC §4 keeps on the account, in lifecycle order.
pub const MILESTONES: &[&str] = &[
    "activated",
    "adopted",
    "first_expansion",
    "renewed",
    "advocate",
    "churned",
];

/// The first time of each of [`MILESTONES`], by index.
type Firsts = [Option<Timestamp>; 6];

fn note(firsts: &mut Firsts, name: &str, at: Timestamp) {
    let i = MILESTONES.iter().position(|m| *m == name).expect("listed");
    if firsts[i].is_none_or(|t| at < t) {
        firsts[i] = Some(at);
    }
}

/// One evaluation of an account: the end of a day, or the report instant.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Day {
    pub at: Timestamp,
    pub score: Option<f64>,
    pub band: Option<Band>,
    /// Index into the stage rules' names.
    pub stage: Option<usize>,
}

/// A change of stage, seen at `at` (the end of the day it happened, see the module note).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    pub at: Timestamp,
    pub from: Option<usize>,
    pub to: Option<usize>,
}

/// An account's lifecycle up to the report instant, without its days: what `funnel` reads.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Course {
    pub transitions: Vec<Transition>,
    /// `(milestone, first time)`, in [`MILESTONES`] order, only those reached.
    pub milestones: Vec<(&'static str, Timestamp)>,
    /// The stage at the report instant.
    pub stage: Option<usize>,
}

impl Course {
    pub fn milestone(&self, name: &str) -> Option<Timestamp> {
        self.milestones
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, t)| *t)
    }

    /// Every spell in a stage: `(stage, entered, left)`, `left` none while it lasts.
    pub fn spells(&self) -> Vec<(usize, Timestamp, Option<Timestamp>)> {
        let mut out: Vec<(usize, Timestamp, Option<Timestamp>)> = Vec::new();
        for t in &self.transitions {
            if let Some(open) = out.last_mut().filter(|s| s.2.is_none()) {
                open.2 = Some(t.at);
            }
            if let Some(to) = t.to {
                out.push((to, t.at, None));
            }
        }
        out
    }
}

/// An account's lifecycle up to the report instant, with every day evaluated.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Lifecycle {
    pub days: Vec<Day>,
    pub course: Course,
}

/// The compiled stage rules of the settings.
pub fn stage_rules(settings: &ReportSettings) -> Result<Stages, ReportError> {
    settings
        .stages
        .compile()
        .map_err(|e| ReportError::Settings {
            setting: "stages",
            reason: e.to_string(),
        })
}

/// The last millisecond of the UTC day holding `t`.
pub(crate) fn day_end(t: Timestamp) -> Timestamp {
    Timestamp::from_millis((t.millis().div_euclid(DAY_MS) + 1) * DAY_MS - 1)
}

/// How far an account's daily evaluation has gone: what the next evaluation needs (the stage
/// and the rules that held) and what the evaluations so far found.
#[derive(Debug, Default)]
struct Walk {
    /// The last evaluation; none before the first.
    at: Option<Timestamp>,
    /// Whether the account paid then.
    paying: bool,
    stage: Option<usize>,
    /// The rules that held then, if it was paying: a day without pay passes nothing on, and
    /// the days skipped after it are not evaluated (`AccountInputs::state_at` agrees).
    held: Option<Holding>,
    transitions: Vec<Transition>,
    /// The milestones the evaluations saw (activation, adoption, advocate readiness).
    firsts: Firsts,
}

/// The evaluation at the report instant: the walk's last one when that is the instant, else
/// one more after it, which a later instant does not make.
#[derive(Debug, Clone, Copy)]
struct Last {
    at: Timestamp,
    stage: Option<usize>,
    firsts: Firsts,
}

impl Walk {
    /// The next evaluation every later report instant makes too: the end of the day of
    /// conversion, then each day's end while paying; while not paying, nothing changes the
    /// default stages until the next movement, so the end of its day (none: no movement yet).
    fn next(&self, revenue: &AccountRevenue, converted: Timestamp) -> Option<Timestamp> {
        match self.at {
            None => Some(day_end(converted)),
            Some(at) if self.paying => Some(at.plus_millis(DAY_MS)),
            Some(at) => revenue
                .movements
                .iter()
                .find(|m| m.at > at)
                .map(|m| day_end(m.at)),
        }
    }

    /// Evaluates the account at `at`, after the walk's evaluations.
    fn step(&mut self, inputs: &AccountInputs, stages: &Stages, at: Timestamp) -> Day {
        let s = inputs.evaluate(stages, at, self.held.as_ref());
        let day = Day {
            at,
            score: s.health.as_ref().map(|h| h.score),
            band: s.band(),
            stage: s.stage.as_deref().and_then(|n| stages.position(n)),
        };
        if day.stage != self.stage {
            self.transitions.push(Transition {
                at,
                from: self.stage,
                to: day.stage,
            });
            self.stage = day.stage;
        }
        observe_milestones(&s, &mut |name, t| note(&mut self.firsts, name, t), at);
        self.at = Some(at);
        self.paying = s.facts.mrr > 0;
        self.held = self.paying.then_some(s.holding);
        day
    }

    /// Takes every evaluation up to `as_of` that later instants make too.
    fn advance(
        &mut self,
        inputs: &AccountInputs,
        stages: &Stages,
        converted: Timestamp,
        as_of: Timestamp,
        on_day: &mut dyn FnMut(Day),
    ) {
        while let Some(at) = self
            .next(inputs.revenue(), converted)
            .filter(|at| *at <= as_of)
        {
            on_day(self.step(inputs, stages, at));
        }
    }

    /// The evaluation at `as_of` when it is the walk's last.
    fn last_known(&self, as_of: Timestamp) -> Option<Last> {
        (self.at == Some(as_of)).then_some(Last {
            at: as_of,
            stage: self.stage,
            firsts: self.firsts,
        })
    }

    /// The evaluation at `as_of`, the walk having advanced to it.
    fn last(
        &self,
        inputs: &AccountInputs,
        stages: &Stages,
        as_of: Timestamp,
        on_day: &mut dyn FnMut(Day),
    ) -> Last {
        if let Some(last) = self.last_known(as_of) {
            return last;
        }
        let mut after = Walk {
            transitions: Vec::new(),
            held: self.held.clone(),
            ..*self
        };
        on_day(after.step(inputs, stages, as_of));
        Last {
            at: as_of,
            stage: after.stage,
            firsts: after.firsts,
        }
    }

    /// The course through `last`: the walk's transitions and that of the last evaluation, and
    /// the milestones the evaluations saw with those read off the facts as of `last.at`.
    fn course(&self, model: &Model, revenue: &AccountRevenue, last: &Last) -> Course {
        let mut transitions = self.transitions.clone();
        if last.stage != self.stage {
            transitions.push(Transition {
                at: last.at,
                from: self.stage,
                to: last.stage,
            });
        }
        Course {
            transitions,
            milestones: milestones(model, revenue, last.at, last.firsts),
            stage: last.stage,
        }
    }
}

/// The milestones `firsts` holds with those the facts as of `as_of` give: the first expansion,
/// churn, won renewal and advocacy.
fn milestones(
    model: &Model,
    revenue: &AccountRevenue,
    as_of: Timestamp,
    mut firsts: Firsts,
) -> Vec<(&'static str, Timestamp)> {
    let converted = revenue.converted_at.expect("a customer");
    for m in &revenue.movements {
        if m.at > converted && m.at <= as_of && m.kind == MovementKind::Expansion {
            note(&mut firsts, "first_expansion", m.at);
        }
    }
    if let Some(churned) = revenue.churned_at.filter(|c| *c <= as_of) {
        note(&mut firsts, "churned", churned);
    }
    if let Some(ledger) = model.ledger().account(&revenue.account) {
        for d in ledger.deals() {
            if d.kind == DealKind::Renewal && d.status == DealStatus::Won {
                if let Some(closed) = d.closed_at.filter(|c| *c <= as_of) {
                    note(&mut firsts, "renewed", closed);
                }
            }
        }
    }
    if let Some(s) = model.success().account(&revenue.account) {
        for m in s.advocacy().filter(|m| m.at >= converted && m.at <= as_of) {
            note(&mut firsts, "advocate", m.at);
        }
    }
    MILESTONES
        .iter()
        .zip(firsts)
        .filter_map(|(name, at)| at.map(|t| (*name, t)))
        .collect()
}

/// The account's lifecycle from conversion to `as_of`, every day evaluated.
pub fn lifecycle(
    model: &Model,
    settings: &ReportSettings,
    stages: &Stages,
    revenue: &AccountRevenue,
    as_of: Timestamp,
) -> Lifecycle {
    let mut days = Vec::new();
    let Some(converted) = revenue.converted_at.filter(|c| *c <= as_of) else {
        return Lifecycle::default();
    };
    let inputs = AccountInputs::new(model, settings, revenue);
    let mut walk = Walk::default();
    walk.advance(&inputs, stages, converted, as_of, &mut |d| days.push(d));
    let last = walk.last(&inputs, stages, as_of, &mut |d| days.push(d));
    Lifecycle {
        days,
        course: walk.course(model, revenue, &last),
    }
}

/// Milestones read off one evaluation: activation (at its own time), adoption and advocate
/// readiness (at the evaluation).
fn observe_milestones(s: &State, note: &mut impl FnMut(&str, Timestamp), at: Timestamp) {
    if let Some(activated) = s.facts.activated_at {
        note("activated", Timestamp::from_millis(activated));
    }
    if s.facts.mrr > 0 {
        if s.facts
            .adoption_depth()
            .is_some_and(|d| d >= ADOPTING_DEPTH)
        {
            note("adopted", at);
        }
        if s.signals.iter().any(|x| x.name == "advocate_ready") {
            note("advocate", at);
        }
    }
}

/// Each customer's lifecycle as far as `funnel` has evaluated it, kept by a caller that asks
/// again (a running server keeps one per workspace), so that the next report evaluates only
/// the days after it and the accounts whose facts changed since. Reports with it are the
/// reports without it (a property test holds them equal).
///
/// An account's entry is its `Walk` through the last day's end a report evaluated, and the
/// report instant's own evaluation; it is used only while the account's [`Model::generation`]
/// and the settings are those it was made under (the module note says why nothing else can
/// change it). A changed account is evaluated anew from its conversion; a report for an
/// instant before an entry's days evaluates the account anew and leaves the entry for the
/// later instant it serves. Pure bookkeeping: no I/O, behind a lock of its own, so reports
/// running at once each take the entries of the accounts they are at (another report then
/// evaluates an account anew rather than wait).
#[derive(Debug, Default)]
pub struct Lifecycles {
    kept: Mutex<Kept>,
}

#[derive(Debug, Default)]
struct Kept {
    /// The settings every entry was made under.
    settings: Option<ReportSettings>,
    entries: HashMap<AccountId, Entry>,
}

/// One account's kept lifecycle.
#[derive(Debug)]
struct Entry {
    generation: Generation,
    converted: Timestamp,
    walk: Walk,
    /// The evaluation at the last report instant, when it was after the walk's.
    last: Option<Last>,
}

impl Lifecycles {
    /// How many accounts' lifecycles are kept.
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Kept> {
        // Entries are whole when put back, so one left by a panicking report is still right.
        self.kept.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes out the entries of `accounts` for a report under `settings` to use and give back,
    /// after forgetting every entry made under other settings.
    fn take(&self, settings: &ReportSettings, accounts: &[&AccountRevenue]) -> Vec<Option<Entry>> {
        let mut kept = self.lock();
        if kept.settings.as_ref() != Some(settings) {
            kept.entries.clear();
            kept.settings = Some(settings.clone());
        }
        accounts
            .iter()
            .map(|a| kept.entries.remove(&a.account))
            .collect()
    }

    /// Keeps entries made under `settings`, unless the entries kept now are another settings'.
    fn give_back(
        &self,
        settings: &ReportSettings,
        entries: impl IntoIterator<Item = (AccountId, Entry)>,
    ) {
        let mut kept = self.lock();
        if kept.settings.as_ref() == Some(settings) {
            kept.entries.extend(entries);
        }
    }
}

/// The customer's course to `as_of` (converted by then), from `entry` where it holds the
/// account's lifecycle as the model's facts stand, evaluating only the days after it; with the
/// entry to keep for the next report.
fn kept_course(
    model: &Model,
    settings: &ReportSettings,
    stages: &Stages,
    revenue: &AccountRevenue,
    as_of: Timestamp,
    entry: Option<Entry>,
) -> (Course, Entry) {
    let converted = revenue.converted_at.expect("a customer");
    let generation = model.generation(&revenue.account);
    let fresh = || Entry {
        generation,
        converted,
        walk: Walk::default(),
        last: None,
    };
    // `later`: an entry for a later instant than this one, kept as it is.
    let (mut entry, later) = match entry {
        Some(e) if e.generation == generation && e.converted == converted => {
            if e.walk.at.is_none_or(|at| at <= as_of) {
                (e, None)
            } else {
                (fresh(), Some(e))
            }
        }
        _ => (fresh(), None),
    };
    // Each report leaves the walk advanced to its instant and `last` at it, so the same
    // instant again needs no evaluation.
    let known = entry
        .walk
        .last_known(as_of)
        .or(entry.last.filter(|last| last.at == as_of));
    let last = known.unwrap_or_else(|| {
        let inputs = AccountInputs::new(model, settings, revenue);
        entry
            .walk
            .advance(&inputs, stages, converted, as_of, &mut |_| {});
        entry.walk.last(&inputs, stages, as_of, &mut |_| {})
    });
    entry.last = Some(last);
    let course = entry.walk.course(model, revenue, &last);
    (course, later.unwrap_or(entry))
}

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

/// One day of an account's health, as the stored history keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct HealthOfDay {
    /// The end of the day.
    pub at: Timestamp,
    pub score: Option<f64>,
    pub band: Option<Band>,
    pub stage: Option<String>,
}

/// The account's health, band and stage at the end of every day in `(after, until]` on which
/// it was paying: what the stored daily history records. Each day is evaluated as
/// [`lifecycle`] evaluates it (which also evaluates the churn day and the report instant).
pub fn daily_health(
    model: &Model,
    settings: &ReportSettings,
    stages: &Stages,
    account: &tenure_core::AccountId,
    after: Timestamp,
    until: Timestamp,
) -> Result<Vec<HealthOfDay>, ReportError> {
    let Some(ledger) = model.ledger().account(account) else {
        return Ok(Vec::new());
    };
    let Some(revenue) = AccountRevenue::of(account, ledger, settings, until)? else {
        return Ok(Vec::new());
    };
    let Some(converted) = revenue.converted_at else {
        return Ok(Vec::new());
    };
    // The first day end after `after`, and not before conversion.
    let mut at = day_end(converted).max(day_end(after.plus_millis(1)));
    if at > until {
        return Ok(Vec::new());
    }
    let inputs = AccountInputs::new(model, settings, &revenue);
    let mut out = Vec::new();
    // The first day looks back for what held before it; the next ones carry it, as
    // `lifecycle` does.
    let mut held = None;
    while at <= until {
        if revenue.mrr_at(at) > 0 {
            let s = match &held {
                None => inputs.state_at(stages, at),
                Some(before) => inputs.evaluate(stages, at, Some(before)),
            };
            held = (s.facts.mrr > 0).then(|| s.holding.clone());
            out.push(HealthOfDay {
                at,
                score: s.health.as_ref().map(|h| h.score),
                band: s.band(),
                stage: s.stage,
            });
        } else {
            held = None;
        }
        at = at.plus_millis(DAY_MS);
    }
    Ok(out)
}
