//! The catch-up relies only on the store's tailing contract: on a backend where an entry can
//! become visible after entries with higher seqs (PostgreSQL with concurrent writers), it takes
//! nothing above `stable_through`, so the late entry is applied once it commits, not skipped.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Mutex;

use serde_json::json;
use tenure_config::Config;
use tenure_core::{Entry, EntryBody, Source, Timestamp, WorkspaceId};
use tenure_runtime::Live;
use tenure_store as ts;
use tenure_store::{
    ApiKey, Appended, HealthDay, KeyInfo, LogCount, LogPage, Revoked, Scope, SqliteStore, Store,
    StoreError,
};

/// A SQLite store seen as a reader sees a backend whose writers commit out of seq order: the
/// seqs `in_flight` are not visible yet, and `stable` is what its `stable_through` answers.
#[derive(Debug)]
struct OutOfOrder {
    inner: SqliteStore,
    in_flight: Mutex<BTreeSet<i64>>,
    stable: AtomicI64,
}

impl OutOfOrder {
    fn visible(&self, seq: i64) -> bool {
        !self.in_flight.lock().unwrap().contains(&seq)
    }
}

impl Store for OutOfOrder {
    fn append(&self, entries: Vec<Entry>) -> Result<Appended, StoreError> {
        self.inner.append(entries)
    }
    fn read_log(&self, ws: &WorkspaceId, after: i64, limit: usize) -> Result<LogPage, StoreError> {
        let mut page = self.inner.read_log(ws, after, usize::MAX / 2)?;
        page.entries.retain(|e| self.visible(e.seq));
        page.entries.truncate(limit);
        Ok(page)
    }
    fn log_seqs(&self, ws: &WorkspaceId, after: i64, limit: usize) -> Result<Vec<i64>, StoreError> {
        let mut seqs = self.inner.log_seqs(ws, after, usize::MAX / 2)?;
        seqs.retain(|&seq| self.visible(seq));
        seqs.truncate(limit);
        Ok(seqs)
    }
    fn stable_through(&self) -> Result<i64, StoreError> {
        Ok(self.stable.load(Ordering::SeqCst))
    }
    fn close(&self) {
        self.inner.close()
    }
    fn workspaces(&self) -> Result<Vec<WorkspaceId>, StoreError> {
        self.inner.workspaces()
    }
    fn log_counts(&self, ws: &WorkspaceId) -> Result<Vec<LogCount>, StoreError> {
        self.inner.log_counts(ws)
    }
    fn create_key(&self, ws: &WorkspaceId, scope: Scope) -> Result<String, StoreError> {
        self.inner.create_key(ws, scope)
    }
    fn find_key(&self, secret: &str) -> Result<Option<ApiKey>, StoreError> {
        self.inner.find_key(secret)
    }
    fn list_keys(&self, ws: &WorkspaceId) -> Result<Vec<KeyInfo>, StoreError> {
        self.inner.list_keys(ws)
    }
    fn revoke_key(&self, ws: &WorkspaceId, key: &str) -> Result<Revoked, StoreError> {
        self.inner.revoke_key(ws, key)
    }
    fn put_health_days(&self, ws: &WorkspaceId, days: &[HealthDay]) -> Result<(), StoreError> {
        self.inner.put_health_days(ws, days)
    }
    fn health_days(&self, ws: &WorkspaceId, account: &str) -> Result<Vec<HealthDay>, StoreError> {
        self.inner.health_days(ws, account)
    }
    fn health_days_through(
        &self,
        ws: &WorkspaceId,
        version: &str,
    ) -> Result<BTreeMap<String, Timestamp>, StoreError> {
        self.inner.health_days_through(ws, version)
    }
    // The playbooks' tables are not what this test is about: the inner store answers.
    fn record_firings(
        &self,
        ws: &WorkspaceId,
        firings: &[(ts::NewFiring, Vec<ts::NewDelivery>)],
    ) -> Result<Vec<bool>, StoreError> {
        self.inner.record_firings(ws, firings)
    }
    fn firings(
        &self,
        ws: &WorkspaceId,
        filter: &ts::FiringFilter,
    ) -> Result<Vec<ts::FiringRecord>, StoreError> {
        self.inner.firings(ws, filter)
    }
    fn claim_deliveries(
        &self,
        owner: &str,
        now: Timestamp,
        lease_ms: i64,
        limit: usize,
        whose: ts::ClaimFor<'_>,
    ) -> Result<Vec<ts::Delivery>, StoreError> {
        self.inner
            .claim_deliveries(owner, now, lease_ms, limit, whose)
    }
    fn finish_delivery(
        &self,
        id: ts::DeliveryId,
        owner: &str,
        at: Timestamp,
        attempt: &ts::Attempted,
        duration_ms: u64,
    ) -> Result<bool, StoreError> {
        self.inner
            .finish_delivery(id, owner, at, attempt, duration_ms)
    }
    fn deliveries(
        &self,
        ws: &WorkspaceId,
        filter: &ts::DeliveryFilter,
    ) -> Result<Vec<ts::Delivery>, StoreError> {
        self.inner.deliveries(ws, filter)
    }
    fn delivery_attempts(
        &self,
        ws: &WorkspaceId,
        id: ts::DeliveryId,
    ) -> Result<Vec<ts::AttemptRecord>, StoreError> {
        self.inner.delivery_attempts(ws, id)
    }
    fn delivery_tally(
        &self,
        ws: &WorkspaceId,
        prefix: &str,
    ) -> Result<Vec<ts::DeliveryTally>, StoreError> {
        self.inner.delivery_tally(ws, prefix)
    }
    fn retry_delivery(
        &self,
        ws: &WorkspaceId,
        id: ts::DeliveryId,
        now: Timestamp,
    ) -> Result<ts::Retried, StoreError> {
        self.inner.retry_delivery(ws, id, now)
    }
    fn upsert_task(
        &self,
        ws: &WorkspaceId,
        task: &ts::NewTask,
    ) -> Result<(ts::TaskId, bool), StoreError> {
        self.inner.upsert_task(ws, task)
    }
    fn tasks(
        &self,
        ws: &WorkspaceId,
        filter: &ts::TaskFilter,
        now: Timestamp,
    ) -> Result<Vec<ts::Task>, StoreError> {
        self.inner.tasks(ws, filter, now)
    }
    fn update_task(
        &self,
        ws: &WorkspaceId,
        id: ts::TaskId,
        change: &ts::TaskChange,
        at: Timestamp,
    ) -> Result<Option<ts::Task>, StoreError> {
        self.inner.update_task(ws, id, change, at)
    }
    fn set_owner(&self, ws: &WorkspaceId, change: &ts::OwnerChange) -> Result<(), StoreError> {
        self.inner.set_owner(ws, change)
    }
    fn owners(
        &self,
        ws: &WorkspaceId,
        account: Option<&str>,
    ) -> Result<Vec<ts::OwnerRecord>, StoreError> {
        self.inner.owners(ws, account)
    }
    fn owner_history(
        &self,
        ws: &WorkspaceId,
        account: &str,
    ) -> Result<Vec<ts::OwnerRecord>, StoreError> {
        self.inner.owner_history(ws, account)
    }
    fn meet_sla(&self, ws: &WorkspaceId, account: &str, at: Timestamp) -> Result<bool, StoreError> {
        self.inner.meet_sla(ws, account, at)
    }
    fn sla_breaches(
        &self,
        ws: &WorkspaceId,
        since: Timestamp,
        now: Timestamp,
    ) -> Result<Vec<ts::OwnerRecord>, StoreError> {
        self.inner.sla_breaches(ws, since, now)
    }
    fn take_lease(
        &self,
        name: &str,
        owner: &str,
        now: Timestamp,
        ms: i64,
    ) -> Result<bool, StoreError> {
        self.inner.take_lease(name, owner, now, ms)
    }
    fn release_lease(&self, name: &str, owner: &str) -> Result<bool, StoreError> {
        self.inner.release_lease(name, owner)
    }
}

