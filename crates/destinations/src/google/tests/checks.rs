//! The checks every item passes before any request, through one helper, table-driven.

use serde_json::json;

use super::*;
use crate::google::{ads_datetime, check, csv_datetime};
use crate::matching::is_sha256_hex;
use crate::matching::{hashed_email, Platform};
use crate::Outcome;

/// What the checks make of `event` at [`NOW`] with a 90-day window: the click it would be
/// sent with (`kind:id`), or its outcome.
fn checked(event: &ConversionEvent) -> Result<Option<String>, Outcome> {
    checked_at(event, NOW)
}

fn checked_at(event: &ConversionEvent, now: &str) -> Result<Option<String>, Outcome> {
    let batch = Batch::new(std::slice::from_ref(event));
    let out = batch.outgoing();
    check(0, &out[0], at(now), 90).map(|ready| ready.click.map(|c| format!("{}:{}", c.kind, c.id)))
}

fn permanent_containing(result: Result<Option<String>, Outcome>, text: &str) {
    match result {
        Err(Outcome::Permanent { code: None, reason }) => {
            assert!(reason.contains(text), "{reason:?} should say {text:?}")
        }
        other => panic!("expected a permanent failure saying {text:?}, got {other:?}"),
    }
}

fn expired(result: Result<Option<String>, Outcome>) -> String {
    match result {
        Err(Outcome::Expired { reason }) => reason,
        other => panic!("expected expired, got {other:?}"),
    }
}

#[test]
fn the_runtime_hashes_e_mails_the_way_the_tests_expect_google_to_receive_them() {
    // The hashes the fakes check against are Python's; this ties them to the runtime's rules.
    assert_eq!(
        hashed_email(Platform::Google, " John.Smith@Gmail.com ").as_deref(),
        Some(JOHN)
    );
    assert_eq!(
        hashed_email(Platform::Google, "Jane.Doe@example.com").as_deref(),
        Some(JANE)
    );
    assert_eq!(
        hashed_email(Platform::Google, "ops@acme.io").as_deref(),
        Some(OPS)
    );
    // sha256("jsmith@googlemail.com"): googlemail.com loses its dots too.
    assert_eq!(
        hashed_email(Platform::Google, "j.smith@googlemail.com").as_deref(),
        Some("2deda3f4605a1848b3ed0b72d96edec5a1ec3ccea493985baa86877fa334d93e")
    );
    assert!(is_sha256_hex(JOHN));
    assert!(!is_sha256_hex(&JOHN.to_uppercase()));
    assert!(!is_sha256_hex(&JOHN[..63]));
    assert!(!is_sha256_hex("john.smith@gmail.com"));
}

#[test]
fn the_click_sent_is_the_latest_google_click_at_or_before_the_conversion_within_the_window() {
    let base = conversion("c1", "555", "2026-04-20T10:00:00Z", Some(100.0));
    let cases = [
        // (clicks, chosen)
        (
            vec![
                ("gclid", "old", "2026-04-01T00:00:00Z"),
                ("gbraid", "newer", "2026-04-15T00:00:00Z"),
            ],
            Some("gbraid:newer"),
        ),
        // fbclid is Meta's, and a click after the conversion is Google's CONVERSION_PRECEDES_EVENT.
        (
            vec![
                ("gclid", "g", "2026-04-10T00:00:00Z"),
                ("fbclid", "fb", "2026-04-19T00:00:00Z"),
                ("wbraid", "late", "2026-04-21T00:00:00Z"),
            ],
            Some("gclid:g"),
        ),
        // A click at the very moment of the conversion counts; one 90 days and a minute before does not.
        (
            vec![("wbraid", "same", "2026-04-20T10:00:00Z")],
            Some("wbraid:same"),
        ),
        (vec![("gclid", "stale", "2026-01-20T09:59:00Z")], None),
    ];
    for (clicks, chosen) in cases {
        let mut event = with_email(base.clone(), JOHN);
        for (kind, id, when) in &clicks {
            event = with_click(event, kind, id, when);
        }
        assert_eq!(checked(&event).unwrap().as_deref(), chosen, "{clicks:?}");
    }
}

