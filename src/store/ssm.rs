//! AWS Systems Manager Parameter Store, where Psoxy's AWS deployments read their secrets
//! (psoxy-contract §3): SecureString parameters `<root path><ENV>_<SEGMENT><NAME>` (`_JIRA_CLOUD_`), pre-created by
//! Terraform as `fill me`. Credentials and region come from the standard AWS chain (environment,
//! profiles including IAM Identity Center, web identity, instance roles), and AWS_ENDPOINT_URL /
//! AWS_ENDPOINT_URL_SSM are honoured. An overwritten parameter keeps its KMS key; the token
//! family's metadata are tags on the REFRESH_TOKEN parameter; the refresh lock is the proxy's own
//! `<prefix>OAUTH_REFRESH_TOKEN_lock` String parameter.

pub(crate) mod connect;
pub(crate) mod error;
mod history;
mod lock;
mod tags;

pub use tags::{TAG_CLOUD_ID, TAG_ISSUED_AT};

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use aws_sdk_ssm::Client;
use aws_sdk_ssm::primitives::DateTime as AwsDateTime;
use aws_sdk_ssm::types::{ParameterMetadata, ParameterStringFilter, ParameterTier, ParameterType};
use chrono::{DateTime, Utc};
use futures_util::future::try_join_all;
use tokio::task::JoinSet;

use super::*;
use crate::secret::ExposeSecret;
use error::{Op, classify, code};

/// Standard-tier parameters hold at most this many characters.
const STANDARD_TIER_MAX: usize = 4096;

/// What DescribeParameters said about an existing parameter.
#[derive(Debug, Clone, Default)]
struct Known {
    key_id: Option<String>,
    advanced: bool,
}

pub struct SsmStore {
    client: Client,
    region: String,
    endpoint: Option<String>,
    root_path: String,
    kms_key_id: Option<String>,
    known: super::name_cache::NameCache<Known>,
    /// Set once discovery has described every connector's parameters (so `known` is complete
    /// for any prefix it proposes).
    described_all: std::sync::atomic::AtomicBool,
    /// Lock parameters this store holds, with the value it wrote.
    held: Mutex<HashMap<String, String>>,
}

impl SsmStore {
    fn remember(&self, p: &ParameterMetadata) {
        if let Some(name) = p.name() {
            let known = Known {
                key_id: p.key_id().map(str::to_string),
                advanced: p.tier() == Some(&ParameterTier::Advanced),
            };
            self.known.insert(name, known);
        }
    }

    fn known(&self, name: &str) -> Option<Known> {
        self.known.get(name)
    }

    /// DescribeParameters with a Name filter (`Equals` these names, or `Contains` a part),
    /// remembering each parameter's KMS key and tier; returns the names found.
    async fn describe_matching(
        &self,
        option: &str,
        values: Vec<String>,
    ) -> StoreResult<Vec<String>> {
        let filter = ParameterStringFilter::builder()
            .key("Name")
            .option(option)
            .set_values(Some(values))
            .build()
            .map_err(|e| StoreError::Other(e.to_string()))?;
        let mut pages = self
            .client
            .describe_parameters()
            .parameter_filters(filter)
            .max_results(50)
            .into_paginator()
            .send();
        let op = || Op::new("ssm:DescribeParameters", "*");
        let mut found = Vec::new();
        while let Some(page) = pages.try_next().await.map_err(|e| classify(e, op()))? {
            for p in page.parameters() {
                self.remember(p);
                found.extend(p.name().map(str::to_string));
            }
        }
        Ok(found)
    }

    /// GetParameter with decryption; `None` when the parameter does not exist.
    async fn get(&self, name: &str) -> StoreResult<Option<StoredSecret>> {
        let key = self.known(name).and_then(|k| k.key_id);
        match self
            .client
            .get_parameter()
            .name(name)
            .with_decryption(true)
            .send()
            .await
        {
            Ok(out) => Ok(out.parameter().map(|p| StoredSecret {
                value: SecretString::from(p.value().unwrap_or_default().to_string()),
                updated_at: p.last_modified_date().and_then(to_chrono),
            })),
            Err(e) if code(&e) == Some("ParameterNotFound") => Ok(None),
            Err(e) => Err(classify(
                e,
                Op::new("ssm:GetParameter", name).kms("kms:Decrypt", key.as_deref()),
            )),
        }
    }

    /// Terraform's placeholder (SecureString `fill me`) with Overwrite=false, so an existing
    /// parameter is never changed: `ParameterAlreadyExists` counts as done. That makes it both
    /// the creation of a missing parameter and a write-permission probe that changes nothing:
    /// IAM authorizes the call before SSM checks for the name, so a denial means
    /// ssm:PutParameter (or kms:Encrypt on `key_id`) is not granted.
    pub(crate) async fn put_placeholder(
        &self,
        name: &str,
        key_id: Option<String>,
    ) -> StoreResult<()> {
        let result = self
            .client
            .put_parameter()
            .name(name)
            .value(PLACEHOLDER)
            .r#type(ParameterType::SecureString)
            .set_key_id(key_id.clone())
            .description(crate::connector::secret_description(name))
            .overwrite(false)
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if code(&e) == Some("ParameterAlreadyExists") => Ok(()),
            Err(e) => Err(classify(
                e,
                Op::new("ssm:PutParameter", name).kms("kms:Encrypt", key_id.as_deref()),
            )),
        }
    }
}

