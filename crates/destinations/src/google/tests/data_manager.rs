//! Kind `google` against the Data Manager fake: the fake refuses hand-built requests Google
//! refuses, and the destination's own requests pass it.

use serde_json::{json, Value};
use tenure_playbooks::{Destination as Config, DestinationKind};

use super::*;
use crate::google::DataManager;
use crate::test_support::DataManagerFake;
use crate::{Destination, Outcome};

fn config(url: &str) -> Config {
    Config {
        url: Some(url.into()),
        customer_id: Some("123-456-7890".into()),
        secret_env: Some("TENURE_GOOGLE_TOKEN".into()),
        // Fast enough for tests that split a batch into a dozen requests.
        rate_per_minute: Some(60_000),
        ..Config::named("google", DestinationKind::Google)
    }
}

fn destination(config: &Config) -> DataManager {
    DataManager::from_config(config, &env)
        .unwrap()
        .with_clock(fixed(NOW))
}

fn fake() -> DataManagerFake {
    let fake = DataManagerFake::start(TOKEN);
    fake.set_now(at(NOW));
    fake
}

/// A conversion of action 555 clicked ten days before, with John's e-mail.
fn renewed(id: &str, value: f64) -> ConversionEvent {
    with_email(
        with_click(
            conversion(id, "555", "2026-04-20T10:00:00Z", Some(value)),
            "gclid",
            &format!("G-{id}"),
            "2026-04-10T08:00:00Z",
        ),
        JOHN,
    )
}

fn bodies(fake: &DataManagerFake) -> Vec<Value> {
    fake.requests().iter().map(|r| r.json()).collect()
}

#[test]
fn a_batch_goes_as_one_request_per_conversion_action_in_googles_shape() {
    let fake = fake();
    let google = destination(&Config {
        login_customer_id: Some("999-000-1111".into()),
        ..config(&fake.url())
    });
    // An older gbraid too: only the latest click is sent.
    let first = with_click(
        renewed("tn-1", 1200.0),
        "gbraid",
        "B-old",
        "2026-04-01T00:00:00Z",
    );
    let second = with_email(
        with_email(
            conversion("tn-2", "777", "2026-04-21T09:30:00Z", None),
            JANE,
        ),
        OPS,
    );
    let third = renewed("tn-3", 99.5);
    let batch = Batch::new(&[first, second, third]);
    let outcomes = google.send_batch(&batch.outgoing());
    assert_eq!(outcomes, vec![Outcome::Delivered { code: Some(200) }; 3]);

    let requests = fake.requests();
    assert_eq!(requests.len(), 2, "one request per conversion action");
    for r in &requests {
        assert_eq!(r.path, "/v1/events:ingest");
        assert_eq!(
            r.header("authorization"),
            Some(format!("Bearer {TOKEN}").as_str())
        );
    }
    let by_action = |action: &str| {
        bodies(&fake)
            .into_iter()
            .find(|b| b["destinations"][0]["productDestinationId"] == action)
            .unwrap()
    };
    assert_eq!(
        by_action("555"),
        json!({
            "destinations": [{
                "operatingAccount": {"accountType": "GOOGLE_ADS", "accountId": "1234567890"},
                "loginAccount": {"accountType": "GOOGLE_ADS", "accountId": "9990001111"},
                "productDestinationId": "555",
            }],
            "events": [
                {
                    "transactionId": "tn-1",
                    "eventTimestamp": "2026-04-20T10:00:00.000Z",
                    "eventSource": "OTHER",
                    "adIdentifiers": {"gclid": "G-tn-1"},
                    "userData": {"userIdentifiers": [{"emailAddress": JOHN}]},
                    "conversionValue": 1200.0,
                    "currency": "USD",
                },
                {
                    "transactionId": "tn-3",
                    "eventTimestamp": "2026-04-20T10:00:00.000Z",
                    "eventSource": "OTHER",
                    "adIdentifiers": {"gclid": "G-tn-3"},
                    "userData": {"userIdentifiers": [{"emailAddress": JOHN}]},
                    "conversionValue": 99.5,
                    "currency": "USD",
                },
            ],
            "encoding": "HEX",
            "validateOnly": false,
        })
    );
    // Matched by e-mail alone, without a value: no ad identifiers, no value, no currency.
    assert_eq!(
        by_action("777")["events"],
        json!([{
            "transactionId": "tn-2",
            "eventTimestamp": "2026-04-21T09:30:00.000Z",
            "eventSource": "OTHER",
            "userData": {"userIdentifiers": [{"emailAddress": JANE}, {"emailAddress": OPS}]},
        }])
    );
    assert_eq!(fake.accepted().len(), 3);
    assert_eq!(fake.conversion("555", "tn-1").unwrap().value, Some(1200.0));
}

