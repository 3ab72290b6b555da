//! Where the cloud id lives in a parsed tfvars body, by Terraform's own rule (psoxy-contract §5):
//! `coalesce(var.jira_cloud_id, connector_settings["jira_cloud_id"])`, and the same for each
//! connector's key (`confluence_example_cloud_id`, §7). The top-level variable wins when it is
//! set (`coalesce` skips `null` and `""`); otherwise the key at the top level of
//! `connector_settings`, a flat `map(string)`. The key nested deeper is no setting and is never
//! read or touched.

use std::ops::Range;

use hcl_edit::Span;
use hcl_edit::expr::{Expression, ObjectKey};
use hcl_edit::structure::Body;

use super::Edit;

/// The attribute holding the connector settings map.
pub const SETTINGS: &str = "connector_settings";

/// What `connector_settings` is in the file.
enum Settings {
    Absent,
    /// A literal `{ … }`: its span, and the value span of its top-level key, if any.
    Literal {
        object: Range<usize>,
        key: Option<Range<usize>>,
    },
    /// A reference, a function call, …: not a map this tool can edit.
    NotLiteral,
}

/// The places that matter for the cloud id.
pub struct Places {
    /// The connector's key: `jira_cloud_id`.
    name: String,
    /// The value of the top-level variable, when it is set (neither `null` nor `""`).
    top: Option<Range<usize>>,
    settings: Settings,
}

impl Places {
    pub fn find(body: &Body, name: &str) -> Places {
        let top = body
            .get_attribute(name)
            .filter(|a| is_set(&a.value))
            .and_then(|a| a.value.span());
        let settings = match body
            .get_attribute(SETTINGS)
            .map(|a| (&a.value, a.value.span()))
        {
            None => Settings::Absent,
            Some((Expression::Object(object), Some(span))) => Settings::Literal {
                object: span,
                key: object
                    .iter()
                    .find(|(k, _)| key_name(k).as_deref() == Some(name))
                    .and_then(|(_, v)| v.expr().span()),
            },
            Some(_) => Settings::NotLiteral,
        };
        Places {
            name: name.to_string(),
            top,
            settings,
        }
    }

    /// The span of the value Terraform uses: the top-level variable, else the map's key.
    pub fn effective(&self) -> Option<Range<usize>> {
        match (&self.top, &self.settings) {
            (Some(top), _) => Some(top.clone()),
            (None, Settings::Literal { key, .. }) => key.clone(),
            _ => None,
        }
    }

    /// The new text with the cloud id where Terraform reads it.
    pub fn apply(&self, text: &str, literal: &str) -> (String, Edit) {
        let key = match &self.settings {
            Settings::Literal { key, .. } => key.clone(),
            _ => None,
        };
        let (spans, edit) = match (&self.top, key) {
            (Some(top), Some(key)) => (vec![top.clone(), key], Edit::ReplacedBoth),
            (Some(top), None) => (vec![top.clone()], Edit::Replaced),
            (None, Some(key)) => (vec![key], Edit::ReplacedInConnectorSettings),
            (None, None) => return self.add(text, literal),
        };
        if spans.iter().all(|s| text[s.clone()].trim() == literal) {
            return (text.to_string(), Edit::Unchanged);
        }
        (replace_all(text, spans, literal), edit)
    }

    /// Neither place is set: the key goes into `connector_settings`, created when absent.
    fn add(&self, text: &str, literal: &str) -> (String, Edit) {
        let nl = if text.contains("\r\n") { "\r\n" } else { "\n" };
        match &self.settings {
            Settings::NotLiteral => (text.to_string(), Edit::ByHand),
            Settings::Literal { object, .. } => (
                insert_key(
                    text,
                    object.clone(),
                    &format!("{} = {literal}", self.name),
                    nl,
                ),
                Edit::AddedToConnectorSettings,
            ),
            Settings::Absent => {
                let mut out = text.to_string();
                if !out.is_empty() && !out.ends_with('\n') {
                    out.push_str(nl);
                }
                // A blank line first: `terraform fmt` aligns the `=` of adjacent attributes, so
                // a line appended right under another would leave a formatted file unformatted.
                if !out.trim().is_empty() && !out.ends_with(&format!("{nl}{nl}")) {
                    out.push_str(nl);
                }
                let name = &self.name;
                out.push_str(&format!(
                    "{SETTINGS} = {{{nl}  {name} = {literal}{nl}}}{nl}"
                ));
                (out, Edit::AddedConnectorSettings)
            }
        }
    }
}

/// `null` and `""` count as unset, as in `coalesce`.
fn is_set(expr: &Expression) -> bool {
    !expr.is_null() && expr.as_str() != Some("")
}

fn key_name(key: &ObjectKey) -> Option<String> {
    match key {
        ObjectKey::Ident(ident) => Some(ident.as_str().to_string()),
        ObjectKey::Expression(Expression::String(s)) => Some(s.value().to_string()),
        _ => None,
    }
}

/// Replaces each span (non-overlapping) by `literal`.
fn replace_all(text: &str, mut spans: Vec<Range<usize>>, literal: &str) -> String {
    spans.sort_by_key(|s| std::cmp::Reverse(s.start));
    let mut out = text.to_string();
    for span in spans {
        out.replace_range(span, literal);
    }
    out
}

/// Adds `item` (`jira_cloud_id = <literal>`) as the last item of the literal object at `object`,
/// following its layout: one item per line, or items on one line separated by commas.
#[allow(
    clippy::arithmetic_side_effects,
    clippy::indexing_slicing,
    reason = "`object` is the span hcl-edit's parse of this same text gave a literal object: it lies inside `text` and starts with `{` and ends with `}` (one byte each), so the offsets stay on char boundaries within it"
)]
fn insert_key(text: &str, object: Range<usize>, item: &str, nl: &str) -> String {
    let close = object.end - 1; // the `}`
    let inner = &text[object.start + 1..close];
    let mut out = text.to_string();
    if inner.trim().is_empty() {
        out.replace_range(object.start + 1..close, &format!("{nl}  {item}{nl}"));
        return out;
    }
    let line_start = text[..close].rfind('\n').map_or(0, |i| i + 1);
    if line_start > object.start && text[line_start..close].trim().is_empty() {
        // `}` on a line of its own: a new line above it, indented like the item before.
        let last_item_line = text[object.start + 1..line_start]
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("");
        let indent: String = last_item_line
            .chars()
            .take_while(|c| *c == ' ' || *c == '\t')
            .collect();
        let indent = if indent.is_empty() { "  " } else { &indent };
        out.insert_str(line_start, &format!("{indent}{item}{nl}"));
        return out;
    }
    let last = text[..close].trim_end();
    if last.ends_with(',') || last.ends_with('{') {
        out.insert_str(last.len(), &format!(" {item}"));
    } else {
        out.insert_str(last.len(), &format!(", {item}"));
    }
    out
}
