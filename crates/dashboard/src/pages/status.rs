//! Status: what the store holds for the workspace, what arrives, and what is left out.

use maud::html;
use serde_json::Value;
use tenure_reports::Unit;

use super::{missing, no_calls, Page};
use crate::docs::Link;
use crate::figure::{Column, Figure, Table};
use crate::{Answers, Block, Call, PageQuery, Tile};

pub const PAGE: Page = Page {
    name: "status",
    path: "/status",
    title: "Status",
    menu: "Status",
    in_menu: true,
    menu_parent: "",
    lede: "What the store holds for this workspace, what has arrived lately, and anything left out of the figures.",
    calls: no_calls,
    render,
    needs_status: true,
    needs_playbooks: false,
    needs_conversions: true,
};

const STATUS: Link = Link::new("operations", "Metrics");
const DATA: Link = Link::new("data-directory", "The data directory");
/// The conversions' own page of the docs: where each count of the table is defined.
const CONVERSIONS: Link = Link::new("conversions", "Status per rule and destination");
/// Where the rules are configured, for a workspace that has none.
const RULES: Link = Link::new(
    "configuration",
    "`[[conversions]]`: lifetime value back to the ad platforms",
);

fn render(_: &PageQuery, answers: &Answers) -> Vec<Block> {
    let Some(status) = &answers.status else {
        return vec![missing("Status", "the server could not read the store")];
    };
    let count = |key: &str| status.get(key).and_then(Value::as_u64).unwrap_or(0);
    let number = |n: u64| tenure_reports::integer(n as i64);
    let tile = |label: &str, key: &str| Tile {
        label: label.to_owned(),
        value: number(count(key)),
        change: None,
        how: DATA,
    };
    let mut blocks = vec![Block::Tiles(vec![
        tile("Log entries", "entries"),
        tile("Accounts", "accounts"),
        tile("People", "persons"),
        tile("Touchpoints", "touchpoints"),
        tile("Unreadable entries", "unreadable_entries"),
    ])];
    if let Some(ingest) = status.get("ingest") {
        let n = |key: &str| ingest.get(key).and_then(Value::as_u64).unwrap_or(0);
        blocks.push(Block::Text(html! {
            section.figure aria-labelledby="ingest-title" {
                header { h2 id="ingest-title" { "Arriving now" } p.how { a href=(STATUS.href()) { "How this is counted" } } }
                p { "Messages received by this server for this workspace: "
                    strong { (number(n("last_minute"))) } " in the last minute, "
                    strong { (number(n("last_hour"))) } " in the last hour, "
                    (number(n("since_start"))) " since it started." }
            }
        }));
    }
    let left_out = count("unreadable_entries") as usize
        + status
            .get("uninterpreted_events")
            .and_then(Value::as_array)
            .map_or(0, Vec::len)
        + status
            .get("amounts_without_rate")
            .and_then(Value::as_object)
            .map_or(0, |m| m.len());
    blocks.push(Block::Text(if left_out == 0 {
        html! { p.good role="status" { "Nothing is quarantined or left out: every entry of the log is in the figures." } }
    } else {
        html! { div.missing role="status" {
            strong { "Left out of the figures: " }
            (count("unreadable_entries")) " unreadable entries (" code { "tenure log unreadable" } " lists them), "
            (status.get("uninterpreted_events").and_then(Value::as_array).map_or(0, Vec::len)) " uninterpreted webhook events, and amounts in "
            (status.get("amounts_without_rate").and_then(Value::as_object).map_or(0, |m| m.len())) " currencies without a rate."
        } }
    }));
    let kinds: Vec<Vec<Value>> = status
        .get("entries_by_kind")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|row| {
            ["kind", "source", "entries"]
                .iter()
                .map(|k| row.get(*k).cloned().unwrap_or(Value::Null))
                .collect()
        })
        .collect();
    let currency = answers.reports.iter().flatten().next().map_or_else(
        || tenure_core::Currency::parse("USD").expect("USD"),
        |r| r.currency,
    );
    blocks.push(Block::figure(
        Figure::new(
            "entries",
            "Log entries by kind and source",
            DATA,
            Table {
                columns: vec![
                    Column::new("kind", Unit::Text),
                    Column::new("source", Unit::Text),
                    Column::new("entries", Unit::Count),
                ],
                rows: kinds,
                currency,
            },
        )
        .from_list(&Call::new("status", Vec::new()), "entries_by_kind")
        .open(),
    ));
    let channels: Vec<Vec<Value>> = status
        .get("touchpoints_by_channel")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(channel, n)| vec![Value::from(channel.as_str()), n.clone()])
        .collect();
    blocks.push(Block::figure(
        Figure::new(
            "touchpoints",
            "Touchpoints by channel",
            DATA,
            Table {
                columns: vec![
                    Column::new("channel", Unit::Text),
                    Column::new("touchpoints", Unit::Count),
                ],
                rows: channels,
                currency,
            },
        )
        .open(),
    ));
    match &answers.conversions {
        Some(Ok(view)) => blocks.push(conversions(view, currency)),
        Some(Err(message)) => blocks.push(missing("Conversions", message)),
        None => {}
    }
    blocks
}

