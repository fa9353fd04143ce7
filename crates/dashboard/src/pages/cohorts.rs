//! Cohorts: how much of each conversion month's customers, and of their revenue, is still here
//! each month after, as two triangles.

use serde_json::Value;
use tenure_core::Timestamp;
use tenure_reports::{Report, Unit};

use super::summary::{select, GROUPINGS};
use super::{missing, Page};
use crate::chart::{Chart, Heatmap};
use crate::docs::Link;
use crate::figure::{Figure, Table};
use crate::{Answers, Block, Call, Controls, PageQuery};

pub const PAGE: Page = Page {
    name: "cohorts",
    path: "/cohorts",
    title: "Cohorts",
    menu: "Cohorts",
    in_menu: true,
    menu_parent: "",
    lede: "Of the customers who converted each month, how many are still here each month after, and how much of their revenue.",
    calls,
    render,
    needs_status: false,
    needs_playbooks: false,
    needs_conversions: false,
};

const COHORTS: Link = Link::new("reports", "`cohorts`: retention by conversion month");

fn calls(query: &PageQuery, _: Timestamp) -> Vec<Call> {
    vec![Call::new(
        "cohorts",
        query.params_for("cohorts", &["by"], &[]),
    )]
}

fn render(query: &PageQuery, answers: &Answers) -> Vec<Block> {
    let mut blocks = vec![Block::Controls(Controls {
        selects: vec![select("by", "Group by", GROUPINGS, query.get_or("by", ""))],
        texts: Vec::new(),
    })];
    let report = match answers.report(0) {
        Ok(report) => report,
        Err(message) => {
            blocks.push(missing("Cohorts", message));
            return blocks;
        }
    };
    let by = report.by.as_deref();
    for (id, title, value, size, note) in [
        (
            "logo",
            "Logo retention by cohort",
            "logo_retention",
            "accounts",
            "Each row is the customers who converted that month; each column the months since (0 is the month they converted); each cell the share of them still paying, in %.",
        ),
        (
            "revenue",
            "Revenue retention by cohort",
            "revenue_retention",
            "initial_mrr",
            "Each cell is the cohort's MRR that many months after converting over its MRR in its first month, in %: above 100 when expansion outgrew churn.",
        ),
    ] {
        let keys: Vec<&str> = ["cohort"]
            .into_iter()
            .chain(by)
            .chain(["month", size, value])
            .collect();
        let table = Table::of(report, &keys);
        let chart = Chart::Heatmap(triangle(report, by, value));
        blocks.push(Block::figure(
            Figure::new(id, title, COHORTS, table)
                .note(note)
                .chart(chart)
                .from(&answers.calls[0]),
        ));
    }
    blocks
}

/// The report's rows (one per cohort, group and month since conversion) as a grid: a row per
/// cohort (and group, `2025-06 · enterprise`), a column per month since conversion, in order.
fn triangle(report: &Report, by: Option<&str>, value: &str) -> Heatmap {
    let text = |v: Option<&Value>| match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    };
    let mut rows: Vec<String> = Vec::new();
    let mut months: Vec<u64> = Vec::new();
    let mut cells: Vec<(usize, u64, Option<f64>)> = Vec::new();
    for row in &report.rows {
        let mut label = text(row.get("cohort"));
        if let Some(by) = by {
            label = format!("{label} · {}", text(row.get(by)));
        }
        let i = rows.iter().position(|r| *r == label).unwrap_or_else(|| {
            rows.push(label);
            rows.len() - 1
        });
        let Some(month) = row.get("month").and_then(Value::as_u64) else {
            continue;
        };
        if !months.contains(&month) {
            months.push(month);
        }
        cells.push((i, month, row.get(value).and_then(Value::as_f64)));
    }
    months.sort_unstable();
    let mut grid = vec![vec![None; months.len()]; rows.len()];
    for (i, month, v) in cells {
        if let Ok(j) = months.binary_search(&month) {
            grid[i][j] = v;
        }
    }
    Heatmap {
        rows,
        columns: months.iter().map(u64::to_string).collect(),
        cells: grid,
        unit: Unit::Fraction,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn report(rows: Value, by: Option<&str>) -> Report {
        crate::pages::summary::report_of(json!({
            "report": "cohorts", "as_of": "2026-11-30T23:59:59.999Z", "as_of_source": "given",
            "from": null, "to": null, "by": by, "currency": "USD",
            "columns": [], "units": {}, "rows": rows, "warnings": []
        }))
    }

    #[test]
    fn the_rows_become_a_triangle_of_cohorts_by_month() {
        let r = report(
            json!([
                {"cohort": "2026-09", "month": 0, "logo_retention": 1.0},
                {"cohort": "2026-09", "month": 1, "logo_retention": 0.9},
                {"cohort": "2026-09", "month": 2, "logo_retention": 0.8},
                {"cohort": "2026-10", "month": 0, "logo_retention": 1.0},
                {"cohort": "2026-10", "month": 1, "logo_retention": 0.5},
                {"cohort": "2026-11", "month": 0, "logo_retention": 1.0},
            ]),
            None,
        );
        let grid = triangle(&r, None, "logo_retention");
        assert_eq!(grid.rows, ["2026-09", "2026-10", "2026-11"]);
        assert_eq!(grid.columns, ["0", "1", "2"]);
        assert_eq!(
            grid.cells,
            vec![
                vec![Some(1.0), Some(0.9), Some(0.8)],
                vec![Some(1.0), Some(0.5), None],
                vec![Some(1.0), None, None],
            ]
        );
    }

    #[test]
    fn a_grouped_cohort_is_a_row_per_group() {
        let r = report(
            json!([
                {"cohort": "2026-10", "tier": "smb", "month": 1, "revenue_retention": 1.2},
                {"cohort": "2026-10", "tier": "enterprise", "month": 0, "revenue_retention": 1.0},
            ]),
            Some("tier"),
        );
        let grid = triangle(&r, Some("tier"), "revenue_retention");
        assert_eq!(grid.rows, ["2026-10 · smb", "2026-10 · enterprise"]);
        assert_eq!(grid.columns, ["0", "1"]);
        assert_eq!(
            grid.cells,
            vec![vec![None, Some(1.2)], vec![Some(1.0), None]]
        );
    }
}
