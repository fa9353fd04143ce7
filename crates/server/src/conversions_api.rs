//! The conversions' routes: `/api/v1/conversions` (where each rule's conversions stand at each
//! platform), `/api/v1/conversions/log` and `/api/v1/conversions/dry_run`, the API twins of
//! `tenure conversions status|log|dry-run` with the same JSON ([`crate::conversions`]). Reads
//! take a read key.

use std::sync::Arc;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use tenure_runtime::{Clock, Conversions, SystemClock};
use tenure_store::Scope;
use utoipa::IntoParams;

use crate::conversions::{self as views, ConversionStatus, DryRun};
use crate::playbooks::FiringLog;
use crate::playbooks_api::{blocking, now, query, workspace, Pairs};
use crate::{ApiError, AppState};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/conversions", get(conversion_status))
        .route("/api/v1/conversions/log", get(conversion_log))
        .route("/api/v1/conversions/dry_run", get(conversions_dry_run))
}

/// Query of `GET /api/v1/conversions/log`.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // read as pairs, declared for the API document
pub(crate) struct LogParams {
    /// Only this rule's conversions.
    rule: Option<String>,
    /// Only this account's conversions.
    account: Option<String>,
    /// At most this many, 1 to 10000 (default 100).
    limit: Option<usize>,
}

/// `GET /api/v1/conversions`: per rule and destination, the conversions sent and what the
/// platform made of them.
#[utoipa::path(get, path = "/api/v1/conversions", tag = "conversions",
    responses((status = 200, description = "Each configured conversion rule with, per destination, the conversions and corrections sent and how many were accepted, duplicate, unmatched, rejected (with the platform's reasons), expired or pending", body = ConversionStatus)))]
pub(crate) async fn conversion_status(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<ConversionStatus>, ApiError> {
    let ws = workspace(&state, &headers, Scope::Read)?;
    let rules = views::configured(&state.config)?;
    blocking(
        move |store| views::status(store, &ws, &rules),
        Arc::clone(&state.store),
    )
    .await
}

/// `GET /api/v1/conversions/log`: the conversions and corrections recorded, newest first.
#[utoipa::path(get, path = "/api/v1/conversions/log", tag = "conversions", params(LogParams),
    responses((status = 200, description = "Conversions, restatements and retractions, newest first, each a firing of `conversion:<rule>` whose cause holds its kind, value and event id, with its deliveries' statuses", body = FiringLog)))]
pub(crate) async fn conversion_log(
    State(state): State<AppState>,
    headers: HeaderMap,
    q: Pairs,
) -> Result<Json<FiringLog>, ApiError> {
    let pairs = query(q)?;
    let ws = workspace(&state, &headers, Scope::Read)?;
    let q = views::log_query(&pairs)?;
    let rules = views::configured(&state.config)?;
    blocking(
        move |store| views::log(store, &ws, &rules, &q),
        Arc::clone(&state.store),
    )
    .await
}

/// `GET /api/v1/conversions/dry_run`: what a pass would record now and the exact requests each
/// platform would receive (tokens redacted), sending and recording nothing.
#[utoipa::path(get, path = "/api/v1/conversions/dry_run", tag = "conversions",
    responses((status = 200, description = "`{as_of, decisions, requests}`: each conversion or correction a pass would record with its deliveries' payloads, and per destination the requests it would make and the deliveries its checks would hold back (expired or invalid) with why", body = Object)))]
pub(crate) async fn conversions_dry_run(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<DryRun>, ApiError> {
    let ws = workspace(&state, &headers, Scope::Read)?;
    let (config, live, store) = (
        Arc::clone(&state.config),
        Arc::clone(&state.live),
        Arc::clone(&state.store),
    );
    blocking(
        move |_| {
            let rules = views::configured(&config)?;
            let destinations =
                views::destinations(&config, &rules, &|name| std::env::var(name).ok())?;
            let clock: Arc<dyn Clock> = Arc::new(SystemClock);
            let conversions = Conversions::new(rules, config.report_settings(), store, clock);
            views::dry_run(&conversions, &live, &ws, &destinations, now())
        },
        Arc::clone(&state.store),
    )
    .await
}
