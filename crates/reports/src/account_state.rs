//! One account's state at an instant: the [`Facts`] SPEC §4 scores (usage, engagement, support,
//! NPS, payments, contract) gathered from the engine's usage, success facts and ledger, and
//! its health, signals and stage as `tenure-health` scores them. Below the lifecycle, the
//! grouping by stage or band, and the account reports, which all read it.

use tenure_core::{DealStatus, Timestamp};
use tenure_engine::model::Generation;
use tenure_engine::{AccountLedger, Model, SurveyKind};
use tenure_health::{
    Band, Facts, Health, Holding, Signal, SignalKind, Stages, Standing, DAY_MS, TRACED,
};

use crate::account_revenue::AccountRevenue;
use crate::calendar::day_end;
use crate::ReportSettings;

/// What stays the same for one account whatever the instant: gathered once, so that scoring
/// it at many instants (the daily lifecycle, back-tests, the churn model's snapshots) does not
/// redo it.
pub struct AccountInputs<'m, 'r> {
    model: &'m Model,
    settings: &'m ReportSettings,
    revenue: &'r AccountRevenue,
    /// When the account first met the activation rule over all it did; the rule looks only
    /// backwards, so at an instant it is this if not later.
    activated_at: Option<Timestamp>,
    /// Interned numbers of the key features and of the usage-limit event.
    key_ids: Vec<u32>,
    limit_id: Option<u32>,
}

/// Distinct values of a small list.
fn distinct(mut v: Vec<u32>) -> u32 {
    v.sort_unstable();
    v.dedup();
    v.len() as u32
}

impl<'m, 'r> AccountInputs<'m, 'r> {
    pub fn new(
        model: &'m Model,
        settings: &'m ReportSettings,
        revenue: &'r AccountRevenue,
    ) -> Self {
        let usage = model.usage();
        Self {
            model,
            settings,
            revenue,
            activated_at: usage.activated_at(
                &revenue.account,
                &settings.activation,
                Timestamp::from_millis(i64::MAX),
            ),
            key_ids: settings
                .adoption
                .key_features
                .iter()
                .filter_map(|k| usage.event_id(k))
                .collect(),
            limit_id: usage.event_id(&settings.signals.usage_limit_event),
        }
    }

