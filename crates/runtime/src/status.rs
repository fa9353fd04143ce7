//! What the store holds, for `tenure status` and `GET /api/v1/status`: the same JSON from both.

use std::collections::BTreeMap;

use serde::Serialize;
use tenure_core::WorkspaceId;
use tenure_engine::Summary;
use tenure_reports::ReportSettings;
use tenure_store::{LogCount, Store, StoreError};

use crate::Live;

/// What the store holds for one workspace (`tenure status --format json`).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Status {
    pub workspace: String,
    /// Entries in the workspace's log.
    pub entries: u64,
    pub entries_by_kind: Vec<LogCount>,
    /// Entries the log holds that this build cannot read back: left out of every figure, listed
    /// by `tenure log unreadable`.
    pub unreadable_entries: usize,
    /// Amounts (MRR changes, spend costs) by currency that has no rate to the reporting
    /// currency: left out of every report, which warns of them, until `[currency.rates]`
    /// gives a rate. Empty when every amount converts.
    pub amounts_without_rate: BTreeMap<String, u64>,
    /// Provider webhook events kept in the log that could not be interpreted (a Stripe
    /// subscription with `interval_count: 0`, say): they change no figure until a build that
    /// reads them replays the log.
    pub uninterpreted_events: Vec<Uninterpreted>,
    /// What the model holds: counts of accounts, people, sessions, touchpoints, journeys,
    /// customers and more, each under its own name.
    #[serde(flatten)]
    #[schema(value_type = std::collections::BTreeMap<String, serde_json::Value>)]
    pub model: Summary,
}

/// A webhook event the engine could not interpret, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Uninterpreted {
    pub event_id: String,
    pub reason: String,
}

pub fn status(
    store: &dyn Store,
    live: &Live,
    workspace: &WorkspaceId,
    settings: &ReportSettings,
) -> Result<Status, StoreError> {
    let entries_by_kind = store.log_counts(workspace)?;
    // One read of the model for everything derived from it.
    let (amounts_without_rate, uninterpreted_events, model) = live.read(workspace, |m| {
        let amounts = tenure_reports::amounts_without_rate(m, settings)
            .into_iter()
            .map(|(currency, n)| (currency.to_string(), n))
            .collect();
        let uninterpreted = m
            .ledger()
            .uninterpreted()
            .map(|(event_id, reason)| Uninterpreted {
                event_id: event_id.to_owned(),
                reason: reason.to_owned(),
            })
            .collect();
        (amounts, uninterpreted, m.summary())
    });
    Ok(Status {
        workspace: workspace.to_string(),
        entries: entries_by_kind.iter().map(|c| c.entries).sum(),
        entries_by_kind,
        unreadable_entries: live.unreadable_count(workspace),
        amounts_without_rate,
        uninterpreted_events,
        model,
    })
}
