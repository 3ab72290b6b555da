//! `store::open` with the standard AWS chain, driven by this process's environment: endpoint
//! overrides (AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_SSM), region from env, flag or profile,
//! credentials from env or a named profile, and the errors when region or credentials are
//! missing. One test in its own binary, since it changes the process environment.

#[path = "support/moto.rs"]
mod moto;

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
    // SAFETY: this binary has one test, and no other thread runs while the environment changes.
    unsafe { std::env::set_var(name, value) }
}

fn unset(name: &str) {
    // SAFETY: as in `set`.
    unsafe { std::env::remove_var(name) }
}

#[test]
fn the_standard_chain_reads_endpoint_region_and_credentials_from_the_environment() {
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
