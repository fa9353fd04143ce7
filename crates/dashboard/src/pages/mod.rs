//! Every page of the dashboard: what it reads and how it shows it. A page is one file here and
//! one entry of [`PAGES`]; the server routes, the menu and the CSV downloads are made from it.

mod account;
mod accounts;
mod attribution;
mod campaign;
mod churn;
mod cohorts;
mod experiment;
mod funnel;
mod health_backtest;
mod overview;
mod renewals;
mod signals;
mod status;
mod summary;
mod survival;

use tenure_core::Timestamp;

use crate::{Answers, Block, Call, PageQuery};

/// One page's declaration.
#[derive(Debug)]
pub struct Page {
    /// Its name: the CSV address (`/csv/NAME`) and the menu's current mark.
    pub name: &'static str,
    /// Its address; `{account}` stands for the `account` parameter.
    pub path: &'static str,
    pub title: &'static str,
    /// Its entry in the menu, when it has one.
    pub menu: &'static str,
    pub in_menu: bool,
    /// The menu entry marked current on a page that has none of its own.
    pub menu_parent: &'static str,
    /// One line under the title: what the page answers.
    pub lede: &'static str,
    /// The reports it reads, given the query and the instant the figures are as of (the
    /// query's `as_of`, or the end of the data).
    pub calls: fn(&PageQuery, Timestamp) -> Vec<Call>,
    /// Its content, from the answers to its calls.
    pub render: fn(&PageQuery, &Answers) -> Vec<Block>,
    /// Whether it shows what the store holds (`GET /api/v1/status`).
    pub needs_status: bool,
    /// Whether it shows what the playbooks did for its account
    /// (`GET /api/v1/accounts/{account}/playbooks`).
    pub needs_playbooks: bool,
    /// Whether it shows where the conversions sent to the ad platforms stand
    /// (`GET /api/v1/conversions`).
    pub needs_conversions: bool,
}

impl Page {
    /// The address of this page for `query` (an account page's holds the account).
    pub fn path_of(&self, query: &PageQuery) -> String {
        match self.path.split_once("{account}") {
            Some((head, tail)) => format!(
                "{head}{}{tail}",
                crate::query::path_segment(query.get_or("account", ""))
            ),
            None => self.path.to_owned(),
        }
    }
}

/// Every page, in menu order.
pub static PAGES: &[Page] = &[
    overview::PAGE,
    attribution::PAGE,
    campaign::PAGE,
    cohorts::PAGE,
    survival::PAGE,
    funnel::PAGE,
    experiment::PAGE,
    accounts::PAGE,
    account::PAGE,
    renewals::PAGE,
    signals::PAGE,
    churn::PAGE,
    health_backtest::PAGE,
    status::PAGE,
];

/// The page named `name`.
pub fn page(name: &str) -> Option<&'static Page> {
    PAGES.iter().find(|p| p.name == name)
}

fn no_calls(_: &PageQuery, _: Timestamp) -> Vec<Call> {
    Vec::new()
}

/// The month before `at`'s, at the same instant of its month: the previous period a tile
/// compares with. The last day of a month goes to the last day of the month before (30
/// November to 31 October, not 30 October); another day past the month before's end is
/// clamped to it (31 March to 28 or 29 February).
pub(crate) fn month_before(at: Timestamp) -> Timestamp {
    use chrono::{Datelike, Days, Months};
    let dt = at.to_datetime();
    let last_of_month = dt
        .checked_add_days(Days::new(1))
        .is_none_or(|next| next.month() != dt.month());
    let before = if last_of_month {
        // The day before this month's first is the last of the month before.
        dt.checked_sub_days(Days::new(u64::from(dt.day())))
    } else {
        dt.checked_sub_months(Months::new(1))
    };
    before.map_or(at, Timestamp::from_datetime)
}

/// The values a parameter takes when they are a fixed list (bands, signals), for a filter.
pub(crate) fn values_of(param: tenure_reports::Param) -> Vec<String> {
    param
        .values()
        .unwrap_or_default()
        .into_iter()
        .map(str::to_owned)
        .collect()
}