    /// The revenue the inputs were gathered for.
    pub(crate) fn revenue(&self) -> &'r AccountRevenue {
        self.revenue
    }

    /// What is known about the account at `at` (SPEC §4's inputs), from what happened at or
    /// before it.
    pub fn facts_at(&self, at: Timestamp) -> Facts {
        let (model, settings, revenue) = (self.model, self.settings, self.revenue);
        let a = &revenue.account;
        let back = |d: i64| at.plus_millis(-d * DAY_MS);
        let usage = model.usage();

        // One pass over the 104 days every usage window fits in; `age` is how long before
        // `at`, so "the last N days", (at − N days, at], is age < N days.
        let mut users_14 = Vec::new();
        let mut days_14 = Vec::new();
        let mut days_prev_28 = Vec::new();
        let mut users_30 = Vec::new();
        let mut users_prev_30 = Vec::new();
        let (mut events_7, mut events_prev_28) = (0u32, 0u32);
        let mut features = Vec::new();
        let mut usage_limit = None;
        // user -> (events in the 90 days before the last 14, latest event)
        let mut champions: std::collections::HashMap<u32, (u32, i64)> = Default::default();
        for e in usage.between(a, back(104), at) {
            let t = e.at.millis();
            let age = at.millis() - t;
            let day = t.div_euclid(DAY_MS);
            let within = |n: i64| age < n * DAY_MS;
            if within(14) {
                users_14.push(e.user_id);
                days_14.push(day as u32);
            } else if within(42) {
                days_prev_28.push(day as u32);
            }
            if within(30) {
                users_30.push(e.user_id);
                features.push(e.event_id);
                if Some(e.event_id) == self.limit_id {
                    usage_limit = Some(t);
                }
            } else if within(60) {
                users_prev_30.push(e.user_id);
            }
            if within(7) {
                events_7 += 1;
            } else if within(35) {
                events_prev_28 += 1;
            }
            let c = champions.entry(e.user_id).or_default();
            c.0 += u32::from(!within(14));
            c.1 = t;
        }
        // The champion: the most active user of the 90 days before the last 14 (ties: the
        // first by name), and their latest event.
        let champion = champions
            .iter()
            .filter(|(_, c)| c.0 > 0)
            .max_by(|(xu, x), (yu, y)| {
                x.0.cmp(&y.0)
                    .then_with(|| usage.user_name(**yu).cmp(usage.user_name(**xu)))
            })
            .map(|(user, c)| (usage.user_name(*user).to_owned(), c.1));
        features.sort_unstable();
        features.dedup();
        let key_features_30d = self
            .key_ids
            .iter()
            .filter(|k| features.binary_search(k).is_ok())
            .count() as u32;
        let mut features_30d: Vec<String> = features
            .iter()
            .map(|id| usage.event_name(*id).to_owned())
            .collect();
        features_30d.sort_unstable();

        let success = model.success().account(a);
        let tickets: Vec<&tenure_engine::Ticket> =
            success.map(|s| s.tickets().collect()).unwrap_or_default();
        let opened_in = |from: Timestamp, to: Timestamp| {
            tickets
                .iter()
                .filter(|t| t.opened_at.is_some_and(|o| o > from && o <= to))
                .count() as u32
        };
        let nps = success
            .map(|s| {
                s.latest_answers(SurveyKind::Nps, at)
                    .values()
                    .filter(|ans| ans.at > back(365))
                    .map(|ans| (ans.at.millis(), ans.score))
                    .collect()
            })
            .unwrap_or_default();
        let last_csm_touch = success.and_then(|s| {
            s.csm_touches()
                .filter(|m| m.at <= at)
                .map(|m| m.at.millis())
                .max()
        });

        let ledger = model.ledger().account(a);
        let failed_payment = ledger.and_then(|l| {
            let invoices: Vec<_> = l.invoices().filter(|i| i.at <= at).collect();
            let last_paid = invoices.iter().filter(|i| i.paid).map(|i| i.at).max();
            invoices
                .iter()
                .filter(|i| !i.paid && i.at > back(30) && last_paid.is_none_or(|p| p < i.at))
                .map(|i| i.at.millis())
                .max()
        });
        let contract_end = ledger
            .and_then(|l| contract_end(l, at))
            .map(Timestamp::millis);

        Facts {
            as_of: at.millis(),
            converted_at: revenue
                .converted_at
                .filter(|c| *c <= at)
                .map(Timestamp::millis),
            activated_at: self
                .activated_at
                .filter(|t| *t <= at)
                .map(Timestamp::millis),
            mrr: revenue.mrr_at(at),
            seats: ledger.and_then(|l| l.seats_at(at)),
            plan: ledger.and_then(|l| l.plan_at(at)).map(str::to_owned),
            active_users_14d: distinct(users_14),
            active_users_30d: distinct(users_30),
            active_users_prev_30d: distinct(users_prev_30),
            active_days_14d: distinct(days_14),
            active_days_prev_28d: distinct(days_prev_28),
            events_7d: events_7,
            events_prev_28d: events_prev_28,
            last_activity: usage.last_before(a, at).map(Timestamp::millis),
            key_features_30d,
            key_features: settings.adoption.key_features.len() as u32,
            features_30d,
            open_tickets: tickets.iter().filter(|t| t.open_at(at)).count() as u32,
            tickets_14d: opened_in(back(14), at),
            tickets_prev_84d: opened_in(back(98), back(14)),
            tickets_30d: opened_in(back(30), at),
            tickets_365d: opened_in(back(365), at),
            nps,
            last_csm_touch,
            failed_payment,
            usage_limit,
            champion,
            churned_at: revenue
                .churned_at
                .filter(|c| *c <= at)
                .map(Timestamp::millis),
            last_expansion: revenue
                .movements
                .iter()
                .filter(|m| m.kind == crate::MovementKind::Expansion && m.at <= at)
                .map(|m| m.at.millis())
                .max(),
            contract_end,
        }
    }
}

