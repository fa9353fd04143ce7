//! Stripe webhooks through the public API: signatures (`check_signature`), event parsing, and
//! what subscription and invoice events mean (`change`, `fact`), each case a row of a table.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use serde_json::{json, Value};
use tenure_core::{Currency, Timestamp};
use tenure_ingest::stripe::{
    invoice_fact, parse_event, subscription_change, verify_signature, InvoiceFact, SignatureError,
    StripeError, SubscriptionChange, DEFAULT_TOLERANCE_SECONDS,
};

const SECRET: &str = "whsec_test_secret";
const T: i64 = 1_700_000_000;
/// The FORMATS.md test vector: `SECRET`, `T`, body `{}`.
const VECTOR_V1: &str = "ceb8863f7208fa249a6cd8f951e993c7563412aca65866f6272283debe143ab3";
/// 2025-03-01T12:00:00Z, the `created` of every test event.
const CREATED: i64 = 1_740_830_400;

// ---------------------------------------------------------------------------------------------
// Signatures

/// Verifies `body` against `header` with `SECRET` at `now`, default tolerance.
fn check_signature(header: Option<&str>, body: &str, now: i64) -> Result<(), SignatureError> {
    verify_signature(
        header,
        body.as_bytes(),
        SECRET,
        now,
        DEFAULT_TOLERANCE_SECONDS,
    )
}

/// Name, header, body, now and the expected answer.
type SignatureCase = (
    &'static str,
    Option<String>,
    &'static str,
    i64,
    Result<(), SignatureError>,
);

#[test]
fn signatures() {
    let good = format!("t={T},v1={VECTOR_V1}");
    let wrong = "0".repeat(64);
    let cases: Vec<SignatureCase> = vec![
        ("test vector", Some(good.clone()), "{}", T, Ok(())),
        (
            "spaces around items",
            Some(format!(" t={T} , v1={VECTOR_V1} ")),
            "{}",
            T,
            Ok(()),
        ),
        (
            "second of two v1 matches (secret rotation)",
            Some(format!("t={T},v1={wrong},v1={VECTOR_V1}")),
            "{}",
            T,
            Ok(()),
        ),
        (
            "v0 beside v1 is ignored",
            Some(format!("t={T},v0={wrong},v1={VECTOR_V1}")),
            "{}",
            T,
            Ok(()),
        ),
        (
            "v0 only",
            Some(format!("t={T},v0={VECTOR_V1}")),
            "{}",
            T,
            Err(SignatureError::NoV1),
        ),
        (
            "missing header",
            None,
            "{}",
            T,
            Err(SignatureError::Missing),
        ),
        (
            "blank header",
            Some("  ".to_owned()),
            "{}",
            T,
            Err(SignatureError::Missing),
        ),
        (
            "no timestamp",
            Some(format!("v1={VECTOR_V1}")),
            "{}",
            T,
            Err(SignatureError::Malformed(
                "there is no t=<timestamp> item".to_owned(),
            )),
        ),
        (
            "timestamp not a number",
            Some(format!("t=soon,v1={VECTOR_V1}")),
            "{}",
            T,
            Err(SignatureError::Malformed(
                "t=\"soon\" is not a unix time in seconds".to_owned(),
            )),
        ),
        (
            "item without =",
            Some(format!("t={T},{VECTOR_V1}")),
            "{}",
            T,
            Err(SignatureError::Malformed(format!(
                "{VECTOR_V1:?} is not a key=value item"
            ))),
        ),
        (
            "two timestamps",
            Some(format!("t={T},t={T},v1={VECTOR_V1}")),
            "{}",
            T,
            Err(SignatureError::Malformed("t appears twice".to_owned())),
        ),
        (
            "at the edge of the tolerance",
            Some(good.clone()),
            "{}",
            T + 300,
            Ok(()),
        ),
        (
            "stale",
            Some(good.clone()),
            "{}",
            T + 301,
            Err(SignatureError::Stale { age_seconds: 301 }),
        ),
        (
            "future",
            Some(good.clone()),
            "{}",
            T - 301,
            Err(SignatureError::Stale { age_seconds: -301 }),
        ),
        (
            "mismatch",
            Some(format!("t={T},v1={wrong}")),
            "{}",
            T,
            Err(SignatureError::Mismatch),
        ),
        (
            "upper-case hex does not match, as in Stripe's libraries",
            Some(format!("t={T},v1={}", VECTOR_V1.to_uppercase())),
            "{}",
            T,
            Err(SignatureError::Mismatch),
        ),
        (
            "signature of another timestamp",
            Some(format!("t={},v1={VECTOR_V1}", T + 1)),
            "{}",
            T,
            Err(SignatureError::Mismatch),
        ),
        (
            "tampered body",
            Some(good.clone()),
            "{ }",
            T,
            Err(SignatureError::Mismatch),
        ),
        (
            "a stale forgery is a mismatch, not stale",
            Some(format!("t={T},v1={wrong}")),
            "{}",
            T + 10_000,
            Err(SignatureError::Mismatch),
        ),
    ];
    for (name, header, body, now, expected) in cases {
        assert_eq!(
            check_signature(header.as_deref(), body, now),
            expected,
            "{name}"
        );
    }
}

