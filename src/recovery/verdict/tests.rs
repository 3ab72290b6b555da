//! The rule `push` and the leftover advice follow, case by case: only ever forward.

use chrono::{DateTime, Duration, Utc};

use super::*;
use crate::recovery::{Pending, Writes};
use crate::secret::SecretString;
use crate::store::FamilyMetadata;

const PREFIX: &str = "PSOXY_JIRA_CLOUD_";

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// A file whose family was issued at 12:00:00.250 and that recorded `writes`.
fn file(writes: Writes) -> Pending {
    Pending {
        prefix: PREFIX.into(),
        values: vec![(
            format!("{PREFIX}REFRESH_TOKEN"),
            SecretString::from("rt-1".to_string()),
        )],
        meta: FamilyMetadata {
            issued_at: Some(at("2026-12-01T12:00:00.250Z")),
            cloud_id: None,
        },
        own_lock_ms: None,
        target: None,
        connector: crate::connector::default(),
        writes,
        expected: None,
    }
}

fn seen(refresh: RefreshSeen, issued: Option<&str>, written: Option<&str>) -> Observed {
    Observed {
        refresh,
        all_same: refresh == RefreshSeen::Same,
        state: StoreState {
            family_issued_at: issued.map(at),
            refresh_token_written_at: written.map(at),
        },
    }
}

/// What the store held when the run began writing: an older family.
fn before() -> StoreState {
    StoreState {
        family_issued_at: Some(at("2025-12-20T09:00:00Z")),
        refresh_token_written_at: Some(at("2026-12-01T11:30:00Z")),
    }
}

#[test]
fn a_store_without_a_family_or_with_this_one_unrefreshed_is_finished() {
    let f = file(Writes::HandedOver(before()));
    assert_eq!(
        decide(&f, &seen(RefreshSeen::None, None, None)),
        Verdict::Forward
    );
    assert_eq!(
        decide(
            &f,
            &seen(RefreshSeen::Same, Some("2026-12-01T12:00:00.250Z"), None)
        ),
        Verdict::Stored
    );
    // Stored, but the run ended before its handover: push writes again and hands over.
    assert_eq!(
        decide(
            &file(Writes::Sent(before())),
            &seen(RefreshSeen::Same, Some("2026-12-01T12:00:00.250Z"), None)
        ),
        Verdict::Unfinished
    );
    // The refresh token landed but not everything else (or not the metadata): finish it.
    let mut partly = seen(RefreshSeen::Same, None, None);
    partly.all_same = false;
    assert_eq!(decide(&f, &partly), Verdict::Forward);
}

/// The kill -9 story: the values landed with their issue date, then the proxy rotated the
/// refresh token. Writing the file back would spend the family.
#[test]
fn this_family_refreshed_since_is_obsolete_never_written_back() {
    for writes in [
        Writes::HandedOver(before()),
        Writes::NotSent,
        Writes::Unknown,
    ] {
        let v = decide(
            &file(writes),
            &seen(
                RefreshSeen::Other,
                // GCP keeps the date in whole seconds.
                Some("2026-12-01T12:00:00Z"),
                Some("2026-12-01T13:00:00Z"),
            ),
        );
        let Verdict::Obsolete(why) = v else {
            panic!("{v:?}")
        };
        assert!(why.contains("this file's token family"), "{why}");
        assert!(!why.contains("rt-1"));
    }
}

/// Two failed runs, then a successful one: both files are behind the store.
#[test]
fn a_newer_family_in_the_store_makes_the_file_obsolete() {
    let newer = (at("2026-12-01T12:00:00.250Z") + Duration::minutes(5)).to_rfc3339();
    let v = decide(
        &file(Writes::Sent(before())),
        &seen(RefreshSeen::Other, Some(&newer), Some(&newer)),
    );
    assert!(
        matches!(&v, Verdict::Obsolete(why) if why.contains("newer token family")),
        "{v:?}"
    );
}

