//! The in-memory derived state of every workspace, rebuilt from the log at start-up and kept
//! current as entries are appended.
//!
//! Entries reach a running server two ways: its own ingest applies what it just stored, and
//! [`Live::catch_up`] tails the log for what other processes appended (`tenure import` while the
//! server runs, or another server on the same PostgreSQL). Each workspace remembers which
//! sequence numbers it has applied, so an entry is applied exactly once whichever way it came.
//!
//! With [`Live::start_applier`], what ingest stored is applied on a thread of its own, so an
//! acknowledgement waits for durability but not for the model. Reads stay consistent with
//! writes: [`Live::read`] first waits until everything submitted before it has been applied.
//!
//! Each workspace has a lock of its own, so a long read of one (a report) never holds up the
//! applier or the catch-up of another; the map of workspaces is locked only to find or add one,
//! and no two workspace locks are ever held at once.
//!
//! The catch-up relies only on the store's tailing contract (see [`Store`]): it reads
//! [`Store::stable_through`] before the log and takes nothing above it, so an entry that a
//! concurrent writer commits late, below seqs already visible, is not skipped.
//!
//! [`Live::report`] runs a report with what the workspace keeps for reports between calls: each
//! customer's lifecycle, which `funnel` extends by the new days and evaluates anew for the
//! accounts whose facts changed (`tenure_reports::Lifecycles`).
//!
//! With [`Live::keep_statuses`], every account's status (stage, health, signals) is recomputed
//! as soon as an entry naming it is applied, in the same step, and announced to an observer;
//! [`Live::refresh_statuses`] recomputes them all, for what time alone changes (14 days of
//! silence, a renewal coming within 90 days).

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::{Arc, Condvar, Mutex, RwLock, TryLockError, Weak};
use std::time::Instant;

use tenure_core::{AccountId, StoredEntry, Timestamp, WorkspaceId};
use tenure_engine::snapshot::{self, Position, Reads};
use tenure_engine::{EngineSettings, Model};
use tenure_health::DAY_MS;
use tenure_reports::{
    account_status, account_statuses, daily_health, AccountStatus, Lifecycles, Limits, Report,
    ReportError, ReportParams, ReportSettings,
};
use tenure_store::{HealthDay, LogPage, Store, StoreError, Unreadable};

use crate::metrics::LiveMetrics;
use crate::Clock;

use crate::snapshots::SnapshotFiles;

/// Entries read from the log per page while replaying.
const REPLAY_PAGE: usize = 10_000;
/// Accounts whose daily history is computed per turn of the read lock.
const HISTORY_ACCOUNTS_PER_LOCK: usize = 64;
/// Batches waiting for the applier before ingest waits for it (backpressure).
const APPLY_QUEUE: usize = 1_024;

#[derive(Debug)]
struct WorkspaceState {
    model: Model,
    /// Every seq up to and including this one has been applied (or is not this workspace's).
    applied_through: i64,
    /// Applied seqs above `applied_through`, from appends that overtook the log tail.
    applied_ahead: BTreeSet<i64>,
    /// Every account's latest status, when statuses are kept.
    statuses: BTreeMap<AccountId, AccountStatus>,
    /// Entries the log holds but this build cannot read, by seq: left out of the model.
    unreadable: BTreeMap<i64, Unreadable>,
    /// Webhook events the ledger could not interpret that have been logged.
    uninterpreted_logged: BTreeSet<String>,
    /// Entries applied since the model was last saved as a snapshot (or since it was built).
    since_snapshot: AtomicU64,
    /// The seq and receipt time of the newest entry applied: what a snapshot checks against
    /// the log it is read with.
    newest: Option<(i64, Timestamp)>,
    /// Each customer's lifecycle as far as `funnel` has evaluated it, for the next report
    /// ([`Live::report`]); taken out by the reports that read it, under its own lock.
    lifecycles: Arc<Lifecycles>,
    /// The model was decoded from only some sections of its snapshot
    /// ([`Live::rebuild_from_reading`]): it answers what they hold, and is never saved.
    partial: bool,
    /// Bumped whenever the model changes: a report answered at one generation is the answer
    /// for as long as it lasts ([`Live::report`]).
    generation: u64,
}

/// What a snapshot keeps beside the model: what the log position alone does not say.
#[derive(serde::Serialize, serde::Deserialize)]
struct Beside {
    unreadable: BTreeMap<i64, Unreadable>,
    /// The newest entry the model holds, found again in the log before the snapshot is
    /// trusted: a snapshot of another store (one deleted and imported again, another
    /// directory's) holds other entries under the same seqs.
    newest: Option<(i64, Timestamp)>,
}

/// How [`Live::rebuild_from`] built each workspace.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rebuilt {
    /// The workspaces started from a snapshot, with the log position it covered through.
    pub from_snapshot: BTreeMap<WorkspaceId, i64>,
    /// Entries replayed from the log: the tails after the snapshots and every workspace
    /// without one.
    pub replayed: BTreeMap<WorkspaceId, u64>,
    /// The workspaces whose models hold only what the caller reads (see
    /// [`Live::rebuild_from_reading`]).
    pub partial: BTreeSet<WorkspaceId>,
}

/// One page of a workspace's log as [`Live::catch_up`] reads it: the seqs it covers (through
/// the store's settled seq), whether more may follow, and the entries not already applied.
struct ReadPage {
    seqs: Vec<i64>,
    more: bool,
    page: LogPage,
}

