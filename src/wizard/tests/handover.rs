//! The handover step (`wizard::handover`, psoxy-contract §8) over the in-memory store: when the
//! proxy cannot see the new access token the lock is kept past every cache, renewed; a lock that
//! cannot be renewed, is taken, or values that change under it end the run with the tokens kept.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use crate::error::Error;
use crate::recovery::Pending;
use crate::secret::SecretString;
use crate::store::{FamilyMetadata, SecretKey, SecretNames, SecretStore};
use crate::testing::{ExpectPrompter, MemoryStore, Op, context, state_dir};
use crate::wizard::save::{Keep, save_secrets};

/// The proxy's clocks shortened for this process: a 400 ms cache, a 400 ms lease.
fn fast_proxy() {
    static SET: OnceLock<()> = OnceLock::new();
    SET.get_or_init(|| {
        // SAFETY: set once, under the OnceLock, before a test of this module runs a handover;
        // the library reads the environment only through std, which holds its own lock.
        unsafe {
            std::env::set_var("JIRA_PSOXY_SETUP_TEST_PROXY_CACHE_TTL_MS", "400");
            std::env::set_var("JIRA_PSOXY_SETUP_TEST_PROXY_LEASE_MS", "400");
        }
    });
}

fn pending(prefix: &str) -> Pending {
    let names = SecretNames::new(prefix);
    let access = crate::atlassian::proxy_token::ProxyAccessToken::new(
        SecretString::from("at-new".to_string()),
        chrono::Utc::now() + chrono::Duration::hours(1),
    );
    Pending {
        prefix: prefix.into(),
        values: vec![
            (
                names.name(SecretKey::RefreshToken),
                SecretString::from("rt-new".to_string()),
            ),
            (names.name(SecretKey::AccessToken), access.to_secret()),
        ],
        meta: FamilyMetadata::default(),
        own_lock_ms: None,
        target: None,
        connector: crate::connector::default(),
        writes: crate::recovery::Writes::NotSent,
        expected: None,
    }
}

#[tokio::test]
async fn the_handover_keeps_the_lock_past_every_cache_or_fails_with_the_tokens_kept() {
    fast_proxy();
    let access = |p: &str| SecretNames::new(p).name(SecretKey::AccessToken);
    // (case, the store, the error's words or None for success, renewals at least)
    let cases: Vec<(&str, Box<dyn Fn(&str) -> MemoryStore>, Option<&str>, usize)> = vec![
        (
            "the proxy sees the new token",
            Box::new(|_| MemoryStore::default()),
            None,
            0,
        ),
        (
            "the proxy's read fails: the lock is kept and renewed",
            Box::new(|_| MemoryStore::default().fail(Op::ProxyRead, "denied")),
            None,
            1,
        ),
        (
            "the lease cannot be renewed",
            Box::new(|_| {
                MemoryStore::default()
                    .fail(Op::ProxyRead, "denied")
                    .fail(Op::RenewLock, "PutParameter denied on the lock")
            }),
            Some("could not be renewed (PutParameter denied on the lock)"),
            0,
        ),
        (
            "the lock is taken while held",
            Box::new(|_| {
                MemoryStore::default()
                    .fail(Op::ProxyRead, "denied")
                    .lock_taken_during_hold()
            }),
            Some("was taken from this run"),
            1,
        ),
        (
            "garbage written to ACCESS_TOKEN while the lock is held",
            Box::new(move |p| {
                MemoryStore::default()
                    .fail(Op::ProxyRead, "denied")
                    .written_during_hold(&access(p), "garbage")
            }),
            Some("ACCESS_TOKEN changed while this run held the proxy's refresh lock"),
            1,
        ),
    ];
    for (n, (case, store, fails, renewals)) in cases.into_iter().enumerate() {
        let prefix = format!("HANDOVER{n}_JIRA_CLOUD_");
        let store = Arc::new(store(&prefix));
        let ctx = context(Arc::new(ExpectPrompter::silent()), true);
        let _ = state_dir();
        let dyn_store: Arc<dyn SecretStore> = store.clone();
        let names = SecretNames::new(prefix.clone());
        let started = Instant::now();
        let result =
            save_secrets(&ctx, &dyn_store, &names, pending(&prefix), Keep::WriteAhead).await;
        match fails {
            None => {
                result.unwrap_or_else(|e| panic!("{case}: {e}"));
                if renewals > 0 {
                    assert!(
                        started.elapsed() >= Duration::from_millis(420),
                        "{case}: held past the cache ({:?})",
                        started.elapsed()
                    );
                }
            }
            Some(words) => {
                let err = result.err().unwrap_or_else(|| panic!("{case}: succeeded"));
                let Error::RecoverySaved(message) = &err else {
                    panic!("{case}: {err:?}");
                };
                assert!(message.contains(words), "{case}: {message}");
                assert!(message.contains("push --from"), "{case}: {message}");
            }
        }
        assert!(
            store.renewals() >= renewals,
            "{case}: {} renewals",
            store.renewals()
        );
        assert!(store.lock_held().is_none(), "{case}: the lock is released");
        let rt = names.name(SecretKey::RefreshToken);
        assert_eq!(store.value(&rt).as_deref(), Some("rt-new"), "{case}");
    }
}
