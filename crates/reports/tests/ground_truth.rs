//! Does attribution recover what the simulator planted? The simulated company's truth is per
//! acquisition (first-touch) campaign: its realized revenue per dollar and its customers'
//! 90-day retention. Rankings are compared by Spearman's rank correlation.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader};

use tenure_core::{Currency, Entry, EntryBody, Source, StoredEntry, Timestamp, WorkspaceId};
use tenure_engine::{EngineSettings, Model};
use tenure_ingest::csv::{read_csv, CsvKind};
use tenure_ingest::segment::{parse_message, Limits};
use tenure_reports::{run, ReportParams, ReportSettings};

fn company() -> (Model, serde_json::Value) {
    let dir = tempfile::tempdir().unwrap();
    let config = tenure_sim::SimConfig {
        accounts: 2_000,
        months: 24,
        seed: 42,
        end: chrono::NaiveDate::from_ymd_opt(2026, 11, 1).unwrap(),
    };
    tenure_sim::simulate(&config, dir.path(), |_| {}).unwrap();
    let mut model = Model::new(EngineSettings::default());
    let mut seq = 0;
    let mut apply = |body: EntryBody| {
        seq += 1;
        model.apply(&StoredEntry {
            seq,
            entry: Entry {
                workspace: WorkspaceId::default_workspace(),
                source: Source::Import,
                received_at: Timestamp::from_millis(0),
                body,
            },
        });
    };
    for (name, kind) in [
        ("accounts.csv", CsvKind::Accounts),
        ("subscriptions.csv", CsvKind::Subscriptions),
        ("deals.csv", CsvKind::Deals),
        ("spend.csv", CsvKind::Spend),
        ("touchpoints.csv", CsvKind::Touchpoints),
    ] {
        for row in read_csv(
            kind,
            File::open(dir.path().join(name)).unwrap(),
            Currency::USD,
        )
        .unwrap()
        {
            apply(row.unwrap().body);
        }
    }
    for line in BufReader::new(File::open(dir.path().join("events.ndjson")).unwrap()).lines() {
        apply(EntryBody::Segment(
            parse_message(
                line.unwrap().as_bytes(),
                Timestamp::from_millis(0),
                &Limits::default(),
            )
            .unwrap(),
        ));
    }
    let truth = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("ground_truth.json")).unwrap(),
    )
    .unwrap();
    (model, truth)
}

fn spearman(a: &BTreeMap<String, f64>, b: &BTreeMap<String, f64>) -> f64 {
    let rank = |m: &BTreeMap<String, f64>| -> BTreeMap<String, usize> {
        let mut keys: Vec<&String> = m.keys().collect();
        keys.sort_by(|x, y| m[*y].total_cmp(&m[*x]).then(x.cmp(y)));
        keys.into_iter()
            .enumerate()
            .map(|(i, k)| (k.clone(), i))
            .collect()
    };
    let (ra, rb) = (rank(a), rank(b));
    let n = a.len() as f64;
    let d2: f64 = ra
        .iter()
        .map(|(k, r)| (*r as f64 - rb[k] as f64).powi(2))
        .sum();
    1.0 - 6.0 * d2 / (n * (n * n - 1.0))
}

#[test]
fn first_touch_attribution_recovers_the_planted_campaign_ranking() {
    let (model, truth) = company();
    let paid: BTreeMap<String, (f64, f64)> = truth["campaigns"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["spend_cents"].as_i64().unwrap() > 0)
        .map(|c| {
            (
                c["campaign"].as_str().unwrap().to_owned(),
                (
                    c["revenue_per_dollar"].as_f64().unwrap(),
                    c["retention_90d"].as_f64().unwrap_or(0.0),
                ),
            )
        })
        .collect();
    let truth_rpd: BTreeMap<String, f64> = paid.iter().map(|(k, v)| (k.clone(), v.0)).collect();
    let truth_ret: BTreeMap<String, f64> = paid.iter().map(|(k, v)| (k.clone(), v.1)).collect();
    let as_of = Timestamp::parse("2026-10-31T23:59:59.999Z").unwrap();
    let attributed = |metric: &str, column: &str| -> BTreeMap<String, f64> {
        let params = ReportParams {
            by: Some("campaign".into()),
            model: Some("first_touch".into()),
            metric: Some(metric.into()),
            ..ReportParams::at(as_of)
        };
        let report = run("attribution", &model, &ReportSettings::default(), &params).unwrap();
        report
            .rows
            .iter()
            .filter_map(|r| {
                let name = r["campaign"].as_str()?.to_owned();
                paid.contains_key(&name)
                    .then(|| (name, r[column].as_f64().unwrap_or(0.0)))
            })
            .collect()
    };
    // realized revenue per dollar: credited realized revenue ÷ spend (the report's roas)
    let rpd = attributed("realized_revenue", "roas");
    assert_eq!(rpd.len(), paid.len());
    let rho = spearman(&rpd, &truth_rpd);
    eprintln!("realized revenue per dollar, first touch vs truth: Spearman {rho:.3}");
    assert!(
        rho >= 0.9,
        "realized revenue per dollar: Spearman {rho:.3}\ntenure {rpd:?}\ntruth {truth_rpd:?}"
    );
    // 90-day retention per customer: credited retained customers ÷ credited conversions
    let retained = attributed("retained_90d", "retained_90d");
    let converted = attributed("conversions", "conversions");
    let rate: BTreeMap<String, f64> = retained
        .iter()
        .map(|(k, v)| (k.clone(), v / converted[k].max(1.0)))
        .collect();
    assert!(
        rate["fb_smb_promo"] + 0.2 < rate["li_abm_enterprise"],
        "{rate:?}"
    );
    let rho = spearman(&rate, &truth_ret);
    eprintln!("90-day retention, first touch vs truth: Spearman {rho:.3}");
    assert!(
        rho >= 0.5,
        "90-day retention: Spearman {rho:.3}\ntenure {rate:?}\ntruth {truth_ret:?}"
    );
}
