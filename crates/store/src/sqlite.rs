//! The embedded store: one SQLite database file in WAL mode.
//!
//! Appends go through a single writer thread that commits whatever has queued up while the
//! previous commit was syncing, in one transaction ("group commit"): every caller is answered
//! only after the fsync that made its entries durable, yet a busy server pays one fsync per
//! group rather than per message.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::Mutex;
use std::thread::JoinHandle;

use rayon::prelude::*;
use rusqlite::{params, Connection, OptionalExtension};
use tenure_core::{Entry, EntryBody, Source, StoredEntry, Timestamp, WorkspaceId};

use crate::backup::DATABASE_FILE;
use crate::keys::{hash_secret, new_secret, KEY_PREFIX_CHARS};
use crate::metrics::WriterMetrics;
use crate::sqlite_actions as actions;
use crate::{
    ApiKey, Appended, AttemptRecord, Attempted, ClaimFor, Delivery, DeliveryFilter, DeliveryId,
    DeliveryTally, FiringFilter, FiringRecord, HealthDay, KeyInfo, Loaded, LogCount, LogPage,
    NewDelivery, NewFiring, NewTask, OwnerChange, OwnerRecord, Retried, Revoked, Scope, Store,
    StoreError, Task, TaskChange, TaskFilter, TaskId, Unreadable,
};

/// Versioned schema: migration `i` moves the database from `user_version` i to i + 1.
const MIGRATIONS: &[&str] = &[
    // 1: the log and the keys
    "CREATE TABLE log (
        seq         INTEGER PRIMARY KEY AUTOINCREMENT,
        workspace   TEXT    NOT NULL,
        natural_key TEXT    NOT NULL,
        kind        TEXT    NOT NULL,
        source      TEXT    NOT NULL,
        received_at INTEGER NOT NULL,
        body        TEXT    NOT NULL,
        UNIQUE (workspace, natural_key)
    );
    CREATE INDEX log_by_workspace ON log (workspace, seq);
    CREATE TABLE api_keys (
        key_hash   TEXT PRIMARY KEY,
        workspace  TEXT    NOT NULL,
        scope      TEXT    NOT NULL,
        prefix     TEXT    NOT NULL,
        created_at INTEGER NOT NULL
    );",
    // 2: the daily health history
    "CREATE TABLE health_history (
        workspace TEXT    NOT NULL,
        account   TEXT    NOT NULL,
        version   TEXT    NOT NULL,
        day       INTEGER NOT NULL,
        score     REAL,
        band      TEXT,
        stage     TEXT,
        PRIMARY KEY (workspace, account, version, day)
    ) WITHOUT ROWID;
    -- where each account's history under a version ends, without scanning the others
    CREATE INDEX health_history_by_version ON health_history (workspace, version, account, day);",
    // 3: keys can be revoked; a revoked key is kept (listed with when) but finds nothing
    "ALTER TABLE api_keys ADD COLUMN revoked_at INTEGER;",
    // 4: the log's entries counted by kind and source as they are appended, so `status` reads
    // a few rows rather than every entry (6 s at 10.6 million); counted once here for a log
    // written before
    "CREATE TABLE log_counts (
        workspace TEXT    NOT NULL,
        kind      TEXT    NOT NULL,
        source    TEXT    NOT NULL,
        entries   INTEGER NOT NULL,
        PRIMARY KEY (workspace, kind, source)
    ) WITHOUT ROWID;
    INSERT INTO log_counts (workspace, kind, source, entries)
        SELECT workspace, kind, source, COUNT(*) FROM log GROUP BY workspace, kind, source;",
    // 5: playbooks (issue 17): firings once per key, the delivery outbox and its attempts,
    // tasks, account owners, leases. Times are milliseconds since the epoch, as elsewhere.
    "CREATE TABLE firings (
        workspace TEXT    NOT NULL,
        key       TEXT    NOT NULL,
        playbook  TEXT    NOT NULL,
        version   TEXT    NOT NULL,
        account   TEXT    NOT NULL,
        period    TEXT    NOT NULL,
        fired_at  INTEGER NOT NULL,
        cause     TEXT    NOT NULL,
        -- exactly once: the first insert of a key wins, whoever decided it
        PRIMARY KEY (workspace, key)
    );
    CREATE INDEX firings_by_time ON firings (workspace, fired_at);
    CREATE INDEX firings_by_playbook ON firings (workspace, playbook, fired_at);
    CREATE INDEX firings_by_account ON firings (workspace, account, fired_at);
    CREATE TABLE deliveries (
        id              INTEGER PRIMARY KEY AUTOINCREMENT,
        workspace       TEXT    NOT NULL,
        firing_key      TEXT    NOT NULL,
        playbook        TEXT    NOT NULL,
        account         TEXT    NOT NULL,
        step            INTEGER NOT NULL,
        destination     TEXT    NOT NULL,
        kind            TEXT    NOT NULL,
        payload         TEXT    NOT NULL,
        due_at          INTEGER NOT NULL,
        status          TEXT    NOT NULL CHECK (status IN ('pending', 'delivered', 'dead')),
        attempts        INTEGER NOT NULL DEFAULT 0,
        next_attempt_at INTEGER NOT NULL,
        lease_owner     TEXT,
        lease_until     INTEGER,
        last_code       INTEGER,
        last_error      TEXT,
        created_at      INTEGER NOT NULL,
        delivered_at    INTEGER,
        UNIQUE (workspace, firing_key, step)
    );
    -- what a claimer scans: only the pending rows, earliest due first
    CREATE INDEX deliveries_due ON deliveries (next_attempt_at, id) WHERE status = 'pending';
    CREATE INDEX deliveries_by_status ON deliveries (workspace, status, id);
    CREATE TABLE delivery_attempts (
        delivery    INTEGER NOT NULL REFERENCES deliveries (id),
        attempt     INTEGER NOT NULL,
        at          INTEGER NOT NULL,
        outcome     TEXT    NOT NULL,
        code        INTEGER,
        error       TEXT,
        duration_ms INTEGER NOT NULL,
        PRIMARY KEY (delivery, attempt)
    ) WITHOUT ROWID;
    CREATE TABLE tasks (
        id            INTEGER PRIMARY KEY AUTOINCREMENT,
        workspace     TEXT    NOT NULL,
        playbook      TEXT    NOT NULL,
        account       TEXT    NOT NULL,
        title         TEXT    NOT NULL,
        owner         TEXT,
        due_at        INTEGER,
        firing_key    TEXT,
        status        TEXT    NOT NULL CHECK (status IN ('open', 'done')),
        snoozed_until INTEGER,
        created_at    INTEGER NOT NULL,
        updated_at    INTEGER NOT NULL,
        completed_at  INTEGER
    );
    -- one open task per playbook and account: a later firing updates it
    CREATE UNIQUE INDEX tasks_one_open ON tasks (workspace, playbook, account)
        WHERE status = 'open';
    CREATE INDEX tasks_by_workspace ON tasks (workspace, id);
    CREATE TABLE account_owners (
        id         INTEGER PRIMARY KEY AUTOINCREMENT,
        workspace  TEXT    NOT NULL,
        account    TEXT    NOT NULL,
        team       TEXT    NOT NULL,
        owner      TEXT,
        at         INTEGER NOT NULL,
        sla_due    INTEGER,
        sla_met_at INTEGER,
        playbook   TEXT
    );
    CREATE INDEX account_owners_by_account ON account_owners (workspace, account, at, id);
    CREATE TABLE leases (
        name  TEXT    PRIMARY KEY,
        owner TEXT    NOT NULL,
        until INTEGER NOT NULL
    ) WITHOUT ROWID;",
    // 6: the audit's reads by account and by playbook (an account's timeline, a playbook's
    // deliveries) and the minute's look for SLAs ended unmet use an index instead of reading
    // every row of the workspace.
    "CREATE INDEX deliveries_by_account ON deliveries (workspace, account, id);
    CREATE INDEX deliveries_by_playbook ON deliveries (workspace, playbook, id);
    CREATE INDEX tasks_by_account ON tasks (workspace, account, id);
    CREATE INDEX account_owners_by_sla_due ON account_owners (workspace, sla_due)
        WHERE sla_due IS NOT NULL;",
    // 7: what a destination made of a finished delivery, finer than its status (issue 18): an
    // ad platform's duplicate or unmatched answer is delivered, an expired conversion is dead.
    "ALTER TABLE deliveries ADD COLUMN result TEXT;",
];

