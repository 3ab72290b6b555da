//! The last step of `init` and `renew` (tfvars, the calendar reminder) and the run's summary: where each secret went (names, never values), the site, and the date by
//! which the token family must be renewed. Human text or JSON on stdout.

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::cli::{OutputFormat, RunArgs};
use crate::error::Result;
use crate::tfvars::Edit;

/// Atlassian's absolute limit on a refresh-token family.
pub const FAMILY_LIFETIME_DAYS: i64 = 365;

pub fn renew_by(issued_at: DateTime<Utc>) -> DateTime<Utc> {
    // A stored issue date near the end of time (a hand-edited store) must not panic.
    chrono::Duration::try_days(FAMILY_LIFETIME_DAYS)
        .and_then(|d| issued_at.checked_add_signed(d))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

#[derive(Debug, Serialize)]
pub struct RunReport {
    pub command: &'static str,
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
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ics: Option<PathBuf>,
    /// A run against the built-in simulator: nothing real was connected.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub demo: bool,
}

pub fn describe_edit(edit: Edit) -> &'static str {
    match edit {
        Edit::Unchanged => "already set",
        Edit::Replaced => "replaced jira_cloud_id (the top-level variable, which Terraform uses)",
        Edit::ReplacedInConnectorSettings => "replaced jira_cloud_id in connector_settings",
        Edit::ReplacedBoth => {
            "set jira_cloud_id at top level (which Terraform uses) and in connector_settings, kept equal"
        }
        Edit::AddedToConnectorSettings => "added jira_cloud_id to connector_settings",
        Edit::AddedConnectorSettings => "added connector_settings with jira_cloud_id",
        Edit::ByHand => "not changed: jira_cloud_id must be added to connector_settings by hand",
    }
}

pub fn print(report: &RunReport, format: OutputFormat) {
    if format == OutputFormat::Json {
        match serde_json::to_string_pretty(report) {
            Ok(json) => println!("{json}"),
            Err(e) => eprintln!(
                "error: the run's report does not serialize ({e}); the run itself succeeded"
            ),
        }
        return;
    }
    println!();
    if report.demo {
        println!(
            "Demo finished: Atlassian was simulated on this machine, so nothing real is connected."
        );
    } else {
        println!("Jira Cloud is connected for Psoxy.");
    }
    println!("  store:         {}", report.store);
    for name in &report.secrets_written {
        println!("  wrote:         {name}");
    }
    println!(
        "  site:          {} ({})",
        report.site_name, report.site_url
    );
    println!("  jira_cloud_id: {}", report.cloud_id);
    println!("  authorized as: {}", report.authorized_as);
    if let (Some(path), Some(change)) = (&report.tfvars, &report.tfvars_change) {
        println!("  tfvars:        {} ({change})", path.display());
    }
    if let Some(ics) = &report.ics {
        println!("  reminder:      {}", ics.display());
    }
    let renew = if report.demo {
        "jira-psoxy-setup renew --demo"
    } else {
        "jira-psoxy-setup renew"
    };
    let renew_by = format!(
        "  renew by:      {} (token family issued {}; run `{renew}` before then)",
        report.renew_by.format("%Y-%m-%d"),
        report.family_issued_at.format("%Y-%m-%d")
    );
    crate::ui::print_fitted(&renew_by, 17);
    if report.demo {
        println!("Try next: `jira-psoxy-setup status`, then `{renew}`.");
        println!("For a real connection: `jira-psoxy-setup init`.");
    }
}

/// tfvars, the calendar reminder, and the report.
pub fn finish(
    ctx: &super::Context,
    command: &'static str,
    run: &RunArgs,
    stored: super::save::Stored,
) -> Result<RunReport> {
    let site = &stored.grant.site;
    let tfvars_change = match &run.tfvars {
        Some(path) => {
            let edit = crate::tfvars::update_file(path, &site.id)?;
            if edit == crate::tfvars::Edit::ByHand {
                // A warning, not a failure: the secrets are stored, and the proxy never reads
                // this id (only the example calls Terraform generates do, psoxy-contract §5).
                let fix = crate::tfvars::by_hand(&site.id);
                ctx.ui.warn(&format!("{}: {fix}", path.display()));
            } else {
                let done = describe_edit(edit);
                ctx.ui.ok(&format!("{}: {done}", path.display()));
            }
            Some(describe_edit(edit).to_string())
        }
        None => {
            ctx.ui.info(&format!(
                "add jira_cloud_id = \"{}\" to connector_settings in terraform.tfvars (or pass --tfvars PATH next time)",
                site.id
            ));
            None
        }
    };
    let issued = stored.grant.tokens.obtained_at;
    if let Some(path) = &run.ics {
        crate::reminder::write(path, renew_by(issued), run.warn_days, &site.url)?;
        ctx.ui
            .ok(&format!("calendar reminder written to {}", path.display()));
    }
    Ok(RunReport {
        command,
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
        tfvars_change,
        ics: run.ics.clone(),
        demo: false,
    })
}
