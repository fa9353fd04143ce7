//! `churn-model` and `forecast` (SPEC §4, Prediction): a logistic model of churn in the next 90
//! days, trained on monthly snapshots of account features, evaluated on a later time holdout;
//! its probabilities give the expected renewal ARR of the contracts ending in the next 90 days,
//! back-tested one quarter earlier.

use rayon::prelude::*;
use serde::Serialize;
use tenure_core::{AccountId, Timestamp};
use tenure_engine::model::Generation;
use tenure_engine::Model;
use tenure_health::{
    bound_by_contract, brier, churn_features, roc_auc, Logistic, CHURN_FEATURES, CHURN_HORIZON_MS,
};
use utoipa::ToSchema;

use crate::account_state::{facts, AccountInputs};
use crate::accounts::{churns_within, ungrouped_in_turn, SNAPSHOT_ACCOUNTS_PER_TURN};
use crate::calendar::month_start;
use crate::lifetime_value::Z_90;
use crate::revenue::Revenue;
use crate::row::{deciles, money, rate, to_rows, to_summary};
use crate::{
    AccountRevenue, Lifecycles, Report, ReportError, ReportParams, ReportSettings, WithModel,
};

/// The penalty of the fit on standardised features (scikit-learn's C = 1).
const L2: f64 = 1.0;
/// The normal quantile of a two-sided 95% interval.
const Z_95: f64 = 1.959_963_984_540_054;

/// One feature of the churn model (`churn-model`), a driver of churn in the next 90 days,
/// strongest first.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ChurnModelRow {
    /// 1 for the feature with the largest standardised coefficient.
    pub rank: usize,
    /// The feature's name.
    pub feature: &'static str,
    /// Its coefficient in the logistic regression on standardised features: the change in log
    /// odds of churn per standard deviation of the feature.
    pub coefficient: Option<f64>,
    /// The coefficient's standard error.
    pub std_error: Option<f64>,
    /// exp(coefficient): how the odds of churn multiply per standard deviation.
    pub odds_ratio_per_sd: Option<f64>,
    /// Lower end of the odds ratio's 95% interval.
    pub odds_ratio_low_95: Option<f64>,
    /// Upper end of the odds ratio's 95% interval.
    pub odds_ratio_high_95: Option<f64>,
    /// `more churn`, `less churn`, or `none` for a feature that never varied in training.
    pub direction: &'static str,
    /// Whether the 95% interval of the coefficient leaves out 0.
    pub significant: bool,
}

/// The summary of `churn-model`: how the model was trained and how well it predicted churn in
/// the holdout, the last 4 of the 24 month ends.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ChurnModelSummary {
    /// What the model predicts.
    pub label: &'static str,
    /// The first month end of the holdout, RFC 3339.
    pub holdout_from: String,
    /// Snapshots (an account paying at a month end) whose outcome was known by the holdout.
    pub training_snapshots: usize,
    /// Those that churned within 90 days.
    pub training_churned: usize,
    /// Those under a contract running past the 90 days, given the bound churn rate rather
    /// than fitted.
    pub training_bound_snapshots: usize,
    /// Churn within 90 days among the bound training snapshots, 0–1: the probability the model
    /// gives a bound account.
    pub bound_churn_rate: Option<f64>,
    /// Snapshots of the holdout.
    pub holdout_snapshots: usize,
    /// Those that churned within 90 days.
    pub holdout_churned: usize,
    /// Those under a contract running past the 90 days.
    pub holdout_bound_snapshots: usize,
    /// Area under the ROC curve on the training snapshots, 0–1.
    pub training_roc_auc: Option<f64>,
    /// Area under the ROC curve on the holdout, 0–1.
    pub holdout_roc_auc: Option<f64>,
    /// Area under the ROC curve on the holdout snapshots that could leave (not bound), 0–1.
    pub holdout_roc_auc_can_leave: Option<f64>,
    /// Brier score on the holdout: the mean squared error of the probabilities, 0–1.
    pub holdout_brier: Option<f64>,
    /// Share of the holdout snapshots that churned, 0–1.
    pub holdout_base_rate: Option<f64>,
    /// The holdout by decile of predicted probability, lowest first.
    pub calibration: Vec<ChurnCalibrationBin>,
    /// What the drivers (the rows) were fitted on.
    pub drivers_from: &'static str,
    /// Snapshots the drivers' model was fitted on.
    pub drivers_snapshots: usize,
    /// Those that could leave, which the regression was fitted on.
    pub drivers_can_leave_snapshots: usize,
    /// Those that churned within 90 days.
    pub drivers_churned: usize,
    /// The L2 penalty of the fit on standardised features (scikit-learn's C).
    pub l2: f64,
    /// Newton iterations of the fit evaluated on the holdout.
    pub newton_iterations: usize,
}

