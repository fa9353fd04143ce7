//! Stages, transitions, milestones and the funnel on three accounts whose lives are worked out
//! by hand, the stage and band groupings and filters on the simulated company, and the
//! lifecycles a running server keeps between reports (`Lifecycles`).

mod common;
use common::t;

use serde_json::{json, Value};
use tenure_core::{
    AccountId, Currency, DealKind, DealRow, DealStatus, EntryBody, Money, SubscriptionRow,
    Timestamp,
};
use tenure_engine::Model;
use tenure_health::{StageRule, StageSettings};
use tenure_reports::{run, Lifecycles, Report, ReportParams, ReportSettings};

fn paying(account: &str, at: &str, mrr: i64) -> EntryBody {
    EntryBody::Subscription(SubscriptionRow {
        account_id: AccountId::parse(account).unwrap(),
        effective_at: t(at),
        mrr: Money::new(mrr, Currency::USD),
        plan: Some("pro".into()),
        seats: Some(5),
    })
}

fn track(id: usize, account: &str, user: &str, event: &str, at: &str) -> EntryBody {
    let line = json!({"type": "track", "messageId": format!("m{id}"), "userId": user,
        "event": event, "timestamp": at, "context": {"groupId": account}});
    EntryBody::Segment(
        tenure_ingest::segment::parse_message(
            line.to_string().as_bytes(),
            // Imported after every event here: an import may not hold events after it.
            Timestamp::parse("2030-01-01T00:00:00Z").unwrap(),
            &Default::default(),
        )
        .unwrap(),
    )
}

/// Account `a`: pays from 2025-01-01, activates on 01-08 10:00 (the second user's report within
/// 14 days), uses 3 of the 6 key features by 01-20, wins a renewal deal on 02-01, makes a
/// referral on 02-15, expands on 03-10 and churns on 05-01.
/// Account `b`: pays from 2025-06-15 and activates on 06-20 10:00.
/// Account `c`: pays from 2025-03-01 and never activates.
fn three_accounts() -> Model {
    common::model_of(three_accounts_entries())
}

/// The entries of [`three_accounts`].
fn three_accounts_entries() -> Vec<EntryBody> {
    let tracks = [
        ("a", "u1", "Report Created", "2025-01-05T10:00:00Z"),
        ("a", "u2", "Report Created", "2025-01-08T10:00:00Z"),
        ("a", "u1", "Dashboard Shared", "2025-01-20T10:00:00Z"),
        ("a", "u1", "Alert Configured", "2025-01-20T11:00:00Z"),
        ("a", "u1", "Referral Made", "2025-02-15T10:00:00Z"),
        ("b", "v1", "Report Created", "2025-06-18T10:00:00Z"),
        ("b", "v2", "Report Created", "2025-06-20T10:00:00Z"),
        ("c", "w1", "Logged In", "2025-03-05T10:00:00Z"),
    ];
    let mut bodies = vec![
        paying("a", "2025-01-01T00:00:00Z", 10_000),
        paying("a", "2025-03-10T00:00:00Z", 15_000),
        paying("a", "2025-05-01T00:00:00Z", 0),
        paying("b", "2025-06-15T00:00:00Z", 10_000),
        paying("c", "2025-03-01T00:00:00Z", 10_000),
        EntryBody::Deal(DealRow {
            deal_id: "renewal-a".into(),
            account_id: AccountId::parse("a").unwrap(),
            kind: DealKind::Renewal,
            status: DealStatus::Won,
            amount: Money::new(120_000, Currency::USD),
            created_at: t("2025-01-15T00:00:00Z"),
            closed_at: Some(t("2025-02-01T00:00:00Z")),
            contract_start: None,
            contract_end: None,
        }),
    ];
    for (i, (account, user, event, at)) in tracks.into_iter().enumerate() {
        bodies.push(track(i, account, user, event, at));
    }
    bodies
}

/// Four stages whose rules do not depend on the health score, so every day is known by hand.
fn settings() -> ReportSettings {
    let rule = |name: &str, when: &[&str]| StageRule {
        name: name.into(),
        when: when.iter().map(|c| (*c).into()).collect(),
        stay: Vec::new(),
    };
    ReportSettings {
        stages: StageSettings {
            stages: vec![
                rule("onboarding", &["customer"]),
                rule("activated", &["customer", "activated"]),
                rule("expanding", &["customer", "expanded_within:30"]),
                rule("churned", &["churned"]),
            ],
        },
        ..ReportSettings::default()
    }
}

