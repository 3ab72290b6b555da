//! The stand-in proxy's reads and locks per store, pinned against the emulators (psoxy-contract
//! §8; Psoxy v0.6.9 paths under `java/`). The shared access-token read here is the one both the
//! stand-in and the handover use (`SecretStore::proxy_access_token_candidates`).

use std::time::Duration;

use aws_sdk_ssm::types::ParameterType;
use jira_psoxy_setup::secret::{ExposeSecret, SecretString};
use jira_psoxy_setup::sim::proxy::{ProxyLock, ProxyTiming};
use jira_psoxy_setup::store::aws::AwsTarget;
use jira_psoxy_setup::store::gcp::{Endpoint, GcpConfig, GcpStore};
use jira_psoxy_setup::store::lock::now_ms;
use jira_psoxy_setup::store::secrets_manager::SecretsManagerStore;
use jira_psoxy_setup::store::ssm::SsmStore;
use jira_psoxy_setup::store::{LockAttempt, SecretNames, SecretStore};

use crate::support::gcp_fake::GcpFake;
use crate::support::moto::Moto;
use crate::support::sm_story;

const PREFIX: &str = "PSOXY_JIRA_CLOUD_";

fn values(read: &[SecretString]) -> Vec<String> {
    read.iter().map(|v| v.expose_secret().to_string()).collect()
}

fn numbered(range: std::ops::RangeInclusive<u32>) -> Vec<String> {
    range.rev().map(|n| format!("v{n}")).collect()
}

/// `ParameterStoreConfigService.getAvailableVersions`
/// (impl/aws/src/main/java/co/worklytics/psoxy/aws/ParameterStoreConfigService.java): one
/// `GetParameterHistory` page of 10, as moto orders it (oldest first), `fill me` dropped, newest
/// first, five kept. With 12 versions the newest two are not seen.
#[tokio::test]
async fn ssm_the_proxy_reads_one_page_of_ten_oldest_first() {
    let moto = Moto::start();
    let ssm = moto.ssm().await;
    let name = format!("{PREFIX}ACCESS_TOKEN");
    let put = |value: String| {
        ssm.put_parameter()
            .name(&name)
            .value(value)
            .r#type(ParameterType::SecureString)
            .overwrite(true)
            .send()
    };
    put("fill me".into()).await.unwrap();
    for n in 2..=12 {
        put(format!("v{n}")).await.unwrap();
    }
    let store = SsmStore::with_config(&moto.sdk_config().await, &AwsTarget::default())
        .await
        .unwrap();
    let seen = store
        .proxy_access_token_candidates(&SecretNames::new(PREFIX))
        .await
        .unwrap();
    assert_eq!(
        values(&seen),
        numbered(6..=10),
        "versions 11 and 12 are not seen"
    );
}

/// `ParameterStoreConfigService.acquire`
/// (impl/aws/src/main/java/co/worklytics/psoxy/aws/ParameterStoreConfigService.java): a held lock is judged by its `LastModifiedDate`, not
/// its value (`locked_1` is not stale while it is fresh); one the writer renews stays held past
/// the lease; one left alone is deleted as stale once the lease has passed, and taken next.
#[tokio::test]
async fn ssm_the_proxy_judges_the_lock_by_its_last_modified_date() {
    let moto = Moto::start();
    let config = moto.sdk_config().await;
    let names = SecretNames::new(PREFIX);
    let tool = SsmStore::with_config(&config, &AwsTarget::default())
        .await
        .unwrap();
    let proxy_view: std::sync::Arc<dyn SecretStore> = std::sync::Arc::new(
        SsmStore::with_config(&config, &AwsTarget::default())
            .await
            .unwrap(),
    );
    let lock = ProxyLock::ssm(aws_sdk_ssm::Client::new(&config), &names);
    let timing = ProxyTiming::fast(Duration::from_secs(1), Duration::from_secs(2));

    assert_eq!(
        tool.try_lock(&names, 1, false).await.unwrap(),
        LockAttempt::Acquired
    );
    assert!(
        !lock.acquire(&proxy_view, &names, &timing).await,
        "locked_1, but fresh"
    );
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert!(tool.renew_lock(&names, now_ms()).await.unwrap().is_some());
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert!(
        !lock.acquire(&proxy_view, &names, &timing).await,
        "renewed: still held"
    );
    assert!(
        tool.renew_lock(&names, now_ms()).await.unwrap().is_some(),
        "and still ours"
    );

    tokio::time::sleep(Duration::from_millis(3_000)).await;
    assert!(
        !lock.acquire(&proxy_view, &names, &timing).await,
        "stale: deleted, not taken"
    );
    assert!(
        lock.acquire(&proxy_view, &names, &timing).await,
        "then taken"
    );
    assert!(
        tool.renew_lock(&names, now_ms()).await.unwrap().is_none(),
        "no longer ours"
    );
}