/// The counts of each row, named as the API names them, in the order the table shows them.
const COUNTS: [&str; 7] = [
    "sent",
    "accepted",
    "duplicate",
    "unmatched",
    "rejected",
    "expired",
    "pending",
];

/// Where each rule's conversions stand at each destination (`GET /api/v1/conversions`): one
/// row per rule and destination, or, with no rule configured, where to configure one.
fn conversions(view: &Value, currency: tenure_core::Currency) -> Block {
    let rules = view.get("rules").and_then(Value::as_array);
    let rules = rules.map_or(&[][..], Vec::as_slice);
    if rules.is_empty() {
        return Block::Text(html! {
            section.figure #conversions aria-labelledby="conversions-title" {
                header { h2 #conversions-title { "Conversions sent to the ad platforms" } }
                p.none-configured {
                    "No conversion rule is configured, so nothing is sent to Meta, Google, LinkedIn or a webhook. "
                    a href=(RULES.href()) { code { "[[conversions]]" } " in the configuration" }
                    " says which milestones to send, with which value, and where."
                }
            }
        });
    }
    let field = |v: &Value, key: &str| v.get(key).cloned().unwrap_or(Value::Null);
    let mut rows = Vec::new();
    for rule in rules {
        let destinations = rule.get("destinations").and_then(Value::as_array);
        for d in destinations.into_iter().flatten() {
            let mut row = vec![
                field(rule, "rule"),
                field(rule, "milestone"),
                field(rule, "enabled"),
                field(d, "destination"),
                field(d, "kind"),
                field(d, "platform_name"),
            ];
            row.extend(COUNTS.iter().map(|k| field(d, k)));
            row.push(field(d, "latest"));
            row.push(most_frequent_reason(d));
            rows.push(row);
        }
    }
    let mut columns = vec![
        Column::new("rule", Unit::Text),
        Column::new("milestone", Unit::Text),
        Column::new("enabled", Unit::Flag),
        Column::new("destination", Unit::Text),
        Column::new("kind", Unit::Text).titled("Platform"),
        Column::new("platform_name", Unit::Text).titled("Sent as"),
    ];
    columns.extend(COUNTS.iter().map(|k| Column::new(k, Unit::Count)));
    columns.push(Column::new("latest", Unit::Time));
    columns.push(Column::new("reason", Unit::Text).titled("Most frequent reason"));
    Block::figure(
        Figure::new(
            "conversions",
            "Conversions sent to the ad platforms",
            CONVERSIONS,
            Table {
                columns,
                rows,
                currency,
            },
        )
        .note("Per rule and destination, every conversion and correction sent and what the platform made of it; rejections and expiries with the reason given most often.")
        .open(),
    )
}

