//! What an operator reads: log lines as JSON for a collector (`--log-format json`), a line per
//! request, and a warning at start when a workspace has no key to send or read with.

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
