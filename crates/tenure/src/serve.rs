use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use clap::Args;
use tenure_engine::snapshot::Reads;
use tenure_runtime::{
    jobs, snapshots, Actions, Clock, Conversions, Live, SnapshotFiles, StatusKeeping, SystemClock,
};
use tenure_server::{AppState, Application, Sessions, StripeSecrets};
use tenure_store::Store;

use crate::progress::{Progress, Unit};
use crate::server_file::{self, ServerFile};
use crate::Context;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on (port 0 picks a free port); default from the config's server.listen.
    #[arg(long)]
    pub listen: Option<SocketAddr>,
}

pub fn run(ctx: &Context, args: ServeArgs) -> anyhow::Result<()> {
    let listen = match args.listen {
        Some(addr) => addr,
        None => ctx.config.server.listen.parse().context("server.listen")?,
    };
    // Before the replay, which can take minutes on a large store.
    let listener = bind(listen)?;
    let store = ctx.open_store()?;
    warn_of_workspaces_without_keys(ctx, store.as_ref())?;
    let live = rebuild(ctx, store.as_ref())?;
    serve(ctx, store, live, listener, |_, _| {})
}

/// A workspace without a key that works takes no event and answers no read: say so at start,
/// with the command that makes one, rather than leave the first SDK to find out with a 401.
fn warn_of_workspaces_without_keys(ctx: &Context, store: &dyn Store) -> anyhow::Result<()> {
    let mut workspaces = store.workspaces()?;
    if !workspaces.contains(&ctx.workspace) {
        workspaces.push(ctx.workspace.clone());
    }
    for workspace in workspaces {
        let keys = store.list_keys(&workspace)?;
        if keys.iter().all(|k| k.revoked_at.is_some()) {
            tracing::warn!(
                workspace = %workspace,
                "workspace {workspace} has no key: nothing can send to it or read it; create one with `tenure --workspace {workspace} keys create --scope write` (and `--scope read`)"
            );
        }
    }
    Ok(())
}

/// Binds `listen`, so a port already in use is found before any long work.
pub fn bind(listen: SocketAddr) -> anyhow::Result<std::net::TcpListener> {
    std::net::TcpListener::bind(listen).map_err(|e| {
        let hint = if e.kind() == std::io::ErrorKind::AddrInUse {
            "another process is using it; stop it or choose another address with --listen"
        } else {
            "choose another address with --listen"
        };
        anyhow::anyhow!("cannot listen on {listen}: {e}; {hint}")
    })
}

/// Builds every workspace's model in memory from its snapshot and the log after it, or from
/// the whole log where it has no valid snapshot, with a spinner on stderr; says which in the
/// log (`--verbose`).
pub fn rebuild(ctx: &Context, store: &dyn Store) -> anyhow::Result<Arc<Live>> {
    rebuild_reading(ctx, store, Reads::ALL)
}

/// [`rebuild`] for a command that reads only `reads` of the model and changes nothing: from a
/// snapshot with nothing after it in the log, only what that needs is read and decoded (see
/// `Live::rebuild_from_reading`), and no snapshot is saved of it.
pub fn rebuild_reading(
    ctx: &Context,
    store: &dyn Store,
    reads: Reads,
) -> anyhow::Result<Arc<Live>> {
    let mut progress = Progress::new(
        "replaying the log".into(),
        Unit::Entries,
        None,
        "{spinner} {msg}: {pos} entries ({per_sec})",
    );
    let (live, rebuilt) = Live::rebuild_from_reading(
        store,
        ctx.config.engine(),
        &snapshot_files(ctx),
        reads,
        |n| progress.set_position(n),
    )?;
    progress.finish();
    for (workspace, replayed) in &rebuilt.replayed {
        match rebuilt.from_snapshot.get(workspace) {
            Some(through) if rebuilt.partial.contains(workspace) => tracing::info!(
                workspace = %workspace,
                "answering from the snapshot through log seq {through} and the 0 entries after it, decoding only what the command reads"
            ),
            Some(through) => tracing::info!(
                workspace = %workspace,
                tail = replayed,
                "answering from the snapshot through log seq {through} and the {replayed} entries after it"
            ),
            None => tracing::info!(
                workspace = %workspace,
                entries = replayed,
                "answering from a full replay of the log's {replayed} entries (no valid snapshot)"
            ),
        }
    }
    Ok(Arc::new(live))
}

/// The snapshots in the data directory, whichever backend holds the log.
fn snapshot_files(ctx: &Context) -> SnapshotFiles {
    SnapshotFiles::in_data_dir(&ctx.data_dir_or_default())
}

/// Entries a read command replays beyond its snapshot before it saves a new one: below this
/// the replay costs less than writing the snapshot would.
const SAVE_AFTER: u64 = 10_000;

/// Saves the workspace's model as a snapshot when the command replayed the whole log or a long
/// tail of it, so the next command on the directory starts from it.
pub fn save_snapshot(ctx: &Context, live: &Live) {
    save_snapshot_after(ctx, live, SAVE_AFTER, "for the next command");
}

