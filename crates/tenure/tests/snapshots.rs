//! Snapshots from the command line: a read command that replayed the log saves one, the next
//! answers from it and the log after it, with the same figures as a full replay; a snapshot
//! that cannot be trusted is ignored with one log line, and the answer is still right.

mod common;

use std::path::{Path, PathBuf};

use common::Tenure;

/// The reports compared between a full replay and a snapshot plus the log's tail.
const REPORTS: &[&[&str]] = &[
    &["report", "mrr", "--format", "json"],
    &["report", "cohorts", "--format", "json"],
    &["report", "attribution", "--compare", "--format", "json"],
    &["report", "accounts", "--format", "json"],
];

/// A small simulated company's files (sim writes the same bytes for the same flags).
fn company(t: &Tenure) -> PathBuf {
    let out = t.dir.path().join("raw");
    t.ok(&[
        "sim",
        "--out",
        out.to_str().unwrap(),
        "--accounts",
        "25",
        "--months",
        "4",
    ]);
    out
}

fn files(raw: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(raw)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "csv" || x == "ndjson"))
        .map(|p| p.to_str().unwrap().to_owned())
        .collect();
    names.sort();
    names
}

fn import(t: &Tenure, files: &[String]) {
    let mut args = vec!["import"];
    args.extend(files.iter().map(String::as_str));
    t.ok(&args);
}

/// Runs a read command with --verbose: its stdout and stderr.
fn verbose(t: &Tenure, args: &[&str]) -> (String, String) {
    let mut all = vec!["--verbose"];
    all.extend_from_slice(args);
    let out = t.run(&all);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "tenure {args:?} failed: {stderr}");
    (String::from_utf8(out.stdout).unwrap(), stderr)
}

fn snapshot_path(t: &Tenure) -> PathBuf {
    t.data_dir().join("snapshots").join("default.snapshot")
}

/// Imports the files into a new store and removes the snapshot the import saved, so that the
/// next command replays the whole log.
fn import_without_snapshot(t: &Tenure, files: &[String]) {
    import(t, files);
    std::fs::remove_file(snapshot_path(t)).unwrap();
}

/// More reports than [`REPORTS`], for what an import's snapshot holds.
const MORE_REPORTS: &[&[&str]] = &[
    &["report", "retention", "--format", "json"],
    &["report", "survival", "--format", "json"],
    &[
        "report",
        "unit-economics",
        "--by",
        "channel",
        "--format",
        "json",
    ],
    &["report", "touchpoints", "--format", "json"],
    &["report", "funnel", "--format", "json"],
    &["report", "ltv", "--format", "json"],
];

/// The position a command says it started from: "through log seq N and the M entries after
/// it", or "a full replay of the log's M entries".
fn started_from(log: &str) -> &str {
    let at = log
        .find("answering from")
        .unwrap_or_else(|| panic!("no start in {log}"));
    log[at..].lines().next().unwrap()
}

