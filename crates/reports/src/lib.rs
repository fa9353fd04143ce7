//! tenure's reports: pure functions of a workspace's [`Model`], rendered the same for the CLI
//! (`tenure report NAME`) and the API (`GET /api/v1/reports/NAME`).
//!
//! A report is named rows of named values (`columns` gives their order for tables and CSV) and,
//! for some reports, a `summary` object; its JSON is the same from both interfaces.
//!
//! **Invariant:** no I/O and no clock: `as_of` comes in with the parameters, so every figure is
//! reproducible as of any instant.

mod account_revenue;
mod account_state;
mod accounts;
mod attribution;
mod calendar;
mod catalog;
mod churn;
mod cohorts;
mod experiment;
mod funnel;
mod grouping;
mod journeys;
mod lifecycle;
mod lifetime_value;
mod ltv;
mod mrr;
mod page;
mod render;
mod retention;
mod revenue;
pub mod row;
pub mod significance;
mod survival;
mod touchpoints;
mod unit_economics;
mod units;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tenure_core::{Currency, Money, Timestamp};
use tenure_engine::Model;
use tenure_health::{HealthSettings, SignalSettings, StageSettings};

pub use account_revenue::{AccountRevenue, Movement, MovementKind};
pub use account_state::{contract_end, facts};
pub use accounts::{account_status, account_statuses, AccountStatus, StatusSignal};
pub use catalog::{
    spec, ByEntry, Groupings, Param, ParamEntry, ParamKind, ReportEntry, ReportSpec, Runner,
    ACCOUNT_ATTRIBUTES, AS_OF, CATALOG, REPORTS,
};
pub use lifecycle::{daily_health, lifecycle, stage_rules, HealthOfDay, Lifecycles};
pub use page::{paginate, Cursor, Page, MAX_LIMIT};
pub use render::{format, grid, integer, money, money_minor, percent};
pub use revenue::Revenue;
pub use units::{undeclared, Unit};

// Each report's row (and summary) type, for the schemas of the API document.
pub use accounts::{
    AccountChampion, AccountFacts, AccountHealthPoint, AccountMrrPoint, AccountNpsAnswer,
    AccountRow, AccountSignal, AccountStageChange, AccountSummary, AccountsRow, AccountsSummary,
    AdoptionRow, AdoptionSummary, BandCounts, HealthBacktestConfig, HealthBacktestRow,
    HealthBacktestSummary, RenewalsRow, RenewalsSummary, SignalsRow,
};
pub use attribution::{
    AttributionCompareRow, AttributionRow, AttributionSummary, CampaignAccountsRow,
    CampaignAccountsSummary, JourneyOrigin, JourneyRow, JourneySummary,
};
pub use churn::{
    ChurnCalibrationBin, ChurnModelRow, ChurnModelSummary, ForecastBacktest, ForecastRow,
    ForecastSummary,
};
pub use cohorts::CohortsRow;
pub use experiment::{
    ControlSource, ExperimentRow, ExperimentSampleRatio, ExperimentSummary, VariantSource,
};
pub use funnel::{
    FunnelActivation, FunnelGroup, FunnelMilestone, FunnelRow, FunnelSummary, FunnelTimeToValue,
    FunnelTtvBucket,
};
pub use lifetime_value::{
    predicted_ltvs, AccountLtv, LtvBacktestRow, LtvBacktestSummary, LtvCalibrationBin, LtvMethod,
    PredictedLtvRow, PredictedLtvSummary, SMALL_SAMPLE_CUSTOMERS,
};
pub use ltv::LtvRow;
pub use mrr::MrrRow;
pub use retention::RetentionRow;
pub use row::Count;
pub use survival::{SurvivalGroup, SurvivalLogRank, SurvivalRow, SurvivalSummary};
pub use touchpoints::TouchpointsRow;
pub use unit_economics::UnitEconomicsRow;

