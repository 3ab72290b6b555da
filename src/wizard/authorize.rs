//! Steps: authorize URL, browser, code capture (loopback or paste), code exchange. One module owns
//! the whole authorization dance, as rclone's OAuth helper does.

use std::time::Duration;

use url::Url;

use super::Context;
use crate::atlassian::oauth::{ClientCredentials, TokenSet};
use crate::atlassian::{AtlassianClient, scopes};
use crate::callback::{LoopbackListener, parse_pasted};
use crate::cli::AuthArgs;
use crate::error::{Error, Result};
use crate::http::endpoint;
use crate::secret::{SecretString, random_hex};

/// How this run authorizes.
pub struct AuthPlan {
    /// As typed: the exact text Atlassian compares with the registered callback URL.
    pub redirect_uri: String,
    /// The same, parsed: where the loopback listener binds.
    pub redirect: Url,
    pub scopes: Vec<String>,
    /// Skip the loopback listener: the operator pastes the URL.
    pub paste: bool,
    pub open_browser: bool,
    pub timeout: Duration,
    /// Accept a token that lacks some requested scopes.
    pub allow_missing_scopes: bool,
}

pub fn atlassian_client(ctx: &Context, auth: &AuthArgs) -> Result<AtlassianClient> {
    Ok(AtlassianClient::new(
        ctx.http.clone(),
        endpoint(&auth.atlassian_auth_url, "--atlassian-auth-url")?,
        endpoint(&auth.atlassian_api_url, "--atlassian-api-url")?,
    ))
}

impl AuthPlan {
    /// The plan from the command line: scopes, the redirect URL (parsed here, once), and how the
    /// code comes back (loopback, or pasted where no browser can open).
    pub fn new(ctx: &Context, auth: &AuthArgs) -> Result<AuthPlan> {
        let scopes = auth
            .scopes
            .as_deref()
            .map(scopes::parse)
            .unwrap_or_else(|| scopes::default_scopes(ctx.connector));
        if scopes.is_empty() {
            return Err(Error::Input(format!(
                "--scopes is empty: list the scopes to request, e.g. \"{}\"",
                ctx.connector.default_scopes.join(" ")
            )));
        }
        let redirect = Url::parse(&auth.redirect_uri)
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
            redirect,
            scopes,
            paste: auth.paste || headless.is_some(),
            open_browser: !auth.no_browser && headless.is_none(),
            timeout: Duration::from_secs(auth.callback_timeout),
            allow_missing_scopes: auth.allow_missing_scopes,
        })
    }
}

/// Authorizes and exchanges the code. A rejected code (expired, reused) offers a fresh
/// authorization in the same run instead of ending it.
pub async fn obtain_tokens(
    ctx: &Context,
    atl: &AtlassianClient,
    creds: &ClientCredentials,
    plan: &AuthPlan,
) -> Result<TokenSet> {
    let mut attempt: u32 = 0;
    loop {
        attempt = attempt.saturating_add(1);
        let code = authorize(ctx, atl, &creds.client_id, plan).await?;
        let spinner = ctx.ui.spinner("Exchanging the code for tokens");
        let result = atl.exchange_code(creds, &code, &plan.redirect_uri).await;
        drop(spinner);
        match result {
            Ok(tokens) => {
                ctx.ui.ok("tokens received");
                return Ok(tokens);
            }
            // The code is spent (or may be): a new authorization is the only way on.
            Err(e @ (Error::CodeRejected(_) | Error::Network(_)))
                if ctx.interactive && attempt < 3 =>
            {
                ctx.ui.warn(&e.to_string());
                if !ctx
                    .prompter
                    .confirm("Start a new authorization now?", true)?
                {
                    return Err(e);
                }
            }
            Err(e) => return Err(e),
        }
    }
}

/// One authorization: a fresh `state`, the URL printed (and opened), the code captured.
async fn authorize(
    ctx: &Context,
    atl: &AtlassianClient,
    client_id: &str,
    plan: &AuthPlan,
) -> Result<SecretString> {
    let state = random_hex(16);
    tracing::info!(redirect_uri = %plan.redirect_uri, paste = plan.paste, "starting an authorization");
    let url = atl.authorize_url(client_id, &plan.redirect_uri, &plan.scopes, &state);
    let listener = if plan.paste {
        None
    } else {
        match LoopbackListener::bind(&plan.redirect).await {
            Ok(l) => Some(l),
            Err(why) => {
                ctx.ui.warn(&format!("{why}: you will paste the URL instead (or use a free port, e.g. --redirect-uri http://127.0.0.1:8765/callback, registered in the console)"));
                None
            }
        }
    };
    ctx.ui.step("Authorize the app in your browser");
    let open = format!(
        "Open this URL, choose the {} site, and click Accept:",
        ctx.connector.product
    );
    ctx.ui.url(&open, url.as_str());
    if let Some(l) = &listener {
        // On a line of its own, like every link: a terminal never splits it.
        ctx.ui.url("Short link to the same page:", &l.short_url());
    }
    let Some(listener) = listener else {
        if plan.open_browser {
            open_browser(ctx, &url).await;
        }
        return paste_code(ctx, &state, plan.timeout).await;
    };
    // Served from now on, so the printed links answer while a browser opens or the demo asks.
    let until = deadline_label(plan.timeout);
    let waiting = listener.wait(&state, &url, plan.timeout);
    tokio::pin!(waiting);
    let mut early = None;
    let mut opened = true;
    if plan.open_browser {
        let opening = open_browser(ctx, &url);
        tokio::pin!(opening);
        loop {
            tokio::select! {
                code = &mut waiting, if early.is_none() => early = Some(code),
                ok = &mut opening => { opened = ok; break }
            }
        }
    }
    let code = match early {
        Some(code) => code,
        // No browser came up: the listener keeps waiting (a browser opened by hand still
        // lands there), and the person may paste instead.
        None if !opened && ctx.interactive => {
            ctx.ui.info(&format!(
                "waiting for the browser to return to {} until {until}; or paste the URL it lands on here",
                plan.redirect_uri
            ));
            wait_or_paste(ctx, &mut waiting, &state).await
        }
        None => {
            // The deadline first: a narrow terminal cuts the end of a spinner's line.
            let _spinner = ctx.ui.spinner(&format!(
                "Waiting until {until} for the browser to return to {}",
                plan.redirect_uri
            ));
            waiting.await
        }
    };
    if code.is_ok() {
        ctx.ui.ok("authorization code received (state checked)");
    }
    code
}