/// Health history rows per transaction: the history shares SQLite's one write lock with the
/// log, so it takes it in short turns and an append waits at most one of them.
const HISTORY_ROWS_PER_COMMIT: usize = 2_000;

/// Requests waiting for the writer beyond this many are refused with [`StoreError::Busy`].
const WRITE_QUEUE: usize = 512;
/// At most this many entries go into one commit, so one group's latency stays bounded.
const MAX_GROUP_ENTRIES: usize = 20_000;

/// For each row of a request, its new seq, or `None` when its key was already stored.
type Reply = SyncSender<Result<Vec<Option<i64>>, StoreError>>;

/// An entry ready for the database, prepared on the caller's thread so that the single writer
/// thread does nothing but insert.
struct Row {
    workspace: String,
    key: String,
    kind: &'static str,
    source: &'static str,
    received_at: i64,
    body: String,
}

impl Row {
    fn new(entry: &Entry) -> Self {
        Self {
            workspace: entry.workspace.as_str().to_owned(),
            key: entry.natural_key(),
            kind: entry.kind(),
            source: entry.source.as_str(),
            received_at: entry.received_at.millis(),
            body: serde_json::to_string(&entry.body).expect("entries serialize"),
        }
    }
}

/// Calls with at least this many entries prepare their rows in parallel.
const PARALLEL_PREPARE: usize = 1_024;
/// Rows prepared per parallel task.
const PREPARE_CHUNK: usize = 256;

struct WriteRequest {
    rows: Vec<Row>,
    reply: Reply,
}

/// The embedded default store. Cheap to share behind an `Arc`.
pub struct SqliteStore {
    path: PathBuf,
    queue: Mutex<Option<SyncSender<WriteRequest>>>,
    writer: Mutex<Option<JoinHandle<()>>>,
    reader: Mutex<Connection>,
    /// The health history's own connection, so writing it never holds the reader.
    history: Mutex<Connection>,
    /// The playbooks' tables' own connection (`sqlite_actions`), so a claim or a firing never
    /// waits behind a page of the log being read.
    actions: Mutex<Connection>,
    metrics: WriterMetrics,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Whether `dir` holds a store, for the commands that only read one: they refuse a
    /// directory without it rather than create an empty store there and report zeros.
    pub fn exists_in(dir: &Path) -> bool {
        dir.join(DATABASE_FILE).is_file()
    }

