//! `init --demo` and `renew --demo`: the whole wizard against the built-in Atlassian simulator,
//! so a newcomer sees every step with no Atlassian account. Where a browser can open, the person
//! approves on the simulator's consent page; otherwise from the terminal (or automatically when
//! nobody is there). Nothing points at Atlassian: the simulated site lives under `.example`.

use std::sync::Arc;

use url::Url;

use crate::browser::{Browser, SystemBrowser};
use crate::cli::{AuthArgs, StoreArgs};
use crate::connector::Connector;
use crate::error::{Error, Result};
use crate::secret::SecretString;
use crate::sim::{SimConfig, SimSite, Simulator};
use crate::ui::{Prompter, Ui};

pub struct Demo {
    pub sim: Arc<Simulator>,
    pub client_id: String,
    pub client_secret: SecretString,
}

/// The demo's one Atlassian site: a reserved `.example` name, so no link leads to a real site.
fn demo_site() -> SimSite {
    SimSite {
        name: "Acme (demo)".into(),
        url: "https://acme.jira.example".into(),
        ..SimSite::numbered(1)
    }
}

/// Starts the simulator and points the run at it (the file store unless another is chosen).
pub async fn prepare(
    auth: &mut AuthArgs,
    store: &mut StoreArgs,
    connector: &Connector,
) -> Result<Demo> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| Error::Internal(format!("no free loopback port for the demo: {e}")))?
        .port();
    // The simulated app has exactly the connector's default permissions.
    let config = SimConfig {
        redirect_uri: format!("http://127.0.0.1:{port}/callback"),
        sites: vec![demo_site()],
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
    auth.paste = false;
    store.store.get_or_insert(&crate::store::file::KIND);
    Ok(Demo {
        sim: Arc::new(sim),
        client_id: config.client_id,
        client_secret: SecretString::from(config.client_secret),
    })
}

/// The demo's "browser": a real one where possible; else the person decides in the terminal and
/// the redirect goes to the loopback listener exactly as a browser would send it.
pub struct DemoBrowser {
    pub sim: Arc<Simulator>,
    pub prompter: Arc<dyn Prompter>,
    pub interactive: bool,
}

impl DemoBrowser {
    /// Consent decided without a browser; the listener receives the redirect.
    fn deliver(&self, url: &Url, accept: bool) -> std::result::Result<(), String> {
        let redirect = self.sim.decide(url, accept).map_err(|e| e.to_string())?;
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
