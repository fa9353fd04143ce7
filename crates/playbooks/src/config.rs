//! `[[playbooks]]`, `[[destinations]]` and `[playbook_settings]`: as written in the config file
//! (`*Config` types, with serde's defaults and unknown keys refused), then validated once into
//! the types the rest of the crate uses, with errors that name the key.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use tenure_core::Timestamp;
use tenure_health::{StageSettings, SIGNALS};

use crate::action::{Step, StepConfig};
use crate::filter::Filter;
use crate::quiet_hours::{QuietHours, QuietHoursConfig};
use crate::routing::{Route, RouteConfig};
use crate::span::{Span, DAY};
use crate::trigger::{Trigger, TriggerConfig};
use crate::PlaybookError;

/// The three top-level sections of the config file this crate owns.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PlaybooksConfig {
    pub playbook_settings: PlaybookSettings,
    pub destinations: Vec<Destination>,
    pub routing: Vec<RouteConfig>,
    pub playbooks: Vec<PlaybookConfig>,
}

/// `[playbook_settings]`: what holds across all playbooks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PlaybookSettings {
    /// At most this many firings per account in any 24 hours, all playbooks together, so a
    /// bad day of an account does not become a dozen messages to its customer.
    pub max_firings_per_account_per_day: u32,
    /// How long a server holds the deliveries it claims before another may take them: longer
    /// than any one attempt (a webhook or Slack call times out after 10 s), and what a
    /// delivery waits after its server died mid-pass.
    pub delivery_lease_seconds: u32,
}

impl Default for PlaybookSettings {
    fn default() -> Self {
        PlaybookSettings {
            max_firings_per_account_per_day: 3,
            delivery_lease_seconds: 120,
        }
    }
}

impl PlaybookSettings {
    /// Whether one more firing is allowed for an account at `now`, given the instants of its
    /// earlier firings (any playbook): fewer than the cap in the 24 hours up to `now`.
    pub fn allows(&self, earlier: &[Timestamp], now: Timestamp) -> bool {
        let since = now.plus_millis(-DAY);
        let recent = earlier.iter().filter(|t| since < **t && **t <= now).count();
        recent < self.max_firings_per_account_per_day as usize
    }
}

/// What a destination is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DestinationKind {
    /// An HTTP endpoint receiving signed JSON.
    Webhook,
    /// A Slack-compatible incoming webhook.
    Slack,
    /// An SMTP server sending e-mail.
    Smtp,
}

impl DestinationKind {
    pub fn name(self) -> &'static str {
        match self {
            DestinationKind::Webhook => "webhook",
            DestinationKind::Slack => "slack",
            DestinationKind::Smtp => "smtp",
        }
    }
}

/// `[[destinations]]`: where actions are delivered. Secrets are never in the file:
/// `secret_env` names the environment variable that holds one (a webhook's signing secret, an
/// SMTP password, or for Slack the incoming-webhook URL itself, which is a secret).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Destination {
    pub name: String,
    pub kind: DestinationKind,
    /// Webhook: the endpoint. Slack: the incoming-webhook URL, unless `secret_env` gives it.
    #[serde(default)]
    pub url: Option<String>,
    /// SMTP: the server's host name…
    #[serde(default)]
    pub host: Option<String>,
    /// …and port (default 587, submission with STARTTLS).
    #[serde(default)]
    pub port: Option<u16>,
    /// SMTP: the sender address.
    #[serde(default)]
    pub from: Option<String>,
    /// SMTP: the user to authenticate as.
    #[serde(default)]
    pub username: Option<String>,
    /// The NAME of the environment variable holding the secret.
    #[serde(default)]
    pub secret_env: Option<String>,
}

/// When a playbook that is switched on acts for the accounts that already match it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnEnable {
    /// Not at all: the accounts matching when it is switched on (or when its version changes)
    /// are recorded as seen and only later matches fire. Switching a play on never floods.
    #[default]
    None,
    /// They fire too, once each, as any match would.
    MatchingNow,
}

