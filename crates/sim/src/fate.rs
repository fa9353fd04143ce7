//! An account's fate: whether it buys, and its life as a customer to the horizon of its planted
//! lifetime value, decided without writing anything.
//!
//! Every random number a decision reads is drawn up front, in a fixed order, from a stream of
//! the account's own ([`Draws`]): the same draws whatever the effects in force. So the fate can
//! be decided again without a touch type's effects (common random numbers): what changes is
//! what those effects change, not the luck of the account. The account's messages and rows are
//! written afterwards from the fate decided with every effect.

use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Exp1, StandardNormal};

use crate::company::{DAY, MINUTE, MONTH};
use crate::world::{Campaign, Plan, World};

/// The horizon of the planted lifetime value: 60 months of 365.25 / 12 days from conversion,
/// tenure's default `[revenue] ltv_horizon_months`.
pub const LTV_HORIZON: i64 = 60 * 36_525 * DAY / 1_200;

/// One touch of an account's journey: its type ([`World::touch_type`]) and time.
#[derive(Debug, Clone, Copy)]
pub struct Touch {
    pub kind: usize,
    pub at: i64,
}

/// What an account is before its fate: where it came from and the touches it had.
pub struct Prospect<'a> {
    pub campaign: &'a Campaign,
    pub plan: &'a Plan,
    pub tier_index: usize,
    /// The journey in time order, the acquisition touch first.
    pub touches: &'a [Touch],
}

/// The draws of the funnel and of the first days as a customer.
struct FunnelDraws {
    /// The touch the lead follows, an index into the journey.
    lead_touch: usize,
    lead: f64,
    opportunity: f64,
    won: f64,
    seats: u32,
    annual: f64,
    discount: f64,
    opportunity_delay: f64,
    close_delay: f64,
    guided: f64,
    activate: f64,
    time_to_value: f64,
    engagement: f64,
}

/// The draws of one month as a customer.
struct MonthDraws {
    trouble: f64,
    tickets: f64,
    second_answer: f64,
    answers: [f64; 2],
    churn: f64,
    churn_day: f64,
    expand: f64,
    expand_day: f64,
    expand_by: f64,
    contract: f64,
    contract_by: f64,
    drift: f64,
    reactivate: f64,
    reactivate_day: f64,
}

/// Every draw an account's fate reads, made before any decision.
pub struct Draws {
    funnel: FunnelDraws,
    /// One per 30-day month from the conversion to the later of the window's end and the LTV
    /// horizon (none when the account could not convert within the window).
    months: Vec<MonthDraws>,
}

impl Draws {
    /// Draws from `rng` (the account's fate stream) for a journey of `touches` with `plan`.
    pub fn new(rng: &mut ChaCha8Rng, touches: &[Touch], plan: &Plan, end: i64) -> Self {
        let funnel = FunnelDraws {
            lead_touch: rng.random_range(0..touches.len()),
            lead: rng.random(),
            opportunity: rng.random(),
            won: rng.random(),
            seats: rng.random_range(plan.seats.0..=plan.seats.1),
            annual: rng.random(),
            discount: rng.random(),
            opportunity_delay: rng.random(),
            close_delay: rng.random(),
            guided: rng.random(),
            activate: rng.random(),
            time_to_value: rng.sample(Exp1),
            engagement: rng.sample(StandardNormal),
        };
        let close = Timeline::of(&funnel, touches).close;
        let months = if close < end {
            let last = end.max(close + LTV_HORIZON);
            let count = (last - close + MONTH - 1) / MONTH;
            (0..count).map(|_| MonthDraws::new(rng)).collect()
        } else {
            Vec::new()
        };
        Self { funnel, months }
    }
}

impl MonthDraws {
    fn new(rng: &mut ChaCha8Rng) -> Self {
        Self {
            trouble: rng.random(),
            tickets: rng.random(),
            second_answer: rng.random(),
            answers: [rng.sample(StandardNormal), rng.sample(StandardNormal)],
            churn: rng.random(),
            churn_day: rng.random(),
            expand: rng.random(),
            expand_day: rng.random(),
            expand_by: rng.random(),
            contract: rng.random(),
            contract_by: rng.random(),
            drift: rng.sample(StandardNormal),
            reactivate: rng.random(),
            reactivate_day: rng.random(),
        }
    }
}

/// When the funnel's steps would happen: fixed by the draws, whatever the effects.
struct Timeline {
    lead: i64,
    opportunity: i64,
    close: i64,
}

impl Timeline {
    fn of(d: &FunnelDraws, touches: &[Touch]) -> Self {
        let lead = touches[d.lead_touch].at + 3 * MINUTE;
        let opportunity = lead + (1.0 + d.opportunity_delay * 20.0) as i64 * DAY;
        let close = opportunity + (7.0 + d.close_delay * 38.0) as i64 * DAY;
        Self {
            lead,
            opportunity,
            close,
        }
    }
}

