//! Fuzz targets for every parser of this crate that sees outside bytes: Segment request bodies
//! (each endpoint, batch included) and `events.ndjson` lines, the five CSV kinds, Stripe
//! signatures, event bodies and the interpretation of subscription and invoice events that the
//! engine applies. Inputs come from `fuzz_support` (valid seeds made worse, and random bytes).
//!
//! The property of every target: no panic, every input is accepted or rejected with an error;
//! and what is accepted can be stored: its log form serializes and reads back as the same value
//! (a value that could not be read back would make the log unreadable, issue 12 defect 1).
//!
//! A bounded run is part of `cargo test`; `TENURE_FUZZ_CASES=10000000 cargo test --release -p
//! tenure-ingest --test fuzz` is the long run (RELIABILITY.md).

mod fuzz_support;

use fuzz_support::sample::{ACCOUNTS, DEALS, SPEND, SUBSCRIPTIONS, TOUCHPOINTS};

use std::io::Read;

use fuzz_support::{fuzz, json_input, no_panic, text_input, Input, STRIPE_EVENTS};
use hmac::{Hmac, Mac};
use proptest::prelude::*;
use sha2::Sha256;
use tenure_core::{Currency, EntryBody, Money, SegmentMessage, Timestamp};
use tenure_ingest::csv::{read_csv, CsvKind};
use tenure_ingest::segment::{parse_message, Endpoint, Envelope, Limits};
use tenure_ingest::stripe::{invoice_fact, parse_event, subscription_change, verify_signature};

// ---------------------------------------------------------------------------------------------
// Segment

/// One valid body per single-message endpoint, and batches.
const SEGMENT_SEEDS: &[&str] = &[
    r#"{"type":"track","event":"Report Created","userId":"u_1","anonymousId":"a_1","messageId":"m-1","timestamp":"2025-03-01T12:00:00.000Z","sentAt":"2025-03-01T12:00:05.000Z","properties":{"plan":"pro","seats":5},"context":{"groupId":"acct_1","page":{"url":"https://x.io/?utm_source=google"}},"writeKey":"wk_1"}"#,
    r#"{"type":"identify","userId":"u_1","traits":{"email":"Ana@X.io","name":"Ana"},"originalTimestamp":"2025-03-01T12:00:00Z","sentAt":"2025-03-01T12:00:01Z","messageId":42}"#,
    r#"{"type":"group","userId":"u_1","groupId":"acct_1","traits":{"name":"X","employees":12},"timestamp":"2025-03-01T12:00:00Z"}"#,
    r#"{"type":"page","anonymousId":"a_1","name":"Pricing","properties":{"url":"https://x.io/pricing","referrer":"https://google.com/"},"context":{"campaign":{"source":"google","medium":"cpc"}},"timestamp":"2025-03-01 12:00:00Z"}"#,
    r#"{"type":"screen","userId":"u_1","name":"Home","messageId":"  m-2  ","timestamp":"2025-03-01T12:00:00+02:00"}"#,
    r#"{"type":"alias","userId":"u_1","previousId":"a_1","messageId":"m-3"}"#,
    r#"{"batch":[{"type":"track","event":"e","userId":"u_1","messageId":"b-1","timestamp":"2025-03-01T12:00:00Z"},{"type":"identify","anonymousId":"a_1","traits":{"email":"a@b.co"},"sentAt":"2025-03-01T12:00:02Z"},{"type":"group","userId":"u_1","groupId":7,"context":{"ip":"1.2.3.4"}},{"type":"page","anonymousId":"a_2","name":"Home"},{"type":"alias","userId":"u_2","previousId":"a_2"}],"sentAt":"2025-03-01T12:00:05Z","context":{"library":{"name":"analytics-node"}},"writeKey":"wk_1"}"#,
    r#"{"batch":[{"type":"track","event":"Signed Up","userId":"u_9","timestamp":"2025-03-01T12:00:00Z","sentAt":"2025-03-01T11:00:00Z"}],"sentAt":"2025-03-01T12:00:00Z"}"#,
];

