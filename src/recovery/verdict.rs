//! Whether writing a recovery file's values moves the store forward. Refresh tokens rotate: once
//! the proxy has refreshed a family, its earlier refresh token is spent, and writing it back makes
//! the next refresh fail with `invalid_grant` — the whole family is dead. So before `push` (and
//! the advice of `status`, `init`, `renew`) the store is compared with the file: the values in
//! memory, the family's issue date and when the refresh token was last written (a rotation keeps
//! the issue date and changes the other two, psoxy-contract §3). The file records only dates of
//! what the store held (never a value, a hash or a fingerprint of one).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Pending, Writes};
use crate::secret::ExposeSecret;
use crate::store::{SecretKey, SecretNames, SecretStore, StoreResult, is_placeholder};

/// What the store held, in dates only: the family's recorded issue date, and when its refresh
/// token was last written (the store's own clock).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreState {
    pub family_issued_at: Option<DateTime<Utc>>,
    pub refresh_token_written_at: Option<DateTime<Utc>>,
}

/// What to do with a recovery file, given what the store holds now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The store holds an older family (or none): writing the file's values moves it forward.
    Forward,
    /// Every value of the file is in the store, but the run that wrote them ended before its
    /// handover to the running proxy: written again under the lock and handed over, the file
    /// is done (psoxy-contract §8).
    Unfinished,
    /// Every value of the file is in the store: nothing to write; the file can go.
    Stored,
    /// The store holds this family, refreshed since, or a newer one: the file's refresh token is
    /// spent or superseded, and writing it would do harm. Why, in names and dates.
    Obsolete(String),
    /// The store holds something this tool cannot place: written after this file's run began
    /// writing, by whom cannot be told. What differs, in names and dates.
    Unplaceable(String),
}

/// The refresh token in the store, compared with the file's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshSeen {
    /// Missing, empty or Terraform's placeholder: no family to harm.
    None,
    Same,
    Other,
}

/// What the store holds, as `decide` needs it.
#[derive(Debug, Clone)]
pub struct Observed {
    pub refresh: RefreshSeen,
    /// Every value of the file is in the store as the file has it.
    pub all_same: bool,
    pub state: StoreState,
}

/// Reads the store (the file's names and the family's metadata) and compares it with `pending`.
pub async fn observe(store: &dyn SecretStore, pending: &Pending) -> StoreResult<Observed> {
    let names = SecretNames::new(pending.prefix.clone());
    let wanted: Vec<String> = pending.values.iter().map(|(n, _)| n.clone()).collect();
    let found = store.read_all(&wanted).await?;
    let meta = store.read_metadata(&names).await?;
    let refresh_name = names.name(SecretKey::RefreshToken);
    let mut all_same = true;
    let mut refresh = RefreshSeen::None;
    let mut written_at = None;
    for ((name, value), stored) in pending.values.iter().zip(&found) {
        let same = stored
            .as_ref()
            .is_some_and(|s| s.value.expose_secret() == value.expose_secret());
        all_same &= same;
        if *name == refresh_name {
            written_at = stored.as_ref().and_then(|s| s.updated_at);
            refresh = match stored {
                _ if same => RefreshSeen::Same,
                Some(s) if !is_placeholder(s.value.expose_secret()) => RefreshSeen::Other,
                _ => RefreshSeen::None,
            };
        }
    }
    all_same &= match (meta.issued_at, pending.meta.issued_at) {
        (Some(store), Some(file)) => {
            let (store, file) = at_store_precision(store, file);
            store == file
        }
        (store, file) => store == file,
    };
    Ok(Observed {
        refresh,
        all_same,
        state: StoreState {
            family_issued_at: meta.issued_at,
            refresh_token_written_at: written_at,
        },
    })
}

/// What the store holds now, in the dates a recovery file records (`None` if it cannot be read).
pub async fn store_state(store: &dyn SecretStore, names: &SecretNames) -> Option<StoreState> {
    let refresh = store
        .read(&names.name(SecretKey::RefreshToken))
        .await
        .ok()?;
    let meta = store.read_metadata(names).await.ok()?;
    Some(StoreState {
        family_issued_at: meta.issued_at,
        refresh_token_written_at: refresh.and_then(|r| r.updated_at),
    })
}

