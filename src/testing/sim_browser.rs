//! A browser for in-process flows: it answers the simulator's consent page itself and follows the
//! redirect to the loopback listener, as a person's browser would.

use std::sync::Arc;

use url::Url;

use crate::browser::Browser;
use crate::sim::Simulator;

/// What the simulated person does on the consent page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Consent {
    Accept,
    Decline,
    /// Accepts, but the redirect carries another run's `state`.
    AcceptWithForeignState,
}

pub struct SimBrowser {
    pub sim: Arc<Simulator>,
    pub consent: Consent,
}

impl Browser for SimBrowser {
    fn open(&self, url: &Url) -> Result<(), String> {
        let accept = self.consent != Consent::Decline;
        let mut redirect = self.sim.decide(url, accept).map_err(|e| e.to_string())?;
        if self.consent == Consent::AcceptWithForeignState {
            let pairs: Vec<(String, String)> = redirect
                .query_pairs()
                .map(|(k, v)| {
                    let v = if k == "state" {
                        "0".repeat(32)
                    } else {
                        v.into_owned()
                    };
                    (k.into_owned(), v)
                })
                .collect();
            redirect.query_pairs_mut().clear().extend_pairs(pairs);
        }
        tokio::spawn(async move {
            let _ = reqwest::Client::new().get(redirect.as_str()).send().await;
        });
        Ok(())
    }

    fn headless_reason(&self) -> Option<&'static str> {
        None
    }
}
