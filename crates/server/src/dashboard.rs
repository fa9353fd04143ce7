//! The dashboard's routes: sign-in and sign-out, every page of [`tenure_dashboard::PAGES`],
//! each figure's CSV, the embedded docs and assets.
//!
//! A page's reports run exactly as `GET /api/v1/reports/NAME` runs them ([`crate::app::answer`]),
//! so a figure on a page is the API's figure for the same parameters.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use maud::Markup;
use serde::Deserialize;
use tenure_core::{Timestamp, WorkspaceId};
use tenure_dashboard::{Answers, Block, Chrome, Page, PageQuery, Proposal, PAGES};
use tenure_health::HealthSettings;
use tenure_store::Scope;

use crate::app::{answer, StopOnDrop};
use crate::session::{Session, COOKIE};
use crate::{ApiError, AppState};

/// Scripts and styles from this server only; no frames, no plug-ins, forms to itself.
const POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                      connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

pub(crate) fn routes() -> Router<AppState> {
    let mut routes = Router::new()
        .route("/assets/{name}", get(asset))
        .route("/docs/{name}", get(doc))
        .route("/signin", get(signin_form).post(signin))
        .route("/signin/once/{ticket}", get(signin_once))
        .route("/signout", post(signout))
        .route("/csv/{page}", get(csv));
    for page in PAGES {
        routes = if page.path.contains("{account}") {
            routes.route(
                page.path,
                get(
                    move |State(state): State<AppState>,
                          Path(account): Path<String>,
                          headers: HeaderMap,
                          RawQuery(raw): RawQuery| async move {
                        let mut query = parse_query(raw.as_deref());
                        query.set("account", account);
                        show(state, page, headers, query, None).await
                    },
                ),
            )
        } else {
            routes.route(
                page.path,
                get(
                    move |State(state): State<AppState>,
                          headers: HeaderMap,
                          RawQuery(raw): RawQuery| async move {
                        show(state, page, headers, parse_query(raw.as_deref()), None).await
                    },
                )
                .post(
                    move |State(state): State<AppState>,
                          headers: HeaderMap,
                          RawQuery(raw): RawQuery,
                          Form(form): Form<Vec<(String, String)>>| async move {
                        propose(state, page, headers, parse_query(raw.as_deref()), form).await
                    },
                ),
            )
        };
    }
    // A page with a long table runs to hundreds of kilobytes of HTML (the survival curves of
    // eight groups at 20,000 accounts: 737 KB); gzip when the browser accepts it.
    routes.layer(tower_http::compression::CompressionLayer::new())
}

fn parse_query(raw: Option<&str>) -> PageQuery {
    PageQuery::new(url::form_urlencoded::parse(raw.unwrap_or("").as_bytes()).into_owned())
}

/// The session of the request's cookie, with its key still valid for reading.
fn signed_in(state: &AppState, headers: &HeaderMap) -> Option<(String, Session)> {
    let token = cookie(headers, COOKIE)?;
    let session = state.sessions.find(&token)?;
    // The key is asked again (through the cache): a revoked key ends its sessions.
    state
        .keys
        .authorize(&state.store, Some(&session.secret), Scope::Read)
        .ok()?;
    Some((token, session))
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v.to_owned())
}

/// To the sign-in form, coming back to `next` afterwards.
fn to_signin(next: &str) -> Response {
    let next: String = url::form_urlencoded::byte_serialize(next.as_bytes()).collect();
    see_other(&format!("/signin?next={next}"))
}

fn see_other(location: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

/// Only a path of this server: never `//host` or `https://…`, which would make the sign-in
/// form a way to send people elsewhere.
fn safe_next(next: Option<&str>) -> String {
    // Browsers drop tabs and line breaks from a URL and read `\` as `/`, so `/\t/host` or
    // `/\\host` would become `//host`: a path with any of them, or any space or control
    // character, is not taken.
    let plain = |n: &str| {
        !n.chars()
            .any(|c| c.is_control() || c.is_whitespace() || c == '\\')
    };
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && plain(n) => n.to_owned(),
        _ => "/".to_owned(),
    }
}