/// The reason a destination gave most often for a rejection or an expiry, with how it ended
/// and how many times (`invalid email hash (rejected, 3)`); the API lists them most frequent
/// first.
fn most_frequent_reason(destination: &Value) -> Value {
    let Some(top) = destination
        .get("reasons")
        .and_then(Value::as_array)
        .and_then(|r| r.first())
    else {
        return Value::Null;
    };
    let field = |key: &str| top.get(key).and_then(Value::as_str).unwrap_or_default();
    let reason = match field("reason") {
        "" => "no reason given",
        reason => reason,
    };
    let count = top.get("count").and_then(Value::as_u64).unwrap_or(0);
    Value::from(format!("{reason} ({}, {count})", field("result")))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::Figure;

    fn status_with(conversions: Option<Result<Value, String>>) -> Vec<Block> {
        let answers = Answers {
            status: Some(
                json!({"entries": 3, "entries_by_kind": [], "touchpoints_by_channel": {}}),
            ),
            conversions,
            ..Answers::default()
        };
        (PAGE.render)(&PageQuery::default(), &answers)
    }

    fn rendered(blocks: &[Block]) -> String {
        let query = PageQuery::default();
        blocks
            .iter()
            .map(|b| b.render(PAGE.name, &query, &query).into_string())
            .collect()
    }

    fn figure<'a>(blocks: &'a [Block], id: &str) -> Option<&'a Figure> {
        blocks.iter().find_map(|b| match b {
            Block::Figure(f) if f.id == id => Some(&**f),
            _ => None,
        })
    }

    /// Two rules, the first sent to two platforms: every count a different number, so that
    /// each one found in the table is the one of its column.
    fn two_rules() -> Value {
        let destination = |name: &str, kind: &str, as_: &str, counts: [u64; 7], reasons: Value| {
            json!({
                "destination": name, "kind": kind, "platform_name": as_,
                "sent": counts[0], "accepted": counts[1], "duplicate": counts[2],
                "unmatched": counts[3], "rejected": counts[4], "expired": counts[5],
                "pending": counts[6], "latest": "2026-10-30T08:00:00.000Z", "reasons": reasons,
            })
        };
        json!({"rules": [
            {"rule": "paid", "milestone": "first_payment", "value": "initial_arr", "enabled": true,
             "destinations": [
                destination("meta", "meta", "Purchase", [1250, 1180, 31, 0, 17, 22, 0], json!([
                    {"result": "expired", "reason": "older than the 7 days Meta takes", "count": 22},
                    {"result": "rejected", "reason": "no match key", "count": 17},
                ])),
                destination("gads", "google", "987654", [1203, 1101, 4, 58, 0, 0, 40], json!([])),
             ]},
            {"rule": "renewal", "milestone": "renewed", "value": "fixed", "enabled": false,
             "destinations": [
                destination("li", "linkedin", "12345", [9, 6, 0, 0, 3, 0, 0], json!([
                    {"result": "rejected", "reason": "", "count": 3},
                ])),
             ]},
        ]})
    }

    #[test]
    fn each_rule_and_destination_is_a_row_with_its_counts_and_its_most_frequent_reason() {
        let blocks = status_with(Some(Ok(two_rules())));
        let figure = figure(&blocks, "conversions").expect("the conversions table");
        // Written out by hand from `two_rules`: the API's values, one row per destination,
        // the first reason listed (the API's most frequent) with how it ended and its count.
        assert_eq!(
            figure.table.csv(),
            "rule,milestone,enabled,destination,kind,platform_name,sent,accepted,duplicate,unmatched,rejected,expired,pending,latest,reason\r\n\
             paid,first_payment,true,meta,meta,Purchase,1250,1180,31,0,17,22,0,2026-10-30T08:00:00.000Z,\"older than the 7 days Meta takes (expired, 22)\"\r\n\
             paid,first_payment,true,gads,google,987654,1203,1101,4,58,0,0,40,2026-10-30T08:00:00.000Z,\r\n\
             renewal,renewed,false,li,linkedin,12345,9,6,0,0,3,0,0,2026-10-30T08:00:00.000Z,\"no reason given (rejected, 3)\"\r\n"
        );
        let html = rendered(&blocks);
        for expected in [
            r#"<td class="num">1,250</td>"#,
            r#"<td class="num">1,180</td>"#,
            r#"<td class="num">58</td>"#,
            r#"<td class="num">40</td>"#,
            "<td>older than the 7 days Meta takes (expired, 22)</td>",
            "<td>no reason given (rejected, 3)</td>",
            "<th scope=\"col\">Most frequent reason</th>",
            "<td>2026-10-30 08:00</td>",
            // Where the counts are defined: the conversions doc's section.
            r#"href="/docs/conversions#status-per-rule-and-destination""#,
        ] {
            assert!(html.contains(expected), "{expected} not in {html}");
        }
        assert!(!html.contains("No conversion rule is configured"));
    }

    #[test]
    fn with_no_rule_the_page_says_so_and_where_rules_are_configured() {
        let blocks = status_with(Some(Ok(json!({"rules": []}))));
        assert!(figure(&blocks, "conversions").is_none());
        let html = rendered(&blocks);
        assert!(html.contains("No conversion rule is configured"), "{html}");
        let anchor = "conversions-lifetime-value-back-to-the-ad-platforms";
        assert!(html.contains(&format!(r#"href="/docs/configuration#{anchor}""#)));
        // The link opens a heading the configuration's doc has.
        assert!(crate::docs::anchors("configuration").contains(&anchor.to_owned()));
    }

    #[test]
    fn a_conversions_answer_that_failed_is_said_in_its_place() {
        let blocks = status_with(Some(Err("the store is closed".to_owned())));
        let html = rendered(&blocks);
        assert!(html.contains("the store is closed"), "{html}");
        assert!(figure(&blocks, "conversions").is_none());
        // A page that does not ask shows nothing of them.
        assert!(!rendered(&status_with(None)).contains("Conversions sent"));
    }
}
