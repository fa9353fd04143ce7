//! When a playbook fires: on a change, on a state, or on the calendar.

use serde::{Deserialize, Serialize};
use tenure_core::Timestamp;

use crate::config::Vocabulary;
use crate::filter::{Check, Filter};
use crate::span::{Span, DAY};
use crate::status::{AccountDate, Change, Status};
use crate::PlaybookError;

/// How long after its due instant a calendar trigger still holds. A scheduler that was down
/// catches up within it; past it the date is history, so an account imported with a
/// conversion three years ago is not sent its "day 14" e-mail today.
pub const CALENDAR_GRACE_DAYS: u32 = 7;

/// `trigger` as written: exactly one of the kinds, with `where` only beside `event` and
/// `for_days` only beside `state`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TriggerConfig {
    pub signal_raised: Option<String>,
    pub signal_cleared: Option<String>,
    pub stage_entered: Option<String>,
    pub stage_left: Option<String>,
    pub milestone: Option<String>,
    pub event: Option<String>,
    #[serde(rename = "where")]
    pub conditions: Vec<WhereConfig>,
    pub state: Option<Filter>,
    pub for_days: Option<u32>,
    pub calendar: Option<String>,
    /// A handoff's SLA passed without the owner acting: a team's name, or `"any"`.
    pub sla_breached: Option<String>,
}

/// What `sla_breached` is given to fire on a breach of any team's SLA.
pub const ANY_TEAM: &str = "any";

/// How long after its due instant a breached SLA still fires a playbook: a scheduler that was
/// down catches up within it, and a playbook switched on does not reach back further.
pub const SLA_BREACH_GRACE_DAYS: u32 = CALENDAR_GRACE_DAYS;

/// A value an event property is compared with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged, expecting = "a text, a number or true/false")]
pub enum Scalar {
    Bool(bool),
    Number(f64),
    Text(String),
}

impl Scalar {
    fn equals(&self, value: &serde_json::Value) -> bool {
        match (self, value) {
            (Scalar::Bool(a), serde_json::Value::Bool(b)) => a == b,
            (Scalar::Number(a), serde_json::Value::Number(b)) => b.as_f64() == Some(*a),
            (Scalar::Text(a), serde_json::Value::String(b)) => a == b,
            _ => false,
        }
    }
}

/// One `where` entry as written: a property and exactly one test.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WhereConfig {
    pub property: String,
    pub equals: Option<Scalar>,
    pub not_equals: Option<Scalar>,
    pub greater_than: Option<f64>,
    pub less_than: Option<f64>,
    pub exists: Option<bool>,
}

/// A test of an event property.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PropertyTest {
    Equals(Scalar),
    /// Also holds when the property is absent.
    NotEquals(Scalar),
    GreaterThan(f64),
    LessThan(f64),
    Exists(bool),
}

/// A condition on an event's property; `property` may be a dotted path into nested objects.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PropertyCondition {
    pub property: String,
    pub test: PropertyTest,
}

impl PropertyCondition {
    pub fn holds(&self, properties: &serde_json::Map<String, serde_json::Value>) -> bool {
        let mut parts = self.property.split('.');
        let first = parts.next().and_then(|p| properties.get(p));
        let value = parts.fold(first, |v, p| v.and_then(|v| v.get(p)));
        match (&self.test, value) {
            (PropertyTest::Exists(wanted), v) => v.is_some_and(|v| !v.is_null()) == *wanted,
            (PropertyTest::Equals(s), Some(v)) => s.equals(v),
            (PropertyTest::NotEquals(s), v) => !v.is_some_and(|v| s.equals(v)),
            (PropertyTest::GreaterThan(x), Some(v)) => v.as_f64().is_some_and(|v| v > *x),
            (PropertyTest::LessThan(x), Some(v)) => v.as_f64().is_some_and(|v| v < *x),
            (_, None) => false,
        }
    }
}

/// `<date> ± <span>`: an instant relative to one of the account's dates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CalendarRule {
    pub date: AccountDate,
    /// Milliseconds added to the date (negative: before it).
    pub offset_ms: i64,
}

impl CalendarRule {
    /// Parses `"contract_end - 90d"`, `"conversion + 14d"` or a bare `"renewal"`.
    pub fn parse(text: &str) -> Result<CalendarRule, String> {
        let (name, sign, span) = match text.find(['+', '-']) {
            Some(i) => (
                &text[..i],
                if &text[i..=i] == "-" { -1 } else { 1 },
                Some(&text[i + 1..]),
            ),
            None => (text, 1, None),
        };
        let name = name.trim();
        let date = AccountDate::parse(name).ok_or_else(|| {
            let dates: Vec<&str> = AccountDate::ALL.iter().map(|d| d.name()).collect();
            format!(
                "unknown account date {name:?} in {text:?} (dates: {}); write e.g. \"contract_end - 90d\"",
                dates.join(", ")
            )
        })?;
        let offset_ms = match span {
            Some(span) => sign * Span::parse(span.trim())?.millis(),
            None => 0,
        };
        Ok(CalendarRule { date, offset_ms })
    }

