//! Reports as people, programs and spreadsheets read them, over hand-built ledgers: the table
//! (money with its currency, percentages, widths by display width, the summary as lines, cohorts
//! as triangles), the JSON (the currency named, every field's unit, ISO times and major units in
//! `account`'s facts, no -0.0) and the CSV (the summary after the rows).

mod common;
use common::{sub, t};

use serde_json::Value;
use tenure_core::{AccountId, AccountRow, Currency, EntryBody, Money, SpendRow, Timestamp};
use tenure_engine::Model;
use tenure_reports::{run, Report, ReportParams, ReportSettings, Unit};

fn named(account: &str, name: &str) -> EntryBody {
    EntryBody::Account(AccountRow {
        account_id: AccountId::parse(account).unwrap(),
        name: Some(name.into()),
        domain: None,
        tier: Some("smb".into()),
        industry: None,
        employees: None,
        csm_owner: Some("ana".into()),
        created_at: None,
    })
}

/// Whether any number in `v` is -0.0, which a reader takes for a small loss.
fn has_negative_zero(v: &Value) -> bool {
    match v {
        Value::Number(n) => n.as_f64().is_some_and(|f| f == 0.0 && f.is_sign_negative()),
        Value::Array(items) => items.iter().any(has_negative_zero),
        Value::Object(map) => map.values().any(has_negative_zero),
        _ => false,
    }
}

fn report(name: &str, model: &Model, as_of: &str) -> Report {
    let mut params = ReportParams::at(Timestamp::parse_end_of(as_of).unwrap());
    if ["account", "journey"].contains(&name) {
        params.account = Some("b".into());
    }
    run(name, model, &ReportSettings::default(), &params).unwrap()
}

/// Two customers: `a` pays $100.00 from 10 January 2025 and $150.00 from 15 February (an
/// expansion of $50.00); `b` pays $1,234.56 from 20 January and cancels on 5 March.
fn two_customers() -> Model {
    common::model_of(two_customers_entries())
}

fn two_customers_entries() -> Vec<EntryBody> {
    vec![
        named("a", "Société Générale"),
        named("b", "株式会社テスト"),
        sub("a", "2025-01-10T00:00:00Z", 10_000),
        sub("b", "2025-01-20T00:00:00Z", 123_456),
        sub("a", "2025-02-15T00:00:00Z", 15_000),
        sub("b", "2025-03-05T12:00:00Z", 0),
    ]
}

/// The `mrr` table as of 31 March 2025, computed by hand:
/// - January: new $100.00 + $1,234.56 = $1,334.56; MRR $1,334.56; 2 customers; no MRR at the
///   start, so no churn rates; nothing lost, so no quick ratio.
/// - February: expansion $50.00; MRR $1,384.56; gross churn 0 ÷ $1,334.56 = 0.0% (it was
///   `-0.0`: a negated zero); net churn (0 − 50) ÷ 1,334.56 = −3.7%; nothing lost.
/// - March: churn −$1,234.56; MRR $150.00; 1 customer; gross and net churn 1,234.56 ÷ 1,384.56
///   = 89.2%; quick ratio (0 new + 0 expansion) ÷ 1,234.56 = 0.00.
///
/// ARR (12 × MRR) is left to CSV and JSON, and the table says so.
#[test]
fn mrr_table_shows_money_percentages_and_fits() {
    let table = report("mrr", &two_customers(), "2025-03-31").to_table();
    let expected = "\
month          new  expansion  contraction       churn  reactivation         net        mrr  customers   gross mrr     net mrr  quick
                                                                         new mrr                        churn rate  churn rate  ratio
─────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────
2025-01  $1,334.56      $0.00        $0.00       $0.00         $0.00   $1,334.56  $1,334.56          2
2025-02      $0.00     $50.00        $0.00       $0.00         $0.00      $50.00  $1,384.56          2        0.0%       -3.7%
2025-03      $0.00      $0.00        $0.00  -$1,234.56         $0.00  -$1,234.56    $150.00          1       89.2%       89.2%   0.00
(arr in --format csv and json)
";
    assert_eq!(table, expected, "\n{table}");
}

#[test]
fn json_names_the_currency_and_every_columns_unit_and_has_no_negative_zero() {
    let r = report("mrr", &two_customers(), "2025-03-31");
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["currency"], "USD");
    assert_eq!(json["units"]["mrr"], "money");
    assert_eq!(json["units"]["month"], "month");
    assert_eq!(json["units"]["customers"], "count");
    assert_eq!(json["units"]["gross_mrr_churn_rate"], "fraction");
    assert_eq!(json["units"]["quick_ratio"], "multiple");
    assert_eq!(json["rows"][1]["mrr"], 1384.56);
    assert!(!has_negative_zero(&json), "{json}");
}

