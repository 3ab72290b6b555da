//! Prefix choice, scope check, site choice and the site-change confirmation on renew.

use std::sync::Arc;
use std::time::Duration;

use crate::atlassian::oauth::TokenSet;
use crate::atlassian::sites::Site;
use crate::error::Error;
use crate::secret::SecretString;
use crate::testing::{Answer, ExpectPrompter, MemoryStore, context, store_args};
use crate::wizard::authorize::AuthPlan;
use crate::wizard::deployment::choose_prefix;
use crate::wizard::renew::confirm_site_change;
use crate::wizard::site::{SiteChoice, check_scopes, pick_site, select_site};

#[tokio::test]
async fn the_prefix_comes_from_the_flags_discovery_or_the_operator() {
    use Answer::*;
    // (flags, prefixes in the store, terminal?, questions and answers, the prefix chosen)
    let cases: &[(&[&str], &[&str], bool, &[(&str, Answer)], &str)] = &[
        (&["--prefix", "MINE_"], &["OTHER_"], true, &[], "MINE_"),
        (
            &["--environment-name", "dev"],
            &["OTHER_"],
            true,
            &[],
            "DEV_JIRA_CLOUD_",
        ),
        (&[], &[], false, &[], "PSOXY_JIRA_CLOUD_"),
        (
            &[],
            &[],
            true,
            &[("Secret-name prefix", Input("TYPED_".into()))],
            "TYPED_",
        ),
        (&[], &["FOUND_JIRA_CLOUD_"], false, &[], "FOUND_JIRA_CLOUD_"),
        // Another connector's deployment in the same store is not offered.
        (
            &[],
            &["X_CONFLUENCE_CLOUD_"],
            false,
            &[],
            "PSOXY_JIRA_CLOUD_",
        ),
        (
            &[],
            &["FOUND_JIRA_CLOUD_"],
            true,
            &[("Use it?", Confirm(true))],
            "FOUND_JIRA_CLOUD_",
        ),
        (
            &[],
            &["FOUND_JIRA_CLOUD_"],
            true,
            &[
                ("Use it?", Confirm(false)),
                ("Secret-name prefix", Input(" TYPED_ ".into())),
            ],
            "TYPED_",
        ),
        (
            &[],
            &["B_JIRA_CLOUD_", "A_JIRA_CLOUD_", "B_JIRA_CLOUD_"],
            true,
            &[("Several deployments found", Select(1))],
            "B_JIRA_CLOUD_",
        ),
    ];
    for (flags, found, interactive, script, expected) in cases {
        let prompter = Arc::new(ExpectPrompter::new(script));
        let ctx = context(prompter.clone(), *interactive);
        let store = MemoryStore::default().with_prefixes(found);
        let names = choose_prefix(&ctx, &store, &store_args(flags))
            .await
            .unwrap_or_else(|e| panic!("{flags:?} {found:?}: {e}"));
        assert_eq!(names.prefix, *expected, "{flags:?} {found:?} {interactive}");
        prompter.assert_done();
    }
}

#[tokio::test]
async fn an_empty_typed_prefix_is_refused() {
    let prompter = Arc::new(ExpectPrompter::new(&[(
        "Secret-name prefix",
        Answer::Input("  ".into()),
    )]));
    let ctx = context(prompter, true);
    let err = choose_prefix(&ctx, &MemoryStore::default(), &store_args(&[]))
        .await
        .expect_err("refused");
    assert!(matches!(err, Error::Input(m) if m.contains("prefix is empty")));
}

fn plan(scopes: &[&str], allow_missing_scopes: bool) -> AuthPlan {
    AuthPlan {
        redirect_uri: "http://127.0.0.1:8765/callback".into(),
        redirect: url::Url::parse("http://127.0.0.1:8765/callback").unwrap(),
        scopes: scopes.iter().map(|s| s.to_string()).collect(),
        paste: false,
        open_browser: false,
        timeout: Duration::from_secs(1),
        allow_missing_scopes,
    }
}

fn tokens(granted: &str, refresh: bool) -> TokenSet {
    TokenSet {
        access_token: SecretString::from("at".to_string()),
        refresh_token: refresh.then(|| SecretString::from("rt".to_string())),
        expires_in: 3600,
        scope: granted.into(),
        obtained_at: chrono::Utc::now(),
    }
}

