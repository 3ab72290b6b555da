//! Tests of the authorize and token endpoints.

use std::time::Duration;

use serde_json::{Value, json};
use url::Url;

use super::test_util::*;
use super::{MissingScope, SimConfig, SimError};

#[tokio::test]
async fn consent_page_over_http_then_accept_redirects_with_code_and_state() {
    let sim = start(SimConfig::default()).await;
    let url = authorize_url(&sim, &default_scopes(), "http://localhost", "xyz123");
    let resp = client().get(url.clone()).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let html = resp.text().await.unwrap();
    assert!(html.contains("Acme 1") && html.contains("https://acme1.atlassian.net"));
    assert!(html.contains("read:jira-work") && html.contains("offline_access"));
    // Submit the consent form: its hidden fields, the site, and the Accept button (a POST).
    assert!(html.contains("<form method=\"post\" action=\"/authorize/decide\">"));
    assert!(html.contains("id=\"accept\" type=\"submit\" name=\"decision\" value=\"accept\""));
    let resp = accept_consent(&sim, &url, 1).await;
    assert_eq!(resp.status(), 303);
    let location = Url::parse(resp.headers()["location"].to_str().unwrap()).unwrap();
    assert_eq!(
        location.as_str().split('?').next().unwrap(),
        "http://localhost/"
    );
    assert_eq!(param(&location, "state").as_deref(), Some("xyz123"));
    let code = param(&location, "code").unwrap();
    assert!(code.starts_with("sim-code-") && code.len() >= "sim-code-".len() + 32);
    assert_eq!(exchange(&sim, &code).await.status(), 200);
}

#[tokio::test]
async fn redirect_uri_must_match_exactly() {
    let sim = start(SimConfig::default()).await;
    for bad in [
        "http://localhost/",
        "http://localhost:9000",
        "https://localhost",
        "",
    ] {
        let url = authorize_url(&sim, &default_scopes(), bad, "s");
        let resp = client().get(url.clone()).send().await.unwrap();
        assert_eq!(resp.status(), 400, "{bad}");
        assert!(resp.headers().get("location").is_none());
        assert!(resp.text().await.unwrap().contains("does not match"));
        assert!(matches!(
            sim.decide(&url, true),
            Err(SimError::RedirectUriMismatch { .. })
        ));
    }
    // With a trailing slash registered, the bare form is rejected instead.
    let config = SimConfig {
        redirect_uri: "http://localhost/".into(),
        ..SimConfig::default()
    };
    let sim2 = start(config).await;
    assert!(
        sim2.decide(
            &authorize_url(&sim2, "read:jira-work", "http://localhost", "s"),
            true
        )
        .is_err()
    );
    assert!(
        sim2.decide(
            &authorize_url(&sim2, "read:jira-work", "http://localhost/", "s"),
            true
        )
        .is_ok()
    );
}

