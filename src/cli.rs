//! The public interface: commands, flags and environment variables. Scripts depend on these names;
//! keep them stable. Secrets are never flag values: they come from a prompt, the environment or
//! standard input.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::store::{StoreKind, StoreOptions, StoreTarget};

pub const DEFAULT_AUTH_URL: &str = "https://auth.atlassian.com";
pub const DEFAULT_API_URL: &str = "https://api.atlassian.com";

const EXIT_CODES: &str = "\
Exit codes:
  0 success                  5 no usable site                       10 status: expires within --warn-days
  1 internal error           6 secret store                         11 status: expired, missing, unreadable
  2 usage error              7 terraform.tfvars                     12 store failed, tokens could not be saved
  3 bad input                8 network                             129 SIGHUP
  4 authorization refused    9 store failed, recovery file saved   130 interrupted (Ctrl-C) or quit
 13 proxy unreachable or    14 proxy health check failed          143 SIGTERM
    credentials refused     15 call through the proxy failed
 16 stored, but tfvars not updated";

#[derive(Debug, Parser)]
#[command(name = "jira-psoxy-setup", version, about = "Connect Worklytics' Psoxy to Jira Cloud or Confluence Cloud (--connector): OAuth 2.0 (3LO) app, tokens, secrets and terraform.tfvars in one guided run.", after_help = EXIT_CODES)]
pub struct Cli {
    /// More log output on stderr (-v: info, -vv: debug). Secrets are never logged.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// First-time setup: console checklist, authorization, tokens, secrets, tfvars.
    #[command(after_help = INIT_EXAMPLES)]
    Init(InitArgs),
    /// Yearly renewal: a new token family, with the client credentials read back from the store.
    #[command(after_help = RENEW_EXAMPLES)]
    Renew(RenewArgs),
    /// How long the token family has left; exit codes for monitoring (0 ok, 10 warn, 11 critical).
    ///
    /// Reads the store only. It never uses the refresh token: refresh tokens rotate, and a second
    /// user of one can invalidate the proxy's whole token family. `--check` uses the stored access
    /// token, and only while it is still valid.
    ///
    /// Without store options it reports every deployment `init` and `renew` recorded on this
    /// machine (or `--deployments FILE` lists), one row each; the worst health decides the exit
    /// code.
    #[command(after_help = STATUS_EXAMPLES)]
    Status(StatusArgs),
    /// Ask the deployed proxy itself: its health check, then one call through it.
    ///
    /// As Psoxy's test tool does (SigV4 after assuming the caller role on AWS, a Google ID token
    /// on GCP), with the URL and role from the flags, the last check, or `terraform output`
    /// beside --tfvars. Exit 0 only when both pass; 13, 14, 15 say which did not.
    #[command(after_help = CHECK_EXAMPLES)]
    Check(CheckArgs),
    /// Finish a run whose store write failed, from the recovery file it saved.
    ///
    /// The failed run prints the exact command, with its store options. The file (0600) is
    /// deleted once the secrets are written and read back; the refresh lock is held meanwhile.
    /// Only ever forward: a file whose family the store already holds (refreshed since) or has
    /// replaced with a newer one is not written but deleted (exit 0), since its refresh token is
    /// spent; a store changed in a way the tool cannot place is refused without --force.
    #[command(after_help = PUSH_EXAMPLES)]
    Push(PushArgs),
    /// Print shell completions.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff).
    Man,
    /// Run the Atlassian simulator on a loopback port (for demos and benchmarks).
    #[command(hide = true)]
    Simulator(SimulatorArgs),
}

const INIT_EXAMPLES: &str = "\
Examples:
  jira-psoxy-setup init --demo
  jira-psoxy-setup init --demo --connector confluence-cloud
  jira-psoxy-setup init --store aws-ssm --aws-region us-east-1 --tfvars terraform.tfvars
  JIRA_CLIENT_SECRET=... jira-psoxy-setup init --non-interactive --client-id ID \\
      --redirect-uri http://127.0.0.1:8765/callback --site acme --store file

