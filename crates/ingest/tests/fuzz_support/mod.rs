//! Structure-aware inputs for the fuzz targets of every parser that sees outside bytes (the
//! `fuzz` tests of `tenure-ingest`, `tenure-config` and `tenure-reports` include this file).
//!
//! An input is a valid seed document made worse, or random bytes: random bytes alone rarely get
//! past a parser's first check, so most inputs start from a seed that passes every check and then
//! change a few of its values (JSON nodes, CSV cells, TOML values) to extreme ones — huge and
//! negative numbers, deep nesting, the years 0000, 9999 and +12026, empty strings, unicode, a
//! byte order mark, NUL — or insert, delete and overwrite a few bytes.
//!
//! The run is bounded (`DEFAULT_CASES` per target) in the normal test command;
//! `TENURE_FUZZ_CASES=10000000` raises it for the long run (RELIABILITY.md). Failures are not
//! persisted to files: a minimal failing input found here becomes a named regression case.

#![allow(dead_code)] // each test crate uses its own part of this

use proptest::prelude::*;
use proptest::sample::{select, Index};
use proptest::test_runner::Config;
use serde_json::Value;

/// The sample company's files (`crates/tenure/tests/fixtures/sample`), seeds that pass every
/// check.
pub mod sample {
    pub const ACCOUNTS: &str = include_str!("../../../tenure/tests/fixtures/sample/accounts.csv");
    pub const SUBSCRIPTIONS: &str =
        include_str!("../../../tenure/tests/fixtures/sample/subscriptions.csv");
    pub const DEALS: &str = include_str!("../../../tenure/tests/fixtures/sample/deals.csv");
    pub const SPEND: &str = include_str!("../../../tenure/tests/fixtures/sample/spend.csv");
    pub const TOUCHPOINTS: &str =
        include_str!("../../../tenure/tests/fixtures/sample/touchpoints.csv");
    pub const EVENTS: &str = include_str!("../../../tenure/tests/fixtures/sample/events.ndjson");
}

/// Cases per target when `TENURE_FUZZ_CASES` is not set.
pub const DEFAULT_CASES: u32 = 2_000;

/// Cases per target: `TENURE_FUZZ_CASES`, else [`DEFAULT_CASES`].
pub fn cases() -> u32 {
    match std::env::var("TENURE_FUZZ_CASES") {
        Ok(n) => n
            .trim()
            .replace('_', "")
            .parse()
            .unwrap_or_else(|_| panic!("TENURE_FUZZ_CASES={n:?} is not a number of cases")),
        Err(_) => DEFAULT_CASES,
    }
}

/// The runner's settings: [`cases`] cases, no failure files, a bounded shrink.
pub fn config() -> Config {
    Config {
        cases: cases(),
        failure_persistence: None,
        max_shrink_iters: 4_096,
        ..Config::default()
    }
}

/// Text parsers trip on: format tokens, the edges of numbers and dates, white space, unicode.
pub const TOKENS: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    "\"",
    ",",
    ":",
    "=",
    "\\",
    "\\u0000",
    "\\ud800",
    "\u{feff}",
    "\0",
    "\r",
    "\n",
    "\r\n",
    "\t",
    " ",
    "é",
    "𝄞",
    "\u{202e}",
    "\u{ffff}",
    "-",
    "+",
    ".",
    "e",
    "0",
    "9",
    "'",
    "#",
    "0000-01-01",
    "9999-12-31",
    "+12026",
    "T23:59:59.999Z",
    "+23:59",
    "-23:59",
    "null",
    "true",
    "1e400",
    "18446744073709551616",
    "-9223372036854775809",
    "\"\"",
    "[[[[[[[[",
    "]]]]]]]]",
    "{\"a\":",
    "t=",
    "v1=",
];

