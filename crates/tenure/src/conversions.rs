//! `tenure conversions …`: what tenure sent the ad platforms and what they made of it, the log
//! of conversions and corrections, a dry run showing the exact requests, a pass run now, and
//! Google's offline-conversion CSV. The same answers, and so the same JSON, as the API
//! (`tenure_server::conversions`); this module reads flags and lays out tables.

use std::sync::Arc;

use clap::{Args, Subcommand};
use tenure_runtime::{Actions, Clock, Conversions, SystemClock};
use tenure_server::conversions as views;

use crate::playbooks::{cli_error, json, now, pairs};
use crate::stdout::{out, outln};
use crate::{Context, Format};

#[derive(Debug, Subcommand)]
pub enum ConversionsCommand {
    /// Per rule and destination: the conversions sent, and how many the platform accepted,
    /// took as duplicates, could not match, rejected (with its reasons), or that expired or
    /// are pending.
    #[command(
        after_help = "Examples:\n  tenure conversions status\n  tenure conversions status --format json"
    )]
    Status {
        /// `table` for people; `json` (the API's) for programs.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// The conversions, restatements and retractions recorded, newest first, with their
    /// deliveries' statuses.
    #[command(
        after_help = "Examples:\n  tenure conversions log\n  tenure conversions log --rule paid --account acme --format json"
    )]
    Log(LogArgs),
    /// What a pass would record now, and the exact requests each platform would receive
    /// (tokens redacted), sending and recording nothing.
    #[command(
        after_help = "Examples:\n  tenure conversions dry-run\n  tenure conversions dry-run --format json\n\nThe destinations' tokens must be in the environment, as for `tenure serve`."
    )]
    DryRun {
        /// `table` for people; `json` (the API's) for programs.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Decide and send now, as a server's pass and delivery workers do, then exit: for
    /// running conversions from a scheduler instead of a server. It attempts every delivery
    /// due, the playbooks' too.
    #[command(
        after_help = "Examples:\n  tenure conversions run\n  tenure conversions run --format json\n\nSafe beside a running server: the store's leases let one of them decide at a time, and a\nconversion is recorded once whoever decides it."
    )]
    Run {
        /// `table` for people; `json` for programs.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Write a file for an ad platform's manual import.
    #[command(subcommand)]
    Export(ExportCommand),
}

#[derive(Debug, Args)]
pub struct LogArgs {
    /// Only this rule's conversions.
    #[arg(long)]
    rule: Option<String>,
    /// Only this account's conversions.
    #[arg(long)]
    account: Option<String>,
    /// At most this many (1 to 10000; default 100).
    #[arg(long, value_name = "N")]
    limit: Option<String>,
    /// `table` for people; `json` (the API's) for programs.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

#[derive(Debug, Subcommand)]
pub enum ExportCommand {
    /// Google Ads' offline-conversion CSV (or, with --adjustments, its adjustments CSV) of the
    /// conversions recorded for a Google destination, on stdout.
    #[command(
        name = "google-csv",
        after_help = "Examples:\n  tenure conversions export google-csv --destination google_csv > conversions.csv\n  tenure conversions export google-csv --destination google_csv --adjustments > adjustments.csv\n  tenure conversions export google-csv --destination google_csv --since 2026-11-01\n\nGoogle never takes new conversions and adjustments in one file: upload each file as its own\nimport (Goals > Conversions > Uploads). Rows carry the conversion's order id, so a file\nuploaded twice is counted once."
    )]
    GoogleCsv {
        /// The `google_csv` destination whose conversions to write.
        #[arg(long)]
        destination: String,
        /// Write the adjustments (restatements and retractions) instead of the conversions.
        #[arg(long)]
        adjustments: bool,
        /// Only those recorded at or after this instant (RFC 3339, or a date: its midnight UTC).
        #[arg(long, value_name = "DATE")]
        since: Option<String>,
    },
}

