//! The offline-conversion and adjustment files, parsed back with the `csv` crate, and the
//! `google_csv` destination that marks conversions for export.

use tenure_playbooks::{Destination as Config, DestinationKind};

use super::*;
use crate::google::{adjustments_csv, conversions_csv, CsvExport};
use crate::{Destination, Outcome};

/// Every row of `text`, each a list of cells, as a CSV reader sees them.
fn parse(text: &str) -> Vec<Vec<String>> {
    ::csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes())
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect()
}

fn name(event: &ConversionEvent) -> String {
    match event.platform_name.as_str() {
        "555" => "Renewed".into(),
        _ => "Expanded, \"annual\"".into(),
    }
}

fn rows(cells: &[&[&str]]) -> Vec<Vec<String>> {
    cells
        .iter()
        .map(|r| r.iter().map(|c| (*c).to_owned()).collect())
        .collect()
}

#[test]
fn the_conversions_file_is_googles_template_with_the_order_id() {
    let renewed = with_click(
        conversion("tn-7f3a", "555", "2025-03-01T14:30:00Z", Some(1200.0)),
        "gclid",
        "Cj0KCQ",
        "2025-02-20T08:00:00Z",
    );
    let expanded = with_click(
        conversion("tn-91bc", "777", "2025-03-02T08:05:09.900Z", Some(99.999)),
        "gclid",
        "Cj0-x_y",
        "2025-03-01T00:00:00Z",
    );
    let no_value = with_click(
        conversion("tn-0000", "555", "2025-03-03T00:00:00Z", None),
        "gclid",
        "Cj0-none",
        "2025-03-01T00:00:00Z",
    );
    let by_email = with_email(
        conversion("tn-mail", "555", "2025-03-01T00:00:00Z", Some(5.0)),
        JOHN,
    );
    let restated = adjustment(&renewed, "2025-04-02T09:00:00Z", Some(800.0));
    let file = conversions_csv(
        &[renewed, by_email, expanded, restated, no_value],
        &name,
        90,
    );
    assert_eq!(
        parse(&file.text),
        rows(&[
            &["Parameters:TimeZone=+0000"],
            &[
                "Google Click ID",
                "Conversion Name",
                "Conversion Time",
                "Conversion Value",
                "Conversion Currency",
                "Order ID"
            ],
            &[
                "Cj0KCQ",
                "Renewed",
                "2025-03-01 14:30:00",
                "1200.00",
                "USD",
                "tn-7f3a"
            ],
            &[
                "Cj0-x_y",
                "Expanded, \"annual\"",
                "2025-03-02 08:05:09",
                "100.00",
                "USD",
                "tn-91bc"
            ],
            &[
                "Cj0-none",
                "Renewed",
                "2025-03-03 00:00:00",
                "",
                "",
                "tn-0000"
            ],
        ])
    );
    // The bytes: FORMATS.md's example row, and the name with a comma and quotes quoted.
    assert!(file.text.starts_with(
        "Parameters:TimeZone=+0000\n\
         Google Click ID,Conversion Name,Conversion Time,Conversion Value,Conversion Currency,Order ID\n\
         Cj0KCQ,Renewed,2025-03-01 14:30:00,1200.00,USD,tn-7f3a\n\
         Cj0-x_y,\"Expanded, \"\"annual\"\"\",2025-03-02 08:05:09,100.00,USD,tn-91bc\n"
    ), "{}", file.text);
    assert_eq!(file.rows, 3);
    // The restatement is no new conversion; the e-mail-only one cannot be in a click file.
    assert_eq!(file.skipped.len(), 1);
    assert_eq!(file.skipped[0].event_id, "tn-mail");
    assert!(file.skipped[0].reason.contains("kind = \"google\""));
}

#[test]
fn braids_get_their_own_columns() {
    let g = with_click(
        conversion("tn-g", "555", "2025-03-01T10:00:00Z", Some(1.0)),
        "gclid",
        "G1",
        "2025-02-28T00:00:00Z",
    );
    let b = with_click(
        conversion("tn-b", "555", "2025-03-01T11:00:00Z", Some(2.0)),
        "gbraid",
        "B1",
        "2025-02-28T00:00:00Z",
    );
    let w = with_click(
        conversion("tn-w", "555", "2025-03-01T12:00:00Z", Some(3.0)),
        "wbraid",
        "W1",
        "2025-02-28T00:00:00Z",
    );
    let file = conversions_csv(&[g, b, w], &name, 90);
    assert_eq!(
        parse(&file.text),
        rows(&[
            &["Parameters:TimeZone=+0000"],
            &[
                "Google Click ID",
                "GBRAID",
                "WBRAID",
                "Conversion Name",
                "Conversion Time",
                "Conversion Value",
                "Conversion Currency",
                "Order ID"
            ],
            &[
                "G1",
                "",
                "",
                "Renewed",
                "2025-03-01 10:00:00",
                "1.00",
                "USD",
                "tn-g"
            ],
            &[
                "",
                "B1",
                "",
                "Renewed",
                "2025-03-01 11:00:00",
                "2.00",
                "USD",
                "tn-b"
            ],
            &[
                "",
                "",
                "W1",
                "Renewed",
                "2025-03-01 12:00:00",
                "3.00",
                "USD",
                "tn-w"
            ],
        ])
    );
}

