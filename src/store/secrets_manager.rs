//! AWS Secrets Manager, where Psoxy deployments with `secrets_store_implementation =
//! "aws_secrets_manager"` keep the connector secrets (psoxy-contract §4): secrets named like the SSM
//! parameters (a name containing `/` starts with one), created by Terraform with no version.
//! The rest stays in SSM, through the SSM store: the proxy's refresh lock
//! `<prefix>OAUTH_REFRESH_TOKEN_lock`, and the token family's metadata as tags on the parameter
//! `<prefix>OAUTH_REFRESH_TOKEN`, whose tags Terraform ignores (tags on the secrets would be
//! drift, removed by the next apply). Same AWS chain, region, profile and endpoints as SSM;
//! AWS_ENDPOINT_URL_SECRETS_MANAGER is honoured by the client.

use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::types::{Filter, FilterNameStringType};

use super::ssm::connect::{load_config, timeouts};
use super::ssm::error::{Op, classify, code};
use super::ssm::{SsmStore, check_prefix, to_chrono};
use super::target::AwsTarget;
use super::*;
use crate::secret::ExposeSecret;

mod proxy_reads;

const NOT_FOUND: &str = "ResourceNotFoundException";
/// The stage the proxy reads, and the one PutSecretValue moves to the new version.
const CURRENT: &str = "AWSCURRENT";

pub struct SecretsManagerStore {
    client: Client,
    /// The deployment's SSM side: the refresh lock and the metadata tags.
    ssm: SsmStore,
    region: String,
    endpoint: Option<String>,
    root_path: String,
    kms_key_id: Option<String>,
    /// Secrets known to exist, with their KMS key (None: the AWS managed key).
    known: super::name_cache::NameCache<Option<String>>,
}

/// The name Psoxy uses: one that contains `/` starts with it (psoxy-contract §4).
fn secret_name(name: &str) -> String {
    if name.contains('/') && !name.starts_with('/') {
        format!("/{name}")
    } else {
        name.to_string()
    }
}

/// The deployment's names as Psoxy qualifies them, for the SSM side too.
fn qualified(names: &SecretNames) -> SecretNames {
    SecretNames::new(secret_name(&names.prefix))
}

impl SecretsManagerStore {
    pub async fn connect(target: &AwsTarget) -> crate::error::Result<Self> {
        Self::with_config(&load_config(target).await?, target).await
    }

    /// Both clients from one SDK configuration; the SSM store checks region and credentials.
    pub async fn with_config(config: &SdkConfig, target: &AwsTarget) -> crate::error::Result<Self> {
        let ssm = SsmStore::with_config(config, target).await?;
        let conf = aws_sdk_secretsmanager::config::Builder::from(config)
            .timeout_config(timeouts())
            .build();
        Ok(SecretsManagerStore {
            client: Client::from_conf(conf),
            ssm,
            region: config.region().map(|r| r.to_string()).unwrap_or_default(),
            endpoint: config.endpoint_url().map(str::to_string),
            root_path: target.ssm_root_path.clone(),
            kms_key_id: target.kms_key_id.clone(),
            known: Default::default(),
        })
    }

    fn remember(&self, name: &str, kms_key_id: Option<&str>) {
        let key = kms_key_id.map(str::to_string);
        self.known.insert(name, key);
    }

    fn key_of(&self, name: &str) -> Option<String> {
        self.known.get(name).flatten()
    }

    /// Whether the secret exists (DescribeSecret), remembering its KMS key.
    async fn exists(&self, name: &str) -> StoreResult<bool> {
        if self.known.contains(name) {
            return Ok(true);
        }
        match self.client.describe_secret().secret_id(name).send().await {
            Ok(out) => {
                if let Some(deleted) = out.deleted_date() {
                    return Err(scheduled_for_deletion(name, deleted));
                }
                self.remember(name, out.kms_key_id());
                Ok(true)
            }
            Err(e) if code(&e) == Some(NOT_FOUND) => Ok(false),
            Err(e) => Err(classify(e, Op::new("secretsmanager:DescribeSecret", name))),
        }
    }

