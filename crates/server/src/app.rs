use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use tenure_config::Config;
use tenure_core::Timestamp;
use tenure_store::{Scope, Store};
use tokio::net::TcpListener;

use crate::auth::{header_key, KeyCache};
use crate::rate::RateLimiter;
use crate::{ingest, status, webhooks, ApiError, Live, Status};
use tenure_reports::{RawParams, Report, ReportError, ReportParams};

/// What every handler shares. Cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub live: Arc<Live>,
    pub config: Arc<Config>,
    pub(crate) keys: Arc<KeyCache>,
    pub(crate) rate: Arc<RateLimiter>,
    /// The Stripe endpoint secret; without one, the Stripe webhook answers 503.
    pub(crate) stripe_secret: Option<Arc<str>>,
}

impl AppState {
    pub fn new(store: Arc<dyn Store>, live: Arc<Live>, config: Arc<Config>) -> Self {
        let rate = Arc::new(RateLimiter::new(config.ingest.rate_limit_per_second));
        Self {
            store,
            live,
            config,
            keys: Arc::new(KeyCache::default()),
            rate,
            stripe_secret: None,
        }
    }

    /// Accepts Stripe webhooks signed with `secret`.
    pub fn with_stripe_secret(mut self, secret: Option<String>) -> Self {
        self.stripe_secret = secret.filter(|s| !s.is_empty()).map(Arc::from);
        self
    }
}

/// The whole HTTP API.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/v1/{kind}", post(ingest::receive))
        .route("/api/v1/status", get(read_status))
        .route("/api/v1/accounts/{account}", get(read_account_status))
        .route(
            "/api/v1/accounts/{account}/history",
            get(read_account_history),
        )
        .route(
            "/api/v1/reports/{name}",
            get(read_report).post(read_report_with_proposal),
        )
        .route("/webhooks/stripe", post(webhooks::stripe_default))
        .route(
            "/webhooks/stripe/{workspace}",
            post(webhooks::stripe_workspace),
        )
        .with_state(state)
}

async fn healthz() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok" }))
}

#[derive(Deserialize)]
struct ReadParams {
    key: Option<String>,
}

