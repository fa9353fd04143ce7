//! `ground_truth.json`: the planted parameters and what actually happened, per campaign.

use serde::Serialize;

use crate::company::{AccountStory, AccountTruth, DAY};
use crate::{Reach, Shape, SimConfig, TouchEffect, World};

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
    /// Per touch type (the campaigns, then the newsletter), in the world's order: what its
    /// touches add to the customers' planted lifetime value.
    pub touch_types: Vec<TouchTruth>,
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
    /// The customers' planted lifetime value: MRR over 60 months from conversion, the life
    /// after the window's end included.
    pub planted_ltv_cents: i64,
    pub planted_ltv_per_customer: Option<f64>,
    /// Planted lifetime value ÷ spend (null for campaigns without spend).
    pub planted_ltv_per_dollar: Option<f64>,
    /// What the campaign's touches add to planted lifetime value: its touch type's
    /// `incremental_value_cents`.
    pub incremental_value_cents: i64,
    /// Incremental value ÷ spend (null for campaigns without spend).
    pub incremental_value_per_dollar: Option<f64>,
    /// What the company would not have without the campaign: the planted lifetime value of the
    /// customers it brought (their first touch; without it they would not be in the data) plus
    /// what its touches add to the customers other campaigns brought. The figure a multi-touch
    /// model's credit per campaign is judged against.
    pub contributed_value_cents: i64,
    /// Contributed value ÷ spend (null for campaigns without spend).
    pub contributed_value_per_dollar: Option<f64>,
    pub activation_rate: Option<f64>,
    pub churn_rate: Option<f64>,
    pub retention_90d: Option<f64>,
}

/// One touch type: the touches that carry one campaign's name (or would, for those that carry
/// none), whether first or later in the journey.
#[derive(Debug, Clone, Serialize)]
pub struct TouchTruth {
    pub campaign: String,
    pub channel: String,
    /// The campaign name its touches carry in the data (`utm_campaign`, touchpoints.csv's
    /// campaign); null for touches that carry none (tenure groups those under "(none)").
    pub carried_as: Option<String>,
    pub effect: TouchEffect,
    /// Accounts whose fate the type's touches reach (touches up to the lead or before the
    /// conversion, of a type with an effect, in a journey that could convert in the window).
    pub accounts: u64,
    /// Σ over accounts of (planted LTV with every touch's effect − planted LTV without this
    /// type's effects), the same random draws on both sides.
    pub incremental_value_cents: i64,
    pub spend_cents: i64,
    /// Incremental value ÷ spend (null without spend).
    pub incremental_value_per_dollar: Option<f64>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct ExperimentTruth {
    pub variant: String,
    pub customers: u64,
    pub activated: u64,
    pub activation_rate: Option<f64>,
    /// Customers converted at least 90 days before the end and still paying 90 days after.
    pub retained_90d: u64,
    pub eligible_90d: u64,
    pub retention_90d: Option<f64>,
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
    /// Per touch type: accounts reached and the sum of their increments, in cents.
    touch_types: Vec<(u64, f64)>,
    /// Per touch type: the sum of its increments to accounts another campaign brought.
    to_others: Vec<f64>,
    /// The touch types' campaign names, in `touch_types`' order.
    names: Vec<&'static str>,
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
            touch_types: vec![(0, 0.0); world.touch_types().count()],
            to_others: vec![0.0; world.touch_types().count()],
            names: world.touch_types().map(|c| c.name).collect(),
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.totals.accounts == 0
    }

    /// Counts one account's story: its truth and its touches' increments.
    pub(crate) fn add(&mut self, story: &AccountStory) {
        let brought_by = story.truth.as_ref().map(|t| t.campaign);
        for &(kind, increment) in &story.increments {
            let t = &mut self.touch_types[kind];
            t.0 += 1;
            t.1 += increment;
            if brought_by != Some(self.names[kind]) {
                self.to_others[kind] += increment;
            }
        }
        if let Some(truth) = &story.truth {
            self.add_truth(truth);
        }
    }

