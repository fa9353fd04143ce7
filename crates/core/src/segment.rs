use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::{AccountId, AnonymousId, Email, Timestamp, UserId};

/// The Segment message types tenure accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageType {
    Track,
    Identify,
    Group,
    Page,
    Screen,
    Alias,
}

impl MessageType {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageType::Track => "track",
            MessageType::Identify => "identify",
            MessageType::Group => "group",
            MessageType::Page => "page",
            MessageType::Screen => "screen",
            MessageType::Alias => "alias",
        }
    }
}

/// A validated Segment message as stored in the log.
///
/// `timestamp` is already corrected for the sender's clock skew (SPEC §2.1); the times the
/// sender gave are kept beside it so the correction can be audited.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SegmentMessage {
    #[serde(rename = "type")]
    pub kind: MessageType,
    pub message_id: String,
    pub timestamp: Timestamp,
    pub received_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sent_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original_timestamp: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anonymous_id: Option<AnonymousId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<UserId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_id: Option<AccountId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_id: Option<String>,
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub context: Map<String, Value>,
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub properties: Map<String, Value>,
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub traits: Map<String, Value>,
}

impl SegmentMessage {
    /// A string at a dotted path under `context`, e.g. `"page.url"`; empty strings count as absent.
    pub fn context_str(&self, path: &str) -> Option<&str> {
        lookup_str(&self.context, path)
    }

    pub fn property_str(&self, key: &str) -> Option<&str> {
        lookup_str(&self.properties, key)
    }

    /// The account this message belongs to: `groupId` of a group call, else `context.groupId`.
    pub fn account(&self) -> Option<AccountId> {
        if let Some(id) = &self.group_id {
            return Some(id.clone());
        }
        self.context_str("groupId")
            .and_then(|raw| AccountId::parse(raw).ok())
    }

    /// The person's e-mail from `traits.email`, else `context.traits.email`, if it is valid.
    pub fn email(&self) -> Option<Email> {
        lookup_str(&self.traits, "email")
            .or_else(|| self.context_str("traits.email"))
            .and_then(|raw| Email::parse(raw).ok())
    }
}

fn lookup_str<'a>(map: &'a Map<String, Value>, path: &str) -> Option<&'a str> {
    let mut parts = path.split('.');
    let mut value = map.get(parts.next()?)?;
    for part in parts {
        value = value.as_object()?.get(part)?;
    }
    value.as_str().filter(|s| !s.trim().is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn message(context: Value, traits: Value) -> SegmentMessage {
        SegmentMessage {
            kind: MessageType::Page,
            message_id: "m1".into(),
            timestamp: Timestamp::from_millis(0),
            received_at: Timestamp::from_millis(0),
            sent_at: None,
            original_timestamp: None,
            anonymous_id: None,
            user_id: None,
            event: None,
            name: None,
            group_id: None,
            previous_id: None,
            context: context.as_object().cloned().unwrap_or_default(),
            properties: Map::new(),
            traits: traits.as_object().cloned().unwrap_or_default(),
        }
    }

    #[test]
    fn reads_nested_context_and_account() {
        let m = message(
            json!({"groupId": "acct_9", "page": {"url": "https://a.io/?x=1", "title": ""}}),
            json!({}),
        );
        assert_eq!(m.context_str("page.url"), Some("https://a.io/?x=1"));
        assert_eq!(m.context_str("page.title"), None);
        assert_eq!(m.context_str("page.missing.deeper"), None);
        assert_eq!(m.account().unwrap().as_str(), "acct_9");
    }

    #[test]
    fn email_prefers_traits_then_context_traits() {
        let m = message(
            json!({"traits": {"email": "B@x.io"}}),
            json!({"email": "A@x.io"}),
        );
        assert_eq!(m.email().unwrap().as_str(), "a@x.io");
        let m = message(json!({"traits": {"email": "B@x.io"}}), json!({}));
        assert_eq!(m.email().unwrap().as_str(), "b@x.io");
    }
}
