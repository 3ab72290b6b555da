//! What `--help` and the man pages say beyond each flag's own line: every command's examples and
//! exit codes (in `--help`; `-h` stays short), and the help that differs between commands.

use super::Cli;

/// Every exit code and what it means; each command's `--help` lists the ones it can end with.
pub const EXIT_CODE_MEANINGS: &[(i32, &str)] = &[
    (0, "success"),
    (1, "internal error (a bug)"),
    (2, "usage error"),
    (3, "bad input, or nothing to do"),
    (4, "authorization refused"),
    (5, "no usable site"),
    (6, "secret store"),
    (7, "terraform.tfvars"),
    (8, "network"),
    (9, "store failed, recovery file saved"),
    (10, "status: expires within --warn-days"),
    (11, "status: expired, missing, unreadable"),
    (12, "store failed, tokens could not be saved"),
    (13, "proxy unreachable or credentials refused"),
    (14, "proxy health check failed"),
    (15, "call through the proxy failed"),
    (16, "stored, but terraform.tfvars not updated"),
    (129, "SIGHUP (terminal closed)"),
    (130, "interrupted (Ctrl-C) or quit"),
    (143, "SIGTERM"),
];

/// The exit codes of `init` and `renew` (13-15 only with `--check-proxy`, 16 only with `--tfvars`).
const RUN_CODES: &[i32] = &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 13, 14, 15, 129, 130, 143];
const STATUS_CODES: &[i32] = &[0, 1, 2, 3, 7, 10, 11];
const CHECK_CODES: &[i32] = &[0, 1, 2, 3, 6, 7, 13, 14, 15];
const PUSH_CODES: &[i32] = &[0, 1, 2, 3, 6, 12, 129, 130, 143];

/// The exit codes as one column (`  3 bad input`), so the table reads at any width.
pub fn exit_codes(codes: &[i32]) -> String {
    let mut text = String::from("Exit codes:");
    for (code, meaning) in EXIT_CODE_MEANINGS {
        if codes.contains(code) {
            text.push_str(&format!("\n  {code:>3} {meaning}"));
        }
    }
    text
}

/// What `-h` ends with: the long help has more.
const MORE_HELP: &str = "Examples, exit codes and every option: --help";

// Examples are laid out for 60 columns, continued with `\` and indented, so no terminal
// narrower than the longest line makes clap re-break a command line into fragments.
const INIT_EXAMPLES: &str = "\
Examples:
  jira-psoxy-setup init --demo
  jira-psoxy-setup init --demo --connector confluence-cloud
  jira-psoxy-setup init --store aws-ssm \\
      --aws-region us-east-1 --tfvars terraform.tfvars
  JIRA_CLIENT_SECRET=... jira-psoxy-setup init \\
      --non-interactive --client-id ID --site acme \\
      --redirect-uri http://127.0.0.1:8765/callback \\
      --store file

Secrets: the client secret is read from a hidden prompt,
from JIRA_CLIENT_SECRET, or with --client-secret-stdin from
the first line of standard input; never from a flag value.";

const RENEW_EXAMPLES: &str = "\
Examples:
  jira-psoxy-setup renew --demo
  jira-psoxy-setup renew --store aws-ssm \\
      --tfvars terraform.tfvars
  jira-psoxy-setup renew --connector confluence-cloud \\
      --store aws-ssm --tfvars terraform.tfvars
  jira-psoxy-setup renew --store gcp-secret-manager \\
      --gcp-project acme-psoxy --ics renew-jira.ics \\
      --redirect-uri http://127.0.0.1:8765/callback";

const STATUS_EXAMPLES: &str = "\
Examples:
  jira-psoxy-setup status --store aws-ssm
  jira-psoxy-setup status --connector confluence-cloud \\
      --store aws-ssm
  jira-psoxy-setup status --store gcp-secret-manager \\
      --gcp-project acme-psoxy --json --check
  # cron / monitoring: exit 0 healthy, 10 expires within
  # --warn-days, 11 expired or broken
  jira-psoxy-setup status --store aws-ssm \\
      --warn-days 30 >/dev/null || alert
  # every deployment set up on this machine (or listed in
  # a file), for node_exporter
  jira-psoxy-setup status --textfile \\
      /var/lib/node_exporter/textfile/psoxy_oauth.prom
  jira-psoxy-setup status --deployments deployments.json \\
      --json
  jira-psoxy-setup status --forget \\
      jira-cloud@aws-ssm:us-east-1:PSOXY_JIRA_CLOUD_";