/// The page after `after`: sequence numbers first (an index scan), so entries this process
/// stored itself, already applied, need not be read back.
fn read_page(
    store: &dyn Store,
    workspace: &WorkspaceId,
    shared: &RwLock<WorkspaceState>,
    after: i64,
    stable: i64,
) -> Result<ReadPage, StoreError> {
    let mut seqs = store.log_seqs(workspace, after, REPLAY_PAGE)?;
    let whole_page = seqs.len() == REPLAY_PAGE;
    seqs.retain(|&seq| seq <= stable);
    let more = whole_page && seqs.len() == REPLAY_PAGE;
    // While the page before is being applied (its lock taken), this one is read whole rather
    // than wait, `apply` skipping what was applied meanwhile.
    let first_unapplied = match shared.try_read() {
        Ok(state) => seqs
            .iter()
            .position(|seq| !state.applied_ahead.contains(seq)),
        Err(TryLockError::WouldBlock) => (!seqs.is_empty()).then_some(0),
        Err(TryLockError::Poisoned(e)) => panic!("workspace lock: {e}"),
    };
    // Through `stable` everything is settled, so these reads return exactly `seqs`.
    let page = match first_unapplied {
        Some(i) => store.read_log(workspace, seqs[i] - 1, seqs.len() - i)?,
        None => LogPage::default(),
    };
    Ok(ReadPage { seqs, more, page })
}

/// Whether the workspace's log holds no entry `position` does not cover (as far as the store
/// can say: an error says it may).
fn nothing_after(store: &dyn Store, workspace: &WorkspaceId, position: &Position) -> bool {
    let after = store.log_seqs(
        workspace,
        position.applied_through,
        position.applied_ahead.len() + 1,
    );
    after.is_ok_and(|seqs| seqs.iter().all(|&seq| position.covers(seq)))
}

impl WorkspaceState {
    /// Applies the entry unless it already was; says whether it did.
    fn apply(&mut self, stored: &StoredEntry) -> bool {
        // An entry this process applied ahead can come again in the middle of a page another
        // process's entries fill (or a page read ahead), contiguous with what is applied.
        if stored.seq <= self.applied_through || self.applied_ahead.contains(&stored.seq) {
            return false;
        }
        if stored.seq == self.applied_through + 1 && self.applied_through > 0 {
            // Contiguous with what is known applied: no need to remember it separately.
            self.applied_through = stored.seq;
        } else {
            self.applied_ahead.insert(stored.seq);
        }
        self.model.apply(stored);
        self.generation += 1;
        *self.since_snapshot.get_mut() += 1;
        if self.newest.is_none_or(|(seq, _)| stored.seq > seq) {
            self.newest = Some((stored.seq, stored.entry.received_at));
        }
        true
    }

    /// Leaves an entry that cannot be read out of the model, saying so once.
    fn quarantine(&mut self, workspace: &WorkspaceId, bad: Unreadable) {
        if let std::collections::btree_map::Entry::Vacant(slot) = self.unreadable.entry(bad.seq) {
            tracing::error!(
                workspace = %workspace,
                seq = bad.seq,
                kind = %bad.kind,
                reason = %bad.reason,
                "left an entry that cannot be read out of the model; `tenure log unreadable` lists such entries"
            );
            slot.insert(bad);
        }
    }

    /// Says once of each webhook event the ledger could not interpret that it is left out.
    fn log_uninterpreted(&mut self, workspace: &WorkspaceId) {
        let ledger = self.model.ledger();
        // Asked after every applied batch: `len` is the map's, not a walk over it.
        if ledger.uninterpreted().len() == self.uninterpreted_logged.len() {
            return;
        }
        for (event_id, reason) in ledger.uninterpreted() {
            if self.uninterpreted_logged.insert(event_id.to_owned()) {
                tracing::warn!(
                    workspace = %workspace,
                    event_id,
                    reason,
                    "a webhook event cannot be interpreted: it is kept in the log and changes no figure; `tenure status` lists such events"
                );
            }
        }
    }

    /// Everything through `seq` has now been seen in the log.
    fn seen_through(&mut self, seq: i64) {
        self.applied_through = self.applied_through.max(seq);
        self.applied_ahead = self.applied_ahead.split_off(&(self.applied_through + 1));
    }
}

/// Batches handed to the applier thread and batches it has applied, in FIFO order.
#[derive(Debug, Default)]
struct Tickets {
    submitted: u64,
    applied: u64,
}

/// Called with every status as it is recomputed, while the live models are locked: it must be
/// quick and must not call back into [`Live`].
pub type StatusObserver = Box<dyn Fn(&WorkspaceId, &AccountStatus) + Send + Sync>;

/// Called with every entry applied once statuses are kept, after the statuses it changed, while
/// the live models are locked: it must be quick and must not call back into [`Live`].
pub type EntryObserver = Box<dyn Fn(&WorkspaceId, &Model, &StoredEntry) + Send + Sync>;

/// How statuses are kept: the report settings that score accounts, the clock that says "now",
/// and who is told of each new status (and of each entry applied).
pub struct StatusKeeping {
    pub settings: ReportSettings,
    pub clock: Arc<dyn Clock>,
    pub observer: Option<StatusObserver>,
    pub entries: Option<EntryObserver>,
}

impl std::fmt::Debug for StatusKeeping {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StatusKeeping").finish_non_exhaustive()
    }
}

