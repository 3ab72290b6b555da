//! The store step (`save::save_secrets`): what reaches the store, what stays on disk, and what
//! happens to the proxy's refresh lock, for each way the store can fail.

use std::path::PathBuf;
use std::sync::Arc;

use crate::error::Error;
use crate::recovery::{self, Pending};
use crate::secret::{ExposeSecret, SecretString};
use crate::store::lock::now_ms;
use crate::store::{FamilyMetadata, SecretKey, SecretNames, SecretStore};
use crate::testing::{Answer, ExpectPrompter, MemoryStore, Op, context, state_dir};
use crate::wizard::save::{Keep, save_secrets};

const TAKE_OVER: &str = "take it over?";

fn pending(prefix: &str, own_lock_ms: Option<i64>) -> Pending {
    let names = SecretNames::new(prefix);
    Pending {
        prefix: prefix.into(),
        values: vec![
            (
                names.name(SecretKey::RefreshToken),
                SecretString::from("rt-new".to_string()),
            ),
            (
                names.name(SecretKey::AccessToken),
                crate::atlassian::proxy_token::ProxyAccessToken::new(
                    SecretString::from("at-new".to_string()),
                    chrono::Utc::now() + chrono::Duration::hours(1),
                )
                .to_secret(),
            ),
        ],
        meta: FamilyMetadata {
            issued_at: Some(chrono::Utc::now()),
            cloud_id: Some("cloud-1".into()),
        },
        own_lock_ms,
        target: None,
        connector: crate::connector::default(),
        writes: recovery::Writes::NotSent,
        expected: None,
    }
}

/// The recovery files in this test process's state directory that hold `prefix`'s tokens.
fn recovery_files(prefix: &str) -> Vec<PathBuf> {
    std::fs::read_dir(state_dir().join("jira-psoxy-setup"))
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| recovery::load(p).is_ok_and(|kept| kept.prefix == prefix))
        .collect()
}

