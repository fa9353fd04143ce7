//! Kind `google_ads` against the Google Ads API fake: the fake refuses hand-built requests
//! Google refuses, the destination's requests pass it, and every per-item answer becomes the
//! outcome FORMATS.md gives it.

use std::time::Duration;

use serde_json::{json, Value};
use tenure_playbooks::{Destination as Config, DestinationKind};

use super::*;
use crate::google::ads_api::{item_outcome, TOO_RECENT_WAIT};
use crate::google::AdsApi;
use crate::test_support::{AdsApiFake, Reply};
use crate::{Destination, DestinationError, Outcome};

pub(super) const DEVELOPER_TOKEN: &str = "dev-token-loopback";

fn config(url: &str) -> Config {
    Config {
        url: Some(url.into()),
        customer_id: Some("123-456-7890".into()),
        login_customer_id: Some("999-000-1111".into()),
        secret_env: Some("TENURE_GOOGLE_TOKEN".into()),
        developer_token_env: Some("TENURE_GOOGLE_DEVELOPER_TOKEN".into()),
        rate_per_minute: Some(60_000),
        ..Config::named("google_ads", DestinationKind::GoogleAds)
    }
}

fn destination(config: &Config) -> AdsApi {
    AdsApi::from_config(config, &env)
        .unwrap()
        .with_clock(fixed(NOW))
}

fn fake() -> AdsApiFake {
    let fake = AdsApiFake::start(TOKEN, DEVELOPER_TOKEN);
    fake.set_now(at(NOW));
    fake
}

/// A conversion of action 555 on a click the fake knows.
fn renewed(fake: &AdsApiFake, id: &str, value: f64) -> ConversionEvent {
    let click = format!("G-{id}");
    fake.click(&click, at("2026-04-10T08:00:00Z"));
    with_email(
        with_click(
            conversion(id, "555", "2026-04-20T10:00:00Z", Some(value)),
            "gclid",
            &click,
            "2026-04-10T08:00:00Z",
        ),
        JOHN,
    )
}

fn send(google: &AdsApi, events: &[ConversionEvent]) -> Vec<Outcome> {
    google.send_batch(&Batch::new(events).outgoing())
}

#[test]
fn conversions_go_with_googles_fields_and_headers() {
    let fake = fake();
    let google = destination(&config(&fake.url()));
    let first = renewed(&fake, "tn-1", 1200.0);
    fake.click("B-2", at("2026-04-12T00:00:00Z"));
    let second = with_click(
        conversion("tn-2", "777", "2026-04-21T09:30:15Z", None),
        "gbraid",
        "B-2",
        "2026-04-12T00:00:00Z",
    );
    assert_eq!(
        send(&google, &[first, second]),
        vec![Outcome::Delivered { code: Some(200) }; 2]
    );
    let requests = fake.requests();
    assert_eq!(requests.len(), 1);
    let r = &requests[0];
    assert_eq!(r.path, "/v26/customers/1234567890:uploadClickConversions");
    assert_eq!(
        r.header("authorization"),
        Some(format!("Bearer {TOKEN}").as_str())
    );
    assert_eq!(r.header("developer-token"), Some(DEVELOPER_TOKEN));
    assert_eq!(r.header("login-customer-id"), Some("9990001111"));
    assert_eq!(
        r.json(),
        json!({
            "conversions": [
                {
                    "conversionAction": "customers/1234567890/conversionActions/555",
                    "conversionDateTime": "2026-04-20 10:00:00+00:00",
                    "orderId": "tn-1",
                    "gclid": "G-tn-1",
                    "userIdentifiers": [{"hashedEmail": JOHN}],
                    "conversionValue": 1200.0,
                    "currencyCode": "USD",
                },
                {
                    "conversionAction": "customers/1234567890/conversionActions/777",
                    "conversionDateTime": "2026-04-21 09:30:15+00:00",
                    "orderId": "tn-2",
                    "gbraid": "B-2",
                },
            ],
            "partialFailure": true,
            "validateOnly": false,
        })
    );
    assert_eq!(fake.accepted().len(), 2);
    assert_eq!(fake.conversion("555", "tn-1").unwrap().value, Some(1200.0));
}

