//! Which sites the token reaches (`accessible-resources`), choosing one, and the connector's
//! verifying call (Jira's `/myself`, Confluence's `/user/current`).

use serde::{Deserialize, Serialize};

use super::AtlassianClient;
use crate::connector::Connector;
use crate::error::{Error, Result};
use crate::http::{network_error, redirect_refused, send_idempotent};
use crate::sanitize::remote_text;
use crate::secret::{ExposeSecret, SecretString};

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
pub struct Site {
    pub id: String,
    pub name: String,
    pub url: String,
    #[serde(default)]
    pub scopes: Vec<String>,
}

impl Site {
    /// The site with its printed fields cleaned for the terminal (the name and URL are the site
    /// admin's text; the id's shape is checked where it is used).
    fn sanitized(self) -> Site {
        Site {
            id: remote_text(&self.id),
            name: remote_text(&self.name),
            url: remote_text(&self.url),
            scopes: self.scopes.iter().map(|s| remote_text(s)).collect(),
        }
    }

    pub fn label(&self) -> String {
        format!("{} ({}) {}", self.name, self.url, self.id)
    }
}

/// Who authorized, as the verifying call answers (Jira: `emailAddress`, Confluence: `email`; either
/// may be hidden by the user's profile settings).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AtlassianUser {
    pub account_id: String,
    pub display_name: String,
    #[serde(default, alias = "email")]
    pub email_address: Option<String>,
}

impl AtlassianUser {
    /// The user with every printed field cleaned for the terminal (a user picks their own name).
    fn sanitized(self) -> AtlassianUser {
        AtlassianUser {
            account_id: remote_text(&self.account_id),
            display_name: remote_text(&self.display_name),
            email_address: self.email_address.as_deref().map(remote_text),
        }
    }
}

impl AtlassianClient {
    /// The sites the token reaches. Every id must be a cloud id (a UUID, psoxy-contract §2)
    /// before anything uses it: ids go into URL paths and terraform.tfvars.
    pub async fn accessible_resources(&self, access_token: &SecretString) -> Result<Vec<Site>> {
        let url = Self::join(&self.api_base, "oauth/token/accessible-resources");
        let sites: Vec<Site> = self
            .get_json(url, access_token, "accessible-resources")
            .await?;
        for site in &sites {
            check_cloud_id(&site.id)?;
        }
        Ok(sites.into_iter().map(Site::sanitized).collect())
    }

    /// Verifies the token against the chosen site with the connector's call, and says who
    /// authorized.
    pub async fn verify(
        &self,
        connector: &Connector,
        access_token: &SecretString,
        cloud_id: &str,
    ) -> Result<AtlassianUser> {
        check_cloud_id(cloud_id)?;
        let path = connector.verify.path_for(cloud_id);
        let user: AtlassianUser = self
            .get_json(
                Self::join(&self.api_base, &path),
                access_token,
                connector.verify.what,
            )
            .await?;
        Ok(user.sanitized())
    }

    /// An authenticated GET, retried when safe, whose JSON answer is parsed into `T`.
    async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        url: url::Url,
        token: &SecretString,
        what: &str,
    ) -> Result<T> {
        let resp = send_idempotent(&self.retry, what, || {
            self.http
                .get(url.clone())
                .bearer_auth(token.expose_secret())
        })
        .await?;
        let status = resp.status();
        if status.is_redirection() {
            return Err(redirect_refused(what, &url, status, "--atlassian-api-url"));
        }
        if !status.is_success() {
            return Err(api_error(what, status.as_u16()));
        }
        resp.json()
            .await
            .map_err(|e| network_error(&format!("reading the {what} answer"), e))
    }
}

fn api_error(what: &str, status: u16) -> Error {
    match status {
        401 => Error::Authorization(format!(
            "{what} answered 401: the access token was not accepted; authorize again"
        )),
        403 => Error::Authorization(format!(
            "{what} answered 403: the app lacks a scope or the user lacks access to the product; check the app's permissions"
        )),
        404 => Error::Site(format!(
            "{what} answered 404: the site is unknown to this token; choose another --site"
        )),
        429 => Error::Network(format!(
            "{what} is rate limited (429) even after retries: wait a minute and run again"
        )),
        s => Error::Network(format!("{what} failed (HTTP {s}): try again in a minute")),
    }
}

/// Whether `id` is a well-formed cloud id: a UUID, `8-4-4-4-12` hex digits.
pub fn is_cloud_id(id: &str) -> bool {
    let groups: Vec<&str> = id.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.chars().all(|c| c.is_ascii_hexdigit()))
}

/// Refuses a site id that is not a cloud id; the id is shown escaped and cut short.
pub fn check_cloud_id(id: &str) -> Result<()> {
    if is_cloud_id(id) {
        return Ok(());
    }
    let shown: String = id.chars().take(60).collect();
    Err(Error::Site(format!(
        "accessible-resources returned a site id that is not a cloud id (a UUID): {shown:?}; it was not used: check --atlassian-api-url points at Atlassian, and authorize again"
    )))
}

fn normalize_url(u: &str) -> String {
    let u = u.trim().trim_end_matches('/').to_lowercase();
    u.strip_prefix("https://")
        .or_else(|| u.strip_prefix("http://"))
        .unwrap_or(&u)
        .to_string()
}

