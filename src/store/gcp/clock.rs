//! Google's clock, read from the `Date` header of an answer from the Secret Manager endpoint.
//! The proxy judges the lock label `locked=<epoch ms>` by its value against its own clock
//! (psoxy-contract §8 item 7), so a label written from a clock minutes behind is stale at once:
//! the lock label (and the family's issue-date label) carry Google's time instead.

use std::time::Duration;

use chrono::DateTime;
use tokio::sync::OnceCell;

/// Offsets below this are the `Date` header's one-second resolution, not a wrong clock.
const NOISE_MS: i64 = 2_000;

pub struct ServerClock {
    url: String,
    /// Google's time minus ours, in ms, measured once.
    offset: OnceCell<i64>,
}

impl ServerClock {
    pub fn new(url: String) -> ServerClock {
        ServerClock {
            url,
            offset: OnceCell::new(),
        }
    }

    /// `local_ms` (this machine's now) moved to Google's clock.
    pub async fn now_ms(&self, local_ms: i64) -> i64 {
        local_ms.saturating_add(self.offset().await)
    }

    /// Google's time minus ours; 0 when no `Date` header could be read (said in the log).
    pub async fn offset(&self) -> i64 {
        *self
            .offset
            .get_or_init(|| async {
                match measure(&self.url).await {
                    Ok(off) if off.abs() < NOISE_MS => 0,
                    Ok(off) => {
                        tracing::warn!(
                            "this machine's clock is {}s {} Google's: the refresh lock and the family's issue date use Google's time",
                            off.abs() / 1000,
                            if off > 0 { "behind" } else { "ahead of" }
                        );
                        off
                    }
                    Err(e) => {
                        tracing::warn!("Google's time is unknown ({e}): the refresh lock uses this machine's clock");
                        0
                    }
                }
            })
            .await
    }
}

/// One HEAD request; the header's second is taken as its middle, against the midpoint of our
/// send and receive times.
async fn measure(url: &str) -> Result<i64, String> {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| e.to_string())?;
    let sent = crate::store::lock::now_ms();
    let answer = http
        .head(url)
        .send()
        .await
        .map_err(|e| e.without_url().to_string())?;
    let received = crate::store::lock::now_ms();
    let date = answer
        .headers()
        .get(reqwest::header::DATE)
        .and_then(|d| d.to_str().ok())
        .ok_or("no Date header")?;
    let google = DateTime::parse_from_rfc2822(date)
        .map_err(|e| format!("Date {date:?}: {e}"))?
        .timestamp_millis()
        .saturating_add(500);
    Ok(google.saturating_sub(sent.saturating_add(received) / 2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_http_date_parses() {
        let t = DateTime::parse_from_rfc2822("Fri, 04 Dec 2026 22:55:24 GMT").unwrap();
        assert_eq!(t.timestamp(), 1_796_424_924);
    }
}