/// Extreme strings: instants at and past the edges of years 0000–9999, ids at and past their
/// limits, blanks, unicode, and the words the formats give meaning to.
pub const STRINGS: &[&str] = &[
    "",
    " ",
    "\t\n",
    "\u{feff}",
    "\0",
    "a\0b",
    "é",
    "𝄞",
    "\u{202e}abc",
    "null",
    "true",
    "NaN",
    "-1",
    "0",
    "1e3",
    "0000-01-01T00:00:00Z",
    "0000-01-01T00:00:00.000+23:59",
    "0000-01-01",
    "0001-01-01T00:00:00-23:59",
    "9999-12-31T23:59:59.999Z",
    "9999-12-31T23:59:59.999-23:59",
    "9999-12-31",
    "+12026-01-01T00:00:00Z",
    "-0001-01-01T00:00:00Z",
    "1970-01-01T00:00:00Z",
    "2025-02-30",
    "2025-03-01 12:00:00Z",
    "2025-03-01T12:00:00.123456789Z",
    "2025-03-01T24:00:00Z",
    "2025-03-01T12:00:60Z",
    "usd",
    "JPY",
    "bhd",
    "USDX",
    "€",
    "day",
    "week",
    "month",
    "year",
    "active",
    "past_due",
    "trialing",
    "canceled",
    "metered",
    "licensed",
    "track",
    "identify",
    "group",
    "page",
    "screen",
    "alias",
    "batch",
    "event",
    "customer.subscription.updated",
    "customer.subscription.deleted",
    "invoice.paid",
    "invoice.payment_failed",
    "1999.5",
    "-0.5",
    "0.000000000000000000000000000001",
    "99999999999999999999999999999999",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "éééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééé",
];

/// JSON number texts that no `Value` holds: past `u64`, past `f64`, negative zero, exponents.
pub const RAW_NUMBERS: &[&str] = &[
    "18446744073709551616",
    "-9223372036854775809",
    "99999999999999999999999999999999999999999",
    "1e400",
    "-1e400",
    "1e-400",
    "-0",
    "-0.0",
    "0.1e1",
    "1E+2",
    "4.9e-324",
    "1.7976931348623157e308",
];

/// Subscription and invoice events in both API shapes, with discounts, a legacy plan, a metered
/// item, a decimal price and an expanded customer.
pub const STRIPE_EVENTS: &[&str] = &[
    r#"{"id":"evt_1","object":"event","api_version":"2024-06-20","created":1740830400,"type":"customer.subscription.updated","data":{"object":{"id":"sub_1","object":"subscription","customer":"cus_1","currency":"usd","status":"active","metadata":{"account_id":"acct_1"},"discount":{"id":"di_1","coupon":{"id":"co_1","percent_off":12.5}},"discounts":[{"id":"di_2","coupon":{"id":"co_2","amount_off":500,"currency":"usd","currency_options":{"eur":{"amount_off":450}}}}],"current_period_end":1743508800,"items":{"object":"list","data":[{"id":"si_1","quantity":3,"discounts":[],"price":{"id":"price_1","currency":"usd","unit_amount":4900,"unit_amount_decimal":"4900","nickname":"Pro","product":"prod_1","recurring":{"interval":"month","interval_count":1,"usage_type":"licensed"}}},{"id":"si_m","price":{"id":"price_m","currency":"usd","unit_amount":5,"recurring":{"interval":"month","usage_type":"metered"}}}]}}}}"#,
    r#"{"id":"evt_2","object":"event","created":1740830400,"type":"customer.subscription.created","data":{"object":{"id":"sub_2","customer":{"id":"cus_2","metadata":{"account_id":"acct_2"}},"status":"past_due","items":{"data":[{"id":"si_d","quantity":2,"current_period_end":1743508800,"price":{"id":"price_d","currency":"eur","unit_amount":null,"unit_amount_decimal":"1999.5","lookup_key":"growth","recurring":{"interval":"year","interval_count":2}}},{"id":"si_l","quantity":1,"plan":{"id":"plan_l","currency":"eur","amount":1500,"interval":"week","interval_count":3,"usage_type":"licensed"}}]}}}}"#,
    r#"{"id":"evt_3","object":"event","created":1740830400,"type":"customer.subscription.deleted","data":{"object":{"id":"sub_3","customer":"cus_3","currency":"jpy","status":"canceled","items":{"data":[{"price":{"currency":"jpy","unit_amount":100,"recurring":{"interval":"day"}}}]}}}}"#,
    r#"{"id":"evt_4","object":"event","created":1740830400,"type":"invoice.paid","data":{"object":{"id":"in_1","object":"invoice","customer":"cus_1","currency":"usd","amount_paid":4900,"amount_due":4900,"subscription":"sub_1","subscription_details":{"metadata":{"account_id":"acct_9"}},"status_transitions":{"paid_at":1740830340}}}}"#,
    r#"{"id":"evt_5","object":"event","created":1740830400,"type":"invoice.payment_failed","data":{"object":{"id":"in_2","customer":{"id":"cus_3","metadata":{"account_id":"acct_3"}},"currency":"usd","amount_paid":0,"amount_due":9900,"parent":{"type":"subscription_details","subscription_details":{"subscription":"sub_3","metadata":{}}},"status_transitions":{"paid_at":null}}}}"#,
    r#"{"id":"evt_6","object":"event","created":1740830400,"type":"invoice.payment_succeeded","data":{"object":{"id":"in_3","customer":"cus_4","currency":"bhd","amount_paid":500,"amount_due":500,"subscription":{"id":"sub_4","metadata":{"account_id":"acct_4"}},"parent":null}}}"#,
];