/// `limit` as written: one of `once_per`, `every_match = true`, or `max` with `period`.
/// None given: `once_per = "ever"`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitConfig {
    /// `"ever"`, `"contract"` or a span such as `"30d"`.
    pub once_per: Option<String>,
    pub every_match: Option<bool>,
    pub max: Option<u32>,
    pub period: Option<String>,
}

/// How often a playbook may fire for one account (see `firing` for the keys that enforce it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Limit {
    /// Once in the account's life (for this version of the playbook).
    Ever,
    /// Once per contract, told apart by the contract's end date.
    Contract,
    /// At most once in any window of this length.
    OncePer(Span),
    /// At most `count` times in any window of length `per`.
    Max { count: u32, per: Span },
    /// Once for each change (or holding state, or due date) that matches.
    EveryMatch,
}

/// `[[playbooks]]` as written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlaybookConfig {
    pub name: String,
    #[serde(default = "yes")]
    pub enabled: bool,
    pub trigger: TriggerConfig,
    #[serde(default)]
    pub for_whom: Filter,
    pub actions: Vec<StepConfig>,
    #[serde(default)]
    pub limit: LimitConfig,
    #[serde(default)]
    pub on_enable: OnEnable,
    #[serde(default)]
    pub quiet_hours: Option<QuietHoursConfig>,
}

fn yes() -> bool {
    true
}

/// A playbook, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct Playbook {
    pub name: String,
    pub enabled: bool,
    pub trigger: Trigger,
    pub for_whom: Filter,
    pub actions: Vec<Step>,
    pub limit: Limit,
    pub on_enable: OnEnable,
    pub quiet_hours: Option<QuietHours>,
    version: String,
}

/// What a playbook's version is a fingerprint of: what decides who it fires for, when and what
/// it sends. Not its name (already in every firing key), nor `enabled` (switching a play off
/// and on again must not make it fire anew for everyone), nor `on_enable` (it says what to do
/// at a switch, not what the play does).
#[derive(Serialize)]
struct Versioned<'a> {
    trigger: &'a Trigger,
    for_whom: &'a Filter,
    actions: &'a [Step],
    limit: &'a Limit,
    quiet_hours: &'a Option<QuietHours>,
}

impl Playbook {
    /// A short fingerprint of the playbook's canonical JSON (the scheme of `[health]`'s
    /// version): a changed playbook is a new version, and its firings are keyed apart from
    /// the old one's.
    pub fn version(&self) -> &str {
        &self.version
    }

    fn versioned(mut self) -> Playbook {
        let fingerprint = tenure_health::fingerprint(&Versioned {
            trigger: &self.trigger,
            for_whom: &self.for_whom,
            actions: &self.actions,
            limit: &self.limit,
            quiet_hours: &self.quiet_hours,
        });
        self.version = format!("p{fingerprint}");
        self
    }
}

/// The names playbooks may refer to besides destinations: the configured stages. Signals and
/// milestones are fixed lists (`tenure_health::SIGNALS`, [`MILESTONES`](crate::MILESTONES)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vocabulary {
    pub stages: Vec<String>,
}

impl Vocabulary {
    pub fn new(stages: &StageSettings) -> Vocabulary {
        Vocabulary {
            stages: stages.stages.iter().map(|s| s.name.clone()).collect(),
        }
    }

    pub(crate) fn signals(&self) -> Vec<&'static str> {
        SIGNALS.iter().map(|(name, _)| *name).collect()
    }
}

impl Default for Vocabulary {
    /// The default stages (SPEC §4).
    fn default() -> Self {
        Vocabulary::new(&StageSettings::default())
    }
}

/// Everything of [`PlaybooksConfig`], validated.
#[derive(Debug, Clone, PartialEq)]
pub struct Playbooks {
    pub settings: PlaybookSettings,
    pub destinations: Vec<Destination>,
    /// The `[[routing]]` rules, in order (each handoff holds those that apply to it).
    pub routing: Vec<Route>,
    pub playbooks: Vec<Playbook>,
}

