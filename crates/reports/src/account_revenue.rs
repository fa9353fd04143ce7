//! One account's revenue history in the reporting currency, as of the report instant: its MRR
//! movements, conversion, churn and payments, from the ledger. Below everything that reads an
//! account (its journey, its state, its group), so none of them needs the grouped revenue.

use std::collections::BTreeMap;

use serde::Serialize;
use tenure_core::{AccountId, Timestamp};
use tenure_engine::Stream;

use crate::calendar::DAY_MS;
use crate::{ReportError, ReportSettings};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MovementKind {
    New,
    Expansion,
    Contraction,
    Churn,
    Reactivation,
}

impl MovementKind {
    pub const ALL: [MovementKind; 5] = [
        MovementKind::New,
        MovementKind::Expansion,
        MovementKind::Contraction,
        MovementKind::Churn,
        MovementKind::Reactivation,
    ];

    pub fn name(self) -> &'static str {
        match self {
            MovementKind::New => "new",
            MovementKind::Expansion => "expansion",
            MovementKind::Contraction => "contraction",
            MovementKind::Churn => "churn",
            MovementKind::Reactivation => "reactivation",
        }
    }
}

/// A change of an account's total MRR, signed (churn and contraction negative).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Movement {
    pub at: Timestamp,
    pub kind: MovementKind,
    pub amount: i64,
}

/// One account's revenue, in minor units of the reporting currency.
#[derive(Debug, Clone, PartialEq)]
pub struct AccountRevenue {
    pub account: AccountId,
    /// `(t, mrr)`: from `t` on (until the next point) the account's MRR is `mrr`. Only points
    /// where the total changes.
    pub series: Vec<(Timestamp, i64)>,
    pub movements: Vec<Movement>,
    /// First MRR > 0, or the close of the first won new-business deal if earlier.
    pub converted_at: Option<Timestamp>,
    /// First change to MRR 0 after MRR > 0.
    pub churned_at: Option<Timestamp>,
    /// The account's first MRR > 0, and when.
    pub first_paid: Option<(Timestamp, i64)>,
}

impl AccountRevenue {
    /// One account's MRR series, movements, conversion and churn as of `as_of`, in the
    /// reporting currency; none for an account that never paid nor won a deal.
    pub fn of(
        account: &AccountId,
        ledger: &tenure_engine::AccountLedger,
        settings: &ReportSettings,
        as_of: Timestamp,
    ) -> Result<Option<AccountRevenue>, ReportError> {
        let mut streams: BTreeMap<&Stream, i64> = BTreeMap::new();
        let mut total = 0i64;
        let mut series = Vec::new();
        let mut movements = Vec::new();
        let mut ever_paid = false;
        let mut churned_at = None;
        let mut first_paid = None;
        for change in ledger.changes().take_while(|c| c.at <= as_of) {
            // An amount in a currency without a rate is left out, as if it were not in the
            // ledger: every report says so in its warnings.
            let Ok(value) = settings.convert(change.mrr) else {
                continue;
            };
            let before = total;
            total += value - streams.insert(&change.stream, value).unwrap_or(0);
            if total == before {
                continue;
            }
            let kind = match (before, total) {
                (0, _) if ever_paid => MovementKind::Reactivation,
                (0, _) => MovementKind::New,
                (_, 0) => MovementKind::Churn,
                (b, t) if t > b => MovementKind::Expansion,
                _ => MovementKind::Contraction,
            };
            if before > 0 && total == 0 && churned_at.is_none() {
                churned_at = Some(change.at);
            }
            if total > 0 && first_paid.is_none() {
                first_paid = Some((change.at, total));
            }
            ever_paid |= total > 0;
            movements.push(Movement {
                at: change.at,
                kind,
                amount: total - before,
            });
            series.push((change.at, total));
        }
        let won = ledger.first_won_new_business().filter(|t| *t <= as_of);
        let converted_at = match (first_paid.map(|(t, _)| t), won) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        if series.is_empty() && converted_at.is_none() {
            return Ok(None);
        }
        Ok(Some(AccountRevenue {
            account: account.clone(),
            series,
            movements,
            converted_at,
            churned_at,
            first_paid,
        }))
    }

    /// MRR at instant `t`: the latest point at or before it.
    pub fn mrr_at(&self, t: Timestamp) -> i64 {
        match self.series.partition_point(|(at, _)| *at <= t) {
            0 => 0,
            i => self.series[i - 1].1,
        }
    }

    /// MRR integrated over `[from, to]`, in minor-unit-days.
    pub fn mrr_days(&self, from: Timestamp, to: Timestamp) -> f64 {
        if to <= from {
            return 0.0;
        }
        let mut total = 0.0;
        let mut at = from;
        let mut mrr = self.mrr_at(from);
        for &(t, value) in self.series.iter().filter(|(t, _)| *t > from && *t < to) {
            total += mrr as f64 * (t.millis() - at.millis()) as f64;
            at = t;
            mrr = value;
        }
        total += mrr as f64 * (to.millis() - at.millis()) as f64;
        total / DAY_MS as f64
    }

    /// Realized revenue up to `to`: MRR × days × 12 / 365.25 (SPEC §3).
    pub fn realized(&self, to: Timestamp) -> f64 {
        let start = self.series.first().map_or(to, |(t, _)| *t);
        self.mrr_days(start, to) * 12.0 / 365.25
    }
}
