//! What the store holds, for `tenure status` and `GET /api/v1/status`: the same JSON from both.

use serde::Serialize;
use tenure_core::WorkspaceId;
use tenure_engine::Summary;
use tenure_store::{LogCount, Store, StoreError};

use crate::Live;

#[derive(Debug, Serialize)]
pub struct Status {
    pub workspace: String,
    pub entries: u64,
    pub entries_by_kind: Vec<LogCount>,
    #[serde(flatten)]
    pub model: Summary,
}

pub fn status(
    store: &dyn Store,
    live: &Live,
    workspace: &WorkspaceId,
) -> Result<Status, StoreError> {
    let entries_by_kind = store.log_counts(workspace)?;
    Ok(Status {
        workspace: workspace.to_string(),
        entries: entries_by_kind.iter().map(|c| c.entries).sum(),
        entries_by_kind,
        model: live.read(workspace, |m| m.summary()),
    })
}
