//! Helpers shared by the simulator's unit tests.

use serde_json::{Value, json};
use url::Url;

use super::{SimConfig, Simulator};

pub(super) fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The authorize URL of psoxy-contract §1 step 5 against the simulator.
pub(super) fn authorize_url(sim: &Simulator, scopes: &str, redirect_uri: &str, state: &str) -> Url {
    let mut url = sim.base_url().join("authorize").unwrap();
    url.query_pairs_mut()
        .append_pair("audience", "api.atlassian.com")
        .append_pair("client_id", "demo-client-id")
        .append_pair("scope", scopes)
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("state", state)
        .append_pair("response_type", "code")
        .append_pair("prompt", "consent");
    url
}

/// Submits `form` as the consent page's `<form method="post">` does (urlencoded body).
pub(super) async fn post_form(url: Url, form: &[(String, String)]) -> reqwest::Response {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish();
    client()
        .post(url)
        .header(
            reqwest::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        )
        .body(body)
        .send()
        .await
        .unwrap()
}

pub(super) fn default_scopes() -> String {
    super::DEFAULT_SCOPES.join(" ")
}

/// Value of query parameter `name` in `url`.
pub(super) fn param(url: &Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// Accepts consent in-process and returns the code.
pub(super) fn approve(sim: &Simulator, scopes: &str) -> String {
    let redirect = sim
        .decide(&authorize_url(sim, scopes, "http://localhost", "st"), true)
        .unwrap();
    param(&redirect, "code").expect("code in redirect")
}

pub(super) async fn post_token(sim: &Simulator, body: Value) -> reqwest::Response {
    client()
        .post(sim.base_url().join("oauth/token").unwrap())
        .json(&body)
        .send()
        .await
        .unwrap()
}

pub(super) async fn exchange(sim: &Simulator, code: &str) -> reqwest::Response {
    post_token(
        sim,
        json!({
            "grant_type": "authorization_code",
            "client_id": "demo-client-id",
            "client_secret": "demo-client-secret",
            "code": code,
            "redirect_uri": "http://localhost",
        }),
    )
    .await
}

pub(super) async fn refresh(sim: &Simulator, refresh_token: &str) -> reqwest::Response {
    post_token(
        sim,
        json!({
            "grant_type": "refresh_token",
            "client_id": "demo-client-id",
            "client_secret": "demo-client-secret",
            "refresh_token": refresh_token,
        }),
    )
    .await
}

/// Full flow with the default scopes: returns the token response JSON.
pub(super) async fn tokens(sim: &Simulator) -> Value {
    let resp = exchange(sim, &approve(sim, &default_scopes())).await;
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

pub(super) async fn start(config: SimConfig) -> Simulator {
    Simulator::start(config).await.unwrap()
}

pub(super) fn str_field(v: &Value, name: &str) -> String {
    v[name]
        .as_str()
        .unwrap_or_else(|| panic!("field {name} in {v}"))
        .to_string()
}

/// Submits the consent form of `authorize_url` the way the page does: its fields, the site
/// numbered `site`, and Accept. The simulator's answer (a redirect) is returned.
pub(super) async fn accept_consent(
    sim: &Simulator,
    authorize_url: &Url,
    site: u32,
) -> reqwest::Response {
    let mut form = authorize_url.query_pairs().into_owned().collect::<Vec<_>>();
    form.push(("site".into(), super::SimSite::numbered(site).id));
    form.push(("decision".into(), "accept".into()));
    post_form(sim.base_url().join("authorize/decide").unwrap(), &form).await
}
