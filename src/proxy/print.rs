//! The check as people read it, on stdout (after a run's summary, or as `status` prints it).

use super::{CheckReport, Seen, Verdict};
use crate::outln;

pub fn print_human(r: &CheckReport) {
    outln!("  proxy:        {} ({})", r.url, r.url_from);
    match &r.health {
        Some(h) => {
            let mut about = vec![format!("HTTP {}", h.http_status)];
            if let Some(v) = &h.version {
                about.push(format!("Psoxy {v}"));
            }
            if let Some(s) = &h.configured_source {
                about.push(format!("source {s}"));
            }
            let word = if h.passed { "passed" } else { "FAILED" };
            outln!("  health check: {word} ({})", about.join(", "));
        }
        None if r.verdict == Verdict::Unreachable => outln!("  health check: no answer"),
        None => outln!("  health check: FAILED"),
    }
    for f in &r.freshness {
        let seen = match f.seen {
            Seen::Current => "the proxy sees the value written".to_string(),
            Seen::Cached => format!(
                "cached older value; certain after {}",
                f.certain_by.format("%H:%M:%S UTC")
            ),
            Seen::Other => "the proxy reads an OLDER value".to_string(),
            Seen::Unknown => format!(
                "the proxy does not say when it was written; it reads the new value by {} at the latest",
                f.certain_by.format("%H:%M:%S UTC")
            ),
        };
        outln!(
            "  {:<13} {seen}",
            format!("{}:", f.property.to_ascii_lowercase())
        );
    }
    if let Some(call) = &r.call {
        let status = call
            .http_status
            .map(|s| format!("HTTP {s}"))
            .unwrap_or_else(|| "no answer".into());
        let site = match call.site_found {
            Some(true) => ", the configured site is among its sites",
            Some(false) => ", the configured site is NOT among its sites",
            None => "",
        };
        outln!("  call:         GET {} -> {status}{site}", call.path);
    }
    for note in &r.notes {
        crate::ui::print_fitted(&format!("  - {note}"), 4);
    }
    for problem in &r.problems {
        crate::ui::print_fitted(&format!("  - {problem}"), 4);
    }
}
