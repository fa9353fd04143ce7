//! The journey funnel: the lifecycle stages in order, how many entered each and went on, how
//! long they stayed, and how soon new customers reach value.

use serde_json::Value;
use tenure_core::Timestamp;
use tenure_reports::{Report, Unit};

use super::summary;
use super::{missing, Page};
use crate::chart::{Bars, Chart, HBars, Stack, PALETTE};
use crate::docs::Link;
use crate::figure::{Column, Figure, Table};
use crate::{Answers, Block, Call, PageQuery};

pub const PAGE: Page = Page {
    name: "funnel",
    path: "/funnel",
    title: "Journey funnel",
    menu: "Funnel",
    in_menu: true,
    menu_parent: "",
    lede: "The lifecycle stages in order: how many customers entered each, how many are in it now, how many went on, and how long they stayed.",
    calls,
    render,
    needs_status: false,
    needs_playbooks: false,
    needs_conversions: false,
};

const FUNNEL: Link = Link::new("reports", "`funnel`: the lifecycle stages");
const STAGES: Link = Link::new("health", "Stages");
const ACTIVATION: Link = Link::new("figures", "Activation, time to value, adoption, NPS");

fn calls(query: &PageQuery, _: Timestamp) -> Vec<Call> {
    vec![Call::new("funnel", query.params_for("funnel", &[], &[]))]
}

fn render(_: &PageQuery, answers: &Answers) -> Vec<Block> {
    let report = match answers.report(0) {
        Ok(report) => report,
        Err(message) => return vec![missing("Funnel", message)],
    };
    let call = &answers.calls[0];
    let mut activation = summary::tile(
        report,
        "Activated within 30 days",
        "activation.rate",
        ACTIVATION,
    );
    if let (Some(a), Some(e), Some(d)) = (
        summary::number(report, "activation.activated"),
        summary::number(report, "activation.eligible"),
        summary::number(report, "activation.within_days"),
    ) {
        activation.label = format!("Activated within {d:.0} days");
        activation.change = Some(crate::Change {
            text: format!("{a:.0} of {e:.0} customers who converted long enough ago"),
            tone: crate::Tone::Neutral,
        });
    }
    let tiles = vec![
        summary::tile(report, "Customers", "customers", FUNNEL),
        activation,
        summary::tile(
            report,
            "Median time to value",
            "time_to_value_days.median",
            ACTIVATION,
        ),
        summary::tile(
            report,
            "Time to value, 90th percentile",
            "time_to_value_days.p90",
            ACTIVATION,
        ),
    ];
    let mut blocks = vec![Block::Tiles(tiles)];
    blocks.push(Block::figure(stages(report).from(call)));
    let mut time = Table::of(
        report,
        &[
            "stage",
            "median_days_in_stage",
            "mean_days_in_stage",
            "spells_completed",
            "spells_ongoing",
        ],
    );
    let chart = Chart::HBars(HBars {
        labels: time.texts("stage"),
        values: time.numbers("median_days_in_stage"),
        unit: Unit::Days,
    });
    if let Some(c) = time.column("spells_completed") {
        c.label = "Stays ended".to_owned();
    }
    if let Some(c) = time.column("spells_ongoing") {
        c.label = "Stays ongoing".to_owned();
    }
    blocks.push(Block::figure(
        Figure::new("time", "Median days in each stage", STAGES, time)
            .note("Of the stays in each stage that ended; the table gives the mean too.")
            .chart(chart)
            .from(call),
    ));
    let histogram = Table::of_list(
        report,
        "time_to_value_days.histogram",
        &["days", "accounts"],
    );
    let chart = Chart::Bars(Bars {
        categories: histogram.texts("days"),
        stacks: vec![Stack {
            name: "Customers".to_owned(),
            values: histogram
                .numbers("accounts")
                .into_iter()
                .map(|v| v.unwrap_or(0.0))
                .collect(),
            colour: PALETTE[0],
        }],
        line: None,
        unit: Unit::Count,
    });
    blocks.push(Block::figure(
        Figure::new("ttv", "Days from conversion to activation", ACTIVATION, histogram)
            .note(format!(
                "How many of the {} activated customers took each many days; the middle half took {} to {}.",
                summary::text(report, "time_to_value_days.activated"),
                summary::text(report, "time_to_value_days.p25"),
                summary::text(report, "time_to_value_days.p75"),
            ))
            .chart(chart)
            .from_list(call, "summary.time_to_value_days.histogram"),
    ));
    blocks.push(Block::figure(
        Figure::new("milestones", "Milestones", ACTIVATION, milestones(report))
            .note("How many customers reached each milestone, and the median days from conversion to it.")
            .open(),
    ));
    blocks
}

