//! The preflight on GCP: every secret exists, and the caller holds on each the permissions the
//! write needs, asked of Secret Manager itself with testIamPermissions.

use super::{GcpStore, ops};
use crate::store::{Preflight, SecretNames, StoreError, StoreResult};

impl GcpStore {
    /// Each secret must exist (else it is reported missing) and the caller must hold, on each,
    /// the permissions the write needs, checked with testIamPermissions (it needs no permission
    /// itself and changes nothing). Creating missing secrets needs `secretmanager.secrets.create`
    /// on the project, which this API cannot test: `create_missing` reports it if it is denied.
    pub(super) async fn check_before_writing(&self, names: &SecretNames) -> StoreResult<Preflight> {
        let mut ids: Vec<(String, bool)> = names.all().into_iter().map(|n| (n, true)).collect();
        ids.push((names.lock_name(), false));
        let mut tasks = tokio::task::JoinSet::new();
        for (i, (id, value_secret)) in ids.iter().enumerate() {
            let (api, id, required) = (self.api.clone(), id.clone(), self.required(*value_secret));
            tasks.spawn(async move {
                if api.get(&id).await?.is_none() {
                    return Ok((i, id, None));
                }
                let granted = api.granted(&id, &required).await?;
                let lacking: Vec<&str> = required
                    .into_iter()
                    .filter(|p| !granted.iter().any(|g| g == p))
                    .collect();
                Ok::<_, StoreError>((i, id, Some(lacking)))
            });
        }
        let mut results = Vec::new();
        while let Some(joined) = tasks.join_next().await {
            results.push(joined.map_err(|e| StoreError::Other(e.to_string()))??);
        }
        results.sort_by_key(|r| r.0);
        let mut report = Preflight::default();
        // permission -> the secrets it is missing on, in a stable order
        let mut denied: Vec<(&str, Vec<String>)> = Vec::new();
        for (_, id, lacking) in results {
            let Some(lacking) = lacking else {
                report.missing.push(id);
                continue;
            };
            for p in lacking {
                match denied.iter_mut().find(|(q, _)| *q == p) {
                    Some((_, ids)) => ids.push(id.clone()),
                    None => denied.push((p, vec![id.clone()])),
                }
            }
        }
        if !denied.is_empty() {
            let list: Vec<String> = denied
                .iter()
                .map(|(p, ids)| format!("{p} (on {})", ids.join(", ")))
                .collect();
            return Err(StoreError::PermissionDenied(format!(
                "the account running this tool lacks {} in project {}: grant roles/secretmanager.admin on these secrets (or a custom role with exactly these permissions), then run again",
                list.join("; "),
                self.api.project,
            )));
        }
        Ok(report)
    }

    /// The permissions a write needs on a secret: a value secret, or the lock.
    fn required(&self, value_secret: bool) -> Vec<&'static str> {
        if !value_secret {
            return vec![ops::GET, ops::UPDATE];
        }
        let retire = if self.destroy_old {
            ops::DESTROY
        } else {
            ops::DISABLE
        };
        vec![
            ops::GET,
            ops::UPDATE,
            ops::ADD,
            ops::ACCESS,
            ops::VERSION_LIST,
            retire,
        ]
    }
}
