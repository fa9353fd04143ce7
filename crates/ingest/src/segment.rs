//! The Segment tracking API (SPEC §2.1, FORMATS.md "Segment tracking API").
//!
//! A request is handled in two steps so that the server can check the write key in between:
//! [`Envelope::parse`] checks sizes and JSON syntax and finds the `writeKey`; then
//! [`Envelope::into_messages`] validates and normalises every message, all or nothing.
//! [`parse_message`] does both for one line of an `events.ndjson` backfill.
//!
//! Decisions:
//! - On `/v1/track` and the other single-message endpoints the path decides the type. A `type`
//!   in the body may repeat it; a `type` that names another type is rejected, because guessing
//!   which of the two the sender meant would store a wrong fact silently.
//! - Batch items and ndjson lines must carry their own `type`.
//! - Ids (`userId`, `anonymousId`, `groupId`, `previousId`, `messageId`) may be JSON numbers and
//!   are turned into their decimal text, as Segment does; empty or blank ids count as absent;
//!   `null` counts as absent for every field.
//! - Without a usable `messageId` the id is `h-` and the first 16 bytes (hex) of the SHA-256 of
//!   the message type and the message's raw bytes, so a client retrying the same bytes is
//!   deduplicated.
//! - Clock skew: with a `sentAt` (the message's own, else the batch's), the stored time is
//!   `t + (receivedAt - sentAt)` where `t` is `timestamp`, else `originalTimestamp`; without
//!   either, the receipt time. [`SegmentMessage::original_timestamp`] keeps that uncorrected `t`.
//!   Imported lines ([`parse_message`]) are not corrected: the time of a backfill says nothing
//!   about the sender's clock, and exported messages already carry corrected timestamps.
//! - The batch envelope's `context` is merged into each item's, shallowly, the item's keys
//!   winning. `integrations` is accepted and not kept: [`SegmentMessage`] has no place for it.

use std::fmt;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use tenure_core::{AccountId, AnonymousId, MessageType, SegmentMessage, Timestamp, UserId};

use crate::nesting::{depth, MAX_JSON_DEPTH};
use crate::EARLIEST_EVENT;

/// The longest `messageId` accepted, in characters.
pub const MAX_MESSAGE_ID_CHARS: usize = 100;

/// Size limits of the tracking API; the default is what Segment publishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// The largest single message, in bytes (a single call's body, a batch item, an ndjson line).
    pub max_message_bytes: usize,
    /// The largest batch request body, in bytes.
    pub max_batch_bytes: usize,
    /// The most messages in one batch.
    pub max_batch_messages: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_message_bytes: 32 * 1024,
            max_batch_bytes: 500 * 1024,
            max_batch_messages: 2_500,
        }
    }
}

/// The `/v1/…` endpoints of the tracking API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    Track,
    Identify,
    Group,
    Page,
    Screen,
    Alias,
    Batch,
}

impl Endpoint {
    pub const ALL: [Endpoint; 7] = [
        Endpoint::Track,
        Endpoint::Identify,
        Endpoint::Group,
        Endpoint::Page,
        Endpoint::Screen,
        Endpoint::Alias,
        Endpoint::Batch,
    ];