#[test]
fn the_adjustments_file_restates_and_retracts_by_order_id() {
    let renewed = with_click(
        conversion("tn-7f3a", "555", "2025-03-01T14:30:00Z", Some(1200.0)),
        "gclid",
        "Cj0KCQ",
        "2025-02-20T08:00:00Z",
    );
    let other = with_click(
        conversion("tn-91bc", "777", "2025-03-01T14:30:00Z", Some(50.0)),
        "gbraid",
        "B",
        "2025-02-20T08:00:00Z",
    );
    let wbraid = with_click(
        conversion("tn-w", "555", "2025-03-01T14:30:00Z", Some(50.0)),
        "wbraid",
        "W",
        "2025-02-20T08:00:00Z",
    );
    let same_time = adjustment(&renewed, "2025-03-01T14:30:00Z", Some(10.0));
    let file = adjustments_csv(
        &[
            renewed.clone(),
            adjustment(&renewed, "2025-04-02T09:00:00Z", Some(800.0)),
            adjustment(&other, "2025-04-02T09:00:00.500Z", None),
            adjustment(&wbraid, "2025-04-02T09:00:00Z", None),
            same_time,
        ],
        &name,
        90,
    );
    assert_eq!(
        parse(&file.text),
        rows(&[
            &["Parameters:TimeZone=+0000"],
            &[
                "Order ID",
                "Conversion Name",
                "Adjustment Time",
                "Adjustment Type",
                "Adjusted Value",
                "Adjusted Value Currency"
            ],
            &[
                "tn-7f3a",
                "Renewed",
                "2025-04-02 09:00:00",
                "RESTATE",
                "800.00",
                "USD"
            ],
            &[
                "tn-91bc",
                "Expanded, \"annual\"",
                "2025-04-02 09:00:00",
                "RETRACT",
                "",
                ""
            ],
        ])
    );
    assert!(file
        .text
        .contains("\ntn-7f3a,Renewed,2025-04-02 09:00:00,RESTATE,800.00,USD\n"));
    assert_eq!(file.rows, 2);
    let skipped: Vec<&str> = file.skipped.iter().map(|s| s.event_id.as_str()).collect();
    assert_eq!(
        skipped,
        ["tn-w", "tn-7f3a"],
        "the wbraid one, and the one not after its conversion"
    );
    // New conversions and adjustments never share a file.
    assert!(!file.text.contains("Google Click ID"));
    assert_eq!(
        conversions_csv(
            &[adjustment(&renewed, "2025-04-02T09:00:00Z", None)],
            &name,
            90
        )
        .rows,
        0
    );
}

#[test]
fn the_csv_destination_marks_conversions_for_export_and_sends_nothing() {
    let config = Config {
        click_window_days: Some(30),
        ..Config::named("google_file", DestinationKind::GoogleCsv)
    };
    assert_eq!(
        crate::build(&config, &|_: &str| None).unwrap().name(),
        "google_file"
    );
    let export = CsvExport::from_config(&config)
        .unwrap()
        .with_clock(fixed(NOW));
    assert_eq!(export.window_days(), 30);
    let clicked = with_click(
        conversion("tn-1", "555", "2026-04-20T10:00:00Z", Some(1.0)),
        "gclid",
        "G",
        "2026-04-10T00:00:00Z",
    );
    let by_email = with_email(
        conversion("tn-2", "555", "2026-04-20T10:00:00Z", Some(1.0)),
        JOHN,
    );
    let old = with_click(
        conversion("tn-3", "555", "2026-03-20T10:00:00Z", Some(1.0)),
        "gclid",
        "G",
        "2026-03-20T00:00:00Z",
    );
    let batch = Batch::new(&[
        clicked.clone(),
        by_email,
        old,
        adjustment(&clicked, "2026-04-25T00:00:00Z", None),
    ]);
    let outcomes: Vec<Outcome> = batch.outgoing().iter().map(|o| export.send(o)).collect();
    assert_eq!(outcomes[0], Outcome::Delivered { code: None });
    assert!(
        matches!(&outcomes[1], Outcome::Permanent { reason, .. } if reason.contains("click id only")),
        "{outcomes:?}"
    );
    assert!(
        matches!(&outcomes[2], Outcome::Expired { .. }),
        "{outcomes:?}"
    );
    assert_eq!(outcomes[3], Outcome::Delivered { code: None });
}
