//! The system of record: tenure's sequenced, append-only log and its API keys.
//!
//! Everything that comes in (Segment messages, CSV rows, webhooks) is appended here as an
//! [`Entry`]; all derived state is rebuilt by reading the log back in sequence. The [`Store`]
//! trait is what the rest of tenure sees; [`SqliteStore`] is the embedded default. A second
//! backend (PostgreSQL) must pass the same [`conformance`] suite.

mod actions;
mod backup;
pub mod conformance;
mod keys;
mod metrics;
mod sqlite;
mod sqlite_actions;

use std::collections::BTreeMap;

use tenure_core::{Entry, StoredEntry, Timestamp, WorkspaceId};

pub use actions::{
    AttemptRecord, Attempted, ClaimFor, Delivery, DeliveryFilter, DeliveryId, DeliveryStatus,
    DeliveryTally, FiringFilter, FiringRecord, Lease, NewDelivery, NewFiring, NewTask, OwnerChange,
    OwnerRecord, Retried, Task, TaskChange, TaskFilter, TaskId, TaskStatus,
};
pub use backup::{backup_dir, BackupSummary};
pub use keys::{ApiKey, KeyInfo, Revoked, Scope};
pub use sqlite::SqliteStore;

/// What went wrong talking to the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The write queue is full; the caller should retry shortly (HTTP 503 with Retry-After).
    #[error("the store is busy: too many writes are waiting; retry shortly")]
    Busy,
    /// The store has been closed or its writer has stopped.
    #[error("the store is not accepting writes: {0}")]
    Unavailable(String),
    /// The store cannot be opened (its directory, lock file or database file).
    #[error("{0}")]
    Open(String),
    /// The backend failed; the text says what failed and, where it can, what to do. Each
    /// backend turns its own errors into this, in its own module.
    #[error("{0}")]
    Database(String),
    #[error("the store holds a value that cannot be read: {0}")]
    Corrupt(String),
    #[error("{path}: the data directory's database was written by a newer tenure (schema version {found}, this build knows up to {known})")]
    TooNew {
        path: String,
        found: i64,
        known: i64,
    },
}

/// The result of one append: the entries that were new, with their sequence numbers, and how
/// many were already in the log (same natural key in the same workspace).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Appended {
    pub stored: Vec<StoredEntry>,
    pub duplicates: usize,
}

/// What [`Store::append_batches`] did: entries stored, and entries already in the log.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Loaded {
    pub stored: u64,
    pub duplicates: u64,
}

/// One page of the log, in sequence order: the entries that could be read back, and those that
/// could not.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct LogPage {
    pub entries: Vec<StoredEntry>,
    pub unreadable: Vec<Unreadable>,
}

impl LogPage {
    /// The last seq the page covers, readable or not; none for an empty page.
    pub fn last_seq(&self) -> Option<i64> {
        let readable = self.entries.last().map(|e| e.seq);
        readable.max(self.unreadable.last().map(|u| u.seq))
    }
}

/// A stored entry whose form cannot be read back: written by a version with a bug, or damaged.
/// It stays in the log untouched (a later version may read it) and is left out of derived state,
/// so one bad entry degrades that entry, never the store.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Unreadable {
    pub seq: i64,
    pub kind: String,
    pub received_at: Timestamp,
    /// Why it cannot be read.
    pub reason: String,
    /// The start of its stored form, for a bug report.
    pub stored: String,
}

/// How many entries of one kind arrived through one source.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct LogCount {
    /// A Segment type (`track`, `identify`, …) or `account`, `subscription`, `deal`, `spend`,
    /// `touchpoint`, `webhook`.
    pub kind: String,
    /// `http`, `import` or `webhook`.
    pub source: String,
    pub entries: u64,
}

/// One account's health on one day, as one configuration version scored it (SPEC §4: the
/// score history is kept per account per day, each score with the version that produced it).
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct HealthDay {
    pub account: String,
    /// The end of the day (its last millisecond, UTC).
    #[schema(value_type = String, format = DateTime)]
    pub day: Timestamp,
    /// The `[health]` configuration's version.
    pub version: String,
    /// The health score, 0–100.
    pub score: Option<f64>,
    /// `green`, `yellow` or `red`.
    pub band: Option<String>,
    /// The lifecycle stage.
    pub stage: Option<String>,
}

