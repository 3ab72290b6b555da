//! The projects the credentials can see, offered when a terminal run asks which project holds the
//! secrets and no configuration names one: Cloud Resource Manager's `projects:search`, which
//! lists the projects the caller has `resourcemanager.projects.get` on. Where that is not
//! permitted, or fails in any way, the list is empty and the run asks for the id.

use std::time::Duration;

use serde::Deserialize;

use super::project::{Endpoint, valid_project};

const RESOURCE_MANAGER: &str = "https://cloudresourcemanager.googleapis.com";
/// The whole listing; a slow answer only costs the list, never the run.
const DEADLINE: Duration = Duration::from_secs(10);
/// Pages of up to 100 projects each: enough to choose from, never an endless walk.
const MAX_PAGES: usize = 5;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Search {
    #[serde(default)]
    projects: Vec<Project>,
    #[serde(default)]
    next_page_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Project {
    #[serde(default)]
    project_id: String,
}

/// The ids of the active projects the credentials can see, sorted; empty where listing is not
/// permitted. A loopback emulator (`--gcp-endpoint`) answers for Resource Manager too; another
/// private endpoint says nothing about Resource Manager, so nothing is listed there.
pub async fn visible_projects(endpoint: &Endpoint) -> Vec<String> {
    tokio::time::timeout(DEADLINE, search(endpoint))
        .await
        .ok()
        .flatten()
        .unwrap_or_default()
}

async fn search(endpoint: &Endpoint) -> Option<Vec<String>> {
    let (base, credentials) = match endpoint {
        Endpoint::Emulator(url) => (url.clone(), None),
        Endpoint::Google => (RESOURCE_MANAGER.to_string(), Some(adc().ok()?)),
        Endpoint::Https(_) => return None,
    };
    let headers = match &credentials {
        Some(c) => match c.headers(Default::default()).await.ok()? {
            google_cloud_auth::credentials::CacheableResource::New { data, .. } => Some(data),
            google_cloud_auth::credentials::CacheableResource::NotModified => None,
        },
        None => None,
    };
    let http = crate::http::client();
    let mut ids = Vec::new();
    let mut page: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let mut request = http
            .get(format!("{base}/v3/projects:search"))
            .query(&[("query", "state:ACTIVE"), ("pageSize", "100")]);
        if let Some(token) = &page {
            request = request.query(&[("pageToken", token)]);
        }
        if let Some(h) = &headers {
            request = request.headers(h.clone());
        }
        let response = request.send().await.ok()?;
        if !response.status().is_success() {
            return None;
        }
        let found: Search = response.json().await.ok()?;
        // Ids are checked like typed ones: nothing else reaches a prompt or a request path.
        ids.extend(
            found
                .projects
                .into_iter()
                .map(|p| p.project_id)
                .filter(|id| valid_project(id)),
        );
        match found.next_page_token.filter(|t| !t.is_empty()) {
            Some(token) => page = Some(token),
            None => break,
        }
    }
    ids.sort();
    ids.dedup();
    Some(ids)
}

fn adc() -> Result<google_cloud_auth::credentials::Credentials, String> {
    google_cloud_auth::credentials::Builder::default()
        .with_universe_domain(super::project::universe_domain())
        .build()
        .map_err(|e| e.to_string())
}