    /// GetSecretValue at AWSCURRENT. A secret with no version yet (as Terraform creates them)
    /// reads as an empty value, the way `fill me` reads in SSM; a missing secret as `None`.
    async fn get(&self, name: &str) -> StoreResult<Option<StoredSecret>> {
        let id = secret_name(name);
        let sent = self
            .client
            .get_secret_value()
            .secret_id(&id)
            .version_stage(CURRENT)
            .send()
            .await;
        match sent {
            Ok(out) => Ok(Some(StoredSecret {
                value: SecretString::from(out.secret_string().unwrap_or_default().to_string()),
                updated_at: out.created_date().and_then(to_chrono),
            })),
            Err(e) if code(&e) == Some(NOT_FOUND) => {
                Ok(self.exists(&id).await?.then(|| StoredSecret {
                    value: SecretString::from(String::new()),
                    updated_at: None,
                }))
            }
            Err(e) => Err(classify(
                e,
                Op::new("secretsmanager:GetSecretValue", &id)
                    .kms("kms:Decrypt", self.key_of(&id).as_deref()),
            )),
        }
    }

    /// ListSecrets, with a name filter (a prefix match) on --ssm-root-path when one is given;
    /// each connector secret found is remembered. Without a root path nothing narrows the names: the
    /// `all` filter matches words and (in moto at least) misses names that mix `/` and `_`
    /// (`/psoxy/ACME_JIRA_CLOUD_...`).
    async fn list(&self) -> StoreResult<Vec<String>> {
        let by_root = (!self.root_path.is_empty()).then(|| {
            Filter::builder()
                .key(FilterNameStringType::Name)
                .values(&self.root_path)
                .build()
        });
        let mut pages = self
            .client
            .list_secrets()
            .set_filters(by_root.map(|f| vec![f]))
            .max_results(100)
            .into_paginator()
            .send();
        let mut found = Vec::new();
        while let Some(page) = pages
            .try_next()
            .await
            .map_err(|e| classify(e, Op::new("secretsmanager:ListSecrets", "*")))?
        {
            for secret in page.secret_list() {
                if let Some(name) = secret
                    .name()
                    .filter(|n| crate::connector::of_secret(n).is_some())
                {
                    self.remember(name, secret.kms_key_id());
                    found.push(name.to_string());
                }
            }
        }
        Ok(found)
    }
}

#[async_trait]
impl SecretStore for SecretsManagerStore {
    fn terraform_owned(&self) -> Option<super::terraform::Owned> {
        Some(super::terraform::Owned::SecretsManagerSecret)
    }

    fn describe(&self) -> String {
        match &self.endpoint {
            Some(url) => format!("AWS Secrets Manager ({}, endpoint {url})", self.region),
            None => format!("AWS Secrets Manager ({})", self.region),
        }
    }

    fn lock_location(&self, names: &SecretNames) -> String {
        self.ssm.lock_location(&qualified(names))
    }

    async fn discover_prefixes(&self) -> StoreResult<Vec<String>> {
        let names = self.list().await?;
        let prefixes = names.iter().filter_map(|n| SecretNames::prefix_of(n));
        Ok(prefixes
            .filter(|p| p.starts_with(&self.root_path))
            .collect())
    }

    /// The secrets exist (secretsmanager:DescribeSecret) and are readable (GetSecretValue, and
    /// kms:Decrypt where they have a value). Writes cannot be probed without a new version, nor
    /// the lock without taking the proxy's: those are named as not checked.
    async fn preflight(&self, names: &SecretNames) -> StoreResult<Preflight> {
        let names = qualified(names);
        check_prefix(&names.prefix)?;
        let mut missing = Vec::new();
        for name in names.all() {
            if self.exists(&name).await? {
                self.get(&name).await?;
            } else {
                missing.push(name);
            }
        }
        let lock = self.ssm.lock_location(&names);
        let unchecked = vec![
            "secretsmanager:PutSecretValue (and kms:GenerateDataKey on a customer key) on the secrets".to_string(),
            format!("ssm:PutParameter, ssm:GetParameter and ssm:DeleteParameter on {lock}"),
            format!(
                "ssm:AddTagsToResource on {} (the family's issue date)",
                names.lock_name()
            ),
        ];
        let shadowing = self.ssm_client_ids(&names).await;
        Ok(Preflight {
            missing,
            unchecked,
            shadowing,
            ..Preflight::default()
        })
    }

