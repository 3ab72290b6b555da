//! The proxy's refresh lock in SSM (psoxy-contract §3): a String parameter
//! `<prefix>OAUTH_REFRESH_TOKEN_lock` = `locked_<epoch ms>`, created with Overwrite=false and
//! deleted on release.

use aws_sdk_ssm::primitives::DateTime as AwsDateTime;
use aws_sdk_ssm::types::ParameterType;

use super::SsmStore;
use super::error::{Op, classify, code};
use crate::store::{LockAttempt, SecretNames, StoreResult};

pub(super) fn lock_parameter(names: &SecretNames) -> String {
    format!("{}_lock", names.lock_name())
}

/// The lock's age: its `locked_<epoch ms>` value, else when it was written, else "ancient".
fn lock_since(value: Option<&str>, modified: Option<&AwsDateTime>) -> i64 {
    value
        .and_then(|v| v.trim().strip_prefix("locked_"))
        .and_then(|ms| ms.parse().ok())
        .or_else(|| modified.and_then(|t| t.to_millis().ok()))
        .unwrap_or(0)
}

impl SsmStore {
    /// Creates the lock as the proxy does; `take_over` overwrites a held one instead.
    pub(super) async fn lock_attempt(
        &self,
        names: &SecretNames,
        now_ms: i64,
        take_over: bool,
    ) -> StoreResult<LockAttempt> {
        let name = lock_parameter(names);
        let value = format!("locked_{now_ms}");
        for _ in 0..3 {
            let put = self
                .client
                .put_parameter()
                .name(&name)
                .value(&value)
                .r#type(ParameterType::String)
                .overwrite(take_over)
                .send()
                .await;
            match put {
                Ok(_) => {
                    self.held
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .insert(name, value);
                    return Ok(LockAttempt::Acquired);
                }
                Err(e) if code(&e) == Some("ParameterAlreadyExists") => {}
                Err(e) => return Err(classify(e, Op::new("ssm:PutParameter", &name))),
            }
            match self.client.get_parameter().name(&name).send().await {
                Ok(out) => {
                    let p = out.parameter();
                    let since = lock_since(
                        p.and_then(|p| p.value()),
                        p.and_then(|p| p.last_modified_date()),
                    );
                    return Ok(LockAttempt::HeldSince(since));
                }
                // Released between the two calls: try again.
                Err(e) if code(&e) == Some("ParameterNotFound") => continue,
                Err(e) => return Err(classify(e, Op::new("ssm:GetParameter", &name))),
            }
        }
        Ok(LockAttempt::HeldSince(now_ms))
    }

    /// Deletes the lock, unless it is no longer the one this store wrote (another writer took
    /// it over as stale).
    pub(super) async fn release(&self, names: &SecretNames) -> StoreResult<()> {
        let name = lock_parameter(names);
        let ours = self
            .held
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&name);
        if let Some(ours) = ours {
            match self.client.get_parameter().name(&name).send().await {
                Ok(out) if out.parameter().and_then(|p| p.value()) != Some(ours.as_str()) => {
                    tracing::info!(lock = %name, "the refresh lock changed hands: leaving it");
                    return Ok(());
                }
                Err(e) if code(&e) == Some("ParameterNotFound") => return Ok(()),
                _ => {}
            }
        }
        match self.client.delete_parameter().name(&name).send().await {
            Ok(_) => Ok(()),
            Err(e) if code(&e) == Some("ParameterNotFound") => Ok(()),
            Err(e) => Err(classify(e, Op::new("ssm:DeleteParameter", &name))),
        }
    }
}

impl SsmStore {
    /// Rewrites our lock (`Overwrite=true`), which renews its `LastModifiedDate`, the time the
    /// proxy judges it by (psoxy-contract §8 item 7); `None` when the lock is not ours any more.
    pub(super) async fn renew(&self, names: &SecretNames, now_ms: i64) -> StoreResult<Option<i64>> {
        let name = lock_parameter(names);
        let ours = self
            .held
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&name)
            .cloned();
        let Some(ours) = ours else {
            return Ok(None);
        };
        match self.client.get_parameter().name(&name).send().await {
            Ok(out) if out.parameter().and_then(|p| p.value()) == Some(ours.as_str()) => {}
            Ok(_) => return Ok(None),
            Err(e) if code(&e) == Some("ParameterNotFound") => return Ok(None),
            Err(e) => return Err(classify(e, Op::new("ssm:GetParameter", &name))),
        }
        let value = format!("locked_{now_ms}");
        self.client
            .put_parameter()
            .name(&name)
            .value(&value)
            .r#type(ParameterType::String)
            .overwrite(true)
            .send()
            .await
            .map_err(|e| classify(e, Op::new("ssm:PutParameter", &name)))?;
        self.held
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(name, value);
        Ok(Some(now_ms))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_name_and_age() {
        let names = SecretNames::new("/x/ACME_JIRA_CLOUD_");
        assert_eq!(
            lock_parameter(&names),
            "/x/ACME_JIRA_CLOUD_OAUTH_REFRESH_TOKEN_lock"
        );
        let t = AwsDateTime::from_millis(1_700_000_000_000);
        assert_eq!(
            lock_since(Some("locked_1700000000123"), Some(&t)),
            1_700_000_000_123
        );
        assert_eq!(lock_since(Some("garbage"), Some(&t)), 1_700_000_000_000);
        assert_eq!(lock_since(None, None), 0);
    }
}
