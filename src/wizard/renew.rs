//! `renew`: the yearly part. Client credentials come back from the store, the console checklist
//! is skipped, and the new token family must be for the site already configured.

use std::sync::Arc;

use super::Context;
use super::after_store::finish;
use super::authorize::{AuthPlan, obtain_tokens};
use super::credentials::{client_credentials, stored_client_credentials};
use super::deployment::ready_store;
use super::report::RunReport;
use super::save::{Grant, hold_new_family, store_grant};
use super::site::{check_scopes, pick_site, reachable_sites, verify_user};
use crate::atlassian::AtlassianClient;
use crate::atlassian::sites::Site;
use crate::cli::RenewArgs;
use crate::error::{Error, Result};
use crate::store::{SecretNames, SecretStore};
use crate::tfvars;

/// `store` is the one step 1 chose and opened (`deployment::open_chosen_store`); `atl` talks to
/// Atlassian (or the simulator).
pub async fn run(
    ctx: &Context,
    args: &RenewArgs,
    store: Arc<dyn SecretStore>,
    atl: &AtlassianClient,
) -> Result<RunReport> {
    let plan = AuthPlan::new(ctx, &args.auth)?;
    ctx.ui.step(&format!(
        "Renewing the {} token family in {}",
        ctx.connector.product,
        store.describe()
    ));
    let names = ready_store(ctx, store.as_ref(), &args.store, false).await?;
    if let Some(path) = &args.run.tfvars {
        tfvars::preflight(path)?;
    }
    let stored = stored_client_credentials(store.as_ref(), &names).await?;
    let from_store = stored.is_some()
        && args.auth.client_id.is_none()
        && !args.auth.client_secret_stdin
        && ctx.given_client_secret.is_none();
    if from_store {
        ctx.ui.ok("client ID and secret read from the store");
    }
    let creds = client_credentials(ctx, &args.auth, stored)?;
    let expected = configured_site(ctx, store.as_ref(), &names, args).await?;
    let tokens = obtain_tokens(ctx, atl, &creds, &plan).await?;
    hold_new_family(ctx, &names, (!from_store).then_some(&creds), &tokens)?;
    check_scopes(ctx, &plan, &tokens)?;
    let sites = reachable_sites(ctx, atl, &tokens).await?;
    let site = match (args.auth.site.as_deref(), expected.as_deref()) {
        // The configured site, if the token reaches it; else the operator's pick, confirmed below.
        (None, Some(configured)) => match pick_site(ctx, &sites, Some(configured)) {
            Err(Error::Site(_)) => pick_site(ctx, &sites, None)?,
            other => other?,
        },
        (wanted, _) => pick_site(ctx, &sites, wanted)?,
    };
    confirm_site_change(ctx, expected.as_deref(), &site, args.allow_site_change)?;
    let user = verify_user(ctx, atl, &tokens, &site).await?;
    let creds = (!from_store).then_some(&creds);
    let stored = store_grant(ctx, &store, &names, creds, Grant { tokens, site, user }).await?;
    finish(ctx, "renew", &args.run, stored)
}

/// Before any question: a renew with nothing to renew says so and points at `init`. That is a
/// file store (the default, and the demo's) holding no client id, with no `--client-id` given;
/// a cloud store is asked once it is open.
pub async fn check_something_to_renew(args: &RenewArgs) -> Result<()> {
    use crate::store::file::FileStore;
    if args.auth.client_id.is_some() || args.store.kind() != &crate::store::file::KIND {
        return Ok(());
    }
    // The file the run will use; without `--file`, the default of any connector it may choose.
    let connectors = match args.connector {
        Some(c) => vec![c],
        None => crate::connector::ALL.to_vec(),
    };
    let mut files = Vec::new();
    for connector in connectors {
        let mut store_args = args.store.clone();
        store_args.options.file.default_file = connector.default_secrets_file();
        if let crate::store::StoreTarget::File(crate::store::file::FileTarget { path }) =
            store_args.target()
            && !files.contains(&path)
        {
            files.push(path);
        }
    }
    for path in &files {
        let store = FileStore::new(path.clone());
        // An unreadable file is the preflight's to report, with its fix.
        let Ok(prefixes) = store.discover_prefixes().await else {
            return Ok(());
        };
        for prefix in prefixes {
            if let Ok(Some(_)) = store.read(&format!("{prefix}CLIENT_ID")).await {
                return Ok(());
            }
        }
    }
    let mut why = Vec::new();
    if !args.store.typed && args.store.remembered.is_none() {
        why.push("no earlier init is remembered".to_string());
    }
    let files: Vec<String> = files.iter().map(|p| p.display().to_string()).collect();
    why.push(format!("{} holds no client id", files.join(" or ")));
    let init = if args.demo { "init --demo" } else { "init" };
    Err(Error::Input(format!(
        "nothing to renew here: run `jira-psoxy-setup {init}` first ({})",
        why.join(", and ")
    )))
}

/// The site the proxy is configured for: the cloud id in `--tfvars`, else the one recorded by the last run.
async fn configured_site(
    ctx: &Context,
    store: &dyn SecretStore,
    names: &SecretNames,
    args: &RenewArgs,
) -> Result<Option<String>> {
    if let Some(path) = &args.run.tfvars
        && let Some(id) = tfvars::read_cloud_id(path, ctx.connector.tfvars_key)?
    {
        return Ok(Some(id));
    }
    Ok(store.read_metadata(names).await?.cloud_id)
}

pub(crate) fn confirm_site_change(
    ctx: &Context,
    expected: Option<&str>,
    site: &Site,
    allowed: bool,
) -> Result<()> {
    let Some(expected) = expected else {
        return Ok(());
    };
    if expected.eq_ignore_ascii_case(&site.id) || allowed {
        return Ok(());
    }
    let question = format!(
        "The proxy is configured for site {expected}, but this token is for {}: switch the proxy to it?",
        site.label()
    );
    if ctx.prompter.confirm(&question, false)? {
        return Ok(());
    }
    Err(Error::Site(format!(
        "the new token is for {} but the proxy is configured for {expected}: pick that site on the consent page, or pass --allow-site-change",
        site.label()
    )))
}
