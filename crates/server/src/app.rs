use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware;
use axum::routing::{get, post};
use axum::{Json, Router};
use tenure_config::Config;
use tenure_core::{Timestamp, WorkspaceId};
use tenure_store::{Scope, Store};
use tokio::net::TcpListener;
use tower_http::compression::CompressionLayer;
use tower_http::timeout::RequestBodyTimeoutLayer;

use crate::auth::{self, header_key, KeyCache};
use crate::metrics::{self, ServerMetrics};
use crate::rate::RateLimiter;
use crate::session::Sessions;
use crate::webhooks::StripeSecrets;
use crate::{
    browser, connections, conversions_api, dashboard, error, ingest, keys, openapi, playbooks_api,
    request_log, timeout, webhooks, ApiError,
};
use prometheus_client::registry::Registry;
use tenure_reports::{RawParams, Report, ReportEntry, ReportError, ReportParams, ReportSettings};
use tenure_runtime::{status, Live, Status};

/// What every handler shares. Cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub live: Arc<Live>,
    pub config: Arc<Config>,
    pub(crate) keys: Arc<KeyCache>,
    pub(crate) rate: Arc<RateLimiter>,
    /// The Stripe endpoint secret of each workspace; without one, its webhook answers 503.
    pub(crate) stripe_secrets: Arc<StripeSecrets>,
    /// `config.report_settings()`, built once: the configuration does not change while serving.
    pub(crate) report_settings: Arc<ReportSettings>,
    pub(crate) metrics: Arc<ServerMetrics>,
    /// Every measure `/metrics` shows: the server's, the store's and the live models'.
    pub(crate) registry: Arc<Registry>,
    /// The dashboard's signed-in people.
    pub sessions: Arc<Sessions>,
}

impl AppState {
    pub fn new(store: Arc<dyn Store>, live: Arc<Live>, config: Arc<Config>) -> Self {
        let rate = Arc::new(RateLimiter::new(config.ingest.rate_limit_per_second));
        let report_settings = Arc::new(config.report_settings());
        let sessions = Arc::new(Sessions::new(Duration::from_secs_f64(
            config.server.session_hours * 3600.0,
        )));
        let mut registry = Registry::default();
        let metrics = Arc::new(ServerMetrics::registered(&mut registry));
        store.register_metrics(&mut registry);
        live.register_metrics(&mut registry);
        Self {
            store,
            live,
            config,
            keys: Arc::new(KeyCache::default()),
            rate,
            stripe_secrets: Arc::new(StripeSecrets::default()),
            report_settings,
            metrics,
            registry: Arc::new(registry),
            sessions,
        }
    }

    /// Accepts `secret` as a read key for `workspace` besides the store's keys (the local
    /// token of the data directory's `server.json`).
    pub fn with_local_read_key(mut self, secret: String, workspace: WorkspaceId) -> Self {
        self.keys = Arc::new(KeyCache::with_local_key(secret, workspace));
        self
    }

    /// Accepts each workspace's Stripe webhooks signed with its secret.
    pub fn with_stripe_secrets(mut self, secrets: StripeSecrets) -> Self {
        self.stripe_secrets = Arc::new(secrets);
        self
    }
}

