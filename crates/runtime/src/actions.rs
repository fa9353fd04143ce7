//! Playbooks at run time (SPEC §5): what tenure does about what it knows.
//!
//! Three moving parts, each a plain function of the store and the live models, so that a
//! restart, a second server on the same store or a replay decides the same:
//! - **changes**: every account status [`Live`] recomputes (as an event names the account) is
//!   handed, through [`Actions::observer`], to a thread of its own ([`Actions::start`]), which
//!   compares it with the account's previous status ([`tenure_playbooks::changes`]) and fires
//!   the playbooks whose change trigger matches; track events an event trigger waits for come
//!   the same way ([`Actions::entry_observer`]), after the status they changed. An account's
//!   first status after start-up is its baseline: nothing fires on it (what changed while the
//!   server was down is not known; the state and calendar triggers still see where it stands).
//! - **ticks** ([`Actions::tick`], every minute): the state and calendar triggers over every
//!   account's status, and the `sla_breached` trigger over the handoffs whose SLA ended unmet
//!   ([`Store::sla_breaches`]), by one server at a time (a lease in the store).
//! - **deliveries** ([`Actions::deliver_to`]): the outbox, claimed under a lease by a worker
//!   per destination, each taking only its own, so an outage of one delays only its own.
//!
//! A firing is recorded with its deliveries in one transaction under its key's unique
//! constraint ([`Store::record_firing`]): whichever path, process or replay decides it first,
//! it is recorded and delivered once.

use std::collections::{BTreeMap, HashMap};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde_json::{json, Value};
use tenure_core::{AccountId, EntryBody, MessageType, Timestamp, WorkspaceId};
use tenure_destinations::{Destination, DestinationError, Outcome, Outgoing};
use tenure_engine::Model;
use tenure_playbooks::{
    fires, render_template, AccountDate, Action, Change, Firing, Occasion, OnEnable, Playbook,
    Playbooks, Profile, Status, SLA_BREACH_GRACE_DAYS,
};
use tenure_reports::{AccountRevenue, AccountStatus, ReportSettings};
use tenure_store::{
    Attempted, ClaimFor, Delivery, NewDelivery, NewFiring, NewTask, OwnerChange, Store, StoreError,
};

use crate::deciding::{Decided, Deciding, FiredKept, DAY_MS};
use crate::{Clock, EntryObserver, Live, StatusObserver};

/// The longest a delivery attempt may take (an SMTP conversation, the slowest): a pass claims
/// no more deliveries than its lease has room for, one after another, so a lease never ends
/// while its deliveries are still being attempted.
const LONGEST_ATTEMPT_SECS: u32 = 30;
/// The destination of the actions tenure carries out itself, in its store: tasks and handoffs.
pub const IN_STORE: &str = "tenure";
/// The lease that makes one server at a time evaluate the state and calendar triggers.
const TICK_LEASE: &str = "playbooks.tick";
const TICK_LEASE_MS: i64 = 120_000;
/// At most this many noticed statuses and events are taken from the queue at once.
const FOLLOW_BATCH: usize = 50_000;

/// `batch` with each account's statuses replaced by its latest, at the place of its first;
/// events kept, in order.
fn coalesced(batch: Vec<Noticed>) -> Vec<Noticed> {
    let mut first: HashMap<(WorkspaceId, AccountId), usize> = HashMap::new();
    let mut out: Vec<Noticed> = Vec::with_capacity(batch.len());
    for noticed in batch {
        match noticed {
            Noticed::Status(ws, status) => {
                let key = (ws.clone(), status.account.clone());
                match first.get(&key) {
                    Some(&i) => out[i] = Noticed::Status(ws, status),
                    None => {
                        first.insert(key, out.len());
                        out.push(Noticed::Status(ws, status));
                    }
                }
            }
            event => out.push(event),
        }
    }
    out
}

/// The track event an entry holds, as the change each account it is about sees, if `events`
/// (the names some playbook's trigger waits for) holds its name; nothing for any other entry.
/// What the live path ([`Actions::entry_observer`]) and a replay ([`crate::replay`]) fire
/// event triggers on.
pub fn event_changes(
    events: &std::collections::BTreeSet<String>,
    model: &Model,
    stored: &tenure_core::StoredEntry,
) -> Vec<(AccountId, Change)> {
    let EntryBody::Segment(m) = &stored.entry.body else {
        return Vec::new();
    };
    let Some(name) = m.event.as_deref().filter(|_| m.kind == MessageType::Track) else {
        return Vec::new();
    };
    if !events.contains(name) {
        return Vec::new();
    }
    model
        .accounts_of_message(m)
        .into_iter()
        .map(|account| {
            let change = Change::Event {
                name: name.to_owned(),
                message_id: m.message_id.clone(),
                at: m.timestamp,
                properties: m.properties.clone(),
            };
            (account, change)
        })
        .collect()
}

/// The event names the switched-on playbooks' event triggers wait for.
pub fn awaited_events(playbooks: &Playbooks) -> std::collections::BTreeSet<String> {
    playbooks
        .enabled()
        .filter_map(|p| match &p.trigger {
            tenure_playbooks::Trigger::Event { name, .. } => Some(name.clone()),
            _ => None,
        })
        .collect()
}

/// The account of the firing that marks a playbook version switched on in a workspace
/// ([`Actions::tick`]): no account, so the audit views tell it apart.
pub const SWITCHED_ON: &str = "*";

