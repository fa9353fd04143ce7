//! The reports there are and what each accepts: which parameters apply to it, which `--by`
//! groupings and which values. The CLI and the API both check a request against this one
//! declaration before any work, so a flag a report would ignore, or a value it would read as
//! "no group", is refused with what is accepted instead of silently giving other figures.

use tenure_engine::snapshot::Reads;
use tenure_engine::Model;
use tenure_health::{Band, SIGNALS};

use crate::grouping::TOUCH_GROUPINGS;
use crate::revenue::Revenue;
use crate::row::{either_of, schema_of, RowSchema};
use crate::{Lifecycles, Report, ReportError, ReportParams, ReportSettings, ShouldStop, WithModel};

/// A parameter some reports take besides `as_of`, which every report takes. This is the one
/// declaration of each: the CLI's flags, the API's query parameters, the API document and the
/// report list (`GET /api/v1/reports`) are all made from it.
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
    Limit,
    Cursor,
    Campaign,
    Search,
    Control,
    ExpectedSplit,
}

/// What a parameter's value is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamKind {
    /// Free text, or one of [`Param::values`].
    Text,
    /// An RFC 3339 instant or a date.
    Instant,
    /// Given or not; no value.
    Flag,
    /// A whole number.
    Integer,
    /// A configuration file: a path on the CLI, the request body over the API.
    File,
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
            Param::Limit => "--limit",
            Param::Cursor => "--cursor",
            Param::Campaign => "--campaign",
            Param::Search => "--search",
            Param::Control => "--control",
            Param::ExpectedSplit => "--expected-split",
        }
    }

    /// Its name in the API's query (and the CLI flag's, without the dashes).
    pub const fn name(self) -> &'static str {
        match self {
            Param::From => "from",
            Param::To => "to",
            Param::By => "by",
            Param::Model => "model",
            Param::Metric => "metric",
            Param::Compare => "compare",
            Param::Account => "account",
            Param::Stage => "stage",
            Param::Band => "band",
            Param::Signal => "signal",
            Param::Tier => "tier",
            Param::Owner => "owner",
            Param::Channel => "channel",
            Param::Sort => "sort",
            Param::Proposed => "proposed",
            Param::Limit => "limit",
            Param::Cursor => "cursor",
            Param::Campaign => "campaign",
            Param::Search => "search",
            Param::Control => "control",
            Param::ExpectedSplit => "expected_split",
        }
    }

    /// The parameter `name` names in a query, if any.
    pub fn named(name: &str) -> Option<Param> {
        Param::ALL.into_iter().find(|p| p.name() == name)
    }

    pub const fn kind(self) -> ParamKind {
        match self {
            Param::From | Param::To => ParamKind::Instant,
            Param::Compare => ParamKind::Flag,
            Param::Limit => ParamKind::Integer,
            Param::Proposed => ParamKind::File,
            _ => ParamKind::Text,
        }
    }

    /// What it means, for `--help`, the API document and the report list.
    pub const fn help(self) -> &'static str {
        match self {
            Param::From => "Start of the window (inclusive; a date means its start)",
            Param::To => "End of the window (inclusive; a date means its end)",
            Param::By => {
                "Grouping: an acquisition touch field (channel, source, medium, campaign, \
                 content), an account attribute (tier, industry, plan, csm_owner, …, or a group \
                 trait such as onboarding_variant), or the account's stage or band at the \
                 report instant; which of these a report takes is in its `by`"
            }
            Param::Model => {
                "Attribution model; with the revenue reports' touch groupings, splits each \
                 account over its journey's touches by that model's credit (any model but markov)"
            }
            Param::Metric => "The outcome attribution credits (default conversions)",
            Param::Compare => "Every attribution model side by side",
            Param::Account => "The account the report is about (the CLI's first argument)",
            Param::Stage => "Only accounts in this lifecycle stage (e.g. at_risk)",
            Param::Band => "Only accounts in this health band",
            Param::Signal => "Only accounts with this signal",
            Param::Tier => "Only accounts of this tier",
            Param::Owner => "Only accounts of this CSM owner",
            Param::Channel => "Only accounts whose first-touch channel is this",
            Param::Sort => {
                "Order of the accounts: arr (largest first, the default), health (lowest \
                 first) or risk (most churn-risk signals first)"
            }
            Param::Proposed => {
                "A configuration file whose [health] is compared with the current one (the \
                 API's POST body)"
            }
            Param::Limit => {
                "At most this many rows (1 to 10000), with a cursor to the next page; default: \
                 every row"
            }
            Param::Cursor => {
                "The next page: the `next_cursor` of the previous page, whose instant it keeps"
            }
            Param::Campaign => "The campaign (`utm_campaign`) whose accounts the report lists",
            Param::Search => {
                "Only accounts whose name or domain contains this text (case-insensitive)"
            }
            Param::Control => {
                "The variant the others are compared with; default: the variant named \
                 `control`, else the first in sort order"
            }
            Param::ExpectedSplit => {
                "The split of the accounts the experiment meant, as weights by variant \
                 (`control=50,guided=50`), for the sample-ratio check; default: equal"
            }
        }
    }

    /// Whether a report taking it cannot run without it: it names what the report is about.
    pub const fn required(self) -> bool {
        matches!(self, Param::Account | Param::Campaign)
    }

    /// The values it accepts when they are a fixed list.
    pub fn values(self) -> Option<Vec<&'static str>> {
        match self {
            Param::Model => Some(tenure_attribution::Model::NAMES.to_vec()),
            Param::Metric => Some(crate::attribution::METRICS.to_vec()),
            Param::Band => Some(Band::ALL.map(Band::name).to_vec()),
            Param::Signal => Some(SIGNALS.iter().map(|(n, _)| *n).collect()),
            Param::Sort => Some(SORTS.to_vec()),
            _ => None,
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
            Param::Limit => p.limit.is_some(),
            Param::Cursor => p.cursor.is_some(),
            Param::Campaign => p.campaign.is_some(),
            Param::Search => f.search.is_some(),
            Param::Control => p.control.is_some(),
            Param::ExpectedSplit => p.expected_split.is_some(),
        }
    }

    pub const ALL: [Param; 21] = [
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
        Param::Limit,
        Param::Cursor,
        Param::Campaign,
        Param::Search,
        Param::Control,
        Param::ExpectedSplit,
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
    /// The variant of an experiment: a group trait some account has, or the name of an
    /// experiment `Experiment Viewed` events name (`experiment`). Required.
    Variant,
}

