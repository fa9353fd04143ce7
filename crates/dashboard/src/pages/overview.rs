//! Overview: MRR and its movements month by month, and the headline figures with their change
//! against the previous period.

use serde_json::{Map, Value};
use tenure_core::{Currency, Timestamp};
use tenure_reports::{Report, Unit};

use super::{missing, month_before, Page};
use crate::chart::{Bars, Chart, Stack, PALETTE};
use crate::docs::Link;
use crate::figure::{Figure, Table};
use crate::format::cell;
use crate::{Answers, Block, Call, Change, PageQuery, Tile, Tone};

pub const PAGE: Page = Page {
    name: "overview",
    path: "/",
    title: "Overview",
    menu: "Overview",
    in_menu: true,
    menu_parent: "",
    lede: "Recurring revenue, how it moved each month, and how much of it the customers keep.",
    calls,
    render,
    needs_status: false,
    needs_playbooks: false,
    needs_conversions: false,
};

const MRR: Link = Link::new("reports", "`mrr`: MRR movements by month");
const RETENTION: Link = Link::new("reports", "`retention`: NRR, GRR and logo retention");

fn calls(query: &PageQuery, as_of: Timestamp) -> Vec<Call> {
    let mut calls = vec![
        Call::new("mrr", query.params_for("mrr", &[], &[])),
        Call::new("retention", query.params_for("retention", &[], &[])),
    ];
    // The same twelve months, one month earlier; with a window of the person's own there is
    // no previous period to speak of.
    if query.get("from").is_none() && query.get("to").is_none() {
        let before = month_before(as_of).to_string();
        calls.push(Call::new("retention", vec![("as_of".to_owned(), before)]));
    }
    calls
}

fn render(_: &PageQuery, answers: &Answers) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mrr = answers.report(0);
    let retention = answers.report(1).ok();
    let previous = answers.report(2).ok();
    match mrr {
        Ok(mrr) => {
            blocks.push(Block::Tiles(tiles(mrr, retention, previous)));
            blocks.push(Block::figure(movements(mrr).from(&answers.calls[0])));
            blocks.push(Block::figure(mrr_over_time(mrr).from(&answers.calls[0])));
        }
        Err(message) => blocks.push(missing("MRR", message)),
    }
    match answers.report(1) {
        Ok(retention) => blocks.push(Block::figure(
            Figure::new(
                "retention",
                "Retention over the window",
                RETENTION,
                Table::of(retention, &[]),
            )
            .note(window_note(retention))
            .from(&answers.calls[1])
            .open(),
        )),
        Err(message) => blocks.push(missing("Retention", message)),
    }
    blocks
}

fn window_note(report: &Report) -> String {
    match (report.from, report.to) {
        (Some(from), Some(to)) => format!(
            "The accounts paying on {} and what they paid on {}.",
            &from.to_string()[..10],
            &to.to_string()[..10]
        ),
        _ => "The accounts paying at the window's start, and what they paid at its end.".into(),
    }
}

/// (value, previous value) of `key` in the last two rows.
fn last_two(rows: &[Map<String, Value>], key: &str) -> (Option<f64>, Option<f64>) {
    let at = |i: usize| rows.get(i).and_then(|r| r.get(key)).and_then(Value::as_f64);
    match rows.len() {
        0 => (None, None),
        n => (at(n - 1), n.checked_sub(2).and_then(at)),
    }
}

