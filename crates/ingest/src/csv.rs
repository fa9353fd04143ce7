//! The CSV files of SPEC §2.3, one typed row at a time.
//!
//! The header names the columns, in any order and in any letter case; columns that may be empty
//! may also be left out. Cells are trimmed and an empty cell is `None`; an empty `currency` is the
//! workspace's default currency. Dates are RFC 3339 or `YYYY-MM-DD`. Amounts (`mrr`, `amount`,
//! `cost`) are decimals in major units and may not be negative. Rows whose cells are all empty
//! (as spreadsheets leave at the end) are skipped. Line numbers are the physical lines of the
//! file, the header being line 1.

use std::collections::VecDeque;
use std::fmt;
use std::io::{self, Read};

use crate::EARLIEST_EVENT;
use csv::StringRecord;
use tenure_core::{
    AccountId, AccountRow, AnonymousId, Currency, DealKind, DealRow, DealStatus, Email, EntryBody,
    Money, SpendRow, SubscriptionRow, Timestamp, TouchpointRow, UserId,
};

/// The kinds of CSV file `tenure import` takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CsvKind {
    Accounts,
    Subscriptions,
    Deals,
    Spend,
    Touchpoints,
}

impl CsvKind {
    pub const ALL: [CsvKind; 5] = [
        CsvKind::Accounts,
        CsvKind::Subscriptions,
        CsvKind::Deals,
        CsvKind::Spend,
        CsvKind::Touchpoints,
    ];

    /// The kind's name, which is also its file's stem: `accounts`, `subscriptions`, `deals`,
    /// `spend`, `touchpoints`.
    pub fn name(self) -> &'static str {
        match self {
            CsvKind::Accounts => "accounts",
            CsvKind::Subscriptions => "subscriptions",
            CsvKind::Deals => "deals",
            CsvKind::Spend => "spend",
            CsvKind::Touchpoints => "touchpoints",
        }
    }

    /// The kind named exactly `name` (as `--kind` gives it).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }

    /// The kind of a file by its name (a path is fine): the name must end in `.csv` and its stem
    /// must be the kind's name or end with it after `_`, `-` or `.`, in any letter case:
    /// `accounts.csv`, `exports/2025_deals.csv`, `Q1-Spend.CSV`.
    pub fn from_file_name(path: &str) -> Option<Self> {
        let file = path.rsplit(['/', '\\']).next().unwrap_or(path);
        let lower = file.to_ascii_lowercase();
        let stem = lower.strip_suffix(".csv")?;
        Self::ALL
            .into_iter()
            .find(|k| match stem.strip_suffix(k.name()) {
                Some("") => true,
                Some(prefix) => prefix.ends_with(['_', '-', '.']),
                None => false,
            })
    }

    /// The columns of the kind's file, in the order of SPEC §2.3.
    pub fn columns(self) -> &'static [&'static str] {
        match self {
            CsvKind::Accounts => &[
                "account_id",
                "name",
                "domain",
                "tier",
                "industry",
                "employees",
                "csm_owner",
                "created_at",
            ],
            CsvKind::Subscriptions => &[
                "account_id",
                "effective_at",
                "mrr",
                "currency",
                "plan",
                "seats",
            ],
            CsvKind::Deals => &[
                "deal_id",
                "account_id",
                "kind",
                "status",
                "amount",
                "currency",
                "created_at",
                "closed_at",
                "contract_start",
                "contract_end",
            ],
            CsvKind::Spend => &[
                "date",
                "channel",
                "source",
                "campaign",
                "cost",
                "currency",
                "impressions",
                "clicks",
            ],
            CsvKind::Touchpoints => &[
                "occurred_at",
                "account_id",
                "user_id",
                "email",
                "anonymous_id",
                "channel",
                "source",
                "medium",
                "campaign",
                "content",
                "term",
                "kind",
            ],
        }
    }

    /// The columns the header must have; the others may be left out.
    pub fn required_columns(self) -> &'static [&'static str] {
        match self {
            CsvKind::Accounts => &["account_id"],
            CsvKind::Subscriptions => &["account_id", "effective_at", "mrr"],
            CsvKind::Deals => &[
                "deal_id",
                "account_id",
                "kind",
                "status",
                "amount",
                "created_at",
            ],
            CsvKind::Spend => &["date", "channel", "cost"],
            CsvKind::Touchpoints => &["occurred_at"],
        }
    }
}

impl fmt::Display for CsvKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a file's header row cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    #[error("the file is empty (expected a header row: {})", .kind.columns().join(","))]
    Empty { kind: CsvKind },
    #[error("column {column:?} appears twice in the header")]
    DuplicateColumn { column: String },
    #[error("missing required column {column:?} in the {kind} header")]
    MissingColumn { kind: CsvKind, column: &'static str },
    #[error("cannot read the header: {reason}")]
    Unreadable { reason: String },
}