    /// Creates the secrets as Terraform does, with no version, under --kms-key-id (or the AWS
    /// managed key). One created meanwhile by somebody else is left alone.
    async fn create_missing(&self, names: &[String]) -> StoreResult<()> {
        for name in names {
            let id = secret_name(name);
            check_prefix(&id)?;
            let created = self
                .client
                .create_secret()
                .name(&id)
                .set_kms_key_id(self.kms_key_id.clone())
                .description(crate::connector::secret_description(name))
                .send()
                .await;
            match created {
                Ok(_) => self.remember(&id, self.kms_key_id.as_deref()),
                Err(e) if code(&e) == Some("ResourceExistsException") => {}
                Err(e) => {
                    return Err(classify(
                        e,
                        Op::new("secretsmanager:CreateSecret", &id)
                            .kms("kms:GenerateDataKey", self.kms_key_id.as_deref()),
                    ));
                }
            }
        }
        Ok(())
    }

    async fn read(&self, name: &str) -> StoreResult<Option<StoredSecret>> {
        self.get(name).await
    }

    /// PutSecretValue: the new version becomes AWSCURRENT; the secret keeps its KMS key.
    async fn write(&self, name: &str, value: &SecretString) -> StoreResult<()> {
        let id = secret_name(name);
        let secret = value.expose_secret();
        self.client
            .put_secret_value()
            .secret_id(&id)
            .secret_string(secret)
            .send()
            .await
            .map(drop)
            .map_err(|e| {
                classify(
                    e,
                    Op::new("secretsmanager:PutSecretValue", &id)
                        .kms("kms:GenerateDataKey", self.key_of(&id).as_deref())
                        .secret(secret),
                )
            })
    }

    async fn read_metadata(&self, names: &SecretNames) -> StoreResult<FamilyMetadata> {
        self.ssm.metadata_of(&qualified(names).lock_name()).await
    }

    /// Tags on `<prefix>OAUTH_REFRESH_TOKEN`, which Terraform creates in SSM and whose tags it
    /// ignores; a deployment made with --create-missing gets the parameter here.
    async fn write_metadata(&self, names: &SecretNames, meta: &FamilyMetadata) -> StoreResult<()> {
        let param = qualified(names).lock_name();
        if self.ssm.read(&param).await?.is_none() {
            self.ssm
                .put_placeholder(&param, self.kms_key_id.clone())
                .await?;
        }
        self.ssm.set_metadata_of(&param, meta).await
    }

    /// The proxy's lock is the SSM parameter, held exactly as the SSM store holds it.
    async fn try_lock(
        &self,
        names: &SecretNames,
        now_ms: i64,
        take_over: bool,
    ) -> StoreResult<LockAttempt> {
        self.ssm
            .try_lock(&qualified(names), now_ms, take_over)
            .await
    }

    async fn unlock(&self, names: &SecretNames) -> StoreResult<()> {
        self.ssm.unlock(&qualified(names)).await
    }

    async fn renew_lock(&self, names: &SecretNames, now_ms: i64) -> StoreResult<Option<i64>> {
        self.ssm.renew_lock(&qualified(names), now_ms).await
    }

    async fn proxy_access_token_candidates(
        &self,
        names: &SecretNames,
    ) -> StoreResult<Vec<SecretString>> {
        self.versions_as_proxy_reads(&qualified(names).name(SecretKey::AccessToken))
            .await
    }
}

/// A secret deleted with a recovery window still exists (DescribeSecret answers, with
/// `DeletedDate`) but takes no value: stop before tokens are minted for it.
fn scheduled_for_deletion(
    name: &str,
    deleted: &aws_sdk_secretsmanager::primitives::DateTime,
) -> StoreError {
    let when = to_chrono(deleted)
        .map(|d| d.format(" on %Y-%m-%d").to_string())
        .unwrap_or_default();
    StoreError::Other(format!(
        "the secret {name} was scheduled for deletion{when}, so it cannot take a value: restore it (`aws secretsmanager restore-secret --secret-id {name}`) or re-apply Psoxy's Terraform, then run again"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_with_a_slash_start_with_one() {
        assert_eq!(
            secret_name("PSOXY_JIRA_CLOUD_REFRESH_TOKEN"),
            "PSOXY_JIRA_CLOUD_REFRESH_TOKEN"
        );
        assert_eq!(
            secret_name("psoxy/ACME_JIRA_CLOUD_"),
            "/psoxy/ACME_JIRA_CLOUD_"
        );
        assert_eq!(
            secret_name("/psoxy/ACME_JIRA_CLOUD_"),
            "/psoxy/ACME_JIRA_CLOUD_"
        );
        let names = qualified(&SecretNames::new("psoxy/ACME_JIRA_CLOUD_"));
        assert_eq!(
            names.lock_name(),
            "/psoxy/ACME_JIRA_CLOUD_OAUTH_REFRESH_TOKEN"
        );
    }
}
