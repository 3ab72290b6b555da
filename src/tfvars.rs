//! Setting `jira_cloud_id` in terraform.tfvars. The file is parsed with `hcl-edit` (a file that does
//! not parse is refused, with the parser's message), and only the bytes of the one value are
//! replaced, using the parser's spans: comments, ordering and formatting survive byte for byte.
//! A `jira_cloud_id` key inside `connector_settings` wins over the deprecated top-level variable.

use std::path::Path;

use hcl_edit::Span;
use hcl_edit::expr::{Expression, ObjectKey};
use hcl_edit::structure::Body;

use crate::error::{Error, Result};

pub const KEY: &str = "jira_cloud_id";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Edit {
    /// The value was already this cloud id.
    Unchanged,
    /// A top-level `jira_cloud_id` assignment was replaced.
    Replaced,
    /// The `jira_cloud_id` key inside `connector_settings` was replaced.
    ReplacedInConnectorSettings,
    /// No assignment existed: one was appended.
    Appended,
}

/// The new text of a tfvars file with `jira_cloud_id` set.
pub fn set_cloud_id(text: &str, cloud_id: &str) -> std::result::Result<(String, Edit), String> {
    if cloud_id.is_empty()
        || !cloud_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-')
    {
        return Err(format!("{cloud_id:?} is not a cloud id"));
    }
    let body = parse(text)?;
    let literal = format!("\"{cloud_id}\"");
    let target = body
        .get_attribute("connector_settings")
        .and_then(|a| find_key(&a.value))
        .map(|span| (span, Edit::ReplacedInConnectorSettings))
        .or_else(|| {
            body.get_attribute(KEY)
                .and_then(|a| a.value.span())
                .map(|span| (span, Edit::Replaced))
        });
    match target {
        Some((span, edit)) => {
            if text[span.clone()].trim() == literal {
                return Ok((text.to_string(), Edit::Unchanged));
            }
            let mut out = String::with_capacity(text.len().saturating_add(literal.len()));
            out.push_str(&text[..span.start]);
            out.push_str(&literal);
            out.push_str(&text[span.end..]);
            Ok((out, edit))
        }
        None => {
            let mut out = text.to_string();
            if !out.is_empty() && !out.ends_with('\n') {
                out.push('\n');
            }
            // A blank line first: `terraform fmt` aligns the `=` of adjacent attributes, so a
            // line appended right under another would leave a formatted file unformatted.
            if !out.trim().is_empty() && !out.ends_with("\n\n") {
                out.push('\n');
            }
            out.push_str(&format!("{KEY} = {literal}\n"));
            Ok((out, Edit::Appended))
        }
    }
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

/// The span of the value of a `jira_cloud_id` key anywhere inside an object expression.
fn find_key(expr: &Expression) -> Option<std::ops::Range<usize>> {
    let Expression::Object(object) = expr else {
        return None;
    };
    for (key, value) in object.iter() {
        let name = match key {
            ObjectKey::Ident(ident) => Some(ident.as_str().to_string()),
            ObjectKey::Expression(Expression::String(s)) => Some(s.value().to_string()),
            _ => None,
        };
        if name.as_deref() == Some(KEY) {
            return value.expr().span();
        }
        if let Some(span) = find_key(value.expr()) {
            return Some(span);
        }
    }
    None
}

/// The cloud id a tfvars file sets (in `connector_settings` or at top level), if any.
pub fn read_cloud_id(path: &Path) -> Result<Option<String>> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Error::Tfvars(format!(
            "cannot read {}: {e}: check --tfvars and the file's permissions",
            path.display()
        ))
    })?;
    let body = parse(&text).map_err(|e| {
        Error::Tfvars(format!(
            "{} does not parse as HCL: {}",
            path.display(),
            one_line(&e)
        ))
    })?;
    let span = body
        .get_attribute("connector_settings")
        .and_then(|a| find_key(&a.value))
        .or_else(|| body.get_attribute(KEY).and_then(|a| a.value.span()));
    Ok(span
        .map(|s| text[s].trim().trim_matches('"').to_string())
        .filter(|s| !s.is_empty()))
}