#[test]
fn a_first_import_saves_the_snapshot_a_full_replay_of_its_log_would() {
    let t = Tenure::new();
    let raw = company(&t);
    let mut args = vec!["import"];
    let all = files(&raw);
    args.extend(all.iter().map(String::as_str));
    let (_, log) = verbose(&t, &args);
    assert!(
        log.contains("saved a snapshot of the imported log"),
        "{log}"
    );
    let reports: Vec<&[&str]> = REPORTS.iter().chain(MORE_REPORTS).copied().collect();
    let mut from_import = Vec::new();
    for report in &reports {
        let (got, log) = verbose(&t, report);
        assert!(
            log.contains("answering from the snapshot") && log.contains("the 0 entries after it"),
            "{report:?}: {log}"
        );
        from_import.push((got, started_from(&log).to_owned()));
    }
    let imported = std::fs::read(snapshot_path(&t)).unwrap();

    // The same log replayed whole: the snapshot that replay saves stands at the same position
    // and gives every report the same figures.
    std::fs::remove_file(snapshot_path(&t)).unwrap();
    let (_, log) = verbose(&t, &["status"]);
    assert!(
        log.contains("full replay") && log.contains("saved a snapshot"),
        "{log}"
    );
    let replayed = std::fs::read(snapshot_path(&t)).unwrap();
    for (report, (expected, position)) in reports.iter().zip(&from_import) {
        let (got, log) = verbose(&t, report);
        assert_eq!(started_from(&log), position, "{report:?}");
        assert_eq!(&got, expected, "{report:?}");
    }
    // Equal in size too: the model's encoding holds the same facts (its maps need not list
    // them in the same order).
    assert_eq!(imported.len(), replayed.len());

    // Into a store that holds entries already, an import saves none: the next command catches
    // up from the snapshot it finds.
    let t2 = Tenure::new();
    let raw2 = company(&t2);
    let all2 = files(&raw2);
    let (csvs, events): (Vec<String>, Vec<String>) =
        all2.iter().cloned().partition(|f| f.ends_with(".csv"));
    import(&t2, &csvs);
    let first = std::fs::read(snapshot_path(&t2)).unwrap();
    let mut args = vec!["import"];
    args.extend(events.iter().map(String::as_str));
    let (_, log) = verbose(&t2, &args);
    assert!(!log.contains("saved a snapshot"), "{log}");
    assert_eq!(std::fs::read(snapshot_path(&t2)).unwrap(), first);
    let (got, log) = verbose(&t2, REPORTS[0]);
    assert!(log.contains("answering from the snapshot"), "{log}");
    assert!(!log.contains("the 0 entries after it"), "{log}");
    assert_eq!(got, from_import[0].0);
}

#[test]
fn a_second_report_answers_from_the_snapshot_the_first_saved() {
    let t = Tenure::new();
    let raw = company(&t);
    import_without_snapshot(&t, &files(&raw));
    let (first, log) = verbose(&t, REPORTS[0]);
    assert!(log.contains("full replay"), "{log}");
    assert!(log.contains("saved a snapshot"), "{log}");
    assert!(snapshot_path(&t).exists());

    let (second, log) = verbose(&t, REPORTS[0]);
    assert!(
        log.contains("answering from the snapshot") && log.contains("the 0 entries after it"),
        "{log}"
    );
    assert!(
        !log.contains("saved a snapshot"),
        "nothing new to save: {log}"
    );
    assert_eq!(first, second);
}

#[test]
fn a_snapshot_and_the_log_after_it_give_the_figures_of_a_full_replay() {
    // The reference: everything imported, the whole log replayed.
    let full = Tenure::new();
    let raw = company(&full);
    let all = files(&raw);
    import_without_snapshot(&full, &all);
    let expected: Vec<String> = REPORTS.iter().map(|r| full.ok(r)).collect();

    // Snapshots taken after each prefix of the files (the events file split too), each read
    // back with the rest of the log after it.
    let events = all.iter().find(|f| f.ends_with(".ndjson")).unwrap();
    let text = std::fs::read_to_string(events).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let csvs: Vec<String> = all
        .iter()
        .filter(|f| f.ends_with(".csv"))
        .cloned()
        .collect();
    for (split, cut) in [0, lines.len() / 3, lines.len() - 1]
        .into_iter()
        .enumerate()
    {
        let t = Tenure::new();
        let head = t.write_file("head.ndjson", &(lines[..cut].join("\n") + "\n"));
        let tail = t.write_file("tail.ndjson", &(lines[cut..].join("\n") + "\n"));
        let (first_csvs, later_csvs) = csvs.split_at(1 + split);
        let mut first = first_csvs.to_vec();
        if cut > 0 {
            first.push(head.to_str().unwrap().to_owned());
        }
        import_without_snapshot(&t, &first);
        let (_, log) = verbose(&t, &["status"]);
        assert!(log.contains("saved a snapshot"), "cut {cut}: {log}");
        let mut rest = later_csvs.to_vec();
        rest.push(tail.to_str().unwrap().to_owned());
        import(&t, &rest);
        for (report, expected) in REPORTS.iter().zip(&expected) {
            let (got, log) = verbose(&t, report);
            assert!(
                log.contains("answering from the snapshot"),
                "cut {cut}: {log}"
            );
            assert_eq!(&got, expected, "cut {cut}, {report:?}");
        }
    }
}

