//! `init`: from nothing to a connected proxy, as a sequence of named steps.

use std::sync::Arc;
use std::time::Duration;

use super::Context;
use super::authorize::{AuthPlan, obtain_tokens};
use super::report::{self, RunReport};
use super::save::save_secrets;
use super::site::{check_scopes, choose_site, verify_user};
use super::target::{choose_prefix, preflight};
use crate::atlassian::AtlassianClient;
use crate::atlassian::oauth::{ClientCredentials, TokenSet};
use crate::atlassian::scopes;
use crate::atlassian::sites::Site;
use crate::cli::{AuthArgs, InitArgs, RunArgs};
use crate::error::{Error, Result};
use crate::http::endpoint;
use crate::recovery::Pending;
use crate::secret::{ExposeSecret, SecretString, secret_from_line};
use crate::store::{FamilyMetadata, SecretKey, SecretNames, SecretStore};
use crate::tfvars;

const CONSOLE_URL: &str = "https://developer.atlassian.com/console/myapps/";

pub async fn run(ctx: &Context, args: &InitArgs, store: Arc<dyn SecretStore>) -> Result<RunReport> {
    let atl = atlassian_client(ctx, &args.auth)?;
    let plan = auth_plan(ctx, &args.auth)?;
    ctx.ui.step(&format!("Target: {}", store.describe()));
    let names = choose_prefix(ctx, store.as_ref(), &args.store).await?;
    preflight(ctx, store.as_ref(), &names, args.store.create_missing).await?;
    if let Some(path) = &args.run.tfvars {
        tfvars::preflight(path)?;
    }
    show_console_checklist(ctx, &plan)?;
    let creds = client_credentials(ctx, &args.auth, None)?;
    let tokens = obtain_tokens(ctx, &atl, &creds, &plan).await?;
    check_scopes(ctx, &plan.scopes, &tokens)?;
    let site = choose_site(ctx, &atl, &tokens, args.auth.site.as_deref()).await?;
    let user = verify_user(ctx, &atl, &tokens, &site).await?;
    let written = store_everything(ctx, &store, &names, Some(&creds), &tokens, &site).await?;
    finish(
        ctx,
        "init",
        &args.run,
        store.as_ref(),
        &names,
        written,
        &tokens,
        &site,
        &user.display_name,
    )
}

pub fn atlassian_client(ctx: &Context, auth: &AuthArgs) -> Result<AtlassianClient> {
    Ok(AtlassianClient::new(
        ctx.http.clone(),
        endpoint(&auth.atlassian_auth_url, "--atlassian-auth-url")?,
        endpoint(&auth.atlassian_api_url, "--atlassian-api-url")?,
    ))
}

pub fn auth_plan(ctx: &Context, auth: &AuthArgs) -> Result<AuthPlan> {
    let scopes = auth
        .scopes
        .as_deref()
        .map(scopes::parse)
        .unwrap_or_else(scopes::default_scopes);
    if scopes.is_empty() {
        return Err(Error::Input(
            "--scopes is empty: list the scopes to request, e.g. \"offline_access read:jira-work\""
                .into(),
        ));
    }
    url::Url::parse(&auth.redirect_uri)
        .map_err(|e| Error::Input(format!("--redirect-uri {:?} is not a URL ({e}): give the callback URL registered in the console", auth.redirect_uri)))?;
    let headless = if ctx.interactive {
        crate::browser::headless_reason()
    } else {
        None
    };
    if let (Some(why), false) = (headless, auth.paste) {
        ctx.ui.info(&format!(
            "{why}: open the URL in any browser and paste back where it lands"
        ));
    }
    Ok(AuthPlan {
        redirect_uri: auth.redirect_uri.clone(),
        scopes,
        paste: auth.paste || headless.is_some(),
        open_browser: !auth.no_browser && headless.is_none(),
        timeout: Duration::from_secs(auth.callback_timeout),
    })
}

/// REFERENCE §1 steps 1-4, with the exact callback URL and scopes this run uses.
fn show_console_checklist(ctx: &Context, plan: &AuthPlan) -> Result<()> {
    ctx.ui.step("In Atlassian's developer console");
    let mut steps = vec![
        format!("Create an \"OAuth 2.0 integration\" app at {CONSOLE_URL}"),
        format!(
            "Authorization -> OAuth 2.0 (3LO) -> Callback URL, exactly: {}",
            plan.redirect_uri
        ),
    ];
    steps.extend(scopes::checklist(&plan.scopes));
    steps.push("Settings -> copy the Client ID and the Secret".into());
    for (i, s) in steps.iter().enumerate() {
        ctx.ui.info(&format!("{}. {s}", i + 1));
    }
    if !ctx.interactive {
        return Ok(());
    }
    if plan.open_browser
        && ctx
            .prompter
            .confirm("Open the developer console in your browser?", false)?
        && let Ok(url) = url::Url::parse(CONSOLE_URL)
    {
        let _ = ctx.browser.open(&url);
    }
    for (i, s) in steps.iter().enumerate() {
        if !ctx
            .prompter
            .confirm(&format!("Step {} done? {s}", i + 1), true)?
        {
            return Err(Error::Input(format!(
                "console step {} is not done: finish it, then run again",
                i + 1
            )));
        }
    }
    Ok(())
}

