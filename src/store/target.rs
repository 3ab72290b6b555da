//! The chosen store and its options as one typed value, built once from the command line. The
//! last-run file and the recovery file keep it as data; it becomes flags again only for messages
//! (the printed `push` command). Each store's target type lives in the store's own module and
//! describes itself (`TargetSpec`): how it is opened, its prefix rules, its flags.

use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::SecretStore;
use super::aws::AwsTarget;
use super::file::FileTarget;
use super::gcp::GcpTarget;
use super::registry::{StoreKind, StoreOptions};
use super::secrets_manager::SecretsManagerTarget;
use super::ssm::SsmTarget;
use crate::error::Result;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum StoreTarget {
    File(FileTarget),
    AwsSsm(SsmTarget),
    AwsSecretsManager(SecretsManagerTarget),
    GcpSecretManager(GcpTarget),
}

/// One line per store: from the enum to the store's own description of itself.
macro_rules! each_store {
    ($target:expr, $t:ident => $body:expr) => {
        match $target {
            StoreTarget::File($t) => $body,
            StoreTarget::AwsSsm($t) => $body,
            StoreTarget::AwsSecretsManager($t) => $body,
            StoreTarget::GcpSecretManager($t) => $body,
        }
    };
}

/// What a store's target says about itself.
#[async_trait]
pub trait TargetSpec: Send + Sync {
    fn kind(&self) -> &'static StoreKind;

    /// Builds the store.
    async fn open(&self) -> Result<Arc<dyn SecretStore>>;

    /// The prefix `--environment-name` names for a connector's name `segment` (psoxy-contract
    /// §3, §4).
    fn derived_prefix(&self, environment_name: &str, segment: &str) -> String;

    /// The prefix of a default deployment, proposed when discovery finds none.
    fn default_prefix(&self, segment: &str) -> String;

    /// Its options as flags (after `--store NAME`), for messages only.
    fn flags(&self, flags: &mut Flags);

    /// Where it is, for a deployment's name: `us-east-1`, `PROJECT`, `/abs/path.json`.
    fn place(&self) -> String;

    /// Clears this run's switches, for the target a later run takes.
    fn forget_switches(&mut self) {}

    /// Takes this run's switches from the command line.
    fn take_switches(&mut self, options: &StoreOptions) {
        let _ = options;
    }

    /// The AWS part, for stores that have one (signing calls to the proxy).
    fn aws(&self) -> Option<&AwsTarget> {
        None
    }
}

/// Command-line flags being written out: values that are empty are left out.
pub struct Flags(Vec<String>);

impl Flags {
    pub fn value(&mut self, flag: &str, value: Option<&str>) {
        if let Some(v) = value.filter(|v| !v.is_empty()) {
            self.0.extend([flag.to_string(), v.to_string()]);
        }
    }

    pub fn switch(&mut self, flag: &str, on: bool) {
        if on {
            self.0.push(flag.to_string());
        }
    }
}

impl StoreTarget {
    pub fn spec(&self) -> &dyn TargetSpec {
        each_store!(self, t => t as &dyn TargetSpec)
    }

    fn spec_mut(&mut self) -> &mut dyn TargetSpec {
        each_store!(self, t => t as &mut dyn TargetSpec)
    }

    pub fn kind(&self) -> &'static StoreKind {
        self.spec().kind()
    }

    /// Builds the store.
    pub async fn open(&self) -> Result<Arc<dyn SecretStore>> {
        self.spec().open().await
    }

    pub fn derived_prefix(&self, environment_name: &str, segment: &str) -> String {
        self.spec().derived_prefix(environment_name, segment)
    }

    pub fn default_prefix(&self, segment: &str) -> String {
        self.spec().default_prefix(segment)
    }

    /// The same target for a later run: per-run switches are left out.
    pub fn remembered(&self) -> StoreTarget {
        let mut target = self.clone();
        target.spec_mut().forget_switches();
        target
    }

    /// Per-run switches from this run's command line.
    pub fn with_switches_of(mut self, options: &StoreOptions) -> StoreTarget {
        self.spec_mut().take_switches(options);
        self
    }

    /// As command-line flags, for messages only (a printed `push` command).
    pub fn flags(&self) -> Vec<String> {
        let mut flags = Flags(vec!["--store".to_string(), self.kind().name.to_string()]);
        self.spec().flags(&mut flags);
        flags.0
    }

    /// The store and where it is: `aws-ssm:us-east-1`, `file:/abs/path.json`.
    pub fn label(&self) -> String {
        format!("{}:{}", self.kind().name, self.spec().place())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{gcp, secrets_manager, ssm};

    fn words(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn targets_serialize_as_tagged_data_and_print_as_flags() {
        let target = StoreTarget::AwsSecretsManager(SecretsManagerTarget(AwsTarget {
            region: Some("eu-west-1".into()),
            kms_key_id: Some("alias/psoxy".into()),
            ..Default::default()
        }));
        let json = serde_json::to_value(&target).unwrap();
        assert_eq!(json["kind"], "aws-secrets-manager");
        assert_eq!(json["region"], "eu-west-1");
        assert_eq!(serde_json::from_value::<StoreTarget>(json).unwrap(), target);
        assert_eq!(
            target.flags(),
            words("--store aws-secrets-manager --aws-region eu-west-1 --kms-key-id alias/psoxy")
        );
        assert_eq!(target.kind(), &secrets_manager::KIND);
    }

    #[test]
    fn per_run_switches_are_not_remembered() {
        let options = crate::testing::store_args(&[
            "--store",
            "gcp-secret-manager",
            "--gcp-project",
            "acme",
            "--destroy-old-versions",
        ])
        .options;
        let target = options.target(&gcp::KIND);
        assert_eq!(
            target.flags(),
            words("--store gcp-secret-manager --gcp-project acme --destroy-old-versions")
        );
        let later = target.remembered();
        assert!(
            !later
                .flags()
                .contains(&"--destroy-old-versions".to_string())
        );
        assert_eq!(later.with_switches_of(&options), target);
    }

    #[test]
    fn aws_stores_share_psoxy_prefix_rules() {
        let aws = AwsTarget {
            ssm_root_path: "/psoxy/".into(),
            ..Default::default()
        };
        for target in [
            StoreTarget::AwsSsm(SsmTarget(aws.clone())),
            StoreTarget::AwsSecretsManager(SecretsManagerTarget(aws.clone())),
        ] {
            assert_eq!(
                target.default_prefix("JIRA_CLOUD_"),
                "/psoxy/PSOXY_JIRA_CLOUD_"
            );
            assert_eq!(
                target.derived_prefix("acme", "JIRA_CLOUD_"),
                "/psoxy/ACME_JIRA_CLOUD_"
            );
        }
        let gcp = StoreTarget::GcpSecretManager(GcpTarget::default());
        assert_eq!(gcp.default_prefix("JIRA_CLOUD_"), "psoxy_JIRA_CLOUD_");
        assert_eq!(ssm::KIND.name, "aws-ssm");
    }
}