/// `SecretsManagerSecretStore.getAvailableVersions`
/// (impl/aws/src/main/java/co/worklytics/psoxy/aws/SecretsManagerSecretStore.java): the versions
/// staged AWSCURRENT or AWSPREVIOUS (sorted newest `CreatedDate` first; moto may list equal
/// dates, so the order is not pinned here): a version just written is always seen.
#[tokio::test]
async fn secrets_manager_the_proxy_reads_current_and_previous() {
    let moto = Moto::start();
    sm_story::seed_deployment(&moto, None).await;
    let sm = sm_story::client(&moto).await;
    for n in 1..=4 {
        sm.put_secret_value()
            .secret_id(format!("{PREFIX}ACCESS_TOKEN"))
            .secret_string(format!("v{n}"))
            .send()
            .await
            .unwrap();
    }
    let store = SecretsManagerStore::with_config(&moto.sdk_config().await, &AwsTarget::default())
        .await
        .unwrap();
    let seen = store
        .proxy_access_token_candidates(&SecretNames::new(PREFIX))
        .await
        .unwrap();
    let mut seen = values(&seen);
    seen.sort();
    assert_eq!(seen, ["v3", "v4"]);
}

/// `SecretManagerConfigService.getAvailableVersions`
/// (impl/gcp/src/main/java/co/worklytics/psoxy/SecretManagerConfigService.java): every ENABLED
/// version, highest number first, five kept: disabled ones are not read.
#[tokio::test]
async fn gcp_the_proxy_reads_enabled_versions_newest_first() {
    let fake = GcpFake::start("acme-prod").await;
    let id = "acme_JIRA_CLOUD_ACCESS_TOKEN";
    fake.create_secret(id, &[]);
    for n in 1..=7 {
        fake.add_version(id, &format!("v{n}"));
    }
    fake.set_version_state(id, 7, crate::support::gcp_fake::VState::Disabled);
    let store = GcpStore::connect(GcpConfig::new(
        &fake.project,
        Endpoint::Emulator(fake.endpoint()),
    ))
    .await
    .unwrap();
    let seen = store
        .proxy_access_token_candidates(&SecretNames::new("acme_JIRA_CLOUD_"))
        .await
        .unwrap();
    assert_eq!(values(&seen), numbered(2..=6));
}

/// `RefreshTokenTokenRequestBuilder.getClientId`
/// (core/src/main/java/co/worklytics/psoxy/gateway/impl/oauth/RefreshTokenTokenRequestBuilder.java):
/// in Secrets Manager mode `CLIENT_ID` comes from SSM first. With a leftover SSM `CLIENT_ID` of
/// another app the exchange is refused and nothing rotates; without it, it rotates.
#[tokio::test]
async fn secrets_manager_the_proxy_takes_client_id_from_ssm_first() {
    use crate::support::standin::{self, Backing};
    use crate::support::*;
    use jira_psoxy_setup::store::SecretKey;
    let moto = Moto::start();
    sm_story::seed_deployment(&moto, None).await;
    let s = Session::new(loopback_config()).await;
    let mut env = moto.env();
    env.push(("JIRA_CLIENT_SECRET", CLIENT_SECRET.to_string()));
    let init = s.consents(&sm_story::init_args(&s), &borrowed(&env)).await;
    assert_eq!(init.code, 0, "{}", init.stderr);
    let backing = Backing::SecretsManager(&moto);
    let store = standin::store(&backing, PREFIX).await;
    let names = SecretNames::new(PREFIX);
    // AWSCURRENT and AWSPREVIOUS both expired, so the proxy must exchange.
    for n in 0..2 {
        let expired = SecretString::from(standin::expired_access_token(n));
        store
            .write(&names.name(SecretKey::AccessToken), &expired)
            .await
            .unwrap();
    }
    let refresh = || async {
        let read = store
            .read(&names.name(SecretKey::RefreshToken))
            .await
            .unwrap();
        read.unwrap().value.expose_secret().to_string()
    };
    let before = refresh().await;
    let ssm = moto.ssm().await;
    let leftover = format!("{PREFIX}CLIENT_ID");
    moto.put(&ssm, &leftover, "an-older-app", None).await;

    let fleet = standin::fleet(&backing, &s, PREFIX, 1).await;
    let _ = fleet.instances[0].credentials().await;
    assert_eq!(
        refresh().await,
        before,
        "refused: the SSM CLIENT_ID was used"
    );

    ssm.delete_parameter().name(&leftover).send().await.unwrap();
    let fleet = standin::fleet(&backing, &s, PREFIX, 1).await;
    tokio::time::sleep(standin::LEASE + Duration::from_millis(500)).await; // the failed exchange's lock goes stale
    fleet.instances[0].credentials().await.unwrap();
    assert_ne!(
        refresh().await,
        before,
        "rotated with the Secrets Manager CLIENT_ID"
    );
}
