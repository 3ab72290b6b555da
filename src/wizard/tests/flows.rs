//! Whole flows in-process: `init`, `renew` and `push` against the simulator (started here), the
//! memory store and a scripted prompter, one table row per story. The stories that need a real
//! process (signals, a terminal, two processes, the cloud emulators) stay in tests/it.

use std::sync::Arc;

use clap::Parser;

use crate::cli::InitArgs;
use crate::error::{Error, exit};
use crate::secret::SecretString;
use crate::sim::{SimConfig, SimSite, Simulator};
use crate::store::{FamilyMetadata, SecretKey, SecretNames, SecretStore};
use crate::testing::{
    Answer, Consent, ExpectPrompter, MemoryStore, Op, SimBrowser, context, state_dir,
};
use crate::wizard::authorize::atlassian_client;
use crate::wizard::{Context, init, push, renew};

const PREFIX: &str = "FLOW_JIRA_CLOUD_";

/// The simulator on a loopback port, its app's callback on another.
async fn simulator(config: SimConfig) -> (Arc<Simulator>, SimConfig) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let config = SimConfig {
        redirect_uri: format!("http://127.0.0.1:{port}/callback"),
        ..config
    };
    let sim = Simulator::start(config.clone()).await.unwrap();
    (Arc::new(sim), config)
}

/// A non-interactive run's context over the simulator, its app's secret in the environment.
fn flow_context(sim: &Arc<Simulator>, config: &SimConfig, consent: Consent) -> Context {
    state_dir();
    let mut ctx = context(Arc::new(ExpectPrompter::silent()), false);
    ctx.browser = Arc::new(SimBrowser {
        sim: sim.clone(),
        consent,
    });
    ctx.given_client_secret = Some(SecretString::from(config.client_secret.clone()));
    ctx
}