impl StatusKeeping {
    /// Scores with `settings` at the clock's now, telling no one.
    pub fn new(settings: ReportSettings, clock: Arc<dyn Clock>) -> Self {
        Self {
            settings,
            clock,
            observer: None,
            entries: None,
        }
    }

    fn status(
        &self,
        stages: &tenure_health::Stages,
        model: &Model,
        account: &AccountId,
        at: Timestamp,
    ) -> Option<AccountStatus> {
        match account_status(model, &self.settings, stages, account, at) {
            Ok(status) => status,
            Err(e) => {
                tracing::warn!(account = %account.as_str(), error = %e, "cannot score the account");
                None
            }
        }
    }
}

#[derive(Debug)]
pub struct Live {
    settings: EngineSettings,
    statuses: std::sync::OnceLock<(StatusKeeping, tenure_health::Stages)>,
    /// Each workspace's state behind its own lock; the map's lock is held only to find or add.
    workspaces: RwLock<BTreeMap<WorkspaceId, Arc<RwLock<WorkspaceState>>>>,
    queue: Mutex<Option<SyncSender<Submitted>>>,
    tickets: Mutex<Tickets>,
    metrics: LiveMetrics,
    settled: Condvar,
    /// True while [`Live::keep_statuses_in_background`]'s first scoring runs: status lookups
    /// wait on `scored` until it is done rather than answer that an account has none.
    scoring: Mutex<bool>,
    scored: Condvar,
    /// The last reports answered, each with the model generation it was answered at.
    answered: Mutex<VecDeque<Answered>>,
}

/// How many answers [`Live::report`] keeps: a dashboard page asks up to three reports, and
/// a few people look at a few pages between two changes of the model.
const ANSWERS_KEPT: usize = 24;

/// The most rows the kept answers hold together: an answer is kept in memory whole, and the
/// list reports of 20,000 accounts run to tens of thousands of rows each.
const ANSWER_ROWS_KEPT: usize = 200_000;

/// A report's answer, and what it was the answer to.
#[derive(Debug)]
struct Answered {
    workspace: WorkspaceId,
    /// The workspace state's identity and generation: another state (a rebuild) or any
    /// change of the model makes the answer stale.
    state: usize,
    generation: u64,
    name: String,
    settings: ReportSettings,
    params: ReportParams,
    report: Arc<Report>,
}

/// Ends the first scoring even if it panics, so status lookups never wait forever.
struct FirstScoring<'a>(&'a Live);

impl Drop for FirstScoring<'_> {
    fn drop(&mut self) {
        *self.0.scoring.lock().expect("scoring flag") = false;
        self.0.scored.notify_all();
    }
}

impl Live {
    pub fn empty(settings: EngineSettings) -> Self {
        Self {
            settings,
            statuses: std::sync::OnceLock::new(),
            workspaces: RwLock::new(BTreeMap::new()),
            queue: Mutex::new(None),
            tickets: Mutex::new(Tickets::default()),
            metrics: LiveMetrics::default(),
            settled: Condvar::new(),
            scoring: Mutex::new(false),
            scored: Condvar::new(),
            answered: Mutex::new(VecDeque::new()),
        }
    }

    /// From now on, [`Live::submit`] hands entries to a thread of their own. The thread ends
    /// when the last `Arc<Live>` is dropped.
    pub fn start_applier(self: &Arc<Self>) {
        let (tx, rx) = mpsc::sync_channel(APPLY_QUEUE);
        *self.queue.lock().expect("apply queue") = Some(tx);
        let live = Arc::downgrade(self);
        std::thread::Builder::new()
            .name("tenure-applier".into())
            .spawn(move || apply_loop(live, rx))
            .expect("the applier thread starts");
    }

    /// Adds the apply lag and the count of quarantined entries to a server's Prometheus
    /// `registry`.
    pub fn register_metrics(
        self: &Arc<Self>,
        registry: &mut prometheus_client::registry::Registry,
    ) {
        self.metrics.register(Arc::downgrade(self), registry);
    }

    /// Applies entries this process has just stored: on the applier thread if one runs (waiting
    /// only when its queue is full), else at once.
    pub fn submit(&self, entries: Vec<StoredEntry>) {
        if entries.is_empty() {
            return;
        }
        let queue = self.queue.lock().expect("apply queue").clone();
        match queue {
            Some(tx) => {
                self.tickets.lock().expect("tickets").submitted += 1;
                if let Err(mpsc::SendError((_, entries))) = tx.send((Instant::now(), entries)) {
                    // The applier is gone (shutting down): apply here rather than lose them.
                    self.apply(&entries);
                    self.mark_applied(1);
                }
            }
            None => self.apply(&entries),
        }
    }

    fn mark_applied(&self, batches: u64) {
        self.tickets.lock().expect("tickets").applied += batches;
        self.settled.notify_all();
    }

    /// Waits until every batch submitted before this call has been applied.
    fn settle(&self) {
        let mut tickets = self.tickets.lock().expect("tickets");
        let target = tickets.submitted;
        while tickets.applied < target {
            tickets = self.settled.wait(tickets).expect("tickets");
        }
    }

    /// Replays the whole log of every workspace. `progress` is told the entries replayed so far.
    pub fn rebuild(
        store: &dyn Store,
        settings: EngineSettings,
        progress: impl FnMut(u64),
    ) -> Result<Self, StoreError> {
        let live = Self::empty(settings);
        live.catch_up_with_progress(store, progress)?;
        Ok(live)
    }

