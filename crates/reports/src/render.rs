//! A report for people (a table) and for spreadsheets (CSV); JSON is the report serialized.
//!
//! Tables format every field by its [`Unit`]: money with the currency's symbol, thousands
//! separators and its minor digits, fractions as percentages, instants as dates (and minutes
//! when the time of day says something), and lay columns out by display width (comfy-table),
//! so accented and CJK names align. A summary becomes aligned `field  value` lines, and each
//! list of records in it a small table of its own. CSV keeps JSON's values (major units,
//! fractions, RFC 3339) and appends the summary after a blank line as `field,value` rows, each
//! list of records as a table whose header names its fields `list.field`.

use comfy_table::{CellAlignment, Table, TableStyle};
use serde_json::{Map, Value};
use tenure_core::{Currency, Timestamp};

use crate::{Report, Unit};

/// Columns a table leaves out because another column or the summary gives them, to keep the
/// table within a terminal's width; CSV and JSON keep them. The table says which it left out.
const TABLE_OMITS: &[(&str, &str)] = &[
    // 12 × mrr, beside it.
    ("mrr", "arr"),
    // The key features (summary) less `key_features_used`.
    ("adoption", "key_features_unused"),
];

/// A header longer than this goes over two lines.
const HEADER_LINE: usize = 10;

/// `amount` (major units) as a person reads it: `$1,234.50`, `-€12.00`, `CHF 3.10`, `¥1,200`,
/// with as many decimals as the currency has minor digits.
pub fn money(amount: f64, currency: Currency) -> String {
    let digits = currency.exponent() as usize;
    let text = format!("{:.digits$}", amount.abs());
    let (whole, fraction) = text.split_once('.').unwrap_or((&text, ""));
    let sign = if amount < 0.0 && text.bytes().any(|b| (b'1'..=b'9').contains(&b)) {
        "-"
    } else {
        ""
    };
    let symbol = match currency.as_str() {
        "USD" => "$".to_owned(),
        "EUR" => "€".to_owned(),
        "GBP" => "£".to_owned(),
        "JPY" => "¥".to_owned(),
        other => format!("{other} "),
    };
    let point = if fraction.is_empty() { "" } else { "." };
    format!("{sign}{symbol}{}{point}{fraction}", thousands(whole))
}

/// `minor` units (cents) of `currency` as [`money`] shows them.
pub fn money_minor(minor: i64, currency: Currency) -> String {
    money(
        minor as f64 / 10f64.powi(currency.exponent() as i32),
        currency,
    )
}

/// A whole number with thousands separators: 15188 → `15,188`.
pub fn integer(n: i64) -> String {
    thousands(&n.to_string())
}

/// A fraction as a percentage with one decimal: 0.211271 → `21.1%`.
pub fn percent(fraction: f64) -> String {
    format!("{:.1}%", no_negative_zero(round_to(fraction * 100.0, 1)))
}

/// `value` of `unit` as a table shows it; empty for null.
pub fn format(value: &Value, unit: Unit, currency: Currency) -> String {
    let number = value.as_f64();
    match (unit, value, number) {
        (_, Value::Null, _) => String::new(),
        (Unit::Money, _, Some(v)) => money(v, currency),
        (Unit::Fraction, _, Some(v)) => percent(v),
        (Unit::Multiple, _, Some(v)) => decimal(v, 2),
        (Unit::Count, _, Some(v)) if v.fract() == 0.0 => thousands(&decimal(v, 0)),
        (Unit::Count, _, Some(v)) => decimal(v, 2),
        (Unit::Days | Unit::Months | Unit::Score, _, Some(v)) => decimal(v, 1),
        (Unit::Number, _, Some(v)) if v != 0.0 && v.abs() < 1e-4 => format!("{v:.1e}"),
        (Unit::Number, _, Some(v)) => {
            let text = decimal(v, 4);
            text.trim_end_matches('0').trim_end_matches('.').to_owned()
        }
        (Unit::Time, Value::String(s), _) => time(s),
        (_, Value::Bool(b), _) => if *b { "yes" } else { "no" }.to_owned(),
        (_, other, _) => plain(other, ", "),
    }
}

