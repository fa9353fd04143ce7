//! The planted truth: the campaigns, plans and behaviour the simulated company is built from.
//!
//! Every number a test or a report is checked against starts here and is written whole to
//! `ground_truth.json`, so a reader can see what tenure should recover.

use serde::Serialize;

/// How a campaign reaches people: what its landing pages carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reach {
    /// A page whose URL carries UTMs (and a click id) and whose referrer is the ad network.
    Paid {
        source: &'static str,
        medium: &'static str,
        click_id: Option<&'static str>,
        referrer: Option<&'static str>,
    },
    /// A page with no UTMs whose referrer is the given site.
    Referrer(&'static str),
    /// An email link with UTMs and no referrer.
    Email,
    /// A page with no marketing information at all.
    Direct,
    /// An offline touch, a row of touchpoints.csv of this kind.
    Offline { kind: &'static str },
}

/// One acquisition campaign and the customers it brings.
#[derive(Debug, Clone, Serialize)]
pub struct Campaign {
    pub name: &'static str,
    /// The channel tenure's default rules should give its touches.
    pub channel: &'static str,
    pub reach: Reach,
    /// Relative share of the accounts whose first touch this campaign is.
    pub weight: f64,
    /// Cost per day in cents for a company of 2,000 accounts (scaled with the company), before
    /// day-to-day noise (0: no spend).
    pub daily_spend_cents: i64,
    /// Cost per click in cents, to derive clicks and impressions from spend.
    pub cpc_cents: i64,
    /// Share of accounts by tier: smb, mid_market, enterprise.
    pub tier_mix: [f64; 3],
    /// Multiplies the base probability that an account reaches a lead, an opportunity, a win.
    pub conversion: f64,
    /// Multiplies the probability of activation; the mean time to value is divided by it.
    pub activation: f64,
    /// Multiplies the monthly churn hazard.
    pub churn: f64,
    /// Multiplies the monthly probability of expansion.
    pub expansion: f64,
    /// Shifts the account's starting engagement (0–1 scale).
    pub engagement: f64,
    /// What each touch of this campaign does, whether it is the account's first touch or a
    /// later one. The multipliers above describe who the campaign reaches; this, what reaching
    /// them changes.
    pub touch: TouchEffect,
}

/// The planted incremental effect of one touch: the difference it makes to the account that
/// receives it, compounded over the account's touches of the campaign.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct TouchEffect {
    /// Multiplies the odds of each funnel step (lead, opportunity, won) per touch of the journey
    /// up to the lead.
    pub conversion: f64,
    /// Multiplies the customer's monthly churn hazard per touch before the conversion.
    pub churn: f64,
    /// Multiplies the customer's monthly expansion probability per touch before the conversion.
    pub expansion: f64,
}

impl TouchEffect {
    /// A touch that changes nothing.
    pub const NONE: TouchEffect = TouchEffect {
        conversion: 1.0,
        churn: 1.0,
        expansion: 1.0,
    };

    pub fn is_none(&self) -> bool {
        *self == Self::NONE
    }
}

/// A pricing plan; each tier buys one.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub name: &'static str,
    pub tier: &'static str,
    pub seat_price_cents: i64,
    pub seats: (u32, u32),
    /// Probability of paying annually (15% discount) rather than monthly.
    pub annual_share: f64,
    /// Base monthly churn hazard of a typical account of this tier.
    pub monthly_churn: f64,
}

/// The churn model: monthly hazard = plan base × campaign multiplier × touch multipliers ×
/// experiment factor × exp(Σ βᵢ xᵢ).
#[derive(Debug, Clone, Serialize)]
pub struct ChurnModel {
    /// Per unit of (0.5 − engagement): low usage raises churn.
    pub low_usage: f64,
    /// Trouble behind support tickets: it raises the ticket rate at once and the hazard later.
    pub trouble: Trouble,
    /// When the latest NPS answer of the account is a detractor (0–6).
    pub detractor: f64,
    /// When the account is not activated 60 days after converting.
    pub not_activated: f64,
}