    /// Starts each workspace from its snapshot in `snapshots` where one is valid (saying in
    /// the log which were and which were ignored, and why), then replays the log after it;
    /// workspaces without one are replayed whole. `progress` is told the entries replayed.
    pub fn rebuild_from(
        store: &dyn Store,
        settings: EngineSettings,
        snapshots: &SnapshotFiles,
        progress: impl FnMut(u64),
    ) -> Result<(Self, Rebuilt), StoreError> {
        Self::rebuild_from_reading(store, settings, snapshots, Reads::ALL, progress)
    }

    /// [`Live::rebuild_from`] for a caller that reads only `reads` of the models and applies
    /// nothing more to them (a command answering one report): a workspace whose log holds
    /// nothing beyond its snapshot decodes only the sections of it that `reads` needs, and
    /// its model is never saved as a snapshot; one with entries after its snapshot decodes it
    /// whole, since an entry is applied to the whole model.
    pub fn rebuild_from_reading(
        store: &dyn Store,
        settings: EngineSettings,
        snapshots: &SnapshotFiles,
        reads: Reads,
        mut progress: impl FnMut(u64),
    ) -> Result<(Self, Rebuilt), StoreError> {
        let (live, rebuilt) =
            Self::rebuild_once(store, settings.clone(), snapshots, reads, &mut progress)?;
        // Entries another process appended between the look at the log and the catch-up went
        // into a model decoded in part: start again from the whole snapshots (rare).
        let grew = rebuilt
            .partial
            .iter()
            .any(|ws| rebuilt.replayed.get(ws).is_some_and(|&n| n > 0));
        if !grew {
            return Ok((live, rebuilt));
        }
        tracing::info!("entries arrived while the snapshot was read; reading all of it");
        drop(live);
        Self::rebuild_once(store, settings, snapshots, Reads::ALL, &mut progress)
    }

    fn rebuild_once(
        store: &dyn Store,
        settings: EngineSettings,
        snapshots: &SnapshotFiles,
        reads: Reads,
        progress: &mut impl FnMut(u64),
    ) -> Result<(Self, Rebuilt), StoreError> {
        let live = Self::empty(settings);
        let mut rebuilt = Rebuilt::default();
        live.catch_up_each(
            store,
            |workspace| {
                if let Some((through, read)) = live.restore(store, snapshots, workspace, reads)? {
                    rebuilt.from_snapshot.insert(workspace.clone(), through);
                    if read != Reads::ALL {
                        rebuilt.partial.insert(workspace.clone());
                    }
                }
                Ok(())
            },
            |workspace, replayed| {
                rebuilt.replayed.insert(workspace.clone(), replayed);
            },
            progress,
        )?;
        Ok((live, rebuilt))
    }

    /// Takes the workspace's state from its snapshot file if it holds a valid one, decoding
    /// what `reads` needs if the log holds nothing after it, all of it otherwise; the position
    /// it covers through and what was decoded, if so.
    fn restore(
        &self,
        store: &dyn Store,
        snapshots: &SnapshotFiles,
        workspace: &WorkspaceId,
        reads: Reads,
    ) -> Result<Option<(i64, Reads)>, StoreError> {
        let path = snapshots.path(workspace);
        let (file, len) = match snapshots.open(workspace) {
            Ok(Some(opened)) => opened,
            Ok(None) => return Ok(None),
            Err(e) => {
                tracing::warn!(workspace = %workspace, path = %path.display(), error = %e, "cannot read the snapshot; replaying the whole log");
                return Ok(None);
            }
        };
        let read = |at: u64, n: usize| {
            crate::snapshots::read_at(&file, at, n)
                .map(std::borrow::Cow::Owned)
                .map_err(|e| e.to_string())
        };
        let choose = |position: &Position| {
            if reads == Reads::ALL || nothing_after(store, workspace, position) {
                reads
            } else {
                Reads::ALL
            }
        };
        let restored = match snapshot::decode_reading::<Beside>(
            &read,
            len,
            workspace,
            &self.settings,
            choose,
        ) {
            Ok(restored) => restored,
            Err(e) => {
                tracing::warn!(workspace = %workspace, path = %path.display(), reason = %e, "ignoring the snapshot; replaying the whole log");
                return Ok(None);
            }
        };
        drop(file);
        if let Some((seq, received_at)) = restored.extra.newest {
            let page = store.read_log(workspace, seq - 1, 1)?;
            let found = page
                .entries
                .first()
                .map(|e| (e.seq, e.entry.received_at))
                .or(page.unreadable.first().map(|u| (u.seq, u.received_at)));
            if found != Some((seq, received_at)) {
                tracing::warn!(workspace = %workspace, path = %path.display(), reason = %format!("its newest entry (seq {seq}, received {received_at}) is not in this store's log: the snapshot is another store's"), "ignoring the snapshot; replaying the whole log");
                return Ok(None);
            }
        }
        let through = restored.position.applied_through;
        let shared = self.workspace_or_new(workspace);
        let mut state = shared.write().expect("workspace lock");
        state.model = restored.model;
        state.generation += 1;
        state.applied_through = through;
        state.applied_ahead = restored.position.applied_ahead;
        state.unreadable = restored.extra.unreadable;
        state.newest = restored.extra.newest;
        state.partial = restored.reads != Reads::ALL;
        Ok(Some((through, restored.reads)))
    }

