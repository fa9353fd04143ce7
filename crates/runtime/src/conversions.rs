//! Conversions at run time (SPEC §5, issue 18): what each `[[conversions]]` rule owes the ad
//! platforms, recorded in the playbooks' outbox and delivered by the same workers.
//!
//! A pass ([`Conversions::pass`], every [`crate::jobs::CONVERSIONS_EVERY`], by one server at a
//! time under a lease) reads each account's history from the live model, asks
//! [`tenure_conversions`] which milestones it reached (within each rule's lookback) and which
//! conversions sent need a correction, and records each as a firing of `conversion:<rule>`
//! with one delivery per destination. The firing's key names the conversion (or the
//! correction), so the store's unique key makes it happen once whichever pass, server or
//! replay decides it; the delivery's payload is a [`ConversionEvent`] with the match keys
//! already hashed the way that platform requires, so no e-mail is stored in the clear.
//!
//! What has been sent of a conversion is read back from its firings (their `cause`), never
//! kept in memory: a restart decides from the store what the process before it decided.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use rayon::prelude::*;
use serde::Serialize;
use serde_json::json;
use tenure_conversions::{
    adjustment, churn_within, event_id, occurrences, Adjustment, History, Milestone, Occurrence,
    Rule, Send, Sent, ValueKind,
};
use tenure_core::{AccountId, DealKind, DealStatus, Email, Timestamp, WorkspaceId};
use tenure_destinations::conversion::{Click, ConversionEvent, EventKind, MatchKeys};
use tenure_destinations::matching::{hashed_email, sha256_hex, Platform};
use tenure_engine::Model;
use tenure_playbooks::DestinationKind;
use tenure_reports::{AccountRevenue, ReportSettings, Revenue};
use tenure_store::{
    DeliveryStatus, FiringFilter, FiringRecord, NewDelivery, NewFiring, Store, StoreError,
};

use crate::{Clock, Live};

/// The lease that makes one server at a time decide conversions.
const PASS_LEASE: &str = "conversions.pass";
const PASS_LEASE_MS: i64 = 10 * 60_000;
/// Accounts whose histories are read under one turn of the workspace's lock.
const DECIDE_CHUNK: usize = 256;
const DAY_MS: i64 = Timestamp::MS_PER_DAY;
/// The most e-mails one conversion carries: Google's Ads API takes 5 user identifiers.
const MAX_EMAILS: usize = 5;

/// What one pass recorded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Converted {
    pub conversions: usize,
    pub restatements: usize,
    pub retractions: usize,
}

impl Converted {
    pub fn total(&self) -> usize {
        self.conversions + self.restatements + self.retractions
    }
}

/// One thing a pass decided: a conversion or a correction, as the firing and deliveries to
/// record.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Decision {
    pub kind: EventKind,
    pub firing: NewFiring,
    pub deliveries: Vec<NewDelivery>,
}

/// The conversion rules of a configuration, with what they need to decide.
#[derive(Debug)]
pub struct Conversions {
    rules: Vec<Rule>,
    settings: ReportSettings,
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    owner: String,
    /// The longest the last decision held the workspace's lock at once, in milliseconds: what
    /// the applier may have waited (`bench/conversions.sh` reports it).
    longest_turn_ms: std::sync::atomic::AtomicU64,
}

impl Conversions {
    pub fn new(
        rules: Vec<Rule>,
        settings: ReportSettings,
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
    ) -> Conversions {
        Conversions {
            rules,
            settings,
            store,
            clock,
            owner: format!(
                "tenure-conversions-{}-{}",
                std::process::id(),
                crate::actions::random_u64()
            ),
            longest_turn_ms: Default::default(),
        }
    }

