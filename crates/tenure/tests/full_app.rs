//! The whole application on a real port, driven the way users' SDKs drive it.

mod common;

use std::io::Write;
use std::process::Command;

use common::{entries_of, repo_root, Tenure};
use flate2::write::GzEncoder;
use serde_json::{json, Value};

fn status_over_http(url: &str, read_key: &str) -> Value {
    let client = reqwest::blocking::Client::new();
    let response = client
        .get(format!("{url}/api/v1/status"))
        .basic_auth(read_key, Some(""))
        .send()
        .expect("status request");
    assert_eq!(response.status(), 200);
    response.json().expect("status JSON")
}

/// Makes sure the official Segment library is importable, installing it if needed.
fn ensure_segment_library() {
    common::ensure("segment-analytics-python", "segment/install.sh", || {
        common::python_has("segment.analytics")
    });
}

#[test]
fn official_segment_library_messages_land_exactly_once_despite_a_retry() {
    ensure_segment_library();
    let tenure = Tenure::new();
    let write_key = tenure.key("write");
    let read_key = tenure.key("read");
    let server = tenure.serve(&[]);

    let script = repo_root().join("tests/segment/send_with_segment.py");
    let out = Command::new("python3")
        .arg(&script)
        .args([&server.url, &write_key, "400"])
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).expect("script prints JSON");
    assert_eq!(report["errors"], json!([]), "the library reported errors");
    assert!(
        report["requests"].as_u64().unwrap() >= 2,
        "the dropped ack must have made the library retry: {report}"
    );

    let status = status_over_http(&server.url, &read_key);
    assert_eq!(status["entries"], 400, "{status}");
    for kind in ["identify", "group", "track", "page"] {
        assert_eq!(entries_of(&status, kind), 100, "{kind}: {status}");
    }
    assert_eq!(status["persons"], 7);
    assert_eq!(status["accounts"], 3);
    assert_eq!(status["anonymous_ids"], 7);
}

#[test]
fn rudderstack_style_gzip_basic_auth_batches_dedupe_on_retry() {
    let tenure = Tenure::new();
    let write_key = tenure.key("write");
    let read_key = tenure.key("read");
    let server = tenure.serve(&[]);

    let batch: Vec<Value> = (0..50)
        .map(|i| {
            json!({
                "type": "track", "messageId": format!("rs-{i}"), "anonymousId": format!("anon-{}", i % 5),
                "event": "Dashboard Viewed", "originalTimestamp": "2025-03-01T11:59:58.120Z",
                "sentAt": "2025-03-01T12:00:05.000Z",
                "context": {"library": {"name": "rudder-sdk-python", "version": "2.1.0"}}
            })
        })
        .collect();
    let body =
        serde_json::to_vec(&json!({"batch": batch, "sentAt": "2025-03-01T12:00:05.000Z"})).unwrap();
    let mut gz = GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&body).unwrap();
    let gzipped = gz.finish().unwrap();

    let client = reqwest::blocking::Client::new();
    let send = || -> Value {
        let response = client
            .post(format!("{}/v1/batch", server.url))
            .basic_auth(&write_key, Some(""))
            .header("Content-Encoding", "gzip")
            .header("Content-Type", "application/json")
            .body(gzipped.clone())
            .send()
            .expect("batch request");
        assert_eq!(response.status(), 200);
        response.json().expect("JSON answer")
    };
    let first = send();
    assert_eq!(
        (first["stored"].as_u64(), first["duplicates"].as_u64()),
        (Some(50), Some(0))
    );
    let retry = send();
    assert_eq!(
        (retry["stored"].as_u64(), retry["duplicates"].as_u64()),
        (Some(0), Some(50))
    );

    let status = status_over_http(&server.url, &read_key);
    assert_eq!(entries_of(&status, "track"), 50);
    assert_eq!(status["anonymous_ids"], 5);
}

#[test]
fn keys_only_do_what_their_scope_allows() {
    let tenure = Tenure::new();
    let write_key = tenure.key("write");
    let read_key = tenure.key("read");
    let admin_key = tenure.key("admin");
    let server = tenure.serve(&[]);
    let client = reqwest::blocking::Client::new();
    let track = json!({"userId": "u1", "event": "Logged In", "messageId": "k1"});

    let write_with = |key: &str| {
        client
            .post(format!("{}/v1/track", server.url))
            .basic_auth(key, Some(""))
            .json(&track)
            .send()
            .unwrap()
    };
    let read_with = |key: &str| {
        client
            .get(format!("{}/api/v1/status", server.url))
            .basic_auth(key, Some(""))
            .send()
            .unwrap()
    };
    // A known key of the wrong scope is forbidden (403), not unauthenticated (401).
    let refused = write_with(&read_key);
    assert_eq!(refused.status(), 403);
    assert_eq!(refused.json::<Value>().unwrap()["code"], "wrong_scope");
    let refused = read_with(&write_key);
    assert_eq!(refused.status(), 403);
    assert_eq!(refused.json::<Value>().unwrap()["code"], "wrong_scope");
    assert_eq!(write_with(&write_key).status(), 200);
    assert_eq!(read_with(&read_key).status(), 200);
    assert_eq!(read_with(&admin_key).status(), 200);
    assert_eq!(
        client
            .get(format!("{}/healthz", server.url))
            .send()
            .unwrap()
            .status(),
        200
    );
}

