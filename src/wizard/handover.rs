//! The handover to the running proxy (psoxy-contract §8): after the new family is written and
//! read back, and before the refresh lock is released, make sure no proxy instance can write an
//! old family's refresh token over it.
//!
//! An instance overwrites the new family only if it exchanges a refresh token from a config cache
//! loaded before our write (so within the cache's 5 minutes), and it exchanges only while holding
//! the lock and only when its read of the stored ACCESS_TOKEN offers nothing usable. So either:
//! - the proxy's own read (exactly as its store implementation reads) picks the access token we
//!   wrote, and that token outlives the caches: no instance can exchange before its cache holds
//!   the new refresh token; release at once; or
//! - it does not (SSM with more than 10 versions of ACCESS_TOKEN; an unreadable read): keep the
//!   lock, renewing its lease, until every instance's cache has expired, then release.
//!
//! Either way the values must still be ours at the end: a change while we hold the lock means a
//! writer that ignores it, and the run fails with the tokens kept in the recovery file.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use super::Context;
use super::refresh_lock::HeldLock;
use crate::atlassian::proxy_token::{ProxyAccessToken, proxy_pick};
use crate::error::{Error, Result};
use crate::http::RetryPolicy;
use crate::recovery::Pending;
use crate::secret::ExposeSecret;
use crate::store::lock::{CACHE_TTL, LEASE, now_ms, test_override_ms};
use crate::store::{SecretKey, SecretNames, SecretStore, with_retries};

/// How long before expiry the proxy refreshes at the latest (`MAX_PROACTIVE_TOKEN_REFRESH`).
const PROACTIVE_MAX: Duration = Duration::from_secs(10 * 60);

/// The running proxy's clocks the handover waits on.
#[derive(Debug, Clone)]
pub struct ProxyClocks {
    /// `proxyInstanceConfigCacheTtl`: 5 minutes.
    pub cache_ttl: Duration,
    /// The lock's lease, `TOKEN_LOCK_DURATION`: 2 minutes.
    pub lease: Duration,
}

impl ProxyClocks {
    /// Psoxy's, unless a test shortened them (`JIRA_PSOXY_SETUP_TEST_PROXY_CACHE_TTL_MS`,
    /// `JIRA_PSOXY_SETUP_TEST_PROXY_LEASE_MS`; debug builds only, see `test_override_ms`).
    pub fn from_env() -> ProxyClocks {
        let ms = |k: &str, default: Duration| {
            test_override_ms(k)
                .and_then(|ms| u64::try_from(ms).ok())
                .map_or(default, Duration::from_millis)
        };
        ProxyClocks {
            cache_ttl: ms("JIRA_PSOXY_SETUP_TEST_PROXY_CACHE_TTL_MS", CACHE_TTL),
            lease: ms("JIRA_PSOXY_SETUP_TEST_PROXY_LEASE_MS", LEASE),
        }
    }

    /// Until every instance's cache has reloaded: the TTL, plus a twentieth for clocks and
    /// in-flight reads (15 s in production).
    pub fn hold(&self) -> Duration {
        self.cache_ttl
            .saturating_add(self.cache_ttl.checked_div(20).unwrap_or_default())
    }

    /// Our lock is renewed four times per lease.
    fn renew_every(&self) -> Duration {
        self.lease.checked_div(4).unwrap_or_default()
    }
}

/// Why the quick way does not apply, for the operator.
enum Unseen {
    Other,
    TooShort,
    Unreadable(String),
}

/// Runs the handover with the lock `held`; the written values are in `pending`, and in the
/// recovery file `kept`, which is told each renewal of the lock (so `push` takes it back at once).
pub async fn hand_over(
    ctx: &Context,
    store: &Arc<dyn SecretStore>,
    names: &SecretNames,
    pending: &Pending,
    held: &mut HeldLock,
    kept: Option<&Path>,
) -> Result<()> {
    let clocks = ProxyClocks::from_env();
    let written = tokio::time::Instant::now();
    let ours = |key| {
        pending
            .values
            .iter()
            .find(|(n, _)| *n == names.name(key))
            .map(|(_, v)| v.clone())
    };
    let (Some(access), Some(refresh)) =
        (ours(SecretKey::AccessToken), ours(SecretKey::RefreshToken))
    else {
        return Ok(());
    };
    let lock = Renewing {
        held,
        kept,
        pending,
    };
    let result = see_through(ctx, store.as_ref(), names, lock, &clocks, written, &access).await;
    let result = match result {
        Ok(()) => still_ours(store.as_ref(), names, &refresh, &access).await,
        e => e,
    };
    tracing::info!(
        handover_ms = written.elapsed().as_millis(),
        "handover to the running proxy done"
    );
    result
}

