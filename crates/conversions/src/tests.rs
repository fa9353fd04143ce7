use tenure_core::{AccountId, Timestamp};
use tenure_playbooks::{Destination, DestinationKind};
use tenure_reports::{AccountRevenue, Movement, MovementKind};

use crate::*;

const DAY: i64 = 86_400_000;

fn at(text: &str) -> Timestamp {
    Timestamp::parse(text).unwrap()
}

fn destinations() -> Vec<Destination> {
    let mut google = Destination::named("google", DestinationKind::Google);
    google.click_window_days = Some(30);
    vec![
        Destination::named("meta", DestinationKind::Meta),
        google,
        Destination::named("linkedin", DestinationKind::Linkedin),
        Destination::named("hooks", DestinationKind::Webhook),
        Destination::named("csv", DestinationKind::GoogleCsv),
        Destination::named("cs_channel", DestinationKind::Slack),
    ]
}

fn rules(toml_text: &str) -> Result<Vec<Rule>, ConversionError> {
    #[derive(serde::Deserialize)]
    struct File {
        conversions: Vec<ConversionConfig>,
    }
    let file: File = toml::from_str(toml_text).expect("the test's TOML parses");
    let destinations = destinations();
    let stages = vec!["customer".to_owned(), "expansion_ready".to_owned()];
    let playbooks = vec!["sales_qualified".to_owned()];
    validate(
        &file.conversions,
        Known {
            destinations: &destinations,
            stages: &stages,
            playbooks: &playbooks,
        },
    )
}

fn rule(toml_text: &str) -> Rule {
    rules(toml_text).unwrap().remove(0)
}

fn error(toml_text: &str) -> String {
    rules(toml_text).unwrap_err().to_string()
}

#[test]
fn a_rule_names_its_milestone_value_and_destinations() {
    let r = rule(
        r#"[[conversions]]
name = "renewed"
milestone = "renewed"
value = "predicted_ltv"
send = [{ destination = "meta", as = "Renewed" }, { destination = "google", as = "987654321" }, { destination = "hooks" }]
"#,
    );
    assert_eq!(r.milestone, Milestone::Renewed);
    assert_eq!(r.value, ValueKind::PredictedLtv);
    assert_eq!(r.firing_name(), "conversion:renewed");
    let names: Vec<(&str, &str, u32)> = r
        .send
        .iter()
        .map(|s| {
            (
                s.destination.as_str(),
                s.platform_name.as_str(),
                s.click_window_days,
            )
        })
        .collect();
    // The webhook's name defaults to the rule's; Meta's click window to 7 days, Google's to
    // the destination's own 30.
    assert_eq!(
        names,
        vec![
            ("meta", "Renewed", 7),
            ("google", "987654321", 30),
            ("hooks", "renewed", 90)
        ]
    );
    assert!(!r.send[0].takes_adjustments());
    assert!(r.send[1].takes_adjustments() && r.send[2].takes_adjustments());
    assert_eq!(r.lookback_days, 90);
    assert_eq!(r.restate_threshold, 0.05);
}