/// What every report takes. `as_of` is required here: the edge decides it, by default with
/// [`default_as_of`] (the end of the data), and says where it came from (`as_of_source`).
/// Which of the other parameters a report reads is declared in [`CATALOG`].
///
/// **What a parameter may cost.** The reports' long loops run over the calendar between the
/// data and the report instant (each customer's days since conversion, each cohort's months,
/// the months of `mrr` from `from`), so an instant far from the data would cost work in
/// proportion to the calendar, not to the data. [`run_in_turns`] therefore accepts `as_of`,
/// `from` and `to` only within [`allowed_span`]: from ten years ([`PAST_MARGIN_MONTHS`]) before
/// the earliest revenue fact (MRR change, invoice, deal, spend row) or the caller's now,
/// whichever is earlier, to a year ([`FUTURE_MARGIN_MONTHS`]) after the latest revenue fact or
/// now, whichever is later.
/// Outside it the report is [`ReportError::Parameter`] naming the parameter and the range (over
/// HTTP a 400 `invalid_parameter`). Revenue facts bound the span because they come from the
/// operator (CSV imports) or signed webhooks; a Segment message, which anyone holding a public
/// write key can send, cannot widen it. Within the span, work is proportional to the data and
/// the span, and the caller's `should_stop` ([`Limits`]) ends it early.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportParams {
    pub as_of: Timestamp,
    /// Whether the caller gave `as_of` or it is the default, the end of the data.
    pub as_of_source: AsOfSource,
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
    pub by: Option<String>,
    /// Attribution model (`attribution`, `journey`; the ledger reports' touch groupings, where
    /// it splits each account over the groups its journey touched by credit).
    pub model: Option<String>,
    /// Outcome credited (`attribution`).
    pub metric: Option<String>,
    /// All models side by side (`attribution`).
    pub compare: bool,
    /// The account of the `journey` and `account` reports.
    pub account: Option<String>,
    /// Filters of the `accounts`, `signals` and `renewals` reports.
    pub filters: AccountFilters,
    /// Sort of the `accounts` report: `arr` (default), `health` or `risk`.
    pub sort: Option<String>,
    /// A proposed health configuration `health-backtest` compares with the current one.
    pub proposed: Option<HealthSettings>,
    /// At most this many rows (the reports that list accounts, signals and touchpoints).
    pub limit: Option<usize>,
    /// Where the page starts, from the previous page's `next_cursor`.
    pub cursor: Option<Cursor>,
    /// The campaign of `campaign-accounts`.
    pub campaign: Option<String>,
    /// The variant of `experiment` the others are compared with.
    pub control: Option<String>,
    /// The split `experiment`'s sample-ratio check expects, as `control=50,guided=50`.
    pub expected_split: Option<String>,
}

/// Where a report's instant came from: given by the caller, or by default the end of the data
/// ([`default_as_of`]), or the caller's now for a workspace without data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AsOfSource {
    Given,
    EndOfData,
    Now,
}

/// The instant a report is as of when the caller names none: the end of the UTC day of the
/// latest fact the workspace holds ([`Model::data_end`]), never after `now`; `now` for a
/// workspace without data. Not the caller's now: a store whose data stopped arriving (an
/// import of last month's exports, the demo) would read as every customer gone idle since.
/// The end of the day, as `--as-of DATE` means, so the default is a date a person can type.
pub fn default_as_of(model: &Model, now: Timestamp) -> (Timestamp, AsOfSource) {
    match model.data_end() {
        Some(end) => (calendar::day_end(end).min(now), AsOfSource::EndOfData),
        None => (now, AsOfSource::Now),
    }
}

/// Which accounts the account reports list; every filter given must match.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AccountFilters {
    pub stage: Option<String>,
    pub band: Option<String>,
    pub signal: Option<String>,
    pub tier: Option<String>,
    pub owner: Option<String>,
    pub channel: Option<String>,
    /// Text the account's name or domain contains, in any case (`accounts`).
    pub search: Option<String>,
}

/// Report parameters as text, as the CLI flags and the API query give them: `as_of` and each
/// [`Param`] but `proposed` (a file, read by the edge), set by name with [`RawParams::set`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RawParams {
    pub as_of: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub by: Option<String>,
    pub model: Option<String>,
    pub metric: Option<String>,
    pub compare: bool,
    pub account: Option<String>,
    pub stage: Option<String>,
    pub band: Option<String>,
    pub signal: Option<String>,
    pub tier: Option<String>,
    pub owner: Option<String>,
    pub channel: Option<String>,
    pub sort: Option<String>,
    pub limit: Option<String>,
    pub cursor: Option<String>,
    pub campaign: Option<String>,
    pub search: Option<String>,
    pub control: Option<String>,
    pub expected_split: Option<String>,
}

impl RawParams {
    /// The parameters of a query string's pairs; a name that is no parameter, or one given
    /// twice, is refused naming what is accepted.
    pub fn from_pairs<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, ReportError> {
        let mut raw = RawParams::default();
        let mut seen = std::collections::BTreeSet::new();
        for (name, value) in pairs {
            if !seen.insert(name) {
                return Err(ReportError::Parameter {
                    name: "query",
                    reason: format!("{name} is given more than once"),
                });
            }
            if name == "as_of" {
                raw.as_of = Some(value.to_owned());
                continue;
            }
            match Param::named(name).filter(|p| *p != Param::Proposed) {
                Some(param) => raw.set(param, value)?,
                None => {
                    let names: Vec<&str> = std::iter::once("as_of")
                        .chain(
                            Param::ALL
                                .iter()
                                .filter(|p| **p != Param::Proposed)
                                .map(|p| p.name()),
                        )
                        .collect();
                    return Err(ReportError::Parameter {
                        name: "query",
                        reason: format!(
                            "unknown parameter {name:?} (parameters: {})",
                            names.join(", ")
                        ),
                    });
                }
            }
        }
        Ok(raw)
    }