    /// The workspace's model as a snapshot, if at least `min_new` entries were applied since
    /// the last one was taken (counted from here on as taken). Encoded under the read lock:
    /// ingest waits for it, reports do not.
    pub fn snapshot(&self, workspace: &WorkspaceId, min_new: u64) -> Option<Vec<u8>> {
        let shared = self.workspace(workspace)?;
        let state = shared.read().expect("workspace lock");
        // A model decoded in part would save a snapshot of the part.
        if state.partial || state.since_snapshot.load(Ordering::Relaxed) < min_new.max(1) {
            return None;
        }
        state.since_snapshot.store(0, Ordering::Relaxed);
        let position = Position {
            applied_through: state.applied_through,
            applied_ahead: state.applied_ahead.clone(),
        };
        let beside = Beside {
            unreadable: state.unreadable.clone(),
            newest: state.newest,
        };
        Some(snapshot::encode(
            workspace,
            &position,
            &state.model,
            &beside,
        ))
    }

    /// The workspaces held in memory.
    pub fn workspaces(&self) -> Vec<WorkspaceId> {
        let workspaces = self.workspaces.read().expect("live lock");
        workspaces.keys().cloned().collect()
    }

    /// Applies whatever the log holds beyond what this process has applied; returns how many
    /// entries that was.
    pub fn catch_up(&self, store: &dyn Store) -> Result<u64, StoreError> {
        self.catch_up_with_progress(store, |_| {})
    }

    fn catch_up_with_progress(
        &self,
        store: &dyn Store,
        mut progress: impl FnMut(u64),
    ) -> Result<u64, StoreError> {
        self.catch_up_each(store, |_| Ok(()), |_, _| {}, &mut progress)
    }

    /// One pass over every workspace: `before` (an error ends the pass), the catch-up, then
    /// `after` with the entries applied. The settled seq is read once for the whole pass: the
    /// store's contract only asks that it be read before the log, and it never goes back.
    fn catch_up_each(
        &self,
        store: &dyn Store,
        mut before: impl FnMut(&WorkspaceId) -> Result<(), StoreError>,
        mut after: impl FnMut(&WorkspaceId, u64),
        progress: &mut impl FnMut(u64),
    ) -> Result<u64, StoreError> {
        let stable = store.stable_through()?;
        let mut applied = 0u64;
        for workspace in store.workspaces()? {
            before(&workspace)?;
            let so_far = applied;
            let n = self.catch_up_workspace(store, &workspace, stable, |n| progress(so_far + n))?;
            after(&workspace, n);
            applied += n;
        }
        Ok(applied)
    }

    /// [`Live::catch_up`] for one workspace: everything the log holds for it through the seq
    /// the store says is settled, read before the log. Entries above that are left for a later
    /// pass (this process's own are applied already), so one a concurrent writer commits late
    /// below a visible seq is still taken.
    fn catch_up_workspace(
        &self,
        store: &dyn Store,
        workspace: &WorkspaceId,
        stable: i64,
        mut progress: impl FnMut(u64),
    ) -> Result<u64, StoreError> {
        let shared = self.workspace_or_new(workspace);
        let first_after = shared.read().expect("workspace lock").applied_through;
        // The log is read (and its entries decoded) a page ahead on a thread of its own, so the
        // next page is being read while the model applies this one. A page read ahead may hold
        // entries the applier took meanwhile (this process's own appends): `apply` skips them.
        std::thread::scope(|scope| {
            let (pages, to_apply) = mpsc::sync_channel::<Result<ReadPage, StoreError>>(1);
            let state: &RwLock<WorkspaceState> = &shared;
            scope.spawn(move || {
                let mut after = first_after;
                loop {
                    let read = read_page(store, workspace, state, after, stable);
                    let next = match &read {
                        Ok(page) if page.more => page.seqs.last().copied(),
                        _ => None,
                    };
                    if pages.send(read).is_err() {
                        return;
                    }
                    match next {
                        Some(last) => after = last,
                        None => return,
                    }
                }
            });
            let mut applied = 0u64;
            for read in to_apply {
                let ReadPage { seqs, more, page } = read?;
                let mut state = shared.write().expect("workspace lock");
                let mut new = Vec::new();
                for stored in &page.entries {
                    if state.apply(stored) {
                        applied += 1;
                        new.push(stored);
                    }
                }
                for bad in page.unreadable {
                    state.quarantine(workspace, bad);
                }
                match seqs.last() {
                    Some(&last) if more => state.seen_through(last),
                    // The rest of the workspace's log through `stable` has been seen.
                    _ => state.seen_through(stable),
                }
                self.update_statuses(workspace, &mut state);
                self.observe_entries(workspace, &state, &new);
                drop(state);
                progress(applied);
            }
            Ok(applied)
        })
    }

    /// The workspace's state, if anything of it has arrived.
    fn workspace(&self, workspace: &WorkspaceId) -> Option<Arc<RwLock<WorkspaceState>>> {
        let workspaces = self.workspaces.read().expect("live lock");
        workspaces.get(workspace).cloned()
    }

    /// The workspace's state, made empty if nothing of it has arrived yet.
    fn workspace_or_new(&self, workspace: &WorkspaceId) -> Arc<RwLock<WorkspaceState>> {
        if let Some(state) = self.workspace(workspace) {
            return state;
        }
        let mut workspaces = self.workspaces.write().expect("live lock");
        let state = workspaces.entry(workspace.clone()).or_insert_with(|| {
            Arc::new(RwLock::new(WorkspaceState {
                model: Model::new(self.settings.clone()),
                applied_through: 0,
                applied_ahead: BTreeSet::new(),
                statuses: BTreeMap::new(),
                unreadable: BTreeMap::new(),
                uninterpreted_logged: BTreeSet::new(),
                since_snapshot: AtomicU64::new(0),
                newest: None,
                lifecycles: Arc::default(),
                partial: false,
                generation: 0,
            }))
        });
        Arc::clone(state)
    }

