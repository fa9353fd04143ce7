//! Conversions on the simulated company, through the real binary, to fakes of Meta, Google
//! (Data Manager and Ads API), LinkedIn and a webhook on loopback that refuse what each
//! platform refuses: each rule sends what the reports say happened (the same accounts, the
//! same values), a churn inside the window retracts its conversion exactly once, a second run
//! sends nothing, every platform's answer is counted in `tenure conversions status` (the API's
//! JSON), and the Google CSV export opens in a CSV parser with Google's header rows.

mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use common::Tenure;
use serde_json::Value;
use tenure_core::Timestamp;
use tenure_destinations::test_support::{
    AdsApiFake, DataManagerFake, HttpReceiver, LinkedinApi, MetaGraph, Reply,
};

const DAY_MS: i64 = 86_400_000;

fn now() -> Timestamp {
    Timestamp::from_datetime(chrono::Utc::now())
}

/// The simulated company, 18 months ending today (long enough for annual renewals), imported.
fn company(t: &Tenure) -> std::path::PathBuf {
    let dir = t.dir.path().join("company");
    let end = chrono::Utc::now().date_naive().to_string();
    t.ok(&[
        "sim",
        "--out",
        dir.to_str().unwrap(),
        "--accounts",
        "600",
        "--months",
        "18",
        "--seed",
        "11",
        "--end",
        &end,
    ]);
    let files: Vec<String> = [
        "accounts.csv",
        "subscriptions.csv",
        "deals.csv",
        "spend.csv",
        "touchpoints.csv",
        "events.ndjson",
    ]
    .iter()
    .map(|f| dir.join(f).display().to_string())
    .collect();
    let mut import = vec!["import"];
    import.extend(files.iter().map(String::as_str));
    t.ok(&import);
    dir
}

/// Every gclid in the company's page views, with when it landed: the clicks Google knows.
fn gclids(company: &std::path::Path) -> Vec<(String, Timestamp)> {
    let text = std::fs::read_to_string(company.join("events.ndjson")).unwrap();
    let mut out = Vec::new();
    for line in text.lines() {
        let m: Value = serde_json::from_str(line).unwrap();
        let Some(url) = m["context"]["page"]["url"].as_str() else {
            continue;
        };
        let Some(id) = url.split("gclid=").nth(1) else {
            continue;
        };
        let id = id.split('&').next().unwrap().to_owned();
        let at = Timestamp::parse(m["timestamp"].as_str().unwrap()).unwrap();
        out.push((id, at));
    }
    out
}

/// Each account's MRR changes from `subscriptions.csv`, read here with the csv crate (not
/// tenure's parser): `(effective at, MRR)` in file order.
fn mrr_changes(company: &std::path::Path) -> HashMap<String, Vec<(Timestamp, f64)>> {
    let mut reader = csv::Reader::from_path(company.join("subscriptions.csv")).unwrap();
    let mut out: HashMap<String, Vec<(Timestamp, f64)>> = HashMap::new();
    for row in reader.records() {
        let row = row.unwrap();
        out.entry(row[0].to_owned())
            .or_default()
            .push((Timestamp::parse(&row[1]).unwrap(), row[2].parse().unwrap()));
    }
    for changes in out.values_mut() {
        changes.sort_by_key(|c| c.0);
    }
    out
}

