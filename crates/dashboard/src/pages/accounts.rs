//! Accounts: every customer with its ARR, stage, health and signals, filtered, sorted,
//! searched and paged through.

use std::collections::BTreeSet;

use serde_json::Value;
use tenure_core::Timestamp;
use tenure_reports::{Param, Report, Unit};

use super::{missing, pager, Page};
use crate::docs::Link;
use crate::figure::{Figure, LinkTo, Table};
use crate::format::cell;
use crate::{Answers, Block, Call, Controls, PageQuery, Select, TextField, Tile};

pub const PAGE: Page = Page {
    name: "accounts",
    path: "/accounts",
    title: "Accounts",
    menu: "Accounts",
    in_menu: true,
    menu_parent: "",
    lede: "Every paying customer with its ARR, lifecycle stage, health and signals.",
    calls,
    render,
    needs_status: false,
    needs_playbooks: false,
    needs_conversions: false,
};

const ACCOUNTS: Link = Link::new("reports", "`accounts`: every customer");

/// The filters, in the form's order: (parameter, label).
const FILTERS: [(&str, &str); 6] = [
    ("stage", "Stage"),
    ("band", "Health band"),
    ("signal", "Signal"),
    ("tier", "Tier"),
    ("owner", "CSM owner"),
    ("channel", "First channel"),
];

fn calls(query: &PageQuery, _: Timestamp) -> Vec<Call> {
    let mut names: Vec<&str> = FILTERS.iter().map(|(n, _)| *n).collect();
    names.extend(["sort", "search", "cursor"]);
    vec![
        Call::new(
            "accounts",
            query.params_for("accounts", &names, &[("limit", super::PER_PAGE)]),
        ),
        // Every customer, for the filters' choices: the tiers, owners and channels there are.
        Call::new("accounts", query.params_for("accounts", &[], &[])),
    ]
}

fn render(query: &PageQuery, answers: &Answers) -> Vec<Block> {
    let all = answers.report(1).ok();
    let mut blocks = vec![Block::Controls(controls(query, &answers.stages, all))];
    match answers.report(0) {
        Ok(report) => {
            blocks.push(Block::Tiles(tiles(report)));
            blocks.push(Block::figure(list(report).from(&answers.calls[0])));
            blocks.push(Block::Text(pager(
                query,
                report,
                PAGE.path,
                "Pages of customers",
            )));
        }
        Err(message) => blocks.push(missing("Accounts", message)),
    }
    blocks
}

/// The values of `key` among `report`'s rows, sorted, without blanks.
fn values_in(report: Option<&Report>, key: &str) -> Vec<String> {
    let set: BTreeSet<String> = report
        .into_iter()
        .flat_map(|r| &r.rows)
        .filter_map(|row| row.get(key).and_then(Value::as_str))
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
        .collect();
    set.into_iter().collect()
}

fn controls(query: &PageQuery, stages: &[String], all: Option<&Report>) -> Controls {
    let choices = |name: &str| -> Vec<String> {
        match name {
            "stage" => stages.to_vec(),
            "band" => super::values_of(Param::Band),
            "signal" => super::values_of(Param::Signal),
            "tier" => values_in(all, "tier"),
            "owner" => values_in(all, "csm_owner"),
            _ => values_in(all, "channel"),
        }
    };
    let mut selects: Vec<Select> = FILTERS
        .iter()
        .map(|(name, text)| Select::any_of(name, text, choices(name), query.get_or(name, "")))
        .collect();
    selects.push(Select {
        name: "sort",
        label: "Sort by",
        options: vec![
            ("arr".into(), "ARR, largest first".into()),
            ("health".into(), "Health, lowest first".into()),
            ("risk".into(), "Risk signals, most first".into()),
        ],
        selected: query.get_or("sort", "arr").to_owned(),
    });
    Controls {
        selects,
        texts: vec![TextField {
            name: "search",
            label: "Name or domain",
            value: query.get_or("search", "").to_owned(),
            placeholder: "acme",
        }],
    }
}