    /// Every workspace's state, taken from the map at once and locked one by one after.
    fn all_workspaces(&self) -> Vec<(WorkspaceId, Arc<RwLock<WorkspaceState>>)> {
        let workspaces = self.workspaces.read().expect("live lock");
        workspaces
            .iter()
            .map(|(ws, state)| (ws.clone(), Arc::clone(state)))
            .collect()
    }

    /// From now on, keeps every account's status current (see the module note), starting with
    /// all of them now. Fails if the stage rules are invalid; a second call is ignored.
    pub fn keep_statuses(&self, keeping: StatusKeeping) -> Result<(), ReportError> {
        if self.install_statuses(keeping)? {
            self.refresh_statuses();
        }
        Ok(())
    }

    /// Installs how statuses are kept, once; says whether this call did.
    fn install_statuses(&self, keeping: StatusKeeping) -> Result<bool, ReportError> {
        let stages = tenure_reports::stage_rules(&keeping.settings)?;
        Ok(self.statuses.set((keeping, stages)).is_ok())
    }

    /// [`Live::keep_statuses`], with the first scoring of every account on a thread of its own,
    /// so a server answers health checks, ingest and reports while it runs (seconds at 100,000
    /// accounts); status lookups wait for it.
    pub fn keep_statuses_in_background(
        self: &Arc<Self>,
        keeping: StatusKeeping,
    ) -> Result<(), ReportError> {
        *self.scoring.lock().expect("scoring flag") = true;
        if !self
            .install_statuses(keeping)
            .inspect_err(|_| drop(FirstScoring(self)))?
        {
            drop(FirstScoring(self));
            return Ok(());
        }
        let live = Arc::clone(self);
        std::thread::Builder::new()
            .name("tenure-first-scoring".into())
            .spawn(move || {
                let _done = FirstScoring(&live);
                let started = std::time::Instant::now();
                let accounts = live.refresh_statuses();
                tracing::info!(
                    accounts,
                    seconds = started.elapsed().as_secs_f64(),
                    "scored every account"
                );
            })
            .expect("the first scoring's thread starts");
        Ok(())
    }

    /// Recomputes the status of the accounts the entries applied since the last update named.
    /// The touched accounts are forgotten even while statuses are not kept, so a replay before
    /// [`Live::keep_statuses`] leaves nothing for the first live batch to rescore.
    fn update_statuses(&self, workspace: &WorkspaceId, state: &mut WorkspaceState) {
        state.log_uninterpreted(workspace);
        let touched = state.model.take_touched();
        let Some((keeping, stages)) = self.statuses.get() else {
            return;
        };
        if touched.is_empty() {
            return;
        }
        let now = keeping.clock.now();
        for account in touched {
            match keeping.status(stages, &state.model, &account, now) {
                Some(status) => {
                    if let Some(observe) = &keeping.observer {
                        observe(workspace, &status);
                    }
                    state.statuses.insert(account, status);
                }
                None => {
                    state.statuses.remove(&account);
                }
            }
        }
    }

    /// Recomputes every account's status at the clock's now, one workspace at a time, in
    /// parallel and under its read lock, so ingest goes on meanwhile; a status an event refreshed in the meantime is kept.
    /// Returns how many accounts have a status.
    pub fn refresh_statuses(&self) -> usize {
        let Some((keeping, stages)) = self.statuses.get() else {
            return 0;
        };
        let now = keeping.clock.now();
        let mut kept = 0;
        for (ws, shared) in self.all_workspaces() {
            let fresh: Vec<(AccountId, AccountStatus)> = {
                let state = shared.read().expect("workspace lock");
                let ids: Vec<&AccountId> = state.model.account_ids().collect();
                // Each customer goes on from its day ends of the last refresh (or report).
                let statuses = account_statuses(
                    &state.model,
                    &keeping.settings,
                    stages,
                    &ids,
                    now,
                    &state.lifecycles,
                );
                ids.into_iter()
                    .zip(statuses)
                    .filter_map(|(account, status)| match status {
                        Ok(status) => status.map(|s| (account.clone(), s)),
                        Err(e) => {
                            tracing::warn!(account = %account.as_str(), error = %e, "cannot score the account");
                            None
                        }
                    })
                    .collect()
            };
            let mut state = shared.write().expect("workspace lock");
            for (account, status) in fresh {
                // An event may have rescored the account since this pass read the model.
                let newer = state
                    .statuses
                    .get(&account)
                    .is_some_and(|s| s.as_of >= status.as_of);
                if !newer {
                    if let Some(observe) = &keeping.observer {
                        observe(&ws, &status);
                    }
                    state.statuses.insert(account, status);
                }
            }
            kept += state.statuses.len();
        }
        kept
    }

