//! Holding the proxy's own refresh lock while we replace its refresh token (psoxy-contract §3), so a
//! running proxy cannot rotate the old token over our new one. The store only knows how to try
//! and release; waiting, the countdown and stale take-over live here, once for every store.

use std::time::Duration;

use super::{LockAttempt, SecretNames, SecretStore, with_retries};
use crate::error::{Error, Result};
use crate::http::RetryPolicy;
use crate::ui::{Prompter, Ui};

/// The proxy holds its lock for at most this long.
pub const LEASE: Duration = Duration::from_secs(120);

pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

pub struct LockPolicy {
    pub lease: Duration,
    pub poll: Duration,
    /// The timestamp of a lock an earlier run of this tool took and could not release (kept in
    /// the recovery file): that lock is taken over at once instead of waited for.
    pub ours: Option<i64>,
}

impl Default for LockPolicy {
    fn default() -> Self {
        LockPolicy {
            lease: LEASE,
            poll: Duration::from_secs(2),
            ours: None,
        }
    }
}

/// Takes the lock, waiting (with a visible countdown) while another writer holds it, and
/// offering to take over a lock older than the lease. Non-interactive runs take a stale lock over:
/// by the proxy's own rule it has expired.
pub async fn acquire(
    store: &dyn SecretStore,
    names: &SecretNames,
    policy: &LockPolicy,
    ui: &Ui,
    prompter: &dyn Prompter,
) -> Result<i64> {
    let spinner = ui.spinner("Taking the proxy's refresh lock");
    let mut announced = false;
    loop {
        let now = now_ms();
        let attempt = with_retries(&RetryPolicy::default(), || {
            store.try_lock(names, now, false)
        })
        .await?;
        tracing::debug!(lock = %store.lock_location(names), ?attempt, "refresh lock attempt");
        match attempt {
            LockAttempt::Acquired => return Ok(now),
            LockAttempt::HeldSince(since) if Some(since) == policy.ours => {
                let mine = now_ms();
                if with_retries(&RetryPolicy::default(), || {
                    store.try_lock(names, mine, true)
                })
                .await?
                    == LockAttempt::Acquired
                {
                    ui.info("took back the refresh lock an earlier run of this tool left behind");
                    return Ok(mine);
                }
                tokio::time::sleep(policy.poll).await;
            }
            LockAttempt::HeldSince(since) => {
                let age = Duration::from_millis(now.saturating_sub(since).max(0) as u64);
                if age >= policy.lease {
                    drop(spinner);
                    return take_over(store, names, age, policy.lease, ui, prompter).await;
                }
                let left = policy.lease - age;
                if !announced {
                    ui.warn(&format!(
                        "the refresh lock {} is held (by the running proxy?): waiting up to {}s for it",
                        store.lock_location(names),
                        left.as_secs_f64().ceil()
                    ));
                    announced = true;
                }
                spinner.set_message(format!(
                    "Waiting for the proxy's refresh lock: stale in {}s",
                    left.as_secs()
                ));
                tokio::time::sleep(policy.poll.min(left)).await;
            }
        }
    }
}

async fn take_over(
    store: &dyn SecretStore,
    names: &SecretNames,
    age: Duration,
    lease: Duration,
    ui: &Ui,
    prompter: &dyn Prompter,
) -> Result<i64> {
    let question = format!(
        "The refresh lock {} has been held for {}s, longer than the proxy's {}s lease: take it over?",
        store.lock_location(names),
        age.as_secs(),
        lease.as_secs()
    );
    if !prompter.confirm(&question, true)? {
        return Err(Error::Store(format!(
            "the refresh lock {} is held: run again when the proxy has released it",
            store.lock_location(names)
        )));
    }
    let mine = now_ms();
    match with_retries(&RetryPolicy::default(), || {
        store.try_lock(names, mine, true)
    })
    .await?
    {
        LockAttempt::Acquired => {
            ui.warn(&format!(
                "took over a stale refresh lock ({}s old)",
                age.as_secs()
            ));
            Ok(mine)
        }
        LockAttempt::HeldSince(_) => Err(Error::Store(format!(
            "could not take over the refresh lock {}: run again in two minutes",
            store.lock_location(names)
        ))),
    }
}
