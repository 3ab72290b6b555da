//! How AWS SSM Parameter Store describes itself: its `--store` entry, its target, and the
//! Terraform resource behind its parameters.

use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::SsmStore;
use crate::error::Result;
use crate::store::aws::{AwsStoreTarget, AwsTarget};
use crate::store::registry::{Cloud, StoreKind};
use crate::store::terraform::Owned;
use crate::store::{SecretStore, StoreTarget};

pub static KIND: StoreKind = StoreKind {
    name: "aws-ssm",
    label: "AWS SSM Parameter Store (Psoxy deployed on AWS)",
    help: "AWS Systems Manager Parameter Store",
    cloud: Some(Cloud::Aws),
    target: |options| StoreTarget::AwsSsm(SsmTarget(options.aws.target())),
};

/// An SSM deployment: the AWS chain with the `--aws-*` overrides.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SsmTarget(pub AwsTarget);

#[async_trait]
impl AwsStoreTarget for SsmTarget {
    fn aws_target(&self) -> &AwsTarget {
        &self.0
    }

    fn store_kind(&self) -> &'static StoreKind {
        &KIND
    }

    async fn open_store(&self) -> Result<Arc<dyn SecretStore>> {
        Ok(Arc::new(SsmStore::connect(&self.0).await?))
    }
}

/// `aws_ssm_parameter`, imported by its name.
pub fn terraform_owned() -> Owned {
    Owned::new("aws_ssm_parameter", "'{name}'")
}
