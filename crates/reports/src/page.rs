//! Pages of the long lists (accounts, signals, renewals, touchpoints): `limit` rows at a time,
//! and a cursor to the next page.
//!
//! A cursor is the next row's position in the list as of the first page's instant, which it
//! keeps: every page is a page of the same list, since a report as of a past instant is
//! reproducible, whatever arrives meanwhile (only an entry dated before that instant arriving
//! late, a backfill, can shift rows between pages). It also holds a fingerprint of the query,
//! so a cursor given to another report or with other filters is refused rather than read as a
//! position in a different list.

use serde::{Deserialize, Serialize};
use tenure_core::Timestamp;
use utoipa::ToSchema;

use crate::{Report, ReportError, ReportParams};

/// The most rows a page may hold.
pub const MAX_LIMIT: usize = 10_000;

/// Where a page starts: the decoded `next_cursor` of the page before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub offset: usize,
    pub as_of: Timestamp,
    pub limit: usize,
    query: u64,
}

/// The page a report holds, when the request asked for one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Page {
    /// The most rows this page may hold.
    pub limit: usize,
    /// How many rows of the whole list come before this page.
    pub offset: usize,
    /// Rows in the whole list.
    pub total_rows: usize,
    /// Give it as `cursor` for the next page; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

const VERSION: &str = "p1";

impl Cursor {
    pub(crate) fn parse(text: &str) -> Result<Self, ReportError> {
        let unreadable = || {
            ReportError::Parameter {
            name: "cursor",
            reason: format!(
                "{text:?} is not a cursor tenure gave: pass the previous page's next_cursor as it is"
            ),
        }
        };
        let mut parts = text.split('.');
        if parts.next() != Some(VERSION) {
            return Err(unreadable());
        }
        let mut next = || parts.next().ok_or_else(unreadable);
        let offset = next()?.parse().map_err(|_| unreadable())?;
        let as_of = next()?
            .parse()
            .ok()
            .and_then(Timestamp::checked_from_millis)
            .ok_or_else(unreadable)?;
        let limit = next()?
            .parse()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(unreadable)?;
        let query = u64::from_str_radix(next()?, 16).map_err(|_| unreadable())?;
        if parts.next().is_some() {
            return Err(unreadable());
        }
        Ok(Self {
            offset,
            as_of,
            limit,
            query,
        })
    }

    fn encode(&self) -> String {
        format!(
            "{VERSION}.{}.{}.{}.{:016x}",
            self.offset,
            self.as_of.millis(),
            self.limit,
            self.query
        )
    }
}

/// Cuts `report`'s rows to the page `params` asks for (none when it gives no `limit`), saying
/// which in `report.page`. `report` is the whole list for `params` without its page: what a
/// report gives before it is cut, so a caller keeping whole lists can cut pages of its own.
pub fn paginate(report: &mut Report, params: &ReportParams) -> Result<(), ReportError> {
    let Some(limit) = params.limit else {
        return Ok(());
    };
    let query = fingerprint(report.report, params);
    let offset = match &params.cursor {
        None => 0,
        Some(cursor) if cursor.query != query => {
            return Err(ReportError::Parameter {
                name: "cursor",
                reason: "the cursor is of another report or other parameters: give the same \
                         report and parameters as the first page, or start again without a \
                         cursor"
                    .into(),
            })
        }
        Some(cursor) => cursor.offset,
    };
    let total_rows = report.rows.len();
    let end = offset.saturating_add(limit).min(total_rows);
    report.rows = report.rows.drain(offset.min(end)..end).collect();
    let next_cursor = (end < total_rows).then(|| {
        Cursor {
            offset: end,
            as_of: params.as_of,
            limit,
            query,
        }
        .encode()
    });
    report.page = Some(Page {
        limit,
        offset,
        total_rows,
        next_cursor,
    });
    Ok(())
}

/// FNV-1a of everything that decides the list but the instant and the page.
fn fingerprint(report: &str, p: &ReportParams) -> u64 {
    let f = &p.filters;
    let query = format!(
        "{report}|{:?}|{:?}|{:?}|{:?}|{:?}|{}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}",
        p.from.map(Timestamp::millis),
        p.to.map(Timestamp::millis),
        p.by,
        p.model,
        p.metric,
        p.compare,
        p.account,
        f.stage,
        f.band,
        f.signal,
        f.tier,
        f.owner,
        f.channel,
        p.sort,
    );
    query.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}