/// How far the account got within the window.
pub struct Outcome {
    /// When it became a lead, if before the window's end.
    pub lead_at: Option<i64>,
    pub opportunity: Option<Opportunity>,
    /// Its life, if it won before the window's end.
    pub customer: Option<Customer>,
}

/// A new-business opportunity opened before the window's end.
pub struct Opportunity {
    pub at: i64,
    pub seats: u32,
    pub annual: bool,
    pub discount: f64,
    pub mrr: i64,
    pub close_at: i64,
    pub won: bool,
}

/// One month of a customer's life as it began.
pub struct Month {
    pub start: i64,
    pub active: bool,
    pub engagement: f64,
    pub seats: u32,
    pub tickets: u32,
    pub nps: Vec<i64>,
}

/// A change of what the customer pays.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Change {
    Churn {
        at: i64,
    },
    /// An annual contract renewed at `at` (its old end) for another year at `mrr`.
    Renewal {
        at: i64,
        mrr: i64,
    },
    Expansion {
        at: i64,
        seats: u32,
        mrr: i64,
        before: i64,
    },
    Contraction {
        at: i64,
        seats: u32,
        mrr: i64,
    },
    Reactivation {
        at: i64,
        seats: u32,
        mrr: i64,
    },
}

impl Change {
    pub fn at(&self) -> i64 {
        match *self {
            Change::Churn { at }
            | Change::Renewal { at, .. }
            | Change::Expansion { at, .. }
            | Change::Contraction { at, .. }
            | Change::Reactivation { at, .. } => at,
        }
    }

    /// The MRR from the change on, if it changes the MRR.
    fn mrr(&self) -> Option<i64> {
        match *self {
            Change::Churn { .. } => Some(0),
            Change::Renewal { .. } => None,
            Change::Expansion { mrr, .. }
            | Change::Contraction { mrr, .. }
            | Change::Reactivation { mrr, .. } => Some(mrr),
        }
    }
}

/// A customer's life from conversion to the later of the window's end and the LTV horizon.
pub struct Customer {
    pub start: i64,
    pub mrr: i64,
    pub guided: bool,
    pub activated_at: Option<i64>,
    pub months: Vec<Month>,
    /// In time order.
    pub changes: Vec<Change>,
}

impl Customer {
    /// MRR integrated from conversion to `until`, in cents: MRR × days × 12 / 365.25.
    pub fn revenue_until(&self, until: i64) -> f64 {
        let mut mrr = self.mrr;
        let mut since = self.start;
        let mut total = 0.0;
        for change in &self.changes {
            let Some(next) = change.mrr() else { continue };
            let at = change.at().min(until);
            total += mrr as f64 * (at - since).max(0) as f64;
            since = since.max(at);
            mrr = next;
        }
        total += mrr as f64 * (until - since).max(0) as f64;
        total / DAY as f64 * 12.0 / 365.25
    }

    /// The planted lifetime value: revenue over the LTV horizon.
    pub fn ltv(&self) -> f64 {
        self.revenue_until(self.start + LTV_HORIZON)
    }

    /// The MRR just before `at`.
    pub fn mrr_before(&self, at: i64) -> i64 {
        self.changes
            .iter()
            .take_while(|c| c.at() < at)
            .filter_map(Change::mrr)
            .last()
            .unwrap_or(self.mrr)
    }
}

/// The effects of a journey's touches, without those of one type if asked.
struct TouchEffects {
    conversion: f64,
    churn: f64,
    expansion: f64,
}

impl TouchEffects {
    fn of(
        world: &World,
        touches: &[Touch],
        lead: usize,
        close: i64,
        without: Option<usize>,
    ) -> Self {
        let mut effects = Self {
            conversion: 1.0,
            churn: 1.0,
            expansion: 1.0,
        };
        for (i, touch) in touches.iter().enumerate() {
            if Some(touch.kind) == without {
                continue;
            }
            let effect = world.touch_type(touch.kind).touch;
            if i <= lead {
                effects.conversion *= effect.conversion;
            }
            if touch.at < close {
                effects.churn *= effect.churn;
                effects.expansion *= effect.expansion;
            }
        }
        effects
    }
}

/// The probability of a funnel step: the base probability (at most 0.95), its odds multiplied.
fn step(base: f64, odds_factor: f64) -> f64 {
    let p = base.min(0.95);
    let odds = p / (1.0 - p) * odds_factor;
    odds / (1.0 + odds)
}