fn report(model: &Model, name: &str, account: Option<&str>) -> Report {
    let params = ReportParams {
        account: account.map(str::to_owned),
        ..ReportParams::at(Timestamp::parse_end_of("2025-06-30").unwrap())
    };
    run(name, model, &settings(), &params).unwrap()
}

fn end_of(day: &str) -> String {
    Timestamp::parse_end_of(day).unwrap().to_string()
}

#[test]
fn transitions_and_milestones_by_hand() {
    let model = three_accounts();
    let r = report(&model, "account", Some("a"));
    let summary = r.summary.unwrap();
    // Each day is evaluated at its end: the stage changes the day the rule starts to hold.
    // Expanded on 03-10 00:00; `expanded_within:30` holds until 30 days later, so on 04-08's
    // end (29 d 23 h later) and not on 04-09's. Not paying after 05-01: churned to the end.
    let expected = json!([
        {"at": end_of("2025-01-01"), "from": null, "to": "onboarding"},
        {"at": end_of("2025-01-08"), "from": "onboarding", "to": "activated"},
        {"at": end_of("2025-03-10"), "from": "activated", "to": "expanding"},
        {"at": end_of("2025-04-09"), "from": "expanding", "to": "activated"},
        {"at": end_of("2025-05-01"), "from": "activated", "to": "churned"},
    ]);
    assert_eq!(summary["stage_history"], expected);
    assert_eq!(summary["stage"], "churned");
    // Activation at the second user's report; adoption (3 of 6 key features in 30 days) at
    // the end of 01-20; the referral makes the advocate milestone.
    assert_eq!(
        summary["milestones"],
        json!({
            "activated": "2025-01-08T10:00:00.000Z",
            "adopted": end_of("2025-01-20"),
            "first_expansion": "2025-03-10T00:00:00.000Z",
            "renewed": "2025-02-01T00:00:00.000Z",
            "advocate": "2025-02-15T10:00:00.000Z",
            "churned": "2025-05-01T00:00:00.000Z",
        })
    );
    // The health history holds the month ends while the account was evaluated daily, and the
    // report instant: January to April, then 06-30.
    let history: Vec<&str> = summary["health_history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["at"].as_str().unwrap())
        .collect();
    let months = [
        "2025-01-31",
        "2025-02-28",
        "2025-03-31",
        "2025-04-30",
        "2025-06-30",
    ];
    assert_eq!(history, months.map(end_of));
    let stages_in_timeline = r.rows.iter().filter(|row| row["kind"] == "stage").count();
    assert_eq!(stages_in_timeline, 5);
    let milestones_in_timeline = r
        .rows
        .iter()
        .filter(|row| row["kind"] == "milestone")
        .count();
    assert_eq!(milestones_in_timeline, 6);
}

fn row<'r>(r: &'r Report, stage: &str) -> &'r serde_json::Map<String, Value> {
    r.rows.iter().find(|row| row["stage"] == stage).unwrap()
}

