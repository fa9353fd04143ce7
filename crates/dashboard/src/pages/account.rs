//! One account: its health explained component by component, its signals, stages and MRR over
//! time, its timeline from first touch to today, and its journey with each touch's credit.

use maud::html;
use serde_json::Value;
use tenure_core::{Currency, Timestamp};
use tenure_reports::{Report, Unit};

use super::attribution::{model_select, DEFAULT_MODEL};
use super::{missing, Page};
use crate::chart::{Chart, HBars};
use crate::docs::Link;
use crate::figure::{Column, Figure, LinkTo, Source, Table};
use crate::format::cell;
use crate::{Answers, Block, Call, Controls, PageQuery, Tile};

pub const PAGE: Page = Page {
    name: "account",
    path: "/accounts/{account}",
    title: "Account",
    menu: "Account",
    in_menu: false,
    menu_parent: "accounts",
    lede: "One customer: why its health is what it is, what holds on it now, and everything that happened to it.",
    calls,
    render,
    needs_status: false,
    needs_playbooks: true,
    needs_conversions: false,
};

const ACCOUNT: Link = Link::new("reports", "`account ACCOUNT`: one customer explained");
const JOURNEY: Link = Link::new("reports", "`journey ACCOUNT`: one account's path");
const HEALTH: Link = Link::new("health", "The health score");
const PLAYBOOKS: Link = Link::new("dashboard", "Playbooks on the account page");

fn calls(query: &PageQuery, _: Timestamp) -> Vec<Call> {
    let account = query.get_or("account", "");
    vec![
        Call::new(
            "account",
            query.params_for("account", &[], &[("account", account)]),
        ),
        Call::new(
            "journey",
            query.params_for(
                "journey",
                &[],
                &[
                    ("account", account),
                    ("model", query.get_or("model", DEFAULT_MODEL)),
                ],
            ),
        ),
    ]
}

fn render(query: &PageQuery, answers: &Answers) -> Vec<Block> {
    let mut blocks = vec![Block::Text(html! {
        p { a href=(query.href("/accounts", &[])) { "← Every account" } }
    })];
    match answers.report(0) {
        Ok(report) => {
            let call = &answers.calls[0];
            blocks.push(Block::Text(heading(report)));
            blocks.push(Block::Tiles(tiles(report)));
            blocks.push(Block::figure(
                health(report).from_list(call, "summary.health.components"),
            ));
            blocks.push(Block::figure(
                signals(report).from_list(call, "summary.signals"),
            ));
            blocks.push(Block::figure(
                mrr(report).from_list(call, "summary.mrr_history"),
            ));
            blocks.push(Block::figure(
                stages(report).from_list(call, "summary.stage_history"),
            ));
        }
        Err(message) => blocks.push(missing("Account", message)),
    }
    blocks.push(Block::Controls(Controls {
        selects: vec![model_select(query, true)],
        texts: Vec::new(),
    }));
    match answers.report(1) {
        Ok(report) => blocks.push(Block::figure(journey(report).from(&answers.calls[1]))),
        Err(message) => blocks.push(missing("Journey", message)),
    }
    match &answers.playbooks {
        Some(Ok(view)) => {
            let currency = answers.report(0).map_or_else(
                |_| tenure_core::Currency::parse("USD").expect("USD"),
                |r| r.currency,
            );
            let account = query.get_or("account", "");
            blocks.extend(playbooks(account, view, currency));
        }
        Some(Err(message)) => blocks.push(missing("Playbooks", message)),
        None => {}
    }
    // Last: the longest, read by scrolling through it.
    if let Ok(report) = answers.report(0) {
        blocks.push(Block::figure(timeline(report).from(&answers.calls[0])));
    }
    blocks
}

fn field<'a>(report: &'a Report, path: &[&str]) -> Option<&'a Value> {
    path.iter()
        .try_fold(report.summary.as_ref()?, |at, key| at.get(key))
}