    /// When it is due for `status`; `None` when the account lacks the date.
    pub fn due(&self, status: &Status) -> Option<Timestamp> {
        status
            .dates
            .get(&self.date)
            .map(|d| d.plus_millis(self.offset_ms))
    }
}

impl std::fmt::Display for CalendarRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let span = |ms: i64| Span::from_millis(ms.abs());
        match self.offset_ms {
            0 => write!(f, "{}", self.date.name()),
            ms if ms < 0 => write!(f, "{} - {}", self.date.name(), span(ms)),
            ms => write!(f, "{} + {}", self.date.name(), span(ms)),
        }
    }
}

impl Serialize for CalendarRule {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// A trigger, validated.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    SignalRaised(String),
    SignalCleared(String),
    StageEntered(String),
    StageLeft(String),
    Milestone(String),
    Event {
        name: String,
        conditions: Vec<PropertyCondition>,
    },
    /// The account matches `filter`, and has for `for_days` days (0: as soon as it does).
    State {
        filter: Box<Filter>,
        for_days: u32,
    },
    Calendar(CalendarRule),
    /// The SLA of a handoff to this team (or [`ANY_TEAM`]) passed without the owner acting;
    /// the scheduler finds breaches in the store and fires on each as a change
    /// ([`Change::SlaBreached`]).
    SlaBreached(String),
}

impl Trigger {
    /// Whether this trigger fires on changes (and so from the live path) rather than on what
    /// holds at an instant (and so from the scheduler).
    pub fn on_change(&self) -> bool {
        !matches!(self, Trigger::State { .. } | Trigger::Calendar(_))
    }

    /// Whether `change` is one this trigger fires on.
    pub fn fires_on(&self, change: &Change) -> bool {
        match (self, change) {
            (Trigger::SignalRaised(s), Change::SignalRaised { signal, .. })
            | (Trigger::SignalCleared(s), Change::SignalCleared { signal, .. }) => s == signal,
            (Trigger::StageEntered(s), Change::StageEntered { stage, .. })
            | (Trigger::StageLeft(s), Change::StageLeft { stage, .. }) => s == stage,
            (Trigger::Milestone(m), Change::MilestoneReached { milestone, .. }) => m == milestone,
            (
                Trigger::Event { name, conditions },
                Change::Event {
                    name: seen,
                    properties,
                    ..
                },
            ) => name == seen && conditions.iter().all(|c| c.holds(properties)),
            (Trigger::SlaBreached(t), Change::SlaBreached { team, .. }) => {
                t == ANY_TEAM || t == team
            }
            _ => false,
        }
    }

    /// For a state or calendar trigger: whether it holds for `status`, explained, and the
    /// instant that identifies this holding (when the state began, when the date fell due),
    /// the same whenever it is evaluated. `None` for change triggers, which no status decides.
    pub fn holding(&self, status: &Status) -> Option<(Check, Option<Timestamp>)> {
        match self {
            Trigger::State { filter, for_days } => {
                let since = filter.held_since(status);
                let wait = i64::from(*for_days) * DAY;
                let held = since.filter(|s| s.plus_millis(wait) <= status.at);
                let condition = format!(
                    "state {} for {for_days} days",
                    serde_json::to_string(filter).unwrap_or_default()
                );
                let found = match since {
                    None => "not in that state".to_owned(),
                    Some(s) if s == Timestamp::MIN => "in that state".to_owned(),
                    Some(s) => format!("in that state since {s}"),
                };
                Some((
                    Check {
                        condition,
                        held: held.is_some(),
                        found,
                    },
                    held,
                ))
            }
            Trigger::Calendar(rule) => {
                let due = rule.due(status);
                let grace = i64::from(CALENDAR_GRACE_DAYS) * DAY;
                let held = due.filter(|d| *d <= status.at && status.at < d.plus_millis(grace));
                let found = match due {
                    None => format!("no {} date", rule.date.name()),
                    Some(d) => format!("due {d}"),
                };
                Some((
                    Check {
                        condition: format!(
                            "calendar {rule} reached within {CALENDAR_GRACE_DAYS} days"
                        ),
                        held: held.is_some(),
                        found,
                    },
                    held,
                ))
            }
            _ => None,
        }
    }
}

