//! Psoxy's Atlassian connectors as data (psoxy-contract §1, §3, §5, §7). They share the OAuth 2.0
//! (3LO) flow, the token endpoint, the rotating refresh tokens and the secret layout; what differs
//! is in one `Connector` entry. Adding Psoxy's next Atlassian connector is one entry in `ALL`.

use serde::{Deserialize, Deserializer, Serializer};

/// One Psoxy connector that this tool connects.
#[derive(Debug, PartialEq, Eq)]
pub struct Connector {
    /// Psoxy's connector id, and the `--connector` value.
    pub id: &'static str,
    /// As people name it: "Jira Cloud".
    pub display_name: &'static str,
    /// The product, in "the Jira site", "a user with Jira access".
    pub product: &'static str,
    /// The segment of Psoxy's secret names: `<env>_JIRA_CLOUD_<NAME>` (psoxy-contract §3).
    pub name_segment: &'static str,
    /// The scopes requested by default; `offline_access` first (without it, no refresh token).
    pub default_scopes: &'static [&'static str],
    /// Granted scopes Atlassian leaves out of the token answer's `scope` (psoxy-contract §7).
    pub unreported_scopes: &'static [&'static str],
    /// Where this product's permissions sit in the developer console.
    pub console_api: &'static str,
    /// Which scopes belong to `console_api`: `read:jira-work`, `read:group:jira`.
    pub scope_word: &'static str,
    /// Appended to the console checklist's permissions line, when nothing else is requested.
    pub checklist_note: Option<&'static str>,
    /// The key of the cloud id in terraform.tfvars (top level, and in `connector_settings`).
    pub tfvars_key: &'static str,
    /// The call that proves the token works for a site and says who authorized it.
    pub verify: VerifyCall,
}

/// A GET through the 3LO gateway whose answer names the user (`accountId`, `displayName`).
#[derive(Debug, PartialEq, Eq)]
pub struct VerifyCall {
    /// The path under the API base, with `{cloud_id}` in it.
    pub path: &'static str,
    /// For messages: "Jira /myself".
    pub what: &'static str,
}

impl VerifyCall {
    pub fn path_for(&self, cloud_id: &str) -> String {
        self.path.replace("{cloud_id}", cloud_id)
    }
}

pub static JIRA_CLOUD: Connector = Connector {
    id: "jira-cloud",
    display_name: "Jira Cloud",
    product: "Jira",
    name_segment: "JIRA_CLOUD_",
    // Psoxy's current Jira page: its 5 Jira API permissions, nothing under the User Identity API.
    // An app set up from the older page also has `read:account`; asking it for fewer scopes than
    // it has is fine.
    default_scopes: &[
        "offline_access",
        "read:group:jira",
        "read:avatar:jira",
        "read:user:jira",
        "read:jira-user",
        "read:jira-work",
    ],
    unreported_scopes: &[],
    console_api: "Jira API",
    scope_word: "jira",
    checklist_note: Some(
        "nothing under User Identity API (an app from Psoxy's older page that also has read:account there works as it is)",
    ),
    tfvars_key: "jira_cloud_id",
    verify: VerifyCall {
        path: "ex/jira/{cloud_id}/rest/api/3/myself",
        what: "Jira /myself",
    },
};

pub static CONFLUENCE_CLOUD: Connector = Connector {
    id: "confluence-cloud",
    display_name: "Confluence Cloud",
    product: "Confluence",
    name_segment: "CONFLUENCE_CLOUD_",
    // Psoxy's Confluence page, its granular list (psoxy-contract §7): what its example calls need.
    default_scopes: &[
        "offline_access",
        "read:blogpost:confluence",
        "read:comment:confluence",
        "read:group:confluence",
        "read:space:confluence",
        "read:attachment:confluence",
        "read:page:confluence",
        "read:user:confluence",
        "read:task:confluence",
        "read:content-details:confluence",
    ],
    unreported_scopes: &["read:task:confluence"],
    console_api: "Confluence API",
    scope_word: "confluence",
    checklist_note: None,
    tfvars_key: "confluence_example_cloud_id",
    // Needs read:content-details:confluence, which Psoxy's content search needs too.
    verify: VerifyCall {
        path: "ex/confluence/{cloud_id}/wiki/rest/api/user/current",
        what: "Confluence /user/current",
    },
};

/// Every connector, the default first.
pub static ALL: [&Connector; 2] = [&JIRA_CLOUD, &CONFLUENCE_CLOUD];

