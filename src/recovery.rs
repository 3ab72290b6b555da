//! The recovery file: before the first store write after tokens were minted, the secrets go to a
//! file only the user can read (0600, in a 0700 directory), the way a database writes ahead; it is
//! removed once the store reads them back. Whatever ends the run from then on (an error, a
//! signal, a panic, kill -9, power loss), `push --from FILE` can finish the job. Before that
//! point (the exchange, scopes, site and user checks) the new family exists only in memory: a
//! signal or panic still saves it (`interrupt`), a kill -9 loses it, and an ordinary error drops
//! it on purpose (the store was never touched, and the old family keeps working).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::secret::ExposeSecret;
use crate::secret::SecretString;
use crate::store::{FamilyMetadata, StoreTarget};
use secrecy::zeroize::{Zeroize, Zeroizing};

mod leftovers;
mod live;
mod load;
pub mod verdict;

pub use leftovers::{Leftover, leftovers, review_leftovers};
pub use load::{MAX_BYTES, load, open_for_push};
pub use verdict::{StoreState, Verdict};

/// The file format this version writes; 1 is still read (it did not record its writes).
const VERSION: u32 = 2;

/// What a run was about to write.
#[derive(Clone)]
pub struct Pending {
    pub prefix: String,
    pub values: Vec<(String, SecretString)>,
    pub meta: FamilyMetadata,
    /// A refresh lock this run took and could not release (its `locked_<ms>` time).
    pub own_lock_ms: Option<i64>,
    /// The store the run was writing to, if known.
    pub target: Option<StoreTarget>,
    /// Whose secrets these are (files from before the choice: Jira Cloud).
    pub connector: &'static crate::connector::Connector,
    /// Whether the run sent these values to the store, and what the store held just before.
    pub writes: Writes,
    /// `push`: what the store must still hold once the lock is taken (else it changed since
    /// the push looked at it, and the push stops). Never saved.
    pub expected: Option<StoreState>,
}

/// Whether a run's writes may have reached the store: what `push` needs to know before it
/// writes a file's values (a spent refresh token written back kills the family).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Writes {
    /// Recorded before the first write: the store never saw these values.
    NotSent,
    /// The run was about to write (or wrote); the store held this just before. Its handover to
    /// the running proxy did not finish: a proxy cache may still hold the old refresh token.
    Sent(StoreState),
    /// As `Sent`, and the run finished handing the values over to the running proxy
    /// (psoxy-contract §8): all that was left was the unlock.
    HandedOver(StoreState),
    /// A file from a version that did not record it.
    Unknown,
}

impl Pending {
    /// Whether these tokens were meant for `prefix` in the store `target` names (a file that
    /// recorded no store is taken to be for any). Per-run switches do not count.
    pub fn is_for(&self, prefix: &str, target: Option<&StoreTarget>) -> bool {
        self.prefix == prefix
            && match (&self.target, target) {
                (Some(theirs), Some(ours)) => theirs.remembered() == ours.remembered(),
                _ => true,
            }
    }
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
#[serde(deny_unknown_fields)]
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
    #[serde(
        with = "crate::connector::serde_id",
        default = "crate::connector::default"
    )]
    connector: &'static crate::connector::Connector,
    /// Version 2: whether the values were sent to the store.
    #[serde(default)]
    writes_sent: Option<bool>,
    /// Version 2: when they were sent, what the store held just before (dates, never values).
    #[serde(default)]
    store_before: Option<StoreState>,
    /// Whether the run finished its handover to the running proxy (only with `writes_sent`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    handed_over: bool,
}

/// `$XDG_STATE_HOME/jira-psoxy-setup`, else `~/.local/state/jira-psoxy-setup`; none without a
/// home.
pub fn directory() -> Option<PathBuf> {
    crate::user_dirs::app_dir("XDG_STATE_HOME", ".local/state")
}

/// Saves the values where only this user can read them: the state directory, else (no home, or
/// it cannot be used) a fresh private directory in the temp dir. Only if both fail are the
/// tokens lost, and the error says so (`Error::RecoveryFailed`).
pub fn save(pending: &Pending) -> Result<PathBuf> {
    let text = to_text(pending)?;
    let mut failures = Vec::new();
    if let Some(dir) = directory() {
        match private_dir(&dir).and_then(|_| write_new(&dir, &text)) {
            Ok(path) => return Ok(path),
            Err(e) => failures.push(format!("{}: {e}", dir.display())),
        }
    }
    // Never a fixed path in the temp dir, which somebody else could have made first.
    match private_temp_dir().and_then(|d| write_new(&d.keep(), &text)) {
        Ok(path) => Ok(path),
        Err(e) => {
            failures.push(format!("{}: {e}", std::env::temp_dir().display()));
            Err(Error::RecoveryFailed(format!(
                "could not save the recovery file ({}): the new tokens could not be kept",
                failures.join("; ")
            )))
        }
    }
}