#[test]
fn a_report_is_the_same_json_from_the_cli_and_the_api() {
    let tenure = Tenure::new();
    let sample = repo_root().join("crates/tenure/tests/fixtures/sample");
    let files: Vec<String> = [
        "accounts.csv",
        "events.ndjson",
        "subscriptions.csv",
        "deals.csv",
        "spend.csv",
        "touchpoints.csv",
    ]
    .iter()
    .map(|f| sample.join(f).display().to_string())
    .collect();
    let mut import = vec!["import"];
    import.extend(files.iter().map(String::as_str));
    tenure.ok(&import);
    let read_key = tenure.key("read");
    let cli: Value = serde_json::from_str(&tenure.ok(&[
        "report",
        "touchpoints",
        "--as-of",
        "2025-12-31",
        "--format",
        "json",
    ]))
    .unwrap();
    let server = tenure.serve(&[]);
    let api: Value = reqwest::blocking::Client::new()
        .get(format!(
            "{}/api/v1/reports/touchpoints?as_of=2025-12-31",
            server.url
        ))
        .basic_auth(&read_key, Some(""))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(cli, api);
    assert_eq!(cli["as_of"], "2025-12-31T23:59:59.999Z");
    // The sample's touchpoints, classified by hand from tests/fixtures/sample/events.ndjson and
    // touchpoints.csv: ana's gclid visit (paid_search) and li_fat_id visit (paid_social), kim's
    // fbclid visit (paid_social), raj's linkedin.com referrer (organic_social), lee's bing
    // referrer (organic_search), plain pricing visit (direct) and newsletter (email), sam's g2
    // referrer (referral), zed's capterra affiliate link, two offline event/webinar rows
    // (events) and one partner row.
    let by_channel: std::collections::BTreeMap<String, u64> = cli["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["channel"].as_str().unwrap().to_owned(),
                r["touchpoints"].as_u64().unwrap(),
            )
        })
        .collect();
    let expected: std::collections::BTreeMap<String, u64> = [
        ("paid_search", 1),
        ("paid_social", 2),
        ("organic_social", 1),
        ("organic_search", 1),
        ("direct", 1),
        ("email", 1),
        ("referral", 1),
        ("affiliate", 1),
        ("events", 2),
        ("partner", 1),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    assert_eq!(by_channel, expected);

    // A proposed health configuration: a file to the CLI, the request body to the API.
    let proposed = "[health]\nbands = { green = 90.0, yellow = 60.0 }\n";
    let file = tenure.write_file("proposed.toml", proposed);
    let file = file.display().to_string();
    let cli: Value = serde_json::from_str(&tenure.ok(&[
        "report",
        "health-backtest",
        "--as-of",
        "2026-06-30",
        "--proposed",
        &file,
        "--format",
        "json",
    ]))
    .unwrap();
    let post = |body: &str| {
        reqwest::blocking::Client::new()
            .post(format!(
                "{}/api/v1/reports/health-backtest?as_of=2026-06-30",
                server.url
            ))
            .basic_auth(&read_key, Some(""))
            .body(body.to_owned())
            .send()
            .unwrap()
    };
    let api: Value = post(proposed).json().unwrap();
    assert_eq!(cli, api);
    let configs = api["summary"]["configs"].as_array().unwrap();
    assert_eq!(configs[1]["config"], "proposed");
    assert_ne!(configs[0]["version"], configs[1]["version"]);
    let refused = post("[health]\nbands = { green = 10.0, yellow = 60.0 }\n");
    assert_eq!(refused.status(), 400);
    let refused: Value = refused.json().unwrap();
    assert_eq!(refused["code"], "invalid_parameter");
    assert!(
        refused["message"].as_str().unwrap().contains("proposed"),
        "{refused}"
    );
    // The lifecycle reports too.
    for name in ["funnel", "adoption"] {
        let cli: Value = serde_json::from_str(&tenure.ok(&[
            "report",
            name,
            "--as-of",
            "2025-12-31",
            "--format",
            "json",
        ]))
        .unwrap();
        let api: Value = reqwest::blocking::Client::new()
            .get(format!(
                "{}/api/v1/reports/{name}?as_of=2025-12-31",
                server.url
            ))
            .basic_auth(&read_key, Some(""))
            .send()
            .unwrap()
            .json()
            .unwrap();
        assert_eq!(cli, api, "{name}");
    }

    // an instant before any touchpoint: an empty report, not an error
    let early: Value = serde_json::from_str(&tenure.ok(&[
        "report",
        "touchpoints",
        "--as-of",
        "2024-01-01",
        "--format",
        "json",
    ]))
    .unwrap();
    assert_eq!(early["rows"], json!([]));
    let csv = tenure.ok(&[
        "report",
        "touchpoints",
        "--as-of",
        "2025-12-31",
        "--format",
        "csv",
        "--by",
        "source",
    ]);
    assert!(
        csv.starts_with("source,touchpoints,visitors,first_at,last_at\n"),
        "{csv}"
    );
    let out = tenure.run(&["report", "touchpoints", "--by", "color"]);
    assert_eq!(out.status.code(), Some(2), "a usage error");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("channel, source, medium, campaign, content")
    );
}

