//! Lifecycle stages (SPEC §4): ordered, configured definitions with entry rules. An account is in
//! the last stage of the list whose rule holds, so later stages override earlier ones
//! (`at_risk` over `renewal_window` over `adopting`…), and a stage's rule only has to say what
//! makes it true, not what excludes the others.
//!
//! A rule may also say what keeps it true once it has been: `stay`. A stage entered on a band
//! or a signal would otherwise be left the day the score crosses back over the threshold and
//! entered again the next, a history of daily flaps no one can act on; with `stay`, the rule
//! holds from the day its `when` does until the first day a `stay` condition fails (hysteresis).
//! So a rule holds or not by what the account's days since conversion were, not by one instant:
//! [`Standing`] is one instant's reading and [`Holding`] what it leaves for the next day.

use serde::{Deserialize, Serialize};

use crate::facts::{Facts, DAY_MS};
use crate::score::Band;
use crate::signals::{Signal, SignalKind, SIGNALS};

/// An account's depth of adoption at or above which it is adopting (SPEC §3, Adoption).
pub const ADOPTING_DEPTH: f64 = 0.5;

/// The first-time milestones SPEC §4 keeps on the account, in lifecycle order: the lifecycle
/// finds them, playbooks trigger on them.
pub const MILESTONES: &[&str] = &[
    "activated",
    "adopted",
    "first_expansion",
    "renewed",
    "advocate",
    "churned",
];

/// One stage: its name and the conditions that must all hold for an account to be in it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageRule {
    pub name: String,
    /// Every condition must hold to enter the stage. See [`Condition`] for the vocabulary.
    pub when: Vec<String>,
    /// Once entered, the rule keeps holding while every one of these holds (evaluated at the
    /// end of each day); none, and it holds only while `when` does.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stay: Vec<String>,
}

/// `[[stages]]`: the stages in lifecycle order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct StageSettings {
    pub stages: Vec<StageRule>,
}

fn rule(name: &str, when: &[&str], stay: &[&str]) -> StageRule {
    let texts = |cs: &[&str]| cs.iter().map(|c| (*c).to_owned()).collect();
    StageRule {
        name: name.to_owned(),
        when: texts(when),
        stay: texts(stay),
    }
}

impl Default for StageSettings {
    /// SPEC §4's stages, `churned` last: it ends the lifecycle, so the funnel gives it no next
    /// stage, and `advocate` comes after the growth stages it crowns. The order is also the
    /// precedence: an advocate whose contract ends within 90 days is in `renewal_window`, the
    /// stage with a deadline; `at_risk` (a red band) overrides all but `churned`.
    ///
    /// The two stages entered on the band stay until the band says the opposite, so a score
    /// wavering about one threshold does not move the account daily: `at_risk` (entered red)
    /// until green, or until no churn-risk signal is left; `advocate` (entered green, through
    /// `advocate_ready`) until red. Yellow is the band between. A stay asks no more than entry
    /// did: `advocate_ready` holds beside a detractor in an account of several people, so a
    /// detractor ending the stay would make the advocate flap again. `adopting` (entered at
    /// half the key features used in 30 days) likewise stays until under a quarter, so one key
    /// feature going unused for a month does not move the account back to `activated`.
    fn default() -> Self {
        StageSettings {
            stages: vec![
                rule("onboarding", &["converted"], &[]),
                rule("activated", &["customer", "activated"], &[]),
                rule(
                    "adopting",
                    &["customer", "activated", "adopting"],
                    &["customer", "activated", "adoption_depth:0.25"],
                ),
                rule("expanding", &["customer", "expanded_within:90"], &[]),
                rule(
                    "advocate",
                    &["customer", "signal:advocate_ready"],
                    &["customer", "not:band:red"],
                ),
                rule(
                    "renewal_window",
                    &["customer", "contract_end_within:90"],
                    &[],
                ),
                rule(
                    "at_risk",
                    &["customer", "band:red"],
                    &["customer", "not:band:green", "risk_signals:1"],
                ),
                rule("churned", &["churned"], &[]),
            ],
        }
    }
}

