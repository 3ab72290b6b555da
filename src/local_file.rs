//! Files the operator names (`--file`, `--tfvars`) and this tool rewrites. A symlink is followed
//! to its target, which is what gets updated (the link stays a link); anything but a regular
//! file (a FIFO, a device, a directory) is refused before it is opened, so nothing blocks on it;
//! a replacement keeps the old file's owner, group and mode (a new file is 0600), and is written
//! beside it and renamed over, so a reader sees the old or the new text, never half of it.
//! Concurrent runs take turns through an exclusive OS lock (`UpdateLock`).

use std::fs::{File, Metadata};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Why a file cannot be used, in one line that says what to do.
pub type Refusal = String;

/// How long an update waits for another run's lock before giving up.
pub const LOCK_WAIT: Duration = Duration::from_secs(30);

/// The file that reads and writes of `path` must use: `path` itself, or where its symlinks lead.
/// A link whose target is missing is refused: creating a file at the end of a dangling link is a
/// classic way to be tricked into writing somewhere unexpected.
pub fn target(path: &Path) -> Result<PathBuf, Refusal> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => std::fs::canonicalize(path).map_err(|e| {
            format!(
                "{} is a symlink whose target cannot be reached ({e}): create the target, or name the real file",
                path.display()
            )
        }),
        _ => Ok(path.to_path_buf()),
    }
}

/// The metadata of an existing regular file, `None` when nothing is there yet; any other kind of
/// file is refused.
pub fn existing(path: &Path) -> Result<Option<Metadata>, Refusal> {
    match std::fs::metadata(path) {
        Ok(m) if m.is_file() => Ok(Some(m)),
        Ok(m) => Err(format!(
            "{} is {}, not a regular file: name a regular file (or a new path)",
            path.display(),
            kind(&m)
        )),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!(
            "cannot read {}: {e}: check the path and its permissions",
            path.display()
        )),
    }
}

fn kind(m: &Metadata) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        let t = m.file_type();
        if t.is_fifo() {
            return "a named pipe (FIFO)";
        }
        if t.is_socket() {
            return "a socket";
        }
        if t.is_block_device() || t.is_char_device() {
            return "a device";
        }
    }
    if m.is_dir() {
        "a directory"
    } else {
        "a special file"
    }
}

/// The text of a regular file, `None` when it does not exist yet.
pub fn read(path: &Path) -> Result<Option<String>, Refusal> {
    if existing(path)?.is_none() {
        return Ok(None);
    }
    std::fs::read_to_string(path).map(Some).map_err(|e| {
        let fix = if e.kind() == std::io::ErrorKind::InvalidData {
            "it is not UTF-8 text: save it as UTF-8 (or name the right file)"
        } else {
            "check its permissions"
        };
        format!("cannot read {}: {e}: {fix}", path.display())
    })
}

