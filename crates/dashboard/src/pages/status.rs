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
};

const STATUS: Link = Link::new("operations", "Metrics");
const DATA: Link = Link::new("data-directory", "The data directory");

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
    blocks
}
