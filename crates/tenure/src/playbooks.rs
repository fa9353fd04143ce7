//! `tenure playbooks …` and `tenure tasks …`: what the playbooks did, the delivery outbox,
//! retries, and tasks. The same parsing, the same answers and so the same JSON as the API
//! (`tenure_server::playbooks`); this module only reads flags and lays out tables.

use std::sync::Arc;

use clap::{Args, Subcommand};
use tenure_core::Timestamp;
use tenure_server::playbooks::{self as views, ActionsError, DeliveryView, RetryAnswer, TaskView};
use tenure_store::{Store, TaskChange};

use crate::progress::{Progress, Unit};
use crate::stdout::outln;
use crate::{Context, Format, Usage};

#[derive(Debug, Subcommand)]
pub enum PlaybooksCommand {
    /// List the configured playbooks with their firings and deliveries by status.
    #[command(
        after_help = "Examples:\n  tenure playbooks list\n  tenure playbooks list --format json"
    )]
    List {
        /// `table` for people; `json` (the API's) for programs.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// The audit log of firings, newest first, with their deliveries' statuses.
    #[command(
        after_help = "Examples:\n  tenure playbooks log\n  tenure playbooks log --playbook renewal_90 --since 2026-01-01\n  tenure playbooks log --account acme --limit 20 --format json"
    )]
    Log(LogArgs),
    /// One account's playbooks: its owner, team and SLA, its open tasks, and its latest
    /// firings with each delivery's status, attempts, last response code and times.
    #[command(
        after_help = "Examples:\n  tenure playbooks account acme\n  tenure playbooks account acme --format json"
    )]
    Account {
        /// The account's id.
        account: String,
        /// `table` for people; `json` (the API's) for programs.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// The delivery outbox, newest first; with an ID, that delivery and every attempt.
    #[command(
        after_help = "Examples:\n  tenure playbooks deliveries --status dead\n  tenure playbooks deliveries --destination crm_webhook --limit 20\n  tenure playbooks deliveries 42"
    )]
    Deliveries(DeliveriesArgs),
    /// What the playbooks would do now, sending nothing: who each matches, with the deliveries
    /// its actions would make; with --account, that account step by step.
    #[command(
        after_help = "Examples:\n  tenure playbooks dry-run\n  tenure playbooks dry-run --playbook usage_drop_task --account acct_0042\n  tenure playbooks dry-run --format json"
    )]
    DryRun(DryRunArgs),
    /// What the playbooks would have fired over the last days of the log, and when: the log
    /// replayed as a server running through those days would have acted on it, sending
    /// nothing.
    #[command(
        after_help = "Examples:\n  tenure playbooks replay --days 30\n  tenure playbooks replay --days 7 --playbook usage_drop_task --format json\n  tenure playbooks replay --days 90 --tick 1h\n\nEvery playbook is supposed switched on at the window's start, with no firing before it;\nthe state and calendar triggers are evaluated at each tick (default: each midnight UTC).\nA playbook switched off fires nothing: to try one, replay with a copy of the\nconfiguration where it is on (--config)."
    )]
    Replay(ReplayArgs),
    /// Make a dead delivery pending and due now (a delivered one is refused).
    #[command(
        after_help = "Examples:\n  tenure playbooks retry 42\n  tenure playbooks retry --all-dead\n\nA running server attempts it at its next pass (within seconds)."
    )]
    Retry(RetryArgs),
}

