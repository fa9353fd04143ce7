//! `tenure import`: backfills from events.ndjson and the CSV files of SPEC §2.3.
//!
//! Without `--skip-invalid` a file is read twice: once to check every row, then to store them,
//! so a bad row leaves the store untouched while memory stays bounded however large the file.
//!
//! Into a store that holds no entry yet (a first import), the model is built as the entries
//! are stored, applied in log order as each batch becomes durable, and saved as the
//! workspace's snapshot at the end: the first command after the import starts from it rather
//! than replaying the whole log.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, SyncSender};

use anyhow::{bail, Context as _};
use clap::Args;
use rayon::prelude::*;
use tenure_core::{Entry, EntryBody, Source, StoredEntry, Timestamp};
use tenure_ingest::csv::{read_csv, CsvKind};
use tenure_ingest::segment::parse_message;
use tenure_reports::ReportSettings;
use tenure_runtime::Live;
use tenure_store::Store;

use crate::progress::{Progress, Reading, Unit};
use crate::stdout::outln;
use crate::{serve, Context, Usage};

/// Entries per append, each one transaction: large, because a transaction rewrites every index
/// page its rows land on (random `messageId`s touch most of the natural-key index), yet bounded
/// for memory and for how long another writer of the store waits for SQLite's lock. 65,536:
/// as fast as 131,072 (within noise, 2.1M events) for ~430 MB less at the peak of a first
/// import, which also holds the model it builds; 32,768 took ~1 s longer (BENCHMARKS.md,
/// "Import (issue 14)" and "Issue 14: cold import (COLD)").
const APPEND_BATCH: usize = 65_536;
/// Lines of events.ndjson read at a time and parsed together, in parallel.
const EVENT_CHUNK_LINES: usize = 8_192;
/// Lines parsed per parallel task.
const PARSE_TASK_LINES: usize = 256;

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Files to import; the kind comes from the name (events.ndjson, accounts.csv, …) unless
    /// --kind says. Gzip-compressed files are read as they are (events.ndjson.gz, …).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// The kind of every file: events, accounts, subscriptions, deals, spend or touchpoints.
    #[arg(long)]
    pub kind: Option<String>,
    /// Go on past invalid rows, list them on stderr, and store the valid ones.
    #[arg(long)]
    pub skip_invalid: bool,
}

#[derive(Debug, Clone, Copy)]
enum FileKind {
    Events,
    Csv(CsvKind),
}

impl FileKind {
    fn name(self) -> &'static str {
        match self {
            FileKind::Events => "events",
            FileKind::Csv(kind) => kind.name(),
        }
    }

    fn detect(path: &Path, forced: Option<&str>) -> anyhow::Result<Self> {
        let from_name = |name: &str| -> Option<FileKind> {
            if name == "events" {
                Some(FileKind::Events)
            } else {
                CsvKind::from_name(name).map(FileKind::Csv)
            }
        };
        let forced = forced
            .map(|forced| {
                from_name(forced).ok_or_else(|| {
                    Usage(format!(
                        "--kind {forced:?} is not a kind (expected one of events, accounts, \
                         subscriptions, deals, spend, touchpoints)"
                    ))
                })
            })
            .transpose()?;
        if !path.is_file() {
            let what = if path.exists() {
                "is not a file"
            } else {
                "no such file"
            };
            bail!("{}: {what}", path.display());
        }
        if let Some(kind) = forced {
            return Ok(kind);
        }
        let file_name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        // A compressed file is the kind its name says without the `.gz`.
        let file_name = file_name.strip_suffix(".gz").unwrap_or(file_name);
        if file_name.ends_with(".ndjson") || file_name.ends_with(".jsonl") {
            return Ok(FileKind::Events);
        }
        CsvKind::from_file_name(file_name).map(FileKind::Csv).with_context(|| {
            format!(
                "{}: cannot tell the kind from the file name; name it events.ndjson, accounts.csv, subscriptions.csv, deals.csv, spend.csv or touchpoints.csv, or pass --kind",
                path.display()
            )
        })
    }
}

/// A row that cannot be imported, where it is and why.
struct Problem {
    line: u64,
    column: Option<String>,
    reason: String,
}

impl Problem {
    fn describe(&self, path: &Path) -> String {
        match &self.column {
            Some(column) => format!(
                "{}:{}: column {column}: {}",
                path.display(),
                self.line,
                self.reason
            ),
            None => format!("{}:{}: {}", path.display(), self.line, self.reason),
        }
    }
}

#[derive(Default)]
struct Tally {
    rows: u64,
    stored: u64,
    duplicates: u64,
    skipped: u64,
}

