//! What is known about each account as a company: the attributes reports group by.
//!
//! Attributes come from `accounts.csv` rows and from `group` traits. Each value remembers the
//! log seq that set it and only a later seq replaces it, so the latest statement wins whatever
//! order entries are applied in.

use std::collections::BTreeMap;

use serde_json::Value;
use tenure_core::{AccountId, AccountRow, CompactString, Timestamp};

use crate::sorted::Sorted;

/// One account's attributes: `tier`, `industry`, `csm_owner`, `name`, `domain`, `employees`,
/// and every group trait (e.g. `onboarding_variant`), as strings: a sorted list of a handful,
/// names and most values kept in place.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Profile {
    attributes: Sorted<CompactString, (i64, CompactString)>,
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