fn identify(id: &str, user: &str) -> Entry {
    let line = json!({"type": "identify", "messageId": id, "userId": user}).to_string();
    let message = tenure_ingest::segment::parse_message(
        line.as_bytes(),
        Timestamp::from_millis(0),
        &Default::default(),
    )
    .unwrap();
    Entry {
        workspace: WorkspaceId::default_workspace(),
        source: Source::Import,
        received_at: Timestamp::from_millis(0),
        body: EntryBody::Segment(message),
    }
}

#[test]
fn an_entry_committed_late_below_a_visible_seq_is_applied_once_it_commits() {
    let dir = tempfile::tempdir().unwrap();
    let store = OutOfOrder {
        inner: SqliteStore::open_dir(dir.path()).unwrap(),
        in_flight: Mutex::default(),
        stable: AtomicI64::new(0),
    };
    let seqs: Vec<i64> = store
        .append(vec![
            identify("m1", "u1"),
            identify("m2", "u2"),
            identify("m3", "u3"),
        ])
        .unwrap()
        .stored
        .iter()
        .map(|e| e.seq)
        .collect();
    // The second writer's transaction has not committed; the third's has.
    store.in_flight.lock().unwrap().insert(seqs[1]);
    store.stable.store(seqs[0], Ordering::SeqCst);
    let ws = WorkspaceId::default_workspace();
    let live = Live::empty(Config::default().engine());
    assert_eq!(live.catch_up(&store).unwrap(), 1, "only what is settled");
    assert_eq!(live.read(&ws, |m| m.summary().persons), 1);

    store.in_flight.lock().unwrap().clear();
    store.stable.store(seqs[2], Ordering::SeqCst);
    assert_eq!(
        live.catch_up(&store).unwrap(),
        2,
        "the late entry and the one above it"
    );
    assert_eq!(live.read(&ws, |m| m.summary().persons), 3);
    assert_eq!(live.catch_up(&store).unwrap(), 0, "nothing twice");
}