/// One decile of the holdout by predicted probability of churn.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ChurnCalibrationBin {
    /// 1 to 10, lowest probabilities first.
    pub decile: usize,
    /// Snapshots in it.
    pub snapshots: usize,
    /// Their mean predicted probability of churn, 0–1.
    pub predicted: Option<f64>,
    /// The share of them that churned, 0–1.
    pub observed: Option<f64>,
}

/// One contract ending within 90 days of `as_of` (`forecast`). Money in the report's currency.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ForecastRow {
    /// The account's id.
    pub account: String,
    /// 12 × its MRR at `as_of`.
    pub arr: f64,
    /// The churn model's probability that it churns within 90 days, 0–1.
    pub churn_probability: Option<f64>,
    /// ARR × (1 − churn probability).
    pub expected_arr: f64,
}

/// The summary of `forecast`. Money in the report's currency.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ForecastSummary {
    /// Days ahead the forecast covers.
    pub horizon_days: u32,
    /// Contracts ending within them.
    pub contracts: usize,
    /// Their ARR.
    pub arr_up_for_renewal: f64,
    /// Σ ARR × (1 − churn probability).
    pub expected_renewal_arr: f64,
    /// Lower end of its 90% interval: each contract renews or not, independently, with its
    /// probability (variance Σ ARR² × p × (1 − p)).
    pub expected_renewal_arr_low_90: f64,
    /// Upper end of that interval.
    pub expected_renewal_arr_high_90: f64,
    /// The same forecast made 90 days before `as_of`, against what its accounts pay now.
    pub backtest: ForecastBacktest,
}

/// The forecast made 90 days before `as_of`, checked against `as_of`; or why there is none.
/// Money in the report's currency.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(untagged)]
pub enum ForecastBacktest {
    /// The model trained on what was known then, and what came of its forecast.
    Made {
        /// The instant of that forecast, RFC 3339.
        forecast_at: String,
        /// Contracts ending within 90 days of it.
        contracts: usize,
        /// Their ARR then.
        arr_up_for_renewal: f64,
        /// Σ ARR × (1 − churn probability) then.
        expected_arr: f64,
        /// Σ (1 − churn probability): the contracts expected to renew.
        expected_renewals: Option<f64>,
        /// Their accounts' ARR at `as_of`.
        actual_arr: f64,
        /// Those accounts still paying at `as_of`.
        actual_renewals: usize,
        /// expected_arr ÷ actual_arr − 1; null without actual ARR.
        error: Option<f64>,
    },
    /// No model could be trained on what was known then.
    Unavailable {
        /// The instant of that forecast, RFC 3339.
        forecast_at: String,
        /// Why the model could not be trained then.
        unavailable: String,
    },
}

/// One month-end snapshot of a paying account.
#[derive(Debug, Clone)]
pub(crate) struct Sample {
    at: Timestamp,
    features: Vec<f64>,
    /// Under a contract that runs past the horizon: it cannot leave within it.
    bound: bool,
    churned: bool,
}

