//! The ACCESS_TOKEN versions a running proxy sees on SSM (psoxy-contract §8 item 4): ONE
//! `GetParameterHistory` page of `MaxResults = 10`, in the order the service returns it, no
//! follow-up page; `fill me` dropped, sorted newest first, five kept. With more than ten versions
//! and the service answering oldest first (moto does; AWS documents no order), a version written
//! now is not among them.

use aws_sdk_ssm::types::ParameterHistory;

use super::SsmStore;
use super::error::{Op, classify, code};
use crate::secret::SecretString;
use crate::store::{PROXY_VERSIONS_CONSIDERED, StoreResult, is_placeholder};

/// `ParameterStoreConfigService.getAvailableVersions`: `MaxResults = 2 × limit`.
const PAGE: i32 = 2 * PROXY_VERSIONS_CONSIDERED as i32;

/// The proxy's pick from one page: placeholders dropped, newest version first, five kept.
pub(crate) fn as_proxy_keeps(page: &[ParameterHistory]) -> Vec<SecretString> {
    let mut kept: Vec<(i64, &str)> = page
        .iter()
        .filter_map(|p| Some((p.version(), p.value()?)))
        .filter(|(_, v)| !is_placeholder(v))
        .collect();
    kept.sort_by_key(|v| std::cmp::Reverse(v.0));
    kept.into_iter()
        .take(PROXY_VERSIONS_CONSIDERED)
        .map(|(_, v)| SecretString::from(v.to_string()))
        .collect()
}

impl SsmStore {
    pub(super) async fn history_as_proxy_reads(
        &self,
        name: &str,
    ) -> StoreResult<Vec<SecretString>> {
        match self
            .client
            .get_parameter_history()
            .name(name)
            .max_results(PAGE)
            .with_decryption(true)
            .send()
            .await
        {
            Ok(out) => Ok(as_proxy_keeps(out.parameters())),
            Err(e) if code(&e) == Some("ParameterNotFound") => Ok(Vec::new()),
            Err(e) => Err(classify(e, Op::new("ssm:GetParameterHistory", name))),
        }
    }
}
