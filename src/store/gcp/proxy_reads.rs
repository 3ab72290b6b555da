//! The ACCESS_TOKEN versions a running proxy considers on GCP
//! (`SecretManagerConfigService.getAvailableVersions`, psoxy-contract §8 item 4): every ENABLED
//! version, the highest number first, the first five, each accessed.

use super::ops::{Api, version_number};
use crate::secret::SecretString;
use crate::store::{PROXY_VERSIONS_CONSIDERED, SecretKey, SecretNames, StoreResult};

pub async fn access_token_candidates(
    api: &Api,
    names: &SecretNames,
) -> StoreResult<Vec<SecretString>> {
    let id = names.name(SecretKey::AccessToken);
    let mut versions: Vec<(u64, String)> = api
        .enabled_versions(&id)
        .await?
        .into_iter()
        .filter_map(|v| version_number(&v.name).map(|n| (n, v.name)))
        .collect();
    versions.sort_by_key(|v| std::cmp::Reverse(v.0));
    let mut out = Vec::new();
    for (n, _) in versions.into_iter().take(PROXY_VERSIONS_CONSIDERED) {
        match api.access(&id, &n.to_string()).await {
            Ok((_, data)) => out.push(SecretString::from(
                String::from_utf8_lossy(&data).into_owned(),
            )),
            Err(e) => {
                tracing::warn!(secret = %id, version = n, "not readable as the proxy reads it: {e}")
            }
        }
    }
    Ok(out)
}
