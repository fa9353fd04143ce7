//! What an operator reads and runs: log lines as JSON for a collector (`--log-format json`), a
//! line per request, a warning at start when a workspace has no key to send or read with,
//! Prometheus `/metrics`, and the systemd units of `contrib/`.
mod common;

use common::Tenure;
use serde_json::Value;

fn json_lines(lines: &[String]) -> Vec<Value> {
    lines
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

#[test]
fn a_server_without_keys_says_so_and_json_logs_are_one_object_a_line() {
    let tenure = Tenure::new();
    let server = tenure.serve(&["--log-format", "json"]);
    let logs = json_lines(&server.startup);
    let warning = logs
        .iter()
        .find(|l| {
            l["level"] == "WARN"
                && l["message"]
                    .as_str()
                    .is_some_and(|m| m.contains("has no key"))
        })
        .unwrap_or_else(|| panic!("no warning of a workspace without keys: {logs:?}"));
    assert_eq!(warning["workspace"], "default", "{warning}");
    assert!(warning["message"]
        .as_str()
        .unwrap()
        .contains("keys create --scope write"));
    assert!(warning["timestamp"].is_string() && warning["target"].is_string());
    drop(server);

    // With a key, no warning; text lines otherwise, without colour codes in a pipe.
    tenure.key("write");
    let server = tenure.serve(&[]);
    assert!(
        server.startup.iter().all(|l| !l.contains("has no key")),
        "{:?}",
        server.startup
    );
    assert!(
        server.startup.iter().all(|l| !l.contains('\u{1b}')),
        "{:?}",
        server.startup
    );
    assert!(
        server.startup.iter().any(|l| l.contains("INFO")),
        "{:?}",
        server.startup
    );
}

#[test]
fn a_command_logs_json_lines_when_asked() {
    let tenure = Tenure::new();
    tenure.key("read");
    let out = tenure.run(&[
        "--log-format",
        "json",
        "--verbose",
        "status",
        "--format",
        "json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<String> = stderr.lines().map(str::to_owned).collect();
    let logs = json_lines(&lines);
    assert!(!logs.is_empty(), "--verbose logs something");
    assert!(logs.iter().all(|l| l["level"].is_string()), "{logs:?}");
    // Data stays on stdout.
    let status: Value = serde_json::from_slice(&out.stdout).expect("status JSON on stdout");
    assert_eq!(status["entries"], 0);
}

/// Each request is one line: method, route, status, duration and the workspace of its key,
/// never the key itself.
#[test]
fn each_request_is_a_log_line_without_its_key() {
    let tenure = Tenure::new();
    let write_key = tenure.key("write");
    let server = tenure.serve(&["--log-format", "json"]);
    let client = reqwest::blocking::Client::new();
    let sent = client
        .post(format!("{}/v1/track?writeKey={write_key}", server.url))
        .body(r#"{"userId":"u1","event":"Report Created"}"#)
        .send()
        .expect("track");
    assert_eq!(sent.status(), 200);
    let missing = client
        .get(format!("{}/nope", server.url))
        .send()
        .expect("a wrong path");
    assert_eq!(missing.status(), 404);

    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let answered = loop {
        let lines = server.log.lock().unwrap().clone();
        assert!(
            lines.iter().all(|l| !l.contains(&write_key)),
            "a log line holds the key: {lines:?}"
        );
        let answered: Vec<Value> = json_lines(&lines)
            .into_iter()
            .filter(|l| l["message"] == "answered")
            .collect();
        if answered.len() >= 2 || std::time::Instant::now() > deadline {
            break answered;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let line = |status: u64| {
        answered
            .iter()
            .find(|l| l["status"] == status)
            .unwrap_or_else(|| panic!("no line of a {status}: {answered:?}"))
    };
    let track = line(200);
    assert_eq!(track["span"]["method"], "POST", "{track}");
    assert_eq!(track["span"]["route"], "/v1/{kind}", "{track}");
    assert_eq!(track["span"]["workspace"], "default", "{track}");
    assert!(
        track["duration_ms"].as_f64().is_some_and(|d| d >= 0.0),
        "{track}"
    );
    let missing = line(404);
    assert_eq!(missing["span"]["route"], "(no route)", "{missing}");
    assert!(missing["span"]["workspace"].is_null(), "{missing}");
}

/// The units in `contrib/systemd` are what systemd accepts: `systemd-analyze verify` knows
/// every key and finds every program (the unit's binary path pointed at this build's).
#[test]
fn the_systemd_units_verify() {
    let Ok(version) = std::process::Command::new("systemd-analyze")
        .arg("--version")
        .output()
    else {
        eprintln!("skipped: systemd-analyze is not installed here");
        return;
    };
    assert!(version.status.success());
    let dir = tempfile::tempdir().unwrap();
    let units = common::repo_root().join("contrib/systemd");
    let mut names = Vec::new();
    for entry in std::fs::read_dir(&units).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        let text = std::fs::read_to_string(&path)
            .unwrap()
            .replace("/usr/local/bin/tenure", env!("CARGO_BIN_EXE_tenure"));
        std::fs::write(dir.path().join(&name), text).unwrap();
        names.push(name);
    }
    names.sort();
    assert_eq!(
        names,
        [
            "tenure-backup.service",
            "tenure-backup.timer",
            "tenure.service"
        ]
    );
    let verified = std::process::Command::new("systemd-analyze")
        .arg("verify")
        .args(&names)
        .current_dir(dir.path())
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&verified.stderr);
    assert!(
        verified.status.success() && said.trim().is_empty(),
        "{said}"
    );
}

/// `/metrics` as Prometheus's own Python client parses it: family → (type, samples).
fn scrape(url: &str, key: &str) -> Value {
    let body = reqwest::blocking::Client::new()
        .get(format!("{url}/metrics"))
        .bearer_auth(key)
        .send()
        .unwrap();
    assert_eq!(body.status(), 200);
    let content_type = body.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(
        content_type.starts_with("application/openmetrics-text"),
        "{content_type}"
    );
    let text = body.text().unwrap();
    let mut parser = std::process::Command::new("python3")
        .arg(common::repo_root().join("tests/operations/parse_metrics.py"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write as _;
    parser
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let parsed = parser.wait_with_output().unwrap();
    assert!(
        parsed.status.success(),
        "the exposition does not parse: {}\n{text}",
        String::from_utf8_lossy(&parsed.stderr)
    );
    serde_json::from_slice(&parsed.stdout).unwrap()
}

/// The value of the sample `name` whose labels include `labels`; 0 when there is none yet.
fn sample(families: &Value, family: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    let Some(samples) = families[family]["samples"].as_array() else {
        return 0.0;
    };
    samples
        .iter()
        .filter(|s| s[0] == name)
        .filter(|s| labels.iter().all(|(k, v)| s[1][*k] == *v))
        .map(|s| s[2].as_f64().unwrap())
        .sum()
}

#[test]
fn metrics_parse_as_openmetrics_and_move_with_traffic() {
    common::ensure("prometheus_client", "operations/install.sh", || {
        common::python_has("prometheus_client")
    });
    let tenure = Tenure::new();
    let write = tenure.key("write");
    let read = tenure.key("read");
    let server = tenure.serve(&[]);
    let http = reqwest::blocking::Client::new();

    let unauthorized = http.get(format!("{}/metrics", server.url)).send().unwrap();
    assert_eq!(unauthorized.status(), 401, "metrics need a read key");
    let before = scrape(&server.url, &read);
    assert_eq!(before["tenure_store_commit_seconds"]["type"], "histogram");
    assert_eq!(before["tenure_open_connections"]["type"], "gauge");

    let batch = serde_json::json!({"batch": [
        {"type": "track", "messageId": "m1", "userId": "u1", "event": "Report Created"},
        {"type": "identify", "messageId": "m2", "userId": "u1", "traits": {"email": "a@b.co"}},
        {"type": "page", "messageId": "m3", "anonymousId": "a1", "name": "Pricing"}
    ]})
    .to_string();
    let sent = http
        .post(format!("{}/v1/batch", server.url))
        .basic_auth(&write, Some(""))
        .header("content-type", "application/json")
        .body(batch.clone())
        .send()
        .unwrap();
    assert_eq!(sent.status(), 200);
    let refused = http
        .post(format!("{}/v1/track", server.url))
        .basic_auth(&write, Some(""))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .unwrap();
    assert_eq!(refused.status(), 400);
    let report = http
        .get(format!("{}/api/v1/reports/mrr", server.url))
        .bearer_auth(&read)
        .send()
        .unwrap();
    assert_eq!(report.status(), 200);
    // The applier runs after the answer: wait for it to show.
    let mut after = scrape(&server.url, &read);
    for _ in 0..50 {
        if sample(
            &after,
            "tenure_model_apply_lag_seconds",
            "tenure_model_apply_lag_seconds_count",
            &[],
        ) >= 1.0
        {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
        after = scrape(&server.url, &read);
    }

    for family in [
        "tenure_ingest_messages",
        "tenure_ingest_bytes",
        "tenure_ingest_request_seconds",
        "tenure_store_commit_seconds",
        "tenure_store_queue_depth",
        "tenure_model_apply_lag_seconds",
        "tenure_report_seconds",
        "tenure_open_connections",
        "tenure_quarantined_entries",
        "tenure_http_requests",
    ] {
        assert!(after.get(family).is_some(), "no {family} in {after}");
    }
    assert_eq!(after["tenure_ingest_messages"]["type"], "counter");
    let moved = |family: &str, name: &str, labels: &[(&str, &str)]| {
        sample(&after, family, name, labels) - sample(&before, family, name, labels)
    };
    let ok = [("source", "segment"), ("status", "200")];
    assert_eq!(
        moved(
            "tenure_ingest_messages",
            "tenure_ingest_messages_total",
            &ok
        ),
        3.0
    );
    assert_eq!(
        moved("tenure_ingest_bytes", "tenure_ingest_bytes_total", &ok),
        batch.len() as f64
    );
    let bad = [("source", "segment"), ("status", "400")];
    assert_eq!(
        moved("tenure_ingest_bytes", "tenure_ingest_bytes_total", &bad),
        9.0
    );
    assert_eq!(
        moved(
            "tenure_ingest_request_seconds",
            "tenure_ingest_request_seconds_count",
            &bad
        ),
        1.0
    );
    assert!(
        moved(
            "tenure_store_commit_seconds",
            "tenure_store_commit_seconds_count",
            &[]
        ) >= 1.0
    );
    assert!(
        moved(
            "tenure_model_apply_lag_seconds",
            "tenure_model_apply_lag_seconds_count",
            &[]
        ) >= 1.0
    );
    assert_eq!(
        moved(
            "tenure_report_seconds",
            "tenure_report_seconds_count",
            &[("report", "mrr")]
        ),
        1.0
    );
    assert_eq!(
        moved(
            "tenure_http_requests",
            "tenure_http_requests_total",
            &[
                ("method", "POST"),
                ("route", "/v1/{kind}"),
                ("status", "200")
            ]
        ),
        1.0
    );
    assert!(
        sample(
            &after,
            "tenure_open_connections",
            "tenure_open_connections",
            &[]
        ) >= 1.0
    );
    assert_eq!(
        sample(
            &after,
            "tenure_quarantined_entries",
            "tenure_quarantined_entries",
            &[]
        ),
        0.0
    );
    assert_eq!(
        sample(
            &after,
            "tenure_store_queue_depth",
            "tenure_store_queue_depth",
            &[]
        ),
        0.0
    );
    // No label names a workspace, a key or anything a client chose.
    let text = after.to_string();
    assert!(
        !text.contains("workspace") && !text.contains(&write),
        "{text}"
    );
}

fn schemathesis_runs() -> bool {
    std::process::Command::new("schemathesis")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The API document is a valid OpenAPI 3.1 document (openapi-spec-validator), and a
/// schema-driven fuzzer (schemathesis) running a bounded number of cases against every route
/// with an admin key finds no server error and no answer its schema does not describe.
#[test]
fn the_api_document_validates_and_every_route_answers_as_it_says() {
    common::ensure(
        "openapi-spec-validator and schemathesis",
        "operations/install.sh",
        || common::python_has("openapi_spec_validator") && schemathesis_runs(),
    );
    let tenure = Tenure::new();
    let company = tenure.dir.path().join("company");
    tenure.ok(&[
        "sim",
        "--out",
        company.to_str().unwrap(),
        "--accounts",
        "40",
        "--months",
        "12",
        "--seed",
        "3",
    ]);
    let mut import = vec!["import".to_owned()];
    for file in std::fs::read_dir(&company).unwrap() {
        let path = file.unwrap().path();
        if path
            .extension()
            .is_some_and(|e| e == "csv" || e == "ndjson")
        {
            import.push(path.to_str().unwrap().to_owned());
        }
    }
    let import: Vec<&str> = import.iter().map(String::as_str).collect();
    tenure.ok(&import);
    let admin = tenure.key("admin");
    // With a Stripe secret, so its webhook answers 400 to what the fuzzer sends rather than the
    // 503 that asks Stripe to retry until one is configured.
    let server = tenure.serve_with_env(&[], &[("TENURE_STRIPE_WEBHOOK_SECRET", "whsec_test")]);

    let document = reqwest::blocking::get(format!("{}/api/v1/openapi.json", server.url)).unwrap();
    assert_eq!(document.status(), 200);
    let document: Value = document.json().unwrap();
    assert_eq!(document["openapi"], "3.1.0");
    // Every report of the catalog, and the report list, is a path.
    let listed: Vec<Value> = reqwest::blocking::Client::new()
        .get(format!("{}/api/v1/reports", server.url))
        .bearer_auth(&admin)
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(listed.len(), tenure_reports_count(&document));
    for report in &listed {
        let path = report["path"].as_str().unwrap();
        assert!(
            document["paths"].get(path).is_some(),
            "{path} is not in the document"
        );
    }
    let file = tenure.write_file("openapi.json", &document.to_string());
    let validated = std::process::Command::new("python3")
        .args(["-m", "openapi_spec_validator"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        validated.status.success(),
        "{}{}",
        String::from_utf8_lossy(&validated.stdout),
        String::from_utf8_lossy(&validated.stderr)
    );

    // From a directory of its own: schemathesis leaves its caches where it runs.
    let work = tempfile::tempdir().unwrap();
    let fuzzed = std::process::Command::new("schemathesis")
        .current_dir(work.path())
        .args(["run", &format!("{}/api/v1/openapi.json", server.url)])
        .args(["--header", &format!("Authorization: Bearer {admin}")])
        .args(["--checks", "not_a_server_error,response_schema_conformance"])
        // Revoking keys at random would revoke the fuzzer's own.
        .args(["--exclude-method", "DELETE"])
        .args([
            "--phases",
            "examples,fuzzing",
            "--max-examples",
            "5",
            "--seed",
            "1",
        ])
        .args([
            "--generation-database",
            "none",
            "--no-color",
            "--max-time",
            "150",
        ])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&fuzzed.stdout);
    assert!(
        fuzzed.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&fuzzed.stderr)
    );
    assert!(said.contains("Tested: "), "{said}");
}

/// The report paths of the document.
fn tenure_reports_count(document: &Value) -> usize {
    document["paths"]
        .as_object()
        .unwrap()
        .keys()
        .filter(|p| p.starts_with("/api/v1/reports/"))
        .count()
}
