//! `tenure playbooks …` and `tenure tasks …` against the real binary: their `--format json`
//! is the API's JSON for the same data, byte for byte once parsed, and their mistakes are
//! usage errors (exit 2) or errors (exit 1) with a line that says what to do.

mod common;

use common::Tenure;
use serde_json::{json, Value};
use tenure_core::{Timestamp, WorkspaceId};
use tenure_store::{Attempted, ClaimFor, NewDelivery, NewFiring, NewTask, SqliteStore, Store};

const CONFIG: &str = r#"
[[destinations]]
name = "crm"
kind = "webhook"
url = "https://crm.example/hook"
secret_env = "CRM_WEBHOOK_SECRET"

[[playbooks]]
name = "usage_drop"
trigger = { signal_raised = "usage_drop" }
limit = { once_per = "30d" }
actions = [
  { webhook = { destination = "crm" } },
  { delay = "2d", task = { title = "Call {{ account.name }}" } },
]
"#;

fn at(text: &str) -> Timestamp {
    Timestamp::parse(text).unwrap()
}

/// One firing with a dead webhook delivery and a delivered task delivery, and one open task;
/// the id of the dead delivery, and of the delivered one.
fn seed(t: &Tenure) -> (i64, i64) {
    let store = SqliteStore::open_dir(&t.data_dir()).unwrap();
    let ws = WorkspaceId::default_workspace();
    let firing = NewFiring {
        key: "usage_drop/p1/acme/30d:0".into(),
        playbook: "usage_drop".into(),
        version: "p1".into(),
        account: "acme".into(),
        period: "30d:0".into(),
        fired_at: at("2026-03-01T10:00:00Z"),
        cause: json!({ "signal_raised": "usage_drop" }),
    };
    let delivery = |step: u32, kind: &str| NewDelivery {
        step,
        destination: kind.into(),
        kind: kind.into(),
        payload: json!({ "step": step }),
        due_at: at("2026-03-01T10:00:00Z"),
    };
    assert!(store
        .record_firing(&ws, &firing, &[delivery(0, "webhook"), delivery(1, "task")])
        .unwrap());
    let claimed = store
        .claim_deliveries(
            "worker",
            at("2026-03-01T10:00:01Z"),
            60_000,
            10,
            ClaimFor::Any,
        )
        .unwrap();
    let mut ids = (0, 0);
    for d in claimed {
        let attempt = if d.step == 0 {
            ids.0 = d.id.0;
            Attempted::Dead {
                code: Some(404),
                reason: "404 Not Found".into(),
            }
        } else {
            ids.1 = d.id.0;
            Attempted::Delivered { code: Some(200) }
        };
        assert!(store
            .finish_delivery(d.id, "worker", at("2026-03-01T10:00:02Z"), &attempt, 5)
            .unwrap());
    }
    store
        .upsert_task(
            &ws,
            &NewTask {
                playbook: "usage_drop".into(),
                account: "acme".into(),
                title: "Call Acme".into(),
                owner: Some("ana".into()),
                due_at: None,
                firing_key: Some(firing.key),
                at: at("2026-03-01T10:00:02Z"),
            },
        )
        .unwrap();
    store.close();
    ids
}

fn cli_json(t: &Tenure, config: &str, args: &[&str]) -> Value {
    let mut all = vec!["--config", config];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--format", "json"]);
    serde_json::from_str(&t.ok(&all)).unwrap_or_else(|e| panic!("{args:?}: not JSON: {e}"))
}