#[test]
fn a_wrong_rule_is_refused_with_its_key() {
    let cases = [
        (
            r#"[[conversions]]
name = "x"
milestone = "signed"
send = [{ destination = "meta", as = "X" }]"#,
            "conversions[0].milestone: unknown milestone \"signed\"",
        ),
        (
            r#"[[conversions]]
name = "x"
milestone = "stage_entered"
stage = "vip"
send = [{ destination = "meta", as = "X" }]"#,
            "conversions[0].stage: unknown stage \"vip\"",
        ),
        (
            r#"[[conversions]]
name = "x"
milestone = "playbook_fired"
send = [{ destination = "meta", as = "X" }]"#,
            "conversions[0].playbook: milestone = \"playbook_fired\" needs",
        ),
        (
            r#"[[conversions]]
name = "x"
milestone = "activated"
value = "fixed"
send = [{ destination = "meta", as = "X" }]"#,
            "conversions[0].fixed_value: value = \"fixed\" needs the amount",
        ),
        (
            r#"[[conversions]]
name = "x"
milestone = "activated"
send = [{ destination = "google", as = "Activated" }]"#,
            "conversions[0].send[0].as: \"Activated\": a google conversion is named by its numeric id",
        ),
        (
            r#"[[conversions]]
name = "x"
milestone = "activated"
send = [{ destination = "linkedin" }]"#,
            "conversions[0].send[0].as: a linkedin destination needs the platform's name",
        ),
        (
            r#"[[conversions]]
name = "x"
milestone = "activated"
send = [{ destination = "cs_channel" }]"#,
            "conversions[0].send[0].destination: \"cs_channel\" is a slack destination",
        ),
        (
            r#"[[conversions]]
name = "x"
milestone = "activated"
send = [{ destination = "nowhere" }]"#,
            "conversions[0].send[0].destination: no [[destinations]] entry is named \"nowhere\"",
        ),
        (
            r#"[[conversions]]
name = "x"
milestone = "activated"
send = []"#,
            "conversions[0].send: a rule sends somewhere",
        ),
        (
            r#"[[conversions]]
name = "x"
milestone = "activated"
send = [{ destination = "hooks" }]
[[conversions]]
name = "x"
milestone = "renewed"
send = [{ destination = "hooks" }]"#,
            "conversions[1].name: duplicate name \"x\"",
        ),
    ];
    for (text, expected) in cases {
        let got = error(text);
        assert!(got.starts_with(expected), "{got}\nexpected: {expected}");
    }
}

/// An account converting on 1 Jan at 100.00 MRR, expanding to 150.00 on 1 Mar, churning on
/// 1 May and coming back at 80.00 on 1 Jun (minor units: cents).
fn revenue() -> AccountRevenue {
    let (jan, mar, may, jun) = (
        at("2026-01-01T00:00:00Z"),
        at("2026-03-01T00:00:00Z"),
        at("2026-05-01T00:00:00Z"),
        at("2026-06-01T00:00:00Z"),
    );
    AccountRevenue {
        account: AccountId::parse("acct_1").unwrap(),
        series: vec![(jan, 10_000), (mar, 15_000), (may, 0), (jun, 8_000)],
        movements: vec![
            Movement {
                at: jan,
                kind: MovementKind::New,
                amount: 10_000,
            },
            Movement {
                at: mar,
                kind: MovementKind::Expansion,
                amount: 5_000,
            },
            Movement {
                at: may,
                kind: MovementKind::Churn,
                amount: -15_000,
            },
            Movement {
                at: jun,
                kind: MovementKind::Reactivation,
                amount: 8_000,
            },
        ],
        converted_at: Some(jan),
        churned_at: Some(may),
        first_paid: Some((jan, 10_000)),
    }
}

fn history(revenue: &AccountRevenue) -> History<'_> {
    History {
        revenue,
        minor_per_major: 100.0,
        activated_at: Some(at("2026-01-10T00:00:00Z")),
        renewals: vec![
            ("deal_2".into(), at("2026-12-01T00:00:00Z")),
            ("deal_1".into(), at("2026-02-01T00:00:00Z")),
        ],
        stage_entries: vec![
            ("customer".into(), at("2026-01-01T23:59:59.999Z")),
            ("expansion_ready".into(), at("2026-02-20T23:59:59.999Z")),
        ],
        firings: vec![(
            "sales_qualified".into(),
            "sales_qualified/v1/acct_1/ever".into(),
            at("2025-12-20T00:00:00Z"),
        )],
        predicted_ltv: Some(2_400.456),
    }
}