fn rules(ctx: &Context) -> anyhow::Result<Vec<tenure_conversions::Rule>> {
    let rules = views::configured(&ctx.config).map_err(cli_error)?;
    if rules.is_empty() {
        eprintln!("no conversion rules are configured: add [[conversions]] to the configuration file (docs/conversions.md)");
    }
    Ok(rules)
}

pub fn run(ctx: &Context, command: ConversionsCommand) -> anyhow::Result<()> {
    match command {
        ConversionsCommand::Status { format } => {
            let rules = rules(ctx)?;
            let store = ctx.open_store_to_read()?;
            let status =
                views::status(store.as_ref(), &ctx.workspace, &rules).map_err(cli_error)?;
            if format == Format::Json {
                return json(&status);
            }
            print_status(&status);
            Ok(())
        }
        ConversionsCommand::Log(args) => {
            let query = views::log_query(&pairs(&[
                ("rule", &args.rule),
                ("account", &args.account),
                ("limit", &args.limit),
            ]))
            .map_err(cli_error)?;
            let rules = rules(ctx)?;
            let store = ctx.open_store_to_read()?;
            let log =
                views::log(store.as_ref(), &ctx.workspace, &rules, &query).map_err(cli_error)?;
            if args.format == Format::Json {
                return json(&log);
            }
            outln!(
                "{:<25} {:<12} {:<22} {:<20} {:>12}  deliveries",
                "recorded at",
                "kind",
                "rule",
                "account",
                "value"
            );
            for f in &log.firings {
                let deliveries: Vec<String> = f
                    .deliveries
                    .iter()
                    .map(|d| format!("{} {}", d.destination, d.status))
                    .collect();
                outln!(
                    "{:<25} {:<12} {:<22} {:<20} {:>12}  {}",
                    f.fired_at.to_string(),
                    f.cause["kind"].as_str().unwrap_or("-"),
                    f.playbook
                        .trim_start_matches(tenure_conversions::FIRING_PREFIX),
                    f.account,
                    f.cause["value"]
                        .as_f64()
                        .map_or_else(|| "-".to_owned(), |v| format!("{v:.2}")),
                    deliveries.join(", ")
                );
            }
            Ok(())
        }
        ConversionsCommand::DryRun { format } => {
            let rules = rules(ctx)?;
            let destinations =
                views::destinations(&ctx.config, &rules, &|name| std::env::var(name).ok())
                    .map_err(cli_error)?;
            let store = ctx.open_store_to_read()?;
            let live = crate::serve::rebuild(ctx, store.as_ref())?;
            let clock: Arc<dyn Clock> = Arc::new(SystemClock);
            let conversions = Conversions::new(
                rules,
                ctx.config.report_settings(),
                Arc::clone(&store),
                clock,
            );
            let started = std::time::Instant::now();
            let answer = views::dry_run(&conversions, &live, &ctx.workspace, &destinations, now())
                .map_err(cli_error)?;
            eprintln!(
                "decided in {} ms, the model's lock held at most {} ms at once",
                started.elapsed().as_millis(),
                conversions.longest_turn_ms()
            );
            if format == Format::Json {
                return json(&answer);
            }
            outln!(
                "as of {}: {} conversion(s) and correction(s) would be recorded; nothing is recorded or sent",
                answer.as_of,
                answer.decisions.len()
            );
            for d in &answer.decisions {
                outln!(
                    "  {:<12} {:<40} {}",
                    d.kind.name(),
                    d.firing.key,
                    d.firing.cause["value"]
                        .as_f64()
                        .map_or_else(|| "-".to_owned(), |v| format!("{v:.2}"))
                );
            }
            for r in &answer.requests {
                outln!(
                    "{}: {} request(s), {} held back",
                    r.destination,
                    r.requests.len(),
                    r.held_back.len()
                );
                for request in &r.requests {
                    outln!("  {} {}", request.method, request.url);
                    for (name, value) in &request.headers {
                        outln!("    {name}: {value}");
                    }
                    outln!("    {}", serde_json::to_string(&request.body)?);
                }
                for h in &r.held_back {
                    outln!(
                        "  held back {} ({}): {} {}",
                        h.event_id,
                        h.account,
                        h.result,
                        h.reason
                    );
                }
            }
            Ok(())
        }
        ConversionsCommand::Run { format } => run_now(ctx, format),
        ConversionsCommand::Export(ExportCommand::GoogleCsv {
            destination,
            adjustments,
            since,
        }) => {
            let since = since
                .map(|s| tenure_server::playbooks::instant(&s, "since"))
                .transpose()
                .map_err(cli_error)?;
            let store = ctx.open_store_to_read()?;
            let csv = views::google_csv(
                store.as_ref(),
                &ctx.workspace,
                &ctx.config,
                &destination,
                adjustments,
                since,
            )
            .map_err(cli_error)?;
            for (event_id, why) in &csv.skipped {
                eprintln!("left out {event_id}: {why}");
            }
            eprintln!(
                "{} row(s); upload the file in Google Ads under Goals > Conversions > Uploads",
                csv.rows
            );
            out!("{}", csv.text);
            Ok(())
        }
    }
}