/// An instant in a table: its date, and its minutes unless it is the first or last
/// millisecond of the day (a date given as a bound, or a day's evaluation).
fn time(text: &str) -> String {
    let Ok(t) = Timestamp::parse(text) else {
        return text.to_owned();
    };
    let dt = t.to_datetime();
    let day_ms = t.millis().rem_euclid(86_400_000);
    if day_ms == 0 || day_ms == 86_399_999 {
        dt.format("%Y-%m-%d").to_string()
    } else {
        dt.format("%Y-%m-%d %H:%M").to_string()
    }
}

/// A value as text without unit formatting: strings bare, lists joined by `separator`.
fn plain(value: &Value, separator: &str) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        // JSON's own text of the number, but never -0.0.
        Value::Number(n) if n.as_f64().is_some_and(|v| v == 0.0 && v.is_sign_negative()) => {
            "0.0".to_owned()
        }
        Value::Number(n) => n.to_string(),
        Value::Array(items) => items
            .iter()
            .map(|i| plain(i, separator))
            .collect::<Vec<_>>()
            .join(separator),
        other => other.to_string(),
    }
}

fn round_to(v: f64, digits: i32) -> f64 {
    let scale = 10f64.powi(digits);
    (v * scale).round() / scale
}

/// `-0.0` (a sum of nothing, a negated zero) is zero to a reader.
fn no_negative_zero(v: f64) -> f64 {
    v + 0.0
}

fn decimal(v: f64, digits: usize) -> String {
    format!("{:.digits$}", no_negative_zero(round_to(v, digits as i32)))
}

/// Thousands separators in the whole part of a decimal text: `-1234567.5` → `-1,234,567.5`.
fn thousands(text: &str) -> String {
    let (sign, rest) = text.strip_prefix('-').map_or(("", text), |r| ("-", r));
    let (whole, tail) = rest.find('.').map_or((rest, ""), |i| rest.split_at(i));
    let mut out = String::new();
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    format!("{sign}{out}{tail}")
}

/// A column's header in a table: words, over two lines when long.
fn header(name: &str) -> String {
    let words = name.replace(['_', '.'], " ");
    if words.chars().count() <= HEADER_LINE {
        return words;
    }
    let middle = words.len() / 2;
    let split = words
        .match_indices(' ')
        .map(|(i, _)| i)
        .min_by_key(|i| i.abs_diff(middle));
    match split {
        Some(i) => format!("{}\n{}", &words[..i], &words[i + 1..]),
        None => words,
    }
}

/// Lines of cells, columns two spaces apart and sized by display width, numbers right-aligned,
/// a rule under the header when there is one: the layout of every table tenure prints. Values
/// never wrap (comfy-table's default arrangement): a row stays one line, as in a log.
pub fn grid(headers: Option<Vec<String>>, rows: Vec<Vec<String>>, right: &[bool]) -> String {
    grid_spaced(headers, rows, right, 2)
}

/// [`grid`] with columns `gap` spaces apart.
fn grid_spaced(
    headers: Option<Vec<String>>,
    rows: Vec<Vec<String>>,
    right: &[bool],
    gap: u16,
) -> String {
    let mut table = Table::new();
    // Columns apart by a blank "line" one space wide, then padding; a rule under the header.
    let blank = comfy_table::ContentLineStyle::none().junction(' ');
    let style = TableStyle::new()
        .header_lines(blank)
        .content_lines(blank)
        .header_separator(comfy_table::LineStyle::none().fill('─').junction('─'));
    table.load_style(style);
    if let Some(headers) = headers {
        table.set_header(headers);
    }
    for row in rows {
        table.add_row(row);
    }
    let last = right.len().saturating_sub(1);
    for (i, column) in table.column_iter_mut().enumerate() {
        column.set_padding((0, if i == last { 0 } else { gap - 1 }));
        if right.get(i).copied().unwrap_or(false) {
            column.set_cell_alignment(CellAlignment::Right);
        }
    }
    table
        .lines()
        .map(|l| l.trim_end().to_owned() + "\n")
        .collect()
}

