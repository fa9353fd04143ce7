//! tenure's configuration: one TOML file with a default for everything.
//!
//! Unknown keys are errors that name the key (a misspelt setting silently ignored is worse than
//! a refusal). Secrets never live here; they come from environment variables.

pub mod reference;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::{Deserialize, Serialize};
use tenure_conversions::{ConversionConfig, Rule as ConversionRule};
use tenure_core::Currency;
use tenure_engine::{ActivationSettings, ChannelSettings, EngineSettings, TouchpointSettings};
use tenure_health::{HealthSettings, SignalSettings, StageSettings};
use tenure_ingest::segment::Limits;
use tenure_playbooks::{
    Destination, PlaybookConfig, PlaybookSettings, Playbooks, PlaybooksConfig, RouteConfig,
    Vocabulary,
};
use tenure_reports::{AdoptionSettings, AttributionSettings, ReportSettings, RevenueSettings};

/// The whole configuration, after defaults are filled in.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub server: ServerSettings,
    pub ingest: IngestSettings,
    pub currency: CurrencySettings,
    pub touchpoints: TouchpointSettings,
    pub channels: ChannelSettings,
    pub activation: ActivationSettings,
    pub revenue: RevenueSettings,
    pub attribution: AttributionSettings,
    pub adoption: AdoptionSettings,
    pub health: HealthSettings,
    pub signals: SignalSettings,
    pub stages: StageSettings,
    pub stripe: StripeSettings,
    /// What holds across all playbooks.
    pub playbook_settings: PlaybookSettings,
    /// Where playbooks' actions are delivered.
    pub destinations: Vec<Destination>,
    /// Who takes an account over when a playbook hands it off.
    pub routing: Vec<RouteConfig>,
    /// When something happens to an account, for whom, do what, at most how often.
    pub playbooks: Vec<PlaybookConfig>,
    /// Which milestones go back to the ad platforms, with which value.
    pub conversions: Vec<ConversionConfig>,
}

/// Stripe webhooks. The environment variable `TENURE_STRIPE_WEBHOOK_SECRET` takes precedence
/// over `webhook_secret`, so the secret need not live in a file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StripeSettings {
    pub webhook_secret: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerSettings {
    /// Address `tenure serve` listens on unless `--listen` says otherwise.
    pub listen: String,
    /// Connections served at once; one more is answered 503 and closed, so idle or slow clients
    /// cannot use up the process's file descriptors (commonly 1,024).
    pub max_connections: usize,
    /// How long a connection may take to send a request's headers, counted from when it opens
    /// or from its previous response: so also how long an idle keep-alive connection is kept.
    pub header_timeout_seconds: u64,
    /// The longest pause allowed between two pieces of a request body.
    pub body_timeout_seconds: u64,
    /// The whole of an ingest or webhook request, from its headers to the answer.
    pub request_timeout_seconds: u64,
    /// The time budget of one report over HTTP (fractions allowed): past it the report is
    /// stopped and the request answered 503 `report_timeout`.
    pub report_timeout_seconds: f64,
    /// How long a dashboard sign-in lasts (fractions allowed); the person signs in again after.
    pub session_hours: f64,
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:7070".into(),
            max_connections: 512,
            header_timeout_seconds: 10,
            body_timeout_seconds: 10,
            request_timeout_seconds: 30,
            report_timeout_seconds: 60.0,
            session_hours: 12.0,
        }
    }
}

/// Limits of the Segment-compatible API; Segment's published limits by default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IngestSettings {
    pub max_message_bytes: usize,
    pub max_batch_bytes: usize,
    pub max_batch_messages: usize,
    /// Messages a second each workspace may send before getting 429; 0 means no limit.
    pub rate_limit_per_second: u32,
}

impl Default for IngestSettings {
    fn default() -> Self {
        let limits = Limits::default();
        Self {
            max_message_bytes: limits.max_message_bytes,
            max_batch_bytes: limits.max_batch_bytes,
            max_batch_messages: limits.max_batch_messages,
            rate_limit_per_second: 0,
        }
    }
}