fn tiles(mrr: &Report, retention: Option<&Report>, previous: Option<&Report>) -> Vec<Tile> {
    let currency = mrr.currency;
    let month_before = mrr
        .rows
        .len()
        .checked_sub(2)
        .and_then(|i| mrr.rows[i].get("month"))
        .and_then(Value::as_str)
        .unwrap_or("the month before")
        .to_owned();
    let from_mrr = |label: &str, key: &str, unit: Unit| {
        let (now, before) = last_two(&mrr.rows, key);
        tile(label, now, before, unit, currency, &month_before, MRR)
    };
    let mut tiles = vec![
        from_mrr("MRR", "mrr", Unit::Money),
        from_mrr("ARR", "arr", Unit::Money),
        from_mrr("Customers", "customers", Unit::Count),
        from_mrr("Net new MRR", "net_new_mrr", Unit::Money),
    ];
    let all = |report: Option<&Report>, key: &str| {
        report
            .and_then(|r| r.rows.first())
            .and_then(|row| row.get(key))
            .and_then(Value::as_f64)
    };
    let earlier = previous.map_or("the window a month earlier".to_owned(), |p| {
        format!("the window to {}", &p.as_of.to_string()[..10])
    });
    for (label, key) in [
        ("NRR", "nrr"),
        ("GRR", "grr"),
        ("Logo retention", "logo_retention"),
    ] {
        tiles.push(tile(
            label,
            all(retention, key),
            all(previous, key),
            Unit::Fraction,
            currency,
            &earlier,
            RETENTION,
        ));
    }
    tiles.push(from_mrr("Quick ratio", "quick_ratio", Unit::Multiple));
    tiles
}

/// A headline figure and its change against `before`; every figure here is better higher.
fn tile(
    label: &str,
    now: Option<f64>,
    before: Option<f64>,
    unit: Unit,
    currency: Currency,
    period: &str,
    how: Link,
) -> Tile {
    let value = now.map_or_else(
        || "n/a".to_owned(),
        |v| cell(&Value::from(v), unit, currency),
    );
    let change = now.zip(before).map(|(now, before)| {
        let delta = now - before;
        let tone = if delta > 1e-9 {
            Tone::Good
        } else if delta < -1e-9 {
            Tone::Bad
        } else {
            Tone::Neutral
        };
        let sign = if delta >= 0.0 { "+" } else { "−" };
        let text = match unit {
            Unit::Fraction => format!("{sign}{:.1} pts vs {period}", delta.abs() * 100.0),
            Unit::Multiple => format!("{sign}{:.2} vs {period}", delta.abs()),
            _ if before != 0.0 => format!(
                "{sign}{} ({sign}{:.1}%) vs {period}",
                cell(&Value::from(delta.abs()), unit, currency),
                (delta / before.abs()).abs() * 100.0
            ),
            _ => format!(
                "{sign}{} vs {period}",
                cell(&Value::from(delta.abs()), unit, currency)
            ),
        };
        Change { text, tone }
    });
    Tile {
        label: label.to_owned(),
        value,
        change,
        how,
    }
}

/// The movements of each month, stacked: what came in above zero, what went out below.
fn movements(mrr: &Report) -> Figure {
    let keys = [
        "month",
        "new",
        "expansion",
        "reactivation",
        "contraction",
        "churn",
        "net_new_mrr",
    ];
    let table = Table::of(mrr, &keys);
    let parts = [
        ("new", "New", PALETTE[2]),
        ("expansion", "Expansion", PALETTE[0]),
        ("reactivation", "Reactivation", PALETTE[5]),
        ("contraction", "Contraction", PALETTE[1]),
        ("churn", "Churn", PALETTE[3]),
    ];
    let stack = |key: &str, name: &str, colour: &'static str| Stack {
        name: name.to_owned(),
        values: table
            .numbers(key)
            .into_iter()
            .map(|v| v.unwrap_or(0.0))
            .collect(),
        colour,
    };
    let chart = Chart::Bars(Bars {
        categories: table.texts("month"),
        stacks: parts.iter().map(|(k, n, c)| stack(k, n, c)).collect(),
        line: Some(stack("net_new_mrr", "Net new MRR", PALETTE[7])),
        unit: Unit::Money,
    });
    Figure::new("movements", "MRR movements by month", MRR, table)
        .note("New, expansion and reactivation above zero; contraction and churn below; the line is net new MRR.")
        .chart(chart)
}

fn mrr_over_time(mrr: &Report) -> Figure {
    let table = Table::of(mrr, &["month", "mrr", "arr", "customers"]);
    let chart = super::bars_of(&table, "month", "mrr", "MRR", Unit::Money);
    Figure::new("mrr", "MRR at each month's end", MRR, table).chart(chart)
}
