//! Tests of the API endpoints, the request log and the server lifecycle.

use std::time::Duration;

use serde_json::Value;

use super::test_util::*;
use super::{SimConfig, SimSite, Simulator};

async fn get_with(sim: &Simulator, path: &str, token: Option<&str>) -> reqwest::Response {
    let mut req = client().get(sim.base_url().join(path).unwrap());
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    req.send().await.unwrap()
}

async fn resources(sim: &Simulator, token: Option<&str>) -> reqwest::Response {
    get_with(sim, "oauth/token/accessible-resources", token).await
}

#[tokio::test]
async fn accessible_resources_lists_zero_or_three_sites() {
    let sim = start(SimConfig {
        sites: vec![],
        ..SimConfig::default()
    })
    .await;
    let at = str_field(&tokens(&sim).await, "access_token");
    let resp = resources(&sim, Some(&at)).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.json::<Value>().await.unwrap(), Value::Array(vec![]));

    sim.set_sites((1..=3).map(SimSite::numbered).collect());
    let list: Vec<Value> = resources(&sim, Some(&at)).await.json().await.unwrap();
    assert_eq!(list.len(), 3);
    for (i, site) in list.iter().enumerate() {
        let n = i as u32 + 1;
        assert_eq!(site["id"], SimSite::numbered(n).id.as_str());
        assert_eq!(site["name"], format!("Acme {n}"));
        assert_eq!(site["url"], format!("https://acme{n}.atlassian.net"));
        assert!(site["avatarUrl"].as_str().unwrap().starts_with("https://"));
        let scopes: Vec<&str> = site["scopes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap())
            .collect();
        assert_eq!(scopes.join(" "), default_scopes());
    }
    assert_ne!(list[0]["id"], list[1]["id"]);
}

#[test]
fn numbered_sites_are_deterministic_uuid_like() {
    let site = SimSite::numbered(12);
    assert_eq!(site.id, "0000000c-0000-4000-8000-00000000000c");
    assert_eq!(site, SimSite::numbered(12));
    assert_eq!(site.id.len(), 36);
}

#[tokio::test]
async fn accessible_resources_rate_limit_then_ok() {
    let sim = start(SimConfig {
        rate_limit_accessible_resources: 2,
        ..SimConfig::default()
    })
    .await;
    let at = str_field(&tokens(&sim).await, "access_token");
    for _ in 0..2 {
        let resp = resources(&sim, Some(&at)).await;
        assert_eq!(resp.status(), 429);
        assert_eq!(resp.headers()["retry-after"], "1");
    }
    let resp = resources(&sim, Some(&at)).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.json::<Vec<Value>>().await.unwrap().len(), 1);
}

#[tokio::test]
async fn accessible_resources_rejects_bad_tokens() {
    let sim = start(SimConfig::default()).await;
    let body = tokens(&sim).await;
    assert_eq!(resources(&sim, None).await.status(), 401);
    assert_eq!(resources(&sim, Some("sim-at-forged")).await.status(), 401);
    // A refresh token is not an access token.
    assert_eq!(
        resources(&sim, Some(&str_field(&body, "refresh_token")))
            .await
            .status(),
        401
    );
    let at = str_field(&body, "access_token");
    assert_eq!(resources(&sim, Some(&at)).await.status(), 200);
    sim.advance_time(Duration::from_secs(3601));
    assert!(!sim.is_live_access_token(&at));
    assert_eq!(resources(&sim, Some(&at)).await.status(), 401);
}

#[tokio::test]
async fn myself_checks_token_and_cloud_id() {
    let sim = start(SimConfig::default()).await;
    let at = str_field(&tokens(&sim).await, "access_token");
    let cloud = SimSite::numbered(1).id;
    let path = format!("ex/jira/{cloud}/rest/api/3/myself");

    let resp = get_with(&sim, &path, Some(&at)).await;
    assert_eq!(resp.status(), 200);
    let me: Value = resp.json().await.unwrap();
    assert_eq!(me["accountId"], "5b10ac8d82e05b22cc7d4ef5");
    assert_eq!(me["displayName"], "Demo Admin");
    assert_eq!(me["emailAddress"], "admin@acme.example");
    assert_eq!(me["active"], true);
    assert_eq!(me["accountType"], "atlassian");

    assert_eq!(get_with(&sim, &path, None).await.status(), 401);
    assert_eq!(
        get_with(&sim, &path, Some("sim-at-bogus")).await.status(),
        401
    );
    let other = SimSite::numbered(2).id;
    let resp = get_with(
        &sim,
        &format!("ex/jira/{other}/rest/api/3/myself"),
        Some(&at),
    )
    .await;
    assert_eq!(resp.status(), 404);
    assert!(resp.json::<Value>().await.is_ok());
}