    /// Opens (creating if needed) `tenure.db` in `dir` and brings its schema up to date.
    pub fn open_dir(dir: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir)
            .map_err(|e| StoreError::Open(format!("cannot create the directory: {e}")))?;
        Self::open(&dir.join(DATABASE_FILE))
    }

    /// Opens `tenure.db` in `dir` for reading only, for commands that only read (`status`,
    /// `report`) where the files or their disk cannot be written: a copy on read-only media, a
    /// store owned by another user. Appends fail with [`StoreError::Unavailable`]; the schema
    /// must already be this build's.
    pub fn open_dir_read_only(dir: &Path) -> Result<Self, StoreError> {
        let path = dir.join(DATABASE_FILE);
        if !path.exists() {
            return Err(StoreError::Open(format!(
                "there is no store ({} does not exist)",
                path.display()
            )));
        }
        let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY
            | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX
            | rusqlite::OpenFlags::SQLITE_OPEN_URI;
        let uri = format!(
            "file:{}",
            path.display()
                .to_string()
                .replace('%', "%25")
                .replace('?', "%3f")
                .replace('#', "%23")
        );
        // A WAL database opens read-only when its -wal and -shm files exist or can be made (a
        // server owned by another user is writing it); on read-only media where neither holds,
        // only as immutable, which is right there since nothing can change it.
        let immutable = Connection::open_with_flags(&uri, flags)
            .and_then(|c| c.pragma_query_value(None, "user_version", |r| r.get::<_, i64>(0)))
            .is_err();
        let open = || -> Result<Connection, StoreError> {
            let conn = match immutable {
                true => Connection::open_with_flags(format!("{uri}?immutable=1"), flags)?,
                false => Connection::open_with_flags(&uri, flags)?,
            };
            conn.busy_timeout(BUSY_TIMEOUT)?;
            Ok(conn)
        };
        let reader = open()?;
        let version: i64 = reader.pragma_query_value(None, "user_version", |row| row.get(0))?;
        let known = not_newer(&path, version)?;
        if version < known {
            return Err(StoreError::Open(format!(
                "the store was written by an older tenure (schema version {version}, this build \
                 needs {known}) and is read-only here, so it cannot be upgraded: open it once \
                 where it can be written"
            )));
        }
        let history = open()?;
        let actions = open()?;
        Ok(Self {
            path,
            queue: Mutex::new(None),
            writer: Mutex::new(None),
            reader: Mutex::new(reader),
            history: Mutex::new(history),
            actions: Mutex::new(actions),
            metrics: WriterMetrics::default(),
        })
    }

    /// Opens (creating if needed) the database file at `path`.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let (writer_conn, reader, history, actions) = {
            // Processes opening the same file take turns (see `OpeningLock`).
            let _turn = OpeningLock::take(path)?;
            let mut writer_conn = Connection::open(path)?;
            configure(&writer_conn, WRITER_CACHE_KIB)?;
            migrate(&mut writer_conn, path)?;
            let reader = Connection::open(path)?;
            configure(&reader, READER_CACHE_KIB)?;
            let history = Connection::open(path)?;
            configure(&history, READER_CACHE_KIB)?;
            let actions = Connection::open(path)?;
            configure(&actions, READER_CACHE_KIB)?;
            (writer_conn, reader, history, actions)
        };

        let (tx, rx) = mpsc::sync_channel(WRITE_QUEUE);
        let metrics = WriterMetrics::default();
        let writer_metrics = metrics.clone();
        let handle = std::thread::Builder::new()
            .name("tenure-store-writer".into())
            .spawn(move || write_loop(writer_conn, rx, writer_metrics))
            .map_err(|e| StoreError::Open(format!("cannot start the writer: {e}")))?;
        Ok(Self {
            path: path.to_owned(),
            queue: Mutex::new(Some(tx)),
            writer: Mutex::new(Some(handle)),
            reader: Mutex::new(reader),
            history: Mutex::new(history),
            actions: Mutex::new(actions),
            metrics,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Stops accepting writes, lets queued writes finish, and waits for the writer.
    pub fn close(&self) {
        self.queue.lock().expect("queue lock").take();
        if let Some(handle) = self.writer.lock().expect("writer lock").take() {
            let _ = handle.join();
        }
    }
}

impl Drop for SqliteStore {
    fn drop(&mut self) {
        self.close();
    }
}

/// An exclusive lock on `<database>-open` held while a process opens the database.
///
/// Creating a database, switching it to WAL and migrating its schema each take SQLite locks
/// for which some steps fail at once with "database is locked" instead of waiting, so several
/// processes opening a new data directory together (a server, an import and a status started
/// by one script) could fail. Taking turns on a lock file makes the first open safe whatever
/// the timing; once open, SQLite's own locking serves.
struct OpeningLock(std::fs::File);

impl OpeningLock {
    fn take(database: &Path) -> Result<Self, StoreError> {
        let mut name = database.as_os_str().to_owned();
        name.push("-open");
        let lock_path = PathBuf::from(name);
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| StoreError::Open(format!("cannot open {}: {e}", lock_path.display())))?;
        file.lock()
            .map_err(|e| StoreError::Open(format!("cannot lock {}: {e}", lock_path.display())))?;
        Ok(Self(file))
    }
}

impl Drop for OpeningLock {
    fn drop(&mut self) {
        let _ = self.0.unlock();
    }
}

/// Page cache of the connection that appends: it keeps the hot ends of the log's indexes in
/// memory.
const WRITER_CACHE_KIB: i64 = 65_536;
/// Page cache of the connections that read the log (mostly in order, which the operating
/// system's cache serves as well) and write the daily health history (a day's rows at a
/// time): a server holds its cache for good, and at 64 MiB the history's alone was 68 MB of a
/// 100,000-account server's heap (`BENCHMARKS.md`, "Issue 14: third pass").
const READER_CACHE_KIB: i64 = 8_192;

