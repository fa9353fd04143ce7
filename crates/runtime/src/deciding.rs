//! Deciding what fires: one mechanism for the live path ([`crate::Actions`]) and a replay
//! ([`crate::replay`]), so that a replay over a log finds what a server made of it.
//!
//! The two differ only in where the firings already made are read from ([`Fired`]: the store,
//! kept in memory as read, for a server; the replay's own history for a replay) and in what they do with what is decided
//! ([`Decided`]: recorded in the store, or listed).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};
use tenure_core::{Timestamp, WorkspaceId};
use tenure_playbooks::{changes, fires, Change, Occasion, Playbook, Playbooks, Status};
use tenure_store::{FiringFilter, NewDelivery, NewFiring, Store, StoreError};

use crate::actions::{new_firing, payload, IN_STORE};

/// The per-account cap counts the firings of the last day.
pub(crate) const DAY_MS: i64 = 86_400_000;

/// The firings already made, as deciding reads them.
pub(crate) trait Fired {
    /// The instants of the account's firings in the workspace (of one playbook, if given) at
    /// or after `since`.
    fn instants(
        &self,
        workspace: &WorkspaceId,
        account: &str,
        playbook: Option<&str>,
        since: Option<Timestamp>,
    ) -> Result<Vec<Timestamp>, StoreError>;
}

/// An account's firings: key, playbook and instant.
type AccountFirings = Vec<(String, String, Timestamp)>;

/// The store's firings, each account's read once and then kept in memory with the firings
/// this process records: a decision reads no store (at 100,000 accounts, two queries per
/// decision were most of the live path's time). A key the store refuses (another process
/// recorded it) makes the account's firings read again at the next decision, so a firing of
/// another server is seen as soon as this one decides the same; until then it counts towards
/// no limit here, and the store still refuses its key, so nothing fires twice.
#[derive(Debug)]
pub(crate) struct FiredKept {
    store: Arc<dyn Store>,
    kept: Mutex<HashMap<(WorkspaceId, String), AccountFirings>>,
}

impl FiredKept {
    pub fn new(store: Arc<dyn Store>) -> FiredKept {
        FiredKept {
            store,
            kept: Mutex::default(),
        }
    }

    /// What recording `firing` came to: a new firing is kept (if its account's are, else
    /// it is read with them when next needed; once, even if that read saw it already); a key
    /// the store refused means the account's kept firings are stale, and they are dropped.
    pub fn recorded(&self, workspace: &WorkspaceId, firing: &NewFiring, new: bool) {
        let key = (workspace.clone(), firing.account.clone());
        let mut kept = self.kept.lock().expect("kept firings");
        if !new {
            kept.remove(&key);
        } else if let Some(firings) = kept.get_mut(&key) {
            if !firings.iter().any(|(k, _, _)| *k == firing.key) {
                firings.push((firing.key.clone(), firing.playbook.clone(), firing.fired_at));
            }
        }
    }
}

impl Fired for FiredKept {
    fn instants(
        &self,
        workspace: &WorkspaceId,
        account: &str,
        playbook: Option<&str>,
        since: Option<Timestamp>,
    ) -> Result<Vec<Timestamp>, StoreError> {
        let key = (workspace.clone(), account.to_owned());
        let mut kept = self.kept.lock().expect("kept firings");
        if !kept.contains_key(&key) {
            let filter = FiringFilter {
                account: Some(account.to_owned()),
                ..FiringFilter::default()
            };
            let read = self.store.firings(workspace, &filter)?;
            // A conversion sent to an ad platform is no playbook's: it neither counts toward
            // the daily cap on messages nor is any playbook's earlier firing.
            let firings = read
                .into_iter()
                .filter(|f| !tenure_conversions::is_conversion(&f.playbook))
                .map(|f| (f.key, f.playbook, f.fired_at))
                .collect();
            kept.insert(key.clone(), firings);
        }
        Ok(kept[&key]
            .iter()
            .filter(|(_, p, t)| {
                playbook.is_none_or(|name| p == name) && since.is_none_or(|s| *t >= s)
            })
            .map(|(_, _, t)| *t)
            .collect())
    }
}