/// The Poisson count whose CDF first reaches `u`: a count from one uniform draw, so that a
/// changed mean moves the count and nothing else.
fn poisson(u: f64, mean: f64) -> u32 {
    let mut k = 0;
    let mut p = (-mean).exp();
    let mut cdf = p;
    while u > cdf && k < 1_000 {
        k += 1;
        p *= mean / f64::from(k);
        cdf += p;
    }
    k
}

/// Monthly recurring revenue in cents for `seats` at `seat_price`, after a discount.
pub fn mrr_of(seat_price: i64, seats: u32, discount: f64) -> i64 {
    ((seat_price * i64::from(seats)) as f64 * (1.0 - discount)).round() as i64
}

/// Decides the account's fate, with every touch's effect or without those of the touch type
/// `without`.
pub fn decide(
    world: &World,
    prospect: &Prospect,
    draws: &Draws,
    end: i64,
    without: Option<usize>,
) -> Outcome {
    let d = &draws.funnel;
    let when = Timeline::of(d, prospect.touches);
    let effects = TouchEffects::of(world, prospect.touches, d.lead_touch, when.close, without);
    let nothing = Outcome {
        lead_at: None,
        opportunity: None,
        customer: None,
    };
    let p = |i: usize| {
        step(
            world.funnel[i] * prospect.campaign.conversion,
            effects.conversion,
        )
    };
    if d.lead >= p(0) || when.lead >= end {
        return nothing;
    }
    let lead = Outcome {
        lead_at: Some(when.lead),
        ..nothing
    };
    if d.opportunity >= p(1) || when.opportunity >= end {
        return lead;
    }
    let plan = prospect.plan;
    let annual = d.annual < plan.annual_share;
    let discount = if annual {
        0.15
    } else if d.discount < 0.1 {
        0.10
    } else {
        0.0
    };
    let opportunity = Opportunity {
        at: when.opportunity,
        seats: d.seats,
        annual,
        discount,
        mrr: mrr_of(plan.seat_price_cents, d.seats, discount),
        close_at: when.close,
        won: d.won < p(2),
    };
    let customer = (opportunity.won && when.close < end)
        .then(|| live(world, prospect, draws, &opportunity, &effects));
    Outcome {
        lead_at: lead.lead_at,
        opportunity: Some(opportunity),
        customer,
    }
}