fn html(status: StatusCode, markup: Markup) -> Response {
    let mut response = (status, markup.into_string()).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    // The pages hold a workspace's figures: no shared cache keeps them.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The page's own address for `query`: where to come back to after signing in, and what the
/// address bar shows (an account page's account is in its path, not again in its query).
fn here(page: &Page, query: &PageQuery) -> String {
    let path = page.path_of(query);
    if page.path.contains("{account}") {
        let mut rest = query.clone();
        rest.set("account", "");
        rest.at(&path)
    } else {
        query.at(&path)
    }
}

/// What a page's form posted: the proposal as sent, and its `[health]` when it parsed.
struct Posted {
    proposal: Proposal,
    health: Option<HealthSettings>,
}

async fn show(
    state: AppState,
    page: &'static Page,
    headers: HeaderMap,
    query: PageQuery,
    posted: Option<Posted>,
) -> Response {
    let Some((_, session)) = signed_in(&state, &headers) else {
        return to_signin(&here(page, &query));
    };
    // One masked token for the page's forms: the sign-out form and the page's own.
    let masked = session.masked_csrf();
    match run(
        &state,
        page,
        &query,
        (session.workspace.clone(), masked.clone()),
        posted,
    )
    .await
    {
        Ok((answers, blocks)) => {
            let as_of = answers.reports.iter().flatten().next().map(|r| {
                (
                    r.as_of.to_string(),
                    r.as_of_source == tenure_reports::AsOfSource::Given,
                )
            });
            let chrome = Chrome {
                page,
                query: &query,
                csrf: &masked,
                workspace: session.workspace.as_str(),
                as_of,
                title: page_title(&query, &answers),
            };
            let mut response = html(StatusCode::OK, tenure_dashboard::render(&chrome, &blocks));
            // A selector swapped the content in place: the address bar gets the page's own
            // address, without the form's empty fields.
            if headers.contains_key("hx-request") {
                if let Ok(url) = HeaderValue::from_str(&here(page, &query)) {
                    response.headers_mut().insert("hx-push-url", url);
                }
            }
            response
        }
        Err(e) => e.into_response(),
    }
}

/// An account page is titled by the account's name.
fn page_title(query: &PageQuery, answers: &Answers) -> Option<String> {
    let account = query.get("account")?;
    let name = answers
        .reports
        .iter()
        .flatten()
        .find_map(|r| r.summary.as_ref()?.get("name")?.as_str().map(str::to_owned));
    Some(match name {
        Some(name) => format!("{name} ({account})"),
        None => account.to_owned(),
    })
}

/// A page's form that proposes something (the health back-test's configuration): checked
/// against the session's token, then the page with the proposal.
async fn propose(
    state: AppState,
    page: &'static Page,
    headers: HeaderMap,
    query: PageQuery,
    form: Vec<(String, String)>,
) -> Response {
    let Some((_, session)) = signed_in(&state, &headers) else {
        return to_signin(&here(page, &query));
    };
    let field = |name: &str| {
        form.iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    if !field("csrf").is_some_and(|given| session.accepts(given)) {
        return forged();
    }
    let text = field("proposed").unwrap_or("").to_owned();
    let (health, error) = match tenure_config::Config::parse(&text, "the proposed configuration") {
        Ok(config) => (Some(config.health), None),
        Err(e) => (None, Some(e.to_string())),
    };
    let posted = Posted {
        proposal: Proposal { text, error },
        health,
    };
    show(state, page, headers, query, Some(posted)).await
}

fn forged() -> Response {
    html(
        StatusCode::FORBIDDEN,
        tenure_dashboard::signin_page(
            Some("This form did not come from a page of this dashboard (its token is missing or old). Reload the page and send it again."),
            "/",
        ),
    )
}

/// Runs a page's reports and renders its blocks, within the report time budget.
async fn run(
    state: &AppState,
    page: &'static Page,
    query: &PageQuery,
    (workspace, csrf): (WorkspaceId, String),
    posted: Option<Posted>,
) -> Result<(Answers, Vec<Block>), ApiError> {
    let budget = Duration::from_secs_f64(state.config.server.report_timeout_seconds);
    let stop = StopOnDrop::default();
    let flag = Arc::clone(&stop.0);
    let (live, settings, store, config) = (
        Arc::clone(&state.live),
        Arc::clone(&state.report_settings),
        Arc::clone(&state.store),
        Arc::clone(&state.config),
    );
    let ingest = page
        .needs_status
        .then(|| state.metrics.ingest_rates.of(&workspace));
    let query = query.clone();
    let task = tokio::task::spawn_blocking(move || {
        let now = Timestamp::from_datetime(chrono::Utc::now());
        let should_stop = || flag.load(Ordering::Relaxed);
        let as_of = query
            .get("as_of")
            .and_then(|raw| Timestamp::parse_end_of(raw).ok())
            .unwrap_or_else(|| {
                live.read(&workspace, |model| {
                    tenure_reports::default_as_of(model, now).0
                })
            });
        let (proposal, health) = posted.map_or((None, None), |p| (Some(p.proposal), p.health));
        let mut answers = Answers {
            csrf,
            proposal,
            stages: settings
                .stages
                .stages
                .iter()
                .map(|s| s.name.clone())
                .collect(),
            ..Answers::default()
        };
        for call in (page.calls)(&query, as_of) {
            let limits = tenure_reports::Limits {
                now,
                should_stop: &should_stop,
            };
            // Given to the reports the catalog says read a proposal (`health-backtest`).
            let reads_proposal = tenure_reports::spec(call.report)
                .is_ok_and(|spec| spec.params.contains(&tenure_reports::Param::Proposed));
            let proposed = health.as_ref().filter(|_| reads_proposal);
            let report = answer(
                &live,
                &settings,
                &workspace,
                call.report,
                &call.params,
                proposed,
                limits,
            )
            .map_err(|e| e.to_string());
            answers.reports.push(report);
            answers.calls.push(call);
        }
        if page.needs_status {
            let status = tenure_runtime::status(store.as_ref(), &live, &workspace, &settings)
                .map_err(|e| ApiError::unavailable(format!("the status query failed: {e}"), 5))?;
            let mut status = serde_json::to_value(status).unwrap_or_default();
            if let (Some(ingest), Some(object)) = (ingest, status.as_object_mut()) {
                object.insert(
                    "ingest".into(),
                    serde_json::to_value(ingest).unwrap_or_default(),
                );
            }
            answers.status = Some(status);
        }
        if page.needs_playbooks {
            let account = query.get("account").unwrap_or_default();
            let view =
                crate::playbooks::account_playbooks(store.as_ref(), &workspace, account, now)
                    .map(|v| serde_json::to_value(v).unwrap_or_default())
                    .map_err(|e| e.to_string());
            answers.playbooks = Some(view);
        }
        if page.needs_conversions {
            // As `GET /api/v1/conversions` builds it: the same rules, the same JSON.
            let view = crate::conversions::configured(&config)
                .and_then(|rules| crate::conversions::status(store.as_ref(), &workspace, &rules))
                .map(|v| serde_json::to_value(v).unwrap_or_default())
                .map_err(|e| e.to_string());
            answers.conversions = Some(view);
        }
        let blocks = (page.render)(&query, &answers);
        Ok::<_, ApiError>((answers, blocks))
    });
    match tokio::time::timeout(budget, task).await {
        Ok(Ok(done)) => done,
        Ok(Err(e)) => {
            tracing::error!(page = page.name, error = %e, "a dashboard page panicked");
            Err(ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "page_failed",
                "the page failed; the server log says why",
            ))
        }
        Err(_) => {
            drop(stop);
            Err(ApiError::unavailable(
                format!(
                    "the page did not finish within the report time budget of {} s ([server] report_timeout_seconds)",
                    budget.as_secs_f64()
                ),
                budget.as_secs().max(1),
            ))
        }
    }
}

/// `GET /csv/PAGE?figure=ID&…`: the figure's table, exactly as the page draws it.
async fn csv(
    State(state): State<AppState>,
    Path(name): Path<String>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let query = parse_query(raw.as_deref());
    let Some(page) = tenure_dashboard::page(&name) else {
        return ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no page {name}"),
        )
        .into_response();
    };
    let Some((_, session)) = signed_in(&state, &headers) else {
        return to_signin(&here(page, &query));
    };
    let wanted = query.get("figure").unwrap_or("").to_owned();
    let (_, blocks) = match run(
        &state,
        page,
        &query,
        (session.workspace, String::new()),
        None,
    )
    .await
    {
        Ok(done) => done,
        Err(e) => return e.into_response(),
    };
    let figure = blocks.iter().find_map(|b| match b {
        Block::Figure(f) if f.id == wanted => Some(f),
        _ => None,
    });
    let Some(figure) = figure else {
        return ApiError::bad_request(
            "invalid_parameter",
            format!("figure: the {name} page has no figure {wanted:?} for these parameters"),
        )
        .into_response();
    };
    let mut response = figure.table.csv().into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    if let Ok(value) = HeaderValue::from_str(&format!(
        "attachment; filename=\"{name}-{}.csv\"",
        figure.id
    )) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

async fn asset(Path(name): Path<String>) -> Response {
    let Some(asset) = tenure_dashboard::assets::find(&name) else {
        return ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no asset {name}"),
        )
        .into_response();
    };
    let mut response = asset.bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(asset.content_type),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // Versioned names (htmx's) never change; the dashboard's own may with the next release.
    let cache = if asset.name.contains(tenure_dashboard::assets::HTMX_VERSION) {
        "public, max-age=31536000, immutable"
    } else {
        "public, max-age=3600"
    };
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    response
}

