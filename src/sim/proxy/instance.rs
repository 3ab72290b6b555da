//! One proxy instance: its config cache (`CachingConfigServiceDecorator`), its in-memory access
//! token and the refresh of `OAuthRefreshTokenSourceAuthStrategy` (psoxy-contract §8 items 2-6).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde::Deserialize;

use super::ProxyTiming;
use super::lock::{ProxyLock, retry_wait};
use crate::atlassian::proxy_token::{ProxyAccessToken, proxy_pick};
use crate::secret::{ExposeSecret, SecretString};
use crate::store::lock::now_ms;
use crate::store::{SecretKey, SecretNames, SecretStore, is_placeholder};

/// `MAX_TOKEN_REFRESH_ATTEMPTS`.
const MAX_ATTEMPTS: u32 = 3;

#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    /// `RuntimeException("Failed to refresh token after 3 attempts")`: the lock stayed taken.
    #[error("failed to refresh token after {MAX_ATTEMPTS} attempts (the lock was held)")]
    LockBusy,
    /// The exchange failed (an `IOException`): Psoxy logs it and keeps the old token; the lock
    /// it held is not released (no `finally`) and goes stale after the lease.
    #[error("the token exchange failed: {0}")]
    Exchange(String),
    #[error("a required secret is missing: {0}")]
    Missing(&'static str),
    #[error("the store failed: {0}")]
    Store(String),
}

/// A cached config value and when it was loaded or written.
struct Cached {
    value: Option<String>,
    at: Instant,
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    expires_in: Option<i64>,
    refresh_token: Option<String>,
}

pub struct ProxyInstance {
    pub id: usize,
    store: Arc<dyn SecretStore>,
    names: SecretNames,
    lock: ProxyLock,
    timing: ProxyTiming,
    http: reqwest::Client,
    token_url: url::Url,
    /// The source's API (the simulator serves it beside its token endpoint).
    source_api: url::Url,
    /// SSM parameters read for `CLIENT_ID` before the store (`getClientId`: the instance, then
    /// the shared parameter), in Secrets Manager mode.
    client_id_params: Vec<String>,
    ssm: Option<aws_sdk_ssm::Client>,
    cache: Mutex<HashMap<String, Cached>>,
    /// `cachedToken`: (token, expiry in epoch ms).
    token: Mutex<Option<(SecretString, i64)>>,
    /// `synchronized refreshAccessToken`.
    refreshing: tokio::sync::Mutex<()>,
}

impl ProxyInstance {
    /// An instance reading `names` from `store`, refreshing at `atlassian_auth`'s `/oauth/token`.
    pub fn new(
        id: usize,
        store: Arc<dyn SecretStore>,
        names: SecretNames,
        lock: ProxyLock,
        atlassian_auth: &url::Url,
        timing: ProxyTiming,
    ) -> std::result::Result<ProxyInstance, url::ParseError> {
        Ok(ProxyInstance {
            id,
            store,
            names,
            lock,
            timing,
            http: reqwest::Client::new(),
            token_url: atlassian_auth.join("oauth/token")?,
            source_api: atlassian_auth.clone(),
            client_id_params: Vec::new(),
            ssm: None,
            cache: Mutex::new(HashMap::new()),
            token: Mutex::new(None),
            refreshing: tokio::sync::Mutex::new(()),
        })
    }

    /// Secrets Manager mode: `CLIENT_ID` is looked up in these SSM parameters first
    /// (`RefreshTokenTokenRequestBuilder.getClientId`, psoxy-contract §8 item 6).
    pub fn with_ssm_client_id(mut self, ssm: aws_sdk_ssm::Client, params: Vec<String>) -> Self {
        self.ssm = Some(ssm);
        self.client_id_params = params;
        self
    }

    pub fn names(&self) -> &SecretNames {
        &self.names
    }

    /// The access token in memory, if any (for tests: "which family is this instance on?").
    pub fn access_token(&self) -> Option<SecretString> {
        self.lock_token().as_ref().map(|(t, _)| t.clone())
    }

    /// Test hook: the in-memory access token expires at this epoch-ms time.
    pub fn set_access_token_expiry(&self, at_ms: i64) {
        if let Some((_, exp)) = self.lock_token().as_mut() {
            *exp = at_ms;
        }
    }

    /// The refresh token this instance would exchange now (from its cache), without loading.
    pub fn cached_refresh_token(&self) -> Option<String> {
        let name = self.names.name(SecretKey::RefreshToken);
        self.lock_cache().get(&name).and_then(|c| c.value.clone())
    }