#[test]
fn an_older_family_is_replaced_when_this_run_never_sent_or_the_store_is_untouched() {
    let older = Some("2025-12-20T09:00:00Z");
    // The run stopped before its first write: whatever the proxy did since, ours is newer.
    let v = decide(
        &file(Writes::NotSent),
        &seen(RefreshSeen::Other, older, Some("2026-12-02T08:00:00Z")),
    );
    assert_eq!(v, Verdict::Forward);
    // It was writing, and the refresh token is exactly as it was then: nothing landed.
    let v = decide(
        &file(Writes::Sent(before())),
        &seen(RefreshSeen::Other, older, Some("2026-12-01T11:30:00Z")),
    );
    assert_eq!(v, Verdict::Forward);
}

/// Its write may have landed without its issue date and been refreshed since, or the proxy
/// refreshed the older family: nobody can tell, so `push` refuses without `--force`, naming
/// the dates.
#[test]
fn a_refresh_token_written_after_the_run_began_writing_cannot_be_placed() {
    let v = decide(
        &file(Writes::Sent(before())),
        &seen(
            RefreshSeen::Other,
            Some("2025-12-20T09:00:00Z"),
            Some("2026-12-01T13:00:00Z"),
        ),
    );
    let Verdict::Unplaceable(why) = v else {
        panic!("{v:?}")
    };
    for part in [
        "PSOXY_JIRA_CLOUD_REFRESH_TOKEN was written 2026-12-01 13:00:00 UTC",
        "issued 2025-12-20 09:00:00 UTC",
        "written 2026-12-01 11:30:00 UTC",
    ] {
        assert!(why.contains(part), "{why}");
    }
    // A store that could not be read when the run began writing: nothing to compare with.
    let v = decide(
        &file(Writes::Sent(StoreState::default())),
        &seen(RefreshSeen::Other, None, None),
    );
    assert!(matches!(v, Verdict::Unplaceable(_)), "{v:?}");
    // A file from the version that did not record its writes.
    let v = decide(
        &file(Writes::Unknown),
        &seen(RefreshSeen::Other, None, Some("2026-12-01T13:00:00Z")),
    );
    assert!(matches!(v, Verdict::Unplaceable(_)), "{v:?}");
}

/// The run stored its family but did not finish handing it over (a signal, a lost lock, or the
/// refresh token written over while it held the lock): another refresh token under its issue
/// date may be the proxy's rotation of this family or an older family written over it, so the
/// file is neither deleted as spent nor written: the operator decides.
#[test]
fn this_family_replaced_before_its_handover_finished_is_left_to_the_operator() {
    let v = decide(
        &file(Writes::Sent(before())),
        &seen(
            RefreshSeen::Other,
            Some("2026-12-01T12:00:00Z"),
            Some("2026-12-01T13:00:00Z"),
        ),
    );
    let Verdict::Unplaceable(why) = v else {
        panic!("{v:?}")
    };
    assert!(
        why.contains("ended before handing it over") && why.contains("newest"),
        "{why}"
    );
    assert!(!why.contains("rt-1"));
}

/// Two families minted within one second are told apart where the store keeps milliseconds;
/// a store that keeps whole seconds (GCP labels) matches the file's date in seconds.
#[test]
fn issue_dates_are_compared_at_the_stores_precision() {
    let f = file(Writes::HandedOver(before()));
    let later_same_second = seen(
        RefreshSeen::Other,
        Some("2026-12-01T12:00:00.900Z"),
        Some("2026-12-01T12:00:01Z"),
    );
    assert!(
        matches!(decide(&f, &later_same_second), Verdict::Obsolete(why) if why.contains("newer")),
    );
    let whole_seconds = seen(
        RefreshSeen::Other,
        Some("2026-12-01T12:00:00Z"),
        Some("2026-12-01T12:00:01Z"),
    );
    assert!(
        matches!(decide(&f, &whole_seconds), Verdict::Obsolete(why) if why.contains("this file's token family")),
    );
}