    /// The endpoint for the last segment of a path such as `/v1/track`. `import` is Segment's
    /// older name of `batch` and means the same.
    pub fn from_path_segment(segment: &str) -> Option<Self> {
        // The one-letter forms are what analytics.js posts to (the type's first letter).
        Some(match segment {
            "track" | "t" => Endpoint::Track,
            "identify" | "i" => Endpoint::Identify,
            "group" | "g" => Endpoint::Group,
            "page" | "p" => Endpoint::Page,
            "screen" | "s" => Endpoint::Screen,
            "alias" | "a" => Endpoint::Alias,
            "batch" | "import" | "b" => Endpoint::Batch,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self.message_type() {
            Some(kind) => kind.as_str(),
            None => "batch",
        }
    }

    /// The type of the message a single-message endpoint takes; `None` for batch.
    pub fn message_type(self) -> Option<MessageType> {
        Some(match self {
            Endpoint::Track => MessageType::Track,
            Endpoint::Identify => MessageType::Identify,
            Endpoint::Group => MessageType::Group,
            Endpoint::Page => MessageType::Page,
            Endpoint::Screen => MessageType::Screen,
            Endpoint::Alias => MessageType::Alias,
            Endpoint::Batch => return None,
        })
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which limit a request broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// [`Limits::max_message_bytes`].
    MessageBytes,
    /// [`Limits::max_batch_bytes`].
    BatchBytes,
    /// [`Limits::max_batch_messages`].
    BatchMessages,
}

/// Why a request or a message was refused. `index` is the position of the offending item in a
/// batch, `None` for the request as a whole or a single message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SegmentError {
    /// The bytes are not JSON; `reason` is the parser's, with line and column.
    InvalidJson { reason: String },
    /// A size limit was exceeded: `actual` against `max` (bytes, or messages for a batch count).
    TooLarge {
        limit: Limit,
        index: Option<usize>,
        actual: usize,
        max: usize,
    },
    /// The JSON is well formed but a message (or the batch envelope) breaks the spec. `field` is
    /// the JSON key at fault (`"message"` for the message as a whole); `reason` is a sentence
    /// that names it.
    Invalid {
        index: Option<usize>,
        field: &'static str,
        reason: String,
    },
}

impl fmt::Display for SegmentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = |f: &mut fmt::Formatter<'_>, index: &Option<usize>| match index {
            Some(i) => write!(f, "batch[{i}]: "),
            None => Ok(()),
        };
        match self {
            SegmentError::InvalidJson { reason } => write!(f, "invalid json: {reason}"),
            SegmentError::TooLarge {
                limit,
                index,
                actual,
                max,
            } => {
                at(f, index)?;
                match limit {
                    Limit::MessageBytes => {
                        write!(
                            f,
                            "message is {actual} bytes, over the limit of {max} bytes"
                        )
                    }
                    Limit::BatchBytes => {
                        write!(f, "batch is {actual} bytes, over the limit of {max} bytes")
                    }
                    Limit::BatchMessages => {
                        write!(f, "batch has {actual} messages, over the limit of {max}")
                    }
                }
            }
            SegmentError::Invalid { index, reason, .. } => {
                at(f, index)?;
                f.write_str(reason)
            }
        }
    }
}

impl SegmentError {
    /// The HTTP status to answer with: 413 for oversize, else 400.
    pub fn status(&self) -> u16 {
        match self {
            SegmentError::TooLarge { .. } => 413,
            SegmentError::InvalidJson { .. } | SegmentError::Invalid { .. } => 400,
        }
    }

    /// A stable machine-readable code for the error body.
    pub fn code(&self) -> &'static str {
        match self {
            SegmentError::InvalidJson { .. } => "invalid_json",
            SegmentError::TooLarge { .. } => "too_large",
            SegmentError::Invalid { .. } => "invalid_message",
        }
    }

    /// The batch index of the offending message, if any.
    pub fn index(&self) -> Option<usize> {
        match self {
            SegmentError::InvalidJson { .. } => None,
            SegmentError::TooLarge { index, .. } | SegmentError::Invalid { index, .. } => *index,
        }
    }
}

fn invalid(index: Option<usize>, field: &'static str, reason: impl Into<String>) -> SegmentError {
    SegmentError::Invalid {
        index,
        field,
        reason: reason.into(),
    }
}

/// What an HTTP body says before its write key is checked. The messages themselves are only
/// validated by [`Envelope::into_messages`].
#[derive(Debug)]
pub struct Envelope {
    /// The `writeKey` of the body: the batch envelope's, or a single message's.
    pub write_key: Option<String>,
    endpoint: Endpoint,
    payload: Payload,
}

