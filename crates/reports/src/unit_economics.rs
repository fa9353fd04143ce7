//! `unit-economics`: spend, new customers, CAC, LTV:CAC, payback and ROAS per acquisition
//! group (SPEC §3, Acquisition costs). Spend comes from spend.csv matched on channel (on source
//! or campaign when grouped by them) over the window (`--from`/`--to`, default all time to
//! `as_of`); new customers are the conversions in the same window, grouped by the first touch
//! of their journey. A group with no spend has CAC 0 and no ROAS; a group with spend and no
//! customer has no CAC (null, not infinity).

use std::collections::{BTreeSet, HashMap};

use serde::Serialize;
use tenure_core::AccountId;
use tenure_engine::Model;
use utoipa::ToSchema;

use crate::attribution::{cost_per, roas, spend_by, AcquisitionWindow};
use crate::grouping::NOT_CONVERTED;
use crate::lifetime_value::{AccountLtv, GroupLtv, SMALL_SAMPLE_CUSTOMERS, Z_90};
use crate::ltv::ltv;
use crate::revenue::Revenue;
use crate::row::{grouped_rows, money, money_f, rate, Count};
use crate::{AccountRevenue, Report, ReportError, ReportParams, ReportSettings};

/// One acquisition group (its value under the grouping's name: `channel` by default): what it
/// cost, the customers it brought in the window, and what they are worth. Money in the
/// report's currency.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct UnitEconomicsRow {
    /// Spend of the group in the window (spend.csv).
    pub spend: f64,
    /// Customers converted in the window whose journey's first touch is in the group
    /// (credit-weighted under `--model`).
    pub new_customers: Count,
    /// Customer acquisition cost, spend ÷ new customers: 0 without spend, null for spend that
    /// brought no customer.
    pub cac: Option<f64>,
    /// Average MRR per account paying at `as_of`, over the group's converted accounts; null
    /// when none pays.
    pub arpa: Option<f64>,
    /// The mean of the predicted lifetime values of the group's converted accounts (each from
    /// a model of that account, as `predicted-ltv` gives it).
    pub predicted_ltv: Option<f64>,
    /// Lower end of the 90% interval of the predicted LTV.
    pub predicted_ltv_low_90: Option<f64>,
    /// Upper end of that interval.
    pub predicted_ltv_high_90: Option<f64>,
    /// Lower end of the 90% interval of the CAC, the new customers counted as a Poisson
    /// count; null with no CAC.
    pub cac_low_90: Option<f64>,
    /// Upper end of that interval; null when the count's interval reaches 0.
    pub cac_high_90: Option<f64>,
    /// Predicted LTV ÷ CAC; null without a CAC above 0.
    pub ltv_to_cac: Option<f64>,
    /// Lower end of the 90% interval of LTV:CAC, both uncertainties together (log scale).
    pub ltv_to_cac_low_90: Option<f64>,
    /// Upper end of that interval.
    pub ltv_to_cac_high_90: Option<f64>,
    /// Whether the group has fewer than 30 customers (converted accounts, or new customers in
    /// the window): too few to rank it by.
    pub small_sample: bool,
    /// Months of gross-margin ARPA to earn back the CAC, CAC ÷ (ARPA × gross margin).
    pub payback_months: Option<f64>,
    /// Revenue realized to `as_of` by the new customers ÷ spend; null without spend.
    pub roas_realized: Option<f64>,
    /// Predicted LTV × new customers ÷ spend; null without spend.
    pub roas_predicted: Option<f64>,
}

