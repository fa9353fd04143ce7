//! Product usage and surveys sent before the sender is grouped with the account, naming no
//! account as Segment's SDKs send them, count for it (SPEC §2.1) in health facts, `account`
//! and `adoption`, whatever order the messages arrive in.

mod common;
use common::t;

use serde_json::{json, Value};
use tenure_core::{AccountId, Currency, EntryBody, Money, SubscriptionRow, Timestamp};
use tenure_reports::{facts, run, ReportParams, ReportSettings, Revenue};

fn message(line: Value) -> EntryBody {
    EntryBody::Segment(
        tenure_ingest::segment::parse_message(
            line.to_string().as_bytes(),
            Timestamp::parse("2030-01-01T00:00:00Z").unwrap(),
            &Default::default(),
        )
        .unwrap(),
    )
}

/// Account `a` (4 seats): u1 creates a report on June 20 and answers NPS 9 on June 1, u2 logs
/// in on June 25, and both are grouped with `a` only on June 30. `context` is what the tracks
/// carry (nothing, or the account).
fn company(context: Value) -> Vec<EntryBody> {
    let track = |id: &str, user: &str, event: &str, at: &str, properties: Value| {
        message(
            json!({"type": "track", "messageId": id, "userId": user, "event": event,
            "timestamp": at, "properties": properties, "context": context}),
        )
    };
    let group = |id: &str, user: &str| {
        message(
            json!({"type": "group", "messageId": id, "userId": user, "groupId": "a",
            "timestamp": "2025-06-30T12:00:00Z"}),
        )
    };
    vec![
        EntryBody::Subscription(SubscriptionRow {
            account_id: AccountId::parse("a").unwrap(),
            effective_at: t("2025-01-01T00:00:00Z"),
            mrr: Money::new(40_000, Currency::USD),
            plan: Some("pro".into()),
            seats: Some(4),
        }),
        track(
            "m1",
            "u1",
            "Report Created",
            "2025-06-20T10:00:00Z",
            json!({}),
        ),
        track("m2", "u2", "Logged In", "2025-06-25T10:00:00Z", json!({})),
        track(
            "m3",
            "u1",
            "NPS Submitted",
            "2025-06-01T10:00:00Z",
            json!({"score": 9}),
        ),
        group("g1", "u1"),
        group("g2", "u2"),
    ]
}

#[test]
fn usage_and_nps_sent_before_the_group_call_count_in_either_order() {
    let at = Timestamp::parse_end_of("2025-06-30").unwrap();
    let settings = ReportSettings::default();
    let named = common::model_of(company(json!({"groupId": "a"})));
    let named_revenue = Revenue::build(&named, &settings, &ReportParams::at(at)).unwrap();
    let expected = facts(&named, &settings, &named_revenue.accounts[0], at);

    let mut reversed = company(json!({}));
    reversed.reverse();
    for bodies in [company(json!({})), reversed] {
        let model = common::model_of(bodies);
        let revenue = Revenue::build(&model, &settings, &ReportParams::at(at)).unwrap();
        let f = facts(&model, &settings, &revenue.accounts[0], at);
        // u1 (June 20) and u2 (June 25) are within the last 14 and 30 days; u1's answer is
        // within the year; an activation event and two users within 14 days: activated when
        // u2 arrives.
        assert_eq!((f.active_users_14d, f.active_users_30d), (2, 2));
        assert_eq!(f.nps, [(t("2025-06-01T10:00:00Z").millis(), 9)]);
        assert_eq!(f.activated_at, Some(t("2025-06-25T10:00:00Z").millis()));
        assert_eq!(f.last_activity, Some(t("2025-06-25T10:00:00Z").millis()));
        assert_eq!(
            f, expected,
            "the same facts as when every track names the account"
        );

        let params = ReportParams {
            account: Some("a".into()),
            ..ReportParams::at(at)
        };
        let account = run("account", &model, &settings, &params).unwrap();
        let summary = account.summary.unwrap();
        // The usage component's input: 2 active users in 14 days of 4 seats.
        let usage = &summary["health"]["components"][0];
        assert_eq!(
            (usage["name"].as_str(), usage["input"].as_f64()),
            (Some("usage"), Some(0.5))
        );
        let nps_rows = account
            .rows
            .iter()
            .filter(|row| row["kind"] == "nps")
            .count();
        assert_eq!(nps_rows, 1, "u1's answer is in the timeline");

        let adoption = run("adoption", &model, &settings, &ReportParams::at(at)).unwrap();
        // Of the six default key features only Report Created was used in the 30 days.
        assert_eq!(adoption.rows[0]["key_features_used"], "Report Created");
    }
}