impl IngestSettings {
    pub fn limits(&self) -> Limits {
        Limits {
            max_message_bytes: self.max_message_bytes,
            max_batch_bytes: self.max_batch_bytes,
            max_batch_messages: self.max_batch_messages,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CurrencySettings {
    /// The currency every report is in.
    pub reporting: String,
    /// Fixed rates: one unit of the key currency is worth this many units of `reporting`.
    pub rates: BTreeMap<String, f64>,
}

impl Default for CurrencySettings {
    fn default() -> Self {
        Self {
            reporting: "USD".into(),
            rates: BTreeMap::new(),
        }
    }
}

/// Why a configuration cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Parse { path: String, message: String },
    #[error("{path}: {field}: {message}")]
    Invalid {
        path: String,
        field: String,
        message: String,
    },
}

impl Config {
    /// Reads and validates `path`; without a path, the defaults.
    pub fn load(path: Option<&Path>) -> Result<Config, ConfigError> {
        let Some(path) = path else {
            return Ok(Config::default());
        };
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Config::parse(&text, &path.display().to_string())
    }

    /// Parses and validates TOML text; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Config, ConfigError> {
        let config: Config = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: origin.to_owned(),
            message: e.to_string().trim_end().replace('\n', " "),
        })?;
        config.validate(origin)?;
        Ok(config)
    }

    fn validate(&self, origin: &str) -> Result<(), ConfigError> {
        let invalid = |field: &str, message: String| ConfigError::Invalid {
            path: origin.to_owned(),
            field: field.to_owned(),
            message,
        };
        self.server
            .listen
            .parse::<std::net::SocketAddr>()
            .map_err(|_| {
                invalid(
                    "server.listen",
                    format!(
                        "{:?} is not an address such as 127.0.0.1:7070",
                        self.server.listen
                    ),
                )
            })?;
        let server = &self.server;
        if server.max_connections == 0 {
            return Err(invalid(
                "server.max_connections",
                "0 would refuse every connection; give at least 1 (default 512)".into(),
            ));
        }
        for (field, seconds) in [
            (
                "server.header_timeout_seconds",
                server.header_timeout_seconds,
            ),
            ("server.body_timeout_seconds", server.body_timeout_seconds),
            (
                "server.request_timeout_seconds",
                server.request_timeout_seconds,
            ),
        ] {
            if seconds == 0 {
                return Err(invalid(
                    field,
                    "0 seconds would time out every request; give at least 1".into(),
                ));
            }
        }
        let budget = server.report_timeout_seconds;
        if !(budget.is_finite() && budget > 0.0 && budget <= 86_400.0) {
            return Err(invalid(
                "server.report_timeout_seconds",
                format!("{budget} is not a number of seconds above 0 and at most 86400"),
            ));
        }
        let hours = server.session_hours;
        // Up to a year: beyond, the instant it ends would not be a time a clock can hold.
        if !(hours.is_finite() && hours > 0.0 && hours <= 8_760.0) {
            return Err(invalid(
                "server.session_hours",
                format!("{hours} is not a number of hours above 0 and at most 8760"),
            ));
        }
        Currency::parse(&self.currency.reporting)
            .map_err(|e| invalid("currency.reporting", e.to_string()))?;
        for (code, rate) in &self.currency.rates {
            Currency::parse(code)
                .map_err(|e| invalid(&format!("currency.rates.{code}"), e.to_string()))?;
            if !(rate.is_finite() && *rate > 0.0) {
                return Err(invalid(
                    &format!("currency.rates.{code}"),
                    format!("{rate} is not a positive rate"),
                ));
            }
        }
        let limits = self.ingest.limits();
        if limits.max_message_bytes == 0
            || limits.max_batch_messages == 0
            || limits.max_batch_bytes < limits.max_message_bytes
        {
            return Err(invalid(
                "ingest",
                "limits must be positive and max_batch_bytes at least max_message_bytes".into(),
            ));
        }
        let revenue = &self.revenue;
        if !(revenue.gross_margin > 0.0 && revenue.gross_margin <= 1.0) {
            return Err(invalid(
                "revenue.gross_margin",
                format!("{} is not a share in (0, 1]", revenue.gross_margin),
            ));
        }
        let attribution = &self.attribution;
        if !(attribution.half_life_days.is_finite() && attribution.half_life_days > 0.0) {
            return Err(invalid(
                "attribution.half_life_days",
                format!(
                    "{} is not a positive number of days",
                    attribution.half_life_days
                ),
            ));
        }
        if attribution.markov_order == 0 || attribution.markov_order > 4 {
            return Err(invalid(
                "attribution.markov_order",
                format!("{} is not an order from 1 to 4", attribution.markov_order),
            ));
        }
        if revenue.ltv_horizon_months == 0 {
            return Err(invalid(
                "revenue.ltv_horizon_months",
                "must be at least 1".into(),
            ));
        }
        if !(revenue.annual_discount_rate.is_finite()
            && (0.0..1.0).contains(&revenue.annual_discount_rate))
        {
            return Err(invalid(
                "revenue.annual_discount_rate",
                format!(
                    "{} is not a yearly rate from 0 up to (not including) 1, e.g. 0.1 for 10%",
                    revenue.annual_discount_rate
                ),
            ));
        }
        let parse = |message: String| ConfigError::Parse {
            path: origin.to_owned(),
            message,
        };
        self.health.validate().map_err(|e| parse(e.to_string()))?;
        self.signals.validate().map_err(|e| parse(e.to_string()))?;
        self.stages.validate().map_err(|e| parse(e.to_string()))?;
        self.engine().validate().map_err(|e| ConfigError::Invalid {
            path: origin.to_owned(),
            field: e.location.clone(),
            message: e.problem.clone(),
        })?;
        self.conversions_in(origin)?;
        Ok(())
    }

    /// The conversion rules, validated against the destinations, stages and playbooks.
    pub fn conversions(&self) -> Result<Vec<ConversionRule>, ConfigError> {
        self.conversions_in("the configuration")
    }

    fn conversions_in(&self, origin: &str) -> Result<Vec<ConversionRule>, ConfigError> {
        let playbooks = self.playbooks_in(origin)?;
        let stages: Vec<String> = self.stages.stages.iter().map(|s| s.name.clone()).collect();
        let names: Vec<String> = playbooks.playbooks.iter().map(|p| p.name.clone()).collect();
        tenure_conversions::validate(
            &self.conversions,
            tenure_conversions::Known {
                destinations: &playbooks.destinations,
                stages: &stages,
                playbooks: &names,
            },
        )
        .map_err(|e| ConfigError::Invalid {
            path: origin.to_owned(),
            field: e.key,
            message: e.message,
        })
    }

    /// The playbooks and their destinations, validated against the configured stages (as
    /// reading the file did; a configuration built in code is checked here).
    pub fn playbooks(&self) -> Result<Playbooks, ConfigError> {
        self.playbooks_in("the configuration")
    }

    fn playbooks_in(&self, origin: &str) -> Result<Playbooks, ConfigError> {
        PlaybooksConfig {
            playbook_settings: self.playbook_settings.clone(),
            destinations: self.destinations.clone(),
            routing: self.routing.clone(),
            playbooks: self.playbooks.clone(),
        }
        .validate(&Vocabulary::new(&self.stages))
        .map_err(|e| ConfigError::Invalid {
            path: origin.to_owned(),
            field: e.key,
            message: e.message,
        })
    }

    /// The engine's part of the configuration.
    pub fn engine(&self) -> EngineSettings {
        EngineSettings {
            channels: self.channels.clone(),
            touchpoints: self.touchpoints.clone(),
            activation: self.activation.clone(),
        }
    }

    /// What reports need: the reporting currency, its rates, the revenue settings.
    pub fn report_settings(&self) -> ReportSettings {
        ReportSettings {
            currency: self.reporting_currency(),
            rates: self
                .currency
                .rates
                .iter()
                .map(|(code, rate)| (Currency::parse(code).expect("validated on load"), *rate))
                .collect(),
            revenue: self.revenue.clone(),
            attribution: self.attribution.clone(),
            activation: self.activation.clone(),
            adoption: self.adoption.clone(),
            health: self.health.clone(),
            signals: self.signals.clone(),
            stages: self.stages.clone(),
        }
    }

    pub fn reporting_currency(&self) -> Currency {
        Currency::parse(&self.currency.reporting).expect("validated on load")
    }

    /// The effective configuration as TOML, defaults included, each key under a comment with
    /// its meaning and default from [`reference`]. A secret is never printed: the Stripe
    /// secret's line says whether one is set and where (`secret_in_env`: the environment variable
    /// that wins over the file holds one), commented out so the output stays a valid
    /// configuration that carries no secret.
    pub fn to_toml_annotated(&self, secret_in_env: bool) -> String {
        let mut shown = self.clone();
        shown.stripe.webhook_secret = None;
        let plain = toml::to_string_pretty(&shown).expect("the configuration serializes");
        let secret = match (secret_in_env, self.stripe.webhook_secret.is_some()) {
            (true, _) => "set by TENURE_STRIPE_WEBHOOK_SECRET (not shown)",
            (false, true) => "set in this file (not shown)",
            (false, false) => "unset",
        };
        annotate(
            &plain,
            &reference::keys(),
            &format!("# webhook_secret: {secret}"),
        )
    }

    /// [`Config::to_toml_annotated`] without a secret in the environment.
    pub fn to_toml(&self) -> String {
        self.to_toml_annotated(false)
    }
}

