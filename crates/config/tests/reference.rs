//! The configuration reference (`docs/configuration.md`) against the code: every key of the
//! effective default configuration has a row there, every row is a real key, every default the
//! reference writes in TOML is the code's default, and `config check` prints a comment above
//! every key. A key added to a settings struct without a row fails here, so the reference cannot
//! drift from the code.

use std::collections::{BTreeMap, BTreeSet};

use tenure_config::reference::{self, KeyDoc};
use tenure_config::Config;
use toml::Value;

/// The default configuration as TOML values, with the one key whose default is absent (the
/// Stripe secret) set so that it is walked too.
fn every_key() -> toml::Table {
    let config = Config::parse("[stripe]\nwebhook_secret = \"whsec_test\"\n", "t.toml").unwrap();
    match Value::try_from(&config).unwrap() {
        Value::Table(table) => table,
        other => panic!("the configuration serializes as a table, not {other}"),
    }
}

/// Every key path under `table`, in the reference's notation, with its default value: a table
/// of settings is walked into, a documented map (rates by currency) is one key, an array of
/// tables is one key and its elements' keys are `path[].key`.
fn walk(
    table: &toml::Table,
    prefix: &str,
    docs: &BTreeMap<String, KeyDoc>,
    found: &mut BTreeMap<String, Value>,
) {
    for (key, value) in table {
        let path = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        let is_map = docs.get(&path).is_some_and(KeyDoc::is_map);
        match value {
            Value::Table(inner) if !is_map => {
                if inner.is_empty() {
                    found.insert(path.clone(), value.clone());
                }
                walk(inner, &path, docs, found);
            }
            Value::Array(items) if !items.is_empty() && items.iter().all(Value::is_table) => {
                found.insert(path.clone(), value.clone());
                for item in items {
                    walk(item.as_table().unwrap(), &format!("{path}[]"), docs, found);
                }
            }
            _ => {
                found.insert(path, value.clone());
            }
        }
    }
}

fn defaults() -> (BTreeMap<String, KeyDoc>, BTreeMap<String, Value>) {
    let docs = reference::keys();
    let mut found = BTreeMap::new();
    walk(&every_key(), "", &docs, &mut found);
    (docs, found)
}

#[test]
fn every_key_of_the_default_configuration_is_documented() {
    let (docs, found) = defaults();
    // The walk must have reached the nested keys, or this test would pass on nothing.
    for nested in [
        "server.listen",
        "channels.rules[].when[].click_id",
        "health.components[].thresholds[].score",
        "stages[].when",
        "stripe.webhook_secret",
        "currency.rates",
    ] {
        assert!(found.contains_key(nested), "{nested} not walked: {found:?}");
    }
    let missing: Vec<&String> = found.keys().filter(|k| !docs.contains_key(*k)).collect();
    assert!(
        missing.is_empty(),
        "keys of the default configuration without a row in docs/configuration.md: {missing:?}"
    );
}

/// The keys of a configuration using every key of `[[destinations]]` and `[[playbooks]]`
/// (lists that are empty by default), for the rows that document their elements' keys.
fn playbook_keys(docs: &BTreeMap<String, KeyDoc>) -> BTreeMap<String, Value> {
    let text = include_str!("every_playbook_key.toml");
    let config = Config::parse(text, "every_playbook_key.toml").unwrap();
    let Value::Table(table) = Value::try_from(&config).unwrap() else {
        panic!("the configuration serializes as a table");
    };
    let mut found = BTreeMap::new();
    walk(&table, "", docs, &mut found);
    // A table given whole (`trigger`, `quiet_hours`, an action) is a documented key too.
    let mut tables = Vec::new();
    tables_in(&table, "", &mut tables);
    for (path, value) in tables {
        found.entry(path).or_insert(value);
    }
    found
}

