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
use crate::store::FamilyMetadata;
use secrecy::zeroize::{Zeroize, Zeroizing};

/// What a run was about to write.
pub struct Pending {
    pub prefix: String,
    pub values: Vec<(String, SecretString)>,
    pub meta: FamilyMetadata,
    /// A refresh lock this run took and could not release (its `locked_<ms>` time).
    pub own_lock_ms: Option<i64>,
    /// The store options of the run that saved it (`--store aws-ssm --aws-region ...`).
    pub store_flags: Vec<String>,
}

impl Pending {
    /// The store kind the tokens were meant for, if the file recorded it.
    pub fn store_kind(&self) -> Option<&str> {
        match self.store_flags.as_slice() {
            [flag, kind, ..] if flag == "--store" => Some(kind),
            _ => None,
        }
    }
}

/// The command that finishes the job from a recovery file, with the store options it needs.
pub fn push_command(path: &Path, store_flags: &[String]) -> String {
    let mut words = vec![
        "jira-psoxy-setup".to_string(),
        "push".into(),
        "--from".into(),
        path.display().to_string(),
    ];
    words.extend(store_flags.iter().cloned());
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
    #[serde(default)]
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
        store_flags: pending.store_flags.clone(),
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
        store_flags: file.store_flags,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_push_command_survives_a_shell() {
        let flags = ["--store", "file", "--file", "my secrets/it's.json"].map(String::from);
        let line = push_command(Path::new("/state/recovery-1.json"), &flags);
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
}