    /// Sets `param` from its text; a flag (`compare`) takes `true` or `false`.
    pub fn set(&mut self, param: Param, value: &str) -> Result<(), ReportError> {
        let text = Some(value.to_owned());
        match param {
            Param::From => self.from = text,
            Param::To => self.to = text,
            Param::By => self.by = text,
            Param::Model => self.model = text,
            Param::Metric => self.metric = text,
            Param::Compare => {
                self.compare = value.parse().map_err(|_| ReportError::Parameter {
                    name: "compare",
                    reason: format!("{value:?} is not true or false"),
                })?
            }
            Param::Account => self.account = text,
            Param::Stage => self.stage = text,
            Param::Band => self.band = text,
            Param::Signal => self.signal = text,
            Param::Tier => self.tier = text,
            Param::Owner => self.owner = text,
            Param::Channel => self.channel = text,
            Param::Sort => self.sort = text,
            Param::Limit => self.limit = text,
            Param::Cursor => self.cursor = text,
            Param::Campaign => self.campaign = text,
            Param::Search => self.search = text,
            Param::Control => self.control = text,
            Param::ExpectedSplit => self.expected_split = text,
            // A file, which the edge reads into `ReportParams::proposed` itself.
            Param::Proposed => {}
        }
        Ok(())
    }
}

impl ReportParams {
    /// The account the `journey` and `account` reports are about.
    pub(crate) fn account_id(&self, report: &str) -> Result<tenure_core::AccountId, ReportError> {
        let id = self
            .account
            .as_deref()
            .ok_or_else(|| ReportError::Parameter {
                name: "account",
                reason: format!("the {report} report needs an account id"),
            })?;
        tenure_core::AccountId::parse(id).map_err(|e| ReportError::Parameter {
            name: "account",
            reason: e.to_string(),
        })
    }

    /// Parameters with only an instant.
    pub fn at(as_of: Timestamp) -> Self {
        Self {
            as_of,
            as_of_source: AsOfSource::Given,
            from: None,
            to: None,
            by: None,
            model: None,
            metric: None,
            compare: false,
            account: None,
            filters: AccountFilters::default(),
            sort: None,
            proposed: None,
            limit: None,
            cursor: None,
            campaign: None,
            control: None,
            expected_split: None,
        }
    }

    /// Parses the textual parameters the CLI flags and the API query share. A bare date means
    /// the start of that day for `from` and its end for `as_of` and `to`; without `as_of`, the
    /// instant is `default_as_of` (from [`default_as_of`]).
    pub fn parse(
        default_as_of: (Timestamp, AsOfSource),
        raw: &RawParams,
    ) -> Result<Self, ReportError> {
        let (as_of, from, to, by) = (
            raw.as_of.as_deref(),
            raw.from.as_deref(),
            raw.to.as_deref(),
            raw.by.as_deref(),
        );
        let bad = |name: &'static str, e: tenure_core::TimestampError| ReportError::Parameter {
            name,
            reason: e.to_string(),
        };
        let given = as_of
            .map(Timestamp::parse_end_of)
            .transpose()
            .map_err(|e| bad("as_of", e))?;
        let cursor = raw.cursor.as_deref().map(Cursor::parse).transpose()?;
        // A later page is as of the first page's instant, so the pages are one list.
        let (as_of, as_of_source) = match (given, &cursor) {
            (Some(at), Some(c)) if at != c.as_of => {
                return Err(ReportError::Parameter {
                    name: "cursor",
                    reason: format!(
                    "the cursor is of a list as of {}, not {at}: leave as_of out of later pages",
                    c.as_of
                ),
                })
            }
            (Some(at), _) => (at, AsOfSource::Given),
            (None, Some(c)) => (c.as_of, AsOfSource::Given),
            (None, None) => default_as_of,
        };
        let limit = match raw.limit.as_deref() {
            None => cursor.as_ref().map(|c| c.limit),
            Some(text) => Some(
                text.parse::<usize>()
                    .ok()
                    .filter(|n| (1..=MAX_LIMIT).contains(n))
                    .ok_or_else(|| ReportError::Parameter {
                        name: "limit",
                        reason: format!("{text:?} is not a whole number from 1 to {MAX_LIMIT}"),
                    })?,
            ),
        };
        Ok(Self {
            as_of,
            as_of_source,
            from: from
                .map(Timestamp::parse)
                .transpose()
                .map_err(|e| bad("from", e))?,
            to: to
                .map(Timestamp::parse_end_of)
                .transpose()
                .map_err(|e| bad("to", e))?,
            by: by.map(str::to_owned),
            model: raw.model.clone(),
            metric: raw.metric.clone(),
            compare: raw.compare,
            account: raw.account.clone(),
            filters: AccountFilters {
                stage: raw.stage.clone(),
                band: raw.band.clone(),
                signal: raw.signal.clone(),
                tier: raw.tier.clone(),
                owner: raw.owner.clone(),
                channel: raw.channel.clone(),
                search: raw.search.clone(),
            },
            sort: raw.sort.clone(),
            proposed: None,
            limit,
            cursor,
            campaign: raw.campaign.clone(),
            control: raw.control.clone(),
            expected_split: raw.expected_split.clone(),
        })
    }
}

