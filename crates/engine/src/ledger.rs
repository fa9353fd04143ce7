//! The revenue ledger: every account's MRR changes, deals and invoices, as the log states them.
//!
//! The ledger keeps facts, not totals: each change is filed under (effective time, log seq), so
//! its state at any instant is the latest change at or before it, whatever order the entries
//! arrived in. That is what makes Stripe events order-safe (an older event, arriving late, is
//! filed in the past and never overwrites a newer state) and replay equal to live.
//!
//! MRR comes in *streams*: `subscriptions.csv` states an account's whole MRR (one stream per
//! account), while each Stripe subscription is a stream of its own; an account's MRR at `t` is
//! the sum of its streams' latest values. Amounts stay in their own currency here; reports
//! convert them to the reporting currency.

use std::collections::BTreeMap;

use tenure_core::{AccountId, Currency, DealKind, DealRow, DealStatus, Money, SpendRow, Timestamp};

/// Where an MRR change came from: one stream's value replaces that stream's previous value.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub enum Stream {
    /// `subscriptions.csv`: the account's whole MRR.
    Csv,
    /// One Stripe subscription, by id.
    Stripe(String),
}

/// One change of one stream's MRR.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Change {
    pub at: Timestamp,
    pub stream: Stream,
    pub mrr: Money,
    pub plan: Option<String>,
    pub seats: Option<u32>,
}

/// A payment, or a failed one, as a billing provider reported it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Invoice {
    pub at: Timestamp,
    pub invoice_id: String,
    pub amount: Money,
    pub paid: bool,
}

/// Everything the ledger knows about one account.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct AccountLedger {
    /// By (effective time, log seq).
    changes: BTreeMap<(Timestamp, i64), Change>,
    /// By deal id: the latest version of each deal (by log seq).
    deals: BTreeMap<String, (i64, DealRow)>,
    /// By (time, invoice id).
    invoices: BTreeMap<(Timestamp, String), Invoice>,
}

impl AccountLedger {
    /// Changes in effective order (ties in log order).
    pub fn changes(&self) -> impl Iterator<Item = &Change> {
        self.changes.values()
    }

    pub fn deals(&self) -> impl Iterator<Item = &DealRow> {
        self.deals.values().map(|(_, d)| d)
    }

    pub fn invoices(&self) -> impl Iterator<Item = &Invoice> {
        self.invoices.values()
    }

    /// The seats of the latest change at or before `at` that names them.
    pub fn seats_at(&self, at: Timestamp) -> Option<u32> {
        self.changes
            .range(..=(at, i64::MAX))
            .rev()
            .find_map(|(_, c)| c.seats)
    }

    /// The latest plan named by a change at or before `at`.
    pub fn plan_at(&self, at: Timestamp) -> Option<&str> {
        self.changes
            .range(..=(at, i64::MAX))
            .rev()
            .find_map(|(_, c)| c.plan.as_deref())
    }

    /// The close of the first won `new_business` deal, which converts the account if it comes
    /// before its first MRR (SPEC §3, Conversion).
    pub fn first_won_new_business(&self) -> Option<Timestamp> {
        self.deals()
            .filter(|d| d.kind == DealKind::NewBusiness && d.status == DealStatus::Won)
            .filter_map(|d| d.closed_at)
            .min()
    }
}

/// The ledger of one workspace.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Ledger {
    accounts: BTreeMap<AccountId, AccountLedger>,
    /// Spend rows keyed by (date, log seq).
    spend: BTreeMap<(Timestamp, i64), SpendRow>,
    /// Webhook events whose payload could not be interpreted, by event id, with the reason.
    uninterpreted: BTreeMap<String, String>,
}

impl Ledger {
    pub(crate) fn add_change(&mut self, account: &AccountId, seq: i64, change: Change) {
        self.account_mut(account)
            .changes
            .insert((change.at, seq), change);
    }

    pub(crate) fn add_deal(&mut self, seq: i64, deal: &DealRow) {
        let deals = &mut self.account_mut(&deal.account_id).deals;
        match deals.get(&deal.deal_id) {
            Some((known, _)) if *known > seq => {}
            _ => {
                deals.insert(deal.deal_id.clone(), (seq, deal.clone()));
            }
        }
    }

    pub(crate) fn add_invoice(&mut self, account: &AccountId, invoice: Invoice) {
        self.account_mut(account)
            .invoices
            .insert((invoice.at, invoice.invoice_id.clone()), invoice);
    }

    pub(crate) fn add_uninterpreted(&mut self, event_id: &str, reason: String) {
        self.uninterpreted.insert(event_id.to_owned(), reason);
    }

    /// Webhook events kept in the log that the ledger could not read, with the reason.
    pub fn uninterpreted(&self) -> impl ExactSizeIterator<Item = (&str, &str)> {
        self.uninterpreted
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
    }

    pub(crate) fn add_spend(&mut self, seq: i64, row: &SpendRow) {
        self.spend.insert((row.date, seq), row.clone());
    }

    fn account_mut(&mut self, account: &AccountId) -> &mut AccountLedger {
        self.accounts.entry(account.clone()).or_default()
    }

    /// Every account with ledger facts, in id order.
    pub fn accounts(&self) -> impl Iterator<Item = (&AccountId, &AccountLedger)> {
        self.accounts.iter()
    }

    pub fn account(&self, account: &AccountId) -> Option<&AccountLedger> {
        self.accounts.get(account)
    }

    /// Spend rows in date order.
    pub fn spend(&self) -> impl Iterator<Item = &SpendRow> {
        self.spend.values()
    }

    /// How many amounts reports convert to the reporting currency — MRR changes and spend
    /// costs — the ledger holds in each currency.
    pub fn amounts_by_currency(&self) -> BTreeMap<Currency, u64> {
        let mut out: BTreeMap<Currency, u64> = BTreeMap::new();
        let changes = self.accounts.values().flat_map(|a| a.changes.values());
        for currency in changes
            .map(|c| c.mrr.currency)
            .chain(self.spend.values().map(|r| r.cost.currency))
        {
            *out.entry(currency).or_default() += 1;
        }
        out
    }
}