/// Where `Envelope::parse` is called from: the endpoint the body's seed was written for (batch
/// for a `batch` member, else its `type`), and for one body in eight, or when the body says
/// neither, any endpoint chosen by `selector`.
fn endpoint_of(body: &[u8], selector: u8) -> Endpoint {
    let any = Endpoint::ALL[usize::from(selector) % Endpoint::ALL.len()];
    if selector.is_multiple_of(8) {
        return any;
    }
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(doc) if doc.get("batch").is_some() => Endpoint::Batch,
        Ok(doc) => doc
            .get("type")
            .and_then(|t| t.as_str())
            .and_then(Endpoint::from_path_segment)
            .unwrap_or(any),
        Err(_) => any,
    }
}

/// Limits that reach every size check on small inputs, or the defaults.
fn limits_of(small: bool) -> Limits {
    if small {
        Limits {
            max_message_bytes: 200,
            max_batch_bytes: 600,
            max_batch_messages: 3,
        }
    } else {
        Limits::default()
    }
}

fn received() -> Timestamp {
    Timestamp::parse("2026-12-06T13:00:00.000Z").unwrap()
}

/// An accepted message is stored as `EntryBody::Segment` JSON and must read back: the fields
/// that are not free-form JSON exactly, the free-form ones as JSON again.
fn assert_stores(message: &SegmentMessage) {
    let body = EntryBody::Segment(message.clone());
    let text = serde_json::to_string(&body).expect("an accepted message serializes");
    let back: EntryBody = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("an accepted message does not read back ({e}): {text}"));
    let EntryBody::Segment(back) = back else {
        panic!("read back as another kind: {text}")
    };
    // Floats in properties may come back one ulp off (serde_json parses them fast, not exactly),
    // so the maps are compared by their key sets.
    let keys =
        |m: &serde_json::Map<String, serde_json::Value>| m.keys().cloned().collect::<Vec<_>>();
    assert_eq!(
        (
            back.kind,
            &back.message_id,
            back.timestamp,
            back.received_at,
            back.sent_at,
            back.original_timestamp,
            &back.anonymous_id,
            &back.user_id,
            &back.event,
            &back.name,
            &back.group_id,
            &back.previous_id,
        ),
        (
            message.kind,
            &message.message_id,
            message.timestamp,
            message.received_at,
            message.sent_at,
            message.original_timestamp,
            &message.anonymous_id,
            &message.user_id,
            &message.event,
            &message.name,
            &message.group_id,
            &message.previous_id,
        ),
        "{text}"
    );
    assert_eq!(keys(&back.context), keys(&message.context));
    assert_eq!(keys(&back.properties), keys(&message.properties));
    assert_eq!(keys(&back.traits), keys(&message.traits));
}

/// A body sent to `endpoint`, through both steps the server takes; whether it was accepted.
fn segment_body(endpoint: Endpoint, body: &[u8], limits: &Limits) -> bool {
    let Ok(envelope) = Envelope::parse(endpoint, body, limits) else {
        return false;
    };
    let count = envelope.message_count();
    match envelope.into_messages(received()) {
        Ok(messages) => {
            assert_eq!(messages.len(), count, "all or nothing");
            messages.iter().for_each(assert_stores);
            true
        }
        Err(e) => {
            let _ = (e.to_string(), e.status(), e.code());
            false
        }
    }
}

fn ndjson_line(line: &[u8], limits: &Limits) -> bool {
    match parse_message(line, received(), limits) {
        Ok(message) => {
            assert_stores(&message);
            true
        }
        Err(_) => false,
    }
}

#[test]
fn segment_bodies() {
    let inputs = (any::<u8>(), any::<bool>(), json_input(SEGMENT_SEEDS));
    fuzz("segment bodies", inputs, |(selector, small, body)| {
        segment_body(endpoint_of(&body, selector), &body, &limits_of(small))
    });
}