/// `b` converts in January 2025 and churns in March: its cohort's logo retention is 100% at
/// months 0 and 1 (end of February) and 0 from month 2 (end of March) — a share of nobody,
/// which was `-0.0` (an empty sum of weights). `a`'s January cohort is the same cohort.
#[test]
fn cohorts_are_triangles_in_tables_and_rows_in_json() {
    let model = common::model_of([
        sub("a", "2025-01-10T00:00:00Z", 10_000),
        sub("a", "2025-02-05T00:00:00Z", 0),
        sub("c", "2025-02-10T00:00:00Z", 5_000),
    ]);
    let r = report("cohorts", &model, "2025-03-31");
    // Rows stay long in JSON: cohort 2025-01 months 0–2, cohort 2025-02 months 0–1.
    assert_eq!(r.rows.len(), 5);
    assert!(!has_negative_zero(&serde_json::to_value(&r).unwrap()));
    assert_eq!(r.rows[2]["logo_retention"], Value::from(0.0));
    let expected = "\
logo retention by months since the cohort's first payment
cohort  accounts initial mrr    0    1  2
─────────────────────────────────────────
2025-01        1     $100.00 100%   0% 0%
2025-02        1      $50.00 100% 100%

revenue retention by months since the cohort's first payment
cohort  accounts initial mrr    0    1  2
─────────────────────────────────────────
2025-01        1     $100.00 100%   0% 0%
2025-02        1      $50.00 100% 100%
";
    assert_eq!(r.to_table(), expected, "\n{}", r.to_table());
}

/// Names whose bytes outnumber their display columns (é is 2 bytes, 1 column; 株 is 3 bytes,
/// 2 columns) still line up: every row's ARR ends in the same display column.
#[test]
fn accented_and_cjk_names_align() {
    let table = report("accounts", &two_customers(), "2025-02-28").to_table();
    let ends: Vec<usize> = table
        .lines()
        .filter(|l| l.contains('$'))
        .map(|l| {
            let upto = &l[..l.find('$').unwrap()];
            let width: usize = upto
                .chars()
                .map(|c| {
                    if ('\u{3000}'..='\u{9fff}').contains(&c) {
                        2
                    } else {
                        1
                    }
                })
                .sum();
            width + l[l.find('$').unwrap()..].find(' ').unwrap_or(0)
        })
        .collect();
    assert_eq!(ends.len(), 2, "{table}");
    assert_eq!(ends[0], ends[1], "{table}");
}

/// `account`'s facts are in the report's units: instants in RFC 3339 (they were epoch
/// milliseconds) and MRR in dollars (it was cents: 0 for `b` as of 31 March, after its churn on
/// 5 March; $1,234.56 as of 28 February).
#[test]
fn account_facts_are_iso_times_and_major_units() {
    let model = two_customers();
    let r = report("account", &model, "2025-02-28");
    let facts = &r.summary.as_ref().unwrap()["facts"];
    assert_eq!(facts["mrr"], Value::from(1234.56));
    assert_eq!(facts["converted_at"], "2025-01-20T00:00:00.000Z");
    assert_eq!(facts["as_of"], "2025-02-28T23:59:59.999Z");
    assert_eq!(r.summary_units["facts.mrr"], Unit::Money);
    assert_eq!(r.summary_units["facts.converted_at"], Unit::Time);
    let after = report("account", &model, "2025-03-31");
    let facts = &after.summary.as_ref().unwrap()["facts"];
    assert_eq!(facts["churned_at"], "2025-03-05T12:00:00.000Z");
    // No number in the JSON is an instant in epoch milliseconds (any after 2001 has 13 digits).
    let text = serde_json::to_string(&after).unwrap();
    assert!(
        !text
            .split(|c: char| !c.is_ascii_digit())
            .any(|n| n.len() >= 12),
        "{text}"
    );
    // The table shows the facts as lines, never JSON.
    let table = after.to_table();
    assert!(table.contains("facts.mrr"), "{table}");
    assert!(table.contains("$0.00"), "{table}");
    assert!(!table.contains('{'), "{table}");
}

/// The summary (here survival's: the horizon, each group's median and restricted mean) comes
/// after the rows in CSV, as `field,value` rows and a table per list, and in a table as lines.
#[test]
fn csv_and_table_carry_the_summary() {
    let r = report("survival", &two_customers(), "2025-03-31");
    let csv = r.to_csv();
    let (rows, summary) = csv
        .split_once("\n\n")
        .expect("a blank line before the summary");
    assert!(rows.starts_with("group,time_days,"), "{csv}");
    assert!(summary.starts_with("field,value\n"), "{csv}");
    // Five years of 365.25 days.
    assert!(summary.contains("\nhorizon_days,1826.25\n"), "{csv}");
    assert!(summary.contains("groups.median_days"), "{csv}");
    let table = r.to_table();
    assert!(table.contains("horizon_days  1826.3"), "{table}");
    assert!(!table.contains('{'), "{table}");
}

