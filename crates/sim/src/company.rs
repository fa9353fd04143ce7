//! One account's life, from the first touch to the end of the simulated window, as messages and
//! rows.
//!
//! Each account draws from its own random streams (seeded from the company seed and the
//! account's index), so accounts can be simulated in any order or in parallel and the output is
//! the same. Its fate (whether it buys, and its life as a customer) is decided first from a
//! stream of its own ([`crate::fate`]); what it sends is written from that fate with another.

use std::collections::HashSet;

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Binomial, Distribution, Poisson, StandardNormal};
use serde::Serialize;
use serde_json::{json, Value};
use tenure_core::Timestamp;

use crate::fate::{self, Change, Customer, Draws, Prospect, Touch};
use crate::names;
use crate::shape::{copies, Shape};
use crate::world::{Campaign, Plan, Reach, World};

pub const DAY: i64 = 86_400_000;
pub const MINUTE: i64 = 60_000;
/// The simulation steps customers in 30-day months.
pub const MONTH: i64 = 30 * DAY;

// How the company's tools shape what they send (none of it changes what happened):
/// The share of a grouped person's tracks that name the account in `context.groupId`, as from a
/// site that calls `group` once a session and sends most tracks without it.
const NAMED_TRACKS: f64 = 0.25;
/// The share of offline rows of a person who later identifies that carry only the e-mail, as a
/// CRM export that knows the contact but not yet the company does.
const EMAIL_ONLY_ROWS: f64 = 0.5;
/// The chance that a visitor landing on the home page comes back to it from another site within
/// the session.
const RELANDING: f64 = 0.05;
/// The chance that an account's simulation also writes one prospect met offline who never visits.
const PROSPECTS: f64 = 0.1;
/// touchpoints.csv's columns (SPEC §2.3) that the shaping reads or clears.
const ROW_ACCOUNT: usize = 1;
const ROW_EMAIL: usize = 3;

/// What is known about one account, for `ground_truth.json` and the tests.
#[derive(Debug, Clone, Serialize)]
pub struct AccountTruth {
    pub account_id: String,
    pub campaign: &'static str,
    pub channel: &'static str,
    pub tier: &'static str,
    pub lead: bool,
    pub opportunity: bool,
    pub converted_at: Option<i64>,
    pub variant: Option<&'static str>,
    pub activated_at: Option<i64>,
    pub churned_at: Option<i64>,
    pub expansions: u32,
    pub initial_mrr_cents: i64,
    pub final_mrr_cents: i64,
    /// MRR integrated over time until the end of the window: MRR × days × 12 / 365.25.
    pub realized_revenue_cents: i64,
    /// MRR integrated from conversion over the LTV horizon (60 months of 365.25 / 12 days),
    /// the life after the window's end included; 0 for an account that is no customer.
    pub planted_ltv_cents: i64,
}

/// Everything one account contributes to the output files.
#[derive(Debug, Default)]
pub struct AccountStory {
    /// NDJSON lines, in time order.
    pub events: Vec<String>,
    pub account: Vec<String>,
    pub subscriptions: Vec<Vec<String>>,
    pub deals: Vec<Vec<String>>,
    pub touchpoints: Vec<Vec<String>>,
    pub truth: Option<AccountTruth>,
    /// Per touch type whose effects reach the account: its planted LTV with every effect less
    /// its planted LTV without that type's effects, in cents.
    pub increments: Vec<(usize, f64)>,
}

/// The fixed frame of one simulation run.
#[derive(Debug, Clone, Copy)]
pub struct Frame {
    pub seed: u64,
    pub start: i64,
    pub end: i64,
}

/// SplitMix64: turns (seed, stream) into well-spread seeds for independent streams.
pub fn stream_seed(seed: u64, stream: u64) -> u64 {
    let mut z = seed ^ stream.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn ts(ms: i64) -> String {
    Timestamp::from_millis(ms).to_string()
}

fn date(ms: i64) -> String {
    ts(ms)[..10].to_owned()
}

fn money(cents: i64) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

struct Person {
    user: String,
    anon: String,
    email: String,
    name: String,
    title: &'static str,
    identified: bool,
    /// When the person's `group` call links them to the account, if it does.
    grouped_at: Option<i64>,
}

/// What a message is to the [`Shape`] knobs: sent as simulated, or scaled as a browsed page or
/// a product event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sent {
    Always,
    Browsed,
    Product,
}

struct Message {
    at: i64,
    n: u32,
    sent: Sent,
    value: Value,
}

