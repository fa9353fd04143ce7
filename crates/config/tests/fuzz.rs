//! Fuzz target for the TOML configuration, `Config::parse`: seeds are the full default
//! configuration (every key, as `tenure config check` prints it) and configurations with custom
//! channel rules, stages, signals and rates; values are swapped for extreme ones, lines are
//! repeated, dropped and swapped, and bytes are inserted and deleted.
//!
//! The property: no panic; a file is accepted or rejected with an error naming the file; an
//! accepted configuration gives the settings every part of tenure asks of it (which `expect`
//! what validation promised), builds a model that takes a message, and prints as TOML that
//! parses back to itself.
//!
//! A bounded run is part of `cargo test`; `TENURE_FUZZ_CASES=10000000 cargo test --release -p
//! tenure-config --test fuzz` is the long run (RELIABILITY.md).

#[path = "../../ingest/tests/fuzz_support/mod.rs"]
mod fuzz_support;

use std::sync::OnceLock;

use fuzz_support::{fuzz, no_panic, text_input};
use tenure_config::{Config, ConfigError};
use tenure_core::{Entry, EntryBody, Source, StoredEntry, Timestamp, WorkspaceId};
use tenure_engine::Model;

const ORIGIN: &str = "fuzz.toml";

const CUSTOM: &str = r#"[server]
listen = "0.0.0.0:7070"

[ingest]
max_message_bytes = 1024
max_batch_bytes = 4096
max_batch_messages = 10
rate_limit_per_second = 5

[currency]
reporting = "EUR"

[currency.rates]
USD = 0.92
JPY = 0.0061

[[channels.rules]]
channel = "partner"

[[channels.rules.when]]
source = ["crossbeam", "partnerstack"]

[[stages]]
name = "paying"
when = ["customer"]

[[stages]]
name = "trouble"
when = ["customer", "risk_signals:2"]

[stripe]
webhook_secret = "whsec_abc"
"#;

/// TOML values at and past what the settings take.
const VALUES: &[&str] = &[
    " 0",
    " -1",
    " 1",
    " 4",
    " 5",
    " 9223372036854775807",
    " -9223372036854775808",
    " 18446744073709551615",
    " 1e308",
    " inf",
    " -inf",
    " nan",
    " 0.0",
    " -0.0",
    " 1.5",
    " \"\"",
    " \"x\"",
    " []",
    " {}",
    " [1, 2]",
    " [\"\"]",
    " true",
    " \"0.0.0.0:0\"",
    " \"[::1]:70000\"",
    " \"usd\"",
    " \"EURO\"",
    " 1979-05-27T07:32:00Z",
    " \"band:purple\"",
    " \"risk_signals:99999999999999999999\"",
    " [\"customer\", \"risk_signals:-1\"]",
    " [\"customer\"]",
    " \"customer\"",
    " '''multi\nline'''",
    "unknown_key",
    "[unknown]",
    "[[stages]]",
    "[[channels.rules.when]]",
];

fn seeds() -> &'static [&'static str] {
    static SEEDS: OnceLock<Vec<&'static str>> = OnceLock::new();
    SEEDS.get_or_init(|| {
        let default: &'static str = Box::leak(Config::default().to_toml().into_boxed_str());
        vec![default, CUSTOM]
    })
}

fn page() -> StoredEntry {
    let body = r#"{"type":"page","anonymous_id":"a","message_id":"m","timestamp":"2025-03-01T12:00:00Z","received_at":"2025-03-01T12:00:00Z","context":{"page":{"url":"https://x.io/?utm_source=crossbeam&utm_medium=partner"}}}"#;
    let message = serde_json::from_str(body).expect("a stored message");
    StoredEntry {
        seq: 1,
        entry: Entry {
            workspace: WorkspaceId::default_workspace(),
            source: Source::Http,
            received_at: Timestamp::from_millis(0),
            body: EntryBody::Segment(message),
        },
    }
}

/// A configuration file, and whether it was accepted.
fn config_file(bytes: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return false; // Config::load reads text; a file that is not UTF-8 fails there
    };
    let config = match Config::parse(text, ORIGIN) {
        Ok(config) => config,
        Err(e) => {
            let message = e.to_string();
            assert!(
                matches!(e, ConfigError::Parse { .. } | ConfigError::Invalid { .. })
                    && message.starts_with(ORIGIN),
                "{message}"
            );
            return false;
        }
    };
    let _ = config.ingest.limits();
    let settings = config.report_settings();
    let _ = settings.history_version();
    let mut model = Model::new(config.engine());
    model.apply(&page());
    let printed = config.to_toml();
    let again = Config::parse(&printed, "printed")
        .unwrap_or_else(|e| panic!("the printed configuration does not parse: {e}\n{printed}"));
    // The secret is printed as a comment saying it is set, never as a value.
    let mut expected = config.clone();
    expected.stripe.webhook_secret = None;
    assert_eq!(again, expected, "{printed}");
    true
}

#[test]
fn config_files() {
    fuzz("config files", text_input(seeds(), '=', VALUES), |file| {
        config_file(&file)
    });
}

#[test]
fn the_seeds_are_accepted() {
    for seed in seeds() {
        Config::parse(seed, ORIGIN).unwrap_or_else(|e| panic!("{e}\n{seed}"));
        assert!(config_file(seed.as_bytes()));
    }
}

#[test]
fn regressions() {
    let cases: &[(&str, &str)] = &[("an empty file", "")];
    for (name, file) in cases {
        no_panic(name, file.as_bytes(), config_file);
    }
}