fn configure(conn: &Connection, cache_kib: i64) -> Result<(), StoreError> {
    // First, so that every pragma below waits for another process opening the same file
    // (switching to WAL takes a lock) instead of failing with "database is locked".
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // Log rows are large (a message is ~0.5-1 KB of JSON): bigger pages mean fewer overflow
    // pages and splits. Only takes effect on a new database file.
    conn.pragma_update(None, "page_size", 16_384)?;
    // WAL lets reports read while the writer appends; synchronous=FULL makes every commit
    // durable before it returns, which is what an acknowledgement promises.
    conn.pragma_update(None, "journal_mode", "WAL")?;
    // A negative size is in KiB.
    conn.pragma_update(None, "cache_size", -cache_kib)?;
    // Checkpoint every 4 MiB of WAL (256 pages of 16 KiB): a checkpoint runs inside the commit
    // that crosses the mark, so small ones keep tail latency low.
    conn.pragma_update(None, "wal_autocheckpoint", 256)?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    Ok(())
}

/// How long a connection waits for another's lock before giving up.
const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// The schema version this build knows, or an error if the database at `path`, at version
/// `found`, was written by a newer build.
fn not_newer(path: &Path, found: i64) -> Result<i64, StoreError> {
    let known = MIGRATIONS.len() as i64;
    if found > known {
        return Err(StoreError::TooNew {
            path: path.display().to_string(),
            found,
            known,
        });
    }
    Ok(known)
}

/// Brings the schema up to date. Each step reads the version and applies the next migration
/// inside one write (`IMMEDIATE`) transaction, so several processes opening a new data
/// directory at once take turns: the first creates the tables, the others see its version.
fn migrate(conn: &mut Connection, path: &Path) -> Result<(), StoreError> {
    loop {
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let current: i64 = tx.pragma_query_value(None, "user_version", |row| row.get(0))?;
        not_newer(path, current)?;
        let Some(sql) = MIGRATIONS.get(current as usize) else {
            return Ok(());
        };
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", current + 1)?;
        tx.commit()?;
        tracing::info!(version = current + 1, "applied store migration");
    }
}

fn write_loop(mut conn: Connection, rx: Receiver<WriteRequest>, metrics: WriterMetrics) {
    while let Ok(first) = rx.recv() {
        let mut group = vec![first];
        let mut size = group[0].rows.len();
        while size < MAX_GROUP_ENTRIES {
            match rx.try_recv() {
                Ok(next) => {
                    size += next.rows.len();
                    group.push(next);
                }
                Err(_) => break,
            }
        }
        metrics.queue_depth.dec_by(group.len() as i64);
        let started = std::time::Instant::now();
        let committed = commit_group(&mut conn, &group);
        metrics
            .commit_seconds
            .observe(started.elapsed().as_secs_f64());
        match committed {
            Ok(results) => {
                for (request, appended) in group.into_iter().zip(results) {
                    let _ = request.reply.send(Ok(appended));
                }
            }
            Err(e) => {
                tracing::error!(error = %e, requests = group.len(), "group commit failed");
                let message = e.to_string();
                for request in group {
                    let _ = request
                        .reply
                        .send(Err(StoreError::Unavailable(message.clone())));
                }
            }
        }
    }
}

/// Writes every request of the group in one transaction; all or nothing.
fn commit_group(
    conn: &mut Connection,
    group: &[WriteRequest],
) -> Result<Vec<Vec<Option<i64>>>, StoreError> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let mut results = Vec::with_capacity(group.len());
    {
        let mut insert = tx.prepare_cached(
            "INSERT INTO log (workspace, natural_key, kind, source, received_at, body)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT DO NOTHING",
        )?;
        // The entries stored (not those whose key was), by workspace, kind and source.
        let mut counts: HashMap<(&str, &str, &str), i64> = HashMap::new();
        for request in group {
            let mut seqs = Vec::with_capacity(request.rows.len());
            for row in &request.rows {
                let inserted = insert.execute(params![
                    row.workspace,
                    row.key,
                    row.kind,
                    row.source,
                    row.received_at,
                    row.body,
                ])?;
                if inserted == 1 {
                    *counts
                        .entry((row.workspace.as_str(), row.kind, row.source))
                        .or_default() += 1;
                }
                seqs.push((inserted == 1).then(|| tx.last_insert_rowid()));
            }
            results.push(seqs);
        }
        let mut count = tx.prepare_cached(
            "INSERT INTO log_counts (workspace, kind, source, entries) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (workspace, kind, source) DO UPDATE SET entries = entries + excluded.entries",
        )?;
        for ((workspace, kind, source), n) in counts {
            count.execute(params![workspace, kind, source, n])?;
        }
    }
    tx.commit()?;
    Ok(results)
}

/// How much of an unreadable entry's stored form is shown.
const UNREADABLE_EXCERPT_CHARS: usize = 300;
/// Stored entries decoded per parallel task: enough to outweigh handing the task over.
const DECODE_CHUNK: usize = 256;

/// A log row as read, before its body is decoded.
struct StoredRow {
    seq: i64,
    kind: String,
    source: String,
    received_at: Timestamp,
    body: String,
}

