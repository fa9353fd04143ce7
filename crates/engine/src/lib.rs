//! The pure derived state of tenure: identity graph, sessions, touchpoints and channels.
//!
//! **Invariant:** this crate does no I/O, reads no clock and spawns nothing. Its only input is
//! the log, one [`tenure_core::StoredEntry`] at a time, and every figure it derives is a function
//! of the *set* of entries applied — not of their order or batching — so replaying the log
//! rebuilds exactly the state a live server holds, even when backfills bring old timestamps late.
//!
//! Code map:
//! - [`identity`]: union-find of user and anonymous ids; the person of a component.
//! - [`marketing`]: the marketing information of one page message (campaign, UTM, click ids,
//!   external referrer).
//! - [`sessions`]: page views cut into sessions; the [`Touchpoint`] type.
//! - [`channels`]: the ordered, configurable channel rules.
//! - [`ledger`]: MRR changes (by stream), deals, invoices and spend, filed by effective time.
//! - [`profiles`]: account attributes from accounts.csv and group traits.
//! - [`usage`]: product events per account (those naming none count for the sender's
//!   accounts), the activation rule.
//! - [`success`]: tickets, survey answers, account-team touches and advocacy, likewise.
//! - [`text`]: shared immutable text, for what touchpoints repeat (channels, UTM values, URLs).
//! - [`model`]: [`Model`], which ties them together entry by entry.
//! - [`snapshot`]: a model saved as bytes at a log position, to start from instead of
//!   replaying the whole log.

pub mod channels;
pub mod identity;
mod index;
pub mod ledger;
mod marketing;
pub mod model;
pub mod profiles;
pub mod sessions;
pub mod snapshot;
mod sorted;
pub mod success;
pub mod text;
pub mod usage;

pub use channels::{
    ChannelRule, ChannelSettings, Condition, ReferrerMatch, SettingsError, SourceClass,
    SourceMatch, DIRECT,
};
pub use identity::PersonId;
pub use ledger::{AccountLedger, Change, Invoice, Ledger, Stream};
pub use marketing::CLICK_IDS;
pub use model::{EngineSettings, IdentitySnapshot, Model, Snapshot, Summary, TouchGroup};
pub use profiles::{Profile, Profiles, EXPERIMENT_VIEWED};
pub use sessions::{TouchField, Touchpoint, TouchpointOrigin, TouchpointSettings, Visitor};
pub use success::{AccountSuccess, Answer, Moment, Success, SurveyKind, Ticket};
pub use text::Text;
pub use usage::{ActivationSettings, Usage, UsageRecord, RESERVED_EVENTS};
