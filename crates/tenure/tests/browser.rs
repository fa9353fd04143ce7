//! A real browser on a real page sends real events: Segment's analytics.js and RudderStack's JS
//! SDK (the npm packages' browser builds, vendored under `tests/browser/site`) on a page served
//! from another origin, in Debian's chromium, load their settings from tenure and send a landing
//! with UTM parameters and a click id, a second page, a sign-up and the company; tenure makes of
//! them what the docs say: one paid-search session, its person and its account.

mod common;

use std::process::Command;

use common::{repo_root, Tenure};
use serde_json::Value;

fn get(url: &str, read_key: &str) -> Value {
    let response = reqwest::blocking::Client::new()
        .get(url)
        .bearer_auth(read_key)
        .send()
        .expect("GET");
    assert_eq!(response.status(), 200, "{url}");
    response.json().expect("JSON")
}

/// Runs `drive.py` with `sdk` against a new tenure and checks what tenure made of it: the
/// calls as the SDK makes them (`paths` of the write key: where it loads its settings from,
/// once per page, and where it posts a page view, an identify and a group; each answered 200
/// across origins), then one paid-search session, its person and its account.
fn a_browser_sends_a_session_its_person_and_its_account(
    sdk: &str,
    paths: impl Fn(&str) -> [String; 4],
) {
    common::ensure_browser();
    let tenure = Tenure::new();
    let write_key = tenure.key("write");
    let read_key = tenure.key("read");
    let server = tenure.serve(&[]);

    let driver = repo_root().join("tests/browser/drive.py");
    let out = Command::new("python3")
        .arg(&driver)
        .args([sdk, &server.url, &write_key])
        .output()
        .expect("python3 runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "drive.py {sdk} failed: {stderr}");
    let answered: Vec<(String, String, u16)> =
        serde_json::from_slice(&out.stdout).expect("drive.py prints its calls");
    let count = |method: &str, path: &str| {
        answered
            .iter()
            .filter(|(m, p, s)| m == method && p == path && *s == 200)
            .count()
    };
    let [settings, page, identify, group] = paths(&write_key);
    assert_eq!(count("GET", &settings), 2, "{answered:?}");
    assert_eq!(count("POST", &page), 2, "{answered:?}");
    assert_eq!(count("POST", &identify), 1, "{answered:?}");
    assert_eq!(count("POST", &group), 1, "{answered:?}");
    assert!(
        !stderr.contains("page error") && !stderr.contains("Failed to load"),
        "the page reported errors: {stderr}"
    );

    let status = get(&format!("{}/api/v1/status", server.url), &read_key);
    assert_eq!(status["entries"], 4, "{status}");
    // Two page views, the second reached by an internal link: one session, one person (the
    // anonymous id the browser kept across pages, identified), one account.
    assert_eq!(status["touchpoints"], 1, "{status}");
    assert_eq!(
        status["touchpoints_by_channel"]["paid_search"], 1,
        "{status}"
    );
    assert_eq!(
        (
            &status["persons"],
            &status["anonymous_ids"],
            &status["accounts"]
        ),
        (&Value::from(1), &Value::from(1), &Value::from(1)),
        "{status}"
    );
    let journey = get(
        &format!("{}/api/v1/reports/journey?account=acct_browser", server.url),
        &read_key,
    );
    let rows = journey["rows"].as_array().expect("rows");
    assert_eq!(rows.len(), 1, "{journey}");
    let touch = &rows[0];
    assert_eq!(
        [
            &touch["channel"],
            &touch["source"],
            &touch["medium"],
            &touch["campaign"],
            &touch["origin"]
        ],
        ["paid_search", "google", "cpc", "spring_launch", "session"]
            .map(Value::from)
            .each_ref(),
        "{journey}"
    );
}

/// Segment's analytics.js (the npm package's browser build): settings from tenure as its CDN,
/// each call to the first letter of its type.
#[test]
fn analytics_js_in_chromium_sends_a_session_its_person_and_its_account() {
    a_browser_sends_a_session_its_person_and_its_account("segment", |key| {
        [
            format!("/v1/projects/{key}/settings"),
            "/v1/p".into(),
            "/v1/i".into(),
            "/v1/g".into(),
        ]
    });
}

/// RudderStack's JS SDK (the npm package's bundled browser build): its source's configuration
/// from tenure, each call to `/v1/{type}`.
#[test]
fn rudderstack_js_in_chromium_sends_a_session_its_person_and_its_account() {
    a_browser_sends_a_session_its_person_and_its_account("rudderstack", |_| {
        ["/sourceConfig/", "/v1/page", "/v1/identify", "/v1/group"].map(String::from)
    });
}
