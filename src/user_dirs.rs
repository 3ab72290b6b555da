//! Where per-user files live: `$XDG_*` if set, else under `$HOME`; none without either, since a
//! shared temporary directory is no place for files that decide or hold where tokens go.

use std::path::PathBuf;

/// `$<xdg_var>/jira-psoxy-setup`, else `$HOME/<under_home>/jira-psoxy-setup`.
pub fn app_dir(xdg_var: &str, under_home: &str) -> Option<PathBuf> {
    let nonempty = |k: &str| {
        std::env::var_os(k)
            .filter(|d| !d.is_empty())
            .map(PathBuf::from)
    };
    let base = nonempty(xdg_var).or_else(|| nonempty("HOME").map(|h| h.join(under_home)))?;
    Some(base.join("jira-psoxy-setup"))
}