#[derive(Debug, Args)]
pub struct LogArgs {
    /// Only this playbook's firings.
    #[arg(long)]
    playbook: Option<String>,
    /// Only this account's firings.
    #[arg(long)]
    account: Option<String>,
    /// Only firings at or after this instant (RFC 3339, or a date: its midnight UTC).
    #[arg(long, value_name = "DATE")]
    since: Option<String>,
    /// At most this many (1 to 10000; default 100).
    #[arg(long, value_name = "N")]
    limit: Option<String>,
    /// `table` for people; `json` (the API's) for programs.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

#[derive(Debug, Args)]
pub struct DeliveriesArgs {
    /// Show this delivery with its payload and attempts instead of a list.
    id: Option<String>,
    /// Only deliveries with this status.
    #[arg(long, value_parser = ["pending", "delivered", "dead"])]
    status: Option<String>,
    #[arg(long)]
    playbook: Option<String>,
    #[arg(long)]
    account: Option<String>,
    /// The configured destination's name.
    #[arg(long)]
    destination: Option<String>,
    /// At most this many (1 to 10000; default 100).
    #[arg(long, value_name = "N")]
    limit: Option<String>,
    /// `table` for people; `json` (the API's) for programs.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

#[derive(Debug, Args)]
pub struct DryRunArgs {
    /// Only this playbook.
    #[arg(long)]
    playbook: Option<String>,
    /// Show this account step by step: every condition, the key it would fire under, and
    /// each action rendered.
    #[arg(long)]
    account: Option<String>,
    /// Score the accounts at this instant (RFC 3339, or a date: its midnight UTC); default now.
    #[arg(long, value_name = "DATE")]
    as_of: Option<String>,
    /// `table` for people; `json` (the API's) for programs.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// How many days back to replay (1 to 366).
    #[arg(long, value_name = "N")]
    days: String,
    /// Show only this playbook's firings (all are replayed: the daily cap is across them).
    #[arg(long)]
    playbook: Option<String>,
    /// The window's end (RFC 3339, or a date: its midnight UTC); default now.
    #[arg(long, value_name = "DATE")]
    until: Option<String>,
    /// How often the state and calendar triggers are evaluated: 1m to 1d (default 1d).
    #[arg(long, value_name = "SPAN")]
    tick: Option<String>,
    /// `table` for people; `json` (the API's) for programs.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

#[derive(Debug, Args)]
pub struct RetryArgs {
    /// The delivery's id, as `tenure playbooks deliveries` lists it.
    #[arg(required_unless_present = "all_dead", conflicts_with = "all_dead")]
    id: Option<String>,
    /// Every dead delivery of the workspace.
    #[arg(long)]
    all_dead: bool,
    /// `table` for people; `json` (the API's) for programs.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

#[derive(Debug, Subcommand)]
pub enum TasksCommand {
    /// List the tasks, by id, with their status now.
    #[command(
        after_help = "Examples:\n  tenure tasks list --status open\n  tenure tasks list --owner ana --format json"
    )]
    List {
        #[arg(long, value_parser = ["open", "snoozed", "done"])]
        status: Option<String>,
        #[arg(long)]
        owner: Option<String>,
        #[arg(long)]
        account: Option<String>,
        /// At most this many (1 to 10000; default 100).
        #[arg(long, value_name = "N")]
        limit: Option<String>,
        /// `table` for people; `json` (the API's) for programs.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Give a task to an owner.
    #[command(after_help = "Example:\n  tenure tasks assign 7 ana")]
    Assign {
        id: String,
        owner: String,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Mark a task done.
    #[command(after_help = "Example:\n  tenure tasks complete 7")]
    Complete {
        id: String,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Put a task off until a date or for a while; it is open again after.
    #[command(
        after_help = "Examples:\n  tenure tasks snooze 7 --for 3d\n  tenure tasks snooze 7 --until 2026-04-01"
    )]
    Snooze {
        id: String,
        /// Until this instant (RFC 3339, or a date: its midnight UTC); a past one ends a snooze.
        #[arg(
            long,
            value_name = "DATE",
            required_unless_present = "span",
            conflicts_with = "span"
        )]
        until: Option<String>,
        /// For this long from now: `3d`, `12h`, `30m`.
        #[arg(long = "for", id = "span", value_name = "SPAN")]
        span: Option<String>,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
}

/// A caller's mistake is a usage error (exit 2); the rest exit 1.
pub(crate) fn cli_error(e: ActionsError) -> anyhow::Error {
    match e {
        ActionsError::Parameter(message) => Usage(message).into(),
        other => other.into(),
    }
}

pub(crate) fn pairs(given: &[(&str, &Option<String>)]) -> Vec<(String, String)> {
    given
        .iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| ((*k).to_owned(), v.clone())))
        .collect()
}

pub(crate) fn now() -> Timestamp {
    Timestamp::from_datetime(chrono::Utc::now())
}

pub(crate) fn json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    outln!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

fn shown<T: ToString>(value: &Option<T>) -> String {
    value.as_ref().map_or_else(|| "-".to_owned(), T::to_string)
}

/// Opens the store to change it: it must exist and hold the workspace.
fn store_to_write(ctx: &Context) -> anyhow::Result<Arc<dyn Store>> {
    ctx.require_store()?;
    let store = ctx.open_store()?;
    ctx.require_workspace(store.as_ref())?;
    Ok(store)
}