/// The log, the keys and the health history, as every backend offers them.
///
/// Calls block until done; an append returns only once its entries are durable.
///
/// # Tailing the log
///
/// Sequence numbers are unique and each append's are above every seq stable before it
/// ([`Store::stable_through`]), but seq order need not be commit order: with concurrent
/// writers (PostgreSQL's sequences are drawn before commit) an entry can become visible after
/// entries with higher seqs. A reader that keeps up with the log (the runtime's catch-up) relies
/// only on this:
///
/// - every entry with a seq at or below `stable_through()` is visible now, and no entry at or
///   below it can appear later;
/// - above it, what [`Store::read_log`] and [`Store::log_seqs`] return may have gaps that fill
///   in later.
///
/// So a tailer reads `stable_through()` first, reads after its position, and moves its position
/// no further than that value; entries above it are left for a later pass (or, if taken, their
/// seqs remembered so they are not taken twice). The conformance suite checks it under
/// concurrent appends.
pub trait Store: Send + Sync + std::fmt::Debug {
    /// Appends `entries` atomically and durably. An entry whose natural key is already in its
    /// workspace (or earlier in the same call) is skipped and counted as a duplicate.
    fn append(&self, entries: Vec<Entry>) -> Result<Appended, StoreError>;

    /// Adds the backend's own measures (commit latency, queue depth) to a server's Prometheus
    /// `registry`; a backend without any adds none.
    fn register_metrics(&self, _registry: &mut prometheus_client::registry::Registry) {}

    /// Appends each batch as [`Store::append`] does, in order, for a bulk load (`tenure
    /// import`): how many entries were stored and how many were duplicates. A backend may take
    /// the next batch while it writes one, so the caller's producing overlaps the writing; all
    /// are durable when this returns. On an error, a batch after the one that failed may have
    /// been stored too: loading the same batches again completes it.
    ///
    /// With `stored`, each batch's new entries, with their seqs, are handed to it once they are
    /// durable, batch after batch in seq order (so a caller can build derived state as the load
    /// goes); without it a backend need not keep the entries after preparing their rows.
    fn append_batches(
        &self,
        batches: &mut dyn Iterator<Item = Vec<Entry>>,
        mut stored: Option<&mut dyn FnMut(Vec<StoredEntry>)>,
    ) -> Result<Loaded, StoreError> {
        let mut loaded = Loaded::default();
        for batch in batches {
            let appended = self.append(batch)?;
            loaded.stored += appended.stored.len() as u64;
            loaded.duplicates += appended.duplicates as u64;
            if let Some(stored) = stored.as_mut() {
                stored(appended.stored);
            }
        }
        Ok(loaded)
    }

    /// Up to `limit` entries of `workspace` with `seq > after`, in sequence order; an entry that
    /// cannot be read back is in [`LogPage::unreadable`] rather than an error, so that it
    /// cannot stop a replay. Complete through [`Store::stable_through`] as read before the
    /// call; above it, entries may still appear between those returned (see the trait note).
    fn read_log(
        &self,
        workspace: &WorkspaceId,
        after: i64,
        limit: usize,
    ) -> Result<LogPage, StoreError>;

    /// The sequence numbers of up to `limit` entries of `workspace` with `seq > after`, in
    /// order: a cheap way to see what the log holds without reading the entries. Complete
    /// through [`Store::stable_through`] as [`Store::read_log`] is.
    fn log_seqs(
        &self,
        workspace: &WorkspaceId,
        after: i64,
        limit: usize,
    ) -> Result<Vec<i64>, StoreError>;

    /// The seq through which the log is settled, in every workspace: every entry at or below
    /// it is visible, and none at or below it can appear later. It never goes back, and once
    /// no append is in flight it is at or above every acknowledged entry's seq. A backend
    /// whose appends commit in seq order (SQLite's single writer) answers its highest seq.
    fn stable_through(&self) -> Result<i64, StoreError>;

    /// Stops accepting appends (later ones fail with [`StoreError::Unavailable`]), lets those
    /// already queued finish, and returns once they have; reads go on working. A server calls
    /// it at shutdown, after its last writer stopped.
    fn close(&self);