/// Month ends up to `last`, newest last, at most `count`.
fn month_ends(last: Timestamp, count: usize) -> Vec<Timestamp> {
    let mut end = month_start(last.plus_millis(1)).plus_millis(-1);
    if end > last {
        end = month_start(end).plus_millis(-1);
    }
    let mut out = Vec::new();
    while out.len() < count {
        out.push(end);
        end = month_start(end).plus_millis(-1);
    }
    out.reverse();
    out
}

/// One account's month-end snapshots as its facts stand (`generation`), kept between reports
/// ([`Lifecycles`]): the churn model's month ends are at least the horizon before the report
/// instant, so a snapshot reads only what happened by the end of its outcome, which no later
/// instant changes.
#[derive(Debug)]
pub(crate) struct KeptSamples {
    generation: Generation,
    /// Each month end taken, with its snapshot (none: not paying then).
    at: Vec<(Timestamp, Option<Sample>)>,
}

/// Snapshots at `ends` of every account paying then, labelled by churn in the next 90 days, in
/// (month end, account) order; going on from what `kept` holds, and leaving there what the
/// next report can use.
fn samples(
    with_model: WithModel,
    settings: &ReportSettings,
    revenue: &Revenue,
    ends: &[Timestamp],
    kept: Option<&Lifecycles>,
) -> Vec<(usize, Sample)> {
    let accounts: Vec<&AccountRevenue> = revenue.accounts.iter().collect();
    let mut taken: Vec<Option<KeptSamples>> = match kept {
        Some(kept) => kept.take(settings, &accounts),
        None => accounts.iter().map(|_| None).collect(),
    };
    let mut found: Vec<(usize, usize, Sample)> = Vec::new();
    let mut back: Vec<(AccountId, KeptSamples)> = Vec::new();
    let turns = accounts
        .chunks(SNAPSHOT_ACCOUNTS_PER_TURN)
        .zip(taken.chunks_mut(SNAPSHOT_ACCOUNTS_PER_TURN));
    for (first, (turn, taken)) in (0..).step_by(SNAPSHOT_ACCOUNTS_PER_TURN).zip(turns) {
        with_model(&mut |model| {
            let done: Vec<KeptSamples> = turn
                .par_iter()
                .zip(taken.par_iter_mut())
                .map(|(a, kept)| account_samples(model, settings, a, ends, kept.take()))
                .collect();
            for (j, (a, mine)) in turn.iter().zip(done).enumerate() {
                for (k, t) in ends.iter().enumerate() {
                    let sample = mine
                        .at
                        .iter()
                        .find(|(at, _)| at == t)
                        .and_then(|s| s.1.as_ref());
                    if let Some(sample) = sample {
                        found.push((k, first + j, sample.clone()));
                    }
                }
                back.push((a.account.clone(), mine));
            }
        });
    }
    if let Some(kept) = kept {
        kept.give_back(settings, back);
    }
    found.sort_by_key(|(k, i, _)| (*k, *i));
    found.into_iter().map(|(_, i, s)| (i, s)).collect()
}

/// The account's snapshots at `ends`, from `kept` where it holds them as its facts stand.
fn account_samples(
    model: &Model,
    settings: &ReportSettings,
    a: &AccountRevenue,
    ends: &[Timestamp],
    kept: Option<KeptSamples>,
) -> KeptSamples {
    let generation = model.generation(&a.account);
    let mut mine = match kept {
        Some(k) if k.generation == generation => k,
        _ => KeptSamples {
            generation,
            at: Vec::new(),
        },
    };
    let missing: Vec<Timestamp> = ends
        .iter()
        .filter(|t| !mine.at.iter().any(|(at, _)| at == *t))
        .copied()
        .collect();
    if missing.is_empty() {
        return mine;
    }
    let inputs = AccountInputs::new(model, settings, a);
    for t in missing {
        let sample = (a.mrr_at(t) > 0).then(|| {
            let f = inputs.facts_at(t);
            Sample {
                at: t,
                features: churn_features(&f, settings.signals.activation_days),
                bound: bound_by_contract(&f),
                churned: churns_within(a, t, CHURN_HORIZON_MS),
            }
        });
        mine.at.push((t, sample));
    }
    mine
}