    /// The longest the last decision held the workspace's lock at once, in milliseconds.
    pub fn longest_turn_ms(&self) -> u64 {
        self.longest_turn_ms
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// `f` on the workspace's model under its lock, the turn's length kept if the longest.
    fn turn<R>(
        &self,
        live: &Live,
        workspace: &WorkspaceId,
        f: impl FnOnce(&Model) -> R,
    ) -> Option<R> {
        let started = std::time::Instant::now();
        let out = live.read_now(workspace, f);
        self.longest_turn_ms.fetch_max(
            started.elapsed().as_millis() as u64,
            std::sync::atomic::Ordering::Relaxed,
        );
        out
    }

    /// The rules switched on.
    pub fn enabled(&self) -> impl Iterator<Item = &Rule> {
        self.rules.iter().filter(|r| r.enabled)
    }

    pub fn any_enabled(&self) -> bool {
        self.enabled().next().is_some()
    }

    /// Decides every workspace's conversions now and records them, on one server at a time;
    /// what it recorded (nothing when another server holds the lease).
    pub fn pass(&self, live: &Live) -> Result<Converted, StoreError> {
        if !self.any_enabled() {
            return Ok(Converted::default());
        }
        let now = self.clock.now();
        if !self
            .store
            .take_lease(PASS_LEASE, &self.owner, now, PASS_LEASE_MS)?
        {
            return Ok(Converted::default());
        }
        let passed = self.pass_every_workspace(live, now);
        // Let go at once, so the next pass (this server's, another's, or `tenure conversions
        // run`) need not wait for the lease to end.
        self.store.release_lease(PASS_LEASE, &self.owner)?;
        passed
    }

    fn pass_every_workspace(&self, live: &Live, now: Timestamp) -> Result<Converted, StoreError> {
        let mut converted = Converted::default();
        for workspace in live.workspaces() {
            let recorded = self.recorded(&workspace, now)?;
            let decisions = self.decide(live, &workspace, now, &recorded);
            converted = add(converted, self.record(&workspace, &decisions)?);
        }
        Ok(converted)
    }

    /// Records `decisions` in one transaction; what was new.
    pub fn record(
        &self,
        workspace: &WorkspaceId,
        decisions: &[Decision],
    ) -> Result<Converted, StoreError> {
        let firings: Vec<(NewFiring, Vec<NewDelivery>)> = decisions
            .iter()
            .map(|d| (d.firing.clone(), d.deliveries.clone()))
            .collect();
        let mut converted = Converted::default();
        for (d, new) in decisions
            .iter()
            .zip(self.store.record_firings(workspace, &firings)?)
        {
            if new {
                match d.kind {
                    EventKind::Conversion => converted.conversions += 1,
                    EventKind::Restatement => converted.restatements += 1,
                    EventKind::Retraction => converted.retractions += 1,
                }
            }
        }
        Ok(converted)
    }

    /// What the store holds that the decisions read: each rule's firings within its reach,
    /// and the firings of the playbooks a `playbook_fired` rule follows.
    pub fn recorded(
        &self,
        workspace: &WorkspaceId,
        now: Timestamp,
    ) -> Result<Recorded, StoreError> {
        let mut recorded = Recorded::default();
        for rule in self.enabled() {
            let since = now.plus_millis(-i64::from(reach_days(rule)) * DAY_MS);
            let firings = self.store.firings(
                workspace,
                &FiringFilter {
                    playbook: Some(rule.firing_name()),
                    since: Some(since),
                    ..FiringFilter::default()
                },
            )?;
            recorded.sent.insert(rule.name.clone(), sent_of(&firings));
            if let Milestone::PlaybookFired { playbook } = &rule.milestone {
                let firings = self.store.firings(
                    workspace,
                    &FiringFilter {
                        playbook: Some(playbook.clone()),
                        since: Some(now.plus_millis(-i64::from(rule.lookback_days) * DAY_MS)),
                        ..FiringFilter::default()
                    },
                )?;
                for f in firings {
                    recorded
                        .playbook_firings
                        .entry(f.account.clone())
                        .or_default()
                        .push((f.playbook, f.key, f.fired_at));
                }
            }
        }
        Ok(recorded)
    }

    /// What every enabled rule owes the platforms at `now`, given what is `recorded`: the
    /// conversions not yet recorded within the lookback, and the corrections of those recorded.
    ///
    /// The workspace's model is read in short turns, so the applier never waits long: every
    /// account's revenue a chunk at a time (the expected lifetime predicted LTV prices is the
    /// company's, computed from them between turns), then each account's history a chunk at a
    /// time (a stage rule evaluates every account's lifecycle, most of a pass, in parallel
    /// within a chunk), and the match keys of the few decisions found once more.
    pub fn decide(
        &self,
        live: &Live,
        workspace: &WorkspaceId,
        now: Timestamp,
        recorded: &Recorded,
    ) -> Vec<Decision> {
        let rules: Vec<&Rule> = self.enabled().collect();
        if rules.is_empty() {
            return Vec::new();
        }
        let minor = 10f64.powi(self.settings.currency.exponent() as i32);
        self.longest_turn_ms
            .store(0, std::sync::atomic::Ordering::Relaxed);
        let Some(ids) = self.turn(live, workspace, |model| {
            model
                .ledger()
                .accounts()
                .map(|(id, _)| id.clone())
                .collect::<Vec<AccountId>>()
        }) else {
            return Vec::new();
        };
        // Every account's revenue, a chunk a turn: predicted LTV's model is fitted on the
        // whole company's.
        let mut revenues: Vec<AccountRevenue> = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(DECIDE_CHUNK) {
            let found = self.turn(live, workspace, |model| {
                chunk
                    .par_iter()
                    .filter_map(|id| {
                        let ledger = model.ledger().account(id)?;
                        match AccountRevenue::of(id, ledger, &self.settings, now) {
                            Ok(revenue) => revenue,
                            Err(e) => {
                                tracing::warn!(workspace = %workspace, account = %id.as_str(), error = %e, "cannot read the account's revenue; its conversions wait");
                                None
                            }
                        }
                    })
                    .collect::<Vec<AccountRevenue>>()
            });
            revenues.extend(found.into_iter().flatten());
        }
        let revenues = Revenue::of_accounts(&self.settings, now, revenues);
        // Each account's predicted lifetime value, as the attribution report credits it, from
        // the revenue just read.
        let lifetimes = rules
            .iter()
            .any(|r| r.value == ValueKind::PredictedLtv)
            .then(|| {
                let kept = live.lifecycles(workspace);
                tenure_reports::predicted_ltvs(
                    &|f| {
                        self.turn(live, workspace, |model| f(model));
                    },
                    &self.settings,
                    &revenues,
                    kept.as_deref(),
                )
            });
        let stages = rules
            .iter()
            .any(|r| matches!(r.milestone, Milestone::StageEntered { .. }))
            .then(|| tenure_reports::stage_rules(&self.settings).ok())
            .flatten();
        let mut owed: Vec<Owed> = Vec::new();
        for chunk in revenues.accounts.chunks(DECIDE_CHUNK) {
            let found = self.turn(live, workspace, |model| {
                chunk
                    .par_iter()
                    .flat_map_iter(|revenue| {
                        let account = &revenue.account;
                        let history = History {
                            revenue,
                            minor_per_major: minor,
                            activated_at: model.usage().activated_at(
                                account,
                                &self.settings.activation,
                                now,
                            ),
                            renewals: renewals(model, account),
                            stage_entries: stages
                                .as_ref()
                                .map(|s| stage_entries(model, &self.settings, s, revenue, now))
                                .unwrap_or_default(),
                            firings: recorded
                                .playbook_firings
                                .get(account.as_str())
                                .cloned()
                                .unwrap_or_default(),
                            predicted_ltv: lifetimes.as_ref().map(|values| {
                                values.get(account).map_or(0.0, |v| v.predicted) / minor
                            }),
                        };
                        self.owed(&rules, revenue, &history, recorded, now)
                    })
                    .collect::<Vec<Owed>>()
            });
            owed.extend(found.into_iter().flatten());
        }
        if owed.is_empty() {
            return Vec::new();
        }
        // A correction goes only where the conversion it corrects was taken, and waits while
        // that conversion is still being delivered: sent before it (or after it was refused),
        // it would reach a platform that has nothing to correct.
        let mut corrections: Vec<(Owed, BTreeSet<String>)> = Vec::new();
        let mut conversions: Vec<Owed> = Vec::new();
        for o in owed {
            if o.correction.is_none() {
                conversions.push(o);
                continue;
            }
            match self.taken_by(workspace, o.rule, &o.occurrence) {
                Ok(Some(taken)) => corrections.push((o, taken)),
                Ok(None) => {}
                Err(e) => {
                    tracing::error!(workspace = %workspace, error = %e, "cannot read a conversion's deliveries; its correction waits for the next pass");
                }
            }
        }
        self.turn(live, workspace, |model| {
            let mut keys = Keys::new(model);
            let mut out: Vec<Decision> = conversions
                .iter()
                .map(|o| self.decision(workspace, o.rule, &o.occurrence, None, &mut keys, now))
                .collect();
            for (o, taken) in &corrections {
                if let Some((sent, a)) = &o.correction {
                    let correction = Some((*sent, a, taken));
                    out.push(self.decision(
                        workspace,
                        o.rule,
                        &o.occurrence,
                        correction,
                        &mut keys,
                        now,
                    ));
                }
            }
            out
        })
        .unwrap_or_default()
    }

    /// The destinations that took the conversion of `occurrence` (accepted, or had it
    /// already); none while any of its deliveries to a destination taking corrections is
    /// still pending.
    fn taken_by(
        &self,
        workspace: &WorkspaceId,
        rule: &Rule,
        occurrence: &Occurrence,
    ) -> Result<Option<BTreeSet<String>>, StoreError> {
        let key = conversion_key(rule, occurrence);
        let deliveries = self.store.deliveries(
            workspace,
            &tenure_store::DeliveryFilter {
                playbook: Some(rule.firing_name()),
                account: Some(occurrence.account.as_str().to_owned()),
                ..tenure_store::DeliveryFilter::default()
            },
        )?;
        let mut taken = BTreeSet::new();
        for d in deliveries.iter().filter(|d| d.firing_key == key) {
            let corrects = rule
                .send
                .iter()
                .any(|s| s.destination == d.destination && s.takes_adjustments());
            match (d.status, d.result.as_deref()) {
                (DeliveryStatus::Pending, _) if corrects => return Ok(None),
                (DeliveryStatus::Delivered, None | Some("accepted") | Some("duplicate")) => {
                    taken.insert(d.destination.clone());
                }
                _ => {}
            }
        }
        Ok(Some(taken))
    }

    /// What one account owes the platforms: each occurrence not yet recorded within its rule's
    /// lookback, and each recorded one that needs a correction.
    fn owed<'r>(
        &self,
        rules: &[&'r Rule],
        account: &AccountRevenue,
        history: &History<'_>,
        recorded: &'r Recorded,
        now: Timestamp,
    ) -> Vec<Owed<'r>> {
        let mut out = Vec::new();
        for rule in rules {
            let sent = recorded.sent.get(&rule.name);
            let lookback = now.plus_millis(-i64::from(rule.lookback_days) * DAY_MS);
            for occurrence in occurrences(rule, &account.account, history, now) {
                let key = conversion_key(rule, &occurrence);
                let correction = match sent.and_then(|s| s.get(&key)) {
                    None if occurrence.at >= lookback => None,
                    None => continue,
                    Some(sent) => match self.correction(rule, &occurrence, sent, account, now) {
                        Some(a) => Some((sent, a)),
                        None => continue,
                    },
                };
                out.push(Owed {
                    rule,
                    occurrence,
                    correction,
                });
            }
        }
        out
    }

