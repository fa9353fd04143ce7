//! `tenure demo`: a small sample company, loaded through the same import path a user's files
//! take, summarised, and served.
//!
//! The sample is a handful of hand-written files under `crates/tenure/demo/`; the simulator
//! (a generated company with known ground truth) replaces it when it lands.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;
use tenure_server::status;
use tenure_store::{Scope, Store};

use crate::import::{self, ImportArgs};
use crate::{serve, Context};

/// The sample files, in the order they are imported.
const SAMPLE: &[(&str, &str)] = &[
    ("accounts.csv", include_str!("../demo/accounts.csv")),
    ("events.ndjson", include_str!("../demo/events.ndjson")),
    (
        "subscriptions.csv",
        include_str!("../demo/subscriptions.csv"),
    ),
    ("deals.csv", include_str!("../demo/deals.csv")),
    ("spend.csv", include_str!("../demo/spend.csv")),
    ("touchpoints.csv", include_str!("../demo/touchpoints.csv")),
];

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Stop after loading and summarising; do not serve.
    #[arg(long)]
    pub no_serve: bool,
    /// Address to serve on.
    #[arg(long, default_value = "127.0.0.1:7070")]
    pub listen: SocketAddr,
}

pub fn run(ctx: &Context, args: DemoArgs) -> anyhow::Result<()> {
    // Without --data-dir the demo lives in a temporary directory removed on exit.
    let temp;
    let data_dir: PathBuf = match &ctx.data_dir {
        Some(dir) => dir.clone(),
        None => {
            temp = tempfile::Builder::new().prefix("tenure-demo-").tempdir()?;
            temp.path().to_owned()
        }
    };
    let files_dir = data_dir.join("demo-input");
    std::fs::create_dir_all(&files_dir)?;
    let mut files = Vec::new();
    for (name, text) in SAMPLE {
        let path = files_dir.join(name);
        std::fs::write(&path, text)?;
        files.push(path);
    }
    eprintln!("loading the sample company into {}", data_dir.display());
    let store = ctx.open_store_in(&data_dir)?;
    import::run_with_store(
        ctx,
        store.as_ref(),
        ImportArgs {
            files,
            kind: None,
            skip_invalid: false,
        },
    )?;
    let live = serve::rebuild(ctx, &store)?;
    let summary = status(store.as_ref(), &live, &ctx.workspace)?;
    println!();
    print!("{}", crate::status::table(&summary));
    if args.no_serve {
        return Ok(());
    }
    let read_key = store.create_key(&ctx.workspace, Scope::Read)?;
    serve::serve(ctx, store, live, args.listen, |addr| {
        println!();
        println!("serving on http://{addr} (Ctrl-C to stop)");
        println!("read key: {read_key}");
        println!("try:      curl -s -u {read_key}: http://{addr}/api/v1/status");
    })
}
