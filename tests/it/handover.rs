//! The handover (psoxy-contract §8): `renew` while a Psoxy stand-in (`sim::proxy`) runs on the
//! old family, its instances' caches warm and their access tokens always about to expire,
//! refreshing as Psoxy's Java does. After `renew`, and past the proxy's cache TTL, the stored
//! refresh token must be the new family's and `status` must describe it. The real binary, the
//! real emulators, three instances.

use jira_psoxy_setup::secret::SecretString;
use jira_psoxy_setup::store::lock::now_ms;
use jira_psoxy_setup::store::{SecretKey, SecretNames};

use crate::support::gcp_fake::GcpFake;
use crate::support::moto::Moto;
use crate::support::standin::{self, Backing, TTL, expired_access_token};
use crate::support::*;
use crate::support::{sm_story, ssm_story};

/// One store's story: its flags, environment and prefix.
struct Deployment<'a> {
    backing: Backing<'a>,
    flags: Vec<String>,
    env: Vec<(&'static str, String)>,
    prefix: &'static str,
}

impl Deployment<'_> {
    fn args(&self, base: Vec<String>) -> Vec<String> {
        on_store(base, self.flags.clone())
    }

    async fn stored_refresh_token(&self) -> String {
        let store = standin::store(&self.backing, self.prefix).await;
        let name = SecretNames::new(self.prefix).name(SecretKey::RefreshToken);
        let read = store.read(&name).await.unwrap().expect("a refresh token");
        jira_psoxy_setup::secret::ExposeSecret::expose_secret(&read.value).to_string()
    }

    /// The stored access tokens expired (twice: Secrets Manager's proxy also reads AWSPREVIOUS),
    /// so every instance must exchange.
    async fn expire_access_token(&self) {
        let store = standin::store(&self.backing, self.prefix).await;
        let name = SecretNames::new(self.prefix).name(SecretKey::AccessToken);
        for n in 0..2 {
            store
                .write(&name, &SecretString::from(expired_access_token(n)))
                .await
                .unwrap();
        }
    }
}

/// init; the proxy's instances refresh the old family (warm caches); renew while they keep
/// refreshing; on past the cache TTL. Returns renew's output and (stored, minted) families.
async fn race(s: &Session, d: &Deployment<'_>) -> (Output, Option<u64>, Option<u64>) {
    race_with(s, d, &[]).await
}

/// `race`, and the proxy is on the family renew minted, seen through the access token it reads
/// (the lock released at once).
async fn hands_over_at_once(s: &Session, d: &Deployment<'_>) {
    let (out, stored, minted) = race(s, d).await;
    assert_eq!(stored, minted, "the proxy is on the family renew minted");
    assert!(
        out.stderr
            .contains("the running proxy reads the new access token"),
        "{}",
        out.stderr
    );
}

