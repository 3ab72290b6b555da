//! Labels on Secret Manager secrets: the proxy's refresh lock (`locked=<epoch ms>` on
//! `<prefix>OAUTH_REFRESH_TOKEN`, psoxy-contract §3) and the token family's metadata on the
//! REFRESH_TOKEN secret. Every change is a read-modify-write guarded by the secret's etag.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::DateTime;

use super::ops::Api;
use crate::store::{FamilyMetadata, LockAttempt, SecretKey, SecretNames, StoreError, StoreResult};

/// The proxy's lock label (psoxy-contract §3).
pub const LOCK_LABEL: &str = "locked";
/// Epoch seconds at which the current token family was first issued.
pub const ISSUED_LABEL: &str = "jira-family-issued-at";
/// The site's cloud id, lower case (label values allow `a-z 0-9 _ -`, 63 characters).
pub const CLOUD_ID_LABEL: &str = "jira-cloud-id";

/// Lock label values this process wrote, by lock secret, so `unlock` never removes somebody
/// else's lock.
pub type Held = Mutex<HashMap<String, String>>;

/// Label values: at most 63 of lower-case letters, digits, `_` and `-`.
fn label_value_ok(v: &str) -> bool {
    v.len() <= 63
        && v.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

pub async fn read_metadata(api: &Api, names: &SecretNames) -> StoreResult<FamilyMetadata> {
    let Some(secret) = api.get(&names.name(SecretKey::RefreshToken)).await? else {
        return Ok(FamilyMetadata::default());
    };
    Ok(FamilyMetadata {
        issued_at: secret
            .labels
            .get(ISSUED_LABEL)
            .and_then(|s| s.parse::<i64>().ok())
            .and_then(|s| DateTime::from_timestamp(s, 0)),
        cloud_id: secret
            .labels
            .get(CLOUD_ID_LABEL)
            .filter(|s| !s.is_empty())
            .cloned(),
    })
}

pub async fn write_metadata(
    api: &Api,
    names: &SecretNames,
    meta: &FamilyMetadata,
) -> StoreResult<()> {
    let mut wanted = Vec::new();
    if let Some(t) = meta.issued_at {
        wanted.push((ISSUED_LABEL, t.timestamp().max(0).to_string()));
    }
    if let Some(id) = &meta.cloud_id {
        let id = id.to_ascii_lowercase();
        if label_value_ok(&id) {
            wanted.push((CLOUD_ID_LABEL, id));
        } else {
            tracing::warn!("the cloud id {id:?} cannot be a label value: not recorded");
        }
    }
    if wanted.is_empty() {
        return Ok(());
    }
    let id = names.name(SecretKey::RefreshToken);
    api.update_labels(&id, |labels| {
        let mut changed = false;
        for (k, v) in &wanted {
            changed |= labels.insert(k.to_string(), v.clone()).as_ref() != Some(v);
        }
        Ok(changed)
    })
    .await?;
    Ok(())
}

/// One attempt: the label is written with the etag of the read that found it absent (or,
/// with `take_over`, holding the value being replaced), so two writers cannot both win.
pub async fn try_lock(
    api: &Api,
    held_by_us: &Held,
    names: &SecretNames,
    now_ms: i64,
    take_over: bool,
) -> StoreResult<LockAttempt> {
    let id = names.lock_name();
    for _ in 0..3 {
        let secret = api.get_existing(&id).await?;
        let held = secret.labels.get(LOCK_LABEL).cloned();
        if let (Some(v), false) = (&held, take_over) {
            return Ok(LockAttempt::HeldSince(v.parse().unwrap_or(0)));
        }
        let mut labels = secret.labels.clone();
        labels.insert(LOCK_LABEL.into(), now_ms.to_string());
        match api.patch_labels(&secret, labels).await {
            Ok(_) => {
                held_by_us
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(id, now_ms.to_string());
                return Ok(LockAttempt::Acquired);
            }
            Err(StoreError::Conflict(_)) => {
                let fresh = api.get_existing(&id).await?;
                match fresh.labels.get(LOCK_LABEL) {
                    Some(v) if Some(v) != held.as_ref() => {
                        return Ok(LockAttempt::HeldSince(v.parse().unwrap_or(0)));
                    }
                    _ => continue, // another label changed: try again on the fresh etag
                }
            }
            Err(e) => return Err(e),
        }
    }
    Err(StoreError::Conflict(format!(
        "the labels of {id} keep changing: could not take the refresh lock, run again"
    )))
}

/// Removes the lock label, keeping the others; a lock somebody else took over meanwhile is
/// left alone.
pub async fn unlock(api: &Api, held_by_us: &Held, names: &SecretNames) -> StoreResult<()> {
    let id = names.lock_name();
    let ours = held_by_us
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .remove(&id);
    if api.get(&id).await?.is_none() {
        return Ok(());
    }
    api.update_labels(&id, |labels| match (labels.get(LOCK_LABEL), &ours) {
        (None, _) => Ok(false),
        (Some(v), Some(mine)) if v != mine => {
            tracing::warn!("the refresh lock {id} was taken over meanwhile: leaving it");
            Ok(false)
        }
        _ => Ok(labels.remove(LOCK_LABEL).is_some()),
    })
    .await?;
    Ok(())
}

/// Writes a new time into our lock label (etag-guarded), starting its lease over; `false`
/// when the label is no longer the value this process wrote.
pub async fn renew(
    api: &Api,
    held_by_us: &Held,
    names: &SecretNames,
    now_ms: i64,
) -> StoreResult<bool> {
    let id = names.lock_name();
    let Some(ours) = held_by_us
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get(&id)
        .cloned()
    else {
        return Ok(false);
    };
    let mut still_ours = false;
    api.update_labels(&id, |labels| {
        still_ours = labels.get(LOCK_LABEL) == Some(&ours);
        if still_ours {
            labels.insert(LOCK_LABEL.into(), now_ms.to_string());
        }
        Ok(still_ours)
    })
    .await?;
    if still_ours {
        held_by_us
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id, now_ms.to_string());
    }
    Ok(still_ours)
}