fn text(report: &Report, path: &[&str]) -> String {
    field(report, path)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// The account's name and id, and its facts people ask first.
fn heading(report: &Report) -> maud::Markup {
    let id = text(report, &["account"]);
    let name = text(report, &["name"]);
    let fact = |key: &str| {
        let unit = report
            .summary_units
            .get(&format!("facts.{key}"))
            .copied()
            .unwrap_or(Unit::Text);
        cell(
            field(report, &["facts", key]).unwrap_or(&Value::Null),
            unit,
            report.currency,
        )
    };
    html! {
        section.figure aria-label="The account" {
            header { h2 { @if name.is_empty() { (id) } @else { (name) " · " (id) } } }
            dl.facts {
                dt { "Customer since" } dd { (fact("converted_at")) }
                dt { "Activated" } dd { @let a = fact("activated_at"); @if a.is_empty() { "not yet" } @else { (a) } }
                dt { "Plan" } dd { (fact("plan")) }
                dt { "Seats" } dd { (fact("seats")) }
                dt { "Contract ends" } dd { (fact("contract_end")) }
                dt { "Last product activity" } dd { (fact("last_activity")) }
                dt { "Open tickets" } dd { (fact("open_tickets")) }
            }
        }
    }
}

fn tiles(report: &Report) -> Vec<Tile> {
    let value = |path: &[&str], unit: Unit| {
        cell(
            field(report, path).unwrap_or(&Value::Null),
            unit,
            report.currency,
        )
    };
    let tile = |label: &str, value: String, how: Link| Tile {
        label: label.to_owned(),
        value: if value.is_empty() {
            "n/a".to_owned()
        } else {
            value
        },
        change: None,
        how,
    };
    let signals = field(report, &["signals"])
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    vec![
        tile("ARR", value(&["arr"], Unit::Money), ACCOUNT),
        tile("Health", value(&["health", "score"], Unit::Score), HEALTH),
        tile("Band", value(&["health", "band"], Unit::Text), HEALTH),
        tile("Stage", value(&["stage"], Unit::Text), ACCOUNT),
        tile("Signals", signals.to_string(), ACCOUNT),
    ]
}

/// `rows` (a list of the account playbooks' JSON) as a table of `columns` (key, unit).
fn records(view: &Value, rows: &str, columns: &[(&str, Unit)], currency: Currency) -> Table {
    Table {
        columns: columns.iter().map(|(k, u)| Column::new(k, *u)).collect(),
        rows: view
            .get(rows)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|r| {
                columns
                    .iter()
                    .map(|(k, _)| r.get(*k).cloned().unwrap_or(Value::Null))
                    .collect()
            })
            .collect(),
        currency,
    }
}

