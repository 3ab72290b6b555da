//! The proxy's flags, owned here and flattened by the command line (`check`, `--check-proxy`).

use clap::Args;

use super::ProxyAuth;

/// Which deployed proxy `check` and `--check-proxy` ask, and how.
#[derive(Debug, Clone, Default, Args)]
pub struct ProxyArgs {
    /// The proxy's URL [default: the last check's, else `terraform output` beside --tfvars].
    ///
    /// Terraform output api_connector_instances.<connector>.endpoint_url.
    #[arg(long, value_name = "URL", help_heading = "Deployed proxy")]
    pub proxy_url: Option<String>,
    /// AWS: the role to assume before signing (Terraform output caller_role_arn).
    #[arg(long, value_name = "ARN", help_heading = "Deployed proxy")]
    pub proxy_role_arn: Option<String>,
    /// How to authenticate to the proxy [default: from the URL's host, else the store's cloud].
    #[arg(
        long,
        value_enum,
        value_name = "HOW",
        help_heading = "Deployed proxy",
        hide_short_help = true
    )]
    pub proxy_auth: Option<ProxyAuth>,
    /// Seconds each request to the proxy may take.
    #[arg(long, value_name = "SECONDS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=600), help_heading = "Deployed proxy", hide_short_help = true)]
    pub proxy_timeout: u64,
}
