//! Kind `google_csv`: nothing is sent. A conversion's delivery is marked accepted for export,
//! and `tenure conversions export google-csv` writes the files Google Ads imports by hand
//! (Goals → Conversions → Uploads) with [`conversions_csv`] and [`adjustments_csv`].
//!
//! The files are Google's templates (FORMATS.md "Google"; Google Ads Help "Import conversions
//! from ad clicks into Google Ads using files" and "Upload conversion adjustments"):
//!
//! - the first row `Parameters:TimeZone=+0000`, so every time is written in UTC as
//!   `yyyy-mm-dd hh:mm:ss`, without `T` or offset;
//! - conversions: `Google Click ID,Conversion Name,Conversion Time,Conversion Value,Conversion
//!   Currency`, with `GBRAID` and `WBRAID` columns after `Google Click ID` when a row matched
//!   by one, and `Order ID` last: adjustments find a conversion by its order id ("To adjust
//!   your conversions, you should already be tracking your conversions with an order ID",
//!   "Upload conversion adjustments"), so the conversion must carry it;
//! - adjustments: `Order ID,Conversion Name,Adjustment Time,Adjustment Type,Adjusted
//!   Value,Adjusted Value Currency`, `RESTATE` with the new value or `RETRACT` with both value
//!   cells empty;
//! - new conversions and adjustments never in one file ("new conversions and conversion
//!   adjustments can't be uploaded in the same file").
//!
//! Values have two decimals; cells are quoted by the `csv` crate where they must be.

use tenure_core::Timestamp;

use super::{check, choose_click, csv_datetime, Clock};
use crate::conversion::{ConversionEvent, EventKind};
use crate::{Destination, DestinationError, Outcome, Outgoing};

/// The row every file starts with.
pub const TIME_ZONE_ROW: &str = "Parameters:TimeZone=+0000";

/// The conversions file's columns, without the braid columns.
pub const CONVERSION_COLUMNS: [&str; 6] = [
    "Google Click ID",
    "Conversion Name",
    "Conversion Time",
    "Conversion Value",
    "Conversion Currency",
    "Order ID",
];

/// The adjustments file's columns.
pub const ADJUSTMENT_COLUMNS: [&str; 6] = [
    "Order ID",
    "Conversion Name",
    "Adjustment Time",
    "Adjustment Type",
    "Adjusted Value",
    "Adjusted Value Currency",
];

/// A file to import, and what was left out of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvFile {
    /// The file's text, `\n` line ends.
    pub text: String,
    /// Conversion rows written (the time-zone and header rows not counted).
    pub rows: usize,
    /// Events of this file's kind that Google would not take, with why.
    pub skipped: Vec<Skipped>,
}

/// An event left out of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    pub event_id: String,
    pub reason: String,
}

/// The offline-conversion file of the new conversions among `events` (adjustments go to
/// [`adjustments_csv`]); `name` gives each its conversion name as Google Ads shows it. Each is
/// matched by its latest click within `window_days` before it ([`choose_click`]); one without
/// such a click cannot be in this file and is skipped.
pub fn conversions_csv(
    events: &[ConversionEvent],
    name: &dyn Fn(&ConversionEvent) -> String,
    window_days: u32,
) -> CsvFile {
    let mut skipped = Vec::new();
    let mut rows = Vec::new();
    for event in events.iter().filter(|e| e.kind == EventKind::Conversion) {
        let Some(click) = choose_click(event, window_days) else {
            skipped.push(Skipped {
                event_id: event.event_id.clone(),
                reason: format!(
                    "no gclid, gbraid or wbraid within the {window_days}-day click window before \
                     it: the file matches by click only (send it with kind = \"google\" to match \
                     by hashed e-mail)"
                ),
            });
            continue;
        };
        let Some(value) = money(event.value) else {
            skipped.push(not_a_value(event));
            continue;
        };
        rows.push((click.kind.clone(), click.id.clone(), event, value));
    }
    let braids = rows.iter().any(|(kind, ..)| kind != "gclid");
    let mut header: Vec<&str> = CONVERSION_COLUMNS.to_vec();
    if braids {
        header.splice(1..1, ["GBRAID", "WBRAID"]);
    }
    let records = rows.iter().map(|(kind, id, event, value)| {
        let cell = |k: &str| if kind == k { id.clone() } else { String::new() };
        let mut record = vec![cell("gclid")];
        if braids {
            record.push(cell("gbraid"));
            record.push(cell("wbraid"));
        }
        let currency = if value.is_empty() {
            ""
        } else {
            &event.currency
        };
        record.extend([
            name(event),
            csv_datetime(event.occurred_at),
            value.clone(),
            currency.to_owned(),
            event.event_id.clone(),
        ]);
        record
    });
    let (text, rows) = write(&header, records);
    CsvFile {
        text,
        rows,
        skipped,
    }
}