/// What the playbooks did for the account: its owner and SLA, its open tasks, and its firings
/// with each delivery's status, from `GET /api/v1/accounts/ID/playbooks`.
fn playbooks(account: &str, view: &Value, currency: Currency) -> Vec<Block> {
    let api = format!(
        "/api/v1/accounts/{}/playbooks",
        crate::query::path_segment(account)
    );
    let source = |rows: &'static str| Source {
        api: api.clone(),
        rows,
    };
    let time = |v: Option<&Value>| cell(v.unwrap_or(&Value::Null), Unit::Time, currency);
    let owner = view.get("owner").filter(|o| !o.is_null());
    let text = |o: &Value, key: &str| {
        o.get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let owner_block = html! {
        section.figure #owner aria-labelledby="owner-title" {
            header { h2 #owner-title { "Owner and SLA" } p.how { a href=(PLAYBOOKS.href()) { "How this is shown" } } }
            @match owner {
                None => p { "Not handed off: no playbook has given the account to a team." }
                Some(o) => dl.facts {
                    dt { "Team" } dd.team { (text(o, "team")) }
                    dt { "Owner" } dd.owner { @let w = text(o, "owner"); @if w.is_empty() { "the team's queue" } @else { (w) } }
                    dt { "Since" } dd { (time(o.get("since"))) }
                    dt { "SLA due" } dd.sla-due { @let d = time(o.get("sla_due")); @if d.is_empty() { "no SLA" } @else { (d) } }
                    dt { "SLA" } dd.sla { (text(o, "sla").replace('_', " ")) }
                }
            }
        }
    };
    let tasks = records(
        view,
        "open_tasks",
        &[
            ("title", Unit::Text),
            ("owner", Unit::Text),
            ("due_at", Unit::Time),
            ("status", Unit::Text),
            ("playbook", Unit::Text),
        ],
        currency,
    );
    let mut tasks = Figure::new("tasks", "Open tasks", PLAYBOOKS, tasks).open();
    tasks.source = Some(source("open_tasks"));
    let mut activity = records(
        view,
        "activity",
        &[
            ("fired_at", Unit::Time),
            ("playbook", Unit::Text),
            ("kind", Unit::Text),
            ("destination", Unit::Text),
            ("status", Unit::Text),
            ("attempts", Unit::Count),
            ("last_code", Unit::Number),
            ("last_attempt_at", Unit::Time),
            ("delivered_at", Unit::Time),
        ],
        currency,
    );
    if let Some(column) = activity.column("playbook") {
        column.shown = conversions_shown(view, currency);
    }
    let mut firings = Figure::new("playbooks", "Playbooks: firings and deliveries", PLAYBOOKS, activity)
        .note("Its latest firings, newest first, one row per delivery: the action, where it went, where it stands, how many attempts, the last response code and when. A conversion sent to an ad platform is a firing too, with what it sent: the conversion, a restatement of its value or its retraction.")
        .open();
    firings.source = Some(source("activity"));
    vec![
        Block::Text(owner_block),
        Block::figure(firings),
        Block::figure(tasks),
    ]
}

/// By row of the account's activity, how a conversion's firing reads (`conversion:paid` as
/// `conversion paid — restatement to $900.00 (was $1,200.00)`): the rule, then what the
/// firing's cause says it sent. Other playbooks' rows keep their name.
fn conversions_shown(view: &Value, currency: Currency) -> Vec<Option<String>> {
    let list = |key: &str| {
        view.get(key)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
    };
    let cause_of = |key: &str| {
        list("firings")
            .find(|f| f.get("key").and_then(Value::as_str) == Some(key))
            .and_then(|f| f.get("cause"))
    };
    list("activity")
        .map(|row| {
            let text = |k: &str| row.get(k).and_then(Value::as_str).unwrap_or_default();
            conversion_text(text("playbook"), cause_of(text("firing_key")), currency)
        })
        .collect()
}

/// A conversion's firing in words, or none for another playbook's.
fn conversion_text(playbook: &str, cause: Option<&Value>, currency: Currency) -> Option<String> {
    let rule = playbook.strip_prefix("conversion:")?;
    let cause = cause.unwrap_or(&Value::Null);
    // The cause says the currency the value was sent in; the report's is the fallback.
    let currency = cause
        .get("currency")
        .and_then(Value::as_str)
        .and_then(|c| Currency::parse(c).ok())
        .unwrap_or(currency);
    let money = |key: &str| {
        cause
            .get(key)
            .filter(|v| v.is_number())
            .map(|v| cell(v, Unit::Money, currency))
    };
    let what = match (cause.get("kind").and_then(Value::as_str), money("value")) {
        (Some("retraction"), _) => "retraction".to_owned(),
        (Some("restatement"), Some(value)) => match money("previous_value") {
            Some(was) => format!("restatement to {value} (was {was})"),
            None => format!("restatement to {value}"),
        },
        (Some(kind), Some(value)) => format!("{kind} of {value}"),
        (Some(kind), None) => kind.to_owned(),
        (None, _) => return Some(format!("conversion {rule}")),
    };
    Some(format!("conversion {rule} — {what}"))
}