/// The quick way when the proxy sees our access token, else the lock kept past every cache.
async fn see_through(
    ctx: &Context,
    store: &dyn SecretStore,
    names: &SecretNames,
    lock: Renewing<'_>,
    clocks: &ProxyClocks,
    written: tokio::time::Instant,
    access: &crate::secret::SecretString,
) -> Result<()> {
    match proxy_sees(store, names, access, clocks).await {
        Ok(()) => ctx.ui.ok(
            "the running proxy reads the new access token, so no instance refreshes from an old refresh token before its cache has the new one",
        ),
        Err(why) => {
            let reason = match why {
                Unseen::Other => "the proxy's read of ACCESS_TOKEN does not return the new one (on SSM it reads only the first 10 versions the service lists)".to_string(),
                Unseen::TooShort => "the new access token expires before every proxy cache has reloaded".to_string(),
                Unseen::Unreadable(e) => format!("ACCESS_TOKEN could not be read as the proxy reads it ({e})"),
            };
            ctx.ui.info(&format!(
                "{reason}: keeping the proxy's refresh lock for {}, until every proxy instance has reloaded the new refresh token",
                minutes(clocks.hold())
            ));
            keep_lock(ctx, store, names, lock, clocks, written).await?;
            ctx.ui.ok("every proxy instance's cache has expired: the proxy now refreshes from the new family");
        }
    }
    Ok(())
}

/// Whether the proxy's read picks `access` and it lasts past every cache.
async fn proxy_sees(
    store: &dyn SecretStore,
    names: &SecretNames,
    access: &crate::secret::SecretString,
    clocks: &ProxyClocks,
) -> std::result::Result<(), Unseen> {
    let candidates = with_retries(&RetryPolicy::default(), || {
        store.proxy_access_token_candidates(names)
    })
    .await
    .map_err(|e| Unseen::Unreadable(e.to_string()))?;
    let ours = ProxyAccessToken::parse(access).ok_or(Unseen::Other)?;
    let picked = proxy_pick(&candidates).ok_or(Unseen::Other)?;
    if picked.token.expose_secret() != ours.token.expose_secret() {
        return Err(Unseen::Other);
    }
    let needed = now_ms()
        .saturating_add(millis(clocks.hold()))
        .saturating_add(millis(PROACTIVE_MAX));
    if picked.expiration_date <= needed {
        return Err(Unseen::TooShort);
    }
    Ok(())
}

/// The held lock and where its renewals are recorded.
struct Renewing<'a> {
    held: &'a mut HeldLock,
    kept: Option<&'a Path>,
    pending: &'a Pending,
}

impl Renewing<'_> {
    fn renewed(&mut self, since: i64) {
        self.held.since = since;
        let lock = |p: &mut Pending| p.own_lock_ms = Some(since);
        let cost = super::save::LOCK_NOT_RECORDED;
        crate::recovery::record_change(self.kept, self.pending, lock, cost);
    }
}

/// Holds the lock until `written + hold`, renewing it; a lock lost or not renewable ends the run.
async fn keep_lock(
    ctx: &Context,
    store: &dyn SecretStore,
    names: &SecretNames,
    mut lock: Renewing<'_>,
    clocks: &ProxyClocks,
    written: tokio::time::Instant,
) -> Result<()> {
    let until = written.checked_add(clocks.hold()).unwrap_or(written);
    let spinner = ctx.ui.spinner("Waiting for the proxy's config caches");
    loop {
        let now = tokio::time::Instant::now();
        if now >= until {
            return Ok(());
        }
        let left = until.saturating_duration_since(now);
        spinner.set_message(format!(
            "Holding the proxy's refresh lock until every instance's config cache has expired: {} left",
            minutes(left)
        ));
        tokio::time::sleep(left.min(clocks.renew_every())).await;
        if tokio::time::Instant::now() >= until {
            return Ok(());
        }
        let renewed = with_retries(&RetryPolicy::default(), || {
            store.renew_lock(names, now_ms())
        })
        .await;
        let location = store.lock_location(names);
        match renewed {
            Ok(Some(since)) => {
                tracing::debug!(lock = %location, since, "refresh lock renewed");
                lock.renewed(since);
            }
            Ok(None) => {
                return Err(Error::Store(format!(
                    "the proxy's refresh lock {location} was taken from this run while the proxy's caches expired, so the proxy may write the old family over the new one"
                )));
            }
            Err(e) => {
                return Err(Error::Store(format!(
                    "the proxy's refresh lock {location} could not be renewed ({e}), so the proxy may write the old family over the new one"
                )));
            }
        }
    }
}

/// The values we wrote are still the stored ones.
async fn still_ours(
    store: &dyn SecretStore,
    names: &SecretNames,
    refresh: &crate::secret::SecretString,
    access: &crate::secret::SecretString,
) -> Result<()> {
    let wanted = [
        (names.name(SecretKey::RefreshToken), refresh),
        (names.name(SecretKey::AccessToken), access),
    ];
    let list: Vec<String> = wanted.iter().map(|(n, _)| n.clone()).collect();
    let back = with_retries(&RetryPolicy::default(), || store.read_all(&list)).await?;
    for ((name, value), read) in wanted.iter().zip(back) {
        if read.map(|r| r.value.expose_secret() == value.expose_secret()) != Some(true) {
            return Err(Error::Store(format!(
                "{name} changed while this run held the proxy's refresh lock: something writes it without the lock, so the new family may be lost"
            )));
        }
    }
    Ok(())
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// `4m 05s`, or `1.5s` for the short clocks of tests.
fn minutes(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 60 {
        format!("{}m {:02}s", s / 60, s % 60)
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}