/// An edit of raw bytes; positions wrap around the input's length.
#[derive(Debug, Clone)]
pub enum ByteEdit {
    Insert(Index, Vec<u8>),
    Delete(Index, usize),
    Set(Index, u8),
    /// Copies a slice right after itself (a repeated key, a repeated row).
    Duplicate(Index, usize),
    Truncate(Index),
}

pub fn byte_edit() -> impl Strategy<Value = ByteEdit> {
    let insert = prop_oneof![
        3 => select(TOKENS).prop_map(|t| t.as_bytes().to_vec()),
        1 => prop::collection::vec(any::<u8>(), 1..8),
    ];
    prop_oneof![
        4 => (any::<Index>(), insert).prop_map(|(at, bytes)| ByteEdit::Insert(at, bytes)),
        2 => (any::<Index>(), 1usize..16).prop_map(|(at, n)| ByteEdit::Delete(at, n)),
        2 => (any::<Index>(), any::<u8>()).prop_map(|(at, b)| ByteEdit::Set(at, b)),
        1 => (any::<Index>(), 1usize..64).prop_map(|(at, n)| ByteEdit::Duplicate(at, n)),
        1 => any::<Index>().prop_map(ByteEdit::Truncate),
    ]
}

/// No byte edit half of the time (so the structure edits reach the deep checks), else a few.
pub fn byte_edits() -> impl Strategy<Value = Vec<ByteEdit>> {
    prop_oneof![Just(Vec::new()), prop::collection::vec(byte_edit(), 1..4),]
}

pub fn apply_bytes(bytes: &mut Vec<u8>, edits: &[ByteEdit]) {
    for edit in edits {
        // An index into the input, one past its end included.
        let at = |i: &Index, len: usize| i.index(len + 1);
        match edit {
            ByteEdit::Insert(i, new) => {
                let at = at(i, bytes.len());
                bytes.splice(at..at, new.iter().copied());
            }
            ByteEdit::Delete(i, n) => {
                let at = at(i, bytes.len());
                let end = (at + n).min(bytes.len());
                bytes.drain(at..end);
            }
            ByteEdit::Set(i, b) if !bytes.is_empty() => {
                let at = i.index(bytes.len());
                bytes[at] = *b;
            }
            ByteEdit::Set(..) => {}
            ByteEdit::Duplicate(i, n) => {
                let at = at(i, bytes.len());
                let end = (at + n).min(bytes.len());
                let copy = bytes[at..end].to_vec();
                bytes.splice(end..end, copy);
            }
            ByteEdit::Truncate(i) => {
                let at = at(i, bytes.len());
                bytes.truncate(at);
            }
        }
    }
}