    /// Every workspace that has entries or keys.
    fn workspaces(&self) -> Result<Vec<WorkspaceId>, StoreError>;

    /// Entries by kind and source, sorted by kind then source.
    fn log_counts(&self, workspace: &WorkspaceId) -> Result<Vec<LogCount>, StoreError>;

    /// Creates a key and returns its secret; only a hash of it is kept.
    fn create_key(&self, workspace: &WorkspaceId, scope: Scope) -> Result<String, StoreError>;

    /// The key with this secret, if there is one and it is not revoked.
    fn find_key(&self, secret: &str) -> Result<Option<ApiKey>, StoreError>;

    /// The workspace's keys, revoked ones included, oldest first.
    fn list_keys(&self, workspace: &WorkspaceId) -> Result<Vec<KeyInfo>, StoreError>;

    /// Revokes the workspace's key with this secret or listed prefix.
    fn revoke_key(&self, workspace: &WorkspaceId, key: &str) -> Result<Revoked, StoreError>;

    /// Stores days of health history, durably; a day already stored for the same account and
    /// version is replaced.
    fn put_health_days(
        &self,
        workspace: &WorkspaceId,
        days: &[HealthDay],
    ) -> Result<(), StoreError>;

    /// The account's stored health history, by day, then version.
    fn health_days(
        &self,
        workspace: &WorkspaceId,
        account: &str,
    ) -> Result<Vec<HealthDay>, StoreError>;

    /// For every account with history under `version`, its latest stored day.
    fn health_days_through(
        &self,
        workspace: &WorkspaceId,
        version: &str,
    ) -> Result<BTreeMap<String, Timestamp>, StoreError>;

    // Playbooks (issue 17): the durable side of acting. Each call is one transaction, durable
    // when it returns; instants are the caller's, never read by the store.

    /// Records a firing and its deliveries (the outbox rows) in one transaction, only if no
    /// firing with the same key is in the workspace: true if recorded, false (and nothing
    /// stored) if the key was there. This is what makes a firing happen once however many
    /// processes, restarts or replays decide it. Two deliveries with one step are an error.
    fn record_firing(
        &self,
        workspace: &WorkspaceId,
        firing: &NewFiring,
        deliveries: &[NewDelivery],
    ) -> Result<bool, StoreError> {
        let recorded = self.record_firings(workspace, &[(firing.clone(), deliveries.to_vec())])?;
        Ok(recorded.first().copied().unwrap_or(false))
    }

    /// [`record_firing`](Store::record_firing) of each of `firings`, in order, in one
    /// transaction (one commit for all: what a stream of changes decides together); whether
    /// each was recorded. An error records none of them.
    fn record_firings(
        &self,
        workspace: &WorkspaceId,
        firings: &[(NewFiring, Vec<NewDelivery>)],
    ) -> Result<Vec<bool>, StoreError>;

    /// The workspace's firings, newest first.
    fn firings(
        &self,
        workspace: &WorkspaceId,
        filter: &FiringFilter,
    ) -> Result<Vec<FiringRecord>, StoreError>;

    /// Leases to `owner` until `now + lease_ms` up to `limit` pending deliveries of any
    /// workspace (of the destinations `whose` says) that are due (`next_attempt_at <= now`) and
    /// not leased (or whose lease ended), earliest due first, and returns them. Atomic: two
    /// claimers, in one process or several, never hold the same delivery at once. `owner` must
    /// be unique to the claiming process.
    fn claim_deliveries(
        &self,
        owner: &str,
        now: Timestamp,
        lease_ms: i64,
        limit: usize,
        whose: ClaimFor<'_>,
    ) -> Result<Vec<Delivery>, StoreError>;

    /// Records an attempt at a delivery `owner` claimed, and moves it: delivered, pending again
    /// from the retry's instant, or dead. False, with nothing changed, if `owner` no longer
    /// holds it (its lease ended and another claimed it, or it is no longer pending).
    fn finish_delivery(
        &self,
        id: DeliveryId,
        owner: &str,
        at: Timestamp,
        attempt: &Attempted,
        duration_ms: u64,
    ) -> Result<bool, StoreError>;

