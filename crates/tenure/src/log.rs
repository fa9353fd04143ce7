//! `tenure log`: looks at the log itself rather than at what is derived from it.

use tenure_store::{Store, Unreadable};

use crate::stdout::outln;
use crate::{Context, Format};

/// Entries read per page while scanning.
const PAGE: usize = 10_000;

/// `tenure log unreadable`: every entry of the workspace's log that cannot be read back. The
/// scan reads the log without building the model, so it works however large the store is.
pub fn unreadable(ctx: &Context, format: Format) -> anyhow::Result<()> {
    let store = ctx.open_store_to_read()?;
    let found = scan(store.as_ref(), ctx)?;
    match format {
        Format::Json => outln!("{}", serde_json::to_string_pretty(&found)?),
        Format::Table => {
            if found.is_empty() {
                eprintln!("every entry of workspace {} can be read", ctx.workspace);
            }
            for u in &found {
                outln!(
                    "seq {}  {}  received {}\n  reason: {}\n  stored: {}",
                    u.seq,
                    u.kind,
                    u.received_at,
                    u.reason,
                    u.stored
                );
            }
        }
    }
    Ok(())
}

fn scan(store: &dyn Store, ctx: &Context) -> anyhow::Result<Vec<Unreadable>> {
    let mut found = Vec::new();
    let mut after = 0;
    loop {
        let page = store.read_log(&ctx.workspace, after, PAGE)?;
        let last = page.last_seq();
        found.extend(page.unreadable);
        match last {
            Some(seq) => after = seq,
            None => return Ok(found),
        }
    }
}
