//! Building the store from the standard AWS chain: region and credentials are checked here,
//! before anything else runs, and their failures say how to fix them.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_ssm::Client;
use aws_sdk_ssm::config::timeout::TimeoutConfig;
use aws_sdk_ssm::config::{ProvideCredentials, Region};

use super::SsmStore;
use super::error::credentials_fix;
use crate::error::{Error, Result};
use crate::store::StoreError;
use crate::store::target::AwsTarget;

/// Loads the standard AWS chain, honouring --aws-region and --aws-profile. Every AWS store
/// starts here; each service client then honours its own `AWS_ENDPOINT_URL_<SERVICE>`.
pub(crate) async fn load_config(target: &AwsTarget) -> Result<SdkConfig> {
    check_root_path(&target.ssm_root_path)?;
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if let Some(region) = &target.region {
        loader = loader.region(Region::new(region.clone()));
    }
    if let Some(profile) = &target.profile {
        loader = loader.profile_name(profile);
    }
    Ok(loader.load().await)
}

/// The region the AWS profile (else `AWS_DEFAULT_REGION`) names: what a terminal run offers when
/// it asks for the region. Files and environment only; nothing is asked of the network.
pub async fn profile_region(profile: Option<&str>) -> Option<String> {
    use aws_config::meta::region::ProvideRegion;
    let mut from_profile = aws_config::profile::ProfileFileRegionProvider::builder();
    if let Some(p) = profile {
        from_profile = from_profile.profile_name(p);
    }
    if let Some(region) = from_profile.build().region().await {
        return Some(region.to_string());
    }
    aws_config::environment::EnvironmentVariableRegionProvider::new()
        .region()
        .await
        .map(|r| r.to_string())
}

/// The configuration's region, once its credentials are known to resolve: both fail here,
/// before anything else happens.
pub(crate) async fn checked_region(config: &SdkConfig, target: &AwsTarget) -> Result<String> {
    check_root_path(&target.ssm_root_path)?;
    let profile = target.profile.as_deref();
    let region = config.region().map(|r| r.to_string()).ok_or_else(|| {
        StoreError::Credentials(
            "no AWS region is set: set AWS_REGION or pass --aws-region (or set `region` in your AWS profile)".into(),
        )
    })?;
    let provider = config.credentials_provider().ok_or_else(|| {
        StoreError::Credentials(format!(
            "no AWS credentials provider: {}",
            credentials_fix(profile)
        ))
    })?;
    provider.provide_credentials().await.map_err(|e| {
        StoreError::Credentials(format!(
            "no usable AWS credentials ({}): {}",
            crate::error::one_line(&e)
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" "),
            credentials_fix(profile)
        ))
    })?;
    Ok(region)
}

/// Short timeouts: an unreachable endpoint fails in seconds, not minutes.
pub(crate) fn timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(5))
        .operation_attempt_timeout(Duration::from_secs(20))
        .operation_timeout(Duration::from_secs(60))
        .build()
}

impl SsmStore {
    pub async fn connect(target: &AwsTarget) -> Result<Self> {
        Self::with_config(&load_config(target).await?, target).await
    }

    /// Builds the store from a loaded SDK configuration (region and credentials checked).
    pub async fn with_config(config: &SdkConfig, target: &AwsTarget) -> Result<Self> {
        let region = checked_region(config, target).await?;
        let conf = aws_sdk_ssm::config::Builder::from(config)
            .timeout_config(timeouts())
            .build();
        Ok(SsmStore {
            endpoint: config.endpoint_url().map(str::to_string),
            client: Client::from_conf(conf),
            region,
            root_path: target.ssm_root_path.clone(),
            kms_key_id: target.kms_key_id.clone(),
            known: Default::default(),
            described_all: Default::default(),
            held: Mutex::new(HashMap::new()),
        })
    }
}

/// `--ssm-root-path` is Psoxy's `aws_ssm_param_root_path` (rule in `names`).
fn check_root_path(root: &str) -> Result<()> {
    crate::store::names::check_ssm_root_path(root).map_err(Error::Input)
}