/// The running playbooks of a process: their configuration, the destinations built from it,
/// and each account's last status seen.
#[derive(Debug)]
pub struct Actions {
    playbooks: Playbooks,
    settings: ReportSettings,
    store: Arc<dyn Store>,
    /// The firings made, as decisions read them.
    fired: FiredKept,
    clock: Arc<dyn Clock>,
    destinations: BTreeMap<String, Box<dyn Destination>>,
    /// This process, as the owner of the leases it takes.
    owner: String,
    seen: Mutex<HashMap<(WorkspaceId, AccountId), Status>>,
    /// The playbook versions known to be switched on, by workspace: the store is asked once.
    switched: Mutex<std::collections::HashSet<(WorkspaceId, String)>>,
    queue: Mutex<Option<Sender<Noticed>>>,
    /// The event names some playbook's trigger waits for.
    events: std::collections::BTreeSet<String>,
}

/// What the live models tell the playbooks' thread, in the order it happened.
#[derive(Debug)]
enum Noticed {
    Status(WorkspaceId, AccountStatus),
    Event(WorkspaceId, AccountId, Change),
}

impl Actions {
    /// The playbooks of a configuration, with their destinations built (each secret read
    /// through `env`; a missing one is an error naming its variable).
    pub fn new(
        playbooks: Playbooks,
        settings: ReportSettings,
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Actions, DestinationError> {
        let events = awaited_events(&playbooks);
        let destinations = playbooks
            .destinations
            .iter()
            .map(|d| Ok((d.name.clone(), tenure_destinations::build(d, env)?)))
            .collect::<Result<_, DestinationError>>()?;
        Ok(Actions {
            playbooks,
            settings,
            fired: FiredKept::new(Arc::clone(&store)),
            store,
            clock,
            destinations,
            owner: format!("tenure-{}-{}", std::process::id(), random_u64()),
            seen: Mutex::new(HashMap::new()),
            switched: Mutex::new(Default::default()),
            queue: Mutex::new(None),
            events,
        })
    }

    /// The playbooks deciding at `now`, against the store's firings.
    fn deciding(&self, now: Timestamp) -> Deciding<'_, FiredKept> {
        Deciding {
            playbooks: &self.playbooks,
            fired: &self.fired,
            now,
        }
    }

    /// Records one firing without deliveries (a playbook switched on, an account seen),
    /// keeping it for later decisions; whether it was new.
    fn record_one(&self, workspace: &WorkspaceId, firing: &NewFiring) -> Result<bool, StoreError> {
        let new = self.store.record_firing(workspace, firing, &[])?;
        self.fired.recorded(workspace, firing, new);
        Ok(new)
    }

    /// Whether any playbook is switched on.
    pub fn any_enabled(&self) -> bool {
        self.playbooks.enabled().next().is_some()
    }

    /// What [`Live`] tells of every status it recomputes: handed on to the thread
    /// [`Actions::start`] runs, never waiting (it is called under the workspace's lock).
    pub fn observer(self: &Arc<Self>) -> StatusObserver {
        let actions = Arc::clone(self);
        Box::new(move |workspace, status| {
            actions.notice(Noticed::Status(workspace.clone(), status.clone()));
        })
    }

    /// What [`Live`] tells of every entry it applies: each track event an event trigger waits
    /// for, with the accounts it is about, handed on as [`Actions::observer`] hands statuses.
    pub fn entry_observer(self: &Arc<Self>) -> EntryObserver {
        let actions = Arc::clone(self);
        Box::new(move |workspace, model, stored| {
            for (account, change) in event_changes(&actions.events, model, stored) {
                actions.notice(Noticed::Event(workspace.clone(), account, change));
            }
        })
    }

    fn notice(&self, noticed: Noticed) {
        if let Some(queue) = self.queue.lock().expect("queue").as_ref() {
            // The thread gone (shutting down): nothing left to fire.
            let _ = queue.send(noticed);
        }
    }

    /// Starts the thread that fires change triggers on the statuses the observer hands on. It
    /// ends when the queue closes ([`Actions::stop`]) or the models are gone.
    pub fn start(self: &Arc<Self>, live: &Arc<Live>) {
        let (tx, rx) = mpsc::channel();
        *self.queue.lock().expect("queue") = Some(tx);
        let (actions, live) = (Arc::clone(self), Arc::downgrade(live));
        std::thread::Builder::new()
            .name("tenure-playbooks".into())
            .spawn(move || actions.follow(live, rx))
            .expect("the playbooks thread starts");
    }

    /// Closes the queue: the thread ends once it has fired on what it holds.
    pub fn stop(&self) {
        self.queue.lock().expect("queue").take();
    }

    fn follow(&self, live: std::sync::Weak<Live>, rx: Receiver<Noticed>) {
        while let Ok(first) = rx.recv() {
            let Some(live) = live.upgrade() else { return };
            // Under a stream of events an account is rescored many times before this thread
            // comes to it: what queued meanwhile is taken at once, and of an account's statuses
            // only the latest is compared with what was seen (at the place of its first), so
            // the thread keeps up. A change that came and went within that wait is not seen.
            let mut batch = vec![first];
            while batch.len() < FOLLOW_BATCH {
                match rx.try_recv() {
                    Ok(next) => batch.push(next),
                    Err(_) => break,
                }
            }
            let batch = coalesced(batch);
            // The playbooks' view of every status in the batch, computed together: each
            // account is in it once, so its status before is the one seen before the batch.
            let mut viewed = self.view(&live, &batch).into_iter();
            // What the batch decides is recorded in one transaction at its end.
            let mut decided = Decided::default();
            for noticed in &batch {
                let (workspace, account, done) = match noticed {
                    Noticed::Status(ws, status) => {
                        let (before, after) = viewed.next().expect("a view of every status");
                        let done = match after {
                            Some(after) => self.changed_into(&mut decided, ws, before, after),
                            None => Ok(()),
                        };
                        (ws, &status.account, done)
                    }
                    Noticed::Event(ws, account, change) => (
                        ws,
                        account,
                        self.event_into(&mut decided, ws, account, change),
                    ),
                };
                if let Err(e) = done {
                    tracing::error!(workspace = %workspace, account = %account.as_str(), error = %e, "cannot decide a playbook firing; the change is not acted on");
                }
            }
            if let Err(e) = self.record(decided) {
                tracing::error!(error = %e, "cannot record the playbook firings decided; the changes are not acted on");
            }
        }
    }

