//! How AWS Secrets Manager describes itself: its `--store` entry, its target, and the
//! Terraform resource behind its secrets.

use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::SecretsManagerStore;
use crate::error::Result;
use crate::store::aws::{AwsStoreTarget, AwsTarget};
use crate::store::registry::{Cloud, StoreKind};
use crate::store::terraform::Owned;
use crate::store::{SecretStore, StoreTarget};

pub static KIND: StoreKind = StoreKind {
    name: "aws-secrets-manager",
    label: "AWS Secrets Manager (Psoxy on AWS with secrets_store_implementation = \"aws_secrets_manager\")",
    help: "AWS Secrets Manager (`secrets_store_implementation = \"aws_secrets_manager\"`)",
    cloud: Some(Cloud::Aws),
    target: |options| StoreTarget::AwsSecretsManager(SecretsManagerTarget(options.aws.target())),
};

/// A Secrets Manager deployment: the AWS chain with the `--aws-*` overrides.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SecretsManagerTarget(pub AwsTarget);

#[async_trait]
impl AwsStoreTarget for SecretsManagerTarget {
    fn aws_target(&self) -> &AwsTarget {
        &self.0
    }

    fn store_kind(&self) -> &'static StoreKind {
        &KIND
    }

    async fn open_store(&self) -> Result<Arc<dyn SecretStore>> {
        Ok(Arc::new(SecretsManagerStore::connect(&self.0).await?))
    }
}

/// `aws_secretsmanager_secret`, imported by its ARN, which ends in a random suffix only AWS
/// knows: the printed command asks AWS for it.
pub fn terraform_owned() -> Owned {
    Owned::new(
        "aws_secretsmanager_secret",
        "\"$(aws secretsmanager describe-secret --secret-id '{name}' --query ARN --output text)\"",
    )
}