/// One SecureString write. Existing parameters keep their KMS key (SSM would otherwise switch
/// them to the default key) and an advanced tier; values too long for the standard tier ask for
/// intelligent tiering.
async fn put(
    client: Client,
    name: String,
    value: SecretString,
    key: Option<String>,
    advanced: bool,
) -> StoreResult<()> {
    let secret = value.expose_secret();
    let tier = if advanced {
        Some(ParameterTier::Advanced)
    } else if secret.chars().count() > STANDARD_TIER_MAX {
        Some(ParameterTier::IntelligentTiering)
    } else {
        None
    };
    client
        .put_parameter()
        .name(&name)
        .value(secret)
        .r#type(ParameterType::SecureString)
        .set_key_id(key.clone())
        .set_tier(tier)
        .overwrite(true)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| {
            classify(
                e,
                Op::new("ssm:PutParameter", &name)
                    .kms("kms:Encrypt", key.as_deref())
                    .secret(secret),
            )
        })
}

pub(crate) fn to_chrono(t: &AwsDateTime) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp_millis(t.to_millis().ok()?)
}

/// SSM names: letters, digits, `_.-/`, and fully qualified when they contain a `/`.
pub(crate) fn check_prefix(prefix: &str) -> StoreResult<()> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || "_.-/".contains(c);
    if !prefix.chars().all(allowed) {
        return Err(StoreError::Other(format!(
            "prefix {prefix:?} has characters SSM parameter names cannot hold (letters, digits, _ . - / only): fix --prefix or --environment-name"
        )));
    }
    if prefix.contains('/') && !prefix.starts_with('/') {
        return Err(StoreError::Other(format!(
            "prefix {prefix:?} contains '/' but does not start with it: SSM needs /{prefix}"
        )));
    }
    Ok(())
}

#[async_trait]
impl SecretStore for SsmStore {
    fn terraform_owned(&self) -> Option<super::terraform::Owned> {
        Some(super::terraform::Owned::SsmParameter)
    }

    fn lock_location(&self, names: &SecretNames) -> String {
        lock::lock_parameter(names)
    }

    /// One GetParameters call (up to 10 names) instead of a GetParameter per name; a caller
    /// allowed only ssm:GetParameter gets the per-name reads.
    async fn read_all(&self, names: &[String]) -> StoreResult<Vec<Option<StoredSecret>>> {
        let mut found = HashMap::new();
        for chunk in names.chunks(10) {
            let sent = self
                .client
                .get_parameters()
                .set_names(Some(chunk.to_vec()))
                .with_decryption(true)
                .send()
                .await;
            let out = match sent
                .map_err(|e| classify(e, Op::new("ssm:GetParameters", &chunk.join(", "))))
            {
                Ok(out) => out,
                Err(StoreError::PermissionDenied(_)) => {
                    let mut each = Vec::with_capacity(names.len());
                    for name in names {
                        each.push(self.get(name).await?);
                    }
                    return Ok(each);
                }
                Err(e) => return Err(e),
            };
            for p in out.parameters() {
                if let Some(name) = p.name() {
                    let secret = StoredSecret {
                        value: SecretString::from(p.value().unwrap_or_default().to_string()),
                        updated_at: p.last_modified_date().and_then(to_chrono),
                    };
                    found.insert(name.to_string(), secret);
                }
            }
        }
        Ok(names.iter().map(|n| found.remove(n)).collect())
    }

    fn describe(&self) -> String {
        match &self.endpoint {
            Some(url) => format!("AWS SSM Parameter Store ({}, endpoint {url})", self.region),
            None => format!("AWS SSM Parameter Store ({})", self.region),
        }
    }

    /// Every connector's `..._REFRESH_TOKEN` parameter (under --ssm-root-path, when given). All
    /// parameters with a connector's segment (`_JIRA_CLOUD_`) are described and remembered, so the
    /// preflight that follows needs no DescribeParameters of its own.
    async fn discover_prefixes(&self) -> StoreResult<Vec<String>> {
        let mut names = Vec::new();
        for connector in crate::connector::ALL {
            let segment = format!("_{}", connector.name_segment);
            names.extend(self.describe_matching("Contains", vec![segment]).await?);
        }
        self.described_all
            .store(true, std::sync::atomic::Ordering::SeqCst);
        let prefixes = names.iter().filter_map(|n| SecretNames::prefix_of(n));
        Ok(prefixes
            .filter(|p| p.starts_with(&self.root_path))
            .collect())
    }