/// The revenue settings of the configuration (`[revenue]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RevenueSettings {
    /// Share of revenue kept after cost of service, for LTV (SPEC §3 default 1.0).
    pub gross_margin: f64,
    /// Horizon of the restricted mean lifetime behind predicted LTV.
    pub ltv_horizon_months: u32,
    /// Annual rate at which an account's expected future revenue is discounted to the report
    /// instant in its predicted LTV (default 0: not discounted).
    pub annual_discount_rate: f64,
}

impl Default for RevenueSettings {
    fn default() -> Self {
        Self {
            gross_margin: 1.0,
            ltv_horizon_months: 60,
            annual_discount_rate: 0.0,
        }
    }
}

/// The attribution settings of the configuration (`[attribution]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AttributionSettings {
    /// How far before conversion a touchpoint still belongs to the journey.
    pub lookback_days: u32,
    /// Half-life of `time_decay`.
    pub half_life_days: f64,
    /// Order of the `markov` chain.
    pub markov_order: usize,
    /// Events whose first occurrence is lead creation (for `w_shaped`).
    pub lead_events: Vec<String>,
    /// Events whose first occurrence is opportunity creation (with the first new-business
    /// deal's `created_at`, whichever is earlier).
    pub opportunity_events: Vec<String>,
}

impl Default for AttributionSettings {
    fn default() -> Self {
        Self {
            lookback_days: 180,
            half_life_days: 7.0,
            markov_order: 1,
            lead_events: vec![
                "Lead Created".into(),
                "Demo Requested".into(),
                "Trial Started".into(),
            ],
            opportunity_events: vec!["Opportunity Created".into()],
        }
    }
}

/// Everything reports need beyond the model: the reporting currency and its fixed rates, and
/// the revenue settings.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportSettings {
    pub currency: Currency,
    /// One unit of the key currency is worth this many units of `currency`.
    pub rates: BTreeMap<Currency, f64>,
    pub revenue: RevenueSettings,
    pub attribution: AttributionSettings,
    pub activation: tenure_engine::ActivationSettings,
    pub adoption: AdoptionSettings,
    pub health: HealthSettings,
    pub signals: SignalSettings,
    pub stages: StageSettings,
}

impl Default for ReportSettings {
    fn default() -> Self {
        Self {
            currency: Currency::USD,
            rates: BTreeMap::new(),
            revenue: RevenueSettings::default(),
            attribution: AttributionSettings::default(),
            activation: tenure_engine::ActivationSettings::default(),
            adoption: AdoptionSettings::default(),
            health: HealthSettings::default(),
            signals: SignalSettings::default(),
            stages: StageSettings::default(),
        }
    }
}

/// `[adoption]` (SPEC §3, Adoption): the key features whose use is adoption.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdoptionSettings {
    /// Product event names. The default names the simulated company's; set your product's own.
    pub key_features: Vec<String>,
}

impl Default for AdoptionSettings {
    fn default() -> Self {
        Self {
            key_features: [
                "Report Created",
                "Dashboard Shared",
                "Alert Configured",
                "Integration Connected",
                "Export Downloaded",
                "Forecast Viewed",
            ]
            .map(str::to_owned)
            .to_vec(),
        }
    }
}

impl ReportSettings {
    /// The version the stored daily history is tagged with: the `[health]` version, then a
    /// fingerprint of everything else that decides a day's band and stage (`[[stages]]`,
    /// `[signals]`, `[activation]`, `[adoption]`), so rows scored under different settings
    /// never share a tag.
    pub fn history_version(&self) -> String {
        format!(
            "{}.s{}",
            self.health.version(),
            tenure_health::fingerprint(&(
                &self.stages,
                &self.signals,
                &self.activation,
                &self.adoption
            ))
        )
    }

    /// Whether amounts in `currency` convert to the reporting currency: it is that currency,
    /// or a rate is configured.
    pub fn converts(&self, currency: Currency) -> bool {
        currency == self.currency || self.rates.contains_key(&currency)
    }