#[test]
fn at_most_five_e_mails_a_conversion() {
    let fake = fake();
    let google = destination(&config(&fake.url()));
    let mut event = renewed(&fake, "tn-1", 1.0);
    event.match_keys.hashed_emails = vec![JOHN.to_owned(); 7];
    assert_eq!(
        send(&google, &[event]),
        vec![Outcome::Delivered { code: Some(200) }]
    );
    let body = fake.requests()[0].json();
    assert_eq!(
        body["conversions"][0]["userIdentifiers"]
            .as_array()
            .unwrap()
            .len(),
        5
    );
}

/// A good upload, to mutate into ones the destination would not send.
fn good_body() -> Value {
    json!({
        "conversions": [{
            "conversionAction": "customers/1234567890/conversionActions/555",
            "conversionDateTime": "2026-04-20 10:00:00+00:00",
            "orderId": "tn-1",
            "gclid": "G-1",
            "conversionValue": 10.0,
            "currencyCode": "USD",
        }],
        "partialFailure": true,
        "validateOnly": false,
    })
}

/// The error code the fake gives item `index`, if any.
fn item_error(answer: &Value, index: u64) -> Option<String> {
    answer["partialFailureError"]["details"][0]["errors"]
        .as_array()?
        .iter()
        .find(|e| e["location"]["fieldPathElements"][0]["index"] == index)
        .map(|e| {
            e["errorCode"]
                .as_object()
                .unwrap()
                .values()
                .next()
                .unwrap()
                .as_str()
                .unwrap()
                .to_owned()
        })
}

#[test]
fn the_fake_refuses_what_google_refuses() {
    let fake = fake();
    fake.click("G-1", at("2026-04-10T00:00:00Z"));
    fake.click("G-late", at("2026-04-20T11:00:00Z"));
    fake.click("G-old", at("2026-01-15T00:00:00Z"));
    let url = format!(
        "{}/v26/customers/1234567890:uploadClickConversions",
        fake.url()
    );
    let bearer = format!("Bearer {TOKEN}");
    let full = [
        ("Authorization", bearer.as_str()),
        ("developer-token", DEVELOPER_TOKEN),
    ];

    // Whole-request refusals.
    let mut no_partial = good_body();
    no_partial["partialFailure"] = json!(false);
    let (status, answer) = post(&url, &full, &no_partial);
    assert_eq!(status, 400);
    assert_eq!(
        answer["error"]["details"][0]["errors"][0]["errorCode"]["partialFailureError"],
        "PARTIAL_FAILURE_MODE_REQUIRED"
    );
    let (status, answer) = post(&url, &full[..1], &good_body());
    assert_eq!(status, 401);
    assert_eq!(
        answer["error"]["details"][0]["errors"][0]["errorCode"]["authenticationError"],
        "DEVELOPER_TOKEN_PARAMETER_MISSING"
    );
    let (status, _) = post(
        &url,
        &[
            ("Authorization", "Bearer nope"),
            ("developer-token", DEVELOPER_TOKEN),
        ],
        &good_body(),
    );
    assert_eq!(status, 401);
    let (status, _) = post(&url.replace("v26", "v19"), &full, &good_body());
    assert_eq!(status, 404, "only the pinned version is served");
    assert!(fake.accepted().is_empty());

    // Per-item refusals, in one request with a good item first.
    let item = |change: &dyn Fn(&mut Value)| {
        let mut c = good_body()["conversions"][0].clone();
        change(&mut c);
        c
    };
    let items = vec![
        item(&|_| {}),
        item(&|c| {
            c["gclid"] = json!("G-unknown");
            c["orderId"] = json!("tn-2");
        }),
        item(&|c| {
            c["orderId"] = json!("tn-1");
        }),
        item(&|c| {
            c["gclid"] = json!("G-late");
            c["orderId"] = json!("tn-4");
        }),
        item(&|c| {
            c["gclid"] = json!("G-old");
            c["orderId"] = json!("tn-5");
        }),
        item(&|c| {
            c["gbraid"] = json!("B-1");
            c["orderId"] = json!("tn-6");
        }),
        item(&|c| {
            c["conversionDateTime"] = json!("2026-04-20T10:00:00Z");
            c["orderId"] = json!("tn-7");
        }),
        item(&|c| {
            c["userIdentifiers"] = json!([{"hashedEmail": "john@example.com"}]);
            c["orderId"] = json!("tn-8");
        }),
    ];
    let mut body = good_body();
    body["conversions"] = json!(items);
    let (status, answer) = post(&url, &full, &body);
    assert_eq!(status, 200, "{answer}");
    let codes: Vec<Option<String>> = (0..8).map(|i| item_error(&answer, i)).collect();
    assert_eq!(
        codes,
        [
            None,
            Some("CLICK_NOT_FOUND".into()),
            Some("CLICK_CONVERSION_ALREADY_EXISTS".into()),
            Some("CONVERSION_PRECEDES_EVENT".into()),
            Some("EXPIRED_EVENT".into()),
            Some("GBRAID_WBRAID_BOTH_SET".into()),
            Some("INVALID_FIELD_FORMAT".into()),
            Some("INVALID_USER_IDENTIFIER".into()),
        ]
    );
    assert_eq!(answer["results"].as_array().unwrap().len(), 8);
    assert_eq!(
        answer["results"][1],
        json!({}),
        "a failed row's result is empty"
    );
    assert_eq!(fake.accepted().len(), 1, "only the good item is recorded");
}