/// What the churn model predicted for one training snapshot of an account that could leave,
/// and what came of it: the account's index in the revenue, the probability, whether it
/// churned.
pub(crate) type Predicted = (usize, f64, bool);

/// The churn model. A contract that runs past the horizon says when an account can leave, not
/// why it would: fitted with the rest, it would top the drivers while teaching nothing about
/// behaviour. So the logistic regression is fitted on the accounts that can leave within the
/// horizon (monthly payers, and contracts ending within it), on standardised features, and a
/// bound account's probability is the churn rate seen among bound snapshots.
pub(crate) struct ChurnModel {
    means: Vec<f64>,
    scales: Vec<f64>,
    logistic: Logistic,
    /// Churn within the horizon among the bound snapshots trained on; 0 (what the contract
    /// says) when there were none.
    bound_rate: f64,
    bound: usize,
    can_leave: usize,
}

impl ChurnModel {
    /// The model forecasts use at `at`: trained on the 24 month ends whose 90-day outcome was
    /// known by then.
    pub(crate) fn known_at(
        with_model: WithModel,
        settings: &ReportSettings,
        revenue: &Revenue,
        at: Timestamp,
        kept: Option<&Lifecycles>,
    ) -> Result<ChurnModel, ReportError> {
        Self::known_at_with_outcomes(with_model, settings, revenue, at, kept).map(|(m, _)| m)
    }

    /// [`ChurnModel::known_at`], with what it predicted for each snapshot of an account that
    /// could leave and what came of it: (the account's index in `revenue`, the probability,
    /// whether it churned).
    pub(crate) fn known_at_with_outcomes(
        with_model: WithModel,
        settings: &ReportSettings,
        revenue: &Revenue,
        at: Timestamp,
        kept: Option<&Lifecycles>,
    ) -> Result<(ChurnModel, Vec<Predicted>), ReportError> {
        let ends = month_ends(at.plus_millis(-CHURN_HORIZON_MS), 24);
        let known = samples(with_model, settings, revenue, &ends, kept);
        let train: Vec<&Sample> = known.iter().map(|(_, s)| s).collect();
        let model = ChurnModel::train(&train)?;
        let outcomes = known
            .iter()
            .filter(|(_, s)| !s.bound)
            .map(|(i, s)| (*i, model.predict(s), s.churned))
            .collect();
        Ok((model, outcomes))
    }

    fn train(samples: &[&Sample]) -> Result<ChurnModel, ReportError> {
        let (bound, can_leave): (Vec<&Sample>, Vec<&Sample>) =
            samples.iter().partition(|s| s.bound);
        if !can_leave.iter().any(|s| s.churned) {
            return Err(too_little(
                "no churn among the snapshots of accounts that could leave",
            ));
        }
        let p = CHURN_FEATURES.len();
        let n = can_leave.len() as f64;
        let means: Vec<f64> = (0..p)
            .map(|j| can_leave.iter().map(|s| s.features[j]).sum::<f64>() / n)
            .collect();
        let scales: Vec<f64> = (0..p)
            .map(|j| {
                let var = can_leave
                    .iter()
                    .map(|s| (s.features[j] - means[j]).powi(2))
                    .sum::<f64>()
                    / n;
                if var > 0.0 {
                    var.sqrt()
                } else {
                    1.0
                }
            })
            .collect();
        let x: Vec<Vec<f64>> = can_leave
            .iter()
            .map(|s| standardise(&s.features, &means, &scales))
            .collect();
        let y: Vec<bool> = can_leave.iter().map(|s| s.churned).collect();
        let logistic =
            Logistic::fit(&x, &y, L2).ok_or_else(|| too_little("the fit did not converge"))?;
        let bound_churned = bound.iter().filter(|s| s.churned).count();
        Ok(ChurnModel {
            means,
            scales,
            logistic,
            bound_rate: if bound.is_empty() {
                0.0
            } else {
                bound_churned as f64 / bound.len() as f64
            },
            bound: bound.len(),
            can_leave: can_leave.len(),
        })
    }