/// A row that cannot be imported: where (1-based physical line, and the column if one is at
/// fault) and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct RowError {
    pub line: u64,
    pub column: Option<String>,
    pub reason: String,
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.column {
            Some(column) => write!(f, "line {}, column {column}: {}", self.line, self.reason),
            None => write!(f, "line {}: {}", self.line, self.reason),
        }
    }
}

/// One parsed row and the line it started on.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub line: u64,
    pub body: EntryBody,
}

/// The rows of a CSV file, parsed one at a time; see [`read_csv`].
#[derive(Debug)]
pub struct CsvRows<R: Read> {
    kind: CsvKind,
    reader: csv::Reader<LineTracker<R>>,
    /// For each of `kind.columns()`, its position in the file's records.
    positions: Vec<Option<usize>>,
    /// Header cells that are not columns of `kind`, in file order: their cells are not read.
    ignored: Vec<String>,
    width: usize,
    default_currency: Currency,
    record: StringRecord,
    done: bool,
}

/// Reads the header of a `kind` file and returns an iterator over its rows.
pub fn read_csv<R: Read>(
    kind: CsvKind,
    reader: R,
    default_currency: Currency,
) -> Result<CsvRows<R>, HeaderError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(LineTracker::new(reader));
    let mut header = StringRecord::new();
    let found = reader
        .read_record(&mut header)
        .map_err(|e| HeaderError::Unreadable {
            reason: e.to_string(),
        })?;
    if !found || header.iter().all(str::is_empty) {
        return Err(HeaderError::Empty { kind });
    }
    let columns = kind.columns();
    let mut positions = vec![None; columns.len()];
    let mut ignored = Vec::new();
    for (at, cell) in header.iter().enumerate() {
        // The CSV reader drops a UTF-8 byte order mark only when its first read holds it whole.
        let cell = if at == 0 {
            cell.trim_start_matches('\u{feff}').trim()
        } else {
            cell
        };
        let name = cell.to_ascii_lowercase();
        // Exports carry columns of their own (a CRM's owner id, a billing system's notes):
        // they are left unread, and the caller says so, rather than the file refused.
        let Some(slot) = columns.iter().position(|c| *c == name) else {
            ignored.push(cell.to_owned());
            continue;
        };
        if positions[slot].replace(at).is_some() {
            return Err(HeaderError::DuplicateColumn { column: name });
        }
    }
    if let Some(column) = kind
        .required_columns()
        .iter()
        .find(|c| positions[slot_of(columns, c)].is_none())
    {
        return Err(HeaderError::MissingColumn { kind, column });
    }
    Ok(CsvRows {
        kind,
        reader,
        positions,
        ignored,
        width: header.len(),
        default_currency,
        record: StringRecord::new(),
        done: false,
    })
}

fn slot_of(columns: &[&str], name: &str) -> usize {
    columns
        .iter()
        .position(|c| *c == name)
        .unwrap_or_else(|| panic!("{name} is not a column of this kind"))
}

impl<R: Read> CsvRows<R> {
    /// The header's cells that are not columns of this kind, in file order: their values are
    /// not read. Empty when every column is one of the kind's.
    pub fn ignored_columns(&self) -> &[String] {
        &self.ignored
    }
}

impl<R: Read> Iterator for CsvRows<R> {
    type Item = Result<Row, RowError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.done {
                return None;
            }
            match self.reader.read_record(&mut self.record) {
                Ok(false) => {
                    self.done = true;
                    return None;
                }
                Ok(true) => {}
                Err(e) => {
                    let line = match e.position() {
                        Some(at) => self.reader.get_mut().line_at(at.byte()),
                        None => 0,
                    };
                    // An I/O error would repeat forever; a malformed record can be skipped.
                    if matches!(e.kind(), csv::ErrorKind::Io(_)) {
                        self.done = true;
                    }
                    return Some(Err(RowError {
                        line,
                        column: None,
                        reason: e.to_string(),
                    }));
                }
            }
            let start = self.record.position().map_or(0, csv::Position::byte);
            let line = self.reader.get_mut().line_at(start);
            if self.record.iter().all(str::is_empty) {
                continue;
            }
            if self.record.len() != self.width {
                return Some(Err(RowError {
                    line,
                    column: None,
                    reason: format!(
                        "the row has {} cells, the header has {}",
                        self.record.len(),
                        self.width
                    ),
                }));
            }
            let cells = Cells {
                record: &self.record,
                positions: &self.positions,
                columns: self.kind.columns(),
                line,
            };
            let body = match self.kind {
                CsvKind::Accounts => account(&cells).map(EntryBody::Account),
                CsvKind::Subscriptions => {
                    subscription(&cells, self.default_currency).map(EntryBody::Subscription)
                }
                CsvKind::Deals => deal(&cells, self.default_currency).map(EntryBody::Deal),
                CsvKind::Spend => spend(&cells, self.default_currency).map(EntryBody::Spend),
                CsvKind::Touchpoints => touchpoint(&cells).map(EntryBody::Touchpoint),
            };
            return Some(body.map(|body| Row { line, body }));
        }
    }
}