fn config(
    meta: &MetaGraph,
    google: &DataManagerFake,
    ads: &AdsApiFake,
    linkedin: &LinkedinApi,
    hook: &str,
) -> String {
    format!(
        r#"
[[destinations]]
name = "meta"
kind = "meta"
pixel_id = "1234567890"
url = "{meta}"
secret_env = "META_TOKEN"

[[destinations]]
name = "google"
kind = "google"
customer_id = "123-456-7890"
url = "{google}"
secret_env = "GOOGLE_TOKEN"

[[destinations]]
name = "google_ads"
kind = "google_ads"
customer_id = "123-456-7890"
developer_token_env = "GOOGLE_DEVELOPER_TOKEN"
url = "{ads}"
secret_env = "GOOGLE_TOKEN"

[[destinations]]
name = "linkedin"
kind = "linkedin"
url = "{linkedin}"
secret_env = "LINKEDIN_TOKEN"

[[destinations]]
name = "csv"
kind = "google_csv"

[[destinations]]
name = "hooks"
kind = "webhook"
url = "{hook}"
secret_env = "HOOK_SECRET"

[[conversions]]
name = "paid"
milestone = "first_payment"
value = "initial_arr"
lookback_days = 3650
send = [
  {{ destination = "meta", as = "Purchase" }},
  {{ destination = "google_ads", as = "111" }},
  {{ destination = "linkedin", as = "222" }},
  {{ destination = "csv", as = "Paid" }},
  {{ destination = "hooks" }},
]

[[conversions]]
name = "paid_ltv"
milestone = "first_payment"
value = "predicted_ltv"
lookback_days = 3650
send = [{{ destination = "hooks" }}]

[[conversions]]
name = "renewed"
milestone = "renewed"
value = "predicted_ltv"
lookback_days = 3650
send = [{{ destination = "google", as = "333" }}, {{ destination = "hooks" }}]

[[conversions]]
name = "expanded"
milestone = "expanded"
value = "expansion_arr"
lookback_days = 3650
send = [{{ destination = "hooks" }}]
"#,
        meta = meta.url(),
        google = google.url(),
        ads = ads.url(),
        linkedin = linkedin.url(),
    )
}

const ENV: [(&str, &str); 5] = [
    ("META_TOKEN", "meta-token"),
    ("GOOGLE_TOKEN", "google-token"),
    ("GOOGLE_DEVELOPER_TOKEN", "dev-token"),
    ("LINKEDIN_TOKEN", "linkedin-token"),
    ("HOOK_SECRET", "whsec_conversions"),
];

fn run(t: &Tenure, config: &str, args: &[&str]) -> String {
    let mut command = t.command();
    for (name, value) in ENV {
        command.env(name, value);
    }
    let out = command
        .arg("--config")
        .arg(config)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "tenure {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// The report's total of `metric` over its rows (first touch credits each account once).
fn attribution_total(t: &Tenure, metric: &str) -> f64 {
    let report = json(&t.ok(&[
        "report",
        "attribution",
        "--model",
        "first_touch",
        "--metric",
        metric,
        "--format",
        "json",
    ]));
    report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r[metric].as_f64().unwrap())
        .sum()
}