    /// The correction a conversion recorded needs now, if its rule has a destination that
    /// takes one.
    fn correction(
        &self,
        rule: &Rule,
        occurrence: &Occurrence,
        sent: &Sent,
        revenue: &AccountRevenue,
        now: Timestamp,
    ) -> Option<Adjustment> {
        let window = adjust_window_days(rule)?;
        let until = occurrence.at.plus_millis(i64::from(window) * DAY_MS);
        let churned = churn_within(revenue, occurrence.at, until.min(now));
        adjustment(
            occurrence,
            sent,
            churned,
            window,
            rule.restate_threshold,
            now,
        )
    }

    /// A conversion's firing and a delivery to each of the rule's destinations; or, given a
    /// correction (with what was sent, and the destinations that took the conversion), the
    /// correction's firing and a delivery to each destination that takes corrections, took the
    /// conversion and is still within its window. With none, a correction is recorded without
    /// deliveries, so that what was sent says so and it is decided once.
    fn decision(
        &self,
        workspace: &WorkspaceId,
        rule: &Rule,
        occurrence: &Occurrence,
        correction: Option<(&Sent, &Adjustment, &BTreeSet<String>)>,
        keys: &mut Keys<'_>,
        now: Timestamp,
    ) -> Decision {
        let id = event_id(
            workspace.as_str(),
            &rule.name,
            occurrence.account.as_str(),
            &occurrence.key,
        );
        let conversion = conversion_key(rule, occurrence);
        let (kind, key, value, adjusted_at) = match correction.map(|c| c.1) {
            None => (
                EventKind::Conversion,
                conversion.clone(),
                occurrence.value,
                None,
            ),
            Some(a @ Adjustment::Restate { value, .. }) => (
                EventKind::Restatement,
                format!("{conversion}/restate@{}", a.at().millis() / 1000),
                Some(*value),
                Some(a.at()),
            ),
            Some(a @ Adjustment::Retract { .. }) => (
                EventKind::Retraction,
                format!("{conversion}/retract"),
                None,
                Some(a.at()),
            ),
        };
        let previous = correction.and_then(|c| c.0.value);
        let deliveries = rule
            .send
            .iter()
            .enumerate()
            .filter(|(_, send)| match (correction, adjusted_at) {
                (Some((_, _, taken)), Some(at)) => {
                    send.takes_adjustments()
                        && taken.contains(&send.destination)
                        // A destination past its own window would only mark it expired.
                        && at
                            <= occurrence
                                .at
                                .plus_millis(i64::from(send_adjust_window_days(send)) * DAY_MS)
                }
                _ => true,
            })
            .map(|(step, send)| {
                let mut event = self.event(kind, &id, rule, send, occurrence, keys);
                event.value = value;
                event.adjusted_at = adjusted_at;
                event.previous_value = previous;
                delivery(step, send, &event, now)
            })
            .collect();
        let mut cause = json!({
            "kind": kind.name(),
            "conversion": conversion,
            "event_id": id,
            "milestone": rule.milestone.name(),
            "occurred_at": occurrence.at,
            "value": value,
            "currency": self.settings.currency.as_str(),
        });
        if let Some(at) = adjusted_at {
            cause["previous_value"] = json!(previous);
            cause["adjusted_at"] = json!(at);
        }
        Decision {
            kind,
            firing: NewFiring {
                key,
                playbook: rule.firing_name(),
                version: "1".into(),
                account: occurrence.account.as_str().to_owned(),
                period: occurrence.key.clone(),
                fired_at: now,
                cause,
            },
            deliveries,
        }
    }