/// An issue date as the store keeps it, for comparing: GCP labels keep whole seconds, the other
/// stores milliseconds. A date with no fraction is compared in seconds.
fn at_store_precision(store: DateTime<Utc>, file: DateTime<Utc>) -> (i64, i64) {
    if store.timestamp_subsec_millis() == 0 {
        (store.timestamp(), file.timestamp())
    } else {
        (store.timestamp_millis(), file.timestamp_millis())
    }
}

fn when(t: Option<DateTime<Utc>>) -> String {
    t.map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_else(|| "unknown".into())
}

/// The rule, with no I/O: only ever move the store forward.
pub fn decide(pending: &Pending, seen: &Observed) -> Verdict {
    let refresh = SecretNames::new(pending.prefix.clone()).name(SecretKey::RefreshToken);
    let now = &seen.state;
    match seen.refresh {
        RefreshSeen::None => return Verdict::Forward,
        // The family is the file's and the proxy has not refreshed it: finishing is safe.
        RefreshSeen::Same if seen.all_same => {
            return match pending.writes {
                Writes::Sent(_) => Verdict::Unfinished,
                _ => Verdict::Stored,
            };
        }
        RefreshSeen::Same => return Verdict::Forward,
        RefreshSeen::Other => {}
    }
    let theirs = now.family_issued_at;
    let ours = pending.meta.issued_at;
    if let (Some(theirs), Some(ours)) = (theirs, ours) {
        let (store, file) = at_store_precision(theirs, ours);
        if store == file && matches!(pending.writes, Writes::Sent(_)) {
            // No running proxy was shown this family, and the run held the lock until it
            // ended: a different refresh token under its issue date may be the proxy's
            // rotation of it (after a lock lost or a signal) or an older family written over it.
            return Verdict::Unplaceable(format!(
                "the store holds this file's issue date ({}) with another refresh token, written {}, and the run that wrote this file ended before handing it over to the running proxy: either the proxy refreshed this file's family since (then its refresh token is spent) or another family was written over it (then this file holds the newest one); `jira-psoxy-setup check` tells whether the proxy's family works",
                when(Some(ours)),
                when(now.refresh_token_written_at)
            ));
        }
        if store == file {
            return Verdict::Obsolete(format!(
                "the store holds this file's token family (issued {}), and {refresh} was written since ({}): the proxy has refreshed it, so this file's refresh token is spent and writing it back would break the family",
                when(Some(ours)),
                when(now.refresh_token_written_at)
            ));
        }
        if store > file {
            return Verdict::Obsolete(format!(
                "the store holds a newer token family (issued {}) than this file's (issued {})",
                when(Some(theirs)),
                when(Some(ours))
            ));
        }
    }
    // The store holds an older family, or one with no recorded date.
    match &pending.writes {
        Writes::NotSent => Verdict::Forward,
        Writes::Sent(before) | Writes::HandedOver(before)
            if before.refresh_token_written_at.is_some()
                && before.refresh_token_written_at == now.refresh_token_written_at =>
        {
            Verdict::Forward
        }
        Writes::Sent(before) | Writes::HandedOver(before) => Verdict::Unplaceable(format!(
            "{refresh} was written {}, after this file's run began writing (the store then held a family issued {}, its refresh token written {}); the family now stored was issued {}: either this file's values landed and the proxy refreshed them (then its refresh token is spent), or the proxy refreshed the older family",
            when(now.refresh_token_written_at),
            when(before.family_issued_at),
            when(before.refresh_token_written_at),
            when(theirs)
        )),
        Writes::Unknown => Verdict::Unplaceable(format!(
            "{refresh} was written {} and holds a family issued {}; this file (from an earlier version of this tool) does not record whether its values reached the store, so its refresh token may be spent",
            when(now.refresh_token_written_at),
            when(theirs)
        )),
    }
}

#[cfg(test)]
mod tests;