    /// For each status in `batch`, in order: the account's status seen before, and the
    /// playbooks' view of the new one ([`Actions::views`]).
    fn view(&self, live: &Live, batch: &[Noticed]) -> Vec<(Option<Status>, Option<Status>)> {
        let statuses: Vec<(&WorkspaceId, &AccountStatus, Option<Status>)> = {
            let seen = self.seen.lock().expect("seen");
            batch
                .iter()
                .filter_map(|n| match n {
                    Noticed::Status(ws, s) => {
                        let before = seen.get(&(ws.clone(), s.account.clone())).cloned();
                        Some((ws, s, before))
                    }
                    Noticed::Event(..) => None,
                })
                .collect()
        };
        let mut out = Vec::with_capacity(statuses.len());
        for same in statuses.chunk_by(|a, b| a.0 == b.0) {
            let workspace = same[0].0;
            let of_one: Vec<_> = same.iter().map(|(_, s, before)| (*s, before)).collect();
            let afters = self.views(live, workspace, &of_one);
            out.extend(same.iter().map(|p| p.2.clone()).zip(afters));
        }
        out
    }

    /// The playbooks' view of each of a workspace's `statuses`, given the account's status
    /// seen before it (none for a workspace gone). Read a few dozen at a time under the
    /// workspace's lock, so the applier never waits long; on the caller's thread, so the
    /// applier keeps a core (computed in parallel, they took the ingest's: in the live bench
    /// acknowledgement to status was p99 260 ms, against 91 ms on one thread, though other
    /// builds shared the machine during those runs, so the ratio is rough).
    fn views(
        &self,
        live: &Live,
        workspace: &WorkspaceId,
        statuses: &[(&AccountStatus, &Option<Status>)],
    ) -> Vec<Option<Status>> {
        const CHUNK: usize = 64;
        let mut out = Vec::with_capacity(statuses.len());
        for part in statuses.chunks(CHUNK) {
            let afters = live.read_now(workspace, |model| {
                part.iter()
                    .map(|(s, before)| Some(status_of(model, &self.settings, s, before.as_ref())))
                    .collect::<Vec<_>>()
            });
            out.extend(afters.unwrap_or_else(|| vec![None; part.len()]));
        }
        out
    }

    /// Records what was decided, each workspace's firings in one transaction; returns how
    /// many were new (the others' keys were recorded already, by this or another process).
    fn record(&self, decided: Decided) -> Result<usize, StoreError> {
        for (playbook, account) in &decided.capped {
            tracing::info!(
                account,
                playbook,
                "not fired: the account's daily cap of firings is reached"
            );
        }
        let mut by_workspace: BTreeMap<WorkspaceId, Vec<(NewFiring, Vec<NewDelivery>)>> =
            BTreeMap::new();
        for (ws, firing, deliveries) in decided.firings {
            by_workspace
                .entry(ws)
                .or_default()
                .push((firing, deliveries));
        }
        let mut recorded = 0;
        for (ws, firings) in by_workspace {
            let new = self.store.record_firings(&ws, &firings)?;
            for ((firing, deliveries), new) in firings.iter().zip(new) {
                self.fired.recorded(&ws, firing, new);
                if new {
                    recorded += 1;
                    tracing::info!(workspace = %ws, account = %firing.account, playbook = %firing.playbook, key = %firing.key, deliveries = deliveries.len(), "playbook fired");
                }
            }
        }
        Ok(recorded)
    }

    /// Fires the event triggers on one track event of an account, as the account last stood;
    /// an account without a status (never a customer) is left alone. Returns the firings
    /// recorded.
    pub fn on_event(
        &self,
        workspace: &WorkspaceId,
        account: &AccountId,
        change: &Change,
    ) -> Result<usize, StoreError> {
        let mut decided = Decided::default();
        self.event_into(&mut decided, workspace, account, change)?;
        self.record(decided)
    }

    fn event_into(
        &self,
        decided: &mut Decided,
        workspace: &WorkspaceId,
        account: &AccountId,
        change: &Change,
    ) -> Result<(), StoreError> {
        let status = self
            .seen
            .lock()
            .expect("seen")
            .get(&(workspace.clone(), account.clone()))
            .cloned();
        let Some(status) = status else {
            return Ok(());
        };
        self.deciding(self.clock.now())
            .event(decided, workspace, &status, change)
    }

    /// Fires the change triggers on one new status of an account; returns the firings
    /// recorded.
    pub fn on_status(
        &self,
        live: &Live,
        workspace: &WorkspaceId,
        status: &AccountStatus,
    ) -> Result<usize, StoreError> {
        let mut decided = Decided::default();
        self.status_into(&mut decided, live, workspace, status)?;
        self.record(decided)
    }

    fn status_into(
        &self,
        decided: &mut Decided,
        live: &Live,
        workspace: &WorkspaceId,
        status: &AccountStatus,
    ) -> Result<(), StoreError> {
        let key = (workspace.clone(), status.account.clone());
        let before = self.seen.lock().expect("seen").get(&key).cloned();
        let Some(after) = self
            .views(live, workspace, &[(status, &before)])
            .pop()
            .flatten()
        else {
            return Ok(());
        };
        self.changed_into(decided, workspace, before, after)
    }

