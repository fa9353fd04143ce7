//! What a new user meets in the first hour, through the real binary: wrong input is refused
//! with what is accepted (exit 2) instead of quietly giving other figures, a mistyped data
//! directory is not a new empty store, reports default to the end of the data, output into
//! a closed pipe ends quietly, and files as they come (compressed, with extra columns) load.
//! (Import's progress lines where stderr is not a terminal are unit-tested in `progress`:
//! they come every 5 s, longer than any file here takes.)

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};

use common::Tenure;

fn sample(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/sample")
        .join(name)
}

const SAMPLE: [&str; 6] = [
    "accounts.csv",
    "subscriptions.csv",
    "deals.csv",
    "spend.csv",
    "touchpoints.csv",
    "events.ndjson",
];

/// A store holding the sample company.
fn with_sample() -> Tenure {
    let t = Tenure::new();
    let files: Vec<String> = SAMPLE
        .iter()
        .map(|f| sample(f).display().to_string())
        .collect();
    let mut args = vec!["import"];
    args.extend(files.iter().map(String::as_str));
    t.ok(&args);
    t
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The one line an error prints, checked to be one line.
fn one_line(out: &Output) -> String {
    let text = stderr(out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1, "one line on stderr: {text:?}");
    lines[0].to_owned()
}

#[test]
fn read_commands_on_a_directory_without_a_store_fail_naming_it_and_create_nothing() {
    let t = Tenure::new();
    for args in [
        &["report", "mrr"][..],
        &["status"],
        &["log", "unreadable"],
        &["keys", "list"],
        &["keys", "revoke", "tk_x"],
    ] {
        let out = t.run(args);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", stderr(&out));
        let line = one_line(&out);
        assert!(
            line.starts_with("error: no store in ")
                && line.contains(&t.data_dir().display().to_string()),
            "{args:?}: {line}"
        );
        assert!(out.stdout.is_empty(), "{args:?}");
        assert!(!t.data_dir().exists(), "{args:?} created the directory");
    }
    // A command that writes still creates the store.
    assert!(t.key("read").starts_with("tnr_"));
    assert!(t.data_dir().join("tenure.db").is_file());
    assert!(t.run(&["status"]).status.success());

    // --database names another store: the embedded one in the data directory is not read in
    // its place (the read-only fallback once did).
    for args in [&["status"][..], &["report", "mrr"]] {
        let mut with_database = vec!["--database", "postgres://127.0.0.1:1/none"];
        with_database.extend_from_slice(args);
        let out = t.run(&with_database);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", stderr(&out));
        assert!(one_line(&out).contains("PostgreSQL"), "{args:?}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
}

#[test]
fn unknown_values_and_flags_a_report_does_not_read_are_usage_errors() {
    let t = with_sample();
    // (arguments, what the one line on stderr says)
    let cases: &[(&[&str], &str)] = &[
        (&["report", "nope"], "no report named \"nope\""),
        (
            &["report", "mrr", "--by", "nonsense"],
            "--by \"nonsense\" is not a grouping of the mrr report",
        ),
        (
            &["report", "touchpoints", "--by", "tier"],
            "--by \"tier\" is not a grouping of the touchpoints report (expected one of channel, source, medium, campaign, content)",
        ),
        (
            &["report", "mrr", "--sort", "arr"],
            "--sort does not apply to the mrr report (it applies to: accounts)",
        ),
        (
            &["report", "mrr", "--compare"],
            "--compare does not apply to the mrr report (it applies to: attribution)",
        ),
        (
            &["report", "mrr", "--stage", "at_risk"],
            "--stage does not apply to the mrr report (it applies to: adoption, accounts, signals, renewals)",
        ),
        (
            &["report", "cohorts", "--from", "2025-01-01"],
            "--from does not apply to the cohorts report",
        ),
        (
            &["report", "mrr", "acct_001"],
            "ACCOUNT does not apply to the mrr report (it applies to: journey, account)",
        ),
        (
            &["report", "accounts", "--sort", "size"],
            "sort: \"size\" is not a sort (expected one of arr, health, risk)",
        ),
        (
            &["report", "accounts", "--band", "purple"],
            "band: \"purple\" is not a band (expected one of green, yellow, red)",
        ),
        (
            &["report", "signals", "--signal", "sad"],
            "signal: \"sad\" is not a signal",
        ),
        (
            &["report", "attribution", "--model", "magic"],
            "model: \"magic\" is not a model (expected one of first_touch,",
        ),
        (
            &["report", "attribution", "--metric", "vibes"],
            "metric: \"vibes\" is not a metric (expected one of conversions,",
        ),
        (
            &["report", "journey"],
            "account: the journey report is about one account",
        ),
        (&["report", "mrr", "--as-of", "yesterday"], "as_of: "),
        (
            &["import", "--kind", "invoices", "x.csv"],
            "--kind \"invoices\" is not a kind (expected one of events,",
        ),
        (&["--workspace", "a b", "status"], "--workspace \"a b\": "),
        // A name the store does not have would read as an empty workspace.
        (
            &["--workspace", "defualt", "status"],
            "--workspace defualt: the store in ",
        ),
        (&["--workspace", "defualt", "report", "mrr"], "(it has: default)"),
        (&["--workspace", "defualt", "keys", "list"], "(it has: default)"),
    ];
    for (args, says) in cases {
        let out = t.run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        let line = one_line(&out);
        assert!(
            line.starts_with("error: ") && line.contains(says),
            "{args:?}: {line}"
        );
        assert!(out.stdout.is_empty(), "{args:?}");
    }
    // Accepted: an attribute every account may have (none has `industry` in its group
    // traits, but accounts.csv has the column), and one the data has.
    for by in ["industry", "tier", "plan", "stage", "channel"] {
        let out = t.run(&["report", "mrr", "--by", by, "--format", "json"]);
        assert_eq!(out.status.code(), Some(0), "--by {by}: {}", stderr(&out));
    }
}

#[test]
fn journey_and_account_say_the_same_of_an_account_that_is_not_there() {
    let t = with_sample();
    let journey = t.run(&["report", "journey", "acct_999"]);
    let account = t.run(&["report", "account", "acct_999"]);
    for out in [&journey, &account] {
        assert_eq!(out.status.code(), Some(1), "{}", stderr(out));
        assert!(out.stdout.is_empty());
    }
    assert_eq!(one_line(&journey), one_line(&account));
    assert!(
        one_line(&journey).starts_with("error: no account acct_999 in this workspace"),
        "{}",
        one_line(&journey)
    );
    // An account that is there has a journey.
    assert!(t.run(&["report", "journey", "acct_001"]).status.success());
}

#[test]
fn reports_default_to_the_end_of_the_data_and_say_so() {
    let t = with_sample();
    // The latest instant any sample file states is acct_003's cancellation in
    // subscriptions.csv, effective 2025-09-01 (deals close by 2025-07-25, spend, touchpoints
    // and events end earlier): the default is the end of that day.
    let out = t.run(&["report", "mrr", "--format", "json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["as_of"], "2025-09-01T23:59:59.999Z");
    assert_eq!(report["as_of_source"], "end_of_data");
    assert_eq!(
        stderr(&out).trim(),
        "as of 2025-09-01T23:59:59.999Z (the end of the data; --as-of to choose)"
    );
    // The last month is the data's last, not the months up to today.
    assert_eq!(
        report["rows"].as_array().unwrap().last().unwrap()["month"],
        "2025-09"
    );
    // A given instant is used as given, and nothing is said.
    let out = t.run(&["report", "mrr", "--format", "json", "--as-of", "2025-06-30"]);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["as_of"], "2025-06-30T23:59:59.999Z");
    assert_eq!(report["as_of_source"], "given");
    assert_eq!(stderr(&out), "");
}

#[test]
fn the_api_refuses_what_the_cli_refuses_and_defaults_to_the_end_of_the_data() {
    let t = with_sample();
    let key = t.key("read");
    let server = t.serve(&[]);
    let client = reqwest::blocking::Client::new();
    let get = |path: &str| {
        let response = client
            .get(format!("{}{path}", server.url))
            .basic_auth(&key, Some(""))
            .send()
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json::<serde_json::Value>().unwrap())
    };
    for (path, says) in [
        (
            "/api/v1/reports/mrr?by=nonsense",
            "--by \"nonsense\" is not a grouping of the mrr report",
        ),
        (
            "/api/v1/reports/mrr?sort=arr",
            "--sort does not apply to the mrr report",
        ),
        (
            "/api/v1/reports/mrr?compare=true",
            "--compare does not apply to the mrr report",
        ),
        (
            "/api/v1/reports/accounts?band=purple",
            "band: \"purple\" is not a band",
        ),
    ] {
        let (status, body) = get(path);
        assert_eq!(status, 400, "{path}: {body}");
        assert_eq!(body["code"], "invalid_parameter", "{path}");
        assert!(
            body["message"].as_str().unwrap().contains(says),
            "{path}: {body}"
        );
    }
    for report in ["journey", "account"] {
        let (status, body) = get(&format!("/api/v1/reports/{report}?account=acct_999"));
        assert_eq!(status, 404, "{report}: {body}");
        assert_eq!(body["code"], "unknown_account", "{report}");
    }
    let (status, body) = get("/api/v1/reports/mrr");
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["as_of"], "2025-09-01T23:59:59.999Z");
    assert_eq!(body["as_of_source"], "end_of_data");
}

#[test]
fn the_demo_headline_states_one_instant_the_end_of_its_data() {
    let t = Tenure::new();
    let out = t.ok(&[
        "demo",
        "--no-serve",
        "--accounts",
        "40",
        "--months",
        "6",
        "--end",
        "2025-07-01",
    ]);
    // The simulated window ends before 2025-07-01, so its last day with data is 2025-06-30,
    // whatever today is; MRR was "at now" while health was at the simulation's end.
    let mrr = out.lines().find(|l| l.starts_with("MRR ")).expect(&out);
    let health = out
        .lines()
        .find(|l| l.starts_with("health at "))
        .expect(&out);
    assert!(mrr.contains(" customers at 2025-06-30"), "{mrr}");
    assert!(health.starts_with("health at 2025-06-30:"), "{health}");
}

/// Runs `tenure ARGS` with stdout a pipe whose reader is already gone.
fn into_a_closed_pipe(t: &Tenure, args: &[&str]) -> Output {
    let mut child = t
        .command()
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    child.wait_with_output().unwrap()
}

#[test]
fn output_into_a_closed_pipe_ends_quietly_and_successfully() {
    let t = with_sample();
    let out_dir = t.dir.path().join("company");
    let out_dir = out_dir.display().to_string();
    for args in [
        &["report", "mrr", "--as-of", "2025-09-01"][..],
        &[
            "report",
            "touchpoints",
            "--format",
            "csv",
            "--as-of",
            "2025-09-01",
        ],
        &["status"],
        &["sim", "--out", &out_dir, "--accounts", "5", "--months", "2"],
    ] {
        let out = into_a_closed_pipe(&t, args);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {err}");
        assert!(
            !err.contains("panicked") && !err.contains("error"),
            "{args:?}: {err}"
        );
    }
}

#[test]
fn sim_without_end_gives_the_same_bytes_on_any_day() {
    let t = Tenure::new();
    let out = t.dir.path().join("company");
    let line = t.ok(&[
        "sim",
        "--out",
        &out.display().to_string(),
        "--accounts",
        "5",
        "--months",
        "2",
    ]);
    // The documented default end, whatever today is.
    assert!(line.contains("to 2026-12-01"), "{line}");
}

#[test]
fn help_separates_global_options_describes_formats_and_gives_examples() {
    let t = Tenure::new();
    let report = t.ok(&["report", "--help"]);
    let (own, global) = report
        .split_once("Global options:")
        .expect("a Global options heading");
    assert!(own.contains("--format") && own.contains("`csv` for spreadsheets"));
    assert!(!own.contains("--data-dir") && global.contains("--data-dir"));
    assert!(
        global.contains("Examples:\n  tenure report mrr"),
        "{global}"
    );
    // Every report, with what it answers, and every flag with the reports that read it: both
    // from the catalog.
    assert!(global.contains("Reports:\n  attribution "), "{global}");
    for name in ["journey", "health-backtest", "forecast"] {
        assert!(global.contains(&format!("\n  {name} ")), "{name}: {global}");
    }
    assert!(
        own.contains("--limit <N>")
            && own.contains("Reports: touchpoints, accounts, signals, renewals"),
        "{own}"
    );
    let keys = t.ok(&["keys", "create", "--help"]);
    assert!(keys.contains("`read` reads reports and status"), "{keys}");
    // sim only writes files: it lists none of the store's options.
    let sim = t.ok(&["sim", "--help"]);
    for flag in ["--data-dir", "--database", "--config", "--workspace"] {
        assert!(!sim.contains(flag), "sim --help lists {flag}: {sim}");
    }
    assert!(sim.contains("[default: 2026-12-01]"), "{sim}");
    for command in ["import", "serve", "demo", "sim", "status"] {
        let help = t.ok(&[command, "--help"]);
        assert!(help.contains("Examples:"), "{command} --help: {help}");
    }
}

#[test]
fn logs_carry_no_colour_codes_when_stderr_is_not_a_terminal() {
    // A new store logs its migrations at info.
    let t = Tenure::new();
    let out = t
        .command()
        .env("RUST_LOG", "info")
        .args(["keys", "create", "--scope", "read"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let err = stderr(&out);
    assert!(err.contains(" INFO tenure_store"), "some log: {err}");
    assert!(!err.contains('\u{1b}'), "ANSI escape in {err:?}");
}

#[test]
fn a_busy_port_fails_the_demo_before_it_simulates() {
    let t = Tenure::new();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = t.run(&[
        "demo",
        "--listen",
        &addr,
        "--accounts",
        "5",
        "--months",
        "2",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let line = one_line(&out);
    assert!(
        line.starts_with(&format!("error: cannot listen on {addr}: "))
            && line.contains("choose another address with --listen"),
        "{line}"
    );
    assert!(!t.data_dir().join("demo-input").exists(), "it simulated");
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

#[test]
fn compressed_files_load_as_their_name_without_gz_says() {
    let plain = with_sample();
    let t = Tenure::new();
    let mut paths = Vec::new();
    for name in SAMPLE {
        let path = t.dir.path().join(format!("{name}.gz"));
        std::fs::write(&path, gzip(&std::fs::read(sample(name)).unwrap())).unwrap();
        paths.push(path.display().to_string());
    }
    let mut args = vec!["import"];
    args.extend(paths.iter().map(String::as_str));
    let out = t.ok(&args);
    assert!(out.contains("events.ndjson.gz: "), "{out}");
    // The same entries as the plain files give.
    let (a, b) = (plain.status_json(), t.status_json());
    assert_eq!(a["entries_by_kind"], b["entries_by_kind"]);
    assert_eq!(a["entries"], b["entries"]);
}

#[test]
fn extra_csv_columns_are_ignored_and_named_once() {
    let t = Tenure::new();
    let path = t.write_file(
        "accounts.csv",
        "account_id,name,hubspot_id,tier\nacct_1,Acme,991,smb\nacct_2,Beta,992,enterprise\n",
    );
    let out = t.run(&["import", &path.display().to_string()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert_eq!(
        err.matches("hubspot_id").count(),
        1,
        "named once (not again while storing): {err}"
    );
    assert!(
        err.contains("accounts.csv: ignoring column hubspot_id (not accounts columns: account_id,"),
        "{err}"
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("2 rows of accounts, 2 stored"));
    // The known columns were read: tier groups.
    let mrr = t.run(&["report", "mrr", "--by", "tier", "--format", "json"]);
    assert!(mrr.status.success(), "{}", stderr(&mrr));
}

#[test]
fn a_missing_file_is_said_to_be_missing() {
    let t = Tenure::new();
    let missing = t.dir.path().join("acounts.csv");
    let out = t.run(&["import", &missing.display().to_string()]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        one_line(&out),
        format!("error: {}: no such file", missing.display())
    );
    assert!(!t.data_dir().exists(), "a store was created for nothing");
}
