//! Issue 12 through the real binary: an unreadable entry degrades that entry and never the
//! store, and keys can be listed and revoked.

mod common;

use common::Tenure;

#[test]
fn an_unreadable_entry_is_counted_by_status_and_listed_by_log_unreadable() {
    let t = Tenure::new();
    let events = t.write_file(
        "events.ndjson",
        "{\"type\":\"identify\",\"messageId\":\"i1\",\"userId\":\"u1\",\"timestamp\":\"2025-01-01T00:00:00Z\"}\n\
         {\"type\":\"identify\",\"messageId\":\"i2\",\"userId\":\"u2\",\"timestamp\":\"2025-01-01T00:00:01Z\"}\n",
    );
    t.ok(&["import", events.to_str().unwrap()]);
    let out = t.ok(&["log", "unreadable"]);
    assert!(out.is_empty(), "{out}");
    // What an earlier build stored for an instant past year 9999.
    let conn = rusqlite::Connection::open(t.data_dir().join("tenure.db")).unwrap();
    conn.execute(
        "UPDATE log SET body = replace(body, '\"timestamp\":\"2025', '\"timestamp\":\"+12025') \
         WHERE natural_key = 'segment:i2'",
        [],
    )
    .unwrap();
    drop(conn);
    // That earlier build's snapshot (the import saved one) would not be read by this build.
    std::fs::remove_dir_all(t.data_dir().join("snapshots")).unwrap();

    let status = t.status_json();
    assert_eq!(status["entries"], 2);
    assert_eq!(status["unreadable_entries"], 1);
    assert_eq!(status["persons"], 1);
    let table = t.ok(&["status"]);
    assert!(table.contains("tenure log unreadable"), "{table}");
    let listed: serde_json::Value =
        serde_json::from_str(&t.ok(&["log", "unreadable", "--format", "json"])).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(listed[0]["seq"], 2);
    assert_eq!(listed[0]["kind"], "identify");
    assert!(
        listed[0]["stored"].as_str().unwrap().contains("+12025"),
        "{listed}"
    );
    // Reports still run over the rest.
    t.ok(&["report", "mrr", "--format", "json"]);
}

#[test]
fn keys_are_listed_without_secrets_and_revoked_by_prefix() {
    let t = Tenure::new();
    let read = t.key("read");
    let write = t.key("write");
    let listed: serde_json::Value =
        serde_json::from_str(&t.ok(&["keys", "list", "--format", "json"])).unwrap();
    let keys = listed.as_array().unwrap();
    assert_eq!(keys.len(), 2, "{listed}");
    assert!(!listed.to_string().contains(&read) && !listed.to_string().contains(&write));
    let prefix = keys[0]["prefix"].as_str().unwrap();
    assert!(read.starts_with(prefix), "{prefix} {read}");
    t.ok(&["keys", "revoke", prefix]);
    let listed: serde_json::Value =
        serde_json::from_str(&t.ok(&["keys", "list", "--format", "json"])).unwrap();
    assert!(listed[0]["revoked_at"].is_string(), "{listed}");
    assert!(listed[1]["revoked_at"].is_null(), "{listed}");
    let out = t.run(&["keys", "revoke", "tnr_r_nonesuch"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("tenure keys list"),
        "{out:?}"
    );
}

/// `tenure report mrr | head` must not panic when the reader stops reading: the command ends
/// quietly with success, as a Unix filter does.
#[test]
fn a_reader_that_stops_reading_ends_the_command_quietly() {
    let t = Tenure::new();
    t.key("read");
    for args in [
        &["status", "--format", "json"][..],
        &["report", "mrr", "--format", "csv"],
        &["keys", "list"],
    ] {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let out = t
            .command()
            .args(args)
            .stdout(writer)
            .stderr(std::process::Stdio::piped())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
    }
}

/// Issue 12, defect 7: three processes opening a new data directory at once failed 32 times in
/// 60 ("table log already exists", "database is locked"). (`keys create`, since a command that
/// only reads refuses a directory without a store.)
#[test]
fn processes_opening_a_new_data_directory_at_once_all_succeed() {
    for trial in 0..10 {
        let t = Tenure::new();
        let children: Vec<_> = (0..3)
            .map(|_| {
                t.command()
                    .args(["keys", "create", "--scope", "read"])
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for child in children {
            let out = child.wait_with_output().unwrap();
            assert!(
                out.status.success(),
                "trial {trial}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}
