//! Replay equals live, end to end: whatever arrives through the HTTP API in whatever batches,
//! rebuilding from the stored log gives exactly the identity graph and touchpoints that live
//! ingestion built.

use std::sync::Arc;

use axum::body::Body;
use axum::http::Request;
use proptest::prelude::*;
use serde_json::{json, Value};
use tenure_config::Config;
use tenure_core::WorkspaceId;
use tenure_runtime::Live;
use tenure_server::{router, AppState};
use tenure_store::{Scope, SqliteStore, Store};
use tower::ServiceExt;

const URLS: &[&str] = &[
    "https://www.acme.io/",
    "https://www.acme.io/pricing",
    "https://www.acme.io/?utm_source=google&utm_medium=cpc&utm_campaign=brand",
    "https://www.acme.io/?fbclid=IwAR1",
    "https://www.acme.io/?utm_source=newsletter&utm_medium=email",
];
const REFERRERS: &[&str] = &[
    "",
    "https://www.bing.com/",
    "https://www.acme.io/",
    "https://news.ycombinator.com/",
];

fn message() -> impl Strategy<Value = Value> {
    let anon = (0..4u8).prop_map(|a| format!("anon-{a}"));
    let user = (0..3u8).prop_map(|u| format!("user-{u}"));
    let at = (0..600i64)
        .prop_map(|minute| format!("2025-03-01T{:02}:{:02}:00.000Z", minute / 60, minute % 60));
    prop_oneof![
        4 => (anon.clone(), proptest::option::of(user.clone()), at.clone(), 0..URLS.len(), 0..REFERRERS.len())
            .prop_map(|(anon, user, at, url, referrer)| {
                let mut page = json!({"type": "page", "anonymousId": anon, "timestamp": at,
                    "context": {"page": {"url": URLS[url], "referrer": REFERRERS[referrer]}}});
                if let Some(user) = user { page["userId"] = json!(user); }
                page
            }),
        2 => (anon.clone(), user.clone(), 0..3u8).prop_map(|(anon, user, e)| json!({
            "type": "identify", "anonymousId": anon, "userId": user, "traits": {"email": format!("p{e}@acme.io")}})),
        1 => (user.clone(), 0..3u8).prop_map(|(user, a)| json!({"type": "group", "userId": user, "groupId": format!("acct-{a}")})),
        1 => (anon.clone(), user.clone()).prop_map(|(anon, user)| json!({"type": "alias", "previousId": anon, "userId": user})),
        1 => (user, at).prop_map(|(user, at)| json!({"type": "track", "userId": user, "event": "Webinar Joined", "timestamp": at,
            "context": {"campaign": {"source": "linkedin", "medium": "paid_social", "name": "abm"}}})),
    ]
}

fn scenario() -> impl Strategy<Value = (Vec<Value>, Vec<usize>)> {
    proptest::collection::vec(message(), 1..60).prop_flat_map(|messages| {
        let n = messages.len();
        (Just(messages), proptest::collection::vec(1..=n, 1..6))
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn replaying_the_log_rebuilds_what_live_ingestion_built((messages, cuts) in scenario()) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(SqliteStore::open_dir(dir.path()).unwrap());
        let ws = WorkspaceId::default_workspace();
        let key = store.create_key(&ws, Scope::Write).unwrap();
        let config = Arc::new(Config::default());
        let live = Arc::new(Live::empty(config.engine()));
        let dyn_store: Arc<dyn Store> = store.clone();
        let state = AppState::new(dyn_store, live.clone(), config.clone());

        // Send the messages in batches cut at the generated points; some retried.
        let mut cuts = cuts;
        cuts.push(messages.len());
        cuts.sort_unstable();
        let mut start = 0;
        runtime.block_on(async {
            for (i, end) in cuts.into_iter().enumerate() {
                if end <= start { continue; }
                let batch: Vec<Value> = messages[start..end].iter().enumerate().map(|(j, m)| {
                    let mut m = m.clone();
                    m["messageId"] = json!(format!("m{}", start + j));
                    m
                }).collect();
                let body = serde_json::to_vec(&json!({"writeKey": key, "batch": batch})).unwrap();
                for _ in 0..(1 + i % 2) {
                    let request = Request::post("/v1/batch").body(Body::from(body.clone())).unwrap();
                    let response = router(state.clone()).oneshot(request).await.unwrap();
                    assert_eq!(response.status(), 200);
                }
                start = end;
            }
        });

        let live_snapshot = live.read(&ws, |m| m.snapshot());
        let replayed = Live::rebuild(store.as_ref(), config.engine(), |_| {}).unwrap();
        let replayed_snapshot = replayed.read(&ws, |m| m.snapshot());
        prop_assert_eq!(&live_snapshot, &replayed_snapshot);
        prop_assert_eq!(store.read_log(&ws, 0, 10_000).unwrap().entries.len(), messages.len());
        // a running server's catch-up finds nothing new: each entry was applied exactly once
        prop_assert_eq!(live.catch_up(store.as_ref()).unwrap(), 0);
        prop_assert_eq!(&live.read(&ws, |m| m.snapshot()), &live_snapshot);
    }
}
