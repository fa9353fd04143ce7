//! The simulated company: deterministic, valid input for tenure, and carrying the truth that was
//! planted in it. Rates are read back from the output files, not from the simulator's memory.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::sync::OnceLock;

use chrono::NaiveDate;
use tenure_core::{Currency, EntryBody, MessageType};
use tenure_ingest::csv::{read_csv, CsvKind};
use tenure_ingest::segment::{parse_message, Limits};
use tenure_sim::{
    simulate, simulate_shaped, simulate_world, GroundTruth, Shape, SimConfig, TouchEffect, World,
    FILES, LTV_HORIZON,
};

const DAY: i64 = 86_400_000;

fn config(accounts: usize, months: u32, seed: u64) -> SimConfig {
    SimConfig {
        accounts,
        months,
        seed,
        end: NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
    }
}

fn run(config: &SimConfig) -> (tempfile::TempDir, GroundTruth) {
    let dir = tempfile::tempdir().unwrap();
    let truth = simulate(config, dir.path(), |_| {}).unwrap();
    (dir, truth)
}

/// What the files say, parsed with tenure's own parsers.
#[derive(Default)]
struct Observed {
    accounts: usize,
    events: usize,
    /// account → MRR values in file order
    mrr: HashMap<String, Vec<i64>>,
    /// account → (effective at, MRR, seats) in file order
    subscriptions: HashMap<String, Vec<(i64, i64, u32)>>,
    /// The latest instant any message, subscription row or deal's creation or close names.
    latest: i64,
    /// account → times of its tickets
    tickets: HashMap<String, Vec<i64>>,
    /// account → the users who logged in
    users: HashMap<String, BTreeSet<String>>,
    /// account → activation-event (time, user) pairs
    activation_events: HashMap<String, Vec<(i64, String)>>,
    /// account → NPS scores
    nps: HashMap<String, Vec<i64>>,
    /// account → onboarding variant from group traits
    variant: HashMap<String, String>,
    deals: usize,
    spend_rows: usize,
    touchpoint_rows: usize,
    tracks: usize,
    unnamed_tracks: usize,
    /// Offline rows that name no account, only an e-mail.
    email_only_rows: usize,
}

fn observe(dir: &Path) -> Observed {
    let mut o = Observed::default();
    let csv = |kind: CsvKind, name: &str| {
        let file = std::fs::File::open(dir.join(name)).unwrap();
        read_csv(kind, file, Currency::USD)
            .unwrap()
            .map(|row| row.unwrap_or_else(|e| panic!("{name}: {e}")).body)
            .collect::<Vec<_>>()
    };
    o.accounts = csv(CsvKind::Accounts, "accounts.csv").len();
    for body in csv(CsvKind::Subscriptions, "subscriptions.csv") {
        let EntryBody::Subscription(s) = body else {
            unreachable!()
        };
        o.mrr
            .entry(s.account_id.to_string())
            .or_default()
            .push(s.mrr.minor);
        o.subscriptions
            .entry(s.account_id.to_string())
            .or_default()
            .push((s.effective_at.millis(), s.mrr.minor, s.seats.unwrap()));
        o.latest = o.latest.max(s.effective_at.millis());
    }
    let deals = csv(CsvKind::Deals, "deals.csv");
    o.deals = deals.len();
    for body in deals {
        let EntryBody::Deal(d) = body else {
            unreachable!()
        };
        let dates = [d.created_at, d.closed_at.unwrap_or(d.created_at)];
        o.latest = dates.into_iter().fold(o.latest, |l, t| l.max(t.millis()));
    }
    o.spend_rows = csv(CsvKind::Spend, "spend.csv").len();
    let touchpoints = csv(CsvKind::Touchpoints, "touchpoints.csv");
    o.touchpoint_rows = touchpoints.len();
    o.email_only_rows = touchpoints
        .iter()
        .filter(|b| matches!(b, EntryBody::Touchpoint(r) if r.account_id.is_none()))
        .count();
    let text = std::fs::read_to_string(dir.join("events.ndjson")).unwrap();
    // Imported now: a line dated after its import would be refused, and the simulation ends
    // before today.
    let received = tenure_core::Timestamp::from_datetime(chrono::Utc::now());
    let messages: Vec<_> = text
        .lines()
        .enumerate()
        .map(|(n, line)| {
            parse_message(line.as_bytes(), received, &Limits::default())
                .unwrap_or_else(|e| panic!("events.ndjson:{}: {e}", n + 1))
        })
        .collect();
    // Most tracks name no account, as real SDKs send them: they belong to their sender's
    // account, which the sender's `group` call names (before or after the track).
    let mut account_of_user: HashMap<String, String> = HashMap::new();
    for m in messages.iter().filter(|m| m.kind == MessageType::Group) {
        let user = m.user_id.as_ref().unwrap().to_string();
        let account = m.account().unwrap().to_string();
        let previous = account_of_user.insert(user, account.clone());
        assert!(
            previous.is_none_or(|p| p == account),
            "one account a person"
        );
    }
    for m in &messages {
        o.events += 1;
        o.latest = o.latest.max(m.timestamp.millis());
        if m.kind == MessageType::Track {
            o.tracks += 1;
            o.unnamed_tracks += usize::from(m.account().is_none());
        }
        let sender = m
            .user_id
            .as_ref()
            .and_then(|u| account_of_user.get(u.as_str()).cloned());
        let Some(account) = m.account().map(|a| a.to_string()).or(sender) else {
            assert!(
                m.kind != MessageType::Track,
                "a track of {:?} names no account and its sender joins none",
                m.user_id
            );
            continue;
        };
        match (m.kind, m.event.as_deref()) {
            (MessageType::Track, Some("Report Created")) => o
                .activation_events
                .entry(account)
                .or_default()
                .push((m.timestamp.millis(), m.user_id.clone().unwrap().to_string())),
            (MessageType::Track, Some("Ticket Created")) => o
                .tickets
                .entry(account)
                .or_default()
                .push(m.timestamp.millis()),
            (MessageType::Track, Some("Logged In")) => {
                o.users
                    .entry(account)
                    .or_default()
                    .insert(m.user_id.clone().unwrap().to_string());
            }
            (MessageType::Track, Some("NPS Submitted")) => o
                .nps
                .entry(account)
                .or_default()
                .push(m.properties["score"].as_i64().unwrap()),
            (MessageType::Group, _) => {
                if let Some(v) = m.traits.get("onboarding_variant").and_then(|v| v.as_str()) {
                    o.variant.insert(account, v.to_owned());
                }
            }
            _ => {}
        }
    }
    o
}

