//! Every account's revenue as of the report instant, grouped as the report's `--by` says: the
//! base of the `mrr`, `retention`, `cohorts`, `survival`, `ltv` and `unit-economics` reports.
//!
//! Built from the ledger per report call (it is linear in the number of changes), so that
//! `as_of` is honoured exactly: nothing effective after it is seen.

use std::collections::BTreeMap;

use tenure_core::Timestamp;
use tenure_engine::Model;

use crate::account_revenue::AccountRevenue;
use crate::grouping;
use crate::{ReportError, ReportParams, ReportSettings};

/// All accounts' revenue and the groups they fall in.
///
/// An account belongs to one group with weight 1, except under `--model` with a touch
/// grouping: then it belongs to every group its journey touched, weighted by the model's credit
/// (its weights sum to 1), and every figure of a group is the credit-weighted sum over its
/// members.
#[derive(Debug, Clone)]
pub struct Revenue {
    pub as_of: Timestamp,
    pub currency: tenure_core::Currency,
    pub accounts: Vec<AccountRevenue>,
    pub by: Option<String>,
    /// The attribution model splitting accounts over groups, if any.
    pub model: Option<String>,
    /// Group -> (index into `accounts`, weight), so a group is found without scanning every
    /// account.
    members: BTreeMap<String, Vec<(usize, f64)>>,
}

impl Revenue {
    pub fn build(
        model: &Model,
        settings: &ReportSettings,
        params: &ReportParams,
    ) -> Result<Revenue, ReportError> {
        let mut accounts = Vec::new();
        for (account, ledger) in model.ledger().accounts() {
            if let Some(a) = AccountRevenue::of(account, ledger, settings, params.as_of)? {
                accounts.push(a);
            }
        }
        Revenue::grouped(model, settings, params, accounts)
    }

    /// `accounts`, each account's revenue as of `as_of`, in one group: revenue a caller has
    /// already read, account by account.
    pub fn of_accounts(
        settings: &ReportSettings,
        as_of: Timestamp,
        accounts: Vec<AccountRevenue>,
    ) -> Revenue {
        Revenue {
            as_of,
            currency: settings.currency,
            accounts,
            by: None,
            model: None,
            members: BTreeMap::new(),
        }
    }

    /// `accounts`, each account's revenue as of `params.as_of`, grouped as `params` says.
    pub(crate) fn grouped(
        model: &Model,
        settings: &ReportSettings,
        params: &ReportParams,
        accounts: Vec<AccountRevenue>,
    ) -> Result<Revenue, ReportError> {
        let groups = grouping::group_accounts(model, settings, params, &accounts)?;
        let mut members: BTreeMap<String, Vec<(usize, f64)>> = BTreeMap::new();
        for (i, shares) in groups.into_iter().enumerate() {
            for (group, weight) in shares {
                members.entry(group).or_default().push((i, weight));
            }
        }
        Ok(Revenue {
            as_of: params.as_of,
            currency: settings.currency,
            accounts,
            by: params.by.clone(),
            model: params.model.clone(),
            members,
        })
    }

    /// Every account's revenue, in one group: for the reports that credit or score accounts
    /// one by one rather than group them (`attribution`, `journey`, the account reports).
    pub fn ungrouped(
        model: &Model,
        settings: &ReportSettings,
        params: &ReportParams,
    ) -> Result<Revenue, ReportError> {
        Revenue::build(
            model,
            settings,
            &ReportParams {
                by: None,
                model: None,
                ..params.clone()
            },
        )
    }

    /// The distinct groups, in order.
    pub fn group_names(&self) -> Vec<String> {
        self.members.keys().cloned().collect()
    }

    /// The accounts of group `name`, each with its weight in the group.
    pub fn in_group<'a>(
        &'a self,
        name: &str,
    ) -> impl Iterator<Item = (&'a AccountRevenue, f64)> + 'a {
        self.members
            .get(name)
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .map(|&(i, w)| (&self.accounts[i], w))
    }

    /// Every account, each with weight 1.
    pub fn all(&self) -> impl Iterator<Item = (&AccountRevenue, f64)> + '_ {
        self.accounts.iter().map(|a| (a, 1.0))
    }
}