    /// Writes every account's daily health history (health, band, stage at each day's end
    /// while paying, tagged with [`ReportSettings::history_version`]) through the last
    /// completed day, from where the store's history under that version ends; returns the days
    /// written. A stored day is never rewritten: it is what was scored then, even if late data
    /// would score it differently now (reports recompute any day from the log). Accounts are
    /// scored 64 at a time under the read lock and written in short transactions, so ingest
    /// and status updates go on meanwhile.
    pub fn record_history(&self, store: &dyn Store) -> Result<usize, StoreError> {
        let Some((keeping, stages)) = self.statuses.get() else {
            return Ok(0);
        };
        let now = keeping.clock.now();
        let until = Timestamp::from_millis(now.millis().div_euclid(DAY_MS) * DAY_MS - 1);
        let version = keeping.settings.history_version();
        let never = Timestamp::from_millis(i64::MIN / 4);
        let mut written = 0;
        for (ws, shared) in self.all_workspaces() {
            let accounts: Vec<AccountId> = {
                let state = shared.read().expect("workspace lock");
                state.model.account_ids().cloned().collect()
            };
            let through = store.health_days_through(&ws, &version)?;
            for chunk in accounts.chunks(HISTORY_ACCOUNTS_PER_LOCK) {
                let days: Vec<HealthDay> = {
                    let state = shared.read().expect("workspace lock");
                    chunk
                        .iter()
                        .flat_map(|a| {
                            let after = through.get(a.as_str()).copied().unwrap_or(never);
                            daily_health(&state.model, &keeping.settings, stages, a, after, until)
                                .unwrap_or_else(|e| {
                                    tracing::warn!(account = %a.as_str(), error = %e, "cannot score the account's days");
                                    Vec::new()
                                })
                                .into_iter()
                                .map(|d| HealthDay {
                                    account: a.as_str().to_owned(),
                                    day: d.at,
                                    version: version.clone(),
                                    score: d.score,
                                    band: d.band.map(|b| b.name().to_owned()),
                                    stage: d.stage,
                                })
                        })
                        .collect()
                };
                store.put_health_days(&ws, &days)?;
                written += days.len();
            }
        }
        Ok(written)
    }

    /// Whether the first scoring of every account ([`Live::keep_statuses_in_background`]) is
    /// still running: until it ends, the statuses are not all there.
    pub fn still_scoring(&self) -> bool {
        *self.scoring.lock().expect("scoring flag")
    }

    /// The account's live status, once everything submitted before the call is applied; none
    /// when statuses are not kept or the account has never paid nor won a deal.
    pub fn status(&self, workspace: &WorkspaceId, account: &AccountId) -> Option<AccountStatus> {
        self.settle();
        let mut scoring = self.scoring.lock().expect("scoring flag");
        while *scoring {
            scoring = self.scored.wait(scoring).expect("scoring flag");
        }
        drop(scoring);
        let shared = self.workspace(workspace)?;
        let state = shared.read().expect("workspace lock");
        state.statuses.get(account).cloned()
    }

    /// Runs `f` on the workspace's model as it is, without waiting for what is submitted and
    /// not yet applied (the playbooks, following statuses the applier announces); none for a
    /// workspace not seen.
    pub fn read_now<R>(&self, workspace: &WorkspaceId, f: impl FnOnce(&Model) -> R) -> Option<R> {
        let shared = self.workspace(workspace)?;
        let state = shared.read().expect("workspace lock");
        Some(f(&state.model))
    }

    /// Every account's live status in the workspace (none while the first scoring runs, or
    /// when statuses are not kept), with the model they were scored on, read under one lock.
    pub fn with_statuses<R>(
        &self,
        workspace: &WorkspaceId,
        f: impl FnOnce(&Model, &mut dyn Iterator<Item = &AccountStatus>) -> R,
    ) -> Option<R> {
        let shared = self.workspace(workspace)?;
        let state = shared.read().expect("workspace lock");
        Some(f(&state.model, &mut state.statuses.values()))
    }

    /// The entries of the workspace's log that could not be read back, by seq.
    pub fn unreadable(&self, workspace: &WorkspaceId) -> Vec<Unreadable> {
        self.workspace(workspace)
            .map(|shared| {
                let state = shared.read().expect("workspace lock");
                state.unreadable.values().cloned().collect()
            })
            .unwrap_or_default()
    }

    /// How many entries of the workspace's log could not be read back.
    pub fn unreadable_count(&self, workspace: &WorkspaceId) -> usize {
        self.workspace(workspace).map_or(0, |shared| {
            shared.read().expect("workspace lock").unreadable.len()
        })
    }

    /// Applies entries now, in the caller's thread (in any mix of workspaces).
    pub fn apply(&self, entries: &[StoredEntry]) {
        self.apply_all(entries.iter());
    }

