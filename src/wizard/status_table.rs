//! `status` over several deployments, for people (one table row each, its problems under it)
//! and for scripts (`--json`: an array, one object per deployment).

use super::fleet::Row;
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

/// Every row as one JSON array (stable field names: README, "Every deployment at once").
pub fn print_json(rows: &[Row]) -> Result<()> {
    let json = serde_json::to_string_pretty(rows)
        .map_err(|e| Error::Internal(format!("the status report does not serialize: {e}")))?;
    crate::outln!("{json}");
    Ok(())
}
