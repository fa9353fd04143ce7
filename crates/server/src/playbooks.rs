//! What tenure did with its playbooks, as `tenure playbooks …`, `tenure tasks …` and their
//! `/api/v1/…` twins show it: the configured playbooks with their counts, the audit log of
//! firings, the delivery outbox with its attempts, retries from the dead-letter list, and
//! tasks.
//!
//! **Invariant:** this module knows no HTTP and no command line. Both the CLI and the API
//! parse their parameters with the same [`Query`] parsers and answer with the same types,
//! built by the same functions, so `--format json` is the API's JSON byte for byte (the
//! server tests and `crates/tenure/tests/playbooks.rs` check it).

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use tenure_core::{Timestamp, WorkspaceId};
use tenure_playbooks::Status;
use tenure_playbooks::{Limit, Playbook, Playbooks, PropertyTest, Scalar, Span, Trigger};
use tenure_reports::ReportSettings;
use tenure_runtime::actions::{self, Explained, Preview, SWITCHED_ON};
use tenure_runtime::replay::{ReplayCount, ReplayError, ReplayProgress, ReplayedFiring, Window};
use tenure_runtime::Live;
use tenure_store::{
    Delivery, DeliveryFilter, DeliveryId, DeliveryStatus, FiringFilter, Retried, Store, StoreError,
    Task, TaskChange, TaskFilter, TaskId, TaskStatus,
};
use utoipa::ToSchema;

/// Rows a list answers without `limit`.
pub const DEFAULT_LIMIT: usize = 100;
/// The most rows a list answers.
pub const MAX_LIMIT: usize = 10_000;

