//! The proxy's refresh lock as each store implementation takes it (psoxy-contract §8 item 7).

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_ssm::types::ParameterType;

use super::ProxyTiming;
use crate::store::lock::now_ms;
use crate::store::{LockAttempt, SecretNames, SecretStore};

/// How an instance takes `OAUTH_REFRESH_TOKEN`.
#[derive(Clone)]
pub enum ProxyLock {
    /// AWS, in both SSM and Secrets Manager mode (`AwsModule.lockService`):
    /// `ParameterStoreConfigService.acquire` on this parameter (`<prefix>OAUTH_REFRESH_TOKEN_lock`),
    /// a held lock judged by its `LastModifiedDate`, the server's time.
    Ssm {
        client: aws_sdk_ssm::Client,
        parameter: String,
    },
    /// GCP (`SecretManagerConfigService.acquire`), and the file store: the store's own lock, a
    /// held one judged by its value (the writer's clock) against this instance's clock.
    ByValue,
}

impl ProxyLock {
    /// The SSM lock parameter for these names, as `ParameterStoreConfigService.lockParameterName`
    /// builds it (a namespace with `/` gets a leading one).
    pub fn ssm(client: aws_sdk_ssm::Client, names: &SecretNames) -> ProxyLock {
        let mut prefix = names.prefix.clone();
        if prefix.contains('/') && !prefix.starts_with('/') {
            prefix.insert(0, '/');
        }
        ProxyLock::Ssm {
            client,
            parameter: format!("{prefix}OAUTH_REFRESH_TOKEN_lock"),
        }
    }

    /// One `acquire(lockId, 2 minutes)`: true when this instance now holds the lock. Errors are
    /// logged and read as "not acquired", as the Java does.
    pub async fn acquire(
        &self,
        store: &Arc<dyn SecretStore>,
        names: &SecretNames,
        timing: &ProxyTiming,
    ) -> bool {
        match self {
            ProxyLock::Ssm { client, parameter } => acquire_ssm(client, parameter, timing).await,
            ProxyLock::ByValue => {
                let now = now_ms();
                match store.try_lock(names, now, false).await {
                    Ok(LockAttempt::Acquired) => true,
                    Ok(LockAttempt::HeldSince(since)) => {
                        let lease = i64::try_from(timing.lease.as_millis()).unwrap_or(i64::MAX);
                        since < now.saturating_sub(lease)
                            && matches!(
                                store.try_lock(names, now, true).await,
                                Ok(LockAttempt::Acquired)
                            )
                    }
                    Err(e) => {
                        tracing::warn!("simulated proxy: could not take the lock: {e}");
                        false
                    }
                }
            }
        }
    }

    pub async fn release(&self, store: &Arc<dyn SecretStore>, names: &SecretNames) {
        let released = match self {
            ProxyLock::Ssm { client, parameter } => client
                .delete_parameter()
                .name(parameter)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| e.to_string()),
            // The Java removes the label whoever set it; the store's unlock keeps one taken
            // over meanwhile (the difference matters only to a lock already stale).
            ProxyLock::ByValue => store.unlock(names).await.map_err(|e| e.to_string()),
        };
        if let Err(e) = released {
            tracing::debug!("simulated proxy: lock release: {e}");
        }
    }
}

/// `ParameterStoreConfigService.acquire`: create with `Overwrite=false`, pause, read back and
/// compare; a lock that exists is deleted when its `LastModifiedDate` is older than the lease
/// (and the attempt still fails: the caller retries).
async fn acquire_ssm(client: &aws_sdk_ssm::Client, parameter: &str, timing: &ProxyTiming) -> bool {
    let value = format!("locked_{}", now_ms());
    let put = client
        .put_parameter()
        .name(parameter)
        .r#type(ParameterType::String)
        .value(&value)
        .overwrite(false)
        .send()
        .await;
    match put {
        Ok(_) => {
            tokio::time::sleep(super::between(timing.lock_settle, timing.lock_settle * 3)).await;
            let read = client.get_parameter().name(parameter).send().await;
            read.ok()
                .and_then(|r| r.parameter().and_then(|p| p.value().map(str::to_string)))
                == Some(value)
        }
        Err(e) => {
            let exists = e
                .as_service_error()
                .is_some_and(|s| s.is_parameter_already_exists());
            if exists
                && let Ok(read) = client.get_parameter().name(parameter).send().await
                && let Some(at) = read
                    .parameter()
                    .and_then(|p| p.last_modified_date())
                    .and_then(|d| d.to_millis().ok())
            {
                let lease = i64::try_from(timing.lease.as_millis()).unwrap_or(i64::MAX);
                if at < now_ms().saturating_sub(lease) {
                    tracing::debug!("simulated proxy: the lock {parameter} is stale, removing");
                    let _ = client.delete_parameter().name(parameter).send().await;
                }
            }
            false
        }
    }
}

/// How long Psoxy waits before lock attempt `attempt + 1` (`WAIT_AFTER_FAILED_LOCK_ATTEMPTS`
/// plus up to 250 ms, times the attempt number).
pub(super) fn retry_wait(timing: &ProxyTiming, attempt: u32) -> Duration {
    let jitter = super::between(Duration::ZERO, timing.lock_retry_wait / 16);
    (timing.lock_retry_wait + jitter) * (attempt + 1)
}