/// The adjustment file of the restatements and retractions among `events`, in their order;
/// `name` as for [`conversions_csv`]. One Google would refuse or ignore is skipped: no
/// adjustment time after the conversion's, a restatement without a value, or a conversion
/// matched by a wbraid (Google adjusts gclid and gbraid conversions only).
pub fn adjustments_csv(
    events: &[ConversionEvent],
    name: &dyn Fn(&ConversionEvent) -> String,
    window_days: u32,
) -> CsvFile {
    let mut skipped = Vec::new();
    let mut records = Vec::new();
    for event in events.iter().filter(|e| e.kind.is_adjustment()) {
        let skip = |reason: String| Skipped {
            event_id: event.event_id.clone(),
            reason,
        };
        let at = match event.adjusted_at {
            Some(at) if at > event.occurred_at => at,
            _ => {
                skipped.push(skip(format!(
                    "no adjustment time later than the conversion's ({})",
                    event.occurred_at
                )));
                continue;
            }
        };
        if choose_click(event, window_days).is_some_and(|c| c.kind == "wbraid") {
            skipped.push(skip(
                "Google cannot adjust a conversion it matched by a wbraid".into(),
            ));
            continue;
        }
        let (kind, value, currency) = match event.kind {
            EventKind::Restatement => match money(event.value) {
                Some(value) if !value.is_empty() => ("RESTATE", value, event.currency.clone()),
                _ => {
                    skipped.push(not_a_value(event));
                    continue;
                }
            },
            _ => ("RETRACT", String::new(), String::new()),
        };
        records.push(vec![
            event.event_id.clone(),
            name(event),
            csv_datetime(at),
            kind.to_owned(),
            value,
            currency,
        ]);
    }
    let (text, rows) = write(&ADJUSTMENT_COLUMNS, records.into_iter());
    CsvFile {
        text,
        rows,
        skipped,
    }
}

/// A value as the file writes it: two decimals, empty for none; None for one Google cannot
/// take (negative, not a number).
fn money(value: Option<f64>) -> Option<String> {
    match value {
        None => Some(String::new()),
        Some(v) if v.is_finite() && v >= 0.0 => Some(format!("{v:.2}")),
        Some(_) => None,
    }
}

fn not_a_value(event: &ConversionEvent) -> Skipped {
    Skipped {
        event_id: event.event_id.clone(),
        reason: match event.value {
            None => "a restatement without the new value".into(),
            Some(v) => format!("{v} is not a value Google takes (a number, 0 or more)"),
        },
    }
}

fn write(header: &[&str], records: impl Iterator<Item = Vec<String>>) -> (String, usize) {
    let mut out = format!("{TIME_ZONE_ROW}\n").into_bytes();
    let mut rows = 0;
    {
        let mut writer = ::csv::WriterBuilder::new().from_writer(&mut out);
        writer
            .write_record(header)
            .expect("writing to memory cannot fail");
        for record in records {
            writer
                .write_record(&record)
                .expect("writing to memory cannot fail");
            rows += 1;
        }
        writer.flush().expect("writing to memory cannot fail");
    }
    (
        String::from_utf8(out).expect("every cell is UTF-8 text"),
        rows,
    )
}

/// The `google_csv` destination: checks each conversion as the APIs would, and marks it
/// accepted for export (`Delivered` without a status code) rather than sending it.
pub struct CsvExport {
    name: String,
    window_days: u32,
    clock: Clock,
}

impl std::fmt::Debug for CsvExport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CsvExport")
            .field("name", &self.name)
            .field("window_days", &self.window_days)
            .finish_non_exhaustive()
    }
}

impl CsvExport {
    pub fn from_config(
        config: &tenure_playbooks::Destination,
    ) -> Result<CsvExport, DestinationError> {
        Ok(CsvExport {
            name: config.name.clone(),
            window_days: config
                .click_window_days
                .unwrap_or(super::DEFAULT_CLICK_WINDOW_DAYS),
            clock: super::system_clock(),
        })
    }

    /// The same destination reading the time from `clock` (tests fix it).
    pub fn with_clock(mut self, clock: Clock) -> CsvExport {
        self.clock = clock;
        self
    }

    /// The click window its files are written with.
    pub fn window_days(&self) -> u32 {
        self.window_days
    }
}

impl Destination for CsvExport {
    fn name(&self) -> &str {
        &self.name
    }

    fn send(&self, out: &Outgoing) -> Outcome {
        let now: Timestamp = (self.clock)();
        match check(0, out, now, self.window_days) {
            Err(outcome) => outcome,
            Ok(ready) if ready.event.kind == EventKind::Conversion && ready.click.is_none() => {
                Outcome::Permanent {
                    code: None,
                    reason: "the offline-conversion file matches by click id only, and this conversion has no gclid, gbraid or wbraid in the click window: send it with kind = \"google\" to match by hashed e-mail".into(),
                }
            }
            Ok(_) => Outcome::Delivered { code: None },
        }
    }

    fn check(&self, out: &Outgoing) -> Option<Outcome> {
        match self.send(out) {
            Outcome::Delivered { .. } => None,
            held => Some(held),
        }
    }
}