fn found(milestone: &str, value: &str, now: &str) -> Vec<(String, Timestamp, Option<f64>)> {
    let extra = match milestone {
        "stage_entered" => "stage = \"customer\"\n",
        "playbook_fired" => "playbook = \"sales_qualified\"\n",
        _ => "",
    };
    let fixed = if value == "fixed" {
        "fixed_value = 250.0\n"
    } else {
        ""
    };
    let r = rule(&format!(
        "[[conversions]]\nname = \"r\"\nmilestone = \"{milestone}\"\n{extra}value = \"{value}\"\n{fixed}send = [{{ destination = \"hooks\" }}]\n"
    ));
    let revenue = revenue();
    let account = revenue.account.clone();
    occurrences(&r, &account, &history(&revenue), at(now))
        .into_iter()
        .map(|o| (o.key, o.at, o.value))
        .collect()
}

#[test]
fn each_milestone_is_found_once_per_time_it_happened_with_its_value() {
    let now = "2026-09-01T00:00:00Z";
    // 12 × 100.00 MRR.
    assert_eq!(
        found("first_payment", "initial_arr", now),
        vec![("first".into(), at("2026-01-01T00:00:00Z"), Some(1_200.0))]
    );
    assert_eq!(
        found("activated", "fixed", now),
        vec![("first".into(), at("2026-01-10T00:00:00Z"), Some(250.0))]
    );
    // Paying on day 90 (1 Apr): retained, on that day; realized revenue to then:
    // 100.00 × 59 days (Jan, Feb) + 150.00 × 31 days (Mar), × 12 / 365.25.
    let realized =
        ((10_000.0 * 59.0 + 15_000.0 * 31.0) * 12.0 / 365.25 / 100.0 * 100.0_f64).round() / 100.0;
    assert_eq!(
        found("retained_90d", "realized_revenue", now),
        vec![("first".into(), at("2026-04-01T00:00:00Z"), Some(realized))]
    );
    // Renewals in time order; the December one is still to come.
    assert_eq!(
        found("renewed", "none", now),
        vec![("renewal:deal_1".into(), at("2026-02-01T00:00:00Z"), None)]
    );
    assert_eq!(found("renewed", "none", "2026-12-31T00:00:00Z").len(), 2);
    // The expansion is worth its own ARR: 12 × 50.00; a reactivation is no expansion.
    let march = at("2026-03-01T00:00:00Z");
    assert_eq!(
        found("expanded", "expansion_arr", now),
        vec![(format!("expansion@{}", march.millis()), march, Some(600.0))]
    );
    // Another milestone's expansion ARR: every expansion up to it (none before 1 Feb).
    assert_eq!(found("renewed", "expansion_arr", now)[0].2, Some(0.0));
    assert_eq!(
        found("renewed", "expansion_arr", "2026-12-31T00:00:00Z")[1].2,
        Some(600.0)
    );
    let entered = at("2026-01-01T23:59:59.999Z");
    assert_eq!(
        found("stage_entered", "predicted_ltv", now),
        vec![(
            format!("stage@{}", entered.millis()),
            entered,
            Some(2_400.46)
        )]
    );
    assert_eq!(
        found("playbook_fired", "none", now),
        vec![(
            "firing:sales_qualified/v1/acct_1/ever".into(),
            at("2025-12-20T00:00:00Z"),
            None
        )]
    );
    // Nothing before it happened.
    assert!(found("first_payment", "none", "2025-12-31T00:00:00Z").is_empty());
    assert!(found("retained_90d", "none", "2026-03-31T00:00:00Z").is_empty());
}

#[test]
fn a_churn_counts_inside_its_window_only() {
    let r = revenue();
    let jan = at("2026-01-01T00:00:00Z");
    assert_eq!(
        churn_within(&r, jan, jan.plus_millis(150 * DAY)),
        Some(at("2026-05-01T00:00:00Z"))
    );
    assert_eq!(churn_within(&r, jan, jan.plus_millis(90 * DAY)), None);
    // After the reactivation there is no churn.
    assert_eq!(
        churn_within(&r, at("2026-06-01T00:00:00Z"), at("2027-01-01T00:00:00Z")),
        None
    );
}

