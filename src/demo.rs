//! `init --demo` and `renew --demo`: the whole wizard against the built-in Atlassian simulator,
//! so a newcomer sees every step with no Atlassian account. Where a browser can open, the person
//! approves on the simulator's consent page; otherwise from the terminal (or automatically when
//! nobody is there). Nothing points at Atlassian: the simulated site lives under `.example`.

use std::sync::Arc;

use url::Url;

use crate::browser::{Browser, SystemBrowser};
use crate::cli::{AuthArgs, DEFAULT_REDIRECT_URI, StoreArgs};
use crate::connector::Connector;
use crate::error::{Error, Result};
use crate::secret::SecretString;
use crate::sim::{SimConfig, SimSite, Simulator};
use crate::ui::{Prompter, Ui};

pub struct Demo {
    pub sim: Arc<Simulator>,
    pub client_id: String,
    pub client_secret: SecretString,
    /// The code comes back by pasting (no listener receives the redirect).
    pub pastes: bool,
}

/// The demo's one Atlassian site, named for the connector's product under a reserved `.example`
/// name, so no link leads to a real site: `https://acme.confluence.example`.
fn demo_site(connector: &Connector) -> SimSite {
    SimSite {
        name: "Acme (demo)".into(),
        url: format!("https://acme.{}.example", connector.product.to_lowercase()),
        ..SimSite::numbered(1)
    }
}

/// A demo never contacts a cloud store: its store is a local file. Cloud store options typed
/// with `--demo` are refused before anything connects (an option's value from the environment,
/// such as `AWS_REGION`, is not typed and is left alone).
pub fn refuse_cloud_options(store: &StoreArgs) -> Result<()> {
    let mut typed_options = Vec::new();
    if let Some(kind) = store.store.filter(|k| *k != &crate::store::file::KIND) {
        typed_options.push(format!("--store {}", kind.name));
    }
    typed_options.extend(
        store
            .options
            .typed_cloud_options()
            .into_iter()
            .map(String::from),
    );
    if typed_options.is_empty() {
        return Ok(());
    }
    Err(Error::Input(format!(
        "{} cannot be used with --demo: the demo keeps its secrets in a local file (--file) and never contacts a cloud store; drop them, or drop --demo for a real run",
        typed_options.join(", ")
    )))
}

/// Starts the simulator and points the run at it, with a file store. A `--redirect-uri` typed
/// for the rehearsal is the simulated app's callback (one that is not on this machine means
/// pasting, as in a real run); otherwise a free loopback port. `--paste` is kept.
pub async fn prepare(
    auth: &mut AuthArgs,
    store: &mut StoreArgs,
    connector: &Connector,
    interactive: bool,
) -> Result<Demo> {
    let redirect_uri = if auth.redirect_uri == DEFAULT_REDIRECT_URI {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| Error::Internal(format!("no free loopback port for the demo: {e}")))?
            .port();
        format!("http://127.0.0.1:{port}/callback")
    } else {
        auth.redirect_uri.clone()
    };
    if pastes(auth.paste, &redirect_uri) && !interactive {
        return Err(Error::Input(
            "the demo's paste-back needs a person at a terminal: run it in one, or drop --paste (and a --redirect-uri that is not on this machine)".into(),
        ));
    }
    // The simulated app has exactly the connector's default permissions.
    let config = SimConfig {
        redirect_uri,
        sites: vec![demo_site(connector)],
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
    auth.atlassian_auth_url = base.clone();
    auth.atlassian_api_url = base;
    auth.redirect_uri = config.redirect_uri.clone();
    store.store.get_or_insert(&crate::store::file::KIND);
    Ok(Demo {
        sim: Arc::new(sim),
        client_id: config.client_id,
        client_secret: SecretString::from(config.client_secret),
        pastes: pastes(auth.paste, &auth.redirect_uri),
    })
}

/// Whether the code comes back by pasting: `--paste`, or a callback URL no local listener serves.
fn pastes(paste: bool, redirect_uri: &str) -> bool {
    paste
        || Url::parse(redirect_uri)
            .ok()
            .is_none_or(|u| crate::callback::listen_addrs(&u).is_err())
}

/// The demo's "browser": a real one where possible; else the person decides in the terminal and
/// the redirect goes to the loopback listener exactly as a browser would send it.
pub struct DemoBrowser {
    pub sim: Arc<Simulator>,
    pub prompter: Arc<dyn Prompter>,
    pub interactive: bool,
    /// The run pastes the code back: a decision made here is shown, to be pasted.
    pub pastes: bool,
}

impl DemoBrowser {
    /// Consent decided without a browser; the listener receives the redirect, or, when the run
    /// pastes, the person sees where a browser would land, to paste it as in a real run.
    fn deliver(&self, url: &Url, accept: bool) -> std::result::Result<(), String> {
        let redirect = self.sim.decide(url, accept).map_err(|e| e.to_string())?;
        if self.pastes {
            // The code is the simulator's, single use and worthless outside this demo.
            Ui::new(false).url(
                "demo: a browser would land on this URL (a simulated code); copy it and paste it below:",
                redirect.as_str(),
            );
            return Ok(());
        }
        tokio::spawn(async move {
            let _ = reqwest::Client::new().get(redirect.as_str()).send().await;
        });
        Ok(())
    }

