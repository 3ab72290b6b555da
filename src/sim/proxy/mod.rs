//! A stand-in for a running Psoxy proxy (v0.6.9) serving the Jira or Confluence connector: the
//! parts of its Java that decide which token family survives a `renew` (psoxy-contract §8).
//! Several instances share one store, each with its own config cache; each refreshes through
//! the Atlassian simulator exactly as `OAuthRefreshTokenSourceAuthStrategy` does (the lock, the
//! shared access-token read, the exchange, the write-back), and answers Psoxy's health check.
//! The store is the crate's own `SecretStore` (the same emulators the tests use), read the way
//! the proxy reads it; the timings shrink for tests (`ProxyTiming`).

mod health;
mod instance;
mod lock;
#[cfg(test)]
mod tests;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::oneshot;

pub use health::HEALTH_CHECK_HEADER;
pub use instance::{ProxyError, ProxyInstance};
pub use lock::ProxyLock;

/// The proxy's clocks. `production()` is Psoxy's; tests shrink them.
#[derive(Debug, Clone)]
pub struct ProxyTiming {
    /// `proxyInstanceConfigCacheTtl` (5 minutes; `AwsModule`, `GcpModule`).
    pub cache_ttl: Duration,
    /// `TOKEN_LOCK_DURATION` (2 minutes).
    pub lease: Duration,
    /// `WAIT_AFTER_FAILED_LOCK_ATTEMPTS` (4 s, times the attempt).
    pub lock_retry_wait: Duration,
    /// `ALLOWANCE_FOR_EVENTUAL_CONSISTENCY` (2 s), slept before the release.
    pub consistency_allowance: Duration,
    /// The SSM lock's read-back pause (100-300 ms in `ParameterStoreConfigService.acquire`).
    pub lock_settle: Duration,
    /// Refresh this long before the token expires: Psoxy draws 1-10 minutes at random
    /// (`MIN_/MAX_PROACTIVE_TOKEN_REFRESH`); the range here, drawn the same way.
    pub proactive: (Duration, Duration),
}

impl ProxyTiming {
    pub fn production() -> ProxyTiming {
        ProxyTiming {
            cache_ttl: crate::store::lock::CACHE_TTL,
            lease: crate::store::lock::LEASE,
            lock_retry_wait: Duration::from_secs(4),
            consistency_allowance: Duration::from_secs(2),
            lock_settle: Duration::from_millis(100),
            proactive: (Duration::from_secs(60), Duration::from_secs(600)),
        }
    }

    /// Everything in milliseconds, for tests: a cache of `cache_ttl`, a lease of `lease`, no
    /// proactive refresh (a token is refreshed when it has expired).
    pub fn fast(cache_ttl: Duration, lease: Duration) -> ProxyTiming {
        ProxyTiming {
            cache_ttl,
            lease,
            lock_retry_wait: Duration::from_millis(150),
            consistency_allowance: Duration::from_millis(50),
            lock_settle: Duration::from_millis(20),
            proactive: (Duration::ZERO, Duration::ZERO),
        }
    }
}

/// Several instances of one connector's proxy, sharing a store. Dropping it stops its server.
pub struct ProxyFleet {
    pub instances: Vec<Arc<ProxyInstance>>,
    shutdown: Option<oneshot::Sender<()>>,
    addr: Option<SocketAddr>,
}

impl ProxyFleet {
    pub fn new(instances: Vec<ProxyInstance>) -> ProxyFleet {
        ProxyFleet {
            instances: instances.into_iter().map(Arc::new).collect(),
            shutdown: None,
            addr: None,
        }
    }

    /// Every instance serves one API request at once (each gets credentials, refreshing as
    /// Psoxy would); the outcome per instance.
    pub async fn serve_one_request_each(&self) -> Vec<Result<(), ProxyError>> {
        let calls = self.instances.iter().map(|i| {
            let i = i.clone();
            async move { i.credentials().await.map(|_| ()) }
        });
        futures_util::future::join_all(calls).await
    }

    /// Keeps every instance serving a request every `every` until the fleet is dropped (the
    /// demo's proxy, busy while the wizard runs).
    pub fn keep_busy(&self, every: Duration) -> tokio::task::JoinHandle<()> {
        let instances = self.instances.clone();
        tokio::spawn(async move {
            loop {
                for i in &instances {
                    if let Err(e) = i.credentials().await {
                        tracing::debug!(instance = i.id, "simulated proxy: {e}");
                    }
                }
                tokio::time::sleep(every).await;
            }
        })
    }

    /// Serves the health check (and proxied API calls) on `127.0.0.1`, instances taking turns.
    pub async fn serve(&mut self) -> std::io::Result<SocketAddr> {
        if let Some(addr) = self.addr {
            return Ok(addr);
        }
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        let addr = listener.local_addr()?;
        let (tx, rx) = oneshot::channel::<()>();
        let app = health::router(self.instances.clone());
        tokio::spawn(async move {
            let server = axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(async {
                let _ = rx.await;
            });
            if let Err(e) = server.await {
                tracing::warn!("simulated proxy stopped: {e}");
            }
        });
        self.shutdown = Some(tx);
        self.addr = Some(addr);
        Ok(addr)
    }
}

impl Drop for ProxyFleet {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// A random duration in `[min, max)` (Psoxy's `randomNumberGenerator.nextInt`).
pub(crate) fn between(min: Duration, max: Duration) -> Duration {
    let span = max.saturating_sub(min).as_millis();
    if span == 0 {
        return min;
    }
    let draw = u128::from_str_radix(&crate::secret::random_hex(4), 16).unwrap_or(0);
    min + Duration::from_millis(u64::try_from(draw % span).unwrap_or(0))
}
