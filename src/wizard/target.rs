//! Step: which deployment's secrets to write (the prefix), and the store preflight that runs
//! before any authorization is requested (a code lives only ten minutes).

use crate::cli::StoreArgs;
use crate::error::{Error, Result};
use crate::store::{SecretNames, SecretStore, names};

use super::Context;

/// The prefix: `--prefix`, else the one derived from `--environment-name`, else discovery.
pub async fn choose_prefix(
    ctx: &Context,
    store: &dyn SecretStore,
    args: &StoreArgs,
) -> Result<SecretNames> {
    if let Some(p) = &args.prefix {
        return Ok(SecretNames::new(p.clone()));
    }
    if let Some(derived) = derived_prefix(args) {
        return Ok(SecretNames::new(derived));
    }
    let spinner = ctx.ui.spinner("Looking for existing Psoxy Jira secrets");
    let mut found = store.discover_prefixes().await?;
    drop(spinner);
    found.sort();
    found.dedup();
    let default = default_prefix(args);
    match found.len() {
        0 => Ok(SecretNames::new(default)),
        1 => {
            ctx.ui.ok(&format!(
                "found an existing deployment with prefix {}",
                found[0]
            ));
            Ok(SecretNames::new(found.remove(0)))
        }
        _ => {
            let i = ctx.prompter.select(
                "Several deployments found: which one?",
                &found,
                "--prefix or --environment-name",
            )?;
            Ok(SecretNames::new(found.swap_remove(i)))
        }
    }
}

/// The prefix named by `--environment-name` (and `--ssm-root-path`), if given.
pub fn derived_prefix(args: &StoreArgs) -> Option<String> {
    use crate::cli::StoreKind::*;
    let env = args.environment_name.as_deref()?;
    Some(match args.store {
        AwsSsm => names::aws_prefix(&args.ssm_root_path, env),
        GcpSecretManager => names::gcp_prefix(env),
        File => names::aws_prefix("", env),
    })
}

fn default_prefix(args: &StoreArgs) -> String {
    use crate::cli::StoreKind::*;
    match args.store {
        AwsSsm => names::aws_prefix(&args.ssm_root_path, "psoxy"),
        GcpSecretManager => names::gcp_prefix(""),
        File => names::DEFAULT_PREFIX.to_string(),
    }
}

/// Checks the store can take the secrets; offers to create any Terraform did not.
pub async fn preflight(
    ctx: &Context,
    store: &dyn SecretStore,
    names: &SecretNames,
    create_missing: bool,
) -> Result<()> {
    let spinner = ctx.ui.spinner(&format!("Checking {}", store.describe()));
    let report = store.preflight(names).await?;
    drop(spinner);
    if report.missing.is_empty() {
        ctx.ui.ok(&format!(
            "{} is ready for prefix {}",
            store.describe(),
            names.prefix
        ));
        return Ok(());
    }
    let list = report.missing.join(", ");
    ctx.ui.warn(&format!(
        "missing in {}: {list} (has Terraform been applied for this environment?)",
        store.describe()
    ));
    let create = create_missing || ctx.prompter.confirm("Create them now?", false)?;
    if !create {
        return Err(Error::Store(format!(
            "{list} do not exist: apply Psoxy's Terraform first, check the prefix, or pass --create-missing"
        )));
    }
    store.create_missing(&report.missing).await?;
    ctx.ui.ok(&format!("created {list}"));
    Ok(())
}
