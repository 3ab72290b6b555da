//! The local file store: one JSON object mapping each full secret name to its value, replaced
//! atomically (write a temporary file beside it, then rename) under an exclusive OS lock, so
//! concurrent runs take turns. For trying the tool and for local proxy runs. Metadata (write
//! times, the token family's issue date and site) lives under the reserved key
//! `_jira_psoxy_setup`, never mixed with the values. A symlinked `--file` is followed to its
//! target; the file keeps its owner, group and mode (a new one is 0600); see `local_file`.

use std::io::Write;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use chrono::{DateTime, Utc};

mod target;

pub use target::{DEFAULT_SECRETS_FILE, FileArgs, FileTarget, KIND};

use super::file_doc::{Document, Family};
use super::*;
use crate::local_file::{self, LOCK_WAIT, UpdateLock};
use crate::secret::ExposeSecret;

pub struct FileStore {
    path: PathBuf,
    /// The `locked_<ms>` this store wrote, per lock file: unlock removes only a lock still ours.
    held: std::sync::Mutex<std::collections::HashMap<PathBuf, String>>,
}

impl FileStore {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        FileStore {
            path: path.into(),
            held: Default::default(),
        }
    }

    fn lock_path(&self, names: &SecretNames) -> PathBuf {
        let file = self
            .path
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default();
        let lock = format!(".{file}.{}_lock", names.lock_name().replace('/', "_"));
        self.path.with_file_name(lock)
    }

    /// The file that holds the secrets: `--file`, or the end of its symlink chain.
    fn target(&self) -> StoreResult<PathBuf> {
        local_file::target(&self.path).map_err(StoreError::Other)
    }

    fn load_from(&self, target: &Path) -> StoreResult<Document> {
        match local_file::read(target).map_err(StoreError::Other)? {
            None => Ok(Document::default()),
            Some(text) => Document::parse(&text).map_err(|why| {
                StoreError::Other(format!(
                    "{} is not a file of secrets this tool can update ({why}): fix or move it, then run again",
                    self.path.display()
                ))
            }),
        }
    }

    fn load(&self) -> StoreResult<Document> {
        self.load_from(&self.target()?)
    }

    /// Reads, changes and replaces the file while holding its exclusive lock.
    fn update(&self, change: impl FnOnce(&mut Document) -> Result<(), String>) -> StoreResult<()> {
        let target = self.target()?;
        let _lock = UpdateLock::acquire(&target, LOCK_WAIT).map_err(StoreError::Other)?;
        let mut doc = self.load_from(&target)?;
        change(&mut doc).map_err(StoreError::Other)?;
        let text = doc.to_text().map_err(StoreError::Other)?;
        local_file::replace(&target, text.as_bytes()).map_err(StoreError::Other)
    }
}

fn io_error(path: &Path, what: &str, e: std::io::Error) -> StoreError {
    let fix = if e.kind() == std::io::ErrorKind::PermissionDenied {
        "check its permissions or choose another --file"
    } else {
        "check the path or choose another --file"
    };
    StoreError::Other(format!("could not {what} {}: {e}: {fix}", path.display()))
}

/// An existing file keeps its mode when replaced; one others can read is said (it was not made
/// by this tool, which creates 0600).
fn exposure(path: &Path) -> Option<String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let mode = std::fs::metadata(path).ok()?.mode() & 0o7777;
        (mode & 0o077 != 0).then(|| {
            format!(
                "{} is open to other users (mode {mode:04o}) and keeps its mode: the secrets in it are too; `chmod 600` it unless the proxy's user needs it",
                path.display()
            )
        })
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

fn parse_time(v: Option<&String>) -> Option<DateTime<Utc>> {
    v.and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|d| d.with_timezone(&Utc))
}

#[async_trait]
impl SecretStore for FileStore {
    fn lock_location(&self, names: &SecretNames) -> String {
        self.lock_path(names).display().to_string()
    }

    fn describe(&self) -> String {
        format!("file {}", self.path.display())
    }

    async fn discover_prefixes(&self) -> StoreResult<Vec<String>> {
        Ok(self
            .load()?
            .keys()
            .filter_map(SecretNames::prefix_of)
            .collect())
    }

    /// Entries are created by writing them, so nothing is ever "missing"; but the file must be
    /// a regular file this tool can parse, and it must be replaceable: a file created in its
    /// directory and given its owner (tried for real, so it holds for root too).
    async fn preflight(&self, names: &SecretNames) -> StoreResult<Preflight> {
        let _ = names;
        let target = self.target()?;
        self.load_from(&target)?;
        local_file::check_replaceable(&target, "--file").map_err(StoreError::Other)?;
        Ok(Preflight {
            warnings: exposure(&target).into_iter().collect(),
            ..Preflight::default()
        })
    }

    async fn create_missing(&self, _names: &[String]) -> StoreResult<()> {
        Ok(()) // a file store entry is created by writing it
    }