/// The whole HTTP API.
pub fn router(state: AppState) -> Router {
    let server = &state.config.server;
    let request_timeout = Duration::from_secs(server.request_timeout_seconds);
    let body_timeout = Duration::from_secs(server.body_timeout_seconds);
    // What browsers call, from any origin (`browser`). Each route takes OPTIONS, so that a
    // preflight reaches the CORS layer rather than the 405 of a method the route lacks.
    let browsers = [
        ("/v1/{kind}", post(ingest::receive)),
        ("/beacon/v1/{kind}", post(ingest::receive)),
        (
            "/v1/projects/{write_key}/settings",
            get(browser::analytics_js_settings),
        ),
        ("/sourceConfig", get(browser::rudderstack_source_config)),
        ("/sourceConfig/", get(browser::rudderstack_source_config)),
    ]
    .into_iter()
    .fold(Router::new(), |routes, (path, route)| {
        routes.route(path, route.options(browser::options))
    })
    .layer(browser::cors());
    // Writes are small and must not hold a connection; reads have budgets of their own.
    let writes = Router::new()
        .merge(browsers)
        .route("/webhooks/stripe", post(webhooks::stripe_default))
        .route(
            "/webhooks/stripe/{workspace}",
            post(webhooks::stripe_workspace),
        )
        .route_layer(middleware::from_fn_with_state(
            request_timeout,
            timeout::within,
        ));
    let reads = Router::new()
        .route("/api/v1/status", get(read_status))
        .route("/api/v1/reports", get(list_reports))
        .route("/api/v1/accounts/{account}", get(read_account_status))
        .route(
            "/api/v1/accounts/{account}/history",
            get(read_account_history),
        )
        .route(
            "/api/v1/reports/{name}",
            get(read_report).post(read_report_with_proposal),
        )
        .merge(keys::routes())
        .merge(playbooks_api::routes())
        .merge(conversions_api::routes())
        .route_layer(middleware::from_fn(auth::refuse_key_in_url))
        // Reports run to hundreds of kilobytes of JSON (the accounts report of 20,000
        // accounts: 718 KB); gzip when the client accepts it.
        .layer(CompressionLayer::new());
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics::scrape))
        .route("/api/v1/openapi.json", get(openapi::serve))
        .merge(writes)
        .merge(reads)
        .merge(dashboard::routes())
        .fallback(error::not_found)
        // After every route: it is set on the routes that exist when it is called.
        .method_not_allowed_fallback(error::method_not_allowed)
        .layer(middleware::from_fn(error::json_errors))
        .layer(middleware::from_fn_with_state(
            Arc::clone(&state.metrics),
            request_log::request_log,
        ))
        .layer(RequestBodyTimeoutLayer::new(body_timeout))
        .with_state(state)
}

/// Liveness: answers as soon as the server listens.
#[utoipa::path(get, path = "/healthz", tag = "operations", security(()),
    responses((status = 200, description = "The server is up: `{\"status\": \"ok\"}`", body = Object)))]
pub(crate) async fn healthz() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok" }))
}

/// `GET /api/v1/reports`: every report, what it answers and the parameters it takes, from the
/// catalog the CLI's help and the API document are made from.
#[utoipa::path(get, path = "/api/v1/reports", tag = "reports",
    responses((status = 200, description = "The reports, in the catalog's order", body = [ReportEntry])))]
pub(crate) async fn list_reports(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Vec<ReportEntry>>, ApiError> {
    let secret = header_key(&headers)?;
    state
        .keys
        .authorize(&state.store, secret.as_deref(), Scope::Read)?;
    Ok(Json(
        tenure_reports::CATALOG.iter().map(|s| s.entry()).collect(),
    ))
}

/// `GET /api/v1/reports/{name}`: the same JSON as `tenure report NAME --format json`.
/// Query: the report flags by their snake_case names (`as_of`, `from`, `to`, `by`, `model`,
/// `metric`, `compare`, `account`, `stage`, `band`, `signal`, `tier`, `owner`, `channel`,
/// `sort`); without `as_of`, the end of the workspace's data ([`tenure_reports::default_as_of`]).
/// A parameter the report does not read, or a value it does not know, is 400
/// `invalid_parameter` ([`tenure_reports::CATALOG`]). The read key comes in the Authorization
/// header only.
async fn read_report(
    State(state): State<AppState>,
    Path(name): Path<String>,
    headers: HeaderMap,
    query: Result<Query<Vec<(String, String)>>, axum::extract::rejection::QueryRejection>,
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
    query: Result<Query<Vec<(String, String)>>, axum::extract::rejection::QueryRejection>,
    body: String,
) -> Result<Json<Report>, ApiError> {
    run_report(state, name, headers, query, Some(body)).await
}

async fn run_report(
    state: AppState,
    name: String,
    headers: HeaderMap,
    query: Result<Query<Vec<(String, String)>>, axum::extract::rejection::QueryRejection>,
    proposed: Option<String>,
) -> Result<Json<Report>, ApiError> {
    let Query(pairs) =
        query.map_err(|e| ApiError::bad_request("invalid_parameter", e.body_text()))?;
    let query = RawParams::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .map_err(|e| report_error(e, Duration::ZERO))?;
    let secret = header_key(&headers)?;
    let key = state
        .keys
        .authorize(&state.store, secret.as_deref(), Scope::Read)?;
    // Only a caller with a read key gets its proposal parsed.
    let proposed = match proposed {
        Some(body) => Some(
            tenure_config::Config::parse(&body, "the request body")
                .map_err(|e| ApiError::bad_request("invalid_parameter", format!("proposed: {e}")))?
                .health,
        ),
        None => None,
    };
    let settings = Arc::clone(&state.report_settings);
    let live = Arc::clone(&state.live);
    let budget = Duration::from_secs_f64(state.config.server.report_timeout_seconds);
    // Set when this future is dropped — the client went away, or the budget below ran out —
    // and asked by the report between turns and in its long loops, so the work stops instead
    // of running on for no one.
    let stop = StopOnDrop::default();
    let flag = Arc::clone(&stop.0);
    let report_name = name.clone();
    let started = std::time::Instant::now();
    // The model is read in turns, so a long report lets the applier in between.
    let task = tokio::task::spawn_blocking(move || {
        let should_stop = || flag.load(Ordering::Relaxed);
        let limits = tenure_reports::Limits {
            now: Timestamp::from_datetime(chrono::Utc::now()),
            should_stop: &should_stop,
        };
        answer_raw(
            &live,
            &settings,
            &key.workspace,
            &name,
            &query,
            proposed.as_ref(),
            limits,
        )
    });
    let report = match tokio::time::timeout(budget, task).await {
        Ok(done) => done.map_err(|e| {
            tracing::error!(report = %report_name, error = %e, "report panicked");
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "report_failed",
                "the report failed; the server log says why",
            )
        })?,
        Err(_) => {
            drop(stop);
            tracing::warn!(report = %report_name, budget_seconds = budget.as_secs_f64(),
                "report stopped at its time budget");
            Err(ReportError::Cancelled)
        }
    };
    state.metrics.reported(&report_name, started.elapsed());
    report.map(Json).map_err(|e| report_error(e, budget))
}