/// Puts each documented key's comment above it in `plain` (TOML as `toml` prints it: one key or
/// table header a line, arrays of tables as `[[…]]`), and `stripe_line` under `[stripe]`.
fn annotate(plain: &str, docs: &BTreeMap<String, reference::KeyDoc>, stripe_line: &str) -> String {
    let mut out = String::from(
        "# tenure's effective configuration: the file given (if any) over the defaults.\n\
         # Every key is explained in docs/configuration.md; a list of tables ([[…]]) given in a\n\
         # file replaces the whole default list.\n\n",
    );
    let mut arrays = BTreeSet::new();
    let mut commented = BTreeSet::new();
    let mut table = String::new();
    let mut in_map = false;
    for line in plain.lines() {
        let header = line
            .strip_prefix("[[")
            .and_then(|l| l.strip_suffix("]]"))
            .map(|name| (name, true))
            .or_else(|| {
                let name = line.strip_prefix('[')?.strip_suffix(']')?;
                Some((name, false))
            });
        if let Some((name, is_array)) = header {
            if is_array {
                arrays.insert(name.to_owned());
            }
            table = key_path(name, &arrays);
            // An array's comment once, above its first element.
            let documented = table.strip_suffix("[]").unwrap_or(&table).to_owned();
            in_map = docs.get(&documented).is_some_and(|d| d.is_map());
            if commented.insert(documented.clone()) {
                push_comment(&mut out, docs.get(&documented));
            }
            out.push_str(line);
            out.push('\n');
            if table == "stripe" {
                push_comment(&mut out, docs.get("stripe.webhook_secret"));
                out.push_str(stripe_line);
                out.push('\n');
            }
            continue;
        }
        let key = line.split_once(" = ").map(|(key, _)| key).filter(|key| {
            !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        });
        if let (Some(key), false) = (key, in_map) {
            let path = if table.is_empty() {
                key.to_owned()
            } else {
                format!("{table}.{key}")
            };
            // An array element's keys are explained once, in its first element.
            if !path.contains("[]") || commented.insert(path.clone()) {
                push_comment(&mut out, docs.get(&path));
            }
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// The reference's path of a table header: `channels.rules.when` is `channels.rules[].when[]`
/// once both are known arrays of tables.
fn key_path(header: &str, arrays: &BTreeSet<String>) -> String {
    let mut path = String::new();
    let mut name = String::new();
    for part in header.split('.') {
        if !name.is_empty() {
            name.push('.');
            path.push('.');
        }
        name.push_str(part);
        path.push_str(part);
        if arrays.contains(&name) {
            path.push_str("[]");
        }
    }
    path
}

/// `# meaning Default: value.`, wrapped to fit 100 columns.
fn push_comment(out: &mut String, doc: Option<&reference::KeyDoc>) {
    let Some(doc) = doc else { return };
    let default = doc.default_toml().unwrap_or(&doc.default);
    // "per stage" and the like say nothing beside the value itself.
    let text = if default.starts_with("per ") {
        doc.meaning.clone()
    } else {
        format!("{} Default: {default}.", doc.meaning)
    };
    let mut line = String::from("#");
    for word in text.split_whitespace() {
        if line.len() + 1 + word.len() > 98 && line.len() > 1 {
            out.push_str(&line);
            out.push('\n');
            line = String::from("#");
        }
        line.push(' ');
        line.push_str(word);
    }
    out.push_str(&line);
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_means_defaults() {
        assert_eq!(Config::parse("", "t.toml").unwrap(), Config::default());
    }

    #[test]
    fn effective_config_round_trips() {
        let config = Config::default();
        let again = Config::parse(&config.to_toml(), "effective").unwrap();
        assert_eq!(again, config);
    }

    #[test]
    fn unknown_keys_are_named() {
        let err = Config::parse("[server]\nlisten = \"127.0.0.1:1\"\nlistn = 3\n", "t.toml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("t.toml") && err.contains("listn"), "{err}");
        let err = Config::parse("[sever]\n", "t.toml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("sever"), "{err}");
    }

    #[test]
    fn playbooks_are_read_and_checked_against_the_configured_stages() {
        let file = "[[stages]]\nname = \"customer\"\nwhen = [\"customer\"]\n\n[[playbooks]]\nname = \"welcome\"\ntrigger = { stage_entered = \"customer\" }\nactions = [{ task = { title = \"Welcome {{ account.name }}\" } }]\n";
        let config = Config::parse(file, "t.toml").unwrap();
        let playbooks = config.playbooks().unwrap();
        assert_eq!(playbooks.playbooks.len(), 1);
        assert_eq!(playbooks.playbooks[0].name, "welcome");
        // A stage of the default list is not a stage of this file.
        let bad = file.replace(
            "stage_entered = \"customer\"",
            "stage_entered = \"at_risk\"",
        );
        let err = Config::parse(&bad, "t.toml").unwrap_err().to_string();
        assert!(
            err.starts_with("t.toml: playbooks[0].trigger.stage_entered: ")
                && err.contains("at_risk"),
            "{err}"
        );
    }

    #[test]
    fn channel_rules_are_replaceable_and_validated() {
        let custom = "[[channels.rules]]\nchannel = \"partner\"\n[[channels.rules.when]]\nsource = [\"crossbeam\"]\n";
        let config = Config::parse(custom, "t.toml").unwrap();
        assert_eq!(config.channels.rules.len(), 1);
        assert_eq!(config.channels.rules[0].channel, "partner");
        let bad = "[[channels.rules]]\nchannel = \"x\"\n[[channels.rules.when]]\nclick_id = [\"dclid\"]\n";
        let err = Config::parse(bad, "t.toml").unwrap_err().to_string();
        assert!(
            err.contains("channels.rules[0]") && err.contains("dclid"),
            "{err}"
        );
        let err = Config::parse("[touchpoints]\nsession_timeout_minutes = 0\n", "t.toml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("session_timeout_minutes"), "{err}");
    }

    #[test]
    fn stages_are_replaceable_and_validated() {
        let custom = "[[stages]]\nname = \"paying\"\nwhen = [\"customer\"]\n[[stages]]\nname = \"trouble\"\nwhen = [\"customer\", \"risk_signals:2\"]\n";
        let config = Config::parse(custom, "t.toml").unwrap();
        let names: Vec<&str> = config
            .stages
            .stages
            .iter()
            .map(|s| s.name.as_str())
            .collect();
        assert_eq!(names, ["paying", "trouble"]);
        assert_eq!(config.report_settings().stages, config.stages);
        let bad = "[[stages]]\nname = \"x\"\nwhen = [\"band:purple\"]\n";
        let err = Config::parse(bad, "t.toml").unwrap_err().to_string();
        assert!(
            err.contains("t.toml") && err.contains("stages[0] (x)") && err.contains("purple"),
            "{err}"
        );
        assert_eq!(Config::default().stages.stages.len(), 8);
    }

    #[test]
    fn secrets_are_not_printed() {
        let config = Config::parse("[stripe]\nwebhook_secret = \"whsec_abc\"\n", "t.toml").unwrap();
        assert_eq!(config.stripe.webhook_secret.as_deref(), Some("whsec_abc"));
        assert!(!config.to_toml().contains("whsec_abc"));
    }

    #[test]
    fn array_of_tables_headers_become_reference_paths() {
        let arrays: BTreeSet<String> = ["channels.rules", "channels.rules.when"]
            .map(String::from)
            .into();
        assert_eq!(
            key_path("channels.rules.when", &arrays),
            "channels.rules[].when[]"
        );
        assert_eq!(key_path("health.bands", &arrays), "health.bands");
    }

    #[test]
    fn comments_wrap_and_name_the_default() {
        let doc = reference::KeyDoc {
            default: "`30`".into(),
            meaning: "word ".repeat(30).trim_end().to_owned() + ".",
        };
        let mut out = String::new();
        push_comment(&mut out, Some(&doc));
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 2, "{out}");
        assert!(
            lines.iter().all(|l| l.starts_with("# ") && l.len() <= 98),
            "{out}"
        );
        assert!(out.ends_with("word. Default: 30.\n"), "{out}");
    }

    #[test]
    fn values_are_validated() {
        let err = Config::parse("[server]\nlisten = \"here\"\n", "t.toml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("server.listen"), "{err}");
        for setting in [
            "max_connections",
            "header_timeout_seconds",
            "body_timeout_seconds",
            "request_timeout_seconds",
        ] {
            let err = Config::parse(&format!("[server]\n{setting} = 0\n"), "t.toml")
                .unwrap_err()
                .to_string();
            assert!(err.contains(&format!("server.{setting}")), "{err}");
        }
        for budget in ["0", "-1", "nan", "100000"] {
            let err = Config::parse(
                &format!("[server]\nreport_timeout_seconds = {budget}\n"),
                "t.toml",
            )
            .unwrap_err()
            .to_string();
            assert!(err.contains("server.report_timeout_seconds"), "{err}");
        }
        for hours in ["0", "-2", "inf", "9000"] {
            let err = Config::parse(&format!("[server]\nsession_hours = {hours}\n"), "t.toml")
                .unwrap_err()
                .to_string();
            assert!(err.contains("server.session_hours"), "{err}");
        }
        assert_eq!(Config::default().server.session_hours, 12.0);
        let budget = Config::parse("[server]\nreport_timeout_seconds = 5\n", "t.toml").unwrap();
        assert_eq!(budget.server.report_timeout_seconds, 5.0);
        assert_eq!(Config::default().server.report_timeout_seconds, 60.0);
        let ok = Config::parse("[server]\nmax_connections = 8\n", "t.toml").unwrap();
        assert_eq!(
            (ok.server.max_connections, ok.server.header_timeout_seconds),
            (8, 10)
        );
        let err = Config::parse("[currency]\nreporting = \"EURO\"\n", "t.toml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("currency.reporting"), "{err}");
        let err = Config::parse("[currency.rates]\nEUR = -1.0\n", "t.toml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("currency.rates.EUR"), "{err}");
        let ok = Config::parse("[ingest]\nmax_batch_messages = 10\n", "t.toml").unwrap();
        assert_eq!(ok.ingest.max_batch_messages, 10);
        assert_eq!(ok.ingest.max_message_bytes, 32 * 1024);
    }
}