#[test]
fn the_secret_is_used_as_given_with_its_prefix() {
    let header = format!("t={T},v1={VECTOR_V1}");
    let without_prefix = verify_signature(
        Some(&header),
        b"{}",
        "test_secret",
        T,
        DEFAULT_TOLERANCE_SECONDS,
    );
    assert_eq!(without_prefix, Err(SignatureError::Mismatch));
}

#[test]
fn signature_errors_say_what_to_do() {
    let stale = SignatureError::Stale { age_seconds: 400 }.to_string();
    assert!(stale.contains("400 seconds old"), "{stale}");
    let future = SignatureError::Stale { age_seconds: -400 }.to_string();
    assert!(future.contains("400 seconds in the future"), "{future}");
    assert!(SignatureError::Mismatch.to_string().contains("secret"));
    for e in [
        SignatureError::Missing,
        SignatureError::NoV1,
        SignatureError::Mismatch,
        SignatureError::Malformed("x".into()),
    ] {
        let text = e.to_string();
        assert!(text.starts_with(|c: char| c.is_lowercase()), "{text}");
        assert!(!text.ends_with('.'), "{text}");
    }
}

// ---------------------------------------------------------------------------------------------
// Envelopes

fn envelope(event_type: &str, object: Value) -> Value {
    json!({
        "id": "evt_1", "object": "event", "api_version": "2024-06-20", "created": CREATED,
        "livemode": false, "type": event_type, "data": {"object": object}
    })
}

#[test]
fn parse_event_keeps_the_whole_payload() {
    let payload = envelope(
        "customer.created",
        json!({"id": "cus_1", "object": "customer"}),
    );
    let event = parse_event(payload.to_string().as_bytes()).unwrap();
    assert_eq!(event.provider, "stripe");
    assert_eq!(event.event_id, "evt_1");
    assert_eq!(event.event_type, "customer.created");
    assert_eq!(event.payload, payload);
}

