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
    /// Meta's Conversions API (conversions only).
    Meta,
    /// Google's Data Manager API, `events:ingest` (conversions and their adjustments).
    Google,
    /// The Google Ads API, `uploadClickConversions` and `uploadConversionAdjustments`, for
    /// those who hold a developer token.
    GoogleAds,
    /// Google's offline-conversion CSV: nothing is sent, `tenure conversions export
    /// google-csv` writes the files to import by hand.
    GoogleCsv,
    /// LinkedIn's Conversions API (conversions only).
    Linkedin,
}

impl DestinationKind {
    pub fn name(self) -> &'static str {
        match self {
            DestinationKind::Webhook => "webhook",
            DestinationKind::Slack => "slack",
            DestinationKind::Smtp => "smtp",
            DestinationKind::Meta => "meta",
            DestinationKind::Google => "google",
            DestinationKind::GoogleAds => "google_ads",
            DestinationKind::GoogleCsv => "google_csv",
            DestinationKind::Linkedin => "linkedin",
        }
    }

    /// Whether it takes conversions (`[[conversions]]`) rather than playbook actions.
    pub fn is_ad_platform(self) -> bool {
        matches!(
            self,
            DestinationKind::Meta
                | DestinationKind::Google
                | DestinationKind::GoogleAds
                | DestinationKind::GoogleCsv
                | DestinationKind::Linkedin
        )
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
    /// The NAME of the environment variable holding the secret (for the ad platforms, the
    /// access token).
    #[serde(default)]
    pub secret_env: Option<String>,
    /// The ad platforms: a file holding the access token instead (e.g. a mounted secret),
    /// read at start; its first line is the token.
    #[serde(default)]
    pub secret_file: Option<String>,
    /// Meta: the pixel (dataset) id events are sent to.
    #[serde(default)]
    pub pixel_id: Option<String>,
    /// Google: the Google Ads customer id conversions belong to (digits, dashes allowed).
    #[serde(default)]
    pub customer_id: Option<String>,
    /// Google: the manager account's customer id, when access goes through one.
    #[serde(default)]
    pub login_customer_id: Option<String>,
    /// Google Ads API: the NAME of the environment variable holding the developer token.
    #[serde(default)]
    pub developer_token_env: Option<String>,
    /// The platform's API version, pinned (Meta `v25.0`, Google Ads `v26`, LinkedIn `202511`);
    /// each has a default.
    #[serde(default)]
    pub api_version: Option<String>,
    /// Meta: sends to Events Manager's test view under this code instead of the live data.
    #[serde(default)]
    pub test_event_code: Option<String>,
    /// Google: have the platform check every request without recording anything.
    #[serde(default)]
    pub validate_only: bool,
    /// How long before a conversion a click may be and still be matched, and (for Google) how
    /// long after the click the conversion may be sent: the conversion action's click window.
    #[serde(default)]
    pub click_window_days: Option<u32>,
    /// At most this many requests a minute, counted here before the platform counts them.
    #[serde(default)]
    pub rate_per_minute: Option<u32>,
}

impl Destination {
    /// A destination of `kind` named `name`, every other field unset.
    pub fn named(name: &str, kind: DestinationKind) -> Destination {
        Destination {
            name: name.to_owned(),
            kind,
            url: None,
            host: None,
            port: None,
            from: None,
            username: None,
            secret_env: None,
            secret_file: None,
            pixel_id: None,
            customer_id: None,
            login_customer_id: None,
            developer_token_env: None,
            api_version: None,
            test_event_code: None,
            validate_only: false,
            click_window_days: None,
            rate_per_minute: None,
        }
    }
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
    let platform_fields = [
        ("secret_file", d.secret_file.is_some()),
        ("pixel_id", d.pixel_id.is_some()),
        ("customer_id", d.customer_id.is_some()),
        ("login_customer_id", d.login_customer_id.is_some()),
        ("developer_token_env", d.developer_token_env.is_some()),
        ("api_version", d.api_version.is_some()),
        ("test_event_code", d.test_event_code.is_some()),
        ("validate_only", d.validate_only),
        ("click_window_days", d.click_window_days.is_some()),
        ("rate_per_minute", d.rate_per_minute.is_some()),
    ];
    if !d.kind.is_ad_platform() {
        for (field, given) in platform_fields {
            misplaced(field, given)?;
        }
    } else {
        return validate_ad_platform(d, &err, &misplaced);
    }
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
        _ => unreachable!("the ad platforms are checked above"),
    }
    Ok(())
}