/// Why a playbook or task call cannot be answered.
#[derive(Debug, thiserror::Error)]
pub enum ActionsError {
    /// A parameter the caller gave is wrong (unknown name, bad value): HTTP 400, exit 2.
    #[error("{0}")]
    Parameter(String),
    /// No delivery with this id in the workspace: HTTP 404.
    #[error("no delivery {0} in this workspace; `tenure playbooks deliveries` (GET /api/v1/deliveries) lists them")]
    UnknownDelivery(DeliveryId),
    /// No task with this id in the workspace: HTTP 404.
    #[error("no task {0} in this workspace; `tenure tasks list` (GET /api/v1/tasks) lists them")]
    UnknownTask(TaskId),
    /// A dry-run of an account without a status: HTTP 404.
    #[error("account {0:?} has no status as of the dry-run: it is unknown, or has never paid nor won a deal; `tenure report accounts` lists the accounts")]
    UnknownAccount(String),
    /// A retry of a delivered delivery, refused: HTTP 409.
    #[error("delivery {id} was delivered{}; retrying it would deliver it twice, so nothing was changed", .at.map_or(String::new(), |t| format!(" at {t}")))]
    AlreadyDelivered {
        id: DeliveryId,
        at: Option<Timestamp>,
    },
    /// The configuration's playbooks cannot be read (checked when the configuration loads).
    #[error("{0}")]
    Config(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn parameter(message: impl Into<String>) -> ActionsError {
    ActionsError::Parameter(message.into())
}

/// Reads `(name, value)` pairs against the names a call takes; an unknown name, or one given
/// twice, is refused with the names it does take.
pub(crate) fn pairs<'a>(
    given: &'a [(String, String)],
    known: &[&str],
) -> Result<HashMap<&'a str, &'a str>, ActionsError> {
    let mut out = HashMap::new();
    for (name, value) in given {
        if !known.contains(&name.as_str()) {
            return Err(parameter(format!(
                "unknown parameter {name:?}; this call takes {}",
                known.join(", ")
            )));
        }
        if out.insert(name.as_str(), value.as_str()).is_some() {
            return Err(parameter(format!("{name} is given twice; give it once")));
        }
    }
    Ok(out)
}

pub(crate) fn text(value: Option<&&str>, name: &str) -> Result<Option<String>, ActionsError> {
    match value {
        Some(v) if v.trim().is_empty() => Err(parameter(format!(
            "{name} is empty; give a value or leave it out"
        ))),
        Some(v) => Ok(Some((*v).to_owned())),
        None => Ok(None),
    }
}

pub(crate) fn limit(value: Option<&&str>) -> Result<usize, ActionsError> {
    let Some(raw) = value else {
        return Ok(DEFAULT_LIMIT);
    };
    match raw.trim().parse::<usize>() {
        Ok(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        _ => Err(parameter(format!(
            "limit {raw:?}: give a whole number from 1 to {MAX_LIMIT} (default {DEFAULT_LIMIT})"
        ))),
    }
}

/// An instant as given: RFC 3339 (any offset) or a date meaning its midnight UTC.
pub fn instant(raw: &str, name: &str) -> Result<Timestamp, ActionsError> {
    Timestamp::parse(raw).map_err(|_| {
        parameter(format!(
            "{name} {raw:?} is not a date: write an RFC 3339 instant such as 2026-03-01T09:00:00Z, or a date such as 2026-03-01 (midnight UTC)"
        ))
    })
}

/// Parses an id from the command line or a path.
pub fn delivery_id(raw: &str) -> Result<DeliveryId, ActionsError> {
    raw.trim()
        .parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .map(DeliveryId)
        .ok_or_else(|| {
            parameter(format!(
                "{raw:?} is not a delivery id: ids are whole numbers, as `tenure playbooks deliveries` lists them"
            ))
        })
}

/// Parses a task id from the command line or a path.
pub fn task_id(raw: &str) -> Result<TaskId, ActionsError> {
    raw.trim()
        .parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .map(TaskId)
        .ok_or_else(|| {
            parameter(format!(
                "{raw:?} is not a task id: ids are whole numbers, as `tenure tasks list` lists them"
            ))
        })
}

/// The parameters of the firings log: `playbook`, `account`, `since`, `limit`.
pub fn firing_filter(given: &[(String, String)]) -> Result<FiringFilter, ActionsError> {
    let p = pairs(given, &["playbook", "account", "since", "limit"])?;
    Ok(FiringFilter {
        playbook: text(p.get("playbook"), "playbook")?,
        account: text(p.get("account"), "account")?,
        since: p.get("since").map(|s| instant(s, "since")).transpose()?,
        limit: Some(limit(p.get("limit"))?),
    })
}

/// The parameters of the deliveries list: `status`, `playbook`, `account`, `destination`,
/// `limit`.
pub fn delivery_filter(given: &[(String, String)]) -> Result<DeliveryFilter, ActionsError> {
    let p = pairs(
        given,
        &["status", "playbook", "account", "destination", "limit"],
    )?;
    let status = match p.get("status") {
        None => None,
        Some(raw) => Some(DeliveryStatus::parse(raw.trim()).ok_or_else(|| {
            parameter(format!("status {raw:?}: give pending, delivered or dead"))
        })?),
    };
    Ok(DeliveryFilter {
        status,
        playbook: text(p.get("playbook"), "playbook")?,
        account: text(p.get("account"), "account")?,
        destination: text(p.get("destination"), "destination")?,
        limit: Some(limit(p.get("limit"))?),
    })
}

/// The parameters of the tasks list: `status`, `owner`, `account`, `limit`.
pub fn task_filter(given: &[(String, String)]) -> Result<TaskFilter, ActionsError> {
    let p = pairs(given, &["status", "owner", "account", "limit"])?;
    let status = match p.get("status").map(|s| s.trim()) {
        None => None,
        Some("open") => Some(TaskStatus::Open),
        Some("snoozed") => Some(TaskStatus::Snoozed),
        Some("done") => Some(TaskStatus::Done),
        Some(raw) => {
            return Err(parameter(format!(
                "status {raw:?}: give open, snoozed or done"
            )))
        }
    };
    Ok(TaskFilter {
        status,
        owner: text(p.get("owner"), "owner")?,
        account: text(p.get("account"), "account")?,
        limit: Some(limit(p.get("limit"))?),
    })
}

/// Until when a snooze lasts: an instant (`until`) or a span from `now` (`for`, as `3d`,
/// `12h`, `30m`); exactly one.
pub fn snooze_until(
    until: Option<&str>,
    span: Option<&str>,
    now: Timestamp,
) -> Result<Timestamp, ActionsError> {
    match (until, span) {
        (Some(raw), None) => instant(raw, "until"),
        (None, Some(raw)) => Span::parse(raw)
            .map(|s| now.plus_millis(s.millis()))
            .map_err(|e| parameter(format!("for: {e}"))),
        _ => Err(parameter(
            "give exactly one of until (a date or RFC 3339 instant) and for (a span such as 3d)",
        )),
    }
}

/// What a dry-run asks (`tenure playbooks dry-run`, `GET /api/v1/playbooks/dry_run`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DryRunQuery {
    /// Only this playbook.
    pub playbook: Option<String>,
    /// This account step by step, instead of who matches.
    pub account: Option<String>,
    /// The instant every account is scored at; now when not given.
    pub as_of: Option<Timestamp>,
}

/// The parameters of a dry-run: `playbook`, `account`, `as_of`.
pub fn dry_run_query(given: &[(String, String)]) -> Result<DryRunQuery, ActionsError> {
    let p = pairs(given, &["playbook", "account", "as_of"])?;
    Ok(DryRunQuery {
        playbook: text(p.get("playbook"), "playbook")?,
        account: text(p.get("account"), "account")?,
        as_of: p.get("as_of").map(|s| instant(s, "as_of")).transpose()?,
    })
}

/// The most days a replay goes back.
pub const MAX_REPLAY_DAYS: u32 = 366;

/// What a replay asks (`tenure playbooks replay`, `GET /api/v1/playbooks/replay`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayQuery {
    /// The window: this many days back from `until`.
    pub days: u32,
    /// Only this playbook's firings are shown (all are replayed: the cap is across them).
    pub playbook: Option<String>,
    /// The window's end; now when not given.
    pub until: Option<Timestamp>,
    /// How often the state and calendar triggers are evaluated.
    pub tick: Span,
}

/// The parameters of a replay: `days` (required), `playbook`, `until`, `tick`.
pub fn replay_query(given: &[(String, String)]) -> Result<ReplayQuery, ActionsError> {
    let p = pairs(given, &["days", "playbook", "until", "tick"])?;
    let days = match p.get("days") {
        None => {
            return Err(parameter(format!(
                "days is missing: give how many days back to replay, 1 to {MAX_REPLAY_DAYS}"
            )))
        }
        Some(raw) => match raw.trim().parse::<u32>() {
            Ok(n) if (1..=MAX_REPLAY_DAYS).contains(&n) => n,
            _ => {
                return Err(parameter(format!(
                    "days {raw:?}: give a whole number of days from 1 to {MAX_REPLAY_DAYS}"
                )))
            }
        },
    };
    let tick = match p.get("tick") {
        None => Span::days(1),
        Some(raw) => {
            let span = Span::parse(raw).map_err(|e| parameter(format!("tick: {e}")))?;
            if !(60_000..=86_400_000).contains(&span.millis()) {
                return Err(parameter(format!(
                    "tick {raw:?}: give a span from 1m to 1d (default 1d)"
                )));
            }
            span
        }
    };
    Ok(ReplayQuery {
        days,
        playbook: text(p.get("playbook"), "playbook")?,
        until: p.get("until").map(|s| instant(s, "until")).transpose()?,
        tick,
    })
}