    /// `money` in minor units of the reporting currency; exact when no conversion is needed.
    pub fn convert(&self, money: Money) -> Result<i64, ReportError> {
        if money.currency == self.currency {
            return Ok(money.minor);
        }
        let rate = self.rates.get(&money.currency).ok_or(ReportError::NoRate {
            from: money.currency,
            to: self.currency,
        })?;
        let scale = 10f64.powi(self.currency.exponent() as i32 - money.currency.exponent() as i32);
        Ok((money.minor as f64 * rate * scale).round() as i64)
    }
}

/// Deserialized by the CLI from a running server's answer, which it leaks for the `&'static`
/// names: the process exits once the report is printed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Report {
    /// The report's name.
    #[schema(value_type = String)]
    pub report: &'static str,
    /// The instant every figure is as of (RFC 3339, UTC).
    #[schema(value_type = String, format = DateTime)]
    pub as_of: Timestamp,
    /// `given`, or `end_of_data` when the caller named no instant (see [`default_as_of`]).
    pub as_of_source: AsOfSource,
    /// Start of the window, when the report has one.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub from: Option<Timestamp>,
    /// End of the window, when the report has one.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub to: Option<Timestamp>,
    /// The grouping, when the report is grouped: each row holds its group under this name.
    pub by: Option<String>,
    /// The currency of every money field (in major units: dollars, not cents).
    #[schema(value_type = String, example = "USD")]
    pub currency: Currency,
    /// The rows' fields in table order.
    pub columns: Vec<String>,
    /// Each column's unit.
    pub units: BTreeMap<String, Unit>,
    /// The report's rows; each report's own row type is in the API document.
    #[schema(value_type = Vec<Object>)]
    pub rows: Vec<Map<String, Value>>,
    /// Figures over the whole report (some reports).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub summary: Option<Value>,
    /// Each summary field's unit, by dotted path (a list of records' fields as `list.field`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub summary_units: BTreeMap<String, Unit>,
    /// Which rows of the list these are, when the request gave `limit`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<Page>,
    /// What the figures leave out and why (an amount in a currency without a configured rate):
    /// the same list on every report, empty when nothing is left out.
    pub warnings: Vec<Warning>,
}

/// Something a report's figures leave out: a stable `code` and a message saying what, how
/// much, and what to configure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Warning {
    #[schema(value_type = String, example = "no_rate")]
    pub code: &'static str,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ReportError {
    #[error("no report named {0:?} (reports: {list})", list = REPORTS.join(", "))]
    Unknown(String),
    #[error("--by {by:?} is not a grouping of the {report} report (expected one of {expected})")]
    Grouping {
        report: &'static str,
        by: String,
        expected: String,
    },
    #[error("{name}: {reason}")]
    Parameter { name: &'static str, reason: String },
    /// A parameter given to a report that does not read it.
    #[error("{param} does not apply to the {report} report (it applies to: {readers})")]
    NotApplicable {
        report: &'static str,
        param: &'static str,
        readers: String,
    },
    /// The account a report is about is not in the workspace.
    #[error(
        "no account {0} in this workspace (account ids come from accounts.csv, subscriptions, \
         deals and Segment group calls)"
    )]
    NoAccount(String),
    #[error("--from {from} is after --to {to}")]
    Window { from: Timestamp, to: Timestamp },
    #[error(
        "an amount is in {from} but no rate to {to} is configured: add it under [currency.rates]"
    )]
    NoRate { from: Currency, to: Currency },
    /// The configuration cannot give this report (a setting it needs is missing or invalid).
    #[error("{setting}: {reason}")]
    Settings {
        setting: &'static str,
        reason: String,
    },
    /// The data cannot give this report as of this instant (too little history or churn).
    #[error("{0}")]
    InsufficientData(String),
    /// Stopped before it finished, because the caller's `should_stop` said so.
    #[error("the report was stopped before it finished")]
    Cancelled,
}

impl ReportError {
    /// Whether the caller's request is at fault (an unknown report or grouping, a parameter
    /// that cannot be read or is out of range), rather than the data or the configuration.
    pub fn is_caller_error(&self) -> bool {
        matches!(
            self,
            ReportError::Unknown(_)
                | ReportError::Grouping { .. }
                | ReportError::Parameter { .. }
                | ReportError::NotApplicable { .. }
                | ReportError::Window { .. }
        )
    }
}

/// Gives the model to a function: once per call, so a caller that keeps the model behind a lock
/// can take the lock for each turn and let writers in between.
pub type WithModel<'a> = &'a dyn Fn(&mut dyn FnMut(&Model));

