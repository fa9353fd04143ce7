//! Stripe end to end: events signed by the official `stripe` Python package, in both API
//! shapes, sent to the running server; the MRR report then shows what they mean.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use common::{repo_root, Tenure};
use serde_json::{json, Value};

const SECRET: &str = "whsec_tenure_e2e_secret";

fn ensure_stripe_library() {
    common::ensure("the stripe package", "stripe/install.sh", || {
        common::python_has("stripe")
    });
}

/// The Stripe-Signature header the official library computes for `body` now.
fn sign(body: &[u8], secret: &str) -> String {
    let mut child = Command::new("python3")
        .arg(repo_root().join("tests/stripe/sign.py"))
        .arg(secret)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(body).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// A subscription event in the shape before API version 2025-03-31: the period on the
/// subscription.
fn old_shape(
    id: &str,
    kind: &str,
    created: i64,
    sub: &str,
    account: &str,
    unit: i64,
    qty: i64,
) -> Value {
    json!({
        "id": id, "object": "event", "type": kind, "created": created, "api_version": "2024-06-20", "livemode": false,
        "data": {"object": {
            "id": sub, "object": "subscription", "customer": "cus_old", "currency": "usd", "status": "active",
            "metadata": {"account_id": account},
            "current_period_start": created, "current_period_end": created + 2_592_000,
            "items": {"object": "list", "data": [{
                "id": "si_1", "object": "subscription_item", "quantity": qty,
                "price": {"id": "price_m", "object": "price", "currency": "usd", "unit_amount": unit,
                          "recurring": {"interval": "month", "interval_count": 1, "usage_type": "licensed"}}
            }]}
        }}
    })
}

/// The shape since 2025-03-31: the period on each item; a yearly price and a 10% coupon.
fn new_shape(id: &str, created: i64, sub: &str, account: &str) -> Value {
    json!({
        "id": id, "object": "event", "type": "customer.subscription.created", "created": created,
        "api_version": "2025-03-31.basil", "livemode": false,
        "data": {"object": {
            "id": sub, "object": "subscription", "customer": "cus_new", "currency": "usd", "status": "active",
            "metadata": {"account_id": account},
            "discounts": [{"id": "di_1", "object": "discount", "coupon": {"id": "TEN", "object": "coupon", "percent_off": 10.0}}],
            "items": {"object": "list", "data": [{
                "id": "si_2", "object": "subscription_item", "quantity": 2,
                "current_period_start": created, "current_period_end": created + 31_536_000,
                "price": {"id": "price_y", "object": "price", "currency": "usd", "unit_amount": 120_000,
                          "recurring": {"interval": "year", "interval_count": 1, "usage_type": "licensed"}}
            }]}
        }}
    })
}

#[test]
fn signed_stripe_events_in_both_shapes_become_mrr_once_and_in_time_order() {
    ensure_stripe_library();
    let tenure = Tenure::new();
    let read_key = tenure.key("read");
    let server = tenure.serve_with_env(&[], &[("TENURE_STRIPE_WEBHOOK_SECRET", SECRET)]);
    let client = reqwest::blocking::Client::new();
    let post = |event: &Value, secret: &str| {
        let body = serde_json::to_vec(event).unwrap();
        let response = client
            .post(format!("{}/webhooks/stripe", server.url))
            .header("Stripe-Signature", sign(&body, secret))
            .header("Content-Type", "application/json")
            .body(body)
            .send()
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json::<Value>().unwrap())
    };
    let t1 = 1_760_000_000; // 2025-10-09
                            // sub_A: 3 seats at 50.00 a month = 150.00, old shape
    assert_eq!(
        post(
            &old_shape(
                "evt_1",
                "customer.subscription.created",
                t1,
                "sub_A",
                "acct_s1",
                5_000,
                3
            ),
            SECRET
        )
        .0,
        200
    );
    // sub_B: 2 × 1,200.00 a year, 10% off = 180.00 a month, new shape
    let b = new_shape("evt_2", t1, "sub_B", "acct_s2");
    assert_eq!(
        post(&b, SECRET),
        (200, json!({"received": true, "duplicate": false}))
    );
    // sub_A grows to 5 seats = 250.00 a month, later
    assert_eq!(
        post(
            &old_shape(
                "evt_3",
                "customer.subscription.updated",
                t1 + 864_000,
                "sub_A",
                "acct_s1",
                5_000,
                5
            ),
            SECRET
        )
        .0,
        200
    );
    // Stripe retries evt_2: acknowledged, not applied twice
    assert_eq!(
        post(&b, SECRET),
        (200, json!({"received": true, "duplicate": true}))
    );
    // an older event for sub_A arrives last: it is history, not the current state
    assert_eq!(
        post(
            &old_shape(
                "evt_0",
                "customer.subscription.updated",
                t1 - 864_000,
                "sub_A",
                "acct_s1",
                5_000,
                1
            ),
            SECRET
        )
        .0,
        200
    );
    // a wrong signature is refused and stores nothing
    let (status, body) = post(
        &old_shape(
            "evt_9",
            "customer.subscription.deleted",
            t1 + 999,
            "sub_A",
            "acct_s1",
            5_000,
            5,
        ),
        "whsec_wrong",
    );
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("signature_mismatch")),
        "{body}"
    );

    let report: Value = client
        .get(format!("{}/api/v1/reports/mrr?by=plan", server.url))
        .basic_auth(&read_key, Some(""))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let months: Vec<&Value> = report["rows"].as_array().unwrap().iter().collect();
    let total_now: f64 = months
        .iter()
        .filter(|r| r["month"] == months.last().unwrap()["month"])
        .map(|r| r["mrr"].as_f64().unwrap())
        .sum();
    assert_eq!(total_now, 430.0, "{report}");
    let overall: Value = client
        .get(format!("{}/api/v1/reports/mrr", server.url))
        .basic_auth(&read_key, Some(""))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let rows = overall["rows"].as_array().unwrap();
    // September: sub_A new at 50 (the late, older event); October: sub_B new 180, sub_A +100, +100
    let sept = rows.iter().find(|r| r["month"] == "2025-09").unwrap();
    assert_eq!(
        (sept["new"].as_f64(), sept["mrr"].as_f64()),
        (Some(50.0), Some(50.0))
    );
    let oct = rows.iter().find(|r| r["month"] == "2025-10").unwrap();
    assert_eq!(
        (
            oct["new"].as_f64(),
            oct["expansion"].as_f64(),
            oct["mrr"].as_f64()
        ),
        (Some(180.0), Some(200.0), Some(430.0))
    );
    assert_eq!(rows.last().unwrap()["customers"], 2);
}

#[test]
fn without_a_secret_stripe_events_get_503_so_stripe_retries() {
    let tenure = Tenure::new();
    let server = tenure.serve(&[]);
    let response = reqwest::blocking::Client::new()
        .post(format!("{}/webhooks/stripe", server.url))
        .header("Stripe-Signature", "t=1,v1=00")
        .body("{}")
        .send()
        .unwrap();
    assert_eq!(response.status(), 503);
    assert!(response.headers().contains_key("retry-after"));
}