#[tokio::test]
async fn myself_requires_a_user_read_scope() {
    let sim = start(SimConfig::default()).await;
    let at = str_field(
        &exchange(&sim, &approve(&sim, "read:jira-work"))
            .await
            .json()
            .await
            .unwrap(),
        "access_token",
    );
    let path = format!("ex/jira/{}/rest/api/3/myself", SimSite::numbered(1).id);
    assert_eq!(get_with(&sim, &path, Some(&at)).await.status(), 401);
}

#[tokio::test]
async fn request_log_has_method_and_path_only() {
    let sim = start(SimConfig::default()).await;
    let body = tokens(&sim).await;
    let at = str_field(&body, "access_token");
    resources(&sim, Some(&at)).await;
    let url = authorize_url(&sim, &default_scopes(), "http://localhost", "secret-state");
    client().get(url).send().await.unwrap();
    assert_eq!(get_with(&sim, "nowhere", None).await.status(), 404);
    let log = sim.requests();
    assert_eq!(
        log,
        vec![
            "POST /oauth/token",
            "GET /oauth/token/accessible-resources",
            "GET /authorize",
            "GET /nowhere",
        ]
    );
    let joined = log.join("\n");
    assert!(
        !joined.contains(&at)
            && !joined.contains("secret-state")
            && !joined.contains("demo-client")
    );
}

#[tokio::test]
async fn request_log_is_served_as_json() {
    let sim = start(SimConfig::default()).await;
    assert_eq!(get_with(&sim, "nowhere", None).await.status(), 404);
    let resp = get_with(&sim, "_sim/requests", None).await;
    assert_eq!(resp.status(), 200);
    let log: Vec<String> = resp.json().await.unwrap();
    assert_eq!(log, vec!["GET /nowhere", "GET /_sim/requests"]);
}

#[tokio::test]
async fn shutdown_stops_serving_and_base_url_is_loopback() {
    let sim = start(SimConfig::default()).await;
    let base = sim.base_url();
    assert_eq!(base.host_str(), Some("127.0.0.1"));
    assert_eq!(base.path(), "/");
    assert_eq!(get_with(&sim, "nowhere", None).await.status(), 404);
    sim.shutdown().await;
    assert!(
        client()
            .get(base.join("nowhere").unwrap())
            .send()
            .await
            .is_err()
    );
}

#[tokio::test]
async fn serve_on_fixed_address() {
    let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = probe.local_addr().unwrap();
    drop(probe);
    let sim = Simulator::serve_on(SimConfig::default(), addr)
        .await
        .unwrap();
    assert_eq!(sim.local_addr(), addr);
    assert_eq!(sim.base_url().port(), Some(addr.port()));
    // The port is taken while the simulator runs.
    assert!(
        Simulator::serve_on(SimConfig::default(), addr)
            .await
            .is_err()
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn the_site_picked_on_consent_is_the_only_site_the_token_reaches() {
    let config = SimConfig {
        sites: vec![super::SimSite::numbered(1), super::SimSite::numbered(2)],
        ..SimConfig::default()
    };
    let sim = start(config).await;
    let url = authorize_url(&sim, &default_scopes(), "http://localhost", "s");
    let html = client()
        .get(url.clone())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("<select id=\"site\" name=\"site\">"),
        "{html}"
    );
    let resp = accept_consent(&sim, &url, 2).await;
    let location = url::Url::parse(resp.headers()["location"].to_str().unwrap()).unwrap();
    let tokens: Value = exchange(&sim, &param(&location, "code").unwrap())
        .await
        .json()
        .await
        .unwrap();
    let sites: Value = client()
        .get(
            sim.base_url()
                .join("oauth/token/accessible-resources")
                .unwrap(),
        )
        .bearer_auth(tokens["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ids: Vec<&str> = sites
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [super::SimSite::numbered(2).id.as_str()]);
}
