//! Step: write the secrets where the proxy reads them, under the proxy's own refresh lock, read
//! them back, and never lose them: a store that keeps failing gets a recovery file instead.

use std::sync::Arc;

use super::Context;
use crate::error::{Error, Result};
use crate::http::RetryPolicy;
use crate::recovery::{self, Pending};
use crate::secret::ExposeSecret;
use crate::secret::SecretString;
use crate::store::lock::{self, LockPolicy};
use crate::store::{
    FamilyMetadata, SecretKey, SecretNames, SecretStore, StoreError, StoreResult, with_retries,
};

/// Takes the lock (when tokens are replaced: `lock_policy` is given), writes, reads back, records metadata, unlocks.
async fn write_locked(
    ctx: &Context,
    store: &Arc<dyn SecretStore>,
    names: &SecretNames,
    values: &[(String, SecretString)],
    meta: &FamilyMetadata,
    lock_policy: Option<LockPolicy>,
    left_lock: &mut Option<i64>,
) -> Result<()> {
    let replaces_tokens = lock_policy.is_some();
    let mut our_lock = None;
    if let Some(policy) = &lock_policy {
        our_lock = Some(
            lock::acquire(
                store.as_ref(),
                names,
                policy,
                &ctx.ui,
                ctx.prompter.as_ref(),
            )
            .await?,
        );
        ctx.guard.lock_taken(store.clone(), names.clone());
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

/// Writes, reads back and records metadata. On failure the values go to a recovery file and the
/// error says how to finish (`push --from FILE`); with `keep_on_failure = false` (push itself)
/// nothing new is saved.
pub async fn save_secrets(
    ctx: &Context,
    store: &Arc<dyn SecretStore>,
    names: &SecretNames,
    pending: Pending,
    keep_on_failure: bool,
) -> Result<()> {
    let replaces_tokens = pending
        .values
        .iter()
        .any(|(n, _)| *n == names.name(SecretKey::RefreshToken));
    let values = pending.values.clone();
    let meta = pending.meta.clone();
    let lock_policy = replaces_tokens.then(|| LockPolicy {
        ours: pending.own_lock_ms,
        ..LockPolicy::default()
    });
    if keep_on_failure {
        ctx.guard.pending(pending);
    }
    let mut left_lock = None;
    let result = write_locked(
        ctx,
        store,
        names,
        &values,
        &meta,
        lock_policy,
        &mut left_lock,
    )
    .await;
    match result {
        Ok(()) => {
            ctx.guard.stored();
            ctx.ui.ok(&format!(
                "wrote and read back {} secrets in {}",
                values.len(),
                store.describe()
            ));
            Ok(())
        }
        Err(Error::Interrupted(m)) => Err(Error::Interrupted(m)),
        Err(e) => match ctx.guard.take_pending() {
            Some(mut pending) => {
                pending.own_lock_ms = left_lock;
                let path = recovery::save(&pending)?;
                Err(Error::RecoverySaved(format!(
                    "writing to {} failed ({e}); the secrets were saved to {} (readable only by you): fix the store, then run `{}`",
                    store.describe(),
                    path.display(),
                    recovery::push_command(&path, pending.target.as_ref())
                )))
            }
            None => Err(e),
        },
    }
}
