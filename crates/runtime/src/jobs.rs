//! What a long-lived process does on its own over time: tail the log for what other processes
//! appended, record the daily health history, and recompute every status for what time alone
//! changes.

use std::sync::Arc;
use std::time::Duration;

use tenure_store::Store;

use crate::Live;

/// How often a running server looks for entries other processes appended.
pub const CATCH_UP_EVERY: Duration = Duration::from_secs(1);
/// How often the stored daily health history catches up (it only ever adds completed days).
pub const RECORD_HISTORY_EVERY: Duration = Duration::from_secs(10 * 60);
/// How often every account's status is recomputed for what time alone changes (events
/// recompute their account's at once).
pub const REFRESH_STATUSES_EVERY: Duration = Duration::from_secs(15 * 60);

/// Starts the periodic jobs on the current tokio runtime; they run until it shuts down.
pub fn spawn(live: Arc<Live>, store: Arc<dyn Store>) {
    let tail_store = store.clone();
    let tail_live = live.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(CATCH_UP_EVERY);
        loop {
            tick.tick().await;
            let store = tail_store.clone();
            let live = tail_live.clone();
            match tokio::task::spawn_blocking(move || live.catch_up(store.as_ref())).await {
                Ok(Ok(0)) => {}
                Ok(Ok(n)) => tracing::info!(entries = n, "applied entries appended elsewhere"),
                Ok(Err(e)) => tracing::warn!(error = %e, "catching up with the log failed"),
                Err(e) => tracing::warn!(error = %e, "catch-up task failed"),
            }
        }
    });
    let history_live = live.clone();
    let history_store = store;
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(RECORD_HISTORY_EVERY);
        loop {
            tick.tick().await;
            let (live, store) = (history_live.clone(), history_store.clone());
            match tokio::task::spawn_blocking(move || live.record_history(store.as_ref())).await {
                Ok(Ok(0)) => {}
                Ok(Ok(n)) => tracing::info!(days = n, "recorded daily health history"),
                Ok(Err(e)) => tracing::warn!(error = %e, "recording health history failed"),
                Err(e) => tracing::warn!(error = %e, "history task failed"),
            }
        }
    });
    let refresh_live = live;
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(REFRESH_STATUSES_EVERY);
        tick.tick().await; // the first tick is immediate; statuses were just computed
        loop {
            tick.tick().await;
            let live = refresh_live.clone();
            if let Err(e) = tokio::task::spawn_blocking(move || live.refresh_statuses()).await {
                tracing::warn!(error = %e, "refreshing account statuses failed");
            }
        }
    });
}
