//! Builders for log entries, so each test states only what matters to it.

use serde_json::{json, Map, Value};
use tenure_core::{
    AccountId, AnonymousId, Email, Entry, EntryBody, MessageType, SegmentMessage, Source,
    StoredEntry, Timestamp, TouchpointRow, UserId, WorkspaceId,
};
use tenure_engine::{EngineSettings, Model};

pub const MINUTE: i64 = 60_000;

/// 2025-03-01T12:00:00Z, the start of every story.
pub fn t0() -> i64 {
    Timestamp::parse("2025-03-01T12:00:00Z").unwrap().millis()
}

pub struct Msg(SegmentMessage);

impl Msg {
    pub fn new(kind: MessageType, id: &str) -> Self {
        Msg(SegmentMessage {
            kind,
            message_id: id.to_owned(),
            timestamp: Timestamp::from_millis(t0()),
            received_at: Timestamp::from_millis(t0()),
            sent_at: None,
            original_timestamp: None,
            anonymous_id: None,
            user_id: None,
            event: None,
            name: None,
            group_id: None,
            previous_id: None,
            context: Map::new(),
            properties: Map::new(),
            traits: Map::new(),
        })
    }

    pub fn page(id: &str) -> Self {
        Self::new(MessageType::Page, id)
    }

    pub fn track(id: &str, event: &str) -> Self {
        let mut m = Self::new(MessageType::Track, id);
        m.0.event = Some(event.to_owned());
        m
    }

    pub fn identify(id: &str) -> Self {
        Self::new(MessageType::Identify, id)
    }

    pub fn group(id: &str, account: &str) -> Self {
        let mut m = Self::new(MessageType::Group, id);
        m.0.group_id = Some(AccountId::parse(account).unwrap());
        m
    }

    pub fn alias(id: &str, previous: &str) -> Self {
        let mut m = Self::new(MessageType::Alias, id);
        m.0.previous_id = Some(previous.to_owned());
        m
    }

    pub fn anon(mut self, id: &str) -> Self {
        self.0.anonymous_id = Some(AnonymousId::parse(id).unwrap());
        self
    }

    pub fn user(mut self, id: &str) -> Self {
        self.0.user_id = Some(UserId::parse(id).unwrap());
        self
    }

    /// Milliseconds after [`t0`].
    pub fn at(mut self, offset_ms: i64) -> Self {
        self.0.timestamp = Timestamp::from_millis(t0() + offset_ms);
        self
    }

    fn page_field(mut self, key: &str, value: &str) -> Self {
        let page = self.0.context.entry("page").or_insert_with(|| json!({}));
        page.as_object_mut()
            .unwrap()
            .insert(key.to_owned(), Value::from(value));
        self
    }

    pub fn url(self, url: &str) -> Self {
        self.page_field("url", url)
    }

    pub fn referrer(self, referrer: &str) -> Self {
        self.page_field("referrer", referrer)
    }

    pub fn campaign(mut self, campaign: Value) -> Self {
        self.0.context.insert("campaign".to_owned(), campaign);
        self
    }

    pub fn context(mut self, key: &str, value: Value) -> Self {
        self.0.context.insert(key.to_owned(), value);
        self
    }

    pub fn property(mut self, key: &str, value: &str) -> Self {
        self.0.properties.insert(key.to_owned(), Value::from(value));
        self
    }

    pub fn email(mut self, email: &str) -> Self {
        self.0.traits.insert("email".to_owned(), Value::from(email));
        self
    }

    pub fn entry(self) -> StoredEntry {
        stored(EntryBody::Segment(self.0))
    }
}

pub fn stored(body: EntryBody) -> StoredEntry {
    StoredEntry {
        seq: 0,
        entry: Entry {
            workspace: WorkspaceId::default_workspace(),
            source: Source::Http,
            received_at: Timestamp::from_millis(t0()),
            body,
        },
    }
}

/// An offline touch with only the given columns set.
#[derive(Default)]
pub struct Offline {
    pub at: i64,
    pub account: Option<&'static str>,
    pub user: Option<&'static str>,
    pub email: Option<&'static str>,
    pub anon: Option<&'static str>,
    pub channel: Option<&'static str>,
    pub medium: Option<&'static str>,
    pub kind: Option<&'static str>,
}

impl Offline {
    pub fn entry(self) -> StoredEntry {
        stored(EntryBody::Touchpoint(TouchpointRow {
            occurred_at: Timestamp::from_millis(t0() + self.at),
            account_id: self.account.map(|a| AccountId::parse(a).unwrap()),
            user_id: self.user.map(|u| UserId::parse(u).unwrap()),
            email: self.email.map(|e| Email::parse(e).unwrap()),
            anonymous_id: self.anon.map(|a| AnonymousId::parse(a).unwrap()),
            channel: self.channel.map(str::to_owned),
            source: None,
            medium: self.medium.map(str::to_owned),
            campaign: Some("spring".to_owned()),
            content: None,
            term: None,
            kind: self.kind.map(str::to_owned),
        }))
    }
}

pub fn model_with(settings: EngineSettings, entries: &[StoredEntry]) -> Model {
    let mut model = Model::new(settings);
    for e in entries {
        model.apply(e);
    }
    model
}

pub fn model(entries: &[StoredEntry]) -> Model {
    model_with(EngineSettings::default(), entries)
}

pub fn user(id: &str) -> UserId {
    UserId::parse(id).unwrap()
}

pub fn account(id: &str) -> AccountId {
    AccountId::parse(id).unwrap()
}

pub fn channels(model: &Model) -> Vec<String> {
    model
        .snapshot()
        .touchpoints
        .iter()
        .map(|t| t.channel().to_string())
        .collect()
}
