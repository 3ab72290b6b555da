//! Each behaviour the stand-in takes from Psoxy's Java, pinned (paths under Psoxy v0.6.9's
//! `java/`; psoxy-contract §8). `OAuthRefreshTokenSourceAuthStrategy` is
//! `core/src/main/java/co/worklytics/psoxy/gateway/impl/oauth/OAuthRefreshTokenSourceAuthStrategy.java`. The file store stands in for the store here; the per-store reads
//! and locks are pinned against the emulators in `tests/it/proxy_standin.rs`.

use std::sync::Arc;
use std::time::Duration;

use super::*;
use crate::atlassian::proxy_token::ProxyAccessToken;
use crate::secret::{ExposeSecret, SecretString};
use crate::sim::test_util::{start, str_field, tokens};
use crate::sim::{SimConfig, Simulator};
use crate::store::file::FileStore;
use crate::store::lock::now_ms;
use crate::store::{LockAttempt, SecretKey, SecretNames, SecretStore};

const TTL: Duration = Duration::from_millis(600);

struct World {
    sim: Simulator,
    _dir: tempfile::TempDir,
    path: std::path::PathBuf,
    names: SecretNames,
}

impl World {
    /// A deployment on one family: client credentials, its refresh token, and an access token
    /// that expired.
    async fn start() -> World {
        let sim = start(SimConfig::default()).await;
        let dir = tempfile::tempdir().unwrap();
        let world = World {
            path: dir.path().join("secrets.json"),
            sim,
            _dir: dir,
            names: SecretNames::new("PSOXY_JIRA_CLOUD_"),
        };
        let family = tokens(&world.sim).await;
        world.put(SecretKey::ClientId, "demo-client-id").await;
        world
            .put(SecretKey::ClientSecret, "demo-client-secret")
            .await;
        world
            .put(
                SecretKey::RefreshToken,
                &str_field(&family, "refresh_token"),
            )
            .await;
        world.put_access("expired", now_ms() - 1_000).await;
        world
    }

    fn store(&self) -> Arc<dyn SecretStore> {
        Arc::new(FileStore::new(&self.path))
    }

    async fn put(&self, key: SecretKey, value: &str) {
        self.store()
            .write(
                &self.names.name(key),
                &SecretString::from(value.to_string()),
            )
            .await
            .unwrap();
    }

    async fn put_access(&self, token: &str, expires_ms: i64) {
        let stored = ProxyAccessToken {
            expiration_date: expires_ms,
            token: SecretString::from(token.to_string()),
        };
        self.store()
            .write(
                &self.names.name(SecretKey::AccessToken),
                &stored.to_secret(),
            )
            .await
            .unwrap();
    }

    async fn stored(&self, key: SecretKey) -> String {
        let read = self.store().read(&self.names.name(key)).await.unwrap();
        read.unwrap().value.expose_secret().to_string()
    }

    fn instance(&self, id: usize) -> ProxyInstance {
        ProxyInstance::new(
            id,
            self.store(),
            self.names.clone(),
            ProxyLock::ByValue,
            &self.sim.base_url(),
            ProxyTiming::fast(TTL, Duration::from_secs(2)),
        )
        .unwrap()
    }

    fn token_requests(&self) -> usize {
        let log = self.sim.requests();
        log.iter().filter(|r| *r == "POST /oauth/token").count()
    }
}

/// `CachingConfigServiceDecorator`
/// (core/src/main/java/co/worklytics/psoxy/gateway/impl/CachingConfigServiceDecorator.java,
/// `refreshAfterWrite(ttl)`): a value is served from the cache
/// until the TTL has passed since it was loaded, then reloaded from the store.
#[tokio::test]
async fn a_cached_secret_is_served_until_the_ttl_then_reloaded() {
    let w = World::start().await;
    let proxy = w.instance(0);
    let first = proxy.config(SecretKey::RefreshToken).await.unwrap();
    w.put(SecretKey::RefreshToken, "written-later").await;
    assert_eq!(proxy.config(SecretKey::RefreshToken).await.unwrap(), first);
    tokio::time::sleep(TTL).await;
    assert_eq!(
        proxy
            .config(SecretKey::RefreshToken)
            .await
            .unwrap()
            .as_deref(),
        Some("written-later")
    );
}

/// `OAuthRefreshTokenSourceAuthStrategy.findReusableAccessToken` /
/// `getSharedAccessTokenIfSupported`: with the lock taken, a stored access token that is still
/// good is used; nothing is exchanged.
#[tokio::test]
async fn a_stored_access_token_that_is_still_good_is_reused_not_exchanged() {
    let w = World::start().await;
    let before = w.token_requests();
    w.put_access("still-good", now_ms() + 3_600_000).await;
    let proxy = w.instance(0);
    let used = proxy.credentials().await.unwrap();
    assert_eq!(used.expose_secret(), "still-good");
    assert_eq!(w.token_requests(), before, "no exchange");
}