/// The end of the latest contract won by `at`: the latest end date of the deals won and
/// closed by then.
pub fn contract_end(ledger: &AccountLedger, at: Timestamp) -> Option<Timestamp> {
    ledger
        .deals()
        .filter(|d| d.status == DealStatus::Won && d.closed_at.is_some_and(|c| c <= at))
        .filter_map(|d| d.contract_end)
        .max()
}

/// What is known about `account` at `at` (SPEC §4's inputs), from what happened at or before it.
pub fn facts(
    model: &Model,
    settings: &ReportSettings,
    revenue: &AccountRevenue,
    at: Timestamp,
) -> Facts {
    AccountInputs::new(model, settings, revenue).facts_at(at)
}

/// One account's state at an instant: its facts, health, signals and stage.
pub(crate) struct State<'a> {
    pub revenue: &'a AccountRevenue,
    pub facts: Facts,
    pub health: Option<Health>,
    pub signals: Vec<Signal>,
    pub stage: Option<String>,
    /// The stage rules that hold, for the next day's evaluation.
    pub holding: Holding,
}

impl State<'_> {
    pub fn band(&self) -> Option<Band> {
        self.health.as_ref().map(|h| h.band)
    }

    /// The names of its signals (of one kind, if given), comma-separated.
    pub(crate) fn signal_list(&self, kind: Option<SignalKind>) -> String {
        self.signals
            .iter()
            .filter(|x| kind.is_none_or(|k| x.kind == k))
            .map(|x| x.name)
            .collect::<Vec<_>>()
            .join(",")
    }

    pub(crate) fn risk(&self) -> usize {
        self.signals
            .iter()
            .filter(|s| s.kind == SignalKind::ChurnRisk)
            .count()
    }
}

pub(crate) fn state<'a>(
    model: &Model,
    settings: &ReportSettings,
    stages: &Stages,
    revenue: &'a AccountRevenue,
    at: Timestamp,
) -> State<'a> {
    AccountInputs::new(model, settings, revenue).state_dated(stages, at)
}

