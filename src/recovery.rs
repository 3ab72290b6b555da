//! The recovery file: when a store write fails after tokens were minted, the secrets go to a file
//! only the user can read (0600, in a 0700 directory), so `push --from FILE` can finish the job.
//! A fresh refresh token is never lost.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::secret::{ExposeSecret, SecretString};
use crate::store::{FamilyMetadata, StoreTarget};
use secrecy::zeroize::{Zeroize, Zeroizing};

/// What a run was about to write.
pub struct Pending {
    pub prefix: String,
    pub values: Vec<(String, SecretString)>,
    pub meta: FamilyMetadata,
    /// A refresh lock this run took and could not release (its `locked_<ms>` time).
    pub own_lock_ms: Option<i64>,
    /// The store the run was writing to, if known.
    pub target: Option<StoreTarget>,
}

/// The command that finishes the job from a recovery file, with the store options it needs.
pub fn push_command(path: &Path, target: Option<&StoreTarget>) -> String {
    let mut words = vec![
        "jira-psoxy-setup".to_string(),
        "push".into(),
        "--from".into(),
        path.display().to_string(),
    ];
    words.extend(target.map(StoreTarget::flags).unwrap_or_default());
    shell_line(&words)
}

/// Words as one line a POSIX shell splits back into the same words.
pub fn shell_line(words: &[String]) -> String {
    words
        .iter()
        .map(|w| shell_quote(w))
        .collect::<Vec<_>>()
        .join(" ")
}

/// A word as a POSIX shell reads it back unchanged.
fn shell_quote(word: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "_-./:=@%+,".contains(c);
    if !word.is_empty() && word.chars().all(plain) {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

#[derive(Serialize, Deserialize)]
struct RecoveryFile {
    version: u32,
    created_at: DateTime<Utc>,
    prefix: String,
    #[serde(default)]
    family_issued_at: Option<DateTime<Utc>>,
    #[serde(default)]
    cloud_id: Option<String>,
    secrets: BTreeMap<String, String>,
    #[serde(default)]
    own_lock_ms: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    store: Option<StoreTarget>,
    /// How earlier versions recorded the store (`--store aws-ssm --aws-region ...`): read only.
    #[serde(default, skip_serializing)]
    store_flags: Vec<String>,
}

/// `$XDG_STATE_HOME/jira-psoxy-setup`, else `~/.local/state/jira-psoxy-setup`; none without a
/// home.
pub fn directory() -> Option<PathBuf> {
    crate::user_dirs::app_dir("XDG_STATE_HOME", ".local/state")
}

/// Saves the values where only this user can read them: the state directory, else (no home, or
/// it cannot be written) a fresh private directory in the temp dir. Only if both fail are the
/// tokens lost, and the error says so.
pub fn save(pending: &Pending) -> Result<PathBuf> {
    let mut file = RecoveryFile {
        version: 1,
        created_at: Utc::now(),
        prefix: pending.prefix.clone(),
        family_issued_at: pending.meta.issued_at,
        cloud_id: pending.meta.cloud_id.clone(),
        own_lock_ms: pending.own_lock_ms,
        store: pending.target.clone(),
        store_flags: Vec::new(),
        secrets: pending
            .values
            .iter()
            .map(|(k, v)| (k.clone(), v.expose_secret().to_string()))
            .collect(),
    };
    // Both copies of the values are wiped once written (secrecy's zeroize).
    let text = Zeroizing::new(
        serde_json::to_string_pretty(&file).map_err(|e| Error::Internal(e.to_string()))?,
    );
    file.secrets.values_mut().for_each(Zeroize::zeroize);
    let mut failures = Vec::new();
    if let Some(dir) = directory() {
        match create_private_dir(&dir).and_then(|_| write_new(&dir, &text)) {
            Ok(path) => return Ok(path),
            Err(e) => failures.push(format!("{}: {e}", dir.display())),
        }
    }
    // Never a fixed path in the temp dir, which somebody else could have made first.
    match private_temp_dir().and_then(|d| write_new(&d.keep(), &text)) {
        Ok(path) => Ok(path),
        Err(e) => {
            failures.push(format!("{}: {e}", std::env::temp_dir().display()));
            Err(Error::Internal(format!(
                "could not save the recovery file ({}): the new tokens could not be kept; fix the store, then run again",
                failures.join("; ")
            )))
        }
    }
}

fn write_new(dir: &Path, text: &str) -> std::io::Result<PathBuf> {
    let path = dir.join(format!(
        "recovery-{}.json",
        Utc::now().format("%Y%m%dT%H%M%S%.3fZ")
    ));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut f = options.open(&path)?;
    f.write_all(text.as_bytes()).and_then(|_| f.sync_all())?;
    Ok(path)
}

fn private_temp_dir() -> std::io::Result<tempfile::TempDir> {
    let mut builder = tempfile::Builder::new();
    builder.prefix("jira-psoxy-setup-recovery-");
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o700));
    builder.tempdir()
}

fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

pub fn load(path: &Path) -> Result<Pending> {
    let text = Zeroizing::new(std::fs::read_to_string(path).map_err(|e| {
        Error::Input(format!(
            "cannot read the recovery file {}: {e}: check --from",
            path.display()
        ))
    })?);
    let file: RecoveryFile = serde_json::from_str(&text).map_err(|_| {
        Error::Input(format!(
            "{} is not a jira-psoxy-setup recovery file: check --from",
            path.display()
        ))
    })?;
    Ok(Pending {
        prefix: file.prefix,
        values: file
            .secrets
            .into_iter()
            .map(|(k, v)| (k, SecretString::from(v)))
            .collect(),
        meta: FamilyMetadata {
            issued_at: file.family_issued_at,
            cloud_id: file.cloud_id,
        },
        own_lock_ms: file.own_lock_ms,
        target: stored_target(path, file.store, &file.store_flags)?,
    })
}

/// The file's store: recorded as data, or as flags by earlier versions.
fn stored_target(
    path: &Path,
    store: Option<StoreTarget>,
    legacy_flags: &[String],
) -> Result<Option<StoreTarget>> {
    if store.is_some() || legacy_flags.is_empty() {
        return Ok(store);
    }
    StoreTarget::from_legacy_flags(legacy_flags)
        .map(Some)
        .map_err(|why| {
            Error::Input(format!(
                "{} records store options that do not parse ({why}): edit its store_flags to valid options",
                path.display()
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_push_command_survives_a_shell() {
        let target = StoreTarget::File {
            path: "my secrets/it's.json".into(),
        };
        let line = push_command(Path::new("/state/recovery-1.json"), Some(&target));
        assert_eq!(
            line,
            r#"jira-psoxy-setup push --from /state/recovery-1.json --store file --file 'my secrets/it'\''s.json'"#
        );
        let parsed = std::process::Command::new("sh")
            .args(["-c", &format!("printf '%s\\n' {line}")])
            .output()
            .unwrap();
        let words: Vec<&str> = std::str::from_utf8(&parsed.stdout)
            .unwrap()
            .lines()
            .collect();
        assert_eq!(words[words.len() - 1], "my secrets/it's.json");
    }

    /// A file exactly as the version with `store_flags` wrote it.
    #[test]
    fn a_recovery_file_in_the_flags_format_still_loads() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("recovery-20261128T101500.123Z.json");
        let old = r#"{
  "version": 1,
  "created_at": "2026-11-28T10:15:00.123Z",
  "prefix": "/p/ACME_JIRA_CLOUD_",
  "family_issued_at": "2026-11-28T10:14:58.001Z",
  "cloud_id": "a1b2c3d4-0000-1111-2222-333344445555",
  "secrets": {
    "/p/ACME_JIRA_CLOUD_REFRESH_TOKEN": "rt-1"
  },
  "own_lock_ms": 1795860898001,
  "store_flags": [
    "--store",
    "aws-ssm",
    "--aws-region",
    "eu-west-1",
    "--kms-key-id",
    "alias/psoxy"
  ]
}"#;
        std::fs::write(&path, old).unwrap();
        let pending = load(&path).unwrap();
        let expected = StoreTarget::AwsSsm(crate::store::target::AwsTarget {
            region: Some("eu-west-1".into()),
            kms_key_id: Some("alias/psoxy".into()),
            ..Default::default()
        });
        assert_eq!(pending.target, Some(expected));
        assert_eq!(pending.prefix, "/p/ACME_JIRA_CLOUD_");
        assert_eq!(pending.own_lock_ms, Some(1_795_860_898_001));
        assert_eq!(pending.values.len(), 1);
        assert_eq!(pending.values[0].1.expose_secret(), "rt-1");

        let without_store = old.replace(r#""store_flags""#, r#""ignored""#);
        std::fs::write(&path, without_store).unwrap();
        assert_eq!(load(&path).unwrap().target, None);
    }
}