    /// The probability of churn within the horizon of an account with `features`, `bound` by a
    /// contract past it or not.
    pub(crate) fn probability(&self, features: &[f64], bound: bool) -> f64 {
        if bound {
            self.bound_rate
        } else {
            self.logistic
                .predict(&standardise(features, &self.means, &self.scales))
        }
    }

    fn predict(&self, s: &Sample) -> f64 {
        self.probability(&s.features, s.bound)
    }

    /// One row per feature, the strongest (largest standardised coefficient) first, each with
    /// its 95% interval.
    fn drivers(&self) -> Vec<ChurnModelRow> {
        let l = &self.logistic;
        let mut order: Vec<usize> = (0..l.coefficients.len()).collect();
        order.sort_by(|&a, &b| l.coefficients[b].abs().total_cmp(&l.coefficients[a].abs()));
        order
            .iter()
            .enumerate()
            .map(|(rank, &j)| {
                let (c, se) = (l.coefficients[j], l.std_errors[j]);
                let (low, high) = (c - Z_95 * se, c + Z_95 * se);
                let direction = match c.total_cmp(&0.0) {
                    std::cmp::Ordering::Greater => "more churn",
                    std::cmp::Ordering::Less => "less churn",
                    // A feature that never varied in training.
                    std::cmp::Ordering::Equal => "none",
                };
                ChurnModelRow {
                    rank: rank + 1,
                    feature: CHURN_FEATURES[j],
                    coefficient: rate(Some(c)),
                    std_error: rate(Some(se)),
                    odds_ratio_per_sd: rate(Some(c.exp())),
                    odds_ratio_low_95: rate(Some(low.exp())),
                    odds_ratio_high_95: rate(Some(high.exp())),
                    direction,
                    significant: low > 0.0 || high < 0.0,
                }
            })
            .collect()
    }
}

fn standardise(features: &[f64], means: &[f64], scales: &[f64]) -> Vec<f64> {
    features
        .iter()
        .zip(means.iter().zip(scales))
        .map(|(v, (m, s))| (v - m) / s)
        .collect()
}

fn too_little(reason: &str) -> ReportError {
    ReportError::InsufficientData(format!(
        "{reason}; the churn model needs more history (or churn) before as_of"
    ))
}

