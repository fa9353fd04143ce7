//! Renewals: the contracts ending in the next 30, 60 and 90 days, and how much of their ARR
//! the churn model expects to renew.

use maud::html;
use serde_json::Value;
use tenure_core::Timestamp;
use tenure_reports::{Report, Unit};

use super::summary;
use super::{missing, Page};
use crate::chart::{Chart, HBars};
use crate::docs::Link;
use crate::figure::{Figure, LinkTo, Table};
use crate::format::cell;
use crate::{Answers, Block, Call, PageQuery, Tile};

pub const PAGE: Page = Page {
    name: "renewals",
    path: "/renewals",
    title: "Renewals",
    menu: "Renewals",
    in_menu: true,
    menu_parent: "",
    lede: "The contracts ending in the next 90 days, their ARR and health, and the ARR expected to renew.",
    calls,
    render,
    needs_status: false,
    needs_playbooks: false,
    needs_conversions: false,
};

const RENEWALS: Link = Link::new("reports", "`renewals`: contracts ending within 90 days");
const FORECAST: Link = Link::new("reports", "`forecast`: expected renewal ARR");

fn calls(query: &PageQuery, _: Timestamp) -> Vec<Call> {
    vec![
        Call::new("renewals", query.params_for("renewals", &[], &[])),
        Call::new("forecast", query.params_for("forecast", &[], &[])),
    ]
}

fn render(_: &PageQuery, answers: &Answers) -> Vec<Block> {
    let mut blocks = Vec::new();
    let renewals = answers.report(0);
    let forecast = answers.report(1);
    let mut tiles = Vec::new();
    if let Ok(report) = renewals {
        tiles.extend(
            windows(report)
                .into_iter()
                .map(|(days, contracts, arr)| Tile {
                    label: format!("ARR ending within {days} days"),
                    value: cell(&Value::from(arr), Unit::Money, report.currency),
                    change: Some(crate::Change {
                        text: format!(
                            "{contracts} contract{}",
                            if contracts == 1 { "" } else { "s" }
                        ),
                        tone: crate::Tone::Neutral,
                    }),
                    how: RENEWALS,
                }),
        );
    }
    if let Ok(report) = forecast {
        tiles.push(summary::tile(
            report,
            "Expected renewal ARR",
            "expected_renewal_arr",
            FORECAST,
        ));
    }
    blocks.push(Block::Tiles(tiles));
    match renewals {
        Ok(report) => {
            let mut table = Table::of(report, &[]);
            table.link("account", LinkTo::Account);
            if let Some(c) = table.column("window") {
                c.label = "Within (days)".to_owned();
            }
            blocks.push(Block::figure(
                Figure::new("contracts", "Contracts ending within 90 days", RENEWALS, table)
                    .note("Soonest first. The window is the first of 30, 60 or 90 days the contract ends within; risk counts the churn-risk signals holding.")
                    .from(&answers.calls[0])
                    .open(),
            ));
        }
        Err(message) => blocks.push(missing("Renewals", message)),
    }
    match forecast {
        Ok(report) => {
            let mut table = Table::of(report, &[]);
            table.link("account", LinkTo::Account);
            let chart = Chart::HBars(HBars {
                labels: table.texts("account"),
                values: table.numbers("churn_probability"),
                unit: Unit::Fraction,
            });
            blocks.push(Block::figure(
                Figure::new("forecast", "Chance each contract churns instead of renewing", FORECAST, table)
                    .note(format!(
                        "The churn model's probability for each contract ending within {}; expected ARR is its ARR times the chance it renews.",
                        summary::text(report, "horizon_days")
                    ))
                    .chart(chart)
                    .from(&answers.calls[1])
                    .open(),
            ));
            blocks.push(Block::Text(backtest(report)));
        }
        Err(message) => blocks.push(missing("Forecast", message)),
    }
    blocks
}

/// (window in days, contracts, ARR) for each of the 30, 60 and 90-day windows: the contracts
/// ending within it, so the 60-day window holds the 30-day one's.
fn windows(report: &Report) -> Vec<(u64, usize, f64)> {
    [30u64, 60, 90]
        .into_iter()
        .map(|days| {
            let within: Vec<&serde_json::Map<String, Value>> = report
                .rows
                .iter()
                .filter(|r| {
                    r.get("window")
                        .and_then(Value::as_u64)
                        .is_some_and(|w| w <= days)
                })
                .collect();
            let arr = within
                .iter()
                .filter_map(|r| r.get("arr").and_then(Value::as_f64))
                .sum();
            (days, within.len(), arr)
        })
        .collect()
}

/// How the same forecast did when made a horizon ago, in words.
fn backtest(report: &Report) -> maud::Markup {
    let t = |path: &str| summary::text(report, &format!("backtest.{path}"));
    html! {
        section.figure aria-labelledby="backtest-title" {
            header {
                h2 id="backtest-title" { "How the forecast did last time" }
                p.how { a href=(FORECAST.href()) { "How this is computed" } }
            }
            @if summary::at(report, "backtest").is_some_and(|b| !b.is_null()) {
                p { "Made on " (t("forecast_at")) " for the " (t("contracts")) " contracts then ending within the horizon ("
                    (t("arr_up_for_renewal")) " of ARR): it expected " strong { (t("expected_arr")) }
                    " to renew (" (t("expected_renewals")) " contracts); " strong { (t("actual_arr")) }
                    " did (" (t("actual_renewals")) " contracts). Error: " (t("error")) "." }
            } @else {
                p { "The data does not reach back far enough to test the forecast." }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn each_window_holds_the_contracts_ending_within_it() {
        let report = summary::report_of(json!({
            "report": "renewals", "as_of": "2026-11-30T23:59:59.999Z", "as_of_source": "given",
            "from": null, "to": null, "by": null, "currency": "USD",
            "columns": [], "units": {}, "warnings": [],
            "rows": [
                {"account": "a", "window": 30, "arr": 100.0},
                {"account": "b", "window": 60, "arr": 50.0},
                {"account": "c", "window": 90, "arr": 25.0},
                {"account": "d", "window": 90, "arr": 5.0}
            ]
        }));
        assert_eq!(
            windows(&report),
            [(30, 1, 100.0), (60, 2, 150.0), (90, 4, 180.0)]
        );
    }
}