    /// Applies entries workspace by workspace, each under its own write lock once, and rescores
    /// the accounts they name.
    fn apply_all<'a>(&self, entries: impl Iterator<Item = &'a StoredEntry>) {
        let mut by_workspace: BTreeMap<&WorkspaceId, Vec<&StoredEntry>> = BTreeMap::new();
        for stored in entries {
            by_workspace
                .entry(&stored.entry.workspace)
                .or_default()
                .push(stored);
        }
        for (workspace, entries) in by_workspace {
            let shared = self.workspace_or_new(workspace);
            let mut state = shared.write().expect("workspace lock");
            let new: Vec<&StoredEntry> = entries.into_iter().filter(|s| state.apply(s)).collect();
            self.update_statuses(workspace, &mut state);
            self.observe_entries(workspace, &state, &new);
        }
    }

    /// Tells the entry observer, if any, of each entry just applied.
    fn observe_entries(
        &self,
        workspace: &WorkspaceId,
        state: &WorkspaceState,
        new: &[&StoredEntry],
    ) {
        let Some((keeping, _)) = self.statuses.get() else {
            return;
        };
        if let Some(observe) = &keeping.entries {
            for stored in new {
                observe(workspace, &state.model, stored);
            }
        }
    }

    /// Runs `f` on the workspace's model (an empty one if nothing arrived yet), once everything
    /// submitted before the call is applied.
    pub fn read<R>(&self, workspace: &WorkspaceId, f: impl FnOnce(&Model) -> R) -> R {
        self.settle();
        match self.workspace(workspace) {
            Some(shared) => f(&shared.read().expect("workspace lock").model),
            None => f(&Model::new(self.settings.clone())),
        }
    }

    /// The customer lifecycles and churn-model snapshots the workspace keeps between reports;
    /// none for a workspace not loaded.
    pub fn lifecycles(&self, workspace: &WorkspaceId) -> Option<Arc<Lifecycles>> {
        self.workspace(workspace)
            .map(|shared| Arc::clone(&shared.read().expect("workspace lock").lifecycles))
    }

    /// Runs report `name` over the workspace's model as [`tenure_reports::run_in_turns`] does,
    /// taking it in turns through [`Live::read`], and with the customer lifecycles the
    /// workspace keeps between reports, so that `funnel` evaluates only the days and the
    /// accounts that are new since the last one. The report is `run_in_turns`'s.
    ///
    /// The last answers are kept until the model changes: the same report with the same
    /// settings and parameters over the same model is the same answer, given again at once
    /// (a dashboard page reloaded, two people on one page, a CSV of the figure just drawn).
    /// Pages of a list are cut from the whole list, kept once.
    pub fn report(
        &self,
        workspace: &WorkspaceId,
        name: &str,
        settings: &ReportSettings,
        params: &ReportParams,
        limits: Limits,
    ) -> Result<Report, ReportError> {
        // A page of a list is cut from the whole list, which is kept: the next page, and the
        // same list asked whole (a dashboard's counts beside its first page), cost no more.
        let paged = tenure_reports::spec(name)
            .is_ok_and(|spec| spec.params.contains(&tenure_reports::Param::Limit));
        // (A report that takes no page refuses `limit` as it runs, below.)
        if params.limit.is_some() && paged {
            let whole = ReportParams {
                limit: None,
                cursor: None,
                ..params.clone()
            };
            let mut report = self.report(workspace, name, settings, &whole, limits)?;
            tenure_reports::paginate(&mut report, params)?;
            return Ok(report);
        }
        self.settle();
        let shared = self.workspace(workspace);
        let (state, generation, lifecycles) = shared.as_ref().map_or_else(
            || (0, 0, Arc::default()),
            |shared| {
                let held = shared.read().expect("workspace lock");
                (
                    Arc::as_ptr(shared) as usize,
                    held.generation,
                    Arc::clone(&held.lifecycles),
                )
            },
        );
        let same = |a: &Answered| {
            a.state == state
                && a.generation == generation
                && a.workspace == *workspace
                && a.name == name
                && a.params == *params
                && a.settings == *settings
        };
        let kept = self
            .answered
            .lock()
            .expect("answers")
            .iter()
            .find(|a| same(a))
            .map(|a| Arc::clone(&a.report));
        // Copied outside the lock: another workspace's report need not wait for it.
        if let Some(kept) = kept {
            return Ok(Report::clone(&kept));
        }
        let report = tenure_reports::run_in_turns_keeping(
            name,
            &|f| self.read(workspace, |model| f(model)),
            settings,
            params,
            limits,
            &lifecycles,
        )?;
        // Kept only if the model did not change while it ran: otherwise it may hold figures
        // of two generations' worth of turns, right for this call, not for the next.
        let now = shared
            .as_ref()
            .map_or(0, |s| s.read().expect("workspace lock").generation);
        if now == generation && report.rows.len() <= ANSWER_ROWS_KEPT {
            let kept = Answered {
                workspace: workspace.clone(),
                state,
                generation,
                name: name.to_owned(),
                settings: settings.clone(),
                params: params.clone(),
                report: Arc::new(report.clone()),
            };
            let mut answered = self.answered.lock().expect("answers");
            answered.retain(|a| !same(a));
            answered.push_back(kept);
            let rows =
                |all: &VecDeque<Answered>| all.iter().map(|a| a.report.rows.len()).sum::<usize>();
            while answered.len() > ANSWERS_KEPT || rows(&answered) > ANSWER_ROWS_KEPT {
                answered.pop_front();
            }
        }
        Ok(report)
    }
}

/// A batch handed to the applier, with when, for the apply lag.
type Submitted = (Instant, Vec<StoredEntry>);

/// Applies queued batches, taking whatever has queued up under one lock.
fn apply_loop(live: Weak<Live>, rx: Receiver<Submitted>) {
    while let Ok(first) = rx.recv() {
        let mut batches = vec![first];
        while let Ok(next) = rx.try_recv() {
            batches.push(next);
            if batches.len() >= 64 {
                break;
            }
        }
        let Some(live) = live.upgrade() else { return };
        live.apply_all(batches.iter().flat_map(|(_, entries)| entries));
        live.mark_applied(batches.len() as u64);
        for (submitted, _) in &batches {
            live.metrics
                .apply_lag
                .observe(submitted.elapsed().as_secs_f64());
        }
    }
}
