//! Channels: the ordered rules that name the channel of a touchpoint (SPEC §2.2).
//!
//! The rules are data, not code, so a workspace can replace them from its TOML config and the
//! defaults read the same as the spec's list. A rule matches if ANY of its `when` conditions
//! matches; a condition matches if ALL of its fields match; the first matching rule wins and a
//! touchpoint no rule claims is `direct`. Offline rows do not go through the rules: they keep
//! their `channel` column, else their `kind` is mapped (`offline_kinds`).
//!
//! Source and medium are compared case-insensitively; the values themselves are kept as given
//! on the touchpoint.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::marketing::{self, Marketing, CLICK_IDS};

/// The channel of a touchpoint that no rule claims: a session without marketing information.
pub const DIRECT: &str = "direct";

/// Why settings were rejected; the message names the rule index and the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{location}: {problem}")]
pub struct SettingsError {
    /// Where, as a TOML path such as `channels.rules[2].when[0].click_id`.
    pub location: String,
    pub problem: String,
}

impl SettingsError {
    fn new(location: impl Into<String>, problem: impl Into<String>) -> Self {
        Self {
            location: location.into(),
            problem: problem.into(),
        }
    }
}

/// How channels are named: ordered rules plus the lists the rules refer to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ChannelSettings {
    /// Tried in order; the first rule with a matching condition names the channel.
    pub rules: Vec<ChannelRule>,
    /// Registrable-domain names (and `utm_source` values) of search engines.
    pub search_engines: Vec<String>,
    /// Registrable-domain names (and `utm_source` values) of social networks.
    pub social_networks: Vec<String>,
    /// Whole registrable domains that are social networks although their name says nothing
    /// (the link shorteners `t.co`, `lnkd.in`).
    pub social_domains: Vec<String>,
    /// The channel of an offline row without a `channel` column, by its `kind` (lowercased).
    pub offline_kinds: BTreeMap<String, String>,
    /// The channel of an offline row whose kind is missing or not in `offline_kinds`.
    pub offline_default: String,
}

/// One channel and the conditions that lead to it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelRule {
    pub channel: String,
    /// The rule matches if any of these matches.
    pub when: Vec<Condition>,
}

/// A conjunction: every field that is set must match.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Condition {
    /// The page URL carries one of these click ids.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub click_id: Option<Vec<String>>,
    /// The medium is one of these.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub medium: Option<Vec<String>>,
    /// The medium is absent or none of these.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub medium_not: Option<Vec<String>>,
    /// The source is one of these names, or a search engine / social network.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<SourceMatch>,
    /// The page has an external referrer of this class.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub referrer: Option<ReferrerMatch>,
    /// `true`: the touchpoint has any marketing information; `false`: it has none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub marketing: Option<bool>,
}

