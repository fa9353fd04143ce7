//! The post-purchase reports (SPEC §4): `accounts`, `account`, `signals`, `renewals`,
//! `adoption` and `health-backtest`, over each account's state as of an instant
//! ([`crate::account_state`]).

use std::collections::BTreeMap;

use rayon::prelude::*;
use serde::Serialize;
use serde_json::Value;
use tenure_core::{AccountId, Timestamp};
use tenure_engine::{Model, SurveyKind};
use tenure_health::{roc_auc, Band, Facts, Health, SignalKind, Stages, ADOPTING_DEPTH, DAY_MS};
use utoipa::ToSchema;

use crate::account_state::{state, AccountInputs, DayEnds, State};
use crate::calendar::{month_start, next_month};
use crate::grouping::first_touch;
use crate::lifecycle::{lifecycle, stage_rules, Lifecycles};
use crate::revenue::Revenue;
use crate::row::{money, rate, to_rows, to_summary};
use crate::{AccountRevenue, Report, ReportError, ReportParams, ReportSettings, WithModel};

fn profile<'m>(model: &'m Model, account: &AccountId, key: &str) -> Option<&'m str> {
    model.profiles().get(account).and_then(|p| p.get(key))
}

fn channel_of(model: &Model, settings: &ReportSettings, a: &AccountRevenue) -> String {
    a.converted_at
        .map(|c| {
            first_touch(
                model.account_journeys().get(&a.account).map(Vec::as_slice),
                c,
                settings.attribution.lookback_days,
            )
            .map_or_else(
                || tenure_engine::DIRECT.to_owned(),
                |t| t.channel().to_string(),
            )
        })
        .unwrap_or_else(|| "(not converted)".to_owned())
}

/// Customers (MRR > 0 at `as_of`) passing every filter, with their state.
fn customers<'a>(
    model: &Model,
    settings: &ReportSettings,
    params: &ReportParams,
    revenue: &'a Revenue,
    kept: Option<&Lifecycles>,
) -> Result<Vec<State<'a>>, ReportError> {
    // The filters' values were checked against the catalog (`crate::catalog`) before the
    // report ran.
    let stages = stage_rules(settings)?;
    let f = &params.filters;
    let attribute = |a: &AccountRevenue, key: &str, wanted: &Option<String>| {
        wanted
            .as_deref()
            .is_none_or(|w| profile(model, &a.account, key) == Some(w))
    };
    let candidates: Vec<&AccountRevenue> = revenue
        .accounts
        .iter()
        .filter(|a| a.mrr_at(params.as_of) > 0)
        .filter(|a| attribute(a, "tier", &f.tier) && attribute(a, "csm_owner", &f.owner))
        .filter(|a| {
            f.channel
                .as_deref()
                .is_none_or(|c| channel_of(model, settings, a) == c)
        })
        .filter(|a| {
            f.search
                .as_deref()
                .is_none_or(|s| matches_search(model, a, s))
        })
        .collect();
    // Scoring is per account: one account per task. With what a caller keeps, each goes on
    // from its day ends of the last report (see `DayEnds`).
    let states: Vec<State> = match kept {
        None => candidates
            .par_iter()
            .map(|a| state(model, settings, &stages, a, params.as_of))
            .collect(),
        Some(kept) => {
            let taken = kept.take(settings, &candidates);
            let (states, day_ends): (Vec<State>, Vec<Option<DayEnds>>) = candidates
                .par_iter()
                .zip(taken)
                .map(|(a, day_ends)| {
                    AccountInputs::new(model, settings, a).state_kept(
                        &stages,
                        params.as_of,
                        day_ends,
                    )
                })
                .unzip();
            kept.give_back(
                settings,
                candidates
                    .iter()
                    .zip(day_ends)
                    .filter_map(|(a, d)| Some((a.account.clone(), d?))),
            );
            states
        }
    };
    let out = states
        .into_iter()
        .filter(|s| {
            f.stage
                .as_deref()
                .is_none_or(|w| s.stage.as_deref() == Some(w))
        })
        .filter(|s| {
            f.band
                .as_deref()
                .is_none_or(|b| s.band().map(Band::name) == Some(b))
        })
        .filter(|s| {
            f.signal
                .as_deref()
                .is_none_or(|w| s.signals.iter().any(|x| x.name == w))
        })
        .collect();
    Ok(out)
}

/// Whether the account's name or domain contains `text`, in any case. The id is not searched:
/// a person looks for "Acme", not `acct_0042` (which the account page's address takes).
fn matches_search(model: &Model, a: &AccountRevenue, text: &str) -> bool {
    let wanted = text.trim().to_lowercase();
    ["name", "domain"].iter().any(|key| {
        profile(model, &a.account, key).is_some_and(|v| v.to_lowercase().contains(&wanted))
    })
}

/// An instant in epoch milliseconds as the reports show it, RFC 3339.
fn time(ms: i64) -> String {
    Timestamp::from_millis(ms).to_string()
}

fn health_value(h: Option<&Health>) -> Option<f64> {
    rate(h.map(|h| h.score))
}

/// One customer of the `accounts` report. Money in the report's currency.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct AccountsRow {
    /// The account's id.
    pub account: String,
    /// Its name (accounts.csv or a group trait), if known.
    pub name: Option<String>,
    /// Its tier, if known.
    pub tier: Option<String>,
    /// Its CSM owner, if known.
    pub csm_owner: Option<String>,
    /// The channel of its journey's first touch (`direct` without one).
    pub channel: String,
    /// 12 × its MRR at `as_of`.
    pub arr: f64,
    /// Its lifecycle stage at `as_of`; null when no stage's rule holds.
    pub stage: Option<String>,
    /// Its health score, 0–100; null for a customer not scored yet (in its first days).
    pub health: Option<f64>,
    /// Its health band (`green`, `yellow`, `red`); null when not scored.
    pub band: Option<&'static str>,
    /// How many churn-risk signals hold on it.
    pub risk: usize,
    /// The names of the signals holding on it, comma-separated.
    pub signals: String,
}