async fn doc(Path(name): Path<String>) -> Response {
    match tenure_dashboard::docs::render(&name) {
        Some((title, body)) => html(StatusCode::OK, tenure_dashboard::doc_page(&title, body)),
        None => ApiError::new(StatusCode::NOT_FOUND, "not_found", format!("no doc {name}"))
            .into_response(),
    }
}

#[derive(Deserialize)]
struct Next {
    next: Option<String>,
}

async fn signin_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    axum::extract::Query(next): axum::extract::Query<Next>,
) -> Response {
    let next = safe_next(next.next.as_deref());
    if signed_in(&state, &headers).is_some() {
        return see_other(&next);
    }
    html(StatusCode::OK, tenure_dashboard::signin_page(None, &next))
}

#[derive(Deserialize)]
struct SignIn {
    key: String,
    next: Option<String>,
}

/// Whether a form was sent by a page of another site: browsers say so in `Sec-Fetch-Site`
/// and `Origin`. The sign-in form has no session token yet, so this is its protection
/// against a page that would sign a person in under someone else's key.
fn cross_site(headers: &HeaderMap) -> bool {
    let text = |name| {
        headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
    };
    // A browser that says where the form came from is believed.
    match text("sec-fetch-site") {
        Some("same-origin" | "none") => return false,
        Some(_) => return true,
        None => {}
    }
    let (origin, host) = (text(header::ORIGIN.as_str()), text(header::HOST.as_str()));
    match (origin, host) {
        (Some("null"), _) => true,
        (Some(origin), Some(host)) => {
            let origin_host = origin.split_once("://").map_or(origin, |(_, h)| h);
            !origin_host.eq_ignore_ascii_case(host)
        }
        // No Origin (an older browser, a script): the session token is not at stake here,
        // and the key itself is the proof.
        _ => false,
    }
}

