//! Placeholder until the simulator branch lands (same API).
use std::net::SocketAddr;
#[derive(Clone, Default)]
pub struct SimConfig {
    pub client_id: String,
    pub client_secret: String,
    pub redirect_uri: String,
    pub sites: Vec<SimSite>,
}
#[derive(Clone)]
pub struct SimSite;
impl SimSite {
    pub fn numbered(_n: usize) -> Self {
        SimSite
    }
}
pub struct Simulator;
impl Simulator {
    pub async fn start(_c: SimConfig) -> std::io::Result<Simulator> {
        unimplemented!()
    }
    pub async fn serve_on(_c: SimConfig, _a: SocketAddr) -> std::io::Result<Simulator> {
        unimplemented!()
    }
    pub fn base_url(&self) -> url::Url {
        unimplemented!()
    }
    pub fn decide(&self, _u: &url::Url, _a: bool) -> Result<url::Url, String> {
        unimplemented!()
    }
    pub async fn shutdown(self) {}
}