/// The summary of `accounts`.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct AccountsSummary {
    /// Customers listed.
    pub accounts: usize,
    /// The version of the health configuration that scored them.
    pub health_config_version: String,
    /// Customers per health band.
    pub by_band: BandCounts,
    /// Customers per lifecycle stage, one key per configured stage.
    pub by_stage: BTreeMap<String, usize>,
}

/// Customers per health band.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct BandCounts {
    /// Customers in the green band.
    pub green: usize,
    /// Customers in the yellow band.
    pub yellow: usize,
    /// Customers in the red band.
    pub red: usize,
    /// Customers not scored yet (in their first days), so that the bands add up.
    pub unscored: usize,
}

/// `accounts`: every customer with its ARR, health, band and signals.
pub(crate) fn accounts_report(
    model: &Model,
    settings: &ReportSettings,
    params: &ReportParams,
    kept: Option<&Lifecycles>,
) -> Result<Report, ReportError> {
    let revenue = Revenue::ungrouped(model, settings, params)?;
    let mut states = customers(model, settings, params, &revenue, kept)?;
    match params.sort.as_deref().unwrap_or("arr") {
        "health" => states.sort_by(|a, b| {
            let score = |s: &State| s.health.as_ref().map_or(f64::INFINITY, |h| h.score);
            score(a).total_cmp(&score(b))
        }),
        "risk" => {
            states.sort_by(|a, b| b.risk().cmp(&a.risk()).then(b.facts.mrr.cmp(&a.facts.mrr)))
        }
        // `arr`, the default; the catalog has checked the name.
        _ => states.sort_by_key(|s| std::cmp::Reverse(s.facts.mrr)),
    }
    let columns: Vec<String> = [
        "account",
        "name",
        "tier",
        "csm_owner",
        "channel",
        "arr",
        "stage",
        "health",
        "band",
        "risk",
        "signals",
    ]
    .map(str::to_owned)
    .to_vec();
    let c = revenue.currency;
    let rows = states.iter().map(|s| {
        let a = &s.revenue.account;
        let attribute = |key| profile(model, a, key).map(str::to_owned);
        AccountsRow {
            account: a.as_str().to_owned(),
            name: attribute("name"),
            tier: attribute("tier"),
            csm_owner: attribute("csm_owner"),
            channel: channel_of(model, settings, s.revenue),
            arr: money(12 * s.facts.mrr, c),
            stage: s.stage.clone(),
            health: health_value(s.health.as_ref()),
            band: s.band().map(Band::name),
            risk: s.risk(),
            signals: s.signal_list(None),
        }
    });
    let mut report = Report::new("accounts", params, None, columns, to_rows(rows));
    let with_band = |band: Option<Band>| states.iter().filter(|s| s.band() == band).count();
    report.summary = Some(to_summary(&AccountsSummary {
        accounts: states.len(),
        health_config_version: settings.health.version(),
        // A customer in its first days is not scored yet: counted apart so the bands add up.
        by_band: BandCounts {
            green: with_band(Some(Band::Green)),
            yellow: with_band(Some(Band::Yellow)),
            red: with_band(Some(Band::Red)),
            unscored: with_band(None),
        },
        by_stage: stage_rules(settings)?
            .names()
            .map(|n| {
                let count = states
                    .iter()
                    .filter(|s| s.stage.as_deref() == Some(n))
                    .count();
                (n.to_owned(), count)
            })
            .collect(),
    }));
    Ok(report)
}

/// One signal holding on a customer at `as_of` (`signals`).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct SignalsRow {
    /// The account's id.
    pub account: String,
    /// `churn_risk` or `expansion`.
    pub kind: &'static str,
    /// The signal's name (`no_activity`, `nps_detractor`, …).
    pub signal: &'static str,
    /// When its condition began to hold, RFC 3339.
    pub started_at: String,
    /// Why it holds, a sentence.
    pub reason: String,
    /// 12 × the account's MRR at `as_of`, in the report's currency.
    pub arr: f64,
    /// The account's health score, 0–100; null when not scored yet.
    pub health: Option<f64>,
    /// The account's health band; null when not scored yet.
    pub band: Option<&'static str>,
}

/// `signals`: one row per signal holding on a customer at `as_of`.
pub(crate) fn signals_report(
    model: &Model,
    settings: &ReportSettings,
    params: &ReportParams,
    kept: Option<&Lifecycles>,
) -> Result<Report, ReportError> {
    let revenue = Revenue::ungrouped(model, settings, params)?;
    let states = customers(model, settings, params, &revenue, kept)?;
    // The reason, a sentence, last: a table's other columns stay aligned beside it.
    let columns: Vec<String> = [
        "account",
        "kind",
        "signal",
        "started_at",
        "arr",
        "health",
        "band",
        "reason",
    ]
    .map(str::to_owned)
    .to_vec();
    let mut rows = Vec::new();
    for s in &states {
        for x in &s.signals {
            if params
                .filters
                .signal
                .as_deref()
                .is_some_and(|w| w != x.name)
            {
                continue;
            }
            rows.push(SignalsRow {
                account: s.revenue.account.as_str().to_owned(),
                kind: x.kind.name(),
                signal: x.name,
                started_at: time(x.started_at),
                reason: x.reason.clone(),
                arr: money(12 * s.facts.mrr, revenue.currency),
                health: health_value(s.health.as_ref()),
                band: s.band().map(Band::name),
            });
        }
    }
    Ok(Report::new("signals", params, None, columns, to_rows(rows)))
}

/// A customer's contract ending within 90 days of `as_of` (`renewals`).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct RenewalsRow {
    /// The account's id.
    pub account: String,
    /// The end of its current contract (the latest of its won deals'), RFC 3339.
    pub contract_end: String,
    /// Days from `as_of` to the contract's end, rounded up.
    pub days_left: i64,
    /// The renewal window it falls in: 30, 60 or 90 (days left at most).
    pub window: i64,
    /// 12 × the account's MRR at `as_of`, in the report's currency.
    pub arr: f64,
    /// The account's health score, 0–100; null when not scored yet.
    pub health: Option<f64>,
    /// The account's health band; null when not scored yet.
    pub band: Option<&'static str>,
    /// How many churn-risk signals hold on it.
    pub risk: usize,
    /// The names of those signals, comma-separated.
    pub risk_signals: String,
}

