//! A copy of the embedded store taken while it is in use: SQLite's online backup.
//!
//! The copy is one read transaction of the source, so it holds exactly the entries committed
//! before it began (every one a server has acknowledged by then) and nothing half-written,
//! while the server goes on appending: in WAL mode a reader never blocks the writer. It is
//! written beside its destination and renamed into place once checked, so a directory never
//! holds half a backup under the name a restore would use.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::backup::{Backup, StepResult};
use rusqlite::{Connection, OpenFlags};

use crate::StoreError;

/// The database file's name in a data directory.
pub(crate) const DATABASE_FILE: &str = "tenure.db";

/// What a backup holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupSummary {
    /// The database file written: `<dest>/tenure.db`.
    pub path: PathBuf,
    /// Entries in the log of the copy.
    pub entries: u64,
    /// The last sequence number the copy holds (0 for an empty log).
    pub last_seq: i64,
    /// Size of the file written.
    pub bytes: u64,
}

/// Copies the store in data directory `source` into directory `dest` (created if missing) as
/// `dest/tenure.db`, so that `dest` is itself a data directory a server can be started on.
/// Refuses a `dest` that already holds a store: a backup never overwrites one.
pub fn backup_dir(source: &Path, dest: &Path) -> Result<BackupSummary, StoreError> {
    let from = source.join(DATABASE_FILE);
    if !from.is_file() {
        return Err(StoreError::Open(format!(
            "there is no store to back up ({} does not exist)",
            from.display()
        )));
    }
    let to = dest.join(DATABASE_FILE);
    if to.exists() {
        return Err(StoreError::Open(format!(
            "{} already holds a store; back up into a new or empty directory",
            dest.display()
        )));
    }
    std::fs::create_dir_all(dest)
        .map_err(|e| StoreError::Open(format!("cannot create {}: {e}", dest.display())))?;
    let partial = dest.join(format!("{DATABASE_FILE}.partial"));
    let _ = std::fs::remove_file(&partial);
    let result = copy(&from, &partial).and_then(|()| check(&partial));
    let summary = match result {
        Ok(summary) => summary,
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            return Err(e);
        }
    };
    let io = |what: &str, e: std::io::Error| StoreError::Database(format!("{what}: {e}"));
    std::fs::File::open(&partial)
        .and_then(|f| f.sync_all())
        .map_err(|e| io("syncing the backup", e))?;
    std::fs::rename(&partial, &to).map_err(|e| io("renaming the backup into place", e))?;
    // The rename is durable once the directory is synced.
    std::fs::File::open(dest)
        .and_then(|d| d.sync_all())
        .map_err(|e| io("syncing the backup's directory", e))?;
    Ok(BackupSummary {
        path: to,
        ..summary
    })
}

/// SQLite's online backup of `from` into a new file `to`, in one step: one read transaction,
/// so a writer committing meanwhile neither restarts the copy nor changes what it holds.
fn copy(from: &Path, to: &Path) -> Result<(), StoreError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let source = Connection::open_with_flags(from, flags)?;
    source.busy_timeout(BUSY_TIMEOUT)?;
    create_private(to)?;
    let mut target = Connection::open(to)?;
    let backup = Backup::new(&source, &mut target)?;
    loop {
        // -1: every page in this step. Busy or Locked: another connection holds a lock the
        // first read needs for a moment (a checkpoint); wait and ask again.
        if backup.step(-1)? == StepResult::Done {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The copy is whole (SQLite's `quick_check`), and what it holds.
fn check(path: &Path) -> Result<BackupSummary, StoreError> {
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let verdict: String = conn.query_row("PRAGMA quick_check", [], |r| r.get(0))?;
    if verdict != "ok" {
        return Err(StoreError::Corrupt(format!(
            "the backup failed SQLite's check ({verdict}); the source may be damaged: run \
             `sqlite3 tenure.db 'PRAGMA integrity_check'` on it"
        )));
    }
    let last_seq: i64 =
        conn.query_row("SELECT COALESCE(MAX(seq), 0) FROM log", [], |r| r.get(0))?;
    // The counts table (schema version 4) answers at once; a store older than it is counted.
    let counted: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE name = 'log_counts')",
        [],
        |r| r.get(0),
    )?;
    let count = match counted {
        true => "SELECT COALESCE(SUM(entries), 0) FROM log_counts",
        false => "SELECT COUNT(*) FROM log",
    };
    let entries: i64 = conn.query_row(count, [], |r| r.get(0))?;
    let bytes = std::fs::metadata(path)
        .map_err(|e| StoreError::Database(format!("reading the backup's size: {e}")))?
        .len();
    Ok(BackupSummary {
        path: path.to_owned(),
        entries: entries as u64,
        last_seq,
        bytes,
    })
}

/// Creates the copy's file empty (an empty file is an empty SQLite database) and readable by
/// its owner only: it holds every message and the API keys' hashes.
fn create_private(path: &Path) -> Result<(), StoreError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
        .open(path)
        .map(drop)
        .map_err(|e| StoreError::Open(format!("cannot create {}: {e}", path.display())))
}

const BUSY_TIMEOUT: Duration = Duration::from_secs(10);