/// Opens the URL off the async threads (opening may ask a question); a failure is said, since
/// the URL is printed anyway. Returns whether a browser came up.
async fn open_browser(ctx: &Context, url: &Url) -> bool {
    let browser = ctx.browser.clone();
    let target = url.clone();
    let opened = tokio::task::spawn_blocking(move || browser.open(&target))
        .await
        .unwrap_or_else(|e| Err(e.to_string()));
    match opened {
        Ok(()) => true,
        Err(why) => {
            ctx.ui.warn(&format!(
                "could not open a browser ({why}): open the URL above yourself"
            ));
            false
        }
    }
}

/// When the wait ends, as the clock on the wall says it ("14:32"), with the minutes left.
fn deadline_label(timeout: Duration) -> String {
    let end = chrono::TimeDelta::from_std(timeout)
        .ok()
        .and_then(|d| chrono::Local::now().checked_add_signed(d));
    match end {
        Some(end) => format!("{} ({} min)", end.format("%H:%M"), timeout.as_secs() / 60),
        None => format!("{}s from now", timeout.as_secs()),
    }
}

/// The listener's wait and a hidden paste prompt at once: the first good code wins, and the
/// prompt is abandoned (echo back on) when the browser's callback comes first. A wrong paste is
/// said and asked again, up to `PASTE_ATTEMPTS`.
async fn wait_or_paste(
    ctx: &Context,
    waiting: &mut std::pin::Pin<&mut impl std::future::Future<Output = Result<SecretString>>>,
    state: &str,
) -> Result<SecretString> {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    let mut attempt: u32 = 0;
    loop {
        attempt = attempt.saturating_add(1);
        let stop = Arc::new(AtomicBool::new(false));
        let prompter = ctx.prompter.clone();
        let reader_stop = stop.clone();
        let mut reading = tokio::task::spawn_blocking(move || {
            prompter.paste_or_stop("Paste the URL (input hidden)", &reader_stop)
        });
        tokio::select! {
            code = waiting.as_mut() => {
                stop.store(true, Ordering::SeqCst);
                let _ = reading.await;
                return code;
            }
            line = &mut reading => {
                let line = line.map_err(|e| Error::Internal(format!("reading the pasted URL: {e}")))??;
                let Some(line) = line else {
                    // End of input: only the listener is left.
                    return waiting.as_mut().await;
                };
                match parse_pasted(&line, state) {
                    Ok(pasted) => {
                        if !pasted.state_checked {
                            ctx.ui.warn("a bare code was pasted, so its state could not be checked: paste the whole URL next time");
                        }
                        return Ok(pasted.code);
                    }
                    Err(Error::Input(msg)) if attempt < PASTE_ATTEMPTS => {
                        ctx.ui.warn(&format!("{msg} (paste {attempt} of {PASTE_ATTEMPTS})"));
                    }
                    Err(e) => return Err(e),
                }
            }
        }
    }
}

/// How many pastes a terminal run reads before a wrong one ends it.
pub const PASTE_ATTEMPTS: u32 = 3;

/// The paste-back path: the operator copies the address the browser landed on. A wrong paste
/// (another run's URL, a truncated one) is said and asked again, up to `PASTE_ATTEMPTS`.
async fn paste_code(ctx: &Context, state: &str, timeout: Duration) -> Result<SecretString> {
    ctx.ui.info("After Accept the browser lands on your callback URL (the page may fail to load): copy the whole URL from the address bar.");
    let mut attempt: u32 = 0;
    loop {
        attempt = attempt.saturating_add(1);
        let prompter = ctx.prompter.clone();
        let line = tokio::time::timeout(
            timeout,
            tokio::task::spawn_blocking(move || prompter.paste("Paste the URL (input hidden)")),
        )
        .await
        .map_err(|_| {
            Error::Authorization(format!(
                "no URL was pasted within {}s (the code would have expired): run again",
                timeout.as_secs()
            ))
        })?
        .map_err(|e| Error::Internal(format!("reading the pasted URL: {e}")))??;
        match parse_pasted(&line, state) {
            Ok(pasted) => {
                if pasted.state_checked {
                    ctx.ui.ok("authorization code received (state checked)");
                } else {
                    ctx.ui.warn("a bare code was pasted, so its state could not be checked: paste the whole URL next time");
                }
                return Ok(pasted.code);
            }
            Err(Error::Input(msg)) if ctx.interactive && attempt < PASTE_ATTEMPTS => {
                ctx.ui
                    .warn(&format!("{msg} (paste {attempt} of {PASTE_ATTEMPTS})"));
            }
            Err(e) => return Err(e),
        }
    }
}