/// `churn-model`: 24 month ends with a known 90-day outcome; the last 4 are the holdout, and
/// the model evaluated on it is trained on the month ends whose outcome was known by the first
/// of them. The drivers are those of the model refitted on all 24, the one `forecast` uses.
pub(crate) fn model_report(
    with_model: WithModel,
    settings: &ReportSettings,
    params: &ReportParams,
    kept: Option<&Lifecycles>,
) -> Result<Report, ReportError> {
    let revenue = ungrouped_in_turn(with_model, settings, params)?;
    let ends = month_ends(params.as_of.plus_millis(-CHURN_HORIZON_MS), 24);
    let all: Vec<Sample> = samples(with_model, settings, &revenue, &ends, kept)
        .into_iter()
        .map(|(_, s)| s)
        .collect();
    let split = ends[ends.len() - 4];
    let train: Vec<&Sample> = all
        .iter()
        .filter(|s| s.at.plus_millis(CHURN_HORIZON_MS) <= split)
        .collect();
    let holdout: Vec<&Sample> = all.iter().filter(|s| s.at >= split).collect();
    if !holdout.iter().any(|s| s.churned) {
        return Err(too_little("no churn in the holdout snapshots"));
    }
    let fitted = ChurnModel::train(&train)?;
    let p: Vec<f64> = holdout.iter().map(|s| fitted.predict(s)).collect();
    let y: Vec<bool> = holdout.iter().map(|s| s.churned).collect();
    let p_train: Vec<f64> = train.iter().map(|s| fitted.predict(s)).collect();
    let y_train: Vec<bool> = train.iter().map(|s| s.churned).collect();
    let (p_free, y_free): (Vec<f64>, Vec<bool>) = holdout
        .iter()
        .zip(&p)
        .filter(|(s, _)| !s.bound)
        .map(|(s, p)| (*p, s.churned))
        .unzip();
    // Calibration by decile of predicted probability.
    let pairs: Vec<(f64, f64)> = p
        .iter()
        .zip(&y)
        .map(|(p, y)| (*p, f64::from(u8::from(*y))))
        .collect();
    let calibration: Vec<ChurnCalibrationBin> = deciles(&pairs)
        .into_iter()
        .map(|d| ChurnCalibrationBin {
            decile: d.decile,
            snapshots: d.count,
            predicted: rate(Some(d.predicted)),
            observed: rate(Some(d.actual)),
        })
        .collect();
    let all_refs: Vec<&Sample> = all.iter().collect();
    let refitted = ChurnModel::train(&all_refs)?;
    let columns: Vec<String> = [
        "rank",
        "feature",
        "coefficient",
        "std_error",
        "odds_ratio_per_sd",
        "odds_ratio_low_95",
        "odds_ratio_high_95",
        "direction",
        "significant",
    ]
    .map(str::to_owned)
    .to_vec();
    let rows = to_rows(refitted.drivers());
    let mut report = Report::new("churn-model", params, None, columns, rows);
    report.from = ends.first().copied();
    report.to = ends.last().copied();
    let holdout_churned = y.iter().filter(|v| **v).count();
    report.summary = Some(to_summary(&ChurnModelSummary {
        label: "churn in the 90 days after the snapshot",
        holdout_from: split.to_string(),
        training_snapshots: train.len(),
        training_churned: y_train.iter().filter(|v| **v).count(),
        training_bound_snapshots: fitted.bound,
        bound_churn_rate: rate(Some(fitted.bound_rate)),
        holdout_snapshots: holdout.len(),
        holdout_churned,
        holdout_bound_snapshots: holdout.len() - p_free.len(),
        training_roc_auc: rate(roc_auc(&p_train, &y_train)),
        holdout_roc_auc: rate(roc_auc(&p, &y)),
        holdout_roc_auc_can_leave: rate(roc_auc(&p_free, &y_free)),
        holdout_brier: rate(brier(&p, &y)),
        holdout_base_rate: rate(Some(holdout_churned as f64 / y.len() as f64)),
        calibration,
        drivers_from: "every snapshot with a known outcome, the model forecast uses as of as_of",
        drivers_snapshots: all.len(),
        drivers_can_leave_snapshots: refitted.can_leave,
        drivers_churned: all.iter().filter(|s| s.churned).count(),
        l2: L2,
        newton_iterations: fitted.logistic.iterations,
    }));
    Ok(report)
}

/// Expected renewal ARR of the contracts ending in `(at, at + 90 days]`, by a model trained on
/// what was known at `at`: each contract's account (index in `revenue`), ARR and churn
/// probability.
fn forecast_at(
    with_model: WithModel,
    settings: &ReportSettings,
    revenue: &Revenue,
    at: Timestamp,
    kept: Option<&Lifecycles>,
) -> Result<Vec<(usize, i64, f64)>, ReportError> {
    let fitted = ChurnModel::known_at(with_model, settings, revenue, at, kept)?;
    let mut due = Vec::new();
    with_model(&mut |model| {
        due = revenue
            .accounts
            .par_iter()
            .enumerate()
            .filter_map(|(i, a)| {
                let mrr = a.mrr_at(at);
                if mrr <= 0 {
                    return None;
                }
                let f = facts(model, settings, a, at);
                let ends_soon = f.contract_end.is_some_and(|end| {
                    end > at.millis() && end <= at.plus_millis(CHURN_HORIZON_MS).millis()
                });
                ends_soon.then(|| {
                    let p = fitted.probability(
                        &churn_features(&f, settings.signals.activation_days),
                        bound_by_contract(&f),
                    );
                    (i, 12 * mrr, p)
                })
            })
            .collect();
    });
    Ok(due)
}

