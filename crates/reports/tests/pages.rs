//! Pages of the long lists: walked cursor by cursor they are the whole list, in order, each
//! row once, as of the first page's instant; a cursor given to another query is refused.

mod common;

use tenure_reports::{run, AsOfSource, RawParams, ReportError, ReportParams, ReportSettings};

fn params(pairs: &[(&str, &str)], default_as_of: tenure_core::Timestamp) -> ReportParams {
    let raw = RawParams::from_pairs(pairs.iter().copied()).unwrap();
    ReportParams::parse((default_as_of, AsOfSource::EndOfData), &raw).unwrap()
}

#[test]
fn walking_the_cursors_gives_the_whole_list_once_as_of_one_instant() {
    let (model, _) = common::company(150);
    let settings = ReportSettings::default();
    let end = tenure_reports::default_as_of(&model, common::t("2100-01-01")).0;
    for (report, extra) in [
        ("accounts", vec![("sort", "risk")]),
        ("signals", vec![]),
        ("renewals", vec![]),
        ("touchpoints", vec![("by", "campaign")]),
    ] {
        let whole = run(report, &model, &settings, &params(&extra, end)).unwrap();
        assert!(whole.page.is_none(), "no page without a limit");
        assert!(
            whole.rows.len() > 1,
            "{report}: {} rows is too few to page",
            whole.rows.len()
        );
        // Several pages, the last one short where the rows allow.
        let size = (whole.rows.len() / 4).max(1);
        let limit = size.to_string();
        let mut pairs = extra.clone();
        pairs.push(("limit", &limit));
        let mut page = run(report, &model, &settings, &params(&pairs, end)).unwrap();
        let mut walked = Vec::new();
        loop {
            let info = page.page.clone().expect("a page");
            assert_eq!(info.total_rows, whole.rows.len(), "{report}");
            assert_eq!(info.offset, walked.len(), "{report}");
            assert!(page.rows.len() <= size);
            walked.extend(page.rows.clone());
            let Some(cursor) = info.next_cursor else {
                break;
            };
            assert_eq!(
                page.rows.len(),
                size,
                "{report}: only the last page is short"
            );
            // Later pages name no instant: the cursor keeps the first page's, even when the
            // caller's default has moved on.
            let mut next = extra.clone();
            next.push(("cursor", &cursor));
            let later = common::t("2099-01-01");
            page = run(report, &model, &settings, &params(&next, later)).unwrap();
            assert_eq!(page.as_of, end, "{report}");
        }
        assert_eq!(
            walked, whole.rows,
            "{report}: the pages are the list, in order"
        );
    }
}

#[test]
fn a_cursor_is_refused_by_another_report_other_filters_or_another_instant() {
    let (model, _) = common::company(150);
    let settings = ReportSettings::default();
    let end = tenure_reports::default_as_of(&model, common::t("2100-01-01")).0;
    let first = run(
        "accounts",
        &model,
        &settings,
        &params(&[("limit", "5")], end),
    )
    .unwrap();
    let cursor = first.page.unwrap().next_cursor.unwrap();

    let refused = |report: &str, pairs: &[(&str, &str)]| {
        let raw = RawParams::from_pairs(pairs.iter().copied()).unwrap();
        let parsed = ReportParams::parse((end, AsOfSource::EndOfData), &raw);
        match parsed.and_then(|p| run(report, &model, &settings, &p)) {
            Err(ReportError::Parameter {
                name: "cursor",
                reason,
            }) => reason,
            other => panic!("{report} {pairs:?}: {other:?}"),
        }
    };
    assert!(refused("signals", &[("cursor", &cursor)]).contains("another report"));
    assert!(
        refused("accounts", &[("cursor", &cursor), ("sort", "health")])
            .contains("other parameters")
    );
    assert!(
        refused("accounts", &[("cursor", &cursor), ("as_of", "2024-01-01")])
            .contains("leave as_of out")
    );
    assert!(refused("accounts", &[("cursor", "p1.5.x")]).contains("not a cursor tenure gave"));
    // A later page may take another size.
    let raw = RawParams::from_pairs([("cursor", cursor.as_str()), ("limit", "3")]).unwrap();
    let page = run(
        "accounts",
        &model,
        &settings,
        &ReportParams::parse((end, AsOfSource::EndOfData), &raw).unwrap(),
    )
    .unwrap();
    assert_eq!((page.rows.len(), page.page.unwrap().offset), (3, 5));
}