/// A latent state of a paying account (an unsolved problem, a lost champion) that support load
/// reveals before churn does: tickets rise in its first month, the churn hazard only after
/// `lag_months`, so recent tickets predict a churn ahead of it.
#[derive(Debug, Clone, Serialize)]
pub struct Trouble {
    /// Monthly probability that a paying account out of trouble falls into it.
    pub onset: f64,
    /// Monthly probability that trouble ends (from its second month).
    pub resolve: f64,
    /// Support tickets a month that trouble adds to the account's usual rate.
    pub tickets: f64,
    /// Months of trouble before it raises the churn hazard.
    pub lag_months: u32,
    /// Added to the log hazard in each month of trouble after the lag.
    pub hazard: f64,
}

/// The onboarding experiment: half of the new customers get the guided onboarding.
#[derive(Debug, Clone, Serialize)]
pub struct Experiment {
    pub name: &'static str,
    pub variants: [&'static str; 2],
    /// Added to the activation probability of the treated variant.
    pub activation_lift: f64,
    /// Multiplies the treated variant's mean time to value.
    pub ttv_factor: f64,
    /// Multiplies the treated variant's monthly churn hazard.
    pub churn_factor: f64,
}

/// Everything the simulation is built from.
#[derive(Debug, Clone, Serialize)]
pub struct World {
    pub site: &'static str,
    pub app_host: &'static str,
    pub campaigns: Vec<Campaign>,
    /// The touches after the first: a campaign's name (or "newsletter") and its relative share.
    pub nurture: Vec<(&'static str, f64)>,
    /// The nurture touch "newsletter", which is no acquisition campaign.
    pub newsletter: Campaign,
    pub plans: Vec<Plan>,
    /// Probabilities of reaching each funnel stage from the previous one (before campaign
    /// multipliers): lead, opportunity, won.
    pub funnel: [f64; 3],
    /// Probability that a new customer activates (before campaign and experiment effects).
    pub activation: f64,
    /// Mean days from conversion to activation (before effects).
    pub ttv_days: f64,
    pub churn_model: ChurnModel,
    pub experiment: Experiment,
    /// Events that count as activation, and the key features whose use is adoption.
    pub activation_events: Vec<&'static str>,
    pub key_features: Vec<&'static str>,
    /// Monthly probability that an engaged account near its seat limit buys more seats.
    pub expansion: f64,
    /// Monthly probability that a disengaged account drops seats.
    pub contraction: f64,
    /// Monthly probability that a churned account comes back.
    pub reactivation: f64,
    /// Product users of a customer: one per seat, at most this many (the rest stay silent).
    pub max_users: u32,
}

const SMB: [f64; 3] = [0.85, 0.13, 0.02];
const MIXED: [f64; 3] = [0.55, 0.35, 0.10];
const UPMARKET: [f64; 3] = [0.15, 0.45, 0.40];

// One row of the campaign table below: positional on purpose, so the table reads as a table.
#[allow(clippy::too_many_arguments)]
fn campaign(
    name: &'static str,
    channel: &'static str,
    reach: Reach,
    weight: f64,
    daily_spend_cents: i64,
    cpc_cents: i64,
    tier_mix: [f64; 3],
    effects: [f64; 5],
    touch: [f64; 3],
) -> Campaign {
    let [conversion, activation, churn, expansion, engagement] = effects;
    let touch = TouchEffect {
        conversion: touch[0],
        churn: touch[1],
        expansion: touch[2],
    };
    Campaign {
        name,
        channel,
        reach,
        weight,
        daily_spend_cents,
        cpc_cents,
        tier_mix,
        conversion,
        activation,
        churn,
        expansion,
        engagement,
        touch,
    }
}

impl Default for World {
    /// The default company. Planted on purpose: `fb_smb_promo` is cheap per account and brings
    /// small customers who activate slowly and churn; `li_abm_enterprise` is the most expensive
    /// per account and brings customers who stay and expand.
    fn default() -> Self {
        use Reach::*;
        let paid = |source, medium, click_id, referrer| Paid {
            source,
            medium,
            click_id,
            referrer,
        };
        // effects: conversion, activation, churn, expansion, engagement shift (who it reaches);
        // touch: conversion odds, churn and expansion multipliers per touch (what it changes).
        // Webinars, LinkedIn ABM and outbound change most; display retargeting and direct
        // visits nothing (they reach people who would have come anyway), so a model that
        // credits them is shown wrong.
        let campaigns = vec![
            campaign(
                "brand_search",
                "paid_search",
                paid(
                    "google",
                    "cpc",
                    Some("gclid"),
                    Some("https://www.google.com/"),
                ),
                12.0,
                45_000,
                350,
                MIXED,
                [1.4, 1.05, 0.8, 1.0, 0.05],
                [1.1, 0.97, 1.0],
            ),
            campaign(
                "generic_search",
                "paid_search",
                paid(
                    "google",
                    "cpc",
                    Some("gclid"),
                    Some("https://www.google.com/"),
                ),
                14.0,
                90_000,
                650,
                MIXED,
                [0.9, 0.95, 1.1, 0.9, 0.0],
                [1.1, 1.0, 1.0],
            ),
            campaign(
                "bing_generic",
                "paid_search",
                paid(
                    "bing",
                    "cpc",
                    Some("msclkid"),
                    Some("https://www.bing.com/"),
                ),
                4.0,
                15_000,
                300,
                MIXED,
                [0.9, 0.95, 1.0, 0.9, 0.0],
                [1.1, 1.0, 1.0],
            ),
            campaign(
                "fb_smb_promo",
                "paid_social",
                paid(
                    "facebook",
                    "paid_social",
                    Some("fbclid"),
                    Some("https://m.facebook.com/"),
                ),
                16.0,
                30_000,
                90,
                SMB,
                [1.1, 0.6, 2.2, 0.3, -0.15],
                [1.05, 1.0, 1.0],
            ),
            campaign(
                "li_abm_enterprise",
                "paid_social",
                paid(
                    "linkedin",
                    "paid_social",
                    Some("li_fat_id"),
                    Some("https://www.linkedin.com/"),
                ),
                6.0,
                160_000,
                1_100,
                UPMARKET,
                [1.2, 1.2, 0.45, 2.5, 0.15],
                [1.3, 0.9, 1.25],
            ),
            campaign(
                "display_retarget",
                "display",
                paid("gdn", "display", None, None),
                5.0,
                20_000,
                120,
                MIXED,
                [0.6, 0.9, 1.2, 0.8, -0.05],
                [1.0, 1.0, 1.0],
            ),
            campaign(
                "capterra_listing",
                "affiliate",
                paid(
                    "capterra",
                    "affiliate",
                    None,
                    Some("https://www.capterra.com/"),
                ),
                5.0,
                25_000,
                400,
                SMB,
                [1.0, 0.9, 1.2, 0.7, 0.0],
                [1.15, 0.97, 1.0],
            ),
            campaign(
                "organic_search",
                "organic_search",
                Referrer("https://www.google.com/"),
                14.0,
                0,
                0,
                MIXED,
                [1.0, 1.0, 0.9, 1.0, 0.05],
                [1.1, 1.0, 1.0],
            ),
            campaign(
                "organic_social",
                "organic_social",
                Referrer("https://t.co/sim"),
                5.0,
                0,
                0,
                MIXED,
                [0.8, 1.0, 1.0, 1.0, 0.0],
                [1.05, 1.0, 1.0],
            ),
            campaign(
                "g2_reviews",
                "referral",
                Referrer("https://www.g2.com/products/tenure-demo/reviews"),
                5.0,
                0,
                0,
                MIXED,
                [1.3, 1.05, 0.85, 1.1, 0.05],
                [1.2, 0.95, 1.0],
            ),
            campaign(
                "direct",
                "direct",
                Direct,
                8.0,
                0,
                0,
                MIXED,
                [1.0, 1.0, 1.0, 1.0, 0.0],
                [1.0, 1.0, 1.0],
            ),
            campaign(
                "webinars",
                "events",
                Offline { kind: "webinar" },
                3.0,
                0,
                0,
                UPMARKET,
                [1.2, 1.1, 0.8, 1.3, 0.05],
                [1.35, 0.85, 1.3],
            ),
            campaign(
                "outbound_sdr",
                "outbound",
                Offline { kind: "outbound" },
                3.0,
                0,
                0,
                UPMARKET,
                [0.8, 1.0, 1.0, 1.2, 0.0],
                [1.25, 0.95, 1.1],
            ),
        ];
        World {
            site: "www.tenure-demo.io",
            app_host: "app.tenure-demo.io",
            campaigns,
            nurture: vec![
                ("direct", 4.0),
                ("organic_search", 3.0),
                ("newsletter", 2.5),
                ("display_retarget", 1.5),
                ("brand_search", 2.0),
                ("webinars", 0.8),
            ],
            newsletter: campaign(
                "monthly_digest",
                "email",
                Reach::Email,
                0.0,
                0,
                0,
                MIXED,
                [1.0; 5],
                [1.1, 0.93, 1.05],
            ),
            plans: vec![
                Plan {
                    name: "starter",
                    tier: "smb",
                    seat_price_cents: 2_900,
                    seats: (2, 8),
                    annual_share: 0.2,
                    monthly_churn: 0.04,
                },
                Plan {
                    name: "growth",
                    tier: "mid_market",
                    seat_price_cents: 4_900,
                    seats: (5, 25),
                    annual_share: 0.45,
                    monthly_churn: 0.022,
                },
                Plan {
                    name: "enterprise",
                    tier: "enterprise",
                    seat_price_cents: 8_900,
                    seats: (15, 60),
                    annual_share: 0.8,
                    monthly_churn: 0.012,
                },
            ],
            funnel: [0.5, 0.56, 0.5],
            activation: 0.72,
            ttv_days: 14.0,
            churn_model: ChurnModel {
                low_usage: 2.2,
                trouble: Trouble {
                    onset: 0.05,
                    resolve: 0.3,
                    tickets: 2.5,
                    lag_months: 1,
                    hazard: 2.1,
                },
                detractor: 0.7,
                not_activated: 1.0,
            },
            experiment: Experiment {
                name: "onboarding_v2",
                variants: ["control", "guided"],
                activation_lift: 0.12,
                ttv_factor: 0.7,
                churn_factor: 0.8,
            },
            activation_events: vec!["Report Created"],
            key_features: vec![
                "Report Created",
                "Dashboard Shared",
                "Alert Configured",
                "Integration Connected",
                "Export Downloaded",
                "Forecast Viewed",
            ],
            expansion: 0.12,
            contraction: 0.06,
            reactivation: 0.015,
            max_users: 100,
        }
    }
}

impl World {
    pub fn campaign(&self, name: &str) -> &Campaign {
        self.campaigns
            .iter()
            .find(|c| c.name == name)
            .expect("nurture names are campaigns of the world")
    }

    /// The campaign of a touch type: the world's campaigns in order, then the newsletter.
    pub fn touch_type(&self, kind: usize) -> &Campaign {
        self.campaigns.get(kind).unwrap_or(&self.newsletter)
    }

    /// The touch type of a nurture touch's name.
    pub fn nurture_type(&self, name: &str) -> usize {
        if name == "newsletter" {
            return self.campaigns.len();
        }
        self.campaigns
            .iter()
            .position(|c| c.name == name)
            .expect("nurture names are campaigns of the world")
    }

    /// Every touch type: the campaigns, then the newsletter.
    pub fn touch_types(&self) -> impl Iterator<Item = &Campaign> {
        self.campaigns.iter().chain([&self.newsletter])
    }
}