    /// Decides the change triggers on what changed from `before` to `after` (nothing on an
    /// account's first status, its baseline), and keeps `after` as the account's status seen.
    fn changed_into(
        &self,
        decided: &mut Decided,
        workspace: &WorkspaceId,
        before: Option<Status>,
        after: Status,
    ) -> Result<(), StoreError> {
        let result = match &before {
            Some(before) => self
                .deciding(self.clock.now())
                .changes(decided, workspace, before, &after),
            None => Ok(()),
        };
        self.seen
            .lock()
            .expect("seen")
            .insert((workspace.clone(), after.account.clone()), after);
        result
    }

    /// Evaluates the state and calendar triggers over every account's status, if this
    /// process holds the tick's lease; returns the firings recorded.
    pub fn tick(&self, live: &Live) -> Result<usize, StoreError> {
        // Before the first scoring ends, the accounts not yet scored would look unmatched:
        // `on_enable = "none"` would record them as nothing, and the next tick fire for them.
        if live.still_scoring() {
            return Ok(0);
        }
        let now = self.clock.now();
        if !self
            .store
            .take_lease(TICK_LEASE, &self.owner, now, TICK_LEASE_MS)?
        {
            return Ok(0);
        }
        let mut fired = 0;
        for workspace in live.workspaces() {
            // Taken out under one short lock, viewed a few dozen at a time (at 100,000
            // accounts, viewing them all under one lock would hold the applier for a second).
            let current: Vec<AccountStatus> = live
                .with_statuses(&workspace, |_, statuses| statuses.cloned().collect())
                .unwrap_or_default();
            let befores: Vec<Option<Status>> = {
                let seen = self.seen.lock().expect("seen");
                current
                    .iter()
                    .map(|s| seen.get(&(workspace.clone(), s.account.clone())).cloned())
                    .collect()
            };
            let pairs: Vec<_> = current.iter().zip(&befores).collect();
            let statuses: Vec<Status> = self
                .views(live, &workspace, &pairs)
                .into_iter()
                .flatten()
                .collect();
            for playbook in self.playbooks.enabled().filter(|p| !is_sla_breach(p)) {
                // A playbook seen for the first time (or a new version of it) with
                // `on_enable = "none"` records whom it matches now as seen, sending nothing.
                let quiet = self.switched_on(&workspace, playbook, now)?
                    && playbook.on_enable == OnEnable::None;
                let mut decided = Decided::default();
                let seen = self.deciding(now).tick(
                    &mut decided,
                    &workspace,
                    playbook,
                    &statuses,
                    quiet,
                )?;
                for firing in &seen {
                    self.record_one(&workspace, firing)?;
                }
                fired += self.record(decided)?;
            }
            fired += self.tick_breaches(&workspace, &statuses, now)?;
        }
        Ok(fired)
    }

    /// Fires the `sla_breached` playbooks on the SLAs that ended unmet within the grace
    /// period ([`SLA_BREACH_GRACE_DAYS`]), each breach a change of its account keyed by its
    /// handoff, so it fires once however many ticks see it. An account without a status (a
    /// prospect handed to sales) is judged by its id alone. Returns the firings recorded.
    fn tick_breaches(
        &self,
        workspace: &WorkspaceId,
        statuses: &[Status],
        now: Timestamp,
    ) -> Result<usize, StoreError> {
        let playbooks: Vec<&Playbook> = self
            .playbooks
            .enabled()
            .filter(|p| is_sla_breach(p))
            .collect();
        if playbooks.is_empty() {
            return Ok(0);
        }
        let grace = i64::from(SLA_BREACH_GRACE_DAYS) * DAY_MS;
        let breaches = self
            .store
            .sla_breaches(workspace, now.plus_millis(-grace), now)?;
        let by_account: HashMap<&str, &Status> =
            statuses.iter().map(|s| (s.account.as_str(), s)).collect();
        let mut fired = 0;
        for playbook in playbooks {
            // Switched on now with `on_enable = "none"`: the breaches of the grace period are
            // recorded as seen, and only later ones fire.
            let quiet =
                self.switched_on(workspace, playbook, now)? && playbook.on_enable == OnEnable::None;
            let mut decided = Decided::default();
            for b in &breaches {
                let Some(sla_due) = b.sla_due else { continue };
                let change = Change::SlaBreached {
                    team: b.team.clone(),
                    owner: b.owner.clone(),
                    handed_at: b.since,
                    sla_due,
                };
                if !playbook.trigger.fires_on(&change) {
                    continue;
                }
                let Ok(account) = AccountId::parse(&b.account) else {
                    continue;
                };
                let status = by_account
                    .get(b.account.as_str())
                    .map_or_else(|| Status::new(account, now), |s| (*s).clone());
                let deciding = self.deciding(now);
                if !quiet {
                    deciding.change(&mut decided, workspace, playbook, &status, &change)?;
                } else if let Some(seen) =
                    deciding.seen(workspace, playbook, &status, Some(&change))?
                {
                    self.record_one(workspace, &seen)?;
                }
            }
            fired += self.record(decided)?;
        }
        Ok(fired)
    }

    /// Whether this version of `playbook` is switched on now in the workspace: the first
    /// call for it records so (a firing for no account, `*`) and answers true; later calls,
    /// by any process, false.
    fn switched_on(
        &self,
        workspace: &WorkspaceId,
        playbook: &Playbook,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let version = playbook.version().to_owned();
        let known = (workspace.clone(), format!("{}/{version}", playbook.name));
        if self.switched.lock().expect("switched").contains(&known) {
            return Ok(false);
        }
        let marker = NewFiring {
            key: format!("{}/{version}/*/switched_on", playbook.name),
            playbook: playbook.name.clone(),
            version,
            account: SWITCHED_ON.into(),
            period: "switched_on".into(),
            fired_at: now,
            cause: json!({ "switched_on": now }),
        };
        let first = self.record_one(workspace, &marker)?;
        self.switched.lock().expect("switched").insert(known);
        Ok(first)
    }

