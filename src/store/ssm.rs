//! AWS Systems Manager Parameter Store, where Psoxy's AWS deployments read their secrets
//! (REFERENCE §3): SecureString parameters `<root path><ENV>_JIRA_CLOUD_<NAME>`, pre-created by
//! Terraform as `fill me`. Credentials and region come from the standard AWS chain (environment,
//! profiles including IAM Identity Center, web identity, instance roles), and AWS_ENDPOINT_URL /
//! AWS_ENDPOINT_URL_SSM are honoured. An overwritten parameter keeps its KMS key; the token
//! family's metadata are tags on the REFRESH_TOKEN parameter; the refresh lock is the proxy's own
//! `<prefix>OAUTH_REFRESH_TOKEN_lock` String parameter.

mod error;

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_ssm::Client;
use aws_sdk_ssm::config::timeout::TimeoutConfig;
use aws_sdk_ssm::config::{ProvideCredentials, Region};
use aws_sdk_ssm::error::DisplayErrorContext;
use aws_sdk_ssm::primitives::DateTime as AwsDateTime;
use aws_sdk_ssm::types::{
    ParameterMetadata, ParameterStringFilter, ParameterTier, ParameterType, ResourceTypeForTagging,
    Tag,
};
use chrono::{DateTime, SecondsFormat, Utc};
use tokio::task::JoinSet;

use super::names::DISCOVERY_SUFFIX;
use super::*;
use crate::cli::StoreArgs;
use crate::error::Error;
use crate::secret::ExposeSecret;
use error::{Op, classify, code, credentials_fix};

/// Tag on the REFRESH_TOKEN parameter: when the token family was first issued (RFC 3339, UTC).
pub const TAG_ISSUED_AT: &str = "jira-psoxy-setup:family-issued-at";
/// Tag on the REFRESH_TOKEN parameter: the Jira site's cloud id.
pub const TAG_CLOUD_ID: &str = "jira-psoxy-setup:cloud-id";
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
    known: Mutex<HashMap<String, Known>>,
    /// Lock parameters this store holds, with the value it wrote.
    held: Mutex<HashMap<String, String>>,
}

