//! How deep the free-form JSON of an input (Segment `context`, `properties` and `traits`, a
//! Stripe event's payload) may nest.
//!
//! The log stores each input inside its entry's own JSON, a few levels further down, and
//! `serde_json` reads back at most 128 levels: an input nested nearly that deep parses, is
//! stored, and then can never be read, which stops every replay of the log (issue 12). A limit
//! well under 128 keeps every accepted input readable, with room for the stored form and for
//! clients of the API reading what tenure serves; real payloads nest a dozen levels at most.

use serde_json::Value;

/// The deepest nesting accepted, counting the outermost array or object as level 1.
pub const MAX_JSON_DEPTH: usize = 64;

/// The nesting depth of `value`: 0 for a scalar, 1 for an array or object of scalars.
pub fn depth(value: &Value) -> usize {
    match value {
        Value::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
        Value::Object(members) => 1 + members.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}