pub fn run(ctx: &Context, args: ImportArgs) -> anyhow::Result<()> {
    // A missing file or an unknown kind is found before a store is created for nothing.
    let kinds = kinds(&args)?;
    let store = ctx.open_store()?;
    import_files(ctx, store.as_ref(), args, kinds)
}

fn kinds(args: &ImportArgs) -> anyhow::Result<Vec<FileKind>> {
    args.files
        .iter()
        .map(|path| FileKind::detect(path, args.kind.as_deref()))
        .collect()
}

/// Imports into an already open store.
///
/// Without `--skip-invalid`, every file is checked before any is stored, so a bad row in the
/// last file leaves the store as it was, whatever came before it.
pub fn run_with_store(ctx: &Context, store: &dyn Store, args: ImportArgs) -> anyhow::Result<()> {
    let kinds = kinds(&args)?;
    import_files(ctx, store, args, kinds)
}

/// What every file of one import is read with.
struct Importing<'a> {
    ctx: &'a Context,
    settings: ReportSettings,
}

/// `run_with_store` once each file's kind is known.
fn import_files(
    ctx: &Context,
    store: &dyn Store,
    args: ImportArgs,
    kinds: Vec<FileKind>,
) -> anyhow::Result<()> {
    let importing = Importing {
        ctx,
        settings: ctx.config.report_settings(),
    };
    let received_at = Timestamp::from_datetime(chrono::Utc::now());
    if !args.skip_invalid {
        for (path, &kind) in args.files.iter().zip(&kinds) {
            check_file(&importing, path, kind, received_at)?;
        }
    }
    // Only from an empty log is the model of what this import stores the whole model; into a
    // store with entries already, the next command catches up from its snapshot as before.
    let model = (store.stable_through()? == 0).then(|| Live::empty(ctx.config.engine()));
    std::thread::scope(|scope| {
        // Each batch is applied as soon as it is durable, on a thread of its own, so the model
        // grows while the next batches are parsed and written.
        let (to_model, applier) = match &model {
            Some(live) => {
                let (to_model, batches) = mpsc::sync_channel::<Vec<StoredEntry>>(1);
                let applier = scope.spawn(move || {
                    for batch in batches {
                        live.apply(&batch);
                    }
                });
                (Some(to_model), Some(applier))
            }
            None => (None, None),
        };
        let stored = store_files(&importing, store, &args, &kinds, received_at, to_model);
        if let Some(applier) = applier {
            applier.join().expect("the model's applier does not panic");
        }
        stored
    })?;
    if let Some(live) = &model {
        save_snapshot(ctx, store, live);
    }
    Ok(())
}

/// Saves the model the import built, once everything it stored is durable, as the workspace's
/// snapshot. The log is caught up first: that settles the model's position, and takes in what
/// another process appended meanwhile, so the snapshot is what a full replay would save. A
/// snapshot is only a cache: one that cannot be made or written is said in the log and left
/// out, and the import, stored whole, still succeeds.
fn save_snapshot(ctx: &Context, store: &dyn Store, live: &Live) {
    if let Err(e) = live.catch_up(store) {
        tracing::info!(
            workspace = %ctx.workspace,
            error = %e,
            "cannot read the log back to save a snapshot; the next command replays the log"
        );
        return;
    }
    serve::save_snapshot_after(ctx, live, 1, "of the imported log for the next command");
}

/// The store pass over every file, in turn; each file's new entries go to `to_model` once
/// durable.
fn store_files(
    importing: &Importing,
    store: &dyn Store,
    args: &ImportArgs,
    kinds: &[FileKind],
    received_at: Timestamp,
    to_model: Option<SyncSender<Vec<StoredEntry>>>,
) -> anyhow::Result<()> {
    for (done, (path, &kind)) in args.files.iter().zip(kinds).enumerate() {
        // The ignored columns were named while checking, unless nothing was checked.
        let first_read = args.skip_invalid;
        let tally = import_file(
            importing,
            store,
            path,
            kind,
            received_at,
            first_read,
            to_model.as_ref(),
        )
        .map_err(|e| {
            let stored: Vec<String> = args.files[..done]
                .iter()
                .map(|p| p.display().to_string())
                .collect();
            match stored.as_slice() {
                [] => e,
                _ => e.context(format!(
                    "{} stopped; {} were stored whole before it, and importing them again \
                         changes nothing",
                    path.display(),
                    stored.join(", ")
                )),
            }
        })?;
        outln!(
            "{}: {} rows of {}, {} stored, {} already present, {} skipped",
            path.display(),
            tally.rows,
            kind.name(),
            tally.stored,
            tally.duplicates,
            tally.skipped
        );
    }
    Ok(())
}

