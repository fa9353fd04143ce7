use tenure_server::{status, Status};

use crate::stdout::{out, outln};
use crate::{serve, Context, Format};

pub fn run(ctx: &Context, format: Format) -> anyhow::Result<()> {
    let store = ctx.open_store_to_read()?;
    let live = serve::rebuild(ctx, &store)?;
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
    Ok(())
}

pub fn table(s: &Status) -> String {
    let mut out = format!("workspace {}\n\nentries by kind and source\n", s.workspace);
    out += &format!("  {:<14} {:<8} {:>12}\n", "kind", "source", "entries");
    for c in &s.entries_by_kind {
        out += &format!("  {:<14} {:<8} {:>12}\n", c.kind, c.source, c.entries);
    }
    out += &format!("  {:<23} {:>12}\n", "total", s.entries);
    if s.unreadable_entries > 0 {
        out += &format!(
            "  {:<23} {:>12}   (left out of every figure; list them with `tenure log unreadable`)\n",
            "unreadable", s.unreadable_entries
        );
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
        for (currency, n) in &s.amounts_without_rate {
            out += &format!("  {:<23} {:>12}\n", currency, n);
        }
        out += "\n";
    }
    out += &format!("  {:<23} {:>12}\n", "accounts", s.model.accounts);
    out += &format!("  {:<23} {:>12}\n", "persons", s.model.persons);
    out += &format!("  {:<23} {:>12}\n", "anonymous ids", s.model.anonymous_ids);
    out += &format!(
        "  {:<23} {:>12}\n\ntouchpoints by channel\n",
        "touchpoints", s.model.touchpoints
    );
    for (channel, n) in &s.model.touchpoints_by_channel {
        out += &format!("  {:<23} {:>12}\n", channel, n);
    }
    out
}