#[test]
fn per_item_answers_become_outcomes_and_the_good_items_pass() {
    let fake = fake();
    // Google's action counts 30 days where tenure was told 90.
    fake.set_window_days(30);
    let google = destination(&config(&fake.url()));
    let good = renewed(&fake, "tn-good", 10.0);
    let recorded = renewed(&fake, "tn-again", 10.0);
    assert_eq!(
        send(&google, std::slice::from_ref(&recorded)),
        vec![Outcome::Delivered { code: Some(200) }]
    );
    let unknown = with_click(
        conversion("tn-unknown", "555", "2026-04-20T10:00:00Z", Some(1.0)),
        "gclid",
        "G-nobody",
        "2026-04-10T00:00:00Z",
    );
    // The runtime saw the click before the conversion; Google has it an hour after.
    fake.click("G-late", at("2026-04-20T11:00:00Z"));
    let precedes = with_click(
        conversion("tn-precedes", "555", "2026-04-20T10:00:00Z", Some(1.0)),
        "gclid",
        "G-late",
        "2026-04-20T09:00:00Z",
    );
    fake.click("G-45", at("2026-03-17T12:00:00Z"));
    let old = with_click(
        conversion("tn-old", "555", "2026-04-20T10:00:00Z", Some(1.0)),
        "gclid",
        "G-45",
        "2026-03-17T12:00:00Z",
    );
    let outcomes = send(&google, &[good, recorded, unknown, precedes, old]);
    assert_eq!(outcomes[0], Outcome::Delivered { code: Some(200) });
    assert_eq!(outcomes[1], Outcome::Duplicate { code: Some(200) });
    assert!(
        matches!(&outcomes[2], Outcome::Unmatched { code: Some(200), reason } if reason.starts_with("CLICK_NOT_FOUND")),
        "{:?}",
        outcomes[2]
    );
    assert!(
        matches!(&outcomes[3], Outcome::Permanent { code: Some(200), reason } if reason.starts_with("CONVERSION_PRECEDES_EVENT")),
        "{:?}",
        outcomes[3]
    );
    assert!(
        matches!(&outcomes[4], Outcome::Permanent { code: Some(200), reason } if reason.starts_with("EXPIRED_EVENT")),
        "{:?}",
        outcomes[4]
    );
    assert_eq!(fake.accepted().len(), 2);
}