impl Playbooks {
    pub fn get(&self, name: &str) -> Option<&Playbook> {
        self.playbooks.iter().find(|p| p.name == name)
    }

    /// The playbooks switched on (`enabled`), in the configuration's order.
    pub fn enabled(&self) -> impl Iterator<Item = &Playbook> {
        self.playbooks.iter().filter(|p| p.enabled)
    }
}

pub(crate) fn is_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

fn is_env_name(name: &str) -> bool {
    name.bytes()
        .next()
        .is_some_and(|b| b.is_ascii_uppercase() || b == b'_')
        && name
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
}

impl PlaybooksConfig {
    /// Validates every section; the first error found, naming its key.
    pub fn validate(&self, vocabulary: &Vocabulary) -> Result<Playbooks, PlaybookError> {
        if self.playbook_settings.max_firings_per_account_per_day == 0 {
            return Err(PlaybookError::new(
                "playbook_settings.max_firings_per_account_per_day".into(),
                "0 would stop every playbook; give at least 1 (default 3)".into(),
            ));
        }
        let lease = self.playbook_settings.delivery_lease_seconds;
        if !(15..=86_400).contains(&lease) {
            return Err(PlaybookError::new(
                "playbook_settings.delivery_lease_seconds".into(),
                format!("{lease} is not from 15 (longer than one attempt) to 86400 seconds (default 120)"),
            ));
        }
        let mut names: BTreeMap<&str, usize> = BTreeMap::new();
        for (i, d) in self.destinations.iter().enumerate() {
            validate_destination(&format!("destinations[{i}]"), d)?;
            if let Some(first) = names.insert(&d.name, i) {
                return Err(PlaybookError::new(
                    format!("destinations[{i}].name"),
                    format!("duplicate name {:?} (also destinations[{first}])", d.name),
                ));
            }
        }
        let mut names: BTreeMap<&str, usize> = BTreeMap::new();
        let mut routing = Vec::with_capacity(self.routing.len());
        for (i, r) in self.routing.iter().enumerate() {
            routing.push(r.validate(&format!("routing[{i}]"), vocabulary)?);
            if let Some(first) = names.insert(&r.name, i) {
                return Err(PlaybookError::new(
                    format!("routing[{i}].name"),
                    format!("duplicate name {:?} (also routing[{first}])", r.name),
                ));
            }
        }
        let mut names: BTreeMap<&str, usize> = BTreeMap::new();
        let mut playbooks = Vec::with_capacity(self.playbooks.len());
        for (i, p) in self.playbooks.iter().enumerate() {
            let key = format!("playbooks[{i}]");
            if !is_name(&p.name) {
                return Err(PlaybookError::new(
                    format!("{key}.name"),
                    format!(
                        "{:?} is not a playbook name: use lowercase letters, digits and _",
                        p.name
                    ),
                ));
            }
            if let Some(first) = names.insert(&p.name, i) {
                return Err(PlaybookError::new(
                    format!("{key}.name"),
                    format!("duplicate name {:?} (also playbooks[{first}])", p.name),
                ));
            }
            playbooks.push(p.validate(&key, vocabulary, &self.destinations, &routing)?);
        }
        check_breach_teams(&playbooks, &routing)?;
        Ok(Playbooks {
            settings: self.playbook_settings.clone(),
            destinations: self.destinations.clone(),
            routing,
            playbooks,
        })
    }
}

