//! A figure: one table of figures, the chart drawn from it, the CSV of exactly it, and a line
//! saying how it is computed.

use maud::{html, Markup};
use serde_json::Value;
use tenure_core::Currency;
use tenure_reports::{Report, Unit};

use crate::chart::Chart;
use crate::docs::Link;
use crate::format::{cell, label};
use crate::PageQuery;

#[derive(Debug, Clone)]
pub struct Figure {
    /// Unique on its page: names the CSV download (`/csv/PAGE?figure=ID`).
    pub id: &'static str,
    pub title: String,
    /// Where the docs define what the figure shows.
    pub how: Link,
    /// One line under the title: what is drawn, in words.
    pub note: Option<String>,
    pub chart: Option<Chart>,
    pub table: Table,
    /// Whether the table is shown open (a list people read) or folded under the chart.
    pub table_open: bool,
    /// The API answer the table's rows are, for whoever checks the page against the API.
    pub source: Option<Source>,
    /// Whether `/csv/PAGE?figure=ID` gives this table: not when it holds what a form posted.
    pub csv: bool,
}

/// Where a figure's rows come from in the API: the answer at `api` (a path of this server), and
/// in it the list `rows` (`rows`, or a list of the summary such as `summary.calibration`).
#[derive(Debug, Clone, PartialEq)]
pub struct Source {
    pub api: String,
    pub rows: &'static str,
}

/// Rows of figures under named columns, each of a unit: what a chart draws and a CSV holds.
#[derive(Debug, Clone)]
pub struct Table {
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<Value>>,
    pub currency: Currency,
}

#[derive(Debug, Clone)]
pub struct Column {
    /// The report's field name: the CSV's header and the API's JSON key.
    pub key: String,
    pub label: String,
    pub unit: Unit,
    /// Makes each cell a link: given the cell's text, the address it opens.
    pub link: Option<LinkTo>,
    /// By row, the words a cell shows in place of its value when the value alone reads
    /// poorly (a conversion's firing, `conversion:paid`, with what it sent); the CSV keeps the
    /// value, as the API gives it.
    pub shown: Vec<Option<String>>,
}

/// Where a cell's value leads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkTo {
    /// The account page of the account id in the cell.
    Account,
    /// The attribution explorer's accounts of the campaign in the cell.
    Campaign,
}

impl Column {
    pub fn new(key: &str, unit: Unit) -> Self {
        Self {
            key: key.to_owned(),
            label: label(key),
            unit,
            link: None,
            shown: Vec::new(),
        }
    }

    pub fn titled(mut self, title: &str) -> Self {
        title.clone_into(&mut self.label);
        self
    }
}

impl Table {
    /// `columns` of `report`'s rows (all of them when empty), each with the report's unit.
    pub fn of(report: &Report, columns: &[&str]) -> Self {
        let keys: Vec<&str> = if columns.is_empty() {
            report.columns.iter().map(String::as_str).collect()
        } else {
            columns.to_vec()
        };
        let columns: Vec<Column> = keys
            .iter()
            .map(|key| Column::new(key, report.units.get(*key).copied().unwrap_or(Unit::Text)))
            .collect();
        let rows = report
            .rows
            .iter()
            .map(|row| {
                keys.iter()
                    .map(|k| row.get(*k).cloned().unwrap_or(Value::Null))
                    .collect()
            })
            .collect();
        Self {
            columns,
            rows,
            currency: report.currency,
        }
    }

    /// `columns` of the records of the summary's list at dotted path `list` (`signals`,
    /// `health.components`), each with the unit the report declares for `list.column`; no
    /// rows when the list is absent (an account not scored yet has no components).
    pub fn of_list(report: &Report, list: &str, columns: &[&str]) -> Self {
        let columns_of: Vec<Column> = columns
            .iter()
            .map(|key| {
                let unit = report
                    .summary_units
                    .get(&format!("{list}.{key}"))
                    .copied()
                    .unwrap_or(Unit::Text);
                Column::new(key, unit)
            })
            .collect();
        let records = list
            .split('.')
            .try_fold(report.summary.as_ref(), |at, key| Some(at?.get(key)))
            .flatten()
            .and_then(Value::as_array);
        let rows = records
            .into_iter()
            .flatten()
            .map(|record| {
                columns
                    .iter()
                    .map(|k| record.get(*k).cloned().unwrap_or(Value::Null))
                    .collect()
            })
            .collect();
        Self {
            columns: columns_of,
            rows,
            currency: report.currency,
        }
    }