/// Reads the whole file, failing at its first bad row.
fn check_file(
    importing: &Importing,
    path: &Path,
    kind: FileKind,
    received_at: Timestamp,
) -> anyhow::Result<()> {
    let mut first = None;
    each_row(importing, path, kind, received_at, Pass::Check, |row| {
        if let Err(problem) = row {
            first.get_or_insert(problem);
        }
        Ok(first.is_none())
    })?;
    match first {
        Some(problem) => bail!(
            "{} (nothing was imported; fix the row or pass --skip-invalid)",
            problem.describe(path)
        ),
        None => Ok(()),
    }
}

fn import_file(
    importing: &Importing,
    store: &dyn Store,
    path: &Path,
    kind: FileKind,
    received_at: Timestamp,
    first_read: bool,
    to_model: Option<&SyncSender<Vec<StoredEntry>>>,
) -> anyhow::Result<Tally> {
    let ctx = importing.ctx;
    let mut tally = Tally::default();
    // Batches are appended on a thread of their own, so reading and parsing the next batch goes
    // on while the store writes this one. The store takes them in file order, so of two rows
    // with one natural key the first is the one stored, as when appended one by one.
    std::thread::scope(|scope| {
        let (batches, to_append) = mpsc::sync_channel::<Vec<Entry>>(1);
        let appender = scope.spawn(move || {
            let mut send = |stored: Vec<StoredEntry>| {
                if let Some(to_model) = to_model {
                    // The applier only stops when it panicked, which the import reports.
                    let _ = to_model.send(stored);
                }
            };
            let stored: Option<&mut dyn FnMut(Vec<StoredEntry>)> = match to_model {
                Some(_) => Some(&mut send),
                None => None,
            };
            store.append_batches(&mut to_append.into_iter(), stored)
        });
        let mut batch = Vec::with_capacity(APPEND_BATCH);
        let read = each_row(
            importing,
            path,
            kind,
            received_at,
            Pass::Import { first_read },
            |row| {
                tally.rows += 1;
                match row {
                    Ok(body) => {
                        batch.push(Entry {
                            workspace: ctx.workspace.clone(),
                            source: Source::Import,
                            received_at,
                            body,
                        });
                        // The appender stops taking batches only when an append failed: stop
                        // reading and report its error.
                        if batch.len() >= APPEND_BATCH
                            && batches.send(std::mem::take(&mut batch)).is_err()
                        {
                            return Ok(false);
                        }
                    }
                    Err(problem) => {
                        tally.skipped += 1;
                        eprintln!("skipped {}", problem.describe(path));
                    }
                }
                Ok(true)
            },
        );
        if !batch.is_empty() {
            let _ = batches.send(batch);
        }
        drop(batches);
        let loaded = appender.join().expect("the appender does not panic")?;
        read?;
        tally.stored = loaded.stored;
        tally.duplicates = loaded.duplicates;
        Ok(tally)
    })
}

/// A row whose amount is in a currency the configuration cannot convert: every report would
/// have to leave it out, so an import refuses it (a webhook, which cannot be refused, is kept
/// and flagged instead).
fn unconvertible(settings: &ReportSettings, body: &EntryBody) -> Option<Problem> {
    let money = match body {
        EntryBody::Subscription(r) => r.mrr,
        EntryBody::Deal(r) => r.amount,
        EntryBody::Spend(r) => r.cost,
        _ => return None,
    };
    if settings.converts(money.currency) {
        return None;
    }
    Some(Problem {
        line: 0,
        column: Some("currency".to_owned()),
        reason: format!(
            "{} has no rate to the reporting currency {}: add `{} = <rate>` under \
             [currency.rates] in the configuration",
            money.currency, settings.currency, money.currency
        ),
    })
}

/// What a file is read for.
#[derive(Debug, Clone, Copy)]
enum Pass {
    /// Every row checked before anything is stored: only the problems are visited (the parsed
    /// rows are dropped where they were parsed, in parallel).
    Check,
    /// Every row visited to be stored; `first_read` when the file was not checked first.
    Import { first_read: bool },
}

impl Pass {
    fn verb(self) -> &'static str {
        match self {
            Pass::Check => "checking",
            Pass::Import { .. } => "importing",
        }
    }

    /// Whether this is the first time the file is read, to say which CSV columns are ignored
    /// once per file, not again when storing.
    fn first_read(self) -> bool {
        match self {
            Pass::Check => true,
            Pass::Import { first_read } => first_read,
        }
    }
}

/// Calls `visit` with every row of the file, parsed (with only the problems on a
/// [`Pass::Check`]), until it returns `false`.
fn each_row(
    importing: &Importing,
    path: &Path,
    kind: FileKind,
    received_at: Timestamp,
    pass: Pass,
    mut visit: impl FnMut(Result<EntryBody, Problem>) -> anyhow::Result<bool>,
) -> anyhow::Result<()> {
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    let progress = Progress::new(
        format!("{} {}", pass.verb(), path.display()),
        Unit::Bytes,
        Some(size),
        "{msg} [{bar:30}] {bytes}/{total_bytes} ({bytes_per_sec}, {eta})",
    );
    let mut counted = Reading::new(file, progress);
    let result = each_row_of(
        importing,
        path,
        kind,
        received_at,
        pass,
        &mut counted,
        &mut visit,
    );
    counted.finish();
    result
}

