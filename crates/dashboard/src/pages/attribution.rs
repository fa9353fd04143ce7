//! Attribution explorer: what one model credits each channel (source, medium, campaign,
//! content) with, beside what it cost, and the nine models side by side.

use tenure_core::Timestamp;
use tenure_reports::{Param, Report, Unit, SMALL_SAMPLE_CUSTOMERS};

use super::{missing, Page};
use crate::chart::{Chart, HBars};
use crate::docs::Link;
use crate::figure::{Figure, LinkTo, Table};
use crate::format::label;
use crate::{Answers, Block, Call, Controls, PageQuery, Select};

pub const PAGE: Page = Page {
    name: "attribution",
    path: "/attribution",
    title: "Attribution",
    menu: "Attribution",
    in_menu: true,
    menu_parent: "",
    lede: "Which channels, sources and campaigns brought the customers, and what they brought, under each attribution model.",
    calls,
    render,
    needs_status: false,
    needs_playbooks: false,
    needs_conversions: false,
};

const ATTRIBUTION: Link = Link::new(
    "reports",
    "`attribution`: lifetime outcomes credited to channels",
);

/// The touch fields a journey can be grouped by.
pub(crate) const GROUPINGS: [&str; 5] = ["channel", "source", "medium", "campaign", "content"];

pub(crate) const DEFAULT_MODEL: &str = "linear";
pub(crate) const DEFAULT_METRIC: &str = "conversions";

fn by(query: &PageQuery) -> &str {
    query
        .get("by")
        .filter(|b| GROUPINGS.contains(b))
        .unwrap_or("channel")
}

fn calls(query: &PageQuery, _: Timestamp) -> Vec<Call> {
    let by = by(query);
    let model = query.get_or("model", DEFAULT_MODEL);
    let metric = query.get_or("metric", DEFAULT_METRIC);
    vec![
        Call::new(
            "attribution",
            query.params_for(
                "attribution",
                &[],
                &[("by", by), ("model", model), ("metric", metric)],
            ),
        ),
        Call::new(
            "attribution",
            query.params_for(
                "attribution",
                &[],
                &[("by", by), ("metric", metric), ("compare", "true")],
            ),
        ),
    ]
}

/// (value, label) options of a parameter's fixed values.
pub(crate) fn options(param: Param) -> Vec<(String, String)> {
    param
        .values()
        .unwrap_or_default()
        .into_iter()
        .map(|v| (v.to_owned(), label(v)))
        .collect()
}

pub(crate) fn model_select(query: &PageQuery, per_journey_only: bool) -> Select {
    let mut options = options(Param::Model);
    if per_journey_only {
        options.retain(|(v, _)| v != "markov");
    }
    Select {
        name: "model",
        label: "Model",
        options,
        selected: query.get_or("model", DEFAULT_MODEL).to_owned(),
    }
}

pub(crate) fn metric_select(query: &PageQuery, options_of: Vec<(String, String)>) -> Select {
    Select {
        name: "metric",
        label: "Metric",
        options: options_of,
        selected: query.get_or("metric", DEFAULT_METRIC).to_owned(),
    }
}

fn render(query: &PageQuery, answers: &Answers) -> Vec<Block> {
    let by = by(query);
    let mut blocks = vec![Block::Controls(Controls {
        selects: vec![
            model_select(query, false),
            metric_select(query, options(Param::Metric)),
            Select {
                name: "by",
                label: "Grouped by",
                options: GROUPINGS
                    .iter()
                    .map(|g| ((*g).to_owned(), label(g)))
                    .collect(),
                selected: by.to_owned(),
            },
        ],
        texts: Vec::new(),
    })];
    match answers.report(0) {
        Ok(report) => blocks.push(Block::figure(credited(report, by).from(&answers.calls[0]))),
        Err(message) => blocks.push(missing("Attribution", message)),
    }
    match answers.report(1) {
        Ok(report) => blocks.push(Block::figure(compared(report, by).from(&answers.calls[1]))),
        Err(message) => blocks.push(missing("The nine models side by side", message)),
    }
    blocks
}

/// The metric's name in the report (its summary's), which is also its column's.
fn metric_of(report: &Report) -> String {
    report
        .summary
        .as_ref()
        .and_then(|s| s.get("metric"))
        .and_then(|m| m.as_str())
        .unwrap_or(DEFAULT_METRIC)
        .to_owned()
}

fn model_of(report: &Report) -> String {
    report
        .summary
        .as_ref()
        .and_then(|s| s.get("models"))
        .and_then(|m| m.get(0))
        .and_then(|m| m.as_str())
        .unwrap_or(DEFAULT_MODEL)
        .to_owned()
}

fn link_groups(table: &mut Table, by: &str) {
    if by == "campaign" {
        table.link("campaign", LinkTo::Campaign);
    }
}

