//! The store contract: the behaviours the wizard relies on from every store, one table run
//! against the file store, AWS SSM and AWS Secrets Manager (moto) and GCP Secret Manager (the
//! fake), each deployed as Psoxy's Terraform leaves it: placeholders never read as values,
//! write and read back, the family's facts, the refresh lock (taken, seen held, taken over,
//! released), missing secrets named by the preflight, and a denied write that names its
//! permission and changes nothing. The wizard's waiting for a held lock is one code path for
//! every store, told through the binary once (`ssm_init`); what a store does beyond the
//! contract (its tags and labels, its errors, its versions) stays in that store's own stories.

use std::sync::Arc;
use std::time::Duration;

use crate::support::gcp_fake::GcpFake;
use crate::support::moto::{Moto, PLACEHOLDER};
use crate::support::{sm_story, ssm_story};

use jira_psoxy_setup::secret::{ExposeSecret, SecretString};
use jira_psoxy_setup::store::aws::AwsTarget;
use jira_psoxy_setup::store::file::FileStore;
use jira_psoxy_setup::store::gcp::{Endpoint, GcpConfig, GcpReplication, GcpStore};
use jira_psoxy_setup::store::secrets_manager::SecretsManagerStore;
use jira_psoxy_setup::store::ssm::SsmStore;
use jira_psoxy_setup::store::{
    FamilyMetadata, LockAttempt, SecretKey, SecretNames, SecretStore, StoreError, is_placeholder,
};

/// Where a deployment lives, and what keeps it alive for the test.
enum Place {
    File(tempfile::TempDir),
    Ssm(Moto),
    SecretsManager(Moto),
    Gcp(GcpFake),
}

struct Deployment {
    place: Place,
    names: SecretNames,
}

impl Deployment {
    /// Each store as Terraform leaves a deployment (the file store: no file yet).
    async fn all() -> Vec<Deployment> {
        let ssm = Moto::start();
        ssm.seed_placeholders(ssm_story::PREFIX, None).await;
        let sm = Moto::start();
        sm_story::seed_deployment(&sm, None).await;
        let gcp = GcpFake::start("acme-prod").await;
        gcp.terraform("psoxy_JIRA_CLOUD_");
        vec![
            Deployment {
                place: Place::File(tempfile::tempdir().unwrap()),
                names: SecretNames::new(ssm_story::PREFIX),
            },
            Deployment {
                place: Place::Ssm(ssm),
                names: SecretNames::new(ssm_story::PREFIX),
            },
            Deployment {
                place: Place::SecretsManager(sm),
                names: SecretNames::new(ssm_story::PREFIX),
            },
            Deployment {
                place: Place::Gcp(gcp),
                names: SecretNames::new("psoxy_JIRA_CLOUD_"),
            },
        ]
    }

    fn kind(&self) -> &'static str {
        match self.place {
            Place::File(_) => "file",
            Place::Ssm(_) => "aws-ssm",
            Place::SecretsManager(_) => "aws-secrets-manager",
            Place::Gcp(_) => "gcp-secret-manager",
        }
    }

    /// A client of the store, as a run opens one (each call: another run's).
    async fn open(&self) -> Arc<dyn SecretStore> {
        match &self.place {
            Place::File(dir) => Arc::new(FileStore::new(dir.path().join("secrets.json"))),
            Place::Ssm(moto) => Arc::new(
                SsmStore::with_config(&moto.sdk_config().await, &AwsTarget::default())
                    .await
                    .unwrap(),
            ),
            Place::SecretsManager(moto) => Arc::new(
                SecretsManagerStore::with_config(&moto.sdk_config().await, &AwsTarget::default())
                    .await
                    .unwrap(),
            ),
            Place::Gcp(fake) => {
                let mut config = GcpConfig::new(&fake.project, Endpoint::Emulator(fake.endpoint()));
                config.replication = Some(GcpReplication::Automatic);
                config.attempt_timeout = Duration::from_secs(5);
                Arc::new(GcpStore::connect(config).await.unwrap())
            }
        }
    }

    /// The file store creates its entries by writing them: nothing is ever missing there.
    fn creates_by_writing(&self) -> bool {
        matches!(self.place, Place::File(_))
    }

    /// A client that may read the secrets but not write them, and the permission it lacks.
    /// From here on the deployment answers only such clients (moto enforces IAM, the fake denies).
    /// `None` for the file store: these tests run as root, whom no file mode stops.
    async fn without_write(&self) -> Option<(Arc<dyn SecretStore>, &'static str)> {
        let aws = |moto: &Moto, reads: &[&str]| {
            let keys = moto.user_allowed("reader", reads);
            moto.enforce_iam();
            keys
        };
        match &self.place {
            Place::File(_) => None,
            Place::Ssm(moto) => {
                let (id, secret) = aws(
                    moto,
                    &[
                        "ssm:DescribeParameters",
                        "ssm:GetParameter",
                        "ssm:GetParameters",
                        "ssm:GetParameterHistory",
                        "ssm:ListTagsForResource",
                    ],
                );
                let config = moto.sdk_config_with_keys(&id, &secret).await;
                let store = SsmStore::with_config(&config, &AwsTarget::default())
                    .await
                    .unwrap();
                Some((Arc::new(store), "ssm:PutParameter"))
            }
            Place::SecretsManager(moto) => {
                let (id, secret) = aws(
                    moto,
                    &[
                        "secretsmanager:DescribeSecret",
                        "secretsmanager:GetSecretValue",
                        "secretsmanager:ListSecrets",
                        "secretsmanager:ListSecretVersionIds",
                        "ssm:DescribeParameters",
                        "ssm:GetParameter",
                        "ssm:ListTagsForResource",
                    ],
                );
                let config = moto.sdk_config_with_keys(&id, &secret).await;
                let store = SecretsManagerStore::with_config(&config, &AwsTarget::default())
                    .await
                    .unwrap();
                Some((Arc::new(store), "secretsmanager:PutSecretValue"))
            }
            Place::Gcp(fake) => {
                fake.deny(&["secretmanager.versions.add"]);
                Some((self.open().await, "secretmanager.versions.add"))
            }
        }
    }
}