    /// Where deliveries go, each with a worker of its own: every configured destination, and
    /// [`IN_STORE`] (tasks and handoffs).
    pub fn delivery_destinations(&self) -> Vec<String> {
        let mut names: Vec<String> = self.destinations.keys().cloned().collect();
        names.push(IN_STORE.to_owned());
        names
    }

    /// One pass of the outbox for one destination (`None`: those no longer configured, which
    /// are dead-lettered saying so): claims what is due for it, no more than its lease has
    /// room for, and attempts them one after another; returns the deliveries attempted. Each
    /// destination's worker runs its own passes, so an outage of one delays only its own.
    pub fn deliver_to(&self, destination: Option<&str>) -> Result<usize, StoreError> {
        let now = self.clock.now();
        let lease = self.playbooks.settings.delivery_lease_seconds;
        let known;
        let whose = match destination {
            Some(name) => ClaimFor::Only(name),
            None => {
                known = self.delivery_destinations();
                ClaimFor::NoneOf(&known)
            }
        };
        // A destination that sends many deliveries a request (an ad platform) is handed one
        // request's worth a pass: a request it splits (one bad event in a batch a platform
        // rejects whole) costs a dozen calls or more, and the pass must end within its lease.
        let batch = destination
            .and_then(|name| self.destinations.get(name))
            .map_or(1, |d| d.batch_limit().max(1));
        let limit = if batch > 1 {
            batch
        } else {
            (lease / LONGEST_ATTEMPT_SECS).max(1) as usize
        };
        let claimed =
            self.store
                .claim_deliveries(&self.owner, now, i64::from(lease) * 1000, limit, whose)?;
        match destination.and_then(|name| self.destinations.get(name)) {
            Some(to) if batch > 1 => {
                for chunk in claimed.chunks(batch) {
                    self.attempt_batch(to.as_ref(), chunk)?;
                }
            }
            _ => {
                for d in &claimed {
                    self.attempt(d)?;
                }
            }
        }
        Ok(claimed.len())
    }

    /// Attempts claimed deliveries to one destination together, as few requests as it can
    /// make of them, and records what came of each.
    fn attempt_batch(&self, to: &dyn Destination, batch: &[Delivery]) -> Result<(), StoreError> {
        let started = Instant::now();
        let keys: Vec<String> = batch
            .iter()
            .map(|d| format!("{}/{}", d.firing_key, d.step))
            .collect();
        let outgoing: Vec<Outgoing> = batch
            .iter()
            .zip(&keys)
            .map(|(d, key)| Outgoing {
                delivery_id: d.id.0,
                idempotency_key: key,
                payload: &d.payload,
                attempt: d.attempts + 1,
            })
            .collect();
        let outcomes = to.send_batch(&outgoing);
        let ms = started.elapsed().as_millis() as u64;
        for (d, outcome) in batch.iter().zip(&outcomes) {
            self.finish(d, attempted(outcome, d.attempts + 1, self.clock.now()), ms)?;
        }
        Ok(())
    }

    /// One pass of the outbox for every destination at once, each on a thread of its own;
    /// returns the deliveries attempted.
    pub fn deliver(&self) -> Result<usize, StoreError> {
        let mut workers: Vec<Option<String>> =
            self.delivery_destinations().into_iter().map(Some).collect();
        workers.push(None);
        std::thread::scope(|scope| {
            let passes: Vec<_> = workers
                .iter()
                .map(|w| scope.spawn(move || self.deliver_to(w.as_deref())))
                .collect();
            passes
                .into_iter()
                .map(|p| p.join().expect("a delivery thread"))
                .sum()
        })
    }

    /// Attempts one claimed delivery and records what came of it.
    fn attempt(&self, d: &Delivery) -> Result<(), StoreError> {
        let started = Instant::now();
        let attempt = d.attempts + 1;
        let attempted = match d.kind.as_str() {
            "task" => {
                // The owner a handoff routed the account to, else its profile's owner.
                let owner = self
                    .store
                    .owners(&d.workspace, Some(&d.account))?
                    .into_iter()
                    .next()
                    .and_then(|o| o.owner)
                    .or_else(|| d.payload["account_owner"].as_str().map(str::to_owned));
                let task = NewTask {
                    playbook: d.playbook.clone(),
                    account: d.account.clone(),
                    title: text(&d.payload, "title"),
                    owner,
                    due_at: d.payload["due_at"]
                        .as_str()
                        .and_then(|t| Timestamp::parse(t).ok()),
                    firing_key: Some(d.firing_key.clone()),
                    at: self.clock.now(),
                };
                self.store.upsert_task(&d.workspace, &task)?;
                Attempted::Delivered { code: None }
            }
            "handoff" => match d.payload["team"].as_str() {
                None => Attempted::Dead {
                    code: None,
                    reason: "no [[routing]] rule held for the account, and the handoff names no team; add a rule that matches it (or a catch-all without `when`), or name the team in the handoff".into(),
                },
                Some(team) => {
                    let now = self.clock.now();
                    let sla_ms = d.payload["sla_ms"].as_i64().unwrap_or(0);
                    let change = OwnerChange {
                        account: d.account.clone(),
                        team: team.to_owned(),
                        owner: d.payload["owner"].as_str().map(str::to_owned),
                        at: now,
                        sla_due: (sla_ms > 0).then(|| now.plus_millis(sla_ms)),
                        playbook: Some(d.playbook.clone()),
                    };
                    self.store.set_owner(&d.workspace, &change)?;
                    Attempted::Delivered { code: None }
                }
            },
            _ => match self.destinations.get(&d.destination) {
                None => Attempted::Dead {
                    code: None,
                    reason: format!(
                        "destination {:?} is not configured any more; configure it and retry the delivery",
                        d.destination
                    ),
                },
                Some(destination) => {
                    let key = format!("{}/{}", d.firing_key, d.step);
                    let outcome = destination.send(&Outgoing {
                        delivery_id: d.id.0,
                        idempotency_key: &key,
                        payload: &d.payload,
                        attempt,
                    });
                    attempted(&outcome, attempt, self.clock.now())
                }
            },
        };
        self.finish(d, attempted, started.elapsed().as_millis() as u64)
    }