    fn lock_token(&self) -> std::sync::MutexGuard<'_, Option<(SecretString, i64)>> {
        self.token.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn lock_cache(&self) -> std::sync::MutexGuard<'_, HashMap<String, Cached>> {
        self.cache.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Where API calls through the proxy go.
    pub fn source_api(&self) -> &url::Url {
        &self.source_api
    }

    /// `getCredentials`: the token in memory, else the shared one; refreshed when it needs to be.
    pub async fn credentials(&self) -> Result<SecretString, ProxyError> {
        let mut token = self.lock_token().clone();
        if token.is_none() {
            token = self.shared_token().await;
            *self.lock_token() = token.clone();
        }
        if self.should_refresh(token.as_ref()) {
            match self.refresh().await {
                Ok(fresh) => token = Some(fresh),
                Err(ProxyError::Exchange(e)) => {
                    tracing::info!(
                        instance = self.id,
                        "simulated proxy: failed to proactively refresh token: {e}"
                    );
                }
                Err(e) => return Err(e),
            }
        }
        token
            .map(|(t, _)| t)
            .ok_or(ProxyError::Missing("ACCESS_TOKEN"))
    }

    /// `shouldRefresh`: none, or expiring within the proactive window.
    fn should_refresh(&self, token: Option<&(SecretString, i64)>) -> bool {
        let Some((_, exp)) = token else {
            return true;
        };
        let (min, max) = self.timing.proactive;
        let grace = i64::try_from(super::between(min, max).as_millis()).unwrap_or(0);
        now_ms() > exp.saturating_sub(grace)
    }

    /// `getSharedAccessTokenIfSupported` (psoxy-contract §8 item 4): never cached.
    async fn shared_token(&self) -> Option<(SecretString, i64)> {
        let candidates = self
            .store
            .proxy_access_token_candidates(&self.names)
            .await
            .unwrap_or_default();
        proxy_pick(&candidates).map(|t| (t.token, t.expiration_date))
    }

    /// `refreshAccessToken`: up to three lock attempts with a growing wait, then give up.
    async fn refresh(&self) -> Result<(SecretString, i64), ProxyError> {
        let _one_at_a_time = self.refreshing.lock().await;
        for attempt in 0..MAX_ATTEMPTS {
            if self
                .lock
                .acquire(&self.store, &self.names, &self.timing)
                .await
            {
                let token = match self.reusable().await {
                    Some(token) => token,
                    // On an exchange failure the Java leaves the lock taken.
                    None => self.exchange().await?,
                };
                *self.lock_token() = Some(token.clone());
                tokio::time::sleep(self.timing.consistency_allowance).await;
                self.lock.release(&self.store, &self.names).await;
                return Ok(token);
            }
            tokio::time::sleep(retry_wait(&self.timing, attempt)).await;
        }
        Err(ProxyError::LockBusy)
    }

    /// `findReusableAccessToken`: the token in memory, else the shared one, if still good.
    async fn reusable(&self) -> Option<(SecretString, i64)> {
        let mine = self.lock_token().clone();
        if !self.should_refresh(mine.as_ref()) {
            return mine;
        }
        let shared = self.shared_token().await;
        (!self.should_refresh(shared.as_ref()))
            .then_some(shared)
            .flatten()
    }