    /// The event one destination receives, with the account's match keys for that platform.
    fn event(
        &self,
        kind: EventKind,
        id: &str,
        rule: &Rule,
        send: &Send,
        occurrence: &Occurrence,
        keys: &mut Keys<'_>,
    ) -> ConversionEvent {
        ConversionEvent {
            kind,
            event_id: id.to_owned(),
            rule: rule.name.clone(),
            account: occurrence.account.as_str().to_owned(),
            platform_name: send.platform_name.clone(),
            occurred_at: occurrence.at,
            value: occurrence.value,
            currency: self.settings.currency.as_str().to_owned(),
            adjusted_at: None,
            previous_value: None,
            match_keys: keys.for_platform(&occurrence.account, send, occurrence.at),
        }
    }
}

fn add(a: Converted, b: Converted) -> Converted {
    Converted {
        conversions: a.conversions + b.conversions,
        restatements: a.restatements + b.restatements,
        retractions: a.retractions + b.retractions,
    }
}

fn delivery(step: usize, send: &Send, event: &ConversionEvent, now: Timestamp) -> NewDelivery {
    NewDelivery {
        step: step as u32,
        destination: send.destination.clone(),
        kind: send.kind.name().to_owned(),
        payload: event.to_payload(),
        due_at: now,
    }
}