fn non_empty(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

impl SsmStore {
    /// Loads the standard AWS chain, honouring --aws-region and --aws-profile.
    pub async fn connect(args: &StoreArgs) -> crate::error::Result<Self> {
        check_root_path(&args.ssm_root_path)?;
        let mut loader = aws_config::defaults(BehaviorVersion::latest());
        if let Some(region) = non_empty(&args.aws_region) {
            loader = loader.region(Region::new(region.to_string()));
        }
        if let Some(profile) = non_empty(&args.aws_profile) {
            loader = loader.profile_name(profile);
        }
        Self::with_config(&loader.load().await, args).await
    }

    /// Builds the store from a loaded SDK configuration, after checking that it names a region
    /// and that its credentials resolve: both fail here, before anything else happens.
    pub async fn with_config(config: &SdkConfig, args: &StoreArgs) -> crate::error::Result<Self> {
        check_root_path(&args.ssm_root_path)?;
        let profile = non_empty(&args.aws_profile);
        let region = config.region().map(|r| r.to_string()).ok_or_else(|| {
            StoreError::Credentials(
                "no AWS region is set: set AWS_REGION or pass --aws-region (or set `region` in your AWS profile)".into(),
            )
        })?;
        let provider = config.credentials_provider().ok_or_else(|| {
            StoreError::Credentials(format!("no AWS credentials provider: {}", credentials_fix(profile)))
        })?;
        provider.provide_credentials().await.map_err(|e| {
            StoreError::Credentials(format!(
                "no usable AWS credentials ({}): {}",
                DisplayErrorContext(&e),
                credentials_fix(profile)
            ))
        })?;
        let timeouts = TimeoutConfig::builder()
            .connect_timeout(Duration::from_secs(5))
            .operation_attempt_timeout(Duration::from_secs(20))
            .operation_timeout(Duration::from_secs(60))
            .build();
        let conf = aws_sdk_ssm::config::Builder::from(config)
            .timeout_config(timeouts)
            .build();
        Ok(SsmStore {
            endpoint: config.endpoint_url().map(str::to_string),
            client: Client::from_conf(conf),
            region,
            root_path: args.ssm_root_path.clone(),
            kms_key_id: non_empty(&args.kms_key_id).map(str::to_string),
            known: Mutex::default(),
            held: Mutex::default(),
        })
    }

    fn remember(&self, p: &ParameterMetadata) {
        if let Some(name) = p.name() {
            let known = Known {
                key_id: p.key_id().map(str::to_string),
                advanced: p.tier() == Some(&ParameterTier::Advanced),
            };
            self.known.lock().unwrap().insert(name.to_string(), known);
        }
    }

    fn known(&self, name: &str) -> Option<Known> {
        self.known.lock().unwrap().get(name).cloned()
    }

    /// DescribeParameters for these exact names (at most 50), remembering what exists.
    async fn describe_names(&self, names: &[String]) -> StoreResult<()> {
        let filter = ParameterStringFilter::builder()
            .key("Name")
            .option("Equals")
            .set_values(Some(names.to_vec()))
            .build()
            .map_err(|e| StoreError::Other(e.to_string()))?;
        let mut pages = self
            .client
            .describe_parameters()
            .parameter_filters(filter)
            .max_results(50)
            .into_paginator()
            .send();
        let op = || Op::new("ssm:DescribeParameters", "the deployment's parameters");
        while let Some(page) = pages.try_next().await.map_err(|e| classify(e, op()))? {
            page.parameters().iter().for_each(|p| self.remember(p));
        }
        Ok(())
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

    /// A write-permission probe that changes nothing: PutParameter with Overwrite=false on a
    /// parameter that exists. IAM authorizes the call before SSM checks for the name, so
    /// `ParameterAlreadyExists` means ssm:PutParameter is granted on it, and a denial means not.
    async fn probe_put(&self, name: &str) -> StoreResult<()> {
        let key = self.known(name).and_then(|k| k.key_id);
        let result = self
            .client
            .put_parameter()
            .name(name)
            .value(PLACEHOLDER)
            .r#type(ParameterType::SecureString)
            .set_key_id(key.clone())
            .overwrite(false)
            .send()
            .await;
        match result {
            // Ok: it vanished since DescribeParameters and is now what Terraform would have made.
            Ok(_) => Ok(()),
            Err(e) if code(&e) == Some("ParameterAlreadyExists") => Ok(()),
            Err(e) => Err(classify(
                e,
                Op::new("ssm:PutParameter", name).kms("kms:Encrypt", key.as_deref()),
            )),
        }
    }

    /// Checks ssm:AddTagsToResource without changing anything: re-applies a tag the parameter
    /// already has, with its current value. Parameters without tags (or unreadable tags) are not
    /// probed.
    async fn probe_tags(&self, name: &str) -> StoreResult<()> {
        let Ok(tags) = self.list_tags(name).await else {
            return Ok(());
        };
        let Some((key, value)) = tags
            .iter()
            .find(|(k, _)| k.starts_with("jira-psoxy-setup:"))
            .or_else(|| tags.iter().next())
        else {
            return Ok(());
        };
        self.add_tags(name, vec![tag(key, value)?]).await
    }

    async fn list_tags(&self, name: &str) -> StoreResult<HashMap<String, String>> {
        match self
            .client
            .list_tags_for_resource()
            .resource_type(ResourceTypeForTagging::Parameter)
            .resource_id(name)
            .send()
            .await
        {
            Ok(out) => Ok(out
                .tag_list()
                .iter()
                .map(|t| (t.key().to_string(), t.value().to_string()))
                .collect()),
            Err(e) if matches!(code(&e), Some("InvalidResourceId" | "ParameterNotFound")) => {
                Ok(HashMap::new())
            }
            Err(e) => Err(classify(e, Op::new("ssm:ListTagsForResource", name))),
        }
    }

    async fn add_tags(&self, name: &str, tags: Vec<Tag>) -> StoreResult<()> {
        self.client
            .add_tags_to_resource()
            .resource_type(ResourceTypeForTagging::Parameter)
            .resource_id(name)
            .set_tags(Some(tags))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| classify(e, Op::new("ssm:AddTagsToResource", name)))
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

fn to_chrono(t: &AwsDateTime) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp_millis(t.to_millis().ok()?)
}

/// `--ssm-root-path` is Psoxy's `aws_ssm_param_root_path`: empty, or fully qualified.
fn check_root_path(root: &str) -> crate::error::Result<()> {
    if root.is_empty() || root.starts_with('/') {
        return Ok(());
    }
    Err(Error::Input(format!(
        "--ssm-root-path {root:?} must start with '/' (e.g. /{root}): SSM names that contain '/' are fully qualified"
    )))
}

/// SSM names: letters, digits, `_.-/`, and fully qualified when they contain a `/`.
fn check_prefix(prefix: &str) -> StoreResult<()> {
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

/// SSM tag values allow letters, digits, spaces and `_.:/=+-@`, up to 256 characters.
fn tag(key: &str, value: &str) -> StoreResult<Tag> {
    let allowed = |c: char| c.is_alphanumeric() || c.is_whitespace() || "_.:/=+-@".contains(c);
    if value.chars().count() > 256 || !value.chars().all(allowed) {
        return Err(StoreError::Other(format!(
            "{value:?} cannot be stored as the SSM tag {key} (letters, digits, spaces and _.:/=+-@ only)"
        )));
    }
    Tag::builder()
        .key(key)
        .value(value)
        .build()
        .map_err(|e| StoreError::Other(e.to_string()))
}

fn lock_parameter(names: &SecretNames) -> String {
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

fn parse_issued_at(value: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(value)
        .map(|d| d.with_timezone(&Utc))
        .ok()
        .or_else(|| DateTime::from_timestamp_millis(value.parse().ok()?))
}

#[async_trait]
impl SecretStore for SsmStore {
    fn describe(&self) -> String {
        match &self.endpoint {
            Some(url) => format!("AWS SSM Parameter Store ({}, endpoint {url})", self.region),
            None => format!("AWS SSM Parameter Store ({})", self.region),
        }
    }

    /// Every `...JIRA_CLOUD_REFRESH_TOKEN` parameter (under --ssm-root-path, when given).
    async fn discover_prefixes(&self) -> StoreResult<Vec<String>> {
        let filter = ParameterStringFilter::builder()
            .key("Name")
            .option("Contains")
            .values(DISCOVERY_SUFFIX)
            .build()
            .map_err(|e| StoreError::Other(e.to_string()))?;
        let mut pages = self
            .client
            .describe_parameters()
            .parameter_filters(filter)
            .max_results(50)
            .into_paginator()
            .send();
        let mut found = Vec::new();
        let op = || Op::new("ssm:DescribeParameters", "*");
        while let Some(page) = pages.try_next().await.map_err(|e| classify(e, op()))? {
            for p in page.parameters() {
                self.remember(p);
                if let Some(prefix) = p.name().and_then(SecretNames::prefix_of)
                    && prefix.starts_with(&self.root_path)
                {
                    found.push(prefix);
                }
            }
        }
        Ok(found)
    }

    /// The parameters are visible (ssm:DescribeParameters), readable (ssm:GetParameter and
    /// kms:Decrypt, on REFRESH_TOKEN), writable (ssm:PutParameter, by a probe that changes
    /// nothing) and taggable (ssm:AddTagsToResource, when a tag can be re-applied as it is).
    async fn preflight(&self, names: &SecretNames) -> StoreResult<Preflight> {
        check_prefix(&names.prefix)?;
        let wanted = names.all();
        self.describe_names(&wanted).await?;
        let missing: Vec<String> = wanted
            .iter()
            .filter(|n| self.known(n).is_none())
            .cloned()
            .collect();
        let refresh = names.name(SecretKey::RefreshToken);
        let existing = std::iter::once(&refresh)
            .chain(&wanted)
            .find(|n| self.known(n).is_some());
        if let Some(name) = existing {
            self.get(name).await?;
            self.probe_put(name).await?;
        }
        if self.known(&refresh).is_some() {
            self.probe_tags(&refresh).await?;
        }
        Ok(Preflight { missing })
    }

    /// Creates placeholders as Terraform does: SecureString `fill me`, with --kms-key-id or
    /// the AWS managed key. One created meanwhile by somebody else is left alone.
    async fn create_missing(&self, names: &[String]) -> StoreResult<()> {
        for name in names {
            check_prefix(name)?;
            let result = self
                .client
                .put_parameter()
                .name(name)
                .value(PLACEHOLDER)
                .r#type(ParameterType::SecureString)
                .set_key_id(self.kms_key_id.clone())
                .description("Psoxy Jira Cloud secret (created by jira-psoxy-setup)")
                .overwrite(false)
                .send()
                .await;
            match result {
                Ok(_) => {}
                Err(e) if code(&e) == Some("ParameterAlreadyExists") => {}
                Err(e) => {
                    let op = Op::new("ssm:PutParameter", name)
                        .kms("kms:Encrypt", self.kms_key_id.as_deref());
                    return Err(classify(e, op));
                }
            }
        }
        self.describe_names(names).await
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
            self.describe_names(&unknown).await?;
        }
        let mut writes = JoinSet::new();
        for (name, value) in items {
            let known = self.known(name);
            let key = match &known {
                Some(k) => k.key_id.clone(),
                None => self.kms_key_id.clone(),
            };
            let advanced = known.is_some_and(|k| k.advanced);
            let call = put(self.client.clone(), name.clone(), value.clone(), key, advanced);
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
        let tags = self.list_tags(&names.name(SecretKey::RefreshToken)).await?;
        Ok(FamilyMetadata {
            issued_at: tags.get(TAG_ISSUED_AT).and_then(|v| parse_issued_at(v)),
            cloud_id: tags.get(TAG_CLOUD_ID).cloned(),
        })
    }

    async fn write_metadata(&self, names: &SecretNames, meta: &FamilyMetadata) -> StoreResult<()> {
        let mut tags = Vec::new();
        if let Some(t) = meta.issued_at {
            let when = t.to_rfc3339_opts(SecondsFormat::Millis, true);
            tags.push(tag(TAG_ISSUED_AT, &when)?);
        }
        if let Some(id) = &meta.cloud_id {
            tags.push(tag(TAG_CLOUD_ID, id)?);
        }
        if tags.is_empty() {
            return Ok(());
        }
        self.add_tags(&names.name(SecretKey::RefreshToken), tags)
            .await
    }

    /// Creates `<prefix>OAUTH_REFRESH_TOKEN_lock` = `locked_<now>` with Overwrite=false, as the
    /// proxy does; `take_over` overwrites it instead.
    async fn try_lock(
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
                    self.held.lock().unwrap().insert(name, value);
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

    /// Deletes the lock parameter, unless it is no longer the one this store wrote (another
    /// writer took a stale lock over).
    async fn unlock(&self, names: &SecretNames) -> StoreResult<()> {
        let name = lock_parameter(names);
        let ours = self.held.lock().unwrap().remove(&name);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_path_must_be_fully_qualified() {
        assert!(check_root_path("").is_ok());
        assert!(check_root_path("/x/").is_ok());
        let e = check_root_path("x/").unwrap_err().to_string();
        assert!(e.contains("--ssm-root-path") && e.contains("/x/"), "{e}");
    }

    #[test]
    fn prefixes_follow_ssm_name_rules() {
        assert!(check_prefix("PSOXY_JIRA_CLOUD_").is_ok());
        assert!(check_prefix("/x/ACME-PROD_JIRA_CLOUD_").is_ok());
        assert!(check_prefix("x/ACME_JIRA_CLOUD_").is_err());
        assert!(check_prefix("AC ME_JIRA_CLOUD_").is_err());
    }

    #[test]
    fn lock_age_from_value_then_write_time() {
        let t = AwsDateTime::from_millis(1_700_000_000_000);
        assert_eq!(lock_since(Some("locked_1700000000123"), Some(&t)), 1_700_000_000_123);
        assert_eq!(lock_since(Some("garbage"), Some(&t)), 1_700_000_000_000);
        assert_eq!(lock_since(None, None), 0);
    }

    #[test]
    fn tag_values_are_checked_and_times_round_trip() {
        let when = DateTime::from_timestamp_millis(1_700_000_000_123).unwrap();
        let text = when.to_rfc3339_opts(SecondsFormat::Millis, true);
        assert!(tag(TAG_ISSUED_AT, &text).is_ok());
        assert_eq!(parse_issued_at(&text), Some(when));
        assert_eq!(parse_issued_at("1700000000123"), Some(when));
        assert!(tag(TAG_CLOUD_ID, "a1b2c3d4-0000-1111-2222-333344445555").is_ok());
        assert!(tag(TAG_CLOUD_ID, "bad\"value").is_err());
    }
}