Secrets: the client secret is read from a hidden prompt, from JIRA_CLIENT_SECRET, or with
--client-secret-stdin from the first line of standard input; never from a flag value.";

const RENEW_EXAMPLES: &str = "\
Examples:
  jira-psoxy-setup renew --demo
  jira-psoxy-setup renew --store aws-ssm --tfvars terraform.tfvars
  jira-psoxy-setup renew --connector confluence-cloud --store aws-ssm --tfvars terraform.tfvars
  jira-psoxy-setup renew --store gcp-secret-manager --gcp-project acme-psoxy \\
      --redirect-uri http://127.0.0.1:8765/callback --ics renew-jira.ics";

const STATUS_EXAMPLES: &str = "\
Examples:
  jira-psoxy-setup status --store aws-ssm
  jira-psoxy-setup status --connector confluence-cloud --store aws-ssm
  jira-psoxy-setup status --store gcp-secret-manager --gcp-project acme-psoxy --json --check
  # cron / monitoring: exit 0 healthy, 10 expires within --warn-days, 11 expired or broken
  jira-psoxy-setup status --store aws-ssm --warn-days 30 >/dev/null || alert
  # every deployment set up on this machine (or listed in a file), for node_exporter
  jira-psoxy-setup status --textfile /var/lib/node_exporter/textfile/psoxy_oauth.prom
  jira-psoxy-setup status --deployments deployments.json --json
  jira-psoxy-setup status --forget jira-cloud@aws-ssm:us-east-1:PSOXY_JIRA_CLOUD_";

const CHECK_EXAMPLES: &str = "\
Examples:
  jira-psoxy-setup check --tfvars terraform.tfvars          # URL and role from terraform output
  jira-psoxy-setup check --store aws-ssm --aws-region us-east-1 \\
      --proxy-url https://abc.lambda-url.us-east-1.on.aws \\
      --proxy-role-arn arn:aws:iam::123456789012:role/PsoxyCaller
  jira-psoxy-setup check --store gcp-secret-manager --proxy-url https://psoxy-jira-abc-uc.a.run.app
  jira-psoxy-setup renew --check-proxy                      # after the write, ask the proxy

Exit codes: 0 health check and call passed, 13 proxy unreachable or credentials refused,
14 health check failed, 15 the call through the proxy failed.";

const PUSH_EXAMPLES: &str = "\
Examples:
  jira-psoxy-setup push --from ~/.local/state/jira-psoxy-setup/recovery-20261128T101500.123Z.json \\
      --store aws-ssm --aws-region us-east-1
  # a recovery file saved for one store kind is refused for another
  jira-psoxy-setup push --from recovery.json --store gcp-secret-manager --gcp-project acme-psoxy";

/// Where the secrets go: which store, its own flags (each store's module owns them), and the
/// secrets' prefix.
#[derive(Debug, Clone, Args)]
pub struct StoreArgs {
    /// Where the secrets go [default: file; a terminal run of init or renew asks].
    #[arg(long, value_parser = crate::store::registry::value_parser())]
    pub store: Option<&'static StoreKind>,
    #[command(flatten)]
    pub options: StoreOptions,
    /// Secret-name prefix, overriding discovery and --environment-name (e.g. PSOXY_JIRA_CLOUD_).
    #[arg(long)]
    pub prefix: Option<String>,
    /// Psoxy environment name (AWS default `psoxy`; GCP default empty, giving `psoxy_JIRA_CLOUD_`);
    /// spaces become hyphens, as in Psoxy's env-id.
    #[arg(long)]
    pub environment_name: Option<String>,
    /// Create secrets that Terraform has not created (non-interactive runs need this to create any);
    /// the next `terraform apply` then needs them imported (the import ids are printed).
    #[arg(long)]
    pub create_missing: bool,
    /// Go on although an SSM parameter `<prefix>CLIENT_ID` (or a shared `CLIENT_ID`) exists
    /// beside a Secrets Manager deployment: the proxy reads that one first.
    #[arg(long)]
    pub allow_ssm_client_id: bool,
    /// A target remembered by the last run (`renew`, `status`) or a recovery file (`push`),
    /// used when no store option was typed.
    #[arg(skip)]
    pub remembered: Option<StoreTarget>,
}

