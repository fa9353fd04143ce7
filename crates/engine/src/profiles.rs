//! What is known about each account as a company: the attributes reports group by.
//!
//! Attributes come from `accounts.csv` rows and from `group` traits. Each value remembers the
//! log seq that set it and only a later seq replaces it, so the latest statement wins whatever
//! order entries are applied in.
//!
//! Besides its attributes, an account remembers the first variant it was shown of each
//! experiment (`Experiment Viewed` tracks naming it; those naming none wait with their sender's
//! identity, see [`crate::Model::exposure`]): only the experiment's name, the variant and the
//! instant, as the experiment report reads nothing else of those events.

use std::collections::BTreeMap;

use serde_json::Value;
use tenure_core::{AccountId, AccountRow, CompactString, Timestamp};

use crate::sorted::Sorted;

/// The track that says which variant of an experiment an account was shown (Segment's A/B
/// testing spec).
pub const EXPERIMENT_VIEWED: &str = "Experiment Viewed";

/// The experiment and variant an `Experiment Viewed` track's properties name: the experiment
/// from `experiment`, else Segment's `experiment_name` or `experiment_id`; the variant from
/// `variant`, else `variation_name` or `variation_id`. None without either.
pub(crate) fn exposure_of(properties: &serde_json::Map<String, Value>) -> Option<(String, String)> {
    let first_text = |keys: &[&str]| {
        keys.iter().find_map(|k| match properties.get(*k)? {
            Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        })
    };
    Some((
        first_text(&["experiment", "experiment_name", "experiment_id"])?,
        first_text(&["variant", "variation_name", "variation_id"])?,
    ))
}

/// Per experiment, the first variant shown and when: the earliest (at one instant, the
/// smallest variant name), so that the order events arrive in cannot choose.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Exposures(Sorted<CompactString, (i64, CompactString)>);

impl Exposures {
    pub(crate) fn exposed(&mut self, experiment: &str, variant: &str, at: i64) {
        let seen = (at, CompactString::from(variant));
        let first = self
            .0
            .get_or_insert_with(CompactString::new(experiment), || seen.clone());
        if (seen.0, seen.1.as_str()) < (first.0, first.1.as_str()) {
            *first = seen;
        }
    }

    /// The first variant of `experiment` shown, and when (milliseconds).
    pub(crate) fn get(&self, experiment: &str) -> Option<(i64, &str)> {
        self.0
            .get(experiment)
            .map(|(at, variant)| (*at, variant.as_str()))
    }

    /// Moves `other`'s in, keeping the earlier of each experiment.
    pub(crate) fn absorb(&mut self, other: Exposures) {
        for (experiment, (at, variant)) in other.0.iter() {
            self.exposed(experiment, variant, *at);
        }
    }
}

/// One account's attributes: `tier`, `industry`, `csm_owner`, `name`, `domain`, `employees`,
/// and every group trait (e.g. `onboarding_variant`), as strings: a sorted list of a handful,
/// names and most values kept in place.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Profile {
    attributes: Sorted<CompactString, (i64, CompactString)>,
    /// The first variant of each experiment the account was shown by a track naming it.
    exposures: Exposures,
    pub created_at: Option<Timestamp>,
}

impl Profile {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.attributes.get(name).map(|(_, v)| v.as_str())
    }

    /// Every attribute, by name in order, with its value.
    pub fn attributes(&self) -> impl Iterator<Item = (&str, &str)> {
        self.attributes
            .iter()
            .map(|(name, (_, value))| (name.as_str(), value.as_str()))
    }

    /// The variant of `experiment` a track naming the account first showed it, and when
    /// (milliseconds).
    pub(crate) fn exposure(&self, experiment: &str) -> Option<(i64, &str)> {
        self.exposures.get(experiment)
    }

    fn set(&mut self, seq: i64, name: &str, value: String) {
        let (known, kept) = self
            .attributes
            .get_or_insert_with(CompactString::new(name), || (seq, CompactString::default()));
        if *known <= seq {
            *known = seq;
            *kept = CompactString::from(value);
        }
    }
}

