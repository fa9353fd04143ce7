//! The reports there are and what each accepts: which parameters apply to it, which `--by`
//! groupings and which values. The CLI and the API both check a request against this one
//! declaration before any work, so a flag a report would ignore, or a value it would read as
//! "no group", is refused with what is accepted instead of silently giving other figures.

use tenure_engine::snapshot::Reads;
use tenure_engine::Model;
use tenure_health::{Band, SIGNALS};

use crate::revenue::TOUCH_GROUPINGS;
use crate::{ReportError, ReportParams, ReportSettings};

/// A parameter some reports take besides `as_of`, which every report takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Param {
    From,
    To,
    By,
    Model,
    Metric,
    Compare,
    Account,
    Stage,
    Band,
    Signal,
    Tier,
    Owner,
    Channel,
    Sort,
    Proposed,
}

impl Param {
    /// As the CLI spells it; the API's query name is the same in snake_case.
    pub const fn flag(self) -> &'static str {
        match self {
            Param::From => "--from",
            Param::To => "--to",
            Param::By => "--by",
            Param::Model => "--model",
            Param::Metric => "--metric",
            Param::Compare => "--compare",
            Param::Account => "ACCOUNT",
            Param::Stage => "--stage",
            Param::Band => "--band",
            Param::Signal => "--signal",
            Param::Tier => "--tier",
            Param::Owner => "--owner",
            Param::Channel => "--channel",
            Param::Sort => "--sort",
            Param::Proposed => "--proposed",
        }
    }

    fn given(self, p: &ReportParams) -> bool {
        let f = &p.filters;
        match self {
            Param::From => p.from.is_some(),
            Param::To => p.to.is_some(),
            Param::By => p.by.is_some(),
            Param::Model => p.model.is_some(),
            Param::Metric => p.metric.is_some(),
            Param::Compare => p.compare,
            Param::Account => p.account.is_some(),
            Param::Stage => f.stage.is_some(),
            Param::Band => f.band.is_some(),
            Param::Signal => f.signal.is_some(),
            Param::Tier => f.tier.is_some(),
            Param::Owner => f.owner.is_some(),
            Param::Channel => f.channel.is_some(),
            Param::Sort => p.sort.is_some(),
            Param::Proposed => p.proposed.is_some(),
        }
    }

    pub const ALL: [Param; 15] = [
        Param::From,
        Param::To,
        Param::By,
        Param::Model,
        Param::Metric,
        Param::Compare,
        Param::Account,
        Param::Stage,
        Param::Band,
        Param::Signal,
        Param::Tier,
        Param::Owner,
        Param::Channel,
        Param::Sort,
        Param::Proposed,
    ];
}

/// What `--by` may name for a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Groupings {
    /// These values of the account's first touch (or, for `touchpoints`, of each touch).
    Touch(&'static [&'static str]),
    /// The touch groupings, an account attribute or group trait, or the account's `stage` or
    /// `band` at the report instant: the revenue reports.
    Any,
}

/// One report's declaration.
#[derive(Debug, Clone, Copy)]
pub struct ReportSpec {
    pub name: &'static str,
    /// The parameters it reads, besides `as_of`.
    pub params: &'static [Param],
    /// What `--by` may name, when `params` holds [`Param::By`].
    pub by: Groupings,
    /// What of the model it reads whatever the parameters (every report reads the ledger,
    /// whose amounts in currencies without a rate it warns of); [`ReportSpec::reads`] adds
    /// what `--by`, `--model` and `--metric` make it read. A command answering it from a
    /// snapshot decodes only that: a part left out is empty, so a wrong declaration gives
    /// other figures (`tests/snapshot_reads.rs` runs every report both ways).
    pub reads: Reads,
}

/// The attributes every account may have (`accounts.csv`'s columns and the ledger's plan),
/// accepted by `--by` even where no account has them yet; any other name must be a group
/// trait some account has.
pub const ACCOUNT_ATTRIBUTES: &[&str] = &[
    "tier",
    "industry",
    "plan",
    "csm_owner",
    "employees",
    "name",
    "domain",
];

/// The account's state at the report instant.
const STATE_GROUPINGS: &[&str] = &["stage", "band"];

/// The sorts of `accounts`.
pub const SORTS: &[&str] = &["arr", "health", "risk"];

const FILTERS: &[Param] = &[
    Param::Stage,
    Param::Band,
    Param::Signal,
    Param::Tier,
    Param::Owner,
    Param::Channel,
];
const GROUPED: &[Param] = &[Param::By, Param::Model];
const GROUPED_WINDOW: &[Param] = &[Param::From, Param::To, Param::By, Param::Model];
const NO_BY: Groupings = Groupings::Touch(&[]);
/// The revenue reports: the ledger, and the profiles an account attribute groups by.
const REVENUE: Reads = Reads::LEDGER.with(Reads::PROFILES);
/// Reports of journeys and the revenue they bring.
const JOURNEYS: Reads = Reads::LEDGER.with(Reads::JOURNEYS);