    /// The workspace's deliveries, newest first.
    fn deliveries(
        &self,
        workspace: &WorkspaceId,
        filter: &DeliveryFilter,
    ) -> Result<Vec<Delivery>, StoreError>;

    /// The workspace's deliveries of the playbooks whose names start with `prefix`, counted by
    /// playbook, destination, status, result and (for dead ones) reason: what the conversions'
    /// status shows without reading every payload.
    fn delivery_tally(
        &self,
        workspace: &WorkspaceId,
        prefix: &str,
    ) -> Result<Vec<DeliveryTally>, StoreError>;

    /// Every attempt at the workspace's delivery `id`, first first; empty if there is none.
    fn delivery_attempts(
        &self,
        workspace: &WorkspaceId,
        id: DeliveryId,
    ) -> Result<Vec<AttemptRecord>, StoreError>;

    /// Makes a dead or pending delivery pending and due at `now` (a replay from the dead-letter
    /// list, or a retry sooner than planned); a delivered one is refused. A lease held on it is
    /// kept, so an attempt under way is not doubled.
    fn retry_delivery(
        &self,
        workspace: &WorkspaceId,
        id: DeliveryId,
        now: Timestamp,
    ) -> Result<Retried, StoreError>;

    /// Creates a task, or updates the open one of the same playbook and account (title, due,
    /// firing; its owner only if it has none, so an assignment by hand stands): its id, and
    /// whether it was created.
    fn upsert_task(
        &self,
        workspace: &WorkspaceId,
        task: &NewTask,
    ) -> Result<(TaskId, bool), StoreError>;

    /// The workspace's tasks, by id, each with its status as of `now` (snoozed until its
    /// snooze ends, then open).
    fn tasks(
        &self,
        workspace: &WorkspaceId,
        filter: &TaskFilter,
        now: Timestamp,
    ) -> Result<Vec<Task>, StoreError>;

    /// Applies `change` at `at` and returns the task as it then is; none if the workspace has
    /// no task `id`. Snoozing a done task changes nothing.
    fn update_task(
        &self,
        workspace: &WorkspaceId,
        id: TaskId,
        change: &TaskChange,
        at: Timestamp,
    ) -> Result<Option<Task>, StoreError>;

    /// Records a change of an account's owner, kept beside every earlier one.
    fn set_owner(&self, workspace: &WorkspaceId, change: &OwnerChange) -> Result<(), StoreError>;

    /// The current owner of each account (of `account` only, if given): its latest change, by
    /// instant, then order of recording.
    fn owners(
        &self,
        workspace: &WorkspaceId,
        account: Option<&str>,
    ) -> Result<Vec<OwnerRecord>, StoreError>;

    /// Every change of `account`'s owner, oldest first.
    fn owner_history(
        &self,
        workspace: &WorkspaceId,
        account: &str,
    ) -> Result<Vec<OwnerRecord>, StoreError>;

    /// Marks the SLA of `account`'s current owner met at `at`: true if it had one not yet met.
    fn meet_sla(
        &self,
        workspace: &WorkspaceId,
        account: &str,
        at: Timestamp,
    ) -> Result<bool, StoreError>;

    /// The owner changes whose SLA ended in `(since, now]` unmet (not met, or met after its
    /// end), and that no later change of the account's owner superseded before the end (a
    /// handoff moved on in time has no SLA left to breach). Oldest end first, then by account.
    fn sla_breaches(
        &self,
        workspace: &WorkspaceId,
        since: Timestamp,
        now: Timestamp,
    ) -> Result<Vec<OwnerRecord>, StoreError>;

    /// Takes or renews the lease `name` for `owner` until `now + ms`: true if it was free,
    /// ended, or already `owner`'s; false if another holds it. Atomic, so of several servers on
    /// one store exactly one runs a singleton (the playbooks' scheduler) at a time; the holder
    /// renews well before the end and stops if a renewal fails.
    fn take_lease(
        &self,
        name: &str,
        owner: &str,
        now: Timestamp,
        ms: i64,
    ) -> Result<bool, StoreError>;

    /// Gives up the lease `name` if `owner` holds it, so another may take it at once (a clean
    /// shutdown): true if it was held.
    fn release_lease(&self, name: &str, owner: &str) -> Result<bool, StoreError>;
}
