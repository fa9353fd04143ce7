//! The dashboard: the pages a growth team, a CS team and a founder read, rendered as HTML from
//! the very reports the API answers.
//!
//! A page ([`pages::PAGES`]) declares the reports it needs ([`Call`]s, each one report with its
//! query parameters) and renders their answers ([`Answers`]) into [`Block`]s: tiles, selectors,
//! and [`Figure`]s. A figure is one table of figures with, optionally, the chart drawn from
//! that same table, so the chart, its table and its CSV download can never disagree. The
//! server (`tenure-server`'s `dashboard` module) runs the calls against the live model, signs
//! people in and serves the HTML, the CSV and the embedded [`assets`].
//!
//! Invariant: no I/O and no clock. Everything a page shows comes from its [`Answers`]; the
//! same answers give the same bytes, which is what the tests compare with the API's JSON.

pub mod assets;
pub mod chart;
pub mod docs;
mod figure;
mod format;
mod layout;
pub mod pages;
mod query;

pub use chart::Chart;
pub use figure::{Column, Figure, LinkTo, Source, Table};
pub use format::cell;
pub use layout::{doc_page, render, signin_page, Chrome};
pub use pages::{page, Page, PAGES};
pub use query::{PageQuery, KEPT};

use maud::Markup;
use serde_json::Value;
use tenure_reports::Report;

/// One report a page reads, with the query parameters the API would take for it.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    pub report: &'static str,
    pub params: Vec<(String, String)>,
}

impl Call {
    pub fn new(report: &'static str, params: Vec<(String, String)>) -> Self {
        Self { report, params }
    }

    /// The API's address of the same answer (`/api/v1/reports/NAME?…`; the call `status` is
    /// `/api/v1/status`).
    pub fn api_path(&self) -> String {
        if self.report == "status" {
            return "/api/v1/status".to_owned();
        }
        let query = query::encode(&self.params);
        if query.is_empty() {
            format!("/api/v1/reports/{}", self.report)
        } else {
            format!("/api/v1/reports/{}?{query}", self.report)
        }
    }
}

/// What the server found for a page's calls, in the order of the calls; a report that could
/// not answer carries its error message, which the page shows in place of its figures.
#[derive(Debug, Default)]
pub struct Answers {
    /// The calls, in the order the page made them.
    pub calls: Vec<Call>,
    pub reports: Vec<Result<Report, String>>,
    /// `GET /api/v1/status`'s JSON, for the pages that show it.
    pub status: Option<Value>,
    /// `GET /api/v1/accounts/{account}/playbooks`'s JSON, for the account page, or why the
    /// server could not read it.
    pub playbooks: Option<Result<Value, String>>,
    /// `GET /api/v1/conversions`'s JSON, for the status page, or why the server could not
    /// read it.
    pub conversions: Option<Result<Value, String>>,
    /// The session's token against cross-site forms, for a page whose own form changes what
    /// it shows (the health back-test's proposal is a POST).
    pub csrf: String,
    /// What a person posted to the page's form (the health back-test's proposed
    /// configuration), shown again with what became of it.
    pub proposal: Option<Proposal>,
    /// The lifecycle stages as configured (`[[stages]]`), in order: the stage filters' values.
    pub stages: Vec<String>,
}

/// A proposed configuration as posted: its text, and why it was not used when it was not.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Proposal {
    pub text: String,
    pub error: Option<String>,
}

impl Answers {
    /// The answer to call `index`.
    pub fn report(&self, index: usize) -> Result<&Report, &str> {
        match self.reports.get(index) {
            Some(Ok(report)) => Ok(report),
            Some(Err(message)) => Err(message),
            None => Err("the server gave no answer for this report"),
        }
    }
}

/// A page's content, top to bottom.
#[derive(Debug)]
pub enum Block {
    /// Headline figures with their change against the previous period.
    Tiles(Vec<Tile>),
    /// Selectors that reload the page with other parameters.
    Controls(Controls),
    /// A table, with its chart when it has one.
    Figure(Box<Figure>),
    /// A paragraph or anything else already rendered.
    Text(Markup),
    /// A report that could not answer: what it said.
    Missing { what: String, message: String },
}

impl Block {
    pub fn figure(figure: Figure) -> Self {
        Block::Figure(Box::new(figure))
    }
}

/// A headline figure.
#[derive(Debug, Clone)]
pub struct Tile {
    pub label: String,
    pub value: String,
    /// The change against the previous period, already worded (`+4.1% vs 2026-10`).
    pub change: Option<Change>,
    pub how: docs::Link,
}

#[derive(Debug, Clone)]
pub struct Change {
    pub text: String,
    /// Whether the change is good news (green), bad news (red), or neither.
    pub tone: Tone,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    Good,
    Bad,
    Neutral,
}

/// A form of selectors: a GET of the same page with the chosen values.
#[derive(Debug, Clone)]
pub struct Controls {
    pub selects: Vec<Select>,
    /// Free-text fields (search).
    pub texts: Vec<TextField>,
}

#[derive(Debug, Clone)]
pub struct Select {
    pub name: &'static str,
    pub label: &'static str,
    /// (value, label); an empty value means "any".
    pub options: Vec<(String, String)>,
    pub selected: String,
}

impl Select {
    /// A filter: "Any" (no value), then each of `values`, labelled as words; a value
    /// `selected` that is not among them (given in the address) stays choosable.
    pub fn any_of(
        name: &'static str,
        label: &'static str,
        values: impl IntoIterator<Item = String>,
        selected: &str,
    ) -> Self {
        let mut values: Vec<String> = values.into_iter().collect();
        if !selected.is_empty() && !values.iter().any(|v| v == selected) {
            values.push(selected.to_owned());
        }
        let options = std::iter::once((String::new(), "Any".to_owned()))
            .chain(values.into_iter().map(|v| {
                let words = format::label(&v);
                (v, words)
            }))
            .collect();
        Self {
            name,
            label,
            options,
            selected: selected.to_owned(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct TextField {
    pub name: &'static str,
    pub label: &'static str,
    pub value: String,
    pub placeholder: &'static str,
}
