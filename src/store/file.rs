//! The local file store: one JSON object mapping each full secret name to its value, mode 0600,
//! replaced atomically (write a temporary file beside it, then rename). For trying the tool and for
//! local proxy runs. Metadata (write times, the token family's issue date and site) lives under the
//! reserved key `_jira_psoxy_setup`, never mixed with the values.

use std::io::Write;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::*;
use crate::secret::ExposeSecret;

const META_KEY: &str = "_jira_psoxy_setup";

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

    fn load(&self) -> StoreResult<Map<String, Value>> {
        match std::fs::read_to_string(&self.path) {
            Ok(text) => match serde_json::from_str::<Value>(&text) {
                Ok(Value::Object(map)) => Ok(map),
                _ => Err(StoreError::Other(format!(
                    "{} is not a JSON object of secrets: fix or move it, then run again",
                    self.path.display()
                ))),
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Map::new()),
            Err(e) => Err(io_error(&self.path, "read", e)),
        }
    }

    /// Writes the whole map to a 0600 temporary file in the same directory, then renames it over.
    fn save(&self, map: &Map<String, Value>) -> StoreResult<()> {
        let dir = match self.path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let mut tmp = tempfile::Builder::new()
            .prefix(".jira-psoxy-setup")
            .tempfile_in(&dir)
            .map_err(|e| io_error(&dir, "write in", e))?;
        set_private(tmp.path())?;
        let text =
            serde_json::to_string_pretty(map).map_err(|e| StoreError::Other(e.to_string()))?;
        tmp.write_all(text.as_bytes())
            .map_err(|e| io_error(tmp.path(), "write", e))?;
        tmp.write_all(b"\n")
            .map_err(|e| io_error(tmp.path(), "write", e))?;
        tmp.as_file()
            .sync_all()
            .map_err(|e| io_error(tmp.path(), "write", e))?;
        tmp.persist(&self.path)
            .map_err(|e| io_error(&self.path, "replace", e.error))?;
        Ok(())
    }

    fn update(&self, change: impl FnOnce(&mut Map<String, Value>)) -> StoreResult<()> {
        let mut map = self.load()?;
        change(&mut map);
        self.save(&map)
    }
}

#[cfg(unix)]
fn set_private(path: &Path) -> StoreResult<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .map_err(|e| io_error(path, "protect", e))
}

#[cfg(not(unix))]
fn set_private(_path: &Path) -> StoreResult<()> {
    Ok(())
}

fn io_error(path: &Path, what: &str, e: std::io::Error) -> StoreError {
    let fix = if e.kind() == std::io::ErrorKind::PermissionDenied {
        "check its permissions or choose another --file"
    } else {
        "check the path or choose another --file"
    };
    StoreError::Other(format!("could not {what} {}: {e}: {fix}", path.display()))
}

fn parse_time(v: Option<&Value>) -> Option<DateTime<Utc>> {
    v.and_then(Value::as_str)
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
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
            .filter_map(|k| SecretNames::prefix_of(k))
            .collect())
    }

    async fn preflight(&self, names: &SecretNames) -> StoreResult<Preflight> {
        // Entries are created by writing them, so nothing is ever "missing"; but the file must be
        // readable JSON and writable, and its directory must exist.
        let _ = (self.load()?, names);
        if self.path.exists() {
            std::fs::OpenOptions::new()
                .append(true)
                .open(&self.path)
                .map_err(|e| io_error(&self.path, "write", e))?;
        } else {
            let dir = self
                .path
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            tempfile::tempfile_in(dir).map_err(|e| io_error(dir, "create files in", e))?;
        }
        Ok(Preflight::default())
    }

    async fn create_missing(&self, _names: &[String]) -> StoreResult<()> {
        Ok(()) // a file store entry is created by writing it
    }

    async fn read(&self, name: &str) -> StoreResult<Option<StoredSecret>> {
        let map = self.load()?;
        let updated_at = parse_time(
            map.get(META_KEY)
                .and_then(|m| m.get("written_at"))
                .and_then(|w| w.get(name)),
        );
        Ok(match map.get(name) {
            Some(Value::String(s)) => Some(StoredSecret {
                value: SecretString::from(s.clone()),
                updated_at,
            }),
            _ => None,
        })
    }

    async fn write(&self, name: &str, value: &SecretString) -> StoreResult<()> {
        self.write_all(&[(name.to_string(), value.clone())]).await
    }

    /// One atomic replace for all values: the file never holds half a deployment.
    async fn write_all(&self, items: &[(String, SecretString)]) -> StoreResult<()> {
        let now = Utc::now().to_rfc3339();
        self.update(|map| {
            for (name, value) in items {
                map.insert(
                    name.clone(),
                    Value::String(value.expose_secret().to_string()),
                );
            }
            let written = &mut map.entry(META_KEY).or_insert_with(|| json!({}))["written_at"];
            for (name, _) in items {
                written[name] = Value::String(now.clone());
            }
        })
    }

    async fn read_metadata(&self, names: &SecretNames) -> StoreResult<FamilyMetadata> {
        let map = self.load()?;
        let entry = map
            .get(META_KEY)
            .and_then(|m| m.get("families"))
            .and_then(|f| f.get(&names.prefix));
        let entry = entry
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        Ok(FamilyMetadata {
            issued_at: parse_time(entry.get("family_issued_at")),
            cloud_id: entry
                .get("cloud_id")
                .and_then(Value::as_str)
                .map(str::to_string),
        })
    }

    async fn write_metadata(&self, names: &SecretNames, meta: &FamilyMetadata) -> StoreResult<()> {
        self.update(|map| {
            #[allow(
                clippy::indexing_slicing,
                reason = "a `_jira_psoxy_setup` that is not an object panics here; the file store half of issue #13 replaces this"
            )]
            let entry =
                &mut map.entry(META_KEY).or_insert_with(|| json!({}))["families"][&names.prefix];
            if let Some(t) = meta.issued_at {
                entry["family_issued_at"] = Value::String(t.to_rfc3339());
            }
            if let Some(id) = &meta.cloud_id {
                entry["cloud_id"] = Value::String(id.clone());
            }
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
        let names = SecretNames::new(super::names::DEFAULT_PREFIX);
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