/// The summary of `renewals`.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct RenewalsSummary {
    /// Contracts ending within 90 days.
    pub contracts: usize,
    /// Their accounts' ARR at `as_of`, in the report's currency.
    pub arr: f64,
}

/// `renewals`: contracts ending within 90 days, soonest first.
pub(crate) fn renewals_report(
    model: &Model,
    settings: &ReportSettings,
    params: &ReportParams,
    kept: Option<&Lifecycles>,
) -> Result<Report, ReportError> {
    let revenue = Revenue::ungrouped(model, settings, params)?;
    let mut states: Vec<State> = customers(model, settings, params, &revenue, kept)?
        .into_iter()
        .filter(|s| {
            s.facts.contract_end.is_some_and(|end| {
                end > params.as_of.millis() && end - params.as_of.millis() <= 90 * DAY_MS
            })
        })
        .collect();
    states.sort_by_key(|s| s.facts.contract_end);
    let columns: Vec<String> = [
        "account",
        "contract_end",
        "days_left",
        "window",
        "arr",
        "health",
        "band",
        "risk",
        "risk_signals",
    ]
    .map(str::to_owned)
    .to_vec();
    let rows = states.iter().map(|s| {
        let end = s.facts.contract_end.expect("filtered");
        let left = ((end - params.as_of.millis()) as f64 / DAY_MS as f64).ceil() as i64;
        RenewalsRow {
            account: s.revenue.account.as_str().to_owned(),
            contract_end: time(end),
            days_left: left,
            window: [30, 60, 90].into_iter().find(|w| left <= *w).unwrap_or(90),
            arr: money(12 * s.facts.mrr, revenue.currency),
            health: health_value(s.health.as_ref()),
            band: s.band().map(Band::name),
            risk: s.risk(),
            risk_signals: s.signal_list(Some(SignalKind::ChurnRisk)),
        }
    });
    let rows = to_rows(rows);
    let total_arr: i64 = states.iter().map(|s| 12 * s.facts.mrr).sum();
    let mut report = Report::new("renewals", params, None, columns, rows);
    report.summary = Some(to_summary(&RenewalsSummary {
        contracts: states.len(),
        arr: money(total_arr, revenue.currency),
    }));
    Ok(report)
}

/// One event of the `account` report's timeline, from the first touch to `as_of`, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct AccountRow {
    /// When it happened, RFC 3339.
    pub at: String,
    /// What it is: `touchpoint`, `revenue`, `ticket`, `nps`, `csm_touch`, `advocacy`,
    /// `milestone`, `stage` or `signal`.
    pub kind: &'static str,
    /// What happened, for a person to read (a touch's channel / source / campaign, a movement
    /// and its amount, a stage change `from → to`, …).
    pub detail: String,
}

/// The summary of `account`: its health explained, its signals, stages and the facts they are
/// read from, at `as_of`.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct AccountSummary {
    /// The account's id.
    pub account: String,
    /// Its name, if known.
    pub name: Option<String>,
    /// 12 × its MRR at `as_of`, in the report's currency.
    pub arr: f64,
    /// Its health at `as_of`: `score` (0–100), `band`, and `components`, each with its `name`,
    /// `metric`, `input`, `score` (0–100, null without data) and `weight`; null when not
    /// scored yet.
    #[schema(value_type = Option<Object>)]
    pub health: Option<Health>,
    /// The version of the health configuration that scored it.
    pub health_config_version: String,
    /// The signals holding at `as_of`.
    pub signals: Vec<AccountSignal>,
    /// Its lifecycle stage at `as_of`; null when no stage's rule holds.
    pub stage: Option<String>,
    /// When it first reached each milestone it reached, RFC 3339, keyed by the milestone's
    /// name (`activated`, …).
    pub milestones: BTreeMap<String, String>,
    /// Its changes of lifecycle stage, oldest first.
    pub stage_history: Vec<AccountStageChange>,
    /// Its health at each month end since conversion, and at `as_of`.
    pub health_history: Vec<AccountHealthPoint>,
    /// Its MRR at the end of each month from its first revenue's to `as_of`'s (the last at
    /// `as_of`), oldest first.
    pub mrr_history: Vec<AccountMrrPoint>,
    /// What its health and signals at `as_of` are read from.
    pub facts: AccountFacts,
}

/// A signal holding on an account.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct AccountSignal {
    /// `churn_risk` or `expansion`.
    pub kind: &'static str,
    /// The signal's name.
    pub signal: &'static str,
    /// When its condition began to hold, RFC 3339.
    pub started_at: String,
    /// Why it holds, a sentence.
    pub reason: String,
}

/// A change of an account's lifecycle stage.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct AccountStageChange {
    /// When, RFC 3339.
    pub at: String,
    /// The stage left; null for none.
    pub from: Option<String>,
    /// The stage entered; null for none.
    pub to: Option<String>,
}

/// An account's health at one instant.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct AccountHealthPoint {
    /// The instant, RFC 3339: a month end, or `as_of`.
    pub at: String,
    /// The health score, 0–100; null when not scored.
    pub health: Option<f64>,
    /// The health band; null when not scored.
    pub band: Option<&'static str>,
    /// The lifecycle stage; null when no stage's rule holds.
    pub stage: Option<String>,
}

/// An account's MRR at the end of one month.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct AccountMrrPoint {
    /// The month, `YYYY-MM`.
    pub month: String,
    /// MRR at the month's end (at `as_of` for `as_of`'s month), in the report's currency.
    pub mrr: f64,
}

