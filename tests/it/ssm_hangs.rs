//! A store that stops answering while the run holds the proxy's lock: a signal then ends the
//! run within seconds (the unlock gets 5 s), a second signal at once, and a signal after the
//! values were read back says they are stored. The real binary against moto behind a relay that
//! never answers chosen calls.

use crate::support;
use crate::support::moto;
use crate::support::relay;
use crate::support::ssm_story;

use std::time::{Duration, Instant};

use moto::Moto;
use relay::Relay;
use ssm_story::*;
use support::*;

/// moto behind a relay that never answers the ACCESS_TOKEN write nor the lock's DeleteParameter:
/// a store that stops answering while the run holds the lock.
async fn ssm_that_hangs_mid_write_and_unlock() -> (Moto, Relay) {
    let moto = Moto::start();
    moto.seed_placeholders(PREFIX, None).await;
    let access = format!("\"Name\":\"{PREFIX}ACCESS_TOKEN\"");
    let relay = Relay::stalling(moto.port, move |request| {
        request.contains("AmazonSSM.DeleteParameter")
            || (request.contains("AmazonSSM.PutParameter")
                && request.contains(&access)
                && request.contains("\"Overwrite\":true"))
    })
    .await;
    (moto, relay)
}

/// Sends SIGTERM once the write hangs, and `second` (if any) once the unlock hangs too; returns
/// when the first was sent.
fn terminate_when_stalled(
    stalled: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    pid: u32,
    second: bool,
    sent_at: std::sync::Arc<std::sync::Mutex<Option<Instant>>>,
) {
    std::thread::spawn(move || {
        let kill = || {
            std::process::Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status()
                .unwrap()
        };
        let wait_for = |n: usize| {
            let deadline = Instant::now() + Duration::from_secs(20);
            while stalled.load(std::sync::atomic::Ordering::SeqCst) < n {
                assert!(Instant::now() < deadline, "{n} requests never stalled");
                std::thread::sleep(Duration::from_millis(20));
            }
        };
        wait_for(1);
        *sent_at.lock().unwrap() = Some(Instant::now());
        kill();
        if second {
            wait_for(2);
            kill();
        }
    });
}

/// SIGTERM while the store hangs: the cleanup waits at most 5 s for the unlock, says the lock
/// goes stale, and keeps the tokens; a second signal ends the run at once.
#[tokio::test]
async fn a_signal_while_the_store_hangs_ends_within_seconds_and_a_second_at_once() {
    for second in [false, true] {
        let (moto, relay) = ssm_that_hangs_mid_write_and_unlock().await;
        let s = Session::new(loopback_config()).await;
        let env = init_env_through(&moto, &relay);
        let stalled = relay.stalled_counter();
        let sent_at = std::sync::Arc::new(std::sync::Mutex::new(None));
        let out = s
            .consenting(
                &init_args(&s),
                &borrowed(&env),
                once_on("writing secrets", |pid| {
                    terminate_when_stalled(stalled.clone(), pid, second, sent_at.clone());
                }),
            )
            .await;
        let took = sent_at.lock().unwrap().expect("signalled").elapsed();
        eprintln!(
            "second signal: {second}: exit {} {took:?} after SIGTERM",
            out.code
        );
        assert_eq!(out.code, 143, "{}", out.stderr);
        assert!(out.stderr.contains("push --from"), "{}", out.stderr);
        recovery_file(&s, &out.stderr);
        if second {
            assert!(took < Duration::from_secs(4), "{took:?}");
            assert!(out.stderr.contains("a second signal"), "{}", out.stderr);
        } else {
            assert!(took < Duration::from_secs(9), "{took:?}");
            assert!(
                out.stderr.contains("did not release the refresh lock")
                    && out.stderr.contains("within 5s")
                    && out.stderr.contains("two minutes"),
                "{}",
                out.stderr
            );
        }
    }
}

/// SIGTERM while the lock's DeleteParameter hangs, after the values were written and read back:
/// the run says the tokens are stored (not "finish with push"), and the recovery file it leaves
/// is recognised as stored and deleted by the next `status`, which advises nothing.
#[tokio::test]
async fn a_signal_after_the_read_back_says_the_tokens_are_stored() {
    let moto = Moto::start();
    moto.seed_placeholders(PREFIX, None).await;
    let relay = Relay::stalling(moto.port, |r| r.contains("AmazonSSM.DeleteParameter")).await;
    let s = Session::new(loopback_config()).await;
    let out = init_signalled_when_stalled(&s, &moto, &relay, "writing secrets", "TERM").await;
    assert_eq!(out.code, 143, "{}", out.stderr);
    let last = out.stderr.lines().last().unwrap_or_default();
    assert!(last.contains("the new tokens are stored"), "{last}");
    assert!(!last.contains("push --from"), "{last}");

    let status = strings(&["status", "--store", "aws-ssm"]);
    let out = s
        .run_with(&status, &borrowed(&moto.env()), &[], Browser::Nothing)
        .await;
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(
        out.stderr.contains("its values are in the store"),
        "{}",
        out.stderr
    );
    let dir = s.state_dir();
    assert_eq!(std::fs::read_dir(dir).unwrap().count(), 0);
}
