//! `/api/v1/keys`: the admin API twin of `tenure keys create|list|revoke`, for the caller's
//! workspace only. Revoking here takes effect at once on this server and within
//! [`crate::auth::KEY_CACHE_TTL`] on every other server sharing the store.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{delete, get};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use tenure_store::{ApiKey, KeyInfo, Revoked, Scope};
use utoipa::ToSchema;

use crate::auth::header_key;
use crate::{ApiError, AppState};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/keys", get(list).post(create))
        .route("/api/v1/keys/{key}", delete(revoke))
}

fn admin(state: &AppState, headers: &HeaderMap) -> Result<ApiKey, ApiError> {
    let secret = header_key(headers)?;
    state
        .keys
        .authorize(&state.store, secret.as_deref(), Scope::Admin)
}

/// Runs a store call off the async threads.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, tenure_store::StoreError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|_| ApiError::unavailable("the key store call failed", 5))?
        .map_err(ApiError::from)
}

/// The workspace's keys.
#[derive(Serialize, ToSchema)]
pub(crate) struct KeyList {
    keys: Vec<KeyInfo>,
}

/// `GET /api/v1/keys`: the workspace's keys (prefixes, scopes, created and revoked times).
#[utoipa::path(get, path = "/api/v1/keys", tag = "keys",
    responses((status = 200, description = "The workspace's keys: prefixes and scopes, never secrets", body = KeyList)))]
pub(crate) async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<KeyList>, ApiError> {
    let key = admin(&state, &headers)?;
    let store = Arc::clone(&state.store);
    let keys = blocking(move || store.list_keys(&key.workspace)).await?;
    Ok(Json(KeyList { keys }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewKey {
    /// `write`, `read` or `admin`.
    scope: String,
}

/// A key just made: its secret, shown this once.
#[derive(Serialize, ToSchema)]
pub(crate) struct CreatedKey {
    key: String,
    scope: Scope,
}

/// A revocation: the key's prefix, and whether it was revoked before.
#[derive(Serialize, ToSchema)]
pub(crate) struct RevokedKey {
    revoked: String,
    already: bool,
}

/// `POST /api/v1/keys` with `{"scope": "write" | "read" | "admin"}`: the new secret, shown once.
#[utoipa::path(post, path = "/api/v1/keys", tag = "keys",
    request_body(content = NewKey),
    responses((status = 201, description = "The new key, shown this once", body = CreatedKey)))]
pub(crate) async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Json<NewKey>, axum::extract::rejection::JsonRejection>,
) -> Result<(StatusCode, Json<CreatedKey>), ApiError> {
    let key = admin(&state, &headers)?;
    let Json(new) = body.map_err(|e| ApiError::bad_request("invalid_body", e.body_text()))?;
    let scope: Scope = new
        .scope
        .parse()
        .map_err(|e: String| ApiError::bad_request("invalid_parameter", format!("scope: {e}")))?;
    let store = Arc::clone(&state.store);
    let secret = blocking(move || store.create_key(&key.workspace, scope)).await?;
    Ok((StatusCode::CREATED, Json(CreatedKey { key: secret, scope })))
}

/// `DELETE /api/v1/keys/{key}`, the key's listed prefix or its whole secret.
#[utoipa::path(delete, path = "/api/v1/keys/{key}", tag = "keys",
    params(("key" = String, Path, description = "The key's prefix, as listed, or the whole key")),
    responses((status = 200, description = "Revoked", body = RevokedKey)))]
pub(crate) async fn revoke(
    State(state): State<AppState>,
    Path(target): Path<String>,
    headers: HeaderMap,
) -> Result<Json<RevokedKey>, ApiError> {
    let key = admin(&state, &headers)?;
    let store = Arc::clone(&state.store);
    let outcome = blocking(move || store.revoke_key(&key.workspace, &target)).await?;
    state.keys.forget_all();
    match outcome {
        Revoked::Now(prefix) => Ok(Json(RevokedKey {
            revoked: prefix,
            already: false,
        })),
        Revoked::Already(prefix) => Ok(Json(RevokedKey {
            revoked: prefix,
            already: true,
        })),
        Revoked::NotFound => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "unknown_key",
            "no key of this workspace has that prefix or secret; `GET /api/v1/keys` lists them",
        )),
        Revoked::Ambiguous(n) => Err(ApiError::bad_request(
            "ambiguous_key",
            format!("{n} keys share that prefix; give the whole key"),
        )),
    }
}
