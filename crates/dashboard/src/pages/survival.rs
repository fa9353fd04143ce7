//! Survival: how long customers stay, as Kaplan–Meier curves with their 95% bands, by any
//! grouping, and whether the groups' curves differ.

use maud::html;
use serde_json::Value;
use tenure_core::Timestamp;
use tenure_reports::{Report, Unit};

use super::summary::{self, select, GROUPINGS};
use super::{missing, Page};
use crate::chart::{Chart, Lines, Series};
use crate::docs::Link;
use crate::figure::{Figure, Table};
use crate::{Answers, Block, Call, Controls, PageQuery};

pub const PAGE: Page = Page {
    name: "survival",
    path: "/survival",
    title: "Survival",
    menu: "Survival",
    in_menu: true,
    menu_parent: "",
    lede: "How long customers stay: the share still paying each day after conversion, by group, and whether the groups differ.",
    calls,
    render,
    needs_status: false,
    needs_playbooks: false,
    needs_conversions: false,
};

const SURVIVAL: Link = Link::new("reports", "`survival`: customer lifetime curves");
/// The most groups whose bands are drawn: more overlap into a grey wash.
const BANDS: usize = 4;
/// The fewest customers a group needs to be named the longest or shortest staying.
const NAMED: u64 = 5;

const MEANING: Link = Link::new("figures", "Survival and lifetime value");

/// The groupings `survival` takes: the acquisition and attributes, and the state now.
fn groupings() -> Vec<(&'static str, &'static str)> {
    let mut all = GROUPINGS.to_vec();
    all.extend([("stage", "Stage now"), ("band", "Health band now")]);
    all
}

fn calls(query: &PageQuery, _: Timestamp) -> Vec<Call> {
    vec![Call::new(
        "survival",
        query.params_for("survival", &["by"], &[]),
    )]
}

fn render(query: &PageQuery, answers: &Answers) -> Vec<Block> {
    let mut blocks = vec![Block::Controls(Controls {
        selects: vec![select(
            "by",
            "Group by",
            &groupings(),
            query.get_or("by", ""),
        )],
        texts: Vec::new(),
    })];
    let report = match answers.report(0) {
        Ok(report) => report,
        Err(message) => {
            blocks.push(missing("Survival", message));
            return blocks;
        }
    };
    let group = report.columns.first().map_or("group", String::as_str);
    if let Some(sentence) = verdict(report, group) {
        blocks.push(Block::Text(html! {
            p.verdict role="status" { (sentence) " " a href=(SURVIVAL.href()) { "About the log-rank test" } }
        }));
    }
    let table = Table::of(report, &[]);
    let mut lines = curves(report, group);
    if lines.series.len() > BANDS {
        for series in &mut lines.series {
            series.band.clear();
        }
    }
    blocks.push(Block::figure(
        Figure::new("curves", "Share of customers still paying, by day since conversion", SURVIVAL, table)
            .note(if lines.series.len() > BANDS {
                "Each step down is customers churning. With this many groups the 95% bands would hide each other: the table gives them (lower 95, upper 95)."
            } else {
                "Each step down is customers churning; the shaded band is the 95% interval, wide where few customers are left to see."
            })
            .chart(Chart::Lines(lines))
            .from(&answers.calls[0]),
    ));
    let keys = [group, "customers", "churned", "median_days", "rmst_days"];
    let mut groups = Table::of_list(report, "groups", &keys);
    if let Some(c) = groups.column("rmst_days") {
        c.label = "Mean days within the horizon (RMST)".to_owned();
    }
    if let Some(c) = groups.column("median_days") {
        c.label = "Median lifetime (days)".to_owned();
    }
    blocks.push(Block::figure(
        Figure::new("groups", "Lifetime by group", MEANING, groups)
            .note(format!(
                "The median is blank where fewer than half have churned. RMST is the mean of days stayed within the first {}.",
                summary::text(report, "horizon_days")
            ))
            .from_list(&answers.calls[0], "summary.groups")
            .open(),
    ));
    blocks
}