    /// Records what came of an attempt at `d`.
    fn finish(&self, d: &Delivery, attempted: Attempted, ms: u64) -> Result<(), StoreError> {
        match &attempted {
            Attempted::Dead { reason, .. } => {
                tracing::warn!(delivery = d.id.0, destination = %d.destination, reason = %reason, "a delivery is dead-lettered; `tenure playbooks retry` sends it again");
            }
            Attempted::Expired { reason } => {
                tracing::warn!(delivery = d.id.0, destination = %d.destination, reason = %reason, "a conversion expired before it could be sent");
            }
            _ => {}
        }
        if !self
            .store
            .finish_delivery(d.id, &self.owner, self.clock.now(), &attempted, ms)?
        {
            tracing::warn!(delivery = d.id.0, "a delivery's lease ran out before its outcome was recorded; another process may attempt it again");
        }
        Ok(())
    }
}

/// What a destination's outcome makes of the delivery.
fn attempted(outcome: &Outcome, attempt: u32, now: Timestamp) -> Attempted {
    let code = outcome.code();
    match outcome {
        Outcome::Delivered { .. } => Attempted::Delivered { code },
        Outcome::Permanent { reason, .. } => Attempted::Dead {
            code,
            reason: reason.clone(),
        },
        Outcome::Duplicate { .. } => Attempted::Duplicate { code },
        Outcome::Unmatched { reason, .. } => Attempted::Unmatched {
            code,
            reason: reason.clone(),
        },
        Outcome::Expired { reason } => Attempted::Expired {
            reason: reason.clone(),
        },
        Outcome::RetryLater { .. } | Outcome::Throttled { .. } => {
            let error = match outcome {
                Outcome::RetryLater { reason, .. } => reason.clone(),
                _ => "throttled by the receiver".to_owned(),
            };
            match tenure_destinations::retry_delay(outcome, attempt, random_unit()) {
                Some(after) => Attempted::Retry {
                    code,
                    error,
                    at: now.plus_millis(after.as_millis() as i64),
                },
                None => Attempted::Dead {
                    code,
                    reason: format!("gave up after {attempt} attempts; last: {error}"),
                },
            }
        }
    }
}

pub(crate) fn new_firing(playbook: &Playbook, firing: &Firing, cause: Value) -> NewFiring {
    NewFiring {
        key: firing.key.to_string(),
        playbook: playbook.name.clone(),
        version: firing.key.version.clone(),
        account: firing.key.account.as_str().to_owned(),
        period: firing.key.period.to_string(),
        fired_at: firing.at,
        cause: json!({ "cause": firing.cause, "detail": cause }),
    }
}

fn text(payload: &Value, field: &str) -> String {
    payload[field].as_str().unwrap_or_default().to_owned()
}

/// What a step sends, rendered when it fires: the account as it was then, not as it is when
/// the delivery is attempted (a message about a red account stays one).
pub(crate) fn payload(
    action: &Action,
    playbook: &Playbook,
    status: &Status,
    firing: &Firing,
    change: Option<&Change>,
) -> Value {
    let field = |name: &str| template_field(name, playbook, status, firing, change);
    let render = |text: &str| render_template(text, &field);
    match action {
        Action::Webhook(_) => json!({
            "type": "playbook.fired",
            "firing_key": firing.key.to_string(),
            "playbook": playbook.name,
            "version": firing.key.version,
            "fired_at": firing.at,
            "cause": firing.cause,
            "change": change,
            "account": status,
        }),
        Action::Slack(s) => json!({
            "text": render(&s.text),
            "playbook": playbook.name,
            "account": { "name": account_name(status) },
        }),
        Action::Email(e) => json!({
            "to": [render(&e.to)],
            "subject": render(&e.subject),
            "text": render(&e.body),
        }),
        Action::Task(t) => json!({
            "title": render(&t.title),
            // The account's owner as its profile says, for when no handoff has routed it.
            "account_owner": status.profile.owner,
            "note": t.note.as_deref().map(render),
            "due_at": t.due_in.map(|d| firing.at.plus_millis(d.millis())),
        }),
        Action::Handoff(h) => {
            // Routed when it fires, from the account as it was then: a replay or a second
            // server routes the same account to the same owner.
            let routed = h.routed(status);
            json!({
                "team": routed.as_ref().map(|r| &r.team),
                "owner": routed.as_ref().and_then(|r| r.owner.as_ref()),
                "rule": routed.as_ref().and_then(|r| r.rule.as_ref()),
                "chosen_by": routed.as_ref().map(|r| r.method),
                "owner_from": h.owner_from,
                "sla_ms": h.sla.millis(),
            })
        }
    }
}

fn account_name(status: &Status) -> String {
    status
        .profile
        .traits
        .get("name")
        .cloned()
        .unwrap_or_else(|| status.account.as_str().to_owned())
}