/// The rows of `file`, decompressed first when it starts with gzip's magic bytes (whatever
/// its name: a `.gz` renamed is still read).
fn each_row_of(
    importing: &Importing,
    path: &Path,
    kind: FileKind,
    received_at: Timestamp,
    pass: Pass,
    file: impl Read,
    visit: &mut impl FnMut(Result<EntryBody, Problem>) -> anyhow::Result<bool>,
) -> anyhow::Result<()> {
    let ctx = importing.ctx;
    let mut buffered = BufReader::new(file);
    let gzip = buffered
        .fill_buf()
        .with_context(|| format!("cannot read {}", path.display()))?
        .starts_with(&[0x1f, 0x8b]);
    let reader: Box<dyn Read + '_> = if gzip {
        // Multi-member, as `cat a.gz b.gz` and pigz write.
        Box::new(flate2::read::MultiGzDecoder::new(buffered))
    } else {
        Box::new(buffered)
    };
    match kind {
        FileKind::Events => each_event(ctx, reader, received_at, pass, visit)
            .with_context(|| format!("reading {}", path.display())),
        FileKind::Csv(csv_kind) => {
            let rows = read_csv(csv_kind, reader, ctx.config.reporting_currency())
                .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
            let ignored = rows.ignored_columns();
            if pass.first_read() && !ignored.is_empty() {
                eprintln!(
                    "{}: ignoring column{} {} (not {} columns: {})",
                    path.display(),
                    if ignored.len() == 1 { "" } else { "s" },
                    ignored.join(", "),
                    csv_kind.name(),
                    csv_kind.columns().join(", ")
                );
            }
            for row in rows {
                let row = row
                    .map_err(|e| Problem {
                        line: e.line,
                        column: e.column.clone(),
                        reason: e.reason.clone(),
                    })
                    .and_then(|r| match unconvertible(&importing.settings, &r.body) {
                        Some(problem) => Err(Problem {
                            line: r.line,
                            ..problem
                        }),
                        None => Ok(r.body),
                    });
                if matches!(pass, Pass::Check) && row.is_ok() {
                    continue;
                }
                if !visit(row)? {
                    break;
                }
            }
            Ok(())
        }
    }
}

fn each_event(
    ctx: &Context,
    reader: impl Read,
    received_at: Timestamp,
    pass: Pass,
    visit: &mut impl FnMut(Result<EntryBody, Problem>) -> anyhow::Result<bool>,
) -> anyhow::Result<()> {
    let limits = ctx.config.ingest.limits();
    let mut reader = BufReader::with_capacity(1 << 20, reader);
    let mut number = 0u64;
    loop {
        // A chunk of lines is read into one buffer, parsed in parallel, and visited in order.
        let mut text = Vec::new();
        let mut lines: Vec<(u64, Range<usize>)> = Vec::with_capacity(EVENT_CHUNK_LINES);
        while lines.len() < EVENT_CHUNK_LINES {
            let start = text.len();
            if reader.read_until(b'\n', &mut text)? == 0 {
                break;
            }
            number += 1;
            let mut line = start..text.len();
            // Spreadsheet tools and Windows editors start UTF-8 files with a byte-order mark;
            // the CSV reader skips it, and so does this.
            if number == 1 && text[line.clone()].starts_with(b"\xEF\xBB\xBF") {
                line.start += 3;
            }
            if !text[line.clone()].iter().all(u8::is_ascii_whitespace) {
                lines.push((number, line));
            }
        }
        if lines.is_empty() {
            return Ok(());
        }
        let parse = |(number, line): (u64, Range<usize>)| {
            parse_message(&text[line], received_at, &limits)
                .map(EntryBody::Segment)
                .map_err(|e| Problem {
                    line: number,
                    column: None,
                    reason: e.to_string(),
                })
        };
        let rows: Vec<Result<EntryBody, Problem>> = match pass {
            Pass::Check => lines
                .into_par_iter()
                .with_min_len(PARSE_TASK_LINES)
                .filter_map(|line| parse(line).err().map(Err))
                .collect(),
            Pass::Import { .. } => lines
                .into_par_iter()
                .with_min_len(PARSE_TASK_LINES)
                .map(parse)
                .collect(),
        };
        for row in rows {
            if !visit(row)? {
                return Ok(());
            }
        }
    }
}
