//! `push --from FILE`: finishes a run whose store write failed, from the recovery file it saved,
//! under the same lock and read-back; the file is deleted once the secrets are stored.

use std::path::Path;
use std::sync::Arc;

use super::Context;
use super::save::{Keep, save_secrets};
use crate::cli::{PushArgs, StoreArgs};
use crate::connector::Connector;
use crate::error::{Error, Result};
use crate::recovery::{self, Verdict};
use crate::store::{SecretNames, SecretStore, StoreTarget};

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

/// `pending` is the file `args.from` as `recovery::open_for_push` read and locked it, once.
pub async fn run(
    ctx: &Context,
    args: &PushArgs,
    mut pending: recovery::Pending,
    store: Arc<dyn SecretStore>,
) -> Result<Vec<String>> {
    let from = args.from.as_path();
    refuse_another_store_kind(from, &pending, &args.store)?;
    let prefix = args.store.prefix.as_deref().unwrap_or(&pending.prefix);
    refuse_another_deployment(
        ctx,
        from,
        &pending,
        &args.store.target(),
        prefix,
        args.force,
    )?;
    if let Some(p) = args.store.prefix.as_deref()
        && p != pending.prefix
    {
        pending.values = pending
            .values
            .into_iter()
            .map(|(n, v)| (n.replacen(&pending.prefix, p, 1), v))
            .collect();
        pending.prefix = p.to_string();
        // Whatever the run sent went under its own prefix, never this one.
        pending.writes = recovery::Writes::NotSent;
    }
    let seen = recovery::verdict::observe(store.as_ref(), &pending).await?;
    match recovery::verdict::decide(&pending, &seen) {
        Verdict::Forward => {}
        // The run that wrote them ended before its handover (psoxy-contract §8): a proxy
        // instance may still hold the old refresh token in its cache, so the values are written
        // again under the lock and handed over, as the run would have.
        Verdict::Unfinished => {
            ctx.ui.info(
                "its values are in the store, but the run that wrote them ended before handing them over to the running proxy: writing them again under the refresh lock",
            );
        }
        Verdict::Stored => {
            return obsolete(ctx, from, "its values are already in the store");
        }
        Verdict::Obsolete(why) => return obsolete(ctx, from, &why),
        Verdict::Unplaceable(why) if !args.force => {
            return Err(Error::Input(format!(
                "{} was not pushed: {why}; check the proxy's log for invalid_grant, then pass --force to write it anyway, or delete the file",
                from.display()
            )));
        }
        Verdict::Unplaceable(why) => ctx.ui.warn(&format!("--force: writing anyway ({why})")),
    }
    // What the store must still hold once the lock is taken.
    pending.expected = Some(seen.state);
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
    delete(from, "the secrets are stored")?;
    ctx.ui
        .ok(&format!("deleted the recovery file {}", from.display()));
    Ok(written)
}

/// A file the store has moved past: nothing is written. It is deleted (in a terminal, after
/// asking), since its tokens are spent or superseded and a later push of it would do harm.
fn obsolete(ctx: &Context, from: &Path, why: &str) -> Result<Vec<String>> {
    ctx.ui.ok(&format!(
        "nothing to push: {why}; {} is no longer needed",
        from.display()
    ));
    if ctx.interactive && !ctx.prompter.confirm("Delete it?", true)? {
        ctx.ui.info(&format!(
            "kept {}: do not push it later, delete it",
            from.display()
        ));
        return Ok(Vec::new());
    }
    delete(from, "nothing was written")?;
    ctx.ui
        .ok(&format!("deleted the recovery file {}", from.display()));
    Ok(Vec::new())
}

fn delete(from: &Path, done: &str) -> Result<()> {
    std::fs::remove_file(from).map_err(|e| {
        Error::Input(format!(
            "{done}, but {} could not be deleted ({e}): delete it by hand",
            from.display()
        ))
    })
}

/// A run that began writing may have put its values in its own deployment (its store and
/// prefix), where a proxy may have refreshed them since: written to another deployment, that
/// spent refresh token would be used a second time, and Atlassian then revokes the whole
/// family. Only `--force` goes on.
fn refuse_another_deployment(
    ctx: &Context,
    from: &Path,
    pending: &recovery::Pending,
    target: &StoreTarget,
    prefix: &str,
    force: bool,
) -> Result<()> {
    let same_store = pending
        .target
        .as_ref()
        .is_none_or(|theirs| theirs.remembered() == target.remembered());
    if matches!(pending.writes, recovery::Writes::NotSent)
        || (prefix == pending.prefix && same_store)
    {
        return Ok(());
    }
    let theirs = match &pending.target {
        Some(t) => format!("{} in {}", pending.prefix, recovery::shell_line(&t.flags())),
        None => pending.prefix.clone(),
    };
    let why = format!(
        "the run that saved {} began writing its values to {theirs}, where the proxy may have refreshed them since, and a refresh token used in two deployments is revoked with its whole family",
        from.display()
    );
    if !force {
        return Err(Error::Input(format!(
            "{why}: push it to that deployment (without store options or --prefix), or pass --force to write it here anyway"
        )));
    }
    ctx.ui
        .warn(&format!("--force: writing it here anyway ({why})"));
    Ok(())
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
            theirs.kind().name,
            args.kind().name,
            recovery::push_command(from, Some(theirs))
        ))),
        _ => Ok(()),
    }
}