/// The configured playbooks, or only the one named; an unknown name is refused with the
/// names there are.
pub fn chosen(playbooks: &Playbooks, name: Option<&str>) -> Result<Playbooks, ActionsError> {
    let Some(name) = name else {
        return Ok(playbooks.clone());
    };
    if playbooks.get(name).is_none() {
        let known: Vec<&str> = playbooks
            .playbooks
            .iter()
            .map(|p| p.name.as_str())
            .collect();
        return Err(parameter(format!(
            "no playbook {name:?} is configured (playbooks: {})",
            if known.is_empty() {
                "none".to_owned()
            } else {
                known.join(", ")
            }
        )));
    }
    Ok(Playbooks {
        playbooks: playbooks
            .playbooks
            .iter()
            .filter(|p| p.name == name)
            .cloned()
            .collect(),
        ..playbooks.clone()
    })
}

// ---------------------------------------------------------------------------------------------
// The answers.

/// `tenure playbooks list` and `GET /api/v1/playbooks`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PlaybookList {
    /// The configured playbooks, in the configuration's order.
    pub playbooks: Vec<PlaybookView>,
}

/// One configured playbook and what it has done in this workspace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PlaybookView {
    pub name: String,
    /// The fingerprint of what decides who it fires for, when and what it sends; firings
    /// are keyed by it.
    pub version: String,
    pub enabled: bool,
    pub trigger: TriggerView,
    /// The `for_whom` filter as configured (an empty object: every account not churned).
    #[schema(value_type = Object)]
    pub for_whom: serde_json::Value,
    /// How often it may fire per account, in words: `once ever`, `once per contract`,
    /// `once per 30d`, `at most 3 per 7d`, `every match`.
    pub limit: String,
    /// `none` or `matching_now`.
    pub on_enable: String,
    pub actions: Vec<ActionView>,
    /// Firings recorded for it (every version), for accounts.
    pub firings: u64,
    /// When this version was first switched on (seen by a running server's tick); null
    /// before. With `on_enable = "none"`, the accounts matching then were recorded as seen.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub switched_on: Option<Timestamp>,
    pub deliveries: DeliveryCounts,
}

/// A trigger in words and as JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TriggerView {
    /// E.g. `signal usage_drop raised`, `on contract_end - 90d`.
    pub text: String,
    /// The trigger as validated, e.g. `{"signal_raised": "usage_drop"}`.
    #[schema(value_type = Object)]
    pub config: serde_json::Value,
}

/// One action of a playbook.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ActionView {
    /// Its place in the playbook's `actions`, from 0.
    pub step: u32,
    /// `webhook`, `slack`, `email`, `task` or `handoff`.
    pub kind: String,
    /// The configured destination; none for tasks and handoffs, which stay in tenure.
    pub destination: Option<String>,
    /// How long after the firing it is due, e.g. `0d`, `2d`, `12h`.
    pub delay: String,
}

/// Deliveries by status.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DeliveryCounts {
    pub pending: u64,
    pub delivered: u64,
    pub dead: u64,
}

/// `tenure playbooks log` and `GET /api/v1/playbooks/firings`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct FiringLog {
    /// Newest first.
    pub firings: Vec<FiringView>,
}

/// One firing and where its deliveries stand.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct FiringView {
    /// `playbook/version/account/period`, unique in the workspace.
    pub key: String,
    pub playbook: String,
    pub version: String,
    pub account: String,
    pub period: String,
    #[schema(value_type = String, format = DateTime)]
    pub fired_at: Timestamp,
    /// Why it fired (the change or the state that matched).
    #[schema(value_type = Object)]
    pub cause: serde_json::Value,
    /// Its deliveries, by step.
    pub deliveries: Vec<FiringDelivery>,
}

/// A delivery as the firings log shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct FiringDelivery {
    pub id: i64,
    pub step: u32,
    pub kind: String,
    pub destination: String,
    /// `pending`, `delivered` or `dead`.
    pub status: String,
    pub attempts: u32,
    /// The response code of the last attempt, when the destination gave one.
    pub last_code: Option<u16>,
    /// When the last attempt was made; none before the first.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_attempt_at: Option<Timestamp>,
    /// The last attempt's error; for a dead delivery, why it was given up.
    pub last_error: Option<String>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub delivered_at: Option<Timestamp>,
    /// When a pending delivery is next attempted.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub next_attempt_at: Option<Timestamp>,
    /// Once finished, what the destination made of it (as in the deliveries list).
    pub result: Option<String>,
}

/// `tenure playbooks deliveries` and `GET /api/v1/deliveries`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DeliveryList {
    /// Newest first.
    pub deliveries: Vec<DeliveryView>,
}

/// A row of the outbox.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DeliveryView {
    pub id: i64,
    pub firing_key: String,
    pub playbook: String,
    pub account: String,
    pub step: u32,
    pub destination: String,
    pub kind: String,
    /// `pending`, `delivered` or `dead` (the dead-letter list).
    pub status: String,
    /// Attempts made so far.
    pub attempts: u32,
    #[schema(value_type = String, format = DateTime)]
    pub due_at: Timestamp,
    /// When a pending delivery is next attempted.
    #[schema(value_type = String, format = DateTime)]
    pub next_attempt_at: Timestamp,
    /// The last answer's status code, if one came.
    pub last_code: Option<u16>,
    /// The last attempt's error; for a dead delivery, why it was given up.
    pub last_error: Option<String>,
    /// When its firing was recorded.
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub delivered_at: Option<Timestamp>,
    /// Once finished, what the destination made of it: `accepted`, `duplicate` or
    /// `unmatched` (delivered), `rejected` or `expired` (dead); null while pending.
    pub result: Option<String>,
}