/// Every table's path under `table`, in the reference's notation.
fn tables_in(table: &toml::Table, prefix: &str, out: &mut Vec<(String, Value)>) {
    for (key, value) in table {
        let path = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        match value {
            Value::Table(inner) => {
                out.push((path.clone(), value.clone()));
                tables_in(inner, &path, out);
            }
            Value::Array(items) => {
                for item in items.iter().filter_map(Value::as_table) {
                    tables_in(item, &format!("{path}[]"), out);
                }
            }
            _ => {}
        }
    }
}

#[test]
fn every_documented_key_exists() {
    let (docs, mut found) = defaults();
    found.extend(playbook_keys(&docs));
    let stale: Vec<&String> = docs.keys().filter(|k| !found.contains_key(*k)).collect();
    assert!(
        stale.is_empty(),
        "rows of docs/configuration.md that are no key of the configuration: {stale:?}"
    );
}

#[test]
fn documented_defaults_are_the_code_defaults() {
    let (docs, found) = defaults();
    let mut checked = 0;
    for (path, doc) in &docs {
        let Some(written) = doc.default_toml() else {
            continue; // a default in words (a list of rules, "per stage")
        };
        let parsed: toml::Table = toml::from_str(&format!("v = {written}"))
            .unwrap_or_else(|e| panic!("{path}: default {written} is not TOML: {e}"));
        assert_eq!(
            Some(&parsed["v"]),
            found.get(path),
            "{path}: docs/configuration.md says the default is {written}"
        );
        checked += 1;
    }
    assert!(checked > 40, "only {checked} defaults written in TOML");
}

#[test]
fn config_check_comments_every_key() {
    let printed = Config::default().to_toml();
    let docs = reference::keys();
    let lines: Vec<&str> = printed.lines().collect();
    let mut in_map = false;
    let mut section = "";
    let mut explained = BTreeSet::new();
    let mut keys = 0;
    for (i, line) in lines.iter().enumerate() {
        if let Some(header) = line.strip_prefix('[') {
            let name = header.trim_matches(|c| c == '[' || c == ']');
            in_map = docs.get(name).is_some_and(KeyDoc::is_map);
            section = name;
            continue;
        }
        let Some((key, _)) = line.split_once(" = ") else {
            continue;
        };
        if in_map || key.starts_with(' ') || key.starts_with('"') {
            continue;
        }
        keys += 1;
        if !explained.insert((section, key)) {
            continue; // an array's later elements: explained in the first
        }
        assert!(
            i > 0 && lines[i - 1].starts_with("# "),
            "no comment above {line:?}:\n{printed}"
        );
    }
    assert!(keys > 50, "only {keys} keys printed:\n{printed}");
    assert!(
        printed.contains("\n# The address (IP and port) `tenure serve` listens on")
            && printed.contains(" \"127.0.0.1:7070\".\nlisten = \"127.0.0.1:7070\"\n"),
        "{printed}"
    );
    // The commented output is still the configuration it shows.
    assert_eq!(
        Config::parse(&printed, "printed").unwrap(),
        Config::default()
    );
}

#[test]
fn config_check_shows_whether_the_stripe_secret_is_set_never_its_value() {
    let unset = Config::default().to_toml();
    assert!(
        unset.contains("[stripe]\n# The default workspace's Stripe endpoint secret")
            && unset.contains("\n# webhook_secret: unset\n"),
        "{unset}"
    );
    let config = Config::parse("[stripe]\nwebhook_secret = \"whsec_abc\"\n", "t.toml").unwrap();
    let in_file = config.to_toml();
    assert!(!in_file.contains("whsec_abc"), "{in_file}");
    assert!(
        in_file.contains("\n# webhook_secret: set in this file (not shown)\n"),
        "{in_file}"
    );
    let in_env = config.to_toml_annotated(true);
    assert!(!in_env.contains("whsec_abc"), "{in_env}");
    assert!(
        in_env.contains("\n# webhook_secret: set by TENURE_STRIPE_WEBHOOK_SECRET (not shown)\n"),
        "{in_env}"
    );
    // Printed as a comment, so pasting the output never installs a placeholder as the secret.
    assert_eq!(
        Config::parse(&in_file, "printed")
            .unwrap()
            .stripe
            .webhook_secret,
        None
    );
}