/// `GET /api/v1/reports/{name}`: the same JSON as `tenure report NAME --format json`.
/// Query: the report flags by their snake_case names (`as_of`, `from`, `to`, `by`, `model`,
/// `metric`, `compare`, `account`, `stage`, `band`, `signal`, `tier`, `owner`, `channel`,
/// `sort`), and `key`.
async fn read_report(
    State(state): State<AppState>,
    Path(name): Path<String>,
    headers: HeaderMap,
    query: Result<Query<RawParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Report>, ApiError> {
    run_report(state, name, headers, query, None).await
}

/// `POST /api/v1/reports/{name}` with a configuration file (TOML) as the body: the report with
/// that file's `[health]` as the proposed configuration, as `tenure report NAME --proposed
/// FILE` gives it (`health-backtest` compares it with the current one).
async fn read_report_with_proposal(
    State(state): State<AppState>,
    Path(name): Path<String>,
    headers: HeaderMap,
    query: Result<Query<RawParams>, axum::extract::rejection::QueryRejection>,
    body: String,
) -> Result<Json<Report>, ApiError> {
    run_report(state, name, headers, query, Some(body)).await
}

async fn run_report(
    state: AppState,
    name: String,
    headers: HeaderMap,
    query: Result<Query<RawParams>, axum::extract::rejection::QueryRejection>,
    proposed: Option<String>,
) -> Result<Json<Report>, ApiError> {
    let Query(query) =
        query.map_err(|e| ApiError::bad_request("invalid_parameter", e.body_text()))?;
    let secret = header_key(&headers)?.or(query.key.clone());
    let key = state
        .keys
        .authorize(&state.store, secret.as_deref(), Scope::Read)?;
    let now = Timestamp::from_datetime(chrono::Utc::now());
    let mut params = ReportParams::parse(now, &query).map_err(report_error)?;
    // Only a caller with a read key gets its proposal parsed.
    if let Some(body) = proposed {
        let config = tenure_config::Config::parse(&body, "the request body")
            .map_err(|e| ApiError::bad_request("invalid_parameter", format!("proposed: {e}")))?;
        params.proposed = Some(config.health);
    }
    let settings = state.config.report_settings();
    let live = Arc::clone(&state.live);
    // The model is read in turns, so a long report lets the applier in between.
    tokio::task::spawn_blocking(move || {
        let with_model: tenure_reports::WithModel =
            &|f| live.read(&key.workspace, |model| f(model));
        tenure_reports::run_in_turns(&name, with_model, &settings, &params)
    })
    .await
    .map_err(|_| ApiError::unavailable("the report failed", 5))?
    .map(Json)
    .map_err(report_error)
}

fn report_error(e: ReportError) -> ApiError {
    match e {
        ReportError::Unknown(_) => {
            ApiError::new(StatusCode::NOT_FOUND, "unknown_report", e.to_string())
        }
        other => ApiError::bad_request("invalid_parameter", other.to_string()),
    }
}

async fn read_status(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(params): Query<ReadParams>,
) -> Result<Json<Status>, ApiError> {
    let secret = header_key(&headers)?.or(params.key);
    let key = state
        .keys
        .authorize(&state.store, secret.as_deref(), Scope::Read)?;
    let store = Arc::clone(&state.store);
    let live = Arc::clone(&state.live);
    let report = tokio::task::spawn_blocking(move || status(store.as_ref(), &live, &key.workspace))
        .await
        .map_err(|_| ApiError::unavailable("the status query failed", 5))??;
    Ok(Json(report))
}

/// The workspace of the caller's read key, and the account the path names.
fn read_account(
    state: &AppState,
    headers: &HeaderMap,
    params: ReadParams,
    account: &str,
) -> Result<(tenure_core::WorkspaceId, tenure_core::AccountId), ApiError> {
    let secret = header_key(headers)?.or(params.key);
    let key = state
        .keys
        .authorize(&state.store, secret.as_deref(), Scope::Read)?;
    let id = tenure_core::AccountId::parse(account)
        .map_err(|e| ApiError::bad_request("invalid_parameter", format!("account: {e}")))?;
    Ok((key.workspace, id))
}

/// `GET /api/v1/accounts/{account}`: the account's live status (stage, health, band,
/// signals), recomputed as each of its events is applied.
async fn read_account_status(
    State(state): State<AppState>,
    Path(account): Path<String>,
    headers: HeaderMap,
    Query(params): Query<ReadParams>,
) -> Result<Json<tenure_reports::AccountStatus>, ApiError> {
    let (workspace, id) = read_account(&state, &headers, params, &account)?;
    let live = Arc::clone(&state.live);
    tokio::task::spawn_blocking(move || live.status(&workspace, &id))
        .await
        .map_err(|_| ApiError::unavailable("the status lookup failed", 5))?
        .map(Json)
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "unknown_account",
                format!(
                    "no status for account {account}: it has never paid nor won a deal, or no \
                     entry names it"
                ),
            )
        })
}

/// `GET /api/v1/accounts/{account}/history`: the account's stored daily health history, each
/// day with the configuration version that scored it.
async fn read_account_history(
    State(state): State<AppState>,
    Path(account): Path<String>,
    headers: HeaderMap,
    Query(params): Query<ReadParams>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let (workspace, id) = read_account(&state, &headers, params, &account)?;
    let store = Arc::clone(&state.store);
    let days = tokio::task::spawn_blocking(move || store.health_days(&workspace, id.as_str()))
        .await
        .map_err(|_| ApiError::unavailable("the history lookup failed", 5))??;
    Ok(Json(
        serde_json::json!({ "account": account, "days": days }),
    ))
}

/// A bound, not yet running server: `build` reports the real port (useful with port 0).
#[derive(Debug)]
pub struct Application {
    listener: TcpListener,
    state: AppState,
}

impl Application {
    pub async fn build(addr: SocketAddr, state: AppState) -> std::io::Result<Self> {
        let listener = TcpListener::bind(addr).await?;
        Ok(Self { listener, state })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` completes, then finishes the requests in flight.
    pub async fn run(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        axum::serve(self.listener, router(self.state))
            .with_graceful_shutdown(shutdown)
            .await
    }
}
