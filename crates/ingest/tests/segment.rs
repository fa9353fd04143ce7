//! The Segment tracking API parser, through its public API: `check` runs a body through
//! `Envelope::parse` and `Envelope::into_messages` the way the server does.

use serde_json::{json, Value};
use tenure_core::{MessageType, SegmentMessage, Timestamp};
use tenure_ingest::segment::{parse_message, Endpoint, Envelope, Limit, Limits, SegmentError};

const RECEIVED: &str = "2025-03-01T12:00:10.000Z";

fn ts(raw: &str) -> Timestamp {
    Timestamp::parse(raw).unwrap()
}

/// Parses and validates `body` sent to `endpoint` with the default limits, received at RECEIVED.
fn check(endpoint: Endpoint, body: &str) -> Result<Vec<SegmentMessage>, SegmentError> {
    Envelope::parse(endpoint, body.as_bytes(), &Limits::default())?.into_messages(ts(RECEIVED))
}

fn one(endpoint: Endpoint, body: &str) -> SegmentMessage {
    let mut messages = check(endpoint, body).unwrap_or_else(|e| panic!("{body}: {e}"));
    assert_eq!(messages.len(), 1, "{body}");
    messages.remove(0)
}

fn err(endpoint: Endpoint, body: &str) -> SegmentError {
    match check(endpoint, body) {
        Ok(m) => panic!("{body} accepted: {m:?}"),
        Err(e) => e,
    }
}

/// The fields a test looks at, as JSON so one table row can state them compactly.
fn summary(m: &SegmentMessage) -> Value {
    json!({
        "type": m.kind.as_str(),
        "messageId": m.message_id,
        "userId": m.user_id.as_ref().map(|u| u.as_str().to_owned()),
        "anonymousId": m.anonymous_id.as_ref().map(|u| u.as_str().to_owned()),
        "event": m.event,
        "name": m.name,
        "groupId": m.group_id.as_ref().map(|u| u.as_str().to_owned()),
        "previousId": m.previous_id,
        "timestamp": m.timestamp.to_string(),
    })
}

#[test]
fn every_endpoint_parses_its_message() {
    let cases: &[(Endpoint, &str, Value)] = &[
        (
            Endpoint::Track,
            r#"{"messageId":"m1","userId":"u1","event":"Trial Started","timestamp":"2025-03-01T11:00:00Z","properties":{"plan":"pro"}}"#,
            json!({"type":"track","messageId":"m1","userId":"u1","anonymousId":null,"event":"Trial Started","name":null,"groupId":null,"previousId":null,"timestamp":"2025-03-01T11:00:00.000Z"}),
        ),
        (
            Endpoint::Identify,
            r#"{"messageId":"m2","userId":"u1","anonymousId":"a1","traits":{"email":"x@y.io"}}"#,
            json!({"type":"identify","messageId":"m2","userId":"u1","anonymousId":"a1","event":null,"name":null,"groupId":null,"previousId":null,"timestamp":RECEIVED}),
        ),
        (
            Endpoint::Group,
            r#"{"type":"group","messageId":"m3","userId":"u1","groupId":"acct_9","traits":{"name":"Acme"}}"#,
            json!({"type":"group","messageId":"m3","userId":"u1","anonymousId":null,"event":null,"name":null,"groupId":"acct_9","previousId":null,"timestamp":RECEIVED}),
        ),
        (
            Endpoint::Page,
            r#"{"messageId":"m4","anonymousId":"a1","name":"Pricing","context":{"page":{"url":"https://a.io/pricing"}}}"#,
            json!({"type":"page","messageId":"m4","userId":null,"anonymousId":"a1","event":null,"name":"Pricing","groupId":null,"previousId":null,"timestamp":RECEIVED}),
        ),
        (
            Endpoint::Screen,
            r#"{"messageId":"m5","anonymousId":"a1","name":"Home"}"#,
            json!({"type":"screen","messageId":"m5","userId":null,"anonymousId":"a1","event":null,"name":"Home","groupId":null,"previousId":null,"timestamp":RECEIVED}),
        ),
        (
            Endpoint::Alias,
            r#"{"messageId":"m6","userId":"u1","previousId":"a1"}"#,
            json!({"type":"alias","messageId":"m6","userId":"u1","anonymousId":null,"event":null,"name":null,"groupId":null,"previousId":"a1","timestamp":RECEIVED}),
        ),
    ];
    for (endpoint, body, expected) in cases {
        assert_eq!(&summary(&one(*endpoint, body)), expected, "{endpoint}");
    }
    let m = one(cases[0].0, cases[0].1);
    assert_eq!(m.property_str("plan"), Some("pro"));
    assert_eq!(m.received_at, ts(RECEIVED));
    assert_eq!(
        one(Endpoint::Identify, cases[1].1)
            .email()
            .unwrap()
            .as_str(),
        "x@y.io"
    );
    assert_eq!(
        one(Endpoint::Page, cases[3].1).context_str("page.url"),
        Some("https://a.io/pricing")
    );
}