/// A conversion an account owes, or a correction of one recorded (with what was sent of it).
struct Owed<'r> {
    rule: &'r Rule,
    occurrence: Occurrence,
    correction: Option<(&'r Sent, Adjustment)>,
}

/// What the store holds that a pass reads.
#[derive(Debug, Clone, Default)]
pub struct Recorded {
    /// By rule, then by conversion key: what was sent of each conversion.
    pub sent: HashMap<String, HashMap<String, Sent>>,
    /// By account: the firings of the playbooks `playbook_fired` rules follow.
    pub playbook_firings: HashMap<String, Vec<(String, String, Timestamp)>>,
}

/// A conversion's firing key: the rule, the account and the occurrence.
fn conversion_key(rule: &Rule, occurrence: &Occurrence) -> String {
    format!(
        "{}/{}/{}",
        rule.firing_name(),
        occurrence.account.as_str(),
        occurrence.key
    )
}

/// How far back a rule's firings matter: its lookback, or its correction window if longer.
fn reach_days(rule: &Rule) -> u32 {
    rule.lookback_days
        .max(adjust_window_days(rule).unwrap_or(0))
}

/// How long after a conversion it may be corrected: the longest window of the rule's
/// destinations that take corrections; none when none does.
fn adjust_window_days(rule: &Rule) -> Option<u32> {
    rule.send
        .iter()
        .filter(|s| s.takes_adjustments())
        .map(send_adjust_window_days)
        .max()
}

