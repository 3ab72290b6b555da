//! Steps: granted scopes, the site, and the connector's verifying call as the authorizing user.

use super::Context;
use super::authorize::AuthPlan;
use crate::atlassian::AtlassianClient;
use crate::atlassian::oauth::TokenSet;
use crate::atlassian::scopes;
use crate::atlassian::sites::{AtlassianUser, Site, match_site};
use crate::error::{Error, Result};

/// Compares granted with requested scopes and names where to add any that is missing.
pub fn check_scopes(ctx: &Context, plan: &AuthPlan, tokens: &TokenSet) -> Result<()> {
    let requested = &plan.scopes;
    if tokens.refresh_token.is_none() {
        return Err(Error::Authorization(
            "Atlassian issued no refresh token: keep offline_access in --scopes and authorize again".into(),
        ));
    }
    if tokens.scope.trim().is_empty() {
        return Ok(()); // older responses omit `scope`; nothing to compare
    }
    let missing = scopes::missing(ctx.connector, requested, &tokens.scope);
    if missing.is_empty() {
        ctx.ui.ok("every requested scope was granted");
        return Ok(());
    }
    for s in &missing {
        ctx.ui.warn(&format!(
            "scope {s} was not granted: add it in the developer console under {}",
            scopes::console_location(s)
        ));
    }
    if plan.allow_missing_scopes {
        ctx.ui
            .warn("continuing without them (--allow-missing-scopes)");
        return Ok(());
    }
    let question = format!(
        "Continue without these scopes? (the proxy may fail to read some {} data)",
        ctx.connector.product
    );
    if ctx.prompter.confirm(&question, false)? {
        return Ok(());
    }
    Err(Error::Authorization(format!(
        "the app lacks scopes {}: add them in the developer console (Permissions), then run again",
        missing.join(", ")
    )))
}

/// What the site list and `--site` (or the configured site) decide, before anybody is asked.
#[derive(Debug, PartialEq)]
pub enum SiteChoice {
    /// The one `wanted` names.
    Wanted(Site),
    /// The only site the token reaches.
    Only(Site),
    /// Several, sorted by name: the operator picks.
    Several(Vec<Site>),
}

/// Decides the site from the sites the token reaches: `wanted` (id, URL or name), the only one,
/// or several to pick from. No site at all is an error that says what to do (`product`: Jira,
/// Confluence).
pub fn select_site(sites: &[Site], wanted: Option<&str>, product: &str) -> Result<SiteChoice> {
    let mut sites = sites.to_vec();
    sites.sort_by_key(|a| a.name.to_lowercase());
    if let Some(w) = wanted {
        return Ok(SiteChoice::Wanted(match_site(&sites, w)?.clone()));
    }
    match sites.len() {
        0 => Err(Error::Site(format!(
            "the authorization reaches no {product} site: authorize again as a user with {product} access and pick the site on the consent page"
        ))),
        1 => Ok(SiteChoice::Only(sites.remove(0))),
        _ => Ok(SiteChoice::Several(sites)),
    }
}

/// The sites the token reaches (one accessible-resources request).
pub async fn reachable_sites(
    ctx: &Context,
    atl: &AtlassianClient,
    tokens: &TokenSet,
) -> Result<Vec<Site>> {
    let product = ctx.connector.product;
    let _spinner = ctx
        .ui
        .spinner(&format!("Listing the {product} sites the token can reach"));
    atl.accessible_resources(&tokens.access_token).await
}

/// The site whose cloud id goes into tfvars: `--site`, the only one, or the operator's choice.
pub fn pick_site(ctx: &Context, sites: &[Site], wanted: Option<&str>) -> Result<Site> {
    let product = ctx.connector.product;
    match select_site(sites, wanted, product)? {
        SiteChoice::Wanted(site) => {
            ctx.ui.ok(&format!("site {}", site.label()));
            Ok(site)
        }
        SiteChoice::Only(site) => {
            ctx.ui
                .ok(&format!("the token reaches one site: {}", site.label()));
            Ok(site)
        }
        SiteChoice::Several(mut sites) => {
            let labels: Vec<String> = sites.iter().map(Site::label).collect();
            if !ctx.interactive {
                return Err(Error::Site(format!(
                    "the token reaches {} sites: pass --site with one of: {}",
                    sites.len(),
                    crate::atlassian::sites::listing(&sites)
                )));
            }
            let i = ctx.prompter.select(
                &format!("Which {product} site should the proxy read?"),
                &labels,
                "--site (id, URL or name)",
            )?;
            if i >= sites.len() {
                return Err(Error::Internal(format!("the site list has no item {i}")));
            }
            Ok(sites.swap_remove(i))
        }
    }
}

/// The connector's verifying call through the 3LO gateway: proves the token works for this site.
pub async fn verify_user(
    ctx: &Context,
    atl: &AtlassianClient,
    tokens: &TokenSet,
    site: &Site,
) -> Result<AtlassianUser> {
    let spinner = ctx.ui.spinner(&format!(
        "Verifying the token with {}",
        ctx.connector.product
    ));
    let user = atl
        .verify(ctx.connector, &tokens.access_token, &site.id)
        .await?;
    drop(spinner);
    let email = user
        .email_address
        .as_deref()
        .map(|e| format!(" <{e}>"))
        .unwrap_or_default();
    ctx.ui
        .ok(&format!("authorized as {}{email}", user.display_name));
    Ok(user)
}