pub fn run(ctx: &Context, command: PlaybooksCommand) -> anyhow::Result<()> {
    match command {
        PlaybooksCommand::List { format } => {
            let playbooks = views::configured(&ctx.config).map_err(cli_error)?;
            let store = ctx.open_store_to_read()?;
            let list =
                views::list(store.as_ref(), &ctx.workspace, &playbooks).map_err(cli_error)?;
            if format == Format::Json {
                return json(&list);
            }
            if list.playbooks.is_empty() {
                eprintln!("no playbooks are configured: add [[playbooks]] to the configuration file (docs/configuration.md)");
            }
            for p in &list.playbooks {
                outln!(
                    "{} ({}, {})",
                    p.name,
                    p.version,
                    if p.enabled { "enabled" } else { "disabled" }
                );
                outln!("  trigger   {}", p.trigger.text);
                outln!("  for whom  {}", p.for_whom);
                outln!("  limit     {}", p.limit);
                for a in &p.actions {
                    outln!(
                        "  step {}    {} {} after {}",
                        a.step,
                        a.kind,
                        a.destination
                            .as_deref()
                            .map_or(String::new(), |d| format!("to {d}")),
                        a.delay
                    );
                }
                outln!(
                    "  firings {}; deliveries: {} pending, {} delivered, {} dead",
                    p.firings,
                    p.deliveries.pending,
                    p.deliveries.delivered,
                    p.deliveries.dead
                );
            }
            Ok(())
        }
        PlaybooksCommand::Log(args) => {
            let filter = views::firing_filter(&pairs(&[
                ("playbook", &args.playbook),
                ("account", &args.account),
                ("since", &args.since),
                ("limit", &args.limit),
            ]))
            .map_err(cli_error)?;
            let store = ctx.open_store_to_read()?;
            let log =
                views::firing_log(store.as_ref(), &ctx.workspace, &filter).map_err(cli_error)?;
            if args.format == Format::Json {
                return json(&log);
            }
            outln!(
                "{:<25} {:<24} {:<20} {:<14} deliveries",
                "fired at",
                "playbook",
                "account",
                "period"
            );
            for f in &log.firings {
                let deliveries: Vec<String> = f
                    .deliveries
                    .iter()
                    .map(|d| format!("#{} {} {}", d.id, d.kind, d.status))
                    .collect();
                outln!(
                    "{:<25} {:<24} {:<20} {:<14} {}",
                    f.fired_at.to_string(),
                    f.playbook,
                    f.account,
                    f.period,
                    if deliveries.is_empty() {
                        "-".to_owned()
                    } else {
                        deliveries.join(", ")
                    }
                );
            }
            Ok(())
        }
        PlaybooksCommand::Account { account, format } => {
            let store = ctx.open_store_to_read()?;
            let view = views::account_playbooks(store.as_ref(), &ctx.workspace, &account, now())
                .map_err(cli_error)?;
            if format == Format::Json {
                return json(&view);
            }
            match &view.owner {
                None => outln!("{account}: not handed off (no team, no owner from a playbook)"),
                Some(o) => outln!(
                    "{account}: team {}, owner {}, since {}; SLA {} (due {})",
                    o.team,
                    o.owner.as_deref().unwrap_or("none (the team's queue)"),
                    o.since,
                    o.sla.replace('_', " "),
                    shown(&o.sla_due)
                ),
            }
            outln!("open tasks: {}", view.open_tasks.len());
            for t in &view.open_tasks {
                outln!(
                    "  #{} {} (owner {}, due {}, {})",
                    t.id,
                    t.title,
                    shown(&t.owner),
                    shown(&t.due_at),
                    t.playbook
                );
            }
            outln!(
                "{:<25} {:<24} {:<9} {:<10} {:>8} {:>5} {:<25} delivered at",
                "fired at",
                "playbook",
                "action",
                "status",
                "attempts",
                "code",
                "last attempt"
            );
            for r in &view.activity {
                outln!(
                    "{:<25} {:<24} {:<9} {:<10} {:>8} {:>5} {:<25} {}",
                    r.fired_at.to_string(),
                    r.playbook,
                    shown(&r.kind),
                    shown(&r.status),
                    r.attempts,
                    shown(&r.last_code),
                    shown(&r.last_attempt_at),
                    shown(&r.delivered_at)
                );
            }
            Ok(())
        }
        PlaybooksCommand::Deliveries(args) => deliveries(ctx, args),
        PlaybooksCommand::DryRun(args) => dry_run(ctx, args),
        PlaybooksCommand::Replay(args) => replay(ctx, args),
        PlaybooksCommand::Retry(args) => {
            let store = store_to_write(ctx)?;
            let answer = match &args.id {
                Some(id) => {
                    let id = views::delivery_id(id).map_err(cli_error)?;
                    views::retry(store.as_ref(), &ctx.workspace, id, now()).map_err(cli_error)?
                }
                None => {
                    views::retry_dead(store.as_ref(), &ctx.workspace, now()).map_err(cli_error)?
                }
            };
            eprintln!(
                "{} delivery(ies) pending and due now; a running server attempts them within seconds",
                answer.retried.len()
            );
            print_retried(&answer, args.format)
        }
    }
}