/// `tenure playbooks deliveries ID` and `GET /api/v1/deliveries/{id}`: a delivery with what it
/// sends and every attempt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DeliveryDetail {
    pub delivery: DeliveryView,
    /// What is sent, as the destination renders it.
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
    /// Who holds it while attempting it, and until when.
    pub lease: Option<LeaseView>,
    /// First first.
    pub attempts: Vec<AttemptView>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct LeaseView {
    pub owner: String,
    #[schema(value_type = String, format = DateTime)]
    pub until: Timestamp,
}

/// One attempt at a delivery.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AttemptView {
    /// 1 for the first.
    pub attempt: u32,
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
    /// `delivered`, `retry` or `dead`.
    pub outcome: String,
    /// The answer's status code, if one came.
    pub code: Option<u16>,
    pub error: Option<String>,
    pub duration_ms: u64,
}

/// `tenure playbooks retry` and `POST /api/v1/deliveries/{id}/retry` (or `retry_dead`): the
/// deliveries made pending and due now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RetryAnswer {
    pub retried: Vec<DeliveryView>,
}

/// `tenure tasks list` and `GET /api/v1/tasks`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TaskList {
    /// By id.
    pub tasks: Vec<TaskView>,
}

/// A task, with its status as of the answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TaskView {
    pub id: i64,
    pub playbook: String,
    pub account: String,
    pub title: String,
    pub owner: Option<String>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub due_at: Option<Timestamp>,
    /// `open`, `snoozed` (open again after `snoozed_until`) or `done`.
    pub status: String,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub snoozed_until: Option<Timestamp>,
    /// The firing that last created or updated it.
    pub firing_key: Option<String>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub completed_at: Option<Timestamp>,
}

impl From<&Delivery> for DeliveryView {
    fn from(d: &Delivery) -> Self {
        DeliveryView {
            id: d.id.0,
            firing_key: d.firing_key.clone(),
            playbook: d.playbook.clone(),
            account: d.account.clone(),
            step: d.step,
            destination: d.destination.clone(),
            kind: d.kind.clone(),
            status: d.status.as_str().to_owned(),
            attempts: d.attempts,
            due_at: d.due_at,
            next_attempt_at: d.next_attempt_at,
            last_code: d.last_code,
            last_error: d.last_error.clone(),
            created_at: d.created_at,
            delivered_at: d.delivered_at,
            result: d.result.clone(),
        }
    }
}