/// `a`'s MRR at each month end from its first movement's month to `as_of`'s, the last at
/// `as_of`: read off its MRR series, as the `mrr` report's month ends are.
fn mrr_history(
    a: &AccountRevenue,
    as_of: Timestamp,
    currency: tenure_core::Currency,
) -> Vec<AccountMrrPoint> {
    let Some(first) = a.series.first().map(|(t, _)| *t).filter(|t| *t <= as_of) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut month = month_start(first);
    while month <= as_of {
        let end = next_month(month).plus_millis(-1).min(as_of);
        out.push(AccountMrrPoint {
            month: crate::calendar::month_label(month),
            mrr: money(a.mrr_at(end), currency),
        });
        month = next_month(month);
    }
    out
}

/// What is known about an account at `as_of`, the inputs of its health and signals. Windows
/// are the last N days up to `as_of`; instants are RFC 3339.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct AccountFacts {
    /// The instant of these facts.
    pub as_of: String,
    /// When it became a customer.
    pub converted_at: Option<String>,
    /// When it met the activation rule, if it did.
    pub activated_at: Option<String>,
    /// MRR at `as_of`, in the report's currency; 0 when not paying.
    pub mrr: f64,
    /// Seats of the latest subscription change that names them.
    pub seats: Option<u32>,
    /// The plan of its subscription.
    pub plan: Option<String>,
    /// Distinct users with product events in the last 14 days.
    pub active_users_14d: u32,
    /// Distinct users with product events in the last 30 days.
    pub active_users_30d: u32,
    /// Distinct users with product events in the 30 days before the last 30.
    pub active_users_prev_30d: u32,
    /// Distinct days (UTC) with product events in the last 14 days.
    pub active_days_14d: u32,
    /// Distinct days (UTC) with product events in the 28 days before the last 14.
    pub active_days_prev_28d: u32,
    /// Product events in the last 7 days.
    pub events_7d: u32,
    /// Product events in the 28 days before the last 7.
    pub events_prev_28d: u32,
    /// Its latest product event.
    pub last_activity: Option<String>,
    /// Distinct key features used in the last 30 days.
    pub key_features_30d: u32,
    /// How many key features are configured.
    pub key_features: u32,
    /// Every product event name used in the last 30 days, sorted.
    pub features_30d: Vec<String>,
    /// Tickets open at `as_of`.
    pub open_tickets: u32,
    /// Tickets opened in the last 14 days.
    pub tickets_14d: u32,
    /// Tickets opened in the 84 days before the last 14.
    pub tickets_prev_84d: u32,
    /// Tickets opened in the last 30 days.
    pub tickets_30d: u32,
    /// Tickets opened in the last 365 days.
    pub tickets_365d: u32,
    /// Each person's latest NPS answer within the last 365 days.
    pub nps: Vec<AccountNpsAnswer>,
    /// The latest account-team touch.
    pub last_csm_touch: Option<String>,
    /// The latest failed payment in the last 30 days that no paid invoice has followed.
    pub failed_payment: Option<String>,
    /// The latest usage-limit event in the last 30 days.
    pub usage_limit: Option<String>,
    /// Its most active user over the 90 days before the last 14; null without one.
    pub champion: Option<AccountChampion>,
    /// Its first churn, if it churned.
    pub churned_at: Option<String>,
    /// Its latest expansion movement.
    pub last_expansion: Option<String>,
    /// The end of its current contract (the latest of its won deals').
    pub contract_end: Option<String>,
}

/// One person's NPS answer.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct AccountNpsAnswer {
    /// When it was given, RFC 3339.
    pub at: String,
    /// The score, 0–10.
    pub score: u8,
}

/// An account's champion, its most active user.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct AccountChampion {
    /// The user's id.
    pub user: String,
    /// The user's latest product event, RFC 3339.
    pub last_activity: String,
}

