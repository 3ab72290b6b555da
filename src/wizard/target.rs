//! Step: which deployment's secrets to write (the prefix), and the store preflight that runs
//! before any authorization is requested (a code lives only ten minutes).

use crate::cli::StoreArgs;
use crate::error::{Error, Result};
use crate::store::{SecretNames, SecretStore, names};

use super::Context;
use super::report::renew_by;

/// Step 1, in a terminal without `--store`: where the secrets go. Scripts get the file store.
pub fn choose_store(ctx: &Context, args: &mut StoreArgs) -> Result<()> {
    use crate::cli::StoreKind::*;
    if args.store.is_some() || !ctx.interactive {
        return Ok(());
    }
    let choices = [
        (
            File,
            "a local file (to try the tool, or for a proxy run locally)",
        ),
        (AwsSsm, "AWS SSM Parameter Store (Psoxy deployed on AWS)"),
        (
            GcpSecretManager,
            "GCP Secret Manager (Psoxy deployed on GCP)",
        ),
    ];
    let items: Vec<String> = choices.iter().map(|(_, d)| d.to_string()).collect();
    let i = ctx
        .prompter
        .select("Where should the secrets go?", &items, "--store")?;
    args.store = Some(choices[i].0);
    Ok(())
}

/// The prefix: `--prefix`, else the one derived from `--environment-name`, else discovery
/// (confirmed, or typed, in a terminal).
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
        0 if ctx.interactive => ask_prefix(ctx, &default),
        0 => Ok(SecretNames::new(default)),
        1 => {
            ctx.ui.ok(&format!(
                "found an existing deployment with prefix {}",
                found[0]
            ));
            if ctx.interactive && !ctx.prompter.confirm("Use it?", true)? {
                return ask_prefix(ctx, &found[0]);
            }
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

fn ask_prefix(ctx: &Context, default: &str) -> Result<SecretNames> {
    let typed = ctx
        .prompter
        .input("Secret-name prefix", Some(default), "--prefix")?;
    let typed = typed.trim();
    if typed.is_empty() {
        return Err(Error::Input(
            "the prefix is empty: give the one Psoxy's Terraform used, e.g. PSOXY_JIRA_CLOUD_"
                .into(),
        ));
    }
    Ok(SecretNames::new(typed.to_string()))
}

/// The prefix named by `--environment-name` (and `--ssm-root-path`), if given.
pub fn derived_prefix(args: &StoreArgs) -> Option<String> {
    use crate::cli::StoreKind::*;
    let env = args.environment_name.as_deref()?;
    Some(match args.kind() {
        AwsSsm => names::aws_prefix(&args.ssm_root_path, env),
        GcpSecretManager => names::gcp_prefix(env),
        File => names::aws_prefix("", env),
    })
}

fn default_prefix(args: &StoreArgs) -> String {
    use crate::cli::StoreKind::*;
    match args.kind() {
        AwsSsm => names::aws_prefix(&args.ssm_root_path, "psoxy"),
        GcpSecretManager => names::gcp_prefix(""),
        File => names::DEFAULT_PREFIX.to_string(),
    }
}

/// init over a deployment whose token family (recorded by this tool) is still alive replaces it
/// and the client credentials: say so, point at `renew`, and in a terminal ask first (default no).
/// Returns whether a live family is being replaced.
pub async fn confirm_replacing_live_family(
    ctx: &Context,
    store: &dyn SecretStore,
    names: &SecretNames,
) -> Result<bool> {
    // Metadata is a convenience (tags, labels): not being able to read it must not stop init.
    let meta = match store.read_metadata(names).await {
        Ok(meta) => meta,
        Err(e) => {
            ctx.ui.warn(&format!(
                "could not tell whether {} holds a live token family ({e}): init replaces whatever is there",
                names.prefix
            ));
            return Ok(false);
        }
    };
    let Some(issued) = meta.issued_at else {
        return Ok(false);
    };
    let days_left = super::status::whole_days_left(renew_by(issued) - chrono::Utc::now());
    if days_left < 0 {
        return Ok(false);
    }
    ctx.ui.warn(&format!(
        "{} already holds a token family issued {} ({days_left} days left): init replaces it and the client ID and secret; `jira-psoxy-setup renew` only starts a new family",
        names.prefix,
        issued.format("%Y-%m-%d")
    ));
    if ctx.interactive && !ctx.prompter.confirm("Replace it?", false)? {
        return Err(Error::Input(
            "nothing was changed: run `jira-psoxy-setup renew` for a new token family, or init again to replace everything".into(),
        ));
    }
    Ok(true)
}

/// After a live family was replaced: the proxy caches its configuration for up to 20 minutes
/// (psoxy-contract §3), and an instance that refreshes from its cached old token in that window
/// writes the old family back over the new one.
pub fn note_proxy_cache(ctx: &Context) {
    ctx.ui.info(
        "a running proxy may keep the old refresh token in its config cache for up to 20 minutes; if it refreshes from it meanwhile, the old family comes back: renew between the proxy's runs, or restart it now",
    );
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