#[derive(Debug)]
enum Payload {
    Single {
        kind: MessageType,
        wire: Box<WireMessage>,
        /// The body, kept only when the message has no usable `messageId` and one is derived.
        raw: Vec<u8>,
    },
    Batch {
        items: Vec<Box<RawValue>>,
        sent_at: Option<Timestamp>,
        context: Option<Map<String, Value>>,
    },
}

impl Envelope {
    /// Parses a (decompressed) request body. Checks, in order: the body's size
    /// (`max_batch_bytes` for batch, `max_message_bytes` otherwise), its JSON syntax, the batch's
    /// message count, and each batch item's size; also the types of the envelope's `writeKey`,
    /// `sentAt` and `context`.
    pub fn parse(
        endpoint: Endpoint,
        body: &[u8],
        limits: &Limits,
    ) -> Result<Envelope, SegmentError> {
        match endpoint.message_type() {
            Some(kind) => {
                if body.len() > limits.max_message_bytes {
                    return Err(SegmentError::TooLarge {
                        limit: Limit::MessageBytes,
                        index: None,
                        actual: body.len(),
                        max: limits.max_message_bytes,
                    });
                }
                let raw = body.trim_ascii();
                let wire = parse_object::<WireMessage>(raw, None, "message")?;
                let write_key = text(wire.write_key.as_ref(), None, "writeKey")?;
                let raw = if wire.has_message_id() {
                    Vec::new()
                } else {
                    raw.to_vec()
                };
                Ok(Envelope {
                    write_key,
                    endpoint,
                    payload: Payload::Single {
                        kind,
                        wire: Box::new(wire),
                        raw,
                    },
                })
            }
            None => {
                if body.len() > limits.max_batch_bytes {
                    return Err(SegmentError::TooLarge {
                        limit: Limit::BatchBytes,
                        index: None,
                        actual: body.len(),
                        max: limits.max_batch_bytes,
                    });
                }
                let wire = parse_object::<WireBatch>(body.trim_ascii(), None, "batch")?;
                let items = match wire.batch {
                    None => return Err(invalid(None, "batch", "batch is required")),
                    Some(Items::Other(kind)) => {
                        return Err(invalid(
                            None,
                            "batch",
                            format!("batch must be an array, not {kind}"),
                        ))
                    }
                    Some(Items::Array(items)) => items,
                };
                if items.len() > limits.max_batch_messages {
                    return Err(SegmentError::TooLarge {
                        limit: Limit::BatchMessages,
                        index: None,
                        actual: items.len(),
                        max: limits.max_batch_messages,
                    });
                }
                if let Some((i, item)) = items
                    .iter()
                    .enumerate()
                    .find(|(_, item)| item.get().len() > limits.max_message_bytes)
                {
                    return Err(SegmentError::TooLarge {
                        limit: Limit::MessageBytes,
                        index: Some(i),
                        actual: item.get().len(),
                        max: limits.max_message_bytes,
                    });
                }
                Ok(Envelope {
                    write_key: text(wire.write_key.as_ref(), None, "writeKey")?,
                    endpoint,
                    payload: Payload::Batch {
                        items,
                        sent_at: timestamp(wire.sent_at.as_ref(), None, "sentAt")?,
                        context: object(wire.context, None, "context")?,
                    },
                })
            }
        }
    }

    pub fn endpoint(&self) -> Endpoint {
        self.endpoint
    }

    /// How many messages the request carries (before validation).
    pub fn message_count(&self) -> usize {
        match &self.payload {
            Payload::Single { .. } => 1,
            Payload::Batch { items, .. } => items.len(),
        }
    }

