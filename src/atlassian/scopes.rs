//! The scopes Psoxy needs (psoxy-contract §1), and what to do when the app lacks one.

/// What Psoxy's current Jira page requests: its 5 Jira API permissions, nothing under the User
/// Identity API. An app set up from the older page also has `read:account`; asking it for fewer
/// scopes than it has is fine. `offline_access` first: without it Atlassian issues no refresh
/// token.
pub const DEFAULT_SCOPES: [&str; 6] = [
    "offline_access",
    "read:group:jira",
    "read:avatar:jira",
    "read:user:jira",
    "read:jira-user",
    "read:jira-work",
];

pub fn default_scopes() -> Vec<String> {
    DEFAULT_SCOPES.iter().map(|s| s.to_string()).collect()
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

/// Requested scopes absent from the granted `scope` string of a token response.
pub fn missing(requested: &[String], granted: &str) -> Vec<String> {
    let granted: Vec<&str> = granted.split_whitespace().collect();
    requested
        .iter()
        .filter(|r| !granted.contains(&r.as_str()))
        .cloned()
        .collect()
}

/// Where in the developer console a scope is added.
pub fn console_location(scope: &str) -> &'static str {
    match scope {
        "offline_access" => "requested by this tool, not a console permission; keep it in --scopes",
        "read:account" | "read:me" => "Permissions -> User Identity API -> Configure",
        s if s.ends_with(":jira") || s.contains("jira-") => "Permissions -> Jira API -> Configure",
        _ => "Permissions, under the API the scope belongs to",
    }
}

/// The checklist lines of console permissions for the scopes requested: one for the Jira API,
/// with the count the console shows, and one for any other API.
pub fn checklist(scopes: &[String]) -> Vec<String> {
    let pick = |f: fn(&str) -> bool| -> Vec<&str> {
        scopes.iter().map(String::as_str).filter(|s| f(s)).collect()
    };
    let classic = pick(|s| s == "read:jira-user" || s == "read:jira-work");
    let granular = pick(|s| s.ends_with(":jira"));
    let identity = pick(|s| s == "read:account" || s == "read:me");
    let mut out = Vec::new();
    let jira = classic.len().saturating_add(granular.len());
    if jira > 0 {
        let mut parts = Vec::new();
        if !classic.is_empty() {
            parts.push(format!("classic scopes {}", classic.join(", ")));
        }
        if !granular.is_empty() {
            parts.push(format!("granular scopes {}", granular.join(", ")));
        }
        let plural = if jira == 1 { "" } else { "s" };
        let mut line = format!(
            "Permissions: {jira} permission{plural} under Jira API: {}",
            parts.join("; ")
        );
        if identity.is_empty() {
            line.push_str(
                "; nothing under User Identity API (an app from Psoxy's older page that also has read:account there works as it is)",
            );
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
            &default_scopes(),
            "read:jira-work offline_access read:jira-user read:group:jira read:avatar:jira",
        );
        assert_eq!(m, vec!["read:user:jira"]);
        assert!(console_location("read:account").contains("User Identity API"));
        assert!(console_location("read:group:jira").contains("Jira API"));
    }

    #[test]
    fn checklist_matches_the_console_counts() {
        let lines = checklist(&default_scopes());
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
        let lines = checklist(&older);
        assert!(
            lines[0].contains("1 permission under Jira API"),
            "{}",
            lines[0]
        );
        assert_eq!(lines[1], "Permissions -> User Identity API: read:account");
    }
}