#[test]
fn the_funnel_by_hand() {
    let model = three_accounts();
    let r = report(&model, "funnel", None);
    // onboarding: a (01-01 → 01-08, 7 days), b (06-15 → 06-20, 5 days), c (still there).
    let onboarding = row(&r, "onboarding");
    assert_eq!(onboarding["entered"], 3);
    assert_eq!(onboarding["now"], 1);
    assert_eq!(onboarding["reached_next"], 2);
    assert_eq!(onboarding["conversion_to_next"], 0.666667);
    assert_eq!(onboarding["spells_completed"], 2);
    assert_eq!(onboarding["spells_ongoing"], 1);
    assert_eq!(onboarding["median_days_in_stage"], 6.0);
    // activated: a twice (01-08 → 03-10, 61 days; 04-09 → 05-01, 22 days), b still there.
    let activated = row(&r, "activated");
    assert_eq!(activated["entered"], 2);
    assert_eq!(activated["now"], 1);
    assert_eq!(activated["reached_next"], 1);
    assert_eq!(activated["spells_completed"], 2);
    assert_eq!(activated["median_days_in_stage"], 41.5);
    assert_eq!(activated["mean_days_in_stage"], 41.5);
    // expanding: a, 03-10 → 04-09, 30 days, then churned (not the next stage directly, but
    // later: reached).
    let expanding = row(&r, "expanding");
    assert_eq!(
        (&expanding["entered"], &expanding["reached_next"]),
        (&json!(1), &json!(1))
    );
    assert_eq!(expanding["median_days_in_stage"], 30.0);
    let churned = row(&r, "churned");
    assert_eq!(
        (&churned["now"], &churned["next_stage"]),
        (&json!(1), &Value::Null)
    );

    let summary = r.summary.unwrap();
    assert_eq!(summary["customers"], 3);
    // Within 30 days: a (converted 01-01, activated day 7.4) and c (03-01, never) are old
    // enough; b (06-15) is not. 1 of 2.
    assert_eq!(
        summary["activation"],
        json!({"within_days": 30, "eligible": 2, "activated": 1, "rate": 0.5})
    );
    // TTV: a 7 d 10 h = 7.416667, b 5 d 10 h = 5.416667.
    let ttv = &summary["time_to_value_days"];
    assert_eq!(ttv["activated"], 2);
    assert_eq!(ttv["median"], 6.416667);
    assert_eq!(ttv["p25"], 5.916667);
    assert_eq!(ttv["histogram"][0], json!({"days": "0-7", "accounts": 1}));
    assert_eq!(ttv["histogram"][1], json!({"days": "7-14", "accounts": 1}));
    assert_eq!(summary["milestones"]["churned"]["accounts"], 1);
    assert_eq!(
        summary["milestones"]["first_expansion"]["median_days_from_conversion"],
        68.0
    );
}

fn group(n: usize, account: &str, variant: &str) -> EntryBody {
    let line = json!({"type": "group", "messageId": format!("g{n}"), "userId": "x",
        "groupId": account, "timestamp": "2025-01-01T00:00:00Z",
        "traits": {"onboarding_variant": variant}});
    EntryBody::Segment(
        tenure_ingest::segment::parse_message(
            line.to_string().as_bytes(),
            Timestamp::parse("2030-01-01T00:00:00Z").unwrap(),
            &Default::default(),
        )
        .unwrap(),
    )
}

#[test]
fn the_funnel_by_an_account_trait() {
    // The three accounts, `a` and `c` in the "guided" onboarding and `b` in "self_serve".
    let mut entries = three_accounts_entries();
    entries.extend([
        group(1, "a", "guided"),
        group(2, "b", "self_serve"),
        group(3, "c", "guided"),
    ]);
    let model = common::model_of(entries);
    let params = ReportParams {
        by: Some("onboarding_variant".into()),
        ..ReportParams::at(Timestamp::parse_end_of("2025-06-30").unwrap())
    };
    let r = run("funnel", &model, &settings(), &params).unwrap();
    assert_eq!(r.columns[0], "onboarding_variant");
    let cell = |variant: &str, stage: &str, column: &str| {
        r.rows
            .iter()
            .find(|row| row["onboarding_variant"] == variant && row["stage"] == stage)
            .unwrap_or_else(|| panic!("a {variant} {stage} row"))[column]
            .clone()
    };
    // guided: a (onboarding 7 days, then activated) and c (onboarding still): 2 entered, 1
    // went on, 1 there now; activated: a only, twice (61 and 22 days), gone on to expanding.
    assert_eq!(cell("guided", "onboarding", "entered"), 2);
    assert_eq!(cell("guided", "onboarding", "now"), 1);
    assert_eq!(cell("guided", "onboarding", "reached_next"), 1);
    assert_eq!(cell("guided", "onboarding", "conversion_to_next"), 0.5);
    assert_eq!(cell("guided", "onboarding", "median_days_in_stage"), 7.0);
    assert_eq!(cell("guided", "activated", "entered"), 1);
    assert_eq!(cell("guided", "activated", "now"), 0);
    assert_eq!(cell("guided", "activated", "spells_completed"), 2);
    assert_eq!(cell("guided", "churned", "now"), 1);
    // self_serve: b alone, onboarding 5 days then activated, there now.
    assert_eq!(cell("self_serve", "onboarding", "entered"), 1);
    assert_eq!(cell("self_serve", "onboarding", "conversion_to_next"), 1.0);
    assert_eq!(
        cell("self_serve", "onboarding", "median_days_in_stage"),
        5.0
    );
    assert_eq!(cell("self_serve", "activated", "now"), 1);
    assert_eq!(cell("self_serve", "expanding", "entered"), 0);
    // Every row is one group's: 4 stages × 2 groups.
    assert_eq!(r.rows.len(), 8);
    // Activation within 30 days per group: guided 1 of 2 (a yes, c no); self_serve's b
    // converted too late to count.
    let groups = &r.summary.as_ref().unwrap()["groups"];
    assert_eq!(
        groups,
        &json!([
            {"onboarding_variant": "guided", "customers": 2,
             "activation": {"within_days": 30, "eligible": 2, "activated": 1, "rate": 0.5}},
            {"onboarding_variant": "self_serve", "customers": 1,
             "activation": {"within_days": 30, "eligible": 0, "activated": 0, "rate": null}},
        ])
    );
}