    /// Validates and normalises every message; all or nothing: one invalid message rejects the
    /// whole request, and the error names its batch index.
    pub fn into_messages(
        self,
        received_at: Timestamp,
    ) -> Result<Vec<SegmentMessage>, SegmentError> {
        match self.payload {
            Payload::Single { kind, wire, raw } => {
                let ctx = Ctx {
                    index: None,
                    received_at,
                    forced: Some(kind),
                    sent_at: None,
                    correct_skew: true,
                    context: None,
                };
                Ok(vec![normalise(*wire, &raw, &ctx)?])
            }
            Payload::Batch {
                items,
                sent_at,
                context,
            } => items
                .iter()
                .enumerate()
                .map(|(i, item)| {
                    let raw = item.get().as_bytes();
                    let wire = parse_object::<WireMessage>(raw, Some(i), "message")?;
                    let ctx = Ctx {
                        index: Some(i),
                        received_at,
                        forced: None,
                        sent_at,
                        correct_skew: true,
                        context: context.as_ref(),
                    };
                    normalise(wire, raw, &ctx)
                })
                .collect(),
        }
    }
}

/// Parses one line of `events.ndjson`: a message with its own `type`, validated as a batch item
/// is; `received_at` is the import time. Its times are taken as given (no clock-skew correction).
/// Surrounding white space (the line break) is ignored.
pub fn parse_message(
    line: &[u8],
    received_at: Timestamp,
    limits: &Limits,
) -> Result<SegmentMessage, SegmentError> {
    let raw = line.trim_ascii();
    if raw.len() > limits.max_message_bytes {
        return Err(SegmentError::TooLarge {
            limit: Limit::MessageBytes,
            index: None,
            actual: raw.len(),
            max: limits.max_message_bytes,
        });
    }
    let wire = parse_object::<WireMessage>(raw, None, "message")?;
    let ctx = Ctx {
        index: None,
        received_at,
        forced: None,
        sent_at: None,
        correct_skew: false,
        context: None,
    };
    normalise(wire, raw, &ctx)
}

/// The id given to a message without a usable `messageId`.
fn derived_message_id(kind: MessageType, raw: &[u8]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(kind.as_str().as_bytes());
    hasher.update(b"\n");
    hasher.update(raw);
    let digest = hasher.finalize();
    format!("h-{}", hex::encode(&digest[..16]))
}

/// Deserializes a JSON object, telling syntax errors (`InvalidJson`) from well-formed input of
/// the wrong shape (`Invalid`).
fn parse_object<'de, T: Deserialize<'de>>(
    raw: &'de [u8],
    index: Option<usize>,
    what: &'static str,
) -> Result<T, SegmentError> {
    let json_error = |e: serde_json::Error| match e.classify() {
        serde_json::error::Category::Data => invalid(index, what, format!("{what}: {e}")),
        _ => SegmentError::InvalidJson {
            reason: e.to_string(),
        },
    };
    if raw.first() != Some(&b'{') {
        serde_json::from_slice::<IgnoredAny>(raw).map_err(json_error)?;
        let reason = if what == "batch" {
            "body must be a json object with a batch array"
        } else {
            "message must be a json object"
        };
        return Err(invalid(index, what, reason));
    }
    serde_json::from_slice(raw).map_err(json_error)
}

/// A message as sent, with every field's JSON type left open so that errors can name the field.
#[derive(Debug, Deserialize)]
struct WireMessage {
    #[serde(rename = "type")]
    kind: Option<Scalar>,
    #[serde(rename = "messageId")]
    message_id: Option<Scalar>,
    timestamp: Option<Scalar>,
    #[serde(rename = "originalTimestamp")]
    original_timestamp: Option<Scalar>,
    #[serde(rename = "sentAt")]
    sent_at: Option<Scalar>,
    #[serde(rename = "anonymousId")]
    anonymous_id: Option<Scalar>,
    #[serde(rename = "userId")]
    user_id: Option<Scalar>,
    event: Option<Scalar>,
    name: Option<Scalar>,
    #[serde(rename = "groupId")]
    group_id: Option<Scalar>,
    #[serde(rename = "previousId")]
    previous_id: Option<Scalar>,
    context: Option<Value>,
    properties: Option<Value>,
    traits: Option<Value>,
    #[serde(rename = "writeKey")]
    write_key: Option<Scalar>,
}