#[test]
fn the_error_codes_that_decide_retries() {
    let check = |code: &str, expected: Outcome| {
        assert_eq!(item_outcome(200, code, "m"), expected, "{code}");
    };
    let reason = |code: &str| format!("{code}: m");
    check(
        "CLICK_CONVERSION_ALREADY_EXISTS",
        Outcome::Duplicate { code: Some(200) },
    );
    for code in ["CLICK_NOT_FOUND", "CONVERSION_NOT_FOUND"] {
        check(
            code,
            Outcome::Unmatched {
                code: Some(200),
                reason: reason(code),
            },
        );
    }
    for code in [
        "TOO_RECENT_EVENT",
        "TOO_RECENT_CONVERSION_ACTION",
        "TOO_RECENT_CONVERSION",
    ] {
        check(
            code,
            Outcome::RetryLater {
                code: Some(200),
                reason: reason(code),
                after: Some(Duration::from_secs(6 * 3600)),
            },
        );
    }
    check(
        "CONCURRENT_MODIFICATION",
        Outcome::RetryLater {
            code: Some(200),
            reason: reason("CONCURRENT_MODIFICATION"),
            after: None,
        },
    );
    for code in ["RESOURCE_EXHAUSTED", "RESOURCE_TEMPORARILY_EXHAUSTED"] {
        check(
            code,
            Outcome::Throttled {
                code: Some(200),
                after: None,
            },
        );
    }
    for code in [
        "EXPIRED_EVENT",
        "CONVERSION_PRECEDES_EVENT",
        "CONVERSION_EXPIRED",
        "INVALID_USER_IDENTIFIER",
    ] {
        check(
            code,
            Outcome::Permanent {
                code: Some(200),
                reason: reason(code),
            },
        );
    }
}

#[test]
fn retry_answers_from_the_api_reach_the_outcomes() {
    let fake = fake();
    let google = destination(&config(&fake.url()));
    let batch = [renewed(&fake, "tn-1", 1.0), renewed(&fake, "tn-2", 2.0)];
    fake.reply_next(AdsApiFake::quota_exhausted());
    assert_eq!(
        send(&google, &batch),
        vec![
            Outcome::Throttled {
                code: Some(429),
                after: Some(Duration::from_secs(60))
            };
            2
        ]
    );
    // Per item: the action is too new for one, the other is being modified.
    let per_item = json!({
        "results": [{}, {}],
        "partialFailureError": {"code": 3, "message": "2 errors", "details": [{
            "@type": "type.googleapis.com/google.ads.googleads.v26.errors.GoogleAdsFailure",
            "errors": [
                {"errorCode": {"conversionUploadError": "TOO_RECENT_CONVERSION_ACTION"}, "message": "try again in 6 hours",
                 "location": {"fieldPathElements": [{"fieldName": "conversions", "index": 0}]}},
                {"errorCode": {"databaseError": "CONCURRENT_MODIFICATION"}, "message": "busy",
                 "location": {"fieldPathElements": [{"fieldName": "conversions", "index": 1}]}},
            ],
        }]},
    });
    fake.reply_next(Reply::new(200, &per_item.to_string()));
    let outcomes = send(&google, &batch);
    assert!(
        matches!(&outcomes[0], Outcome::RetryLater { after: Some(d), .. } if *d == TOO_RECENT_WAIT),
        "{outcomes:?}"
    );
    assert!(
        matches!(&outcomes[1], Outcome::RetryLater { after: None, reason, .. } if reason.contains("CONCURRENT_MODIFICATION")),
        "{outcomes:?}"
    );
    fake.reply_next(AdsApiFake::unavailable());
    assert!(send(&google, &batch).iter().all(|o| matches!(
        o,
        Outcome::RetryLater {
            code: Some(503),
            ..
        }
    )));
    assert!(fake.accepted().is_empty());
}