impl StoredRow {
    fn decode(self, workspace: &WorkspaceId) -> Result<StoredEntry, Unreadable> {
        match read_entry(workspace, self.received_at, &self.source, &self.body) {
            Ok(entry) => Ok(StoredEntry {
                seq: self.seq,
                entry,
            }),
            Err(reason) => Err(Unreadable {
                seq: self.seq,
                kind: self.kind,
                received_at: self.received_at,
                reason,
                stored: self.body.chars().take(UNREADABLE_EXCERPT_CHARS).collect(),
            }),
        }
    }
}

/// An entry from its stored columns, or why it cannot be.
fn read_entry(
    workspace: &WorkspaceId,
    received_at: Timestamp,
    source: &str,
    body: &str,
) -> Result<Entry, String> {
    let source = parse_source(source).ok_or_else(|| format!("unknown source {source:?}"))?;
    let body: EntryBody = serde_json::from_str(body).map_err(|e| e.to_string())?;
    Ok(Entry {
        workspace: workspace.clone(),
        source,
        received_at,
        body,
    })
}

fn parse_source(raw: &str) -> Option<Source> {
    match raw {
        "http" => Some(Source::Http),
        "import" => Some(Source::Import),
        "webhook" => Some(Source::Webhook),
        _ => None,
    }
}

/// Each entry's row, and whether it is the first of its natural key in the call (the others are
/// duplicates, dropped here; the database catches those already stored).
fn prepare(entries: &[Entry]) -> (Vec<Row>, Vec<bool>) {
    // A large call (an import's batch) prepares its rows in parallel; a request's hundred
    // messages are not worth handing to other threads.
    let rows = if entries.len() >= PARALLEL_PREPARE {
        entries
            .par_iter()
            .with_min_len(PREPARE_CHUNK)
            .map(Row::new)
            .collect()
    } else {
        entries.iter().map(Row::new).collect()
    };
    first_of_each_key(rows)
}

/// The rows without the repeats of a natural key within them, and which rows were kept.
fn first_of_each_key(rows: Vec<Row>) -> (Vec<Row>, Vec<bool>) {
    let keep: Vec<bool> = {
        let mut seen = HashSet::with_capacity(rows.len());
        rows.iter()
            .map(|row| seen.insert((row.workspace.as_str(), row.key.as_str())))
            .collect()
    };
    let rows = rows
        .into_iter()
        .zip(&keep)
        .filter_map(|(row, &kept)| kept.then_some(row))
        .collect();
    (rows, keep)
}

/// A write handed to the writer thread, not yet answered.
struct Pending(Receiver<Result<Vec<Option<i64>>, StoreError>>);

impl Pending {
    /// Each row's new seq (`None`: its key was already stored), once the rows are durable.
    fn wait(self) -> Result<Vec<Option<i64>>, StoreError> {
        self.0
            .recv()
            .map_err(|_| StoreError::Unavailable("the writer stopped before answering".into()))?
    }
}

impl Loaded {
    fn add(&mut self, seqs: Vec<Option<i64>>, duplicates_in_batch: u64) {
        let stored = seqs.iter().filter(|seq| seq.is_some()).count() as u64;
        self.stored += stored;
        self.duplicates += duplicates_in_batch + (seqs.len() as u64 - stored);
    }
}

/// A batch of a bulk load handed to the writer: its answer, the repeats dropped from it, and,
/// when the caller wants them, its entries (without the repeats) in row order.
struct Writing {
    pending: Pending,
    duplicates: u64,
    kept: Option<Vec<Entry>>,
}

impl Writing {
    /// Waits until the batch is durable, counts it, and hands its new entries to `stored`.
    fn finish<'a>(
        self,
        loaded: &mut Loaded,
        stored: Option<&mut (dyn FnMut(Vec<StoredEntry>) + 'a)>,
    ) -> Result<(), StoreError> {
        let seqs = self.pending.wait()?;
        if let (Some(kept), Some(stored)) = (self.kept, stored) {
            let entries = kept
                .into_iter()
                .zip(&seqs)
                .filter_map(|(entry, seq)| seq.map(|seq| StoredEntry { seq, entry }))
                .collect();
            stored(entries);
        }
        loaded.add(seqs, self.duplicates);
        Ok(())
    }
}

impl SqliteStore {
    /// Queues rows for the writer thread.
    fn submit(&self, rows: Vec<Row>) -> Result<Pending, StoreError> {
        let (reply, answer) = mpsc::sync_channel(1);
        let queue = self.queue.lock().expect("queue lock");
        let sender = queue.as_ref().ok_or_else(|| {
            StoreError::Unavailable("the store is closed or was opened read-only".into())
        })?;
        // Counted before the send, so the writer's decrement never comes first.
        self.metrics.queue_depth.inc();
        let sent = sender.try_send(WriteRequest { rows, reply });
        if sent.is_err() {
            self.metrics.queue_depth.dec();
        }
        match sent {
            Ok(()) => Ok(Pending(answer)),
            Err(TrySendError::Full(_)) => Err(StoreError::Busy),
            Err(TrySendError::Disconnected(_)) => {
                Err(StoreError::Unavailable("the writer has stopped".into()))
            }
        }
    }
}

impl Store for SqliteStore {
    fn register_metrics(&self, registry: &mut prometheus_client::registry::Registry) {
        self.metrics.register(registry);
    }

    fn append(&self, entries: Vec<Entry>) -> Result<Appended, StoreError> {
        if entries.is_empty() {
            return Ok(Appended::default());
        }
        let (rows, keep) = prepare(&entries);
        let duplicates = keep.iter().filter(|&&kept| !kept).count();
        let kept: Vec<Entry> = entries
            .into_iter()
            .zip(keep)
            .filter_map(|(entry, kept)| kept.then_some(entry))
            .collect();
        let seqs = self.submit(rows)?.wait()?;
        let mut appended = Appended {
            stored: Vec::with_capacity(kept.len()),
            duplicates,
        };
        for (entry, seq) in kept.into_iter().zip(seqs) {
            match seq {
                Some(seq) => appended.stored.push(StoredEntry { seq, entry }),
                None => appended.duplicates += 1,
            }
        }
        Ok(appended)
    }

