//! Secrets that Psoxy's Terraform owns (psoxy-contract §3). `--create-missing` creates them
//! outside Terraform's state, so the next `terraform apply` fails with "already exists" until each
//! one is imported. What to tell the operator before and after, in one place for every store;
//! each store says which resource owns its secrets (`SecretStore::terraform_owned`).

/// The Terraform resource behind a store's secrets, and what `terraform import` needs for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owned {
    resource_type: &'static str,
    /// The import id as a shell word, with `{name}` where the secret's name goes.
    import_id: String,
    refusal: Option<String>,
}

impl Owned {
    pub fn new(resource_type: &'static str, import_id: &str) -> Owned {
        Owned {
            resource_type,
            import_id: import_id.to_string(),
            refusal: None,
        }
    }

    /// The same, but nothing may be created yet, for this reason.
    pub fn refused(mut self, why: &str) -> Owned {
        self.refusal = Some(why.to_string());
        self
    }

    pub fn resource_type(&self) -> &'static str {
        self.resource_type
    }

    /// The id `terraform import` takes for the resource named `name`, as a shell word.
    pub fn import_id(&self, name: &str) -> String {
        self.import_id.replace("{name}", name)
    }

    /// Why nothing may be created yet, if so: the one-line error that says what to do.
    pub fn refusal(&self) -> Option<String> {
        self.refusal.clone()
    }
}

/// Said before anything is created.
pub fn before_creating(owned: &Owned) -> String {
    format!(
        "these are normally created by Psoxy's Terraform: created here, they are outside its state, and the next `terraform apply` fails with \"already exists\" until each is imported ({} ids are printed afterwards); running `terraform apply` first avoids this",
        owned.resource_type()
    )
}

/// Said after `created` were created: the `terraform import` command for each. The address is
/// the operator's (it depends on their root module); `terraform plan` lists it as "will be
/// created".
pub fn after_creating(owned: &Owned, created: &[String]) -> Vec<String> {
    let mut lines = vec![format!(
        "before the next `terraform apply`, import each into its address (the {} that `terraform plan` says it will create for that name):",
        owned.resource_type()
    )];
    lines.extend(
        created
            .iter()
            .map(|name| format!("  terraform import '<address>' {}", owned.import_id(name))),
    );
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{gcp, secrets_manager, ssm};

    #[test]
    fn import_ids_per_store() {
        assert_eq!(
            ssm::terraform_owned().import_id("/x/ACME_JIRA_CLOUD_CLIENT_ID"),
            "'/x/ACME_JIRA_CLOUD_CLIENT_ID'"
        );
        assert_eq!(
            secrets_manager::terraform_owned().import_id("/x/ACME_JIRA_CLOUD_CLIENT_ID"),
            "\"$(aws secretsmanager describe-secret --secret-id '/x/ACME_JIRA_CLOUD_CLIENT_ID' --query ARN --output text)\""
        );
        let gcp = gcp::terraform_owned("acme-psoxy", true);
        assert_eq!(
            gcp.import_id("psoxy_JIRA_CLOUD_CLIENT_ID"),
            "'projects/acme-psoxy/secrets/psoxy_JIRA_CLOUD_CLIENT_ID'"
        );
        let lines = after_creating(&gcp, &["a".into(), "b".into()]);
        assert_eq!(lines.len(), 3);
        assert_eq!(
            lines[2],
            "  terraform import '<address>' 'projects/acme-psoxy/secrets/b'"
        );
        assert!(gcp.refusal().is_none() && ssm::terraform_owned().refusal().is_none());
    }

    #[test]
    fn gcp_without_a_replication_choice_is_refused() {
        let gcp = gcp::terraform_owned("p", false);
        let why = gcp.refusal().unwrap();
        assert!(why.contains("terraform apply") && why.contains("--gcp-replication"));
        assert!(before_creating(&gcp).contains("already exists"));
    }
}