/// How a report runs: over the model in one turn, or in turns it takes itself through the
/// caller's `WithModel` (the reports that score every customer on many days), with what the
/// caller keeps between reports (`Lifecycles`).
#[derive(Debug, Clone, Copy)]
pub enum Runner {
    Once(RunOnce),
    Keeping(RunKeeping),
    Turns(RunInTurns),
}

/// A report over the model, in one turn.
pub type RunOnce = fn(&Model, &ReportSettings, &ReportParams) -> Result<Report, ReportError>;

/// A report over the model in one turn that goes on from what the caller keeps between reports
/// (the account reports, from each customer's day ends: `DayEnds`).
pub type RunKeeping =
    fn(&Model, &ReportSettings, &ReportParams, Option<&Lifecycles>) -> Result<Report, ReportError>;

/// A report that takes the model in turns, asking `ShouldStop` between them.
pub type RunInTurns = fn(
    WithModel,
    &ReportSettings,
    &ReportParams,
    ShouldStop,
    Option<&Lifecycles>,
) -> Result<Report, ReportError>;

/// One report's declaration.
#[derive(Debug, Clone, Copy)]
pub struct ReportSpec {
    pub name: &'static str,
    /// What it answers, in one line.
    pub about: &'static str,
    /// How it runs.
    pub run: Runner,
    /// The parameters it reads, besides `as_of`.
    pub params: &'static [Param],
    /// What `--by` may name, when `params` holds [`Param::By`].
    pub by: Groupings,
    /// Its row type, for the API document.
    pub rows: RowSchema,
    /// Its summary's type, for the API document, when it has a summary of one shape.
    pub summary: Option<RowSchema>,
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

/// What `--by` of a report by variant may name.
const VARIANT_EXPECTED: &str = "a group trait some account has (e.g. onboarding_variant), or an \
     experiment `Experiment Viewed` events showed some account (e.g. onboarding_v2)";

/// The sorts of `accounts`.
pub const SORTS: &[&str] = &["arr", "health", "risk"];

/// The filters of the account reports, then pages: the lists of accounts and signals take
/// both, `adoption` the filters only.
const FILTERS_PAGED: &[Param] = &[
    Param::Stage,
    Param::Band,
    Param::Signal,
    Param::Tier,
    Param::Owner,
    Param::Channel,
    Param::Limit,
    Param::Cursor,
];
const FILTERS: &[Param] = FILTERS_PAGED.split_at(FILTERS_PAGED.len() - 2).0;
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
        about: "Lifetime outcomes (conversions, revenue, LTV, retention) credited to channels, sources, campaigns by a model",
        run: Runner::Turns(crate::attribution::report_in_turns),
        rows: either_of::<crate::AttributionRow, crate::AttributionCompareRow>,
        summary: Some(schema_of::<crate::AttributionSummary>),
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
        name: "campaign-accounts",
        about: "The converting accounts whose journeys a campaign touched, with each one's credit to it under a model",
        run: Runner::Turns(crate::attribution::campaign_accounts_in_turns),
        rows: schema_of::<crate::CampaignAccountsRow>,
        summary: Some(schema_of::<crate::CampaignAccountsSummary>),
        params: &[
            Param::From,
            Param::To,
            Param::Campaign,
            Param::Model,
            Param::Metric,
        ],
        by: NO_BY,
        reads: JOURNEYS.with(Reads::PROFILES),
    },
    ReportSpec {
        name: "journey",
        about: "One account's touchpoints, which of them are in its converting journey, and each one's credit",
        run: Runner::Once(crate::attribution::journey_report),
        rows: schema_of::<crate::JourneyRow>,
        summary: Some(schema_of::<crate::JourneySummary>),
        params: &[Param::Account, Param::Model],
        by: NO_BY,
        reads: JOURNEYS,
    },
    ReportSpec {
        name: "mrr",
        about: "MRR movements by month: new, expansion, contraction, churn, reactivation; MRR, ARR, customers, churn rates",
        run: Runner::Once(|model, settings, params| {
            crate::mrr::report(&Revenue::build(model, settings, params)?, params)
        }),
        rows: schema_of::<crate::MrrRow>,
        summary: None,
        params: GROUPED_WINDOW,
        by: Groupings::Any,
        reads: REVENUE,
    },
    ReportSpec {
        name: "retention",
        about: "Net and gross revenue retention and logo retention over the window",
        run: Runner::Once(|model, settings, params| {
            crate::retention::report(&Revenue::build(model, settings, params)?, params)
        }),
        rows: schema_of::<crate::RetentionRow>,
        summary: None,
        params: GROUPED_WINDOW,
        by: Groupings::Any,
        reads: REVENUE,
    },
    ReportSpec {
        name: "cohorts",
        about: "Logo and revenue retention of each conversion-month cohort, month by month",
        run: Runner::Once(|model, settings, params| {
            crate::cohorts::report(&Revenue::build(model, settings, params)?, params)
        }),
        rows: schema_of::<crate::CohortsRow>,
        summary: None,
        params: GROUPED,
        by: Groupings::Any,
        reads: REVENUE,
    },
    ReportSpec {
        name: "survival",
        about: "Kaplan–Meier customer lifetime curves with 95% bands, and the log-rank test between groups",
        run: Runner::Once(|model, settings, params| {
            crate::survival::report(&Revenue::build(model, settings, params)?, settings, params)
        }),
        rows: schema_of::<crate::SurvivalRow>,
        summary: Some(schema_of::<crate::SurvivalSummary>),
        params: GROUPED,
        by: Groupings::Any,
        reads: REVENUE,
    },
    ReportSpec {
        name: "ltv",
        about: "Realized revenue to date and predicted lifetime value per customer",
        run: Runner::Once(|model, settings, params| {
            crate::ltv::report(&Revenue::build(model, settings, params)?, settings, params)
        }),
        rows: schema_of::<crate::LtvRow>,
        summary: None,
        params: GROUPED,
        by: Groupings::Any,
        reads: REVENUE,
    },
    ReportSpec {
        name: "unit-economics",
        about: "CAC, LTV:CAC, payback and ROAS by channel, source or campaign",
        run: Runner::Turns(crate::unit_economics_report),
        rows: schema_of::<crate::UnitEconomicsRow>,
        summary: None,
        params: GROUPED_WINDOW,
        by: Groupings::Touch(crate::attribution::SPEND_GROUPINGS),
        // Its predicted LTV reads each account's facts.
        reads: Reads::ALL,
    },
    ReportSpec {
        name: "touchpoints",
        about: "Touchpoints by channel (source, medium, campaign, content), from how many visitors, first and last seen",
        run: Runner::Once(|model, _, params| crate::touchpoints::report(model, params)),
        rows: schema_of::<crate::TouchpointsRow>,
        summary: None,
        params: &[Param::From, Param::To, Param::By, Param::Limit, Param::Cursor],
        by: Groupings::Touch(TOUCH_GROUPINGS),
        reads: JOURNEYS,
    },
    ReportSpec {
        name: "funnel",
        about: "The lifecycle stages in order: entered, in it now, went on, time in stage, activation",
        run: Runner::Turns(crate::funnel::funnel_report),
        rows: schema_of::<crate::FunnelRow>,
        summary: Some(schema_of::<crate::FunnelSummary>),
        params: &[Param::By],
        by: Groupings::Any,
        reads: Reads::ALL,
    },
    ReportSpec {
        name: "experiment",
        about: "Each variant of an experiment: activation, time to value, 90-day retention, expansion, MRR, against the control",
        run: Runner::Once(crate::experiment::report),
        rows: schema_of::<crate::ExperimentRow>,
        summary: Some(schema_of::<crate::ExperimentSummary>),
        params: &[Param::By, Param::Control, Param::ExpectedSplit],
        by: Groupings::Variant,
        // Activation is read from product usage; the variants from the profiles.
        reads: REVENUE.with(Reads::USAGE),
    },
    ReportSpec {
        name: "adoption",
        about: "Each customer's key-feature adoption depth, and each feature's use",
        run: Runner::Keeping(crate::accounts::adoption_report),
        rows: schema_of::<crate::AdoptionRow>,
        summary: Some(schema_of::<crate::AdoptionSummary>),
        params: FILTERS,
        by: NO_BY,
        reads: Reads::ALL,
    },
    ReportSpec {
        name: "accounts",
        about: "Every paying customer with its ARR, stage, health, band and signals",
        run: Runner::Keeping(crate::accounts::accounts_report),
        rows: schema_of::<crate::AccountsRow>,
        summary: Some(schema_of::<crate::AccountsSummary>),
        params: &[
            Param::Stage,
            Param::Band,
            Param::Signal,
            Param::Tier,
            Param::Owner,
            Param::Channel,
            Param::Sort,
            Param::Search,
            Param::Limit,
            Param::Cursor,
        ],
        by: NO_BY,
        reads: Reads::ALL,
    },
    ReportSpec {
        name: "account",
        about: "One customer: its health component by component, stage, signals and status",
        run: Runner::Once(crate::accounts::account_report),
        rows: schema_of::<crate::AccountRow>,
        summary: Some(schema_of::<crate::AccountSummary>),
        params: &[Param::Account],
        by: NO_BY,
        reads: Reads::ALL,
    },
    ReportSpec {
        name: "signals",
        about: "Each signal holding on a customer: churn risk, expansion, advocacy, renewal, with since when and why",
        run: Runner::Keeping(crate::accounts::signals_report),
        rows: schema_of::<crate::SignalsRow>,
        summary: None,
        params: FILTERS_PAGED,
        by: NO_BY,
        reads: Reads::ALL,
    },
    ReportSpec {
        name: "renewals",
        about: "Contracts ending within 90 days, with ARR and health",
        run: Runner::Keeping(crate::accounts::renewals_report),
        rows: schema_of::<crate::RenewalsRow>,
        summary: Some(schema_of::<crate::RenewalsSummary>),
        params: FILTERS_PAGED,
        by: NO_BY,
        reads: Reads::ALL,
    },
    ReportSpec {
        name: "health-backtest",
        about: "How well the health score predicted churn at past month ends (optionally for a proposed [health])",
        run: Runner::Turns(|with_model, settings, params, _, _| {
            crate::accounts::backtest_report(with_model, settings, params)
        }),
        rows: schema_of::<crate::HealthBacktestRow>,
        summary: Some(schema_of::<crate::HealthBacktestSummary>),
        params: &[Param::From, Param::Proposed],
        by: NO_BY,
        reads: Reads::ALL,
    },
    ReportSpec {
        name: "churn-model",
        about: "What drives churn in the next 90 days: a logistic model's drivers with intervals, and its calibration",
        run: Runner::Turns(|with_model, settings, params, _, kept| {
            crate::churn::model_report(with_model, settings, params, kept)
        }),
        rows: schema_of::<crate::ChurnModelRow>,
        summary: Some(schema_of::<crate::ChurnModelSummary>),
        params: &[],
        by: NO_BY,
        reads: Reads::ALL,
    },
    ReportSpec {
        name: "forecast",
        about: "Expected renewal ARR of the contracts ending in the next 90 days",
        run: Runner::Turns(|with_model, settings, params, _, kept| {
            crate::churn::forecast_report(with_model, settings, params, kept)
        }),
        rows: schema_of::<crate::ForecastRow>,
        summary: Some(schema_of::<crate::ForecastSummary>),
        params: &[],
        by: NO_BY,
        reads: Reads::ALL,
    },
    ReportSpec {
        name: "predicted-ltv",
        about: "Each customer's predicted lifetime value with a 90% interval, from a model of that account",
        run: Runner::Turns(|with_model, settings, params, _, kept| {
            crate::lifetime_value::report(with_model, settings, params, kept)
        }),
        rows: schema_of::<crate::PredictedLtvRow>,
        summary: Some(schema_of::<crate::PredictedLtvSummary>),
        params: &[Param::Limit, Param::Cursor],
        by: NO_BY,
        reads: Reads::ALL,
    },
    ReportSpec {
        name: "ltv-backtest",
        about: "How well predicted lifetime values foretold revenue, from month ends 3 to 12 months back",
        run: Runner::Turns(|with_model, settings, params, _, kept| {
            crate::lifetime_value::backtest_report(with_model, settings, params, kept)
        }),
        rows: schema_of::<crate::LtvBacktestRow>,
        summary: Some(schema_of::<crate::LtvBacktestSummary>),
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
        // Each account's predicted lifetime value reads its facts, as the churn model does.
        if params.metric.as_deref() == Some("predicted_ltv") {
            reads = Reads::ALL;
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
        if self.params.contains(&Param::Campaign)
            && params
                .campaign
                .as_deref()
                .is_none_or(|c| c.trim().is_empty())
        {
            return Err(refuse(
                "campaign",
                format!(
                    "the {} report is about one campaign: give it, e.g. `--campaign spring_launch`",
                    self.name
                ),
            ));
        }
        match params.by.as_deref() {
            Some(by) => self.check_by_shape(by)?,
            None if self.requires(Param::By) => {
                return Err(refuse(
                    "by",
                    format!(
                        "the {} report compares the variants of one experiment: give --by with \
                         the group trait holding each account's variant or the experiment its \
                         `Experiment Viewed` events name, e.g. `--by onboarding_variant`",
                        self.name
                    ),
                ))
            }
            None => {}
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
            ("search", &f.search),
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
            Groupings::Variant if by.trim().is_empty() => Err(refuse_by(VARIANT_EXPECTED.into())),
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

    /// Whether the report cannot run without `param`.
    pub fn requires(&self, param: Param) -> bool {
        self.params.contains(&param)
            && (param.required() || (param == Param::By && self.by == Groupings::Variant))
    }

    /// A `--by` naming an account trait must name one some account has: otherwise every
    /// account would fall under "(none)". A variant's must name a group trait some account
    /// has or an experiment some account was shown.
    pub fn check_by_in(&self, model: &Model, params: &ReportParams) -> Result<(), ReportError> {
        let Some(by) = params.by.as_deref() else {
            return Ok(());
        };
        if self.by == Groupings::Variant {
            if model.profiles().has_attribute(by) || model.has_experiment(by) {
                return Ok(());
            }
            return Err(ReportError::Grouping {
                report: self.name,
                by: by.to_owned(),
                expected: format!(
                    "{VARIANT_EXPECTED}; no account has the group trait {by:?}, and no \
                     `Experiment Viewed` event of experiment {by:?} counts for an account"
                ),
            });
        }
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

/// One report as `GET /api/v1/reports` lists it: the catalog's declaration, for programs (the
/// dashboard, a client generating its forms).
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct ReportEntry {
    pub name: &'static str,
    /// What it answers, in one line.
    pub description: &'static str,
    /// Where the API serves it.
    pub path: String,
    /// The parameters it takes, `as_of` first.
    pub parameters: Vec<ParamEntry>,
    /// What `by` may name, when the report takes it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub by: Option<ByEntry>,
}

/// One parameter of a report.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct ParamEntry {
    /// Its name in the API's query.
    pub name: &'static str,
    /// Its flag on the CLI (`ACCOUNT`: the first argument).
    pub flag: &'static str,
    /// `text`, `instant`, `flag` (true or false), `integer` or `file` (the POST body).
    pub kind: &'static str,
    pub description: &'static str,
    /// The values it accepts, when they are a fixed list.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<&'static str>>,
    /// Whether the report cannot run without it.
    pub required: bool,
}

/// What `by` may name.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct ByEntry {
    /// The groupings accepted whatever the data.
    pub values: Vec<&'static str>,
    /// Whether a group trait some account has is accepted too.
    pub group_traits: bool,
    /// Whether the name of an experiment some account was shown (the `experiment` of its
    /// `Experiment Viewed` events) is accepted too.
    pub experiments: bool,
}

impl ParamKind {
    pub const fn name(self) -> &'static str {
        match self {
            ParamKind::Text => "text",
            ParamKind::Instant => "instant",
            ParamKind::Flag => "flag",
            ParamKind::Integer => "integer",
            ParamKind::File => "file",
        }
    }
}

/// The instant every report is as of.
pub const AS_OF: ParamEntry = ParamEntry {
    name: "as_of",
    flag: "--as-of",
    kind: "instant",
    description: "The report instant (RFC 3339, or a date meaning the end of that day); \
                  default: the end of the data",
    values: None,
    required: false,
};

impl ReportSpec {
    /// This report's entry in the report list.
    pub fn entry(&self) -> ReportEntry {
        let parameters = std::iter::once(AS_OF)
            .chain(self.params.iter().map(|&p| ParamEntry {
                name: p.name(),
                flag: p.flag(),
                kind: p.kind().name(),
                description: p.help(),
                values: p.values(),
                required: self.requires(p),
            }))
            .collect();
        let by = self.params.contains(&Param::By).then(|| match self.by {
            Groupings::Touch(values) => ByEntry {
                values: values.to_vec(),
                group_traits: false,
                experiments: false,
            },
            Groupings::Any => ByEntry {
                values: TOUCH_GROUPINGS
                    .iter()
                    .chain(ACCOUNT_ATTRIBUTES)
                    .chain(STATE_GROUPINGS)
                    .copied()
                    .collect(),
                group_traits: true,
                experiments: false,
            },
            Groupings::Variant => ByEntry {
                values: Vec::new(),
                group_traits: true,
                experiments: true,
            },
        });
        ReportEntry {
            name: self.name,
            description: self.about,
            path: format!("/api/v1/reports/{}", self.name),
            parameters,
            by,
        }
    }
}
