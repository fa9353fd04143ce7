//! `tenure keys create|list|revoke`.

use anyhow::bail;
use tenure_store::Revoked;

use crate::stdout::outln;
use crate::{Context, Format, KeysCommand};

pub fn run(ctx: &Context, command: KeysCommand) -> anyhow::Result<()> {
    // Only a new key may create the store; listing or revoking in a mistyped directory is an
    // error, not an empty list.
    if !matches!(command, KeysCommand::Create { .. }) {
        ctx.require_store()?;
    }
    let store = ctx.open_store()?;
    if !matches!(command, KeysCommand::Create { .. }) {
        ctx.require_workspace(store.as_ref())?;
    }
    match command {
        KeysCommand::Create { scope } => {
            let secret = store.create_key(&ctx.workspace, scope.into())?;
            outln!("{secret}");
        }
        KeysCommand::List { format } => {
            let keys = store.list_keys(&ctx.workspace)?;
            match format {
                Format::Json => outln!("{}", serde_json::to_string_pretty(&keys)?),
                Format::Table => {
                    outln!("{:<18} {:<6} {:<25} revoked", "prefix", "scope", "created");
                    for k in &keys {
                        let revoked = k.revoked_at.map(|t| t.to_string());
                        outln!(
                            "{:<18} {:<6} {:<25} {}",
                            k.prefix,
                            k.scope.as_str(),
                            k.created_at.to_string(),
                            revoked.as_deref().unwrap_or("-")
                        );
                    }
                }
            }
        }
        KeysCommand::Revoke { key } => match store.revoke_key(&ctx.workspace, &key)? {
            Revoked::Now(prefix) => eprintln!(
                "revoked {prefix}; running servers refuse it within {} s",
                tenure_server::KEY_CACHE_TTL.as_secs()
            ),
            Revoked::Already(prefix) => eprintln!("{prefix} was already revoked"),
            Revoked::NotFound => bail!(
                "no key of workspace {} has the prefix or secret {key:?}; `tenure keys list` shows them",
                ctx.workspace
            ),
            Revoked::Ambiguous(n) => {
                bail!("{n} keys share the prefix {key:?}; give the whole key to revoke one")
            }
        },
    }
    Ok(())
}