/// One condition of a stage's rule, parsed from its configured text.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    /// `converted`: became a customer (first payment or won new-business deal), whatever since.
    Converted,
    /// `customer`: converted and paying (MRR > 0).
    Customer,
    /// `churned`: has churned and is not paying.
    Churned,
    /// `activated`: met the activation rule.
    Activated,
    /// `adopting`: adoption depth ≥ 0.5.
    Adopting,
    /// `adoption_depth:X`: adoption depth ≥ X (a fraction, above 0 and at most 1).
    AdoptionDepth(f64),
    /// `expanded_within:N`: an expansion movement in the last N days.
    ExpandedWithin(u32),
    /// `contract_end_within:N`: the current contract ends within the next N days.
    ContractEndWithin(u32),
    /// `band:green|yellow|red`: the health band.
    Band(Band),
    /// `signal:NAME`: the signal holds.
    Signal(&'static str),
    /// `risk_signals:N`: at least N churn-risk signals hold.
    RiskSignals(u32),
    /// `not:CONDITION`: the condition does not hold (`not:band:green` holds with no band).
    Not(Box<Condition>),
}

const VOCABULARY: &str =
    "converted, customer, churned, activated, adopting, adoption_depth:FRACTION, expanded_within:DAYS, \
contract_end_within:DAYS, band:green|yellow|red, signal:NAME, risk_signals:COUNT, not:CONDITION";

impl Condition {
    pub fn parse(text: &str) -> Result<Condition, String> {
        if let Some(negated) = text.trim().strip_prefix("not:") {
            return Condition::parse(negated).map(|c| Condition::Not(Box::new(c)));
        }
        let (head, arg) = match text.split_once(':') {
            Some((h, a)) => (h.trim(), Some(a.trim())),
            None => (text.trim(), None),
        };
        let number = |a: Option<&str>| -> Result<u32, String> {
            a.and_then(|a| a.parse::<u32>().ok())
                .filter(|n| *n > 0)
                .ok_or_else(|| format!("{text:?} needs a whole number > 0 after the colon"))
        };
        match (head, arg) {
            ("converted", None) => Ok(Condition::Converted),
            ("customer", None) => Ok(Condition::Customer),
            ("churned", None) => Ok(Condition::Churned),
            ("activated", None) => Ok(Condition::Activated),
            ("adopting", None) => Ok(Condition::Adopting),
            ("adoption_depth", a) => a
                .and_then(|a| a.parse::<f64>().ok())
                .filter(|x| *x > 0.0 && *x <= 1.0)
                .map(Condition::AdoptionDepth)
                .ok_or_else(|| {
                    format!("{text:?} needs a fraction above 0 and at most 1 after the colon (e.g. adoption_depth:0.25)")
                }),
            ("expanded_within", a) => number(a).map(Condition::ExpandedWithin),
            ("contract_end_within", a) => number(a).map(Condition::ContractEndWithin),
            ("risk_signals", a) => number(a).map(Condition::RiskSignals),
            ("band", Some(b)) => Band::ALL
                .into_iter()
                .find(|x| x.name() == b)
                .map(Condition::Band)
                .ok_or_else(|| format!("{text:?}: {b:?} is not a band (green, yellow or red)")),
            ("signal", Some(s)) => SIGNALS
                .iter()
                .find(|(n, _)| *n == s)
                .map(|(n, _)| Condition::Signal(n))
                .ok_or_else(|| format!("{text:?}: {s:?} is not a signal")),
            _ => Err(format!(
                "{text:?} is not a stage condition (expected one of: {VOCABULARY})"
            )),
        }
    }

    fn holds(&self, f: &Facts, band: Option<Band>, signals: &[Signal]) -> bool {
        let converted = f.converted_at.is_some_and(|c| c <= f.as_of);
        let days = |n: u32| i64::from(n) * DAY_MS;
        match self {
            Condition::Converted => converted,
            Condition::Customer => converted && f.mrr > 0,
            Condition::Churned => f.churned_at.is_some_and(|c| c <= f.as_of) && f.mrr <= 0,
            Condition::Activated => f.activated_at.is_some_and(|a| a <= f.as_of),
            Condition::Adopting => f.adoption_depth().is_some_and(|d| d >= ADOPTING_DEPTH),
            Condition::AdoptionDepth(x) => f.adoption_depth().is_some_and(|d| d >= *x),
            Condition::ExpandedWithin(n) => f
                .last_expansion
                .is_some_and(|e| e <= f.as_of && f.as_of - e < days(*n)),
            Condition::ContractEndWithin(n) => f
                .contract_end
                .is_some_and(|end| end > f.as_of && end - f.as_of <= days(*n)),
            Condition::Band(b) => band == Some(*b),
            Condition::Signal(name) => signals.iter().any(|s| s.name == *name),
            Condition::RiskSignals(n) => {
                signals
                    .iter()
                    .filter(|s| s.kind == SignalKind::ChurnRisk)
                    .count()
                    >= *n as usize
            }
            Condition::Not(c) => !c.holds(f, band, signals),
        }
    }
}