#[test]
fn batch_carries_every_type() {
    let body = r#"{"batch":[
        {"type":"track","messageId":"b1","userId":"u1","event":"Lead Created"},
        {"type":"identify","messageId":"b2","anonymousId":"a1","userId":"u1"},
        {"type":"group","messageId":"b3","userId":"u1","groupId":"g1"},
        {"type":"page","messageId":"b4","anonymousId":"a1"},
        {"type":"screen","messageId":"b5","anonymousId":"a1"},
        {"type":"alias","messageId":"b6","userId":"u1","previousId":"a1"}
    ]}"#;
    let kinds: Vec<(MessageType, String)> = check(Endpoint::Batch, body)
        .unwrap()
        .into_iter()
        .map(|m| (m.kind, m.message_id))
        .collect();
    assert_eq!(
        kinds,
        [
            (MessageType::Track, "b1".to_owned()),
            (MessageType::Identify, "b2".to_owned()),
            (MessageType::Group, "b3".to_owned()),
            (MessageType::Page, "b4".to_owned()),
            (MessageType::Screen, "b5".to_owned()),
            (MessageType::Alias, "b6".to_owned()),
        ]
    );
    assert_eq!(check(Endpoint::Batch, r#"{"batch":[]}"#).unwrap(), []);
}

#[test]
fn endpoints_by_path_segment() {
    for endpoint in Endpoint::ALL {
        assert_eq!(
            Endpoint::from_path_segment(endpoint.as_str()),
            Some(endpoint)
        );
    }
    assert_eq!(Endpoint::from_path_segment("import"), Some(Endpoint::Batch));
    // analytics.js posts to the first letter of the type.
    for (short, endpoint) in [
        ("t", Endpoint::Track),
        ("i", Endpoint::Identify),
        ("g", Endpoint::Group),
        ("p", Endpoint::Page),
        ("s", Endpoint::Screen),
        ("a", Endpoint::Alias),
        ("b", Endpoint::Batch),
    ] {
        assert_eq!(Endpoint::from_path_segment(short), Some(endpoint));
    }
    assert_eq!(Endpoint::from_path_segment("x"), None);
    assert_eq!(Endpoint::from_path_segment("Track"), None);
    assert_eq!(Endpoint::from_path_segment("v1"), None);
}

#[test]
fn write_key_is_read_from_the_body() {
    let cases: &[(Endpoint, &str, Option<&str>)] = &[
        (
            Endpoint::Batch,
            r#"{"writeKey":"WK","batch":[]}"#,
            Some("WK"),
        ),
        (
            Endpoint::Batch,
            r#"{"batch":[{"type":"track","writeKey":"ITEM","userId":"u","event":"e"}]}"#,
            None,
        ),
        (
            Endpoint::Track,
            r#"{"writeKey":"WK2","userId":"u","event":"e"}"#,
            Some("WK2"),
        ),
        (
            Endpoint::Track,
            r#"{"writeKey":"","userId":"u","event":"e"}"#,
            None,
        ),
        (Endpoint::Identify, r#"{"userId":"u"}"#, None),
    ];
    for (endpoint, body, expected) in cases {
        let envelope = Envelope::parse(*endpoint, body.as_bytes(), &Limits::default()).unwrap();
        assert_eq!(envelope.write_key.as_deref(), *expected, "{body}");
    }
    // The key is read before the messages are validated, so an unauthenticated request can be
    // refused before its messages cost anything.
    let invalid_but_keyed = r#"{"writeKey":"WK","batch":[{"type":"track"}]}"#;
    let envelope = Envelope::parse(
        Endpoint::Batch,
        invalid_but_keyed.as_bytes(),
        &Limits::default(),
    )
    .unwrap();
    assert_eq!(envelope.write_key.as_deref(), Some("WK"));
    assert_eq!(envelope.message_count(), 1);
    assert!(envelope.into_messages(ts(RECEIVED)).is_err());
}

#[test]
fn batch_context_merges_into_items_with_item_keys_winning() {
    let body = r#"{"context":{"ip":"1.1.1.1","library":{"name":"analytics-python"}},
        "integrations":{"All":true},
        "batch":[
          {"type":"track","userId":"u","event":"e","context":{"ip":"2.2.2.2","groupId":"acct_1"}},
          {"type":"track","userId":"u","event":"e"}
        ]}"#;
    let messages = check(Endpoint::Batch, body).unwrap();
    assert_eq!(
        Value::Object(messages[0].context.clone()),
        json!({"ip":"2.2.2.2","groupId":"acct_1","library":{"name":"analytics-python"}})
    );
    assert_eq!(
        Value::Object(messages[1].context.clone()),
        json!({"ip":"1.1.1.1","library":{"name":"analytics-python"}})
    );
    assert_eq!(messages[0].account().unwrap().as_str(), "acct_1");
}

#[test]
fn clock_skew_is_corrected_from_sent_at() {
    // Received 12:00:10.000, sent 12:00:05.000 by the client's clock: the client is 5 s behind,
    // so 11:59:58.120 on its clock is 12:00:03.120 on ours.
    // (name, body, stored timestamp, stored sentAt, stored originalTimestamp)
    type Case = (
        &'static str,
        &'static str,
        &'static str,
        Option<&'static str>,
        Option<&'static str>,
    );
    let cases: &[Case] = &[
        (
            "envelope sentAt",
            r#"{"sentAt":"2025-03-01T12:00:05.000Z","batch":[{"type":"track","userId":"u","event":"e","timestamp":"2025-03-01T11:59:58.120Z"}]}"#,
            "2025-03-01T12:00:03.120Z",
            Some("2025-03-01T12:00:05.000Z"),
            Some("2025-03-01T11:59:58.120Z"),
        ),
        (
            "item sentAt wins over the envelope's (client 2 s ahead)",
            r#"{"sentAt":"2025-03-01T12:00:05.000Z","batch":[{"type":"track","userId":"u","event":"e","timestamp":"2025-03-01T11:59:58.120Z","sentAt":"2025-03-01T12:00:12.000Z"}]}"#,
            "2025-03-01T11:59:56.120Z",
            Some("2025-03-01T12:00:12.000Z"),
            Some("2025-03-01T11:59:58.120Z"),
        ),
        (
            "originalTimestamp when timestamp is absent, corrected too",
            r#"{"sentAt":"2025-03-01T12:00:05.000Z","batch":[{"type":"track","userId":"u","event":"e","originalTimestamp":"2025-03-01T11:00:00.000Z"}]}"#,
            "2025-03-01T11:00:05.000Z",
            Some("2025-03-01T12:00:05.000Z"),
            Some("2025-03-01T11:00:00.000Z"),
        ),
        (
            "timestamp wins over originalTimestamp",
            r#"{"batch":[{"type":"track","userId":"u","event":"e","timestamp":"2025-03-01T10:00:00Z","originalTimestamp":"2025-03-01T11:00:00Z"}]}"#,
            "2025-03-01T10:00:00.000Z",
            None,
            Some("2025-03-01T10:00:00.000Z"),
        ),
        (
            "no sentAt: timestamp as given",
            r#"{"batch":[{"type":"track","userId":"u","event":"e","timestamp":"2025-03-01T13:00:00+01:00"}]}"#,
            "2025-03-01T12:00:00.000Z",
            None,
            Some("2025-03-01T12:00:00.000Z"),
        ),
        (
            "no time at all: receipt time, needing no correction",
            r#"{"sentAt":"2025-03-01T12:00:05.000Z","batch":[{"type":"track","userId":"u","event":"e"}]}"#,
            RECEIVED,
            Some("2025-03-01T12:00:05.000Z"),
            None,
        ),
        (
            "issue 12: a clock at year 0 would push the event past year 9999: clamped to receipt",
            r#"{"batch":[{"type":"track","userId":"u","event":"e","timestamp":"9999-12-31T23:59:59Z","sentAt":"0000-01-01T00:00:00Z"}]}"#,
            RECEIVED,
            Some("0000-01-01T00:00:00.000Z"),
            Some("9999-12-31T23:59:59.000Z"),
        ),
        (
            "a clock far ahead would push the event before 1970: clamped to the epoch",
            r#"{"batch":[{"type":"track","userId":"u","event":"e","timestamp":"2025-03-01T12:00:00Z","sentAt":"9999-01-01T00:00:00Z"}]}"#,
            "1970-01-01T00:00:00.000Z",
            Some("9999-01-01T00:00:00.000Z"),
            Some("2025-03-01T12:00:00.000Z"),
        ),
        (
            "no sentAt, a time after receipt: clamped to receipt",
            r#"{"batch":[{"type":"track","userId":"u","event":"e","timestamp":"2025-03-02T00:00:00Z"}]}"#,
            RECEIVED,
            None,
            Some("2025-03-02T00:00:00.000Z"),
        ),
    ];
    for (name, body, stored, sent_at, original) in cases {
        let m = one(Endpoint::Batch, body);
        assert_eq!(m.timestamp.to_string(), *stored, "{name}");
        assert_eq!(
            m.sent_at.map(|t| t.to_string()).as_deref(),
            *sent_at,
            "{name}"
        );
        assert_eq!(
            m.original_timestamp.map(|t| t.to_string()).as_deref(),
            *original,
            "{name}"
        );
    }
    // A single call's own sentAt corrects the same way.
    let m = one(
        Endpoint::Track,
        r#"{"userId":"u","event":"e","timestamp":"2025-03-01T11:59:58.120Z","sentAt":"2025-03-01T12:00:05.000Z"}"#,
    );
    assert_eq!(m.timestamp.to_string(), "2025-03-01T12:00:03.120Z");
}

#[test]
fn ids_may_be_numbers_and_blank_ids_are_absent() {
    let m = one(
        Endpoint::Group,
        r#"{"userId":42,"anonymousId":"  ","groupId":7,"messageId":99}"#,
    );
    assert_eq!(m.user_id.unwrap().as_str(), "42");
    assert_eq!(m.anonymous_id, None);
    assert_eq!(m.group_id.unwrap().as_str(), "7");
    assert_eq!(m.message_id, "99");
    let m = one(Endpoint::Page, r#"{"userId":null,"anonymousId":" a1 "}"#);
    assert_eq!(
        (m.user_id, m.anonymous_id.unwrap().as_str().to_owned()),
        (None, "a1".to_owned())
    );
}

/// (name, endpoint, body, code, field, batch index, text the message must contain)
type ErrorCase = (
    &'static str,
    Endpoint,
    &'static str,
    &'static str,
    Option<&'static str>,
    Option<usize>,
    &'static str,
);

#[test]
fn invalid_requests_are_refused_naming_the_problem() {
    let cases: &[ErrorCase] = &[
        (
            "invalid json",
            Endpoint::Track,
            r#"{"userId":"u",,}"#,
            "invalid_json",
            None,
            None,
            "invalid json: ",
        ),
        (
            "truncated json",
            Endpoint::Track,
            r#"{"userId":"u","event":"e""#,
            "invalid_json",
            None,
            None,
            "EOF while parsing",
        ),
        (
            "truncated batch",
            Endpoint::Batch,
            r#"{"batch":[{"type":"track","userId":"u""#,
            "invalid_json",
            None,
            None,
            "EOF while parsing",
        ),
        (
            "trailing garbage",
            Endpoint::Track,
            r#"{"userId":"u","event":"e"} x"#,
            "invalid_json",
            None,
            None,
            "trailing characters",
        ),
        (
            "not json at all",
            Endpoint::Track,
            "hello",
            "invalid_json",
            None,
            None,
            "invalid json",
        ),
        (
            "empty body",
            Endpoint::Track,
            "",
            "invalid_json",
            None,
            None,
            "EOF while parsing",
        ),
        (
            "body is an array",
            Endpoint::Track,
            r#"[{"userId":"u"}]"#,
            "invalid_message",
            Some("message"),
            None,
            "message must be a json object",
        ),
        (
            "batch body is an array",
            Endpoint::Batch,
            "[]",
            "invalid_message",
            Some("batch"),
            None,
            "body must be a json object with a batch array",
        ),
        (
            "batch missing",
            Endpoint::Batch,
            r#"{"sentAt":"2025-03-01T12:00:05Z"}"#,
            "invalid_message",
            Some("batch"),
            None,
            "batch is required",
        ),
        (
            "batch not an array",
            Endpoint::Batch,
            r#"{"batch":{"type":"track"}}"#,
            "invalid_message",
            Some("batch"),
            None,
            "batch must be an array, not an object",
        ),
        (
            "item not an object",
            Endpoint::Batch,
            r#"{"batch":[{"type":"page","anonymousId":"a"},5]}"#,
            "invalid_message",
            Some("message"),
            Some(1),
            "batch[1]: message must be a json object",
        ),
        (
            "no ids",
            Endpoint::Track,
            r#"{"event":"e"}"#,
            "invalid_message",
            Some("userId"),
            None,
            "userId or anonymousId is required",
        ),
        (
            "empty ids",
            Endpoint::Track,
            r#"{"event":"e","userId":"","anonymousId":" "}"#,
            "invalid_message",
            Some("userId"),
            None,
            "userId or anonymousId is required",
        ),
        (
            "no ids in a batch item",
            Endpoint::Batch,
            r#"{"batch":[{"type":"page","anonymousId":"a"},{"type":"page","anonymousId":"b"},{"type":"page"}]}"#,
            "invalid_message",
            Some("userId"),
            Some(2),
            "batch[2]: userId or anonymousId is required",
        ),
        (
            "object userId",
            Endpoint::Track,
            r#"{"event":"e","userId":{"id":1}}"#,
            "invalid_message",
            Some("userId"),
            None,
            "userId must be a string or a number, not an object",
        ),
        (
            "track without event",
            Endpoint::Track,
            r#"{"userId":"u"}"#,
            "invalid_message",
            Some("event"),
            None,
            "event is required for a track message",
        ),
        (
            "track with blank event",
            Endpoint::Batch,
            r#"{"batch":[{"type":"track","userId":"u","event":""}]}"#,
            "invalid_message",
            Some("event"),
            Some(0),
            "batch[0]: event is required for a track message",
        ),
        (
            "numeric event",
            Endpoint::Track,
            r#"{"userId":"u","event":5}"#,
            "invalid_message",
            Some("event"),
            None,
            "event must be a string, not a number",
        ),
        (
            "group without groupId",
            Endpoint::Group,
            r#"{"userId":"u","traits":{}}"#,
            "invalid_message",
            Some("groupId"),
            None,
            "groupId is required for a group message",
        ),
        (
            "alias without previousId",
            Endpoint::Alias,
            r#"{"userId":"u"}"#,
            "invalid_message",
            Some("previousId"),
            None,
            "previousId is required for an alias message",
        ),
        (
            "alias without userId",
            Endpoint::Alias,
            r#"{"anonymousId":"a","previousId":"p"}"#,
            "invalid_message",
            Some("userId"),
            None,
            "userId is required for an alias message",
        ),
        (
            "batch item without type",
            Endpoint::Batch,
            r#"{"batch":[{"userId":"u","event":"e"}]}"#,
            "invalid_message",
            Some("type"),
            Some(0),
            "batch[0]: type is required",
        ),
        (
            "unknown type",
            Endpoint::Batch,
            r#"{"batch":[{"type":"purchase","userId":"u"}]}"#,
            "invalid_message",
            Some("type"),
            Some(0),
            r#"type "purchase" is not one of track"#,
        ),
        (
            "type disagrees with path",
            Endpoint::Track,
            r#"{"type":"identify","userId":"u","event":"e"}"#,
            "invalid_message",
            Some("type"),
            None,
            r#"type "identify" does not match the endpoint /v1/track"#,
        ),
        (
            "properties not an object",
            Endpoint::Track,
            r#"{"userId":"u","event":"e","properties":[1,2]}"#,
            "invalid_message",
            Some("properties"),
            None,
            "properties must be an object, not an array",
        ),
        (
            "traits not an object",
            Endpoint::Identify,
            r#"{"userId":"u","traits":"vip"}"#,
            "invalid_message",
            Some("traits"),
            None,
            "traits must be an object, not a string",
        ),
        (
            "context not an object",
            Endpoint::Page,
            r#"{"userId":"u","context":5}"#,
            "invalid_message",
            Some("context"),
            None,
            "context must be an object, not a number",
        ),
        (
            "envelope context not an object",
            Endpoint::Batch,
            r#"{"context":true,"batch":[]}"#,
            "invalid_message",
            Some("context"),
            None,
            "context must be an object, not a boolean",
        ),
        (
            "bad timestamp",
            Endpoint::Track,
            r#"{"userId":"u","event":"e","timestamp":"yesterday"}"#,
            "invalid_message",
            Some("timestamp"),
            None,
            r#"timestamp: "yesterday" is not a timestamp"#,
        ),
        (
            "numeric timestamp",
            Endpoint::Track,
            r#"{"userId":"u","event":"e","timestamp":1700000000}"#,
            "invalid_message",
            Some("timestamp"),
            None,
            "timestamp must be an ISO 8601 string, not a number",
        ),
        (
            "bad originalTimestamp",
            Endpoint::Batch,
            r#"{"batch":[{"type":"page","userId":"u","originalTimestamp":"2025-02-30"}]}"#,
            "invalid_message",
            Some("originalTimestamp"),
            Some(0),
            r#"batch[0]: originalTimestamp: "2025-02-30" is not a timestamp"#,
        ),
        (
            "bad envelope sentAt",
            Endpoint::Batch,
            r#"{"sentAt":"soon","batch":[]}"#,
            "invalid_message",
            Some("sentAt"),
            None,
            r#"sentAt: "soon" is not a timestamp"#,
        ),
        (
            "bad item sentAt",
            Endpoint::Batch,
            r#"{"batch":[{"type":"page","userId":"u","sentAt":"x"}]}"#,
            "invalid_message",
            Some("sentAt"),
            Some(0),
            r#"sentAt: "x" is not a timestamp"#,
        ),
        (
            "numeric writeKey",
            Endpoint::Batch,
            r#"{"writeKey":5,"batch":[]}"#,
            "invalid_message",
            Some("writeKey"),
            None,
            "writeKey must be a string, not a number",
        ),
        (
            "overlong messageId",
            Endpoint::Track,
            r#"{"userId":"u","event":"e","messageId":"mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm"}"#,
            "invalid_message",
            Some("messageId"),
            None,
            "messageId is 101 characters, over the limit of 100",
        ),
        (
            "overlong userId",
            Endpoint::Track,
            r#"{"event":"e","userId":"uuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuu"}"#,
            "invalid_message",
            Some("userId"),
            None,
            "userId: user id is longer than 256 characters",
        ),
        (
            "duplicate key",
            Endpoint::Track,
            r#"{"userId":"u","userId":"v","event":"e"}"#,
            "invalid_message",
            Some("message"),
            None,
            "duplicate field `userId`",
        ),
    ];
    for (name, endpoint, body, code, field, index, text) in cases {
        let e = err(*endpoint, body);
        assert_eq!(e.code(), *code, "{name}: {e}");
        assert_eq!(e.status(), 400, "{name}");
        let got_field = match &e {
            SegmentError::Invalid { field, .. } => Some(*field),
            _ => None,
        };
        assert_eq!(got_field, *field, "{name}: {e}");
        assert_eq!(e.index(), *index, "{name}: {e}");
        let shown = e.to_string();
        assert!(shown.contains(text), "{name}: {shown:?} lacks {text:?}");
        assert!(!shown.ends_with('.'), "{name}: {shown:?}");
    }
}

#[test]
fn exactly_100_character_message_id_is_kept() {
    let id = "m".repeat(100);
    let body = format!(r#"{{"userId":"u","event":"e","messageId":"{id}"}}"#);
    assert_eq!(one(Endpoint::Track, &body).message_id, id);
}

/// A track message of exactly `size` bytes, padded in a property.
fn message_of_size(size: usize, typed: bool) -> String {
    let head = if typed {
        r#"{"type":"track","userId":"u","event":"e","properties":{"pad":""#
    } else {
        r#"{"userId":"u","event":"e","properties":{"pad":""#
    };
    let tail = r#""}}"#;
    let pad = size - head.len() - tail.len();
    let m = format!("{head}{}{tail}", "x".repeat(pad));
    assert_eq!(m.len(), size);
    m
}

fn too_large(e: SegmentError) -> (Limit, Option<usize>, usize, usize) {
    assert_eq!((e.status(), e.code()), (413, "too_large"), "{e}");
    match e {
        SegmentError::TooLarge {
            limit,
            index,
            actual,
            max,
        } => (limit, index, actual, max),
        other => panic!("not too large: {other}"),
    }
}

#[test]
fn single_message_limit_is_exactly_32_kib() {
    let ok = message_of_size(32 * 1024, false);
    assert_eq!(
        one(Endpoint::Track, &ok).properties["pad"]
            .as_str()
            .unwrap()
            .len(),
        32 * 1024 - 50
    );
    let over = message_of_size(32 * 1024 + 1, false);
    let e = err(Endpoint::Track, &over);
    assert_eq!(
        e.to_string(),
        "message is 32769 bytes, over the limit of 32768 bytes"
    );
    assert_eq!(too_large(e), (Limit::MessageBytes, None, 32_769, 32_768));
    // The same limit applies to an ndjson line (its line break not counted).
    let received = ts(RECEIVED);
    let line = format!("{}\n", message_of_size(32 * 1024, true));
    assert!(parse_message(line.as_bytes(), received, &Limits::default()).is_ok());
    let line = message_of_size(32 * 1024 + 1, true);
    let e = parse_message(line.as_bytes(), received, &Limits::default()).unwrap_err();
    assert_eq!(too_large(e), (Limit::MessageBytes, None, 32_769, 32_768));
}

#[test]
fn batch_item_limit_is_exactly_32_kib_and_names_the_item() {
    let small = r#"{"type":"page","anonymousId":"a"}"#;
    let ok = format!(
        r#"{{"batch":[{small}, {}]}}"#,
        message_of_size(32 * 1024, true)
    );
    assert_eq!(check(Endpoint::Batch, &ok).unwrap().len(), 2);
    let over = format!(
        r#"{{"batch":[{small}, {}]}}"#,
        message_of_size(32 * 1024 + 1, true)
    );
    let e = err(Endpoint::Batch, &over);
    assert_eq!(
        e.to_string(),
        "batch[1]: message is 32769 bytes, over the limit of 32768 bytes"
    );
    assert_eq!(too_large(e), (Limit::MessageBytes, Some(1), 32_769, 32_768));
}

fn batch_of(n: usize) -> String {
    let item = r#"{"type":"track","userId":"u","event":"e"}"#;
    format!(r#"{{"batch":[{}]}}"#, vec![item; n].join(","))
}

#[test]
fn batch_holds_at_most_2500_messages() {
    assert_eq!(
        check(Endpoint::Batch, &batch_of(2_500)).unwrap().len(),
        2_500
    );
    let e = err(Endpoint::Batch, &batch_of(2_501));
    assert_eq!(
        e.to_string(),
        "batch has 2501 messages, over the limit of 2500"
    );
    assert_eq!(too_large(e), (Limit::BatchMessages, None, 2_501, 2_500));
}

#[test]
fn batch_body_is_at_most_500_kib() {
    // 20 items of 25,000 bytes plus the envelope: just under and just over 512,000 bytes.
    let build = |last_pad: usize| {
        let mut items: Vec<String> = (0..20).map(|_| message_of_size(25_000, true)).collect();
        items.push(message_of_size(last_pad, true));
        format!(r#"{{"batch":[{}]}}"#, items.join(","))
    };
    let envelope = build(1_000).len() - 1_000;
    let exact = build(512_000 - envelope);
    assert_eq!(exact.len(), 512_000);
    assert_eq!(check(Endpoint::Batch, &exact).unwrap().len(), 21);
    let over = build(512_000 - envelope + 1);
    let e = err(Endpoint::Batch, &over);
    assert_eq!(
        e.to_string(),
        "batch is 512001 bytes, over the limit of 512000 bytes"
    );
    assert_eq!(too_large(e), (Limit::BatchBytes, None, 512_001, 512_000));
}

#[test]
fn limits_are_configurable_and_default_to_segments() {
    let limits: Limits = serde_json::from_value(json!({"max_batch_messages": 2})).unwrap();
    assert_eq!(
        limits,
        Limits {
            max_batch_messages: 2,
            ..Limits::default()
        }
    );
    assert_eq!(
        (
            Limits::default().max_message_bytes,
            Limits::default().max_batch_bytes
        ),
        (32_768, 512_000)
    );
    assert!(serde_json::from_value::<Limits>(json!({"max_batches": 2})).is_err());
    let e = Envelope::parse(Endpoint::Batch, batch_of(3).as_bytes(), &limits).unwrap_err();
    assert_eq!(too_large(e), (Limit::BatchMessages, None, 3, 2));
}

#[test]
fn derived_message_id_follows_the_bytes() {
    let a = r#"{"userId":"u","event":"e","timestamp":"2025-03-01T11:00:00Z"}"#;
    let b = r#"{"userId":"u","event":"e","timestamp":"2025-03-01T11:00:01Z"}"#;
    let id_a = one(Endpoint::Track, a).message_id;
    assert!(id_a.starts_with("h-") && id_a.len() == 34, "{id_a}");
    assert!(id_a[2..].bytes().all(|c| c.is_ascii_hexdigit()), "{id_a}");
    // Stable: a retry of the same bytes gets the same id, at another time, also as an ndjson line
    // or a batch item carrying the same type.
    let later = Envelope::parse(Endpoint::Track, a.as_bytes(), &Limits::default())
        .unwrap()
        .into_messages(ts("2025-03-02T00:00:00Z"))
        .unwrap();
    assert_eq!(later[0].message_id, id_a);
    // Different bytes, or the same bytes as another type, get another id.
    assert_ne!(one(Endpoint::Track, b).message_id, id_a);
    let as_page = one(Endpoint::Page, a).message_id;
    assert!(as_page.starts_with("h-"));
    assert_ne!(as_page, id_a);
    // A blank messageId is no id at all.
    let blank = r#"{"userId":"u","event":"e","messageId":""}"#;
    assert!(one(Endpoint::Track, blank).message_id.starts_with("h-"));
    // Items of a batch are hashed on their own bytes.
    let item = r#"{"type":"track","userId":"u","event":"e"}"#;
    let batch = format!(r#"{{"sentAt":"2025-03-01T12:00:00Z","batch":[{item},{item}]}}"#);
    let ids: Vec<String> = check(Endpoint::Batch, &batch)
        .unwrap()
        .into_iter()
        .map(|m| m.message_id)
        .collect();
    assert_eq!(ids[0], ids[1]);
    let line = parse_message(item.as_bytes(), ts(RECEIVED), &Limits::default()).unwrap();
    assert_eq!(line.message_id, ids[0]);
}

#[test]
fn ndjson_lines_need_their_own_type() {
    let received = ts(RECEIVED);
    let limits = Limits::default();
    let m = parse_message(
        b"{\"type\":\"identify\",\"userId\":\"u\",\"messageId\":\"n1\",\"timestamp\":\"2025-01-01T00:00:00Z\"}\r\n",
        received,
        &limits,
    )
    .unwrap();
    assert_eq!(
        (m.kind, m.message_id.as_str(), m.timestamp),
        (MessageType::Identify, "n1", ts("2025-01-01"))
    );
    let e = parse_message(br#"{"userId":"u"}"#, received, &limits).unwrap_err();
    assert_eq!(e.to_string(), "type is required");
    // A backfilled line keeps its own time even with a sentAt long before the import.
    let m = parse_message(
        br#"{"type":"track","userId":"u","event":"e","timestamp":"2024-05-01T10:00:00Z","sentAt":"2024-05-01T10:00:05Z","receivedAt":"2024-05-01T10:00:06Z"}"#,
        received,
        &limits,
    )
    .unwrap();
    assert_eq!(m.timestamp, ts("2024-05-01T10:00:00Z"));
    let e = parse_message(br#"{"type":"track""#, received, &limits).unwrap_err();
    assert_eq!(e.code(), "invalid_json");
}

#[test]
fn ndjson_lines_outside_1970_to_the_import_time_are_refused_naming_the_field() {
    let received = ts(RECEIVED);
    let limits = Limits::default();
    for (line, stored) in [
        (
            r#"{"type":"track","userId":"u","event":"e","timestamp":"9999-12-31T23:59:59Z"}"#,
            "9999-12-31T23:59:59.000Z",
        ),
        (
            r#"{"type":"track","userId":"u","event":"e","timestamp":"1969-12-31T23:59:59Z"}"#,
            "1969-12-31T23:59:59.000Z",
        ),
    ] {
        let e = parse_message(line.as_bytes(), received, &limits).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "timestamp {stored} is outside 1970-01-01T00:00:00.000Z to the import time \
                 {RECEIVED}: an event cannot happen after it is received, nor before 1970"
            ),
            "{line}"
        );
        assert_eq!(e.status(), 400);
    }
    // The ends themselves are in.
    for at in ["1970-01-01T00:00:00.000Z", RECEIVED] {
        let line = format!(r#"{{"type":"track","userId":"u","event":"e","timestamp":"{at}"}}"#);
        let m = parse_message(line.as_bytes(), received, &limits).unwrap();
        assert_eq!(m.timestamp.to_string(), at);
    }
}