impl StoreArgs {
    /// The chosen store: a remembered target's, else `--store`, else the file store.
    pub fn kind(&self) -> &'static StoreKind {
        match &self.remembered {
            Some(target) => target.kind(),
            None => self.store.unwrap_or_else(crate::store::registry::default),
        }
    }

    /// The target: the one remembered from an earlier run (taken only when no store option was
    /// typed), else the one these options name.
    pub fn target(&self) -> StoreTarget {
        match &self.remembered {
            Some(target) => target.clone(),
            None => self.options.target(self.kind()),
        }
    }
}

/// How the OAuth authorization is done.
#[derive(Debug, Clone, Args)]
pub struct AuthArgs {
    /// The app's Client ID (Developer console -> Settings).
    #[arg(long, env = "JIRA_CLIENT_ID", hide_env_values = true)]
    pub client_id: Option<String>,
    /// Read the client secret from the first line of standard input.
    #[arg(long)]
    pub client_secret_stdin: bool,
    /// The callback URL registered in the console; must match it exactly.
    #[arg(long, default_value = "http://localhost")]
    pub redirect_uri: String,
    /// Scopes to request, separated by spaces or commas (default: the Psoxy list).
    #[arg(long)]
    pub scopes: Option<String>,
    /// Atlassian site to use, by cloud id, URL or name.
    #[arg(long)]
    pub site: Option<String>,
    /// Accept a token that lacks some requested scopes (newer Psoxy versions need fewer).
    #[arg(long)]
    pub allow_missing_scopes: bool,
    /// Print the authorize URL, but do not open a browser.
    #[arg(long)]
    pub no_browser: bool,
    /// Do not listen for the callback: paste the URL the browser lands on.
    #[arg(long)]
    pub paste: bool,
    /// Seconds to wait for the browser's callback or a pasted URL (the code lives ~10 minutes).
    #[arg(long, default_value_t = 600)]
    pub callback_timeout: u64,
    /// Atlassian's authorization server (change only for a simulator or a test double).
    #[arg(long, env = "ATLASSIAN_AUTH_URL", hide_env_values = true, default_value = DEFAULT_AUTH_URL)]
    pub atlassian_auth_url: String,
    /// Atlassian's API gateway (change only for a simulator or a test double).
    #[arg(long, env = "ATLASSIAN_API_URL", hide_env_values = true, default_value = DEFAULT_API_URL)]
    pub atlassian_api_url: String,
}

/// Options shared by init and renew.
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// terraform.tfvars to update with the cloud id (`jira_cloud_id`; Confluence:
    /// `confluence_example_cloud_id`).
    #[arg(long)]
    pub tfvars: Option<PathBuf>,
    /// Never prompt; every value from flags, env or stdin. Implied when stdin or stderr is not a terminal.
    #[arg(long)]
    pub non_interactive: bool,
    /// Print what was written where (never a secret) as JSON on stdout.
    #[arg(long)]
    pub json: bool,
    /// The older spelling of --json (`--output json`), kept for scripts.
    #[arg(long, value_enum, default_value = "human", hide = true)]
    pub output: OutputFormat,
    /// Write an iCalendar reminder (--warn-days before the family expires) to this file.
    #[arg(long)]
    pub ics: Option<PathBuf>,
    /// Days before the family expires that the --ics reminder fires.
    #[arg(long, default_value_t = 30)]
    pub warn_days: i64,
    /// After the store write, ask the deployed proxy (as `check` does); a failed check keeps
    /// the write and exits 13, 14 or 15.
    #[arg(long)]
    pub check_proxy: bool,
    #[command(flatten)]
    pub proxy: ProxyArgs,
}