/// A request the destination would send, to mutate into ones it would not.
fn good_body() -> Value {
    json!({
        "destinations": [{
            "operatingAccount": {"accountType": "GOOGLE_ADS", "accountId": "1234567890"},
            "productDestinationId": "555",
        }],
        "events": [{
            "transactionId": "tn-1",
            "eventTimestamp": "2026-04-20T10:00:00.000Z",
            "eventSource": "OTHER",
            "adIdentifiers": {"gclid": "G-1"},
            "userData": {"userIdentifiers": [{"emailAddress": JOHN}]},
            "conversionValue": 10.0,
            "currency": "USD",
        }],
        "encoding": "HEX",
        "validateOnly": false,
    })
}

#[test]
fn the_fake_refuses_what_google_refuses_and_records_nothing_of_a_refused_request() {
    let fake = fake();
    fake.click("G-1", at("2026-04-10T00:00:00Z"));
    fake.click("G-old", at("2026-01-01T00:00:00Z"));
    let url = format!("{}/v1/events:ingest", fake.url());
    let bearer = format!("Bearer {TOKEN}");
    let auth = [("Authorization", bearer.as_str())];
    type Mutation = fn(&mut Value);
    let cases: Vec<(&str, Mutation, u16, &str)> = vec![
        (
            "unhashed e-mail",
            |b| {
                b["events"][0]["userData"]["userIdentifiers"][0]["emailAddress"] =
                    json!("john.smith@gmail.com")
            },
            400,
            "INVALID_HEX_ENCODING",
        ),
        (
            "two ad identifiers",
            |b| b["events"][0]["adIdentifiers"]["gbraid"] = json!("B-1"),
            400,
            "at most one of gclid",
        ),
        (
            "eleven identifiers",
            |b| {
                b["events"][0]["userData"]["userIdentifiers"] =
                    json!(vec![json!({"emailAddress": JOHN}); 11])
            },
            400,
            "more than 10",
        ),
        (
            "no product destination",
            |b| {
                b["destinations"][0]
                    .as_object_mut()
                    .unwrap()
                    .remove("productDestinationId");
            },
            400,
            "productDestinationId",
        ),
        (
            "no destination",
            |b| b["destinations"] = json!([]),
            400,
            "destinations",
        ),
        (
            "a dashed customer id",
            |b| b["destinations"][0]["operatingAccount"]["accountId"] = json!("123-456-7890"),
            400,
            "10-digit",
        ),
        (
            "nothing to match",
            |b| {
                let e = b["events"][0].as_object_mut().unwrap();
                e.remove("adIdentifiers");
                e.remove("userData");
            },
            400,
            "identifier or user data",
        ),
        (
            "no event source",
            |b| {
                b["events"][0]
                    .as_object_mut()
                    .unwrap()
                    .remove("eventSource");
            },
            400,
            "eventSource",
        ),
        (
            "a click past the window",
            |b| b["events"][0]["adIdentifiers"]["gclid"] = json!("G-old"),
            400,
            "click window",
        ),
        (
            "hashes without an encoding",
            |b| {
                b.as_object_mut().unwrap().remove("encoding");
            },
            400,
            "encoding",
        ),
    ];
    for (what, mutate, status, says) in cases {
        let mut body = good_body();
        // A good event first: one bad event fails the whole request.
        let mut bad = body.clone();
        mutate(&mut bad);
        let mut events = vec![body["events"][0].clone()];
        events.extend(bad["events"].as_array().unwrap().iter().cloned());
        bad["events"] = json!(events);
        body = bad;
        let (got, answer) = post(&url, &auth, &body);
        assert_eq!(got, status, "{what}: {answer}");
        assert_eq!(answer["error"]["status"], "INVALID_ARGUMENT", "{what}");
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(message.contains(says), "{what}: {message}");
    }
    let (got, answer) = post(&url, &[("Authorization", "Bearer wrong")], &good_body());
    assert_eq!(
        (got, answer["error"]["status"].as_str()),
        (401, Some("UNAUTHENTICATED"))
    );
    assert!(
        fake.accepted().is_empty(),
        "nothing of a refused request is recorded"
    );
    // The same request done right passes.
    assert_eq!(post(&url, &auth, &good_body()).0, 200);
    assert_eq!(fake.accepted().len(), 1);
}