/// Asked between turns with the model and in the longest loops; `true` stops the report with
/// [`ReportError::Cancelled`]. The caller decides why (its client left, its time budget is
/// spent): reports keep no clock.
pub type ShouldStop<'a> = &'a (dyn Fn() -> bool + Sync);

/// What the caller of [`run_in_turns`] decides beyond the parameters.
#[derive(Clone, Copy)]
pub struct Limits<'a> {
    /// The caller's now, which with the model bounds `as_of`, `from` and `to` (see
    /// [`ReportParams`]).
    pub now: Timestamp,
    pub should_stop: ShouldStop<'a>,
}

impl std::fmt::Debug for Limits<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Limits").field("now", &self.now).finish()
    }
}

/// How far before the earliest revenue fact (or now) a report instant may lie: ten years, so
/// a window can start well before the first payment (touchpoints precede revenue) while a
/// month-by-month report stays a few hundred months.
pub const PAST_MARGIN_MONTHS: u32 = 120;

/// How far after the latest revenue fact (or now, whichever is later) a report instant may lie:
/// a year, room for contracts and plans ahead without days evaluated for centuries.
pub const FUTURE_MARGIN_MONTHS: u32 = 12;

/// `t` moved by whole calendar months (the day clamped to the month's length), saturating at
/// the ends of the timestamp range.
fn shift_months(t: Timestamp, months: i64) -> Timestamp {
    let dt = t.to_datetime();
    let n = chrono::Months::new(months.unsigned_abs().min(u64::from(u32::MAX)) as u32);
    let shifted = if months >= 0 {
        dt.checked_add_months(n)
    } else {
        dt.checked_sub_months(n)
    };
    match shifted {
        Some(dt) => Timestamp::from_datetime(dt),
        None if months >= 0 => Timestamp::MAX,
        None => Timestamp::MIN,
    }
}

/// The earliest and latest instants of the model's revenue facts: MRR changes, invoices, deals
/// (created and closed) and spend rows; none for a model without any.
pub fn revenue_span(model: &Model) -> Option<(Timestamp, Timestamp)> {
    let ledger = model.ledger();
    let mut span: Option<(Timestamp, Timestamp)> = None;
    let mut see = |t: Timestamp| {
        span = Some(match span {
            None => (t, t),
            Some((lo, hi)) => (lo.min(t), hi.max(t)),
        });
    };
    for (_, account) in ledger.accounts() {
        let mut changes = account.changes();
        if let Some(first) = changes.next() {
            see(first.at);
        }
        if let Some(last) = changes.last() {
            see(last.at);
        }
        for invoice in account.invoices() {
            see(invoice.at);
        }
        for deal in account.deals() {
            see(deal.created_at);
            if let Some(closed) = deal.closed_at {
                see(closed);
            }
        }
    }
    let mut spend = ledger.spend();
    if let Some(first) = spend.next() {
        see(first.date);
    }
    if let Some(last) = spend.last() {
        see(last.date);
    }
    span
}

/// The instants `as_of`, `from` and `to` may take over `model` for a caller whose now is `now`
/// (see [`ReportParams`]): inclusive bounds.
pub fn allowed_span(model: &Model, now: Timestamp) -> (Timestamp, Timestamp) {
    let (earliest, latest) = revenue_span(model).unwrap_or((now, now));
    (
        shift_months(earliest.min(now), -i64::from(PAST_MARGIN_MONTHS)),
        shift_months(latest.max(now), i64::from(FUTURE_MARGIN_MONTHS)),
    )
}

impl ReportParams {
    /// `Ok` when `as_of`, `from` and `to` lie within `allowed` (from [`allowed_span`]); else
    /// the first that does not, with the range.
    pub fn check_span(&self, allowed: (Timestamp, Timestamp)) -> Result<(), ReportError> {
        let (lo, hi) = allowed;
        let instants = [
            ("as_of", Some(self.as_of)),
            ("from", self.from),
            ("to", self.to),
        ];
        for (name, at) in instants {
            if let Some(at) = at.filter(|t| *t < lo || *t > hi) {
                return Err(ReportError::Parameter {
                    name,
                    reason: format!(
                        "{at} is outside the range reports cover, {lo} to {hi} (ten years \
                         before the earliest revenue fact or now, to a year after the latest \
                         or now)"
                    ),
                });
            }
        }
        Ok(())
    }
}