/// An `sla_breached` trigger names `any` or a team some handoff or routing rule hands accounts
/// to: a misspelt team would wait for breaches that never come.
fn check_breach_teams(playbooks: &[Playbook], routing: &[Route]) -> Result<(), PlaybookError> {
    let mut teams: Vec<&str> = routing.iter().map(|r| r.team.as_str()).collect();
    for p in playbooks {
        for step in &p.actions {
            if let crate::Action::Handoff(h) = &step.action {
                teams.extend(h.team.as_deref());
            }
        }
    }
    teams.sort_unstable();
    teams.dedup();
    for (i, p) in playbooks.iter().enumerate() {
        if let Trigger::SlaBreached(team) = &p.trigger {
            // A breach stands for 7 days and every tick sees it again: a window limit would
            // fire again for the same breach each time its window opens.
            if matches!(p.limit, Limit::OncePer(_) | Limit::Max { .. }) {
                return Err(PlaybookError::new(
                    format!("playbooks[{i}].limit"),
                    "an sla_breached playbook fires once per breach with `every_match = true`, or once ever or per contract; `once_per` and `max` would fire again for the same breach at later ticks".to_owned(),
                ));
            }
            if team != crate::trigger::ANY_TEAM && !teams.contains(&team.as_str()) {
                return Err(PlaybookError::new(
                    format!("playbooks[{i}].trigger.sla_breached"),
                    if teams.is_empty() {
                        format!("no handoff or [[routing]] rule hands accounts to {team:?} (none hands any over): add a handoff action, or write \"any\"")
                    } else {
                        format!(
                            "no handoff or [[routing]] rule hands accounts to {team:?} (teams: {}); or write \"any\"",
                            teams.join(", ")
                        )
                    },
                ));
            }
        }
    }
    Ok(())
}

fn validate_destination(key: &str, d: &Destination) -> Result<(), PlaybookError> {
    let err = |field: &str, message: String| PlaybookError::new(format!("{key}.{field}"), message);
    if !is_name(&d.name) {
        return Err(err(
            "name",
            format!(
                "{:?} is not a destination name: use lowercase letters, digits and _",
                d.name
            ),
        ));
    }
    if let Some(env) = &d.secret_env {
        if !is_env_name(env) {
            return Err(err(
                "secret_env",
                format!("{env:?} is not an environment variable name: give the NAME of the variable holding the secret (uppercase letters, digits and _), never the secret itself"),
            ));
        }
    }
    let url_ok = |url: &str| url.starts_with("https://") || url.starts_with("http://");
    if let Some(url) = &d.url {
        if !url_ok(url) {
            return Err(err(
                "url",
                format!("{url:?} is not an http:// or https:// URL"),
            ));
        }
    }
    let misplaced = |field: &str, given: bool| {
        if given {
            Err(err(
                field,
                format!("a {} destination has no {field}", d.kind.name()),
            ))
        } else {
            Ok(())
        }
    };
    match d.kind {
        DestinationKind::Webhook => {
            if d.url.is_none() {
                return Err(err(
                    "url",
                    "a webhook destination needs the url to post to".into(),
                ));
            }
            if d.secret_env.is_none() {
                return Err(err(
                    "secret_env",
                    "a webhook destination signs every delivery: name the environment variable holding its secret".into(),
                ));
            }
            misplaced("host", d.host.is_some())?;
            misplaced("port", d.port.is_some())?;
            misplaced("from", d.from.is_some())?;
            misplaced("username", d.username.is_some())?;
        }
        DestinationKind::Slack => {
            if d.url.is_none() && d.secret_env.is_none() {
                return Err(err(
                    "url",
                    "a slack destination needs its incoming-webhook URL: give secret_env, the environment variable holding it (or url)".into(),
                ));
            }
            misplaced("host", d.host.is_some())?;
            misplaced("port", d.port.is_some())?;
            misplaced("from", d.from.is_some())?;
            misplaced("username", d.username.is_some())?;
        }
        DestinationKind::Smtp => {
            if d.host.as_deref().is_none_or(|h| h.trim().is_empty()) {
                return Err(err(
                    "host",
                    "an smtp destination needs the server's host".into(),
                ));
            }
            if d.from.as_deref().is_none_or(|f| !f.contains('@')) {
                return Err(err(
                    "from",
                    "an smtp destination needs the sender's address, e.g. \"cs@acme.io\"".into(),
                ));
            }
            if d.username.is_some() && d.secret_env.is_none() {
                return Err(err(
                    "secret_env",
                    "a username needs a password: name the environment variable holding it".into(),
                ));
            }
            misplaced("url", d.url.is_some())?;
        }
    }
    Ok(())
}