/// One report as the API answers it: `params` as a query gives them (without `as_of`, the end
/// of the workspace's data), with `proposed` as the proposed `[health]`. The dashboard's pages
/// run their reports through this too, so a page's figure is the API's.
pub(crate) fn answer(
    live: &Live,
    settings: &ReportSettings,
    workspace: &WorkspaceId,
    name: &str,
    params: &[(String, String)],
    proposed: Option<&tenure_health::HealthSettings>,
    limits: tenure_reports::Limits,
) -> Result<Report, ReportError> {
    let raw = RawParams::from_pairs(params.iter().map(|(k, v)| (k.as_str(), v.as_str())))?;
    answer_raw(live, settings, workspace, name, &raw, proposed, limits)
}

fn answer_raw(
    live: &Live,
    settings: &ReportSettings,
    workspace: &WorkspaceId,
    name: &str,
    raw: &RawParams,
    proposed: Option<&tenure_health::HealthSettings>,
    limits: tenure_reports::Limits,
) -> Result<Report, ReportError> {
    let default_as_of = if raw.as_of.is_some() {
        (limits.now, tenure_reports::AsOfSource::Given)
    } else {
        live.read(workspace, |model| {
            tenure_reports::default_as_of(model, limits.now)
        })
    };
    let mut params = ReportParams::parse(default_as_of, raw)?;
    params.proposed = proposed.cloned();
    live.report(workspace, name, settings, &params, limits)
}

/// Sets its flag when dropped: a report's "stop" that fires however the request ends.
#[derive(Default)]
pub(crate) struct StopOnDrop(pub(crate) Arc<AtomicBool>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// A report's failure as an answer: 400 only for the caller's mistakes (an unknown report is
/// 404); too little data for the figure is 422, a report stopped at its `budget` is 503 with
/// `Retry-After`, and a problem of the configuration is a logged 500 naming the cause.
fn report_error(e: ReportError, budget: Duration) -> ApiError {
    match e {
        ReportError::Unknown(_) => {
            ApiError::new(StatusCode::NOT_FOUND, "unknown_report", e.to_string())
        }
        ReportError::NoAccount(_) => {
            ApiError::new(StatusCode::NOT_FOUND, "unknown_account", e.to_string())
        }
        e if e.is_caller_error() => ApiError::bad_request("invalid_parameter", e.to_string()),
        ReportError::InsufficientData(_) => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "insufficient_data",
            e.to_string(),
        ),
        ReportError::Cancelled => ApiError {
            retry_after_seconds: Some(budget.as_secs_f64().ceil().max(1.0) as u64),
            ..ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "report_timeout",
                format!(
                    "the report did not finish within its time budget of {} s ([server] \
                     report_timeout_seconds) and was stopped; narrow as_of, from and to, or \
                     retry when the server is less busy",
                    budget.as_secs_f64()
                ),
            )
        },
        other => {
            tracing::error!(error = %other, "report failed");
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "report_failed",
                format!("the report failed: {other}"),
            )
        }
    }
}