#[test]
fn the_cli_prints_the_apis_json_for_the_same_data() {
    let t = Tenure::new();
    let (dead, delivered) = seed(&t);
    let admin = t.key("admin");
    let config = t.write_file("tenure.toml", CONFIG);
    let config = config.to_str().unwrap();
    // A server builds every destination at start: the webhook's secret must be there.
    let server = t.serve_with_env(
        &["--config", config],
        &[("CRM_WEBHOOK_SECRET", "whsec_test")],
    );
    let http = reqwest::blocking::Client::new();
    let get = |path: &str| -> Value {
        let response = http
            .get(format!("{}{path}", server.url))
            .bearer_auth(&admin)
            .send()
            .unwrap();
        assert!(
            response.status().is_success(),
            "{path}: {}",
            response.status()
        );
        response.json().unwrap()
    };
    // The server's first tick marks the playbook switched on; compared after it, the CLI and
    // the API read the same store. A tick that comes while the first scoring still runs does
    // nothing, and the next is a minute later (PLAYBOOK_TICK_EVERY): allow for the second.
    let started = std::time::Instant::now();
    while get("/api/v1/playbooks")["playbooks"][0]["switched_on"].is_null() {
        assert!(started.elapsed().as_secs() < 90, "the first tick never ran");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let pairs: [(&[&str], String); 8] = [
        (
            &["playbooks", "account", "acme"],
            "/api/v1/accounts/acme/playbooks".into(),
        ),
        (&["playbooks", "list"], "/api/v1/playbooks".into()),
        (&["playbooks", "log"], "/api/v1/playbooks/firings".into()),
        (
            &[
                "playbooks",
                "log",
                "--account",
                "acme",
                "--since",
                "2026-03-01",
            ],
            "/api/v1/playbooks/firings?account=acme&since=2026-03-01".into(),
        ),
        (&["playbooks", "deliveries"], "/api/v1/deliveries".into()),
        (
            &["playbooks", "deliveries", "--status", "dead"],
            "/api/v1/deliveries?status=dead".into(),
        ),
        (
            &["playbooks", "deliveries", &dead.to_string()],
            format!("/api/v1/deliveries/{dead}"),
        ),
        (
            &["tasks", "list", "--owner", "ana"],
            "/api/v1/tasks?owner=ana".into(),
        ),
    ];
    for (args, path) in &pairs {
        let cli = cli_json(&t, config, args);
        assert_eq!(cli, get(path), "tenure {args:?} and GET {path} differ");
    }
    // Not empty answers compared: the data is there.
    let list = cli_json(&t, config, &["playbooks", "list"]);
    assert_eq!(list["playbooks"][0]["firings"], 1);
    assert_eq!(
        list["playbooks"][0]["deliveries"],
        json!({ "pending": 0, "delivered": 1, "dead": 1 })
    );
    let log = cli_json(&t, config, &["playbooks", "log"]);
    assert_eq!(log["firings"][0]["deliveries"][0]["status"], "dead");
    let account = cli_json(&t, config, &["playbooks", "account", "acme"]);
    assert_eq!(account["activity"].as_array().unwrap().len(), 2);
    assert_eq!(account["open_tasks"][0]["title"], "Call Acme");
    assert_eq!(
        cli_json(&t, config, &["tasks", "list", "--owner", "ana"])["tasks"][0]["title"],
        "Call Acme"
    );

    // A retry over the CLI, seen by the API.
    let retried = cli_json(&t, config, &["playbooks", "retry", &dead.to_string()]);
    assert_eq!(retried["retried"][0]["id"], dead);
    assert_eq!(retried["retried"][0]["status"], "pending");
    assert_eq!(
        get(&format!("/api/v1/deliveries/{dead}"))["delivery"]["status"],
        "pending"
    );

    // A retry of a delivered delivery is refused, and says why.
    let out = t.run(&["playbooks", "retry", &delivered.to_string()]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("delivery {delivered} was delivered at"))
            && stderr.contains("nothing was changed"),
        "{stderr}"
    );

    // Task changes over the CLI, each printing the task the API then lists.
    let task_id = get("/api/v1/tasks")["tasks"][0]["id"].as_i64().unwrap();
    let id = task_id.to_string();
    let assigned = cli_json(&t, config, &["tasks", "assign", &id, "bo"]);
    assert_eq!(assigned["owner"], "bo");
    let snoozed = cli_json(&t, config, &["tasks", "snooze", &id, "--for", "3d"]);
    assert_eq!(snoozed["status"], "snoozed");
    assert_eq!(get("/api/v1/tasks?status=snoozed")["tasks"][0], snoozed);
    let done = cli_json(&t, config, &["tasks", "complete", &id]);
    assert_eq!(done["status"], "done");
    assert_eq!(get("/api/v1/tasks?status=done")["tasks"][0], done);
}

