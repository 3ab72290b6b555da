//! `status` over several deployments: each read on its own, a few at a time, each within its own
//! deadline, so one store that does not answer makes its row unreachable while the others are
//! still reported. The worst health decides the exit code.

use std::time::Duration;

use futures_util::StreamExt;
use serde::Serialize;

use super::Context;
use super::status::{self, Health, StatusReport};
use crate::cli::StatusArgs;
use crate::deployments::Deployment;
use crate::error::{Error, Result};
use crate::interrupt::Guard;
use crate::ui::Ui;

/// Deployments read at the same time: enough that 20 take a few times one, few enough not to
/// trip a store's rate limit.
pub const PARALLEL_READS: usize = 6;

/// One deployment's line of the report (an element of `status --json`'s array).
#[derive(Debug, Serialize)]
pub struct Row {
    /// The name `--forget` takes: `<connector>@<store>:<prefix>`.
    pub deployment: String,
    /// Whether the family is the demo's (`init --demo`), not a real deployment's.
    pub demo: bool,
    #[serde(flatten)]
    pub report: StatusReport,
    /// The store and where it is, as the Prometheus `store` label says it.
    #[serde(skip)]
    pub store_label: String,
}

/// Reads every deployment, `PARALLEL_READS` at a time, in the order given.
pub async fn read_all(deployments: Vec<Deployment>, base: &StatusArgs) -> Vec<Row> {
    futures_util::stream::iter(deployments)
        .map(|deployment| read_deployment(deployment, base))
        .buffered(PARALLEL_READS)
        .collect()
        .await
}

async fn read_deployment(deployment: Deployment, base: &StatusArgs) -> Row {
    let mut args = base.clone();
    args.connector = Some(deployment.connector);
    args.store.remembered = Some(deployment.store.clone());
    args.store.prefix = Some(deployment.prefix.clone());
    if args.tfvars.is_none() {
        args.tfvars = deployment.tfvars.clone().filter(|t| t.exists());
    }
    // The demo's simulated Atlassian ran only during the demo: its token must not go to the
    // real one.
    args.check &= !deployment.demo;
    args.rerun_options = deployment.options();
    let store_label = deployment.store_label();
    // Anything else that goes wrong (a bad tfvars file) is this row's problem, not the run's.
    let report = read_one(&args, &store_label, true)
        .await
        .unwrap_or_else(|e| {
            let problems = vec![e.to_string()];
            status::nothing_read(
                deployment.connector,
                store_label.clone(),
                deployment.prefix.clone(),
                problems,
            )
        });
    Row {
        deployment: deployment.name(),
        demo: deployment.demo,
        report,
        store_label,
    }
}

/// One deployment's report, within `--timeout`: a store that cannot be read or does not answer
/// is a critical report saying why (monitoring sees exit 11), not an error. Other failures (an
/// unreadable `--tfvars`) are errors with their own exit codes. `quiet`: no progress lines.
pub async fn read_one(args: &StatusArgs, store_label: &str, quiet: bool) -> Result<StatusReport> {
    let connector = args.connector.unwrap_or_else(crate::connector::default);
    let prefix = args.store.prefix.clone().unwrap_or_default();
    let mut ctx = Context::real(true, true, None, Guard::default());
    ctx.ui = Ui::new(quiet);
    ctx.connector = connector;
    let read = async {
        let store = args.store.target().open().await?;
        status::run(&ctx, args, store).await
    };
    let limit = Duration::from_secs(args.timeout);
    Ok(match tokio::time::timeout(limit, read).await {
        Ok(Err(Error::Network(why))) => {
            status::unreachable(connector, store_label.into(), prefix, &why)
        }
        Ok(Err(Error::Store(why))) => {
            status::unreadable(connector, store_label.into(), prefix, &why)
        }
        Ok(Err(other)) => return Err(other),
        Ok(Ok(report)) => report,
        Err(_) => status::unreachable(
            connector,
            store_label.into(),
            prefix,
            &format!(
                "no answer within {}s: check the network path to the store (endpoint, VPN, proxy), or raise --timeout",
                args.timeout
            ),
        ),
    })
}

/// The worst health of all, which decides the exit code (no rows: ok).
pub fn worst(rows: &[Row]) -> Health {
    rows.iter()
        .map(|r| r.report.health)
        .max()
        .unwrap_or(Health::Ok)
}
