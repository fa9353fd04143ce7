//! `[[conversions]]`: which milestone of an account is sent, with which value, to which
//! destinations, under each platform's name for it.
//!
//! ```toml
//! [[conversions]]
//! name = "renewed"
//! milestone = "renewed"
//! value = "predicted_ltv"
//! send = [
//!   { destination = "meta", as = "Renewed" },          # Meta's event_name
//!   { destination = "google", as = "987654321" },       # the conversion action's id
//!   { destination = "linkedin", as = "104012" },        # the conversion rule's id
//! ]
//! ```

use serde::{Deserialize, Serialize};
use tenure_playbooks::{Destination, DestinationKind};

use crate::ConversionError;

/// What an account reaches that a rule sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "milestone", rename_all = "snake_case")]
pub enum Milestone {
    /// The conversion (SPEC §3): the first MRR > 0 or won new-business deal. Once.
    FirstPayment,
    /// The first activation. Once.
    Activated,
    /// Still paying 90 days after the conversion. Once, on the 90th day.
    Retained90d,
    /// Each won renewal deal.
    Renewed,
    /// Each expansion of MRR after the conversion.
    Expanded,
    /// Each entry into the stage.
    StageEntered { stage: String },
    /// Each firing of the playbook for the account.
    PlaybookFired { playbook: String },
}

impl Milestone {
    pub const NAMES: [&'static str; 7] = [
        "first_payment",
        "activated",
        "retained_90d",
        "renewed",
        "expanded",
        "stage_entered",
        "playbook_fired",
    ];

    pub fn name(&self) -> &'static str {
        match self {
            Milestone::FirstPayment => "first_payment",
            Milestone::Activated => "activated",
            Milestone::Retained90d => "retained_90d",
            Milestone::Renewed => "renewed",
            Milestone::Expanded => "expanded",
            Milestone::StageEntered { .. } => "stage_entered",
            Milestone::PlaybookFired { .. } => "playbook_fired",
        }
    }
}

/// What a conversion is worth, as sent.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ValueKind {
    /// 12 × the account's first MRR.
    InitialArr,
    /// Revenue realized from the first MRR to the milestone.
    RealizedRevenue,
    /// For `expanded`, the expansion's ARR (12 × its MRR); for any other milestone, the ARR
    /// of every expansion from the conversion to the milestone.
    ExpansionArr,
    /// The account's predicted lifetime value, as `attribution --metric predicted_ltv` credits
    /// it: restated when it moves.
    PredictedLtv,
    /// A fixed amount in the reporting currency.
    Fixed(f64),
    /// No value: the platform counts the conversion only.
    None,
}

impl ValueKind {
    pub const NAMES: [&'static str; 6] = [
        "initial_arr",
        "realized_revenue",
        "expansion_arr",
        "predicted_ltv",
        "fixed",
        "none",
    ];

    pub fn name(&self) -> &'static str {
        match self {
            ValueKind::InitialArr => "initial_arr",
            ValueKind::RealizedRevenue => "realized_revenue",
            ValueKind::ExpansionArr => "expansion_arr",
            ValueKind::PredictedLtv => "predicted_ltv",
            ValueKind::Fixed(_) => "fixed",
            ValueKind::None => "none",
        }
    }
}

/// One destination of a rule, as written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SendConfig {
    pub destination: String,
    /// The platform's name for the conversion: Meta's event name, Google's conversion action
    /// id, LinkedIn's conversion rule id. For a webhook, optional (default: the rule's name);
    /// for the Google CSV, the conversion action's name as Google shows it.
    #[serde(default, rename = "as")]
    pub platform_name: Option<String>,
}

/// `[[conversions]]` as written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConversionConfig {
    pub name: String,
    /// One of [`Milestone::NAMES`].
    pub milestone: String,
    /// With `milestone = "stage_entered"`: the stage.
    #[serde(default)]
    pub stage: Option<String>,
    /// With `milestone = "playbook_fired"`: the playbook.
    #[serde(default)]
    pub playbook: Option<String>,
    /// One of [`ValueKind::NAMES`].
    #[serde(default = "no_value")]
    pub value: String,
    /// With `value = "fixed"`: the amount, in the reporting currency.
    #[serde(default)]
    pub fixed_value: Option<f64>,
    pub send: Vec<SendConfig>,
    /// How far back a milestone may be and still be sent when the rule first sees it (a rule
    /// switched on, a server that was down): default 90 days, the longest any platform takes.
    #[serde(default)]
    pub lookback_days: Option<u32>,
    /// A restatement is sent when the value moved by more than this share of the value sent
    /// (default 0.05); only where the platform takes corrections.
    #[serde(default)]
    pub restate_threshold: Option<f64>,
    /// `false` keeps the rule in the file without sending anything.
    #[serde(default = "yes")]
    pub enabled: bool,
}

fn yes() -> bool {
    true
}

fn no_value() -> String {
    "none".to_owned()
}

/// What every conversion rule's firings are recorded under, before the rule's name: they share
/// the playbooks' outbox, and whatever counts the playbooks' own firings (the per-account daily
/// cap on messages) leaves these out.
pub const FIRING_PREFIX: &str = "conversion:";