/// A template field's value (`account.name`, `playbook.name`, `change.signal`, …).
fn template_field(
    name: &str,
    playbook: &Playbook,
    status: &Status,
    firing: &Firing,
    change: Option<&Change>,
) -> Option<String> {
    let (root, rest) = name.split_once('.')?;
    match root {
        "account" => match rest {
            "id" => Some(status.account.as_str().to_owned()),
            "name" => Some(account_name(status)),
            "stage" => status.stage.clone(),
            "band" => status.band.map(|b| b.name().to_owned()),
            "tier" => status.profile.tier.clone(),
            "segment" => status.profile.segment.clone(),
            "plan" => status.profile.plan.clone(),
            "owner" => status.profile.owner.clone(),
            "channel" => status.profile.channel.clone(),
            "signals" => Some(
                status
                    .signals
                    .keys()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", "),
            ),
            other => status.profile.traits.get(other).cloned(),
        },
        "playbook" => match rest {
            "name" => Some(playbook.name.clone()),
            "version" => Some(firing.key.version.clone()),
            _ => None,
        },
        "firing" => match rest {
            "key" => Some(firing.key.to_string()),
            "at" => Some(firing.at.to_string()),
            "cause" => Some(firing.cause.clone()),
            _ => None,
        },
        "change" => {
            let value = serde_json::to_value(change?).ok()?;
            match &value[rest] {
                Value::String(s) => Some(s.clone()),
                Value::Null => None,
                other => Some(other.to_string()),
            }
        }
        _ => None,
    }
}

/// The playbooks' view of an account's live status: its stage, band and signals, its profile
/// and the dates calendar triggers count from, read from the model; the times its stage and
/// band began and the milestones carried from the status `before`.
pub fn status_of(
    model: &Model,
    settings: &ReportSettings,
    s: &AccountStatus,
    before: Option<&Status>,
) -> Status {
    let mut status = Status::new(s.account.clone(), s.as_of);
    status.stage = s.stage.clone();
    status.stage_since = match before {
        Some(b) if b.stage == status.stage => b.stage_since,
        _ => status.stage.as_ref().map(|_| s.as_of),
    };
    status.band = s.band.and_then(band);
    status.band_since = match before {
        Some(b) if b.band == status.band => b.band_since,
        _ => status.band.map(|_| s.as_of),
    };
    status.signals = s
        .signals
        .iter()
        .map(|x| (x.signal.to_owned(), x.started_at))
        .collect();
    if let Some(before) = before {
        status.milestones = before.milestones.clone();
    }
    let mut dates = BTreeMap::new();
    if let Some(a) = s.activated_at {
        dates.insert(AccountDate::Activated, a);
        status.milestones.entry("activated".into()).or_insert(a);
    }
    // What the ledger says, read as the account's facts read it (not the facts themselves:
    // their usage windows are the status's work, done already, and would be most of the cost).
    if let Some(ledger) = model.ledger().account(&s.account) {
        if let Ok(Some(revenue)) = AccountRevenue::of(&s.account, ledger, settings, s.as_of) {
            let converted = revenue.converted_at.filter(|c| *c <= s.as_of);
            if let Some(c) = converted {
                dates.insert(AccountDate::Conversion, c);
            }
            if let Some(c) = tenure_reports::contract_end(ledger, s.as_of) {
                dates.insert(AccountDate::ContractEnd, c);
            }
            if let Some(c) = revenue.churned_at.filter(|c| *c <= s.as_of) {
                status.milestones.entry("churned".into()).or_insert(c);
            }
            for (name, at) in milestones(model, &revenue, s.as_of) {
                status.milestones.entry(name.into()).or_insert(at);
            }
            status.churned = converted.is_some() && revenue.mrr_at(s.as_of) <= 0;
            status.profile.plan = ledger.plan_at(s.as_of).map(str::to_owned);
        }
    }
    if let Some(profile) = model.profiles().get(&s.account) {
        if let Some(created) = profile.created_at {
            dates.insert(AccountDate::Created, created);
        }
        let traits: BTreeMap<String, String> = profile
            .attributes()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        status.profile = Profile {
            tier: traits.get("tier").cloned(),
            segment: traits.get("segment").cloned(),
            plan: status.profile.plan.take(),
            owner: traits.get("csm_owner").cloned(),
            channel: None,
            traits,
        };
    }
    status.dates = dates;
    status
}

/// The first-time milestones read off the account's facts as of `at` (as the lifecycle reads
/// them): the first expansion, the first won renewal, the first advocacy after conversion.
/// Adoption is a day's evaluation the lifecycle makes, not a fact: it is not among them.
fn milestones(
    model: &Model,
    revenue: &AccountRevenue,
    at: Timestamp,
) -> Vec<(&'static str, Timestamp)> {
    use tenure_core::{DealKind, DealStatus};
    let mut out = Vec::new();
    let Some(converted) = revenue.converted_at.filter(|c| *c <= at) else {
        return out;
    };
    let expansion = revenue
        .movements
        .iter()
        .filter(|m| m.at > converted && m.at <= at)
        .find(|m| m.kind == tenure_reports::MovementKind::Expansion);
    out.extend(expansion.map(|m| ("first_expansion", m.at)));
    if let Some(ledger) = model.ledger().account(&revenue.account) {
        let renewed = ledger
            .deals()
            .filter(|d| d.kind == DealKind::Renewal && d.status == DealStatus::Won)
            .filter_map(|d| d.closed_at.filter(|c| *c <= at))
            .min();
        out.extend(renewed.map(|t| ("renewed", t)));
    }
    if let Some(success) = model.success().account(&revenue.account) {
        let advocacy = success
            .advocacy()
            .map(|m| m.at)
            .filter(|t| *t >= converted && *t <= at)
            .min();
        out.extend(advocacy.map(|t| ("advocate", t)));
    }
    out
}

fn band(name: &str) -> Option<tenure_health::Band> {
    use tenure_health::Band;
    [Band::Green, Band::Yellow, Band::Red]
        .into_iter()
        .find(|b| b.name() == name)
}

pub(crate) fn random_u64() -> u64 {
    let mut bytes = [0u8; 8];
    // Without randomness the owner is still unique per process id; jitter is then fixed.
    let _ = getrandom::fill(&mut bytes);
    u64::from_le_bytes(bytes)
}

