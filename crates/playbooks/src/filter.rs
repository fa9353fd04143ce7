//! For whom a playbook acts: filters on who the account is and where it stands.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};

use crate::config::Vocabulary;
use crate::status::Status;
use crate::PlaybookError;

/// The values a filter field accepts: one (`tier = "enterprise"`) or any of several
/// (`tier = ["enterprise", "mid_market"]`). Empty: the field does not filter.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Values(pub Vec<String>);

impl<'de> Deserialize<'de> for Values {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged, expecting = "a text or a list of texts")]
        enum OneOrMany {
            One(String),
            Many(Vec<String>),
        }
        Ok(match OneOrMany::deserialize(deserializer)? {
            OneOrMany::One(one) => Values(vec![one]),
            OneOrMany::Many(many) => Values(many),
        })
    }
}

impl Values {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn admits(&self, value: Option<&str>) -> bool {
        value.is_some_and(|v| self.0.iter().any(|w| w == v))
    }
}

/// `for_whom` (and a `state` trigger's condition): every field given must hold, and a field
/// holds when the account's value is any of those listed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Filter {
    #[serde(skip_serializing_if = "Values::is_empty")]
    pub tier: Values,
    #[serde(skip_serializing_if = "Values::is_empty")]
    pub segment: Values,
    #[serde(skip_serializing_if = "Values::is_empty")]
    pub plan: Values,
    #[serde(skip_serializing_if = "Values::is_empty")]
    pub owner: Values,
    #[serde(skip_serializing_if = "Values::is_empty")]
    pub channel: Values,
    /// `green`, `yellow`, `red`.
    #[serde(skip_serializing_if = "Values::is_empty")]
    pub band: Values,
    #[serde(skip_serializing_if = "Values::is_empty")]
    pub stage: Values,
    /// Any of these signals holds.
    #[serde(skip_serializing_if = "Values::is_empty")]
    pub signal: Values,
    /// Every one of these milestones has been reached.
    #[serde(skip_serializing_if = "Values::is_empty")]
    pub reached: Values,
    /// None of these milestones has been reached (`not_reached = "activated"`: activation
    /// missed).
    #[serde(skip_serializing_if = "Values::is_empty")]
    pub not_reached: Values,
    /// Any trait of the account's profile, by name.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub traits: BTreeMap<String, Values>,
    /// Churned accounts are left alone unless this says otherwise.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub include_churned: bool,
}

/// One condition of a playbook checked against an account: what was asked, whether it held,
/// and what the account had, for the dry-run that shows one account step by step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    pub condition: String,
    pub held: bool,
    pub found: String,
}

fn shown(value: Option<&str>) -> String {
    value.map_or_else(|| "none".to_owned(), str::to_owned)
}

impl Filter {
    /// Checks every value against what exists, naming the key (`key` is the filter's own,
    /// e.g. `playbooks[0].for_whom`).
    pub(crate) fn validate(&self, key: &str, vocabulary: &Vocabulary) -> Result<(), PlaybookError> {
        let known = |field: &str, values: &Values, what: &str, list: &[&str]| {
            for v in &values.0 {
                if !list.contains(&v.as_str()) {
                    return Err(PlaybookError::new(
                        format!("{key}.{field}"),
                        format!("unknown {what} {v:?} ({what}s: {})", list.join(", ")),
                    ));
                }
            }
            Ok(())
        };
        known("band", &self.band, "band", &["green", "yellow", "red"])?;
        let stages: Vec<&str> = vocabulary.stages.iter().map(String::as_str).collect();
        known("stage", &self.stage, "stage", &stages)?;
        known("signal", &self.signal, "signal", &vocabulary.signals())?;
        known("reached", &self.reached, "milestone", crate::MILESTONES)?;
        known(
            "not_reached",
            &self.not_reached,
            "milestone",
            crate::MILESTONES,
        )?;
        for (field, values) in self.fields() {
            if values.0.iter().any(|v| v.trim().is_empty()) {
                return Err(PlaybookError::new(
                    format!("{key}.{field}"),
                    "an empty value matches no account; remove it".into(),
                ));
            }
        }
        Ok(())
    }