/// Whether a firing recorded under `name` is a conversion rule's, not a playbook's.
pub fn is_conversion(name: &str) -> bool {
    name.starts_with(FIRING_PREFIX)
}

/// Where a rule sends, checked against `[[destinations]]`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Send {
    pub destination: String,
    pub kind: DestinationKind,
    pub platform_name: String,
    /// How far before the conversion a click still counts for this platform, in days.
    pub click_window_days: u32,
}

impl Send {
    /// Whether the platform takes restatements and retractions: Google's APIs and CSV, and
    /// the generic webhook, which passes them on.
    pub fn takes_adjustments(&self) -> bool {
        matches!(
            self.kind,
            DestinationKind::Google
                | DestinationKind::GoogleAds
                | DestinationKind::GoogleCsv
                | DestinationKind::Webhook
        )
    }
}

/// A rule, checked.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rule {
    pub name: String,
    pub milestone: Milestone,
    pub value: ValueKind,
    pub send: Vec<Send>,
    pub lookback_days: u32,
    pub restate_threshold: f64,
    pub enabled: bool,
}

impl Rule {
    /// The longest any platform accepts a conversion after it happened.
    pub const DEFAULT_LOOKBACK_DAYS: u32 = 90;
    pub const DEFAULT_RESTATE_THRESHOLD: f64 = 0.05;

    /// What the firings of this rule are recorded under, apart from any playbook's name
    /// (a playbook's name has no `:`).
    pub fn firing_name(&self) -> String {
        format!("{FIRING_PREFIX}{}", self.name)
    }
}

/// The default click window of each platform, in days: how long before a conversion an ad
/// click still counts (Meta's attribution setting is 7-day click by default, Google's
/// conversion actions count clicks up to 90 days, LinkedIn's up to 90).
pub fn default_click_window_days(kind: DestinationKind) -> u32 {
    match kind {
        DestinationKind::Meta => 7,
        _ => 90,
    }
}

/// The names a rule may refer to.
#[derive(Debug, Clone, Copy)]
pub struct Known<'a> {
    pub destinations: &'a [Destination],
    pub stages: &'a [String],
    pub playbooks: &'a [String],
}

/// Checks `[[conversions]]`: each rule's milestone and value known, each destination
/// configured and able to take conversions, names unique.
pub fn validate(
    configs: &[ConversionConfig],
    known: Known<'_>,
) -> Result<Vec<Rule>, ConversionError> {
    let mut rules: Vec<Rule> = Vec::new();
    for (i, c) in configs.iter().enumerate() {
        let key = format!("conversions[{i}]");
        let rule = c.validate(&key, known)?;
        if let Some(first) = rules.iter().position(|r| r.name == rule.name) {
            return Err(ConversionError::new(
                format!("{key}.name"),
                format!("duplicate name {:?} (also conversions[{first}])", rule.name),
            ));
        }
        rules.push(rule);
    }
    Ok(rules)
}

