//! The HTTP surface in process: every error is the one JSON shape, whatever produced it (no
//! route, wrong method, an extractor's rejection, a key check), and keys are read the way
//! RFC 9110 says — from the Authorization header only, the scheme in any case.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use base64::Engine as _;
use http_body_util::BodyExt;
use serde_json::Value;
use tenure_config::Config;
use tenure_core::WorkspaceId;
use tenure_runtime::Live;
use tenure_server::{router, AppState};
use tenure_store::{Scope, SqliteStore, Store};
use tower::ServiceExt;

struct TestApp {
    _dir: tempfile::TempDir,
    state: AppState,
    write_key: String,
    read_key: String,
}

impl TestApp {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(SqliteStore::open_dir(dir.path()).unwrap());
        let ws = WorkspaceId::default_workspace();
        let write_key = store.create_key(&ws, Scope::Write).unwrap();
        let read_key = store.create_key(&ws, Scope::Read).unwrap();
        let config = Config::default();
        let live = Arc::new(Live::empty(config.engine()));
        let store: Arc<dyn Store> = store;
        let state = AppState::new(store, live, Arc::new(config));
        Self {
            _dir: dir,
            state,
            write_key,
            read_key,
        }
    }

    async fn send(&self, request: Request<Body>) -> (StatusCode, HeaderMap, Value) {
        let response = router(self.state.clone()).oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let body = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        (status, headers, body)
    }
}

fn basic(key: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("{key}:"))
}

