//! What browser tracking SDKs need of the ingest API: cross-origin requests, and the settings
//! Segment's analytics.js and RudderStack's JS SDK fetch before they send anything.
//!
//! A marketing site's page calls tenure from its own origin, so every browser request is
//! cross-origin. Write keys are public by design (they are in every page's source), so the
//! ingest routes answer any origin; the read API sends no CORS headers, and a browser on another
//! origin cannot read it. Browsers send tracking calls as `text/plain` (no preflight) or with
//! `navigator.sendBeacon` / `fetch(…, {keepalive: true})`: ingest reads the body as JSON whatever
//! its `Content-Type`.

use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, Method};
use axum::Json;
use serde_json::{json, Value};
use tenure_store::Scope;
use tower_http::cors::{AllowHeaders, AllowOrigin, CorsLayer};

use crate::auth::header_key;
use crate::ingest::KeyInQuery;
use crate::{ApiError, AppState};

/// CORS for the routes browsers send to: any origin (echoed back, so that an SDK sending with
/// credentials is answered too: ingest reads no cookie), the headers the preflight asks for,
/// and a day's cache of the preflight so a page does not make one per event.
pub(crate) fn cors() -> CorsLayer {
    CorsLayer::new()
        .allow_origin(AllowOrigin::mirror_request())
        .allow_credentials(true)
        .allow_methods([Method::GET, Method::POST])
        .allow_headers(AllowHeaders::mirror_request())
        .max_age(Duration::from_secs(24 * 60 * 60))
}

/// `OPTIONS` that is not a preflight (a preflight is answered by [`cors`]): nothing to say.
pub(crate) async fn options() -> axum::http::StatusCode {
    axum::http::StatusCode::NO_CONTENT
}

/// `GET /v1/projects/{write_key}/settings`: what analytics.js loads from its CDN
/// (`cdnURL`) before it sends anything, for a valid write key: no device-mode integration, and
/// its Segment.io destination pointed at this server (the host the request came to; the scheme
/// from `X-Forwarded-Proto` when a proxy in front terminates TLS, else `http`), with its own
/// telemetry to Segment switched off.
#[utoipa::path(get, path = "/v1/projects/{write_key}/settings", tag = "ingest", security(()),
    params(("write_key" = String, Path, description = "The write key the page's analytics.js loads with")),
    responses((status = 200, description = "analytics.js's settings, with tenure as its only destination", body = Object)))]
pub(crate) async fn analytics_js_settings(
    State(state): State<AppState>,
    Path(write_key): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    state
        .keys
        .authorize(&state.store, Some(&write_key), Scope::Write)?;
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .ok_or_else(|| ApiError::bad_request("missing_host", "the request has no Host header"))?;
    let protocol = headers
        .get("x-forwarded-proto")
        .and_then(|p| p.to_str().ok())
        .map_or("http", |p| {
            if p.trim().eq_ignore_ascii_case("https") {
                "https"
            } else {
                "http"
            }
        });
    // No `plan` (a tracking plan makes analytics.js load its schema filter from Segment's CDN)
    // and no middleware, for the same reason: it loads nothing but itself.
    Ok(Json(json!({
        "integrations": {
            "Segment.io": {
                "apiKey": write_key,
                "apiHost": format!("{host}/v1"),
                "protocol": protocol,
                "unbundledIntegrations": [],
                "addBundledMetadata": false,
            }
        },
        "analyticsNextEnabled": true,
        "middlewareSettings": {},
        "enabledMiddleware": {},
        "metrics": { "sampleRate": 0 },
        "legacyVideoPluginsEnabled": false,
        "remotePlugins": [],
    })))
}

/// `GET /sourceConfig/`: what RudderStack's JS SDK loads from its `configUrl` before it sends
/// anything, for the write key of its `Authorization` header (or `writeKey` query parameter): a
/// source with no destination (the SDK then sends every event to its `dataPlaneUrl`, this
/// server) and no statistics collection.
#[utoipa::path(get, path = "/sourceConfig/", tag = "ingest",
    responses((status = 200, description = "RudderStack JS SDK's source configuration, with tenure as its data plane", body = Object)))]
pub(crate) async fn rudderstack_source_config(
    State(state): State<AppState>,
    Query(query): Query<KeyInQuery>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let secret = header_key(&headers)?.or(query.write_key);
    let key = state
        .keys
        .authorize(&state.store, secret.as_deref(), Scope::Write)?;
    let workspace = key.workspace.as_str();
    Ok(Json(json!({
        "isHosted": false,
        "source": {
            "id": workspace,
            "name": workspace,
            "workspaceId": workspace,
            "enabled": true,
            "config": {},
            "destinations": [],
        }
    })))
}
