//! Parsers that turn outside formats into log entries: Segment tracking API messages
//! ([`segment`]) and the CSV files of SPEC §2.3 ([`csv`]).
//!
//! **Architecture invariant:** this crate is pure. It reads bytes (or an [`std::io::Read`]) and
//! returns validated domain values or errors that say what was wrong and where; it opens no
//! files, reads no clock and knows nothing of HTTP or storage.

pub mod csv;
pub mod nesting;
pub mod segment;
pub mod stripe;

/// The earliest instant any input may carry: no B2B SaaS fact predates the Unix epoch, so a
/// time before it says a clock or a column is broken. Bounding it keeps one bad row from
/// stretching every report's calendar back by centuries.
pub const EARLIEST_EVENT: tenure_core::Timestamp = tenure_core::Timestamp::from_millis_const(0);

pub use crate::csv::{read_csv, CsvKind, CsvRows, HeaderError, Row, RowError};
pub use crate::segment::{parse_message, Endpoint, Envelope, Limit, Limits, SegmentError};