    /// One batch is written while the next is prepared: the writer is handed batch k + 1 as soon
    /// as batch k is answered, so it never waits for the caller's serializing.
    fn append_batches(
        &self,
        batches: &mut dyn Iterator<Item = Vec<Entry>>,
        mut stored: Option<&mut dyn FnMut(Vec<StoredEntry>)>,
    ) -> Result<Loaded, StoreError> {
        let mut loaded = Loaded::default();
        let mut writing: Option<Writing> = None;
        for batch in batches {
            if batch.is_empty() {
                continue;
            }
            let (rows, keep, kept) = if stored.is_some() {
                // The entries are kept, to be handed over with their seqs once durable.
                let rows = batch
                    .par_iter()
                    .with_min_len(PREPARE_CHUNK)
                    .map(Row::new)
                    .collect();
                let (rows, keep) = first_of_each_key(rows);
                let kept = batch
                    .into_iter()
                    .zip(&keep)
                    .filter_map(|(entry, &kept)| kept.then_some(entry))
                    .collect();
                (rows, keep, Some(kept))
            } else {
                // The batch is consumed as its rows are made, so its entries are freed on the
                // same threads, in parallel, rather than all at once here.
                let rows = batch
                    .into_par_iter()
                    .with_min_len(PREPARE_CHUNK)
                    .map(|entry| Row::new(&entry))
                    .collect();
                let (rows, keep) = first_of_each_key(rows);
                (rows, keep, None)
            };
            let duplicates = keep.iter().filter(|&&kept| !kept).count() as u64;
            let pending = Writing {
                pending: self.submit(rows)?,
                duplicates,
                kept,
            };
            if let Some(previous) = writing.replace(pending) {
                previous.finish(&mut loaded, stored.as_deref_mut())?;
            }
        }
        if let Some(last) = writing {
            last.finish(&mut loaded, stored)?;
        }
        Ok(loaded)
    }

    fn read_log(
        &self,
        workspace: &WorkspaceId,
        after: i64,
        limit: usize,
    ) -> Result<LogPage, StoreError> {
        // The rows are copied out under the reader's lock and decoded after it is released, in
        // parallel: parsing the stored JSON is most of a replay, and the connection is then free
        // for the next page or another reader meanwhile.
        let rows: Vec<StoredRow> = {
            let conn = self.reader.lock().expect("reader lock");
            let mut stmt = conn.prepare_cached(
                "SELECT seq, kind, source, received_at, body FROM log
                 WHERE workspace = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
            )?;
            let rows = stmt.query_map(params![workspace.as_str(), after, limit as i64], |row| {
                Ok(StoredRow {
                    seq: row.get(0)?,
                    kind: row.get(1)?,
                    source: row.get(2)?,
                    received_at: Timestamp::from_millis(row.get(3)?),
                    body: row.get(4)?,
                })
            })?;
            rows.collect::<Result<_, _>>()?
        };
        let decoded: Vec<Result<StoredEntry, Unreadable>> = rows
            .into_par_iter()
            .with_min_len(DECODE_CHUNK)
            .map(|row| row.decode(workspace))
            .collect();
        let mut page = LogPage::default();
        for row in decoded {
            match row {
                Ok(entry) => page.entries.push(entry),
                Err(bad) => page.unreadable.push(bad),
            }
        }
        Ok(page)
    }

    fn log_seqs(
        &self,
        workspace: &WorkspaceId,
        after: i64,
        limit: usize,
    ) -> Result<Vec<i64>, StoreError> {
        let conn = self.reader.lock().expect("reader lock");
        let mut stmt = conn.prepare_cached(
            "SELECT seq FROM log WHERE workspace = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
        )?;
        let seqs = stmt.query_map(params![workspace.as_str(), after, limit as i64], |row| {
            row.get::<_, i64>(0)
        })?;
        Ok(seqs.collect::<Result<_, _>>()?)
    }

    fn close(&self) {
        SqliteStore::close(self)
    }

    fn stable_through(&self) -> Result<i64, StoreError> {
        // One writer at a time (this process's writer thread, or another process holding
        // SQLite's write lock) assigns seqs inside its transaction and commits before the next
        // begins, so the highest visible seq has every lower one visible beneath it.
        let conn = self.reader.lock().expect("reader lock");
        let mut stmt = conn.prepare_cached("SELECT COALESCE(MAX(seq), 0) FROM log")?;
        Ok(stmt.query_row([], |row| row.get(0))?)
    }

    fn workspaces(&self) -> Result<Vec<WorkspaceId>, StoreError> {
        let conn = self.reader.lock().expect("reader lock");
        // The log's workspaces from its counts, a few rows: `SELECT DISTINCT workspace FROM
        // log` reads every entry of the index, and the server's catch-up asks this every second
        // (35% of a core idle at 100k accounts).
        let mut stmt = conn.prepare_cached(
            "SELECT workspace FROM log_counts
             UNION SELECT workspace FROM api_keys ORDER BY 1",
        )?;
        let names = stmt.query_map([], |row| row.get::<_, String>(0))?;
        let mut out = Vec::new();
        for name in names {
            let name = name?;
            // A name this build cannot parse must not stop the others from being served.
            match WorkspaceId::parse(&name) {
                Ok(ws) => out.push(ws),
                Err(e) => {
                    tracing::error!(workspace = %name, error = %e, "skipping a workspace whose name cannot be read")
                }
            }
        }
        Ok(out)
    }

