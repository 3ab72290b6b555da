//! `init --demo`: the whole wizard against the built-in Atlassian simulator, so a newcomer sees
//! every step with no Atlassian account. The consent page opens in a real browser where there is
//! one; otherwise it is approved from the terminal (or automatically when nobody is there).

use std::sync::Arc;

use url::Url;

use crate::browser::{Browser, SystemBrowser};
use crate::cli::InitArgs;
use crate::connector::Connector;
use crate::error::{Error, Result};
use crate::secret::SecretString;
use crate::sim::{SimConfig, Simulator};
use crate::ui::Prompter;

pub struct Demo {
    pub sim: Arc<Simulator>,
    pub client_secret: SecretString,
}

/// Starts the simulator and points the run at it.
pub async fn prepare(args: &mut InitArgs, connector: &Connector) -> Result<Demo> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| Error::Internal(format!("no free loopback port for the demo: {e}")))?
        .port();
    // The simulated app has exactly the connector's default permissions.
    let config = SimConfig {
        redirect_uri: format!("http://127.0.0.1:{port}/callback"),
        app_scopes: connector.default_scopes(),
        unlisted_scopes: connector
            .unreported_scopes
            .iter()
            .map(|s| s.to_string())
            .collect(),
        app_name: format!("Psoxy {} connector (demo)", connector.display_name),
        ..SimConfig::default()
    };
    let sim = Simulator::start(config.clone())
        .await
        .map_err(|e| Error::Internal(format!("could not start the simulator: {e}")))?;
    let base = sim.base_url().to_string();
    args.auth.atlassian_auth_url = base.clone();
    args.auth.atlassian_api_url = base;
    args.auth.redirect_uri = config.redirect_uri.clone();
    args.auth.client_id.get_or_insert(config.client_id.clone());
    args.auth.paste = false;
    args.store.store.get_or_insert(crate::cli::StoreKind::File);
    Ok(Demo {
        sim: Arc::new(sim),
        client_secret: SecretString::from(config.client_secret),
    })
}

/// The demo's "browser": a real one where possible, else consent approved in-process and the
/// redirect delivered to the loopback listener, exactly as a browser would.
pub struct DemoBrowser {
    pub sim: Arc<Simulator>,
    pub prompter: Arc<dyn Prompter>,
    pub interactive: bool,
}

impl Browser for DemoBrowser {
    fn open(&self, url: &Url) -> std::result::Result<(), String> {
        if url.path().ends_with("/authorize") {
            if self.interactive
                && crate::browser::headless_reason().is_none()
                && SystemBrowser.open(url).is_ok()
            {
                return Ok(());
            }
            let accept = if self.interactive {
                self.prompter
                    .confirm(
                        "Demo: approve the consent page as the simulated user?",
                        true,
                    )
                    .map_err(|e| e.to_string())?
            } else {
                true
            };
            let redirect = self.sim.decide(url, accept).map_err(|e| e.to_string())?;
            tokio::spawn(async move {
                let _ = reqwest::Client::new().get(redirect.as_str()).send().await;
            });
            return Ok(());
        }
        // Anything else (the developer console) opens in a real browser, where there is one.
        match crate::browser::headless_reason() {
            Some(why) => Err(why.to_string()),
            None => SystemBrowser.open(url),
        }
    }

    /// The demo approves consent itself where no browser can, so the listener always works.
    fn headless_reason(&self) -> Option<&'static str> {
        None
    }
}
