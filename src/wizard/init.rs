//! `init`: from nothing to a connected proxy, as a sequence of named steps.

use std::time::Duration;

use super::Context;
use super::authorize::{AuthPlan, obtain_tokens};
use super::deployment::{
    choose_prefix, confirm_replacing_live_family, note_proxy_cache, open_chosen_store, preflight,
};
use super::outcome::{Grant, finish, store_grant};
use super::report::RunReport;
use super::site::{check_scopes, choose_site, verify_user};
use crate::atlassian::AtlassianClient;
use crate::atlassian::oauth::ClientCredentials;
use crate::atlassian::scopes;
use crate::cli::{AuthArgs, InitArgs};
use crate::error::{Error, Result};
use crate::http::endpoint;
use crate::secret::{ExposeSecret, SecretString, secret_from_line};
use crate::tfvars;

const CONSOLE_URL: &str = "https://developer.atlassian.com/console/myapps/";

pub async fn run(ctx: &mut Context, args: &mut InitArgs) -> Result<RunReport> {
    let store = open_chosen_store(ctx, &mut args.store).await?;
    let (ctx, args) = (&*ctx, &*args);
    let atl = atlassian_client(ctx, &args.auth)?;
    let plan = auth_plan(ctx, &args.auth)?;
    ctx.ui.step(&format!("Target: {}", store.describe()));
    let names = choose_prefix(ctx, store.as_ref(), &args.store).await?;
    super::push::warn_about_leftovers(ctx, &names.prefix);
    preflight(ctx, store.as_ref(), &names, args.store.create_missing).await?;
    let replacing = confirm_replacing_live_family(ctx, store.as_ref(), &names).await?;
    if let Some(path) = &args.run.tfvars {
        tfvars::preflight(path)?;
    }
    show_console_checklist(ctx, &plan, args.demo)?;
    let creds = client_credentials(ctx, &args.auth, None)?;
    let tokens = obtain_tokens(ctx, &atl, &creds, &plan).await?;
    check_scopes(ctx, &plan, &tokens)?;
    let site = choose_site(ctx, &atl, &tokens, args.auth.site.as_deref()).await?;
    let user = verify_user(ctx, &atl, &tokens, &site).await?;
    let stored = store_grant(
        ctx,
        &store,
        &names,
        Some(&creds),
        Grant { tokens, site, user },
    )
    .await?;
    if replacing {
        note_proxy_cache(ctx);
    }
    finish(ctx, "init", &args.run, stored)
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
    let redirect = url::Url::parse(&auth.redirect_uri)
        .map_err(|e| Error::Input(format!("--redirect-uri {:?} is not a URL ({e}): give the callback URL registered in the console", auth.redirect_uri)))?;
    // Port 0 would make the listener take a random port, which no registered callback names.
    if redirect.port() == Some(0) {
        return Err(Error::Input(format!(
            "--redirect-uri {} names port 0, which no callback URL registered in the console can match: give its real port, e.g. http://127.0.0.1:8765/callback",
            auth.redirect_uri
        )));
    }
    let headless = if ctx.interactive {
        ctx.browser.headless_reason()
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
        allow_missing_scopes: auth.allow_missing_scopes,
    })
}

/// psoxy-contract §1 steps 1-4, with the exact callback URL and scopes this run uses. The demo
/// shows the same steps but never points at Atlassian: its simulator has the app already.
fn show_console_checklist(ctx: &Context, plan: &AuthPlan, demo: bool) -> Result<()> {
    ctx.ui.step("In Atlassian's developer console");
    let console = if demo {
        ctx.ui.info("demo: the simulator already has this app; a real run does these steps in Atlassian's developer console");
        "Atlassian's developer console".to_string()
    } else {
        CONSOLE_URL.to_string()
    };
    let mut steps = vec![
        format!("Create an \"OAuth 2.0 integration\" app at {console}"),
        format!(
            "Authorization -> OAuth 2.0 (3LO) -> Callback URL, exactly: {}",
            plan.redirect_uri
        ),
    ];
    steps.extend(scopes::checklist(&plan.scopes));
    steps.push("Settings -> copy the Client ID and the Secret".into());
    if !ctx.interactive {
        // Nobody to confirm: the list is the record of what the console must hold.
        for (s, n) in steps.iter().zip(1..) {
            ctx.ui.info(&format!("{n}. {s}"));
        }
        return Ok(());
    }
    if !demo
        && plan.open_browser
        && ctx
            .prompter
            .confirm("Open the developer console in your browser?", false)?
        && let Ok(url) = url::Url::parse(CONSOLE_URL)
        && let Err(why) = ctx.browser.open(&url)
    {
        ctx.ui.info(&format!(
            "could not open a browser ({why}): open {CONSOLE_URL} yourself"
        ));
    }
    confirm_steps(ctx, &steps)
}

/// Each step: done, shown again (the whole list, for a person who needs a minute in the
/// console), or quit. Taking time is fine: nothing waits on the other side yet.
fn confirm_steps(ctx: &Context, steps: &[String]) -> Result<()> {
    let choices = [
        "Done".to_string(),
        "Show the steps again".to_string(),
        "Quit (nothing is written yet)".to_string(),
    ];
    for (s, n) in steps.iter().zip(1..) {
        loop {
            let question = format!("Step {n} done? {s}");
            match ctx
                .prompter
                .select(&question, &choices, "--non-interactive")?
            {
                0 => break,
                1 => {
                    for (step, m) in steps.iter().zip(1..) {
                        let mark = if m == n { ">" } else { " " };
                        ctx.ui.info(&format!("{mark} {m}. {step}"));
                    }
                }
                _ => {
                    return Err(Error::Interrupted(format!(
                        "you quit at console step {n} (run init again once the console is set up)"
                    )));
                }
            }
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
