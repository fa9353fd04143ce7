//! `tenure backup DEST`: a copy of the embedded store taken while it serves.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::bail;

use crate::stdout::outln;
use crate::Context;

#[derive(Debug, clap::Args)]
pub struct BackupArgs {
    /// Directory to write the copy into, as `DEST/tenure.db`; created if missing, refused if
    /// it already holds a store. DEST is then a data directory of its own.
    pub dest: PathBuf,
}

/// Copies the data directory's store into `args.dest` and says what the copy holds: every
/// entry committed (so every message acknowledged) before the copy began.
pub fn run(ctx: &Context, args: BackupArgs) -> anyhow::Result<()> {
    if let Some(url) = ctx.database() {
        bail!(
            "--database {url:?}: back a PostgreSQL store up with pg_dump; `tenure backup` copies \
             the embedded store in --data-dir"
        );
    }
    ctx.require_store()?;
    let source = ctx.data_dir_or_default();
    eprintln!(
        "backing up the store in {} to {} (the server, if any, goes on serving)",
        source.display(),
        args.dest.display()
    );
    let started = Instant::now();
    let summary = tenure_store::backup_dir(&source, &args.dest)?;
    outln!(
        "backed up {} entries (log through seq {}), {:.1} MB, to {} in {:.1} s",
        summary.entries,
        summary.last_seq,
        summary.bytes as f64 / 1e6,
        summary.path.display(),
        started.elapsed().as_secs_f64()
    );
    eprintln!(
        "to restore: stop tenure, set the data directory aside, and start tenure with \
         --data-dir {} (or copy it into place); see docs/operations.md",
        args.dest.display()
    );
    Ok(())
}