/// One model's credit per group, largest first in the chart, with spend beside it, and how
/// many customers stand behind it: a group too small to rank by says so, and a predicted
/// figure carries its 90% interval.
fn credited(report: &Report, by: &str) -> Figure {
    let metric = metric_of(report);
    let model = model_of(report);
    let mut table = Table::of(
        report,
        &[
            by,
            &metric,
            "low_90",
            "high_90",
            "share",
            "spend",
            "cost_per",
            "roas",
            "customers",
            "small_sample",
        ],
    );
    link_groups(&mut table, by);
    let unit = report.units.get(&metric).copied().unwrap_or(Unit::Count);
    let mut bars: Vec<(String, Option<f64>)> = table
        .texts(by)
        .into_iter()
        .zip(table.numbers(&metric))
        .collect();
    bars.sort_by(|a, b| b.1.unwrap_or(0.0).total_cmp(&a.1.unwrap_or(0.0)));
    let chart = Chart::HBars(HBars {
        labels: bars.iter().map(|(l, _)| l.clone()).collect(),
        values: bars.iter().map(|(_, v)| *v).collect(),
        unit,
    });
    let note = if by == "campaign" {
        format!(
            "{} credited by {} to each campaign, largest first; a campaign opens the accounts it touched. A campaign with fewer than {SMALL_SAMPLE_CUSTOMERS} customers is marked as a small sample: too few to rank by.",
            label(&metric),
            label(&model)
        )
    } else {
        format!(
            "{} credited by {} to each {by}, largest first. Spend is matched for channel, source and campaign only. A group with fewer than {SMALL_SAMPLE_CUSTOMERS} customers is marked as a small sample: too few to rank by.",
            label(&metric),
            label(&model)
        )
    };
    Figure::new(
        "credit",
        format!("{} by {by} under {}", label(&metric), label(&model)),
        ATTRIBUTION,
        table,
    )
    .note(note)
    .chart(chart)
}

/// Every model's credit per group, as a table: the nine columns are read across a row (a
/// shaded grid drew one model's large groups over every other difference).
fn compared(report: &Report, by: &str) -> Figure {
    let metric = metric_of(report);
    let models: Vec<String> = report
        .columns
        .iter()
        .filter(|c| c.as_str() != by)
        .cloned()
        .collect();
    let mut keys: Vec<&str> = vec![by];
    keys.extend(models.iter().map(String::as_str));
    let mut table = Table::of(report, &keys);
    link_groups(&mut table, by);
    Figure::new(
        "compare",
        format!("{} by {by}: the nine models side by side", label(&metric)),
        ATTRIBUTION,
        table,
    )
    .note("One row per group, one column per model; where the models disagree, the credit depends on the assumption, not the data.")
    .open()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::pages::fixture;

    fn by_campaign(compare: bool) -> Report {
        let (columns, rows, units) = if compare {
            (
                json!(["campaign", "first_touch", "linear"]),
                json!([{"campaign": "spring", "first_touch": 2, "linear": 1.5}]),
                json!({"campaign": "text", "first_touch": "count", "linear": "count"}),
            )
        } else {
            (
                json!([
                    "campaign",
                    "conversions",
                    "share",
                    "spend",
                    "cost_per",
                    "roas"
                ]),
                json!([
                    {"campaign": "autumn", "conversions": 0.5, "share": 0.25, "spend": 100.0, "cost_per": 200.0, "roas": null},
                    {"campaign": "spring", "conversions": 1.5, "share": 0.75, "spend": 300.0, "cost_per": 200.0, "roas": null},
                ]),
                json!({"campaign": "text", "conversions": "count", "share": "fraction",
                       "spend": "money", "cost_per": "money", "roas": "multiple"}),
            )
        };
        fixture::report(
            "attribution",
            json!({"by": "campaign", "columns": columns, "rows": rows, "units": units,
                   "summary": {"metric": "conversions", "models": ["linear"]}}),
        )
    }

    #[test]
    fn campaigns_open_their_accounts_under_the_same_model_and_metric() {
        let query = PageQuery::new([("by", "campaign"), ("model", "first_touch")]);
        let (calls, html) =
            fixture::render(&PAGE, &query, vec![by_campaign(false), by_campaign(true)]);
        assert_eq!(
            calls[0].api_path(),
            "/api/v1/reports/attribution?by=campaign&model=first_touch&metric=conversions"
        );
        assert_eq!(
            calls[1].api_path(),
            "/api/v1/reports/attribution?by=campaign&metric=conversions&compare=true"
        );
        assert!(
            html.contains(r#"href="/attribution/campaign?campaign=spring&amp;model=first_touch""#)
        );
        // Both figures say which answer their rows are, and the second has one column per model.
        assert!(html.contains(
            r#"data-keys="campaign,conversions,low_90,high_90,share,spend,cost_per,roas,customers,small_sample""#
        ));
        assert!(html.contains(r#"data-keys="campaign,first_touch,linear""#));
        // The chart puts the largest first.
        let chart = html.find("<svg").unwrap();
        assert!(html[chart..].find("spring") < html[chart..].find("autumn"));
    }

    #[test]
    fn an_unknown_grouping_falls_back_to_channel() {
        let query = PageQuery::new([("by", "tier")]);
        let calls = (PAGE.calls)(&query, tenure_core::Timestamp::from_millis(0));
        assert!(calls[0].api_path().contains("by=channel"));
    }
}
