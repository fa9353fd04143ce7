//! Playbooks of tenure (SPEC §5): *when* something happens to an account (a change, a state
//! held, a date reached), *for whom*, *do* one or more actions, *at most once per* period.
//!
//! This crate holds the configuration of `[[playbooks]]`, `[[destinations]]` and
//! `[playbook_settings]`, validated with errors that name the key, and the decisions made on
//! it: what changed between two statuses of an account ([`changes`]), whether a playbook's
//! conditions hold and why ([`matches`]), whether it fires and under which key ([`fires`]),
//! and when each action is due ([`schedule`], [`QuietHours::next_allowed`]).
//!
//! **Architecture invariant:** pure functions of their arguments. No I/O, no clock (every
//! instant is given), no async, no engine or report types: the runtime converts an account's
//! status into a [`Status`], reads earlier firings from the store, and delivers. So a replay of
//! the log decides exactly what the live path decided.

mod action;
mod config;
mod filter;
mod firing;
mod quiet_hours;
mod routing;
mod schedule;
mod span;
mod status;
mod trigger;

pub use action::{
    check_template, render_template, Action, Email, Handoff, HandoffConfig, OwnerFrom, Slack, Step,
    StepConfig, Task, TaskConfig, Webhook, TEMPLATE_ROOTS,
};
pub use config::{
    Destination, DestinationKind, Limit, LimitConfig, OnEnable, Playbook, PlaybookConfig,
    PlaybookSettings, Playbooks, PlaybooksConfig, Vocabulary,
};
pub use filter::{Check, Filter, Values};
pub use firing::{fires, matches, Firing, FiringKey, Match, Occasion, Period};
pub use quiet_hours::{QuietHours, QuietHoursConfig};
pub use routing::{route, stable_hash, OwnerRule, Route, RouteConfig, Routed};
pub use schedule::schedule;
pub use span::Span;
pub use status::{changes, AccountDate, Change, Profile, Status, MILESTONES};
pub use trigger::{
    CalendarRule, PropertyCondition, PropertyTest, Scalar, Trigger, TriggerConfig, WhereConfig,
    ANY_TEAM, CALENDAR_GRACE_DAYS, SLA_BREACH_GRACE_DAYS,
};

/// Why the playbook configuration cannot be used: the key (`playbooks[2].trigger.signal_raised`)
/// and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {message}")]
pub struct PlaybookError {
    pub key: String,
    pub message: String,
}

impl PlaybookError {
    pub(crate) fn new(key: String, message: String) -> PlaybookError {
        PlaybookError { key, message }
    }
}