/// A uniform number in [0, 1): the jitter of a retry.
fn random_unit() -> f64 {
    (random_u64() >> 11) as f64 / (1u64 << 53) as f64
}

/// A playbook against every account as they stand: the dry-run's first form.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Preview {
    pub playbook: String,
    pub version: String,
    pub enabled: bool,
    /// `change` (fires when the change happens to an account that matches), `state` or
    /// `calendar` (fires at the next tick for an account that matches), `sla_breached` (fires
    /// at the tick after a handoff's SLA ends unmet, for an account that matches).
    pub trigger: &'static str,
    /// Accounts whose conditions hold now (for a change trigger: its filters).
    pub matching: usize,
    /// The first of them, by id.
    pub accounts: Vec<String>,
    /// What each action would do for them: `(kind, destination, count)`.
    pub actions: Vec<PreviewAction>,
}

/// One action of a [`Preview`]: how many deliveries it would make.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct PreviewAction {
    pub kind: &'static str,
    pub destination: Option<String>,
    pub deliveries: usize,
}

/// How many accounts a [`Preview`] names.
const PREVIEW_ACCOUNTS: usize = 50;

/// Who each playbook matches now among `statuses`, with what its actions would send.
pub fn preview(playbooks: &Playbooks, statuses: &[Status]) -> Vec<Preview> {
    playbooks
        .playbooks
        .iter()
        .map(|playbook| {
            let mut accounts: Vec<String> = statuses
                .iter()
                .filter(|s| tenure_playbooks::matches(playbook, s).held())
                .map(|s| s.account.as_str().to_owned())
                .collect();
            accounts.sort();
            let matching = accounts.len();
            accounts.truncate(PREVIEW_ACCOUNTS);
            Preview {
                playbook: playbook.name.clone(),
                version: playbook.version().to_owned(),
                enabled: playbook.enabled,
                trigger: trigger_kind(playbook),
                matching,
                accounts,
                actions: playbook
                    .actions
                    .iter()
                    .map(|step| PreviewAction {
                        kind: step.action.kind(),
                        destination: step.action.destination().map(str::to_owned),
                        deliveries: matching,
                    })
                    .collect(),
            }
        })
        .collect()
}

/// Whether `playbook` fires on SLA breaches, which the tick finds in the store.
fn is_sla_breach(playbook: &Playbook) -> bool {
    matches!(playbook.trigger, tenure_playbooks::Trigger::SlaBreached(_))
}

fn trigger_kind(playbook: &Playbook) -> &'static str {
    use tenure_playbooks::Trigger;
    match playbook.trigger {
        Trigger::State { .. } => "state",
        Trigger::Calendar(_) => "calendar",
        Trigger::SlaBreached(_) => "sla_breached",
        _ => "change",
    }
}

/// One playbook against one account, step by step: the dry-run's second form.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Explained {
    pub playbook: String,
    pub account: String,
    /// Every condition, whether it held and what the account had.
    pub checks: Vec<tenure_playbooks::Check>,
    /// The key it would fire under now (a state or calendar trigger that holds, or a change
    /// trigger given the change), if it would.
    pub firing_key: Option<String>,
    /// What each action would send, rendered, and when.
    pub actions: Vec<ExplainedAction>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ExplainedAction {
    pub kind: &'static str,
    pub destination: Option<String>,
    pub due_at: Option<Timestamp>,
    pub payload: Value,
}

/// `playbook` against the account of `status` at `now`, given its earlier firings' instants
/// (from the store) and, for a change trigger, the change to suppose.
pub fn explain(
    playbook: &Playbook,
    status: &Status,
    change: Option<&Change>,
    earlier: &[Timestamp],
    now: Timestamp,
) -> Explained {
    let occasion = change.map_or(Occasion::Tick, Occasion::Change);
    let firing = fires(playbook, status, occasion, earlier, now);
    let actions = playbook
        .actions
        .iter()
        .enumerate()
        .map(|(i, step)| {
            let due_at = firing.as_ref().map(|f| f.due[i]);
            // Rendered as it would be sent: with the firing it would make, or one made up at
            // `now` when it would not fire (so the text can still be read).
            let shown = firing.clone().unwrap_or_else(|| Firing {
                key: tenure_playbooks::FiringKey {
                    playbook: playbook.name.clone(),
                    version: playbook.version().to_owned(),
                    account: status.account.clone(),
                    period: tenure_playbooks::Period::First,
                },
                at: now,
                cause: "dry-run".into(),
                due: Vec::new(),
            });
            ExplainedAction {
                kind: step.action.kind(),
                destination: step.action.destination().map(str::to_owned),
                due_at,
                payload: payload(&step.action, playbook, status, &shown, change),
            }
        })
        .collect();
    Explained {
        playbook: playbook.name.clone(),
        account: status.account.as_str().to_owned(),
        checks: tenure_playbooks::matches(playbook, status).checks,
        firing_key: firing.map(|f| f.key.to_string()),
        actions,
    }
}

/// Every account's playbook status at `now`, scored afresh from the model (what a dry-run
/// without a running server evaluates).
pub fn statuses_at(
    model: &Model,
    settings: &ReportSettings,
    now: Timestamp,
) -> Result<Vec<Status>, tenure_reports::ReportError> {
    let stages = tenure_reports::stage_rules(settings)?;
    let ids: Vec<&AccountId> = model.account_ids().collect();
    let kept = tenure_reports::Lifecycles::default();
    let scored = tenure_reports::account_statuses(model, settings, &stages, &ids, now, &kept);
    let mut out = Vec::new();
    for status in scored {
        if let Some(s) = status? {
            out.push(status_of(model, settings, &s, None));
        }
    }
    Ok(out)
}
