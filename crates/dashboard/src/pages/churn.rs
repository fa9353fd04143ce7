//! The churn model: what drives churn in the next 90 days, with how sure the model is of each
//! driver, and how well it predicted customers it never saw.

use tenure_core::Timestamp;
use tenure_reports::{Report, Unit};

use super::summary;
use super::{missing, Page};
use crate::chart::{Chart, Intervals, Lines, Series};
use crate::docs::Link;
use crate::figure::{Figure, Table};
use crate::{Answers, Block, Call, PageQuery};

pub const PAGE: Page = Page {
    name: "churn",
    path: "/churn",
    title: "Churn model",
    menu: "Churn model",
    in_menu: true,
    menu_parent: "",
    lede: "What makes a customer likelier to churn in the next 90 days, how sure the model is of each driver, and how well it predicts customers it never saw.",
    calls,
    render,
    needs_status: false,
    needs_playbooks: false,
    needs_conversions: false,
};

const MODEL: Link = Link::new("reports", "`churn-model`: what drives churn");

fn calls(query: &PageQuery, _: Timestamp) -> Vec<Call> {
    vec![Call::new(
        "churn-model",
        query.params_for("churn-model", &[], &[]),
    )]
}

fn render(_: &PageQuery, answers: &Answers) -> Vec<Block> {
    let report = match answers.report(0) {
        Ok(report) => report,
        Err(message) => return vec![missing("Churn model", message)],
    };
    let call = &answers.calls[0];
    let mut auc = summary::tile(report, "Holdout ROC AUC", "holdout_roc_auc", MODEL);
    auc.change = Some(crate::Change {
        text: format!(
            "0.5 is chance, 1 perfect; {} in training",
            summary::text(report, "training_roc_auc")
        ),
        tone: crate::Tone::Neutral,
    });
    let mut brier = summary::tile(report, "Holdout Brier score", "holdout_brier", MODEL);
    brier.change = Some(crate::Change {
        text: "mean squared error of the probabilities; lower is better".to_owned(),
        tone: crate::Tone::Neutral,
    });
    let mut base = summary::tile(report, "Holdout churn rate", "holdout_base_rate", MODEL);
    base.change = Some(crate::Change {
        text: format!(
            "{} of {} snapshots from {}",
            summary::text(report, "holdout_churned"),
            summary::text(report, "holdout_snapshots"),
            summary::text(report, "holdout_from"),
        ),
        tone: crate::Tone::Neutral,
    });
    let mut blocks = vec![Block::Tiles(vec![auc, brier, base])];
    blocks.push(Block::figure(drivers(report).from(call)));
    blocks.push(Block::figure(
        calibration(report).from_list(call, "summary.calibration"),
    ));
    blocks
}

/// The drivers as a forest plot of their odds ratios per standard deviation.
fn drivers(report: &Report) -> Figure {
    let table = Table::of(report, &[]);
    let estimates = table.numbers("odds_ratio_per_sd");
    let lows = table.numbers("odds_ratio_low_95");
    let highs = table.numbers("odds_ratio_high_95");
    let values = estimates
        .iter()
        .zip(&lows)
        .zip(&highs)
        .map(|((e, l), h)| Some(((*e)?, (*l)?, (*h)?)))
        .collect();
    let chart = Chart::Intervals(Intervals {
        labels: table.texts("feature"),
        values,
        reference: 1.0,
        unit: Unit::Multiple,
    });
    Figure::new("drivers", "Drivers of churn: odds ratio per standard deviation", MODEL, table)
        .note(format!(
            "Each dot is how the odds of churning in the next 90 days change when the feature is one standard deviation higher, with its 95% interval; red wholly above 1 (more churn), blue wholly below (less), grey unsure. Fitted on {} snapshots ({} churned).",
            summary::text(report, "drivers_snapshots"),
            summary::text(report, "drivers_churned"),
        ))
        .chart(chart)
}

/// Predicted against observed churn by decile of prediction, with the diagonal a perfectly
/// calibrated model would follow.
fn calibration(report: &Report) -> Figure {
    let table = Table::of_list(
        report,
        "calibration",
        &["decile", "snapshots", "predicted", "observed"],
    );
    let points: Vec<(f64, f64)> = table
        .numbers("predicted")
        .into_iter()
        .zip(table.numbers("observed"))
        .filter_map(|(p, o)| Some((p?, o?)))
        .collect();
    let top = points
        .iter()
        .flat_map(|p| [p.0, p.1])
        .fold(0.0f64, f64::max)
        .max(0.05);
    let chart = Chart::Lines(Lines {
        series: vec![
            Series {
                name: "Observed churn, by decile of predicted churn".to_owned(),
                points,
                band: Vec::new(),
            },
            Series {
                name: "Perfect calibration (observed = predicted)".to_owned(),
                points: vec![(0.0, 0.0), (top, top)],
                band: Vec::new(),
            },
        ],
        x_unit: Unit::Fraction,
        y_unit: Unit::Fraction,
        step: false,
        y_range: None,
    });
    Figure::new("calibration", "Calibration on the holdout: predicted against observed churn", MODEL, table)
        .note("The holdout's snapshots in ten groups by predicted churn: across, the mean predicted; up, the share that churned. Close to the diagonal is well calibrated.")
        .chart(chart)
}