#[test]
fn the_conversions_sent_are_what_the_reports_say_happened() {
    let t = Tenure::new();
    let company = company(&t);
    let meta = MetaGraph::start("meta-token");
    let google = DataManagerFake::start("google-token");
    let ads = AdsApiFake::start("google-token", "dev-token");
    let linkedin = LinkedinApi::start("linkedin-token");
    let hook = HttpReceiver::start(|_| Reply::new(200, "ok"));
    for (id, at) in gclids(&company) {
        google.click(&id, at);
        ads.click(&id, at);
    }
    let config = t.write_file(
        "tenure.toml",
        &config(&meta, &google, &ads, &linkedin, &hook.url),
    );
    let config = config.to_str().unwrap();

    // The dry run first: it records and sends nothing, and shows the requests a run makes.
    let dry = json(&run(
        &t,
        config,
        &["conversions", "dry-run", "--format", "json"],
    ));
    let dry_again = json(&run(
        &t,
        config,
        &["conversions", "dry-run", "--format", "json"],
    ));
    let keys = |dry: &Value| -> Vec<String> {
        dry["decisions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["firing"]["key"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(keys(&dry), keys(&dry_again), "a dry run records nothing");
    assert!(meta.requests().is_empty() && hook.requests().is_empty());
    let first = json(&run(
        &t,
        config,
        &["conversions", "run", "--format", "json"],
    ));
    let log = json(&run(
        &t,
        config,
        &["conversions", "log", "--limit", "10000", "--format", "json"],
    ));
    let firings = log["firings"].as_array().unwrap();
    let of = |rule: &str, kind: &str| -> Vec<&Value> {
        firings
            .iter()
            .filter(|f| f["playbook"] == format!("conversion:{rule}") && f["cause"]["kind"] == kind)
            .collect()
    };
    let paid = of("paid", "conversion");
    let value_sum = |list: &[&Value]| -> f64 {
        list.iter()
            .map(|f| f["cause"]["value"].as_f64().unwrap())
            .sum()
    };

    // The same accounts, the same values as the reports.
    let accounts: BTreeSet<&str> = paid
        .iter()
        .map(|f| f["account"].as_str().unwrap())
        .collect();
    assert_eq!(accounts.len(), paid.len(), "one first payment per account");
    assert_eq!(paid.len() as f64, attribution_total(&t, "conversions"));
    assert!(paid.len() > 50, "{} conversions", paid.len());
    assert!(
        (value_sum(&paid) - attribution_total(&t, "initial_arr")).abs() < 0.01 * paid.len() as f64
    );
    // Predicted LTV as the report credits it. The report reads the company's survival as of
    // its instant and the run as of its own (seconds apart): equal to within 0.1 %.
    let ltv = of("paid_ltv", "conversion");
    assert_eq!(ltv.len(), paid.len());
    let as_of = now().to_string();
    let report = json(&t.ok(&[
        "report",
        "attribution",
        "--model",
        "first_touch",
        "--metric",
        "predicted_ltv",
        "--as-of",
        &as_of,
        "--format",
        "json",
    ]));
    let reported: f64 = report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["predicted_ltv"].as_f64().unwrap())
        .sum();
    let sent = value_sum(&ltv);
    assert!(
        (sent - reported).abs() <= 0.001 * reported,
        "predicted LTV sent {sent} vs the report's {reported}"
    );
    let renewed = of("renewed", "conversion");
    let renewing: BTreeSet<&str> = renewed
        .iter()
        .map(|f| f["account"].as_str().unwrap())
        .collect();
    assert_eq!(renewing.len() as f64, attribution_total(&t, "renewed"));
    assert!(!renewed.is_empty());
    let expanded = of("expanded", "conversion");
    assert!(!expanded.is_empty());
    assert!(
        (value_sum(&expanded) - 12.0 * attribution_total(&t, "expansion_revenue")).abs()
            < 0.01 * expanded.len() as f64,
        "expansion ARR sent {} vs 12 × the report's expansion revenue {}",
        value_sum(&expanded),
        12.0 * attribution_total(&t, "expansion_revenue")
    );
    assert_eq!(
        first["conversions"].as_u64().unwrap() as usize,
        paid.len() + ltv.len() + renewed.len() + expanded.len()
    );

    // Two accounts converted in the last 30 days churn now (the simulated company's churn
    // comes at renewals, long after conversion).
    let now = now();
    let mut recent: Vec<(Timestamp, &str)> = paid
        .iter()
        .map(|f| {
            (
                Timestamp::parse(f["cause"]["occurred_at"].as_str().unwrap()).unwrap(),
                f["account"].as_str().unwrap(),
            )
        })
        .filter(|(at, _)| *at >= now.plus_millis(-30 * DAY_MS))
        .collect();
    recent.sort();
    assert!(recent.len() >= 2, "{recent:?}");
    let churned_at = now.plus_millis(-3_600_000);
    let churn = format!(
        "account_id,effective_at,mrr,currency,plan,seats\n{a},{churned_at},0,USD,,\n{b},{churned_at},0,USD,,\n",
        a = recent[0].1,
        b = recent[1].1,
    );
    let churn_file = t.write_file("subscriptions.csv", &churn);
    t.ok(&["import", churn_file.to_str().unwrap()]);

    // Retractions: exactly the paid conversions of the last 90 days whose account stopped
    // paying after it, read from the subscription files with another parser; once each.
    let mut changes = mrr_changes(&company);
    for (_, account) in &recent[..2] {
        changes.get_mut(*account).unwrap().push((churned_at, 0.0));
    }
    let expected: BTreeSet<&str> = paid
        .iter()
        .filter_map(|f| {
            let at = Timestamp::parse(f["cause"]["occurred_at"].as_str().unwrap()).unwrap();
            if at < now.plus_millis(-90 * DAY_MS) {
                return None;
            }
            let account = f["account"].as_str().unwrap();
            let mut paying = changes[account]
                .iter()
                .rfind(|c| c.0 <= at)
                .is_some_and(|c| c.1 > 0.0);
            for (_, mrr) in changes[account].iter().filter(|c| c.0 > at && c.0 <= now) {
                if paying && *mrr <= 0.0 {
                    return Some(account);
                }
                paying = *mrr > 0.0;
            }
            None
        })
        .collect();
    // The first run records the conversions; the retractions follow from what was recorded.
    let second = json(&run(
        &t,
        config,
        &["conversions", "run", "--format", "json"],
    ));
    assert_eq!(second["conversions"], 0);
    // A pass corrects what was recorded before it: the first recorded no retraction.
    assert_eq!(first["retractions"], 0);
    // Both first-payment rules send to the webhook, which takes corrections.
    assert_eq!(
        second["retractions"].as_u64().unwrap() as usize,
        2 * expected.len()
    );
    let log = json(&run(
        &t,
        config,
        &[
            "conversions",
            "log",
            "--rule",
            "paid",
            "--limit",
            "10000",
            "--format",
            "json",
        ],
    ));
    let retracted: Vec<&str> = log["firings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["cause"]["kind"] == "retraction")
        .map(|f| f["account"].as_str().unwrap())
        .collect();
    let unique: BTreeSet<&str> = retracted.iter().copied().collect();
    assert_eq!(
        unique.len(),
        retracted.len(),
        "one retraction per conversion"
    );
    assert_eq!(unique, expected);
    assert!(
        !expected.is_empty(),
        "the company has churn inside the window"
    );

    // A third run sends nothing: no new firing, no request to any platform.
    let requests = |_: ()| {
        (
            meta.requests().len(),
            google.requests().len(),
            ads.requests().len(),
            linkedin.requests().len(),
            hook.requests().len(),
        )
    };
    let before = requests(());
    let third = json(&run(
        &t,
        config,
        &["conversions", "run", "--format", "json"],
    ));
    assert_eq!(
        (
            third["conversions"].as_u64(),
            third["restatements"].as_u64(),
            third["retractions"].as_u64(),
            third["deliveries_attempted"].as_u64()
        ),
        (Some(0), Some(0), Some(0), Some(0))
    );
    assert_eq!(requests(()), before);

    // What each platform took, against the conversions: Meta the last 7 days' (older ones
    // expired, never sent), each once.
    let paid_at: BTreeMap<String, Timestamp> = paid
        .iter()
        .map(|f| {
            (
                f["cause"]["event_id"].as_str().unwrap().to_owned(),
                Timestamp::parse(f["cause"]["occurred_at"].as_str().unwrap()).unwrap(),
            )
        })
        .collect();
    let recent: BTreeSet<&String> = paid_at
        .iter()
        .filter(|(_, at)| **at >= now.plus_millis(-7 * DAY_MS))
        .map(|(id, _)| id)
        .collect();
    let meta_ids: Vec<String> = meta
        .accepted()
        .iter()
        .map(|e| e["event_id"].as_str().unwrap().to_owned())
        .collect();
    let meta_set: BTreeSet<&String> = meta_ids.iter().collect();
    assert_eq!(meta_set.len(), meta_ids.len());
    // A conversion recorded a few seconds after the 7 days' edge may have passed it by now.
    assert!(
        meta_set.is_subset(&recent) && recent.len() - meta_set.len() <= 1,
        "{meta_set:?} vs {recent:?}"
    );
    assert!(!meta_set.is_empty());

    let status = json(&run(
        &t,
        config,
        &["conversions", "status", "--format", "json"],
    ));
    let counts = |rule: &str, destination: &str| -> Value {
        status["rules"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["rule"] == rule)
            .unwrap()["destinations"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["destination"] == destination)
            .unwrap()
            .clone()
    };
    let m = counts("paid", "meta");
    assert_eq!(m["sent"].as_u64().unwrap() as usize, paid.len());
    assert_eq!(m["accepted"].as_u64().unwrap() as usize, meta_set.len());
    assert_eq!(
        m["expired"].as_u64().unwrap() as usize,
        paid.len() - meta_set.len()
    );
    assert_eq!(m["pending"], 0);
    // The expired are counted under one reason, not one each.
    assert_eq!(
        m["reasons"],
        serde_json::json!([{
            "result": "expired",
            "reason": "more than 7 days old when it was to be sent: Meta refuses older events",
            "count": paid.len() - meta_set.len(),
        }])
    );
    // Every destination's counts add up, and each platform's accepted count is what it holds.
    for r in status["rules"].as_array().unwrap() {
        for d in r["destinations"].as_array().unwrap() {
            let parts: u64 = [
                "accepted",
                "duplicate",
                "unmatched",
                "rejected",
                "expired",
                "pending",
            ]
            .iter()
            .map(|k| d[k].as_u64().unwrap())
            .sum();
            assert_eq!(parts, d["sent"].as_u64().unwrap(), "{d}");
        }
    }
    let l = counts("paid", "linkedin");
    assert_eq!(
        l["accepted"].as_u64().unwrap() as usize,
        linkedin.accepted().len()
    );
    assert!(l["accepted"].as_u64().unwrap() > 0);
    let a = counts("paid", "google_ads");
    // Accepted: the conversions the Ads API holds and the retractions it applied.
    assert_eq!(
        a["accepted"].as_u64().unwrap() as usize,
        ads.accepted().len() + ads.adjustments_applied().len()
    );
    assert!(a["accepted"].as_u64().unwrap() > 0);
    // The Ads API applied retractions, never two to one order.
    let orders: Vec<String> = ads
        .adjustments_applied()
        .iter()
        .map(|a| a["orderId"].as_str().unwrap_or_default().to_owned())
        .collect();
    let distinct: BTreeSet<&String> = orders.iter().collect();
    assert_eq!(distinct.len(), orders.len(), "{orders:?}");
    assert!(!orders.is_empty() && orders.len() <= unique.len());
    let g = counts("renewed", "google");
    assert_eq!(
        g["accepted"].as_u64().unwrap() as usize,
        google.accepted().len() + google.adjustments_applied().len()
    );

    // The webhook got every conversion and correction, signed.
    let hooks_sent: u64 = ["paid", "paid_ltv", "renewed", "expanded"]
        .iter()
        .map(|r| counts(r, "hooks")["accepted"].as_u64().unwrap())
        .sum();
    assert_eq!(hook.requests().len() as u64, hooks_sent);

    // The dry run showed Meta's exact request: the events Meta took, and no token.
    let meta_preview = dry["requests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["destination"] == "meta")
        .unwrap();
    let previewed: Vec<&Value> = meta_preview["requests"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r["body"]["data"].as_array().unwrap())
        .collect();
    let taken: Vec<Value> = meta.accepted();
    assert_eq!(previewed.len(), taken.len());
    for (shown, got) in previewed.iter().zip(&taken) {
        assert_eq!(*shown, got);
    }
    let request = &meta_preview["requests"][0];
    assert!(
        request["url"]
            .as_str()
            .unwrap()
            .ends_with("access_token=<redacted>"),
        "{request}"
    );
    assert!(!dry.to_string().contains("meta-token") && !dry.to_string().contains("google-token"));
    assert_eq!(
        meta_preview["held_back"].as_array().unwrap().len(),
        paid.len() - meta_set.len(),
        "the older conversions are shown held back as expired"
    );
    assert!(meta_preview["held_back"]
        .as_array()
        .unwrap()
        .iter()
        .all(|h| h["result"] == "expired"));

    // The CLI's JSON is the API's.
    let read = t.key("read");
    let mut env: Vec<(&str, &str)> = ENV.to_vec();
    env.push(("TENURE_LOG", "warn"));
    let server = t.serve_with_env(&["--config", config], &env);
    let api: Value = reqwest::blocking::Client::new()
        .get(format!("{}/api/v1/conversions", server.url))
        .bearer_auth(&read)
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(api, status);
    let get = |path: &str| -> (u16, Value) {
        let response = reqwest::blocking::Client::new()
            .get(format!("{}{path}", server.url))
            .bearer_auth(&read)
            .send()
            .unwrap();
        (response.status().as_u16(), response.json().unwrap())
    };
    let cli_log = json(&run(
        &t,
        config,
        &[
            "conversions",
            "log",
            "--rule",
            "paid",
            "--limit",
            "10000",
            "--format",
            "json",
        ],
    ));
    assert_eq!(
        get("/api/v1/conversions/log?rule=paid&limit=10000"),
        (200, cli_log)
    );
    let (code, body) = get("/api/v1/conversions/log?rule=nope");
    assert_eq!(code, 400);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("paid, paid_ltv, renewed, expanded"),
        "{body}"
    );
    // Everything recorded: a dry run now would record nothing.
    let (code, body) = get("/api/v1/conversions/dry_run");
    assert_eq!(code, 200);
    assert_eq!(body["decisions"], serde_json::json!([]));
    drop(server);

    // Google's CSV: the header rows Google documents, one row per conversion the export took.
    let file = run(
        &t,
        config,
        &[
            "conversions",
            "export",
            "google-csv",
            "--destination",
            "csv",
        ],
    );
    let mut lines = file.lines();
    assert_eq!(lines.next(), Some("Parameters:TimeZone=+0000"));
    let body: String = lines.collect::<Vec<_>>().join("\n");
    let mut reader = csv::Reader::from_reader(body.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(
        header,
        [
            "Google Click ID",
            "Conversion Name",
            "Conversion Time",
            "Conversion Value",
            "Conversion Currency",
            "Order ID"
        ]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert!(!rows.is_empty());
    for row in &rows {
        assert_eq!(&row[1], "Paid");
        assert!(
            paid_at.contains_key(&row[5]),
            "order id {} is a paid conversion",
            &row[5]
        );
        assert!(
            chrono::NaiveDateTime::parse_from_str(&row[2], "%Y-%m-%d %H:%M:%S").is_ok(),
            "{}",
            &row[2]
        );
    }
    let adjustments = run(
        &t,
        config,
        &[
            "conversions",
            "export",
            "google-csv",
            "--destination",
            "csv",
            "--adjustments",
        ],
    );
    // A destination whose `as` is a conversion action's id, not its name, makes no file.
    let refused = t
        .command()
        .args([
            "--config",
            config,
            "conversions",
            "export",
            "google-csv",
            "--destination",
            "google_ads",
        ])
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("google_csv"));
    let mut lines = adjustments.lines();
    assert_eq!(lines.next(), Some("Parameters:TimeZone=+0000"));
    assert_eq!(
        lines.next(),
        Some("Order ID,Conversion Name,Adjustment Time,Adjustment Type,Adjusted Value,Adjusted Value Currency")
    );
    let retractions: Vec<&str> = lines.collect();
    // The export took the conversions with a click in the window, and the retractions of
    // those only: a retraction goes where its conversion was taken.
    let c = counts("paid", "csv");
    assert_eq!(
        rows.len() + retractions.len(),
        c["accepted"].as_u64().unwrap() as usize
    );
    assert!(retractions.len() <= unique.len(), "{retractions:?}");
    let exported: BTreeSet<&str> = rows.iter().map(|r| &r[5]).collect();
    for line in retractions {
        let cells: Vec<&str> = line.split(',').collect();
        assert!(
            exported.contains(cells[0]),
            "{line} retracts an exported conversion"
        );
        assert_eq!(&cells[1..2], ["Paid"]);
        assert_eq!(&cells[3..], ["RETRACT", "", ""]);
    }
}
