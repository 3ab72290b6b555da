//! The proxy a check last used, per connector (`proxy-jira-cloud.json` beside `last-run.json`):
//! its URL, caller role and way to authenticate, nothing secret. The next `check` or
//! `status --check-proxy` needs no flags.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{ProxyAuth, ProxyTarget};
use crate::connector::Connector;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RememberedProxy {
    pub url: String,
    #[serde(default)]
    pub role_arn: Option<String>,
    #[serde(default)]
    pub auth: Option<ProxyAuth>,
}

pub fn path(connector: &Connector) -> Option<PathBuf> {
    crate::user_dirs::app_dir("XDG_CONFIG_HOME", ".config")
        .map(|d| d.join(format!("proxy-{}.json", connector.id)))
}

/// The remembered proxy; a missing or unreadable file is none (flags and Terraform remain).
pub fn load(connector: &Connector) -> Option<RememberedProxy> {
    let text = std::fs::read_to_string(path(connector)?).ok()?;
    match serde_json::from_str(&text) {
        Ok(kept) => Some(kept),
        Err(e) => {
            tracing::warn!("the remembered proxy cannot be read ({e}); ignoring it");
            None
        }
    }
}

/// Remembers `target` (0600, replaced whole). A failure only costs typing the flags again.
pub fn save(connector: &Connector, target: &ProxyTarget) -> Result<PathBuf, String> {
    let to = path(connector).ok_or("no home directory")?;
    let kept = RememberedProxy {
        url: target.url.to_string(),
        role_arn: target.role_arn.clone(),
        auth: Some(target.auth),
    };
    write(&to, &kept).map_err(|e| format!("{}: {e}", to.display()))?;
    Ok(to)
}

fn write(to: &Path, kept: &RememberedProxy) -> std::io::Result<()> {
    let dir = to.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let text = serde_json::to_string_pretty(kept).map_err(std::io::Error::other)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    std::io::Write::write_all(&mut tmp, text.as_bytes())?;
    tmp.persist(to).map_err(|e| e.error)?;
    Ok(())
}