/// The summary's fields: scalars and lists of scalars as `(path, value)`, lists of records
/// as `(path, records)` with each record's nested fields under dotted names.
pub(crate) type Sections = (Vec<(String, Value)>, Vec<(String, Vec<Map<String, Value>>)>);

/// The summary's [`Sections`]; none without a summary.
pub(crate) fn sections(summary: Option<&Value>) -> Sections {
    let mut out = (Vec::new(), Vec::new());
    if let Some(summary) = summary {
        walk(summary, "", &mut out);
    }
    out
}

fn walk(value: &Value, path: &str, out: &mut Sections) {
    let join = |k: &str| {
        if path.is_empty() {
            k.to_owned()
        } else {
            format!("{path}.{k}")
        }
    };
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                walk(v, &join(k), out);
            }
        }
        Value::Array(items) if items.iter().any(Value::is_object) => {
            let records = items
                .iter()
                .map(|item| {
                    let mut fields = (Vec::new(), Vec::new());
                    walk(item, "", &mut fields);
                    // A list inside a record stays one field (a cell cannot hold a table).
                    let lists = fields.1.into_iter().map(|(k, records)| {
                        (
                            k,
                            Value::Array(records.into_iter().map(Value::Object).collect()),
                        )
                    });
                    fields.0.into_iter().chain(lists).collect()
                })
                .collect();
            out.1.push((path.to_owned(), records));
        }
        other => out.0.push((path.to_owned(), other.clone())),
    }
}

/// The fields of a list's records as columns: the ones naming the record (text, such as the
/// group) first, then the figures; numbers inside names in numeric order (`day_90` before
/// `day_180`), since JSON maps come sorted as text.
fn record_columns(records: &[Map<String, Value>]) -> Vec<String> {
    let mut columns: Vec<String> = Vec::new();
    for r in records {
        for k in r.keys() {
            if !columns.contains(k) {
                columns.push(k.clone());
            }
        }
    }
    let names = |c: &String| {
        records
            .iter()
            .any(|r| r.get(c).is_some_and(Value::is_string))
    };
    columns.sort_by(|a, b| names(b).cmp(&names(a)).then_with(|| natural(a, b)));
    columns
}

/// `a` and `b` compared as text, except that runs of digits compare as numbers.
fn natural(a: &str, b: &str) -> std::cmp::Ordering {
    fn chunks(s: &str) -> Vec<(bool, &str)> {
        let mut out = Vec::new();
        let mut start = 0;
        let bytes = s.as_bytes();
        for i in 1..=bytes.len() {
            if i == bytes.len() || bytes[i].is_ascii_digit() != bytes[start].is_ascii_digit() {
                out.push((bytes[start].is_ascii_digit(), &s[start..i]));
                start = i;
            }
        }
        out
    }
    let (ca, cb) = (chunks(a), chunks(b));
    for (x, y) in ca.iter().zip(&cb) {
        let order = match (x, y) {
            ((true, x), (true, y)) => x
                .trim_start_matches('0')
                .len()
                .cmp(&y.trim_start_matches('0').len())
                .then_with(|| x.cmp(y)),
            ((_, x), (_, y)) => x.cmp(y),
        };
        if order.is_ne() {
            return order;
        }
    }
    ca.len().cmp(&cb.len())
}

impl Report {
    fn unit(&self, column: &str) -> Unit {
        self.units.get(column).copied().unwrap_or(Unit::Text)
    }

    fn summary_unit(&self, path: &str) -> Unit {
        self.summary_units.get(path).copied().unwrap_or(Unit::Text)
    }

