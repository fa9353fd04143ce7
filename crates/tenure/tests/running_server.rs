//! `tenure report` and `tenure status` on a data directory a server holds ask that server,
//! found through `<data-dir>/server.json`, and print what they would have printed from the
//! snapshot (JSON byte for byte, tables and CSV rendered from its report); without a server
//! answering there they answer from the snapshot.

mod common;

use std::io::{Read as _, Write as _};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::Tenure;

const REPORT: &[&str] = &["report", "mrr", "--by", "channel", "--format", "json"];
/// Rendered by the command from the server's report, as from its own.
const RENDERED: &[&[&str]] = &[
    &["report", "mrr", "--by", "channel", "--format", "csv"],
    &["report", "accounts", "--sort", "risk"],
    &["report", "attribution", "--compare", "--format", "table"],
];
const STATUS: &[&str] = &["status", "--format", "json"];

fn imported() -> Tenure {
    let t = Tenure::new();
    let raw = t.dir.path().join("raw");
    let raw = raw.to_str().unwrap();
    t.ok(&["sim", "--out", raw, "--accounts", "20", "--months", "3"]);
    let mut files: Vec<String> = std::fs::read_dir(raw)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            path.extension()
                .is_some_and(|x| x == "csv" || x == "ndjson")
        })
        .map(|path| path.to_str().unwrap().to_owned())
        .collect();
    files.sort();
    let mut args = vec!["import"];
    args.extend(files.iter().map(String::as_str));
    t.ok(&args);
    t
}

fn server_json(t: &Tenure) -> PathBuf {
    t.data_dir().join("server.json")
}

/// Waits for the server to write server.json, which it does once it listens.
fn wait_for_server_json(t: &Tenure) -> serde_json::Value {
    let waited = Instant::now();
    while !server_json(t).exists() {
        assert!(waited.elapsed() < Duration::from_secs(60), "no server.json");
        std::thread::sleep(Duration::from_millis(20));
    }
    serde_json::from_str(&std::fs::read_to_string(server_json(t)).unwrap()).unwrap()
}

/// A read command with --verbose: its stdout and stderr.
fn verbose(t: &Tenure, args: &[&str]) -> (String, String) {
    let mut all = vec!["--verbose"];
    all.extend_from_slice(args);
    let out = t.run(&all);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "tenure {args:?} failed: {stderr}");
    (String::from_utf8(out.stdout).unwrap(), stderr)
}

/// The status line of a raw GET of `path` with `token` as the Bearer token.
fn status_line(address: &str, path: &str, token: &str) -> String {
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.0\r\nHost: {address}\r\nAuthorization: Bearer {token}\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    answer.lines().next().unwrap_or_default().to_owned()
}

#[test]
fn a_running_server_answers_with_the_json_of_the_local_answer() {
    let t = imported();
    let (local_report, _) = verbose(&t, REPORT);
    let (local_status, _) = verbose(&t, STATUS);
    let local_rendered: Vec<String> = RENDERED.iter().map(|args| verbose(&t, args).0).collect();

    let mut server = t.serve(&[]);
    let file = wait_for_server_json(&t);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(server_json(&t))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "server.json is readable by others");
    }
    let address = file["address"].as_str().unwrap();
    assert_eq!(format!("http://{address}"), server.url);

    let (report, log) = verbose(&t, REPORT);
    assert!(
        log.contains(&format!("answered by the running server at {address}")),
        "{log}"
    );
    assert!(!log.contains("replay"), "{log}");
    assert_eq!(report, local_report);
    let (status, log) = verbose(&t, STATUS);
    assert!(log.contains("answered by the running server"), "{log}");
    assert_eq!(status, local_status);
    for (args, local) in RENDERED.iter().zip(&local_rendered) {
        let (rendered, log) = verbose(&t, args);
        assert!(log.contains("answered by the running server"), "{log}");
        assert!(!log.contains("cannot read"), "{log}");
        assert_eq!(&rendered, local, "{args:?}");
    }

    // An orderly shutdown takes the file away.
    let stopped = std::process::Command::new("kill")
        .args(["-TERM", &server.pid().to_string()])
        .status()
        .unwrap();
    assert!(stopped.success());
    assert!(server.wait_for_exit(Duration::from_secs(60)).is_some());
    assert!(!server_json(&t).exists());
}

#[test]
fn a_stale_server_json_falls_back_to_the_snapshot() {
    let t = imported();
    let (local, _) = verbose(&t, REPORT);
    // A port nobody listens on any more: the server that wrote the file is gone.
    let gone = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let file = serde_json::json!({
        "address": gone.to_string(),
        "pid": 1,
        "workspace": "default",
        "token": "tnr_local_stale",
    });
    std::fs::write(server_json(&t), file.to_string()).unwrap();
    let (report, log) = verbose(&t, REPORT);
    assert!(log.contains("not asking the running server"), "{log}");
    assert!(!log.contains("answered by the running server"), "{log}");
    assert_eq!(report, local);
}

#[test]
fn the_server_refuses_a_wrong_local_token() {
    let t = imported();
    let _server = t.serve(&[]);
    let file = wait_for_server_json(&t);
    let address = file["address"].as_str().unwrap();
    let token = file["token"].as_str().unwrap();
    let path = "/api/v1/reports/mrr";
    assert!(status_line(address, path, token).contains(" 200 "));
    // The same length, one character off.
    let last = if token.ends_with('0') { '1' } else { '0' };
    let wrong = format!("{}{last}", &token[..token.len() - 1]);
    assert!(status_line(address, path, &wrong).contains(" 401 "));
    // A read credential only: the key administration needs an admin key.
    assert!(status_line(address, "/api/v1/keys", token).contains(" 403 "));
}