#[test]
fn ndjson_lines() {
    let inputs = (any::<bool>(), json_input(SEGMENT_SEEDS));
    fuzz("ndjson lines", inputs, |(small, line)| {
        ndjson_line(&line, &limits_of(small))
    });
}

// ---------------------------------------------------------------------------------------------
// CSV

/// Cells the CSV kinds give meaning to, at and past their edges.
const CELLS: &[&str] = &[
    "",
    "acct_001",
    "0",
    "-0",
    "-1",
    "+1",
    "0.001",
    "1.",
    ".5",
    ".",
    "1e3",
    "99999999999999999999",
    "92233720368547758.07",
    "92233720368547758.08",
    "-92233720368547758.08",
    "4294967295",
    "4294967296",
    "18446744073709551616",
    "١٢٣",
    "  5  ",
    "\"quoted, with a comma\"",
    "\"\"",
    "\"unterminated",
    "\"a\"\"b\"",
    "jpy",
    "KWD",
    "usdd",
    "new_business",
    "renewal",
    "expansion",
    "open",
    "won",
    "lost",
    "A@B.C",
    "@",
    "a@",
    "lee@bluebird.com",
    "0000-01-01",
    "9999-12-31",
    "1969-12-31T23:59:59.999Z",
    "1970-01-01T00:00:00+00:01",
    "9999-12-31T23:59:59.999-00:01",
    "2025-01-10",
    "2024-01-10",
    "\u{feff}account_id",
    "ACCOUNT_ID",
    "Effective_At",
    "unknown_column",
];

/// Reads a file in chunks of `chunk` bytes, as a slow pipe would deliver it.
struct Chunked<'a> {
    bytes: &'a [u8],
    chunk: usize,
}

impl Read for Chunked<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.chunk.min(buf.len()).min(self.bytes.len());
        buf[..n].copy_from_slice(&self.bytes[..n]);
        self.bytes = &self.bytes[n..];
        Ok(n)
    }
}

/// A `kind` file read whole: every row is a row or an error, rows come in order of their lines,
/// within the file, and each stored row reads back as itself. Whether every row was accepted.
fn csv_file(kind: CsvKind, bytes: &[u8], chunk: usize) -> bool {
    let reader = Chunked { bytes, chunk };
    let rows = match read_csv(kind, reader, Currency::USD) {
        Ok(rows) => rows,
        Err(e) => {
            let _ = e.to_string();
            return false;
        }
    };
    let mut all_accepted = true;
    // A line ends at \n, \r\n or a lone \r; the last line may have no end.
    let lines = bytes
        .iter()
        .enumerate()
        .filter(|&(i, &b)| b == b'\n' && (i == 0 || bytes[i - 1] != b'\r') || b == b'\r')
        .count() as u64
        + 1;
    let mut previous = 1;
    for (n, row) in rows.enumerate() {
        assert!(n <= bytes.len(), "more rows than bytes: the reader loops");
        let line = match row {
            Ok(row) => {
                let text = serde_json::to_string(&row.body).expect("a row serializes");
                let back: EntryBody = serde_json::from_str(&text)
                    .unwrap_or_else(|e| panic!("a row does not read back ({e}): {text}"));
                assert_eq!(back, row.body, "{text}");
                let amount = match &row.body {
                    EntryBody::Subscription(r) => Some(r.mrr),
                    EntryBody::Deal(r) => Some(r.amount),
                    EntryBody::Spend(r) => Some(r.cost),
                    _ => None,
                };
                if let Some(amount) = amount {
                    assert!((0..=Money::MAX_MINOR).contains(&amount.minor), "{text}");
                }
                row.line
            }
            Err(e) => {
                let _ = e.to_string();
                all_accepted = false;
                if e.line == 0 {
                    continue; // an error the reader gave no position
                }
                e.line
            }
        };
        assert!(
            (previous..=lines).contains(&line),
            "line {line} after line {previous} of {lines}"
        );
        previous = line;
    }
    all_accepted
}