/// Why stage settings cannot be used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("stages[{index}] ({name}): {reason}")]
pub struct StageError {
    pub index: usize,
    pub name: String,
    pub reason: String,
}

impl StageSettings {
    /// The rules parsed, ready to place accounts; the error names the stage and the condition.
    pub fn compile(&self) -> Result<Stages, StageError> {
        let error = |index: usize, reason: String| StageError {
            index,
            name: self.stages[index].name.clone(),
            reason,
        };
        let mut rules = Vec::with_capacity(self.stages.len());
        for (i, stage) in self.stages.iter().enumerate() {
            if stage.name.trim().is_empty() {
                return Err(error(i, "a stage needs a name".into()));
            }
            if self.stages[..i].iter().any(|s| s.name == stage.name) {
                return Err(error(
                    i,
                    "this name is already used by an earlier stage".into(),
                ));
            }
            if stage.when.is_empty() {
                return Err(error(
                    i,
                    format!("`when` lists no condition (expected some of: {VOCABULARY})"),
                ));
            }
            let parse = |texts: &[String]| {
                texts
                    .iter()
                    .map(|c| Condition::parse(c))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|reason| error(i, reason))
            };
            rules.push(Rule {
                name: stage.name.clone(),
                when: parse(&stage.when)?,
                stay: parse(&stage.stay)?,
            });
        }
        Ok(Stages { rules })
    }

    pub fn validate(&self) -> Result<(), StageError> {
        self.compile().map(drop)
    }
}

#[derive(Debug, Clone, PartialEq)]
struct Rule {
    name: String,
    when: Vec<Condition>,
    stay: Vec<Condition>,
}

/// Stage rules, parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct Stages {
    rules: Vec<Rule>,
}

/// One instant's reading of every rule: whether its `when` holds, and whether its `stay` does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Standing {
    enters: Vec<bool>,
    stays: Vec<bool>,
}

/// Which rules hold at an instant, all that an evaluation passes on to the next day's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holding(Vec<bool>);

impl Standing {
    /// Whether what held the day before makes no difference: no rule stays without entering.
    /// Looking back for an instant's stage can stop at such a day.
    pub fn settled(&self) -> bool {
        self.enters.iter().zip(&self.stays).all(|(e, s)| *e || !*s)
    }

    /// The rules that hold, given those that held at the previous day's end (none: the first
    /// day, or a day after one with no pay, see the lifecycle).
    pub fn holding(&self, before: Option<&Holding>) -> Holding {
        Holding(
            self.enters
                .iter()
                .zip(&self.stays)
                .enumerate()
                .map(|(i, (enters, stays))| {
                    *enters || (*stays && before.is_some_and(|b| b.0.get(i) == Some(&true)))
                })
                .collect(),
        )
    }
}

impl Stages {
    /// The stage names in lifecycle order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.rules.iter().map(|r| r.name.as_str())
    }

    /// Where `name` is in the lifecycle order.
    pub fn position(&self, name: &str) -> Option<usize> {
        self.rules.iter().position(|r| r.name == name)
    }

    /// Every rule read at `facts.as_of`; `band` and `signals` are the account's at that instant.
    pub fn standing(&self, f: &Facts, band: Option<Band>, signals: &[Signal]) -> Standing {
        let all = |cs: &[Condition]| cs.iter().all(|c| c.holds(f, band, signals));
        Standing {
            enters: self.rules.iter().map(|r| all(&r.when)).collect(),
            stays: self
                .rules
                .iter()
                .map(|r| !r.stay.is_empty() && all(&r.stay))
                .collect(),
        }
    }

    /// The stage the holding rules place the account in: the last that holds, or none (a
    /// prospect, or a rule set that leaves the account out).
    pub fn stage(&self, holding: &Holding) -> Option<&str> {
        holding
            .0
            .iter()
            .rposition(|h| *h)
            .map(|i| self.rules[i].name.as_str())
    }

    /// The stage at `facts.as_of` of an account for which no rule held the day before (or of
    /// rules without `stay`): the last stage whose `when` holds.
    pub fn stage_of(&self, f: &Facts, band: Option<Band>, signals: &[Signal]) -> Option<&str> {
        self.stage(&self.standing(f, band, signals).holding(None))
    }
}
