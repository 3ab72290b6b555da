//! What AWS SSM Parameter Store and AWS Secrets Manager share: their flags, their target (the
//! standard AWS chain with these overrides), loading the SDK configuration (`connect`), turning
//! SDK errors into one line that says what to do (`error`), and Psoxy's naming rule.

pub(crate) mod connect;
pub(crate) mod error;

use aws_sdk_ssm::primitives::DateTime as AwsDateTime;
use chrono::{DateTime, Utc};
use clap::Args;
use serde::{Deserialize, Serialize};

use std::sync::Arc;

use async_trait::async_trait;

use super::registry::{StoreKind, given, typed_not_env};
use super::target::{Flags, TargetSpec};
use super::{SecretStore, StoreError, StoreResult, names};

const HEADING: &str = "AWS (--store aws-ssm or aws-secrets-manager)";

/// The AWS stores' flags.
#[derive(Debug, Clone, Args)]
pub struct AwsArgs {
    /// Go on although an SSM parameter `<prefix>CLIENT_ID` (or a shared `CLIENT_ID`) exists
    /// beside a Secrets Manager deployment: the proxy reads that one first.
    #[arg(long, help_heading = HEADING, hide_short_help = true)]
    pub allow_ssm_client_id: bool,
    /// AWS region of the secrets [default: the AWS profile's].
    #[arg(
        long,
        env = "AWS_REGION",
        hide_env_values = true,
        help_heading = HEADING,
        value_name = "REGION"
    )]
    pub aws_region: Option<String>,
    /// AWS named profile for credentials.
    ///
    /// Default: the standard AWS credential chain.
    #[arg(
        long,
        env = "AWS_PROFILE",
        hide_env_values = true,
        help_heading = HEADING,
        hide_short_help = true,
        value_name = "PROFILE"
    )]
    pub aws_profile: Option<String>,
    /// Psoxy's `aws_ssm_param_root_path` (e.g. `/psoxy/` or `ACME_`); one that contains `/` starts with it.
    #[arg(
        long,
        default_value = "",
        help_heading = HEADING,
        hide_short_help = true,
        value_name = "PATH"
    )]
    pub ssm_root_path: String,
    /// KMS key for parameters or secrets this tool creates (existing ones keep theirs).
    #[arg(
        long,
        help_heading = HEADING,
        hide_short_help = true,
        value_name = "KEY"
    )]
    pub kms_key_id: Option<String>,
}

impl AwsArgs {
    pub fn target(&self) -> AwsTarget {
        AwsTarget {
            region: given(&self.aws_region),
            profile: given(&self.aws_profile),
            ssm_root_path: self.ssm_root_path.clone(),
            kms_key_id: given(&self.kms_key_id),
        }
    }

    /// The flags typed on the command line (a value from the environment is not typed).
    pub fn typed(&self) -> Vec<&'static str> {
        [
            (
                typed_not_env(&self.aws_region, "AWS_REGION"),
                "--aws-region",
            ),
            (
                typed_not_env(&self.aws_profile, "AWS_PROFILE"),
                "--aws-profile",
            ),
            (!self.ssm_root_path.is_empty(), "--ssm-root-path"),
            (self.kms_key_id.is_some(), "--kms-key-id"),
        ]
        .into_iter()
        .filter_map(|(typed, flag)| typed.then_some(flag))
        .collect()
    }
}

/// Where an AWS store is: the standard chain, with these overrides.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AwsTarget {
    #[serde(default)]
    pub region: Option<String>,
    #[serde(default)]
    pub profile: Option<String>,
    /// Psoxy's `aws_ssm_param_root_path` (empty, or starting with `/`).
    #[serde(default)]
    pub ssm_root_path: String,
    /// The KMS key for secrets this tool creates.
    #[serde(default)]
    pub kms_key_id: Option<String>,
}

impl AwsTarget {
    /// psoxy-contract §3, §4: `<root path><ENV ID>_<segment>`.
    pub fn derived_prefix(&self, environment_name: &str, segment: &str) -> String {
        names::aws_prefix(&self.ssm_root_path, environment_name, segment)
    }

    /// A default deployment's: environment `psoxy`.
    pub fn default_prefix(&self, segment: &str) -> String {
        self.derived_prefix("psoxy", segment)
    }

    pub fn flags(&self, flags: &mut Flags) {
        flags.value("--aws-region", self.region.as_deref());
        flags.value("--aws-profile", self.profile.as_deref());
        flags.value("--ssm-root-path", Some(&self.ssm_root_path));
        flags.value("--kms-key-id", self.kms_key_id.as_deref());
    }

    /// `us-east-1`, `us-east-1/PROFILE` with a profile.
    pub fn place(&self) -> String {
        let region = self.region.clone().unwrap_or_else(|| "default".into());
        match &self.profile {
            Some(profile) => format!("{region}/{profile}"),
            None => region,
        }
    }
}

/// What tells one AWS store's target from the other's; the rest of what a target says about
/// itself is the shared AWS part's (`TargetSpec` below).
#[async_trait]
pub trait AwsStoreTarget: Send + Sync {
    fn aws_target(&self) -> &AwsTarget;

    fn store_kind(&self) -> &'static StoreKind;

    async fn open_store(&self) -> crate::error::Result<Arc<dyn SecretStore>>;
}

#[async_trait]
impl<T: AwsStoreTarget> TargetSpec for T {
    fn kind(&self) -> &'static StoreKind {
        self.store_kind()
    }

    async fn open(&self) -> crate::error::Result<Arc<dyn SecretStore>> {
        self.open_store().await
    }

    fn derived_prefix(&self, environment_name: &str, segment: &str) -> String {
        self.aws_target().derived_prefix(environment_name, segment)
    }

    fn default_prefix(&self, segment: &str) -> String {
        self.aws_target().default_prefix(segment)
    }

    fn flags(&self, flags: &mut Flags) {
        self.aws_target().flags(flags)
    }

    fn place(&self) -> String {
        self.aws_target().place()
    }

    fn aws(&self) -> Option<&AwsTarget> {
        Some(self.aws_target())
    }
}

/// AWS's timestamp as chrono's.
pub(crate) fn to_chrono(t: &AwsDateTime) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp_millis(t.to_millis().ok()?)
}

/// SSM names (which Secrets Manager's follow): letters, digits, `_.-/`, and fully qualified when
/// they contain a `/`.
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