fn print_retried(answer: &RetryAnswer, format: Format) -> anyhow::Result<()> {
    if format == Format::Json {
        return json(answer);
    }
    delivery_table(&answer.retried);
    Ok(())
}

fn delivery_table(deliveries: &[DeliveryView]) {
    outln!(
        "{:<8} {:<10} {:<24} {:<20} {:<8} {:<16} {:<8} {:<25} last error",
        "id",
        "status",
        "playbook",
        "account",
        "kind",
        "destination",
        "attempts",
        "next attempt"
    );
    for d in deliveries {
        outln!(
            "{:<8} {:<10} {:<24} {:<20} {:<8} {:<16} {:<8} {:<25} {}",
            d.id,
            d.status,
            d.playbook,
            d.account,
            d.kind,
            d.destination,
            d.attempts,
            d.next_attempt_at.to_string(),
            shown(&d.last_error)
        );
    }
}

fn deliveries(ctx: &Context, args: DeliveriesArgs) -> anyhow::Result<()> {
    if let Some(id) = &args.id {
        let filters = [
            &args.status,
            &args.playbook,
            &args.account,
            &args.destination,
            &args.limit,
        ];
        if filters.iter().any(|f| f.is_some()) {
            return Err(Usage(format!(
                "with a delivery id ({id}) no filter applies; leave out --status, --playbook, --account, --destination and --limit"
            ))
            .into());
        }
        let id = views::delivery_id(id).map_err(cli_error)?;
        let store = ctx.open_store_to_read()?;
        let detail = views::delivery(store.as_ref(), &ctx.workspace, id).map_err(cli_error)?;
        if args.format == Format::Json {
            return json(&detail);
        }
        delivery_table(std::slice::from_ref(&detail.delivery));
        outln!("payload: {}", detail.payload);
        if let Some(lease) = &detail.lease {
            outln!("leased by {} until {}", lease.owner, lease.until);
        }
        outln!(
            "{:<8} {:<25} {:<10} {:<5} {:<9} error",
            "attempt",
            "at",
            "outcome",
            "code",
            "ms"
        );
        for a in &detail.attempts {
            outln!(
                "{:<8} {:<25} {:<10} {:<5} {:<9} {}",
                a.attempt,
                a.at.to_string(),
                a.outcome,
                shown(&a.code),
                a.duration_ms,
                shown(&a.error)
            );
        }
        return Ok(());
    }
    let filter = views::delivery_filter(&pairs(&[
        ("status", &args.status),
        ("playbook", &args.playbook),
        ("account", &args.account),
        ("destination", &args.destination),
        ("limit", &args.limit),
    ]))
    .map_err(cli_error)?;
    let store = ctx.open_store_to_read()?;
    let list = views::deliveries(store.as_ref(), &ctx.workspace, &filter).map_err(cli_error)?;
    if args.format == Format::Json {
        return json(&list);
    }
    delivery_table(&list.deliveries);
    Ok(())
}

fn task_table(tasks: &[TaskView]) {
    outln!(
        "{:<6} {:<8} {:<16} {:<20} {:<24} {:<25} title",
        "id",
        "status",
        "owner",
        "account",
        "playbook",
        "due"
    );
    for t in tasks {
        outln!(
            "{:<6} {:<8} {:<16} {:<20} {:<24} {:<25} {}",
            t.id,
            t.status,
            shown(&t.owner),
            t.account,
            t.playbook,
            shown(&t.due_at),
            t.title
        );
    }
}

