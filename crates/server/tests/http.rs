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

/// A page on a customer's site calls ingest from its own origin: the preflight is answered for
/// that origin with the headers it asks for, and the call itself carries the origin back.
#[tokio::test]
async fn ingest_answers_browsers_from_any_origin() {
    let app = TestApp::new();
    let origin = "https://www.acme.io";
    let preflight = Request::builder()
        .method(Method::OPTIONS)
        .uri("/v1/track")
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "content-type,authorization",
        )
        .body(Body::empty())
        .unwrap();
    let (status, headers, _) = app.send(preflight).await;
    assert!(status.is_success(), "{status}");
    let header = |name: &str| headers.get(name).map(|v| v.to_str().unwrap().to_owned());
    assert_eq!(
        header("access-control-allow-origin").as_deref(),
        Some(origin)
    );
    assert!(header("access-control-allow-methods").is_some_and(|m| m.contains("POST")));
    assert_eq!(
        header("access-control-allow-headers").as_deref(),
        Some("content-type,authorization")
    );
    assert_eq!(
        header("access-control-allow-credentials").as_deref(),
        Some("true")
    );

    // What analytics.js sends to avoid a preflight: text/plain, the write key in the body.
    let body = format!(
        r#"{{"type":"page","anonymousId":"a1","messageId":"m1","writeKey":"{}","context":{{"page":{{"url":"https://www.acme.io/?utm_source=google"}}}}}}"#,
        app.write_key
    );
    let call = Request::post("/v1/page")
        .header("origin", origin)
        .header("content-type", "text/plain")
        .body(Body::from(body))
        .unwrap();
    let (status, headers, body) = app.send(call).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["stored"], 1, "{body}");
    assert_eq!(headers["access-control-allow-origin"], origin);

    // Refusals carry it too, so the page's script can read why.
    let refused = Request::post("/v1/track")
        .header("origin", origin)
        .body(Body::from(
            r#"{"event":"x","anonymousId":"a1","writeKey":"wk_nope"}"#,
        ))
        .unwrap();
    let (status, headers, _) = app.send(refused).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(headers["access-control-allow-origin"], origin);
}

/// The read API is not for other origins' scripts: no CORS header, preflight or not.
#[tokio::test]
async fn the_read_api_answers_no_other_origin() {
    let app = TestApp::new();
    let origin = "https://evil.example";
    let preflight = Request::builder()
        .method(Method::OPTIONS)
        .uri("/api/v1/status")
        .header("origin", origin)
        .header("access-control-request-method", "GET")
        .header("access-control-request-headers", "authorization")
        .body(Body::empty())
        .unwrap();
    let (status, headers, _) = app.send(preflight).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(headers.get("access-control-allow-origin").is_none());
    let read = Request::get("/api/v1/status")
        .header("origin", origin)
        .header("authorization", format!("Bearer {}", app.read_key))
        .body(Body::empty())
        .unwrap();
    let (status, headers, _) = app.send(read).await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers.get("access-control-allow-origin").is_none());
}

