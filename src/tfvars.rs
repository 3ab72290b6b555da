//! Setting a connector's cloud id (`jira_cloud_id`, `confluence_example_cloud_id`) in
//! terraform.tfvars where Terraform reads it (the rule is in
//! `tfvars/place.rs`). The file is parsed with `hcl-edit` (a file that does not parse is refused,
//! with the parser's message), and only the bytes of the value are replaced or inserted, using the
//! parser's spans: comments, ordering and formatting survive byte for byte.

use std::path::Path;

use hcl_edit::structure::Body;

use crate::error::{Error, Result};
use crate::local_file;

mod place;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Edit {
    /// The value Terraform uses was already this cloud id.
    Unchanged,
    /// The top-level variable (which wins when set) was replaced.
    Replaced,
    /// The key at the top level of `connector_settings` was replaced.
    ReplacedInConnectorSettings,
    /// Both were set: both now hold the cloud id (Terraform uses the top-level one).
    ReplacedBoth,
    /// Neither was set: the key was added to the existing `connector_settings` map.
    AddedToConnectorSettings,
    /// Neither was set and there was no `connector_settings`: it was appended with the key.
    AddedConnectorSettings,
    /// Neither was set and `connector_settings` is not a literal map (a reference, a function
    /// call): nothing was changed, the operator adds the key by hand.
    ByHand,
}

/// How long an update waits for another run's update of the same file.
const UPDATE_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// What an operator adds by hand when the file could not be edited (`Edit::ByHand`).
pub fn by_hand(key: &str, cloud_id: &str) -> String {
    format!(
        "add {key} = \"{cloud_id}\" at the top level of the map that {} builds (it is not a literal map, so it was left alone)",
        place::SETTINGS
    )
}

/// The new text of a tfvars file with `key` (`jira_cloud_id`) set where Terraform reads it.
pub fn set_cloud_id(
    text: &str,
    key: &str,
    cloud_id: &str,
) -> std::result::Result<(String, Edit), String> {
    if !crate::atlassian::sites::is_cloud_id(cloud_id) {
        return Err(format!("{cloud_id:?} is not a cloud id"));
    }
    let body = parse(text)?;
    Ok(place::Places::find(&body, key).apply(text, &format!("\"{cloud_id}\"")))
}

/// How long parsing may take. Fuzzing found 577-byte inputs that keep the parser busy for seconds
/// (backtracking); a real tfvars file parses in well under a millisecond.
pub const PARSE_TIME_LIMIT: std::time::Duration = std::time::Duration::from_secs(3);

/// Parses with a time limit, on a helper thread: a pathological file is refused, not waited for.
fn parse(text: &str) -> std::result::Result<Body, String> {
    let (tx, rx) = std::sync::mpsc::channel();
    let owned = text.to_string();
    std::thread::spawn(move || {
        let _ = tx.send(hcl_edit::parser::parse_body(&owned).map_err(|e| e.to_string()));
    });
    rx.recv_timeout(PARSE_TIME_LIMIT).unwrap_or_else(|_| {
        Err(format!(
            "parsing took longer than {}s: this does not look like a tfvars file",
            PARSE_TIME_LIMIT.as_secs()
        ))
    })
}

/// The cloud id Terraform reads from a tfvars file (the top-level variable when set, else the
/// key in `connector_settings`), if any.
pub fn read_cloud_id(path: &Path, key: &str) -> Result<Option<String>> {
    let text = read_text(path)?;
    let body = parse(&text).map_err(|e| {
        Error::Tfvars(format!(
            "{} does not parse as HCL: {}",
            path.display(),
            one_line(&e)
        ))
    })?;
    // Terraform's template leaves `fill me` (or nothing) until a first run fills it in.
    Ok(place::Places::find(&body, key)
        .effective()
        .map(|s| text[s].trim().trim_matches('"').trim().to_string())
        .filter(|s| !crate::store::is_placeholder(s)))
}

/// Checks before any authorization that the file can be read, parsed and replaced, so a broken
/// tfvars never surfaces after tokens were minted.
pub fn preflight(path: &Path) -> Result<()> {
    let text = read_text(path)?;
    parse(&text).map_err(|e| {
        Error::Tfvars(format!(
            "{} does not parse as HCL: {}",
            path.display(),
            one_line(&e)
        ))
    })?;
    let target = local_file::target(path).map_err(Error::Tfvars)?;
    let metadata = std::fs::metadata(&target)
        .map_err(|e| Error::Tfvars(format!("cannot read {}: {e}", path.display())))?;
    if metadata.permissions().readonly() {
        return Err(Error::Tfvars(format!(
            "cannot write {}: it is read-only: check its permissions, or leave out --tfvars",
            path.display()
        )));
    }
    local_file::check_replaceable(&target, "--tfvars")
        .map_err(|why| Error::Tfvars(format!("{why}, or leave out --tfvars")))
}

/// The text of an existing tfvars file; a symlink is read through, a special file refused.
fn read_text(path: &Path) -> Result<String> {
    let target = local_file::target(path).map_err(Error::Tfvars)?;
    local_file::read(&target)
        .map_err(Error::Tfvars)?
        .ok_or_else(|| {
            Error::Tfvars(format!(
                "cannot read {}: it does not exist: check --tfvars",
                path.display()
            ))
        })
}

