//! What the store holds, for `tenure status` and `GET /api/v1/status`: the same JSON from both.

use std::collections::BTreeMap;

use serde::Serialize;
use tenure_core::WorkspaceId;
use tenure_engine::Summary;
use tenure_reports::ReportSettings;
use tenure_store::{LogCount, Store, StoreError};

use crate::Live;

#[derive(Debug, Serialize)]
pub struct Status {
    pub workspace: String,
    pub entries: u64,
    pub entries_by_kind: Vec<LogCount>,
    /// Amounts (MRR changes, spend costs) by currency that has no rate to the reporting
    /// currency: left out of every report, which warns of them, until `[currency.rates]`
    /// gives a rate. Empty when every amount converts.
    pub amounts_without_rate: BTreeMap<String, u64>,
    #[serde(flatten)]
    pub model: Summary,
}

pub fn status(
    store: &dyn Store,
    live: &Live,
    workspace: &WorkspaceId,
    settings: &ReportSettings,
) -> Result<Status, StoreError> {
    let entries_by_kind = store.log_counts(workspace)?;
    Ok(Status {
        workspace: workspace.to_string(),
        entries: entries_by_kind.iter().map(|c| c.entries).sum(),
        entries_by_kind,
        amounts_without_rate: live.read(workspace, |m| {
            tenure_reports::amounts_without_rate(m, settings)
                .into_iter()
                .map(|(currency, n)| (currency.to_string(), n))
                .collect()
        }),
        model: live.read(workspace, |m| m.summary()),
    })
}