    fn fields(&self) -> impl Iterator<Item = (String, &Values)> {
        [
            ("tier", &self.tier),
            ("segment", &self.segment),
            ("plan", &self.plan),
            ("owner", &self.owner),
            ("channel", &self.channel),
        ]
        .into_iter()
        .map(|(f, v)| (f.to_owned(), v))
        .chain(self.traits.iter().map(|(t, v)| (format!("traits.{t}"), v)))
    }

    /// Whether each given condition holds for `status`, in the order of the fields.
    pub fn checks(&self, status: &Status) -> Vec<Check> {
        let mut out = Vec::new();
        let mut one = |field: &str, values: &Values, value: Option<&str>| {
            if !values.is_empty() {
                out.push(Check {
                    condition: format!("{field} is {}", values.0.join(" or ")),
                    held: values.admits(value),
                    found: shown(value),
                });
            }
        };
        let p = &status.profile;
        one("tier", &self.tier, p.tier.as_deref());
        one("segment", &self.segment, p.segment.as_deref());
        one("plan", &self.plan, p.plan.as_deref());
        one("owner", &self.owner, p.owner.as_deref());
        one("channel", &self.channel, p.channel.as_deref());
        one("band", &self.band, status.band.map(|b| b.name()));
        one("stage", &self.stage, status.stage.as_deref());
        for (name, values) in &self.traits {
            one(
                &format!("traits.{name}"),
                values,
                p.traits.get(name).map(String::as_str),
            );
        }
        let held_signals = || {
            let names: Vec<&str> = status.signals.keys().map(String::as_str).collect();
            if names.is_empty() {
                "none".to_owned()
            } else {
                names.join(", ")
            }
        };
        if !self.signal.is_empty() {
            out.push(Check {
                condition: format!("signal {} holds", self.signal.0.join(" or ")),
                held: self.signal.0.iter().any(|s| status.signals.contains_key(s)),
                found: held_signals(),
            });
        }
        let reached = || {
            let names: Vec<&str> = status.milestones.keys().map(String::as_str).collect();
            if names.is_empty() {
                "none reached".to_owned()
            } else {
                names.join(", ")
            }
        };
        for m in &self.reached.0 {
            out.push(Check {
                condition: format!("milestone {m} reached"),
                held: status.milestones.contains_key(m),
                found: reached(),
            });
        }
        for m in &self.not_reached.0 {
            out.push(Check {
                condition: format!("milestone {m} not reached"),
                held: !status.milestones.contains_key(m),
                found: reached(),
            });
        }
        out
    }

    /// Since when every condition of this filter has held for `status`: the latest start among
    /// the conditions that have one (the stage's, the band's, the signal's); `None` when the
    /// filter does not hold. Conditions on who the account is (tier, traits…) carry no start of
    /// their own and count as holding since ever, so a filter only on them holds since
    /// [`Timestamp::MIN`](tenure_core::Timestamp::MIN).
    pub fn held_since(&self, status: &Status) -> Option<tenure_core::Timestamp> {
        if !self.checks(status).iter().all(|c| c.held) {
            return None;
        }
        let mut since = tenure_core::Timestamp::MIN;
        if !self.stage.is_empty() {
            since = since.max(status.stage_since.unwrap_or(status.at));
        }
        if !self.band.is_empty() {
            since = since.max(status.band_since.unwrap_or(status.at));
        }
        if !self.signal.is_empty() {
            // The earliest start among the listed signals that hold: "any of" has held since
            // the first of them began.
            let start = self
                .signal
                .0
                .iter()
                .filter_map(|s| status.signals.get(s))
                .min()
                .copied()
                .unwrap_or(status.at);
            since = since.max(start);
        }
        for m in &self.reached.0 {
            if let Some(at) = status.milestones.get(m) {
                since = since.max(*at);
            }
        }
        Some(since)
    }
}