pub fn run_tasks(ctx: &Context, command: TasksCommand) -> anyhow::Result<()> {
    let (id, change, format) = match command {
        TasksCommand::List {
            status,
            owner,
            account,
            limit,
            format,
        } => {
            let filter = views::task_filter(&pairs(&[
                ("status", &status),
                ("owner", &owner),
                ("account", &account),
                ("limit", &limit),
            ]))
            .map_err(cli_error)?;
            let store = ctx.open_store_to_read()?;
            let list =
                views::tasks(store.as_ref(), &ctx.workspace, &filter, now()).map_err(cli_error)?;
            if format == Format::Json {
                return json(&list);
            }
            task_table(&list.tasks);
            return Ok(());
        }
        TasksCommand::Assign { id, owner, format } => {
            (id, Ok(TaskChange::Assign(Some(owner))), format)
        }
        TasksCommand::Complete { id, format } => (id, Ok(TaskChange::Complete), format),
        TasksCommand::Snooze {
            id,
            until,
            span,
            format,
        } => {
            let change = views::snooze_until(until.as_deref(), span.as_deref(), now())
                .map(|until| TaskChange::Snooze { until });
            (id, change, format)
        }
    };
    let id = views::task_id(&id).map_err(cli_error)?;
    let change = change.map_err(cli_error)?;
    let store = store_to_write(ctx)?;
    let task = views::change_task(store.as_ref(), &ctx.workspace, id, &change, now())
        .map_err(cli_error)?;
    if format == Format::Json {
        return json(&task);
    }
    task_table(std::slice::from_ref(&task));
    Ok(())
}

/// `tenure playbooks dry-run`: every account scored afresh at `--as-of` (default now) from the
/// store's log, as `GET /api/v1/playbooks/dry_run` scores the server's live model, each
/// playbook evaluated against them; nothing is recorded or sent.
fn dry_run(ctx: &Context, args: DryRunArgs) -> anyhow::Result<()> {
    let query = views::dry_run_query(&pairs(&[
        ("playbook", &args.playbook),
        ("account", &args.account),
        ("as_of", &args.as_of),
    ]))
    .map_err(cli_error)?;
    let playbooks = views::configured(&ctx.config).map_err(cli_error)?;
    let chosen = views::chosen(&playbooks, query.playbook.as_deref()).map_err(cli_error)?;
    let store = ctx.open_store_to_read()?;
    let live = crate::serve::rebuild(ctx, store.as_ref())?;
    let settings = ctx.config.report_settings();
    let as_of = query.as_of.unwrap_or_else(now);
    let statuses =
        views::statuses_at(&live, &ctx.workspace, &settings, as_of).map_err(cli_error)?;
    let answer = views::dry_run(
        store.as_ref(),
        &ctx.workspace,
        &chosen,
        query.account.as_deref(),
        &statuses,
        as_of,
    )
    .map_err(cli_error)?;
    if args.format == Format::Json {
        return json(&answer);
    }
    match answer {
        views::DryRun::Matching { as_of, playbooks } => {
            outln!(
                "as of {as_of}, {} accounts scored; nothing is recorded or sent",
                statuses.len()
            );
            for p in playbooks {
                let actions: Vec<String> = p
                    .actions
                    .iter()
                    .map(|a| match &a.destination {
                        Some(d) => format!("{} {} to {d}", a.deliveries, a.kind),
                        None => format!("{} {}", a.deliveries, a.kind),
                    })
                    .collect();
                let shown: Vec<&str> = p.accounts.iter().take(10).map(String::as_str).collect();
                let more = if p.matching > shown.len() {
                    ", …"
                } else {
                    ""
                };
                let who = if shown.is_empty() {
                    String::new()
                } else {
                    format!(" ({}{more})", shown.join(", "))
                };
                let off = if p.enabled { "" } else { " [switched off]" };
                if p.trigger == "change" || p.trigger == "sla_breached" {
                    let on = if p.trigger == "change" {
                        "a change"
                    } else {
                        "a handoff's SLA breach"
                    };
                    outln!(
                        "{}{off}: fires on {on}, for the {} accounts its filters hold for{who}; each firing would make {}",
                        p.playbook,
                        p.matching,
                        actions.iter().map(|a| a.trim_start_matches(|c: char| c.is_ascii_digit()).trim()).collect::<Vec<_>>().join(", ")
                    );
                } else {
                    outln!(
                        "{}{off} ({} trigger): {} accounts match now{who}; would make {}",
                        p.playbook,
                        p.trigger,
                        p.matching,
                        actions.join(", ")
                    );
                }
            }
        }
        views::DryRun::Account { as_of, explained } => {
            for e in explained {
                outln!("{} for {} (as of {as_of}):", e.playbook, e.account);
                for c in &e.checks {
                    outln!(
                        "  {} {}: {}",
                        if c.held { "held  " } else { "failed" },
                        c.condition,
                        c.found
                    );
                }
                match &e.firing_key {
                    Some(key) => outln!("  would fire now as {key}"),
                    None => outln!("  would not fire now"),
                }
                for a in &e.actions {
                    outln!(
                        "  {}{}{}: {}",
                        a.kind,
                        a.destination
                            .as_deref()
                            .map(|d| format!(" to {d}"))
                            .unwrap_or_default(),
                        a.due_at.map(|t| format!(" at {t}")).unwrap_or_default(),
                        a.payload
                    );
                }
            }
        }
    }
    Ok(())
}

