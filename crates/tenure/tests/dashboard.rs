//! The dashboard in a real browser (Debian's chromium, driven by Playwright for Python through
//! `executable_path`): on a simulated company, `tests/browser/dashboard.py` signs in, opens
//! every page, changes every selector, follows the drill-downs, downloads a CSV, walks the
//! controls with the keyboard and signs out, checking on every page that nothing failed and
//! that every figure equals the API's JSON for the same parameters. It leaves a screenshot of
//! every page at a desktop and a phone width in `target/tmp/dashboard-screenshots`.
//!
//! And `tenure demo`'s sign-in link, which works once.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use common::{repo_root, Tenure};
use serde_json::Value;

#[test]
fn every_page_works_in_a_browser_and_shows_the_apis_figures() {
    common::ensure_browser();
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
    // A conversion rule to a Google CSV destination (no network): the status page's
    // conversions table then has a row to check against the API.
    let config = tenure.write_file(
        "tenure.toml",
        "[[destinations]]\nname = \"csv\"\nkind = \"google_csv\"\n\n\
         [[conversions]]\nname = \"paid\"\nmilestone = \"first_payment\"\n\
         value = \"initial_arr\"\nsend = [{ destination = \"csv\", as = \"Paid\" }]\n",
    );
    let config = config.to_str().unwrap();
    tenure.ok(&["--config", config, "conversions", "run"]);
    let read_key = tenure.key("read");
    let server = tenure.serve(&["--config", config]);

    let shots = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("dashboard-screenshots");
    let _ = std::fs::remove_dir_all(&shots);
    let out = Command::new("python3")
        .arg(repo_root().join("tests/browser/dashboard.py"))
        .args([&server.url, &read_key, shots.to_str().unwrap()])
        .output()
        .expect("python3 runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the dashboard failed in the browser:\n{stderr}\nserver log:\n{}",
        server.log.lock().unwrap().join("\n")
    );
    let summary: Value = serde_json::from_slice(&out.stdout).expect("a JSON summary");
    // The conversions table was there, one rule to one destination, and matched the API.
    assert_eq!(summary["conversion_rows"], 1);
    let pages: Vec<&str> = summary["pages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    // Every page of the menu, then the drill-downs.
    for page in [
        "overview",
        "attribution",
        "cohorts",
        "survival",
        "funnel",
        "experiment",
        "accounts",
        "renewals",
        "signals",
        "churn-model",
        "health-back-test",
        "status",
        "campaign",
        "account",
        "experiment-by-trait",
    ] {
        assert!(pages.contains(&page), "{page} not visited: {pages:?}");
    }
    // Two screenshots of each page visited and of the sign-in form.
    assert_eq!(
        summary["screenshots"].as_u64().unwrap() as usize,
        2 * (pages.len() + 1)
    );
    assert!(
        summary["figures_checked"].as_u64().unwrap() >= 30,
        "{summary}"
    );
    assert!(
        summary["selectors_changed"].as_u64().unwrap() >= 10,
        "{summary}"
    );
    assert_eq!(
        std::fs::read_dir(&shots).unwrap().count(),
        2 * (pages.len() + 1) - 2 * duplicates(&pages)
    );
}

#[test]
fn an_expired_session_ends_access_in_the_browser() {
    common::ensure_browser();
    let tenure = Tenure::new();
    // Sessions of 1.8 seconds.
    let config = tenure.write_file("short.toml", "[server]\nsession_hours = 0.0005\n");
    let read_key = tenure.key("read");
    let server = tenure.serve(&["--config", config.to_str().unwrap()]);
    let out = Command::new("python3")
        .arg(repo_root().join("tests/browser/dashboard.py"))
        .args(["--expiry", &server.url, &read_key, "3"])
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Pages visited twice under one name overwrite their screenshots.
fn duplicates(pages: &[&str]) -> usize {
    let mut seen = std::collections::HashSet::new();
    pages.iter().filter(|p| !seen.insert(**p)).count()
}

#[test]
fn the_demo_prints_a_sign_in_link_that_works_once() {
    let tenure = Tenure::new();
    let mut demo = KillOnDrop(
        tenure
            .command()
            .args(["demo", "--accounts", "40", "--months", "4"])
            .args(["--listen", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("tenure demo starts"),
    );
    // Read on a thread that keeps draining: the demo writes more after the link, and a closed
    // pipe would end it.
    let stdout = demo.0.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(link) = line.strip_prefix("dashboard: ") {
                let _ = tx.send(link.to_owned());
            }
        }
    });
    let link = rx
        .recv_timeout(std::time::Duration::from_secs(120))
        .expect("the demo prints its dashboard link");
    let client = reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let first = client.get(&link).send().unwrap();
    assert_eq!(first.status(), 303);
    let cookie = first.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let base = link.split("/signin").next().unwrap();
    let overview = client
        .get(format!("{base}/"))
        .header("cookie", &cookie)
        .send()
        .unwrap();
    assert_eq!(overview.status(), 200);
    assert!(overview.text().unwrap().contains("MRR movements by month"));
    assert_eq!(client.get(&link).send().unwrap().status(), 401);
}

/// The demo's server, stopped however the test ends.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
