//! `status` for people: one deployment in detail, or several as a table (one row each, its
//! problems under it); and several for scripts (`--json`: an array, one object per deployment).

use super::fleet::Row;
use super::status::StatusReport;
use crate::error::{Error, Result};

const DEMO: &str = " (demo)";

/// The health column: `unreachable` says more than `critical` for a store that did not answer.
fn health_word(row: &Row) -> String {
    if row.report.reachable {
        row.report.health.to_string()
    } else {
        "unreachable".into()
    }
}

pub fn print_table(rows: &[Row]) {
    let label = |r: &Row| format!("{}{}", r.deployment, if r.demo { DEMO } else { "" });
    let width = rows
        .iter()
        .map(|r| label(r).chars().count())
        .chain(["DEPLOYMENT".len()])
        .max()
        .unwrap_or_default();
    crate::outln!(
        "{:<width$}  {:<11}  {:>9}  EXPIRES",
        "DEPLOYMENT",
        "HEALTH",
        "DAYS LEFT"
    );
    for r in rows {
        let days = r
            .report
            .days_left
            .map_or_else(|| "-".into(), |d| d.to_string());
        let expires = r
            .report
            .family_expires_at
            .map_or_else(|| "-".into(), |e| e.format("%Y-%m-%d").to_string());
        crate::outln!(
            "{:<width$}  {:<11}  {days:>9}  {expires}",
            label(r),
            health_word(r)
        );
        for p in &r.report.problems {
            crate::ui::print_fitted(&format!("  - {p}"), 4);
        }
    }
}

/// Every row as one JSON array (stable field names: docs/monitoring.md).
pub fn print_json(rows: &[Row]) -> Result<()> {
    let json = serde_json::to_string_pretty(rows)
        .map_err(|e| Error::Internal(format!("the status report does not serialize: {e}")))?;
    crate::outln!("{json}");
    Ok(())
}

pub fn print_human(r: &StatusReport) {
    if r.secrets.is_empty() {
        // Nothing could be read: only the verdict and why.
        crate::outln!("Psoxy {} secrets in {}", r.connector.display_name, r.store);
        print_verdict(r);
        return;
    }
    crate::outln!(
        "Psoxy {} secrets in {} (prefix {})",
        r.connector.display_name,
        r.store,
        r.prefix
    );
    for s in &r.secrets {
        let when = s
            .updated_at
            .map(|t| format!(", written {}", t.format("%Y-%m-%d %H:%M UTC")))
            .unwrap_or_default();
        crate::outln!("  {:<45} {}{when}", s.name, s.state);
    }
    match (r.family_issued_at, r.family_expires_at, r.days_left) {
        (Some(i), Some(e), Some(d)) => crate::outln!(
            "  token family: issued {}, expires {} ({d} days left)",
            i.format("%Y-%m-%d"),
            e.format("%Y-%m-%d")
        ),
        _ => crate::outln!("  token family: issue date unknown"),
    }
    let at = r
        .access_token
        .expires_at
        .map(|e| format!(" (until {})", e.format("%Y-%m-%d %H:%M UTC")))
        .unwrap_or_default();
    crate::outln!("  access token: {}{at}", r.access_token.state);
    crate::outln!(
        "  site:         {}",
        r.cloud_id.as_deref().unwrap_or("unknown")
    );
    if let Some(reachable) = r.site_reachable {
        crate::outln!(
            "  check:        {}",
            if reachable {
                "the access token reaches the site"
            } else {
                "the access token does NOT reach the site"
            }
        );
    }
    if let Some(proxy) = &r.proxy {
        crate::proxy::print_human(proxy);
    }
    print_verdict(r);
}

fn print_verdict(r: &StatusReport) {
    crate::outln!("  health:       {}", r.health);
    for p in &r.problems {
        crate::ui::print_fitted(&format!("  - {p}"), 4);
    }
}