/// Life as a customer: activation, engagement, trouble, renewals, expansion, contraction, churn
/// and reactivation, month by month.
fn live(
    world: &World,
    prospect: &Prospect,
    draws: &Draws,
    deal: &Opportunity,
    effects: &TouchEffects,
) -> Customer {
    let d = &draws.funnel;
    let (campaign, plan) = (prospect.campaign, prospect.plan);
    let start = deal.close_at;
    let exp = &world.experiment;
    let guided = d.guided < 0.5;
    let p_activate = (world.activation * campaign.activation
        + if guided { exp.activation_lift } else { 0.0 })
    .clamp(0.0, 0.98);
    let activated_at = (d.activate < p_activate).then(|| {
        let mean = world.ttv_days / campaign.activation * if guided { exp.ttv_factor } else { 1.0 };
        start + ((1.0 + d.time_to_value * mean) * DAY as f64) as i64
    });
    let mut engagement = (0.55 + campaign.engagement + 0.15 * d.engagement).clamp(0.05, 0.95);
    let m = &world.churn_model;
    let churn_factor = plan.monthly_churn
        * campaign.churn
        * effects.churn
        * if guided { exp.churn_factor } else { 1.0 };
    let first_seats = deal.seats;
    let mut seats = deal.seats;
    let mut mrr = deal.mrr;
    let mut active = true;
    let mut contract_end = start + 12 * MONTH;
    let mut year_survival = 1.0;
    let mut detractor = false;
    // Months the account has been in trouble, none when out of it.
    let mut trouble: Option<u32> = None;
    let mut months = Vec::with_capacity(draws.months.len());
    let mut changes = Vec::new();
    for (i, draw) in draws.months.iter().enumerate() {
        let month_start = start + i as i64 * MONTH;
        let month_end = month_start + MONTH;
        let mut month = Month {
            start: month_start,
            active,
            engagement,
            seats,
            tickets: 0,
            nps: Vec::new(),
        };
        if active {
            trouble = match trouble {
                Some(n) if n == 0 || draw.trouble >= m.trouble.resolve => Some(n + 1),
                Some(_) => None,
                None => (draw.trouble < m.trouble.onset).then_some(0),
            };
            let troubled = trouble.is_some();
            let tier_tickets = [0.6, 1.0, 1.6][prospect.tier_index];
            month.tickets = poisson(
                draw.tickets,
                0.15 + (1.0 - engagement) * tier_tickets
                    + if troubled { m.trouble.tickets } else { 0.0 },
            );
            if i % 3 == 2 {
                let answers = if draw.second_answer < 0.5 { 1 } else { 2 };
                for z in &draw.answers[..answers] {
                    let score = (3.0 + 8.0 * engagement + 1.5 * z).round().clamp(0.0, 10.0) as i64;
                    detractor = score <= 6;
                    month.nps.push(score);
                }
            }
            let not_activated =
                activated_at.is_none_or(|a| a > month_start) && month_start - start >= 60 * DAY;
            let late_trouble = trouble.is_some_and(|n| n >= m.trouble.lag_months);
            let hazard = (churn_factor
                * (m.low_usage * (0.5 - engagement)
                    + m.trouble.hazard * f64::from(u8::from(late_trouble))
                    + m.detractor * f64::from(u8::from(detractor))
                    + m.not_activated * f64::from(u8::from(not_activated)))
                .exp())
            .min(0.9);
            let churn_now = if deal.annual {
                year_survival *= 1.0 - hazard;
                contract_end <= month_end && draw.churn < 1.0 - year_survival
            } else {
                draw.churn < hazard
            };
            if churn_now {
                let at = if deal.annual {
                    contract_end
                } else {
                    month_start + (draw.churn_day * MONTH as f64) as i64
                };
                mrr = 0;
                active = false;
                trouble = None;
                changes.push(Change::Churn { at });
            } else if deal.annual && contract_end <= month_end {
                changes.push(Change::Renewal {
                    at: contract_end,
                    mrr,
                });
                contract_end += 12 * MONTH;
                year_survival = 1.0;
            }
            if active {
                let at = month_start + (draw.expand_day * MONTH as f64) as i64;
                let p_expand = (world.expansion
                    * campaign.expansion
                    * effects.expansion
                    * (engagement - 0.4)
                    * 2.0)
                    .min(0.9);
                // Growth is bounded: an account buys at most three times its first seats, so a
                // few compounding expanders cannot carry the whole company's NRR.
                if engagement > 0.62 && seats < 3 * first_seats && draw.expand < p_expand {
                    let added =
                        ((f64::from(seats) * (0.2 + 0.3 * draw.expand_by)).ceil() as u32).max(1);
                    seats += added;
                    let before = mrr;
                    mrr = mrr_of(plan.seat_price_cents, seats, deal.discount);
                    changes.push(Change::Expansion {
                        at,
                        seats,
                        mrr,
                        before,
                    });
                } else if engagement < 0.35 && seats > 1 && draw.contract < world.contraction {
                    let removed = ((f64::from(seats) * (0.1 + 0.2 * draw.contract_by)).ceil()
                        as u32)
                        .clamp(1, seats - 1);
                    seats -= removed;
                    mrr = mrr_of(plan.seat_price_cents, seats, deal.discount);
                    changes.push(Change::Contraction { at, seats, mrr });
                }
            }
            let is_activated = activated_at.is_some_and(|a| a < month_end);
            engagement =
                (engagement + 0.06 * draw.drift + if is_activated { 0.005 } else { -0.02 })
                    .clamp(0.02, 0.98);
        } else if draw.reactivate < world.reactivation {
            let at = month_start + (draw.reactivate_day * MONTH as f64) as i64;
            active = true;
            engagement = engagement.max(0.45);
            mrr = mrr_of(plan.seat_price_cents, seats, deal.discount);
            contract_end = at + 12 * MONTH;
            year_survival = 1.0;
            changes.push(Change::Reactivation { at, seats, mrr });
        }
        months.push(month);
    }
    // A month's renewal may come after its expansion: readers take the changes in time order.
    changes.sort_by_key(Change::at);
    Customer {
        start,
        mrr: deal.mrr,
        guided,
        activated_at,
        months,
        changes,
    }
}

/// The planted value of an account: its lifetime value if it converts within the window.
pub fn value(outcome: &Outcome) -> f64 {
    outcome.customer.as_ref().map_or(0.0, Customer::ltv)
}

/// The touch types whose effects reach the account's fate: those of the journey up to the lead
/// or before the conversion, and that change anything; none when the account could not convert
/// within the window, whatever the effects.
pub fn effective_types(world: &World, prospect: &Prospect, draws: &Draws) -> Vec<usize> {
    if draws.months.is_empty() {
        return Vec::new();
    }
    let d = &draws.funnel;
    let close = Timeline::of(d, prospect.touches).close;
    let mut kinds: Vec<usize> = prospect
        .touches
        .iter()
        .enumerate()
        .filter(|(i, t)| *i <= d.lead_touch || t.at < close)
        .map(|(_, t)| t.kind)
        .filter(|k| !world.touch_type(*k).touch.is_none())
        .collect();
    kinds.sort_unstable();
    kinds.dedup();
    kinds
}