/// Checks before any authorization that the file can be read, parsed and replaced, so a broken
/// tfvars never surfaces after tokens were minted.
pub fn preflight(path: &Path) -> Result<()> {
    read_cloud_id(path)?;
    let metadata = std::fs::metadata(path)
        .map_err(|e| Error::Tfvars(format!("cannot read {}: {e}", path.display())))?;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let writable = !metadata.permissions().readonly() && tempfile::tempfile_in(dir).is_ok();
    if !writable {
        return Err(Error::Tfvars(format!(
            "cannot write {} (or create files beside it): check its permissions, or leave out --tfvars",
            path.display()
        )));
    }
    Ok(())
}

/// Reads, edits and atomically replaces the file (keeping its permissions).
pub fn update_file(path: &Path, cloud_id: &str) -> Result<Edit> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Error::Tfvars(format!(
            "cannot read {}: {e}: check --tfvars and the file's permissions",
            path.display()
        ))
    })?;
    let (new_text, edit) = set_cloud_id(&text, cloud_id).map_err(|e| {
        Error::Tfvars(format!(
            "{} does not parse as HCL, so it was left alone: {}",
            path.display(),
            one_line(&e)
        ))
    })?;
    if edit == Edit::Unchanged {
        return Ok(edit);
    }
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let write_err = |e: std::io::Error| {
        Error::Tfvars(format!(
            "cannot write {}: {e}: check the file's and directory's permissions",
            path.display()
        ))
    };
    let metadata = std::fs::metadata(path).map_err(write_err)?;
    if metadata.permissions().readonly() {
        return Err(write_err(std::io::Error::from(
            std::io::ErrorKind::PermissionDenied,
        )));
    }
    let tmp = tempfile::Builder::new()
        .prefix(".tfvars")
        .tempfile_in(dir)
        .map_err(write_err)?;
    std::fs::write(tmp.path(), new_text).map_err(write_err)?;
    std::fs::set_permissions(tmp.path(), metadata.permissions()).map_err(write_err)?;
    tmp.persist(path).map_err(|e| write_err(e.error))?;
    Ok(edit)
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "11111111-2222-3333-4444-555555555555";

    #[test]
    fn replaces_only_the_value_keeping_comments_and_layout() {
        let text = "# header\nenvironment_name = \"acme\"   # trailing\njira_cloud_id   =   \"old-id\" # keep me\n\nother = [1, 2]\n";
        let (out, edit) = set_cloud_id(text, ID).unwrap();
        assert_eq!(edit, Edit::Replaced);
        assert_eq!(out, text.replace("\"old-id\"", &format!("\"{ID}\"")));
    }

    #[test]
    fn appends_when_missing_and_adds_a_newline_if_needed() {
        let (out, edit) = set_cloud_id("a = 1", ID).unwrap();
        assert_eq!(edit, Edit::Appended);
        assert_eq!(out, format!("a = 1\n\njira_cloud_id = \"{ID}\"\n"));
        assert_eq!(
            set_cloud_id("", ID).unwrap().0,
            format!("jira_cloud_id = \"{ID}\"\n")
        );
    }

    #[test]
    fn prefers_connector_settings() {
        let text = "jira_cloud_id = \"top\"\nconnector_settings = {\n  jira = {\n    jira_cloud_id = \"nested\" # c\n  }\n}\n";
        let (out, edit) = set_cloud_id(text, ID).unwrap();
        assert_eq!(edit, Edit::ReplacedInConnectorSettings);
        assert_eq!(out, text.replace("\"nested\"", &format!("\"{ID}\"")));
    }

    #[test]
    fn unchanged_when_already_set() {
        let text = format!("jira_cloud_id = \"{ID}\"\n");
        assert_eq!(
            set_cloud_id(&text, ID).unwrap(),
            (text.clone(), Edit::Unchanged)
        );
    }

    #[test]
    fn refuses_broken_files_and_odd_ids() {
        assert!(set_cloud_id("a = = 1\n", ID).is_err());
        assert!(set_cloud_id("a = 1\n", "x\" injected").is_err());
    }
}