fn health(report: &Report) -> Figure {
    let table = Table::of_list(
        report,
        "health.components",
        &["name", "metric", "input", "score", "weight"],
    );
    let chart = Chart::HBars(HBars {
        labels: table.texts("name"),
        values: table.numbers("score"),
        unit: Unit::Score,
    });
    let note = if table.rows.is_empty() {
        "Not scored yet: a customer is scored after its first days."
    } else {
        "Each component's score (0–100) from its input; the health score is their mean weighted by each one's weight."
    };
    Figure::new("health", "Health, component by component", HEALTH, table)
        .note(note)
        .chart(chart)
        .open()
}

fn signals(report: &Report) -> Figure {
    let table = Table::of_list(
        report,
        "signals",
        &["signal", "kind", "started_at", "reason"],
    );
    Figure::new("signals", "Signals holding now", ACCOUNT, table).open()
}

fn mrr(report: &Report) -> Figure {
    let table = Table::of_list(report, "mrr_history", &["month", "mrr"]);
    let chart = super::bars_of(&table, "month", "mrr", "MRR", Unit::Money);
    Figure::new("mrr", "MRR at each month's end", ACCOUNT, table).chart(chart)
}

fn stages(report: &Report) -> Figure {
    let table = Table::of_list(report, "stage_history", &["at", "from", "to"]);
    Figure::new("stages", "Stage history", ACCOUNT, table).open()
}

fn timeline(report: &Report) -> Figure {
    Figure::new(
        "timeline",
        "Timeline from first touch to today",
        ACCOUNT,
        Table::of(report, &[]),
    )
    .note("Touchpoints, revenue, milestones, stage changes, tickets, NPS answers, account-team touches and signals, oldest first.")
    .open()
}

