//! What the playbooks see of an account, and what changed between two sightings.
//!
//! [`Status`] is this crate's own small picture of an account, not `tenure-reports`'
//! `AccountStatus`: the playbooks sit low in the crate graph (core and health only), and the
//! runtime converts one into the other.

use std::collections::BTreeMap;

use serde::Serialize;
use tenure_core::{AccountId, Timestamp};
use tenure_health::Band;

pub use tenure_health::MILESTONES;

/// The dates of an account a calendar trigger can count from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountDate {
    /// The end of the current contract.
    ContractEnd,
    /// The next renewal date, where it differs from the contract's end (a CRM's own date).
    Renewal,
    /// The conversion (SPEC §3): the first MRR > 0 or won new-business deal.
    Conversion,
    /// The first activation.
    Activated,
    /// When the account was created in the CRM (`accounts.csv`'s `created_at`).
    Created,
}

impl AccountDate {
    pub const ALL: [AccountDate; 5] = [
        AccountDate::ContractEnd,
        AccountDate::Renewal,
        AccountDate::Conversion,
        AccountDate::Activated,
        AccountDate::Created,
    ];

    pub fn name(self) -> &'static str {
        match self {
            AccountDate::ContractEnd => "contract_end",
            AccountDate::Renewal => "renewal",
            AccountDate::Conversion => "conversion",
            AccountDate::Activated => "activated",
            AccountDate::Created => "created",
        }
    }

    pub fn parse(name: &str) -> Option<AccountDate> {
        AccountDate::ALL.into_iter().find(|d| d.name() == name)
    }
}

/// Who the account is, for the filters: CRM fields and any other trait.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Profile {
    pub tier: Option<String>,
    pub segment: Option<String>,
    pub plan: Option<String>,
    pub owner: Option<String>,
    /// The channel of the touchpoint credited with the conversion.
    pub channel: Option<String>,
    /// Every other trait, as text.
    pub traits: BTreeMap<String, String>,
}

/// One account at one instant, as the playbooks need it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Status {
    pub account: AccountId,
    pub at: Timestamp,
    pub stage: Option<String>,
    /// Since when the account has been in `stage` (the transition's time): the instant of a
    /// `stage_entered` change, and how `for_days` counts a stage.
    pub stage_since: Option<Timestamp>,
    pub band: Option<Band>,
    /// Since when the account has had `band`.
    pub band_since: Option<Timestamp>,
    /// The signals that hold, by name, with when each started.
    pub signals: BTreeMap<String, Timestamp>,
    /// The milestones reached, by name (one of [`MILESTONES`]), with when.
    pub milestones: BTreeMap<String, Timestamp>,
    pub profile: Profile,
    /// Churned and not paying: playbooks leave such accounts alone unless they ask for them.
    pub churned: bool,
    /// The dates calendar triggers count from; a date the account lacks is absent.
    pub dates: BTreeMap<AccountDate, Timestamp>,
}

impl Status {
    /// An account known by id only, at `at`: the start of a status built field by field.
    pub fn new(account: AccountId, at: Timestamp) -> Status {
        Status {
            account,
            at,
            stage: None,
            stage_since: None,
            band: None,
            band_since: None,
            signals: BTreeMap::new(),
            milestones: BTreeMap::new(),
            profile: Profile::default(),
            churned: false,
            dates: BTreeMap::new(),
        }
    }
}