/// `source = "search"`, `source = "social"` or `source = ["newsletter", "partner_x"]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum SourceMatch {
    Class(SourceClass),
    Names(Vec<String>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceClass {
    /// One of `search_engines`.
    Search,
    /// One of `social_networks` or `social_domains`.
    Social,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReferrerMatch {
    /// An external referrer on a search engine.
    Search,
    /// An external referrer on a social network.
    Social,
    /// Any external referrer.
    External,
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

const PAID: &[&str] = &["cpc", "ppc", "paid", "paidsearch", "paid_search", "sem"];

fn rule(channel: &str, when: Vec<Condition>) -> ChannelRule {
    ChannelRule {
        channel: channel.to_owned(),
        when,
    }
}

fn click(ids: &[&str]) -> Condition {
    Condition {
        click_id: Some(strings(ids)),
        ..Condition::default()
    }
}

fn medium(values: &[&str]) -> Condition {
    Condition {
        medium: Some(strings(values)),
        ..Condition::default()
    }
}

fn referrer(class: ReferrerMatch) -> Condition {
    Condition {
        referrer: Some(class),
        ..Condition::default()
    }
}

impl Default for ChannelSettings {
    /// The rules of SPEC §2.2, in its order.
    fn default() -> Self {
        let paid_social: Vec<&str> = PAID
            .iter()
            .copied()
            .chain(["paid_social", "paidsocial", "social_paid"])
            .collect();
        let rules = vec![
            rule(
                "paid_search",
                vec![
                    click(&["gclid", "gbraid", "wbraid", "msclkid"]),
                    Condition {
                        source: Some(SourceMatch::Class(SourceClass::Search)),
                        ..medium(PAID)
                    },
                ],
            ),
            rule(
                "paid_social",
                vec![
                    click(&["li_fat_id"]),
                    Condition {
                        medium_not: Some(strings(&["social", "organic", "organic_social"])),
                        ..click(&["fbclid"])
                    },
                    Condition {
                        source: Some(SourceMatch::Class(SourceClass::Social)),
                        ..medium(&paid_social)
                    },
                ],
            ),
            rule("display", vec![medium(&["display", "banner", "cpm"])]),
            rule("email", vec![medium(&["email", "e-mail", "newsletter"])]),
            rule("affiliate", vec![medium(&["affiliate"])]),
            rule(
                "organic_search",
                vec![
                    referrer(ReferrerMatch::Search),
                    Condition {
                        source: Some(SourceMatch::Class(SourceClass::Search)),
                        ..medium(&["organic"])
                    },
                ],
            ),
            rule(
                "organic_social",
                vec![
                    referrer(ReferrerMatch::Social),
                    medium(&["social", "organic_social"]),
                ],
            ),
            rule(
                "referral",
                vec![referrer(ReferrerMatch::External), medium(&["referral"])],
            ),
            rule(
                "other",
                vec![Condition {
                    marketing: Some(true),
                    ..Condition::default()
                }],
            ),
        ];
        let offline_kinds = [
            ("event", "events"),
            ("webinar", "events"),
            ("outbound", "outbound"),
            ("partner", "partner"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        Self {
            rules,
            search_engines: strings(&[
                "google",
                "bing",
                "yahoo",
                "duckduckgo",
                "baidu",
                "yandex",
                "ecosia",
            ]),
            social_networks: strings(&[
                "facebook",
                "instagram",
                "meta",
                "fb",
                "ig",
                "linkedin",
                "twitter",
                "x",
                "reddit",
                "youtube",
                "tiktok",
                "pinterest",
            ]),
            social_domains: strings(&["t.co", "lnkd.in"]),
            offline_kinds,
            offline_default: "other".to_owned(),
        }
    }
}

/// What the rules look at, derived once per touchpoint.
struct Facts<'a> {
    source: Option<&'a str>,
    medium: Option<&'a str>,
    click_id: Option<&'a str>,
    referrer: Option<Referrer>,
    marketing: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Referrer {
    Search,
    Social,
    Other,
}

fn contains(list: &[String], value: &str) -> bool {
    list.iter()
        .any(|item| item.trim().eq_ignore_ascii_case(value.trim()))
}

impl ChannelSettings {
    /// Rejects rules that cannot mean what their author wanted: no channel name, no
    /// condition, an empty condition (it would match everything), an empty list, an unknown
    /// click id.
    pub fn validate(&self) -> Result<(), SettingsError> {
        for (r, rule) in self.rules.iter().enumerate() {
            let at = format!("channels.rules[{r}]");
            if rule.channel.trim().is_empty() {
                return Err(SettingsError::new(
                    format!("{at}.channel"),
                    "channel name is empty",
                ));
            }
            if rule.when.is_empty() {
                return Err(SettingsError::new(
                    format!("{at}.when"),
                    format!("rule {:?} has no condition", rule.channel),
                ));
            }
            for (w, cond) in rule.when.iter().enumerate() {
                cond.validate(&format!("{at}.when[{w}]"))?;
            }
        }
        for (field, list) in [
            ("search_engines", &self.search_engines),
            ("social_networks", &self.social_networks),
            ("social_domains", &self.social_domains),
        ] {
            if list.iter().any(|s| s.trim().is_empty()) {
                return Err(SettingsError::new(
                    format!("channels.{field}"),
                    "contains an empty name",
                ));
            }
        }
        for (kind, channel) in &self.offline_kinds {
            if kind.trim().is_empty() || channel.trim().is_empty() {
                return Err(SettingsError::new(
                    "channels.offline_kinds",
                    format!("empty kind or channel in {kind:?} = {channel:?}"),
                ));
            }
        }
        if self.offline_default.trim().is_empty() {
            return Err(SettingsError::new(
                "channels.offline_default",
                "channel name is empty",
            ));
        }
        Ok(())
    }

    /// The channel of an online touchpoint (a session's first page or a campaign track).
    pub(crate) fn classify(&self, m: &Marketing) -> &str {
        let facts = Facts {
            source: m.source.as_deref(),
            medium: m.medium.as_deref(),
            click_id: m.click_id.as_ref().map(|(name, _)| name.as_str()),
            referrer: m
                .referrer_host
                .as_deref()
                .map(|host| self.referrer_class(host)),
            marketing: !m.is_empty(),
        };
        self.rules
            .iter()
            .find(|rule| rule.when.iter().any(|c| self.matches(c, &facts)))
            .map_or(DIRECT, |rule| rule.channel.as_str())
    }

    /// The channel of an offline row: its `channel` column, else by its `kind`.
    pub(crate) fn offline_channel(&self, channel: Option<&str>, kind: Option<&str>) -> String {
        if let Some(channel) = channel.map(str::trim).filter(|c| !c.is_empty()) {
            return channel.to_owned();
        }
        kind.map(|k| k.trim().to_lowercase())
            .and_then(|k| self.offline_kinds.get(&k))
            .unwrap_or(&self.offline_default)
            .clone()
    }

    fn referrer_class(&self, host: &str) -> Referrer {
        let domain = marketing::registrable_domain(host);
        let name = marketing::domain_name(host);
        if contains(&self.search_engines, name) {
            Referrer::Search
        } else if contains(&self.social_networks, name) || contains(&self.social_domains, domain) {
            Referrer::Social
        } else {
            Referrer::Other
        }
    }

    /// A source names a search engine or social network either by name (`google`) or as a
    /// domain (`google.com`, `t.co`).
    fn source_is(&self, class: SourceClass, source: &str) -> bool {
        let source = source.trim();
        let name = if source.contains('.') {
            marketing::domain_name(source)
        } else {
            source
        };
        match class {
            SourceClass::Search => contains(&self.search_engines, name),
            SourceClass::Social => {
                contains(&self.social_networks, name)
                    || contains(&self.social_domains, marketing::registrable_domain(source))
            }
        }
    }

    fn matches(&self, c: &Condition, f: &Facts<'_>) -> bool {
        if let Some(ids) = &c.click_id {
            if !f.click_id.is_some_and(|id| contains(ids, id)) {
                return false;
            }
        }
        if let Some(mediums) = &c.medium {
            if !f.medium.is_some_and(|m| contains(mediums, m)) {
                return false;
            }
        }
        if let Some(mediums) = &c.medium_not {
            if f.medium.is_some_and(|m| contains(mediums, m)) {
                return false;
            }
        }
        if let Some(source) = &c.source {
            let ok = f.source.is_some_and(|s| match source {
                SourceMatch::Class(class) => self.source_is(*class, s),
                SourceMatch::Names(names) => contains(names, s),
            });
            if !ok {
                return false;
            }
        }
        if let Some(want) = c.referrer {
            let ok = match (want, f.referrer) {
                (_, None) => false,
                (ReferrerMatch::External, Some(_)) => true,
                (ReferrerMatch::Search, Some(r)) => r == Referrer::Search,
                (ReferrerMatch::Social, Some(r)) => r == Referrer::Social,
            };
            if !ok {
                return false;
            }
        }
        if let Some(want) = c.marketing {
            if f.marketing != want {
                return false;
            }
        }
        true
    }
}

impl Condition {
    fn validate(&self, at: &str) -> Result<(), SettingsError> {
        let empty = self.click_id.is_none()
            && self.medium.is_none()
            && self.medium_not.is_none()
            && self.source.is_none()
            && self.referrer.is_none()
            && self.marketing.is_none();
        if empty {
            return Err(SettingsError::new(
                at,
                "condition has no field (set click_id, medium, medium_not, source, referrer or marketing)",
            ));
        }
        if let Some(ids) = &self.click_id {
            for id in ids {
                if !CLICK_IDS.contains(&id.trim().to_lowercase().as_str()) {
                    return Err(SettingsError::new(
                        format!("{at}.click_id"),
                        format!(
                            "unknown click id {id:?} (expected one of {})",
                            CLICK_IDS.join(", ")
                        ),
                    ));
                }
            }
        }
        let lists = [
            ("click_id", self.click_id.as_ref()),
            ("medium", self.medium.as_ref()),
            ("medium_not", self.medium_not.as_ref()),
            (
                "source",
                match &self.source {
                    Some(SourceMatch::Names(names)) => Some(names),
                    _ => None,
                },
            ),
        ];
        for (field, list) in lists {
            if let Some(list) = list {
                if list.is_empty() {
                    return Err(SettingsError::new(format!("{at}.{field}"), "list is empty"));
                }
                if list.iter().any(|s| s.trim().is_empty()) {
                    return Err(SettingsError::new(
                        format!("{at}.{field}"),
                        "list contains an empty value",
                    ));
                }
            }
        }
        Ok(())
    }
}
