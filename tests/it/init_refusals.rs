//! Every way `init` can be refused: a one-line error naming the fix, a distinct exit code, and
//! nothing written.

use crate::support;

use std::time::Duration;

use jira_psoxy_setup::sim::{MissingScope, SimConfig, SimSite};
use support::*;

#[tokio::test]
async fn several_sites_without_site_flag_fail_naming_the_flag_and_write_nothing() {
    let s = Session::new(SimConfig {
        sites: sites(3),
        ..loopback_config()
    })
    .await;
    let out = s
        .run(&s.init_args(), Browser::Follow { accept: true })
        .await;
    assert_eq!(out.code, 5, "{}", out.stderr);
    assert!(out.stderr.contains("--site"), "{}", out.stderr);
    assert!(!s.secrets_file().exists());
}

#[tokio::test]
async fn site_flag_matching_nothing_lists_the_sites() {
    let s = Session::new(SimConfig {
        sites: sites(2),
        ..loopback_config()
    })
    .await;
    let mut args = s.init_args();
    args.extend(strings(&["--site", "nowhere"]));
    let out = s.run(&args, Browser::Follow { accept: true }).await;
    assert_eq!(out.code, 5);
    assert!(
        out.stderr.contains("matches none") && out.stderr.contains("acme2.atlassian.net"),
        "{}",
        out.stderr
    );
}

/// Two sites share a name (a sandbox named like production): `--site` by that name is
/// ambiguous, so nothing is guessed and the error lists the cloud ids to choose from.
#[tokio::test]
async fn site_flag_matching_several_sites_asks_for_the_cloud_id() {
    let twin = |n: u32| SimSite {
        name: "Acme".into(),
        ..SimSite::numbered(n)
    };
    let s = Session::new(SimConfig {
        sites: vec![twin(1), twin(2)],
        ..loopback_config()
    })
    .await;
    let mut args = s.init_args();
    args.extend(strings(&["--site", "Acme"]));
    let out = s.run(&args, Browser::Follow { accept: true }).await;
    assert_eq!(out.code, 5, "{}", out.stderr);
    assert!(
        out.stderr.contains("matches several")
            && out.stderr.contains(&SimSite::numbered(1).id)
            && out.stderr.contains(&SimSite::numbered(2).id),
        "{}",
        out.stderr
    );
    assert!(!s.secrets_file().exists());
}

#[tokio::test]
async fn no_accessible_site_explains_how_to_grant_one() {
    let s = Session::new(SimConfig {
        sites: vec![],
        ..loopback_config()
    })
    .await;
    let out = s
        .run(&s.init_args(), Browser::Follow { accept: true })
        .await;
    assert_eq!(out.code, 5);
    assert!(
        out.stderr.contains("reaches no Jira site"),
        "{}",
        out.stderr
    );
    assert!(!s.secrets_file().exists());
}

#[tokio::test]
async fn a_pasted_url_from_another_attempt_is_refused() {
    let s = Session::new(loopback_config()).await;
    let mut args = s.init_args();
    args.push("--paste".into());
    let wrong_state = Browser::PasteWith(Box::new(|u: &url::Url| {
        let code = u
            .query_pairs()
            .find(|(k, _)| k == "code")
            .unwrap()
            .1
            .into_owned();
        format!(
            "{}?code={code}&state=someone-elses-state",
            u.as_str().split('?').next().unwrap()
        )
    }));
    let out = s.run(&args, wrong_state).await;
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(
        out.stderr.contains("that URL is from another run"),
        "{}",
        out.stderr
    );
    assert!(!s.secrets_file().exists());
}

#[tokio::test]
async fn pasted_garbage_or_a_url_without_code_is_refused() {
    let s = Session::new(loopback_config()).await;
    let mut args = s.init_args();
    args.push("--paste".into());
    let out = s
        .run(
            &args,
            Browser::PasteWith(Box::new(|_| "what is this?".into())),
        )
        .await;
    assert_eq!(out.code, 3);
    assert!(
        out.stderr.contains("neither a URL nor a code"),
        "{}",
        out.stderr
    );
    let no_code = Browser::PasteWith(Box::new(|u: &url::Url| {
        let state = u
            .query_pairs()
            .find(|(k, _)| k == "state")
            .unwrap()
            .1
            .into_owned();
        format!("http://127.0.0.1/callback?state={state}")
    }));
    let out = s.run(&args, no_code).await;
    assert_eq!(out.code, 3);
    assert!(out.stderr.contains("has no code"), "{}", out.stderr);
}