/// A JSON value to put in place of a node, or number text no `Value` holds, or nesting.
#[derive(Debug, Clone)]
pub enum Extreme {
    Json(Value),
    Raw(String),
}

pub fn extreme() -> impl Strategy<Value = Extreme> {
    let json = prop_oneof![
        4 => select(STRINGS).prop_map(Value::from),
        1 => "\\PC{0,12}".prop_map(Value::from),
        2 => select(&[0i64, -1, 1, 2, 12, 100, 101, i64::MAX, i64::MIN, u32::MAX as i64, 1 << 53][..])
            .prop_map(Value::from),
        1 => any::<i64>().prop_map(Value::from),
        1 => Just(Value::from(u64::MAX)),
        1 => any::<f64>()
            .prop_filter_map("finite", |f| serde_json::Number::from_f64(f).map(Value::Number)),
        1 => select(&[0.5, -0.5, 1e308, -1e308, 5e-324, 99.99999, 100.000001][..]).prop_map(Value::from),
        1 => Just(Value::Null),
        1 => any::<bool>().prop_map(Value::Bool),
        1 => Just(Value::Array(Vec::new())),
        1 => Just(Value::Object(serde_json::Map::new())),
    ];
    prop_oneof![
        8 => json.prop_map(Extreme::Json),
        1 => select(RAW_NUMBERS).prop_map(|n| Extreme::Raw(n.to_owned())),
        // Around serde_json's limit of 128 levels, where what parses may not read back.
        1 => (prop_oneof![1usize..400, 115usize..135], any::<bool>()).prop_map(|(depth, arrays)| {
            let (open, close) = if arrays { ("[", "]") } else { ("{\"a\":", "}") };
            Extreme::Raw(format!("{}1{}", open.repeat(depth), close.repeat(depth)))
        }),
    ]
}

/// An edit of a JSON document; the node is counted in pre-order over the whole document.
#[derive(Debug, Clone)]
pub enum JsonEdit {
    Replace(Index, Extreme),
    /// Removes a member of an object or an element of an array.
    Remove(Index, Index),
    /// Gives a member of an object another name from the seed's own keys or [`STRINGS`].
    Rename(Index, Index, &'static str),
}

pub fn json_edit() -> impl Strategy<Value = JsonEdit> {
    prop_oneof![
        6 => (any::<Index>(), extreme()).prop_map(|(at, v)| JsonEdit::Replace(at, v)),
        2 => (any::<Index>(), any::<Index>()).prop_map(|(at, k)| JsonEdit::Remove(at, k)),
        1 => (any::<Index>(), any::<Index>(), select(STRINGS))
            .prop_map(|(at, k, name)| JsonEdit::Rename(at, k, name)),
    ]
}

fn count_nodes(value: &Value) -> usize {
    1 + match value {
        Value::Array(items) => items.iter().map(count_nodes).sum(),
        Value::Object(members) => members.values().map(count_nodes).sum(),
        _ => 0,
    }
}

fn nth_node<'a>(value: &'a mut Value, k: &mut usize) -> Option<&'a mut Value> {
    if *k == 0 {
        return Some(value);
    }
    *k -= 1;
    match value {
        Value::Array(items) => items.iter_mut().find_map(|v| nth_node(v, k)),
        Value::Object(members) => members.values_mut().find_map(|v| nth_node(v, k)),
        _ => None,
    }
}

