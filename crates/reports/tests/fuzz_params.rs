//! Fuzz targets for report parameters as the CLI flags and the API query give them
//! (`RawParams`): `report_params` runs `ReportParams::parse` alone; `reports_with_params` also
//! runs a report with what it parsed, over a small company (the sample files `tenure import`
//! is tested with), with the caller's now and a stop after a second, as the API does.
//!
//! Instants are the edges of years 0000-9999 and past them, offsets, dates that do not exist,
//! and valid dates with bytes inserted and deleted; the other parameters are the names the
//! reports give meaning to, empty, blank and unicode text.
//!
//! The property: no panic; parameters are accepted or rejected with an error naming the
//! parameter; what is accepted prints and reads back as the same instants; a report is a report
//! or an error, within its time.
//!
//! A bounded run is part of `cargo test`; `TENURE_FUZZ_CASES=10000000 cargo test --release -p
//! tenure-reports --test fuzz_params report_params` is the long run (RELIABILITY.md).

mod common;
#[path = "../../ingest/tests/fuzz_support/mod.rs"]
mod fuzz_support;

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use fuzz_support::{apply_bytes, byte_edits, fuzz, no_panic, STRINGS};
use proptest::prelude::*;
use proptest::sample::select;
use tenure_core::{AccountId, Currency, EntryBody, Money, SubscriptionRow, Timestamp};
use tenure_engine::Model;
use tenure_ingest::csv::{read_csv, CsvKind};
use tenure_ingest::segment::{parse_message, Limits as SegmentLimits};
use tenure_reports::{
    run_in_turns, AsOfSource, Limits, RawParams, ReportError, ReportParams, ReportSettings, REPORTS,
};

fn now() -> Timestamp {
    Timestamp::parse("2025-06-01T12:00:00Z").unwrap()
}

/// Instants: valid ones near the data, the ends of the range and past them.
const INSTANTS: &[&str] = &[
    "2025-03-01",
    "2025-03-01T12:00:00Z",
    "2025-03-01 12:00:00+05:30",
    "2024-02-29",
    "2025-02-29",
    "2025-12-31",
    "1970-01-01",
    "0000-01-01",
    "0000-01-01T00:00:00+00:01",
    "9999-12-31",
    "9999-12-31T23:59:59.999-00:01",
    "+12026-01-01",
    "-0001-01-01",
    "2025-13-01",
    "2025-03-01T25:00:00Z",
    "",
    " ",
];

/// Names the reports give meaning to: groupings, models, metrics, sorts, stages, bands.
const WORDS: &[&str] = &[
    "channel",
    "source",
    "medium",
    "campaign",
    "content",
    "month",
    "quarter",
    "plan",
    "tier",
    "stage",
    "band",
    "cohort",
    "first_touch",
    "last_touch",
    "linear",
    "time_decay",
    "u_shaped",
    "w_shaped",
    "shapley",
    "markov",
    "conversions",
    "initial_arr",
    "expansion_revenue",
    "realized_revenue",
    "predicted_ltv",
    "renewed",
    "arr",
    "health",
    "risk",
    "customer",
    "green",
    "red",
    "acct_001",
    "acct_404",
    "maria",
    "paid_search",
    "onboarding_variant",
    "control",
    "control=50,guided=50",
];

fn instant() -> impl Strategy<Value = Option<String>> {
    let edited = (select(INSTANTS), byte_edits()).prop_map(|(seed, edits)| {
        let mut bytes = seed.as_bytes().to_vec();
        apply_bytes(&mut bytes, &edits);
        String::from_utf8_lossy(&bytes).into_owned()
    });
    prop::option::weighted(0.3, edited)
}

fn word() -> impl Strategy<Value = Option<String>> {
    let text = prop_oneof![
        6 => select(WORDS).prop_map(str::to_owned),
        2 => select(STRINGS).prop_map(str::to_owned),
        1 => "\\PC{0,12}",
    ];
    prop::option::weighted(0.15, text)
}

fn raw_params() -> impl Strategy<Value = RawParams> {
    let times = (instant(), instant(), instant());
    let names = (word(), word(), word(), any::<bool>(), word(), word());
    let filters = (word(), word(), word(), word(), word(), word());
    let pages = (page_size(), cursor(), word(), word(), (word(), word()));
    (times, names, filters, pages).prop_map(
        |(
            (as_of, from, to),
            (by, model, metric, compare, account, sort),
            (stage, band, signal, tier, owner, channel),
            (limit, cursor, campaign, search, (control, expected_split)),
        )| RawParams {
            as_of,
            from,
            to,
            by,
            model,
            metric,
            compare,
            account,
            stage,
            band,
            signal,
            tier,
            owner,
            channel,
            sort,
            limit,
            cursor,
            campaign,
            search,
            control,
            expected_split,
        },
    )
}

fn page_size() -> impl Strategy<Value = Option<String>> {
    let text = prop_oneof![
        3 => (1usize..20_000).prop_map(|n| n.to_string()),
        1 => select(&["0", "-1", "", "1e3", " 5", "99999999999999999999999"][..]).prop_map(str::to_owned),
    ];
    prop::option::weighted(0.15, text)
}

