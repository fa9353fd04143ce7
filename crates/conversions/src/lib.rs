//! Conversions back to the ad platforms (SPEC §5, issue 18): the lifecycle milestones an
//! account reaches (converted, activated, retained 90 days, renewed, expanded, a stage
//! entered, a playbook fired), sent with a value (initial ARR, realized revenue, expansion
//! ARR, predicted LTV, a fixed amount) to Meta, Google, LinkedIn or a webhook, so that their
//! bidding learns from revenue rather than from sign-ups.
//!
//! This crate decides; it sends nothing:
//! - [`rule`]: `[[conversions]]`, checked against the destinations, stages and playbooks;
//! - [`occurrences`]: each time an account reached a rule's milestone, named from the facts
//!   alone and valued as the reports value the account, and [`event_id`], the conversion's
//!   id on every platform, derived from (workspace, rule, account, occurrence);
//! - [`adjustment`]: when a conversion sent must be restated or retracted, under the rules
//!   Google applies without saying so.
//!
//! **Architecture invariant:** pure functions of their arguments, no I/O and no clock, like
//! the playbooks: the runtime reads the histories and the firings already recorded, records
//! what these functions decide in the outbox under each conversion's key, and the
//! destinations deliver. So a retry, a replay or a restart sends the same conversion, once.

pub mod adjustment;
pub mod occurrence;
pub mod rule;

pub use adjustment::{adjustment, Adjustment, Sent};
pub use occurrence::{churn_within, event_id, occurrences, History, Occurrence};
pub use rule::{
    default_click_window_days, is_conversion, validate, ConversionConfig, Known, Milestone, Rule,
    Send, SendConfig, ValueKind, FIRING_PREFIX,
};

/// Why `[[conversions]]` cannot be used: the key (`conversions[1].send[0].as`) and what is
/// wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {message}")]
pub struct ConversionError {
    pub key: String,
    pub message: String,
}

impl ConversionError {
    pub(crate) fn new(key: String, message: String) -> ConversionError {
        ConversionError { key, message }
    }
}

#[cfg(test)]
mod tests;
