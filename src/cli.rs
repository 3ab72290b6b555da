//! The public interface: commands, flags and environment variables. Scripts depend on these names;
//! keep them stable. Secrets are never flag values: they come from a prompt, the environment or
//! standard input.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

pub use crate::proxy::ProxyArgs;
use crate::store::{StoreKind, StoreOptions, StoreTarget};

pub const DEFAULT_AUTH_URL: &str = "https://auth.atlassian.com";
pub const DEFAULT_API_URL: &str = "https://api.atlassian.com";
pub use crate::store::file::DEFAULT_SECRETS_FILE;
pub const DEFAULT_REDIRECT_URI: &str = "http://localhost";

mod help;
mod status;
pub use help::{EXIT_CODE_MEANINGS, command, exit_codes};
pub use status::{CheckArgs, StatusArgs, StatusFormat};

#[derive(Debug, Parser)]
#[command(
    name = "jira-psoxy-setup",
    version,
    about = "Connect Worklytics' Psoxy to Jira Cloud or Confluence Cloud (--connector): OAuth 2.0 (3LO) app, tokens, secrets and terraform.tfvars in one guided run."
)]
pub struct Cli {
    /// More log output on stderr (-v: info, -vv: debug); never a secret.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// First-time setup: console checklist, authorization, tokens, secrets, tfvars.
    Init(InitArgs),
    /// Yearly renewal: a new token family, with the client credentials read back from the store.
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
    Status(StatusArgs),
    /// Ask the deployed proxy itself: its health check, then one call through it.
    ///
    /// As Psoxy's test tool does (SigV4 after assuming the caller role on AWS, a Google ID token
    /// on GCP), with the URL and role from the flags, the last check, or `terraform output`
    /// beside --tfvars. Exit 0 only when both pass; 13, 14, 15 say which did not.
    Check(CheckArgs),
    /// Finish a run whose store write failed, from the recovery file it saved.
    ///
    /// The failed run prints the exact command, with its store options. The file (0600) is
    /// deleted once the secrets are written and read back; the refresh lock is held meanwhile.
    /// Only ever forward: a file whose family the store already holds (refreshed since) or has
    /// replaced with a newer one is not written but deleted (exit 0), since its refresh token is
    /// spent; a store changed in a way the tool cannot place is refused without --force.
    Push(PushArgs),
    /// Print shell completions.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print a man page (roff): the tool's, or one command's (`man init`).
    Man {
        /// The command whose page to print (init, renew, status, check, push, completions, man).
        #[arg(value_name = "COMMAND")]
        command: Option<String>,
    },
    /// Run the Atlassian simulator on a loopback port (for demos and benchmarks).
    #[command(hide = true)]
    Simulator(SimulatorArgs),
}

impl Command {
    /// The command's store options, for the commands that have them.
    pub fn store_args(&mut self) -> Option<&mut StoreArgs> {
        match self {
            Command::Init(a) => Some(&mut a.store),
            Command::Renew(a) => Some(&mut a.store),
            Command::Status(a) => Some(&mut a.store),
            Command::Check(a) => Some(&mut a.store),
            Command::Push(a) => Some(&mut a.store),
            Command::Completions { .. } | Command::Man { .. } | Command::Simulator(_) => None,
        }
    }
}

/// Where the secrets go: which store, its own flags (each store's module owns them), and the
/// secrets' prefix.
#[derive(Debug, Clone, Args)]
pub struct StoreArgs {
    /// Where the secrets go [default: file].
    #[arg(long, value_parser = crate::store::registry::value_parser(), help_heading = "Secret store")]
    pub store: Option<&'static StoreKind>,
    /// Each store's own flags.
    #[command(flatten)]
    pub options: StoreOptions,
    /// Secret-name prefix (e.g. PSOXY_JIRA_CLOUD_).
    ///
    /// Overrides discovery and --environment-name.
    #[arg(long, help_heading = "Secret store")]
    pub prefix: Option<String>,
    /// Psoxy environment name, giving the prefix.
    ///
    /// AWS default `psoxy`; GCP default empty, giving `psoxy_JIRA_CLOUD_`. Spaces become hyphens,
    /// as in Psoxy's env-id.
    #[arg(
        long,
        value_name = "NAME",
        help_heading = "Secret store",
        hide_short_help = true
    )]
    pub environment_name: Option<String>,
    /// Create secrets that Terraform has not created.
    ///
    /// Non-interactive runs need this to create any. The next `terraform apply` then needs them
    /// imported (the import ids are printed).
    #[arg(long, help_heading = "Secret store", hide_short_help = true)]
    pub create_missing: bool,
    /// A target remembered by the last run (`renew`, `status`) or a recovery file (`push`),
    /// used when no store option was typed.
    #[arg(skip)]
    pub remembered: Option<StoreTarget>,
    /// Whether a store option was typed on the command line (not from the environment or a
    /// default): then nothing remembered is used. Set once after parsing (`Command::settle_store`).
    #[arg(skip)]
    pub typed: bool,
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
    #[arg(
        long,
        env = "JIRA_CLIENT_ID",
        hide_env_values = true,
        help_heading = "Connector and Atlassian app",
        value_name = "ID"
    )]
    pub client_id: Option<String>,
    /// Read the client secret from the first line of standard input.
    #[arg(long, help_heading = "Connector and Atlassian app")]
    pub client_secret_stdin: bool,
    /// The callback URL registered in the console; must match it exactly.
    #[arg(long, default_value = DEFAULT_REDIRECT_URI, help_heading = "Connector and Atlassian app", value_name = "URL")]
    pub redirect_uri: String,
    /// Scopes to request, separated by spaces or commas (default: the Psoxy list).
    #[arg(
        long,
        help_heading = "Connector and Atlassian app",
        hide_short_help = true
    )]
    pub scopes: Option<String>,
    /// Atlassian site to use, by cloud id, URL or name.
    #[arg(
        long,
        help_heading = "Connector and Atlassian app",
        value_name = "SITE"
    )]
    pub site: Option<String>,
    /// Accept a token that lacks some requested scopes (newer Psoxy versions need fewer).
    #[arg(
        long,
        help_heading = "Connector and Atlassian app",
        hide_short_help = true
    )]
    pub allow_missing_scopes: bool,
    /// Print the authorize URL, but do not open a browser.
    #[arg(long, help_heading = "Authorization in the browser")]
    pub no_browser: bool,
    /// Do not listen for the callback: paste the URL the browser lands on.
    #[arg(long, help_heading = "Authorization in the browser")]
    pub paste: bool,
    /// Seconds to wait for the browser's callback or a pasted URL (the code lives ~10 minutes).
    #[arg(
        long,
        default_value_t = 600,
        help_heading = "Authorization in the browser",
        hide_short_help = true
    )]
    pub callback_timeout: u64,
    /// Atlassian's authorization server (change only for a simulator or a test double).
    #[arg(long, env = "ATLASSIAN_AUTH_URL", hide_env_values = true, default_value = DEFAULT_AUTH_URL, help_heading = "Connector and Atlassian app", hide_short_help = true)]
    pub atlassian_auth_url: String,
    /// Atlassian's API gateway (change only for a simulator or a test double).
    #[arg(long, env = "ATLASSIAN_API_URL", hide_env_values = true, default_value = DEFAULT_API_URL, help_heading = "Connector and Atlassian app", hide_short_help = true)]
    pub atlassian_api_url: String,
}

