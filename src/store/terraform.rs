//! Secrets that Psoxy's Terraform owns (psoxy-contract §3). `--create-missing` creates them
//! outside Terraform's state, so the next `terraform apply` fails with "already exists" until each
//! one is imported. What to tell the operator before and after, in one place for every store.

/// The Terraform resource behind a store's secrets, and what `terraform import` needs for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owned {
    /// `aws_ssm_parameter`, imported by its name.
    SsmParameter,
    /// `aws_secretsmanager_secret`, imported by its ARN, which ends in a random suffix that
    /// only AWS knows: the printed command asks AWS for it.
    SecretsManagerSecret,
    /// `google_secret_manager_secret`, imported as `projects/<project>/secrets/<id>`.
    GcpSecret {
        project: String,
        /// Whether `--gcp-replication` chose a policy: Psoxy's Terraform sets user-managed
        /// replicas, and a secret's replication cannot be changed once it exists.
        replication_chosen: bool,
    },
}

impl Owned {
    pub fn resource_type(&self) -> &'static str {
        match self {
            Owned::SsmParameter => "aws_ssm_parameter",
            Owned::SecretsManagerSecret => "aws_secretsmanager_secret",
            Owned::GcpSecret { .. } => "google_secret_manager_secret",
        }
    }

    /// The id `terraform import` takes for the resource named `name`, as a shell word.
    pub fn import_id(&self, name: &str) -> String {
        match self {
            Owned::SsmParameter => format!("'{name}'"),
            Owned::SecretsManagerSecret => format!(
                "\"$(aws secretsmanager describe-secret --secret-id '{name}' --query ARN --output text)\""
            ),
            Owned::GcpSecret { project, .. } => format!("'projects/{project}/secrets/{name}'"),
        }
    }

    /// Why nothing may be created yet, if so: the one-line error that says what to do.
    pub fn refusal(&self) -> Option<String> {
        match self {
            Owned::GcpSecret {
                replication_chosen: false,
                ..
            } => Some(
                "creating the missing secrets needs a replication policy, which Psoxy's Terraform sets (user-managed replicas in its replica_locations): run `terraform apply` for this environment, or pass --gcp-replication user-managed:LOCATION[,LOCATION] (the same locations) or --gcp-replication automatic".into(),
            ),
            _ => None,
        }
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

    #[test]
    fn import_ids_per_store() {
        assert_eq!(
            Owned::SsmParameter.import_id("/x/ACME_JIRA_CLOUD_CLIENT_ID"),
            "'/x/ACME_JIRA_CLOUD_CLIENT_ID'"
        );
        assert_eq!(
            Owned::SecretsManagerSecret.import_id("/x/ACME_JIRA_CLOUD_CLIENT_ID"),
            "\"$(aws secretsmanager describe-secret --secret-id '/x/ACME_JIRA_CLOUD_CLIENT_ID' --query ARN --output text)\""
        );
        let gcp = Owned::GcpSecret {
            project: "acme-psoxy".into(),
            replication_chosen: true,
        };
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
        assert!(gcp.refusal().is_none() && Owned::SsmParameter.refusal().is_none());
    }

    #[test]
    fn gcp_without_a_replication_choice_is_refused() {
        let gcp = Owned::GcpSecret {
            project: "p".into(),
            replication_chosen: false,
        };
        let why = gcp.refusal().unwrap();
        assert!(why.contains("terraform apply") && why.contains("--gcp-replication"));
        assert!(before_creating(&gcp).contains("already exists"));
    }
}
