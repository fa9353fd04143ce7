//! The user documentation under `docs/` against the code: every report tenure has is
//! documented in `docs/reports.md`, and no section documents a report that does not exist, so a
//! report added (or renamed) without its documentation fails here.

use std::collections::BTreeSet;

const REPORTS_DOC: &str = include_str!("../../../docs/reports.md");

/// The reports `docs/reports.md` has a section for: its `### \`NAME` headings.
fn documented() -> BTreeSet<&'static str> {
    REPORTS_DOC
        .lines()
        .filter_map(|line| line.strip_prefix("### `"))
        .filter_map(|rest| rest.split(['`', ' ']).next())
        .collect()
}

#[test]
fn every_report_has_a_section_in_docs_reports_md() {
    let documented = documented();
    let missing: Vec<&&str> = tenure_reports::REPORTS
        .iter()
        .filter(|r| !documented.contains(**r))
        .collect();
    assert!(missing.is_empty(), "reports without a section: {missing:?}");
    let unknown: Vec<&&str> = documented
        .iter()
        .filter(|d| !tenure_reports::REPORTS.contains(d))
        .collect();
    assert!(unknown.is_empty(), "sections of no report: {unknown:?}");
    assert_eq!(documented.len(), tenure_reports::REPORTS.len());
}