fn csv_strategy(kind: CsvKind) -> impl Strategy<Value = (Input, usize)> {
    let seeds: &'static [&'static str] = match kind {
        CsvKind::Accounts => &[ACCOUNTS],
        CsvKind::Subscriptions => &[SUBSCRIPTIONS],
        CsvKind::Deals => &[DEALS],
        CsvKind::Spend => &[SPEND],
        CsvKind::Touchpoints => &[TOUCHPOINTS],
    };
    (
        text_input(seeds, ',', CELLS),
        prop_oneof![Just(8192usize), 1usize..8],
    )
}

fn fuzz_csv(kind: CsvKind) {
    fuzz(
        &format!("csv {kind}"),
        csv_strategy(kind),
        |(bytes, chunk)| csv_file(kind, &bytes, chunk),
    );
}

#[test]
fn csv_accounts() {
    fuzz_csv(CsvKind::Accounts);
}

#[test]
fn csv_subscriptions() {
    fuzz_csv(CsvKind::Subscriptions);
}

#[test]
fn csv_deals() {
    fuzz_csv(CsvKind::Deals);
}

#[test]
fn csv_spend() {
    fuzz_csv(CsvKind::Spend);
}

#[test]
fn csv_touchpoints() {
    fuzz_csv(CsvKind::Touchpoints);
}

// ---------------------------------------------------------------------------------------------
// Stripe

const SECRET: &str = "whsec_fuzz";

/// Headers around the signature a test computes, and broken ones.
const HEADER_SEEDS: &[&str] = &[
    "t=1740830400,v1=SIG",
    "t=1740830400,v0=SIG,v1=SIG,v1=0000",
    " t = 1740830400 , v1 = SIG ",
    "v1=SIG,t=1740830400,scheme=x",
];

const HEADER_VALUES: &[&str] = &[
    "SIG",
    "t",
    "v1",
    "v0",
    " ",
    "",
    "9223372036854775807",
    "-9223372036854775808",
    "9223372036854775808",
    "-1",
    "0",
    "1740830400",
];