    fn log_counts(&self, workspace: &WorkspaceId) -> Result<Vec<LogCount>, StoreError> {
        let conn = self.reader.lock().expect("reader lock");
        let mut stmt = conn.prepare_cached(
            "SELECT kind, source, entries FROM log_counts WHERE workspace = ?1
             ORDER BY kind, source",
        )?;
        let rows = stmt.query_map(params![workspace.as_str()], |row| {
            Ok(LogCount {
                kind: row.get(0)?,
                source: row.get(1)?,
                entries: row.get::<_, i64>(2)? as u64,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn create_key(&self, workspace: &WorkspaceId, scope: Scope) -> Result<String, StoreError> {
        let secret = new_secret(scope);
        let conn = self.reader.lock().expect("reader lock");
        conn.execute(
            "INSERT INTO api_keys (key_hash, workspace, scope, prefix, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                hash_secret(&secret),
                workspace.as_str(),
                scope.as_str(),
                &secret[..KEY_PREFIX_CHARS],
                chrono::Utc::now().timestamp_millis(),
            ],
        )?;
        Ok(secret)
    }

    fn list_keys(&self, workspace: &WorkspaceId) -> Result<Vec<KeyInfo>, StoreError> {
        let conn = self.reader.lock().expect("reader lock");
        let mut stmt = conn.prepare_cached(
            "SELECT prefix, scope, created_at, revoked_at FROM api_keys
             WHERE workspace = ?1 ORDER BY created_at, rowid",
        )?;
        let rows = stmt.query_map(params![workspace.as_str()], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, i64>(2)?,
                row.get::<_, Option<i64>>(3)?,
            ))
        })?;
        let mut keys = Vec::new();
        for row in rows {
            let (prefix, scope, created_at, revoked_at) = row?;
            keys.push(KeyInfo {
                scope: scope
                    .parse()
                    .map_err(|e| StoreError::Corrupt(format!("key {prefix}: {e}")))?,
                prefix,
                created_at: Timestamp::from_millis(created_at),
                revoked_at: revoked_at.map(Timestamp::from_millis),
            });
        }
        Ok(keys)
    }

    fn revoke_key(&self, workspace: &WorkspaceId, key: &str) -> Result<Revoked, StoreError> {
        let conn = self.reader.lock().expect("reader lock");
        // The whole secret, or the prefix that listings show.
        let matching: Vec<(String, String, Option<i64>)> = conn
            .prepare_cached(
                "SELECT key_hash, prefix, revoked_at FROM api_keys
                 WHERE workspace = ?1 AND (key_hash = ?2 OR prefix = ?3)",
            )?
            .query_map(params![workspace.as_str(), hash_secret(key), key], |row| {
                Ok((row.get(0)?, row.get(1)?, row.get(2)?))
            })?
            .collect::<Result<_, _>>()?;
        match matching.as_slice() {
            [] => Ok(Revoked::NotFound),
            [(_, prefix, Some(_))] => Ok(Revoked::Already(prefix.clone())),
            [(hash, prefix, None)] => {
                conn.execute(
                    "UPDATE api_keys SET revoked_at = ?1 WHERE key_hash = ?2",
                    params![chrono::Utc::now().timestamp_millis(), hash],
                )?;
                Ok(Revoked::Now(prefix.clone()))
            }
            several => Ok(Revoked::Ambiguous(several.len())),
        }
    }

    fn find_key(&self, secret: &str) -> Result<Option<ApiKey>, StoreError> {
        let conn = self.reader.lock().expect("reader lock");
        let row = conn
            .prepare_cached(
                "SELECT workspace, scope, prefix FROM api_keys
                 WHERE key_hash = ?1 AND revoked_at IS NULL",
            )?
            .query_row(params![hash_secret(secret)], |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, String>(2)?,
                ))
            })
            .optional()?;
        let Some((workspace, scope, prefix)) = row else {
            return Ok(None);
        };
        let corrupt = |reason: String| StoreError::Corrupt(format!("key {prefix}: {reason}"));
        Ok(Some(ApiKey {
            workspace: WorkspaceId::parse(&workspace).map_err(|e| corrupt(e.to_string()))?,
            scope: scope.parse().map_err(corrupt)?,
            prefix,
        }))
    }

    fn put_health_days(
        &self,
        workspace: &WorkspaceId,
        days: &[HealthDay],
    ) -> Result<(), StoreError> {
        let mut conn = self.history.lock().expect("history lock");
        for chunk in days.chunks(HISTORY_ROWS_PER_COMMIT) {
            let tx = conn.transaction()?;
            {
                let mut insert = tx.prepare_cached(
                    "INSERT OR REPLACE INTO health_history
                     (workspace, account, version, day, score, band, stage)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )?;
                for d in chunk {
                    insert.execute(params![
                        workspace.as_str(),
                        d.account,
                        d.version,
                        d.day.millis(),
                        d.score,
                        d.band,
                        d.stage
                    ])?;
                }
            }
            tx.commit()?;
        }
        Ok(())
    }

    fn health_days(
        &self,
        workspace: &WorkspaceId,
        account: &str,
    ) -> Result<Vec<HealthDay>, StoreError> {
        let conn = self.history.lock().expect("history lock");
        let mut query = conn.prepare_cached(
            "SELECT version, day, score, band, stage FROM health_history
             WHERE workspace = ?1 AND account = ?2 ORDER BY day, version",
        )?;
        let rows = query.query_map(params![workspace.as_str(), account], |row| {
            Ok(HealthDay {
                account: account.to_owned(),
                version: row.get(0)?,
                day: Timestamp::from_millis(row.get(1)?),
                score: row.get(2)?,
                band: row.get(3)?,
                stage: row.get(4)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn health_days_through(
        &self,
        workspace: &WorkspaceId,
        version: &str,
    ) -> Result<std::collections::BTreeMap<String, Timestamp>, StoreError> {
        let conn = self.history.lock().expect("history lock");
        let mut query = conn.prepare_cached(
            "SELECT account, MAX(day) FROM health_history
             WHERE workspace = ?1 AND version = ?2 GROUP BY account",
        )?;
        let rows = query.query_map(params![workspace.as_str(), version], |row| {
            Ok((
                row.get::<_, String>(0)?,
                Timestamp::from_millis(row.get(1)?),
            ))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn record_firings(
        &self,
        workspace: &WorkspaceId,
        firings: &[(NewFiring, Vec<NewDelivery>)],
    ) -> Result<Vec<bool>, StoreError> {
        actions::record_firings(&mut self.actions(), workspace, firings)
    }

    fn firings(
        &self,
        workspace: &WorkspaceId,
        filter: &FiringFilter,
    ) -> Result<Vec<FiringRecord>, StoreError> {
        actions::firings(&self.actions(), workspace, filter)
    }

    fn claim_deliveries(
        &self,
        owner: &str,
        now: Timestamp,
        lease_ms: i64,
        limit: usize,
        whose: ClaimFor<'_>,
    ) -> Result<Vec<Delivery>, StoreError> {
        actions::claim_deliveries(&mut self.actions(), owner, now, lease_ms, limit, whose)
    }

    fn finish_delivery(
        &self,
        id: DeliveryId,
        owner: &str,
        at: Timestamp,
        attempt: &Attempted,
        duration_ms: u64,
    ) -> Result<bool, StoreError> {
        actions::finish_delivery(&mut self.actions(), id, owner, at, attempt, duration_ms)
    }

    fn deliveries(
        &self,
        workspace: &WorkspaceId,
        filter: &DeliveryFilter,
    ) -> Result<Vec<Delivery>, StoreError> {
        actions::deliveries(&self.actions(), workspace, filter)
    }

    fn delivery_attempts(
        &self,
        workspace: &WorkspaceId,
        id: DeliveryId,
    ) -> Result<Vec<AttemptRecord>, StoreError> {
        actions::delivery_attempts(&self.actions(), workspace, id)
    }

    fn delivery_tally(
        &self,
        workspace: &WorkspaceId,
        prefix: &str,
    ) -> Result<Vec<DeliveryTally>, StoreError> {
        actions::delivery_tally(&self.actions(), workspace, prefix)
    }

    fn retry_delivery(
        &self,
        workspace: &WorkspaceId,
        id: DeliveryId,
        now: Timestamp,
    ) -> Result<Retried, StoreError> {
        actions::retry_delivery(&mut self.actions(), workspace, id, now)
    }

    fn upsert_task(
        &self,
        workspace: &WorkspaceId,
        task: &NewTask,
    ) -> Result<(TaskId, bool), StoreError> {
        actions::upsert_task(&mut self.actions(), workspace, task)
    }

    fn tasks(
        &self,
        workspace: &WorkspaceId,
        filter: &TaskFilter,
        now: Timestamp,
    ) -> Result<Vec<Task>, StoreError> {
        actions::tasks(&self.actions(), workspace, filter, now)
    }

    fn update_task(
        &self,
        workspace: &WorkspaceId,
        id: TaskId,
        change: &TaskChange,
        at: Timestamp,
    ) -> Result<Option<Task>, StoreError> {
        actions::update_task(&mut self.actions(), workspace, id, change, at)
    }

    fn set_owner(&self, workspace: &WorkspaceId, change: &OwnerChange) -> Result<(), StoreError> {
        actions::set_owner(&mut self.actions(), workspace, change)
    }

    fn owners(
        &self,
        workspace: &WorkspaceId,
        account: Option<&str>,
    ) -> Result<Vec<OwnerRecord>, StoreError> {
        actions::owners(&self.actions(), workspace, account)
    }

    fn owner_history(
        &self,
        workspace: &WorkspaceId,
        account: &str,
    ) -> Result<Vec<OwnerRecord>, StoreError> {
        actions::owner_history(&self.actions(), workspace, account)
    }

    fn meet_sla(
        &self,
        workspace: &WorkspaceId,
        account: &str,
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        actions::meet_sla(&mut self.actions(), workspace, account, at)
    }

    fn sla_breaches(
        &self,
        workspace: &WorkspaceId,
        since: Timestamp,
        now: Timestamp,
    ) -> Result<Vec<OwnerRecord>, StoreError> {
        actions::sla_breaches(&self.actions(), workspace, since, now)
    }

    fn take_lease(
        &self,
        name: &str,
        owner: &str,
        now: Timestamp,
        ms: i64,
    ) -> Result<bool, StoreError> {
        actions::take_lease(&mut self.actions(), name, owner, now, ms)
    }

    fn release_lease(&self, name: &str, owner: &str) -> Result<bool, StoreError> {
        actions::release_lease(&mut self.actions(), name, owner)
    }
}

impl SqliteStore {
    fn actions(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.actions.lock().expect("actions lock")
    }
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