/// Cursors as tenure writes them, edited byte by byte.
fn cursor() -> impl Strategy<Value = Option<String>> {
    let seed = "p1.3.1796083199999.3.06493d24311e8fda";
    let edited = byte_edits().prop_map(move |edits| {
        let mut bytes = seed.as_bytes().to_vec();
        apply_bytes(&mut bytes, &edits);
        String::from_utf8_lossy(&bytes).into_owned()
    });
    prop::option::weighted(0.1, edited)
}

/// Parses `raw`: accepted parameters print and read back as the same instants; a rejection
/// names a parameter. Whether they were accepted.
fn parse(raw: &RawParams) -> Option<ReportParams> {
    match ReportParams::parse((now(), AsOfSource::Now), raw) {
        Ok(params) => {
            for t in [Some(params.as_of), params.from, params.to]
                .into_iter()
                .flatten()
            {
                let text = t.to_string();
                assert_eq!(Timestamp::parse(&text), Ok(t), "{text}");
            }
            Some(params)
        }
        Err(e) => {
            assert!(
                matches!(e, ReportError::Parameter { .. }),
                "{raw:?} gave {e:?}"
            );
            let _ = e.to_string();
            None
        }
    }
}

/// The sample company `tenure import` is tested with, as a model.
fn sample() -> &'static Model {
    static MODEL: OnceLock<Model> = OnceLock::new();
    MODEL.get_or_init(|| {
        let dir = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tenure/tests/fixtures/sample"
        );
        let mut bodies: Vec<EntryBody> = Vec::new();
        for kind in CsvKind::ALL {
            let file = std::fs::File::open(format!("{dir}/{kind}.csv")).unwrap();
            for row in read_csv(kind, file, Currency::USD).unwrap() {
                bodies.push(row.unwrap().body);
            }
        }
        let events = std::fs::read_to_string(format!("{dir}/events.ndjson")).unwrap();
        for line in events.lines().filter(|l| !l.trim().is_empty()) {
            let message = parse_message(line.as_bytes(), now(), &SegmentLimits::default());
            bodies.push(EntryBody::Segment(message.unwrap()));
        }
        common::model_of(bodies)
    })
}

/// How long one report over the sample may take before the fuzz calls it a hang: the stop
/// comes after a second, so this is that second and the time to notice it.
const REPORT_BUDGET: Duration = Duration::from_secs(5);

/// Runs report `name` with `raw` over the sample: a report or an error, within its budget.
fn report(name: &str, raw: &RawParams) -> bool {
    let Some(params) = parse(raw) else {
        return false;
    };
    let started = Instant::now();
    let stop = move || started.elapsed() > Duration::from_secs(1);
    let limits = Limits {
        now: now(),
        should_stop: &stop,
    };
    let result = run_in_turns(
        name,
        &|f| f(sample()),
        &ReportSettings::default(),
        &params,
        limits,
    );
    assert!(
        started.elapsed() < REPORT_BUDGET,
        "{name} with {raw:?} took {:?}",
        started.elapsed()
    );
    match result {
        Ok(report) => {
            serde_json::to_string(&report).expect("a report serializes");
            true
        }
        Err(e) => {
            let _ = e.to_string();
            false
        }
    }
}

#[test]
fn report_params() {
    fuzz("report params", raw_params(), |raw| parse(&raw).is_some());
}

/// Reports take milliseconds each, so this target runs a tenth of the cases.
#[test]
fn reports_with_params() {
    let cases = (fuzz_support::cases() / 10).max(1);
    let inputs = (select(REPORTS), raw_params());
    fuzz_support::fuzz_cases("reports with params", cases, inputs, |(name, raw)| {
        report(name, &raw)
    });
}

#[test]
fn regressions() {
    let cases: &[(&str, &str, RawParams)] = &[(
        "an instant at the end of the range",
        "mrr",
        RawParams {
            as_of: Some("9999-12-31".into()),
            from: Some("0000-01-01".into()),
            ..RawParams::default()
        },
    )];
    for (name, report_name, raw) in cases {
        no_panic(name, b"", |_| report(report_name, raw));
    }
}

/// Found by probing the fuzzers' largest accepted amounts through the reports: an MRR of
/// `i64::MAX` minor units made `accounts`, `adoption` and `signals` overflow computing ARR
/// (12 × MRR). Amounts are now at most `Money::MAX_MINOR` (f51a59e); at that bound every report
/// runs.
#[test]
fn every_report_runs_with_the_largest_amounts_ingest_accepts() {
    let largest = Money::new(Money::MAX_MINOR, Currency::USD);
    let bodies = ["a", "b", "c"].map(|account| {
        EntryBody::Subscription(SubscriptionRow {
            account_id: AccountId::parse(account).unwrap(),
            effective_at: Timestamp::parse("2025-01-01").unwrap(),
            mrr: largest,
            plan: None,
            seats: Some(u32::MAX),
        })
    });
    let model = common::model_of(bodies);
    let params = ReportParams::at(now());
    for name in REPORTS {
        let name = *name;
        no_panic(name, b"", |_| {
            let stop = || false;
            let limits = Limits {
                now: now(),
                should_stop: &stop,
            };
            let _ = run_in_turns(
                name,
                &|f| f(&model),
                &ReportSettings::default(),
                &params,
                limits,
            );
        });
    }
}
