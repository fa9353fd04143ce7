use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{
    AccountRow, DealRow, SegmentMessage, SpendRow, SubscriptionRow, Timestamp, TouchpointRow,
    WorkspaceId,
};

/// How an entry reached tenure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// The Segment-compatible HTTP API.
    Http,
    /// `tenure import` of a file.
    Import,
    /// A signed webhook from a billing or CRM provider.
    Webhook,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Http => "http",
            Source::Import => "import",
            Source::Webhook => "webhook",
        }
    }
}

/// A provider's webhook event, kept whole: its payload is interpreted by the engine, so a
/// better interpretation later can be replayed over the same log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookEvent {
    /// `stripe`, later `hubspot`, `zendesk`, …
    pub provider: String,
    pub event_id: String,
    pub event_type: String,
    pub payload: serde_json::Value,
}

/// What an entry says. Every input of SPEC §2 is one of these.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "data", rename_all = "snake_case")]
pub enum EntryBody {
    Segment(SegmentMessage),
    Account(AccountRow),
    Subscription(SubscriptionRow),
    Deal(DealRow),
    Spend(SpendRow),
    Touchpoint(TouchpointRow),
    Webhook(WebhookEvent),
}

/// The kind of an entry as reported by `tenure status`: the Segment message type, the CSV kind,
/// or `webhook`.
pub type EntryKind = &'static str;

/// One input, as appended to the log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub workspace: WorkspaceId,
    pub source: Source,
    pub received_at: Timestamp,
    pub body: EntryBody,
}

/// An entry with its place in the log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredEntry {
    pub seq: i64,
    pub entry: Entry,
}

impl Entry {
    pub fn kind(&self) -> EntryKind {
        match &self.body {
            EntryBody::Segment(m) => m.kind.as_str(),
            EntryBody::Account(_) => "account",
            EntryBody::Subscription(_) => "subscription",
            EntryBody::Deal(_) => "deal",
            EntryBody::Spend(_) => "spend",
            EntryBody::Touchpoint(_) => "touchpoint",
            EntryBody::Webhook(_) => "webhook",
        }
    }

    /// The identity that makes appending idempotent: the same key in the same workspace is
    /// stored once. Segment messages are keyed by `messageId`, webhooks by the provider's event
    /// id, and CSV rows by their content, so re-importing a file changes nothing while a changed
    /// row (an account renamed, a deal won) is a new fact.
    pub fn natural_key(&self) -> String {
        match &self.body {
            EntryBody::Segment(m) => format!("segment:{}", m.message_id),
            EntryBody::Webhook(w) => format!("webhook:{}:{}", w.provider, w.event_id),
            EntryBody::Account(r) => row_key("account", r),
            EntryBody::Subscription(r) => row_key("subscription", r),
            EntryBody::Deal(r) => row_key("deal", r),
            EntryBody::Spend(r) => row_key("spend", r),
            EntryBody::Touchpoint(r) => row_key("touchpoint", r),
        }
    }

    /// When the fact happened, for ordering derived state (not the log order).
    pub fn occurred_at(&self) -> Timestamp {
        match &self.body {
            EntryBody::Segment(m) => m.timestamp,
            EntryBody::Account(r) => r.created_at.unwrap_or(self.received_at),
            EntryBody::Subscription(r) => r.effective_at,
            EntryBody::Deal(r) => r.closed_at.unwrap_or(r.created_at),
            EntryBody::Spend(r) => r.date,
            EntryBody::Touchpoint(r) => r.occurred_at,
            EntryBody::Webhook(_) => self.received_at,
        }
    }
}

fn row_key<T: Serialize>(kind: &str, row: &T) -> String {
    let canonical = serde_json::to_vec(row).expect("rows serialize");
    let digest = Sha256::digest(&canonical);
    format!("{kind}:{}", hex::encode(&digest[..16]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{AccountId, Currency, Money};

    fn subscription(mrr: i64) -> Entry {
        Entry {
            workspace: WorkspaceId::default_workspace(),
            source: Source::Import,
            received_at: Timestamp::from_millis(5),
            body: EntryBody::Subscription(SubscriptionRow {
                account_id: AccountId::parse("a1").unwrap(),
                effective_at: Timestamp::from_millis(0),
                mrr: Money::new(mrr, Currency::USD),
                plan: None,
                seats: None,
            }),
        }
    }

    #[test]
    fn row_keys_follow_content_not_arrival() {
        let mut later = subscription(100);
        later.received_at = Timestamp::from_millis(99);
        assert_eq!(subscription(100).natural_key(), later.natural_key());
        assert_ne!(
            subscription(100).natural_key(),
            subscription(200).natural_key()
        );
        assert!(subscription(100).natural_key().starts_with("subscription:"));
    }

    #[test]
    fn entries_round_trip_through_json() {
        let e = subscription(4_900);
        let text = serde_json::to_string(&e).unwrap();
        assert_eq!(serde_json::from_str::<Entry>(&text).unwrap(), e);
        assert_eq!(e.kind(), "subscription");
    }
}