/// `experiment` is the same JSON from the CLI and the API, by the group trait and by the
/// experiment's name; without `--by` both say what to give.
#[test]
fn the_experiment_report_is_the_same_json_from_the_cli_and_the_api() {
    let tenure = Tenure::new();
    let company = tenure.data_dir().join("company");
    let company = company.to_str().unwrap();
    tenure.ok(&[
        "sim",
        "--out",
        company,
        "--accounts",
        "300",
        "--months",
        "18",
        "--seed",
        "7",
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
    .map(|f| format!("{company}/{f}"))
    .collect();
    let mut import = vec!["import"];
    import.extend(files.iter().map(String::as_str));
    tenure.ok(&import);
    let read_key = tenure.key("read");
    let cli = |by: &str, control: &str| -> Value {
        let mut args = vec!["report", "experiment", "--as-of", "2026-06-30", "--by", by];
        if !control.is_empty() {
            args.extend(["--control", control]);
        }
        args.extend(["--format", "json"]);
        serde_json::from_str(&tenure.ok(&args)).unwrap()
    };
    let by_trait = cli("onboarding_variant", "");
    let by_event = cli("onboarding_v2", "guided");
    // Without --by: a usage error naming the flag.
    let out = tenure.run(&["report", "experiment"]);
    assert_eq!(out.status.code(), Some(2), "a usage error");
    assert!(String::from_utf8_lossy(&out.stderr).contains("--by"));

    let server = tenure.serve(&[]);
    let get = |query: &str| {
        reqwest::blocking::Client::new()
            .get(format!(
                "{}/api/v1/reports/experiment?as_of=2026-06-30{query}",
                server.url
            ))
            .basic_auth(&read_key, Some(""))
            .send()
            .unwrap()
    };
    let api: Value = get("&by=onboarding_variant").json().unwrap();
    assert_eq!(by_trait, api);
    let api: Value = get("&by=onboarding_v2&control=guided").json().unwrap();
    assert_eq!(by_event, api);
    assert_eq!(api["summary"]["variant_source"], "experiment_viewed");
    assert_eq!(api["summary"]["control"], "guided");
    assert_eq!(by_trait["summary"]["variant_source"], "group_trait");
    let variants: Vec<&str> = by_trait["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["variant"].as_str().unwrap())
        .collect();
    assert_eq!(variants, ["control", "guided"]);
    let refused = get("");
    assert_eq!(refused.status(), 400);
    let refused: Value = refused.json().unwrap();
    assert!(
        refused["message"].as_str().unwrap().contains("--by"),
        "{refused}"
    );
}

#[test]
fn demo_serves_the_company_with_a_read_key_until_interrupted() {
    use std::io::BufRead;
    let tenure = Tenure::new();
    let mut child = tenure
        .command()
        .args([
            "demo",
            "--listen",
            "127.0.0.1:0",
            "--accounts",
            "40",
            "--months",
            "3",
            "--end",
            "2026-01-01",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = std::io::BufReader::new(stdout).lines();
    let (mut url, mut key) = (None, None);
    let mut stages = None;
    while url.is_none() || key.is_none() {
        let line = lines.next().expect("demo exited before serving").unwrap();
        if let Some(rest) = line.strip_prefix("customers by stage: ") {
            stages = Some(rest.to_owned());
        }
        if let Some(rest) = line.strip_prefix("serving on ") {
            url = rest.split_whitespace().next().map(str::to_owned);
        }
        if let Some(rest) = line.strip_prefix("read key: ") {
            key = Some(rest.trim().to_owned());
        }
    }
    // The headline counts customers by stage, in lifecycle order.
    let stages = stages.expect("a stage line in the headline");
    assert!(stages.contains("onboarding"), "{stages}");
    let status = status_over_http(&url.unwrap(), &key.unwrap());
    assert_eq!(status["accounts"], 40);
    let interrupted = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(interrupted.success());
    assert!(child.wait().unwrap().success(), "Ctrl-C is a clean exit");
}
