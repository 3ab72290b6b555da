//! The proxy's own refresh lock (psoxy-contract §3): its lease and how this tool waits for it.
//! The store only knows how to try and release; waiting, the countdown and stale take-over live in
//! `wizard::refresh_lock`, once for every store.

use std::time::Duration;

/// The proxy holds its lock for at most this long.
pub const LEASE: Duration = Duration::from_secs(120);
/// How long a proxy instance keeps the secrets it read (its config cache, psoxy-contract §8).
pub const CACHE_TTL: Duration = Duration::from_secs(5 * 60);
/// How much longer than the lease a lock is waited for, counted from when this run first saw it:
/// room for clock skew between this machine and the proxy's.
pub const MARGIN: Duration = Duration::from_secs(15);

pub fn now_ms() -> i64 {
    now().timestamp_millis()
}

/// A test's override of a clock (`JIRA_PSOXY_SETUP_TEST_*`, in milliseconds). Read only by
/// debug builds, which the tests run: a release binary always keeps Psoxy's lease and cache and
/// this machine's time, whatever its environment says.
pub fn test_override_ms(name: &str) -> Option<i64> {
    if !cfg!(debug_assertions) {
        return None;
    }
    std::env::var(name).ok()?.parse().ok()
}

/// This machine's time; a test may move it (`JIRA_PSOXY_SETUP_TEST_CLOCK_OFFSET_MS`, e.g.
/// `-300000` for a clock five minutes behind) to show what a wrong clock does.
pub fn now() -> chrono::DateTime<chrono::Utc> {
    static OFFSET: std::sync::OnceLock<i64> = std::sync::OnceLock::new();
    let offset = *OFFSET
        .get_or_init(|| test_override_ms("JIRA_PSOXY_SETUP_TEST_CLOCK_OFFSET_MS").unwrap_or(0));
    let now = chrono::Utc::now();
    now.checked_add_signed(chrono::Duration::milliseconds(offset))
        .unwrap_or(now)
}

pub struct LockPolicy {
    pub lease: Duration,
    /// See `MARGIN`.
    pub margin: Duration,
    pub poll: Duration,
    /// The timestamp of a lock an earlier run of this tool took and could not release (kept in
    /// the recovery file): that lock is taken over at once instead of waited for.
    pub ours: Option<i64>,
}

impl Default for LockPolicy {
    fn default() -> Self {
        LockPolicy {
            lease: LEASE,
            margin: MARGIN,
            poll: Duration::from_secs(2),
            ours: None,
        }
    }
}
