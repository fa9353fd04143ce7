//! `[[routing]]`: who takes an account over when a playbook hands it off.
//!
//! A rule is conditions on the account (a `for_whom` filter) and the owner it gives, within
//! its team. A handoff naming a team tries that team's rules in order; a handoff without a team
//! tries every rule in order, so the rules choose the team too (PQL/MQL/SQL → sales, converted
//! → CS). The first rule whose conditions hold and that finds an owner decides.
//!
//! The owner is chosen by one of three methods, each a pure function of the account, so two
//! servers, a restart and a replay choose the same owner:
//! - `owner`: one fixed owner;
//! - `owner_trait`: the value of one of the account's traits (`csm_owner`); an account without
//!   the trait passes on to the next rule;
//! - `round_robin`: one of a list, spread evenly by a stable hash of the account id (64-bit
//!   FNV-1a, modulo the list's length). Not a counter: a counter would differ between two
//!   servers and between the live path and a replay.

use serde::{Deserialize, Serialize};

use crate::config::Vocabulary;
use crate::filter::Filter;
use crate::status::Status;
use crate::PlaybookError;

/// `[[routing]]` as written: a name, a team, conditions, and exactly one of `owner`,
/// `owner_trait`, `round_robin`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteConfig {
    pub name: String,
    pub team: String,
    #[serde(default)]
    pub when: Filter,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_trait: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub round_robin: Option<Vec<String>>,
}

/// How a rule chooses the owner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OwnerRule {
    Fixed(String),
    Trait(String),
    RoundRobin(Vec<String>),
}

impl OwnerRule {
    /// The method's name, as a handoff's payload records it.
    pub fn method(&self) -> &'static str {
        match self {
            OwnerRule::Fixed(_) => "owner",
            OwnerRule::Trait(_) => "owner_trait",
            OwnerRule::RoundRobin(_) => "round_robin",
        }
    }

    /// The owner for the account of `status`; `None` when a trait rule finds no such trait.
    pub fn owner(&self, status: &Status) -> Option<String> {
        match self {
            OwnerRule::Fixed(owner) => Some(owner.clone()),
            OwnerRule::Trait(name) => status
                .profile
                .traits
                .get(name)
                .filter(|v| !v.trim().is_empty())
                .cloned(),
            OwnerRule::RoundRobin(owners) => {
                let i = stable_hash(status.account.as_str()) % owners.len() as u64;
                Some(owners[i as usize].clone())
            }
        }
    }
}

/// A routing rule, validated.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Route {
    pub name: String,
    pub team: String,
    pub when: Filter,
    pub owner: OwnerRule,
}

/// What routing chose for one account: the team, the owner (none: the team's queue) and the
/// rule that chose them (none: no rule held, the handoff's own team's queue).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Routed {
    pub team: String,
    pub owner: Option<String>,
    pub rule: Option<String>,
    /// `owner`, `owner_trait`, `round_robin`, or `queue` when no rule chose.
    pub method: &'static str,
}

/// 64-bit FNV-1a: fixed by its definition, the same on every platform and in every release
/// (unlike `std`'s hashers, whose output may change).
pub fn stable_hash(text: &str) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in text.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// Routes the account of `status` for a handoff to `team` (none: the rules choose the team):
/// the first rule of that team (of any team) whose conditions hold and that finds an owner.
/// Without one, a handoff with a team goes to the team's queue; one without a team is not
/// routed (`None`).
pub fn route(routes: &[Route], team: Option<&str>, status: &Status) -> Option<Routed> {
    let chosen = routes
        .iter()
        .filter(|r| team.is_none_or(|t| t == r.team))
        .filter(|r| r.when.checks(status).iter().all(|c| c.held))
        .find_map(|r| {
            r.owner.owner(status).map(|owner| Routed {
                team: r.team.clone(),
                owner: Some(owner),
                rule: Some(r.name.clone()),
                method: r.owner.method(),
            })
        });
    chosen.or_else(|| {
        team.map(|t| Routed {
            team: t.to_owned(),
            owner: None,
            rule: None,
            method: "queue",
        })
    })
}