fn values(names: &SecretNames) -> Vec<(String, SecretString)> {
    SecretKey::ALL
        .iter()
        .map(|k| {
            let name = names.name(*k);
            let value = SecretString::from(format!("{}-value", k.suffix()));
            (name, value)
        })
        .collect()
}

#[tokio::test]
async fn every_store_keeps_the_contract() {
    for d in Deployment::all().await {
        let kind = d.kind();
        let store = d.open().await;
        let names = &d.names;

        // Terraform's values (or none) are never taken for a filled-in secret.
        for name in names.all() {
            let read = store.read(&name).await.unwrap();
            assert!(
                read.as_ref()
                    .is_none_or(|s| is_placeholder(s.value.expose_secret())),
                "{kind}: {name} reads as filled in"
            );
        }
        assert!(is_placeholder(PLACEHOLDER));

        // The preflight of a deployment Terraform created finds nothing missing.
        let preflight = store.preflight(names).await.unwrap();
        assert!(
            preflight.missing.is_empty(),
            "{kind}: {:?}",
            preflight.missing
        );

        // What is written reads back, from another run's client too.
        let written = values(names);
        store.write_all(&written).await.unwrap();
        let other = d.open().await;
        let read = other.read_all(&names.all()).await.unwrap();
        for ((name, value), read) in written.iter().zip(read) {
            let read = read.unwrap_or_else(|| panic!("{kind}: {name} not read back"));
            assert_eq!(
                read.value.expose_secret(),
                value.expose_secret(),
                "{kind}: {name}"
            );
        }

        // The family's facts are kept beside the secrets, never as secret values.
        let issued = chrono::Utc::now() - chrono::Duration::days(3);
        let meta = FamilyMetadata {
            issued_at: Some(issued),
            cloud_id: Some("a436116f-02ce-4520-8fbb-7301462a1674".into()),
        };
        store.write_metadata(names, &meta).await.unwrap();
        let kept = other.read_metadata(names).await.unwrap();
        assert_eq!(kept.cloud_id, meta.cloud_id, "{kind}");
        let drift = kept
            .issued_at
            .map(|at| (at - issued).num_seconds().abs())
            .unwrap_or(i64::MAX);
        assert!(
            drift <= 1,
            "{kind}: issued {issued}, kept {:?}",
            kept.issued_at
        );

        // The proxy's refresh lock: taken, seen held by another run, taken over, released.
        let now = jira_psoxy_setup::store::lock::now_ms();
        assert_eq!(
            store.try_lock(names, now, false).await.unwrap(),
            LockAttempt::Acquired,
            "{kind}"
        );
        assert!(
            matches!(
                other.try_lock(names, now + 1, false).await.unwrap(),
                LockAttempt::HeldSince(_)
            ),
            "{kind}: a held lock is seen"
        );
        assert_eq!(
            other.try_lock(names, now + 2, true).await.unwrap(),
            LockAttempt::Acquired,
            "{kind}: a stale lock is taken over"
        );
        other.unlock(names).await.unwrap();
        assert_eq!(
            store.try_lock(names, now + 3, false).await.unwrap(),
            LockAttempt::Acquired,
            "{kind}: a released lock is free"
        );
        store.unlock(names).await.unwrap();

        // Secrets Terraform did not create are named by the preflight, before any token is
        // minted for a write that would fail.
        let elsewhere = SecretNames::new(names.prefix.replace("JIRA_CLOUD", "NOT_DEPLOYED"));
        let missing = store.preflight(&elsewhere).await.unwrap().missing;
        for name in elsewhere.all() {
            assert_eq!(
                missing.contains(&name),
                !d.creates_by_writing(),
                "{kind}: {name} in {missing:?}"
            );
        }

        // A denied write is an error naming the permission to grant (the wizard then keeps the
        // tokens in a recovery file), and what was stored before stays as it was.
        if let Some((reader, permission)) = d.without_write().await {
            let newer: Vec<(String, SecretString)> = written
                .iter()
                .map(|(name, _)| (name.clone(), SecretString::from("newer".to_string())))
                .collect();
            let e = reader.write_all(&newer).await.unwrap_err();
            assert!(
                matches!(&e, StoreError::PermissionDenied(m) if m.contains(permission)),
                "{kind}: {e:?}"
            );
            let read = reader.read_all(&names.all()).await.unwrap();
            for ((name, value), read) in written.iter().zip(read) {
                let read = read.unwrap_or_else(|| panic!("{kind}: {name} gone"));
                assert_eq!(
                    read.value.expose_secret(),
                    value.expose_secret(),
                    "{kind}: {name}"
                );
            }
        }
    }
}