impl<'r> AccountInputs<'_, 'r> {
    /// The account's facts, health, signals and stage at `at`, given the rules that held at the
    /// previous evaluation (the daily lifecycle carries them from one day to the next).
    pub(crate) fn evaluate(
        &self,
        stages: &Stages,
        at: Timestamp,
        before: Option<&Holding>,
    ) -> State<'r> {
        let facts = self.facts_at(at);
        let (health, signals) = self.settings.health.assess(&self.settings.signals, &facts);
        let band = health.as_ref().map(|h| h.band);
        let holding = stages.standing(&facts, band, &signals).holding(before);
        let stage = stages.stage(&holding).map(str::to_owned);
        State {
            revenue: self.revenue,
            facts,
            health,
            signals,
            stage,
            holding,
        }
    }

    /// The account's facts, health, signals and stage at `at`, the stage as the daily
    /// lifecycle reaches it: a rule that stays (`stay`) depends on the days before, so this
    /// looks back from day end to day end until a day where what held before makes no
    /// difference, a day without pay (which passes nothing on) or the day of conversion, and
    /// replays those days forward. Usually that is no day at all.
    pub(crate) fn state_at(&self, stages: &Stages, at: Timestamp) -> State<'r> {
        let first = self.evaluate(stages, at, None);
        let Some(converted) = self.revenue.converted_at else {
            return first;
        };
        if stages
            .standing(&first.facts, first.band(), &first.signals)
            .settled()
        {
            return first;
        }
        let mut days = Vec::new();
        let mut day = day_end(at).plus_millis(-DAY_MS);
        while day >= day_end(converted) {
            let then = self.evaluate(stages, day, None);
            if then.facts.mrr <= 0 {
                break;
            }
            let standing = stages.standing(&then.facts, then.band(), &then.signals);
            let settled = standing.settled();
            days.push(standing);
            if settled {
                break;
            }
            day = day.plus_millis(-DAY_MS);
        }
        let before = days.iter().rev().fold(None, |before, standing| {
            Some(standing.holding(before.as_ref()))
        });
        self.evaluate(stages, at, before.as_ref())
    }

    /// [`state_at`](Self::state_at), with every signal dated by looking back day by day to
    /// when it began (`SignalSettings::trace_starts`): for the state shown at a report instant.
    /// The daily lifecycle reads no signal's start and skips it.
    pub(crate) fn state_dated(&self, stages: &Stages, at: Timestamp) -> State<'r> {
        let mut s = self.state_at(stages, at);
        if let Some(converted) = s.facts.converted_at {
            let signals = &self.settings.signals;
            signals.trace_starts(&mut s.signals, at.millis(), converted, |then| {
                let facts = self.facts_at(Timestamp::from_millis(then));
                self.settings.health.assess(signals, &facts).1
            });
        }
        s
    }
}

/// What an account's state at an instant takes from the day ends before it, as of the last of
/// them: the stage rules that held ([`AccountInputs::state_at`] looks back for them) and each
/// traced signal's unbroken run ([`tenure_health::SignalSettings::trace_starts`] looks back for
/// it). Both look back day by day, some ninety days per customer on the simulated companies,
/// and neither depends on the instant asked, only on the day ends: so a caller that keeps this
/// (`Lifecycles`, which a running server keeps per workspace) pays for a later instant only the
/// day ends since, and for an instant the same day nothing but the instant itself. It holds
/// while the account's facts are those of `generation` (the module note of `lifecycle` says why
/// nothing else changes a day end's evaluation).
#[derive(Debug, Clone)]
pub(crate) struct DayEnds {
    generation: Generation,
    converted: Timestamp,
    /// The last day end before the instant last asked.
    through: Timestamp,
    /// The rules that held at `through`, carried from day to day as the lifecycle carries them:
    /// none after a day without pay, or before the first day end after conversion.
    held: Option<Holding>,
    /// Every traced signal that held at `through`, with its run's first day end and its own
    /// start as seen then.
    runs: Vec<Run>,
}

#[derive(Debug, Clone, Copy)]
struct Run {
    name: &'static str,
    first_seen: i64,
    start_then: i64,
}

/// One day end's evaluation, as far as the day ends after it need it.
struct DayEnd {
    paying: bool,
    standing: Standing,
    traced: Vec<(&'static str, i64)>,
}

impl<'r> AccountInputs<'_, 'r> {
    fn day_end_at(&self, stages: &Stages, at: Timestamp) -> DayEnd {
        let facts = self.facts_at(at);
        let (health, signals) = self.settings.health.assess(&self.settings.signals, &facts);
        DayEnd {
            paying: facts.mrr > 0,
            standing: stages.standing(&facts, health.map(|h| h.band), &signals),
            traced: signals
                .iter()
                .filter(|s| TRACED.contains(&s.name))
                .map(|s| (s.name, s.started_at))
                .collect(),
        }
    }