#[test]
fn stage_filter_and_grouping_agree() {
    let model = three_accounts();
    let at = Timestamp::parse_end_of("2025-06-30").unwrap();
    let params = |edit: &dyn Fn(&mut ReportParams)| {
        let mut p = ReportParams::at(at);
        edit(&mut p);
        p
    };
    let accounts = run(
        "accounts",
        &model,
        &settings(),
        &params(&|p| p.filters.stage = Some("activated".into())),
    )
    .unwrap();
    let ids: Vec<&str> = accounts
        .rows
        .iter()
        .map(|r| r["account"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["b"]);
    let mrr = run(
        "mrr",
        &model,
        &settings(),
        &params(&|p| p.by = Some("stage".into())),
    )
    .unwrap();
    let groups: Vec<&str> = mrr
        .rows
        .iter()
        .map(|r| r["stage"].as_str().unwrap())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    assert_eq!(groups, ["activated", "churned", "onboarding"]);
    let unknown = run(
        "accounts",
        &model,
        &settings(),
        &params(&|p| p.filters.stage = Some("dormant".into())),
    )
    .unwrap_err();
    assert!(
        unknown
            .to_string()
            .contains("\"dormant\" is not a configured stage (expected one of onboarding, activated, expanding, churned)"),
        "{unknown}"
    );
}

/// The last month's MRR of each group of `--by NAME`, summed, and the ungrouped one.
fn last_month_mrr(model: &Model, by: Option<&str>) -> f64 {
    let mut params = ReportParams::at(Timestamp::parse_end_of("2026-10-31").unwrap());
    params.by = by.map(str::to_owned);
    let r = run("mrr", model, &ReportSettings::default(), &params).unwrap();
    let last = r.rows.last().unwrap()["month"].clone();
    r.rows
        .iter()
        .filter(|row| row["month"] == last)
        .map(|row| row["mrr"].as_f64().unwrap())
        .sum()
}

#[test]
fn on_the_simulated_company_stages_and_bands_partition_the_customers() {
    let (model, _) = common::company(400);
    let total = last_month_mrr(&model, None);
    assert!(total > 0.0);
    for by in ["stage", "band"] {
        let grouped = last_month_mrr(&model, Some(by));
        assert!(
            (grouped - total).abs() < 0.01,
            "--by {by}: {grouped} vs {total}"
        );
    }
    let at = Timestamp::parse_end_of("2026-10-31").unwrap();
    let accounts = run(
        "accounts",
        &model,
        &ReportSettings::default(),
        &ReportParams::at(at),
    )
    .unwrap();
    let summary = accounts.summary.unwrap();
    let by_stage = summary["by_stage"].as_object().unwrap();
    let staged: u64 = by_stage.values().map(|v| v.as_u64().unwrap()).sum();
    assert_eq!(Some(staged), summary["accounts"].as_u64(), "{by_stage:?}");
    assert_eq!(by_stage["churned"], 0, "customers only");
    for (stage, n) in by_stage {
        let mut params = ReportParams::at(at);
        params.filters.stage = Some(stage.clone());
        let filtered = run("accounts", &model, &ReportSettings::default(), &params).unwrap();
        assert_eq!(Some(filtered.rows.len() as u64), n.as_u64(), "{stage}");
        assert!(filtered.rows.iter().all(|r| r["stage"] == *stage));
    }
    // The funnel's current counts are the accounts report's, plus the churned.
    let funnel = run(
        "funnel",
        &model,
        &ReportSettings::default(),
        &ReportParams::at(at),
    )
    .unwrap();
    for row in &funnel.rows {
        let stage = row["stage"].as_str().unwrap();
        if stage != "churned" {
            assert_eq!(row["now"], by_stage[stage], "{stage}");
        }
    }
    let summary = funnel.summary.unwrap();
    let rate = summary["activation"]["rate"].as_f64().unwrap();
    println!("funnel at 400 accounts: {summary:#}");
    assert!((0.0..=1.0).contains(&rate));
}

#[test]
fn adoption_by_hand() {
    let model = three_accounts();
    let r = report(&model, "adoption", None);
    // a has churned; b used Report Created in the last 30 days (1 of 6), c only Logged In, in
    // March. Least adopted first.
    let rows: Vec<(&str, &Value, &Value, &str)> = r
        .rows
        .iter()
        .map(|row| {
            (
                row["account"].as_str().unwrap(),
                &row["depth"],
                &row["adopting"],
                row["key_features_used"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("c", &json!(0.0), &json!(false), ""),
            ("b", &json!(0.166667), &json!(false), "Report Created"),
        ]
    );
    let summary = r.summary.unwrap();
    assert_eq!(summary["customers"], 2);
    assert_eq!(summary["mean_depth"], 0.083333);
    assert_eq!(summary["adopting"], 0);
    assert_eq!(summary["feature_reach"]["Report Created"], 0.5);
    assert_eq!(summary["feature_reach"]["Export Downloaded"], 0.0);
    // Without key features adoption is undefined, and the error says where to set them.
    let mut settings = settings();
    settings.adoption.key_features.clear();
    let params = ReportParams::at(Timestamp::parse_end_of("2025-06-30").unwrap());
    let error = run("adoption", &model, &settings, &params).unwrap_err();
    assert!(
        error.to_string().contains("[adoption] key_features"),
        "{error}"
    );
}

/// The long reports taken in turns with the model (as the server takes it, lock by lock) are
/// the same reports, and they do take separate turns: the revenue first, then the accounts.
#[test]
fn reports_in_turns_are_the_same_reports() {
    let (model, _) = common::company(400);
    let params = ReportParams::at(Timestamp::parse_end_of("2026-10-31").unwrap());
    let settings = ReportSettings::default();
    let whole = run("funnel", &model, &settings, &params).unwrap();
    let turns = std::cell::Cell::new(0);
    let with_model: tenure_reports::WithModel = &|f| {
        turns.set(turns.get() + 1);
        f(&model)
    };
    let limits = tenure_reports::Limits {
        now: params.as_of,
        should_stop: &|| false,
    };
    let in_turns =
        tenure_reports::run_in_turns("funnel", with_model, &settings, &params, limits).unwrap();
    assert_eq!(
        serde_json::to_value(&whole).unwrap(),
        serde_json::to_value(&in_turns).unwrap()
    );
    let customers = whole.summary.as_ref().unwrap()["customers"]
        .as_u64()
        .unwrap();
    assert!(customers > 0);
    // One turn for the bounds and warnings, one for the revenue, one per 64 customers.
    assert_eq!(turns.get() as u64, 2 + customers.div_ceil(64));
    // The month-end reports take turns too, with the same result; any other report takes one.
    for (name, many) in [
        ("health-backtest", true),
        ("churn-model", true),
        ("forecast", true),
        ("accounts", false),
    ] {
        turns.set(0);
        let in_turns =
            tenure_reports::run_in_turns(name, with_model, &settings, &params, limits).unwrap();
        let whole = run(name, &model, &settings, &params).unwrap();
        assert_eq!(
            serde_json::to_value(&whole).unwrap(),
            serde_json::to_value(&in_turns).unwrap(),
            "{name}"
        );
        assert_eq!(turns.get() > 2, many, "{name}: {} turns", turns.get());
    }
}

/// `funnel` as of `as_of`, as JSON: from nothing, or with `kept` as a server runs it.
fn funnel_json(
    model: &Model,
    settings: &ReportSettings,
    as_of: Timestamp,
    kept: Option<&Lifecycles>,
) -> Value {
    report_json("funnel", model, settings, as_of, kept)
}

/// The reports that go on from what a server keeps (`Lifecycles`): the funnel from each
/// customer's walk, the account reports from each customer's day ends, the churn model and
/// the forecast from each account's month-end snapshots.
const KEEPING: &[&str] = &[
    "funnel",
    "accounts",
    "signals",
    "renewals",
    "churn-model",
    "forecast",
];

/// Report `name` as of `as_of`, as JSON: from nothing, or with `kept` as a server runs it.
fn report_json(
    name: &str,
    model: &Model,
    settings: &ReportSettings,
    as_of: Timestamp,
    kept: Option<&Lifecycles>,
) -> Value {
    let params = ReportParams::at(as_of);
    let report = match kept {
        None => run(name, model, settings, &params),
        Some(kept) => tenure_reports::run_in_turns_keeping(
            name,
            &|f| f(model),
            settings,
            &params,
            tenure_reports::Limits {
                now: as_of,
                should_stop: &|| false,
            },
            kept,
        ),
    };
    // Too little history for the churn model is an answer too, and must be the same.
    match report {
        Ok(report) => serde_json::to_value(report).unwrap(),
        Err(e) => serde_json::json!({ "error": e.to_string() }),
    }
}

/// The entries of a small simulated company, once.
fn small_company() -> &'static [EntryBody] {
    static ENTRIES: std::sync::OnceLock<Vec<EntryBody>> = std::sync::OnceLock::new();
    ENTRIES.get_or_init(|| common::company_entries(120, 7).0)
}

/// `order` shuffled by `seed` (xorshift; Fisher–Yates).
fn shuffled(mut order: Vec<usize>, mut seed: u64) -> Vec<usize> {
    seed |= 1;
    for i in (1..order.len()).rev() {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        order.swap(i, (seed % (i as u64 + 1)) as usize);
    }
    order
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 6, ..Default::default() })]

    /// The funnel and the account reports with kept lifecycles are those from nothing, after
    /// any batches of entries (in any order: revenue, usage and links arrive between reports)
    /// and reports at instants going forwards and back, at day ends and within days.
    #[test]
    fn kept_lifecycles_give_the_reports_from_nothing(
        seed in proptest::prelude::any::<u64>(),
        cuts in proptest::collection::vec(0.0..1.0f64, 1..4),
        instants in proptest::collection::vec(
            proptest::collection::vec((0i64..760, proptest::prelude::any::<bool>()), 1..4),
            4,
        ),
    ) {
        let entries = small_company();
        let order = shuffled((0..entries.len()).collect(), seed);
        let mut cuts: Vec<usize> = cuts.iter().map(|c| (c * order.len() as f64) as usize).collect();
        cuts.push(order.len());
        cuts.sort_unstable();
        let settings = ReportSettings::default();
        let kept = Lifecycles::default();
        let mut model = Model::new(Default::default());
        let first = Timestamp::parse("2024-11-01T00:00:00Z").unwrap();
        let mut applied = 0;
        for (batch, cut) in cuts.into_iter().enumerate() {
            for &i in &order[applied..cut] {
                common::apply(&mut model, i as i64 + 1, entries[i].clone());
            }
            applied = applied.max(cut);
            for &(day, at_day_end) in &instants[batch] {
                let day_start = first.plus_millis(day * 86_400_000);
                // A day's end, as the default instant is, or some instant within the day.
                let as_of = day_start.plus_millis(if at_day_end { 86_399_999 } else { 37_000_123 });
                for name in KEEPING {
                    proptest::prop_assert_eq!(
                        report_json(name, &model, &settings, as_of, Some(&kept)),
                        report_json(name, &model, &settings, as_of, None),
                        "{} after {} entries, as of {}", name, applied, as_of
                    );
                }
            }
        }
        proptest::prop_assert!(!kept.is_empty());
        proptest::prop_assert!(kept.day_ends_kept() > 0);
        proptest::prop_assert!(kept.samples_kept() > 0);
    }
}