    /// The exchange with the refresh token from the cache, then `storeSharedAccessTokenIfSupported`
    /// and `storeRefreshTokenIfRotated`.
    async fn exchange(&self) -> Result<(SecretString, i64), ProxyError> {
        let refresh = self
            .config(SecretKey::RefreshToken)
            .await?
            .ok_or(ProxyError::Missing("REFRESH_TOKEN"))?;
        let client_id = self.client_id().await?;
        let secret = self
            .config(SecretKey::ClientSecret)
            .await?
            .ok_or(ProxyError::Missing("CLIENT_SECRET"))?;
        let form = [
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh.as_str()),
            ("client_id", client_id.as_str()),
            ("client_secret", secret.as_str()),
        ];
        let answer = self
            .http
            .post(self.token_url.clone())
            .header(reqwest::header::ACCEPT, "application/json")
            .form(&form)
            .send()
            .await
            .map_err(|e| ProxyError::Exchange(e.without_url().to_string()))?;
        if !answer.status().is_success() {
            return Err(ProxyError::Exchange(format!("HTTP {}", answer.status())));
        }
        let answer: TokenAnswer = answer
            .json()
            .await
            .map_err(|e| ProxyError::Exchange(e.without_url().to_string()))?;
        // `DEFAULT_ACCESS_TOKEN_EXPIRATION`: an hour when `expires_in` is missing.
        let expires = now_ms() + answer.expires_in.unwrap_or(3600).saturating_mul(1000);
        let token = SecretString::from(answer.access_token);
        let stored = ProxyAccessToken {
            expiration_date: expires,
            token: token.clone(),
        };
        let key = SecretKey::AccessToken;
        self.put(key, stored.to_secret()).await;
        if let Some(rotated) = answer.refresh_token.filter(|t| !t.trim().is_empty()) {
            // Compared with the cached value; its last-modified date is unknown through the
            // cache, so the one-hour guard never applies (psoxy-contract §8 item 5).
            let cached = self.config(SecretKey::RefreshToken).await?;
            if cached.is_some_and(|c| c != rotated) {
                self.put(SecretKey::RefreshToken, SecretString::from(rotated))
                    .await;
            }
        }
        Ok((token, expires))
    }

    /// `putConfigProperty` through the decorator: the cache takes the value (not
    /// `ACCESS_TOKEN`, which is `noCache`), then the store.
    async fn put(&self, key: SecretKey, value: SecretString) {
        let name = self.names.name(key);
        if key != SecretKey::AccessToken {
            self.lock_cache().insert(
                name.clone(),
                Cached {
                    value: Some(value.expose_secret().to_string()),
                    at: Instant::now(),
                },
            );
        }
        if let Err(e) = self.store.write(&name, &value).await {
            tracing::warn!(
                instance = self.id,
                "simulated proxy: could not write {name}: {e}"
            );
        }
    }

    /// `getClientId`: SSM instance, then shared parameter (Secrets Manager mode), then the store.
    async fn client_id(&self) -> Result<String, ProxyError> {
        if let Some(ssm) = &self.ssm {
            for param in &self.client_id_params {
                // `config`'s own cache, apart from the store's (the names may be equal).
                let key = format!("ssm:{param}");
                if let Some(v) = self.cached(&key, || ssm_value(ssm, param)).await? {
                    return Ok(v);
                }
            }
        }
        self.config(SecretKey::ClientId)
            .await?
            .ok_or(ProxyError::Missing("CLIENT_ID"))
    }

    /// A secret through the config cache.
    pub(super) async fn config(&self, key: SecretKey) -> Result<Option<String>, ProxyError> {
        let name = self.names.name(key);
        let store = &self.store;
        self.cached(&name, || async {
            Ok(store
                .read(&name)
                .await
                .map_err(|e| e.to_string())?
                .map(|s| s.value.expose_secret().to_string()))
        })
        .await
    }

    /// `refreshAfterWrite(ttl)`: a value is served until `ttl` after it was loaded or written;
    /// then reloaded. A failed reload, or an empty one for a value that was set, keeps the old
    /// value for another `ttl`.
    async fn cached<F, Fut>(&self, name: &str, load: F) -> Result<Option<String>, ProxyError>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<Option<String>, String>>,
    {
        let old = {
            let cache = self.lock_cache();
            match cache.get(name) {
                Some(c) if c.at.elapsed() < self.timing.cache_ttl => return Ok(c.value.clone()),
                Some(c) => Some(c.value.clone()),
                None => None,
            }
        };
        let loaded = load().await.map(|v| v.filter(|v| !is_placeholder(v)));
        let value = match (loaded, old) {
            (Ok(None), Some(Some(old))) => Some(old),
            (Ok(v), _) => v,
            (Err(_), Some(old)) => old,
            (Err(e), None) => return Err(ProxyError::Store(e)),
        };
        self.lock_cache().insert(
            name.to_string(),
            Cached {
                value: value.clone(),
                at: Instant::now(),
            },
        );
        Ok(value)
    }
}

async fn ssm_value(ssm: &aws_sdk_ssm::Client, name: &str) -> Result<Option<String>, String> {
    match ssm
        .get_parameter()
        .name(name)
        .with_decryption(true)
        .send()
        .await
    {
        Ok(out) => Ok(out.parameter().and_then(|p| p.value()).map(str::to_string)),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_parameter_not_found()) =>
        {
            Ok(None)
        }
        Err(e) => Err(e.to_string()),
    }
}