enum Expect {
    /// Stored and read back; the write-ahead copy removed.
    Stored,
    /// A `RecoverySaved` error whose message contains this; the tokens in the recovery file.
    Recovery(&'static str),
}

#[tokio::test]
async fn each_store_failure_keeps_the_tokens_and_releases_the_lock() {
    let stale = now_ms() - 10 * 60 * 1000;
    // (case, the store, the run's own lock from an earlier run, questions, outcome, lock left held?)
    let cases: Vec<(
        &str,
        MemoryStore,
        Option<i64>,
        Vec<(&str, Answer)>,
        Expect,
        bool,
    )> = vec![
        (
            "healthy",
            MemoryStore::default(),
            None,
            vec![],
            Expect::Stored,
            false,
        ),
        (
            "write fails",
            MemoryStore::default().fail(Op::Write, "PutParameter denied"),
            None,
            vec![],
            Expect::Recovery("PutParameter denied"),
            false,
        ),
        (
            "read-back differs",
            MemoryStore::default().reading_back("CASE2_JIRA_CLOUD_ACCESS_TOKEN", "at-old"),
            None,
            vec![],
            Expect::Recovery("did not read back as written"),
            false,
        ),
        (
            "unlock fails",
            MemoryStore::default().fail(Op::Unlock, "unlock denied"),
            None,
            vec![],
            Expect::Stored,
            true,
        ),
        (
            "lock cannot be tried",
            MemoryStore::default().fail(Op::TryLock, "lock denied"),
            None,
            vec![],
            Expect::Recovery("lock denied"),
            false,
        ),
        (
            "stale lock taken over",
            MemoryStore::default().locked_since(stale),
            None,
            vec![(TAKE_OVER, Answer::Confirm(true))],
            Expect::Stored,
            false,
        ),
        (
            "stale lock left alone",
            MemoryStore::default().locked_since(stale),
            None,
            vec![(TAKE_OVER, Answer::Confirm(false))],
            Expect::Recovery("is held: run again"),
            true,
        ),
        (
            "our own lock taken back without a question",
            MemoryStore::default().locked_since(now_ms() - 1000),
            Some(now_ms() - 1000),
            vec![],
            Expect::Stored,
            false,
        ),
        (
            "metadata fails after the read-back",
            MemoryStore::default().fail(Op::WriteMetadata, "tagging denied"),
            None,
            vec![],
            Expect::Stored,
            false,
        ),
        (
            "read-back finds nothing for a value the store accepted",
            MemoryStore::default().reading_back_nothing("CASE9_JIRA_CLOUD_ACCESS_TOKEN"),
            None,
            vec![],
            Expect::Recovery("did not read back as written"),
            false,
        ),
    ];
    for (n, (case, store, own_lock, script, expect, lock_left)) in cases.into_iter().enumerate() {
        let prefix = format!("CASE{n}_JIRA_CLOUD_");
        let mut pending = pending(&prefix, None);
        // The earlier run's lock is the one the store holds.
        pending.own_lock_ms = own_lock.and(store.lock_held());
        let store = Arc::new(store);
        let prompter = Arc::new(ExpectPrompter::new(&script));
        let ctx = context(prompter.clone(), true);
        let _ = state_dir();
        let dyn_store: Arc<dyn SecretStore> = store.clone();
        let names = SecretNames::new(prefix.clone());
        let result =
            save_secrets(&ctx, &dyn_store, &names, pending.clone(), Keep::WriteAhead).await;
        prompter.assert_done();
        let kept = recovery_files(&prefix);
        match expect {
            Expect::Stored => {
                result.unwrap_or_else(|e| panic!("{case}: {e}"));
                for (name, value) in &pending.values {
                    assert_eq!(
                        store.value(name).as_deref(),
                        Some(value.expose_secret()),
                        "{case}"
                    );
                }
                assert!(
                    kept.is_empty(),
                    "{case}: the write-ahead copy is removed: {kept:?}"
                );
            }
            Expect::Recovery(why) => {
                let err = result.err().unwrap_or_else(|| panic!("{case}: stored"));
                let Error::RecoverySaved(message) = &err else {
                    panic!("{case}: {err:?}");
                };
                assert!(message.contains(why), "{case}: {message}");
                assert!(message.contains("push --from"), "{case}: {message}");
                let [file] = kept.as_slice() else {
                    panic!("{case}: one recovery file, found {kept:?}");
                };
                let saved = recovery::load(file).unwrap();
                let refresh = names.name(SecretKey::RefreshToken);
                let kept_refresh = saved.values.iter().find(|(n, _)| *n == refresh);
                assert_eq!(saved.values.len(), 2, "{case}");
                assert_eq!(
                    kept_refresh.map(|(_, v)| v.expose_secret()),
                    Some("rt-new"),
                    "{case}"
                );
            }
        }
        assert_eq!(store.lock_held().is_some(), lock_left, "{case}: the lock");
    }
}

/// The lock this run could not release goes into the recovery file, so `push` takes it back at
/// once instead of waiting the lease out.
#[tokio::test]
async fn a_lock_left_behind_is_recorded_in_the_recovery_file() {
    let prefix = "LEFT_JIRA_CLOUD_";
    let store = Arc::new(
        MemoryStore::default()
            .fail(Op::Write, "throttled for good")
            .fail(Op::Unlock, "unlock denied"),
    );
    let ctx = context(Arc::new(ExpectPrompter::silent()), true);
    let _ = state_dir();
    let dyn_store: Arc<dyn SecretStore> = store.clone();
    let names = SecretNames::new(prefix);
    let err = save_secrets(
        &ctx,
        &dyn_store,
        &names,
        pending(prefix, None),
        Keep::WriteAhead,
    )
    .await
    .unwrap_err();
    assert!(matches!(err, Error::RecoverySaved(_)), "{err:?}");
    let kept = recovery_files(prefix);
    let [file] = kept.as_slice() else {
        panic!("one recovery file, found {kept:?}");
    };
    let held = store.lock_held().expect("the lock could not be released");
    assert_eq!(recovery::load(file).unwrap().own_lock_ms, Some(held));
}
