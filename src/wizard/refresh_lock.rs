//! Holding the proxy's own refresh lock while we replace its refresh token (psoxy-contract §3), so a
//! running proxy cannot rotate the old token over our new one: waiting with a countdown, taking a
//! stale lock over (asked in a terminal), and the held lock as a value that must be released.

use std::sync::Arc;
use std::time::Duration;

use super::Context;
use crate::error::{Error, Result};
use crate::http::RetryPolicy;
use crate::store::lock::{LockPolicy, now_ms};
use crate::store::{LockAttempt, SecretNames, SecretStore, StoreError, with_retries};
use crate::ui::{Prompter, Ui};

/// The refresh lock this run holds, registered with the signal guard until `release`.
pub struct HeldLock {
    store: Arc<dyn SecretStore>,
    names: SecretNames,
    /// The lock's `locked_<ms>` timestamp.
    pub since: i64,
}

impl HeldLock {
    /// Waits for the lock and takes it (see `acquire`); a signal from now on releases it.
    /// `record` is told each lock value before it is sent (see `Recorder`).
    pub async fn take(
        ctx: &Context,
        store: &Arc<dyn SecretStore>,
        names: &SecretNames,
        policy: &LockPolicy,
        record: Recorder<'_>,
    ) -> Result<HeldLock> {
        let since = acquire_recording(
            store.as_ref(),
            names,
            policy,
            &ctx.ui,
            ctx.prompter.as_ref(),
            record,
        )
        .await?;
        ctx.guard.lock_taken(store.clone(), names.clone());
        Ok(HeldLock {
            store: store.clone(),
            names: names.clone(),
            since,
        })
    }

    /// Releases the lock. One the store would not release is said, and its timestamp returned
    /// (a recovery file keeps it, so `push` takes it back at once instead of waiting it out).
    pub async fn release(self, ctx: &Context) -> std::result::Result<(), (i64, StoreError)> {
        let released = self.store.unlock(&self.names).await;
        ctx.guard.lock_released();
        released.map_err(|e| {
            ctx.ui.warn(&format!(
                "could not release the refresh lock {} ({e}): the proxy takes it over after two minutes",
                self.store.lock_location(&self.names)
            ));
            (self.since, e)
        })
    }
}

/// How old a held lock is. Its own timestamp is somebody else's clock, or anything at all
/// (`locked_99999999999999`), so the age is also counted from when this run first saw that lock:
/// whatever the timestamp says, a lock is stale `lease + margin` after it was first seen.
struct LockAge {
    /// The lock's `locked_<ms>` value and when this run first saw it.
    seen: Option<(i64, tokio::time::Instant)>,
}

impl LockAge {
    fn of(&mut self, since: i64, now_ms: i64, policy: &LockPolicy) -> Duration {
        let first_seen = match self.seen {
            Some((value, at)) if value == since => at,
            _ => {
                let at = tokio::time::Instant::now();
                self.seen = Some((since, at));
                at
            }
        };
        let watched = first_seen.elapsed();
        let claimed = u64::try_from(now_ms.saturating_sub(since))
            .map(Duration::from_millis)
            .unwrap_or_default();
        // Watched for `lease + margin`, the lock is past its lease whatever it claims.
        claimed.max(watched.saturating_sub(policy.margin))
    }
}

/// Told each `locked_<ms>` value before it is sent: a write that lands but whose answer never
/// arrives (then kill -9) still leaves the value in the recovery file, so `push` takes that lock
/// back at once instead of waiting it out.
pub type Recorder<'a> = &'a (dyn Fn(i64) + Send + Sync);

/// Takes the lock, waiting (with a visible countdown) while another writer holds it, and
/// offering to take over a lock older than the lease (see `LockAge`). Non-interactive runs take a
/// stale lock over: by the proxy's own rule it has expired.
pub async fn acquire(
    store: &dyn SecretStore,
    names: &SecretNames,
    policy: &LockPolicy,
    ui: &Ui,
    prompter: &dyn Prompter,
) -> Result<i64> {
    acquire_recording(store, names, policy, ui, prompter, &|_| {}).await
}