impl From<Task> for TaskView {
    fn from(t: Task) -> Self {
        TaskView {
            id: t.id.0,
            playbook: t.playbook,
            account: t.account,
            title: t.title,
            owner: t.owner,
            due_at: t.due_at,
            status: match t.status {
                TaskStatus::Open => "open",
                TaskStatus::Snoozed => "snoozed",
                TaskStatus::Done => "done",
            }
            .to_owned(),
            snoozed_until: t.snoozed_until,
            firing_key: t.firing_key,
            created_at: t.created_at,
            updated_at: t.updated_at,
            completed_at: t.completed_at,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Words for the configuration.

fn scalar(s: &Scalar) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

/// A trigger in words.
pub fn trigger_text(trigger: &Trigger) -> String {
    match trigger {
        Trigger::SignalRaised(s) => format!("signal {s} raised"),
        Trigger::SignalCleared(s) => format!("signal {s} cleared"),
        Trigger::StageEntered(s) => format!("stage {s} entered"),
        Trigger::StageLeft(s) => format!("stage {s} left"),
        Trigger::Milestone(m) => format!("milestone {m} reached"),
        Trigger::Event { name, conditions } => {
            let tests: Vec<String> = conditions
                .iter()
                .map(|c| {
                    let test = match &c.test {
                        PropertyTest::Equals(v) => format!("= {}", scalar(v)),
                        PropertyTest::NotEquals(v) => format!("!= {}", scalar(v)),
                        PropertyTest::GreaterThan(x) => format!("> {x}"),
                        PropertyTest::LessThan(x) => format!("< {x}"),
                        PropertyTest::Exists(true) => "exists".to_owned(),
                        PropertyTest::Exists(false) => "is absent".to_owned(),
                    };
                    format!("{} {test}", c.property)
                })
                .collect();
            if tests.is_empty() {
                format!("event {name:?} seen")
            } else {
                format!("event {name:?} seen where {}", tests.join(" and "))
            }
        }
        Trigger::State { filter, for_days } => {
            let state = serde_json::to_string(filter).unwrap_or_default();
            match for_days {
                0 => format!("account in state {state}"),
                1 => format!("account in state {state} for 1 day"),
                n => format!("account in state {state} for {n} days"),
            }
        }
        Trigger::Calendar(rule) => format!("on {rule}"),
        Trigger::SlaBreached(team) if team == tenure_playbooks::ANY_TEAM => {
            "a handoff's SLA breached (any team)".to_owned()
        }
        Trigger::SlaBreached(team) => format!("a handoff's SLA to {team} breached"),
    }
}

/// A limit in words.
pub fn limit_text(limit: &Limit) -> String {
    match limit {
        Limit::Ever => "once ever".to_owned(),
        Limit::Contract => "once per contract".to_owned(),
        Limit::OncePer(span) => format!("once per {span}"),
        Limit::Max { count, per } => format!("at most {count} per {per}"),
        Limit::EveryMatch => "every match".to_owned(),
    }
}

fn to_json(value: &impl Serialize) -> serde_json::Value {
    serde_json::to_value(value).unwrap_or(serde_json::Value::Null)
}

fn playbook_view(
    store: &dyn Store,
    workspace: &WorkspaceId,
    playbook: &Playbook,
) -> Result<PlaybookView, StoreError> {
    let firings = store.firings(
        workspace,
        &FiringFilter {
            playbook: Some(playbook.name.clone()),
            ..FiringFilter::default()
        },
    )?;
    let mut counts = DeliveryCounts::default();
    for delivery in store.deliveries(
        workspace,
        &DeliveryFilter {
            playbook: Some(playbook.name.clone()),
            ..DeliveryFilter::default()
        },
    )? {
        match delivery.status {
            DeliveryStatus::Pending => counts.pending += 1,
            DeliveryStatus::Delivered => counts.delivered += 1,
            DeliveryStatus::Dead => counts.dead += 1,
        }
    }
    let on_enable = match to_json(&playbook.on_enable) {
        serde_json::Value::String(s) => s,
        other => other.to_string(),
    };
    Ok(PlaybookView {
        name: playbook.name.clone(),
        version: playbook.version().to_owned(),
        enabled: playbook.enabled,
        trigger: TriggerView {
            text: trigger_text(&playbook.trigger),
            config: to_json(&playbook.trigger),
        },
        for_whom: to_json(&playbook.for_whom),
        limit: limit_text(&playbook.limit),
        on_enable,
        actions: playbook
            .actions
            .iter()
            .enumerate()
            .map(|(i, step)| ActionView {
                step: u32::try_from(i).unwrap_or(u32::MAX),
                kind: step.action.kind().to_owned(),
                destination: step.action.destination().map(str::to_owned),
                delay: step.delay.to_string(),
            })
            .collect(),
        firings: firings.iter().filter(|f| f.account != SWITCHED_ON).count() as u64,
        switched_on: firings
            .iter()
            .filter(|f| f.account == SWITCHED_ON && f.version == playbook.version())
            .map(|f| f.fired_at)
            .min(),
        deliveries: counts,
    })
}

// ---------------------------------------------------------------------------------------------
// The calls.

/// Every configured playbook with its counts in `workspace`.
pub fn list(
    store: &dyn Store,
    workspace: &WorkspaceId,
    playbooks: &Playbooks,
) -> Result<PlaybookList, ActionsError> {
    let playbooks = playbooks
        .playbooks
        .iter()
        .map(|p| playbook_view(store, workspace, p))
        .collect::<Result<_, _>>()?;
    Ok(PlaybookList { playbooks })
}

/// The firings `filter` selects, newest first, each with its deliveries.
pub fn firing_log(
    store: &dyn Store,
    workspace: &WorkspaceId,
    filter: &FiringFilter,
) -> Result<FiringLog, ActionsError> {
    let firings = store.firings(workspace, filter)?;
    // A firing's deliveries are those of its playbook and account with its key: one query per
    // (playbook, account) pair listed, each bounded by that pair's own deliveries.
    let mut by_pair: BTreeMap<(String, String), Vec<Delivery>> = BTreeMap::new();
    let mut out = Vec::with_capacity(firings.len());
    // A playbook version's switching on is told by `playbooks list`, not as a firing.
    for firing in firings.into_iter().filter(|f| f.account != SWITCHED_ON) {
        let pair = (firing.playbook.clone(), firing.account.clone());
        if !by_pair.contains_key(&pair) {
            let found = store.deliveries(
                workspace,
                &DeliveryFilter {
                    playbook: Some(pair.0.clone()),
                    account: Some(pair.1.clone()),
                    ..DeliveryFilter::default()
                },
            )?;
            by_pair.insert(pair.clone(), found);
        }
        let mut deliveries: Vec<FiringDelivery> = by_pair[&pair]
            .iter()
            .filter(|d| d.firing_key == firing.key)
            .map(|d| {
                // The last attempt's time is in the audit of attempts: asked only of a
                // delivery attempted at least once.
                let last_attempt_at = if d.attempts > 0 {
                    store
                        .delivery_attempts(workspace, d.id)?
                        .last()
                        .map(|a| a.at)
                } else {
                    None
                };
                Ok(FiringDelivery {
                    id: d.id.0,
                    step: d.step,
                    kind: d.kind.clone(),
                    destination: d.destination.clone(),
                    status: d.status.as_str().to_owned(),
                    attempts: d.attempts,
                    last_code: d.last_code,
                    last_attempt_at,
                    last_error: d.last_error.clone(),
                    delivered_at: d.delivered_at,
                    next_attempt_at: (d.status == DeliveryStatus::Pending)
                        .then_some(d.next_attempt_at),
                    result: d.result.clone(),
                })
            })
            .collect::<Result<_, StoreError>>()?;
        deliveries.sort_by_key(|d| d.step);
        out.push(FiringView {
            key: firing.key,
            playbook: firing.playbook,
            version: firing.version,
            account: firing.account,
            period: firing.period,
            fired_at: firing.fired_at,
            cause: firing.cause,
            deliveries,
        });
    }
    Ok(FiringLog { firings: out })
}

/// The deliveries `filter` selects, newest first.
pub fn deliveries(
    store: &dyn Store,
    workspace: &WorkspaceId,
    filter: &DeliveryFilter,
) -> Result<DeliveryList, ActionsError> {
    let found = store.deliveries(workspace, filter)?;
    Ok(DeliveryList {
        deliveries: found.iter().map(DeliveryView::from).collect(),
    })
}

fn find_delivery(
    store: &dyn Store,
    workspace: &WorkspaceId,
    id: DeliveryId,
) -> Result<Delivery, ActionsError> {
    // The store lists by filter; a delivery's id is found among its workspace's. Dead and
    // pending ones are few; delivered ones are looked for last.
    for status in [
        DeliveryStatus::Dead,
        DeliveryStatus::Pending,
        DeliveryStatus::Delivered,
    ] {
        let found = store.deliveries(
            workspace,
            &DeliveryFilter {
                status: Some(status),
                ..DeliveryFilter::default()
            },
        )?;
        if let Some(d) = found.into_iter().find(|d| d.id == id) {
            return Ok(d);
        }
    }
    Err(ActionsError::UnknownDelivery(id))
}

/// One delivery with its payload and every attempt.
pub fn delivery(
    store: &dyn Store,
    workspace: &WorkspaceId,
    id: DeliveryId,
) -> Result<DeliveryDetail, ActionsError> {
    let found = find_delivery(store, workspace, id)?;
    let attempts = store
        .delivery_attempts(workspace, id)?
        .into_iter()
        .map(|a| AttemptView {
            attempt: a.attempt,
            at: a.at,
            outcome: a.outcome,
            code: a.code,
            error: a.error,
            duration_ms: a.duration_ms,
        })
        .collect();
    Ok(DeliveryDetail {
        delivery: DeliveryView::from(&found),
        payload: found.payload.clone(),
        lease: found.lease.as_ref().map(|l| LeaseView {
            owner: l.owner.clone(),
            until: l.until,
        }),
        attempts,
    })
}

/// Makes delivery `id` pending and due at `now`; a delivered one is refused.
pub fn retry(
    store: &dyn Store,
    workspace: &WorkspaceId,
    id: DeliveryId,
    now: Timestamp,
) -> Result<RetryAnswer, ActionsError> {
    match store.retry_delivery(workspace, id, now)? {
        Retried::Pending { delivery } => Ok(RetryAnswer {
            retried: vec![DeliveryView::from(delivery.as_ref())],
        }),
        Retried::AlreadyDelivered { delivered_at } => Err(ActionsError::AlreadyDelivered {
            id,
            at: delivered_at,
        }),
        Retried::NotFound => Err(ActionsError::UnknownDelivery(id)),
    }
}

/// Makes every dead delivery of the workspace pending and due at `now`, oldest first.
pub fn retry_dead(
    store: &dyn Store,
    workspace: &WorkspaceId,
    now: Timestamp,
) -> Result<RetryAnswer, ActionsError> {
    let mut dead = store.deliveries(
        workspace,
        &DeliveryFilter {
            status: Some(DeliveryStatus::Dead),
            ..DeliveryFilter::default()
        },
    )?;
    dead.reverse();
    let mut retried = Vec::with_capacity(dead.len());
    for d in dead {
        // One delivered meanwhile (by a retry elsewhere) is left alone, not an error.
        if let Retried::Pending { delivery } = store.retry_delivery(workspace, d.id, now)? {
            retried.push(DeliveryView::from(delivery.as_ref()));
        }
    }
    Ok(RetryAnswer { retried })
}

/// The tasks `filter` selects, by id, with their status as of `now`.
pub fn tasks(
    store: &dyn Store,
    workspace: &WorkspaceId,
    filter: &TaskFilter,
    now: Timestamp,
) -> Result<TaskList, ActionsError> {
    Ok(TaskList {
        tasks: store
            .tasks(workspace, filter, now)?
            .into_iter()
            .map(TaskView::from)
            .collect(),
    })
}

/// Applies `change` to task `id` at `now`: the task as it then is.
pub fn change_task(
    store: &dyn Store,
    workspace: &WorkspaceId,
    id: TaskId,
    change: &TaskChange,
    now: Timestamp,
) -> Result<TaskView, ActionsError> {
    if let TaskChange::Assign(Some(owner)) = change {
        if owner.trim().is_empty() {
            return Err(parameter("owner is empty; give the owner's name"));
        }
    }
    let task = store
        .update_task(workspace, id, change, now)?
        .ok_or(ActionsError::UnknownTask(id))?;
    // Completing a task of the account is its owner acting: the SLA of the handoff that gave
    // them the account is met (if it was not yet, and whether or not it had ended).
    if matches!(change, TaskChange::Complete) && store.meet_sla(workspace, &task.account, now)? {
        tracing::info!(workspace = %workspace, account = %task.account, task = task.id.0, "a handoff's SLA is met by a completed task");
    }
    Ok(TaskView::from(task))
}

/// `GET /api/v1/accounts/{account}/playbooks` (and the dashboard's account page): what the
/// playbooks did for one account and where it stands with them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AccountPlaybooks {
    pub account: String,
    /// Its current owner and team from the latest handoff; none if never handed off.
    pub owner: Option<OwnerView>,
    /// Its tasks not done (open or snoozed), by id.
    pub open_tasks: Vec<TaskView>,
    /// Its firings, newest first (at most [`ACCOUNT_FIRINGS`]), each with its deliveries.
    pub firings: Vec<FiringView>,
    /// The same firings as flat rows, one per delivery (one, without delivery fields, for a
    /// firing recorded without deliveries): what the dashboard's table lists.
    pub activity: Vec<ActivityRow>,
}

/// One delivery of one of an account's firings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ActivityRow {
    #[schema(value_type = String, format = DateTime)]
    pub fired_at: Timestamp,
    pub playbook: String,
    pub firing_key: String,
    pub step: Option<u32>,
    pub kind: Option<String>,
    pub destination: Option<String>,
    /// `pending`, `delivered` or `dead`; none for a firing without deliveries.
    pub status: Option<String>,
    pub attempts: u32,
    pub last_code: Option<u16>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_attempt_at: Option<Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub delivered_at: Option<Timestamp>,
}

/// An account's owner from a handoff on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct OwnerView {
    pub team: String,
    pub owner: Option<String>,
    #[schema(value_type = String, format = DateTime)]
    pub since: Timestamp,
    /// When the owner must have acted, if the handoff set an SLA.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub sla_due: Option<Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub sla_met_at: Option<Timestamp>,
    /// `none` (no SLA), `open` (not met, not ended), `met`, `met_late` or `breached`, as of
    /// the answer.
    pub sla: String,
    /// The playbook whose handoff it was; none for a change by hand.
    pub playbook: Option<String>,
}

