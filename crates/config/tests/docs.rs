//! The user documentation under `docs/` against the code: every report tenure has is
//! documented in `docs/reports.md`, with exactly the flags it takes, and no section documents a
//! report that does not exist; so a report added, renamed or given a flag without its
//! documentation fails here.

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

/// The "Flags:" paragraph of the report's section: from that word to the next blank line.
fn flags_paragraph(report: &str) -> &'static str {
    // `### \`account ACCOUNT\`` is not the section of `accounts`.
    let start = [format!("### `{report}`"), format!("### `{report} ")]
        .iter()
        .find_map(|heading| REPORTS_DOC.find(heading.as_str()))
        .unwrap_or_else(|| panic!("no section for {report}"));
    let section = &REPORTS_DOC[start..];
    let flags = section
        .find("\nFlags:")
        .unwrap_or_else(|| panic!("the section of {report} has no Flags: paragraph"));
    let paragraph = &section[flags + 1..];
    &paragraph[..paragraph.find("\n\n").unwrap_or(paragraph.len())]
}

#[test]
fn every_report_section_names_exactly_the_flags_it_takes() {
    let every_flag: BTreeSet<&str> = tenure_reports::CATALOG
        .iter()
        .flat_map(|spec| spec.params.iter().map(|p| p.flag()))
        .collect();
    assert!(every_flag.contains("--sort") && every_flag.contains("ACCOUNT"));
    for spec in tenure_reports::CATALOG {
        let paragraph = flags_paragraph(spec.name);
        // The first word of each `code span`: `--proposed FILE` names --proposed.
        let named: BTreeSet<&str> = paragraph
            .split('`')
            .skip(1)
            .step_by(2)
            .filter_map(|span| span.split(' ').next())
            .filter(|word| every_flag.contains(word))
            .collect();
        let takes: BTreeSet<&str> = spec.params.iter().map(|p| p.flag()).collect();
        assert_eq!(
            named, takes,
            "docs/reports.md's flags of {} (left) are not the ones it takes (right): {paragraph}",
            spec.name
        );
    }
}