/// One bar per row of `table`: `categories` along, `values` up, in `unit` (MRR by month).
pub(crate) fn bars_of(
    table: &crate::Table,
    categories: &str,
    values: &str,
    name: &str,
    unit: tenure_reports::Unit,
) -> crate::Chart {
    crate::Chart::Bars(crate::chart::Bars {
        categories: table.texts(categories),
        stacks: vec![crate::chart::Stack {
            name: name.to_owned(),
            values: table
                .numbers(values)
                .into_iter()
                .map(|v| v.unwrap_or(0.0))
                .collect(),
            colour: crate::chart::PALETTE[0],
        }],
        line: None,
        unit,
    })
}

/// Rows a list page shows at once; the next are a link away (`Next page`).
pub(crate) const PER_PAGE: &str = "50";

/// Links to the first page of a list and to the next, each keeping the filters.
pub(crate) fn pager(
    query: &PageQuery,
    report: &tenure_reports::Report,
    path: &str,
    label: &str,
) -> maud::Markup {
    let next = report.page.as_ref().and_then(|p| p.next_cursor.as_deref());
    maud::html! {
        nav.pager aria-label=(label) {
            @if query.get("cursor").is_some() {
                a href=(query.with(path, "cursor", "")) { "First page" }
                " "
            }
            @if let Some(cursor) = next {
                a href=(query.with(path, "cursor", cursor)) rel="next" { "Next page →" }
            }
        }
    }
}

/// A report's answer or, in its place, what it said.
pub(crate) fn missing(what: &str, message: &str) -> Block {
    Block::Missing {
        what: what.to_owned(),
        message: message.to_owned(),
    }
}

#[cfg(test)]
mod month_tests {
    use super::*;

    #[test]
    fn the_month_before_ends_where_that_month_ends() {
        let at = |s: &str| Timestamp::parse(s).unwrap();
        let before = |s: &str| month_before(at(s)).to_string();
        assert_eq!(
            before("2026-11-30T23:59:59.999Z"),
            "2026-10-31T23:59:59.999Z"
        );
        assert_eq!(
            before("2026-03-31T23:59:59.999Z"),
            "2026-02-28T23:59:59.999Z"
        );
        assert_eq!(
            before("2024-03-31T12:00:00.000Z"),
            "2024-02-29T12:00:00.000Z"
        );
        assert_eq!(
            before("2026-11-15T08:00:00.000Z"),
            "2026-10-15T08:00:00.000Z"
        );
        assert_eq!(
            before("2026-01-10T00:00:00.000Z"),
            "2025-12-10T00:00:00.000Z"
        );
    }
}

#[cfg(test)]
pub(crate) mod fixture {
    //! Pages rendered from small hand-written answers, for the pages' tests.

    use serde_json::{json, Value};
    use tenure_reports::Report;

    use crate::{Answers, Call, Page, PageQuery};

    /// A report from the JSON the API would send; `fields` over a minimal one.
    pub fn report(name: &str, fields: Value) -> Report {
        let mut base = json!({
            "report": name,
            "as_of": "2026-10-31T23:59:59.999Z",
            "as_of_source": "given",
            "from": null,
            "to": null,
            "by": null,
            "currency": "USD",
            "columns": [],
            "units": {},
            "rows": [],
            "warnings": [],
        });
        for (k, v) in fields.as_object().expect("an object") {
            base[k] = v.clone();
        }
        // A report borrows its name for 'static, as the CLI's does: leaked, in a test.
        let text: &'static str = Box::leak(base.to_string().into_boxed_str());
        serde_json::from_str(text).expect("a report")
    }

    /// `page` for `query`, given `reports` as the answers to its calls: its calls and its
    /// blocks rendered to HTML.
    pub fn render(page: &Page, query: &PageQuery, reports: Vec<Report>) -> (Vec<Call>, String) {
        let at = tenure_core::Timestamp::parse("2026-10-31T23:59:59.999Z").unwrap();
        let calls = (page.calls)(query, at);
        let answers = Answers {
            calls: calls.clone(),
            reports: reports.into_iter().map(Ok).collect(),
            status: None,
            playbooks: None,
            conversions: None,
            csrf: "token".to_owned(),
            proposal: None,
            stages: vec!["onboarding".to_owned(), "at_risk".to_owned()],
        };
        let html = (page.render)(query, &answers)
            .iter()
            .map(|b| b.render(page.name, query, query).into_string())
            .collect();
        (calls, html)
    }
}