#[tokio::test]
async fn declined_consent_is_reported_on_both_paths() {
    let s = Session::new(loopback_config()).await;
    let out = s
        .run(&s.init_args(), Browser::Follow { accept: false })
        .await;
    assert_eq!(out.code, 4, "{}", out.stderr);
    assert!(out.stderr.contains("declined"), "{}", out.stderr);
    let mut args = s.init_args();
    args.push("--paste".into());
    let out = s.run(&args, Browser::Paste { accept: false }).await;
    assert_eq!(out.code, 4);
    assert!(out.stderr.contains("declined"));
    assert!(!s.secrets_file().exists());
}

/// A code is single-use: pasting yesterday's code (with today's state) must fail clearly.
async fn reused_code_story(non_json: bool) {
    let s = Session::new(SimConfig {
        non_json_token_errors: non_json,
        ..loopback_config()
    })
    .await;
    let first = s
        .run(&s.init_args(), Browser::Follow { accept: true })
        .await;
    assert_eq!(first.code, 0, "{}", first.stderr);
    let old_code = codes(&first.redirects).remove(0);
    let mut args = s.init_args();
    args.push("--paste".into());
    let reuse = Browser::PasteWith(Box::new(move |u: &url::Url| {
        let state = u
            .query_pairs()
            .find(|(k, _)| k == "state")
            .unwrap()
            .1
            .into_owned();
        format!(
            "{}?code={old_code}&state={state}",
            u.as_str().split('?').next().unwrap()
        )
    }));
    let out = s.run(&args, reuse).await;
    assert_eq!(out.code, 4, "{}", out.stderr);
    assert!(out.stderr.contains("authorize again"), "{}", out.stderr);
}

#[tokio::test]
async fn a_reused_code_asks_for_a_new_authorization() {
    reused_code_story(false).await;
}

#[tokio::test]
async fn a_reused_code_with_a_plain_text_error_body_is_understood() {
    reused_code_story(true).await;
}

/// The operator consents, then the tab loads eleven minutes later: the code lived ten, so the
/// exchange is refused and the error says to authorize again; nothing is written.
#[tokio::test]
async fn a_code_older_than_ten_minutes_asks_for_a_new_authorization() {
    let s = Session::new(loopback_config()).await;
    let out = s
        .run(
            &s.init_args(),
            Browser::FollowAfter(Duration::from_secs(11 * 60)),
        )
        .await;
    assert_eq!(out.code, 4, "{}", out.stderr);
    assert!(out.stderr.contains("authorize again"), "{}", out.stderr);
    assert!(!s.secrets_file().exists());
}

#[tokio::test]
async fn a_wrong_client_secret_is_named() {
    let s = Session::new(loopback_config()).await;
    let out = s
        .consents(
            &s.init_args(),
            &[("JIRA_CLIENT_SECRET", "SENTINEL-WRONG-secret")],
        )
        .await;
    assert_eq!(out.code, 4, "{}", out.stderr);
    assert!(
        out.stderr.contains("Client ID and Secret"),
        "{}",
        out.stderr
    );
    assert_no_secrets(&out.all(), &["SENTINEL-WRONG-secret"]);
    assert!(!s.secrets_file().exists());
}

