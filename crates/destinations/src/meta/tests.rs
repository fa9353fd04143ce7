//! Meta against a fake of the Graph events edge that refuses what Meta documents it refuses
//! (`test_support::MetaGraph`), and the fake itself against hand-built bad requests.

use std::time::{Duration, Instant, SystemTime};

use serde_json::{json, Value};
use tenure_core::Timestamp;
use tenure_playbooks::{Destination as Config, DestinationKind};

use super::*;
use crate::batch::now_ms;
use crate::conversion::{Click, ConversionEvent, EventKind, MatchKeys};
use crate::matching::{hashed_email, sha256_hex, Platform};
use crate::test_support::{graph_error, HttpReceiver, MetaGraph, Reply};
use crate::{build, Destination, DestinationError, Outcome, Outgoing};

const TOKEN: &str = "EAAGm0PX4ZCpsBAFakeToken0123456789";
const PIXEL: &str = "1234567890";
const HOUR_MS: i64 = 3_600_000;
/// FORMATS.md's (and Meta's) test vector: sha256("john_smith@gmail.com").
const JOHN: &str = "62a14e44f765419d10fea99367361a727c12365e2520f32218d505ed9aa0f62f";

fn config(url: &str) -> Config {
    Config {
        url: Some(url.into()),
        pixel_id: Some(PIXEL.into()),
        secret_env: Some("TENURE_META_TOKEN".into()),
        // Fast turns: the default rate would space a test's requests a second apart.
        rate_per_minute: Some(60_000),
        ..Config::named("meta_ads", DestinationKind::Meta)
    }
}

fn env(name: &str) -> Option<String> {
    (name == "TENURE_META_TOKEN").then(|| TOKEN.to_owned())
}

fn meta(url: &str) -> Meta {
    Meta::from_config(&config(url), &env).unwrap()
}

fn at(ms: i64) -> Timestamp {
    Timestamp::from_millis(ms)
}