#[test]
fn mistakes_say_what_was_wrong_with_the_right_exit_status() {
    let t = Tenure::new();
    let (dead, _) = seed(&t);
    let cases: &[(&[&str], i32, &str)] = &[
        (
            &["playbooks", "log", "--since", "last week"],
            2,
            "is not a date",
        ),
        (&["playbooks", "log", "--limit", "0"], 2, "from 1 to 10000"),
        (
            &["playbooks", "deliveries", "--status", "lost"],
            2,
            "invalid value",
        ),
        (&["playbooks", "deliveries", "999"], 1, "no delivery 999"),
        (
            &["playbooks", "deliveries", "abc"],
            2,
            "is not a delivery id",
        ),
        (&["playbooks", "retry", "999"], 1, "no delivery 999"),
        (&["tasks", "complete", "999"], 1, "no task 999"),
        (
            &["tasks", "snooze", "1", "--until", "soon"],
            2,
            "until \"soon\" is not a date",
        ),
        (
            &["tasks", "snooze", "1", "--for", "3 days"],
            2,
            "bad duration",
        ),
    ];
    for (args, code, wanted) in cases {
        let out = t.run(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(*code), "{args:?}: {stderr}");
        assert!(stderr.contains(wanted), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{args:?} wrote data on stdout");
    }
    let filtered = t.run(&[
        "playbooks",
        "deliveries",
        &dead.to_string(),
        "--status",
        "dead",
    ]);
    assert_eq!(filtered.status.code(), Some(2));
}

/// `tenure playbooks dry-run`: who a state playbook matches now among the store's accounts,
/// and one account step by step; nothing is recorded.
#[test]
fn the_dry_run_shows_who_matches_and_records_nothing() {
    let t = Tenure::new();
    let csv = t.write_file(
        "subscriptions.csv",
        "account_id,effective_at,mrr,currency,plan,seats\n\
         gone,2025-01-01T00:00:00Z,100.00,USD,starter,2\n\
         gone,2025-02-01T00:00:00Z,0.00,USD,starter,0\n\
         kept,2025-01-01T00:00:00Z,100.00,USD,starter,2\n",
    );
    t.ok(&["import", csv.to_str().unwrap()]);
    let config = t.write_file(
        "tenure.toml",
        r#"
[[playbooks]]
name = "win_back"
trigger = { state = { stage = "churned" } }
for_whom = { include_churned = true }
actions = [{ task = { title = "Win back {{ account.id }}" } }]
"#,
    );
    let config = config.to_str().unwrap();
    let preview = cli_json(&t, config, &["playbooks", "dry-run"]);
    let p = &preview["playbooks"][0];
    assert_eq!(p["playbook"], "win_back");
    assert_eq!(p["trigger"], "state");
    assert_eq!(p["matching"], 1, "{preview}");
    assert_eq!(p["accounts"], json!(["gone"]));
    assert_eq!(p["actions"][0]["deliveries"], 1);
    let gone = cli_json(&t, config, &["playbooks", "dry-run", "--account", "gone"]);
    let e = &gone["explained"][0];
    assert!(
        e["firing_key"].as_str().unwrap().starts_with("win_back/"),
        "{gone}"
    );
    assert_eq!(e["actions"][0]["payload"]["title"], "Win back gone");
    let kept = cli_json(&t, config, &["playbooks", "dry-run", "--account", "kept"]);
    let e = &kept["explained"][0];
    assert!(e["firing_key"].is_null(), "{kept}");
    assert!(
        e["checks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["held"] == false),
        "{kept}"
    );
    // Nothing was recorded.
    let log = cli_json(&t, config, &["playbooks", "log"]);
    assert_eq!(log["firings"], json!([]), "{log}");
    // An unknown playbook or account is a usage error that names the choices.
    let out = t.run(&[
        "--config",
        config,
        "playbooks",
        "dry-run",
        "--playbook",
        "nope",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("win_back"));
}

/// The dry-run's three forms over the CLI and the API give the same JSON for the same
/// question: who matches and one account step by step at one instant (`as_of`; a server
/// scores its live model afresh at it, the CLI the model rebuilt from the log), and a replay
/// of the log's last days up to one instant (`until`).
#[test]
fn the_dry_run_and_the_replay_answer_alike_over_the_cli_and_the_api() {
    let t = Tenure::new();
    let csv = t.write_file(
        "subscriptions.csv",
        "account_id,effective_at,mrr,currency,plan,seats\n\
         gone,2025-01-01T00:00:00Z,100.00,USD,starter,2\n\
         gone,2025-02-01T00:00:00Z,0.00,USD,starter,0\n\
         kept,2025-01-01T00:00:00Z,100.00,USD,starter,2\n",
    );
    t.ok(&["import", csv.to_str().unwrap()]);
    let config = t.write_file(
        "tenure.toml",
        r#"
[[playbooks]]
name = "win_back"
trigger = { state = { stage = "churned" } }
for_whom = { include_churned = true }
actions = [{ task = { title = "Win back {{ account.id }}" } }]

[[playbooks]]
name = "churn_alert"
trigger = { stage_entered = "churned" }
for_whom = { include_churned = true }
actions = [{ task = { title = "Churned: {{ account.id }}" } }]
"#,
    );
    let config = config.to_str().unwrap();
    // The import was received today: a window from yesterday to the day after tomorrow
    // holds it, with two midnight ticks after it.
    let today = chrono::Utc::now().date_naive();
    let until = (today + chrono::Days::new(2)).to_string();
    let pairs: [(Vec<&str>, String); 4] = [
        (
            vec!["playbooks", "dry-run", "--as-of", "2025-06-01"],
            "/api/v1/playbooks/dry_run?as_of=2025-06-01".into(),
        ),
        (
            vec![
                "playbooks",
                "dry-run",
                "--account",
                "gone",
                "--as-of",
                "2025-06-01",
            ],
            "/api/v1/playbooks/dry_run?account=gone&as_of=2025-06-01".into(),
        ),
        (
            vec![
                "playbooks",
                "dry-run",
                "--playbook",
                "win_back",
                "--as-of",
                "2025-06-01T12:00:00Z",
            ],
            "/api/v1/playbooks/dry_run?playbook=win_back&as_of=2025-06-01T12:00:00Z".into(),
        ),
        (
            vec!["playbooks", "replay", "--days", "3", "--until", &until],
            format!("/api/v1/playbooks/replay?days=3&until={until}"),
        ),
    ];
    // Asked over the CLI first, with no server running: nothing is recorded.
    let answers: Vec<Value> = pairs
        .iter()
        .map(|(args, _)| cli_json(&t, config, args))
        .collect();
    assert_eq!(
        cli_json(&t, config, &["playbooks", "log"])["firings"],
        json!([])
    );
    let read = t.key("read");
    let server = t.serve(&["--config", config]);
    let http = reqwest::blocking::Client::new();
    let get = |path: &str| {
        http.get(format!("{}{path}", server.url))
            .bearer_auth(&read)
            .send()
            .unwrap()
    };
    for ((args, path), cli) in pairs.iter().zip(&answers) {
        let response = get(path);
        assert!(
            response.status().is_success(),
            "{path}: {}",
            response.status()
        );
        let api: Value = response.json().unwrap();
        assert_eq!(cli, &api, "tenure {args:?} and GET {path} differ");
    }
    // Not empty answers compared.
    let preview = &answers[0];
    assert_eq!(preview["as_of"], "2025-06-01T00:00:00.000Z", "{preview}");
    assert_eq!(preview["playbooks"][0]["accounts"], json!(["gone"]));
    let gone = &answers[1];
    assert_eq!(
        gone["explained"][0]["actions"][0]["payload"]["title"],
        "Win back gone"
    );
    let replay = &answers[3];
    let firings = replay["firings"].as_array().unwrap();
    // The import is each account's first status (its baseline: no change fires on it); the
    // state trigger fires for the churned account at the first midnight after it.
    assert_eq!(firings.len(), 1, "{replay}");
    assert_eq!(firings[0]["playbook"], "win_back");
    assert_eq!(firings[0]["account"], "gone");
    assert_eq!(
        firings[0]["fired_at"],
        format!("{}T00:00:00.000Z", today + chrono::Days::new(1))
    );
    assert_eq!(
        firings[0]["actions"][0]["payload"]["title"],
        "Win back gone"
    );
    assert_eq!(replay["entries"], 3);
    assert_eq!(replay["playbooks"][0]["firings"], 1);

    // The same mistakes, said alike.
    let response = get("/api/v1/playbooks/dry_run?account=nobody&as_of=2025-06-01");
    assert_eq!(response.status().as_u16(), 404);
    let out = t.run(&[
        "--config",
        config,
        "playbooks",
        "dry-run",
        "--account",
        "nobody",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("account \"nobody\" has no status"));
    for (args, path, wanted) in [
        (
            vec!["playbooks", "replay", "--days", "0"],
            "/api/v1/playbooks/replay?days=0",
            "from 1 to 366",
        ),
        (
            vec!["playbooks", "replay", "--days", "3", "--playbook", "nope"],
            "/api/v1/playbooks/replay?days=3&playbook=nope",
            "win_back, churn_alert",
        ),
        (
            vec!["playbooks", "replay", "--days", "3", "--tick", "10s"],
            "/api/v1/playbooks/replay?days=3&tick=10s",
            "bad duration",
        ),
    ] {
        let mut all = vec!["--config", config];
        all.extend_from_slice(&args);
        let out = t.run(&all);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(wanted), "{args:?}: {stderr}");
        let response = get(path);
        assert_eq!(response.status().as_u16(), 400, "{path}");
        let body = response.text().unwrap();
        assert!(body.contains(wanted), "{path}: {body}");
    }
    let response = get("/api/v1/playbooks/replay");
    assert_eq!(response.status().as_u16(), 400);
    assert!(response.text().unwrap().contains("days is missing"));
}

/// `tenure sim` writes beside the company a configuration with the five example playbooks the
/// issue asks for and a handoff with its SLA breach, which `config check` accepts and a
/// dry-run evaluates against the imported company.
#[test]
fn the_simulated_company_ships_its_playbooks() {
    let t = Tenure::new();
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().to_str().unwrap();
    t.ok(&[
        "sim",
        "--out",
        dir,
        "--accounts",
        "150",
        "--months",
        "12",
        "--seed",
        "7",
    ]);
    let config = out.path().join("tenure.toml");
    let config = config.to_str().unwrap();
    t.ok(&["--config", config, "config", "check"]);
    let files: Vec<String> = tenure_sim::FILES
        .iter()
        .filter(|f| !f.ends_with(".json"))
        .map(|f| out.path().join(f).to_str().unwrap().to_owned())
        .collect();
    let mut import = vec!["import"];
    import.extend(files.iter().map(String::as_str));
    t.ok(&import);
    let preview = cli_json(&t, config, &["playbooks", "dry-run"]);
    let playbooks = preview["playbooks"].as_array().unwrap();
    let names: Vec<&str> = playbooks
        .iter()
        .map(|p| p["playbook"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "renewal_90_60_30",
            "usage_drop_task",
            "activation_missed_day_14",
            "seat_expansion",
            "advocate_review_request",
            "at_risk_handoff",
            "cs_sla_breached"
        ]
    );
    let of = |name: &str| playbooks.iter().find(|p| p["playbook"] == name).unwrap();
    assert_eq!(of("cs_sla_breached")["trigger"], "sla_breached");
    assert_eq!(of("renewal_90_60_30")["trigger"], "calendar");
    assert_eq!(
        of("renewal_90_60_30")["actions"].as_array().unwrap().len(),
        4
    );
    // A change playbook applies to the customers its filters hold for: some, not none.
    assert!(
        of("usage_drop_task")["matching"].as_u64().unwrap() > 0,
        "{preview}"
    );
}

/// A webhook receiver on loopback that counts requests by `Tenure-Delivery` id, taking a
/// little time over each so a kill can fall among them.
fn counting_receiver() -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = std::sync::Arc::clone(&seen);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let (mut id, mut length) = (String::new(), 0usize);
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 0) {
                let header = line.trim_end().to_ascii_lowercase();
                if header.is_empty() {
                    break;
                }
                if let Some(v) = header.strip_prefix("tenure-delivery: ") {
                    id = v.to_owned();
                }
                if let Some(v) = header.strip_prefix("content-length: ") {
                    length = v.parse().unwrap_or(0);
                }
                line.clear();
            }
            let mut body = vec![0; length];
            if reader.read_exact(&mut body).is_err() {
                continue;
            }
            std::thread::sleep(std::time::Duration::from_millis(40));
            log.lock().unwrap().push(id);
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        }
    });
    (url, seen)
}