/// Firings decided and not yet recorded (a batch of changes records its firings together),
/// and the playbooks held back by the per-account cap.
#[derive(Debug, Default)]
pub(crate) struct Decided {
    pub firings: Vec<(WorkspaceId, NewFiring, Vec<NewDelivery>)>,
    /// The playbook of each decision the daily cap held back, with its account.
    pub capped: Vec<(String, String)>,
}

impl Decided {
    /// The instants of the firings decided for the account (of one playbook, if given).
    fn of<'a>(
        &'a self,
        workspace: &'a WorkspaceId,
        account: &'a str,
        playbook: Option<&'a str>,
    ) -> impl Iterator<Item = Timestamp> + 'a {
        self.firings
            .iter()
            .filter(move |(ws, f, _)| {
                ws == workspace && f.account == account && playbook.is_none_or(|p| f.playbook == p)
            })
            .map(|(_, f, _)| f.fired_at)
    }
}

/// The playbooks deciding at one instant, against the firings already made.
pub(crate) struct Deciding<'a, F: Fired + ?Sized> {
    pub playbooks: &'a Playbooks,
    pub fired: &'a F,
    pub now: Timestamp,
}

impl<F: Fired + ?Sized> Deciding<'_, F> {
    /// The change triggers on what changed from `before` to `after`.
    pub fn changes(
        &self,
        decided: &mut Decided,
        workspace: &WorkspaceId,
        before: &Status,
        after: &Status,
    ) -> Result<(), StoreError> {
        for change in changes(Some(before), after) {
            for playbook in self.playbooks.enabled() {
                self.change(decided, workspace, playbook, after, &change)?;
            }
        }
        Ok(())
    }

    /// The event triggers on one track event of the account of `status`, as it last stood.
    pub fn event(
        &self,
        decided: &mut Decided,
        workspace: &WorkspaceId,
        status: &Status,
        change: &Change,
    ) -> Result<(), StoreError> {
        for playbook in self
            .playbooks
            .enabled()
            .filter(|p| p.trigger.fires_on(change))
        {
            self.change(decided, workspace, playbook, status, change)?;
        }
        Ok(())
    }

    /// `playbook` on one change of the account of `status`.
    pub fn change(
        &self,
        decided: &mut Decided,
        workspace: &WorkspaceId,
        playbook: &Playbook,
        status: &Status,
        change: &Change,
    ) -> Result<bool, StoreError> {
        let cause = serde_json::to_value(change).unwrap_or(Value::Null);
        let occasion = Occasion::Change(change);
        self.decide(
            decided,
            workspace,
            playbook,
            status,
            occasion,
            cause,
            Some(change),
        )
    }

    /// `playbook`'s state or calendar trigger at a tick, over the accounts of `statuses` it
    /// holds for: its firings decided into `decided`; or, when `quiet` (just switched on with
    /// `on_enable = "none"`), none decided and the firings it would make returned, to be
    /// recorded as seen.
    pub fn tick(
        &self,
        decided: &mut Decided,
        workspace: &WorkspaceId,
        playbook: &Playbook,
        statuses: &[Status],
        quiet: bool,
    ) -> Result<Vec<NewFiring>, StoreError> {
        let mut seen = Vec::new();
        for status in statuses
            .iter()
            .filter(|s| playbook.trigger.holding(s).is_some())
        {
            if quiet {
                seen.extend(self.seen(workspace, playbook, status, None)?);
            } else {
                let cause = json!({ "tick": self.now });
                self.decide(
                    decided,
                    workspace,
                    playbook,
                    status,
                    Occasion::Tick,
                    cause,
                    None,
                )?;
            }
        }
        Ok(seen)
    }

    /// What `on_enable = "none"` records for an account `playbook` matches when it is switched
    /// on (at a tick, or on a `change` that stands, such as an SLA breached): the firing it
    /// would make, as seen, with no deliveries; none if it would not fire.
    pub fn seen(
        &self,
        workspace: &WorkspaceId,
        playbook: &Playbook,
        status: &Status,
        change: Option<&Change>,
    ) -> Result<Option<NewFiring>, StoreError> {
        let occasion = change.map_or(Occasion::Tick, Occasion::Change);
        let account = status.account.as_str();
        let earlier = self
            .fired
            .instants(workspace, account, Some(&playbook.name), None)?;
        Ok(fires(playbook, status, occasion, &earlier, self.now)
            .map(|firing| new_firing(playbook, &firing, json!({ "on_enable": "none" }))))
    }

    /// Decides one firing with its deliveries into `decided`, to be recorded with the rest;
    /// whether it was decided (false: the limit's window is closed, the account's daily cap
    /// is reached, or the same key is decided already). Earlier firings are those made and
    /// those decided but not yet recorded.
    #[allow(clippy::too_many_arguments)]
    fn decide(
        &self,
        decided: &mut Decided,
        workspace: &WorkspaceId,
        playbook: &Playbook,
        status: &Status,
        occasion: Occasion<'_>,
        cause: Value,
        change: Option<&Change>,
    ) -> Result<bool, StoreError> {
        let now = self.now;
        // Without earlier firings a limit's window is open: what does not fire so never
        // will, and needs no look at the firings made.
        if fires(playbook, status, occasion, &[], now).is_none() {
            return Ok(false);
        }
        let account = status.account.as_str();
        let mut earlier = self
            .fired
            .instants(workspace, account, Some(&playbook.name), None)?;
        earlier.extend(decided.of(workspace, account, Some(&playbook.name)));
        let Some(firing) = fires(playbook, status, occasion, &earlier, now) else {
            return Ok(false);
        };
        let key = firing.key.to_string();
        if decided
            .firings
            .iter()
            .any(|(ws, f, _)| ws == workspace && f.key == key)
        {
            return Ok(false);
        }
        let since = Some(now.plus_millis(-DAY_MS));
        let mut recent = self.fired.instants(workspace, account, None, since)?;
        recent.extend(decided.of(workspace, account, None));
        if !self.playbooks.settings.allows(&recent, now) {
            decided
                .capped
                .push((playbook.name.clone(), account.to_owned()));
            return Ok(false);
        }
        let deliveries: Vec<NewDelivery> = playbook
            .actions
            .iter()
            .zip(&firing.due)
            .enumerate()
            .map(|(step, (s, due))| NewDelivery {
                step: step as u32,
                destination: s.action.destination().unwrap_or(IN_STORE).to_owned(),
                kind: s.action.kind().to_owned(),
                payload: payload(&s.action, playbook, status, &firing, change),
                due_at: *due,
            })
            .collect();
        decided.firings.push((
            workspace.clone(),
            new_firing(playbook, &firing, cause),
            deliveries,
        ));
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tenure_store::SqliteStore;

    fn firing(key: &str, at_ms: i64) -> NewFiring {
        NewFiring {
            key: key.into(),
            playbook: "p".into(),
            version: "v1".into(),
            account: "a1".into(),
            period: key.into(),
            fired_at: Timestamp::from_millis(at_ms),
            cause: json!({}),
        }
    }

    #[test]
    fn kept_firings_are_read_again_once_the_store_refuses_a_key() {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&dir.path().join("t.db")).unwrap());
        let ws = WorkspaceId::default_workspace();
        let kept = FiredKept::new(Arc::clone(&store));
        let instants = || kept.instants(&ws, "a1", Some("p"), None).unwrap();
        assert!(instants().is_empty());
        // Another process records a firing: not seen here yet.
        let theirs = firing("p/v1/a1/first", 10);
        assert!(store.record_firing(&ws, &theirs, &[]).unwrap());
        assert!(instants().is_empty());
        // This process decides the same firing and finds its key taken: read again.
        assert!(!store.record_firing(&ws, &theirs, &[]).unwrap());
        kept.recorded(&ws, &theirs, false);
        assert_eq!(instants(), [Timestamp::from_millis(10)]);
        // A firing of its own is kept once, however often it is told.
        let ours = firing("p/v1/a1/after:10", 20);
        assert!(store.record_firing(&ws, &ours, &[]).unwrap());
        kept.recorded(&ws, &ours, true);
        kept.recorded(&ws, &ours, true);
        let mut got = instants();
        got.sort();
        assert_eq!(
            got,
            [Timestamp::from_millis(10), Timestamp::from_millis(20)]
        );
    }
}
