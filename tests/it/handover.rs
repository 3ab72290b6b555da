//! The handover (psoxy-contract §8): `renew` while a Psoxy stand-in (`sim::proxy`) runs on the
//! old family, its instances' caches warm and their access tokens expiring, refreshing as Psoxy's
//! Java does. After `renew` and past the proxy's cache TTL, the stored refresh token must be the
//! new family's and `status` must describe it. The real binary, the real emulators.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use jira_psoxy_setup::sim::proxy::{ProxyFleet, ProxyInstance, ProxyLock, ProxyTiming};
use jira_psoxy_setup::store::lock::now_ms;
use jira_psoxy_setup::store::{SecretNames, SecretStore};

use crate::support::moto::Moto;
use crate::support::ssm_story::{self, PREFIX};
use crate::support::*;

/// The stand-in's cache TTL and lease, and what the binary is told they are.
const TTL: Duration = Duration::from_millis(3_000);
const LEASE: Duration = Duration::from_millis(4_000);

fn timing_env() -> Vec<(&'static str, String)> {
    vec![
        (
            "JIRA_PSOXY_SETUP_TEST_PROXY_CACHE_TTL_MS",
            TTL.as_millis().to_string(),
        ),
        (
            "JIRA_PSOXY_SETUP_TEST_PROXY_LEASE_MS",
            LEASE.as_millis().to_string(),
        ),
    ]
}

/// A stale access token in the proxy's form.
fn expired_access_token(n: usize) -> String {
    format!(r#"{{"expirationDate":{},"token":"expired-{n}"}}"#, now_ms() - 60_000)
}

/// Keeps every instance busy, its access token always about to expire, until `stop`.
fn drive(fleet: &Arc<ProxyFleet>, stop: &Arc<AtomicBool>) -> tokio::task::JoinHandle<()> {
    let (fleet, stop) = (fleet.clone(), stop.clone());
    tokio::spawn(async move {
        while !stop.load(Ordering::Relaxed) {
            for i in &fleet.instances {
                i.set_access_token_expiry(now_ms());
            }
            let _ = fleet.serve_one_request_each().await;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
}

/// Runs `renew` while the fleet refreshes, then keeps it running past the cache TTL; returns
/// the binary's output.
async fn renew_during_refreshes(
    s: &Session,
    fleet: &Arc<ProxyFleet>,
    args: &[String],
    env: &[(&'static str, String)],
) -> Output {
    let stop = Arc::new(AtomicBool::new(false));
    let driver = drive(fleet, &stop);
    let out = s
        .run_with(args, &borrowed(env), &[], Browser::Follow { accept: true })
        .await;
    tokio::time::sleep(TTL * 2).await;
    stop.store(true, Ordering::Relaxed);
    driver.await.unwrap();
    out
}

/// Which family the stored refresh token belongs to, and the one `renew` minted.
fn families(s: &Session, stored: &str) -> (Option<u64>, Option<u64>) {
    (
        s.sim.family_of_refresh_token(stored),
        s.sim.newest_family(),
    )
}

async fn ssm_fleet(moto: &Moto, s: &Session, n: usize) -> Arc<ProxyFleet> {
    let config = moto.sdk_config().await;
    let names = SecretNames::new(PREFIX);
    let mut instances = Vec::new();
    for id in 0..n {
        let target = jira_psoxy_setup::store::target::AwsTarget::default();
        let store: Arc<dyn SecretStore> = Arc::new(
            jira_psoxy_setup::store::ssm::SsmStore::with_config(&config, &target)
                .await
                .unwrap(),
        );
        let lock = ProxyLock::ssm(aws_sdk_ssm::Client::new(&config), &names);
        instances.push(
            ProxyInstance::new(
                id,
                store,
                names.clone(),
                lock,
                &s.sim.base_url(),
                ProxyTiming::fast(TTL, LEASE),
            )
            .unwrap(),
        );
    }
    Arc::new(ProxyFleet::new(instances))
}

/// AWS SSM, a deployment that has run for a while: ACCESS_TOKEN has more than 10 versions, so
/// the proxy's one-page read (oldest first) never returns the version `renew` writes. Without
/// the handover an instance refreshing from its cached old refresh token writes the old family
/// back; with it, `renew` holds the lock until every cache has expired.
#[tokio::test]
async fn ssm_renew_hands_over_even_when_the_proxy_cannot_see_the_new_access_token() {
    let moto = Moto::start();
    moto.seed_placeholders(PREFIX, None).await;
    let ssm = moto.ssm().await;
    for n in 0..11 {
        ssm.put_parameter()
            .name(format!("{PREFIX}ACCESS_TOKEN"))
            .value(expired_access_token(n))
            .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
            .overwrite(true)
            .send()
            .await
            .unwrap();
    }
    let s = Session::new(loopback_config()).await;
    let mut env = ssm_story::init_env(&moto);
    env.extend(timing_env());
    let init = s
        .run_with(
            &ssm_story::init_args(&s),
            &borrowed(&env),
            &[],
            Browser::Follow { accept: true },
        )
        .await;
    assert_eq!(init.code, 0, "init: {}", init.stderr);
    let fleet = ssm_fleet(&moto, &s, 3).await;
    for outcome in fleet.serve_one_request_each().await {
        outcome.unwrap();
    }

    let renew = on_store(s.renew_args(), strings(&["--store", "aws-ssm"]));
    let out = renew_during_refreshes(&s, &fleet, &renew, &env).await;
    assert_eq!(out.code, 0, "renew: {}", out.stderr);
    let stored = ssm_story::value(&ssm, "REFRESH_TOKEN").await;
    let (stored_family, minted) = families(&s, &stored);
    assert_eq!(stored_family, minted, "the proxy is on the family renew minted");
    assert!(
        out.stderr.contains("keeping the proxy's refresh lock"),
        "{}",
        out.stderr
    );
    let status = s
        .run_with(
            &strings(&["status", "--store", "aws-ssm", "--json"]),
            &borrowed(&env),
            &[],
            Browser::Nothing,
        )
        .await;
    assert_eq!(status.code, 0, "status: {}", status.all());
    let issued = ssm_story::issued_at(&ssm).await;
    assert!(
        chrono::Utc::now() - issued < chrono::Duration::minutes(5),
        "the tags describe the new family: issued {issued}"
    );
}
