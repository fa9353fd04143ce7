//! The durable side of playbooks (SPEC §5, issue 17): firings, the delivery outbox and its
//! attempts, tasks, account owners, and leases for singletons. Backend-neutral: every type here
//! is what the [`Store`](crate::Store) trait takes and returns, whatever holds the rows.
//!
//! The store decides nothing about playbooks: it keeps a firing's key unique, hands each due
//! delivery to one claimer at a time, and records what happened. Every instant is given by the
//! caller (its `Clock`), so the store never reads the time for these tables.

use serde::{Deserialize, Serialize};
use tenure_core::{Timestamp, WorkspaceId};

/// A firing to record once: `key` is the playbooks crate's `FiringKey` as text
/// (`playbook/version/account/period`); the parts are kept beside it for listing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewFiring {
    pub key: String,
    pub playbook: String,
    pub version: String,
    pub account: String,
    pub period: String,
    pub fired_at: Timestamp,
    /// Why it fired (the change or the state that matched), for the audit log.
    pub cause: serde_json::Value,
}

/// A recorded firing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FiringRecord {
    pub key: String,
    pub playbook: String,
    pub version: String,
    pub account: String,
    pub period: String,
    pub fired_at: Timestamp,
    pub cause: serde_json::Value,
}

/// Which firings to list; every field set narrows the list. `limit: None` lists all.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FiringFilter {
    pub playbook: Option<String>,
    pub account: Option<String>,
    /// Only firings at or after this instant.
    pub since: Option<Timestamp>,
    pub limit: Option<usize>,
}

/// One step of a firing to deliver: a row of the outbox, recorded with its firing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewDelivery {
    /// The action's place in the playbook's sequence; unique within a firing.
    pub step: u32,
    /// The configured destination's name.
    pub destination: String,
    /// `webhook`, `slack`, `email`, `task`, `handoff`, …
    pub kind: String,
    /// What is to be sent, as the destination will render it.
    pub payload: serde_json::Value,
    /// When it may first be attempted (a sequence's delay, quiet hours).
    pub due_at: Timestamp,
}

/// A delivery's id, unique in the store (across workspaces).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DeliveryId(pub i64);

impl std::fmt::Display for DeliveryId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Waiting for its next attempt (or being attempted, when leased).
    Pending,
    Delivered,
    /// Given up: the dead-letter list; `last_error` says why.
    Dead,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Dead => "dead",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "pending" => Some(DeliveryStatus::Pending),
            "delivered" => Some(DeliveryStatus::Delivered),
            "dead" => Some(DeliveryStatus::Dead),
            _ => None,
        }
    }
}

/// Who is attempting a delivery, and until when the others must leave it alone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    pub owner: String,
    pub until: Timestamp,
}

/// A row of the outbox.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Delivery {
    pub id: DeliveryId,
    pub workspace: WorkspaceId,
    pub firing_key: String,
    pub playbook: String,
    pub account: String,
    pub step: u32,
    pub destination: String,
    pub kind: String,
    pub payload: serde_json::Value,
    pub due_at: Timestamp,
    pub status: DeliveryStatus,
    /// Attempts made so far.
    pub attempts: u32,
    pub next_attempt_at: Timestamp,
    /// Set while a claimer holds it (and left, expired, after a claimer vanished).
    pub lease: Option<Lease>,
    pub last_code: Option<u16>,
    /// The last attempt's error; for a dead delivery, why it was given up.
    pub last_error: Option<String>,
    /// When its firing was recorded.
    pub created_at: Timestamp,
    pub delivered_at: Option<Timestamp>,
    /// What the destination made of it, once finished: `accepted`, `duplicate` or `unmatched`
    /// (delivered), `rejected` or `expired` (dead); none while pending.
    pub result: Option<String>,
}

/// Whose deliveries a claim takes: each destination's worker claims its own, so an outage of
/// one delays no other; a sweeper claims those of destinations no longer configured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimFor<'a> {
    Any,
    Only(&'a str),
    NoneOf(&'a [String]),
}

/// Which deliveries to list, newest first; every field set narrows the list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryFilter {
    pub status: Option<DeliveryStatus>,
    pub playbook: Option<String>,
    pub account: Option<String>,
    pub destination: Option<String>,
    pub limit: Option<usize>,
}

/// How many of the deliveries of one playbook (or conversion rule) to one destination stand
/// where: one row per playbook, destination, status, result and reason (the last error of a
/// dead delivery, which says why it was rejected or expired; none otherwise).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryTally {
    pub playbook: String,
    pub destination: String,
    pub status: DeliveryStatus,
    pub result: Option<String>,
    pub reason: Option<String>,
    pub count: u64,
    /// When the latest of them was recorded.
    pub latest: Timestamp,
}

/// What an attempt at a delivery came to, as its destination classified the answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub enum Attempted {
    /// Accepted: the delivery is done.
    Delivered { code: Option<u16> },
    /// Failed for now (a 5xx, a 429, a timeout): try again at `at`.
    Retry {
        code: Option<u16>,
        error: String,
        at: Timestamp,
    },
    /// Failed for good (a 4xx, attempts exhausted): the delivery goes to the dead-letter list.
    Dead { code: Option<u16>, reason: String },
    /// The receiver had it already (an ad platform's duplicate): done, as delivered.
    Duplicate { code: Option<u16> },
    /// The receiver took it but matched it to no one: done, as delivered, with why.
    Unmatched { code: Option<u16>, reason: String },
    /// Past the receiver's deadline: never sent, never retried; dead, with why.
    Expired { reason: String },
}

