//! LinkedIn against a fake of `/rest/conversionEvents` that refuses what LinkedIn documents it
//! refuses (`test_support::LinkedinApi`), and the fake itself against hand-built bad requests.

use std::time::{Duration, SystemTime};

use serde_json::{json, Value};
use tenure_core::Timestamp;
use tenure_playbooks::{Destination as Config, DestinationKind};

use super::*;
use crate::batch::now_ms;
use crate::conversion::{Click, ConversionEvent, EventKind, MatchKeys};
use crate::matching::{hashed_email, Platform};
use crate::test_support::{linkedin_error, LinkedinApi, Reply};
use crate::{build, Destination, DestinationError, Outcome, Outgoing};

const TOKEN: &str = "AQVfakeLinkedInToken0123456789";
const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;
/// sha256("john.smith@example.com"), computed with Python's hashlib (and in matching's tests).
const JOHN: &str = "8e621e3d0368631d263d07a351fa8d34fba0d17c15fbcdec11a5f58008d022a0";

fn config(url: &str) -> Config {
    Config {
        url: Some(url.into()),
        secret_env: Some("TENURE_LINKEDIN_TOKEN".into()),
        rate_per_minute: Some(60_000),
        ..Config::named("linkedin_ads", DestinationKind::Linkedin)
    }
}

fn env(name: &str) -> Option<String> {
    (name == "TENURE_LINKEDIN_TOKEN").then(|| TOKEN.to_owned())
}

fn linkedin(url: &str) -> Linkedin {
    Linkedin::from_config(&config(url), &env).unwrap()
}

fn at(ms: i64) -> Timestamp {
    Timestamp::from_millis(ms)
}

/// A conversion to rule 104 `hours_ago`, matched on John Smith's e-mail as the runtime hashes
/// it for LinkedIn.
fn conversion(id: &str, hours_ago: i64) -> ConversionEvent {
    ConversionEvent {
        kind: EventKind::Conversion,
        event_id: id.into(),
        rule: "renewed".into(),
        account: "acct_1".into(),
        platform_name: "104".into(),
        occurred_at: at(now_ms() - hours_ago * HOUR_MS),
        value: Some(1500.0),
        currency: "USD".into(),
        adjusted_at: None,
        previous_value: None,
        match_keys: MatchKeys {
            hashed_emails: vec![
                hashed_email(Platform::LinkedIn, "John.Smith@Example.com ").unwrap()
            ],
            clicks: Vec::new(),
            external_id: None,
        },
    }
}

fn payloads(events: &[ConversionEvent]) -> Vec<Value> {
    events.iter().map(ConversionEvent::to_payload).collect()
}

/// Delivery ids 1, 2, … in order.
fn outgoing(payloads: &[Value]) -> Vec<Outgoing<'_>> {
    payloads
        .iter()
        .enumerate()
        .map(|(i, payload)| Outgoing {
            delivery_id: i as i64 + 1,
            idempotency_key: "key",
            payload,
            attempt: 1,
        })
        .collect()
}

fn send(destination: &dyn Destination, events: &[ConversionEvent]) -> Vec<Outcome> {
    let payloads = payloads(events);
    destination.send_batch(&outgoing(&payloads))
}

