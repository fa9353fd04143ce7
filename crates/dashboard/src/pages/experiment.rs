//! Experiment: each variant's customers against the control's — activation, time to value,
//! 90-day retention, expansion and MRR — with the differences' 95% intervals and tests, and
//! whether the accounts were split as meant.

use maud::html;
use serde_json::{Map, Value};
use tenure_core::Timestamp;
use tenure_reports::{Report, Unit};

use super::summary;
use super::{missing, Page};
use crate::chart::{Chart, HBars};
use crate::docs::Link;
use crate::figure::{Figure, Table};
use crate::{Answers, Block, Call, Controls, PageQuery, TextField};

pub const PAGE: Page = Page {
    name: "experiment",
    path: "/experiment",
    title: "Experiment",
    menu: "Experiment",
    in_menu: true,
    menu_parent: "",
    lede: "How the customers of each variant of an experiment fare against the control's: activation, time to value, retention, expansion and MRR.",
    calls,
    render,
    needs_status: false,
    needs_playbooks: false,
    needs_conversions: false,
};

const EXPERIMENT: Link = Link::new("reports", "`experiment`: variants against the control");
const MEANING: Link = Link::new("figures", "Experiments");

/// The p-value under which a difference is called one.
const SIGNIFICANT: f64 = 0.05;

fn calls(query: &PageQuery, _: Timestamp) -> Vec<Call> {
    // The report needs the trait or experiment: without one there is nothing to ask.
    if query.get("by").is_none() {
        return Vec::new();
    }
    vec![Call::new(
        "experiment",
        query.params_for("experiment", &["by", "control"], &[]),
    )]
}

fn render(query: &PageQuery, answers: &Answers) -> Vec<Block> {
    let field = |name, label, placeholder| TextField {
        name,
        label,
        value: query.get_or(name, "").to_owned(),
        placeholder,
    };
    let mut blocks = vec![Block::Controls(Controls {
        selects: Vec::new(),
        texts: vec![
            field("by", "Trait or experiment", "onboarding_variant"),
            field("control", "Control variant", "control"),
        ],
    })];
    if answers.calls.is_empty() {
        blocks.push(Block::Text(html! {
            p { "Name the group trait that holds each account's variant (e.g. onboarding_variant), or the experiment its Experiment Viewed events name. " a href=(EXPERIMENT.href()) { "How the variants are read" } }
        }));
        return blocks;
    }
    let report = match answers.report(0) {
        Ok(report) => report,
        Err(message) => {
            blocks.push(missing("Experiment", message));
            return blocks;
        }
    };
    let mut sentences: Vec<String> = report.rows.iter().filter_map(verdict).collect();
    if let Some(alarm) = mismatch(report) {
        sentences.insert(0, alarm);
    }
    if !sentences.is_empty() {
        blocks.push(Block::Text(html! {
            @for sentence in &sentences {
                p.verdict role="status" { (sentence) }
            }
        }));
    }
    blocks.push(Block::Tiles(vec![
        summary::tile(report, "Customers with a variant", "customers", EXPERIMENT),
        summary::tile(report, "Control", "control", EXPERIMENT),
        summary::tile(
            report,
            "Sample ratio p-value",
            "sample_ratio.p_value",
            MEANING,
        ),
    ]));
    let mut activation = Table::of(
        report,
        &[
            "variant",
            "activation_eligible",
            "activated",
            "activation_rate",
            "activation_difference",
            "activation_difference_low_95",
            "activation_difference_high_95",
            "activation_p_value",
            "activation_to_date_rate",
            "activation_to_date_difference",
            "activation_to_date_p_value",
            "median_time_to_value_days",
            "time_to_value_p_value",
        ],
    );
    let chart = Chart::HBars(HBars {
        labels: activation.texts("variant"),
        values: activation.numbers("activation_rate"),
        unit: Unit::Fraction,
    });
    for (key, label) in [
        ("activation_eligible", "Converted long enough ago"),
        ("activation_difference_low_95", "Difference, low 95%"),
        ("activation_difference_high_95", "Difference, high 95%"),
    ] {
        if let Some(c) = activation.column(key) {
            c.label = label.to_owned();
        }
    }
    blocks.push(Block::figure(
        Figure::new("activation", format!("Activated within {} days", summary::text(report, "activation_window_days")), MEANING, activation)
            .note("Of the customers converted at least the activation window ago: activated within the window, and activated by now however long it took; each difference is from the control's rate, with its 95% interval and p-value.")
            .chart(chart)
            .from(&answers.calls[0]),
    ));
    let retention = Table::of(
        report,
        &[
            "variant",
            "retention_eligible",
            "retained_90d",
            "retention_90d",
            "retention_difference",
            "retention_difference_low_95",
            "retention_difference_high_95",
            "retention_p_value",
            "churned",
            "time_to_churn_p_value",
        ],
    );
    blocks.push(Block::figure(
        Figure::new("retention", "Still paying 90 days after converting", MEANING, retention)
            .note("Of the customers converted at least 90 days ago; the last column tests the whole time to churn against the control's (log-rank).")
            .from(&answers.calls[0])
            .open(),
    ));
    let revenue = Table::of(
        report,
        &[
            "variant",
            "accounts",
            "share",
            "expanded",
            "expanded_share",
            "expansion_mrr",
            "mean_mrr",
        ],
    );
    blocks.push(Block::figure(
        Figure::new("revenue", "Expansion and MRR", EXPERIMENT, revenue)
            .note("Every customer of each variant: how many expanded, the MRR their expansions added, and their mean MRR now (0 for those that left).")
            .from(&answers.calls[0])
            .open(),
    ));
    blocks
}