impl ConversionConfig {
    fn validate(&self, key: &str, known: Known<'_>) -> Result<Rule, ConversionError> {
        let err = |field: &str, message: String| {
            Err(ConversionError::new(format!("{key}.{field}"), message))
        };
        if self.name.is_empty()
            || !self
                .name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        {
            return err(
                "name",
                format!(
                    "{:?} is not a rule name: use lowercase letters, digits and _",
                    self.name
                ),
            );
        }
        let milestone =
            match self.milestone.as_str() {
                "first_payment" => Milestone::FirstPayment,
                "activated" => Milestone::Activated,
                "retained_90d" => Milestone::Retained90d,
                "renewed" => Milestone::Renewed,
                "expanded" => Milestone::Expanded,
                "stage_entered" => match &self.stage {
                    Some(stage) if known.stages.contains(stage) => Milestone::StageEntered {
                        stage: stage.clone(),
                    },
                    Some(stage) => {
                        return err(
                            "stage",
                            format!(
                                "unknown stage {stage:?}; the configured stages are {}",
                                known.stages.join(", ")
                            ),
                        )
                    }
                    None => return err(
                        "stage",
                        "milestone = \"stage_entered\" needs the stage, e.g. stage = \"customer\""
                            .into(),
                    ),
                },
                "playbook_fired" => match &self.playbook {
                    Some(p) if known.playbooks.contains(p) => Milestone::PlaybookFired {
                        playbook: p.clone(),
                    },
                    Some(p) => {
                        return err("playbook", format!("no [[playbooks]] entry is named {p:?}"))
                    }
                    None => {
                        return err(
                            "playbook",
                            "milestone = \"playbook_fired\" needs the playbook's name".into(),
                        )
                    }
                },
                other => {
                    return err(
                        "milestone",
                        format!(
                            "unknown milestone {other:?}; one of {}",
                            Milestone::NAMES.join(", ")
                        ),
                    )
                }
            };
        if self.stage.is_some() && !matches!(milestone, Milestone::StageEntered { .. }) {
            return err(
                "stage",
                "only milestone = \"stage_entered\" takes a stage".into(),
            );
        }
        if self.playbook.is_some() && !matches!(milestone, Milestone::PlaybookFired { .. }) {
            return err(
                "playbook",
                "only milestone = \"playbook_fired\" takes a playbook".into(),
            );
        }
        let value = match self.value.as_str() {
            "initial_arr" => ValueKind::InitialArr,
            "realized_revenue" => ValueKind::RealizedRevenue,
            "expansion_arr" => ValueKind::ExpansionArr,
            "predicted_ltv" => ValueKind::PredictedLtv,
            "none" => ValueKind::None,
            "fixed" => match self.fixed_value {
                Some(v) if v.is_finite() && v >= 0.0 => ValueKind::Fixed(v),
                Some(v) => {
                    return err(
                        "fixed_value",
                        format!("{v} is not an amount: give a number ≥ 0"),
                    )
                }
                None => {
                    return err(
                        "fixed_value",
                        "value = \"fixed\" needs the amount, e.g. fixed_value = 500.0".into(),
                    )
                }
            },
            other => {
                return err(
                    "value",
                    format!(
                        "unknown value {other:?}; one of {}",
                        ValueKind::NAMES.join(", ")
                    ),
                )
            }
        };
        if self.fixed_value.is_some() && !matches!(value, ValueKind::Fixed(_)) {
            return err(
                "fixed_value",
                "only value = \"fixed\" takes a fixed_value".into(),
            );
        }
        if self.send.is_empty() {
            return err(
                "send",
                "a rule sends somewhere: list at least one destination, e.g. send = [{ destination = \"meta\", as = \"Purchase\" }]".into(),
            );
        }
        let mut send = Vec::new();
        for (j, s) in self.send.iter().enumerate() {
            let skey = format!("send[{j}]");
            let Some(d) = known.destinations.iter().find(|d| d.name == s.destination) else {
                return err(
                    &format!("{skey}.destination"),
                    format!("no [[destinations]] entry is named {:?}", s.destination),
                );
            };
            if !(d.kind.is_ad_platform() || d.kind == DestinationKind::Webhook) {
                return err(
                    &format!("{skey}.destination"),
                    format!(
                        "{:?} is a {} destination; conversions go to meta, google, google_ads, google_csv, linkedin or webhook destinations",
                        d.name,
                        d.kind.name()
                    ),
                );
            }
            if send.iter().any(|x: &Send| x.destination == d.name) {
                return err(
                    &format!("{skey}.destination"),
                    format!("{:?} is listed twice", d.name),
                );
            }
            let platform_name = match (&s.platform_name, d.kind) {
                (Some(n), _) if n.trim().is_empty() => {
                    return err(
                        &format!("{skey}.as"),
                        format!(
                            "an empty name: give the platform's name for the conversion ({})",
                            id_of(d.kind)
                        ),
                    )
                }
                (
                    Some(n),
                    DestinationKind::Google
                    | DestinationKind::GoogleAds
                    | DestinationKind::Linkedin,
                ) if !n.bytes().all(|b| b.is_ascii_digit()) => {
                    return err(
                        &format!("{skey}.as"),
                        format!(
                            "{n:?}: a {} conversion is named by its numeric id ({})",
                            d.kind.name(),
                            id_of(d.kind)
                        ),
                    )
                }
                (Some(n), _) => n.clone(),
                (None, DestinationKind::Webhook | DestinationKind::GoogleCsv) => self.name.clone(),
                (None, kind) => {
                    return err(
                        &format!("{skey}.as"),
                        format!(
                            "a {} destination needs the platform's name for the conversion: {}",
                            kind.name(),
                            id_of(kind)
                        ),
                    )
                }
            };
            send.push(Send {
                destination: d.name.clone(),
                kind: d.kind,
                platform_name,
                click_window_days: d
                    .click_window_days
                    .unwrap_or_else(|| default_click_window_days(d.kind)),
            });
        }
        let restate_threshold = self
            .restate_threshold
            .unwrap_or(Rule::DEFAULT_RESTATE_THRESHOLD);
        if !(restate_threshold.is_finite() && restate_threshold >= 0.0) {
            return err(
                "restate_threshold",
                format!("{restate_threshold} is not a share: give a number ≥ 0, e.g. 0.05"),
            );
        }
        let lookback_days = self.lookback_days.unwrap_or(Rule::DEFAULT_LOOKBACK_DAYS);
        if !(1..=3650).contains(&lookback_days) {
            return err(
                "lookback_days",
                format!("{lookback_days} is outside 1–3650 days"),
            );
        }
        Ok(Rule {
            name: self.name.clone(),
            milestone,
            value,
            send,
            lookback_days,
            restate_threshold,
            enabled: self.enabled,
        })
    }
}

/// What `as` names on each platform.
fn id_of(kind: DestinationKind) -> &'static str {
    match kind {
        DestinationKind::Meta => "the event name, e.g. as = \"Purchase\" or a custom event's name",
        DestinationKind::Google | DestinationKind::GoogleAds => {
            "the conversion action's id, e.g. as = \"987654321\""
        }
        DestinationKind::Linkedin => "the conversion rule's id, e.g. as = \"104012\"",
        _ => "the conversion's name",
    }
}