/// The fields of an ad platform's destination: each platform's own ids, the token from the
/// environment or a file (never the config), sane windows and rates.
fn validate_ad_platform(
    d: &Destination,
    err: &dyn Fn(&str, String) -> PlaybookError,
    misplaced: &dyn Fn(&str, bool) -> Result<(), PlaybookError>,
) -> Result<(), PlaybookError> {
    misplaced("host", d.host.is_some())?;
    misplaced("port", d.port.is_some())?;
    misplaced("from", d.from.is_some())?;
    misplaced("username", d.username.is_some())?;
    let kind = d.kind;
    let only = |field: &str, given: bool, kinds: &[DestinationKind]| {
        if given && !kinds.contains(&kind) {
            misplaced(field, true)
        } else {
            Ok(())
        }
    };
    use DestinationKind::{Google, GoogleAds, GoogleCsv, Meta};
    only("pixel_id", d.pixel_id.is_some(), &[Meta])?;
    only("test_event_code", d.test_event_code.is_some(), &[Meta])?;
    only("customer_id", d.customer_id.is_some(), &[Google, GoogleAds])?;
    only(
        "login_customer_id",
        d.login_customer_id.is_some(),
        &[Google, GoogleAds],
    )?;
    only(
        "developer_token_env",
        d.developer_token_env.is_some(),
        &[GoogleAds],
    )?;
    only("validate_only", d.validate_only, &[Google, GoogleAds])?;
    if kind == GoogleCsv {
        for (field, given) in [
            ("url", d.url.is_some()),
            ("secret_env", d.secret_env.is_some()),
            ("secret_file", d.secret_file.is_some()),
            ("api_version", d.api_version.is_some()),
            ("rate_per_minute", d.rate_per_minute.is_some()),
        ] {
            misplaced(field, given)?;
        }
    } else {
        match (&d.secret_env, &d.secret_file) {
            (None, None) => {
                return Err(err(
                    "secret_env",
                    format!("a {} destination needs its access token: name the environment variable holding it (secret_env) or a file holding it (secret_file), never the token itself", kind.name()),
                ))
            }
            (Some(_), Some(_)) => {
                return Err(err(
                    "secret_file",
                    "give the token in one place: secret_env or secret_file, not both".into(),
                ))
            }
            _ => {}
        }
    }
    if let Some(env) = &d.developer_token_env {
        if !is_env_name(env) {
            return Err(err(
                "developer_token_env",
                format!("{env:?} is not an environment variable name: give the NAME of the variable holding the developer token"),
            ));
        }
    }
    if kind == GoogleAds && d.developer_token_env.is_none() {
        return Err(err(
            "developer_token_env",
            "the Google Ads API needs a developer token: name the environment variable holding it (or use kind = \"google\", the Data Manager API, which needs none)".into(),
        ));
    }
    if kind == Meta && d.pixel_id.as_deref().is_none_or(|p| !is_digits(p)) {
        return Err(err(
            "pixel_id",
            "a meta destination needs the pixel (dataset) id events go to, digits only".into(),
        ));
    }
    for (field, value) in [
        ("customer_id", &d.customer_id),
        ("login_customer_id", &d.login_customer_id),
    ] {
        if let Some(id) = value {
            if !is_digits(&id.replace('-', "")) {
                return Err(err(
                    field,
                    format!("{id:?} is not a Google Ads customer id: write its digits, e.g. \"123-456-7890\""),
                ));
            }
        }
    }
    if matches!(kind, Google | GoogleAds) && d.customer_id.is_none() {
        return Err(err(
            "customer_id",
            "a google destination needs the Google Ads customer id conversions belong to".into(),
        ));
    }
    if let Some(days) = d.click_window_days {
        if !(1..=90).contains(&days) {
            return Err(err(
                "click_window_days",
                format!("{days} is outside 1–90 days, the click windows the ad platforms allow"),
            ));
        }
    }
    if d.rate_per_minute == Some(0) {
        return Err(err(
            "rate_per_minute",
            "0 requests a minute would send nothing: give a positive number, or leave it out for the platform's default".into(),
        ));
    }
    Ok(())
}

fn is_digits(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())
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