#[test]
fn an_event_id_is_stable_and_names_one_conversion() {
    let id = event_id("default", "renewed", "acct_1", "renewal:deal_1");
    assert_eq!(
        id,
        event_id("default", "renewed", "acct_1", "renewal:deal_1")
    );
    assert_eq!(id.len(), 35);
    assert!(id.starts_with("tn-"));
    assert!(id[3..]
        .bytes()
        .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
    let others = [
        event_id("other", "renewed", "acct_1", "renewal:deal_1"),
        event_id("default", "expanded", "acct_1", "renewal:deal_1"),
        event_id("default", "renewed", "acct_2", "renewal:deal_1"),
        event_id("default", "renewed", "acct_1", "renewal:deal_2"),
        // The parts' borders matter.
        event_id("default", "renewe", "dacct_1", "renewal:deal_1"),
    ];
    for other in others {
        assert_ne!(id, other);
    }
}

fn occurrence(value: Option<f64>) -> Occurrence {
    Occurrence {
        rule: "r".into(),
        account: AccountId::parse("acct_1").unwrap(),
        key: "first".into(),
        at: at("2026-01-01T00:00:00.500Z"),
        value,
    }
}

#[test]
fn a_churn_inside_the_window_retracts_once_and_nothing_follows() {
    let o = occurrence(Some(1_200.0));
    let sent = Sent {
        value: Some(1_200.0),
        ..Sent::default()
    };
    let churn = Some(at("2026-02-01T00:00:00Z"));
    let now = at("2026-02-02T10:00:00.750Z");
    assert_eq!(
        adjustment(&o, &sent, churn, 90, 0.05, now),
        Some(Adjustment::Retract {
            previous: Some(1_200.0),
            at: at("2026-02-02T10:00:00Z"),
        })
    );
    // Retracted: never another adjustment, whatever the value does.
    let retracted = Sent {
        retracted: true,
        ..sent.clone()
    };
    assert_eq!(
        adjustment(&occurrence(Some(5.0)), &retracted, churn, 90, 0.05, now),
        None
    );
    // A churn after the window is not this conversion's business.
    let late = Some(at("2026-04-15T00:00:00Z"));
    assert_eq!(
        adjustment(&o, &sent, late, 90, 0.05, at("2026-04-16T00:00:00Z")),
        None
    );
}

#[test]
fn a_value_that_moved_is_restated_each_time_later() {
    let sent = Sent {
        value: Some(1_000.0),
        ..Sent::default()
    };
    let now = at("2026-01-01T00:00:00.900Z");
    // Within 5 %: nothing.
    assert_eq!(
        adjustment(&occurrence(Some(1_040.0)), &sent, None, 90, 0.05, now),
        None
    );
    // Moved 10 %: restated, a whole second after the conversion even though now is in its
    // second.
    assert_eq!(
        adjustment(&occurrence(Some(900.0)), &sent, None, 90, 0.05, now),
        Some(Adjustment::Restate {
            value: 900.0,
            previous: Some(1_000.0),
            at: at("2026-01-01T00:00:01Z"),
        })
    );
    // A second restatement in the same second as the first is dated a second later.
    let restated = Sent {
        value: Some(900.0),
        last_adjusted_at: Some(at("2026-01-05T00:00:00Z")),
        retracted: false,
    };
    let again = adjustment(
        &occurrence(Some(700.0)),
        &restated,
        None,
        90,
        0.05,
        at("2026-01-05T00:00:00.300Z"),
    )
    .unwrap();
    assert_eq!(again.at(), at("2026-01-05T00:00:01Z"));
    // Past the window, nothing.
    assert_eq!(
        adjustment(
            &occurrence(Some(1.0)),
            &sent,
            None,
            30,
            0.05,
            at("2026-03-01T00:00:00Z")
        ),
        None
    );
    // A rule without value restates nothing.
    assert_eq!(
        adjustment(&occurrence(None), &Sent::default(), None, 90, 0.05, now),
        None
    );
}
