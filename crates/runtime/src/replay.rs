//! The dry-run's third form: what the playbooks would have fired, and when, over a window of
//! the log, recording and sending nothing.
//!
//! A replay goes through the stored log as a server running through the window would have:
//! - the model is built from every entry received before the window's start, with the same
//!   [`Live`] a server keeps (the same application of entries, the same scoring);
//! - at the window's start every account is scored (each account's baseline, as at a server's
//!   start), and the first tick runs with every playbook version switched on then, so
//!   `on_enable` applies there: with `none`, the accounts matching a state or calendar trigger
//!   then are recorded as seen and fire nothing;
//! - then the window's entries are applied in log order, those received at one instant
//!   together, with `now` = their receipt time; the accounts they name are rescored, compared
//!   with their previous status ([`changes`]) and the change triggers decided, then the event
//!   triggers of the track events among them;
//! - at every tick boundary (a whole multiple of the tick since the epoch: midnights for the
//!   daily tick) every account is rescored for what time alone changes, as a server's refresh
//!   does, and the state and calendar triggers are evaluated over the statuses, as
//!   [`Actions::tick`](crate::Actions::tick) does.
//!
//! The deciding is the live path's, function for function ([`fires`], the per-account cap
//! [`PlaybookSettings::allows`](tenure_playbooks::PlaybookSettings::allows), [`status_of`],
//! [`changes`], [`event_changes`], the payloads rendered by the same code), with an in-memory
//! firing history in place of the store: a firing counts for the limits and the cap of later
//! ones, and a key is recorded once. The history starts empty at the window's start: firings
//! the store holds from before are not counted. `crates/runtime/tests/replay.rs` checks that
//! a replay finds the firings the live path makes over the same log.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};

use serde::Serialize;
use serde_json::Value;
use tenure_core::{AccountId, StoredEntry, Timestamp, WorkspaceId};
use tenure_engine::EngineSettings;
use tenure_playbooks::{Change, OnEnable, Playbooks, Status};
use tenure_reports::{AccountStatus, ReportError, ReportSettings};
use tenure_store::{NewFiring, Store, StoreError};

use crate::actions::{awaited_events, event_changes, status_of};
use crate::deciding::{Decided, Deciding, Fired};
use crate::{Clock, Live, ManualClock, StatusKeeping};

/// Why deciding in a replay cannot fail: it reads the firings it keeps itself.
const IN_MEMORY: &str = "a replay's firings are its own, read from memory";

/// Entries read from the log at once.
const PAGE: usize = 10_000;

/// The span a replay goes through, and how often its ticks fall.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Entries received from this instant on are replayed; those before build the model.
    pub from: Timestamp,
    /// Entries received after this instant are left out; ticks run through it.
    pub until: Timestamp,
    /// The state and calendar triggers are evaluated at every whole multiple of this many
    /// milliseconds since the epoch (a day: at each midnight UTC).
    pub tick_ms: i64,
}

/// What a replay found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Replayed {
    /// Entries received within the window and applied.
    pub entries: u64,
    /// Ticks evaluated, the first at the window's start included.
    pub ticks: u64,
    /// Each firing, in the order it would have been decided.
    pub firings: Vec<ReplayedFiring>,
    /// Per configured playbook, in the configuration's order.
    pub counts: Vec<ReplayCount>,
}

/// One firing a replay found: what the store would have recorded, with its deliveries.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReplayedFiring {
    pub playbook: String,
    pub version: String,
    pub account: String,
    pub key: String,
    pub period: String,
    pub fired_at: Timestamp,
    /// As the firings log shows it: `{cause, detail}`.
    pub cause: Value,
    /// What each action would have sent, rendered, and when.
    pub actions: Vec<ReplayedAction>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReplayedAction {
    pub step: u32,
    pub kind: String,
    pub destination: String,
    pub due_at: Timestamp,
    pub payload: Value,
}

/// One playbook's firings in a replay.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReplayCount {
    pub playbook: String,
    pub version: String,
    pub enabled: bool,
    pub firings: usize,
    /// Accounts matching its state or calendar trigger at the window's start, recorded as
    /// seen without firing (`on_enable = "none"`).
    pub seen_at_start: usize,
    /// Decisions to fire that the per-account daily cap held back (a state held back at
    /// several ticks counts at each).
    pub capped: usize,
}