/// The variance of the ARR renewed when each contract `(_, arr, p)` renews with probability
/// 1 − p, independently: Σ ARR² × p × (1 − p).
fn renewal_variance(due: &[(usize, i64, f64)]) -> f64 {
    due.iter()
        .map(|&(_, arr, p)| (arr as f64).powi(2) * p * (1.0 - p))
        .sum()
}

/// `forecast`: expected renewal ARR for the next 90 days, and the same forecast made 90 days
/// ago against what those contracts' accounts pay now.
pub(crate) fn forecast_report(
    with_model: WithModel,
    settings: &ReportSettings,
    params: &ReportParams,
    kept: Option<&Lifecycles>,
) -> Result<Report, ReportError> {
    let revenue = ungrouped_in_turn(with_model, settings, params)?;
    let c = revenue.currency;
    let due = forecast_at(with_model, settings, &revenue, params.as_of, kept)?;
    let columns: Vec<String> = ["account", "arr", "churn_probability", "expected_arr"]
        .map(str::to_owned)
        .to_vec();
    let rows = to_rows(due.iter().map(|&(i, arr, p)| ForecastRow {
        account: revenue.accounts[i].account.as_str().to_owned(),
        arr: money(arr, c),
        churn_probability: rate(Some(p)),
        expected_arr: money((arr as f64 * (1.0 - p)).round() as i64, c),
    }));
    let up: i64 = due.iter().map(|(_, arr, _)| arr).sum();
    let expected: f64 = due.iter().map(|(_, arr, p)| *arr as f64 * (1.0 - p)).sum();
    let half = Z_90 * renewal_variance(&due).sqrt();
    let back = params.as_of.plus_millis(-CHURN_HORIZON_MS);
    let backtest = match forecast_at(with_model, settings, &revenue, back, kept) {
        Ok(due) => {
            let up: i64 = due.iter().map(|(_, arr, _)| arr).sum();
            let expected: f64 = due.iter().map(|(_, arr, p)| *arr as f64 * (1.0 - p)).sum();
            let actual: i64 = due
                .iter()
                .map(|&(i, _, _)| 12 * revenue.accounts[i].mrr_at(params.as_of))
                .sum();
            let renewed = due
                .iter()
                .filter(|&&(i, _, _)| revenue.accounts[i].mrr_at(params.as_of) > 0)
                .count();
            ForecastBacktest::Made {
                forecast_at: back.to_string(),
                contracts: due.len(),
                arr_up_for_renewal: money(up, c),
                expected_arr: money(expected.round() as i64, c),
                expected_renewals: rate(Some(due.iter().map(|(_, _, p)| 1.0 - p).sum())),
                actual_arr: money(actual, c),
                actual_renewals: renewed,
                error: rate((actual > 0).then(|| expected / actual as f64 - 1.0)),
            }
        }
        Err(e) => ForecastBacktest::Unavailable {
            forecast_at: back.to_string(),
            unavailable: e.to_string(),
        },
    };
    let mut report = Report::new("forecast", params, None, columns, rows);
    report.summary = Some(to_summary(&ForecastSummary {
        horizon_days: 90,
        contracts: due.len(),
        arr_up_for_renewal: money(up, c),
        expected_renewal_arr: money(expected.round() as i64, c),
        expected_renewal_arr_low_90: money((expected - half).max(0.0).round() as i64, c),
        expected_renewal_arr_high_90: money((expected + half).round() as i64, c),
        backtest,
    }));
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(i: usize, bound: bool, churned: bool) -> Sample {
        // Deterministic, varied features; bound ones far off the others' scale.
        let scale = if bound { 100.0 } else { 1.0 };
        Sample {
            at: Timestamp::from_millis(0),
            features: (0..CHURN_FEATURES.len())
                .map(|j| scale * (((i * 7 + j * 13) % 11) as f64 - 5.0))
                .collect(),
            bound,
            churned,
        }
    }

    #[test]
    fn bound_accounts_get_their_rate_and_leave_the_fit_alone() {
        let free: Vec<Sample> = (0..200)
            .map(|i| sample(i, false, i % 5 == 0 || i % 7 == 0))
            .collect();
        let bound: Vec<Sample> = (0..50).map(|i| sample(i, true, i < 5)).collect();
        let everything: Vec<&Sample> = free.iter().chain(&bound).collect();
        let model = ChurnModel::train(&everything).unwrap();
        let alone = ChurnModel::train(&free.iter().collect::<Vec<_>>()).unwrap();
        assert_eq!(model.logistic, alone.logistic);
        assert_eq!((model.bound, model.can_leave), (50, 200));
        assert_eq!(model.bound_rate, 0.1);
        assert_eq!(model.predict(&bound[7]), 0.1);
        assert_eq!(model.predict(&free[3]), alone.predict(&free[3]));
        assert_eq!(alone.bound_rate, 0.0, "no bound snapshot: the contract's 0");
    }

    /// The drivers point the way the data does: a tiny company where detractors churn more
    /// must show `detractor` with an odds ratio above 1 and "more churn".
    #[test]
    fn detractors_who_churn_more_give_an_odds_ratio_above_one() {
        let d = CHURN_FEATURES
            .iter()
            .position(|f| *f == "detractor")
            .unwrap();
        // Detractors: 10 of 20 churn; the others: 2 of 20. Every other feature is constant,
        // so its standardised value is 0 and its coefficient stays 0.
        let snapshots: Vec<Sample> = (0..40)
            .map(|i| {
                let mut features = vec![0.0; CHURN_FEATURES.len()];
                features[d] = f64::from(u8::from(i < 20));
                Sample {
                    at: Timestamp::from_millis(0),
                    features,
                    bound: false,
                    churned: i < 10 || (20..22).contains(&i),
                }
            })
            .collect();
        let model = ChurnModel::train(&snapshots.iter().collect::<Vec<_>>()).unwrap();
        let drivers = model.drivers();
        let top = &drivers[0];
        assert_eq!(top.feature, "detractor");
        assert_eq!(top.direction, "more churn");
        // Unpenalised, the log odds ratio is ln((10/10) / (2/18)) = ln 9 per unit of the flag;
        // the flag's standard deviation is 0.5 (half the snapshots), so per sd it is
        // 0.5 · ln 9 = ln 3: an odds ratio of 3. The penalty (C = 1) shrinks it towards 1;
        // scikit-learn's LogisticRegression(C=1) on the same standardised column gives
        // coefficient 0.933834 (odds ratio 2.5442).
        let c = top.coefficient.unwrap();
        assert!((c - 0.933_834).abs() < 1e-4, "{c}");
        let odds_ratio = top.odds_ratio_per_sd.unwrap();
        assert!(1.0 < odds_ratio && odds_ratio < 3.0, "{odds_ratio}");
        assert!(drivers[1..].iter().all(|r| r.direction == "none"));
    }

    /// Two contracts: 1,200 at p = 0.5 and 600 at p = 0.1: 1,200² · 0.25 + 600² · 0.09.
    #[test]
    fn renewal_variance_by_hand() {
        let due = [(0, 1_200, 0.5), (1, 600, 0.1)];
        assert!((renewal_variance(&due) - (360_000.0 + 32_400.0)).abs() < 1e-6);
    }

    #[test]
    fn churn_only_among_bound_accounts_is_too_little() {
        let free: Vec<Sample> = (0..20).map(|i| sample(i, false, false)).collect();
        let bound: Vec<Sample> = (0..20).map(|i| sample(i, true, true)).collect();
        let everything: Vec<&Sample> = free.iter().chain(&bound).collect();
        let Err(error) = ChurnModel::train(&everything) else {
            panic!("trained without churn to learn from")
        };
        assert!(
            error
                .to_string()
                .contains("no churn among the snapshots of accounts that could leave"),
            "{error}"
        );
    }
}
