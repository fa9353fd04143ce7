//! The dashboard's doors: who gets in (a read or admin key, through the form or a one-time
//! link), how long (the session's lifetime, the key's life), and what another site cannot make
//! a signed-in browser do (forms without the session's token, a sign-in from another origin).
//! The pages themselves are driven in a real browser by `crates/tenure/tests/dashboard.rs`.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{header, HeaderMap, Request, StatusCode};
use http_body_util::BodyExt;
use tenure_config::Config;
use tenure_core::WorkspaceId;
use tenure_runtime::Live;
use tenure_server::{router, AppState};
use tenure_store::{Scope, SqliteStore, Store};
use tower::ServiceExt;

struct TestApp {
    _dir: tempfile::TempDir,
    state: AppState,
    read_key: String,
    write_key: String,
    admin_key: String,
}

impl TestApp {
    fn new(config: Config) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(SqliteStore::open_dir(dir.path()).unwrap());
        let ws = WorkspaceId::default_workspace();
        let read_key = store.create_key(&ws, Scope::Read).unwrap();
        let write_key = store.create_key(&ws, Scope::Write).unwrap();
        let admin_key = store.create_key(&ws, Scope::Admin).unwrap();
        let live = Arc::new(Live::empty(config.engine()));
        let store: Arc<dyn Store> = store;
        Self {
            _dir: dir,
            state: AppState::new(store, live, Arc::new(config)),
            read_key,
            write_key,
            admin_key,
        }
    }

    async fn send(&self, request: Request<Body>) -> (StatusCode, HeaderMap, String) {
        let response = router(self.state.clone()).oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        (
            status,
            headers,
            String::from_utf8_lossy(&bytes).into_owned(),
        )
    }

    async fn get(&self, path: &str, cookie: Option<&str>) -> (StatusCode, HeaderMap, String) {
        let mut request = Request::get(path);
        if let Some(cookie) = cookie {
            request = request.header(header::COOKIE, cookie);
        }
        self.send(request.body(Body::empty()).unwrap()).await
    }

    async fn post_form(
        &self,
        path: &str,
        form: &str,
        cookie: Option<&str>,
        origin: Option<&str>,
    ) -> (StatusCode, HeaderMap, String) {
        let mut request = Request::post(path)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::HOST, "127.0.0.1:7070");
        if let Some(cookie) = cookie {
            request = request.header(header::COOKIE, cookie);
        }
        if let Some(origin) = origin {
            request = request.header(header::ORIGIN, origin);
        }
        self.send(request.body(Body::from(form.to_owned())).unwrap())
            .await
    }

    /// Signs in with `key` through the form; the session cookie (`name=value`) on success.
    async fn sign_in(&self, key: &str) -> Result<String, (StatusCode, String)> {
        let (status, headers, body) = self
            .post_form(
                "/signin",
                &format!("key={key}&next=%2Fstatus"),
                None,
                Some("http://127.0.0.1:7070"),
            )
            .await;
        if status != StatusCode::SEE_OTHER {
            return Err((status, body));
        }
        assert_eq!(headers[header::LOCATION], "/status");
        Ok(session_cookie(&headers))
    }
}

fn session_cookie(headers: &HeaderMap) -> String {
    let set = headers[header::SET_COOKIE].to_str().unwrap();
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(set.contains(attribute), "{set}");
    }
    set.split(';').next().unwrap().to_owned()
}

