//! The flags of the commands that look and do not write: `status` (one deployment or all of
//! them, for people and monitoring) and `check` (the deployed proxy).

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::{DEFAULT_API_URL, ProxyArgs, StoreArgs};

#[derive(Debug, Clone, Args)]
pub struct StatusArgs {
    /// Which Psoxy connector [default: the last run's, else jira-cloud].
    #[arg(long, value_parser = crate::connector::value_parser(), help_heading = "Connector and Atlassian app")]
    pub connector: Option<&'static crate::connector::Connector>,
    #[command(flatten)]
    pub store: StoreArgs,
    /// Also call accessible-resources with the stored access token, if it is still valid.
    #[arg(long, help_heading = "What to report")]
    pub check: bool,
    /// Print the status as JSON on stdout (never a secret).
    #[arg(long, help_heading = "Output and files")]
    pub json: bool,
    /// Exit 10 when the family expires within this many days.
    #[arg(long, default_value_t = 30, help_heading = "What to report")]
    pub warn_days: i64,
    /// Atlassian's API gateway, for --check (change only for a simulator or a test double).
    #[arg(long, env = "ATLASSIAN_API_URL", hide_env_values = true, default_value = DEFAULT_API_URL, help_heading = "Connector and Atlassian app", hide_short_help = true)]
    pub atlassian_api_url: String,
    /// terraform.tfvars whose cloud id names the site to report and `--check`.
    ///
    /// `jira_cloud_id` or `confluence_example_cloud_id`, read as Terraform reads it; a family
    /// for another site is a warning.
    #[arg(long, value_name = "PATH", help_heading = "What to report")]
    pub tfvars: Option<PathBuf>,
    /// Also ask the deployed proxy (as `check` does): a failed health check is critical.
    #[arg(long, help_heading = "Deployed proxy")]
    pub check_proxy: bool,
    #[command(flatten)]
    pub proxy: ProxyArgs,
    /// Report the deployments listed in this JSON file instead of the remembered ones.
    ///
    /// The file has the format of the registry `deployments.json`.
    #[arg(long, value_name = "FILE", help_heading = "What to report")]
    pub deployments: Option<PathBuf>,
    /// Remove a deployment, by the name `status` shows (e.g.
    /// `jira-cloud@aws-ssm:us-east-1:PSOXY_JIRA_CLOUD_`), from what this machine remembers.
    #[arg(
        long,
        value_name = "DEPLOYMENT",
        help_heading = "What to report",
        hide_short_help = true
    )]
    pub forget: Option<String>,
    /// Output: a table (one deployment: its details), JSON, or Prometheus text.
    ///
    /// Prometheus text is node_exporter's textfile format.
    #[arg(
        long,
        value_enum,
        conflicts_with = "json",
        help_heading = "Output and files"
    )]
    pub format: Option<StatusFormat>,
    /// Write the Prometheus text to this file (atomically), nothing to stdout.
    ///
    /// For node_exporter's textfile collector: a `.prom` file in its directory.
    #[arg(long, value_name = "PATH", conflicts_with_all = ["json", "format"], help_heading = "Output and files")]
    pub textfile: Option<PathBuf>,
    /// Seconds each deployment's read may take; one that takes longer is reported unreachable.
    #[arg(long, value_name = "SECONDS", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(1..=3600), help_heading = "What to report", hide_short_help = true)]
    pub timeout: u64,
    /// Options that name this deployment to `init` and `renew`, added to the commands a report
    /// suggests when it is one of several.
    #[arg(skip)]
    pub rerun_options: Vec<String>,
}

#[derive(Debug, Clone, Args)]
pub struct CheckArgs {
    /// Which Psoxy connector [default: jira-cloud; remembered with the target].
    #[arg(long, value_parser = crate::connector::value_parser(), help_heading = "Connector and Atlassian app")]
    pub connector: Option<&'static crate::connector::Connector>,
    /// The store the tool wrote to, to compare with what the proxy reads (optional).
    #[command(flatten)]
    pub store: StoreArgs,
    #[command(flatten)]
    pub proxy: ProxyArgs,
    /// terraform.tfvars: `terraform output` runs in its directory, and its cloud id is the site
    /// looked for among the call's sites.
    #[arg(long, help_heading = "Deployed proxy")]
    pub tfvars: Option<PathBuf>,
    /// Print what was found as JSON on stdout (never a token or the salt's hash).
    #[arg(long, help_heading = "Output and files")]
    pub json: bool,
}

/// What `status` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StatusFormat {
    Human,
    Json,
    Prometheus,
}

impl StatusArgs {
    /// `--format` or `--json`; `--textfile` writes Prometheus text.
    pub fn format(&self) -> StatusFormat {
        if self.textfile.is_some() {
            return StatusFormat::Prometheus;
        }
        match (self.format, self.json) {
            (Some(format), _) => format,
            (None, true) => StatusFormat::Json,
            (None, false) => StatusFormat::Human,
        }
    }
}