/// The command line of a scripted run against the simulator, plus `extra`.
fn argv(sim: &Simulator, config: &SimConfig, extra: &[&str]) -> Vec<String> {
    let base = sim.base_url().to_string();
    let mut argv: Vec<String> = [
        "jira-psoxy-setup",
        "--non-interactive",
        "--client-id",
        &config.client_id,
        "--redirect-uri",
        &config.redirect_uri,
        "--atlassian-auth-url",
        &base,
        "--atlassian-api-url",
        &base,
        "--prefix",
        PREFIX,
        "--callback-timeout",
        "3",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    argv.extend(extra.iter().map(|s| s.to_string()));
    argv
}

#[derive(Parser)]
struct Init {
    #[command(flatten)]
    args: InitArgs,
}

/// What a row expects: the secrets stored, or an error with its exit code and words.
enum Expect {
    Stored,
    Fails(i32, &'static str),
}

fn check(case: &str, result: Result<(), Error>, expect: &Expect) {
    match (result, expect) {
        (Ok(()), Expect::Stored) => {}
        (Err(e), Expect::Fails(code, says)) => {
            assert_eq!(e.exit_code(), *code, "{case}: {e}");
            assert!(e.to_string().contains(says), "{case}: {e}");
        }
        (Ok(()), Expect::Fails(..)) => panic!("{case}: succeeded"),
        (Err(e), Expect::Stored) => panic!("{case}: {e}"),
    }
}

fn two_sites() -> SimConfig {
    SimConfig {
        sites: vec![SimSite::numbered(1), SimSite::numbered(2)],
        ..SimConfig::default()
    }
}

#[tokio::test]
async fn init_flows() {
    let names = SecretNames::new(PREFIX);
    let rt = names.name(SecretKey::RefreshToken);
    // (story, the simulated Atlassian, consent, the store, extra flags, outcome, values stored)
    let cases: Vec<(
        &str,
        SimConfig,
        Consent,
        MemoryStore,
        Vec<&str>,
        Expect,
        usize,
    )> = vec![
        (
            "happy path",
            SimConfig::default(),
            Consent::Accept,
            MemoryStore::default(),
            vec![],
            Expect::Stored,
            4,
        ),
        (
            "the person declines",
            SimConfig::default(),
            Consent::Decline,
            MemoryStore::default(),
            vec![],
            Expect::Fails(exit::AUTHORIZATION, "declined"),
            0,
        ),
        (
            "another run's state is ignored until the wait ends",
            SimConfig::default(),
            Consent::AcceptWithForeignState,
            MemoryStore::default(),
            vec![],
            Expect::Fails(exit::AUTHORIZATION, "3s"),
            0,
        ),
        (
            "a scope the app lacks",
            SimConfig {
                app_scopes: vec!["read:jira-work".into()],
                ..SimConfig::default()
            },
            Consent::Accept,
            MemoryStore::default(),
            vec![],
            Expect::Fails(exit::AUTHORIZATION, "scope"),
            0,
        ),
        (
            "several sites and none named",
            two_sites(),
            Consent::Accept,
            MemoryStore::default(),
            vec![],
            Expect::Fails(exit::SITE, "--site"),
            0,
        ),
        (
            "several sites, one named",
            two_sites(),
            Consent::Accept,
            MemoryStore::default(),
            vec!["--site", "acme2.atlassian.net"],
            Expect::Stored,
            4,
        ),
        (
            "the store write fails: the tokens go to a recovery file",
            SimConfig::default(),
            Consent::Accept,
            MemoryStore::default().fail(Op::Write, "PutParameter denied"),
            vec![],
            Expect::Fails(exit::RECOVERY_SAVED, "push --from"),
            0,
        ),
        (
            "the read-back differs",
            SimConfig::default(),
            Consent::Accept,
            MemoryStore::default().reading_back(&rt, "someone-else's"),
            vec![],
            Expect::Fails(exit::RECOVERY_SAVED, "push --from"),
            4,
        ),
    ];
    for (case, config, consent, store, extra, expect, stored) in cases {
        let (sim, config) = simulator(config).await;
        let ctx = flow_context(&sim, &config, consent);
        let args = Init::try_parse_from(argv(&sim, &config, &extra))
            .unwrap()
            .args;
        let store = Arc::new(store);
        let atl = atlassian_client(&ctx, &args.auth).unwrap();
        let result = init::run(&ctx, &args, store.clone(), &atl)
            .await
            .map(|_| ());
        check(case, result, &expect);
        let values = names
            .all()
            .iter()
            .filter(|n| store.value(n).is_some())
            .count();
        assert_eq!(values, stored, "{case}");
    }
}

#[derive(Parser)]
struct Renew {
    #[command(flatten)]
    args: crate::cli::RenewArgs,
}

#[derive(Parser)]
struct Push {
    #[command(flatten)]
    args: crate::cli::PushArgs,
}

/// A renew whose token reaches another site than the proxy's: refused when the person says no.
#[tokio::test]
async fn renew_refuses_a_site_change_the_person_declines() {
    let names = SecretNames::new(PREFIX);
    let (sim, config) = simulator(SimConfig::default()).await;
    let prompter = Arc::new(ExpectPrompter::new(&[(
        "switch the proxy to it?",
        Answer::Confirm(false),
    )]));
    let mut ctx = context(prompter.clone(), false);
    ctx.browser = Arc::new(SimBrowser {
        sim: sim.clone(),
        consent: Consent::Accept,
    });
    state_dir();
    let store = Arc::new(
        MemoryStore::default()
            .holding(&names.name(SecretKey::ClientId), &config.client_id)
            .holding(&names.name(SecretKey::ClientSecret), &config.client_secret)
            .holding(&names.name(SecretKey::RefreshToken), "rt-old"),
    );
    let configured = SimSite::numbered(2).id;
    store
        .write_metadata(
            &names,
            &FamilyMetadata {
                issued_at: Some(chrono::Utc::now()),
                cloud_id: Some(configured.clone()),
            },
        )
        .await
        .unwrap();
    // The client ID and secret come from the store: neither is on the command line.
    let argv: Vec<String> = argv(&sim, &config, &[])
        .into_iter()
        .enumerate()
        .filter(|(i, _)| ![2, 3].contains(i))
        .map(|(_, a)| a)
        .collect();
    assert!(!argv.contains(&config.client_id));
    let args = Renew::try_parse_from(argv).unwrap().args;
    let atl = atlassian_client(&ctx, &args.auth).unwrap();
    let err = renew::run(&ctx, &args, store.clone(), &atl)
        .await
        .map(|_| ())
        .unwrap_err();
    prompter.assert_done();
    assert_eq!(err.exit_code(), exit::SITE, "{err}");
    assert!(
        err.to_string().contains(&configured) && err.to_string().contains("--allow-site-change"),
        "{err}"
    );
    assert_eq!(
        store.value(&names.name(SecretKey::RefreshToken)).as_deref(),
        Some("rt-old")
    );
}

/// An init whose store refused the write: its context, the simulator, and a copy of the
/// recovery file it left (this process still holds the failed run's lock on the file itself:
/// a live run's file is never pushed; the copy stands for it once that run has ended).
async fn a_failed_init(copy_name: &str) -> (Context, Arc<Simulator>, std::path::PathBuf) {
    let (sim, config) = simulator(SimConfig::default()).await;
    let ctx = flow_context(&sim, &config, Consent::Accept);
    let args = Init::try_parse_from(argv(&sim, &config, &[])).unwrap().args;
    let atl = atlassian_client(&ctx, &args.auth).unwrap();
    let broken = Arc::new(MemoryStore::default().fail(Op::Write, "PutParameter denied"));
    let err = init::run(&ctx, &args, broken, &atl)
        .await
        .map(|_| ())
        .unwrap_err();
    assert_eq!(err.exit_code(), exit::RECOVERY_SAVED, "{err}");
    let message = err.to_string();
    let from = message
        .split_whitespace()
        .skip_while(|w| *w != "--from")
        .nth(1)
        .unwrap_or_else(|| panic!("no push command in: {message}"))
        .trim_matches(|c| c == '`' || c == '\'');
    let copy = std::path::Path::new(from).with_file_name(copy_name);
    std::fs::copy(from, &copy).unwrap();
    (ctx, sim, copy)
}

/// A store that refused the write leaves a recovery file; `push --from` it, to a store that
/// works, writes the family and deletes the file.
#[tokio::test]
async fn a_failed_write_is_finished_by_push_from_its_recovery_file() {
    let names = SecretNames::new(PREFIX);
    let (ctx, sim, copy) = a_failed_init("recovery-ended-run.json").await;
    let from = copy.to_str().unwrap();
    let push = Push::try_parse_from(["jira-psoxy-setup", "--from", from])
        .unwrap()
        .args;
    let store = Arc::new(MemoryStore::default());
    let (pending, _) = crate::recovery::open_for_push(&push.from).unwrap();
    let written = push::run(&ctx, &push, pending, store.clone())
        .await
        .unwrap();
    assert_eq!(written.len(), 4, "{written:?}");
    for name in names.all() {
        assert!(store.value(&name).is_some(), "{name} not pushed");
    }
    assert!(sim.is_live_refresh_token(&store.value(&names.name(SecretKey::RefreshToken)).unwrap()));
    assert!(!std::path::Path::new(from).exists(), "{from} is deleted");
}

/// The values of a run that began writing may have reached its own prefix, where a proxy may
/// have refreshed them: pushed under another prefix, that spent refresh token would be used
/// twice and Atlassian revokes the whole family. `push --prefix` another one is refused
/// without --force, nothing written, the file kept.
#[tokio::test]
async fn a_file_whose_run_began_writing_is_not_pushed_under_another_prefix() {
    let (ctx, _sim, copy) = a_failed_init("recovery-ended-run-2.json").await;
    let from = copy.to_str().unwrap();
    let elsewhere = "OTHER_JIRA_CLOUD_";
    let push = Push::try_parse_from(["jira-psoxy-setup", "--from", from, "--prefix", elsewhere])
        .unwrap()
        .args;
    let store = Arc::new(MemoryStore::default());
    let (pending, _) = crate::recovery::open_for_push(&push.from).unwrap();
    let err = push::run(&ctx, &push, pending, store.clone())
        .await
        .unwrap_err();
    assert_eq!(err.exit_code(), exit::INPUT, "{err}");
    assert!(err.to_string().contains(PREFIX), "{err}");
    for name in SecretNames::new(elsewhere).all() {
        assert!(store.value(&name).is_none(), "{name} written");
    }
    assert!(copy.exists(), "the file is kept");
}