impl RouteConfig {
    pub(crate) fn validate(
        &self,
        key: &str,
        vocabulary: &Vocabulary,
    ) -> Result<Route, PlaybookError> {
        let err =
            |field: &str, message: String| PlaybookError::new(format!("{key}.{field}"), message);
        if !crate::config::is_name(&self.name) {
            return Err(err(
                "name",
                format!(
                    "{:?} is not a rule name: use lowercase letters, digits and _",
                    self.name
                ),
            ));
        }
        if self.team.trim().is_empty() {
            return Err(err(
                "team",
                "name the team this rule routes to, e.g. \"sales\"".into(),
            ));
        }
        self.when.validate(&format!("{key}.when"), vocabulary)?;
        if self.when.include_churned {
            return Err(err(
                "when.include_churned",
                "routing applies to every account a handoff names, churned or not; remove it"
                    .into(),
            ));
        }
        let mut methods = Vec::new();
        if let Some(owner) = &self.owner {
            if owner.trim().is_empty() {
                return Err(err("owner", "name the owner, e.g. \"ana@acme.io\"".into()));
            }
            methods.push(OwnerRule::Fixed(owner.clone()));
        }
        if let Some(name) = &self.owner_trait {
            if name.trim().is_empty() {
                return Err(err(
                    "owner_trait",
                    "name the account trait holding the owner, e.g. \"csm_owner\"".into(),
                ));
            }
            methods.push(OwnerRule::Trait(name.trim().to_owned()));
        }
        if let Some(owners) = &self.round_robin {
            if owners.is_empty() {
                return Err(err(
                    "round_robin",
                    "list the owners to spread accounts over, e.g. [\"ana@acme.io\", \"bo@acme.io\"]"
                        .into(),
                ));
            }
            if let Some(i) = owners.iter().position(|o| o.trim().is_empty()) {
                return Err(err(
                    &format!("round_robin[{i}]"),
                    "an empty owner; remove it".into(),
                ));
            }
            methods.push(OwnerRule::RoundRobin(owners.clone()));
        }
        if methods.len() != 1 {
            return Err(PlaybookError::new(
                key.to_owned(),
                format!(
                    "give exactly one of owner, owner_trait, round_robin (found {})",
                    if methods.is_empty() {
                        "none".to_owned()
                    } else {
                        methods
                            .iter()
                            .map(OwnerRule::method)
                            .collect::<Vec<_>>()
                            .join(", ")
                    }
                ),
            ));
        }
        Ok(Route {
            name: self.name.clone(),
            team: self.team.trim().to_owned(),
            when: self.when.clone(),
            owner: methods.remove(0),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tenure_core::{AccountId, Timestamp};

    fn account(id: &str, traits: &[(&str, &str)]) -> Status {
        let mut s = Status::new(AccountId::parse(id).unwrap(), Timestamp::from_millis(0));
        s.stage = Some("onboarding".into());
        for (k, v) in traits {
            s.profile.traits.insert((*k).into(), (*v).into());
        }
        s
    }

    fn rule(name: &str, team: &str, when: Filter, owner: OwnerRule) -> Route {
        Route {
            name: name.into(),
            team: team.into(),
            when,
            owner,
        }
    }

    #[test]
    fn the_hash_is_fnv_1a() {
        // The published test vectors of 64-bit FNV-1a.
        assert_eq!(stable_hash(""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(stable_hash("a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(stable_hash("foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn the_first_rule_that_holds_and_finds_an_owner_decides() {
        let onboarding = Filter {
            stage: crate::Values(vec!["onboarding".into()]),
            ..Filter::default()
        };
        let routes = vec![
            rule(
                "named_csm",
                "cs",
                onboarding.clone(),
                OwnerRule::Trait("csm_owner".into()),
            ),
            rule(
                "pool",
                "cs",
                onboarding,
                OwnerRule::RoundRobin(vec!["a@x".into(), "b@x".into(), "c@x".into()]),
            ),
            rule(
                "sales",
                "sales",
                Filter::default(),
                OwnerRule::Fixed("ae@x".into()),
            ),
        ];
        let named = account("acct_1", &[("csm_owner", "maria@x")]);
        let routed = route(&routes, Some("cs"), &named).unwrap();
        assert_eq!(routed.owner.as_deref(), Some("maria@x"));
        assert_eq!(routed.rule.as_deref(), Some("named_csm"));
        assert_eq!(routed.method, "owner_trait");

        // Without the trait: on to the round robin, by the account id's hash.
        let unnamed = account("acct_2", &[]);
        let routed = route(&routes, Some("cs"), &unnamed).unwrap();
        let pool = ["a@x", "b@x", "c@x"];
        let expected = pool[(stable_hash("acct_2") % 3) as usize];
        assert_eq!(routed.owner.as_deref(), Some(expected));
        assert_eq!(routed.rule.as_deref(), Some("pool"));
        // The same account, routed again (another server, a replay): the same owner.
        assert_eq!(route(&routes, Some("cs"), &unnamed).unwrap(), routed);

        // Without a team: every rule in order; with a team only its own.
        let mut prospect = account("acct_3", &[]);
        prospect.stage = None;
        let routed = route(&routes, None, &prospect).unwrap();
        assert_eq!(
            (routed.team.as_str(), routed.owner.as_deref()),
            ("sales", Some("ae@x"))
        );
        let queued = route(&routes, Some("cs"), &prospect).unwrap();
        assert_eq!(
            (
                queued.team.as_str(),
                queued.owner,
                queued.rule,
                queued.method
            ),
            ("cs", None, None, "queue")
        );
        assert_eq!(route(&routes[..2], None, &prospect), None);
    }

    #[test]
    fn a_round_robin_spreads_accounts_over_every_owner() {
        let pool = OwnerRule::RoundRobin(vec!["a".into(), "b".into(), "c".into()]);
        let mut counts = std::collections::BTreeMap::new();
        for i in 0..300 {
            let owner = pool.owner(&account(&format!("acct_{i}"), &[])).unwrap();
            *counts.entry(owner).or_insert(0) += 1;
        }
        assert_eq!(counts.len(), 3, "{counts:?}");
        assert!(counts.values().all(|n| *n > 60), "{counts:?}");
    }
}