const CHECK_EXAMPLES: &str = "\
Examples:
  # URL and role from terraform output:
  jira-psoxy-setup check --tfvars terraform.tfvars
  jira-psoxy-setup check --store aws-ssm \\
      --aws-region us-east-1 \\
      --proxy-url https://abc.lambda-url.us-east-1.on.aws \\
      --proxy-role-arn \\
      arn:aws:iam::123456789012:role/PsoxyCaller
  jira-psoxy-setup check --store gcp-secret-manager \\
      --proxy-url https://psoxy-jira-abc-uc.a.run.app
  # after the write, ask the proxy:
  jira-psoxy-setup renew --check-proxy";

const PUSH_EXAMPLES: &str = "\
Examples:
  jira-psoxy-setup push --store aws-ssm \\
      --aws-region us-east-1 \\
      --from recovery-20261128T101500.123Z.json
  # the failed run names its file (under
  # ~/.local/state/jira-psoxy-setup); one saved for one
  # store kind is refused for another
  jira-psoxy-setup push --from recovery.json \\
      --store gcp-secret-manager --gcp-project acme-psoxy";

/// The command-line interface as clap builds it, with what the derive cannot say: each command's
/// examples and exit codes (in `--help`; `-h` stays short), and `status` and `push` do not choose
/// a store the way `init` does, so their `--store` says what they do and `status` hides the
/// store's write-only switches.
pub fn command() -> clap::Command {
    use clap::CommandFactory;
    let long = |examples: &str, codes: &[i32]| format!("{examples}\n\n{}", exit_codes(codes));
    Cli::command()
        .after_help(MORE_HELP)
        .after_long_help(exit_codes(
            &EXIT_CODE_MEANINGS
                .iter()
                .map(|(c, _)| *c)
                .collect::<Vec<_>>(),
        ))
        .mut_subcommand("init", |c| {
            asks(c)
                .after_help(MORE_HELP)
                .after_long_help(long(INIT_EXAMPLES, RUN_CODES))
        })
        .mut_subcommand("renew", |c| {
            asks(c)
                .after_help(MORE_HELP)
                .after_long_help(long(RENEW_EXAMPLES, RUN_CODES))
        })
        .mut_subcommand("completions", |c| c.after_long_help(exit_codes(&[0, 2])))
        .mut_subcommand("man", |c| c.after_long_help(exit_codes(&[0, 1, 2, 3])))
        .mut_subcommand("push", |c| {
            c.after_help(MORE_HELP)
                .after_long_help(long(PUSH_EXAMPLES, PUSH_CODES))
                .mut_arg("store", |a| {
                    a.help("Where the secrets go [default: the store the failed run used]")
                })
        })
        .mut_subcommand("status", |c| {
            read_only(c)
                .after_help(MORE_HELP)
                .after_long_help(long(STATUS_EXAMPLES, STATUS_CODES))
        })
        .mut_subcommand("check", |c| {
            read_only(c)
                .after_help(MORE_HELP)
                .after_long_help(long(CHECK_EXAMPLES, CHECK_CODES))
        })
}

/// `status` and `check` only read the store.
fn read_only(cmd: clap::Command) -> clap::Command {
    [
        "create_missing",
        "allow_ssm_client_id",
        "destroy_old_versions",
        "kms_key_id",
        "gcp_replication",
    ]
    .into_iter()
    .fold(cmd, |cmd, id| cmd.mut_arg(id, |a| a.hide(true)))
    .mut_arg("store", |a| {
        a.help("Where the secrets are read from [default: the last run's store, else file]")
    })
}

/// What a terminal run of `init` or `renew` asks when it is not given: said in their help only.
/// Their proxy options matter only with `--check-proxy`, so `-h` leaves them to `--help`.
fn asks(cmd: clap::Command) -> clap::Command {
    let cmd = ["proxy_url", "proxy_role_arn"]
        .into_iter()
        .fold(cmd, |cmd, id| cmd.mut_arg(id, |a| a.hide_short_help(true)));
    ["store", "aws_region", "gcp_project"]
        .into_iter()
        .fold(cmd, |cmd, id| {
            cmd.mut_arg(id, |a| {
                let help = a.get_help().map(ToString::to_string).unwrap_or_default();
                let help = match help.strip_suffix(']') {
                    Some(open) => format!("{open}; a terminal run asks]"),
                    None => format!("{help} [a terminal run asks]"),
                };
                a.help(help)
            })
        })
}