    /// [`state_dated`](Self::state_dated) at `at`, going on from `kept` where it is this
    /// account's as its facts stand and not after `at`'s day; with what to keep for the next
    /// instant (`kept` as it was when `at` is before it, none for an account not converted by
    /// `at`).
    pub(crate) fn state_kept(
        &self,
        stages: &Stages,
        at: Timestamp,
        kept: Option<DayEnds>,
    ) -> (State<'r>, Option<DayEnds>) {
        let Some(converted) = self.revenue.converted_at.filter(|c| *c <= at) else {
            return (self.state_dated(stages, at), kept);
        };
        let generation = self.model.generation(&self.revenue.account);
        let through = day_end(at).plus_millis(-DAY_MS);
        let ends = match kept {
            Some(k) if k.generation == generation && k.converted == converted => {
                if k.through > through {
                    // An earlier instant: answered afresh, the later one's kept as it is.
                    return (self.state_dated(stages, at), Some(k));
                }
                self.extend(stages, k, through)
            }
            _ => self.look_back(stages, generation, converted, through),
        };
        let mut s = self.evaluate(stages, at, ends.held.as_ref());
        for signal in s.signals.iter_mut().filter(|x| TRACED.contains(&x.name)) {
            let (first_seen, start_then) = ends
                .runs
                .iter()
                .find(|r| r.name == signal.name)
                .map_or((at.millis(), signal.started_at), |r| {
                    (r.first_seen, r.start_then)
                });
            // As `trace_starts` dates it: its own start when that lies within the run's first
            // day, else that day's end.
            let day_before = day_end(Timestamp::from_millis(first_seen)).millis() - DAY_MS;
            signal.started_at = if start_then > day_before {
                start_then
            } else {
                first_seen
            };
        }
        (s, Some(ends))
    }

    /// The day ends through `through` from nothing: looking back from it until the rules
    /// that held no longer depend on the day before and every traced signal's run has begun.
    fn look_back(
        &self,
        stages: &Stages,
        generation: Generation,
        converted: Timestamp,
        through: Timestamp,
    ) -> DayEnds {
        let first_day = day_end(converted);
        let mut days: Vec<(Timestamp, DayEnd)> = Vec::new();
        let mut day = through;
        // The traced signals of `through` whose run has not been seen to begin.
        let mut open: Option<Vec<&'static str>> = None;
        let mut held_found = false;
        while day >= first_day {
            let then = self.day_end_at(stages, day);
            let open = open.get_or_insert_with(|| then.traced.iter().map(|t| t.0).collect());
            open.retain(|name| then.traced.iter().any(|t| t.0 == *name));
            held_found = held_found || !then.paying || then.standing.settled();
            days.push((day, then));
            if held_found && open.is_empty() {
                break;
            }
            day = day.plus_millis(-DAY_MS);
        }
        // Forward from the earliest day evaluated, as the lifecycle walks.
        let mut ends = DayEnds {
            generation,
            converted,
            through,
            held: None,
            runs: Vec::new(),
        };
        for (day, then) in days.into_iter().rev() {
            ends.step(day, then);
        }
        ends.through = through;
        ends
    }

    /// `kept` carried forward over the day ends after it through `through`.
    fn extend(&self, stages: &Stages, mut kept: DayEnds, through: Timestamp) -> DayEnds {
        let first_day = day_end(kept.converted);
        let mut day = kept.through.plus_millis(DAY_MS);
        while day <= through {
            if day >= first_day {
                let then = self.day_end_at(stages, day);
                kept.step(day, then);
            }
            day = day.plus_millis(DAY_MS);
        }
        kept.through = through;
        kept
    }
}

impl DayEnds {
    /// The day end `day` (the one after those taken so far) taken in.
    fn step(&mut self, day: Timestamp, then: DayEnd) {
        self.held = then
            .paying
            .then(|| then.standing.holding(self.held.as_ref()));
        self.runs = then
            .traced
            .iter()
            .map(|&(name, started_at)| {
                self.runs
                    .iter()
                    .find(|r| r.name == name)
                    .copied()
                    .unwrap_or(Run {
                        name,
                        first_seen: day.millis(),
                        start_then: started_at,
                    })
            })
            .collect();
        self.through = day;
    }
}