/// `account ID`: the account's health explained, its signals, its health at every month end
/// since conversion, and a timeline from first touch to `as_of`.
pub(crate) fn account_report(
    model: &Model,
    settings: &ReportSettings,
    params: &ReportParams,
) -> Result<Report, ReportError> {
    let account = params.account_id("account")?;
    let id = account.as_str();
    let revenue = Revenue::ungrouped(model, settings, params)?;
    let known = model.account_journeys().contains_key(&account)
        || model.ledger().account(&account).is_some()
        || model.profiles().get(&account).is_some()
        || model.success().account(&account).is_some();
    let Some(ar) = revenue.accounts.iter().find(|a| a.account == account) else {
        return Err(ReportError::Parameter {
            name: "account",
            reason: if known {
                format!("{id} has never paid, so it has no health (it is a prospect)")
            } else {
                format!("no account {id} in this workspace")
            },
        });
    };
    let stages = stage_rules(settings)?;
    let now = state(model, settings, &stages, ar, params.as_of);
    let life = lifecycle(model, settings, &stages, ar, params.as_of);
    let stage_name = |i: Option<usize>| -> Option<String> {
        i.and_then(|i| stages.names().nth(i)).map(str::to_owned)
    };
    let as_of = params.as_of;
    let mut timeline: Vec<(Timestamp, &str, String)> = Vec::new();
    for t in model
        .account_journeys()
        .get(&account)
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter(|t| t.occurred_at <= as_of)
    {
        let detail = [
            Some(t.channel().as_str()),
            t.source().map(|s| s.as_str()),
            t.campaign().map(|c| c.as_str()),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" / ");
        timeline.push((t.occurred_at, "touchpoint", detail));
    }
    for m in &ar.movements {
        timeline.push((
            m.at,
            "revenue",
            format!(
                "{} {}",
                m.kind.name(),
                crate::money_minor(m.amount, revenue.currency)
            ),
        ));
    }
    if let Some(s) = model.success().account(&account) {
        for t in s.tickets() {
            if let Some(o) = t.opened_at.filter(|o| *o <= as_of) {
                let priority = t.priority.as_deref().unwrap_or("normal");
                timeline.push((o, "ticket", format!("{} opened ({priority})", t.id)));
            }
            if let Some(done) = t.solved_at.filter(|d| *d <= as_of) {
                timeline.push((done, "ticket", format!("{} solved", t.id)));
            }
        }
        for a in s.answers(SurveyKind::Nps).filter(|a| a.at <= as_of) {
            timeline.push((a.at, "nps", format!("{} answered {}", a.person, a.score)));
        }
        for m in s.csm_touches().filter(|m| m.at <= as_of) {
            timeline.push((m.at, "csm_touch", m.what.to_string()));
        }
        for m in s.advocacy().filter(|m| m.at <= as_of) {
            timeline.push((m.at, "advocacy", m.what.to_string()));
        }
    }
    for (name, at) in &life.course.milestones {
        timeline.push((*at, "milestone", (*name).to_owned()));
    }
    for t in &life.course.transitions {
        let name = |i: Option<usize>| {
            i.and_then(|i| stages.names().nth(i))
                .unwrap_or("(none)")
                .to_owned()
        };
        timeline.push((t.at, "stage", format!("{} → {}", name(t.from), name(t.to))));
    }
    for x in &now.signals {
        timeline.push((
            Timestamp::from_millis(x.started_at),
            "signal",
            format!("{}: {}", x.name, x.reason),
        ));
    }
    timeline.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(b.1)));
    let columns: Vec<String> = ["at", "kind", "detail"].map(str::to_owned).to_vec();
    let rows = timeline.into_iter().map(|(at, kind, detail)| AccountRow {
        at: at.to_string(),
        kind,
        detail,
    });
    // Health at each month end since conversion (read off the daily history), and now.
    let health_history = life
        .days
        .iter()
        .filter(|d| d.at == as_of || next_month(month_start(d.at)).plus_millis(-1) == d.at)
        .map(|d| AccountHealthPoint {
            at: d.at.to_string(),
            health: rate(d.score),
            band: d.band.map(Band::name),
            stage: stage_name(d.stage),
        })
        .collect();
    let mut report = Report::new("account", params, None, columns, to_rows(rows));
    report.summary = Some(to_summary(&AccountSummary {
        account: account.as_str().to_owned(),
        name: profile(model, &account, "name").map(str::to_owned),
        arr: money(12 * now.facts.mrr, revenue.currency),
        health_config_version: settings.health.version(),
        signals: now
            .signals
            .iter()
            .map(|x| AccountSignal {
                kind: x.kind.name(),
                signal: x.name,
                started_at: time(x.started_at),
                reason: x.reason.clone(),
            })
            .collect(),
        milestones: life
            .course
            .milestones
            .iter()
            .map(|(n, t)| (n.to_string(), t.to_string()))
            .collect(),
        stage_history: life
            .course
            .transitions
            .iter()
            .map(|t| AccountStageChange {
                at: t.at.to_string(),
                from: stage_name(t.from),
                to: stage_name(t.to),
            })
            .collect(),
        health_history,
        mrr_history: mrr_history(ar, as_of, revenue.currency),
        facts: account_facts(&now.facts, revenue.currency),
        health: now.health,
        stage: now.stage,
    }));
    Ok(report)
}

/// The account's health facts as the report shows them: instants in RFC 3339 and MRR in major
/// units of the reporting currency, like every other field (the `Facts` struct keeps epoch
/// milliseconds and minor units, its stored and computed form).
fn account_facts(f: &Facts, currency: tenure_core::Currency) -> AccountFacts {
    let at = |ms: Option<i64>| ms.map(time);
    AccountFacts {
        as_of: time(f.as_of),
        converted_at: at(f.converted_at),
        activated_at: at(f.activated_at),
        mrr: money(f.mrr, currency),
        seats: f.seats,
        plan: f.plan.clone(),
        active_users_14d: f.active_users_14d,
        active_users_30d: f.active_users_30d,
        active_users_prev_30d: f.active_users_prev_30d,
        active_days_14d: f.active_days_14d,
        active_days_prev_28d: f.active_days_prev_28d,
        events_7d: f.events_7d,
        events_prev_28d: f.events_prev_28d,
        last_activity: at(f.last_activity),
        key_features_30d: f.key_features_30d,
        key_features: f.key_features,
        features_30d: f.features_30d.clone(),
        open_tickets: f.open_tickets,
        tickets_14d: f.tickets_14d,
        tickets_prev_84d: f.tickets_prev_84d,
        tickets_30d: f.tickets_30d,
        tickets_365d: f.tickets_365d,
        nps: f
            .nps
            .iter()
            .map(|(t, score)| AccountNpsAnswer {
                at: time(*t),
                score: *score,
            })
            .collect(),
        last_csm_touch: at(f.last_csm_touch),
        failed_payment: at(f.failed_payment),
        usage_limit: at(f.usage_limit),
        champion: f.champion.as_ref().map(|(user, last)| AccountChampion {
            user: user.clone(),
            last_activity: time(*last),
        }),
        churned_at: at(f.churned_at),
        last_expansion: at(f.last_expansion),
        contract_end: at(f.contract_end),
    }
}

/// One month-end snapshot of one account under one configuration: its score and band, and
/// whether it churned in the next 90 days.
struct Scored {
    score: f64,
    band: Band,
    churned: bool,
    /// Under a contract running past the horizon.
    bound: bool,
}

/// Every account's revenue, read in one turn with the model.
pub(crate) fn ungrouped_in_turn(
    with_model: WithModel,
    settings: &ReportSettings,
    params: &ReportParams,
) -> Result<Revenue, ReportError> {
    let mut revenue = None;
    with_model(&mut |model| revenue = Some(Revenue::ungrouped(model, settings, params)));
    revenue.ok_or(ReportError::Cancelled)?
}

/// One account paying at a month end: what the report makes of its facts then, and whether
/// it churned within the horizon after.
pub(crate) struct Snapshot<T> {
    pub value: T,
    pub churned: bool,
}

/// Accounts whose month-end facts [`snapshots`] gathers per turn with the model.
pub(crate) const SNAPSHOT_ACCOUNTS_PER_TURN: usize = 64;