impl Observed {
    fn customer(&self, account: &str) -> bool {
        self.mrr
            .get(account)
            .is_some_and(|m| m.iter().any(|v| *v > 0))
    }

    fn churned(&self, account: &str) -> bool {
        self.mrr
            .get(account)
            .is_some_and(|m| m.iter().skip_while(|v| **v == 0).any(|v| *v == 0))
    }

    fn expansions(&self, account: &str) -> usize {
        self.mrr.get(account).map_or(0, |m| {
            m.windows(2).filter(|w| w[1] > w[0] && w[0] > 0).count()
        })
    }

    /// SPEC's default activation rule: an activation event and 2 distinct users within 14 days.
    fn activated(&self, account: &str) -> bool {
        let Some(events) = self.activation_events.get(account) else {
            return false;
        };
        events.iter().any(|(t, _)| {
            let users: BTreeSet<&str> = events
                .iter()
                .filter(|(u, _)| *u >= *t && *u < t + 14 * 86_400_000)
                .map(|(_, user)| user.as_str())
                .collect();
            users.len() >= 2
        })
    }
}

/// One account's truth as ground_truth.json tells it.
#[derive(serde::Deserialize)]
struct AccountTruth {
    account_id: String,
    campaign: String,
    converted_at: Option<i64>,
    variant: Option<String>,
    activated_at: Option<i64>,
    churned_at: Option<i64>,
    initial_mrr_cents: i64,
    final_mrr_cents: i64,
    realized_revenue_cents: i64,
    planted_ltv_cents: i64,
}

fn account_truths(dir: &Path) -> Vec<AccountTruth> {
    let text = std::fs::read_to_string(dir.join("ground_truth.json")).unwrap();
    let mut json: serde_json::Value = serde_json::from_str(&text).unwrap();
    serde_json::from_value(json["account_truths"].take()).unwrap()
}

struct Company {
    _dir: tempfile::TempDir,
    truth: GroundTruth,
    observed: Observed,
    accounts: Vec<AccountTruth>,
}

fn big() -> &'static Company {
    static BIG: OnceLock<Company> = OnceLock::new();
    BIG.get_or_init(|| {
        let (dir, truth) = run(&config(5_000, 24, 11));
        let observed = observe(dir.path());
        let accounts = account_truths(dir.path());
        Company {
            _dir: dir,
            truth,
            observed,
            accounts,
        }
    })
}

/// The first instant after the window, from ground_truth.json's `end`.
fn window_end(truth: &GroundTruth) -> i64 {
    NaiveDate::parse_from_str(&truth.end, "%Y-%m-%d")
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap()
        .and_utc()
        .timestamp_millis()
}

fn rate(hits: usize, of: usize) -> f64 {
    hits as f64 / of.max(1) as f64
}

#[test]
fn the_same_seed_gives_byte_identical_files_and_another_seed_another_company() {
    let (a, _) = run(&config(300, 12, 7));
    let (b, _) = run(&config(300, 12, 7));
    let (c, _) = run(&config(300, 12, 8));
    for name in FILES {
        let bytes = |dir: &tempfile::TempDir| std::fs::read(dir.path().join(name)).unwrap();
        assert!(
            bytes(&a) == bytes(&b),
            "{name} differs between two runs of one seed"
        );
        assert!(
            bytes(&a) != bytes(&c),
            "{name} is the same for seeds 7 and 8"
        );
    }
}

#[test]
fn campaign_budgets_grow_with_the_company() {
    let spend = |accounts| -> BTreeMap<String, i64> {
        let (_, truth) = run(&config(accounts, 6, 3));
        truth
            .campaigns
            .iter()
            .map(|c| (c.campaign.clone(), c.spend_cents))
            .collect()
    };
    let (small, large) = (spend(500), spend(1_000));
    for ((name, a), (_, b)) in small.iter().zip(&large) {
        // the same days and noise, twice the budget (to a cent of rounding per day)
        assert!(
            (b - 2 * a).abs() <= 200,
            "{name}: {a} at 500 accounts, {b} at 1,000"
        );
    }
    assert!(small.values().any(|s| *s > 0));
}

