//! Building the SSM store from the AWS chain (`store::aws::connect`).

use std::collections::HashMap;
use std::sync::Mutex;

use aws_config::SdkConfig;
use aws_sdk_ssm::Client;

use super::SsmStore;
use crate::error::Result;
use crate::store::aws::AwsTarget;
use crate::store::aws::connect::{checked_region, load_config, timeouts};

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