#[tokio::test]
async fn bad_client_response_type_or_audience_give_error_page() {
    let sim = start(SimConfig::default()).await;
    let good = authorize_url(&sim, &default_scopes(), "http://localhost", "s");
    let tweak = |key: &str, value: Option<&str>| {
        let mut url = good.clone();
        let pairs: Vec<(String, String)> = good.query_pairs().into_owned().collect();
        let mut q = url.query_pairs_mut();
        q.clear();
        for (k, v) in pairs {
            if k != key {
                q.append_pair(&k, &v);
            } else if let Some(value) = value {
                q.append_pair(&k, value);
            }
        }
        drop(q);
        url
    };
    assert_eq!(
        sim.decide(&tweak("client_id", Some("other")), true),
        Err(SimError::UnknownClient)
    );
    for url in [
        tweak("client_id", None),
        tweak("response_type", Some("token")),
        tweak("response_type", None),
        tweak("audience", Some("example.com")),
        tweak("audience", None),
    ] {
        assert!(sim.decide(&url, true).is_err(), "{url}");
        let resp = client().get(url).send().await.unwrap();
        assert_eq!(resp.status(), 400);
        assert!(
            resp.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
    }
}

#[tokio::test]
async fn decline_redirects_with_access_denied_and_state() {
    let sim = start(SimConfig::default()).await;
    let url = authorize_url(&sim, &default_scopes(), "http://localhost", "st-9");
    let target = sim.decide(&url, false).unwrap();
    assert_eq!(param(&target, "error").as_deref(), Some("access_denied"));
    assert!(param(&target, "error_description").is_some());
    assert_eq!(param(&target, "state").as_deref(), Some("st-9"));
    assert!(param(&target, "code").is_none());
    // Same over HTTP.
    let mut form = url.query_pairs().into_owned().collect::<Vec<_>>();
    form.push(("decision".into(), "decline".into()));
    let decide = sim.base_url().join("authorize/decide").unwrap();
    let resp = post_form(decide.clone(), &form).await;
    assert_eq!(resp.status(), 303);
    assert_eq!(resp.headers()["referrer-policy"], "no-referrer");
    let get = client().get(decide).send().await.unwrap();
    assert_eq!(get.status(), 405, "a GET never decides");
    let location = Url::parse(resp.headers()["location"].to_str().unwrap()).unwrap();
    assert_eq!(param(&location, "error").as_deref(), Some("access_denied"));
    assert_eq!(param(&location, "state").as_deref(), Some("st-9"));
}

#[tokio::test]
async fn code_is_single_use_and_response_is_complete() {
    let sim = start(SimConfig::default()).await;
    let code = approve(&sim, &default_scopes());
    let resp = exchange(&sim, &code).await;
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    assert_eq!(str_field(&body, "scope"), default_scopes());
    let at = str_field(&body, "access_token");
    let rt = str_field(&body, "refresh_token");
    assert!(at.starts_with("sim-at-") && rt.starts_with("sim-rt-"));
    assert!(sim.is_live_access_token(&at) && sim.is_live_refresh_token(&rt));

    let again = exchange(&sim, &code).await;
    assert_eq!(again.status(), 403);
    let err: Value = again.json().await.unwrap();
    assert_eq!(
        err,
        json!({"error": "invalid_grant", "error_description": "Invalid authorization code"})
    );
    // Two consents give two different codes.
    assert_ne!(
        approve(&sim, &default_scopes()),
        approve(&sim, &default_scopes())
    );
}

#[tokio::test]
async fn expired_code_is_rejected() {
    let config = SimConfig {
        code_ttl: Duration::from_millis(1),
        ..SimConfig::default()
    };
    let sim = start(config).await;
    let code = approve(&sim, &default_scopes());
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(exchange(&sim, &code).await.status(), 403);

    // Default TTL, clock advanced past 10 minutes.
    let sim = start(SimConfig::default()).await;
    let code = approve(&sim, &default_scopes());
    sim.advance_time(Duration::from_secs(601));
    assert_eq!(exchange(&sim, &code).await.status(), 403);
}

#[tokio::test]
async fn wrong_secret_is_401_and_does_not_consume_code() {
    let sim = start(SimConfig::default()).await;
    let code = approve(&sim, &default_scopes());
    let body = json!({"grant_type": "authorization_code", "client_id": "demo-client-id",
        "client_secret": "nope", "code": code, "redirect_uri": "http://localhost"});
    let resp = post_token(&sim, body).await;
    assert_eq!(resp.status(), 401);
    let err: Value = resp.json().await.unwrap();
    assert_eq!(
        err,
        json!({"error": "access_denied", "error_description": "Unauthorized"})
    );
    assert_eq!(exchange(&sim, &code).await.status(), 200);
}

#[tokio::test]
async fn token_redirect_uri_must_equal_the_codes() {
    let sim = start(SimConfig::default()).await;
    let code = approve(&sim, &default_scopes());
    let body = json!({"grant_type": "authorization_code", "client_id": "demo-client-id",
        "client_secret": "demo-client-secret", "code": code, "redirect_uri": "http://localhost/"});
    let resp = post_token(&sim, body).await;
    assert_eq!(resp.status(), 403);
    let err: Value = resp.json().await.unwrap();
    assert_eq!(err["error"], "invalid_grant");
}

#[tokio::test]
async fn malformed_token_requests_are_400() {
    let sim = start(SimConfig::default()).await;
    let url = sim.base_url().join("oauth/token").unwrap();
    let resp = client()
        .post(url)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let err: Value = resp.json().await.unwrap();
    assert_eq!(err["error"], "invalid_request");
    let resp = post_token(
        &sim,
        json!({"grant_type": "authorization_code", "client_id": "demo-client-id"}),
    )
    .await;
    assert_eq!(resp.status(), 400);
    let resp = post_token(&sim, json!({"grant_type": "password"})).await;
    assert_eq!(resp.status(), 400);
    let err: Value = resp.json().await.unwrap();
    assert_eq!(err["error"], "unsupported_grant_type");
}

#[tokio::test]
async fn non_json_error_mode_answers_text_plain() {
    let config = SimConfig {
        non_json_token_errors: true,
        ..SimConfig::default()
    };
    let sim = start(config).await;
    let resp = exchange(&sim, "sim-code-doesnotexist").await;
    assert_eq!(resp.status(), 403);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    assert_eq!(resp.text().await.unwrap(), "Invalid authorization code");
    // A reused code too.
    let code = approve(&sim, &default_scopes());
    assert_eq!(exchange(&sim, &code).await.status(), 200);
    let resp = exchange(&sim, &code).await;
    assert_eq!(resp.status(), 403);
    assert_eq!(resp.text().await.unwrap(), "Invalid authorization code");
}

#[tokio::test]
async fn unconfigured_scope_gives_invalid_scope_redirect() {
    let sim = start(SimConfig::default()).await;
    let url = authorize_url(
        &sim,
        "read:jira-work write:jira-work",
        "http://localhost",
        "s1",
    );
    let target = sim.decide(&url, true).unwrap();
    assert_eq!(param(&target, "error").as_deref(), Some("invalid_scope"));
    assert!(
        param(&target, "error_description")
            .unwrap()
            .contains("write:jira-work")
    );
    assert_eq!(param(&target, "state").as_deref(), Some("s1"));
    assert!(param(&target, "code").is_none());
    let resp = client().get(url).send().await.unwrap();
    assert_eq!(resp.status(), 302);
    let location = Url::parse(resp.headers()["location"].to_str().unwrap()).unwrap();
    assert_eq!(param(&location, "error").as_deref(), Some("invalid_scope"));
}

#[tokio::test]
async fn grant_subset_mode_grants_only_configured_scopes() {
    let config = SimConfig {
        missing_scope: MissingScope::GrantSubset,
        app_scopes: vec!["read:jira-work".into(), "read:jira-user".into()],
        ..SimConfig::default()
    };
    let sim = start(config).await;
    let code = approve(&sim, &default_scopes());
    let body: Value = exchange(&sim, &code).await.json().await.unwrap();
    assert_eq!(str_field(&body, "scope"), "read:jira-user read:jira-work");
    // offline_access was not granted: no refresh token.
    assert!(body.get("refresh_token").is_none());
}

#[tokio::test]
async fn refresh_rotates_with_leeway_and_reuse_kills_family() {
    let sim = start(SimConfig::default()).await;
    let first = tokens(&sim).await;
    let rt1 = str_field(&first, "refresh_token");

    let r2: Value = refresh(&sim, &rt1).await.json().await.unwrap();
    let rt2 = str_field(&r2, "refresh_token");
    assert_ne!(rt1, rt2);
    assert_ne!(
        str_field(&r2, "access_token"),
        str_field(&first, "access_token")
    );
    assert_eq!(str_field(&r2, "scope"), default_scopes());
    // The old token still works within the 10-minute leeway.
    sim.advance_time(Duration::from_secs(9 * 60));
    assert!(sim.is_live_refresh_token(&rt1));
    let resp = refresh(&sim, &rt1).await;
    assert_eq!(resp.status(), 200);
    let rt3 = str_field(&resp.json().await.unwrap(), "refresh_token");

    // After the leeway, reusing rt1 fails and invalidates the whole family.
    sim.advance_time(Duration::from_secs(2 * 60));
    assert!(!sim.is_live_refresh_token(&rt1));
    assert!(sim.is_live_refresh_token(&rt3));
    let resp = refresh(&sim, &rt1).await;
    assert_eq!(resp.status(), 403);
    let err: Value = resp.json().await.unwrap();
    assert_eq!(
        err,
        json!({"error": "invalid_grant", "error_description": "Unknown or invalid refresh token."})
    );
    assert!(!sim.is_live_refresh_token(&rt3));
    assert_eq!(refresh(&sim, &rt3).await.status(), 403);
    assert_eq!(refresh(&sim, "sim-rt-unknown").await.status(), 403);
}

#[tokio::test]
async fn refresh_family_expires_365_days_after_first_issue() {
    let sim = start(SimConfig::default()).await;
    let mut rt = str_field(&tokens(&sim).await, "refresh_token");
    // Refresh every 60 days: inactivity never hits, the family still dies.
    for _ in 0..6 {
        sim.advance_time(Duration::from_secs(60 * 86400));
        let resp = refresh(&sim, &rt).await;
        assert_eq!(resp.status(), 200);
        rt = str_field(&resp.json().await.unwrap(), "refresh_token");
    }
    sim.advance_time(Duration::from_secs(5 * 86400 + 1));
    assert!(!sim.is_live_refresh_token(&rt));
    assert_eq!(refresh(&sim, &rt).await.status(), 403);
}

#[tokio::test]
async fn refresh_family_expires_after_90_days_of_inactivity() {
    let sim = start(SimConfig::default()).await;
    let rt = str_field(&tokens(&sim).await, "refresh_token");
    sim.advance_time(Duration::from_secs(89 * 86400));
    assert!(sim.is_live_refresh_token(&rt));
    sim.advance_time(Duration::from_secs(2 * 86400));
    assert_eq!(refresh(&sim, &rt).await.status(), 403);
}

#[tokio::test]
async fn refresh_with_wrong_secret_is_401() {
    let sim = start(SimConfig::default()).await;
    let rt = str_field(&tokens(&sim).await, "refresh_token");
    let body = json!({"grant_type": "refresh_token", "client_id": "demo-client-id",
        "client_secret": "wrong", "refresh_token": rt});
    assert_eq!(post_token(&sim, body).await.status(), 401);
    assert!(sim.is_live_refresh_token(&rt));
}