#[test]
fn missing_scopes_stop_the_run_unless_allowed_or_accepted() {
    const ASKED: &str = "Continue without these scopes?";
    let wanted = ["offline_access", "read:jira-work", "read:jira-user"];
    // (granted, refresh token?, --allow-missing-scopes, questions, accepted?)
    let cases: &[(&str, bool, bool, &[(&str, Answer)], bool)] = &[
        (
            "offline_access read:jira-work read:jira-user",
            true,
            false,
            &[],
            true,
        ),
        ("", true, false, &[], true),
        ("offline_access read:jira-work", true, true, &[], true),
        (
            "offline_access read:jira-work",
            true,
            false,
            &[(ASKED, Answer::Confirm(true))],
            true,
        ),
        (
            "offline_access read:jira-work",
            true,
            false,
            &[(ASKED, Answer::Confirm(false))],
            false,
        ),
        (
            "offline_access read:jira-work read:jira-user",
            false,
            true,
            &[],
            false,
        ),
    ];
    for (granted, refresh, allow, script, accepted) in cases {
        let prompter = Arc::new(ExpectPrompter::new(script));
        let ctx = context(prompter.clone(), true);
        let result = check_scopes(&ctx, &plan(&wanted, *allow), &tokens(granted, *refresh));
        assert_eq!(
            result.is_ok(),
            *accepted,
            "{granted:?} {refresh} {allow}: {result:?}"
        );
        if let Err(e) = result {
            assert!(matches!(e, Error::Authorization(_)), "{granted:?}: {e}");
        }
        prompter.assert_done();
    }
}

fn site(id: &str, name: &str) -> Site {
    Site {
        id: id.into(),
        name: name.into(),
        url: format!("https://{}.atlassian.net", name.to_lowercase()),
        scopes: Vec::new(),
    }
}

#[test]
fn select_site_takes_the_wanted_the_only_or_offers_several_sorted() {
    let (alpha, beta) = (site("id-a", "Alpha"), site("id-b", "beta"));
    let both = [beta.clone(), alpha.clone()];
    let cases: &[(&[Site], Option<&str>, Result<SiteChoice, ()>)] = &[
        (&both, Some("id-b"), Ok(SiteChoice::Wanted(beta.clone()))),
        (
            &both,
            Some("https://alpha.atlassian.net"),
            Ok(SiteChoice::Wanted(alpha.clone())),
        ),
        (&both, Some("gamma"), Err(())),
        (&[], None, Err(())),
        (&[], Some("id-a"), Err(())),
        (
            std::slice::from_ref(&beta),
            None,
            Ok(SiteChoice::Only(beta.clone())),
        ),
        (
            &both,
            None,
            Ok(SiteChoice::Several(vec![alpha.clone(), beta.clone()])),
        ),
    ];
    for (sites, wanted, expected) in cases {
        match (select_site(sites, *wanted, "Jira"), expected) {
            (Ok(got), Ok(want)) => assert_eq!(&got, want, "{wanted:?}"),
            (Err(Error::Site(_)), Err(())) => {}
            (got, want) => panic!("{wanted:?}: got {got:?}, expected {want:?}"),
        }
    }
}

#[test]
fn several_sites_are_asked_in_a_terminal_and_refused_in_a_script() {
    let sites = [site("id-b", "beta"), site("id-a", "Alpha")];
    let asked = [("Which Jira site", Answer::Select(1))];
    let prompter = Arc::new(ExpectPrompter::new(&asked));
    let picked = pick_site(&context(prompter.clone(), true), &sites, None).unwrap();
    assert_eq!(picked.id, "id-b", "the second of the sorted list");
    prompter.assert_done();

    let script = context(Arc::new(ExpectPrompter::silent()), false);
    let err = pick_site(&script, &sites, None).unwrap_err();
    assert!(matches!(err, Error::Site(m) if m.contains("pass --site")));
}

#[test]
fn renew_asks_before_switching_the_proxy_to_another_site() {
    const ASKED: &str = "switch the proxy to it?";
    let token_site = site("id-new", "New");
    // (configured site, --allow-site-change, questions, accepted?)
    let cases: &[(Option<&str>, bool, &[(&str, Answer)], bool)] = &[
        (None, false, &[], true),
        (Some("ID-NEW"), false, &[], true),
        (Some("id-old"), true, &[], true),
        (
            Some("id-old"),
            false,
            &[(ASKED, Answer::Confirm(true))],
            true,
        ),
        (
            Some("id-old"),
            false,
            &[(ASKED, Answer::Confirm(false))],
            false,
        ),
    ];
    for (configured, allowed, script, accepted) in cases {
        let prompter = Arc::new(ExpectPrompter::new(script));
        let ctx = context(prompter.clone(), true);
        let result = confirm_site_change(&ctx, *configured, &token_site, *allowed);
        assert_eq!(result.is_ok(), *accepted, "{configured:?} {allowed}");
        if let Err(e) = result {
            assert!(matches!(e, Error::Site(m) if m.contains("--allow-site-change")));
        }
        prompter.assert_done();
    }
}
