//! Campaign drill-down: the accounts whose converting journeys a campaign touched, each with
//! its share of the campaign's credit under the model.

use maud::html;
use serde_json::Value;
use tenure_core::Timestamp;
use tenure_reports::{Param, Report, Unit};

use super::attribution::{metric_select, model_select, options, DEFAULT_METRIC, DEFAULT_MODEL};
use super::{missing, Page};
use crate::chart::{Chart, HBars};
use crate::docs::Link;
use crate::figure::{Figure, LinkTo, Table};
use crate::format::{cell, label};
use crate::{Answers, Block, Call, Controls, PageQuery, TextField, Tile};

pub const PAGE: Page = Page {
    name: "campaign",
    path: "/attribution/campaign",
    title: "Campaign",
    menu: "Campaign",
    in_menu: false,
    menu_parent: "attribution",
    lede: "The customers a campaign touched on their way to converting, and how much of each conversion the model gives it.",
    calls,
    render,
    needs_status: false,
    needs_playbooks: false,
    needs_conversions: false,
};

const CAMPAIGN: Link = Link::new(
    "reports",
    "`campaign-accounts`: the accounts a campaign touched",
);

/// Bars drawn at most: past that the table holds the rest.
const BARS: usize = 15;

fn calls(query: &PageQuery, _: Timestamp) -> Vec<Call> {
    // Coming from the explorer with markov or nrr, which do not split by account (the report
    // refuses them), the page shows the defaults, and its selectors say so.
    let model = match query.get_or("model", DEFAULT_MODEL) {
        "markov" => DEFAULT_MODEL,
        model => model,
    };
    let metric = match query.get_or("metric", DEFAULT_METRIC) {
        "nrr" => DEFAULT_METRIC,
        metric => metric,
    };
    vec![Call::new(
        "campaign-accounts",
        query.params_for(
            "campaign-accounts",
            &["campaign"],
            &[("model", model), ("metric", metric)],
        ),
    )]
}

fn render(query: &PageQuery, answers: &Answers) -> Vec<Block> {
    // markov credits journeys together and nrr is a ratio: neither splits by account.
    let mut metrics = options(Param::Metric);
    metrics.retain(|(v, _)| v != "nrr");
    let campaign = query.get_or("campaign", "");
    let mut blocks = vec![
        Block::Controls(Controls {
            selects: vec![model_select(query, true), metric_select(query, metrics)],
            texts: vec![TextField {
                name: "campaign",
                label: "Campaign",
                value: campaign.to_owned(),
                placeholder: "utm_campaign",
            }],
        }),
        Block::Text(html! {
            p { a href=(query.href("/attribution", &[
                ("by", "campaign"),
                ("model", query.get_or("model", "")),
                ("metric", query.get_or("metric", "")),
            ])) { "← Every campaign" } }
        }),
    ];
    match answers.report(0) {
        Ok(report) => {
            blocks.push(Block::Tiles(tiles(report)));
            blocks.push(Block::figure(accounts(report).from(&answers.calls[0])));
        }
        Err(message) => blocks.push(missing(
            if campaign.is_empty() {
                "Campaign"
            } else {
                campaign
            },
            message,
        )),
    }
    blocks
}

fn summary<'a>(report: &'a Report, key: &str) -> Option<&'a Value> {
    report.summary.as_ref().and_then(|s| s.get(key))
}

fn tiles(report: &Report) -> Vec<Tile> {
    let metric = summary(report, "metric")
        .and_then(Value::as_str)
        .unwrap_or(DEFAULT_METRIC);
    let tile = |label: String, value: String| Tile {
        label,
        value,
        change: None,
        how: CAMPAIGN,
    };
    let unit = report
        .summary_units
        .get("credited")
        .copied()
        .unwrap_or(Unit::Count);
    vec![
        tile(
            "Accounts touched".to_owned(),
            cell(
                summary(report, "accounts").unwrap_or(&Value::Null),
                Unit::Count,
                report.currency,
            ),
        ),
        tile(
            format!("{} credited", label(metric)),
            cell(
                summary(report, "credited").unwrap_or(&Value::Null),
                unit,
                report.currency,
            ),
        ),
    ]
}

fn accounts(report: &Report) -> Figure {
    let campaign = summary(report, "campaign")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let model = summary(report, "model")
        .and_then(Value::as_str)
        .unwrap_or(DEFAULT_MODEL);
    let mut table = Table::of(report, &[]);
    table.link("account", LinkTo::Account);
    if let Some(c) = table.column("credit") {
        c.label = "Share of its conversion".to_owned();
    }
    let names = table.texts("name");
    let labels: Vec<String> = table
        .texts("account")
        .into_iter()
        .zip(names)
        .map(|(id, name)| if name.is_empty() { id } else { name })
        .take(BARS)
        .collect();
    let unit = report.units.get("credited").copied().unwrap_or(Unit::Count);
    let chart = Chart::HBars(HBars {
        values: table
            .numbers("credited")
            .into_iter()
            .take(labels.len())
            .collect(),
        labels,
        unit,
    });
    let shown = report.rows.len().min(BARS);
    let note = if report.rows.len() > BARS {
        format!("What each account adds to the campaign under {}; the {shown} largest drawn, every account in the table.", label(model))
    } else {
        format!(
            "What each account adds to the campaign under {}, largest first.",
            label(model)
        )
    };
    Figure::new(
        "accounts",
        format!("Accounts touched by {campaign}"),
        CAMPAIGN,
        table,
    )
    .note(note)
    .chart(chart)
    .open()
}
