//! What several report tests share: a simulated company loaded into a model.

use std::fs::File;
use std::io::{BufRead, BufReader};

use tenure_core::{Currency, Entry, EntryBody, Source, StoredEntry, Timestamp, WorkspaceId};
use tenure_engine::{EngineSettings, Model};
use tenure_ingest::csv::{read_csv, CsvKind};
use tenure_ingest::segment::{parse_message, Limits};

/// A simulated company of `accounts` accounts (seed 42, 24 months to 2026-11-01) applied to a
/// model the way an import would, and its planted truth.
pub fn company(accounts: usize) -> (Model, serde_json::Value) {
    let dir = tempfile::tempdir().unwrap();
    let config = tenure_sim::SimConfig {
        accounts,
        months: 24,
        seed: 42,
        end: chrono::NaiveDate::from_ymd_opt(2026, 11, 1).unwrap(),
    };
    tenure_sim::simulate(&config, dir.path(), |_| {}).unwrap();
    let mut model = Model::new(EngineSettings::default());
    let mut seq = 0;
    let mut apply = |body: EntryBody| {
        seq += 1;
        model.apply(&StoredEntry {
            seq,
            entry: Entry {
                workspace: WorkspaceId::default_workspace(),
                source: Source::Import,
                received_at: Timestamp::from_millis(0),
                body,
            },
        });
    };
    for (name, kind) in [
        ("accounts.csv", CsvKind::Accounts),
        ("subscriptions.csv", CsvKind::Subscriptions),
        ("deals.csv", CsvKind::Deals),
        ("spend.csv", CsvKind::Spend),
        ("touchpoints.csv", CsvKind::Touchpoints),
    ] {
        for row in read_csv(
            kind,
            File::open(dir.path().join(name)).unwrap(),
            Currency::USD,
        )
        .unwrap()
        {
            apply(row.unwrap().body);
        }
    }
    for line in BufReader::new(File::open(dir.path().join("events.ndjson")).unwrap()).lines() {
        apply(EntryBody::Segment(
            parse_message(
                line.unwrap().as_bytes(),
                Timestamp::from_millis(0),
                &Limits::default(),
            )
            .unwrap(),
        ));
    }
    let truth = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("ground_truth.json")).unwrap(),
    )
    .unwrap();
    (model, truth)
}