    fn add_truth(&mut self, a: &AccountTruth) {
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
        c.planted_ltv_cents += a.planted_ltv_cents;
        c.expansions += u64::from(a.expansions);
        if a.activated_at.is_some() {
            totals.activated += 1;
            c.activated += 1;
        }
        if a.churned_at.is_some() {
            totals.churned += 1;
            c.churned += 1;
        }
        let eligible = converted + 90 * DAY <= self.end;
        let retained = eligible && a.churned_at.is_none_or(|t| t > converted + 90 * DAY);
        c.eligible_90d += u64::from(eligible);
        c.retained_90d += u64::from(retained);
        if let Some(v) = self
            .experiment
            .iter_mut()
            .find(|e| Some(e.variant.as_str()) == a.variant)
        {
            v.customers += 1;
            v.activated += u64::from(a.activated_at.is_some());
            v.eligible_90d += u64::from(eligible);
            v.retained_90d += u64::from(retained);
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
            touch_types,
            to_others,
            names,
        } = self;
        totals.events = events;
        let spend_of = |name: &str| {
            spend
                .iter()
                .find(|(n, _)| *n == name)
                .map_or(0, |(_, s)| *s)
        };
        let per_dollar = |cents: i64, spend: i64| (spend > 0).then(|| cents as f64 / spend as f64);
        let touch_types: Vec<TouchTruth> = world
            .touch_types()
            .zip(touch_types)
            .map(|(c, (accounts, value))| {
                let spend_cents = spend_of(c.name);
                let incremental_value_cents = value.round() as i64;
                TouchTruth {
                    campaign: c.name.to_owned(),
                    channel: c.channel.to_owned(),
                    carried_as: match c.reach {
                        Reach::Referrer(_) | Reach::Direct => None,
                        _ => Some(c.name.to_owned()),
                    },
                    effect: c.touch,
                    accounts,
                    incremental_value_cents,
                    spend_cents,
                    incremental_value_per_dollar: per_dollar(incremental_value_cents, spend_cents),
                }
            })
            .collect();
        for c in &mut campaigns {
            c.spend_cents = spend_of(&c.campaign);
            c.activation_rate = ratio(c.activated, c.customers);
            c.churn_rate = ratio(c.churned, c.customers);
            c.retention_90d = ratio(c.retained_90d, c.eligible_90d);
            c.revenue_per_dollar = per_dollar(c.realized_revenue_cents, c.spend_cents);
            c.planted_ltv_per_customer =
                (c.customers > 0).then(|| c.planted_ltv_cents as f64 / c.customers as f64);
            c.planted_ltv_per_dollar = per_dollar(c.planted_ltv_cents, c.spend_cents);
            let touch = touch_types
                .iter()
                .find(|t| t.campaign == c.campaign)
                .expect("every campaign is a touch type");
            c.incremental_value_cents = touch.incremental_value_cents;
            c.incremental_value_per_dollar = touch.incremental_value_per_dollar;
            let kind = names
                .iter()
                .position(|n| *n == c.campaign)
                .expect("every campaign is a touch type");
            c.contributed_value_cents = c.planted_ltv_cents + to_others[kind].round() as i64;
            c.contributed_value_per_dollar = per_dollar(c.contributed_value_cents, c.spend_cents);
        }
        campaigns.sort_by(|a, b| {
            b.revenue_per_dollar
                .unwrap_or(f64::NEG_INFINITY)
                .total_cmp(&a.revenue_per_dollar.unwrap_or(f64::NEG_INFINITY))
                .then_with(|| a.campaign.cmp(&b.campaign))
        });
        for v in &mut experiment {
            v.activation_rate = ratio(v.activated, v.customers);
            v.retention_90d = ratio(v.retained_90d, v.eligible_90d);
        }
        let m = &world.churn_model;
        let mut churn_drivers = vec![
            ("low_usage".to_owned(), m.low_usage),
            ("not_activated".to_owned(), m.not_activated),
            ("nps_detractor".to_owned(), m.detractor),
            // Support load reveals trouble, whose hazard comes after the tickets.
            ("support_tickets".to_owned(), m.trouble.hazard),
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
            touch_types,
            experiment,
            churn_drivers,
        }
    }
}
