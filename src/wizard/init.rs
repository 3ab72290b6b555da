//! `init`: from nothing to a connected proxy, as a sequence of named steps.

use std::sync::Arc;

use super::Context;
use super::after_store::finish;
use super::authorize::{AuthPlan, obtain_tokens};
use super::credentials::client_credentials;
use super::deployment::{LiveFamily, confirm_replacing_live_family, ready_store};
use super::report::RunReport;
use super::save::{Grant, hold_new_family, store_grant};
use super::site::{check_scopes, pick_site, reachable_sites, verify_user};
use crate::atlassian::{AtlassianClient, scopes};
use crate::cli::InitArgs;
use crate::error::{Error, Result};
use crate::store::SecretStore;
use crate::tfvars;

const CONSOLE_URL: &str = "https://developer.atlassian.com/console/myapps/";

/// The run's report; `None` when the person chose to keep a live family (nothing was changed).
/// `store` is the one step 1 chose and opened (`deployment::open_chosen_store`); `atl` talks to
/// Atlassian (or the simulator).
pub async fn run(
    ctx: &Context,
    args: &InitArgs,
    store: Arc<dyn SecretStore>,
    atl: &AtlassianClient,
) -> Result<Option<RunReport>> {
    let plan = AuthPlan::new(ctx, &args.auth)?;
    ctx.ui.step(&format!(
        "Target: {} ({})",
        store.describe(),
        ctx.connector.display_name
    ));
    let names = ready_store(ctx, store.as_ref(), &args.store, args.store.create_missing).await?;
    if confirm_replacing_live_family(ctx, store.as_ref(), &names).await? == LiveFamily::Keep {
        return Ok(None);
    }
    if let Some(path) = &args.run.tfvars {
        tfvars::preflight(path)?;
    }
    show_console_checklist(ctx, &plan, args.demo)?;
    let creds = client_credentials(ctx, &args.auth, None)?;
    let tokens = obtain_tokens(ctx, atl, &creds, &plan).await?;
    hold_new_family(ctx, &names, Some(&creds), &tokens)?;
    check_scopes(ctx, &plan, &tokens)?;
    let sites = reachable_sites(ctx, atl, &tokens).await?;
    let site = pick_site(ctx, &sites, args.auth.site.as_deref())?;
    let user = verify_user(ctx, atl, &tokens, &site).await?;
    let stored = store_grant(
        ctx,
        &store,
        &names,
        Some(&creds),
        Grant { tokens, site, user },
    )
    .await?;
    finish(ctx, "init", &args.run, stored).map(Some)
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
    steps.extend(scopes::checklist(ctx.connector, &plan.scopes));
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
