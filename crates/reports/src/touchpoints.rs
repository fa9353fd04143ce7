//! `touchpoints`: how many touchpoints each channel (or source, medium, campaign, content)
//! produced in the window, from how many people, first and last seen.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value};
use tenure_core::Timestamp;
use tenure_engine::{Model, TouchField, TouchGroup, Touchpoint, Visitor};

use crate::{Report, ReportError, ReportParams};

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
    let rows = rows
        .into_iter()
        .map(|g| {
            let mut row = Map::new();
            row.insert(by.clone(), Value::String(g.name.to_owned()));
            row.insert("touchpoints".into(), g.touchpoints.into());
            row.insert("visitors".into(), g.visitors.into());
            row.insert("first_at".into(), Value::String(g.first.to_string()));
            row.insert("last_at".into(), Value::String(g.last.to_string()));
            row
        })
        .collect();
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