/// Counts physical lines under the CSV reader, whose own line numbers skip blank lines and do
/// not count CRLF. A line ends at `\r\n`, `\n` or a lone `\r`, as the CSV reader's records do.
#[derive(Debug)]
struct LineTracker<R> {
    inner: R,
    /// Bytes read so far.
    offset: u64,
    prev_cr: bool,
    /// Offsets of the `\r` and `\n` bytes not yet passed, and whether each ends a line (a `\n`
    /// after `\r` does not).
    breaks: VecDeque<(u64, bool)>,
    /// Lines ended before the breaks still queued.
    lines_ended: u64,
}

impl<R> LineTracker<R> {
    fn new(inner: R) -> Self {
        Self {
            inner,
            offset: 0,
            prev_cr: false,
            breaks: VecDeque::new(),
            lines_ended: 0,
        }
    }

    /// The 1-based line of the record the CSV reader reports at byte `start`, which is just
    /// past the previous record's first terminator byte: the line breaks from there on (the rest
    /// of that terminator and any blank lines) come before the record's first byte. Calls must
    /// come in increasing `start` order.
    fn line_at(&mut self, start: u64) -> u64 {
        let mut pos = start;
        while let Some(&(at, ends_line)) = self.breaks.front() {
            if at > pos {
                break;
            }
            if at == pos {
                pos += 1;
            }
            self.lines_ended += u64::from(ends_line);
            self.breaks.pop_front();
        }
        self.lines_ended + 1
    }
}

impl<R: Read> Read for LineTracker<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        for (i, &b) in buf[..n].iter().enumerate() {
            match b {
                b'\r' => self.breaks.push_back((self.offset + i as u64, true)),
                b'\n' => self
                    .breaks
                    .push_back((self.offset + i as u64, !self.prev_cr)),
                _ => {}
            }
            self.prev_cr = b == b'\r';
        }
        self.offset += n as u64;
        Ok(n)
    }
}

/// One record seen through the kind's column names.
struct Cells<'a> {
    record: &'a StringRecord,
    positions: &'a [Option<usize>],
    columns: &'static [&'static str],
    line: u64,
}

impl<'a> Cells<'a> {
    fn error(&self, column: &str, reason: impl Into<String>) -> RowError {
        RowError {
            line: self.line,
            column: Some(column.to_owned()),
            reason: reason.into(),
        }
    }