/// `TokenRefreshHandlerImpl.storeRefreshTokenIfRotated` through the cache: an instance whose
/// cache still holds the old family's refresh token exchanges it and writes the rotated token
/// over a newer family written meanwhile (the race the handover guards against).
#[tokio::test]
async fn an_old_cached_refresh_token_is_rotated_and_written_over_a_newer_family() {
    let w = World::start().await;
    let old = w.stored(SecretKey::RefreshToken).await;
    let proxy = w.instance(0);
    proxy.config(SecretKey::RefreshToken).await.unwrap(); // a warm cache
    let newer = tokens(&w.sim).await;
    let newer_family = w.sim.newest_family();
    w.put(SecretKey::RefreshToken, &str_field(&newer, "refresh_token"))
        .await;
    proxy.credentials().await.unwrap();
    let stored = w.stored(SecretKey::RefreshToken).await;
    assert_eq!(
        w.sim.family_of_refresh_token(&stored),
        w.sim.family_of_refresh_token(&old),
        "the old family came back"
    );
    assert_ne!(w.sim.family_of_refresh_token(&stored), newer_family);
    let shared =
        ProxyAccessToken::parse(&SecretString::from(w.stored(SecretKey::AccessToken).await));
    assert!(
        shared.is_some(),
        "the new access token is stored as {{token, expirationDate}}"
    );
}

/// `TokenRefreshHandlerImpl.refreshAccessToken`: a lock held by another (not stale) is tried
/// three times with a growing wait, then the refresh fails; nothing is written.
#[tokio::test]
async fn a_held_lock_makes_the_refresh_give_up_after_three_attempts() {
    let w = World::start().await;
    let holder = w.store();
    assert_eq!(
        holder.try_lock(&w.names, now_ms(), false).await.unwrap(),
        LockAttempt::Acquired
    );
    let before = w.stored(SecretKey::RefreshToken).await;
    let proxy = w.instance(0);
    let started = std::time::Instant::now();
    let outcome = proxy.credentials().await;
    assert!(matches!(outcome, Err(ProxyError::LockBusy)), "{outcome:?}");
    // 150 ms × (1 + 2 + 3), plus jitter.
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(w.stored(SecretKey::RefreshToken).await, before);
}

/// `TokenRefreshHandlerImpl.refreshAccessToken`: an exchange that fails (an `IOException`)
/// propagates with the lock still taken (no `finally`); `getCredentials` logs it and goes on with
/// the token it had. The lock goes stale after the lease.
#[tokio::test]
async fn a_failed_exchange_leaves_the_lock_taken() {
    let w = World::start().await;
    w.put(SecretKey::RefreshToken, "unknown-refresh-token")
        .await;
    let proxy = w.instance(0);
    let used = proxy.credentials().await.unwrap();
    assert_eq!(
        used.expose_secret(),
        "expired",
        "the old token, as getCredentials keeps it"
    );
    let other = w.store();
    assert!(matches!(
        other.try_lock(&w.names, now_ms(), false).await.unwrap(),
        LockAttempt::HeldSince(_)
    ));
}

/// `SecretManagerConfigService.acquire`
/// (impl/gcp/src/main/java/co/worklytics/psoxy/SecretManagerConfigService.java, by value): a lock whose time is older than the lease
/// is taken over at once; so is one written by a clock that runs minutes behind.
#[tokio::test]
async fn a_lock_dated_before_the_lease_is_taken_over_by_value() {
    let w = World::start().await;
    let behind = w.store();
    behind
        .try_lock(&w.names, now_ms() - 5 * 60 * 1000, false)
        .await
        .unwrap();
    let timing = ProxyTiming::fast(TTL, Duration::from_secs(120));
    assert!(
        ProxyLock::ByValue
            .acquire(&w.store(), &w.names, &timing)
            .await
    );
}

/// `HealthCheckRequestHandler` / `HealthCheckResult`
/// (core/src/main/java/co/worklytics/psoxy/gateway/impl/HealthCheckRequestHandler.java,
/// core/src/main/java/co/worklytics/psoxy/HealthCheckResult.java): `X-Psoxy-Health-Check` gets the JSON,
/// 200 when passed; a required secret left as `fill me` is listed in `missingConfigProperties`
/// and answers 412.
#[tokio::test]
async fn the_health_check_passes_when_configured_and_names_what_is_missing() {
    let w = World::start().await;
    let mut fleet = ProxyFleet::new(vec![w.instance(0)]);
    let addr = fleet.serve().await.unwrap();
    let check = || async {
        let resp = reqwest::Client::new()
            .get(format!("http://{addr}/"))
            .header(HEALTH_CHECK_HEADER, "true")
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let body: serde_json::Value = resp.json().await.unwrap();
        (status, body)
    };
    let (status, body) = check().await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["missingConfigProperties"], serde_json::json!([]));
    assert!(body["configPropertiesLastModified"].is_object());
    assert!(body["warningMessages"].is_array());

    let mut fleet = ProxyFleet::new(vec![w.instance(1)]);
    let addr2 = fleet.serve().await.unwrap();
    w.put(SecretKey::RefreshToken, "fill me").await;
    let resp = reqwest::Client::new()
        .get(format!("http://{addr2}/"))
        .header(HEALTH_CHECK_HEADER, "")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 412);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(
        body["missingConfigProperties"],
        serde_json::json!(["REFRESH_TOKEN"])
    );
}