/// How many firings the account view lists.
pub const ACCOUNT_FIRINGS: usize = 50;

/// `account`'s owner, open tasks and firings as of `now`.
pub fn account_playbooks(
    store: &dyn Store,
    workspace: &WorkspaceId,
    account: &str,
    now: Timestamp,
) -> Result<AccountPlaybooks, ActionsError> {
    let owner = store
        .owners(workspace, Some(account))?
        .into_iter()
        .next()
        .map(|o| OwnerView {
            sla: match (o.sla_due, o.sla_met_at) {
                (None, _) => "none",
                (Some(due), Some(met)) if met <= due => "met",
                (Some(_), Some(_)) => "met_late",
                (Some(due), None) if now < due => "open",
                (Some(_), None) => "breached",
            }
            .to_owned(),
            team: o.team,
            owner: o.owner,
            since: o.since,
            sla_due: o.sla_due,
            sla_met_at: o.sla_met_at,
            playbook: o.playbook,
        });
    let open_tasks = store
        .tasks(
            workspace,
            &TaskFilter {
                account: Some(account.to_owned()),
                ..TaskFilter::default()
            },
            now,
        )?
        .into_iter()
        .filter(|t| t.status != TaskStatus::Done)
        .map(TaskView::from)
        .collect();
    let firings = firing_log(
        store,
        workspace,
        &FiringFilter {
            account: Some(account.to_owned()),
            limit: Some(ACCOUNT_FIRINGS),
            ..FiringFilter::default()
        },
    )?
    .firings;
    let mut activity = Vec::new();
    for f in &firings {
        let row = |d: Option<&FiringDelivery>| ActivityRow {
            fired_at: f.fired_at,
            playbook: f.playbook.clone(),
            firing_key: f.key.clone(),
            step: d.map(|d| d.step),
            kind: d.map(|d| d.kind.clone()),
            destination: d.map(|d| d.destination.clone()),
            status: d.map(|d| d.status.clone()),
            attempts: d.map_or(0, |d| d.attempts),
            last_code: d.and_then(|d| d.last_code),
            last_attempt_at: d.and_then(|d| d.last_attempt_at),
            delivered_at: d.and_then(|d| d.delivered_at),
        };
        if f.deliveries.is_empty() {
            activity.push(row(None));
        }
        activity.extend(f.deliveries.iter().map(|d| row(Some(d))));
    }
    Ok(AccountPlaybooks {
        account: account.to_owned(),
        owner,
        open_tasks,
        firings,
        activity,
    })
}