/// Collects one account's messages with stable ids and sorts them at the end.
struct Events {
    prefix: String,
    next: u32,
    list: Vec<Message>,
}

impl Events {
    fn push(&mut self, at: i64, message: Value) {
        self.push_as(at, message, Sent::Always);
    }

    fn push_as(&mut self, at: i64, mut value: Value, sent: Sent) {
        let n = self.next;
        self.next += 1;
        value["messageId"] = Value::String(format!("{}-{n}", self.prefix));
        value["timestamp"] = Value::String(ts(at));
        self.list.push(Message { at, n, sent, value });
    }

    /// Copy `copy` (1, 2, …) of a message, `copy` minutes after it, with an id of its own.
    fn copy_of(&self, message: &Message, copy: u32) -> Message {
        let at = message.at + i64::from(copy) * MINUTE;
        let mut value = message.value.clone();
        value["messageId"] = Value::String(format!("{}-{}c{copy}", self.prefix, message.n));
        value["timestamp"] = Value::String(ts(at));
        Message {
            at,
            n: message.n,
            sent: message.sent,
            value,
        }
    }

    fn into_lines(mut self, end: i64) -> Vec<String> {
        self.list.retain(|m| m.at < end);
        self.list.sort_by_key(|m| (m.at, m.n));
        self.list
            .into_iter()
            .map(|m| serde_json::to_string(&m.value).expect("messages serialize"))
            .collect()
    }
}

struct Life<'a> {
    world: &'a World,
    frame: Frame,
    rng: ChaCha8Rng,
    /// How the company's tools send what happened (which tracks name the account, which CRM
    /// rows carry only an e-mail, who re-lands from another site): drawn from a stream of its
    /// own, so the company's behaviour and its ground truth do not depend on it.
    sdk: ChaCha8Rng,
    /// The draws of the account's fate ([`Draws`]): a stream of its own, so that what is sent
    /// and how does not move them.
    fate: ChaCha8Rng,
    index: usize,
    account_id: String,
    domain: String,
    events: Events,
    people: Vec<Person>,
    story: AccountStory,
}

fn pick<'a, T>(rng: &mut ChaCha8Rng, items: &'a [T]) -> &'a T {
    &items[rng.random_range(0..items.len())]
}

fn weighted<T: Copy>(rng: &mut ChaCha8Rng, items: &[(T, f64)]) -> T {
    let total: f64 = items.iter().map(|(_, w)| w).sum();
    let mut x = rng.random::<f64>() * total;
    for (item, w) in items {
        if x < *w {
            return *item;
        }
        x -= w;
    }
    items[items.len() - 1].0
}

fn poisson(rng: &mut ChaCha8Rng, mean: f64) -> u32 {
    if mean <= 0.0 {
        return 0;
    }
    let d: Poisson<f64> = Poisson::new(mean).expect("a positive mean");
    d.sample(rng) as u32
}

fn normal(rng: &mut ChaCha8Rng) -> f64 {
    rng.sample(StandardNormal)
}

/// Simulates account `index` of the company, its messages shaped by `shape`.
pub fn simulate_account(world: &World, frame: Frame, shape: &Shape, index: usize) -> AccountStory {
    let seed = stream_seed(frame.seed, index as u64);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut sdk = ChaCha8Rng::seed_from_u64(seed);
    sdk.set_stream(1);
    let mut fate = ChaCha8Rng::seed_from_u64(seed);
    fate.set_stream(2);
    let first = *pick(&mut rng, names::COMPANY_FIRST);
    let second = *pick(&mut rng, names::COMPANY_SECOND);
    let account_id = format!("acct_{index:06}");
    let domain = format!(
        "{}{}{index}.example",
        first.to_lowercase(),
        second.to_lowercase()
    );
    let mut life = Life {
        world,
        frame,
        rng,
        sdk,
        fate,
        index,
        account_id,
        domain,
        events: Events {
            prefix: format!("sim{}-{index}", frame.seed),
            next: 0,
            list: Vec::new(),
        },
        people: Vec::new(),
        story: AccountStory::default(),
    };
    life.run(&format!("{first} {second}"));
    life.visitors();
    life.unnamed_tracks();
    life.email_only_rows();
    life.prospects();
    life.reshape(shape);
    let Life {
        events,
        mut story,
        frame,
        ..
    } = life;
    story.events = events.into_lines(frame.end);
    story
}