/// An account whose usage changes after its lifecycle was kept is evaluated again: the funnel
/// follows the change (which a stale entry would miss) and stays the funnel from nothing.
#[test]
fn a_kept_lifecycle_follows_the_accounts_usage() {
    let entries = three_accounts_entries();
    let mut model = common::model_of(entries.clone());
    let settings = settings();
    let at = Timestamp::parse_end_of("2025-06-30").unwrap();
    let kept = Lifecycles::default();
    let before = funnel_json(&model, &settings, at, Some(&kept));
    assert_eq!(before, funnel_json(&model, &settings, at, None));
    assert_eq!(kept.len(), 3, "a, b and c are kept");
    assert_eq!(before["summary"]["time_to_value_days"]["activated"], 2);
    // `c` (paying from 03-01, never active) now activates: a second user's report within
    // 14 days of the first, on 03-12.
    let activating = [
        track(100, "c", "w2", "Report Created", "2025-03-10T09:00:00Z"),
        track(101, "c", "w3", "Report Created", "2025-03-12T09:00:00Z"),
    ];
    for (i, body) in activating.into_iter().enumerate() {
        common::apply(&mut model, (entries.len() + i + 1) as i64, body);
    }
    let after = funnel_json(&model, &settings, at, Some(&kept));
    assert_eq!(after, funnel_json(&model, &settings, at, None));
    assert_eq!(after["summary"]["time_to_value_days"]["activated"], 3);
    assert_ne!(
        row_of(&before, "onboarding")["now"],
        row_of(&after, "onboarding")["now"],
        "c left onboarding"
    );
    // And back to an earlier instant and on again, with the entries kept for the later one.
    let earlier = Timestamp::parse_end_of("2025-03-11").unwrap();
    assert_eq!(
        funnel_json(&model, &settings, earlier, Some(&kept)),
        funnel_json(&model, &settings, earlier, None)
    );
    assert_eq!(funnel_json(&model, &settings, at, Some(&kept)), after);
}