fn journey(report: &Report) -> Figure {
    let model = text(report, &["model"]);
    let mut table = Table::of(report, &[]);
    table.link("campaign", LinkTo::Campaign);
    // The touches of the converting journey, in time order, each with its credit.
    let credited: Vec<(String, Option<f64>)> = table
        .texts("occurred_at")
        .into_iter()
        .zip(table.texts("channel"))
        .zip(table.numbers("credit"))
        .filter(|(_, credit)| credit.is_some())
        .map(|((at, channel), credit)| {
            (format!("{} {channel}", at.get(..10).unwrap_or(&at)), credit)
        })
        .collect();
    let note = match field(report, &["converted_at"]).and_then(Value::as_str) {
        Some(at) => format!(
            "Converted {}; the bars are the touches of its converting journey and the share of the conversion {model} gives each.",
            at.get(..10).unwrap_or(at)
        ),
        None => "Not converted: no touch is credited.".to_owned(),
    };
    let mut figure = Figure::new(
        "journey",
        format!("Journey, credited by {model}"),
        JOURNEY,
        table,
    )
    .note(note);
    if !credited.is_empty() {
        figure = figure.chart(Chart::HBars(HBars {
            labels: credited.iter().map(|(l, _)| l.clone()).collect(),
            values: credited.iter().map(|(_, v)| *v).collect(),
            unit: Unit::Fraction,
        }));
    }
    figure.open()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::pages::fixture;

    #[test]
    fn an_account_shows_its_health_mrr_and_journey_from_its_two_reports() {
        let account = fixture::report(
            "account",
            json!({
                "columns": ["at", "kind", "detail"],
                "units": {"at": "time"},
                "rows": [{"at": "2026-01-02T00:00:00.000Z", "kind": "touchpoint", "detail": "paid_search"}],
                "summary": {
                    "account": "acct_1", "name": "Acme", "arr": 1200.0, "stage": "adopting",
                    "health": {"score": 72.5, "band": "green", "components": [
                        {"name": "usage", "metric": "active_users_30d", "input": 4.0, "score": 80.0, "weight": 0.5},
                        {"name": "tickets", "metric": "tickets_30d", "input": 1.0, "score": 65.0, "weight": 0.5}]},
                    "signals": [{"kind": "expansion", "signal": "seat_growth", "started_at": "2026-10-01T00:00:00.000Z", "reason": "seats up"}],
                    "stage_history": [{"at": "2026-02-01T00:00:00.000Z", "from": null, "to": "onboarding"}],
                    "mrr_history": [{"month": "2026-09", "mrr": 100.0}, {"month": "2026-10", "mrr": 150.0}],
                    "facts": {"converted_at": "2026-01-05T00:00:00.000Z"},
                },
                "summary_units": {"health.components.score": "score", "health.components.weight": "fraction",
                                  "health.components.input": "number", "mrr_history.mrr": "money",
                                  "mrr_history.month": "month", "facts.converted_at": "time"},
            }),
        );
        let journey = fixture::report(
            "journey",
            json!({
                "columns": ["occurred_at", "channel", "source", "medium", "campaign", "origin", "in_journey", "credit"],
                "units": {"occurred_at": "time", "credit": "fraction", "in_journey": "flag"},
                "rows": [
                    {"occurred_at": "2026-01-02T00:00:00.000Z", "channel": "paid_search", "source": "google",
                     "medium": "cpc", "campaign": "spring", "origin": "session", "in_journey": true, "credit": 1.0},
                    {"occurred_at": "2026-03-02T00:00:00.000Z", "channel": "direct", "source": null,
                     "medium": null, "campaign": null, "origin": "session", "in_journey": false, "credit": null}],
                "summary": {"account": "acct_1", "model": "first_touch", "converted_at": "2026-01-05T00:00:00.000Z"},
            }),
        );
        let query = PageQuery::new([("account", "acct_1"), ("model", "first_touch")]);
        let (calls, html) = fixture::render(&PAGE, &query, vec![account, journey]);
        assert_eq!(
            calls[0].api_path(),
            "/api/v1/reports/account?account=acct_1"
        );
        assert_eq!(
            calls[1].api_path(),
            "/api/v1/reports/journey?account=acct_1&model=first_touch"
        );
        for expected in [
            r#"data-rows="summary.health.components""#,
            r#"data-rows="summary.mrr_history""#,
            r#"<section class="figure" id="journey""#,
            "Customer since",
            "2026-01-05",
            "$150.00",
            "seats up",
            r#"href="/attribution/campaign?campaign=spring&amp;model=first_touch""#,
        ] {
            assert!(html.contains(expected), "{expected}");
        }
        // markov credits no single journey: not offered for the journey.
        assert!(!html.contains(r#"value="markov""#));
    }

    fn with_playbooks(view: serde_json::Value) -> String {
        let query = PageQuery::new([("account", "acct/1")]);
        let answers = Answers {
            calls: (PAGE.calls)(&query, Timestamp::from_millis(0)),
            playbooks: Some(Ok(view)),
            ..Answers::default()
        };
        (PAGE.render)(&query, &answers)
            .iter()
            .map(|b| b.render(PAGE.name, &query, &query).into_string())
            .collect()
    }

    #[test]
    fn the_playbooks_block_shows_the_owner_sla_and_each_delivery() {
        let html = with_playbooks(json!({
            "account": "acct/1",
            "owner": {"team": "cs", "owner": null, "since": "2026-03-01T10:00:00.000Z",
                      "sla_due": "2026-03-01T11:00:00.000Z", "sla_met_at": null, "sla": "met_late",
                      "playbook": "handoff"},
            "open_tasks": [{"title": "Call", "owner": "ana", "due_at": null, "status": "open", "playbook": "p"}],
            "firings": [],
            "activity": [
                {"fired_at": "2026-03-01T10:00:00.000Z", "playbook": "p", "firing_key": "k", "step": 0,
                 "kind": "webhook", "destination": "crm", "status": "dead", "attempts": 3,
                 "last_code": 503, "last_attempt_at": "2026-03-01T10:06:00.000Z", "delivered_at": null},
            ],
        }));
        for expected in [
            // The account id is one path segment of the API's address.
            r#"data-source="/api/v1/accounts/acct%2F1/playbooks""#,
            r#"data-keys="fired_at,playbook,kind,destination,status,attempts,last_code,last_attempt_at,delivered_at""#,
            "s queue",
            "met late",
            "503",
            "crm",
            "Call",
        ] {
            assert!(html.contains(expected), "{expected} not in {html}");
        }
        let none = with_playbooks(
            json!({"account": "acct/1", "owner": null, "open_tasks": [], "firings": [], "activity": []}),
        );
        assert!(none.contains("Not handed off"));
    }

    #[test]
    fn a_conversion_reads_as_its_rule_with_what_it_sent_and_its_csv_keeps_the_apis_value() {
        let delivery = |key: &str, playbook: &str, destination: &str| {
            json!({"fired_at": "2026-03-01T10:00:00.000Z", "playbook": playbook, "firing_key": key,
                   "step": 0, "kind": destination, "destination": destination, "status": "delivered",
                   "attempts": 1, "last_code": 200, "last_attempt_at": null, "delivered_at": null})
        };
        let firing = |key: &str, playbook: &str, cause: serde_json::Value| {
            json!({"key": key, "playbook": playbook, "version": "1", "account": "acct/1",
                   "period": "p", "fired_at": "2026-03-01T10:00:00.000Z", "cause": cause,
                   "deliveries": []})
        };
        let view = json!({
            "account": "acct/1", "owner": null, "open_tasks": [],
            "firings": [
                firing("c/retract", "conversion:paid", json!({"kind": "retraction", "value": null,
                    "previous_value": 900.0, "currency": "EUR", "event_id": "e1"})),
                firing("c/restate", "conversion:paid", json!({"kind": "restatement", "value": 900.0,
                    "previous_value": 1200.0, "currency": "EUR", "event_id": "e1"})),
                firing("c", "conversion:paid", json!({"kind": "conversion", "value": 1200.0,
                    "currency": "EUR", "event_id": "e1"})),
                firing("w", "welcome", json!({"kind": "conversion", "value": 5.0})),
            ],
            "activity": [
                delivery("c/retract", "conversion:paid", "gads"),
                delivery("c/restate", "conversion:paid", "gads"),
                delivery("c", "conversion:paid", "meta"),
                delivery("c", "conversion:paid", "gads"),
                delivery("w", "welcome", "crm"),
            ],
        });
        let query = PageQuery::new([("account", "acct/1")]);
        let answers = Answers {
            calls: (PAGE.calls)(&query, Timestamp::from_millis(0)),
            playbooks: Some(Ok(view)),
            ..Answers::default()
        };
        let blocks = (PAGE.render)(&query, &answers);
        let Some(firings) = blocks.iter().find_map(|b| match b {
            Block::Figure(f) if f.id == "playbooks" => Some(f),
            _ => None,
        }) else {
            panic!("no firings table");
        };
        let html = firings.render(PAGE.name, &query, &query).into_string();
        // Each row in the order of the API's activity: the cause of its own firing.
        let cells: Vec<&str> = html
            .split("<td>")
            .skip(1)
            .filter_map(|td| td.split_once("</td>").map(|(text, _)| text))
            .filter(|text| text.starts_with("conversion ") || *text == "welcome")
            .collect();
        assert_eq!(
            cells,
            [
                "conversion paid — retraction",
                "conversion paid — restatement to €900.00 (was €1,200.00)",
                "conversion paid — conversion of €1,200.00",
                "conversion paid — conversion of €1,200.00",
                // Another playbook's firing keeps its name, whatever its cause holds.
                "welcome",
            ]
        );
        // One table for every firing, and its CSV is the API's `activity`, value for value.
        assert_eq!(
            blocks
                .iter()
                .filter(|b| matches!(b, Block::Figure(f) if f.id == "playbooks"))
                .count(),
            1
        );
        let csv = firings.table.csv();
        let playbooks: Vec<&str> = csv
            .lines()
            .skip(1)
            .map(|l| l.split(',').nth(1).unwrap_or_default())
            .collect();
        assert_eq!(
            playbooks,
            [
                "conversion:paid",
                "conversion:paid",
                "conversion:paid",
                "conversion:paid",
                "welcome"
            ]
        );
    }
}
