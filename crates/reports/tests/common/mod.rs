//! What several report tests share: entries applied to a model in order, and a simulated
//! company loaded into one. Each test file uses part of it.
#![allow(dead_code)]

use std::fs::File;
use std::io::{BufRead, BufReader};

use tenure_core::{
    AccountId, Currency, Entry, EntryBody, Money, Source, StoredEntry, SubscriptionRow, Timestamp,
    WorkspaceId,
};
use tenure_engine::{EngineSettings, Model};
use tenure_ingest::csv::{read_csv, CsvKind};
use tenure_ingest::segment::{parse_message, Limits};

/// An instant in RFC 3339, or a date meaning its start.
pub fn t(s: &str) -> Timestamp {
    Timestamp::parse(s).unwrap()
}

/// A `subscriptions.csv` row: from `at` on, `account` pays `mrr_cents` a month on plan `pro`.
pub fn sub(account: &str, at: &str, mrr_cents: i64) -> EntryBody {
    EntryBody::Subscription(SubscriptionRow {
        account_id: AccountId::parse(account).unwrap(),
        effective_at: t(at),
        mrr: Money::new(mrr_cents, Currency::USD),
        plan: Some("pro".into()),
        seats: None,
    })
}

/// A model with `bodies` applied in order, as the log's entries 1, 2, 3…
pub fn model_of(bodies: impl IntoIterator<Item = EntryBody>) -> Model {
    let mut model = Model::new(EngineSettings::default());
    for (i, body) in bodies.into_iter().enumerate() {
        apply(&mut model, i as i64 + 1, body);
    }
    model
}

/// Applies `body` to `model` as the log's entry `seq`.
pub fn apply(model: &mut Model, seq: i64, body: EntryBody) {
    model.apply(&StoredEntry {
        seq,
        entry: Entry {
            workspace: WorkspaceId::default_workspace(),
            source: Source::Import,
            received_at: Timestamp::from_millis(0),
            body,
        },
    });
}

/// A simulated company of `accounts` accounts (seed 42, 24 months to 2026-11-01) applied to a
/// model the way an import would, and its planted truth.
pub fn company(accounts: usize) -> (Model, serde_json::Value) {
    company_of_seed(accounts, 42)
}

/// [`company`] from another seed of the simulator.
pub fn company_of_seed(accounts: usize, seed: u64) -> (Model, serde_json::Value) {
    let (bodies, truth) = company_entries(accounts, seed);
    (model_of(bodies), truth)
}

/// The entries of [`company_of_seed`]'s company, in the order it applies them, and its planted
/// truth: for tests that build the model with something more.
pub fn company_entries(accounts: usize, seed: u64) -> (Vec<EntryBody>, serde_json::Value) {
    let dir = tempfile::tempdir().unwrap();
    let config = tenure_sim::SimConfig {
        accounts,
        months: 24,
        seed,
        end: chrono::NaiveDate::from_ymd_opt(2026, 11, 1).unwrap(),
    };
    tenure_sim::simulate(&config, dir.path(), |_| {}).unwrap();
    let mut bodies = Vec::new();
    let mut apply = |body: EntryBody| bodies.push(body);
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
            // Imported the day after the company's last day: an imported event may not lie
            // after its import.
            parse_message(
                line.unwrap().as_bytes(),
                Timestamp::parse("2026-11-02T00:00:00Z").unwrap(),
                &Limits::default(),
            )
            .unwrap(),
        ));
    }
    let truth = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("ground_truth.json")).unwrap(),
    )
    .unwrap();
    (bodies, truth)
}
