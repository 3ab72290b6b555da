//! Step: write the secrets where the proxy reads them, under the proxy's own refresh lock, read
//! them back, and never lose them: a store that keeps failing gets a recovery file instead.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::Context;
use crate::error::{Error, Result};
use crate::http::RetryPolicy;
use crate::recovery::{self, Pending};
use crate::secret::ExposeSecret;
use crate::store::lock::{self, LockPolicy};
use crate::store::{SecretKey, SecretNames, SecretStore, StoreError, StoreResult, with_retries};

/// Where the values wait until the store has read them back.
pub enum Keep {
    /// A new recovery file, written before the first store write and removed after the
    /// read-back (init, renew).
    WriteAhead,
    /// The recovery file being pushed; `push` deletes it once the store has the values.
    Existing(PathBuf),
}

/// Takes the lock (when tokens are replaced: `lock_policy` is given), writes, reads back, records
/// metadata, unlocks. `kept` is the recovery file, told which lock this run holds.
async fn write_locked(
    ctx: &Context,
    store: &Arc<dyn SecretStore>,
    names: &SecretNames,
    pending: &Pending,
    kept: Option<&Path>,
    lock_policy: Option<LockPolicy>,
    left_lock: &mut Option<i64>,
) -> Result<()> {
    let (values, meta) = (&pending.values, &pending.meta);
    let replaces_tokens = lock_policy.is_some();
    let mut our_lock = None;
    if let Some(policy) = &lock_policy {
        let taken = lock::acquire(
            store.as_ref(),
            names,
            policy,
            &ctx.ui,
            ctx.prompter.as_ref(),
        )
        .await?;
        our_lock = Some(taken);
        ctx.guard.lock_taken(store.clone(), names.clone());
        if let Some(path) = kept
            && let Err(e) = recovery::record_lock(path, pending, taken)
        {
            tracing::warn!("{e}: if this run is killed, `push` waits the lock out");
        }
    }
    let spinner = ctx.ui.spinner(&format!(
        "Writing {} secrets to {}",
        values.len(),
        store.describe()
    ));
    tracing::info!(store = %store.describe(), names = ?values.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(), "writing secrets");
    let policy = RetryPolicy::default();
    let result: StoreResult<()> = async {
        with_retries(&policy, || store.write_all(values)).await?;
        let names_written: Vec<String> = values.iter().map(|(n, _)| n.clone()).collect();
        let back = with_retries(&policy, || store.read_all(&names_written)).await?;
        for ((name, value), read) in values.iter().zip(back) {
            if read.map(|b| b.value.expose_secret() == value.expose_secret()) != Some(true) {
                return Err(StoreError::Other(format!("{name} did not read back as written")));
            }
        }
        // The values are stored and read back: a metadata failure must not send them to a
        // recovery file. `status` and `renew` then just lack the issue date or site.
        if let Err(e) = with_retries(&policy, || store.write_metadata(names, meta)).await {
            ctx.ui.warn(&format!(
                "the secrets are stored, but the token family's issue date and site could not be recorded ({e}): `status` will not know the deadline"
            ));
        }
        Ok(())
    }
    .await;
    drop(spinner);
    if replaces_tokens {
        if let Err(e) = store.unlock(names).await {
            *left_lock = our_lock;
            ctx.ui.warn(&format!(
                "could not release the refresh lock {} ({e}): the proxy takes it over after two minutes",
                store.lock_location(names)
            ));
        }
        ctx.guard.lock_released();
    }
    Ok(result?)
}

/// Writes, reads back and records metadata, with the values on disk all along (see `Keep`). On
/// failure the error says how to finish (`push --from FILE`).
pub async fn save_secrets(
    ctx: &Context,
    store: &Arc<dyn SecretStore>,
    names: &SecretNames,
    mut pending: Pending,
    keep: Keep,
) -> Result<()> {
    let replaces_tokens = pending
        .values
        .iter()
        .any(|(n, _)| *n == names.name(SecretKey::RefreshToken));
    let lock_policy = replaces_tokens.then(|| LockPolicy {
        ours: pending.own_lock_ms,
        ..LockPolicy::default()
    });
    let write_ahead = matches!(keep, Keep::WriteAhead);
    let kept = match keep {
        Keep::Existing(path) => Some(path),
        Keep::WriteAhead => match recovery::save(&pending) {
            Ok(path) => {
                tracing::info!(path = %path.display(), "the new tokens are on disk until the store has them");
                Some(path)
            }
            Err(e) => {
                ctx.ui
                    .warn(&format!("{e}: writing to the store without a copy on disk"));
                ctx.guard.pending(pending.clone());
                None
            }
        },
    };
    if let Some(path) = &kept {
        ctx.guard.kept(path.clone(), pending.target.as_ref());
    }
    let mut left_lock = None;
    let result = write_locked(
        ctx,
        store,
        names,
        &pending,
        kept.as_deref(),
        lock_policy,
        &mut left_lock,
    )
    .await;
    match result {
        Ok(()) => {
            let copy = ctx.guard.stored();
            ctx.ui.ok(&format!(
                "wrote and read back {} secrets in {}",
                pending.values.len(),
                store.describe()
            ));
            if let Some(path) = copy.filter(|_| write_ahead)
                && let Err(e) = std::fs::remove_file(&path)
            {
                ctx.ui.warn(&format!(
                    "the secrets are stored, but their copy {} could not be deleted ({e}): delete it, so nobody pushes it later",
                    path.display()
                ));
            }
            Ok(())
        }
        Err(Error::Interrupted(m)) => Err(Error::Interrupted(m)),
        Err(e) if !write_ahead => {
            ctx.guard.settled();
            Err(e)
        }
        Err(e) => {
            ctx.guard.settled();
            let saved = match kept {
                Some(path) => Ok(path),
                None => {
                    pending.own_lock_ms = left_lock;
                    recovery::save(&pending)
                }
            };
            match saved {
                Ok(path) => Err(Error::RecoverySaved(format!(
                    "writing to {} failed ({e}); the secrets were saved to {} (readable only by you): fix the store, then run `{}`",
                    store.describe(),
                    path.display(),
                    recovery::push_command(&path, pending.target.as_ref())
                ))),
                Err(lost) => Err(Error::RecoveryFailed(format!(
                    "writing to {} failed ({e}), and {lost}: fix both, then authorize again",
                    store.describe()
                ))),
            }
        }
    }
}
