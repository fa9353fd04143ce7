//! How journeys are built (SPEC §2.2, §3), checked through the reports that read them, on
//! small stories whose figures are worked out by hand in the comments.

mod common;

use common::model_of;
use serde_json::{json, Value};
use tenure_core::{AccountId, Currency, EntryBody, Money, SubscriptionRow, Timestamp};
use tenure_engine::Model;
use tenure_ingest::segment::{parse_message, Limits};
use tenure_reports::{run, Report, ReportParams, ReportSettings};

const DAY: i64 = 86_400_000;
const EMAIL_URL: &str = "https://www.acme.io/?utm_source=brevo&utm_medium=email&utm_campaign=march";

/// 2025-03-01T12:00:00Z plus `days`.
fn day(days: i64) -> Timestamp {
    Timestamp::from_millis(Timestamp::parse("2025-03-01T12:00:00Z").unwrap().millis() + days * DAY)
}

/// A Segment message from its JSON, `id` its message id, sent on `days`.
fn message(id: &str, days: i64, mut body: Value) -> EntryBody {
    body["messageId"] = json!(id);
    body["timestamp"] = json!(day(days).to_string());
    let received = Timestamp::parse("2025-06-01T00:00:00Z").unwrap();
    let line = serde_json::to_vec(&body).unwrap();
    EntryBody::Segment(parse_message(&line, received, &Limits::default()).unwrap())
}

fn page(id: &str, days: i64, who: Value, url: &str, referrer: Option<&str>) -> EntryBody {
    let mut body = json!({"type": "page", "context": {"page": {"url": url}}});
    if let Some(r) = referrer {
        body["context"]["page"]["referrer"] = json!(r);
    }
    merge(&mut body, who);
    message(id, days, body)
}

fn merge(body: &mut Value, extra: Value) {
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
}

fn subscription(account: &str, days: i64) -> EntryBody {
    EntryBody::Subscription(SubscriptionRow {
        account_id: AccountId::parse(account).unwrap(),
        effective_at: day(days),
        mrr: Money::new(10_000, Currency::USD),
        plan: None,
        seats: None,
    })
}

fn report(model: &Model, name: &str, attribution: Option<&str>) -> Report {
    let params = ReportParams {
        by: Some("channel".to_owned()),
        model: attribution.map(str::to_owned),
        ..ReportParams::at(day(30))
    };
    run(name, model, &ReportSettings::default(), &params)
        .unwrap_or_else(|e| panic!("{name} --model {attribution:?}: {e}"))
}

/// `column` of every row, by channel, rounded to 6 decimals.
fn by_channel(report: &Report, column: &str) -> Vec<(String, f64)> {
    let mut out: Vec<(String, f64)> = report
        .rows
        .iter()
        .map(|row| {
            let value = row[column].as_f64().unwrap();
            (
                row["channel"].as_str().unwrap().to_owned(),
                (value * 1e6).round() / 1e6,
            )
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn expected(pairs: &[(&str, f64)]) -> Vec<(String, f64)> {
    pairs.iter().map(|(c, v)| ((*c).to_owned(), *v)).collect()
}

#[test]
fn w_shaped_finds_lead_and_opportunity_sent_before_the_person_joined_the_account() {
    // a1 visits five times; it asks for a demo (day 3) while anonymous, is identified as u1 and
    // grouped with acct_1 on day 6, creates an opportunity on day 9 without naming the account,
    // and acct_1 pays on day 12. Touches, one session each:
    //   day 0  organic_search  first touch
    //   day 2  email           last touch at or before the lead (day 3)
    //   day 5  paid_search
    //   day 8  referral        last touch at or before the opportunity (day 9)
    //   day 10 organic_social
    // W-shaped: the three roles 30% each; the two other touches share 10%, 5% each. (Without
    // the milestones the first touch held 90% and the other four 2.5% each.)
    let a1 = json!({"anonymousId": "a1"});
    let u1 = json!({"userId": "u1"});
    let model = model_of([
        page(
            "p1",
            0,
            a1.clone(),
            "https://www.acme.io/pricing",
            Some("https://www.google.com/"),
        ),
        page("p2", 2, a1.clone(), EMAIL_URL, None),
        message(
            "t1",
            3,
            json!({"type": "track", "event": "Demo Requested", "anonymousId": "a1"}),
        ),
        page("p3", 5, a1.clone(), "https://www.acme.io/?gclid=abc", None),
        message(
            "i1",
            6,
            json!({"type": "identify", "anonymousId": "a1", "userId": "u1"}),
        ),
        message(
            "g1",
            6,
            json!({"type": "group", "userId": "u1", "groupId": "acct_1"}),
        ),
        page(
            "p4",
            8,
            u1.clone(),
            "https://www.acme.io/blog",
            Some("https://news.ycombinator.com/"),
        ),
        message(
            "t2",
            9,
            json!({"type": "track", "event": "Opportunity Created", "userId": "u1"}),
        ),
        page(
            "p5",
            10,
            u1,
            "https://www.acme.io/",
            Some("https://www.linkedin.com/feed/"),
        ),
        subscription("acct_1", 12),
    ]);
    let credits = by_channel(
        &report(&model, "attribution", Some("w_shaped")),
        "conversions",
    );
    assert_eq!(
        credits,
        expected(&[
            ("email", 0.3),
            ("organic_search", 0.3),
            ("organic_social", 0.05),
            ("paid_search", 0.05),
            ("referral", 0.3),
        ])
    );
}
