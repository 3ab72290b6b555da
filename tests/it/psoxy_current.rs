//! What Psoxy's current Jira page sets up (psoxy-contract §1): the scopes asked for, an app from
//! the older page, the proxy's cache window, and site ids that must be cloud ids.

use crate::support;

use jira_psoxy_setup::sim::{OLDER_PAGE_SCOPES, SimConfig, SimSite};
use support::*;

const CURRENT_REQUEST: &str =
    "offline_access read:group:jira read:avatar:jira read:user:jira read:jira-user read:jira-work";

fn requested_scope(out: &Output) -> String {
    let url = out.authorize_urls.first().expect("an authorize URL");
    url.query_pairs()
        .find(|(k, _)| k == "scope")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

fn older_page_app() -> SimConfig {
    SimConfig {
        app_scopes: OLDER_PAGE_SCOPES.iter().map(|s| s.to_string()).collect(),
        ..loopback_config()
    }
}

/// An app with exactly the 5 Jira API permissions of today's page: the first attempt succeeds
/// and the checklist matches the console.
#[tokio::test]
async fn an_app_from_todays_page_connects_at_the_first_attempt() {
    // The simulated app refuses (invalid_scope) any scope it was not given.
    let s = Session::new(loopback_config()).await;
    let out = s
        .run(&s.init_args(), Browser::Follow { accept: true })
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.authorize_urls.len(), 1, "one attempt");
    assert_eq!(requested_scope(&out), CURRENT_REQUEST);
    assert!(
        out.stderr.contains("5 permissions under Jira API")
            && out.stderr.contains("nothing under User Identity API"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("every requested scope was granted"));
}

/// An app set up from the older page also has read:account: asking for less still works.
#[tokio::test]
async fn an_app_from_the_older_page_with_read_account_keeps_working() {
    let s = Session::new(older_page_app()).await;
    let out = s
        .run(&s.init_args(), Browser::Follow { accept: true })
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(requested_scope(&out), CURRENT_REQUEST);
    assert!(s.secrets()["PSOXY_JIRA_CLOUD_REFRESH_TOKEN"].is_string());
}

/// `--scopes` replaces the default list, both ways.
#[tokio::test]
async fn the_scopes_flag_overrides_the_default() {
    let with_account = "offline_access read:account read:jira-user";
    let s = Session::new(older_page_app()).await;
    let args = with(s.init_args(), &["--scopes", with_account]);
    let out = s.run(&args, Browser::Follow { accept: true }).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(requested_scope(&out), with_account);
    assert!(
        out.stderr
            .contains("Permissions -> User Identity API: read:account"),
        "{}",
        out.stderr
    );

    // Today's app lacks read:account: asking for it is refused at consent.
    let s = Session::new(loopback_config()).await;
    let args = with(s.init_args(), &["--scopes", with_account]);
    let out = s.run(&args, Browser::Follow { accept: true }).await;
    assert_eq!(out.code, 4, "{}", out.stderr);
    assert_eq!(requested_scope(&out), with_account);
}

/// After replacing a live family (init again, or renew), the run says the running proxy reads the
/// new access token (psoxy-contract §8), not that its cache may bring the old family back.
#[tokio::test]
async fn init_again_and_renew_report_the_handover_to_the_running_proxy() {
    let s = initialized(loopback_config(), &[]).await;
    for args in [s.init_args(), s.renew_args()] {
        let out = s.run(&args, Browser::Follow { accept: true }).await;
        assert_eq!(out.code, 0, "{}", out.stderr);
        assert!(
            out.stderr
                .contains("the running proxy reads the new access token")
                && !out.stderr.contains("renew between the proxy's runs"),
            "{}",
            out.stderr
        );
    }
}

/// The accessible-resources answer is checked whole, as it arrives: one id that is not a cloud
/// id makes it untrusted, even beside a good site the operator picks (only the chosen site's id
/// is checked again later, so this pins the first check).
#[tokio::test]
async fn an_answer_with_one_site_id_that_is_not_a_uuid_is_refused_whole() {
    let good = SimSite::numbered(1);
    let bad = SimSite {
        id: format!("../../oauth/token/{}", good.id),
        ..SimSite::numbered(2)
    };
    let s = Session::new(SimConfig {
        sites: vec![good.clone(), bad],
        ..loopback_config()
    })
    .await;
    let args = with(s.init_args(), &["--site", &good.id]);
    let out = s.run(&args, Browser::Follow { accept: true }).await;
    assert_eq!(out.code, 5, "{}", out.stderr);
    assert!(out.stderr.contains("not a cloud id"), "{}", out.stderr);
    assert!(
        !s.sim.requests().iter().any(|r| r.contains("/ex/jira")),
        "no call with any of its ids"
    );
    assert!(!s.secrets_file().exists());
}

/// A site id that is not a cloud id never reaches a URL, the store or terraform.tfvars.
#[tokio::test]
async fn a_site_id_that_is_not_a_uuid_is_refused_before_any_use() {
    let good = SimSite::numbered(1);
    for bad in [
        format!("../../oauth/token/{}", good.id),
        format!("{}?x=1", good.id),
    ] {
        let s = Session::new(SimConfig {
            sites: vec![SimSite {
                id: bad.clone(),
                ..good.clone()
            }],
            ..loopback_config()
        })
        .await;
        let tfvars = s.path("terraform.tfvars");
        std::fs::write(&tfvars, "environment_name = \"acme\"\n").unwrap();
        let args = with(s.init_args(), &["--tfvars", tfvars.to_str().unwrap()]);
        let out = s.run(&args, Browser::Follow { accept: true }).await;
        assert_eq!(out.code, 5, "{bad}: {}", out.stderr);
        let error = out.stderr.lines().last().unwrap_or_default();
        assert!(error.contains("not a cloud id"), "{}", out.stderr);
        let requests = s.sim.requests();
        assert!(
            requests.iter().any(|r| r.contains("accessible-resources"))
                && !requests.iter().any(|r| r.contains("/ex/jira")),
            "{requests:?}"
        );
        assert!(!s.secrets_file().exists());
        assert_eq!(
            std::fs::read_to_string(&tfvars).unwrap(),
            "environment_name = \"acme\"\n"
        );
    }
}