/// Records in the recovery file at `path` what the run now holds and does: the refresh lock
/// (so that if the run dies holding it, kill -9, `push` takes it back at once instead of waiting
/// it out) and, before the first write, that the values are being sent and what the store held
/// then. The file is replaced atomically (at every moment it holds the whole family) and stays
/// locked for the run's lifetime.
pub fn record(path: &Path, pending: &Pending) -> Result<()> {
    let text = to_text(pending)?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let replace = || -> std::io::Result<()> {
        // tempfile creates it 0600.
        let mut tmp = tempfile::Builder::new()
            .prefix(".recovery-")
            .tempfile_in(dir)?;
        live::claim(tmp.as_file())?;
        tmp.write_all(text.as_bytes())?;
        tmp.as_file().sync_all()?;
        let file = tmp.persist(path).map_err(|e| e.error)?;
        live::hold(file);
        Ok(())
    };
    replace()
        .map_err(|e| Error::RecoveryFailed(format!("could not update {}: {e}", path.display())))
}

/// Records in the kept recovery file (if the run has one) `pending` changed by `change`; a
/// failure is only logged, saying what it costs (`cost`): the file still holds the family.
pub fn record_change(
    path: Option<&Path>,
    pending: &Pending,
    change: impl FnOnce(&mut Pending),
    cost: &str,
) {
    let Some(path) = path else {
        return;
    };
    let mut changed = pending.clone();
    change(&mut changed);
    if let Err(e) = record(path, &changed) {
        tracing::warn!("{e}: {cost}");
    }
}

/// The file's text; the values it copies are wiped once serialized (secrecy's zeroize).
fn to_text(pending: &Pending) -> Result<Zeroizing<String>> {
    let (writes_sent, store_before, handed_over) = match &pending.writes {
        Writes::NotSent => (Some(false), None, false),
        Writes::Sent(before) => (Some(true), Some(before.clone()), false),
        Writes::HandedOver(before) => (Some(true), Some(before.clone()), true),
        Writes::Unknown => (None, None, false),
    };
    let mut file = RecoveryFile {
        version: VERSION,
        created_at: Utc::now(),
        prefix: pending.prefix.clone(),
        family_issued_at: pending.meta.issued_at,
        cloud_id: pending.meta.cloud_id.clone(),
        own_lock_ms: pending.own_lock_ms,
        store: pending.target.clone(),
        connector: pending.connector,
        writes_sent,
        store_before,
        handed_over,
        secrets: pending
            .values
            .iter()
            .map(|(k, v)| (k.clone(), v.expose_secret().to_string()))
            .collect(),
    };
    let text = serde_json::to_string_pretty(&file)
        .map(Zeroizing::new)
        .map_err(|e| Error::RecoveryFailed(format!("could not serialize the recovery file: {e}")));
    file.secrets.values_mut().for_each(Zeroize::zeroize);
    text
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
    live::claim(&f)?;
    f.write_all(text.as_bytes()).and_then(|_| f.sync_all())?;
    live::hold(f);
    Ok(path)
}

const TEMP_DIR_PREFIX: &str = "jira-psoxy-setup-recovery-";

fn private_temp_dir() -> std::io::Result<tempfile::TempDir> {
    let mut builder = tempfile::Builder::new();
    builder.prefix(TEMP_DIR_PREFIX);
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o700));
    builder.tempdir()
}

/// Makes `dir` (0700), or checks the one already there: a real directory, not a symlink, owned by
/// this user; one of ours that others can enter (0777, say) is made 0700 again.
fn private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    if std::fs::symlink_metadata(dir).is_err() {
        builder.create(dir)?;
    }
    let meta = std::fs::symlink_metadata(dir)?;
    let refuse = |why: &str| Err(std::io::Error::other(format!("{why}: not used")));
    if meta.file_type().is_symlink() {
        return refuse("a symbolic link");
    }
    if !meta.is_dir() {
        return refuse("not a directory");
    }
    if !owned_by_me(&meta) {
        return refuse("owned by another user");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        if meta.mode() & 0o077 != 0 {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
        }
    }
    Ok(())
}

#[cfg(unix)]
fn owned_by_me(meta: &std::fs::Metadata) -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    std::os::unix::fs::MetadataExt::uid(meta) == unsafe { libc::geteuid() }
}

#[cfg(not(unix))]
fn owned_by_me(_meta: &std::fs::Metadata) -> bool {
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_push_command_survives_a_shell() {
        let target = StoreTarget::File(crate::store::file::FileTarget {
            path: "my secrets/it's.json".into(),
        });
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
}