/// Client ID and secret: flag/env/prompt, and env/stdin/prompt (never a flag value). `stored`
/// holds values read back from the store (renew); a placeholder there counts as missing.
pub fn client_credentials(
    ctx: &Context,
    auth: &AuthArgs,
    stored: Option<(String, SecretString)>,
) -> Result<ClientCredentials> {
    let (stored_id, stored_secret) = match stored {
        Some((id, secret)) => (Some(id), Some(secret)),
        None => (None, None),
    };
    let client_id = match auth.client_id.clone().or(stored_id) {
        Some(id) => id,
        None => ctx
            .prompter
            .input("Client ID", None, "--client-id or JIRA_CLIENT_ID")?,
    };
    let client_id = client_id.trim().to_string();
    validate_client_id(&client_id)?;
    let client_secret = if auth.client_secret_stdin {
        secret_from_line(&ctx.stdin.next_line().ok_or_else(|| {
            Error::Input(
                "--client-secret-stdin: standard input is empty: pipe the secret in".into(),
            )
        })?)
    } else if let Some(s) = ctx.env_client_secret.clone().or(stored_secret) {
        s
    } else {
        ctx.prompter.secret(
            "Client secret (input hidden)",
            "JIRA_CLIENT_SECRET or --client-secret-stdin",
        )?
    };
    if client_secret.expose_secret().trim().is_empty() {
        return Err(Error::Input(
            "the client secret is empty: copy it from the developer console (Settings)".into(),
        ));
    }
    Ok(ClientCredentials {
        client_id,
        client_secret,
    })
}

fn validate_client_id(id: &str) -> Result<()> {
    if id.is_empty() {
        return Err(Error::Input(
            "the client ID is empty: copy it from the developer console (Settings)".into(),
        ));
    }
    if id.len() > 128
        || !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(Error::Input("the client ID has unexpected characters: copy it again from the developer console (Settings)".into()));
    }
    Ok(())
}

/// Writes the client credentials (when given) and the new token family, with its metadata.
pub async fn store_everything(
    ctx: &Context,
    store: &Arc<dyn SecretStore>,
    names: &SecretNames,
    creds: Option<&ClientCredentials>,
    tokens: &TokenSet,
    site: &Site,
) -> Result<Vec<String>> {
    ctx.ui
        .step(&format!("Storing the secrets in {}", store.describe()));
    let refresh = tokens
        .refresh_token
        .clone()
        .ok_or_else(|| Error::Internal("no refresh token".into()))?;
    let mut values = Vec::new();
    if let Some(c) = creds {
        values.push((
            names.name(SecretKey::ClientId),
            SecretString::from(c.client_id.clone()),
        ));
        values.push((names.name(SecretKey::ClientSecret), c.client_secret.clone()));
    }
    values.push((names.name(SecretKey::RefreshToken), refresh));
    values.push((
        names.name(SecretKey::AccessToken),
        tokens.proxy_access_token(),
    ));
    let written = values.iter().map(|(n, _)| n.clone()).collect();
    let meta = FamilyMetadata {
        issued_at: Some(tokens.obtained_at),
        cloud_id: Some(site.id.clone()),
    };
    save_secrets(
        ctx,
        store,
        names,
        Pending {
            prefix: names.prefix.clone(),
            values,
            meta,
        },
        true,
    )
    .await?;
    Ok(written)
}

/// tfvars, reminder and the report.
#[allow(clippy::too_many_arguments)]
pub fn finish(
    ctx: &Context,
    command: &'static str,
    run: &RunArgs,
    store: &dyn SecretStore,
    names: &SecretNames,
    written: Vec<String>,
    tokens: &TokenSet,
    site: &Site,
    authorized_as: &str,
) -> Result<RunReport> {
    let tfvars_change = match &run.tfvars {
        Some(path) => {
            let edit = tfvars::update_file(path, &site.id)?;
            ctx.ui.ok(&format!(
                "{}: {}",
                path.display(),
                report::describe_edit(edit)
            ));
            Some(report::describe_edit(edit).to_string())
        }
        None => {
            ctx.ui.info(&format!(
                "set jira_cloud_id = \"{}\" in terraform.tfvars (or pass --tfvars PATH next time)",
                site.id
            ));
            None
        }
    };
    let issued = tokens.obtained_at;
    if let Some(path) = &run.ics {
        crate::reminder::write(path, report::renew_by(issued), run.warn_days, &site.url)?;
        ctx.ui
            .ok(&format!("calendar reminder written to {}", path.display()));
    }
    Ok(RunReport {
        command,
        store: store.describe(),
        prefix: names.prefix.clone(),
        secrets_written: written,
        cloud_id: site.id.clone(),
        site_url: site.url.clone(),
        site_name: site.name.clone(),
        authorized_as: authorized_as.to_string(),
        family_issued_at: issued,
        renew_by: report::renew_by(issued),
        tfvars: run.tfvars.clone(),
        tfvars_change,
        ics: run.ics.clone(),
    })
}
