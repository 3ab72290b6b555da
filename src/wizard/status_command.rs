//! The `status` command's body: one deployment named by store options, in detail, or every
//! deployment remembered on this machine (or listed in a file), one row each; `--forget`.

use std::io::IsTerminal;

use super::{fleet, status, status_metrics, status_table};
use crate::cli::{StatusArgs, StatusFormat};
use crate::deployments::{self, Deployment};
use crate::error::{Error, Result, exit};
use crate::ui::Ui;

/// A monitoring check. With store options: that one deployment, in detail. Without: every
/// deployment remembered on this machine (or listed by `--deployments`), one row each. Progress
/// lines only at -v or in a terminal, so a healthy cron run is silent on stderr.
pub async fn run_status(mut args: StatusArgs, verbose: u8) -> Result<i32> {
    let connector = args.connector.unwrap_or_else(crate::connector::default);
    args.store.options.file.default_file = connector.default_secrets_file();
    if let Some(name) = &args.forget {
        return forget(name);
    }
    if args.store.typed {
        if args.deployments.is_some() {
            return Err(Error::Input(
                "--deployments lists the deployments to read and store options name one: pass one or the other".into(),
            ));
        }
        let report = fleet::read_one(&args, args.store.kind().name, verbose == 0).await?;
        return print_one(&args, report);
    }
    let ui = Ui::new(verbose == 0 && !std::io::stderr().is_terminal());
    let (mut deployments, source) = match &args.deployments {
        Some(file) => (
            deployments::load_list(file).map_err(Error::Input)?,
            file.display().to_string(),
        ),
        None => {
            let remembered = deployments::remembered().map_err(Error::Input)?;
            for why in &remembered.warnings {
                ui.warn(why);
            }
            let registry = deployments::registry_path()
                .map_or_else(|| "nowhere".into(), |p| p.display().to_string());
            (remembered.deployments, registry)
        }
    };
    deployments.retain(|d| args.connector.is_none_or(|c| std::ptr::eq(c, d.connector)));
    if deployments.is_empty() {
        return Err(Error::Input(nothing_to_report(&args)));
    }
    ui.info(&format!(
        "reading {} deployment(s) from {source} (store options or --deployments FILE choose others)",
        deployments.len()
    ));
    let rows = fleet::read_all(deployments, &args).await;
    match args.format() {
        StatusFormat::Human => status_table::print_table(&rows),
        StatusFormat::Json => status_table::print_json(&rows)?,
        StatusFormat::Prometheus => print_metrics(&args, &rows)?,
    }
    Ok(fleet::worst(&rows).exit_code())
}

/// One deployment named by store options: in detail, or as JSON (one object, as before there
/// were several), or as metrics.
fn print_one(args: &StatusArgs, report: status::StatusReport) -> Result<i32> {
    let code = report.exit_code();
    match args.format() {
        StatusFormat::Human => status_table::print_human(&report),
        StatusFormat::Json => {
            let json = serde_json::to_string_pretty(&report).map_err(|e| {
                Error::Internal(format!("the status report does not serialize: {e}"))
            })?;
            crate::outln!("{json}");
        }
        StatusFormat::Prometheus => {
            let deployment = Deployment {
                connector: report.connector,
                store: args.store.target().remembered(),
                prefix: report.prefix.clone(),
                tfvars: None,
                demo: false,
                redirect_uri: None,
            };
            let row = fleet::Row {
                deployment: deployment.name(),
                demo: false,
                store_label: deployment.store_label(),
                report,
            };
            print_metrics(args, &[row])?;
        }
    }
    Ok(code)
}

/// Prometheus text on stdout, or atomically into `--textfile`.
fn print_metrics(args: &StatusArgs, rows: &[fleet::Row]) -> Result<()> {
    let text = status_metrics::render(rows, chrono::Utc::now());
    match &args.textfile {
        Some(path) => status_metrics::write_textfile(path, &text),
        None => {
            crate::outln!("{}", text.trim_end());
            Ok(())
        }
    }
}

/// The one line when there is nothing to report: why, and how to point `status` somewhere.
fn nothing_to_report(args: &StatusArgs) -> String {
    let which = args
        .connector
        .map(|c| format!("{} deployment", c.id))
        .unwrap_or_else(|| "deployment".into());
    let how = "pass store options (e.g. --store aws-ssm --aws-region REGION, or --file PATH) or --deployments FILE";
    match (&args.deployments, deployments::registry_path()) {
        (Some(file), _) => format!("{} lists no {which}: add one, or {how}", file.display()),
        (None, None) => format!(
            "no {which} is remembered (without $HOME or $XDG_CONFIG_HOME nothing is): {how}"
        ),
        (None, Some(registry)) => format!(
            "no {which} is remembered on this machine (init and renew record theirs in {}): {how}, or run init",
            registry.display()
        ),
    }
}

/// `status --forget NAME`.
fn forget(name: &str) -> Result<i32> {
    let forgotten = deployments::forget(name).map_err(Error::Input)?;
    crate::outln!("forgot {name}");
    for path in forgotten.last_runs {
        crate::outln!(
            "  deleted {}, which named it as the last run's target",
            path.display()
        );
    }
    Ok(exit::OK)
}
