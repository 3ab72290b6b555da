//! How Psoxy names its Jira Cloud secrets (psoxy-contract §3): `<prefix><NAME>`.

/// The prefix of a default deployment.
pub const DEFAULT_PREFIX: &str = "PSOXY_JIRA_CLOUD_";
/// Every Jira Cloud secret name ends with this, which is how deployments are discovered.
pub const DISCOVERY_SUFFIX: &str = "JIRA_CLOUD_REFRESH_TOKEN";

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

    /// The prefix of a discovered `...JIRA_CLOUD_REFRESH_TOKEN` name.
    pub fn prefix_of(name: &str) -> Option<String> {
        if name.ends_with(DISCOVERY_SUFFIX) {
            name.strip_suffix("REFRESH_TOKEN").map(str::to_string)
        } else {
            None
        }
    }
}

/// AWS SSM: `<root path><UPPER(environment name)>_JIRA_CLOUD_`, hyphens kept.
pub fn aws_prefix(root_path: &str, environment_name: &str) -> String {
    format!("{root_path}{}_JIRA_CLOUD_", environment_name.to_uppercase())
}

/// GCP Secret Manager: `<environment name>_JIRA_CLOUD_`, or `psoxy_JIRA_CLOUD_` when it is empty.
pub fn gcp_prefix(environment_name: &str) -> String {
    if environment_name.is_empty() {
        "psoxy_JIRA_CLOUD_".to_string()
    } else {
        format!("{environment_name}_JIRA_CLOUD_")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_deployment_names() {
        let n = SecretNames::new(DEFAULT_PREFIX);
        assert_eq!(
            n.name(SecretKey::RefreshToken),
            "PSOXY_JIRA_CLOUD_REFRESH_TOKEN"
        );
        assert_eq!(n.lock_name(), "PSOXY_JIRA_CLOUD_OAUTH_REFRESH_TOKEN");
        assert_eq!(n.all().len(), 4);
    }

    #[test]
    fn aws_prefix_upper_cases_and_keeps_hyphens_and_root_path() {
        assert_eq!(aws_prefix("", "psoxy"), "PSOXY_JIRA_CLOUD_");
        assert_eq!(aws_prefix("/x/", "acme-prod"), "/x/ACME-PROD_JIRA_CLOUD_");
    }

    #[test]
    fn gcp_prefix_keeps_case_and_defaults_to_lower_psoxy() {
        assert_eq!(gcp_prefix(""), "psoxy_JIRA_CLOUD_");
        assert_eq!(gcp_prefix("acme"), "acme_JIRA_CLOUD_");
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
    }
}