#[test]
fn a_snapshot_that_cannot_be_trusted_is_ignored_with_one_log_line() {
    let t = Tenure::new();
    let raw = company(&t);
    import(&t, &files(&raw));
    // A report of the whole model, so that every section is read whatever byte goes bad.
    let whole = REPORTS[3];
    let (expected, _) = verbose(&t, whole);
    let good = std::fs::read(snapshot_path(&t)).unwrap();

    let mut corrupt = good.clone();
    let middle = corrupt.len() / 2;
    corrupt[middle] ^= 0x01;
    let mut other_version = good.clone();
    other_version[8] = other_version[8].wrapping_add(1);
    let cases: [(&str, Vec<u8>, &str); 3] = [
        ("corrupt", corrupt, "checksum does not match"),
        ("truncated", good[..good.len() - 100].to_vec(), "truncated"),
        ("another format", other_version, "snapshot format version"),
    ];
    for (what, bytes, reason) in cases {
        std::fs::write(snapshot_path(&t), &bytes).unwrap();
        // The full replay saves a good snapshot again: the bad bytes go back before each case.
        let (got, log) = verbose(&t, whole);
        let ignored: Vec<&str> = log
            .lines()
            .filter(|l| l.contains("ignoring the snapshot"))
            .collect();
        assert_eq!(ignored.len(), 1, "{what}: {log}");
        assert!(ignored[0].contains(reason), "{what}: {log}");
        assert!(log.contains("full replay"), "{what}: {log}");
        assert_eq!(got, expected, "{what}");
    }

    // Another store's snapshot: the same files imported again hold other entries under the
    // same seqs (received later).
    for name in std::fs::read_dir(t.data_dir()).unwrap() {
        let path = name.unwrap().path();
        if path.is_file() {
            std::fs::remove_file(path).unwrap();
        }
    }
    import(&t, &files(&raw));
    std::fs::write(snapshot_path(&t), &good).unwrap();
    let (got, log) = verbose(&t, whole);
    assert!(
        log.contains("ignoring the snapshot") && log.contains("another store's"),
        "{log}"
    );
    assert_eq!(got, expected);

    // Other engine settings: the snapshot's sessions and channels are not these.
    std::fs::write(snapshot_path(&t), &good).unwrap();
    let config = t.write_file(
        "tenure.toml",
        "[touchpoints]\nsession_timeout_minutes = 45\n",
    );
    let mut args = vec!["--config", config.to_str().unwrap()];
    args.extend_from_slice(REPORTS[0]);
    let (_, log) = verbose(&t, &args);
    assert!(
        log.contains("ignoring the snapshot") && log.contains("other [channels]"),
        "{log}"
    );
}

#[test]
fn a_server_saves_a_snapshot_the_next_command_reads() {
    let t = Tenure::new();
    let raw = company(&t);
    import_without_snapshot(&t, &files(&raw));
    let server = t.serve(&[]);
    // Only a guard against a hang: the loop ends as soon as the file is there.
    let waited = std::time::Instant::now();
    while !snapshot_path(&t).exists() {
        assert!(
            waited.elapsed() < std::time::Duration::from_secs(120),
            "the server saved no snapshot"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    drop(server);
    let (_, log) = verbose(&t, REPORTS[0]);
    assert!(
        log.contains("answering from the snapshot") && log.contains("the 0 entries after it"),
        "{log}"
    );
}
