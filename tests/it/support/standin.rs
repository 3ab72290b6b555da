//! The Psoxy stand-in (`sim::proxy`) over each store the tests emulate, and a driver that keeps
//! its instances refreshing, as a proxy under load does, while the binary runs.

#![allow(dead_code)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use jira_psoxy_setup::sim::proxy::{ProxyFleet, ProxyInstance, ProxyLock, ProxyTiming};
use jira_psoxy_setup::store::aws::AwsTarget;
use jira_psoxy_setup::store::file::FileStore;
use jira_psoxy_setup::store::gcp::{Endpoint, GcpConfig, GcpStore};
use jira_psoxy_setup::store::lock::now_ms;
use jira_psoxy_setup::store::secrets_manager::SecretsManagerStore;
use jira_psoxy_setup::store::ssm::SsmStore;
use jira_psoxy_setup::store::{SecretNames, SecretStore};

use super::Session;
use super::gcp_fake::GcpFake;
use super::moto::Moto;

/// The stand-in's cache TTL and lock lease, and what the binary is told they are.
pub const TTL: Duration = Duration::from_millis(8_000);
pub const LEASE: Duration = Duration::from_millis(6_000);

pub fn timing_env() -> Vec<(&'static str, String)> {
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

/// Where the stand-in's instances read.
pub enum Backing<'a> {
    Ssm(&'a Moto),
    SecretsManager(&'a Moto),
    Gcp(&'a GcpFake),
    File(std::path::PathBuf),
}

/// One client of the store, as an instance of the proxy opens it, with the proxy's lock on it.
async fn open(
    backing: &Backing<'_>,
    names: &SecretNames,
) -> (Arc<dyn SecretStore>, ProxyLock, Option<aws_sdk_ssm::Client>) {
    match backing {
        Backing::Ssm(moto) => {
            let config = moto.sdk_config().await;
            let store = SsmStore::with_config(&config, &AwsTarget::default())
                .await
                .unwrap();
            let lock = ProxyLock::ssm(aws_sdk_ssm::Client::new(&config), names);
            (Arc::new(store), lock, None)
        }
        Backing::SecretsManager(moto) => {
            let config = moto.sdk_config().await;
            let store = SecretsManagerStore::with_config(&config, &AwsTarget::default())
                .await
                .unwrap();
            let ssm = aws_sdk_ssm::Client::new(&config);
            let lock = ProxyLock::ssm(ssm.clone(), names);
            (Arc::new(store), lock, Some(ssm))
        }
        Backing::Gcp(fake) => {
            let config = GcpConfig::new(&fake.project, Endpoint::Emulator(fake.endpoint()));
            let store = GcpStore::connect(config).await.unwrap();
            (Arc::new(store), ProxyLock::ByValue, None)
        }
        Backing::File(path) => (Arc::new(FileStore::new(path)), ProxyLock::ByValue, None),
    }
}

/// The store as the tests write to it directly.
pub async fn store(backing: &Backing<'_>, prefix: &str) -> Arc<dyn SecretStore> {
    open(backing, &SecretNames::new(prefix)).await.0
}

/// `n` instances of the proxy for `prefix`, each with its own store client and cache.
pub async fn fleet(backing: &Backing<'_>, s: &Session, prefix: &str, n: usize) -> Arc<ProxyFleet> {
    let names = SecretNames::new(prefix);
    let mut instances = Vec::new();
    for id in 0..n {
        let (store, lock, ssm) = open(backing, &names).await;
        let mut instance = ProxyInstance::new(
            id,
            store,
            names.clone(),
            lock,
            &s.sim.base_url(),
            ProxyTiming::fast(TTL, LEASE),
        )
        .unwrap();
        if let Some(ssm) = ssm {
            // `getClientId`: the SSM instance parameter, then the shared one (no shared path:
            // the bare name), before Secrets Manager.
            let params = vec![format!("{prefix}CLIENT_ID"), "CLIENT_ID".to_string()];
            instance = instance.with_ssm_client_id(ssm, params);
        }
        instances.push(instance);
    }
    Arc::new(ProxyFleet::new(instances))
}

/// Keeps every instance serving requests, its access token always about to expire, until the
/// returned guard is dropped.
pub struct Driving {
    stop: Arc<AtomicBool>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Driving {
    pub async fn stop(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(task) = self.task.take() {
            task.await.unwrap();
        }
    }
}

pub fn drive(fleet: &Arc<ProxyFleet>) -> Driving {
    let stop = Arc::new(AtomicBool::new(false));
    let (f, flag) = (fleet.clone(), stop.clone());
    let task = tokio::spawn(async move {
        while !flag.load(Ordering::Relaxed) {
            for i in &f.instances {
                i.set_access_token_expiry(now_ms());
            }
            let _ = f.serve_one_request_each().await;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    Driving {
        stop,
        task: Some(task),
    }
}

/// A stale access token in the proxy's form.
pub fn expired_access_token(n: usize) -> String {
    format!(
        r#"{{"expirationDate":{},"token":"expired-{n}"}}"#,
        now_ms() - 60_000
    )
}

/// A deployment that has run for months on SSM: `ACCESS_TOKEN` gets 99 expired versions after
/// Terraform's placeholder, SSM's maximum of 100, all older than anything a run writes.
pub async fn months_of_refreshes(moto: &super::moto::Moto, prefix: &str) {
    let ssm = moto.ssm().await;
    for n in 0..99 {
        ssm.put_parameter()
            .name(format!("{prefix}ACCESS_TOKEN"))
            .value(expired_access_token(n))
            .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
            .overwrite(true)
            .send()
            .await
            .unwrap();
    }
}