/// Whether the account churned in the `horizon_ms` after `t`.
pub(crate) fn churns_within(a: &AccountRevenue, t: Timestamp, horizon_ms: i64) -> bool {
    a.movements.iter().any(|m| {
        m.kind == crate::MovementKind::Churn && m.at > t && m.at <= t.plus_millis(horizon_ms)
    })
}

/// Every account paying at each of `ends`, in (month end, account) order, with `value` of its
/// facts then and whether it churned within `horizon_ms` after; gathered a few hundred
/// accounts per turn with the model.
pub(crate) fn snapshots<T: Send>(
    with_model: WithModel,
    settings: &ReportSettings,
    revenue: &Revenue,
    ends: &[Timestamp],
    horizon_ms: i64,
    value: impl Fn(Facts) -> T + Sync,
) -> Vec<Snapshot<T>> {
    let accounts: Vec<(usize, &AccountRevenue)> = revenue.accounts.iter().enumerate().collect();
    let mut found: Vec<(usize, usize, Snapshot<T>)> = Vec::new();
    for turn in accounts.chunks(SNAPSHOT_ACCOUNTS_PER_TURN) {
        with_model(&mut |model| {
            found.par_extend(turn.par_iter().flat_map_iter(|&(i, a)| {
                let inputs = AccountInputs::new(model, settings, a);
                ends.iter()
                    .enumerate()
                    .filter(|(_, t)| a.mrr_at(**t) > 0)
                    .map(|(k, &t)| {
                        let snapshot = Snapshot {
                            value: value(inputs.facts_at(t)),
                            churned: churns_within(a, t, horizon_ms),
                        };
                        (k, i, snapshot)
                    })
                    .collect::<Vec<_>>()
            }));
        });
    }
    found.sort_by_key(|(k, i, _)| (*k, *i));
    found.into_iter().map(|(_, _, s)| s).collect()
}

/// The month-end snapshots of one health band under one configuration (`health-backtest`), and
/// how many churned in the 90 days after.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct HealthBacktestRow {
    /// `current`, or `proposed` for the configuration compared with it.
    pub config: &'static str,
    /// The health band the snapshots were in.
    pub band: &'static str,
    /// Snapshots of paying accounts, one per account and month end, scored in the band.
    pub snapshots: usize,
    /// Those whose account churned within the 90 days after the month end.
    pub churned_90d: usize,
    /// churned_90d ÷ snapshots, 0–1; null without snapshots.
    pub churn_rate: Option<f64>,
}

/// The summary of `health-backtest`.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct HealthBacktestSummary {
    /// Month ends scored (from `from` to `to`).
    pub month_ends: usize,
    /// Days after a month end in which a churn counts.
    pub horizon_days: u32,
    /// How well each configuration's score predicted churn.
    pub configs: Vec<HealthBacktestConfig>,
}

/// How well one health configuration's score predicted churn.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct HealthBacktestConfig {
    /// `current` or `proposed`.
    pub config: &'static str,
    /// The configuration's version.
    pub version: String,
    /// Snapshots scored under it.
    pub snapshots: usize,
    /// Those whose account churned within the horizon.
    pub churned_90d: usize,
    /// Area under the ROC curve of 100 − score for churn, 0–1 (0.5 is no better than chance);
    /// null without both outcomes.
    pub roc_auc: Option<f64>,
    /// The same over the snapshots of accounts that could leave within the horizon (paying
    /// month to month, or with a contract ending within it): a contract running past it says
    /// when an account can leave, which no health score is meant to know.
    pub roc_auc_can_leave: Option<f64>,
}

/// `health-backtest`: how well the health score at each month end predicted churn in the
/// following 90 days (SPEC §4), for the current configuration and, given one, a proposed one.
pub(crate) fn backtest_report(
    with_model: WithModel,
    settings: &ReportSettings,
    params: &ReportParams,
) -> Result<Report, ReportError> {
    let revenue = ungrouped_in_turn(with_model, settings, params)?;
    let as_of = params.as_of;
    // Month ends whose 90 following days are all known, the last twelve (or from --from).
    let mut ends = Vec::new();
    let mut end = month_start(as_of).plus_millis(-1);
    while end.plus_millis(90 * DAY_MS) > as_of {
        end = month_start(end).plus_millis(-1);
    }
    let earliest = params.from.unwrap_or_else(|| {
        let mut t = end;
        for _ in 0..11 {
            t = month_start(t).plus_millis(-1);
        }
        t
    });
    while end >= earliest && ends.len() < 120 {
        ends.push(end);
        end = month_start(end).plus_millis(-1);
    }
    ends.reverse();
    if ends.is_empty() {
        return Err(ReportError::InsufficientData(
            "no month end has 90 days of outcome before as_of; back-testing needs more history"
                .into(),
        ));
    }
    let mut configs = vec![("current", settings.health.clone())];
    if let Some(proposed) = &params.proposed {
        proposed.validate().map_err(|e| ReportError::Parameter {
            name: "proposed",
            reason: e.to_string(),
        })?;
        configs.push(("proposed", proposed.clone()));
    }
    let columns: Vec<String> = ["config", "band", "snapshots", "churned_90d", "churn_rate"]
        .map(str::to_owned)
        .to_vec();
    let mut rows = Vec::new();
    let mut summaries = Vec::new();
    // Facts do not depend on the configuration: gather them once, and score them under every
    // configuration as they come rather than keep them (keeping a year of month ends of every
    // customer's facts raised a server's resident memory by ~100 MB at 100,000 accounts).
    let samples = snapshots(with_model, settings, &revenue, &ends, 90 * DAY_MS, |f| {
        let bound = tenure_health::bound_by_contract(&f);
        configs
            .iter()
            .map(|(_, config)| {
                let health = config.assess(&settings.signals, &f).0?;
                Some((health.score, health.band, bound))
            })
            .collect::<Vec<_>>()
    });
    for (c, (name, config)) in configs.iter().enumerate() {
        let snapshots: Vec<Scored> = samples
            .iter()
            .filter_map(|s| {
                let (score, band, bound) = s.value[c]?;
                Some(Scored {
                    score,
                    band,
                    churned: s.churned,
                    bound,
                })
            })
            .collect();
        // A lower score should mean more churn: the AUC of (100 − score) for churn.
        let risk: Vec<f64> = snapshots.iter().map(|s| 100.0 - s.score).collect();
        let labels: Vec<bool> = snapshots.iter().map(|s| s.churned).collect();
        let auc = roc_auc(&risk, &labels);
        let (free_risk, free_labels): (Vec<f64>, Vec<bool>) = snapshots
            .iter()
            .filter(|s| !s.bound)
            .map(|s| (100.0 - s.score, s.churned))
            .unzip();
        for band in Band::ALL {
            let in_band: Vec<&Scored> = snapshots.iter().filter(|s| s.band == band).collect();
            let churned = in_band.iter().filter(|s| s.churned).count();
            rows.push(HealthBacktestRow {
                config: name,
                band: band.name(),
                snapshots: in_band.len(),
                churned_90d: churned,
                churn_rate: rate(
                    (!in_band.is_empty()).then(|| churned as f64 / in_band.len() as f64),
                ),
            });
        }
        summaries.push(HealthBacktestConfig {
            config: name,
            version: config.version(),
            snapshots: snapshots.len(),
            churned_90d: labels.iter().filter(|l| **l).count(),
            roc_auc: rate(auc),
            roc_auc_can_leave: rate(roc_auc(&free_risk, &free_labels)),
        });
    }
    let mut report = Report::new("health-backtest", params, None, columns, to_rows(rows));
    report.from = ends.first().copied();
    report.to = ends.last().copied();
    report.summary = Some(to_summary(&HealthBacktestSummary {
        month_ends: ends.len(),
        horizon_days: 90,
        configs: summaries,
    }));
    Ok(report)
}