impl PlaybookConfig {
    fn validate(
        &self,
        key: &str,
        vocabulary: &Vocabulary,
        destinations: &[Destination],
        routing: &[Route],
    ) -> Result<Playbook, PlaybookError> {
        let err =
            |field: &str, message: String| PlaybookError::new(format!("{key}.{field}"), message);
        let trigger = self
            .trigger
            .validate(&format!("{key}.trigger"), vocabulary)?;
        self.for_whom
            .validate(&format!("{key}.for_whom"), vocabulary)?;
        if self.actions.is_empty() {
            return Err(err(
                "actions",
                "a playbook needs at least one action".into(),
            ));
        }
        let actions = self
            .actions
            .iter()
            .enumerate()
            .map(|(i, a)| a.validate(&format!("{key}.actions[{i}]"), destinations, routing))
            .collect::<Result<Vec<_>, _>>()?;
        if let Some(i) = (1..actions.len()).find(|&i| actions[i].delay < actions[i - 1].delay) {
            return Err(err(
                &format!("actions[{i}].delay"),
                format!(
                    "{} is earlier than the action before it ({}): delays count from the firing, so list the actions in the order they go out",
                    actions[i].delay,
                    actions[i - 1].delay
                ),
            ));
        }
        let limit = self.limit.validate(&format!("{key}.limit"))?;
        let quiet_hours = match &self.quiet_hours {
            Some(q) => Some(
                q.validate()
                    .map_err(|(field, message)| err(&format!("quiet_hours.{field}"), message))?,
            ),
            None => None,
        };
        Ok(Playbook {
            name: self.name.clone(),
            enabled: self.enabled,
            trigger,
            for_whom: self.for_whom.clone(),
            actions,
            limit,
            on_enable: self.on_enable,
            quiet_hours,
            version: String::new(),
        }
        .versioned())
    }
}

impl LimitConfig {
    fn validate(&self, key: &str) -> Result<Limit, PlaybookError> {
        let err =
            |field: &str, message: String| PlaybookError::new(format!("{key}.{field}"), message);
        let forms = [
            self.once_per.is_some(),
            self.every_match.is_some(),
            self.max.is_some() || self.period.is_some(),
        ];
        match forms.iter().filter(|f| **f).count() {
            0 => return Ok(Limit::Ever),
            1 => {}
            _ => {
                return Err(PlaybookError::new(
                    key.to_owned(),
                    "give one of once_per, every_match = true, or max with period".into(),
                ))
            }
        }
        let window = |field: &str, text: &str| {
            let span = Span::parse(text).map_err(|m| err(field, m))?;
            if span == Span::ZERO {
                return Err(err(
                    field,
                    "a period of 0 limits nothing; give e.g. \"30d\"".into(),
                ));
            }
            Ok(span)
        };
        if let Some(once) = &self.once_per {
            return match once.as_str() {
                "ever" => Ok(Limit::Ever),
                "contract" => Ok(Limit::Contract),
                text if text.ends_with(['d', 'h', 'm']) => {
                    window("once_per", text).map(Limit::OncePer)
                }
                text => Err(err(
                    "once_per",
                    format!("{text:?} is not \"ever\", \"contract\" or a duration such as \"30d\""),
                )),
            };
        }
        if let Some(every) = self.every_match {
            return if every {
                Ok(Limit::EveryMatch)
            } else {
                Err(err(
                    "every_match",
                    "every_match = false says nothing; remove it or give once_per".into(),
                ))
            };
        }
        let Some(count) = self.max.filter(|m| *m > 0) else {
            return Err(err("max", "give max, at least 1, with period".into()));
        };
        let Some(period) = &self.period else {
            return Err(err(
                "period",
                "max needs the period it counts over, e.g. period = \"30d\"".into(),
            ));
        };
        Ok(Limit::Max {
            count,
            per: window("period", period)?,
        })
    }
}