#[test]
fn parse_event_rejects_what_is_not_an_event() {
    let cases: &[(&str, &str)] = &[
        ("{", "invalid json: EOF while parsing an object at line 1 column 1"),
        ("[]", "stripe event: body is not a JSON object"),
        (r#"{"type":"x","data":{"object":{}}}"#, "stripe event: id is missing"),
        (r#"{"id":" ","type":"x","data":{"object":{}}}"#, "stripe event: id is empty"),
        (r#"{"id":"evt_1","data":{"object":{}}}"#, "stripe event evt_1: type is missing"),
        (r#"{"id":"evt_1","type":7,"data":{"object":{}}}"#, "stripe event evt_1: type is not a string"),
        (r#"{"id":"evt_1","type":"x"}"#, "stripe event evt_1: data is missing"),
        (r#"{"id":"evt_1","type":"x","data":{}}"#, "stripe event evt_1: data.object is missing"),
        (r#"{"id":"evt_1","type":"x","data":{"object":"sub_1"}}"#, "stripe event evt_1: data.object is not an object"),
        (
            r#"{"id":"evt_1","object":"v2.core.event","type":"x","data":{"object":{}}}"#,
            "stripe event evt_1: object is \"v2.core.event\", expected \"event\" (thin event notifications carry no data: send snapshot events)",
        ),
    ];
    for (body, message) in cases {
        match parse_event(body.as_bytes()) {
            Ok(e) => panic!("{body} accepted: {e:?}"),
            Err(e) => assert_eq!(e.to_string(), *message, "{body}"),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Subscriptions

/// A licensed item of `unit_amount` per `interval` × `count`, `quantity` seats.
fn item(unit_amount: i64, interval: &str, count: i64, quantity: i64) -> Value {
    json!({
        "id": "si_1", "object": "subscription_item", "quantity": quantity,
        "price": {
            "id": "price_1", "object": "price", "currency": "usd", "unit_amount": unit_amount,
            "unit_amount_decimal": unit_amount.to_string(), "nickname": "Pro",
            "product": "prod_1", "billing_scheme": "per_unit",
            "recurring": {"interval": interval, "interval_count": count, "usage_type": "licensed"}
        }
    })
}

/// An active subscription with `items` (before API 2025-03-31: period on the subscription),
/// with `extra` merged over it.
fn sub(items: Vec<Value>, extra: Value) -> Value {
    let mut s = json!({
        "id": "sub_1", "object": "subscription", "customer": "cus_1", "currency": "usd",
        "status": "active", "metadata": {}, "discount": null, "discounts": [],
        "current_period_start": CREATED, "current_period_end": CREATED + 31 * 86_400,
        "items": {"object": "list", "data": items}
    });
    merge(&mut s, extra);
    s
}

fn merge(base: &mut Value, extra: Value) {
    if let (Some(b), Value::Object(e)) = (base.as_object_mut(), extra) {
        for (k, v) in e {
            b.insert(k, v);
        }
    }
}

fn event_of(event_type: &str, object: Value) -> tenure_core::WebhookEvent {
    parse_event(envelope(event_type, object).to_string().as_bytes()).unwrap()
}

/// What `object` sent as `event_type` means for the ledger.
fn change(event_type: &str, object: Value) -> Result<Option<SubscriptionChange>, StripeError> {
    subscription_change(&event_of(event_type, object))
}

fn mrr_of(event_type: &str, object: Value) -> i64 {
    match change(event_type, object.clone()) {
        Ok(Some(c)) => c.mrr.minor,
        other => panic!("{object}: {other:?}"),
    }
}

fn coupon_percent(percent: f64) -> Value {
    json!({"id": "co_p", "object": "coupon", "percent_off": percent, "amount_off": null, "currency": null, "duration": "forever"})
}

fn coupon_amount(amount: i64, currency: &str) -> Value {
    json!({"id": "co_a", "object": "coupon", "percent_off": null, "amount_off": amount, "currency": currency, "duration": "forever"})
}

#[test]
fn mrr_of_subscription_events() {
    let updated = "customer.subscription.updated";
    let metered = json!({
        "id": "si_m", "object": "subscription_item",
        "price": {"id": "price_m", "currency": "usd", "unit_amount": 5, "unit_amount_decimal": "5",
                  "recurring": {"interval": "month", "interval_count": 1, "usage_type": "metered"}}
    });
    let decimal_item = json!({
        "id": "si_d", "quantity": 1,
        "price": {"id": "price_d", "currency": "usd", "unit_amount": null, "unit_amount_decimal": "1999.5",
                  "recurring": {"interval": "month", "interval_count": 1, "usage_type": "licensed"}}
    });
    let mut decimal_three = decimal_item.clone();
    decimal_three["quantity"] = json!(3);
    let legacy_plan_item = json!({
        "id": "si_l", "quantity": 2,
        "plan": {"id": "plan_l", "object": "plan", "currency": "usd", "amount": 1500, "interval": "month",
                 "interval_count": 1, "usage_type": "licensed", "nickname": "Legacy"}
    });
    let cases: Vec<(&str, &str, Value, i64)> = vec![
        (
            "monthly",
            updated,
            sub(vec![item(4_900, "month", 1, 1)], json!({})),
            4_900,
        ),
        (
            "created event",
            "customer.subscription.created",
            sub(vec![item(4_900, "month", 1, 1)], json!({})),
            4_900,
        ),
        (
            "yearly ÷ 12",
            updated,
            sub(vec![item(120_000, "year", 1, 1)], json!({})),
            10_000,
        ),
        (
            "yearly ÷ 12, rounded",
            updated,
            sub(vec![item(99_900, "year", 1, 1)], json!({})),
            8_325,
        ),
        (
            "weekly × 52 ÷ 12",
            updated,
            sub(vec![item(1_000, "week", 1, 1)], json!({})),
            4_333,
        ),
        (
            "daily × 365 ÷ 12",
            updated,
            sub(vec![item(100, "day", 1, 1)], json!({})),
            3_042,
        ),
        (
            "every 3 months",
            updated,
            sub(vec![item(30_000, "month", 3, 1)], json!({})),
            10_000,
        ),
        (
            "every 2 years",
            updated,
            sub(vec![item(240_000, "year", 2, 1)], json!({})),
            10_000,
        ),
        (
            "quantity",
            updated,
            sub(vec![item(2_000, "month", 1, 5)], json!({})),
            10_000,
        ),
        (
            "two items",
            updated,
            sub(
                vec![item(4_900, "month", 1, 1), item(12_000, "year", 1, 1)],
                json!({}),
            ),
            5_900,
        ),
        (
            "metered item skipped",
            updated,
            sub(vec![item(4_900, "month", 1, 1), metered.clone()], json!({})),
            4_900,
        ),
        ("only metered", updated, sub(vec![metered], json!({})), 0),
        (
            "unit_amount_decimal 1999.5 rounds half away from zero",
            updated,
            sub(vec![decimal_item], json!({})),
            2_000,
        ),
        (
            "unit_amount_decimal × 3 rounds once, at the end",
            updated,
            sub(vec![decimal_three], json!({})),
            5_999,
        ),
        (
            "legacy plan on the item",
            updated,
            sub(vec![legacy_plan_item], json!({})),
            3_000,
        ),
        (
            "percent discount in discounts[]",
            updated,
            sub(
                vec![item(10_000, "month", 1, 1)],
                json!({"discounts": [{"id": "di_1", "object": "discount", "coupon": coupon_percent(20.0)}]}),
            ),
            8_000,
        ),
        (
            "percent discount in legacy discount",
            updated,
            sub(
                vec![item(10_000, "month", 1, 1)],
                json!({"discount": {"id": "di_1", "object": "discount", "coupon": coupon_percent(12.5)}}),
            ),
            8_750,
        ),
        (
            "legacy discount also listed expanded in discounts[] applies once",
            updated,
            sub(
                vec![item(10_000, "month", 1, 1)],
                json!({
                    "discount": {"id": "di_1", "coupon": coupon_percent(50.0)},
                    "discounts": [{"id": "di_1", "coupon": coupon_percent(50.0)}]
                }),
            ),
            5_000,
        ),
        (
            "legacy discount expanded while discounts[] holds its id",
            updated,
            sub(
                vec![item(10_000, "month", 1, 1)],
                json!({
                    "discount": {"id": "di_1", "coupon": coupon_percent(50.0)},
                    "discounts": ["di_1"]
                }),
            ),
            5_000,
        ),
        (
            "ids-only discounts cannot be applied",
            updated,
            sub(
                vec![item(10_000, "month", 1, 1)],
                json!({"discounts": ["di_1", {"id": "di_2", "coupon": "co_2"}]}),
            ),
            10_000,
        ),
        (
            "amount discount, monthly",
            updated,
            sub(
                vec![item(4_900, "month", 1, 1)],
                json!({"discounts": [{"id": "di_1", "coupon": coupon_amount(500, "usd")}]}),
            ),
            4_400,
        ),
        (
            "amount discount per invoice is normalised like the price (yearly)",
            updated,
            sub(
                vec![item(120_000, "year", 1, 1)],
                json!({"discount": {"id": "di_1", "coupon": coupon_amount(12_000, "usd")}}),
            ),
            9_000,
        ),
        (
            "amount discount through source.coupon (API 2025-03-31+)",
            updated,
            sub(
                vec![item(4_900, "month", 1, 1)],
                json!({"discounts": [{"id": "di_1", "source": {"type": "coupon", "coupon": coupon_amount(900, "usd")}}]}),
            ),
            4_000,
        ),
        (
            "amount discount from currency_options",
            updated,
            sub(
                vec![item(4_900, "month", 1, 1)],
                json!({"discounts": [{"id": "di_1", "coupon": {
                    "id": "co_x", "amount_off": 1_000, "currency": "eur", "currency_options": {"usd": {"amount_off": 1_100}}
                }}]}),
            ),
            3_800,
        ),
        (
            "discounts apply in order: 10% then 1,000 off",
            updated,
            sub(
                vec![item(10_000, "month", 1, 1)],
                json!({"discounts": [
                    {"id": "di_1", "coupon": coupon_percent(10.0)},
                    {"id": "di_2", "coupon": coupon_amount(1_000, "usd")}
                ]}),
            ),
            8_000,
        ),
        (
            "amount discount never below 0",
            updated,
            sub(
                vec![item(4_900, "month", 1, 1)],
                json!({"discounts": [{"id": "di_1", "coupon": coupon_amount(10_000, "usd")}]}),
            ),
            0,
        ),
        (
            "item-level discount",
            updated,
            {
                let mut discounted = item(4_900, "month", 1, 1);
                discounted["discounts"] = json!([{"id": "di_i", "coupon": coupon_percent(100.0)}]);
                sub(vec![discounted, item(1_000, "month", 1, 1)], json!({}))
            },
            1_000,
        ),
        (
            "past_due still counts",
            updated,
            sub(
                vec![item(4_900, "month", 1, 1)],
                json!({"status": "past_due"}),
            ),
            4_900,
        ),
        (
            "canceled",
            updated,
            sub(
                vec![item(4_900, "month", 1, 1)],
                json!({"status": "canceled"}),
            ),
            0,
        ),
        (
            "unpaid",
            updated,
            sub(
                vec![item(4_900, "month", 1, 1)],
                json!({"status": "unpaid"}),
            ),
            0,
        ),
        (
            "incomplete",
            "customer.subscription.created",
            sub(
                vec![item(4_900, "month", 1, 1)],
                json!({"status": "incomplete"}),
            ),
            0,
        ),
        (
            "incomplete_expired",
            updated,
            sub(
                vec![item(4_900, "month", 1, 1)],
                json!({"status": "incomplete_expired"}),
            ),
            0,
        ),
        (
            "trialing is not MRR",
            "customer.subscription.created",
            sub(
                vec![item(4_900, "month", 1, 1)],
                json!({"status": "trialing"}),
            ),
            0,
        ),
        (
            "paused",
            "customer.subscription.paused",
            sub(
                vec![item(4_900, "month", 1, 1)],
                json!({"status": "paused"}),
            ),
            0,
        ),
        (
            "resumed",
            "customer.subscription.resumed",
            sub(vec![item(4_900, "month", 1, 1)], json!({})),
            4_900,
        ),
        (
            "deleted event is 0 whatever the status",
            "customer.subscription.deleted",
            sub(vec![item(4_900, "month", 1, 1)], json!({})),
            0,
        ),
        (
            "cancel at period end still counts",
            updated,
            sub(
                vec![item(4_900, "month", 1, 1)],
                json!({"cancel_at_period_end": true}),
            ),
            4_900,
        ),
    ];
    for (name, event_type, object, expected) in cases {
        assert_eq!(mrr_of(event_type, object), expected, "{name}");
    }
}

#[test]
fn both_api_shapes_give_the_same_change() {
    let items = vec![item(4_900, "month", 1, 3), item(12_000, "year", 1, 1)];
    let old = sub(items.clone(), json!({}));
    let mut new = old.clone();
    let object = new.as_object_mut().unwrap();
    let start = object.remove("current_period_start").unwrap();
    let end = object.remove("current_period_end").unwrap();
    for (i, it) in new["items"]["data"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .enumerate()
    {
        it["current_period_start"] = start.clone();
        // the yearly item renews later; the period end is the earliest
        it["current_period_end"] = json!(end.as_i64().unwrap() + i as i64 * 86_400 * 300);
    }
    let old = change("customer.subscription.updated", old)
        .unwrap()
        .unwrap();
    let new = change("customer.subscription.updated", new)
        .unwrap()
        .unwrap();
    assert_eq!(old, new);
    assert_eq!(old.mrr.minor, 3 * 4_900 + 1_000);
    assert_eq!(
        old.period_end,
        Some(Timestamp::parse("2025-04-01T12:00:00Z").unwrap())
    );
    assert_eq!(old.at, Timestamp::parse("2025-03-01T12:00:00Z").unwrap());
    assert_eq!(old.mrr.currency, Currency::USD);
    assert_eq!(old.plan.as_deref(), Some("Pro"));
    assert_eq!(old.seats, Some(3));
    assert_eq!(old.status, "active");
    assert_eq!(old.subscription_id, "sub_1");
}

#[test]
fn the_account_and_the_rest_of_a_change() {
    let base = || sub(vec![item(4_900, "month", 1, 1)], json!({}));
    let with = |extra: Value| {
        let mut s = base();
        merge(&mut s, extra);
        change("customer.subscription.updated", s).unwrap().unwrap()
    };
    let cases: Vec<(&str, SubscriptionChange, Value)> = vec![
        (
            "customer id when no metadata",
            with(json!({})),
            json!({"account": "cus_1", "customer": "cus_1"}),
        ),
        (
            "subscription metadata.account_id",
            with(json!({"metadata": {"account_id": "acct_9"}})),
            json!({"account": "acct_9", "customer": "cus_1"}),
        ),
        (
            "expanded customer's metadata.account_id",
            with(
                json!({"customer": {"id": "cus_2", "object": "customer", "metadata": {"account_id": "acct_7"}}}),
            ),
            json!({"account": "acct_7", "customer": "cus_2"}),
        ),
        (
            "subscription metadata wins over the customer's",
            with(
                json!({"metadata": {"account_id": "acct_9"}, "customer": {"id": "cus_2", "metadata": {"account_id": "acct_7"}}}),
            ),
            json!({"account": "acct_9", "customer": "cus_2"}),
        ),
        (
            "expanded customer without metadata",
            with(json!({"customer": {"id": "cus_3", "metadata": {}}})),
            json!({"account": "cus_3", "customer": "cus_3"}),
        ),
        (
            "blank metadata.account_id is ignored",
            with(json!({"metadata": {"account_id": " "}})),
            json!({"account": "cus_1", "customer": "cus_1"}),
        ),
    ];
    for (name, c, expected) in cases {
        let got = json!({"account": c.account_id.as_str(), "customer": c.customer_id});
        assert_eq!(got, expected, "{name}");
    }

    let eur = with(json!({"currency": "eur"}));
    assert_eq!(eur.mrr.currency.as_str(), "EUR");
    let no_sub_currency = {
        let mut s = base();
        s.as_object_mut().unwrap().remove("currency");
        change("customer.subscription.updated", s).unwrap().unwrap()
    };
    assert_eq!(no_sub_currency.mrr.currency, Currency::USD);
    let mut unnamed = item(4_900, "month", 1, 1);
    unnamed["price"]["nickname"] = Value::Null;
    unnamed["price"]["product"] = json!({"id": "prod_1", "name": "Team"});
    let c = change(
        "customer.subscription.updated",
        sub(vec![unnamed], json!({})),
    )
    .unwrap()
    .unwrap();
    assert_eq!(c.plan.as_deref(), Some("Team"));
}

#[test]
fn other_event_types_are_not_subscription_changes() {
    for event_type in [
        "customer.created",
        "invoice.paid",
        "customer.subscription.trial_will_end",
    ] {
        let object = sub(vec![item(4_900, "month", 1, 1)], json!({}));
        assert_eq!(change(event_type, object), Ok(None), "{event_type}");
    }
    let object = json!({"id": "in_1", "object": "invoice"});
    assert_eq!(
        invoice_fact(&event_of("customer.subscription.updated", object)),
        Ok(None)
    );
}

#[test]
fn subscription_errors_say_what_and_where() {
    let updated = "customer.subscription.updated";
    let mut tiered = item(4_900, "month", 1, 1);
    tiered["price"]["unit_amount"] = Value::Null;
    tiered["price"]["unit_amount_decimal"] = Value::Null;
    let mut fortnight = item(4_900, "month", 1, 1);
    fortnight["price"]["recurring"]["interval"] = json!("fortnight");
    let mut one_time = item(4_900, "month", 1, 1);
    one_time["price"]["recurring"] = Value::Null;
    let cases: Vec<(Value, &str)> = vec![
        (
            sub(vec![tiered], json!({})),
            "stripe event evt_1: data.object.items.data[0].price.unit_amount and unit_amount_decimal are both missing: tiered prices are not supported",
        ),
        (
            sub(vec![fortnight], json!({})),
            "stripe event evt_1: data.object.items.data[0].price.recurring.interval is \"fortnight\", expected day, week, month or year",
        ),
        (
            sub(vec![one_time], json!({})),
            "stripe event evt_1: data.object.items.data[0].price.recurring is missing: the price is not recurring",
        ),
        (
            sub(vec![item(4_900, "month", 1, 1)], json!({"status": "dormant"})),
            "stripe event evt_1: data.object.status is \"dormant\", not a subscription status tenure knows",
        ),
        (
            sub(vec![item(4_900, "month", 1, 1)], json!({"customer": null})),
            "stripe event evt_1: data.object.customer is missing",
        ),
        (
            sub(vec![item(4_900, "month", 1, 1)], json!({"currency": "dollars"})),
            "stripe event evt_1: data.object.currency is invalid: \"dollars\" is not a currency code (expected three letters such as USD)",
        ),
        (
            sub(vec![item(4_900, "month", 1, 1)], json!({"items": null})),
            "stripe event evt_1: data.object.items.data is missing",
        ),
        (
            sub(vec![item(4_900, "month", 1, -2)], json!({})),
            "stripe event evt_1: data.object.items.data[0].quantity is negative",
        ),
        (
            sub(vec![item(4_900, "month", 1, 1)], json!({"discounts": [{"id": "di_1", "coupon": coupon_amount(100, "eur")}]})),
            "stripe event evt_1: data.object.discounts[0].coupon.amount_off is in EUR, the subscription in USD, and the coupon has no currency_options for USD",
        ),
    ];
    for (object, message) in cases {
        match change(updated, object.clone()) {
            Err(e) => assert_eq!(e.to_string(), message, "{object}"),
            Ok(c) => panic!("{object} accepted: {c:?}"),
        }
    }
    let mut no_created = envelope(updated, sub(vec![item(4_900, "month", 1, 1)], json!({})));
    no_created.as_object_mut().unwrap().remove("created");
    let event = parse_event(no_created.to_string().as_bytes()).unwrap();
    assert_eq!(
        subscription_change(&event).unwrap_err().to_string(),
        "stripe event evt_1: created is missing"
    );
}

// ---------------------------------------------------------------------------------------------
// Invoices

fn fact(event_type: &str, object: Value) -> Result<Option<InvoiceFact>, StripeError> {
    invoice_fact(&event_of(event_type, object))
}

#[test]
fn invoice_facts() {
    let paid_at = CREATED - 60;
    let old_shape = json!({
        "id": "in_1", "object": "invoice", "customer": "cus_1", "currency": "usd",
        "amount_paid": 4_900, "amount_due": 4_900, "total": 4_900, "status": "paid",
        "subscription": "sub_1", "billing_reason": "subscription_cycle",
        "subscription_details": {"metadata": {"account_id": "acct_9"}},
        "status_transitions": {"paid_at": paid_at}
    });
    let new_shape = json!({
        "id": "in_2", "object": "invoice", "customer": "cus_1", "currency": "eur",
        "amount_paid": 1_200, "amount_due": 1_200, "status": "paid",
        "parent": {"type": "subscription_details", "subscription_details": {
            "subscription": "sub_2", "metadata": {"account_id": "acct_8"}}},
        "status_transitions": {"paid_at": null}
    });
    let failed = json!({
        "id": "in_3", "object": "invoice", "customer": {"id": "cus_3", "metadata": {"account_id": "acct_3"}},
        "currency": "usd", "amount_paid": 0, "amount_due": 9_900, "status": "open",
        "parent": {"type": "subscription_details", "subscription_details": {"subscription": "sub_3", "metadata": {}}},
        "status_transitions": {"paid_at": null}
    });
    let one_off = json!({
        "id": "in_4", "object": "invoice", "customer": "cus_4", "currency": "usd",
        "amount_paid": 500, "amount_due": 500, "parent": null, "status_transitions": {"paid_at": paid_at}
    });
    let at = |s: i64| Timestamp::from_millis(s * 1000).to_string();
    let cases: Vec<(&str, &str, Value, Value)> = vec![
        (
            "invoice.paid, old shape",
            "invoice.paid",
            old_shape.clone(),
            json!({"account": "acct_9", "customer": "cus_1", "at": at(paid_at), "amount": "49.00 USD", "paid": true, "invoice": "in_1", "subscription": "sub_1"}),
        ),
        (
            "invoice.payment_succeeded, old shape",
            "invoice.payment_succeeded",
            old_shape,
            json!({"account": "acct_9", "customer": "cus_1", "at": at(paid_at), "amount": "49.00 USD", "paid": true, "invoice": "in_1", "subscription": "sub_1"}),
        ),
        (
            "invoice.paid, new shape (2025-03-31+), no paid_at",
            "invoice.paid",
            new_shape,
            json!({"account": "acct_8", "customer": "cus_1", "at": at(CREATED), "amount": "12.00 EUR", "paid": true, "invoice": "in_2", "subscription": "sub_2"}),
        ),
        (
            "invoice.payment_failed: amount due, account from the customer",
            "invoice.payment_failed",
            failed,
            json!({"account": "acct_3", "customer": "cus_3", "at": at(CREATED), "amount": "99.00 USD", "paid": false, "invoice": "in_3", "subscription": "sub_3"}),
        ),
        (
            "an invoice without a subscription",
            "invoice.paid",
            one_off,
            json!({"account": "cus_4", "customer": "cus_4", "at": at(paid_at), "amount": "5.00 USD", "paid": true, "invoice": "in_4", "subscription": null}),
        ),
    ];
    for (name, event_type, object, expected) in cases {
        let f = fact(event_type, object)
            .unwrap_or_else(|e| panic!("{name}: {e}"))
            .unwrap_or_else(|| panic!("{name}: no fact"));
        let got = json!({
            "account": f.account_id.as_str(), "customer": f.customer_id, "at": f.at.to_string(),
            "amount": f.amount.to_string(), "paid": f.paid, "invoice": f.invoice_id,
            "subscription": f.subscription_id,
        });
        assert_eq!(got, expected, "{name}");
    }
    let broken =
        json!({"id": "in_5", "customer": "cus_1", "currency": "usd", "amount_due": "lots"});
    assert_eq!(
        fact("invoice.payment_failed", broken)
            .unwrap_err()
            .to_string(),
        "stripe event evt_1: data.object.amount_due is \"lots\", expected an integer"
    );
}

// ---------------------------------------------------------------------------------------------
// Real signatures from the official `stripe` Python library

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Makes sure the official Stripe library is importable, installing it if needed.
fn ensure_stripe_library() {
    let importable = || {
        Command::new("python3")
            .args(["-c", "import stripe"])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if !importable() {
        let install = repo_root().join("tests/stripe/install.sh");
        let status = Command::new("bash")
            .arg(&install)
            .status()
            .expect("bash runs");
        assert!(status.success(), "{} failed", install.display());
    }
    assert!(
        importable(),
        "the stripe package is not importable after install"
    );
}

/// The `Stripe-Signature` header the official library computes for `body`.
fn official_header(secret: &str, body: &[u8], timestamp: Option<i64>) -> String {
    let mut cmd = Command::new("python3");
    cmd.arg(repo_root().join("tests/stripe/sign.py"))
        .arg(secret);
    if let Some(t) = timestamp {
        cmd.arg("--timestamp").arg(t.to_string());
    }
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(body)
        .expect("payload written");
    let out = child.wait_with_output().expect("sign.py finishes");
    assert!(
        out.status.success(),
        "sign.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("header is UTF-8")
        .trim()
        .to_owned()
}

#[test]
fn signatures_from_the_official_library_verify() {
    ensure_stripe_library();
    assert_eq!(
        official_header(SECRET, b"{}", Some(T)),
        format!("t={T},v1={VECTOR_V1}")
    );
    let subscription = envelope(
        "customer.subscription.updated",
        sub(
            vec![item(4_900, "month", 1, 2)],
            json!({"metadata": {"account_id": "acct_é"}}),
        ),
    );
    let payloads: Vec<Vec<u8>> = vec![
        serde_json::to_vec_pretty(&subscription).unwrap(),
        subscription.to_string().into_bytes(),
        envelope(
            "invoice.paid",
            json!({"id": "in_1", "note": "naïve \u{1F600}"}),
        )
        .to_string()
        .into_bytes(),
        b"{\n  \"id\": \"evt_x\",\n  \"type\": \"customer.created\"\n}\n".to_vec(),
    ];
    let secret = "whsec_5Ft3kP9cLrQ2mW8xZ1vB7nD4";
    for (i, body) in payloads.iter().enumerate() {
        let header = official_header(secret, body, Some(T + i as i64));
        let now = T + 60;
        assert_eq!(
            verify_signature(Some(&header), body, secret, now, DEFAULT_TOLERANCE_SECONDS),
            Ok(()),
            "payload {i}: {header}"
        );
        assert_eq!(
            verify_signature(
                Some(&header),
                body,
                "whsec_other",
                now,
                DEFAULT_TOLERANCE_SECONDS
            ),
            Err(SignatureError::Mismatch),
            "payload {i} with another secret"
        );
        let mut altered = body.clone();
        altered.push(b' ');
        assert_eq!(
            verify_signature(
                Some(&header),
                &altered,
                secret,
                now,
                DEFAULT_TOLERANCE_SECONDS
            ),
            Err(SignatureError::Mismatch),
            "payload {i} altered"
        );
        assert_eq!(
            verify_signature(
                Some(&header),
                body,
                secret,
                T + 1_000,
                DEFAULT_TOLERANCE_SECONDS
            ),
            Err(SignatureError::Stale {
                age_seconds: 1_000 - i as i64
            }),
            "payload {i} late"
        );
    }

    // Signed at the library's own "now": verify at the t it chose.
    let body = &payloads[0];
    let header = official_header(secret, body, None);
    let t: i64 = header
        .split(',')
        .find_map(|item| item.strip_prefix("t="))
        .expect("the library writes t=")
        .parse()
        .expect("t is an integer");
    assert_eq!(
        verify_signature(Some(&header), body, secret, t, DEFAULT_TOLERANCE_SECONDS),
        Ok(())
    );
    let event = parse_event(body).unwrap();
    let c = subscription_change(&event).unwrap().unwrap();
    assert_eq!((c.account_id.as_str(), c.mrr.minor), ("acct_é", 9_800));
}

/// Every time a Stripe payload carries is bounded as every other input's is (issue 12): from
/// 1970 to year 9999, so a wild `created` cannot stretch every report's calendar.
#[test]
fn event_times_outside_1970_to_9999_are_errors() {
    for created in [-1_i64, 253_402_300_800, i64::MAX / 1000 + 1] {
        let mut event = envelope(
            "customer.subscription.created",
            sub(vec![item(4_900, "month", 1, 1)], json!({})),
        );
        event["created"] = json!(created);
        let event = parse_event(event.to_string().as_bytes()).unwrap();
        let e = subscription_change(&event).unwrap_err();
        assert_eq!(
            e.to_string(),
            "stripe event evt_1: created is out of range for a unix time (1970 to year 9999)",
            "{created}"
        );
    }
}

/// Amounts are bounded as CSV amounts are (`Money::MAX_MINOR`), so one event cannot overflow
/// every total it joins.
#[test]
fn an_absurd_amount_is_an_error() {
    let err = change(
        "customer.subscription.created",
        sub(vec![item(9_000_000_000_000_000, "month", 1, 1)], json!({})),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "stripe event evt_1: data.object.items add up to a monthly amount larger than any tenure accepts"
    );
}