fn ids(elements: &[Value]) -> Vec<String> {
    let mut ids: Vec<String> = elements
        .iter()
        .map(|e| e["eventId"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}

fn created() -> Outcome {
    Outcome::Delivered { code: Some(201) }
}

fn reason(outcome: &Outcome) -> &str {
    match outcome {
        Outcome::Permanent { reason, .. }
        | Outcome::RetryLater { reason, .. }
        | Outcome::Expired { reason }
        | Outcome::Unmatched { reason, .. } => reason,
        other => panic!("no reason in {other:?}"),
    }
}

#[test]
fn a_good_batch_lands_exactly() {
    let fake = LinkedinApi::start(TOKEN);
    let destination = linkedin(&fake.url());
    let now = now_ms();
    let click = |kind: &str, id: &str, hours_ago: i64| Click {
        kind: kind.into(),
        id: id.into(),
        at: at(now - hours_ago * HOUR_MS),
    };
    let mut a = conversion("tn-a", 2);
    a.match_keys.hashed_emails.push("1".repeat(64));
    a.match_keys.clicks = vec![
        click("li_fat_id", "df5gf5-old", 72),
        click("li_fat_id", "df5gf5-gh6t7-ph4j7h-fgf6n1", 10),
        click("fbclid", "IwAR_later", 3),
    ];
    let mut b = conversion("tn-b", 80 * 24);
    b.value = Some(1234.5);
    b.currency = "eur".into();
    let mut c = conversion("tn-c", 1);
    c.value = None;
    let outcomes = send(&destination, &[a.clone(), b.clone(), c.clone()]);
    assert_eq!(outcomes, vec![created(); 3]);

    let requests = fake.requests();
    assert_eq!(requests.len(), 1);
    let sent = &requests[0];
    assert_eq!(sent.path, "/rest/conversionEvents");
    for (name, value) in [
        ("authorization", format!("Bearer {TOKEN}")),
        ("linkedin-version", "202603".to_owned()),
        ("x-restli-protocol-version", "2.0.0".to_owned()),
        ("x-restli-method", "BATCH_CREATE".to_owned()),
        ("content-type", "application/json".to_owned()),
    ] {
        assert_eq!(sent.header(name), Some(value.as_str()), "{name}");
    }
    let accepted = fake.accepted();
    assert_eq!(accepted.len(), 3);
    assert_eq!(
        accepted[0],
        json!({
            "conversion": "urn:lla:llaPartnerConversion:104",
            "conversionHappenedAt": a.occurred_at.millis(),
            "conversionValue": {"currencyCode": "USD", "amount": "1500.0"},
            "eventId": "tn-a",
            "user": {"userIds": [
                {"idType": "SHA256_EMAIL", "idValue": JOHN},
                {"idType": "LINKEDIN_FIRST_PARTY_ADS_TRACKING_UUID", "idValue": "df5gf5-gh6t7-ph4j7h-fgf6n1"},
            ]},
        })
    );
    assert_eq!(
        accepted[1]["conversionValue"],
        json!({"currencyCode": "EUR", "amount": "1234.5"})
    );
    assert_eq!(accepted[1]["conversionHappenedAt"], b.occurred_at.millis());
    // No value: no conversionValue at all; userIds always.
    assert_eq!(
        accepted[2],
        json!({
            "conversion": "urn:lla:llaPartnerConversion:104",
            "conversionHappenedAt": c.occurred_at.millis(),
            "eventId": "tn-c",
            "user": {"userIds": [{"idType": "SHA256_EMAIL", "idValue": JOHN}]},
        })
    );

    // A retry is answered like a first send and counted once (LinkedIn deduplicates on eventId).
    assert_eq!(send(&destination, &[a]), vec![created()]);
    assert_eq!(fake.accepted().len(), 3);
}

#[test]
fn each_event_linkedin_would_refuse_fails_alone_and_is_never_sent() {
    let fake = LinkedinApi::start(TOKEN);
    let destination = linkedin(&fake.url());
    let mut retraction = conversion("tn-retracted", 1);
    retraction.kind = EventKind::Retraction;
    retraction.value = None;
    let mut unhashed = conversion("tn-unhashed", 1);
    unhashed.match_keys.hashed_emails = vec!["john.smith@example.com".into()];
    let mut unmatched = conversion("tn-unmatched", 1);
    unmatched.match_keys = MatchKeys {
        clicks: vec![Click {
            kind: "fbclid".into(),
            id: "IwAR".into(),
            at: at(now_ms() - HOUR_MS),
        }],
        external_id: Some("acct".into()),
        ..MatchKeys::default()
    };
    let expired = conversion("tn-91d", 91 * 24);
    let mut named = conversion("tn-named", 1);
    named.platform_name = "Renewed".into();
    let mut negative = conversion("tn-negative", 1);
    negative.value = Some(-10.0);
    let events = [
        conversion("tn-good", 1),
        retraction,
        unhashed,
        unmatched,
        expired,
        named,
        negative,
        conversion("tn-89d", 89 * 24),
    ];
    let outcomes = send(&destination, &events);

    assert_eq!(outcomes[0], created());
    assert!(reason(&outcomes[1]).contains("LinkedIn takes no adjustments"));
    assert!(reason(&outcomes[2]).contains("never sent unhashed"));
    assert!(!reason(&outcomes[2]).contains("john"));
    assert!(reason(&outcomes[3]).contains("nothing to match"));
    assert!(
        matches!(&outcomes[4], Outcome::Expired { reason } if reason.contains("more than 90 days")),
        "{:?}",
        outcomes[4]
    );
    assert!(reason(&outcomes[5]).contains("not a LinkedIn conversion rule id"));
    assert!(reason(&outcomes[6]).contains("must be 0 or more"));
    assert_eq!(outcomes[7], created());
    assert_eq!(fake.requests().len(), 1);
    assert_eq!(ids(&fake.accepted()), vec!["tn-89d", "tn-good"]);
}

#[test]
fn an_element_linkedin_refuses_fails_alone_in_one_request() {
    let fake = LinkedinApi::start(TOKEN);
    fake.refuse_event("tn-2", "The conversion rule was deleted");
    let destination = linkedin(&fake.url());
    let events: Vec<ConversionEvent> = (0..5).map(|i| conversion(&format!("tn-{i}"), 1)).collect();
    let outcomes = send(&destination, &events);
    for (i, outcome) in outcomes.iter().enumerate() {
        if i == 2 {
            assert_eq!(
                outcome,
                &Outcome::Permanent {
                    code: Some(400),
                    reason: "LinkedIn: The conversion rule was deleted (INVALID_CONVERSION_EVENT)"
                        .into(),
                }
            );
        } else {
            assert_eq!(outcome, &created(), "event {i}");
        }
    }
    assert_eq!(
        fake.requests().len(),
        1,
        "answered per element, never split"
    );
    assert_eq!(ids(&fake.accepted()), vec!["tn-0", "tn-1", "tn-3", "tn-4"]);
}

#[test]
fn throttling_outages_and_refusals_of_the_request_fail_every_event_alike() {
    let fake = LinkedinApi::start(TOKEN);
    let destination = linkedin(&fake.url());
    let events: Vec<ConversionEvent> = (0..3).map(|i| conversion(&format!("tn-{i}"), 1)).collect();
    let cases = [
        (
            linkedin_error(
                429,
                "TOO_MANY_REQUESTS",
                "Resource level throttle limit reached",
            )
            .with_header("Retry-After", "120"),
            Outcome::Throttled {
                code: Some(429),
                after: Some(Duration::from_secs(120)),
            },
        ),
        (
            Reply::new(503, "upstream busy"),
            Outcome::RetryLater {
                code: Some(503),
                reason: "upstream busy".into(),
                after: None,
            },
        ),
        (
            linkedin_error(500, "INTERNAL_SERVER_ERROR", "Internal Server Error"),
            Outcome::RetryLater {
                code: Some(500),
                reason: "LinkedIn: Internal Server Error (INTERNAL_SERVER_ERROR)".into(),
                after: None,
            },
        ),
    ];
    for (n, (reply, expected)) in cases.into_iter().enumerate() {
        fake.answer_next(reply);
        assert_eq!(send(&destination, &events), vec![expected.clone(); 3]);
        assert_eq!(fake.requests().len(), n + 1);
    }
    assert!(fake.accepted().is_empty());
    assert_eq!(send(&destination, &events), vec![created(); 3]);

    // A version LinkedIn does not serve: every event, one request, the setting named.
    let old = Linkedin::from_config(
        &Config {
            api_version: Some("202001".into()),
            ..config(&fake.url())
        },
        &env,
    )
    .unwrap();
    let before = fake.requests().len();
    for outcome in send(&old, &events) {
        assert!(
            matches!(&outcome, Outcome::Permanent { code: Some(426), reason }
                if reason.contains("Requested version 202001 is not active") && reason.contains("api_version")),
            "{outcome:?}"
        );
    }
    assert_eq!(fake.requests().len(), before + 1);
}

#[test]
fn a_refused_token_fails_every_event_and_is_never_shown() {
    let fake = LinkedinApi::start("AQVtheRightToken");
    let destination = linkedin(&fake.url());
    let events: Vec<ConversionEvent> = (0..3).map(|i| conversion(&format!("tn-{i}"), 1)).collect();
    let outcomes = send(&destination, &events);
    assert_eq!(fake.requests().len(), 1);
    for outcome in &outcomes {
        assert!(
            matches!(outcome, Outcome::Permanent { code: Some(401), reason }
                if reason.contains("Invalid access token") && reason.contains("rw_conversions")),
            "{outcome:?}"
        );
    }
    fake.answer_next(linkedin_error(
        403,
        "ACCESS_DENIED",
        &format!("Not enough permissions for token {TOKEN}"),
    ));
    let echoed = send(&destination, &events[..1]);
    assert!(
        reason(&echoed[0]).contains("for token <redacted>"),
        "{echoed:?}"
    );

    let payloads = payloads(&events);
    let preview = destination.preview(&outgoing(&payloads));
    let built = build(&config(&fake.url()), &env).unwrap();
    for shown in [
        format!("{destination:?}"),
        format!("{built:?}"),
        format!("{outcomes:?}"),
        format!("{echoed:?}"),
        format!("{preview:?}"),
        serde_json::to_string(&preview).unwrap(),
    ] {
        assert!(!shown.contains(TOKEN), "{shown}");
    }
}

#[test]
fn the_preview_is_the_request_sent_but_for_the_token() {
    let fake = LinkedinApi::start(TOKEN);
    let destination = linkedin(&fake.url());
    let expired = conversion("tn-old", 100 * 24);
    let payloads = payloads(&[expired, conversion("tn-b", 1), conversion("tn-c", 5)]);
    let batch = outgoing(&payloads);
    let previews = destination.preview(&batch);
    assert!(fake.requests().is_empty(), "a preview sends nothing");
    assert_eq!(previews.len(), 1);
    let preview = &previews[0];
    assert_eq!(preview.deliveries, vec![2, 3]);

    destination.send_batch(&batch);
    let sent = &fake.requests()[0];
    assert_eq!(preview.method, sent.method);
    assert_eq!(preview.url, format!("{}{}", fake.url(), sent.path));
    for (name, value) in &preview.headers {
        let expected = sent.header(name).map(|v| v.replace(TOKEN, "<redacted>"));
        assert_eq!(Some(value.clone()), expected, "{name}");
    }
    assert!(preview
        .headers
        .contains(&("Authorization".into(), "Bearer <redacted>".into())));
    assert_eq!(preview.body, sent.json());
}

#[test]
fn settings_are_checked_when_the_destination_is_built() {
    let built = build(&config("https://api.linkedin.example"), &env).unwrap();
    assert_eq!(built.name(), "linkedin_ads");
    assert_eq!(built.batch_limit(), 5000);
    for version in ["2026-03", "202613", "202600", "20263", "v202603", "latest"] {
        match Linkedin::from_config(
            &Config {
                api_version: Some(version.into()),
                ..config("https://api.linkedin.example")
            },
            &env,
        ) {
            Err(DestinationError::Invalid { field, message, .. }) => {
                assert_eq!(field, "api_version");
                assert!(message.contains("YYYYMM"), "{message}");
            }
            other => panic!("{version}: {other:?}"),
        }
    }
    assert!(matches!(
        Linkedin::from_config(&config("https://api.linkedin.example"), &|_| None),
        Err(DestinationError::MissingSecret { .. })
    ));
    let pinned = Linkedin::from_config(
        &Config {
            api_version: Some("202206".into()),
            ..config("https://api.linkedin.example/")
        },
        &env,
    )
    .unwrap();
    let payloads = payloads(&[conversion("tn-a", 1)]);
    let preview = pinned.preview(&outgoing(&payloads));
    assert_eq!(
        preview[0].url,
        "https://api.linkedin.example/rest/conversionEvents"
    );
    assert!(preview[0]
        .headers
        .contains(&("LinkedIn-Version".into(), "202206".into())));
}

#[test]
fn amounts_are_decimal_strings_to_the_cent() {
    for (value, text) in [
        (1500.0, "1500.0"),
        (1234.5, "1234.5"),
        (0.1 + 0.2, "0.3"),
        (19.999, "20.0"),
        (0.0, "0.0"),
        (12.34, "12.34"),
        (1e15, "1000000000000000.0"),
    ] {
        assert_eq!(element::amount(value), text, "{value}");
    }
}

/// One row of LinkedIn's answers: status, Retry-After, body → what came of a request of 2.
fn check(status: u16, retry_after: Option<&str>, body: &str, expected: Answer) {
    assert_eq!(
        answer::answer(status, retry_after, body, 2, SystemTime::UNIX_EPOCH),
        expected,
        "{status} {body}"
    );
}

#[test]
fn linkedin_answers_table() {
    let all = Answer::All;
    check(
        200,
        None,
        r#"{"elements":[{"status":201},{"status":201}]}"#,
        Answer::PerItem(vec![created(); 2]),
    );
    check(
        200,
        Some("5"),
        r#"{"elements":[{"status":400,"error":{"message":"bad hash","status":400}},{"status":429},{"status":503}]}"#,
        all(Outcome::RetryLater {
            code: Some(200),
            reason: "LinkedIn answered 3 results for 2 events".into(),
            after: Some(Duration::from_secs(5)),
        }),
    );
    check(
        200,
        Some("5"),
        r#"{"elements":[{"status":422,"error":{"message":"bad hash","serviceErrorCode":100}},{"status":429}]}"#,
        Answer::PerItem(vec![
            Outcome::Permanent {
                code: Some(422),
                reason: "LinkedIn: bad hash (service error 100)".into(),
            },
            Outcome::Throttled {
                code: Some(429),
                after: Some(Duration::from_secs(5)),
            },
        ]),
    );
    check(
        200,
        None,
        r#"{"elements":[{"status":500},{"status":201}]}"#,
        Answer::PerItem(vec![
            Outcome::RetryLater {
                code: Some(500),
                reason: "LinkedIn: HTTP 500".into(),
                after: None,
            },
            created(),
        ]),
    );
    assert!(matches!(
        answer::answer(201, None, "created", 2, SystemTime::UNIX_EPOCH),
        Answer::All(Outcome::RetryLater { .. })
    ));
    check(
        422,
        None,
        r#"{"status":422,"message":"ERROR :: /elements/0/user/userIds :: field is required"}"#,
        all(Outcome::Permanent {
            code: Some(422),
            reason: "LinkedIn: ERROR :: /elements/0/user/userIds :: field is required".into(),
        }),
    );
    check(
        504,
        None,
        "gateway timeout",
        all(Outcome::RetryLater {
            code: Some(504),
            reason: "gateway timeout".into(),
            after: None,
        }),
    );
    check(
        501,
        None,
        "",
        all(Outcome::Permanent {
            code: Some(501),
            reason: "HTTP 501 with an empty body".into(),
        }),
    );
}

/// An element as LinkedIn documents one, happening an hour ago.
fn raw_element(id: &str) -> Value {
    json!({
        "conversion": "urn:lla:llaPartnerConversion:104",
        "conversionHappenedAt": now_ms() - HOUR_MS,
        "conversionValue": {"currencyCode": "USD", "amount": "1500.0"},
        "eventId": id,
        "user": {"userIds": [{"idType": "SHA256_EMAIL", "idValue": JOHN}]},
    })
}

/// Posts `body` with LinkedIn's headers, `drop` left out and `set` replacing theirs: the
/// status and the answer.
fn post_raw(
    fake: &LinkedinApi,
    drop: Option<&str>,
    set: Option<(&str, &str)>,
    body: &Value,
) -> (u16, Value) {
    let mut request = reqwest::blocking::Client::new()
        .post(format!("{}/rest/conversionEvents", fake.url()))
        .header("Content-Type", "application/json");
    for (name, value) in [
        ("Authorization", format!("Bearer {TOKEN}")),
        ("LinkedIn-Version", "202603".into()),
        ("X-Restli-Protocol-Version", "2.0.0".into()),
        ("X-RestLi-Method", "BATCH_CREATE".into()),
    ] {
        if drop == Some(name) {
            continue;
        }
        let value = match set {
            Some((n, v)) if n == name => v.to_owned(),
            _ => value,
        };
        request = request.header(name, value);
    }
    let response = request.body(body.to_string()).send().unwrap();
    let status = response.status().as_u16();
    (status, response.json().unwrap())
}

#[test]
fn the_fake_refuses_what_linkedin_refuses() {
    let fake = LinkedinApi::start(TOKEN);
    let good = json!({"elements": [raw_element("raw-good")]});
    for (drop, set, status) in [
        (Some("Authorization"), None, 401),
        (None, Some(("Authorization", "Bearer AQVwrong")), 401),
        (Some("X-Restli-Protocol-Version"), None, 400),
        (None, Some(("X-Restli-Protocol-Version", "1.0.0")), 400),
        (Some("LinkedIn-Version"), None, 400),
        (None, Some(("LinkedIn-Version", "202001")), 426),
        (None, Some(("LinkedIn-Version", "209912")), 426),
        (None, Some(("LinkedIn-Version", "2026-03")), 426),
        (Some("X-RestLi-Method"), None, 400),
    ] {
        let (got, answer) = post_raw(&fake, drop, set, &good);
        assert_eq!(got, status, "{drop:?} {set:?}: {answer}");
        assert_eq!(answer["status"], status);
    }
    // The schema: a missing userIds or a numeric amount anywhere refuses the whole request.
    let with = |change: &dyn Fn(&mut Value)| {
        let mut element = raw_element("raw-bad");
        change(&mut element);
        json!({"elements": [raw_element("raw-innocent"), element]})
    };
    for (why, body) in [
        ("/elements/1/user/userIds", with(&|e| e["user"] = json!({}))),
        (
            "/elements/1/conversionValue/amount",
            with(&|e| e["conversionValue"]["amount"] = json!(1500.0)),
        ),
        (
            "/elements/1/conversionHappenedAt",
            with(&|e| e["conversionHappenedAt"] = json!("yesterday")),
        ),
    ] {
        let (status, answer) = post_raw(&fake, None, None, &body);
        assert_eq!(status, 422, "{why}: {answer}");
        assert!(
            answer["message"].as_str().unwrap().contains(why),
            "{answer}"
        );
    }
    assert!(fake.accepted().is_empty());

    // The rules: each bad element refused in its own status, the others taken.
    let old = now_ms() - 91 * DAY_MS;
    let bad = |change: &dyn Fn(&mut Value)| {
        let mut element = raw_element("raw-bad");
        change(&mut element);
        element
    };
    // LinkedIn matches on userInfo alone when userIds is there, empty.
    let mut matched_on_info = raw_element("raw-info");
    matched_on_info["user"] =
        json!({"userIds": [], "userInfo": {"firstName": "John", "lastName": "Smith"}});
    let body = json!({"elements": [
        raw_element("raw-1"),
        bad(&|e| e["conversionHappenedAt"] = json!(old)),
        bad(&|e| e["user"]["userIds"][0]["idValue"] = json!("john.smith@example.com")),
        bad(&|e| e["user"]["userIds"][0]["idValue"] = json!(JOHN.to_uppercase())),
        bad(&|e| e["user"]["userIds"] = json!([])),
        bad(&|e| e["user"]["userIds"][0]["idType"] = json!("EMAIL")),
        bad(&|e| e["conversion"] = json!("urn:li:conversion:104")),
        bad(&|e| e["conversionValue"]["amount"] = json!("1,500")),
        bad(&|e| e["conversionValue"]["currencyCode"] = json!("usd")),
        matched_on_info,
        raw_element("raw-1"),
    ]});
    let (status, answer) = post_raw(&fake, None, None, &body);
    assert_eq!(status, 200, "{answer}");
    let statuses: Vec<i64> = answer["elements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["status"].as_i64().unwrap())
        .collect();
    assert_eq!(
        statuses,
        vec![201, 400, 400, 400, 400, 400, 400, 400, 400, 201, 201]
    );
    let messages: Vec<&str> = answer["elements"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["error"]["message"].as_str())
        .collect();
    for (message, expected) in messages.iter().zip([
        "more than 90 days",
        "SHA256_EMAIL idValue must be the SHA-256",
        "SHA256_EMAIL idValue must be the SHA-256",
        "at least one user id",
        "\"EMAIL\" is not supported",
        "not a conversion rule URN",
        "not a decimal number",
        "not an ISO 4217 code",
    ]) {
        assert!(message.contains(expected), "{message} / {expected}");
    }
    // The repeated eventId is answered 201 and counted once.
    assert_eq!(ids(&fake.accepted()), vec!["raw-1", "raw-info"]);
}