#[test]
fn a_mixed_batch_is_sent_as_conversions_then_adjustments() {
    let fake = fake();
    let google = destination(&config(&fake.url()));
    let earlier = renewed(&fake, "tn-0", 1200.0);
    send(&google, std::slice::from_ref(&earlier));
    let restated = adjustment(&earlier, "2026-04-25T09:00:00Z", Some(800.0));
    let new = renewed(&fake, "tn-1", 50.0);
    assert_eq!(
        send(&google, &[restated, new]),
        vec![Outcome::Delivered { code: Some(200) }; 2]
    );
    let requests = fake.requests();
    assert_eq!(requests.len(), 3);
    assert!(requests[1].path.ends_with(":uploadClickConversions"));
    assert_eq!(requests[1].json()["conversions"][0]["orderId"], "tn-1");
    assert_eq!(
        requests[2].path,
        "/v26/customers/1234567890:uploadConversionAdjustments"
    );
    assert_eq!(
        requests[2].json(),
        json!({
            "conversionAdjustments": [{
                "conversionAction": "customers/1234567890/conversionActions/555",
                "orderId": "tn-0",
                "adjustmentDateTime": "2026-04-25 09:00:00+00:00",
                "adjustmentType": "RESTATEMENT",
                "restatementValue": {"adjustedValue": 800.0, "currencyCode": "USD"},
            }],
            "partialFailure": true,
            "validateOnly": false,
        })
    );
    assert_eq!(fake.conversion("555", "tn-0").unwrap().value, Some(800.0));
}

#[test]
fn a_later_restatement_applies_and_one_at_the_same_time_is_silently_ignored() {
    let fake = fake();
    let google = destination(&config(&fake.url()));
    let original = renewed(&fake, "tn-1", 1200.0);
    send(&google, std::slice::from_ref(&original));
    let delivered = vec![Outcome::Delivered { code: Some(200) }];
    assert_eq!(
        send(
            &google,
            &[adjustment(&original, "2026-04-25T09:00:00Z", Some(800.0))]
        ),
        delivered
    );
    assert_eq!(
        send(
            &google,
            &[adjustment(&original, "2026-04-26T09:00:00Z", Some(600.0))]
        ),
        delivered
    );
    assert_eq!(fake.conversion("555", "tn-1").unwrap().value, Some(600.0));
    // Same adjustment time as the last: Google answers success and changes nothing.
    assert_eq!(
        send(
            &google,
            &[adjustment(&original, "2026-04-26T09:00:00Z", Some(500.0))]
        ),
        delivered
    );
    assert_eq!(fake.conversion("555", "tn-1").unwrap().value, Some(600.0));
    assert_eq!(fake.adjustments_applied().len(), 2);
    assert_eq!(fake.adjustments_ignored().len(), 1);
    assert_eq!(
        fake.adjustments_ignored()[0]["restatementValue"]["adjustedValue"],
        500.0
    );
}

#[test]
fn nothing_applies_after_a_retraction() {
    let fake = fake();
    let google = destination(&config(&fake.url()));
    let original = renewed(&fake, "tn-1", 1200.0);
    send(&google, std::slice::from_ref(&original));
    assert_eq!(
        send(
            &google,
            &[adjustment(&original, "2026-04-25T09:00:00Z", None)]
        ),
        vec![Outcome::Delivered { code: Some(200) }]
    );
    let retraction = &fake.requests()[1].json()["conversionAdjustments"][0];
    assert_eq!(retraction["adjustmentType"], "RETRACTION");
    assert!(
        retraction.get("restatementValue").is_none(),
        "a retraction carries no value"
    );
    let after = adjustment(&original, "2026-04-27T09:00:00Z", Some(900.0));
    assert_eq!(
        send(&google, &[after]),
        vec![Outcome::Delivered { code: Some(200) }]
    );
    let conversion = fake.conversion("555", "tn-1").unwrap();
    assert!(conversion.retracted);
    assert_eq!(conversion.value, Some(0.0));
    assert_eq!(fake.adjustments_ignored().len(), 1);
}