#[test]
fn every_line_is_valid_tenure_input_and_matches_the_truth() {
    let Company {
        truth,
        observed: o,
        accounts,
        ..
    } = big();
    assert_eq!(o.accounts, truth.accounts);
    assert_eq!(o.events as u64, truth.totals.events);
    let customers = accounts.iter().filter(|a| a.converted_at.is_some()).count();
    assert_eq!(o.mrr.keys().filter(|a| o.customer(a)).count(), customers);
    let churned_truth: BTreeSet<_> = accounts
        .iter()
        .filter(|a| a.churned_at.is_some())
        .map(|a| a.account_id.as_str())
        .collect();
    let churned_files: BTreeSet<_> = o
        .mrr
        .keys()
        .map(String::as_str)
        .filter(|a| o.churned(a))
        .collect();
    let differ: Vec<_> = churned_files.symmetric_difference(&churned_truth).collect();
    assert!(
        differ.is_empty(),
        "churn in subscriptions.csv disagrees with the truth for {differ:?}"
    );
    let activated_truth: BTreeSet<_> = accounts
        .iter()
        .filter(|a| a.activated_at.is_some())
        .map(|a| a.account_id.as_str())
        .collect();
    let activated_files: BTreeSet<_> = o
        .activation_events
        .keys()
        .map(String::as_str)
        .filter(|a| o.activated(a))
        .collect();
    let differ: Vec<_> = activated_files
        .symmetric_difference(&activated_truth)
        .collect();
    assert!(
        differ.is_empty(),
        "the activation rule on the events disagrees with the planted activations for {differ:?}"
    );
    assert!(o.spend_rows > 0 && o.touchpoint_rows > 0 && o.deals > 0);
    // The life after the window, lived for the planted lifetime value, writes nothing, and
    // the truth's revenue to the window's end is what the files say was paid.
    let end = window_end(truth);
    assert!(
        o.latest < end,
        "a message or row at {} is after the window",
        o.latest
    );
    for a in accounts.iter().filter(|a| a.converted_at.is_some()) {
        let rows = &o.subscriptions[&a.account_id];
        let paid = revenue_in_files(rows, a.converted_at.unwrap(), end);
        assert!(
            (a.realized_revenue_cents as f64 - paid).abs() <= 1.0,
            "{}: realized {} cents, the files {paid:.0}",
            a.account_id,
            a.realized_revenue_cents
        );
        assert_eq!(
            a.final_mrr_cents,
            rows.last().unwrap().1,
            "{}",
            a.account_id
        );
    }
    // Shaped as real SDKs and CRM exports send it: about three tracks in four name no account
    // (NAMED_TRACKS = 0.25), and offline rows of people who identify often carry only the e-mail.
    let unnamed = rate(o.unnamed_tracks, o.tracks);
    assert!(
        unnamed > 0.7 && unnamed < 0.8,
        "unnamed tracks {unnamed:.3}"
    );
    assert!(o.email_only_rows > 0, "no e-mail-only offline row");
}

/// The probability that an account becomes a customer, from the parameters alone, by Monte
/// Carlo over the journeys they describe: the campaign by weight, the tier by its mix, 3 + 1.5 ×
/// tier nurture touches on average (Poisson), each of a nurture type by weight, and the lead
/// following one of the journey's touches at random. Each funnel step's probability is
/// min(base × campaign conversion, 0.95) with its odds multiplied by the conversion effect of
/// every touch up to the lead; the times of the touches do not matter, as nurture types do not
/// depend on them.
fn implied_conversion(world: &World) -> f64 {
    use rand::{RngExt, SeedableRng};
    use rand_distr::{Distribution, Poisson};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
    let choose = |rng: &mut rand_chacha::ChaCha8Rng, weights: &[f64]| {
        let mut x = rng.random::<f64>() * weights.iter().sum::<f64>();
        weights
            .iter()
            .position(|w| {
                x -= w;
                x < 0.0
            })
            .unwrap_or(weights.len() - 1)
    };
    let campaign_weights: Vec<f64> = world.campaigns.iter().map(|c| c.weight).collect();
    let nurture_weights: Vec<f64> = world.nurture.iter().map(|(_, w)| *w).collect();
    let lift = |name: &str| match name {
        "newsletter" => world.newsletter.touch.conversion,
        _ => world.campaign(name).touch.conversion,
    };
    let samples = 200_000;
    let mut total = 0.0;
    for _ in 0..samples {
        let c = &world.campaigns[choose(&mut rng, &campaign_weights)];
        let tier = choose(&mut rng, &c.tier_mix);
        let extra = Poisson::new(3.0 + 1.5 * tier as f64)
            .unwrap()
            .sample(&mut rng) as usize;
        let before_lead = rng.random_range(0..=extra);
        let mut odds_factor = c.touch.conversion;
        for _ in 0..before_lead {
            odds_factor *= lift(world.nurture[choose(&mut rng, &nurture_weights)].0);
        }
        total += world
            .funnel
            .iter()
            .map(|f| {
                let p = (f * c.conversion).min(0.95);
                let odds = p / (1.0 - p) * odds_factor;
                odds / (1.0 + odds)
            })
            .product::<f64>();
    }
    total / f64::from(samples)
}