/// Options shared by init and renew.
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// terraform.tfvars to update with the site's cloud id.
    ///
    /// Sets `jira_cloud_id` (Confluence: `confluence_example_cloud_id`) where Terraform reads it.
    #[arg(long, help_heading = "Output and files", value_name = "PATH")]
    pub tfvars: Option<PathBuf>,
    /// Never prompt; every value from flags, env or stdin.
    ///
    /// Implied when stdin or stderr is not a terminal.
    #[arg(long)]
    pub non_interactive: bool,
    /// Print what was written where (never a secret) as JSON on stdout.
    #[arg(long, help_heading = "Output and files")]
    pub json: bool,
    /// Write an iCalendar reminder to this file.
    ///
    /// It fires --warn-days before the token family expires.
    #[arg(
        long,
        help_heading = "Output and files",
        hide_short_help = true,
        value_name = "PATH"
    )]
    pub ics: Option<PathBuf>,
    /// Days before the family expires that the --ics reminder fires.
    #[arg(
        long,
        default_value_t = 30,
        help_heading = "Output and files",
        hide_short_help = true
    )]
    pub warn_days: i64,
    /// After the store write, ask the deployed proxy (as `check` does).
    ///
    /// A failed check keeps the write and exits 13, 14 or 15.
    #[arg(long, help_heading = "Deployed proxy")]
    pub check_proxy: bool,
    #[command(flatten)]
    pub proxy: ProxyArgs,
}

impl RunArgs {
    pub fn format(&self) -> OutputFormat {
        if self.json {
            OutputFormat::Json
        } else {
            OutputFormat::Human
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Human,
    Json,
}

#[derive(Debug, Clone, Args)]
pub struct InitArgs {
    /// Which Psoxy connector [default: jira-cloud; a terminal run asks].
    #[arg(long, value_parser = crate::connector::value_parser(), help_heading = "Connector and Atlassian app")]
    pub connector: Option<&'static crate::connector::Connector>,
    #[command(flatten)]
    pub store: StoreArgs,
    #[command(flatten)]
    pub auth: AuthArgs,
    #[command(flatten)]
    pub run: RunArgs,
    /// Try the whole wizard against a built-in Atlassian simulator and a file store.
    #[arg(long)]
    pub demo: bool,
}

#[derive(Debug, Clone, Args)]
pub struct RenewArgs {
    /// Which Psoxy connector [default: the last run's, else jira-cloud; a terminal run asks].
    #[arg(long, value_parser = crate::connector::value_parser(), help_heading = "Connector and Atlassian app")]
    pub connector: Option<&'static crate::connector::Connector>,
    #[command(flatten)]
    pub store: StoreArgs,
    #[command(flatten)]
    pub auth: AuthArgs,
    #[command(flatten)]
    pub run: RunArgs,
    /// Accept a site that differs from the one configured before.
    #[arg(long, help_heading = "Connector and Atlassian app")]
    pub allow_site_change: bool,
    /// Renew the demo's token family against the built-in simulator (after `init --demo`).
    #[arg(long)]
    pub demo: bool,
}

#[derive(Debug, Clone, Args)]
pub struct PushArgs {
    /// Which Psoxy connector [default: the recovery file's].
    #[arg(long, value_parser = crate::connector::value_parser(), help_heading = "Connector and Atlassian app")]
    pub connector: Option<&'static crate::connector::Connector>,
    #[command(flatten)]
    pub store: StoreArgs,
    /// The recovery file a failed run saved.
    #[arg(long)]
    pub from: PathBuf,
    /// Write the file's values even though the store changed after its run began writing, in a
    /// way this tool cannot place, or to another deployment than the one its run began writing
    /// to (the refusal says which). Never needed to move the store forward; a file the store has
    /// moved past is never written.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Clone, Args)]
pub struct SimulatorArgs {
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    #[arg(long, default_value_t = 1)]
    pub sites: u32,
    #[arg(long, default_value = "http://localhost", value_name = "URL")]
    pub redirect_uri: String,
}
