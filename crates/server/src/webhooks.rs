//! `POST /webhooks/stripe[/{workspace}]`: Stripe events, verified against the endpoint secret
//! over the raw body before anything is parsed, then appended to the log whole. Idempotent by
//! event id (the entry's natural key), so Stripe's retries are acknowledged and not re-applied.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde_json::{json, Value};
use tenure_core::{Entry, EntryBody, Source, Timestamp, WorkspaceId};
use tenure_ingest::stripe;

use crate::{ApiError, AppState};

/// Stripe events are small; anything larger is not one.
const MAX_EVENT_BYTES: usize = 1024 * 1024;

pub async fn stripe_default(
    state: State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    receive(state, WorkspaceId::default_workspace(), headers, body).await
}

pub async fn stripe_workspace(
    state: State<AppState>,
    Path(workspace): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    let workspace = WorkspaceId::parse(&workspace)
        .map_err(|e| ApiError::new(StatusCode::NOT_FOUND, "unknown_workspace", e.to_string()))?;
    receive(state, workspace, headers, body).await
}

async fn receive(
    State(state): State<AppState>,
    workspace: WorkspaceId,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    let Some(secret) = state.stripe_secret.clone() else {
        // Stripe retries 5xx, so events sent before the secret is configured are not lost.
        return Err(ApiError::unavailable(
            "Stripe webhooks are not configured: set TENURE_STRIPE_WEBHOOK_SECRET or [stripe] webhook_secret",
            60,
        ));
    };
    let raw = axum::body::to_bytes(body, MAX_EVENT_BYTES)
        .await
        .map_err(|_| {
            ApiError::too_large(format!("a Stripe event is at most {MAX_EVENT_BYTES} bytes"))
        })?;
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
    Ok(Json(json!({"received": true, "duplicate": stored == 0})))
}