#[test]
fn conversion_activation_and_churn_fall_in_the_bands_the_parameters_imply() {
    let Company {
        truth,
        observed: o,
        accounts,
        ..
    } = big();
    let world = World::default();
    let customers = o.mrr.keys().filter(|a| o.customer(a)).count();
    let conversion = rate(customers, o.accounts);
    let implied = implied_conversion(&world);
    // Accounts that arrive in the last weeks cannot finish the funnel before the window ends,
    // so the observed rate sits a little under the unconditional one.
    assert!(
        conversion > 0.85 * implied && conversion < implied + 0.02,
        "conversion {conversion:.3}, implied {implied:.3}"
    );

    // Activation: per customer, p = clamp(base × campaign effect + experiment lift), times the
    // chance that time to value ends before the window does.
    let mut expected = 0.0;
    let mut variance = 0.0;
    let mut observed = 0;
    for a in accounts.iter().filter(|a| a.converted_at.is_some()) {
        let c = world.campaign(&a.campaign);
        let guided = a.variant.as_deref() == Some("guided");
        let p = (world.activation * c.activation
            + if guided {
                world.experiment.activation_lift
            } else {
                0.0
            })
        .clamp(0.0, 0.98);
        let mean = world.ttv_days / c.activation
            * if guided {
                world.experiment.ttv_factor
            } else {
                1.0
            };
        let window_end = window_end(truth);
        let days_left = (window_end - a.converted_at.unwrap()) as f64 / 86_400_000.0 - 1.0;
        let p = p * (1.0 - (-days_left.max(0.0) / mean).exp());
        expected += p;
        variance += p * (1.0 - p);
        observed += usize::from(o.activated(&a.account_id));
    }
    let z = (observed as f64 - expected) / variance.sqrt();
    assert!(
        z.abs() < 4.0,
        "activated {observed}, expected {expected:.0} (z = {z:.2})"
    );

    // Churn: the yearly churn of customers sits between the plans' base hazards and a few times them.
    let churned = o.mrr.keys().filter(|a| o.churned(a)).count();
    let churn = rate(churned, customers);
    assert!(
        churn > 0.10 && churn < 0.60,
        "share of customers churned {churn:.3}"
    );
}

#[test]
fn the_planted_campaign_differences_are_in_the_data() {
    let Company {
        truth,
        observed: o,
        accounts,
        ..
    } = big();
    let by_campaign = |name: &str| -> Vec<&str> {
        accounts
            .iter()
            .filter(|a| a.campaign == name && o.customer(&a.account_id))
            .map(|a| a.account_id.as_str())
            .collect()
    };
    let stats = |accounts: &[&str]| {
        let n = accounts.len();
        (
            rate(accounts.iter().filter(|a| o.churned(a)).count(), n),
            rate(accounts.iter().filter(|a| o.activated(a)).count(), n),
            accounts.iter().map(|a| o.expansions(a)).sum::<usize>() as f64 / n.max(1) as f64,
            n,
        )
    };
    let (fb_churn, fb_act, fb_exp, fb_n) = stats(&by_campaign("fb_smb_promo"));
    let (li_churn, li_act, li_exp, li_n) = stats(&by_campaign("li_abm_enterprise"));
    assert!(
        fb_n >= 100 && li_n >= 50,
        "enough customers: fb {fb_n}, li {li_n}"
    );
    assert!(
        fb_churn > 3.0 * li_churn,
        "churn: fb {fb_churn:.2}, li {li_churn:.2}"
    );
    assert!(
        fb_act + 0.2 < li_act,
        "activation: fb {fb_act:.2}, li {li_act:.2}"
    );
    assert!(
        li_exp > 5.0 * fb_exp.max(0.01),
        "expansions per customer: fb {fb_exp:.2}, li {li_exp:.2}"
    );
    // and the cheap campaign really is cheaper per account acquired
    let cost_per_account = |name: &str| {
        let c = truth.campaigns.iter().find(|c| c.campaign == name).unwrap();
        c.spend_cents as f64 / c.accounts as f64
    };
    assert!(cost_per_account("fb_smb_promo") * 5.0 < cost_per_account("li_abm_enterprise"));
}

#[test]
fn the_onboarding_experiment_lifts_activation_by_its_planted_effect() {
    let o = &big().observed;
    let mut by_variant: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for (account, variant) in &o.variant {
        let e = by_variant.entry(variant.as_str()).or_default();
        e.0 += 1;
        e.1 += usize::from(o.activated(account));
    }
    let (control_n, control_act) = by_variant["control"];
    let (guided_n, guided_act) = by_variant["guided"];
    let lift = rate(guided_act, guided_n) - rate(control_act, control_n);
    let planted = World::default().experiment.activation_lift;
    // planted +12 points on the probability, plus a faster time to value; sampling error ~3 points
    assert!(
        lift > planted - 0.07 && lift < planted + 0.12,
        "lift {lift:.3} vs planted {planted}"
    );
    assert!((control_n as f64 / (control_n + guided_n) as f64 - 0.5).abs() < 0.05);
}