/// How far a replay is, for a progress line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplayProgress {
    /// Building the model from the entries before the window: this many so far.
    Building { entries: u64 },
    /// In the window: this many of its entries applied, now at this instant.
    Replaying { entries: u64, at: Timestamp },
}

/// Why a replay could not be made.
#[derive(Debug)]
pub enum ReplayError {
    Store(StoreError),
    Report(ReportError),
}

impl std::fmt::Display for ReplayError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReplayError::Store(e) => write!(f, "{e}"),
            ReplayError::Report(e) => write!(f, "cannot score the accounts: {e}"),
        }
    }
}

impl std::error::Error for ReplayError {}

impl From<StoreError> for ReplayError {
    fn from(e: StoreError) -> Self {
        ReplayError::Store(e)
    }
}

impl From<ReportError> for ReplayError {
    fn from(e: ReportError) -> Self {
        ReplayError::Report(e)
    }
}

/// Replays `playbooks` over the workspace's log within `window` (see the module note).
pub fn replay(
    store: &dyn Store,
    workspace: &WorkspaceId,
    engine: EngineSettings,
    settings: &ReportSettings,
    playbooks: &Playbooks,
    window: Window,
    progress: &mut dyn FnMut(ReplayProgress),
) -> Result<Replayed, ReplayError> {
    let live = Live::empty(engine);
    let mut run: Option<Run<'_>> = None;
    let mut built = 0u64;
    let mut after = 0i64;
    'pages: loop {
        let page = store.read_log(workspace, after, PAGE)?;
        let Some(last) = page.last_seq() else { break };
        after = last;
        let mut before_window = Vec::new();
        for stored in page.entries {
            if run.is_none() && stored.entry.received_at < window.from {
                before_window.push(stored);
                continue;
            }
            if !before_window.is_empty() {
                built += before_window.len() as u64;
                live.apply(&std::mem::take(&mut before_window));
                progress(ReplayProgress::Building { entries: built });
            }
            if stored.entry.received_at > window.until {
                break 'pages;
            }
            if run.is_none() {
                run = Some(Run::start(&live, workspace, settings, playbooks, window)?);
            }
            let r = run.as_mut().expect("started");
            let ticks = r.ticks;
            r.feed(stored);
            // A tick rescoring every account is the slow part of a long replay.
            if r.ticks != ticks || r.entries.is_multiple_of(PAGE as u64) {
                progress(ReplayProgress::Replaying {
                    entries: r.entries,
                    at: r.now,
                });
            }
        }
        if !before_window.is_empty() {
            built += before_window.len() as u64;
            live.apply(&before_window);
            progress(ReplayProgress::Building { entries: built });
        }
    }
    let mut run = match run {
        Some(run) => run,
        None => Run::start(&live, workspace, settings, playbooks, window)?,
    };
    run.finish(progress);
    Ok(run.into_replayed())
}

/// What the kept statuses tell, as a server's playbooks thread is told it.
enum Noticed {
    Status(AccountStatus),
    Event(AccountId, Change),
}

/// A replay under way, from the window's start.
struct Run<'a> {
    live: &'a Live,
    workspace: &'a WorkspaceId,
    settings: &'a ReportSettings,
    playbooks: &'a Playbooks,
    window: Window,
    clock: Arc<ManualClock>,
    noticed: Arc<Mutex<Vec<Noticed>>>,
    /// Entries received at `now`, not yet applied.
    batch: Vec<StoredEntry>,
    now: Timestamp,
    next_tick: Timestamp,
    entries: u64,
    ticks: u64,
    seen: HashMap<AccountId, Status>,
    history: History,
    firings: Vec<ReplayedFiring>,
    seen_at_start: BTreeMap<String, usize>,
    capped: BTreeMap<String, usize>,
}

/// The firings a replay has recorded, in place of the store's.
#[derive(Default)]
struct History {
    keys: HashSet<String>,
    /// Each account's firings: playbook and instant.
    by_account: HashMap<String, Vec<(String, Timestamp)>>,
}

