//! `POST /webhooks/stripe[/{workspace}]`: Stripe events, verified against the endpoint secret
//! over the raw body before anything is parsed, then appended to the log whole. Idempotent by
//! event id (the entry's natural key), so Stripe's retries are acknowledged and not re-applied.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use tenure_core::{Entry, EntryBody, Source, Timestamp, WorkspaceId};
use tenure_ingest::stripe;

use crate::metrics::{self, Tally};
use crate::{ApiError, AppState};

/// Stripe events are small; anything larger is not one.
const MAX_EVENT_BYTES: usize = 1024 * 1024;

/// The environment variable holding the default workspace's Stripe endpoint secret; another
/// workspace's is this, `_`, and its name in capitals with `-` as `_`.
pub const SECRET_ENV: &str = "TENURE_STRIPE_WEBHOOK_SECRET";

/// Each workspace's Stripe endpoint secret. A secret signs one Stripe endpoint, and each
/// workspace is a different company's Stripe account, so one secret must not admit events into
/// every workspace.
#[derive(Debug, Default)]
pub struct StripeSecrets {
    by_workspace: HashMap<String, Arc<str>>,
}

impl StripeSecrets {
    /// `TENURE_STRIPE_WEBHOOK_SECRET` (else the configuration's `[stripe] webhook_secret`) for
    /// the default workspace, and `TENURE_STRIPE_WEBHOOK_SECRET_<WORKSPACE>` for the others.
    pub fn from_env(
        vars: impl IntoIterator<Item = (String, String)>,
        configured_default: Option<String>,
    ) -> Self {
        let mut by_workspace: HashMap<String, Arc<str>> = vars
            .into_iter()
            .filter(|(name, value)| name.starts_with(SECRET_ENV) && !value.is_empty())
            .map(|(name, value)| (name, Arc::from(value)))
            .collect();
        if let Some(secret) = configured_default.filter(|s| !s.is_empty()) {
            by_workspace
                .entry(SECRET_ENV.to_owned())
                .or_insert(Arc::from(secret));
        }
        Self { by_workspace }
    }

    /// The variable that holds `workspace`'s secret.
    pub fn env_name(workspace: &WorkspaceId) -> String {
        if *workspace == WorkspaceId::default_workspace() {
            return SECRET_ENV.to_owned();
        }
        format!(
            "{SECRET_ENV}_{}",
            workspace.as_str().to_ascii_uppercase().replace('-', "_")
        )
    }

    /// Whether `workspace` has a secret.
    pub fn has(&self, workspace: &WorkspaceId) -> bool {
        self.by_workspace.contains_key(&Self::env_name(workspace))
    }

    fn get(&self, workspace: &WorkspaceId) -> Option<Arc<str>> {
        self.by_workspace.get(&Self::env_name(workspace)).cloned()
    }
}

/// What Stripe is answered for an event stored.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub(crate) struct Received {
    /// Always true: the event is durable.
    received: bool,
    /// Whether the log already held an event of that id, not stored again.
    duplicate: bool,
}

#[utoipa::path(post, path = "/webhooks/stripe", tag = "ingest", security(()),
    request_body(content = Object, description = "A Stripe event, signed in the Stripe-Signature header"),
    responses((status = 200, description = "Stored durably", body = Received)))]
pub async fn stripe_default(
    state: State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Received>, ApiError> {
    receive(state, WorkspaceId::default_workspace(), headers, body).await
}

#[utoipa::path(post, path = "/webhooks/stripe/{workspace}", tag = "ingest", security(()),
    params(("workspace" = String, Path, description = "The workspace the Stripe account belongs to")),
    request_body(content = Object, description = "A Stripe event, signed in the Stripe-Signature header"),
    responses((status = 200, description = "Stored durably", body = Received)))]
pub async fn stripe_workspace(
    state: State<AppState>,
    Path(workspace): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Received>, ApiError> {
    let unknown = |why: String| ApiError::new(StatusCode::NOT_FOUND, "unknown_workspace", why);
    let workspace = WorkspaceId::parse(&workspace).map_err(|e| unknown(e.to_string()))?;
    // A webhook must not create a workspace: it exists once it has a key or an entry.
    let store = Arc::clone(&state.store);
    let known = workspace.clone();
    let exists = tokio::task::spawn_blocking(move || {
        Ok::<_, tenure_store::StoreError>(store.workspaces()?.contains(&known))
    })
    .await
    .map_err(|_| ApiError::unavailable("the workspace lookup failed", 5))??;
    if !exists {
        return Err(unknown(format!(
            "no workspace {workspace}: create it with `tenure keys create --workspace {workspace}`"
        )));
    }
    receive(state, workspace, headers, body).await
}

/// Receives one event, counted in the ingest metrics with the status it is answered with.
async fn receive(
    State(state): State<AppState>,
    workspace: WorkspaceId,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Received>, ApiError> {
    let started = std::time::Instant::now();
    let mut tally = Tally {
        workspace: Some(workspace.clone()),
        ..Tally::default()
    };
    let result = accept(&state, workspace, &headers, body, &mut tally).await;
    let status = metrics::status_of(&result);
    state
        .metrics
        .ingested("stripe", status, tally, started.elapsed());
    result
}

async fn accept(
    state: &AppState,
    workspace: WorkspaceId,
    headers: &HeaderMap,
    body: Body,
    tally: &mut Tally,
) -> Result<Json<Received>, ApiError> {
    let Some(secret) = state.stripe_secrets.get(&workspace) else {
        // Stripe retries 5xx, so events sent before the secret is configured are not lost.
        return Err(ApiError::unavailable(
            format!(
                "Stripe webhooks of workspace {workspace} are not configured: set {}{}",
                StripeSecrets::env_name(&workspace),
                if workspace == WorkspaceId::default_workspace() {
                    " or [stripe] webhook_secret"
                } else {
                    ""
                }
            ),
            60,
        ));
    };
    // A body that stops arriving is a timeout (408), not an oversize one (413).
    let raw = axum::body::to_bytes(body, MAX_EVENT_BYTES)
        .await
        .map_err(|e| crate::timeout::body_error(&e, MAX_EVENT_BYTES))?;
    tally.bytes = raw.len() as u64;
    let signature = headers
        .get("stripe-signature")
        .and_then(|v| v.to_str().ok());
    let now = chrono::Utc::now().timestamp();
    stripe::verify_signature(
        signature,
        &raw,
        &secret,
        now,
        stripe::DEFAULT_TOLERANCE_SECONDS,
    )
    .map_err(|e| ApiError::bad_request(e.code(), e.to_string()))?;
    let event =
        stripe::parse_event(&raw).map_err(|e| ApiError::bad_request(e.code(), e.to_string()))?;
    tally.messages = 1;
    let entry = Entry {
        workspace,
        source: Source::Webhook,
        received_at: Timestamp::from_datetime(chrono::Utc::now()),
        body: EntryBody::Webhook(event),
    };
    let store = Arc::clone(&state.store);
    let live = Arc::clone(&state.live);
    let stored = tokio::task::spawn_blocking(move || {
        let appended = store.append(vec![entry])?;
        let stored = appended.stored.len();
        live.submit(appended.stored);
        Ok::<_, tenure_store::StoreError>(stored)
    })
    .await
    .map_err(|_| ApiError::unavailable("the store writer failed", 5))??;
    Ok(Json(Received {
        received: true,
        duplicate: stored == 0,
    }))
}
