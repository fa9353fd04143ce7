//! What a long-lived process does on its own over time: tail the log for what other processes
//! appended, record the daily health history, recompute every status for what time alone
//! changes, and save snapshots of the models.

use std::sync::Arc;
use std::time::Duration;

use tenure_store::Store;

use crate::snapshots::{self, SnapshotFiles};
use crate::{Actions, Clock, Conversions, Live, Scheduler};

/// How often a running server looks for entries other processes appended.
pub const CATCH_UP_EVERY: Duration = Duration::from_secs(1);
/// How often the stored daily health history catches up (it only ever adds completed days).
pub const RECORD_HISTORY_EVERY: Duration = Duration::from_secs(10 * 60);
/// How often every account's status is recomputed for what time alone changes (events
/// recompute their account's at once).
pub const REFRESH_STATUSES_EVERY: Duration = Duration::from_secs(15 * 60);

/// How often a running server considers saving each workspace's snapshot.
pub const SNAPSHOT_EVERY: Duration = Duration::from_secs(10 * 60);
/// Entries applied since a workspace's last snapshot that make a new one worth writing (a
/// start-up replays this many at most beyond it, plus what arrives in one period).
pub const SNAPSHOT_AFTER: u64 = 100_000;

/// Saves each workspace's snapshot into `files` every [`SNAPSHOT_EVERY`], when at least
/// [`SNAPSHOT_AFTER`] entries arrived since the last (at once, when the directory holds none).
/// The model is encoded under its workspace's read lock and written after it is released.
pub fn save_snapshots(scheduler: &mut Scheduler, live: &Arc<Live>, files: SnapshotFiles) {
    let live = Arc::clone(live);
    scheduler.every("snapshots", SNAPSHOT_EVERY, Duration::ZERO, move || {
        for workspace in live.workspaces() {
            match snapshots::save(&live, &files, &workspace, SNAPSHOT_AFTER) {
                Ok(Some(bytes)) => tracing::info!(
                    workspace = %workspace,
                    bytes,
                    path = %files.path(&workspace).display(),
                    "saved a snapshot"
                ),
                Ok(None) => {}
                Err(e) => tracing::warn!(
                    workspace = %workspace,
                    error = %e,
                    "cannot save a snapshot; start-up replays more of the log until one is saved"
                ),
            }
        }
        Ok(())
    });
}

/// How often the state and calendar triggers are evaluated (SPEC §5: at least every minute).
pub const PLAYBOOK_TICK_EVERY: Duration = Duration::from_secs(60);
/// How often the outbox is looked at for deliveries that are due.
pub const DELIVER_EVERY: Duration = Duration::from_secs(1);

/// Runs the playbooks' periodic work: the state and calendar triggers every
/// [`PLAYBOOK_TICK_EVERY`] (on one server at a time: a lease in the store), and the outbox's
/// due deliveries every [`DELIVER_EVERY`], by a worker per destination.
pub fn run_playbooks(scheduler: &mut Scheduler, actions: &Arc<Actions>, live: &Arc<Live>) {
    let (tick_actions, tick_live) = (Arc::clone(actions), Arc::clone(live));
    scheduler.every(
        "playbook-tick",
        PLAYBOOK_TICK_EVERY,
        Duration::ZERO,
        move || {
            let fired = tick_actions.tick(&tick_live)?;
            if fired > 0 {
                tracing::info!(fired, "state and calendar playbooks fired");
            }
            Ok(())
        },
    );
    // A worker per destination (and one for those no longer configured), so an outage of one
    // delays only its own deliveries.
    let mut workers: Vec<Option<String>> = actions
        .delivery_destinations()
        .into_iter()
        .map(Some)
        .collect();
    workers.push(None);
    for destination in workers {
        let deliver = Arc::clone(actions);
        let name = format!(
            "deliveries-{}",
            destination.as_deref().unwrap_or("unconfigured")
        );
        scheduler.every(name, DELIVER_EVERY, Duration::ZERO, move || {
            // A full pass may leave more due: go on until nothing is due.
            while deliver.deliver_to(destination.as_deref())? > 0 {}
            Ok(())
        });
    }
}

