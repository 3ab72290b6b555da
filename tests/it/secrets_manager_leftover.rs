//! A Secrets Manager deployment with a leftover SSM `CLIENT_ID` (say, from before a move from
//! SSM): the proxy reads that one first (`RefreshTokenTokenRequestBuilder.getClientId`,
//! psoxy-contract §8 item 6), so `init` stops at the preflight, before any browser or code,
//! naming the parameter; `--allow-ssm-client-id` goes on.

use crate::support::moto::Moto;
use crate::support::sm_story;
use crate::support::ssm_story::{PREFIX, init_env};
use crate::support::*;

#[tokio::test]
async fn a_leftover_ssm_client_id_stops_init_before_anything_is_minted() {
    let moto = Moto::start();
    sm_story::seed_deployment(&moto, None).await;
    let leftover = format!("{PREFIX}CLIENT_ID");
    moto.put(&moto.ssm().await, &leftover, "an-older-app", None)
        .await;
    let s = Session::new(loopback_config()).await;
    let env = init_env(&moto);
    let out = s.consents(&sm_story::init_args(&s), &borrowed(&env)).await;
    assert_eq!(out.code, 6, "{}", out.all());
    assert!(
        out.stderr
            .contains(&format!("the SSM parameter {leftover}"))
            && out.stderr.contains("--allow-ssm-client-id"),
        "{}",
        out.stderr
    );
    assert!(
        out.authorize_urls.is_empty(),
        "no browser: {:?}",
        out.authorize_urls
    );
    assert_eq!(s.sim.newest_family(), None, "nothing minted");

    let out = s
        .consents(
            &with(sm_story::init_args(&s), &["--allow-ssm-client-id"]),
            &borrowed(&env),
        )
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains("the SSM parameter"),
        "still said: {}",
        out.stderr
    );
}