/// Every report, in the order `tenure report --help` lists them.
pub const CATALOG: &[ReportSpec] = &[
    ReportSpec {
        name: "attribution",
        params: &[
            Param::From,
            Param::To,
            Param::By,
            Param::Model,
            Param::Metric,
            Param::Compare,
        ],
        by: Groupings::Touch(TOUCH_GROUPINGS),
        reads: JOURNEYS,
    },
    ReportSpec {
        name: "journey",
        params: &[Param::Account, Param::Model],
        by: NO_BY,
        reads: JOURNEYS,
    },
    ReportSpec {
        name: "mrr",
        params: GROUPED_WINDOW,
        by: Groupings::Any,
        reads: REVENUE,
    },
    ReportSpec {
        name: "retention",
        params: GROUPED_WINDOW,
        by: Groupings::Any,
        reads: REVENUE,
    },
    ReportSpec {
        name: "cohorts",
        params: GROUPED,
        by: Groupings::Any,
        reads: REVENUE,
    },
    ReportSpec {
        name: "survival",
        params: GROUPED,
        by: Groupings::Any,
        reads: REVENUE,
    },
    ReportSpec {
        name: "ltv",
        params: GROUPED,
        by: Groupings::Any,
        reads: REVENUE,
    },
    ReportSpec {
        name: "unit-economics",
        params: GROUPED_WINDOW,
        by: Groupings::Touch(crate::attribution::SPEND_GROUPINGS),
        reads: JOURNEYS,
    },
    ReportSpec {
        name: "touchpoints",
        params: &[Param::From, Param::To, Param::By],
        by: Groupings::Touch(TOUCH_GROUPINGS),
        reads: JOURNEYS,
    },
    ReportSpec {
        name: "funnel",
        params: &[Param::By],
        by: Groupings::Any,
        reads: Reads::ALL,
    },
    ReportSpec {
        name: "adoption",
        params: FILTERS,
        by: NO_BY,
        reads: Reads::ALL,
    },
    ReportSpec {
        name: "accounts",
        params: &[
            Param::Stage,
            Param::Band,
            Param::Signal,
            Param::Tier,
            Param::Owner,
            Param::Channel,
            Param::Sort,
        ],
        by: NO_BY,
        reads: Reads::ALL,
    },
    ReportSpec {
        name: "account",
        params: &[Param::Account],
        by: NO_BY,
        reads: Reads::ALL,
    },
    ReportSpec {
        name: "signals",
        params: FILTERS,
        by: NO_BY,
        reads: Reads::ALL,
    },
    ReportSpec {
        name: "renewals",
        params: FILTERS,
        by: NO_BY,
        reads: Reads::ALL,
    },
    ReportSpec {
        name: "health-backtest",
        params: &[Param::From, Param::Proposed],
        by: NO_BY,
        reads: Reads::ALL,
    },
    ReportSpec {
        name: "churn-model",
        params: &[],
        by: NO_BY,
        reads: Reads::ALL,
    },
    ReportSpec {
        name: "forecast",
        params: &[],
        by: NO_BY,
        reads: Reads::ALL,
    },
];

const NAMES: [&str; CATALOG.len()] = {
    let mut names = [""; CATALOG.len()];
    let mut i = 0;
    while i < CATALOG.len() {
        names[i] = CATALOG[i].name;
        i += 1;
    }
    names
};

/// The names of [`CATALOG`], in its order.
pub const REPORTS: &[&str] = &NAMES;

/// The declaration of report `name`.
pub fn spec(name: &str) -> Result<&'static ReportSpec, ReportError> {
    CATALOG
        .iter()
        .find(|s| s.name == name)
        .ok_or_else(|| ReportError::Unknown(name.to_owned()))
}

fn refuse(name: &'static str, reason: String) -> ReportError {
    ReportError::Parameter { name, reason }
}

fn one_of(value: &str, what: &str, accepted: &[&str]) -> String {
    format!(
        "{value:?} is not {what} (expected one of {})",
        accepted.join(", ")
    )
}

impl ReportSpec {
    /// What of the model the report reads with `params`: its [`ReportSpec::reads`], with
    /// the journeys a grouping by first touch or a model's credit reads, everything an
    /// account's stage or health band is scored from, and the product usage of `activated`.
    pub fn reads(&self, params: &ReportParams) -> Reads {
        let mut reads = self.reads;
        if let Some(by) = params.by.as_deref() {
            if TOUCH_GROUPINGS.contains(&by) {
                reads = reads.with(Reads::JOURNEYS);
            } else if STATE_GROUPINGS.contains(&by) {
                reads = Reads::ALL;
            }
        }
        if params.model.is_some() {
            reads = reads.with(Reads::JOURNEYS);
        }
        if params.metric.as_deref() == Some("activated") {
            reads = reads.with(Reads::USAGE);
        }
        reads
    }