fn sign(t: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(t.as_bytes());
    mac.update(b".");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// A header (with `SIG` standing for the right signature of `body` at its `t`), a body, a now
/// and a tolerance: never a panic; a header passes only when its `t` is within the tolerance
/// (any `t` for `i64::MAX`, as documented). Whether it passed.
fn signature(header: &[u8], body: &[u8], now: i64, tolerance: i64) -> bool {
    let header = String::from_utf8_lossy(header);
    let t = header
        .split(',')
        .filter_map(|item| item.split_once('='))
        .find(|(k, _)| k.trim() == "t")
        .map(|(_, v)| v.trim().to_owned());
    let header = header.replace("SIG", &sign(t.as_deref().unwrap_or(""), body));
    let result = verify_signature(Some(&header), body, SECRET, now, tolerance);
    let _ = result.as_ref().map_err(|e| (e.to_string(), e.code()));
    if let (Ok(()), Some(t)) = (&result, &t) {
        let t: i64 = t.parse().expect("an accepted header has an integer t");
        // `i64::MAX` is documented as "any age".
        assert!(
            tolerance == i64::MAX || now.abs_diff(t) <= tolerance.unsigned_abs(),
            "{header}"
        );
    }
    result.is_ok()
}

/// An event body: parsed, stored, then interpreted as the engine does; an interpretation never
/// gives a negative MRR. Whether it was interpreted as a subscription change or an invoice.
fn stripe_event(body: &[u8]) -> bool {
    let event = match parse_event(body) {
        Ok(event) => event,
        Err(e) => {
            let _ = (e.to_string(), e.code());
            return false;
        }
    };
    let stored = serde_json::to_string(&EntryBody::Webhook(event.clone())).unwrap();
    match serde_json::from_str::<EntryBody>(&stored) {
        Ok(EntryBody::Webhook(back)) => {
            assert_eq!(
                (back.event_id, back.event_type),
                (event.event_id.clone(), event.event_type.clone())
            )
        }
        other => panic!("a stored event does not read back: {other:?}"),
    }
    let change = match subscription_change(&event) {
        Ok(Some(change)) => {
            assert!(
                (0..=Money::MAX_MINOR).contains(&change.mrr.minor),
                "MRR out of range: {change:?}"
            );
            let _ = (
                change.mrr.to_string(),
                change.at.to_string(),
                change.period_end.map(|t| t.to_string()),
            );
            true
        }
        Ok(None) => false,
        Err(e) => {
            let _ = e.to_string();
            false
        }
    };
    let fact = match invoice_fact(&event) {
        Ok(Some(fact)) => {
            assert!(
                (0..=Money::MAX_MINOR).contains(&fact.amount.minor),
                "amount out of range: {fact:?}"
            );
            let _ = (fact.amount.to_string(), fact.at.to_string());
            true
        }
        Ok(None) => false,
        Err(e) => {
            let _ = e.to_string();
            false
        }
    };
    change || fact
}

fn instant() -> impl Strategy<Value = i64> {
    prop_oneof![
        Just(1_740_830_400i64),
        1_740_830_000i64..1_740_831_000,
        Just(i64::MAX),
        Just(i64::MIN),
        Just(0i64),
        any::<i64>(),
    ]
}

#[test]
fn stripe_signatures() {
    let tolerance = prop_oneof![
        Just(300i64),
        Just(i64::MAX),
        Just(0i64),
        Just(-1i64),
        Just(i64::MIN),
        any::<i64>()
    ];
    let inputs = (
        text_input(HEADER_SEEDS, '=', HEADER_VALUES),
        json_input(STRIPE_EVENTS),
        instant(),
        tolerance,
    );
    fuzz(
        "stripe signatures",
        inputs,
        |(header, body, now, tolerance)| {
            let header = header.strip_suffix(b"\n").unwrap_or(&header);
            signature(header, &body, now, tolerance)
        },
    );
}

#[test]
fn stripe_events() {
    fuzz("stripe events", json_input(STRIPE_EVENTS), |body| {
        stripe_event(&body)
    });
}

// ---------------------------------------------------------------------------------------------
// Regression cases: the minimal inputs fuzzing found, each named after what it broke.

#[test]
fn the_seeds_are_accepted() {
    for seed in SEGMENT_SEEDS {
        let endpoint = if seed.starts_with(r#"{"batch""#) {
            Endpoint::Batch
        } else {
            let kind = serde_json::from_str::<serde_json::Value>(seed).unwrap()["type"]
                .as_str()
                .unwrap()
                .to_owned();
            Endpoint::from_path_segment(&kind).unwrap()
        };
        let messages = Envelope::parse(endpoint, seed.as_bytes(), &Limits::default())
            .and_then(|e| e.into_messages(received()))
            .unwrap_or_else(|e| panic!("{seed}: {e}"));
        messages.iter().for_each(assert_stores);
    }
    for (kind, seed) in
        CsvKind::ALL
            .into_iter()
            .zip([ACCOUNTS, SUBSCRIPTIONS, DEALS, SPEND, TOUCHPOINTS])
    {
        let rows = read_csv(kind, seed.as_bytes(), Currency::USD).unwrap();
        assert!(rows.into_iter().all(|r| r.is_ok()), "{kind}");
    }
    for seed in STRIPE_EVENTS {
        let event = parse_event(seed.as_bytes()).unwrap();
        let interpreted = subscription_change(&event).unwrap().is_some()
            || invoice_fact(&event).unwrap().is_some();
        assert!(interpreted, "{seed}");
    }
}

#[test]
fn regressions() {
    let segment: &[(&str, Endpoint, &str)] = &[(
        "issue 12 defect 1: a corrected time past year 9999",
        Endpoint::Track,
        r#"{"type":"track","event":"e","userId":"u","timestamp":"9999-12-31T23:59:59Z","sentAt":"0000-01-01T00:00:00Z"}"#,
    )];
    for (name, endpoint, body) in segment {
        no_panic(name, body.as_bytes(), |b| {
            segment_body(*endpoint, b, &Limits::default())
        });
    }
    let csv: &[(&str, CsvKind, &str)] = &[
        (
            "an offset moving a date before year 0000",
            CsvKind::Touchpoints,
            "occurred_at,account_id\n0000-01-01T00:00:00+01:00,a\n",
        ),
        (
            "an MRR at i64::MAX minor units, whose ARR overflowed the accounts report",
            CsvKind::Subscriptions,
            "account_id,effective_at,mrr\na,2025-01-01,92233720368547758.07\n",
        ),
    ];
    for (name, kind, file) in csv {
        no_panic(name, file.as_bytes(), |b| csv_file(*kind, b, 1));
    }
    let stripe: &[(&str, &str)] = &[
        (
            "created at the end of i64 seconds",
            r#"{"id":"e","type":"invoice.paid","created":9223372036854775,"data":{"object":{"id":"in","customer":"c","currency":"usd","amount_paid":1}}}"#,
        ),
        (
            "found by stripe_events: a negative unit amount gave a negative MRR",
            r#"{"id":"e","type":"customer.subscription.created","created":1740830400,"data":{"object":{"id":"s","customer":"c","status":"active","items":{"data":[{"price":{"currency":"eur","unit_amount":-26006,"recurring":{"interval":"year"}}}]}}}}"#,
        ),
        (
            "a negative decimal unit amount",
            r#"{"id":"e","type":"customer.subscription.created","created":1740830400,"data":{"object":{"id":"s","customer":"c","status":"active","items":{"data":[{"price":{"currency":"eur","unit_amount_decimal":"-0.5","recurring":{"interval":"day"}}}]}}}}"#,
        ),
    ];
    for (name, body) in stripe {
        no_panic(name, body.as_bytes(), stripe_event);
    }
    // Found by stripe_signatures: an age past i64 saturates, which only `i64::MAX` (any age)
    // accepts.
    let body = b"{}";
    let header = format!("t=-922337,v1={}", sign("-922337", body));
    let check = |tolerance| verify_signature(Some(&header), body, SECRET, i64::MAX, tolerance);
    assert_eq!(check(i64::MAX), Ok(()));
    assert!(matches!(
        check(i64::MAX - 1),
        Err(tenure_ingest::stripe::SignatureError::Stale { .. })
    ));
    // Found by stripe_events: JSON nested nearly to serde_json's limit of 128 levels parsed,
    // was stored a few levels further down inside its entry, and could not be read back.
    let nested = |depth: usize| format!("{}1{}", "[".repeat(depth), "]".repeat(depth));
    for depth in [60, 120, 126, 127] {
        let event = format!(
            r#"{{"id":"e","type":"x","data":{{"object":{{}}}},"deep":{}}}"#,
            nested(depth)
        );
        no_panic(
            "a stripe event nested near the limit",
            event.as_bytes(),
            stripe_event,
        );
        let track = format!(
            r#"{{"type":"track","event":"e","userId":"u","properties":{{"deep":{}}}}}"#,
            nested(depth)
        );
        no_panic("a track nested near the limit", track.as_bytes(), |b| {
            segment_body(Endpoint::Track, b, &Limits::default())
        });
        no_panic(
            "an ndjson line nested near the limit",
            track.as_bytes(),
            |b| ndjson_line(b, &Limits::default()),
        );
    }
}