/// A conversion `hours_ago`, matched on John Smith's e-mail as the runtime hashes it for Meta.
fn conversion(id: &str, hours_ago: i64) -> ConversionEvent {
    ConversionEvent {
        kind: EventKind::Conversion,
        event_id: id.into(),
        rule: "renewed".into(),
        account: "acct_1".into(),
        platform_name: "Renewed".into(),
        occurred_at: at(now_ms() - hours_ago * HOUR_MS),
        value: Some(1500.0),
        currency: "USD".into(),
        adjusted_at: None,
        previous_value: None,
        match_keys: MatchKeys {
            hashed_emails: vec![hashed_email(Platform::Meta, " John_Smith@gmail.com").unwrap()],
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

fn ids(events: &[Value]) -> Vec<String> {
    let mut ids: Vec<String> = events
        .iter()
        .map(|e| e["event_id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}

fn delivered() -> Outcome {
    Outcome::Delivered { code: Some(200) }
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
    let fake = MetaGraph::start(TOKEN);
    let destination = Meta::from_config(
        &Config {
            test_event_code: Some("TEST4711".into()),
            ..config(&fake.url())
        },
        &env,
    )
    .unwrap();
    let now = now_ms();
    let click = |kind: &str, id: &str, hours_ago: i64| Click {
        kind: kind.into(),
        id: id.into(),
        at: at(now - hours_ago * HOUR_MS),
    };
    let mut a = conversion("tn-a", 2);
    a.match_keys.clicks = vec![
        click("fbclid", "IwAR_old", 48),
        click("fbclid", "IwAR_new", 5),
        click("gclid", "Cj0KCQ_later", 3),
    ];
    let mut b = conversion("tn-b", 30);
    b.value = None;
    b.match_keys.external_id = Some(sha256_hex("acct_2"));
    let outcomes = send(&destination, &[a.clone(), b.clone()]);
    assert_eq!(outcomes, vec![delivered(), delivered()]);

    let requests = fake.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(
        requests[0].path,
        format!("/v25.0/{PIXEL}/events?access_token={TOKEN}")
    );
    assert_eq!(requests[0].json()["test_event_code"], "TEST4711");
    let accepted = fake.accepted();
    assert_eq!(accepted.len(), 2);
    assert_eq!(
        accepted[0],
        json!({
            "event_name": "Renewed",
            "event_time": a.occurred_at.millis().div_euclid(1000),
            "event_id": "tn-a",
            "action_source": "system_generated",
            "user_data": {
                "em": [JOHN],
                "fbc": format!("fb.1.{}.IwAR_new", now - 5 * HOUR_MS),
            },
            "custom_data": {"value": 1500.0, "currency": "USD", "order_id": "tn-a"},
        })
    );
    // No value: neither value nor currency, and the order id still.
    assert_eq!(
        accepted[1],
        json!({
            "event_name": "Renewed",
            "event_time": b.occurred_at.millis().div_euclid(1000),
            "event_id": "tn-b",
            "action_source": "system_generated",
            "user_data": {"em": [JOHN], "external_id": [sha256_hex("acct_2")]},
            "custom_data": {"order_id": "tn-b"},
        })
    );

    // A retry of a delivered event is taken and counted once (Meta deduplicates on
    // event_name and event_id).
    assert_eq!(send(&destination, &[a]), vec![delivered()]);
    assert_eq!(fake.requests().len(), 2);
    assert_eq!(fake.accepted().len(), 2);
}

#[test]
fn each_event_meta_would_refuse_fails_alone_and_is_never_sent() {
    let fake = MetaGraph::start(TOKEN);
    let destination = meta(&fake.url());
    let good = conversion("tn-good", 1);
    let six_days = conversion("tn-6d", 6 * 24);
    let mut restatement = conversion("tn-restated", 1);
    restatement.kind = EventKind::Restatement;
    let mut unhashed = conversion("tn-unhashed", 1);
    unhashed.match_keys.hashed_emails = vec!["john_smith@gmail.com".into()];
    let mut unmatched = conversion("tn-unmatched", 1);
    unmatched.match_keys = MatchKeys {
        // A Google click says nothing to Meta, and an fbclid that is not one is left out.
        clicks: vec![
            Click {
                kind: "gclid".into(),
                id: "Cj0KCQ".into(),
                at: at(now_ms() - HOUR_MS),
            },
            Click {
                kind: "fbclid".into(),
                id: "not one".into(),
                at: at(now_ms() - HOUR_MS),
            },
        ],
        ..MatchKeys::default()
    };
    let expired = conversion("tn-8d", 8 * 24);
    let mut no_currency = conversion("tn-currency", 1);
    no_currency.currency = "dollars".into();
    let events = [
        good,
        restatement,
        unhashed,
        unmatched,
        expired,
        no_currency,
        six_days,
    ];
    let mut payloads = payloads(&events);
    payloads.push(json!({"title": "a task, not a conversion"}));
    let outcomes = destination.send_batch(&outgoing(&payloads));

    assert_eq!(outcomes[0], delivered());
    assert!(reason(&outcomes[1]).contains("Meta takes no adjustments"));
    assert!(reason(&outcomes[2]).contains("never sent unhashed"));
    assert!(!reason(&outcomes[2]).contains("john"), "{:?}", outcomes[2]);
    assert!(reason(&outcomes[3]).contains("nothing to match"));
    assert!(
        matches!(&outcomes[4], Outcome::Expired { reason } if reason.contains("more than 7 days")),
        "{:?}",
        outcomes[4]
    );
    assert!(reason(&outcomes[5]).contains("not a currency code"));
    assert_eq!(outcomes[6], delivered());
    assert!(reason(&outcomes[7]).contains("not a conversion event"));
    for (i, outcome) in outcomes.iter().enumerate() {
        if ![0, 4, 6].contains(&i) {
            assert!(
                matches!(outcome, Outcome::Permanent { code: None, .. }),
                "{i}: {outcome:?}"
            );
        }
    }
    // One request, holding the two good events only.
    assert_eq!(fake.requests().len(), 1);
    assert_eq!(ids(&fake.accepted()), vec!["tn-6d", "tn-good"]);
}

#[test]
fn an_event_meta_refuses_is_split_out_and_every_other_lands() {
    let fake = MetaGraph::start(TOKEN);
    fake.refuse_event("tn-5", "This event is blocked for this pixel");
    let destination = meta(&fake.url());
    let events: Vec<ConversionEvent> = (0..8).map(|i| conversion(&format!("tn-{i}"), 1)).collect();
    let outcomes = send(&destination, &events);

    for (i, outcome) in outcomes.iter().enumerate() {
        if i == 5 {
            assert!(
                matches!(outcome, Outcome::Permanent { code: Some(400), reason }
                    if reason.contains("data[0]: This event is blocked for this pixel")),
                "{outcome:?}"
            );
        } else {
            assert_eq!(outcome, &delivered(), "event {i}");
        }
    }
    // The whole batch, refused; its halves; the refused half's halves; the pair's singles.
    let sizes: Vec<usize> = fake
        .requests()
        .iter()
        .map(|r| r.json()["data"].as_array().unwrap().len())
        .collect();
    assert_eq!(sizes, vec![8, 4, 4, 2, 1, 1, 2]);
    let accepted = fake.accepted();
    assert_eq!(
        ids(&accepted),
        vec!["tn-0", "tn-1", "tn-2", "tn-3", "tn-4", "tn-6", "tn-7"]
    );
}

#[test]
fn throttling_and_outages_fail_every_event_alike_and_are_not_split() {
    let fake = MetaGraph::start(TOKEN);
    let destination = meta(&fake.url());
    let events: Vec<ConversionEvent> = (0..3).map(|i| conversion(&format!("tn-{i}"), 1)).collect();
    let cases = [
        (
            Reply::new(429, "").with_header("Retry-After", "30"),
            Outcome::Throttled {
                code: Some(429),
                after: Some(Duration::from_secs(30)),
            },
        ),
        (
            graph_error(
                400,
                80004,
                "There have been too many calls to this ad-account.",
                "",
            ),
            Outcome::Throttled {
                code: Some(400),
                after: None,
            },
        ),
        (
            graph_error(403, 4, "Application request limit reached", ""),
            Outcome::Throttled {
                code: Some(403),
                after: None,
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
            graph_error(500, 2, "Service temporarily unavailable", ""),
            Outcome::RetryLater {
                code: Some(500),
                reason: "Meta: Service temporarily unavailable (code 2)".into(),
                after: None,
            },
        ),
    ];
    for (n, (reply, expected)) in cases.into_iter().enumerate() {
        fake.answer_next(reply);
        assert_eq!(send(&destination, &events), vec![expected.clone(); 3]);
        assert_eq!(fake.requests().len(), n + 1, "{expected:?}: one request");
    }
    assert!(fake.accepted().is_empty());
    // The outage over, the same batch lands.
    assert_eq!(send(&destination, &events), vec![delivered(); 3]);
    assert_eq!(fake.accepted().len(), 3);
}

#[test]
fn a_refused_token_fails_every_event_and_is_never_shown() {
    let fake = MetaGraph::start("EAAGtheRightToken");
    let destination = meta(&fake.url());
    let events: Vec<ConversionEvent> = (0..4).map(|i| conversion(&format!("tn-{i}"), 1)).collect();
    let outcomes = send(&destination, &events);
    assert_eq!(fake.requests().len(), 1, "a bad token is not split");
    for outcome in &outcomes {
        assert!(
            matches!(outcome, Outcome::Permanent { code: Some(401), reason }
                if reason.contains("Invalid OAuth access token") && reason.contains("refused the access token")),
            "{outcome:?}"
        );
    }
    // An answer that echoes the token has it cut out of the reason.
    fake.answer_next(graph_error(
        400,
        190,
        &format!("Error validating access token {TOKEN}: the session has expired"),
        "",
    ));
    let echoed = send(&destination, &events[..1]);
    assert!(reason(&echoed[0]).contains("access token <redacted>: the session"));

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
fn no_answer_within_one_and_a_half_seconds_is_retried_later() {
    let slow = HttpReceiver::start(|_| {
        std::thread::sleep(Duration::from_millis(2500));
        Reply::new(200, r#"{"events_received":1}"#)
    });
    let destination = meta(slow.url.trim_end_matches("/hook"));
    let started = Instant::now();
    let outcomes = send(&destination, &[conversion("tn-slow", 1)]);
    assert_eq!(
        outcomes,
        vec![Outcome::RetryLater {
            code: None,
            reason: "no answer within 1.5 s".into(),
            after: None,
        }]
    );
    assert!(started.elapsed() < Duration::from_millis(2300));
}

#[test]
fn the_preview_is_the_request_sent_but_for_the_token() {
    let fake = MetaGraph::start(TOKEN);
    let destination = meta(&fake.url());
    let mut unhashed = conversion("tn-unhashed", 1);
    unhashed.match_keys.hashed_emails = vec!["John_Smith@gmail.com".into()];
    let payloads = payloads(&[conversion("tn-a", 1), unhashed, conversion("tn-c", 3)]);
    let batch = outgoing(&payloads);
    let previews = destination.preview(&batch);
    assert!(fake.requests().is_empty(), "a preview sends nothing");
    assert_eq!(previews.len(), 1);
    let preview = &previews[0];
    assert_eq!(preview.deliveries, vec![1, 3]);
    assert!(preview.url.ends_with("?access_token=<redacted>"));

    destination.send_batch(&batch);
    let sent = &fake.requests()[0];
    assert_eq!(preview.method, sent.method);
    assert_eq!(
        preview.url,
        format!("{}{}", fake.url(), sent.path).replace(TOKEN, "<redacted>")
    );
    for (name, value) in &preview.headers {
        assert_eq!(sent.header(name), Some(value.as_str()), "{name}");
    }
    assert_eq!(preview.body, sent.json());
}

#[test]
fn settings_are_checked_when_the_destination_is_built() {
    let fake = MetaGraph::start(TOKEN);
    let invalid = |config: Config| match Meta::from_config(&config, &env) {
        Err(DestinationError::Invalid { field, message, .. }) => (field, message),
        other => panic!("{other:?}"),
    };
    let built = build(&config(&fake.url()), &env).unwrap();
    assert_eq!(built.name(), "meta_ads");
    assert_eq!(built.batch_limit(), 1000);

    for version in ["25.0", "v25", "v25.x", "latest"] {
        let (field, message) = invalid(Config {
            api_version: Some(version.into()),
            ..config(&fake.url())
        });
        assert_eq!(field, "api_version");
        assert!(message.contains("e.g. \"v25.0\""), "{message}");
    }
    let (field, _) = invalid(Config {
        pixel_id: Some("px-1".into()),
        ..config(&fake.url())
    });
    assert_eq!(field, "pixel_id");
    let spaced = |name: &str| (name == "TENURE_META_TOKEN").then(|| "EAAG half token".to_owned());
    match Meta::from_config(&config(&fake.url()), &spaced) {
        Err(DestinationError::Invalid { field, message, .. }) => {
            assert_eq!(field, "secret_env");
            assert!(!message.contains("half token"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        Meta::from_config(&config(&fake.url()), &|_| None),
        Err(DestinationError::MissingSecret { .. })
    ));

    // A pinned version and a token from a file (a mounted secret).
    let path = std::env::temp_dir().join(format!("tenure-meta-token-{}", std::process::id()));
    std::fs::write(&path, format!("{TOKEN}\n")).unwrap();
    let pinned = Meta::from_config(
        &Config {
            api_version: Some("v24.0".into()),
            secret_env: None,
            secret_file: Some(path.to_string_lossy().into_owned()),
            ..config(&fake.url())
        },
        &|_| None,
    )
    .unwrap();
    std::fs::remove_file(&path).unwrap();
    assert_eq!(send(&pinned, &[conversion("tn-v24", 1)]), vec![delivered()]);
    assert!(fake.requests()[0]
        .path
        .starts_with("/v24.0/1234567890/events?"));
}

/// One row of Meta's answers: status, Retry-After, body → what came of a request of 2 events.
fn check(status: u16, retry_after: Option<&str>, body: &str, expected: Answer) {
    assert_eq!(
        answer::answer(status, retry_after, body, 2, SystemTime::UNIX_EPOCH),
        expected,
        "{status} {body}"
    );
}

#[test]
fn meta_answers_table() {
    let error = |code: i64, subcode: Option<i64>, message: &str| {
        let mut error =
            json!({"error": {"message": message, "type": "OAuthException", "code": code}});
        if let Some(sub) = subcode {
            error["error"]["error_subcode"] = json!(sub);
        }
        error.to_string()
    };
    let all = Answer::All;
    check(
        200,
        None,
        r#"{"events_received":2}"#,
        Answer::PerItem(vec![delivered(); 2]),
    );
    check(
        400,
        None,
        &error(100, Some(2804003), "Invalid parameter"),
        Answer::Rejected {
            code: Some(400),
            reason: "Meta: Invalid parameter (code 100, subcode 2804003)".into(),
        },
    );
    check(
        400,
        None,
        r#"{"error":{"message":"Invalid parameter","code":100,"error_user_title":"Event Timestamp Too Old","error_user_msg":"The timestamp for this event is too far in the past."}}"#,
        Answer::Rejected {
            code: Some(400),
            reason: "Meta: Invalid parameter: Event Timestamp Too Old: The timestamp for this event is too far in the past. (code 100)".into(),
        },
    );
    for code in [4, 17, 32, 341, 613, 80000, 80004, 80014] {
        check(
            400,
            None,
            &error(code, None, "too many calls"),
            all(Outcome::Throttled {
                code: Some(400),
                after: None,
            }),
        );
    }
    check(
        429,
        Some("60"),
        "",
        all(Outcome::Throttled {
            code: Some(429),
            after: Some(Duration::from_secs(60)),
        }),
    );
    for (status, code) in [
        (401, 190),
        (400, 190),
        (400, 102),
        (403, 10),
        (403, 200),
        (400, 294),
    ] {
        let answer = answer::answer(
            status,
            None,
            &error(code, None, "no"),
            2,
            SystemTime::UNIX_EPOCH,
        );
        assert!(
            matches!(&answer, Answer::All(Outcome::Permanent { reason, .. }) if reason.contains("refused the access token")),
            "{status}/{code}: {answer:?}"
        );
    }
    // A 401 without Graph's words (a proxy's) is still about the token, and is not split.
    assert!(matches!(
        answer::answer(401, None, "Unauthorized", 2, SystemTime::UNIX_EPOCH),
        Answer::All(Outcome::Permanent { code: Some(401), reason }) if reason.contains("refused the access token")
    ));
    let answer = answer::answer(
        400,
        None,
        &error(100, Some(33), "Unsupported post request."),
        2,
        SystemTime::UNIX_EPOCH,
    );
    assert!(
        matches!(&answer, Answer::All(Outcome::Permanent { reason, .. }) if reason.contains("pixel_id")),
        "{answer:?}"
    );
    for (status, body) in [
        (500, error(2, None, "Service temporarily unavailable")),
        (400, error(1, None, "An unknown error occurred")),
        (
            400,
            r#"{"error":{"message":"Try again","code":100,"is_transient":true}}"#.into(),
        ),
    ] {
        assert!(
            matches!(
                answer::answer(status, None, &body, 2, SystemTime::UNIX_EPOCH),
                Answer::All(Outcome::RetryLater { .. })
            ),
            "{status} {body}"
        );
    }
    check(
        502,
        None,
        "<html>bad gateway</html>",
        all(Outcome::RetryLater {
            code: Some(502),
            reason: "<html>bad gateway</html>".into(),
            after: None,
        }),
    );
    // A 400 without Graph's words is still a refusal of something in the request.
    check(
        400,
        None,
        "bad request",
        Answer::Rejected {
            code: Some(400),
            reason: "bad request".into(),
        },
    );
    check(
        404,
        None,
        "not found",
        all(Outcome::Permanent {
            code: Some(404),
            reason: "not found".into(),
        }),
    );
}

/// A server event as Meta documents one, happening now.
fn raw_event(id: &str) -> Value {
    json!({
        "event_name": "Renewed",
        "event_time": now_ms() / 1000,
        "event_id": id,
        "action_source": "system_generated",
        "user_data": {"em": [JOHN]},
        "custom_data": {"value": 10.0, "currency": "USD"},
    })
}

/// Posts `body` to the fake's events edge, with `token` if given: the status and the answer.
fn post_raw(fake: &MetaGraph, token: Option<&str>, body: &Value) -> (u16, Value) {
    let mut url = format!("{}/v25.0/{PIXEL}/events", fake.url());
    if let Some(token) = token {
        url.push_str(&format!("?access_token={token}"));
    }
    let response = reqwest::blocking::Client::new()
        .post(url)
        .json(body)
        .send()
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().unwrap())
}

#[test]
fn the_fake_refuses_what_meta_refuses() {
    let fake = MetaGraph::start(TOKEN);
    let good = raw_event("raw-good");
    let with = |change: &dyn Fn(&mut Value)| {
        let mut event = raw_event("raw-bad");
        change(&mut event);
        json!({"data": [raw_event("raw-innocent"), event]})
    };
    let old = now_ms() / 1000 - 8 * 86_400;

    for token in [None, Some("EAAGwrong")] {
        let (status, answer) = post_raw(&fake, token, &json!({"data": [good.clone()]}));
        assert_eq!((status, answer["error"]["code"].as_i64()), (401, Some(190)));
    }
    let refusals: Vec<(&str, Value)> = vec![
        (
            "event_name",
            with(&|e| drop(e.as_object_mut().unwrap().remove("event_name"))),
        ),
        (
            "event_time",
            with(&|e| drop(e.as_object_mut().unwrap().remove("event_time"))),
        ),
        (
            "action_source is required",
            with(&|e| drop(e.as_object_mut().unwrap().remove("action_source"))),
        ),
        (
            "\"web\" is not allowed",
            with(&|e| e["action_source"] = json!("web")),
        ),
        (
            "client_user_agent",
            with(&|e| e["action_source"] = json!("website")),
        ),
        (
            "event_source_url",
            with(&|e| {
                e["action_source"] = json!("website");
                e["user_data"]["client_user_agent"] = json!("Mozilla/5.0");
            }),
        ),
        (
            "too far in the past",
            with(&|e| e["event_time"] = json!(old)),
        ),
        (
            "em must be hashed",
            with(&|e| e["user_data"]["em"] = json!(["john_smith@gmail.com"])),
        ),
        (
            "em must be hashed",
            with(&|e| e["user_data"]["em"] = json!(JOHN.to_uppercase())),
        ),
        (
            "fbc",
            with(&|e| e["user_data"]["fbc"] = json!("fb.1.IwAR2F4")),
        ),
        (
            "user_data",
            with(&|e| drop(e.as_object_mut().unwrap().remove("user_data"))),
        ),
        (
            "currency",
            with(&|e| e["custom_data"]["currency"] = json!("US")),
        ),
        (
            "1 to 1000 events",
            json!({"data": vec![good.clone(); 1001]}),
        ),
        ("1 to 1000 events", json!({"data": []})),
        ("data is required", json!({"events": [good.clone()]})),
    ];
    for (why, body) in &refusals {
        let (status, answer) = post_raw(&fake, Some(TOKEN), body);
        let message = answer["error"]["error_user_msg"]
            .as_str()
            .unwrap_or_default();
        assert_eq!(status, 400, "{why}: {answer}");
        assert_eq!(answer["error"]["code"], 100, "{why}");
        assert!(message.contains(why), "{why}: {message}");
    }
    assert!(
        fake.accepted().is_empty(),
        "one bad event refuses the whole request"
    );

    // What Meta takes: a non-web event with no browser data, a physical-store event of 8
    // days (62 are allowed there), a well-formed fbc; a repeat is taken but counted once.
    let mut store = raw_event("raw-store");
    store["action_source"] = json!("physical_store");
    store["event_time"] = json!(old);
    let mut clicked = raw_event("raw-clicked");
    clicked["user_data"]["fbc"] = json!("fb.1.1554763741205.AbCdEfGhIjKlMnOpQrStUvWxYz1234567890");
    for body in [
        json!({"data": [good.clone(), store, clicked]}),
        json!({"data": [good.clone()], "test_event_code": "TEST4711"}),
    ] {
        let (status, answer) = post_raw(&fake, Some(TOKEN), &body);
        assert_eq!(status, 200, "{answer}");
        assert_eq!(
            answer["events_received"],
            body["data"].as_array().unwrap().len()
        );
    }
    assert_eq!(
        ids(&fake.accepted()),
        vec!["raw-clicked", "raw-good", "raw-store"]
    );
    assert_eq!(fake.requests().len(), 2 + refusals.len() + 2);
}
