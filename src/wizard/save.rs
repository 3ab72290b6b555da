//! The store step: write the secrets where the proxy reads them, under the proxy's own refresh
//! lock, read them back, and never lose them: a store that keeps failing gets a recovery file
//! instead (`init`, `renew`, and `push` from that file).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::Context;
use super::refresh_lock::HeldLock;
use crate::atlassian::oauth::{ClientCredentials, TokenSet};
use crate::atlassian::sites::{AtlassianUser, Site};
use crate::error::{Error, Result};
use crate::http::RetryPolicy;
use crate::recovery::{self, Pending, Writes};
use crate::secret::{ExposeSecret, SecretString};
use crate::store::lock::LockPolicy;
use crate::store::{
    FamilyMetadata, SecretKey, SecretNames, SecretStore, StoreError, StoreResult, with_retries,
};

/// What a verified authorization produced.
pub struct Grant {
    pub tokens: TokenSet,
    pub site: Site,
    pub user: AtlassianUser,
}

/// What was stored, for the summary.
pub struct Stored {
    pub store: String,
    pub prefix: String,
    pub written: Vec<String>,
    pub grant: Grant,
}

/// Writes the client credentials (when given) and the new token family, with its metadata.
pub async fn store_grant(
    ctx: &Context,
    store: &Arc<dyn SecretStore>,
    names: &SecretNames,
    creds: Option<&ClientCredentials>,
    grant: Grant,
) -> Result<Stored> {
    ctx.ui
        .step(&format!("Storing the secrets in {}", store.describe()));
    let pending = pending_family(ctx, names, creds, &grant.tokens, Some(&grant.site))?;
    let written = pending.values.iter().map(|(n, _)| n.clone()).collect();
    save_secrets(ctx, store, names, pending, Keep::WriteAhead).await?;
    Ok(Stored {
        store: store.describe(),
        prefix: names.prefix.clone(),
        written,
        grant,
    })
}

/// Hands a family that was just minted to the guard, before the site is chosen and verified:
/// a signal or a crash in those steps saves it to a recovery file instead of losing it. (An
/// error there ends the run without storing: the family is for no usable site.)
pub fn hold_new_family(
    ctx: &Context,
    names: &SecretNames,
    creds: Option<&ClientCredentials>,
    tokens: &TokenSet,
) -> Result<()> {
    ctx.guard
        .pending(pending_family(ctx, names, creds, tokens, None)?);
    Ok(())
}

/// The values to store (client credentials when given, the refresh token and the access token
/// in the proxy's form) and the family's metadata.
fn pending_family(
    ctx: &Context,
    names: &SecretNames,
    creds: Option<&ClientCredentials>,
    tokens: &TokenSet,
    site: Option<&Site>,
) -> Result<Pending> {
    let refresh = tokens
        .refresh_token
        .clone()
        .ok_or_else(|| Error::Internal("no refresh token".into()))?;
    let mut values = Vec::new();
    if let Some(c) = creds {
        values.push((
            names.name(SecretKey::ClientId),
            SecretString::from(c.client_id.clone()),
        ));
        values.push((names.name(SecretKey::ClientSecret), c.client_secret.clone()));
    }
    values.push((names.name(SecretKey::RefreshToken), refresh));
    values.push((
        names.name(SecretKey::AccessToken),
        tokens.proxy_access_token(),
    ));
    Ok(Pending {
        own_lock_ms: None,
        target: ctx.store_target.clone(),
        connector: ctx.connector,
        prefix: names.prefix.clone(),
        values,
        meta: FamilyMetadata {
            issued_at: Some(tokens.obtained_at),
            cloud_id: site.map(|s| s.id.clone()),
        },
        writes: Writes::NotSent,
        expected: None,
    })
}

/// Where the values wait until the store has read them back.
pub enum Keep {
    /// A new recovery file, written before the first store write and removed after the
    /// read-back (init, renew).
    WriteAhead,
    /// The recovery file being pushed; `push` deletes it once the store has the values.
    Existing(PathBuf),
}

/// What a lock value missing from the recovery file costs.
pub const LOCK_NOT_RECORDED: &str = "if this run is killed, `push` waits the lock out";

/// A write that did not reach the store, the lock timestamp left behind if the lock could not
/// be released either, and whether the values were sent.
struct NotStored {
    error: Error,
    left_lock: Option<i64>,
    writes: Writes,
}

