//! Signals: every signal holding on a customer now, since when and why, filtered by signal,
//! band, stage and more.

use serde_json::Value;
use tenure_core::Timestamp;
use tenure_reports::{Param, Report, Unit};

use super::{missing, Page};
use crate::chart::{Chart, HBars};
use crate::docs::Link;
use crate::figure::{Column, Figure, LinkTo, Table};
use crate::{Answers, Block, Call, Controls, PageQuery, Select, TextField};

pub const PAGE: Page = Page {
    name: "signals",
    path: "/signals",
    title: "Signals",
    menu: "Signals",
    in_menu: true,
    menu_parent: "",
    lede: "Every signal holding on a customer now: churn risk, expansion, advocacy and renewal, since when and why.",
    calls,
    render,
    needs_status: false,
    needs_playbooks: false,
    needs_conversions: false,
};

const SIGNALS: Link = Link::new("reports", "`signals`: signals holding now");
const MEANING: Link = Link::new("health", "Signals");

/// The filters of the list, as the report names them.
const FILTERS: [&str; 6] = ["signal", "band", "stage", "tier", "owner", "channel"];

/// The whole list for the counts, and the page of it the list shows (the same report, so the
/// second is answered from what the first computed only if the model kept it; both are the
/// API's answers for their parameters).
fn calls(query: &PageQuery, _: Timestamp) -> Vec<Call> {
    let mut paged: Vec<&str> = FILTERS.to_vec();
    paged.push("cursor");
    vec![
        Call::new("signals", query.params_for("signals", &FILTERS, &[])),
        Call::new(
            "signals",
            query.params_for("signals", &paged, &[("limit", super::PER_PAGE)]),
        ),
    ]
}

fn render(query: &PageQuery, answers: &Answers) -> Vec<Block> {
    let text = |name: &'static str, label: &'static str, placeholder: &'static str| TextField {
        name,
        label,
        value: query.get_or(name, "").to_owned(),
        placeholder,
    };
    let mut blocks = vec![Block::Controls(Controls {
        selects: vec![
            Select::any_of(
                "signal",
                "Signal",
                super::values_of(Param::Signal),
                query.get_or("signal", ""),
            ),
            Select::any_of(
                "band",
                "Health band",
                super::values_of(Param::Band),
                query.get_or("band", ""),
            ),
            Select::any_of(
                "stage",
                "Stage",
                answers.stages.clone(),
                query.get_or("stage", ""),
            ),
        ],
        texts: vec![
            text("tier", "Tier", "enterprise"),
            text("owner", "CSM owner", "a name"),
            text("channel", "Channel", "paid_search"),
        ],
    })];
    let report = match answers.report(0) {
        Ok(report) => report,
        Err(message) => {
            blocks.push(missing("Signals", message));
            return blocks;
        }
    };
    let counts = counts(report);
    let chart = Chart::HBars(HBars {
        labels: counts.texts("signal"),
        values: counts.numbers("accounts"),
        unit: Unit::Count,
    });
    blocks.push(Block::figure(
        Figure::new("counts", "Customers by signal", MEANING, counts)
            .note("How many customers each signal holds on now, among those the filters keep; most first.")
            .chart(chart),
    ));
    let page = match answers.report(1) {
        Ok(page) => page,
        Err(message) => {
            blocks.push(missing("Signals", message));
            return blocks;
        }
    };
    let mut table = Table::of(page, &[]);
    table.link("account", LinkTo::Account);
    if let Some(c) = table.column("started_at") {
        c.label = "Holding since".to_owned();
    }
    blocks.push(Block::figure(
        Figure::new("signals", "Signals holding now", SIGNALS, table)
            .note(shown(page))
            .from(&answers.calls[1])
            .open(),
    ));
    blocks.push(Block::Text(super::pager(
        query,
        page,
        PAGE.path,
        "Pages of signals",
    )));
    blocks
}

/// Which rows of how many the list shows.
fn shown(report: &Report) -> String {
    match &report.page {
        Some(page) if page.total_rows > 0 => format!(
            "Signals {} to {} of {}, earliest first within each customer.",
            page.offset + 1,
            page.offset + report.rows.len(),
            page.total_rows
        ),
        _ => "No signal holds on the customers these filters keep.".to_owned(),
    }
}

/// (signal, kind, accounts) for every signal holding on some account, most first, then by name.
fn counts(report: &Report) -> Table {
    let mut found: Vec<(String, String, u64)> = Vec::new();
    for row in &report.rows {
        let text = |key: &str| {
            row.get(key)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned()
        };
        let (signal, kind) = (text("signal"), text("kind"));
        match found.iter_mut().find(|(s, _, _)| *s == signal) {
            Some(entry) => entry.2 += 1,
            None => found.push((signal, kind, 1)),
        }
    }
    found.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| a.0.cmp(&b.0)));
    Table {
        columns: vec![
            Column::new("signal", Unit::Text),
            Column::new("kind", Unit::Text),
            Column::new("accounts", Unit::Count).titled("Customers"),
        ],
        rows: found
            .into_iter()
            .map(|(s, k, n)| vec![Value::from(s), Value::from(k), Value::from(n)])
            .collect(),
        currency: report.currency,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn signals_are_counted_most_first() {
        let report = super::super::summary::report_of(json!({
            "report": "signals", "as_of": "2026-11-30T23:59:59.999Z", "as_of_source": "given",
            "from": null, "to": null, "by": null, "currency": "USD",
            "columns": [], "units": {}, "warnings": [],
            "rows": [
                {"account": "a", "kind": "expansion", "signal": "seat_utilization"},
                {"account": "b", "kind": "churn_risk", "signal": "usage_drop"},
                {"account": "c", "kind": "churn_risk", "signal": "usage_drop"},
                {"account": "c", "kind": "advocacy", "signal": "promoter"}
            ]
        }));
        let table = counts(&report);
        assert_eq!(
            table.texts("signal"),
            ["usage_drop", "promoter", "seat_utilization"]
        );
        assert_eq!(table.numbers("accounts"), [Some(2.0), Some(1.0), Some(1.0)]);
        assert_eq!(table.texts("kind")[0], "churn_risk");
    }
}
