//! What the Secrets Manager stories share: a deployment as Psoxy's Terraform leaves it with
//! `secrets_store_implementation = "aws_secrets_manager"` (four secrets with no version, the
//! parameter `<prefix>OAUTH_REFRESH_TOKEN` in SSM), the flags, and reads of both services.

#![allow(dead_code)]

use aws_sdk_secretsmanager::Client;
use aws_sdk_ssm::types::ResourceTypeForTagging;

use super::moto::{Moto, PLACEHOLDER};
use super::ssm_story::{NAMES, PREFIX};
use super::*;

/// Terraform's SSM parameter beside the secrets; the family's tags go on it.
pub const METADATA_PARAM: &str = "PSOXY_JIRA_CLOUD_OAUTH_REFRESH_TOKEN";

pub fn store_flags() -> Vec<String> {
    strings(&["--store", "aws-secrets-manager"])
}

/// The usual non-interactive init flags, with the Secrets Manager store.
pub fn init_args(s: &Session) -> Vec<String> {
    on_store(s.init_args(), store_flags())
}

/// A Secrets Manager client with the admin test keys, for seeding and checking.
pub async fn client(moto: &Moto) -> Client {
    Client::new(&moto.sdk_config().await)
}

/// Terraform's deployment: the four secrets with no version (under `kms_key`, as
/// `aws_ssm_key_id` gives), and the SSM parameter OAUTH_REFRESH_TOKEN.
pub async fn seed_deployment(moto: &Moto, kms_key: Option<&str>) {
    let sm = client(moto).await;
    for name in NAMES {
        let id = format!("{PREFIX}{name}");
        sm.create_secret()
            .name(&id)
            .set_kms_key_id(kms_key.map(str::to_string))
            .send()
            .await
            .unwrap_or_else(|e| panic!("seeding {name}: {e:?}"));
        without_version(&sm, &id).await;
    }
    moto.put(&moto.ssm().await, METADATA_PARAM, PLACEHOLDER, None)
        .await;
}

/// AWS creates a secret given no value with no version, and GetSecretValue answers
/// ResourceNotFoundException; moto gives it an empty AWSCURRENT version. Taking the stage off
/// that version makes moto answer as AWS does.
async fn without_version(sm: &Client, id: &str) {
    let versions = sm
        .list_secret_version_ids()
        .secret_id(id)
        .send()
        .await
        .unwrap();
    for version in versions.versions() {
        sm.update_secret_version_stage()
            .secret_id(id)
            .version_stage("AWSCURRENT")
            .remove_from_version_id(version.version_id().unwrap())
            .send()
            .await
            .unwrap_or_else(|e| panic!("unstaging {id}: {e:?}"));
    }
    let read = sm.get_secret_value().secret_id(id).send().await;
    let code = read.map(drop).map_err(|e| {
        use aws_sdk_secretsmanager::error::ProvideErrorMetadata;
        e.code().map(str::to_string)
    });
    assert_eq!(code, Err(Some("ResourceNotFoundException".into())), "{id}");
}

/// The AWSCURRENT value of `<prefix><suffix>`, if it has one.
pub async fn current(sm: &Client, suffix: &str) -> Option<String> {
    let out = sm
        .get_secret_value()
        .secret_id(format!("{PREFIX}{suffix}"))
        .version_stage("AWSCURRENT")
        .send()
        .await
        .ok()?;
    out.secret_string().map(str::to_string)
}

pub async fn value(sm: &Client, suffix: &str) -> String {
    current(sm, suffix)
        .await
        .unwrap_or_else(|| panic!("{PREFIX}{suffix} has a current value"))
}

/// The secret's KMS key and tags, as DescribeSecret tells them.
pub async fn key_and_tags(sm: &Client, suffix: &str) -> (Option<String>, usize) {
    let out = sm
        .describe_secret()
        .secret_id(format!("{PREFIX}{suffix}"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{PREFIX}{suffix} exists: {e:?}"));
    (out.kms_key_id().map(str::to_string), out.tags().len())
}

/// A tag of the SSM parameter OAUTH_REFRESH_TOKEN.
pub async fn metadata_tag(ssm: &aws_sdk_ssm::Client, key: &str) -> Option<String> {
    ssm.list_tags_for_resource()
        .resource_type(ResourceTypeForTagging::Parameter)
        .resource_id(METADATA_PARAM)
        .send()
        .await
        .unwrap()
        .tag_list()
        .iter()
        .find(|t| t.key() == key)
        .map(|t| t.value().to_string())
}