/// Reads, edits and atomically replaces the file (the target of a symlink), keeping its owner,
/// group and mode.
pub fn update_file(path: &Path, key: &str, cloud_id: &str) -> Result<Edit> {
    // One run at a time reads, changes and replaces the file (a Jira and a Confluence run on one
    // tfvars would otherwise each keep only their own key).
    let _update = local_file::target(path)
        .and_then(|target| local_file::UpdateLock::acquire(&target, UPDATE_WAIT))
        .map_err(Error::Tfvars)?;
    let text = read_text(path)?;
    let (new_text, edit) = set_cloud_id(&text, key, cloud_id).map_err(|e| {
        Error::Tfvars(format!(
            "{} does not parse as HCL, so it was left alone: {}",
            path.display(),
            one_line(&e)
        ))
    })?;
    if matches!(edit, Edit::Unchanged | Edit::ByHand) {
        return Ok(edit);
    }
    let target = local_file::target(path).map_err(Error::Tfvars)?;
    if std::fs::metadata(&target).is_ok_and(|m| m.permissions().readonly()) {
        return Err(Error::Tfvars(format!(
            "cannot write {}: it is read-only: check its permissions",
            path.display()
        )));
    }
    local_file::replace(&target, new_text.as_bytes()).map_err(Error::Tfvars)?;
    Ok(edit)
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "11111111-2222-3333-4444-555555555555";
    const OLD: &str = "00000000-0000-4000-8000-000000000000";
    const KEY: &str = "jira_cloud_id";

    fn set(text: &str) -> (String, Edit) {
        set_cloud_id(text, KEY, ID).unwrap()
    }

    #[test]
    fn replaces_only_the_value_keeping_comments_and_layout() {
        let text = "# header\nenvironment_name = \"acme\"   # trailing\njira_cloud_id   =   \"old-id\" # keep me\n\nother = [1, 2]\n";
        let (out, edit) = set(text);
        assert_eq!(edit, Edit::Replaced);
        assert_eq!(out, text.replace("\"old-id\"", &format!("\"{ID}\"")));
    }

    #[test]
    fn without_either_place_connector_settings_is_created() {
        let (out, edit) = set("a = 1");
        assert_eq!(edit, Edit::AddedConnectorSettings);
        assert_eq!(
            out,
            format!("a = 1\n\nconnector_settings = {{\n  jira_cloud_id = \"{ID}\"\n}}\n")
        );
        assert_eq!(
            set("").0,
            format!("connector_settings = {{\n  jira_cloud_id = \"{ID}\"\n}}\n")
        );
        let crlf = set("a = 1\r\n").0;
        assert!(!crlf.replace("\r\n", "").contains('\n'), "{crlf:?}");
    }

    #[test]
    fn the_top_level_variable_wins_and_both_are_kept_equal() {
        let text = format!(
            "jira_cloud_id = \"{OLD}\"\nconnector_settings = {{\n  jira_cloud_id = \"{OLD}\" # c\n}}\n"
        );
        let (out, edit) = set(&text);
        assert_eq!(edit, Edit::ReplacedBoth);
        assert_eq!(out, text.replace(OLD, ID));
        assert_eq!(set(&out), (out.clone(), Edit::Unchanged));
    }

    #[test]
    fn null_or_empty_top_level_does_not_count_as_set() {
        for top in ["null", "\"\""] {
            let text = format!(
                "jira_cloud_id = {top}\nconnector_settings = {{ jira_cloud_id = \"{OLD}\" }}\n"
            );
            let (out, edit) = set(&text);
            assert_eq!(edit, Edit::ReplacedInConnectorSettings, "{top}");
            assert_eq!(out, text.replace(OLD, ID));
        }
    }

    #[test]
    fn the_key_is_added_to_an_existing_map_in_its_layout() {
        let cases = [
            (
                "connector_settings = {\n    github_org = \"acme\" # c\n}\n",
                format!(
                    "connector_settings = {{\n    github_org = \"acme\" # c\n    jira_cloud_id = \"{ID}\"\n}}\n"
                ),
            ),
            (
                "connector_settings = { github_org = \"acme\" }\n",
                format!(
                    "connector_settings = {{ github_org = \"acme\", jira_cloud_id = \"{ID}\" }}\n"
                ),
            ),
            (
                "connector_settings = {}\n",
                format!("connector_settings = {{\n  jira_cloud_id = \"{ID}\"\n}}\n"),
            ),
        ];
        for (before, after) in cases {
            assert_eq!(
                set(before),
                (after, Edit::AddedToConnectorSettings),
                "{before}"
            );
        }
    }

    #[test]
    fn a_nested_decoy_is_never_touched_or_read() {
        let text = "connector_settings = {\n  jira = {\n    jira_cloud_id = \"decoy\"\n  }\n}\n";
        let (out, edit) = set(text);
        assert_eq!(edit, Edit::AddedToConnectorSettings);
        assert!(
            out.contains("\"decoy\"") && out.contains(&format!("  jira_cloud_id = \"{ID}\"\n}}"))
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.tfvars");
        std::fs::write(&path, text).unwrap();
        assert_eq!(read_cloud_id(&path, KEY).unwrap(), None);
    }

    #[test]
    fn a_map_that_is_not_literal_is_left_for_the_operator() {
        for text in [
            "connector_settings = local.settings\n",
            "connector_settings = merge(var.a, { x = \"y\" })\n",
        ] {
            assert_eq!(set(text), (text.to_string(), Edit::ByHand), "{text}");
        }
        assert!(by_hand(KEY, ID).contains(&format!("jira_cloud_id = \"{ID}\"")));
    }

    #[test]
    fn refuses_broken_files_and_odd_ids() {
        assert!(set_cloud_id("a = = 1\n", KEY, ID).is_err());
        assert!(set_cloud_id("a = 1\n", KEY, "x\" injected").is_err());
        assert!(set_cloud_id("a = 1\n", KEY, "../11111111-2222-3333-4444-555555555555").is_err());
    }
}