/// Picks the site named by `--site` (by id, URL or name); never "the first one".
pub fn match_site<'a>(sites: &'a [Site], wanted: &str) -> Result<&'a Site> {
    let w = wanted.trim();
    let hits: Vec<&Site> = sites
        .iter()
        .filter(|s| {
            s.id.eq_ignore_ascii_case(w)
                || normalize_url(&s.url) == normalize_url(w)
                || normalize_url(&s.url).split('.').next() == Some(&w.to_lowercase())
                || s.name.eq_ignore_ascii_case(w)
        })
        .collect();
    let listing = || listing(sites);
    match hits.as_slice() {
        [one] => Ok(one),
        [] => Err(Error::Site(format!(
            "--site {w:?} matches none of the authorized sites: use one of: {}",
            listing()
        ))),
        _ => Err(Error::Site(format!(
            "--site {w:?} matches several sites: give the cloud id, one of: {}",
            listing()
        ))),
    }
}

/// How many sites an error lists: a token can reach a thousand, and an error is one line.
const LISTED: usize = 10;

/// The sites' labels for an error line, the first `LISTED` of them and how many more.
pub fn listing(sites: &[Site]) -> String {
    let mut text = sites
        .iter()
        .take(LISTED)
        .map(Site::label)
        .collect::<Vec<_>>()
        .join("; ");
    if sites.len() > LISTED {
        text.push_str(&format!(
            "; and {} more (pass a site's cloud id or URL)",
            sites.len().saturating_sub(LISTED)
        ));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_lists_ten_sites_and_counts_the_rest() {
        let many: Vec<Site> = (0..1000)
            .map(|n| {
                site(
                    &n.to_string(),
                    &format!("Site {n}"),
                    "https://x.atlassian.net",
                )
            })
            .collect();
        let text = listing(&many);
        assert!(
            text.contains("Site 9 ") && !text.contains("Site 10 "),
            "{text}"
        );
        assert!(
            text.ends_with("and 990 more (pass a site's cloud id or URL)"),
            "{text}"
        );
        assert!(text.len() < 1000, "{}", text.len());
        assert!(!listing(&many[..3]).contains("more"));
    }

    fn site(id: &str, name: &str, url: &str) -> Site {
        Site {
            id: id.into(),
            name: name.into(),
            url: url.into(),
            scopes: vec![],
        }
    }

    #[test]
    fn matches_by_id_url_subdomain_and_name() {
        let sites = vec![
            site("1", "Acme", "https://acme.atlassian.net"),
            site("2", "Beta", "https://beta.atlassian.net"),
        ];
        assert_eq!(match_site(&sites, "2").unwrap().id, "2");
        assert_eq!(match_site(&sites, "acme.atlassian.net/").unwrap().id, "1");
        assert_eq!(
            match_site(&sites, "https://BETA.atlassian.net").unwrap().id,
            "2"
        );
        assert_eq!(match_site(&sites, "beta").unwrap().id, "2");
        assert_eq!(match_site(&sites, "ACME").unwrap().id, "1");
    }

    #[test]
    fn only_uuids_are_cloud_ids() {
        assert!(is_cloud_id("a436116f-02ce-4520-8fbb-7301462a1674"));
        assert!(is_cloud_id("A436116F-02CE-4520-8FBB-7301462A1674"));
        for bad in [
            "",
            "1",
            "../../oauth/token",
            "a436116f-02ce-4520-8fbb-7301462a1674?x=1",
            "a436116f-02ce-4520-8fbb-7301462a167/",
            "a436116f-02ce-4520-8fbb-7301462a16745",
            "a436116f-02ce-4520-8fbb-7301462a167g",
            "a436116f02ce-4520-8fbb-7301462a1674-",
        ] {
            assert!(!is_cloud_id(bad), "{bad}");
        }
        let e = check_cloud_id("../x?y").unwrap_err();
        assert!(matches!(e, Error::Site(_)) && e.to_string().contains("not a cloud id"));
    }

    #[test]
    fn no_match_and_several_matches_are_errors_listing_the_sites() {
        let sites = vec![
            site("1", "Same", "https://a.atlassian.net"),
            site("2", "Same", "https://b.atlassian.net"),
        ];
        let none = match_site(&sites, "zzz").unwrap_err().to_string();
        assert!(none.contains("matches none") && none.contains("https://a.atlassian.net"));
        assert!(
            match_site(&sites, "same")
                .unwrap_err()
                .to_string()
                .contains("several")
        );
    }

    /// A server that counts its requests and answers each with `status`, sending the client to
    /// `location`.
    async fn answering(
        status: u16,
        location: &str,
    ) -> (url::Url, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let hits = std::sync::Arc::new(AtomicUsize::new(0));
        let counter = hits.clone();
        let location = location.to_string();
        let app = axum::Router::new().fallback(move || {
            counter.fetch_add(1, Ordering::SeqCst);
            let location = location.clone();
            async move {
                (
                    axum::http::StatusCode::from_u16(status).unwrap(),
                    [("location", location)],
                )
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = url::Url::parse(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (base, hits)
    }

    #[tokio::test]
    async fn a_bearer_call_answered_with_a_redirect_is_an_error_and_the_token_goes_nowhere_else() {
        use std::sync::atomic::Ordering;
        for status in [307, 308] {
            let (elsewhere, elsewhere_hits) = answering(200, "").await;
            let target = format!("{elsewhere}oauth/token/accessible-resources");
            let (api, api_hits) = answering(status, &target).await;
            let c = AtlassianClient::new(crate::http::client(), api.clone(), api.clone());
            let err = c
                .accessible_resources(&SecretString::from("bearer-sentinel"))
                .await
                .unwrap_err()
                .to_string();
            assert_eq!(
                api_hits.load(Ordering::SeqCst),
                1,
                "asked once, not retried"
            );
            assert_eq!(
                elsewhere_hits.load(Ordering::SeqCst),
                0,
                "the redirect was followed"
            );
            assert!(
                err.contains(&format!("{api}oauth/token/accessible-resources")),
                "{err}"
            );
            assert!(
                err.contains(&format!("HTTP {status}")) && err.contains("--atlassian-api-url"),
                "{err}"
            );
        }
    }
}