    /// No browser here: approve, decline, or use the printed link in a browser elsewhere.
    fn decide_in_terminal(&self, url: &Url, why: &str) -> std::result::Result<(), String> {
        Ui::new(false).info(&format!("could not open a browser ({why})"));
        let choices = [
            "Approve as the simulated user".to_string(),
            "Decline (see what a refusal looks like)".to_string(),
            "Open the link above in a browser myself".to_string(),
        ];
        let choice = self
            .prompter
            .select("Demo: the consent page", &choices, "--non-interactive")
            .map_err(|e| e.to_string())?;
        match choice {
            0 => self.deliver(url, true),
            1 => self.deliver(url, false),
            _ => Ok(()),
        }
    }
}

impl Browser for DemoBrowser {
    fn open(&self, url: &Url) -> std::result::Result<(), String> {
        if !url.path().ends_with("/authorize") {
            // The demo opens nothing but its own consent page.
            return Err("the demo opens only its simulated consent page".into());
        }
        if !self.interactive {
            return self.deliver(url, true);
        }
        let opened = match crate::browser::headless_reason() {
            Some(why) => Err(why.to_string()),
            None => SystemBrowser.open(url),
        };
        match opened {
            Ok(()) => Ok(()),
            Err(why) => self.decide_in_terminal(url, &why),
        }
    }

    /// The demo decides consent itself where no browser can, so the listener always works.
    fn headless_reason(&self) -> Option<&'static str> {
        None
    }
}

/// The demo's simulated Psoxy after the run: one line for the summary, and while this value
/// lives, the proxy itself at `url` (its health check and the connector's example call), for
/// `--check-proxy`.
pub struct DemoProxy {
    pub summary: String,
    pub url: Option<String>,
    _fleet: Option<crate::sim::proxy::ProxyFleet>,
}

impl DemoProxy {
    fn said(summary: impl Into<String>) -> DemoProxy {
        DemoProxy {
            summary: summary.into(),
            url: None,
            _fleet: None,
        }
    }
}

/// The simulated Psoxy (two instances, psoxy-contract §8) started on the store the run just
/// wrote: each serves a request the way the proxy does, and the simulator says which family
/// their access tokens belong to; then its health check.
pub async fn proxy_picks_up(
    sim: &Simulator,
    target: &crate::store::StoreTarget,
    prefix: &str,
) -> DemoProxy {
    use crate::sim::proxy::{
        HEALTH_CHECK_HEADER, ProxyFleet, ProxyInstance, ProxyLock, ProxyTiming,
    };
    use crate::store::StoreTarget;
    if !matches!(
        target,
        StoreTarget::File(_) | StoreTarget::GcpSecretManager(_)
    ) {
        return DemoProxy::said("the simulated Psoxy runs beside the file store only");
    }
    let names = crate::store::SecretNames::new(prefix);
    let mut instances = Vec::new();
    for id in 0..2 {
        let store = match target.open().await {
            Ok(store) => store,
            Err(e) => {
                return DemoProxy::said(format!(
                    "the simulated Psoxy could not open the store ({e})"
                ));
            }
        };
        let timing = ProxyTiming::production();
        match ProxyInstance::new(
            id,
            store,
            names.clone(),
            ProxyLock::ByValue,
            &sim.base_url(),
            timing,
        ) {
            Ok(i) => instances.push(i),
            Err(e) => return DemoProxy::said(format!("the simulated Psoxy did not start ({e})")),
        }
    }
    let mut fleet = ProxyFleet::new(instances);
    let mut families = Vec::new();
    for instance in &fleet.instances {
        match instance.credentials().await {
            Ok(token) => families.push(
                sim.family_of_access_token(crate::secret::ExposeSecret::expose_secret(&token)),
            ),
            Err(e) => return DemoProxy::said(format!("the simulated Psoxy failed: {e}")),
        }
    }
    let minted = sim.newest_family();
    let on_new = minted.is_some() && families.iter().all(|f| *f == minted);
    let (health, url) = match fleet.serve().await {
        Ok(addr) => match reqwest::Client::new()
            .get(format!("http://{addr}/"))
            .header(HEALTH_CHECK_HEADER, "true")
            .send()
            .await
        {
            Ok(r) => (
                format!("health check {}", r.status().as_u16()),
                Some(format!("http://{addr}/")),
            ),
            Err(e) => (format!("no health check ({})", e.without_url()), None),
        },
        Err(e) => (format!("no health check ({e})"), None),
    };
    let summary = if on_new {
        format!(
            "the simulated Psoxy ({} instances) picked up the new token family; {health}",
            families.len()
        )
    } else {
        format!("the simulated Psoxy is NOT on the new token family ({families:?}); {health}")
    };
    DemoProxy {
        summary,
        url,
        _fleet: Some(fleet),
    }
}
