//! The health back-test: how well the health score predicted churn at past month ends, for the
//! current `[health]` and, side by side, for one a person pastes or uploads.

use maud::html;
use tenure_core::Timestamp;
use tenure_reports::{Report, Unit};

use super::summary;
use super::{missing, Page};
use crate::chart::{Chart, HBars};
use crate::docs::Link;
use crate::figure::{Figure, Table};
use crate::{Answers, Block, Call, PageQuery};

pub const PAGE: Page = Page {
    name: "health-backtest",
    path: "/health-backtest",
    title: "Health back-test",
    menu: "Health back-test",
    in_menu: true,
    menu_parent: "",
    lede: "How well the health score told churners apart at past month ends, and whether a proposed [health] configuration would do better.",
    calls,
    render,
    needs_status: false,
    needs_playbooks: false,
    needs_conversions: false,
};

const BACKTEST: Link = Link::new(
    "reports",
    "`health-backtest`: how well health predicts churn",
);
const HEALTH: Link = Link::new("health", "The health score");

fn calls(query: &PageQuery, _: Timestamp) -> Vec<Call> {
    vec![Call::new(
        "health-backtest",
        query.params_for("health-backtest", &[], &[]),
    )]
}

fn render(query: &PageQuery, answers: &Answers) -> Vec<Block> {
    let mut blocks = vec![Block::Text(form(query, answers))];
    if let Some(error) = answers.proposal.as_ref().and_then(|p| p.error.as_ref()) {
        blocks.push(Block::Text(html! {
            div.missing role="alert" {
                strong { "The proposed configuration was not used. " }
                "Only the current one is shown below. What was wrong with it:"
                pre { (error) }
            }
        }));
    }
    let report = match answers.report(0) {
        Ok(report) => report,
        Err(message) => {
            blocks.push(missing("Health back-test", message));
            return blocks;
        }
    };
    let call = &answers.calls[0];
    let proposed = report
        .rows
        .iter()
        .any(|r| r.get("config").and_then(|c| c.as_str()) == Some("proposed"));
    let mut configs = Table::of_list(
        report,
        "configs",
        &["config", "version", "snapshots", "churned_90d", "roc_auc"],
    );
    if let Some(c) = configs.column("roc_auc") {
        c.label = "ROC AUC".to_owned();
    }
    let chart = Chart::HBars(HBars {
        labels: configs.texts("config"),
        values: configs.numbers("roc_auc"),
        unit: Unit::Number,
    });
    let configs = Figure::new("configs", if proposed { "ROC AUC: current against proposed" } else { "ROC AUC of the current configuration" }, BACKTEST, configs)
            .note(format!(
                "How often a customer who churned within {} had a lower health score than one who did not, over {} month ends: 0.5 is chance, 1 perfect.",
                summary::text(report, "horizon_days"),
                summary::text(report, "month_ends"),
            ))
            .chart(chart)
            .open();
    // With a proposal the rows are not what a GET of the API or of the CSV answers (the
    // proposal was POSTed and is kept nowhere), so the figures name no source and offer no
    // CSV: the table under each is the download.
    let configs = if proposed {
        configs.without_csv()
    } else {
        configs.from_list(call, "summary.configs")
    };
    blocks.push(Block::figure(configs));
    let bands = bands(report, proposed);
    blocks.push(Block::figure(if proposed {
        bands.without_csv()
    } else {
        bands.from(call)
    }));
    blocks
}

/// Churn rate by band, each band's configurations next to each other.
fn bands(report: &Report, proposed: bool) -> Figure {
    let table = Table::of(report, &[]);
    let configs = table.texts("config");
    let names = table.texts("band");
    let rates = table.numbers("churn_rate");
    let mut order: Vec<usize> = (0..names.len()).collect();
    let band_rank = |band: &str| {
        ["green", "yellow", "red"]
            .iter()
            .position(|b| *b == band)
            .unwrap_or(3)
    };
    order.sort_by_key(|i| (band_rank(&names[*i]), configs[*i] != "current"));
    let chart = Chart::HBars(HBars {
        labels: order
            .iter()
            .map(|i| format!("{} · {}", names[*i], configs[*i]))
            .collect(),
        values: order.iter().map(|i| rates[*i]).collect(),
        unit: Unit::Fraction,
    });
    Figure::new(
        "bands",
        if proposed { "Churn within 90 days by band: current and proposed side by side" } else { "Churn within 90 days by band" },
        BACKTEST,
        table,
    )
    .note("The share of customers in each band at a month end who churned in the next 90 days: a good score has red churn far more than green.")
    .chart(chart)
    .open()
}

/// The form that proposes a configuration: pasted, or read from a file by the page's script.
fn form(query: &PageQuery, answers: &Answers) -> maud::Markup {
    let action = query.href(PAGE.path, &[]);
    html! {
        section.figure aria-labelledby="propose-title" {
            header {
                h2 id="propose-title" { "Try a proposed configuration" }
                p.how { a href=(HEALTH.href()) { "What [health] holds" } }
            }
            form.propose method="post" action=(action) {
                input type="hidden" name="csrf" value=(answers.csrf);
                label for="proposed" { "A tenure configuration (TOML) with the [health] to compare; nothing is saved" }
                textarea id="proposed" name="proposed" placeholder="[health]\nbands = { green = 75.0, yellow = 45.0 }\nonboarding_days = 30" {
                    (answers.proposal.as_ref().map_or("", |p| p.text.as_str()))
                }
                div.row {
                    label { "Or read it from a file" input type="file" accept=".toml,text/plain" data-into="proposed"; }
                    button type="submit" { "Compare with the current configuration" }
                }
            }
            @if answers.proposal.as_ref().is_some_and(|p| p.error.is_none()) {
                p.note { "Showing the configuration you sent beside the current one. Nothing is kept: reload the page and only the current one is shown." }
            }
        }
    }
}