    /// The report for a person at a terminal: the rows as a table (cohorts as triangles),
    /// then the summary.
    pub fn to_table(&self) -> String {
        let mut out = if self.report == "cohorts" {
            self.cohort_triangles()
        } else {
            self.rows_table()
        };
        out += &self.summary_table();
        out
    }

    fn rows_table(&self) -> String {
        let omitted: Vec<&String> = self
            .columns
            .iter()
            .filter(|c| TABLE_OMITS.contains(&(self.report, c.as_str())))
            .collect();
        let shown: Vec<&String> = self
            .columns
            .iter()
            .filter(|c| !omitted.contains(c))
            .collect();
        let rows = self
            .rows
            .iter()
            .map(|row| {
                shown
                    .iter()
                    .map(|c| {
                        format(
                            row.get(*c).unwrap_or(&Value::Null),
                            self.unit(c),
                            self.currency,
                        )
                    })
                    .collect()
            })
            .collect();
        let right: Vec<bool> = shown.iter().map(|c| self.unit(c).is_numeric()).collect();
        let mut out = grid(
            Some(shown.iter().map(|c| header(c)).collect()),
            rows,
            &right,
        );
        if !omitted.is_empty() {
            let names: Vec<&str> = omitted.iter().map(|c| c.as_str()).collect();
            out += &format!("({} in --format csv and json)\n", names.join(", "));
        }
        out
    }

    /// `cohorts` as two triangles, logo then revenue retention: a row per cohort (and group),
    /// a column per month since the cohort's start.
    fn cohort_triangles(&self) -> String {
        let by = self.by.as_deref();
        let mut keys: Vec<(String, String)> = Vec::new();
        let mut months = 0;
        for row in &self.rows {
            let key = (
                plain(row.get("cohort").unwrap_or(&Value::Null), ""),
                by.map_or(String::new(), |b| {
                    plain(row.get(b).unwrap_or(&Value::Null), "")
                }),
            );
            if !keys.contains(&key) {
                keys.push(key);
            }
            let m = row.get("month").and_then(Value::as_u64).unwrap_or(0) as usize;
            months = months.max(m + 1);
        }
        let mut out = String::new();
        for (title, field) in [
            ("logo retention", "logo_retention"),
            ("revenue retention", "revenue_retention"),
        ] {
            let mut headers = vec!["cohort".to_owned()];
            headers.extend(by.map(str::to_owned));
            headers.extend(["accounts".to_owned(), "initial mrr".to_owned()]);
            let fixed = headers.len();
            headers.extend((0..months).map(|m| m.to_string()));
            let rows = keys
                .iter()
                .map(|key| {
                    let mut cells = vec![String::new(); headers.len()];
                    cells[0] = key.0.clone();
                    if by.is_some() {
                        cells[1] = key.1.clone();
                    }
                    for row in self.rows.iter().filter(|row| {
                        plain(row.get("cohort").unwrap_or(&Value::Null), "") == key.0
                            && by.is_none_or(|b| {
                                plain(row.get(b).unwrap_or(&Value::Null), "") == key.1
                            })
                    }) {
                        let get = |c: &str| row.get(c).unwrap_or(&Value::Null);
                        cells[fixed - 2] = format(get("accounts"), Unit::Count, self.currency);
                        cells[fixed - 1] = format(get("initial_mrr"), Unit::Money, self.currency);
                        let m = get("month").as_u64().unwrap_or(0) as usize;
                        cells[fixed + m] = get(field)
                            .as_f64()
                            .map(|v| format!("{:.0}%", no_negative_zero((v * 100.0).round())))
                            .unwrap_or_default();
                    }
                    cells
                })
                .collect();
            let right: Vec<bool> = (0..headers.len()).map(|i| i + 1 >= fixed - 1).collect();
            if !out.is_empty() {
                out += "\n";
            }
            out += &format!("{title} by months since the cohort's first payment\n");
            // One space between months keeps eighteen of them within a terminal.
            out += &grid_spaced(Some(headers), rows, &right, 1);
        }
        out
    }