fn tiles(report: &Report) -> Vec<Tile> {
    let summary = report.summary.as_ref();
    let count = |path: &[&str]| {
        let value = summary
            .and_then(|s| path.iter().try_fold(s, |at, key| at.get(key)))
            .cloned()
            .unwrap_or(Value::Null);
        cell(&value, Unit::Count, report.currency)
    };
    let tile = |label: &str, path: &[&str]| Tile {
        label: label.to_owned(),
        value: count(path),
        change: None,
        how: ACCOUNTS,
    };
    vec![
        tile("Accounts", &["accounts"]),
        tile("Green", &["by_band", "green"]),
        tile("Yellow", &["by_band", "yellow"]),
        tile("Red", &["by_band", "red"]),
        tile("Not scored yet", &["by_band", "unscored"]),
    ]
}

fn list(report: &Report) -> Figure {
    let mut table = Table::of(report, &[]);
    table.link("account", LinkTo::Account);
    let note = match &report.page {
        Some(page) if page.total_rows > 0 => format!(
            "Customers {} to {} of {}.",
            page.offset + 1,
            page.offset + report.rows.len(),
            page.total_rows
        ),
        _ => "No customer matches these filters.".to_owned(),
    };
    Figure::new("accounts", "Customers", ACCOUNTS, table)
        .note(note)
        .open()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::pages::fixture;

    fn accounts(rows: serde_json::Value, page: serde_json::Value) -> Report {
        fixture::report(
            "accounts",
            json!({
                "columns": ["account", "name", "tier", "csm_owner", "channel", "arr", "stage",
                            "health", "band", "risk", "signals"],
                "units": {"arr": "money", "health": "score", "risk": "count"},
                "rows": rows,
                "page": page,
                "summary": {"accounts": 120, "health_config_version": "h1",
                            "by_band": {"green": 70, "yellow": 30, "red": 15, "unscored": 5},
                            "by_stage": {"onboarding": 10, "at_risk": 5}},
            }),
        )
    }

    fn row(id: &str, tier: &str, owner: &str) -> serde_json::Value {
        json!({"account": id, "name": "Acme", "tier": tier, "csm_owner": owner,
               "channel": "paid_search", "arr": 1200.0, "stage": "onboarding", "health": 61.5,
               "band": "yellow", "risk": 1, "signals": "usage_drop"})
    }

    #[test]
    fn a_page_of_customers_links_each_to_its_page_and_to_the_next_page() {
        let query = PageQuery::new([("search", "acme"), ("tier", "smb"), ("as_of", "2026-10-31")]);
        let page = accounts(
            json!([row("acct_1", "smb", "li")]),
            json!({"limit": 50, "offset": 0, "total_rows": 120, "next_cursor": "p1.50.x"}),
        );
        let all = accounts(
            json!([
                row("acct_1", "smb", "li"),
                row("acct_2", "enterprise", "maria")
            ]),
            json!(null),
        );
        let (calls, html) = fixture::render(&PAGE, &query, vec![page, all]);
        assert_eq!(
            calls[0].api_path(),
            "/api/v1/reports/accounts?as_of=2026-10-31&tier=smb&search=acme&limit=50"
        );
        assert_eq!(
            calls[1].api_path(),
            "/api/v1/reports/accounts?as_of=2026-10-31"
        );
        assert!(html.contains(r#"href="/accounts/acct_1?as_of=2026-10-31""#));
        assert!(html.contains(
            r#"href="/accounts?search=acme&amp;tier=smb&amp;as_of=2026-10-31&amp;cursor=p1.50.x""#
        ));
        assert!(html.contains("Customers 1 to 1 of 120."));
        // The filters offer what the customers have: both tiers and both owners, and the
        // configured stages.
        for option in [
            r#"<option value="enterprise">"#,
            r#"<option value="maria">"#,
            r#"<option value="at_risk">"#,
            r#"<option value="smb" selected>"#,
        ] {
            assert!(html.contains(option), "{option}");
        }
        assert!(!html.contains("First page"));
    }

    #[test]
    fn the_last_page_has_no_next_link() {
        let query = PageQuery::new([("cursor", "p1.50.x")]);
        let page = accounts(
            json!([row("acct_9", "smb", "li")]),
            json!({"limit": 50, "offset": 50, "total_rows": 51}),
        );
        let (_, html) = fixture::render(&PAGE, &query, vec![page.clone(), page]);
        assert!(!html.contains("Next page"));
        assert!(html.contains(r#"<a href="/accounts">First page</a>"#));
        assert!(html.contains("Customers 51 to 51 of 51."));
    }
}