fn dir_of(path: &Path) -> &Path {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// Checks, before any authorization, what `replace` will need: a file can be created in the
/// directory and given the existing file's owner and group. It tries exactly that with a
/// throw-away file, which answers the question for root too (whom permission bits do not stop).
/// `flag` names the option that chooses another path (`--file`, `--tfvars`).
pub fn check_replaceable(path: &Path, flag: &str) -> Result<(), Refusal> {
    let old = existing(path)?;
    let dir = dir_of(path);
    let probe = tempfile::Builder::new()
        .prefix(".jira-psoxy-setup")
        .tempfile_in(dir)
        .map_err(|e| {
            // The error's kind, not its text: that names the throw-away file's random name.
            let why = e.kind().to_string();
            let (name, verb) = match (path.file_name(), &old) {
                (Some(name), Some(_)) => (name.to_string_lossy(), "replaced"),
                (Some(name), None) => (name.to_string_lossy(), "created"),
                (None, _) => (path.to_string_lossy(), "written"),
            };
            let shown = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
            format!(
                "cannot write in the directory {} ({why}), so {name} cannot be {verb} there: make it writable, or choose another path with {flag}",
                shown.display()
            )
        })?;
    if let Some(old) = &old {
        keep_owner(probe.as_file(), old, path)?;
    }
    Ok(())
}

#[cfg(unix)]
fn keep_owner(file: &File, old: &Metadata, path: &Path) -> Result<(), Refusal> {
    use std::os::unix::fs::MetadataExt;
    let new = file.metadata().map_err(|e| e.to_string())?;
    if (new.uid(), new.gid()) == (old.uid(), old.gid()) {
        return Ok(());
    }
    std::os::unix::fs::fchown(file, Some(old.uid()), Some(old.gid())).map_err(|e| {
        format!(
            "cannot give the new {} its owner and group {}:{} ({e}): run as its owner, or change its owner first",
            path.display(),
            old.uid(),
            old.gid()
        )
    })
}

#[cfg(not(unix))]
fn keep_owner(_file: &File, _old: &Metadata, _path: &Path) -> Result<(), Refusal> {
    Ok(())
}

#[cfg(unix)]
fn set_mode(file: &File, old: Option<&Metadata>) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = old.map_or(0o600, |m| m.permissions().mode() & 0o7777);
    file.set_permissions(std::fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn set_mode(file: &File, old: Option<&Metadata>) -> std::io::Result<()> {
    match old {
        Some(m) => file.set_permissions(m.permissions()),
        None => Ok(()),
    }
}

/// Replaces the regular file `path` (a `target`) with `bytes`, keeping its owner, group and mode.
pub fn replace(path: &Path, bytes: &[u8]) -> Result<(), Refusal> {
    let old = existing(path)?;
    let dir = dir_of(path);
    let fail = |what: &str, e: std::io::Error| {
        format!(
            "could not {what} {}: {e}: check the file's and directory's permissions",
            path.display()
        )
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".jira-psoxy-setup")
        .tempfile_in(dir)
        .map_err(|e| fail("write beside", e))?;
    if let Some(old) = &old {
        keep_owner(tmp.as_file(), old, path)?;
    }
    // After the owner: changing the owner can clear set-id bits.
    set_mode(tmp.as_file(), old.as_ref()).map_err(|e| fail("protect", e))?;
    tmp.write_all(bytes).map_err(|e| fail("write", e))?;
    tmp.as_file().sync_all().map_err(|e| fail("write", e))?;
    tmp.persist(path).map_err(|e| fail("replace", e.error))?;
    Ok(())
}

/// An exclusive OS lock (`flock`) held until dropped: one run at a time reads, changes and
/// replaces the file. On Unix the lock is on the file's directory itself, so nothing is left
/// behind (a lock file beside it could not be removed safely: a third run could lock a new one
/// while a second still held the old); elsewhere it is `.<name>.lock` beside the file. The lock
/// ends with the process, however it ends.
#[derive(Debug)]
pub struct UpdateLock(#[allow(dead_code, reason = "held for its OS lock")] File);

impl UpdateLock {
    pub fn acquire(path: &Path, wait: Duration) -> Result<UpdateLock, Refusal> {
        let (file, lock_path) = Self::open(path)?;
        let deadline = Instant::now()
            .checked_add(wait)
            .unwrap_or_else(Instant::now);
        let mut said = false;
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(UpdateLock(file)),
                Err(std::fs::TryLockError::WouldBlock) if Instant::now() < deadline => {
                    if !said {
                        said = true;
                        tracing::warn!(
                            "another run is updating {} (it holds {}): waiting up to {}s",
                            path.display(),
                            lock_path.display(),
                            wait.as_secs()
                        );
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(std::fs::TryLockError::WouldBlock) => {
                    return Err(format!(
                        "another run has been writing {} for {}s (it holds the lock on {}): let it finish, then run again",
                        path.display(),
                        wait.as_secs(),
                        lock_path.display()
                    ));
                }
                Err(std::fs::TryLockError::Error(e)) => {
                    return Err(format!(
                        "cannot lock {} ({e}): choose a path on a local file system",
                        lock_path.display()
                    ));
                }
            }
        }
    }
}

impl UpdateLock {
    /// What is locked: the directory (Unix), else a lock file beside `path`.
    #[cfg(unix)]
    fn open(path: &Path) -> Result<(File, PathBuf), Refusal> {
        let dir = dir_of(path).to_path_buf();
        let file = File::open(&dir).map_err(|e| {
            format!(
                "cannot open the directory {} to lock it ({e}): check its permissions or choose another path",
                dir.display()
            )
        })?;
        Ok((file, dir))
    }

    #[cfg(not(unix))]
    fn open(path: &Path) -> Result<(File, PathBuf), Refusal> {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let lock_path = dir_of(path).join(format!(".{name}.lock"));
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| {
                format!(
                    "cannot open the lock file {} ({e}): make the directory writable or choose another path",
                    lock_path.display()
                )
            })?;
        Ok((file, lock_path))
    }
}

#[cfg(test)]
mod tests;