/// One customer's adoption of the key features (`adoption`).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct AdoptionRow {
    /// The account's id.
    pub account: String,
    /// Its name, if known.
    pub name: Option<String>,
    /// Its tier, if known.
    pub tier: Option<String>,
    /// 12 × its MRR at `as_of`, in the report's currency.
    pub arr: f64,
    /// Adoption depth: distinct key features used in the last 30 days ÷ key features, 0–1.
    pub depth: Option<f64>,
    /// Whether the depth is 0.5 or more.
    pub adopting: bool,
    /// The key features it used in the last 30 days, comma-separated.
    pub key_features_used: String,
    /// The key features it did not, comma-separated.
    pub key_features_unused: String,
}

/// The summary of `adoption`.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct AdoptionSummary {
    /// Customers listed.
    pub customers: usize,
    /// The key features configured (`[adoption] key_features`).
    pub key_features: Vec<String>,
    /// Mean adoption depth of the customers, 0–1; null without customers.
    pub mean_depth: Option<f64>,
    /// Customers adopting (depth 0.5 or more).
    pub adopting: usize,
    /// adopting ÷ customers, 0–1; null without customers.
    pub adopting_share: Option<f64>,
    /// Share of the customers that used each key feature in the last 30 days, 0–1, keyed by
    /// the feature.
    pub feature_reach: BTreeMap<String, Option<f64>>,
}

/// `adoption`: each customer's adoption depth (SPEC §3: distinct key features used in the last
/// 30 days ÷ key features; adopting at 0.5 or more) and which key features it uses; overall, the
/// mean depth, the adopting share and each key feature's reach.
pub(crate) fn adoption_report(
    model: &Model,
    settings: &ReportSettings,
    params: &ReportParams,
    kept: Option<&Lifecycles>,
) -> Result<Report, ReportError> {
    let key = &settings.adoption.key_features;
    if key.is_empty() {
        return Err(ReportError::Settings {
            setting: "adoption.key_features",
            reason: "no key feature is configured, so adoption depth is undefined; list your \
                     product's key events under [adoption] key_features"
                .into(),
        });
    }
    let revenue = Revenue::ungrouped(model, settings, params)?;
    let mut states = customers(model, settings, params, &revenue, kept)?;
    states.sort_by(|a, b| {
        let depth = |s: &State| s.facts.adoption_depth().unwrap_or(0.0);
        depth(a)
            .total_cmp(&depth(b))
            .then(b.facts.mrr.cmp(&a.facts.mrr))
    });
    let columns: Vec<String> = [
        "account",
        "name",
        "tier",
        "arr",
        "depth",
        "adopting",
        "key_features_used",
        "key_features_unused",
    ]
    .map(str::to_owned)
    .to_vec();
    let uses = |s: &State, k: &String| s.facts.features_30d.binary_search(k).is_ok();
    let rows = states.iter().map(|s| {
        let a = &s.revenue.account;
        let depth = s.facts.adoption_depth();
        let (used, unused): (Vec<&String>, Vec<&String>) = key.iter().partition(|k| uses(s, k));
        let join = |v: Vec<&String>| {
            v.into_iter()
                .map(String::as_str)
                .collect::<Vec<_>>()
                .join(",")
        };
        AdoptionRow {
            account: a.as_str().to_owned(),
            name: profile(model, a, "name").map(str::to_owned),
            tier: profile(model, a, "tier").map(str::to_owned),
            arr: money(12 * s.facts.mrr, revenue.currency),
            depth: rate(depth),
            adopting: depth.is_some_and(|d| d >= ADOPTING_DEPTH),
            key_features_used: join(used),
            key_features_unused: join(unused),
        }
    });
    let rows = to_rows(rows);
    let n = states.len();
    let adopting = states
        .iter()
        .filter(|s| {
            s.facts
                .adoption_depth()
                .is_some_and(|d| d >= ADOPTING_DEPTH)
        })
        .count();
    let share = |k: usize| rate((n > 0).then(|| k as f64 / n as f64));
    let depths: f64 = states
        .iter()
        .map(|s| s.facts.adoption_depth().unwrap_or(0.0))
        .sum();
    let mut report = Report::new("adoption", params, None, columns, rows);
    report.summary = Some(to_summary(&AdoptionSummary {
        customers: n,
        key_features: key.clone(),
        mean_depth: rate((n > 0).then(|| depths / n as f64)),
        adopting,
        adopting_share: share(adopting),
        feature_reach: key
            .iter()
            .map(|k| {
                (
                    k.clone(),
                    share(states.iter().filter(|s| uses(s, k)).count()),
                )
            })
            .collect(),
    }));
    Ok(report)
}

