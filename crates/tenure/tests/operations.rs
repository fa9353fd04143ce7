//! What an operator reads: log lines as JSON for a collector (`--log-format json`), and a
//! warning at start when a workspace has no key to send or read with.

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
