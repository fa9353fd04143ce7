//! `touchpoints`: how many touchpoints each channel (or source, medium, campaign, content)
//! produced in the window, from how many people, first and last seen.

use std::collections::{HashMap, HashSet};

use serde::Serialize;
use tenure_core::Timestamp;
use tenure_engine::{Model, TouchField, TouchGroup, Touchpoint, Visitor};
use utoipa::ToSchema;

use crate::row::grouped_rows;
use crate::{Report, ReportError, ReportParams};

/// The touchpoints of one channel (or source, medium, campaign, content: the value is under
/// the grouping's name) within the window.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct TouchpointsRow {
    /// Touchpoints of the group within the window.
    pub touchpoints: u64,
    /// Distinct visitors behind those touchpoints, each known by its person, else its anonymous
    /// id, prospect or account.
    pub visitors: u64,
    /// The earliest of those touchpoints, RFC 3339.
    pub first_at: String,
    /// The latest of those touchpoints, RFC 3339.
    pub last_at: String,
}

/// Touchpoints per channel (or source, medium, campaign, content) within the window and up to
/// `as_of`: how many, from how many distinct people, and when first and last seen.
pub(crate) fn report(model: &Model, params: &ReportParams) -> Result<Report, ReportError> {
    // The catalog has checked `--by` names a touch grouping.
    let by = params.by.clone().unwrap_or_else(|| "channel".to_owned());
    let field = TouchField::parse(&by).unwrap_or(TouchField::Content);
    // Kept counts hold every touchpoint: they answer when the window leaves none out, which
    // the default one (up to the data's end) does.
    let kept: Vec<TouchGroup> = model.touch_groups(field).collect();
    let first = kept.iter().map(|g| g.first).min();
    let last = kept.iter().map(|g| g.last).max();
    let whole = last.is_none_or(|last| {
        last <= params.as_of
            && params.to.is_none_or(|to| last <= to)
            && params
                .from
                .is_none_or(|from| first.is_some_and(|first| from <= first))
    });
    let mut rows: Vec<TouchGroup> = if whole {
        kept
    } else {
        walk(model, field, params)
    };
    rows.sort_by(|a, b| b.touchpoints.cmp(&a.touchpoints).then(a.name.cmp(b.name)));
    let columns = vec![
        by.clone(),
        "touchpoints".into(),
        "visitors".into(),
        "first_at".into(),
        "last_at".into(),
    ];
    let rows = grouped_rows(
        Some(&by),
        rows.into_iter().map(|g| {
            let row = TouchpointsRow {
                touchpoints: g.touchpoints,
                visitors: g.visitors,
                first_at: g.first.to_string(),
                last_at: g.last.to_string(),
            };
            (g.name.to_owned(), row)
        }),
    );
    Ok(Report::new("touchpoints", params, Some(by), columns, rows))
}

/// The groups of the touchpoints within the window, counted by walking every touchpoint.
fn walk<'m>(model: &'m Model, field: TouchField, params: &ReportParams) -> Vec<TouchGroup<'m>> {
    struct Group<'a> {
        touchpoints: u64,
        people: HashSet<Visitor<'a>>,
        first: Timestamp,
        last: Timestamp,
    }
    let mut groups: HashMap<&str, Group> = HashMap::new();
    let within = |t: &Touchpoint| {
        t.occurred_at <= params.as_of
            && params.from.is_none_or(|from| t.occurred_at >= from)
            && params.to.is_none_or(|to| t.occurred_at <= to)
    };
    for t in model.touchpoints().filter(|t| within(t)) {
        let at = t.occurred_at;
        let group = groups.entry(field.value(t)).or_insert_with(|| Group {
            touchpoints: 0,
            people: HashSet::new(),
            first: at,
            last: at,
        });
        group.touchpoints += 1;
        group.people.extend(t.visitor());
        group.first = group.first.min(at);
        group.last = group.last.max(at);
    }
    groups
        .into_iter()
        .map(|(name, g)| TouchGroup {
            name,
            touchpoints: g.touchpoints,
            visitors: g.people.len() as u64,
            first: g.first,
            last: g.last,
        })
        .collect()
}
