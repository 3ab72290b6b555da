//! Reading a recovery file, as strictly as a network answer: it may have been planted, truncated
//! or edited. Only a regular file of this user's that nobody else can change, under a size cap,
//! is opened (never through a symlink, never blocking on a FIFO); its contents must be exactly
//! the four names under its prefix, non-empty, in a version this tool knows.

use std::fs::File;
use std::io::Read;
use std::path::Path;
use std::time::Duration;

use secrecy::zeroize::Zeroizing;

use super::{Pending, RecoveryFile, Writes, live};
use crate::error::{Error, Result};
use crate::secret::SecretString;
use crate::store::{FamilyMetadata, SecretKey, SecretNames, is_placeholder};

/// A real recovery file is under 16 KB (four secrets, the store's options, a few dates); the cap
/// leaves room for long paths and tokens and bounds what a wrong `--from` makes this tool read.
pub const MAX_BYTES: u64 = 64 * 1024;

/// How a refusal ends when the file was named by `--from`; `leftovers` says something else.
pub(super) const CHECK_FROM: &str = "check --from";

/// A recovery file, checked and parsed; the open file keeps the lock `push` takes on it.
pub(super) struct Opened {
    pub file: File,
    pub pending: Pending,
    /// Said to the operator: the file was readable by other users.
    pub exposed: Option<String>,
}

/// The file's values and what it records, for reading only (no lock is taken).
pub fn load(path: &Path) -> Result<Pending> {
    open_checked(path)
        .and_then(|file| parse_opened(path, file))
        .map(|opened| opened.pending)
        .map_err(Error::Input)
}

/// The file, for `push`: checked, parsed, and locked against another run using it at the same
/// time. Returns the values and a warning to show if others could read the file.
pub fn open_for_push(path: &Path) -> Result<(Pending, Option<String>)> {
    let file = open_checked(path).map_err(Error::Input)?;
    if !live::take_for_push(&file, Duration::from_secs(2)) {
        return Err(Error::Input(format!(
            "another run is still using {} (writing it, or pushing it): let it finish, then run push again if the file is still there",
            path.display()
        )));
    }
    let opened = parse_opened(path, file).map_err(Error::Input)?;
    live::hold(opened.file);
    Ok((opened.pending, opened.exposed))
}

/// Opens `path` without following a symlink or waiting on a FIFO, and checks what it is.
pub(super) fn open_checked(path: &Path) -> std::result::Result<File, String> {
    let shown = path.display();
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(
        &mut options,
        libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY,
    );
    let file = options.open(path).map_err(|e| {
        if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
            let target = std::fs::read_link(path)
                .map(|t| t.display().to_string())
                .unwrap_or_else(|_| "its target".into());
            format!(
                "{shown} is a symbolic link: pass the file itself (--from {target}), so that the file holding the tokens is the one deleted"
            )
        } else {
            format!("cannot read the recovery file {shown}: {e}: {CHECK_FROM}")
        }
    })?;
    let meta = file
        .metadata()
        .map_err(|e| format!("cannot read the recovery file {shown}: {e}: {CHECK_FROM}"))?;
    if !meta.is_file() {
        return Err(format!(
            "{shown} is {}, not a regular file: a recovery file is a regular file; {CHECK_FROM}",
            kind_of(&meta)
        ));
    }
    if !super::owned_by_me(&meta) {
        return Err(format!(
            "{shown} belongs to another user: a recovery file this tool wrote is yours; {CHECK_FROM} (or copy the file, once checked, and push the copy)"
        ));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if meta.mode() & 0o022 != 0 {
            return Err(format!(
                "{shown} can be changed by other users (mode {:04o}): check what it holds, then `chmod 600` it and run push again",
                meta.mode() & 0o7777
            ));
        }
    }
    if meta.len() > MAX_BYTES {
        return Err(format!(
            "{shown} is {} bytes, more than a recovery file's limit of {MAX_BYTES}: {CHECK_FROM}",
            meta.len()
        ));
    }
    Ok(file)
}

fn kind_of(meta: &std::fs::Metadata) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        let t = meta.file_type();
        if t.is_fifo() {
            return "a named pipe (FIFO)";
        }
        if t.is_char_device() || t.is_block_device() {
            return "a device";
        }
        if t.is_socket() {
            return "a socket";
        }
    }
    if meta.is_dir() {
        "a directory"
    } else {
        "a special file"
    }
}

