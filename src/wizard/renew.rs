//! `renew`: the yearly part. Client credentials come back from the store, the console checklist
//! is skipped, and the new token family must be for the site already configured.

use std::sync::Arc;

use super::Context;
use super::authorize::{AuthPlan, obtain_tokens};
use super::credentials::{client_credentials, stored_client_credentials};
use super::deployment::{choose_prefix, preflight};
use super::report::RunReport;
use super::report::finish;
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
    let names = choose_prefix(ctx, store.as_ref(), &args.store).await?;
    super::push::review_leftovers(ctx, store.as_ref(), &names.prefix).await;
    preflight(
        ctx,
        store.as_ref(),
        &names,
        false,
        args.store.allow_ssm_client_id,
    )
    .await?;
    if let Some(path) = &args.run.tfvars {
        tfvars::preflight(path)?;
    }
    let stored = stored_client_credentials(store.as_ref(), &names).await?;
    let from_store = stored.is_some()
        && args.auth.client_id.is_none()
        && !args.auth.client_secret_stdin
        && ctx.env_client_secret.is_none();
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