/// The amounts the ledger holds as of `as_of` in currencies with no rate to the reporting
/// currency, which every report leaves out: one warning per currency, saying how many amounts
/// of how many accounts, and what to configure.
fn currency_warnings(model: &Model, settings: &ReportSettings, as_of: Timestamp) -> Vec<Warning> {
    #[derive(Default)]
    struct Left {
        amounts: u64,
        accounts: u64,
        spend: u64,
    }
    let unrated = |c: Currency| !settings.converts(c);
    let mut left: BTreeMap<Currency, Left> = BTreeMap::new();
    for (_, account) in model.ledger().accounts() {
        let mut named = std::collections::BTreeSet::new();
        for change in account.changes().take_while(|c| c.at <= as_of) {
            if unrated(change.mrr.currency) {
                left.entry(change.mrr.currency).or_default().amounts += 1;
                named.insert(change.mrr.currency);
            }
        }
        for currency in named {
            left.entry(currency).or_default().accounts += 1;
        }
    }
    for row in model.ledger().spend().filter(|r| r.date <= as_of) {
        if unrated(row.cost.currency) {
            left.entry(row.cost.currency).or_default().spend += 1;
        }
    }
    left.into_iter()
        .map(|(currency, l)| {
            let mut what = Vec::new();
            if l.amounts > 0 {
                what.push(format!(
                    "{} MRR amount{} of {} account{}",
                    l.amounts,
                    if l.amounts == 1 { "" } else { "s" },
                    l.accounts,
                    if l.accounts == 1 { "" } else { "s" },
                ));
            }
            if l.spend > 0 {
                what.push(format!(
                    "{} spend row{}",
                    l.spend,
                    if l.spend == 1 { "" } else { "s" }
                ));
            }
            Warning {
                code: "no_rate",
                message: format!(
                    "{} in {currency} left out of these figures: no rate from {currency} to {} \
                     is configured; add {currency} under [currency.rates]",
                    what.join(" and "),
                    settings.currency,
                ),
            }
        })
        .collect()
}

/// Amounts (MRR changes, invoices, spend rows) the ledger holds in each currency that has no
/// rate to the reporting currency: what reports leave out until `[currency.rates]` gives one,
/// for `tenure status`.
pub fn amounts_without_rate(model: &Model, settings: &ReportSettings) -> BTreeMap<Currency, u64> {
    let mut out = model.ledger().amounts_by_currency();
    out.retain(|c, _| !settings.converts(*c));
    out
}

/// Runs report `name` over `model`, whole: no bound on the instants and no stopping, for
/// callers that chose the parameters themselves (tests, the demo). The CLI and the API use
/// [`run_in_turns`] with [`Limits`].
pub fn run(
    name: &str,
    model: &Model,
    settings: &ReportSettings,
    params: &ReportParams,
) -> Result<Report, ReportError> {
    run_with(name, &|f| f(model), settings, params, None, &|| false, None)
}

/// Runs report `name`, taking the model through `with_model`, for a caller with `limits`:
/// `as_of`, `from` and `to` must lie within [`allowed_span`] of the model and `limits.now`,
/// and the report stops with [`ReportError::Cancelled`] at the first turn (and, in `funnel`,
/// the first customer) after `limits.should_stop` says so. Reports that score every customer
/// on every day (`funnel`) or at many month ends (`health-backtest`, `churn-model`,
/// `forecast`) take the model in many short turns; the rest in one. Over a model that does not
/// change between turns the report is the same as [`run`]'s.
pub fn run_in_turns(
    name: &str,
    with_model: WithModel,
    settings: &ReportSettings,
    params: &ReportParams,
    limits: Limits,
) -> Result<Report, ReportError> {
    run_with(
        name,
        with_model,
        settings,
        params,
        Some(limits.now),
        limits.should_stop,
        None,
    )
}

/// [`run_in_turns`] for a caller that asks again: `lifecycles`, which the caller keeps for
/// the workspace between reports (a running server one per workspace), holds each customer's
/// lifecycle as far as `funnel` evaluated it, so the next one evaluates only the new days and
/// the accounts whose facts changed. The report is the same as [`run_in_turns`]'s.
pub fn run_in_turns_keeping(
    name: &str,
    with_model: WithModel,
    settings: &ReportSettings,
    params: &ReportParams,
    limits: Limits,
    lifecycles: &Lifecycles,
) -> Result<Report, ReportError> {
    run_with(
        name,
        with_model,
        settings,
        params,
        Some(limits.now),
        limits.should_stop,
        Some(lifecycles),
    )
}

