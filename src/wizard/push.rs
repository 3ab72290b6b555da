//! `push --from FILE`: finishes a run whose store write failed, from the recovery file it saved,
//! under the same lock and read-back; the file is deleted once the secrets are stored.

use std::path::Path;
use std::sync::Arc;

use super::Context;
use super::save::{Keep, save_secrets};
use crate::cli::StoreArgs;
use crate::connector::Connector;
use crate::error::{Error, Result};
use crate::recovery;
use crate::store::{SecretNames, SecretStore};

/// Whose secrets the recovery file holds; a `--connector` naming another is refused.
pub fn connector(
    from: &Path,
    pending: &recovery::Pending,
    typed: Option<&'static Connector>,
) -> Result<&'static Connector> {
    match typed {
        Some(typed) if typed != pending.connector => Err(Error::Input(format!(
            "{} holds {} secrets, not {}: check --from and --connector",
            from.display(),
            pending.connector.display_name,
            typed.display_name
        ))),
        _ => Ok(pending.connector),
    }
}

pub async fn run(
    ctx: &Context,
    from: &Path,
    args: &StoreArgs,
    store: Arc<dyn SecretStore>,
) -> Result<Vec<String>> {
    let mut pending = recovery::load(from)?;
    refuse_another_store_kind(from, &pending, args)?;
    if let Some(p) = args.prefix.as_deref()
        && p != pending.prefix
    {
        pending.values = pending
            .values
            .into_iter()
            .map(|(n, v)| (n.replacen(&pending.prefix, p, 1), v))
            .collect();
        pending.prefix = p.to_string();
    }
    let names = SecretNames::new(pending.prefix.clone());
    let written: Vec<String> = pending.values.iter().map(|(n, _)| n.clone()).collect();
    ctx.ui.step(&format!(
        "Writing {} secrets from {} to {}",
        written.len(),
        from.display(),
        store.describe()
    ));
    save_secrets(
        ctx,
        &store,
        &names,
        pending,
        Keep::Existing(from.to_path_buf()),
    )
    .await?;
    std::fs::remove_file(from).map_err(|e| {
        Error::Input(format!(
            "the secrets are stored, but {} could not be deleted ({e}): delete it by hand",
            from.display()
        ))
    })?;
    ctx.ui
        .ok(&format!("deleted the recovery file {}", from.display()));
    Ok(written)
}

/// Warns about recovery files earlier runs left for this prefix and store (`init`, `renew`):
/// their tokens may never have reached the store, and the command to finish is named.
pub fn warn_about_leftovers(ctx: &Context, prefix: &str) {
    for (path, pending) in recovery::leftovers(prefix, ctx.store_target.as_ref()) {
        ctx.ui.warn(&recovery::leftover_notice(&path, &pending));
    }
}

/// `push --from FILE` with no store options must not put tokens meant for SSM into the default
/// file store: a recovery file that names its store kind is only pushed to that kind.
fn refuse_another_store_kind(
    from: &Path,
    pending: &recovery::Pending,
    args: &StoreArgs,
) -> Result<()> {
    match &pending.target {
        Some(theirs) if theirs.kind() != args.kind() => Err(Error::Input(format!(
            "{} holds secrets for {}, not {}: run `{}`",
            from.display(),
            theirs.kind().name(),
            args.kind().name(),
            recovery::push_command(from, Some(theirs))
        ))),
        _ => Ok(()),
    }
}