#[test]
fn deadlines_the_click_window_from_the_click_the_conversion_time_for_e_mail_only_54_days_for_adjustments(
) {
    // Matched by click: the click plus 90 days.
    let clicked = with_click(
        conversion("c1", "555", "2026-04-20T10:00:00Z", Some(100.0)),
        "gclid",
        "g",
        "2026-02-01T12:00:00Z",
    );
    assert!(checked_at(&clicked, "2026-05-02T12:00:00Z").is_ok());
    let reason = expired(checked_at(&clicked, "2026-05-02T12:00:00.001Z"));
    assert!(
        reason.contains("gclid click is more than 90 days old"),
        "{reason}"
    );
    // The reason holds no instant, so expired conversions are counted under one reason.
    assert!(!reason.contains("2026"), "{reason}");
    // Matched by e-mail alone: the conversion plus 90 days.
    let emailed = with_email(conversion("c2", "555", "2026-02-01T12:00:00Z", None), JANE);
    assert!(checked_at(&emailed, "2026-05-02T12:00:00Z").is_ok());
    expired(checked_at(&emailed, "2026-05-02T12:00:01Z"));
    // An adjustment: the conversion plus 54 days, whatever its click.
    let restated = adjustment(&emailed, "2026-03-01T00:00:00Z", Some(50.0));
    assert!(checked_at(&restated, "2026-03-27T12:00:00Z").is_ok());
    let reason = expired(checked_at(&restated, "2026-03-27T12:00:00.001Z"));
    assert!(reason.contains("54 days"), "{reason}");
}

#[test]
fn items_google_would_refuse_fail_alone_and_permanently() {
    let good = with_click(
        conversion("c1", "555", "2026-04-20T10:00:00Z", Some(100.0)),
        "gclid",
        "g",
        "2026-04-10T00:00:00Z",
    );
    assert_eq!(checked(&good).unwrap().as_deref(), Some("gclid:g"));
    permanent_containing(
        checked(&conversion("c2", "555", "2026-04-20T10:00:00Z", None)),
        "nothing to match",
    );
    for bad in ["john.smith@gmail.com", &JOHN.to_uppercase(), &JOHN[1..]] {
        permanent_containing(checked(&with_email(good.clone(), bad)), "hashed e-mail #1");
    }
    let mut no_time = adjustment(&good, "2026-04-25T00:00:00Z", Some(80.0));
    no_time.adjusted_at = None;
    permanent_containing(checked(&no_time), "adjustment time later");
    permanent_containing(
        checked(&adjustment(&good, "2026-04-20T10:00:00Z", Some(80.0))),
        "adjustment time later",
    );
    let mut no_value = adjustment(&good, "2026-04-25T00:00:00Z", Some(80.0));
    no_value.value = None;
    no_value.kind = EventKind::Restatement;
    permanent_containing(checked(&no_value), "new value");
    let mut retraction = adjustment(&good, "2026-04-25T00:00:00Z", None);
    retraction.adjusted_at = Some(at("2026-04-19T00:00:00Z"));
    permanent_containing(checked(&retraction), "retraction needs an adjustment time");
    // Google adjusts gclid and gbraid conversions, never wbraid ones.
    let wbraid = with_click(
        conversion("c3", "555", "2026-04-20T10:00:00Z", Some(100.0)),
        "wbraid",
        "w",
        "2026-04-10T00:00:00Z",
    );
    assert!(checked(&wbraid).is_ok());
    permanent_containing(
        checked(&adjustment(&wbraid, "2026-04-25T00:00:00Z", None)),
        "wbraid",
    );
    let gbraid = with_click(wbraid.clone(), "gbraid", "b", "2026-04-12T00:00:00Z");
    assert_eq!(
        checked(&adjustment(&gbraid, "2026-04-25T00:00:00Z", None))
            .unwrap()
            .as_deref(),
        Some("gbraid:b")
    );
    // A payload of another shape.
    let batch = Batch::raw(vec![json!({"title": "a task"})]);
    let out = batch.outgoing();
    match check(0, &out[0], at(NOW), 90) {
        Err(Outcome::Permanent { reason, .. }) => {
            assert!(reason.contains("not a conversion event"))
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn google_date_times() {
    let t = at("2026-03-01T14:30:05.999Z");
    assert_eq!(ads_datetime(t), "2026-03-01 14:30:05+00:00");
    assert_eq!(csv_datetime(t), "2026-03-01 14:30:05");
    assert_eq!(
        csv_datetime(at("0999-12-31T23:59:59Z")),
        "0999-12-31 23:59:59"
    );
}
