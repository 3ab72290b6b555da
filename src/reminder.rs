//! An iCalendar (RFC 5545) reminder: an all-day event `warn_days` before the token family expires,
//! so the renewal lands in the operator's calendar.

use std::path::Path;

use chrono::{DateTime, Duration, Utc};

use crate::connector::Connector;
use crate::error::{Error, Result};

pub fn calendar(
    renew_by: DateTime<Utc>,
    warn_days: i64,
    site: &str,
    connector: &Connector,
    now: DateTime<Utc>,
) -> String {
    // `--warn-days` is the operator's number, any size: a lead time past the calendar's start
    // puts the reminder on the deadline itself rather than panicking.
    let day = Duration::try_days(warn_days.max(0))
        .and_then(|lead| renew_by.checked_sub_signed(lead))
        .unwrap_or(renew_by)
        .date_naive();
    let next = day.succ_opt().unwrap_or(day);
    let uid = format!("{}@jira-psoxy-setup", crate::secret::random_hex(16));
    let (name, renew) = (connector.display_name, connector.command("renew"));
    let lines = [
        "BEGIN:VCALENDAR".to_string(),
        "VERSION:2.0".into(),
        "PRODID:-//Worklytics//jira-psoxy-setup//EN".into(),
        "CALSCALE:GREGORIAN".into(),
        "BEGIN:VEVENT".into(),
        format!("UID:{uid}"),
        format!("DTSTAMP:{}", now.format("%Y%m%dT%H%M%SZ")),
        format!("DTSTART;VALUE=DATE:{}", day.format("%Y%m%d")),
        format!("DTEND;VALUE=DATE:{}", next.format("%Y%m%d")),
        format!("SUMMARY:Renew the Psoxy {name} token ({renew})"),
        format!(
            "DESCRIPTION:The {name} token family for site {} expires on {}. Run {renew} before then.",
            escape(site),
            renew_by.format("%Y-%m-%d")
        ),
        "BEGIN:VALARM".into(),
        "ACTION:DISPLAY".into(),
        format!("DESCRIPTION:Renew the Psoxy {name} token"),
        "TRIGGER:PT9H".into(),
        "END:VALARM".into(),
        "END:VEVENT".into(),
        "END:VCALENDAR".into(),
    ];
    lines.iter().map(|l| fold(l)).collect::<Vec<_>>().join("")
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace(';', "\\;")
        .replace(',', "\\,")
        .replace('\n', "\\n")
}

/// Lines longer than 75 octets are folded (CRLF + space), as RFC 5545 requires.
fn fold(line: &str) -> String {
    let mut out = String::new();
    let mut width: usize = 0;
    for c in line.chars() {
        if width.saturating_add(c.len_utf8()) > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width = width.saturating_add(c.len_utf8());
    }
    out.push_str("\r\n");
    out
}

pub fn write(
    path: &Path,
    renew_by: DateTime<Utc>,
    warn_days: i64,
    site: &str,
    connector: &Connector,
) -> Result<()> {
    let ics = calendar(renew_by, warn_days, site, connector, Utc::now());
    std::fs::write(path, ics).map_err(|e| {
        Error::Input(format!(
            "cannot write the reminder {}: {e}: choose another --ics path",
            path.display()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_is_warn_days_before_the_deadline_and_lines_are_folded() {
        let deadline = DateTime::parse_from_rfc3339("2027-11-28T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let jira = &crate::connector::JIRA_CLOUD;
        let ics = calendar(deadline, 30, "https://acme.atlassian.net", jira, Utc::now());
        assert!(ics.contains("DTSTART;VALUE=DATE:20271029\r\n"));
        assert!(ics.lines().all(|l| l.len() <= 76));
        assert!(ics.starts_with("BEGIN:VCALENDAR\r\n") && ics.ends_with("END:VCALENDAR\r\n"));
    }
}