/// `tenure playbooks replay`: the log read from its start, the window replayed (see
/// `tenure_runtime::replay`), progress on stderr; nothing is recorded or sent.
fn replay(ctx: &Context, args: ReplayArgs) -> anyhow::Result<()> {
    use tenure_runtime::replay::ReplayProgress;
    let days = Some(args.days.clone());
    let query = views::replay_query(&pairs(&[
        ("days", &days),
        ("playbook", &args.playbook),
        ("until", &args.until),
        ("tick", &args.tick),
    ]))
    .map_err(cli_error)?;
    views::chosen(
        &views::configured(&ctx.config).map_err(cli_error)?,
        query.playbook.as_deref(),
    )
    .map_err(cli_error)?;
    let store = ctx.open_store_to_read()?;
    let mut building = Some(Progress::new(
        "replay: building the model before the window".into(),
        Unit::Entries,
        None,
        "{spinner} {msg}: {pos} entries ({per_sec})",
    ));
    let mut last_line = std::time::Instant::now();
    let mut progress = |p: ReplayProgress| match p {
        ReplayProgress::Building { entries } => {
            if let Some(b) = building.as_mut() {
                b.set_position(entries);
            }
        }
        ReplayProgress::Replaying { entries, at } => {
            if let Some(b) = building.take() {
                b.finish();
            }
            if last_line.elapsed() >= crate::progress::EVERY {
                last_line = std::time::Instant::now();
                eprintln!("replay: at {at}, {entries} entries of the window applied");
            }
        }
    };
    let answer = views::replay(
        store.as_ref(),
        &ctx.workspace,
        &ctx.config,
        &query,
        now(),
        &mut progress,
    )
    .map_err(cli_error)?;
    if let Some(b) = building.take() {
        b.finish();
    }
    if args.format == Format::Json {
        return json(&answer);
    }
    eprintln!(
        "replayed {} to {} ({} entries, triggers on the calendar and on states every {}); nothing is recorded or sent",
        answer.from, answer.until, answer.entries, answer.tick
    );
    outln!(
        "{:<24} {:>8} {:>14} {:>7}",
        "playbook",
        "firings",
        "seen at start",
        "capped"
    );
    for c in &answer.playbooks {
        let off = if c.enabled { "" } else { " [off]" };
        outln!(
            "{:<24} {:>8} {:>14} {:>7}",
            format!("{}{off}", c.playbook),
            c.firings,
            c.seen_at_start,
            c.capped
        );
    }
    outln!();
    outln!(
        "{:<25} {:<24} {:<20} {:<30} actions",
        "fired at",
        "playbook",
        "account",
        "cause"
    );
    for f in &answer.firings {
        let actions: Vec<String> = f
            .actions
            .iter()
            .map(|a| format!("{} at {}", a.kind, a.due_at))
            .collect();
        outln!(
            "{:<25} {:<24} {:<20} {:<30} {}",
            f.fired_at.to_string(),
            f.playbook,
            f.account,
            f.cause["cause"].as_str().unwrap_or("-"),
            actions.join(", ")
        );
    }
    Ok(())
}
