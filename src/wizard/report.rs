//! The run's summary: where each secret went (names, never values), the site, and the date by
//! which the token family must be renewed. Human text or JSON on stdout.

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::cli::{OutputFormat, RunArgs};
use crate::family::renew_by;

#[derive(Debug, Serialize)]
pub struct RunReport {
    pub command: &'static str,
    #[serde(with = "crate::connector::serde_id")]
    pub connector: &'static crate::connector::Connector,
    pub store: String,
    pub prefix: String,
    pub secrets_written: Vec<String>,
    pub cloud_id: String,
    pub site_url: String,
    pub site_name: String,
    pub authorized_as: String,
    pub family_issued_at: DateTime<Utc>,
    pub renew_by: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tfvars: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tfvars_change: Option<String>,
    /// The secrets are stored, but terraform.tfvars could not be updated: why, and the line to
    /// add by hand. The run ends with its own exit code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tfvars_error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ics: Option<PathBuf>,
    /// A run against the built-in simulator: nothing real was connected.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub demo: bool,
    /// With `--check-proxy`: what the deployed proxy answered after the write.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proxy_check: Option<crate::proxy::CheckReport>,
    /// The demo's simulated Psoxy after the run: which family it is on, its health check.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proxy: Option<String>,
}

pub fn print(report: &RunReport, format: OutputFormat) {
    if format == OutputFormat::Json {
        match serde_json::to_string_pretty(report) {
            Ok(json) => crate::outln!("{json}"),
            Err(e) => eprintln!(
                "error: the run's report does not serialize ({e}); the run itself succeeded"
            ),
        }
        return;
    }
    crate::outln!();
    let connector = report.connector;
    if report.demo {
        crate::ui::print_fitted(
            &format!(
                "Demo finished ({}): Atlassian was simulated on this machine, so nothing real is connected.",
                connector.display_name
            ),
            2,
        );
    } else {
        crate::outln!("{} is connected for Psoxy.", connector.display_name);
    }
    field(format!("  store:         {}", report.store));
    for name in &report.secrets_written {
        field(format!("  wrote:         {name}"));
    }
    field(format!(
        "  site:          {} ({})",
        report.site_name, report.site_url
    ));
    let key = format!("{}:", connector.tfvars_key);
    field(format!("  {key:<14} {}", report.cloud_id));
    field(format!("  authorized as: {}", report.authorized_as));
    if let (Some(path), Some(change)) = (&report.tfvars, &report.tfvars_change) {
        field(format!("  tfvars:        {} ({change})", path.display()));
    }
    if let (Some(path), Some(_)) = (&report.tfvars, &report.tfvars_error) {
        crate::outln!(
            "  tfvars:        {} (NOT updated: see the error below)",
            path.display()
        );
    }
    if let Some(ics) = &report.ics {
        field(format!("  reminder:      {}", ics.display()));
    }
    if let Some(proxy) = &report.proxy {
        crate::ui::print_fitted(&format!("  proxy:         {proxy}"), 17);
    }
    let renew = if report.demo {
        format!("{} --demo", connector.command("renew"))
    } else {
        connector.command("renew")
    };
    let issued = report.family_issued_at.format("%Y-%m-%d");
    let renew_by = if report.demo && report.command == "renew" {
        format!(
            "  renew by:      {} (token family issued {issued})",
            report.renew_by.format("%Y-%m-%d")
        )
    } else {
        format!(
            "  renew by:      {} (token family issued {issued}; run `{renew}` before then)",
            report.renew_by.format("%Y-%m-%d")
        )
    };
    field(renew_by);
    if let Some(check) = &report.proxy_check {
        crate::proxy::print_human(check);
    }
    if report.demo {
        let status = connector.command("status");
        // After the demo's renewal, renewing again shows nothing new.
        if report.command == "renew" {
            crate::ui::print_fitted(&format!("Try next: `{status}`."), 2);
        } else {
            crate::ui::print_fitted(&format!("Try next: `{status}`, then `{renew}`."), 2);
        }
        crate::ui::print_fitted(
            &format!("For a real connection: `{}`.", connector.command("init")),
            2,
        );
    }
}

/// A summary field (`  store:         ...`): in a terminal, continuation lines start under the
/// value.
fn field(line: String) {
    crate::ui::print_fitted(&line, 17);
}

/// What the tfvars step did, for the summary.
#[derive(Debug, Default)]
pub struct TfvarsOutcome {
    pub change: Option<String>,
    pub error: Option<String>,
}

/// The run's summary, once the secrets are stored and the steps after the store have run.
pub fn summary(
    ctx: &super::Context,
    command: &'static str,
    run: &RunArgs,
    stored: super::save::Stored,
    tfvars: TfvarsOutcome,
) -> RunReport {
    let site = &stored.grant.site;
    let issued = stored.grant.tokens.obtained_at;
    RunReport {
        command,
        connector: ctx.connector,
        store: stored.store,
        prefix: stored.prefix,
        secrets_written: stored.written,
        cloud_id: site.id.clone(),
        site_url: site.url.clone(),
        site_name: site.name.clone(),
        authorized_as: stored.grant.user.display_name.clone(),
        family_issued_at: issued,
        renew_by: renew_by(issued),
        tfvars: run.tfvars.clone(),
        tfvars_change: tfvars.change,
        tfvars_error: tfvars.error,
        ics: run.ics.clone(),
        demo: false,
        proxy_check: None,
        proxy: None,
    }
}