    /// Makes each cell of column `key` (if the table has it) a link to what its value names.
    pub fn link(&mut self, key: &str, to: LinkTo) {
        if let Some(column) = self.column(key) {
            column.link = Some(to);
        }
    }

    /// The column named `key`, to give it a link or a title.
    pub fn column(&mut self, key: &str) -> Option<&mut Column> {
        self.columns.iter_mut().find(|c| c.key == key)
    }

    /// The values of column `key`, in row order.
    pub fn values(&self, key: &str) -> Vec<&Value> {
        let Some(i) = self.columns.iter().position(|c| c.key == key) else {
            return Vec::new();
        };
        self.rows.iter().map(|r| &r[i]).collect()
    }

    /// The numbers of column `key` (null as `None`).
    pub fn numbers(&self, key: &str) -> Vec<Option<f64>> {
        self.values(key).into_iter().map(Value::as_f64).collect()
    }

    /// The texts of column `key`.
    pub fn texts(&self, key: &str) -> Vec<String> {
        self.values(key)
            .into_iter()
            .map(|v| match v {
                Value::String(s) => s.clone(),
                Value::Null => String::new(),
                other => other.to_string(),
            })
            .collect()
    }

    /// The CSV of the table: a header of the report's field names (money ones with their
    /// currency, `arr_usd`), then each row's figures as the API's JSON gives them.
    pub fn csv(&self) -> String {
        let currency = self.currency.as_str().to_ascii_lowercase();
        let header: Vec<String> = self
            .columns
            .iter()
            .map(|c| match c.unit {
                Unit::Money => format!("{}_{currency}", c.key),
                _ => c.key.clone(),
            })
            .collect();
        let mut out = csv_line(header.iter().map(String::as_str));
        for row in &self.rows {
            let cells: Vec<String> = row.iter().map(csv_value).collect();
            out += &csv_line(cells.iter().map(String::as_str));
        }
        out
    }

    pub fn render(&self, query: &PageQuery) -> Markup {
        html! {
            div.scroll {
                table {
                    thead { tr {
                        @for c in &self.columns {
                            th scope="col" class=[c.unit.is_numeric().then_some("num")] { (c.label) }
                        }
                    } }
                    tbody {
                        @for (i, row) in self.rows.iter().enumerate() {
                            tr {
                                @for (c, value) in self.columns.iter().zip(row) {
                                    @let text = c.shown.get(i).cloned().flatten()
                                        .unwrap_or_else(|| cell(value, c.unit, self.currency));
                                    td class=[c.unit.is_numeric().then_some("num")] {
                                        @match (c.link, value.as_str()) {
                                            (Some(to), Some(id)) if !id.is_empty() => {
                                                a href=(to.href(query, id)) { (text) }
                                            }
                                            _ => (text),
                                        }
                                    }
                                }
                            }
                        }
                        @if self.rows.is_empty() {
                            tr { td colspan=(self.columns.len().max(1)) class="empty" { "No rows for these parameters." } }
                        }
                    }
                }
            }
        }
    }
}

impl LinkTo {
    pub fn href(self, query: &PageQuery, value: &str) -> String {
        match self {
            LinkTo::Account => query.href(
                &format!("/accounts/{}", crate::query::path_segment(value)),
                &[],
            ),
            // markov and nrr do not split by account: the drill-down takes its defaults.
            LinkTo::Campaign => query.href(
                "/attribution/campaign",
                &[
                    ("campaign", value),
                    (
                        "model",
                        query.get("model").filter(|m| *m != "markov").unwrap_or(""),
                    ),
                    (
                        "metric",
                        query.get("metric").filter(|m| *m != "nrr").unwrap_or(""),
                    ),
                ],
            ),
        }
    }
}

fn csv_value(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Array(items) => items.iter().map(csv_value).collect::<Vec<_>>().join(";"),
        other => other.to_string(),
    }
}

