//! The chosen store and its options as one typed value, built once from the command line. The
//! last-run file and the recovery file keep it as data; it becomes flags again only for messages
//! (the printed `push` command). Each store kind owns its prefix rules and how it is opened.

use std::path::PathBuf;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::{SecretStore, names};
use crate::cli::{StoreArgs, StoreKind};
use crate::error::Result;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum StoreTarget {
    /// A local JSON file; the path is absolute, so a later run may start elsewhere.
    File {
        path: PathBuf,
    },
    AwsSsm(AwsTarget),
    AwsSecretsManager(AwsTarget),
    GcpSecretManager(GcpTarget),
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

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GcpTarget {
    #[serde(default)]
    pub project: Option<String>,
    #[serde(default)]
    pub endpoint: Option<String>,
    /// A per-run switch: kept in a recovery file, never remembered for the next run.
    #[serde(default)]
    pub destroy_old_versions: bool,
    /// A per-run switch for `--create-missing`: never saved.
    #[serde(skip)]
    pub replication: Option<super::gcp::GcpReplication>,
}

/// An option's value, unless empty or blank.
fn given(value: &Option<String>) -> Option<String> {
    value
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

impl StoreTarget {
    /// The target the options name (`--store`, else the file store).
    pub fn from_args(args: &StoreArgs) -> StoreTarget {
        let aws = || AwsTarget {
            region: given(&args.aws_region),
            profile: given(&args.aws_profile),
            ssm_root_path: args.ssm_root_path.clone(),
            kms_key_id: given(&args.kms_key_id),
        };
        match args.kind() {
            StoreKind::File => {
                let file = args.file_path();
                StoreTarget::File {
                    path: std::path::absolute(&file).unwrap_or(file),
                }
            }
            StoreKind::AwsSsm => StoreTarget::AwsSsm(aws()),
            StoreKind::AwsSecretsManager => StoreTarget::AwsSecretsManager(aws()),
            StoreKind::GcpSecretManager => StoreTarget::GcpSecretManager(GcpTarget {
                project: given(&args.gcp_project),
                endpoint: given(&args.gcp_endpoint),
                destroy_old_versions: args.destroy_old_versions,
                replication: args.gcp_replication.clone(),
            }),
        }
    }

    pub fn kind(&self) -> StoreKind {
        match self {
            StoreTarget::File { .. } => StoreKind::File,
            StoreTarget::AwsSsm(_) => StoreKind::AwsSsm,
            StoreTarget::AwsSecretsManager(_) => StoreKind::AwsSecretsManager,
            StoreTarget::GcpSecretManager(_) => StoreKind::GcpSecretManager,
        }
    }

    /// Builds the store.
    pub async fn open(&self) -> Result<Arc<dyn SecretStore>> {
        Ok(match self {
            StoreTarget::File { path } => Arc::new(super::file::FileStore::new(path.clone())),
            StoreTarget::AwsSsm(aws) => Arc::new(super::ssm::SsmStore::connect(aws).await?),
            StoreTarget::AwsSecretsManager(aws) => {
                Arc::new(super::secrets_manager::SecretsManagerStore::connect(aws).await?)
            }
            StoreTarget::GcpSecretManager(gcp) => Arc::new(super::gcp::GcpStore::open(gcp).await?),
        })
    }

    /// The prefix `--environment-name` names for a connector's name `segment` (psoxy-contract
    /// §3, §4).
    pub fn derived_prefix(&self, environment_name: &str, segment: &str) -> String {
        match self {
            StoreTarget::AwsSsm(aws) | StoreTarget::AwsSecretsManager(aws) => {
                names::aws_prefix(&aws.ssm_root_path, environment_name, segment)
            }
            StoreTarget::GcpSecretManager(_) => names::gcp_prefix(environment_name, segment),
            StoreTarget::File { .. } => names::aws_prefix("", environment_name, segment),
        }
    }

    /// The prefix of a default deployment, proposed when discovery finds none.
    pub fn default_prefix(&self, segment: &str) -> String {
        match self {
            StoreTarget::AwsSsm(_) | StoreTarget::AwsSecretsManager(_) => {
                self.derived_prefix("psoxy", segment)
            }
            StoreTarget::GcpSecretManager(_) => names::gcp_prefix("", segment),
            StoreTarget::File { .. } => names::default_prefix(segment),
        }
    }

    /// The same target for a later run: per-run switches are left out.
    pub fn remembered(&self) -> StoreTarget {
        let mut target = self.clone();
        if let StoreTarget::GcpSecretManager(gcp) = &mut target {
            gcp.destroy_old_versions = false;
            gcp.replication = None;
        }
        target
    }

    /// Per-run switches from this run's command line.
    pub fn with_switches_of(mut self, args: &StoreArgs) -> StoreTarget {
        if let StoreTarget::GcpSecretManager(gcp) = &mut self {
            gcp.destroy_old_versions = args.destroy_old_versions;
            gcp.replication = args.gcp_replication.clone();
        }
        self
    }

    /// As command-line flags, for messages only (a printed `push` command).
    pub fn flags(&self) -> Vec<String> {
        let mut flags = vec!["--store".to_string(), self.kind().name().to_string()];
        let mut add = |flag: &str, value: Option<&str>| {
            if let Some(v) = value.filter(|v| !v.is_empty()) {
                flags.extend([flag.to_string(), v.to_string()]);
            }
        };
        match self {
            StoreTarget::File { path } => add("--file", path.to_str()),
            StoreTarget::AwsSsm(aws) | StoreTarget::AwsSecretsManager(aws) => {
                add("--aws-region", aws.region.as_deref());
                add("--aws-profile", aws.profile.as_deref());
                add("--ssm-root-path", Some(&aws.ssm_root_path));
                add("--kms-key-id", aws.kms_key_id.as_deref());
            }
            StoreTarget::GcpSecretManager(gcp) => {
                add("--gcp-project", gcp.project.as_deref());
                add("--gcp-endpoint", gcp.endpoint.as_deref());
                if gcp.destroy_old_versions {
                    flags.push("--destroy-old-versions".into());
                }
            }
        }
        flags
    }

    /// A target saved as flags by earlier versions (last-run and recovery files).
    pub fn from_legacy_flags(flags: &[String]) -> std::result::Result<StoreTarget, String> {
        use clap::Parser;
        #[derive(Parser)]
        struct Saved {
            #[command(flatten)]
            store: StoreArgs,
        }
        let argv = std::iter::once("saved".to_string()).chain(flags.iter().cloned());
        Saved::try_parse_from(argv)
            .map(|saved| StoreTarget::from_args(&saved.store))
            .map_err(|e| e.kind().to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn targets_serialize_as_tagged_data_and_print_as_flags() {
        let target = StoreTarget::AwsSecretsManager(AwsTarget {
            region: Some("eu-west-1".into()),
            kms_key_id: Some("alias/psoxy".into()),
            ..Default::default()
        });
        let json = serde_json::to_value(&target).unwrap();
        assert_eq!(json["kind"], "aws-secrets-manager");
        assert_eq!(json["region"], "eu-west-1");
        assert_eq!(serde_json::from_value::<StoreTarget>(json).unwrap(), target);
        assert_eq!(
            target.flags(),
            words("--store aws-secrets-manager --aws-region eu-west-1 --kms-key-id alias/psoxy")
        );
    }

    #[test]
    fn legacy_flags_load_and_per_run_switches_are_not_remembered() {
        let flags = words("--store gcp-secret-manager --gcp-project acme --destroy-old-versions");
        let target = StoreTarget::from_legacy_flags(&flags).unwrap();
        assert_eq!(
            target,
            StoreTarget::GcpSecretManager(GcpTarget {
                project: Some("acme".into()),
                endpoint: None,
                destroy_old_versions: true,
                replication: None,
            })
        );
        assert_eq!(target.flags(), flags);
        assert!(!target.remembered().flags().contains(&flags[4]));
        assert!(StoreTarget::from_legacy_flags(&words("--store nowhere")).is_err());
    }

    #[test]
    fn aws_stores_share_psoxy_prefix_rules() {
        let aws = AwsTarget {
            ssm_root_path: "/psoxy/".into(),
            ..Default::default()
        };
        for target in [
            StoreTarget::AwsSsm(aws.clone()),
            StoreTarget::AwsSecretsManager(aws.clone()),
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
    }
}