impl Life<'_> {
    fn run(&mut self, company_name: &str) {
        let world = self.world;
        let span = (self.frame.end - self.frame.start - 30 * DAY).max(DAY) as f64;
        // More accounts arrive later in the window, as a growing company sees.
        let created = self.frame.start + (span * self.rng.random::<f64>().powf(0.8)) as i64;
        let weights: Vec<(usize, f64)> = world
            .campaigns
            .iter()
            .enumerate()
            .map(|(i, c)| (i, c.weight))
            .collect();
        let campaign = &world.campaigns[weighted(&mut self.rng, &weights)];
        let tier_index = weighted(
            &mut self.rng,
            &[
                (0, campaign.tier_mix[0]),
                (1, campaign.tier_mix[1]),
                (2, campaign.tier_mix[2]),
            ],
        );
        let plan = &world.plans[tier_index];
        let industry = *pick(&mut self.rng, names::INDUSTRIES);
        let employees = match tier_index {
            0 => self.rng.random_range(5..80),
            1 => self.rng.random_range(80..800),
            _ => self.rng.random_range(800..12_000),
        };
        let csm = *pick(&mut self.rng, names::CSMS);
        self.story.account = vec![
            self.account_id.clone(),
            company_name.to_owned(),
            self.domain.clone(),
            plan.tier.to_owned(),
            industry.to_owned(),
            employees.to_string(),
            csm.to_owned(),
            date(created),
        ];

        let committee = match tier_index {
            0 => self.rng.random_range(1..=2),
            1 => self.rng.random_range(2..=4),
            _ => self.rng.random_range(3..=6),
        };
        for j in 0..committee {
            self.add_person(j);
        }

        // Pre-purchase journey: the acquisition touch, then nurture touches.
        let mut truth = AccountTruth {
            account_id: self.account_id.clone(),
            campaign: campaign.name,
            channel: campaign.channel,
            tier: plan.tier,
            lead: false,
            opportunity: false,
            converted_at: None,
            variant: None,
            activated_at: None,
            churned_at: None,
            expansions: 0,
            initial_mrr_cents: 0,
            final_mrr_cents: 0,
            realized_revenue_cents: 0,
            planted_ltv_cents: 0,
        };
        self.touch(campaign, 0, created);
        let acquisition = world
            .campaigns
            .iter()
            .position(|c| c.name == campaign.name)
            .expect("the campaign is the world's");
        let mut touches = vec![Touch {
            kind: acquisition,
            at: created,
        }];
        // B2B buyers come back many times before they buy, bigger companies more.
        let extra = poisson(&mut self.rng, 3.0 + 1.5 * tier_index as f64);
        for _ in 0..extra {
            let at = created + (self.rng.random::<f64>() * 45.0 * DAY as f64) as i64;
            let person = self.rng.random_range(0..self.people.len());
            let kind = world.nurture_type(weighted(&mut self.rng, &world.nurture));
            self.touch(world.touch_type(kind), person, at);
            touches.push(Touch { kind, at });
        }
        // Stable: the acquisition touch stays first.
        touches.sort_by_key(|t| t.at);

        let prospect = Prospect {
            campaign,
            plan,
            tier_index,
            touches: &touches,
        };
        let end = self.frame.end;
        let draws = Draws::new(&mut self.fate, &touches, plan, end);
        let outcome = fate::decide(world, &prospect, &draws, end, None);
        let value = fate::value(&outcome);
        for kind in fate::effective_types(world, &prospect, &draws) {
            let without = fate::value(&fate::decide(world, &prospect, &draws, end, Some(kind)));
            self.story.increments.push((kind, value - without));
        }

        let Some(lead_at) = outcome.lead_at else {
            self.story.truth = Some(truth);
            return;
        };
        truth.lead = true;
        self.identify(
            0,
            lead_at,
            Some(plan.tier),
            Some(employees),
            Some(industry),
            company_name,
        );
        let lead_event = match tier_index {
            0 => "Trial Started",
            1 => *pick(
                &mut self.rng,
                &["Lead Created", "Trial Started", "Demo Requested"],
            ),
            _ => "Demo Requested",
        };
        self.track(0, lead_at + MINUTE, lead_event, json!({}));
        for j in 1..self.people.len() {
            let at = lead_at + (self.rng.random::<f64>() * 10.0 * DAY as f64) as i64;
            self.page(j, at, None, None, Sent::Always);
            self.identify(j, at + MINUTE, None, None, None, company_name);
        }

        let Some(opportunity) = &outcome.opportunity else {
            self.story.truth = Some(truth);
            return;
        };
        truth.opportunity = true;
        let mrr = opportunity.mrr;
        let deal_id = format!("deal_{:06}_new", self.index);
        self.track(
            0,
            opportunity.at,
            "Opportunity Created",
            json!({"deal_id": deal_id, "amount": mrr * 12 / 100}),
        );
        let (opp_at, close_at) = (opportunity.at, opportunity.close_at);
        let Some(customer) = &outcome.customer else {
            let (status, closed) = if close_at >= end {
                ("open", None)
            } else {
                ("lost", Some(close_at))
            };
            self.deal(
                &deal_id,
                "new_business",
                status,
                mrr * 12,
                opp_at,
                closed,
                None,
            );
            self.story.truth = Some(truth);
            return;
        };
        let term = if opportunity.annual { 12 } else { 1 };
        self.deal(
            &deal_id,
            "new_business",
            "won",
            mrr * 12,
            opp_at,
            Some(close_at),
            Some((close_at, term)),
        );
        self.customer(&mut truth, plan, tier_index, opportunity.seats, customer);
        self.story.truth = Some(truth);
    }

    fn add_person(&mut self, j: usize) {
        let first = *pick(&mut self.rng, names::FIRST_NAMES);
        let last = *pick(&mut self.rng, names::LAST_NAMES);
        let title = *pick(&mut self.rng, names::TITLES);
        self.people.push(Person {
            user: format!("u_{:06}_{j}", self.index),
            anon: format!("anon_{:06}_{j}", self.index),
            email: format!("{first}.{last}{j}@{}", self.domain),
            name: format!(
                "{}{} {}{}",
                &first[..1].to_uppercase(),
                &first[1..],
                &last[..1].to_uppercase(),
                &last[1..]
            ),
            title,
            identified: false,
            grouped_at: None,
        });
    }

    /// A page view of `person`, anonymous until they are identified.
    fn page(
        &mut self,
        person: usize,
        at: i64,
        url: Option<String>,
        referrer: Option<&str>,
        sent: Sent,
    ) {
        let p = &self.people[person];
        let url = url.unwrap_or_else(|| format!("https://{}/", self.world.site));
        let mut page = json!({"url": url, "path": "/"});
        if let Some(r) = referrer {
            page["referrer"] = Value::String(r.to_owned());
        }
        let mut message = json!({"type": "page", "anonymousId": p.anon, "context": {"page": page}});
        if p.identified {
            message["userId"] = Value::String(p.user.clone());
        }
        self.events.push_as(at, message, sent);
    }

    /// One touch of a campaign: a landing page and a few internal pages, or an offline row.
    fn touch(&mut self, campaign: &Campaign, person: usize, at: i64) {
        let site = self.world.site;
        let url = |query: String| format!("https://{site}/?{query}");
        match campaign.reach {
            Reach::Offline { kind } => {
                if at >= self.frame.end {
                    return;
                }
                let row = offline_row(
                    at,
                    &self.account_id,
                    &self.people[person].email,
                    campaign.name,
                    kind,
                );
                self.story.touchpoints.push(row);
                // The person then comes to the site by typing its address.
                let later = at + (1.0 + self.rng.random::<f64>() * 48.0) as i64 * 60 * MINUTE;
                self.page(person, later, None, None, Sent::Always);
            }
            Reach::Paid {
                source,
                medium,
                click_id,
                referrer,
            } => {
                let mut query = format!(
                    "utm_source={source}&utm_medium={medium}&utm_campaign={}",
                    campaign.name
                );
                if let Some(name) = click_id {
                    let value: u64 = self.rng.random();
                    query.push_str(&format!("&{name}=Sim{value:016x}"));
                }
                self.page(person, at, Some(url(query)), referrer, Sent::Always);
                self.browse(person, at, None);
            }
            Reach::Referrer(referrer) => {
                self.page(person, at, None, Some(referrer), Sent::Always);
                let again = self.relanding(Some(referrer));
                self.browse(person, at, again);
            }
            Reach::Email => {
                let query = format!(
                    "utm_source=newsletter&utm_medium=email&utm_campaign={}",
                    campaign.name
                );
                self.page(person, at, Some(url(query)), None, Sent::Always);
                self.browse(person, at, None);
            }
            Reach::Direct => {
                self.page(person, at, None, None, Sent::Always);
                let again = self.relanding(None);
                self.browse(person, at, again);
            }
        }
    }

    /// Whether a visitor who landed on the site's home page from `referrer` (none: typed in)
    /// comes back to it minutes later from another site (a second search, a link shared
    /// elsewhere), and from which.
    fn relanding(&mut self, referrer: Option<&str>) -> Option<&'static str> {
        const ELSEWHERE: [&str; 4] = [
            "https://www.bing.com/",
            "https://news.ycombinator.com/",
            "https://www.linkedin.com/",
            "https://www.google.com/",
        ];
        if !self.sdk.random_bool(RELANDING) {
            return None;
        }
        let others: Vec<&'static str> = ELSEWHERE
            .into_iter()
            .filter(|r| Some(*r) != referrer)
            .collect();
        Some(*pick(&mut self.sdk, &others))
    }

    /// Internal pages within the same session; with `again`, the first of them is instead the
    /// home page reached again from that site.
    fn browse(&mut self, person: usize, at: i64, again: Option<&str>) {
        let site = self.world.site;
        let pages = self.rng.random_range(0..=3);
        let mut t = at;
        for n in 0..pages {
            t += self.rng.random_range(1..10) * MINUTE;
            let path = *pick(
                &mut self.rng,
                &["pricing", "product", "customers", "blog/nrr", "docs"],
            );
            match again.filter(|_| n == 0) {
                // Landing again from another site is a touch: sent whatever the shape.
                Some(elsewhere) => self.page(person, t, None, Some(elsewhere), Sent::Always),
                None => self.page(
                    person,
                    t,
                    Some(format!("https://{site}/{path}")),
                    Some(&format!("https://{site}/")),
                    Sent::Browsed,
                ),
            }
        }
    }

    fn identify(
        &mut self,
        person: usize,
        at: i64,
        tier: Option<&str>,
        employees: Option<u32>,
        industry: Option<&str>,
        company: &str,
    ) {
        let p = &mut self.people[person];
        p.identified = true;
        let (user, anon) = (p.user.clone(), p.anon.clone());
        let traits = json!({"email": p.email, "name": p.name, "title": p.title});
        self.events.push(
            at,
            json!({"type": "identify", "userId": user, "anonymousId": anon, "traits": traits}),
        );
        let mut group_traits = json!({"name": company, "domain": self.domain});
        if let Some(tier) = tier {
            group_traits["tier"] = json!(tier);
        }
        if let Some(e) = employees {
            group_traits["employees"] = json!(e);
        }
        if let Some(i) = industry {
            group_traits["industry"] = json!(i);
        }
        self.events.push(at + 1, json!({"type": "group", "userId": user, "groupId": self.account_id, "traits": group_traits}));
        self.people[person].grouped_at.get_or_insert(at + 1);
    }

    fn track(&mut self, person: usize, at: i64, event: &str, properties: Value) {
        self.track_as(person, at, event, properties, Sent::Always);
    }

    fn track_as(&mut self, person: usize, at: i64, event: &str, properties: Value, sent: Sent) {
        let user = self.people[person].user.clone();
        self.events.push_as(at, json!({"type": "track", "userId": user, "event": event, "properties": properties, "context": {"groupId": self.account_id}}), sent);
    }

    #[allow(clippy::too_many_arguments)]
    fn deal(
        &mut self,
        id: &str,
        kind: &str,
        status: &str,
        amount_cents: i64,
        created: i64,
        closed: Option<i64>,
        contract: Option<(i64, i64)>,
    ) {
        let (start, end) = match contract {
            Some((start, months)) => (date(start), date(start + months * MONTH - DAY)),
            None => (String::new(), String::new()),
        };
        self.story.deals.push(vec![
            id.to_owned(),
            self.account_id.clone(),
            kind.to_owned(),
            status.to_owned(),
            money(amount_cents),
            "USD".into(),
            date(created),
            closed.map(date).unwrap_or_default(),
            start,
            end,
        ]);
    }

    fn subscription(&mut self, at: i64, mrr: i64, plan: &str, seats: u32) {
        self.story.subscriptions.push(vec![
            self.account_id.clone(),
            ts(at),
            money(mrr),
            "USD".into(),
            plan.to_owned(),
            seats.to_string(),
        ]);
    }

    /// Life as a customer within the window, as its fate decided it: onboarding, usage,
    /// support, surveys, renewals, expansion, contraction, churn.
    fn customer(
        &mut self,
        truth: &mut AccountTruth,
        plan: &Plan,
        tier_index: usize,
        seats: u32,
        customer: &Customer,
    ) {
        let world = self.world;
        let end = self.frame.end;
        let start = customer.start;
        truth.converted_at = Some(start);
        truth.initial_mrr_cents = customer.mrr;
        truth.activated_at = customer.activated_at.filter(|a| *a < end);
        truth.final_mrr_cents = customer.mrr_before(end);
        truth.realized_revenue_cents = customer.revenue_until(end).round() as i64;
        truth.planted_ltv_cents = customer.ltv().round() as i64;
        self.subscription(start, customer.mrr, plan.name, seats);

        let exp = &world.experiment;
        let variant = exp.variants[usize::from(customer.guided)];
        truth.variant = Some(variant);
        self.events.push(
            start + MINUTE,
            json!({"type": "group", "userId": self.people[0].user, "groupId": self.account_id,
            "traits": {"plan": plan.name, "seats": seats, "onboarding_variant": variant}}),
        );
        self.track(
            0,
            start + 2 * MINUTE,
            "Experiment Viewed",
            json!({"experiment": exp.name, "variant": variant}),
        );
        // Product users beyond the buying committee join as the account onboards, one a seat.
        self.add_users(seats, start);
        self.changes(truth, plan, customer);

        let activated_at = customer.activated_at;
        let mut ticket = 0u32;
        for month in customer.months.iter().take_while(|m| m.start < end) {
            let month_start = month.start;
            let month_end = month_start + MONTH;
            let n = (month_start - start) / MONTH;
            let is_activated = activated_at.is_some_and(|a| a < month_end);
            if let Some(a) = activated_at.filter(|a| *a >= month_start && *a < month_end) {
                // The activation rule: an activation event and two distinct users within 14 days;
                // the account activates when the second user's event arrives.
                self.track(
                    0,
                    a - 2 * 60 * MINUTE,
                    world.activation_events[0],
                    json!({"first": true}),
                );
                let other = 1.min(self.people.len() - 1);
                self.track(other, a, world.activation_events[0], json!({}));
            }
            if !month.active {
                continue;
            }
            let engagement = month.engagement;
            let level = if is_activated {
                engagement
            } else {
                engagement.min(0.35) * 0.5
            };
            self.usage(
                month_start,
                month_end.min(end),
                level,
                activated_at,
                month.seats,
            );
            for _ in 0..month.tickets {
                ticket += 1;
                let at = month_start + self.rng.random_range(0..MONTH);
                let id = format!("t_{:06}_{ticket}", self.index);
                let who = self.rng.random_range(0..self.people.len());
                let priority = if self.rng.random_bool(0.2) {
                    "high"
                } else {
                    "normal"
                };
                self.track(
                    who,
                    at,
                    "Ticket Created",
                    json!({"ticket_id": id, "priority": priority}),
                );
                let csat = (1.0 + 4.0 * engagement + 0.8 * normal(&mut self.rng))
                    .round()
                    .clamp(1.0, 5.0) as i64;
                let solved = at + self.rng.random_range(1..5) * DAY;
                self.track(
                    who,
                    solved,
                    "Ticket Solved",
                    json!({"ticket_id": id, "csat": csat}),
                );
            }
            for score in &month.nps {
                let who = self.rng.random_range(0..self.people.len());
                let at = month_start + self.rng.random_range(0..MONTH);
                self.track(who, at, "NPS Submitted", json!({"score": score}));
            }
            let csm_every = [0, 3, 1][tier_index];
            if csm_every > 0 && n % csm_every == 0 {
                let at = month_start + self.rng.random_range(0..MONTH);
                let kind = if n % 3 == 0 { "qbr" } else { "check_in" };
                self.track(0, at, "CSM Touch", json!({"kind": kind}));
            }
            if engagement > 0.8 && self.rng.random_bool(0.4) {
                let at = month_start + self.rng.random_range(0..MONTH);
                self.track(
                    0,
                    at,
                    "Usage Limit Approached",
                    json!({"limit": "reports", "used_pct": 92}),
                );
            }
        }
    }

    /// Product users up to one a seat (at most the world's `max_users`), joining after `at`.
    fn add_users(&mut self, seats: u32, at: i64) {
        let users = seats.min(self.world.max_users) as usize;
        while self.people.len() < users {
            let j = self.people.len();
            self.add_person(j);
            let joined = at + self.rng.random_range(1..20) * DAY;
            self.identify(j, joined, None, None, None, "");
        }
    }

    /// The rows of what the customer pays, each change before the window's end.
    fn changes(&mut self, truth: &mut AccountTruth, plan: &Plan, customer: &Customer) {
        let end = self.frame.end;
        let (mut expansion_n, mut renewal_n) = (0u32, 0u32);
        for change in customer.changes.iter().take_while(|c| c.at() < end) {
            match *change {
                Change::Churn { at } => {
                    truth.churned_at.get_or_insert(at);
                    self.subscription(at, 0, plan.name, 0);
                }
                Change::Renewal { at, mrr } => {
                    renewal_n += 1;
                    let id = format!("deal_{:06}_renewal_{renewal_n}", self.index);
                    self.deal(
                        &id,
                        "renewal",
                        "won",
                        mrr * 12,
                        at - 30 * DAY,
                        Some(at - 5 * DAY),
                        Some((at, 12)),
                    );
                }
                Change::Expansion {
                    at,
                    seats,
                    mrr,
                    before,
                } => {
                    expansion_n += 1;
                    truth.expansions += 1;
                    self.subscription(at, mrr, plan.name, seats);
                    let id = format!("deal_{:06}_expansion_{expansion_n}", self.index);
                    self.deal(
                        &id,
                        "expansion",
                        "won",
                        (mrr - before) * 12,
                        at - 14 * DAY,
                        Some(at),
                        None,
                    );
                    // The new seats bring their users.
                    self.add_users(seats, at);
                }
                Change::Contraction { at, seats, mrr }
                | Change::Reactivation { at, seats, mrr } => {
                    self.subscription(at, mrr, plan.name, seats);
                }
            }
        }
    }

    /// One month of product usage: weekly logins of the active users and, once activated, use
    /// of the key features.
    fn usage(&mut self, from: i64, to: i64, level: f64, activated_at: Option<i64>, seats: u32) {
        let world = self.world;
        let users = self.people.len().min(seats as usize).max(1);
        let mut week = from;
        while week < to {
            let activated = activated_at.is_some_and(|a| a <= week);
            let active = if activated {
                Binomial::new(users as u64, level.clamp(0.0, 1.0))
                    .expect("a probability")
                    .sample(&mut self.rng) as usize
            } else {
                usize::from(self.rng.random_bool((level * 2.0).clamp(0.0, 1.0)))
            };
            let mut who = Vec::with_capacity(active);
            for u in 0..active {
                let at = week + self.rng.random_range(0..7 * DAY);
                if at < to {
                    self.events.push_as(at, json!({"type": "track", "userId": self.people[u].user, "event": "Logged In", "context": {"groupId": self.account_id}}), Sent::Product);
                    who.push((u, at));
                }
            }
            if activated && !who.is_empty() {
                for feature in &world.key_features {
                    if self.rng.random_bool((level * 0.7).clamp(0.0, 1.0)) {
                        let (u, at) = who[self.rng.random_range(0..who.len())];
                        self.track_as(u, at + 5 * MINUTE, feature, json!({}), Sent::Product);
                    }
                }
            }
            week += 7 * DAY;
        }
    }

    /// People who visit and never identify: the non-converting journeys of the company.
    fn visitors(&mut self) {
        let world = self.world;
        // Most visitors never buy: several per account, each back a few times.
        let count = poisson(&mut self.rng, 5.0);
        let span = (self.frame.end - self.frame.start) as f64;
        for v in 0..count {
            let anon = format!("anon_v_{:06}_{v}", self.index);
            let sessions = self.rng.random_range(1..=5);
            let mut at = self.frame.start + (span * self.rng.random::<f64>()) as i64;
            for _ in 0..sessions {
                let weights: Vec<(usize, f64)> = world
                    .campaigns
                    .iter()
                    .enumerate()
                    .filter(|(_, c)| !matches!(c.reach, Reach::Offline { .. }))
                    .map(|(i, c)| (i, c.weight))
                    .collect();
                let campaign = world.campaigns[weighted(&mut self.rng, &weights)].clone();
                let person = self.people.len();
                self.people.push(Person {
                    user: String::new(),
                    anon: anon.clone(),
                    email: String::new(),
                    name: String::new(),
                    title: "",
                    identified: false,
                    grouped_at: None,
                });
                self.touch(&campaign, person, at);
                self.people.pop();
                at += self.rng.random_range(1..20) * DAY;
            }
        }
    }

    /// The people whose `group` call, linking them to the account, is in the data.
    fn grouped(&self) -> impl Iterator<Item = &Person> {
        let end = self.frame.end;
        self.people
            .iter()
            .filter(move |p| p.grouped_at.is_some_and(|t| t < end))
    }

    /// Tracks as analytics.js and most server SDKs send them: most without `context.groupId`.
    /// Only a person whose `group` call is in the data sends one unnamed (the call may come
    /// before or after the track), so every track still reaches its account through its sender.
    fn unnamed_tracks(&mut self) {
        let grouped: HashSet<String> = self.grouped().map(|p| p.user.clone()).collect();
        for Message { value: message, .. } in &mut self.events.list {
            let by_grouped = message["type"] == "track"
                && message["userId"]
                    .as_str()
                    .is_some_and(|user| grouped.contains(user));
            if !by_grouped || self.sdk.random_bool(NAMED_TRACKS) {
                continue;
            }
            let context = message["context"]
                .as_object_mut()
                .expect("the simulator's tracks carry a context");
            context.remove("groupId");
            if context.is_empty() {
                message
                    .as_object_mut()
                    .expect("a message is an object")
                    .remove("context");
            }
        }
    }

    /// Offline rows of people who give their e-mail later: some carry only the e-mail, and reach
    /// the account through the person once they identify.
    fn email_only_rows(&mut self) {
        let known: HashSet<String> = self.grouped().map(|p| p.email.clone()).collect();
        for row in &mut self.story.touchpoints {
            if known.contains(&row[ROW_EMAIL]) && self.sdk.random_bool(EMAIL_ONLY_ROWS) {
                row[ROW_ACCOUNT].clear();
            }
        }
    }

    /// Now and then a prospect met at a webinar or by outbound who never visits: an e-mail no
    /// message gives, so a journey of its own that never converts.
    fn prospects(&mut self) {
        if !self.sdk.random_bool(PROSPECTS) {
            return;
        }
        let offline: Vec<(&'static str, &'static str)> = self
            .world
            .campaigns
            .iter()
            .filter_map(|c| match c.reach {
                Reach::Offline { kind } => Some((c.name, kind)),
                _ => None,
            })
            .collect();
        let (campaign, kind) = *pick(&mut self.sdk, &offline);
        let first = *pick(&mut self.sdk, names::FIRST_NAMES);
        let last = *pick(&mut self.sdk, names::LAST_NAMES);
        let span = (self.frame.end - self.frame.start) as f64;
        let at = self.frame.start + (span * self.sdk.random::<f64>()) as i64;
        // A hyphen, which no account's domain has, keeps the e-mail apart from every person's.
        let email = format!("{first}.{last}@prospect-{:06}.example", self.index);
        let row = offline_row(at, "", &email, campaign, kind);
        self.story.touchpoints.push(row);
    }

    /// Sends the account's messages as `shape`'s tools would: browsed pages and product events
    /// scaled, `alias` calls added. Draws from the shaping stream only for a knob that differs
    /// from the default, after every other shaping draw, so the default changes nothing.
    fn reshape(&mut self, shape: &Shape) {
        if shape.pages != 1.0 || shape.tracks != 1.0 {
            let list = std::mem::take(&mut self.events.list);
            for message in list {
                let scale = match message.sent {
                    Sent::Always => 1.0,
                    Sent::Browsed => shape.pages,
                    Sent::Product => shape.tracks,
                };
                let n = copies(&mut self.sdk, scale);
                for copy in 1..n {
                    let extra = self.events.copy_of(&message, copy);
                    self.events.list.push(extra);
                }
                if n > 0 {
                    self.events.list.push(message);
                }
            }
        }
        let identified: Vec<(String, String, i64)> = self
            .grouped()
            .map(|p| {
                (
                    p.user.clone(),
                    p.anon.clone(),
                    p.grouped_at.unwrap_or_default(),
                )
            })
            .collect();
        for (user, anon, grouped_at) in identified {
            for k in 0..copies(&mut self.sdk, shape.aliases) {
                // The first is analytics.js's alias at sign-up; the others, devices used later.
                let (previous, at) = if k == 0 {
                    (anon.clone(), grouped_at + 1)
                } else {
                    let later = self.sdk.random_range(1..365) * DAY;
                    (format!("{anon}_d{k}"), grouped_at + later)
                };
                self.events.push(
                    at,
                    json!({"type": "alias", "previousId": previous, "userId": user}),
                );
            }
        }
    }
}

/// A touchpoints.csv row of an offline touch; `account_id` may be empty (only the e-mail known).
fn offline_row(at: i64, account_id: &str, email: &str, campaign: &str, kind: &str) -> Vec<String> {
    let tool = if kind == "outbound" { "sdr" } else { "zoom" };
    let mut row = vec![String::new(); 12];
    row[0] = ts(at);
    row[ROW_ACCOUNT] = account_id.to_owned();
    row[ROW_EMAIL] = email.to_owned();
    row[6] = tool.to_owned();
    row[8] = campaign.to_owned();
    row[11] = kind.to_owned();
    row
}