    fn summary_table(&self) -> String {
        let (scalars, lists) = sections(self.summary.as_ref());
        let mut out = String::new();
        if !scalars.is_empty() {
            let rows = scalars
                .iter()
                .map(|(path, v)| {
                    let text = format(v, self.summary_unit(path), self.currency);
                    // A field with no value says so rather than end the line.
                    let text = if text.is_empty() {
                        "—".to_owned()
                    } else {
                        text
                    };
                    vec![path.clone(), text]
                })
                .collect();
            out += "\n";
            out += &grid(None, rows, &[false, false]);
        }
        for (path, records) in lists {
            let columns = record_columns(&records);
            let unit = |c: &str| self.summary_unit(&format!("{path}.{c}"));
            let rows = records
                .iter()
                .map(|r| {
                    columns
                        .iter()
                        .map(|c| format(r.get(c).unwrap_or(&Value::Null), unit(c), self.currency))
                        .collect()
                })
                .collect();
            let right: Vec<bool> = columns.iter().map(|c| unit(c).is_numeric()).collect();
            out += &format!("\n{path}\n");
            out += &grid(
                Some(columns.iter().map(|c| header(c)).collect()),
                rows,
                &right,
            );
        }
        out
    }

    /// RFC 4180 CSV: a header row and the rows with JSON's values; then, after a blank line,
    /// the summary as `field,value` rows, and each list of records in it as a table of its own
    /// after a blank line, its header naming each field `list.field`.
    pub fn to_csv(&self) -> String {
        let line = |cells: Vec<String>| {
            cells
                .into_iter()
                .map(|v| {
                    if v.contains([',', '"', '\n', '\r']) {
                        format!("\"{}\"", v.replace('"', "\"\""))
                    } else {
                        v
                    }
                })
                .collect::<Vec<_>>()
                .join(",")
                + "\n"
        };
        let cell = |v: Option<&Value>| plain(v.unwrap_or(&Value::Null), "; ");
        let mut out = line(self.columns.clone());
        for row in &self.rows {
            out += &line(self.columns.iter().map(|c| cell(row.get(c))).collect());
        }
        let (scalars, lists) = sections(self.summary.as_ref());
        if !scalars.is_empty() {
            out += "\n";
            out += &line(vec!["field".into(), "value".into()]);
            for (path, v) in &scalars {
                out += &line(vec![path.clone(), cell(Some(v))]);
            }
        }
        for (path, records) in lists {
            let columns = record_columns(&records);
            out += "\n";
            out += &line(columns.iter().map(|c| format!("{path}.{c}")).collect());
            for r in &records {
                out += &line(columns.iter().map(|c| cell(r.get(c))).collect());
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn money_has_the_symbol_separators_and_the_currency_digits() {
        let usd = Currency::USD;
        let cases = [
            (372501.0, usd, "$372,501.00"),
            (4470011.5, usd, "$4,470,011.50"),
            (-1225.0, usd, "-$1,225.00"),
            (999.995, usd, "$1,000.00"),
            // Rounds to zero: no minus sign before a zero.
            (-0.004, usd, "$0.00"),
            (-0.0, usd, "$0.00"),
            (12.0, Currency::parse("EUR").unwrap(), "€12.00"),
            (1200.0, Currency::parse("JPY").unwrap(), "¥1,200"),
            (3.125, Currency::parse("KWD").unwrap(), "KWD 3.125"),
        ];
        for (amount, currency, expected) in cases {
            assert_eq!(money(amount, currency), expected, "{amount} {currency}");
        }
        assert_eq!(money_minor(-11_600, usd), "-$116.00");
    }

    #[test]
    fn fractions_are_percentages_and_zero_has_no_sign() {
        assert_eq!(percent(0.211271), "21.1%");
        assert_eq!(percent(1.0), "100.0%");
        assert_eq!(percent(-0.326694), "-32.7%");
        assert_eq!(percent(-0.0), "0.0%");
        // -0.0001 is -0.01%, which rounds to zero at one decimal.
        assert_eq!(percent(-0.0001), "0.0%");
        let usd = Currency::USD;
        for unit in [
            Unit::Fraction,
            Unit::Count,
            Unit::Days,
            Unit::Number,
            Unit::Money,
        ] {
            assert!(
                !format(&json!(-0.0), unit, usd).starts_with('-'),
                "{unit:?}"
            );
        }
        assert_eq!(format(&json!(-0.0), Unit::Count, usd), "0");
        assert_eq!(format(&json!(15188), Unit::Count, usd), "15,188");
        assert_eq!(format(&json!(2.5), Unit::Count, usd), "2.50");
        assert_eq!(format(&json!(0.679878), Unit::Number, usd), "0.6799");
        assert_eq!(format(&json!(7.0), Unit::Number, usd), "7");
        assert_eq!(format(&json!(16.013793), Unit::Multiple, usd), "16.01");
        assert_eq!(format(&json!(true), Unit::Flag, usd), "yes");
        assert_eq!(format(&Value::Null, Unit::Money, usd), "");
    }

    #[test]
    fn instants_show_minutes_unless_they_bound_a_day() {
        let usd = Currency::USD;
        let at = |s: &str| format(&json!(s), Unit::Time, usd);
        assert_eq!(at("2026-05-15T17:52:46.237Z"), "2026-05-15 17:52");
        assert_eq!(at("2026-07-06T23:59:59.999Z"), "2026-07-06");
        assert_eq!(at("2026-12-05T00:00:00.000Z"), "2026-12-05");
    }

    #[test]
    fn columns_align_by_display_width() {
        // 株式会社テスト is 7 characters of width 2: 14 columns, 21 bytes; Société Générale is
        // 16 columns in 18 bytes. Widths counted in bytes would push the amounts apart.
        let table = grid(
            Some(vec!["name".into(), "arr".into()]),
            vec![
                vec!["Société Générale".into(), "$1.00".into()],
                vec!["株式会社テスト".into(), "$120.00".into()],
                vec!["Acme".into(), "$3,000.00".into()],
            ],
            &[false, true],
        );
        let expected = "\
name                    arr
───────────────────────────
Société Générale      $1.00
株式会社テスト      $120.00
Acme              $3,000.00
";
        assert_eq!(table, expected);
    }

    #[test]
    fn csv_cells_keep_json_values_without_negative_zero() {
        assert_eq!(plain(&json!(-0.0), "; "), "0.0");
        assert_eq!(plain(&json!(0.211271), "; "), "0.211271");
        assert_eq!(plain(&json!(["a", "b"]), "; "), "a; b");
        assert_eq!(plain(&Value::Null, "; "), "");
    }

    #[test]
    fn list_columns_put_names_first_and_numbers_in_order() {
        let records: Vec<Map<String, Value>> = vec![serde_json::from_str(
            r#"{"at_risk": {"day_0": 3, "day_180": 1, "day_90": 2}, "channel": "email",
                "median_days": 40.5}"#,
        )
        .unwrap()]
        .into_iter()
        .map(|v: Value| {
            let mut fields = (Vec::new(), Vec::new());
            walk(&v, "", &mut fields);
            fields.0.into_iter().collect()
        })
        .collect();
        assert_eq!(
            record_columns(&records),
            [
                "channel",
                "at_risk.day_0",
                "at_risk.day_90",
                "at_risk.day_180",
                "median_days"
            ]
        );
        assert!(natural("day_1095", "day_365").is_gt());
        assert!(natural("p2", "p10").is_lt());
        assert!(natural("b1", "a2").is_gt());
    }

    #[test]
    fn long_headers_go_over_two_lines() {
        assert_eq!(header("customers"), "customers");
        assert_eq!(header("gross_mrr_churn_rate"), "gross mrr\nchurn rate");
        assert_eq!(header("reactivation"), "reactivation");
    }
}