    async fn read(&self, name: &str) -> StoreResult<Option<StoredSecret>> {
        let doc = self.load()?;
        let updated_at = parse_time(doc.meta.written_at.get(name));
        Ok(doc.string(name).map(|s| StoredSecret {
            value: SecretString::from(s),
            updated_at,
        }))
    }

    async fn write(&self, name: &str, value: &SecretString) -> StoreResult<()> {
        self.write_all(&[(name.to_string(), value.clone())]).await
    }

    /// One atomic replace for all values: the file never holds half a deployment.
    async fn write_all(&self, items: &[(String, SecretString)]) -> StoreResult<()> {
        let now = Utc::now().to_rfc3339();
        self.update(|doc| {
            for (name, value) in items {
                doc.set_string(name, value.expose_secret())?;
                doc.meta.written_at.insert(name.clone(), now.clone());
            }
            Ok(())
        })
    }

    async fn read_metadata(&self, names: &SecretNames) -> StoreResult<FamilyMetadata> {
        let doc = self.load()?;
        let family = doc.meta.families.get(&names.prefix);
        Ok(FamilyMetadata {
            issued_at: parse_time(family.and_then(|f| f.family_issued_at.as_ref())),
            cloud_id: family.and_then(|f| f.cloud_id.clone()),
        })
    }

    async fn write_metadata(&self, names: &SecretNames, meta: &FamilyMetadata) -> StoreResult<()> {
        self.update(|doc| {
            let family: &mut Family = doc.meta.families.entry(names.prefix.clone()).or_default();
            if let Some(t) = meta.issued_at {
                family.family_issued_at = Some(t.to_rfc3339());
            }
            if let Some(id) = &meta.cloud_id {
                family.cloud_id = Some(id.clone());
            }
            Ok(())
        })
    }

    async fn try_lock(
        &self,
        names: &SecretNames,
        now_ms: i64,
        take_over: bool,
    ) -> StoreResult<LockAttempt> {
        let path = self.lock_path(names);
        if take_over {
            let _ = std::fs::remove_file(&path);
        }
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(mut f) => {
                let value = format!("locked_{now_ms}");
                if let Err(e) = f.write_all(value.as_bytes()) {
                    // An empty lock would read as ancient and be offered for take-over.
                    let _ = std::fs::remove_file(&path);
                    return Err(io_error(&path, "write", e));
                }
                self.held
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(path, value);
                Ok(LockAttempt::Acquired)
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let text = std::fs::read_to_string(&path).unwrap_or_default();
                let since = text
                    .trim()
                    .strip_prefix("locked_")
                    .and_then(|t| t.parse().ok())
                    .unwrap_or(0);
                Ok(LockAttempt::HeldSince(since))
            }
            Err(e) => Err(io_error(&path, "create", e)),
        }
    }

    /// Rewrites our lock file with a new time, starting its lease over; `None` when it is not
    /// ours any more.
    async fn renew_lock(&self, names: &SecretNames, now_ms: i64) -> StoreResult<Option<i64>> {
        let path = self.lock_path(names);
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        let Some(ours) = held.get(&path).cloned() else {
            return Ok(None);
        };
        match std::fs::read_to_string(&path) {
            Ok(text) if text.trim() == ours => {}
            Ok(_) => return Ok(None),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_error(&path, "read", e)),
        }
        let value = format!("locked_{now_ms}");
        std::fs::write(&path, &value).map_err(|e| io_error(&path, "write", e))?;
        held.insert(path, value);
        Ok(Some(now_ms))
    }

    /// Removes the lock if it is still the one this store took; one taken over meanwhile (it
    /// went stale) belongs to somebody else and is left alone.
    async fn unlock(&self, names: &SecretNames) -> StoreResult<()> {
        let path = self.lock_path(names);
        let ours = self
            .held
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&path);
        let current = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(io_error(&path, "read", e)),
        };
        if ours.as_deref() != Some(current.trim()) {
            tracing::warn!(
                "the refresh lock {} is not ours: leaving it",
                path.display()
            );
            return Ok(());
        }
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io_error(&path, "remove", e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn unlock_removes_only_a_lock_still_ours() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileStore::new(dir.path().join("secrets.json"));
        let names = SecretNames::new(super::names::default_prefix("JIRA_CLOUD_"));
        let lock = store.lock_path(&names);

        assert_eq!(
            store.try_lock(&names, 1, false).await.unwrap(),
            LockAttempt::Acquired
        );
        store.unlock(&names).await.unwrap();
        assert!(!lock.exists(), "our own lock is removed");

        // Ours went stale and somebody else took it over: theirs stays.
        store.try_lock(&names, 2, false).await.unwrap();
        std::fs::write(&lock, "locked_3").unwrap();
        store.unlock(&names).await.unwrap();
        assert_eq!(std::fs::read_to_string(&lock).unwrap(), "locked_3");
    }
}