/// `acquire`, telling `record` each lock value before it is sent.
pub async fn acquire_recording(
    store: &dyn SecretStore,
    names: &SecretNames,
    policy: &LockPolicy,
    ui: &Ui,
    prompter: &dyn Prompter,
    record: Recorder<'_>,
) -> Result<i64> {
    let spinner = ui.spinner("Taking the proxy's refresh lock");
    let mut announced = false;
    let mut age_of = LockAge { seen: None };
    loop {
        let now = now_ms();
        record(now);
        let attempt = with_retries(&RetryPolicy::default(), || {
            store.try_lock(names, now, false)
        })
        .await?;
        tracing::debug!(lock = %store.lock_location(names), ?attempt, "refresh lock attempt");
        match attempt {
            LockAttempt::Acquired => return Ok(now),
            LockAttempt::HeldSince(since) if Some(since) == policy.ours => {
                let mine = now_ms();
                record(mine);
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
                let age = age_of.of(since, now, policy);
                if age >= policy.lease {
                    drop(spinner);
                    return take_over(store, names, age, policy.lease, ui, prompter, record).await;
                }
                let left = policy.lease.saturating_sub(age);
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

#[allow(
    clippy::too_many_arguments,
    reason = "acquire's arguments, and the stale lock's age"
)]
async fn take_over(
    store: &dyn SecretStore,
    names: &SecretNames,
    age: Duration,
    lease: Duration,
    ui: &Ui,
    prompter: &dyn Prompter,
    record: Recorder<'_>,
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
    record(mine);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::file::FileStore;
    use crate::ui::{ScriptedPrompter, StdinLines};

    /// `locked_99999999999999` (the year 5138) or a proxy whose clock runs ahead: the lock is
    /// waited for `lease + margin` from when it was first seen, then taken over as stale.
    #[tokio::test]
    async fn a_lock_dated_in_the_future_is_stale_after_the_lease_and_margin() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileStore::new(dir.path().join("secrets.json"));
        let names = SecretNames::new("PSOXY_JIRA_CLOUD_");
        let lock = std::path::PathBuf::from(store.lock_location(&names));
        let prompter = ScriptedPrompter {
            stdin: StdinLines::real(),
        };
        let policy = LockPolicy {
            lease: Duration::from_millis(400),
            margin: Duration::from_millis(200),
            poll: Duration::from_millis(20),
            ours: None,
        };
        for future in [
            "locked_99999999999999",
            &format!("locked_{}", now_ms() + 3_600_000),
        ] {
            std::fs::write(&lock, future).unwrap();
            let started = std::time::Instant::now();
            let taken = tokio::time::timeout(
                Duration::from_secs(10),
                acquire(&store, &names, &policy, &Ui::new(true), &prompter),
            )
            .await
            .unwrap_or_else(|_| panic!("{future}: still waiting after 10s"))
            .unwrap();
            let waited = started.elapsed();
            assert!(waited >= Duration::from_millis(600), "{future}: {waited:?}");
            assert_eq!(
                std::fs::read_to_string(&lock).unwrap(),
                format!("locked_{taken}"),
                "{future}: taken over"
            );
            store.unlock(&names).await.unwrap();
        }
    }

    #[test]
    fn a_lock_counts_from_its_timestamp_or_from_when_it_was_first_seen() {
        let policy = LockPolicy::default();
        let mut age = LockAge { seen: None };
        let now = now_ms();
        assert_eq!(age.of(now - 30_000, now, &policy), Duration::from_secs(30));
        assert_eq!(age.of(now + 60_000, now, &policy), Duration::ZERO);
        assert!(age.of(i64::MIN, now, &policy) >= policy.lease);
    }
}
