//! One typed row for each CSV kind of SPEC §2.3.

use serde::{Deserialize, Serialize};

use crate::{AccountId, AnonymousId, Email, Money, Timestamp, UserId};

/// `accounts.csv`: the account's firmographics as the CRM knows them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccountRow {
    pub account_id: AccountId,
    pub name: Option<String>,
    pub domain: Option<String>,
    pub tier: Option<String>,
    pub industry: Option<String>,
    pub employees: Option<u32>,
    pub csm_owner: Option<String>,
    pub created_at: Option<Timestamp>,
}

/// `subscriptions.csv`: from `effective_at` on, the account's MRR is `mrr` (0 means cancelled).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubscriptionRow {
    pub account_id: AccountId,
    pub effective_at: Timestamp,
    pub mrr: Money,
    pub plan: Option<String>,
    pub seats: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DealKind {
    NewBusiness,
    Renewal,
    Expansion,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DealStatus {
    Open,
    Won,
    Lost,
}

/// `deals.csv`: a CRM deal and, once won, its contract period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DealRow {
    pub deal_id: String,
    pub account_id: AccountId,
    pub kind: DealKind,
    pub status: DealStatus,
    pub amount: Money,
    pub created_at: Timestamp,
    pub closed_at: Option<Timestamp>,
    pub contract_start: Option<Timestamp>,
    pub contract_end: Option<Timestamp>,
}

/// `spend.csv`: one day's cost of a campaign.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpendRow {
    pub date: Timestamp,
    pub channel: String,
    pub source: Option<String>,
    pub campaign: Option<String>,
    pub cost: Money,
    pub impressions: Option<u64>,
    pub clicks: Option<u64>,
}

/// `touchpoints.csv`: an offline touch (event, webinar, outbound call, partner intro).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TouchpointRow {
    pub occurred_at: Timestamp,
    pub account_id: Option<AccountId>,
    pub user_id: Option<UserId>,
    pub email: Option<Email>,
    pub anonymous_id: Option<AnonymousId>,
    pub channel: Option<String>,
    pub source: Option<String>,
    pub medium: Option<String>,
    pub campaign: Option<String>,
    pub content: Option<String>,
    pub term: Option<String>,
    pub kind: Option<String>,
}