/// Reads at most the cap (the file may grow after the check) and parses it.
pub(super) fn parse_opened(path: &Path, mut file: File) -> std::result::Result<Opened, String> {
    let shown = path.display();
    let mut bytes = Zeroizing::new(Vec::new());
    (&mut file)
        .take(MAX_BYTES.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read the recovery file {shown}: {e}: {CHECK_FROM}"))?;
    if bytes.len() as u64 > MAX_BYTES {
        return Err(format!(
            "{shown} is more than a recovery file's limit of {MAX_BYTES} bytes: {CHECK_FROM}"
        ));
    }
    let exposed = exposure(path, &file);
    let pending = parse(&bytes).map_err(|why| {
        format!("{shown} is not a usable recovery file ({why}): {CHECK_FROM}, or delete the file if it is not one this tool wrote")
    })?;
    Ok(Opened {
        file,
        pending,
        exposed,
    })
}

/// The warning for a file others could read: its tokens may be known to them.
fn exposure(path: &Path, file: &File) -> Option<String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let mode = file.metadata().ok()?.mode();
        (mode & 0o044 != 0).then(|| {
            format!(
                "{} is readable by other users (mode {:04o}): they may have read its tokens; once they are stored, consider a renew",
                path.display(),
                mode & 0o7777
            )
        })
    }
    #[cfg(not(unix))]
    {
        let _ = (path, file);
        None
    }
}

/// The contents, checked: a known version, a connector's prefix, exactly its names, no empty
/// value, and the access token in the proxy's form.
fn parse(bytes: &[u8]) -> std::result::Result<Pending, String> {
    let text = std::str::from_utf8(bytes).map_err(|_| "not UTF-8 text".to_string())?;
    let file: RecoveryFile = serde_json::from_str(text).map_err(|e| {
        // Not serde_json's message: for a value of the wrong type it quotes the value.
        let what = match e.classify() {
            serde_json::error::Category::Eof => "truncated",
            serde_json::error::Category::Syntax => "not valid JSON",
            _ => "a field is missing, unknown or of the wrong type",
        };
        format!(
            "not a recovery file's JSON: {what} at line {}, column {}",
            e.line(),
            e.column()
        )
    })?;
    if !(1..=super::VERSION).contains(&file.version) {
        return Err(format!(
            "version {}, which this jira-psoxy-setup does not know; a newer one may",
            file.version
        ));
    }
    let prefix = &file.prefix;
    if !prefix.ends_with(file.connector.name_segment)
        || prefix.contains("..")
        || prefix.chars().any(char::is_control)
    {
        return Err(format!(
            "its prefix is not a {} prefix (ending in {})",
            file.connector.display_name, file.connector.name_segment
        ));
    }
    let names = SecretNames::new(prefix.clone());
    let allowed = names.all();
    if let Some(stray) = file.secrets.keys().find(|n| !allowed.contains(n)) {
        return Err(format!(
            "it holds {}, which is not one of the four secrets under {prefix}",
            crate::sanitize::remote_text(stray)
        ));
    }
    let has = |key| file.secrets.contains_key(&names.name(key));
    if !has(SecretKey::RefreshToken) || !has(SecretKey::AccessToken) {
        return Err("it lacks the refresh token or the access token".into());
    }
    if has(SecretKey::ClientId) != has(SecretKey::ClientSecret) {
        return Err("it holds only one of the client ID and secret".into());
    }
    if let Some((name, _)) = file.secrets.iter().find(|(_, v)| is_placeholder(v)) {
        return Err(format!("{name} is empty"));
    }
    let access = SecretString::from(
        file.secrets
            .get(&names.name(SecretKey::AccessToken))
            .cloned()
            .unwrap_or_default(),
    );
    if crate::atlassian::proxy_token::ProxyAccessToken::parse(&access).is_none() {
        return Err("its access token is not in the proxy's form".into());
    }
    let writes = match (file.version, file.writes_sent, &file.store_before) {
        (1, _, _) => Writes::Unknown,
        (_, Some(false), None) => Writes::NotSent,
        (_, Some(true), Some(before)) if file.handed_over => Writes::HandedOver(before.clone()),
        (_, Some(true), Some(before)) => Writes::Sent(before.clone()),
        _ => return Err("it records its writes inconsistently".into()),
    };
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
        target: file.store,
        connector: file.connector,
        writes,
        expected: None,
    })
}