/// `race`, with `renew_env` added to renew's environment.
async fn race_with(
    s: &Session,
    d: &Deployment<'_>,
    renew_env: &[(&'static str, String)],
) -> (Output, Option<u64>, Option<u64>) {
    let mut env = d.env.clone();
    env.extend(standin::timing_env());
    let init = s.consents(&d.args(s.init_args()), &borrowed(&env)).await;
    assert_eq!(init.code, 0, "init: {}", init.stderr);
    let fleet = standin::fleet(&d.backing, s, d.prefix, 3).await;
    for instance in &fleet.instances {
        // Each finds only expired access tokens, so each exchanges: all warm, on the old family.
        d.expire_access_token().await;
        instance.credentials().await.unwrap();
        assert!(
            instance.cached_refresh_token().is_some(),
            "instance {} exchanged: its cache holds the refresh token",
            instance.id
        );
    }
    let old = d.stored_refresh_token().await;
    assert_eq!(
        s.sim.family_of_refresh_token(&old),
        Some(1),
        "the proxy runs the old family"
    );

    let driving = standin::drive(&fleet);
    let mut renew = env.clone();
    renew.extend(renew_env.iter().cloned());
    let out = s.consents(&d.args(s.renew_args()), &borrowed(&renew)).await;
    tokio::time::sleep(TTL + std::time::Duration::from_secs(1)).await;
    driving.stop().await;
    assert_eq!(out.code, 0, "renew: {}", out.stderr);

    let stored = d.stored_refresh_token().await;
    let status = s
        .run_with(
            &[strings(&["status"]), d.flags.clone()].concat(),
            &borrowed(&env),
            &[],
            Browser::Nothing,
        )
        .await;
    assert_eq!(status.code, 0, "status: {}", status.all());
    (
        out,
        s.sim.family_of_refresh_token(&stored),
        s.sim.newest_family(),
    )
}

/// AWS SSM, a deployment that has run for months: ACCESS_TOKEN has 100 versions, so
/// the proxy's one-page read (oldest first) never returns the version `renew` writes. Without
/// the handover an instance refreshing from its cached old refresh token writes the old family
/// back (seen: stored family 1, minted 2); with it, `renew` keeps the lock until every cache has
/// expired.
#[tokio::test]
async fn ssm_renew_hands_over_even_when_the_proxy_cannot_see_the_new_access_token() {
    let moto = Moto::start();
    moto.seed_placeholders(ssm_story::PREFIX, None).await;
    standin::months_of_refreshes(&moto, ssm_story::PREFIX).await;
    let s = Session::new(loopback_config()).await;
    let d = Deployment {
        backing: Backing::Ssm(&moto),
        flags: strings(&["--store", "aws-ssm"]),
        env: ssm_story::init_env(&moto),
        prefix: ssm_story::PREFIX,
    };
    let (out, stored, minted) = race(&s, &d).await;
    assert_eq!(stored, minted, "the proxy is on the family renew minted");
    assert!(
        out.stderr.contains("keeping the proxy's refresh lock"),
        "{}",
        out.stderr
    );
    let issued = ssm_story::issued_at(&moto.ssm().await).await;
    assert!(
        chrono::Utc::now() - issued < chrono::Duration::minutes(5),
        "the tags describe the new family: issued {issued}"
    );
}

/// AWS Secrets Manager: the new ACCESS_TOKEN is AWSCURRENT, which the proxy's read always
/// returns, so no instance exchanges an old refresh token and the lock is released at once.
#[tokio::test]
async fn secrets_manager_renew_hands_over_through_the_access_token_the_proxy_reads() {
    let moto = Moto::start();
    sm_story::seed_deployment(&moto, None).await;
    let s = Session::new(loopback_config()).await;
    let mut env = moto.env();
    env.push(("JIRA_CLIENT_SECRET", CLIENT_SECRET.to_string()));
    let d = Deployment {
        backing: Backing::SecretsManager(&moto),
        flags: sm_story::store_flags(),
        env,
        prefix: ssm_story::PREFIX,
    };
    hands_over_at_once(&s, &d).await;
}

/// GCP Secret Manager: the proxy reads every enabled version, newest first; the new one is
/// seen, and the lock is released at once.
#[tokio::test]
async fn gcp_renew_hands_over_through_the_access_token_the_proxy_reads() {
    const PREFIX: &str = "psoxy_JIRA_CLOUD_";
    let fake = GcpFake::start("acme-prod").await;
    fake.terraform(PREFIX);
    let s = Session::new(loopback_config()).await;
    let d = Deployment {
        backing: Backing::Gcp(&fake),
        flags: fake.store_flags(),
        env: vec![("JIRA_CLIENT_SECRET", CLIENT_SECRET.to_string())],
        prefix: PREFIX,
    };
    hands_over_at_once(&s, &d).await;
}

/// GCP, the operator's clock five minutes behind (a test-only offset): the proxy judges the
/// lock label by its value (`SecretManagerConfigService.acquire`), so a label from that clock
/// would be stale at once and a proxy would take the lock mid-write. The label carries Google's
/// time (the `Date` header): every label value seen while renew runs is within a minute of the
/// true time, no instance takes the lock over, and the new family stays.
#[tokio::test]
async fn gcp_a_clock_five_minutes_behind_never_lets_the_proxy_take_the_lock_mid_write() {
    const PREFIX: &str = "psoxy_JIRA_CLOUD_";
    let fake = std::sync::Arc::new(GcpFake::start("acme-prod").await);
    fake.terraform(PREFIX);
    let s = Session::new(loopback_config()).await;
    let d = Deployment {
        backing: Backing::Gcp(&fake),
        flags: fake.store_flags(),
        env: vec![("JIRA_CLIENT_SECRET", CLIENT_SECRET.to_string())],
        prefix: PREFIX,
    };
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let watching = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let watcher = {
        let (fake, seen, watching) = (fake.clone(), seen.clone(), watching.clone());
        tokio::spawn(async move {
            let lock = format!("{PREFIX}OAUTH_REFRESH_TOKEN");
            while watching.load(std::sync::atomic::Ordering::Relaxed) {
                let label = fake
                    .secret(&lock)
                    .and_then(|s| s.label("locked").map(str::to_string));
                if let Some(v) = label.and_then(|v| v.parse::<i64>().ok()) {
                    seen.lock().unwrap().push(now_ms() - v);
                }
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
        })
    };
    let behind = [(
        "JIRA_PSOXY_SETUP_TEST_CLOCK_OFFSET_MS",
        "-300000".to_string(),
    )];
    let (out, stored, minted) = race_with(&s, &d, &behind).await;
    watching.store(false, std::sync::atomic::Ordering::Relaxed);
    watcher.await.unwrap();
    let ages = seen.lock().unwrap().clone();
    assert!(!ages.is_empty(), "the lock was seen taken");
    let worst = ages.iter().map(|a| a.abs()).max().unwrap();
    assert!(
        worst < 60_000,
        "a lock label {worst} ms off the true time: {}",
        out.stderr
    );
    assert!(
        !out.stderr.contains("taken over meanwhile"),
        "{}",
        out.stderr
    );
    assert_eq!(stored, minted, "the proxy is on the family renew minted");
}

/// The file store (a proxy reading the file: one version, the lock judged by its value).
#[tokio::test]
async fn file_renew_hands_over_through_the_access_token_the_proxy_reads() {
    let s = Session::new(loopback_config()).await;
    let file = s.secrets_file().display().to_string();
    let d = Deployment {
        backing: Backing::File(s.secrets_file()),
        flags: strings(&["--store", "file", "--file", &file]),
        env: vec![("JIRA_CLIENT_SECRET", CLIENT_SECRET.to_string())],
        prefix: "PSOXY_JIRA_CLOUD_",
    };
    hands_over_at_once(&s, &d).await;
}

/// `init --demo` and then `renew --demo`: the simulated Psoxy runs on the store the run wrote,
/// and the summary says it picked up the new family and how its health check answered.
#[tokio::test]
async fn the_demo_summary_says_the_simulated_proxy_picked_up_the_new_family() {
    let s = Session::new(loopback_config()).await;
    let file = s.secrets_file().display().to_string();
    for command in ["init", "renew"] {
        let args = strings(&[command, "--demo", "--non-interactive", "--file", &file]);
        let out = s.run_with(&args, &[], &[], Browser::Nothing).await;
        assert_eq!(out.code, 0, "{command}: {}", out.stderr);
        assert!(
            out.stdout.contains("proxy:")
                && out
                    .stdout
                    .contains("picked up the new token family; health check 200"),
            "{command}: {}",
            out.stdout
        );
    }
}

/// `init --demo --check-proxy`: the whole path in one run. After the write, the demo's
/// simulated Psoxy is asked as a deployed proxy would be (its health check, then the
/// connector's example call through it), and nothing about that loopback proxy is remembered.
#[tokio::test]
async fn the_demo_with_check_proxy_asks_the_simulated_proxy_its_health_and_one_call() {
    let s = Session::new(loopback_config()).await;
    let file = s.secrets_file().display().to_string();
    let args = strings(&[
        "init",
        "--demo",
        "--check-proxy",
        "--non-interactive",
        "--file",
        &file,
    ]);
    let out = s.run_with(&args, &[], &[], Browser::Nothing).await;
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(
        out.stdout.contains("health check: passed"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("the demo's simulated Psoxy"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("the configured site is among its sites"),
        "{}",
        out.stdout
    );
    let remembered = s.path("home/.config/jira-psoxy-setup/proxy-jira-cloud.json");
    assert!(
        !remembered.exists(),
        "the demo's loopback proxy is not remembered"
    );
}