/// How long after a conversion one destination takes a correction of it: its click window,
/// and for Google no more than the 54 days Google adjusts conversions within.
fn send_adjust_window_days(send: &Send) -> u32 {
    match send.kind {
        DestinationKind::Google | DestinationKind::GoogleAds | DestinationKind::GoogleCsv => send
            .click_window_days
            .min(tenure_destinations::google::ADJUSTMENT_WINDOW_DAYS),
        _ => send.click_window_days,
    }
}

/// What was sent of each conversion, read from a rule's firings (their `cause`).
fn sent_of(firings: &[FiringRecord]) -> HashMap<String, Sent> {
    let mut out: HashMap<String, Sent> = HashMap::new();
    // Oldest first (a conversion is always recorded before its corrections), so the latest
    // restatement's value is the one left.
    let mut sorted: Vec<&FiringRecord> = firings.iter().collect();
    sorted.sort_by_key(|f| (f.fired_at, f.key.clone()));
    for f in sorted {
        let Some(conversion) = f.cause["conversion"].as_str() else {
            continue;
        };
        let sent = out.entry(conversion.to_owned()).or_default();
        let value = f.cause["value"].as_f64();
        let adjusted_at = f.cause["adjusted_at"]
            .as_str()
            .and_then(|t| Timestamp::parse(t).ok());
        match f.cause["kind"].as_str() {
            Some("conversion") => sent.value = value,
            Some("restatement") => {
                sent.value = value;
                sent.last_adjusted_at = sent.last_adjusted_at.max(adjusted_at);
            }
            Some("retraction") => {
                sent.retracted = true;
                sent.last_adjusted_at = sent.last_adjusted_at.max(adjusted_at);
            }
            _ => {}
        }
    }
    out
}