#[test]
fn one_event_google_refuses_is_isolated_by_splitting_and_every_other_gets_through() {
    let fake = fake();
    // Google's conversion action has a 30-day window where tenure was told 90: the click of
    // event 5, 45 days before now, passes tenure's checks and fails Google's.
    fake.set_window_days(30);
    let events: Vec<ConversionEvent> = (0..8)
        .map(|i| renewed(&format!("tn-{i}"), 10.0 * i as f64))
        .collect();
    for e in &events {
        fake.click(&e.match_keys.clicks[0].id, e.match_keys.clicks[0].at);
    }
    let mut events = events;
    events[5] = with_click(
        conversion("tn-5", "555", "2026-04-20T10:00:00Z", Some(50.0)),
        "gclid",
        "G-old",
        "2026-03-17T12:00:00Z",
    );
    fake.click("G-old", at("2026-03-17T12:00:00Z"));
    let google = destination(&config(&fake.url()));
    let batch = Batch::new(&events);
    let outcomes = google.send_batch(&batch.outgoing());
    for (i, outcome) in outcomes.iter().enumerate() {
        if i == 5 {
            match outcome {
                Outcome::Permanent {
                    code: Some(400),
                    reason,
                } => {
                    assert!(reason.contains("click window"), "{reason}")
                }
                other => panic!("event 5: {other:?}"),
            }
        } else {
            assert_eq!(
                outcome,
                &Outcome::Delivered { code: Some(200) },
                "event {i}"
            );
        }
    }
    let mut recorded: Vec<String> = fake
        .accepted()
        .iter()
        .map(|e| e["transactionId"].as_str().unwrap().to_owned())
        .collect();
    recorded.sort();
    assert_eq!(
        recorded,
        ["tn-0", "tn-1", "tn-2", "tn-3", "tn-4", "tn-6", "tn-7"]
    );
    // 8 → 4+4 → the bad half 2+2 → the bad pair 1+1: 1 + 2 + 2 + 2 requests.
    assert_eq!(fake.requests().len(), 7);
}

