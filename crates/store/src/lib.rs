//! The system of record: tenure's sequenced, append-only log and its API keys.
//!
//! Everything that comes in (Segment messages, CSV rows, webhooks) is appended here as an
//! [`Entry`]; all derived state is rebuilt by reading the log back in sequence. The [`Store`]
//! trait is what the rest of tenure sees; [`SqliteStore`] is the embedded default. A second
//! backend (PostgreSQL) must pass the same [`conformance`] suite.

pub mod conformance;
mod keys;
mod sqlite;

use std::collections::BTreeMap;

use tenure_core::{Entry, StoredEntry, Timestamp, WorkspaceId};

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
    /// SQLite failed; the text says what failed and, where it can, what to do.
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

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Database(describe_sqlite(&e))
    }
}

/// SQLite's message once (its error type repeats it through its source), with what to do for
/// the failures an operator can fix.
fn describe_sqlite(e: &rusqlite::Error) -> String {
    use rusqlite::ErrorCode;
    let rusqlite::Error::SqliteFailure(failure, message) = e else {
        return format!("database error: {e}");
    };
    let detail = message.clone().unwrap_or_else(|| failure.to_string());
    let hint = match failure.code {
        ErrorCode::DiskFull => "the disk holding the data directory is full: free space, then retry",
        ErrorCode::ReadOnly => "the database cannot be written (read-only file, directory or disk)",
        ErrorCode::CannotOpen | ErrorCode::PermissionDenied => {
            "the database file cannot be opened: check that the data directory exists and this user may read and write it"
        }
        ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => {
            "another process holds the database locked; retry shortly"
        }
        ErrorCode::NotADatabase => "the file is not a tenure database",
        ErrorCode::DatabaseCorrupt => "the database file is damaged: restore it from a backup",
        ErrorCode::SystemIoFailure => "the disk failed to read or write the database",
        _ => return format!("database error: {detail}"),
    };
    format!("{hint} ({detail})")
}

/// The result of one append: the entries that were new, with their sequence numbers, and how
/// many were already in the log (same natural key in the same workspace).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Appended {
    pub stored: Vec<StoredEntry>,
    pub duplicates: usize,
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
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LogCount {
    pub kind: String,
    pub source: String,
    pub entries: u64,
}

/// One account's health on one day, as one configuration version scored it (SPEC §4: the
/// score history is kept per account per day, each score with the version that produced it).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct HealthDay {
    pub account: String,
    /// The end of the day (its last millisecond, UTC).
    pub day: Timestamp,
    /// The `[health]` configuration's version.
    pub version: String,
    pub score: Option<f64>,
    pub band: Option<String>,
    pub stage: Option<String>,
}

/// The log, the keys and the health history, as every backend offers them.
///
/// Calls block until done; an append returns only once its entries are durable.
pub trait Store: Send + Sync + std::fmt::Debug {
    /// Appends `entries` atomically and durably. An entry whose natural key is already in its
    /// workspace (or earlier in the same call) is skipped and counted as a duplicate.
    fn append(&self, entries: Vec<Entry>) -> Result<Appended, StoreError>;

    /// Up to `limit` entries of `workspace` with `seq > after`, in sequence order; an entry that
    /// cannot be read back is in [`LogPage::unreadable`] rather than an error, so that it
    /// cannot stop a replay.
    fn read_log(
        &self,
        workspace: &WorkspaceId,
        after: i64,
        limit: usize,
    ) -> Result<LogPage, StoreError>;

    /// The sequence numbers of up to `limit` entries of `workspace` with `seq > after`, in
    /// order: a cheap way to see what the log holds without reading the entries.
    fn log_seqs(
        &self,
        workspace: &WorkspaceId,
        after: i64,
        limit: usize,
    ) -> Result<Vec<i64>, StoreError>;

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
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 12: "database error: database or disk is full: database or disk is full: Error
    /// code 13: …" at start-up on a full disk. Now: what to do, then SQLite's words once.
    #[test]
    fn sqlite_failures_say_what_to_do_once() {
        let full = rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_FULL),
            Some("database or disk is full".to_owned()),
        );
        let text = StoreError::from(full).to_string();
        assert_eq!(
            text,
            "the disk holding the data directory is full: free space, then retry (database or disk is full)"
        );
        assert!(std::error::Error::source(&StoreError::Database(text)).is_none());
        let other = rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CONSTRAINT),
            None,
        );
        let text = StoreError::from(other).to_string();
        assert!(text.starts_with("database error: "), "{text}");
        assert_eq!(text.matches("constraint").count(), 1, "{text}");
    }
}