#[test]
fn adjustments_the_fake_refuses() {
    let fake = fake();
    let google = destination(&config(&fake.url()));
    // An order Google never recorded (it matched no one when sent): unmatched, not retried.
    let never = renewed(&fake, "tn-never", 10.0);
    let outcomes = send(
        &google,
        &[adjustment(&never, "2026-04-25T09:00:00Z", Some(5.0))],
    );
    assert!(
        matches!(&outcomes[0], Outcome::Unmatched { reason, .. } if reason.starts_with("CONVERSION_NOT_FOUND")),
        "{outcomes:?}"
    );
    // By hand: a retraction with a value, a restatement without one, one before the conversion.
    let recorded = renewed(&fake, "tn-1", 10.0);
    send(&google, std::slice::from_ref(&recorded));
    let url = format!(
        "{}/v26/customers/1234567890:uploadConversionAdjustments",
        fake.url()
    );
    let bearer = format!("Bearer {TOKEN}");
    let base = json!({
        "conversionAction": "customers/1234567890/conversionActions/555",
        "orderId": "tn-1",
        "adjustmentDateTime": "2026-04-25 09:00:00+00:00",
    });
    let with = |extra: Value| {
        let mut a = base.clone();
        a.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        a
    };
    let body = json!({
        "conversionAdjustments": [
            with(json!({"adjustmentType": "RETRACTION", "restatementValue": {"adjustedValue": 1.0}})),
            with(json!({"adjustmentType": "RESTATEMENT"})),
            with(json!({"adjustmentType": "RESTATEMENT", "restatementValue": {"adjustedValue": 1.0}, "adjustmentDateTime": "2026-04-19 09:00:00+00:00"})),
        ],
        "partialFailure": true,
    });
    let (status, answer) = post(
        &url,
        &[
            ("Authorization", bearer.as_str()),
            ("developer-token", DEVELOPER_TOKEN),
        ],
        &body,
    );
    assert_eq!(status, 200);
    let codes: Vec<Option<String>> = (0..3).map(|i| item_error(&answer, i)).collect();
    assert_eq!(
        codes,
        [
            Some("VALUE_MUST_BE_UNSET".into()),
            Some("REQUIRED".into()),
            Some("ADJUSTMENT_PRECEDES_CONVERSION".into())
        ]
    );
    assert!(fake.adjustments_applied().is_empty());
}

#[test]
fn a_preview_redacts_both_tokens_and_sends_nothing() {
    let fake = fake();
    let google = destination(&config(&fake.url()));
    let original = renewed(&fake, "tn-1", 10.0);
    let batch = Batch::new(&[
        original.clone(),
        adjustment(&original, "2026-04-25T09:00:00Z", None),
    ]);
    let previews = google.preview(&batch.outgoing());
    assert_eq!(previews.len(), 2);
    assert!(previews[0]
        .url
        .ends_with("/v26/customers/1234567890:uploadClickConversions"));
    assert!(previews[1].url.ends_with(":uploadConversionAdjustments"));
    assert_eq!(previews[1].deliveries, vec![101]);
    for p in &previews {
        assert!(p
            .headers
            .contains(&("developer-token".into(), "<redacted>".into())));
        assert!(p
            .headers
            .contains(&("Authorization".into(), "Bearer <redacted>".into())));
        assert!(p
            .headers
            .contains(&("login-customer-id".into(), "9990001111".into())));
    }
    let shown = format!("{google:?} {}", serde_json::to_string(&previews).unwrap());
    assert!(
        !shown.contains(TOKEN) && !shown.contains(DEVELOPER_TOKEN),
        "{shown}"
    );
    assert!(fake.requests().is_empty());
}

#[test]
fn built_from_the_config_file_entry_with_both_tokens() {
    let fake = fake();
    let built = crate::build(&config(&fake.url()), &env).unwrap();
    assert_eq!((built.name(), built.batch_limit()), ("google_ads", 2_000));
    let only_access = |name: &str| (name == "TENURE_GOOGLE_TOKEN").then(|| TOKEN.to_owned());
    let err = crate::build(&config(&fake.url()), &only_access).unwrap_err();
    assert_eq!(
        err,
        DestinationError::MissingSecret {
            destination: "google_ads".into(),
            variable: "TENURE_GOOGLE_DEVELOPER_TOKEN".into(),
            what: "the Google Ads developer token",
        }
    );
    let validate = Config {
        validate_only: true,
        ..config(&fake.url())
    };
    let google = destination(&validate);
    assert_eq!(
        send(&google, &[renewed(&fake, "tn-1", 1.0)]),
        vec![Outcome::Delivered { code: Some(200) }]
    );
    assert_eq!(fake.requests()[0].json()["validateOnly"], true);
    assert!(fake.accepted().is_empty(), "validate-only records nothing");
}
