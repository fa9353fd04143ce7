//! `ground_truth.json`: the planted parameters and what actually happened, per campaign.

use serde::Serialize;

use crate::company::{AccountTruth, DAY};
use crate::{Shape, SimConfig, World};

#[derive(Debug, Clone, Serialize)]
pub struct GroundTruth {
    pub seed: u64,
    pub accounts: usize,
    pub months: u32,
    /// How the messages were shaped, when not as the simulator's own tools send them.
    #[serde(skip_serializing_if = "Shape::is_plain")]
    pub shape: Shape,
    /// The window: `[start, end)`.
    pub start: String,
    pub end: String,
    pub world: World,
    pub totals: Totals,
    /// Per acquisition (first-touch) campaign, sorted by realized revenue per dollar of spend.
    pub campaigns: Vec<CampaignTruth>,
    pub experiment: Vec<ExperimentTruth>,
    /// The churn drivers the simulation uses, strongest first, with their coefficients.
    pub churn_drivers: Vec<(String, f64)>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Totals {
    pub accounts: u64,
    pub leads: u64,
    pub opportunities: u64,
    pub customers: u64,
    pub activated: u64,
    pub churned: u64,
    pub events: u64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct CampaignTruth {
    pub campaign: String,
    pub channel: String,
    pub spend_cents: i64,
    pub accounts: u64,
    pub customers: u64,
    pub activated: u64,
    /// Customers converted at least 90 days before the end and still paying 90 days after.
    pub retained_90d: u64,
    pub eligible_90d: u64,
    pub churned: u64,
    pub expansions: u64,
    pub initial_mrr_cents: i64,
    pub realized_revenue_cents: i64,
    /// Realized revenue ÷ spend (null for campaigns without spend).
    pub revenue_per_dollar: Option<f64>,
    pub activation_rate: Option<f64>,
    pub churn_rate: Option<f64>,
    pub retention_90d: Option<f64>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct ExperimentTruth {
    pub variant: String,
    pub customers: u64,
    pub activated: u64,
    pub activation_rate: Option<f64>,
}

fn ratio(a: u64, b: u64) -> Option<f64> {
    (b > 0).then(|| a as f64 / b as f64)
}

/// Counts accounts into per-campaign and per-variant figures as they are simulated, so that
/// memory does not grow with the number of accounts.
#[derive(Debug)]
pub(crate) struct Tally {
    end: i64,
    totals: Totals,
    campaigns: Vec<CampaignTruth>,
    experiment: Vec<ExperimentTruth>,
}

impl Tally {
    pub(crate) fn new(world: &World, end: i64) -> Self {
        Self {
            end,
            totals: Totals::default(),
            campaigns: world
                .campaigns
                .iter()
                .map(|c| CampaignTruth {
                    campaign: c.name.to_owned(),
                    channel: c.channel.to_owned(),
                    ..CampaignTruth::default()
                })
                .collect(),
            experiment: world
                .experiment
                .variants
                .iter()
                .map(|v| ExperimentTruth {
                    variant: (*v).to_owned(),
                    ..ExperimentTruth::default()
                })
                .collect(),
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.totals.accounts == 0
    }

    pub(crate) fn add(&mut self, a: &AccountTruth) {
        let totals = &mut self.totals;
        totals.accounts += 1;
        totals.leads += u64::from(a.lead);
        totals.opportunities += u64::from(a.opportunity);
        let c = self
            .campaigns
            .iter_mut()
            .find(|c| c.campaign == a.campaign)
            .expect("every account's campaign is in the world");
        c.accounts += 1;
        let Some(converted) = a.converted_at else {
            return;
        };
        totals.customers += 1;
        c.customers += 1;
        c.initial_mrr_cents += a.initial_mrr_cents;
        c.realized_revenue_cents += a.realized_revenue_cents;
        c.expansions += u64::from(a.expansions);
        if a.activated_at.is_some() {
            totals.activated += 1;
            c.activated += 1;
        }
        if a.churned_at.is_some() {
            totals.churned += 1;
            c.churned += 1;
        }
        if converted + 90 * DAY <= self.end {
            c.eligible_90d += 1;
            if a.churned_at.is_none_or(|t| t > converted + 90 * DAY) {
                c.retained_90d += 1;
            }
        }
        if let Some(v) = self
            .experiment
            .iter_mut()
            .find(|e| Some(e.variant.as_str()) == a.variant)
        {
            v.customers += 1;
            v.activated += u64::from(a.activated_at.is_some());
        }
    }

    pub(crate) fn finish(
        self,
        config: &SimConfig,
        shape: &Shape,
        world: &World,
        start: i64,
        spend: &[(&'static str, i64)],
        events: u64,
    ) -> GroundTruth {
        let Tally {
            end,
            mut totals,
            mut campaigns,
            mut experiment,
        } = self;
        totals.events = events;
        for c in &mut campaigns {
            c.spend_cents = spend
                .iter()
                .find(|(n, _)| *n == c.campaign)
                .map_or(0, |(_, s)| *s);
            c.activation_rate = ratio(c.activated, c.customers);
            c.churn_rate = ratio(c.churned, c.customers);
            c.retention_90d = ratio(c.retained_90d, c.eligible_90d);
            c.revenue_per_dollar =
                (c.spend_cents > 0).then(|| c.realized_revenue_cents as f64 / c.spend_cents as f64);
        }
        campaigns.sort_by(|a, b| {
            b.revenue_per_dollar
                .unwrap_or(f64::NEG_INFINITY)
                .total_cmp(&a.revenue_per_dollar.unwrap_or(f64::NEG_INFINITY))
                .then_with(|| a.campaign.cmp(&b.campaign))
        });
        for v in &mut experiment {
            v.activation_rate = ratio(v.activated, v.customers);
        }
        let m = &world.churn_model;
        let mut churn_drivers = vec![
            ("low_usage".to_owned(), m.low_usage),
            ("not_activated".to_owned(), m.not_activated),
            ("nps_detractor".to_owned(), m.detractor),
            ("support_tickets".to_owned(), m.tickets),
        ];
        churn_drivers.sort_by(|a, b| b.1.total_cmp(&a.1));
        let day = |ms: i64| tenure_core::Timestamp::from_millis(ms).to_string()[..10].to_owned();
        GroundTruth {
            seed: config.seed,
            accounts: config.accounts,
            months: config.months,
            shape: *shape,
            start: day(start),
            end: day(end),
            world: world.clone(),
            totals,
            campaigns,
            experiment,
            churn_drivers,
        }
    }
}