/// Each stage as one bar of everyone who entered it: went on, in it now, and left otherwise.
fn stages(report: &Report) -> Figure {
    let table = Table::of(
        report,
        &[
            "stage",
            "entered",
            "now",
            "next_stage",
            "reached_next",
            "conversion_to_next",
        ],
    );
    let entered = table.numbers("entered");
    let now = table.numbers("now");
    let next = table.numbers("reached_next");
    let n = |v: &Option<f64>| v.unwrap_or(0.0);
    let other: Vec<f64> = entered
        .iter()
        .zip(&now)
        .zip(&next)
        .map(|((e, w), x)| (n(e) - n(w) - n(x)).max(0.0))
        .collect();
    let chart = Chart::Bars(Bars {
        categories: table.texts("stage"),
        stacks: vec![
            Stack {
                name: "Went on to the next stage".to_owned(),
                values: next.iter().map(n).collect(),
                colour: PALETTE[2],
            },
            Stack {
                name: "In it now".to_owned(),
                values: now.iter().map(n).collect(),
                colour: PALETTE[0],
            },
            Stack {
                name: "Left for another stage".to_owned(),
                values: other,
                colour: PALETTE[1],
            },
        ],
        line: None,
        unit: Unit::Count,
    });
    Figure::new("stages", "Customers who entered each stage", FUNNEL, table)
        .note("Each bar is every customer who entered the stage: who went on to its next stage, who is in it now, and who left it for another (back, at risk, churned).")
        .chart(chart)
        .open()
}

/// The summary's milestones (an object by name) as rows, in the order a customer reaches them.
fn milestones(report: &Report) -> Table {
    const ORDER: [&str; 6] = [
        "activated",
        "adopted",
        "first_expansion",
        "advocate",
        "renewed",
        "churned",
    ];
    let found = summary::at(report, "milestones").and_then(Value::as_object);
    let mut names: Vec<&str> = ORDER.to_vec();
    for name in found.into_iter().flat_map(|m| m.keys()) {
        if !names.contains(&name.as_str()) {
            names.push(name);
        }
    }
    let rows = names
        .into_iter()
        .filter_map(|name| {
            let m = found?.get(name)?;
            Some(vec![
                Value::from(name),
                m.get("accounts").cloned().unwrap_or(Value::Null),
                m.get("median_days_from_conversion")
                    .cloned()
                    .unwrap_or(Value::Null),
            ])
        })
        .collect();
    Table {
        columns: vec![
            Column::new("milestone", Unit::Text),
            Column::new("accounts", Unit::Count).titled("Customers"),
            Column::new("median_days_from_conversion", Unit::Days),
        ],
        rows,
        currency: report.currency,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn milestones_are_rows_in_the_order_customers_reach_them() {
        let report = summary::report_of(json!({
            "report": "funnel", "as_of": "2026-11-30T23:59:59.999Z", "as_of_source": "given",
            "from": null, "to": null, "by": null, "currency": "USD",
            "columns": [], "units": {}, "rows": [], "warnings": [],
            "summary": {"milestones": {
                "churned": {"accounts": 2, "median_days_from_conversion": 78.0},
                "activated": {"accounts": 5, "median_days_from_conversion": 8.5},
                "zeta": {"accounts": 1, "median_days_from_conversion": null}
            }}
        }));
        let table = milestones(&report);
        assert_eq!(table.texts("milestone"), ["activated", "churned", "zeta"]);
        assert_eq!(table.numbers("accounts"), [Some(5.0), Some(2.0), Some(1.0)]);
    }
}