/// Which deployed proxy `check` and `--check-proxy` ask, and how.
#[derive(Debug, Clone, Default, Args)]
pub struct ProxyArgs {
    /// The proxy's URL (Terraform output api_connector_instances.<connector>.endpoint_url)
    /// [default: the last check's, else `terraform output` beside --tfvars].
    #[arg(long, value_name = "URL")]
    pub proxy_url: Option<String>,
    /// AWS: the role to assume before signing (Terraform output caller_role_arn).
    #[arg(long, value_name = "ARN")]
    pub proxy_role_arn: Option<String>,
    /// How to authenticate to the proxy [default: from the URL's host, else the store's cloud].
    #[arg(long, value_enum, value_name = "HOW")]
    pub proxy_auth: Option<crate::proxy::ProxyAuth>,
    /// Seconds each request to the proxy may take.
    #[arg(long, value_name = "SECONDS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=600))]
    pub proxy_timeout: u64,
}

impl RunArgs {
    /// `--json`, or its older spelling `--output json`.
    pub fn format(&self) -> OutputFormat {
        output_format(self.json, self.output)
    }
}

fn output_format(json: bool, output: OutputFormat) -> OutputFormat {
    if json { OutputFormat::Json } else { output }
}

/// The command-line interface as clap builds it, with what the derive cannot say: `status` only
/// reads, so the store's write-only switches are hidden from its help and `--store` says "read".
pub fn command() -> clap::Command {
    use clap::CommandFactory;
    ["status", "check"]
        .into_iter()
        .fold(Cli::command(), |cli, name| {
            cli.mut_subcommand(name, read_only)
        })
}