#[test]
fn local_checks_keep_every_bad_item_out_of_every_request() {
    let fake = fake();
    let google = destination(&config(&fake.url()));
    let good = renewed("tn-good", 10.0);
    let expired = with_click(
        conversion("tn-expired", "555", "2026-01-20T10:00:00Z", Some(1.0)),
        "gclid",
        "G-x",
        "2026-01-20T09:00:00Z",
    );
    let unmatched = conversion("tn-nothing", "555", "2026-04-20T10:00:00Z", Some(1.0));
    let unhashed = with_email(
        conversion("tn-plain", "555", "2026-04-20T10:00:00Z", None),
        "john@example.com",
    );
    let early = adjustment(&good, "2026-04-20T09:00:00Z", Some(5.0));
    let wbraid = adjustment(
        &with_click(
            conversion("tn-w", "555", "2026-04-20T10:00:00Z", Some(1.0)),
            "wbraid",
            "W",
            "2026-04-19T00:00:00Z",
        ),
        "2026-04-25T00:00:00Z",
        None,
    );
    let batch = Batch::new(&[expired, good, unmatched, unhashed, early, wbraid]);
    let outcomes = google.send_batch(&batch.outgoing());
    let labels: Vec<&str> = outcomes.iter().map(Outcome::label).collect();
    assert_eq!(
        labels,
        [
            "expired",
            "delivered",
            "permanent",
            "permanent",
            "permanent",
            "permanent"
        ]
    );
    let sent: Vec<Value> = bodies(&fake)
        .iter()
        .flat_map(|b| b["events"].as_array().unwrap().clone())
        .collect();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["transactionId"], "tn-good");
}

#[test]
fn restatements_overwrite_the_value_and_a_retraction_restates_it_to_zero() {
    let fake = fake();
    let google = destination(&config(&fake.url()));
    let original = renewed("tn-1", 1200.0);
    let one = |e: &ConversionEvent| google.send(&Batch::new(std::slice::from_ref(e)).outgoing()[0]);
    assert_eq!(one(&original), Outcome::Delivered { code: Some(200) });
    let restated = adjustment(&original, "2026-04-25T09:00:00Z", Some(800.0));
    assert_eq!(one(&restated), Outcome::Delivered { code: Some(200) });
    assert_eq!(fake.conversion("555", "tn-1").unwrap().value, Some(800.0));
    let again = adjustment(&original, "2026-04-26T09:00:00Z", Some(600.0));
    assert_eq!(one(&again), Outcome::Delivered { code: Some(200) });
    assert_eq!(fake.conversion("555", "tn-1").unwrap().value, Some(600.0));
    let retracted = adjustment(&original, "2026-04-28T09:00:00Z", None);
    assert_eq!(one(&retracted), Outcome::Delivered { code: Some(200) });
    assert_eq!(fake.conversion("555", "tn-1").unwrap().value, Some(0.0));
    assert_eq!(fake.accepted().len(), 1, "adjustments add no conversion");
    let applied = fake.adjustments_applied();
    assert_eq!(applied.len(), 3);
    // The same transaction id and identifiers, the new value, and when it was decided.
    assert_eq!(applied[0]["transactionId"], "tn-1");
    assert_eq!(applied[0]["adIdentifiers"], json!({"gclid": "G-tn-1"}));
    assert_eq!(
        applied[0]["lastUpdatedTimestamp"],
        "2026-04-25T09:00:00.000Z"
    );
    assert_eq!(applied[2]["conversionValue"], 0.0);
    assert_eq!(applied[2]["currency"], "USD");
}