    /// The reports that read `param`, for the message refusing it elsewhere.
    fn readers(param: Param) -> Vec<&'static str> {
        CATALOG
            .iter()
            .filter(|s| s.params.contains(&param))
            .map(|s| s.name)
            .collect()
    }

    /// `Ok` when every parameter given applies to this report and every value that can be
    /// judged without the data is one it accepts; else the first that is not, with what is.
    pub fn check(
        &self,
        params: &ReportParams,
        settings: &ReportSettings,
    ) -> Result<(), ReportError> {
        for param in Param::ALL {
            if param.given(params) && !self.params.contains(&param) {
                return Err(ReportError::NotApplicable {
                    report: self.name,
                    param: param.flag(),
                    readers: Self::readers(param).join(", "),
                });
            }
        }
        if self.params.contains(&Param::Account) && params.account.is_none() {
            return Err(refuse(
                "account",
                format!(
                    "the {} report is about one account: give its id, e.g. `tenure report {} ACCOUNT`",
                    self.name, self.name
                ),
            ));
        }
        if let Some(by) = params.by.as_deref() {
            self.check_by_shape(by)?;
        }
        if let Some(model) = params.model.as_deref() {
            if !tenure_attribution::Model::NAMES.contains(&model) {
                return Err(refuse(
                    "model",
                    one_of(model, "a model", &tenure_attribution::Model::NAMES),
                ));
            }
        }
        if let Some(metric) = params.metric.as_deref() {
            if !crate::attribution::METRICS.contains(&metric) {
                return Err(refuse(
                    "metric",
                    one_of(metric, "a metric", crate::attribution::METRICS),
                ));
            }
        }
        if let Some(sort) = params.sort.as_deref() {
            if !SORTS.contains(&sort) {
                return Err(refuse("sort", one_of(sort, "a sort", SORTS)));
            }
        }
        let f = &params.filters;
        if let Some(band) = f.band.as_deref() {
            if !Band::ALL.iter().any(|b| b.name() == band) {
                let names = Band::ALL.map(Band::name);
                return Err(refuse("band", one_of(band, "a band", &names)));
            }
        }
        if let Some(signal) = f.signal.as_deref() {
            if !SIGNALS.iter().any(|(n, _)| *n == signal) {
                let names: Vec<&str> = SIGNALS.iter().map(|(n, _)| *n).collect();
                return Err(refuse("signal", one_of(signal, "a signal", &names)));
            }
        }
        if let Some(stage) = f.stage.as_deref() {
            let stages = crate::lifecycle::stage_rules(settings)?;
            if stages.position(stage).is_none() {
                let names: Vec<&str> = stages.names().collect();
                return Err(refuse("stage", one_of(stage, "a configured stage", &names)));
            }
        }
        for (name, value) in [
            ("tier", &f.tier),
            ("owner", &f.owner),
            ("channel", &f.channel),
        ] {
            if value.as_deref().is_some_and(|v| v.trim().is_empty()) {
                return Err(refuse(name, "is empty".into()));
            }
        }
        Ok(())
    }

    /// What `--by` may name without looking at the data.
    fn check_by_shape(&self, by: &str) -> Result<(), ReportError> {
        let refuse_by = |expected: String| ReportError::Grouping {
            report: self.name,
            by: by.to_owned(),
            expected,
        };
        match self.by {
            Groupings::Touch(accepted) if !accepted.contains(&by) => {
                Err(refuse_by(accepted.join(", ")))
            }
            Groupings::Any if by.trim().is_empty() => Err(refuse_by(self.any_expected())),
            _ => Ok(()),
        }
    }

    fn any_expected(&self) -> String {
        let known: Vec<&str> = TOUCH_GROUPINGS
            .iter()
            .chain(ACCOUNT_ATTRIBUTES)
            .chain(STATE_GROUPINGS)
            .copied()
            .collect();
        format!("{}, or a group trait some account has", known.join(", "))
    }

    /// A `--by` naming an account trait must name one some account has: otherwise every
    /// account would fall under "(none)".
    pub fn check_by_in(&self, model: &Model, params: &ReportParams) -> Result<(), ReportError> {
        let Some(by) = params.by.as_deref() else {
            return Ok(());
        };
        if self.by != Groupings::Any
            || TOUCH_GROUPINGS.contains(&by)
            || STATE_GROUPINGS.contains(&by)
            || ACCOUNT_ATTRIBUTES.contains(&by)
            || model.profiles().has_attribute(by)
        {
            return Ok(());
        }
        Err(ReportError::Grouping {
            report: self.name,
            by: by.to_owned(),
            expected: self.any_expected(),
        })
    }
}
