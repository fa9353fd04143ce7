//! `touchpoints`: how many touchpoints each channel (or source, medium, campaign, content)
//! produced in the window, from how many people, first and last seen.

use std::collections::{BTreeMap, HashSet};

use serde_json::{Map, Value};
use tenure_core::Timestamp;
use tenure_engine::{Model, Touchpoint};

use crate::{Report, ReportError, ReportParams};

/// Touchpoints per channel (or source, medium, campaign, content) within the window and up to
/// `as_of`: how many, from how many distinct people, and when first and last seen.
pub(crate) fn report(model: &Model, params: &ReportParams) -> Result<Report, ReportError> {
    // The catalog has checked `--by` names a touch grouping.
    let by = params.by.clone().unwrap_or_else(|| "channel".to_owned());
    /// Who a touchpoint is from, borrowed: counting distinct visitors must not allocate per
    /// touchpoint (there are millions).
    #[derive(PartialEq, Eq, Hash)]
    enum Who<'a> {
        Person(&'a str),
        Anonymous(&'a str),
        Prospect(&'a str),
        Account(&'a str),
    }
    #[derive(Default)]
    struct Group<'a> {
        touchpoints: u64,
        people: HashSet<Who<'a>>,
        first: Option<Timestamp>,
        last: Option<Timestamp>,
    }
    let mut groups: BTreeMap<&str, Group> = BTreeMap::new();
    let within = |t: &Touchpoint| {
        t.occurred_at <= params.as_of
            && params.from.is_none_or(|from| t.occurred_at >= from)
            && params.to.is_none_or(|to| t.occurred_at <= to)
    };
    for t in model.touchpoints().filter(|t| within(t)) {
        let group = groups
            .entry(crate::revenue::dimension_str(t, &by))
            .or_default();
        group.touchpoints += 1;
        let who = if let Some(p) = &t.person {
            Some(Who::Person(p.as_str()))
        } else if let Some(a) = &t.anonymous_id {
            Some(Who::Anonymous(a.as_str()))
        } else if let Some(e) = &t.prospect {
            Some(Who::Prospect(e.as_str()))
        } else {
            t.account.as_ref().map(|a| Who::Account(a.as_str()))
        };
        if let Some(who) = who {
            group.people.insert(who);
        }
        group.first = Some(group.first.map_or(t.occurred_at, |f| f.min(t.occurred_at)));
        group.last = Some(group.last.map_or(t.occurred_at, |l| l.max(t.occurred_at)));
    }
    let mut rows: Vec<(&str, Group)> = groups.into_iter().collect();
    rows.sort_by(|a, b| b.1.touchpoints.cmp(&a.1.touchpoints).then(a.0.cmp(b.0)));
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
            row.insert(by.clone(), Value::String(name.to_owned()));
            row.insert("touchpoints".into(), g.touchpoints.into());
            row.insert("visitors".into(), (g.people.len() as u64).into());
            row.insert("first_at".into(), g.first.map(|t| t.to_string()).into());
            row.insert("last_at".into(), g.last.map(|t| t.to_string()).into());
            row
        })
        .collect();
    Ok(Report::new("touchpoints", params, Some(by), columns, rows))
}