#[test]
fn churn_follows_its_planted_drivers() {
    let Company {
        truth,
        observed: o,
        accounts,
        ..
    } = big();
    let customers: Vec<&str> = accounts
        .iter()
        .filter(|a| o.customer(&a.account_id))
        .map(|a| a.account_id.as_str())
        .collect();
    let churn_of = |pred: &dyn Fn(&str) -> bool| {
        let group: Vec<_> = customers.iter().filter(|a| pred(a)).collect();
        (
            rate(group.iter().filter(|a| o.churned(a)).count(), group.len()),
            group.len(),
        )
    };
    let (not_activated, n1) = churn_of(&|a| !o.activated(a));
    let (activated, n2) = churn_of(&|a| o.activated(a));
    assert!(
        not_activated > 1.5 * activated,
        "not activated {not_activated:.2} (n {n1}) vs activated {activated:.2} (n {n2})"
    );
    let detractor = |a: &str| o.nps.get(a).is_some_and(|s| s.iter().any(|x| *x <= 6));
    let promoter_only = |a: &str| o.nps.get(a).is_some_and(|s| s.iter().all(|x| *x >= 9));
    let (with_detractor, n3) = churn_of(&detractor);
    let (promoters, n4) = churn_of(&promoter_only);
    assert!(
        with_detractor > 1.5 * promoters,
        "detractors {with_detractor:.2} (n {n3}) vs promoters {promoters:.2} (n {n4})"
    );
    assert_eq!(truth.churn_drivers[0].0, "low_usage");
}

/// SHA-256 of each file of `config(300, 12, 7)` as the simulator writes its company (recorded
/// when the company last changed on purpose: touch effects, lifetime value, trouble, users one
/// a seat): the default shape must write exactly these bytes, so a shape knob that moved the
/// company, or a change of the company made unknowingly, shows here.
const DEFAULT_SHAPE_DIGESTS: &[(&str, &str)] = &[
    (
        "accounts.csv",
        "ca7239b79f5ab4d79ff74699c6b4e79de9f545734c41cc4257c0d813ecdc895f",
    ),
    (
        "events.ndjson",
        "6dc27ec6f82bb40b8e6cb249a9c71c67c9c12e826a387269d3f500bab102bfd8",
    ),
    (
        "subscriptions.csv",
        "865b6f1dc32074d059defd6f202243996f699eec4311d26423dda21c6cfa31dd",
    ),
    (
        "deals.csv",
        "bda1277911a9e60ac963e7db53c7d01f6b9161f84eba49a176c759402f0ed332",
    ),
    (
        "spend.csv",
        "38a64343a3e0568ad999768d7e37ca2f2116e1cce16da215c683be3474f9f9e0",
    ),
    (
        "touchpoints.csv",
        "f5559a00e1c7fb0878da0457513d27be2f8246b9d94be30a9665e648dd740509",
    ),
    (
        "ground_truth.json",
        "229d24ebf832bf40c43979ee2c5e91eb492e59adbe54128948be0775f0cc39f8",
    ),
];

fn digest(path: &Path) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(std::fs::read(path).unwrap()))
}

#[test]
fn the_default_shape_writes_the_recorded_bytes() {
    let (dir, _) = run(&config(300, 12, 7));
    let (shaped, _) = {
        let dir = tempfile::tempdir().unwrap();
        let truth =
            simulate_shaped(&config(300, 12, 7), &Shape::default(), dir.path(), |_| {}).unwrap();
        (dir, truth)
    };
    let mut differ = Vec::new();
    for (name, expected) in DEFAULT_SHAPE_DIGESTS {
        let (plain, shaped) = (
            digest(&dir.path().join(name)),
            digest(&shaped.path().join(name)),
        );
        assert_eq!(plain, shaped, "{name}: the default shape moved it");
        if plain != *expected {
            differ.push(format!("{name}: {plain}"));
        }
    }
    assert!(
        differ.is_empty(),
        "files that differ:\n{}",
        differ.join("\n")
    );
    assert_eq!(DEFAULT_SHAPE_DIGESTS.len(), FILES.len());
}

/// A line of events.ndjson: its type, its event name, and whether the shape scales it (a page
/// browsed from the site's own home page, a login, a key feature's use).
#[derive(Debug, PartialEq)]
struct Line {
    kind: String,
    event: Option<String>,
    scaled: bool,
    /// An alias's `previousId`.
    previous: Option<String>,
}

/// The lines of events.ndjson by message id.
fn lines(dir: &Path) -> HashMap<String, Line> {
    let world = World::default();
    std::fs::read_to_string(dir.join("events.ndjson"))
        .unwrap()
        .lines()
        .map(|line| {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            let event = v["event"].as_str().map(str::to_owned);
            let browsed = v["context"]["page"]["referrer"].as_str()
                == Some(&format!("https://{}/", world.site));
            let product = event
                .as_deref()
                .is_some_and(|e| e == "Logged In" || world.key_features.contains(&e));
            let line = Line {
                kind: v["type"].as_str().unwrap().to_owned(),
                event,
                scaled: browsed || product,
                previous: v["previousId"].as_str().map(str::to_owned),
            };
            (v["messageId"].as_str().unwrap().to_owned(), line)
        })
        .collect()
}