#[test]
fn quota_outages_and_a_bad_token_fail_the_whole_request_without_splitting() {
    let fake = fake();
    let google = destination(&config(&fake.url()));
    let batch = Batch::new(&[renewed("tn-1", 1.0), renewed("tn-2", 2.0)]);
    fake.reply_next(DataManagerFake::quota_exhausted());
    assert_eq!(
        google.send_batch(&batch.outgoing()),
        vec![
            Outcome::Throttled {
                code: Some(429),
                after: Some(std::time::Duration::from_secs(30))
            };
            2
        ]
    );
    fake.reply_next(DataManagerFake::unavailable());
    let outcomes = google.send_batch(&batch.outgoing());
    assert!(
        outcomes.iter().all(|o| matches!(o, Outcome::RetryLater { code: Some(503), reason, .. } if reason.contains("UNAVAILABLE"))),
        "{outcomes:?}"
    );
    assert_eq!(fake.requests().len(), 2, "neither was split");

    let wrong = DataManager::from_config(&config(&fake.url()), &|_: &str| {
        Some("ya29.expired".to_owned())
    })
    .unwrap()
    .with_clock(fixed(NOW));
    let outcomes = wrong.send_batch(&batch.outgoing());
    for outcome in &outcomes {
        match outcome {
            Outcome::Permanent {
                code: Some(401),
                reason,
            } => {
                assert!(reason.starts_with("UNAUTHENTICATED"), "{reason}");
                assert!(!reason.contains("ya29"), "the token never reaches a reason");
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(fake.requests().len(), 3);
    assert!(fake.accepted().is_empty());
}

#[test]
fn validate_only_asks_google_to_check_and_record_nothing() {
    let fake = fake();
    let google = destination(&Config {
        validate_only: true,
        ..config(&fake.url())
    });
    let batch = Batch::new(&[renewed("tn-1", 1.0)]);
    assert_eq!(
        google.send_batch(&batch.outgoing()),
        vec![Outcome::Delivered { code: Some(200) }]
    );
    assert_eq!(bodies(&fake)[0]["validateOnly"], true);
    assert!(fake.accepted().is_empty());
}

#[test]
fn a_preview_is_the_request_with_its_token_redacted_and_nothing_is_sent() {
    let fake = fake();
    let google = destination(&config(&fake.url()));
    let batch = Batch::new(&[
        renewed("tn-1", 1.0),
        conversion("tn-bad", "555", "2026-04-20T10:00:00Z", None),
    ]);
    let previews = google.preview(&batch.outgoing());
    assert_eq!(previews.len(), 1);
    let p = &previews[0];
    assert_eq!(p.method, "POST");
    assert_eq!(p.url, format!("{}/v1/events:ingest", fake.url()));
    assert!(p
        .headers
        .contains(&("Authorization".into(), "Bearer <redacted>".into())));
    assert_eq!(
        p.deliveries,
        vec![100],
        "the item that would not be sent is left out"
    );
    assert_eq!(p.body["events"][0]["transactionId"], "tn-1");
    assert!(fake.requests().is_empty());
    let shown = format!("{google:?} {}", serde_json::to_string(&previews).unwrap());
    assert!(!shown.contains(TOKEN), "{shown}");
    // What is sent is what was previewed.
    google.send_batch(&batch.outgoing());
    assert_eq!(bodies(&fake)[0], p.body);
}

#[test]
fn built_from_the_config_file_entry() {
    let fake = fake();
    let built = crate::build(&config(&fake.url()), &env).unwrap();
    assert_eq!(built.name(), "google");
    assert_eq!(built.batch_limit(), 2_000);
    let err = crate::build(&config(&fake.url()), &|_: &str| None).unwrap_err();
    assert!(err.to_string().contains("TENURE_GOOGLE_TOKEN"), "{err}");
}

#[test]
fn at_most_ten_e_mails_an_event() {
    let fake = fake();
    let google = destination(&config(&fake.url()));
    let mut event = renewed("tn-1", 1.0);
    event.match_keys.hashed_emails = vec![JOHN.to_owned(); 12];
    assert_eq!(
        google.send_batch(&Batch::new(&[event]).outgoing()),
        vec![Outcome::Delivered { code: Some(200) }]
    );
    let identifiers = &bodies(&fake)[0]["events"][0]["userData"]["userIdentifiers"];
    assert_eq!(identifiers.as_array().unwrap().len(), 10);
}

#[test]
fn a_refusal_naming_no_event_fails_every_item_without_splitting() {
    let fake = fake();
    // Digits, so tenure's config takes it, but not the 10 Google wants.
    let google = destination(&Config {
        customer_id: Some("12345".into()),
        ..config(&fake.url())
    });
    let events: Vec<ConversionEvent> = (0..4).map(|i| renewed(&format!("tn-{i}"), 1.0)).collect();
    let outcomes = google.send_batch(&Batch::new(&events).outgoing());
    for outcome in &outcomes {
        match outcome {
            Outcome::Permanent {
                code: Some(400),
                reason,
            } => {
                assert!(reason.contains("operatingAccount.accountId"), "{reason}")
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(fake.requests().len(), 1);
}