/// The account's won renewal deals, `(deal id, closed at)`.
fn renewals(model: &Model, account: &AccountId) -> Vec<(String, Timestamp)> {
    let Some(ledger) = model.ledger().account(account) else {
        return Vec::new();
    };
    ledger
        .deals()
        .filter(|d| d.kind == DealKind::Renewal && d.status == DealStatus::Won)
        .filter_map(|d| Some((d.deal_id.clone(), d.closed_at?)))
        .collect()
}

/// The account's entries into stages, as its lifecycle dates the transitions at the end of
/// the day each was first seen. One seen only at `now` (today, before the day's end) is left
/// for the pass after the day ends: dated `now`, it would be named anew at every pass.
fn stage_entries(
    model: &Model,
    settings: &ReportSettings,
    stages: &tenure_health::Stages,
    revenue: &AccountRevenue,
    now: Timestamp,
) -> Vec<(String, Timestamp)> {
    let names: Vec<&str> = stages.names().collect();
    tenure_reports::lifecycle(model, settings, stages, revenue, now)
        .course
        .transitions
        .iter()
        .filter(|t| t.at < now)
        .filter_map(|t| Some((names.get(t.to?)?.to_string(), t.at)))
        .collect()
}

/// The match keys of accounts, read from the model once per pass.
struct Keys<'m> {
    model: &'m Model,
    emails: Option<HashMap<AccountId, Vec<Email>>>,
    clicks: BTreeMap<AccountId, Vec<Click>>,
}

impl<'m> Keys<'m> {
    fn new(model: &'m Model) -> Keys<'m> {
        Keys {
            model,
            emails: None,
            clicks: BTreeMap::new(),
        }
    }

    /// What `send`'s platform can match the account on for a conversion at `at`: its people's
    /// e-mails hashed as that platform requires, and its click ids that platform reads from
    /// within the platform's click window before the conversion.
    fn for_platform(&mut self, account: &AccountId, send: &Send, at: Timestamp) -> MatchKeys {
        let (platform, kinds): (Platform, &[&str]) = match send.kind {
            DestinationKind::Meta => (Platform::Meta, &["fbclid"]),
            DestinationKind::Google | DestinationKind::GoogleAds | DestinationKind::GoogleCsv => {
                (Platform::Google, &["gclid", "gbraid", "wbraid"])
            }
            DestinationKind::Linkedin => (Platform::LinkedIn, &["li_fat_id"]),
            _ => (
                Platform::Meta,
                &["gclid", "gbraid", "wbraid", "fbclid", "li_fat_id"],
            ),
        };
        let model = self.model;
        let emails = self.emails.get_or_insert_with(|| model.account_emails());
        let hashed_emails: Vec<String> = emails
            .get(account)
            .into_iter()
            .flatten()
            .filter_map(|e| hashed_email(platform, e.as_str()))
            .take(MAX_EMAILS)
            .collect();
        let since = at.plus_millis(-i64::from(send.click_window_days) * DAY_MS);
        let clicks = self
            .clicks
            .entry(account.clone())
            .or_insert_with(|| clicks_of(model, account));
        let mut clicks: Vec<Click> = clicks
            .iter()
            .filter(|c| kinds.contains(&c.kind.as_str()) && c.at >= since && c.at <= at)
            .cloned()
            .collect();
        clicks.sort_by_key(|c| std::cmp::Reverse(c.at));
        MatchKeys {
            hashed_emails,
            clicks,
            external_id: (send.kind == DestinationKind::Meta).then(|| sha256_hex(account.as_str())),
        }
    }
}

/// Every ad click id in the account's journey.
fn clicks_of(model: &Model, account: &AccountId) -> Vec<Click> {
    model
        .account_touchpoints(account)
        .iter()
        .filter_map(|t| {
            let (kind, id) = t.click_id()?;
            Some(Click {
                kind: kind.to_string(),
                id: id.to_string(),
                at: t.occurred_at,
            })
        })
        .collect()
}