/// One pass of the conversions and of the outbox, now.
fn run_now(ctx: &Context, format: Format) -> anyhow::Result<()> {
    let rules = rules(ctx)?;
    ctx.require_store()?;
    let store = ctx.open_store()?;
    ctx.require_workspace(store.as_ref())?;
    let live = crate::serve::rebuild(ctx, store.as_ref())?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let conversions = Conversions::new(
        rules,
        ctx.config.report_settings(),
        Arc::clone(&store),
        Arc::clone(&clock),
    );
    let started = std::time::Instant::now();
    let converted = conversions.pass(&live)?;
    eprintln!(
        "decided in {} ms, the model's lock held at most {} ms at once",
        started.elapsed().as_millis(),
        conversions.longest_turn_ms()
    );
    let actions = Actions::new(
        ctx.config.playbooks()?,
        ctx.config.report_settings(),
        Arc::clone(&store),
        clock,
        &|name| std::env::var(name).ok(),
    )?;
    let mut attempted = 0;
    loop {
        match actions.deliver()? {
            0 => break,
            n => attempted += n,
        }
    }
    store.close();
    let answer = serde_json::json!({
        "conversions": converted.conversions,
        "restatements": converted.restatements,
        "retractions": converted.retractions,
        "deliveries_attempted": attempted,
    });
    if format == Format::Json {
        return json(&answer);
    }
    outln!(
        "recorded {} conversion(s), {} restatement(s), {} retraction(s); attempted {} delivery(ies)",
        converted.conversions,
        converted.restatements,
        converted.retractions,
        attempted
    );
    eprintln!("`tenure conversions status` shows what each platform made of them");
    Ok(())
}

fn print_status(status: &views::ConversionStatus) {
    outln!(
        "{:<20} {:<16} {:<10} {:>6} {:>8} {:>9} {:>9} {:>8} {:>7} {:>7}",
        "rule",
        "destination",
        "kind",
        "sent",
        "accepted",
        "duplicate",
        "unmatched",
        "rejected",
        "expired",
        "pending"
    );
    for r in &status.rules {
        for d in &r.destinations {
            outln!(
                "{:<20} {:<16} {:<10} {:>6} {:>8} {:>9} {:>9} {:>8} {:>7} {:>7}",
                if r.enabled {
                    r.rule.clone()
                } else {
                    format!("{} (off)", r.rule)
                },
                d.destination,
                d.kind,
                d.sent,
                d.accepted,
                d.duplicate,
                d.unmatched,
                d.rejected,
                d.expired,
                d.pending
            );
            for reason in d.reasons.iter().take(5) {
                outln!(
                    "    {} × {}: {}",
                    reason.count,
                    reason.result,
                    reason.reason
                );
            }
        }
    }
}