/// Every number of every report has a declared unit (a new column or summary field without
/// one fails here rather than reach programs as an unexplained number), and none is -0.0.
#[test]
fn every_number_has_a_unit() {
    let (model, _) = common::company(120);
    let as_of = "2026-10-31";
    let mut checked = 0;
    for name in tenure_reports::REPORTS {
        let mut params = ReportParams::at(Timestamp::parse_end_of(as_of).unwrap());
        if ["account", "journey"].contains(name) {
            params.account = Some("acct_000002".into());
        }
        if *name == "campaign-accounts" {
            params.campaign = model
                .account_journeys()
                .values()
                .flatten()
                .find_map(|t| t.campaign().map(|c| c.as_str().to_owned()));
            params.metric = Some("initial_arr".into());
        }
        if *name == "experiment" {
            params.by = Some("onboarding_variant".into());
        }
        let Ok(r) = run(name, &model, &ReportSettings::default(), &params) else {
            continue;
        };
        checked += 1;
        for column in &r.columns {
            let numeric = r
                .rows
                .iter()
                .any(|row| row.get(column).is_some_and(Value::is_number));
            if numeric {
                assert!(
                    r.units[column].is_numeric(),
                    "{name}: column {column} is a number of unit {:?}",
                    r.units[column]
                );
            }
            assert!(
                r.units.contains_key(column),
                "{name}: column {column} has no unit"
            );
        }
        if *name == "funnel" {
            // Accounts per bucket of days: a count (it was declared as days).
            assert_eq!(
                r.summary_units["time_to_value_days.histogram.accounts"],
                Unit::Count
            );
        }
        let json = serde_json::to_value(&r).unwrap();
        assert!(!has_negative_zero(&json), "{name}: -0.0 in {json}");
        let missing = tenure_reports::undeclared(&r);
        assert!(
            missing.is_empty(),
            "{name}: no declared unit for {missing:?}"
        );
    }
    assert!(checked >= 16, "only {checked} reports ran");
}

/// The live account status (`GET /api/v1/accounts/{id}`) names the currency of its money too:
/// `a` pays $150.00 a month from 15 February 2025, so $1,800.00 a year.
#[test]
fn account_status_names_its_currency() {
    let model = two_customers();
    let settings = ReportSettings::default();
    let stages = tenure_reports::stage_rules(&settings).unwrap();
    let status = tenure_reports::account_status(
        &model,
        &settings,
        &stages,
        &AccountId::parse("a").unwrap(),
        Timestamp::parse_end_of("2025-03-31").unwrap(),
    )
    .unwrap()
    .unwrap();
    let json = serde_json::to_value(&status).unwrap();
    assert_eq!(json["currency"], "USD");
    assert_eq!(json["mrr"], 150.0);
    assert_eq!(json["arr"], 1800.0);
}

/// [`two_customers`], neither with a touchpoint (so both are `direct` conversions), and
/// $8,007.36 spent on `direct` in January.
fn two_customers_with_spend() -> Model {
    let mut entries = two_customers_entries();
    entries.push(EntryBody::Spend(SpendRow {
        date: t("2025-01-05T00:00:00Z"),
        channel: "direct".into(),
        source: None,
        campaign: None,
        cost: Money::new(800_736, Currency::USD),
        impressions: None,
        clicks: None,
    }));
    common::model_of(entries)
}

/// `attribution`'s cost per unit is money per one of a count, and a multiple per dollar of a
/// money metric (it showed `$0.50`):
/// - conversions: $8,007.36 ÷ 2 = $4,003.68 per conversion.
/// - initial ARR: 12 × ($100.00 + $1,234.56) = $16,014.72; $8,007.36 ÷ $16,014.72 = 0.50 per
///   dollar, and ROAS its inverse, 2.00.
#[test]
fn attribution_cost_per_is_money_per_count_and_a_multiple_per_dollar() {
    let model = two_customers_with_spend();
    let mut params = ReportParams::at(Timestamp::parse_end_of("2025-03-31").unwrap());
    params.metric = Some("conversions".into());
    let r = run("attribution", &model, &ReportSettings::default(), &params).unwrap();
    assert_eq!(r.units["cost_per"], Unit::Money);
    let table = r.to_table();
    let direct = table.lines().find(|l| l.starts_with("direct")).unwrap();
    assert_eq!(
        direct.split_whitespace().collect::<Vec<_>>(),
        // Then its 2 customers, flagged as too few to rank by.
        [
            "direct",
            "2",
            "100.0%",
            "$8,007.36",
            "$4,003.68",
            "2",
            "yes"
        ],
        "\n{table}"
    );

    params.metric = Some("initial_arr".into());
    let r = run("attribution", &model, &ReportSettings::default(), &params).unwrap();
    assert_eq!(r.units["cost_per"], Unit::Multiple);
    assert_eq!(r.rows[0]["cost_per"], 0.5);
    let table = r.to_table();
    let direct = table.lines().find(|l| l.starts_with("direct")).unwrap();
    assert_eq!(
        direct.split_whitespace().collect::<Vec<_>>(),
        [
            "direct",
            "$16,014.72",
            "100.0%",
            "$8,007.36",
            "0.50",
            "2.00",
            "2",
            "yes"
        ],
        "\n{table}"
    );
}