#[utoipa::path(get, path = "/api/v1/status", tag = "reads",
    responses((status = 200, description = "What the store holds for the key's workspace, as `tenure status --format json`", body = Status)))]
pub(crate) async fn read_status(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Status>, ApiError> {
    let secret = header_key(&headers)?;
    let key = state
        .keys
        .authorize(&state.store, secret.as_deref(), Scope::Read)?;
    let store = Arc::clone(&state.store);
    let live = Arc::clone(&state.live);
    let settings = Arc::clone(&state.report_settings);
    let report = tokio::task::spawn_blocking(move || {
        status(store.as_ref(), &live, &key.workspace, &settings)
    })
    .await
    .map_err(|_| ApiError::unavailable("the status query failed", 5))??;
    Ok(Json(report))
}

/// The workspace of the caller's read key, and the account the path names.
fn read_account(
    state: &AppState,
    headers: &HeaderMap,
    account: &str,
) -> Result<(tenure_core::WorkspaceId, tenure_core::AccountId), ApiError> {
    let secret = header_key(headers)?;
    let key = state
        .keys
        .authorize(&state.store, secret.as_deref(), Scope::Read)?;
    let id = tenure_core::AccountId::parse(account)
        .map_err(|e| ApiError::bad_request("invalid_parameter", format!("account: {e}")))?;
    Ok((key.workspace, id))
}

/// `GET /api/v1/accounts/{account}`: the account's live status (stage, health, band,
/// signals), recomputed as each of its events is applied.
#[utoipa::path(get, path = "/api/v1/accounts/{account}", tag = "reads",
    params(("account" = String, Path, description = "The account id")),
    responses((status = 200, description = "The account's live status: stage, health, band and signals", body = tenure_reports::AccountStatus)))]
pub(crate) async fn read_account_status(
    State(state): State<AppState>,
    Path(account): Path<String>,
    headers: HeaderMap,
) -> Result<Json<tenure_reports::AccountStatus>, ApiError> {
    let (workspace, id) = read_account(&state, &headers, &account)?;
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

/// An account's stored daily health.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub(crate) struct AccountHistory {
    account: String,
    /// Each stored day, oldest first, with the configuration version that scored it.
    days: Vec<tenure_store::HealthDay>,
}

/// `GET /api/v1/accounts/{account}/history`: the account's stored daily health history, each
/// day with the configuration version that scored it.
#[utoipa::path(get, path = "/api/v1/accounts/{account}/history", tag = "reads",
    params(("account" = String, Path, description = "The account id")),
    responses((status = 200, description = "The account's stored daily health", body = AccountHistory)))]
pub(crate) async fn read_account_history(
    State(state): State<AppState>,
    Path(account): Path<String>,
    headers: HeaderMap,
) -> Result<Json<AccountHistory>, ApiError> {
    let (workspace, id) = read_account(&state, &headers, &account)?;
    let store = Arc::clone(&state.store);
    let days = tokio::task::spawn_blocking(move || store.health_days(&workspace, id.as_str()))
        .await
        .map_err(|_| ApiError::unavailable("the history lookup failed", 5))??;
    Ok(Json(AccountHistory { account, days }))
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

    /// As [`Application::build`], over a listener the caller bound already: `tenure serve`
    /// and `tenure demo` bind before their long start-up, so a busy port fails at once.
    /// Needs a running Tokio runtime.
    pub fn from_listener(
        listener: std::net::TcpListener,
        state: AppState,
    ) -> std::io::Result<Self> {
        listener.set_nonblocking(true)?;
        let listener = TcpListener::from_std(listener)?;
        Ok(Self { listener, state })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` completes, then finishes the requests in flight. Connections
    /// are capped and timed out as `[server]` says (`docs/limits.md`).
    pub async fn run(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let settings = self.state.config.server.clone();
        let open = self.state.metrics.open_connections.clone();
        connections::serve(self.listener, router(self.state), &settings, open, shutdown).await
    }
}
