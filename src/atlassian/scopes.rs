//! The scopes Psoxy needs (psoxy-contract §1, §7), and what to do when the app lacks one.

use crate::connector::Connector;

/// The default scopes of `connector`.
pub fn default_scopes(connector: &Connector) -> Vec<String> {
    connector.default_scopes()
}

/// Parses `--scopes`: separated by spaces and/or commas; order kept, duplicates dropped.
pub fn parse(list: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in list
        .split([' ', ','])
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        if !out.iter().any(|o| o == s) {
            out.push(s.to_string());
        }
    }
    out
}

/// Requested scopes absent from the granted `scope` string of a token response; scopes Atlassian
/// grants without listing them (psoxy-contract §7) are not counted as absent.
pub fn missing(connector: &Connector, requested: &[String], granted: &str) -> Vec<String> {
    let granted: Vec<&str> = granted.split_whitespace().collect();
    requested
        .iter()
        .filter(|r| !granted.contains(&r.as_str()))
        .filter(|r| !connector.unreported_scopes.contains(&r.as_str()))
        .cloned()
        .collect()
}

/// Where in the developer console a scope is added.
pub fn console_location(scope: &str) -> String {
    match scope {
        "offline_access" => {
            "requested by this tool, not a console permission; keep it in --scopes".into()
        }
        "read:account" | "read:me" => "Permissions -> User Identity API -> Configure".into(),
        s => match crate::connector::ALL.iter().find(|c| c.owns_scope(s)) {
            Some(c) => format!("Permissions -> {} -> Configure", c.console_api),
            None => "Permissions, under the API the scope belongs to".into(),
        },
    }
}

/// The checklist lines of console permissions for the scopes requested: one for the connector's
/// API, with the count the console shows, and one for any other API.
pub fn checklist(connector: &Connector, scopes: &[String]) -> Vec<String> {
    let pick = |f: &dyn Fn(&str) -> bool| -> Vec<&str> {
        scopes.iter().map(String::as_str).filter(|s| f(s)).collect()
    };
    let owned = pick(&|s| connector.owns_scope(s));
    // Classic scopes have one colon (`read:jira-work`), granular ones two (`read:group:jira`).
    let classic = pick(&|s| connector.owns_scope(s) && s.matches(':').count() == 1);
    let granular = pick(&|s| connector.owns_scope(s) && s.matches(':').count() > 1);
    let identity = pick(&|s| s == "read:account" || s == "read:me");
    let mut out = Vec::new();
    if !owned.is_empty() {
        let mut parts = Vec::new();
        if !classic.is_empty() {
            parts.push(format!("classic scopes {}", classic.join(", ")));
        }
        if !granular.is_empty() {
            parts.push(format!("granular scopes {}", granular.join(", ")));
        }
        let n = owned.len();
        let plural = if n == 1 { "" } else { "s" };
        let mut line = format!(
            "Permissions: {n} permission{plural} under {}: {}",
            connector.console_api,
            parts.join("; ")
        );
        if let (true, Some(note)) = (identity.is_empty(), connector.checklist_note) {
            line.push_str("; ");
            line.push_str(note);
        }
        out.push(line);
    }
    if !identity.is_empty() {
        out.push(format!(
            "Permissions -> User Identity API: {}",
            identity.join(", ")
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connector::{CONFLUENCE_CLOUD, JIRA_CLOUD};

    fn default_scopes() -> Vec<String> {
        super::default_scopes(&JIRA_CLOUD)
    }

    #[test]
    fn parses_spaces_and_commas_without_duplicates() {
        assert_eq!(
            parse("offline_access, read:jira-work read:jira-work"),
            vec!["offline_access", "read:jira-work"]
        );
    }

    #[test]
    fn the_default_is_the_current_pages_list() {
        assert_eq!(
            default_scopes().join(" "),
            "offline_access read:group:jira read:avatar:jira read:user:jira read:jira-user read:jira-work"
        );
    }

    #[test]
    fn names_missing_scopes_and_where_to_add_them() {
        let m = missing(
            &JIRA_CLOUD,
            &default_scopes(),
            "read:jira-work offline_access read:jira-user read:group:jira read:avatar:jira",
        );
        assert_eq!(m, vec!["read:user:jira"]);
        assert!(console_location("read:account").contains("User Identity API"));
        assert!(console_location("read:group:jira").contains("Jira API"));
    }

    #[test]
    fn checklist_matches_the_console_counts() {
        let lines = checklist(&JIRA_CLOUD, &default_scopes());
        assert_eq!(lines.len(), 1, "one console step");
        assert!(
            lines[0].contains("5 permissions under Jira API"),
            "{}",
            lines[0]
        );
        assert!(lines[0].contains("read:jira-user, read:jira-work"));
        assert!(lines[0].contains("read:group:jira, read:avatar:jira, read:user:jira"));
        assert!(lines[0].contains("nothing under User Identity API"));
        let older = parse("offline_access read:account read:jira-work");
        let lines = checklist(&JIRA_CLOUD, &older);
        assert!(
            lines[0].contains("1 permission under Jira API"),
            "{}",
            lines[0]
        );
        assert_eq!(lines[1], "Permissions -> User Identity API: read:account");
    }

    #[test]
    fn confluence_checklist_and_its_unlisted_task_scope() {
        let scopes = CONFLUENCE_CLOUD.default_scopes();
        let lines = checklist(&CONFLUENCE_CLOUD, &scopes);
        assert_eq!(lines.len(), 1);
        assert!(
            lines[0].starts_with("Permissions: 9 permissions under Confluence API: granular scopes read:blogpost:confluence,"),
            "{}",
            lines[0]
        );
        assert!(!lines[0].contains("User Identity"));
        assert!(console_location("read:page:confluence").contains("Confluence API"));
        // Atlassian grants read:task:confluence without listing it in `scope`.
        let granted: Vec<&str> = scopes
            .iter()
            .map(String::as_str)
            .filter(|s| *s != "read:task:confluence" && *s != "read:page:confluence")
            .collect();
        assert_eq!(
            missing(&CONFLUENCE_CLOUD, &scopes, &granted.join(" ")),
            vec!["read:page:confluence"]
        );
    }
}