#[test]
fn a_shape_changes_how_the_company_is_sent_and_not_the_company() {
    let config = config(300, 12, 7);
    let (plain, plain_truth) = run(&config);
    let shape = Shape {
        pages: 0.5,
        tracks: 0.4,
        aliases: 1.5,
        spend_rows_per_day: 3,
    };
    let shaped_run = || {
        let dir = tempfile::tempdir().unwrap();
        let truth = simulate_shaped(&config, &shape, dir.path(), |_| {}).unwrap();
        (dir, truth)
    };
    let (shaped, shaped_truth) = shaped_run();
    let (again, _) = shaped_run();
    for name in FILES {
        assert!(
            digest(&shaped.path().join(name)) == digest(&again.path().join(name)),
            "{name} differs between two runs of one shape"
        );
    }
    // The same company: accounts, revenue, deals, offline touches and every account's truth.
    for name in [
        "accounts.csv",
        "subscriptions.csv",
        "deals.csv",
        "touchpoints.csv",
    ] {
        assert_eq!(
            digest(&plain.path().join(name)),
            digest(&shaped.path().join(name)),
            "{name}"
        );
    }
    let truths = |dir: &Path| {
        let text = std::fs::read_to_string(dir.join("ground_truth.json")).unwrap();
        serde_json::from_str::<serde_json::Value>(&text).unwrap()["account_truths"].take()
    };
    assert_eq!(truths(plain.path()), truths(shaped.path()));
    assert_eq!(
        serde_json::to_value(&plain_truth.campaigns).unwrap(),
        serde_json::to_value(&shaped_truth.campaigns).unwrap()
    );
    // Spend: three rows a campaign-day, summing to the same totals.
    let (p, s) = (observe(plain.path()), observe(shaped.path()));
    assert_eq!(s.spend_rows, 3 * p.spend_rows);
    // Every message but browsed pages and product events is sent as it was.
    let (before, after) = (lines(plain.path()), lines(shaped.path()));
    for (id, line) in before.iter().filter(|(_, line)| !line.scaled) {
        assert_eq!(after.get(id), Some(line), "{id} was not sent");
    }
    let count = |lines: &HashMap<String, Line>, event: &str| {
        lines
            .values()
            .filter(|l| l.event.as_deref() == Some(event))
            .count() as f64
    };
    let browsed = |lines: &HashMap<String, Line>| {
        lines
            .values()
            .filter(|l| l.kind == "page" && l.scaled)
            .count() as f64
    };
    let pages = browsed(&after) / browsed(&before);
    assert!(
        (0.44..0.56).contains(&pages),
        "browsed pages scaled by {pages}"
    );
    let logins = count(&after, "Logged In") / count(&before, "Logged In");
    assert!((0.35..0.45).contains(&logins), "logins scaled by {logins}");
    assert_eq!(p.nps, s.nps, "surveys are sent whatever the shape");
    assert_eq!(p.mrr, s.mrr);
    // Aliases: one at sign-up per identified person, and a new device for about half of them
    // (some dated after the window's end, so not sent).
    let of_kind = |lines: &HashMap<String, Line>, kind: &str| {
        lines.values().filter(|l| l.kind == kind).count()
    };
    assert_eq!(of_kind(&before, "alias"), 0);
    let identified = of_kind(&before, "identify");
    let previous: Vec<&str> = after
        .values()
        .filter_map(|l| l.previous.as_deref())
        .collect();
    let devices = previous.iter().filter(|p| p.contains("_d")).count();
    assert_eq!(
        previous.len() - devices,
        identified,
        "one alias at sign-up each"
    );
    let rate = devices as f64 / identified as f64;
    assert!((0.1..0.5).contains(&rate), "{rate} new devices per person");
    assert!(
        s.events < p.events,
        "{} events shaped, {} plain",
        s.events,
        p.events
    );
}

/// MRR integrated over `[from, to)` from an account's subscription rows (a step function), in
/// cents: MRR × days × 12 / 365.25, as the truth defines revenue.
fn revenue_in_files(rows: &[(i64, i64, u32)], from: i64, to: i64) -> f64 {
    let mut total = 0.0;
    for (i, (at, mrr, _)) in rows.iter().enumerate() {
        let next = rows.get(i + 1).map_or(i64::MAX, |r| r.0);
        let (a, b) = ((*at).max(from), next.min(to));
        if b > a {
            total += *mrr as f64 * (b - a) as f64;
        }
    }
    total / DAY as f64 * 12.0 / 365.25
}

