//! `store::open` with the standard AWS chain, driven by this process's environment: endpoint
//! overrides (AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_SSM), region from env, flag or profile,
//! credentials from env or a named profile, and the errors when region or credentials are
//! missing. The test changes the process environment, so it runs in a child process of its own
//! (this test binary again, running only it): the other tests' threads never see the changes.

use crate::support::{OutputWithin as _, moto};

use clap::Parser;
use jira_psoxy_setup::cli::StoreArgs;
use moto::{Moto, UNSET_ENV};

#[derive(Parser)]
struct Flags {
    #[command(flatten)]
    store: StoreArgs,
}

fn open(runtime: &tokio::runtime::Runtime, extra: &[&str]) -> Result<Vec<String>, String> {
    let argv = ["test", "--store", "aws-ssm"].iter().chain(extra);
    let args = Flags::parse_from(argv).store;
    runtime.block_on(async {
        let store = args.target().open().await.map_err(|e| e.to_string())?;
        store.discover_prefixes().await.map_err(|e| e.to_string())
    })
}

fn set(name: &str, value: &str) {
    // SAFETY: only in the child process `in_own_process` starts, where this test is the only one
    // and no other thread runs while the environment changes.
    assert!(
        std::env::var_os(OWN_PROCESS).is_some(),
        "only in its own process"
    );
    unsafe { std::env::set_var(name, value) }
}

fn unset(name: &str) {
    // SAFETY: as in `set`.
    assert!(
        std::env::var_os(OWN_PROCESS).is_some(),
        "only in its own process"
    );
    unsafe { std::env::remove_var(name) }
}

/// Set in the child process that runs the test body.
const OWN_PROCESS: &str = "JIRA_PSOXY_SETUP_TEST_OWN_PROCESS";

/// In the parent: runs `test` (this module's test of that name) in a child process and passes
/// when it passes. Returns true in the child, where the caller runs the body.
fn in_own_process(test: &str) -> bool {
    if std::env::var_os(OWN_PROCESS).is_some() {
        return true;
    }
    // The test's name as the harness knows it: the module path without the binary's name.
    let module = module_path!().split_once("::").unwrap().1;
    let name = format!("{module}::{test}");
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", &name, "--test-threads=1", "--nocapture"])
        .env(OWN_PROCESS, "1")
        .output_within_limit();
    let shown = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{name} in its own process:\n{shown}");
    // A filter that matched nothing would pass with "0 passed".
    assert!(shown.contains("1 passed"), "{name} did not run:\n{shown}");
    false
}

#[test]
fn the_standard_chain_reads_endpoint_region_and_credentials_from_the_environment() {
    if !in_own_process(
        "the_standard_chain_reads_endpoint_region_and_credentials_from_the_environment",
    ) {
        return;
    }
    let moto = Moto::start();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(moto.seed_placeholders("PSOXY_JIRA_CLOUD_", None));
    for name in UNSET_ENV {
        unset(name);
    }
    for (name, value) in moto.env() {
        set(name, &value);
    }
    let found = vec!["PSOXY_JIRA_CLOUD_".to_string()];

    // AWS_ENDPOINT_URL, AWS_REGION and the key pair from the environment.
    assert_eq!(open(&runtime, &[]), Ok(found.clone()));

    // The SSM-specific endpoint variable alone.
    unset("AWS_ENDPOINT_URL");
    set("AWS_ENDPOINT_URL_SSM", &moto.endpoint);
    assert_eq!(open(&runtime, &[]), Ok(found.clone()));

    // No region anywhere: the message says how to set one; --aws-region does.
    unset("AWS_REGION");
    let e = open(&runtime, &[]).unwrap_err();
    assert!(
        e.contains("AWS_REGION") && e.contains("--aws-region"),
        "{e}"
    );
    assert_eq!(
        open(&runtime, &["--aws-region", "us-east-1"]),
        Ok(found.clone())
    );

    // No credentials: the message names the fixes.
    unset("AWS_ACCESS_KEY_ID");
    unset("AWS_SECRET_ACCESS_KEY");
    let e = open(&runtime, &["--aws-region", "us-east-1"]).unwrap_err();
    assert!(
        e.contains("aws sso login") && e.contains("AWS_PROFILE"),
        "{e}"
    );

    // A named profile supplies region and credentials.
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config");
    std::fs::write(
        &config,
        "[profile moto]\nregion = us-east-1\naws_access_key_id = testing\naws_secret_access_key = testing\n",
    )
    .unwrap();
    set("AWS_CONFIG_FILE", config.to_str().unwrap());
    assert_eq!(
        open(&runtime, &["--aws-profile", "moto"]),
        Ok(found.clone())
    );
    let e = open(
        &runtime,
        &["--aws-profile", "nosuch", "--aws-region", "us-east-1"],
    )
    .unwrap_err();
    assert!(e.contains("nosuch"), "{e}");

    // --ssm-root-path must be fully qualified.
    let e = open(
        &runtime,
        &["--aws-profile", "moto", "--ssm-root-path", "psoxy/"],
    )
    .unwrap_err();
    assert!(
        e.contains("--ssm-root-path") && e.contains("/psoxy/"),
        "{e}"
    );
}