/// `tenure playbooks dry-run` and `GET /api/v1/playbooks/dry_run`: who each playbook matches
/// (the first form) or one account step by step (the second).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum DryRun {
    Matching {
        as_of: Timestamp,
        playbooks: Vec<Preview>,
    },
    Account {
        as_of: Timestamp,
        explained: Vec<Explained>,
    },
}

/// Every account's playbook status at `as_of`, scored afresh from the workspace's model: what
/// a dry-run evaluates, the same on a server (its live model) as in the CLI (the model
/// rebuilt from the log), so both answer a question about one instant alike.
pub fn statuses_at(
    live: &Live,
    workspace: &WorkspaceId,
    settings: &ReportSettings,
    as_of: Timestamp,
) -> Result<Vec<Status>, ActionsError> {
    live.read(workspace, |model| {
        actions::statuses_at(model, settings, as_of)
    })
    .map_err(|e| ActionsError::Config(format!("cannot score the accounts: {e}")))
}

/// The dry-run of `playbooks` (see [`chosen`]) over `statuses` scored at `as_of`; nothing is
/// recorded or sent. For one account, its earlier firings are read from the store, as the
/// live path counts them.
pub fn dry_run(
    store: &dyn Store,
    workspace: &WorkspaceId,
    playbooks: &Playbooks,
    account: Option<&str>,
    statuses: &[Status],
    as_of: Timestamp,
) -> Result<DryRun, ActionsError> {
    let Some(account) = account else {
        return Ok(DryRun::Matching {
            as_of,
            playbooks: actions::preview(playbooks, statuses),
        });
    };
    let status = statuses
        .iter()
        .find(|s| s.account.as_str() == account)
        .ok_or_else(|| ActionsError::UnknownAccount(account.to_owned()))?;
    let explained = playbooks
        .playbooks
        .iter()
        .map(|p| {
            let filter = FiringFilter {
                playbook: Some(p.name.clone()),
                account: Some(account.to_owned()),
                ..Default::default()
            };
            let earlier: Vec<Timestamp> = store
                .firings(workspace, &filter)?
                .into_iter()
                .map(|f| f.fired_at)
                .collect();
            Ok(actions::explain(p, status, None, &earlier, as_of))
        })
        .collect::<Result<_, ActionsError>>()?;
    Ok(DryRun::Account { as_of, explained })
}

/// `tenure playbooks replay` and `GET /api/v1/playbooks/replay`: what the playbooks would
/// have fired over the window, and when.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReplayAnswer {
    pub from: Timestamp,
    pub until: Timestamp,
    /// How often the state and calendar triggers were evaluated (`1d`, `1h`, …).
    pub tick: String,
    /// Entries received within the window.
    pub entries: u64,
    /// Per playbook shown: firings, accounts seen at the start, decisions the cap held back.
    pub playbooks: Vec<ReplayCount>,
    /// Each firing, in the order it would have been decided.
    pub firings: Vec<ReplayedFiring>,
}

