//! What a running proxy reads in a Secrets Manager deployment, read the same way
//! (psoxy-contract §8 items 4 and 6): the ACCESS_TOKEN versions it considers, and the SSM
//! parameters it takes `CLIENT_ID` from first.

use super::*;

impl SecretsManagerStore {
    /// SSM parameters the proxy reads `CLIENT_ID` from before Secrets Manager
    /// (`RefreshTokenTokenRequestBuilder.getClientId`, psoxy-contract §8 item 6): the instance
    /// parameter `<prefix>CLIENT_ID` and the shared one under the root path (`CLIENT_ID` alone
    /// without one). A placeholder, or one the proxy could not read, does not count.
    pub(super) async fn ssm_client_ids(&self, names: &SecretNames) -> Vec<String> {
        let shared = format!("{}CLIENT_ID", secret_name(&self.root_path));
        let mut found = Vec::new();
        for param in [names.name(SecretKey::ClientId), shared] {
            match self.ssm.read(&param).await {
                Ok(Some(v)) if !is_placeholder(v.value.expose_secret()) => {
                    found.push(format!("the SSM parameter {param}"));
                }
                Ok(_) => {}
                Err(e) => tracing::info!(%param, "not checked for a leftover CLIENT_ID: {e}"),
            }
        }
        found.dedup();
        found
    }

    /// The versions a running proxy considers (psoxy-contract §8 item 4): the first
    /// `ListSecretVersionIds` page, those staged AWSCURRENT or AWSPREVIOUS, newest `CreatedDate`
    /// first, five, each read by version id.
    pub(super) async fn versions_as_proxy_reads(&self, id: &str) -> StoreResult<Vec<SecretString>> {
        let id = secret_name(id);
        let listed = match self
            .client
            .list_secret_version_ids()
            .secret_id(&id)
            .send()
            .await
        {
            Ok(out) => out,
            Err(e) if code(&e) == Some(NOT_FOUND) => return Ok(Vec::new()),
            Err(e) => {
                return Err(classify(
                    e,
                    Op::new("secretsmanager:ListSecretVersionIds", &id),
                ));
            }
        };
        let mut versions: Vec<_> = listed
            .versions()
            .iter()
            .filter(|v| {
                v.version_stages()
                    .iter()
                    .any(|s| s == CURRENT || s == "AWSPREVIOUS")
            })
            .collect();
        versions.sort_by(|a, b| b.created_date().cmp(&a.created_date()));
        let mut out = Vec::new();
        for v in versions.into_iter().take(PROXY_VERSIONS_CONSIDERED) {
            let Some(version) = v.version_id() else {
                continue;
            };
            match self
                .client
                .get_secret_value()
                .secret_id(&id)
                .version_id(version)
                .send()
                .await
            {
                Ok(got) => out.extend(
                    got.secret_string()
                        .map(|s| SecretString::from(s.to_string())),
                ),
                Err(e) => {
                    tracing::warn!(secret = %id, "a version the proxy would read is unreadable: {}", classify(e, Op::new("secretsmanager:GetSecretValue", &id)))
                }
            }
        }
        Ok(out)
    }
}