async fn signin(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<SignIn>,
) -> Response {
    let next = safe_next(form.next.as_deref());
    if cross_site(&headers) {
        return forged();
    }
    match state
        .keys
        .authorize(&state.store, Some(form.key.trim()), Scope::Read)
    {
        Ok(key) => {
            let token = state
                .sessions
                .open(form.key.trim().to_owned(), key.workspace);
            with_cookie(see_other(&next), &token, &state, &headers)
        }
        Err(e) => html(
            StatusCode::UNAUTHORIZED,
            tenure_dashboard::signin_page(Some(&sign_in_error(&e)), &next),
        ),
    }
}

fn sign_in_error(e: &ApiError) -> String {
    match e.status {
        StatusCode::FORBIDDEN => {
            "That is a write key, which can only send data: sign in with a read or admin key."
                .to_owned()
        }
        StatusCode::UNAUTHORIZED => {
            "That key is not known here. Check it was copied whole, or make one with `tenure keys create --scope read`.".to_owned()
        }
        _ => format!("Signing in failed: {}", e.message),
    }
}

/// `GET /signin/once/TICKET`: the link `tenure demo` prints, which signs in once.
async fn signin_once(
    State(state): State<AppState>,
    Path(ticket): Path<String>,
    headers: HeaderMap,
) -> Response {
    let Some(secret) = state.sessions.redeem(&ticket) else {
        return html(
            StatusCode::UNAUTHORIZED,
            tenure_dashboard::signin_page(
                Some("This sign-in link has been used already or is too old (links work once, for 15 minutes). Sign in with the read key instead."),
                "/",
            ),
        );
    };
    match state
        .keys
        .authorize(&state.store, Some(&secret), Scope::Read)
    {
        Ok(key) => {
            let token = state.sessions.open(secret, key.workspace);
            with_cookie(see_other("/"), &token, &state, &headers)
        }
        Err(e) => html(
            StatusCode::UNAUTHORIZED,
            tenure_dashboard::signin_page(Some(&sign_in_error(&e)), "/"),
        ),
    }
}

#[derive(Deserialize)]
struct SignOut {
    csrf: Option<String>,
}

async fn signout(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<SignOut>,
) -> Response {
    let Some((token, session)) = signed_in(&state, &headers) else {
        return see_other("/signin");
    };
    if !form
        .csrf
        .as_deref()
        .is_some_and(|given| session.accepts(given))
    {
        return forged();
    }
    state.sessions.close(&token);
    let mut response = see_other("/signin");
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&format!(
            "{COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"
        ))
        .expect("a valid header"),
    );
    response
}

/// Sets the session cookie: HttpOnly (no script reads it), SameSite=Lax (no other site's
/// form or script sends it), Secure behind an HTTPS proxy, for the session's lifetime.
fn with_cookie(
    mut response: Response,
    token: &str,
    state: &AppState,
    headers: &HeaderMap,
) -> Response {
    let secure = headers
        .get("x-forwarded-proto")
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"https"));
    let cookie = format!(
        "{COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{}",
        state.sessions.lifetime().as_secs().max(1),
        if secure { "; Secure" } else { "" }
    );
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