/// The planted lifetime value is the revenue of 60 months from conversion. In a company of seven
/// years, the customers of its first two have their 60 months inside the window: their planted
/// LTV must be what subscriptions.csv says they paid over those months, reactivations included.
/// The later customers live on past the window by the same rules: their LTV per dollar of
/// first MRR is like the early ones'.
#[test]
fn planted_lifetime_value_is_sixty_months_of_the_revenue_the_files_show() {
    let (dir, truth) = run(&config(2_000, 84, 5));
    let o = observe(dir.path());
    let end = window_end(&truth);
    let mut whole = Vec::new();
    let mut continued = Vec::new();
    for a in account_truths(dir.path()) {
        let Some(converted) = a.converted_at else {
            assert_eq!(a.planted_ltv_cents, 0, "{}", a.account_id);
            continue;
        };
        let rows = &o.subscriptions[&a.account_id];
        let paid = revenue_in_files(rows, converted, (converted + LTV_HORIZON).min(end));
        let months = a.planted_ltv_cents as f64 / a.initial_mrr_cents as f64;
        if converted + LTV_HORIZON <= end {
            assert!(
                (a.planted_ltv_cents as f64 - paid).abs() <= 1.0,
                "{}: planted {} cents, the files {paid:.0}",
                a.account_id,
                a.planted_ltv_cents
            );
            whole.push(months);
        } else {
            assert!(a.planted_ltv_cents as f64 >= paid - 1.0, "{}", a.account_id);
            if converted + 24 * 30 * DAY > end {
                continued.push(months);
            }
        }
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let (early, late) = (mean(&whole), mean(&continued));
    eprintln!(
        "LTV in months of first MRR: {early:.1} ({} customers with 60 months in the window), \
         {late:.1} ({} converted in the last two years)",
        whole.len(),
        continued.len()
    );
    assert!(whole.len() >= 50 && continued.len() >= 50);
    assert!(
        (late / early - 1.0).abs() < 0.2,
        "early {early:.1}, late {late:.1}"
    );
}

/// A touch type's incremental value is, account by account, the planted LTV with its touches'
/// effects less the planted LTV without them, on the same random draws. The whole company
/// simulated again in a world without those effects must then lose exactly that much planted
/// LTV (to a cent an account): the draws of one effect do not move those of another.
#[test]
fn a_touch_types_incremental_value_is_what_the_company_loses_without_its_effects() {
    let config = config(1_500, 24, 3);
    let (_, truth) = run(&config);
    let planted = |t: &GroundTruth| t.campaigns.iter().map(|c| c.planted_ltv_cents).sum::<i64>();
    let customers = truth.totals.customers as i64;
    for name in ["webinars", "monthly_digest", "li_abm_enterprise"] {
        let mut world = World::default();
        let touch = world
            .campaigns
            .iter_mut()
            .chain([&mut world.newsletter])
            .find(|c| c.name == name)
            .unwrap();
        touch.touch = TouchEffect::NONE;
        let dir = tempfile::tempdir().unwrap();
        let without =
            simulate_world(&world, &config, &Shape::default(), dir.path(), |_| {}).unwrap();
        let lost = planted(&truth) - planted(&without);
        let t = truth
            .touch_types
            .iter()
            .find(|t| t.campaign == name)
            .unwrap();
        eprintln!(
            "{name}: incremental {} cents over {} accounts; the company without it loses {lost}",
            t.incremental_value_cents, t.accounts
        );
        assert!(t.incremental_value_cents > 0 && t.accounts > 0, "{name}");
        assert!(
            (lost - t.incremental_value_cents).abs() <= customers,
            "{name}: the truth says {}, the company without it loses {lost}",
            t.incremental_value_cents
        );
    }
    // A touch that changes nothing adds nothing; a strong one adds far more an account it
    // reaches than a weak one.
    let of = |name: &str| {
        truth
            .touch_types
            .iter()
            .find(|t| t.campaign == name)
            .unwrap()
    };
    for name in ["direct", "display_retarget"] {
        assert_eq!(of(name).incremental_value_cents, 0, "{name}");
        assert_eq!(of(name).accounts, 0, "{name}");
    }
    // A campaign contributes its own customers' value, and what its touches add to others'.
    let campaign = |name: &str| truth.campaigns.iter().find(|c| c.campaign == name).unwrap();
    for name in ["direct", "display_retarget"] {
        let c = campaign(name);
        assert_eq!(c.contributed_value_cents, c.planted_ltv_cents, "{name}");
    }
    let webinars = campaign("webinars");
    let to_others = webinars.contributed_value_cents - webinars.planted_ltv_cents;
    assert!(
        to_others > 0 && to_others < of("webinars").incremental_value_cents,
        "webinars add {to_others} to others' customers of {} in all",
        of("webinars").incremental_value_cents
    );
    let per_account = |name: &str| {
        let t = of(name);
        t.incremental_value_cents as f64 / t.accounts.max(1) as f64
    };
    assert!(
        per_account("webinars") > 5.0 * per_account("fb_smb_promo"),
        "webinars {:.0}, fb_smb_promo {:.0} cents an account reached",
        per_account("webinars"),
        per_account("fb_smb_promo")
    );
    // Campaigns carry their touch type's figures.
    for c in &truth.campaigns {
        let t = of(&c.campaign);
        assert_eq!(c.incremental_value_cents, t.incremental_value_cents);
        assert_eq!(
            c.incremental_value_per_dollar,
            t.incremental_value_per_dollar
        );
    }
    assert_eq!(of("organic_search").carried_as, None);
    assert_eq!(
        of("monthly_digest").carried_as.as_deref(),
        Some("monthly_digest")
    );
}

/// Product users come one a seat, so the share of seats in use measures engagement, not size:
/// large accounts use about as large a share of their seats as small ones (with the old cap of
/// 12 users, an account of 30 seats could reach 40% at most).
#[test]
fn product_users_scale_with_seats() {
    let Company {
        observed: o,
        accounts,
        ..
    } = big();
    let max_users = World::default().max_users as usize;
    let mut small = Vec::new();
    let mut large = Vec::new();
    for a in accounts.iter().filter(|a| a.converted_at.is_some()) {
        let rows = &o.subscriptions[&a.account_id];
        let most = rows.iter().map(|r| r.2).max().unwrap() as usize;
        let users = o.users.get(&a.account_id).map_or(0, BTreeSet::len);
        assert!(
            users <= most.min(max_users),
            "{}: {users} users for at most {most} seats",
            a.account_id
        );
        let seats = rows[0].2;
        let share = users as f64 / f64::from(seats);
        match seats {
            10..=20 => small.push(share),
            30.. => large.push(share),
            _ => {}
        }
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let (s, l) = (mean(&small), mean(&large));
    eprintln!(
        "users per first seat: {s:.2} (10–20 seats, n {}), {l:.2} (30 or more, n {})",
        small.len(),
        large.len()
    );
    assert!(small.len() >= 30 && large.len() >= 30);
    assert!(l > 0.8 * s, "10–20 seats {s:.2}, 30 or more {l:.2}");
}

/// Trouble raises tickets first and the churn hazard a month later, so support load leads
/// churn: in the month before the month of a churn (the simulation's 30-day months from
/// conversion), customers open tickets at well over their usual rate.
#[test]
fn tickets_rise_before_a_churn() {
    let Company {
        truth,
        observed: o,
        accounts,
        ..
    } = big();
    let end = window_end(truth);
    let month = 30 * DAY;
    let (mut lead_tickets, mut lead_months) = (0usize, 0usize);
    let (mut usual_tickets, mut usual_months) = (0usize, 0usize);
    for a in accounts.iter().filter(|a| a.converted_at.is_some()) {
        let converted = a.converted_at.unwrap();
        let tickets = o.tickets.get(&a.account_id).map_or(&[][..], Vec::as_slice);
        let in_month = |k: i64| {
            let from = converted + k * month;
            tickets
                .iter()
                .filter(|t| **t >= from && **t < from + month)
                .count()
        };
        match a.churned_at {
            Some(churned) => {
                let churn_month = (churned - converted) / month;
                if churn_month >= 1 {
                    lead_tickets += in_month(churn_month - 1);
                    lead_months += 1;
                }
                // usual: paying, and three months or more before the churn
                for k in 0..churn_month - 3 {
                    usual_tickets += in_month(k);
                    usual_months += 1;
                }
            }
            None => {
                for k in 0..(end - converted) / month {
                    usual_tickets += in_month(k);
                    usual_months += 1;
                }
            }
        }
    }
    let lead = lead_tickets as f64 / lead_months as f64;
    let usual = usual_tickets as f64 / usual_months as f64;
    eprintln!(
        "tickets a month: {lead:.2} in the month before a churn's month ({lead_months} churns), \
         {usual:.2} usually ({usual_months} months)"
    );
    assert!(lead_months >= 100);
    assert!(
        lead > 1.5 * usual,
        "before a churn {lead:.2}, usually {usual:.2}"
    );
}

/// The guided onboarding lowers churn too (its planted factor on the hazard, and through the
/// activations it adds): guided customers churn less per month paying, and the truth's
/// per-variant 90-day retention is what the files show.
#[test]
fn the_onboarding_experiment_lowers_churn() {
    let Company {
        truth,
        observed: o,
        accounts,
        ..
    } = big();
    let end = window_end(truth);
    let mut by_variant: BTreeMap<&str, (usize, f64, u64, u64)> = BTreeMap::new();
    for a in accounts.iter().filter(|a| a.converted_at.is_some()) {
        let converted = a.converted_at.unwrap();
        let v = by_variant.entry(a.variant.as_deref().unwrap()).or_default();
        let churned = a.churned_at;
        v.0 += usize::from(churned.is_some());
        v.1 += (churned.unwrap_or(end) - converted) as f64 / (30 * DAY) as f64;
        // 90-day retention from the files: still paying 90 days after conversion
        if converted + 90 * DAY <= end {
            v.3 += 1;
            let rows = &o.subscriptions[&a.account_id];
            let churn_row = rows.iter().skip(1).find(|r| r.1 == 0).map(|r| r.0);
            v.2 += u64::from(churn_row.is_none_or(|t| t > converted + 90 * DAY));
        }
    }
    for e in &truth.experiment {
        let v = by_variant[e.variant.as_str()];
        assert_eq!(
            (e.retained_90d, e.eligible_90d),
            (v.2, v.3),
            "{}",
            e.variant
        );
    }
    let hazard = |v: &str| by_variant[v].0 as f64 / by_variant[v].1;
    let ratio = hazard("guided") / hazard("control");
    eprintln!(
        "churns a paying month: guided {:.4}, control {:.4}, ratio {ratio:.2} (planted factor {})",
        hazard("guided"),
        hazard("control"),
        World::default().experiment.churn_factor
    );
    assert!(
        ratio < 0.9,
        "guided churns {ratio:.2} times as often as control"
    );
}
