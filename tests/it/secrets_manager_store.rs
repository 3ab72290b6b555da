//! The Secrets Manager store in-process against moto: discovery of no, one or several
//! deployments through ListSecrets, Psoxy's leading `/`, and a preflight that changes nothing.

use crate::support::moto;

use jira_psoxy_setup::store::aws::AwsTarget;
use jira_psoxy_setup::store::secrets_manager::SecretsManagerStore;
use jira_psoxy_setup::store::{SecretNames, SecretStore};
use moto::Moto;

async fn store(moto: &Moto, root_path: &str) -> SecretsManagerStore {
    let target = AwsTarget {
        ssm_root_path: root_path.to_string(),
        ..Default::default()
    };
    SecretsManagerStore::with_config(&moto.sdk_config().await, &target)
        .await
        .expect("store")
}

async fn create(moto: &Moto, name: &str) {
    aws_sdk_secretsmanager::Client::new(&moto.sdk_config().await)
        .create_secret()
        .name(name)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{name}: {e:?}"));
}

async fn discovered(store: &SecretsManagerStore) -> Vec<String> {
    let mut found = store.discover_prefixes().await.unwrap();
    found.sort();
    found
}

#[tokio::test]
async fn discovery_finds_no_one_or_several_deployments() {
    let moto = Moto::start();
    assert!(discovered(&store(&moto, "").await).await.is_empty());

    create(&moto, "PSOXY_JIRA_CLOUD_REFRESH_TOKEN").await;
    create(&moto, "PSOXY_JIRA_CLOUD_CLIENT_ID").await;
    create(&moto, "PSOXY_GITHUB_REFRESH_TOKEN").await;
    assert_eq!(
        discovered(&store(&moto, "").await).await,
        ["PSOXY_JIRA_CLOUD_"]
    );

    create(&moto, "/psoxy/ACME_JIRA_CLOUD_REFRESH_TOKEN").await;
    assert_eq!(
        discovered(&store(&moto, "").await).await,
        ["/psoxy/ACME_JIRA_CLOUD_", "PSOXY_JIRA_CLOUD_"]
    );
    assert_eq!(
        discovered(&store(&moto, "/psoxy/").await).await,
        ["/psoxy/ACME_JIRA_CLOUD_"],
        "a root path narrows the name filter"
    );
}

#[tokio::test]
async fn preflight_qualifies_names_and_names_what_it_cannot_check() {
    let moto = Moto::start();
    let store = store(&moto, "").await;
    let names = SecretNames::new("psoxy/ACME_JIRA_CLOUD_");
    let report = store.preflight(&names).await.unwrap();
    assert_eq!(
        report.missing,
        [
            "/psoxy/ACME_JIRA_CLOUD_CLIENT_ID",
            "/psoxy/ACME_JIRA_CLOUD_CLIENT_SECRET",
            "/psoxy/ACME_JIRA_CLOUD_REFRESH_TOKEN",
            "/psoxy/ACME_JIRA_CLOUD_ACCESS_TOKEN",
        ]
    );
    let unchecked = report.unchecked.join("; ");
    assert!(
        unchecked.contains("secretsmanager:PutSecretValue")
            && unchecked.contains("/psoxy/ACME_JIRA_CLOUD_OAUTH_REFRESH_TOKEN_lock"),
        "{unchecked}"
    );
    let listed = aws_sdk_secretsmanager::Client::new(&moto.sdk_config().await)
        .list_secrets()
        .send()
        .await
        .unwrap();
    assert!(
        listed.secret_list().is_empty(),
        "the preflight created nothing"
    );
    assert_eq!(
        moto.value(&format!(
            "{}OAUTH_REFRESH_TOKEN_lock",
            "/psoxy/ACME_JIRA_CLOUD_"
        ))
        .await,
        None
    );
}
