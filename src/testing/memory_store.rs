//! An in-memory `SecretStore` with injectable failures per method, and values it reads back
//! other than those written (a stale or truncated read-back).

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use async_trait::async_trait;

use crate::secret::{ExposeSecret, SecretString};
use crate::store::{
    FamilyMetadata, LockAttempt, Preflight, SecretNames, SecretStore, StoreError, StoreResult,
    StoredSecret,
};

/// The store's methods, for injecting a failure into one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    Discover,
    Preflight,
    Read,
    Write,
    ReadMetadata,
    WriteMetadata,
    TryLock,
    Unlock,
    /// `renew_lock`.
    RenewLock,
    /// `proxy_access_token_candidates`: the proxy's own read.
    ProxyRead,
}

#[derive(Default)]
pub struct MemoryStore {
    values: Mutex<BTreeMap<String, String>>,
    /// What `read` answers for a name instead of what was written (`None`: nothing).
    read_back: Mutex<HashMap<String, Option<String>>>,
    failures: Mutex<HashMap<Op, String>>,
    meta: Mutex<FamilyMetadata>,
    lock: Mutex<Option<i64>>,
    prefixes: Mutex<Vec<String>>,
    writes: Mutex<usize>,
    /// What happens at the next `renew_lock`: somebody writes this name (ignoring the lock),
    /// or takes the lock (`None` value).
    on_renew: Mutex<Option<(String, Option<String>)>>,
    renewals: Mutex<usize>,
}

impl MemoryStore {
    /// Every call of `op` fails with a (not retryable) store error saying `why`.
    pub fn fail(self, op: Op, why: &str) -> Self {
        self.failures.lock().unwrap().insert(op, why.to_string());
        self
    }

    pub fn holding(self, name: &str, value: &str) -> Self {
        self.values
            .lock()
            .unwrap()
            .insert(name.to_string(), value.to_string());
        self
    }

    /// At the first lock renewal, `name` is overwritten with `value` by a writer that ignores
    /// the lock.
    pub fn written_during_hold(self, name: &str, value: &str) -> Self {
        *self.on_renew.lock().unwrap() = Some((name.to_string(), Some(value.to_string())));
        self
    }

    /// At the first lock renewal, the lock turns out taken by somebody else.
    pub fn lock_taken_during_hold(self) -> Self {
        *self.on_renew.lock().unwrap() = Some((String::new(), None));
        self
    }

    pub fn renewals(&self) -> usize {
        *self.renewals.lock().unwrap()
    }

    /// `read(name)` answers `value` whatever was written.
    pub fn reading_back(self, name: &str, value: &str) -> Self {
        self.read_back
            .lock()
            .unwrap()
            .insert(name.to_string(), Some(value.to_string()));
        self
    }

    /// `read(name)` answers that there is no such secret, whatever was written.
    pub fn reading_back_nothing(self, name: &str) -> Self {
        self.read_back
            .lock()
            .unwrap()
            .insert(name.to_string(), None);
        self
    }

    pub fn with_prefixes(self, prefixes: &[&str]) -> Self {
        *self.prefixes.lock().unwrap() = prefixes.iter().map(|p| p.to_string()).collect();
        self
    }

    /// The refresh lock, held since `since` (epoch ms).
    pub fn locked_since(self, since: i64) -> Self {
        *self.lock.lock().unwrap() = Some(since);
        self
    }

    pub fn value(&self, name: &str) -> Option<String> {
        self.values.lock().unwrap().get(name).cloned()
    }

    pub fn lock_held(&self) -> Option<i64> {
        *self.lock.lock().unwrap()
    }

    pub fn writes(&self) -> usize {
        *self.writes.lock().unwrap()
    }

    pub fn metadata(&self) -> FamilyMetadata {
        self.meta.lock().unwrap().clone()
    }

    fn check(&self, op: Op) -> StoreResult<()> {
        match self.failures.lock().unwrap().get(&op) {
            Some(why) => Err(StoreError::Other(why.clone())),
            None => Ok(()),
        }
    }
}

#[async_trait]
impl SecretStore for MemoryStore {
    fn describe(&self) -> String {
        "memory".into()
    }

    async fn discover_prefixes(&self) -> StoreResult<Vec<String>> {
        self.check(Op::Discover)?;
        Ok(self.prefixes.lock().unwrap().clone())
    }

    async fn preflight(&self, _names: &SecretNames) -> StoreResult<Preflight> {
        self.check(Op::Preflight)?;
        Ok(Preflight::default())
    }

    async fn create_missing(&self, _names: &[String]) -> StoreResult<()> {
        Ok(())
    }

    async fn read(&self, name: &str) -> StoreResult<Option<StoredSecret>> {
        self.check(Op::Read)?;
        let value = match self.read_back.lock().unwrap().get(name) {
            Some(other) => other.clone(),
            None => self.value(name),
        };
        Ok(value.map(|v| StoredSecret {
            value: SecretString::from(v),
            updated_at: None,
        }))
    }

    async fn write(&self, name: &str, value: &SecretString) -> StoreResult<()> {
        self.check(Op::Write)?;
        *self.writes.lock().unwrap() += 1;
        self.values
            .lock()
            .unwrap()
            .insert(name.to_string(), value.expose_secret().to_string());
        Ok(())
    }

    async fn read_metadata(&self, _names: &SecretNames) -> StoreResult<FamilyMetadata> {
        self.check(Op::ReadMetadata)?;
        Ok(self.metadata())
    }

    async fn write_metadata(&self, _names: &SecretNames, meta: &FamilyMetadata) -> StoreResult<()> {
        self.check(Op::WriteMetadata)?;
        *self.meta.lock().unwrap() = meta.clone();
        Ok(())
    }

    async fn try_lock(
        &self,
        _names: &SecretNames,
        now_ms: i64,
        take_over: bool,
    ) -> StoreResult<LockAttempt> {
        self.check(Op::TryLock)?;
        let mut lock = self.lock.lock().unwrap();
        match *lock {
            Some(since) if !take_over => Ok(LockAttempt::HeldSince(since)),
            _ => {
                *lock = Some(now_ms);
                Ok(LockAttempt::Acquired)
            }
        }
    }

    async fn renew_lock(&self, _names: &SecretNames, now_ms: i64) -> StoreResult<Option<i64>> {
        self.check(Op::RenewLock)?;
        *self.renewals.lock().unwrap() += 1;
        match self.on_renew.lock().unwrap().take() {
            Some((name, Some(value))) => {
                self.values.lock().unwrap().insert(name, value);
            }
            Some((_, None)) => return Ok(None),
            None => {}
        }
        let mut lock = self.lock.lock().unwrap();
        Ok(match *lock {
            Some(_) => {
                *lock = Some(now_ms);
                Some(now_ms)
            }
            None => None,
        })
    }

    async fn proxy_access_token_candidates(
        &self,
        names: &SecretNames,
    ) -> StoreResult<Vec<SecretString>> {
        self.check(Op::ProxyRead)?;
        let name = names.name(crate::store::SecretKey::AccessToken);
        Ok(self
            .read(&name)
            .await?
            .map(|s| s.value)
            .into_iter()
            .collect())
    }

    async fn unlock(&self, _names: &SecretNames) -> StoreResult<()> {
        self.check(Op::Unlock)?;
        *self.lock.lock().unwrap() = None;
        Ok(())
    }
}