/// Replays every configured playbook over the workspace's log for `query.days` days up to
/// `query.until` (else `now`), showing those of `query.playbook` if given (all are replayed,
/// since the per-account cap is across them). Reads the whole log; records and sends nothing.
pub fn replay(
    store: &dyn Store,
    workspace: &WorkspaceId,
    config: &tenure_config::Config,
    query: &ReplayQuery,
    now: Timestamp,
    progress: &mut dyn FnMut(ReplayProgress),
) -> Result<ReplayAnswer, ActionsError> {
    let playbooks = configured(config)?;
    let shown = chosen(&playbooks, query.playbook.as_deref())?;
    let until = query.until.unwrap_or(now);
    let window = Window {
        from: until.plus_millis(-i64::from(query.days) * Span::days(1).millis()),
        until,
        tick_ms: query.tick.millis(),
    };
    let replayed = tenure_runtime::replay::replay(
        store,
        workspace,
        config.engine(),
        &config.report_settings(),
        &playbooks,
        window,
        progress,
    )
    .map_err(|e| match e {
        ReplayError::Store(e) => ActionsError::Store(e),
        ReplayError::Report(e) => ActionsError::Config(format!("cannot score the accounts: {e}")),
    })?;
    let is_shown = |name: &str| shown.get(name).is_some();
    Ok(ReplayAnswer {
        from: window.from,
        until,
        tick: query.tick.to_string(),
        entries: replayed.entries,
        playbooks: replayed
            .counts
            .into_iter()
            .filter(|c| is_shown(&c.playbook))
            .collect(),
        firings: replayed
            .firings
            .into_iter()
            .filter(|f| is_shown(&f.playbook))
            .collect(),
    })
}

/// The configured playbooks, validated (the configuration was checked when it loaded).
pub fn configured(config: &tenure_config::Config) -> Result<Playbooks, ActionsError> {
    config
        .playbooks()
        .map_err(|e| ActionsError::Config(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn given(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn parameters_are_checked_with_messages_that_say_what_to_do() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (&[("nope", "1")], "unknown parameter \"nope\""),
            (&[("status", "lost")], "give pending, delivered or dead"),
            (&[("limit", "0")], "from 1 to 10000"),
            (&[("limit", "x")], "from 1 to 10000"),
            (&[("account", " ")], "account is empty"),
        ];
        for (pairs, wanted) in cases {
            let err = delivery_filter(&given(pairs)).unwrap_err().to_string();
            assert!(err.contains(wanted), "{pairs:?}: {err}");
        }
        let err = firing_filter(&given(&[("since", "yesterday")]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("since \"yesterday\" is not a date"), "{err}");
        let f = firing_filter(&given(&[("since", "2026-03-01"), ("limit", "5")])).unwrap();
        assert_eq!(f.since, Some(Timestamp::parse("2026-03-01").unwrap()));
        assert_eq!(f.limit, Some(5));
        let err = task_filter(&given(&[("status", "closed")]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("give open, snoozed or done"), "{err}");
    }

    #[test]
    fn dry_run_and_replay_parameters_are_checked() {
        let q = dry_run_query(&given(&[("account", "acme"), ("as_of", "2026-03-01")])).unwrap();
        assert_eq!(q.account.as_deref(), Some("acme"));
        assert_eq!(q.as_of, Some(Timestamp::parse("2026-03-01").unwrap()));
        let err = dry_run_query(&given(&[("as_of", "now")]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("as_of \"now\" is not a date"), "{err}");
        let q = replay_query(&given(&[("days", "30")])).unwrap();
        assert_eq!(
            (q.days, q.tick.to_string(), q.until),
            (30, "1d".to_owned(), None)
        );
        let q = replay_query(&given(&[("days", "7"), ("tick", "60m")])).unwrap();
        assert_eq!(q.tick.to_string(), "1h");
        let cases: &[(&[(&str, &str)], &str)] = &[
            (&[], "days is missing"),
            (&[("days", "0")], "from 1 to 366"),
            (&[("days", "367")], "from 1 to 366"),
            (&[("days", "3"), ("tick", "2d")], "from 1m to 1d"),
            (&[("days", "3"), ("tick", "soon")], "bad duration"),
            (
                &[("days", "3"), ("until", "later")],
                "until \"later\" is not a date",
            ),
            (
                &[("days", "3"), ("account", "acme")],
                "unknown parameter \"account\"",
            ),
        ];
        for (pairs, wanted) in cases {
            let err = replay_query(&given(pairs)).unwrap_err().to_string();
            assert!(err.contains(wanted), "{pairs:?}: {err}");
        }
    }

    #[test]
    fn a_snooze_is_until_an_instant_or_for_a_span() {
        let now = Timestamp::parse("2026-03-01T00:00:00Z").unwrap();
        assert_eq!(
            snooze_until(None, Some("3d"), now).unwrap(),
            Timestamp::parse("2026-03-04T00:00:00Z").unwrap()
        );
        assert_eq!(
            snooze_until(Some("2026-04-01"), None, now).unwrap(),
            Timestamp::parse("2026-04-01T00:00:00Z").unwrap()
        );
        assert!(snooze_until(None, Some("3 days"), now).is_err());
        assert!(snooze_until(Some("2026-04-01"), Some("3d"), now).is_err());
        assert!(snooze_until(None, None, now).is_err());
        assert!(delivery_id("abc").is_err());
        assert!(task_id("0").is_err());
    }
}