/// The session's token against cross-site forms, as the page's sign-out form carries it.
fn csrf_of(page: &str) -> String {
    let at = page.find(r#"name="csrf" value=""#).expect("a csrf field") + 19;
    page[at..].split('"').next().unwrap().to_owned()
}

#[tokio::test]
async fn a_read_or_admin_key_signs_in_and_a_page_needs_a_session() {
    let app = TestApp::new(Config::default());
    let (status, headers, _) = app.get("/status", None).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers[header::LOCATION], "/signin?next=%2Fstatus");

    let cookie = app
        .sign_in(&app.read_key)
        .await
        .expect("a read key signs in");
    let (status, headers, page) = app.get("/status", Some(&cookie)).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(headers[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let policy = headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
    assert!(policy.contains("script-src 'self'") && policy.contains("frame-ancestors 'none'"));
    assert_eq!(headers[header::CACHE_CONTROL], "no-store");
    assert!(page.contains("<h1>Status</h1>"), "{page}");
    assert!(app.sign_in(&app.admin_key).await.is_ok());

    // A write key only sends data; an unknown key is not known: both say so.
    let (status, body) = app.sign_in(&app.write_key).await.unwrap_err();
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(body.contains("write key"), "{body}");
    let (status, body) = app.sign_in("tnr_r_made_up").await.unwrap_err();
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(body.contains("not known"), "{body}");
    // A made-up cookie is no session.
    let (status, _, _) = app
        .get("/status", Some("tenure_session=made-up-token"))
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn the_sign_in_form_sends_people_only_to_this_server() {
    let app = TestApp::new(Config::default());
    for next in [
        "//evil.example/x",
        "https://evil.example/",
        "/\\evil.example",
        // A tab, a line break or a backslash, which browsers drop or read as `/`.
        "/\t/evil.example",
        "/\n/evil.example",
        "/\\/evil.example",
        "/ /evil.example",
    ] {
        let form = format!(
            "key={}&next={}",
            app.read_key,
            url::form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>()
        );
        let (status, headers, _) = app.post_form("/signin", &form, None, None).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert_eq!(headers[header::LOCATION], "/", "{next}");
    }
}

#[tokio::test]
async fn another_site_can_neither_sign_a_browser_in_nor_send_its_forms() {
    let app = TestApp::new(Config::default());
    // A page of another site posting the sign-in form (with its own key): refused.
    let form = format!("key={}", app.read_key);
    let (status, headers, _) = app
        .post_form("/signin", &form, None, Some("https://evil.example"))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(!headers.contains_key(header::SET_COOKIE));
    // What a browser says of the form's origin is believed first: another site's, refused;
    // its own, taken whatever the case of the host.
    for (fetch_site, origin, allowed) in [
        ("cross-site", "http://127.0.0.1:7070", false),
        ("same-site", "http://127.0.0.1:7070", false),
        ("same-origin", "http://127.0.0.1:7070", true),
    ] {
        let request = Request::post("/signin")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::HOST, "127.0.0.1:7070")
            .header(header::ORIGIN, origin)
            .header("sec-fetch-site", fetch_site)
            .body(Body::from(form.clone()))
            .unwrap();
        let (status, _, _) = app.send(request).await;
        assert_eq!(status == StatusCode::SEE_OTHER, allowed, "{fetch_site}");
    }
    let request = Request::post("/signin")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::HOST, "Dashboard.Example:7070")
        .header(header::ORIGIN, "https://dashboard.example:7070")
        .body(Body::from(form.clone()))
        .unwrap();
    assert_eq!(app.send(request).await.0, StatusCode::SEE_OTHER);

    // Sign-out without the session's token, or with another's: refused, the session lives.
    let cookie = app.sign_in(&app.read_key).await.unwrap();
    let other = app.sign_in(&app.read_key).await.unwrap();
    let (_, _, other_page) = app.get("/status", Some(&other)).await;
    for form in ["".to_owned(), format!("csrf={}", csrf_of(&other_page))] {
        let (status, _, _) = app.post_form("/signout", &form, Some(&cookie), None).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{form}");
    }
    let (status, _, page) = app.get("/status", Some(&cookie)).await;
    assert_eq!(status, StatusCode::OK);

    // With its own token, sign-out ends the session and clears the cookie.
    let form = format!("csrf={}", csrf_of(&page));
    let (status, headers, _) = app.post_form("/signout", &form, Some(&cookie), None).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(headers[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .contains("Max-Age=0"));
    let (status, _, _) = app.get("/status", Some(&cookie)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn a_session_ends_with_its_lifetime_and_with_its_key() {
    let mut config = Config::default();
    // 1.8 s.
    config.server.session_hours = 0.0005;
    let app = TestApp::new(config);
    let cookie = app.sign_in(&app.read_key).await.unwrap();
    assert_eq!(app.get("/status", Some(&cookie)).await.0, StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(2000)).await;
    assert_eq!(
        app.get("/status", Some(&cookie)).await.0,
        StatusCode::SEE_OTHER
    );

    // Revoking the key a session was opened with ends the session.
    let app = TestApp::new(Config::default());
    let cookie = app.sign_in(&app.read_key).await.unwrap();
    assert_eq!(app.get("/status", Some(&cookie)).await.0, StatusCode::OK);
    let request = Request::delete(format!("/api/v1/keys/{}", app.read_key))
        .header(header::AUTHORIZATION, format!("Bearer {}", app.admin_key))
        .body(Body::empty())
        .unwrap();
    let (status, _, body) = app.send(request).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        app.get("/status", Some(&cookie)).await.0,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn the_status_page_counts_what_arrives() {
    let app = TestApp::new(Config::default());
    let batch = r#"{"batch":[{"type":"track","event":"Signed Up","userId":"u1","messageId":"m1"},
        {"type":"track","event":"Logged In","userId":"u1","messageId":"m2"}]}"#;
    let request = Request::post("/v1/batch")
        .header(header::AUTHORIZATION, format!("Bearer {}", app.write_key))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(batch))
        .unwrap();
    assert_eq!(app.send(request).await.0, StatusCode::OK);
    let cookie = app.sign_in(&app.read_key).await.unwrap();
    let (_, _, page) = app.get("/status", Some(&cookie)).await;
    assert!(
        page.contains("<strong>2</strong> in the last minute, <strong>2</strong> in the last hour"),
        "{page}"
    );
}

#[tokio::test]
async fn a_proposed_configuration_is_posted_with_the_session_token_and_shown_again() {
    let app = TestApp::new(Config::default());
    let cookie = app.sign_in(&app.read_key).await.unwrap();
    let (_, _, page) = app.get("/health-backtest", Some(&cookie)).await;
    let csrf = csrf_of(&page);
    let broken = "[health\nbands = 3";
    let form = |csrf: &str| {
        format!(
            "csrf={csrf}&proposed={}",
            url::form_urlencoded::byte_serialize(broken.as_bytes()).collect::<String>()
        )
    };
    let (status, _, page) = app
        .post_form("/health-backtest", &form(&csrf), Some(&cookie), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("The proposed configuration was not used"),
        "{page}"
    );
    // The text sent is in the box again, to be mended.
    assert!(page.contains("[health\nbands = 3</textarea>"), "{page}");
    // Without the session's token: refused.
    let (status, _, _) = app
        .post_form("/health-backtest", &form("forged"), Some(&cookie), None)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_sign_in_link_works_once() {
    let app = TestApp::new(Config::default());
    let ticket = app.state.sessions.ticket(app.read_key.clone());
    let (status, headers, _) = app.get(&format!("/signin/once/{ticket}"), None).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let cookie = session_cookie(&headers);
    assert_eq!(app.get("/status", Some(&cookie)).await.0, StatusCode::OK);
    let (status, _, body) = app.get(&format!("/signin/once/{ticket}"), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(body.contains("used already"), "{body}");
}

#[tokio::test]
async fn assets_and_docs_are_served_from_the_binary() {
    let app = TestApp::new(Config::default());
    for asset in tenure_dashboard::assets::ASSETS {
        let (status, headers, body) = app.get(&format!("/assets/{}", asset.name), None).await;
        assert_eq!(status, StatusCode::OK, "{}", asset.name);
        assert_eq!(headers[header::CONTENT_TYPE], asset.content_type);
        assert_eq!(body.len(), asset.bytes.len());
    }
    let (status, _, body) = app.get("/docs/reports", None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains(r#"id="mrr-mrr-movements-by-month""#));
    assert_eq!(app.get("/docs/nope", None).await.0, StatusCode::NOT_FOUND);
    assert_eq!(
        app.get("/assets/nope.js", None).await.0,
        StatusCode::NOT_FOUND
    );
}
