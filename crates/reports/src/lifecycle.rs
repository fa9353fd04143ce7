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

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use tenure_core::{AccountId, DealKind, DealStatus, Timestamp};
use tenure_engine::model::Generation;
use tenure_engine::Model;
use tenure_health::{Band, Holding, Stages, ADOPTING_DEPTH, DAY_MS};

use crate::account_revenue::AccountRevenue;
use crate::account_state::{AccountInputs, DayEnds, State};
use crate::calendar::day_end;
use crate::churn::KeptSamples;
use crate::{MovementKind, ReportError, ReportSettings};

pub use tenure_health::MILESTONES;

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

/// Each customer's lifecycle as far as `funnel` has evaluated it, what the account reports'
/// states took from the day ends before their instant ([`DayEnds`]) and each account's
/// month-end snapshots for the churn model ([`KeptSamples`]), kept by a caller that
/// asks again (a running server keeps one per workspace), so that the next report evaluates
/// only the days after it and the accounts whose facts changed since. Reports with it are the
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
pub(crate) struct Kept {
    /// The settings every entry was made under.
    settings: Option<ReportSettings>,
    entries: HashMap<AccountId, Entry>,
    /// What the account reports' states took from the day ends before their instant.
    day_ends: HashMap<AccountId, DayEnds>,
    /// The churn model's month-end snapshots of each account.
    samples: HashMap<AccountId, KeptSamples>,
}

impl Kept {
    /// The kept values, after forgetting every one made under other settings.
    fn under(&mut self, settings: &ReportSettings) -> &mut Self {
        if self.settings.as_ref() != Some(settings) {
            *self = Kept {
                settings: Some(settings.clone()),
                ..Kept::default()
            };
        }
        self
    }
}

/// A value [`Lifecycles`] keeps per account for the next report, which checks it is still the
/// account's (its generation) before using it.
pub(crate) trait PerAccount: Sized {
    fn kept(kept: &mut Kept) -> &mut HashMap<AccountId, Self>;
}

impl PerAccount for Entry {
    fn kept(kept: &mut Kept) -> &mut HashMap<AccountId, Self> {
        &mut kept.entries
    }
}

impl PerAccount for DayEnds {
    fn kept(kept: &mut Kept) -> &mut HashMap<AccountId, Self> {
        &mut kept.day_ends
    }
}

impl PerAccount for KeptSamples {
    fn kept(kept: &mut Kept) -> &mut HashMap<AccountId, Self> {
        &mut kept.samples
    }
}

/// One account's kept lifecycle.
#[derive(Debug)]
pub(crate) struct Entry {
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

    /// How many accounts' [`DayEnds`] are kept.
    pub fn day_ends_kept(&self) -> usize {
        self.lock().day_ends.len()
    }

    /// How many accounts' month-end snapshots are kept.
    pub fn samples_kept(&self) -> usize {
        self.lock().samples.len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Kept> {
        // Entries are whole when put back, so one left by a panicking report is still right.
        self.kept.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes out the values kept for `accounts` for a report under `settings` to use and give
    /// back, after forgetting every value made under other settings.
    pub(crate) fn take<T: PerAccount>(
        &self,
        settings: &ReportSettings,
        accounts: &[&AccountRevenue],
    ) -> Vec<Option<T>> {
        let mut kept = self.lock();
        let kept = T::kept(kept.under(settings));
        accounts.iter().map(|a| kept.remove(&a.account)).collect()
    }

    /// Keeps values made under `settings`, unless the values kept now are another settings'.
    pub(crate) fn give_back<T: PerAccount>(
        &self,
        settings: &ReportSettings,
        values: impl IntoIterator<Item = (AccountId, T)>,
    ) {
        let mut kept = self.lock();
        if kept.settings.as_ref() == Some(settings) {
            T::kept(&mut kept).extend(values);
        }
    }
}

/// The customer's course to `as_of` (converted by then), from `entry` where it holds the
/// account's lifecycle as the model's facts stand, evaluating only the days after it; with the
/// entry to keep for the next report.
pub(crate) fn kept_course(
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