impl Attempted {
    pub fn outcome(&self) -> &'static str {
        match self {
            Attempted::Delivered { .. } => "delivered",
            Attempted::Retry { .. } => "retry",
            Attempted::Dead { .. } => "dead",
            Attempted::Duplicate { .. } => "duplicate",
            Attempted::Unmatched { .. } => "unmatched",
            Attempted::Expired { .. } => "expired",
        }
    }

    /// Where it leaves the delivery.
    pub fn status(&self) -> DeliveryStatus {
        match self {
            Attempted::Delivered { .. }
            | Attempted::Duplicate { .. }
            | Attempted::Unmatched { .. } => DeliveryStatus::Delivered,
            Attempted::Retry { .. } => DeliveryStatus::Pending,
            Attempted::Dead { .. } | Attempted::Expired { .. } => DeliveryStatus::Dead,
        }
    }

    /// The delivery's `result` once it is finished; none while it waits for a retry.
    pub fn result(&self) -> Option<&'static str> {
        match self {
            Attempted::Delivered { .. } => Some("accepted"),
            Attempted::Duplicate { .. } => Some("duplicate"),
            Attempted::Unmatched { .. } => Some("unmatched"),
            Attempted::Dead { .. } => Some("rejected"),
            Attempted::Expired { .. } => Some("expired"),
            Attempted::Retry { .. } => None,
        }
    }

    pub fn code(&self) -> Option<u16> {
        match self {
            Attempted::Delivered { code }
            | Attempted::Retry { code, .. }
            | Attempted::Dead { code, .. }
            | Attempted::Duplicate { code }
            | Attempted::Unmatched { code, .. } => *code,
            Attempted::Expired { .. } => None,
        }
    }

    pub fn error(&self) -> Option<&str> {
        match self {
            Attempted::Delivered { .. } | Attempted::Duplicate { .. } => None,
            Attempted::Retry { error, .. } => Some(error),
            Attempted::Dead { reason, .. }
            | Attempted::Unmatched { reason, .. }
            | Attempted::Expired { reason } => Some(reason),
        }
    }
}

/// One attempt at a delivery, as recorded: the audit of what was tried and what answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttemptRecord {
    /// 1 for the first attempt.
    pub attempt: u32,
    pub at: Timestamp,
    /// `delivered`, `retry` or `dead`.
    pub outcome: String,
    pub code: Option<u16>,
    pub error: Option<String>,
    pub duration_ms: u64,
}

/// What [`Store::retry_delivery`](crate::Store::retry_delivery) did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "result")]
pub enum Retried {
    /// It is pending and due now.
    Pending { delivery: Box<Delivery> },
    /// It was delivered already: sending it again would deliver it twice, so it is left alone.
    AlreadyDelivered { delivered_at: Option<Timestamp> },
    /// The workspace has no delivery with this id.
    NotFound,
}

/// A task's id, unique in the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TaskId(pub i64);

impl std::fmt::Display for TaskId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// A task a playbook's `task` action asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewTask {
    pub playbook: String,
    pub account: String,
    pub title: String,
    pub owner: Option<String>,
    pub due_at: Option<Timestamp>,
    pub firing_key: Option<String>,
    /// When it is asked for: the task's creation, or its update.
    pub at: Timestamp,
}

/// Where a task stands at an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    Open,
    /// Open, but put off until `snoozed_until`; open again after it.
    Snoozed,
    Done,
}

/// A stored task, with its status as of the instant it was read for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Task {
    pub id: TaskId,
    pub playbook: String,
    pub account: String,
    pub title: String,
    pub owner: Option<String>,
    pub due_at: Option<Timestamp>,
    /// The firing that last created or updated it.
    pub firing_key: Option<String>,
    pub status: TaskStatus,
    pub snoozed_until: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub completed_at: Option<Timestamp>,
}

/// Which tasks to list, by id; every field set narrows the list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskFilter {
    pub status: Option<TaskStatus>,
    pub owner: Option<String>,
    pub account: Option<String>,
    pub limit: Option<usize>,
}

/// A change a person (or a playbook) makes to a task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskChange {
    /// Give it to this owner (none: unassign).
    Assign(Option<String>),
    /// Mark it done; done again keeps the first completion.
    Complete,
    /// Put it off until then; an earlier or past instant ends the snooze.
    Snooze { until: Timestamp },
}

/// A change of an account's owner or team: a handoff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwnerChange {
    pub account: String,
    pub team: String,
    pub owner: Option<String>,
    pub at: Timestamp,
    /// When the new owner must have acted (a first touch), if the route sets an SLA.
    pub sla_due: Option<Timestamp>,
    /// The playbook whose handoff made it; none for a change by hand.
    pub playbook: Option<String>,
}

/// An account's owner from one change on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwnerRecord {
    pub account: String,
    pub team: String,
    pub owner: Option<String>,
    pub since: Timestamp,
    pub sla_due: Option<Timestamp>,
    /// When the SLA was met; none while it is not (breached once `sla_due` is past).
    pub sla_met_at: Option<Timestamp>,
    pub playbook: Option<String>,
}
