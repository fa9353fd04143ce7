//! Google's destinations: the shared checks here, each API against its fake on loopback in
//! its own file, and the CSV files parsed back.

mod ads_api;
mod checks;
mod csv;
mod data_manager;

use std::sync::Arc;

use serde_json::Value;
use tenure_core::Timestamp;

use super::Clock;
use crate::conversion::{Click, ConversionEvent, EventKind, MatchKeys};
use crate::Outgoing;

/// "now" in every test: the deadlines below are counted from it.
const NOW: &str = "2026-05-01T12:00:00Z";
const TOKEN: &str = "ya29.loopback-access-token";

/// Hashes computed independently with Python's hashlib, e.g.
/// `hashlib.sha256(b"johnsmith@gmail.com").hexdigest()`; the first is what the runtime
/// hashes for " John.Smith@Gmail.com " (Google removes a Gmail local part's dots).
const JOHN: &str = "3586de92bb3636d0885a12eff961429a32e4ebd764b96f50d85d016f9338d586";
/// sha256("jane.doe@example.com"): not Gmail, so the dot stays.
const JANE: &str = "86e0b9e56c17cc4d12387e1949b85053fbe73bc3ce5a1188713a9d300cc6133d";
/// sha256("ops@acme.io").
const OPS: &str = "54a94590ce0f5d41ff928d798733bb82ee848d05108be3e98a6c43ac7111736b";

fn at(text: &str) -> Timestamp {
    Timestamp::parse(text).unwrap()
}

fn fixed(now: &str) -> Clock {
    let now = at(now);
    Arc::new(move || now)
}

/// A new conversion for conversion action `action`, with no match keys yet.
fn conversion(id: &str, action: &str, occurred: &str, value: Option<f64>) -> ConversionEvent {
    ConversionEvent {
        kind: EventKind::Conversion,
        event_id: id.into(),
        rule: "renewed".into(),
        account: format!("acct_{id}"),
        platform_name: action.into(),
        occurred_at: at(occurred),
        value,
        currency: "USD".into(),
        adjusted_at: None,
        previous_value: None,
        match_keys: MatchKeys::default(),
    }
}

fn with_click(mut event: ConversionEvent, kind: &str, id: &str, when: &str) -> ConversionEvent {
    event.match_keys.clicks.push(Click {
        kind: kind.into(),
        id: id.into(),
        at: at(when),
    });
    event
}

fn with_email(mut event: ConversionEvent, hash: &str) -> ConversionEvent {
    event.match_keys.hashed_emails.push(hash.into());
    event
}

/// A correction of `of`, decided at `adjusted`: a restatement to `value`, or a retraction.
fn adjustment(of: &ConversionEvent, adjusted: &str, value: Option<f64>) -> ConversionEvent {
    ConversionEvent {
        kind: if value.is_some() {
            EventKind::Restatement
        } else {
            EventKind::Retraction
        },
        adjusted_at: Some(at(adjusted)),
        previous_value: of.value,
        value,
        ..of.clone()
    }
}

/// The payloads and keys a batch of deliveries borrows.
struct Batch {
    payloads: Vec<Value>,
    keys: Vec<String>,
}

impl Batch {
    fn new(events: &[ConversionEvent]) -> Batch {
        Batch {
            payloads: events.iter().map(ConversionEvent::to_payload).collect(),
            keys: events
                .iter()
                .map(|e| format!("{}-{}", e.event_id, e.kind.name()))
                .collect(),
        }
    }

    fn raw(payloads: Vec<Value>) -> Batch {
        let keys = (0..payloads.len()).map(|i| format!("raw-{i}")).collect();
        Batch { payloads, keys }
    }

    fn outgoing(&self) -> Vec<Outgoing<'_>> {
        self.payloads
            .iter()
            .zip(&self.keys)
            .enumerate()
            .map(|(i, (payload, key))| Outgoing {
                delivery_id: 100 + i as i64,
                idempotency_key: key,
                payload,
                attempt: 1,
            })
            .collect()
    }
}

fn env(name: &str) -> Option<String> {
    match name {
        "TENURE_GOOGLE_TOKEN" => Some(TOKEN.to_owned()),
        "TENURE_GOOGLE_DEVELOPER_TOKEN" => Some(ads_api::DEVELOPER_TOKEN.to_owned()),
        _ => None,
    }
}

/// A POST straight to a fake, for the requests the destinations would never make.
fn post(url: &str, headers: &[(&str, &str)], body: &Value) -> (u16, Value) {
    let mut request = reqwest::blocking::Client::new().post(url).json(body);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().unwrap();
    let status = response.status().as_u16();
    (status, response.json().unwrap_or(Value::Null))
}