/// One signal of an [`AccountStatus`].
#[derive(Debug, Clone, PartialEq, serde::Serialize, ToSchema)]
pub struct StatusSignal {
    /// `churn_risk`, `expansion`, `advocacy` or `renewal`.
    #[schema(value_type = String)]
    pub kind: &'static str,
    /// The signal's name (`no_activity`, `seat_utilization`, …).
    #[schema(value_type = String)]
    pub signal: &'static str,
    /// Since when it has held (RFC 3339).
    #[schema(value_type = String, format = DateTime)]
    pub started_at: Timestamp,
    /// Why it holds, for people.
    pub reason: String,
}

/// An account's live status at one instant: its stage, health and signals, what a running
/// server keeps current for every account as events arrive (`GET /api/v1/accounts/{id}`).
#[derive(Debug, Clone, PartialEq, serde::Serialize, ToSchema)]
pub struct AccountStatus {
    #[schema(value_type = String)]
    pub account: AccountId,
    /// The instant of the status (RFC 3339).
    #[schema(value_type = String, format = DateTime)]
    pub as_of: Timestamp,
    /// The currency of `mrr` and `arr` (major units), as every report names its own.
    #[schema(value_type = String, example = "USD")]
    pub currency: tenure_core::Currency,
    /// MRR at `as_of`, in `currency`.
    #[schema(value_type = f64)]
    pub mrr: Value,
    /// 12 × MRR, in `currency`.
    #[schema(value_type = f64)]
    pub arr: Value,
    /// The lifecycle stage, if the stage rules give one.
    pub stage: Option<String>,
    /// The health score, 0–100, if it can be scored.
    pub health: Option<f64>,
    /// `green`, `yellow` or `red`; null without a score.
    #[schema(value_type = Option<String>)]
    pub band: Option<&'static str>,
    pub signals: Vec<StatusSignal>,
    /// When it first reached activation (RFC 3339); null before.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub activated_at: Option<Timestamp>,
    /// Its latest product event (RFC 3339).
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_activity: Option<Timestamp>,
    /// The `[health]` version that scored it.
    pub health_config_version: String,
}

/// The status of `account` at `at`; none for an account that has never paid nor won a deal.
pub fn account_status(
    model: &Model,
    settings: &ReportSettings,
    stages: &Stages,
    account: &AccountId,
    at: Timestamp,
) -> Result<Option<AccountStatus>, ReportError> {
    let Some(revenue) = status_revenue(model, settings, account, at)? else {
        return Ok(None);
    };
    let s = AccountInputs::new(model, settings, &revenue).state_dated(stages, at);
    Ok(Some(status_of(&s, settings, at)))
}

/// [`account_status`] of each of `accounts` at `at`, in their order, going on from each
/// customer's day ends that `kept` holds, as the account reports do: a server refreshing every
/// status for what time alone changes evaluates only the days since its last refresh.
pub fn account_statuses(
    model: &Model,
    settings: &ReportSettings,
    stages: &Stages,
    accounts: &[&AccountId],
    at: Timestamp,
    kept: &Lifecycles,
) -> Vec<Result<Option<AccountStatus>, ReportError>> {
    let revenues: Vec<Result<Option<AccountRevenue>, ReportError>> = accounts
        .par_iter()
        .map(|a| status_revenue(model, settings, a, at))
        .collect();
    let scored: Vec<&AccountRevenue> = revenues
        .iter()
        .filter_map(|r| r.as_ref().ok().and_then(Option::as_ref))
        .collect();
    let taken = kept.take(settings, &scored);
    let (statuses, day_ends): (Vec<AccountStatus>, Vec<Option<DayEnds>>) = scored
        .par_iter()
        .zip(taken)
        .map(|(r, day_ends)| {
            let (s, day_ends) =
                AccountInputs::new(model, settings, r).state_kept(stages, at, day_ends);
            (status_of(&s, settings, at), day_ends)
        })
        .unzip();
    kept.give_back(
        settings,
        scored
            .iter()
            .zip(day_ends)
            .filter_map(|(r, d)| Some((r.account.clone(), d?))),
    );
    let mut statuses = statuses.into_iter();
    revenues
        .into_iter()
        .map(|r| Ok(r?.map(|_| statuses.next().expect("one status per scored account"))))
        .collect()
}

/// The account's revenue as of `at`, if it has a ledger and has ever paid or won a deal.
fn status_revenue(
    model: &Model,
    settings: &ReportSettings,
    account: &AccountId,
    at: Timestamp,
) -> Result<Option<AccountRevenue>, ReportError> {
    match model.ledger().account(account) {
        Some(ledger) => AccountRevenue::of(account, ledger, settings, at),
        None => Ok(None),
    }
}

/// What a status says of the account's state `s` at `at`.
fn status_of(s: &State, settings: &ReportSettings, at: Timestamp) -> AccountStatus {
    let time = |ms: Option<i64>| ms.map(Timestamp::from_millis);
    AccountStatus {
        account: s.revenue.account.clone(),
        as_of: at,
        currency: settings.currency,
        mrr: money(s.facts.mrr, settings.currency).into(),
        arr: money(12 * s.facts.mrr, settings.currency).into(),
        health: s.health.as_ref().map(|h| (h.score * 1e6).round() / 1e6),
        band: s.band().map(Band::name),
        signals: s
            .signals
            .iter()
            .map(|x| StatusSignal {
                kind: x.kind.name(),
                signal: x.name,
                started_at: Timestamp::from_millis(x.started_at),
                reason: x.reason.clone(),
            })
            .collect(),
        activated_at: time(s.facts.activated_at),
        last_activity: time(s.facts.last_activity),
        stage: s.stage.clone(),
        health_config_version: settings.health.version(),
    }
}