fn csv_line<'a>(cells: impl Iterator<Item = &'a str>) -> String {
    let quoted: Vec<String> = cells
        .map(|c| {
            if c.contains([',', '"', '\n', '\r']) {
                format!("\"{}\"", c.replace('"', "\"\""))
            } else {
                c.to_owned()
            }
        })
        .collect();
    quoted.join(",") + "\r\n"
}

impl Figure {
    pub fn new(id: &'static str, title: impl Into<String>, how: Link, table: Table) -> Self {
        Self {
            id,
            title: title.into(),
            how,
            note: None,
            chart: None,
            table,
            table_open: false,
            source: None,
            csv: true,
        }
    }

    /// Says the rows are those of `call`'s report.
    pub fn from(self, call: &crate::Call) -> Self {
        self.from_list(call, "rows")
    }

    /// Says the rows are the list `rows` of `call`'s answer (`summary.calibration`).
    pub fn from_list(mut self, call: &crate::Call, rows: &'static str) -> Self {
        self.source = Some(Source {
            api: call.api_path(),
            rows,
        });
        self
    }

    pub fn chart(mut self, chart: Chart) -> Self {
        self.chart = Some(chart);
        self
    }

    pub fn note(mut self, note: impl Into<String>) -> Self {
        self.note = Some(note.into());
        self
    }

    /// Offers no CSV: the figures are of a form's posting, which a download would not see.
    pub fn without_csv(mut self) -> Self {
        self.csv = false;
        self.table_open = true;
        self
    }

    pub fn open(mut self) -> Self {
        self.table_open = true;
        self
    }

    /// The figure as a section of its page: `query` makes its links, `downloads` its CSV's.
    pub fn render(&self, page: &str, query: &PageQuery, downloads: &PageQuery) -> Markup {
        let csv = downloads.with(&format!("/csv/{page}"), "figure", self.id);
        html! {
            section.figure id=(self.id) aria-labelledby=(format!("{}-title", self.id))
                data-source=[self.source.as_ref().map(|s| &s.api)]
                data-rows=[self.source.as_ref().map(|s| s.rows)]
                data-keys=(self.table.columns.iter().map(|c| c.key.as_str()).collect::<Vec<_>>().join(",")) {
                header {
                    h2 id=(format!("{}-title", self.id)) { (self.title) }
                    p.how {
                        a href=(self.how.href()) { "How this is computed" }
                        @if self.csv {
                            " · "
                            a href=(csv) download=(format!("{page}-{}.csv", self.id)) { "Download CSV" }
                        }
                    }
                }
                @if let Some(note) = &self.note { p.note { (note) } }
                @if let Some(chart) = &self.chart {
                    (chart.render(&self.title, self.table.currency))
                }
                @if self.chart.is_some() && !self.table_open {
                    details {
                        summary { "Table of the figures drawn" }
                        (self.table.render(query))
                    }
                } @else {
                    (self.table.render(query))
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_campaign_leads_to_its_accounts_under_a_model_that_splits_by_account() {
        let query = PageQuery::new([
            ("as_of", "2026-10-31"),
            ("model", "linear"),
            ("metric", "initial_arr"),
        ]);
        assert_eq!(
            LinkTo::Campaign.href(&query, "spring launch"),
            "/attribution/campaign?as_of=2026-10-31&campaign=spring+launch&model=linear&metric=initial_arr"
        );
        // markov credits journeys together and nrr is a ratio: the drill-down's defaults.
        let query = PageQuery::new([("model", "markov"), ("metric", "nrr")]);
        assert_eq!(
            LinkTo::Campaign.href(&query, "brand"),
            "/attribution/campaign?campaign=brand"
        );
    }

    #[test]
    fn the_csv_holds_the_figures_as_the_api_gives_them() {
        let table = Table {
            columns: vec![
                Column::new("campaign", Unit::Text),
                Column::new("spend", Unit::Money),
                Column::new("share", Unit::Fraction),
            ],
            rows: vec![
                vec![
                    json!("spring, \"launch\""),
                    json!(20357.97),
                    json!(0.004695),
                ],
                vec![json!("direct"), Value::Null, json!(1)],
            ],
            currency: Currency::parse("USD").unwrap(),
        };
        assert_eq!(
            table.csv(),
            "campaign,spend_usd,share\r\n\"spring, \"\"launch\"\"\",20357.97,0.004695\r\ndirect,,1\r\n"
        );
    }
}