/// The connector when none is named (and for files written before there was a choice).
pub fn default() -> &'static Connector {
    &JIRA_CLOUD
}

pub fn by_id(id: &str) -> Option<&'static Connector> {
    ALL.iter().copied().find(|c| c.id == id)
}

/// The ids, for messages: "jira-cloud, confluence-cloud".
pub fn ids() -> String {
    ALL.map(|c| c.id).join(", ")
}

/// `--connector`: one of the ids, shown in `--help` and completed by shells.
pub fn value_parser() -> impl clap::builder::TypedValueParser<Value = &'static Connector> {
    use clap::builder::TypedValueParser;
    clap::builder::PossibleValuesParser::new(ALL.map(|c| c.id))
        .map(|id| by_id(&id).unwrap_or_else(default))
}

/// The connector whose secrets a name belongs to (`..._CONFLUENCE_CLOUD_CLIENT_ID`).
pub fn of_secret(name: &str) -> Option<&'static Connector> {
    ALL.iter().copied().find(|c| {
        name.contains(&format!("_{}", c.name_segment)) || name.starts_with(c.name_segment)
    })
}

/// The description this tool gives a secret it creates.
pub fn secret_description(name: &str) -> String {
    let product = of_secret(name).map_or("Atlassian", |c| c.display_name);
    format!("Psoxy {product} secret (created by jira-psoxy-setup)")
}

impl Connector {
    pub fn default_scopes(&self) -> Vec<String> {
        self.default_scopes.iter().map(|s| s.to_string()).collect()
    }

    /// This tool's command line for `sub` with this connector: `jira-psoxy-setup renew`,
    /// `jira-psoxy-setup renew --connector confluence-cloud`.
    /// The file store's default path: each connector its own (`./psoxy-jira-cloud.secrets.json`).
    pub fn default_secrets_file(&self) -> String {
        format!("./psoxy-{}.secrets.json", self.id)
    }

    pub fn command(&self, sub: &str) -> String {
        if std::ptr::eq(self, default()) {
            format!("jira-psoxy-setup {sub}")
        } else {
            format!("jira-psoxy-setup {sub} --connector {}", self.id)
        }
    }

    /// Whether a scope sits under this connector's API in the console: granular
    /// (`read:group:jira`) or classic (`read:jira-work`).
    pub fn owns_scope(&self, scope: &str) -> bool {
        scope.ends_with(&format!(":{}", self.scope_word))
            || scope.contains(&format!(":{}-", self.scope_word))
    }
}

/// Files keep the id; a file from before the choice has none and means Jira Cloud.
pub mod serde_id {
    use super::*;

    pub fn serialize<S: Serializer>(c: &&'static Connector, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(c.id)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<&'static Connector, D::Error> {
        let id = String::deserialize(d)?;
        by_id(&id).ok_or_else(|| {
            serde::de::Error::custom(format!("unknown connector {id:?} (known: {})", ids()))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connectors_are_found_by_id_and_by_secret_name() {
        assert_eq!(by_id("confluence-cloud"), Some(&CONFLUENCE_CLOUD));
        assert_eq!(by_id("jira"), None);
        assert_eq!(
            of_secret("/x/ACME_CONFLUENCE_CLOUD_CLIENT_ID"),
            Some(&CONFLUENCE_CLOUD)
        );
        assert_eq!(
            of_secret("PSOXY_JIRA_CLOUD_REFRESH_TOKEN"),
            Some(&JIRA_CLOUD)
        );
        assert_eq!(
            secret_description("psoxy_JIRA_CLOUD_CLIENT_ID"),
            "Psoxy Jira Cloud secret (created by jira-psoxy-setup)"
        );
    }

    #[test]
    fn every_connector_asks_offline_access_first_and_owns_its_scopes() {
        for c in ALL {
            assert_eq!(
                c.default_scopes.first(),
                Some(&"offline_access"),
                "{}",
                c.id
            );
            assert!(
                c.default_scopes.iter().skip(1).all(|s| c.owns_scope(s)),
                "{}",
                c.id
            );
            assert!(c.verify.path_for("ID").contains("/ID/"), "{}", c.id);
        }
        assert!(!JIRA_CLOUD.owns_scope("read:page:confluence"));
        assert!(CONFLUENCE_CLOUD.owns_scope("read:confluence-content.summary"));
    }
}