/// `status` and `check` only read the store.
fn read_only(status: clap::Command) -> clap::Command {
    [
        "create_missing",
        "allow_ssm_client_id",
        "destroy_old_versions",
        "kms_key_id",
        "gcp_replication",
    ]
    .into_iter()
    .fold(status, |cmd, id| cmd.mut_arg(id, |a| a.hide(true)))
    .mut_arg("store", |a| {
        a.help("Where the secrets are read from [default: the last run's store, else file]")
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Human,
    Json,
}

#[derive(Debug, Clone, Args)]
pub struct InitArgs {
    /// Which Psoxy connector [default: jira-cloud; remembered with the target; a terminal run of
    /// init or renew asks].
    #[arg(long, value_parser = crate::connector::value_parser())]
    pub connector: Option<&'static crate::connector::Connector>,
    #[command(flatten)]
    pub store: StoreArgs,
    #[command(flatten)]
    pub auth: AuthArgs,
    #[command(flatten)]
    pub run: RunArgs,
    /// Run the whole wizard against a built-in Atlassian simulator and a file store.
    #[arg(long)]
    pub demo: bool,
}

#[derive(Debug, Clone, Args)]
pub struct RenewArgs {
    /// Which Psoxy connector [default: jira-cloud; remembered with the target; a terminal run of
    /// init or renew asks].
    #[arg(long, value_parser = crate::connector::value_parser())]
    pub connector: Option<&'static crate::connector::Connector>,
    #[command(flatten)]
    pub store: StoreArgs,
    #[command(flatten)]
    pub auth: AuthArgs,
    #[command(flatten)]
    pub run: RunArgs,
    /// Accept a site that differs from the one configured before.
    #[arg(long)]
    pub allow_site_change: bool,
    /// Renew the demo's token family against the built-in simulator (after `init --demo`).
    #[arg(long)]
    pub demo: bool,
}

#[derive(Debug, Clone, Args)]
pub struct StatusArgs {
    /// Which Psoxy connector [default: jira-cloud; remembered with the target; a terminal run of
    /// init or renew asks].
    #[arg(long, value_parser = crate::connector::value_parser())]
    pub connector: Option<&'static crate::connector::Connector>,
    #[command(flatten)]
    pub store: StoreArgs,
    /// Also call accessible-resources with the stored access token, if it is still valid.
    #[arg(long)]
    pub check: bool,
    /// Print the status as JSON on stdout (never a secret).
    #[arg(long)]
    pub json: bool,
    /// The older spelling of --json (`--output json`), kept for scripts.
    #[arg(long, value_enum, default_value = "human", hide = true)]
    pub output: OutputFormat,
    /// Exit 10 when the family expires within this many days.
    #[arg(long, default_value_t = 30)]
    pub warn_days: i64,
    /// Atlassian's API gateway, for --check (change only for a simulator or a test double).
    #[arg(long, env = "ATLASSIAN_API_URL", hide_env_values = true, default_value = DEFAULT_API_URL)]
    pub atlassian_api_url: String,
    /// terraform.tfvars whose cloud id (`jira_cloud_id`, `confluence_example_cloud_id`; read as
    /// Terraform reads it) names the site to report and `--check`; a family for another site is
    /// a warning.
    #[arg(long)]
    pub tfvars: Option<PathBuf>,
    /// Also ask the deployed proxy (as `check` does): a failed health check is critical.
    #[arg(long)]
    pub check_proxy: bool,
    #[command(flatten)]
    pub proxy: ProxyArgs,
    /// Report the deployments listed in this JSON file (the format of the registry
    /// `deployments.json`) instead of the ones remembered on this machine.
    #[arg(long, value_name = "FILE")]
    pub deployments: Option<PathBuf>,
    /// Remove a deployment, by the name `status` shows (e.g.
    /// `jira-cloud@aws-ssm:us-east-1:PSOXY_JIRA_CLOUD_`), from what this machine remembers.
    #[arg(long, value_name = "DEPLOYMENT")]
    pub forget: Option<String>,
    /// Output: a table (one deployment: its details), JSON, or Prometheus text (node_exporter's
    /// textfile format).
    #[arg(long, value_enum, conflicts_with = "json")]
    pub format: Option<StatusFormat>,
    /// Write the Prometheus text to this file, atomically (for node_exporter's textfile
    /// collector: a `.prom` file in its directory), and nothing to stdout.
    #[arg(long, value_name = "PATH", conflicts_with_all = ["json", "format"])]
    pub textfile: Option<PathBuf>,
    /// Seconds each deployment's read may take; one that takes longer is reported unreachable.
    #[arg(long, value_name = "SECONDS", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub timeout: u64,
    /// Options that name this deployment to `init` and `renew`, added to the commands a report
    /// suggests when it is one of several.
    #[arg(skip)]
    pub rerun_options: Vec<String>,
}

#[derive(Debug, Clone, Args)]
pub struct CheckArgs {
    /// Which Psoxy connector [default: jira-cloud; remembered with the target].
    #[arg(long, value_parser = crate::connector::value_parser())]
    pub connector: Option<&'static crate::connector::Connector>,
    /// The store the tool wrote to, to compare with what the proxy reads (optional).
    #[command(flatten)]
    pub store: StoreArgs,
    #[command(flatten)]
    pub proxy: ProxyArgs,
    /// terraform.tfvars: `terraform output` runs in its directory, and its cloud id is the site
    /// looked for among the call's sites.
    #[arg(long)]
    pub tfvars: Option<PathBuf>,
    /// Print what was found as JSON on stdout (never a token or the salt's hash).
    #[arg(long)]
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
    /// `--format`, `--json`, or the older `--output json`; `--textfile` writes Prometheus text.
    pub fn format(&self) -> StatusFormat {
        if self.textfile.is_some() {
            return StatusFormat::Prometheus;
        }
        match (self.format, output_format(self.json, self.output)) {
            (Some(format), _) => format,
            (None, OutputFormat::Json) => StatusFormat::Json,
            (None, OutputFormat::Human) => StatusFormat::Human,
        }
    }
}

#[derive(Debug, Clone, Args)]
pub struct PushArgs {
    /// Which Psoxy connector [default: jira-cloud; remembered with the target; a terminal run of
    /// init or renew asks].
    #[arg(long, value_parser = crate::connector::value_parser())]
    pub connector: Option<&'static crate::connector::Connector>,
    #[command(flatten)]
    pub store: StoreArgs,
    /// The recovery file a failed run saved.
    #[arg(long)]
    pub from: PathBuf,
    /// Write the file's values even though the store changed after its run began writing, in a
    /// way this tool cannot place (the refusal says what differs). Never needed to move the store
    /// forward; a file the store has moved past is never written.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Clone, Args)]
pub struct SimulatorArgs {
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    #[arg(long, default_value_t = 1)]
    pub sites: u32,
    #[arg(long, default_value = "http://localhost")]
    pub redirect_uri: String,
}