pub(crate) fn report(
    model: &Model,
    revenue: &Revenue,
    values: &HashMap<AccountId, AccountLtv>,
    settings: &ReportSettings,
    params: &ReportParams,
) -> Result<Report, ReportError> {
    // The catalog has checked `--by` is one of the spend groupings.
    let by = revenue.by.clone().unwrap_or_else(|| "channel".to_owned());
    let window = AcquisitionWindow::of(params);
    let spend = spend_by(model, settings, window, &by).unwrap_or_default();
    let mut names: BTreeSet<String> = spend.keys().cloned().collect();
    names.extend(
        revenue
            .group_names()
            .into_iter()
            .filter(|g| g != NOT_CONVERTED),
    );
    let margin = settings.revenue.gross_margin;
    let c = revenue.currency;
    let columns: Vec<String> = [
        by.as_str(),
        "spend",
        "new_customers",
        "cac",
        "arpa",
        "predicted_ltv",
        "predicted_ltv_low_90",
        "predicted_ltv_high_90",
        "cac_low_90",
        "cac_high_90",
        "ltv_to_cac",
        "ltv_to_cac_low_90",
        "ltv_to_cac_high_90",
        "small_sample",
        "payback_months",
        "roas_realized",
        "roas_predicted",
    ]
    .map(str::to_owned)
    .to_vec();
    let mut rows = Vec::new();
    for name in names {
        let members: Vec<(&AccountRevenue, f64)> = revenue.in_group(&name).collect();
        let new: Vec<(&AccountRevenue, f64)> = members
            .iter()
            .copied()
            .filter(|(a, _)| a.converted_at.is_some_and(|t| window.contains(t)))
            .collect();
        let new_customers: f64 = new.iter().map(|(_, w)| w).sum();
        let cost = spend.get(&name).copied().unwrap_or(0);
        let l = ltv(&members, settings, params.as_of);
        let predicted = GroupLtv::of(
            members
                .iter()
                .filter_map(|(a, w)| Some((values.get(&a.account)?, *w))),
        );
        let cac = cost_per(cost, new_customers);
        let (cac_low, cac_high) = cac_interval(cost, new_customers);
        let ltv_to_cac = predicted
            .mean
            .zip(cac.filter(|v| *v > 0.0))
            .map(|(l, c)| l / c);
        let ratio_interval = ltv_to_cac.map(|r| ratio_interval(r, &predicted, new_customers));
        let realized: f64 = new.iter().map(|(a, w)| w * a.realized(params.as_of)).sum();
        let per_dollar = |value: Option<f64>| value.and_then(|v| roas(cost, v));
        let row = UnitEconomicsRow {
            spend: money(cost, c),
            new_customers: Count(new_customers),
            cac: cac.map(|v| money_f(v, c)),
            arpa: l.arpa.map(|v| money_f(v, c)),
            predicted_ltv: predicted.mean.map(|v| money_f(v, c)),
            predicted_ltv_low_90: predicted.low.map(|v| money_f(v, c)),
            predicted_ltv_high_90: predicted.high.map(|v| money_f(v, c)),
            cac_low_90: cac_low.map(|v| money_f(v, c)),
            cac_high_90: cac_high.map(|v| money_f(v, c)),
            ltv_to_cac: rate(ltv_to_cac),
            ltv_to_cac_low_90: rate(ratio_interval.map(|(low, _)| low)),
            ltv_to_cac_high_90: rate(ratio_interval.map(|(_, high)| high)),
            small_sample: predicted.small_sample()
                || (cost > 0 && new_customers < SMALL_SAMPLE_CUSTOMERS),
            payback_months: rate(
                cac.zip(l.arpa.filter(|a| *a > 0.0))
                    .map(|(c, a)| c / (a * margin)),
            ),
            roas_realized: rate(per_dollar(Some(realized))),
            roas_predicted: rate(per_dollar(predicted.mean.map(|p| p * new_customers))),
        };
        rows.push((name, row));
    }
    let rows = grouped_rows(Some(&by), rows);
    Ok(Report::new(
        "unit-economics",
        params,
        Some(by),
        columns,
        rows,
    ))
}

/// The 90% interval of spend ÷ `customers`, the count taken as Poisson (its standard deviation
/// √n): none without a CAC; no upper end when the count's lower end reaches 0.
fn cac_interval(spend: i64, customers: f64) -> (Option<f64>, Option<f64>) {
    if spend == 0 {
        return (Some(0.0), Some(0.0));
    }
    if customers <= 0.0 {
        return (None, None);
    }
    let half = Z_90 * customers.sqrt();
    let low = spend as f64 / (customers + half);
    let high = (customers > half).then(|| spend as f64 / (customers - half));
    (Some(low), high)
}

/// The 90% interval of LTV:CAC = LTV × n ÷ spend, on the log scale: its relative standard
/// error joins the LTV's and the count's (1 ÷ √n).
fn ratio_interval(ratio: f64, ltv: &GroupLtv, customers: f64) -> (f64, f64) {
    let ltv_se = match (ltv.mean, ltv.high) {
        (Some(mean), Some(high)) if mean > 0.0 => (high - mean) / Z_90 / mean,
        _ => 0.0,
    };
    let count_se = if customers > 0.0 {
        1.0 / customers.sqrt()
    } else {
        0.0
    };
    let spread = Z_90 * (ltv_se * ltv_se + count_se * count_se).sqrt();
    (ratio * (-spread).exp(), ratio * spread.exp())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 100 customers for 10,000: √100 = 10, so the count's interval is 100 ± 16.45 and the CAC's
    /// 10,000 ÷ 116.45 to 10,000 ÷ 83.55.
    #[test]
    fn cac_interval_by_hand() {
        let (low, high) = cac_interval(10_000, 100.0);
        assert!((low.unwrap() - 10_000.0 / 116.448_536_269_514_72).abs() < 1e-9);
        assert!((high.unwrap() - 10_000.0 / 83.551_463_730_485_28).abs() < 1e-9);
        assert_eq!(cac_interval(0, 3.0), (Some(0.0), Some(0.0)));
        assert_eq!(cac_interval(500, 0.0), (None, None));
        // 2 customers: 2 − 1.645 · √2 < 0, so no upper end.
        assert_eq!(cac_interval(500, 2.0).1, None);
    }

    /// LTV 1,000 with a 90% half-width of 164.49 (a relative standard error of 0.1) and 25
    /// customers (0.2): together √0.05 = 0.2236, so the ratio's interval is 4 × e^(∓1.645 ·
    /// 0.2236).
    #[test]
    fn ltv_to_cac_interval_by_hand() {
        let ltv = GroupLtv {
            customers: 25.0,
            mean: Some(1_000.0),
            low: Some(1_000.0 - 100.0 * Z_90),
            high: Some(1_000.0 + 100.0 * Z_90),
        };
        let (low, high) = ratio_interval(4.0, &ltv, 25.0);
        let spread = Z_90 * 0.05f64.sqrt();
        assert!((low - 4.0 * (-spread).exp()).abs() < 1e-9);
        assert!((high - 4.0 * spread.exp()).abs() < 1e-9);
    }
}
