use tenure_engine::snapshot::Reads;
use tenure_runtime::{status, Status};

use crate::stdout::{out, outln};
use crate::{serve, server_file, Context, Format};

pub fn run(ctx: &Context, format: Format) -> anyhow::Result<()> {
    // Only JSON is printed as the server sends it: the table is laid out from a `Status`.
    if format == Format::Json {
        if let Some(status) = server_file::ask_ctx(ctx, "/api/v1/status") {
            outln!("{}", server_file::pretty(&status));
            return Ok(());
        }
    }
    let store = ctx.open_store_to_read()?;
    // The counts read the ledger and the identities and touchpoints, not usage or success.
    let reads = Reads::LEDGER.with(Reads::JOURNEYS);
    let live = serve::rebuild_reading(ctx, store.as_ref(), reads)?;
    let report = status(
        store.as_ref(),
        &live,
        &ctx.workspace,
        &ctx.config.report_settings(),
    )?;
    match format {
        Format::Json => outln!("{}", serde_json::to_string_pretty(&report)?),
        Format::Table => out!("{}", table(&report)),
    }
    serve::save_snapshot(ctx, &live);
    // The process exits now: freeing the model would only add time before the operating
    // system takes the memory back anyway.
    std::mem::forget(live);
    Ok(())
}

/// Status for a person: each section a table laid out by `tenure_reports::grid` (display
/// widths, counts right-aligned with thousands separators), indented under its title.
pub fn table(s: &Status) -> String {
    let n = |v: u64| tenure_reports::integer(i64::try_from(v).unwrap_or(i64::MAX));
    let indent = |table: String| -> String { table.lines().map(|l| format!("  {l}\n")).collect() };
    let mut out = format!("workspace {}\n\nentries by kind and source\n", s.workspace);
    let mut rows: Vec<Vec<String>> = s
        .entries_by_kind
        .iter()
        .map(|c| vec![c.kind.to_string(), c.source.to_string(), n(c.entries)])
        .collect();
    rows.push(vec!["total".into(), String::new(), n(s.entries)]);
    if s.unreadable_entries > 0 {
        rows.push(vec![
            "unreadable".into(),
            String::new(),
            n(s.unreadable_entries as u64),
        ]);
    }
    out += &indent(tenure_reports::grid(
        Some(vec!["kind".into(), "source".into(), "entries".into()]),
        rows,
        &[false, false, true],
    ));
    if s.unreadable_entries > 0 {
        out += "  (unreadable entries are left out of every figure; list them with `tenure log unreadable`)\n";
    }
    out += "\n";
    if !s.uninterpreted_events.is_empty() {
        out += "webhook events that cannot be interpreted (kept in the log, changing no figure)\n";
        for e in &s.uninterpreted_events {
            out += &format!("  {}: {}\n", e.event_id, e.reason);
        }
        out += "\n";
    }
    if !s.amounts_without_rate.is_empty() {
        out += "amounts in unconfigured currencies (left out of every report until [currency.rates] gives a rate)\n";
        let rows = s
            .amounts_without_rate
            .iter()
            .map(|(currency, k)| vec![currency.to_string(), n(*k)])
            .collect();
        out += &indent(tenure_reports::grid(None, rows, &[false, true]));
        out += "\n";
    }
    let model = [
        ("accounts", s.model.accounts),
        ("persons", s.model.persons),
        ("anonymous ids", s.model.anonymous_ids),
        ("touchpoints", s.model.touchpoints),
    ];
    let rows = model
        .iter()
        .map(|(what, k)| vec![(*what).to_owned(), n(*k)])
        .collect();
    out += &indent(tenure_reports::grid(None, rows, &[false, true]));
    out += "\ntouchpoints by channel\n";
    let rows = s
        .model
        .touchpoints_by_channel
        .iter()
        .map(|(channel, k)| vec![channel.to_string(), n(*k)])
        .collect();
    out += &indent(tenure_reports::grid(None, rows, &[false, true]));
    out
}