/// Something that happened to an account: what change triggers fire on.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum Change {
    SignalRaised {
        signal: String,
        started_at: Timestamp,
    },
    /// `started_at` is the start of the signal that ended, which tells one episode of a
    /// signal from the next.
    SignalCleared {
        signal: String,
        started_at: Timestamp,
        at: Timestamp,
    },
    StageEntered {
        stage: String,
        at: Timestamp,
    },
    StageLeft {
        stage: String,
        at: Timestamp,
    },
    MilestoneReached {
        milestone: String,
        at: Timestamp,
    },
    /// A track event (the runtime makes these from the log, not from statuses).
    Event {
        name: String,
        /// The Segment `messageId`, unique per event.
        message_id: String,
        at: Timestamp,
        properties: serde_json::Map<String, serde_json::Value>,
    },
    /// The SLA of a handoff passed without its owner acting (the runtime makes these from the
    /// store's owner changes, not from statuses). `handed_at` is the handoff's time, which
    /// tells one handoff of the account from the next.
    SlaBreached {
        team: String,
        owner: Option<String>,
        handed_at: Timestamp,
        sla_due: Timestamp,
    },
}

impl Change {
    /// When it happened.
    pub fn at(&self) -> Timestamp {
        match self {
            Change::SignalRaised { started_at, .. } => *started_at,
            Change::SignalCleared { at, .. }
            | Change::StageEntered { at, .. }
            | Change::StageLeft { at, .. }
            | Change::MilestoneReached { at, .. }
            | Change::Event { at, .. } => *at,
            Change::SlaBreached { sla_due, .. } => *sla_due,
        }
    }

    /// A text naming this change and no other of the account, built only from the change's
    /// own facts (never from when it was seen), so that replaying the log sees the same change
    /// under the same identity: a signal by its start, a stage change by its time, an event by
    /// its message id.
    pub fn identity(&self) -> String {
        match self {
            Change::SignalRaised { signal, started_at } => {
                format!("signal_raised:{signal}@{started_at}")
            }
            Change::SignalCleared {
                signal, started_at, ..
            } => format!("signal_cleared:{signal}@{started_at}"),
            Change::StageEntered { stage, at } => format!("stage_entered:{stage}@{at}"),
            Change::StageLeft { stage, at } => format!("stage_left:{stage}@{at}"),
            Change::MilestoneReached { milestone, at } => format!("milestone:{milestone}@{at}"),
            Change::Event { message_id, .. } => format!("event:{message_id}"),
            Change::SlaBreached {
                team, handed_at, ..
            } => format!("sla_breached:{team}@{handed_at}"),
        }
    }
}

/// What changed from `before` to `after`, two statuses of one account: signals raised and
/// cleared, the stage left and entered, milestones reached, in that order.
///
/// Without a `before` (the first status known of the account) everything in `after` is new.
/// A signal whose start moved is one episode cleared and another raised. A stage change is
/// dated by `after.stage_since` (else `after.at`), so that the same transition seen twice, or
/// in a replay, is the same change.
pub fn changes(before: Option<&Status>, after: &Status) -> Vec<Change> {
    let mut out = Vec::new();
    let no_signals = BTreeMap::new();
    let old_signals = before.map_or(&no_signals, |b| &b.signals);
    for (signal, started_at) in &after.signals {
        if old_signals.get(signal) != Some(started_at) {
            out.push(Change::SignalRaised {
                signal: signal.clone(),
                started_at: *started_at,
            });
        }
    }
    for (signal, started_at) in old_signals {
        if after.signals.get(signal) != Some(started_at) {
            out.push(Change::SignalCleared {
                signal: signal.clone(),
                started_at: *started_at,
                at: after.at,
            });
        }
    }
    let old_stage = before.and_then(|b| b.stage.as_ref());
    if old_stage != after.stage.as_ref() {
        let at = after.stage_since.unwrap_or(after.at);
        if let Some(stage) = old_stage {
            out.push(Change::StageLeft {
                stage: stage.clone(),
                at,
            });
        }
        if let Some(stage) = &after.stage {
            out.push(Change::StageEntered {
                stage: stage.clone(),
                at,
            });
        }
    }
    for (milestone, at) in &after.milestones {
        if before.is_none_or(|b| !b.milestones.contains_key(milestone)) {
            out.push(Change::MilestoneReached {
                milestone: milestone.clone(),
                at: *at,
            });
        }
    }
    out
}