#[cfg(test)]
mod tests {
    //! The pages' answers as the server builds them: the status page's conversions are
    //! `GET /api/v1/conversions`'s JSON, and an account's conversion firings read as such.

    use axum::body::Body;
    use axum::http::Request;
    use http_body_util::BodyExt;
    use serde_json::{json, Value};
    use tenure_store::{NewDelivery, NewFiring, SqliteStore, Store};
    use tower::ServiceExt;

    use super::*;

    const CONFIG: &str = r#"
[[destinations]]
name = "file"
kind = "google_csv"

[[conversions]]
name = "paid"
milestone = "first_payment"
value = "initial_arr"
send = [{ destination = "file" }]
"#;

    /// A store holding a conversion of acct_1 and its restatement, each waiting to be sent.
    fn app() -> (tempfile::TempDir, AppState, String) {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(SqliteStore::open_dir(dir.path()).unwrap());
        let ws = WorkspaceId::default_workspace();
        let key = store.create_key(&ws, Scope::Read).unwrap();
        let at = Timestamp::parse("2026-03-01T10:00:00Z").unwrap();
        for (key, cause) in [
            (
                "paid/acct_1",
                json!({"kind": "conversion", "value": 1200.0, "currency": "USD"}),
            ),
            (
                "paid/acct_1/restate",
                json!({"kind": "restatement", "value": 900.0, "previous_value": 1200.0, "currency": "USD"}),
            ),
        ] {
            let firing = NewFiring {
                key: key.to_owned(),
                playbook: "conversion:paid".to_owned(),
                version: "1".to_owned(),
                account: "acct_1".to_owned(),
                period: "p".to_owned(),
                fired_at: at,
                cause,
            };
            let delivery = NewDelivery {
                step: 0,
                destination: "file".to_owned(),
                kind: "google_csv".to_owned(),
                payload: json!({}),
                due_at: at,
            };
            assert!(store.record_firing(&ws, &firing, &[delivery]).unwrap());
        }
        let config = tenure_config::Config::parse(CONFIG, "the test configuration").unwrap();
        let live = Arc::new(tenure_runtime::Live::empty(config.engine()));
        let store: Arc<dyn Store> = store;
        (dir, AppState::new(store, live, Arc::new(config)), key)
    }

    async fn answers_of(state: &AppState, page: &str, query: PageQuery) -> (Answers, Vec<Block>) {
        let page = tenure_dashboard::page(page).unwrap();
        let ws = WorkspaceId::default_workspace();
        run(state, page, &query, (ws, "csrf".to_owned()), None)
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn the_status_page_shows_the_apis_conversions() {
        let (_dir, state, key) = app();
        let request = Request::get("/api/v1/conversions")
            .header(header::AUTHORIZATION, format!("Bearer {key}"))
            .body(Body::empty())
            .unwrap();
        let response = crate::router(state.clone()).oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let api: Value = serde_json::from_slice(&bytes).unwrap();
        // Two recorded, neither sent yet.
        let d = &api["rules"][0]["destinations"][0];
        assert_eq!(
            (d["sent"].as_u64(), d["pending"].as_u64()),
            (Some(2), Some(2))
        );

        let (answers, blocks) = answers_of(&state, "status", PageQuery::default()).await;
        assert_eq!(answers.conversions, Some(Ok(api)));
        let table = blocks
            .iter()
            .find_map(|b| match b {
                Block::Figure(f) if f.id == "conversions" => Some(&f.table),
                _ => None,
            })
            .expect("the conversions table");
        let csv = table.csv();
        let row = csv.lines().nth(1).unwrap();
        assert!(
            row.starts_with("paid,first_payment,true,file,google_csv,paid,2,0,0,0,0,0,2,"),
            "{csv}"
        );
    }

    #[tokio::test]
    async fn an_accounts_conversions_read_as_what_they_sent() {
        let (_dir, state, _) = app();
        let query = PageQuery::new([("account", "acct_1")]);
        let (_, blocks) = answers_of(&state, "account", query.clone()).await;
        let html: String = blocks
            .iter()
            .map(|b| b.render("account", &query, &query).into_string())
            .collect();
        for expected in [
            "conversion paid — restatement to $900.00 (was $1,200.00)",
            "conversion paid — conversion of $1,200.00",
        ] {
            assert!(html.contains(expected), "{expected} not in {html}");
        }
    }
}