/// The server is killed with SIGKILL while it delivers and started again: every firing's
/// webhook reaches the receiver, each delivery id at least once and none lost; a repeat can
/// only be the one delivery in flight at the kill, which the receiver drops by its id.
#[test]
fn deliveries_survive_sigkill_none_lost() {
    let t = Tenure::new();
    let csv = t.write_file(
        "subscriptions.csv",
        "account_id,effective_at,mrr,currency,plan,seats\nacme,2025-01-01T00:00:00Z,100.00,USD,pro,5\n",
    );
    t.ok(&["import", csv.to_str().unwrap()]);
    let (url, received) = counting_receiver();
    let config = t.write_file(
        "tenure.toml",
        &format!(
            r#"
[playbook_settings]
max_firings_per_account_per_day = 1000
delivery_lease_seconds = 15

[[destinations]]
name = "crm"
kind = "webhook"
url = "{url}"
secret_env = "CRM_WEBHOOK_SECRET"

[[playbooks]]
name = "export_failed"
trigger = {{ event = "Export Failed" }}
limit = {{ every_match = true }}
actions = [{{ webhook = {{ destination = "crm" }} }}]
"#
        ),
    );
    let config = config.to_str().unwrap();
    let env = [("CRM_WEBHOOK_SECRET", "whsec_test")];
    let write = t.key("write");
    let read = t.key("read");
    let http = reqwest::blocking::Client::new();
    let server = t.serve_with_env(&["--config", config], &env);
    // The account's status is its baseline; events after it fire.
    let status = http
        .get(format!("{}/api/v1/accounts/acme", server.url))
        .bearer_auth(&read)
        .send()
        .unwrap();
    assert!(status.status().is_success(), "{}", status.status());
    const EVENTS: usize = 30;
    let batch: Vec<Value> = (0..EVENTS)
        .map(|i| {
            json!({
                "type": "track", "event": "Export Failed", "userId": "u1",
                "messageId": format!("export-{i}"), "timestamp": "2025-03-01T10:00:00Z",
                "context": { "groupId": "acme" },
            })
        })
        .collect();
    let sent = http
        .post(format!("{}/v1/batch", server.url))
        .basic_auth(&write, Some(""))
        .json(&json!({ "batch": batch }))
        .send()
        .unwrap();
    assert_eq!(sent.status(), 200);
    // Killed once some deliveries have arrived, before all have.
    let started = std::time::Instant::now();
    while received.lock().unwrap().len() < 5 {
        assert!(started.elapsed().as_secs() < 60, "no delivery arrived");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    drop(server);
    let before_restart = received.lock().unwrap().len();
    assert!(before_restart < EVENTS, "all delivered before the kill");
    let server = t.serve_with_env(&["--config", config], &env);
    let distinct = || {
        let mut ids = received.lock().unwrap().clone();
        ids.sort();
        ids.dedup();
        ids.len()
    };
    while distinct() < EVENTS {
        assert!(
            started.elapsed().as_secs() < 120,
            "{} of {EVENTS} delivered",
            distinct()
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    // A delivery in flight at the kill may have reached the receiver unrecorded: it is sent
    // again once its lease (15 s here) has ended, and then recorded delivered.
    let delivered = || {
        cli_json(
            &t,
            config,
            &["playbooks", "deliveries", "--status", "delivered"],
        )["deliveries"]
            .as_array()
            .unwrap()
            .len()
    };
    while delivered() < EVENTS {
        assert!(
            started.elapsed().as_secs() < 120,
            "{} of {EVENTS} recorded delivered",
            delivered()
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let all = received.lock().unwrap().clone();
    assert_eq!(distinct(), EVENTS);
    assert!(
        all.len() <= EVENTS + 1,
        "{} requests for {EVENTS} deliveries: more than the one in flight repeated",
        all.len()
    );
    drop(server);
}
