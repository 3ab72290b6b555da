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
use super::error::{chain, credentials_fix};
use crate::cli::StoreArgs;
use crate::error::{Error, Result};
use crate::store::StoreError;

fn non_empty(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

impl SsmStore {
    /// Loads the standard AWS chain, honouring --aws-region and --aws-profile.
    pub async fn connect(args: &StoreArgs) -> Result<Self> {
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
    pub async fn with_config(config: &SdkConfig, args: &StoreArgs) -> Result<Self> {
        check_root_path(&args.ssm_root_path)?;
        let profile = non_empty(&args.aws_profile);
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
                chain(&e).split_whitespace().collect::<Vec<_>>().join(" "),
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
            known: Mutex::new(HashMap::new()),
            described_all: Default::default(),
            held: Mutex::new(HashMap::new()),
        })
    }
}

/// `--ssm-root-path` is Psoxy's `aws_ssm_param_root_path` (rule in `names`).
fn check_root_path(root: &str) -> Result<()> {
    crate::store::names::check_ssm_root_path(root).map_err(Error::Input)
}