/// Which key a case sends, and how; the keys only exist once the app does.
enum Auth {
    None,
    Header(&'static str, KeyOf),
}

#[derive(Clone, Copy)]
enum KeyOf {
    Read,
    Write,
    Unknown,
}

struct Case {
    name: &'static str,
    method: Method,
    /// `{read}` is replaced by the read key.
    path: &'static str,
    auth: Auth,
    body: &'static [u8],
    status: u16,
    /// For errors, the `code`; for successes, unused.
    code: &'static str,
}

fn cases() -> Vec<Case> {
    use Auth::Header;
    let case = |name, method, path, auth, status, code| Case {
        name,
        method,
        path,
        auth,
        body: b"",
        status,
        code,
    };
    vec![
        case(
            "no such route",
            Method::GET,
            "/nope",
            Auth::None,
            404,
            "not_found",
        ),
        case(
            "no such route under the API",
            Method::GET,
            "/api/v1/nope",
            Header("Bearer", KeyOf::Read),
            404,
            "not_found",
        ),
        case(
            "ingest takes POST only",
            Method::GET,
            "/v1/track",
            Auth::None,
            405,
            "method_not_allowed",
        ),
        case(
            "status takes GET only",
            Method::DELETE,
            "/api/v1/status",
            Header("Bearer", KeyOf::Read),
            405,
            "method_not_allowed",
        ),
        case(
            "a path segment that is not UTF-8 (path rejection)",
            Method::GET,
            "/api/v1/accounts/%FF%FE",
            Header("Bearer", KeyOf::Read),
            400,
            "invalid_request",
        ),
        Case {
            name: "a proposal body that is not UTF-8 (body rejection)",
            body: b"\xff\xfe[health]",
            ..case(
                "",
                Method::POST,
                "/api/v1/reports/health-backtest",
                Header("Bearer", KeyOf::Read),
                400,
                "invalid_request",
            )
        },
        case(
            "a query that does not parse (query rejection)",
            Method::GET,
            "/api/v1/reports/mrr?compare=maybe",
            Header("Bearer", KeyOf::Read),
            400,
            "invalid_parameter",
        ),
        case(
            "the read key in the URL of status",
            Method::GET,
            "/api/v1/status?key={read}",
            Auth::None,
            400,
            "key_in_url",
        ),
        case(
            "the read key in the URL of a report, even with a header",
            Method::GET,
            "/api/v1/reports/mrr?as_of=2025-01-01&key={read}",
            Header("Bearer", KeyOf::Read),
            400,
            "key_in_url",
        ),
        case(
            "the read key in the URL of an account",
            Method::GET,
            "/api/v1/accounts/acme/history?key={read}",
            Auth::None,
            400,
            "key_in_url",
        ),
        case(
            "no key",
            Method::GET,
            "/api/v1/status",
            Auth::None,
            401,
            "missing_key",
        ),
        case(
            "an unknown key",
            Method::GET,
            "/api/v1/status",
            Header("Bearer", KeyOf::Unknown),
            401,
            "invalid_key",
        ),
        case(
            "an unknown scheme",
            Method::GET,
            "/api/v1/status",
            Header("Digest", KeyOf::Read),
            401,
            "invalid_authorization",
        ),
        case(
            "a write key reading status",
            Method::GET,
            "/api/v1/status",
            Header("Bearer", KeyOf::Write),
            403,
            "wrong_scope",
        ),
        case(
            "a write key reading a report",
            Method::GET,
            "/api/v1/reports/mrr",
            Header("Basic", KeyOf::Write),
            403,
            "wrong_scope",
        ),
        case(
            "BEARER in capitals",
            Method::GET,
            "/api/v1/status",
            Header("BEARER", KeyOf::Read),
            200,
            "",
        ),
        case(
            "bEaReR in mixed case",
            Method::GET,
            "/api/v1/status",
            Header("bEaReR", KeyOf::Read),
            200,
            "",
        ),
        case(
            "BASIC in capitals",
            Method::GET,
            "/api/v1/status",
            Header("BASIC", KeyOf::Read),
            200,
            "",
        ),
    ]
}

#[tokio::test]
async fn every_answer_is_the_documented_one_and_every_error_is_json() {
    let app = TestApp::new();
    for case in cases() {
        let path = case.path.replace("{read}", &app.read_key);
        let mut request = Request::builder().method(case.method.clone()).uri(&path);
        if let Auth::Header(scheme, of) = case.auth {
            let key = match of {
                KeyOf::Read => app.read_key.as_str(),
                KeyOf::Write => app.write_key.as_str(),
                KeyOf::Unknown => "tnr_r_0000",
            };
            let credentials = if scheme.eq_ignore_ascii_case("basic") {
                basic(key)
            } else {
                key.to_owned()
            };
            request = request.header("authorization", format!("{scheme} {credentials}"));
        }
        let (status, headers, body) = app.send(request.body(Body::from(case.body)).unwrap()).await;
        assert_eq!(status.as_u16(), case.status, "{}: {body}", case.name);
        if status.is_success() {
            continue;
        }
        assert_eq!(
            headers.get("content-type").map(|v| v.to_str().unwrap()),
            Some("application/json"),
            "{}: {body}",
            case.name
        );
        assert_eq!(body["success"], false, "{}: {body}", case.name);
        assert_eq!(body["code"], case.code, "{}: {body}", case.name);
        let message = body["message"].as_str().unwrap_or("");
        assert!(!message.is_empty(), "{}: {body}", case.name);
        assert!(
            !message.contains(&app.read_key),
            "{}: the key is echoed: {body}",
            case.name
        );
        let challenge = headers.get("www-authenticate").map(|v| v.to_str().unwrap());
        let expected = (status == StatusCode::UNAUTHORIZED).then_some("Basic realm=\"tenure\"");
        assert_eq!(challenge, expected, "{}", case.name);
        if status == StatusCode::METHOD_NOT_ALLOWED {
            let allow = headers.get("allow").map(|v| v.to_str().unwrap());
            let expected = if case.path.starts_with("/v1/") {
                "POST"
            } else {
                "GET"
            };
            assert!(
                allow.is_some_and(|a| a.contains(expected)),
                "{}: Allow {allow:?}",
                case.name
            );
        }
    }
}

#[tokio::test]
async fn a_key_in_the_url_is_refused_with_a_message_that_says_what_to_do() {
    let app = TestApp::new();
    let request = Request::get(format!("/api/v1/status?key={}", app.read_key))
        .body(Body::empty())
        .unwrap();
    let (status, _, body) = app.send(request).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let message = body["message"].as_str().unwrap();
    assert!(message.contains("Authorization header"), "{message}");
    // Other parameters are not mistaken for it.
    let request = Request::get("/api/v1/reports/mrr?keys=1&monkey=2")
        .header("authorization", format!("Bearer {}", app.read_key))
        .body(Body::empty())
        .unwrap();
    let (_, _, body) = app.send(request).await;
    assert_ne!(body["code"], "key_in_url", "{body}");
}