impl WireMessage {
    fn has_message_id(&self) -> bool {
        match &self.message_id {
            Some(Scalar::Str(s)) => !s.trim().is_empty(),
            Some(Scalar::Num(_) | Scalar::Other(_)) => true,
            None => false,
        }
    }
}

#[derive(Debug, Deserialize)]
struct WireBatch {
    batch: Option<Items>,
    #[serde(rename = "sentAt")]
    sent_at: Option<Scalar>,
    context: Option<Value>,
    #[serde(rename = "writeKey")]
    write_key: Option<Scalar>,
}

/// A JSON value read where a string is expected; numbers keep their decimal text.
#[derive(Debug)]
enum Scalar {
    Str(String),
    Num(String),
    /// Anything else, by its article and JSON type, for error messages ("an object").
    Other(&'static str),
}

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ScalarVisitor)
    }
}

struct ScalarVisitor;

impl<'de> Visitor<'de> for ScalarVisitor {
    type Value = Scalar;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any json value")
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Scalar, E> {
        Ok(Scalar::Other("a boolean"))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalar, E> {
        Ok(Scalar::Num(v.to_string()))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar, E> {
        Ok(Scalar::Num(v.to_string()))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Scalar, E> {
        Ok(Scalar::Num(v.to_string()))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar, E> {
        Ok(Scalar::Str(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Scalar, E> {
        Ok(Scalar::Str(v))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Scalar, E> {
        Ok(Scalar::Other("null"))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Scalar, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Scalar::Other("an array"))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Scalar, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Scalar::Other("an object"))
    }
}

/// The `batch` member: its items as raw JSON (so their sizes are known without re-serializing),
/// or the JSON type it had instead of an array.
#[derive(Debug)]
enum Items {
    Array(Vec<Box<RawValue>>),
    Other(&'static str),
}

impl<'de> Deserialize<'de> for Items {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ItemsVisitor)
    }
}

struct ItemsVisitor;

impl<'de> Visitor<'de> for ItemsVisitor {
    type Value = Items;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of messages")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Items, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(item) = seq.next_element::<Box<RawValue>>()? {
            items.push(item);
        }
        Ok(Items::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Items, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Items::Other("an object"))
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Items, E> {
        Ok(Items::Other("a boolean"))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Items, E> {
        Ok(Items::Other("a number"))
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Items, E> {
        Ok(Items::Other("a number"))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Items, E> {
        Ok(Items::Other("a number"))
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Items, E> {
        Ok(Items::Other("a string"))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Items, E> {
        Ok(Items::Other("null"))
    }
}

/// Keeps a message's stored time within [`EARLIEST_EVENT`] and its receipt: nothing happens
/// after tenure receives it, and a broken sender clock must not push an event into another
/// age, where it would stretch every report's calendar.
///
/// A live request is clamped, as Segment does, because its SDK drops a batch answered 4xx
/// and cannot fix the clock that caused it; the times the sender gave stay in
/// `originalTimestamp` and `sentAt`. An imported line is rejected instead, naming the field,
/// because the person importing can fix the file.
fn bound_time(
    stored: Timestamp,
    index: Option<usize>,
    ctx: &Ctx<'_>,
) -> Result<Timestamp, SegmentError> {
    let latest = ctx.received_at.max(EARLIEST_EVENT);
    if (EARLIEST_EVENT..=latest).contains(&stored) {
        return Ok(stored);
    }
    if ctx.correct_skew {
        return Ok(stored.clamp(EARLIEST_EVENT, latest));
    }
    Err(invalid(
        index,
        "timestamp",
        format!(
            "timestamp {stored} is outside {EARLIEST_EVENT} to the import time {latest}: an \
             event cannot happen after it is received, nor before 1970"
        ),
    ))
}

/// What a message's validation depends on besides the message itself.
struct Ctx<'a> {
    index: Option<usize>,
    received_at: Timestamp,
    /// The type set by a single-message endpoint.
    forced: Option<MessageType>,
    /// The batch envelope's `sentAt`.
    sent_at: Option<Timestamp>,
    /// Whether `sentAt` corrects the timestamp: live requests only, not imported lines.
    correct_skew: bool,
    /// The batch envelope's `context`.
    context: Option<&'a Map<String, Value>>,
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A string field; blank counts as absent.
fn text(
    value: Option<&Scalar>,
    index: Option<usize>,
    field: &'static str,
) -> Result<Option<String>, SegmentError> {
    match value {
        None => Ok(None),
        Some(Scalar::Str(s)) if s.trim().is_empty() => Ok(None),
        Some(Scalar::Str(s)) => Ok(Some(s.clone())),
        Some(Scalar::Num(_)) => Err(invalid(
            index,
            field,
            format!("{field} must be a string, not a number"),
        )),
        Some(Scalar::Other(kind)) => Err(invalid(
            index,
            field,
            format!("{field} must be a string, not {kind}"),
        )),
    }
}

/// An id field: a string or a number (as its decimal text), trimmed; blank counts as absent.
fn id_text(
    value: Option<Scalar>,
    index: Option<usize>,
    field: &'static str,
) -> Result<Option<String>, SegmentError> {
    match value {
        None => Ok(None),
        Some(Scalar::Str(s) | Scalar::Num(s)) => {
            let trimmed = s.trim();
            Ok(if trimmed.is_empty() {
                None
            } else if trimmed.len() == s.len() {
                Some(s)
            } else {
                Some(trimmed.to_owned())
            })
        }
        Some(Scalar::Other(kind)) => Err(invalid(
            index,
            field,
            format!("{field} must be a string or a number, not {kind}"),
        )),
    }
}

fn id<T, E: fmt::Display>(
    value: Option<Scalar>,
    index: Option<usize>,
    field: &'static str,
    parse: impl FnOnce(&str) -> Result<T, E>,
) -> Result<Option<T>, SegmentError> {
    id_text(value, index, field)?
        .map(|s| parse(&s).map_err(|e| invalid(index, field, format!("{field}: {e}"))))
        .transpose()
}

fn timestamp(
    value: Option<&Scalar>,
    index: Option<usize>,
    field: &'static str,
) -> Result<Option<Timestamp>, SegmentError> {
    match value {
        None => Ok(None),
        Some(Scalar::Str(s)) => Timestamp::parse(s)
            .map(Some)
            .map_err(|e| invalid(index, field, format!("{field}: {e}"))),
        Some(Scalar::Num(_)) => Err(invalid(
            index,
            field,
            format!("{field} must be an ISO 8601 string, not a number"),
        )),
        Some(Scalar::Other(kind)) => Err(invalid(
            index,
            field,
            format!("{field} must be an ISO 8601 string, not {kind}"),
        )),
    }
}

fn object(
    value: Option<Value>,
    index: Option<usize>,
    field: &'static str,
) -> Result<Option<Map<String, Value>>, SegmentError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(value @ Value::Object(_)) if depth(&value) > MAX_JSON_DEPTH => Err(invalid(
            index,
            field,
            format!(
                "{field} nests {} levels deep, over the limit of {MAX_JSON_DEPTH}",
                depth(&value)
            ),
        )),
        Some(Value::Object(map)) => Ok(Some(map)),
        Some(other) => Err(invalid(
            index,
            field,
            format!("{field} must be an object, not {}", json_type(&other)),
        )),
    }
}

fn parse_type(
    value: Option<&Scalar>,
    index: Option<usize>,
) -> Result<Option<MessageType>, SegmentError> {
    let Some(name) = text(value, index, "type")? else {
        return Ok(None);
    };
    let kind = match name.as_str() {
        "track" => MessageType::Track,
        "identify" => MessageType::Identify,
        "group" => MessageType::Group,
        "page" => MessageType::Page,
        "screen" => MessageType::Screen,
        "alias" => MessageType::Alias,
        _ => {
            return Err(invalid(
                index,
                "type",
                format!("type {name:?} is not one of track, identify, group, page, screen, alias"),
            ))
        }
    };
    Ok(Some(kind))
}

/// Validates one message and normalises it into the stored form.
fn normalise(wire: WireMessage, raw: &[u8], ctx: &Ctx<'_>) -> Result<SegmentMessage, SegmentError> {
    let index = ctx.index;
    let given = parse_type(wire.kind.as_ref(), index)?;
    let kind = match (ctx.forced, given) {
        (Some(forced), Some(given)) if forced != given => {
            return Err(invalid(
                index,
                "type",
                format!(
                    "type {:?} does not match the endpoint /v1/{}",
                    given.as_str(),
                    forced.as_str()
                ),
            ))
        }
        (Some(forced), _) => forced,
        (None, Some(given)) => given,
        (None, None) => return Err(invalid(index, "type", "type is required")),
    };

    let user_id = id(wire.user_id, index, "userId", UserId::parse)?;
    let anonymous_id = id(wire.anonymous_id, index, "anonymousId", AnonymousId::parse)?;
    if user_id.is_none() && anonymous_id.is_none() {
        return Err(invalid(
            index,
            "userId",
            "userId or anonymousId is required",
        ));
    }
    let event = text(wire.event.as_ref(), index, "event")?;
    if kind == MessageType::Track && event.is_none() {
        return Err(invalid(
            index,
            "event",
            "event is required for a track message",
        ));
    }
    let name = text(wire.name.as_ref(), index, "name")?;
    let group_id = id(wire.group_id, index, "groupId", AccountId::parse)?;
    if kind == MessageType::Group && group_id.is_none() {
        return Err(invalid(
            index,
            "groupId",
            "groupId is required for a group message",
        ));
    }
    let previous_id = id_text(wire.previous_id, index, "previousId")?;
    if kind == MessageType::Alias {
        if previous_id.is_none() {
            return Err(invalid(
                index,
                "previousId",
                "previousId is required for an alias message",
            ));
        }
        if user_id.is_none() {
            return Err(invalid(
                index,
                "userId",
                "userId is required for an alias message",
            ));
        }
    }

    let message_id = match id_text(wire.message_id, index, "messageId")? {
        Some(given) => {
            let chars = given.chars().count();
            if chars > MAX_MESSAGE_ID_CHARS {
                return Err(invalid(
                    index,
                    "messageId",
                    format!(
                        "messageId is {chars} characters, over the limit of {MAX_MESSAGE_ID_CHARS}"
                    ),
                ));
            }
            given
        }
        None => derived_message_id(kind, raw),
    };

    let given_timestamp = timestamp(wire.timestamp.as_ref(), index, "timestamp")?;
    let original = timestamp(wire.original_timestamp.as_ref(), index, "originalTimestamp")?;
    let sent_at = timestamp(wire.sent_at.as_ref(), index, "sentAt")?.or(ctx.sent_at);
    let base = given_timestamp.or(original);
    let stored = match (base, sent_at.filter(|_| ctx.correct_skew)) {
        (Some(t), Some(sent)) => {
            t.plus_millis(ctx.received_at.millis().saturating_sub(sent.millis()))
        }
        (Some(t), None) => t,
        (None, _) => ctx.received_at,
    };
    let stored = bound_time(stored, index, ctx)?;

    let mut context = object(wire.context, index, "context")?.unwrap_or_default();
    if let Some(shared) = ctx.context {
        for (key, value) in shared {
            if !context.contains_key(key) {
                context.insert(key.clone(), value.clone());
            }
        }
    }

    Ok(SegmentMessage {
        kind,
        message_id,
        timestamp: stored,
        received_at: ctx.received_at,
        sent_at,
        original_timestamp: base,
        anonymous_id,
        user_id,
        event,
        name,
        group_id,
        previous_id,
        context,
        properties: object(wire.properties, index, "properties")?.unwrap_or_default(),
        traits: object(wire.traits, index, "traits")?.unwrap_or_default(),
    })
}