fn run_with(
    name: &str,
    with_model: WithModel,
    settings: &ReportSettings,
    params: &ReportParams,
    now: Option<Timestamp>,
    should_stop: ShouldStop,
    lifecycles: Option<&Lifecycles>,
) -> Result<Report, ReportError> {
    let spec = catalog::spec(name)?;
    spec.check(params, settings)?;
    check_window(params)?;
    // Once stopped, every later turn is skipped: the report runs out quickly over what it
    // has, and its result is thrown away.
    let stopped = std::sync::atomic::AtomicBool::new(false);
    let checked = |f: &mut dyn FnMut(&Model)| {
        if stopped.load(std::sync::atomic::Ordering::Relaxed) || should_stop() {
            stopped.store(true, std::sync::atomic::Ordering::Relaxed);
            return;
        }
        with_model(f);
    };
    let mut first = None;
    checked(&mut |model| {
        first = Some((
            spec.check_by_in(model, params)
                .and_then(|()| check_account(model, params)),
            now.map(|now| allowed_span(model, now)),
            currency_warnings(model, settings, params.as_of),
        ))
    });
    let Some((known, allowed, warnings)) = first else {
        return Err(ReportError::Cancelled);
    };
    known?;
    if let Some(allowed) = allowed {
        params.check_span(allowed)?;
    }
    let report = run_turns(spec, &checked, settings, params, should_stop, lifecycles);
    if stopped.load(std::sync::atomic::Ordering::Relaxed) {
        return Err(ReportError::Cancelled);
    }
    let mut report = report?;
    page::paginate(&mut report, params)?;
    report.warnings = warnings;
    report.currency = settings.currency;
    units::declare(&mut report);
    Ok(report)
}

fn run_turns(
    spec: &ReportSpec,
    with_model: WithModel,
    settings: &ReportSettings,
    params: &ReportParams,
    should_stop: ShouldStop,
    lifecycles: Option<&Lifecycles>,
) -> Result<Report, ReportError> {
    match spec.run {
        Runner::Turns(run) => run(with_model, settings, params, should_stop, lifecycles),
        Runner::Once(run) => in_one_turn(with_model, |model| run(model, settings, params)),
        Runner::Keeping(run) => {
            in_one_turn(with_model, |model| run(model, settings, params, lifecycles))
        }
    }
}

/// `f` over the model in one turn; cancelled when the turn is not given.
pub(crate) fn in_one_turn<T>(
    with_model: WithModel,
    mut f: impl FnMut(&Model) -> Result<T, ReportError>,
) -> Result<T, ReportError> {
    let mut out = None;
    with_model(&mut |model| out = Some(f(model)));
    out.unwrap_or(Err(ReportError::Cancelled))
}

/// The account a report is about (`journey`, `account`) is one the workspace has seen: the
/// same answer from both, rather than an empty journey from one and an error from the other.
fn check_account(model: &Model, params: &ReportParams) -> Result<(), ReportError> {
    let Some(id) = params.account.as_deref() else {
        return Ok(());
    };
    let id = tenure_core::AccountId::parse(id).map_err(|e| ReportError::Parameter {
        name: "account",
        reason: e.to_string(),
    })?;
    if model.account_ids().any(|a| *a == id) {
        Ok(())
    } else {
        Err(ReportError::NoAccount(id.as_str().to_owned()))
    }
}

fn check_window(params: &ReportParams) -> Result<(), ReportError> {
    match (params.from, params.to) {
        (Some(from), Some(to)) if from > to => Err(ReportError::Window { from, to }),
        _ => Ok(()),
    }
}

/// `unit-economics`: without `--by` (and so without `--model`, which needs one) it is by
/// channel, the revenue grouped so from the start, once; the accounts' predicted lifetime
/// values are taken in turns before.
pub(crate) fn unit_economics_report(
    with_model: WithModel,
    settings: &ReportSettings,
    params: &ReportParams,
    _: ShouldStop,
    kept: Option<&Lifecycles>,
) -> Result<Report, ReportError> {
    let lifetime_value::AccountValues { revenue, values } =
        lifetime_value::account_values(with_model, settings, params, kept)?;
    let by_channel;
    let params = if params.by.is_none() && params.model.is_none() {
        by_channel = ReportParams {
            by: Some("channel".to_owned()),
            ..params.clone()
        };
        &by_channel
    } else {
        params
    };
    // The values' revenue, grouped in the turn rather than built again.
    let mut accounts = Some(revenue.accounts);
    in_one_turn(with_model, |model| {
        let accounts = accounts.take().ok_or(ReportError::Cancelled)?;
        let revenue = Revenue::grouped(model, settings, params, accounts)?;
        unit_economics::report(model, &revenue, &values, settings, params)
    })
}

impl Report {
    pub(crate) fn new(
        report: &'static str,
        params: &ReportParams,
        by: Option<String>,
        columns: Vec<String>,
        rows: Vec<Map<String, Value>>,
    ) -> Self {
        Self {
            report,
            as_of: params.as_of,
            as_of_source: params.as_of_source,
            from: params.from,
            to: params.to,
            by,
            // The reporting currency and the units are set by `run_with` for every report.
            currency: Currency::USD,
            columns,
            units: BTreeMap::new(),
            rows,
            summary: None,
            summary_units: BTreeMap::new(),
            page: None,
            warnings: Vec::new(),
        }
    }
}