fn percent_points(v: f64) -> String {
    format!("{:+.1}", v * 100.0)
}

/// A variant's activation against the control, in words; none for the control's row.
fn verdict(row: &Map<String, Value>) -> Option<String> {
    let number = |key: &str| row.get(key).and_then(Value::as_f64);
    let variant = row.get("variant")?.as_str()?;
    let (d, low, high, p) = (
        number("activation_difference")?,
        number("activation_difference_low_95")?,
        number("activation_difference_high_95")?,
        number("activation_p_value")?,
    );
    let p_text = if p < 0.001 {
        "p < 0.001".to_owned()
    } else {
        format!("p = {p:.3}")
    };
    let interval = format!(
        "{} points, 95% interval {} to {}, {p_text}",
        percent_points(d),
        percent_points(low),
        percent_points(high)
    );
    Some(if p < SIGNIFICANT {
        let way = if d > 0.0 { "more" } else { "fewer" };
        format!("{variant}: {way} customers activate than in the control ({interval}).")
    } else {
        format!("{variant}: no evidence its activation differs from the control's ({interval}).")
    })
}

/// The sample-ratio alarm, when the split is not the one meant.
fn mismatch(report: &Report) -> Option<String> {
    let flagged = summary::at(report, "sample_ratio.mismatch")?.as_bool()?;
    flagged.then(|| {
        format!(
            "The variants' customer counts are far from an equal split (sample ratio p = {:.1e}): the assignment, or what is recorded of it, is not what was meant, and the differences below cannot be trusted.",
            summary::number(report, "sample_ratio.p_value").unwrap_or(0.0)
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pages::fixture;
    use serde_json::json;

    #[test]
    fn without_a_trait_or_experiment_the_page_asks_for_one_and_calls_nothing() {
        let (calls, html) = fixture::render(&PAGE, &PageQuery::default(), Vec::new());
        assert!(calls.is_empty());
        assert!(html.contains("Name the group trait"), "{html}");
    }

    #[test]
    fn the_variants_are_read_from_the_report_by_the_trait_with_a_verdict_each() {
        let query = PageQuery::new([("by", "onboarding_variant"), ("control", "control")]);
        let report = fixture::report(
            "experiment",
            json!({
                "by": "onboarding_variant",
                "columns": ["variant", "activation_rate"],
                "rows": [
                    {"variant": "control", "activation_rate": 0.6, "activation_difference": null},
                    {"variant": "guided", "activation_rate": 0.75,
                     "activation_difference": 0.15, "activation_difference_low_95": 0.07,
                     "activation_difference_high_95": 0.22, "activation_p_value": 0.0004},
                    {"variant": "video", "activation_rate": 0.62,
                     "activation_difference": 0.02, "activation_difference_low_95": -0.06,
                     "activation_difference_high_95": 0.1, "activation_p_value": 0.61}
                ],
                "summary": {"customers": 900, "control": "control",
                            "activation_window_days": 30,
                            "sample_ratio": {"p_value": 1e-6, "mismatch": true}}
            }),
        );
        let (calls, html) = fixture::render(&PAGE, &query, vec![report]);
        assert_eq!(calls.len(), 1);
        assert_eq!(calls[0].report, "experiment");
        assert!(calls[0]
            .params
            .contains(&("by".to_owned(), "onboarding_variant".to_owned())));
        assert!(calls[0]
            .params
            .contains(&("control".to_owned(), "control".to_owned())));
        assert!(
            html.contains("guided: more customers activate than in the control (+15.0 points, 95% interval +7.0 to +22.0, p &lt; 0.001)."),
            "{html}"
        );
        assert!(html.contains("video: no evidence its activation differs from the control's (+2.0 points, 95% interval -6.0 to +10.0, p = 0.610)."), "{html}");
        assert!(html.contains("far from an equal split"), "{html}");
        assert!(html.contains("Activated within 30 days"), "{html}");
    }
}
