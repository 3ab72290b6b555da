//! How Psoxy names a connector's secrets (psoxy-contract §3): `<prefix><NAME>`, the prefix ending
//! in the connector's name segment (`JIRA_CLOUD_`, `CONFLUENCE_CLOUD_`).

/// The prefix of a default deployment: `PSOXY_JIRA_CLOUD_`.
pub fn default_prefix(segment: &str) -> String {
    format!("PSOXY_{segment}")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretKey {
    ClientId,
    ClientSecret,
    RefreshToken,
    AccessToken,
}

impl SecretKey {
    pub const ALL: [SecretKey; 4] = [
        SecretKey::ClientId,
        SecretKey::ClientSecret,
        SecretKey::RefreshToken,
        SecretKey::AccessToken,
    ];

    pub fn suffix(self) -> &'static str {
        match self {
            SecretKey::ClientId => "CLIENT_ID",
            SecretKey::ClientSecret => "CLIENT_SECRET",
            SecretKey::RefreshToken => "REFRESH_TOKEN",
            SecretKey::AccessToken => "ACCESS_TOKEN",
        }
    }
}

/// The full names of one deployment's secrets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretNames {
    pub prefix: String,
}

impl SecretNames {
    pub fn new(prefix: impl Into<String>) -> Self {
        SecretNames {
            prefix: prefix.into(),
        }
    }

    pub fn name(&self, key: SecretKey) -> String {
        format!("{}{}", self.prefix, key.suffix())
    }

    pub fn all(&self) -> Vec<String> {
        SecretKey::ALL.iter().map(|k| self.name(*k)).collect()
    }

    /// The proxy's lock holder name (psoxy-contract §3): never a value anyone fills.
    pub fn lock_name(&self) -> String {
        format!("{}OAUTH_REFRESH_TOKEN", self.prefix)
    }

    /// The prefix of a discovered `..._JIRA_CLOUD_REFRESH_TOKEN` name, for any connector's
    /// segment (the wizard keeps the chosen connector's).
    pub fn prefix_of(name: &str) -> Option<String> {
        let prefix = name.strip_suffix("REFRESH_TOKEN")?;
        crate::connector::ALL
            .iter()
            .any(|c| prefix.ends_with(c.name_segment))
            .then(|| prefix.to_string())
    }
}

/// Psoxy's `env-id` module (psoxy-contract §3): spaces in the environment name become hyphens
/// before the name is used; hyphens and underscores are kept.
pub fn environment_id(environment_name: &str) -> String {
    environment_name.replace(' ', "-")
}

/// AWS SSM: `<root path><UPPER(env id)>_<segment>`, hyphens kept.
pub fn aws_prefix(root_path: &str, environment_name: &str, segment: &str) -> String {
    format!(
        "{root_path}{}_{segment}",
        environment_id(environment_name).to_uppercase()
    )
}

/// GCP Secret Manager: `<env id>_<segment>`, or `psoxy_<segment>` when it is empty.
pub fn gcp_prefix(environment_name: &str, segment: &str) -> String {
    if environment_name.is_empty() {
        format!("psoxy_{segment}")
    } else {
        format!("{}_{segment}", environment_id(environment_name))
    }
}

/// Psoxy's rule for `aws_ssm_param_root_path` (psoxy-contract §3): empty, without any `/`
/// (`ACME_`), or fully qualified (`/psoxy/`). Returns the fix when it is none of these.
pub fn check_ssm_root_path(root: &str) -> Result<(), String> {
    if root.is_empty() || !root.contains('/') || root.starts_with('/') {
        return Ok(());
    }
    Err(format!(
        "--ssm-root-path {root:?} contains '/' but does not start with it: SSM names that contain '/' are fully qualified, use /{root}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const J: &str = "JIRA_CLOUD_";

    #[test]
    fn default_deployment_names() {
        let n = SecretNames::new(default_prefix(J));
        assert_eq!(
            n.name(SecretKey::RefreshToken),
            "PSOXY_JIRA_CLOUD_REFRESH_TOKEN"
        );
        assert_eq!(n.lock_name(), "PSOXY_JIRA_CLOUD_OAUTH_REFRESH_TOKEN");
        assert_eq!(n.all().len(), 4);
    }

    #[test]
    fn aws_prefix_upper_cases_and_keeps_hyphens_and_root_path() {
        assert_eq!(aws_prefix("", "psoxy", J), "PSOXY_JIRA_CLOUD_");
        assert_eq!(
            aws_prefix("/x/", "acme-prod", J),
            "/x/ACME-PROD_JIRA_CLOUD_"
        );
        assert_eq!(aws_prefix("ACME_", "psoxy", J), "ACME_PSOXY_JIRA_CLOUD_");
    }

    #[test]
    fn spaces_in_the_environment_name_become_hyphens_as_in_env_id() {
        assert_eq!(environment_id("acme prod  eu"), "acme-prod--eu");
        assert_eq!(aws_prefix("", "Acme Prod", J), "ACME-PROD_JIRA_CLOUD_");
        assert_eq!(gcp_prefix("acme prod", J), "acme-prod_JIRA_CLOUD_");
        assert_eq!(environment_id("a_b-c"), "a_b-c");
    }

    #[test]
    fn ssm_root_path_may_lack_a_slash_but_not_lead_without_one() {
        for ok in ["", "ACME_", "/psoxy/", "/x"] {
            assert!(check_ssm_root_path(ok).is_ok(), "{ok}");
        }
        let e = check_ssm_root_path("psoxy/").unwrap_err();
        assert!(
            e.contains("--ssm-root-path") && e.contains("/psoxy/"),
            "{e}"
        );
    }

    #[test]
    fn gcp_prefix_keeps_case_and_defaults_to_lower_psoxy() {
        assert_eq!(gcp_prefix("", J), "psoxy_JIRA_CLOUD_");
        assert_eq!(gcp_prefix("acme", J), "acme_JIRA_CLOUD_");
    }

    #[test]
    fn discovery_recovers_the_prefix() {
        assert_eq!(
            SecretNames::prefix_of("/x/ACME_JIRA_CLOUD_REFRESH_TOKEN").as_deref(),
            Some("/x/ACME_JIRA_CLOUD_")
        );
        assert_eq!(
            SecretNames::prefix_of("/x/ACME_JIRA_CLOUD_ACCESS_TOKEN"),
            None
        );
        assert_eq!(
            SecretNames::prefix_of("acme_CONFLUENCE_CLOUD_REFRESH_TOKEN").as_deref(),
            Some("acme_CONFLUENCE_CLOUD_")
        );
        assert_eq!(
            gcp_prefix("", "CONFLUENCE_CLOUD_"),
            "psoxy_CONFLUENCE_CLOUD_"
        );
    }
}