fn row_of<'r>(report: &'r Value, stage: &str) -> &'r Value {
    report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row["stage"] == stage)
        .unwrap()
}

/// A funnel stopped part way (a server's report budget) keeps the lifecycles it evaluated, and
/// the next one, going on from them, is the funnel from nothing.
#[test]
fn a_stopped_funnel_keeps_what_it_evaluated() {
    let (model, _) = common::company(200);
    let settings = ReportSettings::default();
    let at = Timestamp::parse_end_of("2026-10-31").unwrap();
    let params = ReportParams::at(at);
    let kept = Lifecycles::default();
    let asked = std::sync::atomic::AtomicUsize::new(0);
    let stop_soon = || asked.fetch_add(1, std::sync::atomic::Ordering::Relaxed) > 30;
    let stopped = tenure_reports::run_in_turns_keeping(
        "funnel",
        &|f| f(&model),
        &settings,
        &params,
        tenure_reports::Limits {
            now: at,
            should_stop: &stop_soon,
        },
        &kept,
    );
    assert!(stopped.is_err());
    let customers = funnel_json(&model, &settings, at, None)["summary"]["customers"]
        .as_u64()
        .unwrap() as usize;
    assert!(
        (1..customers).contains(&kept.len()),
        "{} of {customers} kept",
        kept.len()
    );
    assert_eq!(
        funnel_json(&model, &settings, at, Some(&kept)),
        funnel_json(&model, &settings, at, None)
    );
    assert_eq!(kept.len(), customers);
}