/// Saves the workspace's model as a snapshot when at least `min_new` entries were applied since
/// the last one, saying so (`saved a snapshot {what}`) in the log. A directory this process
/// cannot write is left as it is: the snapshot is only a cache.
pub fn save_snapshot_after(ctx: &Context, live: &Live, min_new: u64, what: &str) {
    let files = snapshot_files(ctx);
    match snapshots::save(live, &files, &ctx.workspace, min_new) {
        Ok(None) => {}
        Ok(Some(bytes)) => tracing::info!(
            workspace = %ctx.workspace,
            path = %files.path(&ctx.workspace).display(),
            bytes,
            "saved a snapshot {what}"
        ),
        Err(e) => tracing::info!(
            workspace = %ctx.workspace,
            error = %e,
            "cannot save a snapshot in the data directory; the next command replays the log"
        ),
    }
}

/// Runs the server on `listener` (from [`bind`]) until Ctrl-C or SIGTERM, then lets the
/// requests in flight finish. `on_ready` is called with the bound address and the dashboard's
/// sessions (where `tenure demo` makes its one-time sign-in link).
pub fn serve(
    ctx: &Context,
    store: Arc<dyn Store>,
    live: Arc<Live>,
    listener: std::net::TcpListener,
    on_ready: impl FnOnce(SocketAddr, &Sessions),
) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let actions = Arc::new(
        Actions::new(
            ctx.config.playbooks()?,
            ctx.config.report_settings(),
            store.clone(),
            clock.clone(),
            &|name| std::env::var(name).ok(),
        )
        .context("building the playbooks' destinations")?,
    );
    let conversions = Arc::new(Conversions::new(
        ctx.config.conversions()?,
        ctx.config.report_settings(),
        store.clone(),
        clock.clone(),
    ));
    let playing = actions.any_enabled();
    let converting = conversions.any_enabled();
    let mut keeping = StatusKeeping::new(ctx.config.report_settings(), clock.clone());
    if playing {
        // Before the first scoring, whose statuses are each account's baseline.
        actions.start(&live);
        keeping.observer = Some(actions.observer());
        keeping.entries = Some(actions.entry_observer());
    }
    // Scored while the server already answers: status lookups wait for it, nothing else does.
    live.keep_statuses_in_background(keeping)?;
    live.start_applier();
    runtime.block_on(async {
        let stripe_secrets =
            StripeSecrets::from_env(std::env::vars(), ctx.config.stripe.webhook_secret.clone());
        let token = server_file::new_token();
        let state = AppState::new(store.clone(), live.clone(), ctx.config.clone())
            .with_stripe_secrets(stripe_secrets)
            .with_local_read_key(token.clone(), ctx.workspace.clone());
        let sessions = Arc::clone(&state.sessions);
        let app = Application::from_listener(listener, state).context("serving the listener")?;
        // Installed before anyone can know the address, so no signal finds the default action.
        let stop = stop_signal().context("installing the signal handlers")?;
        let addr = app.local_addr()?;
        // Machine-readable on stderr, so tests that start the server on port 0 can find it.
        eprintln!("listening on http://{addr}");
        tracing::info!(%addr, "tenure serving");
        on_ready(addr, &sessions);
        // Removed when dropped, after the last request; a crash leaves it, and the CLI, finding
        // no server at its address, answers from the snapshot.
        let _server_file = write_server_file(ctx, addr, token);
        let mut jobs = jobs::start(&live, &store, clock);
        jobs::save_snapshots(&mut jobs, &live, snapshot_files(ctx));
        if playing || converting {
            // The conversions' deliveries go through the playbooks' outbox workers.
            jobs::run_playbooks(&mut jobs, &actions, &live);
        }
        if converting {
            jobs::run_conversions(&mut jobs, &conversions, &live);
        }

        app.run(async {
            let signal = stop.await;
            tracing::info!(signal, "shutting down: finishing the requests in flight");
        })
        .await?;
        // Before the store closes under them.
        jobs.stop();
        actions.stop();
        anyhow::Ok(())
    })?;
    store.close();
    Ok(())
}

/// Tells the CLI on this machine where to ask for the workspace's reports (`server.json`).
/// A directory this process cannot write only costs the CLI its shortcut.
fn write_server_file(
    ctx: &Context,
    address: SocketAddr,
    token: String,
) -> Option<server_file::Written> {
    let file = ServerFile {
        address,
        pid: std::process::id(),
        workspace: ctx.workspace.clone(),
        token,
    };
    file.write(&ctx.data_dir_or_default())
        .inspect_err(|e| {
            tracing::warn!(
                error = %format!("{e:#}"),
                "cannot write server.json; `tenure report` and `tenure status` will not ask this server"
            )
        })
        .ok()
}

/// Resolves with the signal's name on SIGINT (Ctrl-C) or SIGTERM, which systemd, `docker stop`
/// and Kubernetes send: both mean "finish what you are doing and exit". The handlers are in
/// place when this returns, not when the future is first polled.
fn stop_signal() -> std::io::Result<impl std::future::Future<Output = &'static str>> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut interrupt = signal(SignalKind::interrupt())?;
        let mut terminate = signal(SignalKind::terminate())?;
        Ok(async move {
            tokio::select! {
                _ = interrupt.recv() => "SIGINT",
                _ = terminate.recv() => "SIGTERM",
            }
        })
    }
    #[cfg(not(unix))]
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
        "Ctrl-C"
    })
}