    /// The trimmed cell, `None` when empty or when the column is not in the file.
    fn get(&self, column: &str) -> Option<&'a str> {
        let at = self.positions[slot_of(self.columns, column)]?;
        self.record.get(at).filter(|cell| !cell.is_empty())
    }

    fn text(&self, column: &str) -> Option<String> {
        self.get(column).map(str::to_owned)
    }

    fn required(&self, column: &str) -> Result<&'a str, RowError> {
        self.get(column)
            .ok_or_else(|| self.error(column, "a value is required"))
    }

    fn parse<T, E: fmt::Display>(
        &self,
        column: &str,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Result<Option<T>, RowError> {
        self.get(column)
            .map(|cell| parse(cell).map_err(|e| self.error(column, e.to_string())))
            .transpose()
    }

    fn parse_required<T, E: fmt::Display>(
        &self,
        column: &str,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Result<T, RowError> {
        let cell = self.required(column)?;
        parse(cell).map_err(|e| self.error(column, e.to_string()))
    }

    fn timestamp(&self, column: &str) -> Result<Option<Timestamp>, RowError> {
        self.parse(column, instant)
    }

    fn count<T: std::str::FromStr>(&self, column: &str) -> Result<Option<T>, RowError> {
        self.parse(column, |cell| {
            if cell.bytes().all(|b| b.is_ascii_digit()) {
                cell.parse::<T>()
                    .map_err(|_| format!("{cell:?} is too large"))
            } else {
                Err(format!("{cell:?} is not a non-negative whole number"))
            }
        })
    }

    /// A non-negative amount in major units of the row's `currency` (else the default).
    fn money(&self, column: &str, default_currency: Currency) -> Result<Money, RowError> {
        let currency = self
            .parse("currency", Currency::parse)?
            .unwrap_or(default_currency);
        let money = self.parse_required(column, |cell| Money::parse_major(cell, currency))?;
        if money.minor < 0 {
            return Err(self.error(column, format!("{money} is negative")));
        }
        Ok(money)
    }
}

fn account(c: &Cells<'_>) -> Result<AccountRow, RowError> {
    Ok(AccountRow {
        account_id: c.parse_required("account_id", AccountId::parse)?,
        name: c.text("name"),
        domain: c.text("domain"),
        tier: c.text("tier"),
        industry: c.text("industry"),
        employees: c.count("employees")?,
        csm_owner: c.text("csm_owner"),
        created_at: c.timestamp("created_at")?,
    })
}

fn subscription(c: &Cells<'_>, default_currency: Currency) -> Result<SubscriptionRow, RowError> {
    Ok(SubscriptionRow {
        account_id: c.parse_required("account_id", AccountId::parse)?,
        effective_at: c.parse_required("effective_at", instant)?,
        mrr: c.money("mrr", default_currency)?,
        plan: c.text("plan"),
        seats: c.count("seats")?,
    })
}

fn deal(c: &Cells<'_>, default_currency: Currency) -> Result<DealRow, RowError> {
    let kind = c.parse_required("kind", |cell| match cell {
        "new_business" => Ok(DealKind::NewBusiness),
        "renewal" => Ok(DealKind::Renewal),
        "expansion" => Ok(DealKind::Expansion),
        _ => Err(format!(
            "{cell:?} is not a deal kind (expected new_business, renewal or expansion)"
        )),
    })?;
    let status = c.parse_required("status", |cell| match cell {
        "open" => Ok(DealStatus::Open),
        "won" => Ok(DealStatus::Won),
        "lost" => Ok(DealStatus::Lost),
        _ => Err(format!(
            "{cell:?} is not a deal status (expected open, won or lost)"
        )),
    })?;
    let row = DealRow {
        deal_id: c.required("deal_id")?.to_owned(),
        account_id: c.parse_required("account_id", AccountId::parse)?,
        kind,
        status,
        amount: c.money("amount", default_currency)?,
        created_at: c.parse_required("created_at", instant)?,
        closed_at: c.timestamp("closed_at")?,
        contract_start: c.timestamp("contract_start")?,
        contract_end: c.timestamp("contract_end")?,
    };
    if let (Some(start), Some(end)) = (row.contract_start, row.contract_end) {
        if end < start {
            return Err(c.error(
                "contract_end",
                format!("{end} is before contract_start {start}"),
            ));
        }
    }
    Ok(row)
}

fn spend(c: &Cells<'_>, default_currency: Currency) -> Result<SpendRow, RowError> {
    Ok(SpendRow {
        date: c.parse_required("date", instant)?,
        channel: c.required("channel")?.to_owned(),
        source: c.text("source"),
        campaign: c.text("campaign"),
        cost: c.money("cost", default_currency)?,
        impressions: c.count("impressions")?,
        clicks: c.count("clicks")?,
    })
}

fn touchpoint(c: &Cells<'_>) -> Result<TouchpointRow, RowError> {
    let row = TouchpointRow {
        occurred_at: c.parse_required("occurred_at", instant)?,
        account_id: c.parse("account_id", AccountId::parse)?,
        user_id: c.parse("user_id", UserId::parse)?,
        email: c.parse("email", Email::parse)?,
        anonymous_id: c.parse("anonymous_id", AnonymousId::parse)?,
        channel: c.text("channel"),
        source: c.text("source"),
        medium: c.text("medium"),
        campaign: c.text("campaign"),
        content: c.text("content"),
        term: c.text("term"),
        kind: c.text("kind"),
    };
    if row.account_id.is_none()
        && row.user_id.is_none()
        && row.email.is_none()
        && row.anonymous_id.is_none()
    {
        return Err(RowError {
            line: c.line,
            column: None,
            reason: "no id: at least one of account_id, user_id, email, anonymous_id must be set"
                .to_owned(),
        });
    }
    Ok(row)
}

/// A time cell: RFC 3339 or a date, not before [`EARLIEST_EVENT`].
fn instant(cell: &str) -> Result<Timestamp, String> {
    let t = Timestamp::parse(cell).map_err(|e| e.to_string())?;
    if t < EARLIEST_EVENT {
        return Err(format!(
            "{cell:?} is before {EARLIEST_EVENT}, which no record predates; check the column's \
             date format"
        ));
    }
    Ok(t)
}