impl TriggerConfig {
    pub(crate) fn validate(
        &self,
        key: &str,
        vocabulary: &Vocabulary,
    ) -> Result<Trigger, PlaybookError> {
        let err =
            |field: &str, message: String| PlaybookError::new(format!("{key}.{field}"), message);
        let kinds = [
            ("signal_raised", self.signal_raised.is_some()),
            ("signal_cleared", self.signal_cleared.is_some()),
            ("stage_entered", self.stage_entered.is_some()),
            ("stage_left", self.stage_left.is_some()),
            ("milestone", self.milestone.is_some()),
            ("event", self.event.is_some()),
            ("state", self.state.is_some()),
            ("calendar", self.calendar.is_some()),
            ("sla_breached", self.sla_breached.is_some()),
        ];
        let given: Vec<&str> = kinds.iter().filter(|k| k.1).map(|k| k.0).collect();
        let all: Vec<&str> = kinds.iter().map(|k| k.0).collect();
        if given.len() != 1 {
            return Err(PlaybookError::new(
                key.to_owned(),
                format!(
                    "give exactly one of {} (found {})",
                    all.join(", "),
                    if given.is_empty() {
                        "none".to_owned()
                    } else {
                        given.join(", ")
                    }
                ),
            ));
        }
        if !self.conditions.is_empty() && self.event.is_none() {
            return Err(err(
                "where",
                "`where` tests an event's properties; use it with `event`".into(),
            ));
        }
        if self.for_days.is_some() && self.state.is_none() {
            return Err(err(
                "for_days",
                "`for_days` counts how long a `state` has held; use it with `state`".into(),
            ));
        }
        let signal = |field: &str, name: &str| {
            let signals = vocabulary.signals();
            if signals.contains(&name) {
                Ok(name.to_owned())
            } else {
                Err(err(
                    field,
                    format!("unknown signal {name:?} (signals: {})", signals.join(", ")),
                ))
            }
        };
        let stage = |field: &str, name: &str| {
            if vocabulary.stages.iter().any(|s| s == name) {
                Ok(name.to_owned())
            } else {
                Err(err(
                    field,
                    format!(
                        "unknown stage {name:?} (stages: {})",
                        vocabulary.stages.join(", ")
                    ),
                ))
            }
        };
        if let Some(s) = &self.signal_raised {
            return signal("signal_raised", s).map(Trigger::SignalRaised);
        }
        if let Some(s) = &self.signal_cleared {
            return signal("signal_cleared", s).map(Trigger::SignalCleared);
        }
        if let Some(s) = &self.stage_entered {
            return stage("stage_entered", s).map(Trigger::StageEntered);
        }
        if let Some(s) = &self.stage_left {
            return stage("stage_left", s).map(Trigger::StageLeft);
        }
        if let Some(m) = &self.milestone {
            if !crate::MILESTONES.contains(&m.as_str()) {
                return Err(err(
                    "milestone",
                    format!(
                        "unknown milestone {m:?} (milestones: {})",
                        crate::MILESTONES.join(", ")
                    ),
                ));
            }
            return Ok(Trigger::Milestone(m.clone()));
        }
        if let Some(name) = &self.event {
            if name.trim().is_empty() {
                return Err(err(
                    "event",
                    "name the track event, e.g. \"Report Created\"".into(),
                ));
            }
            let conditions = self
                .conditions
                .iter()
                .enumerate()
                .map(|(i, w)| w.validate(&format!("{key}.where[{i}]")))
                .collect::<Result<_, _>>()?;
            return Ok(Trigger::Event {
                name: name.clone(),
                conditions,
            });
        }
        if let Some(filter) = &self.state {
            filter.validate(&format!("{key}.state"), vocabulary)?;
            if filter.include_churned {
                return Err(err(
                    "state.include_churned",
                    "whether churned accounts count is said in `for_whom`, not in the state".into(),
                ));
            }
            if *filter == Filter::default() {
                return Err(err(
                    "state",
                    "an empty state holds for every account; say which (e.g. { band = \"red\" })"
                        .into(),
                ));
            }
            return Ok(Trigger::State {
                filter: Box::new(filter.clone()),
                for_days: self.for_days.unwrap_or(0),
            });
        }
        if let Some(team) = &self.sla_breached {
            let team = team.trim();
            if team.is_empty() {
                return Err(err(
                    "sla_breached",
                    "name the team whose breaches fire the playbook, e.g. \"sales\", or \"any\""
                        .into(),
                ));
            }
            return Ok(Trigger::SlaBreached(team.to_owned()));
        }
        let text = self.calendar.as_deref().unwrap_or_default();
        CalendarRule::parse(text)
            .map(Trigger::Calendar)
            .map_err(|m| err("calendar", m))
    }
}

impl WhereConfig {
    fn validate(&self, key: &str) -> Result<PropertyCondition, PlaybookError> {
        if self.property.trim().is_empty() {
            return Err(PlaybookError::new(
                format!("{key}.property"),
                "name the property to test, e.g. property = \"plan\"".into(),
            ));
        }
        let mut tests = Vec::new();
        if let Some(s) = &self.equals {
            tests.push(PropertyTest::Equals(s.clone()));
        }
        if let Some(s) = &self.not_equals {
            tests.push(PropertyTest::NotEquals(s.clone()));
        }
        if let Some(x) = self.greater_than {
            tests.push(PropertyTest::GreaterThan(x));
        }
        if let Some(x) = self.less_than {
            tests.push(PropertyTest::LessThan(x));
        }
        if let Some(b) = self.exists {
            tests.push(PropertyTest::Exists(b));
        }
        if tests.len() != 1 {
            return Err(PlaybookError::new(
                key.to_owned(),
                "give exactly one test of equals, not_equals, greater_than, less_than, exists (write two entries to test twice)".into(),
            ));
        }
        Ok(PropertyCondition {
            property: self.property.trim().to_owned(),
            test: tests.remove(0),
        })
    }
}