/// How often the conversion rules look for milestones reached and for conversions to
/// correct: the ad platforms take conversions hours late, and a pass reads every account.
pub const CONVERSIONS_EVERY: Duration = Duration::from_secs(5 * 60);

/// Runs the conversion rules every [`CONVERSIONS_EVERY`] (on one server at a time: a lease in
/// the store); their deliveries go through the playbooks' workers ([`run_playbooks`]).
pub fn run_conversions(
    scheduler: &mut Scheduler,
    conversions: &Arc<Conversions>,
    live: &Arc<Live>,
) {
    let (conversions, live) = (Arc::clone(conversions), Arc::clone(live));
    scheduler.every(
        "conversions",
        CONVERSIONS_EVERY,
        Duration::ZERO,
        move || {
            let started = std::time::Instant::now();
            let converted = conversions.pass(&live)?;
            let ms = started.elapsed().as_millis() as u64;
            if converted.total() > 0 {
                tracing::info!(
                    conversions = converted.conversions,
                    restatements = converted.restatements,
                    retractions = converted.retractions,
                    ms,
                    "conversions recorded for the ad platforms"
                );
            } else {
                tracing::debug!(ms, "conversions: nothing new");
            }
            Ok(())
        },
    );
}

/// Starts the periodic jobs of a server over `live` and `store`: the catch-up and the history
/// at once, the refresh a period from now (statuses were just computed). They run until the
/// returned scheduler stops.
pub fn start(live: &Arc<Live>, store: &Arc<dyn Store>, clock: Arc<dyn Clock>) -> Scheduler {
    let mut scheduler = Scheduler::new(clock);
    let (tail_live, tail_store) = (Arc::clone(live), Arc::clone(store));
    scheduler.every("catch-up", CATCH_UP_EVERY, Duration::ZERO, move || {
        let entries = tail_live.catch_up(tail_store.as_ref())?;
        if entries > 0 {
            tracing::info!(entries, "applied entries appended elsewhere");
        }
        Ok(())
    });
    let (history_live, history_store) = (Arc::clone(live), Arc::clone(store));
    scheduler.every("history", RECORD_HISTORY_EVERY, Duration::ZERO, move || {
        let days = history_live.record_history(history_store.as_ref())?;
        if days > 0 {
            tracing::info!(days, "recorded daily health history");
        }
        Ok(())
    });
    let refresh_live = Arc::clone(live);
    scheduler.every(
        "status-refresh",
        REFRESH_STATUSES_EVERY,
        REFRESH_STATUSES_EVERY,
        move || {
            refresh_live.refresh_statuses();
            Ok(())
        },
    );
    scheduler
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;

    use tenure_config::Config;
    use tenure_core::{
        AccountId, Currency, Entry, EntryBody, Money, Source, SubscriptionRow, Timestamp,
        WorkspaceId,
    };
    use tenure_store::SqliteStore;

    use super::*;
    use crate::{ManualClock, StatusKeeping};

    /// Only a guard against a hang: every wait below ends as soon as the job has run.
    const GUARD: Duration = Duration::from_secs(60);

    fn paying(account: &str) -> Entry {
        Entry {
            workspace: WorkspaceId::default_workspace(),
            source: Source::Import,
            received_at: Timestamp::from_millis(0),
            body: EntryBody::Subscription(SubscriptionRow {
                account_id: AccountId::parse(account).unwrap(),
                effective_at: Timestamp::parse("2025-03-01T00:00:00Z").unwrap(),
                mrr: Money::new(10_000, Currency::USD),
                plan: None,
                seats: None,
            }),
        }
    }

    /// The catch-up applies what another process appends, and the refresh rescores every
    /// account once its period has passed on the clock; each is seen through the statuses it
    /// announces.
    #[test]
    fn the_jobs_catch_up_and_refresh_on_the_clock() {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open_dir(dir.path()).unwrap());
        let clock = Arc::new(ManualClock::new(
            Timestamp::parse("2025-04-01T00:00:00Z").unwrap(),
        ));
        let live = Arc::new(Live::empty(Config::default().engine()));
        let (tx, heard) = mpsc::channel();
        let tx = std::sync::Mutex::new(tx);
        live.keep_statuses(StatusKeeping {
            settings: Config::default().report_settings(),
            clock: clock.clone(),
            observer: Some(Box::new(move |_, s| {
                let _ = tx
                    .lock()
                    .unwrap()
                    .send((s.account.as_str().to_owned(), s.as_of));
            })),
            entries: None,
        })
        .unwrap();
        // Appended before the jobs start: the first catch-up runs at once.
        store.append(vec![paying("a")]).unwrap();
        let mut jobs = start(&live, &store, clock.clone());
        let at_start = Timestamp::parse("2025-04-01T00:00:00Z").unwrap();
        assert_eq!(heard.recv_timeout(GUARD).unwrap(), ("a".into(), at_start));
        store.append(vec![paying("b")]).unwrap();
        clock.advance(CATCH_UP_EVERY);
        jobs.wake();
        let (account, _) = heard.recv_timeout(GUARD).unwrap();
        assert_eq!(account, "b");

        clock.advance(REFRESH_STATUSES_EVERY);
        jobs.wake();
        let mut refreshed: Vec<(String, Timestamp)> = Vec::new();
        let later = at_start
            .plus_millis(CATCH_UP_EVERY.as_millis() as i64)
            .plus_millis(REFRESH_STATUSES_EVERY.as_millis() as i64);
        while refreshed.len() < 2 {
            let heard = heard.recv_timeout(GUARD).unwrap();
            // Catch-ups find nothing new, so only the refresh announces statuses now.
            assert_eq!(heard.1, later, "{heard:?}");
            refreshed.push(heard);
        }
        refreshed.sort();
        assert_eq!(refreshed[0].0, "a");
        assert_eq!(refreshed[1].0, "b");
        jobs.stop();
    }

    /// A server scores every account after it starts answering; a status asked meanwhile
    /// waits for the scoring instead of saying the account has none.
    #[test]
    fn a_status_asked_during_the_first_scoring_waits_for_it() {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open_dir(dir.path()).unwrap());
        let accounts: Vec<Entry> = (0..200).map(|i| paying(&format!("acct-{i}"))).collect();
        store.append(accounts).unwrap();
        let live =
            Arc::new(Live::rebuild(store.as_ref(), Config::default().engine(), |_| {}).unwrap());
        let clock = Arc::new(ManualClock::new(
            Timestamp::parse("2025-04-01T00:00:00Z").unwrap(),
        ));
        live.keep_statuses_in_background(StatusKeeping::new(
            Config::default().report_settings(),
            clock,
        ))
        .unwrap();
        let ws = WorkspaceId::default_workspace();
        let last = AccountId::parse("acct-199").unwrap();
        assert!(live.status(&ws, &last).is_some());
    }

    /// The snapshot job saves a workspace that has none at once; the next start reads it and
    /// replays only what was appended after it.
    #[test]
    fn the_snapshot_job_saves_what_the_next_start_reads() {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open_dir(dir.path()).unwrap());
        let files = SnapshotFiles::in_data_dir(dir.path());
        let ws = WorkspaceId::default_workspace();
        store.append(vec![paying("a")]).unwrap();
        let live =
            Arc::new(Live::rebuild(store.as_ref(), Config::default().engine(), |_| {}).unwrap());
        let clock = Arc::new(ManualClock::new(
            Timestamp::parse("2025-04-01T00:00:00Z").unwrap(),
        ));
        let mut jobs = Scheduler::new(clock);
        save_snapshots(&mut jobs, &live, files.clone());
        let waited = std::time::Instant::now();
        while !files.path(&ws).exists() {
            assert!(waited.elapsed() < GUARD, "no snapshot was saved");
            std::thread::sleep(Duration::from_millis(10));
        }
        jobs.stop();

        store.append(vec![paying("b")]).unwrap();
        let (restarted, rebuilt) =
            Live::rebuild_from(store.as_ref(), Config::default().engine(), &files, |_| {}).unwrap();
        assert!(rebuilt.from_snapshot.contains_key(&ws));
        assert_eq!(
            rebuilt.replayed[&ws], 1,
            "only the entry after the snapshot"
        );
        let accounts = restarted.read(&ws, |m| m.ledger().accounts().count());
        assert_eq!(accounts, 2);
    }
}