/// A server's status refresh, going on from the day ends it kept, gives every account the
/// status scored from nothing, at instants moving on within a day and across days.
#[test]
fn kept_statuses_are_the_statuses_from_nothing() {
    let (model, _) = common::company(200);
    let settings = ReportSettings::default();
    let stages = tenure_reports::stage_rules(&settings).unwrap();
    let accounts: Vec<&tenure_core::AccountId> = model.account_ids().collect();
    let kept = Lifecycles::default();
    let start = Timestamp::parse("2026-06-14T09:30:00Z").unwrap();
    let mut scored = 0;
    for minutes in [0, 1, 600, 60 * 24, 60 * 24 * 9 + 7] {
        let at = start.plus_millis(minutes * 60_000);
        let kept_statuses =
            tenure_reports::account_statuses(&model, &settings, &stages, &accounts, at, &kept);
        for (account, status) in accounts.iter().zip(kept_statuses) {
            let fresh =
                tenure_reports::account_status(&model, &settings, &stages, account, at).unwrap();
            assert_eq!(status.unwrap(), fresh, "{} at {at}", account.as_str());
            scored += usize::from(fresh.is_some());
        }
    }
    assert!(kept.day_ends_kept() >= 30, "{} kept", kept.day_ends_kept());
    assert!(scored >= 150, "{scored} statuses");
}
