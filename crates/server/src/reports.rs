//! Reports: pure functions of the in-memory model, rendered the same for the CLI
//! (`tenure report NAME`) and the API (`GET /api/v1/reports/NAME`).
//!
//! A report is named rows of named values; `columns` gives their order for tables and CSV,
//! and the JSON is `{report, as_of, from, to, by, columns, rows}` from both interfaces.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::{Map, Value};
use tenure_core::Timestamp;
use tenure_engine::{Model, Touchpoint};

/// The reports that exist, in the order `tenure report --help` lists them.
pub const REPORTS: &[&str] = &["touchpoints"];

/// What every report takes. `as_of` is required here: the edge decides what "now" is.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportParams {
    pub as_of: Timestamp,
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
    pub by: Option<String>,
}

impl ReportParams {
    /// Parses the textual parameters the CLI flags and the API query share. A bare date means
    /// the start of that day for `from` and its end for `as_of` and `to`.
    pub fn parse(
        now: Timestamp,
        as_of: Option<&str>,
        from: Option<&str>,
        to: Option<&str>,
        by: Option<&str>,
    ) -> Result<Self, ReportError> {
        let bad = |name: &'static str, e: tenure_core::TimestampError| ReportError::Parameter {
            name,
            reason: e.to_string(),
        };
        Ok(Self {
            as_of: as_of
                .map(Timestamp::parse_end_of)
                .transpose()
                .map_err(|e| bad("as_of", e))?
                .unwrap_or(now),
            from: from
                .map(Timestamp::parse)
                .transpose()
                .map_err(|e| bad("from", e))?,
            to: to
                .map(Timestamp::parse_end_of)
                .transpose()
                .map_err(|e| bad("to", e))?,
            by: by.map(str::to_owned),
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub report: &'static str,
    pub as_of: Timestamp,
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
    pub by: Option<String>,
    pub columns: Vec<String>,
    pub rows: Vec<Map<String, Value>>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReportError {
    #[error("no report named {0:?} (reports: {list})", list = REPORTS.join(", "))]
    Unknown(String),
    #[error("--by {by:?} is not a grouping of the {report} report (expected one of {expected})")]
    Grouping {
        report: &'static str,
        by: String,
        expected: String,
    },
    #[error("{name}: {reason}")]
    Parameter { name: &'static str, reason: String },
    #[error("--from {from} is after --to {to}")]
    Window { from: Timestamp, to: Timestamp },
}

/// Runs report `name` over `model`.
pub fn run(name: &str, model: &Model, params: ReportParams) -> Result<Report, ReportError> {
    if let (Some(from), Some(to)) = (params.from, params.to) {
        if from > to {
            return Err(ReportError::Window { from, to });
        }
    }
    match name {
        "touchpoints" => touchpoints(model, params),
        other => Err(ReportError::Unknown(other.to_owned())),
    }
}

const TOUCHPOINT_GROUPINGS: &[&str] = &["channel", "source", "medium", "campaign", "content"];

/// Touchpoints per channel (or source, medium, campaign, content) within the window and up to
/// `as_of`: how many, from how many distinct people, and when first and last seen.
fn touchpoints(model: &Model, params: ReportParams) -> Result<Report, ReportError> {
    let by = params.by.clone().unwrap_or_else(|| "channel".to_owned());
    let key: fn(&Touchpoint) -> Option<&str> = match by.as_str() {
        "channel" => |t| Some(t.channel.as_str()),
        "source" => |t| t.source.as_deref(),
        "medium" => |t| t.medium.as_deref(),
        "campaign" => |t| t.campaign.as_deref(),
        "content" => |t| t.content.as_deref(),
        _ => {
            return Err(ReportError::Grouping {
                report: "touchpoints",
                by,
                expected: TOUCHPOINT_GROUPINGS.join(", "),
            })
        }
    };
    #[derive(Default)]
    struct Group {
        touchpoints: u64,
        people: BTreeSet<String>,
        first: Option<Timestamp>,
        last: Option<Timestamp>,
    }
    let mut groups: BTreeMap<String, Group> = BTreeMap::new();
    let within = |t: &Touchpoint| {
        t.occurred_at <= params.as_of
            && params.from.is_none_or(|from| t.occurred_at >= from)
            && params.to.is_none_or(|to| t.occurred_at <= to)
    };
    for t in model.touchpoints().iter().filter(|t| within(t)) {
        let group = groups
            .entry(key(t).unwrap_or("(none)").to_owned())
            .or_default();
        group.touchpoints += 1;
        let who = match (&t.person, &t.anonymous_id, &t.account) {
            (Some(p), _, _) => format!("person:{p}"),
            (None, Some(a), _) => format!("anonymous:{a}"),
            (None, None, Some(a)) => format!("account:{a}"),
            (None, None, None) => String::new(),
        };
        if !who.is_empty() {
            group.people.insert(who);
        }
        group.first = Some(group.first.map_or(t.occurred_at, |f| f.min(t.occurred_at)));
        group.last = Some(group.last.map_or(t.occurred_at, |l| l.max(t.occurred_at)));
    }
    let mut rows: Vec<(String, Group)> = groups.into_iter().collect();
    rows.sort_by(|a, b| b.1.touchpoints.cmp(&a.1.touchpoints).then(a.0.cmp(&b.0)));
    let columns = vec![
        by.clone(),
        "touchpoints".into(),
        "visitors".into(),
        "first_at".into(),
        "last_at".into(),
    ];
    let rows = rows
        .into_iter()
        .map(|(name, g)| {
            let mut row = Map::new();
            row.insert(by.clone(), Value::String(name));
            row.insert("touchpoints".into(), g.touchpoints.into());
            row.insert("visitors".into(), (g.people.len() as u64).into());
            row.insert("first_at".into(), g.first.map(|t| t.to_string()).into());
            row.insert("last_at".into(), g.last.map(|t| t.to_string()).into());
            row
        })
        .collect();
    Ok(Report {
        report: "touchpoints",
        as_of: params.as_of,
        from: params.from,
        to: params.to,
        by: Some(by),
        columns,
        rows,
    })
}

impl Report {
    fn cell(value: Option<&Value>) -> String {
        match value {
            None | Some(Value::Null) => String::new(),
            Some(Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
        }
    }

    /// An aligned text table, numbers right-aligned.
    pub fn to_table(&self) -> String {
        let cells: Vec<Vec<String>> = self
            .rows
            .iter()
            .map(|row| {
                self.columns
                    .iter()
                    .map(|c| Self::cell(row.get(c)))
                    .collect()
            })
            .collect();
        let widths: Vec<usize> = self
            .columns
            .iter()
            .enumerate()
            .map(|(i, c)| {
                cells
                    .iter()
                    .map(|r| r[i].len())
                    .chain([c.len()])
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let numeric: Vec<bool> = self
            .columns
            .iter()
            .map(|c| {
                self.rows
                    .iter()
                    .all(|r| matches!(r.get(c), Some(Value::Number(_))))
            })
            .collect();
        let line = |values: &[String]| {
            let parts: Vec<String> = values
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    if numeric[i] {
                        format!("{v:>w$}", w = widths[i])
                    } else {
                        format!("{v:<w$}", w = widths[i])
                    }
                })
                .collect();
            parts.join("  ").trim_end().to_owned() + "\n"
        };
        let mut out = line(&self.columns);
        for row in &cells {
            out += &line(row);
        }
        out
    }

    /// RFC 4180 CSV with a header row.
    pub fn to_csv(&self) -> String {
        let quote = |v: String| {
            if v.contains([',', '"', '\n', '\r']) {
                format!("\"{}\"", v.replace('"', "\"\""))
            } else {
                v
            }
        };
        let mut out = self.columns.join(",") + "\n";
        for row in &self.rows {
            let values: Vec<String> = self
                .columns
                .iter()
                .map(|c| quote(Self::cell(row.get(c))))
                .collect();
            out += &(values.join(",") + "\n");
        }
        out
    }
}
