//! The token family's dates: Atlassian ends a refresh-token family 365 days after it was first
//! issued, whatever its rotations (psoxy-contract §2). `init`'s warning about a live family, the
//! run's summary and reminder, and `status` all count from here.

use chrono::{DateTime, Duration, Utc};

/// Atlassian's absolute limit on a refresh-token family.
pub const FAMILY_LIFETIME_DAYS: i64 = 365;

/// The day a family issued at `issued_at` ends.
pub fn renew_by(issued_at: DateTime<Utc>) -> DateTime<Utc> {
    // A stored issue date near the end of time (a hand-edited store) must not panic.
    Duration::try_days(FAMILY_LIFETIME_DAYS)
        .and_then(|d| issued_at.checked_add_signed(d))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// Whole days left, a started day counting as one (as a certificate's "expires in" does): 365
/// right after issue, 1 on the last day, 0 or less once expired.
pub fn whole_days_left(remaining: Duration) -> i64 {
    const DAY: i64 = 24 * 60 * 60;
    let secs = remaining.num_seconds();
    secs.div_euclid(DAY)
        .saturating_add(i64::from(secs.rem_euclid(DAY) > 0))
}

#[cfg(test)]
mod tests {
    use super::whole_days_left as days_left;
    use chrono::Duration;

    #[test]
    fn a_started_day_counts_and_the_deadline_itself_is_zero() {
        let issued_now = Duration::days(365) - Duration::seconds(2);
        assert_eq!(days_left(issued_now), 365);
        assert_eq!(days_left(Duration::hours(1)), 1);
        assert_eq!(days_left(Duration::zero()), 0);
        assert_eq!(days_left(-Duration::hours(1)), 0);
        assert_eq!(days_left(-Duration::hours(25)), -1);
    }
}