    /// The parameters are visible (ssm:DescribeParameters), readable (ssm:GetParameters or
    /// GetParameter, and kms:Decrypt) and writable (ssm:PutParameter, by probes that change
    /// nothing): every existing one, since IAM policies may name parameters one by one. Tagging
    /// is not probed: a tag failure after a verified write is only a warning. The lock parameter
    /// cannot be probed without taking the proxy's lock; a failure there still comes before any
    /// secret is written.
    async fn preflight(&self, names: &SecretNames) -> StoreResult<Preflight> {
        check_prefix(&names.prefix)?;
        let wanted = names.all();
        // Discovery already described every connector's parameters: no second call for them.
        if !self.described_all.load(std::sync::atomic::Ordering::SeqCst) {
            self.describe_matching("Equals", wanted.clone()).await?;
        }
        let (existing, missing): (Vec<String>, Vec<String>) =
            wanted.into_iter().partition(|n| self.known(n).is_some());
        if !existing.is_empty() {
            self.read_all(&existing).await?;
            try_join_all(
                existing
                    .iter()
                    .map(|n| self.put_placeholder(n, self.known(n).and_then(|k| k.key_id))),
            )
            .await?;
        }
        Ok(Preflight {
            missing,
            ..Default::default()
        })
    }

    /// Creates placeholders as Terraform does: SecureString `fill me`, with --kms-key-id or
    /// the AWS managed key. One created meanwhile by somebody else is left alone.
    async fn create_missing(&self, names: &[String]) -> StoreResult<()> {
        for name in names {
            check_prefix(name)?;
            self.put_placeholder(name, self.kms_key_id.clone()).await?;
        }
        self.describe_matching("Equals", names.to_vec())
            .await
            .map(drop)
    }

    async fn read(&self, name: &str) -> StoreResult<Option<StoredSecret>> {
        self.get(name).await
    }

    async fn write(&self, name: &str, value: &SecretString) -> StoreResult<()> {
        self.write_all(&[(name.to_string(), value.clone())]).await
    }

    /// All values at once (SSM takes concurrent writes to different parameters). Every write
    /// runs to its end; a failure that retrying will not fix is reported in preference.
    async fn write_all(&self, items: &[(String, SecretString)]) -> StoreResult<()> {
        let unknown: Vec<String> = items
            .iter()
            .map(|(n, _)| n.clone())
            .filter(|n| self.known(n).is_none())
            .collect();
        if !unknown.is_empty() {
            self.describe_matching("Equals", unknown).await?;
        }
        let mut writes = JoinSet::new();
        for (name, value) in items {
            let known = self.known(name);
            let key = match &known {
                Some(k) => k.key_id.clone(),
                None => self.kms_key_id.clone(),
            };
            let advanced = known.is_some_and(|k| k.advanced);
            let call = put(
                self.client.clone(),
                name.clone(),
                value.clone(),
                key,
                advanced,
            );
            writes.spawn(call);
        }
        let mut failure: Option<StoreError> = None;
        while let Some(done) = writes.join_next().await {
            let err = match done {
                Ok(Ok(())) => continue,
                Ok(Err(e)) => e,
                Err(e) => StoreError::Other(format!("a parameter write did not finish: {e}")),
            };
            if failure.as_ref().is_none_or(StoreError::is_retryable) {
                failure = Some(err);
            }
        }
        failure.map_or(Ok(()), Err)
    }

    async fn read_metadata(&self, names: &SecretNames) -> StoreResult<FamilyMetadata> {
        self.metadata(names).await
    }

    async fn write_metadata(&self, names: &SecretNames, meta: &FamilyMetadata) -> StoreResult<()> {
        self.set_metadata(names, meta).await
    }

    async fn try_lock(
        &self,
        names: &SecretNames,
        now_ms: i64,
        take_over: bool,
    ) -> StoreResult<LockAttempt> {
        self.lock_attempt(names, now_ms, take_over).await
    }

    async fn unlock(&self, names: &SecretNames) -> StoreResult<()> {
        self.release(names).await
    }

    async fn renew_lock(&self, names: &SecretNames, now_ms: i64) -> StoreResult<Option<i64>> {
        self.renew(names, now_ms).await
    }

    async fn proxy_access_token_candidates(
        &self,
        names: &SecretNames,
    ) -> StoreResult<Vec<SecretString>> {
        self.history_as_proxy_reads(&names.name(SecretKey::AccessToken))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_follow_ssm_name_rules() {
        assert!(check_prefix("PSOXY_JIRA_CLOUD_").is_ok());
        assert!(check_prefix("/x/ACME-PROD_JIRA_CLOUD_").is_ok());
        assert!(check_prefix("x/ACME_JIRA_CLOUD_").is_err());
        assert!(check_prefix("AC ME_JIRA_CLOUD_").is_err());
    }
}