/// One step line per group, from everyone at day 0, with its band.
fn curves(report: &Report, group: &str) -> Lines {
    let mut series: Vec<Series> = Vec::new();
    for row in &report.rows {
        let name = match row.get(group) {
            Some(Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
            None => String::new(),
        };
        let number = |key: &str| row.get(key).and_then(Value::as_f64);
        let (Some(t), Some(s)) = (number("time_days"), number("survival")) else {
            continue;
        };
        if series.last().is_none_or(|last| last.name != name) {
            series.push(Series {
                name: name.clone(),
                points: vec![(0.0, 1.0)],
                band: vec![(0.0, 1.0, 1.0)],
            });
        }
        let current = series.last_mut().expect("pushed");
        current.points.push((t, s));
        current.band.push((
            t,
            number("lower_95").unwrap_or(s),
            number("upper_95").unwrap_or(s),
        ));
    }
    Lines {
        series,
        x_unit: Unit::Days,
        y_unit: Unit::Fraction,
        step: true,
        y_range: Some((0.0, 1.0)),
    }
}

/// The log-rank test in words, with the groups that stay longest and shortest; `None` without
/// groups to compare.
fn verdict(report: &Report, group: &str) -> Option<String> {
    let statistic = summary::number(report, "log_rank.statistic")?;
    let df = summary::number(report, "log_rank.degrees_of_freedom")?;
    let p = summary::number(report, "log_rank.p_value")?;
    let rmst: Vec<(String, f64)> = summary::at(report, "groups")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|g| g.get("customers").and_then(Value::as_u64) >= Some(NAMED))
        .filter_map(|g| {
            Some((
                g.get(group)?.as_str()?.to_owned(),
                g.get("rmst_days")?.as_f64()?,
            ))
        })
        .collect();
    Some(log_rank_sentence(statistic, df, p, &rmst))
}

fn log_rank_sentence(statistic: f64, df: f64, p: f64, rmst: &[(String, f64)]) -> String {
    let p_text = if p < 0.001 {
        "p < 0.001".to_owned()
    } else {
        format!("p = {}", trim(&format!("{p:.3}")))
    };
    let test = format!("log-rank χ² = {statistic:.1}, {df:.0} df, {p_text}");
    if p < 0.05 {
        let longest = rmst.iter().max_by(|a, b| a.1.total_cmp(&b.1));
        let shortest = rmst.iter().min_by(|a, b| a.1.total_cmp(&b.1));
        match (longest, shortest) {
            (Some(l), Some(s)) if l.0 != s.0 => format!(
                "The curves differ ({test}): of the groups of {NAMED} customers or more, {} customers stay longest ({:.0} days on average within the horizon), {} customers shortest ({:.0} days).",
                l.0, l.1, s.0, s.1
            ),
            _ => format!("The curves differ ({test}): the groups' customers do not stay equally long."),
        }
    } else {
        format!(
            "No evidence the groups differ ({test}): the gaps between the curves are within what chance alone gives."
        )
    }
}

fn trim(text: &str) -> String {
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_rank_test_reads_as_a_sentence() {
        let rmst = [
            ("paid_search".to_owned(), 410.2),
            ("referral".to_owned(), 702.9),
            ("affiliate".to_owned(), 32.7),
        ];
        assert_eq!(
            log_rank_sentence(20.596704, 7.0, 0.0044152, &rmst),
            "The curves differ (log-rank χ² = 20.6, 7 df, p = 0.004): of the groups of 5 customers or more, referral customers stay longest (703 days on average within the horizon), affiliate customers shortest (33 days)."
        );
        assert_eq!(
            log_rank_sentence(69.7, 3.0, 5e-15, &rmst[..1]),
            "The curves differ (log-rank χ² = 69.7, 3 df, p < 0.001): the groups' customers do not stay equally long."
        );
        assert_eq!(
            log_rank_sentence(3.1, 2.0, 0.21, &rmst),
            "No evidence the groups differ (log-rank χ² = 3.1, 2 df, p = 0.21): the gaps between the curves are within what chance alone gives."
        );
    }

    #[test]
    fn each_group_is_a_step_line_from_everyone_at_day_zero() {
        let report = summary::report_of(serde_json::json!({
            "report": "survival", "as_of": "2026-11-30T23:59:59.999Z", "as_of_source": "given",
            "from": null, "to": null, "by": "tier", "currency": "USD",
            "columns": ["tier", "time_days", "survival", "lower_95", "upper_95"], "units": {},
            "rows": [
                {"tier": "smb", "time_days": 10.0, "survival": 0.9, "lower_95": 0.8, "upper_95": 0.95},
                {"tier": "smb", "time_days": 20.0, "survival": 0.8, "lower_95": 0.7, "upper_95": 0.9},
                {"tier": "mid", "time_days": 5.0, "survival": 0.5, "lower_95": 0.2, "upper_95": 0.8}
            ],
            "warnings": []
        }));
        let lines = curves(&report, "tier");
        assert_eq!(lines.series.len(), 2);
        assert_eq!(lines.series[0].name, "smb");
        assert_eq!(
            lines.series[0].points,
            [(0.0, 1.0), (10.0, 0.9), (20.0, 0.8)]
        );
        assert_eq!(lines.series[1].band, [(0.0, 1.0, 1.0), (5.0, 0.2, 0.8)]);
        assert!(lines.step);
    }
}