#[tokio::test]
async fn a_scope_missing_from_the_app_is_named_with_where_to_add_it() {
    let s = Session::new(app_without("read:user:jira", MissingScope::GrantSubset)).await;
    let out = s
        .run(&s.init_args(), Browser::Follow { accept: true })
        .await;
    assert_eq!(out.code, 4, "{}", out.stderr);
    assert!(
        out.stderr.contains(
            "scope read:user:jira was not granted: add it in the developer console under Permissions -> Jira API"
        ),
        "{}",
        out.stderr
    );
    assert!(!s.secrets_file().exists());

    let s = Session::new(app_without("read:user:jira", MissingScope::InvalidScope)).await;
    let out = s
        .run(&s.init_args(), Browser::Follow { accept: true })
        .await;
    assert_eq!(out.code, 4, "{}", out.stderr);
    assert!(
        out.stderr.contains("refused a requested scope"),
        "{}",
        out.stderr
    );
}

#[tokio::test]
async fn missing_values_fail_at_once_naming_the_flag() {
    let s = Session::new(loopback_config()).await;
    let args: Vec<String> = s
        .init_args()
        .into_iter()
        .filter(|a| a != CLIENT_ID && a != "--client-id")
        .collect();
    let out = s.run(&args, Browser::Nothing).await;
    assert_eq!(out.code, 3);
    assert!(out.stderr.contains("--client-id"), "{}", out.stderr);
    let out = s.run_with(&s.init_args(), &[], &[], Browser::Nothing).await;
    assert_eq!(out.code, 3);
    assert!(out.stderr.contains("JIRA_CLIENT_SECRET"), "{}", out.stderr);
    assert!(
        out.authorize_urls.is_empty(),
        "no authorization is requested without credentials"
    );
}

#[tokio::test]
async fn plain_http_endpoints_must_be_loopback() {
    let s = Session::new(loopback_config()).await;
    let base = s.sim.base_url().to_string();
    let args: Vec<String> = s
        .init_args()
        .into_iter()
        .map(|a| {
            if a == base {
                "http://auth.example.com".to_string()
            } else {
                a
            }
        })
        .collect();
    let out = s.run(&args, Browser::Nothing).await;
    assert_eq!(out.code, 3);
    assert!(out.stderr.contains("use https"), "{}", out.stderr);
}

#[tokio::test]
async fn a_broken_missing_or_read_only_tfvars_is_refused_before_any_authorization() {
    let s = Session::new(loopback_config()).await;
    let broken = s.path("broken.tfvars");
    std::fs::write(&broken, "jira_cloud_id = = \"x\"\n").unwrap();
    let readonly = s.path("readonly.tfvars");
    std::fs::write(&readonly, "a = 1\n").unwrap();
    let mut perms = std::fs::metadata(&readonly).unwrap().permissions();
    perms.set_readonly(true);
    std::fs::set_permissions(&readonly, perms).unwrap();
    for (path, says) in [
        (broken, "does not parse"),
        (s.path("missing.tfvars"), "cannot read"),
        (readonly, "cannot write"),
    ] {
        let mut args = s.init_args();
        args.extend(strings(&["--tfvars", path.to_str().unwrap()]));
        let out = s.run(&args, Browser::Follow { accept: true }).await;
        assert_eq!(out.code, 7, "{}", out.stderr);
        assert!(out.stderr.contains(says), "{says}: {}", out.stderr);
        assert!(out.authorize_urls.is_empty(), "refused before authorizing");
    }
    assert!(!s.secrets_file().exists());
}

#[tokio::test]
async fn a_malformed_or_empty_client_id_is_refused() {
    let s = Session::new(loopback_config()).await;
    for bad in ["", "has spaces and ;quotes\""] {
        let args: Vec<String> = s
            .init_args()
            .into_iter()
            .map(|a| if a == CLIENT_ID { bad.to_string() } else { a })
            .collect();
        let out = s.run(&args, Browser::Nothing).await;
        assert_eq!(out.code, 3, "{bad:?}: {}", out.stderr);
        assert!(out.stderr.contains("client ID"), "{}", out.stderr);
    }
}

#[tokio::test]
async fn missing_scopes_can_be_accepted_explicitly() {
    let s = Session::new(app_without("read:user:jira", MissingScope::GrantSubset)).await;
    let out = s
        .run(
            &with(s.init_args(), &["--allow-missing-scopes"]),
            Browser::Follow { accept: true },
        )
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains("read:user:jira") && out.stderr.contains("--allow-missing-scopes"),
        "{}",
        out.stderr
    );
}