/// analytics.js loads its settings from `cdnURL` before sending anything: for a write key,
/// tenure names itself as the only destination, on the host the page asked, and switches off
/// the SDK's telemetry to Segment.
#[tokio::test]
async fn analytics_js_settings_point_the_sdk_at_tenure() {
    let app = TestApp::new();
    let settings = |key: &str, proto: Option<&str>| {
        let mut request = Request::get(format!("/v1/projects/{key}/settings"))
            .header("host", "track.acme.io")
            .header("origin", "https://www.acme.io");
        if let Some(proto) = proto {
            request = request.header("x-forwarded-proto", proto);
        }
        request.body(Body::empty()).unwrap()
    };
    let (status, headers, body) = app.send(settings(&app.write_key, None)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        headers["access-control-allow-origin"],
        "https://www.acme.io"
    );
    let destination = &body["integrations"]["Segment.io"];
    assert_eq!(destination["apiKey"], app.write_key.as_str());
    assert_eq!(destination["apiHost"], "track.acme.io/v1");
    assert_eq!(destination["protocol"], "http");
    assert_eq!(body["integrations"].as_object().unwrap().len(), 1, "{body}");
    assert_eq!(body["metrics"]["sampleRate"], 0);
    assert_eq!(body["remotePlugins"], serde_json::json!([]));

    let (_, _, body) = app.send(settings(&app.write_key, Some("https"))).await;
    assert_eq!(body["integrations"]["Segment.io"]["protocol"], "https");
    let (status, _, body) = app.send(settings("wk_nope", None)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    // A read key is not a write key.
    let (status, _, _) = app.send(settings(&app.read_key, None)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

/// analytics.js posts each call to the first letter of its type; RudderStack's JS SDK sends
/// with its write key in a Basic `Authorization` header, and on `sendBeacon` as a text batch
/// under `/beacon/v1/batch` with the key in the query.
#[tokio::test]
async fn browser_sdks_calls_are_taken_as_they_send_them() {
    let app = TestApp::new();
    let page = |id: &str| {
        format!(
            r#"{{"type":"page","anonymousId":"a1","messageId":"{id}","context":{{"page":{{"url":"https://www.acme.io/"}}}}}}"#
        )
    };
    let short = Request::post("/v1/p")
        .header("content-type", "text/plain")
        .body(Body::from(page("m1").replace(
            r#""type":"page","#,
            &format!(r#""writeKey":"{}","#, app.write_key),
        )))
        .unwrap();
    let (status, _, body) = app.send(short).await;
    assert_eq!(
        (status, &body["stored"]),
        (StatusCode::OK, &Value::from(1)),
        "{body}"
    );

    let rudder = Request::post("/v1/page")
        .header("content-type", "application/json;charset=UTF-8")
        .header("authorization", format!("Basic {}", basic(&app.write_key)))
        .header("anonymousid", "YTE=")
        .body(Body::from(page("m2")))
        .unwrap();
    let (status, _, body) = app.send(rudder).await;
    assert_eq!(
        (status, &body["stored"]),
        (StatusCode::OK, &Value::from(1)),
        "{body}"
    );

    let beacon = Request::post(format!("/beacon/v1/batch?writeKey={}", app.write_key))
        .header("origin", "https://www.acme.io")
        .header("content-type", "text/plain")
        .body(Body::from(format!(
            r#"{{"batch":[{},{}],"sentAt":"2026-12-01T00:00:00Z"}}"#,
            page("m3"),
            page("m2")
        )))
        .unwrap();
    let (status, headers, body) = app.send(beacon).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (&body["stored"], &body["duplicates"]),
        (&Value::from(1), &Value::from(1))
    );
    assert_eq!(
        headers["access-control-allow-origin"],
        "https://www.acme.io"
    );

    // Without a key anywhere, nothing is stored.
    let keyless = Request::post("/beacon/v1/batch")
        .body(Body::from(format!(r#"{{"batch":[{}]}}"#, page("m4"))))
        .unwrap();
    let (status, _, _) = app.send(keyless).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

/// RudderStack's JS SDK loads its source's configuration from `configUrl` first: a source with
/// no destination, so that it sends everything to its data plane, this server.
#[tokio::test]
async fn rudderstack_source_config_names_no_destination() {
    let app = TestApp::new();
    let config = |auth: Option<&str>, query: &str| {
        let mut request = Request::get(format!("/sourceConfig/?p=npm&v=3.31.6{query}"))
            .header("origin", "https://www.acme.io");
        if let Some(key) = auth {
            request = request.header("authorization", format!("Basic {}", basic(key)));
        }
        request.body(Body::empty()).unwrap()
    };
    let (status, headers, body) = app.send(config(Some(&app.write_key), "")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        headers["access-control-allow-origin"],
        "https://www.acme.io"
    );
    let source = &body["source"];
    assert_eq!(source["id"], "default");
    assert_eq!(source["enabled"], true);
    assert_eq!(source["destinations"], serde_json::json!([]));
    assert!(source["config"].as_object().unwrap().is_empty(), "{body}");

    let by_query = format!("&writeKey={}", app.write_key);
    let (status, _, _) = app.send(config(None, &by_query)).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, _) = app.send(config(None, "")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _, _) = app.send(config(Some(&app.read_key), "")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

/// Reads are gzipped for a client that accepts it (reports run to hundreds of kilobytes), and
/// plain for one that does not.
#[tokio::test]
async fn reads_are_gzipped_when_the_client_accepts_it() {
    use std::io::Read as _;
    let app = TestApp::new();
    let ask = |gzip: bool| {
        let mut request = Request::get("/api/v1/status")
            .header("authorization", format!("Bearer {}", app.read_key));
        if gzip {
            request = request.header("accept-encoding", "gzip");
        }
        request.body(Body::empty()).unwrap()
    };
    let (status, headers, plain) = app.send(ask(false)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers.get("content-encoding").is_none());
    let response = router(app.state.clone()).oneshot(ask(true)).await.unwrap();
    assert_eq!(response.headers()["content-encoding"], "gzip");
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let mut text = String::new();
    flate2::read::GzDecoder::new(&bytes[..])
        .read_to_string(&mut text)
        .expect("a gzip body");
    assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), plain);
}