/// Takes the lock (when tokens are replaced: `lock_policy` is given), records what the store
/// holds and that the values are being sent, writes, reads back, records metadata, unlocks.
/// `kept` is the recovery file, told all that before the first write; returns it once the store
/// has the values (unless an ending already reported it).
async fn write_locked(
    ctx: &Context,
    store: &Arc<dyn SecretStore>,
    names: &SecretNames,
    pending: &Pending,
    kept: Option<&Path>,
    lock_policy: Option<LockPolicy>,
) -> std::result::Result<Option<PathBuf>, NotStored> {
    // Each lock value goes to the recovery file before it is sent.
    let record = |ms: i64| {
        let lock = |p: &mut Pending| p.own_lock_ms = Some(ms);
        recovery::record_change(kept, pending, lock, LOCK_NOT_RECORDED);
    };
    let mut held = match &lock_policy {
        Some(policy) => Some(
            HeldLock::take(ctx, store, names, policy, &record)
                .await
                .map_err(|error| NotStored {
                    error,
                    left_lock: None,
                    writes: Writes::NotSent,
                })?,
        ),
        None => None,
    };
    let sending = about_to_send(ctx, store, names, pending, kept, held.as_ref()).await;
    let writes = sending
        .as_ref()
        .map(|s| s.writes.clone())
        .unwrap_or(Writes::NotSent);
    let mut result = match &sending {
        Ok(sending) => write_and_read_back(ctx, store, names, sending)
            .await
            .map_err(Error::from),
        Err(e) => Err(Error::Store(e.to_string())),
    };
    if let (Ok(()), Ok(sending), Some(held)) = (&result, &sending, held.as_mut()) {
        result = super::handover::hand_over(ctx, store, names, sending, held, kept).await;
        if let (Ok(()), Writes::Sent(before)) = (&result, &sending.writes) {
            // A later push of the file (the run killed while unlocking) has nothing left to
            // hand over, and `status` may delete it once the store holds its values.
            let done = |p: &mut Pending| {
                p.writes = Writes::HandedOver(before.clone());
                p.own_lock_ms = Some(held.since);
            };
            let cost = "if this run is killed, `push` hands the values over again";
            recovery::record_change(kept, sending, done, cost);
        }
    }
    // Stored, read back and handed over: a signal during the unlock must say so, not send to
    // `push` (a signal during the handover does: push hands over again).
    let result = result.map(|()| ctx.guard.stored());
    let left_lock = match held {
        Some(held) => held.release(ctx).await.err().map(|(since, _)| since),
        None => None,
    };
    result.map_err(|error| NotStored {
        error,
        left_lock,
        writes,
    })
}

/// Before the first write: what the store holds now (dates only), checked against what a push
/// expects, and recorded in the recovery file with the lock, so that a later `push` can tell
/// whether these values may have reached the store. Nothing is sent unless that is on disk.
async fn about_to_send(
    ctx: &Context,
    store: &Arc<dyn SecretStore>,
    names: &SecretNames,
    pending: &Pending,
    kept: Option<&Path>,
    held: Option<&HeldLock>,
) -> Result<Pending> {
    let before = recovery::verdict::store_state(store.as_ref(), names).await;
    if let Some(expected) = &pending.expected
        && before.as_ref() != Some(expected)
    {
        return Err(Error::Store(
            "the store changed while push was comparing it with the recovery file: run push again"
                .into(),
        ));
    }
    let mut sending = pending.clone();
    sending.own_lock_ms = held.map(|h| h.since).or(pending.own_lock_ms);
    sending.writes = Writes::Sent(before.unwrap_or_default());
    match kept {
        Some(path) => recovery::record(path, &sending).map_err(|e| {
            Error::Store(format!(
                "{e}, so nothing was sent (a later push could not tell whether it was)"
            ))
        })?,
        None => ctx.guard.pending(sending.clone()),
    }
    Ok(sending)
}

async fn write_and_read_back(
    ctx: &Context,
    store: &Arc<dyn SecretStore>,
    names: &SecretNames,
    pending: &Pending,
) -> StoreResult<()> {
    let (values, meta) = (&pending.values, &pending.meta);
    let _spinner = ctx.ui.spinner(&format!(
        "Writing {} secrets to {}",
        values.len(),
        store.describe()
    ));
    tracing::info!(store = %store.describe(), names = ?values.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(), "writing secrets");
    let policy = RetryPolicy::default();
    with_retries(&policy, || store.write_all(values)).await?;
    let names_written: Vec<String> = values.iter().map(|(n, _)| n.clone()).collect();
    let back = with_retries(&policy, || store.read_all(&names_written)).await?;
    for ((name, value), read) in values.iter().zip(back) {
        if read.map(|b| b.value.expose_secret() == value.expose_secret()) != Some(true) {
            return Err(StoreError::Other(format!(
                "{name} did not read back as written"
            )));
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
    let result = write_locked(ctx, store, names, &pending, kept.as_deref(), lock_policy).await;
    match result {
        Ok(copy) => {
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
        Err(NotStored {
            error: Error::Interrupted(m),
            ..
        }) => Err(Error::Interrupted(m)),
        Err(NotStored { error, .. }) if !write_ahead => {
            ctx.guard.settled();
            Err(error)
        }
        Err(NotStored {
            error: e,
            left_lock,
            writes,
        }) => {
            ctx.guard.settled();
            let saved = match kept {
                Some(path) => Ok(path),
                None => {
                    pending.own_lock_ms = left_lock;
                    pending.writes = writes;
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