/// `seed` (JSON text) with `edits` applied, as text.
pub fn mutate_json(seed: &str, edits: &[JsonEdit]) -> Vec<u8> {
    let mut doc: Value = serde_json::from_str(seed).expect("seeds are JSON");
    let mut raws = Vec::new();
    for edit in edits {
        let (JsonEdit::Replace(at, _) | JsonEdit::Remove(at, _) | JsonEdit::Rename(at, _, _)) =
            edit;
        let mut k = at.index(count_nodes(&doc));
        let node = nth_node(&mut doc, &mut k).expect("k is below the node count");
        match edit {
            JsonEdit::Replace(_, Extreme::Json(v)) => *node = v.clone(),
            JsonEdit::Replace(_, Extreme::Raw(text)) => {
                *node = Value::from(format!("\u{1}raw{}\u{1}", raws.len()));
                raws.push(text);
            }
            JsonEdit::Remove(_, k) => match node {
                Value::Array(items) if !items.is_empty() => {
                    items.remove(k.index(items.len()));
                }
                Value::Object(members) if !members.is_empty() => {
                    let key = members.keys().nth(k.index(members.len())).cloned();
                    key.map(|key| members.remove(&key));
                }
                _ => {}
            },
            JsonEdit::Rename(_, k, name) => {
                if let Value::Object(members) = node {
                    if !members.is_empty() {
                        let key = members.keys().nth(k.index(members.len())).cloned();
                        if let Some(v) = key.and_then(|key| members.remove(&key)) {
                            members.insert((*name).to_owned(), v);
                        }
                    }
                }
            }
        }
    }
    let mut text = doc.to_string();
    for (i, raw) in raws.iter().enumerate() {
        text = text.replace(&format!("\"\\u0001raw{i}\\u0001\""), raw);
    }
    text.into_bytes()
}

/// An input, shown as text when a case fails.
#[derive(Clone)]
pub struct Input(pub Vec<u8>);

impl std::fmt::Debug for Input {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match std::str::from_utf8(&self.0) {
            Ok(text) => write!(f, "{text:?}"),
            Err(_) => write!(f, "bytes {:?}", self.0),
        }
    }
}

impl std::ops::Deref for Input {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.0
    }
}

/// Inputs for a JSON parser: a seed with JSON and byte edits, or random bytes.
pub fn json_input(seeds: &'static [&'static str]) -> impl Strategy<Value = Input> {
    let mutated = (
        select(seeds),
        prop::collection::vec(json_edit(), 0..4),
        byte_edits(),
    )
        .prop_map(|(seed, edits, bytes)| {
            let mut doc = mutate_json(seed, &edits);
            apply_bytes(&mut doc, &bytes);
            Input(doc)
        });
    prop_oneof![
        8 => mutated,
        1 => prop::collection::vec(any::<u8>(), 0..256).prop_map(Input),
    ]
}

/// An edit of a line-oriented text (CSV, TOML): a field of a line is a piece between
/// separators.
#[derive(Debug, Clone)]
pub enum TextEdit {
    /// Replaces field `field` of line `line` with `text`.
    Field(Index, Index, String),
    DuplicateLine(Index),
    DropLine(Index),
    SwapLines(Index, Index),
}

/// Text edits whose new fields come from `values` or are random.
pub fn text_edit(values: &'static [&'static str]) -> impl Strategy<Value = TextEdit> {
    let value = prop_oneof![
        6 => select(values).prop_map(str::to_owned),
        3 => select(STRINGS).prop_map(str::to_owned),
        1 => "\\PC{0,12}",
    ];
    prop_oneof![
        8 => (any::<Index>(), any::<Index>(), value).prop_map(|(l, f, v)| TextEdit::Field(l, f, v)),
        1 => any::<Index>().prop_map(TextEdit::DuplicateLine),
        1 => any::<Index>().prop_map(TextEdit::DropLine),
        1 => (any::<Index>(), any::<Index>()).prop_map(|(a, b)| TextEdit::SwapLines(a, b)),
    ]
}

