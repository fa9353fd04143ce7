//! Domain values of tenure.
//!
//! Everything here is a plain value that can only hold valid data: ids, normalised e-mails,
//! money in minor units, UTC instants, and [`Entry`], the one type every input becomes before it
//! is appended to the log. This crate does no I/O.

mod email;
mod entry;
mod ids;
mod money;
mod rows;
mod segment;
mod time;

pub use compact_str::CompactString;
pub use email::{Email, EmailError};
pub use entry::{Entry, EntryBody, EntryKind, Source, StoredEntry, WebhookEvent};
pub use ids::{AccountId, AnonymousId, IdError, UserId, WorkspaceId};
pub use money::{Currency, Money, MoneyError};
pub use rows::{
    AccountRow, DealKind, DealRow, DealStatus, SpendRow, SubscriptionRow, TouchpointRow,
};
pub use segment::{MessageType, SegmentMessage};
pub use time::{Timestamp, TimestampError};