#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Profiles {
    accounts: BTreeMap<AccountId, Profile>,
}

impl Profiles {
    pub(crate) fn add_row(&mut self, seq: i64, row: &AccountRow) {
        let profile = self.accounts.entry(row.account_id.clone()).or_default();
        let fields = [
            ("name", row.name.clone()),
            ("domain", row.domain.clone()),
            ("tier", row.tier.clone()),
            ("industry", row.industry.clone()),
            ("employees", row.employees.map(|e| e.to_string())),
            ("csm_owner", row.csm_owner.clone()),
        ];
        for (name, value) in fields {
            if let Some(value) = value {
                profile.set(seq, name, value);
            }
        }
        if let Some(created) = row.created_at {
            profile.created_at = Some(profile.created_at.map_or(created, |c| c.min(created)));
        }
    }

    pub(crate) fn add_traits(
        &mut self,
        seq: i64,
        account: &AccountId,
        traits: &serde_json::Map<String, Value>,
    ) {
        let profile = self.accounts.entry(account.clone()).or_default();
        for (name, value) in traits {
            let text = match value {
                Value::String(s) if !s.trim().is_empty() => s.clone(),
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                _ => continue,
            };
            profile.set(seq, name, text);
        }
    }

    /// An exposure to `experiment`'s `variant` at `at` by a track naming `account`.
    pub(crate) fn add_exposure(
        &mut self,
        account: &AccountId,
        experiment: &str,
        variant: &str,
        at: Timestamp,
    ) {
        self.accounts
            .entry(account.clone())
            .or_default()
            .exposures
            .exposed(experiment, variant, at.millis());
    }

    /// Whether a track naming an account showed a variant of `experiment`.
    pub(crate) fn has_experiment(&self, experiment: &str) -> bool {
        self.accounts
            .values()
            .any(|p| p.exposures.get(experiment).is_some())
    }

    pub fn get(&self, account: &AccountId) -> Option<&Profile> {
        self.accounts.get(account)
    }

    /// Whether any account has attribute `name` (a column of `accounts.csv` or a group trait).
    pub fn has_attribute(&self, name: &str) -> bool {
        self.accounts
            .values()
            .any(|p| p.attributes.get(name).is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_first_exposure_is_kept_whatever_order_they_arrive_in() {
        let shown = [
            ("onboarding", "guided", 2_000),
            ("onboarding", "control", 1_000),
            // At the same instant, the smaller name.
            ("onboarding", "b", 1_000),
            ("pricing", "high", 5),
        ];
        let mut forward = Exposures::default();
        let mut backward = Exposures::default();
        for (e, v, at) in shown {
            forward.exposed(e, v, at);
        }
        for (e, v, at) in shown.into_iter().rev() {
            backward.exposed(e, v, at);
        }
        // Two halves absorbed into each other, as identities merge.
        let mut first_half = Exposures::default();
        let mut second_half = Exposures::default();
        for (i, (e, v, at)) in shown.into_iter().enumerate() {
            let half = if i % 2 == 0 {
                &mut first_half
            } else {
                &mut second_half
            };
            half.exposed(e, v, at);
        }
        first_half.absorb(second_half);
        for exposures in [&forward, &backward, &first_half] {
            assert_eq!(exposures.get("onboarding"), Some((1_000, "b")));
            assert_eq!(exposures.get("pricing"), Some((5, "high")));
            assert_eq!(exposures.get("empty"), None);
        }
    }

    #[test]
    fn an_exposure_names_an_experiment_and_a_variant() {
        let of = |v: Value| exposure_of(v.as_object().unwrap());
        assert_eq!(
            of(json!({"experiment": "onboarding_v2", "variant": "guided"})),
            Some(("onboarding_v2".into(), "guided".into()))
        );
        // Segment's A/B testing names, a number as text.
        assert_eq!(
            of(json!({"experiment_name": "pricing", "variation_id": 2})),
            Some(("pricing".into(), "2".into()))
        );
        assert_eq!(of(json!({"experiment": "empty"})), None);
        assert_eq!(of(json!({"experiment": " ", "variant": "a"})), None);
    }
}