/// `seed` with `edits` applied; fields are split at `separator`.
pub fn mutate_text(seed: &str, separator: char, edits: &[TextEdit]) -> Vec<u8> {
    let mut lines: Vec<String> = seed.lines().map(str::to_owned).collect();
    for edit in edits {
        if lines.is_empty() {
            break;
        }
        let n = lines.len();
        match edit {
            TextEdit::Field(line, field, text) => {
                let line = &mut lines[line.index(n)];
                let mut fields: Vec<&str> = line.split(separator).collect();
                let at = field.index(fields.len());
                fields[at] = text;
                *line = fields.join(&separator.to_string());
            }
            TextEdit::DuplicateLine(line) => {
                let at = line.index(n);
                lines.insert(at, lines[at].clone());
            }
            TextEdit::DropLine(line) => {
                lines.remove(line.index(n));
            }
            TextEdit::SwapLines(a, b) => lines.swap(a.index(n), b.index(n)),
        }
    }
    let mut text = lines.join("\n");
    text.push('\n');
    text.into_bytes()
}

/// Inputs for a line-oriented parser: a seed with field, line and byte edits, or random bytes.
pub fn text_input(
    seeds: &'static [&'static str],
    separator: char,
    values: &'static [&'static str],
) -> impl Strategy<Value = Input> {
    let mutated = (
        select(seeds),
        prop::collection::vec(text_edit(values), 0..5),
        byte_edits(),
    )
        .prop_map(move |(seed, edits, bytes)| {
            let mut doc = mutate_text(seed, separator, &edits);
            apply_bytes(&mut doc, &bytes);
            Input(doc)
        });
    prop_oneof![
        8 => mutated,
        1 => prop::collection::vec(any::<u8>(), 0..256).prop_map(Input),
    ]
}

/// Runs `check` on [`cases`] inputs from `strategy`; `check` says whether the input was
/// accepted. A panic fails the test with the smallest input proptest shrinks it to. Prints the
/// inputs run, how many were accepted and the time taken (seen with `--nocapture`), which is
/// what RELIABILITY.md records of the long run.
pub fn fuzz<S>(name: &str, strategy: S, check: impl Fn(S::Value) -> bool)
where
    S: Strategy,
    S::Value: std::fmt::Debug,
{
    fuzz_cases(name, cases(), strategy, check);
}

/// [`fuzz`] with `cases` cases, for a target whose inputs cost more than most.
pub fn fuzz_cases<S>(name: &str, cases: u32, strategy: S, check: impl Fn(S::Value) -> bool)
where
    S: Strategy,
    S::Value: std::fmt::Debug,
{
    use std::sync::atomic::{AtomicU64, Ordering};
    let (inputs, accepted) = (AtomicU64::new(0), AtomicU64::new(0));
    let started = std::time::Instant::now();
    let mut runner = proptest::test_runner::TestRunner::new(Config { cases, ..config() });
    let outcome = runner.run(&strategy, |input| {
        inputs.fetch_add(1, Ordering::Relaxed);
        if check(input) {
            accepted.fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    });
    if let Err(e) = outcome {
        panic!("fuzz {name}: {e}");
    }
    let (inputs, accepted) = (inputs.into_inner(), accepted.into_inner());
    eprintln!(
        "fuzz {name}: {inputs} inputs, {accepted} accepted ({:.1}%), 0 panics, {:.1} s",
        100.0 * accepted as f64 / inputs.max(1) as f64,
        started.elapsed().as_secs_f64()
    );
}

/// Checks that `run` does not panic on `input` and names the input when it does: the
/// regression cases call this with the minimal inputs the fuzzing found.
pub fn no_panic<R>(name: &str, input: &[u8], run: impl FnOnce(&[u8]) -> R) {
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        run(input);
    }));
    assert!(
        outcome.is_ok(),
        "{name}: panicked on {:?}",
        String::from_utf8_lossy(input)
    );
}