impl Fired for History {
    fn instants(
        &self,
        _: &WorkspaceId,
        account: &str,
        playbook: Option<&str>,
        since: Option<Timestamp>,
    ) -> Result<Vec<Timestamp>, StoreError> {
        Ok(self
            .by_account
            .get(account)
            .into_iter()
            .flatten()
            .filter(|(p, t)| playbook.is_none_or(|name| p == name) && since.is_none_or(|s| *t >= s))
            .map(|(_, t)| *t)
            .collect())
    }
}

impl History {
    /// Records a firing under its key's unique constraint: whether it was new.
    fn record(&mut self, firing: &NewFiring) -> bool {
        if !self.keys.insert(firing.key.clone()) {
            return false;
        }
        self.by_account
            .entry(firing.account.clone())
            .or_default()
            .push((firing.playbook.clone(), firing.fired_at));
        true
    }
}

/// The first tick boundary after `t`.
fn next_boundary(t: Timestamp, tick_ms: i64) -> Timestamp {
    Timestamp::from_millis((t.millis().div_euclid(tick_ms) + 1) * tick_ms)
}

impl<'a> Run<'a> {
    /// Scores every account at the window's start (their baselines) and runs the first tick,
    /// with every playbook switched on then.
    fn start(
        live: &'a Live,
        workspace: &'a WorkspaceId,
        settings: &'a ReportSettings,
        playbooks: &'a Playbooks,
        window: Window,
    ) -> Result<Run<'a>, ReplayError> {
        let clock = Arc::new(ManualClock::new(window.from));
        let noticed: Arc<Mutex<Vec<Noticed>>> = Arc::default();
        let mut keeping = StatusKeeping::new(settings.clone(), clock.clone() as Arc<dyn Clock>);
        let (ws, to) = (workspace.clone(), Arc::clone(&noticed));
        keeping.observer = Some(Box::new(move |w, status| {
            if *w == ws {
                to.lock()
                    .expect("noticed")
                    .push(Noticed::Status(status.clone()));
            }
        }));
        let (ws, to) = (workspace.clone(), Arc::clone(&noticed));
        let events = awaited_events(playbooks);
        keeping.entries = Some(Box::new(move |w, model, stored| {
            if *w != ws {
                return;
            }
            let mut to = to.lock().expect("noticed");
            for (account, change) in event_changes(&events, model, stored) {
                to.push(Noticed::Event(account, change));
            }
        }));
        live.keep_statuses(keeping)?;
        let mut run = Run {
            live,
            workspace,
            settings,
            playbooks,
            window,
            clock,
            noticed,
            batch: Vec::new(),
            now: window.from,
            next_tick: next_boundary(window.from, window.tick_ms),
            entries: 0,
            ticks: 0,
            seen: HashMap::new(),
            history: History::default(),
            firings: Vec::new(),
            seen_at_start: BTreeMap::new(),
            capped: BTreeMap::new(),
        };
        run.drain(window.from);
        run.tick(window.from, true);
        Ok(run)
    }

    /// Takes one entry of the window: entries received at one instant are applied together.
    fn feed(&mut self, stored: StoredEntry) {
        // Time never goes back: an entry received before the one it follows in the log is
        // applied at the later instant.
        let at = stored.entry.received_at.max(self.now);
        if at > self.now {
            self.flush();
            self.ticks_through(at);
            self.now = at;
        }
        self.entries += 1;
        self.batch.push(stored);
    }

    /// Applies the entries waiting at `now` and acts on what they changed.
    fn flush(&mut self) {
        if self.batch.is_empty() {
            return;
        }
        self.clock.set(self.now);
        self.live.apply(&std::mem::take(&mut self.batch));
        self.drain(self.now);
    }

    /// Runs every tick due through `t`: each rescoring every account, then the state and
    /// calendar triggers.
    fn ticks_through(&mut self, t: Timestamp) {
        while self.next_tick <= t {
            let at = self.next_tick;
            self.clock.set(at);
            self.live.refresh_statuses();
            self.drain(at);
            self.tick(at, false);
            self.next_tick = next_boundary(at, self.window.tick_ms);
        }
    }

    fn finish(&mut self, progress: &mut dyn FnMut(ReplayProgress)) {
        self.flush();
        self.ticks_through(self.window.until);
        progress(ReplayProgress::Replaying {
            entries: self.entries,
            at: self.window.until,
        });
    }

    /// Acts on the statuses and events noticed since the last call, in order, at `now`.
    fn drain(&mut self, now: Timestamp) {
        let noticed = std::mem::take(&mut *self.noticed.lock().expect("noticed"));
        for n in noticed {
            match n {
                Noticed::Status(status) => self.on_status(&status, now),
                Noticed::Event(account, change) => self.on_event(&account, &change, now),
            }
        }
    }

    /// As `Actions::on_status`: a new status compared with the account's previous one.
    fn on_status(&mut self, status: &AccountStatus, now: Timestamp) {
        let before = self.seen.get(&status.account).cloned();
        let settings = self.settings;
        let Some(after) = self.live.read_now(self.workspace, |model| {
            status_of(model, settings, status, before.as_ref())
        }) else {
            return;
        };
        if let Some(before) = &before {
            let mut decided = Decided::default();
            let deciding = self.deciding(now);
            deciding
                .changes(&mut decided, self.workspace, before, &after)
                .expect(IN_MEMORY);
            self.record(decided);
        }
        self.seen.insert(status.account.clone(), after);
    }

    /// As `Actions::on_event`: the event triggers on one track event, as the account last
    /// stood.
    fn on_event(&mut self, account: &AccountId, change: &Change, now: Timestamp) {
        let Some(status) = self.seen.get(account).cloned() else {
            return;
        };
        let mut decided = Decided::default();
        self.deciding(now)
            .event(&mut decided, self.workspace, &status, change)
            .expect(IN_MEMORY);
        self.record(decided);
    }

    /// As `Actions::tick`: the state and calendar triggers over every account's status;
    /// `first`, the tick at which every playbook is switched on.
    fn tick(&mut self, now: Timestamp, first: bool) {
        self.ticks += 1;
        let settings = self.settings;
        let seen = &self.seen;
        let statuses: Vec<Status> = self
            .live
            .with_statuses(self.workspace, |model, statuses| {
                statuses
                    .map(|s| status_of(model, settings, s, seen.get(&s.account)))
                    .collect()
            })
            .unwrap_or_default();
        for playbook in self.playbooks.enabled() {
            let quiet = first && playbook.on_enable == OnEnable::None;
            let mut decided = Decided::default();
            let seen = self
                .deciding(now)
                .tick(&mut decided, self.workspace, playbook, &statuses, quiet)
                .expect(IN_MEMORY);
            for firing in seen {
                if self.history.record(&firing) {
                    *self.seen_at_start.entry(playbook.name.clone()).or_default() += 1;
                }
            }
            self.record(decided);
        }
    }

    /// The playbooks deciding at `now`, against the replay's own firings.
    fn deciding(&self, now: Timestamp) -> Deciding<'_, History> {
        Deciding {
            playbooks: self.playbooks,
            fired: &self.history,
            now,
        }
    }

    /// Records what was decided, each key once, as the store would.
    fn record(&mut self, decided: Decided) {
        for (playbook, _) in decided.capped {
            *self.capped.entry(playbook).or_default() += 1;
        }
        for (_, firing, deliveries) in decided.firings {
            if !self.history.record(&firing) {
                continue;
            }
            self.firings.push(ReplayedFiring {
                playbook: firing.playbook,
                version: firing.version,
                account: firing.account,
                key: firing.key,
                period: firing.period,
                fired_at: firing.fired_at,
                cause: firing.cause,
                actions: deliveries
                    .into_iter()
                    .map(|d| ReplayedAction {
                        step: d.step,
                        kind: d.kind,
                        destination: d.destination,
                        due_at: d.due_at,
                        payload: d.payload,
                    })
                    .collect(),
            });
        }
    }

    fn into_replayed(self) -> Replayed {
        let counts = self
            .playbooks
            .playbooks
            .iter()
            .map(|p| ReplayCount {
                playbook: p.name.clone(),
                version: p.version().to_owned(),
                enabled: p.enabled,
                firings: self.firings.iter().filter(|f| f.playbook == p.name).count(),
                seen_at_start: self.seen_at_start.get(&p.name).copied().unwrap_or(0),
                capped: self.capped.get(&p.name).copied().unwrap_or(0),
            })
            .collect();
        Replayed {
            entries: self.entries,
            ticks: self.ticks,
            firings: self.firings,
            counts,
        }
    }
}
